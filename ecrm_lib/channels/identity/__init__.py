"""Identity resolution across channels: which accounts belong to one person.

A company knows the same person under several channel accounts (store, call
centre, catalogue, e-mail, web, app), each written differently. This package
joins them into pseudonymous customers in three steps, on the engine that holds
the accounts (an Ibis table: DuckDB by default, Spark later; a pandas DataFrame
runs on an in-memory DuckDB):

1. **Normalise** e-mail, phone, name and postcode (:mod:`ecrm_lib.channels.normalize`):
   SQL for plain values, the Python rules (``phonenumbers``, romanisation)
   for the distinct rest, joined back in the engine.
2. **Deterministic pass**: an identity graph whose nodes are accounts and whose
   edges are shared strong identifiers (normalised e-mail, normalised phone);
   its connected components are customers. Over-merge guards, each counted in
   the audit tables, keep junk identifiers from gluing strangers together
   (:mod:`~ecrm_lib.channels.identity.guards`, engine queries):

   - ``blocklist``: placeholder e-mails (``noemail@none.com``, ``test@test.com``,
     local parts such as ``noemail``/``none``/``test``, domains such as
     ``none.com``) and configurable company phone numbers (store, call centre)
     never link;
   - ``shared_identifier``: an identifier held by more than
     ``max_accounts_per_identifier`` accounts is treated as shared, not personal;
   - ``email_name_conflict``: an e-mail held by accounts whose names cannot be
     one person's (a couple's shared address) never joins two people on its
     own: it links only the accounts within each group of mutually compatible
     names (names compared as below; unnamed accounts on it are not linked by it);
   - ``email_priority``: e-mail outranks phone: a phone that would join two or
     more accounts (or groups of accounts already joined by e-mail) holding
     different e-mails links none of them (family landline), unless they look
     like one person with two addresses: their names agree and either every one
     of them is named or the phone is a mobile (a personal device);
   - ``name_conflict``: a phone that would join accounts (or e-mail groups)
     whose names cannot be one person's links none of them (family landline
     without e-mails). Names are compared after normalisation: two Hangul names
     must be at most ``max_jamo_edits`` (1) edits apart on their jamo (a typo), a
     romanised name at most ``max_romanised_edits`` (2) edits from the other's
     romanisation in either order (Jihoon / Jihun); names in mixed or other
     scripts, and missing names, are no evidence;
   - ``max_component_size``: a component larger than ``max_component_size``
     accounts is split by dropping its weakest identifiers first (phones before
     e-mails, the most shared first) until every part fits; parts still too
     large after ``MAX_SPLIT_ROUNDS`` rounds are left unmerged (each account its
     own customer).

   The edge list comes to Python as integer codes for
   ``scipy.sparse.csgraph.connected_components``
   (:mod:`~ecrm_lib.channels.identity.components`).
3. **Probabilistic pass** (Splink 5, same connection) for the accounts the
   deterministic pass left single (:mod:`~ecrm_lib.channels.identity.probabilistic`).
   Each singleton joins at most its single best match at or above
   ``match_threshold``; since a singleton only ever points at one target, two
   deterministic customers are never merged by this pass, and the size limit
   still holds. Without any deterministic link to learn from, the pass is
   skipped (and says so).

Customer ids and golden records: :mod:`~ecrm_lib.channels.identity.golden`;
audit tables and pairwise accuracy: :mod:`~ecrm_lib.channels.identity.audit`;
the stages: :mod:`~ecrm_lib.channels.identity.resolve`.

Examples
--------
>>> import pandas as pd
>>> accounts = pd.DataFrame({
...     "account_id": ["W1", "S1", "S2"],
...     "channel": ["web", "store", "store"],
...     "name": ["김민준", "김 민준", "이서연"],
...     "email": ["Kim.MJ@naver.com", None, None],
...     "phone": ["010-2345-6789", "+82 10 2345 6789", None],
...     "postcode": ["06236", "06236", "04524"],
... })
>>> res = resolve_identities(accounts, probabilistic=False)
>>> res.account_map.groupby("customer_id").size().sort_values().tolist()
[1, 2]
>>> res.account_map.set_index("account_id").loc[["W1", "S1"], "link_rule"].tolist()
['phone', 'phone']
"""

from ecrm_lib.channels.identity.audit import pairwise_metrics
from ecrm_lib.channels.identity.components import LINK_RULES, attach_singletons
from ecrm_lib.channels.identity.golden import customer_ids, golden_records
from ecrm_lib.channels.identity.guards import GUARDS
from ecrm_lib.channels.identity.identifiers import DEFAULT_BLOCKLIST, Blocklist, blocklist_from
from ecrm_lib.channels.identity.resolve import IdentityResult, resolve_identities

__all__ = [
    "DEFAULT_BLOCKLIST",
    "GUARDS",
    "LINK_RULES",
    "Blocklist",
    "IdentityResult",
    "attach_singletons",
    "blocklist_from",
    "customer_ids",
    "golden_records",
    "pairwise_metrics",
    "resolve_identities",
]

"""Over-merge guards of the deterministic pass, as queries on the engine.

Each guard stops identifiers from linking accounts; :func:`guard_reasons`
gives every identifier the first guard that stops it (else missing):

- ``blocklist``: on the :class:`~ecrm_lib.channels.identity.identifiers.Blocklist`;
- ``shared_identifier``: held by more than ``max_accounts_per_identifier`` accounts
  (one number, or one per kind: e-mail, phone);
- ``email_name_conflict``: an e-mail whose accounts' names cannot be one
  person's (a couple's shared address) does not join them: an address shared
  by two people never joins them on its own (issue 13 item 6). It still links
  the accounts within each group of mutually compatible names
  (:func:`email_name_groups`: his three accounts as 김민준, Kim Minjun and 김 민준
  stay one customer); unnamed accounts and groups bridged by a name that fits
  both (a mixed-script name) are not linked by it;
- ``email_priority``: a phone that would join two or more *e-mail groups*
  (accounts already joined by one usable e-mail) unless they look like one
  person with two addresses: their names agree and either every group is
  named or the phone is a mobile (a personal device);
- ``name_conflict``: a phone that would join groups (or accounts without a
  usable e-mail) whose names cannot be one person's. Each group is
  represented by its most frequent name (Hangul first, then the name seen
  first);
- names are compared by :func:`names_compatible`: two Hangul names must be at
  most ``max_jamo_edits`` (default 1) edits apart on their jamo (a typo);
  otherwise the romanised keys, in either order, at most
  ``max_romanised_edits`` (default 2) edits (Jihoon / Jihun). Names in mixed
  or other scripts, and missing names, are no evidence;
- ``max_component_size`` is applied on the edge list, see
  :mod:`~ecrm_lib.channels.identity.components`.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from ecrm_lib.channels.identity.identifiers import Blocklist, blocklisted
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ecrm_lib.channels.normalize import phone_is_mobile
from ecrm_lib.core.identity_settings import IDENTITY_GUARDS

__all__ = ["GUARDS", "GUARD_TEXT", "email_name_groups", "JUNK_REASONS", "MAX_JAMO_EDITS", "MAX_ROMANISED_EDITS", "guard_reasons", "names_compatible"]

GUARDS = IDENTITY_GUARDS  # the names, in order; the config's identity.guards picks among them

#: What each guard does, for the audit table.
GUARD_TEXT = {
    "blocklist": "placeholder e-mail or company phone on the blocklist: never links",
    "shared_identifier": "identifier held by more than max_accounts_per_identifier accounts: treated as shared",
    "email_name_conflict": "e-mail held by accounts whose names cannot be one person's (a shared address): links only accounts within one name group",
    "email_priority": "phone that would join accounts holding different e-mails (not one person's two addresses): does not link them",
    "name_conflict": "phone that would join accounts whose names cannot be one person's: does not link them",
    "max_component_size": "identifier dropped to split a component larger than max_component_size",
}

#: Reasons that make an identifier no evidence at all (blanked in the probabilistic pass);
#: an identifier dropped only to split an over-size component stays evidence.
JUNK_REASONS = ("blocklist", "shared_identifier", "email_name_conflict", "email_priority", "name_conflict")

_FAR = 1_000_000  # distance of a missing key: never compatible


#: Default edit distances within which two names can be one person's (see :func:`names_compatible`).
MAX_JAMO_EDITS = 1
MAX_ROMANISED_EDITS = 2


def names_compatible(a, b, *, max_jamo_edits: int = MAX_JAMO_EDITS, max_romanised_edits: int = MAX_ROMANISED_EDITS):
    """Boolean expression: could names a and b (structs of a name-key table's columns) be one person's?

    ``a`` and ``b`` are mappings of column expressions with keys name,
    name_script, name_jamo, name_rom, name_rom_rev. Two Hangul names are
    compared on their jamo (at most ``max_jamo_edits`` edits), any other pair
    on their romanised keys in either order (at most ``max_romanised_edits``).
    """
    unknown = (
        a["name"].isnull()
        | b["name"].isnull()
        | a["name_script"].isin(["mixed", "other"]).fill_null(False)
        | b["name_script"].isin(["mixed", "other"]).fill_null(False)
        | (a["name"] == b["name"]).fill_null(False)
    )
    both_hangul = ((a["name_script"] == "hangul") & (b["name_script"] == "hangul")).fill_null(False)
    d_jamo = a["name_jamo"].levenshtein(b["name_jamo"]).fill_null(_FAR)
    d_rom = ibis.least(
        a["name_rom"].levenshtein(b["name_rom"]).fill_null(_FAR),
        a["name_rom"].levenshtein(b["name_rom_rev"]).fill_null(_FAR),
    )
    return unknown | ibis.ifelse(both_hangul, d_jamo <= max_jamo_edits, d_rom <= max_romanised_edits)


def _representative_names(acc, names, groups, touched):
    """Per touched group: its most frequent name (Hangul first, then Latin; then the name seen first)."""
    g = groups.join(touched, groups.comp == touched.comp).select(groups.row, groups.comp)
    a = acc.select("row", "name")
    members = g.join(a, g.row == a.row).select(g.comp, a.name)
    members = members.filter(members.name.notnull())
    counts = members.group_by(["comp", "name"]).aggregate(cnt=members.count())
    nm = names.select("name", "name_script", "first_row")
    counts = counts.join(nm, counts.name == nm.name).select(counts.comp, counts.name, counts.cnt, nm.name_script, nm.first_row)
    rank = ibis.cases((counts.name_script == "hangul", 0), (counts.name_script == "latin", 1), else_=2)
    # The smallest (script rank, -count, first row): one ordered aggregate, no window.
    key = ibis.struct({"script": -rank, "n": counts.cnt, "first": -counts.first_row})
    pick = ibis.struct({"name": counts.name, "script": counts.name_script}).argmax(key)
    rep = counts.group_by("comp").aggregate(_pick=pick)
    return rep.select("comp", rep_name=rep._pick["name"], rep_script=rep._pick["script"])


def _mobile_table(ws, ids, phone_ids, default_region: str):
    """Mobile flag of the candidate phones (few: phones touching two or more e-mail groups)."""
    cand = ids.join(phone_ids, ids.id == phone_ids.phone_id).select(phone_id=ids.id, value=ids.value).to_pyarrow()
    values = pd.Series(pd.array(cand.column("value"), dtype="string"))
    mobile = phone_is_mobile(values, default_region=default_region).to_numpy(dtype=bool)
    return ws.keep("mobile", pa.table({"phone_id": cand.column("phone_id"), "mobile": pa.array(mobile)}))


def guard_reasons(
    ws,
    acc,
    names,
    ids,
    links,
    *,
    guards: frozenset,
    blocklist: Blocklist,
    max_accounts_per_identifier,
    default_region: str,
    max_jamo_edits: int = MAX_JAMO_EDITS,
    max_romanised_edits: int = MAX_ROMANISED_EDITS,
):
    """The identifiers with the guard that stops each (``reason``, else missing), as a temporary table.

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Normalised accounts (row, name).
    names : ibis.Table
        Name-key table of the distinct names (name, name_script, name_jamo,
        name_rom, name_rom_rev, first_row).
    ids, links : ibis.Table
        From :func:`~ecrm_lib.channels.identity.identifiers.identifier_tables`.
    guards : frozenset of str
        Guards to apply (``max_component_size`` is applied later).
    blocklist : Blocklist
    max_accounts_per_identifier : int or dict
        One limit, or ``{"email": n, "phone": m}``.
    default_region : str
    max_jamo_edits, max_romanised_edits : int
        Name tolerance of :func:`names_compatible`.

    Returns
    -------
    ibis.Table
        ids plus reason (blocklist, shared_identifier, email_name_conflict, email_priority,
        name_conflict or missing).
    """
    none = ibis.null("string")
    reason = none
    if "blocklist" in guards:
        reason = ibis.ifelse(blocklisted(ids, blocklist, default_region), "blocklist", none)
    if "shared_identifier" in guards:
        lim = max_accounts_per_identifier if isinstance(max_accounts_per_identifier, dict) else dict.fromkeys(("email", "phone"), max_accounts_per_identifier)
        limit = ibis.ifelse(ids.kind == "email", int(lim["email"]), int(lim["phone"]))
        reason = ibis.coalesce(reason, ibis.ifelse(ids.n_accounts > limit, "shared_identifier", none))
    tol = {"max_jamo_edits": max_jamo_edits, "max_romanised_edits": max_romanised_edits}
    cur = ids.mutate(reason=reason)
    if "email_name_conflict" in guards:
        base = ws.keep("ids_base", cur)
        enc = ws.keep("email_name_conflict", _email_name_conflicts(base, acc, names, links, **tol))
        t = base.left_join(enc, base.id == enc._enc_email)
        cur = t.mutate(reason=ibis.coalesce(t.reason, ibis.ifelse(t._enc_email.notnull(), "email_name_conflict", none))).select(*ids.columns, "reason")
        cur = ws.keep("ids_email_guard", cur)
        ws.drop(base)
        ws.drop(enc)
    if not ({"email_priority", "name_conflict"} & guards):
        return ws.keep("ids_reason", cur)
    ids0 = ws.keep("ids_first_guards", cur)
    touch, scratch = _phones_between_groups(ws, acc, names, ids0, links)
    name_conflict = ws.keep("name_conflict", _name_conflicts(touch, names, **tol))
    email_conflict = _email_conflicts(ws, ids0, touch, name_conflict, default_region)
    out = ids0.left_join(email_conflict, ids0.id == email_conflict._ec_phone).drop("_ec_phone")
    nc = name_conflict.select(_nc_phone=name_conflict.phone_id, name_conflict=name_conflict.name_conflict)
    out = out.left_join(nc, out.id == nc._nc_phone).drop("_nc_phone")
    reason = out.reason
    if "email_priority" in guards:
        reason = ibis.coalesce(reason, ibis.ifelse(out.email_conflict.fill_null(False), "email_priority", none))
    if "name_conflict" in guards:
        reason = ibis.coalesce(reason, ibis.ifelse(out.name_conflict.fill_null(False), "name_conflict", none))
    result = ws.keep("ids_reason", out.mutate(reason=reason).select(*ids.columns, "reason"))
    for t in [ids0, touch, name_conflict, *scratch]:
        ws.drop(t)
    return result


def _phones_between_groups(ws, acc, names, ids0, links):
    """Usable phones that touch two or more e-mail groups, with each group's representative name.

    An e-mail group is the accounts sharing one usable e-mail; an account
    without one is its own group. Returns (table phone_id, comp, has_email,
    rep_name, rep_script; scratch tables to drop afterwards).
    """
    usable = ids0.filter(ids0.reason.isnull())
    usable_email = usable.filter(usable.kind == "email").select(_email=usable.id)
    usable_phone = usable.filter(usable.kind == "phone").select(_phone=usable.id)
    lk = links.left_join(usable_email, links.email_id == usable_email._email)
    groups = ws.keep("email_groups", lk.select("row", comp=ibis.coalesce(lk._email, -(lk.row + 1)), has_email=lk._email.notnull()))
    held = links.join(usable_phone, links.phone_id == usable_phone._phone).select(links.row, links.phone_id)
    touch = held.join(groups, held.row == groups.row).select(held.phone_id, groups.comp, groups.has_email).distinct()
    multi = touch.group_by("phone_id").aggregate(n_groups=touch.count()).filter(lambda t: t.n_groups >= 2)
    multi = multi.select(_multi=multi.phone_id)
    touch = ws.keep("touch", touch.join(multi, touch.phone_id == multi._multi).select(touch.phone_id, touch.comp, touch.has_email))
    rep = _representative_names(acc, names, groups, touch.select("comp").distinct()).rename(_rep_comp="comp")
    tn = touch.left_join(rep, touch.comp == rep._rep_comp)
    named = ws.keep("touch_names", tn.select(touch.phone_id, touch.comp, touch.has_email, tn.rep_name, tn.rep_script))
    return named, [groups, touch]


def _incompatible_pairs(named, key: str, names, **tol):
    """Distinct ``key`` values two of whose names (``named``: key, name) cannot be one person's."""
    keys = names.select("name", "name_script", "name_jamo", "name_rom", "name_rom_rev")
    a = named.join(keys, named.name == keys.name).select(named[key], *[keys[c] for c in keys.columns])
    b = a.rename(lambda c: f"{c}_b")
    pairs = a.join(b, [a[key] == b[f"{key}_b"], a.name < b.name_b])
    ok = names_compatible({c: pairs[c] for c in keys.columns}, {c: pairs[f"{c}_b"] for c in keys.columns}, **tol)
    return pairs.filter(~ok).select(key).distinct()


def _name_conflicts(touch, names, **tol):
    """Phones two of whose groups' representative names cannot be one person's (phone_id, name_conflict)."""
    named = touch.filter(touch.rep_name.notnull()).select("phone_id", name=touch.rep_name).distinct()
    return _incompatible_pairs(named, "phone_id", names, **tol).mutate(name_conflict=ibis.literal(True))


def _email_name_conflicts(ids, acc, names, links, **tol):
    """Usable e-mails held by two or more accounts, two of whose names cannot be one person's (_enc_email).

    Every distinct name of the e-mail's accounts is compared with every other
    (the e-mails are held by at most ``max_accounts_per_identifier`` accounts,
    so the pairs are few); unnamed accounts are no evidence.
    """
    usable = ids.filter(ids.reason.isnull() & (ids.kind == "email") & (ids.n_accounts >= 2)).select(_email=ids.id)
    held = links.join(usable, links.email_id == usable._email).select(links.row, email_id=usable._email)
    a = acc.select("row", "name")
    named = held.join(a, held.row == a.row).select(held.email_id, a.name)
    named = named.filter(named.name.notnull()).distinct()
    return _incompatible_pairs(named, "email_id", names, **tol).select(_enc_email="email_id")


def _email_conflicts(ws, ids0, touch, name_conflict, default_region: str):
    """Phones touching two or more groups with an address, unless they look like one person's (_ec_phone, email_conflict).

    Waived when the names agree and either every such group is named or the phone is a mobile.
    """
    em = touch.filter(touch.has_email)
    per_phone = em.group_by("phone_id").aggregate(n_mail=em.count(), unnamed=em.rep_name.isnull().cast("int64").sum())
    cand = ws.keep("email_candidates", per_phone.filter(per_phone.n_mail >= 2))
    mobile = _mobile_table(ws, ids0, cand.select("phone_id"), default_region)
    nc = name_conflict.select(_nc_phone=name_conflict.phone_id, name_conflict=name_conflict.name_conflict)
    mb = mobile.select(_mb_phone=mobile.phone_id, mobile=mobile.mobile)
    c = cand.left_join(nc, cand.phone_id == nc._nc_phone)
    c = c.select(c.phone_id, c.unnamed, c.name_conflict)
    c = c.left_join(mb, c.phone_id == mb._mb_phone)
    c = c.select(c.phone_id, c.unnamed, c.name_conflict, c.mobile)
    waived = ~c.name_conflict.fill_null(False) & ((c.unnamed == 0) | c.mobile.fill_null(False))
    return ws.keep("email_conflict", c.filter(~waived).select(_ec_phone=c.phone_id, email_conflict=ibis.literal(True)))


def email_name_groups(ids, acc, names, links, **tol) -> pd.DataFrame:
    """For the e-mails stopped by ``email_name_conflict``: the accounts that still link, by name group.

    The distinct names of an e-mail's accounts are joined when :func:`names_compatible`
    says they can be one person's; a group whose names are all pairwise compatible links
    its accounts (when it holds two or more), a group that holds an incompatible pair (a
    name compatible with both people) links none. Accounts without a name are not linked
    by the e-mail.

    Returns
    -------
    DataFrame
        row (account), email_id, group (a name group's number, unique over all the e-mails):
        only accounts that link.
    """
    cols = ["row", "email_id", "group"]
    stopped = ids.filter(ids.reason == "email_name_conflict").select(_email=ids.id)
    held = links.join(stopped, links.email_id == stopped._email).select(links.row, email_id=stopped._email)
    a = acc.select("row", "name")
    named = held.join(a, held.row == a.row).select(held.row, held.email_id, a.name)
    named = named.filter(named.name.notnull())
    holders = named.to_pyarrow().to_pandas()
    if holders.empty:
        return pd.DataFrame(columns=cols)
    keys = names.select("name", "name_script", "name_jamo", "name_rom", "name_rom_rev")
    dn = named.select("email_id", "name").distinct()
    x = dn.join(keys, dn.name == keys.name).select(dn.email_id, *[keys[c] for c in keys.columns])
    y = x.rename(lambda c: f"{c}_b")
    pairs = x.join(y, [x.email_id == y.email_id_b, x.name < y.name_b])
    ok = names_compatible({c: pairs[c] for c in keys.columns}, {c: pairs[f"{c}_b"] for c in keys.columns}, **tol)
    pr = pairs.select(pairs.email_id, a=pairs.name, b=pairs.name_b, ok=ok).to_pyarrow().to_pandas()
    # nodes: (e-mail, name); edges: compatible pairs; components over every e-mail at once (pairs never cross e-mails)
    nodes = holders[["email_id", "name"]].drop_duplicates().reset_index(drop=True)
    nodes["node"] = np.arange(len(nodes))
    node_of = nodes.set_index(["email_id", "name"])["node"]
    ia = node_of.reindex(pd.MultiIndex.from_arrays([pr["email_id"], pr["a"]])).to_numpy(dtype=np.int64)
    ib = node_of.reindex(pd.MultiIndex.from_arrays([pr["email_id"], pr["b"]])).to_numpy(dtype=np.int64)
    okm = pr["ok"].to_numpy(dtype=bool)
    g = coo_matrix((np.ones(int(okm.sum()), dtype=np.int8), (ia[okm], ib[okm])), shape=(len(nodes), len(nodes)))
    comp = connected_components(g, directed=False)[1]
    bad = np.unique(comp[ia[~okm]][comp[ia[~okm]] == comp[ib[~okm]]])
    h = holders.merge(nodes, on=["email_id", "name"])
    h["group"] = comp[h["node"].to_numpy()]
    size = h.groupby("group")["row"].transform("size")
    res = h[~h["group"].isin(bad) & (size >= 2)]
    return res[cols].astype("int64")

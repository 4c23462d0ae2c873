"""Identity resolution across channels: which accounts belong to one person.

A company knows the same person under several channel accounts (store, call
centre, catalogue, e-mail, web, app), each written differently. This module
joins them into pseudonymous customers in three steps.

1. **Normalise** e-mail, phone, name and postcode (:mod:`ecrm_lib.channels.normalize`).
2. **Deterministic pass**: an identity graph whose nodes are accounts and whose
   edges are shared strong identifiers (normalised e-mail, normalised phone);
   its connected components are customers. Over-merge guards, each counted in
   the audit tables, keep junk identifiers from gluing strangers together:

   - ``blocklist``: placeholder e-mails (``noemail@none.com``, ``test@test.com``,
     local parts such as ``noemail``/``none``/``test``, domains such as
     ``none.com``) and configurable company phone numbers (store, call centre)
     never link;
   - ``shared_identifier``: an identifier held by more than
     ``max_accounts_per_identifier`` accounts is treated as shared, not personal;
   - ``email_priority``: e-mail outranks phone: a phone that would join two or
     more accounts (or groups of accounts already joined by e-mail) holding
     different e-mails links none of them (family landline), unless they look
     like one person with two addresses: their names agree and either every one
     of them is named or the phone is a mobile (a personal device);
   - ``name_conflict``: a phone that would join accounts (or e-mail groups)
     whose names cannot be one person's links none of them (family landline
     without e-mails). Names are compared after normalisation: two Hangul names
     must be at most one edit apart on their jamo (a typo), a romanised name at
     most two edits from the other's romanisation in either order (Jihoon /
     Jihun); names in mixed or other scripts, and missing names, are no evidence;
   - ``max_component_size``: a component larger than ``max_component_size``
     accounts is split by dropping its weakest identifiers first (phones before
     e-mails, the most shared first) until every part fits; parts still too
     large after ``_MAX_SPLIT_ROUNDS`` rounds are left unmerged (each account its
     own customer).

3. **Probabilistic pass** (Splink 5, DuckDB) for the accounts the deterministic
   pass left single. Candidate pairs (every one involving such a singleton)
   come from blocking on name + postcode, phone, e-mail local part, name + last
   four phone digits, and romanised name + postcode (loosest rules are dropped,
   and reported, beyond ``max_candidate_pairs``). A Fellegi-Sunter model scores
   them on

   - name: exact (with term-frequency adjustment: 김민준 is common), Hangul
     names one jamo apart, different Hangul names, same name across scripts or
     orders (김민준 / Kim Minjun / Minjun Kim), romanisations two letters apart,
     else;
   - postcode: exact, same first three digits, else;
   - phone: exact, same last four digits, else;
   - e-mail: exact, same local part, else.

   u is estimated by random sampling (seeded), m from the deterministic
   components used as labels (a level never seen among the labelled pairs gets
   the add-one estimate 1 / (labelled pairs + 2) instead of Splink's generic
   default), and the prior from the share of all pairs the deterministic pass
   linked, over an assumed recall of 0.9. Identifiers a guard stopped are blank
   in this pass (a shared landline is no evidence). Each singleton joins at
   most its single best match at or above ``match_threshold``; since a
   singleton only ever points at one target, two deterministic customers are
   never merged by this pass, and the size limit still holds. Without any
   deterministic link to learn from, the pass is skipped (and says so).

Customer ids are pseudonymous and stable: ``C`` + the first 16 hex digits of the
SHA-256 of the component's sorted account ids joined by newlines (16 rather than
10 digits: 10 give a 36 % chance of one collision among a million customers).

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

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.channels.normalize import (
    _arrow,
    _by_distinct,
    normalization_report,
    normalize_accounts,
    normalize_phone,
    phone_is_mobile,
    romanize_name,
)

__all__ = [
    "Blocklist",
    "DEFAULT_BLOCKLIST",
    "GUARDS",
    "LINK_RULES",
    "IdentityResult",
    "resolve_identities",
    "pairwise_metrics",
    "customer_ids",
    "golden_records",
]

GUARDS = ("blocklist", "shared_identifier", "email_priority", "name_conflict", "max_component_size")
LINK_RULES = ("email", "phone", "probabilistic", "singleton")
_RULE = {r: i for i, r in enumerate(LINK_RULES)}
_KIND_RANK = {"email": 0, "phone": 1}  # higher = weaker
_MAX_SPLIT_ROUNDS = 200
_ID_HEX = 16

ProgressFn = Callable[[str, "float | None"], None]


# ------------------------------------------------------------------ blocklist
@dataclass(frozen=True)
class Blocklist:
    """Identifiers that never link accounts (junk, placeholders, company numbers).

    Parameters
    ----------
    emails : tuple of str
        Whole addresses (compared after normalisation).
    email_local_parts : tuple of str
        Local parts (before ``@``) that mark a placeholder at any domain.
    email_domains : tuple of str
        Domains whose every address is a placeholder.
    phones : tuple of str
        Phone numbers in any format (normalised with the default region):
        the company's own numbers (stores, call centre) that staff type in.
    phone_patterns : tuple of str
        Regular expressions (RE2 syntax: no back-references) matched against
        the E.164 number.

    Examples
    --------
    >>> bl = DEFAULT_BLOCKLIST.extend(phones=["1588-1234"])
    >>> "1588-1234" in bl.phones
    True
    """

    emails: tuple[str, ...] = ()
    email_local_parts: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    phone_patterns: tuple[str, ...] = ()

    def extend(self, **lists: Iterable[str]) -> "Blocklist":
        """A copy with extra entries appended to the named lists."""
        unknown = set(lists) - {f.name for f in self.__dataclass_fields__.values()}
        if unknown:
            raise TypeError(f"Blocklist has no list(s) {sorted(unknown)}; lists: {list(self.__dataclass_fields__)}")
        return replace(self, **{k: tuple(getattr(self, k)) + tuple(v) for k, v in lists.items()})


DEFAULT_BLOCKLIST = Blocklist(
    emails=("noemail@none.com", "test@test.com", "none@none.com", "no@no.com", "a@a.com", "aaa@aaa.com", "abc@abc.com", "x@x.com"),
    email_local_parts=(
        "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "none", "no", "null", "nil", "na",
        "unknown", "test", "tester", "dummy", "fake", "noreply", "no-reply", "donotreply", "do-not-reply",
        "x", "xx", "xxx", "xxxx", "asdf", "qwerty", "email", "mail", "sample", "example",
    ),
    email_domains=("none.com", "test.com", "example.com", "example.net", "example.org", "noemail.com", "nomail.com", "no.com", "invalid", "test.co.kr"),
    phones=(),
    # 010-0000-0000, 010-1111-1111, ...; 010-1234-5678 (the textbook example); a run of one digit.
    phone_patterns=(
        r"^\+8210(?:" + "|".join(d * 8 for d in "0123456789") + ")$",
        r"^\+821012345678$",
        r"^\+82(?:" + "|".join(d + "+" for d in "0123456789") + ")$",
    ),
)


# --------------------------------------------------------------------- result
@dataclass
class IdentityResult:
    """What :func:`resolve_identities` returns.

    Attributes
    ----------
    account_map : DataFrame
        One row per input account, in input order: account_id, customer_id,
        link_rule (email, phone, probabilistic, singleton), match_probability
        (1.0 for deterministic links, the model's probability for probabilistic
        ones, missing for singletons), match_weight (log2 Bayes factor of a
        probabilistic link, else missing). No personal data.
    golden : DataFrame
        One row per customer: customer_id, email, phone, name, postcode (most
        frequent normalised value, ties broken by the most recent account),
        first_seen, last_seen (account creation, UTC), channels (sorted,
        comma-separated), n_accounts. **Personal data.**
    audit : dict of str to DataFrame
        Pseudonymous audit tables: ``summary``, ``guards``, ``blocked_identifiers``,
        ``component_sizes``, ``bridges``, ``no_identifier``,
        ``invalid_identifiers``, ``link_rules``, ``probabilistic``,
        ``blocking_rules``, ``model_parameters`` (see :func:`resolve_identities`).
    params : dict
        The parameters used.
    timings : DataFrame
        stage, seconds.
    """

    account_map: pd.DataFrame
    golden: pd.DataFrame
    audit: dict[str, pd.DataFrame]
    params: dict[str, Any] = field(default_factory=dict)
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_customers(self) -> int:
        return int(self.account_map["customer_id"].nunique())


class _Stages:
    def __init__(self, progress: ProgressFn | None):
        self.progress = progress
        self.rows: list[dict] = []

    def run(self, stage: str, fn, *args, **kwargs):
        if self.progress is not None:
            self.progress(stage, None)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        dt_s = time.perf_counter() - t0
        self.rows.append({"stage": stage, "seconds": dt_s})
        if self.progress is not None:
            self.progress(stage, dt_s)
        return out


# ----------------------------------------------------------------- utilities
def _token(values: Iterable[str]) -> list[str]:
    """Pseudonymous token of an identifier: 10 hex digits of its SHA-256."""
    return [hashlib.sha256(v.encode("utf-8")).hexdigest()[:10] for v in values]


def _mask(kind: str, value: str) -> str:
    if kind == "email":
        return "***@" + value.rsplit("@", 1)[-1]
    return value[:3] + "*" * max(len(value) - 5, 0) + value[-2:]


def _components(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each node of an undirected graph given by edges a-b."""
    if n_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(g, directed=False)
    return labels.astype(np.int64)


def _codes(s: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Integer codes of a string Series (-1 for missing) and its distinct values (Arrow)."""
    enc = pc.dictionary_encode(_arrow(s))
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary


def _ranks(values: pa.Array) -> np.ndarray:
    """Rank of each string in lexicographic order (ties broken by position)."""
    order = pc.sort_indices(values).to_numpy(zero_copy_only=False)
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values), dtype=np.int64)
    return rank


def _utc_ns(s: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch (UTC); missing -> the smallest int64."""
    s = pd.Series(s)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, utc=True, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _check_accounts(accounts: pd.DataFrame) -> None:
    if not isinstance(accounts, pd.DataFrame):
        raise TypeError(f"accounts must be a pandas DataFrame (the canonical accounts table); got {type(accounts).__name__}.")
    if "account_id" not in accounts:
        raise DataValidationError(
            f"accounts has no account_id column; columns: {list(accounts.columns)}. Map one in the config (columns: account_id: <source column>)."
        )
    ids = accounts["account_id"]
    if ids.isna().any():
        raise DataValidationError(
            f"{int(ids.isna().sum())} account(s) have no account_id. Load accounts through ecrm_lib.data.load (missing_keys policy) or drop them first."
        )
    dup = ids.duplicated(keep=False)
    if dup.any():
        examples = ids[dup].astype(str).unique()[:5].tolist()
        raise DataValidationError(
            f"{int(ids[dup].nunique())} account_id value(s) occur more than once (e.g. {examples}); account_id must be unique. "
            "Prefix ids with the channel when channel systems reuse them, or drop duplicate rows."
        )


# ---------------------------------------------------------- identifier table
def _identifier_table(norm: pd.DataFrame, kinds=("email", "phone")) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Distinct identifiers and account-identifier memberships.

    Returns ids (id, kind, value, n_accounts, reason), member_account, member_id.
    """
    id_frames, m_acc, m_id = [], [], []
    offset = 0
    for kind in kinds:
        codes, uniques = _codes(norm[kind])
        idx = np.flatnonzero(codes >= 0)
        counts = np.bincount(codes[idx], minlength=len(uniques))
        id_frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(offset, offset + len(uniques), dtype=np.int64),
                    "kind": kind,
                    "value": pd.array(uniques, dtype="string"),
                    "n_accounts": counts.astype(np.int64),
                }
            )
        )
        m_acc.append(idx.astype(np.int64))
        m_id.append(codes[idx] + offset)
        offset += len(uniques)
    ids = pd.concat(id_frames, ignore_index=True)
    ids["reason"] = pd.array([pd.NA] * len(ids), dtype="string")
    return ids, np.concatenate(m_acc), np.concatenate(m_id)


def _blocklisted(ids: pd.DataFrame, blocklist: Blocklist, default_region: str) -> np.ndarray:
    out = np.zeros(len(ids), dtype=bool)
    is_email = (ids["kind"] == "email").to_numpy()
    v = _arrow(ids["value"])

    def isin(arr: pa.Array, values) -> np.ndarray:
        vs = pa.array([str(x).strip().lower() for x in values], type=arr.type)
        return pc.fill_null(pc.is_in(arr, value_set=vs), False).to_numpy(zero_copy_only=False)

    if is_email.any():
        e = pc.filter(v, pa.array(is_email))
        local = pc.replace_substring_regex(e, r"@.*$", "")
        domain = pc.replace_substring_regex(e, r"^.*@", "")
        out[is_email] = isin(e, blocklist.emails) | isin(local, blocklist.email_local_parts) | isin(domain, blocklist.email_domains)
    is_phone = ~is_email
    if is_phone.any():
        p = pc.filter(v, pa.array(is_phone))
        company = normalize_phone(pd.Series(list(blocklist.phones), dtype="string"), default_region=default_region).dropna().tolist()
        bad = isin(p, company)
        for pat in blocklist.phone_patterns:
            bad |= pc.fill_null(pc.match_substring_regex(p, pat), False).to_numpy(zero_copy_only=False)
        out[is_phone] = bad
    return out


def _string_distances(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Levenshtein distance of two aligned string Series (DuckDB; missing -> a large number)."""
    import duckdb

    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    df = pd.DataFrame({"a": pd.Series(a).astype(object).to_numpy(), "b": pd.Series(b).astype(object).to_numpy()})  # noqa: F841
    con = duckdb.connect()
    try:
        out = con.execute("select coalesce(levenshtein(a, b), 1000000) as d from df").df()["d"].to_numpy()
    finally:
        con.close()
    return out.astype(np.int64)


def _name_keys(names: pd.Series, scripts: pd.Series) -> pd.DataFrame:
    """Comparison keys of names: jamo (Hangul, NFD) and romanised keys in both orders."""
    names = pd.Series(names).reset_index(drop=True)
    key = _by_distinct(names, lambda u: pc.replace_substring_regex(u, r"[\s\-.,']", ""))
    hangul = (pd.Series(scripts).reset_index(drop=True) == "hangul").fillna(False).to_numpy(dtype=bool)
    jamo = _by_distinct(key.where(hangul), lambda u: pc.utf8_normalize(u, "NFD"))
    rom = romanize_name(names)
    return pd.DataFrame({"key": key.array, "jamo": jamo.array, "rom": rom["rom"].array, "rom_rev": rom["rom_reversed"].array})


def _names_compatible(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Could names a and b (aligned rows: name, script) belong to one person?

    Equal, or either missing, or either in a mixed or other script (no
    evidence): yes. Both Hangul: their jamo (NFD letters) are at most one edit
    apart (a typo). Otherwise (Latin on one side at least): the romanised keys,
    in either order, are at most two edits apart (spelling variants such as
    Jihoon / Jihun, Doyun / Doyoon).
    """
    an, bn = a["name"].astype("string"), b["name"].astype("string")
    asc, bsc = a["script"].astype("string"), b["script"].astype("string")
    out = np.ones(len(a), dtype=bool)
    unknown = (an.isna() | bn.isna() | asc.isin(["mixed", "other"]) | bsc.isin(["mixed", "other"]) | (an == bn)).fillna(True).to_numpy(dtype=bool)
    idx = np.flatnonzero(~unknown)
    if len(idx) == 0:
        return out
    ka = _name_keys(an.iloc[idx], asc.iloc[idx])
    kb = _name_keys(bn.iloc[idx], bsc.iloc[idx])
    both_h = ((asc.iloc[idx] == "hangul") & (bsc.iloc[idx] == "hangul")).to_numpy(dtype=bool)
    d_j = _string_distances(ka["jamo"], kb["jamo"])
    d_r = np.minimum(_string_distances(ka["rom"], kb["rom"]), _string_distances(ka["rom"], kb["rom_rev"]))
    out[idx] = np.where(both_h, d_j <= 1, d_r <= 2)
    return out


def _representative_names(norm: pd.DataFrame, comp: np.ndarray) -> pd.DataFrame:
    """Per component: its most frequent name, Hangul first (name, script; missing if none)."""
    name_code, names = _codes(norm["name"])
    script_code, scripts = _codes(norm["name_script"])
    rank_of_script = np.array([{"hangul": 0, "latin": 1}.get(x, 2) for x in scripts.to_pylist()] + [3], dtype=np.int64)
    ok = name_code >= 0
    c, nc, sr = comp[ok], name_code[ok], rank_of_script[script_code[ok]]
    nn = len(names)
    key = c * nn + nc
    ukey, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    first = np.zeros(len(ukey), dtype=np.int64)
    first[inv] = np.arange(len(inv))
    kc, kn, ks = ukey // nn, ukey % nn, sr[first]
    order = np.lexsort((kn, -cnt, ks, kc))
    kc, kn, ks = kc[order], kn[order], ks[order]
    head = np.r_[True, kc[1:] != kc[:-1]] if len(kc) else np.zeros(0, dtype=bool)
    comp_ids, name_ids = kc[head], kn[head]
    script_of_name = np.full(nn, -1, dtype=np.int64)
    script_of_name[nc] = script_code[ok]
    return pd.DataFrame(
        {
            "name": pd.array(pc.take(names, pa.array(name_ids)), dtype="string"),
            "script": pd.array(pc.take(scripts, pa.array(script_of_name[name_ids])), dtype="string"),
        },
        index=pd.Index(comp_ids, name="comp"),
    )


def _apply_guards(
    norm: pd.DataFrame,
    ids: pd.DataFrame,
    m_acc: np.ndarray,
    m_id: np.ndarray,
    *,
    guards: frozenset,
    blocklist: Blocklist,
    max_accounts_per_identifier: int,
    default_region: str,
) -> pd.DataFrame:
    """Set ``ids.reason`` to the first guard that stops each identifier (else missing).

    The e-mail and name guards look at what a phone would join: the components
    the usable e-mails already form (each has at most one e-mail address), each
    with its representative name.
    """
    reason = np.full(len(ids), None, dtype=object)
    if "blocklist" in guards:
        reason[_blocklisted(ids, blocklist, default_region)] = "blocklist"
    if "shared_identifier" in guards:
        many = (ids["n_accounts"].to_numpy() > max_accounts_per_identifier) & (reason == None)  # noqa: E711
        reason[many] = "shared_identifier"
    usable = reason == None  # noqa: E711
    if not ({"email_priority", "name_conflict"} & guards):
        ids = ids.copy()
        ids["reason"] = pd.array(reason, dtype="string")
        return ids
    n = len(norm)
    kinds = ids["kind"].to_numpy()
    is_email = kinds[m_id] == "email"
    # Components of the e-mail graph alone.
    e_sel = is_email & usable[m_id]
    comp = _components(n + len(ids), m_acc[e_sel], n + m_id[e_sel])[:n]
    comp_has_email = np.zeros(comp.max() + 1 if n else 0, dtype=bool)
    comp_has_email[comp[m_acc[e_sel]]] = True
    # Phones and the e-mail components they touch.
    p_sel = ~is_email & usable[m_id]
    touch = pd.DataFrame({"id": m_id[p_sel], "comp": comp[m_acc[p_sel]]}).drop_duplicates()
    n_comp = touch.groupby("id").size()
    multi = n_comp.index[n_comp.to_numpy() >= 2]
    touch = touch[touch["id"].isin(multi)]
    email_conflict = np.zeros(len(ids), dtype=bool)
    name_conflict = np.zeros(len(ids), dtype=bool)
    if len(touch):
        rep = _representative_names(norm, comp)
        touch = touch.join(rep, on="comp")
        touch["has_email"] = comp_has_email[touch["comp"].to_numpy()]
        # name conflicts: any two distinct representative names that cannot be one person
        names = touch.dropna(subset=["name"])[["id", "name", "script"]].drop_duplicates()
        pairs = names.merge(names, on="id", suffixes=("_a", "_b"))
        pairs = pairs[pairs["name_a"] < pairs["name_b"]].reset_index(drop=True)
        if len(pairs):
            ok = _names_compatible(
                pairs[["name_a", "script_a"]].set_axis(["name", "script"], axis=1),
                pairs[["name_b", "script_b"]].set_axis(["name", "script"], axis=1),
            )
            name_conflict[pairs.loc[~ok, "id"].unique()] = True
        # e-mail conflicts: two or more components with an address, unless the
        # phone looks like one person's (names agree, and every such component
        # is named or the phone is a mobile, a personal device).
        em = touch[touch["has_email"]]
        n_mail = em.groupby("id").size()
        unnamed = em[em["name"].isna()].groupby("id").size().reindex(n_mail.index, fill_value=0)
        cand = n_mail.index[n_mail.to_numpy() >= 2].to_numpy()
        if len(cand):
            mobile = phone_is_mobile(ids["value"].iloc[cand], default_region=default_region).to_numpy(dtype=bool)
            all_named = unnamed.reindex(cand).to_numpy() == 0
            waived = ~name_conflict[cand] & (all_named | mobile)
            email_conflict[cand[~waived]] = True
    if "email_priority" in guards:
        reason[email_conflict & usable] = "email_priority"
        usable = reason == None  # noqa: E711
    if "name_conflict" in guards:
        reason[name_conflict & usable] = "name_conflict"
    ids = ids.copy()
    ids["reason"] = pd.array(reason, dtype="string")
    return ids


# ----------------------------------------------------------- deterministic
def _det_components(
    n: int, ids: pd.DataFrame, m_acc: np.ndarray, m_id: np.ndarray, *, max_component_size: int | None
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, dict]:
    """Connected components over usable identifiers, with the size guard.

    Returns (labels per account, ids with reason updated, active membership mask, info).
    """
    ids = ids.copy()
    usable = ids["reason"].isna().to_numpy() & (ids["n_accounts"].to_numpy() >= 2)
    active = usable[m_id]
    labels = _components(n + len(ids), m_acc[active], n + m_id[active])[:n]
    info = {"split_components": 0, "split_rounds": 0, "unmerged_components": 0, "unmerged_accounts": 0}
    if max_component_size is None:
        return _relabel(labels), ids, active, info
    sizes = np.bincount(labels)
    big = sizes[labels] > max_component_size
    if not big.any():
        return _relabel(labels), ids, active, info
    info["split_components"] = int(np.unique(labels[big]).size)
    # Work on the sub-graph of over-size components only.
    kind_rank = ids["kind"].map(_KIND_RANK).to_numpy()
    n_acc_id = ids["n_accounts"].to_numpy()
    dropped = np.zeros(len(ids), dtype=bool)
    sub = active & big[m_acc]
    for rnd in range(_MAX_SPLIT_ROUNDS):
        sub_acc, sub_id = m_acc[sub], m_id[sub]
        if len(sub_acc) == 0:
            break
        acc_nodes, acc_local = np.unique(sub_acc, return_inverse=True)
        id_nodes, id_local = np.unique(sub_id, return_inverse=True)
        lab = _components(len(acc_nodes) + len(id_nodes), acc_local, len(acc_nodes) + id_local)
        acc_lab = lab[: len(acc_nodes)]
        size = np.bincount(acc_lab, minlength=lab.max() + 1)
        comp_of_id = lab[len(acc_nodes):]
        over = size[comp_of_id] > max_component_size
        if not over.any():
            break
        info["split_rounds"] = rnd + 1
        # In every over-size component drop its weakest identifier: phone before
        # e-mail, then the most shared, then the highest id (deterministic).
        cand = pd.DataFrame({"comp": comp_of_id[over], "id": id_nodes[over]})
        cand["rank"] = kind_rank[cand["id"]]
        cand["n"] = n_acc_id[cand["id"]]
        worst = cand.sort_values(["comp", "rank", "n", "id"], ascending=[True, False, False, False]).drop_duplicates("comp")["id"].to_numpy()
        dropped[worst] = True
        sub = sub & ~dropped[m_id]
    else:  # pragma: no cover - loop ran out
        pass
    # Recompute the final labels with the dropped identifiers removed.
    ids.loc[dropped, "reason"] = "max_component_size"
    active = active & ~dropped[m_id]
    labels = _components(n + len(ids), m_acc[active], n + m_id[active])[:n]
    sizes = np.bincount(labels)
    still = sizes[labels] > max_component_size
    if still.any():
        # Left unmerged: every account of such a component becomes its own customer.
        info["unmerged_components"] = int(np.unique(labels[still]).size)
        info["unmerged_accounts"] = int(still.sum())
        active = active & ~still[m_acc]
        labels = _components(n + len(ids), m_acc[active], n + m_id[active])[:n]
    return _relabel(labels), ids, active, info


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inv].astype(np.int64)


def _det_rules(n: int, ids: pd.DataFrame, m_acc: np.ndarray, m_id: np.ndarray, active: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Link rule code per account (index into LINK_RULES)."""
    sizes = np.bincount(labels)
    rule = np.full(n, _RULE["singleton"], dtype=np.int8)
    linked = sizes[labels] >= 2
    phone = np.zeros(n, dtype=bool)
    email = np.zeros(n, dtype=bool)
    kinds = ids["kind"].to_numpy()[m_id]
    email[m_acc[active & (kinds == "email")]] = True
    phone[m_acc[active & (kinds == "phone")]] = True
    rule[linked & phone] = _RULE["phone"]
    rule[linked & email] = _RULE["email"]
    return rule


# ------------------------------------------------------------- probabilistic
def _splink_records(norm: pd.DataFrame, ids: pd.DataFrame, m_acc: np.ndarray, m_id: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Input table of the probabilistic pass.

    Identifiers a guard stopped are blanked (junk, or shared by different
    people: no evidence); those dropped only to split an over-size component
    are kept.
    """
    n = len(norm)
    junk = ids["reason"].isin(["blocklist", "shared_identifier", "email_priority", "name_conflict"]).fillna(False).to_numpy()
    kinds = ids["kind"].to_numpy()
    blank = {k: np.zeros(n, dtype=bool) for k in ("email", "phone")}
    for k in blank:
        sel = junk[m_id] & (kinds[m_id] == k)
        blank[k][m_acc[sel]] = True
    email = _arrow(norm["email"].mask(blank["email"]))
    phone = _arrow(norm["phone"].mask(blank["phone"]))
    keys = _name_keys(norm["name"], norm["name_script"])
    name_key = keys["key"].mask(keys["key"].str.len() == 0)
    hangul = (norm["name_script"] == "hangul").fillna(False).to_numpy(dtype=bool)

    def s(arr: pa.Array) -> pd.Series:
        return pd.Series(pd.array(arr, dtype="string"))

    sizes = np.bincount(labels)
    single = sizes[labels] == 1
    return pd.DataFrame(
        {
            "unique_id": np.arange(n, dtype=np.int64),
            "name_key": name_key.array,
            "name_hangul": hangul.astype(np.int8),
            "name_jamo": keys["jamo"].array,
            "name_rom": keys["rom"].array,
            "name_rom_rev": keys["rom_rev"].array,
            "postcode": norm["postcode"].array,
            "phone": s(phone),
            "phone4": s(pc.utf8_slice_codeunits(phone, -4)),
            "email": s(email),
            "email_local": s(pc.replace_substring_regex(email, r"@.*$", "")),
            "single": single.astype(np.int8),
            "det_cluster": pd.array(np.where(single, pd.NA, labels), dtype="Int64"),
        }
    )


# Blocking rules of the probabilistic pass, strictest first; every pair must
# also involve at least one singleton of the deterministic pass.
_BLOCKING_KEYS = (
    ("name_key", "postcode"),
    ("phone",),
    ("email_local",),
    ("name_key", "phone4"),
    ("name_rom", "postcode"),
)


def _candidate_pair_counts(rec: pd.DataFrame) -> list[tuple[tuple[str, ...], int]]:
    """Upper bound of the pairs each blocking rule generates (pairs with a singleton)."""
    out = []
    for keys in _BLOCKING_KEYS:
        sub = rec.loc[rec[list(keys)].notna().all(axis=1), list(keys) + ["single"]]
        if sub.empty:
            out.append((keys, 0))
            continue
        g = sub.groupby(list(keys), sort=False)["single"].agg(["size", "sum"])
        s = g["sum"].to_numpy(dtype=np.float64)
        t = g["size"].to_numpy(dtype=np.float64)
        # pairs with at least one singleton: s*(t-s) + s*(s-1)/2
        out.append((keys, int(np.sum(s * (t - s) + s * (s - 1) / 2))))
    return out


def _splink_settings(prior: float):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=True),
            cll.CustomLevel(
                "name_hangul_l = 1 and name_hangul_r = 1 and levenshtein(name_jamo_l, name_jamo_r) <= 1",
                "Hangul names one letter apart",
            ),
            cll.CustomLevel("name_hangul_l = 1 and name_hangul_r = 1", "different Hangul names"),
            cll.CustomLevel(
                "name_rom_l = name_rom_r or name_rom_l = name_rom_rev_r",
                "same name across scripts or orders",
            ),
            cll.CustomLevel(
                "least(levenshtein(name_rom_l, name_rom_r), levenshtein(name_rom_l, name_rom_rev_r)) <= 2",
                "romanised names two letters apart",
            ),
            cll.ElseLevel().configure(label_for_charts="different names across scripts"),
        ],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel("substr(postcode_l, 1, 3) = substr(postcode_r, 1, 3)", "same first 3 digits"),
            cll.ElseLevel(),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone"),
            cll.CustomLevel("phone4_l = phone4_r", "same last 4 digits"),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.CustomLevel("email_local_l = email_local_r", "same local part"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[name, postcode, phone, email],
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _blocking_sql(keys: tuple[str, ...]) -> str:
    eq = " and ".join(f"l.{k} = r.{k}" for k in keys)
    return f"{eq} and (l.single = 1 or r.single = 1)"


def _probabilistic_pass(
    rec: pd.DataFrame,
    *,
    match_threshold: float,
    max_candidate_pairs: int,
    u_max_pairs: float,
    seed: int,
) -> tuple[pd.DataFrame, dict, pd.DataFrame, pd.DataFrame]:
    """Score pairs that involve a singleton with Splink; return pairs at or above the threshold.

    Returns (pairs[l, r, match_probability, match_weight], info, rules table, model parameters).
    """
    from splink import DuckDBAPI, Linker

    n = len(rec)
    det_sizes = rec.loc[rec["single"] == 0, "det_cluster"].value_counts().to_numpy(dtype=np.float64)
    det_pairs = float(np.sum(det_sizes * (det_sizes - 1) / 2))
    total_pairs = n * (n - 1) / 2
    # Prior: the share of all pairs the deterministic pass linked, over an assumed recall of 0.9.
    prior = float(min(max(det_pairs / 0.9 / max(total_pairs, 1.0), 1e-9), 0.5))

    counts = _candidate_pair_counts(rec)
    rules, kept_pairs, rows = [], 0, []
    for keys, c in counts:
        use = c > 0 and kept_pairs + c <= max_candidate_pairs
        rows.append({"blocking_rule": " + ".join(keys), "candidate_pairs_max": c, "used": use})
        if use:
            rules.append(_blocking_sql(keys))
            kept_pairs += c
    rules_table = pd.DataFrame(rows)
    info = {"records": n, "singletons": int(rec["single"].sum()), "prior": prior, "candidate_pairs_max": kept_pairs}
    empty = pd.DataFrame({"l": [], "r": [], "match_probability": [], "match_weight": []})
    if det_pairs == 0:
        info["skipped"] = "the deterministic pass linked no pairs to learn m probabilities from"
        return empty, info, rules_table, pd.DataFrame(columns=_PARAM_COLUMNS)
    if not rules or info["singletons"] == 0:
        info["skipped"] = "no candidate pairs"
        return empty, info, rules_table, pd.DataFrame(columns=_PARAM_COLUMNS)

    settings = _splink_settings(prior)
    db = DuckDBAPI()
    sdf = db.register(rec, table_name="ecrm_accounts_for_linkage")
    trainer = Linker(sdf, settings, log_level=logging.WARNING)
    trainer.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    trainer.training.estimate_m_from_label_column("det_cluster")
    model = trainer.misc.save_model_to_json()
    # A level never seen among the labelled pairs (say "same last 4 digits" of
    # two different numbers) keeps Splink's generic default m otherwise; give it
    # the add-one estimate 1 / (labelled pairs + 2) instead.
    floor = 1.0 / (det_pairs + 2.0)
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if not lvl.get("is_null_level") and "m_probability" not in lvl:
                lvl["m_probability"] = floor
                lvl["m_source"] = "add-one floor"
    model["blocking_rules_to_generate_predictions"] = rules
    params = _model_parameters(model)
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            lvl.pop("m_source", None)
    linker = Linker(sdf, model, log_level=logging.WARNING)
    pred = linker.inference.predict(threshold_match_probability=match_threshold, warning_mode="never")
    pairs = db.duckdb_con.sql(
        f"select unique_id_l as l, unique_id_r as r, match_probability, match_weight from {pred.physical_name}"
    ).df()
    info["pairs_at_threshold"] = len(pairs)
    return pairs, info, rules_table, params


_PARAM_COLUMNS = ["comparison", "level", "m_probability", "u_probability", "match_weight", "m_source"]


def _model_parameters(model: dict) -> pd.DataFrame:
    rows = []
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            ok = m is not None and u is not None and m > 0 and u > 0
            rows.append(
                {
                    "comparison": comp.get("output_column_name"),
                    "level": lvl.get("label_for_charts", lvl.get("sql_condition")),
                    "m_probability": m,
                    "u_probability": u,
                    "match_weight": math.log2(m / u) if ok else float("nan"),
                    "m_source": lvl.get("m_source", "deterministic components as labels"),
                }
            )
    return pd.DataFrame(rows)


def _attach_singletons(
    pairs: pd.DataFrame, labels: np.ndarray, single: np.ndarray, max_component_size: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Each singleton joins its single best match; returns (labels, probability, weight, info)."""
    n = len(labels)
    prob = np.full(n, np.nan)
    weight = np.full(n, np.nan)
    info = {"singletons_attached": 0, "links_rejected_size": 0}
    if pairs.empty:
        return labels, prob, weight, info
    l, r = pairs["l"].to_numpy(np.int64), pairs["r"].to_numpy(np.int64)
    p, w = pairs["match_probability"].to_numpy(), pairs["match_weight"].to_numpy()
    src = np.concatenate([l[single[l]], r[single[r]]])
    dst = np.concatenate([r[single[l]], l[single[r]]])
    pp = np.concatenate([p[single[l]], p[single[r]]])
    ww = np.concatenate([w[single[l]], w[single[r]]])
    e = pd.DataFrame({"src": src, "dst": dst, "p": pp, "w": ww}).sort_values(["src", "p", "dst"], ascending=[True, False, True])
    best = e.drop_duplicates("src")
    bs, bd = best["src"].to_numpy(), best["dst"].to_numpy()
    # Accounts joined to their deterministic component node, plus the best links.
    k = labels.max() + 1 if n else 0
    merged = _components(n + k, np.concatenate([np.arange(n), bs]), np.concatenate([n + labels, bd]))[:n]
    if max_component_size is not None:
        size = np.bincount(merged)
        too_big = size[merged] > max_component_size
        if too_big.any():
            # Reject the best links of singletons in over-size components.
            reject = too_big[bs]
            info["links_rejected_size"] = int(reject.sum())
            bs, bd, best = bs[~reject], bd[~reject], best[~reject]
            merged = _components(n + k, np.concatenate([np.arange(n), bs]), np.concatenate([n + labels, bd]))[:n]
    size = np.bincount(merged)
    attached = single & (size[merged] >= 2)
    # Each attached singleton carries the probability of its own best link, or
    # (when only others point at it) of the best link pointing at it.
    kept = pd.DataFrame({"a": np.concatenate([bs, bd]), "p": np.tile(best["p"].to_numpy(), 2), "w": np.tile(best["w"].to_numpy(), 2), "own": np.r_[np.ones(len(bs)), np.zeros(len(bd))]})
    kept = kept.sort_values(["a", "own", "p"], ascending=[True, False, False]).drop_duplicates("a").set_index("a")
    idx = np.flatnonzero(attached)
    prob[idx] = kept["p"].reindex(idx).to_numpy()
    weight[idx] = kept["w"].reindex(idx).to_numpy()
    info["singletons_attached"] = int(attached.sum())
    return _relabel(merged), prob, weight, info


# ------------------------------------------------------------- customer ids
def customer_ids(account_id: pd.Series, labels: np.ndarray, n_hex: int = _ID_HEX) -> np.ndarray:
    """Stable pseudonymous customer id per account from its component label.

    ``"C"`` + the first ``n_hex`` hex digits of the SHA-256 of the component's
    sorted account ids joined by newlines: the same accounts give the same id
    whatever their order or the labels' numbering.

    Parameters
    ----------
    account_id : Series of str
        Account ids, one per account.
    labels : ndarray of int
        Component label per account (same order).
    n_hex : int, default 16
        Hex digits kept.

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ids = customer_ids(pd.Series(["b", "a", "c"]), np.array([0, 0, 1]))
    >>> ids[0] == ids[1] != ids[2]
    True
    """
    arr = _customer_id_array(_arrow(pd.Series(account_id).astype("string")), np.asarray(labels, dtype=np.int64), n_hex)
    return arr.to_numpy(zero_copy_only=False).astype(object)


def _customer_id_array(aid_arr: pa.Array, labels: np.ndarray, n_hex: int = _ID_HEX) -> pa.Array:
    n = len(aid_arr)
    if n == 0:
        return pa.array([], type=pa.large_string())
    aid = aid_arr.to_numpy(zero_copy_only=False)
    sizes = np.bincount(labels)
    single = sizes[labels] == 1
    by_label = np.empty(len(sizes), dtype=object)
    one = np.flatnonzero(single)
    by_label[labels[one]] = ["C" + hashlib.sha256(a.encode("utf-8")).hexdigest()[:n_hex] for a in aid[one].tolist()]
    multi = np.flatnonzero(~single)
    if len(multi):
        order = multi[np.lexsort((_ranks(aid_arr)[multi], labels[multi]))]
        lab = labels[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        ends = np.r_[starts[1:], len(lab)]
        sorted_aid = aid[order].tolist()
        by_label[lab[starts]] = ["C" + hashlib.sha256("\n".join(sorted_aid[a:b]).encode("utf-8")).hexdigest()[:n_hex] for a, b in zip(starts, ends)]
    present = sizes > 0
    if len(set(by_label[present].tolist())) != int(present.sum()):
        if n_hex >= 64:  # pragma: no cover - SHA-256 collision
            raise RuntimeError("customer id collision on the full SHA-256")
        return _customer_id_array(aid_arr, labels, min(64, n_hex * 2))
    return pc.take(pa.array(by_label, type=pa.large_string()), pa.array(labels))


# ----------------------------------------------------------- golden records
def _best_value(cust: np.ndarray, n_cust: int, value: pd.Series, t_ns: np.ndarray) -> pd.Series:
    """Most frequent non-missing value per customer code; ties: the most recent
    account, then the value seen first. Returns a string Series of length n_cust."""
    vc, values = _codes(value)
    ok = vc >= 0
    if not ok.any():
        return pd.Series(pd.array(pa.nulls(n_cust, pa.large_string()), dtype="string"))
    nv = len(values)
    key = cust[ok] * nv + vc[ok]
    t = t_ns[ok]
    order = np.argsort(key, kind="stable")
    key_s, t_s = key[order], t[order]
    starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    ukey = key_s[starts]
    cnt = np.diff(np.r_[starts, len(key_s)])
    tmax = np.maximum.reduceat(t_s, starts)
    kc, kv = ukey // nv, ukey % nv
    pick = np.lexsort((kv, -tmax, -cnt, kc))
    kc, kv = kc[pick], kv[pick]
    head = np.r_[True, kc[1:] != kc[:-1]]
    idx = np.full(n_cust, -1, dtype=np.int64)
    idx[kc[head]] = kv[head]
    chosen = pc.take(pc.cast(values, pa.large_string()), pa.array(idx, mask=idx < 0))
    return pd.Series(pd.array(chosen, dtype="string"))


def golden_records(norm: pd.DataFrame, customer_id: np.ndarray) -> pd.DataFrame:
    """One row per customer with the best value of each identifying attribute.

    Parameters
    ----------
    norm : DataFrame
        :func:`ecrm_lib.channels.normalize.normalize_accounts` output.
    customer_id : array of str
        Customer id per row of ``norm``.

    Returns
    -------
    DataFrame
        customer_id, email, phone, name, postcode (most frequent normalised
        value, ties broken by the most recent account, then by the value seen
        first), first_seen, last_seen
        (account creation, UTC), channels (sorted, comma-separated),
        n_accounts; sorted by customer_id. **Personal data.**
    """
    cust, cust_ids = _codes(pd.Series(customer_id, dtype="string"))
    return _golden(norm, cust, cust_ids)


def _golden(norm: pd.DataFrame, cust: np.ndarray, cust_ids: pa.Array) -> pd.DataFrame:
    """Golden records from customer codes 0..k-1 per account and the id of each code."""
    k = len(cust_ids)
    t_ns = _utc_ns(norm["created_at"])
    t_missing = t_ns == np.iinfo(np.int64).min
    n_acc = np.bincount(cust, minlength=k)
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, cust[~t_missing], t_ns[~t_missing])
    np.maximum.at(last, cust[~t_missing], t_ns[~t_missing])

    def as_ts(x: np.ndarray, empty: int) -> pd.Series:
        ts = pd.Series(x.astype("datetime64[ns]")).mask(x == empty)
        return ts.dt.tz_localize("UTC").astype("datetime64[us, UTC]")

    ch_code, ch_values = _codes(norm["channel"])
    ch_names = ch_values.to_pylist()
    if len(ch_names) <= 62:
        # one bit per channel (in sorted order), OR-ed per customer
        ch_rank = _ranks(ch_values)
        bits = np.zeros(k, dtype=np.int64)
        okc = ch_code >= 0
        np.bitwise_or.at(bits, cust[okc], np.left_shift(1, ch_rank[ch_code[okc]]))
        by_rank = [ch_names[i] for i in np.argsort(ch_rank)]
        masks, inv = np.unique(bits, return_inverse=True)
        text = np.array([",".join(by_rank[j] for j in range(len(by_rank)) if (int(m) >> j) & 1) or None for m in masks], dtype=object)
        channels = pd.array(text[inv], dtype="string")
    else:  # many channels: slower, general path
        df = pd.DataFrame({"c": cust, "ch": norm["channel"].to_numpy()}).dropna().drop_duplicates().sort_values(["c", "ch"])
        channels = pd.array(df.groupby("c")["ch"].agg(",".join).reindex(range(k)).to_numpy(), dtype="string")
    out = pd.DataFrame(
        {
            "customer_id": pd.array(cust_ids, dtype="string"),
            "email": _best_value(cust, k, norm["email"], t_ns),
            "phone": _best_value(cust, k, norm["phone"], t_ns),
            "name": _best_value(cust, k, norm["name"], t_ns),
            "postcode": _best_value(cust, k, norm["postcode"], t_ns),
            "first_seen": as_ts(first, np.iinfo(np.int64).max),
            "last_seen": as_ts(last, np.iinfo(np.int64).min),
            "channels": channels,
            "n_accounts": n_acc.astype(np.int64),
        }
    )
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------- audit
def _size_hist(labels: np.ndarray, stage: str) -> pd.DataFrame:
    sizes = np.bincount(labels)
    sizes = sizes[sizes > 0]
    v, c = np.unique(sizes, return_counts=True)
    return pd.DataFrame({"stage": stage, "size": v.astype(np.int64), "n_customers": c.astype(np.int64), "n_accounts": (v * c).astype(np.int64)})


def _bridges(
    labels: np.ndarray, cust: np.ndarray, ids: pd.DataFrame, m_acc: np.ndarray, m_id: np.ndarray, active: np.ndarray, top: int = 10
) -> pd.DataFrame:
    """For the largest deterministic components: the identifiers that hold each together.

    ``splits_component`` is True when removing the identifier alone cuts the
    component in two or more parts; ``largest_part_without`` is the size of the
    largest part left without it.
    """
    cols = ["customer_id", "component_size", "kind", "token", "masked", "n_accounts_in_component", "splits_component", "largest_part_without"]
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")[:top]
    order = order[sizes[order] >= 3]
    rows = []
    acc_m, id_m = m_acc[active], m_id[active]
    lab_m = labels[acc_m]
    for comp in order:
        sel = lab_m == comp
        a, i = acc_m[sel], id_m[sel]
        an, al = np.unique(a, return_inverse=True)
        inn, il = np.unique(i, return_inverse=True)
        for k, idv in enumerate(inn):
            keep = il != k
            lab = _components(len(an) + len(inn), al[keep], len(an) + il[keep])[: len(an)]
            part = np.bincount(lab)
            kind = ids.at[idv, "kind"]
            value = ids.at[idv, "value"]
            rows.append(
                {
                    "customer_id": cust[an[0]],
                    "component_size": int(sizes[comp]),
                    "kind": kind,
                    "token": _token([value])[0],
                    "masked": _mask(kind, value),
                    "n_accounts_in_component": int((il == k).sum()),
                    "splits_component": bool((part > 0).sum() > 1),
                    "largest_part_without": int(part.max()),
                }
            )
    return pd.DataFrame(rows, columns=cols)


_GUARD_TEXT = {
    "blocklist": "placeholder e-mail or company phone on the blocklist: never links",
    "shared_identifier": "identifier held by more than max_accounts_per_identifier accounts: treated as shared",
    "email_priority": "phone that would join accounts holding different e-mails (not one person's two addresses): does not link them",
    "name_conflict": "phone that would join accounts whose names cannot be one person's: does not link them",
    "max_component_size": "identifier dropped to split a component larger than max_component_size",
}


def _audit(
    accounts: pd.DataFrame,
    norm: pd.DataFrame,
    ids: pd.DataFrame,
    m_acc: np.ndarray,
    m_id: np.ndarray,
    active: np.ndarray,
    det_labels: np.ndarray,
    final_labels: np.ndarray,
    cust: np.ndarray,
    rule: np.ndarray,
    split_info: dict,
    prob_info: dict,
    rules_table: pd.DataFrame,
    params_table: pd.DataFrame,
    guards: frozenset,
) -> dict[str, pd.DataFrame]:
    n = len(norm)
    stopped = ids[ids["reason"].notna()]
    # accounts affected by a guard: accounts holding a stopped identifier shared with at least one other account
    reason_of = ids["reason"].fillna("").to_numpy(dtype=object)
    g_rows = []
    for g in GUARDS:
        sel_ids = (reason_of == g)
        mem = sel_ids[m_id]
        g_rows.append(
            {
                "guard": g,
                "enabled": g in guards,
                "identifiers_stopped": int(sel_ids.sum()),
                "identifiers_stopped_shared": int((sel_ids & (ids["n_accounts"].to_numpy() >= 2)).sum()),
                "accounts_holding": int(np.unique(m_acc[mem]).size),
                "what_it_does": _GUARD_TEXT[g],
            }
        )
    if split_info.get("unmerged_components"):
        g_rows.append(
            {
                "guard": "max_component_size (left unmerged)",
                "enabled": True,
                "identifiers_stopped": 0,
                "identifiers_stopped_shared": 0,
                "accounts_holding": split_info["unmerged_accounts"],
                "what_it_does": "component still too large after splitting: its accounts left as separate customers",
            }
        )
    blocked = stopped.sort_values(["n_accounts", "kind"], ascending=[False, True])
    blocked_tbl = pd.DataFrame(
        {
            "kind": blocked["kind"].to_numpy(),
            "reason": blocked["reason"].to_numpy(),
            "n_accounts": blocked["n_accounts"].to_numpy(),
            "token": _token(blocked["value"].tolist()),
            "masked": [_mask(k, v) for k, v in zip(blocked["kind"], blocked["value"])],
        }
    )
    has_any = norm["email"].notna() | norm["phone"].notna()
    no_id = pd.DataFrame({"channel": norm["channel"].fillna("(missing)"), "none": ~has_any.to_numpy()})
    no_id_tbl = no_id.groupby("channel", sort=True).agg(n_accounts=("none", "size"), n_without_identifier=("none", "sum")).reset_index()
    no_id_tbl["share_without_identifier"] = no_id_tbl["n_without_identifier"] / no_id_tbl["n_accounts"]
    no_id_tbl = pd.concat(
        [
            no_id_tbl,
            pd.DataFrame(
                {
                    "channel": ["(all)"],
                    "n_accounts": [n],
                    "n_without_identifier": [int((~has_any).sum())],
                    "share_without_identifier": [float((~has_any).mean()) if n else 0.0],
                }
            ),
        ],
        ignore_index=True,
    )
    rule_counts = pd.Series(np.bincount(rule, minlength=len(LINK_RULES)), index=list(LINK_RULES))
    link_tbl = pd.DataFrame({"link_rule": rule_counts.index, "n_accounts": rule_counts.to_numpy(dtype=np.int64)})
    sizes_final = np.bincount(final_labels) if n else np.zeros(0, dtype=np.int64)
    sizes_det = np.bincount(det_labels) if n else np.zeros(0, dtype=np.int64)
    summary = pd.DataFrame(
        [
            ("accounts", n),
            ("customers", int((sizes_final > 0).sum())),
            ("customers_after_deterministic_pass", int((sizes_det > 0).sum())),
            ("accounts_linked_by_email", int(rule_counts["email"])),
            ("accounts_linked_by_phone", int(rule_counts["phone"])),
            ("accounts_linked_probabilistically", int(rule_counts["probabilistic"])),
            ("accounts_left_single", int(rule_counts["singleton"])),
            ("accounts_without_identifier", int((~has_any).sum())),
            ("largest_customer_accounts", int(sizes_final.max()) if n else 0),
            ("identifiers_stopped_by_guards", int(len(stopped))),
            ("components_split_for_size", int(split_info.get("split_components", 0))),
        ],
        columns=["metric", "value"],
    )
    prob_tbl = pd.DataFrame([(k, v) for k, v in prob_info.items()], columns=["metric", "value"])
    return {
        "summary": summary,
        "guards": pd.DataFrame(g_rows),
        "blocked_identifiers": blocked_tbl,
        "component_sizes": pd.concat([_size_hist(det_labels, "deterministic"), _size_hist(final_labels, "final")], ignore_index=True),
        "bridges": _bridges(det_labels, cust, ids, m_acc, m_id, active),
        "no_identifier": no_id_tbl,
        "invalid_identifiers": normalization_report(accounts, norm),
        "link_rules": link_tbl,
        "probabilistic": prob_tbl,
        "blocking_rules": rules_table,
        "model_parameters": params_table,
    }


# ------------------------------------------------------------------- public
def resolve_identities(
    accounts: pd.DataFrame,
    *,
    blocklist: Blocklist | None = None,
    max_accounts_per_identifier: int = 10,
    max_component_size: int | None = 30,
    match_threshold: float = 0.9,
    probabilistic: bool = True,
    guards: Collection[str] = GUARDS,
    default_region: str = "KR",
    fold_gmail: bool = False,
    strict_phone: bool = False,
    max_candidate_pairs: int = 20_000_000,
    u_max_pairs: float = 2e6,
    seed: int = 42,
    progress: ProgressFn | None = None,
) -> IdentityResult:
    """Resolve channel accounts into pseudonymous customers.

    Parameters
    ----------
    accounts : DataFrame
        The canonical accounts table (account_id unique; channel, name, email,
        phone, postcode, created_at as the channels wrote them).
    blocklist : Blocklist, optional
        Junk identifiers; default :data:`DEFAULT_BLOCKLIST`. Add the company's
        own phone numbers with ``DEFAULT_BLOCKLIST.extend(phones=[...])``.
    max_accounts_per_identifier : int, default 10
        An e-mail or phone held by more accounts than this is treated as shared
        (guard ``shared_identifier``).
    max_component_size : int or None, default 30
        Largest customer allowed, in accounts (guard ``max_component_size``);
        None: no limit.
    match_threshold : float, default 0.9
        Smallest match probability (0-1) of a probabilistic link.
    probabilistic : bool, default True
        Run the Splink pass for accounts the deterministic pass left single.
    guards : collection of str
        Guards to apply, a subset of :data:`GUARDS` (all by default; switch one
        off to measure its effect).
    default_region : str, default "KR"
        Region of phone numbers written without a country code.
    fold_gmail : bool, default False
        Fold Gmail dots and ``+tags`` (see :func:`ecrm_lib.channels.normalize.normalize_email`).
    strict_phone : bool, default False
        Keep only phones ``phonenumbers`` calls valid (see
        :func:`ecrm_lib.channels.normalize.normalize_phone`).
    max_candidate_pairs : int, default 20,000,000
        Cap on the candidate pairs the probabilistic pass scores: blocking rules
        (strictest first) are dropped, and reported, when they would exceed it.
    u_max_pairs : float, default 2e6
        Random pairs Splink samples to estimate u probabilities.
    seed : int, default 42
        Seed of that sampling (results are reproducible).
    progress : callable, optional
        Called as ``progress(stage, None)`` when a stage starts and
        ``progress(stage, seconds)`` when it ends.

    Returns
    -------
    IdentityResult
        ``account_map`` (every input account exactly once, no personal data),
        ``golden`` (personal data), ``audit`` tables, ``params``, ``timings``.
        The audit tables (pseudonymous: identifiers appear only as a 10-hex
        SHA-256 token and a masked form such as ``***@naver.com`` or
        ``+82*******70``):

        - ``summary``: metric, value (accounts, customers, links by rule, ...);
        - ``guards``: per guard, identifiers stopped, accounts holding them;
        - ``blocked_identifiers``: kind, reason, n_accounts, token, masked;
        - ``component_sizes``: stage (deterministic, final), size, customers;
        - ``bridges``: for the largest customers, each identifier holding them
          together and whether removing it alone would split the customer;
        - ``no_identifier``: per channel, accounts without a usable e-mail or phone;
        - ``invalid_identifiers``: per field, values present, valid, rejected;
        - ``link_rules``: accounts per link rule;
        - ``probabilistic``, ``blocking_rules``, ``model_parameters``: what the
          Splink pass did (candidate pairs per rule, m, u and match weight per
          comparison level).

    Raises
    ------
    DataValidationError
        If account_id is absent, missing or not unique.
    ValueError
        If a parameter is out of range or a guard name is unknown.
    """
    guards = frozenset(guards)
    unknown = sorted(guards - set(GUARDS))
    if unknown:
        raise ValueError(f"unknown guard(s) {unknown}; choose from {list(GUARDS)}.")
    if not 0.0 < match_threshold <= 1.0:
        raise ValueError(f"match_threshold must be a probability in (0, 1]; got {match_threshold!r}.")
    if max_accounts_per_identifier < 2:
        raise ValueError(f"max_accounts_per_identifier must be at least 2; got {max_accounts_per_identifier!r}.")
    if max_component_size is not None and max_component_size < 2:
        raise ValueError(f"max_component_size must be at least 2 or None; got {max_component_size!r}.")
    _check_accounts(accounts)
    blocklist = DEFAULT_BLOCKLIST if blocklist is None else blocklist
    st = _Stages(progress)

    norm = st.run("normalize", normalize_accounts, accounts, default_region=default_region, fold_gmail=fold_gmail, strict_phone=strict_phone)
    n = len(norm)
    ids, m_acc, m_id = st.run("identifiers", _identifier_table, norm)
    ids = st.run(
        "guards",
        _apply_guards,
        norm,
        ids,
        m_acc,
        m_id,
        guards=guards,
        blocklist=blocklist,
        max_accounts_per_identifier=max_accounts_per_identifier,
        default_region=default_region,
    )
    size_limit = max_component_size if "max_component_size" in guards else None
    det_labels, ids, active, split_info = st.run("components", _det_components, n, ids, m_acc, m_id, max_component_size=size_limit)
    rule = _det_rules(n, ids, m_acc, m_id, active, det_labels)
    prob = np.where(rule != _RULE["singleton"], 1.0, np.nan)
    weight = np.full(n, np.nan)
    labels = det_labels
    prob_info: dict[str, Any] = {"ran": False}
    rules_table = pd.DataFrame(columns=["blocking_rule", "candidate_pairs_max", "used"])
    params_table = pd.DataFrame(columns=_PARAM_COLUMNS)
    single = np.bincount(det_labels)[det_labels] == 1 if n else np.zeros(0, dtype=bool)
    if probabilistic and n >= 2 and single.any():

        def _prob():
            rec = _splink_records(norm, ids, m_acc, m_id, det_labels)
            pairs, info, rt, pt = _probabilistic_pass(
                rec, match_threshold=match_threshold, max_candidate_pairs=max_candidate_pairs, u_max_pairs=u_max_pairs, seed=seed
            )
            new_labels, p, w, info2 = _attach_singletons(pairs, det_labels, single, size_limit)
            return new_labels, p, w, {"ran": True, **info, **info2}, rt, pt

        labels, p, w, prob_info, rules_table, params_table = st.run("probabilistic", _prob)
        attached = ~np.isnan(p)
        rule = rule.copy()
        rule[attached] = _RULE["probabilistic"]
        prob[attached] = p[attached]
        weight[attached] = w[attached]
    cust = st.run("customer_ids", _customer_id_array, _arrow(norm["account_id"]), labels)
    rule_codes = rule
    account_map = pd.DataFrame(
        {
            "account_id": norm["account_id"].astype("string").to_numpy(),
            "customer_id": pd.array(cust, dtype="string"),
            "link_rule": pd.array(pc.take(pa.array(list(LINK_RULES), type=pa.large_string()), pa.array(rule_codes)), dtype="string"),
            "match_probability": prob,
            "match_weight": weight,
        }
    )
    first_of_label = np.full(labels.max() + 1 if n else 0, -1, dtype=np.int64)
    first_of_label[labels[::-1]] = np.arange(n - 1, -1, -1)
    golden = st.run("golden", _golden, norm, labels, pc.take(cust, pa.array(first_of_label)))
    cust = cust.to_numpy(zero_copy_only=False)
    audit = st.run(
        "audit",
        _audit,
        accounts,
        norm,
        ids,
        m_acc,
        m_id,
        active,
        det_labels,
        labels,
        cust,
        rule,
        split_info,
        prob_info,
        rules_table,
        params_table,
        guards,
    )
    params = {
        "max_accounts_per_identifier": max_accounts_per_identifier,
        "max_component_size": max_component_size,
        "match_threshold": match_threshold,
        "probabilistic": probabilistic,
        "guards": sorted(guards),
        "default_region": default_region,
        "fold_gmail": fold_gmail,
        "strict_phone": strict_phone,
        "max_candidate_pairs": max_candidate_pairs,
        "u_max_pairs": u_max_pairs,
        "seed": seed,
    }
    return IdentityResult(account_map=account_map, golden=golden, audit=audit, params=params, timings=pd.DataFrame(st.rows))


# ----------------------------------------------------------------- metrics
def pairwise_metrics(account_map: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 of a clustering against the truth.

    A pair of accounts is predicted when both have the same customer_id and true
    when both have the same person_id. Counts come from cluster sizes and the
    customer x person contingency table (sum of n choose 2), never from listing
    pairs.

    Parameters
    ----------
    account_map : DataFrame
        account_id, customer_id.
    truth : DataFrame
        account_id, person_id.

    Returns
    -------
    dict
        precision, recall, f1 (0-1; precision is 1 when no pair is predicted,
        recall 1 when no pair is true), true_positive_pairs, predicted_pairs,
        true_pairs, n_customers, n_persons, n_accounts (accounts in both tables),
        n_accounts_without_truth.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"account_id": list("abcd"), "customer_id": ["X", "X", "X", "Y"]})
    >>> t = pd.DataFrame({"account_id": list("abcd"), "person_id": [1, 1, 2, 2]})
    >>> r = pairwise_metrics(m, t)
    >>> (r["true_positive_pairs"], r["predicted_pairs"], r["true_pairs"])
    (1, 3, 2)
    """
    for name, df, cols in (("account_map", account_map, ("account_id", "customer_id")), ("truth", truth, ("account_id", "person_id"))):
        missing = [c for c in cols if c not in df]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(cols)}.")
    if truth["account_id"].duplicated().any():
        raise ValueError("truth has duplicate account_id values; give each account one person_id.")
    a = account_map[["account_id", "customer_id"]].astype({"account_id": "string"})
    t = truth[["account_id", "person_id"]].astype({"account_id": "string"})
    j = a.merge(t, on="account_id", how="inner")

    def c2(x) -> int:
        x = np.asarray(x, dtype=np.int64)
        return int(np.sum(x * (x - 1) // 2))

    tp = c2(j.groupby(["customer_id", "person_id"], sort=False).size().to_numpy())
    pred = c2(j.groupby("customer_id", sort=False).size().to_numpy())
    true = c2(j.groupby("person_id", sort=False).size().to_numpy())
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positive_pairs": tp,
        "predicted_pairs": pred,
        "true_pairs": true,
        "n_customers": int(j["customer_id"].nunique()),
        "n_persons": int(j["person_id"].nunique()),
        "n_accounts": len(j),
        "n_accounts_without_truth": int(len(a) - len(j)),
    }

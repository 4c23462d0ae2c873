"""``resolve_identities``: the steps of an identity resolution, stage by stage, on the engine.

Stages (each timed in ``IdentityResult.timings`` and reported to ``progress``):

1. ``accounts``: the table on the engine with row numbers, account ids checked
   (:mod:`~ecrm_lib.channels.identity.workspace`);
2. ``normalize``: e-mail, phone, name, postcode
   (:func:`ecrm_lib.channels.normalize.normalize_account_table`) and the
   comparison keys of the distinct names;
3. ``identifiers``: distinct identifiers and each account's identifier ids;
4. ``guards``: the over-merge guards as engine queries;
5. ``components``: the edge list as integer codes, connected components
   (scipy) and the component-size guard;
6. ``probabilistic``: Splink on the same connection for the singletons;
7. ``customer_ids``: ids on the engine, and the account map;
8. ``golden``: golden records on the engine;
9. ``audit``: the audit tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecrm_lib.channels.identity.audit import audit_tables, contradiction_counts
from ecrm_lib.channels.identity.components import (
    LINK_RULES,
    RULE_CODE,
    Edges,
    attach_singletons,
    deterministic_components,
)
from ecrm_lib.channels.identity.golden import customer_table, golden_expr, golden_table, label_table
from ecrm_lib.channels.identity.guards import GUARDS, MAX_JAMO_EDITS, MAX_ROMANISED_EDITS, email_name_groups, guard_reasons
from ecrm_lib.channels.identity.identifiers import (
    DEFAULT_BLOCKLIST,
    Blocklist,
    identifier_tables,
)
from ecrm_lib.channels.identity.probabilistic import (
    PARAM_COLUMNS,
    probabilistic_pass,
    splink_records,
)
from ecrm_lib.channels.identity.workspace import open_accounts
from ecrm_lib.channels.normalize import normalize_account_table
from ecrm_lib.channels.normalize.names import name_key_table
from ecrm_lib.core.progress import step as progress_step

__all__ = ["IdentityResult", "ProgressFn", "resolve_identities"]

ProgressFn = Callable[[str, "float | None"], None]


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
    golden : DataFrame or None
        None when ``resolve_identities`` wrote them (``write_golden``). Else one row per customer: customer_id, email, phone, name, postcode (most
        frequent normalised value, ties broken by the most recent account),
        first_seen, last_seen (account creation, UTC), channels (sorted,
        comma-separated), n_accounts. **Personal data.**
    audit : dict of str to DataFrame
        Pseudonymous audit tables: ``summary``, ``guards``, ``blocked_identifiers``, ``stopped_by_rule``,
        ``component_sizes``, ``bridges``, ``no_identifier``,
        ``invalid_identifiers``, ``link_rules``, ``contradictions``, ``probabilistic``,
        ``blocking_rules``, ``model_parameters`` (see :func:`resolve_identities`).
    params : dict
        The parameters used.
    timings : DataFrame
        stage, seconds.
    """

    account_map: pd.DataFrame
    golden: pd.DataFrame | None
    audit: dict[str, pd.DataFrame]
    params: dict[str, Any] = field(default_factory=dict)
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_customers(self) -> int:
        return int(self.account_map["customer_id"].nunique())


#: What each stage does, in the progress lines a run prints (:func:`report_stage`).
STAGE_WORDS = {
    "accounts": "reading the accounts",
    "normalize": "normalising e-mails, phones and names",
    "identifiers": "collecting identifiers and the accounts they link",
    "guards": "over-merge guards (shared identifiers, name conflicts)",
    "components": "deterministic links and connected components",
    "probabilistic": "probabilistic matching (Splink)",
    "customer_ids": "assigning customer ids",
    "golden": "golden records",
    "audit": "audit tables",
    "contradictions": "customers whose accounts hold different e-mails or phones",
}


def report_stage(stage: str, seconds: float | None) -> None:
    """The default ``progress`` of :func:`resolve_identities`: one line per stage as it starts and ends, to the run's
    progress (:func:`ecrm_lib.core.progress.step`: printed by ``ecrm run`` while the notebook runs)."""
    what = STAGE_WORDS.get(stage, stage)
    if seconds is None:
        progress_step("identity resolution: {what} ...", what=what)
    else:
        progress_step("identity resolution: {what} done in {s:.1f} s", what=what, s=seconds)


class _Stages:
    """Runs the stages, timing each and telling ``progress`` when it starts and ends."""

    def __init__(self, progress: ProgressFn | None):
        self.progress = progress if progress is not None else report_stage
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


def _check_parameters(guards, match_threshold, max_accounts_per_identifier, max_component_size, max_jamo_edits=1, max_romanised_edits=2) -> frozenset:
    guards = frozenset(guards)
    unknown = sorted(guards - set(GUARDS))
    if unknown:
        raise ValueError(f"unknown guard(s) {unknown}; choose from {list(GUARDS)}.")
    if not 0.0 < match_threshold <= 1.0:
        raise ValueError(f"match_threshold must be a probability in (0, 1]; got {match_threshold!r}.")
    limits = max_accounts_per_identifier if isinstance(max_accounts_per_identifier, dict) else {"email": max_accounts_per_identifier, "phone": max_accounts_per_identifier}
    if set(limits) != {"email", "phone"} or any(isinstance(v, bool) or not isinstance(v, int) or v < 2 for v in limits.values()):
        raise ValueError(f"max_accounts_per_identifier must be a whole number of at least 2, or one per kind "
                         f"({{'email': n, 'phone': m}}); got {max_accounts_per_identifier!r}.")
    if max_component_size is not None and max_component_size < 2:
        raise ValueError(f"max_component_size must be at least 2 or None; got {max_component_size!r}.")
    for name, v in (("max_jamo_edits", max_jamo_edits), ("max_romanised_edits", max_romanised_edits)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a whole number of edits >= 0; got {v!r}.")
    return guards


def _normalize(ws, accounts, *, default_region: str, fold_gmail: bool, strict_phone: bool):
    """Normalised accounts and the name-key table of their distinct names (with the first row of each)."""
    staged = []

    def keep(expr):
        staged.append(ws.keep("normalize_sql", expr))
        return staged[-1]

    table = normalize_account_table(accounts, default_region=default_region, fold_gmail=fold_gmail, strict_phone=strict_phone, keep=keep)
    acc = ws.keep("normalized", table)
    for t in [accounts, *staged]:
        ws.drop(t)  # the raw accounts and the intermediate table are no longer needed: free the engine's memory
    firsts = acc.filter(acc.name.notnull()).group_by("name").aggregate(first_row=acc.row.min()).to_pyarrow()
    keys = name_key_table(firsts.column("name").combine_chunks()) if firsts.num_rows else name_key_table(pa.array([], pa.large_string()))
    keys = keys.append_column("first_row", pc.cast(firsts.column("first_row"), pa.int64()))
    return acc, ws.keep("names", keys)


def _edge_list(ids, links) -> Edges:
    """Usable identifiers (no guard reason, two accounts or more) and their accounts, as integer arrays."""
    usable = ids.filter(ids.reason.isnull() & (ids.n_accounts >= 2)).select("id", is_phone=ids.kind == "phone", n_accounts="n_accounts")
    parts = [
        links.join(usable, links[c] == usable.id).select(row=links.row, id=usable.id, is_phone=usable.is_phone, n_accounts=usable.n_accounts)
        for c in ("email_id", "phone_id")
    ]
    e = parts[0].union(parts[1], distinct=False).to_pyarrow()
    return Edges(
        row=e.column("row").to_numpy().astype(np.int64),
        id=e.column("id").to_numpy().astype(np.int64),
        is_phone=e.column("is_phone").to_numpy(zero_copy_only=False).astype(bool),
        n_accounts=e.column("n_accounts").to_numpy().astype(np.int64),
    )


def _with_name_groups(edges: Edges, groups: pd.DataFrame) -> Edges:
    """The edges plus one per account of a name group of a shared e-mail, each group under an id of its own."""
    if groups.empty:
        return edges
    _, local = np.unique(groups["group"].to_numpy(np.int64), return_inverse=True)
    start = int(max(edges.id.max(initial=-1), groups["email_id"].max())) + 1
    gid = start + local.astype(np.int64)
    n = np.bincount(local)[local].astype(np.int64)
    origin = edges.origin_ids()
    return Edges(
        row=np.concatenate([edges.row, groups["row"].to_numpy(np.int64)]),
        id=np.concatenate([edges.id, gid]),
        is_phone=np.concatenate([edges.is_phone, np.zeros(len(gid), dtype=bool)]),
        n_accounts=np.concatenate([edges.n_accounts, n]),
        origin=np.concatenate([origin, groups["email_id"].to_numpy(np.int64)]),
    )


def _mark_dropped(ws, ids, dropped_ids: np.ndarray):
    """ids with reason ``max_component_size`` for the identifiers the size guard dropped."""
    if not len(dropped_ids):
        return ids
    d = ws.upload("dropped", {"_dropped": dropped_ids.astype(np.int64)})
    t = ids.left_join(d, ids.id == d._dropped)
    reason = ibis.coalesce(t.reason, ibis.ifelse(t._dropped.notnull(), "max_component_size", ibis.null("string")))
    return ws.keep("ids_final", t.mutate(reason=reason).drop("_dropped"))


def _account_map(acc, customers, labels: np.ndarray, rule: np.ndarray, prob: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    """The account map in row order: account ids from the engine, each row's customer id by its label."""
    aid = acc.order_by("row").account_id.to_pyarrow()
    by_label = customers.order_by("label").customer_id.to_pyarrow().combine_chunks()
    cid = pc.take(by_label, pa.array(labels))
    return pd.DataFrame(
        {
            "account_id": pd.array(aid, dtype="str"),  # pandas' default text dtype, as before
            "customer_id": pd.array(cid, dtype="string"),
            "link_rule": pd.array(pc.take(pa.array(list(LINK_RULES), type=pa.large_string()), pa.array(rule)), dtype="string"),
            "match_probability": prob,
            "match_weight": weight,
        }
    )


def resolve_identities(
    accounts,
    *,
    blocklist: Blocklist | None = None,
    max_accounts_per_identifier: int | dict[str, int] = 10,
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
    max_jamo_edits: int = MAX_JAMO_EDITS,
    max_romanised_edits: int = MAX_ROMANISED_EDITS,
    progress: ProgressFn | None = None,
    write_golden: Callable[[Any], Any] | None = None,
) -> IdentityResult:
    """Resolve channel accounts into pseudonymous customers.

    Parameters
    ----------
    accounts : ibis.Table or DataFrame
        The canonical accounts table (account_id unique; channel, name, email,
        phone, postcode, created_at as the channels wrote them): an Ibis table
        on the run's engine (``RunContext.table("accounts")``; every step runs
        there, Splink included) or a pandas DataFrame (run on an in-memory
        DuckDB).
    blocklist : Blocklist, optional
        Junk identifiers; default :data:`DEFAULT_BLOCKLIST`. Add the company's
        own phone numbers with ``DEFAULT_BLOCKLIST.extend(phones=[...])``.
    max_accounts_per_identifier : int or dict, default 10
        An e-mail or phone held by more accounts than this is treated as shared
        (guard ``shared_identifier``); ``{"email": n, "phone": m}`` sets one limit per kind.
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
    max_jamo_edits : int, default 1
        Two Hangul names within this many edits of their jamo can be one
        person's (guards ``email_name_conflict`` and ``name_conflict``).
    max_romanised_edits : int, default 2
        Other names within this many edits of their romanised keys (either
        order) can be one person's.
    progress : callable, optional
        Called as ``progress(stage, None)`` when a stage starts and
        ``progress(stage, seconds)`` when it ends; by default :func:`report_stage` (the run's progress lines).
    write_golden : callable, optional
        Called with the golden records as a table in the engine
        (:func:`~ecrm_lib.channels.identity.golden.golden_expr`), while the
        resolution's tables exist, to write them there (e.g.
        ``lambda t: ctx.write_private("golden_records", t)``); they then never
        come into pandas (ten million customers' records take about 1.3 GB
        there) and ``IdentityResult.golden`` is None.

    Returns
    -------
    IdentityResult
        ``account_map`` (every input account exactly once, in input order, no
        personal data), ``golden`` (personal data; None with ``write_golden``), ``audit`` tables,
        ``params``, ``timings``. The audit tables (pseudonymous: identifiers
        appear only as a 10-hex SHA-256 token and a masked form such as
        ``***@naver.com`` or ``+82*******70``):

        - ``summary``: metric, value (accounts, customers, links by rule, ...);
        - ``guards``: per guard, identifiers stopped, accounts holding them;
        - ``blocked_identifiers``: kind, reason, n_accounts, token, masked;
        - ``stopped_by_rule``: rule (a guard, or ``blocklist: <list>`` for the
          blocklist list that matched), kind, domain_or_pattern (``***@domain``,
          ``local@*``, ``*@domain``, a masked number or prefix such as ``+8210*``,
          or the phone pattern), identifiers, accounts_holding;
        - ``component_sizes``: stage (deterministic, final), size, customers;
        - ``bridges``: for the largest customers, each identifier holding them
          together and whether removing it alone would split the customer;
        - ``no_identifier``: per channel, accounts without a usable e-mail or phone;
        - ``invalid_identifiers``: per field, values present, valid, rejected;
        - ``link_rules``: accounts per link rule;
        - ``contradictions``: customers with 2+ accounts, and those among them whose accounts hold 2+ different
          e-mails, 2+ different phones, or either (blocklisted e-mails left out; counts and shares only;
          :func:`ecrm_lib.channels.identity.audit.contradiction_counts`);
        - ``probabilistic``, ``blocking_rules``, ``model_parameters``: what the
          Splink pass did (candidate pairs per rule, m, u and match weight per
          comparison level).

    Raises
    ------
    DataValidationError
        If account_id is absent, missing or not unique.
    ValueError
        If a parameter is out of range or a guard name is unknown.
    TypeError
        If ``accounts`` is neither an Ibis table nor a DataFrame.
    """
    guards = _check_parameters(guards, match_threshold, max_accounts_per_identifier, max_component_size, max_jamo_edits, max_romanised_edits)
    blocklist = DEFAULT_BLOCKLIST if blocklist is None else blocklist
    size_limit = max_component_size if "max_component_size" in guards else None
    st = _Stages(progress)
    ws, raw, n = st.run("accounts", open_accounts, accounts)
    if progress is None:
        progress_step("identity resolution of {n:,} accounts", n=n)
    try:
        acc, names = st.run("normalize", _normalize, ws, raw, default_region=default_region, fold_gmail=fold_gmail, strict_phone=strict_phone)
        ids, links = st.run("identifiers", identifier_tables, ws, acc)
        ids = st.run(
            "guards",
            guard_reasons,
            ws,
            acc,
            names,
            ids,
            links,
            guards=guards,
            blocklist=blocklist,
            max_accounts_per_identifier=max_accounts_per_identifier,
            default_region=default_region,
            max_jamo_edits=max_jamo_edits,
            max_romanised_edits=max_romanised_edits,
        )

        def _components():
            edges = _edge_list(ids, links)
            if "email_name_conflict" in guards:
                edges = _with_name_groups(edges, email_name_groups(ids, acc, names, links, max_jamo_edits=max_jamo_edits,
                                                                   max_romanised_edits=max_romanised_edits))
            graph = deterministic_components(n, edges, max_component_size=size_limit)
            return edges, graph, _mark_dropped(ws, ids, graph.dropped_ids)

        edges, graph, ids = st.run("components", _components)
        det_labels, rule = graph.labels, graph.rule.copy()
        prob = np.where(rule != RULE_CODE["singleton"], 1.0, np.nan)
        weight = np.full(n, np.nan)
        labels = det_labels
        prob_info: dict[str, Any] = {"ran": False}
        rules_table = pd.DataFrame(columns=["blocking_rule", "candidate_pairs_max", "used"])
        params_table = pd.DataFrame(columns=PARAM_COLUMNS)
        single = np.bincount(det_labels)[det_labels] == 1 if n else np.zeros(0, dtype=bool)
        if probabilistic and n >= 2 and single.any():

            def _prob():
                rec = splink_records(ws, acc, names, ids, links, det_labels)
                pairs, info, rt, pt = probabilistic_pass(
                    ws, rec, det_labels, match_threshold=match_threshold, max_candidate_pairs=max_candidate_pairs, u_max_pairs=u_max_pairs, seed=seed
                )
                new_labels, p, w, info2 = attach_singletons(pairs, det_labels, single, size_limit)
                return new_labels, p, w, {"ran": True, **info, **info2}, rt, pt

            labels, p, w, prob_info, rules_table, params_table = st.run("probabilistic", _prob)
            attached = ~np.isnan(p)
            rule[attached] = RULE_CODE["probabilistic"]
            prob[attached] = p[attached]
            weight[attached] = w[attached]

        def _ids():
            lab = label_table(ws, labels)
            customers = customer_table(ws, acc, lab)
            return lab, customers, _account_map(acc, customers, labels, rule, prob, weight)

        lab, customers, account_map = st.run("customer_ids", _ids)
        firsts = {k: ids.filter(ids.kind == k).select(**{k: ids.value, "_first": ids.first_row}) for k in ("email", "phone")}
        firsts["name"] = names.select("name", _first=names.first_row)
        if write_golden is None:
            golden = st.run("golden", golden_table, acc, lab, customers, firsts)
        else:
            st.run("golden", write_golden, golden_expr(acc, lab, customers, firsts))
            golden = None
        audit = st.run(
            "audit",
            audit_tables,
            acc=acc,
            ids=ids,
            links=links,
            edges=edges,
            graph=graph,
            final_labels=labels,
            customer_id=account_map["customer_id"],  # read by position for the largest customers only
            rule=rule,
            prob_info=prob_info,
            rules_table=rules_table,
            params_table=params_table,
            guards=guards,
            blocklist=blocklist,
            default_region=default_region,
        )
        # on the accounts normalised above: the channel page's count of contradictory identifiers needs no second pass
        audit["contradictions"] = st.run("contradictions", contradiction_counts, acc.join(lab.select("row", "label"), "row"),
                                         "label", blocklist)
    finally:
        ws.close()
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
        "max_jamo_edits": max_jamo_edits,
        "max_romanised_edits": max_romanised_edits,
    }
    return IdentityResult(account_map=account_map, golden=golden, audit=audit, params=params, timings=pd.DataFrame(st.rows))

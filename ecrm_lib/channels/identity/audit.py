"""Audit tables of an identity resolution (pseudonymous) and its pairwise accuracy against a truth.

Identifiers appear in the audit only as a 10-hex SHA-256 token and a masked
form (``***@naver.com``, ``+82*******70``); the counts come from engine queries
or from the edge list, never from personal data in pandas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.identity.components import (
    LINK_RULES,
    DeterministicGraph,
    Edges,
    component_labels,
)
from ecrm_lib.channels.identity.guards import GUARD_TEXT, GUARDS
from ecrm_lib.channels.identity.identifiers import blocklist_rules
from ecrm_lib.channels.normalize import normalization_counts
from ecrm_lib.core import i18n
from ecrm_lib.data.tables import as_table

__all__ = ["CONTRADICTION_MEASURES", "STOPPED_BY_RULE_COLUMNS", "audit_tables", "contradiction_counts", "stopped_by_rule_display", "audit_words", "identifier_token", "masked_identifier", "pairwise_metrics"]


def identifier_token(values: Iterable[str]) -> list[str]:
    """Pseudonymous token of each identifier: 10 hex digits of its SHA-256."""
    return [hashlib.sha256(v.encode("utf-8")).hexdigest()[:10] for v in values]


def masked_identifier(kind: str, value: str) -> str:
    """``***@domain`` for an e-mail; the first 3 and last 2 characters of a phone."""
    if kind == "email":
        return "***@" + value.rsplit("@", 1)[-1]
    return value[:3] + "*" * max(len(value) - 5, 0) + value[-2:]


#: The measures of :func:`contradiction_counts`, in order (the keys of the channel page's words for them).
CONTRADICTION_MEASURES = ("customers with 2+ accounts", "with 2+ different e-mails", "with 2+ different phones",
                          "with different e-mails or phones")


def contradiction_counts(rows, by: str = "customer_id", blocklist=None) -> pd.DataFrame:
    """Customers whose accounts carry different e-mails or phones, counted in the engine (counts only, never values).

    Parameters
    ----------
    rows : ibis.Table
        One row per account: ``by`` (its customer), ``email`` and ``phone``, already normalised
        (:func:`ecrm_lib.channels.normalize.normalize_account_table`), so ``Kim@Naver.com`` and
        ``kim@naver.com`` agree.
    by : str
        The column naming the customer.
    blocklist : Blocklist, optional
        Its e-mails, local parts and domains (``noemail@none.com``) are placeholders, not contact data: left
        out. None: every e-mail counts.

    Returns
    -------
    DataFrame
        measure (:data:`CONTRADICTION_MEASURES`), customers, share (of customers with 2+ accounts, 0-1).

    Examples
    --------
    >>> t = ibis.memtable({"customer_id": ["a", "a", "b", "b", "c"], "email": ["x@m.kr", "y@m.kr", "z@m.kr", None, "w@m.kr"],
    ...                    "phone": ["+821011", "+821011", "+821022", "+821033", None]})
    >>> contradiction_counts(t)["customers"].tolist()
    [2, 1, 1, 2]
    """
    sizes = rows.group_by(by).agg(_n=rows.count())
    multi = sizes.filter(sizes._n >= 2)
    picked = rows.semi_join(multi, rows[by] == multi[by])
    email = picked.email
    if blocklist is not None:
        local = email.re_replace("@.*$", "")
        domain = email.re_replace("^.*@", "")
        junk = (email.isin(list(blocklist.emails) or [""]) | local.isin(list(blocklist.email_local_parts) or [""])
                | domain.isin(list(blocklist.email_domains) or [""]))
        email = ibis.ifelse(junk.fill_null(False), ibis.null("string"), email)
    per = picked.mutate(_email=email).group_by(by).agg(e=ibis._["_email"].nunique(), p=ibis._["phone"].nunique())
    r = per.aggregate(k=per.count(), e2=(per.e >= 2).cast("int64").sum(), p2=(per.p >= 2).cast("int64").sum(),
                      either=((per.e >= 2) | (per.p >= 2)).cast("int64").sum()).execute().iloc[0]
    k = int(r["k"])
    counts = [k, int(r["e2"] or 0), int(r["p2"] or 0), int(r["either"] or 0)]
    return pd.DataFrame({"measure": list(CONTRADICTION_MEASURES), "customers": counts,
                         "share": [c / k if k else float("nan") for c in counts]})


def _size_hist(labels: np.ndarray, stage: str) -> pd.DataFrame:
    sizes = np.bincount(labels)
    sizes = sizes[sizes > 0]
    v, c = np.unique(sizes, return_counts=True)
    return pd.DataFrame({"stage": stage, "size": v.astype(np.int64), "n_customers": c.astype(np.int64), "n_accounts": (v * c).astype(np.int64)})


def _bridges(ids, graph: DeterministicGraph, edges: Edges, customer_id, top: int = 10) -> pd.DataFrame:
    """For the largest deterministic components: the identifiers that hold each together.

    ``customer_id`` is each account row's customer id (a Series or an array, read by position for ``top`` rows
    only). ``splits_component`` is True when removing the identifier alone cuts the component in two or more
    parts; ``largest_part_without`` is the size of the largest part left without it.
    """
    cols = ["customer_id", "component_size", "kind", "token", "masked", "n_accounts_in_component", "splits_component", "largest_part_without"]
    labels = graph.labels
    if not len(labels):
        return pd.DataFrame(columns=cols)
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")[:top]
    order = order[sizes[order] >= 3]
    # only the edges of the largest components: no structure over all edges (tens of millions at 10M accounts)
    active = np.flatnonzero(graph.active)
    active = active[np.isin(labels[edges.row[active]], order)]
    acc_m, id_m, origin_m = edges.row[active], edges.id[active], edges.origin_ids()[active]
    lab_m = labels[acc_m]
    wanted = np.unique(origin_m)
    info = {}
    if len(wanted):
        sel = ids.filter(ids.id.isin([int(x) for x in wanted])).select("id", "kind", "value").to_pyarrow().to_pylist()
        info = {r["id"]: (r["kind"], r["value"]) for r in sel}
    ids_of_row = customer_id.iloc if isinstance(customer_id, pd.Series) else customer_id
    rows = []
    for comp in order:
        sel = lab_m == comp
        a, i, o = acc_m[sel], id_m[sel], origin_m[sel]
        an, al = np.unique(a, return_inverse=True)
        inn, first, il = np.unique(i, return_index=True, return_inverse=True)
        for k in range(len(inn)):
            keep = il != k
            lab = component_labels(len(an) + len(inn), al[keep], len(an) + il[keep])[: len(an)]
            part = np.bincount(lab)
            kind, value = info[int(o[first[k]])]  # an edge id stands for one identifier (its origin)
            rows.append(
                {
                    "customer_id": ids_of_row[int(an[0])],
                    "component_size": int(sizes[comp]),
                    "kind": kind,
                    "token": identifier_token([value])[0],
                    "masked": masked_identifier(kind, value),
                    "n_accounts_in_component": int((il == k).sum()),
                    "splits_component": bool((part > 0).sum() > 1),
                    "largest_part_without": int(part.max()),
                }
            )
    return pd.DataFrame(rows, columns=cols)


STOPPED_BY_RULE_COLUMNS = ["rule", "kind", "domain_or_pattern", "identifiers", "accounts_holding"]


def _shown_prefix(kind: str, value: str) -> str:
    """What the by-rule table shows of a stopped identifier that is not on the blocklist: ``***@domain``, ``+8210*``."""
    return "***@" + value.rsplit("@", 1)[-1] if kind == "email" else value[:5] + "*"


def _stopped_by_rule(kinds, values, reasons, n_accounts, blocklist, default_region: str) -> pd.DataFrame:
    """Identifiers stopped per rule (a blocklist hit per list) and per domain or pattern, masked."""
    if not len(kinds):
        return pd.DataFrame(columns=STOPPED_BY_RULE_COLUMNS)
    rule = np.asarray(reasons, dtype=object).copy()
    shown = np.asarray([_shown_prefix(k, v) for k, v in zip(kinds, values, strict=True)], dtype=object)
    on_list = np.flatnonzero(rule == "blocklist")
    if len(on_list) and blocklist is not None:
        hits = blocklist_rules([kinds[i] for i in on_list], [values[i] for i in on_list], blocklist, default_region)
        rule[on_list] = [h[0] for h in hits]
        shown[on_list] = [h[1] or shown[i] for h, i in zip(hits, on_list, strict=True)]
    t = pd.DataFrame({"rule": rule, "kind": np.asarray(kinds, dtype=object), "domain_or_pattern": shown, "n": n_accounts})
    g = t.groupby(["rule", "kind", "domain_or_pattern"], sort=False).agg(identifiers=("n", "size"), accounts_holding=("n", "sum")).reset_index()
    order = {r: i for i, r in enumerate(GUARDS)}
    g["_o"] = g["rule"].map(lambda r: order.get(str(r).split(":")[0], len(order)))
    g = g.sort_values(["_o", "rule", "identifiers", "domain_or_pattern"], ascending=[True, True, False, True], kind="stable")
    return g[STOPPED_BY_RULE_COLUMNS].reset_index(drop=True).astype({"identifiers": "int64", "accounts_holding": "int64"})


def stopped_by_rule_display(table: pd.DataFrame, min_cell: int = 5) -> pd.DataFrame:
    """The ``stopped_by_rule`` audit table for a shareable page: rows of fewer than ``min_cell`` accounts merged.

    Within each rule and kind, domains or patterns whose identifiers are held by fewer
    than ``min_cell`` accounts (a few people) are summed into one row ``(others)``; a rule
    whose total is still small keeps its row, for ``show_table(count_columns="accounts_holding")``
    to suppress.
    """
    if table.empty:
        return table.copy()
    small = table["accounts_holding"] < min_cell
    big = table[~small]
    rest = table[small].groupby(["rule", "kind"], sort=False)[["identifiers", "accounts_holding"]].sum().reset_index()
    rest.insert(2, "domain_or_pattern", "(others)")
    out = pd.concat([big, rest], ignore_index=True)
    order = {r: i for i, r in enumerate(dict.fromkeys(table["rule"]))}
    out["_o"] = out["rule"].map(order)
    out["_other"] = out["domain_or_pattern"] == "(others)"
    return out.sort_values(["_o", "kind", "_other", "identifiers"], ascending=[True, True, True, False], kind="stable")[STOPPED_BY_RULE_COLUMNS].reset_index(drop=True)


def _rule_words(rule: object) -> str:
    """Why an identifier was stopped, in the report language (a guard, or ``blocklist: <list>``)."""
    text = str(rule)
    if text.startswith("blocklist:"):
        which = text.split(":", 1)[1].strip()
        return i18n.t("channel_integration.lib.stop_rule.blocklist_list",
                      list=i18n.t_or(f"channel_integration.lib.blocklist.{which}", which))
    return i18n.t_or(f"channel_integration.lib.stop_rule.{text}", text)


def audit_words(table: pd.DataFrame) -> pd.DataFrame:
    """An audit table (link rules, stopped identifiers, bridges) with the suite's own words in the report language.

    ``link_rule`` values (email, phone, probabilistic, singleton), identifier ``kind`` (email, phone), the
    stopping ``rule`` (a guard of :data:`GUARDS`, or ``blocklist: <list>`` of
    :func:`~ecrm_lib.channels.identity.identifiers.blocklist_rules`) and the ``(others)`` row of
    :func:`stopped_by_rule_display` become ``channel_integration.lib.*`` messages; masked identifiers
    stay as they are, and so does a code the catalogue does not know. Call it once per language.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> tab = pd.DataFrame({"rule": ["shared_identifier", "blocklist: emails"], "kind": ["email", "email"],
    ...                     "domain_or_pattern": ["(others)", "***@test.com"]})
    >>> with using("ko"):
    ...     audit_words(tab).values.tolist()
    [['여러 계정이 함께 쓰는 식별자', '이메일', '(기타)'], ['차단 목록: 이메일 주소', '이메일', '***@test.com']]
    >>> audit_words(pd.DataFrame({"link_rule": ["singleton", "email"]}))["link_rule"].tolist()
    ['not joined', 'same e-mail']
    >>> audit_words(tab)["rule"].tolist()
    ['shared by many accounts', 'on the blocklist: e-mail addresses']
    """
    out = table.copy()
    if "rule" in out:
        out["rule"] = [_rule_words(v) for v in out["rule"]]
    if "link_rule" in out:
        out["link_rule"] = [i18n.t_or(f"channel_integration.lib.rule.{v}", str(v)) for v in out["link_rule"]]
    if "kind" in out:
        out["kind"] = [i18n.t_or(f"channel_integration.lib.kind.{v}", str(v)) for v in out["kind"]]
    if "domain_or_pattern" in out:
        out["domain_or_pattern"] = [i18n.t("channel_integration.lib.others") if v == "(others)" else v for v in out["domain_or_pattern"]]
    return out


def _stopped_identifiers(ids, blocklist=None, default_region: str = "KR") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every identifier a guard stopped, most shared first: (internal: kind, reason, n_accounts; the audit table; by rule)."""
    stopped = ids.filter(ids.reason.notnull())
    b = stopped.order_by([stopped.n_accounts.desc(), stopped.kind, stopped.id]).select("kind", "reason", "n_accounts", "value").to_pyarrow()
    kinds, values = b.column("kind").to_pylist(), b.column("value").to_pylist()
    table = pd.DataFrame(
        {
            "kind": np.asarray(kinds, dtype=object),
            "reason": np.asarray(b.column("reason").to_pylist(), dtype=object),
            "n_accounts": b.column("n_accounts").to_numpy().astype(np.int64),
            "token": identifier_token(values),
            "masked": [masked_identifier(k, v) for k, v in zip(kinds, values, strict=True)],
        }
    )
    by_rule = _stopped_by_rule(kinds, values, table["reason"].tolist(), table["n_accounts"].to_numpy(), blocklist, default_region)
    return table[["kind", "reason", "n_accounts"]], table, by_rule


def _guard_table(ids, links, stopped: pd.DataFrame, guards: frozenset, split_info: dict) -> pd.DataFrame:
    held = [links.filter(links[c].notnull()).select("row", id=links[c]) for c in ("email_id", "phone_id")]
    mem = held[0].union(held[1], distinct=False)
    s = ids.filter(ids.reason.notnull()).select("id", "reason")
    hold = mem.join(s, "id")
    hold = hold.group_by("reason").aggregate(holding=hold.row.nunique()).to_pyarrow().to_pylist()
    hold = {r["reason"]: int(r["holding"]) for r in hold}
    rows = []
    for g in GUARDS:
        mine = stopped[stopped["reason"] == g]
        rows.append(
            {
                "guard": g,
                "enabled": g in guards,
                "identifiers_stopped": len(mine),
                "identifiers_stopped_shared": int((mine["n_accounts"] >= 2).sum()),
                "accounts_holding": hold.get(g, 0),
                "what_it_does": GUARD_TEXT[g],
            }
        )
    if split_info.get("unmerged_components"):
        rows.append(
            {
                "guard": "max_component_size (left unmerged)",
                "enabled": True,
                "identifiers_stopped": 0,
                "identifiers_stopped_shared": 0,
                "accounts_holding": split_info["unmerged_accounts"],
                "what_it_does": "component still too large after splitting: its accounts left as separate customers",
            }
        )
    return pd.DataFrame(rows)


def _no_identifier_table(acc, n: int) -> tuple[pd.DataFrame, int]:
    ch = acc.channel.fill_null("(missing)")
    none = (acc.email.isnull() & acc.phone.isnull()).cast("int64")
    t = acc.mutate(_ch=ch, _none=none)
    g = t.group_by("_ch").aggregate(n_accounts=t.count(), n_without_identifier=t._none.sum()).order_by("_ch").to_pyarrow()
    tbl = pd.DataFrame(
        {
            "channel": pd.array(g.column("_ch"), dtype="string"),
            "n_accounts": g.column("n_accounts").to_numpy().astype(np.int64),
            "n_without_identifier": g.column("n_without_identifier").to_numpy().astype(np.int64),
        }
    )
    tbl["share_without_identifier"] = tbl["n_without_identifier"] / tbl["n_accounts"]
    without = int(tbl["n_without_identifier"].sum())
    total = pd.DataFrame(
        {
            "channel": ["(all)"],
            "n_accounts": [n],
            "n_without_identifier": [without],
            "share_without_identifier": [without / n if n else 0.0],
        }
    )
    return pd.concat([tbl, total], ignore_index=True), without


def audit_tables(
    *,
    acc,
    ids,
    links,
    edges: Edges,
    graph: DeterministicGraph,
    final_labels: np.ndarray,
    customer_id,
    rule: np.ndarray,
    prob_info: dict,
    rules_table: pd.DataFrame,
    params_table: pd.DataFrame,
    guards: frozenset,
    blocklist=None,
    default_region: str = "KR",
) -> dict[str, pd.DataFrame]:
    """The audit tables of :class:`~ecrm_lib.channels.identity.resolve.IdentityResult` (see there)."""
    n = len(final_labels)
    det_labels = graph.labels
    no_id_tbl, n_without = _no_identifier_table(acc, n)
    rule_counts = pd.Series(np.bincount(rule, minlength=len(LINK_RULES)), index=list(LINK_RULES))
    link_tbl = pd.DataFrame({"link_rule": rule_counts.index, "n_accounts": rule_counts.to_numpy(dtype=np.int64)})
    sizes_final = np.bincount(final_labels) if n else np.zeros(0, dtype=np.int64)
    sizes_det = np.bincount(det_labels) if n else np.zeros(0, dtype=np.int64)
    stopped, blocked, by_rule = _stopped_identifiers(ids, blocklist, default_region)
    summary = pd.DataFrame(
        [
            ("accounts", n),
            ("customers", int((sizes_final > 0).sum())),
            ("customers_after_deterministic_pass", int((sizes_det > 0).sum())),
            ("accounts_linked_by_email", int(rule_counts["email"])),
            ("accounts_linked_by_phone", int(rule_counts["phone"])),
            ("accounts_linked_probabilistically", int(rule_counts["probabilistic"])),
            ("accounts_left_single", int(rule_counts["singleton"])),
            ("accounts_without_identifier", n_without),
            ("largest_customer_accounts", int(sizes_final.max()) if n else 0),
            ("identifiers_stopped_by_guards", len(stopped)),
            ("components_split_for_size", int(graph.info.get("split_components", 0))),
        ],
        columns=["metric", "value"],
    )
    prob_tbl = pd.DataFrame([(k, v) for k, v in prob_info.items()], columns=["metric", "value"])
    return {
        "summary": summary,
        "guards": _guard_table(ids, links, stopped, guards, graph.info),
        "blocked_identifiers": blocked,
        "stopped_by_rule": by_rule,
        "component_sizes": pd.concat([_size_hist(det_labels, "deterministic"), _size_hist(final_labels, "final")], ignore_index=True),
        "bridges": _bridges(ids, graph, edges, customer_id),
        "no_identifier": no_id_tbl,
        "invalid_identifiers": normalization_counts(acc),
        "link_rules": link_tbl,
        "probabilistic": prob_tbl,
        "blocking_rules": rules_table,
        "model_parameters": params_table,
    }


def pairwise_metrics(account_map, truth) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 of a clustering against the truth.

    A pair of accounts is predicted when both have the same customer_id and true
    when both have the same person_id. Counts come from cluster sizes and the
    customer x person contingency table (sum of n choose 2), never from listing
    pairs, and are counted in the engine: ten million accounts on each side
    never come into pandas.

    Parameters
    ----------
    account_map : ibis.Table or DataFrame
        account_id, customer_id (a DataFrame runs on an in-memory DuckDB).
    truth : ibis.Table or DataFrame
        account_id, person_id (on the same engine as an Ibis ``account_map``;
        ``RunContext.truth_table``). Ids are compared as text.

    Returns
    -------
    dict
        precision, recall, f1 (0-1; precision is 1 when no pair is predicted,
        recall 1 when no pair is true), true_positive_pairs, predicted_pairs,
        true_pairs, n_customers, n_persons, n_accounts (accounts in both tables),
        n_accounts_without_truth, n_true_persons (persons in the truth, with or without an account in the map).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"account_id": list("abcd"), "customer_id": ["X", "X", "X", "Y"]})
    >>> t = pd.DataFrame({"account_id": list("abcd"), "person_id": [1, 1, 2, 2]})
    >>> r = pairwise_metrics(m, t)
    >>> (r["true_positive_pairs"], r["predicted_pairs"], r["true_pairs"])
    (1, 3, 2)
    """
    a, t = as_table(account_map, "account_map"), as_table(truth, "truth")
    for name, tbl, cols in (("account_map", a, ("account_id", "customer_id")), ("truth", t, ("account_id", "person_id"))):
        missing = [c for c in cols if c not in tbl.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(cols)}.")
    a = a.select(account_id=a.account_id.cast("string"), customer_id=a.customer_id.cast("string"))
    t = t.select(account_id=t.account_id.cast("string"), person_id=t.person_id.cast("string"))
    dup = t.aggregate(n=t.count(), ids=t.account_id.nunique(), persons=t.person_id.nunique()).to_pyarrow().to_pylist()[0]
    if int(dup["ids"]) < int(dup["n"]):
        raise ValueError("truth has duplicate account_id values; give each account one person_id.")
    j = a.join(t, "account_id")

    def c2(groups):  # sum over groups of n choose 2: a one-row table in the engine
        g = j.group_by(groups).aggregate(_n=j.count())
        return g.aggregate(p=(g._n * (g._n - 1) / 2).cast("int64").sum())

    r = j.aggregate(n_accounts=j.count(), n_customers=j.customer_id.nunique(), n_persons=j.person_id.nunique()).cross_join(
        c2(["customer_id", "person_id"]).rename(tp="p")).cross_join(c2(["customer_id"]).rename(pred="p")).cross_join(
        c2(["person_id"]).rename(true="p")).cross_join(a.aggregate(n_map=a.count())).to_pyarrow().to_pylist()[0]
    tp, pred, true = (int(r[k] or 0) for k in ("tp", "pred", "true"))
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
        "n_customers": int(r["n_customers"]),
        "n_persons": int(r["n_persons"]),
        "n_accounts": int(r["n_accounts"]),
        "n_accounts_without_truth": int(r["n_map"]) - int(r["n_accounts"]),
        "n_true_persons": int(dup["persons"] or 0),
    }

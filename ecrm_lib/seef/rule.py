"""The selection rule: which customers a rule selects, and why, in plain words.

:func:`select_targets` applies a small rule dict (the keys of :data:`RULE_KEYS`);
each target carries the reasons it was chosen, worded in the report language.
:func:`describe_rule` shows the rule as a table, :func:`feedback_changes`
compares the targets with and without the previous run's feedback weights
(:mod:`ecrm_lib.seef.weights`), and :func:`reason_counts` counts the targets
per kind of reason. The Selection notebook's steps, which prepare the
per-customer table these functions read, are in :mod:`ecrm_lib.seef.selection`.

A value bar (:func:`ecrm_lib.seef.contact.value_bar`, on by default) keeps out
customers whose CLV is below the cost of one contact through the cheapest
channel that reaches them; a rule that sets ``min_value_over_contact_cost`` to
null or 0 lets them in explicitly.

Examples
--------
>>> customers = pd.DataFrame({
...     "customer_id": ["a", "b", "c", "d", "e"],
...     "clv": [500.0, 300.0, 100.0, 50.0, 10.0],
...     "churn_probability": [0.8, 0.2, 0.9, 0.6, 0.1],
... })
>>> t = select_targets(customers, {"clv_tier_min": "top40", "churn_probability_min": 0.5})
>>> t.loc[t["selected"], ["customer_id", "reasons"]].to_numpy().tolist()
[['a', 'CLV in the top 40% (at least 300); churn probability 0.80 (at least 0.50)']]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ecrm_lib.core import i18n
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.seef.contact import VALUE_BAR_KEY, below_contact_cost, value_bar, value_bar_text
from ecrm_lib.seef.customers import check_pseudonymous
from ecrm_lib.seef.rfm import segment_label
from ecrm_lib.seef.weights import apply_feedback

__all__ = ["RULE_KEYS", "check_rule", "describe_rule", "feedback_changes", "reason_counts", "select_targets"]

RULE_KEYS: dict[str, str] = {
    "clv_tier_min": 'CLV tier: "topNN" (e.g. "top20": the 20% of customers with the highest CLV) or a share 0-1',
    "clv_min": "CLV at least this amount (currency)",
    "churn_probability_min": "churn probability at least this value (0-1)",
    "churn_decile_max": "churn risk decile at most this (1 = the riskiest tenth)",
    "segments": "named RFM segments to include (list)",
    "clusters": "clusters to include (list of numbers or names)",
    "combine": '"all" (default: every criterion given must hold) or "any" (at least one)',
    "max_targets": "keep at most this many targets, highest CLV x segment weight first",
    "segment_weights": "segment -> weight from the Feedback step; weight 0 excludes the segment",
    "min_value_over_contact_cost": "keep only customers whose CLV is at least this many times the cost of one contact through "
                                   "the cheapest channel that reaches them (default 1; null or 0: customers worth less than "
                                   "one contact may be selected)",
}


def _tier_share(value) -> float:
    if isinstance(value, str):
        m = re.fullmatch(r"\s*top\s*(\d+(?:\.\d+)?)\s*%?\s*", value.lower())
        if not m:
            raise ConfigError(f'rule clv_tier_min={value!r} is not understood; write "top20" (the 20% highest CLV) or 0.2.')
        share = float(m.group(1)) / 100
    else:
        share = float(value)
    if not 0 < share <= 1:
        raise ConfigError(f"rule clv_tier_min={value!r} gives a share of {share:g}; it must be in (0, 1] (e.g. \"top20\").")
    return share


def _fmt_money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")


def check_rule(rule: Mapping) -> None:
    """Raise :class:`~ecrm_lib.core.errors.ConfigError` for an unknown key or a bad value of a selection rule."""
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise ConfigError(f"unknown rule key(s) {unknown}; allowed keys: " +
                          "; ".join(f"{k}: {v}" for k, v in RULE_KEYS.items()))
    if rule.get("combine", "all") not in ("all", "any"):
        raise ConfigError(f"rule combine={rule['combine']!r}; use \"all\" or \"any\".")
    mt = rule.get("max_targets")
    if mt is not None and (not float(mt).is_integer() or mt < 0):
        raise ConfigError(f"rule max_targets={mt!r}; it must be a whole number >= 0.")
    value_bar(rule)  # checks the value bar


def _need(customers: pd.DataFrame, col: str, key: str) -> pd.Series:
    if col not in customers:
        raise ConfigError(f"rule key {key!r} needs column {col!r}, which the customer table lacks "
                          f"(it has {list(customers.columns)}); join the product that holds it or drop the key.")
    return customers[col]


def select_targets(
    customers: pd.DataFrame,
    rule: Mapping,
    *,
    id_col: str = "customer_id",
    clv_col: str = "clv",
    churn_col: str = "churn_probability",
    decile_col: str = "risk_decile",
    segment_col: str = "segment",
    cluster_col: str = "cluster",
    cluster_name_col: str = "cluster_name",
    contact_cost_col: str = "contact_cost",
    contact_channel_col: str = "contact_channel",
) -> pd.DataFrame:
    """Apply a selection rule; each target carries its reasons in plain words.

    The rule is a dict with the keys of :data:`RULE_KEYS`, for example
    ``{"clv_tier_min": "top20", "churn_probability_min": 0.5,
    "segments": ["At Risk", "Can't Lose Them"], "max_targets": 500}``.
    Criteria given are combined with AND (``combine="all"``, default) or OR
    (``"any"``). The CLV tier ``topS`` holds the ``ceil(S * n)`` customers with
    the highest CLV (ties at the cut-off all included: the threshold is the
    CLV of the last customer in the tier). Customers in a segment of weight 0
    in ``segment_weights`` are never selected. With ``max_targets`` the
    matching customers are ranked by CLV times their segment weight (1 when
    absent; ties by ``customer_id``) and the first ``max_targets`` kept.
    Missing values never match a criterion.

    The value bar (``min_value_over_contact_cost``, :func:`ecrm_lib.seef.contact.value_bar`; 1 when
    absent) is applied before ranking and the cap: a customer who meets the
    criteria but whose CLV is below the bar times ``contact_cost_col`` (the
    cost of one contact through their cheapest channel, :func:`ecrm_lib.seef.contact.contact_plan`)
    is not matched, and their reason says so; the places under
    ``max_targets`` go to the next customers. A customer whose CLV or contact
    cost is unknown is not held back by the bar. The default bar applies when
    the table has ``contact_cost_col``; a rule that sets the bar explicitly
    needs that column.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with ``id_col`` and the columns the rule needs.
    rule : mapping
        See above.
    id_col, clv_col, churn_col, decile_col, segment_col, cluster_col, cluster_name_col : str
        Column names. Clusters may be given by number or by name.
    contact_cost_col, contact_channel_col : str
        Cost of one contact through the customer's cheapest channel
        (currency) and that channel's name (optional, for the reasons).

    Returns
    -------
    DataFrame
        ``customer_id``; ``matched`` (the rule holds, value bar included);
        ``selected`` (matched and within ``max_targets``); ``rank`` (1 =
        first target; NA when not matched); ``reasons`` (plain words,
        ``"; "``-separated; empty when no criterion holds; for a matched
        customer beyond the cap, or one held back by the value bar, it says
        so); ``below_contact_cost`` (the criteria hold but the CLV is below
        the value bar: left out); ``reason_kinds`` (a target's reasons without its own
        figures, for :func:`reason_counts`). Only the id of each customer, no other column.
        Reasons are worded in the current report language (``selection.reason.*``).

    Raises
    ------
    ConfigError
        Unknown rule keys, bad values, or a column the rule needs is absent.
    ValueError
        Duplicated ids, or ids that look like e-mail addresses or phone
        numbers (a target list must carry pseudonymous ids only).
    """
    check_rule(rule)
    if id_col not in customers:
        raise ValueError(f"customer table has no {id_col!r} column; it has {list(customers.columns)}.")
    ids = customers[id_col]
    check_pseudonymous(ids, id_col)
    if ids.duplicated().any():
        raise ValueError(f"{int(ids.duplicated().sum())} duplicated {id_col} value(s); the table must have one row per customer.")
    n = len(customers)
    conds: list[np.ndarray] = []
    makers: list = []  # per criterion: positions -> reason texts (built for matched rows only)
    kinds: list[str] = []  # per criterion: the reason without the customer's own figure (for counting)

    def add(mask, maker, kind=None):
        conds.append(np.asarray(mask, dtype=bool))
        makers.append(maker if callable(maker) else (lambda pos, t=maker: np.full(len(pos), t, dtype=object)))
        kinds.append(kind if kind is not None else (maker if isinstance(maker, str) else ""))

    def values(key: str, col: pd.Series, fmt, **fixed):
        arr = col.to_numpy()

        def make(pos):  # each distinct value worded once (a decile, a segment: a few words for a million rows)
            codes, uniques = pd.factorize(arr[pos], use_na_sentinel=False)
            words = np.array([i18n.t(f"selection.reason.{key}", v=fmt(x), **fixed) for x in uniques], dtype=object)
            return words[codes] if len(words) else np.array([], dtype=object)

        return make

    if "clv_tier_min" in rule:
        clv = _need(customers, clv_col, "clv_tier_min").astype(float)
        share = _tier_share(rule["clv_tier_min"])
        valid = clv.dropna().sort_values(ascending=False)
        k = min(len(valid), max(1, math.ceil(share * len(valid) - 1e-9))) if len(valid) else 0
        thr = valid.iloc[k - 1] if k else np.inf
        add((clv >= thr).fillna(False), i18n.t("selection.reason.clv_tier", pct=f"{share * 100:g}", min=_fmt_money(thr)))
    if "clv_min" in rule:
        clv = _need(customers, clv_col, "clv_min").astype(float)
        lo = _fmt_money(float(rule["clv_min"]))
        add((clv >= float(rule["clv_min"])).fillna(False), values("clv_min", clv, _fmt_money, min=lo),
            i18n.t("selection.reason.clv_min_kind", min=lo))
    if "churn_probability_min" in rule:
        p = _need(customers, churn_col, "churn_probability_min").astype(float)
        thr = float(rule["churn_probability_min"])
        add((p >= thr).fillna(False), values("churn_probability", p, lambda x: f"{x:.2f}", min=f"{thr:.2f}"),
            i18n.t("selection.reason.churn_probability_kind", min=f"{thr:.2f}"))
    if "churn_decile_max" in rule:
        d = _need(customers, decile_col, "churn_decile_max").astype(float)
        dm = int(rule["churn_decile_max"])
        add((d <= dm).fillna(False), values("churn_decile", d, lambda x: f"{x:.0f}", max=dm),
            i18n.t("selection.reason.churn_decile_kind", max=dm))
    if "segments" in rule:
        seg = _need(customers, segment_col, "segments").astype("string")
        add(seg.isin(list(rule["segments"])).fillna(False).to_numpy(), values("segment", seg, segment_label), "")  # shipped names worded
    if "clusters" in rule:
        wanted = list(rule["clusters"])
        nums = [w for w in wanted if not isinstance(w, str)]
        names = [w for w in wanted if isinstance(w, str)]
        mask = np.zeros(n, dtype=bool)
        if nums:
            mask |= _need(customers, cluster_col, "clusters").isin(nums).fillna(False).to_numpy()
        if names:
            mask |= _need(customers, cluster_name_col, "clusters").astype("string").isin(names).fillna(False).to_numpy()
        shown = customers[cluster_name_col] if cluster_name_col in customers else customers[cluster_col]
        add(mask, values("cluster", shown.astype("string"), str), "")
    if not conds:
        raise ConfigError("the rule has no selection criterion; give at least one of "
                          "clv_tier_min, clv_min, churn_probability_min, churn_decile_max, segments, clusters.")
    stack = np.vstack(conds)
    matched = stack.all(axis=0) if rule.get("combine", "all") == "all" else stack.any(axis=0)
    weights = pd.Series(1.0, index=customers.index)
    sw = rule.get("segment_weights")
    if sw:
        seg = _need(customers, segment_col, "segment_weights").astype("string")
        weights = seg.map({k: float(v) for k, v in sw.items()}).astype(float).fillna(1.0)
        matched &= (weights > 0).to_numpy()
    bar = value_bar(rule)
    below = np.zeros(n, dtype=bool)
    if bar is not None and (contact_cost_col in customers or VALUE_BAR_KEY in rule):
        cost = _need(customers, contact_cost_col, VALUE_BAR_KEY).astype(float)
        clv_all = _need(customers, clv_col, VALUE_BAR_KEY).astype(float)
        below = matched & below_contact_cost(clv_all.to_numpy(), cost.to_numpy(), bar)
    text = np.full(n, "", dtype=object)
    kind_text = np.full(n, "", dtype=object)
    pos_all = np.flatnonzero(matched)
    for mask, maker, kind in zip(conds, makers, kinds):
        pos = pos_all[mask[pos_all]]  # matched rows that meet this criterion
        if len(pos):
            t = maker(pos)
            text[pos] = np.where(text[pos] == "", t, text[pos] + "; " + t)
            kt = t if kind == "" else np.full(len(pos), kind, dtype=object)  # segments and clusters: their name is the kind
            kind_text[pos] = np.where(kind_text[pos] == "", kt, kind_text[pos] + "; " + kt)
    if below.any():
        via = (customers[contact_channel_col].astype("string").to_numpy() if contact_channel_col in customers
               else np.full(n, pd.NA, dtype=object))
        cost_v, clv_v, bar_words = cost.to_numpy(), clv_all.to_numpy(), value_bar_text(bar)
        for i in np.flatnonzero(below):
            cost_words = (i18n.t("selection.reason.cost_through", cost=_fmt_money(cost_v[i]), ch=via[i]) if not pd.isna(via[i])
                          else _fmt_money(cost_v[i]))
            text[i] += "; " + i18n.t("selection.reason.below_bar", v=_fmt_money(clv_v[i]), bar=bar_words, cost=cost_words)
        matched &= ~below
    # rank the matched customers
    score = (customers[clv_col].astype(float).fillna(0.0) if clv_col in customers else pd.Series(0.0, index=customers.index)) * weights
    order = pd.DataFrame({"m": matched, "s": score.to_numpy(), "id": ids.astype("string").to_numpy()})
    order = order[order["m"]].sort_values(["s", "id"], ascending=[False, True], kind="stable")
    rank = pd.Series(pd.NA, index=range(n), dtype="Int64")
    rank.iloc[order.index.to_numpy()] = np.arange(1, len(order) + 1)
    selected = matched.copy()
    mt = rule.get("max_targets")
    if mt is not None:
        beyond = (rank > int(mt)).fillna(False).to_numpy()
        selected &= ~beyond
        text[beyond] = text[beyond] + "; " + i18n.t("selection.reason.beyond_cap", cap=int(mt))
    return pd.DataFrame({
        "customer_id": ids.to_numpy(),
        "matched": matched,
        "selected": selected,
        "rank": rank.array,
        "reasons": pd.array(text, dtype="string"),
        "below_contact_cost": below,
        "reason_kinds": pd.array(np.where(selected, kind_text, ""), dtype="string"),
    })


def describe_rule(rule: Mapping) -> pd.DataFrame:
    """The rule as a readable table: one row per key, with what it means (in the current report language).

    Examples
    --------
    >>> describe_rule({"clv_tier_min": "top30", "combine": "any"})["criterion"].tolist()
    ['clv_tier_min', 'combine']
    """
    check_rule(rule)
    rows = []
    for key, value in rule.items():
        if key == "segment_weights" and value:
            shown = ", ".join(f"{segment_label(k)}: {float(v):g}" for k, v in value.items())  # shipped segment names worded
        elif isinstance(value, (list, tuple)):
            shown = ", ".join(segment_label(v) if key == "segments" else str(v) for v in value)
        else:
            shown = str(value)
        rows.append({"criterion": key, "value": shown, "meaning": i18n.t(f"selection.rule_key.{key}")})
    return pd.DataFrame(rows, columns=["criterion", "value", "meaning"])


def feedback_changes(
    customers: pd.DataFrame,
    rule: Mapping,
    weights: pd.DataFrame,
    *,
    segment_col: str = "segment",
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """What the previous run's feedback changes in this selection.

    Selects with ``rule`` as written and with :func:`ecrm_lib.seef.weights.apply_feedback` applied,
    and compares the two target lists.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table (with ``segment_col``).
    rule : mapping
        The rule as written.
    weights : DataFrame
        From :func:`ecrm_lib.seef.weights.feedback_weights` (``segment``, ``weight``, ``action``, ``reason``, ...).

    Returns
    -------
    (dict, DataFrame, DataFrame)
        The rule with feedback; per segment of ``weights`` (then per other
        segment whose targets changed, action ``unchanged``, e.g. moved up
        into places freed under ``max_targets``): ``segment``,
        ``weight``, ``action``, ``reason``, ``targets_without`` and
        ``targets_with`` (targets of that segment without / with feedback),
        ``moved_in``, ``moved_out``; and per customer the selection without
        feedback (:func:`select_targets` output).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": list("abcd"), "clv": [4.0, 3.0, 2.0, 1.0],
    ...                   "segment": ["A", "B", "A", "B"]})
    >>> w = pd.DataFrame({"segment": ["B"], "weight": [0.0], "action": ["remove"], "reason": ["no uplift"]})
    >>> new_rule, changes, _ = feedback_changes(c, {"clv_min": 0}, w)
    >>> changes[["segment", "targets_without", "targets_with", "moved_out"]].to_numpy().tolist()
    [['B', 2, 0, 2]]
    """
    new_rule = apply_feedback(rule, weights)
    before = select_targets(customers, rule, segment_col=segment_col)
    after = select_targets(customers, new_rule, segment_col=segment_col)
    seg = customers[segment_col].astype("string").to_numpy()
    b, a = before["selected"].to_numpy(bool), after["selected"].to_numpy(bool)
    rows = []
    listed = [str(x) for x in weights["segment"]]
    moved_segments = sorted({str(x) for x in seg[a != b] if not pd.isna(x)} - set(listed))
    for i, name in enumerate(listed + moved_segments):
        m = seg == name
        if i < len(listed):
            w = weights.iloc[i]
            weight, action, reason = float(w["weight"]), w.get("action", ""), w.get("reason", "")
        else:  # not in the feedback, but customers moved because other segments freed or took places
            weight, action, reason = 1.0, "unchanged", "no feedback for this segment; places freed or taken by others under max_targets"
        rows.append({"segment": name, "weight": weight, "action": action, "reason": reason,
                     "targets_without": int((b & m).sum()), "targets_with": int((a & m).sum()),
                     "moved_in": int((a & ~b & m).sum()), "moved_out": int((b & ~a & m).sum())})
    cols = ["segment", "weight", "action", "reason", "targets_without", "targets_with", "moved_in", "moved_out"]
    return new_rule, pd.DataFrame(rows, columns=cols), before


def reason_counts(selection: pd.DataFrame) -> pd.DataFrame:
    """How many targets each kind of reason applies to (a target may have several).

    Counts the ``reason_kinds`` of :func:`select_targets` (the reasons without a customer's
    own CLV, churn probability or decile, so that reasons of one kind are counted together,
    while thresholds stay); a table without them has its English ``reasons`` split at ``"; "``
    and the per-customer numbers dropped.

    Parameters
    ----------
    selection : DataFrame
        :func:`select_targets` output (``selected``, ``reasons``).

    Returns
    -------
    DataFrame
        ``reason``, ``targets`` (customers), most frequent first (ties by reason).

    Examples
    --------
    >>> s = pd.DataFrame({"selected": [True, True, False],
    ...                   "reasons": ["CLV 500 (at least 300); segment Lost", "CLV 320 (at least 300)", ""]})
    >>> reason_counts(s).to_numpy().tolist()
    [['CLV (at least 300)', 2], ['segment Lost', 1]]
    """
    chosen = selection.loc[selection["selected"].astype(bool)]
    if "reason_kinds" in chosen:
        parts = chosen["reason_kinds"].astype("string").str.split("; ").explode().dropna()
        kinds = parts[parts.str.len() > 0]
    else:  # a selection from before reason kinds (English reasons): drop the customer's own figure
        parts = chosen["reasons"].astype("string").str.split("; ").explode().dropna()
        parts = parts[parts.str.len() > 0]
        kinds = parts.str.replace(r"^(CLV|churn probability|churn risk decile) [\d.,]+ ", r"\1 ", regex=True)
    counts = kinds.value_counts()
    out = pd.DataFrame({"reason": counts.index.astype(str), "targets": counts.to_numpy().astype("int64")})
    return out.sort_values(["targets", "reason"], ascending=[False, True], kind="stable").reset_index(drop=True)

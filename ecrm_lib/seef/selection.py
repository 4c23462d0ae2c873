"""SEEF 1, Selection: which customers to target, and why.

Works on the per-customer table of :mod:`ecrm_lib.seef.customers` (the
purchase summary joined with the ``customer_value``, ``churn_risk`` and
``customer_channels`` products). One public function per step of the
Selection notebook, and :func:`run_selection`, which runs them all:

1. :func:`prepare_customers` - everyone with a purchase, the products joined
   (missing ones counted, not dropped);
2. :func:`add_segments` - RFM scores and named segments (:mod:`ecrm_lib.seef.rfm`);
3. clusters (:mod:`ecrm_lib.seef.clusters`) and :func:`add_clusters`;
4. :func:`add_contact_cost` - the cheapest priced channel and the cost of
   one contact through it (:mod:`ecrm_lib.seef.contact`);
5. :func:`rule_with_feedback` - the previous run's feedback weights
   (:mod:`ecrm_lib.seef.weights`, :func:`feedback_changes`);
6. :func:`select_customers` - :func:`select_targets` with that rule;
   :func:`value_bar_summary` says what the value bar did;
7. :func:`~ecrm_lib.seef.selection_products.selection_products` - the
   ``customer_segments`` and ``targets`` products, and
   :func:`~ecrm_lib.seef.selection_products.segment_overview` (both in
   :mod:`ecrm_lib.seef.selection_products`, imported here);
   :func:`reason_counts` and :func:`describe_rule` for the report.

:func:`select_targets` applies a small rule dict (see :data:`RULE_KEYS`);
each target carries the reasons it was chosen in plain words. A value bar
(:func:`ecrm_lib.seef.contact.value_bar`, on by default) keeps out customers
whose CLV is below the cost of one contact through the cheapest channel that
reaches them; a rule that sets ``min_value_over_contact_cost`` to null or 0
lets them in explicitly.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecrm_lib.core import i18n
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.language import get_language
from ecrm_lib.seef.clusters import DEFAULT_FIT_SIZE, ClusterResult, cluster_customers, default_cluster_features
from ecrm_lib.seef.contact import VALUE_BAR_KEY, below_contact_cost, contact_plan, value_bar, value_bar_text
from ecrm_lib.seef.customers import CustomerTable, assemble_customers, check_pseudonymous
from ecrm_lib.seef.rfm import assign_segments, load_segment_table, rfm_scores, segment_label
from ecrm_lib.seef.selection_products import SEGMENTS_COLUMNS, TARGETS_COLUMNS, segment_overview, selection_products
from ecrm_lib.seef.weights import apply_feedback

__all__ = [
    "PRODUCT_COLUMNS",
    "RULE_KEYS",
    "SEGMENTS_COLUMNS",
    "TARGETS_COLUMNS",
    "SelectionResult",
    "add_clusters",
    "add_contact_cost",
    "add_segments",
    "can_cluster",
    "describe_rule",
    "feedback_changes",
    "keep_later_columns",
    "prepare_customers",
    "reason_counts",
    "rule_with_feedback",
    "run_selection",
    "segment_overview",
    "select_customers",
    "select_targets",
    "selection_products",
    "targets_in_language",
    "value_bar_summary",
]

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


def _check_rule(rule: Mapping) -> None:
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
    _check_rule(rule)
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
    _check_rule(rule)
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


@dataclass
class SelectionResult:
    """What :func:`run_selection` returns.

    Attributes
    ----------
    customers : DataFrame
        The per-customer table with scores, segment, cluster and selection columns.
    coverage : DataFrame
        :attr:`CustomerTable.coverage`.
    segment_table : DataFrame
        The validated RFM segment table used.
    clusters : ClusterResult or None
        None when there were too few customers to cluster (everyone is then
        in cluster 0, ``"all customers"``).
    rule : dict
        The rule applied (with feedback when it was applied).
    rule_as_written : dict
    feedback : DataFrame or None
        :func:`feedback_changes` per segment; None when no feedback was applied.
    selection : DataFrame
        :func:`select_targets` with the applied rule.
    customer_segments, targets : DataFrame
        The products (:func:`selection_products`).
    value_bar : dict
        What the value bar (:func:`ecrm_lib.seef.contact.value_bar`) did: ``bar`` (contacts; None
        when the rule switches it off), ``applied`` (bool), ``why_not`` (why
        it was not applied, in the current language; None when it was; ``why_not_key`` is its
        catalogue key, to word it in each report language), ``removed`` (customers who
        meet the criteria but are worth less than the bar: left out),
        ``displaced`` (targets the rule would have picked without the bar
        that are not targets now), ``targets_without_bar`` (the list's size
        without the bar), ``unchecked`` (targets whose CLV or contact cost
        is unknown), ``targets_below`` (targets worth less than one contact
        through their cheapest channel: 0 when the bar of 1 or more is
        applied; counted when it is off); counts are None when the contact
        cost is unknown for everyone.
    """

    customers: pd.DataFrame
    coverage: pd.DataFrame
    segment_table: pd.DataFrame
    clusters: object
    rule: dict
    rule_as_written: dict
    feedback: pd.DataFrame | None
    selection: pd.DataFrame
    customer_segments: pd.DataFrame
    targets: pd.DataFrame
    value_bar: dict = field(default_factory=dict)

    @property
    def moved(self) -> tuple[int, int]:
        """(customers who entered, customers who left) the list because of feedback; (0, 0) without it."""
        if self.feedback is None:
            return 0, 0
        return int(self.feedback["moved_in"].sum()), int(self.feedback["moved_out"].sum())


# =========================================================================== the steps


#: Product columns a selection rule may use; a product absent in this run leaves them missing.
PRODUCT_COLUMNS = ("clv", "clv_low", "clv_high", "churn_probability", "risk_decile")


def prepare_customers(
    purchases: pd.DataFrame,
    products: Mapping[str, pd.DataFrame | None],
    *,
    online_channels: Sequence[str] | None = None,
) -> CustomerTable:
    """Step 1: the customers considered (everyone with a purchase) with the upstream products joined.

    :func:`ecrm_lib.seef.customers.assemble_customers`, plus the columns of
    :data:`PRODUCT_COLUMNS` a missing product would hold, left missing:
    criteria on them select nobody, and ``coverage`` says why.
    """
    ct = assemble_customers(purchases, products, online_channels=online_channels)
    for col in PRODUCT_COLUMNS:
        if col not in ct.customers:
            ct.customers[col] = np.nan
    return ct


def add_segments(customers: pd.DataFrame, segment_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Step 2: RFM scores and the named segment of each customer, from the purchase summary columns.

    Recency is ``recency_gap``, frequency ``n_purchase_days`` and monetary
    value ``spend_per_purchase_day`` (:func:`prepare_customers`), scored by
    :func:`ecrm_lib.seef.rfm.rfm_scores` and named by
    :func:`ecrm_lib.seef.rfm.assign_segments` with ``segment_table`` (default
    table when None).

    Returns
    -------
    DataFrame
        ``customers`` with ``r_score``, ``f_score``, ``m_score`` and ``segment``.
    """
    table = load_segment_table() if segment_table is None else segment_table
    scores = rfm_scores(customers, recency_gap_col="recency_gap", frequency_col="n_purchase_days",
                        monetary_col="spend_per_purchase_day")
    seg = assign_segments(scores, table)
    return customers.merge(seg[["customer_id", "r_score", "f_score", "m_score", "segment"]], on="customer_id", how="left")


def can_cluster(customers: pd.DataFrame, features: Sequence[str], k_min: int = 2, min_customers: int = 20) -> bool:
    """Whether there are features and enough customers (at least ``min_customers`` and ``k_min + 1``) to cluster."""
    return bool(len(features)) and len(customers) >= max(int(min_customers), int(k_min) + 1)


def add_clusters(customers: pd.DataFrame, clusters: ClusterResult | None) -> pd.DataFrame:
    """Step 3: each customer's ``cluster`` and ``cluster_name``; everyone in cluster 0, "all customers", without clusters."""
    if clusters is not None:
        return customers.merge(clusters.assignments, on="customer_id", how="left")
    out = customers.copy()
    out["cluster"] = 0
    out["cluster_name"] = pd.array([i18n.t("selection.cluster_word.everyone")] * len(out), dtype="string")
    return out


def add_contact_cost(customers: pd.DataFrame, channel_costs: pd.DataFrame | None, *,
                     purpose: str | None = None) -> pd.DataFrame:
    """Step 4: ``contact_channel`` and ``contact_cost``: the cheapest priced channel that reaches each customer.

    From :func:`ecrm_lib.seef.contact.contact_plan` (currency per contact);
    the value bar of the rule compares them with the CLV. Added after
    clustering: the contact cost is no cluster feature. ``reachable_channels``
    (every priced channel that reaches the customer, ``", "``-separated) is
    added too: the selection by incremental profit
    (:func:`ecrm_lib.seef.profit_select.profit_selection_or_reason`) prices each of them.
    Without a cost table (None) or customers the table is returned as it is.

    Raises
    ------
    ValueError
        The table is :func:`keep_later_columns`' (its channel shares are gone: every customer would seem unreachable).
    """
    if customers.attrs.get(_LATER_ONLY):
        raise ValueError("this customer table keeps only the columns of the steps after the contact cost "
                         "(keep_later_columns): its channel shares are gone. Re-run the notebook from step 1.")
    if channel_costs is None or not len(customers):
        return customers
    plan = contact_plan(customers, channel_costs, purpose=purpose)
    # assign: the table's columns are shared with the input (copy-on-write), not copied (GB at ten million customers)
    return customers.assign(contact_channel=plan["cheapest_channel"].to_numpy(), contact_cost=plan["cheapest_cost"].to_numpy(),
                            reachable_channels=plan["reachable_channels"].array)


#: Columns of the per-customer table that the steps after the contact cost read, besides the products' own
#: (:data:`SEGMENTS_COLUMNS`): the channels that reach each customer, for the selection by incremental profit.
LATER_COLUMNS = ("reachable_channels",)
_LATER_ONLY = "ecrm_later_columns_only"


def keep_later_columns(customers: pd.DataFrame) -> pd.DataFrame:
    """The per-customer table with only the columns the steps after step 4 read.

    Steps 5-9 (the feedback weights, the selection, its products, the selection by incremental profit)
    read the columns of :data:`SEGMENTS_COLUMNS` and :data:`LATER_COLUMNS`; the RFM inputs, the
    cluster features and the other product columns are let go (at ten million customers they take
    several GB). Columns absent from the table stay absent.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "clv": [5.0], "share_contacts_phone": [1.0], "reachable_channels": ["phone"]})
    >>> list(keep_later_columns(c).columns)
    ['customer_id', 'clv', 'reachable_channels']
    """
    keep = set(SEGMENTS_COLUMNS) | set(LATER_COLUMNS)
    # a copy: a selection of columns shares (copy-on-write) the 2-D blocks of the whole table and keeps them alive
    out = customers[[c for c in customers.columns if c in keep]].copy()
    out.attrs[_LATER_ONLY] = True  # add_contact_cost refuses it: its channel shares are gone
    return out


def rule_with_feedback(customers: pd.DataFrame, rule: Mapping,
                       feedback: pd.DataFrame | None = None) -> tuple[dict, pd.DataFrame | None]:
    """Step 5: the rule with the previous run's feedback weights applied, and what they change.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table (segments, clusters, contact cost).
    rule : mapping
        The rule as written (:data:`RULE_KEYS`).
    feedback : DataFrame, optional
        :func:`ecrm_lib.seef.weights.feedback_weights` of the previous run; None or empty: the rule as written.

    Returns
    -------
    (dict, DataFrame or None)
        The rule to apply and :func:`feedback_changes` per segment (None without feedback).
    """
    if feedback is None or not len(feedback):
        _check_rule(rule)
        return dict(rule), None
    applied, changes, _ = feedback_changes(customers, dict(rule), feedback)
    return applied, changes


def select_customers(customers: pd.DataFrame, rule: Mapping) -> pd.DataFrame:
    """Step 6: :func:`select_targets` with the rule applied; an empty selection (with its columns) without customers."""
    if len(customers):
        return select_targets(customers, rule)
    _check_rule(rule)
    return pd.DataFrame({"customer_id": pd.array([], dtype="string"), "matched": np.array([], bool),
                         "selected": np.array([], bool), "rank": pd.array([], dtype="Int64"),
                         "reasons": pd.array([], dtype="string"), "below_contact_cost": np.array([], bool)})


def targets_in_language(customers: pd.DataFrame, rule: Mapping, selection: pd.DataFrame | None = None
                        ) -> Callable[[], pd.DataFrame]:
    """A callable giving the targets of :func:`select_customers`, their reasons worded in the current report language.

    The reasons are worded in the language current when it is called (a report shows each of its languages);
    the selection is made once per language and only its targets are kept (``selected`` rows), so that a page
    that words the targets' reasons in several tables and figures does not select every customer again each time.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table the selection is made on.
    rule : mapping
        The rule applied.
    selection : DataFrame, optional
        :func:`select_customers` of the same table and rule, made in the current language: used for that
        language instead of selecting again.

    Returns
    -------
    callable
        No arguments; returns the ``selected`` rows of :func:`select_customers` (its columns) in a new frame.
    """
    done: dict[str, pd.DataFrame] = {}
    if selection is not None:
        done[get_language()] = selection.loc[selection["selected"].to_numpy(bool)].reset_index(drop=True)

    def targets() -> pd.DataFrame:
        lang = get_language()
        if lang not in done:
            sel = select_customers(customers, rule)
            done[lang] = sel.loc[sel["selected"].to_numpy(bool)].reset_index(drop=True)
        return done[lang].copy()

    return targets


def value_bar_summary(customers: pd.DataFrame, rule: Mapping, selection: pd.DataFrame, have_costs: bool) -> dict:
    """What the value bar did (see :attr:`SelectionResult.value_bar`).

    Parameters
    ----------
    customers : DataFrame
        The per-customer table the selection was made on (``clv``, ``contact_cost``).
    rule : mapping
        The rule applied.
    selection : DataFrame
        :func:`select_targets` with that rule.
    have_costs : bool
        Whether the run has a channel cost table (for the reason when the bar is not applied).
    """
    c = customers
    bar = value_bar(rule)
    sel = selection["selected"].to_numpy(bool)
    info = {"bar": bar, "applied": False, "why_not": None, "removed": None, "displaced": None,
            "targets_without_bar": int(sel.sum()), "unchecked": None, "targets_below": None}
    known = "contact_cost" in c and bool(c["contact_cost"].notna().any())
    if known:
        clv = c["clv"].astype(float).to_numpy() if "clv" in c else np.full(len(c), np.nan)
        cost = c["contact_cost"].astype(float).to_numpy()
        info["unchecked"] = int((sel & (np.isnan(clv) | np.isnan(cost))).sum())
        info["targets_below"] = int((sel & below_contact_cost(clv, cost, 1.0)).sum())
    if bar is None:
        info["why_not_key"] = "selection.bar_na.off"
    elif not known:
        info["why_not_key"] = "selection.bar_na.no_costs" if not have_costs else "selection.bar_na.unreachable"
    if info.get("why_not_key"):
        info["why_not"] = i18n.t(info["why_not_key"])
    else:
        without = select_targets(c, {**rule, VALUE_BAR_KEY: None})["selected"].to_numpy(bool)
        info.update(applied=True, removed=int(selection["below_contact_cost"].sum()), displaced=int((without & ~sel).sum()),
                    targets_without_bar=int(without.sum()))
    return info


def run_selection(
    purchases: pd.DataFrame,
    products: Mapping[str, pd.DataFrame | None],
    rule: Mapping,
    *,
    segment_table: pd.DataFrame | None = None,
    cluster_features: Sequence[str] | None = None,
    k_range: Sequence[int] = (2, 8),
    random_state: int = 0,
    feedback: pd.DataFrame | None = None,
    min_cluster_customers: int = 20,
    online_channels: Sequence[str] | None = None,
    channel_costs: pd.DataFrame | None = None,
    contact_purpose: str | None = None,
    cluster_fit_size: int = DEFAULT_FIT_SIZE,
    n_threads: int | None = None,
) -> SelectionResult:
    """The whole Selection step: customer table, RFM segments, clusters, contact cost, rule, feedback, value bar, products.

    Runs the steps the Selection notebook runs one cell at a time:
    :func:`prepare_customers`, :func:`add_segments`,
    :func:`ecrm_lib.seef.clusters.cluster_customers` (stratified on the RFM
    segment) with :func:`add_clusters`, :func:`add_contact_cost`,
    :func:`rule_with_feedback`, :func:`select_customers`,
    :func:`selection_products` and :func:`value_bar_summary`.

    Parameters
    ----------
    purchases : DataFrame
        :func:`ecrm_lib.value.features.rfm_summary` of the transactions (customer ids attached).
    products : mapping
        ``customer_value``, ``churn_risk``, ``customer_channels`` products (None when absent).
    rule : mapping
        Selection rule (:data:`RULE_KEYS`).
    segment_table : DataFrame, optional
        :func:`ecrm_lib.seef.rfm.load_segment_table` (default table when None).
    cluster_features : sequence of str, optional
        k-means features; default :func:`ecrm_lib.seef.clusters.default_cluster_features`.
    k_range : (int, int)
        Smallest and largest k tried (:func:`ecrm_lib.seef.clusters.choose_k`).
    random_state : int
        Seed of k-means and of its fit sample.
    feedback : DataFrame, optional
        :func:`ecrm_lib.seef.weights.feedback_weights` of the previous run;
        applied with :func:`ecrm_lib.seef.weights.apply_feedback`.
    min_cluster_customers : int
        Fewer customers than this are not clustered.
    online_channels : sequence of str, optional
        Internet channels; adds ``online_share`` (see :func:`ecrm_lib.seef.customers.assemble_customers`),
        which the default cluster features then use instead of one share per channel.
    channel_costs : DataFrame, optional
        The channel cost table (:func:`add_contact_cost`). None: no contact
        cost, and the default bar cannot be applied (``value_bar["why_not"]`` says so).
    contact_purpose : str, optional
        Purpose whose cost per contact is used (None: the general cost).
    cluster_fit_size : int
        Largest k-means fit sample (customers).
    n_threads : int, optional
        Native threads of k-means (:func:`ecrm_lib.seef.scale.model_threads`).

    Returns
    -------
    SelectionResult
    """
    k_min, k_max = (int(k) for k in k_range)
    table = load_segment_table() if segment_table is None else segment_table
    ct = prepare_customers(purchases, products, online_channels=online_channels)
    c = add_segments(ct.customers, table)
    feats = list(cluster_features) if cluster_features is not None else default_cluster_features(c)
    clusters = None
    if can_cluster(c, feats, k_min, min_cluster_customers):
        clusters = cluster_customers(c, feats, k_min=k_min, k_max=k_max, random_state=random_state,
                                     fit_size=cluster_fit_size, strata=c["segment"], n_threads=n_threads)
    c = add_contact_cost(add_clusters(c, clusters), channel_costs, purpose=contact_purpose)
    applied, changes = rule_with_feedback(c, rule, feedback)
    selection = select_customers(c, applied)
    customer_segments, targets = selection_products(c, selection)
    bar_info = value_bar_summary(c, applied, selection, channel_costs is not None)
    return SelectionResult(c, ct.coverage, table, clusters, applied, dict(rule), changes, selection, customer_segments,
                           targets, bar_info)

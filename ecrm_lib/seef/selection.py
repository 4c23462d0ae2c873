"""The SEEF process: Select target customers, Evaluate them, Expand the group, learn from Feedback.

Everything works on a plain per-customer DataFrame keyed by ``customer_id``
(pseudonymous ids only), typically the join of the ``customer_value``,
``churn_risk`` and ``customer_channels`` products plus segments and clusters
from :mod:`ecrm_lib.seef.segments`::

    customers = (customer_value.merge(churn_risk, on="customer_id", how="left")
                 .merge(customer_channels, on="customer_id", how="left")
                 .merge(segments[["customer_id", "segment"]], on="customer_id", how="left"))

Selection
---------
:func:`select_targets` applies a small rule dict (see :data:`RULE_KEYS`);
each target carries the reasons it was chosen in plain words. A value bar
(:func:`value_bar`, on by default) keeps out customers whose CLV is below the
cost of one contact through the cheapest channel that reaches them
(:func:`contact_plan`); a rule that sets ``min_value_over_contact_cost`` to
null or 0 lets them in explicitly.

Evaluation
----------
:func:`value_share`, :func:`lorenz_curve`, :func:`gini`,
:func:`profitability`, :func:`compare_groups`, :func:`target_changes`.

Expansion
---------
:func:`lookalike_model` (cross-validated, out-of-fold scores),
:func:`expansion_value`, :func:`cheapest_channel`.

Feedback
--------
:func:`feedback_weights` turns the measured uplift per segment into weights;
:func:`apply_feedback` writes them into the next run's rule.

Examples
--------
>>> import pandas as pd
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecrm_lib.value.clv import gini, lorenz_curve  # value concentration lives with customer value
from ecrm_lib.core.errors import ConfigError

__all__ = [
    "RULE_KEYS",
    "LookalikeResult",
    "select_targets",
    "CustomerTable",
    "assemble_customers",
    "describe_rule",
    "feedback_changes",
    "SEGMENTS_COLUMNS",
    "TARGETS_COLUMNS",
    "selection_products",
    "segment_overview",
    "reason_counts",
    "SelectionResult",
    "run_selection",
    "value_share",
    "lorenz_curve",
    "gini",
    "profitability",
    "profitability_summary",
    "compare_groups",
    "target_changes",
    "default_features",
    "lookalike_model",
    "expansion_value",
    "cheapest_channel",
    "customer_view",
    "concentration_curve",
    "target_concentration",
    "previous_targets_today",
    "profile_features",
    "rule_columns",
    "typical_channel",
    "contact_plan",
    "channel_mix",
    "months_to_weeks",
    "feedback_weights",
    "apply_feedback",
    "cost_window",
    "cost_window_check",
    "expansion_list",
    "VALUE_BAR_KEY",
    "DEFAULT_VALUE_BAR",
    "value_bar",
    "below_contact_cost",
    "value_bar_text",
    "clear_differences_text",
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

VALUE_BAR_KEY = "min_value_over_contact_cost"
"""Rule key of the value bar (see :func:`value_bar`)."""

DEFAULT_VALUE_BAR = 1.0
"""The value bar when the rule does not set it: CLV at least the cost of one contact."""

_EPS = 1e-12


# =========================================================================== selection


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


def value_bar(rule: Mapping | None) -> float | None:
    """The rule's value bar: how many contacts' worth of CLV a customer must have to be proposed.

    A customer is proposed (selected, or added as a look-alike) only when
    their CLV, the value at stake over the CLV horizon, is at least this many
    times the cost of one contact through the cheapest channel that reaches
    them. Without ``min_value_over_contact_cost`` in the rule the bar is
    :data:`DEFAULT_VALUE_BAR` (1: worth at least one contact); null or 0
    switches it off, which the reports then say.

    Returns
    -------
    float or None
        The bar (contacts, > 0), or None when the rule switches it off.

    Raises
    ------
    ConfigError
        A value that is not a number >= 0 or null.

    Examples
    --------
    >>> value_bar({"clv_min": 0}), value_bar({"min_value_over_contact_cost": 2}), value_bar({"min_value_over_contact_cost": None})
    (1.0, 2.0, None)
    """
    if not rule or VALUE_BAR_KEY not in rule:
        return DEFAULT_VALUE_BAR
    v = rule[VALUE_BAR_KEY]
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(float(v)) or v < 0:
        raise ConfigError(f"rule {VALUE_BAR_KEY}={v!r}; give a number of contacts >= 0 (1: CLV at least the cost of one "
                          "contact through the cheapest channel), or null to let in customers worth less than a contact.")
    return float(v) if v > 0 else None


def below_contact_cost(clv, contact_cost, bar: float | None) -> np.ndarray:
    """Where a customer is worth less than the bar: ``clv < bar * contact_cost``, both known.

    Parameters
    ----------
    clv : array-like
        CLV per customer (currency).
    contact_cost : array-like
        Cost of one contact through the customer's cheapest channel
        (currency; NaN when no priced channel reaches them).
    bar : float or None
        :func:`value_bar`; None: nobody is below (the bar is off).

    Returns
    -------
    ndarray of bool
        A customer whose CLV or contact cost is unknown is not below: the bar
        cannot be checked for them (callers count them apart).

    Examples
    --------
    >>> below_contact_cost([1870.0, 1870.0, np.nan, 0.0], [6000.0, 150.0, 60.0, np.nan], 1.0).tolist()
    [True, False, False, False]
    """
    v = np.asarray(clv, dtype=float)
    c = np.asarray(contact_cost, dtype=float)
    if bar is None:
        return np.zeros(len(v), dtype=bool)
    return ~np.isnan(v) & ~np.isnan(c) & (v < bar * c)


def value_bar_text(bar: float | None) -> str:
    """The bar in words, for reasons and report prose.

    >>> value_bar_text(1.0), value_bar_text(2.5), value_bar_text(None)
    ('the cost of one contact', '2.5 times the cost of one contact', 'off')
    """
    if bar is None:
        return "off"
    return "the cost of one contact" if bar == 1 else f"{bar:g} times the cost of one contact"


def _need(customers: pd.DataFrame, col: str, key: str) -> pd.Series:
    if col not in customers:
        raise ConfigError(f"rule key {key!r} needs column {col!r}, which the customer table lacks "
                          f"(it has {list(customers.columns)}); join the product that holds it or drop the key.")
    return customers[col]


_PHONE_LIKE = r"^\+\d[\d\s().-]{7,}$|^0\d{1,2}[\s.-]\d{3,4}[\s.-]\d{4}$"


def _check_pseudonymous(ids: pd.Series, id_col: str) -> None:
    """Refuse ids that are e-mail addresses or phone numbers (target lists leave the team)."""
    text = ids.dropna().astype("string")
    bad = text.str.contains("@", regex=False) | text.str.strip().str.match(_PHONE_LIKE)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} {id_col} value(s) look like e-mail addresses or phone numbers; target lists must carry "
            "pseudonymous ids only: use the customer_id of the identity map (ecrm_lib.channels.identity), not contact data."
        )


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

    The value bar (``min_value_over_contact_cost``, :func:`value_bar`; 1 when
    absent) is applied before ranking and the cap: a customer who meets the
    criteria but whose CLV is below the bar times ``contact_cost_col`` (the
    cost of one contact through their cheapest channel, :func:`contact_plan`)
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
        the value bar: left out). Only the id of each customer, no other column.

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
    _check_pseudonymous(ids, id_col)
    if ids.duplicated().any():
        raise ValueError(f"{int(ids.duplicated().sum())} duplicated {id_col} value(s); the table must have one row per customer.")
    n = len(customers)
    conds: list[np.ndarray] = []
    makers: list = []  # per criterion: positions -> reason texts (built for matched rows only)

    def add(mask, maker):
        conds.append(np.asarray(mask, dtype=bool))
        makers.append(maker if callable(maker) else (lambda pos, t=maker: np.full(len(pos), t, dtype=object)))

    def values(prefix: str, col: pd.Series, fmt, suffix: str):
        arr = col.to_numpy()
        return lambda pos: np.array([f"{prefix}{fmt(x)}{suffix}" for x in arr[pos]], dtype=object)

    if "clv_tier_min" in rule:
        clv = _need(customers, clv_col, "clv_tier_min").astype(float)
        share = _tier_share(rule["clv_tier_min"])
        valid = clv.dropna().sort_values(ascending=False)
        k = min(len(valid), max(1, math.ceil(share * len(valid) - 1e-9))) if len(valid) else 0
        thr = valid.iloc[k - 1] if k else np.inf
        add((clv >= thr).fillna(False), f"CLV in the top {share * 100:g}% (at least {_fmt_money(thr)})")
    if "clv_min" in rule:
        clv = _need(customers, clv_col, "clv_min").astype(float)
        add((clv >= float(rule["clv_min"])).fillna(False),
            values("CLV ", clv, _fmt_money, f" (at least {_fmt_money(float(rule['clv_min']))})"))
    if "churn_probability_min" in rule:
        p = _need(customers, churn_col, "churn_probability_min").astype(float)
        thr = float(rule["churn_probability_min"])
        add((p >= thr).fillna(False), values("churn probability ", p, lambda x: f"{x:.2f}", f" (at least {thr:.2f})"))
    if "churn_decile_max" in rule:
        d = _need(customers, decile_col, "churn_decile_max").astype(float)
        dm = int(rule["churn_decile_max"])
        add((d <= dm).fillna(False), values("churn risk decile ", d, lambda x: f"{x:.0f}", f" (1 = riskiest, at most {dm})"))
    if "segments" in rule:
        seg = _need(customers, segment_col, "segments").astype("string")
        add(seg.isin(list(rule["segments"])).fillna(False).to_numpy(), values("segment ", seg, str, ""))
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
        add(mask, values("cluster ", shown.astype("string"), str, ""))
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
    pos_all = np.flatnonzero(matched)
    for mask, maker in zip(conds, makers):
        pos = pos_all[mask[pos_all]]  # matched rows that meet this criterion
        if len(pos):
            t = maker(pos)
            text[pos] = np.where(text[pos] == "", t, text[pos] + "; " + t)
    if below.any():
        via = (customers[contact_channel_col].astype("string").to_numpy() if contact_channel_col in customers
               else np.full(n, pd.NA, dtype=object))
        for i in np.flatnonzero(below):
            ch = "" if pd.isna(via[i]) else f" through {via[i]}"
            text[i] += (f"; CLV {_fmt_money(clv_all.iloc[i])} below {value_bar_text(bar)} "
                        f"({_fmt_money(cost.iloc[i])}{ch}), not selected")
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
        text[beyond] = text[beyond] + f"; beyond max_targets={int(mt)}, not selected"
    return pd.DataFrame({
        "customer_id": ids.to_numpy(),
        "matched": matched,
        "selected": selected,
        "rank": rank.array,
        "reasons": pd.array(text, dtype="string"),
        "below_contact_cost": below,
    })


@dataclass
class CustomerTable:
    """What :func:`assemble_customers` returns.

    Attributes
    ----------
    customers : DataFrame
        One row per customer who bought on or before the as-of date.
    coverage : DataFrame
        One row per product: ``product``, ``present`` (the product exists in
        this run), ``rows``, ``customers_matched``, ``customers_missing``
        (customers with no row in it, kept with missing values),
        ``share_missing`` (0-1) and ``not_in_base`` (rows of the product for
        customers without a purchase, left out).
    """

    customers: pd.DataFrame
    coverage: pd.DataFrame


def assemble_customers(
    purchases: pd.DataFrame,
    products: Mapping[str, pd.DataFrame | None],
    *,
    id_col: str = "customer_id",
    online_channels: Sequence[str] | None = None,
    share_prefix: str = "share_purchases_",
) -> CustomerTable:
    """The per-customer table of the Selection step, from the purchase summary and the products.

    The customers are those of ``purchases`` (everyone with a purchase on or
    before the as-of date). Each product is left-joined on ``id_col``;
    customers missing from a product keep missing values there and are
    *counted* in ``coverage`` rather than dropped, and product rows for
    customers without a purchase are counted (``not_in_base``) and left out.
    A product column whose name is already taken gets the suffix
    ``_<product>`` (e.g. ``p_alive_churn_risk``).

    RFM inputs come from the purchases (see :func:`ecrm_lib.seef.segments.rfm_scores`):
    ``recency_gap`` (time since the last purchase day, ``T - recency`` in the
    summary's time unit, weeks by default), ``n_purchase_days`` (distinct
    purchase days) and ``spend_per_purchase_day`` (``total_spend /
    n_purchase_days``, currency). Unlike ``lifetimes``' ``monetary_value``
    (mean of repeat purchases, 0 for one-time buyers) this scores one-time
    buyers by what they spent.

    Parameters
    ----------
    purchases : DataFrame
        From :func:`ecrm_lib.value.features.rfm_summary` (indexed by the customer id
        or with an ``id_col`` column): ``recency``, ``T``,
        ``n_purchase_days``, ``total_spend``.
    products : mapping of str to DataFrame or None
        E.g. ``{"customer_value": ..., "churn_risk": ..., "customer_channels": ...}``;
        None means the product is absent in this run (every customer missing).
    id_col : str
        Customer id column of every table.
    online_channels : sequence of str, optional
        Internet channels (the config's ``channel_groups["internet"]``): adds
        ``online_share``, the customer's share of purchases through them (0-1,
        sum of the ``<share_prefix><channel>`` columns; missing when the
        customer has no channel data).
    share_prefix : str
        Prefix of the per-channel purchase share columns.

    Returns
    -------
    CustomerTable

    Raises
    ------
    ValueError
        A table lacks ``id_col`` or lists a customer twice.

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": ["a", "b"], "recency": [3.0, 0.0], "T": [5.0, 2.0],
    ...                   "n_purchase_days": [2, 1], "total_spend": [300.0, 50.0]})
    >>> cv = pd.DataFrame({"customer_id": ["a", "z"], "clv": [900.0, 10.0]})
    >>> t = assemble_customers(p, {"customer_value": cv, "churn_risk": None})
    >>> t.customers[["customer_id", "recency_gap", "spend_per_purchase_day", "clv"]].to_numpy().tolist()
    [['a', 2.0, 150.0, 900.0], ['b', 2.0, 50.0, nan]]
    >>> t.coverage[["product", "present", "customers_missing", "not_in_base"]].to_numpy().tolist()
    [['customer_value', True, 1, 1], ['churn_risk', False, 2, 0]]
    """
    p = purchases.reset_index() if id_col not in purchases.columns else purchases.copy()
    need = [id_col, "recency", "T", "n_purchase_days", "total_spend"]
    missing = [c for c in need if c not in p]
    if missing:
        raise ValueError(f"the purchase summary lacks {missing}; pass the result of ecrm_lib.value.features.rfm_summary.")
    if p[id_col].duplicated().any():
        raise ValueError(f"the purchase summary lists {int(p[id_col].duplicated().sum())} customer(s) twice.")
    days = p["n_purchase_days"].astype(float)
    base = pd.DataFrame({
        id_col: p[id_col].astype("string").to_numpy(),
        "recency_gap": (p["T"].astype(float) - p["recency"].astype(float)).to_numpy(),
        "n_purchase_days": days.to_numpy(),
        "total_spend": p["total_spend"].astype(float).to_numpy(),
        "spend_per_purchase_day": (p["total_spend"].astype(float) / days.where(days > 0)).to_numpy(),
    })
    ids = set(base[id_col].dropna())
    rows = []
    for name, df in products.items():
        if df is None:
            rows.append({"product": name, "present": False, "rows": 0, "customers_matched": 0,
                         "customers_missing": len(base), "not_in_base": 0})
            continue
        if id_col not in df:
            raise ValueError(f"product {name!r} has no {id_col!r} column; it has {list(df.columns)}.")
        d = df.copy()
        d[id_col] = d[id_col].astype("string")
        if d[id_col].duplicated().any():
            raise ValueError(f"product {name!r} lists {int(d[id_col].duplicated().sum())} customer(s) twice; "
                             "it must have one row per customer.")
        inside = d[id_col].isin(ids)
        d = d.loc[inside]
        d = d.rename(columns={c: f"{c}_{name}" for c in d.columns if c != id_col and c in base.columns})
        base = base.merge(d, on=id_col, how="left")
        rows.append({"product": name, "present": True, "rows": len(df), "customers_matched": int(inside.sum()),
                     "customers_missing": len(base) - int(inside.sum()), "not_in_base": int((~inside).sum())})
    shares = [c for c in base.columns if str(c).startswith(share_prefix)]
    if online_channels is not None and shares:
        online = [f"{share_prefix}{ch}" for ch in online_channels if f"{share_prefix}{ch}" in base]
        known = base[shares].notna().any(axis=1)
        base["online_share"] = base[online].astype(float).fillna(0.0).sum(axis=1).where(known) if online else np.where(known, 0.0, np.nan)
    cov = pd.DataFrame(rows, columns=["product", "present", "rows", "customers_matched", "customers_missing", "not_in_base"])
    cov["share_missing"] = cov["customers_missing"] / len(base) if len(base) else np.nan
    return CustomerTable(base, cov)


def describe_rule(rule: Mapping) -> pd.DataFrame:
    """The rule as a readable table: one row per key, with what it means.

    Examples
    --------
    >>> describe_rule({"clv_tier_min": "top30", "combine": "any"})["criterion"].tolist()
    ['clv_tier_min', 'combine']
    """
    _check_rule(rule)
    rows = []
    for key, value in rule.items():
        if key == "segment_weights" and value:
            shown = ", ".join(f"{k}: {float(v):g}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        rows.append({"criterion": key, "value": shown, "meaning": RULE_KEYS[key]})
    return pd.DataFrame(rows, columns=["criterion", "value", "meaning"])


def feedback_changes(
    customers: pd.DataFrame,
    rule: Mapping,
    weights: pd.DataFrame,
    *,
    segment_col: str = "segment",
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """What the previous run's feedback changes in this selection.

    Selects with ``rule`` as written and with :func:`apply_feedback` applied,
    and compares the two target lists.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table (with ``segment_col``).
    rule : mapping
        The rule as written.
    weights : DataFrame
        From :func:`feedback_weights` (``segment``, ``weight``, ``action``, ``reason``, ...).

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

    Reasons are split at ``"; "``; the per-customer numbers (a customer's CLV,
    churn probability or decile) are dropped so that reasons of one kind are
    counted together, while thresholds stay.

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
    sel = selection.loc[selection["selected"].astype(bool), "reasons"].astype("string")
    parts = sel.str.split("; ").explode().dropna()
    parts = parts[parts.str.len() > 0]
    kinds = parts.str.replace(r"^(CLV|churn probability|churn risk decile) [\d.,]+ ", r"\1 ", regex=True)
    counts = kinds.value_counts()
    out = pd.DataFrame({"reason": counts.index.astype(str), "targets": counts.to_numpy().astype("int64")})
    return out.sort_values(["targets", "reason"], ascending=[False, True], kind="stable").reset_index(drop=True)


SEGMENTS_COLUMNS = ["customer_id", "segment", "r_score", "f_score", "m_score", "cluster", "cluster_name", "clv", "clv_low",
                    "clv_high", "churn_probability", "risk_decile", "matched", "selected", "rank", "reasons",
                    "contact_channel", "contact_cost", "below_contact_cost"]
TARGETS_COLUMNS = ["customer_id", "rank", "reasons", "segment", "cluster_name", "clv", "churn_probability",
                   "contact_channel", "contact_cost"]


def selection_products(customers: pd.DataFrame, selection: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``customer_segments`` and ``targets`` products (contract columns, pseudonymous ids only).

    Parameters
    ----------
    customers : DataFrame
        Per-customer table with ``segment``, the scores, ``cluster``,
        ``cluster_name`` and, when available, ``clv``, ``clv_low``,
        ``clv_high``, ``churn_probability``, ``risk_decile``,
        ``contact_channel`` and ``contact_cost`` (the cheapest channel and the
        cost of one contact through it, currency; missing ones are written as
        missing).
    selection : DataFrame
        :func:`select_targets` on the same customers (``below_contact_cost``
        False when it lacks the column).

    Returns
    -------
    (DataFrame, DataFrame)
        ``customer_segments``: every customer, columns :data:`SEGMENTS_COLUMNS`;
        ``targets``: the selected ones by rank, columns :data:`TARGETS_COLUMNS`.
    """
    own = ["matched", "selected", "rank", "reasons", "below_contact_cost"]
    sel = selection[[c for c in ["customer_id", *own] if c in selection]]
    c = customers.copy()
    c["customer_id"] = c["customer_id"].astype("string")
    s = sel.assign(customer_id=sel["customer_id"].astype("string"))
    out = c.drop(columns=[x for x in own if x in c]).merge(s, on="customer_id", how="left")
    for col in SEGMENTS_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out = out[SEGMENTS_COLUMNS].reset_index(drop=True)
    for col in ("selected", "matched", "below_contact_cost"):
        out[col] = out[col].astype("boolean").fillna(False).astype(bool)
    out["contact_channel"] = out["contact_channel"].astype("string")
    out["contact_cost"] = out["contact_cost"].astype(float)
    _check_pseudonymous(out["customer_id"], "customer_id")
    targets = out.loc[out["selected"]].sort_values("rank", kind="stable")[TARGETS_COLUMNS].reset_index(drop=True)
    return out, targets


def segment_overview(customer_segments: pd.DataFrame, order: Sequence[str] | None = None, *, min_count: int = 5) -> pd.DataFrame:
    """Per segment: customers, value, churn risk and targets, small cells suppressed.

    Parameters
    ----------
    customer_segments : DataFrame
        The ``customer_segments`` product (:func:`selection_products`).
    order : sequence of str, optional
        Segment order (e.g. the segment table's); segments not listed follow.
    min_count : int
        Rows describing fewer customers are blanked
        (:func:`ecrm_lib.core.privacy.suppress_small_cells`).

    Returns
    -------
    DataFrame
        ``segment``, ``customers``, ``customer_share`` (0-1), ``clv``
        (sum, currency), ``clv_share`` (0-1), ``clv_per_customer``
        (currency), ``mean_churn_probability`` (0-1), ``targets``,
        ``suppressed``.
    """
    from ecrm_lib.core.privacy import suppress_small_cells

    c = customer_segments
    clv = c["clv"].astype(float)
    g = pd.DataFrame({"segment": c["segment"].astype("string"), "clv": clv,
                      "churn": c["churn_probability"].astype(float), "t": c["selected"].astype(bool)}).groupby("segment")
    out = pd.DataFrame({"customers": g.size(), "clv": g["clv"].sum(min_count=1), "mean_churn_probability": g["churn"].mean(),
                        "targets": g["t"].sum().astype("int64")})
    names = list(dict.fromkeys([*(order or []), *sorted(out.index)]))
    out = out.reindex([s for s in names if s in out.index]).rename_axis("segment").reset_index()
    out["customers"] = out["customers"].astype("int64")
    out.insert(2, "customer_share", out["customers"] / max(len(c), 1))
    total = float(clv.sum())
    out.insert(4, "clv_share", out["clv"] / total if total > 0 else np.nan)
    out.insert(5, "clv_per_customer", out["clv"] / out["customers"])
    out = suppress_small_cells(out, "customers", min_count=min_count)
    few = (out["targets"].astype(float) > 0) & (out["targets"].astype(float) < min_count)
    out["targets"] = out["targets"].astype("Int64").mask(few)  # a handful of targets would describe them
    return out


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
        What the value bar (:func:`value_bar`) did: ``bar`` (contacts; None
        when the rule switches it off), ``applied`` (bool), ``why_not`` (why
        it was not applied; None when it was), ``removed`` (customers who
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
) -> SelectionResult:
    """The whole Selection step: customer table, RFM segments, clusters, rule, feedback, value bar, products.

    Parameters
    ----------
    purchases : DataFrame
        :func:`ecrm_lib.value.features.rfm_summary` of the transactions (customer ids attached).
    products : mapping
        ``customer_value``, ``churn_risk``, ``customer_channels`` products (None when absent).
    rule : mapping
        Selection rule (:data:`RULE_KEYS`).
    segment_table : DataFrame, optional
        :func:`ecrm_lib.seef.segments.load_segment_table` (default table when None).
    cluster_features : sequence of str, optional
        k-means features; default :func:`ecrm_lib.seef.segments.default_cluster_features`.
    k_range : (int, int)
        Smallest and largest k tried (:func:`ecrm_lib.seef.segments.choose_k`).
    random_state : int
        Seed of k-means.
    feedback : DataFrame, optional
        :func:`feedback_weights` of the previous run; applied with :func:`apply_feedback`.
    min_cluster_customers : int
        Fewer customers than this are not clustered.
    online_channels : sequence of str, optional
        Internet channels; adds ``online_share`` (see :func:`assemble_customers`),
        which the default cluster features then use instead of one share per channel.
    channel_costs : DataFrame, optional
        The channel cost table: each customer gets ``contact_channel`` and
        ``contact_cost`` (the cheapest channel that reaches them and the cost
        of one contact through it, :func:`contact_plan`), which the rule's
        value bar compares with their CLV. None: no contact cost, and the
        default bar cannot be applied (``value_bar["why_not"]`` says so).
    contact_purpose : str, optional
        Purpose whose cost per contact is used (None: the general cost).

    Returns
    -------
    SelectionResult
    """
    from ecrm_lib.seef import segments as sg

    k_min, k_max = (int(k) for k in k_range)
    table = sg.load_segment_table() if segment_table is None else segment_table
    ct = assemble_customers(purchases, products, online_channels=online_channels)
    c = ct.customers
    for col in ("clv", "clv_low", "clv_high", "churn_probability", "risk_decile"):
        if col not in c:  # product absent: criteria on it select nobody, and the coverage table says why
            c[col] = np.nan
    scores = sg.rfm_scores(c, recency_gap_col="recency_gap", frequency_col="n_purchase_days",
                           monetary_col="spend_per_purchase_day")
    seg = sg.assign_segments(scores, table)
    c = c.merge(seg[["customer_id", "r_score", "f_score", "m_score", "segment"]], on="customer_id", how="left")
    feats = list(cluster_features) if cluster_features is not None else sg.default_cluster_features(c)
    clusters = None
    if len(c) >= max(min_cluster_customers, k_min + 1) and feats:
        clusters = sg.cluster_customers(c, feats, k_min=k_min, k_max=k_max, random_state=random_state)
        c = c.merge(clusters.assignments, on="customer_id", how="left")
    else:
        c["cluster"] = 0
        c["cluster_name"] = pd.array(["all customers"] * len(c), dtype="string")
    if channel_costs is not None and len(c):  # after clustering: the contact cost is no cluster feature
        plan = contact_plan(c, channel_costs, purpose=contact_purpose)
        c["contact_channel"] = plan["cheapest_channel"].to_numpy()
        c["contact_cost"] = plan["cheapest_cost"].to_numpy()
    written = dict(rule)
    changes = None
    applied = written
    if feedback is not None and len(feedback):
        applied, changes, _ = feedback_changes(c, written, feedback)
    if len(c):
        selection = select_targets(c, applied)
    else:
        _check_rule(applied)
        selection = pd.DataFrame({"customer_id": pd.array([], dtype="string"), "matched": np.array([], bool),
                                  "selected": np.array([], bool), "rank": pd.array([], dtype="Int64"),
                                  "reasons": pd.array([], dtype="string"), "below_contact_cost": np.array([], bool)})
    customer_segments, targets = selection_products(c, selection)
    bar_info = _value_bar_summary(c, applied, selection, channel_costs is not None)
    return SelectionResult(c, ct.coverage, table, clusters, applied, written, changes, selection, customer_segments, targets,
                           bar_info)


def _value_bar_summary(c: pd.DataFrame, rule: Mapping, selection: pd.DataFrame, have_costs: bool) -> dict:
    """What the value bar did in :func:`run_selection` (see :attr:`SelectionResult.value_bar`)."""
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
        info["why_not"] = f"the rule switches it off ({VALUE_BAR_KEY} = null)"
    elif not known:
        info["why_not"] = ("the run has no channel cost table, so the cost of a contact is unknown" if not have_costs else
                           "no customer is reachable through a priced channel, so the cost of a contact is unknown")
    else:
        without = select_targets(c, {**rule, VALUE_BAR_KEY: None})["selected"].to_numpy(bool)
        info.update(applied=True, removed=int(selection["below_contact_cost"].sum()), displaced=int((without & ~sel).sum()),
                    targets_without_bar=int(without.sum()))
    return info


# =========================================================================== evaluation


def _flags(customers: pd.DataFrame, selected, id_col: str) -> np.ndarray:
    """Boolean target flag per row from a bool array/Series or a collection of ids."""
    if isinstance(selected, pd.DataFrame):
        sel = selected.loc[selected["selected"].astype(bool), "customer_id"]
        return customers[id_col].isin(sel).to_numpy()
    arr = np.asarray(selected)
    if arr.dtype == bool:
        if len(arr) != len(customers):
            raise ValueError(f"the target flags have {len(arr)} values but the customer table has {len(customers)} rows; "
                             "pass one flag per row (in row order), a list of ids, or the result of select_targets.")
        return arr
    return customers[id_col].isin(list(selected)).to_numpy()


def value_share(
    customers: pd.DataFrame,
    selected,
    *,
    id_col: str = "customer_id",
    value_col: str = "clv",
    low_col: str = "clv_low",
    high_col: str = "clv_high",
) -> pd.DataFrame:
    """Share of predicted future value held by the targets.

    Parameters
    ----------
    customers : DataFrame
        Per-customer table with ``value_col`` (currency).
    selected : bool array, collection of ids, or the DataFrame of :func:`select_targets`
        The targets.

    Returns
    -------
    DataFrame
        One row per group (``targets``, ``rest``, ``all``): ``customers``,
        ``customer_share``, ``value`` (sum, currency), ``value_share`` (0-1),
        ``value_per_customer``, and ``value_low`` / ``value_high`` (sums of the
        per-customer bounds, currency) when those columns exist.
    """
    flag = _flags(customers, selected, id_col)
    v = customers[value_col].astype(float).fillna(0.0).to_numpy()
    total = v.sum()
    rows = []
    for name, m in (("targets", flag), ("rest", ~flag), ("all", np.ones(len(flag), bool))):
        row = {"group": name, "customers": int(m.sum()), "customer_share": m.mean() if len(m) else np.nan,
               "value": float(v[m].sum()), "value_share": float(v[m].sum() / total) if total > 0 else np.nan,
               "value_per_customer": float(v[m].mean()) if m.any() else np.nan}
        for key, col in (("value_low", low_col), ("value_high", high_col)):
            if col in customers:
                row[key] = float(customers.loc[m, col].astype(float).fillna(0.0).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def profitability(
    customers: pd.DataFrame,
    *,
    horizon_weeks: float,
    cost_window_weeks: float,
    id_col: str = "customer_id",
    clv_col: str = "clv",
    cost_col: str = "cost_to_serve",
) -> pd.DataFrame:
    """CLV minus the expected cost to serve over the same horizon.

    The cost to serve observed over ``cost_window_weeks`` is assumed to go on
    at the same weekly rate: ``expected_cost = cost_to_serve * horizon_weeks /
    cost_window_weeks`` (a missing cost counts as 0 and is flagged). Without a
    ``cost_col`` column the expected cost is NaN and net value equals CLV.

    Two simplifications, both on the cautious side for short horizons: the
    cost is not discounted while CLV is (at 10 % a year over 52 weeks the cost
    is overstated by about 5 %), and a customer first seen part-way through the
    cost window is priced at the rate of the whole window (their cost is
    understated by the share of the window before they arrived).

    Parameters
    ----------
    horizon_weeks : float
        Horizon of the CLV (weeks).
    cost_window_weeks : float
        Period over which ``cost_to_serve`` was observed (weeks).

    Returns
    -------
    DataFrame
        ``customer_id``, ``clv``, ``expected_cost`` (currency), ``net_value``
        (currency), ``profitable`` (net value > 0), ``cost_known`` (bool).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "clv": [100.0, 50.0], "cost_to_serve": [20.0, 40.0]})
    >>> profitability(c, horizon_weeks=52, cost_window_weeks=26)[["expected_cost", "net_value"]].to_numpy().tolist()
    [[40.0, 60.0], [80.0, -30.0]]
    """
    if not (horizon_weeks > 0 and cost_window_weeks > 0):
        raise ValueError(f"horizon_weeks ({horizon_weeks}) and cost_window_weeks ({cost_window_weeks}) must be positive.")
    clv = customers[clv_col].astype(float).to_numpy()
    out = pd.DataFrame({"customer_id": customers[id_col].to_numpy(), "clv": clv})
    if cost_col in customers:
        cost = customers[cost_col].astype(float)
        out["cost_known"] = cost.notna().to_numpy()
        out["expected_cost"] = cost.fillna(0.0).to_numpy() * (horizon_weeks / cost_window_weeks)
        out["net_value"] = clv - out["expected_cost"].to_numpy()
    else:
        out["cost_known"] = False
        out["expected_cost"] = np.nan
        out["net_value"] = clv
    out["profitable"] = out["net_value"] > 0
    return out[["customer_id", "clv", "expected_cost", "net_value", "profitable", "cost_known"]]


def profitability_summary(profit: pd.DataFrame, selected, *, id_col: str = "customer_id") -> pd.DataFrame:
    """Targets vs the rest after cost to serve.

    Returns
    -------
    DataFrame
        Per group (``targets``, ``rest``, ``all``): ``customers``, ``clv``,
        ``expected_cost``, ``net_value`` (sums, currency) and
        ``share_unprofitable`` (0-1).
    """
    flag = _flags(profit, selected, id_col)
    rows = []
    for name, m in (("targets", flag), ("rest", ~flag), ("all", np.ones(len(flag), bool))):
        p = profit.loc[m]
        rows.append({"group": name, "customers": int(m.sum()), "clv": float(p["clv"].sum()),
                     "expected_cost": float(p["expected_cost"].sum()), "net_value": float(p["net_value"].sum()),
                     "share_unprofitable": float((~p["profitable"]).mean()) if len(p) else np.nan})
    return pd.DataFrame(rows)


def compare_groups(
    customers: pd.DataFrame,
    selected,
    features: Sequence[str] | None = None,
    *,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Profile of the targets against the rest.

    The standardised difference is ``(mean_targets - mean_rest) /
    sqrt((sd_targets^2 + sd_rest^2) / 2)`` (0 when both spreads are 0);
    |d| above about 0.5 is a clear difference.

    Returns
    -------
    DataFrame
        ``feature``, ``median_targets``, ``median_rest``, ``mean_targets``,
        ``mean_rest``, ``std_difference``, sorted by |std_difference|.
    """
    flag = _flags(customers, selected, id_col)
    features = list(features) if features is not None else default_features(customers, id_col=id_col)
    rows = []
    for f in features:
        x = customers[f].astype(float)
        a, b = x[flag], x[~flag]
        pooled = math.sqrt((np.nanvar(a, ddof=1) if a.count() > 1 else 0.0) / 2 + (np.nanvar(b, ddof=1) if b.count() > 1 else 0.0) / 2)
        d = (a.mean() - b.mean()) / pooled if pooled > 0 else 0.0
        rows.append({"feature": f, "median_targets": a.median(), "median_rest": b.median(),
                     "mean_targets": a.mean(), "mean_rest": b.mean(), "std_difference": float(d)})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.reindex(out["std_difference"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    return out


def clear_differences_text(profile: pd.DataFrame, threshold: float = 0.5, *, max_named: int | None = None) -> str:
    """The sentence naming the clear differences of a profile: every measure with |d| at least ``threshold``.

    Parameters
    ----------
    profile : DataFrame
        :func:`compare_groups` output (``feature``, ``std_difference``).
    threshold : float
        Smallest |standardised difference| that counts as clear (0.5 by convention).
    max_named : int, optional
        Name at most this many (the largest |d| first) and say how many meet
        the bar; None: name every one.

    Returns
    -------
    str
        Plain text (escape it for display, e.g. with :func:`ecrm_lib.report.display.md`).

    Examples
    --------
    >>> p = pd.DataFrame({"feature": ["f", "clv", "T"], "std_difference": [1.234, -0.61, 0.2]})
    >>> clear_differences_text(p)
    '2 measures differ clearly (|d| at least 0.5), largest first: f (d = +1.23), clv (d = -0.61); d > 0: higher among the targets.'
    >>> clear_differences_text(p, max_named=1)
    '2 measures differ clearly (|d| at least 0.5); the largest: f (d = +1.23); d > 0: higher among the targets.'
    >>> clear_differences_text(p, threshold=2)
    'No measure differs clearly (|d| at least 2): the targets look much like everyone else.'
    """
    d = profile["std_difference"].astype(float)
    big = profile.assign(_a=d.abs()).loc[d.abs() >= threshold].sort_values("_a", ascending=False, kind="stable")
    k = len(big)
    if k == 0:
        return f"No measure differs clearly (|d| at least {threshold:g}): the targets look much like everyone else."
    shown = big if max_named is None else big.head(int(max_named))
    names = ", ".join(f"{f} (d = {v:+.2f})" for f, v in zip(shown["feature"], shown["std_difference"]))
    head = "1 measure differs clearly" if k == 1 else f"{k} measures differ clearly"
    if len(shown) < k:
        return f"{head} (|d| at least {threshold:g}); the largest {len(shown)}: {names}; d > 0: higher among the targets." \
            if len(shown) > 1 else f"{head} (|d| at least {threshold:g}); the largest: {names}; d > 0: higher among the targets."
    return f"{head} (|d| at least {threshold:g}){', largest first' if k > 1 else ''}: {names}; d > 0: higher among the targets."


def target_changes(current, previous, *, id_col: str = "customer_id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Change since a previous target list: who entered, left, stayed.

    Parameters
    ----------
    current, previous : collection of ids, or DataFrame of :func:`select_targets`
        (its selected rows), or a DataFrame with an ``id_col`` column (all rows).

    Returns
    -------
    (DataFrame, DataFrame)
        Per customer: ``customer_id``, ``status`` (``entered``, ``left``,
        ``stayed``), sorted by status then id; and the counts: ``status``,
        ``customers``, in the order entered, left, stayed (zeros included).

    Examples
    --------
    >>> detail, counts = target_changes(["a", "b", "c"], ["b", "c", "d"])
    >>> counts.to_dict("records")
    [{'status': 'entered', 'customers': 1}, {'status': 'left', 'customers': 1}, {'status': 'stayed', 'customers': 2}]
    """
    def ids(x) -> set:
        if isinstance(x, pd.DataFrame):
            if "selected" in x:
                x = x.loc[x["selected"].astype(bool)]
            return set(x[id_col].dropna())
        return set(pd.Series(list(x)).dropna())

    cur, prev = ids(current), ids(previous)
    groups = {"entered": sorted(cur - prev, key=str), "left": sorted(prev - cur, key=str), "stayed": sorted(cur & prev, key=str)}
    detail = pd.DataFrame([(i, s) for s, lst in groups.items() for i in lst], columns=["customer_id", "status"])
    counts = pd.DataFrame({"status": list(groups), "customers": [len(v) for v in groups.values()]})
    return detail, counts


def customer_view(customer_segments: pd.DataFrame, *others: pd.DataFrame | None, id_col: str = "customer_id") -> pd.DataFrame:
    """Every customer of the selection with the columns of other products added (for evaluation and expansion).

    ``customer_segments`` (the Selection product: every customer, with
    ``selected``) is the base; each further product (e.g.
    ``customer_value``, ``customer_channels``; None when absent) is
    left-joined on ``id_col`` with only the columns the table does not have
    yet. Ids are compared as text.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [5.0, 1.0], "selected": [True, False]})
    >>> v = pd.DataFrame({"customer_id": ["a"], "clv": [9.0], "frequency": [3]})
    >>> customer_view(s, v, None)[["customer_id", "clv", "frequency"]].to_numpy().tolist()
    [['a', 5.0, 3.0], ['b', 1.0, nan]]
    """
    out = customer_segments.copy()
    out[id_col] = out[id_col].astype("string")
    for df in others:
        if df is None:
            continue
        if id_col not in df:
            raise ValueError(f"a product has no {id_col!r} column; it has {list(df.columns)}.")
        d = df.copy()
        d[id_col] = d[id_col].astype("string")
        keep = [id_col] + [c for c in d.columns if c not in out.columns]
        out = out.merge(d[keep].drop_duplicates(id_col), on=id_col, how="left")
    return out


def concentration_curve(values, points: int = 201) -> pd.DataFrame:
    """Value concentration from the top: the share of total value held by the highest-value customers.

    The Lorenz curve read from the other end: ``value_share`` at
    ``customer_share`` x is ``1 - L(1 - x)``, the share held by the ``x``
    highest-value customers (missing values left out, negatives as 0).

    Returns
    -------
    DataFrame
        ``customer_share``, ``value_share`` (both 0-1).

    Examples
    --------
    >>> concentration_curve([1.0, 1.0, 2.0], points=4).round(3)["value_share"].tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    lor = lorenz_curve(values, points=points)
    x = lor["customer_share"].to_numpy()
    top = 1.0 - np.interp(1.0 - x, x, lor["value_share"].to_numpy())
    return pd.DataFrame({"customer_share": x, "value_share": np.clip(top, 0.0, 1.0)})


def target_concentration(customers: pd.DataFrame, selected, *, id_col: str = "customer_id", value_col: str = "clv") -> dict:
    """Where the targets sit on the value concentration curve.

    Returns
    -------
    dict
        ``targets`` (customers), ``customer_share`` and ``value_share`` of the
        targets (0-1), ``best_value_share`` (the share the same number of
        highest-value customers holds: the most any group of that size can
        hold), ``capture`` (value_share over best_value_share, 0-1) and
        ``gini`` of all customers' values.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": list("abcd"), "clv": [10.0, 5.0, 3.0, 2.0]})
    >>> r = target_concentration(c, ["a", "c"])
    >>> round(r["value_share"], 2), round(r["best_value_share"], 2), round(r["capture"], 3)
    (0.65, 0.75, 0.867)
    """
    flag = _flags(customers, selected, id_col)
    v = np.clip(customers[value_col].astype(float).fillna(0.0).to_numpy(), 0.0, None)
    total = v.sum()
    k = int(flag.sum())
    share = float(v[flag].sum() / total) if total > 0 else np.nan
    best = float(np.sort(v)[::-1][:k].sum() / total) if total > 0 else np.nan
    return {"targets": k, "customer_share": k / len(v) if len(v) else np.nan, "value_share": share,
            "best_value_share": best, "capture": share / best if best and best > 0 else np.nan,
            "gini": gini(customers[value_col].astype(float).to_numpy())}


def previous_targets_today(previous_targets, bridge: pd.DataFrame | None = None, *, id_col: str = "customer_id") -> pd.DataFrame:
    """The previous run's targets under today's customer ids.

    Customer ids hash a customer's set of accounts, so a customer who gained
    or lost an account since the previous run has another id today. The
    ``bridge`` (from :func:`ecrm_lib.seef.loop.bridge_customer_ids`: one row per
    earlier customer with ``earlier_customer_id`` and today's ``customer_id``)
    translates them; ids without a bridge row are kept as they are, and
    earlier customers whose accounts are all gone today (``customer_id`` NA)
    keep their earlier id (they count as having left).

    Parameters
    ----------
    previous_targets : collection of ids, or DataFrame with ``id_col``
        (only its ``selected`` rows when it has that column).
    bridge : DataFrame, optional
        ``earlier_customer_id``, ``customer_id``; None: ids compared as they are.

    Returns
    -------
    DataFrame
        ``earlier_customer_id``, ``customer_id`` (today's id), ``bridged``
        (True when the id changed through the bridge); one row per previous
        target, duplicates of today's id removed (two earlier customers
        merged into one count once).

    Examples
    --------
    >>> b = pd.DataFrame({"earlier_customer_id": ["x", "y"], "customer_id": ["x", "z"]})
    >>> previous_targets_today(["x", "y", "w"], b)["customer_id"].tolist()
    ['w', 'x', 'z']
    """
    if isinstance(previous_targets, pd.DataFrame):
        p = previous_targets
        if "selected" in p:
            p = p.loc[p["selected"].astype(bool)]
        ids = p[id_col]
    else:
        ids = pd.Series(list(previous_targets))
    earlier = pd.Series(ids.dropna().astype("string").unique(), dtype="string")
    today = earlier.copy()
    if bridge is not None and len(bridge):
        for col in ("earlier_customer_id", "customer_id"):
            if col not in bridge:
                raise ValueError(f"bridge lacks {col!r}; pass the result of ecrm_lib.seef.loop.bridge_customer_ids.")
        b = bridge.dropna(subset=["customer_id"]).astype({"earlier_customer_id": "string", "customer_id": "string"})
        m = dict(zip(b["earlier_customer_id"], b["customer_id"]))
        today = earlier.map(lambda i: m.get(i, i)).astype("string")
    out = pd.DataFrame({"earlier_customer_id": earlier, "customer_id": today})
    out["bridged"] = (out["earlier_customer_id"] != out["customer_id"]).astype(bool)
    return out.drop_duplicates("customer_id").sort_values("customer_id", kind="stable").reset_index(drop=True)


def profile_features(customers: pd.DataFrame, *, id_col: str = "customer_id", exclude: Sequence[str] = ()) -> list[str]:
    """Behaviour features for the targets-vs-rest profile: :func:`default_features` without labels.

    Leaves out the selection's own bookkeeping and codes that are labels, not
    quantities (``cluster``, ``risk_decile``, ``r_score``/``f_score``/``m_score``
    are kept: they are ordered scores), and the interval bounds of CLV
    (``clv_low``, ``clv_high``: the same information as ``clv``).
    """
    return default_features(customers, id_col=id_col, exclude=("cluster", "clv_low", "clv_high", "model", *exclude))


# =========================================================================== expansion

_ID_LIKE = re.compile(r"(^|_)(id|ids|key|name|email|e_mail|phone|mobile|address|postcode)$", re.I)


def default_features(customers: pd.DataFrame, *, id_col: str = "customer_id", exclude: Sequence[str] = ()) -> list[str]:
    """Numeric and boolean columns usable as model features: no ids, names or contact data.

    Leaves out ``id_col``, columns whose names end in id/key/name/email/phone/
    address/postcode, the selection outputs (``matched``, ``selected``,
    ``rank``, ``contact_cost``, ``below_contact_cost``) and ``exclude``. Channel shares (``share_<...>_email``,
    ``share_<...>_phone``) are behaviour, not contact data, and are kept.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "phone": [1], "share_contacts_phone": [0.5], "clv": [1.0]})
    >>> default_features(c)
    ['share_contacts_phone', 'clv']
    """
    skip = {id_col, "matched", "selected", "rank", "contact_cost", "below_contact_cost", *exclude}
    out = []
    for c in customers.columns:
        if c in skip or (_ID_LIKE.search(str(c)) and not str(c).startswith("share_")):
            continue
        s = customers[c]
        if pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_datetime64_any_dtype(s)):
            out.append(c)
    return out


@dataclass
class LookalikeResult:
    """What :func:`lookalike_model` returns.

    Attributes
    ----------
    scores : DataFrame
        ``customer_id``, ``is_target``, ``score`` (out-of-fold probability
        of looking like a target, 0-1) and ``rank`` among non-targets
        (1 = most alike; NA for targets), sorted by score.
    folds : DataFrame
        ``fold``, ``n_train``, ``n_test``, ``targets_test``, ``auc``.
    auc_mean, auc_sd : float
        Mean and standard deviation of the fold AUCs.
    features : list of str
    model : str
    """

    scores: pd.DataFrame
    folds: pd.DataFrame
    auc_mean: float
    auc_sd: float
    features: list[str]
    model: str


def _estimator(model: str, random_state: int):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    if model == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, random_state=random_state)
    raise ValueError(f'model must be "logistic" or "gbm", but {model!r} was passed.')


def lookalike_model(
    customers: pd.DataFrame,
    selected,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    model: str = "logistic",
    n_splits: int = 5,
    random_state: int = 0,
    id_col: str = "customer_id",
) -> LookalikeResult:
    """Look-alike model: targets vs the rest, cross-validated, scoring every non-target.

    A stratified ``n_splits``-fold split (shuffled, seeded) trains the model
    on all folds but one and scores the held-out fold, so every customer's
    score comes from a model that never saw them (a non-target is not scored
    by a model that learnt it as a negative). The fold AUCs measure how well
    targets can be told apart; about 0.5 means they look like everyone else.
    Features that define the selection rule (e.g. ``clv`` for a CLV tier)
    make the model reproduce the rule: list them in ``exclude`` to find
    customers who resemble the targets in other ways.

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    selected : bool array, collection of ids, or DataFrame of :func:`select_targets`
    features : sequence of str, optional
        Default :func:`default_features` (no ids or contact data).
    exclude : sequence of str
        Columns to leave out of the default features.
    model : {"logistic", "gbm"}
        Logistic regression (median-imputed, standardised) or histogram
        gradient boosting.
    n_splits : int
        Folds (at least 2; at most the number of targets or non-targets).
    random_state : int
        Seed of the split and the model.

    Returns
    -------
    LookalikeResult
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    y = _flags(customers, selected, id_col).astype(int)
    feats = list(features) if features is not None else default_features(customers, id_col=id_col, exclude=exclude)
    if not feats:
        raise ValueError("no usable feature columns; pass features= with numeric per-customer columns.")
    bad = [f for f in feats if f == id_col or f not in customers]
    if bad:
        raise ValueError(f"features {bad} are the id or not in the table; use behaviour columns only.")
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < n_splits or n_splits < 2:
        raise ValueError(f"{n_pos} targets and {n_neg} other customers are too few for {n_splits}-fold "
                         "cross-validation; select more targets or lower n_splits (>= 2).")
    X = customers[feats].astype(float).to_numpy()
    oof = np.full(len(y), np.nan)
    rows = []
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    import sklearn.ensemble  # noqa: F401  (load native libraries so that the limit reaches them)
    import sklearn.linear_model  # noqa: F401

    with threadpool_limits(limits=1):
        for i, (tr, te) in enumerate(skf.split(X, y), start=1):
            est = _estimator(model, random_state).fit(X[tr], y[tr])
            p = est.predict_proba(X[te])[:, 1]
            oof[te] = p
            rows.append({"fold": i, "n_train": len(tr), "n_test": len(te), "targets_test": int(y[te].sum()),
                         "auc": float(roc_auc_score(y[te], p))})
    folds = pd.DataFrame(rows)
    scores = pd.DataFrame({"customer_id": customers[id_col].to_numpy(), "is_target": y.astype(bool), "score": oof})
    scores = scores.sort_values(["is_target", "score", "customer_id"], ascending=[True, False, True], kind="stable")
    nt = ~scores["is_target"]
    scores["rank"] = pd.array([pd.NA] * len(scores), dtype="Int64")
    scores.loc[nt, "rank"] = np.arange(1, int(nt.sum()) + 1)
    scores = scores.sort_values(["score", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return LookalikeResult(scores, folds, float(folds["auc"].mean()), float(folds["auc"].std(ddof=1)), feats, model)


def expansion_value(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    top_n: int | Sequence[int],
    *,
    id_col: str = "customer_id",
    clv_col: str = "clv",
    low_col: str = "clv_low",
    high_col: str = "clv_high",
    exclude=None,
) -> pd.DataFrame:
    """Expected value of adding the top-N look-alike customers to the targets.

    The value is the sum of their CLV (currency). When ``clv_low`` and
    ``clv_high`` exist, ``value_low`` / ``value_high`` are the sums of the
    per-customer bounds: a conservative (wide) interval, since per-customer
    errors partly cancel in a sum.

    Parameters
    ----------
    scores : DataFrame
        ``LookalikeResult.scores`` (non-targets ranked by ``rank``).
    top_n : int or sequence of int
        How many to add (one row per N; capped at the number of non-targets
        that may be added).
    exclude : collection of ids, optional
        Non-targets that may not be added, e.g. those below the value bar
        (``below_contact_cost`` of :func:`expansion_list`): the top N and the
        random baseline are both drawn from the others.

    Returns
    -------
    DataFrame
        ``top_n``, ``added`` (customers actually added), ``value``,
        ``value_low``, ``value_high`` (currency; NaN without the bounds),
        ``value_random`` (the expected value of adding as many non-targets
        picked at random: ``added`` times their mean CLV, currency; the
        baseline the model has to beat), ``mean_score``, ``min_score``.
    """
    ranked = scores.loc[scores["rank"].notna()].sort_values("rank")
    if exclude is not None:
        ranked = ranked.loc[~ranked["customer_id"].isin(list(exclude))]
    cols = [c for c in (clv_col, low_col, high_col) if c in customers]
    ranked = ranked.merge(customers[[id_col, *cols]].rename(columns={id_col: "customer_id"}), on="customer_id", how="left")
    ns = [top_n] if isinstance(top_n, (int, np.integer)) else list(top_n)
    mean_clv = float(ranked[clv_col].astype(float).fillna(0).mean()) if len(ranked) else np.nan
    rows = []
    for n in ns:
        if n < 0:
            raise ValueError(f"top_n must be >= 0, but {n} was passed.")
        head = ranked.head(int(n))
        rows.append({
            "top_n": int(n), "added": len(head),
            "value": float(head[clv_col].astype(float).fillna(0).sum()),
            "value_low": float(head[low_col].astype(float).fillna(0).sum()) if low_col in head else np.nan,
            "value_high": float(head[high_col].astype(float).fillna(0).sum()) if high_col in head else np.nan,
            "value_random": len(head) * mean_clv,
            "mean_score": float(head["score"].mean()) if len(head) else np.nan,
            "min_score": float(head["score"].min()) if len(head) else np.nan,
        })
    return pd.DataFrame(rows)


def cheapest_channel(
    customers: pd.DataFrame,
    channel_costs: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    share_prefixes: Sequence[str] = ("share_purchases_", "share_contacts_"),
    min_share: float = 0.0,
    purpose: str | None = None,
) -> pd.DataFrame:
    """Cheapest channel through which each customer is reachable.

    A customer is reachable through a channel when any of their share columns
    for it (``share_purchases_<channel>``, ``share_contacts_<channel>``) is
    above ``min_share``. The cost per contact comes from ``channel_costs``
    (``channel``, ``purpose``, ``cost_per_contact``): the row for ``purpose``
    when given and present, else the general row (empty purpose). Channels
    without a cost are not considered. Ties go to the channel name first in
    alphabetical order.

    Returns
    -------
    DataFrame
        ``customer_id``, ``channel`` (NA when no priced channel reaches the
        customer), ``cost_per_contact`` (currency), ``reachable_channels``
        (comma-separated, priced ones, cheapest first).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "share_purchases_store": [1.0, 0.0],
    ...                   "share_contacts_email": [0.5, 0.0], "share_contacts_phone": [0.5, 1.0]})
    >>> costs = pd.DataFrame({"channel": ["store", "email", "phone"], "purpose": [None, None, None],
    ...                       "cost_per_contact": [12000, 150, 6000]})
    >>> cheapest_channel(c, costs)[["channel", "cost_per_contact"]].to_numpy().tolist()
    [['email', 150.0], ['phone', 6000.0]]
    """
    for col in ("channel", "cost_per_contact"):
        if col not in channel_costs:
            raise ValueError(f"channel_costs needs a {col!r} column; it has {list(channel_costs.columns)}.")
    cc = channel_costs.copy()
    cc["channel"] = cc["channel"].astype("string").str.strip().str.lower()
    purp = cc["purpose"].astype("string").str.strip().fillna("") if "purpose" in cc else pd.Series("", index=cc.index)
    general = cc.loc[purp == ""].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
    cost = general
    if purpose is not None:
        specific = cc.loc[purp == purpose].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
        cost = specific.combine_first(general)
    reach: dict[str, np.ndarray] = {}
    for c in customers.columns:
        for p in share_prefixes:
            if str(c).startswith(p):
                ch = str(c)[len(p):].lower()
                m = (customers[c].astype(float) > min_share).fillna(False).to_numpy()
                reach[ch] = reach.get(ch, np.zeros(len(customers), bool)) | m
    priced = sorted((ch for ch in reach if ch in cost.index), key=lambda ch: (cost[ch], ch))
    n = len(customers)
    best = np.full(n, None, dtype=object)
    best_cost = np.full(n, np.nan)
    lists = np.full(n, "", dtype=object)
    for ch in priced:  # cheapest first
        m = reach[ch]
        new = m & pd.isna(best)
        best[new] = ch
        best_cost[new] = cost[ch]
        lists[m] = np.where(lists[m] == "", ch, lists[m] + ", " + ch)
    return pd.DataFrame({
        "customer_id": customers[id_col].to_numpy(),
        "channel": pd.array(best, dtype="string"),
        "cost_per_contact": best_cost,
        "reachable_channels": pd.array(lists, dtype="string"),
    })


_RULE_COLUMNS: dict[str, tuple[str, ...]] = {
    "clv_tier_min": ("clv", "clv_low", "clv_high", "expected_purchases"),
    "clv_min": ("clv", "clv_low", "clv_high", "expected_purchases"),
    "churn_probability_min": ("churn_probability", "risk_decile", "p_alive"),
    "churn_decile_max": ("churn_probability", "risk_decile", "p_alive"),
    "segments": ("segment", "r_score", "f_score", "m_score"),
    "clusters": ("cluster", "cluster_name"),
    "segment_weights": ("segment",),
}


def rule_columns(rule: Mapping | None) -> list[str]:
    """Columns that define a selection rule, and those that carry the same information.

    A look-alike model given these columns re-learns the rule instead of
    finding customers who resemble the targets in their behaviour: leave them
    out (``lookalike_model(..., exclude=rule_columns(rule))``). ``clv`` brings
    its interval bounds and the model output it is computed from
    (``expected_purchases``; the purchase history itself stays),
    ``churn_probability`` its risk decile and ``p_alive``, named segments
    their RFM scores; ``cluster`` is always listed (a label, not a quantity).

    Examples
    --------
    >>> rule_columns({"clv_tier_min": "top30", "churn_decile_max": 5, "combine": "any"})
    ['clv', 'clv_low', 'clv_high', 'expected_purchases', 'churn_probability', 'risk_decile', 'p_alive', 'cluster']
    """
    out: list[str] = []
    for key in (rule or {}):
        for c in _RULE_COLUMNS.get(key, ()):
            if c not in out:
                out.append(c)
    if "cluster" not in out:
        out.append("cluster")
    return out


def typical_channel(
    customers: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    share_prefixes: Sequence[str] = ("share_contacts_", "share_purchases_"),
) -> pd.DataFrame:
    """Each customer's typical channel: the one with the largest share of their contacts, else of their purchases.

    The first prefix with any positive share wins (contacts before purchases
    by default); ties go to the channel name first in alphabetical order.

    Returns
    -------
    DataFrame
        ``customer_id``, ``typical_channel`` (NA when no share is positive),
        ``typical_share`` (0-1).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "share_contacts_phone": [0.7, 0.0],
    ...                   "share_contacts_email": [0.3, 0.0], "share_purchases_web": [1.0, 1.0]})
    >>> typical_channel(c)["typical_channel"].tolist()
    ['phone', 'web']
    """
    n = len(customers)
    best = np.full(n, None, dtype=object)
    best_share = np.full(n, np.nan)
    for prefix in share_prefixes:
        cols = sorted(c for c in customers.columns if str(c).startswith(prefix))
        if not cols:
            continue
        M = customers[cols].astype(float).fillna(0.0).to_numpy()
        idx = M.argmax(axis=1)  # first maximum: alphabetical tie-break
        top = M[np.arange(n), idx]
        new = pd.isna(best) & (top > 0)
        names = np.array([c[len(prefix):].lower() for c in cols], dtype=object)
        best[new] = names[idx[new]]
        best_share[new] = top[new]
    return pd.DataFrame({"customer_id": customers[id_col].to_numpy(),
                         "typical_channel": pd.array(best, dtype="string"), "typical_share": best_share})


def _channel_cost_table(channel_costs: pd.DataFrame, purpose: str | None) -> pd.Series:
    cc = channel_costs.copy()
    cc["channel"] = cc["channel"].astype("string").str.strip().str.lower()
    purp = cc["purpose"].astype("string").str.strip().fillna("") if "purpose" in cc else pd.Series("", index=cc.index)
    cost = cc.loc[purp == ""].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
    if purpose is not None:
        specific = cc.loc[purp == purpose].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
        cost = specific.combine_first(cost)
    return cost


def contact_plan(
    customers: pd.DataFrame,
    channel_costs: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    purpose: str | None = None,
    min_share: float = 0.0,
) -> pd.DataFrame:
    """Per customer: the cheapest channel that reaches them and their typical channel, with the cost of one contact in each.

    Combines :func:`cheapest_channel` and :func:`typical_channel`; the costs
    come from ``channel_costs`` (``cost_per_contact``, config currency; the
    row for ``purpose`` when given, else the general one).

    Returns
    -------
    DataFrame
        ``customer_id``, ``cheapest_channel``, ``cheapest_cost``,
        ``typical_channel``, ``typical_cost`` (NaN when that channel has no
        price), ``saving`` (typical minus cheapest cost per contact; NaN when
        either is unknown), ``reachable_channels``.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "share_contacts_phone": [0.8], "share_contacts_email": [0.2]})
    >>> costs = pd.DataFrame({"channel": ["phone", "email"], "cost_per_contact": [6000, 150]})
    >>> contact_plan(c, costs)[["cheapest_channel", "typical_channel", "saving"]].to_numpy().tolist()
    [['email', 'phone', 5850.0]]
    """
    ch = cheapest_channel(customers, channel_costs, id_col=id_col, purpose=purpose, min_share=min_share)
    ty = typical_channel(customers, id_col=id_col)
    cost = _channel_cost_table(channel_costs, purpose)
    out = pd.DataFrame({
        "customer_id": ch["customer_id"],
        "cheapest_channel": ch["channel"],
        "cheapest_cost": ch["cost_per_contact"],
        "typical_channel": ty["typical_channel"].to_numpy(),
    })
    out["typical_cost"] = out["typical_channel"].map(lambda c: cost.get(c, np.nan) if isinstance(c, str) else np.nan).astype(float)
    out["saving"] = out["typical_cost"] - out["cheapest_cost"]
    out["reachable_channels"] = ch["reachable_channels"].to_numpy()
    return out


def channel_mix(plan: pd.DataFrame, *, min_count: int = 5) -> pd.DataFrame:
    """The cheapest-channel mix of a group: customers and cost per channel, small cells suppressed.

    Parameters
    ----------
    plan : DataFrame
        From :func:`contact_plan` (the rows of the group).
    min_count : int
        Rows describing fewer customers are blanked (``suppressed`` True).

    Returns
    -------
    DataFrame
        ``channel`` (``unreachable`` when no priced channel reaches them),
        ``customers``, ``share`` (0-1), ``cost_per_contact``,
        ``cost_cheapest`` (one contact each through this channel),
        ``cost_typical`` (one contact each through their typical channel;
        NaN when a typical channel has no price), ``suppressed``; sorted
        by customers, largest first.
    """
    from ecrm_lib.core.privacy import suppress_small_cells

    p = plan.assign(channel=plan["cheapest_channel"].astype("string").fillna("unreachable"))
    g = p.groupby("channel", sort=False).agg(
        customers=("customer_id", "size"), cost_per_contact=("cheapest_cost", "first"),
        cost_cheapest=("cheapest_cost", "sum"),
        cost_typical=("typical_cost", lambda s: float(s.sum()) if s.notna().all() else np.nan))
    g = g.reset_index().sort_values(["customers", "channel"], ascending=[False, True], kind="stable").reset_index(drop=True)
    g["share"] = g["customers"] / max(len(p), 1)
    g = g[["channel", "customers", "share", "cost_per_contact", "cost_cheapest", "cost_typical"]]
    return suppress_small_cells(g, "customers", min_count=min_count)


def months_to_weeks(months: float) -> float:
    """Calendar months in weeks (52 weeks a year): ``months * 52 / 12``.

    >>> months_to_weeks(12), months_to_weeks(6)
    (52.0, 26.0)
    """
    return float(months) * 52.0 / 12.0


def cost_window(override_weeks: float | None = None, channel_window_months: float | None = None) -> tuple[float, str]:
    """Weeks covered by the ``cost_to_serve`` of ``customer_channels``, and where that figure comes from.

    Parameters
    ----------
    override_weeks : float, optional
        The evaluation's ``cost_window_weeks`` parameter; wins when given.
    channel_window_months : float, optional
        The channel notebook's ``time_window_months`` in this run
        (``ctx.parameter("channel_integration", "time_window_months")``).

    Returns
    -------
    (weeks, source)
        Without either, an assumed 52 weeks, said so in ``source``.

    Examples
    --------
    >>> cost_window(26)
    (26.0, 'the cost_window_weeks parameter')
    >>> cost_window(None, 6)
    (26.0, 'the last 6 months of the channel report')
    >>> cost_window()
    (52.0, 'an assumed 52 weeks (the window of the channel report is unknown)')
    """
    if override_weeks is not None:
        if not override_weeks > 0:
            raise ValueError(f"cost_window_weeks must be a positive number of weeks, but {override_weeks!r} was passed.")
        return float(override_weeks), "the cost_window_weeks parameter"
    if channel_window_months is None:
        return 52.0, "an assumed 52 weeks (the window of the channel report is unknown)"
    return months_to_weeks(channel_window_months), f"the last {channel_window_months:g} months of the channel report"


def cost_window_check(window_cost: float | None, report_total: float | None, currency: str = "") -> str:
    """A sentence comparing the evaluated customers' cost to serve in the cost window with the channel report's total for it.

    The channel report prices every contact of its window (its
    ``cost_to_serve_total``); the ``cost_to_serve`` of ``customer_channels``
    covers the same contacts per customer, so the customers evaluated (those
    with a purchase) account for at most that total. More than the total
    means the per-customer cost covers a longer period than the window it is
    scaled from: the sentence then warns that the expected cost is overstated.

    Parameters
    ----------
    window_cost : float or None
        Sum of ``cost_to_serve`` over the evaluated customers (currency).
    report_total : float or None
        The channel report's ``cost_to_serve_total`` (currency).

    Returns
    -------
    str
        Plain text with a leading space; empty when either figure is unknown.

    Examples
    --------
    >>> print(cost_window_check(17974570.0, 17994570.0, "KRW").strip())
    In that window their contacts cost 17,974,570 KRW, of the channel report's 17,994,570 KRW for every contact in the window (the rest: contacts of people without a purchase, who are not evaluated here).
    >>> print(cost_window_check(100.0, 100.0).strip())
    In that window their contacts cost 100, the channel report's total for every contact in the window.
    >>> cost_window_check(41443730.0, 17994570.0, "KRW")[:61]
    ' Warning: their cost to serve adds up to 41,443,730 KRW, more'
    """
    from ecrm_lib.core.format import format_number

    if window_cost is None or report_total is None or pd.isna(window_cost) or pd.isna(report_total):
        return ""
    w, r = float(window_cost), float(report_total)
    fw, fr = format_number(w, currency or None), format_number(r, currency or None)
    if w > r * (1 + 1e-9) + 0.5:
        return (f" Warning: their cost to serve adds up to {fw}, more than the channel report's {fr} for that window, so it covers "
                "a longer period and the expected cost to serve below is overstated.")
    if w >= r - 0.5:
        return f" In that window their contacts cost {fw}, the channel report's total for every contact in the window."
    return (f" In that window their contacts cost {fw}, of the channel report's {fr} for every contact in the window "
            "(the rest: contacts of people without a purchase, who are not evaluated here).")


def expansion_list(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    n_expand: int,
    plan: pd.DataFrame | None = None,
    *,
    id_col: str = "customer_id",
    min_value_over_contact_cost: float | None = None,
) -> pd.DataFrame:
    """The ranked look-alike list: every scored non-target with its CLV and channels, the first ``n_expand`` flagged.

    With a value bar (``min_value_over_contact_cost``, from the selection
    rule through :func:`value_bar`) a look-alike whose CLV is below the bar
    times the cost of one contact through their cheapest channel is flagged
    ``below_contact_cost`` and never expanded: the proposal is the first
    ``n_expand`` look-alikes at or above the bar (unknown CLV or cost does
    not hold a customer back). The ranks stay those of the model.

    Parameters
    ----------
    scores : DataFrame
        ``LookalikeResult.scores``.
    customers : DataFrame
        With ``clv``, ``clv_low``, ``clv_high`` (currency).
    n_expand : int
        Size of the proposed expansion (customers).
    plan : DataFrame, optional
        :func:`contact_plan` output; without it the channel columns are empty.
    min_value_over_contact_cost : float, optional
        The value bar in contacts; None: no bar. Needs ``plan``.

    Returns
    -------
    DataFrame
        ``customer_id``, ``rank``, ``score``, ``expanded`` (among the first
        ``n_expand`` look-alikes not below the bar), ``below_contact_cost``,
        ``clv``, ``clv_low``, ``clv_high``, ``cheapest_channel``,
        ``cheapest_cost`` (currency per contact), ``typical_channel``; by rank.

    Raises
    ------
    ValueError
        A value bar without a ``plan`` (the contact cost is unknown).

    Examples
    --------
    >>> sc = pd.DataFrame({"customer_id": ["t", "b", "a"], "is_target": [True, False, False],
    ...                    "score": [0.9, 0.7, 0.4], "rank": pd.array([pd.NA, 1, 2], dtype="Int64")})
    >>> cu = pd.DataFrame({"customer_id": ["a", "b", "t"], "clv": [1.0, 2.0, 3.0], "clv_low": 0.0, "clv_high": 9.0})
    >>> expansion_list(sc, cu, 1)[["customer_id", "rank", "expanded", "clv"]].to_numpy().tolist()
    [['b', 1, True, 2.0], ['a', 2, False, 1.0]]
    >>> plan = pd.DataFrame({"customer_id": ["a", "b"], "cheapest_channel": ["app", "store"], "cheapest_cost": [0.5, 9.0],
    ...                      "typical_channel": ["app", "store"]})
    >>> expansion_list(sc, cu, 1, plan, min_value_over_contact_cost=1.0)[["customer_id", "expanded", "below_contact_cost"]].to_numpy().tolist()
    [['b', False, True], ['a', True, False]]
    """
    if min_value_over_contact_cost is not None and plan is None:
        raise ValueError("a value bar needs the contact plan (contact_plan with the channel costs): without it the cost of a contact is unknown.")
    ranked = scores.loc[scores["rank"].notna()].sort_values("rank")
    cols = [c for c in (id_col, "clv", "clv_low", "clv_high") if c in customers]
    lst = ranked.merge(customers[cols].rename(columns={id_col: "customer_id"}), on="customer_id", how="left")
    for c in ("clv", "clv_low", "clv_high"):
        if c not in lst:
            lst[c] = np.nan
    if plan is not None:
        lst = lst.merge(plan[["customer_id", "cheapest_channel", "cheapest_cost", "typical_channel"]], on="customer_id", how="left")
    else:
        lst = lst.assign(cheapest_channel=pd.NA, cheapest_cost=np.nan, typical_channel=pd.NA)
    lst = lst.reset_index(drop=True)
    below = below_contact_cost(lst["clv"].to_numpy(), lst["cheapest_cost"].to_numpy(), min_value_over_contact_cost)
    eligible = ~below
    lst["expanded"] = eligible & (np.cumsum(eligible) <= int(n_expand))
    lst["below_contact_cost"] = below
    return lst[["customer_id", "rank", "score", "expanded", "below_contact_cost", "clv", "clv_low", "clv_high",
                "cheapest_channel", "cheapest_cost", "typical_channel"]]


# =========================================================================== feedback


def feedback_weights(
    uplift: pd.DataFrame,
    *,
    segment_col: str = "segment",
    down_weight: float = 0.5,
) -> pd.DataFrame:
    """Weights for the next selection from each segment's measured response uplift.

    Rule (uplift in any unit, e.g. percentage points of response rate):

    - ``ci_high <= 0``: the uplift is surely not positive -> **remove**
      (weight 0);
    - ``uplift <= 0`` but the interval reaches above 0 -> **down-weight**
      (weight ``down_weight``);
    - ``uplift > 0`` -> **keep** (weight 1), also when ``ci_low <= 0`` (the
      reason then says the gain is uncertain).

    A missing uplift keeps weight 1 with the reason "not measured".

    Parameters
    ----------
    uplift : DataFrame
        ``segment``, ``uplift``, ``ci_low``, ``ci_high``.
    down_weight : float
        Weight for the uncertain non-positive segments (0-1).

    Returns
    -------
    DataFrame
        ``segment``, ``uplift``, ``ci_low``, ``ci_high``, ``weight``,
        ``action`` (keep, down-weight, remove), ``reason``.

    Examples
    --------
    >>> u = pd.DataFrame({"segment": ["A", "B", "C"], "uplift": [0.03, -0.01, -0.02],
    ...                   "ci_low": [0.01, -0.03, -0.04], "ci_high": [0.05, 0.01, -0.001]})
    >>> feedback_weights(u)[["segment", "weight", "action"]].to_numpy().tolist()
    [['A', 1.0, 'keep'], ['B', 0.5, 'down-weight'], ['C', 0.0, 'remove']]
    """
    need = [segment_col, "uplift", "ci_low", "ci_high"]
    missing = [c for c in need if c not in uplift]
    if missing:
        raise ValueError(f"uplift table lacks {missing}; it needs {need}.")
    if not 0 <= down_weight <= 1:
        raise ValueError(f"down_weight must be in [0, 1], but {down_weight} was passed.")
    u = uplift[need].rename(columns={segment_col: "segment"}).copy()
    for c in ("uplift", "ci_low", "ci_high"):
        u[c] = u[c].astype(float)
    bad = u["ci_low"] > u["ci_high"]
    if bad.any():
        raise ValueError(f"ci_low > ci_high for segment(s) {u.loc[bad, 'segment'].tolist()}; swap the bounds.")
    weight, action, reason = [], [], []
    for up, lo, hi in zip(u["uplift"], u["ci_low"], u["ci_high"]):
        if np.isnan(up):
            weight.append(1.0), action.append("keep"), reason.append("uplift not measured: kept as it was")
        elif not np.isnan(hi) and hi <= 0:
            weight.append(0.0), action.append("remove"), reason.append(f"uplift {up:+.3g}, whole interval at or below 0 (up to {hi:+.3g})")
        elif up <= 0:
            weight.append(float(down_weight)), action.append("down-weight"), reason.append(f"uplift {up:+.3g} not positive, interval up to {hi:+.3g}")
        elif not np.isnan(lo) and lo <= 0:
            weight.append(1.0), action.append("keep"), reason.append(f"uplift {up:+.3g} positive but uncertain (interval from {lo:+.3g})")
        else:
            weight.append(1.0), action.append("keep"), reason.append(f"uplift {up:+.3g}, interval above 0")
    u["weight"] = weight
    u["action"] = action
    u["reason"] = reason
    return u


def apply_feedback(rule: Mapping, weights: pd.DataFrame) -> dict:
    """The next run's rule: removed segments dropped, weights recorded.

    Segments of weight 0 are removed from ``rule["segments"]`` (when the rule
    lists segments) and every weight goes to ``rule["segment_weights"]``, so
    that :func:`select_targets` excludes removed segments and ranks the
    down-weighted ones later under ``max_targets``. The input rule is not
    changed.

    Examples
    --------
    >>> w = pd.DataFrame({"segment": ["A", "B"], "weight": [1.0, 0.0]})
    >>> apply_feedback({"segments": ["A", "B"], "max_targets": 10}, w)
    {'segments': ['A'], 'max_targets': 10, 'segment_weights': {'A': 1.0, 'B': 0.0}}
    """
    new = dict(rule)
    wmap = {str(s): float(w) for s, w in zip(weights["segment"], weights["weight"])}
    if "segments" in new:
        new["segments"] = [s for s in new["segments"] if wmap.get(s, 1.0) > 0]
    merged = dict(new.get("segment_weights") or {})
    merged.update(wmap)
    new["segment_weights"] = merged
    return new

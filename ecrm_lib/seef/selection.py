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

The rule itself (:func:`select_targets`, :func:`describe_rule`,
:func:`feedback_changes`, :func:`reason_counts`, :data:`RULE_KEYS`) is in
:mod:`ecrm_lib.seef.rule`; it is imported here, so ``seef.selection`` offers
every function the notebook calls.

Examples
--------
>>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [500.0, 300.0, 10.0],
...                           "churn_probability": [0.8, 0.2, 0.9]})
>>> select_customers(customers, {"clv_min": 100})["selected"].tolist()
[True, True, False]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecrm_lib.core import i18n
from ecrm_lib.core.language import get_language
from ecrm_lib.seef.clusters import DEFAULT_FIT_SIZE, ClusterResult, cluster_customers, default_cluster_features
from ecrm_lib.seef.contact import VALUE_BAR_KEY, below_contact_cost, contact_plan, value_bar
from ecrm_lib.seef.customers import CustomerTable, assemble_customers
from ecrm_lib.seef.rfm import assign_segments, load_segment_table, rfm_scores
from ecrm_lib.seef.rule import RULE_KEYS, check_rule, describe_rule, feedback_changes, reason_counts, select_targets
from ecrm_lib.seef.selection_products import SEGMENTS_COLUMNS, TARGETS_COLUMNS, segment_overview, selection_products

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
        check_rule(rule)
        return dict(rule), None
    applied, changes, _ = feedback_changes(customers, dict(rule), feedback)
    return applied, changes


def select_customers(customers: pd.DataFrame, rule: Mapping) -> pd.DataFrame:
    """Step 6: :func:`select_targets` with the rule applied; an empty selection (with its columns) without customers."""
    if len(customers):
        return select_targets(customers, rule)
    check_rule(rule)
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

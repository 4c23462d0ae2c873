"""Selection by incremental profit on a run's tables: the campaign history -> a model -> every customer scored
-> targets and a channel each under a budget -> the comparison with the rule, everyone and random picks.

Unit: the **customer** (the identity map's ``customer_id``), as in Selection. The campaign's
assignment rows are accounts; each is mapped to its customer, and the features of a customer at a
time are the purchase history of all their accounts before it
(:func:`ecrm_lib.seef.campaigns.purchase_history_before` on the transactions keyed by customer):
purchases and spend in the 365 days before, days since the last purchase. The campaign rows are
described at their assignment time, every customer at the run's as-of date, so the model learned
on the campaign scores today's customers with the same features.

The comparison is on the campaign's own rows with **out-of-fold** scores (every row scored by models
that did not see it), so it measures what each way of choosing would have earned on that campaign:
the profit model, the rule's targets (:mod:`ecrm_lib.seef.selection`), everyone and random picks of
the profit model's size. The contact cost of a campaign row is that of its customer's cheapest channel.
Its intervals are a bootstrap over the campaign's customers
(:func:`ecrm_lib.seef.profit_eval.bootstrap_policies`: which and why in its module docstring), with
the paired interval of what the profit model's choice earns more than each alternative.

Products (what later steps and the next run read)
-------------------------------------------------
- ``profit_scores`` (:func:`profit_scores`, columns :data:`PROFIT_SCORES_COLUMNS`): every customer:
  ``incremental_value`` (currency, margin applied) with its bootstrap interval
  (``incremental_value_low/high``), and for the customer's cheapest priced channel ``channel``,
  ``contact_cost`` (currency per contact), ``offer_cost`` (currency: the offer per contact plus the
  offer per response times the response probability when contacted) and ``expected_profit`` =
  ``incremental_value - contact_cost - offer_cost`` (currency) with ``expected_profit_low/high``
  (the value's interval minus the same known costs). A customer no priced channel reaches has
  ``channel``, the costs and the profit missing. SEEF 3 (Expansion) proposes look-alikes only where
  ``expected_profit > 0``.
- ``profit_targets`` (:func:`profit_targets`, columns :data:`PROFIT_TARGETS_COLUMNS`): the customers
  chosen under the budget, one channel each: ``channel``, ``cost`` (contact and offer, currency),
  ``predicted_profit`` with ``predicted_profit_low/high`` (currency), and ``holdout`` (True = kept
  out of the contact on purpose).

Without a campaign history both are written empty with their columns (:func:`empty_profit_products`).

The closed loop (issue 16 item 3)
---------------------------------
1. Built: the plan keeps out a randomised holdout of the chosen customers on purpose
   (:func:`draw_holdout`: a share, default :data:`DEFAULT_HOLDOUT_SHARE` = 10 %, drawn within each
   channel in blocks of similar predicted profit, so that contacted and holdout customers match on
   channel and predicted profit; the seed is a parameter of the report and recorded as a metric).
   The ``profit_targets`` product lists every chosen customer with ``holdout``; the campaign system
   contacts only ``holdout == False`` and exports the contacts as a campaign with ``arm`` =
   contacted / holdout.
2. Next run (built: :mod:`ecrm_lib.seef.loop_profit`, shown on the feedback page): it finds the
   chosen customers again through the two runs' account maps, takes the randomised campaign
   assigned since the plan's as-of date that reached most of them, and measures treated against
   control (or holdout): realised incremental profit per customer (margin x revenue uplift minus
   the contact price and offer cost) with a Welch interval, against the mean predicted profit,
   overall and per band of predicted profit (a calibration check: the top band should earn the
   most), with the generator's true expected profit beside it on generated data.
3. Not built yet: the same rows become training data for the next model (a campaign run through several channels
   also gives ``channel_effect`` ratios instead of the "same effect in every channel" assumption),
   and the persistence assumption is checked by following the contacted and holdout customers'
   purchases beyond the response window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecrm_lib.channels.customers import attach_customer_id
from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core import i18n
from ecrm_lib.data.tables import is_ibis, isin_text, rows_of_accounts
from ecrm_lib.seef.campaigns import (
    CAMPAIGN_COLUMNS,
    check_campaigns,
    history_for_rows,
    purchase_history_before,
    select_campaign,
)
from ecrm_lib.seef.contact import channel_cost_table, contact_plan
from ecrm_lib.seef.profit import (
    choose_targets,
    economics_parameters,
    fit_incremental_model,
    incremental_value,
    profit_options,
)
from ecrm_lib.seef.profit_eval import bootstrap_policies, money_uplift_curve, profit_contributions, reachable_random_line
from ecrm_lib.seef.scale import stratified_sample, stratified_sample_table
from ecrm_lib.seef.tables import to_frame
from ecrm_lib.seef.uplift import latest_campaign

__all__ = ["DEFAULT_HOLDOUT_SHARE", "DEFAULT_MAX_CAMPAIGN_ROWS", "PROFIT_SCORES_COLUMNS", "PROFIT_TARGETS_COLUMNS",
           "NotAvailable", "ProfitSelection", "channel_summary", "customer_history", "draw_holdout", "empty_profit_products",
           "profit_scores", "profit_selection", "profit_selection_or_reason", "profit_targets"]

#: Share of the chosen customers the plan keeps out of the contact on purpose (the loop's holdout).
DEFAULT_HOLDOUT_SHARE = 0.10

#: Columns of the ``profit_scores`` product (see the module docstring; money in the config currency).
PROFIT_SCORES_COLUMNS = ["customer_id", "incremental_value", "incremental_value_low", "incremental_value_high", "channel",
                         "contact_cost", "offer_cost", "expected_profit", "expected_profit_low", "expected_profit_high"]

#: Columns of the ``profit_targets`` product (see the module docstring; money in the config currency).
PROFIT_TARGETS_COLUMNS = ["customer_id", "channel", "cost", "predicted_profit", "predicted_profit_low",
                          "predicted_profit_high", "holdout"]


def customer_history(rows: pd.DataFrame, transactions) -> pd.DataFrame:
    """Purchase history of each (``customer_id``, ``assigned_at``) row before that time, over all the customer's accounts.

    Parameters
    ----------
    rows : DataFrame
        ``customer_id`` and ``assigned_at`` (UTC timestamps).
    transactions : ibis.Table or DataFrame
        With ``customer_id`` (:func:`ecrm_lib.channels.customers.attach_customer_id`), ``timestamp``, ``amount``.

    Returns
    -------
    DataFrame
        Indexed like ``rows``: ``purchases_365d``, ``days_since_last`` (capped at 3,650),
        ``spend_365d`` (currency), and ``log_spend_365d`` (``log(1 + spend)``).
    """
    keyed = rows.rename(columns={"customer_id": "account_id"})[["account_id", "assigned_at"]]
    if is_ibis(transactions):
        tx = transactions.select(account_id=transactions.customer_id, timestamp=transactions.timestamp,
                                 amount=transactions.amount)
    else:
        tx = transactions[["customer_id", "timestamp", "amount"]].rename(columns={"customer_id": "account_id"})
    h = history_for_rows(keyed, purchase_history_before(keyed, tx))
    h["log_spend_365d"] = np.log1p(h["spend_365d"].clip(lower=0))
    return h


@dataclass(frozen=True)
class NotAvailable:
    """Why the selection by incremental profit is not available: a catalogue message (``selection.profit_na.*``)
    worded in the language current when it is read, by ``str()`` or by calling it (so that a report shows it in
    each of its languages).

    >>> from ecrm_lib.core.language import using
    >>> r = NotAvailable("selection.profit_na.no_costs")
    >>> str(r)
    'this run has no channel cost table, so the cost of a contact is unknown'
    """

    key: str
    values: Mapping = field(default_factory=dict)

    def __call__(self) -> str:
        return i18n.t(self.key, **dict(self.values))

    def __str__(self) -> str:
        return self()


#: Campaign rows the profit model learns from at most (a stratified sample above it): its 5 folds and 30 bootstrap
#: refits of two logistic regressions then cost the same on a campaign of any size.
DEFAULT_MAX_CAMPAIGN_ROWS = 200_000


@dataclass
class ProfitSelection:
    """What :func:`profit_selection` returns.

    Attributes
    ----------
    campaign_id : str
    scores : DataFrame
        Every customer: ``customer_id``, ``response_uplift`` (share), ``revenue_uplift`` (currency),
        ``incremental_value`` (currency, margin applied) and ``incremental_value_low/high`` (bootstrap
        interval; NaN without refits), ``p_treated``; through the cheapest priced channel ``channel``,
        ``contact_cost``, ``offer_cost`` and ``expected_profit(_low/_high)`` (currency; missing when no
        priced channel reaches the customer). :func:`profit_scores` is the product.
    chosen : DataFrame
        The targets: ``customer_id, channel, cost, value, profit`` (currency), highest profit first.
    summary : dict
        ``customers, cost, expected_profit, bound, method`` (:func:`ecrm_lib.seef.profit.choose_targets`),
        ``budget``, ``expected_profit_low/high`` (bootstrap interval; NaN without refits), ``n_folds`` and
        ``n_boot`` (cross-fitting folds and bootstrap refits fitted), ``learner``, ``n_boot_compare`` (resamples
        of the campaign's customers behind the comparison's intervals).
    comparison : DataFrame
        On the campaign rows, out-of-fold: ``policy, share, per_1000, ci_low, ci_high`` and the profit
        choice's ``advantage_per_1000`` over each other way with ``advantage_low/high`` (currency per
        1,000 campaign customers, bootstrap over the customers; :func:`ecrm_lib.seef.profit_eval.bootstrap_policies`).
        Policies: ``by incremental profit``, ``rule`` (when given), ``everyone``, ``random, same size``.
    curve : DataFrame
        The money uplift curve of the out-of-fold predicted profit on the campaign rows.
    n_campaign_rows : int
        Rows of the campaign (accounts assigned).
    n_model_rows : int
        Rows the model learned from and the comparison is measured on: all of them, or a sample
        (``max_campaign_rows``).
    """

    campaign_id: str
    scores: pd.DataFrame
    chosen: pd.DataFrame
    summary: dict
    comparison: pd.DataFrame
    curve: pd.DataFrame
    n_campaign_rows: int
    n_model_rows: int


def profit_selection(campaigns: pd.DataFrame, transactions, customers: pd.DataFrame, channel_costs: pd.DataFrame, *,
                     as_of, margin: float, account_map=None, campaign_id: str | None = None,
                     budget: float | None = None, contacts_per_channel: Mapping[str, int] | None = None,
                     offer_cost_per_contact: float = 0.0, offer_cost_per_response: float = 0.0,
                     rule_targets=None, n_boot: int = 30, n_folds: int = 5, random_state: int = 42,
                     ci_level: float = 0.95, n_boot_compare: int = 1000,
                     max_campaign_rows: int | None = DEFAULT_MAX_CAMPAIGN_ROWS,
                     campaign_rows: int | None = None) -> ProfitSelection:
    """Choose customers and a channel each by expected incremental profit, learned from a randomised campaign.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical campaign rows (:func:`ecrm_lib.seef.campaigns.select_campaign`).
    transactions : ibis.Table or DataFrame
        Canonical transactions (``account_id``, ``timestamp``, ``amount``).
    customers : DataFrame
        The customers to choose from: ``customer_id`` and ``reachable_channels`` (comma-separated;
        :func:`ecrm_lib.seef.contact.contact_plan`).
    channel_costs : DataFrame
        ``channel, purpose, cost_per_contact`` (currency).
    as_of : timestamp
        The customers are described at this time (the run's as-of date, UTC).
    margin : float
        Share of revenue kept (0-1], the CLV model's margin.
    account_map : ibis.Table or DataFrame, optional
        ``account_id -> customer_id`` (None: every account is a customer).
    campaign_id : str, optional
        Default: the campaign assigned last.
    budget, contacts_per_channel
        See :func:`ecrm_lib.seef.profit.choose_targets` (none: every customer with a positive expected profit).
    offer_cost_per_contact, offer_cost_per_response : float
        Currency (:func:`ecrm_lib.seef.profit.economics_parameters`).
    rule_targets : iterable of customer ids, optional
        The rule's targets, compared on the campaign rows.
    n_boot, n_folds, random_state, ci_level
        Bootstrap refits (interval of the expected profit), cross-fitting folds, seed, level.
    n_boot_compare : int
        Resamples of the campaign's customers for the intervals of the comparison (no refits: cheap).
    max_campaign_rows : int or None
        Campaign rows the model learns from and the comparison is measured on, at most: a larger campaign
        is sampled, stratified on arm and response (:func:`ecrm_lib.seef.scale.stratified_sample`, seeded
        by ``random_state``); the folds and the bootstrap refits then cost the same at any size. None: every row.
    campaign_rows : int, optional
        Rows of the whole campaign when ``campaigns`` is a sample of it already drawn in the engine
        (:func:`profit_selection_or_reason`); default: the rows of ``campaign_id`` in ``campaigns``.

    Raises
    ------
    EcrmError
        No campaign with a control group, or too few responders to model.
    """
    if max_campaign_rows is not None and int(max_campaign_rows) < 100:
        raise ValueError(f"max_campaign_rows (the selection report's parameter profit_max_campaign_rows) must be at least "
                         f"100 campaign rows, or None for every row, but {max_campaign_rows!r} was passed.")
    camp = check_campaigns(campaigns)
    full_map = account_map
    if "assigned_at" not in camp or camp["assigned_at"].isna().all():
        raise EcrmError("the campaigns table has no assignment times: the customers' history before assignment is not available.")
    camp["assigned_at"] = pd.to_datetime(camp["assigned_at"], utc=True)
    if campaign_id is None:
        campaign_id = latest_campaign(camp)
    camp = camp[camp["campaign_id"].astype(str) == str(campaign_id)].reset_index(drop=True)
    if camp["is_control"].all() or not camp["is_control"].any():
        raise EcrmError(f"campaign {campaign_id!r} has no control group (or no treated rows): its incremental effect cannot be measured.")
    n_campaign_rows = len(camp) if campaign_rows is None else int(campaign_rows)
    if max_campaign_rows is not None and len(camp) > int(max_campaign_rows):
        strata = camp["is_control"].astype("string") + "/" + camp["response"].astype("string")
        camp = camp.iloc[stratified_sample(strata, int(max_campaign_rows), random_state)].reset_index(drop=True)
    if account_map is not None and is_ibis(account_map):  # only the campaign accounts' rows leave the engine
        account_map = rows_of_accounts(account_map, camp["account_id"], ["account_id", "customer_id"])
    camp = attach_customer_id(camp.astype({"account_id": "string"}), account_map).reset_index(drop=True)
    tx = attach_customer_id(transactions, full_map)
    t = (~camp["is_control"]).astype(int).to_numpy()
    X_camp = customer_history(camp[["customer_id", "assigned_at"]], tx)
    model = fit_incremental_model(X_camp, t, camp["response"], camp["revenue"], n_folds=n_folds, n_boot=n_boot,
                                  random_state=random_state)

    who = customers[["customer_id", "reachable_channels"]].drop_duplicates("customer_id").reset_index(drop=True)
    X_all = customer_history(who[["customer_id"]].assign(assigned_at=pd.Timestamp(as_of, tz="UTC") if pd.Timestamp(as_of).tzinfo is None
                                                            else pd.Timestamp(as_of).tz_convert("UTC")), tx)
    pred = model.predict(X_all, ci_level)
    bounds = {f"incremental_value_{b}": (incremental_value(pred[f"revenue_uplift_{b}"], margin) if f"revenue_uplift_{b}" in pred
                                         else np.full(len(pred), np.nan)) for b in ("low", "high")}
    scores = pd.DataFrame({"customer_id": who["customer_id"].to_numpy(), "reachable_channels": who["reachable_channels"].to_numpy(),
                           "response_uplift": pred["response_uplift"].to_numpy(), "revenue_uplift": pred["revenue_uplift"].to_numpy(),
                           "incremental_value": incremental_value(pred["revenue_uplift"], margin), **bounds,
                           "p_treated": pred["p_treated"].to_numpy()})
    options = profit_options(scores, channel_costs, offer_cost_per_contact=offer_cost_per_contact,
                             offer_cost_per_response=offer_cost_per_response)
    scores = _with_cheapest_channel(scores, options, channel_costs, offer_cost_per_contact, offer_cost_per_response)
    chosen, summary = choose_targets(options, budget=budget, contacts_per_channel=contacts_per_channel)
    summary["budget"] = budget
    summary["n_folds"], summary["n_boot"], summary["learner"] = len(model.fold_models), len(model.boot_models), model.learner
    summary["n_boot_compare"] = int(n_boot_compare)
    pos = scores.index[isin_text(scores["customer_id"], chosen["customer_id"])]
    total, lo, hi = model.total_value_interval(X_all.loc[pos], margin, ci_level)
    offers = offer_cost_per_response * (scores.loc[pos, "p_treated"].sum() if len(pos) else 0.0)
    shift = summary["expected_profit"] - total  # the known costs (contact, offer per contact and per response)
    summary["expected_profit_low"], summary["expected_profit_high"] = lo + shift, hi + shift
    summary["offer_cost_expected"] = float(offers)

    # out-of-fold comparison on the campaign's own rows
    cheapest = options.sort_values("cost", kind="stable").drop_duplicates("customer_id").set_index("customer_id")["cost"]
    row_cost = camp["customer_id"].map(cheapest).astype(float)
    reachable = row_cost.notna().to_numpy()
    row_cost = row_cost.fillna(0.0).to_numpy()
    z = profit_contributions(t, camp["revenue"], margin=margin, contact_cost=row_cost, response=camp["response"],
                             offer_cost_per_response=offer_cost_per_response)
    score = (incremental_value(model.oof["revenue_uplift"], margin) - row_cost
             - offer_cost_per_response * model.oof["p_treated"].to_numpy())
    selections = {"by incremental profit": (score > 0) & reachable}
    if rule_targets is not None:
        selections["rule"] = isin_text(camp["customer_id"], list(map(str, rule_targets))) & reachable
    comparison = bootstrap_policies(selections, t, camp["revenue"], margin=margin, contact_cost=row_cost,
                                    response=camp["response"], offer_cost_per_response=offer_cost_per_response,
                                    eligible=reachable, groups=camp["customer_id"].astype(str).to_numpy(),
                                    n_boot=n_boot_compare, ci_level=ci_level, random_state=random_state)
    curve = money_uplift_curve(np.where(reachable, score, -np.inf), np.where(reachable, z, 0.0))
    if len(reachable):  # random picks among the reachable, as the comparison's "random, same size"
        curve["random"] = reachable_random_line(curve, float(np.mean(reachable)))
    return ProfitSelection(campaign_id=str(campaign_id), scores=scores.drop(columns="reachable_channels"),
                           chosen=chosen, summary=summary, comparison=comparison, curve=curve,
                           n_campaign_rows=int(n_campaign_rows), n_model_rows=int(len(camp)))


def _with_cheapest_channel(scores: pd.DataFrame, options: pd.DataFrame, channel_costs: pd.DataFrame,
                           offer_cost_per_contact: float, offer_cost_per_response: float) -> pd.DataFrame:
    """``scores`` with the cheapest priced channel of each customer, its contact cost, the offer cost and the
    expected profit through it (with its interval); missing for customers no priced channel reaches."""
    cheapest = options.sort_values(["cost", "channel"], kind="stable").drop_duplicates("customer_id").set_index("customer_id")
    price = channel_cost_table(channel_costs)
    out = scores.copy()
    out["channel"] = out["customer_id"].map(cheapest["channel"]).astype("string")
    reached = out["channel"].notna().to_numpy()
    out["contact_cost"] = out["channel"].map(price).astype(float)
    out["offer_cost"] = np.where(reached, offer_cost_per_contact + offer_cost_per_response * out["p_treated"].astype(float), np.nan)
    for suffix in ("", "_low", "_high"):
        out[f"expected_profit{suffix}"] = out[f"incremental_value{suffix}"] - out["contact_cost"] - out["offer_cost"]
    return out


def profit_scores(result: ProfitSelection) -> pd.DataFrame:
    """The ``profit_scores`` product: every customer scored, columns :data:`PROFIT_SCORES_COLUMNS` (module docstring).

    ``expected_profit = incremental_value - contact_cost - offer_cost`` through the customer's cheapest priced
    channel (currency); the ``_low``/``_high`` columns are the bootstrap interval (missing without refits).
    """
    out = result.scores[PROFIT_SCORES_COLUMNS].copy()
    out["customer_id"] = out["customer_id"].astype("string")
    out["channel"] = out["channel"].astype("string")
    return out.reset_index(drop=True)


def draw_holdout(chosen: pd.DataFrame, share: float = DEFAULT_HOLDOUT_SHARE, seed: int = 42, *,
                 profit_col: str = "profit", channel_col: str = "channel") -> np.ndarray:
    """Which chosen customers the plan keeps out of the contact on purpose (True), at random.

    Within each channel the customers are ordered by predicted profit and cut into consecutive blocks
    of about ``1 / share`` customers; in each block ``share`` of its customers (rounded at random, so
    that the expected count is exact) are drawn as holdout. Contacted and holdout customers then match
    on channel and predicted profit, which is what the next run's realised-vs-predicted check needs.

    Parameters
    ----------
    chosen : DataFrame
        The chosen customers (``profit_col`` in currency, ``channel_col``).
    share : float
        Holdout share, [0, 1).
    seed : int
        Seed of the draw (record it: the next run reads the draw from the product, the seed lets
        anyone repeat it).

    Returns
    -------
    ndarray of bool
        Aligned with the rows of ``chosen``.

    Examples
    --------
    >>> c = pd.DataFrame({"channel": ["email"] * 50 + ["app"] * 30, "profit": np.linspace(1, 100, 80)})
    >>> h = draw_holdout(c, 0.1, seed=1)
    >>> int(h.sum()), int(h[:50].sum()), int(h[50:].sum())
    (8, 5, 3)
    """
    if not 0 <= share < 1:
        raise ValueError(f"the holdout share must be in [0, 1) (e.g. 0.1 for 10 %), but {share!r} was passed.")
    out = np.zeros(len(chosen), dtype=bool)
    if share == 0 or not len(chosen):
        return out
    rng = np.random.default_rng(seed)
    block = max(1, int(round(1 / share)))
    chans = chosen[channel_col].astype("string").fillna("").to_numpy()
    profit = chosen[profit_col].astype(float).to_numpy()
    for ch in sorted(set(chans)):
        pos = np.flatnonzero(chans == ch)
        pos = pos[np.argsort(-profit[pos], kind="stable")]
        for start in range(0, len(pos), block):
            part = pos[start:start + block]
            want = share * len(part)
            k = int(np.floor(want)) + int(rng.random() < want - np.floor(want))
            out[rng.choice(part, size=k, replace=False)] = True
    return out


def profit_targets(result: ProfitSelection, holdout_share: float = DEFAULT_HOLDOUT_SHARE, seed: int = 42) -> pd.DataFrame:
    """The ``profit_targets`` product: the chosen customers, columns :data:`PROFIT_TARGETS_COLUMNS` (module docstring).

    ``predicted_profit`` is the chosen option's expected profit (currency); ``predicted_profit_low/high`` its
    bootstrap interval (the value's interval minus the option's known cost; missing without refits);
    ``holdout`` from :func:`draw_holdout` with ``holdout_share`` and ``seed``.
    """
    ch = result.chosen
    iv = result.scores.drop_duplicates("customer_id").set_index("customer_id")
    out = pd.DataFrame({"customer_id": ch["customer_id"].astype("string").to_numpy(),
                        "channel": ch["channel"].astype("string").to_numpy(),
                        "cost": ch["cost"].astype(float).to_numpy(),
                        "predicted_profit": ch["profit"].astype(float).to_numpy()})
    for b in ("low", "high"):
        out[f"predicted_profit_{b}"] = (out["customer_id"].map(iv[f"incremental_value_{b}"]).astype(float) - out["cost"]).to_numpy()
    out["holdout"] = draw_holdout(out, holdout_share, seed, profit_col="predicted_profit")
    return out[PROFIT_TARGETS_COLUMNS]


def empty_profit_products() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``profit_scores`` and ``profit_targets`` with their columns and no rows (no campaign history)."""
    def empty(cols):
        return pd.DataFrame({c: pd.Series(dtype="string" if c in ("customer_id", "channel") else
                                          bool if c == "holdout" else float) for c in cols})
    return empty(PROFIT_SCORES_COLUMNS), empty(PROFIT_TARGETS_COLUMNS)


def profit_selection_or_reason(campaigns, transactions, customers: pd.DataFrame, channel_costs: pd.DataFrame | None, *,
                               as_of, economics, account_map=None, campaign_id: str | None = None,
                               **kw) -> tuple[ProfitSelection | None, str | None]:
    """:func:`profit_selection` for a report: the result, or None and why it is not available.

    Parameters
    ----------
    campaigns : ibis.Table, DataFrame or None
        The canonical campaigns table (None: the run has none).
    customers : DataFrame
        Per customer, with ``reachable_channels`` (the channels that reach the customer, as
        :func:`ecrm_lib.seef.contact.contact_plan` gives them: the selection's table after
        :func:`ecrm_lib.seef.selection.add_contact_cost`) or, without it, the channel share columns
        ``contact_plan`` reads (the plan is then made here).
    channel_costs : DataFrame or None
    as_of : date
        The run's as-of date; customers are described by their purchases up to its end.
    economics : object
        The config's ``economics`` (``margin``, ``offer_cost_per_contact``, ``offer_cost_per_response``).
    kw
        Passed on to :func:`profit_selection` (budget, rule_targets, n_boot, ...).

    Returns
    -------
    (result, reason)
        ``reason`` (:class:`NotAvailable`; ``str(reason)`` in the current language) completes
        "not available because ..." when ``result`` is None.
    """
    margin = getattr(economics, "margin", None)
    if campaigns is None:
        return None, NotAvailable("selection.profit_na.no_campaigns")
    if channel_costs is None:
        return None, NotAvailable("selection.profit_na.no_costs")
    if margin is None:
        return None, NotAvailable("selection.profit_na.no_margin")
    plan = customers if "reachable_channels" in customers else contact_plan(customers, channel_costs)
    who = pd.DataFrame({"customer_id": plan["customer_id"].astype("string").array,
                        "reachable_channels": plan["reachable_channels"].astype("string").array})
    end_of_day = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    if campaign_id is None and is_ibis(campaigns) and {"campaign_id", "assigned_at"} <= set(campaigns.columns):
        # the campaign assigned last, found in the engine: only its rows come into pandas, not every campaign's
        last = to_frame(campaigns.group_by("campaign_id").aggregate(assigned_at=campaigns.assigned_at.max()))
        campaign_id = latest_campaign(last)
    max_rows = kw.get("max_campaign_rows", DEFAULT_MAX_CAMPAIGN_ROWS)
    try:
        if campaign_id is not None and max_rows is not None and is_ibis(campaigns) and "account_id" in campaigns.columns:
            # a large campaign is sampled in the engine (arm x response): only the sample comes into pandas
            one = campaigns.select([c for c in CAMPAIGN_COLUMNS if c in campaigns.columns])
            one = one.filter(one.campaign_id == campaign_id)
            sample, kw["campaign_rows"] = stratified_sample_table(one, ["is_control", "response"], int(max_rows), "account_id",
                                                                  kw.get("random_state", 42))
            rows = to_frame(sample) if kw["campaign_rows"] else select_campaign(campaigns, campaign_id)  # none: says which exist
        else:
            rows = select_campaign(campaigns, campaign_id)
        result = profit_selection(rows, transactions, who, channel_costs, as_of=end_of_day, margin=float(margin),
                                  account_map=account_map, campaign_id=campaign_id, **economics_parameters(economics), **kw)
    except (EcrmError, ValueError) as e:
        return None, NotAvailable("selection.profit_na.cannot_model", {"error": str(e)})
    return result, None


def channel_summary(chosen: pd.DataFrame) -> pd.DataFrame:
    """The chosen targets per channel: ``channel``, ``customers``, ``cost`` and ``expected_profit`` (currency).

    Parameters
    ----------
    chosen : DataFrame
        :attr:`ProfitSelection.chosen` (``customer_id, channel, cost, profit``).

    Examples
    --------
    >>> chosen = pd.DataFrame({"customer_id": ["a", "b", "c"], "channel": ["web", "app", "web"],
    ...                        "cost": [100.0, 50.0, 100.0], "profit": [900.0, 20.0, 300.0]})
    >>> channel_summary(chosen).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'channel': 'app', 'customers': 1, 'cost': 50.0, 'expected_profit': 20.0},
     {'channel': 'web', 'customers': 2, 'cost': 200.0, 'expected_profit': 1200.0}]
    """
    return (chosen.groupby("channel", sort=True)
            .agg(customers=("customer_id", "size"), cost=("cost", "sum"), expected_profit=("profit", "sum"))
            .reset_index())

"""The closed loop of the selection by incremental profit (issue 16 item 3): realised against predicted.

An earlier run chose customers by expected incremental profit and wrote them, with the profit it
predicted for each, as its ``selection/profit_targets`` product
(:func:`ecrm_lib.seef.profit_select.profit_targets`). This run measures what contacting them
actually earned, on a randomised campaign sent since:

1. :func:`ecrm_lib.seef.loop.bridge_customer_ids` finds each earlier customer again under today's
   id, through the accounts the two runs share; customers whose identity merged, split or was
   lost since are left out and counted, as in the loop of :mod:`ecrm_lib.seef.loop`.
2. :func:`campaign_rows_since` takes, in the engine, the campaign rows assigned after the earlier
   as-of date up to this run's (local calendar dates) of those customers' accounts;
   :func:`targets_in_campaign` keeps one campaign (the one that reached most of them, unless
   named), one row per customer (rows of one customer summed; a customer assigned to both arms is
   left out and counted).
3. :func:`realised_gain` compares the contacted (treated arms) with the not contacted (control
   arms; in a campaign run from the plan, its holdout) among them: the realised incremental profit
   per customer, ``margin * (revenue uplift) - cost of the contact and offer``, with a Welch
   interval; :func:`realised_vs_predicted` puts it beside the mean ``predicted_profit`` of the
   same customers, overall and by band of predicted profit (a calibration check: the top band
   should earn the most), and, on generated data, beside what the generator's true effect says
   those customers should earn (``truth/campaign_effects.csv``).

Estimator. Among the ``n`` customers measured, ``n1`` treated and ``n0`` control, the realised
incremental profit per customer is the mean of
:func:`ecrm_lib.seef.profit_eval.profit_contributions` (no contact cost) minus the mean cost:
``mean_treated(margin * revenue - offer_per_response * response) - mean_control(margin * revenue)
- mean(cost)``. The cost of each customer is known (the price of the plan's channel in this run's
``channel_costs`` plus the offer per contact), so the interval is that of the difference of the
two means (Welch-Satterthwaite degrees of freedom). Randomisation makes it unbiased for the
incremental profit of contacting all ``n`` customers; its total is ``n`` times it.

Which customers: every customer the earlier run chose, whether its plan kept them out or not
(``holdout``): on a campaign the company ran from the plan, the holdout *is* the control arm; on
any other randomised campaign (such as the generated data's), the campaign's own arms decide who
was contacted. The campaign table carries no channel, so the contact is charged at the price of
the channel the plan chose.

Money is in the config's currency; shares are fractions.

Examples
--------
>>> found = pd.DataFrame({"treated": [True, True, False, False], "revenue": [100.0, 0.0, 20.0, 0.0],
...                       "response": [1, 0, 1, 0], "cost": [10.0] * 4, "predicted_profit": [5.0, 1.0, 4.0, 2.0]})
>>> g = realised_gain(found["treated"], found["revenue"], found["response"], found["cost"], margin=0.5)
>>> g["per_customer"], g["n_treated"], g["n_control"]
(10.0, 2, 2)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from ecrm_lib.data.engine import backend_name, local_date
from ecrm_lib.seef.contact import channel_cost_table
from ecrm_lib.seef.loop import bridge_customer_ids
from ecrm_lib.seef.profit import economics_parameters
from ecrm_lib.seef.profit_eval import profit_contributions
from ecrm_lib.seef.profit_select import NotAvailable
from ecrm_lib.seef.tables import columns_of, engine_table, to_frame

__all__ = [
    "DEFAULT_BANDS",
    "LOOP_PROFIT_COLUMNS",
    "LoopProfit",
    "band_verdict",
    "campaign_rows_since",
    "loop_profit",
    "loop_profit_metrics",
    "missing_reason",
    "prediction_verdict",
    "realised_gain",
    "realised_vs_predicted",
    "targets_in_campaign",
]

#: Bands of predicted profit the measured customers are cut into (equal numbers of customers).
DEFAULT_BANDS = 3

#: Columns of the ``feedback/loop_profit`` product: one row per band (``band`` 0 = every customer measured).
LOOP_PROFIT_COLUMNS = ["band", "predicted_from", "predicted_to", "customers", "n_treated", "n_control", "predicted",
                       "realised", "ci_low", "ci_high", "true_expected", "predicted_total", "realised_total"]

_KEEP = ("same", "grown")  # identities that stayed comparable (loop.comparable)


# ------------------------------------------------------------------ 0. inputs
def missing_reason(earlier_as_of: dt.date | None, earlier_targets: pd.DataFrame | None,
                   has_campaigns: bool) -> NotAvailable | None:
    """Why realised against predicted profit cannot be measured (completes "not available because ..."), or None.

    Parameters
    ----------
    earlier_as_of : date or None
        As-of date of the most recent earlier run; None: there is none.
    earlier_targets : DataFrame or None
        Its ``selection/profit_targets`` product (None when it did not write one).
    has_campaigns : bool
        Whether this run has a campaigns table.

    Examples
    --------
    >>> str(missing_reason(None, None, True))[:30]
    'this is the first run for this'
    >>> missing_reason(dt.date(2024, 12, 30), pd.DataFrame({"customer_id": ["a"]}), True) is None
    True
    """
    if earlier_as_of is None:
        return NotAvailable("loop.na.first_run")
    if earlier_targets is None or not len(earlier_targets):
        return NotAvailable("loop.na.no_profit_selection", {"start": earlier_as_of})
    if not has_campaigns:
        return NotAvailable("loop.na.no_campaigns")
    return None


# ------------------------------------------------------------------ 1-2. the customers in a campaign sent since
def campaign_rows_since(campaigns, account_ids, start: dt.date, end: dt.date, *, timezone: str | None = None) -> pd.DataFrame:
    """The campaign rows of ``account_ids`` assigned after ``start`` up to and including ``end`` (local dates), from the engine.

    Parameters
    ----------
    campaigns : ibis.Table or DataFrame
        The canonical campaigns table (``account_id``, ``campaign_id``, ``is_control``, ``response``,
        ``revenue``, ``assigned_at``).
    account_ids : iterable of str
        The accounts of the customers followed (only their rows leave the engine).
    start, end : date
        The earlier run's as-of date (excluded) and this run's (included).
    timezone : str, optional
        Time zone of the calendar dates (the config's; UTC when None).

    Returns
    -------
    DataFrame
        ``account_id``, ``campaign_id`` (text), ``is_control`` (bool), ``response``, ``revenue``
        (floats; revenue 0 when missing) and ``assigned_at``; empty without an assignment time.
    """
    cols = ["account_id", "campaign_id", "is_control", "response", "revenue", "assigned_at"]
    if "assigned_at" not in columns_of(campaigns):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    c = engine_table(campaigns, cols)
    ids = ibis.memtable(pd.DataFrame({"_acc": pd.Series(pd.unique(pd.Series(list(account_ids), dtype="string")), dtype="string")}))
    day = local_date(c.assigned_at, backend_name(c), timezone or "UTC")
    c = c.filter((day > ibis.literal(start, type="date")) & (day <= ibis.literal(end, type="date")))
    c = c.semi_join(ids, c.account_id.cast("string") == ids._acc)
    out = to_frame(c.select([x for x in cols if x in c.columns]))
    out["account_id"] = out["account_id"].astype("string")
    out["campaign_id"] = out["campaign_id"].astype("string") if "campaign_id" in out else pd.array(["campaign"] * len(out), dtype="string")
    out["is_control"] = out["is_control"].astype(bool)
    out["response"] = out["response"].astype(float).fillna(0.0)
    out["revenue"] = out["revenue"].astype(float).fillna(0.0) if "revenue" in out else 0.0
    return out.reset_index(drop=True)


def targets_in_campaign(targets: pd.DataFrame, bridge: pd.DataFrame, current_map: pd.DataFrame, rows: pd.DataFrame,
                        campaign_id: str | None = None) -> tuple[pd.DataFrame, dict, str | None]:
    """The earlier targets under today's ids with their arm, response and revenue in one randomised campaign.

    Parameters
    ----------
    targets : DataFrame
        The earlier ``selection/profit_targets`` product (earlier ``customer_id``, ``channel``, ``cost``,
        ``predicted_profit``, ``holdout``, ...).
    bridge : DataFrame
        :func:`ecrm_lib.seef.loop.bridge_customer_ids` of the two runs' account maps.
    current_map : DataFrame
        This run's ``account_id`` -> ``customer_id``.
    rows : DataFrame
        :func:`campaign_rows_since` (optional truth columns ``true_revenue_uplift``, ``true_p_treated``
        are summed per customer like the revenue).
    campaign_id : str, optional
        The campaign to measure; None: the one with both arms that reached most of the targets
        (ties: the one assigned first).

    Returns
    -------
    (DataFrame, dict, str or None)
        One row per measured customer: the earlier columns, ``earlier_customer_id``, today's
        ``customer_id``, ``status``, ``treated`` (bool), ``response`` and ``revenue`` (summed over the
        customer's rows); the counts of who was measured or left out and why (``targets``,
        ``identity changed``, ``not in the campaign``, ``in both arms``, ``measured``); the campaign id.

    Raises
    ------
    ValueError
        ``campaign_id`` is not among the campaigns sent since to these customers.
    """
    need = [c for c in ("customer_id", "predicted_profit", "cost") if c not in targets]
    if need:
        raise ValueError(f"the earlier targets lack column(s) {need}; pass the earlier selection/profit_targets product.")
    t = targets.rename(columns={"customer_id": "earlier_customer_id"}).copy()
    t["earlier_customer_id"] = t["earlier_customer_id"].astype("string")
    t = t.merge(bridge[["earlier_customer_id", "customer_id", "status"]], on="earlier_customer_id", how="left")
    t["status"] = t["status"].fillna("lost")
    counts = {"targets": int(len(t)), "identity changed": int((~t["status"].isin(_KEEP)).sum())}
    t = t[t["status"].isin(_KEEP)].reset_index(drop=True)
    cmap = current_map[["account_id", "customer_id"]].astype("string")
    r = rows.astype({"account_id": "string"}).merge(cmap, on="account_id", how="inner")
    r = r[r["customer_id"].isin(set(t["customer_id"]))]
    both = r.groupby("campaign_id")["is_control"].agg(lambda s: s.any() and not s.all())
    usable = sorted(both.index[both.to_numpy(bool)])
    if campaign_id is None and usable:
        reach = r[r["campaign_id"].isin(usable)].groupby("campaign_id").agg(n=("customer_id", "nunique"), first=("assigned_at", "min"))
        campaign_id = str(reach.sort_values(["n", "first"], ascending=[False, True], kind="stable").index[0])
    elif campaign_id is not None and str(campaign_id) not in set(r["campaign_id"].astype(str)):
        raise ValueError(f"campaign {campaign_id!r} reached none of the earlier targets since the earlier run; "
                         f"campaigns that did: {sorted(set(r['campaign_id'].astype(str)))}. Pass one of them, or None.")
    r = r[r["campaign_id"].astype(str) == str(campaign_id)] if campaign_id is not None else r.iloc[0:0]
    extra = [c for c in ("true_revenue_uplift", "true_p_treated") if c in r]
    per = r.groupby("customer_id").agg(arms=("is_control", "nunique"), control=("is_control", "first"),
                                       response=("response", "sum"), revenue=("revenue", "sum"),
                                       **{c: (c, "sum") for c in extra}).reset_index()
    mixed = per["arms"] > 1
    per = per[~mixed].assign(treated=lambda d: ~d["control"].astype(bool)).drop(columns=["arms", "control"])
    found = t.merge(per, on="customer_id", how="inner")
    counts["not in the campaign"] = int(len(t) - len(found) - mixed.sum())
    counts["in both arms"] = int(mixed.sum())
    counts["measured"] = int(len(found))
    return found.reset_index(drop=True), counts, (None if campaign_id is None else str(campaign_id))


# ------------------------------------------------------------------ 3. realised against predicted
def realised_gain(treated, revenue, response, cost, *, margin: float, offer_cost_per_response: float = 0.0,
                  level: float = 0.95) -> dict[str, float]:
    """Realised incremental profit per customer of contacting a randomised set of customers, with a Welch interval.

    Parameters
    ----------
    treated : array of bool
        Contacted (treated arm) or not (control arm / holdout).
    revenue : array of float
        Revenue in the campaign's response window (currency).
    response : array of 0/1 (or counts)
        Responses, charged ``offer_cost_per_response`` when treated.
    cost : array of float
        Cost of contacting each customer: contact and offer per contact (currency), charged to all of
        them (it is what contacting every one of them costs).
    margin : float
        Share of revenue kept (0-1].
    level : float
        Interval level (0-1).

    Returns
    -------
    dict
        ``per_customer``, ``ci_low``, ``ci_high`` (currency per customer; the interval is NaN with fewer
        than 2 customers in an arm), ``se``, ``n``, ``n_treated``, ``n_control``.

    Raises
    ------
    EcrmError
        An arm is empty (from :func:`ecrm_lib.seef.profit_eval.profit_contributions`).

    Examples
    --------
    >>> g = realised_gain([1, 1, 0, 0], [10.0, 0.0, 4.0, 0.0], [1, 0, 1, 0], [1.0] * 4, margin=0.5)
    >>> g["per_customer"], g["n"]
    (0.5, 4)
    """
    tr = np.asarray(treated, bool)
    rev = np.nan_to_num(np.asarray(revenue, float))
    resp = np.nan_to_num(np.asarray(response, float))
    c = np.asarray(cost, float) * np.ones(len(tr))
    z = profit_contributions(tr.astype(int), rev, margin=margin, contact_cost=0.0, response=resp,
                             offer_cost_per_response=offer_cost_per_response)
    per = float(z.mean() - c.mean())
    g1 = margin * rev[tr] - offer_cost_per_response * resp[tr]
    g0 = margin * rev[~tr]
    n1, n0 = len(g1), len(g0)
    out = {"per_customer": per, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan, "n": int(len(tr)),
           "n_treated": int(n1), "n_control": int(n0)}
    if n1 < 2 or n0 < 2:
        return out
    v1, v0 = g1.var(ddof=1) / n1, g0.var(ddof=1) / n0
    se = math.sqrt(v1 + v0)
    if se == 0:
        out.update(se=0.0, ci_low=per, ci_high=per)
        return out
    df = (v1 + v0) ** 2 / ((v1 ** 2 / (n1 - 1) if v1 else 0.0) + (v0 ** 2 / (n0 - 1) if v0 else 0.0))
    h = float(student_t.ppf(0.5 + level / 2, df)) * se
    out.update(se=se, ci_low=per - h, ci_high=per + h)
    return out


def realised_vs_predicted(found: pd.DataFrame, *, margin: float, offer_cost_per_response: float = 0.0,
                          n_bands: int = DEFAULT_BANDS, level: float = 0.95, min_cell: int = 5) -> pd.DataFrame:
    """Predicted against realised incremental profit per customer, for every customer measured and per band of prediction.

    Parameters
    ----------
    found : DataFrame
        One row per customer: ``treated``, ``revenue``, ``response``, ``cost`` (contact and offer per
        contact, currency) and ``predicted_profit`` (currency); optional ``true_revenue_uplift`` and
        ``true_p_treated`` (the truth's effect of the customer's campaign rows).
    margin, offer_cost_per_response, level
        See :func:`realised_gain`.
    n_bands : int
        Bands of predicted profit, of equal numbers of customers (band ``n_bands`` has the highest).
    min_cell : int
        A band whose treated or control customers are fewer than this has no realised figure (it would
        describe too few people).

    Returns
    -------
    DataFrame
        Columns :data:`LOOP_PROFIT_COLUMNS`: ``band`` (0 = every customer measured, then 1 = lowest
        predicted profit ... ``n_bands``), ``predicted_from``/``predicted_to`` (the band's range of
        predicted profit), ``customers``, ``n_treated``, ``n_control``, ``predicted`` (mean predicted
        profit), ``realised`` with ``ci_low``/``ci_high``, ``true_expected`` (what the true effect says
        contacting them earns on average; NaN without a truth) per customer, and ``predicted_total``,
        ``realised_total`` (currency, for all the band's customers).

    Examples
    --------
    >>> n = 400  # pairs of customers with the same prediction, one contacted and one not
    >>> f = pd.DataFrame({"treated": np.arange(n) % 2 == 0, "predicted_profit": np.repeat(np.linspace(0, 30, n // 2), 2),
    ...                   "cost": 5.0, "response": 0.0})
    >>> f["revenue"] = np.where(f["treated"], 2 * f["predicted_profit"] + 10, 0.0)  # margin 0.5: realised = predicted
    >>> r = realised_vs_predicted(f, margin=0.5, n_bands=2)
    >>> r[["band", "customers"]].to_numpy().tolist(), bool(np.allclose(r["realised"], r["predicted"]))
    ([[0, 400], [1, 200], [2, 200]], True)
    """
    if not int(n_bands) >= 1:
        raise ValueError(f"n_bands must be a whole number of at least 1, but {n_bands!r} was passed.")
    f = found.reset_index(drop=True)
    order = np.lexsort((np.arange(len(f)), f["predicted_profit"].astype(float).to_numpy()))
    band = np.empty(len(f), dtype=int)
    for k, part in enumerate(np.array_split(order, int(n_bands)), start=1):
        band[part] = k
    has_truth = "true_revenue_uplift" in f
    rows = []
    for b in range(0, int(n_bands) + 1):
        part = f if b == 0 else f[band == b]
        if b and part.empty:
            continue
        pred = part["predicted_profit"].astype(float)
        row = {"band": b, "predicted_from": float(pred.min()) if len(part) else math.nan,
               "predicted_to": float(pred.max()) if len(part) else math.nan, "customers": int(len(part)),
               "n_treated": int(part["treated"].sum()), "n_control": int((~part["treated"].astype(bool)).sum()),
               "predicted": float(pred.mean()) if len(part) else math.nan,
               "realised": math.nan, "ci_low": math.nan, "ci_high": math.nan, "true_expected": math.nan}
        if row["n_treated"] >= max(min_cell, 1) and row["n_control"] >= max(min_cell, 1):
            g = realised_gain(part["treated"], part["revenue"], part["response"], part["cost"], margin=margin,
                              offer_cost_per_response=offer_cost_per_response, level=level)
            row.update(realised=g["per_customer"], ci_low=g["ci_low"], ci_high=g["ci_high"])
        if has_truth and len(part):
            true = (margin * part["true_revenue_uplift"].astype(float) - part["cost"].astype(float)
                    - offer_cost_per_response * part.get("true_p_treated", pd.Series(0.0, index=part.index)).astype(float))
            row["true_expected"] = float(true.mean())
        row["predicted_total"] = float(pred.sum())
        row["realised_total"] = row["realised"] * row["customers"]
        rows.append(row)
    return pd.DataFrame(rows, columns=LOOP_PROFIT_COLUMNS)


def band_verdict(table: pd.DataFrame) -> str | None:
    """Whether the band of highest predicted profit earned the most.

    ``"ordered"``: it realised the most; ``"noisy"``: another band realised more, but their intervals
    overlap (the bands cannot be ranked on this campaign); ``"not_ordered"``: another band's interval
    lies wholly above the top band's; None: fewer than two bands measured.

    >>> t = pd.DataFrame({"band": [0, 1, 2], "realised": [5.0, 1.0, 9.0], "ci_low": [0.0, -4.0, 4.0], "ci_high": [10.0, 6.0, 14.0]})
    >>> band_verdict(t), band_verdict(t.assign(realised=[5.0, 11.0, 9.0])), band_verdict(t.assign(realised=[5.0, 20.0, 9.0], ci_low=[0, 15, 4]))
    ('ordered', 'noisy', 'not_ordered')
    """
    b = table[(table["band"] > 0) & table["realised"].notna()].set_index("band")
    if len(b) < 2:
        return None
    top = b.loc[b.index.max()]
    others = b.drop(index=b.index.max())
    if top["realised"] >= others["realised"].max():
        return "ordered"
    return "not_ordered" if (others["ci_low"] > top["ci_high"]).any() else "noisy"


def prediction_verdict(predicted: float, ci_low: float, ci_high: float) -> str:
    """Where the prediction lies against the realised figure's interval: ``"within"``, ``"above"`` or ``"below"``;
    ``"unknown"`` when the interval is missing (too few customers in an arm).

    >>> prediction_verdict(10.0, 4.0, 12.0), prediction_verdict(13.0, 4.0, 12.0), prediction_verdict(1.0, 4.0, 12.0)
    ('within', 'above', 'below')
    >>> prediction_verdict(10.0, float("nan"), float("nan"))
    'unknown'
    """
    if pd.isna(ci_low) or pd.isna(ci_high) or pd.isna(predicted):
        return "unknown"
    if predicted > ci_high:
        return "above"
    if predicted < ci_low:
        return "below"
    return "within"


# ------------------------------------------------------------------ orchestration
@dataclass
class LoopProfit:
    """What :func:`loop_profit` returns.

    Attributes
    ----------
    start, end : date
        The earlier run's as-of date and this run's.
    campaign_id : str
        The campaign measured.
    found : DataFrame
        :func:`targets_in_campaign` with ``cost`` (this run's price of the plan's channel plus the offer per contact).
    table : DataFrame
        :func:`realised_vs_predicted`.
    counts : dict
        Earlier targets, measured and left out (and why).
    has_truth : bool
        Whether ``table["true_expected"]`` comes from a known truth.
    """

    start: dt.date
    end: dt.date
    campaign_id: str
    found: pd.DataFrame
    table: pd.DataFrame
    counts: dict = field(default_factory=dict)
    has_truth: bool = False


def loop_profit(targets: pd.DataFrame, earlier_map: pd.DataFrame, current_map: pd.DataFrame, campaigns, start: dt.date,
                end: dt.date, *, channel_costs: pd.DataFrame | None, economics, timezone: str | None = None,
                truth: pd.DataFrame | None = None, campaign_id: str | None = None, n_bands: int = DEFAULT_BANDS,
                level: float = 0.95, min_cell: int = 5) -> tuple[LoopProfit | None, NotAvailable | None]:
    """Realised against predicted incremental profit of the customers an earlier run chose by profit.

    Parameters
    ----------
    targets : DataFrame
        The earlier run's ``selection/profit_targets`` product.
    earlier_map, current_map : DataFrame
        The two runs' ``account_id`` -> ``customer_id`` maps (:func:`ecrm_lib.seef.loop.identity_maps`).
    campaigns : ibis.Table or DataFrame
        This run's canonical campaigns table.
    start, end : date
        The earlier run's as-of date and this run's.
    channel_costs : DataFrame or None
        This run's ``channel, purpose, cost_per_contact``: the price of each customer's planned channel
        (None, or a channel without a price today: the plan's own ``cost``).
    economics : object or mapping
        The config's ``economics`` (``margin``; offer costs, :func:`ecrm_lib.seef.profit.economics_parameters`).
    timezone : str, optional
        The config's time zone.
    truth : DataFrame, optional
        The generator's ``truth/campaign_effects.csv`` (``account_id``, ``campaign_id``,
        ``revenue_uplift``, ``p_treated``): gives ``true_expected``.
    campaign_id, n_bands, level, min_cell
        See :func:`targets_in_campaign` and :func:`realised_vs_predicted`.

    Returns
    -------
    (LoopProfit or None, NotAvailable or None)
        The result, or None and why not (``str(reason)`` completes "not available because ...").
    """
    margin = economics.get("margin") if isinstance(economics, Mapping) else getattr(economics, "margin", None)
    if margin is None:
        return None, NotAvailable("loop.na.no_margin")
    offers = economics_parameters(economics)
    bridge = bridge_customer_ids(earlier_map, current_map)
    keep = bridge.loc[bridge["status"].isin(_KEEP) & bridge["earlier_customer_id"].isin(
        set(targets["customer_id"].astype("string"))), "customer_id"]
    accounts = current_map.loc[current_map["customer_id"].astype("string").isin(set(keep)), "account_id"]
    rows = campaign_rows_since(campaigns, accounts, start, end, timezone=timezone)
    if truth is not None and len(rows):
        tr = truth[["account_id", "campaign_id", "revenue_uplift", "p_treated"]].astype(
            {"account_id": "string", "campaign_id": "string"}).rename(
            columns={"revenue_uplift": "true_revenue_uplift", "p_treated": "true_p_treated"})
        rows = rows.merge(tr.drop_duplicates(["account_id", "campaign_id"]), on=["account_id", "campaign_id"], how="left")
    found, counts, cid = targets_in_campaign(targets, bridge, current_map, rows, campaign_id)
    if "true_revenue_uplift" in found and found["true_revenue_uplift"].isna().any():
        # a truth that does not cover the measured campaign's rows is no truth for them (other campaigns do not count)
        found = found.drop(columns=[c for c in ("true_revenue_uplift", "true_p_treated") if c in found])
    if cid is None or found.empty:
        return None, NotAvailable("loop.na.no_campaign_since", {"start": start})
    price = channel_cost_table(channel_costs) if channel_costs is not None else pd.Series(dtype=float)
    planned = found["cost"].astype(float)
    found["cost"] = (found["channel"].astype("string").map(price).astype(float) + offers["offer_cost_per_contact"]).fillna(planned)
    if found["treated"].all() or not found["treated"].any():
        return None, NotAvailable("loop.na.one_arm", {"c": cid})
    table = realised_vs_predicted(found, margin=float(margin), offer_cost_per_response=offers["offer_cost_per_response"],
                                  n_bands=n_bands, level=level, min_cell=min_cell)
    return LoopProfit(start, end, cid, found, table, counts, "true_revenue_uplift" in found), None


def loop_profit_metrics(result: LoopProfit | None) -> dict[str, object]:
    """Headline figures of the realised-against-predicted check (None where not measured), keyed as in the registry.

    Examples
    --------
    >>> loop_profit_metrics(None)["loop_profit_measured"] is None
    True
    """
    keys = ["loop_profit_earlier_targets", "loop_profit_measured", "loop_profit_predicted_per_customer",
            "loop_profit_realised_per_customer", "loop_profit_realised_ci_low", "loop_profit_realised_ci_high",
            "loop_profit_true_per_customer", "loop_profit_predicted_total", "loop_profit_realised_total",
            "loop_profit_top_band_realised", "loop_profit_bottom_band_realised"]
    out: dict[str, object] = dict.fromkeys(keys)
    if result is None:
        return out

    def num(x):
        return None if x is None or pd.isna(x) else float(x)

    tab = result.table.set_index("band")
    allr = tab.loc[0]
    bands = tab.drop(index=0)
    out.update(loop_profit_earlier_targets=int(result.counts.get("targets", 0)), loop_profit_measured=int(allr["customers"]),
               loop_profit_predicted_per_customer=num(allr["predicted"]), loop_profit_realised_per_customer=num(allr["realised"]),
               loop_profit_realised_ci_low=num(allr["ci_low"]), loop_profit_realised_ci_high=num(allr["ci_high"]),
               loop_profit_true_per_customer=num(allr["true_expected"]) if result.has_truth else None,
               loop_profit_predicted_total=num(allr["predicted_total"]), loop_profit_realised_total=num(allr["realised_total"]))
    if len(bands) >= 2:
        out["loop_profit_top_band_realised"] = num(bands["realised"].iloc[-1])
        out["loop_profit_bottom_band_realised"] = num(bands["realised"].iloc[0])
    return out

"""The SEEF feedback loop across runs: what happened to the customers an earlier run selected.

A scheduled run reads the products of the previous run (its target list, its
customer values and its identity map; the notebook reads them through
``ctx.read_product(..., previous=True)``), follows those customers up to this
run's as-of date, and compares them with comparable customers the earlier run
did not select. The campaign response measured per earlier segment then
becomes the weights of this run's selection
(:func:`ecrm_lib.seef.weights.feedback_weights`). Everything here takes
tables: the transactions and campaigns as Ibis tables (aggregated in the
engine) or DataFrames, the products as DataFrames.

Steps
-----
0. :func:`missing_input_reason` - why there is nothing to follow up (no
   earlier run, no selection in it, no transactions);
   :func:`earlier_customers` - the earlier customers with their matching
   features; :func:`identity_maps` - the two runs' account maps.
1. :func:`bridge_customer_ids` - customer ids are hashes of a customer's set of
   channel accounts (:func:`ecrm_lib.channels.identity.customer_ids`), so a customer who
   opened an account since has a new id. The bridge goes through the accounts:
   each earlier customer is found again through the accounts the two runs share.
2. :func:`outcomes_since` - purchases, revenue and whether each customer bought
   at all between the two as-of dates (local calendar dates), aggregated in
   the engine; :func:`followed_customers` joins them to the earlier customers,
   :func:`comparable` marks those whose identity stayed comparable and
   :func:`mark_compared` who was compared as what.
3. :func:`ecrm_lib.seef.matching.match_comparable` - each earlier target gets its
   nearest earlier non-targets on the earlier run's purchase history.
4. :func:`ecrm_lib.seef.matching.compare_outcomes` - targets minus their matched
   non-targets, with a bootstrap interval over targets.
5. :func:`campaign_response` - response-rate uplift of campaigns sent between
   the two runs, per earlier group (targets / non-targets, and segment),
   treatment against the randomised control (:func:`response_by_earlier_group`),
   and the segment weights.

:func:`follow_up` runs them all and returns a :class:`LoopResult`;
:func:`loop_products` and :func:`loop_metrics` give its products and headline figures.

Examples
--------
>>> earlier = pd.DataFrame({"account_id": ["a", "b", "c"], "customer_id": ["E1", "E1", "E2"]})
>>> current = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "customer_id": ["N1", "N1", "E2", "N1"]})
>>> bridge_customer_ids(earlier, current)[["earlier_customer_id", "customer_id", "status"]].to_numpy().tolist()
[['E1', 'N1', 'grown'], ['E2', 'E2', 'same']]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from ecrm_lib.channels.common import self_account_map
from ecrm_lib.core.i18n import t
from ecrm_lib.core.intervals import newcombe_interval
from ecrm_lib.core.multiplicity import simultaneous_level
from ecrm_lib.data.engine import backend_name, local_date
from ecrm_lib.seef.matching import MATCH_FEATURES, MatchResult, compare_outcomes, match_comparable
from ecrm_lib.seef.tables import columns_of, engine_table, to_frame
from ecrm_lib.seef.weights import feedback_weights

__all__ = [
    "FOLLOWUP_COLUMNS",
    "WEIGHT_COLUMNS",
    "LoopResult",
    "bridge_customer_ids",
    "campaign_response",
    "earlier_customers",
    "comparable",
    "follow_up",
    "followed_customers",
    "identity_maps",
    "loop_metrics",
    "loop_products",
    "mark_compared",
    "missing_input_reason",
    "outcomes_since",
    "response_by_earlier_group",
]

_STATUS_ORDER = ["same", "grown", "merged", "split", "lost"]


# ------------------------------------------------------------------ 0. inputs
def missing_input_reason(earlier_as_of: dt.date | None, earlier_segments: pd.DataFrame | None,
                         has_transactions: bool) -> str | None:
    """Why the loop cannot be measured, in plain words for the report; None when it can.

    Parameters
    ----------
    earlier_as_of : date or None
        As-of date of the most recent earlier run (``ctx.earlier_runs()``); None: there is none.
    earlier_segments : DataFrame or None
        Its ``selection/customer_segments`` product (``ctx.read_product(..., previous=True)``).
    has_transactions : bool
        Whether this run has transactions.

    Examples
    --------
    >>> missing_input_reason(None, None, True)[:24]
    'This is the first run fo'
    >>> missing_input_reason(dt.date(2024, 12, 30), pd.DataFrame(), True) is None
    True
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     missing_input_reason(dt.date(2024, 12, 30), None, True).startswith("이전 실행(2024년 12월 30일 기준)에는 선정 목록이 없어")
    True
    """
    if earlier_as_of is None:
        return t("feedback.loop_first_run")
    if earlier_segments is None:
        return t("feedback.loop_no_selection", start=earlier_as_of)
    if not has_transactions:
        return t("feedback.loop_no_transactions")
    return None


def earlier_customers(segments: pd.DataFrame, customer_value: pd.DataFrame | None = None) -> pd.DataFrame:
    """The earlier run's customers with the matching features of its customer values.

    Parameters
    ----------
    segments : DataFrame
        The earlier ``selection/customer_segments`` product (``customer_id``, ``selected``, ``segment``, ...).
    customer_value : DataFrame, optional
        The earlier ``customer_value/customer_value`` product: its columns of
        :data:`ecrm_lib.seef.matching.MATCH_FEATURES` that ``segments`` lacks are joined.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a"], "selected": [True]})
    >>> list(earlier_customers(s, pd.DataFrame({"customer_id": ["a"], "frequency": [2], "x": [1]})).columns)
    ['customer_id', 'selected', 'frequency']
    """
    extra = [c for c in MATCH_FEATURES if customer_value is not None and c in customer_value and c not in segments]
    if not extra:
        return segments
    return segments.merge(customer_value[["customer_id", *extra]], on="customer_id", how="left")


def identity_maps(earlier_map: pd.DataFrame | None, current_map: pd.DataFrame | None, earlier_segments: pd.DataFrame,
                  transactions=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``account_id`` -> ``customer_id`` maps of the earlier run and of this one; without one, every account is its own customer.

    Parameters
    ----------
    earlier_map, current_map : DataFrame or None
        The ``channel_integration/account_map`` products of the earlier run and of this run.
    earlier_segments : DataFrame
        The earlier ``selection/customer_segments``: without an earlier map its customer ids are account ids.
    transactions : ibis.Table or DataFrame, optional
        This run's transactions: without a current map their account ids are the customers
        (:func:`ecrm_lib.channels.common.self_account_map`, in the engine).

    Examples
    --------
    >>> e, c = identity_maps(None, None, pd.DataFrame({"customer_id": ["A1"]}), pd.DataFrame({"account_id": ["A1", "B2"]}))
    >>> e.to_dict("list"), c["account_id"].tolist()
    ({'account_id': ['A1'], 'customer_id': ['A1']}, ['A1', 'B2'])
    """
    if earlier_map is None:
        ids = earlier_segments["customer_id"].astype("string")
        earlier_map = pd.DataFrame({"account_id": ids.to_numpy(), "customer_id": ids.to_numpy()})
    if current_map is None:
        current_map = self_account_map(transactions)[["account_id", "customer_id"]]
    return earlier_map, current_map


# ------------------------------------------------------------------ 1. bridge
def bridge_customer_ids(earlier_map: pd.DataFrame, current_map: pd.DataFrame) -> pd.DataFrame:
    """Find each earlier customer again in the current identity map, through shared accounts.

    Parameters
    ----------
    earlier_map, current_map : DataFrame
        ``account_id`` -> ``customer_id`` maps (the ``channel_integration/account_map``
        products of the earlier and of this run), one row per account.

    Returns
    -------
    DataFrame
        One row per earlier customer, sorted by id: ``earlier_customer_id``,
        ``customer_id`` (today's id; NA when none of its accounts is known today),
        ``earlier_accounts``, ``shared_accounts`` (earlier accounts that sit in
        ``customer_id`` today) and ``status``:

        - ``same``: the same accounts, the same id;
        - ``grown``: its accounts found today sit in one customer, whose account set
          changed (new accounts joined it, or some of the earlier ones are gone);
        - ``merged``: today's customer also holds accounts of another earlier customer;
        - ``split``: its accounts sit in several customers today (the one with most of
          them is given; ties: the smallest id);
        - ``lost``: none of its accounts is in today's map.

        ``attrs["counts"]`` holds the number of earlier customers per status.

    Raises
    ------
    ValueError
        A map lacks ``account_id`` / ``customer_id`` or lists an account twice.
    """
    for name, m in (("earlier_map", earlier_map), ("current_map", current_map)):
        missing = [c for c in ("account_id", "customer_id") if c not in m]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}; pass the channel_integration/account_map product.")
        if m["account_id"].duplicated().any():
            raise ValueError(f"{name} lists {int(m['account_id'].duplicated().sum())} account(s) twice; one row per account.")
    e = earlier_map[["account_id", "customer_id"]].astype("string").rename(columns={"customer_id": "earlier_customer_id"})
    c = current_map[["account_id", "customer_id"]].astype("string")
    j = e.merge(c, on="account_id", how="left")
    n_acc = j.groupby("earlier_customer_id").size().rename("earlier_accounts")
    pairs = (j.dropna(subset=["customer_id"]).groupby(["earlier_customer_id", "customer_id"]).size()
             .rename("shared_accounts").reset_index())
    n_targets = pairs.groupby("earlier_customer_id").size().rename("n_current")
    best = (pairs.sort_values(["earlier_customer_id", "shared_accounts", "customer_id"], ascending=[True, False, True])
            .drop_duplicates("earlier_customer_id"))
    out = n_acc.reset_index().merge(best, on="earlier_customer_id", how="left").merge(
        n_targets.reset_index(), on="earlier_customer_id", how="left")
    # a current customer that holds accounts of 2+ earlier customers is a merge
    holders = pairs.groupby("customer_id")["earlier_customer_id"].nunique()
    merged_ids = set(holders[holders > 1].index)
    status = np.select(
        [out["customer_id"].isna().to_numpy(),
         (out["n_current"] > 1).fillna(False).to_numpy(),
         out["customer_id"].isin(merged_ids).fillna(False).to_numpy(),
         (out["customer_id"] == out["earlier_customer_id"]).fillna(False).to_numpy()],
        ["lost", "split", "merged", "same"], default="grown")
    out["status"] = pd.array(status, dtype="string")
    out["shared_accounts"] = out["shared_accounts"].fillna(0).astype(int)
    out = out[["earlier_customer_id", "customer_id", "earlier_accounts", "shared_accounts", "status"]]
    out = out.sort_values("earlier_customer_id", kind="stable").reset_index(drop=True)
    out.attrs["counts"] = {s: int((out["status"] == s).sum()) for s in _STATUS_ORDER}
    return out



# ------------------------------------------------------------------ 2. outcomes
def outcomes_since(
    transactions,
    start: dt.date,
    end: dt.date,
    *,
    timezone: str | None = None,
    id_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Per customer: what they bought after ``start`` up to and including ``end``, aggregated in the engine.

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        With ``id_col`` (e.g. from :func:`ecrm_lib.channels.customers.attach_customer_id`),
        ``time_col`` and ``amount_col`` (currency).
    start, end : date
        The earlier run's as-of date (excluded) and this run's (included), as
        local calendar dates in ``timezone``.
    timezone : str, optional
        Time zone of the calendar dates (the config's; UTC when None).

    Returns
    -------
    DataFrame
        ``customer_id``, ``purchases`` (transactions), ``revenue`` (currency;
        summed exactly to 1/10,000 of the currency unit) and ``purchased``
        (bool), for customers with at least one purchase in the window, by
        id; customers absent from it bought nothing.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [10.0, 5.0, 7.0],
    ...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-02-01", "2024-12-01"])})
    >>> outcomes_since(tx, dt.date(2024, 12, 31), dt.date(2025, 6, 30)).to_dict("records")
    [{'customer_id': 'a', 'purchases': 2, 'revenue': 15.0, 'purchased': True}]
    """
    if end <= start:
        raise ValueError(f"the follow-up window is empty: end {end} is not after start {start}.")
    missing = [c for c in (id_col, time_col, amount_col) if c not in columns_of(transactions)]
    if missing:
        raise ValueError(f"transactions lack column(s) {missing}; they have {columns_of(transactions)}.")
    t = engine_table(transactions, [id_col, time_col, amount_col])
    day = local_date(t[time_col], backend_name(t), timezone or "UTC")
    t = t.filter((day > ibis.literal(start, type="date")) & (day <= ibis.literal(end, type="date")))
    g = t.group_by(t[id_col].cast("string").name("customer_id")).aggregate(
        purchases=t.count(), revenue=t[amount_col].cast("decimal(18, 4)").sum().cast("float64"))
    out = to_frame(g.order_by("customer_id"))
    out["customer_id"] = out["customer_id"].astype("string")
    out["purchases"] = out["purchases"].astype(int)
    out["revenue"] = out["revenue"].astype(float).fillna(0.0)
    out["purchased"] = True
    return out


def followed_customers(earlier: pd.DataFrame, bridge: pd.DataFrame, outcomes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The earlier customers under today's ids with their outcomes since, and who is left out of the comparison.

    Parameters
    ----------
    earlier : DataFrame
        :func:`earlier_customers` (earlier ``customer_id``, ``selected``, ...).
    bridge : DataFrame
        :func:`bridge_customer_ids`.
    outcomes : DataFrame
        :func:`outcomes_since` (today's ids).

    Returns
    -------
    (DataFrame, dict)
        One row per earlier customer: ``earlier_customer_id``, the earlier
        columns, ``customer_id`` (today's), ``status``, ``purchases``,
        ``revenue``, ``purchased`` (0 / False without a purchase); and the
        earlier customers left out of the comparison because their identity
        was merged, split or lost since (they share or lose outcomes), by reason.
    """
    need = [c for c in ("customer_id", "selected") if c not in earlier]
    if need:
        raise ValueError(f"the earlier customer table lacks {need}; pass the earlier selection/customer_segments product.")
    ec = earlier.rename(columns={"customer_id": "earlier_customer_id"}).copy()
    ec["earlier_customer_id"] = ec["earlier_customer_id"].astype("string")
    ec["selected"] = ec["selected"].fillna(False).astype(bool)
    followed = ec.merge(bridge[["earlier_customer_id", "customer_id", "status"]], on="earlier_customer_id", how="left")
    followed["status"] = followed["status"].fillna("lost")
    followed = followed.merge(outcomes, on="customer_id", how="left")
    followed["purchases"] = followed["purchases"].fillna(0).astype(int)
    followed["revenue"] = followed["revenue"].fillna(0.0)
    followed["purchased"] = followed["purchased"].fillna(False).astype(bool)
    left_out = {f"identity {s}": int((followed["status"] == s).sum()) for s in ("merged", "split", "lost")}
    return followed, left_out


def comparable(followed: pd.DataFrame) -> pd.Series:
    """Earlier customers whose identity stayed comparable (``same`` or ``grown``): the matching pool."""
    return followed["status"].isin(["same", "grown"])


def mark_compared(followed: pd.DataFrame, match: MatchResult) -> pd.DataFrame:
    """``followed`` with ``compared_as``: ``target``, ``comparable non-target`` or empty."""
    eid = followed["earlier_customer_id"]
    out = followed.copy()
    out["compared_as"] = pd.array(np.where(eid.isin(set(match.pairs["target"])), "target",
                                           np.where(eid.isin(set(match.pairs["control"])), "comparable non-target", "")),
                                  dtype="string")
    return out


# ------------------------------------------------------------------ 5. campaign response
def _response_cells(campaigns, account_groups: pd.DataFrame, group_col: str) -> pd.DataFrame:
    """Assigned accounts and responders per earlier group, campaign and arm (control or not), counted in the engine."""
    g = account_groups[["account_id", group_col]].drop_duplicates("account_id")
    groups = ibis.memtable(pd.DataFrame({"_acc": g["account_id"].astype("string").to_numpy(),
                                         "_group": g[group_col].astype("string").to_numpy()}))
    c = engine_table(campaigns, ["account_id", "campaign_id", "is_control", "response"])
    campaign = c.campaign_id.cast("string") if "campaign_id" in c.columns else ibis.literal("campaign")
    c = c.mutate(_campaign=campaign, _control=c.is_control.cast("boolean"),
                 _response=c.response.cast("float64"), _acc2=c.account_id.cast("string"))
    j = c.left_join(groups, c._acc2 == groups._acc)
    cells = j.group_by([j._group.fill_null("unknown").name("group"), j._campaign.name("campaign_id"),
                        j._control.name("is_control")]).aggregate(n=j.count(), responders=j._response.sum())
    out = to_frame(cells.order_by(["group", "campaign_id", "is_control"]))
    out["responders"] = out["responders"].fillna(0.0).astype(int)
    out["n"] = out["n"].astype(int)
    out["is_control"] = out["is_control"].astype(bool)
    return out


def response_by_earlier_group(
    campaigns,
    account_groups: pd.DataFrame,
    group_col: str,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Response-rate uplift (treatment minus control) per earlier group.

    Treatment arms are pooled against the control arm(s). Randomisation makes
    the comparison within each group fair whatever the group. Counts are of
    assigned accounts, as the campaigns table has them (one per customer when
    a campaign goes to each customer's primary account), counted in the engine.
    With one campaign the interval is Newcombe's; with several, each
    campaign's uplift is measured within the campaign (its own control) and
    the uplifts are averaged with weights proportional to the group's
    accounts in each campaign, with a normal (Wald) interval, so that
    campaigns with different control shares are not mixed into one comparison.

    Parameters
    ----------
    campaigns : ibis.Table or DataFrame
        Canonical ``campaigns`` rows (``account_id``, ``is_control``, ``response``),
        already limited to the campaigns of the follow-up window.
    account_groups : DataFrame
        ``account_id`` and ``group_col`` (e.g. target / non-target, or the earlier segment).
    group_col : str
    level : float
        Newcombe interval level (0-1).

    Returns
    -------
    DataFrame
        ``group``, ``n_treatment``, ``n_control``, ``rate_treatment``,
        ``rate_control`` (pooled over campaigns), ``uplift``, ``ci_low``,
        ``ci_high`` (share points as fractions; within-campaign, see above) and
        ``campaigns`` (campaigns with both arms in the group); accounts without
        a group are ``unknown``.

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": list("abcd"), "is_control": [False, True, False, True],
    ...                   "response": [1, 0, 0, 0]})
    >>> g = pd.DataFrame({"account_id": list("abcd"), "seg": ["x", "x", "y", "y"]})
    >>> response_by_earlier_group(c, g, "seg")[["group", "uplift"]].to_numpy().tolist()
    [['x', 1.0], ['y', 0.0]]
    """
    cells = _response_cells(campaigns, account_groups, group_col)
    z = float(norm.ppf(0.5 + level / 2))
    rows = []
    for name, part in cells.groupby("group", sort=True):
        ctrl = part["is_control"].to_numpy()
        n1, n0 = int(part.loc[~ctrl, "n"].sum()), int(part.loc[ctrl, "n"].sum())
        x1, x0 = int(part.loc[~ctrl, "responders"].sum()), int(part.loc[ctrl, "responders"].sum())
        # per campaign with both arms in this group; several are combined by their size in the group
        per = []
        for _, cpart in part.groupby("campaign_id", sort=True):
            cc = cpart["is_control"].to_numpy()
            m1, m0 = int(cpart.loc[~cc, "n"].sum()), int(cpart.loc[cc, "n"].sum())
            if m1 and m0:
                per.append((m1, m0, int(cpart.loc[~cc, "responders"].sum()), int(cpart.loc[cc, "responders"].sum())))
        if len(per) == 1:
            d, lo, hi = newcombe_interval(*_reorder(per[0]), level)
        elif per:
            w = np.array([a + b for a, b, _, _ in per], dtype=float)
            w /= w.sum()
            diffs = np.array([c1 / a - c0 / b for a, b, c1, c0 in per])
            var = np.array([(c1 / a) * (1 - c1 / a) / a + (c0 / b) * (1 - c0 / b) / b for a, b, c1, c0 in per])
            d = float(w @ diffs)
            half = z * math.sqrt(float((w ** 2) @ var))
            lo, hi = d - half, d + half
        else:
            d = lo = hi = math.nan
        rows.append({"group": name, "n_treatment": n1, "n_control": n0,
                     "rate_treatment": x1 / n1 if n1 else math.nan, "rate_control": x0 / n0 if n0 else math.nan,
                     "uplift": d, "ci_low": lo, "ci_high": hi, "campaigns": len(per)})
    return pd.DataFrame(rows, columns=["group", "n_treatment", "n_control", "rate_treatment", "rate_control",
                                       "uplift", "ci_low", "ci_high", "campaigns"])


def _reorder(cell: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(n_treatment, n_control, responders_treatment, responders_control) -> newcombe_interval's (x1, n1, x0, n0)."""
    n1, n0, x1, x0 = cell
    return x1, n1, x0, n0


def campaign_response(
    campaigns,
    earlier_map: pd.DataFrame,
    earlier: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    timezone: str | None = None,
    level: float = 0.95,
    down_weight: float = 0.5,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """Step 5: the campaigns sent between the runs, split by the earlier run's targets and segments.

    Parameters
    ----------
    campaigns : ibis.Table or DataFrame
        This run's canonical ``campaigns`` table; the rows assigned after
        ``start`` up to ``end`` (local dates) are filtered in the engine.
    earlier_map : DataFrame
        The earlier ``account_map`` (``account_id`` -> earlier ``customer_id``).
    earlier : DataFrame
        :func:`earlier_customers` (earlier ``customer_id``, ``selected``, ``segment``).
    start, end : date
        The earlier run's as-of date and this run's.
    timezone : str, optional
    level : float
        Interval level (0-1).
    down_weight : float
        Weight of a segment whose uplift is not positive (:func:`ecrm_lib.seef.weights.feedback_weights`).

    Returns
    -------
    (DataFrame or None, DataFrame or None, DataFrame or None, list of str)
        Uplift for earlier targets and non-targets, per earlier segment (intervals at ``level``), the
        segment weights (with ``n_treatment``, ``n_control``; their ``ci_low``/``ci_high`` are simultaneous
        intervals over the ``m`` segments, at level ``1 - (1 - level) / m``, in ``attrs["adjusted_level"]``,
        because every segment's weight is decided at once) and the campaign
        ids measured; None (and an empty list) without a campaign with both
        arms in the window.
    """
    if campaigns is None or "assigned_at" not in columns_of(campaigns):
        return None, None, None, []
    c = engine_table(campaigns, ["account_id", "campaign_id", "is_control", "response", "assigned_at"])
    day = local_date(c.assigned_at, backend_name(c), timezone or "UTC")
    camp = c.filter((day > ibis.literal(start, type="date")) & (day <= ibis.literal(end, type="date")))
    arms = to_frame(camp.group_by(camp.campaign_id.cast("string").name("campaign_id"),
                                  camp.is_control.cast("boolean").name("is_control")).aggregate(n=camp.count()))
    if arms.empty or not arms["is_control"].fillna(False).astype(bool).any() or arms["is_control"].fillna(False).astype(bool).all():
        return None, None, None, []
    used = sorted(arms["campaign_id"].dropna().astype(str).unique().tolist())
    ec = earlier.rename(columns={"customer_id": "earlier_customer_id"})
    ec = ec.assign(earlier_customer_id=ec["earlier_customer_id"].astype("string"),
                   selected=ec["selected"].fillna(False).astype(bool))
    acc = earlier_map[["account_id", "customer_id"]].astype("string").rename(
        columns={"customer_id": "earlier_customer_id"}).merge(
        ec[["earlier_customer_id", "selected"] + (["segment"] if "segment" in ec else [])],
        on="earlier_customer_id", how="inner")
    acc["group"] = np.where(acc["selected"], "targets", "non-targets")
    response_targets = response_by_earlier_group(camp, acc, "group", level=level)
    response_segments = weights = None
    if "segment" in acc:
        response_segments = response_by_earlier_group(camp, acc, "segment", level=level)
        # the weights act on every segment at once: their intervals hold together (Bonferroni, the interval form
        # of Holm's procedure; see ecrm_lib.core.multiplicity), so that segments with the same true uplift are
        # not removed or down-weighted by the chance of being the lowest of many
        m = int(((response_segments["group"] != "unknown") & response_segments["uplift"].notna()).sum())
        adj_level = simultaneous_level(level, m)
        adjusted = (response_by_earlier_group(camp, acc, "segment", level=adj_level) if m > 1 else response_segments)
        seg = adjusted.loc[adjusted["group"] != "unknown"].rename(columns={"group": "segment"})
        weights = feedback_weights(seg, down_weight=down_weight)
        weights = weights.merge(seg[["segment", "n_treatment", "n_control"]], on="segment", how="left")
        weights.attrs.update(adjusted_level=adj_level, family_size=m)
    return response_targets, response_segments, weights, used


# ------------------------------------------------------------------ orchestration
@dataclass
class LoopResult:
    """What :func:`follow_up` returns.

    Attributes
    ----------
    start, end : date
        The earlier run's as-of date and this run's.
    bridge : DataFrame
        :func:`bridge_customer_ids` output.
    followed : DataFrame
        One row per earlier customer: ``earlier_customer_id``, ``customer_id``,
        ``status``, ``selected``, ``segment``, the earlier columns, the outcomes
        and ``compared_as`` (``target``, ``comparable non-target`` or empty).
    match : MatchResult
    comparison : DataFrame
        :func:`compare_outcomes` output.
    response_targets : DataFrame or None
        Campaign uplift for earlier targets and non-targets (None without a
        campaign in the window).
    response_segments : DataFrame or None
        Campaign uplift per earlier segment.
    weights : DataFrame or None
        :func:`ecrm_lib.seef.weights.feedback_weights` of ``response_segments``: the
        input of this run's selection.
    campaigns_used : list of str
    left_out : dict
        Earlier customers left out of the comparison and why (counts).
    """

    start: dt.date
    end: dt.date
    bridge: pd.DataFrame
    followed: pd.DataFrame
    match: MatchResult
    comparison: pd.DataFrame
    response_targets: pd.DataFrame | None
    response_segments: pd.DataFrame | None
    weights: pd.DataFrame | None
    campaigns_used: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def weeks(self) -> float:
        """Length of the follow-up (weeks)."""
        return (self.end - self.start).days / 7.0



def follow_up(
    earlier_customers: pd.DataFrame,
    earlier_map: pd.DataFrame,
    current_map: pd.DataFrame,
    transactions,
    start: dt.date,
    end: dt.date,
    *,
    campaigns=None,
    timezone: str | None = None,
    features: Sequence[str] | None = None,
    n_neighbors: int = 3,
    caliper: float = 0.25,
    level: float = 0.95,
    n_boot: int = 1000,
    down_weight: float = 0.5,
    random_state: int = 0,
) -> LoopResult:
    """Follow the customers of an earlier run up to this run and measure the targets against comparable others.

    Runs the steps of the module docstring in a row (the Feedback notebook
    runs them one cell at a time).

    Parameters
    ----------
    earlier_customers : DataFrame
        The earlier run's customers: ``customer_id`` (earlier ids), ``selected``
        (bool), ``segment`` and the matching features (:func:`earlier_customers`).
    earlier_map, current_map : DataFrame
        ``account_id`` -> ``customer_id`` of the earlier run and of this run.
    transactions : ibis.Table or DataFrame
        This run's transactions with ``customer_id`` (today's ids), ``timestamp``, ``amount``.
    start, end : date
        The earlier run's as-of date and this run's.
    campaigns : ibis.Table or DataFrame, optional
        This run's canonical campaigns table (:func:`campaign_response`).
    timezone : str, optional
        The config's time zone (local dates).
    features, n_neighbors, caliper
        See :func:`ecrm_lib.seef.matching.match_comparable`.
    level, n_boot
        Interval level (0-1) and bootstrap resamples.
    down_weight : float
        Weight of a segment whose uplift is not positive (see :func:`ecrm_lib.seef.weights.feedback_weights`).

    Returns
    -------
    LoopResult
    """
    if end <= start:
        raise ValueError(f"the earlier run's as-of date {start} must be before this run's {end}.")
    need = [c for c in ("customer_id", "selected") if c not in earlier_customers]
    if need:
        raise ValueError(f"the earlier customer table lacks {need}; pass the earlier selection/customer_segments product.")
    bridge = bridge_customer_ids(earlier_map, current_map)
    outcomes = outcomes_since(transactions, start, end, timezone=timezone)
    followed, left_out = followed_customers(earlier_customers, bridge, outcomes)
    usable = comparable(followed)
    match = match_comparable(followed.loc[usable].reset_index(drop=True), features=features,
                             n_neighbors=n_neighbors, caliper=caliper)
    left_out["targets without a comparable non-target"] = match.n_unmatched
    followed = mark_compared(followed, match)
    comparison = compare_outcomes(followed.loc[usable], match, level=level, n_boot=n_boot, random_state=random_state)
    response_targets, response_segments, weights, used = campaign_response(
        campaigns, earlier_map, earlier_customers, start, end, timezone=timezone, level=level, down_weight=down_weight)
    return LoopResult(start, end, bridge, followed, match, comparison, response_targets, response_segments, weights,
                      used, left_out)


#: Columns of the ``feedback/loop_followup`` and ``feedback/segment_weights`` products.
FOLLOWUP_COLUMNS = ["earlier_customer_id", "customer_id", "status", "selected", "segment", "compared_as",
                    "purchased", "purchases", "revenue"]
WEIGHT_COLUMNS = ["segment", "uplift", "ci_low", "ci_high", "weight", "action", "reason", "n_treatment", "n_control"]


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    floats = {"uplift", "ci_low", "ci_high", "weight", "revenue"}
    ints = {"n_treatment", "n_control", "purchases"}
    bools = {"selected", "purchased"}
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in floats else "Int64" if c in ints
                                      else "boolean" if c in bools else "string") for c in columns})


def loop_products(result: LoopResult | None) -> dict[str, pd.DataFrame]:
    """The loop's products: ``loop_followup`` (one row per earlier customer) and ``segment_weights``.

    Both exist (empty, with their columns) when there is nothing to follow up,
    so that later notebooks and runs can always read them.
    """
    if result is None:
        return {"loop_followup": _empty(FOLLOWUP_COLUMNS), "segment_weights": _empty(WEIGHT_COLUMNS)}
    f = result.followed
    follow = f[[c for c in FOLLOWUP_COLUMNS if c in f]].reset_index(drop=True)
    weights = result.weights[WEIGHT_COLUMNS].reset_index(drop=True) if result.weights is not None else _empty(WEIGHT_COLUMNS)
    return {"loop_followup": follow, "segment_weights": weights}


def loop_metrics(result: LoopResult | None, min_cell: int = 5) -> dict[str, object]:
    """Headline figures of the loop (None where not measured), keyed as in the notebook registry.

    The purchase-rate difference is None when fewer than ``min_cell`` targets
    could be compared (it would describe fewer than ``min_cell`` customers).

    Returns
    -------
    dict
        ``loop_earlier_as_of`` (ISO date), ``loop_n_targets`` (earlier targets),
        ``loop_n_compared`` (those with a comparable non-target),
        ``loop_purchase_rate_diff`` with ``_ci_low`` / ``_ci_high`` (share
        points as fractions), ``loop_response_uplift_targets`` (share points
        as a fraction), ``loop_segments_down_weighted`` (segments).

    Examples
    --------
    >>> loop_metrics(None)["loop_n_targets"] is None
    True
    """
    keys = ["loop_earlier_as_of", "loop_n_targets", "loop_n_compared", "loop_purchase_rate_diff",
            "loop_purchase_rate_diff_ci_low", "loop_purchase_rate_diff_ci_high", "loop_response_uplift_targets",
            "loop_segments_down_weighted"]
    out: dict[str, object] = dict.fromkeys(keys)
    if result is None:
        return out

    def num(x):
        return None if x is None or pd.isna(x) else float(x)

    out["loop_earlier_as_of"] = result.start.isoformat()
    out["loop_n_targets"] = int(result.followed["selected"].sum())
    out["loop_n_compared"] = int(result.match.n_matched)
    if result.match.n_matched >= min_cell:
        p = result.comparison.set_index("outcome").loc["purchased"]
        out["loop_purchase_rate_diff"] = num(p["difference"])
        out["loop_purchase_rate_diff_ci_low"] = num(p["ci_low"])
        out["loop_purchase_rate_diff_ci_high"] = num(p["ci_high"])
    if result.response_targets is not None:
        rt = result.response_targets.set_index("group")
        if "targets" in rt.index:
            out["loop_response_uplift_targets"] = num(rt.loc["targets", "uplift"])
    if result.weights is not None:
        out["loop_segments_down_weighted"] = int((result.weights["action"] != "keep").sum())
    return out


"""The SEEF feedback loop across runs: what happened to the customers an earlier run selected.

A scheduled run reads the products of the previous run (its target list, its
customer values and its identity map), follows those customers up to this
run's as-of date, and compares them with comparable customers the earlier run
did not select. The campaign response measured per earlier segment then
becomes the weights of this run's selection (:func:`ecrm_lib.seef.selection.feedback_weights`).

Steps
-----
1. :func:`bridge_customer_ids` - customer ids are hashes of a customer's set of
   channel accounts (:func:`ecrm_lib.channels.identity.customer_ids`), so a customer who
   opened an account since has a new id. The bridge goes through the accounts:
   each earlier customer is found again through the accounts the two runs share.
2. :func:`outcomes_since` - purchases, revenue and whether each customer bought
   at all between the two as-of dates (local calendar dates).
3. :func:`match_comparable` - each earlier target gets its nearest earlier
   non-targets on the earlier run's purchase history (frequency, recency, age,
   spend, churn probability), within a caliper; targets without a close
   non-target are counted and left out.
4. :func:`compare_outcomes` - targets minus their matched non-targets (effect on
   the targets), with a bootstrap interval over targets.
5. :func:`response_by_earlier_group` - response-rate uplift of campaigns sent
   between the two runs, per earlier group (targets / non-targets, or segment),
   treatment against the randomised control.

:func:`follow_up` runs them all and returns a :class:`LoopResult`.

Examples
--------
>>> import pandas as pd
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

import numpy as np
import pandas as pd

from ecrm_lib.seef.selection import feedback_weights
from ecrm_lib.core.intervals import newcombe_interval

__all__ = [
    "MATCH_FEATURES",
    "OUTCOMES",
    "MatchResult",
    "LoopResult",
    "bridge_customer_ids",
    "outcomes_since",
    "match_comparable",
    "compare_outcomes",
    "response_by_earlier_group",
    "follow_up",
]

#: Earlier-run columns the matching uses when present (purchase history and risk).
MATCH_FEATURES: tuple[str, ...] = ("frequency", "recency", "T", "monetary_value", "churn_probability")
#: Outcome columns of :func:`outcomes_since` and what they mean.
OUTCOMES: dict[str, str] = {
    "purchased": "bought at least once since the earlier run (share 0-1)",
    "purchases": "purchases since the earlier run (purchases per customer)",
    "revenue": "spend since the earlier run (currency per customer)",
}
_SKEWED = {"frequency", "monetary_value", "recency", "T"}
_STATUS_ORDER = ["same", "grown", "merged", "split", "lost"]


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
def _local_dates(ts: pd.Series, timezone: str | None) -> pd.Series:
    t = pd.to_datetime(ts)
    if getattr(t.dt, "tz", None) is not None and timezone:
        t = t.dt.tz_convert(timezone)
    return t.dt.tz_localize(None).dt.normalize() if getattr(t.dt, "tz", None) is not None else t.dt.normalize()


def outcomes_since(
    transactions: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    timezone: str | None = None,
    id_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Per customer: what they bought after ``start`` up to and including ``end``.

    Parameters
    ----------
    transactions : DataFrame
        With ``id_col``, ``time_col`` and ``amount_col`` (currency).
    start, end : date
        The earlier run's as-of date (excluded) and this run's (included), as
        local calendar dates in ``timezone``.
    timezone : str, optional
        Time zone in which aware timestamps are read (the config's).

    Returns
    -------
    DataFrame
        ``customer_id``, ``purchases`` (transactions), ``revenue`` (currency)
        and ``purchased`` (bool), for customers with at least one purchase in
        the window; customers absent from it bought nothing.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [10.0, 5.0, 7.0],
    ...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-02-01", "2024-12-01"])})
    >>> outcomes_since(tx, dt.date(2024, 12, 31), dt.date(2025, 6, 30)).to_dict("records")
    [{'customer_id': 'a', 'purchases': 2, 'revenue': 15.0, 'purchased': True}]
    """
    if end <= start:
        raise ValueError(f"the follow-up window is empty: end {end} is not after start {start}.")
    missing = [c for c in (id_col, time_col, amount_col) if c not in transactions]
    if missing:
        raise ValueError(f"transactions lack column(s) {missing}; they have {list(transactions.columns)}.")
    d = _local_dates(transactions[time_col], timezone)
    inside = ((d > pd.Timestamp(start)) & (d <= pd.Timestamp(end))).to_numpy()
    tx = transactions.loc[inside, [id_col, amount_col]]
    out = (tx.groupby(id_col, sort=True)[amount_col].agg(purchases="size", revenue="sum").reset_index()
           .rename(columns={id_col: "customer_id"}))
    out["purchases"] = out["purchases"].astype(int)
    out["revenue"] = out["revenue"].astype(float)
    out["purchased"] = True
    return out


# ------------------------------------------------------------------ 3. matching
@dataclass
class MatchResult:
    """What :func:`match_comparable` returns.

    Attributes
    ----------
    pairs : DataFrame
        ``target``, ``control`` (ids, one row per target-control pair),
        ``distance`` (root-mean-square standardised difference), ``weight``
        (1 / number of controls of that target).
    balance : DataFrame
        Per feature: ``mean_targets`` (matched targets), ``mean_non_targets``
        (all), ``mean_matched`` (controls, weighted), in the feature's units;
        ``std_diff_before`` (all targets vs all non-targets) and ``std_diff_after``
        (matched targets vs their controls): standardised differences on the
        matching scale (log for counts, ages and money); |d| < 0.1 is good balance.
    n_targets, n_matched, n_unmatched : int
        Targets, targets with at least one control within the caliper, and without.
    features : list of str
    caliper : float
    """

    pairs: pd.DataFrame
    balance: pd.DataFrame
    n_targets: int
    n_matched: int
    n_unmatched: int
    features: list[str]
    caliper: float


def _transformed(df: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Features on the matching scale: log(1 + x) for counts, ages and money; missing values at the median."""
    cols = []
    for f in features:
        x = df[f].astype(float).to_numpy()
        if f in _SKEWED and len(x) and np.nanmin(x) >= 0:
            x = np.log1p(x)
        cols.append(x)
    X = np.column_stack(cols) if cols else np.empty((len(df), 0))
    med = np.nanmedian(X, axis=0) if len(X) else np.zeros(X.shape[1])
    return np.where(np.isnan(X), med, X)


def _std_diff(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None = None) -> float:
    if len(a) == 0 or len(b) == 0:
        return math.nan
    wb = np.ones(len(b)) if wb is None else wb
    mb = np.average(b, weights=wb)
    vb = np.average((b - mb) ** 2, weights=wb)
    pooled = math.sqrt((a.var() + vb) / 2)
    return float((a.mean() - mb) / pooled) if pooled > 0 else 0.0


def match_comparable(
    earlier: pd.DataFrame,
    *,
    target_col: str = "selected",
    id_col: str = "earlier_customer_id",
    features: Sequence[str] | None = None,
    n_neighbors: int = 3,
    caliper: float = 0.25,
) -> MatchResult:
    """Match each target to its nearest non-targets on the earlier run's customer history.

    Features are log(1 + x) for counts, ages and money, then divided by their
    standard deviation among the targets; the distance is the root-mean-square
    difference over the features (target standard deviations). Each target keeps its ``n_neighbors``
    nearest non-targets whose distance is at most ``caliper`` (matching with
    replacement: a non-target may serve several targets). Targets with none
    are unmatched: counted, and left out of :func:`compare_outcomes`.

    Parameters
    ----------
    earlier : DataFrame
        One row per earlier customer with ``id_col``, ``target_col`` (bool) and the features.
    features : sequence of str, optional
        Default: the columns of :data:`MATCH_FEATURES` present in ``earlier``.
    n_neighbors : int
        Controls per target (at most).
    caliper : float
        Largest distance accepted (standard deviations).

    Returns
    -------
    MatchResult
    """
    from sklearn.neighbors import NearestNeighbors

    feats = list(features) if features is not None else [f for f in MATCH_FEATURES if f in earlier]
    if not feats:
        raise ValueError(f"no matching features: give features= (columns of the earlier table: {list(earlier.columns)}).")
    missing = [f for f in feats if f not in earlier]
    if missing:
        raise ValueError(f"matching features {missing} are not columns of the earlier table.")
    if n_neighbors < 1 or not caliper > 0:
        raise ValueError(f"n_neighbors must be >= 1 and caliper > 0; got {n_neighbors} and {caliper}.")
    Z = _transformed(earlier, feats)
    t = earlier[target_col].fillna(False).astype(bool).to_numpy()
    ids = earlier[id_col].astype("string").to_numpy()
    ti, ci = np.flatnonzero(t), np.flatnonzero(~t)
    # scale by the targets' spread: the question is how far a non-target is from a target, and the
    # non-targets' spread (e.g. the many one-time buyers with spend 0) would make big gaps look small
    sd = Z[ti].std(axis=0) if len(ti) > 1 else np.zeros(Z.shape[1])
    sd_all = Z.std(axis=0)
    X = Z / np.where(sd > 0, sd, np.where(sd_all > 0, sd_all, 1.0))
    rows: list[tuple] = []
    if len(ti) and len(ci):
        nn = NearestNeighbors(n_neighbors=min(n_neighbors, len(ci))).fit(X[ci])
        dist, idx = nn.kneighbors(X[ti])
        dist = dist / math.sqrt(X.shape[1])
        for k, tpos in enumerate(ti):
            ok = dist[k] <= caliper
            m = int(ok.sum())
            for d, j in zip(dist[k][ok], idx[k][ok]):
                rows.append((ids[tpos], ids[ci[j]], float(d), 1.0 / m))
    pairs = pd.DataFrame(rows, columns=["target", "control", "distance", "weight"])
    matched_t = set(pairs["target"])
    mt = np.isin(ids, list(matched_t)) & t
    ctrl_w = pairs.groupby("control")["weight"].sum() if len(pairs) else pd.Series(dtype=float)
    pos = pd.Series(np.arange(len(ids)), index=ids)
    cpos = pos.loc[ctrl_w.index].to_numpy() if len(ctrl_w) else np.array([], dtype=int)
    wm = ctrl_w.to_numpy()
    bal = []
    for k, f in enumerate(feats):
        x = earlier[f].astype(float).to_numpy()
        z = Z[:, k]
        xm = x[cpos]
        keep = ~np.isnan(xm)
        bal.append({"feature": f,
                    "mean_targets": float(np.nanmean(x[mt])) if mt.any() else math.nan,
                    "mean_non_targets": float(np.nanmean(x[~t])) if (~t).any() else math.nan,
                    "mean_matched": float(np.average(xm[keep], weights=wm[keep])) if keep.any() else math.nan,
                    "std_diff_before": _std_diff(z[t], z[~t]),
                    "std_diff_after": _std_diff(z[mt], z[cpos], wm) if len(cpos) else math.nan})
    return MatchResult(pairs, pd.DataFrame(bal), int(t.sum()), len(matched_t), int(t.sum()) - len(matched_t),
                       feats, float(caliper))


# ------------------------------------------------------------------ 4. comparison
def compare_outcomes(
    followed: pd.DataFrame,
    match: MatchResult,
    outcomes: Sequence[str] = tuple(OUTCOMES),
    *,
    id_col: str = "earlier_customer_id",
    level: float = 0.95,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Targets against their matched non-targets: the difference in each outcome.

    For every matched target, its outcome minus the mean outcome of its
    controls; the estimate is the mean over targets (the effect on the
    targets), with a percentile bootstrap interval that resamples targets
    (the controls' own sampling error is not added, so the interval is a
    little narrow).

    Parameters
    ----------
    followed : DataFrame
        One row per earlier customer with ``id_col`` and the outcome columns.
    match : MatchResult
    outcomes : sequence of str
    level : float
        Interval level (0-1).
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    DataFrame
        Per outcome: ``outcome``, ``targets`` (mean over matched targets),
        ``matched_non_targets`` (mean of their controls), ``difference``,
        ``ci_low``, ``ci_high``, ``n_targets`` (matched targets).

    Examples
    --------
    >>> m = MatchResult(pd.DataFrame({"target": ["t1", "t2"], "control": ["c1", "c2"], "distance": 0.0,
    ...                               "weight": 1.0}), pd.DataFrame(), 2, 2, 0, [], 0.25)
    >>> f = pd.DataFrame({"earlier_customer_id": ["t1", "t2", "c1", "c2"], "purchases": [3, 1, 1, 1]})
    >>> compare_outcomes(f, m, ["purchases"], n_boot=0)[["targets", "matched_non_targets", "difference"]].to_numpy().tolist()
    [[2.0, 1.0, 1.0]]
    """
    cols = ["outcome", "targets", "matched_non_targets", "difference", "ci_low", "ci_high", "n_targets"]
    p = match.pairs
    if not len(p):
        return pd.DataFrame([{"outcome": o, "n_targets": 0} for o in outcomes], columns=cols)
    vals = followed.drop_duplicates(id_col).set_index(followed.drop_duplicates(id_col)[id_col].astype("string"))
    rng = np.random.default_rng(random_state)
    targets = p["target"].drop_duplicates().to_numpy()
    rows = []
    for o in outcomes:
        y = vals[o].astype(float)
        ctrl_mean = (p.assign(y=y.reindex(p["control"]).to_numpy() * p["weight"].to_numpy())
                     .groupby("target", sort=False)["y"].sum().reindex(targets).to_numpy())
        yt = y.reindex(targets).to_numpy()
        diff = yt - ctrl_mean
        lo = hi = math.nan
        if n_boot > 0 and len(diff) > 1:
            draws = rng.integers(0, len(diff), size=(n_boot, len(diff)))
            boot = diff[draws].mean(axis=1)
            lo, hi = np.quantile(boot, [(1 - level) / 2, 1 - (1 - level) / 2])
        rows.append({"outcome": o, "targets": float(yt.mean()), "matched_non_targets": float(ctrl_mean.mean()),
                     "difference": float(diff.mean()), "ci_low": float(lo), "ci_high": float(hi),
                     "n_targets": int(len(diff))})
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------ 5. campaign response
def response_by_earlier_group(
    campaigns: pd.DataFrame,
    account_groups: pd.DataFrame,
    group_col: str,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Response-rate uplift (treatment minus control) per earlier group.

    Treatment arms are pooled against the control arm(s). Randomisation makes
    the comparison within each group fair whatever the group. Counts are of
    assigned accounts, as the campaigns table has them (one per customer when
    a campaign goes to each customer's primary account). With one campaign the
    interval is Newcombe's; with several, each campaign's uplift is measured
    within the campaign (its own control) and the uplifts are averaged with
    weights proportional to the group's accounts in each campaign, with a
    normal (Wald) interval, so that campaigns with different control shares
    are not mixed into one comparison.

    Parameters
    ----------
    campaigns : DataFrame
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
    g = account_groups[["account_id", group_col]].drop_duplicates("account_id")
    cols = ["account_id", "is_control", "response"] + (["campaign_id"] if "campaign_id" in campaigns else [])
    df = campaigns[cols].merge(g, on="account_id", how="left")
    df["group"] = df[group_col].astype("string").fillna("unknown")
    if "campaign_id" not in df:
        df["campaign_id"] = "campaign"
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    rows = []
    for name, part in df.groupby("group", sort=True):
        ctrl = part["is_control"].astype(bool).to_numpy()
        y = part["response"].astype(float).to_numpy()
        n1, n0 = int((~ctrl).sum()), int(ctrl.sum())
        x1, x0 = int(y[~ctrl].sum()), int(y[ctrl].sum())
        # per campaign with both arms in this group; several are combined by their size in the group
        per = []
        for _, cpart in part.groupby("campaign_id", sort=True):
            cc = cpart["is_control"].astype(bool).to_numpy()
            cy = cpart["response"].astype(float).to_numpy()
            m1, m0 = int((~cc).sum()), int(cc.sum())
            if m1 and m0:
                per.append((m1, m0, int(cy[~cc].sum()), int(cy[cc].sum())))
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
        :func:`ecrm_lib.seef.selection.feedback_weights` of ``response_segments``: the
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
    transactions: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    campaigns: pd.DataFrame | None = None,
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

    Parameters
    ----------
    earlier_customers : DataFrame
        The earlier run's customers: ``customer_id`` (earlier ids), ``selected``
        (bool), ``segment`` and the matching features (e.g. the earlier
        ``selection/customer_segments`` joined with its ``customer_value``).
    earlier_map, current_map : DataFrame
        ``account_id`` -> ``customer_id`` of the earlier run and of this run.
    transactions : DataFrame
        This run's transactions with ``customer_id`` (today's ids), ``timestamp``, ``amount``.
    start, end : date
        The earlier run's as-of date and this run's.
    campaigns : DataFrame, optional
        This run's canonical campaigns table; the rows assigned after ``start``
        (local dates) measure the response.
    timezone : str, optional
        The config's time zone (local dates).
    features, n_neighbors, caliper
        See :func:`match_comparable`.
    level, n_boot
        Interval level (0-1) and bootstrap resamples.
    down_weight : float
        Weight of a segment whose uplift is not positive (see :func:`ecrm_lib.seef.selection.feedback_weights`).

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
    ec = earlier_customers.rename(columns={"customer_id": "earlier_customer_id"}).copy()
    ec["earlier_customer_id"] = ec["earlier_customer_id"].astype("string")
    ec["selected"] = ec["selected"].fillna(False).astype(bool)
    followed = ec.merge(bridge[["earlier_customer_id", "customer_id", "status"]], on="earlier_customer_id", how="left")
    followed["status"] = followed["status"].fillna("lost")
    out = outcomes_since(transactions, start, end, timezone=timezone)
    followed = followed.merge(out, on="customer_id", how="left")
    followed["purchases"] = followed["purchases"].fillna(0).astype(int)
    followed["revenue"] = followed["revenue"].fillna(0.0)
    followed["purchased"] = followed["purchased"].fillna(False).astype(bool)
    # identity changes that share or lose outcomes are left out of the comparison, and counted
    usable = followed["status"].isin(["same", "grown"])
    left_out = {f"identity {s}": int((followed["status"] == s).sum()) for s in ("merged", "split", "lost")}
    match = match_comparable(followed.loc[usable].reset_index(drop=True), features=features,
                             n_neighbors=n_neighbors, caliper=caliper)
    left_out["targets without a comparable non-target"] = match.n_unmatched
    eid = followed["earlier_customer_id"]
    followed["compared_as"] = pd.array(np.where(eid.isin(set(match.pairs["target"])), "target",
                                                np.where(eid.isin(set(match.pairs["control"])), "comparable non-target", "")),
                                       dtype="string")
    comparison = compare_outcomes(followed.loc[usable], match, level=level, n_boot=n_boot, random_state=random_state)
    response_targets = response_segments = weights = None
    used: list[str] = []
    if campaigns is not None and len(campaigns) and "assigned_at" in campaigns:
        d = _local_dates(campaigns["assigned_at"], timezone)
        camp = campaigns.loc[((d > pd.Timestamp(start)) & (d <= pd.Timestamp(end))).to_numpy()]
        if len(camp) and camp["is_control"].astype(bool).any() and (~camp["is_control"].astype(bool)).any():
            used = sorted(camp["campaign_id"].astype(str).unique().tolist())
            acc = earlier_map[["account_id", "customer_id"]].astype("string").rename(
                columns={"customer_id": "earlier_customer_id"}).merge(
                ec[["earlier_customer_id", "selected"] + (["segment"] if "segment" in ec else [])],
                on="earlier_customer_id", how="inner")
            acc["group"] = np.where(acc["selected"], "targets", "non-targets")
            response_targets = response_by_earlier_group(camp, acc, "group", level=level)
            if "segment" in acc:
                response_segments = response_by_earlier_group(camp, acc, "segment", level=level)
                seg = response_segments.loc[response_segments["group"] != "unknown"].rename(columns={"group": "segment"})
                weights = feedback_weights(seg, down_weight=down_weight)
                weights = weights.merge(seg[["segment", "n_treatment", "n_control"]], on="segment", how="left")
    return LoopResult(start, end, bridge, followed, match, comparison, response_targets, response_segments, weights,
                      used, left_out)


def follow_up_from_runs(ctx, **kwargs) -> tuple[LoopResult | None, str]:
    """Run :func:`follow_up` on the previous run's products and this run's tables.

    Reads, from the most recent earlier run of the same config
    (:meth:`ecrm_lib.run.context.RunContext.earlier_run`), the products
    ``selection/customer_segments``, ``customer_value/customer_value`` (the
    matching features) and ``channel_integration/account_map``; from this run,
    its ``account_map``, transactions and campaigns. Without an identity map,
    account ids serve as customer ids.

    Parameters
    ----------
    ctx : ecrm_lib.run.context.RunContext
    **kwargs
        Passed to :func:`follow_up` (``n_neighbors``, ``caliper``, ``level``, ...).

    Returns
    -------
    (LoopResult or None, str)
        The result, or None with the plain-words reason it cannot be measured
        (no earlier run, no selection in it, no transactions).
    """
    from ecrm_lib.channels.customers import attach_customer_id

    runs = ctx.earlier_runs()
    if runs.empty:
        return None, ("This is the first run for this data (no earlier published run with an earlier as-of date), "
                      "so there are no earlier targets to follow up yet. The next scheduled run will measure "
                      "what happens to the customers this run selects.")
    start = runs["as_of"].iloc[-1]
    segs = ctx.read_product("selection", "customer_segments", previous=True)
    if segs is None:
        return None, (f"The earlier run (as of {start.isoformat()}) has no selection list, so there are no earlier "
                      "targets to follow up; the next run will have one.")
    if not ctx.has("transactions"):
        return None, "This run has no transactions, so what the earlier targets bought since cannot be measured."
    cv = ctx.read_product("customer_value", "customer_value", previous=True)
    extra = [c for c in MATCH_FEATURES if cv is not None and c in cv and c not in segs]
    if extra:
        segs = segs.merge(cv[["customer_id", *extra]], on="customer_id", how="left")
    emap = ctx.read_product("channel_integration", "account_map", previous=True)
    cmap = ctx.read_product("channel_integration", "account_map")
    tx = ctx.frame("transactions")
    if emap is None:  # no identity resolution: every account is its own customer
        emap = pd.DataFrame({"account_id": segs["customer_id"], "customer_id": segs["customer_id"]})
    if cmap is None:
        ids = tx["account_id"].astype("string").drop_duplicates()
        cmap = pd.DataFrame({"account_id": ids, "customer_id": ids})
    tx = attach_customer_id(tx, cmap)
    campaigns = ctx.frame("campaigns") if ctx.has("campaigns") else None
    res = follow_up(segs, emap, cmap, tx, start, ctx.as_of, campaigns=campaigns, timezone=ctx.config.timezone, **kwargs)
    return res, ""


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

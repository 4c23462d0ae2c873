"""Campaign response against the control group: uplift with confidence intervals,
the sample-ratio-mismatch check, uplift by segment and the headline figures.

The uplift models and the Qini curve are in :mod:`ecrm_lib.seef.uplift_models`;
reading the campaign rows and the attributes to cut them by is in
:mod:`ecrm_lib.seef.campaigns`.

Conventions
-----------
- Input is the assignment rows of the canonical ``campaigns`` table
  (:func:`ecrm_lib.seef.campaigns.select_campaign`): one row per assigned
  account with ``campaign_id``, ``arm``, ``is_control``, ``response`` (0/1)
  and ``revenue`` (config currency; missing = 0).
- Every treatment arm of a campaign is compared with the pooled control arm(s)
  of the same campaign.
- Response-rate uplift is the difference in proportions ``p_T - p_C``; its
  interval is **Newcombe's hybrid score interval** (Newcombe 1998, method 10,
  built from the two Wilson score intervals), which keeps its coverage for the
  small rates (1-5 %) typical of campaigns, where the Wald interval does not.
- Revenue uplift is the difference in mean revenue per *assigned* account (not
  per responder), with a Welch t interval, or a percentile bootstrap
  (``revenue_ci="bootstrap"``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.intervals import bootstrap_interval, newcombe_interval, welch_interval, wilson_interval
from ecrm_lib.core import multiplicity, privacy
from ecrm_lib.core.i18n import t
from ecrm_lib.seef.campaigns import check_campaigns, segment_column_values

__all__ = [
    "SRM_ALPHA",
    "SRM_NOTICE",
    "SEGMENT_ALPHA",
    "BOOTSTRAP_MAX_ROWS",
    "best_arm",
    "campaign_metrics",
    "campaign_uplift",
    "latest_campaign",
    "srm_check",
    "srm_sentence",
    "srm_verdict",
    "segment_heterogeneity",
    "segment_sentence",
    "uplift_by_segment",
]


#: Accounts of an arm and its control above which :func:`campaign_uplift` gives the revenue uplift Welch's interval
#: instead of a bootstrap (the feedback report's parameter ``bootstrap_max_rows``).
BOOTSTRAP_MAX_ROWS = 200_000


def campaign_uplift(
    campaigns: pd.DataFrame,
    campaign_id: str | None = None,
    ci_level: float = 0.95,
    revenue_ci: str = "welch",
    bootstrap_samples: int = 1000,
    random_state: int = 42,
    bootstrap_max_rows: int | None = BOOTSTRAP_MAX_ROWS,
) -> pd.DataFrame:
    """Response rate and revenue per account of every arm, and each treatment arm's uplift over control.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table.
    campaign_id : str, optional
        Only this campaign (default: all).
    ci_level : float
        Confidence level of every interval (0-1).
    revenue_ci : {"welch", "bootstrap"}
        Interval for the revenue uplift: Welch t, or percentile bootstrap with ``bootstrap_samples`` resamples.
    bootstrap_samples : int
    random_state : int
    bootstrap_max_rows : int or None
        With ``revenue_ci="bootstrap"``, an arm and control with more accounts together get the Welch
        interval instead: the bootstrap costs accounts x resamples (about 20 s for 2 million campaign rows
        here), and at that size the two intervals agree (the mean of so many accounts is close to normal).
        None: the bootstrap at any size.

    Returns
    -------
    DataFrame
        One row per campaign and arm: ``campaign_id, arm, is_control, n`` (accounts), ``responders``,
        ``rate`` (share), ``rate_ci_low/high`` (Wilson), ``uplift`` (rate minus the control rate, share
        points as a fraction), ``ci_low/ci_high`` (Newcombe), ``relative_lift`` (uplift / control rate),
        ``revenue_per_account`` (currency per assigned account), ``revenue_uplift`` and
        ``revenue_ci_low/high``, ``revenue_ci_method`` (``welch`` or ``bootstrap``: the interval used;
        None on control rows and without revenue). Control rows carry NaN uplift. Campaigns without a
        control arm get NaN uplift.
        Without revenue in the table (:func:`ecrm_lib.seef.campaigns.revenue_missing_reason`) every revenue
        figure is NaN, never 0, and ``attrs["revenue_missing_reason"]`` says why.

    Examples
    --------
    >>> df = pd.DataFrame({"campaign_id": "c", "arm": ["t"] * 100 + ["c"] * 100,
    ...                    "is_control": [False] * 100 + [True] * 100,
    ...                    "response": [1] * 10 + [0] * 90 + [1] * 5 + [0] * 95, "revenue": 0.0})
    >>> campaign_uplift(df)[["arm", "n", "rate", "uplift"]].round(3)
      arm    n  rate  uplift
    0   c  100  0.05     NaN
    1   t  100  0.10    0.05
    """
    if revenue_ci not in ("welch", "bootstrap"):
        raise ValueError(f"revenue_ci must be 'welch' or 'bootstrap', got {revenue_ci!r}")
    df = check_campaigns(campaigns)
    if campaign_id is not None:
        df = df[df["campaign_id"] == campaign_id]
        if df.empty:
            raise EcrmError(f"campaign {campaign_id!r} is not in the campaigns table; set campaign_id=None for all campaigns.")
    no_revenue = df.attrs.get("revenue_missing_reason")
    rows = []
    for cid, g in df.groupby("campaign_id", sort=True):
        ctrl = g[g["is_control"]]
        xc, nc = int(ctrl["response"].sum()), len(ctrl)
        rc = xc / nc if nc else math.nan
        for (arm, is_ctrl), a in g.groupby(["arm", "is_control"], sort=True):
            x, n = int(a["response"].sum()), len(a)
            lo, hi = wilson_interval(x, n, ci_level)
            row = dict(campaign_id=cid, arm=arm, is_control=bool(is_ctrl), n=n, responders=x, rate=x / n,
                       rate_ci_low=lo, rate_ci_high=hi, revenue_per_account=float(a["revenue"].mean()))
            if is_ctrl or nc == 0:
                row.update(uplift=math.nan, ci_low=math.nan, ci_high=math.nan, relative_lift=math.nan,
                           revenue_uplift=math.nan, revenue_ci_low=math.nan, revenue_ci_high=math.nan, revenue_ci_method=None)
            else:
                d, dl, dh = newcombe_interval(x, n, xc, nc, ci_level)
                method = revenue_ci
                if method == "bootstrap" and bootstrap_max_rows is not None and n + nc > int(bootstrap_max_rows):
                    method = "welch"
                row["revenue_ci_method"] = None if no_revenue else method
                if no_revenue:
                    r = rl = rh = math.nan
                elif method == "welch":
                    r, rl, rh = welch_interval(a["revenue"].to_numpy(), ctrl["revenue"].to_numpy(), ci_level)
                else:
                    r, rl, rh = bootstrap_interval(a["revenue"].to_numpy(), ctrl["revenue"].to_numpy(), ci_level,
                                                   bootstrap_samples, random_state)
                row.update(uplift=d, ci_low=dl, ci_high=dh, relative_lift=d / rc if rc > 0 else math.nan,
                           revenue_uplift=r, revenue_ci_low=rl, revenue_ci_high=rh)
            rows.append(row)
    cols = ["campaign_id", "arm", "is_control", "n", "responders", "rate", "rate_ci_low", "rate_ci_high", "uplift",
            "ci_low", "ci_high", "relative_lift", "revenue_per_account", "revenue_uplift", "revenue_ci_low", "revenue_ci_high",
            "revenue_ci_method"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["revenue_missing_reason"] = no_revenue
    return out


SRM_ALPHA = 0.001
"""p-value below which a sample-ratio mismatch is flagged (the alarm threshold)."""
SRM_NOTICE = 0.05
"""p-value below which the arm sizes are not called consistent with the planned split."""


def srm_check(campaigns: pd.DataFrame, expected_shares: dict[str, float] | None = None, alpha: float = SRM_ALPHA,
              notice: float = SRM_NOTICE) -> pd.DataFrame:
    """Sample-ratio-mismatch check: chi-square test of the arm sizes against the intended split.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table.
    expected_shares : dict, optional
        Intended share of accounts per arm name (normalised to sum 1 within each campaign);
        default: an equal split over the campaign's arms.
    alpha : float
        A campaign is flagged when the p-value is below ``alpha``. The default 0.001 is the
        conservative threshold common in online experimentation (an SRM flag stops the
        analysis, so false alarms are costly; 0.05 would flag 1 fair test in 20).
    notice : float
        Between ``alpha`` and ``notice`` the split is not a flagged mismatch but is not called
        consistent either (``verdict`` "unusual"; see :func:`srm_verdict`).

    Returns
    -------
    DataFrame
        Per campaign: ``campaign_id, n_arms, n, chi2, dof, p_value, srm`` (True = mismatch),
        ``verdict`` (:func:`srm_verdict`), and ``observed`` / ``expected`` counts as text
        ``arm: count`` for display (counts below 5 accounts written ``<5``).
    """
    df = check_campaigns(campaigns)
    rows = []
    for cid, g in df.groupby("campaign_id", sort=True):
        counts = g["arm"].value_counts().sort_index()
        if expected_shares:
            missing = [a for a in counts.index if a not in expected_shares]
            if missing:
                raise EcrmError(f"expected_shares has no share for arm(s) {missing} of campaign {cid!r}; give a share for every arm.")
            w = np.array([expected_shares[a] for a in counts.index], float)
        else:
            w = np.ones(len(counts))
        exp = w / w.sum() * counts.sum()
        if len(counts) < 2:
            chi2, p = math.nan, math.nan
        else:
            chi2, p = stats.chisquare(counts.to_numpy(), exp)
        rows.append(dict(campaign_id=cid, n_arms=len(counts), n=int(counts.sum()), chi2=float(chi2), dof=len(counts) - 1,
                         p_value=float(p), srm=bool(p < alpha) if not math.isnan(p) else False,
                         verdict=srm_verdict(p, alpha, notice),
                         observed=privacy.mask_count_text(list(counts.items())),
                         expected=", ".join(f"{a}: " + ("<5" if 0 < e < 5 else f"{e:,.0f}") for a, e in zip(counts.index, exp))))
    return pd.DataFrame(rows)


def srm_verdict(p_value: float, alpha: float = SRM_ALPHA, notice: float = SRM_NOTICE) -> str:
    """What a sample-ratio p-value says about the split.

    Parameters
    ----------
    p_value : float
        Chi-square p-value of the arm sizes against the planned split (NaN: not tested).
    alpha : float
        Alarm threshold (default 0.001, the usual one for SRM checks).
    notice : float
        Level below which the split is no longer called consistent (default 0.05).

    Returns
    -------
    str
        ``"mismatch"`` (p < alpha), ``"unusual"`` (alpha <= p < notice: not an alarm, not
        consistent either), ``"consistent"`` (p >= notice) or ``"not tested"`` (NaN, one arm).

    Examples
    --------
    >>> [srm_verdict(p) for p in (0.0002, 0.0055, 0.05, 0.4, float("nan"))]
    ['mismatch', 'unusual', 'consistent', 'consistent', 'not tested']
    """
    if not 0 < alpha < notice < 1:
        raise ValueError(f"need 0 < alpha < notice < 1 (p-values), got alpha={alpha!r}, notice={notice!r}.")
    if p_value is None or pd.isna(p_value):
        return "not tested"
    if p_value < alpha:
        return "mismatch"
    return "unusual" if p_value < notice else "consistent"


def _p_text(p: float) -> str:
    return f"{p:.2g}" if p < 0.01 else f"{p:.3g}"


def srm_sentence(srm: pd.DataFrame, alpha: float = SRM_ALPHA, notice: float = SRM_NOTICE) -> str:
    """One plain-text sentence on the sample-ratio check, for the report (show it through ``md``).

    The campaign with the smallest p-value is described: below ``alpha`` as a mismatch to check
    before using its results; between ``alpha`` and ``notice`` as *not consistent* with the
    planned split at that level, below the alarm threshold, with how rarely a fair split is that
    uneven (about 1 in 1/p); from ``notice`` up as consistent. A p-value below ``notice`` is never
    called consistent. When several campaigns fall below ``notice``, their number is given.

    Parameters
    ----------
    srm : DataFrame
        :func:`srm_check` output (``campaign_id``, ``p_value``, ``observed``, ``expected``).
    alpha, notice : float
        As for :func:`srm_verdict`.

    Returns
    -------
    str

    Examples
    --------
    >>> row = pd.DataFrame({"campaign_id": ["c"], "p_value": [0.4], "observed": ["a: 10, b: 12"],
    ...                     "expected": ["a: 11, b: 11"]})
    >>> srm_sentence(row)
    'The arm sizes are consistent with the planned split (campaign c: a: 10, b: 12; p = 0.4; a mismatch is flagged below 0.001).'
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     srm_sentence(row)
    '실험군 크기는 계획한 배정과 맞습니다(캠페인 c: a: 10, b: 12, p = 0.4, 불일치 경보 기준은 0.001).'
    """
    srm_verdict(0.5, alpha, notice)  # checks the thresholds
    tested = srm.dropna(subset=["p_value"]) if len(srm) else srm
    if tested.empty:
        return t("feedback.srm_none")
    worst = tested.sort_values("p_value", kind="stable").iloc[0]
    p = float(worst["p_value"])
    verdict = srm_verdict(p, alpha, notice)
    n_low = int((tested["p_value"] < notice).sum())
    others = t("feedback.srm_others", k=n_low, m=len(tested), notice=f"{notice:g}") if n_low > 1 else ""
    who = t("feedback.srm_who", c=worst["campaign_id"], obs=worst["observed"])
    if verdict == "mismatch":
        return t("feedback.srm_mismatch", who=who, exp=worst["expected"], p=_p_text(p), alpha=f"{alpha:g}") + others
    if verdict == "unusual":
        return t("feedback.srm_unusual", who=who, exp=worst["expected"], notice=f"{notice:g}", p=_p_text(p),
                 every=int(float(f"{1 / p:.2g}")), alpha=f"{alpha:g}") + others
    return t("feedback.srm_ok", who=who, p=_p_text(p), alpha=f"{alpha:g}")



def uplift_by_segment(campaigns: pd.DataFrame, segments: pd.DataFrame, segment_column: str, ci_level: float = 0.95,
                      min_cell: int = 5, campaign_id: str | None = None, max_levels: int = 8) -> pd.DataFrame:
    """Response-rate uplift of every treatment arm over control, per segment, adjusted for comparing many segments.

    Each row's own interval (``ci_low``, ``ci_high``, Newcombe) holds for that segment alone. Because
    the report compares all segments and may point at one, the rows also carry **family-wise**
    figures over every shown row (cells not suppressed) of the table:
    ``p_value`` (pooled score test of no uplift), ``p_holm`` (Holm's step-down adjustment, see
    :mod:`ecrm_lib.core.multiplicity` for why Holm and not Benjamini-Hochberg) and
    ``adj_ci_low`` / ``adj_ci_high``: Newcombe intervals at the simultaneous (Bonferroni) level
    ``1 - (1 - ci_level) / m`` for ``m`` shown rows, which cover every segment's true uplift
    together with probability ``ci_level``. Whether segments differ at all is
    :func:`segment_heterogeneity`.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table.
    segments : DataFrame
        ``account_id`` and ``segment_column`` (e.g. the customers table).
    segment_column : str
    ci_level, min_cell : float, int
        Interval level; cells (arm x segment) with fewer than ``min_cell`` accounts in the treatment
        arm or the control are suppressed (see :func:`ecrm_lib.core.privacy.suppress_small_cells`)
        and left out of the family.
    campaign_id : str, optional
    max_levels : int
        See :func:`segment_column_values`.

    Returns
    -------
    DataFrame
        ``campaign_id, arm, segment, n_treatment, n_control, rate_treatment, rate_control, uplift,
        ci_low, ci_high, p_value, p_holm, adj_ci_low, adj_ci_high, variance`` (Agresti-Caffo variance of
        the uplift, for :func:`segment_heterogeneity`), ``suppressed``; ``attrs["family_size"]`` is ``m``
        and ``attrs["adjusted_level"]`` the per-row level of the adjusted intervals.
    """
    if segment_column not in segments.columns:
        raise EcrmError(f"segment column {segment_column!r} not found; available: {sorted(map(str, segments.columns))}")
    df = check_campaigns(campaigns)
    if campaign_id is not None:
        df = df[df["campaign_id"] == campaign_id]
    seg = segments[["account_id", segment_column]].drop_duplicates("account_id")
    seg = seg.assign(segment=segment_column_values(seg[segment_column], max_levels=max_levels))
    df = df.merge(seg[["account_id", "segment"]], on="account_id", how="left")
    df["segment"] = df["segment"].fillna("missing")
    rows = []
    for (cid, s), g in df.groupby(["campaign_id", "segment"], sort=True):
        ctrl = g[g["is_control"]]
        xc, nc = int(ctrl["response"].sum()), len(ctrl)
        for arm, a in g[~g["is_control"]].groupby("arm", sort=True):
            x, n = int(a["response"].sum()), len(a)
            d, lo, hi = newcombe_interval(x, n, xc, nc, ci_level)
            rows.append(dict(campaign_id=cid, arm=arm, segment=s, n_treatment=n, n_control=nc, rate_treatment=x / n,
                             rate_control=xc / nc if nc else math.nan, uplift=d, ci_low=lo, ci_high=hi,
                             _x=(x, n, xc, nc)))
    cols = ["campaign_id", "arm", "segment", "n_treatment", "n_control", "rate_treatment", "rate_control", "uplift",
            "ci_low", "ci_high", "p_value", "p_holm", "adj_ci_low", "adj_ci_high", "variance"]
    out = pd.DataFrame(rows, columns=cols + ["_x"])
    family = ((out["n_treatment"] >= min_cell) & (out["n_control"] >= min_cell) & out["uplift"].notna()).to_numpy()
    m = int(family.sum())
    adj_level = multiplicity.simultaneous_level(ci_level, m)
    p = np.full(len(out), np.nan)
    adj = np.full((len(out), 2), np.nan)
    var = np.full(len(out), np.nan)
    for i, (x, n, xc, nc) in enumerate(out["_x"]):
        if family[i]:
            p[i] = multiplicity.two_proportion_p(x, n, xc, nc)
            adj[i] = newcombe_interval(x, n, xc, nc, adj_level)[1:]
            var[i] = float(multiplicity.uplift_variance(x, n, xc, nc))
    out = out.drop(columns="_x").assign(p_value=p, p_holm=multiplicity.holm(p), adj_ci_low=adj[:, 0], adj_ci_high=adj[:, 1],
                                        variance=var)
    out = privacy.suppress_small_cells(out, ["n_treatment", "n_control"], min_count=min_cell)
    out.attrs.update(family_size=m, adjusted_level=adj_level, ci_level=ci_level)
    return out


#: Significance level of the heterogeneity test and of Holm's family-wise claims.
SEGMENT_ALPHA = 0.05


def segment_heterogeneity(by_segment: pd.DataFrame) -> pd.DataFrame:
    """Does the uplift differ between segments? Cochran's Q test per campaign and arm.

    Parameters
    ----------
    by_segment : DataFrame
        :func:`uplift_by_segment` output (shown rows only are tested).

    Returns
    -------
    DataFrame
        Per ``campaign_id`` and ``arm``: ``segments`` (tested), ``q``, ``dof``, ``p_value`` (NaN with fewer
        than two segments).

    Examples
    --------
    >>> t = pd.DataFrame({"campaign_id": "c", "arm": "t", "uplift": [0.02, 0.03, 0.025], "variance": 1e-4,
    ...                   "suppressed": False})
    >>> segment_heterogeneity(t)[["segments", "dof"]].to_numpy().tolist()
    [[3, 2]]
    """
    rows = []
    shown = by_segment[~by_segment["suppressed"].astype(bool)]
    for (cid, arm), g in shown.groupby(["campaign_id", "arm"], sort=True):
        q, dof, p = multiplicity.cochran_q(g["uplift"], g["variance"])
        rows.append(dict(campaign_id=cid, arm=arm, segments=int(g["uplift"].notna().sum()), q=q, dof=dof, p_value=p))
    return pd.DataFrame(rows, columns=["campaign_id", "arm", "segments", "q", "dof", "p_value"])


def segment_sentence(by_segment: pd.DataFrame, heterogeneity: pd.DataFrame, segment_label: str,
                     alpha: float = SEGMENT_ALPHA, min_cell: int = 5) -> str:
    """What the uplift by segment supports, one sentence per campaign arm (in the report language).

    A segment is named as the one with the largest uplift only when Cochran's Q test finds that the
    segments differ (p below ``alpha``); its interval is then the simultaneous one
    (``adj_ci_low``/``adj_ci_high``), and the sentence says how many segments it was compared with
    and how many have an uplift above zero after Holm's adjustment. Otherwise the sentence says
    plainly that the segments do not differ clearly and names none.

    Parameters
    ----------
    by_segment, heterogeneity : DataFrame
        :func:`uplift_by_segment` and :func:`segment_heterogeneity` output.
    segment_label : str
        Name of the segment attribute.
    alpha : float
        Level of the heterogeneity test and of the Holm claims.
    min_cell : int
        Smallest count of customers written as a number.

    Returns
    -------
    str
    """
    shown = by_segment[~by_segment["suppressed"].astype(bool) & by_segment["uplift"].notna()]
    if shown.empty:
        return t("uplift_segments.all_suppressed", col=segment_label, n=min_cell)
    level = by_segment.attrs.get("ci_level", 0.95)
    m = int(by_segment.attrs.get("family_size", len(shown)))
    het = heterogeneity.set_index(["campaign_id", "arm"])
    above = int((shown["p_holm"] < alpha).sum())
    parts = []
    for (cid, arm), g in shown.groupby(["campaign_id", "arm"], sort=True):
        p = het["p_value"].get((cid, arm), math.nan)
        if len(g) < 2 or pd.isna(p):
            parts.append(t("uplift_segments.one_segment", arm=str(arm), col=segment_label))
        elif p >= alpha:
            parts.append(t("uplift_segments.no_difference", arm=str(arm), col=segment_label, k=len(g), p=_p_text(p),
                           alpha=f"{alpha:g}", above=above, m=m))
        else:
            top = g.sort_values("uplift", ascending=False, kind="stable").iloc[0]
            parts.append(t("uplift_segments.differ", arm=str(arm), col=segment_label, k=len(g), p=_p_text(p),
                           seg=str(top["segment"]), u=float(top["uplift"]), lo=float(top["adj_ci_low"]),
                           hi=float(top["adj_ci_high"]), m=m, level=level, n=privacy.count_text(int(top["n_treatment"]), min_cell),
                           above=above, alpha=f"{alpha:g}"))
    return " ".join(parts)



# ------------------------------------------------------------------ headline figures
def _num(x) -> float | None:
    """A float, or None for missing values (for recorded metrics)."""
    return None if x is None or x is pd.NA or pd.isna(x) else float(x)


def latest_campaign(campaigns: pd.DataFrame) -> str | None:
    """The campaign assigned last (by its latest assignment time): the one a page's headline describes when
    there are several; None without assignment times.

    >>> c = pd.DataFrame({"campaign_id": ["old", "new", "old"],
    ...                   "assigned_at": pd.to_datetime(["2024-09-04", "2025-03-18", "2024-09-05"])})
    >>> latest_campaign(c), latest_campaign(c.drop(columns="assigned_at"))
    ('new', None)
    """
    if campaigns is None or "assigned_at" not in campaigns or "campaign_id" not in campaigns:
        return None
    last = campaigns.dropna(subset=["assigned_at"]).groupby("campaign_id")["assigned_at"].max()
    return str(last.sort_values(kind="stable").index[-1]) if len(last) else None


def best_arm(effects: pd.DataFrame, campaign_id: str | None = None) -> pd.Series | None:
    """The treatment arm with the largest response-rate uplift over its control.

    Parameters
    ----------
    effects : DataFrame
        :func:`campaign_uplift` output.
    campaign_id : str, optional
        Only this campaign's arms (e.g. :func:`latest_campaign`); None: every campaign's.

    Returns
    -------
    Series or None
        Its row; None when no treatment arm has a measured uplift (no control arm).

    Examples
    --------
    >>> e = pd.DataFrame({"campaign_id": ["c", "c", "c"], "arm": ["ctl", "A", "B"], "is_control": [True, False, False],
    ...                   "uplift": [float("nan"), 0.01, 0.03]})
    >>> best_arm(e)["arm"]
    'B'
    >>> best_arm(e.iloc[:1]) is None
    True
    """
    treated = effects[~effects["is_control"].astype(bool) & effects["uplift"].notna()]
    if campaign_id is not None:
        treated = treated[treated["campaign_id"].astype(str) == str(campaign_id)]
    return treated.sort_values("uplift", ascending=False, kind="stable").iloc[0] if len(treated) else None


def campaign_metrics(effects: pd.DataFrame | None, qini_summary: pd.DataFrame | None = None,
                     srm: pd.DataFrame | None = None, n_accounts: int | None = None, campaign_id: str | None = None) -> dict:
    """The feedback notebook's campaign headline figures, for ``RunContext.record_metric``.

    Parameters
    ----------
    effects : DataFrame or None
        :func:`campaign_uplift` output; None when the data has no campaigns (every figure None).
    qini_summary : DataFrame, optional
        :func:`uplift_models_by_arm` summary.
    srm : DataFrame, optional
        :func:`srm_check` output.
    n_accounts : int, optional
        Accounts assigned to the reported campaign(s).
    campaign_id : str, optional
        The campaign whose best arm the figures describe (:func:`latest_campaign`); None: the best arm of any.

    Returns
    -------
    dict
        ``n_campaign_accounts`` (accounts); for the arm of :func:`best_arm`: ``response_uplift``,
        ``response_uplift_ci_low``, ``response_uplift_ci_high`` (share points as a fraction, 0.01 =
        1 point), ``revenue_uplift_per_account`` (currency per assigned account) and
        ``qini_coefficient`` (its Qini coefficient, ratio); ``srm_p_value`` (smallest p-value over
        campaigns). Missing figures are None, never NaN.

    Examples
    --------
    >>> e = pd.DataFrame({"campaign_id": ["c", "c"], "arm": ["ctl", "A"], "is_control": [True, False],
    ...                   "uplift": [float("nan"), 0.02], "ci_low": [float("nan"), 0.0], "ci_high": [float("nan"), 0.04],
    ...                   "revenue_uplift": [float("nan"), 150.0]})
    >>> q = pd.DataFrame({"campaign_id": ["c"], "arm": ["A"], "qini_coefficient": [0.12]})
    >>> m = campaign_metrics(e, q, pd.DataFrame({"p_value": [0.4, 0.02]}), n_accounts=2000)
    >>> m["response_uplift"], m["qini_coefficient"], m["srm_p_value"], m["n_campaign_accounts"]
    (0.02, 0.12, 0.02, 2000)
    >>> set(campaign_metrics(None).values())
    {None}
    """
    keys = ("n_campaign_accounts", "response_uplift", "response_uplift_ci_low", "response_uplift_ci_high",
            "revenue_uplift_per_account", "qini_coefficient", "srm_p_value")
    out: dict = dict.fromkeys(keys)
    if effects is None:
        return out
    out["n_campaign_accounts"] = None if n_accounts is None else int(n_accounts)
    if srm is not None and len(srm):
        out["srm_p_value"] = _num(srm["p_value"].min())
    best = best_arm(effects, campaign_id)
    if best is None:
        return out
    out.update(response_uplift=_num(best["uplift"]), response_uplift_ci_low=_num(best["ci_low"]),
               response_uplift_ci_high=_num(best["ci_high"]), revenue_uplift_per_account=_num(best["revenue_uplift"]))
    if qini_summary is not None and len(qini_summary):
        hit = qini_summary[(qini_summary["campaign_id"] == best["campaign_id"]) & (qini_summary["arm"] == best["arm"])]
        out["qini_coefficient"] = _num(hit["qini_coefficient"].iloc[0]) if len(hit) else None
    return out

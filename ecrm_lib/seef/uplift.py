"""Campaign response against the control group: uplift with confidence intervals,
the sample-ratio-mismatch check, uplift by segment, uplift models and the Qini
curve.

Conventions
-----------
- Input is the canonical ``campaigns`` table (:mod:`ecrm_lib.core.schema`): one row
  per assigned account with ``campaign_id``, ``arm``, ``is_control``,
  ``response`` (0/1) and ``revenue`` (config currency; missing = 0).
- Every treatment arm of a campaign is compared with the pooled control arm(s)
  of the same campaign.
- Response-rate uplift is the difference in proportions ``p_T - p_C``; its
  interval is **Newcombe's hybrid score interval** (Newcombe 1998, method 10,
  built from the two Wilson score intervals), which keeps its coverage for the
  small rates (1-5 %) typical of campaigns, where the Wald interval does not.
- Revenue uplift is the difference in mean revenue per *assigned* account (not
  per responder), with a Welch t interval, or a percentile bootstrap
  (``revenue_ci="bootstrap"``).
- Qini curve at cut-off ``k`` (the ``k`` accounts with the highest predicted
  uplift): ``Q(k) = Y_T(k) - Y_C(k) * N_T(k) / N_C(k)`` (responders among
  treated and control accounts in the top ``k``, and their counts; ``Q(k) =
  Y_T(k)`` while ``N_C(k) = 0``). The **Qini coefficient** here is
  ``(A_model - A_random) / (A_perfect - A_random)``, where each ``A`` is the
  trapezoid area under a Qini curve over the share targeted (0..1), the
  random line joins ``(0, 0)`` to ``(1, Q(N))``, and the perfect ordering puts
  treated responders first and control responders last (score
  ``y * t - y * (1 - t)``). It is 1 for the perfect ordering, 0 for a random
  one. scikit-uplift's ``qini_auc_score(..., negative_effect=True)`` uses the
  same ratio; causalml reports un-normalised areas: do not compare those.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.intervals import bootstrap_interval, newcombe_interval, welch_interval, wilson_interval
from ecrm_lib.core.privacy import suppress_small_cells as _suppress_small_cells

__all__ = [
    "select_campaign",
    "campaign_uplift",
    "srm_check",
    "srm_verdict",
    "srm_sentence",
    "segment_column_values",
    "uplift_by_segment",
    "campaign_features",
    "cross_fitted_uplift",
    "qini_curve",
    "qini_coefficient",
    "uplift_deciles",
    "segment_table",
    "default_segment_column",
    "uplift_models_by_arm",
    "best_arm",
    "campaign_metrics",
]


# ------------------------------------------------------------------ campaign table
def _check_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    needed = {"campaign_id", "arm", "is_control", "response"}
    missing = needed - set(campaigns.columns)
    if missing:
        raise EcrmError(f"campaigns table lacks column(s) {sorted(missing)}; expected the canonical campaigns table (ecrm_lib.core.schema).")
    df = campaigns.copy()
    df["response"] = df["response"].astype(float)
    df["revenue"] = df["revenue"].astype(float).fillna(0.0) if "revenue" in df else 0.0
    df["is_control"] = df["is_control"].astype(bool)
    return df


def campaign_uplift(
    campaigns: pd.DataFrame,
    campaign_id: str | None = None,
    ci_level: float = 0.95,
    revenue_ci: str = "welch",
    bootstrap_samples: int = 1000,
    random_state: int = 42,
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

    Returns
    -------
    DataFrame
        One row per campaign and arm: ``campaign_id, arm, is_control, n`` (accounts), ``responders``,
        ``rate`` (share), ``rate_ci_low/high`` (Wilson), ``uplift`` (rate minus the control rate, share
        points as a fraction), ``ci_low/ci_high`` (Newcombe), ``relative_lift`` (uplift / control rate),
        ``revenue_per_account`` (currency per assigned account), ``revenue_uplift`` and
        ``revenue_ci_low/high``. Control rows carry NaN uplift. Campaigns without a control arm get NaN uplift.

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
    df = _check_campaigns(campaigns)
    if campaign_id is not None:
        df = df[df["campaign_id"] == campaign_id]
        if df.empty:
            raise EcrmError(f"campaign {campaign_id!r} is not in the campaigns table; set campaign_id=None for all campaigns.")
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
                           revenue_uplift=math.nan, revenue_ci_low=math.nan, revenue_ci_high=math.nan)
            else:
                d, dl, dh = newcombe_interval(x, n, xc, nc, ci_level)
                if revenue_ci == "welch":
                    r, rl, rh = welch_interval(a["revenue"].to_numpy(), ctrl["revenue"].to_numpy(), ci_level)
                else:
                    r, rl, rh = bootstrap_interval(a["revenue"].to_numpy(), ctrl["revenue"].to_numpy(), ci_level,
                                                   bootstrap_samples, random_state)
                row.update(uplift=d, ci_low=dl, ci_high=dh, relative_lift=d / rc if rc > 0 else math.nan,
                           revenue_uplift=r, revenue_ci_low=rl, revenue_ci_high=rh)
            rows.append(row)
    cols = ["campaign_id", "arm", "is_control", "n", "responders", "rate", "rate_ci_low", "rate_ci_high", "uplift",
            "ci_low", "ci_high", "relative_lift", "revenue_per_account", "revenue_uplift", "revenue_ci_low", "revenue_ci_high"]
    out = pd.DataFrame(rows, columns=cols)
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
        ``arm: count`` for display.
    """
    df = _check_campaigns(campaigns)
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
                         observed=", ".join(f"{a}: {c:,}" for a, c in counts.items()),
                         expected=", ".join(f"{a}: {e:,.0f}" for a, e in zip(counts.index, exp))))
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
    """
    srm_verdict(0.5, alpha, notice)  # checks the thresholds
    tested = srm.dropna(subset=["p_value"]) if len(srm) else srm
    if tested.empty:
        return "The arm sizes cannot be checked: no campaign has two or more arms."
    worst = tested.sort_values("p_value", kind="stable").iloc[0]
    p = float(worst["p_value"])
    verdict = srm_verdict(p, alpha, notice)
    n_low = int((tested["p_value"] < notice).sum())
    others = (f" {n_low} of {len(tested)} campaigns have a p-value below {notice:g}." if n_low > 1 else "")
    who = f"campaign {worst['campaign_id']}: {worst['observed']}"
    if verdict == "mismatch":
        return (f"Sample-ratio mismatch: the arm sizes ({who}, against {worst['expected']} expected) would arise from the "
                f"planned split with probability p = {_p_text(p)}, below the alarm threshold of {alpha:g}. Something in "
                f"the assignment or the tracking went wrong: check how customers were assigned before using its results."
                + others)
    if verdict == "unusual":
        return (f"The arm sizes ({who}, against {worst['expected']} expected) are not consistent with the planned split "
                f"at the {notice:g} level (p = {_p_text(p)}): a fair random split is this uneven only about 1 in "
                f"{int(float(f'{1 / p:.2g}')):,} times. It does not reach the stricter alarm threshold of sample-ratio checks "
                f"(p below {alpha:g}), so it is not flagged as a mismatch, but check how customers were assigned (for example, whether eligibility "
                f"rules or tracking lost customers from one arm) before relying on the comparison." + others)
    return (f"The arm sizes are consistent with the planned split ({who}; p = {_p_text(p)}; a mismatch is flagged below "
            f"{alpha:g}).")


# ------------------------------------------------------------------ segments
def _numeric_if_possible(s: pd.Series) -> pd.Series:
    """Text columns whose every present value parses as a number become float (CSV extras arrive as text)."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s
    v = pd.to_numeric(s.astype(object).where(s.notna(), None), errors="coerce")
    return v.astype(float) if v.notna().sum() == s.notna().sum() and s.notna().any() else s


def segment_column_values(values: pd.Series, max_levels: int = 8, n_bins: int = 4) -> pd.Series:
    """Turn an attribute into segment labels: categories as text, numbers with many values as quantile bands.

    Numeric columns with more than ``max_levels`` distinct values are cut into ``n_bins``
    quantile bands labelled ``1) 0 to 2``, ``2) 3 to 27`` for whole numbers, ``2) over 64.66 to 158.1``
    otherwise (numbered so that they sort in order); categorical columns keep their ``max_levels - 1`` most
    frequent levels and pool the rest as ``other``. Missing values become ``missing``.
    """
    s = _numeric_if_possible(values)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.nunique() > max_levels:
        bands = pd.qcut(s.astype(float), q=n_bins, duplicates="drop")
        v = s.astype(float)
        integer = bool(np.all(np.mod(v.dropna(), 1) == 0))
        names = {}
        for i, iv in enumerate(bands.cat.categories):
            lo = v.min() if i == 0 else (math.floor(iv.left) + 1 if integer else iv.left)
            hi = math.floor(iv.right) if integer else iv.right
            names[iv] = f"{i + 1}) {lo:,.4g} to {hi:,.4g}" if integer or i == 0 else f"{i + 1}) over {iv.left:,.4g} to {hi:,.4g}"
        return bands.astype(object).map(lambda iv: names.get(iv, "missing")).astype(str)
    s = s.astype(object).where(s.notna(), "missing").astype(str)
    top = s.value_counts().index[: max_levels - 1]
    return s.where(s.isin(top) | (s.nunique() <= max_levels), "other")


def uplift_by_segment(campaigns: pd.DataFrame, segments: pd.DataFrame, segment_column: str, ci_level: float = 0.95,
                      min_cell: int = 5, campaign_id: str | None = None, max_levels: int = 8) -> pd.DataFrame:
    """Response-rate uplift of every treatment arm over control, per segment.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table.
    segments : DataFrame
        ``account_id`` and ``segment_column`` (e.g. the customers table).
    segment_column : str
    ci_level, min_cell : float, int
        Interval level; cells (arm x segment) with fewer than ``min_cell`` accounts in the treatment
        arm or the control are suppressed (see :func:`ecrm_lib.core.privacy.suppress_small_cells`).
    campaign_id : str, optional
    max_levels : int
        See :func:`segment_column_values`.

    Returns
    -------
    DataFrame
        ``campaign_id, arm, segment, n_treatment, n_control, rate_treatment, rate_control, uplift,
        ci_low, ci_high, suppressed``.
    """
    if segment_column not in segments.columns:
        raise EcrmError(f"segment column {segment_column!r} not found; available: {sorted(map(str, segments.columns))}")
    df = _check_campaigns(campaigns)
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
                             rate_control=xc / nc if nc else math.nan, uplift=d, ci_low=lo, ci_high=hi))
    out = pd.DataFrame(rows, columns=["campaign_id", "arm", "segment", "n_treatment", "n_control", "rate_treatment",
                                      "rate_control", "uplift", "ci_low", "ci_high"])
    return _suppress_small_cells(out, ["n_treatment", "n_control"], min_count=min_cell)


# ------------------------------------------------------------------ uplift models
def campaign_features(campaigns: pd.DataFrame, customers: pd.DataFrame | None = None,
                      transactions: pd.DataFrame | None = None, max_levels: int = 12) -> pd.DataFrame:
    """Pre-assignment features per assigned account, for uplift models.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table (``account_id``, ``assigned_at``).
    customers : DataFrame, optional
        Canonical ``customers`` table: numeric columns are used as they are, text columns with at
        most ``max_levels`` levels are one-hot encoded.
    transactions : DataFrame, optional
        Canonical ``transactions``: per account, purchases in the 365 days before ``assigned_at``,
        days since the last purchase before it (capped at 3,650), spend in those 365 days
        (currency). Only purchases *before* assignment are used.

    Returns
    -------
    DataFrame
        Indexed like ``campaigns``; numeric feature columns, no missing values (filled with 0 and a
        ``<col>_missing`` flag for numeric customer columns with gaps). Empty columns when neither
        source is given.
    """
    feats = pd.DataFrame(index=campaigns.index)
    if transactions is not None and "assigned_at" in campaigns and campaigns["assigned_at"].notna().any():
        tx = transactions[["account_id", "timestamp", "amount"]].dropna(subset=["timestamp"])
        key = campaigns[["account_id", "assigned_at"]].reset_index()
        m = key.merge(tx, on="account_id", how="inner")
        m = m[m["timestamp"] < m["assigned_at"]]
        age = (m["assigned_at"] - m["timestamp"]).dt.total_seconds() / 86400
        m = m.assign(age=age, in_year=age <= 365)
        g = m.groupby("index")
        feats["purchases_365d"] = g["in_year"].sum().reindex(feats.index).fillna(0).astype(float)
        feats["days_since_last"] = g["age"].min().reindex(feats.index).fillna(3650).clip(upper=3650).astype(float)
        spend = m[m["in_year"]].groupby("index")["amount"].sum()
        feats["spend_365d"] = spend.reindex(feats.index).fillna(0).astype(float)
    if customers is not None:
        cust = campaigns[["account_id"]].merge(customers.drop_duplicates("account_id"), on="account_id", how="left")
        cust.index = campaigns.index
        for c in cust.columns:
            if c == "account_id":
                continue
            s = _numeric_if_possible(cust[c])
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                v = s.astype(float)
                if v.isna().any():
                    feats[f"{c}_missing"] = v.isna().astype(float)
                feats[str(c)] = v.fillna(v.median() if v.notna().any() else 0.0)
            elif s.nunique() <= max_levels:
                dummies = pd.get_dummies(s.astype(object).where(s.notna(), "missing").astype(str), prefix=str(c), dtype=float)
                feats = pd.concat([feats, dummies], axis=1)
    return feats


def _learner(kind: str, random_state: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "gbm":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50,
                                              l2_regularization=1.0, random_state=random_state)
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    raise ValueError(f"learner must be 'gbm' or 'logistic', got {kind!r}")


def _proba(model, X, y_train) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def cross_fitted_uplift(X: pd.DataFrame, treatment: np.ndarray, y: np.ndarray, method: str = "two_model",
                        learner: str = "logistic", n_folds: int = 5, random_state: int = 42) -> np.ndarray:
    """Out-of-fold predicted uplift (treated minus untreated response probability) per row.

    Every row's score comes from models fitted on the other folds (folds stratified on
    treatment x response), so a Qini curve of these scores is measured on held-out data.

    Parameters
    ----------
    X : DataFrame
        Numeric features (e.g. :func:`campaign_features`).
    treatment : array of 0/1
    y : array of 0/1
        Response.
    method : {"two_model", "class_transformation"}
        ``two_model``: one classifier on treated rows, one on control rows; uplift = difference of
        their probabilities. ``class_transformation`` (Jaskowski & Jaroszewicz 2012): one classifier
        of ``Z = y*t + (1-y)*(1-t)``; uplift = ``2 P(Z=1) - 1``. That identity needs equal treatment
        and control shares, so rows are weighted ``0.5 / share`` of their group, which makes it hold
        for any split.
    learner : {"logistic", "gbm"}
        A standardised scikit-learn ``LogisticRegression`` (default: fast and stable at campaign
        response rates of a few per cent) or ``HistGradientBoostingClassifier``.
    n_folds : int
    random_state : int

    Returns
    -------
    ndarray of float, one uplift score per row (probability difference).
    """
    from sklearn.model_selection import StratifiedKFold

    if method not in ("two_model", "class_transformation"):
        raise ValueError(f"method must be 'two_model' or 'class_transformation', got {method!r}")
    Xv = np.asarray(X, float)
    t = np.asarray(treatment, int)
    y = np.asarray(y, int)
    if Xv.shape[1] == 0:
        raise EcrmError("no features for the uplift model: give a customers table or transactions (campaign_features).")
    strata = 2 * t + y
    n_folds = int(min(n_folds, max(2, np.bincount(strata).min())))
    if np.bincount(strata, minlength=4).min() < 2:
        raise EcrmError("too few responders in the treatment or control group to fit an uplift model (need at least 2 of each).")
    out = np.full(len(y), np.nan)
    for train, test in StratifiedKFold(n_folds, shuffle=True, random_state=random_state).split(Xv, strata):
        tt, yt = t[train], y[train]
        if method == "two_model":
            m1 = _learner(learner, random_state).fit(Xv[train][tt == 1], yt[tt == 1])
            m0 = _learner(learner, random_state).fit(Xv[train][tt == 0], yt[tt == 0])
            out[test] = m1.predict_proba(Xv[test])[:, 1] - m0.predict_proba(Xv[test])[:, 1]
        else:
            z = (yt * tt + (1 - yt) * (1 - tt)).astype(int)
            share = tt.mean()
            w = np.where(tt == 1, 0.5 / share, 0.5 / (1 - share))
            m = _learner(learner, random_state)
            if learner == "logistic":
                m.fit(Xv[train], z, logisticregression__sample_weight=w)
            else:
                m.fit(Xv[train], z, sample_weight=w)
            out[test] = 2 * m.predict_proba(Xv[test])[:, 1] - 1
    return out


def qini_curve(y: np.ndarray, treatment: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Qini curve of an uplift score: ``Q(k) = Y_T(k) - Y_C(k) N_T(k) / N_C(k)``.

    Accounts are sorted by descending score; tied scores are taken together (the curve has a
    point only after each group of ties, so the order inside a tie does not matter). ``Q(k) =
    Y_T(k)`` while no control account is in the top ``k``.

    Returns
    -------
    DataFrame
        ``k`` (accounts targeted, starting with 0), ``share`` (k / N), ``n_treated``,
        ``n_control``, ``y_treated``, ``y_control``, ``qini`` (incremental responders), ``random``
        (the straight line from 0 to ``Q(N)``).

    Examples
    --------
    >>> qini_curve([1, 0, 1, 0], [1, 1, 0, 0], [0.9, 0.5, 0.3, 0.1])["qini"].tolist()
    [0.0, 1.0, 1.0, -1.0, 0.0]
    """
    y = np.asarray(y, float)
    t = np.asarray(treatment, int)
    s = np.asarray(score, float)
    order = np.argsort(-s, kind="mergesort")
    y, t, s = y[order], t[order], s[order]
    nt, nc = np.cumsum(t), np.cumsum(1 - t)
    yt, yc = np.cumsum(y * t), np.cumsum(y * (1 - t))
    last = np.r_[s[1:] != s[:-1], True]  # end of each tie group
    idx = np.flatnonzero(last)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(nc[idx] > 0, yt[idx] - yc[idx] * nt[idx] / nc[idx], yt[idx])
    k = idx + 1
    n = len(y)
    out = pd.DataFrame({"k": np.r_[0, k], "n_treated": np.r_[0, nt[idx]], "n_control": np.r_[0, nc[idx]],
                        "y_treated": np.r_[0, yt[idx]], "y_control": np.r_[0, yc[idx]], "qini": np.r_[0.0, q]})
    out["share"] = out["k"] / n if n else np.nan
    out["random"] = out["share"] * (out["qini"].iloc[-1] if n else 0.0)
    return out[["k", "share", "n_treated", "n_control", "y_treated", "y_control", "qini", "random"]]


def _area(curve: pd.DataFrame, col: str) -> float:
    x, v = curve["share"].to_numpy(float), curve[col].to_numpy(float)
    return float(np.sum((x[1:] - x[:-1]) * (v[1:] + v[:-1]) / 2))


def qini_coefficient(y: np.ndarray, treatment: np.ndarray, score: np.ndarray) -> float:
    """Qini coefficient: ``(A_model - A_random) / (A_perfect - A_random)`` (see the module docstring).

    Areas are trapezoids over the share targeted (0-1). The perfect ordering ranks by
    ``y*t - y*(1-t)``: treated responders first, control responders last. Returns NaN when the
    perfect curve has no area above the random line.

    Examples
    --------
    >>> y, t = [1, 0, 1, 0], [1, 1, 0, 0]
    >>> qini_coefficient(y, t, [1, 0, -1, 0])   # the perfect order itself
    1.0
    """
    y = np.asarray(y, float)
    t = np.asarray(treatment, int)
    model = qini_curve(y, t, score)
    perfect = qini_curve(y, t, y * t - y * (1 - t))
    a_rand = _area(model, "random")
    denom = _area(perfect, "qini") - a_rand
    if not denom > 0:
        return math.nan
    return float((_area(model, "qini") - a_rand) / denom)


def uplift_deciles(y: np.ndarray, treatment: np.ndarray, score: np.ndarray, n_bins: int = 10,
                   ci_level: float = 0.95) -> pd.DataFrame:
    """Observed uplift per band of predicted uplift (band 1 = highest scores), with Newcombe intervals.

    Returns
    -------
    DataFrame
        ``band, n_treatment, n_control, predicted_uplift`` (mean score), ``observed_uplift, ci_low, ci_high``.
    """
    y = np.asarray(y, float)
    t = np.asarray(treatment, int)
    s = np.asarray(score, float)
    ranks = pd.Series(-s).rank(method="first").to_numpy()
    band = np.ceil(ranks / len(s) * n_bins).astype(int)
    rows = []
    for b in range(1, n_bins + 1):
        m = band == b
        x1, n1 = int(y[m & (t == 1)].sum()), int((m & (t == 1)).sum())
        x0, n0 = int(y[m & (t == 0)].sum()), int((m & (t == 0)).sum())
        d, lo, hi = newcombe_interval(x1, n1, x0, n0, ci_level)
        rows.append(dict(band=b, n_treatment=n1, n_control=n0, predicted_uplift=float(s[m].mean()) if m.any() else math.nan,
                         observed_uplift=d, ci_low=lo, ci_high=hi))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ report helpers
def segment_table(campaigns: pd.DataFrame, customers: pd.DataFrame | None = None, accounts: pd.DataFrame | None = None,
                  transactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Attributes per assigned account to cut uplift by: customer attributes, the account's channel
    (``account_channel``) and pre-assignment behaviour (``purchases_365d``, ``days_since_last``,
    ``spend_365d`` from :func:`campaign_features`).

    Returns
    -------
    DataFrame
        One row per account of ``campaigns``: ``account_id`` and the attribute columns available.
    """
    out = campaigns[["account_id"]].drop_duplicates("account_id").reset_index(drop=True)
    if customers is not None:
        out = out.merge(customers.drop_duplicates("account_id"), on="account_id", how="left")
    if accounts is not None and "channel" in accounts:
        out = out.merge(accounts[["account_id", "channel"]].drop_duplicates("account_id").rename(columns={"channel": "account_channel"}),
                        on="account_id", how="left")
    if transactions is not None:
        first = campaigns.drop_duplicates("account_id").reset_index(drop=True)
        f = campaign_features(first, transactions=transactions)
        out = out.merge(pd.concat([first[["account_id"]], f], axis=1), on="account_id", how="left")
    return out


def default_segment_column(segments: pd.DataFrame) -> str | None:
    """The attribute the report cuts uplift by when none is given: ``purchases_365d`` (past-year
    purchases), else ``channel``, else ``account_channel``, else the first other attribute with 2-12
    levels; None when there is none."""
    for c in ("purchases_365d", "channel", "account_channel"):
        if c in segments and segments[c].notna().any():
            return c
    for c in segments.columns:
        if c != "account_id" and 2 <= segments[c].nunique() <= 12:
            return str(c)
    return None


def uplift_models_by_arm(campaigns: pd.DataFrame, features: pd.DataFrame, method: str = "two_model",
                         learner: str = "logistic", n_folds: int = 5, random_state: int = 42,
                         min_responders: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-fitted uplift model, Qini curve and coefficient for every treatment arm against its control.

    Parameters
    ----------
    campaigns : DataFrame
        Canonical ``campaigns`` table.
    features : DataFrame
        Indexed like ``campaigns`` (:func:`campaign_features`).
    method, learner, n_folds, random_state
        See :func:`cross_fitted_uplift`.
    min_responders : int
        Arms whose treatment or control group has fewer responders are skipped (listed with a reason).

    Returns
    -------
    (summary, curves)
        ``summary``: ``campaign_id, arm, method, n, responders, qini_coefficient, note``;
        ``curves``: the Qini curves (:func:`qini_curve`) with ``campaign_id, arm, label``.
    """
    df = _check_campaigns(campaigns)
    summary, curves = [], []
    for cid, g in df.groupby("campaign_id", sort=True):
        ctrl = g[g["is_control"]]
        for arm, a in g[~g["is_control"]].groupby("arm", sort=True):
            part = pd.concat([a, ctrl])
            t = (~part["is_control"]).astype(int).to_numpy()
            y = part["response"].astype(int).to_numpy()
            row = dict(campaign_id=cid, arm=arm, method=method, n=len(part), responders=int(y.sum()),
                       qini_coefficient=math.nan, note="")
            if min(y[t == 1].sum(), y[t == 0].sum()) < min_responders:
                row["note"] = f"fewer than {min_responders} responders in the arm or the control"
            elif features.shape[1] == 0:
                row["note"] = "no customer attributes or purchase history to model"
            else:
                score = cross_fitted_uplift(features.loc[part.index], t, y, method=method, learner=learner,
                                            n_folds=n_folds, random_state=random_state)
                row["qini_coefficient"] = qini_coefficient(y, t, score)
                c = qini_curve(y, t, score)
                if len(c) > 400:  # thin the curve for plotting; keep the end point
                    c = c.iloc[np.unique(np.r_[np.linspace(0, len(c) - 1, 400).astype(int), len(c) - 1])]
                curves.append(c.assign(campaign_id=cid, arm=arm, label=str(arm)))
            summary.append(row)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["k", "share", "n_treated", "n_control", "y_treated", "y_control", "qini", "random", "campaign_id", "arm", "label"])
    return pd.DataFrame(summary, columns=["campaign_id", "arm", "method", "n", "responders", "qini_coefficient", "note"]), curves_df


def select_campaign(campaigns: pd.DataFrame, campaign_id: str | None) -> pd.DataFrame:
    """The rows of one campaign (all rows when ``campaign_id`` is None).

    Raises
    ------
    ValueError
        When ``campaign_id`` is not in the table; the message lists the known ids.

    Examples
    --------
    >>> c = pd.DataFrame({"campaign_id": ["a", "a", "b"]})
    >>> len(select_campaign(c, "a")), len(select_campaign(c, None))
    (2, 3)
    """
    if campaign_id is None:
        return campaigns.reset_index(drop=True)
    out = campaigns[campaigns["campaign_id"] == campaign_id]
    if out.empty:
        known = sorted(map(str, campaigns["campaign_id"].dropna().unique()))
        raise ValueError(f"campaign_id {campaign_id!r} is not in the campaigns table; known campaigns: {known[:20]}. "
                         "Set the notebook parameter campaign_id to one of them, or to None for all.")
    return out.reset_index(drop=True)



# ------------------------------------------------------------------ headline figures
def _num(x) -> float | None:
    """A float, or None for missing values (for recorded metrics)."""
    return None if x is None or x is pd.NA or pd.isna(x) else float(x)


def best_arm(effects: pd.DataFrame) -> pd.Series | None:
    """The treatment arm with the largest response-rate uplift over its control.

    Parameters
    ----------
    effects : DataFrame
        :func:`campaign_uplift` output.

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
    return treated.sort_values("uplift", ascending=False, kind="stable").iloc[0] if len(treated) else None


def campaign_metrics(effects: pd.DataFrame | None, qini_summary: pd.DataFrame | None = None,
                     srm: pd.DataFrame | None = None, n_accounts: int | None = None) -> dict:
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
    best = best_arm(effects)
    if best is None:
        return out
    out.update(response_uplift=_num(best["uplift"]), response_uplift_ci_low=_num(best["ci_low"]),
               response_uplift_ci_high=_num(best["ci_high"]), revenue_uplift_per_account=_num(best["revenue_uplift"]))
    if qini_summary is not None and len(qini_summary):
        hit = qini_summary[(qini_summary["campaign_id"] == best["campaign_id"]) & (qini_summary["arm"] == best["arm"])]
        out["qini_coefficient"] = _num(hit["qini_coefficient"].iloc[0]) if len(hit) else None
    return out

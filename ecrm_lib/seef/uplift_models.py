"""Uplift models: which customers does a campaign move? Cross-fitted models, the Qini curve and its coefficient.

Conventions
-----------
- Features are pre-assignment attributes per assigned account
  (:func:`campaign_features`): the purchase history before assignment,
  aggregated from the transactions in the engine
  (:func:`ecrm_lib.seef.campaigns.purchase_history_before`), and customer
  attributes.
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

Examples
--------
>>> qini_curve([1, 0, 1, 0], [1, 1, 0, 0], [0.9, 0.5, 0.3, 0.1])["qini"].tolist()
[0.0, 1.0, 1.0, -1.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.i18n import t
from ecrm_lib.core.intervals import newcombe_interval
from ecrm_lib.data.tables import rows_of_accounts
from ecrm_lib.seef.campaigns import (
    check_campaigns,
    history_for_rows,
    history_missing_key,
    numeric_if_possible,
    purchase_history_before,
)
from ecrm_lib.seef.scale import stratified_sample

__all__ = [
    "DEFAULT_MAX_MODEL_ROWS",
    "campaign_features",
    "cross_fitted_uplift",
    "qini_coefficient",
    "qini_curve",
    "uplift_deciles",
    "headline_qini",
    "model_rows",
    "notes_in_language",
    "uplift_models_by_arm",
]

#: Assignment rows the uplift models learn from at most (:func:`model_rows`): cross-fitting five folds per arm on
#: 500,000 rows took about 8 s here; on every row of a ten-million-customer campaign it would take minutes and GBs.
DEFAULT_MAX_MODEL_ROWS = 500_000


def model_rows(campaigns: pd.DataFrame, max_rows: int | None = DEFAULT_MAX_MODEL_ROWS, random_state: int = 42) -> pd.DataFrame:
    """The assignment rows the uplift models learn from: every row, or a stratified sample of ``max_rows``.

    The sample keeps each campaign's, arm's and response's share of the rows
    (:func:`ecrm_lib.seef.scale.stratified_sample`), so every arm keeps its control and its responders.

    Parameters
    ----------
    campaigns : DataFrame
        Assignment rows (``campaign_id``, ``arm``, ``response``; :func:`ecrm_lib.seef.campaigns.select_campaign`).
    max_rows : int or None
        Rows at most (at least 100); None: every row.
    random_state : int
        Seed of the sample.

    Returns
    -------
    DataFrame
        The rows kept, with their index (features from :func:`campaign_features` line up with them);
        ``attrs["rows"]`` is the number of rows of ``campaigns``.

    Examples
    --------
    >>> c = pd.DataFrame({"campaign_id": "c", "arm": ["t", "ctl"] * 500, "response": [1, 0, 0, 0] * 250})
    >>> part = model_rows(c, 100)
    >>> len(part), part.attrs["rows"], part.groupby("arm")["response"].sum().to_dict()
    (100, 1000, {'ctl': 0, 't': 25})
    """
    if max_rows is not None and int(max_rows) < 100:
        raise ValueError(f"max_rows (the feedback report's parameter uplift_max_rows) must be at least 100 assignment rows, "
                         f"or None for every row, but {max_rows!r} was passed.")
    out = campaigns
    if max_rows is not None and len(campaigns) > int(max_rows):
        strata = (campaigns["campaign_id"].astype("string") + "/" + campaigns["arm"].astype("string") + "/"
                  + campaigns["response"].astype("string"))
        out = campaigns.iloc[stratified_sample(strata, int(max_rows), random_state)]
    out = out.copy(deep=False) if out is campaigns else out  # the caller's frame keeps its attrs
    out.attrs["rows"] = len(campaigns)
    return out


def campaign_features(campaigns: pd.DataFrame, customers=None, transactions=None, max_levels: int = 12) -> pd.DataFrame:
    """Pre-assignment features per assigned account, for uplift models.

    Parameters
    ----------
    campaigns : DataFrame
        Assignment rows (``account_id``, ``assigned_at``;
        :func:`ecrm_lib.seef.campaigns.select_campaign`).
    customers : ibis.Table or DataFrame, optional
        Canonical ``customers`` table (the rows of the assigned accounts are
        picked in the engine): numeric columns are used as they are, text
        columns with at most ``max_levels`` levels are one-hot encoded.
    transactions : ibis.Table or DataFrame, optional
        Canonical ``transactions``: per account, purchases in the 365 days
        before ``assigned_at``, days since the last purchase before it (capped
        at 3,650), spend in those 365 days (currency), aggregated in the
        engine (:func:`ecrm_lib.seef.campaigns.purchase_history_before`). Only
        purchases *before* assignment are used.

    Returns
    -------
    DataFrame
        Indexed like ``campaigns``; numeric feature columns, no missing values (filled with 0 and a
        ``<col>_missing`` flag for numeric customer columns with gaps). Empty columns when neither
        source is usable; ``attrs["history_missing_reason"]`` says why the purchase history is missing
        (e.g. no ``assigned_at``) and ``attrs["empty_reason"]`` why there is no feature at all (both in the
        report language), ``attrs["empty_reason_in_language"]`` a function that words the latter in the
        current language (for a page in each language).
    """
    feats = pd.DataFrame(index=campaigns.index)
    history_key = history_missing_key(campaigns, transactions)
    no_history = t(history_key) if history_key else None
    if no_history is None:
        feats = history_for_rows(campaigns, purchase_history_before(campaigns, transactions))
    if customers is not None:
        rows = rows_of_accounts(customers, campaigns["account_id"])
        cust = campaigns[["account_id"]].astype({"account_id": "string"}).merge(rows, on="account_id", how="left")
        cust.index = campaigns.index
        for c in cust.columns:
            if c == "account_id":
                continue
            s = numeric_if_possible(cust[c])
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                v = s.astype(float)
                if v.isna().any():
                    feats[f"{c}_missing"] = v.isna().astype(float)
                feats[str(c)] = v.fillna(v.median() if v.notna().any() else 0.0)
            elif s.nunique() <= max_levels:
                dummies = pd.get_dummies(s.astype(object).where(s.notna(), "missing").astype(str), prefix=str(c), dtype=float)
                feats = pd.concat([feats, dummies], axis=1)
    feats.attrs["history_missing_reason"] = no_history
    if feats.shape[1] == 0:
        customers_key = "campaign_missing.no_customers" if customers is None else "campaign_missing.customers_unusable"

        def empty_reason() -> str:
            return t("campaign_missing.no_features", history=t(history_key) if history_key else "", customers=t(customers_key))

        feats.attrs["empty_reason"] = empty_reason()
        feats.attrs["empty_reason_in_language"] = empty_reason
    return feats


def _learner(kind: str, random_state: int):
    if kind == "gbm":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50,
                                              l2_regularization=1.0, random_state=random_state)
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    raise ValueError(f"learner must be 'gbm' or 'logistic', got {kind!r}")



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
        ``summary``: ``campaign_id, arm, method, n, responders, qini_coefficient, note`` (why an arm has
        no model, in the report language; :func:`notes_in_language` words it again in another);
        ``curves``: the Qini curves (:func:`qini_curve`) with ``campaign_id, arm, label``.
    """
    df = check_campaigns(campaigns)
    summary, curves, notes = [], [], []

    def few() -> str:  # worded in each language
        return t("feedback.note_few_responders", n=min_responders)

    no_features = features.attrs.get("empty_reason_in_language") or (lambda: t("feedback.note_no_features"))
    several = df["campaign_id"].nunique() > 1  # then a curve's label names its campaign (two arms may share a name)
    for cid, g in df.groupby("campaign_id", sort=True):
        ctrl = g[g["is_control"]]
        for arm, a in g[~g["is_control"]].groupby("arm", sort=True):
            part = pd.concat([a, ctrl])
            treated = (~part["is_control"]).astype(int).to_numpy()
            y = part["response"].astype(int).to_numpy()
            row = dict(campaign_id=cid, arm=arm, method=method, n=len(part), responders=int(y.sum()),
                       qini_coefficient=math.nan, note="")
            note = None
            if min(y[treated == 1].sum(), y[treated == 0].sum()) < min_responders:
                note = few
            elif features.shape[1] == 0:
                note = no_features
            else:
                score = cross_fitted_uplift(features.loc[part.index], treated, y, method=method, learner=learner,
                                            n_folds=n_folds, random_state=random_state)
                row["qini_coefficient"] = qini_coefficient(y, treated, score)
                c = qini_curve(y, treated, score)
                if len(c) > 400:  # thin the curve for plotting; keep the end point
                    c = c.iloc[np.unique(np.r_[np.linspace(0, len(c) - 1, 400).astype(int), len(c) - 1])]
                curves.append(c.assign(campaign_id=cid, arm=arm, label=f"{cid}: {arm}" if several else str(arm)))
            row["note"] = note() if note else ""
            summary.append(row)
            notes.append(note)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["k", "share", "n_treated", "n_control", "y_treated", "y_control", "qini", "random", "campaign_id", "arm", "label"])
    out = pd.DataFrame(summary, columns=["campaign_id", "arm", "method", "n", "responders", "qini_coefficient", "note"])
    out.attrs["note_in_language"] = notes
    return out, curves_df


def headline_qini(summary: pd.DataFrame, campaign_id: str | None = None, arm: str | None = None) -> pd.Series | None:
    """The row of :func:`uplift_models_by_arm`'s summary a page's sentence describes: of ``campaign_id`` (the
    headline campaign, e.g. :func:`ecrm_lib.seef.uplift.latest_campaign`; None: every campaign) and ``arm`` (the
    headline arm, :func:`ecrm_lib.seef.uplift.best_arm`, as the ``qini_coefficient`` metric; None: any arm), the
    row with the highest Qini coefficient; None when no such row has a coefficient.

    >>> s = pd.DataFrame({"campaign_id": ["old", "new"], "arm": ["treatment"] * 2, "qini_coefficient": [0.11, 0.04]})
    >>> float(headline_qini(s, "new")["qini_coefficient"]), float(headline_qini(s)["qini_coefficient"]), headline_qini(s, "none")
    (0.04, 0.11, None)
    """
    rows = summary.dropna(subset=["qini_coefficient"])
    if campaign_id is not None:
        rows = rows[rows["campaign_id"].astype(str) == str(campaign_id)]
    if arm is not None:
        rows = rows[rows["arm"].astype(str) == str(arm)]
    return rows.sort_values("qini_coefficient", ascending=False, kind="stable").iloc[0] if len(rows) else None


def notes_in_language(summary: pd.DataFrame) -> pd.Series:
    """The ``note`` column of :func:`uplift_models_by_arm`'s summary worded in the current report language (for a
    table or sentence shown in each language); the note as it is for a summary without its wording.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> c = pd.DataFrame({"campaign_id": "c", "account_id": [f"a{i}" for i in range(8)], "arm": ["t"] * 4 + ["control"] * 4,
    ...                   "is_control": [False] * 4 + [True] * 4, "response": [1, 0, 0, 0, 1, 0, 0, 0]})
    >>> summary, _ = uplift_models_by_arm(c, pd.DataFrame({"x": range(8)}, dtype=float))
    >>> summary["note"].tolist()
    ['fewer than 10 responders in the arm or the control']
    >>> with using("ko"):
    ...     notes_in_language(summary).tolist()
    ['실험군이나 대조군의 반응 고객이 10명 미만입니다']
    """
    words = summary.attrs.get("note_in_language")
    if words is None or len(words) != len(summary):
        return summary["note"].copy()
    return pd.Series([w() if w else "" for w in words], index=summary.index, name="note")



"""Judging the purchase models on a held-out period: calibration fits, errors, the choice, the tracking chart.

Each model is fitted on the calibration period (:func:`fit_calibration_models`,
one row per customer from :func:`ecrm_lib.value.features.calibration_holdout`),
asked for each customer's repeat purchases in the holdout period given their
calibration history, and compared with what they did
(:func:`holdout_validation`): mean absolute error (MAE) and RMSE per customer,
the error of the total, and purchases by calibration frequency (Fader, Hardie
& Lee 2005a, figure 2). :func:`choose_purchase_model` keeps the model chosen by
:func:`choose_by_rule`: the lowest holdout mean squared error, near-ties treated as ties
and settled by the better calibration fit (log-likelihood). :func:`holdout_tracking` adds up actual and predicted purchases
day by day through the holdout period, from the engine's daily counts
(:func:`ecrm_lib.value.features.holdout_daily_purchases`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.core.i18n import t
from ecrm_lib.value.btyd import (
    DEFAULT_MAX_FIT_CUSTOMERS,
    MODEL_LABELS,
    MODELS,
    check_model,
    fit_btyd,
    history_arrays,
    predict_purchases,
)
from ecrm_lib.value.features import TIME_UNITS, compress_histories
from ecrm_lib.value.fitting import DEFAULT_FALLBACKS, DEFAULT_TIME_LIMIT, ModelFitError
from ecrm_lib.value.predict import expected_purchases_curve

__all__ = [
    "CALIBRATION_COLUMNS",
    "CalibrationFits",
    "HoldoutValidation",
    "calibration_summary",
    "TIE_LOGLIK",
    "TIE_MARGIN",
    "TIE_SE",
    "choose_by_rule",
    "choose_purchase_model",
    "fit_calibration_models",
    "holdout_skip_reason",
    "holdout_tracking",
    "holdout_validation",
    "fit_message",
    "parameters_shown",
]

#: Calibration columns of :func:`ecrm_lib.value.features.calibration_holdout` and their names in a summary.
CALIBRATION_COLUMNS = {"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T", "monetary_value_cal": "monetary_value"}


@dataclass
class CalibrationFits:
    """Each purchase model fitted on the calibration period.

    Attributes
    ----------
    fits : dict
        Model key -> :class:`ecrm_lib.value.btyd.FitResult` (models that failed are absent).
    failed : dict
        Model key -> the :class:`ecrm_lib.value.fitting.ModelFitError` of a model that could not be fitted.
    models : list of str
        The models asked for, in order (ties of the choice go to the earlier one).
    """

    fits: dict
    failed: dict
    models: list

    def table(self) -> pd.DataFrame:
        """One row per model for display: ``model`` (label), ``status``, the parameters, ``log_likelihood``, ``attempts``,
        ``message``; the status and the message in the report language (:func:`fit_message`)."""
        rows = []
        for mo in self.models:
            if mo in self.fits:
                fit = self.fits[mo]
                params = ", ".join(f"{k} {v:.4g}" for k, v in fit.params.items())
                rows.append((MODEL_LABELS[mo], t("fit.status.ok"), params, fit.log_likelihood, len(fit.attempts),
                             fit_message(fit)))
            else:
                exc = self.failed[mo]
                n = len(exc.attempts) if getattr(exc, "attempts", None) is not None else 0
                rows.append((MODEL_LABELS[mo], t("fit.status.failed"), "", np.nan, n, fit_message(exc)))
        return pd.DataFrame(rows, columns=["model", "status", "parameters", "log_likelihood", "attempts", "message"])


def fit_message(outcome: Any) -> str:
    """What a table says about one fit, in the report language: why it failed (a :class:`ModelFitError`, worded
    by its ``in_language``, at most 300 characters), "fallback used" for a fit from a fallback attempt, else "".

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> e = ModelFitError(key="fit.failed", values={"model": "BG/NBD", "n": 5, "reasons": "x"})
    >>> with using("ko"):
    ...     fit_message(e)[:22]
    'BG/NBD을(를) 적합하지 못했습니다.'
    """
    if isinstance(outcome, BaseException):
        text = outcome.in_language() if hasattr(outcome, "in_language") else str(outcome)
        return " ".join(text.split())[:300]
    return t("fit.fallback_used") if getattr(outcome, "fallback_used", False) else ""


@dataclass
class HoldoutValidation:
    """Models fitted on a calibration period and judged on the holdout period after it.

    Attributes
    ----------
    fits : dict
        Model key -> :class:`~ecrm_lib.value.btyd.FitResult` fitted on the calibration period (models
        that failed every attempt are absent; see ``errors``).
    customers : pandas.DataFrame
        Per calibration customer: ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``actual`` (repeat purchases in the holdout) and one ``pred_<model>``
        column per fitted model (conditional expected purchases in the holdout).
    by_frequency : pandas.DataFrame
        Tidy: ``model`` ("actual" or a model key), ``label``, ``frequency_group``
        ("0" .. "7+", ordered), ``n_customers``, ``mean_purchases`` (mean holdout
        repeat purchases per customer in the group).
    errors : pandas.DataFrame
        One row per model: ``model``, ``label``, ``status``, ``n_customers``,
        ``mae``, ``rmse`` (purchases per customer), ``actual_total``,
        ``predicted_total`` (purchases), ``error_total_pct`` (100 * (predicted -
        actual) / actual: negative = under-prediction), ``log_likelihood``
        (calibration), ``fallback_customers`` (customers whose prediction used a
        fallback), ``message``.
    best_model : str
        The model :func:`choose_by_rule` picks.
    selection : str
        How ``best_model`` was chosen: the rule and its outcome, one sentence for the report.
    duration : float
        Length of the holdout period (time units).
    failed_attempts : dict
        Model key -> attempts table of the models that could not be used.
    failed : dict
        Model key -> the :class:`ecrm_lib.value.fitting.ModelFitError` of a model that could not be fitted.
    """

    fits: dict
    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    errors: pd.DataFrame
    best_model: str
    selection: str
    duration: float
    failed_attempts: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)

    def errors_in_language(self) -> pd.DataFrame:
        """``errors`` for display: ``status`` and ``message`` in the report language (the product keeps the codes
        and the English messages); the other columns as they are."""
        e = self.errors.copy()
        e["message"] = [fit_message(self.failed[mo]) if mo in self.failed and st == "failed"
                        else fit_message(self.fits[mo]) if mo in self.fits else msg
                        for mo, st, msg in zip(e["model"], e["status"].astype(str), e["message"])]
        e["status"] = [t(f"fit.status.{s}") if s in ("ok", "failed", "skipped") else s for s in e["status"].astype(str)]
        return e


def _frequency_groups(freq: np.ndarray, max_frequency: int) -> pd.Categorical:
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    idx = np.minimum(freq.astype(int), max_frequency)
    return pd.Categorical.from_codes(idx, categories=labels, ordered=True)


def holdout_skip_reason(cal_holdout: pd.DataFrame, calibration_end, min_customers: int = 20) -> str | None:
    """Why the holdout comparison cannot be made (too few customers, repeat buyers or holdout purchases), or None.

    The reason is worded in the report language, with its counts as they are (a page masks counts of 1-4
    people with :func:`ecrm_lib.core.privacy.mask_people_counts`).

    Examples
    --------
    >>> ch = pd.DataFrame({"frequency_cal": [0, 1], "frequency_holdout": [0, 0]})
    >>> holdout_skip_reason(ch, "2024-01-01")[:60]
    'the calibration period (to 2024-01-01) has 2 customers, 1 re'
    """
    n = len(cal_holdout)
    rep = int((cal_holdout["frequency_cal"] > 0).sum()) if n else 0
    hold = int(cal_holdout["frequency_holdout"].sum()) if n else 0
    if n >= min_customers and rep > 0 and hold > 0:
        return None
    return t("customer_value.lib.holdout_too_small", end=calibration_end, n=n, rep=rep, hold=hold, min=min_customers)


def calibration_summary(cal_holdout: pd.DataFrame) -> pd.DataFrame:
    """The calibration columns of :func:`ecrm_lib.value.features.calibration_holdout` under the summary's names."""
    need = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    missing = [c for c in need if c not in cal_holdout.columns]
    if missing:
        raise DataValidationError(
            f"cal_holdout has no column {missing}; build it with ecrm_lib.value.features.calibration_holdout."
        )
    return cal_holdout.rename(columns=CALIBRATION_COLUMNS)


def fit_calibration_models(
    cal_holdout: pd.DataFrame,
    models: Sequence[str] = MODELS,
    *,
    penalizer_coef: float = 0.0,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    time_unit: str = "W",
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    max_customers: int | None = DEFAULT_MAX_FIT_CUSTOMERS,
) -> CalibrationFits:
    """Fit each purchase model on the calibration period (a model that fails is recorded, not raised).

    Parameters
    ----------
    cal_holdout : pandas.DataFrame
        From :func:`ecrm_lib.value.features.calibration_holdout`.
    models : sequence of str
        Model keys (:data:`ecrm_lib.value.btyd.MODELS`).
    penalizer_coef, fallbacks, time_unit, time_limit, max_customers
        As for :func:`ecrm_lib.value.btyd.fit_btyd` (the predictions are still made for every customer).

    Returns
    -------
    CalibrationFits
    """
    models = [check_model(mo) for mo in dict.fromkeys(models)]
    if not models:
        raise ValueError("models must name at least one of " + str(list(MODELS)) + ".")
    cal = calibration_summary(cal_holdout)
    fits, failed = {}, {}
    for mo in models:
        try:
            fits[mo] = fit_btyd(cal, mo, penalizer_coef=penalizer_coef, fallbacks=fallbacks, time_unit=time_unit,
                                time_limit=time_limit, max_customers=max_customers)
        except ModelFitError as exc:
            failed[mo] = exc
    return CalibrationFits(fits=fits, failed=failed, models=models)


def holdout_validation(cal_holdout: pd.DataFrame, calibration: CalibrationFits, *, max_frequency: int = 7) -> HoldoutValidation:
    """Compare each calibration fit's predictions with the holdout period.

    Parameters
    ----------
    cal_holdout : pandas.DataFrame
        From :func:`ecrm_lib.value.features.calibration_holdout` (``frequency_holdout``
        and ``duration_holdout`` included).
    calibration : CalibrationFits
        From :func:`fit_calibration_models` on the same table.
    max_frequency : int
        Calibration frequencies from this value up are pooled ("7+", as in Fader & Hardie).

    Returns
    -------
    HoldoutValidation
        ``best_model`` is the model :func:`choose_by_rule` picks (holdout mean squared error,
        near-ties settled by the calibration log-likelihood, then the order of the models);
        ``errors`` carries ``mse``, ``mse_gap_se``, ``tied`` and ``chosen``.

    Raises
    ------
    ecrm_lib.value.fitting.ModelFitError
        No model could be fitted.
    """
    cal = calibration_summary(cal_holdout)
    duration = float(cal_holdout["duration_holdout"].iloc[0])
    actual = cal_holdout["frequency_holdout"].to_numpy(float)
    customers = cal_holdout[["frequency_cal", "recency_cal", "T_cal"]].copy()
    customers["actual"] = actual
    rows, failed = [], {}
    for mo in calibration.models:
        if mo not in calibration.fits:
            exc = calibration.failed[mo]
            rows.append({"model": mo, "label": MODEL_LABELS[mo], "status": "failed", "n_customers": len(cal),
                         "message": " ".join(str(exc).split())[:300]})
            if getattr(exc, "attempts", None) is not None:
                failed[mo] = exc.attempts
            continue
        fit = calibration.fits[mo]
        pred_frame = predict_purchases(fit, cal, duration)
        pred = pred_frame["expected_purchases"].to_numpy()
        n_fallback = int((pred_frame["fallback"] != "").sum())
        customers[f"pred_{mo}"] = pred
        err = pred - actual
        message = "fallback used" if fit.fallback_used else ""
        rows.append({
            "model": mo, "label": MODEL_LABELS[mo], "status": "ok", "n_customers": len(cal),
            "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
            "actual_total": float(actual.sum()), "predicted_total": float(pred.sum()),
            "error_total_pct": float(100 * (pred.sum() - actual.sum()) / actual.sum()) if actual.sum() > 0 else float("nan"),
            "log_likelihood": fit.log_likelihood, "fallback_customers": n_fallback, "message": message,
        })
    errors = pd.DataFrame(rows).reindex(columns=["model", "label", "status", "n_customers", "mae", "rmse", "actual_total",
                                                 "predicted_total", "error_total_pct", "log_likelihood",
                                                 "fallback_customers", "message"])
    if not calibration.fits:
        failures = list(calibration.failed.values())
        raise ModelFitError(key="fit.none_on_calibration",
                            values={"why": lambda: "; ".join(fit_message(exc) for exc in failures)})
    best, errors, selection = choose_by_rule(customers, errors, calibration.models)
    groups = _frequency_groups(cal_holdout["frequency_cal"].to_numpy(), max_frequency)
    series = {"actual": actual} | {mo: customers[f"pred_{mo}"].to_numpy() for mo in calibration.fits}
    parts = []
    for key, values in series.items():
        g = pd.DataFrame({"frequency_group": groups, "v": values}).groupby("frequency_group", observed=False)["v"]
        part = pd.DataFrame({"n_customers": g.size(), "mean_purchases": g.mean()}).reset_index()
        part.insert(0, "label", "Actual" if key == "actual" else MODEL_LABELS[key])
        part.insert(0, "model", key)
        parts.append(part)
    by_frequency = pd.concat(parts, ignore_index=True)
    return HoldoutValidation(fits=dict(calibration.fits), customers=customers, by_frequency=by_frequency, errors=errors,
                             best_model=best, selection=selection,
                             duration=duration, failed_attempts=failed, failed=dict(calibration.failed))


#: Two holdout errors are tied when the larger is within this share of the smaller (1 %) ...
TIE_MARGIN = 0.01
#: ... or within this many standard errors of their paired per-customer difference.
TIE_SE = 2.0
#: Two calibration fits are tied when their log-likelihoods differ by less than this (an AIC difference
#: below 2 for models with the same number of parameters, as BG/NBD, Pareto/NBD and MBG/NBD have).
TIE_LOGLIK = 1.0


def choose_by_rule(customers: pd.DataFrame, errors: pd.DataFrame, models: Sequence[str]) -> tuple[str, pd.DataFrame, str]:
    """The purchase model for the predictions, by a stated rule that weighs holdout accuracy and fit.

    The rule:

    1. **Holdout accuracy** is the mean squared error (MSE) per customer of the predicted repeat
       purchases in the holdout period. The models predict each customer's *expected* purchases, and
       the expectation is what minimises squared error; the mean absolute error rewards predictions
       pulled towards the median (zero purchases for most customers), so it is shown but not used
       to choose (on data generated by BG/NBD it preferred Pareto/NBD in every sample tried).
    2. **Near-ties are ties**: a model is tied with the most accurate one when its MSE is within
       :data:`TIE_MARGIN` (1 %) of it, or within :data:`TIE_SE` (2) standard errors of the paired
       per-customer difference: a gap that the holdout sample cannot tell from chance.
    3. Among the tied models, the one that **fits the calibration data best** (highest
       log-likelihood; the three models have four parameters each, so this is also the lowest AIC
       and BIC) is chosen; log-likelihoods within :data:`TIE_LOGLIK` (1) are tied again, and then the
       first of ``models`` is taken (the default order puts BG/NBD, the reference model, first).

    Parameters
    ----------
    customers : DataFrame
        ``actual`` and one ``pred_<model>`` column per fitted model (:class:`HoldoutValidation`).
    errors : DataFrame
        One row per model with ``model``, ``status`` and ``log_likelihood``.
    models : sequence of str
        The models in their order of preference for full ties.

    Returns
    -------
    (best, errors, sentence)
        The chosen model key; ``errors`` with ``mse`` (purchases squared per customer),
        ``mse_gap_se`` (the MSE gap to the most accurate model in standard errors of the paired
        difference), ``tied`` (tied on holdout accuracy with the most accurate) and ``chosen``;
        the sentence for the report that states the rule and its outcome (report language).
    """
    e = errors.copy()
    ok = [m for m in models if m in set(e.loc[e["status"] == "ok", "model"])]
    actual = customers["actual"].to_numpy(float)
    sq = {m: (customers[f"pred_{m}"].to_numpy(float) - actual) ** 2 for m in ok}
    mse = {m: float(v.mean()) for m, v in sq.items()}
    leader = min(ok, key=lambda m: (mse[m], ok.index(m)))
    gap_se, tied = {}, {}
    for m in ok:
        d = sq[m] - sq[leader]
        se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else math.nan
        gap_se[m] = 0.0 if m == leader else (float(d.mean()) / se if se > 0 else math.inf)
        tied[m] = m == leader or mse[m] <= mse[leader] * (1 + TIE_MARGIN) or gap_se[m] < TIE_SE
    ll = e.set_index("model")["log_likelihood"].astype(float).to_dict()
    candidates = [m for m in ok if tied[m]]
    top_ll = max(ll[m] for m in candidates)
    fit_tied = [m for m in candidates if ll[m] > top_ll - TIE_LOGLIK]
    best = fit_tied[0]
    e["mse"] = e["model"].map(mse)
    e["mse_gap_se"] = e["model"].map(gap_se)
    e["tied"] = e["model"].map(tied).astype("boolean")
    e["chosen"] = e["model"] == best
    label = MODEL_LABELS[best]
    if len(ok) == 1:
        sentence = t("value_choice.only", label=label)
    elif len(candidates) == 1:
        sentence = t("value_choice.clear", label=label, mse=mse[best], k=len(ok) - 1)
    elif len(fit_tied) == 1:
        sentence = t("value_choice.tie", tied=", ".join(MODEL_LABELS[m] for m in candidates), label=label, ll=ll[best])
    else:
        sentence = t("value_choice.tie_fit", tied=", ".join(MODEL_LABELS[m] for m in candidates),
                     fit_tied=", ".join(MODEL_LABELS[m] for m in fit_tied), label=label)
    return best, e, sentence


def parameters_shown(model_fit: pd.DataFrame) -> pd.DataFrame:
    """Every fitted model's parameters, for display: on the calibration period and on all data.

    Parameters
    ----------
    model_fit : DataFrame
        The ``model_fit`` product (:func:`ecrm_lib.value.clv.model_fit_table`).

    Returns
    -------
    DataFrame
        ``stage`` ("calibration period" or "all data"), ``model`` (label), ``parameter``, ``value``,
        ``std_error``, ``used_for_predictions`` (bool), ``well_determined`` (standard error below the
        estimate).
    """
    t_ = model_fit[["stage", "model", "parameter", "value", "std_error", "used_for_predictions"]].copy()
    t_["stage"] = t_["stage"].map({"calibration": t("customer_value.lib.stage_calibration"),
                                   "full": t("customer_value.lib.stage_full")}).fillna(t_["stage"])
    t_["model"] = t_["model"].map(MODEL_LABELS).fillna(t_["model"])
    t_["well_determined"] = t_["std_error"] < t_["value"].abs()
    return t_.reset_index(drop=True)


def choose_purchase_model(holdout: HoldoutValidation | None, models: Sequence[str]) -> str:
    """The model for the predictions: the holdout's best, or the first of ``models`` when there was no comparison.

    Examples
    --------
    >>> choose_purchase_model(None, ["pareto", "bgnbd"])
    'pareto'
    """
    if holdout is not None:
        return holdout.best_model
    models = [check_model(mo) for mo in models]
    if not models:
        raise ValueError("models must name at least one of " + str(list(MODELS)) + ".")
    return models[0]


def holdout_tracking(
    daily: pd.DataFrame,
    holdout: HoldoutValidation,
    *,
    calibration_end,
    observation_end,
    step_days: int = 7,
) -> pd.DataFrame:
    """Cumulative repeat purchases over the holdout period: actual against each model's forecast.

    The chart version of the holdout error table (:attr:`HoldoutValidation.errors`): the same
    customers (those of ``holdout.customers``, who had bought by ``calibration_end``), the same
    period (the days after ``calibration_end`` up to ``observation_end``) and the same predictions
    (each model fitted on the calibration period, its expectation *conditional on each customer's
    calibration history*, as in the table). Every line starts at 0 on ``calibration_end``; at
    ``observation_end`` the actual line equals the table's ``actual_total`` and each model's line
    its ``predicted_total``.

    Why not the classic tracking chart (Fader, Hardie & Lee 2005a, figure 1): its model line is the
    *unconditional* expectation from each customer's first purchase, a different prediction from
    the table's, and it adds the calibration period, so its end could sit hundreds of purchase days
    above actual while the table said the forecast was too low.

    Parameters
    ----------
    daily : pandas.DataFrame
        :func:`ecrm_lib.value.features.holdout_daily_purchases` for the same periods: ``day`` and
        ``purchases`` (purchase days of the calibration customers on that day).
    holdout : HoldoutValidation
        From :func:`holdout_validation` on the same calibration and holdout periods.
    calibration_end, observation_end : date-like
        Last days of the calibration and holdout periods (local dates).
    step_days : int
        Days between points (7: weekly); ``observation_end`` is always a point.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``date``, ``days_since_calibration`` (days), ``series`` ("Actual" or a model label),
        ``model`` ("actual" or a model key), ``chosen`` (True for the model with the lowest MAE,
        ``holdout.best_model``, and for the actual line), ``cumulative_repeat_purchases``
        (purchase days since ``calibration_end``, summed over the customers).

    Raises
    ------
    ValueError
        When ``observation_end - calibration_end`` is not the holdout's duration.
    """
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = pd.Timestamp(observation_end).normalize()
    d = daily.assign(day=pd.to_datetime(daily["day"]))
    d = d[(d["day"] > cal_end) & (d["day"] <= obs_end)].sort_values("day")
    dates = list(pd.date_range(cal_end, obs_end, freq=f"{int(step_days)}D"))
    if dates[-1] != obs_end:
        dates.append(obs_end)
    dates = pd.DatetimeIndex(dates)
    elapsed = np.asarray((dates - cal_end).days, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(d["purchases"].to_numpy(dtype=float))])
    idx = np.searchsorted(d["day"].to_numpy().astype("datetime64[s]"), dates.to_numpy().astype("datetime64[s]"), side="right")
    actual = cum[idx]
    out = [pd.DataFrame({"date": dates, "days_since_calibration": elapsed.astype(int), "series": "Actual",
                         "model": "actual", "chosen": True, "cumulative_repeat_purchases": actual})]
    customers = holdout.customers
    if len(customers):
        f, r, T = history_arrays(customers, ("frequency_cal", "recency_cal", "T_cal"))
        unique, _ = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
    for key, fit in holdout.fits.items():
        t = elapsed / TIME_UNITS[fit.time_unit]
        if not np.isclose(t[-1], holdout.duration):
            raise ValueError(f"the holdout lasts {holdout.duration:g} {fit.time_unit} but {calibration_end} to "
                             f"{observation_end} is {t[-1]:g}: give the calibration and observation ends of the holdout.")
        t[-1] = holdout.duration  # the table's horizon exactly
        expected = np.zeros(len(t)) if not len(customers) else expected_purchases_curve(
            fit.model, fit.params, unique["frequency"], unique["recency"], unique["T"], t, weights=unique["weight"])
        out.append(pd.DataFrame({"date": dates, "days_since_calibration": elapsed.astype(int), "series": fit.label,
                                 "model": key, "chosen": key == holdout.best_model,
                                 "cumulative_repeat_purchases": expected}))
    return pd.concat(out, ignore_index=True)

"""Purchase models ("buy 'til you die"): fits and per-customer predictions.

Models (all fitted by maximum likelihood through ``lifetimes`` 0.11.3):

- ``"bgnbd"``: BG/NBD, Fader, Hardie & Lee (2005a), "Counting Your Customers
  the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science*
  24(2), 275-284 (``lifetimes.BetaGeoFitter``);
- ``"pareto"``: Pareto/NBD, Schmittlein, Morrison & Colombo (1987),
  *Management Science* 33(1), 1-24 (``lifetimes.ParetoNBDFitter``, optimised
  on log parameters with a convergence check lifetimes does not make, and a
  likelihood that stays finite for very frequent buyers);
- ``"mbgnbd"``: MBG/NBD, Batislam, Denizel & Filiztekin (2007), *International
  Journal of Research in Marketing* 24(3), 201-209 (``lifetimes.ModifiedBetaGeoFitter``).

Time is in the unit of the per-customer summary (``time_unit`` of
:func:`ecrm_lib.value.features.rfm_summary`: weeks by default): ``recency``,
``T``, horizons and ``alpha``, ``beta`` (rates per time unit) are in that unit.

Scale
-----
The likelihoods depend on a customer only through (frequency, recency, T):
fits run on the distinct histories (:func:`ecrm_lib.value.features.compress_histories`)
with ``weights=``, and predictions are evaluated once per distinct history and
expanded back, so their cost grows with the number of distinct histories,
not of customers. Predictions come from the stable forms of
:mod:`ecrm_lib.value.predict`: one customer's history never fails a run; a
history that needs a fallback is flagged in ``fallback``.

Examples
--------
>>> import pandas as pd
>>> from ecrm_lib.core.paths import lifetimes_datasets_dir
>>> s = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")
>>> fit = fit_btyd(s, "bgnbd")
>>> fit.params.round(3).to_dict()
{'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
>>> round(fit.log_likelihood, 1), fit.n_customers, fit.n_unique_rows
(-9582.4, 2357, 1016)
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.value.features import TIME_UNITS, compress_histories
from ecrm_lib.value.fitting import (
    DEFAULT_FALLBACKS,
    DEFAULT_TIME_LIMIT,
    DEFAULT_TOL,
    NonFiniteParams,
    attempt_plan,
    format_params,
    log_parameter_covariance,
    numerical_hessian,
    params_table,
    quiet,
    run_attempts,
)
from ecrm_lib.value.predict import (
    discount_schedule,
    pareto_log_integral,
    predict_histories,
)

__all__ = [
    "DEFAULT_MAX_FIT_CUSTOMERS",
    "MODELS",
    "MODEL_LABELS",
    "PARAMETER_NAMES",
    "TIME_UNIT_NAMES",
    "FitResult",
    "check_model",
    "check_time_unit",
    "discounted_expected_purchases",
    "expected_purchases",
    "fit_btyd",
    "fit_btyd_histories",
    "history_arrays",
    "initial_params",
    "predict_purchases",
    "probability_alive",
    "sample_customers",
]

#: Model keys accepted by :func:`fit_btyd`.
MODELS: tuple[str, ...] = ("bgnbd", "pareto", "mbgnbd")

#: Display names of the models.
MODEL_LABELS: dict[str, str] = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD", "gamma_gamma": "Gamma-Gamma"}

#: Names of the time units of :data:`ecrm_lib.value.features.TIME_UNITS`.
TIME_UNIT_NAMES: dict[str, str] = {"W": "weeks", "D": "days", "M": "months"}

#: Default largest number of customers a purchase-model fit uses (:func:`fit_btyd`'s ``max_customers``).
DEFAULT_MAX_FIT_CUSTOMERS = 200_000

#: Parameter names per model, in ``lifetimes``' order.
PARAMETER_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gamma_gamma": ("p", "q", "gamma"),
}


@dataclass
class FitResult:
    """A fitted purchase model (BG/NBD, Pareto/NBD or MBG/NBD).

    Attributes
    ----------
    model : str
        ``"bgnbd"``, ``"pareto"`` or ``"mbgnbd"``.
    fitter : lifetimes fitter
        The fitted ``lifetimes`` object of the attempt used.
    params : pandas.Series
        Parameters (``alpha`` and ``beta`` per time unit of the summary), all finite.
    standard_errors : pandas.Series
        From the Hessian of the log-likelihood (delta method on log parameters,
        as ``lifetimes`` computes them; for Pareto/NBD a numerical Hessian, as
        lifetimes has none).
    log_likelihood : float
        Unpenalised log-likelihood of the data at ``params``, with time in the
        summary's unit (comparable with published values).
    n_customers : int
        Customers fitted (sum of the weights).
    n_unique_rows : int
        Rows the optimizer saw: distinct histories when ``compressed``.
    compressed : bool
        Fitted on distinct histories with weights.
    penalizer_coef, tol : float
        Settings of the attempt used.
    attempts : pandas.DataFrame
        One row per attempt: ``attempt`` (1, 2, ...), ``start``,
        ``penalizer_coef``, ``tol``, ``status`` ("ok", "failed", or "skipped"
        once the time limit is reached), ``message``, ``seconds``, ``used`` (bool).
    time_unit : str
        Time unit of the summary ("W" weeks, "D" days, "M" months).
    n_population : int or None
        Customers in the summary the fit was asked for (more than ``n_customers`` when a sample was fitted).
    """

    model: str
    fitter: Any
    params: pd.Series
    standard_errors: pd.Series
    log_likelihood: float
    n_customers: int
    n_unique_rows: int
    compressed: bool
    penalizer_coef: float
    tol: float
    attempts: pd.DataFrame
    time_unit: str = "W"
    n_population: int | None = None

    @property
    def label(self) -> str:
        """Display name, e.g. "BG/NBD"."""
        return MODEL_LABELS[self.model]

    @property
    def fallback_used(self) -> bool:
        """True when the estimates come from a fallback attempt, not the requested settings."""
        return int(self.attempts.loc[self.attempts["used"], "attempt"].iloc[0]) > 1

    def params_table(self) -> pd.DataFrame:
        """Tidy parameters: ``model``, ``parameter``, ``value``, ``std_error``."""
        return params_table(self.model, self.params, self.standard_errors)

    def log_covariance(self) -> np.ndarray | None:
        """Covariance of the log parameters (observed information; None when the Hessian is unusable)."""
        return log_parameter_covariance(self.fitter, self.n_customers)


# =========================================================================== checks


def check_model(model: str) -> str:
    """``model`` if it is one of :data:`MODELS`, else a ValueError naming them."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, but {model!r} was passed.")
    return model


def check_time_unit(time_unit: str) -> float:
    """Days per ``time_unit`` ("D", "W" or "M"), else a ValueError naming them."""
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, but {time_unit!r} was passed.")
    return TIME_UNITS[time_unit]


def history_arrays(summary: pd.DataFrame, cols: Sequence[str] = ("frequency", "recency", "T")):
    """Validated (frequency, recency, T) arrays of a per-customer summary.

    Raises
    ------
    DataValidationError
        Missing columns or values, no customers, or an impossible history
        (recency above T, recency without repeat purchases, ...).
    """
    cols = list(cols)
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise DataValidationError(
            f"summary has no column {missing}; its columns are {list(summary.columns)}. "
            "Pass a per-customer summary from ecrm_lib.value.features.rfm_summary (or name the columns)."
        )
    if len(summary) == 0:
        raise DataValidationError("summary has no customers: there is nothing to fit.")
    data = summary[cols]
    if data.isna().to_numpy().any():
        raise DataValidationError(f"summary[{cols}] has missing values; drop or fill those customers first.")
    f = data[cols[0]].to_numpy(dtype=float)
    r = data[cols[1]].to_numpy(dtype=float)
    T = data[cols[2]].to_numpy(dtype=float)
    problems = []
    if (f < 0).any() or (f != np.round(f)).any():
        problems.append("frequency must be a whole number >= 0")
    if (r < 0).any():
        problems.append("recency must be >= 0")
    if (r > T + 1e-9).any():
        problems.append(f"recency must not exceed T ({int((r > T + 1e-9).sum())} customers)")
    if (r[f == 0] != 0).any():
        problems.append("recency must be 0 when frequency is 0")
    if not np.isfinite(T).all() or (T < 0).any():
        problems.append("T must be finite and >= 0")
    if T.max() <= 0:
        problems.append("at least one customer must have T > 0 (every first purchase is on the as-of day)")
    if problems:
        raise DataValidationError("summary is not a valid purchase history: " + "; ".join(problems) + ".")
    return f.astype(np.int64), r, T


# =========================================================================== lifetimes plumbing


def _pareto_loglik(freq, rec, T):
    """Per-history Pareto/NBD log-likelihood as a function of the parameters, for fixed (scaled) histories.

    The formula and its floating-point steps are lifetimes' ``_conditional_log_likelihood``
    (same values to the last bit), with its two hypergeometric functions evaluated
    once per distinct (x, t_x) and (x, T) pair instead of once per history: at a
    million customers there are far fewer such pairs than histories, and the
    hypergeometric functions are most of an evaluation's cost. A history whose
    value is not finite there (a frequent buyer whose terms cancel) is taken
    from the stable form of I (:func:`ecrm_lib.value.predict.pareto_log_integral`).
    """
    from scipy.special import gammaln, hyp2f1, logsumexp

    x = np.asarray(freq, dtype=float)
    rec = np.asarray(rec, dtype=float)
    age = np.asarray(T, dtype=float)

    def pairs(y):
        codes, keys = pd.factorize(pd.MultiIndex.from_arrays([x, y]), sort=False)
        return keys.get_level_values(0).to_numpy(float), keys.get_level_values(1).to_numpy(float), codes

    x1, y1, inv1 = pairs(rec)
    x2, y2, inv2 = pairs(age)

    def loglik(params):
        r, alpha, s, beta = params
        if alpha < beta:
            min_ab, max_ab, t1, t2 = alpha, beta, r + x1, r + x2
        else:
            min_ab, max_ab, t1, t2 = beta, alpha, s + 1, s + 1
        abs_ab = max_ab - min_ab
        rsf1, rsf2 = r + s + x1, r + s + x2
        p_1 = hyp2f1(rsf1, t1, rsf1 + 1.0, abs_ab / (max_ab + y1))[inv1]
        p_2 = hyp2f1(rsf2, t2, rsf2 + 1.0, abs_ab / (max_ab + y2))[inv2]
        rsf = r + s + x
        q_1, q_2 = max_ab + rec, max_ab + age
        sign = np.ones(len(x))
        log_a0 = logsumexp([np.log(p_1) + rsf * np.log(q_2), np.log(p_2) + rsf * np.log(q_1)], axis=0,
                           b=[sign, -sign]) - rsf * np.log(q_1 * q_2)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        ll = a1 + np.logaddexp(-(r + x) * np.log(alpha + age) - s * np.log(beta + age), np.log(s) + log_a0 - np.log(rsf))
        bad = ~np.isfinite(ll)
        if bad.any():
            log_i = pareto_log_integral(r, alpha, s, beta, x[bad], rec[bad], age[bad])
            ll[bad] = a1[bad] + np.logaddexp(-(r + x[bad]) * np.log(alpha + age[bad]) - s * np.log(beta + age[bad]),
                                             np.log(s) + log_i)
        return ll

    return loglik


def _pareto_nll(loglik, params, weights, penalizer_coef) -> float:
    """lifetimes' Pareto/NBD objective: -sum(w * ll) / mean(w) + penalizer * sum(params ** 2)."""
    if np.any(np.asarray(params) <= 0.0):
        return np.inf
    return -(weights * loglik(params)).sum() / weights.mean() + penalizer_coef * sum(np.asarray(params) ** 2)


@functools.cache
def _pareto_class():
    from lifetimes import ParetoNBDFitter
    from lifetimes.utils import ConvergenceError
    from scipy.optimize import minimize

    class CheckedParetoNBDFitter(ParetoNBDFitter):
        """``lifetimes.ParetoNBDFitter`` optimised on log parameters, with a convergence check and standard errors.

        lifetimes 0.11.3 runs Nelder-Mead on the raw parameters from a random
        start and returns whatever it reached (even after ``maxiter``). Measured
        on the default data that lands on a worse optimum (log-likelihood 13.6
        lower, s = 113, beta = 10,896 weeks) in 46 s. Here: L-BFGS-B on log
        parameters (numerical gradient; ftol = tol * 1e-5) from
        ``initial_params`` (default all 1 in lifetimes' scaled units), then
        Nelder-Mead on log parameters from there if L-BFGS-B did not report
        convergence; a ``ConvergenceError`` if neither did. With ``hess_inv0``
        (a warm start with a known curvature) BFGS runs first. Same optimum as
        lifetimes on CDNOW, better elsewhere. After the fit, a numerical
        Hessian of the mean negative log-likelihood gives ``standard_errors_``
        the way lifetimes computes them for BG/NBD (on CDNOW they match
        CLVTools' r 0.0476, alpha 0.843, s 0.187, beta 6.21). The likelihood
        of a history whose lifetimes value is not finite (a frequent buyer
        whose hypergeometric terms cancel) is taken from the stable form.
        """

        @staticmethod
        def _negative_log_likelihood(params, freq, rec, T, weights, penalizer_coef):
            return _pareto_nll(_pareto_loglik(freq, rec, T), params, weights, penalizer_coef)

        def fit(self, frequency, recency, T, weights=None, *args, **kwargs):
            super().fit(frequency, recency, T, weights, *args, **kwargs)
            f = np.asarray(self.data["frequency"])
            w = np.asarray(self.data["weights"], dtype=float)
            rs, Ts = np.asarray(self.data["recency"]) * self._scale, np.asarray(self.data["T"]) * self._scale
            p = self.params_.to_numpy(dtype=float).copy()
            p[1] *= self._scale
            p[3] *= self._scale
            pen = self.penalizer_coef
            loglik = _pareto_loglik(f, rs, Ts)

            def mean_nll(log_params):
                return _pareto_nll(loglik, np.exp(log_params), w, pen) * np.mean(w) / np.sum(w)

            with np.errstate(all="ignore"):
                H = numerical_hessian(mean_nll, np.log(p))
            self._hessian_ = H if np.isfinite(H).all() else None
            try:
                if self._hessian_ is None:
                    raise np.linalg.LinAlgError("non-finite Hessian")
                self.variance_matrix_ = self._compute_variance_matrix()
                self.standard_errors_ = self._compute_standard_errors()
                self.confidence_intervals_ = self._compute_confidence_intervals()
            except np.linalg.LinAlgError:  # a singular curvature: no standard errors, the estimates stand
                self.standard_errors_ = pd.Series(np.nan, index=self.params_.index)
            return self

        def _fit(self, minimizing_function_args, iterative_fitting, initial_params, params_size, disp,
                 tol=1e-6, fit_method="L-BFGS-B", maxiter=2000, **kwargs):
            hess_inv0 = kwargs.pop("hess_inv0", None)
            x0 = np.zeros(params_size) if initial_params is None else np.log(np.asarray(initial_params, dtype=float))

            deadline = getattr(self, "_deadline", None)
            freq, rec, age, weights, pen = minimizing_function_args
            loglik = _pareto_loglik(freq, rec, age)  # the distinct pairs are found once per fit

            def objective(log_params, *args):
                if deadline is not None and time.monotonic() > deadline:
                    raise ConvergenceError("Pareto/NBD: the time limit of the fit was reached before the optimizer converged")
                value = _pareto_nll(loglik, np.exp(log_params), weights, pen)
                return value if np.isfinite(value) else np.inf

            out = None
            if hess_inv0 is not None:
                f0 = objective(x0, *minimizing_function_args)
                out = minimize(objective, x0=x0, method="BFGS", args=minimizing_function_args,
                               options={"maxiter": maxiter, "gtol": tol * max(1.0, abs(f0)), "hess_inv0": hess_inv0})
            if out is None or not (out.success and np.isfinite(out.fun)):
                # the objective is flat along beta: a tight ftol (tol * 1e-5) is needed to reach the optimum's 4th digit
                start = out.x if out is not None and np.isfinite(out.fun) else x0
                out = minimize(objective, x0=start, method="L-BFGS-B", args=minimizing_function_args,
                               options={"maxiter": maxiter, "ftol": tol * 1e-5, "gtol": tol})
            if not (out.success and np.isfinite(out.fun)):
                out = minimize(objective, x0=out.x if np.isfinite(out.fun) else x0, method="Nelder-Mead", tol=tol,
                               args=minimizing_function_args, options={"maxiter": maxiter, "disp": disp})
            if not out.success or not np.isfinite(out.fun):
                raise ConvergenceError(f"Pareto/NBD: the optimizer stopped without converging ({out.message})")
            return np.exp(out.x), out.fun

    return CheckedParetoNBDFitter


def fitter_class(model: str):
    """The ``lifetimes`` fitter class of a model key (Pareto/NBD: the checked subclass)."""
    if model == "pareto":
        return _pareto_class()
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter

    return {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "gamma_gamma": GammaGammaFitter}[model]


def initial_params(model: str, start: str, warm: pd.Series | None, scale: float):
    """Starting point in the optimizer's space (lifetimes scales time by 1 / max T; Gamma-Gamma spend by 1 / median)."""
    if start == "warm" and warm is not None:
        p = warm.to_numpy(dtype=float).copy()
        if model == "gamma_gamma":
            p[2] = p[2] * scale  # gamma in scaled currency
            return np.log(p)
        p[1] = p[1] * scale  # alpha per scaled time
        if model == "pareto":
            p[3] = p[3] * scale
            return p
        return np.log(p)
    if start == "alternative":
        return np.full(4, 0.5) if model == "pareto" else np.zeros(3 if model == "gamma_gamma" else 4)
    return None if model != "pareto" else np.ones(4)  # "default": lifetimes' own (0.1 in log space); Pareto: ones


def _btyd_log_likelihood(model: str, params: np.ndarray, f, r, T, w) -> float:
    """Unpenalised log-likelihood with time in the data's unit.

    Evaluated where the optimizer worked, in lifetimes' scaled time (t * c with
    c = 1 / max T, rates alpha / c), then moved to the data's unit: each of a
    customer's x repeat purchase times is a density in time, so
    LL(unit) = LL(scaled) + sum(w * x) * log(c).
    """
    cls = fitter_class(model)
    c = 1.0 / float(np.max(T))
    p = np.asarray(params, dtype=float).copy()
    p[1] = p[1] * c
    if model == "pareto":
        p[3] = p[3] * c
    with quiet():
        if model == "pareto":  # the Pareto/NBD objective is -sum(w * ll) / mean(w), on raw parameters
            scaled = -cls._negative_log_likelihood(p, f, r * c, T * c, w, 0.0) * np.mean(w)
        else:  # BG/NBD and MBG/NBD: -sum(w * ll) / sum(w), on log parameters
            scaled = -cls._negative_log_likelihood(np.log(p), f, r * c, T * c, w, 0.0) * np.sum(w)
    return float(scaled + np.sum(w * f) * math.log(c))


# =========================================================================== fit


def fit_btyd_histories(model: str, f, r, T, w, *, penalizer_coef: float = 0.0, tol: float = DEFAULT_TOL,
                       fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS, warm: pd.Series | None = None,
                       hess_inv0=None, compressed: bool = True, time_unit: str = "W",
                       time_limit: float | None = DEFAULT_TIME_LIMIT) -> FitResult:
    """:func:`fit_btyd` on arrays of histories (``f``, ``r``, ``T``) with weights ``w`` (customers per history)."""
    cls = fitter_class(model)
    scale = 1.0 / float(np.max(T))
    names = PARAMETER_NAMES[model]
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)

    def run_one(step):
        fitter = cls(penalizer_coef=step["penalizer_coef"])
        fitter._deadline = deadline  # read by the Pareto/NBD optimizer; the others are fast
        init = initial_params(model, step["start"], warm, scale)
        extra = {"hess_inv0": hess_inv0} if step["start"] == "warm" and hess_inv0 is not None else {}
        fitter.fit(f, r, T, weights=w, initial_params=init, tol=step["tol"], **extra)
        params = fitter.params_.reindex(list(names)).astype(float)
        if not np.isfinite(params.to_numpy()).all() or (params.to_numpy() <= 0).any():
            raise NonFiniteParams(f"the optimizer returned NaN, infinite or non-positive parameters ({format_params(params)})")
        ll = _btyd_log_likelihood(model, params.to_numpy(), f, r, T, w)
        if not np.isfinite(ll):
            raise NonFiniteParams(f"the log-likelihood at the estimates is not finite ({ll})")
        return fitter, params, ll

    plan = attempt_plan(penalizer_coef, tol, fallbacks, "warm" if warm is not None else "default")
    (fitter, params, ll), attempts = run_attempts(MODEL_LABELS[model], plan, run_one, deadline)
    used = attempts[attempts["used"]].iloc[0]
    se = getattr(fitter, "standard_errors_", None)
    se = se.reindex(list(names)).astype(float) if se is not None else pd.Series(np.nan, index=list(names))
    return FitResult(
        model=model, fitter=fitter, params=params, standard_errors=se, log_likelihood=ll,
        n_customers=int(np.sum(w)), n_unique_rows=len(f), compressed=compressed,
        penalizer_coef=float(used["penalizer_coef"]), tol=float(used["tol"]), attempts=attempts, time_unit=time_unit,
    )


def fit_btyd(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    *,
    compress: bool = True,
    penalizer_coef: float = 0.0,
    tol: float = DEFAULT_TOL,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    initial_params: pd.Series | None = None,
    time_unit: str = "W",
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    cols: Sequence[str] = ("frequency", "recency", "T"),
    max_customers: int | None = DEFAULT_MAX_FIT_CUSTOMERS,
    seed: int = 0,
) -> FitResult:
    """Fit BG/NBD, Pareto/NBD or MBG/NBD by maximum likelihood, with convergence fallbacks.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per customer with ``frequency`` (repeat purchases), ``recency``
        and ``T`` (time units), e.g. from :func:`ecrm_lib.value.features.rfm_summary`.
    model : {"bgnbd", "pareto", "mbgnbd"}
        The model (see the module docstring for references).
    compress : bool
        Fit on the distinct (frequency, recency, T) rows with ``weights=``
        (same likelihood, cost grows with distinct histories). False: one row
        per customer.
    penalizer_coef : float
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``, on its
        time-scaled parameters); 0 for plain maximum likelihood.
    tol : float
        Optimizer tolerance.
    fallbacks : sequence of dict, optional
        Settings tried in order when an attempt fails; default
        :data:`ecrm_lib.value.fitting.DEFAULT_FALLBACKS`. None or () for no retry.
    initial_params : pandas.Series, optional
        Start from these parameters (e.g. an earlier fit's ``params``).
    time_unit : str
        Unit of ``recency`` and ``T`` ("W", "D" or "M"), recorded in the result.
    time_limit : float, optional
        Seconds for all attempts together (default
        :data:`ecrm_lib.value.fitting.DEFAULT_TIME_LIMIT`): no attempt starts
        after it, and a Pareto/NBD optimizer stops at it (that attempt fails).
        None: no limit.
    cols : sequence of str
        Names of the frequency, recency and T columns.
    max_customers : int, optional
        Most customers the fit uses (default :data:`DEFAULT_MAX_FIT_CUSTOMERS`):
        above it, a random sample of customers (each kept with the same
        probability, drawn on the compressed histories with ``seed``;
        :func:`sample_customers`), so that a fit's cost stops growing with the
        customer base. The estimate stays unbiased; its standard errors (and the
        CLV interval) are those of the sample. None: every customer.
    seed : int
        Seed of that sample.

    Returns
    -------
    FitResult
        Parameters are always finite and positive; ``n_customers`` is the number
        of customers fitted (the sample when one was drawn), ``n_population``
        the number in ``summary``.

    Raises
    ------
    DataValidationError
        Missing columns or values, or an impossible history (recency > T, ...).
    ecrm_lib.value.fitting.ModelFitError
        Every attempt failed (ConvergenceError, numerical error, or NaN/infinite
        parameters); its message and ``attempts`` say what each attempt did.
    """
    check_model(model)
    check_time_unit(time_unit)
    f, r, T = history_arrays(summary, cols)
    n_population = len(f)
    if compress:
        unique, _ = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
        f, r, T = unique["frequency"].to_numpy(np.int64), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
        w = unique["weight"].to_numpy(np.int64)
    else:
        w = np.ones(len(f), dtype=np.int64)
    w = sample_customers(w, max_customers, seed)
    keep = w > 0
    if not keep.all():
        f, r, T, w = f[keep], r[keep], T[keep], w[keep]
    fit = fit_btyd_histories(model, f, r, T, w, penalizer_coef=penalizer_coef, tol=tol, fallbacks=fallbacks,
                             warm=initial_params, compressed=compress, time_unit=time_unit, time_limit=time_limit)
    fit.n_population = n_population
    return fit


def sample_customers(weights: np.ndarray, max_customers: int | None, seed: int = 0) -> np.ndarray:
    """Customers per history of a random sample of about ``max_customers`` customers (all when there are no more).

    Each of the ``weights.sum()`` customers is kept with probability
    ``max_customers / weights.sum()`` (a binomial draw per history, seeded):
    a simple random sample of customers taken on the compressed histories.

    Examples
    --------
    >>> sample_customers(np.array([3, 1]), None).tolist()
    [3, 1]
    >>> int(sample_customers(np.full(1000, 100), 20_000).sum())
    20203
    """
    w = np.asarray(weights, dtype=np.int64)
    total = int(w.sum())
    if max_customers is None or total <= int(max_customers):
        return w
    if int(max_customers) < 1:
        raise ValueError(f"max_customers must be at least 1 customer, but {max_customers!r} was passed.")
    return np.random.default_rng(seed).binomial(w, int(max_customers) / total).astype(np.int64)


# =========================================================================== predictions per customer


def predict_purchases(fit: FitResult, summary: pd.DataFrame, horizon: float | None = None, *,
                      annual_discount_rate: float | None = None, step: float = 1.0,
                      cols: Sequence[str] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """P(alive), expected and discounted purchases per customer, evaluated once per distinct history.

    Parameters
    ----------
    fit : FitResult
    summary : pandas.DataFrame
        ``frequency``, ``recency``, ``T`` per customer (in ``fit``'s time unit).
    horizon : float, optional
        Time units ahead for ``expected_purchases`` and ``discounted_purchases``.
    annual_discount_rate : float, optional
        Share per year; with it, ``discounted_purchases`` (periods of ``step``
        time units discounted at their end, :func:`ecrm_lib.value.predict.discount_schedule`).
    step : float
        Discounting period in time units.
    cols : sequence of str
        Names of the frequency, recency and T columns.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``: ``p_alive`` (share 0-1), ``expected_purchases``
        (when ``horizon`` is given), ``discounted_purchases`` (when the discount
        rate is given too; purchases) and ``fallback`` ("" or the fallback that
        gave this customer's values, see :mod:`ecrm_lib.value.predict`).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 2, 5000], "recency": [0.0, 20.0, 0.0], "T": [30.0, 30.0, 500.0]})
    >>> p = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> fit = FitResult("bgnbd", None, p, p * 0, 0.0, 3, 3, True, 0.0, 1e-7, pd.DataFrame())
    >>> predict_purchases(fit, s, 52)[["p_alive", "expected_purchases"]].round(3)
       p_alive  expected_purchases
    0    1.000               0.308
    1    0.667               1.720
    2    0.000               0.000
    """
    f, r, T = history_arrays(summary, cols)
    unique, inverse = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
    schedule = None
    if horizon is not None and annual_discount_rate is not None:
        schedule = discount_schedule(horizon, annual_discount_rate=annual_discount_rate, time_unit=fit.time_unit, step=step)
    per = predict_histories(fit.model, fit.params, unique["frequency"], unique["recency"], unique["T"],
                            horizon=horizon, schedule=schedule)
    out = per.iloc[inverse].set_axis(summary.index)
    return out


def probability_alive(fit: FitResult, summary: pd.DataFrame) -> pd.Series:
    """P(alive): probability that each customer is still active at the end of the summary's period (share 0-1).

    Returns
    -------
    pandas.Series
        Indexed like ``summary``, named ``p_alive``.
    """
    if len(summary) == 0:
        return pd.Series([], index=summary.index, dtype=float, name="p_alive")
    return predict_purchases(fit, summary)["p_alive"]


def expected_purchases(fit: FitResult, summary: pd.DataFrame, horizon: float) -> pd.Series:
    """Expected repeat purchases of each customer in the next ``horizon`` time units.

    Returns
    -------
    pandas.Series
        Purchases (conditional expectation given each history), named ``expected_purchases``.
    """
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0 time units, but {horizon!r} was passed.")
    return predict_purchases(fit, summary, horizon)["expected_purchases"]


def discounted_expected_purchases(fit: FitResult, summary: pd.DataFrame, horizon: float, *, annual_discount_rate: float,
                                  step: float = 1.0) -> pd.Series:
    """Expected repeat purchases over the horizon, each discounted to today (purchases).

    Sum over the periods of :func:`ecrm_lib.value.predict.discount_schedule` of
    factor_k times the expected purchases in period k (differences of the
    model's cumulative conditional expectation).

    Returns
    -------
    pandas.Series
        Discounted purchases per customer, named ``discounted_purchases``.
    """
    return predict_purchases(fit, summary, horizon, annual_discount_rate=annual_discount_rate, step=step)["discounted_purchases"]

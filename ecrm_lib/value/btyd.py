"""Purchase models ("buy 'til you die"): fits and per-customer predictions.

Models, all fitted by maximum likelihood on the suite's own likelihoods
(:mod:`ecrm_lib.value.likelihoods`, scipy; ``lifetimes``' public fitters give the
same estimates and serve as the tests' reference):

- ``"bgnbd"``: BG/NBD, Fader, Hardie & Lee (2005a), "Counting Your Customers
  the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science*
  24(2), 275-284;
- ``"pareto"``: Pareto/NBD, Schmittlein, Morrison & Colombo (1987),
  *Management Science* 33(1), 1-24 (optimised on log parameters with a
  convergence check, and a likelihood that stays finite for very frequent buyers);
- ``"mbgnbd"``: MBG/NBD, Batislam, Denizel & Filiztekin (2007), *International
  Journal of Research in Marketing* 24(3), 201-209.

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

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.value.features import TIME_UNITS, compress_histories
from ecrm_lib.value.fitting import (
    DEFAULT_FALLBACKS,
    DEFAULT_TIME_LIMIT,
    DEFAULT_TOL,
    ConvergenceError,
    NonFiniteParams,
    attempt_plan,
    format_params,
    log_parameter_covariance,
    numerical_hessian,
    params_table,
    run_attempts,
)
from ecrm_lib.value.likelihoods import (
    bgnbd_loglik,
    gradient_hessian,
    mbgnbd_loglik,
    minimise_bfgs,
    pareto_loglik_function,
    penalised_objective,
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
    "estimate",
    "expected_purchases",
    "fit_btyd",
    "fit_btyd_histories",
    "history_arrays",
    "initial_params",
    "log_likelihood",
    "predict_purchases",
    "probability_alive",
    "sample_customers",
    "standard_errors",
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
    hessian : numpy.ndarray or None
        Hessian of the mean penalised negative log-likelihood per customer in the
        log parameters (the same in any time unit), at the estimates; None when not finite.
    params : pandas.Series
        Parameters (``alpha`` and ``beta`` per time unit of the summary), all finite.
    standard_errors : pandas.Series
        From ``hessian`` (delta method on log parameters: params * sqrt(diag(inv(H)) / n));
        NaN when the Hessian is not positive definite.
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
    hessian: np.ndarray | None
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
        return log_parameter_covariance(self.hessian, self.n_customers)

    def to_lifetimes(self):
        """The estimates as a ``lifetimes`` fitter (its public ``params_`` set), for its prediction and plotting functions."""
        import lifetimes

        cls = {"bgnbd": lifetimes.BetaGeoFitter, "pareto": lifetimes.ParetoNBDFitter,
               "mbgnbd": lifetimes.ModifiedBetaGeoFitter}[self.model]
        fitter = cls(penalizer_coef=self.penalizer_coef)
        fitter.params_ = self.params.copy()
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # what its fit() sets
        return fitter


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


# =========================================================================== likelihoods and optimizer


def _loglik_with_gradient(model: str):
    return {"bgnbd": bgnbd_loglik, "mbgnbd": mbgnbd_loglik}[model]


def initial_params(model: str, start: str, warm: pd.Series | None, scale: float) -> np.ndarray:
    """Starting point in the optimizer's space: log parameters, time scaled by ``scale`` (1 / max T; spend 1 / median).

    "default": all log parameters 0.1 (``lifetimes``' start), Pareto/NBD all parameters 1;
    "alternative": all parameters 1, Pareto/NBD 0.5; "warm": ``warm`` moved to the scaled unit.
    """
    k = len(PARAMETER_NAMES[model])
    if start == "warm" and warm is not None:
        p = warm.to_numpy(dtype=float).copy()
        if model == "gamma_gamma":
            p[2] = p[2] * scale  # gamma in scaled currency
        else:
            p[1] = p[1] * scale  # alpha per scaled time
            if model == "pareto":
                p[3] = p[3] * scale
        return np.log(p)
    if start == "alternative":
        return np.full(k, np.log(0.5)) if model == "pareto" else np.zeros(k)
    return np.zeros(k) if model == "pareto" else np.full(k, 0.1)


def _scaled_params(model: str, params, c: float) -> np.ndarray:
    """Parameters for time multiplied by ``c``: the rates alpha (and Pareto/NBD's beta) multiplied by ``c``."""
    p = np.asarray(params, dtype=float).copy()
    p[1] = p[1] * c
    if model == "pareto":
        p[3] = p[3] * c
    return p


def _fit_pareto(f, rs, Ts, w, *, penalizer_coef, tol, x0, hess_inv0=None, deadline=None, maxiter=2000):
    """Pareto/NBD on scaled histories: log parameters and the Hessian of the mean objective (or None).

    lifetimes 0.11.3 runs Nelder-Mead on the raw parameters from a random start and
    returns whatever it reached (even after ``maxiter``); measured on the default data
    that lands on a worse optimum (log-likelihood 13.6 lower, s = 113, beta = 10,896
    weeks) in 46 s. Here: L-BFGS-B on log parameters (numerical gradient;
    ftol = tol * 1e-5, the objective is flat along beta) from ``x0``, then Nelder-Mead
    from there if L-BFGS-B did not report convergence; a ConvergenceError if neither
    did. With ``hess_inv0`` (a warm start with a known curvature) BFGS runs first.
    The objective is lifetimes' ``-sum(w * ll) / mean(w) + penalizer * sum(params ** 2)``.
    """
    loglik = pareto_loglik_function(f, rs, Ts, pareto_log_integral)
    mean_w = float(np.mean(w))

    def nll(params):
        if np.any(params <= 0.0):
            return np.inf
        return -(w * loglik(params)).sum() / mean_w + penalizer_coef * float(np.sum(params ** 2))

    def objective(log_params):
        if deadline is not None and time.monotonic() > deadline:
            raise ConvergenceError("Pareto/NBD: the time limit of the fit was reached before the optimizer converged")
        value = nll(np.exp(log_params))
        return value if np.isfinite(value) else np.inf

    out = None
    if hess_inv0 is not None:
        f0 = objective(x0)
        out = minimize(objective, x0=x0, method="BFGS",
                       options={"maxiter": maxiter, "gtol": tol * max(1.0, abs(f0)), "hess_inv0": hess_inv0})
    if out is None or not (out.success and np.isfinite(out.fun)):
        start = out.x if out is not None and np.isfinite(out.fun) else x0
        out = minimize(objective, x0=start, method="L-BFGS-B", options={"maxiter": maxiter, "ftol": tol * 1e-5, "gtol": tol})
    if not (out.success and np.isfinite(out.fun)):
        out = minimize(objective, x0=out.x if np.isfinite(out.fun) else x0, method="Nelder-Mead", tol=tol,
                       options={"maxiter": maxiter})
    if not out.success or not np.isfinite(out.fun):
        raise ConvergenceError(f"Pareto/NBD: the optimizer stopped without converging ({out.message})")
    H = numerical_hessian(lambda lp: nll(np.exp(lp)) * mean_w / np.sum(w), out.x)
    return out.x, (H if np.isfinite(H).all() else None)


def estimate(model: str, f, r, T, w, *, penalizer_coef: float, tol: float, x0, hess_inv0=None,
             deadline: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Maximum-likelihood parameters of a purchase model (in the histories' unit) and the Hessian.

    Time is scaled by c = 1 / max T for the optimizer (as ``lifetimes`` does); ``x0`` and the
    penalty are in that scaled space. The Hessian is that of the mean penalised objective per
    customer in the log parameters (the same in any time unit), None when not finite.

    Raises
    ------
    ConvergenceError
        The optimizer did not report convergence.
    """
    c = 1.0 / float(np.max(T))
    rs, Ts = np.asarray(r, dtype=float) * c, np.asarray(T, dtype=float) * c
    if model == "pareto":
        log_p, H = _fit_pareto(f, rs, Ts, np.asarray(w, dtype=float), penalizer_coef=penalizer_coef, tol=tol,
                               x0=x0, hess_inv0=hess_inv0, deadline=deadline)
    else:
        objective = penalised_objective(_loglik_with_gradient(model), (f, rs, Ts), w, penalizer_coef)
        out = minimise_bfgs(objective, x0, tol=tol, hess_inv0=hess_inv0)
        if not out.success:
            raise ConvergenceError(f"{MODEL_LABELS[model]}: the optimizer stopped without converging ({out.message}). "
                                   "Try a larger penalizer_coef.")
        log_p = out.x
        H = gradient_hessian(objective, log_p)
        H = H if np.isfinite(H).all() else None
    return _scaled_params(model, np.exp(log_p), 1.0 / c), H


def log_likelihood(model: str, params, f, r, T, w) -> float:
    """Unpenalised log-likelihood of weighted histories at ``params``, with time in the histories' unit."""
    p = np.asarray(params, dtype=float)
    with np.errstate(all="ignore"):
        if model == "pareto":
            ll = pareto_loglik_function(f, r, T, pareto_log_integral)(p)
        else:
            ll = _loglik_with_gradient(model)(np.log(p), f, r, T)
    return float(np.sum(np.asarray(w, dtype=float) * ll))


def standard_errors(params: pd.Series, hessian: np.ndarray | None, n_customers: float) -> pd.Series:
    """Delta-method standard errors: params * sqrt(diag(inv(H)) / n) (NaN when the Hessian is unusable)."""
    cov = log_parameter_covariance(hessian, n_customers)
    if cov is None:
        return pd.Series(np.nan, index=params.index)
    return params * np.sqrt(np.clip(np.diag(cov), 0, None))


# =========================================================================== fit


def fit_btyd_histories(model: str, f, r, T, w, *, penalizer_coef: float = 0.0, tol: float = DEFAULT_TOL,
                       fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS, warm: pd.Series | None = None,
                       hess_inv0=None, compressed: bool = True, time_unit: str = "W",
                       time_limit: float | None = DEFAULT_TIME_LIMIT) -> FitResult:
    """:func:`fit_btyd` on arrays of histories (``f``, ``r``, ``T``) with weights ``w`` (customers per history)."""
    scale = 1.0 / float(np.max(T))
    names = list(PARAMETER_NAMES[model])
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)

    def run_one(step):
        x0 = initial_params(model, step["start"], warm, scale)
        values, hessian = estimate(model, f, r, T, w, penalizer_coef=step["penalizer_coef"], tol=step["tol"], x0=x0,
                                   hess_inv0=hess_inv0 if step["start"] == "warm" else None, deadline=deadline)
        params = pd.Series(values, index=names, dtype=float)
        if not np.isfinite(params.to_numpy()).all() or (params.to_numpy() <= 0).any():
            raise NonFiniteParams(f"the optimizer returned NaN, infinite or non-positive parameters ({format_params(params)})")
        ll = log_likelihood(model, params.to_numpy(), f, r, T, w)
        if not np.isfinite(ll):
            raise NonFiniteParams(f"the log-likelihood at the estimates is not finite ({ll})")
        return hessian, params, ll

    plan = attempt_plan(penalizer_coef, tol, fallbacks, "warm" if warm is not None else "default")
    (hessian, params, ll), attempts = run_attempts(MODEL_LABELS[model], plan, run_one, deadline)
    used = attempts[attempts["used"]].iloc[0]
    se = standard_errors(params, hessian, float(np.sum(w)))
    return FitResult(
        model=model, hessian=hessian, params=params, standard_errors=se, log_likelihood=ll,
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

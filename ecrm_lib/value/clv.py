"""Customer lifetime value: BTYD models, predictions, holdout validation and value concentration.

Models (all fitted by maximum likelihood through ``lifetimes`` 0.11.3):

- ``"bgnbd"``: BG/NBD, Fader, Hardie & Lee (2005a), "Counting Your Customers
  the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science*
  24(2), 275-284 (``lifetimes.BetaGeoFitter``);
- ``"pareto"``: Pareto/NBD, Schmittlein, Morrison & Colombo (1987),
  *Management Science* 33(1), 1-24 (``lifetimes.ParetoNBDFitter``, with a
  convergence check lifetimes does not make);
- ``"mbgnbd"``: MBG/NBD, Batislam, Denizel & Filiztekin (2007), *International
  Journal of Research in Marketing* 24(3), 201-209 (``lifetimes.ModifiedBetaGeoFitter``);
- Gamma-Gamma spend per purchase, Fader, Hardie & Lee (2005b), "RFM and CLV:
  Using Iso-Value Curves for Customer Base Analysis", *Journal of Marketing
  Research* 42(4), 415-430, and Fader & Hardie (2013), "The Gamma-Gamma Model
  of Monetary Value", brucehardie.com note 025 (``lifetimes.GammaGammaFitter``).

Units
-----
Time is in the unit of the per-customer summary (``time_unit`` of
:func:`ecrm_lib.value.features.rfm_summary`: weeks by default): ``recency``, ``T``,
horizons and the BG/NBD ``alpha`` (a rate parameter per time unit) are in that
unit. Money (``monetary_value``, spend, CLV, the Gamma-Gamma ``gamma``) is in the
config currency. ``margin`` is a share (0-1) of spend; discount rates are annual
shares (0.1 = 10 % a year).

Speed
-----
BG/NBD-type likelihoods depend on a customer only through (frequency, recency,
T); fits and predictions run on the distinct histories
(:func:`ecrm_lib.value.features.compress_histories`) with ``weights=`` and expand back,
so their cost grows with the number of distinct histories, not of customers.

Published results
-----------------
:data:`PUBLISHED_CDNOW` lists the published CDNOW estimates and
:func:`cdnow_reproduction` re-derives them from the raw ``CDNOW_sample.txt``
shipped with ``lifetimes`` (calibration to 1997-09-30, weeks):

- BG/NBD r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4 and Pareto/NBD
  r=0.553, alpha=10.578, s=0.606, beta=11.669, LL=-9595.0: Fader, Hardie & Lee
  (2005a), section 4 (the same values are the "as reported" checks of the R
  package CLVTools, ``tests/testthat/test_correctness_bgnbd.R`` and
  ``test_correctness_pnbd_nocovstaticcov.R``);
- Gamma-Gamma p=6.25, q=3.74, gamma=15.44 on the 946 repeat buyers: Fader &
  Hardie (2013) (also CLVTools ``test_correctness_gg.R``, LL -4055.9177);
- MBG/NBD: no published CDNOW estimate is used; the reference is ``lifetimes``
  itself on its shipped ``cdnow_customers_summary.csv``.

Examples
--------
>>> import pandas as pd
>>> from ecrm_lib.value.clv import fit_btyd, value_concentration
>>> from ecrm_lib.core.paths import lifetimes_datasets_dir
>>> s = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")
>>> fit = fit_btyd(s, "bgnbd")
>>> fit.params.round(3).to_dict()
{'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
>>> round(fit.log_likelihood, 1), fit.n_customers, fit.n_unique_rows
(-9582.4, 2357, 1016)
>>> value_concentration(pd.Series([50.0, 30, 10, 5, 5]), shares=(0.2,))["value_share"].tolist()
[0.5]
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import io
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import DataValidationError, EcrmError
from ecrm_lib.value.features import (
    EXCLUDED_NEW_CUSTOMERS,
    TIME_UNITS,
    calibration_holdout,
    compress_histories,
    rfm_summary,
)

__all__ = [
    "MODELS",
    "MODEL_LABELS",
    "TIME_UNIT_NAMES",
    "METRICS",
    "PARAMETER_NAMES",
    "DEFAULT_FALLBACKS",
    "DEFAULT_TIME_LIMIT",
    "PUBLISHED_CDNOW",
    "ModelFitError",
    "GammaGammaError",
    "FitResult",
    "GammaGammaResult",
    "HoldoutValidation",
    "CLVInterval",
    "CustomerValueAnalysis",
    "fit_btyd",
    "fit_gamma_gamma",
    "expected_spend",
    "probability_alive",
    "expected_purchases",
    "discount_schedule",
    "discounted_expected_purchases",
    "customer_value",
    "clv_interval",
    "holdout_validation",
    "purchase_days",
    "holdout_tracking",
    "value_concentration",
    "lorenz_curve",
    "gini",
    "truth_comparison",
    "cdnow_transactions",
    "cdnow_reproduction",
    "analyse_customer_value",
    "describe_customer_keys",
]

#: Model keys accepted by :func:`fit_btyd`.
MODELS: tuple[str, ...] = ("bgnbd", "pareto", "mbgnbd")

#: Display names of the models.
MODEL_LABELS: dict[str, str] = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD", "gamma_gamma": "Gamma-Gamma"}

#: Names of the time units of :data:`ecrm_lib.value.features.TIME_UNITS`.
TIME_UNIT_NAMES: dict[str, str] = {"W": "weeks", "D": "days", "M": "months"}

#: Headline metrics of the customer-value report: key -> (description, unit);
#: unit "currency" stands for the config's currency.
METRICS: dict[str, tuple[str, str | None]] = {
    "n_customers": ("customers with a purchase up to the as-of date", "customers"),
    "n_repeat_customers": ("customers with at least one repeat purchase day", "customers"),
    "best_model": ("purchase model with the lowest holdout error, used for predictions", None),
    "holdout_error_total_pct": ("error of the best model's total holdout repeat purchases, 100 * (predicted - actual) / actual", "%"),
    "holdout_mae": ("mean absolute error of the best model's holdout repeat purchases per customer", "purchases"),
    "total_clv": ("predicted discounted margin of all customers over the horizon", "currency"),
    "total_clv_low": ("lower end of the bootstrap interval of total_clv", "currency"),
    "total_clv_high": ("upper end of the bootstrap interval of total_clv", "currency"),
    "top20_value_share": ("share of total predicted value held by the top 20 % of customers", "share"),
    "mean_p_alive": ("mean probability that a customer is still active", "share"),
    "gg_spend_frequency_corr": ("Pearson correlation of frequency and mean repeat spend (Gamma-Gamma check)", None),
    "bgnbd_r": ("BG/NBD r (shape of purchase rates), fitted on all data", None),
    "bgnbd_alpha": ("BG/NBD alpha (scale of purchase rates), fitted on all data", "time unit"),
    "bgnbd_a": ("BG/NBD a (drop-out beta distribution), fitted on all data", None),
    "bgnbd_b": ("BG/NBD b (drop-out beta distribution), fitted on all data", None),
}

#: Parameter names per model, in ``lifetimes``' order.
PARAMETER_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gamma_gamma": ("p", "q", "gamma"),
}

#: What :func:`fit_btyd` and :func:`fit_gamma_gamma` try, in order, after the
#: requested settings fail (a ``ConvergenceError``, a numerical error, or NaN or
#: infinite parameters). Each entry overrides the requested settings: ``start``
#: ("alternative": another starting point, all parameters 1 in lifetimes'
#: scaled units, 0.5 for Pareto/NBD), ``penalizer_coef`` (an L2 penalty on the
#: parameters; never lower than the requested one) and ``tol`` (optimizer
#: tolerance). A penalizer biases the estimates towards 0: the notebook shows
#: which attempt was used.
DEFAULT_FALLBACKS: tuple[dict[str, Any], ...] = (
    {"start": "alternative"},
    {"penalizer_coef": 0.001},
    {"penalizer_coef": 0.01},
    {"penalizer_coef": 0.01, "tol": 1e-5},
)

_DEFAULT_TOL = 1e-7
#: Default wall-clock budget of one model fit, all attempts together (seconds). The Pareto/NBD
#: likelihood of lifetimes (hypergeometric functions) can take 0.2 s per evaluation where its
#: drop-out parameters run off to the no-drop-out limit (measured on Online Retail II), and
#: such a fit would otherwise run for minutes before failing.
DEFAULT_TIME_LIMIT = 120.0
_DAYS_PER_YEAR = 365.25
_FIT_ERRORS_EXTRA = (FloatingPointError, OverflowError, ZeroDivisionError, np.linalg.LinAlgError, ValueError)

#: Published CDNOW estimates (weeks; calibration 1997-01-01 to 1997-09-30, 2,357
#: customers). ``decimals``: digits printed in the source, the precision a
#: reproduction is held to (half a unit of the last printed digit).
PUBLISHED_CDNOW = pd.DataFrame(
    [
        ("bgnbd", "r", 0.243, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("bgnbd", "alpha", 4.414, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("bgnbd", "a", 0.793, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("bgnbd", "b", 2.426, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("bgnbd", "log_likelihood", -9582.4, 1, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("pareto", "r", 0.553, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("pareto", "alpha", 10.578, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("pareto", "s", 0.606, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("pareto", "beta", 11.669, 3, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("pareto", "log_likelihood", -9595.0, 1, "Fader, Hardie & Lee (2005a), Marketing Science 24(2)"),
        ("gamma_gamma", "p", 6.25, 2, "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value"),
        ("gamma_gamma", "q", 3.74, 2, "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value"),
        ("gamma_gamma", "gamma", 15.44, 2, "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value"),
    ],
    columns=["model", "parameter", "published", "decimals", "source"],
)

_CDNOW_CAL_END = "1997-09-30"
_CDNOW_OBS_END = "1998-06-30"


# =========================================================================== errors


class ModelFitError(EcrmError, RuntimeError):
    """Every attempt of a model fit failed (the message lists each attempt and why).

    Attributes
    ----------
    attempts : pandas.DataFrame
        One row per attempt (see :attr:`FitResult.attempts`).
    """

    def __init__(self, message: str, attempts: pd.DataFrame | None = None):
        super().__init__(message)
        self.attempts = attempts


class GammaGammaError(EcrmError, ValueError):
    """The Gamma-Gamma spend model cannot be used on these data (too few repeat buyers, or q <= 1)."""


# =========================================================================== results


def _params_table(model: str, params: pd.Series, standard_errors: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "parameter": list(params.index),
            "value": params.to_numpy(float),
            "std_error": standard_errors.reindex(params.index).to_numpy(float),
        }
    )


@dataclass
class FitResult:
    """A fitted BTYD model (BG/NBD, Pareto/NBD or MBG/NBD).

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
        return _params_table(self.model, self.params, self.standard_errors)


@dataclass
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model and its checks.

    Attributes
    ----------
    fitter : lifetimes.GammaGammaFitter
        Fitted object; its ``params_`` (``p``, ``q``, ``v``) are in the currency.
    params : pandas.Series
        ``p``, ``q``, ``gamma`` (``gamma`` in the currency; lifetimes calls it ``v``).
    standard_errors : pandas.Series
        From the Hessian (delta method).
    log_likelihood : float
        Unpenalised log-likelihood of the mean repeat spend of the customers used.
    n_customers : int
        Customers in the summary.
    n_used : int
        Repeat buyers with a positive mean repeat spend (the fitted ones).
    n_one_time : int
        Customers left out because they have no repeat purchase (frequency 0).
    n_nonpositive_spend : int
        Repeat buyers left out because their mean repeat spend is 0 or negative.
    spend_frequency_corr : float
        Pearson correlation between frequency and mean repeat spend of the
        customers used. The model assumes spend per purchase is independent of
        the number of purchases.
    corr_material : bool
        ``abs(spend_frequency_corr) >= corr_threshold``: the independence
        assumption is doubtful and CLV may be biased.
    corr_threshold : float
        Threshold for ``corr_material``.
    population_mean_spend : float
        Expected spend per purchase of a new customer, p * gamma / (q - 1) (currency).
    penalizer_coef : float
        Penalizer of the attempt used.
    attempts : pandas.DataFrame
        As in :class:`FitResult`.
    """

    fitter: Any
    params: pd.Series
    standard_errors: pd.Series
    log_likelihood: float
    n_customers: int
    n_used: int
    n_one_time: int
    n_nonpositive_spend: int
    spend_frequency_corr: float
    corr_material: bool
    corr_threshold: float
    population_mean_spend: float
    penalizer_coef: float
    attempts: pd.DataFrame

    def checks_table(self) -> pd.DataFrame:
        """The model's checks as a two-column table (``check``, ``value``) for display."""
        rows = [
            ("customers", f"{self.n_customers:,}"),
            ("repeat buyers with positive spend (used)", f"{self.n_used:,}"),
            ("left out: no repeat purchase", f"{self.n_one_time:,}"),
            ("left out: repeat spend zero or negative", f"{self.n_nonpositive_spend:,}"),
            ("correlation of frequency and mean spend (Pearson)", f"{self.spend_frequency_corr:.3f}"),
            (f"correlation material (|r| >= {self.corr_threshold:g})", "yes" if self.corr_material else "no"),
            ("q > 1 (mean spend finite)", "yes" if self.params["q"] > 1 else "no"),
        ]
        return pd.DataFrame(rows, columns=["check", "value"]).astype({"value": "string"})

    def params_table(self) -> pd.DataFrame:
        """Tidy parameters: ``model``, ``parameter``, ``value``, ``std_error``."""
        return _params_table("gamma_gamma", self.params, self.standard_errors)


@dataclass
class HoldoutValidation:
    """Models fitted on a calibration period and judged on the holdout period after it.

    Attributes
    ----------
    fits : dict
        Model key -> :class:`FitResult` fitted on the calibration period (models
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
        (calibration), ``message``.
    best_model : str
        Fitted model with the lowest MAE (``selection`` says so).
    selection : str
        How ``best_model`` was chosen.
    duration : float
        Length of the holdout period (time units).
    failed_attempts : dict
        Model key -> attempts table of the models that could not be used.
    """

    fits: dict
    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    errors: pd.DataFrame
    best_model: str
    selection: str
    duration: float
    failed_attempts: dict = field(default_factory=dict)


@dataclass
class CLVInterval:
    """Bootstrap interval of CLV per customer and of the total.

    What it covers: the uncertainty of the *expected* CLV that comes from
    estimating the model parameters on a finite customer base (customers
    resampled with replacement, both models refitted). It does not cover the
    randomness of a customer's actual future purchases and spend (which is far
    larger for one customer), nor errors of the models' assumptions (e.g. the
    about 12 % under-prediction of BG/NBD on the CDNOW holdout).

    Attributes
    ----------
    per_customer : pandas.DataFrame
        Indexed like the summary: ``clv_low``, ``clv_high`` (currency).
    total : pandas.Series
        ``point``, ``low``, ``high`` (currency): total CLV of all customers.
    level : float
        Coverage of the percentile interval (e.g. 0.9 for the 5th-95th percentiles).
    n_boot : int
        Replicates requested.
    n_ok, n_failed : int
        Replicates whose refits succeeded / failed (failed ones are left out).
    replicates : pandas.DataFrame
        Per successful replicate: its BTYD and Gamma-Gamma parameters and ``total`` CLV.
    """

    per_customer: pd.DataFrame
    total: pd.Series
    level: float
    n_boot: int
    n_ok: int
    n_failed: int
    replicates: pd.DataFrame
    description: str = (
        "uncertainty of the expected value from estimating the parameters (customers resampled and both models "
        "refitted); not the randomness of what one customer will actually buy, nor errors of the models' assumptions"
    )


# =========================================================================== checks


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, but {model!r} was passed.")
    return model


def _check_time_unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, but {time_unit!r} was passed.")
    return TIME_UNITS[time_unit]


def _history_arrays(summary: pd.DataFrame, cols: Sequence[str] = ("frequency", "recency", "T")):
    """Validated (frequency, recency, T) arrays of a summary."""
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


def _numerical_hessian(fun, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``fun`` at ``x`` (symmetric)."""
    k = len(x)
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            H[i, j] = H[j, i] = (fun(x + E[i] + E[j]) - fun(x + E[i] - E[j]) - fun(x - E[i] + E[j])
                                 + fun(x - E[i] - E[j])) / (4 * h * h)
    return H


def _spd_inverse(H) -> np.ndarray | None:
    """Symmetric inverse of H when H is symmetric positive definite, else None."""
    if H is None:
        return None
    try:
        H = np.asarray(H, dtype=float)
        Hs = (H + H.T) / 2
        np.linalg.cholesky(Hs)
        inv = np.linalg.inv(Hs)
        inv = (inv + inv.T) / 2
        np.linalg.cholesky(inv)
        return inv
    except (np.linalg.LinAlgError, ValueError):
        return None


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
        CLVTools' r 0.0476, alpha 0.843, s 0.187, beta 6.21).
        """

        def fit(self, frequency, recency, T, weights=None, *args, **kwargs):
            super().fit(frequency, recency, T, weights, *args, **kwargs)
            f = np.asarray(self.data["frequency"])
            w = np.asarray(self.data["weights"], dtype=float)
            rs, Ts = np.asarray(self.data["recency"]) * self._scale, np.asarray(self.data["T"]) * self._scale
            p = self.params_.to_numpy(dtype=float).copy()
            p[1] *= self._scale
            p[3] *= self._scale
            pen = self.penalizer_coef

            def mean_nll(log_params):
                return self._negative_log_likelihood(np.exp(log_params), f, rs, Ts, w, pen) * np.mean(w) / np.sum(w)

            with np.errstate(all="ignore"):
                H = _numerical_hessian(mean_nll, np.log(p))
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

            def objective(log_params, *args):
                if deadline is not None and time.monotonic() > deadline:
                    raise ConvergenceError("Pareto/NBD: the time limit of the fit was reached before the optimizer converged")
                value = self._negative_log_likelihood(np.exp(log_params), *args)
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


def _fitter_class(model: str):
    if model == "pareto":
        return _pareto_class()
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter

    return {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "gamma_gamma": GammaGammaFitter}[model]


def _convergence_error():
    from lifetimes.utils import ConvergenceError

    return ConvergenceError


def _initial_params(model: str, start: str, warm: pd.Series | None, scale: float):
    """Starting point in the optimizer's space (lifetimes scales time by 1 / max T)."""
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


def _attempt_plan(penalizer_coef: float, tol: float, fallbacks, start: str) -> list[dict[str, Any]]:
    plan = [{"start": start, "penalizer_coef": float(penalizer_coef), "tol": float(tol)}]
    for fb in fallbacks or ():
        unknown = set(fb) - {"start", "penalizer_coef", "tol"}
        if unknown:
            raise ValueError(f"fallback {fb!r} has unknown key(s) {sorted(unknown)}; use start, penalizer_coef and tol.")
        step = {
            "start": fb.get("start", start),
            "penalizer_coef": max(float(penalizer_coef), float(fb.get("penalizer_coef", penalizer_coef))),
            "tol": float(fb.get("tol", tol)),
        }
        if step not in plan:
            plan.append(step)
    return plan


@contextlib.contextmanager
def _quiet():
    """Silence lifetimes' prints (it prints the optimizer output on failure) and numerical warnings."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def _btyd_log_likelihood(model: str, params: np.ndarray, f, r, T, w) -> float:
    """Unpenalised log-likelihood with time in the data's unit.

    Evaluated where the optimizer worked, in lifetimes' scaled time (t * c with
    c = 1 / max T, rates alpha / c), then moved to the data's unit: each of a
    customer's x repeat purchase times is a density in time, so
    LL(unit) = LL(scaled) + sum(w * x) * log(c).
    """
    cls = _fitter_class(model)
    c = 1.0 / float(np.max(T))
    p = np.asarray(params, dtype=float).copy()
    p[1] = p[1] * c
    if model == "pareto":
        p[3] = p[3] * c
    with _quiet():
        if model == "pareto":  # lifetimes' Pareto/NBD objective is -sum(w * ll) / mean(w), on raw parameters
            scaled = -cls._negative_log_likelihood(p, f, r * c, T * c, w, 0.0) * np.mean(w)
        else:  # BG/NBD and MBG/NBD: -sum(w * ll) / sum(w), on log parameters
            scaled = -cls._negative_log_likelihood(np.log(p), f, r * c, T * c, w, 0.0) * np.sum(w)
    return float(scaled + np.sum(w * f) * math.log(c))


def _run_attempts(kind: str, plan, run_one, deadline: float | None = None) -> tuple[Any, pd.DataFrame]:
    """Run ``run_one(step)`` for each step until one succeeds; return (its result, the attempts table).

    ``deadline`` (``time.monotonic()`` seconds): no new attempt starts after it.
    """
    conv_error = _convergence_error()
    rows, result = [], None
    for i, step in enumerate(plan, start=1):
        if deadline is not None and time.monotonic() > deadline:
            rows.append({"attempt": i, **step, "status": "skipped", "message": "time limit of the fit reached",
                         "seconds": 0.0, "used": False})
            break
        t0 = time.perf_counter()
        try:
            with _quiet():
                out = run_one(step)
            status, message = "ok", ""
        except (conv_error, *_FIT_ERRORS_EXTRA) as exc:
            out, status = None, "failed"
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
        rows.append({"attempt": i, **step, "status": status, "message": message,
                     "seconds": time.perf_counter() - t0, "used": status == "ok"})
        if status == "ok":
            result = out
            break
    attempts = pd.DataFrame(rows, columns=["attempt", "start", "penalizer_coef", "tol", "status", "message", "seconds", "used"])
    if result is None:
        lines = "; ".join(f"attempt {r['attempt']} (start {r['start']}, penalizer {r['penalizer_coef']:g}, tol {r['tol']:g}): "
                          f"{r['message']}" for r in rows)
        lines = lines if len(lines) < 1500 else lines[:1500] + " ..."
        raise ModelFitError(
            f"{kind} could not be fitted: every attempt failed ({lines}). Check the data (very large frequencies, "
            "almost no repeat buyers, a calibration period too short) or pass a larger penalizer_coef.",
            attempts,
        )
    return result, attempts


class _NonFiniteParams(ValueError):
    pass


def _fit_btyd_arrays(model, f, r, T, w, *, penalizer_coef=0.0, tol=_DEFAULT_TOL, fallbacks=DEFAULT_FALLBACKS,
                     warm: pd.Series | None = None, hess_inv0=None, compressed=True, time_unit="W",
                     time_limit: float | None = DEFAULT_TIME_LIMIT) -> FitResult:
    cls = _fitter_class(model)
    scale = 1.0 / float(np.max(T))
    names = PARAMETER_NAMES[model]
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)

    def run_one(step):
        fitter = cls(penalizer_coef=step["penalizer_coef"])
        fitter._deadline = deadline  # read by the Pareto/NBD optimizer; the others are fast
        init = _initial_params(model, step["start"], warm, scale)
        extra = {"hess_inv0": hess_inv0} if step["start"] == "warm" and hess_inv0 is not None else {}
        fitter.fit(f, r, T, weights=w, initial_params=init, tol=step["tol"], **extra)
        params = fitter.params_.reindex(list(names)).astype(float)
        if not np.isfinite(params.to_numpy()).all() or (params.to_numpy() <= 0).any():
            raise _NonFiniteParams(f"the optimizer returned NaN, infinite or non-positive parameters ({_fmt_params(params)})")
        ll = _btyd_log_likelihood(model, params.to_numpy(), f, r, T, w)
        if not np.isfinite(ll):
            raise _NonFiniteParams(f"the log-likelihood at the estimates is not finite ({ll})")
        return fitter, params, ll

    plan = _attempt_plan(penalizer_coef, tol, fallbacks, "warm" if warm is not None else "default")
    (fitter, params, ll), attempts = _run_attempts(MODEL_LABELS[model], plan, run_one, deadline)
    used = attempts[attempts["used"]].iloc[0]
    se = getattr(fitter, "standard_errors_", None)
    se = se.reindex(list(names)).astype(float) if se is not None else pd.Series(np.nan, index=list(names))
    return FitResult(
        model=model, fitter=fitter, params=params, standard_errors=se, log_likelihood=ll,
        n_customers=int(np.sum(w)), n_unique_rows=len(f), compressed=compressed,
        penalizer_coef=float(used["penalizer_coef"]), tol=float(used["tol"]), attempts=attempts, time_unit=time_unit,
    )


# =========================================================================== BTYD fit and predictions


def fit_btyd(
    summary: pd.DataFrame,
    model: str = "bgnbd",
    *,
    compress: bool = True,
    penalizer_coef: float = 0.0,
    tol: float = _DEFAULT_TOL,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    initial_params: pd.Series | None = None,
    time_unit: str = "W",
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    cols: Sequence[str] = ("frequency", "recency", "T"),
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
        :data:`DEFAULT_FALLBACKS`. None or () for no retry.
    initial_params : pandas.Series, optional
        Start from these parameters (e.g. an earlier fit's ``params``).
    time_unit : str
        Unit of ``recency`` and ``T`` ("W", "D" or "M"), recorded in the result.
    time_limit : float, optional
        Seconds for all attempts together (default :data:`DEFAULT_TIME_LIMIT`):
        no attempt starts after it, and a Pareto/NBD optimizer stops at it
        (that attempt fails). None: no limit.
    cols : sequence of str
        Names of the frequency, recency and T columns.

    Returns
    -------
    FitResult
        Parameters are always finite and positive.

    Raises
    ------
    DataValidationError
        Missing columns or values, or an impossible history (recency > T, ...).
    ModelFitError
        Every attempt failed (ConvergenceError, numerical error, or NaN/infinite
        parameters); its message and ``attempts`` say what each attempt did.
    """
    _check_model(model)
    _check_time_unit(time_unit)
    f, r, T = _history_arrays(summary, cols)
    if compress:
        unique, _ = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
        f, r, T = unique["frequency"].to_numpy(np.int64), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
        w = unique["weight"].to_numpy(np.int64)
    else:
        w = np.ones(len(f), dtype=np.int64)
    return _fit_btyd_arrays(model, f, r, T, w, penalizer_coef=penalizer_coef, tol=tol, fallbacks=fallbacks,
                            warm=initial_params, compressed=compress, time_unit=time_unit, time_limit=time_limit)


def _per_history(summary: pd.DataFrame, func, cols=("frequency", "recency", "T")) -> np.ndarray:
    """Evaluate ``func(f, r, T)`` on the distinct histories of ``summary`` and expand to customers."""
    f, r, T = _history_arrays(summary, cols) if len(summary) else (np.array([], int), np.array([]), np.array([]))
    if len(f) == 0:
        return np.array([], dtype=float)
    unique, inverse = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
    with _quiet():
        values = np.asarray(func(unique["frequency"].to_numpy(np.int64), unique["recency"].to_numpy(float),
                                 unique["T"].to_numpy(float)), dtype=float)
    return values[inverse]


def probability_alive(fit: FitResult, summary: pd.DataFrame) -> pd.Series:
    """P(alive): probability that each customer is still active at the end of the summary's period.

    Parameters
    ----------
    fit : FitResult
    summary : pandas.DataFrame
        ``frequency``, ``recency``, ``T`` per customer.

    Returns
    -------
    pandas.Series
        Share 0-1, indexed like ``summary``, named ``p_alive``.
    """
    values = _per_history(summary, fit.fitter.conditional_probability_alive)
    return pd.Series(np.clip(values, 0.0, 1.0), index=summary.index, name="p_alive")


def expected_purchases(fit: FitResult, summary: pd.DataFrame, horizon: float) -> pd.Series:
    """Expected repeat purchases of each customer in the next ``horizon`` time units.

    Parameters
    ----------
    fit : FitResult
    summary : pandas.DataFrame
        ``frequency``, ``recency``, ``T`` per customer.
    horizon : float
        Time units ahead (weeks when the summary is in weeks).

    Returns
    -------
    pandas.Series
        Purchases (conditional expectation given each history), named ``expected_purchases``.
    """
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0 time units, but {horizon!r} was passed.")
    values = _per_history(summary, lambda f, r, T: fit.fitter.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, T))
    _check_finite(values, "expected purchases", fit)
    return pd.Series(values, index=summary.index, name="expected_purchases")


def _fmt_params(params: pd.Series) -> str:
    """Parameters with 4 significant digits (long digit runs would read as phone numbers in reports)."""
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def _check_finite(values: np.ndarray, what: str, fit: FitResult) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ModelFitError(
            f"{fit.label} gave {what} that are not finite for {int(bad.sum())} of {len(values)} customer histories "
            f"(parameters {_fmt_params(fit.params)}); usually very large frequencies overflow the formula. "
            "Try another model or a larger penalizer_coef."
        )


# =========================================================================== Gamma-Gamma


def _gg_expected_spend(params: Mapping[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x repeat purchases of mean m] = (p*gamma + p*x*m) / (p*x + q - 1) (Fader & Hardie 2013, eq. 5)."""
    p, q, g = float(params["p"]), float(params["q"]), float(params["gamma"])
    return (p * g + p * x * m) / (p * x + q - 1.0)


def _fit_gg_arrays(x, m, w, *, penalizer_coef=0.0, tol=_DEFAULT_TOL, fallbacks=DEFAULT_FALLBACKS, warm=None):
    """Gamma-Gamma on (x, m, weight) rows; spend is divided by its median for the optimizer, then scaled back."""
    cls = _fitter_class("gamma_gamma")
    c = float(np.median(m))  # currency scale: keeps the optimizer's start values sensible for KRW as for USD

    def run_one(step):
        fitter = cls(penalizer_coef=step["penalizer_coef"])
        init = _initial_params("gamma_gamma", step["start"], warm, 1.0 / c)
        fitter.fit(x, m / c, weights=w, initial_params=init, tol=step["tol"])
        raw = fitter.params_.astype(float)
        if not np.isfinite(raw.to_numpy()).all() or (raw.to_numpy() <= 0).any():
            raise _NonFiniteParams(f"the optimizer returned NaN, infinite or non-positive parameters ({_fmt_params(raw)})")
        # back to the currency: spend/c has rate gamma/c, so gamma = c * gamma'; the Hessian in log space is unchanged
        fitter.params_ = pd.Series({"p": raw["p"], "q": raw["q"], "v": raw["v"] * c})
        fitter.data = fitter.data.assign(monetary_value=fitter.data["monetary_value"] * c)
        fitter.variance_matrix_ = fitter._compute_variance_matrix()
        fitter.standard_errors_ = fitter._compute_standard_errors()
        fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
        params = pd.Series({"p": raw["p"], "q": raw["q"], "gamma": raw["v"] * c})
        nll = cls._negative_log_likelihood(np.log([raw["p"], raw["q"], raw["v"]]), x, m / c, w, 0.0)
        ll = float(-nll * np.sum(w) - np.sum(w) * math.log(c))  # density of m = density of m/c divided by c
        if not np.isfinite(ll):
            raise _NonFiniteParams(f"the log-likelihood at the estimates is not finite ({ll})")
        return fitter, params, ll

    plan = _attempt_plan(penalizer_coef, tol, fallbacks, "warm" if warm is not None else "default")
    return _run_attempts("Gamma-Gamma", plan, run_one)


def fit_gamma_gamma(
    summary: pd.DataFrame,
    *,
    penalizer_coef: float = 0.0,
    tol: float = _DEFAULT_TOL,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    corr_threshold: float = 0.3,
    min_customers: int = 10,
    frequency_col: str = "frequency",
    monetary_col: str = "monetary_value",
) -> GammaGammaResult:
    """Fit the Gamma-Gamma model of spend per purchase on the repeat buyers.

    Only customers with at least one repeat purchase and a positive mean repeat
    spend are fitted (the model is for positive amounts, and the first purchase
    is left out as in Fader & Hardie). Rows sharing (frequency, mean spend)
    are fitted once with weights.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``frequency`` and ``monetary_value`` (mean repeat spend, currency) per customer.
    penalizer_coef, tol, fallbacks
        As for :func:`fit_btyd`.
    corr_threshold : float
        |Pearson r| between frequency and mean spend from which the
        independence assumption is flagged as doubtful (``corr_material``).
        0.3 is a common "moderate correlation" line; Fader & Hardie report
        r = 0.11 on CDNOW and accept it.
    min_customers : int
        Fewest repeat buyers with positive spend needed to fit.
    frequency_col, monetary_col : str
        Column names.

    Returns
    -------
    GammaGammaResult

    Raises
    ------
    GammaGammaError
        Fewer than ``min_customers`` usable repeat buyers, or an estimate
        q <= 1 (the mean spend p * gamma / (q - 1) would be infinite or negative).
    ModelFitError
        Every fit attempt failed.
    DataValidationError
        Missing columns or values.
    """
    for c in (frequency_col, monetary_col):
        if c not in summary.columns:
            raise DataValidationError(f"summary has no column {c!r}; its columns are {list(summary.columns)}.")
    x_all = summary[frequency_col].to_numpy(dtype=float)
    m_all = summary[monetary_col].to_numpy(dtype=float)
    if np.isnan(x_all).any() or np.isnan(m_all).any():
        raise DataValidationError(f"summary[{frequency_col!r}] or summary[{monetary_col!r}] has missing values.")
    repeat = x_all > 0
    used = repeat & (m_all > 0)
    n_used = int(used.sum())
    if n_used < min_customers:
        raise GammaGammaError(
            f"only {n_used} repeat buyers have a positive mean repeat spend (of {len(summary)} customers); the "
            f"Gamma-Gamma model needs at least {min_customers}. A longer period or more customers are needed."
        )
    x, m = x_all[used], m_all[used]
    with np.errstate(all="ignore"):
        corr = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else float("nan")
    rows = pd.DataFrame({"x": x, "m": m}).groupby(["x", "m"], sort=True).size().rename("w").reset_index()
    (fitter, params, ll), attempts = _fit_gg_arrays(
        rows["x"].to_numpy(float), rows["m"].to_numpy(float), rows["w"].to_numpy(np.int64),
        penalizer_coef=penalizer_coef, tol=tol, fallbacks=fallbacks,
    )
    if params["q"] <= 1:
        raise GammaGammaError(
            f"the Gamma-Gamma estimate q = {params['q']:.3f} is not above 1, so the mean spend per purchase "
            "p * gamma / (q - 1) is infinite: spend is too heavy-tailed for this model. Look for extreme amounts "
            "(wholesale orders, data errors) and filter or cap them, or use a flat mean spend."
        )
    se = fitter.standard_errors_.rename({"v": "gamma"}).reindex(["p", "q", "gamma"]).astype(float)
    used_row = attempts[attempts["used"]].iloc[0]
    return GammaGammaResult(
        fitter=fitter, params=params, standard_errors=se, log_likelihood=ll,
        n_customers=len(summary), n_used=n_used, n_one_time=int((~repeat).sum()),
        n_nonpositive_spend=int((repeat & ~(m_all > 0)).sum()),
        spend_frequency_corr=corr, corr_material=bool(np.isfinite(corr) and abs(corr) >= corr_threshold),
        corr_threshold=float(corr_threshold),
        population_mean_spend=float(params["p"] * params["gamma"] / (params["q"] - 1)),
        penalizer_coef=float(used_row["penalizer_coef"]), attempts=attempts,
    )


def expected_spend(gg: GammaGammaResult, summary: pd.DataFrame, *, frequency_col="frequency",
                   monetary_col="monetary_value") -> pd.Series:
    """Expected spend per future purchase of each customer (currency).

    The Gamma-Gamma conditional expectation, a weighted mean of the customer's
    own mean repeat spend and the population mean (Fader & Hardie 2013, eq. 5).
    Customers without a repeat purchase, or whose mean repeat spend is not
    positive, get the population mean p * gamma / (q - 1).

    Returns
    -------
    pandas.Series
        Currency per purchase, named ``expected_spend``.
    """
    x = summary[frequency_col].to_numpy(dtype=float)
    m = summary[monetary_col].to_numpy(dtype=float)
    usable = (x > 0) & (m > 0)
    values = _gg_expected_spend(gg.params, np.where(usable, x, 0.0), np.where(usable, m, 0.0))
    return pd.Series(values, index=summary.index, name="expected_spend")


# =========================================================================== CLV


def discount_schedule(horizon: float, *, annual_discount_rate: float, time_unit: str = "W", step: float = 1.0) -> pd.DataFrame:
    """Periods over the horizon and their discount factors.

    Purchases expected in period k, (t_{k-1}, t_k], are discounted at its end:
    factor_k = (1 + annual_discount_rate) ** (-t_k * days_per_unit / 365.25).

    Parameters
    ----------
    horizon : float
        Time units ahead (> 0).
    annual_discount_rate : float
        Annual rate as a share (0.1 = 10 % a year), >= 0.
    time_unit : {"W", "D", "M"}
        Unit of the horizon and the step (weeks = 7 days, months = 30.4375 days).
    step : float
        Length of one discounting period in time units (the last period is cut at the horizon).

    Returns
    -------
    pandas.DataFrame
        ``t_start``, ``t_end`` (time units), ``factor`` (share).

    Examples
    --------
    >>> discount_schedule(2, annual_discount_rate=0.1, time_unit="W").round(6)
       t_start  t_end    factor
    0      0.0    1.0  0.998175
    1      1.0    2.0  0.996353
    """
    unit_days = _check_time_unit(time_unit)
    if not horizon > 0:
        raise ValueError(f"horizon must be > 0 time units, but {horizon!r} was passed.")
    if not step > 0:
        raise ValueError(f"step must be > 0 time units, but {step!r} was passed.")
    if not annual_discount_rate >= 0:
        raise ValueError(f"annual_discount_rate must be a share >= 0 (0.1 = 10 % a year), but {annual_discount_rate!r} was passed.")
    n = int(math.ceil(horizon / step - 1e-9))
    ends = np.minimum(np.arange(1, n + 1) * step, horizon).astype(float)
    starts = np.concatenate([[0.0], ends[:-1]])
    factor = (1.0 + annual_discount_rate) ** (-ends * unit_days / _DAYS_PER_YEAR)
    return pd.DataFrame({"t_start": starts, "t_end": ends, "factor": factor})


def _history_pairs(f, T):
    """Distinct (x, T) pairs of the histories and, per history, the index of its pair."""
    f = np.asarray(f)
    t_codes, t_values = pd.factorize(np.asarray(T, dtype=float), sort=True)
    key = f.astype(np.int64) * (len(t_values) + 1) + t_codes
    key_codes, keys = pd.factorize(key, sort=True)
    return keys // (len(t_values) + 1), t_values[keys % (len(t_values) + 1)], key_codes


def _discounted_purchases_arrays(fitter, f, r, T, schedule: pd.DataFrame, block: int = 20_000, pairs=None) -> np.ndarray:
    """sum_k factor_k * (E[N(t_k)] - E[N(t_{k-1})]) per history (f, r, T).

    For BG/NBD, MBG/NBD and Pareto/NBD the conditional expectation factorises as
    E[N(t) | x, t_x, T] = P(alive | x, t_x, T) * E[N(t) | alive, x, T]: a dead
    customer buys nothing, and an active one's future depends on x and T only.
    The time-dependent factor (the costly hypergeometric part) is therefore
    evaluated once per distinct (x, T) pair, from lifetimes' own formulas at
    t_x = T (where P(alive) is bounded away from 0), and all period ends go in
    one broadcast call per block; P(alive) is evaluated per history.
    """
    ends = schedule["t_end"].to_numpy(dtype=float)[:, None]
    factor = schedule["factor"].to_numpy(dtype=float)
    f = np.asarray(f)
    fx, Tx, inv = pairs if pairs is not None else _history_pairs(f, T)
    fx = np.asarray(fx, dtype=np.int64)
    Tx = np.asarray(Tx, dtype=float)
    rx = np.where(fx > 0, Tx, 0.0)
    per_pair = np.empty(len(fx), dtype=float)
    with _quiet():
        alive_ref = np.asarray(fitter.conditional_probability_alive(fx, rx, Tx), dtype=float)
        for start in range(0, len(fx), block):
            sl = slice(start, start + block)
            cum = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(ends, fx[sl], rx[sl], Tx[sl]), dtype=float)
            cum = np.broadcast_to(cum, (len(ends), len(fx[sl])))
            per_pair[sl] = (factor @ np.diff(cum, axis=0, prepend=0.0)) / alive_ref[sl]
        alive = np.asarray(fitter.conditional_probability_alive(f, np.asarray(r, dtype=float), np.asarray(T, dtype=float)),
                           dtype=float)
    return alive * per_pair[np.asarray(inv).ravel()]


def discounted_expected_purchases(fit: FitResult, summary: pd.DataFrame, horizon: float, *, annual_discount_rate: float,
                                  step: float = 1.0) -> pd.Series:
    """Expected repeat purchases over the horizon, each discounted to today (purchases).

    Sum over the periods of :func:`discount_schedule` of factor_k times the
    expected purchases in period k (differences of the model's cumulative
    conditional expectation).

    Returns
    -------
    pandas.Series
        Discounted purchases per customer, named ``discounted_purchases``.
    """
    schedule = discount_schedule(horizon, annual_discount_rate=annual_discount_rate, time_unit=fit.time_unit, step=step)
    values = _per_history(summary, lambda f, r, T: _discounted_purchases_arrays(fit.fitter, f, r, T, schedule))
    _check_finite(values, "discounted expected purchases", fit)
    return pd.Series(values, index=summary.index, name="discounted_purchases")


def customer_value(
    summary: pd.DataFrame,
    btyd: FitResult,
    gg: GammaGammaResult,
    *,
    horizon: float,
    margin: float,
    annual_discount_rate: float,
    step: float = 1.0,
) -> pd.DataFrame:
    """P(alive), expected purchases, expected spend and discounted CLV per customer.

    CLV_i = margin * E[spend per purchase]_i * sum_k factor_k * E[purchases in period k]_i,
    over the next ``horizon`` time units, with periods of ``step`` units
    discounted at their end (:func:`discount_schedule`). Only future repeat
    purchases count (value already earned is not included).

    Parameters
    ----------
    summary : pandas.DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer.
    btyd : FitResult
        Purchase model.
    gg : GammaGammaResult
        Spend model.
    horizon : float
        Time units ahead (e.g. 52 weeks).
    margin : float
        Share of spend that is profit (0-1]; 1 gives discounted revenue.
    annual_discount_rate : float
        Share per year (0.1 = 10 %).
    step : float
        Discounting period in time units (1 = weekly when the unit is weeks).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``: ``frequency``, ``recency``, ``T``,
        ``monetary_value``, ``p_alive`` (share), ``expected_purchases``
        (undiscounted, over the horizon), ``expected_spend`` (currency per
        purchase), ``clv`` (currency).
    """
    if not 0 < margin <= 1:
        raise ValueError(f"margin must be a share in (0, 1] of spend, but {margin!r} was passed.")
    out = summary[["frequency", "recency", "T", "monetary_value"]].copy()
    out["p_alive"] = probability_alive(btyd, summary)
    out["expected_purchases"] = expected_purchases(btyd, summary, horizon)
    out["expected_spend"] = expected_spend(gg, summary)
    disc = discounted_expected_purchases(btyd, summary, horizon, annual_discount_rate=annual_discount_rate, step=step)
    out["clv"] = margin * out["expected_spend"] * disc
    return out


def clv_interval(
    summary: pd.DataFrame,
    btyd: FitResult,
    gg: GammaGammaResult,
    *,
    horizon: float,
    margin: float,
    annual_discount_rate: float,
    step: float = 1.0,
    n_boot: int = 100,
    level: float = 0.9,
    seed: int = 0,
    refit_tol: float = 1e-5,
    chunk_size: int = 50_000,
) -> CLVInterval:
    """Bootstrap interval of each customer's CLV and of the total.

    Each replicate resamples the customers with replacement (multinomial
    counts, applied as weights to the compressed histories and to the
    Gamma-Gamma rows), refits both models (warm-started from the point
    estimates, with the same fallbacks) and recomputes every customer's CLV
    from their *observed* history with the replicate's parameters. The
    interval is the percentile interval of the replicates. See
    :class:`CLVInterval` for what it covers and what it does not.

    Parameters
    ----------
    summary, btyd, gg, horizon, margin, annual_discount_rate, step
        As for :func:`customer_value` (``btyd`` and ``gg`` fitted on ``summary``).
    n_boot : int
        Replicates (100 by default; 10 is enough for a smoke test, not for a report).
    level : float
        Coverage of the interval, e.g. 0.9 for the 5th to 95th percentiles.
    seed : int
        Seed of ``numpy.random.default_rng``: same seed, same interval.
    refit_tol : float
        Optimizer tolerance of the replicate refits (warm-started at the point
        estimates; looser than the point fit's, as the replicates' spread is
        far larger than this precision).
    chunk_size : int
        Customers per block when computing per-customer percentiles (bounds memory to n_boot x chunk_size floats).

    Returns
    -------
    CLVInterval

    Raises
    ------
    ModelFitError
        Fewer than 2 replicates could be refitted.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be a share in (0, 1), e.g. 0.9, but {level!r} was passed.")
    if int(n_boot) < 2:
        raise ValueError(f"n_boot must be at least 2 replicates, but {n_boot!r} was passed.")
    rng = np.random.default_rng(seed)
    f, r, T = _history_arrays(summary)
    unique, inverse = compress_histories(pd.DataFrame({"frequency": f, "recency": r, "T": T}))
    fu, ru, Tu = unique["frequency"].to_numpy(np.int64), unique["recency"].to_numpy(float), unique["T"].to_numpy(float)
    x = summary["frequency"].to_numpy(float)
    m = summary["monetary_value"].to_numpy(float)
    usable = (x > 0) & (m > 0)
    gg_keys = pd.DataFrame({"x": x[usable], "m": m[usable]})
    gg_group = gg_keys.groupby(["x", "m"], sort=True)
    gg_inverse = gg_group.ngroup().to_numpy(np.int64)
    gg_rows = gg_group.size().reset_index()
    schedule = discount_schedule(horizon, annual_discount_rate=annual_discount_rate, time_unit=btyd.time_unit, step=step)
    n = len(summary)
    xs, ms = np.where(usable, x, 0.0), np.where(usable, m, 0.0)
    pairs = _history_pairs(fu, Tu)

    h_inv = _spd_inverse(getattr(btyd.fitter, "_hessian_", None))
    disc_reps, gg_params, rep_rows = [], [], []
    n_failed = 0
    for b in range(int(n_boot)):
        counts = np.bincount(rng.integers(0, n, size=n), minlength=n)
        w_hist = np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)
        keep = w_hist > 0
        w_gg = np.bincount(gg_inverse, weights=counts[usable], minlength=len(gg_rows)).astype(np.int64)
        keep_gg = w_gg > 0
        # warm start with the point fit's curvature: the objective is the mean negative log-likelihood for
        # BG/NBD and MBG/NBD, and that times the number of rows for lifetimes' Pareto/NBD
        h0 = None if h_inv is None else (h_inv / int(keep.sum()) if btyd.model == "pareto" else h_inv)
        try:
            rep = _fit_btyd_arrays(btyd.model, fu[keep], ru[keep], Tu[keep], w_hist[keep], penalizer_coef=btyd.penalizer_coef,
                                   tol=max(btyd.tol, refit_tol), warm=btyd.params, hess_inv0=h0, time_unit=btyd.time_unit)
            if keep_gg.sum() < 2:
                raise GammaGammaError("too few repeat buyers in the replicate")
            (_, gp, _), _ = _fit_gg_arrays(gg_rows["x"].to_numpy(float)[keep_gg], gg_rows["m"].to_numpy(float)[keep_gg],
                                           w_gg[keep_gg], penalizer_coef=gg.penalizer_coef, tol=refit_tol,
                                           warm=gg.params)
            if gp["q"] <= 1:
                raise GammaGammaError("q <= 1 in the replicate")
            d = _discounted_purchases_arrays(rep.fitter, fu, ru, Tu, schedule, pairs=pairs)
            if not np.isfinite(d).all():
                raise ModelFitError("non-finite predictions in the replicate")
        except (ModelFitError, GammaGammaError):
            n_failed += 1
            continue
        spend = _gg_expected_spend(gp, xs, ms)
        total = float(margin * np.sum(spend * d[inverse]))
        disc_reps.append(d)
        gg_params.append(gp)
        rep_rows.append({"replicate": b, **{f"{btyd.model}_{k}": v for k, v in rep.params.items()},
                         **{f"gg_{k}": v for k, v in gp.items()}, "total": total})
    n_ok = len(disc_reps)
    if n_ok < 2:
        raise ModelFitError(f"only {n_ok} of {n_boot} bootstrap replicates could be refitted; no interval can be given.")
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    D = np.vstack(disc_reps)  # n_ok x n_unique
    low = np.empty(n)
    high = np.empty(n)
    for start in range(0, n, int(chunk_size)):
        sl = slice(start, min(n, start + int(chunk_size)))
        spend = np.vstack([_gg_expected_spend(gp, xs[sl], ms[sl]) for gp in gg_params])  # n_ok x chunk
        vals = margin * spend * D[:, inverse[sl]]
        low[sl], high[sl] = np.percentile(vals, [lo_q, hi_q], axis=0)
    replicates = pd.DataFrame(rep_rows)
    point = customer_value(summary, btyd, gg, horizon=horizon, margin=margin, annual_discount_rate=annual_discount_rate,
                           step=step)["clv"].sum()
    tot_low, tot_high = np.percentile(replicates["total"].to_numpy(), [lo_q, hi_q])
    return CLVInterval(
        per_customer=pd.DataFrame({"clv_low": low, "clv_high": high}, index=summary.index),
        total=pd.Series({"point": float(point), "low": float(tot_low), "high": float(tot_high)}),
        level=float(level), n_boot=int(n_boot), n_ok=n_ok, n_failed=n_failed, replicates=replicates,
    )


# =========================================================================== holdout validation


def _frequency_groups(freq: np.ndarray, max_frequency: int) -> pd.Categorical:
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    idx = np.minimum(freq.astype(int), max_frequency)
    return pd.Categorical.from_codes(idx, categories=labels, ordered=True)


def holdout_validation(
    cal_holdout: pd.DataFrame,
    models: Sequence[str] = MODELS,
    *,
    penalizer_coef: float = 0.0,
    max_frequency: int = 7,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    time_unit: str = "W",
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> HoldoutValidation:
    """Fit each model on the calibration period and compare its predictions with the holdout period.

    Parameters
    ----------
    cal_holdout : pandas.DataFrame
        From :func:`ecrm_lib.value.features.calibration_holdout`: ``frequency_cal``,
        ``recency_cal``, ``T_cal``, ``frequency_holdout`` and ``duration_holdout``.
    models : sequence of str
        Model keys to compare.
    penalizer_coef : float
        Requested penalizer for every model.
    max_frequency : int
        Calibration frequencies from this value up are pooled ("7+", as in Fader & Hardie).
    fallbacks : sequence of dict, optional
        As for :func:`fit_btyd`.
    time_unit : str
        Unit of the summary.
    time_limit : float, optional
        Seconds per model fit (see :func:`fit_btyd`).

    Returns
    -------
    HoldoutValidation
        ``best_model`` is the fitted model with the lowest mean absolute error
        per customer (ties: the order of ``models``).

    Raises
    ------
    ModelFitError
        No model could be fitted.
    """
    models = [_check_model(mo) for mo in dict.fromkeys(models)]
    if not models:
        raise ValueError("models must name at least one of " + str(list(MODELS)) + ".")
    need = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    missing = [c for c in need if c not in cal_holdout.columns]
    if missing:
        raise DataValidationError(
            f"cal_holdout has no column {missing}; build it with ecrm_lib.value.features.calibration_holdout."
        )
    cal = cal_holdout.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
    duration = float(cal_holdout["duration_holdout"].iloc[0])
    actual = cal_holdout["frequency_holdout"].to_numpy(float)
    customers = cal_holdout[["frequency_cal", "recency_cal", "T_cal"]].copy()
    customers["actual"] = actual
    fits, rows, failed = {}, [], {}
    for mo in models:
        fit = None
        try:
            fit = fit_btyd(cal, mo, penalizer_coef=penalizer_coef, fallbacks=fallbacks, time_unit=time_unit,
                           time_limit=time_limit)
            pred = expected_purchases(fit, cal, duration).to_numpy()
        except ModelFitError as exc:
            rows.append({"model": mo, "label": MODEL_LABELS[mo], "status": "failed", "n_customers": len(cal),
                         "message": " ".join(str(exc).split())[:300]})
            if fit is not None:  # fitted, but its predictions were not finite
                a = fit.attempts.copy()
                a.loc[a["used"], ["status", "message", "used"]] = ["failed", "fitted, but " + str(exc)[:200], False]
                failed[mo] = a
            elif exc.attempts is not None:
                failed[mo] = exc.attempts
            continue
        fits[mo] = fit
        customers[f"pred_{mo}"] = pred
        err = pred - actual
        rows.append({
            "model": mo, "label": MODEL_LABELS[mo], "status": "ok", "n_customers": len(cal),
            "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
            "actual_total": float(actual.sum()), "predicted_total": float(pred.sum()),
            "error_total_pct": float(100 * (pred.sum() - actual.sum()) / actual.sum()) if actual.sum() > 0 else float("nan"),
            "log_likelihood": fit.log_likelihood, "message": "fallback used" if fit.fallback_used else "",
        })
    errors = pd.DataFrame(rows).reindex(columns=["model", "label", "status", "n_customers", "mae", "rmse", "actual_total",
                                                 "predicted_total", "error_total_pct", "log_likelihood", "message"])
    if not fits:
        raise ModelFitError("no model could be fitted on the calibration period: " + "; ".join(errors["message"].astype(str)))
    ok = errors[errors["status"] == "ok"]
    best = str(ok.loc[ok["mae"].idxmin(), "model"])
    groups = _frequency_groups(cal_holdout["frequency_cal"].to_numpy(), max_frequency)
    series = {"actual": actual} | {mo: customers[f"pred_{mo}"].to_numpy() for mo in fits}
    parts = []
    for key, values in series.items():
        g = pd.DataFrame({"frequency_group": groups, "v": values}).groupby("frequency_group", observed=False)["v"]
        part = pd.DataFrame({"n_customers": g.size(), "mean_purchases": g.mean()}).reset_index()
        part.insert(0, "label", "Actual" if key == "actual" else MODEL_LABELS[key])
        part.insert(0, "model", key)
        parts.append(part)
    by_frequency = pd.concat(parts, ignore_index=True)
    return HoldoutValidation(fits=fits, customers=customers, by_frequency=by_frequency, errors=errors, best_model=best,
                             selection="lowest mean absolute error per customer on the holdout period", duration=duration,
                             failed_attempts=failed)


def purchase_days(
    transactions: pd.DataFrame,
    *,
    end,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    timezone: str = "UTC",
) -> pd.DataFrame:
    """One row per customer and local purchase day on or before ``end``.

    The same purchase days as :func:`ecrm_lib.value.features.rfm_summary` counts
    (rows on one local calendar day in ``timezone`` are one purchase; naive
    timestamps are UTC; rows without a customer or time are ignored).

    Returns
    -------
    pandas.DataFrame
        ``customer_col`` and ``day`` (``datetime64[s]`` at midnight), sorted.
    """
    import zoneinfo

    for c in (customer_col, time_col):
        if c not in transactions.columns:
            raise DataValidationError(f"transactions has no column {c!r}; its columns are {list(transactions.columns)}.")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"timezone must be an IANA time zone name such as 'Asia/Seoul', but {timezone!r} was passed.") from exc
    df = transactions[[customer_col, time_col]].dropna()
    ts = df[time_col]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = pd.to_datetime(ts)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        local = ts.dt.tz_convert(timezone)
    else:
        local = ts.dt.tz_localize("UTC").dt.tz_convert(timezone) if timezone != "UTC" else ts
    day = local.dt.tz_localize(None).dt.normalize() if isinstance(local.dtype, pd.DatetimeTZDtype) else local.dt.normalize()
    out = pd.DataFrame({customer_col: df[customer_col].to_numpy(), "day": day.to_numpy().astype("datetime64[s]")})
    end_day = np.datetime64(pd.Timestamp(end).date(), "s")
    out = out[out["day"] <= end_day].drop_duplicates().sort_values([customer_col, "day"], kind="stable")
    return out.reset_index(drop=True)


def holdout_tracking(
    days: pd.DataFrame,
    holdout: HoldoutValidation,
    *,
    calibration_end,
    observation_end,
    customer_col: str = "customer_id",
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
    days : pandas.DataFrame
        From :func:`purchase_days` (up to ``observation_end`` at least).
    holdout : HoldoutValidation
        From :func:`holdout_validation` on the same calibration and holdout periods.
    calibration_end, observation_end : date-like
        Last days of the calibration and holdout periods (local dates).
    customer_col : str
        Customer column of ``days``; its values are the index of ``holdout.customers``.
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
    customers = holdout.customers
    cal = customers.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
    d = days[days[customer_col].isin(customers.index)]
    hold_days = np.sort(d.loc[(d["day"] > cal_end.to_datetime64()) & (d["day"] <= obs_end.to_datetime64()), "day"]
                        .to_numpy().astype("datetime64[s]"))
    dates = list(pd.date_range(cal_end, obs_end, freq=f"{int(step_days)}D"))
    if dates[-1] != obs_end:
        dates.append(obs_end)
    dates = pd.DatetimeIndex(dates)
    elapsed = np.asarray((dates - cal_end).days, dtype=float)
    actual = np.searchsorted(hold_days, dates.to_numpy().astype("datetime64[s]"), side="right").astype(float)
    out = [pd.DataFrame({"date": dates, "days_since_calibration": elapsed.astype(int), "series": "Actual",
                         "model": "actual", "chosen": True, "cumulative_repeat_purchases": actual})]
    for key, fit in holdout.fits.items():
        t = elapsed / TIME_UNITS[fit.time_unit]
        if not np.isclose(t[-1], holdout.duration):
            raise ValueError(f"the holdout lasts {holdout.duration:g} {fit.time_unit} but {calibration_end} to "
                             f"{observation_end} is {t[-1]:g}: give the calibration and observation ends of the holdout.")
        t[-1] = holdout.duration  # the table's horizon exactly
        expected = np.array([expected_purchases(fit, cal, h).sum() if h > 0 else 0.0 for h in t])
        out.append(pd.DataFrame({"date": dates, "days_since_calibration": elapsed.astype(int), "series": fit.label,
                                 "model": key, "chosen": key == holdout.best_model,
                                 "cumulative_repeat_purchases": expected}))
    return pd.concat(out, ignore_index=True)


# =========================================================================== value concentration


def value_concentration(values: pd.Series | np.ndarray, shares: Sequence[float] = (0.01, 0.05, 0.2)) -> pd.DataFrame:
    """Share of the total value held by the top customers.

    The top ``s`` share of customers is the ``ceil(s * n)`` customers with the
    highest values (at least one).

    Parameters
    ----------
    values : array-like
        One value per customer (e.g. CLV, currency); NaN are not allowed.
    shares : sequence of float
        Shares of customers (0-1].

    Returns
    -------
    pandas.DataFrame
        ``top_share`` (share of customers), ``n_customers``, ``value`` (sum,
        currency), ``value_share`` (share of the total; NaN when the total is
        not positive).

    Examples
    --------
    >>> value_concentration([1.0, 9.0, 0.0, 10.0], shares=(0.25, 0.5))
       top_share  n_customers  value  value_share
    0       0.25            1   10.0         0.50
    1       0.50            2   19.0         0.95
    """
    v = np.asarray(values, dtype=float)
    if np.isnan(v).any():
        raise ValueError("values has missing values; fill or drop them before measuring concentration.")
    n = len(v)
    ordered = np.sort(v)[::-1]
    total = ordered.sum()
    rows = []
    for s in shares:
        if not 0 < s <= 1:
            raise ValueError(f"shares must be in (0, 1], but {s!r} was passed.")
        k = min(n, max(1, int(math.ceil(s * n - 1e-9)))) if n else 0
        top = float(ordered[:k].sum())
        rows.append({"top_share": float(s), "n_customers": k, "value": top,
                     "value_share": top / total if total > 0 else float("nan")})
    return pd.DataFrame(rows, columns=["top_share", "n_customers", "value", "value_share"])


def _nonneg(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if (v < 0).any():
        raise ValueError(f"{int((v < 0).sum())} negative value(s); the Lorenz curve and Gini need values >= 0 "
                         "(use CLV, not net value, or clip at 0).")
    return v


def lorenz_curve(values, points: int = 101, *, exact: bool = False) -> pd.DataFrame:
    """Value concentration (Lorenz) curve.

    Customers are sorted from the lowest to the highest value; the curve gives
    the share of the total value held by the lowest ``customer_share``.
    Missing values are left out.

    Parameters
    ----------
    values : array-like
        One value per customer (>= 0; e.g. CLV, currency).
    exact : bool
        True: the n + 1 exact points (0, k/n); False: ``points`` evenly spaced
        customer shares, linearly interpolated.

    Returns
    -------
    DataFrame
        ``customer_share`` and ``value_share`` (both 0-1).

    Examples
    --------
    >>> lorenz_curve([0.0, 0.0, 0.0, 4.0], exact=True)["value_share"].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0]
    >>> lorenz_curve([1.0, 1.0, 2.0], points=4).round(3)
       customer_share  value_share
    0           0.000         0.00
    1           0.333         0.25
    2           0.667         0.50
    3           1.000         1.00
    """
    v = np.sort(_nonneg(values))
    n = len(v)
    grid = np.arange(n + 1) / n if n else np.array([0.0])
    if n == 0 or v.sum() <= 0:
        cum = np.full(len(grid), np.nan)
    else:
        cum = np.concatenate([[0.0], np.cumsum(v)]) / v.sum()
    if exact:
        return pd.DataFrame({"customer_share": grid, "value_share": cum})
    x = np.linspace(0.0, 1.0, int(points))
    y = np.interp(x, grid, cum) if n and v.sum() > 0 else np.full(len(x), np.nan)
    return pd.DataFrame({"customer_share": x, "value_share": y})


def gini(values) -> float:
    """Gini coefficient: mean absolute difference over twice the mean.

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)``, computed on the sorted
    values as ``2 sum_i i x_(i) / (n sum x) - (n + 1) / n``. 0 when everyone
    holds the same value; ``(n - 1) / n`` when one customer holds everything.
    NaN when there are no values or they sum to 0.

    Examples
    --------
    >>> gini([3.0, 3.0, 3.0])
    0.0
    >>> gini([0.0, 0.0, 0.0, 4.0])
    0.75
    """
    v = np.sort(_nonneg(values))
    n = len(v)
    if n == 0 or v.sum() <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(max(0.0, 2 * np.sum(i * v) / (n * v.sum()) - (n + 1) / n))


# =========================================================================== truth and published results


def truth_comparison(bgnbd: FitResult | None, gg: GammaGammaResult | None, truth: Mapping[str, Any]) -> pd.DataFrame:
    """Recovered against true parameters of generated data.

    Parameters
    ----------
    bgnbd : FitResult, optional
        A BG/NBD fit (its ``alpha`` converted to weeks, the truth's unit).
    gg : GammaGammaResult, optional
    truth : mapping
        Content of ``truth.json`` (keys ``btyd`` and ``gamma_gamma``).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``parameter``, ``true``, ``estimate``, ``std_error``, ``z``
        ((estimate - true) / std_error) and ``within_2se`` (bool).
    """
    rows = []
    if bgnbd is not None and bgnbd.model == "bgnbd" and "btyd" in truth:
        to_weeks = TIME_UNITS[bgnbd.time_unit] / 7.0  # alpha is a rate per time unit: per week = per unit * weeks/unit
        for k in ("r", "alpha", "a", "b"):
            factor = 1.0 / to_weeks if k == "alpha" else 1.0
            rows.append(("bgnbd", k, float(truth["btyd"][k]), bgnbd.params[k] * factor, bgnbd.standard_errors[k] * factor))
    if gg is not None and "gamma_gamma" in truth:
        for k in ("p", "q", "gamma"):
            rows.append(("gamma_gamma", k, float(truth["gamma_gamma"][k]), gg.params[k], gg.standard_errors[k]))
    out = pd.DataFrame(rows, columns=["model", "parameter", "true", "estimate", "std_error"])
    out["z"] = (out["estimate"] - out["true"]) / out["std_error"]
    out["within_2se"] = out["z"].abs() <= 2
    return out


def cdnow_transactions(path=None) -> pd.DataFrame:
    """The raw CDNOW sample (``CDNOW_sample.txt`` shipped with ``lifetimes``) as transactions.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (the sample id, string), ``timestamp`` (date, naive),
        ``amount`` (USD), ``quantity`` (CDs); 6,919 rows.
    """
    from ecrm_lib.core.paths import lifetimes_datasets_dir

    path = Path(path) if path else lifetimes_datasets_dir() / "CDNOW_sample.txt"
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["master_id", "sample_id", "date", "cds", "dollars"],
                      dtype={"master_id": str, "sample_id": str, "date": str})
    return pd.DataFrame({
        "customer_id": raw["sample_id"].astype("string"),
        "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "amount": raw["dollars"].astype(float),
        "quantity": raw["cds"].astype(float),
    })


def _round_match(estimate: float, published: float, decimals: int) -> bool:
    return bool(abs(estimate - published) <= 0.5 * 10.0 ** (-decimals) + 1e-12)


def cdnow_reproduction(path=None) -> pd.DataFrame:
    """Re-derive the published CDNOW estimates from the raw transactions.

    The raw ``CDNOW_sample.txt`` goes through
    :func:`ecrm_lib.value.features.calibration_holdout` (calibration to 1997-09-30,
    weeks, same-day purchases merged), then :func:`fit_btyd` (compressed) and
    :func:`fit_gamma_gamma`. MBG/NBD has no published CDNOW estimate here: its
    reference is ``lifetimes`` on its own shipped summary
    (``cdnow_customers_summary.csv``), fitted live.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``label``, ``parameter``, ``published`` (or the lifetimes
        reference), ``estimate``, ``difference``, ``decimals``,
        ``reproduced`` (bool: the estimate rounds to the published value, i.e.
        within half a unit of its last printed digit), ``source``.
    """
    from ecrm_lib.core.paths import lifetimes_datasets_dir

    tx = cdnow_transactions(path)
    ch = calibration_holdout(tx, calibration_end=_CDNOW_CAL_END, observation_end=_CDNOW_OBS_END, time_unit="W")
    cal = ch.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T",
                             "monetary_value_cal": "monetary_value"})
    est: dict[tuple[str, str], float] = {}
    for mo in MODELS:
        fit = fit_btyd(cal, mo)
        for k, v in fit.params.items():
            est[(mo, k)] = float(v)
        est[(mo, "log_likelihood")] = fit.log_likelihood
    gg = fit_gamma_gamma(cal)
    for k, v in gg.params.items():
        est[("gamma_gamma", k)] = float(v)
    pub = PUBLISHED_CDNOW.copy()
    shipped = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv")
    ref = fit_btyd(shipped, "mbgnbd")
    # the shipped summary rounds recency and T to 0.01 weeks: agreement is expected to 3 decimals, not more
    source = "lifetimes 0.11.3 on its shipped cdnow_customers_summary.csv (no published value)"
    mbg = [("mbgnbd", k, round(float(v), 3), 3, source) for k, v in ref.params.items()]
    mbg.append(("mbgnbd", "log_likelihood", round(ref.log_likelihood, 1), 1, source))
    pub = pd.concat([pub, pd.DataFrame(mbg, columns=pub.columns)], ignore_index=True)
    pub["estimate"] = [est[(mo, k)] for mo, k in zip(pub["model"], pub["parameter"])]
    pub["difference"] = pub["estimate"] - pub["published"]
    pub["reproduced"] = [_round_match(e, p, d) for e, p, d in zip(pub["estimate"], pub["published"], pub["decimals"])]
    pub.insert(1, "label", pub["model"].map(MODEL_LABELS))
    return pub[["model", "label", "parameter", "published", "estimate", "difference", "decimals", "reproduced", "source"]]


# =========================================================================== the whole analysis


def describe_customer_keys(transactions: pd.DataFrame, account_map: pd.DataFrame | None) -> str:
    """One sentence saying who a "customer" is in the report, with the counts.

    Parameters
    ----------
    transactions : pandas.DataFrame
        After :func:`ecrm_lib.channels.customers.attach_customer_id`: ``account_id`` and ``customer_id``.
    account_map : pandas.DataFrame or None
        The channel-integration ``account_map`` product, or None.

    Returns
    -------
    str

    Examples
    --------
    >>> tx = pd.DataFrame({"account_id": ["W1", "S1", "X9"], "customer_id": ["C1", "C1", "X9"]})
    >>> describe_customer_keys(tx, pd.DataFrame({"account_id": ["W1", "S1"], "customer_id": ["C1", "C1"]}))
    'people: the channel-integration report joined the 3 accounts with purchases into 2 customers (1 account had no entry in its map and counts on its own)'
    >>> describe_customer_keys(tx.assign(customer_id=tx["account_id"]), None)[:60]
    'channel accounts: no identity map from the channel-integrati'
    """
    n_acc = int(transactions["account_id"].nunique())
    n_cust = int(transactions["customer_id"].nunique())
    if account_map is None:
        return ("channel accounts: no identity map from the channel-integration report was available, so each of the "
                f"{n_acc:,} accounts with purchases counts as its own customer and a person with two accounts is counted twice")
    accounts = pd.Series(transactions["account_id"].unique())
    unmapped = int((~accounts.isin(account_map["account_id"])).sum())
    extra = ""
    if unmapped:
        extra = f" ({unmapped:,} account{'s' if unmapped > 1 else ''} had no entry in its map and count{'' if unmapped > 1 else 's'} on {'their' if unmapped > 1 else 'its'} own)"
    if n_cust == n_acc:
        return (f"people as the channel-integration report resolved them; it found no accounts to join, so the {n_acc:,} "
                f"accounts with purchases are {n_cust:,} customers{extra}")
    return (f"people: the channel-integration report joined the {n_acc:,} accounts with purchases into {n_cust:,} "
            f"customers{extra}")



@dataclass
class CustomerValueAnalysis:
    """Everything the customer-value report shows (built by :func:`analyse_customer_value`).

    Attributes
    ----------
    summary : pandas.DataFrame
        Per customer up to the as-of date (:func:`ecrm_lib.value.features.rfm_summary`).
    as_of, calibration_end : datetime.date
        End of the data and of the calibration period.
    time_unit : str
        Time unit of the summary and the models.
    horizon : float
        Prediction horizon in time units.
    holdout : HoldoutValidation or None
        None when the holdout comparison was skipped (``holdout_skipped`` says why).
    holdout_skipped : str or None
    tracking : pandas.DataFrame
        :func:`holdout_tracking`: cumulative holdout purchases of the customers of
        the holdout error table, actual and forecast (empty when skipped).
    best_model : str
        Model used for predictions.
    final_fit : FitResult
        ``best_model`` refitted on all data up to ``as_of``.
    bgnbd_fit : FitResult or None
        BG/NBD on all data (for the headline parameters); None if it failed.
    gg : GammaGammaResult or None
        None when the spend model cannot be used (``gg_error`` says why).
    gg_error : str or None
    values : pandas.DataFrame
        The ``customer_value`` product: ``customer_id``, ``frequency``,
        ``recency``, ``T``, ``monetary_value``, ``p_alive``,
        ``expected_purchases``, ``clv``, ``clv_low``, ``clv_high``, ``model``.
    interval : CLVInterval or None
    concentration : pandas.DataFrame
        :func:`value_concentration` of CLV (empty without CLV).
    lorenz : pandas.DataFrame
        :func:`lorenz_curve` of CLV.
    attempts : pandas.DataFrame
        Every fit attempt: ``stage``, ``model`` plus the columns of :attr:`FitResult.attempts`.
    model_fit : pandas.DataFrame
        The ``model_fit`` product (see :func:`analyse_customer_value`).
    metrics : dict
        The notebook's headline metrics.
    """

    summary: pd.DataFrame
    as_of: _dt.date
    calibration_end: _dt.date
    time_unit: str
    horizon: float
    holdout: HoldoutValidation | None
    holdout_skipped: str | None
    tracking: pd.DataFrame
    best_model: str
    final_fit: FitResult
    bgnbd_fit: FitResult | None
    gg: GammaGammaResult | None
    gg_error: str | None
    values: pd.DataFrame
    interval: CLVInterval | None
    concentration: pd.DataFrame
    lorenz: pd.DataFrame
    attempts: pd.DataFrame
    model_fit: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    n_excluded_new: int = 0
    interval_level: float = 0.9

    @property
    def money_digits(self) -> int:
        """Decimals for money in the report: 0 when a typical purchase is worth 100 currency units or more, else 2."""
        typical = self.gg.population_mean_spend if self.gg is not None else float(self.summary["monetary_value"].median())
        return 0 if abs(typical) >= 100 else 2

    @property
    def unit_name(self) -> str:
        """"weeks", "days" or "months"."""
        return TIME_UNIT_NAMES[self.time_unit]

    def base_table(self) -> pd.DataFrame:
        """Who is in the analysis: a two-column table (``measure``, ``value``) for display."""
        s = self.summary
        n = len(s)
        rep = int((s["frequency"] > 0).sum())
        rows = [
            ("customers", f"{n:,}"),
            ("repeat buyers (bought on 2 or more days)", f"{rep:,} ({rep / n:.1%})" if n else "0"),
            ("purchase days", f"{int(s['n_purchase_days'].sum()):,}" if "n_purchase_days" in s else "n/a"),
            ("mean repeat purchases per customer", f"{s['frequency'].mean():.2f}" if n else "n/a"),
            (f"median time since first purchase ({self.unit_name})", f"{s['T'].median():.1f}" if n else "n/a"),
            ("calibration period ends", str(self.calibration_end) if self.holdout is not None else "no holdout"),
            ("customers whose first purchase is in the holdout period (not in the model comparison)",
             f"{self.n_excluded_new:,}" if self.holdout is not None else "n/a"),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).astype("string")

    def errors_table(self) -> pd.DataFrame | None:
        """The holdout comparison for display (model label, errors, totals), best model first; None when skipped."""
        if self.holdout is None:
            return None
        e = self.holdout.errors.copy()
        e["best"] = e["model"] == self.best_model
        e = e.sort_values(["best", "mae"], ascending=[False, True]).reset_index(drop=True)
        return e[["label", "status", "mae", "rmse", "actual_total", "predicted_total", "error_total_pct",
                  "log_likelihood", "best", "message"]].rename(columns={
                      "label": "model", "mae": "MAE (purchases)", "rmse": "RMSE (purchases)",
                      "actual_total": "actual repeat purchases", "predicted_total": "predicted repeat purchases",
                      "error_total_pct": "error of total (%)", "log_likelihood": "calibration log-likelihood"})

    def attempts_table(self) -> pd.DataFrame:
        """Every fit attempt for display: stage, model, attempt, settings, status, message, seconds, used."""
        a = self.attempts.copy()
        if a.empty:
            return a
        a["model"] = a["model"].map(MODEL_LABELS).fillna(a["model"])
        a["stage"] = a["stage"].map({"calibration": "calibration period", "full": "all data"}).fillna(a["stage"])
        a["tol"] = [f"{t:g}" for t in a["tol"]]
        a["penalizer_coef"] = [f"{p:g}" for p in a["penalizer_coef"]]
        a["seconds"] = a["seconds"].round(2)
        return a[["stage", "model", "attempt", "start", "penalizer_coef", "tol", "status", "message", "seconds", "used"]]

    def fallback_fits(self) -> pd.DataFrame:
        """Fits whose estimates come from a fallback attempt (``stage``, ``model``, ``attempt`` used); empty when none."""
        a = self.attempts
        if a.empty:
            return pd.DataFrame(columns=["stage", "model", "attempt"])
        used = a[a["used"]]
        return used.loc[used["attempt"] > 1, ["stage", "model", "attempt"]].reset_index(drop=True)

    def parameters_table(self) -> pd.DataFrame:
        """Parameters of the models used for predictions (all data) with standard errors, for display.

        ``well_determined`` is False where the standard error is as large as the
        estimate (or unknown): the data hardly pin that parameter down (e.g. the
        drop-out parameters when almost nobody seems to leave).
        """
        m = self.model_fit
        t = m[m["used_for_predictions"]][["model", "parameter", "value", "std_error"]].copy()
        t["model"] = t["model"].map(MODEL_LABELS)
        t["well_determined"] = t["std_error"] < t["value"].abs()
        return t.reset_index(drop=True)

    def value_table(self) -> pd.DataFrame | None:
        """Total and per-customer CLV with the interval (currency); None without CLV."""
        if self.gg is None:
            return None
        v = self.values
        n = len(v)
        iv = self.interval
        rows = [
            ("total", float(v["clv"].sum()), iv.total["low"] if iv else np.nan, iv.total["high"] if iv else np.nan),
            ("mean per customer", float(v["clv"].mean()), iv.total["low"] / n if iv else np.nan,
             iv.total["high"] / n if iv else np.nan),
            ("median customer", float(v["clv"].median()), np.nan, np.nan),
        ]
        return pd.DataFrame(rows, columns=["measure", "estimate", "low", "high"])

    def metric_records(self, currency: str) -> list[tuple[str, Any, str, str | None]]:
        """(key, value, description, unit) for every metric in :data:`METRICS`, money in ``currency``."""
        out = []
        for key, (desc, unit) in METRICS.items():
            if unit == "currency":
                unit = currency
            elif unit == "time unit":
                unit = self.unit_name  # E[purchase rate] = r / alpha per time unit: alpha is in time units
            out.append((key, self.metrics.get(key), desc, unit))
        return out


def _attempts_rows(stage: str, model: str, attempts: pd.DataFrame) -> pd.DataFrame:
    a = attempts.copy()
    a.insert(0, "model", model)
    a.insert(0, "stage", stage)
    return a


def analyse_customer_value(
    transactions: pd.DataFrame,
    *,
    as_of,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    time_unit: str = "W",
    holdout_weeks: float = 26,
    horizon_weeks: float = 52,
    margin: float = 0.3,
    annual_discount_rate: float = 0.1,
    models: Sequence[str] = MODELS,
    bootstrap_samples: int = 100,
    interval_level: float = 0.9,
    penalizer_coef: float = 0.0,
    seed: int = 0,
    min_holdout_customers: int = 20,
) -> CustomerValueAnalysis:
    """The customer-value analysis of the report, from transactions to CLV with an interval.

    Steps: the per-customer summary up to ``as_of``; a calibration/holdout split
    (calibration end = ``as_of`` - ``holdout_weeks``); each model fitted on the
    calibration period and judged on the holdout (the best by MAE is kept);
    the cumulative holdout tracking of the same
    customers and predictions; the best model and BG/NBD refitted on all data;
    Gamma-Gamma; CLV with a bootstrap interval; value concentration.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per purchase line with ``customer_col``, ``time_col`` (UTC
        timestamps) and ``amount_col`` (currency).
    as_of : date-like
        Last day of the data (inclusive, local date in ``timezone``).
    customer_col, time_col, amount_col : str
        Column names.
    timezone : str
        Time zone whose calendar days define purchase days.
    time_unit : {"W", "D", "M"}
        Model time unit.
    holdout_weeks : float
        Length of the holdout period in weeks (0: no holdout comparison).
    horizon_weeks : float
        Prediction horizon in weeks.
    margin : float
        Share of spend that is profit.
    annual_discount_rate : float
        Share per year.
    models : sequence of str
        Models compared on the holdout.
    bootstrap_samples : int
        Replicates of the CLV interval (0: no interval).
    interval_level : float
        Coverage of the interval (share).
    penalizer_coef : float
        Requested penalizer of every BTYD fit.
    seed : int
        Seed of the bootstrap.
    min_holdout_customers : int
        Fewest calibration customers (and at least one repeat buyer and one
        holdout purchase) for the holdout comparison; otherwise it is skipped
        and the first of ``models`` is used.

    Returns
    -------
    CustomerValueAnalysis
        ``model_fit`` has one row per (stage, model, parameter): ``stage``
        ("calibration" or "full"), ``model``, ``parameter``, ``value``,
        ``std_error``, ``log_likelihood``, ``n_customers``, ``holdout_mae``,
        ``holdout_rmse``, ``holdout_error_total_pct`` (calibration rows of the
        BTYD models), ``used_for_predictions`` (bool).
    """
    unit_days = _check_time_unit(time_unit)
    models = [_check_model(mo) for mo in dict.fromkeys(models)]
    if not models:
        raise ValueError(f"models must name at least one of {list(MODELS)}.")
    if holdout_weeks < 0 or horizon_weeks <= 0:
        raise ValueError(f"holdout_weeks must be >= 0 and horizon_weeks > 0 (weeks); got {holdout_weeks!r} and {horizon_weeks!r}.")
    as_of = pd.Timestamp(as_of).date()
    horizon = horizon_weeks * 7.0 / unit_days
    kw = dict(customer_col=customer_col, time_col=time_col, amount_col=amount_col, time_unit=time_unit, timezone=timezone)
    summary = rfm_summary(transactions, as_of=as_of, **kw)
    cal_end = as_of - _dt.timedelta(days=int(round(holdout_weeks * 7)))
    attempts, fit_rows = [], []

    holdout, skipped, tracking, n_new = None, None, pd.DataFrame(), 0
    if holdout_weeks <= 0:
        skipped = "no holdout period was asked for (holdout_weeks = 0)"
    else:
        ch = calibration_holdout(transactions, calibration_end=cal_end, observation_end=as_of, **kw)
        n_new = int(ch.attrs.get(EXCLUDED_NEW_CUSTOMERS, 0))
        if len(ch) < min_holdout_customers or (ch["frequency_cal"] > 0).sum() == 0 or ch["frequency_holdout"].sum() == 0:
            skipped = (f"the calibration period (to {cal_end}) has {len(ch)} customers, "
                       f"{int((ch['frequency_cal'] > 0).sum()) if len(ch) else 0} repeat buyers and "
                       f"{int(ch['frequency_holdout'].sum()) if len(ch) else 0} holdout purchases: too few to judge the models "
                       f"(at least {min_holdout_customers} customers, one repeat buyer and one holdout purchase are needed); "
                       "choose a shorter holdout_weeks")
        else:
            holdout = holdout_validation(ch, models, penalizer_coef=penalizer_coef, time_unit=time_unit)
            for mo, failed_attempts in holdout.failed_attempts.items():
                attempts.append(_attempts_rows("calibration", mo, failed_attempts))
            for mo, fit in holdout.fits.items():
                attempts.append(_attempts_rows("calibration", mo, fit.attempts))
                err = holdout.errors.set_index("model").loc[mo]
                t = fit.params_table().assign(stage="calibration", log_likelihood=fit.log_likelihood,
                                              n_customers=fit.n_customers, holdout_mae=err["mae"],
                                              holdout_rmse=err["rmse"], holdout_error_total_pct=err["error_total_pct"])
                fit_rows.append(t)
            days = purchase_days(transactions, end=as_of, customer_col=customer_col, time_col=time_col, timezone=timezone)
            tracking = holdout_tracking(days, holdout, calibration_end=cal_end, observation_end=as_of,
                                        customer_col=customer_col)
    best = holdout.best_model if holdout is not None else models[0]

    final = fit_btyd(summary, best, penalizer_coef=penalizer_coef, time_unit=time_unit)
    attempts.append(_attempts_rows("full", best, final.attempts))
    fit_rows.append(final.params_table().assign(stage="full", log_likelihood=final.log_likelihood, n_customers=final.n_customers))
    bgnbd_fit = final if best == "bgnbd" else None
    if bgnbd_fit is None:
        try:
            bgnbd_fit = fit_btyd(summary, "bgnbd", penalizer_coef=penalizer_coef, time_unit=time_unit)
            attempts.append(_attempts_rows("full", "bgnbd", bgnbd_fit.attempts))
            fit_rows.append(bgnbd_fit.params_table().assign(stage="full", log_likelihood=bgnbd_fit.log_likelihood,
                                                            n_customers=bgnbd_fit.n_customers))
        except ModelFitError:
            bgnbd_fit = None

    gg, gg_error = None, None
    try:
        gg = fit_gamma_gamma(summary)
        attempts.append(_attempts_rows("full", "gamma_gamma", gg.attempts))
        fit_rows.append(gg.params_table().assign(stage="full", log_likelihood=gg.log_likelihood, n_customers=gg.n_used))
    except (GammaGammaError, ModelFitError) as exc:
        gg_error = str(exc)

    values = summary[["frequency", "recency", "T", "monetary_value"]].copy()
    values["p_alive"] = probability_alive(final, summary)
    values["expected_purchases"] = expected_purchases(final, summary, horizon)
    interval = None
    if gg is not None:
        cv = customer_value(summary, final, gg, horizon=horizon, margin=margin, annual_discount_rate=annual_discount_rate)
        values["clv"] = cv["clv"]
        if bootstrap_samples and bootstrap_samples >= 2:
            try:
                interval = clv_interval(summary, final, gg, horizon=horizon, margin=margin,
                                        annual_discount_rate=annual_discount_rate, n_boot=int(bootstrap_samples),
                                        level=interval_level, seed=seed)
            except ModelFitError:
                interval = None
    else:
        values["clv"] = np.nan
    values["clv_low"] = interval.per_customer["clv_low"] if interval is not None else np.nan
    values["clv_high"] = interval.per_customer["clv_high"] if interval is not None else np.nan
    values["model"] = best
    values = values.reset_index().rename(columns={customer_col: "customer_id"})
    values["customer_id"] = values["customer_id"].astype("string")

    has_clv = gg is not None
    concentration = value_concentration(values["clv"]) if has_clv else pd.DataFrame(
        columns=["top_share", "n_customers", "value", "value_share"])
    lorenz = lorenz_curve(values["clv"]) if has_clv else pd.DataFrame(columns=["customer_share", "value_share"])

    model_fit = pd.concat(fit_rows, ignore_index=True)
    model_fit["used_for_predictions"] = (model_fit["stage"] == "full") & model_fit["model"].isin([best, "gamma_gamma"])
    model_fit = model_fit.reindex(columns=["stage", "model", "parameter", "value", "std_error", "log_likelihood", "n_customers",
                                           "holdout_mae", "holdout_rmse", "holdout_error_total_pct", "used_for_predictions"])
    attempts_df = pd.concat(attempts, ignore_index=True) if attempts else pd.DataFrame()

    best_err = holdout.errors.set_index("model").loc[best] if holdout is not None else None
    top20 = concentration.loc[np.isclose(concentration["top_share"], 0.2), "value_share"] if has_clv else pd.Series(dtype=float)
    metrics = {
        "n_customers": int(len(summary)),
        "n_repeat_customers": int((summary["frequency"] > 0).sum()),
        "best_model": best,
        "holdout_error_total_pct": float(best_err["error_total_pct"]) if best_err is not None else None,
        "holdout_mae": float(best_err["mae"]) if best_err is not None else None,
        "total_clv": float(values["clv"].sum()) if has_clv else None,
        "total_clv_low": float(interval.total["low"]) if interval is not None else None,
        "total_clv_high": float(interval.total["high"]) if interval is not None else None,
        "top20_value_share": float(top20.iloc[0]) if len(top20) else None,
        "mean_p_alive": float(values["p_alive"].mean()),
        "gg_spend_frequency_corr": float(gg.spend_frequency_corr) if gg is not None else None,
    }
    for k in ("r", "alpha", "a", "b"):
        metrics[f"bgnbd_{k}"] = float(bgnbd_fit.params[k]) if bgnbd_fit is not None else None
    return CustomerValueAnalysis(
        summary=summary, as_of=as_of, calibration_end=cal_end, time_unit=time_unit, horizon=horizon,
        holdout=holdout, holdout_skipped=skipped, tracking=tracking, best_model=best, final_fit=final,
        bgnbd_fit=bgnbd_fit, gg=gg, gg_error=gg_error, values=values, interval=interval,
        concentration=concentration, lorenz=lorenz, attempts=attempts_df, model_fit=model_fit, metrics=metrics,
        n_excluded_new=n_new, interval_level=float(interval_level),
    )

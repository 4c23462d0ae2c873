"""Spend per purchase: the Gamma-Gamma model.

Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer
Base Analysis", *Journal of Marketing Research* 42(4), 415-430, and Fader &
Hardie (2013), "The Gamma-Gamma Model of Monetary Value", brucehardie.com note
025, on the suite's own likelihood (:func:`ecrm_lib.value.likelihoods.gamma_gamma_loglik`;
``lifetimes.GammaGammaFitter`` gives the same estimates). Money (``monetary_value``, spend, the
parameter ``gamma``) is in the config currency. Fitted on repeat buyers only,
with rows sharing (frequency, mean spend) fitted once with weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.core.i18n import WordedError, t
from ecrm_lib.value.btyd import (
    DEFAULT_MAX_FIT_CUSTOMERS,
    initial_params,
    sample_customers,
    standard_errors,
)
from ecrm_lib.value.fitting import (
    DEFAULT_FALLBACKS,
    DEFAULT_TOL,
    ConvergenceError,
    NonFiniteParams,
    attempt_plan,
    format_params,
    log_parameter_covariance,
    params_table,
    run_attempts,
)
from ecrm_lib.value.likelihoods import gamma_gamma_loglik, gradient_hessian, minimise_bfgs, penalised_objective

__all__ = [
    "GammaGammaError",
    "GammaGammaResult",
    "expected_spend",
    "fit_gamma_gamma",
    "fit_gamma_gamma_rows",
    "gamma_gamma_spend",
    "spend_rows",
]


class GammaGammaError(WordedError, ValueError):
    """The Gamma-Gamma spend model cannot be used on these data (too few repeat buyers, or q <= 1).

    Raised with a catalogue ``key`` and its ``values``: ``str(exc)`` is the English sentence (for logs
    and tests) and :meth:`in_language` words it in the report language for a page (counts as they
    are: a page masks small counts with :func:`ecrm_lib.core.privacy.mask_people_counts`).

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> e = GammaGammaError(key="customer_value.lib.gg_q", values={"q": 0.8})
    >>> str(e)[:42]
    'the Gamma-Gamma estimate q = 0.800 is not '
    >>> with using("ko"):
    ...     e.in_language()[:30]
    '감마-감마 모형의 q 추정값은 0.800이며 1보다 크'
    """



@dataclass
class GammaGammaResult:
    """A fitted Gamma-Gamma spend model and its checks.

    Attributes
    ----------
    hessian : numpy.ndarray or None
        Hessian of the mean penalised negative log-likelihood per repeat buyer in the
        log parameters (p, q, gamma) at the estimates (the same in any currency scale).
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
        As in :class:`ecrm_lib.value.btyd.FitResult`.
    n_fitted : int or None
        Repeat buyers the fit used: a random sample of the ``n_used`` when they
        are more than ``max_customers`` (None: all of them).
    """

    hessian: np.ndarray | None
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
    n_fitted: int | None = None

    def checks_table(self) -> pd.DataFrame:
        """The model's checks as a two-column table (``check``, ``value``) for display, in the report language."""
        yes_no = {True: t("table.yes"), False: t("table.no")}
        rows = [
            (t("customer_value.lib.check_customers"), f"{self.n_customers:,}"),
            (t("customer_value.lib.check_used"), f"{self.n_used:,}"),
            *([(t("customer_value.lib.check_fitted"), f"{self.n_fitted:,}")]
              if self.n_fitted is not None and self.n_fitted < self.n_used else []),
            (t("customer_value.lib.check_one_time"), f"{self.n_one_time:,}"),
            (t("customer_value.lib.check_nonpositive"), f"{self.n_nonpositive_spend:,}"),
            (t("customer_value.lib.check_corr"), f"{self.spend_frequency_corr:.3f}"),
            (t("customer_value.lib.check_corr_material", threshold=f"{self.corr_threshold:g}"), yes_no[bool(self.corr_material)]),
            (t("customer_value.lib.check_q"), yes_no[bool(self.params["q"] > 1)]),
        ]
        return pd.DataFrame(rows, columns=["check", "value"]).astype({"value": "string"})

    def params_table(self) -> pd.DataFrame:
        """Tidy parameters: ``model``, ``parameter``, ``value``, ``std_error``."""
        return params_table("gamma_gamma", self.params, self.standard_errors)

    def log_covariance(self) -> np.ndarray | None:
        """Covariance of the log parameters (p, q, gamma) from the observed information; None when unusable."""
        return log_parameter_covariance(self.hessian, self.n_fitted if self.n_fitted is not None else self.n_used)


def gamma_gamma_spend(params: Mapping[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x repeat purchases of mean m] = (p*gamma + p*x*m) / (p*x + q - 1) (Fader & Hardie 2013, eq. 5)."""
    p, q, g = float(params["p"]), float(params["q"]), float(params["gamma"])
    return (p * g + p * x * m) / (p * x + q - 1.0)


def fit_gamma_gamma_rows(x, m, w, *, penalizer_coef=0.0, tol=DEFAULT_TOL, fallbacks=DEFAULT_FALLBACKS, warm=None):
    """Gamma-Gamma on (x, m, weight) rows; spend is divided by its median for the optimizer, then scaled back.

    Each attempt minimises ``-sum(w * ll) / sum(w) + penalizer_coef * sum(params ** 2)`` (parameters
    in the scaled currency) by BFGS on log parameters with the exact gradient.

    Returns ``((hessian, params, log_likelihood), attempts)``.
    """
    c = float(np.median(m))  # currency scale: keeps the optimizer's start values sensible for KRW as for USD
    x = np.asarray(x, dtype=float)
    ms = np.asarray(m, dtype=float) / c

    def run_one(step):
        objective = penalised_objective(gamma_gamma_loglik, (x, ms), w, step["penalizer_coef"])
        out = minimise_bfgs(objective, initial_params("gamma_gamma", step["start"], warm, 1.0 / c), tol=step["tol"])
        if not out.success:
            raise ConvergenceError(f"Gamma-Gamma: the optimizer stopped without converging ({out.message}).")
        raw = np.exp(out.x)
        if not np.isfinite(raw).all() or (raw <= 0).any():
            raise NonFiniteParams("the optimizer returned NaN, infinite or non-positive parameters "
                                  f"({format_params(pd.Series(raw, index=['p', 'q', 'gamma']))})")
        # back to the currency: spend/c has rate gamma/c, so gamma = c * gamma'; the Hessian in log space is unchanged
        hessian = gradient_hessian(objective, out.x)
        params = pd.Series({"p": raw[0], "q": raw[1], "gamma": raw[2] * c})
        ll = float(np.sum(w * gamma_gamma_loglik(out.x, x, ms)) - np.sum(w) * math.log(c))  # density of m = of m/c over c
        if not np.isfinite(ll):
            raise NonFiniteParams(f"the log-likelihood at the estimates is not finite ({ll})")
        return (hessian if np.isfinite(hessian).all() else None), params, ll

    plan = attempt_plan(penalizer_coef, tol, fallbacks, "warm" if warm is not None else "default")
    return run_attempts("Gamma-Gamma", plan, run_one)


def fit_gamma_gamma(
    summary: pd.DataFrame,
    *,
    penalizer_coef: float = 0.0,
    tol: float = DEFAULT_TOL,
    fallbacks: Sequence[Mapping[str, Any]] | None = DEFAULT_FALLBACKS,
    corr_threshold: float = 0.3,
    min_customers: int = 10,
    frequency_col: str = "frequency",
    monetary_col: str = "monetary_value",
    max_customers: int | None = DEFAULT_MAX_FIT_CUSTOMERS,
    seed: int = 0,
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
        As for :func:`ecrm_lib.value.btyd.fit_btyd`.
    corr_threshold : float
        |Pearson r| between frequency and mean spend from which the
        independence assumption is flagged as doubtful (``corr_material``).
        0.3 is a common "moderate correlation" line; Fader & Hardie report
        r = 0.11 on CDNOW and accept it.
    min_customers : int
        Fewest repeat buyers with positive spend needed to fit.
    frequency_col, monetary_col : str
        Column names.
    max_customers : int, optional
        Most repeat buyers the fit uses; above it a random sample of them
        (:func:`ecrm_lib.value.btyd.sample_customers`, ``seed``), as for the
        purchase models. The checks (correlation, counts) use every repeat buyer.
    seed : int
        Seed of that sample.

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
        raise GammaGammaError(key="customer_value.lib.gg_too_few",
                              values={"n": n_used, "total": len(summary), "min": min_customers})
    x, m = x_all[used], m_all[used]
    with np.errstate(all="ignore"):
        corr = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else float("nan")
    rows = spend_rows(x, m)
    w = sample_customers(rows["w"].to_numpy(np.int64), max_customers, seed)
    rows = rows.assign(w=w)[w > 0]
    (hessian, params, ll), attempts = fit_gamma_gamma_rows(
        rows["x"].to_numpy(float), rows["m"].to_numpy(float), rows["w"].to_numpy(np.int64),
        penalizer_coef=penalizer_coef, tol=tol, fallbacks=fallbacks,
    )
    if params["q"] <= 1:
        raise GammaGammaError(key="customer_value.lib.gg_q", values={"q": float(params["q"])})
    se = standard_errors(params, hessian, float(rows["w"].sum()))
    used_row = attempts[attempts["used"]].iloc[0]
    return GammaGammaResult(
        hessian=hessian, params=params, standard_errors=se, log_likelihood=ll,
        n_customers=len(summary), n_used=n_used, n_one_time=int((~repeat).sum()),
        n_nonpositive_spend=int((repeat & ~(m_all > 0)).sum()),
        spend_frequency_corr=corr, corr_material=bool(np.isfinite(corr) and abs(corr) >= corr_threshold),
        corr_threshold=float(corr_threshold),
        population_mean_spend=float(params["p"] * params["gamma"] / (params["q"] - 1)),
        penalizer_coef=float(used_row["penalizer_coef"]), attempts=attempts,
        n_fitted=int(rows["w"].sum()) if int(rows["w"].sum()) < n_used else None,
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
    values = gamma_gamma_spend(gg.params, np.where(usable, x, 0.0), np.where(usable, m, 0.0))
    return pd.Series(values, index=summary.index, name="expected_spend")


def spend_rows(x: np.ndarray, m: np.ndarray) -> pd.DataFrame:
    """Distinct (frequency ``x``, mean spend ``m``) rows and how many repeat buyers share each (``w``), sorted."""
    return pd.DataFrame({"x": x, "m": m}).groupby(["x", "m"], sort=True).size().rename("w").reset_index()

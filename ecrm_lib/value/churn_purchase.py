"""The purchase model behind the churn report's P(alive) scores: the customer-value report's choice.

The churn report compares two scores of a purchase ("buy 'til you die") model
with its learned models: ``1 - P(alive)`` and the model's own probability of
**no purchase in the churn window**. So that the reader meets one P(alive)
across the pages (issue 15), the model is the one the customer-value report
chose (its metric ``best_model``: BG/NBD, Pareto/NBD or MBG/NBD), with that
report's settings (time unit, penalizer, largest fitted sample), refitted at
the churn cut-off for the held-out comparison and at the as-of date for the
scores. At the as-of date the fit sees the same histories as the
customer-value report's final fit, so P(alive) is the same per customer. When
the customer-value report is missing, BG/NBD is used and the page says so
(:attr:`PurchaseModel.source`).

Probability of no purchase in a window of length ``t`` after ``T``, given the
history (``x`` repeat purchases, ``A = alpha + T``, ``k = r + x``; the rate
``lambda`` of a customer alive at ``T`` is Gamma(k, A))::

    P0 = 1 - P(alive) + P(alive) * P(no purchase in t | alive at T)

- BG/NBD and MBG/NBD drop customers only at a purchase, so an active customer
  who buys nothing stays active: ``P(no purchase | alive) = (A / (A + t)) ** k``.
- Pareto/NBD customers can also leave during the window, at rate ``mu``
  (Gamma(s, B), ``B = beta + T``, given alive at ``T``), independent of ``lambda``.
  The first event of the window is a purchase with probability
  ``P(purchase | alive) = integral_0^t E[lambda exp(-lambda u)] E[exp(-mu u)] du``
  ``= integral_0^t (k / A) (A / (A + u)) ** (k + 1) (B / (B + u)) ** s du``.
  With ``w = 1 - (A / (A + u)) ** k`` this is
  ``integral_0^W (B / (B + u(w))) ** s dw``, ``W = 1 - (A / (A + t)) ** k``,
  ``u(w) = A ((1 - w) ** (-1 / k) - 1)``: a smooth, bounded integrand, taken by
  Gauss-Legendre quadrature (``s -> 0`` gives back the BG/NBD form).

Time is in the model's unit (``time_unit``: weeks by default); the window is
given in days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t
from ecrm_lib.value.btyd import DEFAULT_MAX_FIT_CUSTOMERS, MODEL_LABELS, MODELS, fit_btyd, predict_purchases
from ecrm_lib.value.churn_data import ChurnDataError
from ecrm_lib.value.features import TIME_UNITS
from ecrm_lib.value.fitting import ModelFitError

__all__ = [
    "DEFAULT_PURCHASE_MODEL",
    "QUADRATURE_NODES",
    "PurchaseModel",
    "chosen_purchase_model",
    "no_purchase_probability",
    "params_table",
    "summary_from_features",
]

#: The purchase model used when the customer-value report is missing.
DEFAULT_PURCHASE_MODEL = "bgnbd"
#: Gauss-Legendre nodes of the Pareto/NBD window integral.
QUADRATURE_NODES = 48
_BLOCK_ROWS = 50_000


def no_purchase_probability(model: str, params: Mapping[str, float], p_alive, x, T, t: float) -> np.ndarray:
    """Probability of no purchase in the next ``t`` time units, given each history (0-1).

    Parameters
    ----------
    model : {"bgnbd", "pareto", "mbgnbd"}
    params : mapping
        The fit's parameters (``r``, ``alpha`` and ``a``, ``b`` or ``s``, ``beta``; rates per time unit).
    p_alive : array-like
        P(alive) at ``T`` of each customer (the model's own).
    x, T : array-like
        Repeat purchases and age (time units) of each customer.
    t : float
        Window length (time units).

    Examples
    --------
    A Pareto/NBD customer with a tiny drop-out rate behaves like a BG/NBD one (no drop-out in the window):

    >>> p = {"r": 0.5, "alpha": 10.0, "s": 1e-9, "beta": 10.0}
    >>> a = no_purchase_probability("pareto", p, [0.8], [2], [30.0], 26.0)
    >>> b = no_purchase_probability("bgnbd", {"r": 0.5, "alpha": 10.0, "a": 1.0, "b": 1.0}, [0.8], [2], [30.0], 26.0)
    >>> bool(abs(a[0] - b[0]) < 1e-8)
    True
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, but {model!r} was passed.")
    pa = np.asarray(p_alive, dtype=float)
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    r, alpha = float(params["r"]), float(params["alpha"])
    A, k = alpha + T, r + x
    log_quiet = k * (np.log(A) - np.log(A + float(t)))  # log (A / (A + t)) ** k
    if model != "pareto":
        buy_if_alive = -np.expm1(log_quiet)
    else:
        s, beta = float(params["s"]), float(params["beta"])
        nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
        buy_if_alive = np.empty(len(pa))
        for i in range(0, len(pa), _BLOCK_ROWS):
            sl = slice(i, i + _BLOCK_ROWS)
            W = -np.expm1(log_quiet[sl])[:, None]  # upper end of the integral in w
            w = W * (nodes[None, :] + 1.0) / 2.0
            u = A[sl, None] * np.expm1(-np.log1p(-w) / k[sl, None])
            integrand = np.exp(-s * np.log1p(u / (beta + T[sl, None])))
            buy_if_alive[sl] = (W[:, 0] / 2.0) * (integrand @ weights)
    return np.clip(1.0 - pa * buy_if_alive, 0.0, 1.0)


def params_table(params: Mapping[str, float]) -> pd.DataFrame:
    """A fit's parameters as a table: ``parameter``, ``estimate`` (rates per the model's time unit).

    >>> params_table({"r": 0.5, "alpha": 10.0})
      parameter  estimate
    0         r       0.5
    1     alpha      10.0
    """
    return pd.DataFrame({"parameter": list(params), "estimate": [float(v) for v in params.values()]})


def summary_from_features(features: pd.DataFrame, time_unit: str = "W") -> pd.DataFrame:
    """``frequency``, ``recency``, ``T`` in ``time_unit`` from churn features in days
    (``frequency``, ``recency_days``, ``tenure_days`` of :func:`ecrm_lib.value.churn_data.churn_features`)."""
    days = TIME_UNITS[time_unit]
    return pd.DataFrame({"frequency": features["frequency"].astype("int64"), "recency": features["recency_days"] / days,
                         "T": features["tenure_days"] / days}, index=features.index)


@dataclass(frozen=True)
class PurchaseModel:
    """The purchase model of the churn report's P(alive) scores and the settings it is fitted with.

    Attributes
    ----------
    model : {"bgnbd", "pareto", "mbgnbd"}
    time_unit : str
        Unit of the histories it is fitted on ("W", "D" or "M").
    penalizer_coef : float
        L2 penalty of the fit.
    max_customers : int or None
        Largest sample a fit uses (:func:`ecrm_lib.value.btyd.fit_btyd`).
    source : {"customer_value", "fallback"}
        "customer_value": the customer-value report's choice and settings; "fallback": that report is
        missing and BG/NBD is used.
    """

    model: str = DEFAULT_PURCHASE_MODEL
    time_unit: str = "W"
    penalizer_coef: float = 0.0
    max_customers: int | None = DEFAULT_MAX_FIT_CUSTOMERS
    source: str = "fallback"

    @property
    def name(self) -> str:
        """The model's name (BG/NBD, Pareto/NBD, MBG/NBD)."""
        return MODEL_LABELS[self.model]

    @property
    def note_key(self) -> str:
        """Catalogue key of the sentence that says which model gives P(alive) and why (placeholder ``model``)."""
        return "churn.purchase_model_chosen" if self.source == "customer_value" else "churn.purchase_model_fallback"

    def note(self) -> str:
        """That sentence in the report language."""
        return t(self.note_key, model=self.name)

    def scores(self, fit_summary: pd.DataFrame, score_summary: pd.DataFrame | None = None, *,
               window_days: float) -> pd.DataFrame:
        """Fit on ``fit_summary`` and give P(alive) and the probability of no purchase in the window.

        Parameters
        ----------
        fit_summary : pandas.DataFrame
            ``frequency``, ``recency``, ``T`` per customer in :attr:`time_unit` (for example
            :func:`ecrm_lib.value.features.rfm_summary` with that unit); the model is fitted on them.
        score_summary : pandas.DataFrame, optional
            Customers to score (same columns); default ``fit_summary``.
        window_days : float
            The window in days.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``score_summary``: ``p_alive`` and ``p_no_purchase`` (0-1). ``attrs``:
            ``model``, ``params`` (rates per time unit) and ``penalizer``.

        Raises
        ------
        ChurnDataError
            The model could not be fitted (every fallback of the fit failed).
        """
        score_summary = fit_summary if score_summary is None else score_summary
        try:
            fit = fit_btyd(fit_summary, self.model, penalizer_coef=self.penalizer_coef, time_unit=self.time_unit,
                           max_customers=self.max_customers)
        except ModelFitError as exc:
            raise ChurnDataError(key="churn.error.purchase_fit", values={"model": self.name, "why": exc.in_language}) from exc
        if len(score_summary) == 0:
            p_alive = np.array([], dtype=float)
        else:
            p_alive = predict_purchases(fit, score_summary)["p_alive"].to_numpy(float)
        t_units = float(window_days) / TIME_UNITS[self.time_unit]
        p0 = no_purchase_probability(self.model, fit.params, p_alive, score_summary["frequency"], score_summary["T"], t_units)
        out = pd.DataFrame({"p_alive": p_alive, "p_no_purchase": p0}, index=score_summary.index)
        out.attrs.update(model=self.model, params={k: float(v) for k, v in fit.params.items()},
                         penalizer=float(fit.penalizer_coef))
        return out


def chosen_purchase_model(best_model: str | None, parameters: Mapping[str, Any] | None = None) -> PurchaseModel:
    """The customer-value report's purchase model with its settings, or BG/NBD when that report is missing.

    Parameters
    ----------
    best_model : str or None
        The customer-value report's metric ``best_model`` (None: the report did not run or recorded none).
    parameters : mapping, optional
        The customer-value report's parameters (``time_unit``, ``penalizer_coef``, ``max_fit_customers``).

    Examples
    --------
    >>> chosen_purchase_model("pareto", {"time_unit": "W", "penalizer_coef": 0.0}).source
    'customer_value'
    >>> m = chosen_purchase_model(None)
    >>> m.model, m.source
    ('bgnbd', 'fallback')
    """
    p = dict(parameters or {})
    known = best_model in MODELS
    unit = p.get("time_unit") or "W"
    return PurchaseModel(
        model=best_model if known else DEFAULT_PURCHASE_MODEL,
        time_unit=unit if unit in TIME_UNITS else "W",
        penalizer_coef=float(p.get("penalizer_coef") or 0.0),
        max_customers=p.get("max_fit_customers", DEFAULT_MAX_FIT_CUSTOMERS),
        source="customer_value" if known else "fallback",
    )

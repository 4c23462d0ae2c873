"""Predictions of the purchase models in log space: P(alive), expected and discounted purchases.

``lifetimes`` evaluates its predictions as written in the papers, with powers
such as ``((alpha + T) / (alpha + t_x)) ** (r + x)`` and hypergeometric
functions of ``r + x``. For a customer with thousands of purchase days they
overflow, and differences of nearly equal terms cancel: at one million persons
one history out of 1,001,003 gave a non-finite Pareto/NBD prediction and
stopped the run. Here the same quantities are computed from stable forms:

- **P(alive)** through its log-odds of having left, ``log(1 / P(alive) - 1)``,
  and ``P(alive) = expit(-log_odds)``. BG/NBD (Fader, Hardie & Lee 2005a,
  eq. 5 of Fader, Hardie & Lee's note 021) and MBG/NBD (Batislam et al. 2007,
  appendix A eq. 5) have a closed form; for Pareto/NBD the log-odds are
  ``log s + (r+x) log(alpha+T) + s log(beta+T) + log I``, where
  ``I = integral from t_x to T of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy``
  (Fader & Hardie's note 009, eqs. 18-20) is the difference ``G(t_x) - G(T)``
  of two hypergeometric terms taken in log space (``log G(t_x) +
  log(-expm1(log G(T) - log G(t_x)))``); when ``beta > alpha`` Euler's
  transformation keeps ``2F1(r+s+x, r+x; r+s+x+1; z)`` from overflowing.
- **Expected purchases** factorise as ``E[N(t) | x, t_x, T] = P(alive) *
  E[N(t) | alive at T, x, T]``: a customer who has left buys nothing, and an
  active one's future depends on x and T only. The second factor
  (:func:`alive_purchases`) is closed-form for Pareto/NBD; for BG/NBD and
  MBG/NBD Euler's transformation turns ``((alpha+T)/(alpha+T+t))^(r+x)
  2F1(r+x, b+x; a+b+x-1; z)`` into ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``,
  whose terms shrink as x grows.

Fallbacks
---------
Where a stable form is still not finite (a hypergeometric function outside
the range scipy evaluates), the prediction of that history uses a stated
fallback and is flagged (column ``fallback`` of :func:`predict_histories`):

- Pareto/NBD P(alive): the integral ``I`` by adaptive quadrature
  (``scipy.integrate.quad``) of its log-shifted integrand;
- E[N(t) | alive]: the Gamma posterior mean rate without drop-out during the
  horizon, ``(r + x) / (alpha + T) * t`` (an upper bound);
- anything still not finite: P(alive) 0 and no purchases ("not computable").

Time is in the unit of the summary (weeks by default); parameters are those of
:attr:`ecrm_lib.value.btyd.FitResult.params` (``alpha``, ``beta`` per time unit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

__all__ = [
    "DAYS_PER_YEAR",
    "FALLBACK_NOT_COMPUTABLE",
    "FALLBACK_NO_DROPOUT",
    "FALLBACK_QUADRATURE",
    "alive_purchases",
    "discount_schedule",
    "expected_purchases_curve",
    "log_odds_left",
    "pareto_log_integral",
    "predict_histories",
]

#: Days per year of the discount rate.
DAYS_PER_YEAR = 365.25

#: Fallback labels (column ``fallback`` of :func:`predict_histories`).
FALLBACK_QUADRATURE = "P(alive) by numerical integration"
FALLBACK_NO_DROPOUT = "expected purchases without drop-out in the horizon (upper bound)"
FALLBACK_NOT_COMPUTABLE = "not computable: P(alive) 0, no purchases"

_UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 30.4375}


def _params(params: Mapping[str, float], names) -> list[float]:
    return [float(params[k]) for k in names]


# --------------------------------------------------------------------------- P(alive)


def _pareto_log_g(r, alpha, s, beta, x, y):
    """log G(y), G(y) = (m + y)^-rho / rho * 2F1(...): one end of the Pareto/NBD integral I."""
    rho = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        return -rho * np.log(alpha + y) - np.log(rho) + np.log(hyp2f1(rho, s + 1.0, rho + 1.0, z))
    # beta > alpha: 2F1(rho, r+x; rho+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; rho+1; z), 1 - z = (alpha+y)/(beta+y)
    z = (beta - alpha) / (beta + y)
    log_one_minus_z = np.log(alpha + y) - np.log(beta + y)
    return (-rho * np.log(beta + y) - np.log(rho) + (1.0 - r - x) * log_one_minus_z
            + np.log(hyp2f1(1.0, s + 1.0, rho + 1.0, z)))


def pareto_log_integral(r: float, alpha: float, s: float, beta: float, x, tx, T) -> np.ndarray:
    """log of I = integral from t_x to T of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy (Pareto/NBD), without cancellation.

    -inf where t_x = T (or rounding makes the two ends equal); NaN only where a
    hypergeometric function fails. Used by P(alive) and by the likelihood of
    :mod:`ecrm_lib.value.btyd` (``L = ... [(alpha+T)^-(r+x) (beta+T)^-s + s I]``).
    """
    with np.errstate(all="ignore"):
        lg_tx = _pareto_log_g(r, alpha, s, beta, x, tx)
        lg_T = _pareto_log_g(r, alpha, s, beta, x, T)
        delta = lg_T - lg_tx  # <= 0: G decreases in y
        return np.where(delta < 0, lg_tx + np.log(-np.expm1(np.minimum(delta, 0.0))), np.where(np.isnan(delta), np.nan, -np.inf))


def _pareto_log_odds(params, x, tx, T):
    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    with np.errstate(all="ignore"):
        log_i = pareto_log_integral(r, alpha, s, beta, x, tx, T)
        return np.log(s) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + log_i


def _pareto_log_odds_quad(params, x: float, tx: float, T: float) -> float:
    """Pareto/NBD log-odds of having left by quadrature of I (the fallback; one history)."""
    from scipy.integrate import quad

    r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
    if T <= tx:
        return -math.inf

    def phi(y):
        return (r + x) * (math.log(alpha + T) - math.log(alpha + y)) + s * (math.log(beta + T) - math.log(beta + y)) - math.log(beta + y)

    top = phi(tx)  # phi decreases in y: the integrand exp(phi - top) lies in (0, 1]
    width = (alpha + tx) / (r + x + s + 1.0)  # where the integrand has fallen by about e
    val, _ = quad(lambda y: math.exp(phi(y) - top), tx, T, points=[min(T, tx + width)], limit=200)
    return math.log(s) + top + math.log(val) if val > 0 else -math.inf


def log_odds_left(model: str, params: Mapping[str, float], x, tx, T) -> np.ndarray:
    """log(1 / P(alive) - 1) per history: -inf when the customer is surely active.

    Parameters
    ----------
    model : {"bgnbd", "pareto", "mbgnbd"}
    params : mapping
        Model parameters (``alpha``, ``beta`` per time unit).
    x, tx, T : array-like
        Repeat purchases, recency and age (time units).

    Returns
    -------
    numpy.ndarray
        May hold NaN where a hypergeometric function failed (Pareto/NBD only).

    Examples
    --------
    >>> p = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> round(float(expit(-log_odds_left("bgnbd", p, 2, 30.43, 38.86)[0])), 4)
    0.7266
    >>> float(expit(-log_odds_left("bgnbd", p, 5000, 0.0, 500.0)[0]))  # lifetimes overflows here
    0.0
    """
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    with np.errstate(all="ignore"):
        if model == "bgnbd":
            r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
            lo = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            return np.atleast_1d(np.where(x > 0, lo, -np.inf))
        if model == "mbgnbd":
            r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
            return np.atleast_1d(np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))
        if model == "pareto":
            return np.atleast_1d(_pareto_log_odds(params, x, tx, T))
    raise ValueError(f"model must be one of ['bgnbd', 'pareto', 'mbgnbd'], but {model!r} was passed.")


# --------------------------------------------------------------------------- purchases of an active customer


def _one_minus_power_over(k, log_q):
    """(1 - q**k) / k for q = exp(log_q), its limit -log_q at k = 0."""
    if abs(k) < 1e-12:
        return -log_q
    return -np.expm1(k * log_q) / k


def alive_purchases(model: str, params: Mapping[str, float], t, x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | active at T, x repeat purchases, age T]; broadcasts ``t`` against x and T.

    ``E[N(t) | x, t_x, T] = P(alive) * alive_purchases(t, x, T)`` for the three models.

    Examples
    --------
    >>> p = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}
    >>> alive_purchases("pareto", p, 52.0, 3, 30.0).round(4).tolist()
    3.4812
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    with np.errstate(all="ignore"):
        if model == "pareto":
            r, alpha, s, beta = _params(params, ("r", "alpha", "s", "beta"))
            log_q = np.log(beta + T) - np.log(beta + T + t)
            return (r + x) / (alpha + T) * (beta + T) * _one_minus_power_over(s - 1.0, log_q)
        r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
        z = t / (alpha + T + t)
        if model == "bgnbd":
            c = a + b + x - 1.0
            f = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        elif model == "mbgnbd":
            c = a + b + x
            f = hyp2f1(a + b - r, a - 1.0, c, z)
        else:
            raise ValueError(f"model must be one of ['bgnbd', 'pareto', 'mbgnbd'], but {model!r} was passed.")
        # 1 - (1-z)^(a-1) F, as -expm1((a-1) log1p(-z)) - (1-z)^(a-1) (F - 1): exact where z is small
        one_minus_z_pow = np.exp((a - 1.0) * np.log1p(-z))
        bracket = -np.expm1((a - 1.0) * np.log1p(-z)) - one_minus_z_pow * (f - 1.0)
        return c / (a - 1.0) * bracket


# --------------------------------------------------------------------------- discounting


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
    if time_unit not in _UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(_UNIT_DAYS)}, but {time_unit!r} was passed.")
    if not horizon > 0:
        raise ValueError(f"horizon must be > 0 time units, but {horizon!r} was passed.")
    if not step > 0:
        raise ValueError(f"step must be > 0 time units, but {step!r} was passed.")
    if not annual_discount_rate >= 0:
        raise ValueError(f"annual_discount_rate must be a share >= 0 (0.1 = 10 % a year), but {annual_discount_rate!r} was passed.")
    n = math.ceil(horizon / step - 1e-9)
    ends = np.minimum(np.arange(1, n + 1) * step, horizon).astype(float)
    starts = np.concatenate([[0.0], ends[:-1]])
    factor = (1.0 + annual_discount_rate) ** (-ends * _UNIT_DAYS[time_unit] / DAYS_PER_YEAR)
    return pd.DataFrame({"t_start": starts, "t_end": ends, "factor": factor})


# --------------------------------------------------------------------------- per history


def _pairs(x: np.ndarray, T: np.ndarray):
    """Distinct (x, T) pairs and, per history, the index of its pair."""
    t_codes, t_values = pd.factorize(T, sort=True)
    key = x.astype(np.int64) * (len(t_values) + 1) + t_codes
    key_codes, keys = pd.factorize(key, sort=True)
    return (keys // (len(t_values) + 1)).astype(float), np.asarray(t_values)[keys % (len(t_values) + 1)], key_codes


def _alive_part(model, params, ends: np.ndarray, factor: np.ndarray | None, xp, Tp, block: int = 20_000):
    """Per (x, T) pair: E[N(t_end) | alive] (factor None) or sum_k factor_k * increment_k; with the fallback flags."""
    r, alpha = float(params["r"]), float(params["alpha"])
    out = np.empty(len(xp))
    bad = np.zeros(len(xp), dtype=bool)
    for start in range(0, len(xp), block):
        sl = slice(start, start + block)
        x, T = xp[sl], Tp[sl]
        cum = np.broadcast_to(alive_purchases(model, params, ends[:, None], x, T), (len(ends), len(x)))
        if factor is None:
            vals = cum[-1]
        else:
            vals = factor @ np.diff(cum, axis=0, prepend=0.0)
        # the posterior mean rate without drop-out in the horizon: an upper bound, and the fallback
        span = ends[-1] if factor is None else float(factor @ np.diff(ends, prepend=0.0))
        bound = (r + x) / (alpha + T) * span
        fail = ~np.isfinite(vals) | (vals < -1e-9 * bound)  # rounding may leave a tiny negative; more is a failure
        vals = np.where(fail, bound, np.maximum(vals, 0.0))
        out[sl], bad[sl] = vals, fail
    return out, bad


def predict_histories(model: str, params: Mapping[str, float], x, tx, T, *, horizon: float | None = None,
                      schedule: pd.DataFrame | None = None, max_quadrature: int = 10_000) -> pd.DataFrame:
    """P(alive), expected and discounted purchases of histories (arrays), never failing on one history.

    Parameters
    ----------
    model : {"bgnbd", "pareto", "mbgnbd"}
    params : mapping
        Model parameters in the histories' time unit.
    x, tx, T : array-like
        Repeat purchases, recency and age (time units), one entry per history.
    horizon : float, optional
        Time units ahead for ``expected_purchases`` (omitted when None).
    schedule : pandas.DataFrame, optional
        :func:`discount_schedule`, for ``discounted_purchases`` (omitted when None).
    max_quadrature : int
        Most Pareto/NBD histories evaluated by quadrature (the first fallback); the rest are not computable.

    Returns
    -------
    pandas.DataFrame
        One row per history: ``p_alive`` (share), ``expected_purchases``,
        ``discounted_purchases`` (purchases, as asked) and ``fallback`` ("" or
        the fallback used: :data:`FALLBACK_QUADRATURE`,
        :data:`FALLBACK_NO_DROPOUT`, :data:`FALLBACK_NOT_COMPUTABLE`).
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    tx = np.atleast_1d(np.asarray(tx, dtype=float))
    T = np.atleast_1d(np.asarray(T, dtype=float))
    fallback = np.full(len(x), "", dtype=object)
    lo = log_odds_left(model, params, x, tx, T)
    bad = np.isnan(lo)
    if bad.any() and model == "pareto":
        idx = np.flatnonzero(bad)[:max_quadrature]
        for i in idx:
            try:
                lo[i] = _pareto_log_odds_quad(params, x[i], tx[i], T[i])
            except (ArithmeticError, ValueError):
                continue
        fallback[idx] = FALLBACK_QUADRATURE
    lost = np.isnan(lo)
    p_alive = np.where(lost, 0.0, expit(-np.where(lost, 0.0, lo)))
    out = {"p_alive": p_alive}
    if horizon is not None or schedule is not None:
        xp, Tp, inv = _pairs(x, T)
        if horizon is not None:
            if horizon < 0:
                raise ValueError(f"horizon must be >= 0 time units, but {horizon!r} was passed.")
            if horizon == 0:
                out["expected_purchases"] = np.zeros(len(x))
            else:
                part, pbad = _alive_part(model, params, np.array([float(horizon)]), None, xp, Tp)
                out["expected_purchases"] = p_alive * part[inv]
                fallback[pbad[inv] & (fallback == "")] = FALLBACK_NO_DROPOUT
        if schedule is not None:
            ends = schedule["t_end"].to_numpy(dtype=float)
            part, pbad = _alive_part(model, params, ends, schedule["factor"].to_numpy(dtype=float), xp, Tp)
            out["discounted_purchases"] = p_alive * part[inv]
            fallback[pbad[inv] & (fallback == "")] = FALLBACK_NO_DROPOUT
    frame = pd.DataFrame(out)
    for c in frame.columns:
        still = ~np.isfinite(frame[c].to_numpy())
        if still.any():
            frame.loc[still, c] = 0.0
            fallback[still] = FALLBACK_NOT_COMPUTABLE
    fallback[lost] = FALLBACK_NOT_COMPUTABLE
    frame["fallback"] = fallback
    return frame


def expected_purchases_curve(model: str, params: Mapping[str, float], x, tx, T, ends, weights=None) -> np.ndarray:
    """Total expected purchases of a group of histories up to each of ``ends`` (time units), in one pass.

    ``sum_i w_i P(alive)_i E[N(t) | alive, x_i, T_i]``: P(alive) once per
    history, the active part once per distinct (x, T) and end. Histories that
    need a fallback get it as in :func:`predict_histories`.

    Returns
    -------
    numpy.ndarray
        One total per end (purchases); 0 where an end is 0.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    ends = np.asarray(ends, dtype=float)
    p_alive = predict_histories(model, params, x, tx, T)["p_alive"].to_numpy()
    xp, Tp, inv = _pairs(x, np.atleast_1d(np.asarray(T, dtype=float)))
    mass = np.bincount(inv, weights=w * p_alive, minlength=len(xp))
    out = np.zeros(len(ends))
    positive = ends > 0
    if positive.any():
        for j in np.flatnonzero(positive):
            part, _ = _alive_part(model, params, ends[j:j + 1], None, xp, Tp)
            out[j] = float(mass @ part)
    return out

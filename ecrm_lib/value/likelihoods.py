"""Log-likelihoods of the purchase and spend models, written with scipy, and their optimizer.

The suite owns its likelihoods so that a change inside ``lifetimes`` (archived upstream, last
release 2020) cannot silently change a fit: ``lifetimes`` is only a reference in the tests
(its public fitters on CDNOW give the same estimates to 1e-4, ``tests/test_clv.py``).

Per history (customer, or distinct history with a weight):

- BG/NBD, Fader, Hardie & Lee (2005a), *Marketing Science* 24(2), eq. 6 (and section 7 of
  brucehardie.com note 004); parameters r, alpha (per time unit), a, b.
- MBG/NBD, Batislam, Denizel & Filiztekin (2007), *IJRM* 24(3), eq. 9; r, alpha, a, b.
- Pareto/NBD, Schmittlein, Morrison & Colombo (1987); Fader, Hardie & Lee (2005), note 009
  eq. 19-22; r, alpha, s, beta (alpha and beta per time unit).
- Gamma-Gamma, Fader & Hardie (2013), note 025 eq. 4: the mean repeat spend m of x repeat
  purchases; p, q, gamma (gamma in the currency of m).

Fits maximise the weighted mean log-likelihood in log parameters (positive parameters without
bounds), as ``lifetimes`` does: the objective is
``-sum(w * ll) / sum(w) + penalizer_coef * sum(params ** 2)`` (Pareto/NBD: divided by
``mean(w)``, as lifetimes' Pareto/NBD), minimised by BFGS with the exact gradient for BG/NBD,
MBG/NBD and Gamma-Gamma; the curvature (Hessian of the objective in log parameters) comes from
central differences of that gradient.

Examples
--------
>>> import numpy as np
>>> x, tx, T = np.array([0, 2]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
>>> ll, grad = bgnbd_loglik(np.log([0.243, 4.414, 0.793, 2.426]), x, tx, T, gradient=True)
>>> ll.round(4).tolist(), grad.shape
([-0.499, -8.8588], (2, 4))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1, logsumexp

__all__ = [
    "bgnbd_loglik",
    "gamma_gamma_loglik",
    "gradient_hessian",
    "mbgnbd_loglik",
    "minimise_bfgs",
    "pareto_loglik_function",
    "penalised_objective",
]


def bgnbd_loglik(log_params, x, tx, T, *, gradient: bool = False):
    """BG/NBD log-likelihood of each history, and optionally its gradient in the log parameters.

    Parameters
    ----------
    log_params : array of 4 floats
        log of (r, alpha, a, b); alpha per time unit of ``tx`` and ``T``.
    x, tx, T : arrays
        Repeat purchases, time of the last purchase and age (time units).
    gradient : bool
        Also return the (n, 4) gradient of each history's log-likelihood in the log parameters.
    """
    r, alpha, a, b = np.exp(np.asarray(log_params, dtype=float))
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    rep = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    bx1 = b + np.maximum(x, 1.0) - 1.0
    a4 = np.where(rep, np.log(a) - np.log(bx1) - (r + x) * np.log(tx + alpha), -np.inf)
    mix = np.logaddexp(a3, a4)
    ll = a1 + a2 + mix
    if not gradient:
        return ll
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + tx)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + tx)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / bx1
    return ll, np.column_stack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])


def mbgnbd_loglik(log_params, x, tx, T, *, gradient: bool = False):
    """MBG/NBD log-likelihood of each history (and its gradient in the log parameters); as :func:`bgnbd_loglik`."""
    r, alpha, a, b = np.exp(np.asarray(log_params, dtype=float))
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + T)
    log_ratio = np.log(alpha + T) - np.log(alpha + tx)
    a4 = np.log(a) - np.log(b + x) + (r + x) * log_ratio
    ll = a1 + a2 + a3 + np.logaddexp(a4, 0.0)
    if not gradient:
        return ll
    s = expit(a4)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T) + s * log_ratio
    d_alpha = r / alpha - (r + x) / (alpha + T) + s * (r + x) * (1.0 / (alpha + T) - 1.0 / (alpha + tx))
    d_a = digamma(a + b) - digamma(a + b + x + 1) + s / a
    d_b = digamma(a + b) + digamma(b + x + 1) - digamma(b) - digamma(a + b + x + 1) - s / (b + x)
    return ll, np.column_stack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])


def gamma_gamma_loglik(log_params, x, m, *, gradient: bool = False):
    """Gamma-Gamma log-likelihood of each mean repeat spend ``m`` over ``x`` repeat purchases (and its gradient).

    Parameters
    ----------
    log_params : array of 3 floats
        log of (p, q, gamma); gamma in the currency of ``m``.
    x, m : arrays
        Repeat purchases (> 0) and their mean spend (> 0, currency).
    """
    p, q, v = np.exp(np.asarray(log_params, dtype=float))
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    log_xmv = np.log(x * m + v)
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
          - (px + q) * log_xmv)
    if not gradient:
        return ll
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_xmv)
    d_q = digamma(px + q) - digamma(q) + np.log(v) - log_xmv
    d_v = q / v - (px + q) / (x * m + v)
    return ll, np.column_stack([p * d_p, q * d_q, v * d_v])


def pareto_loglik_function(x, tx, T, stable_log_integral: Callable | None = None):
    """Per-history Pareto/NBD log-likelihood as a function of the parameters (r, alpha, s, beta), for fixed histories.

    Its two Gauss hypergeometric functions are evaluated once per distinct (x, t_x) and (x, T)
    pair: at a million customers there are far fewer such pairs than histories, and they are
    most of an evaluation's cost. A history whose value is not finite (a frequent buyer whose
    terms cancel) is taken from ``stable_log_integral(r, alpha, s, beta, x, tx, T)`` (the log of
    the integral I of note 009) when given.
    """
    x = np.asarray(x, dtype=float)
    rec = np.asarray(tx, dtype=float)
    age = np.asarray(T, dtype=float)

    def pairs(y):
        codes, keys = pd.factorize(pd.MultiIndex.from_arrays([x, y]), sort=False)
        return keys.get_level_values(0).to_numpy(float), keys.get_level_values(1).to_numpy(float), codes

    x1, y1, inv1 = pairs(rec)
    x2, y2, inv2 = pairs(age)

    def loglik(params):
        r, alpha, s, beta = (float(v) for v in params)
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
        if bad.any() and stable_log_integral is not None:
            log_i = stable_log_integral(r, alpha, s, beta, x[bad], rec[bad], age[bad])
            ll[bad] = a1[bad] + np.logaddexp(-(r + x[bad]) * np.log(alpha + age[bad]) - s * np.log(beta + age[bad]),
                                             np.log(s) + log_i)
        return ll

    return loglik


def penalised_objective(loglik: Callable, data: tuple, weights, penalizer_coef: float):
    """``f(log_params) -> (value, gradient)`` of ``-sum(w * ll) / sum(w) + penalizer_coef * sum(params ** 2)``.

    ``loglik(log_params, *data, gradient=True)`` returns each row's log-likelihood and its gradient.
    A non-finite value reads as +inf (the line search then steps back).
    """
    w = np.asarray(weights, dtype=float)
    total = w.sum()

    def objective(log_params):
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = loglik(log_params, *data, gradient=True)
            value = -(w @ ll) / total + penalizer_coef * np.sum(params ** 2)
            g = -(w @ grad) / total + 2.0 * penalizer_coef * params ** 2
        if not np.isfinite(value) or not np.isfinite(g).all():
            return np.inf, np.zeros_like(log_params)
        return float(value), g

    return objective


def minimise_bfgs(objective: Callable, x0, *, tol: float, hess_inv0=None, maxiter: int | None = None):
    """BFGS on ``objective`` (value and gradient) from ``x0``; the scipy result (check ``success``)."""
    options = {} if maxiter is None else {"maxiter": maxiter}
    if hess_inv0 is not None:
        options["hess_inv0"] = hess_inv0
    return minimize(objective, x0=np.asarray(x0, dtype=float), jac=True, method="BFGS", tol=tol, options=options)


def gradient_hessian(objective: Callable, x, h: float = 1e-5) -> np.ndarray:
    """Hessian at ``x`` by central differences of the exact gradient of ``objective`` (symmetrised)."""
    x = np.asarray(x, dtype=float)
    k = len(x)
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (objective(x + e)[1] - objective(x - e)[1]) / (2 * h)
    return (H + H.T) / 2

"""Several comparisons at once: adjusted p-values and intervals, and a test of equal effects.

When a report compares many groups (uplift in six segments, say) and then
points at one of them, the largest of several unadjusted intervals is biased
upwards and too narrow: with six groups whose true effects are equal, one 95 %
interval in six misses the truth on average, and the *largest* estimate misses
it far more often. This module holds the tools the reports use against that:

- :func:`holm`: Holm's step-down adjusted p-values (family-wise error rate).
  We use Holm rather than Benjamini-Hochberg because the segment claims of the
  feedback report drive actions (a segment is named as responding best, or is
  down-weighted or removed from the next selection): a single false claim costs
  money, so the probability of *any* false claim in the family is what we
  control, not the expected share of false discoveries.
- :func:`simultaneous_level`: the per-comparison level of intervals that hold
  together for the whole family (Bonferroni, ``1 - (1 - level) / m``). Holm's
  step-down procedure has no simple interval form; its first step is exactly
  this Bonferroni level, so these intervals are the ones compatible with Holm
  that hold simultaneously (they are at least as wide as Holm needs).
- :func:`two_proportion_p`: two-sided p-value of the pooled score (z) test that
  two response rates are equal.
- :func:`cochran_q`: Cochran's Q test that several effects are equal
  (heterogeneity), to be passed before any group is called "the largest".
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["cochran_q", "holm", "simultaneous_level", "two_proportion_p", "uplift_variance"]


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (missing p-values stay missing and do not count).

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values of the family (NaN: not tested).

    Returns
    -------
    ndarray
        Adjusted p-values, capped at 1; a claim is made at family-wise level
        ``alpha`` where the adjusted p-value is below ``alpha``.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def simultaneous_level(level: float, m: int) -> float:
    """Per-comparison confidence level so that ``m`` intervals hold together at ``level`` (Bonferroni).

    Examples
    --------
    >>> simultaneous_level(0.95, 5)
    0.99
    >>> simultaneous_level(0.95, 1)
    0.95
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), but {level!r} was passed.")
    return 1 - (1 - level) / max(int(m), 1)


def two_proportion_p(x1: int, n1: int, x0: int, n0: int) -> float:
    """Two-sided p-value of the pooled score test that ``x1/n1`` and ``x0/n0`` are equal (NaN if untestable).

    Examples
    --------
    >>> round(two_proportion_p(30, 100, 15, 100), 4)
    0.0111
    >>> two_proportion_p(0, 10, 0, 10)
    1.0
    """
    if n1 <= 0 or n0 <= 0:
        return math.nan
    pooled = (x1 + x0) / (n1 + n0)
    if pooled in (0.0, 1.0):
        return 1.0  # every account answered alike: no evidence of a difference
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return float(2 * stats.norm.sf(abs(x1 / n1 - x0 / n0) / se))


def uplift_variance(x1, n1, x0, n0) -> np.ndarray:
    """Variance of a difference of two rates, from Agresti-Caffo adjusted rates (one success and one failure
    added to each arm), so that a segment where nobody (or everybody) responded still gets a positive variance.

    Examples
    --------
    >>> float(uplift_variance(0, 10, 0, 10)) > 0
    True
    """
    x1, n1, x0, n0 = (np.asarray(v, dtype=float) for v in (x1, n1, x0, n0))
    p1, p0 = (x1 + 1) / (n1 + 2), (x0 + 1) / (n0 + 2)
    return p1 * (1 - p1) / (n1 + 2) + p0 * (1 - p0) / (n0 + 2)


def cochran_q(effects, variances) -> tuple[float, int, float]:
    """Cochran's Q test that ``k`` independent effects are equal.

    ``Q = sum w_i (d_i - d_bar)^2`` with inverse-variance weights ``w_i`` and
    their weighted mean ``d_bar``; under equal effects Q is chi-square with
    ``k - 1`` degrees of freedom.

    Parameters
    ----------
    effects, variances : array-like of float
        One effect and its variance per group (groups with a missing or
        non-positive variance are left out).

    Returns
    -------
    (Q, dof, p_value)
        NaN Q and p-value (dof 0) with fewer than two groups.

    Examples
    --------
    >>> q, dof, p = cochran_q([0.02, 0.03, 0.025], [1e-4, 1e-4, 1e-4])
    >>> round(q, 3), dof, round(p, 3)
    (0.5, 2, 0.779)
    """
    d = np.asarray(effects, dtype=float)
    v = np.asarray(variances, dtype=float)
    ok = ~np.isnan(d) & ~np.isnan(v) & (v > 0)
    d, v = d[ok], v[ok]
    k = len(d)
    if k < 2:
        return math.nan, 0, math.nan
    w = 1 / v
    mean = float(w @ d / w.sum())
    q = float(w @ (d - mean) ** 2)
    return q, k - 1, float(stats.chi2.sf(q, k - 1))

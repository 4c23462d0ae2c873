"""Confidence intervals used across the reports, in one place.

- :func:`wilson_interval`: a proportion ``k / n`` (Wilson score), scalars or arrays;
- :func:`newcombe_interval`: a difference of two proportions (Newcombe's hybrid score);
- :func:`welch_interval`: a difference of two means (Welch's t, through
  :func:`scipy.stats.ttest_ind`);
- :func:`bootstrap_interval`: a difference of two means (percentile bootstrap,
  each group resampled on its own, through :func:`scipy.stats.bootstrap`).

Levels are shares (0.95 for a 95 % interval); results are shares or the
units of the data.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["z_value", "wilson_interval", "newcombe_interval", "welch_interval", "bootstrap_interval"]


def z_value(level: float = 0.95) -> float:
    """Two-sided normal quantile for a confidence ``level`` (1.96 for 0.95).

    >>> round(z_value(0.95), 4)
    1.96
    """
    if not 0 < level < 1:
        raise ValueError(f"the confidence level must be between 0 and 1 (e.g. 0.95), but {level!r} was passed.")
    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(k, n, level: float = 0.95):
    """Wilson score interval of a proportion ``k / n``.

    Parameters
    ----------
    k, n : int or array-like
        Successes and trials; ``n = 0`` gives NaN bounds.
    level : float
        Confidence level (share).

    Returns
    -------
    (low, high)
        Floats for scalar input, arrays for array input (shares 0-1).

    Examples
    --------
    >>> lo, hi = wilson_interval(5, 100)
    >>> round(lo, 4), round(hi, 4)
    (0.0215, 0.1118)
    >>> lo, hi = wilson_interval([5, 0], [10, 0])
    >>> [round(float(x), 4) for x in lo]
    [0.2366, nan]
    """
    z = z_value(level)
    scalar = np.ndim(k) == 0 and np.ndim(n) == 0
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if scalar:
        return float(low), float(high)
    return low, high


def newcombe_interval(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of two proportions ``x1/n1 - x0/n0`` with Newcombe's hybrid score interval.

    Returns
    -------
    (difference, low, high)
        Shares; NaN when either group is empty.

    Examples
    --------
    Newcombe (1998), table II, example (a): 56/70 vs 48/80 gives 0.2 (0.0524, 0.3339).

    >>> d, lo, hi = newcombe_interval(56, 70, 48, 80)
    >>> round(d, 4), round(lo, 4), round(hi, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n1 <= 0 or n0 <= 0:
        return (math.nan, math.nan, math.nan)
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, level)
    l0, u0 = wilson_interval(x0, n0, level)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return (d, low, high)


def welch_interval(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` with Welch's t interval.

    Returns
    -------
    (difference, low, high)
        In the units of the data; NaN bounds when either group has fewer than 2
        values; a zero-width interval when both groups are constant.

    Examples
    --------
    >>> d, lo, hi = welch_interval([1.0, 2.0, 3.0, 4.0], [1.0, 1.5, 2.0])
    >>> round(d, 3), round(lo, 3), round(hi, 3)
    (1.0, -0.949, 2.949)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return (math.nan, math.nan, math.nan)
    d = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return (d, math.nan, math.nan)
    if a.var() == 0 and b.var() == 0:
        return (d, d, d)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence_level=level)
    return (d, float(ci.low), float(ci.high))


def _mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def bootstrap_interval(a, b, level: float = 0.95, n_samples: int = 1000,
                       random_state: int = 42) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` with a percentile bootstrap interval.

    Each group is resampled with replacement on its own (a stratified
    bootstrap), ``n_samples`` times; memory is bounded by resampling in batches.

    Returns
    -------
    (difference, low, high)
        In the units of the data; NaN when either group is empty, NaN bounds
        when either group has a single value.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return (math.nan, math.nan, math.nan)
    d = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return (d, math.nan, math.nan)
    batch = max(1, 2_000_000 // max(len(a), len(b)))  # bounded memory on large campaigns
    res = stats.bootstrap((a, b), _mean_difference, n_resamples=n_samples, confidence_level=level,
                          method="percentile", vectorized=True, batch=batch, rng=np.random.default_rng(random_state))
    return (d, float(res.confidence_interval.low), float(res.confidence_interval.high))

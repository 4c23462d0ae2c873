"""How concentrated value is: top-share table, Lorenz curve and Gini coefficient.

Used for predicted customer value (CLV) by the customer-value report and for
the targets' value by the SEEF evaluation; values are one per customer in the
currency (>= 0 for the curve and the coefficient).

Examples
--------
>>> import pandas as pd
>>> value_concentration(pd.Series([50.0, 30, 10, 5, 5]), shares=(0.2,))["value_share"].tolist()
[0.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["gini", "lorenz_curve", "top_share", "value_concentration"]


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
        k = min(n, max(1, math.ceil(s * n - 1e-9))) if n else 0
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


def top_share(values, share: float = 0.2) -> float | None:
    """Share of the total value held by the top ``share`` of customers (:func:`value_concentration`); None without a positive total.

    Examples
    --------
    >>> top_share([1.0, 9.0, 0.0, 10.0], 0.25)
    0.5
    """
    row = value_concentration(values, shares=(share,))["value_share"]
    v = float(row.iloc[0])
    return None if math.isnan(v) else v

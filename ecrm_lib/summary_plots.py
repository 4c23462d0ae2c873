"""Figures for the executive summary: small multiples of headline metrics
across as-of dates. Takes the tidy table of :func:`ecrm_lib.summary.collect_trends`.
Call :func:`ecrm_lib.plots.set_theme` first for the suite's style.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .plots import PALETTE, truncate_label

__all__ = ["plot_trends"]


def _scale(unit: str, currency: str) -> tuple[float, str]:
    """(multiplier, axis label) for a registry unit."""
    u = (unit or "").lower()
    if u.startswith("share points"):
        return 100.0, "percentage points"
    if u.startswith("share"):
        return 100.0, "%"
    if "currency" in u:
        return 1e-6, f"million {currency}".strip() + (" a year" if "per year" in u else "")
    return 1.0, (unit.split(",")[0].strip() or "value")


def plot_trends(
    trends: pd.DataFrame,
    labels: Mapping[str, tuple[str, str]] | None = None,
    currency: str = "",
    ncols: int = 3,
):
    """One small line chart per metric: its value at each as-of date.

    Parameters
    ----------
    trends : DataFrame
        From :func:`ecrm_lib.summary.collect_trends` (``as_of``, ``metric``, ``value``).
    labels : mapping, optional
        ``{metric: (title, unit)}``; the unit (as in the registry, e.g.
        ``"share 0-1"``, ``"config currency"``) sets the axis scale and label:
        shares in %, money in millions of ``currency``.
    currency : str
        Config currency for money axes.
    ncols : int
        Charts per row.

    Returns
    -------
    numpy.ndarray of matplotlib Axes
        The axes in use (empty when there is nothing to draw).
    """
    labels = dict(labels or {})
    metrics = list(dict.fromkeys(trends["metric"])) if len(trends) else []
    if not metrics:
        _, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "No headline metric has a value in any run", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return np.array([ax])
    ncols = max(1, min(ncols, len(metrics)))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    colour = sns.color_palette(PALETTE)[0]
    for ax, m in zip(axes.flat, metrics):
        title, unit = labels.get(m, (m, ""))
        mult, ylabel = _scale(unit, currency)
        d = trends.loc[trends["metric"] == m].sort_values("as_of")
        x = pd.to_datetime(d["as_of"])
        ax.plot(x, d["value"] * mult, marker="o", color=colour)
        ax.set_title(truncate_label(title, 45), fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("as-of date")
        ax.set_xticks(list(x))
        ax.set_xticklabels([t.strftime("%Y-%m-%d") for t in x], rotation=30, ha="right", fontsize=8)
        lo, hi = ax.get_ylim()
        if hi - lo < 1e-9:
            ax.set_ylim(lo - 1, hi + 1)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_axis_off()
    fig.suptitle("Headline figures across runs", fontweight="bold")
    fig.tight_layout()
    return axes.flat[: len(metrics)]

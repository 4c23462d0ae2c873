"""Figures for the executive summary: small multiples of headline metrics
across as-of dates. Takes the tidy table of :func:`ecrm_lib.report.trends.collect_trends`.
Call :func:`ecrm_lib.report.plots.base.set_theme` first for the suite's style.

Every axis holds zero (a change is read against the whole level, not a
zoomed-in band) and each figure's interval where the run recorded one (drawn as
a bar), so a change inside its interval does not look like a jump.

A figure that depends on a chosen method (:data:`ecrm_lib.report.trends.METHOD_DEPENDENT`)
has each point labelled with its method; two runs whose method differs are
not joined by a line (a dotted grey line marks the method change), and where
the runs recorded the figure under the latest run's model too, that
like-for-like series is drawn dashed.

Ticks are formatted for a reader (issue 15, :mod:`ecrm_lib.report.plots.base`): shares in %, share points
signed, money in millions of the currency without scientific notation, counts (customers, contacts, ...) as whole
numbers with thousands separators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.report.plots.base import PALETTE, count_axis, currency_name, number_axis, points_axis, share_axis, term, truncate_label
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.trends import method_label

__all__ = ["plot_trends"]


#: Registry units that count things (whole numbers on the axis).
_COUNT_UNITS = ("customers", "accounts", "contacts", "transactions", "purchases", "answers", "rows", "segments", "clusters", "leads")


def _scale(unit: str, currency: str) -> tuple[float, str]:
    """(multiplier, axis label) for a registry unit."""
    u = (unit or "").lower()
    if u.startswith("share points"):
        return 100.0, _t("summary.percentage_points")
    if u.startswith("share"):
        return 100.0, "%"
    if "currency" in u:
        text = _t("summary.million_year" if "per year" in u else "summary.million", currency=currency_name(currency))
        return 1e-6, " ".join(text.split())
    word = unit.split(",")[0].strip()
    if word.lower() == "customers":
        return 1.0, _t("common.customers")  # the page's word for customers (Korean 고객 수)
    return 1.0, term(word or "value")


def _format_axis(axis, unit: str) -> None:
    """Ticks of a trend panel in the reader's format of its unit (after :func:`_scale`)."""
    u = (unit or "").lower()
    word = u.split(",")[0].strip()
    if u.startswith("share points"):
        points_axis(axis)
    elif u.startswith("share"):
        share_axis(axis, scale=100)
    elif word in _COUNT_UNITS:
        count_axis(axis)
    else:
        number_axis(axis)


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
        From :func:`ecrm_lib.report.trends.collect_trends` (``as_of``, ``metric``,
        ``value``; ``method``, ``method_label`` and ``by_method`` when present).
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
        ax.text(0.5, 0.5, _t("summary.empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return np.array([ax])
    ncols = max(1, min(ncols, len(metrics)))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    pal = sns.color_palette(PALETTE)
    colour, other = pal[0], pal[1 % len(pal)]
    has_methods = "method" in trends.columns
    for ax, m in zip(axes.flat, metrics):
        title, unit = labels.get(m, (m, ""))
        mult, ylabel = _scale(unit, currency)
        d = trends.loc[trends["metric"] == m].sort_values("as_of")
        x = pd.to_datetime(d["as_of"])
        y = d["value"].to_numpy(dtype=float) * mult
        lows = d["low"].to_numpy(dtype=float) * mult if "low" in d else np.full(len(d), np.nan)
        highs = d["high"].to_numpy(dtype=float) * mult if "high" in d else np.full(len(d), np.nan)
        has_iv = np.isfinite(lows) & np.isfinite(highs)
        if has_iv.any():
            ax.vlines(x[has_iv], lows[has_iv], highs[has_iv], color=colour, alpha=0.5, linewidth=6, label=_t("common.interval"))
        methods = [mm if isinstance(mm, str) else None for mm in d["method"]] if has_methods else [None] * len(d)
        dependent = any(mm is not None for mm in methods)
        changed = False
        if not dependent:
            ax.plot(x, y, marker="o", color=colour)
        else:
            ax.plot(x, y, marker="o", linestyle="none", color=colour, label=_t("summary.chosen_model"), zorder=4)
            for i in range(1, len(d)):
                same = methods[i] == methods[i - 1] and "?" not in (methods[i] or "?")
                changed |= not same
                ax.plot(x.iloc[i - 1:i + 1], y[i - 1:i + 1], color=colour if same else "grey",
                        linestyle="-" if same else ":", label=None if same else "_method changed")
            for xi, yi, lab in zip(x, y, d["method_label"]):
                ax.annotate(truncate_label(term(lab), 28), (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
            code = (methods[-1] or "").split(" + ")[0]
            like = [(xi, b.get(code)) for xi, b in zip(x, d["by_method"]) if isinstance(b, dict) and b.get(code) is not None]
            if changed and len(like) >= 2:
                lx, ly = zip(*like)
                ax.plot(list(lx), np.array(ly, dtype=float) * mult, marker="o", markersize=9, markerfacecolor="white",
                        linestyle="--", color=other, label=_t("summary.every_run", method=method_label(code)), zorder=3)
            if changed:
                ax.plot([], [], color="grey", linestyle=":", label=_t("summary.method_changed"))
                ax.margins(y=0.3)
                ax.legend(fontsize=6.5, loc="best", framealpha=0.85)
        ax.set_title(truncate_label(title, 45), fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(_t("summary.as_of"))
        ax.set_xticks(list(x))
        ax.set_xticklabels([t.strftime("%Y-%m-%d") for t in x], rotation=30, ha="right", fontsize=8)
        vals = np.concatenate([y, lows[has_iv], highs[has_iv], [0.0]])
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        pad = 0.08 * (hi - lo) if hi > lo else 1.0
        ax.set_ylim(lo - pad if lo < 0 else 0.0 if lo == 0 else lo - pad, hi + pad if hi > 0 else 0.0 if hi == 0 else hi + pad)
        _format_axis(ax.yaxis, unit)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_axis_off()
    fig.suptitle(_t("summary.title"), fontweight="bold")
    fig.tight_layout()
    return axes.flat[: len(metrics)]

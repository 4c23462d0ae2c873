"""Plots of the feedback loop (:mod:`ecrm_lib.seef.loop`, :mod:`ecrm_lib.seef.loop_profit`). Each function takes
a table of those modules and an optional ``ax``, labels its axes with units and returns the Axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.core.format import format_money, format_points
from ecrm_lib.core.i18n import t
from ecrm_lib.report.plots.base import (PALETTE, currency_name, money_axis, number_axis, points_axis, share_axis, term,
                                        with_unit, zero_based)
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import truncate_label as _truncate

__all__ = ["plot_loop_comparison", "plot_realised_vs_predicted", "plot_segment_response"]

_LABELS = {"purchased": "loop.purchased_y", "purchases": "loop.purchases_y", "revenue": "loop.revenue_y"}
"""Catalogue key of each outcome's axis label."""


def plot_loop_comparison(comparison: pd.DataFrame, axes=None, *, currency: str = ""):
    """Earlier targets against their matched non-targets, one panel per outcome, with the interval of the difference.

    Parameters
    ----------
    comparison : DataFrame
        :func:`ecrm_lib.seef.matching.compare_outcomes` output.
    axes : sequence of Axes, optional
        One per outcome.
    currency : str
        Unit of the revenue panel.
    """
    import matplotlib.pyplot as plt

    d = comparison.dropna(subset=["targets"]).reset_index(drop=True)
    fig = None
    if axes is None:
        fig, axes = plt.subplots(1, max(len(d), 1), figsize=(4.6 * max(len(d), 1), 3.8), squeeze=False)
        axes = axes[0]
    if d.empty:
        axes[0].text(0.5, 0.5, _t("loop.comparison_empty"), ha="center", va="center",
                     transform=axes[0].transAxes)
        axes[0].set_axis_off()
        return axes
    colors = sns.color_palette(PALETTE, 2)
    for ax, (_, r) in zip(axes, d.iterrows()):
        scale = 100.0 if r["outcome"] == "purchased" else 1.0
        vals = np.array([r["matched_non_targets"], r["targets"]]) * scale
        ax.bar([0, 1], vals, color=[colors[1], colors[0]], width=0.6)
        if pd.notna(r["ci_low"]):
            lo, hi = r["ci_low"] * scale, r["ci_high"] * scale
            base = r["matched_non_targets"] * scale
            ax.errorbar([1], [vals[1]], yerr=[[vals[1] - (base + lo)], [(base + hi) - vals[1]]], fmt="none",
                        color="0.2", capsize=6)
        ax.set_xticks([0, 1], [_t("loop.non_targets"), _t("loop.targets")])
        unit = _t(_LABELS[r["outcome"]]) if r["outcome"] in _LABELS else str(r["outcome"])
        if r["outcome"] == "revenue" and currency:
            unit = with_unit(unit, currency_name(currency))
        ax.set_ylabel(unit)
        if r["outcome"] == "purchased":
            share_axis(ax.yaxis, scale=100)
        elif r["outcome"] == "revenue":
            money_axis(ax.yaxis)
        else:
            number_axis(ax.yaxis)
        zero_based(ax, "y")
        ax.set_title(_truncate(_t("loop.difference", outcome=term(r["outcome"]), difference=_difference(r["outcome"], r["difference"], currency)), 45))
    if fig is not None:
        fig.tight_layout()  # each panel's axis label clear of the panel to its left
    return axes


def _difference(outcome: str, value: float, currency: str) -> str:
    """The difference in its panel's unit, signed, with no scientific notation: points of the share that bought again,
    purchases per customer, money per customer (in the report language).

    >>> _difference("purchased", -0.098, "KRW"), _difference("purchases", 0.1234, ""), _difference("revenue", 22345.0, "KRW")
    ('-9.8 points', '+0.12', '+22,345 KRW')
    """
    if outcome == "purchased":
        return format_points(value)
    if outcome == "revenue":
        return ("+" if value > 0 else "") + format_money(value, currency)
    return f"{value:+,.2f}"


def plot_segment_response(weights: pd.DataFrame, ax=None):
    """Campaign response uplift per earlier segment with its interval, coloured by the action for the next selection.

    Parameters
    ----------
    weights : DataFrame
        ``segment``, ``uplift``, ``ci_low``, ``ci_high``, ``action``
        (:func:`ecrm_lib.seef.weights.feedback_weights` output); uplift as a fraction.
    """
    d = weights.dropna(subset=["uplift"]).reset_index(drop=True)
    ax = _ax(ax, (9, max(2.8, 0.45 * len(d) + 1.5)))
    if d.empty:
        ax.text(0.5, 0.5, _t("loop.segments_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    palette = dict(zip(["keep", "down-weight", "remove"], sns.color_palette(PALETTE, 3)))
    y = np.arange(len(d))
    pts = 100 * d["uplift"].to_numpy(float)
    lo = 100 * d["ci_low"].to_numpy(float)
    hi = 100 * d["ci_high"].to_numpy(float)
    for action, color in palette.items():
        m = (d["action"] == action).to_numpy()
        if m.any():
            ax.errorbar(pts[m], y[m], xerr=np.vstack([pts[m] - lo[m], hi[m] - pts[m]]), fmt="o", color=color,
                        capsize=4, label=term(action))
    ax.axvline(0, color="0.3", lw=1, ls="--")
    ax.set_yticks(y, [_truncate(s, 30) for s in d["segment"].astype(str)])
    ax.invert_yaxis()
    ax.set_xlabel(_t("common.uplift_x"))
    points_axis(ax.xaxis)
    ax.set_title(_t("loop.segments_title"))
    ax.legend(title=_t("loop.segments_legend"), loc="best", fontsize=9)
    return ax


def plot_realised_vs_predicted(table: pd.DataFrame, ax=None, *, currency: str = ""):
    """Predicted and realised incremental profit per customer, for every customer measured and per band of
    predicted profit, the realised figure with its interval (and the true expected profit when known).

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm_lib.seef.loop_profit.realised_vs_predicted` (``band`` 0 = all; ``predicted``,
        ``realised``, ``ci_low``, ``ci_high``, ``true_expected``; currency per customer).
    ax : Axes, optional
    currency : str
        Unit of the value axis.

    Examples
    --------
    >>> tab = pd.DataFrame({"band": [0, 1, 2], "predicted": [10.0, 5.0, 15.0], "realised": [8.0, 2.0, 14.0],
    ...                     "ci_low": [4.0, -3.0, 7.0], "ci_high": [12.0, 7.0, 21.0], "true_expected": [9.0, 4.0, 14.0]})
    >>> ax = plot_realised_vs_predicted(tab, currency="KRW")
    >>> [x.get_text() for x in ax.get_xticklabels()], ax.get_ylabel()
    (['all', '1', '2'], 'incremental profit per customer (KRW)')
    """
    d = table.reset_index(drop=True)
    ax = _ax(ax, (8, 4.2))
    if d.empty or d["realised"].isna().all():
        ax.text(0.5, 0.5, t("loop.plot.empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    colors = sns.color_palette(PALETTE, 3)
    x = np.arange(len(d), dtype=float)
    ax.bar(x, d["predicted"].to_numpy(float), width=0.55, color=colors[0], alpha=0.45, label=t("loop.plot.predicted"))
    real = d["realised"].to_numpy(float)
    lo, hi = d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float)
    ok = np.isfinite(real)
    err = np.vstack([real - np.where(np.isfinite(lo), lo, real), np.where(np.isfinite(hi), hi, real) - real])
    ax.errorbar(x[ok], real[ok], yerr=err[:, ok], fmt="o", color=colors[1], capsize=6, ms=7, label=t("loop.plot.realised"))
    if "true_expected" in d and d["true_expected"].notna().any():
        ax.scatter(x, d["true_expected"].to_numpy(float), marker="D", s=36, color=colors[2], zorder=3,
                   label=t("loop.plot.truth"))
    ax.axhline(0, color="0.3", lw=1, ls="--")
    if (d["band"] == 0).any() and len(d) > 1:  # every customer measured, apart from the bands
        ax.axvline(0.5, color="0.6", lw=1)
    ax.set_xticks(x, [t("loop.band_all") if int(b) == 0 else str(int(b)) for b in d["band"]])
    ax.set_xlabel(t("loop.plot.x"))
    ax.set_ylabel(with_unit(t("loop.plot.y"), currency_name(currency)))
    money_axis(ax.yaxis)
    ax.set_title(_truncate(t("loop.plot.title"), 80))
    ax.legend(loc="best", fontsize=9)
    return ax

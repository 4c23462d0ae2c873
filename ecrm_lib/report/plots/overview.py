"""Figures of the data-overview notebook.

Each function takes a tidy DataFrame from :mod:`ecrm_lib.data.overview` and
an optional ``ax`` (or ``axes``), labels its axes with units, gives the figure
a title and returns the Axes. Style: :func:`ecrm_lib.report.plots.base.set_theme`.
Labels from the data (sources, reasons, channels) are drawn into the image,
so they cannot run as script in the HTML report.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ecrm_lib.core.i18n import t_or
from ecrm_lib.data.load import record_text
from ecrm_lib.report.plots.base import (PALETTE, count_axis, date_axis, get_ax, heatmap_annotations, label, term,
                                        truncate_label, zero_based)

__all__ = ["plot_set_aside", "plot_channel_coverage", "plot_monthly_activity", "plot_identifier_completeness"]


def plot_set_aside(by_reason: pd.DataFrame, ax=None, top: int = 12):
    """Horizontal bars: rows set aside per source and reason.

    Parameters
    ----------
    by_reason : DataFrame
        Output of :func:`ecrm_lib.data.overview.set_aside_by_reason`; its ``reason`` as the load records
        it (English), labelled in the report language by :func:`ecrm_lib.data.load.record_text`.
    ax : matplotlib Axes, optional
    top : int
        Show the ``top`` largest (source, reason) pairs.
    """
    ax = get_ax(ax, (9, max(2.5, 0.45 * min(top, len(by_reason)) + 1)))
    if by_reason.empty:
        ax.text(0.5, 0.5, label("overview.set_aside_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    d = by_reason.head(top).copy()
    # the load's own reasons in the report language (record_text); a config rule's reason as written
    d["label"] = [truncate_label(f"{s}: {record_text(r)}", 55) for s, r in zip(d["source"], d["reason"])]
    sns.barplot(data=d, y="label", x="rows", ax=ax, color=sns.color_palette(PALETTE)[3])
    ax.set_xlabel(label("overview.set_aside_x"))
    count_axis(ax.xaxis)
    zero_based(ax, "x")
    ax.set_ylabel("")
    ax.set_title(label("overview.set_aside_title"))
    return ax


def plot_channel_coverage(channels: pd.DataFrame, ax=None, top: int = 10, currency: str = ""):
    """Bars per channel: accounts, transactions and contacts (counts), side by side.

    Parameters
    ----------
    channels : DataFrame
        Output of :func:`ecrm_lib.data.overview.channel_coverage`.
    ax : matplotlib Axes, optional
    top : int
        The ``top`` channels by accounts.
    currency : str
        Unused in the counts panel; kept for a common signature.
    """
    ax = get_ax(ax)
    cols = [c for c in ("accounts", "transactions", "contacts", "feedback") if c in channels and channels[c].sum() > 0]
    d = channels.head(top).melt(id_vars="channel", value_vars=cols, var_name="measure", value_name="count")
    d["channel"] = d["channel"].map(truncate_label)
    d["measure"] = d["measure"].map(term)
    sns.barplot(data=d, x="channel", y="count", hue="measure", ax=ax)
    ax.set_xlabel(label("common.channel"))
    ax.set_ylabel(label("overview.coverage_y"))
    count_axis(ax.yaxis)
    zero_based(ax, "y")
    ax.set_title(label("overview.coverage_title"))
    ax.tick_params(axis="x", rotation=30)
    ax.legend(title="")
    return ax


def plot_monthly_activity(monthly: pd.DataFrame, axes=None):
    """Lines: records per month, one panel per table, one line per channel group.

    Parameters
    ----------
    monthly : DataFrame
        Output of :func:`ecrm_lib.data.overview.monthly_activity`.
    axes : sequence of matplotlib Axes, optional
        One per table in ``monthly`` (created, stacked vertically, when None).

    Returns
    -------
    list of matplotlib Axes
    """
    present = list(dict.fromkeys(monthly["table"])) if not monthly.empty else []
    preferred = ["transactions", "contacts", "feedback"]
    tables = [t for t in preferred if t in present] + [t for t in present if t not in preferred]
    if axes is None:
        n = max(1, len(tables))
        _, axes = plt.subplots(n, 1, figsize=(9, 2.4 * n + 0.6), sharex=True, squeeze=False)
        axes = list(axes[:, 0])
    if not tables:
        axes[0].text(0.5, 0.5, label("overview.monthly_empty"), ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
        return axes
    groups = sorted(monthly["group"].astype(str).unique())
    colours = dict(zip(groups, sns.color_palette(PALETTE, len(groups))))
    for ax, table in zip(axes, tables):
        d = monthly[monthly["table"] == table]
        for g, part in d.groupby(d["group"].astype(str)):
            ax.plot(part["month"], part["rows"], marker="o", markersize=3, color=colours[g], label=term(g))
        ax.set_ylabel(label("overview.monthly_y", table=term(table)))
        count_axis(ax.yaxis)
        ax.set_ylim(bottom=0)
        ax.legend(title="", fontsize="small", loc="upper left")
        date_axis(ax.xaxis, maxticks=10)
    axes[-1].set_xlabel(label("common.month"))
    axes[0].set_title(label("overview.monthly_title"))
    return axes


def plot_identifier_completeness(completeness: pd.DataFrame, ax=None):
    """Heatmap: share of accounts per channel carrying each identifier.

    Parameters
    ----------
    completeness : DataFrame
        Output of :func:`ecrm_lib.data.overview.identifier_completeness`.
    ax : matplotlib Axes, optional
    """
    d = completeness.set_index("channel").drop(columns=["accounts"])
    ax = get_ax(ax, (7, 0.5 * len(d) + 1.5))
    d.index = [truncate_label(i) for i in d.index]
    d.columns = [t_or(f"plots.overview.ids.{c}", str(c)) for c in d.columns]  # the suite's identifiers in words
    # each cell reads as a percentage ("45%"), in a size that stays legible (seaborn picks a dark or light text per cell)
    sns.heatmap(d * 100, annot=heatmap_annotations(d, "share"), fmt="", annot_kws={"fontsize": 10}, cmap="Blues", vmin=0,
                vmax=100, cbar_kws={"label": label("overview.ids_colorbar"), "format": "%.0f%%"}, linewidths=0.5, ax=ax)
    ax.set_xlabel(label("overview.ids_x"))
    ax.set_ylabel(label("common.channel"))
    ax.set_title(label("overview.ids_title"))
    return ax

"""Plots for the notebooks. Each function takes a tidy DataFrame from a compute
module and an optional ``ax``, labels its axes with units, and returns the Axes.

Labels that come from the data (channel names, reasons) are drawn into the
image, so they cannot run as script in the HTML report.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

__all__ = [
    "set_theme",
    "plot_set_aside",
    "plot_channel_coverage",
    "plot_monthly_activity",
    "plot_identifier_completeness",
]

PALETTE = "colorblind"


def set_theme() -> None:
    """The suite's plot style: white grid, readable sizes, colour-blind palette."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (9, 4.5), "figure.dpi": 100, "axes.titleweight": "bold"})


def _ax(ax, figsize=(9, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _truncate(label: str, n: int = 40) -> str:
    label = str(label)
    return label if len(label) <= n else label[: n - 1] + "…"


def plot_set_aside(by_reason: pd.DataFrame, ax=None, top: int = 12):
    """Horizontal bars: rows set aside per source and reason.

    Parameters
    ----------
    by_reason : DataFrame
        Output of :func:`ecrm_lib.overview.set_aside_by_reason`.
    ax : matplotlib Axes, optional
    top : int
        Show the ``top`` largest (source, reason) pairs.
    """
    ax = _ax(ax, (9, max(2.5, 0.45 * min(top, len(by_reason)) + 1)))
    if by_reason.empty:
        ax.text(0.5, 0.5, "No rows were set aside", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    d = by_reason.head(top).copy()
    d["label"] = [_truncate(f"{s}: {r}", 55) for s, r in zip(d["source"], d["reason"])]
    sns.barplot(data=d, y="label", x="rows", ax=ax, color=sns.color_palette(PALETTE)[3])
    ax.set_xlabel("rows set aside")
    ax.set_ylabel("")
    ax.set_title("Rows set aside by source and reason")
    return ax


def plot_channel_coverage(channels: pd.DataFrame, ax=None, top: int = 10, currency: str = ""):
    """Bars per channel: accounts, transactions and contacts (counts), side by side.

    Parameters
    ----------
    channels : DataFrame
        Output of :func:`ecrm_lib.overview.channel_coverage`.
    ax : matplotlib Axes, optional
    top : int
        The ``top`` channels by accounts.
    currency : str
        Unused in the counts panel; kept for a common signature.
    """
    ax = _ax(ax)
    cols = [c for c in ("accounts", "transactions", "contacts", "feedback") if c in channels and channels[c].sum() > 0]
    d = channels.head(top).melt(id_vars="channel", value_vars=cols, var_name="measure", value_name="count")
    d["channel"] = d["channel"].map(_truncate)
    sns.barplot(data=d, x="channel", y="count", hue="measure", ax=ax)
    ax.set_xlabel("channel")
    ax.set_ylabel("count (rows)")
    ax.set_title("Records per channel")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(title="")
    return ax


def plot_monthly_activity(monthly: pd.DataFrame, ax=None):
    """Lines: rows per month for each table and channel group.

    Parameters
    ----------
    monthly : DataFrame
        Output of :func:`ecrm_lib.overview.monthly_activity`.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if monthly.empty:
        ax.text(0.5, 0.5, "No dated records", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    d = monthly.copy()
    d["series"] = d["table"] + " · " + d["group"].astype(str)
    sns.lineplot(data=d, x="month", y="rows", hue="series", marker="o", ax=ax)
    ax.set_xlabel("month")
    ax.set_ylabel("records per month")
    ax.set_title("Activity over time by table and channel group")
    ax.legend(title="", fontsize="small", ncols=2)
    return ax


def plot_identifier_completeness(completeness: pd.DataFrame, ax=None):
    """Heatmap: share of accounts per channel carrying each identifier.

    Parameters
    ----------
    completeness : DataFrame
        Output of :func:`ecrm_lib.overview.identifier_completeness`.
    ax : matplotlib Axes, optional
    """
    d = completeness.set_index("channel").drop(columns=["accounts"])
    ax = _ax(ax, (7, 0.5 * len(d) + 1.5))
    d.index = [_truncate(i) for i in d.index]
    sns.heatmap(d * 100, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar_kws={"label": "% of accounts"}, ax=ax)
    ax.set_xlabel("identifier present")
    ax.set_ylabel("channel")
    ax.set_title("Which identifiers each channel captures (% of its accounts)")
    return ax

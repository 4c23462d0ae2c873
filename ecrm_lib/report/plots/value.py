"""Figures of the customer-value report. Each function takes a tidy DataFrame
from :mod:`ecrm_lib.value` (clv, holdout, concentration) and an optional ``ax``, labels its axes with units,
and returns the Axes. Style: :func:`ecrm_lib.report.plots.base.set_theme` (colour-blind
palette, 9 x 4.5 inches).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.report.plots.base import (PALETTE, count_axis, currency_name, date_axis, money_axis, number_axis, share_axis,
                                        term, with_unit, zero_based)
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import get_ax as _ax

__all__ = [
    "plot_holdout_by_frequency",
    "plot_holdout_tracking",
    "plot_activity",
    "plot_top_clv",
    "plot_clv_distribution",
    "plot_lorenz",
    "plot_spend_vs_frequency",
]

_MARKERS = {"Actual": "o", "BG/NBD": "s", "Pareto/NBD": "^", "MBG/NBD": "D"}


_MODEL_ORDER = ["BG/NBD", "Pareto/NBD", "MBG/NBD"]


def _colours(labels):
    """Actual in black; each model keeps its colour of the colour-blind palette whichever models are shown."""
    others = [lab for lab in labels if lab not in _MODEL_ORDER and lab != "Actual"]
    pal = sns.color_palette(PALETTE, len(_MODEL_ORDER) + len(others))
    out = {"Actual": "black"}
    out.update(dict(zip(_MODEL_ORDER + others, pal)))
    return out


def plot_holdout_by_frequency(by_frequency: pd.DataFrame, duration: float | None = None, time_unit: str = "weeks", ax=None):
    """Lines: mean holdout repeat purchases per customer by calibration frequency, actual and each model.

    Parameters
    ----------
    by_frequency : DataFrame
        :attr:`ecrm_lib.value.holdout.HoldoutValidation.by_frequency`.
    duration : float, optional
        Holdout length, shown in the title.
    time_unit : str
        Name of the time unit for the title.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    labels = list(dict.fromkeys(by_frequency["label"]))
    colours = _colours(labels)
    groups = list(by_frequency["frequency_group"].cat.categories) if hasattr(by_frequency["frequency_group"], "cat") else \
        list(dict.fromkeys(by_frequency["frequency_group"]))
    x = np.arange(len(groups))
    for label in labels:
        d = by_frequency[by_frequency["label"] == label].set_index("frequency_group").reindex(groups)
        ax.plot(x, d["mean_purchases"], marker=_MARKERS.get(label, "o"), color=colours[label], label=term(label),
                linewidth=2.5 if label == "Actual" else 1.5, linestyle="-" if label == "Actual" else "--")
    counts = by_frequency[by_frequency["model"] == "actual"].set_index("frequency_group").reindex(groups)["n_customers"]
    ax.set_xticks(x, [_t("value.holdout_tick", group=g, n=n) if pd.notna(n) else g for g, n in zip(groups, counts)])
    ax.set_xlabel(_t("value.holdout_x"))
    ax.set_ylabel(_t("value.holdout_y"))
    number_axis(ax.yaxis)
    ax.set_title(_t("value.holdout_title_span", duration=f"{duration:g}", unit=term(time_unit)) if duration
                 else _t("value.holdout_title"))
    ax.set_ylim(bottom=0)
    ax.legend(title="", loc="upper left")
    return ax


def plot_holdout_tracking(tracking: pd.DataFrame, ax=None):
    """Lines: cumulative repeat purchases in the holdout period, actual and each model's forecast.

    Draws :func:`ecrm_lib.value.holdout.holdout_tracking` as it is: the customers, period and predictions of
    the holdout error table, so each line ends at the table's total (the legend gives each line's end value).

    Parameters
    ----------
    tracking : DataFrame
        Output of :func:`ecrm_lib.value.holdout.holdout_tracking` (``date``, ``series``, ``model``,
        ``chosen``, ``cumulative_repeat_purchases``).
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    labels = list(dict.fromkeys(tracking["series"]))
    colours = _colours(labels)
    for label in labels:
        d = tracking[tracking["series"] == label].sort_values("date")
        actual = label == "Actual"
        chosen = bool(d["chosen"].iloc[0]) and not actual
        end = float(d["cumulative_repeat_purchases"].iloc[-1])
        ax.plot(d["date"], d["cumulative_repeat_purchases"], color=colours[label],
                label=_t("value.series_chosen_end" if chosen else "value.series_end", label=term(label), end=end),
                linewidth=2.5 if actual or chosen else 1.2, linestyle="-" if actual else ("--" if chosen else ":"))
    start = pd.Timestamp(tracking["date"].min())
    date_axis(ax.xaxis, maxticks=8)
    count_axis(ax.yaxis)
    ax.set_xlabel(_t("value.tracking_x", start=start))
    ax.set_ylabel(_t("value.tracking_y"))
    ax.set_title(_t("value.tracking_title"))
    ax.set_ylim(bottom=0)
    ax.legend(title=_t("value.tracking_legend", end=pd.Timestamp(tracking["date"].max())), loc="upper left")
    return ax


def plot_activity(values: pd.DataFrame, horizon_label: str | None = None, axes=None):
    """Two histograms: P(alive) and expected purchases over the horizon, share of customers.

    Parameters
    ----------
    values : DataFrame
        :func:`ecrm_lib.value.btyd.predict_purchases` or the ``customer_value`` product (``p_alive``, ``expected_purchases``).
    horizon_label : str, optional
        e.g. "the next 52 weeks" (None: that, in the report language).
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    list of matplotlib Axes
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    colour = sns.color_palette(PALETTE)[0]
    n = max(1, len(values))
    ax = axes[0]
    ax.hist(values["p_alive"], bins=np.linspace(0, 1, 21), weights=np.full(len(values), 1 / n), color=colour, edgecolor="white")
    ax.set_xlabel(_t("value.alive_x"))
    ax.set_ylabel(_t("common.share_customers"))
    ax.set_title(_t("value.alive_title"))
    share_axis(ax.yaxis)
    share_axis(ax.xaxis)
    zero_based(ax, "y")
    ax = axes[1]
    ep = values["expected_purchases"].to_numpy(dtype=float)
    top = max(1.0, float(np.quantile(ep, 0.99))) if len(ep) else 1.0
    bins = np.linspace(0, top, 21)
    ax.hist(np.clip(ep, 0, top), bins=bins, weights=np.full(len(ep), 1 / n), color=sns.color_palette(PALETTE)[1],
            edgecolor="white")
    horizon = horizon_label if horizon_label is not None else _t("value.horizon", n=52)
    ax.set_xlabel(_t("value.expected_x", horizon=horizon))
    ax.set_ylabel(_t("common.share_customers"))
    ax.set_title(_t("value.expected_title"))
    share_axis(ax.yaxis)
    number_axis(ax.xaxis)
    zero_based(ax, "y")
    plt.tight_layout()
    return list(axes)


def plot_top_clv(values: pd.DataFrame, currency: str = "", n: int = 20, level: float | None = None, ax=None):
    """Horizontal points with interval bars: the ``n`` customers with the highest CLV.

    Parameters
    ----------
    values : DataFrame
        ``customer_id``, ``clv``, ``clv_low``, ``clv_high``.
    currency : str
        For the axis label.
    n : int
        Customers shown.
    level : float, optional
        Coverage of the interval (e.g. 0.9), for the label.
    ax : matplotlib Axes, optional
    """
    d = values.nlargest(n, "clv").iloc[::-1]
    ax = _ax(ax, (9, max(3.0, 0.28 * len(d) + 1.2)))
    y = np.arange(len(d))
    colour = sns.color_palette(PALETTE)[0]
    has_interval = d["clv_low"].notna().all() and len(d) > 0
    if has_interval:
        ax.hlines(y, d["clv_low"], d["clv_high"], color=colour, alpha=0.6, linewidth=3,
                  label=_t("common.level_interval", level=level) if level else _t("common.interval"))
    ax.plot(d["clv"], y, "o", color="black", markersize=4, label=_t("value.estimate"))
    ax.set_yticks(y, [str(c)[:20] for c in d["customer_id"]], fontsize="small")
    ax.set_xlabel(with_unit(_t("value.top_x"), currency_name(currency)))
    ax.set_ylabel(_t("value.top_y"))
    money_axis(ax.xaxis)
    ax.set_xlim(left=0)
    ax.set_title(_t("value.top_title", n=len(d)))
    ax.legend(loc="lower right")
    return ax


def plot_clv_distribution(values: pd.DataFrame, currency: str = "", ax=None):
    """Histogram of CLV on a log scale (share of customers; the lowest 0.5 % are pooled in the first bar).

    Parameters
    ----------
    values : DataFrame
        ``clv`` per customer.
    currency : str
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    v = values["clv"].to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        ax.text(0.5, 0.5, _t("value.clv_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    floor = max(v.min(), float(np.quantile(v, 0.005)))  # the lowest 0.5 % go into the first bar
    lo, hi = np.log10(floor), np.log10(v.max())
    bins = np.logspace(lo, hi if hi > lo else lo + 1, 31)
    ax.hist(np.clip(v, floor, None), bins=bins, weights=np.full(len(v), 1 / len(values)), color=sns.color_palette(PALETTE)[2], edgecolor="white")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 1 else f"{x:g}"))
    ax.set_xlabel(_t("value.clv_x_currency", currency=currency_name(currency)) if currency else _t("value.clv_x"))
    ax.set_ylabel(_t("common.share_customers"))
    share_axis(ax.yaxis)
    zero_based(ax, "y")
    ax.set_title(_t("value.clv_title"))
    return ax


def plot_lorenz(lorenz: pd.DataFrame, concentration: pd.DataFrame | None = None, ax=None):
    """Lorenz curve of predicted value, with the top 1/5/20 % marked.

    Parameters
    ----------
    lorenz : DataFrame
        :func:`ecrm_lib.value.concentration.lorenz_curve` output.
    concentration : DataFrame, optional
        :func:`ecrm_lib.value.concentration.value_concentration` output, annotated on the curve.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    colour = sns.color_palette(PALETTE)[0]
    ax.plot(lorenz["customer_share"], lorenz["value_share"], color=colour, linewidth=2, label=_t("value.lorenz_sorted"))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label=_t("value.lorenz_equal"))
    if concentration is not None:
        for _, row in concentration.iterrows():
            x = 1 - row["top_share"]
            y = 1 - row["value_share"]
            ax.plot([x], [y], "o", color="black", markersize=4)
            ax.annotate(_t("value.lorenz_point", top=row["top_share"], value=row["value_share"]), xy=(x, y), xytext=(-8, 6),
                        textcoords="offset points", ha="right", fontsize="small")
    ax.set_xlabel(_t("value.lorenz_x"))
    ax.set_ylabel(_t("value.lorenz_y"))
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(_t("value.lorenz_title"))
    ax.legend(loc="upper left")
    return ax


def plot_spend_vs_frequency(summary: pd.DataFrame, currency: str = "", ax=None):
    """Boxes: mean repeat spend per purchase by number of repeat purchases (repeat buyers with positive spend).

    The Gamma-Gamma model assumes these boxes do not drift up or down with frequency.

    Parameters
    ----------
    summary : DataFrame
        ``frequency`` and ``monetary_value`` per customer.
    currency : str
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    d = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if d.empty:
        ax.text(0.5, 0.5, _t("value.spend_empty"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    groups = np.minimum(d["frequency"].to_numpy(), 10)
    labels = [str(i) for i in range(1, 10)] + ["10+"]
    data = [d["monetary_value"].to_numpy()[groups == i] for i in range(1, 11)]
    keep = [i for i, x in enumerate(data) if len(x)]
    ax.boxplot([data[i] for i in keep], tick_labels=[labels[i] for i in keep], showfliers=False,
               patch_artist=True, boxprops={"facecolor": sns.color_palette(PALETTE)[0], "alpha": 0.5},
               medianprops={"color": "black"})
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(_t("value.spend_x"))
    ax.set_ylabel(_t("value.spend_y_currency", currency=currency_name(currency)) if currency else _t("value.spend_y"))
    ax.set_title(_t("value.spend_title"))
    return ax

"""Figures of the channel-integration notebook.

Each function takes a tidy DataFrame from the channel modules (:mod:`ecrm_lib.channels`) and an
optional ``ax`` (or ``axes``), labels its axes with units, gives the figure a
title, and returns the Axes. Style and palette come from
:func:`ecrm_lib.report.plots.base.set_theme` (colour-blind palette). Labels from the data
(channel names, purposes) are drawn into the image and shortened, so they
cannot run as script in the HTML report.

Formatted for a reader (issue 15, :mod:`ecrm_lib.report.plots.base`): counts of customers, contacts and
conflicts in whole numbers with thousands separators, shares and rates in %, money in one short unit per axis
with the currency in the axis label, bars from zero; a count of 1-4 people beside a bar reads ``<5``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.core.privacy import count_label
from ecrm_lib.report.plots.base import (PALETTE, compact_money, compact_money_axis, count_axis, currency_name, share_axis, term,
                                        with_unit, zero_based)
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import truncate_label as _truncate

__all__ = [
    "plot_purchase_distribution",
    "plot_component_sizes",
    "plot_channel_mix",
    "plot_cost_to_serve",
    "plot_hourly_contacts",
    "plot_conflicts",
    "plot_ifood_response",
    "plot_lead_conversion",
]


def _empty(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def _money(v: float) -> str:
    """Compact money label: 1.2M, 35k, 950 (Korean: 1.2억, 35만, 950)."""
    return compact_money(v)


def plot_purchase_distribution(dist: pd.DataFrame, ax=None):
    """Grouped bars: share of buying accounts and of buying customers by number of purchases.

    Parameters
    ----------
    dist : DataFrame
        Output of :func:`ecrm_lib.channels.integration.purchase_count_distribution`.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if dist.empty or dist["units"].sum() == 0:
        return _empty(ax, _t("channels.no_purchases"))
    dist = dist.assign(view=dist["view"].map(term))
    sns.barplot(data=dist, x="purchases", y="share", hue="view", ax=ax, palette=sns.color_palette(PALETTE, 2))
    share_axis(ax.yaxis)
    zero_based(ax)
    ax.set_xlabel(_t("channels.purchases_x"))
    ax.set_ylabel(_t("channels.purchases_y"))
    ax.set_title(_t("channels.purchases_title"))
    ax.legend(title="")
    return ax


def plot_component_sizes(component_sizes: pd.DataFrame, ax=None, stage: str = "final"):
    """Bars: customers by the number of channel accounts joined into them.

    Parameters
    ----------
    component_sizes : DataFrame
        ``IdentityResult.audit["component_sizes"]`` (stage, size, n_customers, n_accounts).
    ax : matplotlib Axes, optional
    stage : str
        "final" (after the probabilistic pass) or "deterministic".
    """
    ax = _ax(ax)
    d = component_sizes[component_sizes["stage"] == stage]
    if d.empty:
        return _empty(ax, _t("channels.no_accounts"))
    d = d.sort_values("size")
    ax.bar(d["size"].astype(str), d["n_customers"], color=sns.color_palette(PALETTE)[0])
    for x, y in zip(d["size"].astype(str), d["n_customers"]):
        ax.annotate(count_label(y), (x, y), ha="center", va="bottom", fontsize="small", xytext=(0, 2), textcoords="offset points")  # 1-4: <5
    ax.set_xlabel(_t("channels.sizes_x"))
    ax.set_ylabel(_t("common.customers"))
    ax.set_title(_t("channels.sizes_title"))
    ax.margins(y=0.12)
    count_axis(ax.yaxis)
    zero_based(ax)
    return ax


def _channel_order(mix: pd.DataFrame) -> list[str]:
    g = mix.groupby(["group", "channel"], as_index=False)["n"].sum()
    groups = sorted(g["group"].astype(str).unique(), key=lambda x: (x == "other", x))
    order = []
    for grp in groups:
        order += g[g["group"] == grp].sort_values("n", ascending=False)["channel"].astype(str).tolist()
    return order


def plot_channel_mix(mix: pd.DataFrame, axes=None, max_channels: int = 10):
    """Stacked 100 % bars: share of purchases and of contacts per channel, per period.

    Parameters
    ----------
    mix : DataFrame
        Output of :func:`ecrm_lib.channels.mix.channel_mix`.
    axes : sequence of matplotlib Axes, optional
        One per table present (purchases, contacts).
    max_channels : int
        Channels beyond this many (the smallest) are drawn together as "other channels".

    Returns
    -------
    list of matplotlib Axes
    """
    tables = [t for t in ("purchases", "contacts") if t in set(mix["table"])] if not mix.empty else []
    if axes is None:
        n = max(1, len(tables))
        _, axes = plt.subplots(n, 1, figsize=(9, 3.0 * n + 0.8), squeeze=False, layout="constrained")
        axes = list(axes[:, 0])
    if not tables:
        _empty(axes[0], _t("channels.mix_empty"))
        return axes
    mix = mix.copy()
    mix["channel"] = mix["channel"].astype(str)
    keep = mix.groupby("channel")["n"].sum().sort_values(ascending=False).index[:max_channels]
    mix.loc[~mix["channel"].isin(keep), "channel"] = _t("terms.other_channels")
    order = _channel_order(mix)
    groups = mix.drop_duplicates("channel").set_index("channel")["group"].astype(str)
    colours = dict(zip(order, sns.color_palette(PALETTE, len(order))))
    for ax, table in zip(axes, tables):
        d = mix[mix["table"] == table].groupby(["period", "channel"])["n"].sum().unstack(fill_value=0)
        d = d.div(d.sum(axis=1), axis=0)
        d = d[[c for c in order if c in d.columns]]
        quarterly = mix.attrs.get("freq") == "Q"
        labels = [_t("common.quarter", year=p.year, quarter=(p.month - 1) // 3 + 1) if quarterly else p.strftime("%Y-%m") for p in d.index]
        bottom = np.zeros(len(d))
        for ch in d.columns:
            grp = groups.get(ch, "other")
            ax.bar(labels, d[ch].to_numpy(), bottom=bottom, color=colours[ch], label=f"{_truncate(ch, 22)} ({term(grp)})",
                   hatch="//" if grp == "internet" else None, edgecolor="white", linewidth=0.5)
            bottom += d[ch].to_numpy()
        share_axis(ax.yaxis)
        ax.set_ylim(0, 1)
        ax.set_ylabel(_t("channels.mix_y", table=term(table)))
        ax.tick_params(axis="x", rotation=45, labelsize="small")
        ax.legend(title="", fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1].set_xlabel(_t("channels.mix_x_quarter") if mix.attrs.get("freq") == "Q" else _t("channels.mix_x_month"))
    hatched = (groups == "internet").any()
    axes[0].set_title(_t("channels.mix_title_hatched") if hatched else _t("channels.mix_title"))
    return axes


def plot_cost_to_serve(by_channel: pd.DataFrame, currency: str = "", axes=None):
    """Two panels per channel: cost per contact and total cost of the window.

    Parameters
    ----------
    by_channel : DataFrame
        :func:`ecrm_lib.channels.cost.cost_summary` by channel.
    currency : str
        Shown in the axis labels.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    list of matplotlib Axes
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 4.5))
        axes = list(axes)
    if by_channel.empty:
        _empty(axes[0], _t("channels.cost_empty"))
        axes[1].set_axis_off()
        return axes
    d = by_channel.copy()
    d["label"] = d["channel"].map(lambda c: _truncate(c, 18))
    d = d.sort_values("total_cost", ascending=True, na_position="first")
    colours = sns.color_palette(PALETTE)
    y = np.arange(len(d))
    cpc = d["cost_per_contact"].fillna(0).to_numpy()
    axes[0].barh(y, cpc, color=colours[0])
    for yi, v, missing in zip(y, d["cost_per_contact"], d["n_missing_cost"] > 0):
        txt = _t("channels.no_cost") if pd.isna(v) else _money(v) + (" *" if missing else "")
        axes[0].annotate(txt, (0 if pd.isna(v) else v, yi), va="center", fontsize="small", xytext=(3, 0), textcoords="offset points")
    axes[0].set_yticks(y, d["label"])
    axes[0].set_xlabel(with_unit(_t("channels.cpc_x"), currency_name(currency)))
    axes[0].set_title(_t("channels.cpc_title"))
    axes[1].barh(y, d["total_cost"].fillna(0).to_numpy(), color=colours[1])
    for yi, v in zip(y, d["total_cost"].fillna(0)):
        axes[1].annotate(_money(v), (v, yi), va="center", fontsize="small", xytext=(3, 0), textcoords="offset points")
    axes[1].set_yticks(y, [""] * len(y))
    axes[1].set_xlabel(with_unit(_t("channels.total_x"), currency_name(currency)))
    axes[1].set_title(_t("channels.total_title"))
    for ax in axes:
        ax.margins(x=0.25)
        compact_money_axis(ax.xaxis)  # one unit per axis (50k, 100k; 5만, 10만), the currency in the label
        zero_based(ax, "x")
    axes[0].set_ylabel(_t("common.channel"))
    return axes


def plot_hourly_contacts(hourly: pd.DataFrame, office_hours: Sequence[int] = (9, 18), ax=None):
    """Lines: contacts customers start per local hour, weekdays and weekends, per channel group; office hours shaded.

    Parameters
    ----------
    hourly : DataFrame
        Output of :func:`ecrm_lib.channels.reach.hourly_contacts`.
    office_hours : (int, int)
        Opening and closing hour (local time).
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if hourly.empty:
        return _empty(ax, _t("channels.hourly_empty"))
    ax.axvspan(office_hours[0] - 0.5, office_hours[1] - 0.5, color="0.9", zorder=0, label=_t("channels.office_hours"))
    groups = sorted(hourly["group"].astype(str).unique())
    colours = dict(zip(groups, sns.color_palette(PALETTE, len(groups))))
    for (grp, day), part in hourly.groupby([hourly["group"].astype(str), hourly["day_type"].astype(str)]):
        s = part.groupby("hour")["n"].sum().reindex(range(24), fill_value=0)
        ax.plot(s.index, s.to_numpy(), color=colours[grp], linestyle="-" if day == "weekday" else "--", marker="o", markersize=3,
                label=f"{_truncate(term(grp), 20)}, {term(day)}")
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.5, 23.5)
    ax.set_ylim(bottom=0)
    count_axis(ax.yaxis)
    ax.set_xlabel(_t("channels.hourly_x"))
    ax.set_ylabel(_t("channels.hourly_y"))
    ax.set_title(_t("channels.hourly_title"))
    ax.legend(title="", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def plot_conflicts(summary: pd.DataFrame, ax=None, top: int = 12):
    """Stacked horizontal bars: conflicts per channel pair (first -> second), split by purpose.

    Parameters
    ----------
    summary : DataFrame
        :func:`ecrm_lib.channels.conflicts.conflict_summary` with purposes.
    ax : matplotlib Axes, optional
    top : int
        The ``top`` channel pairs with the most conflicts.
    """
    if summary.empty:
        return _empty(_ax(ax), _t("channels.conflicts_empty"))
    d = summary.copy()
    d["pair"] = [f"{_truncate(a, 14)} → {_truncate(b, 14)}" for a, b in zip(d["first_channel"], d["second_channel"])]
    d["purpose"] = d["purpose"].map(lambda p: _truncate(p, 24))
    wide = d.pivot_table(index="pair", columns="purpose", values="conflicts", aggfunc="sum", fill_value=0)
    wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False).index[:top]].iloc[::-1]
    wide = wide[wide.sum().sort_values(ascending=False).index]
    ax = _ax(ax, (9, max(3.0, 0.35 * len(wide) + 1.5)))
    left = np.zeros(len(wide))
    colours = sns.color_palette(PALETTE, len(wide.columns))
    for col, colour in zip(wide.columns, colours):
        ax.barh(wide.index, wide[col].to_numpy(), left=left, color=colour, label=col)
        left += wide[col].to_numpy()
    ax.set_xlabel(_t("channels.conflicts_x"))
    ax.set_ylabel(_t("channels.conflicts_y"))
    ax.set_title(_t("channels.conflicts_title"))
    count_axis(ax.xaxis)
    zero_based(ax, "x")
    ax.legend(title=_t("channels.conflicts_legend"), fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def _rate_bars(ax, d: pd.DataFrame, label_col: str, colour, title: str, xlabel: str):
    x = np.arange(len(d))
    rate = d["response_rate"].to_numpy(dtype=float)
    err = np.vstack([rate - d["response_ci_low"].to_numpy(dtype=float), d["response_ci_high"].to_numpy(dtype=float) - rate])
    ax.bar(x, rate, color=colour, yerr=err, capsize=4, ecolor="0.3")
    for xi, hi, n in zip(x, d["response_ci_high"], d["n_customers"]):  # customers: 1-4 read <5
        ax.annotate(_t("channels.n_people", n=count_label(n)), (xi, hi), ha="center", va="bottom", fontsize="small", xytext=(0, 2),
                    textcoords="offset points")
    ax.set_xticks(x, [_truncate(v, 22).replace(" (", "\n(") for v in d[label_col].astype(str)])
    share_axis(ax.yaxis)
    ax.set_ylim(0, max(0.05, float(np.nanmax(d["response_ci_high"]))) * 1.2)
    ax.set_xlabel(xlabel)
    ax.set_title(title)


def plot_ifood_response(by_band: pd.DataFrame, by_dominant: pd.DataFrame, axes=None):
    """Two panels: last-campaign response rate (95 % Wilson interval) by web-share band and by dominant channel.

    Parameters
    ----------
    by_band, by_dominant : DataFrame
        :func:`ecrm_lib.channels.datasets.ifood_response_by` with ``by="web_band"`` and ``by="dominant_channel"``.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    list of matplotlib Axes
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharey=True)
        axes = list(axes)
    colours = sns.color_palette(PALETTE)
    _rate_bars(axes[0], by_band, "web_band", colours[0], _t("channels.band_title"), _t("channels.band_x"))
    d = by_dominant[by_dominant["dominant_channel"] != "none"]
    _rate_bars(axes[1], d, "dominant_channel", colours[2], _t("channels.dominant_title"), _t("channels.dominant_x"))
    top = max(a.get_ylim()[1] for a in axes)
    for a in axes:
        a.set_ylim(0, top)
    axes[0].set_ylabel(_t("channels.response_y_pct"))
    axes[0].figure.suptitle(_t("channels.response_title"), fontweight="bold")
    return axes


def plot_lead_conversion(conversion: pd.DataFrame, ax=None):
    """Horizontal bars: lead-to-deal conversion per origin channel with 95 % Wilson intervals and lead counts.

    Parameters
    ----------
    conversion : DataFrame
        Output of :func:`ecrm_lib.channels.datasets.lead_conversion`.
    ax : matplotlib Axes, optional
    """
    d = conversion.sort_values("conversion", ascending=True)
    ax = _ax(ax, (9, max(3.0, 0.4 * len(d) + 1.5)))
    if d.empty:
        return _empty(ax, _t("channels.no_leads"))
    y = np.arange(len(d))
    rate = d["conversion"].to_numpy(dtype=float)
    err = np.vstack([rate - d["ci_low"].to_numpy(dtype=float), d["ci_high"].to_numpy(dtype=float) - rate])
    ax.barh(y, rate, xerr=err, color=sns.color_palette(PALETTE)[0], capsize=3, ecolor="0.3")
    for yi, hi, n in zip(y, d["ci_high"], d["n_leads"]):  # leads are people: 1-4 read <5
        ax.annotate(_t("channels.leads_text", n=count_label(n)), (hi, yi), va="center", fontsize="small", xytext=(4, 0),
                    textcoords="offset points")
    ax.set_yticks(y, [_truncate(c, 24) for c in d["channel"].astype(str)])
    share_axis(ax.xaxis)
    ax.set_xlim(0, float(np.nanmax(d["ci_high"])) * 1.3)
    ax.set_xlabel(_t("channels.leads_x_pct"))
    ax.set_ylabel(_t("channels.leads_y"))
    ax.set_title(_t("channels.leads_title"))
    return ax

"""Plots for segments and the SEEF process.

Each function takes a tidy DataFrame from :mod:`ecrm_lib.seef.rfm`,
:mod:`ecrm_lib.seef.clusters`, :mod:`ecrm_lib.seef.selection`,
:mod:`ecrm_lib.seef.evaluation` or :mod:`ecrm_lib.seef.expansion` and an optional ``ax``, labels its axes with units, and
returns the Axes (:func:`plot_k_selection` returns two). Labels that come
from the data (segment names, reasons) are drawn into the image, so they
cannot run as script in an HTML report.

Formatted for a reader (issue 15, :mod:`ecrm_lib.report.plots.base`): shares in %, counts of customers as whole
numbers (1-4 people beside a bar or a row read ``<5``), money in one short unit per axis with the currency in the
label, standardised differences signed, bars and counts from zero. The selection figures read ``plots.selection.*``,
the evaluation figures (:func:`plot_target_lorenz`, :func:`plot_value_concentration`, :func:`plot_net_value`)
``plots.evaluation.*`` and the expansion figures ``plots.expansion.*``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecrm_lib.core.privacy import count_label
from ecrm_lib.report.plots.base import (compact_money_axis, count_axis, currency_name, money_text, number_axis, points_axis, share_axis,
                                        with_unit, zero_based)
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import truncate_label as _truncate
from ecrm_lib.seef.clusters import feature_label
from ecrm_lib.seef.rfm import segment_label
from ecrm_lib.seef.rule import reason_counts
from ecrm_lib.value.concentration import gini, lorenz_curve

__all__ = [
    "plot_target_lorenz",
    "plot_segments",
    "plot_cluster_profiles",
    "plot_k_selection",
    "plot_target_reasons",
    "plot_lookalike_scores",
    "plot_value_concentration",
    "plot_net_value",
    "plot_expansion_value",
    "plot_contact_plan_mix",
]


def _unit(currency: str) -> str:
    return f" ({currency_name(currency)})" if currency else ""


def plot_target_lorenz(values, ax=None, *, targets=None, currency: str = "", label: str = "CLV"):
    """Lorenz curve of a value (e.g. CLV) over all customers and over the targets, with the Gini in the title.

    Not :func:`ecrm_lib.report.plots.value.plot_lorenz`, which draws the
    customer-value report's precomputed curve with its concentration points.

    Parameters
    ----------
    values : array-like
        One value per customer (>= 0).
    targets : array-like of bool, optional
        Same length as ``values``: the targets' curve is drawn too.
    currency : str
        Shown in the title.
    """
    ax = _ax(ax, (6, 6))
    cur = lorenz_curve(values)
    ax.plot(cur["customer_share"] * 100, cur["value_share"] * 100, label=_t("evaluation.all_gini", gini=gini(values)))
    if targets is not None:
        v = np.asarray(values, dtype=float)[np.asarray(targets, dtype=bool)]
        if len(v) and np.nansum(v) > 0:
            t = lorenz_curve(v)
            ax.plot(t["customer_share"] * 100, t["value_share"] * 100, label=_t("evaluation.targets_gini", gini=gini(v)))
    ax.plot([0, 100], [0, 100], color="grey", linestyle="--", linewidth=1, label=_t("evaluation.perfect_equality"))
    ax.set_xlabel(_t("evaluation.lorenz_x"))
    ax.set_ylabel(_t("evaluation.share_of_total", label=label))
    ax.set_title(_t("evaluation.lorenz_title", label=f"{label}{_unit(currency)}", gini=gini(values)))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    share_axis(ax.xaxis, scale=100)
    share_axis(ax.yaxis, scale=100)
    ax.legend(loc="upper left")
    return ax


def plot_segments(summary: pd.DataFrame, ax=None, *, currency: str = ""):
    """Segment sizes (bars, customers) and, when present, value share (dots, %).

    A shipped segment's name is drawn in the report language (:func:`ecrm_lib.seef.rfm.segment_label`), a name of
    the user's own segment table as written.

    Parameters
    ----------
    summary : DataFrame
        From :func:`ecrm_lib.seef.rfm.segment_summary`.
    currency : str, optional
        The value's currency; the dots are a share of the segments' total value (%), so no label names it.
    """
    ax = _ax(ax, (9, 5))
    s = summary.iloc[::-1]
    y = np.arange(len(s))
    labels = [f"{_truncate(segment_label(x))} ({count_label(n)})" for x, n in zip(s["segment"], s["customers"])]  # 1-4: <5
    ax.barh(y, s["customer_share"] * 100, color="C0", label=_t("selection.customers_pct"))
    ax.set_yticks(y, labels)
    ax.set_xlabel(_t("selection.segments_x_value") if "value_share" in s else _t("selection.segments_x"))
    ax.set_ylabel(_t("selection.segments_y"))
    if "value_share" in s:
        ax.scatter(s["value_share"].fillna(0) * 100, y, color="C3", zorder=3, label=_t("selection.value_pct"))  # a share: no currency
        ax.legend(loc="lower right")
    ax.set_title(_t("selection.segments_title"))
    share_axis(ax.xaxis, scale=100)
    zero_based(ax, "x")
    return ax


def plot_cluster_profiles(profiles: pd.DataFrame, features: Sequence[str], ax=None):
    """Heatmap of standardised differences (cluster vs all customers, standard deviations).

    Parameters
    ----------
    profiles : DataFrame
        ``ClusterResult.profiles`` (columns ``diff_<feature>``, ``cluster_name``).
    features : sequence of str
        ``ClusterResult.features``.
    """
    features = list(features)
    ax = _ax(ax, (1.2 * len(features) + 4, 0.6 * len(profiles) + 2))
    M = profiles[[f"diff_{f}" for f in features]].to_numpy(dtype=float, copy=True)
    few = profiles["customers"].astype(float).between(1, 4).to_numpy()  # no profile of 1-4 people: the row stays blank
    M[few, :] = np.nan
    lim = max(1.0, float(np.nanmax(np.abs(M)))) if np.isfinite(M).any() else 1.0
    im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(features)), [_truncate(feature_label(f), 28) for f in features], rotation=30, ha="right")
    names = profiles["cluster_name"] if "cluster_name" in profiles else profiles["cluster"].astype(str)
    ylabels = [f"{_truncate(n, 36)} ({count_label(k)})" for n, k in zip(names, profiles["customers"])]  # 1-4: <5
    ax.set_yticks(range(len(profiles)), ylabels)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if not np.isfinite(M[i, j]):
                continue
            dark = abs(M[i, j]) > 0.6 * lim  # white text on the darkest cells
            text = "0.0" if round(M[i, j], 1) == 0 else f"{M[i, j]:+.1f}"  # signed, never "+0.0" or "-0.0"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.grid(False)  # no grid line through a cell's number
    ax.set_xlabel(_t("selection.feature"))
    ax.set_ylabel(_t("selection.cluster_y"))
    bar = ax.figure.colorbar(im, ax=ax, label=_t("selection.cluster_colorbar"))
    points_axis(bar.ax.yaxis)  # standard deviations above (+) or below (-) all customers
    ax.set_title(_t("selection.cluster_title"))
    return ax


def plot_k_selection(k_scores: pd.DataFrame, axes=None):
    """Silhouette and inertia (elbow) against k, the chosen k marked.

    Parameters
    ----------
    k_scores : DataFrame
        From :func:`ecrm_lib.seef.clusters.choose_k`.

    Returns
    -------
    (Axes, Axes)
        Silhouette axes and inertia axes.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    a1, a2 = axes
    k = k_scores["k"]
    a1.plot(k, k_scores["silhouette"], marker="o")
    a2.plot(k, k_scores["inertia"], marker="o", color="C1")
    for ax, col in ((a1, "chosen"), (a2, "elbow")):
        if col in k_scores and k_scores[col].any():
            kc = int(k_scores.loc[k_scores[col], "k"].iloc[0])
            ax.axvline(kc, color="grey", linestyle="--", linewidth=1, label=_t("selection.k_chosen" if col == "chosen" else "selection.k_elbow", k=kc))
            ax.legend()
    for ax in (a1, a2):
        ax.set_xticks(list(k))  # whole numbers of clusters only
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    for ax in (a1, a2):  # from zero (silhouette: when no k scores below it), so that a small difference looks small
        zero_based(ax)
    number_axis(a1.yaxis)
    number_axis(a2.yaxis)  # inertia without "1e6" or an offset
    a1.set_xlabel(_t("selection.k_x"))
    a1.set_ylabel(_t("selection.silhouette_y"))
    a1.set_title(_t("selection.silhouette_title"))
    a2.set_xlabel(_t("selection.k_x"))
    a2.set_ylabel(_t("selection.inertia_y"))
    a2.set_title(_t("selection.elbow_title"))
    return a1, a2


def plot_target_reasons(targets: pd.DataFrame, ax=None, top: int = 12):
    """How many targets each reason applies to (reasons split at ``;``, numbers removed).

    Parameters
    ----------
    targets : DataFrame
        From :func:`ecrm_lib.seef.rule.select_targets`.
    """
    ax = _ax(ax)
    n = int(targets["selected"].astype(bool).sum())
    counts = reason_counts(targets).head(top).iloc[::-1]  # kinds of reason: per-customer numbers dropped
    ax.barh([_truncate(x, 50) for x in counts["reason"]], counts["targets"].to_numpy())
    ax.set_xlabel(_t("selection.reasons_x"))
    ax.set_ylabel(_t("selection.reasons_y"))
    ax.set_title(_t("selection.reasons_title", n=n))
    count_axis(ax.xaxis)
    zero_based(ax, "x")
    return ax


def plot_lookalike_scores(scores: pd.DataFrame, ax=None, bins: int = 40):
    """Distribution of look-alike scores, targets vs the rest.

    Parameters
    ----------
    scores : DataFrame
        ``LookalikeResult.scores``.
    """
    ax = _ax(ax)
    edges = np.linspace(0, 1, bins + 1)
    for flag, key in ((False, "expansion.other_customers_n"), (True, "expansion.targets_n")):
        s = scores.loc[scores["is_target"] == flag, "score"].dropna()
        if len(s):
            ax.hist(s, bins=edges, alpha=0.6, density=True, label=_t(key, n=len(s)))
    ax.set_xlabel(_t("expansion.lookalike_x"))
    ax.set_ylabel(_t("expansion.lookalike_y"))
    ax.set_title(_t("expansion.lookalike_title"))
    ax.legend()
    return ax


def plot_value_concentration(curve: pd.DataFrame, point: dict | None = None, ax=None, *, currency: str = "", label: str = "CLV"):
    """Share of value held by the highest-value customers, with the targets marked.

    Parameters
    ----------
    curve : DataFrame
        From :func:`ecrm_lib.seef.evaluation.concentration_curve`.
    point : dict, optional
        From :func:`ecrm_lib.seef.evaluation.target_concentration`: the targets' share of
        customers and of value is drawn as a dot, the best group of the same
        size as a cross.
    """
    ax = _ax(ax, (7, 6))
    ax.plot(curve["customer_share"] * 100, curve["value_share"] * 100, label=_t("evaluation.concentration_curve", label=label))
    ax.plot([0, 100], [0, 100], color="grey", linestyle="--", linewidth=1, label=_t("evaluation.random_customers"))
    title = _t("evaluation.concentration_title", label=f"{label}{_unit(currency)}")
    if point:
        x, y, b = point["customer_share"] * 100, point["value_share"] * 100, point["best_value_share"] * 100
        ax.scatter([x], [y], s=80, color="C3", zorder=4, label=_t("evaluation.targets_point", customers=f"{x:.0f}%", value=f"{y:.0f}%", label=label))
        ax.scatter([x], [b], s=80, marker="x", color="C2", zorder=4, label=_t("evaluation.best_point", customers=f"{x:.0f}%", value=f"{b:.0f}%", label=label))
        if point.get("gini") is not None and np.isfinite(point["gini"]):
            title = _t("evaluation.concentration_title_gini", label=f"{label}{_unit(currency)}", gini=point["gini"])
    ax.set_xlabel(_t("evaluation.concentration_x", label=label))
    ax.set_ylabel(_t("evaluation.share_of_total", label=label))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    share_axis(ax.xaxis, scale=100)
    share_axis(ax.yaxis, scale=100)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_net_value(profit: pd.DataFrame, targets, ax=None, *, currency: str = "", bins: int = 40, clip_quantile: float = 0.99):
    """Distribution of net value (CLV minus expected cost to serve), targets vs the rest.

    Parameters
    ----------
    profit : DataFrame
        From :func:`ecrm_lib.seef.evaluation.profitability` (``net_value``).
    targets : array-like of bool
        One flag per row of ``profit``.
    clip_quantile : float
        The x axis spans the central part of the values (tails beyond this
        quantile on either side are drawn at the edge bins).
    """
    ax = _ax(ax)
    v = profit["net_value"].astype(float).to_numpy()
    flag = np.asarray(targets, dtype=bool)
    ok = np.isfinite(v)
    if ok.any():
        lo, hi = np.quantile(v[ok], [1 - clip_quantile, clip_quantile])
        if hi <= lo:
            lo, hi = lo - 1, hi + 1
        edges = np.linspace(lo, hi, bins + 1)
        for m, key in ((~flag, "evaluation.other_customers_n"), (flag, "evaluation.targets_n")):
            x = np.clip(v[m & ok], lo, hi)
            if len(x):
                ax.hist(x, bins=edges, alpha=0.6, density=False, label=_t(key, n=count_label(len(x))))  # 1-4: <5
    ax.axvline(0, color="black", linewidth=1, linestyle="--", label=_t("evaluation.break_even"))
    ax.set_xlabel(_t("evaluation.net_x_currency", currency=currency_name(currency)) if currency else _t("evaluation.net_x"))
    ax.set_ylabel(_t("evaluation.customers"))
    ax.set_title(_t("evaluation.net_title"))
    compact_money_axis(ax.xaxis)  # net value spans losses and gains: the axis holds zero (break-even), not starts there
    count_axis(ax.yaxis)
    zero_based(ax)
    ax.legend()
    return ax


def plot_expansion_value(table: pd.DataFrame, ax=None, *, currency: str = ""):
    """Predicted value of adding the top-N look-alikes, with its interval and the random-pick baseline.

    Parameters
    ----------
    table : DataFrame
        From :func:`ecrm_lib.seef.expansion.expansion_value`.
    """
    ax = _ax(ax)
    t = table.sort_values("added")
    ax.plot(t["added"], t["value"], marker="o", label=_t("expansion.value_top"))
    if t["value_low"].notna().all() and t["value_high"].notna().all():
        ax.fill_between(t["added"], t["value_low"], t["value_high"], alpha=0.2, label=_t("expansion.value_interval"))
    if "value_random" in t:
        ax.plot(t["added"], t["value_random"], marker="s", linestyle="--", color="grey", label=_t("expansion.value_random"))
    ax.set_xlabel(_t("expansion.value_x"))
    ax.set_ylabel(with_unit(_t("expansion.value_y"), currency_name(currency)))
    lows = pd.concat([t[c] for c in ("value", "value_low", "value_random") if c in t]).astype(float)
    if len(lows.dropna()) and lows.min() >= 0:
        ax.set_ylim(bottom=0)  # amounts from zero, so that the gap to the random pick reads at its true size
        ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    count_axis(ax.xaxis)  # customers added: whole numbers
    ax.set_title(_t("expansion.value_title"))
    ax.legend(loc="upper left")
    return ax


def plot_contact_plan_mix(mix: pd.DataFrame, ax=None, *, currency: str = ""):
    """Customers per cheapest channel (bars), with the cost of one contact each (labels).

    Parameters
    ----------
    mix : DataFrame
        From :func:`ecrm_lib.seef.contact.contact_plan_mix` (suppressed rows are left out).
    """
    ax = _ax(ax)
    m = mix.loc[~mix.get("suppressed", pd.Series(False, index=mix.index)).astype(bool)].iloc[::-1]
    y = np.arange(len(m))
    ax.barh(y, m["customers"].astype(float), color="C0")
    ax.set_yticks(y, [_truncate(c, 30) for c in m["channel"]])
    for yi, n, c in zip(y, m["customers"].astype(float), m["cost_per_contact"].astype(float)):
        if np.isfinite(c):
            ax.text(n, yi, "  " + _t("expansion.per_contact", cost=money_text(c, currency)), va="center", fontsize=9)
    ax.set_xlabel(_t("expansion.contact_x"))
    ax.set_ylabel(_t("expansion.channel"))
    ax.set_title(_t("expansion.contact_title"))
    ax.margins(x=0.35)
    count_axis(ax.xaxis)
    zero_based(ax, "x")
    return ax

"""Figures for the churn notebook. Each function takes a tidy DataFrame from
:mod:`ecrm_lib.value.churn`, :mod:`ecrm_lib.value.churn_measures` or :mod:`ecrm_lib.value.contract_churn` and an optional ``ax``, labels its axes with units, and
returns the Axes. Call :func:`ecrm_lib.report.plots.base.set_theme` first for the suite's style.

Formatted for a reader (issue 15, :mod:`ecrm_lib.report.plots.base`): probabilities and rates in % (the page's
prose writes them so), customers as whole numbers, lift as a plain multiple from zero, the drop in ROC-AUC as
signed AUC points (0.01 of AUC = 1 point).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.core.format import format_date
from ecrm_lib.value.churn_measures import model_label
from ecrm_lib.report.plots.base import PALETTE, count_axis, date_axis, number_axis, points_axis, share_axis, term
from ecrm_lib.report.plots.base import label as _t
from ecrm_lib.report.plots.base import get_ax as _ax

__all__ = [
    "model_colours",
    "plot_timeline",
    "plot_roc_curves",
    "plot_lift",
    "plot_calibration",
    "plot_importance",
    "plot_risk_distribution",
    "plot_truth_by_decile",
    "plot_churn_by_tenure",
]

_MODEL_ORDER = ("logistic", "gradient_boosting", "bgnbd_window", "p_alive")


def _empty(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return ax


def model_colours() -> dict[str, tuple]:
    """A fixed colour per model name, so that every figure uses the same one."""
    pal = sns.color_palette(PALETTE, 8)
    return {m: pal[i] for i, m in enumerate(_MODEL_ORDER)}


def _labels(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(model, label) pairs in a stable order."""
    pairs = df[["model", "label"]].drop_duplicates()
    order = {m: i for i, m in enumerate(_MODEL_ORDER)}
    pairs = pairs.assign(_o=pairs["model"].map(order).fillna(99)).sort_values("_o")
    return list(zip(pairs["model"], pairs["label"]))


def plot_timeline(timeline: pd.DataFrame, ax=None, window_days: int | None = None):
    """Bars on a calendar: the feature periods, the label window and the predicted window.

    Parameters
    ----------
    timeline : DataFrame
        :meth:`ecrm_lib.value.churn_data.ChurnTimeline.table` (``phase``, ``start``, ``end``).
    ax : matplotlib Axes, optional
    window_days : int, optional
        Named in the title.
    """
    ax = _ax(ax, (9, 3.2))
    pal = sns.color_palette(PALETTE, 8)
    colours = {"training features": pal[0], "label window": pal[3], "scoring features": pal[2], "predicted window": pal[7]}
    rows = timeline.iloc[::-1].reset_index(drop=True)
    for i, r in rows.iterrows():
        start = mdates.date2num(pd.Timestamp(r["start"]))
        end = mdates.date2num(pd.Timestamp(r["end"]) + pd.Timedelta(days=1))
        ax.broken_barh([(start, end - start)], (i - 0.35, 0.7), color=colours.get(r["phase"], pal[1]),
                       hatch="//" if r["phase"] == "predicted window" else None, edgecolor="white")
    ax.set_yticks(range(len(rows)), [term(p) for p in rows["phase"]])
    cut = timeline.loc[timeline["phase"] == "training features", "end"]
    as_of = timeline.loc[timeline["phase"] == "label window", "end"]
    for d, name in ((cut, "cut-off"), (as_of, "as of")):
        if not d.empty:
            x = mdates.date2num(pd.Timestamp(d.iloc[0]) + pd.Timedelta(days=1))
            ax.axvline(x, color="black", lw=1, ls="--")
            ax.text(x, len(rows) - 0.45, f" {term(name)}\n {format_date(pd.Timestamp(d.iloc[0]))}", va="bottom", fontsize="small")
    ax.set_ylim(-0.6, len(rows) + 0.4)
    date_axis(ax.xaxis, maxticks=10)
    ax.set_xlabel(_t("common.date"))
    ax.set_title(_t("churn.timeline_title_days", days=window_days) if window_days else _t("churn.timeline_title"))
    ax.grid(axis="y", visible=False)
    return ax


def plot_roc_curves(roc: pd.DataFrame, ax=None, metrics: pd.DataFrame | None = None):
    """ROC curve of each model on the held-out customers.

    Parameters
    ----------
    roc : DataFrame
        ``model``, ``label``, ``fpr``, ``tpr`` (:func:`ecrm_lib.value.churn_measures.roc_curve_table`).
    ax : matplotlib Axes, optional
    metrics : DataFrame, optional
        :func:`ecrm_lib.value.churn_measures.evaluate_scores`; when given, the legend shows each AUC.
    """
    ax = _ax(ax, (6.5, 5.5))
    if roc.empty:
        return _empty(ax, _t("churn.roc_empty"))
    colours = model_colours()
    auc = dict(zip(metrics["model"], metrics["roc_auc"])) if metrics is not None else {}
    for model, label in _labels(roc):
        d = roc[roc["model"] == model]
        name = _t("churn.with_auc", label=term(label), auc=auc[model]) if model in auc and pd.notna(auc[model]) else term(label)
        ax.plot(d["fpr"], d["tpr"], color=colours.get(model), lw=2, label=name)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label=_t("churn.roc_random"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    share_axis(ax.xaxis)
    share_axis(ax.yaxis)
    ax.set_xlabel(_t("churn.roc_x_pct"))
    ax.set_ylabel(_t("churn.roc_y_pct"))
    ax.set_title(_t("churn.roc_title"))
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_lift(lift: pd.DataFrame, ax=None):
    """Bars: lift over a random pick in each risk decile, per model.

    Parameters
    ----------
    lift : DataFrame
        :func:`ecrm_lib.value.churn_measures.lift_by_decile` rows with ``model`` and ``label``.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if lift.empty:
        return _empty(ax, _t("churn.lift_empty"))
    colours = model_colours()
    pairs = _labels(lift)
    width = 0.8 / len(pairs)
    for i, (model, label) in enumerate(pairs):
        d = lift[lift["model"] == model]
        ax.bar(d["decile"] + (i - (len(pairs) - 1) / 2) * width, d["lift"], width=width, color=colours.get(model), label=term(label))
    ax.axhline(1.0, color="black", lw=1, ls="--", label=_t("churn.lift_random"))
    ax.set_xticks(sorted(lift["decile"].unique()))
    ax.set_xlabel(_t("churn.lift_x"))
    ax.set_ylabel(_t("churn.lift_y"))
    ax.set_title(_t("churn.lift_title"))
    ax.legend(fontsize="small", loc="upper right", ncols=2)
    top = float(lift["lift"].max()) if lift["lift"].notna().any() else 1.0
    ax.set_ylim(0, max(top, 1.0) * 1.3)
    number_axis(ax.yaxis)
    return ax


def plot_calibration(calibration: pd.DataFrame, ax=None):
    """Observed churn rate against the predicted probability, per model (the diagonal is perfect).

    Parameters
    ----------
    calibration : DataFrame
        :func:`ecrm_lib.value.churn_measures.calibration_table` rows with ``model`` and ``label``.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax, (6.5, 5.5))
    if calibration.empty:
        return _empty(ax, _t("churn.calibration_empty"))
    colours = model_colours()
    for model, label in _labels(calibration):
        d = calibration[calibration["model"] == model]
        ax.plot(d["mean_predicted"], d["observed_rate"], marker="o", color=colours.get(model), label=term(label))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label=_t("churn.calibration_perfect"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    share_axis(ax.xaxis)
    share_axis(ax.yaxis)
    ax.set_xlabel(_t("churn.calibration_x_pct"))
    ax.set_ylabel(_t("churn.calibration_y_pct"))
    ax.set_title(_t("churn.calibration_title"))
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_importance(importance: pd.DataFrame, ax=None, top: int = 10):
    """Horizontal bars: the drop in ROC-AUC when a feature is shuffled, per model.

    Parameters
    ----------
    importance : DataFrame
        :func:`ecrm_lib.value.churn_measures.permutation_drivers`.
    ax : matplotlib Axes, optional
    top : int
        The ``top`` features by their largest importance over the models.
    """
    if importance.empty:
        return _empty(_ax(ax), _t("churn.importance_empty"))
    best = importance.groupby("label")["importance_mean"].max().sort_values(ascending=False)
    keep = list(best.index[:top])
    d = importance[importance["label"].isin(keep)].copy()
    ax = _ax(ax, (9, max(3.0, 0.42 * len(keep) + 1.4)))
    colours = model_colours()
    present = set(d["model"])
    models = [m for m in _MODEL_ORDER if m in present] + sorted(present - set(_MODEL_ORDER))
    height = 0.8 / max(1, len(models))
    ypos = {lab: i for i, lab in enumerate(keep)}
    for i, model in enumerate(models):
        part = d[d["model"] == model]
        y = np.array([ypos[lab] for lab in part["label"]]) + (i - (len(models) - 1) / 2) * height
        ax.barh(y, 100 * part["importance_mean"], xerr=100 * part["importance_std"], height=height, color=colours.get(model),
                label=model_label(model), error_kw={"elinewidth": 0.8, "ecolor": "0.3"})
    ax.set_yticks(range(len(keep)), [lab if len(lab) <= 48 else lab[:47] + "…" for lab in keep])
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    points_axis(ax.xaxis)
    ax.set_xlabel(_t("churn.importance_x_points"))
    ax.set_ylabel("")
    ax.set_title(_t("churn.importance_title"))
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_risk_distribution(scores: pd.DataFrame, ax=None, window_days: int | None = None):
    """Histogram of the churn probabilities at as-of.

    Parameters
    ----------
    scores : DataFrame
        The ``churn_risk`` product (``churn_probability``).
    ax : matplotlib Axes, optional
    window_days : int, optional
        Named in the axis label.
    """
    ax = _ax(ax)
    if scores.empty:
        return _empty(ax, _t("churn.risk_empty"))
    ax.hist(scores["churn_probability"], bins=np.linspace(0, 1, 21), color=sns.color_palette(PALETTE)[0], edgecolor="white")
    ax.set_xlabel(_t("churn.risk_x_days_pct", days=window_days) if window_days else _t("churn.risk_x_pct"))
    ax.set_ylabel(_t("common.customers"))
    ax.set_xlim(0, 1)
    share_axis(ax.xaxis)
    count_axis(ax.yaxis)
    ax.set_title(_t("churn.risk_title"))
    return ax


def plot_truth_by_decile(table: pd.DataFrame, ax=None):
    """Bars: share of truly lapsed customers per predicted risk decile (synthetic data only).

    Parameters
    ----------
    table : DataFrame
        First output of :func:`ecrm_lib.value.churn_measures.truth_check`.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if table.empty:
        return _empty(ax, _t("churn.truth_empty"))
    ax.bar(table["risk_decile"], table["share_dead"], color=sns.color_palette(PALETTE)[3])
    ax.set_xticks(table["risk_decile"])
    ax.set_xlabel(_t("churn.truth_x"))
    ax.set_ylabel(_t("churn.truth_y"))
    ax.set_ylim(0, 1)
    share_axis(ax.yaxis)
    ax.set_title(_t("churn.truth_title"))
    return ax


def plot_churn_by_tenure(by_tenure: pd.DataFrame, ax=None):
    """Lines: churn rate by tenure band, one line per contract type.

    Parameters
    ----------
    by_tenure : DataFrame
        :func:`ecrm_lib.value.contract_churn.churn_by_tenure`.
    ax : matplotlib Axes, optional
    """
    ax = _ax(ax)
    if by_tenure.empty:
        return _empty(ax, _t("churn.tenure_empty"))
    bands = list(by_tenure["tenure_band"].cat.categories) if hasattr(by_tenure["tenure_band"], "cat") else sorted(by_tenure["tenure_band"].unique())
    pos = {b: i for i, b in enumerate(bands)}
    pal = sns.color_palette(PALETTE, 8)
    for i, (contract, d) in enumerate(by_tenure.groupby("contract", sort=True)):
        ax.plot([pos[b] for b in d["tenure_band"]], d["churn_rate"], marker="o", color=pal[i % 8], label=str(contract)[:40])
    ax.set_xticks(range(len(bands)), [str(b) for b in bands])
    ax.set_xlabel(_t("churn.tenure_x"))
    ax.set_ylabel(_t("churn.tenure_y"))
    ax.set_ylim(0, max(0.05, float(by_tenure["churn_rate"].max()) * 1.15))
    share_axis(ax.yaxis)
    ax.set_title(_t("churn.tenure_title"))
    ax.legend(title=_t("churn.tenure_legend"), fontsize="small")
    return ax

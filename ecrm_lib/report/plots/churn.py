"""Figures for the churn notebook. Each function takes a tidy DataFrame from
:mod:`ecrm_lib.value.churn`, :mod:`ecrm_lib.value.churn_measures` or :mod:`ecrm_lib.value.contract_churn` and an optional ``ax``, labels its axes with units, and
returns the Axes. Call :func:`ecrm_lib.report.plots.base.set_theme` first for the suite's style.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns

from ecrm_lib.value.churn_measures import MODEL_LABELS
from ecrm_lib.report.plots.base import PALETTE
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
    ax.set_yticks(range(len(rows)), [str(p) for p in rows["phase"]])
    cut = timeline.loc[timeline["phase"] == "training features", "end"]
    as_of = timeline.loc[timeline["phase"] == "label window", "end"]
    for d, name in ((cut, "cut-off"), (as_of, "as of")):
        if not d.empty:
            x = mdates.date2num(pd.Timestamp(d.iloc[0]) + pd.Timedelta(days=1))
            ax.axvline(x, color="black", lw=1, ls="--")
            ax.text(x, len(rows) - 0.45, f" {name}\n {pd.Timestamp(d.iloc[0]).date()}", va="bottom", fontsize="small")
    ax.set_ylim(-0.6, len(rows) + 0.4)
    locator = mdates.AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("date")
    w = f"{window_days}-day " if window_days else ""
    ax.set_title(f"Churn = no purchase in a {w}window: how the models are trained, checked and applied")
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
        return _empty(ax, "No ROC curve: the held-out customers have one class only")
    colours = model_colours()
    auc = dict(zip(metrics["model"], metrics["roc_auc"])) if metrics is not None else {}
    for model, label in _labels(roc):
        d = roc[roc["model"] == model]
        name = f"{label} (AUC {auc[model]:.3f})" if model in auc and pd.notna(auc[model]) else label
        ax.plot(d["fpr"], d["tpr"], color=colours.get(model), lw=2, label=name)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="random order (AUC 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (share of stayers flagged)")
    ax.set_ylabel("true positive rate (share of churners caught)")
    ax.set_title("ROC curves on held-out customers")
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
        return _empty(ax, "No lift table")
    colours = model_colours()
    pairs = _labels(lift)
    width = 0.8 / len(pairs)
    for i, (model, label) in enumerate(pairs):
        d = lift[lift["model"] == model]
        ax.bar(d["decile"] + (i - (len(pairs) - 1) / 2) * width, d["lift"], width=width, color=colours.get(model), label=label)
    ax.axhline(1.0, color="black", lw=1, ls="--", label="random pick (lift 1)")
    ax.set_xticks(sorted(lift["decile"].unique()))
    ax.set_xlabel("risk decile (1 = the 10 % of customers with the highest predicted risk)")
    ax.set_ylabel("lift (churn rate / overall churn rate, ×)")
    ax.set_title("Churners found per risk decile, relative to picking at random")
    ax.legend(fontsize="small", loc="upper right", ncols=2)
    top = float(lift["lift"].max()) if lift["lift"].notna().any() else 1.0
    ax.set_ylim(0, top * 1.3)
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
        return _empty(ax, "No calibration table")
    colours = model_colours()
    for model, label in _labels(calibration):
        d = calibration[calibration["model"] == model]
        ax.plot(d["mean_predicted"], d["observed_rate"], marker="o", color=colours.get(model), label=label)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfectly calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted churn probability (mean per bin, 0-1)")
    ax.set_ylabel("observed churn rate (share of customers, 0-1)")
    ax.set_title("Calibration on held-out customers (10 equal-size bins)")
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
        return _empty(_ax(ax), "No drivers: no supervised model was fitted")
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
        ax.barh(y, part["importance_mean"], xerr=part["importance_std"], height=height, color=colours.get(model),
                label=MODEL_LABELS.get(model, model), error_kw={"elinewidth": 0.8, "ecolor": "0.3"})
    ax.set_yticks(range(len(keep)), [lab if len(lab) <= 48 else lab[:47] + "…" for lab in keep])
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("drop in ROC-AUC when the feature is shuffled (AUC points)")
    ax.set_ylabel("")
    ax.set_title("What drives the predicted churn risk (held-out customers)")
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
        return _empty(ax, "No customer was scored")
    ax.hist(scores["churn_probability"], bins=np.linspace(0, 1, 21), color=sns.color_palette(PALETTE)[0], edgecolor="white")
    w = f"the next {window_days} days" if window_days else "the window"
    ax.set_xlabel(f"predicted probability of no purchase in {w} (0-1)")
    ax.set_ylabel("customers")
    ax.set_xlim(0, 1)
    ax.set_title("How churn risk is spread over today's customers")
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
        return _empty(ax, "No customer could be matched to the truth")
    ax.bar(table["risk_decile"], 100 * table["share_dead"], color=sns.color_palette(PALETTE)[3])
    ax.set_xticks(table["risk_decile"])
    ax.set_xlabel("predicted risk decile (1 = riskiest 10 %)")
    ax.set_ylabel("truly lapsed at as-of (% of customers)")
    ax.set_ylim(0, 100)
    ax.set_title("Check against the generator's truth: who had really dropped out")
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
        return _empty(ax, "No tenure column")
    bands = list(by_tenure["tenure_band"].cat.categories) if hasattr(by_tenure["tenure_band"], "cat") else sorted(by_tenure["tenure_band"].unique())
    pos = {b: i for i, b in enumerate(bands)}
    pal = sns.color_palette(PALETTE, 8)
    for i, (contract, d) in enumerate(by_tenure.groupby("contract", sort=True)):
        ax.plot([pos[b] for b in d["tenure_band"]], 100 * d["churn_rate"], marker="o", color=pal[i % 8], label=str(contract)[:40])
    ax.set_xticks(range(len(bands)), [str(b) for b in bands])
    ax.set_xlabel("tenure (months with the company)")
    ax.set_ylabel("churned (% of customers)")
    ax.set_ylim(0, max(5.0, 100 * float(by_tenure["churn_rate"].max()) * 1.15))
    ax.set_title("Churn rate by tenure and contract type")
    ax.legend(title="contract", fontsize="small")
    return ax

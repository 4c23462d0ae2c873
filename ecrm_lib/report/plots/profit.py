"""Figures of the selection by incremental profit (issue 16): the money uplift curve.

:func:`plot_money_uplift_curve` takes the two tables :func:`ecrm_lib.seef.profit_select.profit_selection`
computes on the campaign's own customers, scored out of fold: the curve
(:func:`ecrm_lib.seef.profit_eval.money_uplift_curve`) and the comparison of the ways of choosing with
their intervals (:func:`ecrm_lib.seef.profit_eval.bootstrap_policies`). It draws nothing it computes.
Its words are catalogue messages ``plots.profit.*`` (one function draws English or Korean).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecrm_lib.report.plots.base import currency_name, money_axis, number_axis, share_axis, with_unit
from ecrm_lib.report.plots.base import get_ax as _ax
from ecrm_lib.report.plots.base import label as _t

__all__ = ["POLICY_MARKS", "plot_money_uplift_curve"]

#: How each way of choosing of the comparison is marked: policy -> (catalogue key under plots.profit., marker, colour).
POLICY_MARKS = {
    "by incremental profit": ("mark_profit", "o", "C0"),
    "rule": ("mark_rule", "s", "C2"),
    "everyone": ("mark_everyone", "D", "C3"),
    "random, same size": ("mark_random", "v", "C7"),
}


def _money_ticks(axis, values) -> None:
    """Money ticks that stay readable whatever the size: the short form (``1.2M``, ``125만``) for large amounts,
    plain numbers with the decimals the step needs for small ones (a few dollars per 1,000 customers)."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v)]
    if len(v) and v.max() >= 10_000:
        money_axis(axis, compact=True)
    else:
        number_axis(axis)


def plot_money_uplift_curve(curve: pd.DataFrame, comparison: pd.DataFrame | None = None, ax=None, *,
                            currency: str = ""):
    """Incremental profit per 1,000 campaign customers against the share contacted, in order of predicted profit.

    The line is the profit model's ordering (contact the top share by predicted profit); the dashed line
    is random picks of each size (in expectation: the straight line to contacting everyone); the
    horizontal line at 0 is contacting nobody. Each way of choosing of ``comparison`` is a marked point
    at its share with its interval as an error bar: the profit model's cut-off, contacting everyone,
    random picks of the cut-off's size and the rule's targets (the rule does not contact in the model's
    order, so its point lies off the line).

    Parameters
    ----------
    curve : DataFrame
        ``share`` (0-1), ``per_1000`` and ``random`` (currency per 1,000 campaign customers).
    comparison : DataFrame, optional
        ``policy`` (names of :data:`POLICY_MARKS`; others are drawn with their own name), ``share``,
        ``per_1000``, ``ci_low``, ``ci_high`` (currency per 1,000 campaign customers).
    currency : str
        The config currency, named on the value axis.

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        ``curve`` lacks a column.
    """
    need = {"share", "per_1000", "random"}
    if missing := sorted(need - set(curve.columns)):
        raise ValueError(f"plot_money_uplift_curve needs the curve's column(s) {missing} "
                         f"(ecrm_lib.seef.profit_eval.money_uplift_curve); it has {list(curve.columns)}.")
    ax = _ax(ax, (9, 5))
    ax.plot(curve["share"], curve["per_1000"], color="C0", linewidth=1.8, label=_t("profit.curve"))
    ax.plot(curve["share"], curve["random"], color="grey", linestyle="--", linewidth=1, label=_t("profit.random_line"))
    ax.axhline(0, color="black", linewidth=0.8)
    values = [curve["per_1000"], curve["random"]]
    for r in (comparison.itertuples(index=False) if comparison is not None else ()):
        key, marker, colour = POLICY_MARKS.get(str(r.policy), (None, "P", "C4"))
        name = _t(f"profit.{key}") if key else str(r.policy)
        lo, hi = float(r.ci_low), float(r.ci_high)
        err = None
        if np.isfinite(lo) and np.isfinite(hi):
            err = [[max(0.0, r.per_1000 - lo)], [max(0.0, hi - r.per_1000)]]
            values += [[lo, hi]]
        ax.errorbar([r.share], [r.per_1000], yerr=err, fmt=marker, color=colour, markersize=8, capsize=4,
                    zorder=4, label=name)
        values.append([r.per_1000])
    ax.set_xticks(np.linspace(0, 1, 6))  # 0 % to 100 % in steps of 20 %
    ax.set_xlim(-0.015, 1.015)  # the markers at the ends drawn whole
    share_axis(ax.xaxis)
    _money_ticks(ax.yaxis, np.concatenate([np.asarray(v, float) for v in values]))
    ax.set_xlabel(_t("profit.curve_x"))
    ax.set_ylabel(with_unit(_t("profit.curve_y"), currency_name(currency)))
    ax.set_title(_t("profit.curve_title"))
    ax.legend(loc="lower left", fontsize=9)
    return ax

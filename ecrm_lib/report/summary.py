"""The executive summary: the headline figures of every report of a run, their
trend across earlier runs, and the few actions the figures support most.

Everything here works on plain metric dictionaries, ``{notebook: {key: value}}``
as :meth:`ecrm_lib.run.context.RunContext.metrics` returns them, and on the
registry (:mod:`ecrm_lib.run.registry`), which documents every key with its unit
in parentheses at the end of its meaning. A report that was skipped, or a
figure a report could not measure, is *not available* with the reason; nothing
here raises for an absent notebook or key.

Action rules
------------
:func:`propose_actions` turns the figures into ranked actions ("to do") and
:func:`actions_to_test` lists the actions whose evidence exists but does not
clear its bar ("to test"). Each rule fires only when the figures it needs
exist in the run. The rules, in the order they are ranked (see *Ranking*
below), each with its **evidence bar** (:func:`evidence_bars` words them for
the page):

``stop_segments``
    segments the feedback loop removed or down-weighted (feedback
    ``segment_weights`` product, with each segment's randomised response
    uplift and its interval, ``uplift``, ``ci_low``, ``ci_high`` in share
    points): stop (or reduce) targeting them. Evidence: randomised test.
    Bar, per segment: **stop** when the segment's uplift interval lies
    wholly below 0 (``ci_high < 0``: the campaign surely does not raise the
    segment's response); **target less** when it lies wholly below the
    campaign-wide uplift interval (``ci_high`` below the campaign's
    ``response_uplift_ci_low``: the segment surely responds less than the
    campaign does). A flagged segment that clears neither (its interval
    reaches 0 and the campaign-wide interval) is *to test*, with its figure
    and why; so are the segments of a run whose intervals are not available
    (only the ``loop_segments_down_weighted`` count).
``campaign_works``
    the campaign response uplift over its randomised control group
    (feedback ``response_uplift``): keep the campaign. Evidence: randomised
    test. Bar: the interval lies wholly above 0 (``response_uplift_ci_low >
    0``); a positive uplift whose interval reaches 0, or that has no
    interval, is *to test*. The loop's purchase-rate difference of the earlier
    targets against matched non-targets (``loop_purchase_rate_diff``) is an
    observational comparison, not a test of a campaign, and never fires this
    rule; neither does ``loop_response_uplift_targets``, which is recorded
    without an interval.
``channel_shift``
    channel_integration ``whatif_saving`` > 0: move the what-if contacts to the
    cheaper channel. Evidence: measured saving (a yearly amount).
``retain_targets``
    selection ``n_targets`` > 0 and evaluation ``target_value_share``: act on the
    selected targets. Evidence: model prediction. Amount shown: the predicted
    value (CLV) the targets already hold - a stock, not the gain from acting.
``expansion``
    expansion ``expansion_n`` > 0 and ``expansion_value`` > 0, with a look-alike
    AUC (when measured) of at least ``min_lookalike_auc``: reach the best
    look-alikes. Evidence: model prediction. Amount shown: their predicted CLV
    minus one contact each (it accrues whether or not they are contacted). With
    an AUC of at least :data:`NEAR_MISS_AUC` the text says the look-alikes are
    mostly customers just below the selection rule's cut-offs.
``churn_focus``
    churn ``top_decile_lift`` >= ``min_churn_lift``: focus retention contacts on
    the riskiest tenth. Evidence: model prediction (checked on held-out customers).
``nps``
    feedback ``nps`` <= ``max_nps``: work on what detractors say. Evidence: survey.

Ranking: by the strength of the evidence behind each action, in the fixed
order of the list above (:data:`ACTION_ORDER`): randomised tests first, then
the measured saving, then model-based value, then the survey score. Amounts of
money are shown (``money``, ``money_basis`` and the figure text) but never
rank the actions: they measure unlike things (a yearly saving, value the
targets already hold, value that accrues without contact). At most
``max_actions`` are kept. Items to test are never ranked: they are listed
apart, after the actions.

Uplifts are written in one style everywhere: signed percentage points with
one decimal, e.g. "+2.5 points", intervals as "-6.5 to +4.7 points"
(:func:`format_points`).

Trends and methods
------------------
Some figures depend on a method the run chose: customer value on the purchase
model with the lowest holdout error (customer_value ``best_model``: BG/NBD,
Pareto/NBD or MBG/NBD), churn model quality on the chosen churn model (churn
``best_model``), and the evaluation and expansion values on those.
:data:`METHOD_DEPENDENT` lists them with the metric(s) that record the method.
:func:`collect_trends` reads the method of each run, and a change between two
runs whose method differs (or was not recorded) is **not computed**: the row
says "method changed (MBG/NBD -> Pareto/NBD)". Where both runs also recorded
the figure under one and the same model (customer_value
``total_clv_<model>``, ``top20_value_share_<model>``, ``mean_p_alive_<model>``,
:func:`figures_by_model`; churn ``auc_<model>``), :func:`trend_table` adds the
like-for-like row: both runs by the latest run's model (refitted on each run's
data), with its change. Changes are computed on the unrounded values and then
rounded for display, at the precision of the values (:func:`format_change`),
so a change can differ by one in its last digit from the difference of the
two rounded values shown (:data:`ROUNDING_NOTE`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.run.registry import Registry

__all__ = [
    "AREAS",
    "HEADLINES",
    "DEFAULT_TREND_METRICS",
    "Headline",
    "unit_of",
    "format_value",
    "format_money",
    "report_status",
    "headline_table",
    "collect_trends",
    "propose_actions",
    "ACTION_ORDER",
    "ACTION_EVIDENCE",
    "NEAR_MISS_AUC",
    "RANKING_NOTE",
    "figures_by_key",
    "trend_table",
    "headline_paragraph",
    "format_points",
    "format_points_interval",
    "format_change",
    "ROUNDING_NOTE",
    "METHOD_DEPENDENT",
    "MethodDependence",
    "METHOD_LABELS",
    "BY_MODEL_METRICS",
    "method_label",
    "figures_by_model",
    "evidence_bars",
    "actions_to_test",
    "trend_notes",
    "TREND_COLUMNS",
]

AREAS = ("Customers", "Value and concentration", "Churn risk", "Channel cost and reach", "Targets", "Feedback")
"""Areas of the headline table, in the order shown."""


@dataclass(frozen=True)
class Headline:
    """One headline figure: which area it belongs to, where it is recorded, how it is called."""

    area: str
    notebook: str
    key: str
    label: str
    coverage: tuple[str, str, str] | None = None
    """``(n_key, of_key, words)``: keys of the same notebook whose values are
    added to the label as "(n of N words)" when the figure is shown."""


HEADLINES: tuple[Headline, ...] = (
    Headline("Customers", "channel_integration", "n_customers", "Customers after joining channel accounts"),
    Headline("Customers", "customer_value", "n_customers", "Customers with a purchase"),
    Headline("Customers", "customer_value", "n_repeat_customers", "Customers who bought again"),
    Headline("Customers", "channel_integration", "multichannel_share", "Customers known in 2+ channels"),
    Headline("Customers", "data_overview", "total_revenue", "Revenue in the data"),
    Headline("Value and concentration", "customer_value", "total_clv", "Predicted customer value (CLV, all customers)"),
    Headline("Value and concentration", "customer_value", "top20_value_share", "Value held by the top 20 % of customers"),
    Headline("Value and concentration", "evaluation", "gini_clv", "Gini coefficient of CLV"),
    Headline("Value and concentration", "customer_value", "mean_p_alive", "Mean probability a customer is still active"),
    Headline("Churn risk", "churn", "churn_rate_validation", "Churn rate in the held-out window"),
    Headline("Churn risk", "churn", "best_auc", "How well churners are spotted (ROC-AUC)"),
    Headline("Churn risk", "churn", "top_decile_lift", "Churn rate of the riskiest 10 % vs average (lift)"),
    Headline("Churn risk", "churn", "telco_churn_rate", "Contract customers who left"),
    Headline("Channel cost and reach", "channel_integration", "cost_to_serve_total", "Cost to serve"),
    Headline("Channel cost and reach", "channel_integration", "cost_per_customer", "Cost to serve per contacting customer"),
    Headline("Channel cost and reach", "channel_integration", "whatif_saving", "Saving of the cheaper-channel what-if"),
    Headline("Channel cost and reach", "channel_integration", "offhours_customer_share", "Contacting customers who come outside office hours"),
    Headline("Channel cost and reach", "channel_integration", "internet_only_customer_share", "Customers reached only online"),
    Headline("Targets", "selection", "n_targets", "Target customers selected"),
    Headline("Targets", "selection", "target_share", "Share of customers targeted"),
    Headline("Targets", "evaluation", "target_value_share", "Share of predicted value held by the targets"),
    Headline("Targets", "evaluation", "target_net_value", "Targets' value after cost to serve"),
    Headline("Targets", "expansion", "expansion_n", "Look-alike customers proposed"),
    Headline("Targets", "expansion", "expansion_value", "Their predicted value"),
    Headline("Targets", "expansion", "lookalike_auc", "Look-alike model quality (ROC-AUC)"),
    Headline("Feedback", "feedback", "response_uplift", "Campaign response uplift over control"),
    Headline("Feedback", "feedback", "nps", "Net Promoter Score"),
    Headline("Feedback", "feedback", "n_feedback", "Feedback answers"),
    Headline("Feedback", "feedback", "loop_purchase_rate_diff",
             "Earlier targets' purchase rate minus that of matched non-targets (observational, not a campaign test)",
             coverage=("loop_n_compared", "loop_n_targets", "earlier targets compared")),
    Headline("Feedback", "feedback", "loop_segments_down_weighted", "Segments the feedback down-weighted or removed"),
)
"""The figures of the headline table (only those the registry declares are shown)."""

DEFAULT_TREND_METRICS = (
    "customer_value.total_clv",
    "customer_value.top20_value_share",
    "churn.churn_rate_validation",
    "channel_integration.cost_to_serve_total",
    "selection.n_targets",
    "feedback.nps",
)
"""``notebook.key`` of the metrics drawn as trends by default."""

NOT_AVAILABLE = "not available"


# ----------------------------------------------------------------- units
def unit_of(description: str | None) -> str:
    """The unit of a registry metric: the text in the last parentheses of its meaning.

    Examples
    --------
    >>> unit_of("share of customers known only online; None without that group (share 0-1)")
    'share 0-1'
    >>> unit_of("no unit here")
    ''
    """
    if not description:
        return ""
    m = re.search(r"\(([^()]*)\)\s*$", str(description))
    return m.group(1).strip() if m else ""


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (text, None, NaN, bool)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def format_money(value: Any, currency: str = "") -> str:
    """Money in words a strategy reader scans: 1.23 billion KRW, 45.6 million KRW, 12,345 KRW.

    Examples
    --------
    >>> format_money(1_234_567_890, "KRW")
    '1.23 billion KRW'
    >>> format_money(-45_600_000, "KRW")
    '-45.6 million KRW'
    >>> format_money(12345.4, "EUR")
    '12,345 EUR'
    >>> format_money(None, "KRW")
    'not available'
    """
    x = _number(value)
    if x is None:
        return NOT_AVAILABLE
    a = abs(x)
    if a >= 1e9:
        text = f"{x / 1e9:,.2f} billion"
    elif a >= 1e6:
        text = f"{x / 1e6:,.1f} million"
    elif a >= 100:
        text = f"{x:,.0f}"
    else:
        text = f"{x:,.2f}"
    return f"{text} {currency}".strip()


def format_value(value: Any, unit: str, currency: str = "") -> str:
    """A metric value as text, by the unit its registry entry gives.

    Parameters
    ----------
    value : number, str or None
        The recorded value.
    unit : str
        From :func:`unit_of`, e.g. ``"share 0-1"``, ``"config currency"``,
        ``"share points"``, ``"AUC 0-1"``, ``"ratio"``, ``"customers"``.
    currency : str
        The config currency (for ``config currency`` units).

    Examples
    --------
    >>> format_value(0.384, "share 0-1")
    '38.4%'
    >>> format_value(0.021, "share points, 0.01 = 1 point")
    '+2.1 points'
    >>> format_value(2_500_000, "config currency per year", "KRW")
    '2.5 million KRW a year'
    >>> format_value(0.8123, "AUC 0-1"), format_value(2.345, "ratio"), format_value(12, "points, -100 to 100")
    ('0.812', '2.35', '+12.0')
    >>> format_value(1234, "customers"), format_value(None, "customers"), format_value("bgnbd", "")
    ('1,234', 'not available', 'bgnbd')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NOT_AVAILABLE
    x = _number(value)
    if x is None:
        return str(value)
    u = unit.lower()
    if u.startswith("share points"):
        return f"{100 * x:+.1f} points"
    if u.startswith("share"):
        return f"{100 * x:.1f}%"
    if "currency" in u:
        return format_money(x, currency) + (" a year" if "per year" in u else "")
    if u.startswith(("auc", "correlation", "p-value", "0 equal")):
        return f"{x:.3f}"
    if u.startswith("ratio"):
        return f"{x:.2f}"
    if u.startswith("points"):
        return f"{x:+.1f}"
    if u.startswith("%"):
        return f"{x:+.1f}%"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}"


def format_points(value: Any) -> str:
    """A difference of shares (a fraction, 0.01 = 1 point) in signed percentage points.

    The one style of the page for uplifts and other differences of rates.

    Examples
    --------
    >>> format_points(0.025427), format_points(-0.0096), format_points(None)
    ('+2.5 points', '-1.0 points', 'not available')
    """
    x = _number(value)
    return NOT_AVAILABLE if x is None else f"{100 * x:+.1f} points"


def format_points_interval(low: Any, high: Any) -> str:
    """An interval of share differences in signed points: ``"-6.5 to +4.7 points"``.

    Examples
    --------
    >>> format_points_interval(-0.0652, 0.047), format_points_interval(None, 0.1)
    ('-6.5 to +4.7 points', 'not available')
    """
    lo, hi = _number(low), _number(high)
    if lo is None or hi is None:
        return NOT_AVAILABLE
    return f"{100 * lo:+.1f} to {100 * hi:+.1f} points"


def format_change(change: Any, unit: str, currency: str = "") -> str:
    """The change of a metric between two runs, at the precision its values are shown with.

    The change is computed on the unrounded values by the caller; only the
    display is rounded here. Shares change in percentage points, money in the
    currency (signed), counts as signed integers; exactly 0 is "no change".

    Examples
    --------
    >>> format_change(0.1264771, "share 0-1"), format_change(1.0826, "points, -100 to 100")
    ('+12.6 points', '+1.1')
    >>> format_change(-4_497_033.4, "config currency", "KRW"), format_change(0, "customers"), format_change(25, "customers")
    ('-4.5 million KRW', 'no change', '+25')
    >>> format_change(0.0861, "AUC 0-1"), format_change(-0.037, "ratio"), format_change(-1.5, "%")
    ('+0.086', '-0.04', '-1.5 points')
    """
    x = _number(change)
    if x is None:
        return NOT_AVAILABLE
    if x == 0:
        return "no change"
    u = (unit or "").lower()
    if u.startswith("share"):
        return format_points(x)
    if "currency" in u:
        return ("+" if x > 0 else "") + format_money(x, currency) + (" a year" if "per year" in u else "")
    if u.startswith(("auc", "correlation", "p-value", "0 equal")):
        return f"{x:+.3f}"
    if u.startswith("ratio"):
        return f"{x:+.2f}"
    if u.startswith("points"):
        return f"{x:+.1f}"
    if u.startswith("%"):
        return f"{x:+.1f} points"
    if float(x).is_integer():
        return f"{int(x):+,}"
    return f"{x:+,.2f}"


ROUNDING_NOTE = (
    "Changes are computed on the unrounded values and then rounded, so a change can differ by one in its last "
    "digit from the difference of the two rounded values shown. Shares are shown in % and their changes in "
    "percentage points."
)
"""How the trend table rounds, in words for the summary page."""


def _none_reason(description: str) -> str:
    """The registry's own words on when a metric is empty ("None without contacts or costs")."""
    for part in re.split(r";", re.sub(r"\([^()]*\)\s*$", "", description)):
        part = part.strip()
        if re.match(r"(none|null)\b", part, flags=re.I):
            return re.sub(r"^(none|null)\s*", "", part, flags=re.I).strip()
    return ""


# ------------------------------------------------------------ report status
def report_status(
    registry: Registry,
    ran: Iterable[str],
    has_table: Callable[[str], bool],
    exclude: Iterable[str] = (),
) -> dict[str, str | None]:
    """Why each report has (or has not) got figures in this run.

    Parameters
    ----------
    registry : Registry
        The notebook registry.
    ran : iterable of str
        Notebooks whose metrics file exists in the run.
    has_table : callable
        ``has_table(table)`` is True when the run loaded that canonical table
        (:meth:`ecrm_lib.run.context.RunContext.has`).
    exclude : iterable of str
        Notebooks to leave out (the summary itself).

    Returns
    -------
    dict
        ``{notebook: None}`` when it ran, else ``{notebook: reason}`` in plain words.
    """
    ran, exclude = set(ran), set(exclude)
    out: dict[str, str | None] = {}
    for spec in registry:
        if spec.name in exclude:
            continue
        if spec.name in ran:
            out[spec.name] = None
            continue
        missing = [t for t in spec.required_inputs if not has_table(t)]
        blocked = [registry.get(u).title for u in spec.upstream if out.get(u) is not None]
        if missing:
            out[spec.name] = f"the report was skipped: the data has no {', '.join(missing)} table"
        elif blocked:
            out[spec.name] = f"the report could not run because {', '.join(blocked)} did not"
        else:
            out[spec.name] = "the report did not run in this run"
    return out


def headline_table(
    metrics: Mapping[str, Mapping[str, Any]],
    registry: Registry,
    status: Mapping[str, str | None],
    currency: str = "",
    headlines: Sequence[Headline] = HEADLINES,
) -> pd.DataFrame:
    """The headline figures of this run, one row per figure, by area.

    Parameters
    ----------
    metrics : mapping
        ``{notebook: {key: value}}`` of this run.
    registry : Registry
        Documents each key (meaning and unit); figures of notebooks or keys
        the registry does not declare are left out.
    status : mapping
        From :func:`report_status`: None for a report that ran, else why not.
    currency : str
        The config currency.
    headlines : sequence of Headline
        The figures to show.

    Returns
    -------
    DataFrame
        ``area``, ``report`` (title), ``notebook``, ``key``, ``figure`` (label,
        with the coverage "n of N ..." of a headline that has one),
        ``value`` (float, NaN when absent or not a number), ``value_text``,
        ``unit``, ``description``, ``href`` (the report page), ``available``
        (bool) and ``note`` (why not available).
    """
    rows = []
    for h in headlines:
        if h.notebook not in registry or h.key not in registry.get(h.notebook).metrics:
            continue
        spec = registry.get(h.notebook)
        description = spec.metrics[h.key]
        unit = unit_of(description)
        reason = status.get(h.notebook, "the report did not run in this run")
        value = (metrics.get(h.notebook) or {}).get(h.key) if reason is None else None
        available = reason is None and value is not None
        if available:
            note = ""
        elif reason is not None:
            note = reason
        else:
            why = _none_reason(description)
            note = f"not measured in this run ({why})" if why else "not measured in this run"
        x = _number(value)
        label = h.label
        if h.coverage is not None and available:
            n_key, of_key, words = h.coverage
            got = metrics.get(h.notebook) or {}
            n, of = _number(got.get(n_key)), _number(got.get(of_key))
            label += f" ({int(n):,} of {int(of):,} {words})" if n is not None and of is not None else f" ({words}: not recorded)"
        rows.append({
            "area": h.area, "report": spec.title, "notebook": h.notebook, "key": h.key, "figure": label,
            "value": x if x is not None else float("nan"),
            "value_text": format_value(value, unit, currency) if available else NOT_AVAILABLE,
            "unit": unit, "description": description, "href": f"{h.notebook}.html",
            "available": available, "note": note,
        })
    cols = ["area", "report", "notebook", "key", "figure", "value", "value_text", "unit", "description", "href", "available", "note"]
    out = pd.DataFrame(rows, columns=cols)
    out["value"] = out["value"].astype(float)
    out["available"] = out["available"].astype(bool)
    return out


# ------------------------------------------------------- methods behind figures
CLV_MODELS: tuple[str, ...] = ("bgnbd", "pareto", "mbgnbd")
"""Purchase models of the customer-value report (:data:`ecrm_lib.value.clv.MODELS`)."""

CHURN_MODELS: tuple[str, ...] = ("logistic", "gradient_boosting", "p_alive", "bgnbd_window")
"""Churn models whose held-out ROC-AUC the churn report records as ``auc_<model>``."""

METHOD_LABELS: dict[str, str] = {
    "bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD",
    "logistic": "logistic regression", "gradient_boosting": "gradient boosting",
    "p_alive": "BG/NBD 1 - P(alive)", "bgnbd_window": "BG/NBD P(no purchase in window)",
}
"""Display names of the methods a run can choose (codes not listed are shown as they are)."""

METHOD_KINDS: dict[str, str] = {"customer_value.best_model": "CLV model", "churn.best_model": "churn model"}
"""What each method-recording metric chooses, for figures that depend on more than one method."""


@dataclass(frozen=True)
class MethodDependence:
    """How a figure depends on a method the run chose.

    Attributes
    ----------
    methods : tuple of str
        ``notebook.key`` of the metric(s) recording the chosen method(s).
    per_method : mapping
        ``{method: "notebook.key"}`` of the same figure computed with each method
        of ``methods[0]`` whichever was chosen (empty when not recorded): what a
        like-for-like trend compares.
    """

    methods: tuple[str, ...]
    per_method: Mapping[str, str] = field(default_factory=dict)


def _per_method(template: str, codes: Iterable[str]) -> dict[str, str]:
    return {c: template.format(method=c) for c in codes}


_CLV = ("customer_value.best_model",)
_CLV_CHURN = ("customer_value.best_model", "churn.best_model")
METHOD_DEPENDENT: dict[str, MethodDependence] = {
    "customer_value.total_clv": MethodDependence(_CLV, _per_method("customer_value.total_clv_{method}", CLV_MODELS)),
    "customer_value.top20_value_share": MethodDependence(
        _CLV, _per_method("customer_value.top20_value_share_{method}", CLV_MODELS)),
    "customer_value.mean_p_alive": MethodDependence(_CLV, _per_method("customer_value.mean_p_alive_{method}", CLV_MODELS)),
    "customer_value.total_clv_low": MethodDependence(_CLV),
    "customer_value.total_clv_high": MethodDependence(_CLV),
    "customer_value.holdout_error_total_pct": MethodDependence(_CLV),
    "customer_value.holdout_mae": MethodDependence(_CLV),
    "churn.best_auc": MethodDependence(("churn.best_model",), _per_method("churn.auc_{method}", CHURN_MODELS)),
    "churn.pr_auc_best": MethodDependence(("churn.best_model",)),
    "churn.top_decile_lift": MethodDependence(("churn.best_model",)),
    "evaluation.gini_clv": MethodDependence(_CLV),
    # the targets are chosen by a rule over CLV tier and churn risk: their value depends on both models
    "evaluation.target_value_share": MethodDependence(_CLV_CHURN),
    "evaluation.target_net_value": MethodDependence(_CLV_CHURN),
    "evaluation.share_unprofitable_targets": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value_low": MethodDependence(_CLV_CHURN),
    "expansion.expansion_value_high": MethodDependence(_CLV_CHURN),
}
"""Figures whose value depends on a method the run chose (``notebook.key`` -> how).

Counts, rates measured on the data (e.g. the churn rate in the held-out
window), costs and survey scores do not depend on a chosen model and are not
listed."""

BY_MODEL_FIGURES: dict[str, tuple[str, str]] = {
    "total_clv": ("predicted discounted margin of all customers over the horizon", "config currency"),
    "top20_value_share": ("share of total predicted value held by the top 20 % of customers", "share 0-1"),
    "mean_p_alive": ("mean probability that a customer is still active", "share 0-1"),
}
"""Customer-value figures recorded once per purchase model (``<key>_<model>``), for like-for-like trends."""

BY_MODEL_METRICS: dict[str, str] = {
    f"{key}_{model}": (f"{key} with {METHOD_LABELS[model]} refitted on all data whichever model was chosen, so that "
                       f"trends compare like with like; null when {METHOD_LABELS[model]} is not among the models or "
                       f"its fit fails ({unit})")
    for key, (desc, unit) in BY_MODEL_FIGURES.items() for model in CLV_MODELS
}
"""The registry meanings of the per-model customer-value metrics (``key -> meaning (unit)``)."""


def method_label(code: Any) -> str:
    """The display name of a method code: ``"pareto"`` -> ``"Pareto/NBD"``; None -> "not recorded"."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or code == "":
        return "not recorded"
    return METHOD_LABELS.get(str(code), str(code))


def figures_by_model(
    analysis: Any,
    models: Iterable[str],
    *,
    margin: float,
    annual_discount_rate: float,
    penalizer_coef: float = 0.0,
    currency: str = "",
) -> list[tuple[str, Any, str, str]]:
    """The customer-value figures under every purchase model, for like-for-like trends.

    The chosen model's figures are those of the analysis; each other model in
    ``models`` is refitted on all data (:func:`ecrm_lib.value.clv.fit_btyd`, BG/NBD
    reused when the analysis fitted it) and valued with the analysis's
    Gamma-Gamma spend model, horizon, ``margin`` and discount rate, exactly as
    the chosen model is.

    Parameters
    ----------
    analysis : ecrm_lib.value.clv.CustomerValueAnalysis
        The customer-value report's analysis.
    models : iterable of str
        Models of the report (its ``models`` parameter); others are recorded as None.
    margin : float
        Share of spend kept as profit (0-1], as passed to the analysis.
    annual_discount_rate : float
        Share per year, as passed to the analysis.
    penalizer_coef : float
        L2 penalty of the refits, as passed to the analysis.
    currency : str
        Config currency (the unit of the CLV records).

    Returns
    -------
    list of (key, value, description, unit)
        One record per key of :data:`BY_MODEL_METRICS`, for
        :meth:`ecrm_lib.run.context.RunContext.record_metric`; values are None for
        a model not in ``models``, whose fit fails, or without a spend model.
    """
    from ecrm_lib.value import clv

    models = [m for m in dict.fromkeys(models) if m in CLV_MODELS]
    values: dict[str, dict[str, float | None]] = {m: {} for m in CLV_MODELS}
    summ = analysis.summary
    for m in models:
        if m == analysis.best_model:
            fit = analysis.final_fit
        elif m == "bgnbd" and analysis.bgnbd_fit is not None:
            fit = analysis.bgnbd_fit
        else:
            try:
                fit = clv.fit_btyd(summ, m, penalizer_coef=penalizer_coef, time_unit=analysis.time_unit)
            except clv.ModelFitError:
                continue
        p_alive = clv.probability_alive(fit, summ)
        values[m]["mean_p_alive"] = float(p_alive.mean())
        if analysis.gg is None:
            continue
        v = clv.customer_value(summ, fit, analysis.gg, horizon=analysis.horizon, margin=margin,
                               annual_discount_rate=annual_discount_rate)["clv"]
        conc = clv.value_concentration(v)
        top20 = conc.loc[np.isclose(conc["top_share"], 0.2), "value_share"]
        values[m]["total_clv"] = float(v.sum())
        values[m]["top20_value_share"] = float(top20.iloc[0]) if len(top20) else None
    out = []
    for key, (desc, unit) in BY_MODEL_FIGURES.items():
        for m in CLV_MODELS:
            u = currency if "currency" in unit else "share"
            out.append((f"{key}_{m}", values[m].get(key), f"{desc}, {METHOD_LABELS[m]} (like-for-like trends)", u))
    return out


def _methods_of(metrics: Mapping[str, Mapping[str, Any]], dep: MethodDependence | None) -> tuple[str | None, ...] | None:
    """The codes of the methods behind a figure in one run (None per method not recorded); None when method-free."""
    if dep is None:
        return None
    out = []
    for name in dep.methods:
        nb, key = name.split(".")
        v = (metrics.get(nb) or {}).get(key)
        out.append(None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else str(v))
    return tuple(out)


def _describe_methods(codes: tuple[str | None, ...] | None, dep: MethodDependence | None) -> str:
    """``"Pareto/NBD"``; with several methods ``"CLV model Pareto/NBD, churn model logistic regression"``."""
    if codes is None or dep is None:
        return ""
    if len(codes) == 1:
        return method_label(codes[0])
    return ", ".join(f"{METHOD_KINDS.get(n, n)} {method_label(c)}" for n, c in zip(dep.methods, codes))


def _describe_change(before: tuple[str | None, ...], after: tuple[str | None, ...], dep: MethodDependence) -> str:
    """``"MBG/NBD -> Pareto/NBD"`` (only the methods that differ; a kind prefix with several)."""
    parts = []
    for n, b, a in zip(dep.methods, before, after):
        if b is None or a is None or b != a:
            text = f"{method_label(b)} -> {method_label(a)}"
            parts.append(text if len(dep.methods) == 1 else f"{METHOD_KINDS.get(n, n)} {text}")
    return "; ".join(parts)


# ------------------------------------------------------------------ trends
def collect_trends(
    runs: Sequence[tuple[Any, Mapping[str, Mapping[str, Any]]]],
    wanted: Iterable[str] = DEFAULT_TREND_METRICS,
    method_dependent: Mapping[str, MethodDependence] | None = None,
) -> pd.DataFrame:
    """The chosen metrics across runs: one row per as-of date and metric, with the method behind each.

    Parameters
    ----------
    runs : sequence of (as_of, metrics)
        Earlier runs and this one, each with ``{notebook: {key: value}}``; any order.
    wanted : iterable of str
        ``"notebook.key"`` names.
    method_dependent : mapping, optional
        Figures that depend on a chosen method (default :data:`METHOD_DEPENDENT`).

    Returns
    -------
    DataFrame
        ``as_of`` (date), ``metric`` (``notebook.key``), ``notebook``, ``key``,
        ``value`` (float), ``method`` (the codes of the method(s) behind the
        value joined by ``" + "``, ``"?"`` for one not recorded; None for a
        figure that depends on no chosen method), ``method_label`` (display
        name; "" when method-free), ``by_method`` (``{method: value}`` of the
        same figure under each method the run recorded it for; empty when not
        recorded), ``change`` (vs the previous as-of date that has the metric;
        NaN for the first, and NaN when the two runs' methods differ or one
        was not recorded), ``change_pct`` (100 * change / |previous|, NaN when
        the previous value is 0) and ``method_change`` (e.g. ``"MBG/NBD ->
        Pareto/NBD"`` when the method differs from the previous run's; "" when
        it does not). Runs without a value are left out.

    Examples
    --------
    >>> t = collect_trends([("2025-06-30", {"feedback": {"nps": 12}}), ("2024-12-30", {"feedback": {"nps": 8}})], ["feedback.nps"])
    >>> [(str(d), v, c) for d, v, c in zip(t["as_of"], t["value"], t["change"])]
    [('2024-12-30', 8.0, nan), ('2025-06-30', 12.0, 4.0)]
    >>> t = collect_trends([("2024-12-30", {"customer_value": {"total_clv": 42.7, "best_model": "mbgnbd"}}),
    ...                     ("2025-06-30", {"customer_value": {"total_clv": 38.2, "best_model": "pareto"}})],
    ...                    ["customer_value.total_clv"])
    >>> t[["method", "change", "method_change"]].values.tolist()
    [['mbgnbd', nan, ''], ['pareto', nan, 'MBG/NBD -> Pareto/NBD']]
    """
    wanted = list(wanted)
    deps = METHOD_DEPENDENT if method_dependent is None else method_dependent
    bad = [w for w in wanted if w.count(".") != 1]
    if bad:
        raise ValueError(f"trend metrics must be written notebook.key (e.g. 'churn.best_auc'), but {bad} was passed.")
    rows = []
    for as_of, metrics in runs:
        day = as_date(as_of, "as_of")
        for w in wanted:
            nb, key = w.split(".")
            x = _number((metrics.get(nb) or {}).get(key))
            if x is None:
                continue
            dep = deps.get(w)
            codes = _methods_of(metrics, dep)
            by = {}
            if dep is not None:
                for code, name in dep.per_method.items():
                    pnb, pkey = name.split(".")
                    y = _number((metrics.get(pnb) or {}).get(pkey))
                    if y is not None:
                        by[code] = y
            rows.append({"as_of": day, "metric": w, "notebook": nb, "key": key, "value": x,
                         "method": None if codes is None else " + ".join(c or "?" for c in codes),
                         "method_label": _describe_methods(codes, dep), "by_method": by, "_codes": codes})
    cols = ["as_of", "metric", "notebook", "key", "value", "method", "method_label", "by_method", "_codes"]
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["metric", "as_of"], kind="stable").drop_duplicates(["metric", "as_of"], keep="last")
    out = out.reset_index(drop=True)
    prev = out.groupby("metric")["value"].shift(1)
    prev_codes = out.groupby("metric")["_codes"].shift(1)
    first = out.groupby("metric").cumcount() == 0
    change, method_change = [], []
    for i, row in out.iterrows():
        dep = deps.get(row["metric"])
        if first.iloc[i]:
            change.append(math.nan), method_change.append("")
            continue
        before, after = prev_codes.iloc[i], row["_codes"]
        same = dep is None or (None not in before and None not in after and before == after)
        change.append(row["value"] - prev.iloc[i] if same else math.nan)
        method_change.append("" if same else _describe_change(before, after, dep))
    out["change"] = pd.Series(change, index=out.index, dtype=float)
    out["change_pct"] = (100 * out["change"] / prev.abs().where(prev != 0)).astype(float)
    out["method_change"] = pd.Series(method_change, index=out.index, dtype=object)
    order = {w: i for i, w in enumerate(wanted)}
    out = out.assign(_o=out["metric"].map(order)).sort_values(["as_of", "_o"], kind="stable").drop(columns=["_o", "_codes"])
    return out.reset_index(drop=True)


# ----------------------------------------------------------------- actions
ACTION_EVIDENCE: dict[str, str] = {
    "stop_segments": "randomised test",
    "campaign_works": "randomised test",
    "channel_shift": "measured saving",
    "retain_targets": "model prediction",
    "expansion": "model prediction",
    "churn_focus": "model prediction",
    "nps": "survey",
}
"""The kind of evidence behind each action rule."""

ACTION_ORDER: tuple[str, ...] = tuple(ACTION_EVIDENCE)
"""Rank order of the action rules: strongest evidence first (module docstring)."""

NEAR_MISS_AUC = 0.9
"""Look-alike ROC-AUC (0-1) from which the expansion text says the look-alikes are
mostly near-misses of the selection rule (the targets are the top of a rule over
purchase history, so a model of that history separates them almost perfectly)."""

RANKING_NOTE = (
    "The actions are ranked by the strength of the evidence behind them, in a fixed order: results of randomised "
    "tests first (segments to stop targeting, a campaign that beat its control group), then a measured saving "
    "(moving contacts to a cheaper channel), then values predicted by a model (the selected targets, look-alike "
    "customers, the riskiest customers by churn score), then the survey score. The amounts of money in the texts "
    "are not compared with each other and do not set the order: they measure unlike things (a saving per year, "
    "value the targets already hold, value that accrues whether or not a customer is contacted). An action whose "
    "evidence does not clear its bar is not ranked: it is listed under \"to test\", with its figure and why it is "
    "inconclusive."
)
"""How :func:`propose_actions` ranks, in words for the summary page."""


def _get(metrics: Mapping[str, Mapping[str, Any]], notebook: str, key: str) -> Any:
    return (metrics.get(notebook) or {}).get(key)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.1f}%"


def evidence_bars(min_churn_lift: float = 1.5, min_lookalike_auc: float = 0.6, max_nps: float = 0.0) -> dict[str, str]:
    """The bar each action rule's evidence must clear, in words for the page (module docstring).

    Parameters
    ----------
    min_churn_lift, min_lookalike_auc, max_nps : float
        As passed to :func:`propose_actions`.

    Returns
    -------
    dict
        ``{rule: bar}`` in :data:`ACTION_ORDER`.

    Examples
    --------
    >>> evidence_bars()["campaign_works"]
    "the campaign's response uplift over its randomised control group has its whole interval above 0"
    """
    return {
        "stop_segments": ("stop targeting a segment when its response uplift over the randomised control group has its "
                          "whole interval below 0; target it less when its whole interval lies below the campaign-wide "
                          "uplift interval"),
        "campaign_works": "the campaign's response uplift over its randomised control group has its whole interval above 0",
        "channel_shift": "the channel report's what-if saves money (a saving above 0)",
        "retain_targets": "targets were selected and their share of the predicted customer value is known",
        "expansion": (f"look-alikes with a positive predicted value, from a look-alike model with a ROC-AUC of at least "
                      f"{min_lookalike_auc:.2f}"),
        "churn_focus": (f"the riskiest 10 % churn at least {min_churn_lift:.1f} times as often as the average customer, "
                        "on held-out customers"),
        "nps": f"a Net Promoter Score at or below {max_nps:+.0f}",
    }


_ACTION_COLUMNS = ["rank", "rule", "action", "figure", "money", "money_basis", "report", "evidence", "bar"]
_TEST_COLUMNS = ["rule", "action", "figure", "why", "bar", "report", "evidence"]


def _segment_figure(row: Mapping[str, Any]) -> str:
    """``"Lost: uplift -1.2 points (-5.0 to +2.7 points; 247 treated and 269 control accounts)"``."""
    from ecrm_lib.core.privacy import count_text

    inner = format_points_interval(row.get("ci_low"), row.get("ci_high"))
    inner = "no interval" if inner == NOT_AVAILABLE else inner
    n1, n0 = row.get("n_treatment"), row.get("n_control")
    if _number(n1) is not None and _number(n0) is not None:
        inner += f"; {count_text(n1)} treated and {count_text(n0)} control accounts"
    return f"{row['segment']}: uplift {format_points(row.get('uplift'))} ({inner})"


def _evaluate_rules(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    currency: str,
    segment_weights: pd.DataFrame | None,
    whatif: Mapping[str, Any] | None,
    min_churn_lift: float,
    min_lookalike_auc: float,
    max_nps: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rules' candidate actions: (to do, to test), unranked (module docstring)."""
    bars = evidence_bars(min_churn_lift, min_lookalike_auc, max_nps)
    todo: list[dict[str, Any]] = []
    totest: list[dict[str, Any]] = []

    def cap(text: str) -> str:
        return text[:1].upper() + text[1:]

    def add(rule, action, figure, report, money=None, basis=""):
        todo.append({"rule": rule, "action": action, "figure": cap(figure), "money": _number(money),
                     "money_basis": basis if _number(money) is not None else "", "report": report, "bar": bars[rule]})

    def to_test(rule, action, figure, why, report):
        totest.append({"rule": rule, "action": action, "figure": cap(figure), "why": cap(why), "bar": bars[rule],
                       "report": report, "evidence": ACTION_EVIDENCE[rule]})

    # retain_targets
    n_t = _number(_get(metrics, "selection", "n_targets"))
    share_v = _number(_get(metrics, "evaluation", "target_value_share"))
    if n_t and n_t > 0 and share_v is not None:
        total = _number(_get(metrics, "customer_value", "total_clv"))
        money = share_v * total if total is not None else None
        cust = _number(_get(metrics, "evaluation", "target_customer_share"))
        fig = f"{int(n_t):,} target customers" + (f" ({_pct(cust)} of customers)" if cust is not None else "")
        fig += f" hold {_pct(share_v)} of the predicted customer value"
        if money is not None:
            fig += f" ({format_money(money, currency)})"
        net = _number(_get(metrics, "evaluation", "target_net_value"))
        if net is not None and net < 0:
            fig += f"; after cost to serve they are worth {format_money(net, currency)}, so keep the offers and contacts cheap"
        elif net is not None:
            fig += f"; {format_money(net, currency)} after cost to serve"
        add("retain_targets", f"Act on the {int(n_t):,} selected target customers",
            fig, "evaluation.html", money, "predicted value (CLV) the targets already hold, not the gain from acting")
    # channel_shift
    saving = _number(_get(metrics, "channel_integration", "whatif_saving"))
    if saving is not None and saving > 0:
        w = dict(whatif or {})
        purpose, src, dst = w.get("whatif_purpose"), w.get("whatif_from_channel"), w.get("whatif_to_channel")
        share = _number(w.get("whatif_share"))
        if purpose and src and dst:
            what = (f"Move {_pct(share)} of " if share is not None else "Move ") + f"{str(purpose).replace('_', ' ')} contacts from {src} to {dst}"
        else:
            what = "Move the contacts of the channel report's what-if to the cheaper channel"
        add("channel_shift", what, f"saves {format_money(saving, currency)} a year in cost to serve",
            "channel_integration.html", saving, "yearly saving")
    # expansion
    n_e = _number(_get(metrics, "expansion", "expansion_n"))
    val_e = _number(_get(metrics, "expansion", "expansion_value"))
    auc = _number(_get(metrics, "expansion", "lookalike_auc"))
    if n_e and n_e > 0 and val_e is not None and val_e > 0 and (auc is None or auc >= min_lookalike_auc):
        cost = _number(_get(metrics, "expansion", "expansion_contact_cost"))
        fig = f"{format_money(val_e, currency)} predicted value (CLV)"
        if cost is not None:
            fig += f" for a contact cost of {format_money(cost, currency)}"
        if auc is not None and auc >= NEAR_MISS_AUC:
            fig += (f"; the look-alike model separates targets from others with an AUC of {auc:.2f}, as expected because "
                    "the targets are the top of a selection rule over purchase history: the look-alikes are mostly "
                    "customers just below the rule's cut-offs (near-misses), not an independent discovery")
        elif auc is not None:
            fig += f"; the look-alike model ranks targets above others with an AUC of {auc:.2f}"
        add("expansion", f"Reach the {int(n_e):,} best-scored look-alike customers", fig, "expansion.html",
            val_e - (cost or 0.0), "predicted value minus one contact each, which accrues whether or not they are contacted")
    # stop_segments: the segments the loop flagged, each against the bar (randomised uplift interval)
    up, ulo, uhi = (_number(_get(metrics, "feedback", k)) for k in ("response_uplift", "response_uplift_ci_low", "response_uplift_ci_high"))
    earlier = _get(metrics, "feedback", "loop_earlier_as_of")
    when = f"the campaign after the run of {earlier}" if earlier else "the last campaign"
    campaign_iv = format_points_interval(ulo, uhi)
    sw = segment_weights
    has_sw = sw is not None and len(sw) > 0 and {"segment", "action"} <= set(sw.columns)
    has_iv = has_sw and {"uplift", "ci_low", "ci_high"} <= set(sw.columns)
    if has_iv:
        flagged = sw.loc[sw["action"].astype(str).isin(["remove", "down-weight"])].copy()
        hi = pd.to_numeric(flagged["ci_high"], errors="coerce").astype(float)
        stop = flagged.loc[hi < 0]
        less = flagged.loc[(hi >= 0) & (hi < ulo)] if ulo is not None else flagged.iloc[0:0]
        rest = flagged.drop(index=stop.index.union(less.index))
        rows = lambda d: [dict(r) for _, r in d.iterrows()]  # noqa: E731
        if len(stop):
            add("stop_segments", f"Stop targeting segment(s) {', '.join(stop['segment'].astype(str))}",
                "; ".join(_segment_figure(r) for r in rows(stop))
                + f", in {when}: the whole interval is below 0, so the campaign does not raise their response",
                "feedback.html")
        if len(less):
            add("stop_segments", f"Target segment(s) {', '.join(less['segment'].astype(str))} less",
                "; ".join(_segment_figure(r) for r in rows(less))
                + f", in {when}: the whole interval lies below the campaign-wide uplift ({campaign_iv}), so these "
                "segments respond less than the campaign does", "feedback.html")
        for loop_action, verb in (("remove", "Stop targeting segment(s) {}"), ("down-weight", "Target segment(s) {} less")):
            part = rest.loc[rest["action"].astype(str) == loop_action]
            if part.empty:
                continue
            why = ("the interval reaches 0 or above, so the campaign may raise these segments' response too"
                   + (f", and it reaches the campaign-wide uplift ({campaign_iv}), so they may respond as well as the others"
                      if ulo is not None else " (there is no campaign-wide interval to compare with)")
                   + "; test it: keep a randomised control group in these segments in the next campaign, with more of "
                   "their customers")
            to_test("stop_segments", verb.format(", ".join(part["segment"].astype(str))),
                    "; ".join(_segment_figure(r) for r in rows(part)) + f", in {when}", why, "feedback.html")
    else:
        n_down = _number(_get(metrics, "feedback", "loop_segments_down_weighted"))
        if n_down is None:
            n_down = _number(_get(metrics, "selection", "segments_down_weighted"))
        if n_down and n_down > 0:
            missing = ("the feedback report's segment weights do not record the intervals" if has_sw
                       else "the feedback report's segment weights were not found")
            to_test("stop_segments", f"Stop or reduce targeting the {int(n_down)} segment(s) named in the feedback report",
                    f"{int(n_down)} segment(s) down-weighted or removed by the feedback loop after {when}",
                    f"their uplift intervals are not available because {missing}, so the evidence cannot be checked "
                    "against the bar", "feedback.html")
    # churn_focus
    lift = _number(_get(metrics, "churn", "top_decile_lift"))
    if lift is not None and lift >= min_churn_lift:
        add("churn_focus", "Focus retention contacts on the riskiest 10 % of customers by churn score",
            f"they churn {lift:.1f} times as often as the average customer (checked on held-out customers)", "churn.html")
    # campaign_works: randomised evidence only (the loop's purchase-rate difference is observational, and
    # loop_response_uplift_targets is recorded without an interval)
    if up is not None and up > 0:
        if ulo is not None and ulo > 0:
            add("campaign_works", "Keep running the campaign that beat its control group",
                f"response {format_points(up)} above the randomised control group"
                + (f" (interval {campaign_iv})" if campaign_iv != NOT_AVAILABLE else ""), "feedback.html")
        else:
            fig = f"response {format_points(up)} above the randomised control group"
            if ulo is None:
                fig += " (no interval recorded)"
                why = "without an interval the uplift cannot be told from chance"
            else:
                fig += f" (interval {campaign_iv})" if campaign_iv != NOT_AVAILABLE else f" (interval from {format_points(ulo)})"
                why = "the interval reaches 0, so the campaign may not raise response at all"
            to_test("campaign_works", "Keep running the campaign", fig,
                    why + "; test it again with a randomised control group and more customers", "feedback.html")
    # nps
    nps = _number(_get(metrics, "feedback", "nps"))
    if nps is not None and nps <= max_nps:
        add("nps", "Work on what detractors complain about (the feedback report lists the topics)",
            f"Net Promoter Score {nps:+.0f}: more detractors than promoters" if nps < 0 else f"Net Promoter Score {nps:+.0f}",
            "feedback.html")
    return todo, totest


def propose_actions(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    currency: str = "",
    max_actions: int = 3,
    segment_weights: pd.DataFrame | None = None,
    whatif: Mapping[str, Any] | None = None,
    min_churn_lift: float = 1.5,
    min_lookalike_auc: float = 0.6,
    max_nps: float = 0.0,
) -> pd.DataFrame:
    """The actions whose evidence clears its bar ("to do"), ranked (rules and bars: module docstring).

    Actions whose evidence exists but does not clear its bar are not here:
    :func:`actions_to_test` lists them, with the same arguments.

    Parameters
    ----------
    metrics : mapping
        ``{notebook: {key: value}}`` of this run; absent notebooks or keys
        simply keep their rules from firing.
    currency : str
        Config currency, for the money figures.
    max_actions : int
        Keep at most this many (>= 0).
    segment_weights : DataFrame, optional
        The feedback ``segment_weights`` product of this run (``segment``,
        ``action``, ``uplift``, ``ci_low``, ``ci_high`` in share points, and
        ``n_treatment``, ``n_control`` accounts when present): the segments to
        stop or reduce, with the evidence behind each.
    whatif : mapping, optional
        The channel notebook's what-if parameters (``whatif_purpose``,
        ``whatif_from_channel``, ``whatif_to_channel``, ``whatif_share``), to
        name the contacts to move.
    min_churn_lift : float
        Smallest top-decile lift (ratio) worth a churn-focus action.
    min_lookalike_auc : float
        Smallest look-alike ROC-AUC worth an expansion action.
    max_nps : float
        NPS (points) at or below which an NPS action is proposed.

    Returns
    -------
    DataFrame
        ``rank``, ``rule``, ``action``, ``figure`` (the evidence, in words),
        ``money`` (config currency, NaN when not computable; for display only,
        it does not rank), ``money_basis`` (what the amount is), ``report``
        (page to open, e.g. ``evaluation.html``), ``evidence`` (the kind of
        evidence, :data:`ACTION_EVIDENCE`, which sets the rank) and ``bar``
        (the bar the evidence cleared, :func:`evidence_bars`).

    Examples
    --------
    >>> m = {"channel_integration": {"whatif_saving": 2_500_000.0}, "churn": {"top_decile_lift": 2.4},
    ...      "feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05}}
    >>> propose_actions(m, currency="KRW")[["rank", "rule", "money", "evidence"]].values.tolist()
    [[1, 'campaign_works', nan, 'randomised test'], [2, 'channel_shift', 2500000.0, 'measured saving'], [3, 'churn_focus', nan, 'model prediction']]
    """
    if max_actions < 0:
        raise ValueError(f"max_actions must be 0 or more, but {max_actions} was passed.")
    cands, _ = _evaluate_rules(metrics, currency=currency, segment_weights=segment_weights, whatif=whatif,
                               min_churn_lift=min_churn_lift, min_lookalike_auc=min_lookalike_auc, max_nps=max_nps)
    if not cands:
        return pd.DataFrame(columns=_ACTION_COLUMNS).astype({"rank": int, "money": float})
    df = pd.DataFrame(cands)
    df["evidence"] = df["rule"].map(ACTION_EVIDENCE)
    df["money"] = df["money"].astype(float)
    df["_prio"] = df["rule"].map({r: i for i, r in enumerate(ACTION_ORDER)})
    df = df.sort_values("_prio", kind="stable").head(max_actions)
    df["rank"] = range(1, len(df) + 1)
    return df[_ACTION_COLUMNS].reset_index(drop=True)


def actions_to_test(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    currency: str = "",
    segment_weights: pd.DataFrame | None = None,
    whatif: Mapping[str, Any] | None = None,
    min_churn_lift: float = 1.5,
    min_lookalike_auc: float = 0.6,
    max_nps: float = 0.0,
) -> pd.DataFrame:
    """Actions whose evidence exists but does not clear its bar: to test, not to do (never ranked).

    Today these come from the rules with randomised evidence (module
    docstring): segments the feedback loop flagged whose uplift interval clears
    neither bar, or whose intervals are not available, and a positive campaign
    uplift whose interval reaches 0 or is not recorded.

    Parameters
    ----------
    metrics, currency, segment_weights, whatif, min_churn_lift, min_lookalike_auc, max_nps
        As for :func:`propose_actions`.

    Returns
    -------
    DataFrame
        ``rule``, ``action`` (what would be done), ``figure`` (the evidence, in
        words), ``why`` (why it is inconclusive, and how to test it), ``bar``
        (the bar it did not clear), ``report``, ``evidence``; in
        :data:`ACTION_ORDER`.

    Examples
    --------
    >>> w = pd.DataFrame({"segment": ["Lost"], "action": ["down-weight"], "uplift": [-0.0116],
    ...                   "ci_low": [-0.0497], "ci_high": [0.027]})
    >>> m = {"feedback": {"response_uplift": 0.0254, "response_uplift_ci_low": 0.0103, "response_uplift_ci_high": 0.0411}}
    >>> t = actions_to_test(m, segment_weights=w)
    >>> t.loc[0, "action"], t.loc[0, "figure"]
    ('Target segment(s) Lost less', 'Lost: uplift -1.2 points (-5.0 to +2.7 points), in the last campaign')
    >>> propose_actions(m, segment_weights=w)["rule"].tolist()
    ['campaign_works']
    """
    _, items = _evaluate_rules(metrics, currency=currency, segment_weights=segment_weights, whatif=whatif,
                               min_churn_lift=min_churn_lift, min_lookalike_auc=min_lookalike_auc, max_nps=max_nps)
    if not items:
        return pd.DataFrame(columns=_TEST_COLUMNS)
    df = pd.DataFrame(items)
    df["_prio"] = df["rule"].map({r: i for i, r in enumerate(ACTION_ORDER)})
    return df.sort_values("_prio", kind="stable")[_TEST_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------- helpers
def figures_by_key(table: pd.DataFrame) -> dict[str, str]:
    """The figures of :func:`headline_table` by ``notebook.key`` as display text, for prose.

    Examples
    --------
    >>> t = pd.DataFrame({"notebook": ["churn"], "key": ["best_auc"], "value_text": ["0.812"]})
    >>> figures_by_key(t)
    {'churn.best_auc': '0.812'}
    """
    return {f"{n}.{k}": v for n, k, v in zip(table["notebook"], table["key"], table["value_text"])}


TREND_COLUMNS = ["figure", "method", "earlier as of", "earlier", "latest as of", "latest", "change"]
"""The columns of :func:`trend_table` shown on the page (the others are for prose)."""


def trend_table(trends: pd.DataFrame, table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Each trend metric's value in the previous run that has it and in the latest, with the change.

    A change is computed only between runs whose figure comes from the same
    method (:func:`collect_trends`); otherwise the row reads "method changed
    (MBG/NBD -> Pareto/NBD)", the values name their method and the change is
    "not computed". When both runs recorded the figure under one and the same
    model, a like-for-like row follows: both runs by the latest run's model (or
    else by the earlier run's), with its change.

    Parameters
    ----------
    trends : DataFrame
        From :func:`collect_trends`.
    table : DataFrame
        From :func:`headline_table` (for labels and units); metrics not in it
        are labelled ``notebook.key`` without a unit.
    currency : str
        Config currency.

    Returns
    -------
    DataFrame
        :data:`TREND_COLUMNS` (``figure``, ``method`` (the method behind the
        figure, "" when it depends on none), ``earlier as of``, ``earlier``,
        ``latest as of``, ``latest``, ``change``; all text, formatted by unit,
        the change by :func:`format_change` from the unrounded values), then
        ``metric``, ``basis`` ("chosen": each run's own figure; "same model":
        the like-for-like row), ``method_change`` (e.g. "MBG/NBD -> Pareto/NBD",
        "" when unchanged) and ``change_value`` (float, NaN when not
        computed). One row per metric with at least two runs, plus its
        like-for-like row.

    Examples
    --------
    >>> trends = collect_trends(
    ...     [("2024-12-30", {"customer_value": {"top20_value_share": 0.648, "best_model": "mbgnbd",
    ...                                         "top20_value_share_pareto": 0.699}}),
    ...      ("2025-06-30", {"customer_value": {"top20_value_share": 0.775, "best_model": "pareto",
    ...                                         "top20_value_share_pareto": 0.775}})],
    ...     ["customer_value.top20_value_share"])
    >>> labels = pd.DataFrame({"notebook": ["customer_value"], "key": ["top20_value_share"], "figure": ["Top 20 %"],
    ...                        "unit": ["share 0-1"]})
    >>> t = trend_table(trends, labels)
    >>> t[["figure", "earlier", "latest", "change"]].values.tolist()
    [['Top 20 %', '64.8% (MBG/NBD)', '77.5% (Pareto/NBD)', 'not computed: the method changed'], ['Top 20 %, Pareto/NBD in both runs', '69.9%', '77.5%', '+7.6 points']]
    >>> t["method"].tolist()[0]
    'method changed (MBG/NBD -> Pareto/NBD)'
    """
    info = {f"{n}.{k}": (f, u) for n, k, f, u in zip(table["notebook"], table["key"], table["figure"], table["unit"])}
    rows = []
    for metric, d in trends.groupby("metric", sort=False):
        if len(d) < 2:
            continue
        d = d.sort_values("as_of")
        label, unit = info.get(metric, (metric, ""))
        prev, last = d.iloc[-2], d.iloc[-1]
        mchange = str(last.get("method_change", "") or "")
        base = {"figure": label, "earlier as of": str(prev["as_of"]), "latest as of": str(last["as_of"]), "metric": metric}
        if not mchange:
            change = float(last["value"] - prev["value"])
            rows.append({**base, "method": str(last.get("method_label", "") or ""),
                         "earlier": format_value(prev["value"], unit, currency),
                         "latest": format_value(last["value"], unit, currency),
                         "change": format_change(change, unit, currency), "basis": "chosen", "method_change": "",
                         "change_value": change})
            continue
        unknown = "?" in str(prev.get("method")) or "?" in str(last.get("method"))
        rows.append({**base, "method": (f"method not recorded ({mchange})" if unknown else f"method changed ({mchange})"),
                     "earlier": f"{format_value(prev['value'], unit, currency)} ({prev['method_label']})",
                     "latest": f"{format_value(last['value'], unit, currency)} ({last['method_label']})",
                     "change": "not computed: the method " + ("was not recorded" if unknown else "changed"),
                     "basis": "chosen", "method_change": mchange, "change_value": math.nan})
        bp, bl = dict(prev.get("by_method") or {}), dict(last.get("by_method") or {})
        candidates = [str(x).split(" + ")[0] for x in (last.get("method"), prev.get("method")) if x]
        code = next((c for c in candidates if c in bp and c in bl), None)
        if code is not None:
            change = float(bl[code] - bp[code])
            rows.append({**base, "figure": f"{label}, {method_label(code)} in both runs",
                         "method": f"{method_label(code)} in both runs (refitted on each run's data)",
                         "earlier": format_value(bp[code], unit, currency), "latest": format_value(bl[code], unit, currency),
                         "change": format_change(change, unit, currency), "basis": "same model",
                         "method_change": mchange, "change_value": change})
    cols = TREND_COLUMNS + ["metric", "basis", "method_change", "change_value"]
    out = pd.DataFrame(rows, columns=cols)
    out["change_value"] = out["change_value"].astype(float)
    return out


def trend_notes(changes: pd.DataFrame) -> list[str]:
    """Plain sentences on the trends whose method changed, for the page (empty when none did).

    Parameters
    ----------
    changes : DataFrame
        From :func:`trend_table`.

    Returns
    -------
    list of str
        Plain text (no markup): which figures' changes are not computed and
        why, then their like-for-like changes where recorded.

    Examples
    --------
    >>> t = pd.DataFrame({"figure": ["CLV", "CLV, Pareto/NBD in both runs"], "metric": ["customer_value.total_clv"] * 2,
    ...                   "earlier as of": ["2024-12-30"] * 2,
    ...                   "latest as of": ["2025-06-30"] * 2, "earlier": ["42.7 million KRW (MBG/NBD)", "45.0 million KRW"],
    ...                   "latest": ["38.2 million KRW (Pareto/NBD)", "38.2 million KRW"],
    ...                   "change": ["not computed: the method changed", "-6.8 million KRW"],
    ...                   "basis": ["chosen", "same model"], "method_change": ["MBG/NBD -> Pareto/NBD"] * 2,
    ...                   "method": ["method changed (MBG/NBD -> Pareto/NBD)", "Pareto/NBD in both runs (refitted on each run's data)"]})
    >>> for line in trend_notes(t):
    ...     print(line)
    \u201cCLV\u201d: method changed (MBG/NBD -> Pareto/NBD) between the runs of 2024-12-30 and 2025-06-30, so the change is not computed (it would mix a change among the customers with the change of method).
    Compared like with like, Pareto/NBD in both runs (refitted on each run's data): \u201cCLV\u201d moved from 45.0 million KRW to 38.2 million KRW (-6.8 million KRW).
    """
    if changes is None or changes.empty:
        return []
    out = []
    changed = changes.loc[(changes["basis"] == "chosen") & (changes["method_change"] != "")]
    for (before, after, mc), part in changed.groupby(["earlier as of", "latest as of", "method_change"], sort=False):
        unknown = part["method"].str.startswith("method not recorded").any()
        names = [f"\u201c{f}\u201d" for f in part["figure"]]
        names = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        what = f"method not recorded ({mc})" if unknown else f"method changed ({mc})"
        out.append(f"{names}: {what} between the runs of {before} and {after}, so the change is not computed "
                   "(it would mix a change among the customers with the change of method).")
        same = changes.loc[(changes["basis"] == "same model") & changes["metric"].isin(part["metric"])
                           & (changes["earlier as of"] == before) & (changes["latest as of"] == after)]
        label = dict(zip(part["metric"], part["figure"]))
        if len(same):
            how = same["method"].iloc[0]
            out.append(f"Compared like with like, {how}: " + "; ".join(
                f"\u201c{label[r['metric']]}\u201d moved from {r['earlier']} to {r['latest']} ({r['change']})"
                for _, r in same.iterrows()) + ".")
        else:
            out.append("The runs did not record these figures under one and the same model, so no like-for-like change "
                       "can be shown.")
    return out


def headline_paragraph(table: pd.DataFrame, actions: pd.DataFrame, to_test: pd.DataFrame | None = None) -> str:
    """A few plain sentences with the run's main figures, the first action and how many are to test.

    Sentences whose figures are not available are left out.

    Parameters
    ----------
    table : DataFrame
        From :func:`headline_table`.
    actions : DataFrame
        From :func:`propose_actions`.
    to_test : DataFrame, optional
        From :func:`actions_to_test`.

    Returns
    -------
    str
        Plain text (no markup).

    Examples
    --------
    >>> t = pd.DataFrame({"notebook": ["customer_value", "customer_value"], "key": ["n_customers", "total_clv"],
    ...                   "value_text": ["1,200", "3.4 million KRW"], "available": [True, True]})
    >>> headline_paragraph(t, pd.DataFrame(columns=["action", "figure"]))
    '1,200 customers have bought, with a predicted value of 3.4 million KRW over the CLV horizon. The figures support no action with confidence in this run.'
    """
    have = {f"{n}.{k}": v for n, k, v, a in zip(table["notebook"], table["key"], table["value_text"], table["available"]) if a}
    out = []
    n, clv, top = have.get("customer_value.n_customers"), have.get("customer_value.total_clv"), have.get("customer_value.top20_value_share")
    if n and clv:
        out.append(f"{n} customers have bought, with a predicted value of {clv} over the CLV horizon"
                   + (f"; the top 20 % of them hold {top} of it." if top else "."))
    elif n:
        out.append(f"{n} customers have bought.")
    churn, auc = have.get("churn.churn_rate_validation"), have.get("churn.best_auc")
    if churn:
        out.append(f"{churn} of customers made no purchase in the last churn window"
                   + (f"; the churn score spots them with an AUC of {auc}." if auc else "."))
    cost = have.get("channel_integration.cost_to_serve_total")
    if cost:
        out.append(f"Serving customers through the contact channels cost {cost} in the last window.")
    nt, share = have.get("selection.n_targets"), have.get("evaluation.target_value_share")
    if nt:
        out.append(f"{nt} customers were selected as targets" + (f"; they hold {share} of the predicted value." if share else "."))
    nps = have.get("feedback.nps")
    if nps:
        out.append(f"The Net Promoter Score is {nps}.")
    if len(actions):
        first = actions.iloc[0]
        out.append(f"The first action the data supports: {first['action'][:1].lower() + first['action'][1:]}. {first['figure']}.")
    else:
        out.append("The figures support no action with confidence in this run.")
    n_test = 0 if to_test is None else len(to_test)
    if n_test:
        out.append(f"{n_test} more possible action{'s rest' if n_test > 1 else ' rests'} on evidence that does not clear "
                   "its bar: listed to test, not to do.")
    return " ".join(out)

"""The executive summary: the headline figures of every report of a run, their
trend across earlier runs, and the few actions the figures support most.

Everything here works on plain metric dictionaries, ``{notebook: {key: value}}``
as :meth:`ecrm_lib.context.RunContext.metrics` returns them, and on the
registry (:mod:`ecrm_lib.registry`), which documents every key with its unit
in parentheses at the end of its meaning. A report that was skipped, or a
figure a report could not measure, is *not available* with the reason; nothing
here raises for an absent notebook or key.

Action rules
------------
:func:`propose_actions` turns the figures into ranked actions. Each rule fires
only when the figures it needs exist in the run. The rules, in the order they
are ranked (see *Ranking* below):

``stop_segments``
    segments the feedback loop removed or down-weighted (feedback
    ``segment_weights`` product, measured on the randomised campaign response
    by segment of the earlier run's targets, else the
    ``loop_segments_down_weighted`` count): stop (or reduce) targeting them.
    Evidence: randomised test.
``campaign_works``
    the campaign response uplift over its randomised control group
    (feedback ``response_uplift``) has an interval entirely above 0: keep the
    campaign. Evidence: randomised test. The loop's purchase-rate difference
    of the earlier targets against matched non-targets
    (``loop_purchase_rate_diff``) is an observational comparison, not a test of
    a campaign, and never fires this rule; neither does
    ``loop_response_uplift_targets``, which is recorded without an interval.
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
``max_actions`` are kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .registry import Registry

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
    "run_parameters",
    "figures_by_key",
    "trend_table",
    "headline_paragraph",
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
        (:meth:`ecrm_lib.context.RunContext.has`).
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


# ------------------------------------------------------------------ trends
def collect_trends(
    runs: Sequence[tuple[Any, Mapping[str, Mapping[str, Any]]]],
    wanted: Iterable[str] = DEFAULT_TREND_METRICS,
) -> pd.DataFrame:
    """The chosen metrics across runs: one row per as-of date and metric.

    Parameters
    ----------
    runs : sequence of (as_of, metrics)
        Earlier runs and this one, each with ``{notebook: {key: value}}``; any order.
    wanted : iterable of str
        ``"notebook.key"`` names.

    Returns
    -------
    DataFrame
        ``as_of`` (date), ``metric`` (``notebook.key``), ``notebook``, ``key``,
        ``value`` (float), ``change`` (vs the previous as-of date that has the
        metric; NaN for the first) and ``change_pct`` (100 * change / |previous|,
        NaN when the previous value is 0). Runs without a value are left out.

    Examples
    --------
    >>> t = collect_trends([("2025-06-30", {"feedback": {"nps": 12}}), ("2024-12-30", {"feedback": {"nps": 8}})], ["feedback.nps"])
    >>> [(str(d), v, c) for d, v, c in zip(t["as_of"], t["value"], t["change"])]
    [('2024-12-30', 8.0, nan), ('2025-06-30', 12.0, 4.0)]
    """
    wanted = list(wanted)
    bad = [w for w in wanted if w.count(".") != 1]
    if bad:
        raise ValueError(f"trend metrics must be written notebook.key (e.g. 'churn.best_auc'), but {bad} was passed.")
    rows = []
    for as_of, metrics in runs:
        day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
        for w in wanted:
            nb, key = w.split(".")
            x = _number((metrics.get(nb) or {}).get(key))
            if x is not None:
                rows.append({"as_of": day, "metric": w, "notebook": nb, "key": key, "value": x})
    out = pd.DataFrame(rows, columns=["as_of", "metric", "notebook", "key", "value"])
    out = out.sort_values(["metric", "as_of"], kind="stable").drop_duplicates(["metric", "as_of"], keep="last")
    prev = out.groupby("metric")["value"].shift(1)
    out["change"] = (out["value"] - prev).astype(float)
    out["change_pct"] = (100 * out["change"] / prev.abs().where(prev != 0)).astype(float)
    order = {w: i for i, w in enumerate(wanted)}
    out = out.assign(_o=out["metric"].map(order)).sort_values(["as_of", "_o"], kind="stable").drop(columns="_o")
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
    "value the targets already hold, value that accrues whether or not a customer is contacted)."
)
"""How :func:`propose_actions` ranks, in words for the summary page."""


def _get(metrics: Mapping[str, Mapping[str, Any]], notebook: str, key: str) -> Any:
    return (metrics.get(notebook) or {}).get(key)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.1f}%"


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
    """The actions the run's figures support most, ranked (rules: module docstring).

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
        The feedback ``segment_weights`` product (``segment``, ``action``,
        ``reason``) of this run, for the names of the segments to stop targeting.
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
        evidence, :data:`ACTION_EVIDENCE`, which sets the rank).

    Examples
    --------
    >>> m = {"channel_integration": {"whatif_saving": 2_500_000.0}, "churn": {"top_decile_lift": 2.4},
    ...      "feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05}}
    >>> propose_actions(m, currency="KRW")[["rank", "rule", "money", "evidence"]].values.tolist()
    [[1, 'campaign_works', nan, 'randomised test'], [2, 'channel_shift', 2500000.0, 'measured saving'], [3, 'churn_focus', nan, 'model prediction']]
    """
    if max_actions < 0:
        raise ValueError(f"max_actions must be 0 or more, but {max_actions} was passed.")
    cands: list[dict[str, Any]] = []

    def add(rule, action, figure, report, money=None, basis=""):
        figure = figure[:1].upper() + figure[1:]
        cands.append({"rule": rule, "action": action, "figure": figure, "money": _number(money),
                      "money_basis": basis if _number(money) is not None else "", "report": report})

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
    # stop_segments
    earlier = _get(metrics, "feedback", "loop_earlier_as_of")
    when = f"the campaign after the run of {earlier}" if earlier else "the last campaign"
    sw = segment_weights
    if sw is not None and len(sw) and {"segment", "action"} <= set(sw.columns):
        removed = sw.loc[sw["action"].astype(str) == "remove", "segment"].astype(str).tolist()
        lower = sw.loc[sw["action"].astype(str) == "down-weight", "segment"].astype(str).tolist()
        if removed:
            add("stop_segments", f"Stop targeting segment(s) {', '.join(removed)}",
                f"no response uplift in {when}: the whole interval is at or below zero", "feedback.html")
        elif lower:
            add("stop_segments", f"Target segment(s) {', '.join(lower)} less",
                f"response uplift not above zero in {when}", "feedback.html")
    else:
        n_down = _number(_get(metrics, "feedback", "loop_segments_down_weighted"))
        if n_down is None:
            n_down = _number(_get(metrics, "selection", "segments_down_weighted"))
        if n_down and n_down > 0:
            add("stop_segments", f"Stop or reduce targeting the {int(n_down)} segment(s) named in the feedback report",
                f"no response uplift above zero in {when}", "feedback.html")
    # churn_focus
    lift = _number(_get(metrics, "churn", "top_decile_lift"))
    if lift is not None and lift >= min_churn_lift:
        add("churn_focus", "Focus retention contacts on the riskiest 10 % of customers by churn score",
            f"they churn {lift:.1f} times as often as the average customer (checked on held-out customers)", "churn.html")
    # campaign_works: randomised evidence only (the loop's purchase-rate difference is observational, and
    # loop_response_uplift_targets is recorded without an interval)
    up, ulo, uhi = (_number(_get(metrics, "feedback", k)) for k in ("response_uplift", "response_uplift_ci_low", "response_uplift_ci_high"))
    if up is not None and ulo is not None and ulo > 0:
        rng = f" (interval {100 * ulo:+.1f} to {100 * uhi:+.1f})" if uhi is not None else ""
        add("campaign_works", "Keep running the campaign that beat its control group",
            f"response {100 * up:+.1f} points above the randomised control group{rng}", "feedback.html")
    # nps
    nps = _number(_get(metrics, "feedback", "nps"))
    if nps is not None and nps <= max_nps:
        add("nps", "Work on what detractors complain about (the feedback report lists the topics)",
            f"Net Promoter Score {nps:+.0f}: more detractors than promoters" if nps < 0 else f"Net Promoter Score {nps:+.0f}",
            "feedback.html")

    cols = ["rank", "rule", "action", "figure", "money", "money_basis", "report", "evidence"]
    if not cands:
        return pd.DataFrame(columns=cols).astype({"rank": int, "money": float})
    df = pd.DataFrame(cands)
    df["evidence"] = df["rule"].map(ACTION_EVIDENCE)
    df["money"] = df["money"].astype(float)
    df["_prio"] = df["rule"].map({r: i for i, r in enumerate(ACTION_ORDER)})
    df = df.sort_values("_prio", kind="stable").head(max_actions)
    df["rank"] = range(1, len(df) + 1)
    return df[cols].reset_index(drop=True)


# ---------------------------------------------------------------- helpers
def run_parameters(run_dir: str | Path, notebook: str, registry: Registry) -> dict[str, Any]:
    """The parameters a notebook ran with in a run: its registry defaults,
    updated with the values the run gave it (:func:`ecrm_lib.seef.run_parameter`:
    the executed notebook's papermill metadata, else the run's manifest).

    Returns the registry defaults when the notebook did not run; an empty
    dict for a notebook the registry does not know.
    """
    from .seef import run_parameter

    if notebook not in registry:
        return {}
    return {k: run_parameter(run_dir, notebook, k, default=v) for k, v in registry.get(notebook).parameters.items()}


def figures_by_key(table: pd.DataFrame) -> dict[str, str]:
    """The figures of :func:`headline_table` by ``notebook.key`` as display text, for prose.

    Examples
    --------
    >>> t = pd.DataFrame({"notebook": ["churn"], "key": ["best_auc"], "value_text": ["0.812"]})
    >>> figures_by_key(t)
    {'churn.best_auc': '0.812'}
    """
    return {f"{n}.{k}": v for n, k, v in zip(table["notebook"], table["key"], table["value_text"])}


def trend_table(trends: pd.DataFrame, table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Each trend metric's value in the previous run that has it and in the latest, with the change.

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
        ``figure``, ``earlier as of``, ``earlier``, ``latest as of``, ``latest``,
        ``change`` (all text, formatted by unit); one row per metric with at
        least two runs.
    """
    info = {f"{n}.{k}": (f, u) for n, k, f, u in zip(table["notebook"], table["key"], table["figure"], table["unit"])}
    rows = []
    for metric, d in trends.groupby("metric", sort=False):
        if len(d) < 2:
            continue
        d = d.sort_values("as_of")
        label, unit = info.get(metric, (metric, ""))
        prev, last = d.iloc[-2], d.iloc[-1]
        change = last["value"] - prev["value"]
        u = unit.lower()
        if u.startswith("share") and not u.startswith("share points"):
            change_text = f"{100 * change:+.1f} points"
        elif "currency" in u:
            change_text = ("+" if change > 0 else "") + format_money(change, currency)
        elif float(change).is_integer() and not u.startswith(("auc", "ratio", "correlation")):
            change_text = f"{int(change):+,}"
        else:
            change_text = f"{change:+.3g}"
        rows.append({"figure": label, "earlier as of": str(prev["as_of"]), "earlier": format_value(prev["value"], unit, currency),
                     "latest as of": str(last["as_of"]), "latest": format_value(last["value"], unit, currency),
                     "change": change_text})
    return pd.DataFrame(rows, columns=["figure", "earlier as of", "earlier", "latest as of", "latest", "change"])


def headline_paragraph(table: pd.DataFrame, actions: pd.DataFrame) -> str:
    """A few plain sentences with the run's main figures and the first action.

    Sentences whose figures are not available are left out.

    Parameters
    ----------
    table : DataFrame
        From :func:`headline_table`.
    actions : DataFrame
        From :func:`propose_actions`.

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
    return " ".join(out)

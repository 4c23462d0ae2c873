"""The executive summary's headline figures: every report's figures of a run by area, with
the reason where a figure is not available, and the paragraph that opens the page.

Everything here works on plain metric dictionaries, ``{notebook: {key: value}}``
as :meth:`ecrm_lib.run.context.RunContext.metrics` returns them, and on a
*catalogue* of the notebooks (the run's registry, :mod:`ecrm_lib.run.registry`,
passed in by the notebook), which documents every key with its unit in
parentheses at the end of its meaning. A report that was skipped, or a figure a
report could not measure, is *not available* with the reason; nothing here
raises for an absent notebook or key. Trends across runs are in
:mod:`ecrm_lib.report.trends`, the actions in :mod:`ecrm_lib.report.actions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import pandas as pd

from ecrm_lib.core.format import NOT_AVAILABLE, as_number, format_value, unit_of


class Catalogue(Protocol):
    """What the summary needs of the notebook registry (:class:`ecrm_lib.run.registry.Registry` is one):
    iterating notebook entries (``name``, ``title``, ``upstream``, ``metrics``), ``name in catalogue``
    and ``get(name)``."""

    def __iter__(self) -> Iterator[Any]: ...

    def __contains__(self, name: object) -> bool: ...

    def get(self, name: str) -> Any: ...

__all__ = [
    "AREAS",
    "HEADLINES",
    "Headline",
    "Catalogue",
    "ROUNDING_NOTE",
    "report_status",
    "headline_table",
    "figures_by_key",
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
    registry: Catalogue,
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
    registry: Catalogue,
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
        x = as_number(value)
        label = h.label
        if h.coverage is not None and available:
            n_key, of_key, words = h.coverage
            got = metrics.get(h.notebook) or {}
            n, of = as_number(got.get(n_key)), as_number(got.get(of_key))
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

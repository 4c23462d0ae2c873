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

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import pandas as pd

from ecrm_lib.core.format import (NOT_AVAILABLE, as_number, format_count, format_money, format_number,
                                  format_relative_change, format_value, unit_of)
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.core.privacy import count_text
from ecrm_lib.value import headline as revenue


class Catalogue(Protocol):
    """What the summary needs of the notebook registry (:class:`ecrm_lib.run.registry.Registry` is one):
    iterating notebook entries (``name``, ``title``, ``upstream``, ``metrics``), ``name in catalogue``
    and ``get(name)``."""

    def __iter__(self) -> Iterator[Any]: ...

    def __contains__(self, name: object) -> bool: ...

    def get(self, name: str) -> Any: ...

__all__ = [
    "in_report_language",
    "AREAS",
    "HEADLINES",
    "Headline",
    "Catalogue",
    "ROUNDING_NOTE",
    "report_status",
    "headline_table",
    "figures_by_key",
    "headline_paragraph",
    "revenue_headline",
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
    Headline("Customers", "data_overview", "revenue_last_12m", "Revenue in the last 12 months"),
    Headline("Customers", "data_overview", "revenue_change_12m", "Revenue change against the 12 months before"),
    Headline("Customers", "data_overview", "total_revenue", "Revenue in the data"),
    Headline("Value and concentration", "customer_value", "total_clv", "Predicted customer value (CLV, all customers)"),
    Headline("Value and concentration", "customer_value", "top20_value_share", "Value held by the top 20 % of customers"),
    Headline("Value and concentration", "evaluation", "gini_clv", "Gini coefficient of CLV"),
    Headline("Value and concentration", "customer_value", "mean_p_alive", "Mean probability a customer is still active"),
    Headline("Churn risk", "churn", "churn_rate_validation", "Churn rate of the held-out customers (no purchase in the churn window)"),
    Headline("Churn risk", "churn", "best_auc", "How well churners are spotted (ROC-AUC)"),
    Headline("Churn risk", "churn", "top_decile_lift", "Churn rate of the riskiest 10 % vs average (lift)"),
    Headline("Churn risk", "churn", "telco_churn_rate", "Contract customers who left"),
    Headline("Channel cost and reach", "channel_integration", "cost_to_serve_total",
             "Cost to serve (contacts without a known cost count as zero)"),
    Headline("Channel cost and reach", "channel_integration", "cost_per_customer",
             "Cost to serve per contacting customer (contacts without a known cost count as zero)"),
    Headline("Channel cost and reach", "channel_integration", "whatif_saving", "Saving of the cheaper-channel what-if"),
    Headline("Channel cost and reach", "channel_integration", "offhours_customer_share", "Contacting customers who come outside office hours"),
    Headline("Channel cost and reach", "channel_integration", "internet_only_customer_share", "Customers reached only online"),
    Headline("Targets", "selection", "n_targets", "Target customers selected"),
    Headline("Targets", "selection", "target_share", "Share of customers targeted"),
    Headline("Targets", "evaluation", "target_value_share", "Share of predicted value held by the targets"),
    Headline("Targets", "evaluation", "target_net_value",
             "Targets' value after cost to serve (contacts without a known cost count as zero)"),
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


#: Units of registry metrics that count people (or their answers): shown with small-cell suppression.
PEOPLE_UNITS = ("customers", "persons", "people", "accounts", "targets", "earlier targets", "answers")


def _counts_people(unit: str) -> bool:
    """Whether a registry unit counts people (:data:`PEOPLE_UNITS`), so that 1-4 is written "fewer than 5".

    >>> _counts_people("customers"), _counts_people("config currency"), _counts_people("accounts")
    (True, False, True)
    """
    return str(unit).strip().lower() in PEOPLE_UNITS


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
        ``{notebook: None}`` when it ran, else ``{notebook: reason}`` in plain words in the report
        language (report titles from ``notebooks.<name>.title``).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> reg = [NS(name="churn", title="Churn", required_inputs=["transactions"], upstream=[])]
    >>> report_status(reg, [], lambda table: False)
    {'churn': 'the report was skipped: the data has no transactions table'}
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     report_status(reg, [], lambda table: False)
    {'churn': '데이터에 transactions 테이블이 없어 보고서를 건너뛰었습니다'}
    """
    ran, exclude = set(ran), set(exclude)
    out: dict[str, str | None] = {}
    for spec in registry:
        if spec.name in exclude:
            continue
        if spec.name in ran:
            out[spec.name] = None
            continue
        missing = [name for name in spec.required_inputs if not has_table(name)]
        blocked = [t_or(f"notebooks.{u}.title", registry.get(u).title) for u in spec.upstream if out.get(u) is not None]
        if missing:
            out[spec.name] = t("summary.skipped_no_table", tables=", ".join(missing))
        elif blocked:
            out[spec.name] = t("summary.blocked", reports=", ".join(blocked))
        else:
            out[spec.name] = t("summary.did_not_run")
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
        reason = status.get(h.notebook, t("summary.did_not_run"))
        value = (metrics.get(h.notebook) or {}).get(h.key) if reason is None else None
        available = reason is None and value is not None
        if available:
            note = ""
        elif reason is not None:
            note = reason
        else:
            # the registry's words on when the figure is empty, in the report language for the suite's own
            # headline figures (summary.none_reason.*); a notebook the user registered keeps their words
            why = _none_reason(description)
            why = t_or(f"summary.none_reason.{h.notebook}.{h.key}", why) if why else ""
            note = t("summary.not_measured_why", why=why) if why else t("summary.not_measured")
        x = as_number(value)
        label = h.label
        if h.coverage is not None and available:
            n_key, of_key, words = h.coverage
            got = metrics.get(h.notebook) or {}
            n, of = as_number(got.get(n_key)), as_number(got.get(of_key))
            words = t_or(f"summary.coverage.{h.notebook}.{h.key}", words)
            label += (t("summary.coverage_of", n=count_text(n), of=count_text(of), words=words)
                      if n is not None and of is not None else t("summary.coverage_missing", words=words))
        rows.append({
            "area": h.area, "report": spec.title, "notebook": h.notebook, "key": h.key, "figure": label,
            "value": x if x is not None else float("nan"),
            "value_text": (NOT_AVAILABLE if not available else count_text(x) if _counts_people(unit) and x is not None
                           and float(x).is_integer() else format_value(value, unit, currency)),
            "unit": unit, "description": description, "href": f"{h.notebook}.html",
            "available": available, "note": note,
        })
    cols = ["area", "report", "notebook", "key", "figure", "value", "value_text", "unit", "description", "href", "available", "note"]
    out = pd.DataFrame(rows, columns=cols)
    out["value"] = out["value"].astype(float)
    out["available"] = out["available"].astype(bool)
    return out


def in_report_language(table: pd.DataFrame, headlines: Sequence[Headline] = HEADLINES) -> pd.DataFrame:
    """The headline table's words in the report language, for display (the product keeps :func:`headline_table`'s).

    Figure labels from the catalogue's ``executive_summary.figure.<notebook>.<key>`` (a coverage
    "(n of N ...)" after the label stays as it is), report titles from ``notebooks.<name>.title``
    and "not available" from ``common.not_available``; values, units and notes are unchanged.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> t0 = pd.DataFrame({"notebook": ["evaluation"], "key": ["gini_clv"], "figure": ["Gini coefficient of CLV"],
    ...                    "report": ["Evaluation"], "value_text": ["not available"]})
    >>> with using("ko"):
    ...     in_report_language(t0)[["figure", "value_text"]].iloc[0].tolist()
    ['CLV의 지니 계수', '자료 없음']
    >>> in_report_language(t0)["figure"].iloc[0]
    'Gini coefficient of CLV'
    """
    labels = {(h.notebook, h.key): h.label for h in headlines}

    def figure(notebook: str, key: str, text: str) -> str:
        label = labels.get((notebook, key))
        if label is None or not str(text).startswith(label):
            return text
        return t_or(f"executive_summary.figure.{notebook}.{key}", label) + str(text)[len(label):]

    out = table.copy()
    out["figure"] = [figure(n, k, f) for n, k, f in zip(table["notebook"], table["key"], table["figure"])]
    out["report"] = [t_or(f"notebooks.{n}.title", r) for n, r in zip(table["notebook"], table["report"])]
    if "value_text" in out:
        out["value_text"] = [t("common.not_available") if v == NOT_AVAILABLE else v for v in table["value_text"]]
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
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     headline_paragraph(t.assign(value_text=["1,200", "340만 원"]), pd.DataFrame(columns=["action", "figure"]))[:50]
    '구매한 고객 수는 1,200이며, CLV 예측 기간 동안의 예측 가치는 340만 원입니다.'
    """
    have = {f"{n}.{k}": v for n, k, v, a in zip(table["notebook"], table["key"], table["value_text"], table["available"]) if a}
    out = []
    n, clv, top = have.get("customer_value.n_customers"), have.get("customer_value.total_clv"), have.get("customer_value.top20_value_share")
    if n and clv:
        out.append(t("executive_summary.para.bought_value_top", n=n, clv=clv, top=top) if top
                   else t("executive_summary.para.bought_value", n=n, clv=clv))
    elif n:
        out.append(t("executive_summary.para.bought", n=n))
    churn, auc = have.get("churn.churn_rate_validation"), have.get("churn.best_auc")
    if churn:
        out.append(t("executive_summary.para.churn_auc", churn=churn, auc=auc) if auc else t("executive_summary.para.churn", churn=churn))
    cost = have.get("channel_integration.cost_to_serve_total")
    if cost:
        out.append(t("executive_summary.para.cost", cost=cost))
    nt, share = have.get("selection.n_targets"), have.get("evaluation.target_value_share")
    if nt:
        out.append(t("executive_summary.para.targets_share", nt=nt, share=share) if share else t("executive_summary.para.targets", nt=nt))
    nps = have.get("feedback.nps")
    if nps:
        out.append(t("executive_summary.para.nps", nps=nps))
    if len(actions):
        first = actions.iloc[0]
        out.append(t("executive_summary.para.first_action", action=first["action"][:1].lower() + first["action"][1:], figure=first["figure"]))
    else:
        out.append(t("executive_summary.para.no_action"))
    n_test = 0 if to_test is None else len(to_test)
    if n_test:
        out.append(t("executive_summary.para.to_test_many", n=n_test) if n_test > 1 else t("executive_summary.para.to_test_one"))
    return " ".join(out)


# ------------------------------------------------------------ the revenue headline
def revenue_headline(overview_metrics: Mapping[str, Any] | None, currency: str = "",
                     has_transactions: bool = True) -> tuple[str, pd.DataFrame | None]:
    """The headline that opens the data overview and the executive summary: revenue, customers and
    purchases over the last 12 months against the 12 before, the change and its main driver.

    Both pages build it from the figures the data overview recorded
    (:data:`ecrm_lib.value.headline.HEADLINE_KEYS`), so they show the same numbers.

    Parameters
    ----------
    overview_metrics : mapping or None
        The data overview's metrics of this run.
    currency : str
        The config currency of the table's money (the sentence's money placeholders use the
        catalogue's currency, :func:`ecrm_lib.core.i18n.set_currency`, which the run context sets).
    has_transactions : bool
        False when the run has no transactions table (the reason given).

    Returns
    -------
    (str, DataFrame or None)
        Markdown sentences in the report language (values are the suite's
        own figures, not data text), and the table (text cells, labelled for
        the reader: measure, the two periods, change) or None when the
        comparison is not available. Revenue = customers x purchases per
        customer x spend per purchase, so the three changes multiply to the
        revenue change; the main driver is the one with the largest share of
        it (:func:`ecrm_lib.value.headline.revenue_drivers`), and drivers that
        moved the other way are named as offsetting it.
    """
    if not has_transactions:
        return t("headline.not_available", reason=t("headline.reason_no_transactions")), None
    periods = revenue.periods_from_metrics(dict(overview_metrics or {}))
    if periods is None:
        return t("headline.not_available", reason=t("headline.reason_not_recorded")), None
    why = revenue.comparable(periods)
    prev, last = (periods.set_index("period").loc[p] for p in ("previous", "last"))
    if why == "not_covered":
        return t("headline.not_available", reason=t("headline.reason_not_covered", first=prev["data_start"],
                                                     start=prev["start"])), None
    if why == "no_revenue":
        return t("headline.not_available", reason=t("headline.reason_no_revenue")), None
    d = revenue.revenue_drivers(periods)
    text = t("headline.sentence", start=last["start"], end=overview_metrics.get("as_of") or last["start"],
             revenue=last["revenue"], change=format_relative_change(d["revenue_change"]), revenue_prev=prev["revenue"],
             customers=last["customers"], customers_prev=prev["customers"],
             customers_change=format_relative_change(d["customers_change"]),
             purchases=last["purchases"], purchases_prev=prev["purchases"],
             purchases_change=format_relative_change(last["purchases"] / prev["purchases"] - 1 if prev["purchases"] else None))
    main = d["main_driver"]
    if main is None:
        text += " " + t("headline.no_change")
    else:
        def words(driver: str) -> str:
            up = float(last[driver]) > float(prev[driver])
            return t(f"headline.driver_{driver}_{'up' if up else 'down'}") + f" ({format_relative_change(d[f'{driver}_change'])})"

        text += " " + t("headline.driver", driver=words(main))
        against = [k for k in revenue.DRIVER_WORDS if k != main and d["shares"].get(k, 0) < 0]
        if against:
            text += " " + t("headline.offset", drivers=", ".join(words(k) for k in against))
    text += " " + t("headline.note")
    rows = [
        ("row_revenue", format_money(prev["revenue"], currency), format_money(last["revenue"], currency),
         d["revenue_change"]),
        ("row_customers", format_count(prev["customers"]), format_count(last["customers"]), d["customers_change"]),
        ("row_purchases", format_count(prev["purchases"]), format_count(last["purchases"]),
         last["purchases"] / prev["purchases"] - 1 if prev["purchases"] else None),
        ("row_purchases_per_customer", format_number(prev["purchases_per_customer"], digits=2),
         format_number(last["purchases_per_customer"], digits=2), d["purchases_per_customer_change"]),
        ("row_spend_per_purchase", format_money(prev["spend_per_purchase"], currency),
         format_money(last["spend_per_purchase"], currency), d["spend_per_purchase_change"]),
    ]
    table = pd.DataFrame([{
        t("headline.col_measure"): t(f"headline.{key}"),
        t("headline.col_previous"): a, t("headline.col_last"): b,
        t("headline.col_change"): format_relative_change(c),
    } for key, a, b, c in rows])
    return text, table

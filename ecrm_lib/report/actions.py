"""The actions the figures of a run support most ("to do"), and those whose evidence does not
clear its bar yet ("to test").

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

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ecrm_lib.core.format import as_number, format_money, format_points, format_points_interval, not_available
from ecrm_lib.core.i18n import t
from ecrm_lib.seef.rfm import segment_label
from ecrm_lib.core.privacy import count_text, people_text

__all__ = ["ACTION_EVIDENCE", "ACTION_ORDER", "NEAR_MISS_AUC", "RANKING_NOTE", "evidence_bars", "evidence_text",
           "propose_actions", "actions_to_test"]


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
"""The kind of evidence behind each action rule (English; :func:`evidence_text` words it in the report language)."""


def evidence_text(kind: str) -> str:
    """An evidence kind of :data:`ACTION_EVIDENCE` in the report language (``actions.evidence.*``).

    >>> from ecrm_lib.core.language import using
    >>> evidence_text("randomised test")
    'randomised test'
    >>> with using("ko"):
    ...     evidence_text("randomised test")
    '무작위 실험'
    """
    return t(f"actions.evidence.{kind.replace(' ', '_')}")


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


def _join(names: pd.Series) -> str:
    """Segment names joined, each as a page shows it (a shipped RFM segment in the report language)."""
    return ", ".join(segment_label(n) for n in names.astype(str))


def evidence_bars(min_churn_lift: float = 1.5, min_lookalike_auc: float = 0.6, max_nps: float = 0.0) -> dict[str, str]:
    """The bar each action rule's evidence must clear, in words for the page in the report language (module docstring).

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
        "stop_segments": t("actions.bar.stop_segments"),
        "campaign_works": t("actions.bar.campaign_works"),
        "channel_shift": t("actions.bar.channel_shift"),
        "retain_targets": t("actions.bar.retain_targets"),
        "expansion": t("actions.bar.expansion", auc=min_lookalike_auc),
        "churn_focus": t("actions.bar.churn_focus", lift=min_churn_lift),
        "nps": t("actions.bar.nps", nps=f"{max_nps:+.0f}"),
    }


_ACTION_COLUMNS = ["rank", "rule", "action", "figure", "money", "money_basis", "report", "evidence", "bar"]


_TEST_COLUMNS = ["rule", "action", "figure", "why", "bar", "report", "evidence"]


def _segment_figure(row: Mapping[str, Any]) -> str:
    """``"Lost: uplift -1.2 points (-5.0 to +2.7 points; 247 treated and 269 control accounts)"``."""
    inner = format_points_interval(row.get("ci_low"), row.get("ci_high"))
    inner = t("actions.no_interval") if inner == not_available() else inner
    n1, n0 = row.get("n_treatment"), row.get("n_control")
    if as_number(n1) is not None and as_number(n0) is not None:
        inner = t("actions.segment_counts", interval=inner, treated=count_text(n1), control=count_text(n0))
    return t("actions.segment_figure", segment=segment_label(str(row["segment"])), uplift=format_points(row.get("uplift")), interval=inner)


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
        todo.append({"rule": rule, "action": action, "figure": cap(figure), "money": as_number(money),
                     "money_basis": basis if as_number(money) is not None else "", "report": report, "bar": bars[rule]})

    def to_test(rule, action, figure, why, report):
        totest.append({"rule": rule, "action": action, "figure": cap(figure), "why": cap(why), "bar": bars[rule],
                       "report": report, "evidence": evidence_text(ACTION_EVIDENCE[rule])})

    # retain_targets
    n_t = as_number(_get(metrics, "selection", "n_targets"))
    share_v = as_number(_get(metrics, "evaluation", "target_value_share"))
    if n_t and n_t > 0 and share_v is not None:
        total = as_number(_get(metrics, "customer_value", "total_clv"))
        money = share_v * total if total is not None else None
        cust = as_number(_get(metrics, "evaluation", "target_customer_share"))
        who = (t("actions.retain_who_share", n=people_text(n_t), share=_pct(cust)) if cust is not None
               else t("actions.retain_who", n=people_text(n_t)))
        fig = (t("actions.retain_hold_money", who=who, share=_pct(share_v), money=format_money(money, currency))
               if money is not None else t("actions.retain_hold", who=who, share=_pct(share_v)))
        net = as_number(_get(metrics, "evaluation", "target_net_value"))
        if net is not None and net < 0:
            fig = t("actions.retain_net_negative", figure=fig, net=format_money(net, currency))
        elif net is not None:
            fig = t("actions.retain_net", figure=fig, net=format_money(net, currency))
        add("retain_targets", t("actions.retain_action", n=people_text(n_t)),
            fig, "evaluation.html", money, t("actions.retain_basis"))
    # channel_shift
    saving = as_number(_get(metrics, "channel_integration", "whatif_saving"))
    if saving is not None and saving > 0:
        w = dict(whatif or {})
        purpose, src, dst = w.get("whatif_purpose"), w.get("whatif_from_channel"), w.get("whatif_to_channel")
        share = as_number(w.get("whatif_share"))
        if purpose and src and dst:
            words = dict(purpose=str(purpose).replace("_", " "), source=src, target=dst)
            what = (t("actions.shift_share", share=_pct(share), **words) if share is not None
                    else t("actions.shift_all", **words))
        else:
            what = t("actions.shift_generic")
        add("channel_shift", what, t("actions.shift_figure", saving=format_money(saving, currency)),
            "channel_integration.html", saving, t("actions.shift_basis"))
    # expansion
    n_e = as_number(_get(metrics, "expansion", "expansion_n"))
    val_e = as_number(_get(metrics, "expansion", "expansion_value"))
    auc = as_number(_get(metrics, "expansion", "lookalike_auc"))
    if n_e and n_e > 0 and val_e is not None and val_e > 0 and (auc is None or auc >= min_lookalike_auc):
        cost = as_number(_get(metrics, "expansion", "expansion_contact_cost"))
        fig = (t("actions.expansion_value_cost", value=format_money(val_e, currency), cost=format_money(cost, currency))
               if cost is not None else t("actions.expansion_value", value=format_money(val_e, currency)))
        if auc is not None and auc >= NEAR_MISS_AUC:
            fig = t("actions.expansion_near_miss", figure=fig, auc=auc)
        elif auc is not None:
            fig = t("actions.expansion_auc", figure=fig, auc=auc)
        add("expansion", t("actions.expansion_action", n=people_text(n_e)), fig, "expansion.html",
            val_e - (cost or 0.0), t("actions.expansion_basis"))
    # stop_segments: the segments the loop flagged, each against the bar (randomised uplift interval)
    up, ulo, uhi = (as_number(_get(metrics, "feedback", k)) for k in ("response_uplift", "response_uplift_ci_low", "response_uplift_ci_high"))
    earlier = _get(metrics, "feedback", "loop_earlier_as_of")
    when = t("actions.when_after", date=earlier) if earlier else t("actions.when_last")
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
            add("stop_segments", t("actions.stop_action", segments=_join(stop["segment"])),
                t("actions.stop_figure", figures="; ".join(_segment_figure(r) for r in rows(stop)), when=when),
                "feedback.html")
        if len(less):
            add("stop_segments", t("actions.less_action", segments=_join(less["segment"])),
                t("actions.less_figure", figures="; ".join(_segment_figure(r) for r in rows(less)), when=when,
                  campaign=campaign_iv), "feedback.html")
        for loop_action, verb in (("remove", "actions.stop_action"), ("down-weight", "actions.less_action")):
            part = rest.loc[rest["action"].astype(str) == loop_action]
            if part.empty:
                continue
            why = (t("actions.test_why_campaign", campaign=campaign_iv) if ulo is not None
                   else t("actions.test_why_no_campaign"))
            to_test("stop_segments", t(verb, segments=_join(part["segment"])),
                    t("actions.test_figure", figures="; ".join(_segment_figure(r) for r in rows(part)), when=when),
                    why, "feedback.html")
    else:
        n_down = as_number(_get(metrics, "feedback", "loop_segments_down_weighted"))
        if n_down is None:
            n_down = as_number(_get(metrics, "selection", "segments_down_weighted"))
        if n_down and n_down > 0:
            missing = t("actions.missing_intervals") if has_sw else t("actions.missing_weights")
            to_test("stop_segments", t("actions.down_action", n=int(n_down)),
                    t("actions.down_figure", n=int(n_down), when=when),
                    t("actions.down_why", missing=missing), "feedback.html")
    # churn_focus
    lift = as_number(_get(metrics, "churn", "top_decile_lift"))
    if lift is not None and lift >= min_churn_lift:
        add("churn_focus", t("actions.churn_action"), t("actions.churn_figure", lift=lift), "churn.html")
    # campaign_works: randomised evidence only (the loop's purchase-rate difference is observational, and
    # loop_response_uplift_targets is recorded without an interval)
    if up is not None and up > 0:
        uplift = format_points(up)
        if ulo is not None and ulo > 0:
            add("campaign_works", t("actions.campaign_action"),
                t("actions.campaign_figure_interval", uplift=uplift, interval=campaign_iv)
                if campaign_iv != not_available() else t("actions.campaign_figure", uplift=uplift), "feedback.html")
        else:
            if ulo is None:
                fig = t("actions.campaign_figure_no_interval", uplift=uplift)
                why = t("actions.campaign_why_no_interval")
            else:
                fig = (t("actions.campaign_figure_interval", uplift=uplift, interval=campaign_iv)
                       if campaign_iv != not_available() else t("actions.campaign_figure_from", uplift=uplift,
                                                                 low=format_points(ulo)))
                why = t("actions.campaign_why_reaches_zero")
            to_test("campaign_works", t("actions.campaign_test_action"), fig, why, "feedback.html")
    # nps
    nps = as_number(_get(metrics, "feedback", "nps"))
    if nps is not None and nps <= max_nps:
        add("nps", t("actions.nps_action"),
            t("actions.nps_figure_negative" if nps < 0 else "actions.nps_figure", nps=f"{nps:+.0f}"), "feedback.html")
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
    df["evidence"] = df["rule"].map(lambda r: evidence_text(ACTION_EVIDENCE[r]))
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

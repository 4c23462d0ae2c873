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

from ecrm_lib.core.format import NOT_AVAILABLE, as_number, format_money, format_points, format_points_interval
from ecrm_lib.core.privacy import count_text

__all__ = ["ACTION_EVIDENCE", "ACTION_ORDER", "NEAR_MISS_AUC", "RANKING_NOTE", "evidence_bars", "propose_actions",
           "actions_to_test"]


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
    inner = format_points_interval(row.get("ci_low"), row.get("ci_high"))
    inner = "no interval" if inner == NOT_AVAILABLE else inner
    n1, n0 = row.get("n_treatment"), row.get("n_control")
    if as_number(n1) is not None and as_number(n0) is not None:
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
        todo.append({"rule": rule, "action": action, "figure": cap(figure), "money": as_number(money),
                     "money_basis": basis if as_number(money) is not None else "", "report": report, "bar": bars[rule]})

    def to_test(rule, action, figure, why, report):
        totest.append({"rule": rule, "action": action, "figure": cap(figure), "why": cap(why), "bar": bars[rule],
                       "report": report, "evidence": ACTION_EVIDENCE[rule]})

    # retain_targets
    n_t = as_number(_get(metrics, "selection", "n_targets"))
    share_v = as_number(_get(metrics, "evaluation", "target_value_share"))
    if n_t and n_t > 0 and share_v is not None:
        total = as_number(_get(metrics, "customer_value", "total_clv"))
        money = share_v * total if total is not None else None
        cust = as_number(_get(metrics, "evaluation", "target_customer_share"))
        fig = f"{count_text(n_t)} target customers" + (f" ({_pct(cust)} of customers)" if cust is not None else "")
        fig += f" hold {_pct(share_v)} of the predicted customer value"
        if money is not None:
            fig += f" ({format_money(money, currency)})"
        net = as_number(_get(metrics, "evaluation", "target_net_value"))
        if net is not None and net < 0:
            fig += (f"; after cost to serve (contacts without a known cost count as zero) they are worth "
                    f"{format_money(net, currency)}, so keep the offers and contacts cheap")
        elif net is not None:
            fig += f"; {format_money(net, currency)} after cost to serve (contacts without a known cost count as zero)"
        add("retain_targets", f"Act on the {count_text(n_t)} selected target customers",
            fig, "evaluation.html", money, "predicted value (CLV) the targets already hold, not the gain from acting")
    # channel_shift
    saving = as_number(_get(metrics, "channel_integration", "whatif_saving"))
    if saving is not None and saving > 0:
        w = dict(whatif or {})
        purpose, src, dst = w.get("whatif_purpose"), w.get("whatif_from_channel"), w.get("whatif_to_channel")
        share = as_number(w.get("whatif_share"))
        if purpose and src and dst:
            what = (f"Move {_pct(share)} of " if share is not None else "Move ") + f"{str(purpose).replace('_', ' ')} contacts from {src} to {dst}"
        else:
            what = "Move the contacts of the channel report's what-if to the cheaper channel"
        add("channel_shift", what, f"saves {format_money(saving, currency)} a year in cost to serve",
            "channel_integration.html", saving, "yearly saving")
    # expansion
    n_e = as_number(_get(metrics, "expansion", "expansion_n"))
    val_e = as_number(_get(metrics, "expansion", "expansion_value"))
    auc = as_number(_get(metrics, "expansion", "lookalike_auc"))
    if n_e and n_e > 0 and val_e is not None and val_e > 0 and (auc is None or auc >= min_lookalike_auc):
        cost = as_number(_get(metrics, "expansion", "expansion_contact_cost"))
        fig = f"{format_money(val_e, currency)} predicted value (CLV)"
        if cost is not None:
            fig += f" for a contact cost of {format_money(cost, currency)}"
        if auc is not None and auc >= NEAR_MISS_AUC:
            fig += (f"; the look-alike model separates targets from others with an AUC of {auc:.2f}, as expected because "
                    "the targets are the top of a selection rule over purchase history: the look-alikes are mostly "
                    "customers just below the rule's cut-offs (near-misses), not an independent discovery")
        elif auc is not None:
            fig += f"; the look-alike model ranks targets above others with an AUC of {auc:.2f}"
        add("expansion", f"Reach the {count_text(n_e)} best-scored look-alike customers", fig, "expansion.html",
            val_e - (cost or 0.0), "predicted value minus one contact each, which accrues whether or not they are contacted")
    # stop_segments: the segments the loop flagged, each against the bar (randomised uplift interval)
    up, ulo, uhi = (as_number(_get(metrics, "feedback", k)) for k in ("response_uplift", "response_uplift_ci_low", "response_uplift_ci_high"))
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
        n_down = as_number(_get(metrics, "feedback", "loop_segments_down_weighted"))
        if n_down is None:
            n_down = as_number(_get(metrics, "selection", "segments_down_weighted"))
        if n_down and n_down > 0:
            missing = ("the feedback report's segment weights do not record the intervals" if has_sw
                       else "the feedback report's segment weights were not found")
            to_test("stop_segments", f"Stop or reduce targeting the {int(n_down)} segment(s) named in the feedback report",
                    f"{int(n_down)} segment(s) down-weighted or removed by the feedback loop after {when}",
                    f"their uplift intervals are not available because {missing}, so the evidence cannot be checked "
                    "against the bar", "feedback.html")
    # churn_focus
    lift = as_number(_get(metrics, "churn", "top_decile_lift"))
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
    nps = as_number(_get(metrics, "feedback", "nps"))
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

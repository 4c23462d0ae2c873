"""The costed action plan at the end of the executive summary: for each action, whom (segment and
count), through which channel, the expected incremental value with its interval, the cost, the
expected return, the evidence level and the figure to check in the next run.

Money
-----
- **Expected incremental value** of contacting a group with the campaign's offer::

      customers x response uplift x revenue per response x margin

  The response uplift (share points, with its interval) is the randomised
  campaign's: the segment's own when the feedback report measured it with an
  interval, else the campaign-wide one. Revenue per response is the treatment
  arm's revenue per responding account. The margin is the config's
  (``economics: margin``); without it the value is *not available*, never
  assumed.
- **Cost**: one contact with each customer through their cheapest priced
  channel (the channel report's costs), plus the config's offer cost per
  contacted customer (``economics: offer_cost``; without it the cost covers
  the contacts only and the row says so).
- **Expected return** = value - cost, with the interval of the value; **return
  on cost** = return / cost.
- A measured saving (the channel report's cheaper-channel what-if) is a value
  at no extra cost; it is a yearly amount.

Profit-based rows (issue 16)
----------------------------
Where the Selection report chose customers by expected incremental profit
(``profit_targets`` product, with its uplift model learned on a randomised
campaign), the plan's targeting row is :func:`profit_rows` instead of
:func:`campaign_rows`: whom = the chosen customers *not* in the holdout (the
holdout is kept out of the contact on purpose, for the next run's
realised-vs-predicted check), their channel mix, cost = their contact and
offer cost, value = predicted profit + cost (the model's expected incremental
value) with the sum of the customers' bootstrap bounds as a cautious interval.
Its evidence clears the bar when, in the cross-fitted (out-of-fold) comparison
on the campaign's own customers, the 95 % interval of what the profit choice
earned per 1,000 customers lies wholly above 0, and so do the paired intervals
of what it earned more than contacting everyone and than the rule's targets
(bootstrap over the campaign's customers; :func:`profit_evidence`). Where
contacting everyone earned at least as much, the page says to contact
everyone rather than a targeted group, and the row stays "to test". Where Expansion chose its look-alikes by the gain
bar (``expansion_bar == "gain"``), :func:`expansion_rows` values them by their
expected gain after cost (``expansion_expected_gain`` and its interval), less
any look-alike already in the profit-selected row (never counted twice).
:func:`build_plan` assembles the rows, :func:`plan_notes` says why a
profit-based row is not there.

Evidence level
--------------
"to do" when the evidence behind the row clears its bar (a randomised uplift
interval wholly above 0, or a measured saving) **and** the whole interval of
the expected return is above 0; every other row is "to test" (the evidence or
the money is not yet clear enough). Rows that read "to do" come first, each
group by expected return.

The hook
--------
:func:`costed_plan` takes any table of proposed actions with the
:data:`PROPOSED_COLUMNS` (value, value_low, value_high, cost, ...) and adds the
return, its interval, the return on cost and the evidence level. The builders
here (:func:`campaign_rows`, :func:`expansion_rows`, :func:`channel_shift_row`)
make such rows from the run's products; other analyses (profit-based targeting)
can hand theirs in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.format import as_number
from ecrm_lib.core.i18n import t
from ecrm_lib.data.tables import isin_text
from ecrm_lib.report.plan_shift import SHIFT_COLUMNS, SHIFT_GENERIC, data_code, shift_channel, shift_whom
from ecrm_lib.seef.rfm import segment_label

__all__ = ["PROPOSED_COLUMNS", "PLAN_COLUMNS", "TO_DO", "TO_TEST", "campaign_effect", "campaign_rows", "plan_display",
           "expansion_rows", "channel_shift_row", "costed_plan", "missing_economics_text", "PROFIT_EVIDENCE_METRICS",
           
           "profit_evidence", "profit_rows",
           "build_plan", "plan_notes"]

TO_DO = "to do"
TO_TEST = "to test"

PROPOSED_COLUMNS = ["action", "segment", "customers", "channel", "value", "value_low", "value_high", "cost",
                    "evidence", "evidence_ok", "basis", "check_next"]
"""Columns of a proposed action: ``action`` (words), ``segment`` (whom), ``customers`` (count, NaN when
not counted), ``channel``, ``value``/``value_low``/``value_high`` (expected incremental value and its
interval, config currency; NaN when not available), ``cost`` (config currency), ``evidence`` (kind, in
words), ``evidence_ok`` (bool: the evidence clears its bar), ``basis`` (how the value was computed, or
why it is not available), ``check_next`` (the figure to check in the next run)."""

PLAN_COLUMNS = PROPOSED_COLUMNS + ["return", "return_low", "return_high", "return_on_cost", "level"]
"""Columns of :func:`costed_plan`: the proposed columns plus ``return`` (value - cost), its interval,
``return_on_cost`` (return / cost; NaN when the cost is 0 or unknown) and ``level`` ("to do" / "to test").
An optional ``action_key`` of the proposed rows (``campaign``, ``expansion``, ``channel_shift``) is kept, and so
are the :data:`~ecrm_lib.report.plan_shift.SHIFT_COLUMNS`: :func:`plan_display` words those actions in the report language."""

MIN_GROUP = 5
"""Smallest group shown as its own row; smaller segments are joined into "other segments"."""


def missing_economics_text(missing: list[str]) -> str:
    """What the plan cannot compute without the config's figures, in words in the report language (empty when
    nothing is missing).

    >>> missing_economics_text(["margin"])
    'not available because the config gives no margin (economics: margin), so the value of extra sales is not computed'
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     missing_economics_text(["offer_cost"])[:20]
    '설정 파일에 혜택 비용(economi'
    """
    parts = []
    if "margin" in missing:
        parts.append(t("plan.missing_margin"))
    if "offer_cost" in missing:
        parts.append(t("plan.missing_offer_cost"))
    return "; ".join(parts)


def campaign_effect(campaign_uplift: pd.DataFrame | None) -> dict[str, float] | None:
    """The randomised campaign's effect behind the plan: the treatment arm with the largest response uplift of the
    campaign assigned last (``assigned_last``, when the product has it: an older campaign does not speak for today).

    Parameters
    ----------
    campaign_uplift : DataFrame or None
        The feedback ``campaign_uplift`` product (``is_control``, ``n``, ``rate``,
        ``uplift``, ``ci_low``, ``ci_high`` in share points, ``revenue_per_account``).

    Returns
    -------
    dict or None
        ``uplift``, ``ci_low``, ``ci_high`` (share points), ``revenue_per_response``
        (treatment revenue per responding account, config currency), ``rate``
        (the treatment arm's response rate) and ``n``;
        None when there is no treatment arm with an uplift.

    Examples
    --------
    >>> cu = pd.DataFrame({"is_control": [True, False], "n": [1576, 1424], "rate": [0.034, 0.06],
    ...                    "uplift": [np.nan, 0.0254], "ci_low": [np.nan, 0.0103], "ci_high": [np.nan, 0.0411],
    ...                    "revenue_per_account": [2000.0, 3847.2]})
    >>> e = campaign_effect(cu)
    >>> round(e["revenue_per_response"]), e["uplift"]
    (64120, 0.0254)
    """
    if campaign_uplift is None or len(campaign_uplift) == 0 or "uplift" not in campaign_uplift.columns:
        return None
    arms = campaign_uplift.loc[~campaign_uplift["is_control"].astype(bool)].copy()
    if "assigned_last" in arms.columns:
        arms = arms.loc[arms["assigned_last"].astype(bool)]
    arms["uplift"] = pd.to_numeric(arms["uplift"], errors="coerce")
    arms = arms.dropna(subset=["uplift"])
    if arms.empty:
        return None
    best = arms.sort_values("uplift", ascending=False).iloc[0]
    rate, per_account = as_number(best.get("rate")), as_number(best.get("revenue_per_account"))
    per_response = per_account / rate if rate and per_account is not None else float("nan")
    return {"uplift": float(best["uplift"]), "ci_low": _finite(best.get("ci_low")), "ci_high": _finite(best.get("ci_high")),
            "revenue_per_response": per_response, "n": as_number(best.get("n")), "rate": rate if rate is not None else float("nan")}


def _mode(values: pd.Series) -> str:
    """The most common channel, with its share when others are used too: ``"app (63%)"``."""
    v = values.dropna().astype(str)
    if not len(v):
        return ""
    counts = v.value_counts()
    top = str(counts.index[0])
    return top if counts.iloc[0] == len(values) else f"{top} ({100 * counts.iloc[0] / len(values):.0f}%)"


def _groups(frame: pd.DataFrame, segment_col: str) -> list[tuple[str, pd.DataFrame]]:
    """Rows of ``frame`` by segment, segments of fewer than :data:`MIN_GROUP` joined into "other segments"."""
    seg = frame[segment_col].astype("string").fillna("no segment") if segment_col in frame.columns else pd.Series(
        "all", index=frame.index, dtype="string")
    sizes = seg.value_counts()
    small = set(sizes[sizes < MIN_GROUP].index)
    seg = seg.where(~seg.isin(small), "other segments")
    order = seg.value_counts().index
    return [(str(s), frame.loc[seg == s]) for s in order]


def _value(n: float, uplift: float, low: float, high: float, per_response: float, margin: float | None):
    if margin is None or not np.isfinite(per_response):
        return float("nan"), float("nan"), float("nan")
    k = n * per_response * margin
    return k * uplift, k * low, k * high


def _cost(costs: pd.Series, offer_cost: float | None, per_response: float | None = None,
          effect: Mapping[str, float] | None = None) -> float:
    """Contacts through each customer's channel, the offer per contact, and the offer per expected responder
    (the treatment arm's response rate) when the config gives a cost per response."""
    known = pd.to_numeric(costs, errors="coerce")
    total = float(known.sum()) + (len(costs) * offer_cost if offer_cost is not None else 0.0)
    if per_response and effect is not None and np.isfinite(effect.get("rate", np.nan)):
        total += len(costs) * effect["rate"] * per_response
    return total


def campaign_rows(
    targets: pd.DataFrame,
    effect: Mapping[str, float] | None,
    *,
    margin: float | None,
    offer_cost: float | None,
    offer_cost_per_response: float | None = None,
    segment_weights: pd.DataFrame | None = None,
    segment_col: str = "segment",
    channel_col: str = "contact_channel",
    cost_col: str = "contact_cost",
) -> pd.DataFrame:
    """Send the campaign's offer to the selected targets, one row per target segment.

    Parameters
    ----------
    targets : DataFrame
        The selection ``targets`` product: one row per target with its segment,
        cheapest channel and that channel's cost per contact (config currency).
    effect : mapping or None
        From :func:`campaign_effect`; None: no campaign was measured, so the value is not available.
    margin, offer_cost, offer_cost_per_response : float or None
        The config's ``economics`` (None: not given); a cost per response is
        paid for the expected responders (treatment response rate).
    segment_weights : DataFrame, optional
        The feedback ``segment_weights`` product (``segment``, ``uplift``,
        ``ci_low``, ``ci_high``): a segment's own randomised uplift where measured.
    segment_col, channel_col, cost_col : str
        Columns of ``targets``.

    Returns
    -------
    DataFrame
        :data:`PROPOSED_COLUMNS`, one row per segment (segments of fewer than 5
        targets joined).
    """
    rows = []
    if targets is None or len(targets) == 0:
        return pd.DataFrame(columns=PROPOSED_COLUMNS)
    own = {}
    if segment_weights is not None and len(segment_weights) and {"segment", "uplift", "ci_low", "ci_high"} <= set(segment_weights.columns):
        for r in segment_weights.itertuples():
            if all(as_number(x) is not None for x in (r.uplift, r.ci_low, r.ci_high)):
                own[str(r.segment)] = (float(r.uplift), float(r.ci_low), float(r.ci_high))
    for seg, part in _groups(targets, segment_col):
        n = len(part)
        if effect is None:
            up = lo = hi = float("nan")
            basis = "not available because no randomised campaign was measured in this run"
            ok = False
        elif seg in own:
            up, lo, hi = own[seg]
            basis = f"segment {seg}'s own response uplift in the last campaign"
            ok = lo > 0
        else:
            up, lo, hi = effect["uplift"], effect["ci_low"], effect["ci_high"]
            basis = "the campaign-wide response uplift (the segment's own was not measured)"
            ok = bool(np.isfinite(lo) and lo > 0)
        per = effect["revenue_per_response"] if effect is not None else float("nan")
        v, vl, vh = _value(n, up, lo, hi, per, margin)
        rows.append({"action": "Send the campaign offer to the selected targets", "action_key": "campaign", "segment": seg,
                     "customers": n,
                     "channel": _mode(part[channel_col]) if channel_col in part.columns else "",
                     "value": v, "value_low": vl, "value_high": vh,
                     "cost": _cost(part[cost_col] if cost_col in part.columns else pd.Series(np.nan, index=part.index),
                                   offer_cost, offer_cost_per_response, effect),
                     "evidence": "randomised test", "evidence_ok": ok, "basis": basis,
                     "check_next": ("response uplift of " + (f"segment {seg}" if seg != "other segments" else "these segments")
                                    + " over a randomised control group (feedback report)")})
    return pd.DataFrame(rows, columns=PROPOSED_COLUMNS + ["action_key"])


def _mix(values: pd.Series) -> str:
    """Every channel with its share of the customers, largest first: ``"email 60%, app 40%"`` (one channel: its name)."""
    v = values.dropna().astype(str)
    if not len(v):
        return ""
    counts = v.value_counts()
    if len(counts) == 1:
        return str(counts.index[0])
    return ", ".join(f"{ch} {100 * k / len(v):.0f}%" for ch, k in counts.items())


def _finite(x: Any) -> float:
    v = as_number(x)
    return float(v) if v is not None and np.isfinite(v) else float("nan")


#: The Selection report's metrics behind :func:`profit_evidence`: figure of
#: :func:`ecrm_lib.seef.profit_eval.comparison_figures` -> metric key (config currency per 1,000 campaign customers).
PROFIT_EVIDENCE_METRICS = {
    **{f"{way}{s}": f"{way}_campaign_per_1000{s.replace('_', '_ci_')}"
       for way in ("profit", "everyone", "rule", "random") for s in ("", "_low", "_high")},
    **{f"over_{way}{s}": f"profit_over_{way}_per_1000{s.replace('_', '_ci_')}"
       for way in ("everyone", "rule") for s in ("", "_low", "_high")},
}


def profit_evidence(selection_metrics: Mapping[str, Any] | None) -> tuple[bool, dict[str, float]]:
    """Whether the profit model's choice cleared its bar in the cross-fitted comparison on the campaign's customers.

    The bar (:func:`ecrm_lib.seef.profit_eval.targeting_verdict` returns ``"target"``): on the campaign's
    own customers, scored out of fold, the 95 % interval of the profit choice's incremental profit
    (``profit_campaign_per_1000_ci_low``) lies wholly above 0, and so do the paired intervals of what it
    earned more than contacting everyone (``profit_over_everyone_per_1000_ci_low``) and, when the rule
    was measured, than the rule's targets (``profit_over_rule_per_1000_ci_low``). The intervals are a
    bootstrap over the campaign's customers (:func:`ecrm_lib.seef.profit_eval.bootstrap_policies`). A
    comparison that was not measured, or has no interval, does not clear it.

    Parameters
    ----------
    selection_metrics : mapping or None
        The Selection report's metrics (config currency per 1,000 customers; :data:`PROFIT_EVIDENCE_METRICS`).

    Returns
    -------
    (bool, dict)
        Whether the bar is cleared, and the figures (``profit``, ``everyone``, ``rule``, ``random`` and
        ``over_everyone``, ``over_rule``, each with ``_low``/``_high``; NaN when not measured) with
        ``verdict`` (``target``, ``everyone``, ``nobody``, ``test``).

    Examples
    --------
    >>> good = {"profit_campaign_per_1000": 52.0, "profit_campaign_per_1000_ci_low": 12.0,
    ...         "everyone_campaign_per_1000": 22.0, "everyone_campaign_per_1000_ci_low": -8.0,
    ...         "profit_over_everyone_per_1000_ci_low": 3.0}
    >>> profit_evidence(good)[0]
    True
    >>> profit_evidence({**good, "profit_over_everyone_per_1000_ci_low": -4.0})[0]  # could be chance
    False
    >>> profit_evidence({"profit_campaign_per_1000": 52.0, "everyone_campaign_per_1000": 22.0})[0]  # no interval
    False
    """
    from ecrm_lib.seef.profit_eval import targeting_verdict

    m = dict(selection_metrics or {})
    f: dict[str, Any] = {k: _finite(m.get(key)) for k, key in PROFIT_EVIDENCE_METRICS.items()}
    f["verdict"] = targeting_verdict(f)
    return f["verdict"] == "target", f


def _interval_sum(part: pd.DataFrame, col: str, add: pd.Series) -> float:
    """Sum of ``col + add`` over the rows; NaN when any row lacks ``col`` (no bound for the total then)."""
    if col not in part.columns:
        return float("nan")
    x = pd.to_numeric(part[col], errors="coerce").astype(float)
    return float((x + add).sum()) if len(x) and x.notna().all() else float("nan")


def profit_rows(profit_targets: pd.DataFrame | None, selection_metrics: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Contact the customers Selection chose by expected incremental profit (``profit_targets``), less the holdout.

    Parameters
    ----------
    profit_targets : DataFrame or None
        The selection ``profit_targets`` product: ``customer_id``, ``channel``, ``cost`` (contact and
        offer, config currency), ``predicted_profit`` with ``predicted_profit_low/high`` (config
        currency), ``holdout`` (True: kept out of the contact on purpose).
    selection_metrics : mapping, optional
        The Selection report's metrics, for the evidence (:func:`profit_evidence`).

    Returns
    -------
    DataFrame
        One row (:data:`PROPOSED_COLUMNS` and ``action_key`` = ``"profit"``): the contacted customers'
        count and channel mix; value = sum of predicted profit + cost (the expected incremental value)
        with the sum of the customers' bounds; cost = their contact and offer cost. No rows when the
        product is missing or empty, or every chosen customer is in the holdout.

    Examples
    --------
    >>> pt = pd.DataFrame({"customer_id": list("abcdef"), "channel": ["email"] * 4 + ["app"] * 2,
    ...                    "cost": [400.0] * 6, "predicted_profit": [900.0, 500.0, 300.0, 100.0, 700.0, 50.0],
    ...                    "predicted_profit_low": [100.0] * 6, "predicted_profit_high": [2000.0] * 6,
    ...                    "holdout": [False, False, False, True, False, False]})
    >>> r = profit_rows(pt).iloc[0]
    >>> int(r["customers"]), r["channel"], float(r["cost"]), float(r["value"] - r["cost"])
    (5, 'email 60%, app 40%', 2000.0, 2450.0)
    """
    cols = {"customer_id", "channel", "cost", "predicted_profit"}
    if profit_targets is None or len(profit_targets) == 0 or not cols <= set(profit_targets.columns):
        return pd.DataFrame(columns=PROPOSED_COLUMNS + ["action_key"])
    hold = profit_targets["holdout"].fillna(False).astype(bool) if "holdout" in profit_targets.columns else False
    part = profit_targets.loc[~hold] if "holdout" in profit_targets.columns else profit_targets
    if part.empty:
        return pd.DataFrame(columns=PROPOSED_COLUMNS + ["action_key"])
    cost = pd.to_numeric(part["cost"], errors="coerce").astype(float)
    ok, _ = profit_evidence(selection_metrics)
    n_hold = int(hold.sum()) if "holdout" in profit_targets.columns else 0
    return _profit_row(part, "predicted_profit", cost, ok, part["channel"], action_key="profit",
                       action="Contact the customers chosen by expected incremental profit",
                       segment="chosen by incremental profit",
                       basis="the Selection report's predicted incremental profit per customer (profit_targets) plus its cost",
                       check_next=f"realised against predicted incremental profit of the contacted customers over the holdout of {n_hold}")


def _profit_row(part: pd.DataFrame, profit_col: str, cost: pd.Series, evidence_ok: bool, channels: pd.Series, *,
                action_key: str, action: str, segment: str, basis: str, check_next: str) -> pd.DataFrame:
    """One proposed action valued from per-customer expected profit (``profit_col`` and its ``_low``/``_high``):
    value = profit + cost, summed over ``part``; the bounds summed likewise (cautious, wide)."""
    row = {"action": action, "action_key": action_key, "segment": segment, "customers": len(part),
           "channel": _mix(channels),
           "value": float((pd.to_numeric(part[profit_col], errors="coerce").astype(float) + cost).sum()),
           "value_low": _interval_sum(part, f"{profit_col}_low", cost),
           "value_high": _interval_sum(part, f"{profit_col}_high", cost),
           "cost": float(cost.sum()),
           "evidence": "uplift model of a randomised campaign, cross-fitted comparison", "evidence_ok": evidence_ok,
           "basis": basis, "check_next": check_next}
    return pd.DataFrame([row], columns=PROPOSED_COLUMNS + ["action_key"])


def _gain_bar(expansion_metrics: Mapping[str, Any] | None) -> bool:
    return str((expansion_metrics or {}).get("expansion_bar")) == "gain"


def expansion_rows(
    lookalikes: pd.DataFrame | None,
    effect: Mapping[str, float] | None,
    *,
    margin: float | None,
    offer_cost: float | None,
    offer_cost_per_response: float | None = None,
    expansion_metrics: Mapping[str, Any] | None = None,
    selection_metrics: Mapping[str, Any] | None = None,
    exclude: Any = None,
) -> pd.DataFrame:
    """Send the offer to the proposed look-alikes (expansion ``lookalikes`` product, ``expanded`` rows).

    Two ways, by the bar that chose them (``expansion_metrics["expansion_bar"]``):

    - ``"gain"`` (campaign history): valued by their expected gain after contact and offer cost
      (the product's ``expected_profit`` and its bounds per customer, whose sums are the metrics
      ``expansion_expected_gain(_low/_high)``); cost = their ``contact_cost + offer_cost``, value =
      gain + cost. The evidence is that of the profit model (:func:`profit_evidence`). Look-alikes in
      ``exclude`` (the customers of the profit-selected row) are left out: never counted twice.
    - otherwise: the campaign-wide uplift, measured on other customers: the evidence never clears the
      bar for them ("to test" until a campaign measures them).

    Parameters
    ----------
    lookalikes : DataFrame or None
    effect : mapping or None
        From :func:`campaign_effect`.
    margin, offer_cost, offer_cost_per_response : float or None
        The config's economics.
    expansion_metrics, selection_metrics : mapping, optional
        The two reports' metrics.
    exclude : iterable of customer ids, optional
        Customers already in another row of the plan.
    """
    empty = pd.DataFrame(columns=PROPOSED_COLUMNS + ["action_key"])
    if lookalikes is None or len(lookalikes) == 0 or "expanded" not in lookalikes.columns:
        return empty
    part = lookalikes.loc[lookalikes["expanded"].astype(bool)]
    if exclude is not None and "customer_id" in part.columns:
        part = part.loc[~isin_text(part["customer_id"], list(map(str, exclude)))]
    if part.empty:
        return empty
    n = len(part)
    gain_cols = {"expected_profit", "contact_cost", "offer_cost"}
    if _gain_bar(expansion_metrics) and gain_cols <= set(part.columns):
        cost_each = (pd.to_numeric(part["contact_cost"], errors="coerce").astype(float)
                     + pd.to_numeric(part["offer_cost"], errors="coerce").astype(float).fillna(0.0))
        ok, _ = profit_evidence(selection_metrics)
        channels = part["profit_channel"] if "profit_channel" in part.columns else part.get("cheapest_channel", pd.Series(dtype=str))
        return _profit_row(part, "expected_profit", cost_each, ok, channels, action_key="expansion_gain",
                           action="Send the campaign offer to the look-alikes with a positive expected gain",
                           segment="look-alikes",
                           basis="the look-alikes' expected gain after cost (Expansion's gain bar, selection profit_scores)",
                           check_next="realised against predicted incremental profit of the contacted look-alikes over a randomised holdout")
    if effect is None:
        v = vl = vh = float("nan")
        basis = "not available because no randomised campaign was measured in this run"
    else:
        v, vl, vh = _value(n, effect["uplift"], effect["ci_low"], effect["ci_high"], effect["revenue_per_response"], margin)
        basis = "the campaign-wide response uplift, measured on other customers"
    row = {"action": "Send the campaign offer to the best-scored look-alikes", "action_key": "expansion",
           "segment": "look-alikes", "customers": n,
           "channel": _mode(part["cheapest_channel"]) if "cheapest_channel" in part.columns else "",
           "value": v, "value_low": vl, "value_high": vh,
           "cost": _cost(part["cheapest_cost"] if "cheapest_cost" in part.columns else pd.Series(np.nan, index=part.index),
                         offer_cost, offer_cost_per_response, effect),
           "evidence": "model prediction and another group's campaign result", "evidence_ok": False, "basis": basis,
           "check_next": "response of the contacted look-alikes over a randomised control group of look-alikes (feedback report)"}
    return pd.DataFrame([row], columns=PROPOSED_COLUMNS + ["action_key"])


def channel_shift_row(saving: Any, whatif: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Move the what-if's contacts to the cheaper channel: a measured yearly saving at no extra cost.

    The row is language-neutral, like every product: ``segment`` is the what-if's contact purpose as
    the data codes it (``"what-if contacts"`` when the what-if names none), ``channel`` reads
    ``"phone -> app"``, and :data:`SHIFT_COLUMNS` keep the share moved (0-1) and the two channels;
    :func:`plan_display` words them in the report language.

    Parameters
    ----------
    saving : float
        The channel report's what-if saving (config currency per year); no row unless it is above 0.
    whatif : mapping, optional
        The channel report's what-if parameters (``whatif_purpose``, ``whatif_from_channel``,
        ``whatif_to_channel``, ``whatif_share`` as a share 0-1).

    Examples
    --------
    >>> r = channel_shift_row(2_400_000, {"whatif_purpose": "order_status", "whatif_from_channel": "phone",
    ...                                   "whatif_to_channel": "app", "whatif_share": 0.3})
    >>> r.loc[0, ["segment", "channel", "shift_source", "shift_target"]].tolist(), float(r.loc[0, "shift_share"])
    (['order_status', 'phone -> app', 'phone', 'app'], 0.3)
    >>> float(r.loc[0, "value"]), float(r.loc[0, "cost"])
    (2400000.0, 0.0)

    The page words it (whom, channels) in its language:

    >>> from ecrm_lib.core.language import using
    >>> plan_display(costed_plan(r)).iloc[0, [1, 3]].tolist()
    ['30% of order status contacts by phone', 'phone to app']
    >>> with using("ko"):
    ...     plan_display(costed_plan(r)).iloc[0, [1, 3]].tolist()
    ['phone 채널의 order status 연락 중 30%', 'phone → app']
    """
    x = as_number(saving)
    if x is None or x <= 0:
        return pd.DataFrame(columns=PROPOSED_COLUMNS)
    w = dict(whatif or {})
    purpose, src, dst = (data_code(w.get(k)) for k in ("whatif_purpose", "whatif_from_channel", "whatif_to_channel"))
    share = as_number(w.get("whatif_share"))
    row = {"action": "Move contacts to the cheaper channel", "action_key": "channel_shift",
           "segment": purpose or SHIFT_GENERIC, "customers": float("nan"),
           "channel": f"{src} -> {dst}" if src and dst else "", "value": x, "value_low": x, "value_high": x, "cost": 0.0,
           "evidence": "measured saving", "evidence_ok": True, "basis": "the channel report's what-if saving per year",
           "check_next": "cost to serve in the channel report's window (channel integration report)",
           "shift_share": float(share) if share is not None else float("nan"), "shift_source": src or None,
           "shift_target": dst or None}
    return pd.DataFrame([row], columns=PROPOSED_COLUMNS + ["action_key"] + SHIFT_COLUMNS)


def costed_plan(proposed: pd.DataFrame) -> pd.DataFrame:
    """The plan: return, its interval, return on cost and the evidence level of each proposed action.

    The hook for any analysis that proposes actions (module docstring).

    Parameters
    ----------
    proposed : DataFrame
        :data:`PROPOSED_COLUMNS` (``customers``, ``channel``, ``basis`` and
        ``check_next`` may be absent; ``evidence_ok`` defaults to False).

    Returns
    -------
    DataFrame
        :data:`PLAN_COLUMNS`, "to do" rows first, each group by expected return
        (largest first; rows without a return last).

    Raises
    ------
    ValueError
        A value, interval or cost column is missing.

    Examples
    --------
    >>> p = pd.DataFrame({"action": ["a", "b"], "segment": ["x", "y"], "value": [500.0, 900.0],
    ...                   "value_low": [200.0, -100.0], "value_high": [800.0, 1900.0], "cost": [100.0, 300.0],
    ...                   "evidence": ["randomised test"] * 2, "evidence_ok": [True, True]})
    >>> costed_plan(p)[["action", "return", "return_low", "return_on_cost", "level"]].values.tolist()
    [['a', 400.0, 100.0, 4.0, 'to do'], ['b', 600.0, -400.0, 2.0, 'to test']]
    """
    need = {"action", "segment", "value", "value_low", "value_high", "cost"}
    missing = sorted(need - set(proposed.columns))
    if missing:
        raise ValueError(f"costed_plan needs the column(s) {missing}; the proposed actions have {list(proposed.columns)}. "
                         f"Give every column of PROPOSED_COLUMNS ({PROPOSED_COLUMNS}).")
    out = proposed.copy()
    for c in PROPOSED_COLUMNS:
        if c not in out.columns:
            out[c] = False if c == "evidence_ok" else (np.nan if c == "customers" else "")
    for c in ("customers", "value", "value_low", "value_high", "cost"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["evidence_ok"] = out["evidence_ok"].fillna(False).astype(bool)
    out["return"] = out["value"] - out["cost"]
    lo = np.fmin(out["value_low"], out["value_high"]) - out["cost"]
    hi = np.fmax(out["value_low"], out["value_high"]) - out["cost"]
    out["return_low"], out["return_high"] = lo, hi
    out["return_on_cost"] = np.where(out["cost"] > 0, out["return"] / out["cost"].where(out["cost"] > 0), np.nan)
    out["level"] = np.where(out["evidence_ok"] & (out["return_low"] > 0), TO_DO, TO_TEST)
    out["_todo"] = out["level"] != TO_DO
    out["_ret"] = -out["return"].fillna(-np.inf)
    out = out.sort_values(["_todo", "_ret"], kind="stable")
    extra = [c for c in ["action_key"] + SHIFT_COLUMNS if c in out.columns]
    return out[PLAN_COLUMNS + extra].reset_index(drop=True)


def build_plan(
    *,
    targets: pd.DataFrame | None,
    lookalikes: pd.DataFrame | None,
    profit_targets: pd.DataFrame | None,
    effect: Mapping[str, float] | None,
    margin: float | None,
    offer_cost: float | None,
    offer_cost_per_response: float | None = None,
    segment_weights: pd.DataFrame | None = None,
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    whatif: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The run's costed plan (:func:`costed_plan`) from its products and metrics, words in the current language.

    The targeting row is :func:`profit_rows` where Selection chose customers by incremental profit,
    else :func:`campaign_rows` over the rule's targets (one row per segment); then the look-alikes
    (:func:`expansion_rows`; those already chosen by profit, holdout included, are left out so that
    nobody is counted twice and the holdout stays uncontacted) and the channel what-if's saving
    (:func:`channel_shift_row`).

    Parameters
    ----------
    targets, lookalikes, profit_targets : DataFrame or None
        The selection ``targets``, expansion ``lookalikes`` and selection ``profit_targets`` products.
    effect : mapping or None
        :func:`campaign_effect` of the feedback ``campaign_uplift`` product.
    margin, offer_cost, offer_cost_per_response : float or None
        The config's economics.
    segment_weights : DataFrame, optional
        The feedback ``segment_weights`` product.
    metrics : mapping, optional
        ``{notebook: {key: value}}`` of this run (selection, expansion, channel_integration are read).
    whatif : mapping, optional
        The channel report's what-if parameters.
    """
    m = dict(metrics or {})
    sel, exp = m.get("selection") or {}, m.get("expansion") or {}
    prof = profit_rows(profit_targets, sel)
    if len(prof):
        first, chosen = prof, profit_targets["customer_id"]
    else:
        first, chosen = campaign_rows(targets, effect, margin=margin, offer_cost=offer_cost,
                                      offer_cost_per_response=offer_cost_per_response, segment_weights=segment_weights), None
    parts = [first,
             expansion_rows(lookalikes, effect, margin=margin, offer_cost=offer_cost, offer_cost_per_response=offer_cost_per_response,
                            expansion_metrics=exp, selection_metrics=sel, exclude=chosen),
             channel_shift_row((m.get("channel_integration") or {}).get("whatif_saving"), whatif)]
    parts = [p for p in parts if len(p)]
    return costed_plan(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PROPOSED_COLUMNS))


def plan_notes(costed: pd.DataFrame, *, profit_targets: pd.DataFrame | None = None, lookalikes: pd.DataFrame | None = None,
               metrics: Mapping[str, Mapping[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """What the page says about the plan's profit-based rows: how they were valued, or why they are not there.

    Parameters
    ----------
    costed : DataFrame
        :func:`build_plan`'s plan.
    profit_targets, lookalikes : DataFrame or None
        The selection ``profit_targets`` and expansion ``lookalikes`` products.
    metrics : mapping, optional
        ``{notebook: {key: value}}`` of this run.

    Returns
    -------
    list of (str, dict)
        Catalogue keys (``plan.*``) and their values for :func:`ecrm_lib.report.display.say`
        (counts of people as callables worded per language by :func:`ecrm_lib.core.privacy.people_text`).
    """
    from ecrm_lib.core.privacy import people_text

    m = dict(metrics or {})
    sel, exp = m.get("selection") or {}, m.get("expansion") or {}
    keys = set(costed["action_key"].dropna()) if "action_key" in costed.columns else set()
    notes: list[tuple[str, dict[str, Any]]] = []
    if "profit" in keys:
        ok, f = profit_evidence(sel)
        n_hold = int(profit_targets["holdout"].fillna(False).astype(bool).sum()) if (
            profit_targets is not None and "holdout" in profit_targets.columns) else 0
        notes.append(("plan.profit_row", {"h": (lambda: people_text(n_hold))}))
        need = ("profit", "profit_low", "profit_high", "over_everyone", "over_everyone_low", "over_everyone_high")
        if all(np.isfinite(f[k]) for k in need):
            rule = ((lambda: t("plan.profit.vs_rule_ci", r=f["over_rule"], rl=f["over_rule_low"], rh=f["over_rule_high"]))
                    if np.isfinite(f["rule"]) and np.isfinite(f["over_rule_low"]) else "")
            notes.append(("plan.profit.evidence_ci", {"p": f["profit"], "pl": f["profit_low"], "ph": f["profit_high"],
                                                      "d": f["over_everyone"], "dl": f["over_everyone_low"],
                                                      "dh": f["over_everyone_high"], "rule": rule,
                                                      "verdict": (lambda: t(f"plan.profit.verdict.{f['verdict']}"))}))
        else:
            notes.append(("plan.profit_no_comparison", {}))
    elif (sel.get("profit_n_targets") is None) and (costed is not None and "campaign" in keys):
        notes.append(("plan.profit_not_available", {}))
    if lookalikes is not None and len(lookalikes) and "expanded" in lookalikes.columns:
        expanded = lookalikes.loc[lookalikes["expanded"].astype(bool)]
        if _gain_bar(exp) and "profit" in keys and profit_targets is not None and "customer_id" in expanded.columns:
            k = int(isin_text(expanded["customer_id"], profit_targets["customer_id"]).sum())
            if k:
                notes.append(("plan.expansion_in_profit", {"k": (lambda: people_text(k)),
                                                           "n": (lambda: people_text(len(expanded)))}))
        elif not _gain_bar(exp) and len(expanded):
            notes.append(("plan.expansion_no_gain", {}))
    return notes


def _money_interval(x: float, lo: float, hi: float, currency: str) -> str:
    from ecrm_lib.core.format import format_money, not_available

    if not np.isfinite(x):
        return not_available()
    text = format_money(x, currency)
    if np.isfinite(lo) and np.isfinite(hi) and not (lo == x == hi):
        text += f" ({format_money(lo, currency)} ~ {format_money(hi, currency)})"
    return text


def plan_display(plan: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The plan as the page shows it: human column labels (report language), money with its currency and
    interval, counts as integers, the return on cost in %.

    Parameters
    ----------
    plan : DataFrame
        From :func:`costed_plan`.
    currency : str
        The config currency.

    Returns
    -------
    DataFrame
        Text cells, one row per action, columns labelled for the reader.
    """
    from ecrm_lib.core.format import format_count, format_money, format_share, not_available
    from ecrm_lib.core.i18n import t
    from ecrm_lib.core.privacy import count_label

    def key(r) -> str:
        k = r.get("action_key")
        return k if isinstance(k, str) and k in ("campaign", "expansion", "expansion_gain", "channel_shift", "profit") else ""

    def whom(r) -> str:
        fixed = {"look-alikes": "plan.whom_lookalikes", "other segments": "plan.whom_other",
                 "no segment": "plan.whom_no_segment", "all": "plan.whom_all", "chosen by incremental profit": "plan.whom_profit"}
        if key(r) and r.segment in fixed:
            return t(fixed[r.segment])
        if key(r) == "channel_shift":
            return shift_whom(r)
        # a campaign row's segment: a shipped RFM segment's name in the report language, the user's as written
        return segment_label(r.segment) if key(r) == "campaign" else r.segment

    def check(r) -> str:
        if not key(r):
            return r.check_next
        if key(r) == "campaign":
            return t("plan.check_campaign", segment=whom(r))
        return t(f"plan.check_{key(r)}")

    rows = []
    for _, r in plan.iterrows():
        rows.append({
            t("plan.col_action"): t(f"plan.action_{key(r)}") if key(r) else r.action,
            t("plan.col_whom"): whom(r),
            t("plan.col_customers"): (count_label(r.customers) if 0 < (as_number(r.customers) or 0) < MIN_GROUP
                                      else format_count(r.customers)),  # a count of 1-4 people reads <5
            t("plan.col_channel"): (shift_channel(r) if key(r) == "channel_shift" else r.channel) or not_available(),
            t("plan.col_value"): _money_interval(r.value, r.value_low, r.value_high, currency),
            t("plan.col_cost"): format_money(r.cost, currency),
            t("plan.col_return"): _money_interval(r["return"], r.return_low, r.return_high, currency),
            t("plan.col_return_on_cost"): format_share(r.return_on_cost, 0),
            t("plan.col_level"): t("plan.level_to_do") if r.level == TO_DO else t("plan.level_to_test"),
            t("plan.col_check"): check(r),
        })
    return pd.DataFrame(rows)

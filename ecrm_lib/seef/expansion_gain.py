"""SEEF 3 by expected gain after cost: look-alikes proposed only where contacting them is expected to pay.

The look-alike list (:func:`ecrm_lib.seef.expansion.expansion_list`) ranks the
non-targets by how much they resemble the targets and applies the *value bar*:
a look-alike is proposed when their CLV is at least one contact through their
cheapest channel. CLV is the value at stake, not what a contact adds: a loyal
customer buys whether or not they are contacted. Where the data holds a
randomised campaign, the Selection report scores every customer's **expected
incremental profit** (product ``selection/profit_scores``: the margin on the
revenue a contact adds, minus the contact's cost through the customer's
channel and the offer's cost; :mod:`ecrm_lib.seef.profit_select`). The *gain
bar* proposes a look-alike only when that expected profit is above zero; the
look-alike score still ranks them.

- :func:`gain_bar_reason`: why the gain bar is not available (a catalogue key), or None;
- :func:`apply_gain_bar`: the list with each look-alike's expected profit,
  the gain bar's proposal, what the bar left out and the comparison with the
  value bar's proposal.

Examples
--------
>>> gain_bar_reason(None), gain_bar_reason(pd.DataFrame(columns=["customer_id", "expected_profit"]))
('expansion.gain_missing', 'expansion.gain_empty')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GAIN_COLUMNS", "GainBar", "apply_gain_bar", "gain_bar_reason"]

GAIN_COLUMNS = ("expected_profit", "expected_profit_low", "expected_profit_high", "profit_channel", "incremental_value",
                "contact_cost", "offer_cost")
"""Columns :func:`apply_gain_bar` adds to the look-alike list (currency, except the channel)."""


def gain_bar_reason(profit_scores: pd.DataFrame | None) -> str | None:
    """Why the gain bar cannot be applied, as a catalogue key, or None when it can.

    Parameters
    ----------
    profit_scores : DataFrame or None
        The Selection report's ``profit_scores`` product (None: not written in this run).

    Returns
    -------
    str or None
        ``expansion.gain_missing`` (no product: no campaign history reached
        the Selection report), ``expansion.gain_empty`` (the product has no
        scored customer: the campaign could not be modelled, or costs or
        margin are missing), ``expansion.gain_no_column`` (no
        ``expected_profit`` column), or None.

    Examples
    --------
    >>> gain_bar_reason(pd.DataFrame({"customer_id": ["a"], "expected_profit": [1.0]})) is None
    True
    >>> gain_bar_reason(pd.DataFrame({"customer_id": ["a"], "expected_profit": [np.nan]}))
    'expansion.gain_empty'
    >>> gain_bar_reason(pd.DataFrame({"customer_id": ["a"]}))
    'expansion.gain_no_column'
    """
    if profit_scores is None:
        return "expansion.gain_missing"
    if "expected_profit" not in profit_scores.columns:
        return "expansion.gain_no_column" if len(profit_scores) else "expansion.gain_empty"
    if not profit_scores["expected_profit"].astype(float).notna().any():
        return "expansion.gain_empty"
    return None


@dataclass
class GainBar:
    """What :func:`apply_gain_bar` returns.

    Attributes
    ----------
    lookalikes : DataFrame
        The look-alike list with :data:`GAIN_COLUMNS` added, ``gain_positive``
        (expected profit known and above 0), ``expanded`` (the gain bar's
        proposal: the first ``n_expand`` look-alikes by rank with a positive
        expected profit) and ``expanded_value_bar`` (the value bar's proposal,
        the list's ``expanded`` before, kept for the comparison); by rank.
    summary : dict
        ``proposed`` (customers), ``left_out`` (look-alikes the model ranked
        within the proposal whose expected profit is not above 0: the
        next-best took their places), ``not_positive`` (all look-alikes whose
        expected profit is 0 or less), ``unscored`` (look-alikes without an
        expected profit: never proposed), ``gain``, ``gain_low``,
        ``gain_high`` (the proposal's expected profit and the sum of the
        per-customer bounds, currency; NaN bounds when the scores have none),
        ``value_bar_gain`` (expected profit of the value bar's proposal),
        ``value_bar_not_positive`` (customers of the value bar's proposal
        whose expected profit is not above 0), ``overlap`` (customers in both
        proposals).
    comparison : DataFrame
        One row per bar (``bar``: ``"gain"``, ``"value"``): ``customers``,
        ``clv``, ``incremental_value`` (before costs), ``cost`` (one contact
        each through the channel of the profit scores plus the offer),
        ``expected_profit``, ``expected_profit_low``, ``expected_profit_high``
        (currency; a sum is NaN when one of its customers' figures is
        unknown, the expected profit counts unknown as 0), ``not_positive``
        (customers whose expected profit is 0 or less or unknown).
    """

    lookalikes: pd.DataFrame
    summary: dict
    comparison: pd.DataFrame


def _sum(s: pd.Series) -> float:
    return float(s.astype(float).sum()) if len(s) else 0.0


def _bound(part: pd.DataFrame, col: str) -> float:
    """Sum of a per-customer bound; NaN when any proposed customer's bound is unknown."""
    v = part[col].astype(float)
    return float(v.sum()) if len(v) == 0 or v.notna().all() else float("nan")


def apply_gain_bar(lookalikes: pd.DataFrame, profit_scores: pd.DataFrame, n_expand: int) -> GainBar:
    """Propose the best-ranked look-alikes whose expected gain after cost is positive.

    A look-alike is proposed only when their expected incremental profit
    (``expected_profit`` of ``profit_scores``: incremental value minus contact
    and offer cost) is above 0; a look-alike without a score is not proposed
    (an unknown gain is not a positive one). The look-alike score still
    ranks them: the proposal is the first ``n_expand`` look-alikes by
    ``rank`` that clear the bar. The proposal's interval adds up each
    customer's own bounds (``expected_profit_low/high`` when the scores have
    them): a cautious, wide range, since per-customer errors partly cancel in
    a sum.

    Parameters
    ----------
    lookalikes : DataFrame
        :func:`ecrm_lib.seef.expansion.expansion_list` output (``customer_id``,
        ``rank``, ``expanded`` under the value bar, ``clv``, ``cheapest_cost``).
    profit_scores : DataFrame
        One row per customer: ``customer_id``, ``expected_profit`` (currency);
        optional ``expected_profit_low``, ``expected_profit_high``,
        ``channel`` (the channel the profit is computed for),
        ``incremental_value`` (currency, before costs), ``contact_cost`` and
        ``offer_cost`` (currency): the ``profit_scores`` product of
        :mod:`ecrm_lib.seef.profit_select`.
    n_expand : int
        Size of the proposed expansion (customers).

    Returns
    -------
    GainBar

    Raises
    ------
    ValueError
        ``profit_scores`` without ``customer_id`` or ``expected_profit``, or
        with a customer twice; ``n_expand`` below 0.

    Examples
    --------
    >>> la = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "rank": [1, 2, 3, 4],
    ...                    "expanded": [True, True, False, False], "clv": [900.0, 50.0, 400.0, 80.0],
    ...                    "cheapest_cost": [100.0, 10.0, 10.0, 10.0]})
    >>> ps = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "expected_profit": [-20.0, 5.0, 30.0, 0.0],
    ...                    "expected_profit_low": [-60.0, -1.0, 10.0, -5.0], "expected_profit_high": [10.0, 9.0, 50.0, 5.0],
    ...                    "channel": ["store", "app", "app", "email"]})
    >>> g = apply_gain_bar(la, ps, 2)
    >>> g.lookalikes[["customer_id", "expanded", "expanded_value_bar", "gain_positive"]].to_numpy().tolist()
    [['a', False, True, False], ['b', True, True, True], ['c', True, False, True], ['d', False, False, False]]
    >>> {k: g.summary[k] for k in ("proposed", "left_out", "not_positive", "gain", "gain_low", "gain_high")}
    {'proposed': 2, 'left_out': 1, 'not_positive': 2, 'gain': 35.0, 'gain_low': 9.0, 'gain_high': 59.0}
    >>> g.comparison[["bar", "customers", "expected_profit", "not_positive"]].to_numpy().tolist()
    [['gain', 2, 35.0, 0], ['value', 2, -15.0, 1]]
    """
    if n_expand < 0:
        raise ValueError(f"n_expand must be >= 0, but {n_expand} was passed.")
    missing = [c for c in ("customer_id", "expected_profit") if c not in profit_scores.columns]
    if missing:
        raise ValueError(f"profit_scores has no column(s) {missing}; it needs one row per customer with customer_id and "
                         "expected_profit (the Selection report's profit_scores product).")
    if profit_scores["customer_id"].duplicated().any():
        raise ValueError("profit_scores has a customer twice; it needs one row per customer (their best channel).")
    ps = pd.DataFrame({"customer_id": profit_scores["customer_id"].to_numpy()})
    for col in ("expected_profit", "expected_profit_low", "expected_profit_high", "incremental_value", "contact_cost", "offer_cost"):
        ps[col] = profit_scores[col].astype(float).to_numpy() if col in profit_scores.columns else np.nan
    ps["profit_channel"] = profit_scores["channel"].to_numpy() if "channel" in profit_scores.columns else pd.NA
    base = lookalikes.drop(columns=[c for c in (*GAIN_COLUMNS, "gain_positive") if c in lookalikes])
    if "expanded_value_bar" in base:  # a list the bar was applied to already: its value bar's proposal stays
        base = base.drop(columns=[c for c in ("expanded",) if c in base]).rename(columns={"expanded_value_bar": "expanded"})
    lst = base.sort_values("rank", kind="stable").merge(ps, on="customer_id", how="left").reset_index(drop=True)
    value_bar = lst["expanded"].astype(bool).to_numpy() if "expanded" in lst else np.zeros(len(lst), dtype=bool)
    profit = lst["expected_profit"].astype(float).to_numpy()
    positive = np.isfinite(profit) & (profit > 0)
    proposed = positive & (np.cumsum(positive) <= int(n_expand))
    lst["gain_positive"] = positive
    lst["expanded_value_bar"] = value_bar
    lst["expanded"] = proposed
    last = int(np.flatnonzero(proposed)[-1]) if proposed.any() else -1
    left_out = int((~positive[: last + 1]).sum())
    part, vpart = lst.loc[proposed], lst.loc[value_bar]

    def row(bar: str, p: pd.DataFrame) -> dict:
        pr = p["expected_profit"].astype(float)
        return {"bar": bar, "customers": len(p),
                "clv": _sum(p["clv"]) if "clv" in p else np.nan,
                "incremental_value": _bound(p, "incremental_value"),
                "cost": _bound(p.assign(cost=p["contact_cost"] + p["offer_cost"].fillna(0)), "cost"),
                "expected_profit": float(pr.fillna(0).sum()),
                "expected_profit_low": _bound(p, "expected_profit_low"),
                "expected_profit_high": _bound(p, "expected_profit_high"),
                "not_positive": int((~(pr > 0)).sum())}

    comparison = pd.DataFrame([row("gain", part), row("value", vpart)])
    g, v = comparison.iloc[0], comparison.iloc[1]
    summary = {"proposed": int(proposed.sum()), "left_out": left_out, "not_positive": int((~positive).sum() - np.isnan(profit).sum()),
               "unscored": int(np.isnan(profit).sum()), "gain": float(g["expected_profit"]),
               "gain_low": float(g["expected_profit_low"]), "gain_high": float(g["expected_profit_high"]),
               "value_bar_gain": float(v["expected_profit"]), "value_bar_not_positive": int(v["not_positive"]),
               "overlap": int((proposed & value_bar).sum())}
    return GainBar(lst, summary, comparison)

"""Reaching a customer: channel costs, each customer's cheapest and typical channel, and the value bar.

Shared by the three SEEF steps (:mod:`ecrm_lib.seef.selection`,
:mod:`ecrm_lib.seef.evaluation`, :mod:`ecrm_lib.seef.expansion`). Everything
works on the per-customer table (``customer_id`` and the channel share
columns ``share_purchases_<channel>`` / ``share_contacts_<channel>`` of the
``customer_channels`` product) and the canonical ``channel_costs`` table
(``channel``, ``purpose``, ``cost_per_contact`` in the config currency).

- :func:`channel_cost_table`: the cost of one contact per channel (for a purpose).
- :func:`cheapest_channel`, :func:`typical_channel`, :func:`contact_plan`:
  per customer, the cheapest priced channel that reaches them and the one
  they use most, with the cost of one contact in each.
- :func:`contact_plan_mix`: the cheapest-channel mix of a group (customers and
  cost per channel, small cells suppressed). Not to be confused with
  :func:`ecrm_lib.channels.integration.channel_mix`, the mix of purchases and
  contacts per channel.
- The value bar (:func:`value_bar`, :func:`below_contact_cost`,
  :func:`value_bar_text`): a customer is proposed only when their CLV is at
  least ``min_value_over_contact_cost`` (1 unless the rule sets it) times the
  cost of one contact through their cheapest channel.

Examples
--------
>>> c = pd.DataFrame({"customer_id": ["a"], "share_contacts_phone": [0.8], "share_contacts_email": [0.2]})
>>> costs = pd.DataFrame({"channel": ["phone", "email"], "cost_per_contact": [6000, 150]})
>>> contact_plan(c, costs)[["cheapest_channel", "cheapest_cost", "typical_channel"]].to_numpy().tolist()
[['email', 150.0, 'phone']]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core import i18n
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.privacy import suppress_small_cells

__all__ = [
    "VALUE_BAR_KEY",
    "DEFAULT_VALUE_BAR",
    "value_bar",
    "below_contact_cost",
    "value_bar_text",
    "channel_cost_table",
    "cheapest_channel",
    "typical_channel",
    "contact_plan",
    "contact_plan_mix",
]

VALUE_BAR_KEY = "min_value_over_contact_cost"
"""Rule key of the value bar (see :func:`value_bar`)."""

DEFAULT_VALUE_BAR = 1.0
"""The value bar when the rule does not set it: CLV at least the cost of one contact."""



def value_bar(rule: Mapping | None) -> float | None:
    """The rule's value bar: how many contacts' worth of CLV a customer must have to be proposed.

    A customer is proposed (selected, or added as a look-alike) only when
    their CLV, the value at stake over the CLV horizon, is at least this many
    times the cost of one contact through the cheapest channel that reaches
    them. Without ``min_value_over_contact_cost`` in the rule the bar is
    :data:`DEFAULT_VALUE_BAR` (1: worth at least one contact); null or 0
    switches it off, which the reports then say.

    Returns
    -------
    float or None
        The bar (contacts, > 0), or None when the rule switches it off.

    Raises
    ------
    ConfigError
        A value that is not a number >= 0 or null.

    Examples
    --------
    >>> value_bar({"clv_min": 0}), value_bar({"min_value_over_contact_cost": 2}), value_bar({"min_value_over_contact_cost": None})
    (1.0, 2.0, None)
    """
    if not rule or VALUE_BAR_KEY not in rule:
        return DEFAULT_VALUE_BAR
    v = rule[VALUE_BAR_KEY]
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(float(v)) or v < 0:
        raise ConfigError(f"rule {VALUE_BAR_KEY}={v!r}; give a number of contacts >= 0 (1: CLV at least the cost of one "
                          "contact through the cheapest channel), or null to let in customers worth less than a contact.")
    return float(v) if v > 0 else None


def below_contact_cost(clv, contact_cost, bar: float | None) -> np.ndarray:
    """Where a customer is worth less than the bar: ``clv < bar * contact_cost``, both known.

    Parameters
    ----------
    clv : array-like
        CLV per customer (currency).
    contact_cost : array-like
        Cost of one contact through the customer's cheapest channel
        (currency; NaN when no priced channel reaches them).
    bar : float or None
        :func:`value_bar`; None: nobody is below (the bar is off).

    Returns
    -------
    ndarray of bool
        A customer whose CLV or contact cost is unknown is not below: the bar
        cannot be checked for them (callers count them apart).

    Examples
    --------
    >>> below_contact_cost([1870.0, 1870.0, np.nan, 0.0], [6000.0, 150.0, 60.0, np.nan], 1.0).tolist()
    [True, False, False, False]
    """
    v = np.asarray(clv, dtype=float)
    c = np.asarray(contact_cost, dtype=float)
    if bar is None:
        return np.zeros(len(v), dtype=bool)
    return ~np.isnan(v) & ~np.isnan(c) & (v < bar * c)


def value_bar_text(bar: float | None) -> str:
    """The bar in words, for reasons and report prose, in the current report language (``selection.value_bar.*``).

    >>> value_bar_text(1.0), value_bar_text(2.5), value_bar_text(None)
    ('the cost of one contact', '2.5 times the cost of one contact', 'off')
    """
    if bar is None:
        return i18n.t("selection.value_bar.off")
    return i18n.t("selection.value_bar.one") if bar == 1 else i18n.t("selection.value_bar.times", x=f"{bar:g}")


def cheapest_channel(
    customers: pd.DataFrame,
    channel_costs: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    share_prefixes: Sequence[str] = ("share_purchases_", "share_contacts_"),
    min_share: float = 0.0,
    purpose: str | None = None,
) -> pd.DataFrame:
    """Cheapest channel through which each customer is reachable.

    A customer is reachable through a channel when any of their share columns
    for it (``share_purchases_<channel>``, ``share_contacts_<channel>``) is
    above ``min_share``. The cost per contact comes from ``channel_costs``
    (``channel``, ``purpose``, ``cost_per_contact``): the row for ``purpose``
    when given and present, else the general row (empty purpose). Channels
    without a cost are not considered. Ties go to the channel name first in
    alphabetical order.

    Returns
    -------
    DataFrame
        ``customer_id``, ``channel`` (NA when no priced channel reaches the
        customer), ``cost_per_contact`` (currency), ``reachable_channels``
        (comma-separated, priced ones, cheapest first).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "share_purchases_store": [1.0, 0.0],
    ...                   "share_contacts_email": [0.5, 0.0], "share_contacts_phone": [0.5, 1.0]})
    >>> costs = pd.DataFrame({"channel": ["store", "email", "phone"], "purpose": [None, None, None],
    ...                       "cost_per_contact": [12000, 150, 6000]})
    >>> cheapest_channel(c, costs)[["channel", "cost_per_contact"]].to_numpy().tolist()
    [['email', 150.0], ['phone', 6000.0]]
    """
    cost = channel_cost_table(channel_costs, purpose)
    reach: dict[str, np.ndarray] = {}
    for c in customers.columns:
        for p in share_prefixes:
            if str(c).startswith(p):
                ch = str(c)[len(p):].lower()
                m = (customers[c].astype(float) > min_share).fillna(False).to_numpy()
                reach[ch] = reach.get(ch, np.zeros(len(customers), bool)) | m
    priced = sorted((ch for ch in reach if ch in cost.index), key=lambda ch: (cost[ch], ch))
    n = len(customers)
    best = np.full(n, None, dtype=object)
    best_cost = np.full(n, np.nan)
    lists = np.full(n, "", dtype=object)
    for ch in priced:  # cheapest first
        m = reach[ch]
        new = m & pd.isna(best)
        best[new] = ch
        best_cost[new] = cost[ch]
        lists[m] = np.where(lists[m] == "", ch, lists[m] + ", " + ch)
    return pd.DataFrame({
        "customer_id": customers[id_col].to_numpy(),
        "channel": pd.array(best, dtype="string"),
        "cost_per_contact": best_cost,
        "reachable_channels": pd.array(lists, dtype="string"),
    })




def typical_channel(
    customers: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    share_prefixes: Sequence[str] = ("share_contacts_", "share_purchases_"),
) -> pd.DataFrame:
    """Each customer's typical channel: the one with the largest share of their contacts, else of their purchases.

    The first prefix with any positive share wins (contacts before purchases
    by default); ties go to the channel name first in alphabetical order.

    Returns
    -------
    DataFrame
        ``customer_id``, ``typical_channel`` (NA when no share is positive),
        ``typical_share`` (0-1).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "share_contacts_phone": [0.7, 0.0],
    ...                   "share_contacts_email": [0.3, 0.0], "share_purchases_web": [1.0, 1.0]})
    >>> typical_channel(c)["typical_channel"].tolist()
    ['phone', 'web']
    """
    n = len(customers)
    best = np.full(n, None, dtype=object)
    best_share = np.full(n, np.nan)
    for prefix in share_prefixes:
        cols = sorted(c for c in customers.columns if str(c).startswith(prefix))
        if not cols:
            continue
        M = customers[cols].astype(float).fillna(0.0).to_numpy()
        idx = M.argmax(axis=1)  # first maximum: alphabetical tie-break
        top = M[np.arange(n), idx]
        new = pd.isna(best) & (top > 0)
        names = np.array([c[len(prefix):].lower() for c in cols], dtype=object)
        best[new] = names[idx[new]]
        best_share[new] = top[new]
    return pd.DataFrame({"customer_id": customers[id_col].to_numpy(),
                         "typical_channel": pd.array(best, dtype="string"), "typical_share": best_share})


def channel_cost_table(channel_costs: pd.DataFrame, purpose: str | None = None) -> pd.Series:
    """Cost of one contact per channel (currency), for ``purpose`` where the table prices it, else the general row.

    Channel names are compared trimmed and in lower case; the general row of a
    channel is the one with an empty ``purpose`` (or the table has no
    ``purpose`` column).

    Raises
    ------
    ValueError
        The table lacks ``channel`` or ``cost_per_contact``.

    Examples
    --------
    >>> costs = pd.DataFrame({"channel": ["Phone", "phone", "email"], "purpose": [None, "complaint", None],
    ...                       "cost_per_contact": [6000, 8000, 150]})
    >>> channel_cost_table(costs, "complaint").sort_index().to_dict()
    {'email': 150.0, 'phone': 8000.0}
    """
    for col in ("channel", "cost_per_contact"):
        if col not in channel_costs:
            raise ValueError(f"channel_costs needs a {col!r} column; it has {list(channel_costs.columns)}.")
    cc = channel_costs.copy()
    cc["channel"] = cc["channel"].astype("string").str.strip().str.lower()
    purp = cc["purpose"].astype("string").str.strip().fillna("") if "purpose" in cc else pd.Series("", index=cc.index)
    cost = cc.loc[purp == ""].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
    if purpose is not None:
        specific = cc.loc[purp == purpose].drop_duplicates("channel").set_index("channel")["cost_per_contact"].astype(float)
        cost = specific.combine_first(cost)
    return cost


def contact_plan(
    customers: pd.DataFrame,
    channel_costs: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    purpose: str | None = None,
    min_share: float = 0.0,
) -> pd.DataFrame:
    """Per customer: the cheapest channel that reaches them and their typical channel, with the cost of one contact in each.

    Combines :func:`cheapest_channel` and :func:`typical_channel`; the costs
    come from ``channel_costs`` (``cost_per_contact``, config currency; the
    row for ``purpose`` when given, else the general one).

    Returns
    -------
    DataFrame
        ``customer_id``, ``cheapest_channel``, ``cheapest_cost``,
        ``typical_channel``, ``typical_cost`` (NaN when that channel has no
        price), ``saving`` (typical minus cheapest cost per contact; NaN when
        either is unknown), ``reachable_channels``.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "share_contacts_phone": [0.8], "share_contacts_email": [0.2]})
    >>> costs = pd.DataFrame({"channel": ["phone", "email"], "cost_per_contact": [6000, 150]})
    >>> contact_plan(c, costs)[["cheapest_channel", "typical_channel", "saving"]].to_numpy().tolist()
    [['email', 'phone', 5850.0]]
    """
    ch = cheapest_channel(customers, channel_costs, id_col=id_col, purpose=purpose, min_share=min_share)
    ty = typical_channel(customers, id_col=id_col)
    cost = channel_cost_table(channel_costs, purpose)
    out = pd.DataFrame({
        "customer_id": ch["customer_id"],
        "cheapest_channel": ch["channel"],
        "cheapest_cost": ch["cost_per_contact"],
        "typical_channel": ty["typical_channel"].to_numpy(),
    })
    out["typical_cost"] = out["typical_channel"].map(lambda c: cost.get(c, np.nan) if isinstance(c, str) else np.nan).astype(float)
    out["saving"] = out["typical_cost"] - out["cheapest_cost"]
    out["reachable_channels"] = ch["reachable_channels"].array  # text (a Python object per customer at 10M is ~0.7 GB)
    return out


def contact_plan_mix(plan: pd.DataFrame, *, min_count: int = 5) -> pd.DataFrame:
    """The cheapest-channel mix of a group: customers and cost per channel, small cells suppressed.

    The channels through which a group is cheapest to reach (from a
    :func:`contact_plan`), not the mix of purchases or contacts per channel
    (:func:`ecrm_lib.channels.integration.channel_mix`).

    Parameters
    ----------
    plan : DataFrame
        From :func:`contact_plan` (the rows of the group).
    min_count : int
        Rows describing fewer customers are blanked (``suppressed`` True).

    Returns
    -------
    DataFrame
        ``channel`` (``unreachable`` when no priced channel reaches them),
        ``customers``, ``share`` (0-1), ``cost_per_contact``,
        ``cost_cheapest`` (one contact each through this channel),
        ``cost_typical`` (one contact each through their typical channel;
        NaN when a typical channel has no price), ``suppressed``; sorted
        by customers, largest first.

    Examples
    --------
    >>> plan = pd.DataFrame({"customer_id": list("abcdef"), "cheapest_channel": ["app"] * 5 + [None],
    ...                      "cheapest_cost": [10.0] * 5 + [np.nan], "typical_cost": [20.0] * 6})
    >>> contact_plan_mix(plan)[["channel", "customers", "cost_cheapest", "suppressed"]].to_numpy().tolist()
    [['app', 5, 50.0, False], ['unreachable', <NA>, nan, True]]
    """
    p = plan.assign(channel=plan["cheapest_channel"].astype("string").fillna("unreachable"))
    g = p.groupby("channel", sort=False).agg(
        customers=("customer_id", "size"), cost_per_contact=("cheapest_cost", "first"),
        cost_cheapest=("cheapest_cost", "sum"),
        cost_typical=("typical_cost", lambda s: float(s.sum()) if s.notna().all() else np.nan))
    g = g.reset_index().sort_values(["customers", "channel"], ascending=[False, True], kind="stable").reset_index(drop=True)
    g["share"] = g["customers"] / max(len(p), 1)
    g = g[["channel", "customers", "share", "cost_per_contact", "cost_cheapest", "cost_typical"]]
    return suppress_small_cells(g, "customers", min_count=min_count)



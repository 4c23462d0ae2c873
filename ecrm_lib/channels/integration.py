"""Channel integration: what joining channel accounts into customers changes,
and what each channel carries, costs and reaches.

A company knows one person under a store card, a call-centre record, a
catalogue number, an e-mail subscription, a web login and an app install.
Once :func:`ecrm_lib.channels.identity.resolve_identities` has mapped every account to
a pseudonymous ``customer_id`` (its ``account_map``), this module answers the
questions a strategy team asks about channels:

- **value of integration** (:func:`integration_summary`,
  :func:`integration_comparison`, :func:`purchase_count_distribution`): how
  many accounts are really one customer, and how purchase frequency, spend
  and recency look per account versus per customer;
- **identity accuracy** (:func:`identity_accuracy`, against ``truth/persons.csv`` read by the notebook):
  pairwise precision, recall and F1 against a truth file, when one exists;
- **channel mix and migration** (:func:`channel_mix`, :func:`group_mix`,
  :func:`group_share_change`): share of purchases and contacts per channel and
  channel group per month or quarter;
- **cost to serve** (:func:`cost_contacts`, :func:`cost_summary`,
  :func:`whatif_channel_shift`): contacts priced with the channel-cost table,
  and the yearly saving of moving part of one contact purpose to a cheaper
  channel;
- **reach** (:func:`is_offhours`, :func:`offhours_reach`,
  :func:`hourly_contacts`, :func:`internet_only_customers`,
  :func:`compare_customer_groups`): who contacts outside office hours, and who
  is reached only through internet channels, with their value;
- **conflicts** (:func:`channel_conflicts`, :func:`conflict_summary`,
  :func:`contradictory_identifiers`): the same matter raised through two
  channels within a few days, and customers whose channels hold different
  e-mails or phones (counts only);
- **per-customer features** (:func:`customer_channel_features`), the
  ``customer_channels`` product;
- **real data**: iFood per-customer channel counts (:func:`ifood_channel_mix`,
  :func:`ifood_response_by`, :func:`ifood_web_share_effect`) and the Olist
  lead funnel (:func:`lead_conversion`, :func:`best_origin`,
  :func:`ecrm_lib.core.intervals.wilson_interval`).

Conventions: canonical tables (:mod:`ecrm_lib.core.schema`) with UTC timestamps;
local clock times and calendar dates are taken in the config's time zone
(``timezone``); money is in the config's currency; durations are in days
unless a name says otherwise. Nothing returned here holds a name, e-mail or
phone number: identifiers are only counted.

Examples
--------
>>> import pandas as pd
>>> costs = pd.DataFrame({"channel": ["phone", "app"], "purpose": [None, None],
...                       "cost_per_contact": [6000.0, 60.0]})
>>> contacts = pd.DataFrame({"account_id": ["A", "B"], "channel": ["phone", "app"],
...                          "purpose": ["order_status", "order_status"]})
>>> cost_contacts(contacts, costs)["cost"].tolist()
[6000.0, 60.0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.channels.customers import attach_customer_id
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.intervals import wilson_interval
from ecrm_lib.core.format import format_number

__all__ = [
    "METRICS",
    "DEFAULT_OFFICE_HOURS",
    "IFOOD_CHANNEL_COLUMNS",
    "channel_group_function",
    "window_bounds",
    "in_window",
    "covered_days",
    "self_account_map",
    "row_channels",
    "customer_channels_long",
    "integration_summary",
    "purchase_summary",
    "integration_comparison",
    "purchase_count_distribution",
    "comparison_display",
    "identity_accuracy",
    "channel_mix",
    "group_mix",
    "group_share_change",
    "lookup_cost",
    "cost_contacts",
    "cost_summary",
    "customer_costs",
    "whatif_channel_shift",
    "has_time_of_day",
    "is_offhours",
    "offhours_reach",
    "hourly_contacts",
    "internet_only_customers",
    "compare_customer_groups",
    "channel_conflicts",
    "conflict_summary",
    "contradictory_identifiers",
    "customer_channel_features",
    "feature_overview",
    "is_ifood_customers",
    "ifood_channel_mix",
    "ifood_response_by",
    "ifood_web_share_effect",
    "ifood_customer_features",
    "is_lead_funnel",
    "lead_conversion",
    "best_origin",
]

METRICS: dict[str, tuple[str, str]] = {
    "n_accounts": ("channel accounts resolved (None without an accounts table)", "accounts"),
    "n_customers": ("customers found by identity resolution (None without an accounts table)", "customers"),
    "accounts_per_customer": ("channel accounts per resolved customer", "accounts"),
    "multichannel_share": ("share of resolved customers known in 2+ channels (accounts, purchases or contacts)", "share"),
    "identity_precision": ("pairwise precision of the resolved customers against truth/persons.csv (None without a truth file)", "share"),
    "identity_recall": ("pairwise recall against the truth file", "share"),
    "identity_f1": ("pairwise F1 against the truth file", "share"),
    "n_true_persons": ("persons in the truth file", "persons"),
    "cost_to_serve_total": ("cost of all priced contacts in the analysis window (None without contacts or costs)", "currency"),
    "cost_per_customer": ("cost to serve in the window per customer with a contact in it", "currency"),
    "offhours_customer_share": ("share of customers who started a contact outside office hours or at a weekend (None when contact times are dates only)", "share"),
    "internet_only_customer_share": ("share of customers known only in internet channels (None without an internet channel group)", "share"),
    "conflict_count": ("channel switches about one matter within conflict_window_days (None without contacts with a purpose)", "contacts"),
    "whatif_saving": ("yearly saving of moving whatif_share of whatif_purpose contacts from whatif_from_channel to whatif_to_channel (None when not computable)", "currency per year"),
    "ifood_response_rate_by_web_share": ("iFood: last-campaign response rate of customers buying >= 50% on the web minus that of customers buying < 25% on the web (None for other data)", "share points"),
    "olist_best_origin_conversion": ("Olist: lead-to-deal conversion of the best origin with 100+ leads, unknown origin excluded (None for other data)", "share"),
}
"""Headline metrics of the channel-integration notebook: key -> (description, unit); "currency" means the config's currency."""

DEFAULT_OFFICE_HOURS = (9, 18)
"""Office hours in local time: from 09:00 (inclusive) to 18:00 (exclusive), Monday to Friday."""

IFOOD_CHANNEL_COLUMNS = {"web": "NumWebPurchases", "catalog": "NumCatalogPurchases", "store": "NumStorePurchases"}
"""iFood per-customer purchase counts per channel (deal purchases are a discount, not a channel)."""

_IFOOD_SPEND = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds")
_IFOOD_ACCEPTED = ("AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5")
_DEFAULT_GROUPS = {
    "traditional": ["store", "phone", "mail", "catalog", "call_center"],
    "internet": ["email", "web", "app", "chat", "voice", "video", "sms"],
}
_MISSING_CHANNEL = "(unknown)"


# ------------------------------------------------------------------ helpers
def channel_group_function(channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None) -> Callable[[str], str]:
    """A function channel -> group from a callable, a ``{group: [channels]}`` mapping, or None.

    Parameters
    ----------
    channel_group : callable or mapping, optional
        ``Config.channel_group``, or the config's ``channel_groups`` mapping;
        None uses the suite's defaults (store, phone, mail: traditional;
        email, web, app: internet).

    Returns
    -------
    callable
        Maps a channel name to its group, ``"other"`` when it is in none.

    Examples
    --------
    >>> f = channel_group_function({"internet": ["web"]})
    >>> f("web"), f("store")
    ('internet', 'other')
    """
    if callable(channel_group):
        return lambda c: str(channel_group(str(c)))
    groups = _DEFAULT_GROUPS if channel_group is None else channel_group
    lookup = {str(ch): str(g) for g, members in groups.items() for ch in members}
    return lambda c: lookup.get(str(c), "other")


def _local(ts: pd.Series, timezone: str) -> pd.Series:
    """UTC (or zone-aware) timestamps as naive local wall-clock times."""
    ts = pd.Series(ts)
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = pd.to_datetime(ts, utc=True)
    if getattr(ts.dt, "tz", None) is None:
        ts = ts.dt.tz_localize("UTC")
    return ts.dt.tz_convert(timezone).dt.tz_localize(None)


def window_bounds(as_of: Any, months: int | None, timezone: str = "UTC") -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """UTC bounds of the analysis window: the last ``months`` calendar months up to ``as_of``.

    Parameters
    ----------
    as_of : date or str (YYYY-MM-DD)
        Last local date of the window (included).
    months : int or None
        Length in months; None or 0: no start (every record up to ``as_of``).
    timezone : str
        Time zone of the local dates.

    Returns
    -------
    (start, end) : tuple of Timestamp (UTC)
        The window is ``start <= t < end``; ``end`` is local midnight after
        ``as_of``, ``start`` is ``end`` minus ``months`` months (None without a start).

    Examples
    --------
    >>> window_bounds("2025-06-30", 12, "Asia/Seoul")
    (Timestamp('2024-06-30 15:00:00+0000', tz='UTC'), Timestamp('2025-06-30 15:00:00+0000', tz='UTC'))
    """
    end_local = pd.Timestamp(as_date(as_of, "as_of")) + pd.Timedelta(days=1)
    end = end_local.tz_localize(timezone).tz_convert("UTC")
    if not months:
        return None, end
    if months < 0:
        raise ValueError(f"months must be a positive number of months or None; got {months!r}.")
    start = (end_local - pd.DateOffset(months=int(months))).tz_localize(timezone).tz_convert("UTC")
    return start, end


def in_window(df: pd.DataFrame, as_of: Any, months: int | None, timezone: str = "UTC", time_col: str = "timestamp") -> pd.DataFrame:
    """Rows of ``df`` whose ``time_col`` falls in the window of :func:`window_bounds` (missing times are dropped)."""
    start, end = window_bounds(as_of, months, timezone)
    t = df[time_col]
    keep = t.notna() & (t < end)
    if start is not None:
        keep &= t >= start
    return df.loc[keep.fillna(False).to_numpy(dtype=bool)]


def covered_days(df: pd.DataFrame, as_of: Any, months: int | None, timezone: str = "UTC", time_col: str = "timestamp") -> float:
    """Days of the window that the data covers: from the later of window start and first record to the window end.

    Used to turn a window total into a yearly figure (``total * 365.25 / days``)
    without inflating it when the data starts inside the window.

    Returns
    -------
    float
        Days (0.0 when ``df`` has no dated row in the window).
    """
    start, end = window_bounds(as_of, months, timezone)
    w = in_window(df, as_of, months, timezone, time_col)
    if w.empty:
        return 0.0
    first = w[time_col].min()
    begin = first if start is None else max(start, first)
    return float((end - begin) / pd.Timedelta(days=1))


def self_account_map(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """An account map in which every account is its own customer.

    For data without an accounts table (no identity resolution possible): the
    ``account_map`` product then lists every account id seen in ``tables``
    with ``customer_id = account_id`` and ``link_rule = "singleton"``.

    Returns
    -------
    DataFrame
        account_id, customer_id, link_rule, match_probability, match_weight
        (the columns of :attr:`ecrm_lib.channels.identity.IdentityResult.account_map`).
    """
    ids = [t["account_id"].dropna().astype("string") for t in tables if t is not None and "account_id" in t]
    acc = pd.concat(ids, ignore_index=True).drop_duplicates().sort_values(kind="stable") if ids else pd.Series([], dtype="string")
    return pd.DataFrame(
        {
            "account_id": acc.to_numpy(),
            "customer_id": acc.to_numpy(),
            "link_rule": pd.array(["singleton"] * len(acc), dtype="string"),
            "match_probability": np.full(len(acc), np.nan),
            "match_weight": np.full(len(acc), np.nan),
        }
    ).astype({"account_id": "string", "customer_id": "string"})


def row_channels(df: pd.DataFrame, accounts: pd.DataFrame | None = None) -> pd.Series:
    """The channel of each row: its own ``channel``, else its account's channel, else ``(unknown)``."""
    own = df["channel"].astype("string") if "channel" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    if accounts is not None and "account_id" in df and "channel" in accounts:
        acc = accounts.drop_duplicates("account_id").set_index("account_id")["channel"].astype("string")
        own = own.fillna(df["account_id"].map(acc))
    return own.fillna(_MISSING_CHANNEL).astype("string")


def _with_customer(df: pd.DataFrame, account_map: pd.DataFrame | None) -> pd.DataFrame:
    return df if "customer_id" in df else attach_customer_id(df, account_map)


def customer_channels_long(
    account_map: pd.DataFrame | None,
    accounts: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every (customer, channel) pair through which the company knows a customer.

    A customer is known in a channel when one of their accounts belongs to
    it, or they bought through it, or a contact (either direction) went
    through it.

    Returns
    -------
    DataFrame
        customer_id, channel (distinct pairs). Customers of ``account_map``
        without any channel record are absent.
    """
    parts = []
    if accounts is not None and "channel" in accounts:
        a = _with_customer(accounts[["account_id", "channel"]], account_map)
        parts.append(pd.DataFrame({"customer_id": a["customer_id"], "channel": a["channel"].astype("string").fillna(_MISSING_CHANNEL)}))
    for df in (transactions, contacts):
        if df is not None and len(df):
            d = _with_customer(df, account_map)
            parts.append(pd.DataFrame({"customer_id": d["customer_id"], "channel": row_channels(d, accounts)}))
    if not parts:
        return pd.DataFrame({"customer_id": pd.Series([], dtype="string"), "channel": pd.Series([], dtype="string")})
    out = pd.concat(parts, ignore_index=True).drop_duplicates()
    return out.astype({"customer_id": "string", "channel": "string"}).sort_values(["customer_id", "channel"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------- value of integration
def integration_summary(
    account_map: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Accounts versus customers, and how many customers use two or more channels.

    Parameters
    ----------
    account_map : DataFrame
        account_id, customer_id (from identity resolution).
    accounts, transactions, contacts : DataFrame, optional
        Canonical tables; their channels count towards "channels used"
        (see :func:`customer_channels_long`).

    Returns
    -------
    dict
        n_accounts, n_customers, accounts_per_customer, n_multi_account
        (customers holding 2+ accounts), n_multichannel and
        multichannel_share (customers known in 2+ channels, over all
        customers of the map), unmapped_accounts (account ids in
        transactions or contacts missing from the map; each counted as its
        own customer elsewhere).
    """
    n_acc = int(account_map["account_id"].nunique())
    sizes = account_map.groupby("customer_id").size()
    n_cust = int(len(sizes))
    long = customer_channels_long(account_map, accounts, transactions, contacts)
    long = long[long["customer_id"].isin(account_map["customer_id"])]
    n_ch = long.groupby("customer_id").size()
    multi = int((n_ch >= 2).sum())
    known = set(account_map["account_id"].astype(str))
    unmapped = set()
    for df in (transactions, contacts):
        if df is not None and "account_id" in df:
            unmapped |= set(df["account_id"].dropna().astype(str)) - known
    return {
        "n_accounts": n_acc,
        "n_customers": n_cust,
        "accounts_per_customer": n_acc / n_cust if n_cust else float("nan"),
        "n_multi_account": int((sizes >= 2).sum()),
        "n_multichannel": multi,
        "multichannel_share": multi / n_cust if n_cust else float("nan"),
        "unmapped_accounts": len(unmapped),
    }


def purchase_summary(transactions: pd.DataFrame, key: str, as_of: Any, timezone: str = "UTC") -> pd.DataFrame:
    """Per key (account or customer): purchases, spend and recency.

    Parameters
    ----------
    transactions : DataFrame
        account_id (and customer_id when ``key`` is customer_id), timestamp, amount.
    key : str
        Column to group by: ``"account_id"`` or ``"customer_id"``.
    as_of : date or str
        Analysis date (recency is counted from it).
    timezone : str
        Calendar dates are local dates in this zone.

    Returns
    -------
    DataFrame
        Indexed by ``key``: n_purchases, repeat_purchases (n_purchases - 1),
        total_spend and mean_spend (currency), first_purchase, last_purchase
        (local dates as Timestamps), recency_days (as_of minus the last local
        purchase date, days).
    """
    if transactions.empty:
        cols = ["n_purchases", "repeat_purchases", "total_spend", "mean_spend", "first_purchase", "last_purchase", "recency_days"]
        return pd.DataFrame(columns=cols, index=pd.Index([], name=key, dtype="string"))
    local = _local(transactions["timestamp"], timezone).dt.normalize()
    d = pd.DataFrame({key: transactions[key].astype("string").to_numpy(), "day": local.to_numpy(), "amount": transactions["amount"].astype("float64").to_numpy()})
    g = d.groupby(key, sort=True)
    out = pd.DataFrame(
        {
            "n_purchases": g.size().astype("int64"),
            "total_spend": g["amount"].sum(),
            "first_purchase": g["day"].min(),
            "last_purchase": g["day"].max(),
        }
    )
    out.insert(1, "repeat_purchases", out["n_purchases"] - 1)
    out.insert(3, "mean_spend", out["total_spend"] / out["n_purchases"])
    asof = pd.Timestamp(as_date(as_of, "as_of"))
    out["recency_days"] = ((asof - out["last_purchase"]) / pd.Timedelta(days=1)).astype("int64")
    return out


def integration_comparison(transactions: pd.DataFrame, account_map: pd.DataFrame | None, as_of: Any, timezone: str = "UTC") -> pd.DataFrame:
    """Purchase frequency, spend and recency per ACCOUNT versus per resolved CUSTOMER.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (kept purchases).
    account_map : DataFrame or None
        account_id -> customer_id; None: every account is its own customer.
    as_of : date or str
        Analysis date for recency.
    timezone : str
        Local time zone for dates.

    Returns
    -------
    DataFrame
        One row per measure: measure, unit, per_account, per_customer,
        change (per_customer / per_account - 1). Measures: buying units
        (accounts or customers with a purchase), mean purchases, share with a
        repeat purchase, mean repeat purchases, mean spend per purchase (mean
        over units of their own mean, currency), mean total spend (currency),
        median recency (days).
    """
    tx = attach_customer_id(transactions, account_map)
    views = {"per_account": purchase_summary(tx, "account_id", as_of, timezone), "per_customer": purchase_summary(tx, "customer_id", as_of, timezone)}
    rows = [
        ("buying units", "accounts / customers", lambda s: float(len(s))),
        ("mean purchases", "purchases", lambda s: s["n_purchases"].mean()),
        ("share with a repeat purchase", "share", lambda s: (s["repeat_purchases"] > 0).mean()),
        ("mean repeat purchases", "purchases", lambda s: s["repeat_purchases"].mean()),
        ("mean spend per purchase", "currency", lambda s: s["mean_spend"].mean()),
        ("mean total spend", "currency", lambda s: s["total_spend"].mean()),
        ("median recency", "days", lambda s: float(s["recency_days"].median()) if len(s) else float("nan")),
    ]
    out = []
    for measure, unit, f in rows:
        a, c = (float(f(v)) if len(v) else float("nan") for v in views.values())
        out.append({"measure": measure, "unit": unit, "per_account": a, "per_customer": c, "change": c / a - 1 if a else float("nan")})
    return pd.DataFrame(out)


def comparison_display(comparison: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`integration_comparison` with each value written in its own unit, for display.

    Shares become percentages, money whole units with the currency, counts
    whole numbers, means two decimals; ``change`` stays a number (0-1).

    Examples
    --------
    >>> comp = pd.DataFrame({"measure": ["share with a repeat purchase"], "unit": ["share"],
    ...                      "per_account": [0.5], "per_customer": [0.6], "change": [0.2]})
    >>> comparison_display(comp)[["per_account", "per_customer"]].iloc[0].tolist()
    ['50.0%', '60.0%']
    """
    out = comparison.copy()
    for col in ("per_account", "per_customer"):
        vals = []
        for unit, v in zip(comparison["unit"], comparison[col]):
            if unit == "share":
                vals.append(format_number(v, "%", 1))
            elif unit == "currency":
                vals.append(format_number(v, currency or None))
            elif unit in ("days", "accounts / customers"):
                vals.append(format_number(v))
            else:
                vals.append(format_number(v, digits=2))
        out[col] = pd.Series(vals, index=out.index, dtype="string")
    out["unit"] = out["unit"].replace({"currency": currency or "currency", "share": "% of buyers"})
    return out


def purchase_count_distribution(transactions: pd.DataFrame, account_map: pd.DataFrame | None, top: int = 5) -> pd.DataFrame:
    """Share of buying accounts and of buying customers with 1, 2, ..., ``top``+ purchases.

    Returns
    -------
    DataFrame
        view ("per account", "per customer"), purchases (label "1".."top+"),
        units, share (0-1 within the view).
    """
    tx = attach_customer_id(transactions, account_map)
    labels = [str(i) for i in range(1, top)] + [f"{top}+"]
    out = []
    for view, key in (("per account", "account_id"), ("per customer", "customer_id")):
        n = tx.groupby(key).size()
        lab = pd.Series(np.minimum(n.to_numpy(), top), index=n.index).map(lambda k: labels[k - 1])
        counts = lab.value_counts().reindex(labels, fill_value=0)
        total = int(counts.sum())
        for l, c in counts.items():
            out.append({"view": view, "purchases": l, "units": int(c), "share": c / total if total else float("nan")})
    return pd.DataFrame(out)


# ------------------------------------------------------------ identity truth
def identity_accuracy(account_map: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of the resolved customers against the truth.

    Wraps :func:`ecrm_lib.channels.identity.pairwise_metrics` and adds
    ``n_true_persons`` (persons in the truth file) and ``customers_per_person``
    (customers found per true person; above 1 means persons split over
    customers, below 1 persons merged).

    Returns
    -------
    dict
        precision, recall, f1 (0-1), true_positive_pairs, predicted_pairs,
        true_pairs, n_customers, n_persons, n_accounts, n_true_persons,
        customers_per_person.
    """
    from ecrm_lib.channels.identity import pairwise_metrics

    m = pairwise_metrics(account_map, truth)
    n_true = int(truth["person_id"].nunique())
    m["n_true_persons"] = n_true
    m["customers_per_person"] = m["n_customers"] / n_true if n_true else float("nan")
    return m


# --------------------------------------------------------------- channel mix
def channel_mix(
    transactions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    *,
    accounts: pd.DataFrame | None = None,
    channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None,
    timezone: str = "UTC",
    freq: str = "Q",
    contact_direction: str | None = "inbound",
) -> pd.DataFrame:
    """Share of purchases and of contacts per channel, per month or quarter.

    Parameters
    ----------
    transactions, contacts : DataFrame, optional
        Canonical tables (rows without a timestamp are ignored).
    accounts : DataFrame, optional
        Gives rows without their own channel their account's channel.
    channel_group : callable or mapping, optional
        See :func:`channel_group_function`.
    timezone : str
        Periods are local calendar months or quarters.
    freq : {"Q", "M"}
        Quarter or month.
    contact_direction : str or None, default "inbound"
        Count only contacts in this direction (the customer's choice of
        channel); None counts all. Ignored when contacts have no direction.

    Returns
    -------
    DataFrame
        table ("purchases", "contacts"), period (first day, naive local
        Timestamp), channel, group, n (rows), share (of the table's rows in
        that period, 0-1), amount (purchases only: spend, currency).
    """
    if freq not in ("Q", "M"):
        raise ValueError(f"freq must be 'Q' (quarter) or 'M' (month); got {freq!r}.")
    grp = channel_group_function(channel_group)
    frames = []
    for table, df in (("purchases", transactions), ("contacts", contacts)):
        if df is None or df.empty:
            continue
        if table == "contacts" and contact_direction and "direction" in df and df["direction"].notna().any():
            df = df[(df["direction"] == contact_direction).fillna(False).to_numpy(dtype=bool)]
        df = df[df["timestamp"].notna().to_numpy(dtype=bool)]
        if df.empty:
            continue
        period = _local(df["timestamp"], timezone).dt.to_period(freq).dt.start_time
        amount = df["amount"].astype("float64").to_numpy() if table == "purchases" else np.nan
        frames.append(pd.DataFrame({"table": table, "period": period.to_numpy(), "channel": row_channels(df, accounts).to_numpy(), "amount": amount}))
    cols = ["table", "period", "channel", "group", "n", "share", "amount"]
    if not frames:
        return pd.DataFrame(columns=cols)
    d = pd.concat(frames, ignore_index=True)
    out = d.groupby(["table", "period", "channel"], as_index=False, sort=True).agg(n=("amount", "size"), amount=("amount", "sum"))
    out["share"] = out["n"] / out.groupby(["table", "period"])["n"].transform("sum")
    out.loc[out["table"] == "contacts", "amount"] = np.nan
    out["group"] = out["channel"].map(grp).astype("string")
    out["channel"] = out["channel"].astype("string")
    out = out[cols].sort_values(["table", "period", "channel"], kind="stable").reset_index(drop=True)
    out.attrs["freq"] = freq
    return out


def group_mix(mix: pd.DataFrame) -> pd.DataFrame:
    """Channel-group shares per table and period from :func:`channel_mix`.

    Returns
    -------
    DataFrame
        table, period, group, n, share (0-1 within table and period).
    """
    if mix.empty:
        return pd.DataFrame(columns=["table", "period", "group", "n", "share"])
    g = mix.groupby(["table", "period", "group"], as_index=False, sort=True)["n"].sum()
    g["share"] = g["n"] / g.groupby(["table", "period"])["n"].transform("sum")
    return g


def group_share_change(
    df: pd.DataFrame,
    as_of: Any,
    months: int,
    *,
    group: str = "internet",
    accounts: pd.DataFrame | None = None,
    channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None,
    timezone: str = "UTC",
    direction: str | None = None,
) -> dict[str, Any]:
    """Share of rows through one channel group in the last ``months`` versus the ``months`` before.

    Parameters
    ----------
    df : DataFrame
        Transactions or contacts.
    as_of : date or str
        End of the recent window.
    months : int
        Length of each window (months).
    group : str
        Channel group measured (default "internet").
    direction : str, optional
        Keep only contacts in this direction (e.g. "inbound").

    Returns
    -------
    dict
        recent_share, previous_share (0-1; NaN when a window is empty),
        change (recent - previous, share points), recent_rows, previous_rows.
    """
    grp = channel_group_function(channel_group)
    if direction and "direction" in df and df["direction"].notna().any():
        df = df[(df["direction"] == direction).fillna(False).to_numpy(dtype=bool)]
    recent = in_window(df, as_of, months, timezone)
    start, _ = window_bounds(as_of, months, timezone)
    prev_as_of = (start.tz_convert(timezone).tz_localize(None) - pd.Timedelta(days=1)).date()
    previous = in_window(df, prev_as_of, months, timezone)

    def share(part: pd.DataFrame) -> float:
        if part.empty:
            return float("nan")
        return float((row_channels(part, accounts).map(grp) == group).mean())

    r, p = share(recent), share(previous)
    return {"recent_share": r, "previous_share": p, "change": r - p, "recent_rows": len(recent), "previous_rows": len(previous)}


# ------------------------------------------------------------- cost to serve
def _key(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold()


def _cost_table(channel_costs: pd.DataFrame | None, cost_overrides: Mapping[str, float] | None) -> pd.DataFrame:
    """The cost table with overrides applied: ch (key), pu (key or <NA>), cost, source."""
    rows = pd.DataFrame({"ch": pd.Series([], dtype="string"), "pu": pd.Series([], dtype="string"), "cost": pd.Series([], dtype="float64")})
    if channel_costs is not None and len(channel_costs):
        for col in ("channel", "cost_per_contact"):
            if col not in channel_costs:
                raise ValueError(f"channel_costs lacks column {col!r}; columns: {list(channel_costs.columns)}. It needs channel, cost_per_contact and optionally purpose.")
        pu = channel_costs["purpose"] if "purpose" in channel_costs else pd.Series(pd.NA, index=channel_costs.index)
        pu = _key(pu)
        rows = pd.DataFrame({"ch": _key(channel_costs["channel"]), "pu": pu.mask(pu == ""), "cost": channel_costs["cost_per_contact"].astype("float64")})
        dup = rows.duplicated(["ch", "pu"], keep=False)
        if dup.any():
            ex = rows.loc[dup, ["ch", "pu"]].drop_duplicates().head(3).astype(str).values.tolist()
            raise ValueError(f"channel_costs has more than one cost for the same channel and purpose, e.g. {ex}; keep one row per (channel, purpose).")
    rows = rows.assign(source="table")
    for k, v in (cost_overrides or {}).items():
        if v is None or not math.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"cost_overrides[{k!r}] is {v!r}; give a cost per contact >= 0 in the config currency.")
        ch, _, pu = str(k).partition(":")
        ch, pu = ch.strip().casefold(), (pu.strip().casefold() or None)
        same = (rows["ch"] == ch).fillna(False) & (rows["pu"].isna() if pu is None else (rows["pu"] == pu).fillna(False))
        rows = pd.concat([rows[~same.to_numpy(dtype=bool)], pd.DataFrame({"ch": [ch], "pu": pd.array([pu], dtype="string"), "cost": [float(v)], "source": ["override"]})], ignore_index=True)
    return rows.astype({"ch": "string", "pu": "string"})


def lookup_cost(
    channel_costs: pd.DataFrame | None, channel: str, purpose: str | None = None, cost_overrides: Mapping[str, float] | None = None
) -> float:
    """Cost of one contact through ``channel`` about ``purpose`` (NaN when the channel has no cost).

    A row for the channel and this purpose wins over the channel's any-purpose
    row (purpose missing). ``cost_overrides`` maps ``"channel"`` (the
    any-purpose cost) or ``"channel:purpose"`` to a cost and replaces the
    table's row (or adds one). Channel and purpose names are compared without
    case and surrounding spaces.

    Examples
    --------
    >>> costs = pd.DataFrame({"channel": ["phone", "phone"], "purpose": [None, "complaint"], "cost_per_contact": [6000.0, 9000.0]})
    >>> lookup_cost(costs, "phone", "complaint"), lookup_cost(costs, "phone", "billing")
    (9000.0, 6000.0)
    >>> lookup_cost(costs, "phone", "billing", {"phone": 5000})
    5000.0
    """
    c = pd.DataFrame({"account_id": ["x"], "channel": [channel], "purpose": pd.array([purpose], dtype="string")})
    return float(cost_contacts(c, channel_costs, cost_overrides)["cost"].iloc[0])


def cost_contacts(contacts: pd.DataFrame, channel_costs: pd.DataFrame | None, cost_overrides: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Price every contact with the channel-cost table.

    Parameters
    ----------
    contacts : DataFrame
        Canonical contacts (channel, purpose).
    channel_costs : DataFrame or None
        channel, purpose (missing: every purpose), cost_per_contact
        (currency). A purpose-specific row overrides the channel's
        any-purpose row.
    cost_overrides : mapping, optional
        ``{"channel": cost}`` replaces (or adds) a channel's any-purpose cost;
        ``{"channel:purpose": cost}`` a purpose-specific one.

    Returns
    -------
    DataFrame
        A copy of ``contacts`` with ``cost`` (currency per contact; NaN when
        the channel has no cost: such contacts are counted by
        :func:`cost_summary`, never priced at zero) and ``cost_source``
        ("purpose", "channel", "override", "missing").
    """
    table = _cost_table(channel_costs, cost_overrides)
    out = contacts.copy()
    ch = _key(row_channels(out))
    pu = _key(out["purpose"]) if "purpose" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    base = table[table["pu"].isna()].set_index("ch")
    spec = table[table["pu"].notna()].set_index(["ch", "pu"])
    idx = pd.MultiIndex.from_arrays([ch.fillna(""), pu.fillna("")])
    spec_cost = pd.Series(spec["cost"].reindex(idx).to_numpy(), index=out.index)
    spec_src = pd.Series(spec["source"].reindex(idx).to_numpy(), index=out.index)
    base_cost = ch.map(base["cost"]).astype("float64")
    base_src = ch.map(base["source"])
    use_spec = spec_cost.notna()
    out["cost"] = spec_cost.where(use_spec, base_cost).astype("float64")
    src = np.where(use_spec, np.where(spec_src == "override", "override", "purpose"), np.where(base_src == "override", "override", "channel"))
    out["cost_source"] = pd.array(np.where(out["cost"].isna(), "missing", src), dtype="string")
    return out


def cost_summary(costed: pd.DataFrame, by: str | Sequence[str] = "channel") -> pd.DataFrame:
    """Contacts, cost and contacts without a cost, per channel, purpose or customer.

    Parameters
    ----------
    costed : DataFrame
        Output of :func:`cost_contacts`.
    by : str or list of str
        Grouping columns (e.g. "channel", "purpose", ["channel", "purpose"], "customer_id").

    Returns
    -------
    DataFrame
        by columns, n_contacts, n_priced, n_missing_cost, total_cost
        (currency, priced contacts only), cost_per_contact (total_cost /
        n_priced; NaN when none is priced), share_of_cost (0-1); sorted by
        total cost, descending.
    """
    by = [by] if isinstance(by, str) else list(by)
    d = costed.copy()
    for b in by:
        if b == "channel":
            d[b] = row_channels(d)
        else:
            d[b] = d[b].astype("string").fillna("(none)")
    d["_priced"] = d["cost"].notna()
    g = d.groupby(by, sort=True, dropna=False)
    out = pd.DataFrame({"n_contacts": g.size(), "n_priced": g["_priced"].sum().astype("int64"), "total_cost": g["cost"].sum(min_count=0)})
    out["n_missing_cost"] = out["n_contacts"] - out["n_priced"]
    out["cost_per_contact"] = out["total_cost"] / out["n_priced"].where(out["n_priced"] > 0)
    total = out["total_cost"].sum()
    out["share_of_cost"] = out["total_cost"] / total if total else np.nan
    out = out.reset_index()[by + ["n_contacts", "n_priced", "n_missing_cost", "total_cost", "cost_per_contact", "share_of_cost"]]
    return out.sort_values(["total_cost", "n_contacts"], ascending=False, kind="stable").reset_index(drop=True)


def customer_costs(costed: pd.DataFrame, account_map: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cost to serve per customer: contacts and their cost.

    Returns
    -------
    DataFrame
        customer_id, n_contacts, n_missing_cost, cost_to_serve (currency;
        priced contacts only).
    """
    d = _with_customer(costed, account_map)
    g = d.groupby("customer_id", sort=True)
    missing = d["cost"].isna().groupby(d["customer_id"], sort=True).sum().astype("int64")
    out = pd.DataFrame({"n_contacts": g.size(), "n_missing_cost": missing, "cost_to_serve": g["cost"].sum(min_count=0)})
    return out.reset_index()


def whatif_channel_shift(
    costed: pd.DataFrame,
    channel_costs: pd.DataFrame | None,
    *,
    purpose: str,
    from_channel: str,
    to_channel: str,
    share: float,
    days: float,
    cost_overrides: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Yearly saving from moving a share of one contact purpose from one channel to another.

    Parameters
    ----------
    costed : DataFrame
        Contacts of the analysis window, priced by :func:`cost_contacts`.
    channel_costs : DataFrame or None
        The cost table (the target channel is priced with it, purpose rows first).
    purpose : str
        Contact purpose moved (e.g. "order_status").
    from_channel, to_channel : str
        Channel the contacts leave and channel they move to.
    share : float
        Share (0-1) of that purpose's contacts in ``from_channel`` that move.
    days : float
        Days the window covers (see :func:`covered_days`); counts are
        scaled to a year by ``365.25 / days``.
    cost_overrides : mapping, optional
        As in :func:`cost_contacts`.

    Returns
    -------
    dict
        purpose, from_channel, to_channel, share, contacts_in_window,
        contacts_per_year, moved_per_year, cost_from and cost_to (currency
        per contact; NaN when a channel has no cost), saving_per_contact,
        saving_per_year (currency per year; negative when the target channel
        is dearer; NaN when a cost is missing), ok (bool), reason (why it is
        not computable, else "").
    """
    if not 0.0 <= float(share) <= 1.0:
        raise ValueError(f"share must be between 0 and 1 (a share of contacts); got {share!r}.")
    ch = _key(row_channels(costed))
    pu = _key(costed["purpose"]) if "purpose" in costed else pd.Series(pd.NA, index=costed.index, dtype="string")
    sel = ((ch == str(from_channel).strip().casefold()) & (pu == str(purpose).strip().casefold())).fillna(False).to_numpy(dtype=bool)
    n = int(sel.sum())
    cost_from = lookup_cost(channel_costs, from_channel, purpose, cost_overrides)
    cost_to = lookup_cost(channel_costs, to_channel, purpose, cost_overrides)
    per_year = n * 365.25 / days if days and days > 0 else float("nan")
    moved = per_year * float(share)
    reason = ""
    if n == 0:
        reason = f"no {purpose} contacts through {from_channel} in the window"
    elif math.isnan(cost_from) or math.isnan(cost_to):
        missing = [c for c, v in ((from_channel, cost_from), (to_channel, cost_to)) if math.isnan(v)]
        reason = f"no cost per contact for channel(s) {missing}; add them to channel_costs or cost_overrides"
    saving_pc = cost_from - cost_to
    return {
        "purpose": purpose,
        "from_channel": from_channel,
        "to_channel": to_channel,
        "share": float(share),
        "contacts_in_window": n,
        "contacts_per_year": per_year,
        "moved_per_year": moved,
        "cost_from": cost_from,
        "cost_to": cost_to,
        "saving_per_contact": saving_pc,
        "saving_per_year": moved * saving_pc if not reason else float("nan"),
        "ok": not reason,
        "reason": reason,
    }


# --------------------------------------------------------------------- reach
def has_time_of_day(timestamps: pd.Series, timezone: str = "UTC", threshold: float = 0.99) -> bool:
    """False when the timestamps are really dates (nearly all at local midnight).

    Sources that only record a date are read as local midnight (or 01:00 on a
    day when daylight saving time skipped midnight); their clock times say
    nothing about office hours.

    Parameters
    ----------
    threshold : float
        Share (0-1) of timestamps at exactly 00:00 or 01:00 local time above
        which the column counts as dates only.
    """
    ts = pd.Series(timestamps).dropna()
    if ts.empty:
        return False
    loc = _local(ts, timezone)
    on_midnight = (loc.dt.minute == 0) & (loc.dt.second == 0) & (loc.dt.hour <= 1)
    return bool(on_midnight.mean() < threshold)


def is_offhours(timestamps: pd.Series, timezone: str = "UTC", office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS) -> pd.Series:
    """True for times outside office hours in local time; weekends count as outside.

    Parameters
    ----------
    timestamps : Series
        UTC (or zone-aware) timestamps.
    timezone : str
        The local time zone (the config's).
    office_hours : (int, int)
        Opening and closing hour, local time: a time is inside when
        ``open <= hour < close`` on Monday to Friday.

    Returns
    -------
    Series of bool (same index; missing timestamps are False).

    Examples
    --------
    >>> ts = pd.Series(pd.to_datetime(["2025-06-02 00:30", "2025-06-02 09:30", "2025-06-07 03:00"], utc=True))
    >>> is_offhours(ts, "Asia/Seoul").tolist()   # 09:30 Mon, 18:30 Mon, 12:00 Sat in Seoul
    [False, True, True]
    """
    start, end = (int(h) for h in office_hours)
    if not 0 <= start < end <= 24:
        raise ValueError(f"office_hours must be [open, close] hours with 0 <= open < close <= 24; got {list(office_hours)!r}.")
    ts = pd.Series(timestamps)
    loc = _local(ts, timezone)
    hour = loc.dt.hour
    weekend = loc.dt.day_of_week >= 5
    out = (hour < start) | (hour >= end) | weekend
    return out.fillna(False).astype(bool)


def _inbound(contacts: pd.DataFrame, inbound_only: bool) -> pd.DataFrame:
    if inbound_only and "direction" in contacts and contacts["direction"].notna().any():
        return contacts[(contacts["direction"] == "inbound").fillna(False).to_numpy(dtype=bool)]
    return contacts


def offhours_reach(
    contacts: pd.DataFrame,
    account_map: pd.DataFrame | None = None,
    *,
    timezone: str = "UTC",
    office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS,
    inbound_only: bool = True,
) -> pd.DataFrame:
    """Per customer: contacts they started, and how many fell outside office hours.

    Parameters
    ----------
    contacts : DataFrame
        Canonical contacts (with customer_id, or mapped with ``account_map``).
    inbound_only : bool, default True
        Count only inbound contacts (the time the customer chose; outbound
        times are the company's).

    Returns
    -------
    DataFrame
        customer_id, n_contacts, n_offhours, offhours_share (0-1),
        any_offhours (bool: at least one contact outside office hours).
    """
    d = _inbound(_with_customer(contacts, account_map), inbound_only)
    d = d[d["timestamp"].notna().to_numpy(dtype=bool)]
    off = is_offhours(d["timestamp"], timezone, office_hours)
    f = pd.DataFrame({"customer_id": d["customer_id"].to_numpy(), "off": off.to_numpy()})
    g = f.groupby("customer_id", sort=True)["off"]
    out = pd.DataFrame({"n_contacts": g.size(), "n_offhours": g.sum().astype("int64")})
    out["offhours_share"] = out["n_offhours"] / out["n_contacts"]
    out["any_offhours"] = out["n_offhours"] > 0
    return out.reset_index()


def hourly_contacts(
    contacts: pd.DataFrame,
    *,
    channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None,
    accounts: pd.DataFrame | None = None,
    timezone: str = "UTC",
    inbound_only: bool = True,
) -> pd.DataFrame:
    """Contacts per local hour of day, weekday or weekend, and channel group.

    Returns
    -------
    DataFrame
        hour (0-23), day_type ("weekday", "weekend"), group, n.
    """
    grp = channel_group_function(channel_group)
    d = _inbound(contacts, inbound_only)
    d = d[d["timestamp"].notna().to_numpy(dtype=bool)]
    loc = _local(d["timestamp"], timezone)
    f = pd.DataFrame(
        {
            "hour": loc.dt.hour.to_numpy(),
            "day_type": np.where(loc.dt.day_of_week.to_numpy() >= 5, "weekend", "weekday"),
            "group": row_channels(d, accounts).map(grp).to_numpy(),
        }
    )
    out = f.groupby(["hour", "day_type", "group"], as_index=False).size().rename(columns={"size": "n"})
    return out.astype({"group": "string", "day_type": "string"})


def internet_only_customers(
    channels_long: pd.DataFrame,
    channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None,
    group: str = "internet",
) -> pd.Series:
    """Per customer: True when every channel they are known in belongs to ``group``.

    Parameters
    ----------
    channels_long : DataFrame
        Output of :func:`customer_channels_long`.
    channel_group : callable or mapping, optional
        See :func:`channel_group_function`.
    group : str
        The group (default "internet").

    Returns
    -------
    Series of bool indexed by customer_id.
    """
    grp = channel_group_function(channel_group)
    inside = channels_long["channel"].map(grp) == group
    return inside.groupby(channels_long["customer_id"].to_numpy()).all().rename("internet_only").rename_axis("customer_id")


def compare_customer_groups(flag: pd.Series, value: pd.DataFrame, labels: tuple[str, str] = ("yes", "no")) -> pd.DataFrame:
    """Number, share and purchase value of customers with and without a flag.

    Parameters
    ----------
    flag : Series of bool
        Indexed by customer_id (every customer of interest).
    value : DataFrame
        :func:`purchase_summary` by customer_id; customers absent there have
        no purchase (0 purchases, 0 spend).
    labels : (str, str)
        Names of the flagged and the other group.

    Returns
    -------
    DataFrame
        group, n_customers, share (of all customers, 0-1), buyer_share (0-1),
        mean_purchases, mean_total_spend (currency, every customer counted),
        mean_spend_per_purchase (currency, buyers only), repeat_buyer_share (0-1).
    """
    v = value.reindex(flag.index)
    npur = v["n_purchases"].fillna(0).astype("float64")
    spend = v["total_spend"].fillna(0.0).astype("float64")
    rows = []
    n_all = len(flag)
    for lab, sel in ((labels[0], flag.to_numpy(dtype=bool)), (labels[1], ~flag.to_numpy(dtype=bool))):
        k = int(sel.sum())
        buyers = npur[sel] > 0
        rows.append(
            {
                "group": lab,
                "n_customers": k,
                "share": k / n_all if n_all else float("nan"),
                "buyer_share": float(buyers.mean()) if k else float("nan"),
                "mean_purchases": float(npur[sel].mean()) if k else float("nan"),
                "mean_total_spend": float(spend[sel].mean()) if k else float("nan"),
                "mean_spend_per_purchase": float(v["mean_spend"][sel][buyers].mean()) if buyers.any() else float("nan"),
                "repeat_buyer_share": float((npur[sel] >= 2).mean()) if k else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- conflicts
def channel_conflicts(
    contacts: pd.DataFrame,
    account_map: pd.DataFrame | None = None,
    *,
    window_days: float = 3,
    inbound_only: bool = True,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Channel switches about one matter: the same customer and purpose through another channel within a window.

    Contacts of a customer about one purpose are ordered in time. A conflict
    is a contact whose channel differs from that of the customer's previous
    contact about the same purpose, made at most ``window_days`` after it
    (the customer asked again elsewhere, and two channels now handle one
    matter). Each switch counts once; repeats through the same channel do
    not count. Contacts without a purpose are ignored.

    Parameters
    ----------
    contacts : DataFrame
        Canonical contacts (with customer_id, or mapped with ``account_map``).
    window_days : float, default 3
        Largest gap (days, inclusive) between the two contacts.
    inbound_only : bool, default True
        Only contacts the customer started.
    accounts : DataFrame, optional
        Channel of contacts without one.

    Returns
    -------
    DataFrame
        One row per conflict: customer_id, purpose, first_channel,
        second_channel, first_time, second_time (UTC), gap_days.
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0 days; got {window_days!r}.")
    cols = ["customer_id", "purpose", "first_channel", "second_channel", "first_time", "second_time", "gap_days"]
    d = _inbound(_with_customer(contacts, account_map), inbound_only)
    if "purpose" not in d:
        return pd.DataFrame(columns=cols)
    d = d[(d["timestamp"].notna() & d["purpose"].notna()).to_numpy(dtype=bool)]
    if d.empty:
        return pd.DataFrame(columns=cols)
    f = pd.DataFrame(
        {
            "customer_id": d["customer_id"].astype("string").to_numpy(),
            "purpose": d["purpose"].astype("string").to_numpy(),
            "channel": row_channels(d, accounts).to_numpy(),
            "t": d["timestamp"].to_numpy(),
        }
    ).sort_values(["customer_id", "purpose", "t", "channel"], kind="stable").reset_index(drop=True)
    same_group = (f["customer_id"] == f["customer_id"].shift()) & (f["purpose"] == f["purpose"].shift())
    same_group = same_group.fillna(False).to_numpy(dtype=bool)
    prev_channel = f["channel"].shift()
    prev_time = f["t"].shift()
    switch = same_group & (f["channel"] != prev_channel).fillna(False).to_numpy(dtype=bool)
    gap = (f["t"] - prev_time) / pd.Timedelta(days=1)
    hit = switch & (gap <= window_days).fillna(False).to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "customer_id": f["customer_id"][hit].to_numpy(),
            "purpose": f["purpose"][hit].to_numpy(),
            "first_channel": prev_channel[hit].to_numpy(),
            "second_channel": f["channel"][hit].to_numpy(),
            "first_time": prev_time[hit].to_numpy(),
            "second_time": f["t"][hit].to_numpy(),
            "gap_days": gap[hit].to_numpy(dtype="float64"),
        }
    )
    return out.astype({"customer_id": "string", "purpose": "string", "first_channel": "string", "second_channel": "string"})


def conflict_summary(conflicts: pd.DataFrame, by_purpose: bool = True) -> pd.DataFrame:
    """Conflicts counted per channel pair (first -> second) and purpose.

    Returns
    -------
    DataFrame
        first_channel, second_channel, [purpose], conflicts, customers,
        median_gap_days; most frequent first.
    """
    keys = ["first_channel", "second_channel"] + (["purpose"] if by_purpose else [])
    if conflicts.empty:
        return pd.DataFrame(columns=keys + ["conflicts", "customers", "median_gap_days"])
    g = conflicts.groupby(keys, sort=True)
    out = pd.DataFrame({"conflicts": g.size(), "customers": g["customer_id"].nunique(), "median_gap_days": g["gap_days"].median()}).reset_index()
    return out.sort_values(["conflicts"] + keys, ascending=[False] + [True] * len(keys), kind="stable").reset_index(drop=True)


def contradictory_identifiers(accounts: pd.DataFrame, account_map: pd.DataFrame, *, default_region: str = "KR", ignore_blocklisted: bool = True) -> pd.DataFrame:
    """Customers whose accounts carry different e-mails or phones (counts only, never values).

    E-mails and phones are normalised first (:mod:`ecrm_lib.channels.normalize`), so
    ``Kim@Naver.com`` and ``kim@naver.com`` agree. Placeholders of
    :data:`ecrm_lib.channels.identity.DEFAULT_BLOCKLIST` (``noemail@none.com``) are not
    contact data and are ignored when ``ignore_blocklisted``.

    Returns
    -------
    DataFrame
        measure, customers, share (of customers with 2+ accounts, 0-1).
        Measures: customers with 2+ accounts; with 2+ different e-mails; with
        2+ different phones; with either.
    """
    from ecrm_lib.channels.identity import DEFAULT_BLOCKLIST
    from ecrm_lib.channels.normalize import normalize_email, normalize_phone

    a = attach_customer_id(accounts[["account_id"] + [c for c in ("email", "phone") if c in accounts]], account_map)
    email = normalize_email(a["email"]) if "email" in a else pd.Series(pd.NA, index=a.index, dtype="string")
    phone = normalize_phone(a["phone"], default_region=default_region) if "phone" in a else pd.Series(pd.NA, index=a.index, dtype="string")
    if ignore_blocklisted:
        bl = DEFAULT_BLOCKLIST
        local = email.str.replace(r"@.*$", "", regex=True)
        domain = email.str.replace(r"^.*@", "", regex=True)
        junk = email.isin(list(bl.emails)) | local.isin(list(bl.email_local_parts)) | domain.isin(list(bl.email_domains))
        email = email.mask(junk.fillna(False))
    n_acc = a.groupby("customer_id").size()
    multi = n_acc.index[n_acc >= 2]
    n_email = email.groupby(a["customer_id"]).nunique().reindex(multi, fill_value=0)
    n_phone = phone.groupby(a["customer_id"]).nunique().reindex(multi, fill_value=0)
    k = len(multi)
    rows = [
        ("customers with 2+ accounts", k),
        ("with 2+ different e-mails", int((n_email >= 2).sum())),
        ("with 2+ different phones", int((n_phone >= 2).sum())),
        ("with different e-mails or phones", int(((n_email >= 2) | (n_phone >= 2)).sum())),
    ]
    return pd.DataFrame({"measure": [r[0] for r in rows], "customers": [r[1] for r in rows], "share": [r[1] / k if k else float("nan") for r in rows]})


# ------------------------------------------------------------ feature product
def _slug(text: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", str(text).casefold()).strip("_")
    return s or "unknown"


def _shares(d: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Per customer: share of rows per channel, columns ``<prefix><channel slug>``."""
    slug = d["channel"].map(_slug)
    counts = pd.crosstab(d["customer_id"], slug)
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.columns = [f"{prefix}{c}" for c in shares.columns]
    return shares


def customer_channel_features(
    account_map: pd.DataFrame | None,
    *,
    accounts: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    channel_costs: pd.DataFrame | None = None,
    cost_overrides: Mapping[str, float] | None = None,
    channel_group: Callable[[str], str] | Mapping[str, Sequence[str]] | None = None,
    timezone: str = "UTC",
    office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS,
    as_of: Any = None,
    window_months: int | None = None,
) -> pd.DataFrame:
    """One row per customer with their channel behaviour (the ``customer_channels`` product).

    Counts, shares and dates are computed over every record given (the
    loader has already set aside rows after the as-of date). The one window
    quantity, ``cost_to_serve``, covers the analysis window only: the
    contacts of the last ``window_months`` calendar months to ``as_of``
    (:func:`in_window`, local dates in ``timezone``), the same contacts the
    channel report prices for its ``cost_to_serve_total``, so that the sum
    over customers equals that total (up to contacts whose account has no
    customer id). No personal data: only ids, counts, shares, costs and
    dates.

    Parameters
    ----------
    as_of : date or str, optional
        Last local date of the cost window (the run's as-of date). None: the
        cost covers every contact given (no window).
    window_months : int, optional
        Length of the cost window in calendar months (the channel report's
        ``time_window_months``); None or 0 with an ``as_of``: every contact
        up to ``as_of``.

    Returns
    -------
    DataFrame
        customer_id; n_accounts; n_channels (channels the customer is known
        in, see :func:`customer_channels_long`); n_purchases; n_contacts (both
        directions, every record); share_purchases_<channel> and
        share_contacts_<channel> (0-1 per channel, channel names as
        lower-case slugs; NaN when the customer has none); cost_to_serve
        (currency, priced contacts in the cost window; 0 for a customer
        without one; NaN without a cost table); offhours_share (inbound
        contacts outside office hours, 0-1; NaN without inbound contacts or
        when contact times are dates only); internet_only (bool); first_seen,
        last_seen (UTC, over account creation, purchases and contacts).

    Raises
    ------
    ValueError
        ``window_months`` without ``as_of`` (a window needs its end).
    """
    if window_months and as_of is None:
        raise ValueError(f"window_months={window_months!r} needs as_of (the last date of the window); pass the run's as-of date.")
    if account_map is None:
        account_map = self_account_map(accounts, transactions, contacts)
    customers = pd.Index(account_map["customer_id"].astype("string").unique(), name="customer_id")
    extra = []
    for df in (transactions, contacts):
        if df is not None and len(df):
            extra.append(_with_customer(df, account_map)["customer_id"].astype("string"))
    if extra:
        customers = customers.append(pd.Index(pd.concat(extra).unique())).unique().rename("customer_id")
    out = pd.DataFrame(index=customers)
    out["n_accounts"] = account_map.groupby("customer_id").size().reindex(customers).fillna(1).astype("int64")
    long = customer_channels_long(account_map, accounts, transactions, contacts)
    out["n_channels"] = long.groupby("customer_id").size().reindex(customers).fillna(0).astype("int64")
    seen: list[pd.DataFrame] = []
    if accounts is not None and "created_at" in accounts:
        a = _with_customer(accounts[["account_id", "created_at"]], account_map)
        seen.append(pd.DataFrame({"customer_id": a["customer_id"], "t": a["created_at"]}))
    share_frames = []
    tx = _with_customer(transactions, account_map) if transactions is not None else None
    if tx is not None and len(tx):
        out["n_purchases"] = tx.groupby("customer_id").size().reindex(customers).fillna(0).astype("int64")
        share_frames.append(_shares(pd.DataFrame({"customer_id": tx["customer_id"], "channel": row_channels(tx, accounts)}), "share_purchases_"))
        seen.append(pd.DataFrame({"customer_id": tx["customer_id"], "t": tx["timestamp"]}))
    else:
        out["n_purchases"] = 0
    ct = _with_customer(contacts, account_map) if contacts is not None else None
    if ct is not None and len(ct):
        out["n_contacts"] = ct.groupby("customer_id").size().reindex(customers).fillna(0).astype("int64")
        share_frames.append(_shares(pd.DataFrame({"customer_id": ct["customer_id"], "channel": row_channels(ct, accounts)}), "share_contacts_"))
        seen.append(pd.DataFrame({"customer_id": ct["customer_id"], "t": ct["timestamp"]}))
    else:
        out["n_contacts"] = 0
    for sf in share_frames:
        out = out.join(sf.reindex(customers))
    if ct is not None and len(ct) and channel_costs is not None:
        ct_w = ct if as_of is None else in_window(ct, as_of, window_months, timezone)
        cc = customer_costs(cost_contacts(ct_w, channel_costs, cost_overrides))
        out["cost_to_serve"] = cc.set_index("customer_id")["cost_to_serve"].reindex(customers).fillna(0.0)
    else:
        out["cost_to_serve"] = np.nan
    if ct is not None and len(ct) and has_time_of_day(ct["timestamp"], timezone):
        off = offhours_reach(ct, timezone=timezone, office_hours=office_hours)
        out["offhours_share"] = off.set_index("customer_id")["offhours_share"].reindex(customers).astype("float64")
    else:
        out["offhours_share"] = np.nan
    out["internet_only"] = internet_only_customers(long, channel_group).reindex(customers).fillna(False).astype(bool)
    if seen:
        s = pd.concat(seen, ignore_index=True).dropna(subset=["t"])
        g = s.groupby("customer_id")["t"]
        out["first_seen"] = g.min().reindex(customers)
        out["last_seen"] = g.max().reindex(customers)
    else:
        out["first_seen"] = pd.NaT
        out["last_seen"] = pd.NaT
    return out.reset_index().astype({"customer_id": "string"})


def feature_overview(features: pd.DataFrame) -> pd.DataFrame:
    """One row per numeric or boolean column of the feature product: mean, median and share missing.

    Returns
    -------
    DataFrame
        column, mean, median, missing_share (0-1).
    """
    rows = []
    for c in features.columns:
        s = features[c]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype("float64")
        elif not pd.api.types.is_numeric_dtype(s):
            continue
        s = s.astype("float64")
        rows.append({"column": c, "mean": s.mean(), "median": s.median(), "missing_share": float(s.isna().mean()) if len(s) else float("nan")})
    return pd.DataFrame(rows, columns=["column", "mean", "median", "missing_share"])


# ---------------------------------------------------------------- iFood data
def is_ifood_customers(customers: pd.DataFrame | None) -> bool:
    """True when a customers table carries iFood-style per-channel purchase counts."""
    return customers is not None and all(c in customers for c in IFOOD_CHANNEL_COLUMNS.values())


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[col].astype("string").str.strip(), errors="coerce").astype("float64")


def ifood_channel_mix(customers: pd.DataFrame, bands: Sequence[float] = (0.25, 0.5)) -> pd.DataFrame:
    """Per customer: purchases per channel, channel shares, spend and campaign response (iFood data).

    Parameters
    ----------
    customers : DataFrame
        The iFood customers table (account_id, NumWebPurchases,
        NumCatalogPurchases, NumStorePurchases, NumDealsPurchases,
        NumWebVisitsMonth, Mnt*, AcceptedCmp1-5, Response), text or numbers.
    bands : (float, float)
        Cut points of the web-share bands: low below the first, high at or
        above the second, mid between.

    Returns
    -------
    DataFrame
        account_id, n_web, n_catalog, n_store, n_deals, n_purchases (web +
        catalogue + store; deals are discounted purchases counted inside
        them), share_web, share_catalog, share_store (0-1; NaN without
        purchases), dominant_channel (web, catalog, store; "mixed" on a tie;
        "none" without purchases), web_band (e.g. "low (<25%)"), web_visits_month,
        total_spend (sum of Mnt*, currency over two years), response (0/1,
        last campaign), accepted_any (0/1, any of the five earlier
        campaigns), n_accepted.
    """
    if not is_ifood_customers(customers):
        raise ValueError(f"customers lacks the iFood channel counts {list(IFOOD_CHANNEL_COLUMNS.values())}; columns: {list(customers.columns)[:20]}.")
    lo, hi = float(bands[0]), float(bands[1])
    if not 0 < lo < hi <= 1:
        raise ValueError(f"bands must be two cut points 0 < low < high <= 1; got {list(bands)!r}.")
    out = pd.DataFrame({"account_id": customers["account_id"].astype("string").to_numpy()})
    for ch, col in IFOOD_CHANNEL_COLUMNS.items():
        out[f"n_{ch}"] = _num(customers, col).to_numpy()
    out["n_deals"] = _num(customers, "NumDealsPurchases").to_numpy()
    chans = list(IFOOD_CHANNEL_COLUMNS)
    counts = out[[f"n_{c}" for c in chans]]
    out["n_purchases"] = counts.sum(axis=1, min_count=len(chans))
    total = out["n_purchases"].where(out["n_purchases"] > 0)
    for c in chans:
        out[f"share_{c}"] = out[f"n_{c}"] / total
    mx = counts.max(axis=1)
    is_max = counts.eq(mx, axis=0)
    n_max = is_max.sum(axis=1)
    dominant = pd.Series(np.array(chans, dtype=object)[np.argmax(counts.fillna(-1).to_numpy(), axis=1)], index=out.index)
    dominant = dominant.where(n_max == 1, "mixed").where(total.notna(), "none")
    out["dominant_channel"] = dominant.astype("string")
    lo_l, mid_l, hi_l = f"low (<{lo:.0%})", f"mid ({lo:.0%}-{hi:.0%})", f"high (>={hi:.0%})"
    ws = out["share_web"]
    band = np.where(ws < lo, lo_l, np.where(ws < hi, mid_l, hi_l))
    out["web_band"] = pd.Series(band, index=out.index).where(ws.notna()).astype("string")
    out["web_visits_month"] = _num(customers, "NumWebVisitsMonth").to_numpy()
    spend = pd.concat([_num(customers, c) for c in _IFOOD_SPEND if c in customers], axis=1)
    out["total_spend"] = spend.sum(axis=1, min_count=1).to_numpy() if spend.shape[1] else np.nan
    out["response"] = _num(customers, "Response").to_numpy()
    acc = pd.concat([_num(customers, c) for c in _IFOOD_ACCEPTED if c in customers], axis=1)
    out["n_accepted"] = acc.sum(axis=1, min_count=1).to_numpy() if acc.shape[1] else np.nan
    out["accepted_any"] = (out["n_accepted"] > 0).astype("float64").where(out["n_accepted"].notna())
    out.attrs["web_bands"] = [lo_l, mid_l, hi_l]
    return out


def ifood_response_by(mix: pd.DataFrame, by: str = "web_band") -> pd.DataFrame:
    """Campaign response and spend per group of :func:`ifood_channel_mix` (web band or dominant channel).

    Returns
    -------
    DataFrame
        group column, n_customers, responders, response_rate (0-1, last
        campaign), response_ci_low, response_ci_high (Wilson 95 %),
        accepted_any_rate (0-1), mean_spend, median_spend (currency),
        mean_purchases; bands in order low, mid, high, channels by size.
    """
    d = mix[mix[by].notna().to_numpy(dtype=bool)]
    g = d.groupby(by, sort=False)
    out = pd.DataFrame(
        {
            "n_customers": g.size(),
            "responders": g["response"].sum().astype("int64"),
            "response_rate": g["response"].mean(),
            "accepted_any_rate": g["accepted_any"].mean(),
            "mean_spend": g["total_spend"].mean(),
            "median_spend": g["total_spend"].median(),
            "mean_purchases": g["n_purchases"].mean(),
        }
    )
    lo, hi = wilson_interval(out["responders"], g["response"].count())
    out.insert(3, "response_ci_low", lo)
    out.insert(4, "response_ci_high", hi)
    order = mix.attrs.get("web_bands") if by == "web_band" else None
    if order:
        out = out.reindex([b for b in order if b in out.index])
    else:
        out = out.sort_values("n_customers", ascending=False, kind="stable")
    return out.rename_axis(by).reset_index()


def ifood_web_share_effect(by_band: pd.DataFrame) -> float:
    """Response rate of the highest web-share band minus that of the lowest (share points; NaN if either is empty).

    Parameters
    ----------
    by_band : DataFrame
        :func:`ifood_response_by` with ``by="web_band"`` (bands low to high).
    """
    if len(by_band) < 2:
        return float("nan")
    return float(by_band["response_rate"].iloc[-1] - by_band["response_rate"].iloc[0])


def ifood_customer_features(mix: pd.DataFrame) -> pd.DataFrame:
    """The ``customer_channels`` product for iFood-style data (per-customer channel counts, no dated records).

    Parameters
    ----------
    mix : DataFrame
        Output of :func:`ifood_channel_mix`.

    Returns
    -------
    DataFrame
        The columns of :func:`customer_channel_features` that the data can
        fill: customer_id (= account_id), n_accounts (1), n_channels (channels
        with a purchase), n_purchases, share_purchases_web / _catalog / _store,
        internet_only (every purchase through the web); n_contacts,
        cost_to_serve and offhours_share are missing (NaN), first_seen and
        last_seen are NaT (the data has no dates of purchases).
    """
    chans = list(IFOOD_CHANNEL_COLUMNS)
    counts = mix[[f"n_{c}" for c in chans]]
    out = pd.DataFrame({"customer_id": mix["account_id"].astype("string")})
    out["n_accounts"] = 1
    out["n_channels"] = (counts > 0).sum(axis=1).astype("int64")
    out["n_purchases"] = mix["n_purchases"].astype("float64")
    out["n_contacts"] = np.nan
    for c in chans:
        out[f"share_purchases_{c}"] = mix[f"share_{c}"].astype("float64")
    out["cost_to_serve"] = np.nan
    out["offhours_share"] = np.nan
    out["internet_only"] = (mix["share_web"] == 1.0).fillna(False).astype(bool)
    out["first_seen"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    out["last_seen"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    return out


# ---------------------------------------------------------------- Olist funnel
def is_lead_funnel(contacts: pd.DataFrame | None, customers: pd.DataFrame | None, won_col: str = "won_date") -> bool:
    """True when the data is a lead funnel: contacts (leads) and closed deals with a won date."""
    return contacts is not None and customers is not None and won_col in customers and "account_id" in customers


def lead_conversion(
    contacts: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    timezone: str = "UTC",
    won_col: str = "won_date",
    level: float = 0.95,
) -> pd.DataFrame:
    """Lead origin channel -> closed-deal conversion, with Wilson intervals and time to close.

    Each lead (account_id) counts once, in the channel of its first contact.
    A lead is converted when it appears among the closed deals
    (``customers``). Time to close is the won date (read in ``timezone`` when
    written without a zone) minus the first contact, in days.

    Returns
    -------
    DataFrame
        channel, n_leads, n_closed, conversion (0-1), ci_low, ci_high
        (Wilson), median_days_to_close, mean_days_to_close (days; closed
        leads with a won date not before the first contact). Sorted by
        conversion, descending. ``attrs``: ``closed_without_lead`` (deals
        whose lead is not among the contacts), ``negative_time_to_close``
        (deals won before the first contact, left out of the times),
        ``missing_won_date``.
    """
    c = contacts[contacts["timestamp"].notna().to_numpy(dtype=bool)]
    c = c.sort_values(["account_id", "timestamp"], kind="stable").drop_duplicates("account_id")
    leads = pd.DataFrame({"account_id": c["account_id"].astype("string").to_numpy(), "channel": row_channels(c).to_numpy(), "first": c["timestamp"].to_numpy()})
    deals = customers[["account_id", won_col]].drop_duplicates("account_id")
    won = pd.to_datetime(deals[won_col].astype("string"), errors="coerce")
    if getattr(won.dt, "tz", None) is None:
        won = won.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    won = won.dt.tz_convert("UTC")
    won_map = pd.Series(won.to_numpy(), index=deals["account_id"].astype("string").to_numpy())
    leads["closed"] = leads["account_id"].isin(won_map.index)
    leads["days"] = (leads["account_id"].map(won_map) - leads["first"]) / pd.Timedelta(days=1)
    negative = int((leads["days"] < 0).sum())
    leads.loc[leads["days"] < 0, "days"] = np.nan
    g = leads.groupby("channel", sort=True)
    out = pd.DataFrame({"n_leads": g.size(), "n_closed": g["closed"].sum().astype("int64"), "median_days_to_close": g["days"].median(), "mean_days_to_close": g["days"].mean()})
    out.insert(2, "conversion", out["n_closed"] / out["n_leads"])
    lo, hi = wilson_interval(out["n_closed"], out["n_leads"], level)
    out.insert(3, "ci_low", lo)
    out.insert(4, "ci_high", hi)
    out = out.reset_index().astype({"channel": "string"}).sort_values(["conversion", "n_leads"], ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["closed_without_lead"] = int((~won_map.index.isin(leads["account_id"])).sum())
    out.attrs["negative_time_to_close"] = negative
    out.attrs["missing_won_date"] = int(won.isna().sum())
    return out


def best_origin(conversion: pd.DataFrame, min_leads: int = 100, exclude: Iterable[str] = ("unknown", _MISSING_CHANNEL)) -> dict[str, Any] | None:
    """The origin with the highest conversion among those with at least ``min_leads`` leads.

    Origins named in ``exclude`` (an unknown origin cannot be acted on) are
    left out. Returns the row as a dict, or None when no origin qualifies.
    """
    ex = {str(e).casefold() for e in exclude}
    ok = conversion[(conversion["n_leads"] >= min_leads) & ~conversion["channel"].astype(str).str.casefold().isin(ex)]
    if ok.empty:
        return None
    row = ok.sort_values(["conversion", "n_leads"], ascending=False, kind="stable").iloc[0]
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}

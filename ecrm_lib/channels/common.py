"""What the channel modules share: channel groups, the analysis window, and who a row's customer is.

- :func:`channel_group_function`, :func:`channel_groups_of`: channel ->
  group (traditional, internet, ...) from the config's mapping or callable;
- :func:`channel_activity`, :func:`ungrouped_activity`: every channel in the
  data with its group and its rows, and how much activity no group lists
  (``ecrm validate`` and the reports warn about it);
- :func:`window_bounds`, :func:`window_filter`, :func:`in_window`,
  :func:`covered_days`: the last
  ``months`` calendar months to the as-of date in local time, as UTC bounds
  and as a filter in the engine;
- :func:`with_customer`, :func:`with_customer_channel`,
  :func:`self_account_map`: rows keyed by customer (and channel);
- :func:`customer_channels_long`: every (customer, channel) pair through
  which the company knows a customer;
- :func:`unit_purchases`: purchase days (the suite's one definition of a
  purchase, :data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`), spend and
  first and last purchase day per buying unit, up to the as-of date.

Tables are Ibis tables on the run's engine or pandas DataFrames (turned into
``ibis.memtable``, see :func:`ecrm_lib.data.tables.as_table`); what leaves
the engine is aggregated or per customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.customers import attach_customer_id
from ecrm_lib.core.config import DEFAULT_CHANNEL_GROUPS
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.data.engine import backend_name, local_date
from ecrm_lib.data.overview import purchase_days
from ecrm_lib.data.tables import MISSING_CHANNEL, as_table, with_channel

__all__ = [
    "ChannelGroup",
    "channel_group_function",
    "channel_groups_of",
    "CHANNEL_ACTIVITY_COLUMNS",
    "channel_activity",
    "ungrouped_activity",
    "ungrouped_note",
    "group_name",
    "window_bounds",
    "window_filter",
    "in_window",
    "covered_days",
    "with_customer",
    "with_customer_channel",
    "self_account_map",
    "customer_channels_long",
    "unit_purchases",
]

ChannelGroup = Callable[[str], str] | Mapping[str, Sequence[str]] | None
"""A channel -> group function (``Config.channel_group``), a ``{group: [channels]}`` mapping, or None (the suite's defaults)."""


def channel_group_function(channel_group: ChannelGroup = None) -> Callable[[str], str]:
    """A function channel -> group from a callable, a ``{group: [channels]}`` mapping, or None.

    Parameters
    ----------
    channel_group : callable or mapping, optional
        ``Config.channel_group``, or the config's ``channel_groups`` mapping;
        None uses the suite's defaults (:data:`ecrm_lib.core.config.DEFAULT_CHANNEL_GROUPS`:
        store, phone, mail, ...: traditional; email, web, app, ...: internet).

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
    groups = DEFAULT_CHANNEL_GROUPS if channel_group is None else channel_group
    lookup = {str(ch): str(g) for g, members in groups.items() for ch in members}
    return lambda c: lookup.get(str(c), "other")


def channel_groups_of(channels: Iterable[Any], channel_group: ChannelGroup = None) -> dict[str, str]:
    """``{channel: group}`` for the given channel names (e.g. the distinct channels of an aggregate)."""
    grp = channel_group_function(channel_group)
    return {str(c): grp(str(c)) for c in channels}


CHANNEL_ACTIVITY_COLUMNS = ["channel", "group", "grouped", "accounts", "transactions", "contacts"]


def _grouped_lookup(channel_group: ChannelGroup) -> tuple[Callable[[str], str], Callable[[str], bool]]:
    """(channel -> group, channel -> is it listed by a group); a callable lists every channel not mapped to ``other``."""
    grp = channel_group_function(channel_group)
    if callable(channel_group):
        return grp, lambda c: grp(c) != "other"
    groups = DEFAULT_CHANNEL_GROUPS if channel_group is None else channel_group
    listed = {str(ch) for members in groups.values() for ch in members}
    return grp, lambda c: c in listed


def channel_activity(accounts=None, transactions=None, contacts=None, channel_group: ChannelGroup = None) -> pd.DataFrame:
    """Every channel in the data with its group and its rows per table (counted in the engine).

    Parameters
    ----------
    accounts, transactions, contacts : ibis.Table or DataFrame, optional
        Canonical tables; a purchase or contact without its own channel takes its account's
        (:func:`ecrm_lib.data.tables.with_channel`), else ``(unknown)``.
    channel_group : callable or mapping, optional
        As in :func:`channel_group_function`.

    Returns
    -------
    DataFrame
        channel, group (``other`` when no group lists it), grouped (bool: a group of the
        config lists it), accounts, transactions, contacts (rows); grouped channels first,
        then by rows.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"account_id": ["a", "b", "c"], "channel": ["web", "mobile_app", "web"]})
    >>> channel_activity(transactions=tx, channel_group={"internet": ["web"]})[["channel", "group", "grouped", "transactions"]].values.tolist()
    [['web', 'internet', True, 2], ['mobile_app', 'other', False, 1]]
    """
    acc = as_table(accounts) if accounts is not None else None
    counts: dict[str, pd.Series] = {}
    for name, table in (("accounts", accounts), ("transactions", transactions), ("contacts", contacts)):
        if table is None:
            continue
        t = as_table(table)
        t = with_channel(t, acc if name != "accounts" else None, column="_ch")
        g = t.group_by("_ch").aggregate(n=t.count()).to_pyarrow()
        counts[name] = pd.Series(g.column("n").to_numpy(), index=[str(x) for x in g.column("_ch").to_pylist()], dtype="int64")
    channels = sorted(set().union(*[set(c.index) for c in counts.values()])) if counts else []
    grp, listed = _grouped_lookup(channel_group)
    out = pd.DataFrame({"channel": channels, "group": [grp(c) for c in channels], "grouped": [listed(c) for c in channels]})
    for name in ("accounts", "transactions", "contacts"):
        out[name] = counts[name].reindex(channels).fillna(0).astype("int64").to_numpy() if name in counts else 0
    out["_rows"] = out[["accounts", "transactions", "contacts"]].sum(axis=1)
    out = out.sort_values(["grouped", "_rows", "channel"], ascending=[False, False, True], kind="stable")
    return out[CHANNEL_ACTIVITY_COLUMNS].reset_index(drop=True)


def ungrouped_activity(activity: pd.DataFrame) -> dict[str, Any]:
    """How much of the activity of :func:`channel_activity` is in channels no group lists.

    Returns
    -------
    dict
        channels (list of the ungrouped channel names, most rows first), and per table
        (accounts, transactions, contacts) ``<table>_rows`` (ungrouped rows) and
        ``<table>_share`` (0-1 of the table's rows; None for a table without rows).
    """
    un = activity[~activity["grouped"].astype(bool)]
    order = un.assign(_n=un[["accounts", "transactions", "contacts"]].sum(axis=1)).sort_values("_n", ascending=False, kind="stable")
    out: dict[str, Any] = {"channels": order["channel"].tolist()}
    for name in ("accounts", "transactions", "contacts"):
        total = int(activity[name].sum()) if name in activity else 0
        rows = int(un[name].sum()) if name in un else 0
        out[f"{name}_rows"] = rows
        out[f"{name}_share"] = rows / total if total else None
    return out


SUITE_GROUPS = frozenset(DEFAULT_CHANNEL_GROUPS) | {"other"}
"""The group names the suite itself gives (the default groups and ``other``); a report words them."""


def group_name(group: Any) -> str:
    """A channel group's name for a report: the suite's own groups (:data:`SUITE_GROUPS`) in the report
    language, as the figures word them (``plots.terms.*``); a group the user named is shown as written.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> group_name("internet"), group_name("my shops")
    ('internet', 'my shops')
    >>> with using("ko"):
    ...     [group_name(g) for g in ("internet", "traditional", "other", "my shops")]
    ['인터넷', '전통 채널', '기타', 'my shops']
    """
    name = str(group)
    return t_or(f"plots.terms.{name}", name) if name in SUITE_GROUPS else name


def ungrouped_note(activity: pd.DataFrame) -> str:
    """One sentence for a report: the channels no group lists and their share of purchases, contacts and accounts.

    Built from :func:`channel_activity`; in the report language (``channel_groups.*`` messages, the suite's
    group names by :func:`group_name`; channel names and a user's own group names as written).
    Tables without rows are left out (not a measured zero).
    """
    un = ungrouped_activity(activity)
    if not un["channels"]:
        groups = sorted(set(activity["group"])) if len(activity) else []
        return t("channel_groups.all_grouped", groups=", ".join(group_name(g) for g in groups) or t("common.none"))
    parts = [t(f"channel_groups.part_{name}", share=un[f"{name}_share"])
             for name in ("transactions", "contacts", "accounts") if un[f"{name}_share"] is not None]
    return t("channel_groups.ungrouped", channels=", ".join(un["channels"]), parts=", ".join(parts))


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


def _utc_literal(ts: pd.Timestamp):
    return ibis.literal(ts.to_pydatetime(), type="timestamp('UTC')")


def window_filter(table, as_of: Any, months: int | None, timezone: str = "UTC", time_col: str = "timestamp"):
    """Engine expression: True for rows of ``table`` whose ``time_col`` falls in the window of :func:`window_bounds`.

    Missing times are outside (False).
    """
    start, end = window_bounds(as_of, months, timezone)
    col = table[time_col]
    keep = col.notnull() & (col < _utc_literal(end))
    if start is not None:
        keep &= col >= _utc_literal(start)
    return keep.fill_null(False)


def in_window(table, as_of: Any, months: int | None, timezone: str = "UTC", time_col: str = "timestamp"):
    """Rows of ``table`` whose ``time_col`` falls in the window of :func:`window_bounds` (missing times are left out).

    Parameters
    ----------
    table : ibis.Table or DataFrame
    as_of, months, timezone
        As in :func:`window_bounds`.
    time_col : str
        UTC timestamp column.

    Returns
    -------
    ibis.Table
        A filter in the engine (:func:`window_filter`).

    Examples
    --------
    >>> df = pd.DataFrame({"timestamp": pd.to_datetime(["2025-03-31 14:59", "2025-03-31 15:00"], utc=True)})
    >>> in_window(df, "2025-06-30", 3, "Asia/Seoul").count().execute()
    1
    """
    t = as_table(table)
    return t.filter(window_filter(t, as_of, months, timezone, time_col))


def covered_days(table, as_of: Any, months: int | None, timezone: str = "UTC", time_col: str = "timestamp") -> float:
    """Days of the window that the data covers: from the later of window start and first record to the window end.

    Used to turn a window total into a yearly figure (``total * 365.25 / days``)
    without inflating it when the data starts inside the window.

    Returns
    -------
    float
        Days (0.0 when ``table`` has no dated row in the window).
    """
    start, end = window_bounds(as_of, months, timezone)
    first = in_window(table, as_of, months, timezone, time_col)[time_col].min().execute()
    if first is None or pd.isna(first):
        return 0.0
    first = pd.Timestamp(first)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    begin = first if start is None else max(start, first)
    return float((end - begin) / pd.Timedelta(days=1))


def unit_purchases(transactions, key: str = "customer_id", as_of: Any = None, timezone: str = "UTC"):
    """Per buying unit: purchase days, transactions, spend and first and last purchase day (an engine table).

    A purchase is a purchase day: the count comes from :func:`ecrm_lib.data.overview.purchase_days`
    (:data:`~ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`, the purchase models' ``frequency`` + 1), so the
    channel pages count repeat buyers as the customer-value page does. Spend and days cover the same rows.

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        ``key``, ``timestamp`` (UTC) and ``amount``; rows with a missing key or time are left out.
    key : str
        The buying unit: ``"customer_id"`` or ``"account_id"``.
    as_of : date or str, optional
        Last local day counted; None: every day in the table.
    timezone : str
        IANA zone whose calendar days are the purchase days.

    Returns
    -------
    ibis.Table
        ``unit`` (string), ``purchase_days``, ``n_transactions``, ``total_spend`` (currency), ``first_purchase`` and
        ``last_purchase`` (local dates); one row per unit with a purchase.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"], "amount": [10.0, 5.0, 20.0, 7.0],
    ...                    "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 18:00", "2025-02-01 10:00",
    ...                                                 "2025-03-01 10:00"], utc=True)})
    >>> unit_purchases(tx, as_of="2025-02-15").execute()[["unit", "purchase_days", "n_transactions", "total_spend"]].values.tolist()
    [['a', 2, 3, 35.0]]
    """
    t = as_table(transactions, "transactions")
    t = t.filter(t[key].notnull(), t.timestamp.notnull())
    d = t.select(unit=t[key].cast("string"), day=local_date(t.timestamp, backend_name(t), timezone), amount=t.amount.cast("float64"))
    if as_of is not None:
        d = d.filter(d.day <= ibis.literal(as_date(as_of, "as_of"), type="date"))
    g = d.group_by("unit").agg(n_transactions=d.count(), total_spend=d.amount.sum(), first_purchase=d.day.min(), last_purchase=d.day.max())
    p = purchase_days(t, key, as_of, timezone)
    p = p.select(_unit=p[key], purchase_days=p.purchase_days)
    g = g.join(p, g.unit == p._unit).drop("_unit")
    return g.select("unit", "purchase_days", "n_transactions", "total_spend", "first_purchase", "last_purchase")


def with_customer(table, account_map=None):
    """``table`` (Ibis) with ``customer_id``: its own column when it has one, else through ``account_map``.

    Accounts missing from the map are their own customer
    (:func:`ecrm_lib.channels.customers.attach_customer_id`).
    """
    t = as_table(table)
    if "customer_id" in t.columns:
        return t
    return attach_customer_id(t, as_table(account_map, "account_map") if account_map is not None else None)


def with_customer_channel(table, account_map=None, accounts=None):
    """``table`` (Ibis) with ``customer_id`` and a ``channel`` on every row: what the steps of the channel report share.

    The customer comes through ``account_map`` (:func:`with_customer`), the
    channel is the row's own, else its account's, else ``(unknown)``
    (:func:`ecrm_lib.data.tables.with_channel`). Cache the result
    (``.cache()``) when several steps read it: the joins then run once.

    Examples
    --------
    >>> tx = pd.DataFrame({"account_id": ["W1", "S1"], "channel": ["web", None]})
    >>> acc = pd.DataFrame({"account_id": ["W1", "S1"], "channel": ["web", "store"]})
    >>> amap = pd.DataFrame({"account_id": ["W1", "S1"], "customer_id": ["C1", "C1"]})
    >>> with_customer_channel(tx, amap, acc).order_by("account_id").execute()[["customer_id", "channel"]].values.tolist()
    [['C1', 'store'], ['C1', 'web']]
    """
    return with_channel(with_customer(table, account_map), as_table(accounts, "accounts"))


def self_account_map(*tables) -> pd.DataFrame:
    """An account map in which every account is its own customer.

    For data without an accounts table (no identity resolution possible): the
    ``account_map`` product then lists every account id seen in ``tables``
    with ``customer_id = account_id`` and ``link_rule = "singleton"``.

    Parameters
    ----------
    *tables : ibis.Table, DataFrame or None
        Tables with ``account_id`` (those without it, and None, are skipped).

    Returns
    -------
    DataFrame
        account_id, customer_id, link_rule, match_probability, match_weight
        (the columns of :attr:`ecrm_lib.channels.identity.IdentityResult.account_map`),
        sorted by account id.
    """
    present = [as_table(t) for t in tables if t is not None]
    ids = [t.select(account_id=t.account_id.cast("string")) for t in present if "account_id" in t.columns]
    if ids:
        u = ids[0]
        for other in ids[1:]:
            u = u.union(other, distinct=True)
        acc = u.filter(u.account_id.notnull()).distinct().execute()["account_id"].astype("string").sort_values(kind="stable")
    else:
        acc = pd.Series([], dtype="string")
    return pd.DataFrame(
        {
            "account_id": acc.to_numpy(),
            "customer_id": acc.to_numpy(),
            "link_rule": pd.array(["singleton"] * len(acc), dtype="string"),
            "match_probability": np.full(len(acc), np.nan),
            "match_weight": np.full(len(acc), np.nan),
        }
    ).astype({"account_id": "string", "customer_id": "string"})


def customer_channels_long(account_map=None, accounts=None, transactions=None, contacts=None):
    """Every (customer, channel) pair through which the company knows a customer, as an engine table.

    A customer is known in a channel when one of their accounts belongs to
    it, or they bought through it, or a contact (either direction) went
    through it. A row without a channel takes its account's channel, else
    ``(unknown)``.

    Parameters
    ----------
    account_map : ibis.Table or DataFrame, optional
        account_id -> customer_id; None: every account is its own customer.
    accounts, transactions, contacts : ibis.Table or DataFrame, optional

    Returns
    -------
    ibis.Table or None
        customer_id, channel (distinct pairs); None when no table was given.
        Customers of ``account_map`` without any channel record are absent.
    """
    acc = as_table(accounts, "accounts")
    parts = []
    if acc is not None and "channel" in acc.columns:
        a = with_customer(acc.select("account_id", "channel"), account_map)
        parts.append(a.select(customer_id=a.customer_id.cast("string"), channel=a.channel.cast("string").fill_null(MISSING_CHANNEL)))
    for table in (transactions, contacts):
        t = as_table(table)
        if t is None:
            continue
        cols = ["account_id"] + [c for c in ("channel", "customer_id") if c in t.columns]
        d = with_channel(with_customer(t.select(*cols), account_map), acc)
        parts.append(d.select(customer_id=d.customer_id.cast("string"), channel=d.channel))
    if not parts:
        return None
    out = parts[0].distinct()
    for p in parts[1:]:
        out = out.union(p, distinct=True)
    return out

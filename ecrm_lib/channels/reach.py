"""Reach: who contacts us outside office hours, and who is reached only through internet channels.

- :func:`has_time_of_day`: whether contact times carry a clock time at all
  (sources that record dates only cannot tell office hours apart);
- :func:`offhours_flag`, :func:`is_offhours`: outside office hours in local
  time, weekends included (the local wall clock is computed in the engine,
  :func:`ecrm_lib.data.engine.local_time`);
- :func:`offhours_reach`, :func:`hourly_contacts`: per customer and per
  local hour;
- :func:`internet_only_flags`, :func:`internet_only_customers`,
  :func:`compare_customer_groups`: customers known only in internet
  channels, and their purchases against the rest (in the engine; a purchase
  is a purchase day, :data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`).

Examples
--------
>>> import pandas as pd
>>> ts = pd.Series(pd.to_datetime(["2025-06-02 00:30", "2025-06-02 09:30", "2025-06-07 03:00"], utc=True))
>>> is_offhours(ts, "Asia/Seoul").tolist()   # 09:30 Mon, 18:30 Mon, 12:00 Sat in Seoul
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.common import ChannelGroup, channel_groups_of, unit_purchases, with_customer
from ecrm_lib.data.engine import backend_name, local_time
from ecrm_lib.data.tables import as_table, keep_direction, with_channel

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "has_time_of_day",
    "offhours_flag",
    "is_offhours",
    "offhours_reach",
    "hourly_contacts",
    "internet_only_flags",
    "internet_only_customers",
    "compare_customer_groups",
]

DEFAULT_OFFICE_HOURS = (9, 18)
"""Office hours in local time: from 09:00 (inclusive) to 18:00 (exclusive), Monday to Friday."""

_ROW = "_reach_row"


def _time_table(timestamps, time_col: str):
    """(Ibis table, column name) from an Ibis table, a DataFrame or a Series of timestamps."""
    if isinstance(timestamps, pd.Series):
        return as_table(pd.DataFrame({time_col: timestamps.reset_index(drop=True)})), time_col
    return as_table(timestamps, "contacts"), time_col


def has_time_of_day(timestamps, timezone: str = "UTC", threshold: float = 0.99, time_col: str = "timestamp") -> bool:
    """False when the timestamps are really dates (nearly all at local midnight).

    Sources that only record a date are read as local midnight (or 01:00 on a
    day when daylight saving time skipped midnight); their clock times say
    nothing about office hours.

    Parameters
    ----------
    timestamps : ibis.Table, DataFrame or Series
        A table with ``time_col`` (UTC timestamps), or the timestamps themselves.
    timezone : str
        The local time zone.
    threshold : float
        Share (0-1) of timestamps at exactly 00:00 or 01:00 local time (whole
        minute and second) above which the column counts as dates only.
    time_col : str
        Timestamp column of a table.

    Returns
    -------
    bool
        False also when there is no timestamp at all.
    """
    t, col = _time_table(timestamps, time_col)
    t = t.filter(t[col].notnull())
    loc = local_time(t[col], backend_name(t), timezone)
    on = ((loc.minute() == 0) & (loc.second() == 0) & (loc.hour() <= 1)).cast("int64")
    r = t.aggregate(n=t.count(), k=on.sum()).execute().iloc[0]
    n = int(r["n"])
    return bool(n and int(r["k"]) / n < threshold)


def _check_hours(office_hours: Sequence[int]) -> tuple[int, int]:
    start, end = (int(h) for h in office_hours)
    if not 0 <= start < end <= 24:
        raise ValueError(f"office_hours must be [open, close] hours with 0 <= open < close <= 24; got {list(office_hours)!r}.")
    return start, end


def offhours_flag(col, backend: str, timezone: str = "UTC", office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS):
    """Engine expression: True for a time outside office hours in local time; weekends count as outside.

    Parameters
    ----------
    col : ibis timestamp column
        UTC timestamps.
    backend : str
        :func:`ecrm_lib.data.engine.backend_name` of its table.
    timezone : str
        The local time zone (the config's).
    office_hours : (int, int)
        Opening and closing hour, local time: a time is inside when
        ``open <= hour < close`` on Monday to Friday.

    Returns
    -------
    ibis boolean column (missing timestamps are False).
    """
    start, end = _check_hours(office_hours)
    loc = local_time(col, backend, timezone)
    hour = loc.hour()
    weekend = loc.day_of_week.index() >= 5
    return ((hour < start) | (hour >= end) | weekend).fill_null(False)


def is_offhours(timestamps: pd.Series, timezone: str = "UTC", office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS) -> pd.Series:
    """:func:`offhours_flag` for a pandas Series of UTC (or zone-aware) timestamps.

    Returns
    -------
    Series of bool (same index; missing timestamps are False).
    """
    _check_hours(office_hours)
    ts = pd.Series(timestamps)
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = pd.to_datetime(ts, utc=True)
    t = as_table(pd.DataFrame({"t": ts.reset_index(drop=True), _ROW: np.arange(len(ts))}))
    got = t.select(_ROW, off=offhours_flag(t.t, backend_name(t), timezone, office_hours)).order_by(_ROW).execute()
    return pd.Series(got["off"].astype(bool).to_numpy(), index=ts.index)


def offhours_reach(
    contacts,
    account_map=None,
    *,
    timezone: str = "UTC",
    office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS,
    inbound_only: bool = True,
) -> pd.DataFrame:
    """Per customer: contacts they started, and how many fell outside office hours.

    Parameters
    ----------
    contacts : ibis.Table or DataFrame
        Canonical contacts (with customer_id, or mapped with ``account_map``).
    account_map : ibis.Table or DataFrame, optional
    inbound_only : bool, default True
        Count only inbound contacts (the time the customer chose; outbound
        times are the company's).

    Returns
    -------
    DataFrame
        customer_id (sorted), n_contacts, n_offhours, offhours_share (0-1),
        any_offhours (bool: at least one contact outside office hours).
    """
    t = keep_direction(with_customer(contacts, account_map), "inbound" if inbound_only else None)
    t = t.filter(t.timestamp.notnull())
    off = offhours_flag(t.timestamp, backend_name(t), timezone, office_hours).cast("int64")
    g = t.group_by(customer_id=t.customer_id.cast("string")).agg(n_contacts=t.count(), n_offhours=off.sum())
    out = g.order_by("customer_id").execute()
    out["customer_id"] = out["customer_id"].astype("string")
    out["n_contacts"] = out["n_contacts"].astype("int64")
    out["n_offhours"] = out["n_offhours"].astype("int64")
    out["offhours_share"] = out["n_offhours"] / out["n_contacts"]
    out["any_offhours"] = out["n_offhours"] > 0
    return out


def hourly_contacts(
    contacts,
    *,
    channel_group: ChannelGroup = None,
    accounts=None,
    timezone: str = "UTC",
    inbound_only: bool = True,
) -> pd.DataFrame:
    """Contacts per local hour of day, weekday or weekend, and channel group.

    Returns
    -------
    DataFrame
        hour (0-23), day_type ("weekday", "weekend"), group, n.
    """
    t = keep_direction(as_table(contacts, "contacts"), "inbound" if inbound_only else None)
    t = with_channel(t.filter(t.timestamp.notnull()), as_table(accounts, "accounts"))
    loc = local_time(t.timestamp, backend_name(t), timezone)
    day_type = ibis.ifelse(loc.day_of_week.index() >= 5, "weekend", "weekday")
    d = t.group_by(hour=loc.hour(), day_type=day_type, channel=t.channel).agg(n=t.count()).execute()
    if d.empty:
        return pd.DataFrame({"hour": pd.Series([], dtype="int64"), "day_type": pd.Series([], dtype="string"),
                             "group": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")})
    d["group"] = d["channel"].map(channel_groups_of(d["channel"].unique(), channel_group))
    out = d.groupby(["hour", "day_type", "group"], as_index=False)["n"].sum()
    out["hour"] = out["hour"].astype("int64")
    out["n"] = out["n"].astype("int64")
    return out.astype({"group": "string", "day_type": "string"})


def internet_only_flags(channels_long, channel_group: ChannelGroup = None, group: str = "internet"):
    """Engine table: per customer, True when every channel they are known in belongs to ``group``.

    Parameters
    ----------
    channels_long : ibis.Table or DataFrame
        Output of :func:`~ecrm_lib.channels.common.customer_channels_long`
        (customer_id, channel).
    channel_group : callable or mapping, optional
        See :func:`~ecrm_lib.channels.common.channel_group_function`.
    group : str
        The group (default "internet").

    Returns
    -------
    ibis.Table
        customer_id, internet_only (bool); one row per customer of ``channels_long``.
    """
    t = as_table(channels_long, "channels_long")
    channels = t.select(channel=t.channel.cast("string")).distinct().execute()["channel"]
    members = [c for c, g in channel_groups_of(channels.dropna(), channel_group).items() if g == group]
    inside = t.channel.cast("string").isin(members) if members else t.channel.isnull() & t.channel.notnull()  # no channel of the group: a column of False
    return t.group_by(customer_id=t.customer_id.cast("string")).agg(internet_only=inside.fill_null(False).all())


def internet_only_customers(channels_long, channel_group: ChannelGroup = None, group: str = "internet") -> pd.Series:
    """:func:`internet_only_flags` in pandas: a Series of bool indexed by customer_id (sorted)."""
    g = internet_only_flags(channels_long, channel_group, group).order_by("customer_id").execute()
    return pd.Series(g["internet_only"].astype(bool).to_numpy(), index=pd.Index(g["customer_id"].astype("string"), name="customer_id"), name="internet_only")


def compare_customer_groups(flags, transactions=None, labels: tuple[str, str] = ("yes", "no"), customers=None, *,
                            as_of=None, timezone: str = "UTC") -> pd.DataFrame:
    """Number, share and purchase value of customers with and without a flag, computed in the engine.

    Purchases are purchase days and a repeat buyer bought on two or more days up to ``as_of``
    (:data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`, counted by
    :func:`~ecrm_lib.channels.common.unit_purchases`): the repeat-buyer share is the customer-value
    page's quantity, within each group.

    Parameters
    ----------
    flags : ibis.Table or DataFrame
        customer_id and one boolean column (the flag; missing counts as False).
    transactions : ibis.Table or DataFrame, optional
        Purchases with customer_id, timestamp and amount; customers without one
        have no purchase (0 purchase days, 0 spend). None: nobody has purchases.
    labels : (str, str)
        Names of the flagged and the other group.
    customers : ibis.Table or DataFrame, optional
        customer_id of every customer of interest (default: those of
        ``flags``); customers absent from ``flags`` are not flagged.
    as_of : date or str, optional
        Last local day of purchases counted (None: every day of ``transactions``).
    timezone : str
        Local time zone whose calendar days are the purchase days.

    Returns
    -------
    DataFrame
        group, n_customers, share (of all customers, 0-1), buyer_share (0-1),
        mean_purchase_days (every customer counted), mean_total_spend
        (currency, every customer counted), mean_spend_per_purchase_day
        (currency, buyers only), repeat_buyer_share (buyers with 2+ purchase
        days over buyers, 0-1; NaN without buyers).
    """
    f = as_table(flags, "flags")
    flag_col = next(c for c in f.columns if c != "customer_id")
    f = f.select(customer_id=f.customer_id.cast("string"), _flag=f[flag_col].cast("boolean"))
    if customers is not None:
        c = as_table(customers, "customers")
        c = c.select(customer_id=c.customer_id.cast("string")).distinct()
        f = c.left_join(f.rename(_fid="customer_id"), c.customer_id == f.customer_id).drop("_fid")
    f = f.mutate(_flag=f._flag.fill_null(False))
    if transactions is not None:
        per = unit_purchases(as_table(transactions, "transactions"), "customer_id", as_of, timezone)
        per = per.select(_cid=per.unit, _n=per.purchase_days, _spend=per.total_spend)
        f = f.left_join(per, f.customer_id == per._cid).drop("_cid")
        f = f.mutate(_n=f._n.fill_null(0), _spend=f._spend.fill_null(0.0))
    else:
        f = f.mutate(_n=ibis.literal(0), _spend=ibis.literal(0.0))
    buyer = f._n > 0
    g = f.group_by("_flag").agg(
        n_customers=f.count(),
        buyers=buyer.cast("int64").sum(),
        repeat_buyers=(f._n >= 2).cast("int64").sum(),
        mean_purchase_days=f._n.cast("float64").mean(),
        mean_total_spend=f._spend.mean(),
        mean_spend_per_purchase_day=ibis.ifelse(buyer, f._spend / f._n.cast("float64"), ibis.null("float64")).mean(),
    ).execute().set_index("_flag")
    n_all = int(g["n_customers"].sum()) if len(g) else 0
    rows = []
    for lab, key in ((labels[0], True), (labels[1], False)):
        r = g.loc[key] if key in g.index else None
        k = int(r["n_customers"]) if r is not None else 0
        b = int(r["buyers"]) if k else 0
        rows.append(
            {
                "group": lab,
                "n_customers": k,
                "share": k / n_all if n_all else float("nan"),
                "buyer_share": b / k if k else float("nan"),
                "mean_purchase_days": float(r["mean_purchase_days"]) if k else float("nan"),
                "mean_total_spend": float(r["mean_total_spend"]) if k else float("nan"),
                "mean_spend_per_purchase_day": float(r["mean_spend_per_purchase_day"]) if b else float("nan"),
                "repeat_buyer_share": int(r["repeat_buyers"]) / b if b else float("nan"),
            }
        )
    return pd.DataFrame(rows)

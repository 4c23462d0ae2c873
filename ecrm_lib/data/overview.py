"""Computations behind the data-overview notebook: what was loaded, what was set
aside and why, and how the data covers channels and time.

The load report (:mod:`ecrm_lib.data.load`) is small and read in pandas. The
canonical tables are Ibis tables on the run's engine (``RunContext.table``;
pandas DataFrames work too, as ``ibis.memtable``): every count, sum, date
range and share is computed in the engine and only the aggregate comes into
pandas. Plotting lives in :mod:`ecrm_lib.report.plots.overview`. Nothing here
returns personal data: identifier columns are reported as shares only.

Examples
--------
>>> import pandas as pd
>>> accounts = pd.DataFrame({"account_id": ["S1", "W1"], "channel": ["store", "web"],
...                          "email": [None, "a@b.com"], "phone": ["010", " "]})
>>> identifier_completeness(accounts)[["channel", "accounts", "email", "phone", "no_identifier"]].values.tolist()
[['store', 1, 0.0, 1.0, 0.0], ['web', 1, 1.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ibis
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.i18n import t_or
from ecrm_lib.core.schema import TABLES
from ecrm_lib.data.engine import backend_name, local_date, local_time
from ecrm_lib.data.tables import MISSING_CHANNEL, as_table, with_channel

__all__ = [
    "source_summary",
    "set_aside_by_reason",
    "tables_in_language",
    "table_coverage",
    "channel_coverage",
    "monthly_activity",
    "identifier_completeness",
    "date_range",
    "activity_totals",
    "REPEAT_BUYER_DEFINITION",
    "purchase_days",
    "repeat_buyers",
    "repeat_figures",
]

_ACTIVITY_TABLES = ("transactions", "contacts", "feedback")
_IDENTIFIERS = ("name", "email", "phone", "postcode")

def source_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Per source: rows read, set aside and kept, with the share set aside.

    Parameters
    ----------
    summary : DataFrame
        ``LoadResult.summary`` (source, table, file, rows_read, rows_set_aside, rows_kept).

    Returns
    -------
    DataFrame
        The same rows plus ``share_set_aside`` (0-1; 0 for sources with no rows read).
    """
    out = summary[["source", "table", "file", "rows_read", "rows_set_aside", "rows_kept"]].copy()
    read = out["rows_read"].astype("float64")
    out["share_set_aside"] = (out["rows_set_aside"] / read.where(read > 0)).fillna(0.0)
    return out.reset_index(drop=True)


def tables_in_language(frame: pd.DataFrame, column: str = "table") -> pd.DataFrame:
    """A copy of ``frame`` for display with the suite's table names in ``column`` worded in the report language
    (``data_overview.table.<name>``; a name the catalogue does not know stays as it is).

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> f = pd.DataFrame({"table": ["accounts", "channel_costs", "my_table"], "rows": [3, 2, 1]})
    >>> tables_in_language(f)["table"].tolist()
    ['accounts', 'channel costs', 'my_table']
    >>> with using("ko"):
    ...     tables_in_language(f)["table"].tolist()
    ['계정', '채널 비용', 'my_table']
    """
    out = frame.copy()
    if column in out.columns:
        out[column] = [t_or(f"data_overview.table.{name}", str(name)) if isinstance(name, str) else name
                       for name in out[column]]
    return out


def set_aside_by_reason(set_aside: pd.DataFrame) -> pd.DataFrame:
    """Rows set aside, counted by source and reason, largest first.

    Parameters
    ----------
    set_aside : DataFrame
        ``LoadResult.set_aside`` (source, table, file, line, reason).

    Returns
    -------
    DataFrame
        Columns source, table, reason, rows.
    """
    if set_aside.empty:
        return pd.DataFrame({"source": [], "table": [], "reason": [], "rows": []}).astype({"rows": "int64"})
    out = set_aside.groupby(["source", "table", "reason"], as_index=False, sort=False).size().rename(columns={"size": "rows"})
    return out.sort_values(["rows", "source"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _time_range(table, col: str) -> tuple[Any, Any]:
    """(min, max) of a time column in the engine, as pandas Timestamps (None, None when it has no value)."""
    r = table.aggregate(lo=table[col].min(), hi=table[col].max()).execute().iloc[0]
    lo, hi = r["lo"], r["hi"]
    if lo is None or pd.isna(lo):
        return None, None
    return pd.Timestamp(lo), pd.Timestamp(hi)


def _tables(tables: Mapping[str, Any]) -> dict[str, Any]:
    return {name: as_table(t, name) for name, t in tables.items() if t is not None}


def date_range(tables: Mapping[str, Any]) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last timestamp (UTC) over every time column of the loaded tables.

    Parameters
    ----------
    tables : mapping of str to ibis.Table or DataFrame
        Canonical tables by name.
    """
    lo, hi = [], []
    for name, t in _tables(tables).items():
        col = TABLES[name].time_column if name in TABLES else None
        if col and col in t.columns:
            first, last = _time_range(t, col)
            if first is not None:
                lo.append(first)
                hi.append(last)
    return (min(lo) if lo else None, max(hi) if hi else None)


def activity_totals(tables: Mapping[str, Any]) -> dict[str, Any]:
    """Accounts, transactions and revenue of the loaded tables (the data overview's headline figures).

    Returns
    -------
    dict
        n_accounts (rows of accounts), n_transactions (rows of transactions),
        total_revenue (sum of transaction amounts, currency); None for a
        table that was not loaded.
    """
    t = _tables(tables)
    acc, tx = t.get("accounts"), t.get("transactions")
    out: dict[str, Any] = {"n_accounts": int(acc.count().execute()) if acc is not None else None,
                           "n_transactions": None, "total_revenue": None}
    if tx is not None:
        r = tx.aggregate(n=tx.count(), revenue=tx.amount.cast("float64").sum()).execute().iloc[0]
        out["n_transactions"] = int(r["n"])
        out["total_revenue"] = float(r["revenue"]) if pd.notna(r["revenue"]) else 0.0
    return out


def table_coverage(tables: Mapping[str, Any]) -> pd.DataFrame:
    """Per canonical table: rows, distinct accounts and the dates it covers.

    Parameters
    ----------
    tables : mapping of str to ibis.Table or DataFrame
        Canonical tables by name.

    Returns
    -------
    DataFrame
        Columns table, rows, accounts, first (date), last (date), days_covered
        (calendar days in UTC, both ends included).
    """
    t = _tables(tables)
    rows = []
    for name in TABLES:
        if name not in t:
            continue
        table = t[name]
        col = TABLES[name].time_column
        aggs = {"rows": table.count()}
        if "account_id" in table.columns:
            aggs["accounts"] = table.account_id.nunique()
        if col and col in table.columns:
            aggs["first"] = table[col].min()
            aggs["last"] = table[col].max()
        r = table.aggregate(**aggs).execute().iloc[0]
        first, last = r.get("first"), r.get("last")
        has_time = first is not None and not pd.isna(first)
        first_d = pd.Timestamp(first).date() if has_time else None
        last_d = pd.Timestamp(last).date() if has_time else None
        rows.append(
            {
                "table": name,
                "rows": int(r["rows"]),
                "accounts": int(r["accounts"]) if "accounts" in r else pd.NA,
                "first": first_d,
                "last": last_d,
                "days_covered": (last_d - first_d).days + 1 if has_time else pd.NA,
            }
        )
    out = pd.DataFrame(rows, columns=["table", "rows", "accounts", "first", "last", "days_covered"])
    return out.astype({"accounts": "Int64", "days_covered": "Int64"})


def channel_coverage(tables: Mapping[str, Any], channel_group: Callable[[str], str] | None = None) -> pd.DataFrame:
    """Per channel: accounts, transactions, revenue, contacts and feedback.

    Parameters
    ----------
    tables : mapping of str to ibis.Table or DataFrame
        Canonical tables by name. A row without its own channel counts in
        its account's channel, else ``(unknown)``.
    channel_group : callable, optional
        Maps a channel name to its group (e.g. ``Config.channel_group``);
        adds a ``group`` column.

    Returns
    -------
    DataFrame
        One row per channel seen in any table, columns channel, [group],
        accounts, transactions, revenue (config currency), contacts,
        feedback; sorted by accounts then transactions, descending. Empty
        (with these columns) when no row of any table has a channel, of its
        own or its account's: the data has no channels (the page says so in
        one line), not one channel named ``(unknown)``.

    Examples
    --------
    >>> tx = pd.DataFrame({"account_id": ["a", "b"], "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                    "amount": [10.0, 20.0], "channel": [None, None]})
    >>> channel_coverage({"transactions": tx}).empty
    True
    >>> sorted(channel_coverage({"transactions": tx.assign(channel=["web", None])})["channel"])
    ['(unknown)', 'web']
    """
    empty = pd.DataFrame(columns=["channel", "accounts", "transactions", "revenue", "contacts", "feedback"])
    t = _tables(tables)
    accounts = t.get("accounts")
    parts = []
    if accounts is not None:
        parts.append(accounts.group_by(channel=accounts.channel.cast("string")).agg(accounts=accounts.count()).execute().set_index("channel"))
    if "transactions" in t:
        tx = with_channel(t["transactions"], accounts)
        parts.append(tx.group_by("channel").agg(transactions=tx.count(), revenue=tx.amount.cast("float64").sum()).execute().set_index("channel"))
    for name in ("contacts", "feedback"):
        if name in t:
            d = with_channel(t[name], accounts)
            parts.append(d.group_by("channel").agg(**{name: d.count()}).execute().set_index("channel"))
    if not parts:
        return empty
    out = pd.concat(parts, axis=1)
    out.index = out.index.astype("string")
    if not (out.index.notna() & (out.index != MISSING_CHANNEL)).any():  # no row has a channel: the data has none
        return empty
    out = out.rename_axis("channel").reset_index()
    for c in ("accounts", "transactions", "contacts", "feedback"):
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64") if "revenue" in out else 0.0
    if channel_group is not None:
        out.insert(1, "group", out["channel"].map(lambda c: channel_group(str(c))))
    out = out[[c for c in ["channel", "group", "accounts", "transactions", "revenue", "contacts", "feedback"] if c in out]]
    return out.sort_values(["accounts", "transactions", "channel"], ascending=[False, False, True], kind="stable").reset_index(drop=True)


def monthly_activity(
    tables: Mapping[str, Any],
    months: int | None = None,
    channel_group: Callable[[str], str] | None = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Rows per calendar month for each activity table, optionally by channel group.

    Parameters
    ----------
    tables : mapping of str to ibis.Table or DataFrame
        Canonical tables by name; transactions, contacts and feedback are
        counted (per local month and channel in the engine).
    months : int, optional
        Keep only the last ``months`` calendar months that have any activity.
    channel_group : callable, optional
        Maps a channel to its group; without it every row is in group "all".
    timezone : str
        Months are calendar months in this time zone (the config's).

    Returns
    -------
    DataFrame
        Columns month (first day, Timestamp without zone), table, group, rows.
    """
    t = _tables(tables)
    accounts = t.get("accounts")
    frames = []
    for name in _ACTIVITY_TABLES:
        if name not in t:
            continue
        d = t[name].filter(t[name].timestamp.notnull())
        month = local_time(d.timestamp, backend_name(d), timezone).truncate("M")
        if channel_group is not None:
            d = with_channel(d, accounts)
            per = d.group_by(month=month, channel=d.channel).agg(rows=d.count()).execute()
            per["group"] = per["channel"].map(lambda c: channel_group(str(c)))
        else:
            per = d.group_by(month=month).agg(rows=d.count()).execute()
            per["group"] = "all"
        if per.empty:
            continue
        per["table"] = name
        frames.append(per[["month", "table", "group", "rows"]])
    if not frames:
        return pd.DataFrame({"month": pd.Series([], dtype="datetime64[ns]"), "table": [], "group": [], "rows": []})
    allrows = pd.concat(frames, ignore_index=True)
    allrows["month"] = pd.to_datetime(allrows["month"]).astype("datetime64[ns]")
    allrows["group"] = allrows["group"].astype("string")
    out = allrows.groupby(["month", "table", "group"], as_index=False)["rows"].sum()
    out["rows"] = out["rows"].astype("int64")
    if months is not None and months > 0:
        last = out["month"].max()
        first = (last.to_period("M") - (months - 1)).to_timestamp()
        out = out[out["month"] >= first]
    return out.sort_values(["table", "group", "month"], kind="stable").reset_index(drop=True)


def identifier_completeness(accounts) -> pd.DataFrame:
    """Share of accounts per channel that carry each identifying attribute.

    Only presence is measured (non-missing and not blank), per column in the
    engine; no value is returned.

    Parameters
    ----------
    accounts : ibis.Table or DataFrame
        The canonical accounts table.

    Returns
    -------
    DataFrame
        Columns channel, accounts, then name, email, phone, postcode (those
        present) as shares (0-1), and no_identifier: share with neither
        e-mail nor phone; channels with the most accounts first.
    """
    a = as_table(accounts, "accounts")
    attrs = [c for c in _IDENTIFIERS if c in a.columns]

    def present(c):
        col = a[c].cast("string")
        return col.notnull() & (col.strip() != "")

    has = {c: present(c).fill_null(False) for c in attrs}
    reach = ibis.literal(False)
    for c in ("email", "phone"):
        if c in has:
            reach = reach | has[c]
    aggs = {"accounts": a.count()}
    for c in attrs:
        aggs[c] = has[c].cast("float64").mean()
    aggs["no_identifier"] = (~reach).cast("float64").mean()
    out = a.group_by(channel=a.channel.cast("string")).agg(**aggs).order_by("channel").execute()
    out["accounts"] = out["accounts"].astype("int64")
    for c in attrs + ["no_identifier"]:
        out[c] = out[c].astype("float64")
    out = out[["channel", "accounts"] + attrs + ["no_identifier"]]
    return out.sort_values("accounts", ascending=False, kind="stable").reset_index(drop=True)


REPEAT_BUYER_DEFINITION = ("a purchase is a buying unit's purchase day (all its transactions on one local calendar day); "
                           "a repeat buyer bought on two or more days up to the as-of date; repeat purchases are the "
                           "purchase days after the first")
"""The one definition of repeat buyers and repeat purchases every page uses (the purchase models' ``frequency``,
:func:`ecrm_lib.value.features.rfm_summary`; the channel-integration comparison; the executive summary)."""


def purchase_days(transactions, key: str = "customer_id", as_of: Any = None, timezone: str = "UTC"):
    """Distinct local purchase days per buying unit up to ``as_of`` (an engine table: ``key``, ``purchase_days``).

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        ``key`` and ``timestamp`` (UTC or dates); rows with a missing key or time are left out.
    key : str
        The buying unit: ``"customer_id"`` (resolved customers) or ``"account_id"``.
    as_of : date or str, optional
        Last day counted (a local date in ``timezone``); None: every day in the table.
    timezone : str
        IANA zone whose calendar days define a purchase day.
    """
    t = as_table(transactions, "transactions")
    t = t.filter(t[key].notnull(), t.timestamp.notnull())
    d = t.select(unit=t[key].cast("string"), day=local_date(t.timestamp, backend_name(t), timezone))
    if as_of is not None:
        d = d.filter(d.day <= ibis.literal(as_date(as_of, "as_of"), type="date"))
    return d.group_by("unit").aggregate(purchase_days=d.day.nunique()).rename({key: "unit"})


def repeat_figures(repeat_purchases) -> dict[str, Any]:
    """Repeat-buyer figures from each buying unit's repeat purchases (purchase days after the first).

    Parameters
    ----------
    repeat_purchases : array-like of int
        One value per buying unit with a purchase (e.g. ``rfm_summary(...)["frequency"]``).

    Returns
    -------
    dict
        ``buyers`` (units), ``repeat_buyers`` (units with a repeat purchase), ``repeat_share`` (0-1; NaN without
        buyers), ``mean_repeat_purchases`` (purchase days after the first per buyer; NaN without buyers).

    >>> repeat_figures([0, 1, 3, 0])
    {'buyers': 4, 'repeat_buyers': 2, 'repeat_share': 0.5, 'mean_repeat_purchases': 1.0}
    """
    x = pd.Series(repeat_purchases, dtype="float64").dropna()
    n = len(x)
    k = int((x > 0).sum())
    return {"buyers": n, "repeat_buyers": k, "repeat_share": k / n if n else float("nan"),
            "mean_repeat_purchases": float(x.mean()) if n else float("nan")}


def repeat_buyers(transactions, key: str = "customer_id", as_of: Any = None, timezone: str = "UTC") -> dict[str, Any]:
    """Repeat buyers and mean repeat purchases by :data:`REPEAT_BUYER_DEFINITION`, computed in the engine.

    Parameters are those of :func:`purchase_days`; returns the figures of :func:`repeat_figures`.
    Two transactions of a unit on the same local day are one purchase, so this is at most the share of units
    with two or more transactions.

    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-02-01 10:00",
    ...                                                 "2024-01-05 09:00", "2024-01-05 18:00", "2024-03-01 10:00"], utc=True)})
    >>> repeat_buyers(tx, as_of="2024-12-31")
    {'buyers': 3, 'repeat_buyers': 1, 'repeat_share': 0.3333333333333333, 'mean_repeat_purchases': 0.3333333333333333}
    """
    p = purchase_days(transactions, key, as_of, timezone)
    agg = p.aggregate(buyers=p.count(), repeat_buyers=(p.purchase_days > 1).cast("int64").sum(),
                      repeat_days=(p.purchase_days - 1).sum()).execute().iloc[0]
    n = int(agg["buyers"])
    k = int(agg["repeat_buyers"]) if n else 0
    return {"buyers": n, "repeat_buyers": k, "repeat_share": k / n if n else float("nan"),
            "mean_repeat_purchases": float(agg["repeat_days"]) / n if n else float("nan")}

"""Computations behind the data-overview notebook: what was loaded, what was set
aside and why, and how the data covers channels and time.

Every function takes tidy DataFrames (canonical tables, or the load report of
:mod:`ecrm_lib.data.load`) and returns a tidy DataFrame; plotting lives in
:mod:`ecrm_lib.report.plots.base`. Nothing here returns personal data: identifier columns
are reported as counts and shares only.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ecrm_lib.core.schema import TABLES

__all__ = [
    "source_summary",
    "set_aside_by_reason",
    "table_coverage",
    "channel_coverage",
    "monthly_activity",
    "identifier_completeness",
    "date_range",
]

_ACTIVITY_TABLES = ("transactions", "contacts", "feedback")


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


def date_range(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last timestamp (UTC) over every time column of the loaded tables."""
    lo, hi = [], []
    for name, df in tables.items():
        col = TABLES[name].time_column if name in TABLES else None
        if col and col in df and df[col].notna().any():
            lo.append(df[col].min())
            hi.append(df[col].max())
    return (min(lo) if lo else None, max(hi) if hi else None)


def table_coverage(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per canonical table: rows, distinct accounts and the dates it covers.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables by name (``LoadResult.tables``).

    Returns
    -------
    DataFrame
        Columns table, rows, accounts, first (date), last (date), days_covered
        (calendar days in UTC, both ends included).
    """
    rows = []
    for name in TABLES:
        if name not in tables:
            continue
        df = tables[name]
        col = TABLES[name].time_column
        has_time = bool(col) and col in df and df[col].notna().any()
        first = df[col].min() if has_time else pd.NaT
        last = df[col].max() if has_time else pd.NaT
        rows.append(
            {
                "table": name,
                "rows": len(df),
                "accounts": int(df["account_id"].nunique()) if "account_id" in df else pd.NA,
                "first": first.date() if has_time else None,
                "last": last.date() if has_time else None,
                "days_covered": (last.date() - first.date()).days + 1 if has_time else pd.NA,
            }
        )
    out = pd.DataFrame(rows, columns=["table", "rows", "accounts", "first", "last", "days_covered"])
    return out.astype({"accounts": "Int64", "days_covered": "Int64"})


def _channel_of_rows(df: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.Series:
    """The channel of each row: its own ``channel`` column, else its account's channel."""
    own = df["channel"] if "channel" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    if accounts is not None and "account_id" in df:
        acc = accounts.drop_duplicates("account_id").set_index("account_id")["channel"]
        own = own.fillna(df["account_id"].map(acc))
    return own.fillna("(unknown)").astype("string")


def channel_coverage(tables: Mapping[str, pd.DataFrame], channel_group=None) -> pd.DataFrame:
    """Per channel: accounts, transactions, revenue, contacts and feedback.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables by name.
    channel_group : callable, optional
        Maps a channel name to its group (e.g. ``Config.channel_group``);
        adds a ``group`` column.

    Returns
    -------
    DataFrame
        One row per channel seen in any table, columns channel, [group],
        accounts, transactions, revenue (config currency), contacts,
        feedback; sorted by accounts then transactions, descending.
    """
    accounts = tables.get("accounts")
    parts = []
    if accounts is not None:
        parts.append(accounts.groupby("channel").size().rename("accounts"))
    if "transactions" in tables:
        tx = tables["transactions"]
        ch = _channel_of_rows(tx, accounts)
        parts.append(tx.groupby(ch).size().rename("transactions"))
        parts.append(tx["amount"].groupby(ch).sum().rename("revenue"))
    for name in ("contacts", "feedback"):
        if name in tables:
            df = tables[name]
            parts.append(df.groupby(_channel_of_rows(df, accounts)).size().rename(name))
    if not parts:
        return pd.DataFrame(columns=["channel", "accounts", "transactions", "revenue", "contacts", "feedback"])
    out = pd.concat(parts, axis=1)
    out.index = out.index.astype("string")
    out = out.rename_axis("channel").reset_index()
    for c in ("accounts", "transactions", "contacts", "feedback"):
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64") if "revenue" in out else 0.0
    if channel_group is not None:
        out.insert(1, "group", out["channel"].map(lambda c: channel_group(str(c))))
    out = out[[c for c in ["channel", "group", "accounts", "transactions", "revenue", "contacts", "feedback"] if c in out]]
    return out.sort_values(["accounts", "transactions", "channel"], ascending=[False, False, True], kind="stable").reset_index(drop=True)


def monthly_activity(
    tables: Mapping[str, pd.DataFrame],
    months: int | None = None,
    channel_group=None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Rows per calendar month for each activity table, optionally by channel group.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables by name; transactions, contacts and feedback are counted.
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
    accounts = tables.get("accounts")
    frames = []
    for name in _ACTIVITY_TABLES:
        if name not in tables:
            continue
        df = tables[name]
        ts = df["timestamp"].dropna()
        if ts.empty:
            continue
        local = ts.dt.tz_convert(timezone).dt.tz_localize(None)
        month = local.dt.to_period("M").dt.to_timestamp()
        if channel_group is not None:
            group = _channel_of_rows(df.loc[ts.index], accounts).map(lambda c: channel_group(str(c)))
        else:
            group = pd.Series("all", index=ts.index)
        frames.append(pd.DataFrame({"month": month, "table": name, "group": group.astype("string")}))
    if not frames:
        return pd.DataFrame({"month": pd.Series([], dtype="datetime64[ns]"), "table": [], "group": [], "rows": []})
    allrows = pd.concat(frames, ignore_index=True)
    out = allrows.groupby(["month", "table", "group"], as_index=False).size().rename(columns={"size": "rows"})
    if months is not None and months > 0:
        last = out["month"].max()
        first = (last.to_period("M") - (months - 1)).to_timestamp()
        out = out[out["month"] >= first]
    return out.sort_values(["table", "group", "month"], kind="stable").reset_index(drop=True)


def identifier_completeness(accounts: pd.DataFrame) -> pd.DataFrame:
    """Share of accounts per channel that carry each identifying attribute.

    Only presence is measured (non-missing and not blank); no value is returned.

    Parameters
    ----------
    accounts : DataFrame
        The canonical accounts table.

    Returns
    -------
    DataFrame
        Columns channel, accounts, then name, email, phone, postcode as shares
        (0-1), and no_identifier: share with neither e-mail nor phone.
    """
    attrs = [c for c in ("name", "email", "phone", "postcode") if c in accounts]
    present = pd.DataFrame(index=accounts.index)
    for c in attrs:
        col = accounts[c].astype("string")
        present[c] = (col.notna() & (col.str.strip() != "")).fillna(False).astype(bool)
    present["no_identifier"] = ~(present.get("email", False) | present.get("phone", False))
    present["channel"] = accounts["channel"].astype("string")
    out = present.groupby("channel").mean().astype("float64")
    out.insert(0, "accounts", accounts.groupby(accounts["channel"].astype("string")).size())
    out = out.reset_index().sort_values("accounts", ascending=False, kind="stable").reset_index(drop=True)
    return out

"""The engine side of one identity resolution: the accounts as an engine table, temporary tables, uploads.

:func:`open_accounts` takes the accounts as an Ibis table (e.g.
``RunContext.table("accounts")``) or a pandas DataFrame and returns a
:class:`Workspace` (the connection and the temporary tables of this
resolution) and the accounts as a temporary table with one row number per
account:

- an Ibis table keeps its connection: every step runs there, and Splink runs
  on the same connection (DuckDB or Spark). The steps are portable Ibis
  expressions; the temporary tables and Splink's database API come from
  :mod:`ecrm_lib.data.engine` (:func:`~ecrm_lib.data.engine.keep_table`,
  :func:`~ecrm_lib.data.engine.splink_api`). Rows are numbered in the order the
  engine returns them (for DuckDB over a Parquet file: the file's order); the
  row number breaks ties (the first-seen value wins) and is Splink's unique id,
  so the same file gives the same customers;
- a DataFrame is uploaded to a new in-memory DuckDB connection, rows numbered
  in the frame's order.

Temporary tables are named ``ecrm_identity_<random>_<step>`` and dropped by
:meth:`Workspace.close`.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pyarrow as pa

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.data.engine import drop_kept_table, keep_table, splink_api

__all__ = ["ACCOUNT_COLUMNS", "Workspace", "check_account_ids", "open_accounts"]

#: Columns of the accounts table the resolution reads (all but account_id optional).
ACCOUNT_COLUMNS = ("account_id", "channel", "name", "email", "phone", "postcode", "created_at")
_TEXT_COLUMNS = ("account_id", "channel", "name", "email", "phone", "postcode")
_UTC = dt.Timestamp(timezone="UTC")


class Workspace:
    """A connection and the temporary tables one resolution creates on it.

    Parameters
    ----------
    con : ibis backend
        A DuckDB or PySpark connection.
    owns_connection : bool
        Close the connection in :meth:`close` (it was opened for this resolution).
    """

    def __init__(self, con, *, owns_connection: bool):
        if con.name not in ("duckdb", "pyspark"):
            raise NotImplementedError(
                f"identity resolution runs on DuckDB or Spark; these accounts are on {con.name!r}. "
                "Read the accounts through the run's engine (RunContext.table('accounts'))."
            )
        self.con = con
        self.owns_connection = owns_connection
        self.prefix = f"ecrm_identity_{uuid.uuid4().hex[:10]}"
        self._tables: list[str] = []
        self._names: dict = {}  # Ibis operation of a kept table -> its physical name (Spark: a projection of it)

    def keep(self, step: str, obj: Any):
        """Materialise an Ibis expression or an Arrow table as a temporary table; returns it."""
        name = f"{self.prefix}_{step}"
        table = keep_table(self.con, name, obj)
        if name not in self._tables:
            self._tables.append(name)
        self._names[table.op()] = name
        return table

    def upload(self, step: str, columns: dict[str, Any]):
        """Upload numpy arrays (one per column) as a temporary table."""
        return self.keep(step, pa.table({k: pa.array(v) for k, v in columns.items()}))

    def drop(self, table) -> None:
        """Drop a table made by :meth:`keep` before :meth:`close` (to free the engine's memory)."""
        name = self.table_name(table)
        if name in self._tables:
            drop_kept_table(self.con, name)
            self._tables.remove(name)
            self._names.pop(table.op(), None)

    def table_name(self, table) -> str:
        """Physical name of a table made by :meth:`keep` (for Splink)."""
        name = self._names.get(table.op())
        return name if name is not None else table.get_name().split(".")[-1]

    def splink_api(self):
        """Splink's database API on this connection."""
        return splink_api(self.con)

    def close(self) -> None:
        """Drop the temporary tables (and close a connection opened for this resolution)."""
        for name in reversed(self._tables):
            with contextlib.suppress(Exception):  # a table already gone (or a closed connection) is fine
                drop_kept_table(self.con, name)
        self._tables.clear()
        self._names.clear()
        if self.owns_connection:
            self.con.disconnect()


def _frame_to_arrow(accounts: pd.DataFrame) -> pa.Table:
    n = len(accounts)
    cols: dict[str, pa.Array] = {"row": pa.array(np.arange(n, dtype=np.int64))}
    for c in _TEXT_COLUMNS:
        if c in accounts:
            cols[c] = pa.array(accounts[c].astype("string").array, type=pa.large_string())
        else:
            cols[c] = pa.nulls(n, pa.large_string())
    created = accounts["created_at"] if "created_at" in accounts else pd.Series(pd.NaT, index=accounts.index)
    if not pd.api.types.is_datetime64_any_dtype(created):
        created = pd.to_datetime(created, utc=True, errors="coerce")
    if getattr(created.dt, "tz", None) is None:
        created = created.dt.tz_localize("UTC")
    created = created.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    cols["created_at"] = pa.array(created.array, type=pa.timestamp("us", tz="UTC"))
    return pa.table(cols)


def _engine_columns(t):
    """The account columns of an Ibis table, typed (strings, UTC timestamps), with row numbers."""
    out = {"row": ibis.row_number().cast("int64")}
    for c in _TEXT_COLUMNS:
        out[c] = t[c].cast("string") if c in t.columns else ibis.null("string")
    if "created_at" not in t.columns:
        out["created_at"] = ibis.null(_UTC)
    else:
        ts = t["created_at"]
        if ts.type().is_string():
            ts = ts.try_cast(dt.Timestamp())
        out["created_at"] = ts.cast(_UTC)
    return t.select(**out)


def check_account_ids(table) -> int:
    """Number of accounts; raises if account_id is absent, missing or not unique.

    Raises
    ------
    DataValidationError
        With the number of missing or repeated ids, a few examples and the fix.
    """
    if "account_id" not in table.columns:
        raise DataValidationError(
            f"accounts has no account_id column; columns: {list(table.columns)}. Map one in the config (columns: account_id: <source column>)."
        )
    ids = table.account_id
    stats = table.aggregate(n=table.count(), missing=ids.isnull().sum(), distinct=ids.nunique()).to_pyarrow().to_pylist()[0]
    n, missing, distinct = int(stats["n"]), int(stats["missing"] or 0), int(stats["distinct"] or 0)
    if missing:
        raise DataValidationError(
            f"{missing} account(s) have no account_id. Load accounts through ecrm_lib.data.load (missing_keys policy) or drop them first."
        )
    if distinct < n:
        dup = table.group_by("account_id").aggregate(k=table.count()).filter(lambda d: d.k > 1)
        n_dup = int(dup.count().to_pyarrow().as_py())
        examples = [str(x) for x in dup.order_by("account_id").limit(5).account_id.to_pyarrow().to_pylist()]
        raise DataValidationError(
            f"{n_dup} account_id value(s) occur more than once (e.g. {examples}); account_id must be unique. "
            "Prefix ids with the channel when channel systems reuse them, or drop duplicate rows."
        )
    return n


def open_accounts(accounts) -> tuple[Workspace, Any, int]:
    """The accounts as a temporary engine table with row numbers.

    Parameters
    ----------
    accounts : ibis.Table or DataFrame
        The canonical accounts table (account_id unique; channel, name, email,
        phone, postcode, created_at optional).

    Returns
    -------
    (Workspace, ibis.Table, int)
        The workspace, the table (row, account_id, channel, name, email, phone,
        postcode, created_at as strings and a UTC timestamp) and the number of accounts.

    Raises
    ------
    TypeError
        For anything but an Ibis table or a DataFrame.
    DataValidationError
        See :func:`check_account_ids`.
    """
    if isinstance(accounts, pd.DataFrame):
        if "account_id" not in accounts:
            raise DataValidationError(
                f"accounts has no account_id column; columns: {list(accounts.columns)}. Map one in the config (columns: account_id: <source column>)."
            )
        ws = Workspace(ibis.duckdb.connect(), owns_connection=True)
        table = ws.keep("accounts", _frame_to_arrow(accounts))
    elif isinstance(accounts, ibis.Table):
        if "account_id" not in accounts.columns:
            check_account_ids(accounts)  # raises: names the columns and the fix
        ws = Workspace(ibis.get_backend(accounts), owns_connection=False)
        table = ws.keep("accounts", _engine_columns(accounts))
    else:
        raise TypeError(
            f"accounts must be an Ibis table (RunContext.table('accounts')) or a pandas DataFrame; got {type(accounts).__name__}."
        )
    try:
        n = check_account_ids(table)
    except Exception:
        ws.close()
        raise
    return ws, table, n

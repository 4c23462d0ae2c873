"""Canonical tables as Ibis expressions: the plumbing that table-level analyses share.

The data-overview and channel modules take a canonical table either as an
Ibis table on the run's engine (``RunContext.table``) or, in tests and for
small data, as a pandas DataFrame; :func:`as_table` turns both into an Ibis
table (a DataFrame becomes an ``ibis.memtable``, which runs on whichever
engine the query runs on). Results come back into pandas only after the
engine has aggregated them.

- :func:`as_table`, :func:`is_ibis`: one table type for the engine;
- :func:`with_channel`: the channel of each row (its own ``channel``, else
  its account's channel, else :data:`MISSING_CHANNEL`), one definition for
  every report;
- :func:`direction_is`, :func:`keep_direction`: contacts in one direction
  when the table records directions;
- :func:`isin_text`: which ids of a column are among other ids, hashed by pyarrow (pandas' ``isin`` on text
  turns every candidate into a Python scalar: seconds per million);
- :func:`write_parquet`: a table written by the engine to one Parquet file, read back as pandas would
  have written it (text columns read back as pandas' ``string``).

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"account_id": ["S1", "W1", "X9"], "channel": [None, "web", None]})
>>> acc = pd.DataFrame({"account_id": ["S1", "W1"], "channel": ["store", "web"]})
>>> t = with_channel(as_table(tx), as_table(acc))
>>> t.order_by("account_id").execute()["channel"].tolist()
['store', 'web', '(unknown)']
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["MISSING_CHANNEL", "is_ibis", "rows_of_accounts", "as_table", "with_channel", "direction_is", "keep_direction", "has_any",
           "isin_text", "write_parquet"]

#: Channel of a row that has none and whose account has none (or is unknown).
MISSING_CHANNEL = "(unknown)"


def is_ibis(obj: Any) -> bool:
    """True for an Ibis table expression."""
    return isinstance(obj, ibis.Table)


def rows_of_accounts(table, account_ids, columns=None) -> pd.DataFrame:
    """The rows of a per-account table (Ibis or DataFrame) for the given accounts, the first row of each, ids as text.

    An Ibis table is semi-joined with the ids in the engine; only those rows come into pandas.
    """
    if is_ibis(table):
        ids = ibis.memtable(pd.DataFrame({"_acc": pd.Series(pd.unique(pd.Series(account_ids).astype("string")), dtype="string")}))
        t = table if columns is None else table.select([c for c in columns if c in table.columns])
        rows = t.semi_join(ids, t.account_id.cast("string") == ids._acc).to_pyarrow().to_pandas(date_as_object=False)
    else:
        rows = table if columns is None else table[[c for c in columns if c in table.columns]]
    rows = rows.drop_duplicates("account_id")
    return rows.astype({"account_id": "string"})


def _engine_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` that the engines can hold: nanosecond times floored to microseconds, text columns typed."""
    out = pd.DataFrame({c: df[c] for c in df.columns})
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype | np.dtypes.DateTime64DType) and s.dt.unit == "ns":
            out[c] = s.dt.floor("us").dt.as_unit("us")  # engines hold microseconds; flooring never changes the day
        elif s.dtype == object and s.map(lambda v: v is None or isinstance(v, str) or (isinstance(v, float) and np.isnan(v))).all():
            out[c] = s.astype("string")  # an all-missing object column would reach the engine as type NULL
    return out


def as_table(obj: Any, name: str = "table"):
    """An Ibis table from an Ibis table (returned as it is) or a pandas DataFrame (an ``ibis.memtable``).

    Parameters
    ----------
    obj : ibis.Table, DataFrame or None
    name : str
        Name of the table in error messages.

    Returns
    -------
    ibis.Table or None
        None when ``obj`` is None.

    Raises
    ------
    TypeError
        For anything else.
    """
    if obj is None or isinstance(obj, ibis.Table):
        return obj
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        return ibis.memtable(_engine_frame(obj.reset_index(drop=True)))
    raise TypeError(f"{name} must be an Ibis table or a pandas DataFrame, but a {type(obj).__name__} was passed.")


def with_channel(table, accounts=None, column: str = "channel"):
    """``table`` with the channel of each row in ``column``: its own ``channel``, else its account's, else ``(unknown)``.

    Parameters
    ----------
    table : ibis.Table
        A canonical table with ``account_id`` (and usually ``channel``).
    accounts : ibis.Table, optional
        The accounts table (account_id, channel); an account listed twice
        gives its rows the first of its channels by name. It is joined only
        when some row has no channel of its own (one small query tells).
    column : str
        Name of the result column (replaces ``channel`` when it is that name).

    Returns
    -------
    ibis.Table
        Every column of ``table`` plus ``column`` (string).
    """
    def own(t):
        return t["channel"].cast("string") if "channel" in t.columns else ibis.null("string")

    fill = accounts is not None and "channel" in accounts.columns and "account_id" in table.columns
    if fill and "channel" in table.columns:
        fill = bool(table["channel"].isnull().any().execute())  # every row has its own channel: no join needed
    if fill:
        acc = accounts.group_by(_acc_id=accounts.account_id.cast("string")).agg(_acc_channel=accounts.channel.cast("string").min())
        joined = table.left_join(acc, table.account_id.cast("string") == acc._acc_id).drop("_acc_id")
        ch = ibis.coalesce(own(joined), joined._acc_channel, ibis.literal(MISSING_CHANNEL))
        return joined.mutate(**{column: ch}).drop("_acc_channel")
    return table.mutate(**{column: ibis.coalesce(own(table), ibis.literal(MISSING_CHANNEL))})


def has_any(column) -> bool:
    """True when an Ibis column holds at least one non-missing value (one small query)."""
    return bool(column.notnull().any().execute())


def direction_is(table, direction: str | None):
    """Engine expression: True for rows in ``direction`` (e.g. "inbound"), when the table records directions.

    Rows of a table without a ``direction`` column, or whose directions are
    all missing, all count (a literal True); None counts every row. A row
    with a missing direction in a table that records them does not count.
    """
    if not direction or "direction" not in table.columns or not has_any(table.direction):
        return ibis.literal(True)
    return (table.direction == direction).fill_null(False)


def keep_direction(table, direction: str | None):
    """Rows of ``table`` in ``direction`` (e.g. "inbound"), when the table records directions (see :func:`direction_is`)."""
    if not direction or "direction" not in table.columns or not has_any(table.direction):
        return table
    return table.filter(direction_is(table, direction))


def _arrow_text(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.large_string())
    values = pd.Series(values) if not isinstance(values, pd.Series | pd.Index) else values
    return pa.array(values.astype("string").array, type=pa.large_string())


def isin_text(values, candidates) -> np.ndarray:
    """For each of ``values``, whether it is among ``candidates``, compared as text; missing values are never in.

    The same answer as ``values.astype("string").isin(candidates)`` (except that pandas finds a missing value
    among candidates that hold one; here a missing id matches nothing), hashed by pyarrow: pandas' ``isin`` of text
    builds a Python object per candidate (about 6 s for a million ids, and a Python set of ten million ids holds
    about a gigabyte); this takes about half a second per million.

    Parameters
    ----------
    values : Series, Index, array-like or pyarrow Array
        Ids (text, or anything written as text).
    candidates : Series, Index, array-like or pyarrow Array

    Returns
    -------
    ndarray of bool
        One flag per value, in order.

    Examples
    --------
    >>> isin_text(pd.Series(["a", None, "c"], dtype="string"), ["c", "d", None]).tolist()
    [False, False, True]
    """
    found = pc.is_in(_arrow_text(values), value_set=pc.drop_null(_arrow_text(candidates)))
    return np.asarray(found.fill_null(False), dtype=bool)


def _pandas_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` as pandas writes a frame of those columns: text as pandas' ``string`` dtype (in the file's pandas
    metadata, so that ``pd.read_parquet`` gives it back), every other type as it is."""
    empty = pa.table({f.name: pa.array([], f.type) for f in schema}).to_pandas()
    for f in schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            empty[f.name] = empty[f.name].astype("string")
    return pa.Schema.from_pandas(empty, preserve_index=False)


def write_parquet(table, path) -> None:
    """Write an Ibis table to one Parquet file from the engine, without pandas.

    DuckDB writes the file itself (``COPY ... TO``, streaming, within its memory limit); another engine (Spark)
    brings the table to the driver as Arrow first (a per-customer table, as every result of the models does).
    Columns keep the table's order and types, rows the table's order (``order_by`` it for a sorted file); the
    file carries the pandas metadata of the same columns with text as pandas' ``string`` dtype, so that
    ``pd.read_parquet`` reads it back as ``DataFrame.to_parquet`` of the table after ``astype("string")`` would.

    Parameters
    ----------
    table : ibis.Table
    path : path-like
        The file (replaced when it exists; its folder must exist).
    """
    schema = _pandas_schema(table.schema().to_pyarrow())
    con = ibis.get_backend(table)
    meta = schema.metadata[b"pandas"].decode("utf-8")
    # Ibis writes each COPY option as the repr of its value: a dict of plain text is DuckDB's struct literal
    if con.name == "duckdb" and not any(ch in meta for ch in "'\\"):
        con.to_parquet(table, str(path), kv_metadata={"pandas": meta})
    else:
        pq.write_table(table.to_pyarrow().cast(schema), str(path))

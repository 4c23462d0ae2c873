"""Table-level steps of the loader: checks across a table's sources, and writing the canonical Parquet.

- :func:`table_failures`: the uniqueness check of a table's ``duplicate_subset``
  over the kept rows of all its sources (every row of a repeated key is
  reported, once per key column, with its file and line);
- :func:`canonical_query` and :func:`write_parquet`: the kept rows of a
  table's sources in config and file order, written by the engine
  (``COPY ... TO``) with the pandas metadata that makes ``pd.read_parquet``
  give the dtypes of :data:`ecrm_lib.core.schema.PANDAS_DTYPES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ecrm_lib.core.schema import PANDAS_DTYPES, TABLES
from ecrm_lib.data.dialect import EngineSQL
from ecrm_lib.data.read import sql_name, sql_string
from ecrm_lib.data.validate import show_value, unique_problem

__all__ = ["canonical_query", "table_failures", "write_parquet"]

_SQL_TYPES = {"string": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "datetime": "TIMESTAMPTZ"}


def table_failures(con, table: str, loads: list, limit: int) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Rows whose ``duplicate_subset`` key repeats among the kept rows of a table's sources.

    Returns (problems, how many in all, counts per problem) like ``SourceLoad.failures``.
    """
    spec = TABLES[table]
    empty = (pd.DataFrame(), 0, pd.DataFrame(columns=["file", "problem", "n", "_src", "_pos", "_order"]))
    subset = list(spec.duplicate_subset or ())
    if not subset or any(c in load.skip_checks for load in loads for c in subset):
        return empty
    keys = ", ".join(sql_name(c) for c in subset)
    union = " UNION ALL ".join(f"SELECT {load.index} AS __src, __pos, {keys} FROM {load.final} WHERE __why IS NULL"
                               for load in loads)
    dup = (f"SELECT __src, __pos FROM (SELECT __src, __pos, count(*) OVER (PARTITION BY {keys}) AS __n "
           f"FROM ({union})) WHERE __n > 1")
    sql = EngineSQL(con)
    n_rows = int(sql.one(f"SELECT count(*) FROM ({dup})")[0])
    if not n_rows:
        return empty
    got = sql.frame(f"{dup} ORDER BY __src, __pos LIMIT {int(limit)}")
    by_index = {load.index: load for load in loads}
    rows: list[dict[str, Any]] = []
    fix = unique_problem(spec)[1]
    counts = []
    for src, part in got.groupby("__src", sort=True):
        load = by_index[int(src)]
        pos = part["__pos"].astype(int).tolist()
        labels = load.staged.lines.labels(pos)
        raw_cols = {c: load.source.columns.get(c) for c in subset}
        fetch = [s for s in raw_cols.values() if s and s != "__row__"]
        values = load.raw_values(pos, fetch) if fetch else {}
        canon = {}
        if any(not s or s == "__row__" for s in raw_cols.values()):
            cols = ", ".join(sql_name(c) for c in subset)
            lst = ", ".join(str(p) for p in pos)
            for r in sql.rows(f"SELECT __pos, {cols} FROM {load.final} WHERE __pos IN ({lst})"):
                for c, v in zip(subset, r[1:]):
                    canon[(int(r[0]), c)] = v
        for p, label in zip(pos, labels):
            for k, c in enumerate(subset):
                s = raw_cols[c]
                value = values.get((p, s)) if s and s != "__row__" else canon.get((p, c))
                prob = f"{c} repeated with different content"
                rows.append({"source": load.source.name, "table": table, "file": load.file, "line": label,
                             "column": s or c, "value": show_value(value), "problem": prob, "fix": fix,
                             "_src": load.index, "_pos": p, "_order": 900 + k})
        for k, c in enumerate(subset):
            counts.append({"file": load.file, "problem": f"{c} repeated with different content", "n": len(pos),
                           "_src": load.index, "_pos": pos[0], "_order": 900 + k})
    total = n_rows * len(subset)
    return pd.DataFrame(rows), total, pd.DataFrame(counts)


def canonical_query(con, table: str, loads: list) -> tuple[str, list[str], dict[str, str]]:
    """SQL of a table's kept rows (config order, then file order), its columns and their kinds."""
    spec = TABLES[table]
    columns: list[str] = list(spec.column_names())
    kinds: dict[str, str] = {c.name: c.kind for c in spec.columns}
    for load in loads:
        for c in load.columns:
            if c not in kinds:
                kinds[c] = load.kinds.get(c, "string")
                columns.append(c)
            elif c not in spec.column_names() and load.kinds.get(c, "string") != kinds[c]:
                kinds[c] = "string"  # one column, two types in two files: text
    parts = []
    for load in loads:
        have = set(load.columns)
        sel = []
        for c in columns:
            typ = _SQL_TYPES.get(kinds[c])
            expr = sql_name(c) if c in have else "NULL"
            sel.append(f"CAST({expr} AS {typ}) AS {sql_name(c)}" if typ else f"{expr} AS {sql_name(c)}")
        parts.append(f"SELECT {load.index} AS __src, __pos, {', '.join(sel)} FROM {load.final} WHERE __why IS NULL")
    body = " UNION ALL ".join(parts)
    cols = ", ".join(sql_name(c) for c in columns)
    return f"SELECT {cols} FROM ({body}) ORDER BY __src, __pos", columns, kinds


def _pandas_metadata(columns: list[str], kinds: dict[str, str]) -> str:
    """The ``pandas`` Parquet metadata of a frame with the canonical dtypes (extra text columns: string)."""
    import pyarrow as pa

    frame = pd.DataFrame({c: pd.Series([], dtype=PANDAS_DTYPES.get(kinds[c], "string")) for c in columns})
    return pa.Schema.from_pandas(frame, preserve_index=False).metadata[b"pandas"].decode()


def write_parquet(con, sql: str, columns: list[str], kinds: dict[str, str], path: Path) -> int:
    """Write a query's rows to ``path`` with the engine; returns the number of rows.

    DuckDB writes the file itself (``COPY ... TO``). Spark's rows come to this
    process as Arrow and are written here, in the canonical types, as one
    file (a Spark write gives a folder of parts without the pandas metadata).
    """
    if getattr(con, "name", "") == "pyspark":
        return _write_from_spark(con, sql, columns, kinds, path)
    meta = _pandas_metadata(columns, kinds)
    con.raw_sql(f"COPY ({sql}) TO {sql_string(path)} (FORMAT parquet, KV_METADATA {{pandas: {sql_string(meta)}}})")
    return int(con.raw_sql(f"SELECT count(*) FROM read_parquet({sql_string(path)})").fetchall()[0][0])


def _write_from_spark(con, sql: str, columns: list[str], kinds: dict[str, str], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({c: pd.Series([], dtype=PANDAS_DTYPES.get(kinds[c], "string")) for c in columns})
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    got = con.raw_sql(EngineSQL.spark_text(sql)).toArrow()
    table = pa.Table.from_arrays([got.column(i).cast(schema.field(c).type) for i, c in enumerate(columns)],
                                 schema=schema)
    pq.write_table(table, path)
    return table.num_rows

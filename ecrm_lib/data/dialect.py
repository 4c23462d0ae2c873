"""The loader's SQL text on its engine: written in DuckDB's dialect, run as written on DuckDB, translated for Spark.

The loader (:mod:`ecrm_lib.data.mapping`, :mod:`ecrm_lib.data.canonical`,
:mod:`ecrm_lib.data.load`) builds a few statements as SQL text (views over a
source, the duplicate check, counts read back). :class:`EngineSQL` runs them
on an Ibis connection:

- DuckDB: as written (``con.raw_sql``), results by ``fetchall`` or ``df``;
- Spark: translated by sqlglot (the SQL parser Ibis itself uses) from DuckDB's
  dialect to Spark's (quoted names, literals, ``count_if``, ``TIMESTAMPTZ``
  literals, the order of missing values), results collected to the driver. A
  ``TEMP TABLE`` becomes a cached temporary view (Spark has no temporary
  tables), dropped with its cache.

Functions that Ibis expressions need beyond portable Ibis are in
:mod:`ecrm_lib.data.functions`.

Examples
--------
>>> import ibis
>>> sql = EngineSQL(ibis.duckdb.connect())
>>> sql.rows("SELECT 1 + 1 AS two")
[(2,)]
>>> EngineSQL.spark_text('SELECT count_if("a b" > 1) FROM t')
'SELECT COUNT_IF(`a b` > 1) FROM t'
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["EngineSQL"]

_TEMP_TABLE = re.compile(r"\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+TABLE\s+(\w+)\s+AS\s+(.*)", re.S | re.I)
_DROP_TABLE = re.compile(r"\s*DROP\s+TABLE\s+IF\s+EXISTS\s+(\w+)\s*$", re.I)


class EngineSQL:
    """Runs the loader's SQL text (DuckDB's dialect) on an Ibis connection, DuckDB or PySpark."""

    def __init__(self, con: Any):
        self.con = con
        self.spark = getattr(con, "name", "") == "pyspark"

    @staticmethod
    def spark_text(sql: str) -> str:
        """DuckDB SQL text in Spark's dialect."""
        import sqlglot

        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write="spark"))

    def run(self, sql: str) -> None:
        """Run a statement (a view, a table, a drop) for its effect."""
        if not self.spark:
            self.con.raw_sql(sql)
            return
        if m := _TEMP_TABLE.match(sql):
            name, body = m.groups()
            self.con.raw_sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {self.spark_text(body)}")
            self.con.raw_sql(f"CACHE TABLE {name}")
            return
        if m := _DROP_TABLE.match(sql):
            self._drop_spark(m.group(1))
            return
        self.con.raw_sql(self.spark_text(sql))

    def utc(self) -> None:
        """Times without a zone are read and shown in UTC in this session."""
        self.con.raw_sql("SET TIME ZONE 'UTC'" if self.spark else "SET TimeZone = 'UTC'")

    def rows(self, sql: str) -> list[tuple]:
        """The rows of a query, as tuples."""
        if not self.spark:
            return self.con.raw_sql(sql).fetchall()
        return [tuple(r) for r in self.con.raw_sql(self.spark_text(sql)).collect()]

    def one(self, sql: str) -> tuple:
        """The first row of a query that gives one row."""
        return self.rows(sql)[0]

    def frame(self, sql: str) -> pd.DataFrame:
        """The rows of a query as a DataFrame."""
        if not self.spark:
            return self.con.raw_sql(sql).df()
        return self.con.raw_sql(self.spark_text(sql)).toPandas()

    def keep(self, name: str, expr: Any) -> None:
        """Materialise an Ibis table expression as the engine's temporary table ``name``."""
        if not self.spark:
            self.con.create_table(name, expr, temp=True, overwrite=True)
            return
        self.con.create_view(name, expr, overwrite=True)
        self.con.raw_sql(f"CACHE TABLE {name}")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """A small DataFrame as the engine's table ``name`` (until :meth:`unregister`)."""
        if not self.spark:
            self.con.con.register(name, frame)
            return
        import ibis

        self.con.create_view(name, ibis.memtable(frame), overwrite=True)

    def unregister(self, name: str) -> None:
        """Forget a table of :meth:`register` (on Spark it stays until the session ends: a cached view built
        on it is resolved again whenever it is read)."""
        if not self.spark:
            self.con.con.unregister(name)

    def _drop_spark(self, name: str) -> None:
        self.con.raw_sql(f"UNCACHE TABLE IF EXISTS {name}")
        self.con.raw_sql(f"DROP VIEW IF EXISTS {name}")

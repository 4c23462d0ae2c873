"""Database tables and read-only queries as sources: PostgreSQL, MySQL and MariaDB.

A source with a ``database:`` section (:class:`~ecrm_lib.core.config.DatabaseSource`)
is staged like a Parquet file (:func:`stage_database` returns the same
:class:`~ecrm_lib.data.read.StagedSource`), so mapping, computed columns,
constants, ``set_aside`` rules, policies and validation run unchanged.

How the rows reach the engine
    DuckDB's ``postgres`` and ``mysql`` scanner extensions are downloaded at
    run time from DuckDB's extension site, which the project's machines do not
    reach (measured 2026-12-02: ``INSTALL postgres`` fails with "Could not
    establish connection"). The rows are therefore read through the database's
    own driver (psycopg 3 for PostgreSQL, PyMySQL for MySQL/MariaDB) on a
    server-side cursor, :data:`BATCH_ROWS` rows at a time, converted to Arrow
    with types taken from the result's column types, and appended to an engine
    table. Numbers stay numbers (``numeric``/``decimal`` become doubles),
    ``timestamp``/``datetime`` stay naive (read in the source's ``timezone``
    like a file's), ``timestamptz`` and MySQL ``TIMESTAMP`` are read in UTC;
    other types arrive as text.
Read-only
    PostgreSQL sessions open with ``default_transaction_read_only=on`` and a
    read-only, repeatable-read transaction (the fingerprint and the rows come
    from one snapshot); MySQL/MariaDB sessions run ``SET SESSION TRANSACTION
    READ ONLY``. Nothing the suite does can write to a source database.
Identifiers
    Schema, table and column names from the config are quoted as identifiers
    (``"..."`` / `````...`````), never pasted into SQL text; catalogue look-ups
    pass them as parameters. A ``query:`` is the config's own read-only SQL:
    one ``SELECT``/``WITH`` statement, run inside the read-only session.
Row order and labels
    Rows are read in the order of the source's key (``key:``, else the table's
    primary key), then of every other column, so ``__pos`` and the first of two
    duplicates are the same on every run. A problem is reported at the row's
    key instead of a line: ``table crm.accounts, key account_id='A-1', column
    'created_at'`` (plus ``row N in key order`` when the key is not unique).
Fingerprint (:func:`source_fingerprint`)
    The row count plus an order-free hash aggregate computed by the server,
    so that an unchanged database skips the run and nothing is transferred:
    PostgreSQL ``sum(hashtextextended(row::text, 0))`` (0.98 s on 1M rows of
    six columns, against 0.12 s for ``count(*)`` alone and 8.7 s for an
    ordered ``md5(string_agg(...))``; ``pg_stat_user_tables`` counters are
    cheaper but miss an update that leaves the counters as they were and do
    not exist for a query); MySQL/MariaDB tables ``CHECKSUM TABLE`` (0.58 s on
    1M rows) and queries ``sum`` of a 60-bit slice of ``MD5(JSON_ARRAY(row))``
    (6.1 s on 1M rows). Measured on this machine, 2026-12-02.
Passwords
    Never in the config: the URL may not hold one; ``password_env`` names the
    environment variable that does, else the server's usual password file
    (``~/.pgpass`` or ``PGPASSFILE`` for PostgreSQL, ``~/.my.cnf`` for MySQL)
    is used. Records and messages show the URL with the secret masked
    (:meth:`~ecrm_lib.core.config.DatabaseSource.masked_url`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np

from ecrm_lib.core.config import DatabaseSource, SourceConfig
from ecrm_lib.core.errors import ConfigError, DataSourceError

__all__ = ["BATCH_ROWS", "DatabaseSession", "KeyLabels", "open_session", "source_fingerprint", "stage_database"]

#: Rows fetched from the server per batch.
BATCH_ROWS = 50_000


# ----------------------------------------------------------------------------- sessions


def _password(db: DatabaseSource, where: str) -> str | None:
    if not db.password_env:
        return None
    value = os.environ.get(db.password_env)
    if value is None:
        raise DataSourceError(
            f"{where}: the password is read from the environment variable {db.password_env} (password_env), "
            f"which is not set. Set it before the run (export {db.password_env}=...), or remove password_env to "
            "use the server's password file (~/.pgpass, ~/.my.cnf).")
    return value


class DatabaseSession:
    """A read-only session on one database (PostgreSQL or MySQL/MariaDB).

    Use :func:`open_session`; close it with :meth:`close` (or ``with``).
    """

    def __init__(self, db: DatabaseSource, where: str):
        self.db, self.where, self.dialect = db, where, db.dialect
        url = urlsplit(db.url)
        options = dict(parse_qsl(url.query))
        password = _password(db, where)
        try:
            if self.dialect == "postgres":
                import psycopg

                kwargs: dict[str, Any] = {k: v for k, v in {
                    "host": url.hostname, "port": url.port, "user": unquote(url.username or "") or None,
                    "dbname": unquote(url.path.lstrip("/")) or None, "password": password}.items() if v}
                kwargs.update(options)
                kwargs.setdefault("connect_timeout", 10)
                self.conn = psycopg.connect(
                    **kwargs, options="-c default_transaction_read_only=on -c TimeZone=UTC")
                self.conn.read_only = True
                self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            else:
                import pymysql

                kwargs = {"host": url.hostname or "127.0.0.1", "port": url.port or 3306,
                          "user": unquote(url.username or "") or None, "database": unquote(url.path.lstrip("/")) or None,
                          "charset": "utf8mb4", "connect_timeout": 10}
                if password is not None:
                    kwargs["password"] = password
                elif Path("~/.my.cnf").expanduser().is_file():
                    kwargs["read_default_file"] = str(Path("~/.my.cnf").expanduser())
                self.conn = pymysql.connect(**kwargs)
                with self.conn.cursor() as cur:
                    cur.execute("SET SESSION TRANSACTION READ ONLY")
                    cur.execute("SET time_zone = '+00:00'")
        except ImportError as e:
            package = "psycopg[binary]" if self.dialect == "postgres" else "PyMySQL"
            raise DataSourceError(f"{where}: reading from {self.dialect} needs the package {package} "
                                  f"(pip install -e '.[db]'): {e}") from None
        except Exception as e:  # the drivers' connection errors
            raise DataSourceError(
                f"{where}: cannot connect to {db.masked_url()}: {_first_line(e)}. Check that the server runs and "
                "the URL (host, port, user, database); the password comes from "
                + (f"${db.password_env}." if db.password_env else "the server's password file (~/.pgpass, ~/.my.cnf).")
            ) from None

    # ------------------------------------------------------------------ SQL text
    def quote(self, name: str) -> str:
        """A quoted identifier of this dialect."""
        if self.dialect == "postgres":
            return '"' + str(name).replace('"', '""') + '"'
        return "`" + str(name).replace("`", "``") + "`"

    def relation(self) -> str:
        """The FROM item: the quoted table, or the query as a derived table ``q``."""
        if self.db.query is not None:
            return f"({self.db.query}) AS q"
        return ".".join(self.quote(p) for p in self.db.table_parts) + " AS q"

    # ------------------------------------------------------------------ running
    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """All rows of a small query."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def describe(self) -> list[tuple[str, Any]]:
        """(name, driver type code) of the source's columns, from a query that returns no row."""
        cur = self.conn.cursor()
        try:
            cur.execute(f"SELECT * FROM {self.relation()} WHERE 1 = 0")
            return [(d[0], d[1]) for d in cur.description]
        except Exception as e:
            raise self.error(e) from None
        finally:
            cur.close()

    def stream(self, sql: str) -> Iterator[list[tuple]]:
        """Batches of rows of a query, from a server-side cursor."""
        if self.dialect == "postgres":
            cur = self.conn.cursor(name="ecrm_stage")
            cur.itersize = BATCH_ROWS
        else:
            import pymysql.cursors

            cur = pymysql.cursors.SSCursor(self.conn)
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(BATCH_ROWS):
                yield rows
        finally:
            cur.close()

    def error(self, e: BaseException) -> DataSourceError:
        what = f"table {self.db.table}" if self.db.table else "its query"
        return DataSourceError(f"{self.where}: reading {what} from {self.db.masked_url()} failed: {_first_line(e)}")

    def primary_key(self) -> tuple[str, ...]:
        """The table's primary-key columns in key order (none for a query), from the catalogue."""
        if self.db.table is None:
            return ()
        parts = self.db.table_parts
        schema, table = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1])
        if self.dialect == "postgres":
            sql = ("SELECT k.column_name FROM information_schema.table_constraints c "
                   "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
                   "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
                   "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_name = %s "
                   "AND c.table_schema = coalesce(%s, current_schema()) ORDER BY k.ordinal_position")
        else:
            sql = ("SELECT column_name FROM information_schema.key_column_usage WHERE constraint_name = 'PRIMARY' "
                   "AND table_name = %s AND table_schema = coalesce(%s, database()) ORDER BY ordinal_position")
        return tuple(r[0] for r in self.execute(sql, (table, schema)))

    def close(self) -> None:
        try:
            self.conn.rollback()  # nothing was written: end the read-only transaction
        finally:
            self.conn.close()

    def __enter__(self) -> DatabaseSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_session(source: SourceConfig) -> DatabaseSession:
    """A read-only session on a database source's server."""
    if source.database is None:
        raise ConfigError(f"source {source.name!r} reads a file, not a database.")
    return DatabaseSession(source.database, f"source {source.name!r} ({source.file})")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# ----------------------------------------------------------------------------- fingerprint


def _fingerprint(session: DatabaseSession) -> tuple[int, str, str]:
    """(rows, fingerprint, method) computed by the server."""
    db = session.db
    if session.dialect == "postgres":
        method = "count + sum(hashtextextended(row::text, 0))"
        n, agg = session.execute(f"SELECT count(*), sum(hashtextextended(q::text, 0)) FROM {session.relation()}")[0]
    elif db.table is not None:
        method = "count + CHECKSUM TABLE"
        name = ".".join(session.quote(p) for p in db.table_parts)
        n = session.execute(f"SELECT COUNT(*) FROM {name}")[0][0]
        agg = session.execute(f"CHECKSUM TABLE {name}")[0][1]
    else:
        method = "count + sum(MD5(JSON_ARRAY(row)) first 60 bits)"
        cols = ", ".join(f"q.{session.quote(c)}" for c, _ in session.describe())
        n, agg = session.execute(
            f"SELECT COUNT(*), SUM(CAST(CONV(SUBSTRING(MD5(JSON_ARRAY({cols})), 1, 15), 16, 10) AS UNSIGNED)) "
            f"FROM {session.relation()}")[0]
    digest = hashlib.sha256(f"{method}|{int(n)}|{agg}".encode()).hexdigest()
    return int(n), digest, method


def source_fingerprint(source: SourceConfig) -> dict[str, Any]:
    """Row count and fingerprint of a database source (one read-only query on the server).

    Returns
    -------
    dict
        ``rows``, ``sha256`` (SHA-256 of method, count and hash aggregate),
        ``method`` and ``connection`` (the URL with the secret masked).
    """
    with open_session(source) as session:
        try:
            n, digest, method = _fingerprint(session)
        except DataSourceError:
            raise
        except Exception as e:
            raise session.error(e) from None
    return {"rows": n, "sha256": digest, "method": method, "connection": source.database.masked_url()}


# ----------------------------------------------------------------------------- types


_PG_TYPES = {16: "bool", 20: "int", 21: "int", 23: "int", 26: "int", 700: "float", 701: "float", 1700: "float",
             1082: "date", 1114: "timestamp", 1184: "timestamptz", 25: "text", 1043: "text", 1042: "text", 19: "text"}
# pymysql.constants.FIELD_TYPE codes
_MY_TYPES = {1: "int", 2: "int", 3: "int", 8: "int", 9: "int", 13: "int", 4: "float", 5: "float", 0: "float",
             246: "float", 10: "date", 14: "date", 12: "timestamp", 7: "timestamptz"}


def _kind(dialect: str, code: Any) -> str:
    return (_PG_TYPES if dialect == "postgres" else _MY_TYPES).get(code, "text")


def _arrow_column(values: list, kind: str):
    import pyarrow as pa

    if kind == "int":
        return pa.array(values, type=pa.int64())
    if kind == "float":
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if kind == "bool":
        return pa.array(values, type=pa.bool_())
    if kind == "date":
        return pa.array(values, type=pa.date32())
    if kind == "timestamp":
        return pa.array(values, type=pa.timestamp("us"))
    if kind == "timestamptz":
        import datetime as dt

        utc = [v if v is None or v.tzinfo is not None else v.replace(tzinfo=dt.timezone.utc) for v in values]
        return pa.array(utc, type=pa.timestamp("us", tz="UTC"))
    return pa.array([None if v is None else (v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray))
                                             else str(v)) for v in values], type=pa.string())


# ----------------------------------------------------------------------------- staging


@dataclass
class KeyLabels:
    """Labels of staged rows by their key (``key account_id='A-1'``), the database's line numbers.

    Attributes
    ----------
    con : ibis DuckDB backend
    table : str
        Engine table with ``__pos`` and the key columns.
    key : tuple of str
        Key columns (empty: rows are labelled ``row N``).
    unique : bool
        Whether the key is the table's primary key (otherwise the row number
        in key order is added).
    """

    con: Any
    table: str
    key: tuple[str, ...]
    unique: bool
    kind: str = "key"

    def labels(self, positions) -> list[str]:
        """Labels of 0-based staged rows, in the order given."""
        pos = np.asarray(positions, dtype=np.int64)
        if pos.size == 0:
            return []
        if not self.key:
            return [f"row {p + 1}" for p in pos]
        import pandas as pd

        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in self.key)
        duck = self.con.con
        duck.register("__ecrm_wanted", pd.DataFrame({"p": np.unique(pos)}))
        try:
            got = {int(r[0]): r[1:] for r in duck.execute(
                f"SELECT __pos, {cols} FROM {self.table} WHERE __pos IN (SELECT p FROM __ecrm_wanted)").fetchall()}
        finally:
            duck.unregister("__ecrm_wanted")
        out = []
        for p in pos:
            values = got.get(int(p))
            if values is None:
                out.append(f"row {p + 1}")
                continue
            text = ", ".join(f"{c}={_show(v)}" for c, v in zip(self.key, values))
            out.append(f"key {text}" if self.unique else f"key {text}, row {p + 1} in key order")
        return out


def _show(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    return str(v)


def stage_database(con, source: SourceConfig, index: int):
    """Read a database source into the engine as table ``src_<index>`` (a :class:`StagedSource`).

    Parameters
    ----------
    con : ibis DuckDB backend
        The loader's engine.
    source : SourceConfig
        With ``database`` set.
    index : int
        Position of the source in the config (names the engine tables).

    Raises
    ------
    DataSourceError
        The server cannot be reached, the table or query fails, or it has no rows.
    ConfigError
        A ``key`` column the table does not have.
    """
    from ecrm_lib.data.read import StagedSource

    db = source.database
    raw, table = f"raw_{index}", f"src_{index}"
    duck = con.con
    with open_session(source) as session:
        try:
            columns = session.describe()
            names = [c for c, _ in columns]
            pk = session.primary_key()
            key = tuple(db.key) or pk
            missing = [k for k in key if k not in names]
            if missing:
                raise ConfigError(f"source {source.name!r}: key column(s) {missing} are not in {source.file}; "
                                  f"its columns are {names}.")
            unique = bool(pk) and set(key) == set(pk)
            order = list(key) + ([] if unique else [c for c in names if c not in key])
            kinds = [_kind(session.dialect, code) for _, code in columns]
            cols = ", ".join(f"q.{session.quote(c)}" for c in names)
            sql = f"SELECT {cols} FROM {session.relation()}"
            if order:
                sql += " ORDER BY " + ", ".join(f"q.{session.quote(c)}" for c in order)
            n_rows, digest, method = _fingerprint(session)  # same snapshot as the rows (PostgreSQL)
            import pyarrow as pa

            duck.execute(f"DROP TABLE IF EXISTS {raw}")
            schema = pa.schema([(n, _arrow_column([], k).type) for n, k in zip(names, kinds)])
            duck.register("__ecrm_batch", pa.table({n: pa.array([], t) for n, t in zip(names, schema.types)}))
            duck.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM __ecrm_batch")
            read = 0
            for rows in session.stream(sql):
                batch = pa.table({n: _arrow_column([r[j] for r in rows], k)
                                  for j, (n, k) in enumerate(zip(names, kinds))})
                duck.register("__ecrm_batch", batch)
                duck.execute(f"INSERT INTO {raw} SELECT * FROM __ecrm_batch")
                read += len(rows)
            duck.unregister("__ecrm_batch")
        except (ConfigError, DataSourceError):
            raise
        except Exception as e:
            raise session.error(e) from None
    if read == 0:
        raise DataSourceError(f"source {source.name!r}: {source.file} at {db.masked_url()} has columns but no rows.")
    duck.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid AS __pos, * FROM {raw}")
    staged = StagedSource(source, table, names, True, read, None, digest, KeyLabels(con, table, key, unique))
    staged.origin = {"connection": db.masked_url(), "fingerprint": method, "rows": n_rows}
    return staged

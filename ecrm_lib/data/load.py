"""Loading the configured sources into validated canonical tables, in the engine.

:func:`load_sources` reads every source of a :class:`~ecrm_lib.core.config.Config`
(CSV, gzip-compressed CSV, Parquet, or a PostgreSQL/MySQL table or read-only query
through :mod:`~ecrm_lib.data.dbsource`) into an embedded DuckDB (memory limit and
spill folder from the config's ``engine:`` section), maps its columns onto the
canonical tables of :mod:`ecrm_lib.core.schema`, applies the config's policies
and validates, all as engine queries: no table is held in Python. The
canonical tables are written by the engine as Parquet files, which
:class:`LoadResult` holds and :meth:`LoadResult.save` puts into a run's
``private/canonical/``. Every row that is not kept is counted by source and
reason, every change made to a kept row is counted as an adjustment, and
every problem found is reported at once in a single
:class:`~ecrm_lib.core.errors.DataValidationError`.

Modules: :mod:`~ecrm_lib.data.read` (files into the engine, line numbers),
:mod:`~ecrm_lib.data.convert` (column conversions),
:mod:`~ecrm_lib.data.expressions` (the config's expression language),
:mod:`~ecrm_lib.data.validate` (schema checks, the error), and this module
(the order of the steps, the policies, the records).

How a source is read
--------------------
- Every CSV column is read as text first, so identifiers such as ``007`` keep
  their zeros; only an empty field is missing (``NA`` or ``null`` stay text).
  Parquet columns keep their stored types.
- ``encoding: euc-kr`` (also ``euc_kr``, ``ks_c_5601-1987``) is read as
  ``cp949``, its superset, and recorded as an adjustment.
- Line numbers are physical lines of the file (the header is line 1, the first
  data row line 2, counting ``skip_rows`` and quoted line breaks); Parquet rows
  are reported as ``row N`` (1-based).
- A row with fewer fields than the header is set aside ("fewer fields than the
  header"; policy ``short_rows``), never padded with missing values.
- The source column ``__row__`` is the 1-based data-row number, for files
  without identifiers.

How columns are converted
-------------------------
- ``string``: surrounding white space is trimmed and blank values become
  missing (both counted); values of columns with a fixed list of values are
  lower-cased (counted). Personal data (name, email, phone), postcodes and
  free text stay exactly as written, except that a value of spaces alone
  becomes missing (counted). Whole-number floats (a Parquet id ``12346.0``)
  are written without ``.0`` (counted).
- ``float``/``int``: plain numbers; a currency symbol (only one kind per column
  and matching the config's currency) and comma thousands separators in the
  ``1,234.5`` layout are removed (counted). ``1,5`` or ``1.234,5`` are not
  guessed at. Anything else is a validation failure, never a silent NaN.
- ``datetime``: parsed with the source's ``date_format``, else as ISO 8601,
  else by inference (counted). Naive values are read in the source's time zone
  and converted to UTC; values with an offset are converted; in a column that
  mixes both, the naive ones are counted. Local times that a clock change makes
  ambiguous are read as summer time, non-existent ones moved forward (counted).
- ``bool``: true/false, yes/no, y/n, t/f, 1/0 (any case).

Expressions (``computed`` and ``set_aside: when``) are written in the small
language of :mod:`ecrm_lib.data.expressions` (documented in
:mod:`ecrm_lib.core.config`), compiled for the engine and never run by Python.
A CSV column whose values are all numbers (without leading zeros) is a number
in an expression (compare it with numbers: ``Qty == 0``), any other column is
text; Parquet columns keep their types. When an expression does not fit those
types, a column that mostly holds numbers is tried as numbers (its other
values missing: reported as failures when they feed a number column, never
matching a rule).

Policies and rules
------------------
Each row is set aside for the first reason that applies, in this order: a
missing key (``missing_keys``), the source's ``set_aside`` rules in order, an
amount <= 0 (``nonpositive_amounts``, transactions), a time after the end of
the as-of day in the config's time zone (``after_as_of``), and an exact
duplicate of an earlier kept row of the same source, compared on every column
of the file (``duplicates``). Values of set-aside rows are not validated.
A load that needs more memory than ``engine: memory_limit`` fails with
:class:`~ecrm_lib.data.engine.EngineMemoryError` naming that setting.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import weakref
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import re

import pandas as pd

from ecrm_lib.core.config import Config
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import ConfigError, DataValidationError
from ecrm_lib.core.i18n import t
from ecrm_lib.core.schema import TABLES
from ecrm_lib.data.canonical import canonical_query, table_failures, write_parquet
from ecrm_lib.data.dialect import EngineSQL
from ecrm_lib.data.engine import connect, engine_error
from ecrm_lib.data.expressions import prepare_expressions
from ecrm_lib.data.mapping import ROW_NUMBER_COLUMN, SourceLoad
from ecrm_lib.data.read import StagedSource, sql_name, sql_string, stage_source
from ecrm_lib.data.validate import FAILURE_COLUMNS, MAX_FAILURE_ROWS, raise_failures

__all__ = ["ROW_NUMBER_COLUMN", "CanonicalTables", "LoadResult", "load_on_config_engine", "load_sources",
           "loads_on_spark", "record_text", "records_in_language"]


_SET_ASIDE_COLUMNS = ["source", "table", "file", "line", "reason"]
_ADJUSTMENT_COLUMNS = ["source", "table", "file", "adjustment", "rows"]
_SUMMARY_COLUMNS = ["source", "table", "file", "rows_read", "rows_set_aside", "rows_kept"]
_FILES_COLUMNS = ["source", "table", "file", "path", "bytes", "sha256", "connection", "fingerprint", "rows"]
_ACCOUNT_TABLES = ("transactions", "contacts", "feedback", "campaigns")

# The load's own words for a set-aside reason or an adjustment, as recorded (English, in load/*.csv and the
# products) -> the catalogue message (load.reason.* / load.adjustment.*) that words it on a page.
_RECORD_WORDS = [
    # only the canonical tables' keys: a config rule's own reason ("missing receipt") stays the user's
    (re.compile(r"missing (?P<keys>%s)" % "|".join(sorted({re.escape(" / ".join(s.key)) for s in TABLES.values() if s.key}))),
     "load.reason.missing_key"),
    (re.compile(r"amount <= 0"), "load.reason.nonpositive"),
    (re.compile(r"after the as-of date (?P<date>\d{4}-\d{2}-\d{2})"), "load.reason.after_as_of"),
    (re.compile(r"exact duplicate of an earlier row"), "load.reason.duplicate"),
    (re.compile(r"fewer fields than the header"), "load.reason.short_row"),
    (re.compile(r"amount <= 0 kept \(policy nonpositive_amounts: keep\)"), "load.adjustment.nonpositive_kept"),
    (re.compile(r"exact duplicate rows kept \(policy duplicates: keep\)"), "load.adjustment.duplicates_kept"),
    (re.compile(r"file read as cp949, the superset of the declared (?P<enc>.+)"), "load.adjustment.cp949"),
    (re.compile(r"(?P<col>.+): numbers stored as floats written as whole numbers \(12346\.0 -> 12346\)"), "load.adjustment.whole"),
    (re.compile(r"(?P<col>.+): blank values \(spaces only\) read as missing"), "load.adjustment.blank_spaces"),
    (re.compile(r"(?P<col>.+): blank values read as missing"), "load.adjustment.blank"),
    (re.compile(r"(?P<col>.+): leading/trailing spaces removed"), "load.adjustment.trimmed"),
    (re.compile(r"(?P<col>.+): values lower-cased \(allowed values are (?P<allowed>\[.*\])\)"), "load.adjustment.lowered"),
    (re.compile(r"(?P<col>.+): currency symbols or thousands separators removed"), "load.adjustment.currency"),
    (re.compile(r"(?P<col>.+): local times that do not exist in (?P<tz>\S+) \(clock change\) moved forward"),
     "load.adjustment.nonexistent"),
    (re.compile(r"(?P<col>.+): ambiguous local times in (?P<tz>\S+) \(clock change\) read as summer time"),
     "load.adjustment.ambiguous"),
    (re.compile(r"(?P<col>.+): timestamps without a time zone read as (?P<tz>\S+) \(the column mixes both\)"),
     "load.adjustment.naive"),
    (re.compile(r"(?P<col>.+): dates not in ISO 8601 read by inference \(set date_format to be sure\)"),
     "load.adjustment.inferred"),
]

_COLUMN_FROM = re.compile(r"(\S+) \(from (.+)\)")


def record_text(text: object) -> str:
    """A set-aside reason or an adjustment of the load as a page shows it, in the report language.

    The load records its reasons and adjustments in English (``load/set_aside.csv``,
    ``load/adjustments.csv``: data for tools); the ones the load itself writes (a missing key,
    ``amount <= 0``, after the as-of date, exact duplicate, fewer fields than the header, the
    column conversions) are worded through the catalogue (``load.reason.*``, ``load.adjustment.*``).
    A reason the config's ``set_aside`` rules give is the user's and stays as written.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> record_text("after the as-of date 2025-06-30"), record_text("test purchase")
    ('after the as-of date 2025-06-30', 'test purchase')
    >>> with using("ko"):
    ...     record_text("after the as-of date 2025-06-30"), record_text("missing account_id"), record_text("test purchase")
    ('기준일(2025년 6월 30일) 이후의 기록', '필수 값 account_id 없음', 'test purchase')
    >>> with using("ko"):
    ...     record_text("channel (from ch): leading/trailing spaces removed")
    'channel(원본 열 ch): 앞뒤 공백을 없앰'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    s = str(text)
    for pattern, key in _RECORD_WORDS:
        m = pattern.fullmatch(s)
        if m:
            values = m.groupdict()
            if "col" in values:  # "amount (from amt)": the canonical column and the source's
                src = _COLUMN_FROM.fullmatch(values["col"])
                values["col"] = t("load.column_from", col=src.group(1), source=src.group(2)) if src else values["col"]
            return t(key, **values)
    return s


def records_in_language(table: pd.DataFrame, columns: tuple[str, ...] = ("reason", "adjustment")) -> pd.DataFrame:
    """A copy of a table of set-aside reasons or adjustments with those columns worded by :func:`record_text`
    (for display inside the per-language loop: ``show(lambda: records_in_language(by_reason))``)."""
    out = table.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(record_text)
    return out


# ----------------------------------------------------------------------------- result


class CanonicalTables(Mapping):
    """The canonical tables of a load by name, each read into pandas on first access (then kept).

    For tests and small callers; large tables are read by the engine from
    :attr:`LoadResult.paths` (``ecrm_lib.data.engine.read_parquet``).
    """

    def __init__(self, result: LoadResult):
        self._result = result
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._result.paths:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = pd.read_parquet(self._result.paths[name])
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._result.paths)

    def __len__(self) -> int:
        return len(self._result.paths)


@dataclass
class LoadResult:
    """What :func:`load_sources` returns.

    Attributes
    ----------
    paths : dict of str to Path
        Canonical, validated tables as Parquet files (only those the config
        feeds; dtypes of :data:`ecrm_lib.core.schema.PANDAS_DTYPES` when read
        with pandas; timestamps in UTC; money in the config's currency).
        Until :meth:`save` they live in a temporary folder that is removed
        with the result.
    rows : dict of str to int
        Rows per canonical table.
    summary : DataFrame
        Per source: source, table, file (base name), rows_read,
        rows_set_aside, rows_kept.
    set_aside : DataFrame
        One row per set-aside row: source, table, file, line, reason (no raw
        values). ``line`` is the physical line (``"row N"`` for Parquet).
    adjustments : DataFrame
        Counted changes to kept rows: source, table, file, adjustment, rows.
    files : DataFrame
        Every input file: source, table, file, path, bytes, sha256; for a
        database source ``file`` is ``table s.t`` (or ``query of <source>``),
        ``sha256`` its fingerprint (:mod:`ecrm_lib.data.dbsource`), and
        ``connection`` (secret masked) and ``fingerprint`` (the method) are set.
    as_of : datetime.date
        Analysis date (the argument, else the config's, else the last date in
        the data in the config's time zone).
    """

    paths: dict[str, Path]
    rows: dict[str, int]
    summary: pd.DataFrame
    set_aside: pd.DataFrame
    adjustments: pd.DataFrame
    files: pd.DataFrame
    as_of: dt.date
    work_dir: Path | None = None
    _tables: CanonicalTables | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.work_dir is not None:
            weakref.finalize(self, shutil.rmtree, str(self.work_dir), True)

    @property
    def tables(self) -> CanonicalTables:
        """The canonical tables as pandas DataFrames, read on first access (small data and tests)."""
        if self._tables is None:
            self._tables = CanonicalTables(self)
        return self._tables

    def frame(self, name: str) -> pd.DataFrame:
        """One canonical table read into pandas (a copy)."""
        return pd.read_parquet(self.paths[name])

    def set_aside_counts(self) -> pd.DataFrame:
        """Set-aside rows counted per source, table, file and reason (column ``rows``)."""
        if self.set_aside.empty:
            return pd.DataFrame(columns=["source", "table", "file", "reason", "rows"])
        return (
            self.set_aside.groupby(["source", "table", "file", "reason"], sort=False)
            .size()
            .rename("rows")
            .reset_index()
        )

    def save(self, layout) -> None:
        """Put the tables and the load records into a run folder.

        Parameters
        ----------
        layout : ecrm_lib.run.context.RunLayout
            Moves the Parquet files to ``private/canonical/<table>.parquet``
            (copies them when they are not this result's own temporary files)
            and writes ``load/load_report.csv`` (the summary),
            ``load/set_aside.csv``, ``load/adjustments.csv`` and ``load/files.csv``.
        """
        layout.canonical_dir.mkdir(parents=True, exist_ok=True)
        layout.load_dir.mkdir(parents=True, exist_ok=True)
        for name, path in list(self.paths.items()):
            target = Path(layout.canonical(name))
            if Path(path).resolve() == target.resolve():
                continue
            if self.work_dir is not None and Path(self.work_dir) in Path(path).parents:
                shutil.move(str(path), target)
                self.paths[name] = target
            else:
                shutil.copyfile(path, target)
        self.summary.to_csv(layout.load_dir / "load_report.csv", index=False)
        self.set_aside.to_csv(layout.load_dir / "set_aside.csv", index=False)
        self.adjustments.to_csv(layout.load_dir / "adjustments.csv", index=False)
        self.files.to_csv(layout.load_dir / "files.csv", index=False)


# ----------------------------------------------------------------------------- entry point


def load_sources(
    config: Config,
    as_of: str | dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    work_dir: str | Path | None = None,
    con: Any = None,
) -> LoadResult:
    """Read, map, police and validate every source of a config, in the engine.

    Parameters
    ----------
    config : Config
        From :func:`ecrm_lib.core.config.load_config`.
    as_of : str or date, optional
        Analysis date (YYYY-MM-DD). Default: ``config.as_of``, else the last
        date of any time column among the loaded (not set-aside) rows, in the
        config's time zone (today when no table has a time column).
    progress : callable, optional
        Called with one message per source as it is read.
    work_dir : path-like, optional
        Folder for the engine's temporary files and the canonical Parquet
        files until :meth:`LoadResult.save` (default: a new temporary folder,
        in ``engine: spill_dir`` when set).
    con : Ibis connection, optional
        The engine to load on (the caller's: left open). Default: a new embedded DuckDB with the config's
        ``engine:`` limits. A PySpark connection (``ibis.pyspark.connect(session)``) loads Parquet sources
        on Spark: their rows are numbered in file order as on DuckDB (``row N``), and the canonical tables
        come to this process as Arrow to be written; CSV and database sources load on DuckDB only (their
        line numbers and keys need its readers).

    Returns
    -------
    LoadResult
        The canonical tables (Parquet files) plus the counts of what was read,
        set aside and adjusted, and the input files' SHA-256.

    Raises
    ------
    DataSourceError
        A file is missing, empty, has no data rows, is malformed (a row with
        more fields than the header, a quote that never closes) or cannot be
        decoded (the message names file and line).
    DataValidationError
        Values that do not parse, schema violations, mapped columns missing
        from a file, rows under an ``error`` policy; ``.failures`` lists them
        (file, line, column, value, problem, fix). Also raised when every row
        of a table was set aside.
    ConfigError
        An expression in the config is outside the expression language or does
        not fit the columns' types.
    EngineMemoryError
        The engine needed more memory than ``engine: memory_limit``.

    Examples
    --------
    >>> from ecrm_lib.core.config import load_config
    >>> from ecrm_lib.core.paths import CONFIG_DIR
    >>> result = load_sources(load_config(CONFIG_DIR / "cdnow.yaml"))
    >>> result.summary[["table", "rows_read", "rows_kept"]].to_dict("records")
    [{'table': 'transactions', 'rows_read': 6919, 'rows_kept': 6919}]
    >>> int(result.tables["transactions"]["account_id"].nunique())
    2357
    """
    for source in config.sources:
        if source.extra_columns is not None and not TABLES[source.table].keep_extra:
            raise ConfigError(
                f"source {source.name!r}: `extra_columns` only applies to tables that keep extra columns "
                f"(customers), not {source.table!r}."
            )
    # every expression is parsed and checked before any file is read: nothing from a config runs
    parsed = [prepare_expressions(source) for source in config.sources]
    if getattr(con, "name", "") == "pyspark":
        other = [s.name for s in config.sources if s.database is not None or s.format != "parquet"]
        if other:
            raise ConfigError(f"loading on Spark reads Parquet files only; source(s) {other} are CSV or database "
                              "sources: load them without a Spark connection (on embedded DuckDB).")
        from ecrm_lib.data.functions import strftime_to_java

        for source in config.sources:  # a format Spark would read otherwise: named with its source, before any read
            if source.date_format:
                try:
                    strftime_to_java(source.date_format)
                except ConfigError as e:
                    raise ConfigError(f"source {source.name!r} ({source.path.name}): {e}") from None
    base = Path(work_dir) if work_dir else (config.engine.spill_dir or None)
    if base is not None:
        Path(base).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ecrm-load-", dir=str(base) if base else None))
    # without a connection, loading runs on the embedded engine with the config's limits
    settings = replace(config.engine, kind="spark" if getattr(con, "name", "") == "pyspark" else "duckdb")
    import ibis

    fuse = ibis.options.sql.fuse_selects
    own = con is None
    try:
        if own:
            con = connect(settings, spill_dir=work / "spill")
        # each layer of helper columns stays a subquery: computed once, and compiled without Ibis's
        # select fusing (which copies every helper expression into each use and costs most of the compile time)
        ibis.options.sql.fuse_selects = False
        try:
            return _Load(config, con, work, parsed, progress).run(as_of)
        finally:
            ibis.options.sql.fuse_selects = fuse
            if own:
                con.disconnect()
    except DataValidationError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except Exception as e:
        shutil.rmtree(work, ignore_errors=True)
        err = engine_error(e, settings)
        if err is not e:
            raise err from None
        raise


def loads_on_spark(config: Config) -> bool:
    """True when a config's data load on Spark: ``engine: spark`` and every source a Parquet file.

    CSV and database sources need DuckDB's readers (line numbers, keys); a config with any of them loads on
    embedded DuckDB, which writes the canonical Parquet that Spark then reads.
    """
    return config.engine.kind == "spark" and all(s.database is None and s.format == "parquet" for s in config.sources)


def load_on_config_engine(config: Config, as_of: str | dt.date | None = None,
                          progress: Callable[[str], None] | None = None, *, remote: str | None = None,
                          work_dir: str | Path | None = None) -> LoadResult:
    """:func:`load_sources` on the config's engine: Spark where :func:`loads_on_spark`, else embedded DuckDB.

    Parameters
    ----------
    remote : str, optional
        A Spark Connect URL to load on (``ecrm run`` gives its server's); default: the config's ``remote:``,
        else a Spark session of this process from the config's ``master`` (as a notebook opened by hand).
    """
    if not loads_on_spark(config):
        return load_sources(config, as_of, progress, work_dir=work_dir)
    from ecrm_lib.data.engine import release_spark_sessions

    settings = config.engine if remote is None else replace(
        config.engine, spark={**config.engine.spark, "remote": remote})
    if progress is not None:
        where = remote or config.engine.spark.get("remote") or config.engine.spark.get("master", "local[*]")
        progress(f"loading on Spark ({where})")
    con = connect(settings)
    try:
        return load_sources(config, as_of, progress, work_dir=work_dir, con=con)
    finally:
        if remote is not None or settings.spark.get("remote"):
            # the server frees the load's views and caches now, not at the session's timeout, and the process's
            # environment loses the Connect mark PySpark gave it (a classic session can start after this)
            release_spark_sessions()


class _Load:
    def __init__(self, config: Config, con, work: Path, parsed, progress):
        self.config = config
        self.con = con
        self.work = work
        self.parsed = parsed
        self.progress = progress
        self.sql = EngineSQL(con)
        self.sql.utc()
        self.sources: list[SourceLoad] = []

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    def run(self, as_of) -> LoadResult:
        config = self.config
        for i, source in enumerate(config.sources):
            self.say(f"reading {source.label} into {source.table}")
            staged: StagedSource = stage_source(self.con, source, i, self.work)
            load = SourceLoad(self.con, config, staged, i, self.parsed[i])
            load.build()
            self.sources.append(load)

        as_of_date = as_date(as_of, "as_of", optional=True) or config.as_of or self._infer_as_of()
        end_local = pd.Timestamp(as_of_date + dt.timedelta(days=1)).tz_localize(config.timezone)
        end_utc = end_local.tz_convert("UTC")
        for load in self.sources:
            load.finish(end_utc, as_of_date)

        not_yet = self._all_set_aside(as_of_date)
        self._check_failures(not_yet)

        # table by table: write it, read back its sources' records, free their engine tables
        paths, rows, records, unknown = {}, {}, {}, {}
        out_dir = self.work / "canonical"
        out_dir.mkdir(parents=True, exist_ok=True)
        for table in config.tables():
            srcs = [s for s in self.sources if s.source.table == table]
            if table not in not_yet:
                sql, columns, kinds = canonical_query(self.con, table, srcs)
                path = out_dir / f"{table}.parquet"
                rows[table] = write_parquet(self.con, sql, columns, kinds, path)
                paths[table] = path
                if table == "accounts":
                    self.sql.run(f"CREATE OR REPLACE TEMP TABLE known_accounts AS SELECT DISTINCT account_id "
                                 f"FROM read_parquet({sql_string(path)})")
            for s in srcs:
                records[s.index] = (s.adjustment_rows(), s.summary_row(), s.set_aside_rows())
                if table in _ACCOUNT_TABLES and table in paths and "accounts" in paths:
                    unknown[s.index] = self._unknown_accounts(s)
                s.drop()
        adjustments = [a for s in self.sources for a in records[s.index][0]]
        for table in _ACCOUNT_TABLES:  # after every source's own adjustments, as before
            adjustments += [a for s in self.sources if s.source.table == table for a in unknown.get(s.index, [])]
        summary = [records[s.index][1] for s in self.sources]
        aside = [records[s.index][2] for s in self.sources]
        aside = [a for a in aside if len(a)]
        set_aside = pd.concat(aside, ignore_index=True) if aside else pd.DataFrame(columns=_SET_ASIDE_COLUMNS)
        files = [{**s.file_row(), **s.staged.origin} for s in self.sources]
        return LoadResult(
            paths=paths,
            rows=rows,
            summary=pd.DataFrame(summary, columns=_SUMMARY_COLUMNS),
            set_aside=set_aside.astype({"line": "string", "reason": "string"}) if len(set_aside) else set_aside,
            adjustments=pd.DataFrame(adjustments, columns=_ADJUSTMENT_COLUMNS),
            files=pd.DataFrame(files, columns=_FILES_COLUMNS),
            as_of=as_of_date,
            work_dir=self.work,
        )

    def _infer_as_of(self) -> dt.date:
        latest = None
        for load in self.sources:
            m = load.latest_time()
            if m is not None and (latest is None or m > latest):
                latest = m
        tz = self.config.timezone
        if latest is None:
            return dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()
        return pd.Timestamp(latest).tz_convert(tz).date()

    def _all_set_aside(self, as_of_date: dt.date) -> set[str]:
        """Tables whose every row was set aside: absent when all are after the as-of date, else an error."""
        not_yet: set[str] = set()
        for table in self.config.tables():
            srcs = [s for s in self.sources if s.source.table == table]
            if any(s.missing for s in srcs) or any(s.has_policy_failures() for s in srcs) or sum(
                    s.kept_count() for s in srcs) > 0:
                continue
            counts = pd.concat([s.reason_counts() for s in srcs]).groupby("reason", sort=False)["n"].sum()
            counts = counts.sort_values(ascending=False, kind="stable")
            if len(counts) and all(str(r).startswith("after the as-of date") for r in counts.index):
                # e.g. a campaign sent after an earlier as-of date: nothing wrong with the file; the rows
                # are counted as set aside and the table is left out of this run (notebooks adapt)
                not_yet.add(table)
                self.say(f"{table}: every row is dated after the as-of date {as_of_date.isoformat()}; "
                         "the table is left out of this run (rows counted as set aside)")
                continue
            detail = "; ".join(f"{reason}: {int(n):,} rows" for reason, n in counts.items())
            failures = pd.DataFrame(
                [{"source": ", ".join(s.source.name for s in srcs), "table": table,
                  "file": ", ".join(s.file for s in srcs), "line": "", "column": "",
                  "value": str(int(n)), "problem": f"all rows set aside: {int(n):,} x {reason}",
                  "fix": "check the policies and set_aside rules in the config"} for reason, n in counts.items()],
                columns=FAILURE_COLUMNS,
            )
            raise DataValidationError(
                f"table {table!r}: every row of its source(s) "
                f"{', '.join(s.source.label for s in srcs)} was set aside, so nothing is left to analyse "
                f"({detail}). Check the policies (as-of date {as_of_date.isoformat()}) and set_aside rules "
                "in the config, or the file.",
                failures=failures,
            )
        return not_yet

    def _check_failures(self, not_yet: set[str]) -> None:
        """Every problem of every source and table, in one error (counted in the engine)."""
        parts, total, counts = [], 0, []
        for load in self.sources:
            frame, n, c = load.failures(MAX_FAILURE_ROWS)
            parts.append(frame)
            total += n
            counts.append(c)
        for table in self.config.tables():
            if table in not_yet:
                continue
            srcs = [s for s in self.sources if s.source.table == table]
            frame, n, c = table_failures(self.con, table, srcs, MAX_FAILURE_ROWS)
            parts.append(frame)
            total += n
            counts.append(c)
        if total == 0:
            return
        allf = pd.concat([p for p in parts if len(p)], ignore_index=True)
        allf = allf.sort_values(["_src", "_pos", "_order"], kind="stable").head(MAX_FAILURE_ROWS)
        cnt = pd.concat([c for c in counts if len(c)], ignore_index=True)
        cnt = cnt.sort_values(["_src", "_pos", "_order"], kind="stable")
        cnt = cnt.groupby(["file", "problem"], sort=False)["n"].sum().reset_index()
        raise_failures(allf[FAILURE_COLUMNS], total=total, counts=cnt)

    def _unknown_accounts(self, load: SourceLoad) -> list[dict[str, Any]]:
        """Kept rows of a source whose account_id is not in the accounts table (counted, not dropped)."""
        n = self.sql.one(
            f"SELECT count(*) FROM {load.final} f WHERE f.__why IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM known_accounts a WHERE a.account_id = f.{sql_name('account_id')})")[0]
        if not n:
            return []
        return [{"source": load.source.name, "table": load.source.table, "file": load.file,
                 "adjustment": "rows reference accounts not in the accounts table (kept)", "rows": int(n)}]

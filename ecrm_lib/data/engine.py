"""The engine that holds and processes the tables: embedded DuckDB by default, Spark for clusters.

Tables stay in the engine as Ibis expressions from the canonical Parquet files
of a run to the per-customer summaries; only per-customer or aggregated tables
come into pandas for the models. :func:`connect` opens a connection from the
config's ``engine:`` section (:class:`~ecrm_lib.core.config.EngineSettings`):

- DuckDB runs out of core: it holds at most ``memory_limit`` in memory and
  writes the rest to ``spill_dir``. ``memory_limit: auto`` gives each notebook
  that runs at the same time an equal part of 15 % of the machine's memory
  (:data:`AUTO_MEMORY_SHARE`; the rest is for the notebooks' pandas tables);
  ``threads: auto`` gives each the machine's cores. jemalloc's background
  threads give the memory of a finished query back to the system, so that a
  notebook's pandas tables can use it.
- Spark: ``kind: spark`` with ``spark: {master: ..., remote: ..., conf: {...}}``;
  the session time zone is UTC (timestamps are stored in UTC). A notebook
  connects to a Spark Connect server when the config names one
  (``remote: sc://host:port``) or when ``ecrm run`` started one for the run
  and put its URL in ``$ECRM_SPARK_REMOTE`` (:data:`REMOTE_ENV`); otherwise
  (a notebook opened by hand) it starts its own Spark session with ``master``.

A query that needs more memory than the limit and cannot spill fails with
:class:`EngineMemoryError`, whose message names the setting to change.

Engine-specific functions that Ibis does not offer on every backend are
here too, one implementation per backend: :func:`local_date`,
:func:`local_time`, and the session-temporary tables and Splink database API
of identity resolution (:func:`keep_table`, :func:`drop_kept_table`,
:func:`splink_api`). On Spark a kept table is a local checkpoint (computed
once, held by the executors, lineage cut; Spark Connect has it too since
Spark 4.0) registered as a temporary view: Ibis's PySpark backend has no
temporary tables, and a plain view would be computed again, with new row
numbers, at each use. Temporary views belong to one Spark (Connect) session,
so notebooks sharing a server do not see each other's.
"""

from __future__ import annotations

import atexit
import os
import warnings
from pathlib import Path
from typing import Any

from ecrm_lib.core.config import EngineSettings
from ecrm_lib.core.errors import EcrmError

__all__ = [
    "EngineMemoryError",
    "machine_memory_bytes",
    "memory_limit_text",
    "thread_count",
    "connect",
    "read_parquet",
    "utc_timestamps",
    "backend_name",
    "local_date",
    "local_time",
    "engine_error",
    "keep_table",
    "drop_kept_table",
    "splink_api",
    "spark_remote",
    "REMOTE_ENV",
    "SESSION_SETTINGS",
    "release_spark_sessions",
]

#: Environment variable through which ``ecrm run`` gives its notebooks' kernels the URL of the run's Spark Connect server.
REMOTE_ENV = "ECRM_SPARK_REMOTE"

#: Spark settings every session of the suite has, whatever the config says (timestamps are stored in UTC).
SESSION_SETTINGS = {"spark.sql.session.timeZone": "UTC"}

#: Share of the machine's memory that the engines of one run may use together. DuckDB spills its joins and
#: aggregates to disk past its limit, the notebooks' pandas tables and models cannot: the rest is theirs. On 1M
#: generated persons (2 cores, 23 GiB, 2026-12-04) a limit of 1,500 MB per notebook instead of 7 GB (60 %) gave the
#: same run time (499.5 s against 534.9 s) and a lower peak (process tree 3.77 against 4.24 GiB; channel integration's
#: kernel 3,157 against 3,586 MiB: its per-customer product query had used the memory before spilling).
AUTO_MEMORY_SHARE = 0.15


class EngineMemoryError(EcrmError, MemoryError):
    """A query needed more memory than the engine's limit allows."""


def machine_memory_bytes() -> int:
    """Physical memory of this machine in bytes (8 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 << 30


def memory_limit_text(settings: EngineSettings, parallel: int = 1) -> str:
    """DuckDB's ``memory_limit`` for one notebook: the configured size, or the automatic share.

    Parameters
    ----------
    settings : EngineSettings
    parallel : int
        Notebooks that run at the same time (each has its own engine).

    Examples
    --------
    >>> memory_limit_text(EngineSettings(memory_limit="8GB"))
    '8GB'
    """
    if settings.memory_limit != "auto":
        return settings.memory_limit
    per = machine_memory_bytes() * AUTO_MEMORY_SHARE / max(1, int(parallel))
    return f"{max(256, int(per / 2**20))}MiB"


def thread_count(settings: EngineSettings, parallel: int = 1) -> int:
    """The configured number of threads, else the machine's cores shared by ``parallel`` notebooks (the engine
    asks for ``parallel=1``: every core; the models' native thread pools for their share,
    :func:`ecrm_lib.seef.scale.model_threads`)."""
    if settings.threads != "auto":
        return int(settings.threads)
    return max(1, (os.cpu_count() or 1) // max(1, int(parallel)))


def connect(settings: EngineSettings | None = None, *, spill_dir: str | os.PathLike | None = None, parallel: int = 1):
    """An Ibis connection to the configured engine.

    Parameters
    ----------
    settings : EngineSettings, optional
        Default: embedded DuckDB with automatic limits.
    spill_dir : path-like, optional
        Where DuckDB spills; ``settings.spill_dir`` wins when set. Created if needed.
    parallel : int
        Notebooks running at the same time (for the automatic memory and thread shares).

    Returns
    -------
    ibis.BaseBackend
    """
    import ibis

    settings = settings or EngineSettings()
    spill = settings.spill_dir or spill_dir
    if settings.kind == "spark":
        return _connect_spark(settings, spill)
    config: dict[str, Any] = {
        "memory_limit": memory_limit_text(settings, parallel),
        # every core, whatever else runs: the suite's critical path is mostly one notebook at a time (a share per
        # parallel notebook left one of two cores idle through the long queries of a 10M-person run), and DuckDB's
        # workers wait on a queue rather than spin, so two notebooks' threads on the same cores cost little; memory
        # is not elastic and stays shared (memory_limit_text)
        "threads": thread_count(settings),
        # jemalloc's background threads hand the pages a finished query freed back to the system within about a
        # second; without them each kernel kept its largest query's memory for good, beside the pandas frames that
        # come after it (churn at 1M persons: +250 MiB per per-customer query)
        "allocator_background_threads": True,
    }
    if spill:
        Path(spill).mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(spill)
    return ibis.duckdb.connect(**config)


def spark_remote(settings: EngineSettings) -> str | None:
    """The Spark Connect URL a notebook connects to, or None to start its own Spark session.

    The config's ``spark: remote:`` wins; else the URL of the server that
    ``ecrm run`` started for the run (``$ECRM_SPARK_REMOTE``); else None.

    Examples
    --------
    >>> spark_remote(EngineSettings(kind="spark", spark={"remote": "sc://cluster:15002"}))
    'sc://cluster:15002'
    """
    if settings.kind != "spark":
        return None
    return settings.spark.get("remote") or os.environ.get(REMOTE_ENV) or None


def _connect_spark(settings: EngineSettings, spill=None):
    """A Spark session as an Ibis connection: a Spark Connect client, or a session of its own.

    With a Spark Connect URL (:func:`spark_remote`) the session is a client of
    that server: the server holds the engine settings (``ecrm run`` started it
    with the config's ``master`` and ``conf``); of the config's ``conf``, the
    ``spark.sql.*`` keys are set on a cluster's server (``remote:``) for this
    session. Without one, this process starts its own Spark session from
    ``settings.spark`` (master, conf) with these defaults, which the config's
    ``conf`` may override: no console progress bars (they would fill the
    notebooks' logs) and, when ``spill`` is given, Spark's warehouse and local
    scratch folders there (not in the working directory). Inside
    ``spark-submit`` that session already exists and is reused
    (``getOrCreate``) with its own master. The session time zone is always UTC.
    """
    import ibis

    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - depends on the install
        raise EcrmError(
            "engine kind 'spark' needs pyspark: install the spark extra (pip install 'ecrm-lib[spark]')."
        ) from None
    remote = spark_remote(settings)
    if remote:
        # this process's live session of that server, else a new one: PySpark's getOrCreate would return any
        # default Connect session of the process, also one of a server that has stopped since (a second run in
        # the same process: its loader then waited for ever on the dead server)
        session = next((s for s, url in _CONNECT_SESSIONS if url == remote and not s.is_stopped), None)
        if session is not None:
            return ibis.pyspark.connect(session)
        if not _CONNECT_SESSIONS:  # PySpark marks the process as a Connect one: put back by release_spark_sessions
            _CONNECT_MARKS.clear()
            _CONNECT_MARKS.update({k: os.environ.get(k) for k in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")})
        try:
            session = SparkSession.builder.remote(remote).create()
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EcrmError(
                f"connecting to the Spark Connect server {remote} needs pyspark's connect client ({exc}): "
                "install the spark extra (pip install 'ecrm-lib[spark]')."
            ) from None
        own = {} if settings.spark.get("remote") is None else {
            str(k): str(v) for k, v in (settings.spark.get("conf") or {}).items() if str(k).startswith("spark.sql.")
        }
        for k, v in {**own, **SESSION_SETTINGS}.items():
            session.conf.set(k, v)
        if not _CONNECT_SESSIONS:
            atexit.register(release_spark_sessions)
        _CONNECT_SESSIONS.append((session, remote))
        # Ibis uploads in-memory tables with verifySchema=False, which a Connect session ignores (it does not
        # check them either) with a warning per upload that would fill the notebooks' outputs
        warnings.filterwarnings("ignore", message="'verifySchema' is ignored", category=UserWarning)
        return ibis.pyspark.connect(session)
    builder = SparkSession.builder.master(str(settings.spark.get("master", "local[*]"))).appName("ecrm")
    conf = {"spark.ui.showConsoleProgress": "false"}
    if spill:
        Path(spill).mkdir(parents=True, exist_ok=True)
        conf["spark.sql.warehouse.dir"] = str(Path(spill).resolve() / "spark-warehouse")
        conf["spark.local.dir"] = str(Path(spill).resolve())
    conf.update({str(k): str(v) for k, v in (settings.spark.get("conf") or {}).items()})
    conf.update(SESSION_SETTINGS)
    for k, v in conf.items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines would fill the kernel logs
    return ibis.pyspark.connect(session)


_CONNECT_SESSIONS: list = []
#: The Connect marks of the environment before this process's first session (PySpark builds no classic session in a
#: process marked as a Connect one), put back when its sessions are released.
_CONNECT_MARKS: dict = {}

#: Seconds a process's exit waits for the Spark Connect server to release a session.
RELEASE_TIMEOUT_S = 5.0


def release_spark_sessions() -> None:
    """End this process's Spark Connect sessions (called when the process exits: a notebook's kernel).

    The server then frees what the session held (temporary views, cached and
    persisted tables such as Splink's, checkpoints) at once, instead of when
    the session times out: the next notebooks of the run need that memory.
    The server itself keeps running. The process's environment gets back the
    Connect marks it had before its first session (a classic session can start
    after this, as in ``ecrm run``'s own process after loading on Spark).
    """
    import threading

    def stop(session) -> None:
        try:
            session.stop()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass

    while _CONNECT_SESSIONS:
        session, url = _CONNECT_SESSIONS.pop()
        if not _reachable(url):
            continue  # the server is gone (end of the run), and its sessions with it
        # a server that stops answering would make the client retry for minutes: never hold up the exit for it
        worker = threading.Thread(target=stop, args=(session,), daemon=True)
        worker.start()
        worker.join(RELEASE_TIMEOUT_S)
    for k, v in _CONNECT_MARKS.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _CONNECT_MARKS.clear()


def _reachable(url: str) -> bool:
    """True when the host and port of a ``sc://host:port/...`` URL accept a connection within half a second."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname or "localhost", parts.port or 15002), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def read_parquet(con, path: str | os.PathLike, name: str | None = None):
    """A Parquet file (or folder of files) as an Ibis table of ``con``, timestamps typed as on DuckDB.

    Spark reads the canonical UTC timestamps as its ``TIMESTAMP`` (an instant,
    shown in the session's UTC), which Ibis types without a zone; they are
    labelled UTC here (:func:`utc_timestamps`) so that every engine gives the
    same schema and the same zone-aware values in pandas.
    """
    table = con.read_parquet(str(path), table_name=name) if name else con.read_parquet(str(path))
    return utc_timestamps(table) if con.name == "pyspark" else table


def utc_timestamps(table):
    """Spark: timestamp columns without a zone typed as UTC instants (other engines: unchanged).

    Spark's ``TIMESTAMP`` is an instant (stored as UTC, shown in the session
    time zone, which :func:`connect` sets to UTC); Ibis types it without a
    zone, DuckDB's ``TIMESTAMPTZ`` as ``timestamp('UTC')``. The cast changes
    the type Ibis sees, not the values.
    """
    import ibis.expr.datatypes as dt

    if backend_name(table) != "pyspark":
        return table
    casts = {c: table[c].cast(dt.Timestamp(timezone="UTC")) for c, typ in table.schema().items() if typ.is_timestamp() and typ.timezone is None}
    return table.mutate(**casts) if casts else table


def backend_name(table) -> str:
    """``"duckdb"``, ``"pyspark"``, ... of the connection an Ibis expression is bound to (``"duckdb"`` for a memtable)."""
    try:
        return table._find_backend(use_default=False).name
    except Exception:  # unbound memtable: executes on the default DuckDB backend
        return "duckdb"


def engine_error(exc: BaseException, settings: EngineSettings | None = None) -> BaseException:
    """Turn an engine's out-of-memory error into :class:`EngineMemoryError` naming the setting to change.

    Other errors are returned unchanged.
    """
    text = str(exc)
    if "Out of Memory" in text or "OutOfMemory" in text or "could not allocate" in text.lower():
        limit = settings.memory_limit if settings else "auto"
        return EngineMemoryError(
            f"the engine ran out of memory (memory_limit: {limit}). Raise `engine: memory_limit:` in the config "
            "(e.g. 16GB), give `engine: spill_dir:` a folder on a disk with more free space, or run fewer notebooks "
            f"at once (ecrm run --jobs 1). Engine message: {text.splitlines()[0] if text else type(exc).__name__}"
        )
    return exc


# ------------------------------------------------------------------------ per-backend functions
def keep_table(con, name: str, obj: Any):
    """Materialise an Ibis expression or an Arrow table as a session-temporary table ``name`` of ``con``.

    Parameters
    ----------
    con : ibis.BaseBackend
        DuckDB or PySpark connection.
    name : str
        Table name (replaced when it exists).
    obj : ibis.Table or pyarrow.Table

    Returns
    -------
    ibis.Table
        The table, computed once: later queries read the stored rows (so
        row numbers and other order-dependent values stay as they were). On
        Spark its timestamps are labelled UTC (:func:`utc_timestamps`), so it
        may be a projection of the stored table: keep ``name`` for Splink.
    """
    if con.name != "pyspark":
        return con.create_table(name, obj, temp=True, overwrite=True)
    import ibis

    session = con._session  # Ibis's PySpark backend keeps its SparkSession here (no public accessor)
    if isinstance(obj, ibis.Table):
        con._run_pre_execute_hooks(obj)  # registers the memtables and UDFs the expression uses
        df = session.sql(con.compile(obj))
    else:
        df = session.createDataFrame(obj.to_pandas(types_mapper=None)) if obj.num_rows else session.createDataFrame(
            [], schema=_spark_schema(obj.schema)
        )
        if obj.num_rows:
            df = df.select(*[df[c].cast(t) for c, t in zip(obj.column_names, _spark_types(obj.schema))])
    df = df.localCheckpoint(eager=True)
    df.createOrReplaceTempView(name)
    return utc_timestamps(con.table(name))


def _spark_types(schema):
    """Spark SQL types of an Arrow schema (the column types an uploaded table keeps)."""
    from pyspark.sql.pandas.types import from_arrow_type

    return [from_arrow_type(f.type) for f in schema]


def _spark_schema(schema):
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(f.name, t, True) for f, t in zip(schema, _spark_types(schema))])


def drop_kept_table(con, name: str) -> None:
    """Drop a table made by :func:`keep_table` (nothing happens when it is gone)."""
    if con.name == "pyspark":
        con._session.catalog.dropTempView(name)
    else:
        con.drop_table(name, force=True)


def splink_api(con):
    """Splink's database API on the same engine session as ``con`` (DuckDB or Spark).

    On Spark, Splink keeps its intermediate tables with ``persist`` (no
    checkpoint folder needed) and uses Spark's own ``levenshtein`` (no UDF
    jar in the session). Splink 5's ``SparkAPI`` needs nothing of a classic
    session with these settings, so it runs on a Spark Connect client as it
    does on a session of its own (``tests/test_suite_spark.py`` checks that
    it gives DuckDB's clusters and match weights on a Connect client).
    """
    if con.name == "pyspark":
        from splink import SparkAPI

        return SparkAPI(spark_session=con._session, break_lineage_method="persist", register_udfs_automatically=False)
    from splink import DuckDBAPI

    return DuckDBAPI(connection=con.con)


def _make_functions():
    import ibis
    import ibis.expr.datatypes as dt

    utc, local = dt.Timestamp(timezone="UTC"), dt.Timestamp()

    @ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, utc), local))
    def _duckdb_timezone(tz, ts):
        """DuckDB: wall-clock time in ``tz`` of an instant (TIMESTAMPTZ -> TIMESTAMP)."""

    @ibis.udf.scalar.builtin(name="from_utc_timestamp", signature=((utc, dt.string), local))
    def _spark_from_utc(ts, tz):
        """Spark: wall-clock time in ``tz`` of an instant (with a UTC session time zone)."""

    return {
        "duckdb": lambda col, tz: _duckdb_timezone(tz, col),
        "pyspark": lambda col, tz: _spark_from_utc(col, tz),
    }


_WALL_CLOCK: dict[str, Any] = {}


def local_date(col, backend: str, timezone: str):
    """Local calendar date of a timestamp column in ``timezone`` (dates pass through).

    Naive timestamps are UTC (the canonical tables store UTC). Computed on the
    engine with its own time-zone function, so every engine gives the same
    day (a day difference between timestamps compiled differently on DuckDB
    and Spark; dates do not).

    Parameters
    ----------
    col : ibis timestamp or date column
    backend : str
        ``"duckdb"`` or ``"pyspark"`` (:func:`backend_name`).
    timezone : str
        IANA zone.
    """
    import ibis.expr.datatypes as dt

    dtype = col.type()
    if dtype.is_date():
        return col
    if dtype.timezone is None:
        col = col.cast(dt.Timestamp(timezone="UTC", scale=dtype.scale))
    if timezone == "UTC":
        return col.date()
    return _wall_clock(backend)(col, timezone).date()


def _wall_clock(backend: str):
    if not _WALL_CLOCK:
        _WALL_CLOCK.update(_make_functions())
    if backend not in _WALL_CLOCK:
        raise ValueError(f"local times are implemented for {sorted(_WALL_CLOCK)}, not for backend {backend!r}.")
    return _WALL_CLOCK[backend]


def local_time(col, backend: str, timezone: str):
    """Local wall-clock time (a timestamp without zone) of a timestamp column in ``timezone``.

    For hours of the day, weekdays and calendar months in the config's time
    zone. Naive timestamps are UTC; dates become local midnight. Computed on
    the engine with its own time-zone function (DuckDB ``timezone``, Spark
    ``from_utc_timestamp``), daylight-saving changes included.

    Parameters
    ----------
    col : ibis timestamp or date column
    backend : str
        ``"duckdb"`` or ``"pyspark"`` (:func:`backend_name`).
    timezone : str
        IANA zone.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable({"ts": pd.to_datetime(["2025-06-30 15:30"], utc=True).astype("datetime64[us, UTC]")})
    >>> local_time(t.ts, "duckdb", "Asia/Seoul").hour().execute().tolist()
    [0]
    """
    import ibis.expr.datatypes as dt

    dtype = col.type()
    if dtype.is_date():
        return col.cast(dt.Timestamp())
    if dtype.timezone is None:
        col = col.cast(dt.Timestamp(timezone="UTC", scale=dtype.scale))
    return _wall_clock(backend)(col, timezone)

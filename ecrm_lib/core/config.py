"""The YAML configuration: which files to read and how to map them onto the
canonical tables of :mod:`ecrm_lib.core.schema`.

A config looks like this (every key but ``sources`` has a default)::

    name: my-company
    currency: KRW                 # all money columns are in this currency
    timezone: Asia/Seoul          # naive timestamps are read in this zone
    as_of: 2025-06-30             # analysis date; default: last timestamp in the data
    history_as_of: [2024-12-30]   # optional: earlier as-of dates that `ecrm run` publishes first
                                  # when the output folder has no good run at them (the feedback
                                  # loop and the trends then have an earlier run to read)
    policies:                     # what happens to rows that cannot be used
      duplicates: drop            # drop | keep | error   (exact duplicate rows)
      nonpositive_amounts: set_aside   # set_aside | keep | error (transactions with amount <= 0)
      after_as_of: set_aside      # set_aside | error     (rows dated after as_of)
      missing_keys: set_aside     # set_aside | error     (rows without an account_id)
      short_rows: set_aside       # set_aside | error     (CSV rows with fewer fields than the header)
    channel_groups:               # for channel-mix figures
      traditional: [store, phone, mail]
      internet: [email, web, app]
    identity:                     # the rules that stop e-mails and phones from joining accounts
      blocklist:                  # (all keys optional; every key and its documented default:
        email_domains: [mycompany-test.com]   # ecrm_lib.core.identity_settings)
        phones: ["1588-1234"]     # the company's own numbers
      max_accounts_per_identifier: 10
    sources:
      - name: pos
        table: transactions
        path: transactions.csv    # relative to this file, or ${DATA_ROOT}/..., ${LIFETIMES}/...
        delimiter: ","            # or "whitespace"
        encoding: utf-8           # cp949 / euc-kr for Korean files (euc-kr is read as cp949)
        header: true              # false: give `names`
        date_format: "%Y-%m-%d %H:%M:%S"
        columns: {account_id: cust_no, timestamp: sold_at, amount: total}
        computed: {amount: "Quantity * Price"}   # expressions over source columns (see below)
        constants: {channel: store}
        extra_columns: [age, region]   # customers only: unmapped columns to keep (default: all)
        set_aside:                # extra, counted rules: rows matching `when` are set aside
          - {when: "Invoice.str.startswith('C')", reason: cancelled invoice}
      - name: crm_accounts        # a database table or read-only query instead of a file
        table: accounts
        database:
          connection: crm         # a name under `connections:`, or an URL
          table: crm.accounts     # schema.table (quoted as identifiers), or:
          # query: "SELECT ... FROM crm.accounts WHERE ..."   (one read-only SELECT)
          key: [account_id]       # row order and error labels; default: the primary key
        columns: {account_id: account_no, channel: channel}
    connections:                  # database servers (Ibis connection URLs, without a password)
      crm:
        url: postgres://analyst@db.example.com:5432/crm   # or mysql://user@host:3306/db
        password_env: CRM_PASSWORD   # variable holding the password; default: ~/.pgpass, ~/.my.cnf
    language: [ko, en]            # report language(s): en (default), ko, or a list whose first is the
                                  # main one (the index opens in it; the others are linked)
    engine:                       # where the tables are processed (all keys optional)
      kind: duckdb                # duckdb (embedded, default) | spark
      memory_limit: auto          # e.g. 8GB; auto: 15 % of this machine's memory, shared by the
                                  # notebooks that run at the same time (the engine spills past it)
      threads: auto               # engine threads per notebook; auto: the machine's cores
      spill_dir: null             # folder for data that does not fit in memory; default: a
                                  # folder in the run's private/ area, removed after the run
      spark:                      # kind: spark only
        master: local[2]          # local[N], spark://host:7077, yarn: `ecrm run` starts one Spark
                                  # Connect server for the run on it (its driver)
        # remote: sc://host:15002 # or use a running Spark Connect server (a cluster's)
        conf: {spark.sql.shuffle.partitions: 8}
    economics:                    # what a sale and a contact are worth (all keys optional; a key
                                  # left out is "not available", never assumed)
      margin: 0.30                # share of revenue kept as margin (0-1]: incremental revenue
                                  # times margin is the value of a campaign's extra sales
      offer_cost: 2000            # cost of the offer per contacted customer (config currency),
                                  # added to the channel's cost per contact
      offer_cost_per_response: 0  # optional: cost per responding customer (a redeemed coupon)

Every row that a policy or rule removes is counted per source and reason and
shown in the data-overview report; nothing is dropped silently.

Expressions (``computed`` and ``set_aside: when``)
--------------------------------------------------
A small language in pandas spelling, compiled for the engine and never run as
Python code (anything else is a ``ConfigError`` naming the source, the
expression and what is allowed, raised before any file is read):

- source column names; names with spaces or dots in backticks (```Review Text```);
  ``__row__`` is the 1-based data-row number;
- literals: numbers, 'text', True, False, None; a list of literals only in ``isin([...])``;
- arithmetic ``+ - * / // % **`` and unary minus; ``+`` also joins text;
  ``//`` and ``%`` by zero give a missing value, ``/`` by zero infinity;
- one comparison at a time ``== != < <= > >=``; a comparison with a missing value is false;
- conditions joined with ``&`` (and), ``|`` (or), ``~`` (not), each in brackets;
- methods of a column: ``isna()``, ``notna()`` (also ``isnull``, ``notnull``), ``fillna(v)``,
  ``isin([...])``, ``astype(str|int|float)``, ``abs()``, ``round(n)``, ``diff()`` and
  ``cumsum()`` (over the file's row order);
- text: ``.str.startswith(s)``, ``.str.endswith(s)``, ``.str.contains(p, regex=True, case=True)``
  (``p`` a regular expression in RE2 syntax unless ``regex=False``), ``.str.strip()``,
  ``.str.lower()``, ``.str.upper()``, ``.str.len()``, ``.str.slice(start, stop)`` (bounds >= 0);
- dates: ``pd.to_datetime(x, format='%b')`` (missing where a value does not match; without
  ``format``: ISO 8601), then ``.dt.year``, ``.dt.month``, ``.dt.day``.

A CSV column is a number in an expression when every value is one (without
leading zeros), otherwise text; Parquet columns keep their types. Examples:
``Quantity * Price``, ``"Invoice.str.startswith('C')"``,
``"StockCode.isin(['POST', 'DOT']) | StockCode.str.startswith('gift_')"``,
``"(2008 + (pd.to_datetime(month, format='%b').dt.month.diff() < 0).cumsum()).astype(str)"``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.identity_settings import IdentitySettings, parse_identity
from ecrm_lib.core.language import LANGUAGES
from ecrm_lib.core.yamlio import read_yaml
from ecrm_lib.core.paths import lifetimes_datasets_dir, shared_data_root
from ecrm_lib.core.schema import TABLES

__all__ = ["Policies", "SetAsideRule", "DatabaseSource", "SourceConfig", "EngineSettings", "Economics", "Config", "load_config", "parse_languages",
           "POLICY_CHOICES"]

POLICY_CHOICES = {
    "duplicates": ("drop", "keep", "error"),
    "nonpositive_amounts": ("set_aside", "keep", "error"),
    "after_as_of": ("set_aside", "error"),
    "missing_keys": ("set_aside", "error"),
    "short_rows": ("set_aside", "error"),
}

DEFAULT_CHANNEL_GROUPS = {
    "traditional": ["store", "phone", "mail", "catalog", "call_center"],
    "internet": ["email", "web", "app", "chat", "voice", "video", "sms"],
}

_SOURCE_KEYS = {
    "name", "table", "path", "format", "delimiter", "encoding", "header", "names", "date_format",
    "timezone", "columns", "computed", "constants", "set_aside", "control_arms", "skip_rows", "description",
    "extra_columns", "database",
}
#: Keys that only describe a file (not allowed with ``database:``).
_FILE_KEYS = ("path", "format", "delimiter", "encoding", "header", "names", "skip_rows")
_DATABASE_KEYS = {"connection", "table", "query", "key", "password_env"}
_DIALECTS = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_CONFIG_KEYS = {"name", "description", "currency", "timezone", "as_of", "history_as_of", "policies", "channel_groups", "identity", "sources",
                "engine", "language", "connections", "economics"}
_ECONOMICS_KEYS = {"margin", "offer_cost", "offer_cost_per_response"}
_ENGINE_KEYS = {"kind", "memory_limit", "threads", "spill_dir", "spark"}
_ENGINE_KINDS = ("duckdb", "spark")
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Policies:
    """What happens to rows that cannot be used (see the module docstring)."""

    duplicates: str = "drop"
    nonpositive_amounts: str = "set_aside"
    after_as_of: str = "set_aside"
    missing_keys: str = "set_aside"
    short_rows: str = "set_aside"


@dataclass(frozen=True)
class SetAsideRule:
    """A source-specific rule: rows where ``when`` is true are set aside, counted under ``reason``."""

    when: str
    reason: str


@dataclass(frozen=True)
class DatabaseSource:
    """A database table or read-only query read as a source (a source's ``database:`` section).

    Attributes
    ----------
    url : str
        Ibis-style connection URL without a password (``postgres://user@host:5432/db``,
        ``mysql://user@host:3306/db``).
    table : str or None
        ``schema.table`` or ``table``; None when ``query`` is given.
    query : str or None
        One read-only ``SELECT`` (or ``WITH``) statement.
    key : tuple of str
        Columns that order the rows and label them in errors (default: the primary key).
    password_env : str or None
        Environment variable holding the password (None: the server's password file).
    connection : str
        Name under the config's ``connections:`` ('' when the URL is given in the source).
    """

    url: str
    table: str | None = None
    query: str | None = None
    key: tuple[str, ...] = ()
    password_env: str | None = None
    connection: str = ""

    @property
    def dialect(self) -> str:
        """``postgres`` or ``mysql`` (MySQL and MariaDB)."""
        return _DIALECTS[self.url.split("://", 1)[0].lower()]

    @property
    def table_parts(self) -> tuple[str, ...]:
        return tuple((self.table or "").split(".", 1))

    def masked_url(self) -> str:
        """The URL as records show it: the password, when one is used, as ``***``."""
        if not self.password_env:
            return self.url
        scheme, rest = self.url.split("://", 1)
        user, at, host = rest.rpartition("@")
        return f"{scheme}://{user}:***@{host} (password from ${self.password_env})" if at else \
            f"{scheme}://***@{rest} (password from ${self.password_env})"


@dataclass(frozen=True)
class SourceConfig:
    """One source file mapped onto one canonical table."""

    name: str
    table: str
    path: Path
    format: str = "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    names: tuple[str, ...] | None = None
    skip_rows: int = 0
    date_format: str | None = None
    timezone: str = "UTC"
    columns: dict[str, str] = field(default_factory=dict)
    computed: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    set_aside: tuple[SetAsideRule, ...] = ()
    control_arms: tuple[str, ...] = ()
    description: str = ""
    #: For tables that keep extra columns (customers): which unmapped source
    #: columns to keep; None keeps every unmapped column, () keeps none.
    extra_columns: tuple[str, ...] | None = None
    #: A database table or query instead of a file (``path`` is then its display name).
    database: DatabaseSource | None = None

    @property
    def file(self) -> str:
        """What records name as the source's file: its base name, or ``table s.t`` / ``query of <name>``."""
        return self.path.name

    @property
    def label(self) -> str:
        """Name shown in reports: the source name and the file's base name (never its folder)."""
        return f"{self.name} ({self.file})"


@dataclass(frozen=True)
class EngineSettings:
    """Where the tables are processed (the config's ``engine:`` section).

    Attributes
    ----------
    kind : {"duckdb", "spark"}
        Embedded DuckDB (default) or a Spark session.
    memory_limit : str
        ``"auto"`` or a size such as ``"8GB"`` (DuckDB's ``memory_limit``).
    threads : int or "auto"
        Engine threads per notebook.
    spill_dir : Path or None
        Where DuckDB writes what does not fit in memory; None: the run's
        ``private/spill/`` folder.
    spark : dict
        Spark settings: ``master`` (e.g. ``local[2]``, ``spark://host:7077``),
        ``remote`` (``sc://host:port``: an existing Spark Connect server, a
        cluster's, that every notebook connects to) and ``conf``
        (``{key: value}``). Without ``remote``, ``ecrm run`` starts one Spark
        Connect server for the run with ``master`` and ``conf``
        (:mod:`ecrm_lib.run.spark_server`); a notebook opened by hand starts
        its own Spark session.
    """

    kind: str = "duckdb"
    memory_limit: str = "auto"
    threads: int | str = "auto"
    spill_dir: Path | None = None
    spark: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Economics:
    """What a sale and a contact are worth (the config's ``economics:`` section).

    A figure the config does not give is None: pages that need it say it is
    not available, and nothing assumes a value for it.

    Attributes
    ----------
    margin : float or None
        Share of revenue kept as margin, in (0, 1].
    offer_cost : float or None
        Cost of the offer (discount, gift) per contacted customer, config
        currency; added to the channel's cost per contact.
    offer_cost_per_response : float or None
        Cost of the offer per responding customer (a redeemed coupon), config
        currency; optional, for offers paid only when used.
    """

    margin: float | None = None
    offer_cost: float | None = None
    offer_cost_per_response: float | None = None

    @property
    def offer_cost_per_contact(self) -> float | None:
        """The offer cost per contacted customer (``offer_cost``), under the name profit-based targeting reads."""
        return self.offer_cost

    def missing(self) -> list[str]:
        """Names of the figures the config does not give (``["margin"]``, ...)."""
        return [k for k in ("margin", "offer_cost") if getattr(self, k) is None]


@dataclass(frozen=True)
class Config:
    """A parsed configuration; build it with :func:`load_config`."""

    name: str
    path: Path | None
    sources: tuple[SourceConfig, ...]
    currency: str = "KRW"
    timezone: str = "UTC"
    as_of: dt.date | None = None
    history_as_of: tuple[dt.date, ...] = ()
    policies: Policies = Policies()
    channel_groups: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_GROUPS))
    description: str = ""
    raw_text: str = ""
    engine: EngineSettings = EngineSettings()
    #: Report languages, the first the main one (``language: ko`` or ``language: [ko, en]``).
    languages: tuple[str, ...] = ("en",)
    #: Identity rules (``identity:``, :mod:`ecrm_lib.core.identity_settings`); the documented defaults when absent.
    identity: IdentitySettings = IdentitySettings()
    #: Margin and offer cost (``economics:``); None where the config does not give them.
    economics: Economics = Economics()

    @property
    def language(self) -> str:
        """The main report language."""
        return self.languages[0]

    def tables(self) -> list[str]:
        """Canonical tables that at least one source feeds, in data-model order."""
        present = {s.table for s in self.sources}
        return [t for t in TABLES if t in present]

    def sources_for(self, table: str) -> list[SourceConfig]:
        return [s for s in self.sources if s.table == table]

    def channel_group(self, channel: str) -> str:
        """``traditional``, ``internet`` (or another configured group), else ``other``."""
        for group, members in self.channel_groups.items():
            if channel in members:
                return group
        return "other"


_VAR = re.compile(r"\$\{(\w+)\}")


def _expand(path_text: str, base: Path, where: str) -> Path:
    def repl(m: re.Match) -> str:
        var = m.group(1)
        if var == "DATA_ROOT":
            return str(shared_data_root())
        if var == "LIFETIMES":
            return str(lifetimes_datasets_dir())
        if var in os.environ:
            return os.environ[var]
        raise ConfigError(
            f"{where}: unknown variable ${{{var}}} in path {path_text!r}. "
            "Use ${DATA_ROOT} (shared datasets; set ECRM_DATA_ROOT or --data-root), ${LIFETIMES}, "
            "or an environment variable that is set."
        )

    p = Path(_VAR.sub(repl, str(path_text))).expanduser()
    return p if p.is_absolute() else (base / p)


def _check_keys(d: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}. Allowed keys: {sorted(allowed)}.")


def _parse_connections(raw: Any, path: Path) -> dict[str, dict[str, Any]]:
    """The ``connections:`` section: name -> {url, password_env}."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: connections must be a mapping of names to {{url: ..., password_env: ...}}.")
    out = {}
    for name, spec in raw.items():
        spec = {"url": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or "url" not in spec or set(spec) - {"url", "password_env"}:
            raise ConfigError(f"{path}: connections.{name} must be a URL or a mapping with `url` and, optionally, "
                              "`password_env`.")
        out[str(name)] = spec
    return out


def _check_url(url: str, where: str) -> str:
    from urllib.parse import urlsplit

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _DIALECTS:
        raise ConfigError(f"{where}: connection URL {url.split('@')[-1]!r} must start with postgres://, "
                          "postgresql://, mysql:// or mariadb:// (an Ibis connection URL).")
    try:
        parts = urlsplit(url)
        secret = parts.password is not None
        _ = parts.port
    except ValueError as e:
        raise ConfigError(f"{where}: the connection URL is malformed ({e}).") from None
    if secret:
        raise ConfigError(f"{where}: the connection URL holds a password; passwords never go into the config. "
                          "Remove it from the URL and name the environment variable that holds it with "
                          "`password_env:`, or use the server's password file (~/.pgpass, ~/.my.cnf).")
    return url


def _parse_database(raw: Any, where: str, connections: dict[str, dict[str, Any]], source: dict) -> DatabaseSource:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `database:` must be a mapping with `connection` and `table` or `query`.")
    _check_keys(raw, _DATABASE_KEYS, f"{where}: database")
    both = [k for k in _FILE_KEYS if k in source]
    if both:
        raise ConfigError(f"{where}: {both} describe a file; a source with `database:` reads a table or query instead.")
    conn = str(raw.get("connection") or "")
    if not conn:
        raise ConfigError(f"{where}: database.connection is missing (a name under `connections:`, or an URL).")
    if "://" in conn:
        url, password_env, name = conn, raw.get("password_env"), ""
    elif conn in connections:
        url, password_env, name = connections[conn]["url"], connections[conn].get("password_env"), conn
        password_env = raw.get("password_env", password_env)
    else:
        raise ConfigError(f"{where}: database.connection {conn!r} is neither an URL nor a name under "
                          f"`connections:` ({sorted(connections) or 'none defined'}).")
    url = _check_url(str(url), where)
    table, query = raw.get("table"), raw.get("query")
    if (table is None) == (query is None):
        raise ConfigError(f"{where}: database needs exactly one of `table` (schema.table) or `query` (a SELECT).")
    if query is not None:
        query = str(query).strip().rstrip(";").strip()
        first = query.split(None, 1)[0].upper() if query else ""
        if first not in ("SELECT", "WITH") or ";" in query:
            raise ConfigError(f"{where}: database.query must be one read-only SELECT (or WITH ... SELECT) "
                              "statement without `;`.")
    key = raw.get("key") or ()
    key = (key,) if isinstance(key, str) else tuple(str(k) for k in key)
    return DatabaseSource(url=url, table=None if table is None else str(table), query=query, key=key,
                          password_env=None if password_env is None else str(password_env), connection=name)


def _parse_source(raw: dict, i: int, base: Path, defaults: dict) -> SourceConfig:
    where = f"sources[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with name, table, path and columns; got {raw!r}.")
    _check_keys(raw, _SOURCE_KEYS, where)
    for key in ("name", "table") if "database" in raw else ("name", "table", "path"):
        if key not in raw:
            raise ConfigError(f"{where}: missing key {key!r}.")
    where = f"source {raw['name']!r}"
    table = raw["table"]
    if table not in TABLES:
        raise ConfigError(f"{where}: unknown table {table!r}; choose one of {list(TABLES)}.")
    spec = TABLES[table]
    columns = {str(k): str(v) for k, v in (raw.get("columns") or {}).items()}
    computed = {str(k): str(v) for k, v in (raw.get("computed") or {}).items()}
    constants = dict(raw.get("constants") or {})
    if not spec.keep_extra:
        for kind, mapping in (("columns", columns), ("computed", computed), ("constants", constants)):
            bad = sorted(set(mapping) - set(spec.column_names()))
            if bad:
                raise ConfigError(
                    f"{where}: {kind} maps unknown canonical column(s) {bad} of table {table!r}; "
                    f"its columns are {spec.column_names()}."
                )
    given = set(columns) | set(computed) | set(constants)
    if table == "campaigns" and "is_control" not in given and not raw.get("control_arms"):
        raise ConfigError(
            f"{where}: say which arm is the control group: add `control_arms: [<arm name>]` "
            "or map an `is_control` column."
        )
    if table == "campaigns":
        given.add("is_control")
    missing = [c for c in spec.required_columns() if c not in given]
    if missing:
        raise ConfigError(
            f"{where}: required column(s) {missing} of table {table!r} are not mapped. "
            f"Add them under `columns:` (canonical: source column), `computed:` or `constants:`."
        )
    database = None
    if "database" in raw:
        database = _parse_database(raw["database"], where, defaults.get("connections", {}), raw)
        shown = f"table {database.table}" if database.table else f"query of {raw['name']}"
        raw = {**raw, "path": shown.replace("/", "_"), "format": "database"}
    path_text = str(raw["path"])
    path = _expand(path_text, base, where) if database is None else Path(path_text)
    fmt = raw.get("format")
    if fmt is None:
        suffixes = "".join(path.suffixes[-2:]).lower()
        fmt = "parquet" if suffixes.endswith(".parquet") else "csv"
    if fmt not in ("csv", "parquet") and database is None:
        raise ConfigError(f"{where}: format {fmt!r} is not supported; use csv (also .csv.gz) or parquet.")
    names = raw.get("names")
    header = bool(raw.get("header", True))
    if not header and not names:
        raise ConfigError(f"{where}: `header: false` needs `names:` (the column names, in file order).")
    rules = []
    for j, r in enumerate(raw.get("set_aside") or []):
        if not isinstance(r, dict) or set(r) != {"when", "reason"}:
            raise ConfigError(f"{where}: set_aside[{j}] must be a mapping with exactly `when` and `reason`.")
        rules.append(SetAsideRule(str(r["when"]), str(r["reason"])))
    return SourceConfig(
        name=str(raw["name"]),
        table=table,
        path=path,
        format=fmt,
        delimiter=str(raw.get("delimiter", ",")),
        encoding=str(raw.get("encoding", "utf-8")),
        header=header,
        names=tuple(names) if names else None,
        skip_rows=int(raw.get("skip_rows", 0)),
        date_format=raw.get("date_format"),
        timezone=str(raw.get("timezone", defaults["timezone"])),
        columns=columns,
        computed=computed,
        constants=constants,
        set_aside=tuple(rules),
        control_arms=tuple(str(a) for a in (raw.get("control_arms") or ())),
        description=str(raw.get("description", "")),
        extra_columns=None if raw.get("extra_columns") is None else tuple(str(c) for c in raw["extra_columns"]),
        database=database,
    )


def load_config(path: str | os.PathLike) -> Config:
    """Read and check a YAML configuration.

    Parameters
    ----------
    path : str or path-like
        The YAML file. Relative source paths are resolved against its folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        The file is missing or malformed, or names unknown tables, columns or policies.

    Examples
    --------
    >>> from ecrm_lib.core.config import load_config
    >>> from ecrm_lib.core.paths import DEFAULT_CONFIG
    >>> cfg = load_config(DEFAULT_CONFIG)
    >>> cfg.tables()[:2]
    ['accounts', 'transactions']
    """
    path = Path(path)
    raw, text = read_yaml(path, "config file", ConfigError, fix="Pass --config with the path of a YAML config.")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level with a `sources:` list.")
    _check_keys(raw, _CONFIG_KEYS, str(path))
    pol_raw = raw.get("policies") or {}
    _check_keys(pol_raw, set(POLICY_CHOICES), f"{path}: policies")
    for k, v in pol_raw.items():
        if v not in POLICY_CHOICES[k]:
            raise ConfigError(f"{path}: policies.{k} is {v!r}; choose one of {list(POLICY_CHOICES[k])}.")
    timezone = str(raw.get("timezone", "UTC"))
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(timezone)
    except Exception:
        raise ConfigError(f"{path}: timezone {timezone!r} is not an IANA time zone (e.g. Asia/Seoul, UTC).") from None
    sources_raw = raw.get("sources")
    if not sources_raw or not isinstance(sources_raw, list):
        raise ConfigError(f"{path}: `sources:` must be a non-empty list of source files.")
    defaults = {"timezone": timezone, "connections": _parse_connections(raw.get("connections"), path)}
    sources = tuple(_parse_source(s, i, path.parent, defaults) for i, s in enumerate(sources_raw))
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{path}: source names must be unique; repeated: {dup}.")
    groups = raw.get("channel_groups") or DEFAULT_CHANNEL_GROUPS
    as_of = as_date(raw.get("as_of"), f"{path}: as_of", optional=True)
    hist_raw = raw.get("history_as_of") or []
    if not isinstance(hist_raw, list):
        hist_raw = [hist_raw]
    history = tuple(sorted({as_date(h, f"{path}: history_as_of") for h in hist_raw}))
    if as_of is not None and any(h >= as_of for h in history):
        raise ConfigError(f"{path}: history_as_of {[h.isoformat() for h in history if h >= as_of]} must be before "
                          f"as_of {as_of.isoformat()}; they are the dates of earlier runs.")
    engine = _parse_engine(raw.get("engine"), path)
    languages = parse_languages(raw.get("language", "en"), f"{path}: language")
    identity = parse_identity(raw.get("identity"), str(path))
    economics = _parse_economics(raw.get("economics"), path)
    return Config(
        name=str(raw.get("name", path.stem)),
        path=path.resolve(),
        sources=sources,
        currency=str(raw.get("currency", "KRW")),
        timezone=timezone,
        as_of=as_of,
        history_as_of=history,
        policies=Policies(**pol_raw),
        channel_groups={str(k): [str(x) for x in v] for k, v in groups.items()},
        description=str(raw.get("description", "")),
        raw_text=text,
        engine=engine,
        languages=languages,
        identity=identity,
        economics=economics,
    )


def parse_languages(value: Any, where: str = "language") -> tuple[str, ...]:
    """Report languages from ``"ko"``, ``"ko,en"`` or ``["ko", "en"]``: the first is the main one.

    >>> parse_languages("ko, en")
    ('ko', 'en')
    """
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    langs = tuple(dict.fromkeys(str(v).strip().lower() for v in items if str(v).strip()))
    bad = [v for v in langs if v not in LANGUAGES]
    if not langs or bad:
        raise ConfigError(f"{where}: {value!r} names no report language or an unknown one ({bad}); "
                          f"write one of {list(LANGUAGES)} or a list such as [ko, en].")
    return langs


def _parse_engine(raw: Any, path: Path) -> EngineSettings:
    """The ``engine:`` section (absent: embedded DuckDB with automatic limits)."""
    if raw is None:
        return EngineSettings()
    where = f"{path}: engine"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping, e.g. engine: {{kind: duckdb, memory_limit: 8GB}}.")
    _check_keys(raw, _ENGINE_KEYS, where)
    kind = str(raw.get("kind", "duckdb")).lower()
    if kind not in _ENGINE_KINDS:
        raise ConfigError(f"{where}.kind is {kind!r}; choose one of {list(_ENGINE_KINDS)}.")
    memory = str(raw.get("memory_limit", "auto") or "auto")
    if memory != "auto" and not _MEMORY.match(memory):
        raise ConfigError(f"{where}.memory_limit is {memory!r}; write a size such as 8GB or 512MB, or auto.")
    threads = raw.get("threads", "auto")
    if threads != "auto" and not (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1):
        raise ConfigError(f"{where}.threads is {threads!r}; write a whole number of threads (1 or more) or auto.")
    spill = raw.get("spill_dir")
    spill_dir = _expand(str(spill), path.parent, f"{where}.spill_dir") if spill else None
    spark = raw.get("spark") or {}
    if not isinstance(spark, dict) or set(spark) - {"master", "remote", "conf"}:
        raise ConfigError(f"{where}.spark must be a mapping with `master`, `remote` and `conf` "
                          "(e.g. master: local[2], or remote: sc://spark-connect.example.com:15002).")
    remote = spark.get("remote")
    if remote is not None and not (isinstance(remote, str) and remote.startswith("sc://") and len(remote) > 5):
        raise ConfigError(f"{where}.spark.remote is {remote!r}; write a Spark Connect URL such as "
                          "sc://spark-connect.example.com:15002.")
    if not isinstance(spark.get("conf") or {}, dict):
        raise ConfigError(f"{where}.spark.conf must be a mapping of Spark settings, e.g. {{spark.sql.shuffle.partitions: 4}}.")
    return EngineSettings(kind=kind, memory_limit=memory, threads=threads, spill_dir=spill_dir, spark=dict(spark))


def _parse_economics(raw: Any, path: Path) -> Economics:
    """The ``economics:`` section (absent or a key left out: not available, never assumed)."""
    if raw is None:
        return Economics()
    where = f"{path}: economics"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping, e.g. economics: {{margin: 0.3, offer_cost: 2000}}.")
    _check_keys(raw, _ECONOMICS_KEYS, where)
    values: dict[str, float | None] = {}
    for key in ("margin", "offer_cost", "offer_cost_per_response"):
        v = raw.get(key)
        if v is None:
            values[key] = None
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{where}.{key} is {v!r}; write a number (or leave the key out when it is not known).")
        values[key] = float(v)
    if values["margin"] is not None and not 0 < values["margin"] <= 1:
        raise ConfigError(f"{where}.margin is {values['margin']!r}; write the share of revenue kept as margin, "
                          "above 0 and at most 1 (0.3 for 30 %).")
    for key, per in (("offer_cost", "contacted"), ("offer_cost_per_response", "responding")):
        if values[key] is not None and values[key] < 0:
            raise ConfigError(f"{where}.{key} is {values[key]!r}; write the cost of the offer per {per} customer in the "
                              "config currency, 0 or more.")
    return Economics(**values)

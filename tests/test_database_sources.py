"""Database sources (issue 11 items 1, 2 and 4): PostgreSQL and MariaDB tables and queries.

The tests load CSV data into a schema (PostgreSQL) or database (MariaDB) of their
own with typed columns, read it back through a config with ``database:`` sources,
and compare with the CSV files: the canonical tables, the validation errors, the
fingerprint, and (slow) the whole suite's metrics. Each schema is dropped after.

Servers: PostgreSQL at ``$ECRM_TEST_POSTGRES_URL`` (default
``postgres://postgres@127.0.0.1:5432/test``), MariaDB/MySQL at
``$ECRM_TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/test``). Where
none answers, the tests skip with the reason; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.core.config import load_config
from ecrm_lib.core.errors import ConfigError, DataValidationError
from ecrm_lib.core.paths import DEFAULT_CONFIG
from ecrm_lib.core.schema import TABLES
from ecrm_lib.data.load import load_sources

pytestmark = pytest.mark.engine  # make test runs these after the other tests (README, "make test")

_SQL_TYPES = {"postgres": {"float": "double precision", "int": "bigint", "datetime": "timestamp", "bool": "boolean",
                           "string": "text"},
              "mysql": {"float": "double", "int": "bigint", "datetime": "datetime", "bool": "boolean",
                        "string": "text"}}
_FILE_KEYS = ("path", "format", "delimiter", "encoding", "header", "names", "skip_rows")


# ----------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A database server the tests may write to (through an admin session of their own)."""

    dialect: str
    url: str

    @classmethod
    def postgres(cls) -> Server:
        return cls("postgres", os.environ.get("ECRM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))

    @classmethod
    def mysql(cls) -> Server:
        return cls("mysql", os.environ.get("ECRM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))

    def admin(self):
        """A writable connection (autocommit) for setting up and cleaning up."""
        from urllib.parse import urlsplit

        u = urlsplit(self.url)
        if self.dialect == "postgres":
            import psycopg

            return psycopg.connect(host=u.hostname, port=u.port or 5432, user=u.username,
                                   dbname=u.path.lstrip("/"), autocommit=True, connect_timeout=5)
        import pymysql

        return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username, database=u.path.lstrip("/"),
                               autocommit=True, charset="utf8mb4", connect_timeout=5)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"' if self.dialect == "postgres" else "`" + name.replace("`", "``") + "`"

    def run(self, *statements: str, params: tuple = ()) -> list:
        con = self.admin()
        try:
            cur = con.cursor()
            out = []
            for sql in statements:
                cur.execute(sql, params or None)
                out = list(cur.fetchall()) if cur.description else []
            return out
        finally:
            con.close()

    def create_schema(self, name: str) -> None:
        kind = "SCHEMA" if self.dialect == "postgres" else "DATABASE"
        self.run(f"DROP {kind} IF EXISTS {self.quote(name)} CASCADE" if self.dialect == "postgres"
                 else f"DROP {kind} IF EXISTS {self.quote(name)}", f"CREATE {kind} {self.quote(name)}")

    def drop_schema(self, name: str) -> None:
        if self.dialect == "postgres":
            self.run(f"DROP SCHEMA IF EXISTS {self.quote(name)} CASCADE")
        else:
            self.run(f"DROP DATABASE IF EXISTS {self.quote(name)}")

    def reader_url(self, schema: str) -> str:
        """The URL a config names (MariaDB: the schema is the database)."""
        if self.dialect == "postgres":
            return self.url
        base = self.url.rsplit("/", 1)[0]
        return f"{base}/{schema}"


def _server(kind: str) -> Server:
    srv = Server.postgres() if kind == "postgres" else Server.mysql()
    try:
        srv.run("SELECT 1")
    except ImportError as e:
        reason = f"the {kind} driver is not installed ({e}); pip install -e '.[test]'"
    except Exception as e:  # not reachable
        reason = f"no {kind} server at {srv.url}: {str(e).strip().splitlines()[0] if str(e).strip() else e}"
    else:
        return srv
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the project's machines run PostgreSQL and MariaDB; these tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pg() -> Server:
    return _server("postgres")


@pytest.fixture(scope="module")
def my() -> Server:
    return _server("mysql")


def _schema_name() -> str:
    return f"ecrm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- data


def load_csv_into(server: Server, config_path: Path, schema: str) -> dict[str, str]:
    """Every CSV source of a config into ``schema`` (one table per file, typed by the canonical columns).

    Returns the table name of each source.
    """
    config = load_config(config_path)
    server.create_schema(schema)
    con = server.admin()
    names = {}
    try:
        cur = con.cursor()
        for src in config.sources:
            frame = pd.read_csv(src.path, dtype=str, keep_default_na=False)
            kinds = {}
            for canonical, column in src.columns.items():
                spec = next((c for c in TABLES[src.table].columns if c.name == canonical), None)
                if spec is not None:
                    kinds[column] = spec.kind
            table = src.path.name.split(".")[0]
            names[src.name] = table
            cols = ", ".join(f"{server.quote(c)} {_SQL_TYPES[server.dialect][kinds.get(c, 'string')]}"
                             for c in frame.columns)
            full = f"{server.quote(schema)}.{server.quote(table)}"
            cur.execute(f"CREATE TABLE {full} ({cols})")
            rows = [tuple(None if v == "" else v for v in r) for r in frame.itertuples(index=False)]
            col_list = ", ".join(server.quote(c) for c in frame.columns)
            if server.dialect == "postgres":
                with cur.copy(f"COPY {full} ({col_list}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
            else:
                marks = ", ".join(["%s"] * len(frame.columns))
                cur.executemany(f"INSERT INTO {full} ({col_list}) VALUES ({marks})", rows)
        if server.dialect == "postgres":
            cur.execute("ANALYZE")
    finally:
        con.close()
    return names


def database_config(config_path: Path, server: Server, schema: str, out: Path, tables: dict[str, str],
                    **database) -> Path:
    """The config with every source read from ``schema`` instead of its file (truth/ copied beside it)."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["connections"] = {"test_db": {"url": server.reader_url(schema)}}
    for src in raw["sources"]:
        for key in _FILE_KEYS:
            src.pop(key, None)
        src["database"] = {"connection": "test_db", "table": f"{schema}.{tables[src['name']]}", **database}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    truth = config_path.parent / "truth"
    if truth.is_dir() and not (out.parent / "truth").exists():
        shutil.copytree(truth, out.parent / "truth")
    return out


@pytest.fixture(scope="module")
def pg_default(pg, tmp_path_factory):
    """The embedded default data in a PostgreSQL schema of its own, and its database config."""
    schema = _schema_name()
    tables = load_csv_into(pg, DEFAULT_CONFIG, schema)
    path = database_config(DEFAULT_CONFIG, pg, schema, tmp_path_factory.mktemp("pgcfg") / "config.yaml", tables)
    yield pg, schema, path
    pg.drop_schema(schema)


@pytest.fixture(scope="module")
def csv_default():
    return load_sources(load_config(DEFAULT_CONFIG))


def _same_tables(a, b) -> None:
    assert sorted(a.paths) == sorted(b.paths)
    for name in a.paths:
        pd.testing.assert_frame_equal(a.frame(name), b.frame(name), obj=name)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order (a table without a key is read in the order of its columns, a file in its own)."""
    return frame.sort_values(list(frame.columns), kind="stable", na_position="first").reset_index(drop=True)


# ----------------------------------------------------------------------------- config (no server)


def _write(tmp_path: Path, source: dict, **top) -> Path:
    cfg = {"name": "db", "timezone": "Asia/Seoul", **top, "sources": [source]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


_COSTS = {"name": "costs", "table": "channel_costs", "columns": {"channel": "channel", "cost_per_contact": "cost"}}


def test_config_database_source_and_its_refusals(tmp_path):
    cfg = load_config(_write(tmp_path, {**_COSTS, "database": {"connection": "crm", "table": "crm.costs",
                                                                "key": "channel"}},
                             connections={"crm": {"url": "postgres://analyst@db:5432/crm",
                                                  "password_env": "CRM_PW"}}))
    src = cfg.sources[0]
    assert src.database.dialect == "postgres" and src.database.table_parts == ("crm", "costs")
    assert src.database.key == ("channel",) and src.file == "table crm.costs"
    assert src.label == "costs (table crm.costs)"
    assert src.database.masked_url() == "postgres://analyst:***@db:5432/crm (password from $CRM_PW)"
    with pytest.raises(ConfigError, match="holds a password; passwords never go into the config"):
        load_config(_write(tmp_path, {**_COSTS, "database": {"connection": "postgres://u:secret@db/crm",
                                                             "table": "t"}}))
    with pytest.raises(ConfigError, match="exactly one of `table`"):
        load_config(_write(tmp_path, {**_COSTS, "database": {"connection": "mysql://u@db/crm"}}))
    with pytest.raises(ConfigError, match="one read-only SELECT"):
        load_config(_write(tmp_path, {**_COSTS, "database": {"connection": "mysql://u@db/crm",
                                                             "query": "SELECT 1; DROP TABLE costs"}}))
    with pytest.raises(ConfigError, match="describe a file"):
        load_config(_write(tmp_path, {**_COSTS, "path": "costs.csv", "database": {"connection": "mysql://u@db/crm",
                                                                                  "table": "t"}}))
    with pytest.raises(ConfigError, match="neither an URL nor a name"):
        load_config(_write(tmp_path, {**_COSTS, "database": {"connection": "nope", "table": "t"}}))


# ----------------------------------------------------------------------------- PostgreSQL


def test_postgres_tables_load_as_the_csv_files_do(pg_default, csv_default):
    _, schema, path = pg_default
    db = load_sources(load_config(path))
    assert db.summary.drop(columns="file").equals(csv_default.summary.drop(columns="file"))
    assert db.summary["file"].tolist() == [f"table {schema}.{t}" for t in
                                           ("accounts", "transactions", "contacts", "channel_costs", "feedback",
                                            "campaigns")]
    counts = db.set_aside_counts().drop(columns="file").sort_values("reason").reset_index(drop=True)
    want = csv_default.set_aside_counts().drop(columns="file").sort_values("reason").reset_index(drop=True)
    pd.testing.assert_frame_equal(counts, want)
    assert sorted(db.paths) == sorted(csv_default.paths)
    for name in db.paths:
        pd.testing.assert_frame_equal(_sorted(db.frame(name)), _sorted(csv_default.frame(name)), obj=name)
    files = db.files.set_index("source")
    assert files.loc["transactions", "rows"] == 11063  # rows in the table (the file's data rows)
    assert files["connection"].eq(pg_default[0].url).all()
    assert files["sha256"].str.fullmatch("[0-9a-f]{64}").all()


def test_postgres_session_is_read_only(pg_default):
    from ecrm_lib.data.dbsource import open_session

    srv, schema, path = pg_default
    src = load_config(path).sources[0]
    with open_session(src) as session:
        with pytest.raises(Exception, match="read-only transaction"):
            session.execute(f"DELETE FROM {srv.quote(schema)}.{srv.quote('accounts')}")
    assert srv.run(f"SELECT count(*) FROM {srv.quote(schema)}.{srv.quote('accounts')}")[0][0] == 5520


def test_postgres_fingerprint_changes_with_the_data_only(pg_default):
    from ecrm_lib.data.dbsource import source_fingerprint

    srv, schema, path = pg_default
    src = next(s for s in load_config(path).sources if s.name == "channel_costs")
    first, again = source_fingerprint(src), source_fingerprint(src)
    assert first == again and first["rows"] == 8
    table = f"{srv.quote(schema)}.{srv.quote('channel_costs')}"
    srv.run(f"UPDATE {table} SET cost_per_contact = cost_per_contact + 1 WHERE channel = 'web'")
    try:
        changed = source_fingerprint(src)
        assert changed["rows"] == 8 and changed["sha256"] != first["sha256"]
    finally:
        srv.run(f"UPDATE {table} SET cost_per_contact = cost_per_contact - 1 WHERE channel = 'web'")
    assert source_fingerprint(src) == first


def test_postgres_validation_names_table_key_and_column(pg, tmp_path):
    schema = _schema_name()
    pg.create_schema(schema)
    try:
        t = f"{pg.quote(schema)}.{pg.quote('Purchases')}"
        pg.run(f'CREATE TABLE {t} ("Order No" text PRIMARY KEY, cust text, paid_at text, total text)',
               f"INSERT INTO {t} VALUES ('O-1', 'A', '2024-01-02 10:00:00', '100'), "
               "('O-2', 'B', 'yesterday', '50'), ('O-3', 'C', '2024-01-03 11:00:00', 'lots')")
        path = _write(tmp_path, {"name": "pos", "table": "transactions",
                                 "database": {"connection": pg.url, "table": f"{schema}.Purchases"},
                                 "columns": {"account_id": "cust", "timestamp": "paid_at", "amount": "total",
                                             "transaction_id": "Order No"}})
        with pytest.raises(DataValidationError) as err:
            load_sources(load_config(path))
        text = str(err.value)
        assert f"table {schema}.Purchases, key Order No='O-2', column 'paid_at': value 'yesterday'" in text
        assert f"table {schema}.Purchases, key Order No='O-3', column 'total': value 'lots'" in text
        # ecrm validate: the same message, exit status 1
        done = subprocess.run([sys.executable, "-m", "ecrm_lib.run.cli", "validate", "--config", str(path)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode != 0
        assert f"table {schema}.Purchases, key Order No='O-2', column 'paid_at'" in done.stdout + done.stderr
    finally:
        pg.drop_schema(schema)


def test_postgres_query_source_with_a_key(pg_default, csv_default, tmp_path):
    srv, schema, _ = pg_default
    q = (f"SELECT * FROM {srv.quote(schema)}.{srv.quote('transactions')} "
         "WHERE channel = 'web'")
    path = _write(tmp_path, {"name": "web", "table": "transactions",
                             "database": {"connection": srv.url, "query": q, "key": ["transaction_id"]},
                             "columns": {"account_id": "account_id", "timestamp": "timestamp", "amount": "amount",
                                         "transaction_id": "transaction_id"}}, as_of="2025-06-30")
    db = load_sources(load_config(path))
    assert db.files["file"].tolist() == ["query of web"]
    want = pd.read_csv(DEFAULT_CONFIG.parent / "transactions.csv", dtype=str)
    assert db.summary["rows_read"].tolist() == [int((want["channel"] == "web").sum())]


def test_postgres_run_fingerprint_follows_the_database(pg_default):
    from ecrm_lib.run.fingerprint import input_hashes

    srv, schema, path = pg_default
    config = load_config(path)
    first = input_hashes(config)
    assert [h["rows"] for h in first] == [5520, 11063, 10842, 8, 1275, 6000]
    assert all(h["connection"] == srv.url and h["bytes"] is None for h in first)
    assert input_hashes(config) == first
    table = f"{srv.quote(schema)}.{srv.quote('feedback')}"
    srv.run(f"DELETE FROM {table} WHERE response_id = 'F000001'")
    try:
        after = input_hashes(config)
        changed = [h["source"] for h, g in zip(first, after) if h["sha256"] != g["sha256"]]
        assert changed == ["feedback"] and after[4]["rows"] == 1274
    finally:
        srv.run(f"INSERT INTO {table} VALUES ('F000001', 'STR-001065', '2023-01-08 13:43:32', 'store', 9, 10, NULL)")
    assert input_hashes(config) == first


# ----------------------------------------------------------------------------- MariaDB / MySQL


@pytest.fixture(scope="module")
def my_default(my, tmp_path_factory):
    """The embedded default data in a MariaDB database of its own, and its database config."""
    schema = _schema_name()
    tables = load_csv_into(my, DEFAULT_CONFIG, schema)
    path = database_config(DEFAULT_CONFIG, my, schema, tmp_path_factory.mktemp("mycfg") / "config.yaml", tables)
    yield my, schema, path
    my.drop_schema(schema)


def test_mariadb_tables_load_as_the_csv_files_do(my_default, csv_default):
    srv, schema, path = my_default
    db = load_sources(load_config(path))
    assert db.summary.drop(columns="file").equals(csv_default.summary.drop(columns="file"))
    for name in db.paths:
        pd.testing.assert_frame_equal(_sorted(db.frame(name)), _sorted(csv_default.frame(name)), obj=name)
    assert db.files["fingerprint"].eq("count + CHECKSUM TABLE").all()


def test_mariadb_session_is_read_only_and_fingerprint_follows_the_data(my_default):
    from ecrm_lib.data.dbsource import open_session, source_fingerprint

    srv, schema, path = my_default
    src = next(s for s in load_config(path).sources if s.name == "channel_costs")
    table = f"{srv.quote(schema)}.{srv.quote('channel_costs')}"
    with open_session(src) as session:
        with pytest.raises(Exception, match="READ ONLY"):
            session.execute(f"DELETE FROM {table}")
    assert srv.run(f"SELECT COUNT(*) FROM {table}")[0][0] == 8
    first = source_fingerprint(src)
    srv.run(f"UPDATE {table} SET cost_per_contact = cost_per_contact + 1 WHERE channel = 'web'")
    try:
        assert source_fingerprint(src)["sha256"] != first["sha256"]
    finally:
        srv.run(f"UPDATE {table} SET cost_per_contact = cost_per_contact - 1 WHERE channel = 'web'")
    assert source_fingerprint(src) == first


# ----------------------------------------------------------------------------- the whole suite


def _metrics(run_dir: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((Path(run_dir) / "metrics").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = {k: v.get("value") for k, v in data["metrics"].items()}
    return out


def _differences(a: dict, b: dict) -> list[str]:
    out = []
    for nb in sorted(set(a) | set(b)):
        for key in sorted(set(a.get(nb, {})) | set(b.get(nb, {}))):
            x, y = a.get(nb, {}).get(key, "<absent>"), b.get(nb, {}).get(key, "<absent>")
            if x != y and not (isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-9 * max(1, abs(x))):
                out.append(f"{nb}.{key}: csv {x!r} != database {y!r}")
    return out


@pytest.mark.slow
def test_whole_suite_from_postgres_gives_the_csv_metrics(pg, suite_runs, tmp_path):
    """The shared suite's first run (600 generated persons, as of its earlier date) again, every source read from
    PostgreSQL. One run, not two: the first run is the one without an earlier run, so its metrics depend on its
    sources alone; the latest run's date filter is the same code with another as-of date."""
    from ecrm_lib.run.fingerprint import input_hashes
    from ecrm_lib.run.runner import run_suite, suite_fingerprint

    schema = _schema_name()
    tables = load_csv_into(pg, suite_runs.config, schema)
    try:
        config = database_config(suite_runs.config, pg, schema, tmp_path / "data" / "config.yaml", tables)
        out = tmp_path / "reports"
        as_of = json.loads((Path(suite_runs.earlier.run_dir) / "manifest.json").read_text(encoding="utf-8"))["as_of"]
        outcome = run_suite(config, as_of=as_of, out_dir=out, test_params=True, history=False, progress=None)
        assert outcome.status == "ok", [r.status_text() for r in outcome.results]
        want, got = _metrics(suite_runs.earlier.run_dir), _metrics(outcome.run_dir)
        assert sum(len(v) for v in got.values()) > 50
        assert _differences(want, got) == []
        manifest = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
        files = {f["source"]: f for f in manifest["input_files"]}
        assert files["transactions"]["file"] == f"table {schema}.transactions"
        assert files["transactions"]["connection"] == pg.url and files["transactions"]["rows"] > 0
        assert files["transactions"]["fingerprint"].startswith("count + sum(hashtextextended")
        # nothing changed in the database: the recorded fingerprints are the server's now, so the run is skipped
        recorded = [(f["source"], f["rows"], f["sha256"]) for f in manifest["input_files"]]
        assert [(h["source"], h["rows"], h["sha256"]) for h in input_hashes(load_config(config))] == recorded
        if suite_fingerprint(config, as_of=as_of, test_params=True) == outcome.fingerprint:  # no code change or commit since
            again = run_suite(config, as_of=as_of, out_dir=out, test_params=True, history=False, progress=None)
            assert again.status == "unchanged" and again.run_id == outcome.run_id
    finally:
        pg.drop_schema(schema)


def test_the_postgres_example_config_reads_the_default_data(pg, csv_default, tmp_path):
    """data/databases/default.postgres.yaml (keys, a query source) on a copy of its schema."""
    example = DEFAULT_CONFIG.parents[1] / "databases" / "default.postgres.yaml"
    schema = _schema_name()
    load_csv_into(pg, DEFAULT_CONFIG, schema)
    try:
        path = tmp_path / "config.yaml"
        path.write_text(example.read_text(encoding="utf-8").replace("ecrm_default.", f"{schema}."), encoding="utf-8")
        config = load_config(path)
        assert [s.database.key for s in config.sources][:2] == [("account_id",), ("transaction_id",)]
        db = load_sources(config)
        for name in db.paths:
            pd.testing.assert_frame_equal(_sorted(db.frame(name)), _sorted(csv_default.frame(name)), obj=name)
        # keyed tables come in key order, as the files hold them
        pd.testing.assert_frame_equal(db.frame("transactions"), csv_default.frame("transactions"))
    finally:
        pg.drop_schema(schema)


def test_postgres_names_from_the_config_are_identifiers_never_sql(pg_default, tmp_path):
    from ecrm_lib.core.errors import DataSourceError

    srv, schema, _ = pg_default
    evil = f'accounts"; DROP TABLE {schema}.accounts; --'
    path = _write(tmp_path, {**_COSTS, "database": {"connection": srv.url, "table": f"{schema}.{evil}"}})
    with pytest.raises(DataSourceError, match="does not exist"):
        load_sources(load_config(path))
    path = _write(tmp_path, {**_COSTS, "database": {"connection": srv.url, "table": f"{schema}.channel_costs",
                                                    "key": ['channel" DESC; --']}})
    with pytest.raises(ConfigError, match="not in table"):
        load_sources(load_config(path))
    assert srv.run(f"SELECT count(*) FROM {srv.quote(schema)}.{srv.quote('accounts')}")[0][0] == 5520


def test_a_password_from_the_environment_is_masked_in_every_record(pg_default, tmp_path, monkeypatch):
    srv, schema, _ = pg_default
    secret = "s3cret-" + uuid.uuid4().hex[:6]
    monkeypatch.setenv("ECRM_TEST_DB_PASSWORD", secret)
    path = _write(tmp_path, {**_COSTS, "columns": {"channel": "channel", "purpose": "purpose",
                                                   "cost_per_contact": "cost_per_contact"},
                             "database": {"connection": "crm", "table": f"{schema}.channel_costs"}},
                  connections={"crm": {"url": srv.url, "password_env": "ECRM_TEST_DB_PASSWORD"}})
    from ecrm_lib.run.fingerprint import input_hashes

    config = load_config(path)
    db = load_sources(config)  # trust authentication: the password is sent and accepted
    records = db.files.to_csv() + db.summary.to_csv() + json.dumps(input_hashes(config)) + path.read_text()
    assert secret not in records
    assert db.files["connection"].tolist() == [srv.url.replace("postgres://postgres@", "postgres://postgres:***@")
                                               + " (password from $ECRM_TEST_DB_PASSWORD)"]
    monkeypatch.delenv("ECRM_TEST_DB_PASSWORD")
    from ecrm_lib.core.errors import DataSourceError

    with pytest.raises(DataSourceError, match="ECRM_TEST_DB_PASSWORD .password_env., which is not set"):
        load_sources(config)


def test_mariadb_validation_names_table_primary_key_and_column(my, tmp_path):
    schema = _schema_name()
    my.create_schema(schema)
    try:
        t = f"{my.quote(schema)}.{my.quote('Sales')}"
        my.run(f"CREATE TABLE {t} (`Order No` varchar(10) PRIMARY KEY, cust text, paid_at datetime, total text)",
               f"INSERT INTO {t} VALUES ('O-1', 'A', '2024-01-02 10:00:00', '100'), "
               "('O-2', 'B', '2024-01-02 11:00:00', 'lots')")
        path = _write(tmp_path, {"name": "pos", "table": "transactions",
                                 "database": {"connection": my.reader_url(schema), "table": "Sales"},
                                 "columns": {"account_id": "cust", "timestamp": "paid_at", "amount": "total",
                                             "transaction_id": "Order No"}})
        with pytest.raises(DataValidationError) as err:
            load_sources(load_config(path))
        assert "table Sales, key Order No='O-2', column 'total': value 'lots'" in str(err.value)
        assert len(err.value.failures) == 1
    finally:
        my.drop_schema(schema)

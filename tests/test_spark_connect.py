"""The run's Spark Connect server (issue 11): settings, the engine on a Connect session, no orphan JVM.

``engine: {kind: spark}`` without ``remote:`` makes ``ecrm run`` start one
Spark Connect server for the run (:mod:`ecrm_lib.run.spark_server`) and give
its URL to every notebook's kernel; ``remote: sc://...`` names a cluster's
server instead. The fast tests check the settings and the server's command
line; the slow ones start real servers (one at a time: a JVM each) and check
that the engine functions work on a Connect session and give DuckDB's values,
and that the server goes away when the run ends, is interrupted, fails to
load, or when the runner process is killed.

PySpark (the ``spark`` extra, with its Connect client) and Java 17 are needed
for the slow tests; without them they skip locally and fail in CI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from spark_check import SMALL_DATA_CONF, need_spark, spark_engine_yaml

from ecrm_lib.core.config import EngineSettings, load_config
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.data.engine import REMOTE_ENV, spark_remote

pytestmark = pytest.mark.engine  # make test runs these after the other tests (README, "make test")


def _need_spark() -> None:
    need_spark("the Spark Connect tests", connect=True)


def _alive(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) Spark Connect server JVM."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"SparkConnectServer" in cmdline and state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.5)
    return not _alive(pid)


def _config_text(engine: str) -> str:
    return textwrap.dedent(
        """\
        name: t
        sources:
          - name: tx
            table: transactions
            path: tx.csv
            columns: {account_id: account_id, timestamp: timestamp, amount: amount}
        """
    ) + engine


# ------------------------------------------------------------------------------------------- fast
def test_config_reads_remote_and_rejects_bad_spark_settings(tmp_path):
    (tmp_path / "tx.csv").write_text("account_id,timestamp,amount\n1,2024-01-01,1\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(_config_text("engine:\n  kind: spark\n  spark: {remote: 'sc://cluster.example.com:15002', "
                                "conf: {spark.sql.shuffle.partitions: 8}}\n"), encoding="utf-8")
    engine = load_config(cfg).engine
    assert engine.kind == "spark" and engine.spark["remote"] == "sc://cluster.example.com:15002"
    for bad, words in (("{remote: 'http://cluster:15002'}", "sc://"), ("{remote: 15002}", "sc://"),
                       ("{master: local[2], server: yes}", "remote"), ("{conf: [a, b]}", "mapping")):
        cfg.write_text(_config_text(f"engine:\n  kind: spark\n  spark: {bad}\n"), encoding="utf-8")
        with pytest.raises(ConfigError, match=words):
            load_config(cfg)


def test_remote_comes_from_the_config_else_from_the_run(monkeypatch):
    from ecrm_lib.run.spark_server import needs_server

    monkeypatch.delenv(REMOTE_ENV, raising=False)
    local = EngineSettings(kind="spark", spark={"master": "local[2]"})
    cluster = EngineSettings(kind="spark", spark={"remote": "sc://cluster:15002"})
    assert spark_remote(local) is None  # a notebook opened by hand: its own session
    assert spark_remote(cluster) == "sc://cluster:15002"
    assert needs_server(local) and not needs_server(cluster) and not needs_server(EngineSettings())
    monkeypatch.setenv(REMOTE_ENV, "sc://127.0.0.1:4242")  # what the runner gives its kernels
    assert spark_remote(local) == "sc://127.0.0.1:4242"
    assert spark_remote(cluster) == "sc://cluster:15002"  # the config's server wins
    assert spark_remote(EngineSettings()) is None  # DuckDB ignores it


def test_server_command_keeps_the_server_local_and_its_files_in_the_run(tmp_path):
    pytest.importorskip("pyspark")
    from ecrm_lib.run.spark_server import SERVER_CLASS, SparkConnectServer

    settings = EngineSettings(kind="spark", spark={"master": "local[2]", "conf": {
        "spark.sql.shuffle.partitions": 4, "spark.log.level": "INFO", "spark.sql.session.timeZone": "Asia/Seoul",
        "spark.connect.grpc.binding.address": "0.0.0.0"}})
    server = SparkConnectServer(settings, work_dir=tmp_path / "spill", log_path=tmp_path / "logs" / "s.log")
    server.port = 40123
    cmd = server.command()
    assert cmd[0].endswith("spark-submit") and cmd[-1] == "spark-internal"
    assert cmd[cmd.index("--class") + 1] == SERVER_CLASS and cmd[cmd.index("--master") + 1] == "local[2]"
    conf = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "--conf")
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"  # no authentication: never on the network
    assert conf["spark.connect.grpc.binding.port"] == "40123"
    assert conf["spark.sql.session.timeZone"] == "UTC"  # timestamps are UTC instants
    assert conf["spark.sql.shuffle.partitions"] == "4" and conf["spark.log.level"] == "INFO"  # the config's
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.driver.bindAddress"] == conf["spark.driver.host"] == "127.0.0.1"  # local mode: loopback only
    assert Path(conf["spark.local.dir"]).is_relative_to(tmp_path / "spill")
    assert Path(conf["spark.sql.warehouse.dir"]).is_relative_to(tmp_path / "spill")
    assert server.url == "sc://127.0.0.1:40123"
    cluster = SparkConnectServer(EngineSettings(kind="spark", spark={"master": "spark://head:7077"}),
                                 work_dir=tmp_path / "spill", log_path=tmp_path / "s.log")
    cluster.port = 40124
    conf = dict(a.split("=", 1) for a in cluster.command() if "=" in a)
    assert "spark.driver.bindAddress" not in conf and conf["spark.connect.grpc.binding.address"] == "127.0.0.1"


def test_duckdb_run_starts_no_server(tmp_path):
    from ecrm_lib.run.spark_server import run_server, running_servers

    before = set(map(id, running_servers()))  # another file's session-scoped server may live in this worker
    with run_server(EngineSettings(), tmp_path) as server:
        assert server is None and [s for s in running_servers() if id(s) not in before] == []
    assert not (tmp_path / "private").exists()


# ------------------------------------------------------------------------------------------- slow
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_spark()
    from ecrm_lib.run.spark_server import SparkConnectServer

    root = tmp_path_factory.mktemp("spark_connect")
    settings = EngineSettings(kind="spark", spark={"master": "local[2]", "conf": SMALL_DATA_CONF})
    srv = SparkConnectServer(settings, work_dir=root / "spill", log_path=root / "logs" / "spark-connect.log")
    srv.start()
    yield srv
    srv.stop()
    assert _gone_within(srv.pid, 30)


@pytest.mark.slow
def test_engine_on_a_connect_session_gives_duckdbs_values(server, tmp_path, monkeypatch, recwarn):
    import ibis

    from ecrm_lib.data.engine import connect, drop_kept_table, keep_table, local_date, read_parquet

    monkeypatch.setenv(REMOTE_ENV, server.url)
    con = connect(EngineSettings(kind="spark", spark={"master": "local[2]"}))
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    assert isinstance(con._session, ConnectSession)  # a client of the run's server, not a JVM of its own
    assert con._session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert con._session.conf.get("spark.sql.shuffle.partitions") == "4"  # the server's setting
    rng = np.random.default_rng(3)
    ts = pd.Timestamp("2024-03-30 14:00", tz="UTC") + pd.to_timedelta(rng.integers(0, 3 * 86400, 500), unit="s")
    df = pd.DataFrame({"k": rng.integers(0, 40, 500), "ts": ts.astype("datetime64[us, UTC]"),
                       "x": rng.normal(size=500)})
    df.to_parquet(tmp_path / "t.parquet")
    duck = ibis.duckdb.connect()
    tables = {"duckdb": read_parquet(duck, tmp_path / "t.parquet"), "pyspark": read_parquet(con, tmp_path / "t.parquet")}
    kinds = {k: {c: (str(t).split("(")[0], getattr(t, "timezone", None)) for c, t in v.schema().items()}
             for k, v in tables.items()}
    assert kinds["pyspark"] == kinds["duckdb"] and kinds["pyspark"]["ts"] == ("timestamp", "UTC")  # UTC on Spark too
    out = {}
    for name, t in tables.items():
        kept = keep_table(t._find_backend(), "kept_rows", t.mutate(day=local_date(t.ts, name, "Asia/Seoul"),
                                                                   r=ibis.row_number().over(order_by=[t.ts, t.k])))
        agg = kept.group_by("day").aggregate(n=kept.count(), s=kept.x.sum(), first=kept.r.min())
        out[name] = agg.order_by("day").execute()
        up = keep_table(t._find_backend(), "uploaded", pa.table({"a": pa.array([1, 2, 3], pa.int64()),
                                                                 "b": pa.array(["x", None, "z"])}))
        empty = keep_table(t._find_backend(), "empty", pa.table({"a": pa.array([], pa.int64())}))
        got = up.execute().sort_values("a")["b"].tolist()
        assert [None if pd.isna(v) else v for v in got] == ["x", None, "z"] and empty.count().execute() == 0
        for n in ("kept_rows", "uploaded", "empty"):
            drop_kept_table(t._find_backend(), n)
    pd.testing.assert_frame_equal(out["duckdb"], out["pyspark"], check_dtype=False)
    assert len(out["pyspark"]) >= 3
    with pytest.raises(Exception):  # dropped: gone from this session
        con._session.sql("SELECT * FROM uploaded").collect()
    # an in-memory table joined on the engine (Ibis uploads it): no Connect warning in the notebook's output
    codes = ibis.memtable({"k": [1, 2, 3], "label": ["a", "b", "c"]})
    t = tables["pyspark"]
    assert t.join(codes, "k").count().execute() == int(df["k"].isin([1, 2, 3]).sum())
    assert not [w for w in recwarn if "verifySchema" in str(w.message)]


@pytest.mark.slow
def test_a_notebook_releases_its_session_and_the_server_serves_on(server, monkeypatch):
    from ecrm_lib.data.engine import connect, release_spark_sessions

    monkeypatch.setenv(REMOTE_ENV, server.url)
    con = connect(EngineSettings(kind="spark"))
    con._session.range(5).persist().createOrReplaceTempView("held")
    assert con._session.sql("SELECT count(*) AS n FROM held").collect()[0]["n"] == 5
    release_spark_sessions()  # what the kernel's exit does: the server frees the session's views and caches
    assert con._session.is_stopped
    again = connect(EngineSettings(kind="spark"))  # the next notebook
    assert again._session is not con._session and not again._session.is_stopped
    assert again.sql("SELECT 2 AS x").execute()["x"].tolist() == [2]
    with pytest.raises(Exception):
        again._session.sql("SELECT * FROM held").collect()


@pytest.mark.slow
def test_a_connection_goes_to_the_named_server_not_to_a_stale_session_of_the_process(server):
    """A process that holds a Connect session of a server that has gone (an earlier run's) still connects to the
    server it names, and reuses that live session on the next call (in a child process: the stale session stays
    out of this worker)."""
    code = textwrap.dedent(f"""
        from pyspark.sql import SparkSession
        from ecrm_lib.core.config import EngineSettings
        from ecrm_lib.data.engine import connect
        gone = SparkSession.builder.remote("sc://127.0.0.1:9").getOrCreate()  # nothing listens on port 9
        settings = EngineSettings(kind="spark", spark={{"remote": {server.url!r}}})
        con = connect(settings)
        print(con.sql("SELECT 7 AS x").execute()["x"].tolist(), connect(settings)._session is con._session)
    """)
    env = {k: v for k, v in os.environ.items() if k not in (REMOTE_ENV, "SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[7] True"


@pytest.mark.slow
def test_notebooks_sharing_a_server_do_not_see_each_others_tables(server):
    from pyspark.sql import SparkSession

    code = (f"from pyspark.sql import SparkSession; s = SparkSession.builder.remote({server.url!r}).getOrCreate(); "
            "print(s.sql(\"SHOW VIEWS\").count())")
    mine = SparkSession.builder.remote(server.url).create()
    mine.range(3).createOrReplaceTempView("mine_only")
    # another process (a second notebook's kernel) has a session of its own on the same server
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert other.returncode == 0, other.stderr[-2000:]
    assert other.stdout.strip().splitlines()[-1] == "0"
    assert mine.sql("SELECT count(*) AS n FROM mine_only").collect()[0]["n"] == 3


@pytest.fixture(scope="module")
def tiny_spark_config(tmp_path_factory) -> Path:
    from ecrm_lib.data.synth import generate

    root = tmp_path_factory.mktemp("spark_tiny")
    generate(root / "data", n_persons=40, seed=5)
    cfg = root / "data" / "config_spark.yaml"
    cfg.write_text((root / "data" / "config.yaml").read_text(encoding="utf-8")
                   + spark_engine_yaml("local[1]"), encoding="utf-8")
    return cfg


@pytest.mark.slow
def test_run_stops_its_server_on_ctrl_c(tiny_spark_config, tmp_path, monkeypatch):
    _need_spark()
    import ecrm_lib.run.runner as runner
    from ecrm_lib.run.spark_server import running_servers

    seen = {}

    def interrupted(selected, params, config, layout, *args, env=None, **kw):
        seen["url"] = env[REMOTE_ENV]
        (server,) = [s for s in running_servers() if s.work_dir.is_relative_to(tmp_path)]  # the run's own
        seen["pid"], seen["log"] = server.pid, server.log_path
        assert server.url == seen["url"] and _alive(server.pid)
        assert server.log_path.is_relative_to(layout.root) and server.work_dir.is_relative_to(layout.root)
        from ecrm_lib.data.engine import connect

        monkeypatch.setenv(REMOTE_ENV, seen["url"])
        assert connect(config.engine).sql("SELECT 41 + 1 AS x").execute()["x"].tolist() == [42]  # it serves
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_notebooks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_suite(tiny_spark_config, out_dir=tmp_path / "out", test_params=True, progress=None)
    assert seen["url"].startswith("sc://127.0.0.1:")
    assert seen["pid"] not in [s.pid for s in running_servers()] and _gone_within(seen["pid"], 5)
    assert seen["log"].is_file()  # the server's log stays with the (unpublished) staging folder


@pytest.mark.slow
def test_failed_loading_stops_the_server_and_leaves_no_folder(tiny_spark_config, tmp_path):
    _need_spark()
    from ecrm_lib.run.runner import run_suite
    from ecrm_lib.run.spark_server import running_servers

    pids = []

    def bad_loader(config, as_of, say):
        (server,) = [s for s in running_servers() if s.work_dir.is_relative_to(tmp_path)]  # launched while loading
        pids.append(server.pid)
        raise RuntimeError("the source database went away")

    with pytest.raises(RuntimeError, match="went away"):
        run_suite(tiny_spark_config, out_dir=tmp_path / "out", test_params=True, progress=None, loader=bad_loader)
    assert pids[0] not in [s.pid for s in running_servers()] and _gone_within(pids[0], 5)
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".staging")] == []


@pytest.mark.slow
def test_no_orphan_server_when_the_runner_is_killed(tmp_path):
    """A runner killed outright (SIGKILL: no finally, no atexit) takes its server with it (Linux)."""
    _need_spark()
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    script = textwrap.dedent(
        f"""
        import sys, time
        from ecrm_lib.core.config import EngineSettings
        from ecrm_lib.run.spark_server import SparkConnectServer
        s = SparkConnectServer(EngineSettings(kind="spark", spark={{"master": "local[1]"}}),
                               work_dir={str(tmp_path / "spill")!r}, log_path={str(tmp_path / "server.log")!r})
        s.start()
        print(s.pid, flush=True)
        time.sleep(600)
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = None
    try:
        line = runner.stdout.readline()
        assert line.strip().isdigit(), (tmp_path / "server.log").read_text(errors="replace")[-2000:]
        pid = int(line)
        assert _alive(pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
        assert _gone_within(pid, 60), f"the Spark Connect server {pid} outlived its killed runner"
    finally:
        if runner.poll() is None:
            runner.kill()
        if pid is not None and _alive(pid):  # the test failed: do not leave the JVM behind
            os.killpg(pid, signal.SIGKILL)

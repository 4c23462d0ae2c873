"""DuckDB / Spark parity of the loader's engine functions and SQL text (ecrm_lib.data.functions, .dialect).

Trimming (Python's ``str.strip()``), white space at the ends, parsing with a
strftime format, and the SQL text of the schema checks give the same answers
on embedded DuckDB and on a local Spark session, for the values where the
loader depends on them. Spark needs the ``spark`` extra and Java 17: without
them these tests skip locally and fail in CI.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys

import ibis
import pandas as pd
import pytest
from spark_check import SMALL_DATA_CONF, need_spark

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.schema import ColumnSpec
from ecrm_lib.data.dialect import EngineSQL
from ecrm_lib.data.functions import EngineFunctions, SparkFunctions, engine_functions, strftime_to_java
from ecrm_lib.data.validate import column_checks

pytestmark = [pytest.mark.slow, pytest.mark.engine]

TEXTS = ["  a ", "\u00a0b\u3000", "c", "", None, "\td\n", "가 ", " 가", "x\u2003", "\x1cz", "in side", "\u2028e"]


@pytest.fixture(scope="module")
def engines():
    """(DuckDB connection, Spark connection, Spark session): a local Spark session of one core, UTC."""
    need_spark("the loader's Spark functions")
    from pyspark.sql import SparkSession

    # a Spark Connect client made earlier in this worker (another test file) marks the process as one, and PySpark
    # then builds only Connect sessions: this module's classic session is built, and used, without that mark
    marks = {k: os.environ.pop(k) for k in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE") if k in os.environ}
    builder = SparkSession.builder.master("local[1]").appName("ecrm-functions-test")
    # the session's Python workers (a frame of this process turned into a Spark table) are this interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {**SMALL_DATA_CONF, "spark.sql.session.timeZone": "UTC"}
    for k, v in conf.items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    duck = ibis.duckdb.connect()
    duck.raw_sql("SET TimeZone = 'UTC'")
    yield duck, ibis.pyspark.connect(session), session
    session.stop()
    os.environ.update(marks)


def _both(engines, frame: pd.DataFrame, make) -> tuple[list, list]:
    """``make(table, functions)`` evaluated on DuckDB and on Spark, in the frame's row order."""
    duck, spark, _ = engines
    out = []
    for con in (duck, spark):
        t = ibis.memtable(frame.assign(i=range(len(frame))))
        fn = engine_functions(con)
        got = con.execute(t.select("i", v=make(t, fn)).order_by("i"))
        out.append(got["v"].tolist())
    return out[0], out[1]


def _same(a, b) -> bool:
    missing = lambda x: x is None or x is pd.NaT or (isinstance(x, float) and math.isnan(x))  # noqa: E731
    return (missing(a) and missing(b)) or a == b


def test_engine_functions_are_picked_by_the_connection(engines):
    duck, spark, _ = engines
    assert type(engine_functions(duck)) is EngineFunctions
    assert type(engine_functions(spark)) is SparkFunctions


def test_trim_and_edge_space_agree_with_python_on_both_engines(engines):
    frame = pd.DataFrame({"x": pd.Series(TEXTS, dtype=object)})
    d_trim, s_trim = _both(engines, frame, lambda t, fn: fn.trim(t.x))
    d_edge, s_edge = _both(engines, frame, lambda t, fn: fn.edge_space(t.x))
    expected_trim = [None if x is None else x.strip() for x in TEXTS]
    # white space or a control character at an end; the empty text counts too (its first code is 0), which only
    # sends it through a trim that leaves it as it is
    expected_edge = [None if x is None else x == "" or x != x.strip() or x[:1] < " " or x[-1:] < " " for x in TEXTS]
    assert [None if pd.isna(v) else v for v in d_trim] == expected_trim
    assert [None if pd.isna(v) else v for v in s_trim] == expected_trim
    for x, d, s, want in zip(TEXTS, d_edge, s_edge, expected_edge):
        if x is None:
            continue
        assert bool(d) == bool(s) == want, (x, d, s)


def test_edge_space_sql_agrees_on_both_engines(engines):
    duck, _, session = engines
    fn_d, fn_s = EngineFunctions(), SparkFunctions()
    rows = [(i, x) for i, x in enumerate(TEXTS)]
    duck.raw_sql("CREATE OR REPLACE TEMP TABLE vals AS SELECT * FROM (VALUES " +
                 ", ".join(f"({i}, {_sql_text(x)})" for i, x in rows) + ") v(i, x)")
    session.createDataFrame(rows, "i int, x string").createOrReplaceTempView("vals")
    d = [r[0] for r in duck.raw_sql(f"SELECT {fn_d.edge_space_sql('x')} FROM vals ORDER BY i").fetchall()]
    s = [r[0] for r in session.sql(EngineSQL.spark_text(f"SELECT {fn_s.edge_space_sql('x')} AS e FROM vals ORDER BY i"))
         .collect()]
    assert d == s
    assert d[TEXTS.index("c")] is False and d[TEXTS.index("  a ")] is True and d[TEXTS.index("x\u2003")] is True


def _sql_text(x):
    if x is None:
        return "NULL"
    return "chr(" + ") || chr(".join(str(ord(c)) for c in x) + ")" if x else "''"


FORMATS = {
    "%Y-%m-%d": ["2024-01-05", "2024-1-5", "2024-13-01", "2024-01-05 10:00", "x"],
    "%d/%m/%Y %H:%M": ["05/01/2024 10:30", "5/1/2024 9:05", "31/02/2024 10:00"],
    "%Y%m%d": ["20240105", "20241231"],
    "%Y-%m-%dT%H:%M:%S.%f": ["2024-01-05T10:30:15.5", "2024-01-05T10:30:15.123456"],
    "%m/%d/%Y %I:%M %p": ["1/5/2024 1:00 PM", "01/05/2024 12:15 AM"],
    "%d %b %Y": ["05 Jan 2024", "5 Dec 2023"],
    "%y-%m-%d": ["99-01-01", "68-01-01", "24-02-29"],
    "%Y년 %m월 %d일": ["2024년 1월 5일"],
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_parsing_with_a_strftime_format_agrees_on_both_engines(engines, fmt):
    values = FORMATS[fmt]
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    d, s = _both(engines, frame, lambda t, fn: fn.try_strptime(t.x, fmt))
    for x, a, b in zip(values, d, s):
        assert _same(a, b), (fmt, x, a, b)
    assert any(not pd.isna(a) for a in d)  # the format reads something


def test_parsing_with_an_offset_gives_the_same_instant_on_both_engines(engines):
    values = ["2024-01-05 10:00 +09:00", "2024-01-05 10:00 +0900", "2024-01-05 10:00 -05:00", "2024-01-05 10:00"]
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    d, s = _both(engines, frame, lambda t, fn: fn.try_strptime_tz(t.x, "%Y-%m-%d %H:%M %z"))
    want = [dt.datetime(2024, 1, 5, 1), dt.datetime(2024, 1, 5, 1), dt.datetime(2024, 1, 5, 15), None]
    for x, a, b, w in zip(values, d, s, want):
        assert _same(a, b), (x, a, b)
        assert (pd.isna(a) and w is None) or pd.Timestamp(a).tz_localize(None) == pd.Timestamp(w), (x, a)


def test_schema_check_sql_finds_the_same_rows_on_both_engines(engines):
    duck, _, session = engines
    amount = ColumnSpec("amount", "float", "", nullable=False, min_value=0.0)
    account = ColumnSpec("account_id", "string", "", nullable=False)
    rows = list(zip([1.0, float("inf"), -float("inf"), float("nan"), None, -2.0],
                    ["a1", "b\n2", "c\t3", "d\\x4", "e'5", None]))
    frame = pd.DataFrame({"amount": pd.Series([r[0] for r in rows], dtype=float),
                          "account_id": pd.Series([r[1] for r in rows], dtype=object)})
    duck.con.register("checks_frame", frame)
    duck.raw_sql("CREATE OR REPLACE TEMP TABLE checks AS SELECT * FROM checks_frame")
    session.createDataFrame(rows, "amount double, account_id string").createOrReplaceTempView("checks")
    for spec in (amount, account):
        for (cond_d, problem, _), (cond_s, _, _) in zip(column_checks(spec, spec.name),
                                                         column_checks(spec, spec.name, SparkFunctions())):
            d = [bool(r[0]) for r in duck.raw_sql(f"SELECT {cond_d} FROM checks").fetchall()]
            s = [bool(r[0]) for r in session.sql(EngineSQL.spark_text(f"SELECT {cond_s} AS c FROM checks")).collect()]
            assert d == s, (spec.name, problem, d, s)
    conds = {p: c for c, p, _ in column_checks(account, "account_id", SparkFunctions())}
    control = next(c for p, c in conds.items() if "control" in p)
    assert [r[0] for r in session.sql(EngineSQL.spark_text(f"SELECT {control} AS c FROM checks")).collect()] == \
        [False, True, True, False, False, False]


def test_strftime_translation_quotes_text_and_refuses_what_spark_reads_otherwise():
    assert strftime_to_java("%Y%m%dT%H%M%S") == "yyyyMMdd'T'HHmmss"
    assert strftime_to_java("%d o'clock %Y") == "d' o''clock 'yyyy"
    assert strftime_to_java("%-d.%-m.%Y") == "d.M.yyyy"
    assert strftime_to_java("[%Y]") == "'['yyyy']'"
    with pytest.raises(ConfigError, match="%U cannot be read on Spark"):
        strftime_to_java("%Y week %U")


# ---------------------------------------------------------------------- loading Parquet sources on Spark
@pytest.fixture(scope="module")
def parquet_data(tmp_path_factory):
    """Generated data as Parquet (300 persons), and its config."""
    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.synth import generate

    root = tmp_path_factory.mktemp("parquet_data")
    generate(root, n_persons=300, seed=5, format="parquet")
    return root, load_config(root / "config.yaml")


def _loaded(result) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path) for name, path in sorted(result.paths.items())}


def test_loading_parquet_sources_on_spark_gives_duckdbs_tables_and_records(engines, parquet_data):
    from ecrm_lib.data.load import load_sources

    _, spark, _ = engines
    _, config = parquet_data
    on_duck = load_sources(config)
    on_spark = load_sources(config, con=spark)
    duck_tables, spark_tables = _loaded(on_duck), _loaded(on_spark)
    assert list(duck_tables) == list(spark_tables) and len(duck_tables) >= 4
    for name in duck_tables:
        pd.testing.assert_frame_equal(duck_tables[name], spark_tables[name], check_exact=True, obj=name)
    assert on_duck.as_of == on_spark.as_of
    for part in ("summary", "set_aside", "adjustments"):
        pd.testing.assert_frame_equal(getattr(on_duck, part), getattr(on_spark, part), obj=part)
    assert on_spark.summary["rows_set_aside"].sum() > 0  # the generator's quirks are set aside on both


def test_bad_rows_of_a_parquet_source_are_reported_alike_on_spark(engines, parquet_data, tmp_path):
    import shutil

    import pyarrow.parquet as pq

    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.errors import DataValidationError
    from ecrm_lib.data.load import load_sources

    _, spark, _ = engines
    root, _ = parquet_data
    shutil.copytree(root, tmp_path / "data")
    path = tmp_path / "data" / "accounts.parquet"
    accounts = pq.read_table(path).to_pandas()
    accounts.loc[3, "account_id"] = accounts.loc[2, "account_id"]  # one id, two accounts (table check)
    accounts.loc[7, "account_id"] = "x\ny"                          # a control character in an id (column check)
    accounts.to_parquet(path, index=False)
    config = load_config(tmp_path / "data" / "config.yaml")
    errors = []
    for con in (None, spark):
        with pytest.raises(DataValidationError) as info:
            load_sources(config, con=con)
        errors.append(info.value.failures)
    pd.testing.assert_frame_equal(errors[0], errors[1])
    got = errors[1]
    repeated = got[got["problem"].str.contains("repeated")]
    assert set(repeated["line"]) == {"row 3", "row 4"} and set(repeated["file"]) == {"accounts.parquet"}
    control = got[got["problem"].str.contains("control character")]
    assert control[["line", "column", "value"]].to_numpy().tolist() == [["row 8", "account_id", "x\ny"]]


def test_dates_written_as_text_in_a_parquet_source_are_read_alike_on_spark(engines, parquet_data, tmp_path):
    """Text dates: ISO 8601 parsed by the engine, other layouts inferred by pandas on the distinct values and
    joined back by row (the one place the loader uploads a table), with and without an offset."""
    import shutil

    import pyarrow.parquet as pq

    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.load import load_sources

    _, spark, _ = engines
    root, _ = parquet_data
    shutil.copytree(root, tmp_path / "data")
    path = tmp_path / "data" / "accounts.parquet"
    accounts = pq.read_table(path).to_pandas()
    created = accounts["created_at"]
    assert created.dt.tz is None  # local times (the config's time zone), as in the CSV files
    text = created.dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    text[1::3] = created[1::3].dt.strftime("%d %B %Y %H:%M")                    # not ISO: inferred
    text[2::3] = created[2::3].dt.tz_localize("Asia/Seoul").dt.strftime("%Y-%m-%dT%H:%M:%S%z")  # with an offset
    accounts["created_at"] = text
    accounts.to_parquet(path, index=False)
    config = load_config(tmp_path / "data" / "config.yaml")
    on_duck, on_spark = load_sources(config), load_sources(config, con=spark)
    a, b = (pd.read_parquet(r.paths["accounts"]) for r in (on_duck, on_spark))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(on_duck.adjustments, on_spark.adjustments)
    assert on_spark.adjustments["adjustment"].str.contains("by inference").any()
    assert b["created_at"].notna().all() and str(b["created_at"].dt.tz) == "UTC"


def test_ecrm_validate_of_a_spark_config_loads_on_spark(parquet_data, tmp_path):
    """``ecrm validate`` of a Spark config with Parquet sources, in a process of its own, loads on a Spark session
    from the config's master and prints what DuckDB's load gives; dates written as text are inferred there (the
    one table the loader uploads from the process)."""
    import shutil
    import subprocess

    import pyarrow.parquet as pq

    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.load import load_sources
    from spark_check import spark_engine_yaml

    need_spark("ecrm validate on Spark")
    root, _ = parquet_data
    shutil.copytree(root, tmp_path / "data")
    path = tmp_path / "data" / "accounts.parquet"
    accounts = pq.read_table(path).to_pandas()
    accounts["created_at"] = accounts["created_at"].dt.strftime("%d %B %Y %H:%M").astype(object)  # inferred
    accounts.to_parquet(path, index=False)
    cfg = tmp_path / "data" / "config_spark.yaml"
    cfg.write_text((tmp_path / "data" / "config.yaml").read_text(encoding="utf-8") + spark_engine_yaml("local[1]"),
                   encoding="utf-8")
    assert load_config(cfg).engine.kind == "spark"
    drop = ("PYSPARK_PYTHON", "SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "ECRM_SPARK_REMOTE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    done = subprocess.run([sys.executable, "-m", "ecrm_lib.run.cli", "validate", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = done.stdout
    assert "loading on Spark (local[1])" in out and "data valid" in out, out
    assert "by inference" in out
    summary = load_sources(load_config(tmp_path / "data" / "config.yaml")).summary
    for r in summary.itertuples():
        assert f"{r.rows_read}" in out.replace(",", "") and r.file in out


def test_spark_loads_parquet_only():
    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.paths import DEFAULT_CONFIG
    from ecrm_lib.data.load import load_sources

    class FakeSpark:
        name = "pyspark"

    with pytest.raises(ConfigError, match="loading on Spark reads Parquet files only"):
        load_sources(load_config(DEFAULT_CONFIG), con=FakeSpark())


def test_a_date_format_spark_reads_otherwise_is_refused_naming_its_source(parquet_data):
    from dataclasses import replace

    from ecrm_lib.data.load import load_sources

    class FakeSpark:
        name = "pyspark"

    _, config = parquet_data
    sources = [replace(s, date_format="%Y week %U") if s.name == "transactions" else s for s in config.sources]
    with pytest.raises(ConfigError, match=r"source 'transactions' \(transactions.parquet\): date_format "
                                          r"'%Y week %U': %U cannot be read on Spark"):
        load_sources(replace(config, sources=sources), con=FakeSpark())

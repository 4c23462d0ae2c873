"""DuckDB / PySpark parity of ecrm_lib.value.features.

The same Ibis expressions run on embedded DuckDB and on Spark, twice: on a
local-mode Spark session in the test's process (a notebook opened by hand) and
on a client of a local Spark Connect server (a notebook of ``ecrm run``);
every customer and every column must come back identical (spend columns too:
amounts are summed as exact decimals).

PySpark is the ``spark`` extra (``pip install -e ".[spark]"``) and needs Java 17.
Without pyspark these tests skip locally, but fail in CI (``CI`` set), where
they must run.
"""

from __future__ import annotations

import os

import ibis
import numpy as np
import pandas as pd
import pytest

from spark_check import SMALL_DATA_CONF, TEST_JVM_OPTIONS

from ecrm_lib.value.features import EXCLUDED_NEW_CUSTOMERS, calibration_holdout, rfm_summary
from ecrm_lib.core.paths import lifetimes_datasets_dir

# one Spark session per run: `make test` distributes whole files (`--dist loadfile`), so these tests share one worker
pytestmark = [pytest.mark.slow, pytest.mark.engine]

TIMEZONES = ["UTC", "Asia/Seoul", "America/New_York"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _no_spark(msg: str):
    if _in_ci():
        pytest.fail(f"DuckDB/Spark parity must run in CI, but {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session", params=["classic", "connect"])
def spark(request, tmp_path_factory):
    """An Ibis connection to Spark, once per kind of session (one JVM at a time):

    - ``classic``: a local Spark session in this process (about 8 s to start), what a notebook
      opened by hand uses;
    - ``connect``: a client of a local Spark Connect server (:mod:`ecrm_lib.run.spark_server`),
      what every notebook of ``ecrm run`` uses.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        _no_spark(f"pyspark is not importable ({exc}): install the spark extra with "
                  "`.venv/bin/pip install -e '.[spark]'` (Java 17 must be on PATH)")
    # the classic session keeps Spark's code generation on (the other Spark tests interpret expressions:
    # spark_check.SMALL_DATA_CONF); both JVMs compile with C1 only
    conf = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false", "spark.driver.extraJavaOptions": TEST_JVM_OPTIONS}
    if request.param == "connect":
        conf = {**SMALL_DATA_CONF, **conf}
        from ecrm_lib.core.config import EngineSettings
        from ecrm_lib.run.spark_server import SparkConnectServer, SparkServerError

        root = tmp_path_factory.mktemp("features_connect")
        server = SparkConnectServer(EngineSettings(kind="spark", spark={"master": "local[1]", "conf": conf}),
                                    work_dir=root / "spill", log_path=root / "spark-connect.log")
        try:
            session = SparkSession.builder.remote(server.start()).create()  # not an earlier file's session
        except (SparkServerError, ImportError) as exc:
            server.stop()
            _no_spark(f"a local Spark Connect server could not start or be reached: {exc}")
        yield ibis.pyspark.connect(session)
        session.stop()
        server.stop()
        return
    # a Spark Connect client made earlier in this worker (another test file) marks the process as one, and PySpark
    # then builds only Connect sessions: the classic session is built, and used, without that mark
    marks = {k: os.environ.pop(k) for k in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE") if k in os.environ}
    try:
        builder = SparkSession.builder.master("local[1]").appName("ecrm-features-parity")
        for k, v in conf.items():
            builder = builder.config(k, v)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # no Java, no free port, ...
        _no_spark(f"pyspark is installed but a local Spark session could not start: {exc!r}. "
                  "Spark 4.0 needs Java 17 ('java' on PATH or JAVA_HOME set).")
    yield ibis.pyspark.connect(session)
    session.stop()
    os.environ.update(marks)


@pytest.fixture(scope="module")
def edge_tx() -> pd.DataFrame:
    """About 4,000 transactions, many within minutes of local midnight in UTC, Seoul and New York."""
    rng = np.random.default_rng(20240310)
    n = 4000
    start = pd.Timestamp("2023-09-01", tz="UTC")
    day = rng.integers(0, 420, n)  # spans both DST changes of 2024 in New York
    # UTC hours of local midnight: 0 (UTC), 15 (Seoul), 4 and 5 (New York, summer and winter)
    midnight = rng.choice([0, 15, 4, 5], n) * 3600 + rng.integers(-120, 120, n)
    anywhere = rng.integers(0, 86400, n)
    seconds = day * 86400 + np.where(rng.random(n) < 0.6, midnight, anywhere)
    ids = rng.integers(0, 400, n)
    return pd.DataFrame(
        {
            "customer_id": np.array([f"k{i:03d}" for i in ids]),  # string ids here, integer ids in CDNOW
            "timestamp": start + pd.to_timedelta(seconds, unit="s"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2) * np.where(rng.random(n) < 0.03, -1, 1),
        }
    )


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(
        lifetimes_datasets_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


def _assert_identical(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark, check_exact=True)
    assert duck.attrs == spark.attrs


def test_edge_data_crosses_local_midnight(edge_tx):
    # the data is only a good parity test if the time zone changes the purchase days
    utc = rfm_summary(edge_tx, as_of="2024-09-30", timezone="UTC")
    for tz in TIMEZONES[1:]:
        local = rfm_summary(edge_tx, as_of="2024-09-30", timezone=tz)
        assert (local["n_purchase_days"] != utc["n_purchase_days"].reindex(local.index)).sum() > 20


@pytest.mark.parametrize("tz", TIMEZONES)
def test_rfm_summary_parity(spark, edge_tx, tz):
    kw = dict(as_of="2024-09-30", timezone=tz, time_unit="W")
    _assert_identical(rfm_summary(edge_tx, **kw), rfm_summary(edge_tx, backend=spark, **kw))


@pytest.mark.parametrize("tz", TIMEZONES)
def test_calibration_holdout_parity(spark, edge_tx, tz):
    kw = dict(calibration_end="2024-06-30", observation_end="2024-10-20", timezone=tz, time_unit="D")
    duck = calibration_holdout(edge_tx, **kw)
    on_spark = calibration_holdout(edge_tx, backend=spark, **kw)
    _assert_identical(duck, on_spark)
    # customers first seen after calibration_end are left out, and both engines count the same ones
    first = pd.to_datetime(edge_tx["timestamp"], utc=True).dt.tz_convert(tz).dt.date.groupby(edge_tx["customer_id"]).min()
    expected = int((first > pd.Timestamp(kw["calibration_end"]).date()).sum())
    assert duck.attrs[EXCLUDED_NEW_CUSTOMERS] == on_spark.attrs[EXCLUDED_NEW_CUSTOMERS] == expected


def test_naive_timestamps_parity(spark, edge_tx):
    naive = edge_tx.assign(timestamp=edge_tx["timestamp"].dt.tz_localize(None))
    kw = dict(as_of="2024-09-30", timezone="Asia/Seoul")
    duck = rfm_summary(naive, **kw)
    _assert_identical(duck, rfm_summary(naive, backend=spark, **kw))
    _assert_identical(duck, rfm_summary(edge_tx, **kw))  # naive timestamps are read as UTC


def test_cdnow_parity(spark, cdnow):
    kw = dict(time_col="date", time_unit="W")
    _assert_identical(
        calibration_holdout(cdnow, calibration_end="1997-09-30", observation_end="1998-06-30", **kw),
        calibration_holdout(cdnow, calibration_end="1997-09-30", observation_end="1998-06-30", backend=spark, **kw),
    )
    _assert_identical(rfm_summary(cdnow, as_of="1998-06-30", **kw), rfm_summary(cdnow, as_of="1998-06-30", backend=spark, **kw))


def test_spark_table_from_parquet(spark, edge_tx, tmp_path):
    # the cluster route of the module docstring: a table read through the Spark connection
    path = tmp_path / "tx.parquet"
    edge_tx.to_parquet(path)
    table = spark.read_parquet(str(path))
    kw = dict(calibration_end="2024-06-30", observation_end="2024-10-20", timezone="America/New_York")
    _assert_identical(calibration_holdout(edge_tx, **kw), calibration_holdout(table, **kw))


def test_churn_features_labels_and_daily_sums_parity(spark, edge_tx, tmp_path):
    """The churn features and labels and the tracking chart's daily sums: the same on Spark as on DuckDB."""
    from ecrm_lib.value import churn_data
    from ecrm_lib.value.features import holdout_daily_purchases

    rng = np.random.default_rng(7)
    tx = edge_tx.assign(channel=rng.choice(["web", "store", None], len(edge_tx)))
    rows = tx.sample(900, random_state=1)
    contacts = pd.DataFrame({"customer_id": rows["customer_id"].to_numpy(), "timestamp": rows["timestamp"].to_numpy(),
                             "channel": rng.choice(["phone", "email"], 900),
                             "purpose": rng.choice(["Complaint about delivery", "order_status", None], 900)})
    feedback = pd.DataFrame({"customer_id": rows["customer_id"].to_numpy()[:300], "timestamp": rows["timestamp"].to_numpy()[:300],
                             "score": rng.integers(0, 11, 300).astype(float), "score_max": 10.0})
    tables = {}
    for name, df in (("tx", tx), ("contacts", contacts), ("feedback", feedback)):
        df.to_parquet(tmp_path / f"{name}.parquet")
        tables[name] = spark.read_parquet(str(tmp_path / f"{name}.parquet"))
    kw = dict(as_of="2024-06-30", timezone="Asia/Seoul", internet_channels=["web"])
    duck = churn_data.churn_features(tx, contacts=contacts, feedback=feedback, **kw)
    on_spark = churn_data.churn_features(tables["tx"], contacts=tables["contacts"], feedback=tables["feedback"], **kw)
    pd.testing.assert_frame_equal(duck, on_spark, check_index_type=False)
    lab = dict(cutoff="2024-03-31", as_of="2024-09-30", timezone="America/New_York")
    pd.testing.assert_frame_equal(churn_data.churn_labels(tx, **lab), churn_data.churn_labels(tables["tx"], **lab),
                                  check_index_type=False)
    assert churn_data.first_purchase_day(tx) == churn_data.first_purchase_day(tables["tx"])
    daily = dict(calibration_end="2024-06-30", observation_end="2024-10-20", timezone="Asia/Seoul")
    pd.testing.assert_frame_equal(holdout_daily_purchases(tx, **daily), holdout_daily_purchases(tables["tx"], **daily))

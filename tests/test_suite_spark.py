"""The suite on Spark (issue 11 item 3): the same results as on DuckDB.

``engine: kind: spark`` runs every engine-side aggregation and identity
resolution on Spark (here ``local[2]``): ``ecrm run`` starts one Spark Connect
server for the run and every notebook is its client
(:mod:`ecrm_lib.run.spark_server`); loading still runs on embedded DuckDB and
writes the canonical Parquet tables that Spark reads (see
``ecrm_lib.data.load``). These tests run the same data on both engines and
compare:

- identity resolution alone (account map, golden records, Splink's match
  weights) on 300 generated persons, on a client of a Spark Connect server
  as in a run;
- the whole suite (every notebook, the registry's test parameters, no
  earlier run) on 300 generated persons: every recorded metric, equal or
  within the tolerance :data:`TOLERANCES` gives for it.

PySpark is the ``spark`` extra and needs Java 17. Without them these tests
skip with the reason locally and fail in CI (``CI`` set), where they must run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

#: Metric keys ("notebook.key") allowed to differ between the engines, with the largest relative difference.
#: Everything else must be equal (floats to 1e-9 relative: sums of the same decimals in another order).
#: Empty: on 300 generated persons (default parameters, 2026-12-02) all 137 metrics were equal on a Spark session per
#: notebook, and all 147 on the run's Spark Connect server.
TOLERANCES: dict[str, float] = {}

DEFAULT_REL = 1e-9


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _need_spark() -> None:
    """Skip (locally) or fail (CI) when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        msg = f"pyspark is not importable ({exc}): install the spark extra (`.venv/bin/pip install -e '.[spark]'`)"
        if _in_ci():
            pytest.fail(f"the Spark suite test must run in CI, but {msg}", pytrace=False)
        pytest.skip(msg)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        msg = "Spark needs Java 17: no `java` on PATH and JAVA_HOME is not set"
        if _in_ci():
            pytest.fail(f"the Spark suite test must run in CI, but {msg}", pytrace=False)
        pytest.skip(msg)


def _spark_config(config: Path, out: Path) -> Path:
    """A copy of a generated config whose engine is local Spark (two cores, four shuffle partitions)."""
    text = config.read_text(encoding="utf-8")
    assert "\nengine:" not in text
    text = text.replace("\nname: default\n", "\nname: default_spark\n")
    text += (
        "engine:\n  kind: spark\n  spark:\n    master: local[2]\n    conf:\n"
        "      spark.sql.shuffle.partitions: 4\n      spark.ui.enabled: 'false'\n"
    )
    out.write_text(text, encoding="utf-8")
    return out


def _metrics(run_dir: Path) -> dict[str, object]:
    out = {}
    for path in sorted((Path(run_dir) / "metrics").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.update({f"{path.stem}.{k}": v.get("value") for k, v in data["metrics"].items()})
    return out


def _differences(duck: dict, spark: dict) -> list[str]:
    out = []
    for key in sorted(set(duck) | set(spark)):
        x, y = duck.get(key, "<absent>"), spark.get(key, "<absent>")
        if x == y:
            continue
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            rel = TOLERANCES.get(key, DEFAULT_REL)
            if math.isclose(x, y, rel_tol=rel, abs_tol=rel):
                continue
        out.append(f"{key}: duckdb {x!r} != spark {y!r}")
    return out


@pytest.fixture(scope="module")
def data300(tmp_path_factory) -> Path:
    from ecrm_lib.data.synth import generate

    root = tmp_path_factory.mktemp("spark300")
    generate(root / "data", n_persons=300, seed=11)
    return root / "data" / "config.yaml"


def test_identity_resolution_on_spark_equals_duckdb(data300, tmp_path, monkeypatch):
    _need_spark()
    import ibis

    from ecrm_lib.channels.identity import resolve_identities
    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.engine import REMOTE_ENV, connect, read_parquet
    from ecrm_lib.data.load import load_sources
    from ecrm_lib.run.spark_server import run_server

    config = load_config(_spark_config(data300, data300.parent / "config_spark.yaml"))  # beside the data files
    loaded = load_sources(config, work_dir=tmp_path / "load")
    path = loaded.paths["accounts"]
    duck = resolve_identities(ibis.duckdb.connect().read_parquet(str(path)))
    with run_server(config.engine, tmp_path / "run") as server:  # as `ecrm run` does: Splink on a Connect session
        monkeypatch.setenv(REMOTE_ENV, server.wait_ready())
        spark_con = connect(config.engine)
        assert type(spark_con._session).__module__.startswith("pyspark.sql.connect")
        spark = resolve_identities(read_parquet(spark_con, path, name="accounts"))
    a = duck.account_map.sort_values("account_id").reset_index(drop=True)
    b = spark.account_map.sort_values("account_id").reset_index(drop=True)
    assert len(a) > 300 and a["customer_id"].nunique() < len(a)  # accounts were linked
    pd.testing.assert_frame_equal(a.drop(columns="match_weight"), b.drop(columns="match_weight"))
    np.testing.assert_allclose(a["match_weight"].to_numpy(float), b["match_weight"].to_numpy(float), rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(
        duck.golden.sort_values("customer_id").reset_index(drop=True),
        spark.golden.sort_values("customer_id").reset_index(drop=True),
    )


# The whole-suite comparison runs in `make test`: with one Spark Connect server per run it took 4.4 min on 2 cores
# shared with other work (2026-12-02, load average about 3; both runs, DuckDB's and Spark's), and 11 min when the
# machine was busier (load average about 9: the Spark run 7.5 min, 22 min before with a JVM per notebook; the
# DuckDB run 3.8 min). Spark costs 0.4-0.6 s a query on small data (DuckDB 7 ms), and identity resolution alone
# makes about 360 of them.
def test_whole_suite_on_spark_gives_the_duckdb_metrics(data300, tmp_path):
    """Every notebook on local[2] Spark; every metric as on DuckDB (within TOLERANCES)."""
    _need_spark()
    from ecrm_lib.run.runner import run_suite

    duck = run_suite(data300, out_dir=tmp_path / "duckdb", test_params=True, history=False, progress=None)
    assert duck.status == "ok", [r.status_text() for r in duck.results]
    config = _spark_config(data300, data300.parent / "config_spark.yaml")
    spark = run_suite(config, out_dir=tmp_path / "spark", test_params=True, history=False, progress=None)
    assert spark.status == "ok", [r.status_text() for r in spark.results]
    from ecrm_lib.run.spark_server import running_servers

    assert running_servers() == []  # the run's server was stopped
    assert (spark.run_dir / "private" / "logs" / "spark-connect.log").is_file()  # the notebooks ran on it
    want, got = _metrics(duck.run_dir), _metrics(spark.run_dir)
    assert len(want) > 50
    assert _differences(want, got) == []

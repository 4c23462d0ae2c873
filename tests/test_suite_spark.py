"""The suite on Spark (issue 11 item 3): the same results as on DuckDB.

``engine: kind: spark`` runs every engine-side aggregation and identity
resolution on Spark (here ``local[2]``): ``ecrm run`` starts one Spark Connect
server for the run and every notebook is its client
(:mod:`ecrm_lib.run.spark_server`); Parquet sources load on that server too
(:func:`ecrm_lib.data.load.load_on_config_engine`). The test runs the session's
shared suite execution (``suite_runs`` in conftest: 600 generated persons, CSV
files, on DuckDB) again on Spark, from the same data written as Parquet:
its latest run, every notebook with the registry's test parameters, beside a
copy of the shared earlier run (so the feedback loop and the trends read the
same history), and compares every recorded metric (equal, or within the
tolerance :data:`TOLERANCES` gives for it) and identity resolution's account
map (customers, link rules, Splink's match probabilities and weights).

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
from spark_check import need_spark, spark_engine_yaml

pytestmark = [pytest.mark.slow, pytest.mark.engine]

#: Metric keys ("notebook.key") allowed to differ between the engines, with the largest relative difference.
#: Everything else must be equal (floats to 1e-9 relative: sums of the same decimals in another order).
#: Empty: on 300 generated persons (default parameters, 2026-12-02) all 137 metrics were equal on a Spark session per
#: notebook, and all 147 on the run's Spark Connect server.
TOLERANCES: dict[str, float] = {}

DEFAULT_REL = 1e-9

#: Splink's match weights (log2 Bayes factors) and probabilities may differ this much between the engines while the
#: links and customers are the same: its u-estimation compares a random sample of pairs, and DuckDB and Spark draw
#: different samples. Measured on the shared execution's 600 persons (2026-12-02): 21 of 1,170 accounts differ, by at
#: most 0.075 in weight and 1.1e-4 in probability (on 300 persons none did).
MATCH_WEIGHT_ATOL = 0.1
MATCH_PROBABILITY_ATOL = 1e-3


def _need_spark() -> None:
    need_spark("the Spark suite test", connect=False)


def _spark_config(config: Path, out: Path, name: str = "default_spark") -> Path:
    """A copy of a generated config whose engine is local Spark (two cores, the small-data settings of
    ``spark_check.SMALL_DATA_CONF``), named ``name``."""
    text = config.read_text(encoding="utf-8")
    assert "\nengine:" not in text
    text = text.replace("\nname: default\n", f"\nname: {name}\n")
    text += spark_engine_yaml("local[2]")
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


# The comparison runs in `make test`: with one Spark Connect server per run, the whole suite on 300 persons took
# 4.4 min on 2 cores shared with other work (2026-12-02, load average about 3; that included a DuckDB run of its
# own, which the shared execution now replaces), and 11 min when the machine was busier (load average about 9: the
# Spark run 7.5 min, 22 min before with a JVM per notebook). Spark costs 0.4-0.6 s a query on small data (DuckDB
# 7 ms), and identity resolution alone makes about 360 of them.
def test_whole_suite_on_spark_gives_the_duckdb_metrics(suite_runs, tmp_path):
    """Every notebook on local[2] Spark; every metric and the account map as on DuckDB (within TOLERANCES)."""
    _need_spark()
    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.load import loads_on_spark
    from ecrm_lib.data.synth import generate
    from ecrm_lib.run.runner import run_suite
    from ecrm_lib.run.spark_server import running_servers

    duck = Path(suite_runs.latest.run_dir)
    earlier = Path(suite_runs.earlier.run_dir)
    out = tmp_path / "spark"
    shutil.copytree(earlier, out / earlier.name)  # the history the latest run follows up, as DuckDB computed it
    as_of = json.loads((duck / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    # the same data as Parquet files (the generator writes the same rows in either format), so that loading runs
    # on Spark too; same config name as the DuckDB run's, so that the Spark run finds the copied earlier run as
    # its own history
    twin = tmp_path / "data"
    generate(twin, n_persons=600, seed=11, format="parquet")
    with open(twin / "config.yaml", "a", encoding="utf-8") as f:
        f.write("\nlanguage: [en, ko]\n")  # as the shared execution's config
    config = _spark_config(twin / "config.yaml", twin / "config_spark.yaml", name="default")
    assert loads_on_spark(load_config(config))
    lines: list[str] = []
    marks = {k: os.environ.get(k) for k in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    spark = run_suite(config, as_of=as_of, out_dir=out, test_params=True, history=False, progress=lines.append)
    # the load's Connect session in this process left no Connect mark behind (a classic session can start after it)
    assert {k: os.environ.get(k) for k in marks} == marks
    assert spark.status == "ok", [r.status_text() for r in spark.results]
    assert any(line.startswith("loading on Spark (sc://") for line in lines)  # loading ran on the run's server
    # the run's server was stopped (another test file's session-scoped server may live on in this worker process)
    assert [s for s in running_servers() if Path(s.work_dir).is_relative_to(out.resolve())] == []
    assert (spark.run_dir / "private" / "logs" / "spark-connect.log").is_file()  # the notebooks ran on it
    want, got = _metrics(duck), _metrics(spark.run_dir)
    assert len(want) > 50 and got.get("evaluation.targets_entered") is not None  # the loop saw the earlier run
    assert _differences(want, got) == []
    # identity resolution on Spark (Splink's Spark API on the Connect session): the same account map
    a, b = (pd.read_parquet(d / "products" / "channel_integration" / "account_map.parquet").sort_values("account_id")
            .reset_index(drop=True) for d in (duck, spark.run_dir))
    assert len(a) > 600 and a["customer_id"].nunique() < len(a)  # accounts were linked
    weights = ["match_probability", "match_weight"]
    pd.testing.assert_frame_equal(a.drop(columns=weights), b.drop(columns=weights))  # the same links and customers
    np.testing.assert_allclose(a["match_weight"], b["match_weight"], rtol=0, atol=MATCH_WEIGHT_ATOL)
    np.testing.assert_allclose(a["match_probability"], b["match_probability"], rtol=0, atol=MATCH_PROBABILITY_ATOL)

"""Shared test set-up.

Tests marked ``shared_data`` need the real datasets in ``../shared/data`` (or
``$ECRM_DATA_ROOT``). On a fresh clone without them they skip with a reason;
in CI (``ECRM_REQUIRE_SHARED_DATA=1``, set by ``.ci/run``) a skip of such a
test is turned into a failure, so they always run there.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

from ecrm_lib.core.paths import shared_data_root  # noqa: E402


@pytest.fixture
def shared_data():
    """Path of the shared real datasets; skips the test when absent."""
    root = shared_data_root()
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root}: set ECRM_DATA_ROOT or place shared/data beside the checkout")
    return root


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("ECRM_REQUIRE_SHARED_DATA") == "1"
        and item.get_closest_marker("shared_data") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"shared_data test skipped in CI (ECRM_REQUIRE_SHARED_DATA=1): {report.longrepr}"


# --------------------------------------------------------------- the shared suite run
@dataclass(frozen=True)
class SuiteRuns:
    """The whole suite run once per test session on small generated data, with its earlier run.

    ``config``: the generated data's config (600 persons, seed 11, ``history_as_of``, report
    languages English then Korean: the Korean pages are in the run folder's ``ko/``);
    ``out``: the output folder; ``latest`` / ``earlier``: the main run and the earlier run
    (``RunOutcome``). Tests read their notebook's products, metrics and pages from it
    instead of running the upstream chain again.
    """

    config: Path
    out: Path
    latest: Any
    earlier: Any
    log: Path | None = None

    def view(self, which: str = "latest") -> dict[str, Any]:
        """One run's ``results`` (by notebook), ``dir``, ``metrics(nb)`` (values by key), ``product(nb, name)``
        (a DataFrame) and ``data`` (the generated data's folder); ``which`` is "latest" or "earlier"."""
        import json

        import pandas as pd

        outcome = getattr(self, which)
        run_dir = Path(outcome.run_dir)

        def metrics(nb: str) -> dict[str, Any]:
            doc = json.loads((run_dir / "metrics" / f"{nb}.json").read_text(encoding="utf-8"))
            return {k: v["value"] for k, v in doc["metrics"].items()}

        def product(nb: str, name: str) -> pd.DataFrame:
            return pd.read_parquet(run_dir / "products" / nb / f"{name}.parquet")

        return {"results": {r.name: r for r in outcome.results}, "dir": run_dir, "metrics": metrics,
                "product": product, "data": self.config.parent}


@contextlib.contextmanager
def _file_lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory) -> SuiteRuns:
    """One two-run suite execution shared by every test of the session, across pytest-xdist workers.

    The first worker to ask builds it under a file lock in the session's shared temporary
    folder; the others wait and load the outcome it recorded.
    """
    import pickle

    from ecrm_lib.data.synth import generate
    from ecrm_lib.run.runner import run_suite

    # Under pytest-xdist each worker's base folder sits in the session's folder; without it the base
    # folder is the session's own (its parent would be shared with every earlier session).
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ecrm-suite-runs"
    done = shared / "outcome.pickle"
    with _file_lock(shared / ".lock"):
        if not done.exists():
            generate(shared / "data", n_persons=600, seed=11)
            # both report languages, so that every page's Korean half is tested on the same run
            with open(shared / "data" / "config.yaml", "a", encoding="utf-8") as f:
                f.write("\nlanguage: [en, ko]\n")
            with open(shared / "runner.log", "w", encoding="utf-8") as log:
                outcome = run_suite(shared / "data" / "config.yaml", out_dir=shared / "reports", test_params=True,
                                    history=True, progress=lambda line: print(line, file=log, flush=True))
            assert outcome.status == "ok", [r.status_text() for r in outcome.results]
            assert outcome.history and outcome.history[0].status == "ok"
            done.write_bytes(pickle.dumps(outcome))
        outcome = pickle.loads(done.read_bytes())
    return SuiteRuns(config=shared / "data" / "config.yaml", out=shared / "reports", latest=outcome,
                     earlier=outcome.history[0], log=shared / "runner.log")

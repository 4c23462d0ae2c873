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


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    """Every test starts in English and leaves the report language and currency as it found them: opening a run
    context in the test's own process (``RunContext.open``) sets the run's, which must not leak into the next test."""
    from ecrm_lib.core.i18n import get_currency, set_currency
    from ecrm_lib.core.language import using

    currency = get_currency()
    with using("en"):
        yield
    set_currency(currency)


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


# --------------------------------------------------------------- order of the test files
#: Test files that take longest (seconds measured on 2 cores, 2026-12-02), run first so that the two pytest-xdist
#: workers end together (longest first; `make test` passes --no-loadscope-reorder so that xdist keeps this order).
#: The shared suite execution builds in the background meanwhile (about 3 min); the files at the end of the list
#: wait for it, and every other file that reads it comes after them.
SLOWEST_FIRST = (
    "test_feedback_notebook.py",    # women's reviews and Hillstrom through the runner, 85-136 s + 30 s
    "test_small_cells.py",          # the suite on 50 persons, 66-75 s
    "test_suite.py",                # the suite on hostile data, 64-75 s
    "test_wheel.py",                # the installed wheel: every notebook by hand, ecrm run on one, 100-130 s
    # the engine integration tests (marker `engine`: make test's second part), longest first (2026-12-05, CI)
    "test_suite_spark.py",          # the shared latest run again on Spark, loading included, 115 s
    "test_functions_spark.py",      # the loader's functions and Parquet loading on Spark, about 105 s
    "test_features_spark.py",       # summaries on a classic and a Connect Spark session, about 50 s
    "test_spark_connect.py",        # the run's Spark Connect server, about 45 s
    "test_database_sources.py",     # the shared first run again from PostgreSQL, about 40 s
    "test_runner.py",               # many small runs of the fixture notebooks, 70-80 s (at the end it was the tail)
    "test_identity.py",             # 30 s
    "test_profit.py",               # 20 s
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}

    def key(item):  # stable: the same order otherwise; in a file, the tests that wait for the shared execution last
        return rank.get(Path(str(item.fspath)).name, len(rank)), "suite_runs" in getattr(item, "fixturenames", ())

    items.sort(key=key)


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


def shared_run_folder(tmp_path_factory) -> Path:
    """The session's folder of the shared suite execution (one for all pytest-xdist workers)."""
    # Under pytest-xdist each worker's base folder sits in the session's folder; without it the base
    # folder is the session's own (its parent would be shared with every earlier session).
    # $ECRM_TEST_SHARED_RUN names a folder kept across sessions (built once, then reused): for a developer who
    # re-runs a few tests while changing code the shared run does not depend on; delete it after such a change.
    kept = os.environ.get("ECRM_TEST_SHARED_RUN")
    if kept:
        return Path(kept)
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ecrm-suite-runs"


def build_shared_run(shared: Path) -> None:
    """Build the shared two-run execution in ``shared`` unless it is built (or failed) already.

    Under a file lock: whoever comes first builds, the others wait. The outcome is pickled to
    ``outcome.pickle``; a failure leaves its traceback in ``failed.txt`` so that nobody builds it twice.
    """
    import pickle
    import traceback

    from ecrm_lib.data.synth import generate
    from ecrm_lib.run.runner import run_suite

    done, failed = shared / "outcome.pickle", shared / "failed.txt"
    with _file_lock(shared / ".lock"):
        if done.exists() or failed.exists():
            return
        try:
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
        except BaseException:
            failed.write_text(traceback.format_exc(), encoding="utf-8")
            raise


@pytest.fixture(scope="session", autouse=True)
def _shared_run_starts_early(request, tmp_path_factory):
    """Start building the shared execution in the background as the session starts, when any collected test
    uses ``suite_runs``: the workers run other tests meanwhile instead of one of them waiting for it."""
    import subprocess
    import sys

    if not any("suite_runs" in getattr(item, "fixturenames", ()) for item in request.session.items):
        yield
        return
    shared = shared_run_folder(tmp_path_factory)
    shared.mkdir(parents=True, exist_ok=True)
    try:  # one builder per session (or per kept folder), whichever worker gets here first
        os.close(os.open(shared / ".started", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        yield
        return
    code = "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import conftest; conftest.build_shared_run(Path(sys.argv[2]))"
    with open(shared / "builder.log", "w", encoding="utf-8") as log:
        builder = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), str(shared)],
                                   stdout=log, stderr=subprocess.STDOUT)
    yield
    builder.wait()  # a test of another worker may still need it


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory) -> SuiteRuns:
    """One two-run suite execution shared by every test of the session, across pytest-xdist workers.

    Built once, in the background from the session's start (``_shared_run_starts_early``) or by the
    first test that needs it; the others wait for it under a file lock and load the outcome it recorded.
    """
    import pickle

    shared = shared_run_folder(tmp_path_factory)
    build_shared_run(shared)
    if (shared / "failed.txt").exists():
        pytest.fail(f"the shared suite execution failed:\n{(shared / 'failed.txt').read_text(encoding='utf-8')}")
    outcome = pickle.loads((shared / "outcome.pickle").read_bytes())
    return SuiteRuns(config=shared / "data" / "config.yaml", out=shared / "reports", latest=outcome,
                     earlier=outcome.history[0], log=shared / "runner.log")

"""Shared test set-up.

Tests marked ``shared_data`` need the real datasets in ``../shared/data`` (or
``$ECRM_DATA_ROOT``). On a fresh clone without them they skip with a reason;
in CI (``ECRM_REQUIRE_SHARED_DATA=1``, set by ``.ci/run``) a skip of such a
test is turned into a failure, so they always run there.
"""

from __future__ import annotations

import os

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

"""The session's shared two-run suite execution (``suite_runs`` in conftest): every notebook of
both runs succeeds, and the run folders hold what the notebook tests read."""

from __future__ import annotations

import json
import re

import pytest

from ecrm_lib.run.context import RunLayout
from ecrm_lib.run.registry import load_registry

pytestmark = pytest.mark.slow


def test_both_runs_succeed_with_every_notebook(suite_runs):
    registry = load_registry()
    for outcome in (suite_runs.earlier, suite_runs.latest):
        assert outcome.status == "ok"
        assert [r.name for r in outcome.results] == registry.names()
        layout = RunLayout(outcome.run_dir)
        for spec in registry:
            assert layout.html(spec.name).exists(), spec.name
            recorded = json.loads(layout.metrics(spec.name).read_text(encoding="utf-8"))["metrics"]
            assert set(spec.metrics) <= set(recorded), (spec.name, set(spec.metrics) - set(recorded))
    earlier = json.loads(RunLayout(suite_runs.earlier.run_dir).manifest.read_text(encoding="utf-8"))["as_of"]
    latest = json.loads(RunLayout(suite_runs.latest.run_dir).manifest.read_text(encoding="utf-8"))["as_of"]
    assert earlier < latest


def test_long_steps_report_progress_to_the_runner(suite_runs):
    """Loading, fitting and scoring say where they are in the runner's output (issue 10 item 7)."""
    log = suite_runs.log.read_text(encoding="utf-8")
    for notebook, step in [("customer_value", "predicting the value of"), ("customer_value", "CLV intervals of"),
                           ("churn", "fitting churn models"), ("churn", "scoring the churn risk of"),
                           ("selection", "k-means with"), ("expansion", "look-alike model")]:
        assert re.search(rf"^ +{notebook} \d\d:\d\d:\d\d  {step} ", log, re.M), (notebook, step)
    assert "reading transactions" in log

"""The churn notebook end to end through the runner on small generated data (the shared suite run); on IBM's
Telco data it runs in ``test_churn_sections.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ecrm_lib.core.paths import CONFIG_DIR, NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry

pytestmark = pytest.mark.slow


NONCONTRACT_KEYS = ["n_customers_scored", "churn_rate_validation", "auc_logistic", "auc_gradient_boosting", "auc_p_alive",
                    "auc_bgnbd_window", "best_model", "best_auc", "pr_auc_best", "top_decile_lift"]


@pytest.fixture(scope="module")
def registry_path() -> Path:
    """The repository's registry (its entry for this notebook is what the suite runs)."""
    return NOTEBOOKS_DIR / "registry.yaml"


def test_entry_matches_the_notebook(registry_path):
    reg = load_registry(registry_path)
    reg.check_against_notebooks(["churn"])  # parameters cell and registry defaults agree
    spec = reg.get("churn")
    assert list(spec.products) == ["churn_risk"]
    assert set(NONCONTRACT_KEYS) | {"purchase_model", "truth_auc", "telco_auc", "telco_churn_rate"} == set(spec.metrics)
    assert "customer_value" in spec.upstream  # its chosen purchase model gives the churn report's P(alive)


def test_notebook_on_small_generated_data(suite_runs, registry_path):
    """On the session's shared suite run (600 generated persons with their truth)."""
    run_dir = suite_runs.latest.run_dir
    result = {r.name: r for r in suite_runs.latest.results}["churn"]
    metrics = {k: v["value"] for k, v in json.loads((run_dir / "metrics" / "churn.json").read_text(encoding="utf-8"))["metrics"].items()}
    spec = load_registry(registry_path).get("churn")
    assert set(spec.metrics) <= set(metrics)
    assert all(metrics[k] is not None for k in NONCONTRACT_KEYS), metrics
    assert metrics["truth_auc"] is not None  # the generated folder has truth/ beside its config
    assert metrics["telco_auc"] is None and metrics["telco_churn_rate"] is None
    assert metrics["purchase_model"] == suite_runs.view()["metrics"]("customer_value")["best_model"]
    assert 0.5 < metrics["best_auc"] <= 1 and metrics["best_model"] in ("logistic", "gradient_boosting", "bgnbd_window")
    scores = pd.read_parquet(run_dir / "products" / "churn" / "churn_risk.parquet")
    assert list(scores.columns) == ["customer_id", "churn_probability", "risk_decile", "model", "p_alive"]
    assert len(scores) == metrics["n_customers_scored"] and scores["customer_id"].is_unique
    assert set(scores["model"]) == {metrics["best_model"]}
    html = (run_dir / "churn.html").read_text(encoding="utf-8")
    assert "Churn risk" in html and "no purchase in 180 days" in html
    assert result.status == "ok"


# On IBM's Telco data (no transactions: contract churn only) the notebook runs once, in both languages, in
# test_churn_sections.py, which checks its metrics as well as its one-line sections.


"""The churn notebook end to end through the runner: on small generated data
and on IBM's Telco data, with its registry entry appended to a temporary copy
of the registry (the shared registry is merged separately).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.paths import CONFIG_DIR, NOTEBOOKS_DIR
from ecrm_lib.registry import load_registry
from ecrm_lib.runner import run_suite
from ecrm_lib.synth import generate

pytestmark = pytest.mark.slow

# The entry proposed for notebooks/registry.yaml (file made absolute below).
ENTRY = """
  - name: churn
    file: 30_churn.ipynb
    title: Churn risk
    description: Who is slipping away - churn defined on a held-out window, models checked on customers they never saw, and a churn-risk score per customer; contract churn by tenure and contract type where the data has it.
    inputs:
      required: []
      optional: [transactions, feedback, contacts, customers]
    upstream: []
    parameters:
      churn_window_days: 180
      test_size: 0.3
      random_state: 42
      models: [logistic, gradient_boosting, p_alive, bgnbd_window]
      permutation_repeats: 10
      contract_churn_column: Churn
      contract_churn_positive: "Yes"
    test_parameters:
      permutation_repeats: 2
    products: [churn_risk]
    metrics:
      n_customers_scored: customers given a churn-risk score at as_of (customers)
      churn_rate_validation: share of held-out customers with no purchase in the churn window (share 0-1)
      auc_logistic: held-out ROC-AUC of the logistic regression (AUC 0-1)
      auc_gradient_boosting: held-out ROC-AUC of the gradient-boosting model (AUC 0-1)
      auc_p_alive: held-out ROC-AUC of BG/NBD 1 - P(alive) (AUC 0-1)
      auc_bgnbd_window: held-out ROC-AUC of the BG/NBD probability of no purchase in the window (AUC 0-1)
      best_model: model used for the churn-risk scores (logistic, gradient_boosting or bgnbd_window)
      best_auc: held-out ROC-AUC of the chosen model (AUC 0-1)
      pr_auc_best: held-out PR-AUC (average precision) of the chosen model (0-1)
      top_decile_lift: churn rate of the riskiest 10 % over the overall churn rate, chosen model, held out (ratio)
      truth_auc: ROC-AUC of the risk score for truly dropped-out customers, synthetic data only (AUC 0-1)
      telco_auc: held-out ROC-AUC of the better contract-churn model (AUC 0-1)
      telco_churn_rate: share of contract customers who left (share 0-1)
    timeout_s: 900
"""

NONCONTRACT_KEYS = ["n_customers_scored", "churn_rate_validation", "auc_logistic", "auc_gradient_boosting", "auc_p_alive",
                    "auc_bgnbd_window", "best_model", "best_auc", "pr_auc_best", "top_decile_lift"]


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("registry")
    text = (NOTEBOOKS_DIR / "registry.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n"
    if "name: churn\n" not in text:  # not merged yet
        text += ENTRY.replace("file: 30_churn.ipynb", f"file: {NOTEBOOKS_DIR / '30_churn.ipynb'}")
    path = tmp / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(config: Path, out: Path, registry_path: Path):
    outcome = run_suite(config, out_dir=out, registry_path=registry_path, notebooks=["churn"], test_params=True, progress=None)
    result = {r.name: r for r in outcome.results}["churn"]
    assert result.status == "ok", (result.error_type, result.error_message)
    run_dir = out / "latest"
    metrics = {k: v["value"] for k, v in json.loads((run_dir / "metrics" / "churn.json").read_text(encoding="utf-8"))["metrics"].items()}
    return result, run_dir, metrics


def test_entry_matches_the_notebook(registry_path):
    reg = load_registry(registry_path)
    reg.check_against_notebooks(["churn"])  # parameters cell and registry defaults agree
    spec = reg.get("churn")
    assert list(spec.products) == ["churn_risk"]
    assert yaml.safe_load(ENTRY)[0]["metrics"].keys() == spec.metrics.keys()


def test_notebook_on_small_generated_data(tmp_path, registry_path):
    generate(tmp_path / "data", n_persons=300)
    result, run_dir, metrics = _run(tmp_path / "data" / "config.yaml", tmp_path / "out", registry_path)
    spec = load_registry(registry_path).get("churn")
    assert set(spec.metrics) <= set(metrics)
    assert all(metrics[k] is not None for k in NONCONTRACT_KEYS), metrics
    assert metrics["truth_auc"] is not None  # the generated folder has truth/ beside its config
    assert metrics["telco_auc"] is None and metrics["telco_churn_rate"] is None
    assert 0.5 < metrics["best_auc"] <= 1 and metrics["best_model"] in ("logistic", "gradient_boosting", "bgnbd_window")
    scores = pd.read_parquet(run_dir / "products" / "churn" / "churn_risk.parquet")
    assert list(scores.columns) == ["customer_id", "churn_probability", "risk_decile", "model", "p_alive"]
    assert len(scores) == metrics["n_customers_scored"] and scores["customer_id"].is_unique
    assert set(scores["model"]) == {metrics["best_model"]}
    html = (run_dir / "churn.html").read_text(encoding="utf-8")
    assert "Churn risk" in html and "no purchase in 180 days" in html
    assert result.duration_s < 120, f"churn notebook took {result.duration_s:.0f} s on 300 persons"


@pytest.mark.shared_data
def test_notebook_on_telco(tmp_path, registry_path, shared_data):
    result, run_dir, metrics = _run(CONFIG_DIR / "telco_churn.yaml", tmp_path / "out", registry_path)
    assert all(metrics[k] is None for k in NONCONTRACT_KEYS), metrics
    assert 0.80 <= metrics["telco_auc"] <= 0.88
    assert metrics["telco_churn_rate"] == pytest.approx(1869 / 7043)
    assert pd.read_parquet(run_dir / "products" / "churn" / "churn_risk.parquet").empty  # declared, written, empty
    html = (run_dir / "churn.html").read_text(encoding="utf-8")
    assert "Month-to-month" in html and "no transactions" in html
    assert result.duration_s < 120, f"churn notebook took {result.duration_s:.0f} s on Telco"

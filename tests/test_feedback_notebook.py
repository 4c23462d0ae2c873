"""The Feedback notebook through the runner: on small generated data (with its truth), and on
the Hillstrom and women's-reviews configs, with test parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.paths import CONFIG_DIR, NOTEBOOKS_DIR
from ecrm_lib.registry import load_registry
from ecrm_lib.runner import run_suite
from ecrm_lib.schema import TABLES
from ecrm_lib.synth import generate

pytestmark = pytest.mark.slow

NAME = "feedback"
FILE = "60_feedback.ipynb"

# The entry proposed for notebooks/registry.yaml (used while the registry does not have it yet).
ENTRY = """
  - name: feedback
    file: 60_feedback.ipynb
    title: Feedback
    description: Campaign response against control with intervals, sample-ratio check, uplift by segment, uplift model and Qini curve; NPS and CSAT overall, by channel and by month; feedback topics and sentiment.
    inputs:
      required: []
      optional: [campaigns, feedback, customers, accounts, transactions]
    upstream: []
    parameters:
      campaign_id: null
      segment_column: null
      ci_level: 0.95
      n_topics: null
      max_topics: 8
      uplift_model: two_model
      random_state: 42
      bootstrap_samples: 1000
      min_cell: 5
    test_parameters:
      bootstrap_samples: 100
      max_topics: 4
    products: [campaign_uplift, feedback_scores]
    metrics:
      n_campaign_accounts: accounts assigned to the reported campaign(s); None without campaigns (accounts)
      response_uplift: response-rate uplift over control of the treatment arm with the largest uplift (share points, 0.01 = 1 point)
      response_uplift_ci_low: lower bound of its Newcombe interval at ci_level (share points)
      response_uplift_ci_high: upper bound of its Newcombe interval at ci_level (share points)
      revenue_uplift_per_account: revenue uplift per assigned account of that arm (config currency)
      qini_coefficient: Qini coefficient of the cross-fitted uplift model for that arm, 1 perfect and 0 random (ratio)
      srm_p_value: smallest sample-ratio-mismatch p-value over the reported campaigns, equal split assumed (p-value)
      nps: Net Promoter Score of the 0-10 answers; None without them (points, -100 to 100)
      nps_ci_low: lower bound of the NPS interval at ci_level (points)
      nps_ci_high: upper bound of the NPS interval at ci_level (points)
      n_feedback: feedback rows; None without a feedback table (answers)
      sentiment_auc: held-out ROC AUC of the text sentiment classifier trained on score labels; None when it cannot be trained (AUC 0-1)
      n_topics: number of text topics found; None without texts (topics)
"""


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory) -> Path:
    """The repository's registry with this notebook's entry (file given as an absolute path)."""
    base = (NOTEBOOKS_DIR / "registry.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("registry") / "registry.yaml"
    if NAME in load_registry().names():
        text = base.replace(f"file: {FILE}", f"file: {NOTEBOOKS_DIR / FILE}")
    else:
        text = base.rstrip("\n") + "\n" + ENTRY.replace(f"file: {FILE}", f"file: {NOTEBOOKS_DIR / FILE}")
    path.write_text(text, encoding="utf-8")
    return path


def _run(config: Path, out: Path, registry_path: Path):
    outcome = run_suite(config, out_dir=out, registry_path=registry_path, notebooks=[NAME], test_params=True, progress=None)
    res = {r.name: r for r in outcome.results}[NAME]
    assert outcome.status == "ok" and res.status == "ok", (res.error_type, res.error_message)
    metrics = json.loads((outcome.run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    declared = set(yaml.safe_load(ENTRY)[0]["metrics"])
    assert declared <= set(metrics), declared - set(metrics)
    prods = {p.stem: pd.read_parquet(p) for p in (outcome.run_dir / "products" / NAME).glob("*.parquet")}
    assert set(prods) == {"campaign_uplift", "feedback_scores"}
    pii = {c for spec in TABLES.values() for c in spec.pii_columns()} | {"text"}
    for df in prods.values():
        assert not (pii & set(df.columns))
    html = (outcome.run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    return outcome.run_dir, {k: v["value"] for k, v in metrics.items()}, prods, html


def test_synthetic_data(tmp_path, registry_path):
    generate(tmp_path / "data", n_persons=300, seed=11)
    run_dir, m, prods, html = _run(tmp_path / "data" / "config.yaml", tmp_path / "out", registry_path)
    camp = pd.read_csv(tmp_path / "data" / "campaigns.csv")
    truth = json.loads((tmp_path / "data" / "truth" / "truth.json").read_text(encoding="utf-8"))["campaign"]
    assert m["n_campaign_accounts"] == len(camp)
    t, c = camp[camp["arm"] == "treatment"], camp[camp["arm"] == "control"]
    assert m["response_uplift"] == pytest.approx(t["response"].mean() - c["response"].mean())
    assert m["response_uplift_ci_low"] < m["response_uplift"] < m["response_uplift_ci_high"]
    assert m["response_uplift_ci_low"] <= truth["true_uplift_response_population"] <= m["response_uplift_ci_high"]
    fb = pd.read_csv(tmp_path / "data" / "feedback.csv")
    assert m["n_feedback"] == len(fb)
    s = fb["score"]
    assert m["nps"] == pytest.approx(100 * ((s >= 9).mean() - (s <= 6).mean()))
    assert m["nps_ci_low"] < m["nps"] < m["nps_ci_high"]
    assert 2 <= m["n_topics"] <= 4
    assert m["srm_p_value"] is not None and 0 <= m["srm_p_value"] <= 1
    scores = prods["feedback_scores"]
    assert len(scores) == fb["text"].notna().sum() and scores["customer_id"].notna().all()
    assert set(prods["campaign_uplift"]["arm"]) == {"treatment", "control"}
    # No raw e-mail or phone from the texts in the report; no text of the data unescaped.
    accounts = pd.read_csv(tmp_path / "data" / "accounts.csv", dtype=str, keep_default_na=False)
    raw = {v.strip() for col in ("email", "phone") for v in accounts[col] if len(v.strip()) >= 6}
    assert not [v for v in raw if v in html]
    assert "Did the campaign beat its control group?" in html and "Net Promoter Score" in html


@pytest.mark.shared_data
def test_hillstrom(tmp_path, registry_path, shared_data):
    run_dir, m, prods, html = _run(CONFIG_DIR / "hillstrom.yaml", tmp_path / "out", registry_path)
    up = prods["campaign_uplift"].set_index("arm")
    assert round(100 * up.loc["Mens E-Mail", "rate"], 2) == 1.25 and round(100 * up.loc["No E-Mail", "rate"], 2) == 0.57
    assert m["n_campaign_accounts"] == 64000
    assert m["response_uplift"] == pytest.approx(up.loc["Mens E-Mail", "uplift"])     # the larger of the two arms
    assert m["srm_p_value"] > 0.001 and m["qini_coefficient"] is not None
    assert m["nps"] is None and m["n_feedback"] is None and m["sentiment_auc"] is None
    assert "no feedback table" in html


@pytest.mark.shared_data
def test_womens_reviews(tmp_path, registry_path, shared_data):
    run_dir, m, prods, html = _run(CONFIG_DIR / "womens_reviews.yaml", tmp_path / "out", registry_path)
    assert m["n_campaign_accounts"] is None and m["response_uplift"] is None
    assert m["nps"] is None                      # 1-5 ratings are not turned into NPS
    assert m["n_feedback"] == 23486
    assert m["sentiment_auc"] > 0.9
    assert 2 <= m["n_topics"] <= 4
    assert "CSAT" in html and "no campaigns table" in html and "CSAT by division" in html
    assert len(prods["feedback_scores"]) == 23486 - 844


def test_entry_agrees_with_the_parameters_cell(registry_path):
    import warnings

    reg = load_registry(registry_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)   # papermill must parse every line of the cell
        reg.check_against_notebooks([NAME])
    assert reg.resolve_parameters(test_params=True)[NAME]["bootstrap_samples"] == 100

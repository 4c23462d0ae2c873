"""The customer-value notebook: on the session's shared suite execution (small generated data) and through the
suite runner on CDNOW.

The suite's registry is copied with absolute notebook paths (so that the
upstream can be dropped for data without accounts); only ``customer_value``
and its upstream run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.value.btyd import MODELS
from ecrm_lib.value.clv import PRODUCT_COLUMNS
from ecrm_lib.core.paths import CONFIG_DIR
from ecrm_lib.run.registry import DEFAULT_REGISTRY, load_registry
from ecrm_lib.run.runner import run_suite
from ecrm_lib.report.trends import BY_MODEL_METRICS

pytestmark = pytest.mark.slow




def _registry(tmp: Path, upstream: bool = True) -> Path:
    """The shared registry (file paths made absolute), written to ``tmp``.

    With ``upstream`` False the entry's upstream ``channel_integration`` is
    dropped (data without accounts, where it has nothing to resolve).
    """
    data = yaml.safe_load(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    entries = data["notebooks"]
    for e in entries:
        e["file"] = str((DEFAULT_REGISTRY.parent / e["file"]).resolve())
    if not upstream:
        for e in entries:
            if e["name"] == "customer_value":
                e["upstream"] = []
    path = tmp / "registry.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _run(config: Path, tmp: Path, upstream: bool = True, **kw):
    out = tmp / "reports"
    outcome = run_suite(config, out_dir=out, registry_path=_registry(tmp, upstream), notebooks=["customer_value"],
                        test_params=True, progress=None, **kw)
    return outcome


def _metrics(outcome) -> dict:
    data = json.loads((outcome.run_dir / "metrics" / "customer_value.json").read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in data["metrics"].items()}


def _html_text(outcome) -> str:
    return (outcome.run_dir / "customer_value.html").read_text(encoding="utf-8")


def _status(outcome) -> str:
    res = [r for r in outcome.results if r.name == "customer_value"][0]
    assert res.status == "ok", f"{res.status}: {res.error_type} {res.error_message}"
    return res.status


def test_entry_matches_notebook(tmp_path):
    reg = load_registry(_registry(tmp_path))
    spec = reg.get("customer_value")
    assert set(spec.metrics) >= set(BY_MODEL_METRICS)  # per-model figures for like-for-like trends
    reg.check_against_notebooks(["customer_value"])
    assert spec.parameters["models"] == list(MODELS)
    # one source for the margin: the config's economics: margin (None = "from the config"; issue 15)
    assert spec.parameters["margin"] is None


def test_notebook_on_small_generated_data(tmp_path, suite_runs):
    """On the session's shared suite execution (``suite_runs`` in conftest; 600 generated persons, with truth)."""
    outcome = suite_runs.latest
    data = suite_runs.config.parent
    _status(outcome)
    m = _metrics(outcome)
    assert set(m) == set(load_registry(_registry(tmp_path)).get("customer_value").metrics)  # every figure recorded
    products = outcome.run_dir / "products" / "customer_value"
    values = pd.read_parquet(products / "customer_value.parquet")
    assert list(values.columns) == PRODUCT_COLUMNS
    assert m["n_customers"] == len(values) == values["customer_id"].nunique()
    assert m["n_repeat_customers"] == int((values["frequency"] > 0).sum())
    assert m["best_model"] in MODELS and (values["model"] == m["best_model"]).all()
    assert m["total_clv"] == pytest.approx(values["clv"].sum(), rel=1e-9)
    assert m["total_clv_low"] < m["total_clv"] < m["total_clv_high"]  # the delta-method interval around the estimate
    assert 0 < m["top20_value_share"] <= 1 and 0 < m["mean_p_alive"] < 1
    for key in ("total_clv", "top20_value_share", "mean_p_alive"):  # the chosen model's figures under its own name
        assert m[f"{key}_{m['best_model']}"] == pytest.approx(m[key], rel=1e-9)
    assert m["bgnbd_r"] > 0 and m["bgnbd_alpha"] > 0
    fit = pd.read_parquet(products / "model_fit.parquet")
    assert {"stage", "model", "parameter", "value", "holdout_mae"} <= set(fit.columns)
    assert set(fit.loc[fit["stage"] == "calibration", "model"]) == set(MODELS)
    html = _html_text(outcome)
    assert "Do the models reproduce the literature?" in html
    assert "Are the true parameters recovered?" in html  # the generator writes truth/truth.json
    # method detail in an appendix at the end: its heading is the last second-level one, before it the questions
    heads = re.findall(r"<h([23])[^>]*>(.*?)<", html)
    h2 = [text for level, text in heads if level == "2"]
    assert h2[-1] == "Appendix: method" and len(h2) >= 6
    after = [text for level, text in heads[[text for _, text in heads].index("Appendix: method") + 1:]]
    assert after == ["Model parameters and fit attempts", "Do the models reproduce the literature?",
                     "Are the true parameters recovered?"]
    appendix = html[html.index("Appendix: method"):]
    for caption in ("Each model fitted on the calibration period", "Spend model (Gamma-Gamma", "Every fit attempt"):
        assert caption in appendix and caption not in html[:html.index("Appendix: method")], caption
    n_accounts = pd.read_csv(data / "transactions.csv", usecols=["account_id"])["account_id"].nunique()
    if "channel_integration" in [r.name for r in outcome.results]:  # upstream registered: its account map is used
        assert f"joined the {n_accounts:,} accounts with purchases into {m['n_customers']:,} customers" in html
        assert m["n_customers"] < n_accounts
    else:
        assert "counts as its own customer" in html and m["n_customers"] == n_accounts
    assert "Traceback" not in html
    assert "no fallback was needed" in html  # every prediction from the models' own (log-space) formulas
    # the margin is the config's, and the page says where it came from
    from ecrm_lib.core.config import load_config

    assert load_config(suite_runs.config).economics.margin == pytest.approx(0.3)
    assert "of each purchase's spend, the config's margin (economics: margin, in config.yaml)" in html
    assert "margin parameter" not in html


def test_notebook_on_cdnow(tmp_path):
    # the classic set-up: 39 weeks of calibration (to 1997-09-30) and 39 of holdout
    # CDNOW has no accounts table: channel integration has nothing to resolve, so it is not run here
    outcome = _run(CONFIG_DIR / "cdnow.yaml", tmp_path, upstream=False, parameters={"customer_value": {"holdout_weeks": 39}})
    _status(outcome)
    m = _metrics(outcome)
    assert m["n_customers"] == 2357
    # 1,411 of them bought again by 1998-06-30 (computed independently with pandas below)
    from ecrm_lib.value.published import cdnow_transactions

    tx = cdnow_transactions()
    days = tx.assign(day=tx["timestamp"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    assert m["n_repeat_customers"] == int((days.groupby("customer_id").size() > 1).sum())
    fit = pd.read_parquet(outcome.run_dir / "products" / "customer_value" / "model_fit.parquet")
    cal = fit[(fit["stage"] == "calibration") & (fit["model"] == "bgnbd")].set_index("parameter")["value"]
    # the calibration fit is the published one (Fader, Hardie & Lee 2005)
    assert cal.round(3).to_dict() == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    bg_err = fit[(fit["stage"] == "calibration") & (fit["model"] == "bgnbd")]["holdout_error_total_pct"].iloc[0]
    assert -20 < bg_err < -5  # BG/NBD under-predicts the CDNOW holdout total (about 12 %, a known property)
    assert m["holdout_error_total_pct"] is not None and m["holdout_mae"] > 0
    html = _html_text(outcome)
    assert "no known truth" in html
    assert "Are the true parameters recovered?" not in html  # a section that does not apply is one line, not a heading
    # cdnow.yaml gives no margin: value is revenue, and the page says so (never an assumed margin)
    assert "The config gives no margin (economics: margin), so value below is <strong>revenue</strong>" in html
    assert "13 of 13" in html and "5 of 5" in html  # every published value reproduced, MBG/NBD as lifetimes

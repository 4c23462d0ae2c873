"""The channel-integration notebook through the runner: on small generated data
(with its truth), and on the iFood and Olist configs, with test parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ecrm_lib.core.paths import CONFIG_DIR, NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry
from ecrm_lib.run.runner import run_suite
from ecrm_lib.core.schema import TABLES

pytestmark = pytest.mark.slow

NAME = "channel_integration"


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory) -> Path:
    """The repository's registry with this notebook's file given as an absolute path."""
    base = (NOTEBOOKS_DIR / "registry.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("registry") / "registry.yaml"
    path.write_text(base.replace("file: 10_channel_integration.ipynb", f"file: {NOTEBOOKS_DIR / '10_channel_integration.ipynb'}"), encoding="utf-8")
    return path


def _run(config: Path, out: Path, registry_path: Path):
    outcome = run_suite(config, out_dir=out, registry_path=registry_path, notebooks=[NAME], test_params=True, progress=None)
    res = {r.name: r for r in outcome.results}[NAME]
    assert outcome.status == "ok" and res.status == "ok", (res.error_type, res.error_message)
    metrics = json.loads((outcome.run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    declared = set(load_registry().get(NAME).metrics)
    assert declared <= set(metrics), declared - set(metrics)
    missing = [k for k, v in metrics.items() if v["value"] is None and not v.get("reason")]
    assert not missing, f"metrics without a value must say why: {missing}"
    return outcome.run_dir, {k: v["value"] for k, v in metrics.items()}, {k: v.get("reason") for k, v in metrics.items()}


def _products(run_dir: Path) -> dict[str, pd.DataFrame]:
    folder = run_dir / "products" / NAME
    return {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}


def _recorded(run_dir: Path):
    metrics = json.loads((run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    declared = set(load_registry().get(NAME).metrics)
    assert declared <= set(metrics), declared - set(metrics)
    assert not [k for k, v in metrics.items() if v["value"] is None and not v.get("reason")]
    return {k: v["value"] for k, v in metrics.items()}, {k: v.get("reason") for k, v in metrics.items()}


def test_synthetic_data_full_story(suite_runs):
    """On the session's shared suite run (600 generated persons with their truth)."""
    run_dir = suite_runs.latest.run_dir
    m, why = _recorded(run_dir)
    data = suite_runs.config.parent
    accounts = pd.read_csv(data / "accounts.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(data / "truth" / "persons.csv", dtype=str)
    assert m["n_accounts"] == len(accounts)
    assert m["n_true_persons"] == persons["person_id"].nunique()
    assert m["identity_f1"] >= 0.95 and m["n_customers"] < m["n_accounts"]
    for key in ("cost_to_serve_total", "cost_per_customer", "offhours_customer_share", "internet_only_customer_share", "conflict_count", "whatif_saving"):
        assert m[key] is not None, key
    assert m["ifood_response_rate_by_web_share"] is None and m["olist_best_origin_conversion"] is None
    assert "iFood" in why["ifood_response_rate_by_web_share"] and "lead funnel" in why["olist_best_origin_conversion"]
    prods = _products(run_dir)
    pii = {c for spec in TABLES.values() for c in spec.pii_columns()}
    assert set(prods) == {"account_map", "customer_channels"}
    for df in prods.values():
        assert not (pii & set(df.columns))
    assert len(prods["account_map"]) == len(accounts)
    assert prods["customer_channels"]["customer_id"].is_unique
    assert prods["customer_channels"]["customer_id"].nunique() >= m["n_customers"]
    assert (run_dir / "private" / "products" / NAME / "golden_records.parquet").exists()
    html = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    assert "F1 of" in html
    raw = {v.strip() for col in ("email", "phone") for v in accounts[col] if len(v.strip()) >= 6}
    leaked = sorted(v for v in raw if v in html)
    assert not leaked, leaked[:3]


@pytest.mark.shared_data
def test_ifood_config(tmp_path, registry_path, shared_data):
    run_dir, m, why = _run(CONFIG_DIR / "ifood.yaml", tmp_path / "out", registry_path)
    assert m["ifood_response_rate_by_web_share"] is not None and -1 < m["ifood_response_rate_by_web_share"] < 1
    assert m["n_accounts"] is None and m["identity_f1"] is None and m["cost_to_serve_total"] is None
    assert len(_products(run_dir)["customer_channels"]) == 2240


@pytest.mark.shared_data
def test_olist_config(tmp_path, registry_path, shared_data):
    run_dir, m, why = _run(CONFIG_DIR / "olist_funnel.yaml", tmp_path / "out", registry_path)
    assert 0 < m["olist_best_origin_conversion"] < 1
    assert m["offhours_customer_share"] is None          # lead dates have no time of day
    assert "time of day" in why["offhours_customer_share"]
    assert m["internet_only_customer_share"] is None     # the config has no internet group
    assert m["ifood_response_rate_by_web_share"] is None
    html = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    assert "dates without a time of day" in html

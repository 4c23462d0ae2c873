"""The channel-integration notebook through the runner: on small generated data
(with its truth), and on the iFood and Olist configs, with test parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.core.paths import CONFIG_DIR, NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry
from ecrm_lib.run.runner import run_suite
from ecrm_lib.core.schema import TABLES
from ecrm_lib.data.synth import generate

pytestmark = pytest.mark.slow

NAME = "channel_integration"

# The entry proposed for notebooks/registry.yaml (used while the registry does not have it yet).
ENTRY = """
  - name: channel_integration
    file: 10_channel_integration.ipynb
    title: Channel integration
    description: Channel accounts joined into customers and what that changes; channel mix and migration, cost to serve and a cheaper-channel what-if, off-hours and online-only reach, channel conflicts; iFood channel mix vs response and Olist lead conversion by origin.
    inputs:
      required: []
      optional: [accounts, transactions, contacts, channel_costs, customers]
    upstream: []
    parameters:
      match_threshold: 0.9
      max_accounts_per_identifier: 10
      probabilistic: true
      time_window_months: 12
      mix_period: Q
      office_hours: [9, 18]
      cost_overrides: {}
      whatif_purpose: order_status
      whatif_from_channel: phone
      whatif_to_channel: app
      whatif_share: 0.3
      conflict_window_days: 3
    test_parameters:
      time_window_months: 6
      mix_period: M
    products: [account_map, customer_channels]
    metrics:
      n_accounts: channel accounts resolved; None without an accounts table (accounts)
      n_customers: customers found by identity resolution; None without an accounts table (customers)
      accounts_per_customer: channel accounts per resolved customer (accounts)
      multichannel_share: share of resolved customers known in 2+ channels through accounts, purchases or contacts (share 0-1)
      identity_precision: pairwise precision against truth/persons.csv beside the config; None without it (share 0-1)
      identity_recall: pairwise recall against the truth file (share 0-1)
      identity_f1: pairwise F1 against the truth file (share 0-1)
      n_true_persons: persons in the truth file (persons)
      cost_to_serve_total: cost of the priced contacts in the last time_window_months; None without contacts or costs (config currency)
      cost_per_customer: cost_to_serve_total per customer with a contact in the window (config currency)
      offhours_customer_share: share of contacting customers who started a contact outside office_hours or at a weekend, local time; None when contact times are dates only (share 0-1)
      internet_only_customer_share: share of customers known only in channels of the internet group; None without that group (share 0-1)
      conflict_count: contacts about the same purpose through another channel within conflict_window_days of the previous one (contacts)
      whatif_saving: yearly saving of moving whatif_share of whatif_purpose contacts from whatif_from_channel to whatif_to_channel; negative when dearer (config currency per year)
      ifood_response_rate_by_web_share: iFood only, last-campaign response rate of customers with web share of purchases >= 50% minus that of customers with < 25% (share points, 0.07 = 7 points)
      olist_best_origin_conversion: Olist only, lead-to-deal conversion of the best origin with 100+ leads, unknown origin excluded (share 0-1)
"""


@pytest.fixture(scope="module")
def registry_path(tmp_path_factory) -> Path:
    """The repository's registry with this notebook's entry (file given as an absolute path)."""
    base = (NOTEBOOKS_DIR / "registry.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("registry") / "registry.yaml"
    if NAME in load_registry().names():
        text = base.replace("file: 10_channel_integration.ipynb", f"file: {NOTEBOOKS_DIR / '10_channel_integration.ipynb'}")
    else:
        text = base.rstrip("\n") + "\n" + ENTRY.replace("file: 10_channel_integration.ipynb", f"file: {NOTEBOOKS_DIR / '10_channel_integration.ipynb'}")
    path.write_text(text, encoding="utf-8")
    return path


def _run(config: Path, out: Path, registry_path: Path):
    outcome = run_suite(config, out_dir=out, registry_path=registry_path, notebooks=[NAME], test_params=True, progress=None)
    res = {r.name: r for r in outcome.results}[NAME]
    assert outcome.status == "ok" and res.status == "ok", (res.error_type, res.error_message)
    metrics = json.loads((outcome.run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    declared = set(yaml.safe_load(ENTRY)[0]["metrics"])
    assert declared <= set(metrics), declared - set(metrics)
    return outcome.run_dir, {k: v["value"] for k, v in metrics.items()}


def _products(run_dir: Path) -> dict[str, pd.DataFrame]:
    folder = run_dir / "products" / NAME
    return {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}


def test_synthetic_data_full_story(tmp_path, registry_path):
    generate(tmp_path / "data", n_persons=300, seed=11)
    run_dir, m = _run(tmp_path / "data" / "config.yaml", tmp_path / "out", registry_path)
    accounts = pd.read_csv(tmp_path / "data" / "accounts.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(tmp_path / "data" / "truth" / "persons.csv", dtype=str)
    assert m["n_accounts"] == len(accounts)
    assert m["n_true_persons"] == persons["person_id"].nunique()
    assert m["identity_f1"] >= 0.95 and m["n_customers"] < m["n_accounts"]
    for key in ("cost_to_serve_total", "cost_per_customer", "offhours_customer_share", "internet_only_customer_share", "conflict_count", "whatif_saving"):
        assert m[key] is not None, key
    assert m["ifood_response_rate_by_web_share"] is None and m["olist_best_origin_conversion"] is None
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
    run_dir, m = _run(CONFIG_DIR / "ifood.yaml", tmp_path / "out", registry_path)
    assert m["ifood_response_rate_by_web_share"] is not None and -1 < m["ifood_response_rate_by_web_share"] < 1
    assert m["n_accounts"] is None and m["identity_f1"] is None and m["cost_to_serve_total"] is None
    assert len(_products(run_dir)["customer_channels"]) == 2240


@pytest.mark.shared_data
def test_olist_config(tmp_path, registry_path, shared_data):
    run_dir, m = _run(CONFIG_DIR / "olist_funnel.yaml", tmp_path / "out", registry_path)
    assert 0 < m["olist_best_origin_conversion"] < 1
    assert m["offhours_customer_share"] is None          # lead dates have no time of day
    assert m["internet_only_customer_share"] is None     # the config has no internet group
    assert m["ifood_response_rate_by_web_share"] is None
    html = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    assert "dates without a time of day" in html

"""The executive summary's costed plan with the profit-based products (issue 16 item 4), on a hand-made run folder.

Like tests/test_executive_summary_notebook.py (whose fixture data this reuses): the upstream figures are
written by hand, then only the summary notebook runs through the runner's own path, in English and Korean.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ecrm_lib.core.config import load_config
from ecrm_lib.data.load import load_sources
from ecrm_lib.run.context import prepare_run_folder
from ecrm_lib.run.execute import run_notebooks
from ecrm_lib.run.registry import load_registry
from tests.test_executive_summary_notebook import CONFIG, NOW, TX, _write_metrics

pytestmark = pytest.mark.slow

PROFIT_TARGETS = pd.DataFrame({
    "customer_id": [f"p{i}" for i in range(40)],
    "channel": ["email"] * 30 + ["app"] * 10,
    "cost": [450.0] * 30 + [330.0] * 10,  # one contact and a 300 KRW offer
    "predicted_profit": [2000.0 - 40 * i for i in range(40)],
    "predicted_profit_low": [400.0] * 40,
    "predicted_profit_high": [4000.0] * 40,
    "holdout": [i % 10 == 3 for i in range(40)],  # 4 kept out
})
LOOKALIKES = pd.DataFrame({
    "customer_id": ["p5", "l1", "l2", "l3", "l4", "l5", "l6"], "rank": range(1, 8), "score": [0.9] * 7,
    "expanded": [True] * 6 + [False], "clv": [50_000.0] * 7, "cheapest_channel": ["email"] * 7,
    "cheapest_cost": [150.0] * 7, "profit_channel": ["email"] * 7,
    "expected_profit": [900.0, 800.0, 700.0, 600.0, 500.0, 400.0, -10.0],
    "expected_profit_low": [100.0] * 7, "expected_profit_high": [2000.0] * 7,
    "incremental_value": [1350.0] * 7, "contact_cost": [150.0] * 7, "offer_cost": [300.0] * 7,
})
SELECTION = {**NOW["selection"], "profit_n_targets": 40, "profit_expected_gain": 50_000.0,
             "profit_campaign_per_1000": 52_000.0, "everyone_campaign_per_1000": 22_000.0,
             "rule_campaign_per_1000": 9_000.0, "profit_n_holdout": 4,
             "profit_campaign_per_1000_ci_low": 12_000.0, "profit_campaign_per_1000_ci_high": 90_000.0,
             "profit_over_everyone_per_1000": 30_000.0, "profit_over_everyone_per_1000_ci_low": 4_000.0,
             "profit_over_everyone_per_1000_ci_high": 56_000.0, "profit_over_rule_per_1000": 43_000.0,
             "profit_over_rule_per_1000_ci_low": 10_000.0, "profit_over_rule_per_1000_ci_high": 80_000.0}
EXPANSION = {"expansion_bar": "gain", "expansion_n": 6, "expansion_expected_gain": 3900.0,
             "expansion_expected_gain_low": 600.0, "expansion_expected_gain_high": 12000.0, "lookalike_auc": 0.7}


def _run(tmp: Path):
    data = tmp / "data"
    data.mkdir(parents=True)
    (data / "tx.csv").write_text(TX, encoding="utf-8")
    (data / "config.yaml").write_text(CONFIG + "economics: {margin: 0.3, offer_cost: 300}\nlanguage: [en, ko]\n",
                                      encoding="utf-8")
    config = load_config(data / "config.yaml")
    runs = tmp / "reports"
    runs.mkdir()
    layout = prepare_run_folder(runs / ".staging-now", config, load_sources(config), previous_run=None, runs_dir=runs)
    _write_metrics(layout.root, {**NOW, "selection": SELECTION, "expansion": EXPANSION})
    for nb, name, df in (("selection", "profit_targets", PROFIT_TARGETS), ("expansion", "lookalikes", LOOKALIKES)):
        layout.products_dir(nb).mkdir(parents=True, exist_ok=True)
        df.to_parquet(layout.product(nb, name), index=False)
    reg = load_registry()
    spec = dataclasses.replace(reg.get("executive_summary"), upstream=())
    params = reg.resolve_parameters(["executive_summary"], test_params=True)["executive_summary"]
    (result,) = run_notebooks([spec], {"executive_summary": params}, config, layout, languages=config.languages)
    assert result.status == "ok", (result.error_type, result.error_message)
    return layout


def _page(path: Path) -> str:
    return re.sub(r"<style[^>]*>.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_costed_plan_uses_the_profit_selection_and_the_gain_valued_lookalikes(tmp_path):
    layout = _run(tmp_path)
    costed = pd.read_parquet(layout.product("executive_summary", "action_plan")).set_index("action_key")
    contacted = PROFIT_TARGETS.loc[~PROFIT_TARGETS["holdout"]]
    prof = costed.loc["profit"]
    assert prof["customers"] == 36 and prof["cost"] == pytest.approx(contacted["cost"].sum())
    assert prof["return"] == pytest.approx(contacted["predicted_profit"].sum()) and prof["level"] == "to do"
    # p5 is already chosen by profit: the look-alikes' row has the other five, valued by their expected gain
    la = costed.loc["expansion_gain"]
    assert la["customers"] == 5 and la["return"] == pytest.approx(800 + 700 + 600 + 500 + 400)
    assert "campaign" not in costed.index and "expansion" not in costed.index
    metrics = json.loads(layout.metrics("executive_summary").read_text())["metrics"]
    assert metrics["plan_return_to_do"]["value"] == pytest.approx(costed.loc[costed["level"] == "to do", "return"].sum())
    en = _page(layout.html("executive_summary"))
    plan_en = en.split("The costed plan")[-1]
    assert "Contact the customers chosen by expected incremental profit" in plan_en
    assert "holdout" in plan_en and "per 1,000 customers" in plan_en and "its evidence clears the bar" in plan_en
    assert "already among the customers chosen by incremental profit" in plan_en
    ko = _page(layout.html("executive_summary", "ko"))  # the config's second language
    assert "기대 증분 이익으로 고른 고객에게 연락하기" in ko and "보류 집단" in ko and "Contact the customers" not in ko

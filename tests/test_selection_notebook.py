"""The Selection notebook on the session's shared suite execution (``suite_runs`` in conftest): its
first run (no earlier campaign feedback), then once more on a copy of that run folder with a
``feedback/segment_weights`` product that removes one segment."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry
from ecrm_lib.seef.selection import SEGMENTS_COLUMNS, TARGETS_COLUMNS
from ecrm_lib.seef.rfm import OTHER_SEGMENT, load_segment_table

NAME = "selection"
REGISTRY = NOTEBOOKS_DIR / "registry.yaml"


def _metrics(run_dir: Path) -> dict:
    raw = json.loads((run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    return {k: v["value"] for k, v in raw.items()}


def _products(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = run_dir / "products" / NAME
    return pd.read_parquet(d / "customer_segments.parquet"), pd.read_parquet(d / "targets.parquet")


@pytest.fixture(scope="module")
def run(suite_runs):
    """The shared execution's first run: the first of its config, so no earlier feedback reaches the rule."""
    res = {r.name: r for r in suite_runs.earlier.results}
    assert res[NAME].status == "ok", {n: (r.status, r.error_type, r.error_message) for n, r in res.items()}
    return Path(suite_runs.earlier.run_dir), res[NAME], suite_runs.config.parent


def test_entry_matches_the_notebook():
    reg = load_registry(REGISTRY)
    reg.check_against_notebooks([NAME])
    spec = reg.get(NAME)
    assert list(spec.products) == ["targets", "customer_segments", "profit_scores", "profit_targets"]
    assert spec.parameters["profit_holdout_share"] == 0.1


def test_products_metrics_and_report(run):
    run_dir, result, data = run
    m = _metrics(run_dir)
    assert set(load_registry(REGISTRY).get(NAME).metrics) == set(m)
    cs, tg = _products(run_dir)
    assert list(cs.columns) == SEGMENTS_COLUMNS and list(tg.columns) == TARGETS_COLUMNS
    assert m["n_customers"] == len(cs) > 100 and cs["customer_id"].is_unique
    assert m["n_targets"] == len(tg) == int(cs["selected"].sum()) > 0
    assert m["target_share"] == pytest.approx(len(tg) / len(cs))
    assert tg["rank"].tolist() == list(range(1, len(tg) + 1))
    assert (tg["reasons"].str.strip().str.len() > 0).all()
    ids = pd.concat([cs["customer_id"], tg["customer_id"]]).astype(str)
    assert not ids.str.contains("@").any() and not ids.str.fullmatch(r"[+\d][\d\s().-]{7,}").any()
    assert set(tg["customer_id"]) <= set(cs["customer_id"])
    names = set(load_segment_table()["segment"]) | {OTHER_SEGMENT}
    assert set(cs["segment"]) <= names and m["n_segments_used"] == cs["segment"].nunique()
    assert m["n_clusters"] == cs["cluster"].nunique() and 2 <= m["n_clusters"] <= 4  # test k_range [2, 4]
    assert cs.groupby("cluster")["cluster_name"].nunique().eq(1).all()
    # the rule as configured (registry default): top 10% CLV or the riskiest two deciles, nobody else, and
    # (value bar, on by default) nobody worth less than one contact through their cheapest channel
    rule = load_registry(REGISTRY).get(NAME).parameters["rule"]
    assert rule["clv_tier_min"] == "top10" and rule["churn_decile_max"] == 2 and rule["combine"] == "any"
    assert "min_value_over_contact_cost" not in rule  # the default bar of 1 contact applies
    clv = cs["clv"].dropna().sort_values(ascending=False)
    thr = clv.iloc[math.ceil(0.1 * len(clv)) - 1]
    meets = (cs["clv"] >= thr) | (cs["risk_decile"] <= 2)
    below = (cs["clv"] < cs["contact_cost"]).fillna(False)
    assert (cs["below_contact_cost"] == (meets & below)).all() and m["n_below_contact_cost"] == int((meets & below).sum())
    assert (cs["matched"] == (meets & ~below)).all() and len(tg) == min(int((meets & ~below).sum()), rule["max_targets"])
    assert tg["contact_cost"].notna().all() and not (tg["clv"] < tg["contact_cost"]).any()  # no target is worth less than a contact
    # the contact cost is the cheapest priced channel the customer bought or was contacted through (channel cost table)
    costs = pd.read_csv(data / "channel_costs.csv")
    general = costs.loc[costs["purpose"].isna()].set_index("channel")["cost_per_contact"].astype(float)
    chan = pd.read_parquet(run_dir / "products" / "channel_integration" / "customer_channels.parquet").set_index("customer_id")
    for cid, channel, cost in cs[["customer_id", "contact_channel", "contact_cost"]].head(40).itertuples(index=False):
        used = {k.split("_", 2)[2] for k, v in chan.loc[cid].items() if str(k).startswith("share_") and pd.notna(v) and v > 0}
        assert cost == min(general[u] for u in used if u in general) and general[channel] == cost
    assert m["segments_down_weighted"] is None and m["feedback_moved_in"] is None
    html = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    assert "no earlier run with measured campaign feedback" in html and "Champions" in html
    assert "value bar: CLV at least the cost of one contact" in html and "It removed" in html
    assert f"{len(tg):,}" in html
    assert result.duration_s < 60, f"selection notebook took {result.duration_s:.0f} s"


@pytest.fixture(scope="module")
def latest(suite_runs):
    """The shared execution's main run: its as-of date is after the generated data's randomised campaign."""
    res = {r.name: r for r in suite_runs.latest.results}
    assert res[NAME].status == "ok", (res[NAME].error_type, res[NAME].error_message)
    return Path(suite_runs.latest.run_dir), res[NAME], suite_runs.config.parent


def test_the_first_run_selects_by_profit_from_the_earlier_campaign(run):
    """The first run's as-of date is before the generated main campaign and after the earlier one: its campaign history
    is the earlier campaign alone, and it selects by incremental profit from it (the next run measures that selection;
    the sentence for a run without a campaigns table is tested in test_profit and test_selection_korean)."""
    from ecrm_lib.seef.profit_select import PROFIT_SCORES_COLUMNS, PROFIT_TARGETS_COLUMNS

    run_dir, _, data = run
    earlier_id = json.loads((data / "truth" / "truth.json").read_text(encoding="utf-8"))["earlier_campaign"]["campaign_id"]
    d = run_dir / "products" / NAME
    sc, tg = pd.read_parquet(d / "profit_scores.parquet"), pd.read_parquet(d / "profit_targets.parquet")
    assert list(sc.columns) == PROFIT_SCORES_COLUMNS and list(tg.columns) == PROFIT_TARGETS_COLUMNS and len(sc) and len(tg)
    raw = json.loads((run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]
    assert raw["profit_n_targets"]["value"] == len(tg) and raw["profit_n_holdout"]["value"] == int(tg["holdout"].sum())
    html = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    assert f"Learned from campaign <strong>{earlier_id}</strong>" in html


def test_profit_products(latest):
    """Issue 16: the products SEEF 3 and the next run read. The generated data has a randomised campaign, so every
    customer is scored, the profit selection chooses some, and a random tenth of them is kept out on purpose."""
    from ecrm_lib.seef.profit_select import PROFIT_SCORES_COLUMNS, PROFIT_TARGETS_COLUMNS

    run_dir = latest[0]
    m = _metrics(run_dir)
    d = run_dir / "products" / NAME
    sc, tg = pd.read_parquet(d / "profit_scores.parquet"), pd.read_parquet(d / "profit_targets.parquet")
    cs, _ = _products(run_dir)
    assert list(sc.columns) == PROFIT_SCORES_COLUMNS and list(tg.columns) == PROFIT_TARGETS_COLUMNS
    assert sc["customer_id"].is_unique and set(sc["customer_id"]) == set(cs["customer_id"])  # every customer
    reached = sc["channel"].notna()
    assert reached.mean() > 0.9
    s = sc[reached]
    assert np.allclose(s["expected_profit"], s["incremental_value"] - s["contact_cost"] - s["offer_cost"])
    assert np.allclose(s["expected_profit_low"], s["incremental_value_low"] - s["contact_cost"] - s["offer_cost"])
    assert (s["expected_profit_low"] <= s["expected_profit_high"]).all() and s["expected_profit_low"].notna().all()
    # the cheapest priced channel: the one customer_segments names (same cost table, same reach)
    cheapest = cs.set_index("customer_id")["contact_cost"]
    assert np.allclose(s["contact_cost"], s["customer_id"].map(cheapest).astype(float))
    # the chosen: a subset of the scored customers with positive expected profit, through their cheapest channel
    assert m["profit_n_targets"] == len(tg) > 20 and tg["customer_id"].is_unique
    assert set(tg["customer_id"]) <= set(sc.loc[sc["expected_profit"] > 0, "customer_id"])
    assert (tg["predicted_profit"] > 0).all() and m["profit_expected_gain"] == pytest.approx(tg["predicted_profit"].sum())
    assert (tg["predicted_profit_low"] <= tg["predicted_profit"]).mean() > 0.9
    # the holdout: a randomised share of 10 % of the chosen (within sampling error), nobody outside them
    share, n = float(tg["holdout"].mean()), len(tg)
    assert tg["holdout"].dtype == bool and abs(share - 0.10) <= 3 * math.sqrt(0.09 / n)
    assert m["profit_n_holdout"] == int(tg["holdout"].sum()) > 0 and m["profit_holdout_seed"] == 42


def test_profit_comparison_has_intervals_a_verdict_and_the_money_uplift_curve(latest):
    """Issue 16 item 2: on the campaign's own customers (out of fold), every way of choosing is recorded with its 95 %
    bootstrap interval, the profit choice's advantage over everyone and the rule with their paired intervals, and
    the verdict the plan's bar reads; the page shows the table, the money uplift curve and the verdict in words."""
    from ecrm_lib.core.i18n import t
    from ecrm_lib.core.language import using
    from ecrm_lib.report.plan import profit_evidence
    from ecrm_lib.seef.profit_eval import VERDICTS

    run_dir = latest[0]
    m = _metrics(run_dir)
    for way in ("profit", "everyone", "rule", "random"):
        x, lo, hi = (m[f"{way}_campaign_per_1000{s}"] for s in ("", "_ci_low", "_ci_high"))
        assert lo < x < hi, way
    for way in ("everyone", "rule"):
        d, lo, hi = (m[f"profit_over_{way}_per_1000{s}"] for s in ("", "_ci_low", "_ci_high"))
        assert d == pytest.approx(m["profit_campaign_per_1000"] - m[f"{way}_campaign_per_1000"]) and lo < d < hi
    # the verdict recorded is the one the executive summary's plan reads from the same metrics
    ok, figures = profit_evidence(m)
    assert m["profit_verdict"] in VERDICTS and m["profit_verdict"] == figures["verdict"] and ok == (m["profit_verdict"] == "target")
    page = (run_dir / f"{NAME}.html").read_text(encoding="utf-8")
    part = page.split("By incremental profit", 1)[1].split("What this report hands on")[0]
    assert "resamples of the campaign&#x27;s customers" in part or "resamples of the campaign's customers" in part
    assert "The money uplift curve." in part and "<img" in part  # the figure, with its reading
    lead, verdict = (t(f"selection.profit_verdict{k}.{m['profit_verdict']}") for k in ("_lead", ""))
    assert f"<strong>{html.escape(lead, quote=True)}:</strong> {html.escape(verdict[:40], quote=True)}" in part
    assert "**" not in part  # no Markdown left unrendered
    with using("ko"):  # the shared run reports in English and Korean
        head = "<strong>" + t("selection.profit_verdict_lead." + m["profit_verdict"]) + ":</strong>"
    ko = (run_dir / "ko" / f"{NAME}.html").read_text(encoding="utf-8")
    assert head in ko and "금액 기준 업리프트 곡선" in ko


def test_feedback_product_removes_a_segment(run, tmp_path):
    """A segment_weights product of weight 0 for a segment takes its customers off the list."""
    import shutil

    import papermill as pm

    run_dir = tmp_path / "reports" / Path(run[0]).name  # a copy: the shared run stays as it was
    shutil.copytree(run[0], run_dir)
    cs0, tg0 = _products(run_dir)
    seg = tg0["segment"].value_counts().index[0]
    w = pd.DataFrame({"segment": [seg], "uplift": [-0.05], "ci_low": [-0.09], "ci_high": [-0.01], "weight": [0.0],
                      "action": ["remove"], "reason": ["uplift -0.05, whole interval at or below 0"]})
    (run_dir / "products" / "feedback").mkdir(parents=True, exist_ok=True)
    w.to_parquet(run_dir / "products" / "feedback" / "segment_weights.parquet")
    spec = load_registry(REGISTRY).get(NAME)
    params = {**spec.parameters, **spec.test_parameters, "run_dir": str(run_dir)}
    out = run_dir / "executed" / "selection_feedback.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "50_selection.ipynb"), str(out), parameters=params, kernel_name="python3",
                        progress_bar=False, cwd=str(NOTEBOOKS_DIR))
    m = _metrics(run_dir)
    cs, tg = _products(run_dir)
    assert seg not in set(tg["segment"]) and not cs.loc[cs["segment"] == seg, "selected"].any()
    assert m["segments_down_weighted"] == 1
    before, after = set(tg0["customer_id"]), set(tg["customer_id"])
    assert m["feedback_moved_out"] == len(before - after) >= int((tg0["segment"] == seg).sum())
    assert m["feedback_moved_in"] == len(after - before)
    assert m["n_targets"] == len(tg)
    text = out.read_text(encoding="utf-8")
    assert re.search(r"moved into\s+the list", text) or "moved into" in text
    # the English page names the removed segment as the data does (display escapes it and the Markdown brackets)
    said = " ".join("".join(o.get("data", {}).get("text/markdown", "")) for c in json.loads(text)["cells"] for o in c.get("outputs", []))
    assert re.search(re.escape(html.escape(seg, quote=True)) + r" \\?\(removed", said), said[-600:]

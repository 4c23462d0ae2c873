"""ecrm_lib.summary: units and formatting, report status, the headline table,
trends, and the action rules (each fires only on figures that exist)."""

from __future__ import annotations

import datetime as dt
import math

import matplotlib
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ecrm_lib import summary
from ecrm_lib.registry import load_registry

matplotlib.use("Agg")

REG = load_registry()

FULL = {
    "customer_value": {"n_customers": 1400, "total_clv": 2_000_000_000.0, "top20_value_share": 0.61},
    "channel_integration": {"whatif_saving": 12_500_000.0, "cost_to_serve_total": 80_000_000.0},
    "churn": {"top_decile_lift": 2.2, "churn_rate_validation": 0.35, "best_auc": 0.78},
    "feedback": {"nps": -5.0, "response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05,
                 "loop_purchase_rate_diff": 0.06, "loop_purchase_rate_diff_ci_low": 0.02,
                 "loop_purchase_rate_diff_ci_high": 0.10, "loop_n_targets": 400, "loop_n_compared": 380,
                 "loop_segments_down_weighted": 2},
    "selection": {"n_targets": 412},
    "evaluation": {"target_value_share": 0.38, "target_customer_share": 0.29},
    "expansion": {"expansion_n": 250, "expansion_value": 300_000_000.0, "expansion_contact_cost": 1_000_000.0,
                  "lookalike_auc": 0.74},
}


# ------------------------------------------------------------- formatting
@pytest.mark.parametrize("value, unit, text", [
    (0.384, "share 0-1", "38.4%"),
    (-0.012, "share points", "-1.2 points"),
    (1_234_567_890, "config currency", "1.23 billion KRW"),
    (2_500_000, "config currency per year", "2.5 million KRW a year"),
    (None, "config currency", "not available"),
    (float("nan"), "share 0-1", "not available"),
    (0.81234, "AUC 0-1", "0.812"),
    (-3, "points, -100 to 100", "-3.0"),
    (-12.5, "%", "-12.5%"),
    (1234.0, "customers", "1,234"),
    (1.5, "accounts", "1.50"),
    ("2025-06-30", "date", "2025-06-30"),
])
def test_format_value_by_unit(value, unit, text):
    assert summary.format_value(value, unit, "KRW") == text


def test_every_registry_metric_has_a_unit():
    missing = [f"{s.name}.{k}" for s in REG for k, d in s.metrics.items() if not summary.unit_of(d)]
    assert missing == []


def test_headlines_name_declared_metrics_of_known_areas():
    assert {h.area for h in summary.HEADLINES} == set(summary.AREAS)
    core = ["data_overview", "channel_integration", "customer_value", "churn", "feedback"]
    undeclared = [f"{h.notebook}.{h.key}" for h in summary.HEADLINES
                  if h.notebook in core and h.key not in REG.get(h.notebook).metrics
                  and not h.key.startswith("loop_")]  # the loop keys are declared by the feedback notebook's helper
    assert undeclared == []


# ----------------------------------------------------------------- status
def test_report_status_explains_skipped_reports():
    status = summary.report_status(REG, ran=["data_overview", "channel_integration", "churn", "feedback"],
                                   has_table=lambda t: t != "transactions", exclude=["executive_summary"])
    assert "executive_summary" not in status
    assert status["churn"] is None
    assert status["customer_value"] == "the report was skipped: the data has no transactions table"
    assert status["selection"] == "the report was skipped: the data has no transactions table"
    status = summary.report_status(REG, ran=["data_overview"], has_table=lambda t: True)
    assert status["channel_integration"] == "the report did not run in this run"
    assert status["customer_value"].startswith("the report could not run because Channel integration did not")


def test_headline_table_marks_absent_figures_with_the_reason():
    status = {s.name: None for s in REG}
    status["expansion"] = "the report was skipped: the data has no transactions table"
    metrics = dict(FULL, channel_integration={"cost_to_serve_total": None, "whatif_saving": 12_500_000.0})
    t = summary.headline_table(metrics, REG, status, currency="KRW").set_index(["notebook", "key"])
    assert list(t["area"].drop_duplicates()) == [a for a in summary.AREAS if a in set(t["area"])]
    assert t.loc[("customer_value", "total_clv"), "value_text"] == "2.00 billion KRW"
    assert t.loc[("customer_value", "total_clv"), "value"] == 2e9
    assert t.loc[("customer_value", "total_clv"), "href"] == "customer_value.html"
    ctt = t.loc[("channel_integration", "cost_to_serve_total")]
    assert not ctt["available"] and ctt["value_text"] == "not available"
    assert ctt["note"] == "not measured in this run (without contacts or costs)"
    exp = t.loc[("expansion", "expansion_value")]
    assert not exp["available"] and "no transactions table" in exp["note"] and math.isnan(exp["value"])
    # the loop's observational difference carries its coverage: n of N earlier targets compared
    loop = t.loc[("feedback", "loop_purchase_rate_diff")]
    assert loop["available"] and loop["value_text"] == "+6.0 points"
    assert loop["figure"].endswith("(380 of 400 earlier targets compared)") and "observational" in loop["figure"]
    part = dict(FULL, feedback={k: v for k, v in FULL["feedback"].items() if k != "loop_n_compared"})
    t3 = summary.headline_table(part, REG, status).set_index(["notebook", "key"])
    assert t3.loc[("feedback", "loop_purchase_rate_diff"), "figure"].endswith("(earlier targets compared: not recorded)")
    # a key the registry does not declare is not shown
    t2 = summary.headline_table(FULL, REG, status, headlines=[summary.Headline("Customers", "churn", "nope", "x")])
    assert t2.empty and "value_text" in t2.columns


# ----------------------------------------------------------------- trends
def test_trends_one_row_per_date_and_metric_with_changes():
    runs = [
        (dt.date(2025, 6, 30), {"feedback": {"nps": 12.0}, "churn": {"best_auc": 0.8}}),
        ("2024-06-30", {"feedback": {"nps": 0.0}}),
        ("2024-12-30", {"feedback": {"nps": 8.0}, "churn": {"best_auc": None}}),
    ]
    t = summary.collect_trends(runs, ["feedback.nps", "churn.best_auc"])
    assert list(zip(t["as_of"].astype(str), t["metric"], t["value"])) == [
        ("2024-06-30", "feedback.nps", 0.0), ("2024-12-30", "feedback.nps", 8.0),
        ("2025-06-30", "feedback.nps", 12.0), ("2025-06-30", "churn.best_auc", 0.8)]
    nps = t.loc[t["metric"] == "feedback.nps"]
    assert nps["change"].tolist()[1:] == [8.0, 4.0] and math.isnan(nps["change"].iloc[0])
    assert math.isnan(nps["change_pct"].iloc[1]) and nps["change_pct"].iloc[2] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="notebook.key"):
        summary.collect_trends(runs, ["nps"])


def test_trend_table_compares_the_last_two_runs():
    trends = summary.collect_trends(
        [("2024-12-30", {"customer_value": {"total_clv": 1.8e9, "top20_value_share": 0.58}}),
         ("2025-06-30", {"customer_value": {"total_clv": 2.0e9, "top20_value_share": 0.61}, "feedback": {"nps": 3}})],
        ["customer_value.total_clv", "customer_value.top20_value_share", "feedback.nps"])
    table = summary.headline_table(FULL, REG, {s.name: None for s in REG}, currency="KRW")
    t = summary.trend_table(trends, table, currency="KRW")
    assert t["change"].tolist() == ["+200.0 million KRW", "+3.0 points"]  # nps has one run only
    assert t["earlier"].tolist() == ["1.80 billion KRW", "58.0%"]


def test_plot_trends_draws_one_panel_per_metric():
    from ecrm_lib.summary_plots import plot_trends

    trends = summary.collect_trends([("2024-12-30", {"feedback": {"nps": 8}, "churn": {"best_auc": 0.7}}),
                                     ("2025-06-30", {"feedback": {"nps": 12}, "churn": {"best_auc": 0.8}})],
                                    ["feedback.nps", "churn.best_auc"])
    axes = plot_trends(trends, {"feedback.nps": ("Net Promoter Score", "points, -100 to 100")})
    assert len(axes) == 2 and axes[0].get_ylabel() == "points" and axes[0].get_title() == "Net Promoter Score"
    assert len(plot_trends(trends.iloc[0:0])) == 1


# ---------------------------------------------------------------- actions
def test_actions_rank_by_strength_of_evidence_not_money():
    a = summary.propose_actions(FULL, currency="KRW", max_actions=10)
    # randomised tests, then the measured saving, then model-based value, then the survey - whatever the amounts
    assert a["rule"].tolist() == ["stop_segments", "campaign_works", "channel_shift", "retain_targets", "expansion",
                                  "churn_focus", "nps"]
    assert a["rule"].tolist() == list(summary.ACTION_ORDER)
    assert a["rank"].tolist() == list(range(1, 8))
    assert a["evidence"].tolist() == ["randomised test"] * 2 + ["measured saving"] + ["model prediction"] * 3 + ["survey"]
    # the amounts stay for display (the targets' stock of value is the largest, yet ranks below the saving)
    money = a.set_index("rule")["money"]
    assert money["retain_targets"] == pytest.approx(0.38 * 2e9) and money["channel_shift"] == 12_500_000.0
    assert money["expansion"] == pytest.approx(300_000_000 - 1_000_000)
    assert money["retain_targets"] > money["expansion"] > money["channel_shift"]
    basis = a.set_index("rule")["money_basis"]
    assert "not the gain from acting" in basis["retain_targets"]
    assert "whether or not they are contacted" in basis["expansion"]
    r = a.set_index("rule").loc["retain_targets"]
    assert "412 target customers" in r["figure"] and "760.0 million KRW" in r["figure"] and r["report"] == "evaluation.html"
    top3 = summary.propose_actions(FULL, currency="KRW")
    assert top3["rule"].tolist() == ["stop_segments", "campaign_works", "channel_shift"]
    # a bigger amount never moves an action up
    rich = dict(FULL, channel_integration={"whatif_saving": 1.0}, customer_value={"total_clv": 1e15})
    assert summary.propose_actions(rich, max_actions=10)["rule"].tolist() == a["rule"].tolist()
    assert all(r in summary.RANKING_NOTE.lower() for r in ("randomised", "saving", "model", "survey"))


def test_retain_action_claims_nothing_the_rule_did_not_select():
    a = summary.propose_actions({"selection": {"n_targets": 412}, "evaluation": {"target_value_share": 0.38}})
    action = a.loc[0, "action"]
    assert action == "Act on the 412 selected target customers"
    for claim in ("high-value", "at-risk", "retention", "win-back"):
        assert claim not in action.lower()


def test_campaign_works_needs_randomised_evidence():
    loop_only = {"feedback": {"loop_purchase_rate_diff": 0.06, "loop_purchase_rate_diff_ci_low": 0.02,
                              "loop_purchase_rate_diff_ci_high": 0.10, "loop_n_targets": 400,
                              "loop_response_uplift_targets": 0.05}}
    assert summary.propose_actions(loop_only).empty  # observational comparison; uplift without an interval
    no_ci = {"feedback": {"response_uplift": 0.04}}
    assert summary.propose_actions(no_ci).empty
    weak = {"feedback": {"response_uplift": 0.02, "response_uplift_ci_low": -0.01, "response_uplift_ci_high": 0.05}}
    assert summary.propose_actions(weak).empty
    strong = {"feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05,
                           **loop_only["feedback"]}}
    a = summary.propose_actions(strong)
    assert a["rule"].tolist() == ["campaign_works"] and a.loc[0, "evidence"] == "randomised test"
    assert a.loc[0, "figure"] == "Response +3.0 points above the randomised control group (interval +1.0 to +5.0)"


@pytest.mark.parametrize("auc, near_miss", [(0.97, True), (0.9, True), (0.89, False), (None, False)])
def test_expansion_says_when_lookalikes_are_near_misses(auc, near_miss):
    m = {"expansion": {"expansion_n": 250, "expansion_value": 3e8, "lookalike_auc": auc}}
    fig = summary.propose_actions(m, currency="KRW").loc[0, "figure"]
    assert ("just below the rule's cut-offs (near-misses), not an independent discovery" in fig) == near_miss
    if auc is not None and not near_miss:
        assert f"AUC of {auc:.2f}" in fig


def test_actions_use_only_figures_that_exist():
    assert summary.propose_actions({}).empty
    assert list(summary.propose_actions({}).columns) == ["rank", "rule", "action", "figure", "money", "money_basis", "report", "evidence"]
    # no contacts table: the channel notebook records no saving; no selection/evaluation/expansion ran
    only = {"customer_value": FULL["customer_value"], "churn": FULL["churn"],
            "channel_integration": {"whatif_saving": None, "cost_to_serve_total": None}}
    a = summary.propose_actions(only, currency="KRW")
    assert a["rule"].tolist() == ["churn_focus"]
    # targets without evaluation: no retain action (its figure is missing)
    assert "retain_targets" not in summary.propose_actions({"selection": {"n_targets": 40}})["rule"].tolist()
    # targets with a value share but no total CLV: the action stays, without money
    a = summary.propose_actions({"selection": {"n_targets": 40}, "evaluation": {"target_value_share": 0.2}})
    assert a["rule"].tolist() == ["retain_targets"] and math.isnan(a.loc[0, "money"])


@pytest.mark.parametrize("metrics, absent", [
    ({"channel_integration": {"whatif_saving": -1.0}}, "channel_shift"),  # the what-if channel is dearer
    ({"expansion": {"expansion_n": 250, "expansion_value": 1e8, "lookalike_auc": 0.52}}, "expansion"),  # weak model
    ({"expansion": {"expansion_n": 0, "expansion_value": 0.0}}, "expansion"),
    ({"churn": {"top_decile_lift": 1.2}}, "churn_focus"),
    ({"feedback": {"nps": 25.0}}, "nps"),
    ({"feedback": {"loop_purchase_rate_diff": 0.03, "loop_purchase_rate_diff_ci_low": -0.01}}, "campaign_works"),
    ({"feedback": {"loop_purchase_rate_diff": 0.06, "loop_purchase_rate_diff_ci_low": 0.02}}, "campaign_works"),
    ({"feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.0}}, "campaign_works"),
    ({"feedback": {"loop_segments_down_weighted": 0}}, "stop_segments"),
])
def test_rules_do_not_fire_on_weak_figures(metrics, absent):
    assert absent not in summary.propose_actions(metrics)["rule"].tolist()


def test_segment_names_come_from_the_feedback_weights():
    w = pd.DataFrame({"segment": ["Hibernating", "Champions", "At risk"], "action": ["remove", "keep", "down-weight"]})
    a = summary.propose_actions({"feedback": {"loop_earlier_as_of": "2024-12-30"}}, segment_weights=w)
    assert a.loc[0, "action"] == "Stop targeting segment(s) Hibernating"
    assert "2024-12-30" in a.loc[0, "figure"]
    a = summary.propose_actions({}, segment_weights=w.iloc[1:])
    assert a.loc[0, "action"] == "Target segment(s) At risk less"


def test_channel_shift_names_the_what_if():
    m = {"channel_integration": {"whatif_saving": 5e6}}
    w = {"whatif_purpose": "order_status", "whatif_from_channel": "phone", "whatif_to_channel": "app", "whatif_share": 0.3}
    assert summary.propose_actions(m, whatif=w).loc[0, "action"] == "Move 30% of order status contacts from phone to app"
    assert "cheaper channel" in summary.propose_actions(m).loc[0, "action"]


def test_max_actions():
    assert len(summary.propose_actions(FULL, max_actions=0)) == 0
    with pytest.raises(ValueError, match="max_actions"):
        summary.propose_actions(FULL, max_actions=-1)


# ----------------------------------------------------------------- helpers
def test_run_parameters_reads_what_the_run_gave(tmp_path):
    assert summary.run_parameters(tmp_path, "channel_integration", REG)["whatif_to_channel"] == "app"
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nb.metadata["papermill"] = {"parameters": {"whatif_to_channel": "web", "whatif_share": 0.5, "run_dir": str(tmp_path)}}
    (tmp_path / "executed").mkdir()
    nbformat.write(nb, tmp_path / "executed" / "channel_integration.ipynb")
    p = summary.run_parameters(tmp_path, "channel_integration", REG)
    assert p["whatif_to_channel"] == "web" and p["whatif_share"] == 0.5 and p["whatif_from_channel"] == "phone"
    assert "run_dir" not in p
    assert summary.run_parameters(tmp_path, "unknown", REG) == {}


def test_headline_paragraph_leaves_out_absent_figures():
    table = summary.headline_table(FULL, REG, {s.name: None for s in REG}, currency="KRW")
    actions = summary.propose_actions(FULL, currency="KRW")
    text = summary.headline_paragraph(table, actions)
    assert text.startswith("1,400 customers have bought, with a predicted value of 2.00 billion KRW")
    assert "412 customers were selected" in text and "The first action the data supports: stop or reduce targeting" in text
    empty = summary.headline_table({}, REG, {s.name: "skipped" for s in REG})
    assert summary.headline_paragraph(empty, actions.iloc[0:0]) == "The figures support no action with confidence in this run."


def test_targets_worth_less_than_their_cost_get_a_caveat():
    m = {"selection": {"n_targets": 62}, "evaluation": {"target_value_share": 0.8, "target_net_value": -396_504.0},
         "customer_value": {"total_clv": 2_300_000.0}}
    fig = summary.propose_actions(m, currency="KRW").loc[0, "figure"]
    assert "they are worth -396,504 KRW, so keep the offers and contacts cheap" in fig

"""ecrm_lib.report.summary: units and formatting, report status, the headline table,
trends, and the action rules (each fires only on figures that exist)."""

from __future__ import annotations

import datetime as dt
import math

import matplotlib
import pandas as pd
import pytest

from ecrm_lib.report import summary

from ecrm_lib.report import actions

from ecrm_lib.core import format as fmt

from ecrm_lib.report import trends
from ecrm_lib.run.registry import load_registry

matplotlib.use("Agg")

REG = load_registry()

# segment weights as the feedback loop writes them: one segment clears the stop bar (whole interval below 0)
WEIGHTS = pd.DataFrame({"segment": ["Hibernating", "Champions"], "uplift": [-0.03, 0.04], "ci_low": [-0.06, 0.01],
                        "ci_high": [-0.005, 0.07], "weight": [0.0, 1.0], "action": ["remove", "keep"],
                        "n_treatment": [200, 150], "n_control": [210, 140]})

FULL = {
    "customer_value": {"n_customers": 1400, "total_clv": 2_000_000_000.0, "top20_value_share": 0.61, "best_model": "pareto"},
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
    assert fmt.format_value(value, unit, "KRW") == text


def test_every_registry_metric_has_a_unit():
    missing = [f"{s.name}.{k}" for s in REG for k, d in s.metrics.items() if not fmt.unit_of(d)]
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
    t = trends.collect_trends(runs, ["feedback.nps", "churn.best_auc"])
    assert list(zip(t["as_of"].astype(str), t["metric"], t["value"])) == [
        ("2024-06-30", "feedback.nps", 0.0), ("2024-12-30", "feedback.nps", 8.0),
        ("2025-06-30", "feedback.nps", 12.0), ("2025-06-30", "churn.best_auc", 0.8)]
    nps = t.loc[t["metric"] == "feedback.nps"]
    assert nps["change"].tolist()[1:] == [8.0, 4.0] and math.isnan(nps["change"].iloc[0])
    assert math.isnan(nps["change_pct"].iloc[1]) and nps["change_pct"].iloc[2] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="notebook.key"):
        trends.collect_trends(runs, ["nps"])


def test_trend_table_compares_the_last_two_runs():
    trend_rows = trends.collect_trends(
        [("2024-12-30", {"customer_value": {"total_clv": 1.8e9, "top20_value_share": 0.58, "best_model": "pareto"}}),
         ("2025-06-30", {"customer_value": {"total_clv": 2.0e9, "top20_value_share": 0.61, "best_model": "pareto"},
                         "feedback": {"nps": 3}})],
        ["customer_value.total_clv", "customer_value.top20_value_share", "feedback.nps"])
    table = summary.headline_table(FULL, REG, {s.name: None for s in REG}, currency="KRW")
    t = trends.trend_table(trend_rows, table, currency="KRW")
    assert t["change"].tolist() == ["+200.0 million KRW", "+3.0 points"]  # nps has one run only
    assert t["earlier"].tolist() == ["1.80 billion KRW", "58.0%"]
    assert t["method"].tolist() == ["Pareto/NBD", "Pareto/NBD"] and (t["basis"] == "chosen").all()
    assert trends.trend_notes(t) == []


def test_plot_trends_draws_one_panel_per_metric():
    from ecrm_lib.report.plots.summary import plot_trends

    trend_rows = trends.collect_trends([("2024-12-30", {"feedback": {"nps": 8}, "churn": {"best_auc": 0.7}}),
                                     ("2025-06-30", {"feedback": {"nps": 12}, "churn": {"best_auc": 0.8}})],
                                    ["feedback.nps", "churn.best_auc"])
    axes = plot_trends(trend_rows, {"feedback.nps": ("Net Promoter Score", "points, -100 to 100")})
    assert len(axes) == 2 and axes[0].get_ylabel() == "points" and axes[0].get_title() == "Net Promoter Score"
    assert len(plot_trends(trend_rows.iloc[0:0])) == 1


# ---------------------------------------------------------------- actions
def test_actions_rank_by_strength_of_evidence_not_money():
    a = actions.propose_actions(FULL, currency="KRW", max_actions=10, segment_weights=WEIGHTS)
    # randomised tests, then the measured saving, then model-based value, then the survey - whatever the amounts
    assert a["rule"].tolist() == ["stop_segments", "campaign_works", "channel_shift", "retain_targets", "expansion",
                                  "churn_focus", "nps"]
    assert a["rule"].tolist() == list(actions.ACTION_ORDER)
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
    top3 = actions.propose_actions(FULL, currency="KRW", segment_weights=WEIGHTS)
    assert top3["rule"].tolist() == ["stop_segments", "campaign_works", "channel_shift"]
    # a bigger amount never moves an action up
    rich = dict(FULL, channel_integration={"whatif_saving": 1.0}, customer_value={"total_clv": 1e15})
    assert actions.propose_actions(rich, max_actions=10, segment_weights=WEIGHTS)["rule"].tolist() == a["rule"].tolist()
    # each action carries the bar its evidence cleared
    assert a.set_index("rule")["bar"].to_dict() == actions.evidence_bars()
    assert all(r in actions.RANKING_NOTE.lower() for r in ("randomised", "saving", "model", "survey"))


def test_retain_action_claims_nothing_the_rule_did_not_select():
    a = actions.propose_actions({"selection": {"n_targets": 412}, "evaluation": {"target_value_share": 0.38}})
    action = a.loc[0, "action"]
    assert action == "Act on the 412 selected target customers"
    for claim in ("high-value", "at-risk", "retention", "win-back"):
        assert claim not in action.lower()


def test_campaign_works_needs_randomised_evidence():
    loop_only = {"feedback": {"loop_purchase_rate_diff": 0.06, "loop_purchase_rate_diff_ci_low": 0.02,
                              "loop_purchase_rate_diff_ci_high": 0.10, "loop_n_targets": 400,
                              "loop_response_uplift_targets": 0.05}}
    assert actions.propose_actions(loop_only).empty  # observational comparison; uplift without an interval
    no_ci = {"feedback": {"response_uplift": 0.04}}
    assert actions.propose_actions(no_ci).empty
    weak = {"feedback": {"response_uplift": 0.02, "response_uplift_ci_low": -0.01, "response_uplift_ci_high": 0.05}}
    assert actions.propose_actions(weak).empty
    strong = {"feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05,
                           **loop_only["feedback"]}}
    a = actions.propose_actions(strong)
    assert a["rule"].tolist() == ["campaign_works"] and a.loc[0, "evidence"] == "randomised test"
    assert a.loc[0, "figure"] == "Response +3.0 points above the randomised control group (interval +1.0 to +5.0 points)"


@pytest.mark.parametrize("auc, near_miss", [(0.97, True), (0.9, True), (0.89, False), (None, False)])
def test_expansion_says_when_lookalikes_are_near_misses(auc, near_miss):
    m = {"expansion": {"expansion_n": 250, "expansion_value": 3e8, "lookalike_auc": auc}}
    fig = actions.propose_actions(m, currency="KRW").loc[0, "figure"]
    assert ("just below the rule's cut-offs (near-misses), not an independent discovery" in fig) == near_miss
    if auc is not None and not near_miss:
        assert f"AUC of {auc:.2f}" in fig


def test_actions_use_only_figures_that_exist():
    assert actions.propose_actions({}).empty
    assert list(actions.propose_actions({}).columns) == ["rank", "rule", "action", "figure", "money", "money_basis", "report", "evidence",
                                                        "bar"]
    # no contacts table: the channel notebook records no saving; no selection/evaluation/expansion ran
    only = {"customer_value": FULL["customer_value"], "churn": FULL["churn"],
            "channel_integration": {"whatif_saving": None, "cost_to_serve_total": None}}
    a = actions.propose_actions(only, currency="KRW")
    assert a["rule"].tolist() == ["churn_focus"]
    # targets without evaluation: no retain action (its figure is missing)
    assert "retain_targets" not in actions.propose_actions({"selection": {"n_targets": 40}})["rule"].tolist()
    # targets with a value share but no total CLV: the action stays, without money
    a = actions.propose_actions({"selection": {"n_targets": 40}, "evaluation": {"target_value_share": 0.2}})
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
    assert absent not in actions.propose_actions(metrics)["rule"].tolist()


def test_segment_names_come_from_the_feedback_weights():
    w = pd.DataFrame({"segment": ["Hibernating", "Champions", "At risk"], "action": ["remove", "keep", "down-weight"],
                      "uplift": [-0.03, 0.04, -0.004], "ci_low": [-0.06, 0.01, -0.012], "ci_high": [-0.005, 0.07, 0.004]})
    m = {"feedback": {"loop_earlier_as_of": "2024-12-30", "response_uplift": 0.05, "response_uplift_ci_low": 0.03,
                      "response_uplift_ci_high": 0.07}}
    a = actions.propose_actions(m, segment_weights=w, max_actions=10)
    assert a.loc[0, "action"] == "Stop targeting segment(s) Hibernating"
    assert "2024-12-30" in a.loc[0, "figure"] and "Hibernating: uplift -3.0 points (-6.0 to -0.5 points)" in a.loc[0, "figure"]
    # At risk's whole interval (-1.2 to +0.4 points) lies below the campaign-wide one (+3.0 to +7.0 points)
    assert a.loc[1, "action"] == "Target segment(s) At risk less" and a.loc[1, "rule"] == "stop_segments"
    assert "below the campaign-wide uplift (+3.0 to +7.0 points)" in a.loc[1, "figure"]


def test_channel_shift_names_the_what_if():
    m = {"channel_integration": {"whatif_saving": 5e6}}
    w = {"whatif_purpose": "order_status", "whatif_from_channel": "phone", "whatif_to_channel": "app", "whatif_share": 0.3}
    assert actions.propose_actions(m, whatif=w).loc[0, "action"] == "Move 30% of order status contacts from phone to app"
    assert "cheaper channel" in actions.propose_actions(m).loc[0, "action"]


def test_max_actions():
    assert len(actions.propose_actions(FULL, max_actions=0)) == 0
    with pytest.raises(ValueError, match="max_actions"):
        actions.propose_actions(FULL, max_actions=-1)


# ----------------------------------------------------------------- helpers
def test_headline_paragraph_leaves_out_absent_figures():
    table = summary.headline_table(FULL, REG, {s.name: None for s in REG}, currency="KRW")
    to_do = actions.propose_actions(FULL, currency="KRW")
    to_test = actions.actions_to_test(FULL, currency="KRW")
    text = summary.headline_paragraph(table, to_do, to_test)
    assert text.startswith("1,400 customers have bought, with a predicted value of 2.00 billion KRW")
    assert "412 customers were selected" in text and "The first action the data supports: keep running the campaign" in text
    # FULL records 2 down-weighted segments without their intervals: to test, not an action
    assert text.endswith("1 more possible action rests on evidence that does not clear its bar: listed to test, not to do.")
    empty = summary.headline_table({}, REG, {s.name: "skipped" for s in REG})
    assert summary.headline_paragraph(empty, to_do.iloc[0:0]) == "The figures support no action with confidence in this run."


def test_targets_worth_less_than_their_cost_get_a_caveat():
    m = {"selection": {"n_targets": 62}, "evaluation": {"target_value_share": 0.8, "target_net_value": -396_504.0},
         "customer_value": {"total_clv": 2_300_000.0}}
    fig = actions.propose_actions(m, currency="KRW").loc[0, "figure"]
    assert "they are worth -396,504 KRW, so keep the offers and contacts cheap" in fig


# ------------------------------------------- issue 15, item 2: trends compare like with like
EARLIER = {"customer_value": {"total_clv": 42_702_164.5, "top20_value_share": 0.6483644, "best_model": "mbgnbd"}}
LATER = {"customer_value": {"total_clv": 38_205_131.1, "top20_value_share": 0.7748360, "best_model": "pareto"}}
CV_TRENDS = ["customer_value.total_clv", "customer_value.top20_value_share"]


def _table():
    return summary.headline_table(FULL, REG, {s.name: None for s in REG}, currency="KRW")


def test_trend_between_different_models_is_not_an_unmarked_change():
    # the default data's runs: MBG/NBD chosen on 2024-12-30, Pareto/NBD on 2025-06-30
    trend_rows = trends.collect_trends([("2024-12-30", EARLIER), ("2025-06-30", LATER)], CV_TRENDS)
    last = trend_rows.loc[trend_rows["as_of"] == dt.date(2025, 6, 30)]
    assert last["change"].isna().all() and last["change_pct"].isna().all()
    assert last["method_change"].tolist() == ["MBG/NBD -> Pareto/NBD"] * 2
    t = trends.trend_table(trend_rows, _table(), currency="KRW")
    assert t["method"].tolist() == ["method changed (MBG/NBD -> Pareto/NBD)"] * 2
    assert t["change"].tolist() == ["not computed: the method changed"] * 2
    assert t["earlier"].tolist() == ["42.7 million KRW (MBG/NBD)", "64.8% (MBG/NBD)"]
    assert t["latest"].tolist() == ["38.2 million KRW (Pareto/NBD)", "77.5% (Pareto/NBD)"]
    assert not t["change"].str.contains("12.6").any() and t["change_value"].isna().all()
    notes = trends.trend_notes(t)
    assert "method changed (MBG/NBD -> Pareto/NBD) between the runs of 2024-12-30 and 2025-06-30" in notes[0]
    assert "change is not computed" in notes[0] and "under one and the same model" in notes[1]
    # the same model in both runs produces the change
    same = dict(EARLIER, customer_value=dict(EARLIER["customer_value"], best_model="pareto"))
    t = trends.trend_table(trends.collect_trends([("2024-12-30", same), ("2025-06-30", LATER)], CV_TRENDS), _table(), "KRW")
    assert t["change"].tolist() == ["-4.5 million KRW", "+12.6 points"] and t["method"].tolist() == ["Pareto/NBD"] * 2
    # a run that did not record its model gives no change either
    unknown = {"customer_value": {k: v for k, v in EARLIER["customer_value"].items() if k != "best_model"}}
    t = trends.trend_table(trends.collect_trends([("2024-12-30", unknown), ("2025-06-30", LATER)], CV_TRENDS), _table(), "KRW")
    assert t["change"].tolist() == ["not computed: the method was not recorded"] * 2
    assert t["method"].str.startswith("method not recorded (not recorded -> Pareto/NBD)").all()


def test_trend_compares_the_same_model_refitted_when_both_runs_recorded_it():
    # figures_by_model's per-model figures, as both default runs record them (values of the default data)
    e = {"customer_value": dict(EARLIER["customer_value"], total_clv_pareto=44_965_080.0, top20_value_share_pareto=0.6990,
                                total_clv_mbgnbd=42_702_164.5, top20_value_share_mbgnbd=0.6483644)}
    lt = {"customer_value": dict(LATER["customer_value"], total_clv_pareto=38_205_131.1, top20_value_share_pareto=0.7748360,
                                 total_clv_mbgnbd=37_141_439.0, top20_value_share_mbgnbd=0.7248)}
    trend_rows = trends.collect_trends([("2024-12-30", e), ("2025-06-30", lt)], CV_TRENDS)
    assert trend_rows.set_index(["metric", "as_of"]).loc[("customer_value.total_clv", dt.date(2025, 6, 30)), "by_method"] == {
        "pareto": 38_205_131.1, "mbgnbd": 37_141_439.0}
    t = trends.trend_table(trend_rows, _table(), currency="KRW")
    assert t["basis"].tolist() == ["chosen", "same model", "chosen", "same model"]
    like = t[t["basis"] == "same model"]
    # the latest run's model in both runs: Pareto/NBD
    assert like["method"].tolist() == ["Pareto/NBD in both runs (refitted on each run's data)"] * 2
    assert like["earlier"].tolist() == ["45.0 million KRW", "69.9%"] and like["latest"].tolist() == ["38.2 million KRW", "77.5%"]
    assert like["change"].tolist() == ["-6.8 million KRW", "+7.6 points"]
    assert like["change_value"].tolist() == pytest.approx([38_205_131.1 - 44_965_080.0, 0.7748360 - 0.6990])
    notes = trends.trend_notes(t)
    assert "Compared like with like, Pareto/NBD in both runs" in notes[1] and "(+7.6 points)" in notes[1]


def test_churn_and_evaluation_figures_follow_their_models():
    e = {"churn": {"best_auc": 0.71, "best_model": "logistic", "auc_logistic": 0.71, "auc_gradient_boosting": 0.70,
                   "churn_rate_validation": 0.68},
         "customer_value": {"best_model": "pareto"}, "evaluation": {"target_value_share": 0.50, "gini_clv": 0.70}}
    lt = {"churn": {"best_auc": 0.80, "best_model": "gradient_boosting", "auc_logistic": 0.78, "auc_gradient_boosting": 0.80,
                    "churn_rate_validation": 0.76},
          "customer_value": {"best_model": "pareto"}, "evaluation": {"target_value_share": 0.60, "gini_clv": 0.73}}
    wanted = ["churn.best_auc", "churn.churn_rate_validation", "evaluation.target_value_share", "evaluation.gini_clv"]
    t = trends.trend_table(trends.collect_trends([("2024-12-30", e), ("2025-06-30", lt)], wanted), _table())
    auc = t[t["metric"] == "churn.best_auc"]
    assert auc["method"].tolist() == ["method changed (logistic regression -> gradient boosting)",
                                      "gradient boosting in both runs (refitted on each run's data)"]
    assert auc["change"].tolist() == ["not computed: the method changed", "+0.100"]  # auc_gradient_boosting 0.70 -> 0.80
    t = t[t["basis"] == "chosen"].set_index("metric")
    assert t.loc["churn.churn_rate_validation", "change"] == "+8.0 points"  # measured on the data: no model
    # the targets come from a rule over CLV tier and churn risk: their value share depends on both models
    assert t.loc["evaluation.target_value_share", "method"] == "method changed (churn model logistic regression -> gradient boosting)"
    assert t.loc["evaluation.gini_clv", "change"] == "+0.030"  # the CLV model did not change


def test_trend_changes_are_rounded_like_their_values():
    trend_rows = trends.collect_trends([("2024-12-30", {"feedback": {"nps": 17.7385}, "selection": {"n_targets": 600}}),
                                     ("2025-06-30", {"feedback": {"nps": 18.8235}, "selection": {"n_targets": 600}})],
                                    ["feedback.nps", "selection.n_targets"])
    t = trends.trend_table(trend_rows, _table())
    assert t["earlier"].tolist() == ["+17.7", "600"] and t["latest"].tolist() == ["+18.8", "600"]
    assert t["change"].tolist() == ["+1.1", "no change"]  # was "+1.08" and "+0"
    assert t["change_value"].iloc[0] == pytest.approx(1.085)  # computed on the unrounded values
    assert "unrounded" in summary.ROUNDING_NOTE


def test_plot_marks_a_method_change_and_draws_the_like_for_like_series():
    from ecrm_lib.report.plots.summary import plot_trends

    e = {"customer_value": dict(EARLIER["customer_value"], total_clv_pareto=44_965_080.0)}
    lt = {"customer_value": dict(LATER["customer_value"], total_clv_pareto=38_205_131.1)}
    trend_rows = trends.collect_trends([("2024-12-30", e), ("2025-06-30", lt)], ["customer_value.total_clv"])
    (ax,) = plot_trends(trend_rows, {"customer_value.total_clv": ("CLV", "config currency")}, currency="KRW")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto/NBD in every run" in legend and "method changed: no change computed" in legend
    assert {t.get_text() for t in ax.texts} == {"MBG/NBD", "Pareto/NBD"}
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == pytest.approx([44.96508, 38.2051311])


def test_figures_by_model_reproduce_a_run_that_chose_that_model():
    import datetime as dt

    from ecrm_lib.value import btyd, clv, published, spend
    from ecrm_lib.value import holdout as ho
    from ecrm_lib.value.features import calibration_holdout, rfm_summary

    tx = published.cdnow_transactions()
    as_of = dt.date(1998, 6, 30)
    summary = rfm_summary(tx, as_of=as_of)
    gg = spend.fit_gamma_gamma(summary)

    def chosen(models, holdout_weeks):
        """The customer-value notebook's steps: choose on the holdout, refit on all data, value (52 weeks)."""
        h = None
        if holdout_weeks:
            ch = calibration_holdout(tx, calibration_end=as_of - dt.timedelta(weeks=holdout_weeks), observation_end=as_of)
            h = ho.holdout_validation(ch, ho.fit_calibration_models(ch, models))
        best = ho.choose_purchase_model(h, models)
        final = btyd.fit_btyd(summary, best)
        values = clv.customer_value(summary, final, gg, horizon=52.0, margin=0.3, annual_discount_rate=0.1)
        metrics = clv.value_metrics(summary, best_model=best, holdout=h, predictions=btyd.predict_purchases(final, summary, 52.0),
                                    values=values, interval=None, gg=gg, bgnbd_fit=None)
        return clv.ValueModels(summary, "W", 52.0, best, final, None, gg), metrics

    a, a_metrics = chosen(["mbgnbd", "pareto"], 39)
    rec = trends.figures_by_model(a, ["mbgnbd", "pareto"], margin=0.3, annual_discount_rate=0.1, currency="USD")
    got = {k: v for k, v, _, _ in rec}
    assert set(got) == set(trends.BY_MODEL_METRICS) == {k for k in REG.get("customer_value").metrics if k in got}
    assert {u for k, _, _, u in rec if k.startswith("total_clv")} == {"USD"}
    best = a.best_model
    for key in ("total_clv", "top20_value_share", "mean_p_alive"):
        assert got[f"{key}_{best}"] == a_metrics[key]
        assert got[f"{key}_bgnbd"] is None  # not among the models
    other = "pareto" if best == "mbgnbd" else "mbgnbd"
    _, b_metrics = chosen([other], 0)
    for key in ("total_clv", "top20_value_share", "mean_p_alive"):
        assert got[f"{key}_{other}"] == pytest.approx(b_metrics[key], rel=1e-9)


# ------------------------------------------- issue 15, item 3: actions need evidence that clears a bar
# the default data's campaign and its two segments the loop down-weighted (feedback/segment_weights of 2025-06-30)
DEFAULT_FEEDBACK = {"feedback": {"response_uplift": 0.025427, "response_uplift_ci_low": 0.010325,
                                 "response_uplift_ci_high": 0.041099, "loop_earlier_as_of": "2024-12-30",
                                 "loop_segments_down_weighted": 2}}
DEFAULT_WEIGHTS = pd.DataFrame({
    "segment": ["About to Sleep", "At Risk", "Lost", "Loyal"], "uplift": [-0.009632, 0.023506, -0.011559, 0.074707],
    "ci_low": [-0.065223, -0.030815, -0.049673, 0.036272], "ci_high": [0.046978, 0.086833, 0.026958, 0.116467],
    "weight": [0.5, 1.0, 0.5, 1.0], "action": ["down-weight", "keep", "down-weight", "keep"],
    "reason": ["r"] * 4, "n_treatment": [81, 94, 247, 305], "n_control": [91, 105, 269, 331]})


def test_inconclusive_segment_uplifts_are_to_test_not_actions():
    a = actions.propose_actions(DEFAULT_FEEDBACK, segment_weights=DEFAULT_WEIGHTS, max_actions=10)
    assert "stop_segments" not in a["rule"].tolist()
    assert a.loc[0, "rule"] == "campaign_works"  # the campaign's own interval clears its bar
    assert a.loc[0, "figure"] == "Response +2.5 points above the randomised control group (interval +1.0 to +4.1 points)"
    t = actions.actions_to_test(DEFAULT_FEEDBACK, segment_weights=DEFAULT_WEIGHTS)
    assert t["rule"].tolist() == ["stop_segments"] and t.loc[0, "action"] == "Target segment(s) About to Sleep, Lost less"
    assert t.loc[0, "figure"] == ("About to Sleep: uplift -1.0 points (-6.5 to +4.7 points; 81 treated and 91 control accounts); "
                                  "Lost: uplift -1.2 points (-5.0 to +2.7 points; 247 treated and 269 control accounts), "
                                  "in the campaign after the run of 2024-12-30")
    assert "reaches 0 or above" in t.loc[0, "why"] and "campaign-wide uplift (+1.0 to +4.1 points)" in t.loc[0, "why"]
    assert t.loc[0, "bar"] == actions.evidence_bars()["stop_segments"]


@pytest.mark.parametrize("ci_high, verb", [(-0.004, "Stop targeting segment(s) Lost"),  # whole interval below 0
                                           (0.008, "Target segment(s) Lost less")])  # below the campaign-wide +1.0 points
def test_a_clear_segment_result_gives_an_action(ci_high, verb):
    w = DEFAULT_WEIGHTS.assign(ci_low=[-0.065, -0.03, -0.03, 0.036], ci_high=[0.047, 0.087, ci_high, 0.116],
                               uplift=[-0.0096, 0.0235, -0.017, 0.0747])
    a = actions.propose_actions(DEFAULT_FEEDBACK, segment_weights=w, max_actions=10)
    assert a.loc[0, "rule"] == "stop_segments" and a.loc[0, "action"] == verb and a.loc[0, "evidence"] == "randomised test"
    t = actions.actions_to_test(DEFAULT_FEEDBACK, segment_weights=w)
    assert t["action"].tolist() == ["Target segment(s) About to Sleep less"]  # the other flagged segment stays to test


def test_other_inconclusive_randomised_evidence_is_to_test():
    weak = {"feedback": {"response_uplift": 0.02, "response_uplift_ci_low": -0.01, "response_uplift_ci_high": 0.05}}
    t = actions.actions_to_test(weak)
    assert t["action"].tolist() == ["Keep running the campaign"] and "(interval -1.0 to +5.0 points)" in t.loc[0, "figure"]
    assert "reaches 0" in t.loc[0, "why"]
    assert "no interval recorded" in actions.actions_to_test({"feedback": {"response_uplift": 0.04}}).loc[0, "figure"]
    assert actions.actions_to_test({"feedback": {"response_uplift": -0.01, "response_uplift_ci_low": -0.03}}).empty
    # only the count of flagged segments (no intervals): to test, with the reason
    t = actions.actions_to_test({"feedback": {"loop_segments_down_weighted": 2}})
    assert t.loc[0, "rule"] == "stop_segments" and "were not found" in t.loc[0, "why"]
    assert actions.propose_actions({"feedback": {"loop_segments_down_weighted": 2}}).empty
    no_iv = pd.DataFrame({"segment": ["Lost"], "action": ["down-weight"]})
    t = actions.actions_to_test({"feedback": {"loop_segments_down_weighted": 1}}, segment_weights=no_iv)
    assert "do not record the intervals" in t.loc[0, "why"]
    assert list(actions.actions_to_test({}).columns) == ["rule", "action", "figure", "why", "bar", "report", "evidence"]


def test_evidence_bars_cover_every_rule_with_its_parameters():
    bars = actions.evidence_bars(min_churn_lift=2.0, min_lookalike_auc=0.7, max_nps=-10)
    assert list(bars) == list(actions.ACTION_ORDER)
    assert "2.0 times" in bars["churn_focus"] and "0.70" in bars["expansion"] and "-10" in bars["nps"]
    assert "whole interval below 0" in bars["stop_segments"] and "whole interval above 0" in bars["campaign_works"]


def test_uplifts_share_one_style():
    assert fmt.format_points(0.025427) == "+2.5 points" == fmt.format_value(0.025427, "share points")
    assert fmt.format_points_interval(-0.065223, 0.046978) == "-6.5 to +4.7 points"


def test_trend_chart_holds_zero_and_each_interval():
    # issue 15 item 5: an NPS change of +1.1 inside +-4.5 was drawn on a 17.75-18.75 axis
    from ecrm_lib.report.plots.summary import plot_trends

    rows = trends.collect_trends([("2024-12-30", {"feedback": {"nps": 17.7, "nps_ci_low": 13.2, "nps_ci_high": 22.2}}),
                                  ("2025-06-30", {"feedback": {"nps": 18.8, "nps_ci_low": 14.4, "nps_ci_high": 23.3}})],
                                 ["feedback.nps"])
    assert rows["low"].tolist() == [13.2, 14.4] and rows["high"].tolist() == [22.2, 23.3]
    (ax,) = plot_trends(rows, {"feedback.nps": ("Net Promoter Score", "points, -100 to 100")})
    lo, hi = ax.get_ylim()
    assert lo <= 0 and hi >= 23.3
    negative = trends.collect_trends([("2024-12-30", {"feedback": {"nps": -20.0}}), ("2025-06-30", {"feedback": {"nps": -18.0}})],
                                     ["feedback.nps"])
    (ax,) = plot_trends(negative, {"feedback.nps": ("NPS", "points")})
    assert ax.get_ylim()[0] <= -20 and ax.get_ylim()[1] >= 0 and negative["low"].isna().all()


def test_headline_labels_have_both_languages():
    """Issue 12: every headline figure's label is in the catalogue (English identical to the code's label), and
    in_report_language words the table in Korean without changing the English table."""
    from ecrm_lib.core.i18n import catalogue
    from ecrm_lib.core.language import using

    en, ko = catalogue("en"), catalogue("ko")
    for h in summary.HEADLINES:
        key = f"executive_summary.figure.{h.notebook}.{h.key}"
        assert en[key] == h.label and key in ko, key
    table = pd.DataFrame({"notebook": ["feedback", "selection"], "key": ["loop_purchase_rate_diff", "n_targets"],
                          "figure": [summary.HEADLINES[-2].label + " (380 of 400 earlier targets compared)", "Target customers selected"],
                          "report": [en["notebooks.feedback.title"], en["notebooks.selection.title"]],
                          "value_text": ["-1.0 points", "not available"]})
    assert summary.in_report_language(table).equals(table)
    with using("ko"):
        k = summary.in_report_language(table)
    assert k["figure"].tolist() == [ko["executive_summary.figure.feedback.loop_purchase_rate_diff"] + " (380 of 400 earlier targets compared)",
                                    "선정한 대상 고객"]
    assert k["value_text"].tolist() == ["-1.0 points", "자료 없음"] and k["report"].tolist() == [ko["notebooks.feedback.title"], ko["notebooks.selection.title"]]

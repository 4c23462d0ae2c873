"""The costed plan uses the profit-based figures where they exist (issue 16 item 4): the profit-selected customers'
row, the look-alikes valued by their expected gain after cost, and what the page says without them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.i18n import t
from ecrm_lib.core.language import using
from ecrm_lib.report import plan

CAMPAIGN = pd.DataFrame({"campaign_id": ["c", "c"], "arm": ["control", "treatment"], "is_control": [True, False],
                         "n": [1576, 1424], "rate": [0.0343, 0.0597], "uplift": [np.nan, 0.0254],
                         "ci_low": [np.nan, 0.0103], "ci_high": [np.nan, 0.0411],
                         "revenue_per_account": [2000.0, 3847.2]})


def _profit_targets():
    # 12 chosen customers, 2 of them held out; email 60 KRW, app 30 KRW, plus an offer of 300 KRW each
    return pd.DataFrame({
        "customer_id": [f"p{i}" for i in range(12)],
        "channel": ["email"] * 8 + ["app"] * 4,
        "cost": [360.0] * 8 + [330.0] * 4,
        "predicted_profit": [1000.0, 900, 800, 700, 600, 500, 400, 300, 250, 200, 150, 100],
        "predicted_profit_low": [200.0, 150, 100, 50, 20, 10, 0, -20, 30, 20, 10, 5],
        "predicted_profit_high": [2000.0, 1800, 1600, 1400, 1200, 1000, 800, 600, 500, 400, 300, 200],
        "holdout": [False, True, False, False, False, False, False, True, False, False, False, False],
    })


def _targets():
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)], "segment": ["Champions"] * 10,
                         "contact_channel": ["email"] * 10, "contact_cost": [60.0] * 10})


def _lookalikes():
    # four proposed by the gain bar (two of them already chosen by profit: p3 contacted, p7 held out), one not proposed
    return pd.DataFrame({
        "customer_id": ["p3", "p7", "l1", "l2", "l3"], "expanded": [True, True, True, True, False],
        "cheapest_channel": ["email"] * 5, "cheapest_cost": [60.0] * 5, "profit_channel": ["email"] * 5,
        "expected_profit": [700.0, 300.0, 400.0, 100.0, -50.0], "expected_profit_low": [50.0, -20.0, 80.0, -10.0, -90.0],
        "expected_profit_high": [1400.0, 600.0, 900.0, 300.0, 10.0], "incremental_value": [1060.0, 660.0, 760.0, 460.0, 310.0],
        "contact_cost": [60.0] * 5, "offer_cost": [300.0] * 5})


def _comparison(profit, everyone, rule, d_everyone, d_rule):
    """Selection metrics of a comparison: ``(point, low, high)`` per way of choosing and per difference
    (currency per 1,000 campaign customers)."""
    out = {"profit_n_targets": 12}
    for key, (x, lo, hi) in (("profit_campaign_per_1000", profit), ("everyone_campaign_per_1000", everyone),
                             ("rule_campaign_per_1000", rule), ("profit_over_everyone_per_1000", d_everyone),
                             ("profit_over_rule_per_1000", d_rule)):
        out.update({key: x, f"{key}_ci_low": lo, f"{key}_ci_high": hi})
    return out


GOOD = _comparison((52_000.0, 12_000.0, 90_000.0), (22_000.0, -8_000.0, 50_000.0), (9_000.0, -20_000.0, 40_000.0),
                   (30_000.0, 4_000.0, 56_000.0), (43_000.0, 10_000.0, 80_000.0))
EVERYONE_BETTER = _comparison((52_000.0, 12_000.0, 90_000.0), (60_000.0, 25_000.0, 95_000.0), (9_000.0, -20_000.0, 40_000.0),
                              (-8_000.0, -30_000.0, 14_000.0), (43_000.0, 10_000.0, 80_000.0))
#: points as in GOOD (above everyone and the rule), but the paired interval over everyone reaches below 0: chance
NOT_SURE = {**GOOD, "profit_over_everyone_per_1000_ci_low": -2_000.0}


def _metrics(sel=GOOD, bar="gain"):
    la = _lookalikes().loc[lambda d: d["expanded"]]
    return {"selection": dict(sel),
            "expansion": {"expansion_bar": bar, "expansion_expected_gain": float(la["expected_profit"].sum()),
                          "expansion_expected_gain_low": float(la["expected_profit_low"].sum()),
                          "expansion_expected_gain_high": float(la["expected_profit_high"].sum())},
            "channel_integration": {}}


def _build(metrics, profit_targets=None, lookalikes=None):
    return plan.build_plan(targets=_targets(), lookalikes=_lookalikes() if lookalikes is None else lookalikes,
                           profit_targets=_profit_targets() if profit_targets is None else profit_targets,
                           effect=plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0, metrics=metrics)


def test_the_profit_row_contacts_the_chosen_customers_less_the_holdout_with_their_costs_and_predicted_profit():
    pt = _profit_targets()
    costed = _build(_metrics())
    row = costed.set_index("action_key").loc["profit"]
    contacted = pt.loc[~pt["holdout"]]
    assert row["customers"] == 10 == len(contacted)
    assert row["cost"] == pytest.approx(contacted["cost"].sum())
    # the return is the predicted incremental profit after cost, its interval the customers' bounds summed
    assert row["return"] == pytest.approx(contacted["predicted_profit"].sum())
    assert row["return_low"] == pytest.approx(contacted["predicted_profit_low"].sum())
    assert row["return_high"] == pytest.approx(contacted["predicted_profit_high"].sum())
    assert row["value"] == pytest.approx((contacted["predicted_profit"] + contacted["cost"]).sum())
    assert row["channel"] == "email 60%, app 40%"  # 6 of the 10 contacted by e-mail
    # the cross-fitted comparison clears the bar and the whole return interval is above 0: to do
    assert row["evidence_ok"] and row["level"] == plan.TO_DO
    # the rule's campaign rows give way to it (the same customers are not planned twice)
    assert "campaign" not in set(costed["action_key"])


def test_when_contacting_everyone_earned_as_much_the_profit_row_is_to_test_and_the_page_says_contact_everyone():
    costed = _build(_metrics(EVERYONE_BETTER))
    row = costed.set_index("action_key").loc["profit"]
    assert not row["evidence_ok"] and row["level"] == plan.TO_TEST and row["return_low"] > 0  # the money clears, the evidence not
    notes = dict(plan.plan_notes(costed, profit_targets=_profit_targets(), lookalikes=_lookalikes(), metrics=_metrics(EVERYONE_BETTER)))
    assert notes["plan.profit.evidence_ci"]["verdict"]() == t("plan.profit.verdict.everyone")
    assert "contact everyone rather than a targeted group" in notes["plan.profit.evidence_ci"]["verdict"]()
    # points alone (no interval), or nothing measured, never clear the bar
    points = {k: v for k, v in GOOD.items() if "_ci_" not in k}
    for missing in ({}, points, {"profit_campaign_per_1000": -1.0, "everyone_campaign_per_1000": -5.0}):
        assert not plan.profit_evidence(missing)[0]
    notes = dict(plan.plan_notes(_build(_metrics(points)), profit_targets=_profit_targets(), metrics=_metrics(points)))
    assert "plan.profit_no_comparison" in notes
    # beating everyone but not surely the rule does not clear the bar either
    assert not plan.profit_evidence({**GOOD, "profit_over_rule_per_1000_ci_low": -1.0})[0]


def test_the_bar_is_the_interval_not_the_point():
    """The same points (profit 52,000 against 22,000 for everyone and 9,000 for the rule, per 1,000) clear the bar
    only when the paired interval of the difference over everyone lies wholly above 0."""
    assert plan.profit_evidence(GOOD)[0] and not plan.profit_evidence(NOT_SURE)[0]
    assert not plan.profit_evidence({**GOOD, "profit_campaign_per_1000_ci_low": -500.0})[0]  # may earn nothing at all
    costed = _build(_metrics(NOT_SURE))
    row = costed.set_index("action_key").loc["profit"]
    assert not row["evidence_ok"] and row["level"] == plan.TO_TEST and row["return_low"] > 0
    notes = dict(plan.plan_notes(costed, profit_targets=_profit_targets(), lookalikes=_lookalikes(), metrics=_metrics(NOT_SURE)))
    ev = notes["plan.profit.evidence_ci"]
    text = t("plan.profit.evidence_ci", **{k: (v() if callable(v) else v) for k, v in ev.items()})
    assert "a difference of 30,000 KRW against contacting everyone (interval -2,000 KRW to 56,000 KRW)" in text
    assert ev["verdict"]() == t("plan.profit.verdict.test") and "could be chance" in ev["verdict"]()
    ok = dict(plan.plan_notes(_build(_metrics()), profit_targets=_profit_targets(), metrics=_metrics()))
    assert ok["plan.profit.evidence_ci"]["verdict"]() == t("plan.profit.verdict.target")


def test_the_expansion_row_is_valued_by_its_expected_gain_and_leaves_out_the_profit_selected_customers():
    m = _metrics()
    # alone (no profit row), the row's return is exactly the expansion metrics' expected gain and its interval
    alone = plan.costed_plan(plan.expansion_rows(_lookalikes(), plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0,
                                                 expansion_metrics=m["expansion"], selection_metrics=m["selection"]))
    r = alone.iloc[0]
    assert r["action_key"] == "expansion_gain" and r["customers"] == 4
    e = m["expansion"]
    assert (r["return"], r["return_low"], r["return_high"]) == pytest.approx(
        (e["expansion_expected_gain"], e["expansion_expected_gain_low"], e["expansion_expected_gain_high"]))
    assert r["cost"] == pytest.approx(4 * 360.0) and r["evidence_ok"]
    # with the profit row, p3 (contacted) and p7 (holdout) are left out: counted once, and the holdout stays uncontacted
    costed = _build(m)
    ex = costed.set_index("action_key").loc["expansion_gain"]
    assert ex["customers"] == 2 and ex["return"] == pytest.approx(400.0 + 100.0)
    assert ex["return_low"] == pytest.approx(80.0 - 10.0) and ex["level"] == plan.TO_DO
    notes = dict(plan.plan_notes(costed, profit_targets=_profit_targets(), lookalikes=_lookalikes(), metrics=m))
    assert notes["plan.expansion_in_profit"]["k"]() == "fewer than 5"  # two people: a count of 1-4 is never shown


def test_without_the_profit_figures_the_rows_stay_as_today_and_say_why():
    no_profit = {"selection": {"profit_n_targets": None}, "expansion": {"expansion_bar": "value"}}
    empty = _profit_targets().iloc[0:0]
    costed = _build(no_profit, profit_targets=empty)
    keys = list(costed["action_key"])
    assert "profit" not in keys and "campaign" in keys and "expansion" in keys and "expansion_gain" not in keys
    # today's rows: the campaign-wide uplift, the look-alikes always to test
    today = plan.costed_plan(pd.concat([
        plan.campaign_rows(_targets(), plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0),
        plan.expansion_rows(_lookalikes(), plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0)], ignore_index=True))
    pd.testing.assert_frame_equal(costed, today)
    notes = [k for k, _ in plan.plan_notes(costed, profit_targets=empty, lookalikes=_lookalikes(), metrics=no_profit)]
    assert notes == ["plan.profit_not_available", "plan.expansion_no_gain"]
    # a missing product (the selection did not run) is the same as an empty one
    pd.testing.assert_frame_equal(plan.build_plan(targets=_targets(), lookalikes=_lookalikes(), profit_targets=None,
                                                  effect=plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0,
                                                  metrics=no_profit), costed)
    # every chosen customer held out: no row to contact
    assert plan.profit_rows(_profit_targets().assign(holdout=True), GOOD).empty


def test_the_profit_rows_are_worded_in_both_languages():
    m = _metrics()
    costed = _build(m)
    notes = plan.plan_notes(costed, profit_targets=_profit_targets(), lookalikes=_lookalikes(), metrics=m)
    for lang in ("en", "ko"):
        with using(lang):
            shown = plan.plan_display(costed, "KRW")
            texts = [t(k, **{n: (v() if callable(v) else v) for n, v in vals.items()}) for k, vals in notes]
        cells = " ".join(shown.astype(str).to_numpy().ravel()) + " ".join(texts)
        assert "{" not in cells
        if lang == "ko":
            assert "incremental profit" not in cells and "look-alikes" not in cells  # no English words of the builders
            assert "기대 증분 이익으로 고른 고객에게 연락하기" in set(shown["조치"]) and "실행" in set(shown["근거 수준"])
            assert any("보류 집단" in x for x in texts) and "1,000명당" in " ".join(texts)
        else:
            assert "Contact the customers chosen by expected incremental profit" in set(shown["Action"])
            assert "52,000 KRW" in " ".join(texts) or "52 thousand" in " ".join(texts) or "52,000" in " ".join(texts)

"""The costed action plan and the config's economics (issue 15: a costed action plan)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.config import Economics, load_config
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.paths import DEFAULT_CONFIG
from ecrm_lib.report import plan
from ecrm_lib.report.plan_shift import SHIFT_COLUMNS

MINIMAL = """\
name: t
sources:
  - name: pos
    table: transactions
    path: tx.csv
    columns: {account_id: a, timestamp: ts, amount: amt}
"""


def _config(tmp_path, extra: str = ""):
    (tmp_path / "c.yaml").write_text(MINIMAL + extra, encoding="utf-8")
    return load_config(tmp_path / "c.yaml")


def test_economics_defaults_are_missing_never_invented(tmp_path):
    assert _config(tmp_path).economics == Economics(None, None)
    assert _config(tmp_path).economics.missing() == ["margin", "offer_cost"]
    part = _config(tmp_path, "economics: {margin: 0.25}\n").economics
    assert part.margin == 0.25 and part.offer_cost is None and part.missing() == ["offer_cost"]
    default = load_config(DEFAULT_CONFIG).economics
    assert default.margin == pytest.approx(0.3) and default.offer_cost == pytest.approx(300)
    assert "ASSUMED" in DEFAULT_CONFIG.read_text(encoding="utf-8")  # the config says the figures are assumptions


@pytest.mark.parametrize("extra, match", [
    ("economics: {margin: 30}\n", "margin"),
    ("economics: {margin: 0}\n", "margin"),
    ("economics: {offer_cost: -5}\n", "offer_cost"),
    ("economics: {offer_cost: cheap}\n", "offer_cost"),
    ("economics: {discount: 0.1}\n", "unknown key"),
    ("economics: 0.3\n", "mapping"),
])
def test_bad_economics_are_refused_with_the_fix(tmp_path, extra, match):
    with pytest.raises(ConfigError, match=match):
        _config(tmp_path, extra)


CAMPAIGN = pd.DataFrame({"campaign_id": ["c", "c"], "arm": ["control", "treatment"], "is_control": [True, False],
                         "n": [1576, 1424], "rate": [0.0343, 0.0597], "uplift": [np.nan, 0.0254],
                         "ci_low": [np.nan, 0.0103], "ci_high": [np.nan, 0.0411],
                         "revenue_per_account": [2000.0, 3847.2]})


def _targets():
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(23)],
                         "segment": ["Champions"] * 12 + ["Lost"] * 8 + ["Rare"] * 3,
                         "contact_channel": ["app"] * 10 + ["phone"] * 2 + ["email"] * 8 + ["store"] * 3,
                         "contact_cost": [60.0] * 10 + [6000.0] * 2 + [150.0] * 8 + [12000.0] * 3})


def test_campaign_rows_value_is_customers_times_uplift_times_revenue_per_response_times_margin():
    effect = plan.campaign_effect(CAMPAIGN)
    per_response = 3847.2 / 0.0597
    assert effect["revenue_per_response"] == pytest.approx(per_response)
    weights = pd.DataFrame({"segment": ["Lost"], "uplift": [-0.012], "ci_low": [-0.05], "ci_high": [0.027]})
    rows = plan.campaign_rows(_targets(), effect, margin=0.3, offer_cost=300.0, segment_weights=weights).set_index("segment")
    # segments below 5 customers are joined into "other segments", never shown with a count of 1-4
    assert list(rows.index) == ["Champions", "Lost", "other segments"] and rows.loc["other segments", "customers"] == 3
    champ = rows.loc["Champions"]
    assert champ["value"] == pytest.approx(12 * 0.0254 * per_response * 0.3)
    assert (champ["value_low"], champ["value_high"]) == pytest.approx((12 * 0.0103 * per_response * 0.3, 12 * 0.0411 * per_response * 0.3))
    assert champ["cost"] == pytest.approx(10 * 60 + 2 * 6000 + 12 * 300) and champ["channel"] == "app (83%)"
    assert champ["evidence_ok"]  # the campaign-wide interval is above 0
    lost = rows.loc["Lost"]  # its own uplift, whose interval reaches 0
    assert lost["value"] == pytest.approx(8 * -0.012 * per_response * 0.3) and not lost["evidence_ok"]
    assert "own response uplift" in lost["basis"]


def test_plan_levels_returns_and_order():
    effect = plan.campaign_effect(CAMPAIGN)
    rows = plan.campaign_rows(_targets(), effect, margin=0.3, offer_cost=0.0)
    shift = plan.channel_shift_row(2_400_000.0, {"whatif_purpose": "order_status", "whatif_from_channel": "phone",
                                                  "whatif_to_channel": "app", "whatif_share": 0.3})
    out = plan.costed_plan(pd.concat([rows, shift], ignore_index=True))
    assert list(out.columns) == plan.PLAN_COLUMNS + ["action_key"] + SHIFT_COLUMNS
    assert (out["return"] == out["value"] - out["cost"]).all()
    assert (out["return_low"] <= out["return"]).all() and (out["return"] <= out["return_high"]).all()
    by = out.set_index("segment")
    # Champions: cost 12,600 KRW against a value of about 5,900: the interval is wholly below 0, so to test
    assert by.loc["Champions", "level"] == plan.TO_TEST and by.loc["Champions", "return_high"] < 0
    # Lost: cheap e-mail contacts (1,200 KRW against 1,590 to 6,360 KRW of value): the whole return interval is
    # above 0 and the campaign-wide evidence clears the bar

    assert by.loc["Lost", "return_low"] > 0 and by.loc["Lost", "level"] == plan.TO_DO
    with_offer = plan.costed_plan(plan.campaign_rows(_targets(), effect, margin=0.3, offer_cost=300.0)).set_index("segment")
    assert with_offer.loc["Lost", "return_low"] < 0 and with_offer.loc["Lost", "level"] == plan.TO_TEST
    assert by.loc["order_status", "level"] == plan.TO_DO
    # "to do" rows first, each group by expected return
    levels = out["level"].tolist()
    assert levels == sorted(levels, key=lambda x: x != plan.TO_DO)
    todo = out.loc[out["level"] == plan.TO_DO, "return"].tolist()
    assert todo == sorted(todo, reverse=True)
    assert by.loc["Lost", "return_on_cost"] == pytest.approx(by.loc["Lost", "return"] / by.loc["Lost", "cost"])


def test_without_margin_the_value_is_not_available_and_nothing_is_to_do():
    rows = plan.campaign_rows(_targets(), plan.campaign_effect(CAMPAIGN), margin=None, offer_cost=None)
    out = plan.costed_plan(rows)
    assert out["value"].isna().all() and out["return"].isna().all() and (out["level"] == plan.TO_TEST).all()
    # without an offer cost the cost covers the contacts only
    assert out.set_index("segment").loc["Champions", "cost"] == pytest.approx(10 * 60 + 2 * 6000)
    assert "not available because" in plan.missing_economics_text(["margin"])
    assert "contacts only" in plan.missing_economics_text(["offer_cost"])
    none = plan.costed_plan(plan.campaign_rows(_targets(), None, margin=0.3, offer_cost=300.0))
    assert none["value"].isna().all() and none["basis"].str.startswith("not available because").all()


def test_lookalikes_are_always_to_test():
    la = pd.DataFrame({"customer_id": list("abcdefg"), "expanded": [True] * 6 + [False],
                       "cheapest_channel": ["email"] * 6 + ["store"], "cheapest_cost": [150.0] * 6 + [12000.0]})
    out = plan.costed_plan(plan.expansion_rows(la, plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=0.0))
    row = out.iloc[0]
    assert row["customers"] == 6 and row["cost"] == pytest.approx(900) and row["level"] == plan.TO_TEST
    assert row["return_low"] > 0  # the money clears, the evidence (another group's campaign) does not


def test_the_hook_takes_any_proposed_actions_and_says_what_is_missing():
    with pytest.raises(ValueError, match="value_low"):
        plan.costed_plan(pd.DataFrame({"action": ["a"], "segment": ["s"], "value": [1.0], "cost": [0.5]}))
    own = pd.DataFrame({"action": ["profit-based targeting"], "segment": ["top decile"], "value": [9000.0],
                        "value_low": [4000.0], "value_high": [14000.0], "cost": [1000.0], "evidence_ok": [True]})
    out = plan.costed_plan(own)
    assert out.loc[0, "level"] == plan.TO_DO and math.isnan(out.loc[0, "customers"])


def test_display_has_human_labels_money_with_currency_and_whole_counts():
    out = plan.costed_plan(plan.campaign_rows(_targets(), plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0))
    shown = plan.plan_display(out, "KRW")
    assert not any("_" in c for c in shown.columns) and "Expected return (interval)" in shown.columns
    # "other segments" joins 3 customers: a count of 1-4 people reads <5 (core/privacy.py)
    assert sorted(shown["Customers"].tolist()) == ["12", "8", "<5"]
    assert all("KRW" in v for v in shown["Cost"]) and "e" not in "".join(shown["Cost"]).replace("KRW", "")
    assert set(shown["Evidence level"]) <= {"to do", "to test"}


def test_an_offer_paid_per_response_costs_the_expected_responders(tmp_path):
    econ = _config(tmp_path, "economics: {margin: 0.3, offer_cost: 0, offer_cost_per_response: 5000}\n").economics
    assert econ.offer_cost_per_response == 5000 and econ.offer_cost_per_contact == 0 and econ.missing() == []
    effect = plan.campaign_effect(CAMPAIGN)
    rows = plan.campaign_rows(_targets(), effect, margin=econ.margin, offer_cost=econ.offer_cost,
                              offer_cost_per_response=econ.offer_cost_per_response).set_index("segment")
    assert rows.loc["Lost", "cost"] == pytest.approx(8 * 150 + 8 * 0.0597 * 5000)


def test_display_words_the_builders_actions_in_the_report_language():
    from ecrm_lib.core.language import using

    out = plan.costed_plan(plan.campaign_rows(_targets(), plan.campaign_effect(CAMPAIGN), margin=0.3, offer_cost=300.0))
    with using("ko"):
        shown = plan.plan_display(out, "KRW")
    assert set(shown["조치"]) == {"선정한 대상 고객에게 캠페인 혜택 보내기"} and "그 밖의 세그먼트" in set(shown["대상"])
    assert set(shown["근거 수준"]) <= {"실행", "시험"}
    # rows another analysis hands in without a key keep their own words
    own = plan.costed_plan(pd.DataFrame({"action": ["profit-based targeting"], "segment": ["top decile"], "value": [1.0],
                                         "value_low": [1.0], "value_high": [1.0], "cost": [0.5]}))
    with using("ko"):
        assert plan.plan_display(own, "KRW")["조치"].tolist() == ["profit-based targeting"]


def test_campaign_effect_takes_the_campaign_assigned_last():
    """With two campaigns, the plan's effect is the latest campaign's best arm, not the larger uplift of an older one."""
    two = pd.DataFrame({"campaign_id": ["old", "old", "new", "new"], "is_control": [True, False, True, False],
                        "n": [1000, 1000, 1500, 1500], "rate": [0.03, 0.09, 0.03, 0.05],
                        "uplift": [np.nan, 0.06, np.nan, 0.02], "ci_low": [np.nan, 0.04, np.nan, 0.005],
                        "ci_high": [np.nan, 0.08, np.nan, 0.035], "revenue_per_account": [1000.0, 3000.0, 1000.0, 2000.0],
                        "assigned_last": [False, False, True, True]})
    effect = plan.campaign_effect(two)
    assert effect["uplift"] == 0.02 and effect["n"] == 1500
    assert plan.campaign_effect(two.drop(columns="assigned_last"))["uplift"] == 0.06  # a product from before the column

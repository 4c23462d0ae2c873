"""The library's own words on pages in the report language (issue 12): table notes, suppressed cells, actions,
plan rows, trend notes and the executive summary's figures read Korean under ``using("ko")`` and keep their
English wording under English."""

from __future__ import annotations

import re

import korean_text
import numpy as np
import pandas as pd

from ecrm_lib.core.language import using

# Data values and page names these tests show as they are (besides the kept abbreviations of korean_text)
DATA_WORDS = ("Lost", "About", "to", "Sleep", "phone", "app", "store", "web", "order", "status", "html", "feedback",
              "evaluation", "expansion", "churn", "channel_integration")


def hangul_share(text: str) -> float:
    return korean_text.hangul_share(text, DATA_WORDS)


def test_table_notes_and_suppressed_cells_in_korean():
    from ecrm_lib.report.display import show_table

    df = pd.DataFrame({"segment": [f"s{i}" for i in range(60)], "customers": [3] + [20] * 59, "value": np.arange(60.0) + 0.5})
    with using("ko"):
        ko = show_table(df, count_columns="customers").to_html()
    en = show_table(df, count_columns="customers").to_html()
    assert "전체 60행 중 처음 50행" in ko and "고객 5명 미만을 나타내는 칸은 비공개로 처리했습니다" in ko
    assert "비공개" in ko and "suppressed" not in ko and "first 50" not in ko
    assert "first 50 of 60 rows" in en and "fewer than 5 customers are suppressed" in en and "비공개" not in en


def test_counts_in_korean_prose_are_masked_and_missing_counts_read_not_available():
    from ecrm_lib.core.privacy import count_text, mask_people_counts

    assert mask_people_counts("고객 4명이 응답했고 고객 40명이 구매") == "고객 5명 미만이 응답했고 고객 40명이 구매"
    assert count_text(None) == "not available"
    with using("ko"):
        assert count_text(None) == "자료 없음"


METRICS = {"channel_integration": {"whatif_saving": 2_500_000.0}, "churn": {"top_decile_lift": 2.4},
           "feedback": {"response_uplift": 0.03, "response_uplift_ci_low": 0.01, "response_uplift_ci_high": 0.05, "nps": -3,
                        "loop_earlier_as_of": "2024-12-30"},
           "selection": {"n_targets": 250}, "customer_value": {"total_clv": 4e7},
           "evaluation": {"target_value_share": 0.41, "target_customer_share": 0.1, "target_net_value": -2e5},
           "expansion": {"expansion_n": 40, "expansion_value": 3e6, "lookalike_auc": 0.95, "expansion_contact_cost": 2e5}}
WEIGHTS = pd.DataFrame({"segment": ["Lost", "About to Sleep"], "action": ["down-weight", "remove"], "uplift": [-0.0116, -0.01],
                        "ci_low": [-0.0497, -0.065], "ci_high": [0.027, 0.047], "n_treatment": [247, 3], "n_control": [269, 100]})
WHATIF = {"whatif_purpose": "order_status", "whatif_from_channel": "phone", "whatif_to_channel": "app", "whatif_share": 0.3}


def _actions():
    from ecrm_lib.report import actions

    args = dict(currency="KRW", segment_weights=WEIGHTS, whatif=WHATIF)
    return actions.propose_actions(METRICS, max_actions=9, **args), actions.actions_to_test(METRICS, **args)


def test_actions_and_items_to_test_read_korean_under_korean():
    en_do, en_test = _actions()
    with using("ko"):
        ko_do, ko_test = _actions()
    assert ko_do["rule"].tolist() == en_do["rule"].tolist() and ko_test["rule"].tolist() == en_test["rule"].tolist()
    assert len(ko_do) == 6 and len(ko_test) == 2
    english = set()
    for frame, cols in ((en_do, ["action", "figure", "evidence", "bar", "money_basis"]),
                        (en_test, ["action", "figure", "why", "bar", "evidence"])):
        english |= {str(v) for c in cols for v in frame[c] if str(v)}
    for frame, cols in ((ko_do, ["action", "figure", "evidence", "bar", "money_basis"]),
                        (ko_test, ["action", "figure", "why", "bar", "evidence"])):
        for c in cols:
            for v in frame[c]:
                if not str(v):
                    continue
                assert str(v) not in english, f"{c}: English text on the Korean page: {v}"
                assert hangul_share(v) >= 0.8, f"{c}: {v}"
    # the figures themselves are the same, in Korean units
    assert "+3.0%p" in ko_do.loc[ko_do["rule"] == "campaign_works", "figure"].iloc[0]
    assert "250만 원" in ko_do.loc[ko_do["rule"] == "channel_shift", "figure"].iloc[0]
    assert "2024년 12월 30일" in ko_test["figure"].iloc[0] and "5명 미만" in " ".join(ko_test["figure"])
    # English keeps its wording
    assert en_do.loc[en_do["rule"] == "campaign_works", "action"].iloc[0] == "Keep running the campaign that beat its control group"
    assert en_test["action"].tolist() == ["Stop targeting segment(s) About to Sleep", "Target segment(s) Lost less"]


def _trend_table():
    from ecrm_lib.report import trends

    runs = [("2024-12-30", {"customer_value": {"top20_value_share": 0.648, "best_model": "mbgnbd", "top20_value_share_pareto": 0.699},
                            "churn": {"best_model": "logistic"}, "evaluation": {"target_value_share": 0.3}}),
            ("2025-06-30", {"customer_value": {"top20_value_share": 0.775, "best_model": "pareto", "top20_value_share_pareto": 0.775},
                            "churn": {"best_model": "gradient_boosting"}, "evaluation": {"target_value_share": 0.35}})]
    # the trend rows are collected once (in the kernel's language): the table and notes must still follow the display language
    rows = trends.collect_trends(runs, ["customer_value.top20_value_share", "evaluation.target_value_share"])
    labels = pd.DataFrame({"notebook": ["customer_value", "evaluation"], "key": ["top20_value_share", "target_value_share"],
                           "figure": ["상위 20 %", "대상 가치"], "unit": ["share 0-1", "share 0-1"]})
    return rows, labels


def test_trend_table_and_method_change_notes_read_korean_under_korean():
    from ecrm_lib.report import trends

    rows, labels = _trend_table()
    en = trends.trend_table(rows, labels)
    en_notes = trends.trend_notes(en)
    with using("ko"):
        ko = trends.trend_table(rows, labels)
        ko_notes = trends.trend_notes(ko)
    assert en["change"].tolist()[0] == "not computed: the method changed" and en_notes[0].startswith("\u201c상위 20 %\u201d: method changed")
    assert ko["basis"].tolist() == en["basis"].tolist() and len(ko_notes) == len(en_notes) == 4
    assert ko["change"].tolist() == ["계산하지 않음: 방법이 바뀜", "+7.6%p", "계산하지 않음: 방법이 바뀜"]
    assert "이탈 모형 로지스틱 회귀 -> 그래디언트 부스팅" in ko["method"].iloc[2]
    assert ko["earlier as of"].iloc[0] == "2024년 12월 30일"
    for cell in list(ko["method"]) + list(ko["change"]) + ko_notes:
        assert hangul_share(cell) >= 0.8 or cell == "+7.6%p", cell
        assert cell not in set(en["method"]) | set(en_notes)


def test_plan_rows_and_report_status_read_korean_under_korean():
    from types import SimpleNamespace as NS

    from ecrm_lib.report import plan, summary

    whatif = {"whatif_purpose": "order_status", "whatif_from_channel": "phone", "whatif_to_channel": "app", "whatif_share": 0.3}
    en_row = plan.channel_shift_row(2_400_000, whatif)
    with using("ko"):
        ko_row = plan.channel_shift_row(2_400_000, whatif)
        shown = plan.plan_display(plan.costed_plan(ko_row), "KRW")
        missing = plan.missing_economics_text(["margin", "offer_cost"])
        specs = [NS(name="churn", title="Churn", required_inputs=["transactions"], upstream=[]),
                 NS(name="expansion", title="Expansion", required_inputs=[], upstream=["churn"])]

        class Reg(list):
            def get(self, name):
                return next(x for x in self if x.name == name)

        reg = Reg(specs)
        status = summary.report_status(reg, [], lambda table: False)
    assert en_row.loc[0, "segment"] == ko_row.loc[0, "segment"] == "order_status"  # the product keeps the code
    cells = [str(v) for v in shown.iloc[0]] + list(shown.columns) + [missing] + list(status.values())
    assert "연락을 더 싼 채널로 옮기기" in cells and "phone 채널의 order status 연락 중 30%" in cells
    for cell in cells:
        assert not re.search(r"\b(of|by|to|the|and|not)\b", cell), cell
    assert hangul_share(" ".join(cells)) >= 0.8

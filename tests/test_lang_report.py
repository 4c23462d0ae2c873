"""The library's own words on pages in the report language (issue 12): table notes, suppressed cells, actions,
plan rows, trend notes and the executive summary's figures read Korean under ``using("ko")`` and keep their
English wording under English."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ecrm_lib.core.language import using

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")
# Latin words a Korean report keeps: method names, abbreviations, page file names and data values of these tests
KEPT = re.compile(r"\b(CLV|P\(alive\)|AUC|ROC|NPS|RFM|KRW|BG/NBD|MBG/NBD|Pareto/NBD|NBD|Gini|Lost|About|to|Sleep|"
                  r"phone|app|store|web|order|status|html|feedback|evaluation|expansion|churn|channel_integration)\b")


def hangul_share(text: str) -> float:
    text = KEPT.sub(" ", str(text))
    h, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    return h / (h + latin) if h + latin else 0.0


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

"""Display helpers escape data and keep personal data out of reports."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm_lib.report import format_number, md, scrub_pii, show_table

HOSTILE = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', "[x](javascript:alert(3))"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail Kim.Minjun@Example.co.kr now", "mail [email] now"),
        ("call 010-1234-5678", "call [phone]"),
        ("+82 10 1234 5678.", "[phone]."),
        ("(02) 345-6789", "[phone]"),
        ("order 12345 shipped", "order 12345 shipped"),
        ("2025-06-30", "2025-06-30"),
        ("at 2025-06-30 14:22:01 via 1588-1234", "at 2025-06-30 14:22:01 via [phone]"),
        ("call 1588-1234-5", "call [phone]"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_scrub_pii(text, expected):
    assert scrub_pii(text) == expected


def test_show_table_escapes_cells_index_columns_and_caption():
    df = pd.DataFrame({HOSTILE[0]: [HOSTILE[1], "ok"], "n": [1, 2]}, index=[HOSTILE[1], "b"])
    html = show_table(df, caption=HOSTILE[0]).to_html()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_show_table_masks_pii_in_text_and_refuses_pii_columns():
    html = show_table(pd.DataFrame({"text": ["write to a@b.com or 010 9999 8888"]})).to_html()
    assert "a@b.com" not in html and "9999" not in html
    with pytest.raises(ValueError, match="personal-data"):
        show_table(pd.DataFrame({"Email": ["a@b.com"]}))


def test_show_table_cuts_rows_and_says_so():
    html = show_table(pd.DataFrame({"n": range(100)}), caption="c", max_rows=10).to_html()
    assert "first 10 of 100 rows" in html


def test_md_escapes_values_not_template():
    out = md("**{a}** and {b} and {n:,}", a=HOSTILE[0], b=HOSTILE[2], n=1234567).data
    assert out.startswith("**") and "1,234,567" in out
    assert "<script>" not in out and "](javascript" not in out


def test_format_number():
    assert format_number(1234.6, "KRW") == "1,235 KRW"
    assert format_number(0.123, "%", 1) == "12.3%"
    assert format_number(None) == "n/a"


def test_show_table_hides_a_plain_range_index_and_rounds_money():
    html = show_table(pd.DataFrame({"revenue": [1234567.891]}), money_columns=("revenue",)).to_html()
    assert "1,234,568" in html and "row_heading" not in html
    labelled = show_table(pd.DataFrame({"n": [1]}, index=["store"])).to_html()
    assert "row_heading" in labelled


def test_known_names_are_masked_and_personal_columns_recognised():
    from ecrm_lib.report import name_pattern, personal_columns

    pat = name_pattern(["김 민준", "Kim Minjun", None, "A"])
    assert scrub_pii("김민준 called; kim minjun wrote a@b.com", names=pat) == "[name] called; [name] wrote [email]"
    assert scrub_pii("Kimberly is fine", names=pat) == "Kimberly is fine"
    assert name_pattern([None, "A"]) is None
    assert personal_columns(["customer_id", "Customer Name", "email_address", "E-mail", "mobile", "PhoneService",
                             "channel_name", "Division Name"]) == ["Customer Name", "email_address", "E-mail", "mobile"]
    with pytest.raises(ValueError, match="personal-data"):
        show_table(pd.DataFrame({"customer_name": ["x"]}))


def test_show_table_masks_categorical_index_and_caption_and_escapes_objects():
    df = pd.DataFrame({"n": [1], "obj": [("<b>", 1)]}, index=pd.CategoricalIndex(["a@b.com"]))
    html = show_table(df, caption="from kim@x.org").to_html()
    assert "a@b.com" not in html and "kim@x.org" not in html and "<b>" not in html

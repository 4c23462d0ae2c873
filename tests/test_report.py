"""Display helpers escape data and keep personal data out of reports."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm_lib.core.format import format_number
from ecrm_lib.core.privacy import scrub_pii
from ecrm_lib.report.display import md, show_table

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
    from ecrm_lib.core.privacy import name_pattern, personal_columns

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


# ------------------------------------------------------------------ small-cell suppression
def test_suppress_small_cells():
    from ecrm_lib.core.privacy import suppress_small_cells

    t = pd.DataFrame({"segment": ["a", "b", "c"], "n_t": [4, 5, 50], "n_c": [50, 50, 3], "rate": [0.5, 0.2, 0.1]})
    out = suppress_small_cells(t, ["n_t", "n_c"], min_count=5)
    assert out["suppressed"].tolist() == [True, False, True]
    assert out.loc[[0, 2], ["n_t", "n_c", "rate"]].isna().all().all()
    assert out.loc[1, "rate"] == 0.2 and out.loc[1, "n_t"] == 5
    assert out["segment"].tolist() == ["a", "b", "c"]   # labels stay
    with pytest.raises(KeyError, match="not in the table"):
        suppress_small_cells(t, "customers")


def _cells(html: str) -> list[str]:
    import re

    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)]


def test_show_table_suppresses_rows_below_min_cell_and_hides_every_value():
    t = pd.DataFrame({
        "segment": ["tiny", "five", "big"],
        "customers": [4, 5, 1234],
        "mean_clv": [987654.0, 222333.0, 111222.0],
        "share": [0.4321, 0.25, 0.5],
        "churners": [3, 1, 99],
        "internet_only": [True, False, True],
        "first_seen": pd.to_datetime(["2021-03-17", "2022-01-01", "2023-01-01"]),
    })
    html = show_table(t, caption="by segment", count_columns="customers", money_columns=("mean_clv",),
                      percent_columns=("share",)).to_html()
    cells = _cells(html)
    tiny = cells[:7]
    assert tiny == ["tiny", "&lt;5", "suppressed", "suppressed", "suppressed", "suppressed", "suppressed"]
    # no real figure of the 4-customer row appears anywhere
    for leak in ("987,654", "987654", "43.2%", "2021-03-17"):
        assert leak not in html
    five = cells[7:14]
    assert five[:5] == ["five", "5", "222,333", "25.0%", "1"]   # 5 customers: shown
    assert "1,234" in html and "fewer than 5 customers are suppressed" in html and "by segment" in html


def test_show_table_count_options():
    t = pd.DataFrame({"channel": ["a", "b"], "n_treatment": [50, 80], "n_control": [2, 60], "uplift": [0.3, 0.01]})
    html = show_table(t, count_columns=["n_treatment", "n_control"], min_cell=10).to_html()
    assert _cells(html)[:4] == ["a", "&lt;10", "&lt;10", "suppressed"] and "0.30" not in html
    # nothing small: the table and caption are as without suppression
    plain = show_table(t.iloc[1:], count_columns="n_control").to_html()
    assert "suppressed" not in plain and "60" in plain
    # rows already blanked by suppress_small_cells are marked too; its flag column is not shown
    from ecrm_lib.core.privacy import suppress_small_cells

    pre = suppress_small_cells(t, ["n_treatment", "n_control"])
    html = show_table(pre, count_columns="n_control").to_html()
    assert _cells(html)[:4] == ["a", "suppressed", "&lt;5", "suppressed"] and ">suppressed<" not in html.split("<tbody>")[0]
    # only the first rows shown count; the caption keeps the row note
    many = pd.DataFrame({"g": list("abcdef"), "n": [10, 10, 10, 10, 10, 1]})
    assert "suppressed" not in show_table(many, count_columns="n", max_rows=3).to_html()
    with pytest.raises(KeyError, match="customers"):
        show_table(t, count_columns="customers")


def test_scrub_pii_keeps_a_date_after_a_bracket_and_masks_a_bracketed_phone():
    from ecrm_lib.core.privacy import scrub_pii

    assert scrub_pii("from (2024-07-01 to 2025-06-30)") == "from (2024-07-01 to 2025-06-30)"
    assert scrub_pii("call (02) 1234-5678") == "call [phone]"

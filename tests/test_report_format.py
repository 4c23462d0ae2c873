"""One formatting layer for every page's tables (issue 15, formatted for a reader): counts as integers,
no scientific notation, human column labels, yes/no instead of True/False, numbers right-aligned and
text left-aligned."""

from __future__ import annotations

import re

import pandas as pd
from bs4 import BeautifulSoup

from ecrm_lib.core.format import format_decimal, format_money, format_relative_change, human_label
from ecrm_lib.core.language import using
from ecrm_lib.report.display import show_table


def _table(styler):
    html = styler.to_html()
    soup = BeautifulSoup(html, "html.parser")
    heads = [th.get_text(strip=True) for th in soup.select("thead th.col_heading")]
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in soup.select("tbody tr")]
    css = soup.style.get_text() if soup.style else ""
    return heads, rows, css


def _aligned(css: str, col: int, side: str) -> bool:
    """The cells of column ``col`` carry text-align ``side`` in the Styler's CSS."""
    for rule in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        sel, props = rule
        if f"text-align: {side}" in props and re.search(rf"_col{col}\b", sel):
            return True
    return False


def test_counts_labels_booleans_and_alignment():
    t = pd.DataFrame({"segment": ["Champions", "Lost"], "n_customers": [40, 7], "mean_clv": [123456.789, 0.0000042],
                      "purchases": [3.0, 12.0], "internet_only": [True, False], "revenue_text": ["1.2 million KRW", "-36.1%"]})
    heads, rows, css = _table(show_table(t))
    assert heads == ["Segment", "Customers", "Mean CLV", "Purchases", "Internet only", "Revenue text"]
    assert not any("_" in h for h in heads)
    assert rows[0] == ["Champions", "40", "123,456.79", "3", "yes", "1.2 million KRW"]
    assert rows[1][2] == "0.0000042" and "e-" not in "".join(sum(rows, []))   # no scientific notation
    assert rows[1][4] == "no" and "True" not in str(rows) and "False" not in str(rows)
    for col in (1, 2, 3, 5):
        assert _aligned(css, col, "right"), col
    for col in (0, 4):
        assert _aligned(css, col, "left"), col
    with using("ko"):
        assert _table(show_table(t))[1][0][4] == "예"
    # the other options keep naming the original columns; labels=False keeps the names
    heads, rows, _ = _table(show_table(t, percent_columns=("mean_clv",), labels=False))
    assert heads[2] == "mean_clv" and rows[0][2] == "12345678.9%".replace("12345678.9", "12,345,678.9")


def test_cell_and_money_formats():
    assert format_decimal(1e-9) == "0.0000000010" and format_decimal(12345.678) == "12,345.68"
    assert format_money(0, "KRW") == "0 KRW" and format_money(204_800_000, "KRW") == "204.8 million KRW"
    assert format_relative_change(-0.361) == "-36.1%" and format_relative_change(0) == "+0.0%"
    assert human_label("share_set_aside") == "Share set aside" and human_label("Already Words") == "Already Words"

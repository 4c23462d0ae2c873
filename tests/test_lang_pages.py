"""The executive summary and evaluation pages in Korean on the shared suite run (issue 12): at least 80 % Hangul
among the visible prose letters, and none of the English sentences the library builds (actions, items to test,
plan rows, trend notes, table notes) left on the Korean page."""

from __future__ import annotations

import html as htmllib
import re
import string
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from korean_text import LATIN, hangul_share, visible_prose

from ecrm_lib.core.i18n import catalogue

# Words of the config these pages show as they are (besides the kept abbreviations of korean_text).
PAGE_WORDS = ("what-if", "economics", "margin", "offer_cost")
LIBRARY_AREAS = ("actions.", "trends.", "plan.", "summary.", "common.")


def hangul_share_of_prose(page: str) -> float:
    return hangul_share(" ".join(visible_prose(page)), PAGE_WORDS)


def english_fragments(min_len: int = 18) -> set[str]:
    """The literal parts (between placeholders) of the English library messages, long enough to be a sentence's."""
    out = set()
    for key, template in catalogue("en").items():
        if not key.startswith(LIBRARY_AREAS):
            continue
        for literal, *_ in string.Formatter().parse(template):
            literal = literal.strip(" ;:,.()")
            if len(literal) >= min_len and LATIN.search(literal) and " " in literal:
                out.add(literal)
    return out


def english_left(page: str) -> list[str]:
    text = htmllib.unescape(BeautifulSoup(page, "html.parser").get_text(" "))
    text = re.sub(r"\s+", " ", text)
    return sorted(f for f in english_fragments() if f in text)


def check_korean_page(path: Path) -> None:
    page = path.read_text(encoding="utf-8")
    share = hangul_share_of_prose(page)
    assert share >= 0.80, f"{path.name}: only {share:.0%} of the visible prose letters on the Korean page are Hangul"
    left = english_left(page)
    assert not left, f"{path.name}: English library sentences on the Korean page: {left[:5]}"


def test_english_fragments_are_found_on_an_english_page():
    """The check can fail: an English library sentence in a page is found."""
    # one that holds no other fragment (the first of a set depends on the process's string hashing: a fragment
    # such as "predicted value (CLV) for a contact cost of" also holds "predicted value (CLV")
    frags = english_fragments()
    frag = next(f for f in sorted(frags) if not any(g != f and g in f for g in frags))
    assert english_left(f"<p>Some text, {frag}, more.</p>") == [frag]
    assert english_left("<p>한국어 문장입니다.</p>") == []


@pytest.mark.parametrize("name", ["executive_summary", "evaluation"])
def test_korean_page_has_no_english_library_sentence(suite_runs, name):
    check_korean_page(Path(suite_runs.latest.run_dir) / "ko" / f"{name}.html")


def test_korean_evaluation_page_names_the_profile_measures_in_korean(suite_runs):
    """The profile table's measures and the sentence naming the clear differences are worded (not column names)."""
    page = (Path(suite_runs.latest.run_dir) / "ko" / "evaluation.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", htmllib.unescape(BeautifulSoup(page, "html.parser").get_text(" ")))
    assert "(d = " in text, "the profile sentence is missing from the Korean evaluation page"
    assert not re.search(r"\b[a-z]+_[a-z_]+ \(d = ", text), re.findall(r"\b[a-z]+_[a-z_]+ \(d = ", text)[:5]
    cells = {td.get_text(strip=True) for td in BeautifulSoup(page, "html.parser").find_all("td")}
    assert not cells & {"f_score", "monetary_value", "churn_probability", "p_alive", "n_contacts"}

"""The churn page in Korean (issue 12) and formatted for a reader (issue 15): on the shared suite run
(``suite_runs``) the Korean page reads as Korean with no English sentence, the model that gives P(alive) is named on
both pages, method detail sits in the appendix at the end and sections that do not apply are one line; plus fast
checks that the notebook words everything through the catalogue."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup
from korean_text import KEPT_WORDS, hangul_share, visible_prose, without

from ecrm_lib.core.i18n import catalogue
from ecrm_lib.core.paths import NOTEBOOKS_DIR

NAME = "churn"
NOTEBOOK = NOTEBOOKS_DIR / "30_churn.ipynb"
# Latin words this page keeps besides korean_text's: method names, the product's and the data set's names
PAGE_WORDS = ("Brier score", "Platt", "isotonic regression", "churn_risk", "default")


def _code_cells():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_notebook_words_everything_through_the_catalogue():
    code = "\n".join(_code_cells())
    assert "md(" not in code and "display(" not in code and "show_table(" not in code and "plt.show" not in code
    assert not re.search(r"if [^\n]*language", code)  # no branch on the report language
    keys = set(re.findall(r"""(?:say|show)\(\s*"([a-z_]+\.[a-z_.]+)""", code))
    keys |= set(re.findall(r"""(?:caption|i18n\.t)\(?=?\s*(?:f?)"(churn\.[a-z_.]+)""", code))
    assert len(keys) > 30
    for lang in ("en", "ko"):
        missing = {k for k in keys if k not in catalogue(lang)}
        assert not missing, (lang, missing)


@pytest.fixture(scope="module")
def pages(suite_runs):
    run_dir = suite_runs.latest.run_dir
    return (run_dir / "ko" / f"{NAME}.html").read_text(encoding="utf-8"), (run_dir / f"{NAME}.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_korean_page_reads_as_korean_without_an_english_sentence(pages, suite_runs):
    ko, _ = pages
    prose = [without(p, [*KEPT_WORDS, *PAGE_WORDS]) for p in visible_prose(ko)]
    text = " ".join(prose)
    share = hangul_share(text)
    assert share >= 0.80, f"only {share:.0%} of the visible prose letters on the Korean page are Hangul"
    english = [p for p in prose if re.search(r"[A-Za-z]{2,}[\s,;:]+[A-Za-z]{2,}[\s,;:]+[A-Za-z]{2,}", p)]
    assert not english, english[:3]
    assert "**" not in text  # Markdown emphasis rendered, not shown (Korean particles after a figure)


@pytest.mark.slow
def test_both_pages_name_the_purchase_model_and_end_with_the_appendix(pages, suite_runs):
    ko, en = pages
    chosen = suite_runs.view()["metrics"]("customer_value")["best_model"]
    label = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD"}[chosen]
    for html, said in ((en, "the purchase model the Customer value report chose"), (ko, "고객 가치 보고서가 고른 구매 모형")):
        soup = BeautifulSoup(html, "html.parser")
        text = soup.get_text(" ", strip=True)
        assert said in text and label in text
        heads = [h.get_text(" ", strip=True).removesuffix("¶").strip() for h in soup.find_all("h2")]
        assert heads[-1].startswith(("Appendix", "부록")), heads
    # the generated data has no contract customers: one line, no heading
    en_heads = [h.get_text(" ", strip=True) for h in BeautifulSoup(en, "html.parser").find_all(["h2", "h3"])]
    assert not any("Contract" in h for h in en_heads)
    assert "Contract churn: not analysed, because this data set has no customers table" in BeautifulSoup(en, "html.parser").get_text(" ", strip=True)

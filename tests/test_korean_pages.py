"""Every page in Korean on the shared two-run suite execution (issue 12 item 6): a Korean strategy reader meets
Korean prose, not English sentences. The shared run (``suite_runs`` in conftest) renders English pages in the run
folder and Korean pages in its ``ko/`` subfolder."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from ecrm_lib.run.registry import load_registry
from ecrm_lib.core.paths import NOTEBOOKS_DIR

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
LATIN = re.compile(r"[A-Za-z]")
# Words that stay Latin on a Korean page: method names and abbreviations a Korean report writes in Latin letters.
KEPT = re.compile(r"(?<![A-Za-z])(CLV|P\(alive\)|AUC|NPS|RFM|KRW|USD|BG/NBD|MBG/NBD|Pareto/NBD|Gamma-Gamma|NBD|Qini|Gini|"
                  r"k-means|ROI|SEEF|CI|ID|id|vs|d|n|k|p|e-mail|SMS|app|web)(?![A-Za-z])")


def visible_prose(html: str) -> str:
    """The page's prose a reader sees: headings, paragraphs, list items, captions and table headers, without code,
    scripts, styles, figures and table cells (data values), nor the language links."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "code", "pre", "td", "svg", "img", "nav"]):
        tag.decompose()
    parts = [el.get_text(" ", strip=True) for el in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "caption", "th"])]
    return " ".join(parts)


def hangul_share(text: str) -> float:
    """Hangul letters among the Hangul and Latin letters of ``text``, Latin words a Korean report keeps left out.

    >>> round(hangul_share("고객 가치 CLV 보고서"), 2), round(hangul_share("Customer value"), 2)
    (1.0, 0.0)
    """
    text = KEPT.sub(" ", text)
    h, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    return h / (h + latin) if h + latin else 0.0


@pytest.mark.parametrize("name", [spec.name for spec in load_registry(NOTEBOOKS_DIR / "registry.yaml").notebooks])
def test_korean_page_reads_as_korean(suite_runs, name):
    run_dir = suite_runs.latest.run_dir
    ko = run_dir / "ko" / f"{name}.html"
    assert ko.exists(), f"no Korean page {ko}"
    share = hangul_share(visible_prose(ko.read_text(encoding="utf-8")))
    assert share >= 0.80, f"{name}: only {share:.0%} of the visible prose letters on the Korean page are Hangul"
    # Markdown does not close emphasis between punctuation and a Hangul letter ("**30%**를"): the stars would show
    prose = visible_prose(ko.read_text(encoding="utf-8"))
    assert "**" not in prose, f"{name}: unclosed emphasis on the Korean page: {prose[max(0, prose.find('**') - 60):][:120]!r}"
    english = visible_prose((run_dir / f"{name}.html").read_text(encoding="utf-8"))
    assert hangul_share(english) < 0.2, f"{name}: the English page reads as Korean"


def test_index_links_both_languages(suite_runs):
    run_dir = suite_runs.latest.run_dir
    assert (run_dir / "ko" / "index.html").exists() or "ko/" in (run_dir / "index.html").read_text(encoding="utf-8")
    assert "ko/" in (run_dir / "index.html").read_text(encoding="utf-8")

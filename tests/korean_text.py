"""How the tests measure that a Korean page or text reads as Korean (issue 12): one definition for every test.

Not a test file: test modules import it (``from korean_text import hangul_share, visible_prose``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bs4 import BeautifulSoup

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
LATIN = re.compile(r"[A-Za-z]")
#: Latin words a Korean report keeps as they are: method names, measures and abbreviations.
KEPT_WORDS = ("CLV", "P(alive)", "AUC", "ROC-AUC", "PR-AUC", "ROC", "NPS", "RFM", "KRW", "USD", "EUR", "BG/NBD",
              "MBG/NBD", "Pareto/NBD", "Gamma-Gamma", "NBD", "Qini", "Gini", "k-means", "ROI", "SEEF", "CI", "ID", "id",
              "vs", "d", "n", "k", "p", "e-mail", "SMS", "app", "web", "F1")


def visible_prose(html: str) -> list[str]:
    """The prose a reader sees on a page: headings, paragraphs, list items, captions and table headers, without
    code, scripts, styles, figures, table cells (data values) and the language links."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "code", "pre", "td", "svg", "img", "nav"]):
        tag.decompose()
    return [el.get_text(" ", strip=True) for el in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "caption", "th"])]


def without(text: str, words: Iterable[str]) -> str:
    """``text`` with each of ``words`` (whole words; longest first) replaced by a space.

    >>> without("P(alive) 평균 0.61, web 채널", KEPT_WORDS)
    '  평균 0.61,   채널'
    """
    for w in sorted(set(words), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", " ", text)
    return text


def hangul_share(text: str, kept: Iterable[str] = ()) -> float:
    """Hangul letters among the Hangul and Latin letters of ``text``, leaving out :data:`KEPT_WORDS` and ``kept``
    (a page's data values, such as channel names); 0 when it has no letters.

    >>> round(hangul_share("고객 가치 CLV 보고서"), 2), hangul_share("Customer value"), hangul_share("store 매장", ["store"])
    (1.0, 0.0, 1.0)
    """
    text = without(str(text), [*KEPT_WORDS, *kept])
    h, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    return h / (h + latin) if h + latin else 0.0

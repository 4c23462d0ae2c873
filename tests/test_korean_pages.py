"""Every page in Korean on the shared two-run suite execution (issue 12 item 6): a Korean strategy reader meets
Korean prose, not English sentences. The shared run (``suite_runs`` in conftest) renders English pages in the run
folder and Korean pages in its ``ko/`` subfolder."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from korean_text import HANGUL, KEPT_WORDS, LATIN, hangul_share, visible_prose, without

from ecrm_lib.core.i18n import catalogue
from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.core.schema import TABLE_ORDER
from ecrm_lib.run.registry import load_registry

@pytest.mark.parametrize("name", [spec.name for spec in load_registry(NOTEBOOKS_DIR / "registry.yaml").notebooks])
def test_korean_page_reads_as_korean(suite_runs, name):
    run_dir = suite_runs.latest.run_dir
    ko = run_dir / "ko" / f"{name}.html"
    assert ko.exists(), f"no Korean page {ko}"
    prose = " ".join(visible_prose(ko.read_text(encoding="utf-8")))
    share = hangul_share(prose)
    assert share >= 0.80, f"{name}: only {share:.0%} of the visible prose letters on the Korean page are Hangul"
    # Markdown does not close emphasis between punctuation and a Hangul letter ("**30%**를"): the stars would show
    assert "**" not in prose, f"{name}: unclosed emphasis on the Korean page: {prose[max(0, prose.find('**') - 60):][:120]!r}"
    english = " ".join(visible_prose((run_dir / f"{name}.html").read_text(encoding="utf-8")))
    assert hangul_share(english) < 0.2, f"{name}: the English page reads as Korean"


def test_index_links_both_languages(suite_runs):
    run_dir = suite_runs.latest.run_dir
    assert (run_dir / "ko" / "index.html").exists() or "ko/" in (run_dir / "index.html").read_text(encoding="utf-8")
    assert "ko/" in (run_dir / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------- leaks a Hangul share can miss (issue 12)
# A page can be 80 % Hangul and still show an English table header (a column the catalogue has no `columns.<name>`
# for falls back to its English words), a code of the suite's own vocabulary in a cell ("non-targets", "two_model"),
# or an English catalogue sentence (a library message built in English). These tests look for each, on the Korean
# pages of both runs of the shared execution.
#: table headers a Korean page keeps in Latin letters besides korean_text's kept words (the number of clusters, a z score)
HEADER_WORDS = ("K", "z")
#: catalogue areas whose last key segment is a code the suite shows in words (a cell showing the code is a leak)
CODE_AREAS = ("feedback.loop_status.", "feedback.loop_group.", "feedback.loop_outcome.", "feedback.loop_feature.",
              "feedback.methods.", "feedback.weight_reason.", "fit.status.", "fit.start.", "selection.feedback_action.",
              "evaluation.feature.", "channel_integration.lib.stop_rule.")
#: codes other areas still show (reported to their owners): page -> codes
KNOWN_CODES = {
    "selection": {"targets"},              # the products table names the product file selection/targets (an identifier)
}


def _korean_pages(suite_runs, which: str):
    run_dir = getattr(suite_runs, which).run_dir
    pages = sorted((run_dir / "ko").glob("*.html"))
    assert pages, f"no Korean pages in {run_dir / 'ko'}"
    return [(p.stem, BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")) for p in pages]


def _codes() -> dict[str, str]:
    out = {}
    for key in catalogue("en"):
        for area in CODE_AREAS:
            if key.startswith(area):
                code = key[len(area):]
                out[code] = out[code.replace("_", "-")] = key
    return out


def _english_fragments() -> dict[str, str]:
    """Literal stretches of English catalogue messages (between placeholders and Markdown marks) of at least four
    words and 24 characters, from messages whose Korean text differs: none may appear on a Korean page."""
    en, ko = catalogue("en"), catalogue("ko")
    out = {}
    for key, text in en.items():
        if text == ko.get(key):
            continue
        for part in re.split(r"[\0*_`#\n]", re.sub(r"\{[^}]*\}", "\0", text)):
            part = part.strip(" .,:;()")
            if len(part) >= 24 and len(part.split()) >= 4:
                out.setdefault(part, key)
    return out


@pytest.mark.parametrize("which", ["latest", "earlier"])
def test_korean_table_headers_are_korean(suite_runs, which):
    """Every column header of a Korean page is in Korean (or a kept term such as CLV, ROC-AUC): a suite column without
    its `columns.<name>` message in the catalogue would show its English name here."""
    bad = []
    for name, soup in _korean_pages(suite_runs, which):
        for th in soup.select("thead th"):
            text = th.get_text(" ", strip=True)
            if text and not HANGUL.search(text) and LATIN.search(without(text, [*KEPT_WORDS, *HEADER_WORDS])):
                bad.append((name, text))
    assert not bad, bad


@pytest.mark.parametrize("which", ["latest", "earlier"])
def test_no_code_of_the_suite_in_a_korean_table(suite_runs, which):
    """No table cell or row label of a Korean page is a code the catalogue words for display (identity statuses, the
    loop's groups, outcomes and features, weight actions and reasons, fit statuses, model features)."""
    codes, bad = _codes(), []
    for name, soup in _korean_pages(suite_runs, which):
        for cell in soup.select("td, tbody th"):
            text = cell.get_text(" ", strip=True)
            if text in codes and text not in KNOWN_CODES.get(name, ()):
                bad.append((name, text, codes[text]))
    assert not bad, sorted(set(bad))


@pytest.mark.parametrize("which", ["latest", "earlier"])
def test_no_english_catalogue_sentence_on_a_korean_page(suite_runs, which):
    """No stretch of an English message (four words or more) appears on a Korean page: a sentence built in English by
    the library, or a message said in the wrong language, would."""
    fragments, bad = _english_fragments(), []
    for name, soup in _korean_pages(suite_runs, which):
        for tag in soup(["script", "style", "svg", "img", "nav", "code", "pre"]):
            tag.decompose()
        text = soup.get_text(" ", strip=True)
        bad += [(name, fragment, key) for fragment, key in fragments.items() if fragment in text]
    assert not bad, bad


def _table_names_shown(soup) -> list[str]:
    """Cells of every column headed like ``columns.table`` (Korean) that name a canonical table as the engine does."""
    header, out = catalogue("ko")["columns.table"], []
    for table in soup.find_all("table"):
        heads = [th.get_text(" ", strip=True) for th in table.select("thead th")]
        if header not in heads:
            continue
        i = heads.index(header)
        for tr in table.select("tbody tr"):
            cells = tr.find_all(["th", "td"])
            if i < len(cells) and cells[i].get_text(" ", strip=True) in TABLE_ORDER:
                out.append(cells[i].get_text(" ", strip=True))
    return out


@pytest.mark.parametrize("which", ["latest", "earlier"])
def test_suite_table_names_are_worded_on_korean_pages(suite_runs, which):
    """A column headed "테이블" names the suite's tables in words (data_overview.table.*: 계정, 거래), not as the engine
    calls them ("accounts", "transactions"); a source's own name (the config's) may still read like one."""
    bad = [(name, cell) for name, soup in _korean_pages(suite_runs, which) for cell in _table_names_shown(soup)]
    assert not bad, sorted(set(bad))


def test_the_leak_checks_catch_what_they_look_for():
    """The checks above fail on a page with an English header, a code in a cell, an English sentence or a table name."""
    html = ("<table><thead><tr><th>Campaigns</th><th>고객 수</th><th>CLV</th></tr></thead>"
            "<tbody><tr><th>non-targets</th><td>two_model</td><td>store</td></tr></tbody></table>"
            f"<p>{catalogue('en')['churn.problem_no_transactions']}</p>")
    soup = BeautifulSoup(html, "html.parser")
    headers = [th.get_text() for th in soup.select("thead th")
               if not HANGUL.search(th.get_text()) and LATIN.search(without(th.get_text(), [*KEPT_WORDS, *HEADER_WORDS]))]
    assert headers == ["Campaigns"]
    assert [c.get_text() for c in soup.select("td, tbody th") if c.get_text() in _codes()] == ["non-targets", "two_model"]
    assert any(f in soup.get_text(" ") for f in _english_fragments())
    tables = BeautifulSoup("<table><thead><tr><th>원천</th><th>테이블</th></tr></thead><tbody><tr><td>transactions</td>"
                           "<td>transactions</td></tr><tr><td>accounts</td><td>계정</td></tr></tbody></table>", "html.parser")
    assert _table_names_shown(tables) == ["transactions"]


def _group_lists(text: str) -> list[str]:
    """The group lists of every channel_groups.all_grouped sentence (Korean) in ``text``."""
    before, after = catalogue("ko")["channel_groups.all_grouped"].split("{groups}")
    return re.findall(re.escape(before) + r"(.*?)" + re.escape(after), text)


@pytest.mark.parametrize("which", ["latest", "earlier"])
def test_channel_groups_are_worded_on_korean_pages(suite_runs, which):
    """The sentence listing the channel groups (data overview, channel integration) names the suite's groups in
    Korean (인터넷, 전통 채널), not by their codes ("internet, traditional")."""
    from ecrm_lib.channels.common import SUITE_GROUPS

    lists = [(name, groups) for name, soup in _korean_pages(suite_runs, which)
             for groups in _group_lists(soup.get_text(" ", strip=True))]
    assert lists, "no Korean page lists the channel groups"
    bad = [(name, groups) for name, groups in lists if set(groups.split(", ")) & SUITE_GROUPS]
    assert not bad, bad
    assert _group_lists(catalogue("ko")["channel_groups.all_grouped"].format(groups="internet, traditional")) == ["internet, traditional"]

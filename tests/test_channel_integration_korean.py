"""The channel-integration page in Korean (issue 12) and formatted for a reader (issue 15): on the shared suite run
(``suite_runs``) the Korean page reads as Korean, no English sentence is left, method detail sits in the appendix at
the end, and sections that do not apply are one line; plus fast checks of the notebook and its messages."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from korean_text import HANGUL, KEPT_WORDS, hangul_share, visible_prose, without

from ecrm_lib.core.i18n import catalogue
from ecrm_lib.core.paths import NOTEBOOKS_DIR

NAME = "channel_integration"
NOTEBOOK = NOTEBOOKS_DIR / "10_channel_integration.ipynb"
# Latin words this page keeps besides korean_text's: the method, data sets and the config's own names
PAGE_WORDS = ("iFood", "Olist", "Splink", "internet", "traditional", "noemail", "identity", "Asia/Seoul", "default")


def _data_values(data_dir) -> set[str]:
    """Values from the data that a page shows as they are (channel names, contact purposes, the data set's name)."""
    values = set()
    for table, columns in (("accounts", ("channel",)), ("transactions", ("channel",)), ("contacts", ("channel", "purpose"))):
        path = data_dir / f"{table}.csv"
        if path.exists():
            head = pd.read_csv(path, dtype=str, nrows=0).columns
            frame = pd.read_csv(path, dtype=str, usecols=[c for c in columns if c in head])
            values |= {v for c in frame.columns for v in frame[c].dropna().unique()}
    return values


def _strip(text: str, values: set[str]) -> str:
    return without(text, [*values, *KEPT_WORDS, *PAGE_WORDS])


@pytest.fixture(scope="module")
def pages(suite_runs, tmp_path_factory):
    """(Korean page, English page) of the shared run; the Korean page rendered from the executed notebook when the run
    published none (a run with Korean outputs in its executed notebook)."""
    run_dir = suite_runs.latest.run_dir
    ko = run_dir / "ko" / f"{NAME}.html"
    if not ko.exists():
        from ecrm_lib.report.render import render_html

        ko = render_html(run_dir / "executed" / f"{NAME}.ipynb", tmp_path_factory.mktemp("ko") / f"{NAME}.html", "채널 통합", lang="ko")
    return ko.read_text(encoding="utf-8"), (run_dir / f"{NAME}.html").read_text(encoding="utf-8")



@pytest.mark.slow
def test_korean_page_reads_as_korean_without_an_english_sentence(pages, suite_runs):
    ko, en = pages
    values = _data_values(suite_runs.config.parent)
    prose = [_strip(p, values) for p in visible_prose(ko)]
    share = hangul_share(" ".join(prose))
    assert share >= 0.80, f"only {share:.0%} of the visible prose letters on the Korean page are Hangul"
    # no English sentence: no run of three Latin words (numbers, data values and kept abbreviations stripped)
    english = [p for p in prose if re.search(r"[A-Za-z]{2,}[\s,;:]+[A-Za-z]{2,}[\s,;:]+[A-Za-z]{2,}", p)]
    assert not english, english[:3]
    assert "**" not in " ".join(visible_prose(ko)), "an emphasis mark was not closed on the Korean page"
    assert "부록: 방법" in ko and "계정 묶기" in ko
    # the English page stays English, with the same figures
    assert hangul_share(" ".join(_strip(p, values) for p in visible_prose(en))) < 0.05
    assert "F1 of" in en
    f1 = json.loads((suite_runs.latest.run_dir / "metrics" / f"{NAME}.json").read_text(encoding="utf-8"))["metrics"]["identity_f1"]["value"]
    assert f"F1은 {f1:.3f}" in BeautifulSoup(ko, "html.parser").get_text(" ")


@pytest.mark.slow
def test_method_detail_is_in_the_appendix_and_sections_that_do_not_apply_are_one_line(pages):
    for html, appendix in zip(pages, ("부록: 방법", "Appendix: method")):
        soup = BeautifulSoup(html, "html.parser")
        heads = [h.get_text(" ", strip=True).rstrip(" ¶") for h in soup.find_all(["h2", "h3"])]
        at = next(i for i, h in enumerate(heads) if h.startswith(appendix))
        # the joining's audit and the channel profile come after the appendix heading, every question of the page before it
        assert at >= 6 and all(not h.startswith("Appendix") and not h.startswith("부록") for h in heads[:at]), heads
        assert len(heads) - at >= 3, heads
        text = soup.get_text(" ")
        for caption in ("channel_integration.caption_link", "channel_integration.caption_stopped", "channel_integration.caption_bridges",
                        "channel_integration.caption_comp"):
            lang = "ko" if appendix.startswith("부록") else "en"
            words = catalogue(lang)[caption].split("(")[0].strip()
            assert words in text, caption
            if caption != "channel_integration.caption_comp":
                assert text.index(words) > text.index(appendix), f"{caption} is not in the appendix"
            else:
                assert text.index(words) < text.index(appendix)
        # the generated data has neither iFood counts nor a lead funnel: one line each, no heading
        assert not any("iFood" in h or "Olist" in h for h in heads), heads
        assert sum("iFood" in p.get_text() for p in soup.find_all("p")) == 1


def _table(soup, caption_key: str, lang: str):
    """The rows (lists of cell texts) of the page's table whose caption starts like the catalogue's caption."""
    start = re.split(r"[({]", catalogue(lang)[caption_key])[0].strip()
    for table in soup.find_all("table"):
        caption = table.find("caption")
        if caption is not None and caption.get_text(" ", strip=True).startswith(start):
            return [[c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])] for tr in table.select("tbody tr")]
    raise AssertionError(f"no table captioned {start!r}")


@pytest.mark.slow
def test_profile_columns_and_stop_rules_are_words_on_both_pages(pages):
    """The channel profile's summary names its columns and the stopped-identifier table its rules in the page's
    language, not as the product's codes (n_accounts, share_purchases_web, email_priority, blocklist: emails)."""
    code = re.compile(r"\b[a-z]+_[a-z_]+\b|^blocklist:")
    for html, lang in zip(pages, ("ko", "en")):
        soup = BeautifulSoup(html, "html.parser")
        for key in ("channel_integration.caption_feat", "channel_integration.caption_stopped"):
            first = [row[0] for row in _table(soup, key, lang)]
            assert first and not [w for w in first if code.search(w)], (lang, key, first)
            if lang == "ko":
                assert all(HANGUL.search(w) for w in first), (key, first)
        profile_rows = {row[0]: row[1:] for row in _table(soup, "channel_integration.caption_feat", lang)}
        assert ("구매일 수" if lang == "ko" else "purchase days") in profile_rows
        assert all(v.endswith("%") for k, v in ((k, r[0]) for k, r in profile_rows.items()) if k.startswith(("구매 비중", "share of purchases")))


def test_notebook_shows_nothing_outside_the_catalogue():
    """Every reader-visible output of the notebook goes through say/show/figure (no md(), show_table(), print or
    plt.show() in a code cell), and no heading cell sits on a section that may not apply."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for banned in (r"\bmd\(", r"\bshow_table\(", r"\bdisplay\(", r"\bprint\(", r"plt\.show\(", r"\bformat_number\("):
        assert not re.search(banned, code), banned
    # no English built in the notebook: f-strings only name catalogue keys or join values
    words = [f for f in re.findall(r'f"([^"]*)"', code) if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", re.sub(r"\{[^}]*\}", "", f))]
    assert not words, words
    ids = [c["id"] for c in nb["cells"]]
    assert "ci-ifood-h" not in ids and "ci-olist-h" not in ids
    assert ids.index("ci-appx-h") > ids.index("ci-olist") and ids.index("ci-id-audit") > ids.index("ci-appx-h")
    assert ids.index("ci-feat") > ids.index("ci-appx-h") and ids[-1] == "ci-metrics"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_messages_close_their_emphasis(lang):
    """Markdown does not close '**30%**' before a letter ('**30%**를' shows the stars): a bold figure ending in '%'
    is followed by a space or punctuation, or the particle sits inside the bold."""
    messages = {k: v for k, v in catalogue(lang).items() if k.startswith(f"{NAME}.")}
    assert len(messages) > 100
    bad = {k: v for k, v in messages.items() if re.search(r":share0?\}\*\*\w", v)}
    assert not bad, bad


def test_library_words_follow_the_report_language():
    from ecrm_lib.channels import conflicts, cost, integration
    from ecrm_lib.channels.customers import unmapped_note
    from ecrm_lib.channels.identity.audit import audit_words
    from ecrm_lib.core.language import using

    comp = pd.DataFrame({"measure": ["mean purchase days", "mean total spend"], "unit": ["purchase days", "currency"],
                         "per_account": [2.0, 1000.0], "per_customer": [3.0, 1500.0], "change": [0.5, 0.5]})
    contra = pd.DataFrame({"measure": ["customers with 2+ accounts"], "customers": [9], "share": [1.0]})
    wi = {"reason_key": "channel_integration.lib.whatif_no_cost", "reason_values": {"channels": "['chat']"}}
    rules = pd.DataFrame({"link_rule": ["email", "probabilistic", "singleton"]})
    with using("ko"):
        shown = [*integration.comparison_display(comp, "KRW")["measure"], *conflicts.contradictions_display(contra)["measure"],
                 cost.whatif_reason(wi), unmapped_note({"transactions": 3}), *audit_words(rules)["link_rule"]]
    assert all(HANGUL.search(s) for s in shown), shown
    assert integration.comparison_display(comp, "KRW")["per_customer"].tolist() == ["3.00", "1,500 KRW"]
    with using("en"):
        assert unmapped_note({"transactions": 3}) == "3 accounts in the transactions are not in the identity map; each is kept as its own customer."
        assert audit_words(rules)["link_rule"].tolist() == ["same e-mail", "probabilistic match", "not joined"]

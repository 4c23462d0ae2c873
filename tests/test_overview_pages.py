"""The data-overview page in both report languages (issues 12 and 15): the load's set-aside reasons and
adjustments worded in the page's language (the load's records stay English), and sections that do not apply
(no channel, no accounts table) as one line instead of a heading with prose."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ecrm_lib.core.language import using
from ecrm_lib.data.load import record_text

pytestmark = pytest.mark.slow

NAME = "data_overview"


def _text(page: str) -> str:
    """The page's visible text (tags, scripts, styles and images removed; entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<img[^>]*>", " ", page)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _h2(page: str) -> list[str]:
    """The page's second-level headings, in order."""
    return [re.sub(r"<[^>]+>|¶", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]


def _pages(run_dir: Path) -> tuple[str, str]:
    return ((run_dir / f"{NAME}.html").read_text(encoding="utf-8"), (run_dir / "ko" / f"{NAME}.html").read_text(encoding="utf-8"))


def _check_reasons(run_dir: Path) -> int:
    """Every reason the load itself wrote: English on the English page, in Korean (and not in English) on the
    Korean page; load/set_aside.csv keeps the English record. Returns how many reasons were checked."""
    en, ko = (_text(p) for p in _pages(run_dir))
    aside = pd.read_csv(run_dir / "load" / "set_aside.csv")
    checked = 0
    for reason in aside["reason"].dropna().astype(str).unique():
        with using("ko"):
            worded = record_text(reason)
        if worded == reason:  # a config rule's own reason stays as written
            continue
        assert reason in en, reason
        assert reason not in ko, reason
        assert worded in ko, (reason, worded)
        checked += 1
    for english in ("exact duplicate", "amount <= 0", "after the as-of date"):
        assert english not in ko, english
    return checked


def test_korean_overview_words_the_load_reasons(suite_runs):
    """The shared run's pages: the reasons of the set-aside table, the largest-reason sentence and the figure's
    labels come from the catalogue on the Korean page (no 'exact duplicate', 'amount <= 0'); the English page
    keeps the load's words."""
    run_dir = Path(suite_runs.latest.run_dir)
    aside = pd.read_csv(run_dir / "load" / "set_aside.csv")
    reasons = set(aside["reason"].astype(str))
    assert {"amount <= 0", "exact duplicate of an earlier row"} <= reasons, reasons   # the records stay English
    assert _check_reasons(run_dir) >= 2
    en, ko = (_text(p) for p in _pages(run_dir))
    if "amount <= 0" in reasons:
        assert "amount <= 0" in en and "amount <= 0" not in ko
    if any(r.startswith("exact duplicate") for r in reasons):
        assert "exact duplicate" in en
    # the sections that apply keep their headings in both languages
    assert "Coverage by channel" in _h2(_pages(run_dir)[0]) and "Identifiers each channel captures" in _h2(_pages(run_dir)[0])
    assert "채널별 자료 범위" in _h2(_pages(run_dir)[1]) and "채널별로 수집하는 식별자" in _h2(_pages(run_dir)[1])


def test_sections_that_do_not_apply_are_one_line(tmp_path):
    """A config with transactions only and no channel column: 'Coverage by channel' and 'Identifiers' are one line
    each (no heading, no prose) in both languages; the load's reasons are Korean on the Korean page."""
    from ecrm_lib.data.synth import generate
    from ecrm_lib.run.runner import run_suite

    data = tmp_path / "data"
    generate(data, n_persons=120, seed=5)
    config = yaml.safe_load((data / "config.yaml").read_text(encoding="utf-8"))
    tx = next(s for s in config["sources"] if s["table"] == "transactions")
    tx["columns"] = {k: v for k, v in tx["columns"].items() if k != "channel"}
    config["sources"] = [tx]
    config.pop("history_as_of", None)
    config["language"] = ["en", "ko"]
    (data / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")

    outcome = run_suite(data / "config.yaml", out_dir=tmp_path / "out", notebooks=[NAME], test_params=True, progress=None)
    res = {r.name: r for r in outcome.results}[NAME]
    assert outcome.status == "ok" and res.status == "ok", (res.error_type, res.error_message)
    run_dir = Path(outcome.run_dir)
    en_html, ko_html = _pages(run_dir)
    en, ko = _text(en_html), _text(ko_html)
    assert "Coverage by channel: not available, because no table supplied has a channel column." in en
    assert "Identifiers each channel captures: not available, because no accounts table was supplied." in en
    assert "채널별 자료 범위: 채널 열이 있는 테이블이 없어 보여 드릴 수 없습니다." in ko
    assert "채널별로 수집하는 식별자: 계정 테이블이 없어 보여 드릴 수 없습니다." in ko
    for page, headings, prose in ((en_html, ("Coverage by channel", "Identifiers each channel captures"),
                                   ("A channel with many contacts", "Only presence is counted")),
                                  (ko_html, ("채널별 자료 범위", "채널별로 수집하는 식별자"),
                                   ("접촉은 많은데 계정이 적은 채널", "값 자체는 보지 않고"))):
        h2 = _h2(page)
        for heading in headings:
            assert heading not in h2, (heading, h2)
        for words in prose:
            assert words not in _text(page), words
        assert "Coverage by table" in h2 or "표별 자료 범위" in h2      # the sections that apply keep theirs
    assert _check_reasons(run_dir) >= 1

"""The message catalogues and the formatting layer in both report languages (issue 12)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ecrm_lib.core import format as fmt
from ecrm_lib.core.config import parse_languages
from ecrm_lib.core.errors import ConfigError, EcrmError
from ecrm_lib.core.i18n import catalogue, placeholders, t
from ecrm_lib.core.language import LANGUAGES, get_language, set_language, using


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        assert keys[lang] == keys["en"], (lang, sorted(keys[lang] ^ keys["en"])[:10])
    for key in keys["en"]:
        shapes = {lang: placeholders(catalogue(lang)[key]) for lang in LANGUAGES}
        assert all(s == shapes["en"] for s in shapes.values()), (key, shapes)


def test_placeholder_check_catches_a_renamed_or_retyped_placeholder():
    assert placeholders("{n:count} customers") != placeholders("{n} customers")
    assert placeholders("{n:count} customers") != placeholders("고객 {m:count}명")


def test_korean_messages_are_korean():
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for key, text in catalogue("ko").items():
        prose = re.sub(r"<[^>]+>|\{[^}]*\}|[A-Za-z0-9_./()%:+\-,;'\"=|!?]+", "", text)
        letters = [c for c in prose if c.isalpha()]
        if key.endswith(".term") or len(letters) < 4:  # glossary terms keep their acronyms (AUC, RFM)
            continue
        share = sum(bool(hangul.match(c)) for c in letters) / len(letters)
        assert share >= 0.8, (key, text)


def test_missing_key_and_missing_value_are_clear_errors():
    with pytest.raises(EcrmError, match="not in the en catalogue"):
        t("no.such.key")
    with pytest.raises(EcrmError, match="needs a value for 'n'"):
        t("common.fewer_than")


def test_korean_numbers_money_points_and_dates():
    with using("ko"):
        assert fmt.format_money(38_200_000, "KRW") == "3,820만 원"
        assert fmt.format_money(620_000_000, "KRW") == "6.2억 원"
        assert fmt.format_money(1_234_000_000_000, "KRW") == "1.2조 원"
        assert fmt.format_money(-45_600_000, "KRW") == "-4,560만 원"
        assert fmt.format_money(9_800, "KRW") == "9,800원"
        assert fmt.format_money_full(38_200_000) == "38,200,000"
        assert fmt.format_points(0.025) == "+2.5%p" and fmt.format_points_interval(-0.065, 0.047) == "-6.5%p ~ +4.7%p"
        assert fmt.format_share(0.457) == "45.7%" and fmt.format_date(dt.date(2025, 6, 30)) == "2025년 6월 30일"
        assert fmt.format_change(0, "customers") == "변화 없음" and fmt.format_money(None, "KRW") == "자료 없음"
        assert t("common.first_rows", shown=50, total=12345) == "전체 12,345행 중 처음 50행"
    # English pages keep today's format
    assert fmt.format_money(38_200_000, "KRW") == "38.2 million KRW" and fmt.format_points(0.025) == "+2.5 points"
    assert fmt.format_date("2025-06-30") == "2025-06-30" and get_language() == "en"


def test_languages_are_checked():
    assert parse_languages("ko,en") == ("ko", "en") and parse_languages(["en"]) == ("en",)
    with pytest.raises(ConfigError, match="unknown"):
        parse_languages("fr")
    with pytest.raises(ConfigError, match="not supported"):
        set_language("jp")

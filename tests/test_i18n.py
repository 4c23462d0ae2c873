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


def test_figures_draw_hangul_and_the_minus_sign_without_missing_glyphs(tmp_path):
    import warnings

    import matplotlib.pyplot as plt

    from ecrm_lib.report.plots.base import set_theme
    from ecrm_lib.report.plots.fonts import HANGUL_FONT, hangul_font_files

    assert hangul_font_files(), "NanumGothic is installed with the suite (koreanize-matplotlib)"
    set_theme()
    assert HANGUL_FONT in plt.rcParams["font.family"] and plt.rcParams["axes.unicode_minus"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("할인 폭이 예전보다 줄었네요 −3,820만 원")
        ax.plot([-2, -1, 0])
        fig.savefig(tmp_path / "hangul.png")
        plt.close(fig)
    assert not [w for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]


@pytest.mark.slow
def test_a_notebook_displays_each_language_once_and_each_page_keeps_its_own(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    from ecrm_lib.report.render import render_html

    code = (
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "from ecrm_lib.report.display import say, show, figure\n"
        "say('common.first_rows', shown=50, total=12345)\n"
        "show(pd.DataFrame({'n': [12, 3]}), caption='glossary.title', columns={'n': 'index.col_report'}, count_columns='n')\n"
        "def draw():\n"
        "    from ecrm_lib.core.i18n import t\n"
        "    fig, ax = plt.subplots(); ax.set_title(t('glossary.title')); return ax\n"
        "figure(draw)\n"
    )
    nb = new_notebook(cells=[new_code_cell(code)])
    monkeypatch.setenv("ECRM_LANGUAGES", "ko,en")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    langs = [o.get("metadata", {}).get("ecrm", {}).get("lang") for o in outputs]
    assert langs == ["ko", "en", "ko", "en", "ko", "en"], [(o.get("output_type"), o.get("name"), str(o.get("text", ""))[:300]) for o in outputs]
    nbformat.write(nb, tmp_path / "x.ipynb")
    ko = render_html(tmp_path / "x.ipynb", tmp_path / "ko.html", "x", lang="ko").read_text(encoding="utf-8")
    en = render_html(tmp_path / "x.ipynb", tmp_path / "en.html", "x", lang="en").read_text(encoding="utf-8")
    assert "전체 12,345행 중 처음 50행" in ko and "first 50 of 12,345 rows" not in ko
    assert "first 50 of 12,345 rows" in en and "처음 50행" not in en
    assert "용어 설명" in ko and "보고서" in ko and "Glossary" in en and "&lt;5" in ko and "&lt;5" in en
    assert ko.count("<img") == 1 and en.count("<img") == 1 and '<html lang="ko"' in ko
    # the figure's alternative text in the page's language (nbconvert writes the same English sentence everywhere)
    assert 'alt="보고서 &quot;x&quot;의 그림"' in ko and 'alt="Figure of the report &quot;x&quot;"' in en
    assert "No description has been provided" not in ko + en


def test_table_caption_values_are_plain_text_escaped_once(monkeypatch):
    """A caption is not Markdown: a data value keeps its underscores and is HTML-escaped once, in each language."""
    import pandas as pd

    from ecrm_lib.report import display as D

    shown = []
    monkeypatch.setattr(D, "_display", lambda obj, lang: shown.append((lang, obj.to_html())))
    monkeypatch.setattr(D, "report_languages", lambda: ("ko", "en"))
    D.show(pd.DataFrame({"a": [1]}), caption="feedback.caption_segments",
           caption_values={"col": "purchases_365d & <b>", "min_cell": 5, "m": 2})
    captions = {lang: re.search(r"<caption>(.*?)</caption>", html).group(1) for lang, html in shown}
    assert captions["en"].startswith("Uplift by purchases_365d &amp; &lt;b&gt; (")
    assert captions["ko"].startswith("purchases_365d &amp; &lt;b&gt;별 업리프트")
    assert not any("\\_" in c or "&amp;amp;" in c for c in captions.values())


def test_each_area_file_has_its_twin_in_every_language_and_no_key_twice():
    """``messages/<lang>/<area>.yaml`` holds the keys ``<area>.*``; each area file exists in every language, and a
    key is never both in the main file and in an area file (``catalogue`` raises on that)."""
    from importlib import resources

    import yaml

    root = resources.files("ecrm_lib") / "messages"
    areas = {lang: sorted(f.name for f in (root / lang).iterdir() if f.name.endswith(".yaml")) for lang in LANGUAGES}
    assert areas["en"] and all(a == areas["en"] for a in areas.values()), areas
    for lang in LANGUAGES:
        main = yaml.safe_load((root / f"{lang}.yaml").read_text(encoding="utf-8"))
        for name in areas[lang]:
            area = name[: -len(".yaml")]
            assert area.split(".")[0] not in main or "." in area, (lang, area)
            assert any(k.startswith(f"{area}.") for k in catalogue(lang)), (lang, area)

"""The churn page's sections in both languages (issue 12, issue 15): a section that applies opens with its heading; on
data without transactions (IBM's Telco data) the purchase-based sections are one line in the page's language, said
once, instead of headings followed by "skipped" lines."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from korean_text import hangul_share, visible_prose

from ecrm_lib.core.i18n import catalogue
from ecrm_lib.core.paths import CONFIG_DIR

from test_churn_notebook import NONCONTRACT_KEYS

#: the purchase-based sections' headings (said only when the section applies)
SECTIONS = ("h_timeline", "h_population", "h_compare", "h_lift", "h_drivers", "h_risk", "h_appendix", "h_calibration")


def _heading(lang: str, key: str) -> str:
    """The heading line of a section message (its first line, without the Markdown hashes)."""
    return catalogue(lang)[f"churn.{key}"].splitlines()[0].lstrip("#").strip().replace('\\"', '"')


def _headings(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [h.get_text(" ", strip=True).rstrip("¶").strip() for h in soup.find_all(["h1", "h2", "h3"])]


def _one_line(lang: str) -> str:
    """The bold lead of churn.no_purchase_churn as the page shows it."""
    return re.match(r"\*\*(.+?)\*\*", catalogue(lang)["churn.no_purchase_churn"]).group(1)


@pytest.mark.slow
@pytest.mark.shared_data
def test_telco_purchase_sections_are_one_line_in_each_language(tmp_path, shared_data):
    from ecrm_lib.run.runner import run_suite

    outcome = run_suite(CONFIG_DIR / "telco_churn.yaml", out_dir=tmp_path / "out", notebooks=["churn"], test_params=True,
                        progress=None, languages=("ko", "en"))
    result = {r.name: r for r in outcome.results}["churn"]
    assert result.status == "ok", (result.error_type, result.error_message)
    run_dir = tmp_path / "out" / "latest"
    # the contract-churn figures (one Telco run serves this test and the notebook's metrics; see test_churn_notebook)
    metrics = {k: v["value"] for k, v in json.loads((run_dir / "metrics" / "churn.json").read_text(encoding="utf-8"))["metrics"].items()}
    assert all(metrics[k] is None for k in NONCONTRACT_KEYS + ["purchase_model"]), metrics
    assert 0.80 <= metrics["telco_auc"] <= 0.88
    assert metrics["telco_churn_rate"] == pytest.approx(1869 / 7043)
    assert pd.read_parquet(run_dir / "products" / "churn" / "churn_risk.parquet").empty  # declared, written, empty
    assert "Month-to-month" in (run_dir / "en" / "churn.html").read_text(encoding="utf-8")
    assert result.duration_s < 150, f"churn notebook took {result.duration_s:.0f} s on Telco (both languages)"
    pages = {"ko": (run_dir / "churn.html").read_text(encoding="utf-8"), "en": (run_dir / "en" / "churn.html").read_text(encoding="utf-8")}
    for lang, html in pages.items():
        heads = _headings(html)
        for key in SECTIONS:
            assert _heading(lang, key) not in heads, (lang, key, heads)
        prose = visible_prose(html)
        lines = [p for p in prose if p.startswith(_one_line(lang))]
        assert len(lines) == 1, (lang, prose)  # one line, said once, where the first purchase-based section would be
        assert "no transactions" in lines[0] if lang == "en" else "거래 자료가 없어" in lines[0]
        # the contract churn section applies on Telco and keeps its heading
        assert catalogue(lang)["churn.contract_heading"].splitlines()[0].lstrip("#").strip() in heads
        # no leftover "skipped" line and no truth line (the risk scores it checks are not there)
        text = " ".join(prose)
        assert "Skipped" not in text and "건너뜀" not in text
        assert catalogue(lang)["churn.truth_none"].split("**")[1] not in text
    ko_prose = " ".join(visible_prose(pages["ko"]))
    assert hangul_share(ko_prose, ["telco-churn", "Month-to-month", "Brier score"]) >= 0.8


def test_every_purchase_section_is_said_in_the_notebook_and_worded_in_both_languages():
    """Fast: each section heading is a message the notebook says (not a Markdown cell shown whatever the data)."""
    import json

    from ecrm_lib.core.paths import NOTEBOOKS_DIR

    nb = json.loads((NOTEBOOKS_DIR / "30_churn.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for key in SECTIONS:
        assert f'say("churn.{key}")' in code, key
        assert _heading("en", key) not in markdown, key
        assert catalogue("ko")[f"churn.{key}"].startswith("#") and catalogue("en")[f"churn.{key}"].startswith("#")


def test_the_shared_run_page_keeps_every_section_heading(suite_runs):
    """On data with transactions every purchase-based section applies: its heading is on both pages."""
    run_dir = suite_runs.latest.run_dir
    for lang, page in (("en", run_dir / "churn.html"), ("ko", run_dir / "ko" / "churn.html")):
        html = page.read_text(encoding="utf-8")
        heads = _headings(html)
        for key in SECTIONS:
            assert _heading(lang, key) in heads, (lang, key, heads)
        assert _one_line(lang) not in " ".join(visible_prose(html))

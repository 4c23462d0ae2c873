"""Every page in Korean on the shared two-run suite execution (issue 12 item 6): a Korean strategy reader meets
Korean prose, not English sentences. The shared run (``suite_runs`` in conftest) renders English pages in the run
folder and Korean pages in its ``ko/`` subfolder."""

from __future__ import annotations

import pytest
from korean_text import hangul_share, visible_prose

from ecrm_lib.core.paths import NOTEBOOKS_DIR
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

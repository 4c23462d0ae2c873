"""The notebooks' Markdown cells in the other report languages.

A notebook's prose cells are written once, in English, where a data scientist
reads them in JupyterLab. Their translations live beside the message
catalogues, one file per language and notebook,
``ecrm_lib/messages/cells/<lang>/<notebook>.yaml``, keyed by the cell's id
(nbformat 4.5)::

    intro:                       # the cell id
      en: 3f2a9c0d41b7           # digest of the English source it translates
      text: |
        ## 평가: 선정된 고객의 가치
        ...

The digest is the English source's identity (as gettext's msgid is): when a
cell's English changes, its translation no longer matches and is not used, and
``tests/test_i18n_cells.py`` fails until it is translated again. The renderer
(:func:`ecrm_lib.report.render.render_html`) swaps each Markdown cell for its
translation on the pages of that language. :func:`untranslated` lists what is
missing or stale, for a translator (``python -m ecrm_lib.core.cells ko
notebooks/60_evaluation.ipynb`` prints a skeleton to fill in).

English is the source language: its pages show the cells as written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ecrm_lib.core.yamlio import parse_yaml

__all__ = ["SOURCE_LANGUAGE", "digest", "translations", "cell_text", "untranslated", "skeleton"]

SOURCE_LANGUAGE = "en"
"""The language the notebooks' Markdown cells are written in."""


def digest(source: str) -> str:
    """Twelve hex digits identifying a cell's English source (trailing white space on lines ignored).

    >>> digest("## Title  \\nText") == digest("## Title\\nText\\n")
    True
    """
    text = "\n".join(line.rstrip() for line in source.strip().splitlines())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@functools.cache
def translations(notebook: str, lang: str) -> dict[str, dict[str, str]]:
    """``{cell id: {"en": digest, "text": translation}}`` of one notebook (its file stem, e.g. ``60_evaluation``)."""
    path = resources.files("ecrm_lib") / "messages" / "cells" / lang / f"{notebook}.yaml"
    if not path.is_file():
        return {}
    data = parse_yaml(path.read_text(encoding="utf-8")) or {}
    return {str(k): {"en": str(v.get("en", "")), "text": str(v.get("text", ""))} for k, v in data.items()}


def cell_text(notebook: str, cell_id: str, source: str, lang: str) -> str | None:
    """The cell in ``lang``: its translation when one translates this very source, else None."""
    if lang == SOURCE_LANGUAGE:
        return source
    entry = translations(notebook, lang).get(str(cell_id))
    if entry and entry["en"] == digest(source) and entry["text"].strip():
        return entry["text"]
    return None


def _markdown_cells(nb: Any) -> list[tuple[str, str]]:
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    return [(str(c.get("id", "")), "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in cells if c.get("cell_type") == "markdown" and str(c.get("source", "")).strip()]


def untranslated(notebook_path: str | Path, lang: str) -> list[tuple[str, str, str]]:
    """``(cell id, why, English source)`` of every Markdown cell without a current translation in ``lang``."""
    path = Path(notebook_path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    have = translations(path.stem, lang)
    out = []
    for cell_id, source in _markdown_cells(nb):
        if not cell_id:
            out.append((cell_id, "the cell has no id (save the notebook with nbformat 4.5 or later)", source))
        elif cell_id not in have or not have[cell_id]["text"].strip():
            out.append((cell_id, "missing", source))
        elif have[cell_id]["en"] != digest(source):
            out.append((cell_id, "stale: the English cell changed since it was translated", source))
    return out


def skeleton(notebook_path: str | Path, lang: str) -> str:
    """YAML entries to fill in for the cells :func:`untranslated` lists (the English as a comment)."""
    lines = []
    for cell_id, why, source in untranslated(notebook_path, lang):
        lines.append(f"# {why}")
        lines += [f"#   {line}" for line in source.splitlines()]
        lines += [f"{cell_id}:", f"  en: {digest(source)}", "  text: |", "    TODO", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m ecrm_lib.core.cells LANG NOTEBOOK...
    for nb_path in sys.argv[2:]:
        print(f"# {nb_path}\n{skeleton(nb_path, sys.argv[1])}")

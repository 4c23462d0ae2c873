"""The glossary of the terms the reports use, as a page of its own that every page links to.

Each term is explained for a strategy reader in one or two sentences, with how
to read its values, in the report language (``glossary.terms`` of the message
catalogue, :mod:`ecrm_lib.core.i18n`). :func:`render_glossary_page` writes
``glossary.html`` into a run folder; :func:`ecrm_lib.report.render.nav_html` is
the link bar at the top of every page.
"""

from __future__ import annotations

import os
from pathlib import Path

from ecrm_lib.core.i18n import catalogue, t
from ecrm_lib.core.language import get_language
from ecrm_lib.report.display import escape
from ecrm_lib.report.render import GLOSSARY_PAGE, nav_html, simple_page, write_page

__all__ = ["glossary_terms", "anchor", "render_glossary_page"]


def glossary_terms(lang: str | None = None) -> list[tuple[str, str, str]]:
    """``(key, term, explanation)`` of every glossary entry in a language, in catalogue order."""
    cat = catalogue(lang or get_language())
    keys = list(dict.fromkeys(k.split(".")[2] for k in cat if k.startswith("glossary.terms.")))
    return [(k, cat[f"glossary.terms.{k}.term"], cat[f"glossary.terms.{k}.text"]) for k in keys]


def anchor(key: str) -> str:
    """The page anchor of a glossary entry (its catalogue key, the same in every language)."""
    return f"term-{key}"


def render_glossary_page(folder: str | os.PathLike) -> Path:
    """Write ``glossary.html`` in the report language into a folder of a run.

    Returns
    -------
    Path
        The page.
    """
    items = "".join(f'<dt id="{anchor(k)}"><strong>{escape(term)}</strong></dt><dd>{escape(text)}</dd>'
                    for k, term, text in glossary_terms())
    title = t("glossary.title")
    inner = nav_html(glossary=False) + f"<h1>{escape(title)}</h1><p>{escape(t('glossary.intro'))}</p><dl>{items}</dl>"
    return write_page(Path(folder) / GLOSSARY_PAGE, simple_page(title, inner))

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
from ecrm_lib.seef.rfm import SHIPPED_SEGMENTS, segment_description, segment_label

__all__ = ["glossary_terms", "anchor", "render_glossary_page", "segment_names"]


def glossary_terms(lang: str | None = None) -> list[tuple[str, str, str]]:
    """``(key, term, explanation)`` of every glossary entry in a language, in catalogue order."""
    cat = catalogue(lang or get_language())
    keys = list(dict.fromkeys(k.split(".")[2] for k in cat if k.startswith("glossary.terms.")))
    return [(k, cat[f"glossary.terms.{k}.term"], cat[f"glossary.terms.{k}.text"]) for k in keys]


def segment_names() -> list[tuple[str, str, str]]:
    """``(name as the pages show it, name in the segment table and products, description)`` of every shipped RFM
    segment, in the report language: a Korean reader finds "휴면 고객" on a page and "Hibernating" in
    ``data/segments/rfm_segments.csv`` and the products.

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     segment_names()[-2][:2]
    ('이탈 고객', 'Lost')
    """
    with_other = list(SHIPPED_SEGMENTS)
    return [(segment_label(n), n, segment_description(n)) for n in with_other]


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
    names = segment_names()
    both = any(shown != name for shown, name, _ in names)  # the table's names too when the page words them
    head = "".join(f"<th>{escape(t(k))}</th>" for k in ("glossary.segments_col_shown", "glossary.segments_col_table",
                                                         "glossary.segments_col_text") if both or k != "glossary.segments_col_table")
    rows = "".join(f"<tr><td><strong>{escape(shown)}</strong></td>" + (f"<td>{escape(name)}</td>" if both else "")
                   + f"<td>{escape(text)}</td></tr>" for shown, name, text in names)
    segments = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    title = t("glossary.title")
    inner = (nav_html(glossary=False) + f"<h1>{escape(title)}</h1><p>{escape(t('glossary.intro'))}</p><dl>{items}</dl>"
             f'<h2 id="{anchor("rfm_segment_names")}">{escape(t("glossary.segments_title"))}</h2>'
             "<p>" + escape(t("glossary.segments_intro", path="\x00")).replace("\x00", "<code>data/segments/rfm_segments.csv</code>")
             + f"</p>{segments}")
    return write_page(Path(folder) / GLOSSARY_PAGE, simple_page(title, inner))

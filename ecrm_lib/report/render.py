"""HTML reports from executed notebooks: no code, no prompts, nothing loaded
from the network.

:func:`render_html` converts an executed notebook with nbconvert's ``lab``
template and these changes, so that a strategy reader gets plain prose,
tables and figures and the page opens offline:

- code inputs and the ``In``/``Out`` prompts are left out;
- cells tagged ``remove-cell`` are dropped, ``remove-input`` keep only their
  output, ``remove-output`` keep nothing visible;
- stderr streams (warnings with library paths), error tracebacks, papermill's
  "An Exception was encountered" banner and JavaScript / widget outputs are
  left out of the page (they stay in the executed notebook);
- the template's script tags (require.js, MathJax, widget manager, mermaid)
  are not written at all; a final check refuses any ``<script src>`` or
  ``<link href>`` that points to the network.

:func:`render_failure_page` and :func:`render_message_page` build the pages of
a failed or skipped step. Every text that comes from data, config or an error
goes through :func:`ecrm_lib.report.display.escape` (and :func:`~ecrm_lib.core.privacy.scrub_shown`).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

from ecrm_lib.core.cells import cell_text
from ecrm_lib.core.i18n import t
from ecrm_lib.core.language import get_language, using
from ecrm_lib.core.privacy import scrub_shown
from ecrm_lib.report.display import escape

__all__ = [
    "INDEX_PAGE",
    "GLOSSARY_PAGE",
    "nav_html",
    "simple_page",
    "write_page",
    "render_html",
    "render_failure_page",
    "render_message_page",
    "external_resources",
    "PAGE_CSS",
]

# Blocks of the lab template that write <script> tags (some load from a CDN).
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js %}{% endblock html_head_js %}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block html_head_js_mathjax %}{% endblock html_head_js_mathjax %}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
"""
_TEMPLATE_NAME = "ecrm_report.html.j2"

_DROP_MIME = ("application/javascript", "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")
_PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"

PAGE_CSS = """
.ecrm-nav { font-size: .9rem; margin: 0 0 1rem; } .ecrm-nav a { margin-right: 1.2rem; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } .sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; white-space: nowrap; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #cf222e; font-weight: 600; }
.skipped { color: #9a6700; font-weight: 600; }
.banner { border: 2px solid #cf222e; background: #ffebe9; padding: 1rem 1.2rem; border-radius: 6px; margin: 1rem 0 1.5rem; }
.banner.skip { border-color: #bf8700; background: #fff8c5; }
.banner h2 { margin: 0 0 .5rem; font-size: 1.25rem; } .banner pre { white-space: pre-wrap; word-break: break-word;
       background: #fff; padding: .5rem; border-radius: 4px; }
.note { background: #f6f8fa; border-left: 4px solid #57606a; padding: .6rem .9rem; margin: 1rem 0; }
footer { color: #57606a; font-size: .9rem; margin-top: 2rem; }
"""

INDEX_PAGE = "index.html"
"""File name of a run's index page."""

GLOSSARY_PAGE = "glossary.html"
"""File name of the glossary page in a run folder (:mod:`ecrm_lib.report.glossary`)."""

_NAV_CSS = ".ecrm-nav { font-size: .9rem; margin: 0 0 1rem; } .ecrm-nav a { margin-right: 1.2rem; }"


def nav_html(index: bool = True, glossary: bool = True, languages: list[tuple[str, str]] | None = None) -> str:
    """The link bar at the top of every page: back to the run's index, the glossary, the page in other languages.

    Parameters
    ----------
    index, glossary : bool
        Link the run's index and the glossary.
    languages : list of (language code, relative URL), optional
        The same page in the other report languages.

    >>> nav_html()
    '<nav class="ecrm-nav"><a href="index.html">All reports of this run</a><a href="glossary.html">Glossary of terms</a></nav>'
    """
    links = ([f'<a href="{INDEX_PAGE}">{escape(t("nav.index"))}</a>'] if index else []) + (
        [f'<a href="{GLOSSARY_PAGE}">{escape(t("nav.glossary"))}</a>'] if glossary else []) + [
        f'<a href="{escape(url)}" hreflang="{escape(code)}">{escape(t("nav.language_" + code))}</a>' for code, url in (languages or [])]
    return f'<nav class="ecrm-nav">{"".join(links)}</nav>'


_EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//[^\"'\s>]*",
    re.IGNORECASE,
)


def external_resources(html: str) -> list[str]:
    """Tags in ``html`` that would load something from the network.

    Looks for ``<script src=>``, ``<link href=>``, ``<img src=>``, ``<iframe>``,
    ``<source>`` and ``<embed>`` pointing at ``http(s)://`` or ``//``.
    Ordinary ``<a href>`` links are not counted (they load nothing by themselves).

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/x.js"></script><a href="https://x">x</a>')
    ['<script src="https://cdn.example/x.js']
    """
    return _EXTERNAL.findall(html)


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,
        require_js_url="",
        mathjax_url="",
        mermaid_js_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )
    tags = TagRemovePreprocessor(
        remove_cell_tags={"remove-cell", _PAPERMILL_ERROR_TAG},
        remove_input_tags={"remove-input"},
        remove_all_outputs_tags={"remove-output"},
        enabled=True,
    )
    exporter.register_preprocessor(tags, enabled=True)
    return exporter


def _notebook_name(nb, executed_ipynb: Path) -> str:
    """The source notebook's file stem (papermill records its input path), else the executed file's."""
    source = ((nb.metadata.get("papermill") or {}).get("input_path")) or ""
    return Path(source).stem if source else Path(executed_ipynb).stem


def _clean(nb, lang: str | None = None, notebook: str | None = None):
    """A copy of ``nb`` without stderr streams, tracebacks, script outputs and outputs of other languages;
    Markdown cells in ``lang`` where ``ecrm_lib/messages/cells`` translates them (:mod:`ecrm_lib.core.cells`)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and lang and notebook:
            translated = cell_text(notebook, cell.get("id", ""), cell.get("source", ""), lang)
            if translated is not None:
                cell["source"] = translated
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream" and out.get("name") == "stderr":
                continue
            if kind == "error":
                continue
            out_lang = ((out.get("metadata") or {}).get("ecrm") or {}).get("lang")
            if lang is not None and out_lang is not None and out_lang != lang:
                continue
            if kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                for mime in _DROP_MIME:
                    data.pop(mime, None)
                if not data:
                    continue
            kept.append(out)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def _insert_after_body(page: str, fragment: str) -> str:
    m = re.search(r"<main>", page) or re.search(r"<body[^>]*>", page)
    if m is None:
        return fragment + page
    return page[: m.end()] + fragment + page[m.end():]


def write_page(out_html: Path, page: str) -> Path:
    """Write a page atomically, refusing one that would load anything from the network."""
    leaks = external_resources(page)
    if leaks:
        raise RuntimeError(
            f"refusing to write {out_html.name}: it would load {leaks[:3]} from the network. "
            "Remove the output that embeds it (e.g. a widget or an HTML output with a CDN link)."
        )
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_html.with_name(out_html.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out_html)
    return out_html


def _title_tag(page: str, title: str) -> str:
    return re.sub(r"<title>.*?</title>", f"<title>{escape(title)}</title>", page, count=1, flags=re.DOTALL)


def render_html(executed_ipynb: str | os.PathLike, out_html: str | os.PathLike, title: str, *,
                banner_html: str | None = None, lang: str | None = None,
                languages: list[tuple[str, str]] | None = None) -> Path:
    """Render an executed notebook as a code-free, offline HTML report.

    Parameters
    ----------
    executed_ipynb : path-like
        The executed notebook (papermill output).
    out_html : path-like
        Where to write the page (its folder is created).
    title : str
        Page title (escaped).
    banner_html : str, optional
        Trusted HTML inserted at the top of the page (the runner's failure
        banner; escape anything from data before passing it).
    lang : str, optional
        Report language of the page: outputs a notebook displayed for another
        language (``metadata["ecrm"]["lang"]``) are left out. None keeps all.
    languages : list of (code, URL), optional
        The same page in the other report languages, linked at the top.

    Returns
    -------
    Path
        ``out_html``.

    Raises
    ------
    RuntimeError
        If the page would still load something from the network.
    """
    import nbformat

    nb = nbformat.read(Path(executed_ipynb), as_version=4)
    nb = _clean(nb, lang, _notebook_name(nb, Path(executed_ipynb)))
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _title_tag(body, title)
    # nbconvert gives every figure the same English alternative text; a screen reader reads it in the page's language
    with using(lang or get_language()):
        alt = escape(t("nav.figure", title=title))
    body = body.replace('alt="No description has been provided for this image"', f'alt="{alt}"')
    if lang:
        body = re.sub(r"<html([^>]*?)\blang=\"[^\"]*\"", rf'<html\1lang="{lang}"', body, count=1)
    nav = nav_html(languages=languages)
    top = f'<style type="text/css">{_NAV_CSS}</style>' + nav
    if banner_html:
        top = f'<style type="text/css">{PAGE_CSS}</style>' + nav + banner_html
    body = _insert_after_body(body, top)
    return write_page(Path(out_html), body)


def simple_page(title: str, inner_html: str) -> str:
    """A whole HTML page in the suite's style around trusted inner HTML (escape data first)."""
    return (
        f"<!DOCTYPE html>\n<html lang=\"{get_language()}\">\n<head>\n<meta charset=\"utf-8\" />\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        f"<title>{escape(title)}</title>\n<style type=\"text/css\">{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{inner_html}\n</main>\n</body>\n</html>\n"
    )


def _failure_banner(title: str, error_type: str, message: str, executed_name: str | None) -> str:
    """HTML of the banner at the top of a failure page (all text escaped and scrubbed)."""
    where = t("failure.open_executed", name=escape(executed_name)) if executed_name else t("failure.not_started")
    return (
        '<div class="banner" role="alert">'
        f"<h2>{escape(t('failure.heading', title=title))}</h2>"
        f"<p><strong>{escape(t('failure.error'))}</strong> <code>{escape(scrub_shown(error_type))}</code></p>"
        f"<pre>{escape(scrub_shown(message))}</pre>"
        f"<p><strong>{escape(t('failure.what_to_do'))}</strong> {where} {t('failure.partial')}</p>"
        "</div>"
    )


def render_failure_page(
    out_html: str | os.PathLike,
    title: str,
    error_type: str,
    message: str,
    executed_ipynb: str | os.PathLike | None = None,
) -> Path:
    """A readable page for a failed step: banner, error, what to do, partial output.

    Parameters
    ----------
    out_html : path-like
        Where to write the page.
    title : str
        Title of the notebook that failed.
    error_type, message : str
        The error's type and message (escaped and scrubbed of e-mails and phone numbers here).
    executed_ipynb : path-like, optional
        The partially executed notebook; its outputs (without tracebacks) follow the banner.
        When missing or unreadable, the page has the banner only.
    """
    banner = _failure_banner(title, error_type, message, Path(executed_ipynb).name if executed_ipynb else None)
    page_title = t("failure.page_title", title=title)
    if executed_ipynb is not None and Path(executed_ipynb).exists():
        try:
            return render_html(executed_ipynb, out_html, page_title, banner_html=banner)
        except Exception as e:  # the banner must be written even if the partial notebook cannot be rendered
            banner += f'<p class="note">{escape(t("failure.not_rendered", error=type(e).__name__))}</p>'
    return write_page(Path(out_html), simple_page(page_title, f"{nav_html()}<h1>{escape(title)}</h1>{banner}"))


def render_message_page(out_html: str | os.PathLike, title: str, heading: str, paragraphs_html: list[str]) -> Path:
    """A short page for a step that did not run (e.g. skipped for missing inputs).

    Parameters
    ----------
    out_html : path-like
        Where to write the page.
    title : str
        Notebook title (escaped).
    heading : str
        Banner heading (escaped).
    paragraphs_html : list of str
        Trusted HTML paragraphs (escape data before passing it).
    """
    inner = (
        nav_html() + f"<h1>{escape(title)}</h1>"
        f'<div class="banner skip" role="status"><h2>{escape(heading)}</h2>'
        + "".join(f"<p>{p}</p>" for p in paragraphs_html)
        + "</div>"
    )
    return write_page(Path(out_html), simple_page(title, inner))

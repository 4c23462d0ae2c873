"""The index page of a run: every notebook with its status, time and a link to its page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ecrm_lib import __version__
from ecrm_lib.core.config import Config
from ecrm_lib.core.dates import iso_time
from ecrm_lib.core.format import format_date
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.core.language import get_language
from ecrm_lib.report.display import escape
from ecrm_lib.report.render import INDEX_PAGE, PAGE_CSS, nav_html
from ecrm_lib.run.context import RunLayout
from ecrm_lib.run.execute import NotebookResult

__all__ = ["write_index"]


# ------------------------------------------------------------------- pages
def _fmt_s(seconds: float) -> str:
    return f"{seconds:.1f}"


def _reason(r: NotebookResult) -> str:
    if r.missing_inputs:
        return t("index.reason_missing", tables=", ".join(r.missing_inputs))
    if r.reason and r.reason.startswith("upstream"):
        return t("index.reason_upstream")
    return r.reason or ""


def write_index(
    layout: RunLayout,
    config: Config,
    as_of: dt.date,
    run_id: str,
    status: str,
    results: list[NotebookResult],
    started: dt.datetime,
    duration_s: float,
    previous_id: str | None,
    first: Iterable[str] = (),
    folder: str = "",
    languages: list[tuple[str, str]] | None = None,
) -> None:
    """Write the index page of a run in the report language.

    ``folder``: "" for the main language (the run folder), else the language's
    subfolder; ``languages``: the index in the other languages, linked at the top.
    """
    # Reports named in `first` (registry key `show_first`) head the list; the rest keep the run order.
    first = set(first)
    rows = []
    for r in sorted(results, key=lambda r: r.name not in first):
        cls = {"ok": "ok", "failed": "failed", "skipped": "skipped"}[r.status]
        if r.status == "failed":
            detail = escape(t("index.status_failed", error=r.error_type or "error"))
        elif r.status == "skipped":
            detail = escape(t("index.status_skipped", reason=_reason(r)))
        else:
            detail = escape(t("index.status_ok"))
        title = t_or(f"notebooks.{r.name}.title", r.title)
        description = t_or(f"notebooks.{r.name}.description", r.description)
        link = f'<a href="{escape(r.html)}">{escape(title)}</a>' if r.html else escape(title)
        rows.append(
            f"<tr><td>{link}</td><td>{escape(description)}</td>"
            f'<td class="{cls}">{detail}</td><td class="num">{_fmt_s(r.duration_s)}</td></tr>'
        )
    n_failed = sum(r.status == "failed" for r in results)
    if status == "failed":
        prev = t("index.previous_kept", run_id=escape(previous_id)) if previous_id else t("index.no_previous")
        banner = (
            f'<div class="banner" role="alert"><h2>{escape(t("index.run_failed", n=n_failed))}</h2>'
            f"<p>{escape(t('index.run_failed_open'))} {prev}</p></div>"
        )
    else:
        banner = ""
    status_text = t("index.status_ok") if status == "ok" else t("index.status_failed", error=status)
    page = (
        f"<!DOCTYPE html>\n<html lang=\"{get_language()}\">\n<head>\n<meta charset=\"utf-8\" />\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
        f"<title>{escape(t('index.title', name=config.name, as_of=format_date(as_of)))}</title>\n"
        f"<style type=\"text/css\">{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
        + nav_html(index=False, languages=languages)
        + f"<h1>{escape(t('index.heading', name=config.name))}</h1>\n"
        + '<p class="sub">' + t("index.subtitle", as_of=escape(format_date(as_of)), run_id=escape(run_id),
                                started=escape(iso_time(started)), seconds=escape(_fmt_s(duration_s)),
                                status=f'<span class="{"ok" if status == "ok" else "failed"}">{escape(status_text)}</span>')
        + "</p>\n"
        + (f"<p>{escape(config.description)}</p>\n" if config.description else "")
        + banner
        + f"<table>\n<thead><tr><th>{escape(t('index.col_report'))}</th><th>{escape(t('index.col_what'))}</th>"
        f"<th>{escape(t('index.col_status'))}</th><th>{escape(t('index.col_time'))}</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        f"<p>{t('index.details')}</p>\n"
        f'<p class="note">{t("index.private_note")}</p>\n'
        f"<footer>{escape(t('index.footer', version=__version__))}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )
    path = layout.root / folder / INDEX_PAGE if folder else layout.index
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")

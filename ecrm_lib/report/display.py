"""Display helpers that keep rendered reports safe to share.

Rules the notebooks follow (tests check the rendered HTML):

- tables go through :func:`show_table`, which escapes every cell, index label
  and caption (pandas' Styler does not escape by default, so text from the data
  could run as script in the HTML);
- prose built from data goes through :func:`md`, which escapes the values it
  substitutes (``IPython.display.Markdown(f"...")`` would not);
- free text from the data (feedback, error messages) goes through
  :func:`ecrm_lib.core.privacy.scrub_pii` first, which masks e-mail addresses and phone numbers
  (on a page through :func:`~ecrm_lib.core.privacy.scrub_shown`: the masks in the report language);
- personal-data columns (name, email, phone) are never displayed:
  :func:`show_table` refuses them;
- every page exists in each report language: :func:`say`, :func:`show` and
  :func:`figure` display a message, a table or a figure once per report
  language (:func:`report_languages`), each output tagged with its language,
  and the renderer keeps one language per page; analyses run once;
- small cells: a table that aggregates customers (by segment, channel, month,
  decile, ...) never shows a row describing fewer than 5 of them. Pass the
  column(s) holding the number of customers each row describes as
  ``show_table(..., count_columns=...)``: such rows show ``<5`` in the counts
  and ``suppressed`` (``비공개`` on a Korean page) in every other value cell. :func:`ecrm_lib.core.privacy.suppress_small_cells`
  does the same in computation (missing values), for tables that are also
  plotted or written as products.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core.format import format_decimal, format_number, human_label
from ecrm_lib.core.i18n import has, t
from ecrm_lib.core.language import LANGUAGES, get_language, using
from ecrm_lib.core.privacy import personal_columns, scrub_shown
from ecrm_lib.report.plots.fonts import register_hangul_font

__all__ = ["SUPPRESSED", "suppressed_marker", "escape", "md", "show_table", "column_label", "report_languages", "say", "say_built", "show", "figure",
           "LANGUAGE_ENV"]

LANGUAGE_ENV = "ECRM_LANGUAGES"
"""Environment variable with the run's report languages (``ko,en``), set by the runner for the kernels."""


def escape(value: Any) -> str:
    """HTML-escape a value for Markdown or HTML output (quotes included)."""
    return html.escape(str(value), quote=True)


def _safe_values(values: Mapping[str, Any]) -> dict[str, Any]:
    safe = {}
    for k, v in values.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            safe[k] = v
        else:
            # Escape HTML and the Markdown characters that could build links or images.
            text = escape(scrub_shown(v))
            safe[k] = re.sub(r"([\[\]()!`*_])", r"\\\1", text)
    return safe


def report_languages() -> tuple[str, ...]:
    """The report languages a notebook displays its outputs in: the run's (``$ECRM_LANGUAGES``),
    else the current language (a notebook opened by hand)."""
    env = [x.strip() for x in os.environ.get(LANGUAGE_ENV, "").split(",") if x.strip() in LANGUAGES]
    return tuple(dict.fromkeys(env)) or (get_language(),)


def _display(obj, lang: str) -> None:
    from IPython.display import display

    display(obj, metadata={"ecrm": {"lang": lang}})


def _in_language(value: Any) -> Any:
    """A value as the current language needs it: callables (e.g. a sentence built by a library function) are called."""
    return value() if callable(value) else value


def say(key: str, /, **values: Any) -> None:
    """Display the catalogue message ``key`` as Markdown, once per report language.

    Values are escaped and scrubbed of personal data (numbers keep their typed
    placeholders, e.g. ``{n:count}``); a callable value is called in each
    language (for sentences a library function builds). Nothing is returned:
    the outputs are tagged with their language for the renderer.
    """
    from IPython.display import Markdown

    for lang in report_languages():
        with using(lang):
            _display(Markdown(t(key, **_safe_values({k: _in_language(v) for k, v in values.items()}))), lang)


def say_built(build: Callable[[], str]) -> None:
    """Display Markdown that a library function builds, once per report language.

    For sentences made only of catalogue messages and the suite's own figures
    (for example :func:`ecrm_lib.report.summary.revenue_headline`), which keep
    their emphasis; text from the data must go through :func:`say` or
    :func:`md`, which escape it. Personal data is still scrubbed.
    """
    from IPython.display import Markdown

    for lang in report_languages():
        with using(lang):
            _display(Markdown(scrub_shown(build())), lang)


def column_label(name: Any) -> str:
    """A column header in the report language: the catalogue's ``columns.<name>`` when it has one (the
    suite's own column names), else :func:`ecrm_lib.core.format.human_label` (``mean_clv`` -> "Mean CLV";
    a column named by the user's data stays as it is).

    >>> from ecrm_lib.core.language import using
    >>> column_label("rows_read"), column_label("Region")
    ('Rows read', 'Region')
    >>> with using("ko"):
    ...     column_label("rows_read")
    '읽은 행'
    """
    key = f"columns.{name}"
    return t(key) if isinstance(name, str) and has(key) else human_label(name)


def show(table: Any, caption: str | None = None, columns: Mapping[str, str] | None = None, *,
         caption_values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Display a table (:func:`show_table`) once per report language.

    Parameters
    ----------
    table : DataFrame or callable
        The table, or a function that returns it (called in each language, for
        tables with words in their cells).
    caption : str, optional
        Catalogue key of the caption.
    caption_values : mapping, optional
        Values of the caption's placeholders (escaped like :func:`say`'s; a callable is called in each language).
    columns : mapping, optional
        ``{column: catalogue key}``: headers shown in the report language.
        ``percent_columns``, ``money_columns`` and ``count_columns`` in ``kwargs``
        name the original columns.
    **kwargs
        Passed to :func:`show_table`.
    """
    for lang in report_languages():
        with using(lang):
            df = _in_language(table)
            names = {c: t(k) for c, k in (columns or {}).items()}
            opts = {k: (tuple(names.get(c, c) for c in v) if k in ("percent_columns", "money_columns") else v)
                    for k, v in kwargs.items()}
            if "count_columns" in opts and opts["count_columns"] is not None:
                cc = opts["count_columns"]
                opts["count_columns"] = names.get(cc, cc) if isinstance(cc, str) else [names.get(c, c) for c in cc]
            # a caption is plain text that show_table escapes as HTML: values are scrubbed, not Markdown-escaped
            # (``_safe_values`` would show 'purchases\\_365d' and escape '&' twice)
            vals = {k: _in_language(v) for k, v in (caption_values or {}).items()}
            vals = {k: v if isinstance(v, (int, float)) and not isinstance(v, bool) else scrub_shown(v) for k, v in vals.items()}
            text = t(caption, **vals) if caption else None
            _display(show_table(df.rename(columns=names), caption=text, **opts), lang)


def figure(draw: Callable[[], Any]) -> None:
    """Draw and display a figure once per report language (its labels in that language), then close it.

    ``draw`` makes the figure with the plotting functions (which word their
    titles, axes and legends through the catalogue) and returns an Axes, an
    array of Axes or a Figure.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    register_hangul_font()  # Korean labels (and Korean data values on English pages) need it
    for lang in report_languages():
        with using(lang):
            out = draw()
            first = out.flat[0] if isinstance(out, np.ndarray) else out
            fig = getattr(first, "figure", None) or (first if hasattr(first, "savefig") else plt.gcf())
            _display(fig, lang)
            plt.close(fig)


def md(template: str, **values: Any):
    """Markdown whose substituted values are escaped and scrubbed of personal data.

    Parameters
    ----------
    template : str
        Markdown with ``{name}`` fields (str.format syntax); the template itself
        is trusted (written in the notebook), the values are not.
    **values
        Values to substitute. Numbers keep format specs, e.g. ``{n:,}``.

    Returns
    -------
    IPython.display.Markdown
    """
    from IPython.display import Markdown

    return Markdown(template.format(**_safe_values(values)))


SUPPRESSED = "suppressed"  # what show_table writes in the value cells of a suppressed row (English; common.suppressed)


def suppressed_marker() -> str:
    """What :func:`show_table` writes in the value cells of a suppressed row, in the report language.

    >>> from ecrm_lib.core.language import using
    >>> suppressed_marker()
    'suppressed'
    >>> with using("ko"):
    ...     suppressed_marker()
    '비공개'
    """
    return t("common.suppressed")


def _not_figures() -> set[str]:
    """Cell words that are not figures (not available, suppressed) in every report language."""
    out = {SUPPRESSED}
    for lang in LANGUAGES:
        with using(lang):
            out |= {t("common.suppressed"), t("common.not_available")}
    return out


def _small_rows(df: pd.DataFrame, count_columns: str | Sequence[str], min_cell: int) -> np.ndarray:
    """Rows to suppress: a count below ``min_cell``, or already flagged by a boolean ``suppressed`` column."""
    cols = [count_columns] if isinstance(count_columns, str) else list(count_columns)
    missing = [c for c in cols if c not in df.columns]
    if missing or not cols:
        raise KeyError(f"count column(s) {missing or cols} not in the table; columns are {list(map(str, df.columns))}")
    small = np.zeros(len(df), bool)
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").astype(float)
        small |= ((v > 0) & (v < min_cell)).to_numpy()  # zero describes nobody
    if "suppressed" in df.columns and pd.api.types.is_bool_dtype(df["suppressed"]):
        small |= df["suppressed"].fillna(False).to_numpy(bool)
    return small


def _mark_suppressed(shown: pd.DataFrame, fmt: dict, small: np.ndarray, counts: set, min_cell: int):
    """Write ``<min_cell>`` / ``suppressed`` into the value cells of the small rows (others formatted as before)."""
    shown, fmt = shown.copy(), dict(fmt)
    for j, c in enumerate(shown.columns):
        col = shown.iloc[:, j]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)
                or pd.api.types.is_timedelta64_dtype(col)):
            continue  # a label column (text, category): stays, so the reader sees which group is hidden
        f = fmt.get(c, str)
        marker = f"<{min_cell}" if c in counts else suppressed_marker()
        cells = [marker if s else ("" if v is None or v is pd.NA or (not isinstance(v, bool) and pd.isna(v)) else f(v))
                 for v, s in zip(col, small)]
        shown.isetitem(j, pd.Series(cells, index=shown.index, dtype=object))
        fmt[c] = lambda v: v
    return shown, fmt


_FIGURE = re.compile(r"^\s*(<\d|[+\-\u2212]?[\d.,]+\s*(%|%p|points?|[A-Z]{3}|million|billion|만|억|조|원)?)")


def _whole(col: pd.Series) -> bool:
    """A float column whose values are all whole numbers (counts stored as floats)."""
    v = col.dropna()
    return bool(len(v)) and bool(np.isfinite(v).all()) and bool((v == np.round(v)).all())


def _numeric_looking(col: pd.Series) -> bool:
    """Numbers (right-aligned): numeric dtypes, and text columns whose cells are formatted figures."""
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_timedelta64_dtype(col):
        return True
    if pd.api.types.is_datetime64_any_dtype(col):
        return False
    cells = [str(v) for v in col if v is not None and v is not pd.NA and not (isinstance(v, float) and np.isnan(v))
             and str(v).strip() and str(v) not in _not_figures()]
    return bool(cells) and sum(bool(_FIGURE.match(c)) for c in cells) >= 0.8 * len(cells)


def show_table(
    df: pd.DataFrame,
    caption: str | None = None,
    precision: int = 2,
    max_rows: int = 50,
    percent_columns: tuple[str, ...] = (),
    money_columns: tuple[str, ...] = (),
    show_index: bool | None = None,
    count_columns: str | Sequence[str] | None = None,
    min_cell: int = 5,
    labels: bool = True,
):
    """A Styler that escapes cells, index labels and caption; refuses personal data; can suppress small cells.

    It is the one table format of the pages (issue 15): column headers in
    words (``mean_clv`` -> "Mean CLV", :func:`ecrm_lib.core.format.human_label`;
    ``labels=False`` keeps them), whole-valued numbers as integers, other
    numbers with ``precision`` decimals and never in scientific notation (tiny
    values keep two significant digits), true/false as yes/no in the report
    language, numbers right-aligned and text left-aligned (a text column
    whose cells are formatted figures, such as "1.2 million KRW" or "-36.1%",
    counts as numbers).

    Parameters
    ----------
    df : DataFrame
        The table to show. Columns named name, email or phone are refused.
    caption : str, optional
        Shown above the table (escaped).
    precision : int
        Decimals for floats.
    max_rows : int
        At most this many rows are shown (the caption says so when cut).
    percent_columns : tuple of str
        Columns holding shares (0-1) shown as percentages.
    money_columns : tuple of str
        Money columns, shown rounded to whole units with thousands separators.
    show_index : bool, optional
        Show the row labels; default: only when they are not a plain 0..n-1 range.
    count_columns : str or sequence of str, optional
        Opt-in small-cell suppression (see :func:`suppress_small_cells`): the column(s)
        holding the number of customers / accounts / answers each row describes. A row
        whose count (any of them) is below ``min_cell`` (and above 0: zero describes nobody) shows ``<5`` (``<{min_cell}``) in
        its count columns and ``suppressed`` in every other value cell (numeric, boolean
        and date columns); its label cells (text or category columns, the index) stay,
        so the reader sees which group was hidden. Rows already marked by a boolean
        ``suppressed`` column (the output of :func:`suppress_small_cells`,
        ``uplift.uplift_by_segment``, ``satisfaction.satisfaction_by``) are shown the same
        way, and that column is not displayed. The caption then says that cells were
        suppressed. Counts that are missing do not suppress a row. Numbers stored as text
        are labels to this rule: pass figures as numbers.
    min_cell : int
        Smallest count shown (default 5: a row of 5 customers is shown, one of 4 is not).
    labels : bool
        Show snake_case column names as words (default); the other options
        always name the original columns.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["vip", "new"], "customers": [4, 120], "mean_clv": [9e6, 1.2e5]})
    >>> html = show_table(t, count_columns="customers", money_columns=("mean_clv",)).to_html()
    >>> "9,000,000" in html, "&lt;5" in html, "120,000" in html
    (False, True, True)
    """
    leaked = personal_columns(df.columns)
    if leaked:
        raise ValueError(f"show_table refuses personal-data column(s) {leaked}: drop them or show counts instead.")
    small = _small_rows(df, count_columns, min_cell) if count_columns is not None else None
    if small is not None and "suppressed" in df.columns:
        df = df.drop(columns="suppressed")
    shown = df.head(max_rows)
    note = f" ({t('common.first_rows', shown=max_rows, total=len(df))})" if len(df) > max_rows else ""
    shown = shown.copy()
    shown.columns = [scrub_shown(c) for c in shown.columns]
    if not (pd.api.types.is_numeric_dtype(shown.index.dtype) or pd.api.types.is_datetime64_any_dtype(shown.index.dtype)):
        shown.index = [scrub_shown(i) for i in shown.index]
    fmt = {}
    for c in shown.columns:
        if c in percent_columns:
            fmt[c] = lambda v: format_number(v, "%", 1)
        elif c in money_columns:
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:,.0f}"
        elif pd.api.types.is_bool_dtype(shown[c]):
            fmt[c] = lambda v: "" if v is None or v is pd.NA else (t("table.yes") if v else t("table.no"))
        elif pd.api.types.is_float_dtype(shown[c]) and _whole(shown[c]):
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:,.0f}"
        elif pd.api.types.is_float_dtype(shown[c]):
            fmt[c] = lambda v, p=precision: "" if pd.isna(v) else format_decimal(v, p)
        elif pd.api.types.is_integer_dtype(shown[c]):
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:,}"
        elif not pd.api.types.is_bool_dtype(shown[c]) and not pd.api.types.is_datetime64_any_dtype(shown[c]):
            # pandas escapes str cells before the formatter; other objects are escaped here
            fmt[c] = lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else (
                scrub_shown(v) if isinstance(v, str) else escape(scrub_shown(v)))
    right = [c for c in shown.columns if _numeric_looking(shown[c])]
    if small is not None and small[: len(shown)].any():
        counts = {scrub_shown(c) for c in ([count_columns] if isinstance(count_columns, str) else count_columns)}
        shown, fmt = _mark_suppressed(shown, fmt, small[: len(shown)], counts, min_cell)
        note += "; " + t("common.suppressed_note", n=min_cell)
    styler = shown.style.format(fmt, escape="html", na_rep="").format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if labels:
        styler = styler.format_index(column_label, axis=1, escape="html")
    left = [c for c in shown.columns if c not in right]
    if right:
        styler = styler.set_properties(subset=right, **{"text-align": "right"})
    if left:
        styler = styler.set_properties(subset=left, **{"text-align": "left"})
    styler = styler.set_table_styles([{"selector": "th.col_heading", "props": [("text-align", "left")]}], overwrite=False)
    if right and shown.columns.is_unique:
        styler = styler.set_table_styles({c: [{"selector": "th", "props": [("text-align", "right")]}] for c in right},
                                         overwrite=False)
    if show_index is None:
        show_index = not isinstance(df.index, pd.RangeIndex)
    if not show_index:
        styler = styler.hide(axis="index")
    if caption is not None or note:
        text = (caption or "") + note
        styler = styler.set_caption(escape(scrub_shown(text[2:] if text.startswith("; ") else text)))
    return styler

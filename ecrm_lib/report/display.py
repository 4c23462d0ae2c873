"""Display helpers that keep rendered reports safe to share.

Rules the notebooks follow (tests check the rendered HTML):

- tables go through :func:`show_table`, which escapes every cell, index label
  and caption (pandas' Styler does not escape by default, so text from the data
  could run as script in the HTML);
- prose built from data goes through :func:`md`, which escapes the values it
  substitutes (``IPython.display.Markdown(f"...")`` would not);
- free text from the data (feedback, error messages) goes through
  :func:`scrub_pii` first, which masks e-mail addresses and phone numbers;
- personal-data columns (name, email, phone) are never displayed:
  :func:`show_table` refuses them;
- small cells: a table that aggregates customers (by segment, channel, month,
  decile, ...) never shows a row describing fewer than 5 of them. Pass the
  column(s) holding the number of customers each row describes as
  ``show_table(..., count_columns=...)``: such rows show ``<5`` in the counts
  and ``suppressed`` in every other value cell. :func:`suppress_small_cells`
  does the same in computation (missing values), for tables that are also
  plotted or written as products.
"""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["suppress_small_cells", "SUPPRESSED", "count_text", "scrub_pii", "name_pattern", "personal_columns", "escape", "md", "show_table", "format_number", "PII_COLUMNS"]

PII_COLUMNS = frozenset({"name", "email", "phone"})
# Whole column names (lower-cased, spaces and dashes as "_") that hold personal data. Measures
# named after a channel (share_contacts_phone, n_email) are not personal data and do not match.
_PII_COLUMN = re.compile(
    r"(customer|full|first|last|given|family|contact|account|holder|person)?_?name|surname"
    r"|e_?mail(_?address)?|mail_?address"
    r"|(phone|mobile|cell|cellphone|tel|telephone)(_?(number|no|num|phone))?"
    r"|(street|home|postal)?_?address"
)


def personal_columns(columns: Any) -> list[str]:
    """The column names that look like personal data (name, e-mail, phone, mobile, address).

    Examples
    --------
    >>> personal_columns(["customer_id", "Customer Name", "email_address", "channel_name", "phone", "share_contacts_phone"])
    ['Customer Name', 'email_address', 'phone']
    """
    return [str(c) for c in columns if _PII_COLUMN.fullmatch(re.sub(r"[\s\-]+", "_", str(c).strip().lower()))]

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s*@\s*[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Phone-like: optional +, then 8 or more digits that may be split by spaces, dots, dashes or brackets.
_PHONE = re.compile(r"(?<![\w])\+?\(?\d(?:[\s.\-()]*\d){7,}(?![\w])")
# A run that starts like a calendar date (2025-06-30, 2025/06/30 14) is a date, not a phone.
_DATE_START = re.compile(r"(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])(?!\d)")


def _mask_phone(m: re.Match) -> str:
    return m.group(0) if _DATE_START.match(m.group(0)) else "[phone]"


def name_pattern(names: Any) -> re.Pattern | None:
    """A regex matching any of the given personal names, for :func:`scrub_pii`.

    Parameters
    ----------
    names : iterable of str
        Names as the channels wrote them (e.g. the accounts table's ``name``
        column). Each is matched as written and without its inner spaces;
        names shorter than 2 characters are ignored.

    Returns
    -------
    re.Pattern or None
        None when there is no usable name.

    Examples
    --------
    >>> scrub_pii("Ask for 김 민준 or Kim Minjun", names=name_pattern(["김 민준", "Kim Minjun"]))
    'Ask for [name] or [name]'
    """
    import unicodedata

    variants: set[str] = set()
    for n in names:
        if n is None or n is pd.NA or (isinstance(n, float) and pd.isna(n)):
            continue
        n = unicodedata.normalize("NFC", str(n)).strip()
        for v in (n, re.sub(r"\s+", "", n), re.sub(r"\s+", " ", n)):
            if len(v) >= 2:
                variants.add(v)
    if not variants:
        return None
    alternatives = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", flags=re.IGNORECASE)


def scrub_pii(text: Any, names: re.Pattern | None = None) -> str:
    """Mask e-mail addresses, phone numbers and (optionally) known names in free text.

    Parameters
    ----------
    text : object
        Any value; converted with ``str`` (missing values become "").
    names : re.Pattern, optional
        From :func:`name_pattern`: known personal names, replaced by ``[name]``.

    Returns
    -------
    str
        The text with e-mails replaced by ``[email]`` and phone-like digit runs
        (8 or more digits) by ``[phone]``.

    Examples
    --------
    >>> scrub_pii("call 010-1234-5678 or mail Kim.M@Example.com")
    'call [phone] or mail [email]'
    """
    if text is None or (isinstance(text, float) and pd.isna(text)) or text is pd.NA:
        return ""
    import unicodedata

    text = _EMAIL.sub("[email]", unicodedata.normalize("NFC", str(text)))
    if names is not None:
        text = names.sub("[name]", text)
    return _PHONE.sub(_mask_phone, text)


def escape(value: Any) -> str:
    """HTML-escape a value for Markdown or HTML output (quotes included)."""
    return html.escape(str(value), quote=True)


def format_number(value: Any, unit: str | None = None, digits: int = 0) -> str:
    """Format a number with thousands separators and an optional unit.

    Examples
    --------
    >>> format_number(1234567.891, "KRW")
    '1,234,568 KRW'
    >>> format_number(0.4567, "%", digits=1)
    '45.7%'
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    if unit == "%":
        return f"{100 * float(value):,.{digits}f}%"
    text = f"{float(value):,.{digits}f}" if isinstance(value, (float, int)) else str(value)
    return f"{text} {unit}" if unit else text


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

    safe = {}
    for k, v in values.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            safe[k] = v
        else:
            # Escape HTML and the Markdown characters that could build links or images.
            text = escape(scrub_pii(v))
            safe[k] = re.sub(r"([\[\]()!`*_])", r"\\\1", text)
    return Markdown(template.format(**safe))


def suppress_small_cells(df: pd.DataFrame, count_col: str | Sequence[str], min_count: int = 5,
                         columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Blank out cells that describe fewer than ``min_count`` customers (small-cell suppression).

    Any table in a report that describes fewer than 5 customers in a cell shows that
    cell as suppressed: a mean, share or total over 3 people says something about
    each of them. Use this in computation (the returned table keeps the rows, with
    missing values); :func:`show_table` with ``count_columns=`` applies the same
    rule at display time and writes the suppressed cells as ``<5`` / ``suppressed``.

    Parameters
    ----------
    df : DataFrame
        One row per group (segment, channel, month, decile, ...).
    count_col : str or list of str
        Count column(s) holding the number of customers (or accounts, answers) each row
        describes; a row is suppressed when any of them is below ``min_count`` but above 0
        (a count of zero describes nobody and is shown).
    min_count : int
        Smallest count shown (default 5).
    columns : list of str, optional
        Columns blanked (set missing) in suppressed rows; default: every numeric column,
        the count columns included (a count of 3 would itself describe 3 customers).

    Returns
    -------
    DataFrame
        A copy with those cells missing (integer columns become nullable ``Int64``, others float)
        and a boolean column ``suppressed``.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["a", "b"], "n": [3, 40], "rate": [0.33, 0.1]})
    >>> suppress_small_cells(t, "n")
      segment     n  rate  suppressed
    0       a  <NA>   NaN        True
    1       b    40   0.1       False

    The threshold is inclusive of ``min_count``: 5 customers are shown, 4 are not.

    >>> suppress_small_cells(pd.DataFrame({"n": [4, 5, 0]}), "n")["suppressed"].tolist()
    [True, False, False]
    """
    cols = [count_col] if isinstance(count_col, str) else list(count_col)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"count column(s) {missing} not in the table; columns are {list(df.columns)}")
    out = df.copy()
    small = np.zeros(len(out), bool)
    for c in cols:
        v = out[c].astype(float)
        small |= ((v > 0) & (v < min_count)).to_numpy()  # zero describes nobody
    blank = list(columns) if columns is not None else [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    for c in blank:
        if pd.api.types.is_integer_dtype(out[c]):
            out[c] = out[c].astype("Int64")  # counts stay whole numbers, with <NA> where suppressed
            out.loc[small, c] = pd.NA
        else:
            out[c] = out[c].astype(float)
            out.loc[small, c] = np.nan
    out["suppressed"] = small
    return out


def count_text(n: Any, min_cell: int = 5) -> str:
    """A count of customers for prose, with small-cell suppression: "fewer than 5" below ``min_cell``.

    Zero is written "none": it describes nobody, so it reveals nothing.

    Examples
    --------
    >>> count_text(1234), count_text(4), count_text(0), count_text(None)
    ('1,234', 'fewer than 5', 'none', 'n/a')
    """
    if n is None or n is pd.NA or (isinstance(n, float) and pd.isna(n)):
        return "n/a"
    if float(n) == 0:
        return "none"
    return f"fewer than {min_cell}" if float(n) < min_cell else f"{int(n):,}"


SUPPRESSED = "suppressed"  # what show_table writes in the value cells of a suppressed row


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
        marker = f"<{min_cell}" if c in counts else SUPPRESSED
        cells = [marker if s else ("" if v is None or v is pd.NA or (not isinstance(v, bool) and pd.isna(v)) else f(v))
                 for v, s in zip(col, small)]
        shown.isetitem(j, pd.Series(cells, index=shown.index, dtype=object))
        fmt[c] = lambda v: v
    return shown, fmt


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
):
    """A Styler that escapes cells, index labels and caption; refuses personal data; can suppress small cells.

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
    note = f" (first {max_rows} of {len(df):,} rows)" if len(df) > max_rows else ""
    shown = shown.copy()
    shown.columns = [scrub_pii(c) for c in shown.columns]
    if not (pd.api.types.is_numeric_dtype(shown.index.dtype) or pd.api.types.is_datetime64_any_dtype(shown.index.dtype)):
        shown.index = [scrub_pii(i) for i in shown.index]
    fmt = {}
    for c in shown.columns:
        if c in percent_columns:
            fmt[c] = lambda v: format_number(v, "%", 1)
        elif c in money_columns:
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:,.0f}"
        elif pd.api.types.is_float_dtype(shown[c]):
            fmt[c] = lambda v, p=precision: "" if pd.isna(v) else f"{v:,.{p}f}"
        elif pd.api.types.is_integer_dtype(shown[c]):
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:,}"
        elif not pd.api.types.is_bool_dtype(shown[c]) and not pd.api.types.is_datetime64_any_dtype(shown[c]):
            # pandas escapes str cells before the formatter; other objects are escaped here
            fmt[c] = lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else (
                scrub_pii(v) if isinstance(v, str) else escape(scrub_pii(v)))
    if small is not None and small[: len(shown)].any():
        counts = {scrub_pii(c) for c in ([count_columns] if isinstance(count_columns, str) else count_columns)}
        shown, fmt = _mark_suppressed(shown, fmt, small[: len(shown)], counts, min_cell)
        note += f"; cells describing fewer than {min_cell} customers are suppressed"
    styler = shown.style.format(fmt, escape="html", na_rep="").format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if show_index is None:
        show_index = not isinstance(df.index, pd.RangeIndex)
    if not show_index:
        styler = styler.hide(axis="index")
    if caption is not None or note:
        text = (caption or "") + note
        styler = styler.set_caption(escape(scrub_pii(text[2:] if text.startswith("; ") else text)))
    return styler

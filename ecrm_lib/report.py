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
  :func:`show_table` refuses them.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

__all__ = ["scrub_pii", "name_pattern", "personal_columns", "escape", "md", "show_table", "format_number", "PII_COLUMNS"]

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


def show_table(
    df: pd.DataFrame,
    caption: str | None = None,
    precision: int = 2,
    max_rows: int = 50,
    percent_columns: tuple[str, ...] = (),
    money_columns: tuple[str, ...] = (),
    show_index: bool | None = None,
):
    """A Styler that escapes cells, index labels and caption; refuses personal data.

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

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    leaked = personal_columns(df.columns)
    if leaked:
        raise ValueError(f"show_table refuses personal-data column(s) {leaked}: drop them or show counts instead.")
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
    styler = shown.style.format(fmt, escape="html", na_rep="").format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if show_index is None:
        show_index = not isinstance(df.index, pd.RangeIndex)
    if not show_index:
        styler = styler.hide(axis="index")
    if caption is not None or note:
        styler = styler.set_caption(escape(scrub_pii((caption or "") + note)))
    return styler

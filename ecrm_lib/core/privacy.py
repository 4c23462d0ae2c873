"""Personal data and small cells: what a shareable report must never show.

- personal-data columns (name, e-mail, phone, address) are recognised by
  :func:`personal_columns` and never displayed or written to a shared product;
- free text from the data goes through :func:`scrub_pii`, which masks e-mail
  addresses, phone numbers and (given :func:`name_pattern`) known names;
- small cells: a figure that describes fewer than 5 customers is suppressed:
  :func:`suppress_small_cells` in tables, :func:`count_text` in prose.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["PII_COLUMNS", "personal_columns", "name_pattern", "name_words", "scrub_pii", "scrub_shown", "MASKS", "suppress_small_cells", "count_text", "people_text",
           "count_label", "mask_small_counts", "mask_count_text", "mask_people_counts"]

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


# Phone-like: optional +, then 8 or more digits that may be split by spaces, dots, dashes or brackets; not
# inside a longer Latin word or number, but masked when a Korean particle follows or a word precedes it
# ("010-1234-5678로", "번호010-1234-5678": Hangul is a word character to ``\w``).
_PHONE = re.compile(r"(?<![0-9A-Za-z_])\+?\(?\d(?:[\s.\-()]*\d){7,}(?![0-9A-Za-z_])")


# A run that starts like a calendar date (2025-06-30, 2025/06/30 14) is a date, not a phone.
_DATE_START = re.compile(r"(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])(?!\d)")


def _mask_phone(m: re.Match) -> str:
    # "(2024-07-01" starts with the bracket the phone pattern allows: look past it
    return m.group(0) if _DATE_START.match(m.group(0).lstrip("+(")) else "[phone]"


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
    >>> scrub_pii("김민준님 감사합니다, not Kim Minjuns", names=name_pattern(["김민준", "Kim Minjun"]))
    '[name]님 감사합니다, not Kim Minjuns'
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
    # a Korean name is followed by a particle or title in the same word (김민준님, 김민준이): after a name,
    # only a letter that is not Hangul means it was part of a longer word
    return re.compile(rf"(?<!\w)(?:{alternatives})(?![^\W\uac00-\ud7a3])", flags=re.IGNORECASE)


def name_words(names: re.Pattern | None) -> frozenset[str]:
    """The words a tokenizer can cut from the known names of a :func:`name_pattern` (lower case).

    Each name as written, without spaces, each of its space-separated parts, and for a
    Hangul name of 3-4 syllables written without a space its given name (all but the first
    syllable: 김민준 -> 민준); parts shorter than 2 characters are left out. A word list
    (topic words, top terms) must not show any of them.

    Examples
    --------
    >>> sorted(name_words(name_pattern(["김민준", "Kim Minjun"])))
    ['kim', 'kim minjun', 'kimminjun', 'minjun', '김민준', '민준']
    """
    if names is None:
        return frozenset()
    body = names.pattern.split("(?:", 1)[1].rsplit(")(?!", 1)[0]
    out: set[str] = set()
    for alt in re.split(r"(?<!\\)\|", body):
        v = re.sub(r"\\(.)", r"\1", alt).strip().lower()
        parts = [v, v.replace(" ", ""), *v.split()]
        if " " not in v and 3 <= len(v) <= 4 and all("\uac00" <= ch <= "\ud7a3" for ch in v):
            parts.append(v[1:])
        out.update(x for x in parts if len(x) >= 2)
    return frozenset(out)


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
    >>> scrub_pii("010-1234-5678로 전화 주세요 (주문번호A12345678, 2025-06-30 14:00)")
    '[phone]로 전화 주세요 (주문번호A12345678, 2025-06-30 14:00)'
    """
    if text is None or (isinstance(text, float) and pd.isna(text)) or text is pd.NA:
        return ""
    import unicodedata

    text = _EMAIL.sub("[email]", unicodedata.normalize("NFC", str(text)))
    if names is not None:
        text = names.sub("[name]", text)
    return _PHONE.sub(_mask_phone, text)


MASKS = {"[email]": "email", "[phone]": "phone", "[name]": "name"}
"""The tokens :func:`scrub_pii` writes (language-neutral: products, tokenised texts and logs keep them) and
their catalogue keys (``common.masked.<key>``) for pages."""

_MASK = re.compile("|".join(re.escape(k) for k in MASKS))


def scrub_shown(text: Any, names: re.Pattern | None = None) -> str:
    """:func:`scrub_pii` for a page: the masks read in the report language (``[이메일]``, ``[전화번호]``,
    ``[이름]`` on a Korean page; English unchanged). Text already scrubbed (a product) is worded the same way.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> scrub_shown("call 010-1234-5678 or mail Kim.M@Example.com")
    'call [phone] or mail [email]'
    >>> with using("ko"):
    ...     scrub_shown("010-1234-5678로 연락 주세요, 메일은 Kim.M@Example.com"), scrub_shown("이미 가린 [phone]")
    ('[전화번호]로 연락 주세요, 메일은 [이메일]', '이미 가린 [전화번호]')
    """
    from ecrm_lib.core.i18n import t  # the catalogue reads the language; imported here to keep privacy light

    out = scrub_pii(text, names)
    return _MASK.sub(lambda m: t(f"common.masked.{MASKS[m.group(0)]}"), out) if "[" in out else out


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

    Zero is written "none": it describes nobody, so it reveals nothing; a missing count is
    "not available".

    The words are the report language's (``common.none``, ``common.fewer_than``,
    ``common.not_available``).

    Examples
    --------
    >>> count_text(1234), count_text(4), count_text(0), count_text(None)
    ('1,234', 'fewer than 5', 'none', 'not available')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     count_text(4), count_text(0), count_text(None)
    ('5명 미만', '없음', '자료 없음')
    """
    from ecrm_lib.core.i18n import t  # the catalogue reads the language; imported here to keep privacy light

    if n is None or n is pd.NA or (isinstance(n, float) and pd.isna(n)):
        return t("common.not_available")
    if float(n) == 0:
        return t("common.none")
    return t("common.fewer_than", n=min_cell) if float(n) < min_cell else f"{int(n):,}"


def people_text(n: Any, min_cell: int = 5) -> str:
    """A count of people for a sentence with the report language's counter: :func:`count_text`, and in
    Korean a whole count gets 명 (``1,234명``; ``5명 미만`` and ``없음`` already read as counts of people).

    >>> from ecrm_lib.core.language import using
    >>> people_text(1234), people_text(3)
    ('1,234', 'fewer than 5')
    >>> with using("ko"):
    ...     people_text(1234), people_text(3), people_text(0)
    ('1,234명', '5명 미만', '없음')
    """
    from ecrm_lib.core.language import get_language

    text = count_text(n, min_cell)
    return text + "명" if get_language() == "ko" and re.fullmatch(r"[\d,]+", text) else text


def count_label(n: Any, min_cell: int = 5) -> str:
    """A count of people for a table cell or a figure label: ``<5`` for 1 to ``min_cell - 1``, else the count.

    Zero stays ``0`` (it describes nobody); a missing count is an empty label.

    Examples
    --------
    >>> [count_label(x) for x in (0, 3, 5, 1234.0, None)]
    ['0', '<5', '5', '1,234', '']
    """
    if n is None or n is pd.NA or (isinstance(n, float) and pd.isna(n)):
        return ""
    return f"<{min_cell}" if 0 < float(n) < min_cell else f"{float(n):,.0f}"


def mask_small_counts(df: pd.DataFrame, columns: str | Sequence[str], min_count: int = 5) -> pd.DataFrame:
    """Counts of 1 to ``min_count - 1`` people written ``<5`` in the given columns only, for display.

    Unlike :func:`suppress_small_cells`, the rest of the row stays: use it for a count that is one
    part of a row describing more people (responders among the customers of a campaign arm, whose
    response rate describes the whole arm).

    Examples
    --------
    >>> mask_small_counts(pd.DataFrame({"arm": ["a", "b", "c"], "responders": [0, 3, 12]}), "responders")["responders"].tolist()
    ['0', '<5', '12']
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    out = df.copy()
    for c in cols:
        if c not in out:
            continue
        v = pd.to_numeric(out[c], errors="coerce")
        out[c] = [count_label(x, min_count) for x in v]
    return out


def mask_count_text(text_counts: Sequence[tuple[str, Any]], min_count: int = 5) -> str:
    """``"a: 1,204, b: <5"``: labelled counts of people as text, 1-4 written ``<5``.

    >>> mask_count_text([("control", 24), ("treatment", 3)])
    'control: 24, treatment: <5'
    """
    return ", ".join(f"{k}: {count_label(v, min_count)}" for k, v in text_counts)


_SMALL_PEOPLE = re.compile(r"(?<![\d.,])\b([1-4])(\s+)((?:repeat\s+|treated\s+|control\s+)?(?:customers?|accounts?|buyers?|persons?|"
                           r"people|responders?|targets?|answers?|look-?alikes?)\b)", flags=re.I)


def mask_people_counts(text: Any, min_cell: int = 5) -> str:
    """A sentence built elsewhere (an exception's reason, a library note) with its counts of 1-4 people written
    "fewer than 5": the safety net for text the notebook shows but did not word itself.

    Examples
    --------
    >>> mask_people_counts("only 1 repeat buyers have a positive spend (of 3 customers); 12 accounts and 2.5 weeks")
    'only fewer than 5 repeat buyers have a positive spend (of fewer than 5 customers); 12 accounts and 2.5 weeks'

    Korean counts of people (``3명``) are masked the same way:

    >>> mask_people_counts("반복 구매 고객 3명, 고객 12명, 2.5주")
    '반복 구매 고객 5명 미만, 고객 12명, 2.5주'
    """
    if min_cell != 5:
        pattern = re.compile(_SMALL_PEOPLE.pattern.replace("[1-4]", f"[1-{min_cell - 1}]"), flags=re.I)
    else:
        pattern = _SMALL_PEOPLE
    small = "".join(str(i) for i in range(1, min_cell))
    text = pattern.sub(lambda m: f"fewer than {min_cell}{m.group(2)}{m.group(3)}", str(text))
    return re.sub(rf"(?<![\d.,])[{small}]\s*명(?!\s*미만)", f"{min_cell}명 미만", text)

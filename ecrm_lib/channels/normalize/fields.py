"""E-mail, phone and postcode rules: Arrow functions, pandas Series API and engine expressions.

Each rule exists in three forms that give the same result:

- an *Arrow function* (:func:`email_rule`, :func:`phone_rule`, :func:`postcode_rule`):
  Arrow string array in, array of the same length out (the reference);
- a pandas Series function (:func:`normalize_email`, :func:`normalize_phone`,
  :func:`normalize_postcode`, :func:`phone_is_mobile`) that applies the Arrow
  function to the distinct values only;
- an Ibis expression for values of printable ASCII only
  (:func:`email_expression`, :func:`phone_fast_expression`,
  :func:`postcode_expression`), used by the engine path; every other value goes
  through the Arrow function (``tests/test_identity.py`` checks that both agree).

The rules themselves are described in :mod:`ecrm_lib.channels.normalize`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecrm_lib.channels.normalize.common import (
    clean_text,
    concat_strings,
    map_distinct,
    null_where_not,
)

__all__ = [
    "EMAIL_PATTERN",
    "KR_MOBILE_SHAPE",
    "email_expression",
    "email_rule",
    "kr_phone_patterns",
    "normalize_email",
    "normalize_phone",
    "normalize_postcode",
    "phone_fast_expression",
    "phone_is_mobile",
    "phone_rule",
    "postcode_expression",
    "postcode_rule",
]

#: A conservative e-mail address (after lower-casing): one ``@``, a dotted domain,
#: a top-level domain of 2-24 letters, no ``..``.
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}$"
)
_WS = r"[\s\p{Z}]+"  # RE2 (Arrow): ASCII whitespace and every Unicode space separator
_GMAIL = r"@(?:gmail|googlemail)\.com$"

#: Shape of a Korean mobile number (national significant number): 010 + 8 digits,
#: or the older 011, 016-019 + 7 or 8 digits.
KR_MOBILE_SHAPE = r"10\d{8}|1[16-9]\d{7,8}"

# The phone fast path, step by step (the same regular expressions in Arrow and in the engine).
_KR_INTL_PREFIX = r"^00[\s.\-]*82"  # "0082 10 ..." (Korea's international prefix) -> "+82"
_PLAIN_PHONE = r"^\+?[\d\s\-.()]+$"  # only digits and separators
_NOT_DIGIT = r"[^\d+]"
_NATIONAL_PREFIX = r"^(?:\+82|0)"
_TO_NSN = r"^(?:\+820?|0)"  # "+82", "+82(0)" or the trunk 0 before the national significant number


# --------------------------------------------------------------------- e-mail
def email_rule(u: pa.Array, *, fold_gmail: bool = False) -> pa.Array:
    """The e-mail rule on an Arrow string array (see :func:`normalize_email`)."""
    s = pc.utf8_lower(pc.replace_substring_regex(clean_text(u), _WS, ""))
    s = pc.replace_substring_regex(s, r"^mailto:", "")
    s = null_where_not(s, pc.match_substring_regex(s, EMAIL_PATTERN))
    if fold_gmail:
        is_g = pc.match_substring_regex(s, _GMAIL)
        local = pc.replace_substring_regex(s, r"@.*$", "")
        local = pc.replace_substring(pc.replace_substring_regex(local, r"\+.*$", ""), ".", "")
        folded = concat_strings(local, "@gmail.com")
        use = pc.and_(pc.fill_null(is_g, False), pc.greater(pc.utf8_length(local), 0))
        s = pc.if_else(pc.fill_null(use, False), folded, s)
    return s


def normalize_email(raw: pd.Series, *, fold_gmail: bool = False) -> pd.Series:
    """Normalise e-mail addresses; strings that are not addresses become missing.

    Parameters
    ----------
    raw : Series of str
        E-mails as the channels wrote them.
    fold_gmail : bool, default False
        Drop dots and ``+tag`` from the local part of ``gmail.com`` and
        ``googlemail.com`` addresses (Gmail ignores them). Off by default: it is
        right only for Gmail, and wrong folding merges different people.

    Returns
    -------
    Series of str (pandas ``string``)
        Lower-case addresses without whitespace, or ``<NA>``.

    Examples
    --------
    >>> import pandas as pd
    >>> normalize_email(pd.Series(["K.I.M+shop@GMAIL.com"]), fold_gmail=True).tolist()
    ['kim@gmail.com']
    """
    return map_distinct(raw, lambda u: email_rule(u, fold_gmail=fold_gmail))


def email_expression(col, *, fold_gmail: bool = False):
    """The e-mail rule as an Ibis expression, for values of printable ASCII only.

    NFKC and the zero-width characters change nothing there, and the space is
    their only whitespace.
    """
    import ibis

    s = col.replace(" ", "").lower().re_replace(r"^mailto:", "")
    s = ibis.ifelse(s.re_search(EMAIL_PATTERN), s, ibis.null("string"))
    if fold_gmail:
        local = s.re_replace(r"@.*$", "").re_replace(r"\+.*$", "").replace(".", "")
        use = s.re_search(_GMAIL).fill_null(False) & (local.length() > 0).fill_null(False)
        s = ibis.ifelse(use, local + "@gmail.com", s)
    return s


# ---------------------------------------------------------------------- phone
def kr_phone_patterns() -> tuple[str, str]:
    """National-number patterns of Korean mobile and fixed-line numbers in ``phonenumbers``' metadata."""
    import phonenumbers

    md = phonenumbers.PhoneMetadata.metadata_for_region("KR")
    return md.mobile.national_number_pattern, md.fixed_line.national_number_pattern


def _fast_pattern(strict: bool) -> str:
    mobile, fixed = kr_phone_patterns()
    return f"^(?:(?:{mobile})|(?:{fixed})" + ("" if strict else f"|(?:{KR_MOBILE_SHAPE})") + ")$"


def _parse_phone_slow(values: list[str], region: str, strict: bool) -> list[str | None]:
    import phonenumbers

    out: list[str | None] = []
    for v in values:
        try:
            n = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        ok = phonenumbers.is_valid_number(n) or (
            not strict and n.country_code == 82 and re.fullmatch(KR_MOBILE_SHAPE, str(n.national_number)) is not None
        )
        out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) if ok else None)
    return out


def phone_rule(u: pa.Array, *, default_region: str = "KR", strict: bool = False, fast_path: bool = True) -> pa.Array:
    """The phone rule on an Arrow string array (see :func:`normalize_phone`)."""
    s = pc.utf8_trim_whitespace(clean_text(u))
    # "0082 10 ..." is not understood by phonenumbers when the default region is KR: rewrite it to "+82".
    s = pc.replace_substring_regex(s, _KR_INTL_PREFIX, "+82")
    ok = np.zeros(len(s), dtype=bool)
    result = pa.nulls(len(s), type=pa.large_string())
    if fast_path and default_region.upper() == "KR":
        plain = pc.match_substring_regex(s, _PLAIN_PHONE)
        digits = pc.replace_substring_regex(s, _NOT_DIGIT, "")
        had_prefix = pc.match_substring_regex(digits, _NATIONAL_PREFIX)
        nsn = pc.replace_substring_regex(digits, _TO_NSN, "", max_replacements=1)
        fast = pc.fill_null(pc.and_(pc.and_(plain, had_prefix), pc.match_substring_regex(nsn, _fast_pattern(strict))), False)
        ok = fast.to_numpy(zero_copy_only=False)
        result = null_where_not(concat_strings("+82", nsn), fast)
    todo = np.flatnonzero(~ok)
    if len(todo):
        slow = _parse_phone_slow(pc.take(s, pa.array(todo)).to_pylist(), default_region, strict)
        result = pc.replace_with_mask(result, pa.array(~ok), pa.array(slow, type=pa.large_string()))
    return result


def normalize_phone(raw: pd.Series, *, default_region: str = "KR", strict: bool = False, fast_path: bool = True) -> pd.Series:
    """Normalise phone numbers to E.164; invalid numbers become missing.

    Parameters
    ----------
    raw : Series of str
        Phone numbers as the channels wrote them.
    default_region : str, default "KR"
        Region (ISO 3166 alpha-2) of numbers written without a country code.
    strict : bool, default False
        Keep only numbers ``phonenumbers`` calls valid. By default a Korean
        mobile of the right shape (010 + 8 digits; 011, 016-019 + 7 or 8) is
        kept too: phonenumbers 9.0's metadata rejects some 010 ranges that are
        in use (e.g. 010-5970-0000 to 010-5999-9999), and a real customer's
        number must not be dropped for that.
    fast_path : bool, default True
        Convert plain Korean mobile and fixed-line numbers without calling the
        ``phonenumbers`` parser (same result, checked by the tests; only used
        when ``default_region`` is KR). False parses every distinct string.

    Returns
    -------
    Series of str (pandas ``string``)
        E.164 numbers such as ``+821012345678``, or ``<NA>``.
    """
    return map_distinct(raw, lambda u: phone_rule(u, default_region=default_region, strict=strict, fast_path=fast_path))


def phone_fast_expression(col, *, strict: bool = False):
    """The phone fast path as an Ibis expression, for values of printable ASCII only.

    Returns
    -------
    ibis string expression
        The E.164 number where the fast path applies (a plain Korean mobile or
        fixed-line number, region KR), else missing: such values need
        :func:`phone_rule` (the ``phonenumbers`` parser).
    """
    import ibis

    s = col.strip().re_replace(_KR_INTL_PREFIX, "+82")
    digits = s.re_replace(_NOT_DIGIT, "")
    nsn = digits.re_replace(_TO_NSN, "")  # anchored: replaces at most once, as the Arrow rule
    fast = s.re_search(_PLAIN_PHONE) & digits.re_search(_NATIONAL_PREFIX) & nsn.re_search(_fast_pattern(strict))
    return ibis.ifelse(fast.fill_null(False), "+82" + nsn, ibis.null("string"))


def phone_is_mobile(e164: pd.Series, *, default_region: str = "KR") -> pd.Series:
    """True where a normalised (E.164) number is a mobile number.

    Korean numbers (+82) are checked against the mobile pattern of
    ``phonenumbers``' own KR metadata; other countries' numbers are parsed
    (``phonenumbers.number_type`` MOBILE or FIXED_LINE_OR_MOBILE).

    Examples
    --------
    >>> import pandas as pd
    >>> phone_is_mobile(pd.Series(["+821012345678", "+8221234567", None])).tolist()
    [True, False, False]
    """
    import phonenumbers

    mobile, _ = kr_phone_patterns()
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)

    def f(u: pa.Array) -> pa.Array:
        kr = pc.starts_with(u, "+82")
        nsn = pc.utf8_slice_codeunits(u, 3)
        out = pc.and_(kr, pc.match_substring_regex(nsn, f"^(?:(?:{mobile})|(?:{KR_MOBILE_SHAPE}))$")).to_numpy(zero_copy_only=False)
        other = np.flatnonzero(~kr.to_numpy(zero_copy_only=False))
        for i, v in zip(other, pc.take(u, pa.array(other, type=pa.int64())).to_pylist()):
            try:
                out[i] = phonenumbers.number_type(phonenumbers.parse(v, default_region)) in kinds
            except phonenumbers.NumberParseException:
                out[i] = False
        return pa.array(np.where(out, "1", "0"), type=pa.large_string())

    res = map_distinct(pd.Series(e164), f)
    return (res == "1").fillna(False).astype(bool)


# ------------------------------------------------------------------- postcode
def postcode_rule(u: pa.Array) -> pa.Array:
    """The postcode rule on an Arrow string array (see :func:`normalize_postcode`)."""
    d = pc.replace_substring_regex(clean_text(u), r"\D", "")
    d = pc.if_else(pc.equal(pc.utf8_length(d), 4), concat_strings("0", d), d)
    return null_where_not(d, pc.equal(pc.utf8_length(d), 5))


def normalize_postcode(raw: pd.Series) -> pd.Series:
    """Postcodes to 5 digits (4 digits get back their leading zero); anything else becomes missing.

    Examples
    --------
    >>> import pandas as pd
    >>> normalize_postcode(pd.Series(["06236", " 062-36", "135-080", "6236", "623"])).tolist()
    ['06236', '06236', <NA>, '06236', <NA>]
    """
    return map_distinct(raw, postcode_rule)


def postcode_expression(col):
    """The postcode rule as an Ibis expression, for values of printable ASCII only."""
    import ibis

    d = col.re_replace(r"\D", "")
    d = ibis.ifelse(d.length() == 4, "0" + d, d)
    return ibis.ifelse(d.length() == 5, d, ibis.null("string"))

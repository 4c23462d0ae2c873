"""Normalisation of the identifying attributes of accounts: e-mail, phone, name
and postcode, as each channel wrote them.

Every Series function takes a pandas Series of raw strings and returns a Series
of the same length and index (pandas ``string`` dtype, ``<NA>`` for missing or
invalid). They are vectorised over the *distinct* raw values: each distinct
string is normalised once and the result is mapped back, so a million accounts
with a few hundred thousand distinct phones cost only as much as those distinct
values. :func:`normalize_account_table` does the same for a whole accounts
table on the engine (SQL for plain values, the Python rules for the distinct
rest, joined back in the engine).

Rules (each one tested in ``tests/test_identity.py``):

- **e-mail**: NFKC, every whitespace character removed (``" Kim.MJ @Naver.com"``
  becomes ``kim.mj@naver.com``), a ``mailto:`` prefix dropped, lower-cased, then
  checked against a conservative address pattern (one ``@``, a dotted domain with
  a top-level domain of 2+ letters, no ``..``); anything else becomes missing.
  Gmail dot and plus folding (``k.i.m+shop@gmail.com`` -> ``kim@gmail.com``) is
  **off** by default: other providers treat dots as significant, and folding
  would merge two different mailboxes there.
- **phone**: to E.164 (``+821012345678``) with ``phonenumbers``, default region
  KR. Korean mobiles (010, 011, 016-019), landlines (02, 031-064), ``+82``,
  ``0082`` and ``82`` prefixes, spaces, dashes, dots and brackets, ``(0)`` after
  the country code. A number is kept if ``phonenumbers`` calls it valid, or
  (unless ``strict``) if it has the shape of a Korean mobile number.
  Fast path: strings made only of digits and separators that reduce to a Korean
  mobile or fixed-line national number (checked with the *patterns of
  phonenumbers' own KR metadata*) are converted without calling the parser;
  everything else goes through ``phonenumbers.parse`` once per distinct string.
- **name**: NFKC (which also recomposes NFD Hangul jamo into syllables), zero-width
  characters dropped, whitespace collapsed, case-folded. A name written only in
  Hangul has its spaces removed (``"김 민준"`` == ``"김민준"``); a romanised
  (Latin), mixed-script or other-script name keeps its single spaces and is
  flagged by :func:`name_script`.
- **postcode**: digits only; kept when exactly 5 digits (Korean postcodes since
  2015); 4 digits are taken as a postcode that lost its leading zero (a file
  once read as numbers: ``6236`` -> ``06236``); anything else is missing.

Modules: :mod:`~ecrm_lib.channels.normalize.common` (Arrow helpers),
:mod:`~ecrm_lib.channels.normalize.fields` (e-mail, phone, postcode),
:mod:`~ecrm_lib.channels.normalize.names` (names, scripts, romanisation, comparison
keys), :mod:`~ecrm_lib.channels.normalize.accounts` (whole tables, pandas and engine).

Examples
--------
>>> import pandas as pd
>>> normalize_phone(pd.Series(["010-1234-5678", "+82 10 1234 5678", "12"])).tolist()
['+821012345678', '+821012345678', <NA>]
>>> normalize_email(pd.Series([" Kim.MJ@Naver.COM ", "noemail"])).tolist()
['kim.mj@naver.com', <NA>]
>>> normalize_name(pd.Series(["김 민준", "KIM  Minjun"])).tolist()
['김민준', 'kim minjun']
"""

from ecrm_lib.channels.normalize.accounts import (
    IDENTIFYING_FIELDS,
    normalization_counts,
    normalization_report,
    normalize_account_table,
    normalize_accounts,
)
from ecrm_lib.channels.normalize.fields import (
    normalize_email,
    normalize_phone,
    normalize_postcode,
    phone_is_mobile,
)
from ecrm_lib.channels.normalize.names import (
    NAME_SCRIPTS,
    name_keys,
    name_script,
    normalize_name,
    romanize_hangul,
    romanize_name,
)

__all__ = [
    "IDENTIFYING_FIELDS",
    "NAME_SCRIPTS",
    "name_keys",
    "name_script",
    "normalization_counts",
    "normalization_report",
    "normalize_account_table",
    "normalize_accounts",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "phone_is_mobile",
    "romanize_hangul",
    "romanize_name",
]

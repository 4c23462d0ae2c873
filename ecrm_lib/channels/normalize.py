"""Normalisation of the identifying attributes of accounts: e-mail, phone, name
and postcode, as each channel wrote them.

Every function takes a pandas Series of raw strings and returns a Series of the
same length and index (pandas ``string`` dtype, ``<NA>`` for missing or invalid).
They are vectorised over the *distinct* raw values: each distinct string is
normalised once and the result is mapped back, so a million accounts with a few
hundred thousand distinct phones cost only as much as those distinct values.

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

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "normalize_email",
    "normalize_phone",
    "phone_is_mobile",
    "normalize_name",
    "name_script",
    "normalize_postcode",
    "romanize_hangul",
    "romanize_name",
    "normalize_accounts",
    "normalization_report",
    "NAME_SCRIPTS",
]

NAME_SCRIPTS = ("hangul", "latin", "mixed", "other", "missing")

_EMAIL_RE = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}$"
)
_WS = r"[\s\p{Z}]+"  # RE2 (Arrow): ASCII whitespace and every Unicode space separator
_ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_ZERO_WIDTH_MAP = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_HANGUL_CLASS = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_LATIN_CLASS = "A-Za-z\u00c0-\u024f"

ArrowFn = Callable[[pa.Array], pa.Array]


def _arrow(s: pd.Series) -> pa.Array:
    """A Series of strings as one Arrow string array (no copy for Arrow-backed strings)."""
    s = pd.Series(s)
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype(pd.StringDtype("pyarrow"))
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _by_distinct(raw: pd.Series, func: ArrowFn) -> pd.Series:
    """Apply ``func`` (Arrow array -> Arrow array of the same length) to the
    distinct non-missing values of ``raw`` and map the results back."""
    raw = pd.Series(raw)
    arr = _arrow(raw)
    if len(arr) == 0 or arr.null_count == len(arr):
        return pd.Series(pd.array([pd.NA] * len(raw), dtype="string"), index=raw.index)
    enc = pc.dictionary_encode(arr)
    out = pc.take(func(pc.cast(enc.dictionary, pa.large_string())), enc.indices)
    return pd.Series(pd.array(out, dtype="string"), index=raw.index)


def _py_map(func: Callable[[str], str | None]) -> ArrowFn:
    """An Arrow-array function from a per-string Python function (for few distinct values)."""
    return lambda u: pa.array([func(v) for v in u.to_pylist()], type=pa.large_string())


def _null_where_not(arr: pa.Array, keep: pa.Array) -> pa.Array:
    return pc.if_else(pc.fill_null(keep, False), arr, pa.scalar(None, arr.type))


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and literal strings."""
    ls = pa.large_string()
    args = [pa.scalar(p, ls) if isinstance(p, str) else pc.cast(p, ls) for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", ls))


def _clean_text(u: pa.Array) -> pa.Array:
    """NFKC, zero-width characters removed."""
    return pc.replace_substring_regex(pc.utf8_normalize(u, "NFKC"), _ZERO_WIDTH, "")


# --------------------------------------------------------------------- e-mail
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

    def f(u: pa.Array) -> pa.Array:
        s = pc.utf8_lower(pc.replace_substring_regex(_clean_text(u), _WS, ""))
        s = pc.replace_substring_regex(s, r"^mailto:", "")
        s = _null_where_not(s, pc.match_substring_regex(s, _EMAIL_RE))
        if fold_gmail:
            is_g = pc.match_substring_regex(s, r"@(?:gmail|googlemail)\.com$")
            local = pc.replace_substring_regex(s, r"@.*$", "")
            local = pc.replace_substring(pc.replace_substring_regex(local, r"\+.*$", ""), ".", "")
            folded = _join(local, "@gmail.com")
            use = pc.and_(pc.fill_null(is_g, False), pc.greater(pc.utf8_length(local), 0))
            s = pc.if_else(pc.fill_null(use, False), folded, s)
        return s

    return _by_distinct(raw, f)


# ---------------------------------------------------------------------- phone
def _kr_patterns() -> tuple[str, str]:
    import phonenumbers

    md = phonenumbers.PhoneMetadata.metadata_for_region("KR")
    return md.mobile.national_number_pattern, md.fixed_line.national_number_pattern


# Shape of a Korean mobile number (national significant number): 010 + 8 digits,
# or the older 011, 016-019 + 7 or 8 digits.
_KR_MOBILE_SHAPE = r"10\d{8}|1[16-9]\d{7,8}"


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
            not strict and n.country_code == 82 and re.fullmatch(_KR_MOBILE_SHAPE, str(n.national_number)) is not None
        )
        out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) if ok else None)
    return out


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

    def f(u: pa.Array) -> pa.Array:
        s = pc.utf8_trim_whitespace(_clean_text(u))
        # "0082 10 ..." (the Korean international prefix) is not understood by
        # phonenumbers when the default region is KR: rewrite it to "+82".
        s = pc.replace_substring_regex(s, r"^00[\s.\-]*82", "+82")
        ok = np.zeros(len(s), dtype=bool)
        result = pa.nulls(len(s), type=pa.large_string())
        if fast_path and default_region.upper() == "KR":
            mobile, fixed = _kr_patterns()
            plain = pc.match_substring_regex(s, r"^\+?[\d\s\-.()]+$")
            digits = pc.replace_substring_regex(s, r"[^\d+]", "")
            had_prefix = pc.match_substring_regex(digits, r"^(?:\+82|0)")
            # national significant number: without +82 (and a "(0)" after it) or the trunk 0
            nsn = pc.replace_substring_regex(digits, r"^(?:\+820?|0)", "", max_replacements=1)
            pattern = f"^(?:(?:{mobile})|(?:{fixed})" + ("" if strict else f"|(?:{_KR_MOBILE_SHAPE})") + ")$"
            fast = pc.fill_null(pc.and_(pc.and_(plain, had_prefix), pc.match_substring_regex(nsn, pattern)), False)
            ok = fast.to_numpy(zero_copy_only=False)
            result = _null_where_not(_join("+82", nsn), fast)
        todo = np.flatnonzero(~ok)
        if len(todo):
            slow = _parse_phone_slow(pc.take(s, pa.array(todo)).to_pylist(), default_region, strict)
            result = pc.replace_with_mask(result, pa.array(~ok), pa.array(slow, type=pa.large_string()))
        return result

    return _by_distinct(raw, f)


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

    mobile, _ = _kr_patterns()
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)

    def f(u: pa.Array) -> pa.Array:
        kr = pc.starts_with(u, "+82")
        nsn = pc.utf8_slice_codeunits(u, 3)
        out = pc.and_(kr, pc.match_substring_regex(nsn, f"^(?:(?:{mobile})|(?:{_KR_MOBILE_SHAPE}))$")).to_numpy(zero_copy_only=False)
        other = np.flatnonzero(~kr.to_numpy(zero_copy_only=False))
        for i, v in zip(other, pc.take(u, pa.array(other, type=pa.int64())).to_pylist()):
            try:
                out[i] = phonenumbers.number_type(phonenumbers.parse(v, default_region)) in kinds
            except phonenumbers.NumberParseException:
                out[i] = False
        return pa.array(np.where(out, "1", "0"), type=pa.large_string())

    res = _by_distinct(pd.Series(e164), f)
    return (res == "1").fillna(False).astype(bool)


# ----------------------------------------------------------------------- name
def normalize_name(raw: pd.Series) -> pd.Series:
    """Normalise personal names for comparison.

    Parameters
    ----------
    raw : Series of str
        Names as the channels wrote them (any script).

    Returns
    -------
    Series of str (pandas ``string``)
        NFKC, case-folded, single spaces; Hangul-only names without spaces;
        ``<NA>`` when nothing is left.
    """

    return _by_distinct(raw, _py_map(_normalize_name_one))


_HANGUL_ONLY = re.compile(f"[{_HANGUL_CLASS} ]+")
_WS_PY = re.compile(r"\s+")


def _normalize_name_one(v: str) -> str | None:
    s = _WS_PY.sub(" ", unicodedata.normalize("NFKC", v).translate(_ZERO_WIDTH_MAP)).strip().casefold()
    if _HANGUL_ONLY.fullmatch(s):
        s = s.replace(" ", "")
    return s or None


def name_script(names: pd.Series) -> pd.Series:
    """Script of each (normalised or raw) name.

    Returns
    -------
    Series of str
        ``hangul`` (Hangul letters only), ``latin`` (romanised), ``mixed``
        (Hangul and Latin letters), ``other`` (e.g. Chinese characters only,
        or Hangul or Latin mixed with another script) or ``missing``.
    """
    return _by_distinct(pd.Series(names), _py_map(_script_one)).fillna("missing")


_HANGUL_CHAR = re.compile(f"[{_HANGUL_CLASS}]")
_LATIN_CHAR = re.compile(f"[{_LATIN_CLASS}]")


def _script_one(v: str) -> str:
    letters = [ch for ch in v if ch.isalpha()]
    if not letters:
        return "missing"
    h = sum(1 for ch in letters if _HANGUL_CHAR.match(ch))
    latin = sum(1 for ch in letters if _LATIN_CHAR.match(ch))
    if h + latin < len(letters):
        return "other"
    if h and latin:
        return "mixed"
    return "hangul" if h else "latin"


# Revised Romanization of Korean, syllable by syllable (no sound-change rules):
# enough to compare a Hangul name with its romanised spelling.
_RR_INITIAL = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_RR_MEDIAL = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo",
    "u", "wo", "we", "wi", "yu", "eu", "ui", "i",
]
_RR_FINAL = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l",
    "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t",
]


def _romanize_one(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            ini, rest = divmod(code, 588)
            med, fin = divmod(rest, 28)
            out.append(_RR_INITIAL[ini] + _RR_MEDIAL[med] + _RR_FINAL[fin])
        else:
            out.append(ch)
    return "".join(out)


def romanize_hangul(names: pd.Series) -> pd.Series:
    """Revised Romanization of the Hangul syllables in each string (others kept).

    A syllable-by-syllable transliteration without sound-change rules, used
    only as a comparison key between a Hangul name and its romanised spelling.

    Examples
    --------
    >>> import pandas as pd
    >>> romanize_hangul(pd.Series(["김민준", "kim"])).tolist()
    ['gimminjun', 'kim']
    """
    return _by_distinct(pd.Series(names), _py_map(_romanize_one))


# Conventional spellings of the commonest family names (what people write on
# forms, rather than the Revised Romanization: Kim not Gim, Lee not I).
_SURNAME_CONVENTIONAL = {
    "김": "kim", "이": "lee", "박": "park", "최": "choi", "정": "jung", "강": "kang", "조": "cho", "윤": "yoon",
    "장": "jang", "임": "lim", "한": "han", "오": "oh", "서": "seo", "신": "shin", "권": "kwon", "황": "hwang",
    "안": "ahn", "송": "song", "전": "jeon", "홍": "hong", "유": "yoo", "고": "ko", "문": "moon", "양": "yang",
    "손": "son", "배": "bae", "백": "baek", "허": "heo", "남": "nam", "심": "shim", "노": "noh", "하": "ha",
    "곽": "kwak", "성": "sung", "차": "cha", "주": "joo", "우": "woo", "구": "koo", "민": "min", "류": "ryu",
    "나": "na", "진": "jin", "지": "ji", "엄": "eom", "채": "chae", "원": "won", "천": "cheon", "방": "bang",
    "공": "kong", "현": "hyun", "함": "ham", "변": "byun", "염": "yeom", "여": "yeo", "추": "choo", "도": "do",
    "소": "so", "석": "seok", "남궁": "namgoong", "황보": "hwangbo", "선우": "sunwoo", "제갈": "jegal",
}
_COMPOUND_SURNAMES = ("남궁", "황보", "선우", "제갈", "독고", "사공", "서문")
# Popular spellings of given-name syllables (Hyun, Hoon, Woo, Young, Jung, Sung,
# Hee, Yoon, ...), which people use far more than the Revised Romanization
# (hyeon, hun, u, yeong, jeong, seong, hui, yun); other syllables fall back to RR.
_SYLLABLE_CONVENTIONAL = {
    "경": "kyung", "광": "kwang", "규": "kyu", "기": "ki", "명": "myung", "병": "byung", "선": "sun",
    "성": "sung", "수": "su", "숙": "sook", "순": "soon", "승": "seung", "신": "shin", "영": "young",
    "우": "woo", "욱": "wook", "운": "woon", "윤": "yoon", "정": "jung", "종": "jong", "주": "ju",
    "준": "jun", "중": "joong", "철": "cheol", "춘": "chun", "충": "choong", "혁": "hyuk", "현": "hyun",
    "형": "hyung", "혜": "hye", "훈": "hoon", "희": "hee", "흥": "heung", "연": "yeon", "은": "eun",
    "서": "seo", "건": "geon", "석": "seok", "범": "beom", "덕": "deok", "열": "yeol", "률": "ryul",
    "율": "yul", "령": "ryung", "문": "moon", "근": "geun", "택": "taek", "의": "ui",
}


def _romanize_given(text: str) -> str:
    return "".join(_SYLLABLE_CONVENTIONAL.get(ch) or _romanize_one(ch) for ch in text)


def _romanize_name_one(name: str) -> tuple[str, str]:
    if not re.fullmatch("[\uac00-\ud7a3]{2,5}", name):
        tokens = [t for t in re.split(r"[\s\-.,']+", name) if t]
        return "".join(tokens), "".join(reversed(tokens))
    fam_len = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) >= 4 else 1
    fam, given = name[:fam_len], name[fam_len:]
    fam_r = _SURNAME_CONVENTIONAL.get(fam, _romanize_one(fam))
    given_r = _romanize_given(given)
    return fam_r + given_r, given_r + fam_r


def romanize_name(names: pd.Series) -> pd.DataFrame:
    """Latin comparison keys of (normalised) names, in both orders.

    A Hangul name becomes its family name's conventional spelling (Kim, Lee,
    Park, ...) followed by its given name in the popular spelling of each
    syllable (Hyun, Hoon, Woo, Young, ...; else the Revised Romanization); a
    Latin name loses its spaces and punctuation. ``rom_reversed`` puts the given name
    first (``Minjun Kim``). Used only to compare names across scripts.

    Returns
    -------
    DataFrame
        rom, rom_reversed (pandas ``string``; missing where the name is).

    Examples
    --------
    >>> import pandas as pd
    >>> romanize_name(pd.Series(["김민준", "minjun kim"])).values.tolist()
    [['kimminjun', 'minjunkim'], ['minjunkim', 'kimminjun']]
    """
    s = pd.Series(names)
    return pd.DataFrame(
        {
            "rom": _by_distinct(s, _py_map(lambda v: _romanize_name_one(v)[0])),
            "rom_reversed": _by_distinct(s, _py_map(lambda v: _romanize_name_one(v)[1])),
        },
        index=s.index,
    )


# ------------------------------------------------------------------- postcode
def normalize_postcode(raw: pd.Series) -> pd.Series:
    """Postcodes to 5 digits (4 digits get back their leading zero); anything else becomes missing.

    Examples
    --------
    >>> import pandas as pd
    >>> normalize_postcode(pd.Series(["06236", " 062-36", "135-080", "6236", "623"])).tolist()
    ['06236', '06236', <NA>, '06236', <NA>]
    """

    def f(u: pa.Array) -> pa.Array:
        d = pc.replace_substring_regex(_clean_text(u), r"\D", "")
        d = pc.if_else(pc.equal(pc.utf8_length(d), 4), _join("0", d), d)
        return _null_where_not(d, pc.equal(pc.utf8_length(d), 5))

    return _by_distinct(raw, f)


# ------------------------------------------------------------------- accounts
def normalize_accounts(
    accounts: pd.DataFrame,
    *,
    default_region: str = "KR",
    fold_gmail: bool = False,
    strict_phone: bool = False,
) -> pd.DataFrame:
    """Normalised identifying attributes of canonical ``accounts``.

    Parameters
    ----------
    accounts : DataFrame
        The canonical accounts table (account_id, channel, name, email, phone,
        postcode, created_at); missing optional columns are treated as empty.
    default_region : str, default "KR"
        Region of phone numbers written without a country code.
    fold_gmail : bool, default False
        See :func:`normalize_email`.
    strict_phone : bool, default False
        See ``strict`` in :func:`normalize_phone`.

    Returns
    -------
    DataFrame
        Same rows and order: account_id, channel, created_at, email, phone,
        name, name_script, postcode (normalised; personal data).
    """
    n = len(accounts)

    def col(c: str) -> pd.Series:
        if c in accounts:
            return accounts[c].astype("string").reset_index(drop=True)
        return pd.Series(pd.array([pd.NA] * n, dtype="string"))

    name = normalize_name(col("name"))
    created = accounts["created_at"].reset_index(drop=True) if "created_at" in accounts else pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]")
    return pd.DataFrame(
        {
            "account_id": col("account_id"),
            "channel": col("channel"),
            "created_at": created,
            "email": normalize_email(col("email"), fold_gmail=fold_gmail),
            "phone": normalize_phone(col("phone"), default_region=default_region, strict=strict_phone),
            "name": name,
            "name_script": name_script(name),
            "postcode": normalize_postcode(col("postcode")),
        }
    )


def normalization_report(accounts: pd.DataFrame, normalized: pd.DataFrame) -> pd.DataFrame:
    """Per field: raw values present, valid after normalisation, and rejected.

    Parameters
    ----------
    accounts : DataFrame
        Raw canonical accounts.
    normalized : DataFrame
        :func:`normalize_accounts` of the same rows.

    Returns
    -------
    DataFrame
        field, n_accounts, n_present (raw not blank), n_valid, n_invalid
        (present but rejected), n_missing (blank or absent).
    """
    rows = []
    n = len(accounts)
    for field in ("email", "phone", "name", "postcode"):
        raw = accounts[field].astype("string").reset_index(drop=True) if field in accounts else pd.Series(pd.array([pd.NA] * n, dtype="string"))
        present = raw.notna() & (raw.str.strip().str.len() > 0).fillna(False).astype(bool)
        valid = normalized[field].notna().reset_index(drop=True)
        rows.append(
            {
                "field": field,
                "n_accounts": n,
                "n_present": int(present.sum()),
                "n_valid": int(valid.sum()),
                "n_invalid": int((present & ~valid).sum()),
                "n_missing": int((~present).sum()),
            }
        )
    return pd.DataFrame(rows)

"""Personal names: normalisation, script, romanisation and the comparison keys of identity resolution.

- :func:`normalize_name`: NFKC (which also recomposes NFD Hangul jamo into
  syllables), zero-width characters dropped, whitespace collapsed, case-folded;
  a name written only in Hangul loses its spaces (``"김 민준"`` == ``"김민준"``).
- :func:`name_script`: hangul, latin, mixed, other or missing.
- :func:`romanize_hangul`: Revised Romanization, syllable by syllable.
- :func:`romanize_name`: Latin comparison keys in both orders (family name
  first in its conventional spelling, Kim not Gim).
- :func:`name_keys`: every key identity resolution compares (key without
  spaces and punctuation, jamo of Hangul names, romanised keys).
- :func:`name_rule` (the name rule on an Arrow array) and
  :func:`name_key_table` (script and keys of an Arrow array of distinct
  names): how the engine path treats names, once per distinct value (there
  are far fewer distinct names than accounts).

Examples
--------
>>> import pandas as pd
>>> normalize_name(pd.Series(["김 민준", "KIM  Minjun"])).tolist()
['김민준', 'kim minjun']
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecrm_lib.channels.normalize.common import ZERO_WIDTH_MAP, map_distinct, python_map

__all__ = [
    "NAME_SCRIPTS",
    "name_key_table",
    "name_keys",
    "name_rule",
    "name_script",
    "normalize_name",
    "romanize_hangul",
    "romanize_name",
]

NAME_SCRIPTS = ("hangul", "latin", "mixed", "other", "missing")

_HANGUL_CLASS = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_LATIN_CLASS = "A-Za-z\u00c0-\u024f"
_KEY_DROP = r"[\s\-.,']"  # removed from a name to make its comparison key


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

    return map_distinct(raw, name_rule)


_HANGUL_ONLY = re.compile(f"[{_HANGUL_CLASS} ]+")
_WS_PY = re.compile(r"\s+")


def _normalize_name_one(v: str) -> str | None:
    s = _WS_PY.sub(" ", unicodedata.normalize("NFKC", v).translate(ZERO_WIDTH_MAP)).strip().casefold()
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
    return map_distinct(pd.Series(names), python_map(_script_one)).fillna("missing")


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
    return map_distinct(pd.Series(names), python_map(_romanize_one))


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
            "rom": map_distinct(s, python_map(lambda v: _romanize_name_one(v)[0])),
            "rom_reversed": map_distinct(s, python_map(lambda v: _romanize_name_one(v)[1])),
        },
        index=s.index,
    )


def name_keys(names: pd.Series, scripts: pd.Series) -> pd.DataFrame:
    """Comparison keys of (normalised) names.

    Parameters
    ----------
    names : Series of str
        Normalised names (:func:`normalize_name`).
    scripts : Series of str
        Their scripts (:func:`name_script`).

    Returns
    -------
    DataFrame
        key (the name without spaces, hyphens, dots, commas and apostrophes),
        jamo (NFD letters of the key, Hangul names only), rom, rom_rev
        (:func:`romanize_name`); pandas ``string``, same row order.
    """
    names = pd.Series(names).reset_index(drop=True)
    key = map_distinct(names, lambda u: pc.replace_substring_regex(u, _KEY_DROP, ""))
    hangul = (pd.Series(scripts).reset_index(drop=True) == "hangul").fillna(False).to_numpy(dtype=bool)
    jamo = map_distinct(key.where(hangul), lambda u: pc.utf8_normalize(u, "NFD"))
    rom = romanize_name(names)
    return pd.DataFrame({"key": key.array, "jamo": jamo.array, "rom": rom["rom"].array, "rom_rev": rom["rom_reversed"].array})


def name_rule(u: pa.Array) -> pa.Array:
    """The name rule on an Arrow string array (see :func:`normalize_name`)."""
    return python_map(_normalize_name_one)(u)


def name_key_table(names: pa.Array) -> pa.Table:
    """Script and comparison keys of each *distinct* normalised name.

    Parameters
    ----------
    names : Arrow string array
        Distinct normalised names (no missing values).

    Returns
    -------
    pyarrow.Table
        name, name_script, name_key (missing when empty), name_jamo, name_rom,
        name_rom_rev: the columns of :func:`name_script` and :func:`name_keys`.
    """
    s = pd.Series(pd.array(pc.cast(names, pa.large_string()), dtype="string"))
    script = name_script(s)
    keys = name_keys(s, script)
    key = keys["key"].mask(keys["key"].str.len() == 0)

    def arr(x: pd.Series) -> pa.Array:
        return pa.array(x.array, type=pa.large_string())

    return pa.table(
        {
            "name": arr(s),
            "name_script": arr(script.astype("string")),
            "name_key": arr(key),
            "name_jamo": arr(keys["jamo"]),
            "name_rom": arr(keys["rom"]),
            "name_rom_rev": arr(keys["rom_rev"]),
        }
    )

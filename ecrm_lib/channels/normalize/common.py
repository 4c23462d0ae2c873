"""Arrow helpers shared by the normalisation rules: distinct-value mapping and string plumbing.

Every rule of :mod:`ecrm_lib.channels.normalize` is an *Arrow function*: it takes
an Arrow string array and returns an array of the same length. :func:`map_distinct`
applies one to the distinct values of a pandas Series only and maps the results
back, so a rule costs as much as the distinct values, not the rows.

The engine path (:mod:`ecrm_lib.channels.normalize.accounts`) writes the rules
as SQL for values made only of printable ASCII (:data:`ENGINE_SAFE`), where
Unicode normalisation (NFKC) changes nothing, and sends every other distinct
value through the same Arrow function, so both paths give the same result.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ENGINE_SAFE",
    "ZERO_WIDTH",
    "ZERO_WIDTH_MAP",
    "ArrowFn",
    "as_arrow",
    "clean_text",
    "concat_strings",
    "is_present",
    "map_distinct",
    "null_where_not",
    "python_map",
]

ArrowFn = Callable[[pa.Array], pa.Array]

#: Values matching this pattern (printable ASCII and the space) are normalised by
#: the engine's SQL; NFKC leaves them unchanged and their only whitespace is the space.
ENGINE_SAFE = r"^[ -~]*$"

_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
#: Zero-width characters and the soft hyphen, as an RE2 character class.
ZERO_WIDTH = f"[{_ZERO_WIDTH_CHARS}]"
#: The same characters as a ``str.translate`` table that deletes them.
ZERO_WIDTH_MAP = dict.fromkeys(map(ord, _ZERO_WIDTH_CHARS), None)


def as_arrow(s: pd.Series) -> pa.Array:
    """A Series of strings as one Arrow string array (no copy for Arrow-backed strings)."""
    s = pd.Series(s)
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype(pd.StringDtype("pyarrow"))
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def map_distinct(raw: pd.Series, func: ArrowFn) -> pd.Series:
    """Apply ``func`` to the distinct non-missing values of ``raw`` and map the results back.

    Parameters
    ----------
    raw : Series of str
    func : callable
        Arrow string array -> Arrow array of the same length.

    Returns
    -------
    Series (pandas ``string``), same index as ``raw``.
    """
    raw = pd.Series(raw)
    arr = as_arrow(raw)
    if len(arr) == 0 or arr.null_count == len(arr):
        return pd.Series(pd.array([pd.NA] * len(raw), dtype="string"), index=raw.index)
    enc = pc.dictionary_encode(arr)
    out = pc.take(func(pc.cast(enc.dictionary, pa.large_string())), enc.indices)
    return pd.Series(pd.array(out, dtype="string"), index=raw.index)


def python_map(func: Callable[[str], str | None]) -> ArrowFn:
    """An Arrow-array function from a per-string Python function (for few distinct values)."""
    return lambda u: pa.array([None if v is None else func(v) for v in u.to_pylist()], type=pa.large_string())


def null_where_not(arr: pa.Array, keep: pa.Array) -> pa.Array:
    """``arr`` where ``keep`` is true, else missing."""
    return pc.if_else(pc.fill_null(keep, False), arr, pa.scalar(None, arr.type))


def concat_strings(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and literal strings."""
    ls = pa.large_string()
    args = [pa.scalar(p, ls) if isinstance(p, str) else pc.cast(p, ls) for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", ls))


def clean_text(u: pa.Array) -> pa.Array:
    """NFKC, zero-width characters removed."""
    return pc.replace_substring_regex(pc.utf8_normalize(u, "NFKC"), ZERO_WIDTH, "")


def is_present(u: pa.Array) -> pa.Array:
    """True where a raw value holds something other than whitespace (missing: False)."""
    return pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(u)), 0), False)

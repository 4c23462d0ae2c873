"""Engine functions the loader needs beyond portable Ibis, one set per engine.

The loader's conversions (:mod:`ecrm_lib.data.convert`), expressions
(:mod:`ecrm_lib.data.expressions`) and schema checks
(:mod:`ecrm_lib.data.validate`) are Ibis expressions or SQL text that every
engine runs alike, except for a few functions that Ibis does not offer on
every backend or that behave differently:

=====================  ===============================  =================================================
what                   DuckDB (:class:`EngineFunctions`)  Spark (:class:`SparkFunctions`)
=====================  ===============================  =================================================
trim a character set   ``trim(x, chars)``               ``btrim(x, chars)``
first / last char      ``ascii``, ``array_extract``     ``ascii``, ``substring(x, -1)``
parse with a format    ``try_strptime`` (strftime)      ``try_to_timestamp`` (the format translated by
                                                        :func:`strftime_to_java`; two-digit years as
                                                        Python reads them)
infinity (SQL text)    ``isinf``                        comparison with ``CAST('inf' AS DOUBLE)``
=====================  ===============================  =================================================

:func:`engine_functions` picks the set of a connection. SQL text (the ``*_sql`` methods) is
written in DuckDB's dialect for every engine: :class:`~ecrm_lib.data.dialect.EngineSQL` translates
it for Spark (``regexp_matches`` becomes ``RLIKE``, with Java's regular expressions).

Examples
--------
>>> strftime_to_java("%d/%m/%Y %H:%M")
'd/M/yyyy H:m'
>>> strftime_to_java("%Y%m%dT%H%M%S")
"yyyyMMdd'T'HHmmss"
"""

from __future__ import annotations

import re
from typing import Any

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.data.expressions import python_strip_chars

__all__ = ["EngineFunctions", "SparkFunctions", "engine_functions", "strftime_to_java"]


class EngineFunctions:
    """DuckDB's functions for the loader (the base: another engine overrides what differs)."""

    #: SQL names: trim with a set of characters; the character at a position (-1: the last); parse with a format
    TRIM, CHAR_AT, PARSE = "trim", "array_extract", "try_strptime"

    def __init__(self):
        import ibis
        import ibis.expr.datatypes as idt

        chars = python_strip_chars()

        @ibis.udf.scalar.builtin(name=self.TRIM, signature=((idt.string, idt.string), idt.string))
        def _trim(x, chars):
            """trim(x, characters): every character of ``characters`` removed at both ends."""

        @ibis.udf.scalar.builtin(name="ascii", signature=((idt.string,), idt.int32))
        def _code(x):
            """ascii(x): the code point of the first character (0 for '')."""

        self._trim, self._chars, self._code = _trim, chars, _code
        cls = "".join(f"\\x{{{ord(c):x}}}" for c in chars)
        self._edge_re = f"^[{cls}]|[{cls}]$"

        @ibis.udf.scalar.builtin(name=self.CHAR_AT, signature=((idt.string, idt.int64), idt.string))
        def _char_at(x, i):
            """The i-th character of x (-1: the last; DuckDB's array_extract is cheaper than right(x, 1))."""

        @ibis.udf.scalar.builtin(name=self.PARSE, signature=((idt.string, idt.string), idt.Timestamp()))
        def _strptime(x, fmt):
            """A naive timestamp parsed with a format, NULL when the text does not match."""

        @ibis.udf.scalar.builtin(name=self.PARSE, signature=((idt.string, idt.string), idt.Timestamp(timezone="UTC")))
        def _strptime_tz(x, fmt):
            """The instant of a text with an offset or zone name, parsed with a format."""

        self._char_at, self._strptime, self._strptime_tz = _char_at, _strptime, _strptime_tz

    # ------------------------------------------------------------------ expressions (Ibis)
    def last_char(self, x):
        """The last character of a text ('' for '')."""
        return self._char_at(x, -1)

    def trim(self, x):
        """Python's ``str.strip()``: every Unicode white-space character at either end.

        The engine's trim with a list of characters is slow, so it runs only on
        values that start or end with white space.
        """
        import ibis

        return ibis.cases((self.edge_space(x), self._trim(x, self._chars)), else_=x)

    def edge_space(self, x):
        """True where a text starts or ends with white space (or a control character)."""
        import ibis

        first, last = self._code(x), self._code(self.last_char(x))
        # ASCII white space (or a control character) at an end, or a non-ASCII end that is Unicode white space
        # (a CASE: the engine evaluates both sides of AND/OR in a projection, a CASE branch only where needed)
        unicode_end = ibis.cases(((first >= 133) | (last >= 133), x.re_search(self._edge_re)), else_=False)
        return (first <= 32) | (last <= 32) | unicode_end

    def try_strptime(self, x, fmt: str):
        """A naive timestamp parsed with a strftime format (``%Y-%m-%d``), NULL where the text does not match."""
        return self._strptime(x, fmt)

    def try_strptime_tz(self, x, fmt: str):
        """An instant (UTC) parsed with a strftime format that holds ``%z`` or ``%Z``, NULL where it does not match."""
        return self._strptime_tz(x, fmt)

    # ------------------------------------------------------------------ SQL text
    def last_char_sql(self, col: str) -> str:
        return f"{self.CHAR_AT}({col}, -1)"

    def regexp_sql(self, col: str, pattern: str) -> str:
        """SQL text: true where the regular expression ``pattern`` (RE2 and Java syntax alike) matches in ``col``."""
        return f"regexp_matches({col}, '{pattern.replace(chr(39), chr(39) * 2)}')"

    def is_infinite_sql(self, col: str) -> str:
        """SQL text: true where a float column is infinite."""
        return f"isinf({col})"

    def utc_sql(self, col: str) -> str:
        """SQL text: a naive timestamp that holds UTC as an instant."""
        return f"timezone('UTC', {col})"

    def edge_space_sql(self, col: str) -> str:
        """:meth:`edge_space` as SQL text of this engine, for a quoted column name (one cheap pass, no compile)."""
        first, last = f"ascii({col})", f"ascii({self.last_char_sql(col)})"
        return (f"({first} <= 32 OR {last} <= 32 OR CASE WHEN {first} >= 133 OR {last} >= 133 "
                f"THEN {self.regexp_sql(col, self._edge_re)} ELSE false END)")


class SparkFunctions(EngineFunctions):
    """Spark SQL's functions for the loader (Spark 3.5 or later: ``try_to_timestamp``, ``btrim``)."""

    TRIM, CHAR_AT, PARSE = "btrim", "substring", "try_to_timestamp"  # try_to_timestamp reads Java patterns

    def try_strptime(self, x, fmt: str):
        return _python_century(self._strptime(x, strftime_to_java(fmt)), fmt)

    def try_strptime_tz(self, x, fmt: str):
        return _python_century(self._strptime_tz(x, strftime_to_java(fmt)), fmt)

    def is_infinite_sql(self, col: str) -> str:
        return f"(abs({col}) = CAST('inf' AS DOUBLE))"

    def utc_sql(self, col: str) -> str:
        return col  # Spark's TIMESTAMP is an instant, read and shown in the session's time zone (UTC)


def engine_functions(con: Any) -> EngineFunctions:
    """The loader's functions for an Ibis connection (DuckDB's for every backend but PySpark)."""
    return SparkFunctions() if getattr(con, "name", "") == "pyspark" else EngineFunctions()


# ---------------------------------------------------------------------- formats
#: strftime directive -> (Java pattern, its digits when adjacent to another number, or None for text)
_JAVA = {
    "Y": ("yyyy", None), "y": ("yy", None), "m": ("M", "MM"), "d": ("d", "dd"), "H": ("H", "HH"),
    "I": ("h", "hh"), "M": ("m", "mm"), "S": ("s", "ss"), "f": ("SSSSSS", None), "j": ("D", "DDD"),
    "p": ("a", None), "b": ("MMM", None), "h": ("MMM", None), "B": ("MMMM", None), "a": ("EEE", None),
    "A": ("EEEE", None), "z": ("[XXX][XX][X]", None), "Z": ("z", None),
}
_NUMERIC = set("YymdHIMSfj")


def strftime_to_java(fmt: str) -> str:
    """A strftime format (as DuckDB's ``strptime`` and Python read it) as a Java pattern for Spark.

    Numbers next to a separator are read with one or two digits, as DuckDB
    does (``%d`` -> ``d``); numbers right next to another number keep their
    fixed width (``%Y%m%d`` -> ``yyyyMMdd``). ``%z`` takes ``+09:00``,
    ``+0900``, ``+09`` and ``Z``. Literal text is quoted.

    Raises
    ------
    ConfigError
        A directive Spark cannot parse the same way (e.g. ``%U``, ``%c``).
    """
    items: list[tuple[str, str]] = []  # ("d", directive) or ("t", literal text)
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d == "%":
                items.append(("t", "%"))
            elif d == "-" and i + 2 < len(fmt) and fmt[i + 2] in _JAVA:  # %-d: no padding, as %d
                items.append(("d", fmt[i + 2]))
                i += 1
            elif d in _JAVA:
                items.append(("d", d))
            else:
                raise ConfigError(f"date_format {fmt!r}: %{d} cannot be read on Spark; use %Y %y %m %d %H %I %M %S "
                                  "%f %j %p %b %B %a %A %z %Z and literal text.")
            i += 2
        else:
            items.append(("t", fmt[i]))
            i += 1
    out = []
    for k, (kind, v) in enumerate(items):
        if kind == "t":
            if k and items[k - 1][0] == "t":
                continue  # written with the run of text it belongs to
            run = "".join(vv for _, vv in _run(items, k))
            out.append("'" + run.replace("'", "''") + "'" if re.search(r"[A-Za-z'\[\]{}#]", run) else run)
            continue
        short, fixed = _JAVA[v]
        near = [items[j] for j in (k - 1, k + 1) if 0 <= j < len(items)]
        adjacent = any(kk == "d" and vv in _NUMERIC for kk, vv in near)
        out.append(fixed if adjacent and fixed else short)
    return "".join(out)


def _run(items: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    """The literal text items from position ``k`` up to the next directive."""
    end = k
    while end < len(items) and items[end][0] == "t":
        end += 1
    return items[k:end]


def _python_century(ts, fmt: str):
    """Two-digit years as Python and DuckDB read them (69-99: 1900s) instead of Java's 2000-2099."""
    if "%y" not in fmt:
        return ts
    import ibis

    return ibis.cases((ts.year() >= 2069, ts - ibis.interval(years=100)), else_=ts)

"""Column conversions of the loader, as engine expressions (Ibis).

Each canonical column is converted by a *plan* in three steps, so that the
few decisions that depend on a whole column are taken from one aggregate
query and never from the rows in Python:

1. :meth:`Plan.prepare` adds helper columns to the source table (trimmed
   text, the fast parse of a number or date-time);
2. :meth:`Plan.stats` lists aggregates over them (how many values fail the
   fast parse, whether a column mixes time zones, the range of local times);
3. :meth:`Plan.build` returns a :class:`Conversion`: the value, the rows that
   failed (``bad``), the problem and fix, and the counted adjustments, each a
   boolean column counted later over the kept rows.

The rules are those of :mod:`ecrm_lib.data.load` (text trimmed, blank values
missing, currency symbols and thousands separators removed, dates in the
source's format or ISO 8601, local times in the source's time zone with the
clock changes counted, ...). Two cases go through pandas, on the distinct
values only: dates that are not ISO 8601 and have no ``date_format``
(read by inference, as before), and nothing else. Time zones are converted
with the offsets of Python's ``zoneinfo`` over the data's range, written as
plain arithmetic, so every engine gives the same instants.

Engine functions that Ibis does not offer on every backend are the methods of
:class:`~ecrm_lib.data.functions.EngineFunctions` (DuckDB's; Spark's in
:class:`~ecrm_lib.data.functions.SparkFunctions`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.schema import ColumnSpec
from ecrm_lib.data.dialect import EngineSQL
from ecrm_lib.data.functions import EngineFunctions

__all__ = [
    "VERBATIM_COLUMNS",
    "BoolPlan",
    "Conversion",
    "DateTimePlan",
    "NumberPlan",
    "Plan",
    "TextPlan",
    "convert_constant",
    "kind_of",
    "plan_for",
    "tz_transitions",
]

#: Canonical text columns kept as written (only a value of spaces alone becomes missing).
VERBATIM_COLUMNS = {"postcode", "text"}

_CURRENCY_SYMBOLS = {
    "£": {"GBP"}, "€": {"EUR"}, "₩": {"KRW"}, "￦": {"KRW"}, "원": {"KRW"}, "¥": {"JPY", "CNY"},
    "$": {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"},
}
# groups: 1 sign, 2 symbol, 3 sign, 4 number, 5 symbol after
_NUMBER_RE = (r"^([-+]?)\s*([£€₩￦¥$])?\s*([-+]?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
              r"\s*([£€₩￦¥$원])?$")
_EURO_DECIMAL_RE = r"^[-+]?\d+,\d{1,2}$|^[-+]?\d{1,3}(?:\.\d{3})+,\d+$"
_AWARE_RE = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_TRUE = ["true", "t", "yes", "y", "1", "1.0"]
_FALSE = ["false", "f", "no", "n", "0", "0.0"]
_NUMBER_FIX_TEMPLATE = (
    "write plain numbers such as 1234.5 (thousands separators as in 1,234.5 and a currency symbol "
    "of {currency} are accepted; a decimal comma is not)"
)


@dataclass
class Conversion:
    """A converted column (every member an Ibis expression over the prepared table)."""

    value: Any
    bad: Any = None
    problem: Any = ""
    fix: Any = ""
    adjustments: list[tuple[str, Any]] = field(default_factory=list)


def kind_of(dtype) -> str:
    """The loader's kind of an Ibis type: string, int, float, bool, datetime (other types read as text)."""
    if dtype.is_boolean():
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_floating() or dtype.is_decimal():
        return "float"
    if dtype.is_timestamp() or dtype.is_date():
        return "datetime"
    return "string"


Layer = Callable[[Any], dict[str, Any]]


class Plan:
    """Base of the conversion plans; ``key`` names its helper columns.

    Each heavy value (trimmed text, a parse) is a helper column computed once,
    in *layers* that the loader applies in order to the source table.
    """

    def __init__(self, key: str, label: str, fn: EngineFunctions):
        self.key = key
        self.label = label
        self.fn = fn
        #: The input is a file column with no white space at either end of any value (no trim needed).
        self.clean = False

    def col(self, name: str) -> str:
        return f"__{self.key}_{name}"

    def strip(self, x):
        """Python's str.strip() of the input, skipped when the file column is clean."""
        return x if self.clean else self.fn.trim(x)

    def layers(self, value) -> list[Layer]:
        """Helper columns that need no column-level facts (``value``: the input over the source table)."""
        return [lambda m: {self.col("in"): value}]

    def stats(self, m) -> dict[str, Any]:
        return {}

    def value_layers(self, stats: dict[str, Any]) -> list[Layer]:
        """Helper columns that need the column-level facts; the last holds ``out``, the converted value."""
        raise NotImplementedError

    def conversion(self, m, stats: dict[str, Any]) -> Conversion:
        """The converted value with its failures and adjustments, over the table with every helper column."""
        raise NotImplementedError


def _text_of(value, kind: str, label: str):
    """A typed value as the text a pandas column of that type would give, plus the whole-float test."""
    import ibis

    if kind == "string":
        return value, None
    if kind == "bool":  # (not value.isnull(): Ibis writes NOT x IS NULL for a negation)
        return ibis.cases((value, "true"), (~value, "false"), else_=ibis.null("string")), None
    if kind == "float":
        whole = (value.notnull() & ~value.isnan() & ~value.isinf() & (value.floor() == value)
                 & (value.abs() < 2.0 ** 53))
        text = ibis.cases((whole, value.cast("int64").cast("string")),
                          (value.isnull() | value.isnan(), ibis.null("string")), else_=value.cast("string"))
        return text, whole
    return value.cast("string"), None


class TextPlan(Plan):
    """Text: trimmed, blank -> missing (counted); allowed values lower-cased; verbatim columns kept as written."""

    def __init__(self, key, label, fn, kind: str, spec: ColumnSpec | None, trim: bool = True):
        super().__init__(key, label, fn)
        self.kind, self.spec, self.trim = kind, spec, trim

    def layers(self, value) -> list[Layer]:
        if self.kind != "string":
            text, whole = _text_of(value, self.kind, self.label)
            extra = {self.col("whole"): whole} if whole is not None else {}
            return [lambda m: {self.col("in"): text, **extra}]
        return [lambda m: {self.col("in"): value}, lambda m: {self.col("s"): self.strip(m[self.col("in")])}]

    def value_layers(self, stats) -> list[Layer]:
        import ibis

        def out(m):
            if self.kind != "string":
                return {self.col("out"): m[self.col("in")]}
            raw, s = m[self.col("in")], m[self.col("s")]
            blank = raw.notnull() & (s == "")
            if not self.trim:
                return {self.col("out"): ibis.cases((blank, ibis.null("string")), else_=raw)}
            v = ibis.cases((blank, ibis.null("string")), else_=s)
            if self.spec is not None and self.spec.allowed is not None:
                v = v.lower()
            return {self.col("out"): v}
        return [out]

    def conversion(self, m, stats) -> Conversion:
        out = m[self.col("out")]
        if self.kind != "string":
            if self.col("whole") in m.columns:
                return Conversion(out, adjustments=[(
                    f"{self.label}: numbers stored as floats written as whole numbers (12346.0 -> 12346)",
                    m[self.col("whole")])])
            return Conversion(out)
        raw, s = m[self.col("in")], m[self.col("s")]
        blank = raw.notnull() & (s == "")
        if not self.trim:
            return Conversion(out, adjustments=[(f"{self.label}: blank values (spaces only) read as missing", blank)])
        adjustments = [(f"{self.label}: leading/trailing spaces removed", raw.notnull() & ~blank & (s != raw)),
                       (f"{self.label}: blank values read as missing", blank)]
        if self.spec is not None and self.spec.allowed is not None:
            adjustments.append((f"{self.label}: values lower-cased (allowed values are {list(self.spec.allowed)})",
                                out.notnull() & (out != s)))
        return Conversion(out, adjustments=adjustments)


class NumberPlan(Plan):
    """Numbers: plain text, or with one currency's symbol and comma thousands separators (counted)."""

    def __init__(self, key, label, fn, kind: str, target: str, currency: str | None):
        super().__init__(key, label, fn)
        self.kind, self.target, self.currency = kind, target, currency

    @property
    def typed(self) -> bool:
        return self.kind in ("int", "float", "bool")

    def layers(self, value) -> list[Layer]:
        import ibis

        if self.typed:
            v = value.cast("int64").cast("float64") if self.kind == "bool" else value.cast("float64")
            return [lambda m: {self.col("in"): v}]
        text, _ = _text_of(value, self.kind, self.label)
        return [
            lambda m: {self.col("in"): text},
            lambda m: {self.col("t"): self.strip(m[self.col("in")]).nullif("")},
            lambda m: {self.col("fast"): ibis.cases((m[self.col("t")].contains("_"), ibis.null("float64")),
                                                    else_=m[self.col("t")].try_cast("float64"))},
        ]

    def _fail(self, m):
        fast = m[self.col("fast")]
        return m[self.col("t")].notnull() & (fast.isnull() | fast.isnan())

    def stats(self, m) -> dict[str, Any]:
        return {} if self.typed else {self.col("n_fail"): self._fail(m).sum()}

    def needs_more(self, stats) -> bool:
        return bool(stats.get(self.col("n_fail")))

    def more_stats(self, con, m) -> dict[str, Any]:
        """Column-level rules for the failing values: a decimal comma anywhere, the currency symbols used."""
        sub = m.filter(self._fail(m))
        st = sub[self.col("t")]
        euro = con.execute(st.re_search(_EURO_DECIMAL_RE).any())
        sym = coalesce_nonempty(st.re_extract(_NUMBER_RE, 2), st.re_extract(_NUMBER_RE, 5))
        syms = con.execute(sub.filter(st.re_search(_NUMBER_RE) & sym.notnull()).select(s=sym).distinct())
        return {self.col("euro"): bool(euro), self.col("symbols"): sorted(syms["s"].tolist())}

    def value_layers(self, stats) -> list[Layer]:
        import ibis

        def number(m):
            if self.typed:
                return {self.col("v"): m[self.col("in")], self.col("bad"): ibis.literal(False),
                        self.col("ok"): ibis.literal(False)}
            t, fast, fail = m[self.col("t")], m[self.col("fast")], self._fail(m)
            if not stats.get(self.col("n_fail")):
                return {self.col("v"): fast, self.col("bad"): ibis.literal(False), self.col("ok"): ibis.literal(False)}
            if stats.get(self.col("euro")):  # a decimal comma: never guess
                return {self.col("v"): ibis.cases((fail, ibis.null("float64")), else_=fast), self.col("bad"): fail,
                        self.col("ok"): ibis.literal(False)}
            symbols = stats.get(self.col("symbols")) or []
            sym_ok = len(symbols) <= 1 and all(self.currency is None or self.currency in _CURRENCY_SYMBOLS[x]
                                               for x in symbols)
            s1, s2 = t.re_extract(_NUMBER_RE, 1), t.re_extract(_NUMBER_RE, 3)
            ok = fail & t.re_search(_NUMBER_RE) & ((s1.length() + s2.length()) <= 1)
            if not sym_ok:
                ok = ok & coalesce_nonempty(t.re_extract(_NUMBER_RE, 2), t.re_extract(_NUMBER_RE, 5)).isnull()
            num = t.re_extract(_NUMBER_RE, 4).replace(",", "").try_cast("float64")
            cleaned = ibis.cases((s1.concat(s2) == "-", -num), else_=num)
            return {self.col("v"): ibis.cases((ok, cleaned), (fail, ibis.null("float64")), else_=fast),
                    self.col("bad"): fail & ~ok, self.col("ok"): ok}

        def out(m):
            v = m[self.col("v")]
            if self.target != "int":
                return {self.col("out"): v, self.col("frac"): ibis.literal(False)}
            frac = v.notnull() & ~v.isnan() & ~v.isinf() & (v.floor() != v)
            none = m[self.col("bad")] | frac | v.isnull() | v.isnan()
            return {self.col("out"): ibis.cases((none, ibis.null("int64")), else_=v.cast("int64")),
                    self.col("frac"): frac}
        return [number, out]

    def conversion(self, m, stats) -> Conversion:
        import ibis

        fix = _NUMBER_FIX_TEMPLATE.format(currency=self.currency or "the config currency")
        adjustments = []
        if not self.typed:
            adjustments.append((f"{self.label}: currency symbols or thousands separators removed", m[self.col("ok")]))
        bad, problem = m[self.col("bad")], "not a number"
        if self.target == "int":
            frac = m[self.col("frac")]
            problem = ibis.cases((frac, "not a whole number"), else_="not a number")
            fix = ibis.cases((frac, "write whole numbers (e.g. 0 or 1)"), else_=fix)
            bad = bad | frac
        elif self.typed:
            bad = None
        return Conversion(m[self.col("out")], bad, problem, fix, adjustments)


def coalesce_nonempty(a, b):
    """The first of two texts that is neither missing nor empty (regexp_extract gives '' for no match)."""
    import ibis

    return ibis.coalesce(a.nullif(""), b.nullif(""))


class BoolPlan(Plan):
    """true/false, yes/no, y/n, t/f, 1/0 in any case."""

    def __init__(self, key, label, fn, kind: str):
        super().__init__(key, label, fn)
        self.kind = kind

    def layers(self, value) -> list[Layer]:
        if self.kind == "bool":
            return [lambda m: {self.col("in"): value}]
        text = value.cast("string") if self.kind != "string" else value
        return [lambda m: {self.col("in"): text},
                lambda m: {self.col("low"): self.strip(m[self.col("in")]).nullif("").lower()}]

    def value_layers(self, stats) -> list[Layer]:
        import ibis

        def out(m):
            if self.kind == "bool":
                return {self.col("out"): m[self.col("in")]}
            low = m[self.col("low")]
            return {self.col("out"): ibis.cases((low.isin(_TRUE), True), (low.isin(_FALSE), False),
                                                else_=ibis.null("boolean"))}
        return [out]

    def conversion(self, m, stats) -> Conversion:
        out = m[self.col("out")]
        if self.kind == "bool":
            return Conversion(out)
        bad = m[self.col("low")].notnull() & out.isnull()
        return Conversion(out, bad, "not true/false", "write true/false, yes/no or 1/0")


# ----------------------------------------------------------------------------- date-times


def tz_transitions(tz: str, lo: dt.datetime, hi: dt.datetime) -> tuple[int, list[tuple[dt.datetime, int, int]]]:
    """UTC offsets of ``tz`` over a range of local times, from Python's zoneinfo.

    Returns
    -------
    (offset before the first transition in seconds, [(transition instant as naive UTC, offset before, offset after)])
    Times outside 1850-2200 use the offset at the nearest end.
    """
    zone = zoneinfo.ZoneInfo(tz)
    floor, ceil = dt.datetime(1850, 1, 1), dt.datetime(2200, 1, 1)
    lo = min(max(lo - dt.timedelta(days=2), floor), ceil)
    hi = max(min(hi + dt.timedelta(days=2), ceil), lo)

    def offset(ts: float) -> int:
        return int(dt.datetime.fromtimestamp(ts, zone).utcoffset().total_seconds())

    epoch = dt.datetime(1970, 1, 1)
    start, end = (lo - epoch).total_seconds(), (hi - epoch).total_seconds()
    days = np.arange(start, end + 86400, 86400.0)
    idx = pd.DatetimeIndex(pd.to_datetime(days, unit="s", utc=True))
    local = idx.tz_convert(tz).tz_localize(None)
    offs = ((local - idx.tz_localize(None)).total_seconds()).astype(np.int64)
    first = int(offs[0])
    out = []
    for i in np.flatnonzero(np.diff(offs) != 0):
        a, b = float(days[i]), float(days[i + 1])
        before = offset(a)
        while b - a > 1:
            mid = (a + b) // 2
            if offset(mid) == before:
                a = mid
            else:
                b = mid
        out.append((epoch + dt.timedelta(seconds=b), before, offset(b)))
    return first, out


class DateTimePlan(Plan):
    """Date-times: the source's format, else ISO 8601, else inference; local times to UTC (counted)."""

    def __init__(self, key, label, fn, kind: str, fmt: str | None, tz: str):
        super().__init__(key, label, fn)
        self.kind, self.fmt, self.tz = kind, fmt, tz
        self.aware_format = bool(fmt) and ("%z" in fmt or "%Z" in fmt)
        self.fixes: str | None = None  # engine table of (__pos, naive, instant, inferred) for inferred rows

    def layers(self, value) -> list[Layer]:
        import ibis
        import ibis.expr.datatypes as idt

        utc = idt.Timestamp(timezone="UTC")
        if self.kind == "datetime":
            v = value.cast("timestamp") if value.type().is_date() else value
            if getattr(v.type(), "timezone", None) is None:
                return [lambda m: {self.col("naive"): v, self.col("aware"): ibis.literal(False)}]
            return [lambda m: {self.col("instant"): v.cast(utc), self.col("aware"): ibis.literal(True)}]
        text, _ = _text_of(value, self.kind, self.label)

        def aware(m):
            t = m[self.col("t")]
            if self.aware_format:
                return {self.col("aware"): t.notnull()}
            # the regular expression only where an offset or a zone name can be (it is costly)
            maybe = t.like("%+%") | t.like("%:%-%") | t.like("%Z") | t.like("%C") | t.like("%T")
            return {self.col("aware"): t.notnull() & ibis.cases((maybe, t.re_search(_AWARE_RE)), else_=False)}

        def parse(m):
            t, is_aware = m[self.col("t")], m[self.col("aware")]
            if self.fmt:
                naive = self.fn.try_strptime(t, self.fmt)
                instant = self.fn.try_strptime_tz(t, self.fmt) if self.aware_format else ibis.null(utc)
            else:
                naive, instant = t.try_cast("timestamp"), t.try_cast(utc)
            return {self.col("naive"): ibis.cases((is_aware, ibis.null("timestamp")), else_=naive),
                    self.col("instant"): ibis.cases((is_aware, instant), else_=ibis.null(utc))}

        return [lambda m: {self.col("in"): text},
                lambda m: {self.col("t"): self.strip(m[self.col("in")]).nullif("")},
                aware, parse]

    def _fail(self, m):
        return m[self.col("t")].notnull() & m[self.col("naive")].isnull() & m[self.col("instant")].isnull()

    def stats(self, m) -> dict[str, Any]:
        out = {self.col("any_aware"): m[self.col("aware")].any()}
        if self.col("naive") in m.columns:
            out[self.col("lo")] = m[self.col("naive")].min()
            out[self.col("hi")] = m[self.col("naive")].max()
        if self.kind != "datetime" and not self.fmt:
            out[self.col("n_fail")] = self._fail(m).sum()
        return out

    def needs_more(self, stats) -> bool:
        return bool(stats.get(self.col("n_fail")))

    def infer(self, con, m, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Values that are not ISO 8601 for the engine: read with pandas (ISO 8601, else inferred), on distinct values.

        Creates engine table ``name`` (__pos, naive, instant, inferred); returns the range of the naive values.
        """
        sub = m.filter(self._fail(m)).select(__pos=m["__pos"], k=m[self.col("t")], aware=m[self.col("aware")])
        sql = EngineSQL(con)
        sql.keep(f"{name}_rows", sub)
        keys = con.execute(con.table(f"{name}_rows").select("k", "aware").distinct())
        frames = []
        for aware, part in keys.groupby("aware"):
            vals = part["k"].astype(str)
            parsed = pd.to_datetime(vals, format="ISO8601", errors="coerce", utc=bool(aware))
            inferred = np.zeros(len(vals), dtype=bool)
            miss = parsed.isna().to_numpy()
            if miss.any():
                try:
                    again = pd.to_datetime(vals[miss], format="mixed", errors="coerce", utc=bool(aware))
                except (ValueError, TypeError):
                    again = None
                if again is not None and (aware or getattr(again.dt, "tz", None) is None):
                    got = again.notna().to_numpy()
                    parsed = parsed.copy()
                    parsed[miss] = again
                    inferred[np.flatnonzero(miss)[got]] = True
            if not aware and getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            nat = pd.Series(pd.NaT, index=vals.index, dtype="datetime64[us]")
            frames.append(pd.DataFrame({
                "k": vals.to_numpy(),
                "naive": nat if aware else parsed.astype("datetime64[us]"),
                "instant": parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]") if aware else nat,
                "inferred": inferred,
            }))
        mapping = pd.concat(frames, ignore_index=True)
        sql.register(f"{name}_map", mapping)
        try:
            sql.run(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT r.__pos, m.naive, "
                f"{self.fn.utc_sql('m.instant')} AS instant, m.inferred FROM {name}_rows r JOIN {name}_map m ON r.k = m.k")
        finally:
            sql.unregister(f"{name}_map")
        self.fixes = name
        naive = mapping["naive"].dropna()
        return (naive.min().to_pydatetime() if len(naive) else None,
                naive.max().to_pydatetime() if len(naive) else None)

    def _range(self, stats):
        lo, hi = stats.get(self.col("lo")), stats.get(self.col("hi"))
        lo = None if lo is None or pd.isna(lo) else pd.Timestamp(lo).to_pydatetime()
        hi = None if hi is None or pd.isna(hi) else pd.Timestamp(hi).to_pydatetime()
        for x in stats.get(self.col("inferred_range")) or ():
            if x is not None:
                lo = x if lo is None else min(lo, x)
                hi = x if hi is None else max(hi, x)
        return lo, hi

    def localize(self, naive, lo: dt.datetime | None, hi: dt.datetime | None):
        """(instant, non-existent, ambiguous) of naive local times in the source's zone."""
        import ibis
        import ibis.expr.datatypes as idt

        utc = idt.Timestamp(timezone="UTC")
        false = ibis.literal(False)
        if self.tz == "UTC" or lo is None:
            return naive.cast(utc), false, false
        first, transitions = tz_transitions(self.tz, lo, hi)
        branches, nonex, amb = [], false, false
        last = first
        for when, a, b in transitions:
            at = dt.timedelta(seconds=a)
            bt = dt.timedelta(seconds=b)
            if b > a:  # clocks go forward: local times in [T+a, T+b) do not exist -> the transition (shift forward)
                gap_lo, gap_hi = ibis.timestamp(when + at), ibis.timestamp(when + bt)
                branches.append((naive < gap_lo, naive - ibis.interval(seconds=a)))
                branches.append((naive < gap_hi, ibis.timestamp(when)))
                nonex = nonex | ((naive >= gap_lo) & (naive < gap_hi))
            else:  # clocks go back: local times in [T+b, T+a) happen twice -> summer time (the earlier offset)
                amb_lo, amb_hi = ibis.timestamp(when + bt), ibis.timestamp(when + at)
                branches.append((naive < amb_hi, naive - ibis.interval(seconds=a)))
                amb = amb | ((naive >= amb_lo) & (naive < amb_hi))
            last = b
        out = (ibis.cases(*branches, else_=naive - ibis.interval(seconds=last)) if branches
               else naive - ibis.interval(seconds=first))
        return out.cast(utc), ibis.coalesce(nonex, False), ibis.coalesce(amb, False)

    def value_layers(self, stats) -> list[Layer]:
        import ibis
        import ibis.expr.datatypes as idt

        utc = idt.Timestamp(timezone="UTC")
        lo, hi = self._range(stats)

        def merge(m):
            if self.col("naive") not in m.columns:
                return {}
            naive = m[self.col("naive")]
            instant = m[self.col("instant")] if self.col("instant") in m.columns else ibis.null(utc)
            inferred = ibis.literal(False)
            if self.fixes is not None:
                naive = ibis.coalesce(naive, m[f"{self.fixes}_naive"])
                instant = ibis.coalesce(instant, m[f"{self.fixes}_instant"].cast(utc))
                inferred = ibis.coalesce(m[f"{self.fixes}_inferred"], False)
            return {self.col("naive2"): naive, self.col("instant2"): instant, self.col("inferred"): inferred}

        def out(m):
            if self.col("naive2") not in m.columns:
                return {self.col("out"): m[self.col("instant")], self.col("nonex"): ibis.literal(False),
                        self.col("amb"): ibis.literal(False)}
            local, nonex, amb = self.localize(m[self.col("naive2")], lo, hi)
            aware = m[self.col("aware")]
            return {self.col("out"): ibis.cases((aware, m[self.col("instant2")]), else_=local),
                    self.col("nonex"): nonex & ~aware, self.col("amb"): amb & ~aware}
        return [merge, out]

    def conversion(self, m, stats) -> Conversion:
        out = m[self.col("out")]
        adjustments = [
            (f"{self.label}: local times that do not exist in {self.tz} (clock change) moved forward",
             m[self.col("nonex")]),
            (f"{self.label}: ambiguous local times in {self.tz} (clock change) read as summer time", m[self.col("amb")]),
        ]
        if self.kind == "datetime":
            return Conversion(out, adjustments=adjustments)
        if stats.get(self.col("any_aware")):
            text = f"{self.label}: timestamps without a time zone read as {self.tz} (the column mixes both)"
            adjustments.append((text, m[self.col("t")].notnull() & ~m[self.col("aware")]))
        adjustments.append((f"{self.label}: dates not in ISO 8601 read by inference (set date_format to be sure)",
                            m[self.col("inferred")]))
        bad = m[self.col("t")].notnull() & out.isnull()
        fix = (f"write it as {self.fmt} (the source's date_format)" if self.fmt else
               "write dates as ISO 8601 (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS), or set `date_format:` for this source")
        return Conversion(out, bad, "not a date/time", fix, adjustments)


def plan_for(key: str, label: str, spec: ColumnSpec | None, kind: str, fn: EngineFunctions, *,
             fmt: str | None, tz: str, currency: str | None, verbatim: bool = False) -> Plan:
    """The plan converting a value of ``kind`` into the canonical column ``spec`` (None: an extra text column)."""
    target = spec.kind if spec is not None else "string"
    if target == "string":
        return TextPlan(key, label, fn, kind, spec, trim=not verbatim)
    if target in ("float", "int"):
        return NumberPlan(key, label, fn, kind, target, currency)
    if target == "bool":
        return BoolPlan(key, label, fn, kind)
    if target == "datetime":
        return DateTimePlan(key, label, fn, kind, fmt, tz)
    raise ValueError(f"unknown column kind {target!r}")  # pragma: no cover


# ----------------------------------------------------------------------------- constants


def convert_constant(value: Any, spec: ColumnSpec, tz: str, currency: str | None) -> tuple[Any, str | None]:
    """A config constant converted like a column value: (value, problem or None)."""
    kind = spec.kind
    if value is None:
        return None, None
    if kind == "string":
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, (dt.date, dt.datetime)):
            text = value.isoformat()
        if not (spec.pii or spec.name in VERBATIM_COLUMNS):
            text = text.strip()
            if spec.allowed is not None:
                text = text.lower()
        return (text if text.strip() else None), None
    if kind in ("float", "int"):
        if isinstance(value, bool):
            value = int(value)
        try:
            num = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
        except ValueError:
            return None, "not a number"
        if kind == "int":
            if not float(num).is_integer():
                return None, "not a whole number"
            return int(num), None
        return num, None
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        low = str(value).strip().lower()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return None, "not true/false"
    if kind == "datetime":
        try:
            ts = pd.Timestamp(value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value))
        except (ValueError, TypeError):
            return None, "not a date/time"
        if ts.tzinfo is None:
            ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        return ts.tz_convert("UTC").to_pydatetime(), None
    raise ValueError(kind)  # pragma: no cover

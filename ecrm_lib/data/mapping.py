"""One source from its staged file to policed canonical rows, as engine queries.

:class:`SourceLoad` maps a staged source (:mod:`ecrm_lib.data.read`) onto its
canonical table: mapped columns, ``computed`` expressions
(:mod:`ecrm_lib.data.expressions`), constants and the conversions of
:mod:`ecrm_lib.data.convert`; then the row policies in their order (missing
key, ``set_aside`` rules, non-positive amounts, after the as-of date, exact
duplicates of an earlier kept row). The converted rows are one engine table
(``conv_<i>``) with, per row, the reason it was set aside, the columns whose
value failed to convert and one flag per counted adjustment; the view
``final_<i>`` adds the as-of and duplicate policies. Nothing but counts, the
set-aside rows' positions and the failing rows comes back into Python.

A mapped or expression column that is missing from the file does not stop the
load (issue 13 item 10): it is reported with every other problem of every
source, and the checks of the column it feeds are skipped.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecrm_lib.core.config import Config
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.schema import TABLES, ColumnSpec
from ecrm_lib.data.convert import (
    VERBATIM_COLUMNS,
    Conversion,
    DateTimePlan,
    NumberPlan,
    convert_constant,
    kind_of,
    plan_for,
)
from ecrm_lib.data.dialect import EngineSQL
from ecrm_lib.data.expressions import (
    Expression,
    ExpressionTypeError,
    Frame,
    ParsedExpressions,
    Typed,
    compile_expression,
)
from ecrm_lib.data.functions import engine_functions
from ecrm_lib.data.read import StagedSource, sql_name, sql_string
from ecrm_lib.data.validate import column_checks, show_value

__all__ = ["MARK", "ROW_NUMBER_COLUMN", "SourceLoad"]

#: Source column name that stands for the 1-based data-row number.
ROW_NUMBER_COLUMN = "__row__"
#: Reasons that start with this mark are rows under an ``error`` policy (reported, never "set aside").
MARK = "\x00"
_SHORT_REASON = "fewer fields than the header"


@dataclass
class _Fail:
    """Rows whose flag column is true are reported (when kept)."""

    flag: str
    column: str
    raw: str | None  # source column whose value is shown (else ``text``)
    text: str | None  # conv column holding the value as shown
    problem: str  # the text, or the conv column holding it when dynamic_problem
    fix: str
    order: int
    dynamic_problem: bool = False
    dynamic_fix: bool = False


@dataclass
class _State:
    stats1: dict[str, Any] = field(default_factory=dict)
    stats2: dict[str, Any] = field(default_factory=dict)
    fixes: dict[str, str] = field(default_factory=dict)  # plan key -> engine table of inferred dates
    clean: set[str] = field(default_factory=set)  # text columns without white space at the ends of any value
    inferred_range: dict[str, tuple] = field(default_factory=dict)


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _suggest(missing: str, columns: list[str]) -> list[str]:
    close = difflib.get_close_matches(missing, columns, n=3, cutoff=0.5)
    return close + [c for c in columns if _squash(c) == _squash(missing) and c not in close]


def _text(prefix: str, value: Any):
    import ibis

    if isinstance(value, str):
        return ibis.literal(prefix + value)
    return ibis.literal(prefix).concat(value)


class SourceLoad:
    """A source being loaded: builds ``conv_<i>``, then ``final_<i>``, then reads back counts and problems."""

    def __init__(self, con, config: Config, staged: StagedSource, index: int, parsed: ParsedExpressions):
        self.con = con
        self.config = config
        self.staged = staged
        self.source = staged.source
        self.index = index
        self.parsed = parsed
        self.spec = TABLES[self.source.table]
        self.fn = engine_functions(con)
        self.sql = EngineSQL(con)
        self.conv = f"conv_{index}"
        self.final = f"final_{index}"
        self.missing: list[dict[str, Any]] = []  # missing columns (no line)
        self.fails: list[_Fail] = []
        self.adjust: list[tuple[str, str]] = []  # (text, flag column)
        self.bad: dict[str, str] = {}  # canonical column -> flag column of unparseable values
        self.skip_checks: set[str] = set()  # canonical columns fed by a missing column
        self.columns: list[str] = []  # canonical (+ extra) columns in order
        self.kinds: dict[str, str] = {}  # extra column -> kind
        self.markers: dict[str, tuple[str, str, str]] = {}  # marker -> (canonical column, problem, fix)
        self.typed_extra: dict[str, Typed] = {}
        self._tally: list[tuple[str | None, int, int]] | None = None
        self.as_of: dt.date | None = None
        self._late_sql = "false"
        self._late_reason = ""

    @property
    def file(self) -> str:
        return self.source.path.name

    # ------------------------------------------------------------------ building
    def build(self) -> None:
        """Map, convert and police (up to the as-of date) into engine table ``conv_<i>``."""
        src = self.source
        cols = self.staged.columns
        present = set(cols) | {ROW_NUMBER_COLUMN}
        for c in dict.fromkeys(src.columns.values()):
            if c not in present:
                self._missing(c, "mapped column")
        for c in src.extra_columns or ():
            if c not in present:
                self._missing(c, "extra_columns column")
        self.usable = {}
        for e in self.parsed.computed.values():
            absent = [c for c in e.columns if c not in present]
            for c in absent:
                self._missing(c, f"{e.what} {e.text!r} uses column")
            self.usable[id(e)] = not absent
        for e, _reason in self.parsed.rules:
            absent = [c for c in e.columns if c not in present]
            for c in absent:
                self._missing(c, f"set_aside rule {e.text!r} uses column")
            self.usable[id(e)] = not absent
        state = _State()
        m, plans, values, computed = self._plan(state, query=True)
        if state.fixes:  # inferred dates: joined by row, then planned again on the joined table
            m, plans, values, computed = self._plan(state, query=False)
        self._state = state
        self._convert(m, plans, values, computed, state)

    def _missing(self, column: str, what: str) -> None:
        close = _suggest(column, self.staged.columns)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        self.missing.append({
            "source": self.source.name, "table": self.source.table, "file": self.file, "line": "",
            "column": column, "value": "",
            "problem": f"{what} {column!r} not in the file{hint}; the file's columns are {self.staged.columns}",
            "fix": "fix the name in the config (names are case-sensitive)",
            "_src": self.index, "_pos": -1, "_order": len(self.missing),
        })

    def _base(self, state: _State):
        if not state.fixes:
            return self.con.table(self.staged.table)
        joins, picks = [], []
        for j, (key, table) in enumerate(state.fixes.items()):
            joins.append(f"LEFT JOIN {table} f{j} ON f{j}.__pos = s.__pos")
            picks.append(f"f{j}.naive AS {table}_naive, f{j}.instant AS {table}_instant, "
                         f"f{j}.inferred AS {table}_inferred")
        view = f"{self.staged.table}_fixed"
        self.sql.run(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT s.*, {', '.join(picks)} "
                     f"FROM {self.staged.table} s {' '.join(joins)}")
        return self.con.table(view)

    def _raw(self, m, column: str) -> Typed:
        if column == ROW_NUMBER_COLUMN:
            return Typed((m["__pos"] + 1).cast("string"), "string")
        if self.staged.parquet:
            import ibis.expr.datatypes as idt

            v = m[column]
            if column in self.staged.instants and v.type().is_timestamp() and v.type().timezone is None:
                v = v.cast(idt.Timestamp(timezone="UTC"))  # the engine's naive type holds instants (Spark)
            return Typed(v, kind_of(v.type()))
        return Typed(m[column], "string")

    def _plan(self, state: _State, query: bool):
        """Helper columns, expression views and conversion plans over the staged table (queries on the first pass)."""
        import ibis

        src, spec, con = self.source, self.spec, self.con
        base = self._base(state)
        if query:  # 0. text columns that need no trimming: one cheap pass spares it in every later one
            text = [c for c in dict.fromkeys([*src.columns.values(), *self._refs(), *self._extras()])
                    if c in base.columns and c != "__pos" and base[c].type().is_string()]
            if text:
                sums = ", ".join(f"bool_or({self.fn.edge_space_sql(sql_name(c))})" for c in text)
                got = self.sql.one(f"SELECT {sums} FROM {base.get_name()}")
                state.clean = {c for c, edge in zip(text, got) if not edge}
        # 1. the columns expressions read, as numbers where they hold numbers (strict: all; lenient: most)
        refs = [c for c in self._refs() if c != ROW_NUMBER_COLUMN and not self.staged.parquet]
        number = {c: NumberPlan(f"v{j}", c, self.fn, "string", "float", self.config.currency) for j, c in enumerate(refs)}
        for c, p in number.items():
            p.clean = c in state.clean
        m1 = _apply(base, [p.layers(base[c]) for c, p in number.items()])
        if query and number:
            aggs = {}
            for c, p in number.items():
                aggs.update(p.stats(m1))
                aggs[p.col("present")] = m1[p.col("t")].notnull().sum()
                aggs[p.col("zero")] = m1[p.col("t")].re_search(r"^[-+]?0\d").any()
            state.stats1.update(_one_row(con, m1.aggregate(**aggs)))
            for p in number.values():
                if p.needs_more(state.stats1):
                    state.stats1.update(p.more_stats(con, m1))
        m1 = _apply(m1, [p.value_layers(state.stats1) for p in number.values()])
        if query:
            more = [p for p in number.values() if p.needs_more(state.stats1)]
            if more:
                state.stats1.update(_one_row(con, m1.aggregate(**{p.col("nbad"): m1[p.col("bad")].sum() for p in more})))
        strict, lenient, typed = set(), set(), {}
        for c, p in number.items():
            s = state.stats1
            n_present, n_bad = int(s.get(p.col("present")) or 0), int(s.get(p.col("nbad")) or 0)
            if n_present and not s.get(p.col("zero")):
                typed[c] = (m1[p.col("v")], m1[p.col("bad")])
                if n_bad == 0:
                    strict.add(c)
                if n_present - n_bad >= 0.5 * n_present:
                    lenient.add(c)

        def view(name: str):
            def column(c: str) -> Typed:
                if name == "strict" and c in strict or name == "lenient" and c in lenient:
                    return Typed(typed[c][0], "float")
                return self._raw(m1, c)
            return column

        # 2. computed columns
        computed: dict[str, tuple[Typed, list[tuple[str, Any]]]] = {}
        for col, e in self.parsed.computed.items():
            if not self.usable[id(e)]:
                continue
            cspec = _spec(spec, col)
            kind = cspec.kind if cspec is not None else None
            views = (["lenient", "strict", "raw"] if kind in ("float", "int") else
                     ["raw", "strict"] if kind in ("string", "datetime") else ["strict", "raw"])
            result, used, error = None, None, None
            for v in views:
                try:
                    frame = Frame(m1)
                    result = compile_expression(e, view(v), frame, self.fn)
                    m1, used = frame.table, v
                    break
                except ExpressionTypeError as err:
                    error = error or err
            if result is None:
                raise ConfigError(
                    f"source {src.name!r}: {e.what} = {e.text!r} does not fit the data: {error}. "
                    f"Source columns used: {e.columns} (read as text, or as numbers where every value is one)."
                )
            lenient_bad = [(c, typed[c][1]) for c in e.columns if used == "lenient" and c in lenient and c not in strict]
            computed[col] = (result, lenient_bad)
        self._rules = []
        for e, reason in self.parsed.rules:
            if not self.usable[id(e)]:
                continue
            mask, error = None, None
            # numbers only where every value is one; then (e.g. `Price <= 0` on a column with a stray
            # text value) numbers where most are, the rest missing and never matching; then text as read
            for v in ("strict", "lenient", "raw"):
                try:
                    frame = Frame(m1)
                    res = compile_expression(e, view(v), frame, self.fn)
                    if res.kind != "bool":
                        raise ExpressionTypeError(f"it gives {res.kind} values, not true/false")
                    mask = ibis.coalesce(res.value, False)
                    m1 = frame.table
                    break
                except ExpressionTypeError as err:
                    error = error or err
            if mask is None:
                raise ConfigError(
                    f"source {src.name!r}: set_aside rule `when: {e.text}` does not fit the data: {error}. It must "
                    f"give true/false per row, e.g. \"Invoice.str.startswith('C')\" or \"Price <= 0\"; source "
                    f"columns used: {e.columns}."
                )
            self._rules.append((mask, reason))

        # 3. the targets and their conversion plans
        targets = list(spec.column_names())
        if spec.keep_extra:
            targets += [c for c in [*src.columns, *src.computed, *src.constants] if c not in targets]
        present = set(self.staged.columns) | {ROW_NUMBER_COLUMN}
        plans, values = {}, {}
        for k, col in enumerate(targets):
            cspec = _spec(spec, col)
            verbatim = cspec is not None and (cspec.pii or cspec.name in VERBATIM_COLUMNS)
            if col in src.columns:
                s = src.columns[col]
                if s not in present:
                    self.skip_checks.add(col)
                    continue
                typed_value = self._raw(m1, s)
                label = col if s == col else f"{col} (from {s})"
            elif col in computed:
                typed_value, label = computed[col][0], col
                if cspec is None and typed_value.kind not in ("string", "null"):
                    self.typed_extra[col] = typed_value  # an extra column computed as a number, date or flag
                    continue
            elif col in src.computed:  # its expression reads a missing column
                self.skip_checks.add(col)
                continue
            else:
                continue  # constants, is_control and unmapped columns: set when converting
            if typed_value.kind == "null":
                typed_value = Typed(ibis.null("string"), "string")
            plans[col] = plan_for(f"c{k}", label, cspec, typed_value.kind, self.fn, fmt=src.date_format,
                                  tz=src.timezone, currency=self.config.currency, verbatim=verbatim)
            plans[col].clean = col in src.columns and src.columns[col] in state.clean
            values[col] = typed_value.value
        for col, p in plans.items():
            if isinstance(p, DateTimePlan) and p.key in state.fixes:
                p.fixes = state.fixes[p.key]
        m2 = _apply(m1, [p.layers(values[col]) for col, p in plans.items()])
        if query:
            aggs = {k: v for p in plans.values() for k, v in p.stats(m2).items()}
            if aggs:
                state.stats2.update(_one_row(con, m2.aggregate(**aggs)))
            for col, p in plans.items():
                if isinstance(p, NumberPlan) and p.needs_more(state.stats2):
                    state.stats2.update(p.more_stats(con, m2))
                elif isinstance(p, DateTimePlan) and p.needs_more(state.stats2):
                    name = f"fix_{self.index}_{p.key}"
                    state.inferred_range[p.key] = p.infer(con, m2, name)
                    state.fixes[p.key] = name
        for key, rng in state.inferred_range.items():
            state.stats2[f"__{key}_inferred_range"] = rng
        if not state.fixes or not query:
            m2 = _apply(m2, [p.value_layers(state.stats2) for p in plans.values()])
        return m2, plans, values, computed

    def _refs(self) -> list[str]:
        """Source columns read by the usable expressions."""
        return sorted({c for e in self._expressions() if self.usable[id(e)] for c in e.columns})

    def _extras(self) -> list[str]:
        """Unmapped source columns kept as extra columns (customers)."""
        if not self.spec.keep_extra:
            return []
        mapped = set(self.source.columns.values())
        wanted = self.source.extra_columns if self.source.extra_columns is not None else self.staged.columns
        return [c for c in wanted if c not in mapped and c != ROW_NUMBER_COLUMN and c in set(self.staged.columns)]

    def _expressions(self) -> list[Expression]:
        return [*self.parsed.computed.values(), *(e for e, _ in self.parsed.rules)]

    def _convert(self, m, plans, values, computed, state: _State) -> None:
        """Build the converted columns, flags and the first reasons; materialise ``conv_<i>``."""
        import ibis

        src, spec = self.source, self.spec
        out: dict[str, Any] = {"__pos": m["__pos"]}
        flags: dict[str, Any] = {}
        texts: dict[str, Any] = {}
        for text in self.staged.adjustments:  # whole-file adjustments apply to every kept row
            self._flag(flags, text, ibis.literal(True))
        targets = list(spec.column_names())
        if spec.keep_extra:
            targets += [c for c in [*src.columns, *src.computed, *src.constants] if c not in targets]
        order = 1
        for col in targets:
            cspec = _spec(spec, col)
            kind = cspec.kind if cspec is not None else "string"
            if col in plans:
                conv: Conversion = plans[col].conversion(m, state.stats2)
                any_bad = None
                if col in computed:
                    e = self.parsed.computed[col]
                    for c, bad in computed[col][1]:
                        flag = self._fail_flag(flags, bad, c, c, None, f"{col} (computed from {c}): not a number",
                                               "write plain numbers such as 1234.5", order)
                        any_bad = flag if any_bad is None else any_bad | flag
                        order += 1
                    if conv.bad is not None:
                        rest = conv.bad if any_bad is None else conv.bad & ~any_bad
                        raw = e.columns[0] if len(e.columns) == 1 else None
                        tname = None
                        if raw is None:
                            tname = f"__t{order}"
                            texts[tname] = values[col].cast("string") if computed[col][0].kind != "string" else values[col]
                        self._fail_flag(flags, rest, ", ".join(e.columns), raw, tname,
                                        _text(f"{col} (computed {e.text!r}): ", conv.problem), conv.fix, order)
                        order += 1
                        any_bad = conv.bad if any_bad is None else any_bad | conv.bad
                elif conv.bad is not None:
                    s = src.columns[col]
                    self._fail_flag(flags, conv.bad, s, s if s != ROW_NUMBER_COLUMN else None, None,
                                    _text(f"{col}: ", conv.problem), conv.fix, order)
                    order += 1
                    any_bad = conv.bad
                for text, mask in conv.adjustments:
                    self._flag(flags, text, mask)
                if any_bad is not None:
                    name = f"__bad_{len(self.bad)}"
                    flags[name] = ibis.coalesce(any_bad, False)
                    self.bad[col] = name
                value = conv.value
            elif col in self.typed_extra:
                value = self.typed_extra[col].value
                kind = self.typed_extra[col].kind
                self.kinds[col] = kind
            elif col in src.constants and cspec is not None:
                v, problem = convert_constant(src.constants[col], cspec, src.timezone, self.config.currency)
                if problem:
                    raise ConfigError(f"source {src.name!r}: constant {col}: {src.constants[col]!r} is {problem}.")
                value = _literal(v, kind)
            elif col in src.constants:  # an extra column given as a constant
                value = ibis.literal(str(src.constants[col]))
            elif col == "is_control" and src.table == "campaigns":
                value = ibis.coalesce(out["arm"].isin(list(src.control_arms)), False)
            else:
                value = _literal(None, kind)
            out[col] = _cast(value, kind)
            self.columns.append(col)
        if spec.keep_extra:
            mapped = set(src.columns.values())
            wanted = src.extra_columns if src.extra_columns is not None else list(self.staged.columns)
            for c in wanted:
                if c in mapped or c == ROW_NUMBER_COLUMN or c not in set(self.staged.columns):
                    continue
                name = c if c not in out else f"{c}_source"
                raw = self._raw(m, c)
                if raw.kind == "string":  # CSV text as read; only a value of spaces alone becomes missing
                    blank = raw.value.notnull() & ((raw.value if c in self._state.clean else self.fn.trim(raw.value)) == "")
                    self._flag(flags, f"{c}: blank values (spaces only) read as missing", blank)
                    out[name] = ibis.cases((blank, ibis.null("string")), else_=raw.value)
                else:  # Parquet numbers and dates keep their stored type
                    out[name] = raw.value
                self.kinds[name] = raw.kind
                self.columns.append(name)

        # missing keys, then the source's rules, then non-positive amounts
        pol = self.config.policies
        key_missing = ibis.literal(False)
        for k in spec.key:
            if k in self.skip_checks:  # its column is missing from the file: reported as such, not per row
                continue
            miss = out[k].isnull()
            if k in self.bad:
                miss = miss & ~flags[self.bad[k]]
            key_missing = key_missing | miss
        cases = []
        key_reason = f"missing {' / '.join(spec.key)}"
        if pol.missing_keys == "error":
            cases.append((key_missing, self._marker("key", spec.key[0], key_reason,
                          "fill the key, or set policies.missing_keys: set_aside to count and skip these rows")))
        else:
            cases.append((key_missing, key_reason))
        for mask, reason in self._rules:
            cases.append((mask, reason))
        if src.table == "transactions":
            amount = out["amount"]
            nonpos = ibis.coalesce(amount <= 0, False)
            if pol.nonpositive_amounts == "set_aside":
                cases.append((nonpos, "amount <= 0"))
            elif pol.nonpositive_amounts == "error":
                cases.append((nonpos, self._marker("nonpos", "amount", "amount <= 0",
                              "correct the amount, or set policies.nonpositive_amounts to set_aside or keep")))
            else:
                self._nonpos_keep = True
                flags["__nonpos"] = nonpos
        reason = ibis.cases(*cases, else_=ibis.null("string")) if cases else ibis.null("string")
        table = m.select(**out, **flags, **texts, __reason=reason)
        self.sql.keep(self.conv, table)
        if getattr(self, "_nonpos_keep", False):
            self.adjust.append(("amount <= 0 kept (policy nonpositive_amounts: keep)", "__nonpos"))

    def _flag(self, flags: dict, text: str, mask) -> None:
        import ibis

        name = f"__adj_{len(self.adjust)}"
        flags[name] = ibis.coalesce(mask, False)
        self.adjust.append((text, name))

    def _fail_flag(self, flags, mask, column, raw, text, problem, fix, order):
        import ibis

        k = len(self.fails)
        name = f"__fail_{k}"
        flags[name] = ibis.coalesce(mask, False)
        dyn_p, dyn_f = not isinstance(problem, str), not isinstance(fix, str)
        if dyn_p:
            flags[f"{name}_p"] = problem
        if dyn_f:
            flags[f"{name}_f"] = fix
        self.fails.append(_Fail(name, column, raw, text, f"{name}_p" if dyn_p else problem,
                                f"{name}_f" if dyn_f else fix, order, dyn_p, dyn_f))
        return flags[name]

    def _marker(self, code: str, column: str, problem: str, fix: str) -> str:
        mark = MARK + code
        self.markers[mark] = (column, problem, fix)
        return mark

    # ------------------------------------------------------------------ as-of and duplicates
    def latest_time(self):
        col = self.spec.time_column
        if col is None:
            return None
        bad = f" AND NOT {self.bad[col]}" if col in self.bad else ""
        v = self.sql.one(f"SELECT max({sql_name(col)}) FROM {self.conv} WHERE __reason IS NULL{bad}")[0]
        return None if v is None else pd.Timestamp(v)

    def finish(self, end_utc: pd.Timestamp, as_of: dt.date) -> None:
        """Add the as-of and duplicate policies: view ``final_<i>`` with ``__why`` (None: kept)."""
        self.as_of = as_of
        pol = self.config.policies
        col = self.spec.time_column
        late_sql = "false"
        late_reason = f"after the as-of date {as_of.isoformat()}"
        if col is not None:
            stamp = end_utc.strftime("%Y-%m-%d %H:%M:%S+00")
            late_sql = f"coalesce(c.{sql_name(col)} >= TIMESTAMPTZ {sql_string(stamp)}, false)"
        if pol.after_as_of == "error":
            late_reason = self._marker("late", col or "", late_reason,
                                       "pass a later as_of, or set policies.after_as_of: set_aside")
        dups = f"dups_{self.index}"
        cols = ", ".join(f"s.{sql_name(c)}" for c in self.staged.columns)
        part = ", ".join(sql_name(c) for c in self.staged.columns)
        self.sql.run(f"""
            CREATE OR REPLACE TEMP TABLE {dups} AS
            WITH k AS (
                SELECT s.__pos, hash({cols}) AS __h FROM {self.staged.table} s JOIN {self.conv} c USING (__pos)
                WHERE c.__reason IS NULL AND NOT {late_sql}),
            cand AS (SELECT __h FROM k GROUP BY __h HAVING count(*) > 1),
            rows AS (SELECT s.* FROM {self.staged.table} s
                     WHERE s.__pos IN (SELECT __pos FROM k WHERE __h IN (SELECT __h FROM cand))),
            r AS (SELECT __pos, row_number() OVER (PARTITION BY {part} ORDER BY __pos) AS __rn,
                         min(__pos) OVER (PARTITION BY {part}) AS __first FROM rows)
            SELECT __pos, __first FROM r WHERE __rn > 1""")
        dup_reason = {"drop": sql_string("exact duplicate of an earlier row"),
                      "error": sql_string(self._marker("dup", "(whole row)", "exact duplicate",
                                                       "remove the repeated row from the file, or set "
                                                       "policies.duplicates to drop or keep")),
                      "keep": "NULL"}[pol.duplicates]
        self.sql.run(f"""
            CREATE OR REPLACE TEMP VIEW {self.final} AS
            SELECT c.*, CASE WHEN c.__reason IS NOT NULL THEN c.__reason
                             WHEN {late_sql} THEN {sql_string(late_reason)}
                             WHEN d.__pos IS NOT NULL THEN {dup_reason} END AS __why,
                   d.__first AS __dup_first, d.__pos IS NOT NULL AS __dup
            FROM {self.conv} c LEFT JOIN {dups} d USING (__pos)""")
        if pol.duplicates == "keep":
            self.adjust.append(("exact duplicate rows kept (policy duplicates: keep)", "__dup"))

    def drop(self) -> None:
        """Free this source's engine tables (its canonical rows are written)."""
        i = self.index
        # each before what it is built on (Spark's cached views are resolved again when their cache is freed)
        self.sql.run(f"DROP VIEW IF EXISTS {self.final}")
        for table in (f"dups_{i}", self.conv, *self._state.fixes.values(),
                      *(f"{t}_rows" for t in self._state.fixes.values())):
            self.sql.run(f"DROP TABLE IF EXISTS {table}")
        for view in (f"{self.staged.table}_fixed", self.staged.table):
            self.sql.run(f"DROP VIEW IF EXISTS {view}")
        for table in (f"raw_{i}", f"raw_{i}_rows", f"raw_{i}_lines", f"offsets_{i}"):
            self.sql.run(f"DROP TABLE IF EXISTS {table}")

    # ------------------------------------------------------------------ reading back
    def _short_reason(self) -> str:
        return _SHORT_REASON if self.config.policies.short_rows == "set_aside" else MARK + "short"

    def _reasons(self) -> list[tuple[str | None, int, int]]:
        """(reason or None for kept, rows, first row) of every reason, from one scan (kept until dropped)."""
        if self._tally is None:
            self._tally = [(r, int(n), int(p)) for r, n, p in self.sql.rows(
                f"SELECT __why, count(*), min(__pos) FROM {self.final} GROUP BY 1")]
        return self._tally

    def kept_count(self) -> int:
        return next((n for r, n, _ in self._reasons() if r is None), 0)

    def has_policy_failures(self) -> bool:
        if self.staged.short_rows and self.config.policies.short_rows == "error":
            return True
        return any(r is not None and r.startswith(MARK) for r, _, _ in self._reasons())

    def reason_counts(self) -> pd.DataFrame:
        rows = [(r, n, p) for r, n, p in self._reasons() if r is not None]
        if self.staged.short_rows:
            rows.append((self._short_reason(), len(self.staged.short_rows), self.staged.short_rows[0].pos))
        rows.sort(key=lambda r: r[2])
        return pd.DataFrame([(r, n) for r, n, _ in rows], columns=["reason", "n"])

    def summary_row(self) -> dict[str, Any]:
        kept = self.kept_count()
        return {"source": self.source.name, "table": self.source.table, "file": self.file,
                "rows_read": self.staged.n_rows, "rows_set_aside": self.staged.n_rows - kept, "rows_kept": kept}

    def file_row(self) -> dict[str, Any]:
        return {"source": self.source.name, "table": self.source.table, "file": self.file,
                "path": str(self.source.path), "bytes": self.staged.n_bytes, "sha256": self.staged.sha256}

    def adjustment_rows(self) -> list[dict[str, Any]]:
        if not self.adjust:
            return []
        sums = ", ".join(f"count_if({name} AND __why IS NULL)" for _, name in self.adjust)
        got = self.sql.one(f"SELECT {sums} FROM {self.final}")
        return [{"source": self.source.name, "table": self.source.table, "file": self.file, "adjustment": text,
                 "rows": int(n)} for (text, _), n in zip(self.adjust, got) if n]

    def set_aside_rows(self) -> pd.DataFrame:
        got = self.sql.frame(f"SELECT __pos, __why FROM {self.final} WHERE __why IS NOT NULL ORDER BY __pos")
        if self.staged.short_rows:
            extra = pd.DataFrame({"__pos": [r.pos for r in self.staged.short_rows],
                                  "__why": _SHORT_REASON})
            got = pd.concat([got, extra], ignore_index=True).sort_values("__pos", kind="stable")
        if got.empty:
            return pd.DataFrame(columns=["source", "table", "file", "line", "reason"])
        short = {r.pos: r.line for r in self.staged.short_rows}
        pos = got["__pos"].to_numpy()
        lines = self.staged.lines.labels(pos)
        lines = [short.get(int(p), line) for p, line in zip(pos, lines)]
        return pd.DataFrame({"source": self.source.name, "table": self.source.table, "file": self.file,
                             "line": lines, "reason": got["__why"].to_numpy()})

    # ------------------------------------------------------------------ problems
    def failures(self, limit: int) -> tuple[pd.DataFrame, int, pd.DataFrame]:
        """(first ``limit`` problems of this source, how many in all, counts per problem).

        One aggregate query counts every check (SQL over ``final_<i>``); only checks that fail are read back.
        """
        kept = "__why IS NULL"
        checks: list[tuple] = []  # (condition, order, column, raw, text column, problem, fix, first)
        for mark, (col, problem, fix) in self.markers.items():
            src_col = self.source.columns.get(col)
            raw = src_col if src_col and src_col != ROW_NUMBER_COLUMN else None
            text = None if raw or col not in self.columns else col
            checks.append((f"__why = {sql_string(mark)}", 0, src_col or col, raw, text, problem, fix,
                           mark == MARK + "dup"))
        for f in self.fails:
            checks.append((f"{kept} AND {sql_name(f.flag)}", f.order, f.column, f.raw, f.text,
                           (f.problem, f.dynamic_problem), (f.fix, f.dynamic_fix), False))
        for j, c in enumerate(self.spec.columns):
            if c.name in self.skip_checks or c.name not in self.columns:
                continue
            ok = kept + (f" AND NOT {sql_name(self.bad[c.name])}" if c.name in self.bad else "")
            src_col = self.source.columns.get(c.name)
            raw = src_col if src_col and src_col != ROW_NUMBER_COLUMN else None
            for k, (cond, problem, fix) in enumerate(column_checks(c, sql_name(c.name), self.fn)):
                checks.append((f"{ok} AND {cond}", 1000 + 10 * j + k, src_col or c.name, raw,
                               None if raw else c.name, problem, fix, False))
        rows: list[dict[str, Any]] = list(self.missing)
        counts = [{"file": r["file"], "problem": r["problem"], "n": 1, "_src": self.index, "_pos": -1,
                   "_order": r["_order"]} for r in rows]
        shorts = self.staged.short_rows if self.config.policies.short_rows == "error" else []
        for r in shorts:
            problem = f"{r.fields} fields where the header has {r.expected}"
            rows.append({"source": self.source.name, "table": self.source.table, "file": self.file, "line": r.line,
                         "column": "(whole row)", "value": "", "problem": problem,
                         "fix": "complete the row (a value containing a line break must be quoted), or set "
                                "policies.short_rows: set_aside", "_src": self.index, "_pos": r.pos, "_order": 0})
            counts.append({"file": self.file, "problem": problem, "n": 1, "_src": self.index, "_pos": r.pos,
                           "_order": 0})
        total = len(rows)
        if not checks:
            return pd.DataFrame(rows, columns=_FAILURE_OUT), total, pd.DataFrame(counts, columns=_COUNT_OUT)
        aggs = ", ".join(f"count_if({c[0]}), min(__pos) FILTER (WHERE {c[0]})" for c in checks)
        got = self.sql.one(f"SELECT {aggs} FROM {self.final}")
        parts = []
        for k, (cond, order, column, raw, text, problem, fix, first) in enumerate(checks):
            n = int(got[2 * k] or 0)
            if not n:
                continue
            total += n
            p_sql = sql_name(problem[0]) if isinstance(problem, tuple) and problem[1] else sql_string(
                problem[0] if isinstance(problem, tuple) else problem)
            f_sql = sql_name(fix[0]) if isinstance(fix, tuple) and fix[1] else sql_string(
                fix[0] if isinstance(fix, tuple) else fix)
            if isinstance(problem, tuple) and problem[1]:
                for p, m, c in self.sql.rows(f"SELECT {p_sql}, min(__pos), count(*) FROM {self.final} "
                                             f"WHERE {cond} GROUP BY 1"):
                    counts.append({"file": self.file, "problem": p, "n": int(c), "_src": self.index,
                                   "_pos": int(m), "_order": order})
            else:
                counts.append({"file": self.file, "problem": problem if isinstance(problem, str) else problem[0],
                               "n": n, "_src": self.index, "_pos": int(got[2 * k + 1]), "_order": order})
            value = f"CAST({sql_name(text)} AS VARCHAR)" if text else "NULL"
            parts.append(
                f"SELECT __pos, {order} AS _order, {sql_string(column)} AS column, "
                f"{sql_string(raw) if raw else 'NULL'} AS raw, {value} AS value, {p_sql} AS problem, "
                f"{f_sql} AS fix, {'__dup_first' if first else 'NULL'} AS first FROM {self.final} WHERE {cond}")
        if parts:
            sql = " UNION ALL ".join(f"({q})" for q in parts)
            rows += self._rows(self.sql.frame(f"SELECT * FROM ({sql}) ORDER BY __pos, _order LIMIT {int(limit)}"))
        return pd.DataFrame(rows, columns=_FAILURE_OUT), total, pd.DataFrame(counts, columns=_COUNT_OUT)

    def _rows(self, got: pd.DataFrame) -> list[dict[str, Any]]:
        raws = sorted({r for r in got["raw"].dropna().unique()})
        values: dict[tuple[int, str], Any] = {}
        if raws:
            pos = sorted({int(p) for p in got.loc[got["raw"].notna(), "__pos"]})
            values = self.raw_values(pos, raws)
        labels = dict(zip(got["__pos"].astype(int), self.staged.lines.labels(got["__pos"].to_numpy())))
        firsts = [int(x) for x in got["first"].dropna().unique()]
        first_labels = dict(zip(firsts, self.staged.lines.labels(firsts))) if firsts else {}
        out = []
        for r in got.to_dict("records"):
            p = int(r["__pos"])
            raw = r["raw"] if isinstance(r["raw"], str) else None
            value = values.get((p, raw)) if raw else r["value"]
            problem = r["problem"]
            if r["first"] is not None and not pd.isna(r["first"]):
                lbl = first_labels[int(r["first"])]
                problem = f"exact duplicate of {lbl if not lbl[:1].isdigit() else 'line ' + lbl}"
            out.append({"source": self.source.name, "table": self.source.table, "file": self.file,
                        "line": labels[p], "column": r["column"], "value": show_value(value), "problem": problem,
                        "fix": r["fix"], "_src": self.index, "_pos": p, "_order": int(r["_order"])})
        return out

    def raw_values(self, positions: list[int], columns: list[str]) -> dict[tuple[int, str], Any]:
        """Values of source columns at some rows, as read (for the problems shown)."""
        import ibis

        t = self.con.table(self.staged.table)
        cols = [c for c in columns if c in t.columns]
        got = self.con.execute(t.filter(t["__pos"].isin(ibis.memtable({"p": positions})["p"])).select("__pos", *cols)) \
            if cols else pd.DataFrame()
        out = {}
        for r in got.to_dict("records"):
            for c in cols:
                out[(int(r["__pos"]), c)] = r[c]
        return out


_FAILURE_OUT = ["source", "table", "file", "line", "column", "value", "problem", "fix", "_src", "_pos", "_order"]
_COUNT_OUT = ["file", "problem", "n", "_src", "_pos", "_order"]


def _apply(table, layer_lists: list[list]):
    """Add helper columns layer by layer (layer k of every plan together), so each is computed once."""
    depth = max((len(x) for x in layer_lists), default=0)
    for d in range(depth):
        cols: dict[str, Any] = {}
        for layers in layer_lists:
            if d < len(layers):
                cols.update(layers[d](table))
        if cols:
            table = table.mutate(**cols)
    return table


def _one_row(con, expr) -> dict[str, Any]:
    df = con.execute(expr)
    return {k: (None if pd.isna(v) else v) if not isinstance(v, (list, tuple)) else v
            for k, v in df.iloc[0].to_dict().items()}


def _spec(spec, col: str) -> ColumnSpec | None:
    try:
        return spec.column(col)
    except KeyError:
        return None


def _literal(value: Any, kind: str):
    import ibis
    import ibis.expr.datatypes as idt

    types = {"string": "string", "float": "float64", "int": "int64", "bool": "boolean",
             "datetime": idt.Timestamp(timezone="UTC")}
    if value is None:
        return ibis.null(types[kind])
    return ibis.literal(value, type=types[kind])


def _cast(value, kind: str):
    import ibis.expr.datatypes as idt

    types = {"string": "string", "float": "float64", "int": "int64", "bool": "boolean",
             "datetime": idt.Timestamp(timezone="UTC")}
    return value.cast(types[kind]) if kind in types else value

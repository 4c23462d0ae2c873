"""The config's expression language (``computed`` columns and ``set_aside: when`` rules).

An expression is parsed with Python's :mod:`ast`, checked against a short
whitelist and compiled to an Ibis expression that the engine evaluates. It
is never evaluated by Python, so it cannot reach the operating system:
``pd.io.common.os.system(...)`` is refused with a :class:`ConfigError`
before any file is read. The language is documented for users in
:mod:`ecrm_lib.core.config`; in short:

- **names**: source columns (``Quantity``; names with spaces or dots in
  backticks: ```Review Text```);
- **literals**: numbers, text in quotes, ``True``, ``False``, ``None``;
  lists of literals only as the argument of ``isin``;
- **arithmetic**: ``+ - * / // % **`` and unary minus (``+`` joins text);
- **comparisons**: ``== != < <= > >=`` (one per comparison; a comparison with
  a missing value is false);
- **conditions**: ``&`` (and), ``|`` (or), ``~`` (not);
- **methods**: ``isna()``, ``notna()`` (also ``isnull``/``notnull``),
  ``fillna(v)``, ``isin([...])``, ``astype(str|int|float)``, ``abs()``,
  ``round(n)``, ``diff()`` and ``cumsum()`` (over the file's row order),
  ``.str.startswith(s)``, ``.str.endswith(s)``, ``.str.contains(p, regex=True,
  case=True)`` (``p`` a regular expression in RE2 syntax unless
  ``regex=False``), ``.str.strip()``, ``.str.lower()``, ``.str.upper()``,
  ``.str.len()``, ``.str.slice(start, stop)``, ``.dt.year``, ``.dt.month``,
  ``.dt.day``, and ``pd.to_datetime(x, format=...)`` (missing where a value
  does not match the format).

Types are checked when the expression is compiled against the columns' types
(text, whole number, number, true/false, date-time): ``Price * Quantity`` on
a text column is a :class:`ExpressionTypeError`, which the loader answers by
trying the column as numbers (see :mod:`ecrm_lib.data.load`).

Examples
--------
>>> e = parse_expression("Invoice.str.startswith('C')", "retail", "set_aside rule")
>>> e.columns
['Invoice']
>>> parse_expression("pd.io.common.os.system('ls')", "retail", "computed amount")
Traceback (most recent call last):
...
ecrm_lib.core.errors.ConfigError: source 'retail': computed amount "pd.io.common.os.system('ls')" is not allowed: pd.io is not part of the expression language (pd offers only pd.to_datetime). Allowed: ...
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecrm_lib.core.config import SourceConfig
from ecrm_lib.core.errors import ConfigError

__all__ = [
    "ALLOWED_TEXT",
    "Expression",
    "ExpressionTypeError",
    "ParsedExpressions",
    "Typed",
    "compile_expression",
    "parse_expression",
    "prepare_expressions",
    "python_strip_chars",
]

#: What the language allows, quoted in every refusal.
ALLOWED_TEXT = (
    "source columns (names with spaces in backticks), literals, + - * / // % **, one comparison "
    "(== != < <= > >=), & | ~, and the methods isna, notna, isnull, notnull, fillna, isin, astype(str|int|float), "
    "abs, round, diff, cumsum, .str.startswith/endswith/contains/strip/lower/upper/len/slice, "
    ".dt.year/month/day and pd.to_datetime(x, format=...)"
)

_BACKTICK = re.compile(r"`([^`]+)`")
_PLAIN_METHODS = {
    "isna": 0, "notna": 0, "isnull": 0, "notnull": 0, "fillna": 1, "isin": 1, "astype": 1,
    "abs": 0, "round": (0, 1), "diff": 0, "cumsum": 0,
}
_STR_METHODS = {
    "startswith": 1, "endswith": 1, "contains": 1, "strip": 0, "lower": 0, "upper": 0, "len": 0, "slice": (1, 2),
}
_DT_FIELDS = ("year", "month", "day")
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def python_strip_chars() -> str:
    """Every character Python's ``str.strip()`` removes (Unicode white space), for the engine's ``trim``."""
    return "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


class ExpressionTypeError(TypeError):
    """An expression does not fit the types of the columns it was compiled against."""


@dataclass(frozen=True)
class Expression:
    """A parsed and checked config expression.

    Attributes
    ----------
    text : str
        As written in the config.
    source : str
        Name of the source it belongs to.
    what : str
        ``"computed <column>"`` or ``"set_aside rule"``, for messages.
    tree : ast.Expression
        The checked syntax tree (backticked names replaced by placeholders).
    names : dict of str to str
        Placeholder or plain name in the tree -> source column.
    """

    text: str
    source: str
    what: str
    tree: ast.Expression
    names: dict[str, str]

    @property
    def columns(self) -> list[str]:
        """The source columns the expression reads, sorted."""
        return sorted(set(self.names.values()))

    def error(self, problem: str) -> ConfigError:
        return ConfigError(
            f"source {self.source!r}: {self.what} {self.text!r} {problem}. Allowed: {ALLOWED_TEXT}."
        )


def parse_expression(text: str, source: str, what: str) -> Expression:
    """Parse and check an expression without evaluating anything.

    Parameters
    ----------
    text : str
        The expression from the config.
    source : str
        Source name (for messages).
    what : str
        ``"computed <column>"`` or ``"set_aside rule"`` (for messages).

    Returns
    -------
    Expression

    Raises
    ------
    ConfigError
        A syntax error, or anything outside the language (an unknown method,
        attribute, function, keyword, subscript, lambda, ...).
    """
    names: dict[str, str] = {}

    def repl(m: re.Match) -> str:
        key = f"__bt{len(names)}__"
        names[key] = m.group(1)
        return key

    code = _BACKTICK.sub(repl, str(text)).strip()
    probe = Expression(str(text), source, what, ast.Expression(body=ast.Constant(None)), {})
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as e:
        raise ConfigError(
            f"source {source!r}: {what} {text!r} is not a valid expression ({e.msg}). "
            "Write an expression over source columns, e.g. `Quantity * Price` or "
            "\"Invoice.str.startswith('C')\"; put names with spaces in backticks."
        ) from None
    used: dict[str, str] = {}
    _check(tree.body, probe, used, names)
    return Expression(str(text), source, what, tree, used)


@dataclass
class ParsedExpressions:
    """A source's expressions, parsed and checked: ``computed`` columns and ``set_aside`` rules (with reasons)."""

    computed: dict[str, Expression]
    rules: list[tuple[Expression, str]]


def prepare_expressions(source: SourceConfig) -> ParsedExpressions:
    """Parse and check a source's expressions (ConfigError for anything outside the language)."""
    computed = {c: parse_expression(e, source.name, f"computed {c}") for c, e in source.computed.items()}
    rules = [(parse_expression(r.when, source.name, "set_aside rule"), r.reason) for r in source.set_aside]
    return ParsedExpressions(computed, rules)


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, str, bool)) or node.value is None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
    return False


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return type(node).__name__


def _check(node: ast.AST, e: Expression, used: dict[str, str], names: dict[str, str]) -> None:
    """Walk the tree and refuse anything outside the language (raises ConfigError)."""
    if isinstance(node, ast.Constant):
        if not _literal(node):
            raise e.error(f"is not allowed: the literal {node.value!r} is not a number, text, True, False or None")
        return
    if isinstance(node, ast.Name):
        if node.id in ("pd", "np"):
            raise e.error(f"is not allowed: {node.id} may only be used as pd.to_datetime(...)")
        if node.id in ("True", "False", "None"):
            return
        used[node.id] = names.get(node.id, node.id)
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, (*_ARITH, ast.BitAnd, ast.BitOr)):
            raise e.error(f"is not allowed: the operator {type(node.op).__name__}")
        _check(node.left, e, used, names)
        _check(node.right, e, used, names)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
            raise e.error("is not allowed: use ~ for not")
        _check(node.operand, e, used, names)
        return
    if isinstance(node, ast.BoolOp):
        raise e.error("is not allowed: combine conditions with & (and) and | (or), each in brackets")
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise e.error("is not allowed: write one comparison (== != < <= > >=) at a time, joined with & or |")
        _check(node.left, e, used, names)
        _check(node.comparators[0], e, used, names)
        return
    if isinstance(node, ast.Attribute):
        root = _module_root(node)
        if root is not None:
            raise e.error(f"is not allowed: {root[0]}.{root[1]} is not part of the expression language "
                          "(pd offers only pd.to_datetime)")
        # only .dt.<field> is an attribute without a call
        if (isinstance(node.value, ast.Attribute) and node.value.attr == "dt" and node.attr in _DT_FIELDS):
            _check(node.value.value, e, used, names)
            return
        raise e.error(f"is not allowed: {_dotted(node)} is not part of the expression language")
    if isinstance(node, ast.Call):
        _check_call(node, e, used, names)
        return
    raise e.error(f"is not allowed: {type(node).__name__} is not part of the expression language")


def _check_args(node: ast.Call, name: str, count: int | tuple[int, int], keywords: tuple[str, ...], e: Expression) -> None:
    lo, hi = (count, count) if isinstance(count, int) else count
    if not lo <= len(node.args) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise e.error(f"is not allowed: {name}() takes {want} argument(s), got {len(node.args)}")
    bad = [k.arg for k in node.keywords if k.arg not in keywords]
    if bad:
        raise e.error(f"is not allowed: {name}() has no keyword {bad[0]!r}"
                      + (f" (allowed: {', '.join(keywords)})" if keywords else ""))
    for k in node.keywords:
        if not _literal(k.value):
            raise e.error(f"is not allowed: the keyword {k.arg!r} of {name}() must be a literal")


def _module_root(node: ast.AST) -> tuple[str, str] | None:
    """(``pd``/``np``, first attribute) when an attribute chain starts at a module name."""
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in ("pd", "np") and chain:
        return node.id, chain[-1]
    return None


def _check_call(node: ast.Call, e: Expression, used: dict[str, str], names: dict[str, str]) -> None:
    func = node.func
    root = _module_root(func)
    if root is not None and not (root == ("pd", "to_datetime") and isinstance(func, ast.Attribute)
                                 and isinstance(func.value, ast.Name)):
        raise e.error(f"is not allowed: {root[0]}.{root[1]} is not part of the expression language "
                      "(pd offers only pd.to_datetime)")
    if not isinstance(func, ast.Attribute):
        raise e.error(f"is not allowed: the function {_dotted(func)}() (only methods of columns and "
                      "pd.to_datetime may be called)")
    # pd.to_datetime(x, format=...)
    if isinstance(func.value, ast.Name) and func.value.id in ("pd", "np"):
        if func.value.id == "pd" and func.attr == "to_datetime":
            _check_args(node, "pd.to_datetime", 1, ("format",), e)
            _check(node.args[0], e, used, names)
            return
        raise e.error(f"is not allowed: {func.value.id}.{func.attr} is not part of the expression language "
                      "(pd offers only pd.to_datetime)")
    # x.str.<method>(...)
    if isinstance(func.value, ast.Attribute) and func.value.attr == "str":
        if func.attr not in _STR_METHODS:
            raise e.error(f"is not allowed: .str.{func.attr}() is not part of the expression language")
        _check_args(node, f".str.{func.attr}", _STR_METHODS[func.attr],
                    ("regex", "case") if func.attr == "contains" else (), e)
        for a in node.args:
            if not _literal(a):
                raise e.error(f"is not allowed: the argument of .str.{func.attr}() must be a literal")
        _check(func.value.value, e, used, names)
        return
    if func.attr not in _PLAIN_METHODS:
        raise e.error(f"is not allowed: {_dotted(func)}() is not part of the expression language")
    _check_args(node, func.attr, _PLAIN_METHODS[func.attr], (), e)
    if func.attr == "isin":
        arg = node.args[0]
        if not (isinstance(arg, (ast.List, ast.Tuple, ast.Set)) and all(_literal(x) for x in arg.elts)):
            raise e.error("is not allowed: isin() takes a list of literals, e.g. isin(['POST', 'DOT'])")
    elif func.attr == "astype":
        arg = node.args[0]
        ok = (isinstance(arg, ast.Name) and arg.id in ("str", "int", "float")) or (
            isinstance(arg, ast.Constant) and arg.value in ("str", "int", "float", "int64", "float64", "string"))
        if not ok:
            raise e.error("is not allowed: astype() takes str, int or float")
    else:
        for a in node.args:
            if not _literal(a):
                raise e.error(f"is not allowed: the argument of {func.attr}() must be a literal")
    _check(func.value, e, used, names)


# ----------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class Typed:
    """A compiled value: an Ibis expression (or a Python literal) and its kind.

    ``kind`` is one of ``string``, ``int``, ``float``, ``bool``, ``datetime``
    or ``null`` (the literal None).
    """

    value: Any
    kind: str
    literal: bool = False


def _numeric(kind: str) -> bool:
    return kind in ("int", "float", "bool")


class Frame:
    """The table an expression is compiled over; window results that feed another window are added to it.

    (An engine cannot nest window functions, e.g. the ``cumsum`` of a ``diff``:
    the inner one becomes a column of the table first.)
    """

    def __init__(self, table, order: str = "__pos"):
        self.table = table
        self.order = order
        self._n = 0

    def hoist(self, value):
        name = f"__w{id(self) % 10_000}_{self._n}"
        self._n += 1
        self.table = self.table.mutate(**{name: value})
        return self.table[name]


def compile_expression(expr: Expression, column: Callable[[str], Typed], frame: Frame, functions: Any) -> Typed:
    """Compile a parsed expression to an Ibis expression.

    Parameters
    ----------
    expr : Expression
    column : callable
        Source column name -> :class:`Typed` (the column as this view sees it).
    frame : Frame
        The table the columns belong to, with the file's row order (for
        ``diff`` and ``cumsum``); compile the result over ``frame.table``.
    functions : module-like
        Engine functions: ``trim(x)`` and ``try_strptime(x, format)``.

    Raises
    ------
    ExpressionTypeError
        The expression does not fit the columns' types.
    """
    return _Compiler(expr, column, frame, functions).visit(expr.tree.body)


def _has_window(value) -> bool:
    import ibis.expr.operations as ops

    return bool(value.op().find(ops.WindowFunction))


class _Compiler:
    def __init__(self, expr: Expression, column, frame: Frame, functions):
        self.expr = expr
        self.column = column
        self.frame = frame
        self.fn = functions

    def fail(self, problem: str) -> ExpressionTypeError:
        return ExpressionTypeError(problem)

    # -------------------------------------------------------------- helpers
    @staticmethod
    def lit(value: Any) -> Typed:
        import ibis

        if value is None:
            return Typed(None, "null", True)
        if isinstance(value, bool):
            return Typed(ibis.literal(value), "bool", True)
        if isinstance(value, int):
            return Typed(ibis.literal(value, type="int64"), "int", True)
        if isinstance(value, float):
            return Typed(ibis.literal(value, type="float64"), "float", True)
        return Typed(ibis.literal(str(value), type="string"), "string", True)

    @staticmethod
    def as_number(t: Typed):
        return t.value.cast("int64") if t.kind == "bool" else t.value

    def window(self):
        import ibis

        return ibis.window(order_by=self.frame.table[self.frame.order])

    # -------------------------------------------------------------- nodes
    def visit(self, node: ast.AST) -> Typed:
        method = getattr(self, f"visit_{type(node).__name__}")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Typed:
        return self.lit(node.value)

    def visit_Name(self, node: ast.Name) -> Typed:
        if node.id in ("True", "False", "None"):
            return self.lit({"True": True, "False": False, "None": None}[node.id])
        return self.column(self.expr.names.get(node.id, node.id))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Typed:
        v = self.visit(node.operand)
        if isinstance(node.op, ast.Invert):
            if v.kind != "bool":
                raise self.fail(f"~ needs true/false values, not {v.kind}")
            return Typed(~v.value, "bool", v.literal)
        if not _numeric(v.kind):
            raise self.fail(f"a sign needs numbers, not {v.kind}")
        val = self.as_number(v)
        return Typed(-val if isinstance(node.op, ast.USub) else val, "int" if v.kind == "bool" else v.kind, v.literal)

    def visit_BinOp(self, node: ast.BinOp) -> Typed:
        import ibis

        a, b = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            if a.kind != "bool" or b.kind != "bool":
                raise self.fail(f"& and | join true/false conditions, not {a.kind} and {b.kind}")
            return Typed(a.value & b.value if isinstance(node.op, ast.BitAnd) else a.value | b.value, "bool")
        if a.kind == "null" or b.kind == "null":
            raise self.fail("arithmetic with None")
        if isinstance(node.op, ast.Add) and a.kind == "string" and b.kind == "string":
            return Typed(a.value.concat(b.value), "string")
        if not (_numeric(a.kind) and _numeric(b.kind)):
            raise self.fail(f"{type(node.op).__name__} needs numbers, not {a.kind} and {b.kind}")
        x, y = self.as_number(a), self.as_number(b)
        kind = "float" if "float" in (a.kind, b.kind) else "int"
        op = node.op
        if isinstance(op, ast.Add):
            return Typed(x + y, kind)
        if isinstance(op, ast.Sub):
            return Typed(x - y, kind)
        if isinstance(op, ast.Mult):
            return Typed(x * y, kind)
        if isinstance(op, ast.Div):
            return Typed(x.cast("float64") / y.cast("float64"), "float")
        if isinstance(op, ast.Pow):
            return Typed(x.cast("float64") ** y.cast("float64"), "float")
        zero = y == 0
        if isinstance(op, ast.FloorDiv):  # by zero: missing (the engine would stop on it)
            q = (x.cast("float64") / y.cast("float64")).floor()
            out = ibis.cases((zero, ibis.null()), else_=q if kind == "float" else q.cast("int64"))
            return Typed(out, kind)
        # Mod, with Python's sign (of the divisor)
        m = x - (x.cast("float64") / y.cast("float64")).floor() * y
        return Typed(ibis.cases((zero, ibis.null()), else_=m if kind == "float" else m.cast("int64")), kind)

    def visit_Compare(self, node: ast.Compare) -> Typed:
        import ibis

        a, b = self.visit(node.left), self.visit(node.comparators[0])
        op = _COMPARE[type(node.ops[0])]
        if a.kind == "null" or b.kind == "null":
            raise self.fail("compare with None: use isna() or notna()")
        same = (a.kind == b.kind) or (_numeric(a.kind) and _numeric(b.kind))
        if not same:
            raise self.fail(f"cannot compare {a.kind} with {b.kind}")
        if a.kind == "bool" and b.kind == "bool" and op not in ("==", "!="):
            raise self.fail("true/false values are compared with == or != only")
        x = self.as_number(a) if a.kind != b.kind else a.value
        y = self.as_number(b) if a.kind != b.kind else b.value
        res = {"==": lambda: x == y, "!=": lambda: x != y, "<": lambda: x < y, "<=": lambda: x <= y,
               ">": lambda: x > y, ">=": lambda: x >= y}[op]()
        return Typed(ibis.coalesce(res, False), "bool")  # a comparison with a missing value is false

    def visit_Attribute(self, node: ast.Attribute) -> Typed:  # .dt.<field>
        v = self.visit(node.value.value)
        if v.kind != "datetime":
            raise self.fail(f".dt.{node.attr} needs date-times, not {v.kind}")
        return Typed(getattr(v.value, node.attr)().cast("int64"), "int")

    def visit_Call(self, node: ast.Call) -> Typed:
        func = node.func
        if isinstance(func.value, ast.Name) and func.value.id == "pd":
            return self.to_datetime(node)
        if isinstance(func.value, ast.Attribute) and func.value.attr == "str":
            return self.str_method(func.attr, self.visit(func.value.value), node)
        return self.method(func.attr, self.visit(func.value), node)

    def to_datetime(self, node: ast.Call) -> Typed:
        v = self.visit(node.args[0])
        fmt = next((k.value.value for k in node.keywords if k.arg == "format"), None)
        if v.kind == "datetime":
            return v
        if v.kind != "string":
            raise self.fail(f"pd.to_datetime needs text, not {v.kind}")
        text = self.fn.trim(v.value)
        if fmt is None:
            return Typed(text.try_cast("timestamp"), "datetime")
        return Typed(self.fn.try_strptime(text, str(fmt)), "datetime")

    def str_method(self, name: str, v: Typed, node: ast.Call) -> Typed:
        import ibis

        if v.kind != "string":
            raise self.fail(f".str.{name}() needs text, not {v.kind}")
        args = [a.value if isinstance(a, ast.Constant) else ast.literal_eval(a) for a in node.args]
        kw = {k.arg: k.value.value for k in node.keywords}
        x = v.value
        if name in ("startswith", "endswith"):
            if not isinstance(args[0], str):
                raise self.fail(f".str.{name}() takes text")
            return Typed(x.startswith(args[0]) if name == "startswith" else x.endswith(args[0]), "bool")
        if name == "contains":
            pat = args[0]
            if not isinstance(pat, str):
                raise self.fail(".str.contains() takes text")
            if not kw.get("case", True):
                x, pat = x.lower(), pat.lower() if not kw.get("regex", True) else f"(?i){pat}"
            return Typed(x.re_search(pat) if kw.get("regex", True) else x.contains(pat), "bool")
        if name == "strip":
            return Typed(self.fn.trim(x), "string")
        if name == "lower":
            return Typed(x.lower(), "string")
        if name == "upper":
            return Typed(x.upper(), "string")
        if name == "len":
            return Typed(x.length().cast("int64"), "int")
        # slice(start, stop) with non-negative bounds
        start = args[0] if args[0] is not None else 0
        stop = args[1] if len(args) > 1 else None
        if not isinstance(start, int) or start < 0 or (stop is not None and (not isinstance(stop, int) or stop < 0)):
            raise self.fail(".str.slice() takes whole numbers >= 0")
        if stop is None:
            return Typed(x.substr(start), "string")
        return Typed(x.substr(start, max(0, stop - start)) if stop > start else ibis.literal(""), "string")

    def method(self, name: str, v: Typed, node: ast.Call) -> Typed:
        import ibis

        args = node.args
        if name in ("isna", "isnull", "notna", "notnull"):
            if v.literal:
                raise self.fail(f"{name}() of a literal")
            # (a cast first: Ibis writes NOT x IS NULL for the negation of a condition)
            missing = v.value.cast("int8").isnull() if v.kind == "bool" else v.value.isnull()
            if v.kind == "float":
                missing = missing | v.value.isnan()
            return Typed(missing if name in ("isna", "isnull") else ~missing, "bool")
        if name == "fillna":
            f = self.visit(args[0])
            if f.kind != v.kind and not (_numeric(f.kind) and _numeric(v.kind)):
                raise self.fail(f"fillna() with {f.kind} on {v.kind} values")
            kind = v.kind if f.kind == v.kind else "float" if "float" in (v.kind, f.kind) else "int"
            x = v.value
            if v.kind == "float":
                x = ibis.cases((x.isnan(), ibis.null()), else_=x)
            return Typed(ibis.coalesce(x, f.value), kind)
        if name == "isin":
            values = [ast.literal_eval(e) for e in args[0].elts]
            if v.kind == "string":
                keep = [str(x) for x in values if isinstance(x, str)]
            elif _numeric(v.kind):
                keep = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
            else:
                raise self.fail(f"isin() on {v.kind} values")
            if not keep:  # nothing of this kind in the list: never true (as pandas)
                return Typed(ibis.literal(False), "bool")
            return Typed(ibis.coalesce(self.as_number(v).isin(keep) if v.kind == "bool" else v.value.isin(keep),
                                       False), "bool")
        if name == "astype":
            arg = args[0]
            target = arg.id if isinstance(arg, ast.Name) else str(arg.value)
            target = {"string": "str", "int64": "int", "float64": "float"}.get(target, target)
            return self.astype(v, target)
        if name in ("abs", "round", "diff", "cumsum"):
            if not _numeric(v.kind):
                raise self.fail(f"{name}() needs numbers, not {v.kind}")
            x = self.as_number(v)
            kind = "int" if v.kind == "bool" else v.kind
            if name in ("diff", "cumsum") and _has_window(x):
                x = self.frame.hoist(x)
            if name == "abs":
                return Typed(x.abs(), kind)
            if name == "round":
                digits = ast.literal_eval(args[0]) if args else 0
                return Typed(x.round(int(digits)) if kind == "float" else x, kind)
            if name == "diff":
                return Typed(x.cast("float64") - x.cast("float64").lag().over(self.window()), "float")
            total = x.cumsum(order_by=self.frame.table[self.frame.order])
            return Typed(ibis.cases((x.isnull(), ibis.null()), else_=total), kind)
        raise self.fail(f"{name}()")  # pragma: no cover - refused when parsing

    def astype(self, v: Typed, target: str) -> Typed:
        import ibis

        x = v.value
        if target == "str":
            if v.kind == "string":
                return v
            if v.kind == "bool":  # as Python writes them
                return Typed(ibis.cases((x, "True"), (~x, "False"), else_=ibis.null("string")), "string")
            return Typed(x.cast("string"), "string")
        if target == "int":  # towards zero, as Python's int()
            if v.kind == "string":
                x, v = self.fn.trim(x).try_cast("float64"), Typed(None, "float")
            if v.kind == "float":
                return Typed(ibis.cases((x >= 0, x.floor()), else_=x.ceil()).try_cast("int64"), "int")
            if v.kind == "datetime":
                raise self.fail("astype(int) of date-times")
            return Typed(self.as_number(v), "int")
        if v.kind == "string":
            return Typed(self.fn.trim(x).try_cast("float64"), "float")
        if v.kind == "datetime":
            raise self.fail("astype(float) of date-times")
        return Typed(self.as_number(v).cast("float64"), "float")

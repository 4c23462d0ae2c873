"""Validation of the canonical tables in the engine, and the one error that lists every problem.

The schema of :mod:`ecrm_lib.core.schema` is checked with **SQL checks**
(boolean Ibis expressions compiled from the same :class:`ColumnSpec`) rather
than pandera's Ibis backend, because every failure must name its file and
line: the checks run on the rows of each source with their ``__pos``, one
query finds every failing row of every check, and the engine counts them; the
failure cases of ``pandera.ibis`` carry a position in an unordered relation
and are brought into pandas one check at a time. Checks:

- not missing (non-nullable columns; a value already reported as unparseable
  is not reported twice);
- one of the allowed values, within the minimum and maximum, finite;
- identifiers, channels and campaign ids without control characters (a quote
  that spans lines would otherwise put line breaks in an id; issue 13 item 11);
- unique per table on the spec's ``duplicate_subset`` (every row of a repeated
  key is reported).

:func:`raise_failures` turns the problems found into one
:class:`~ecrm_lib.core.errors.DataValidationError`: the first 20 in the
message, the total and counts per file and problem, and up to
:data:`MAX_FAILURE_ROWS` in ``.failures`` (file, line, column, value, problem, fix).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.core.schema import ColumnSpec, TableSpec
from ecrm_lib.data.functions import EngineFunctions

__all__ = [
    "CONTROL_CHECKED",
    "FAILURE_COLUMNS",
    "MAX_FAILURE_ROWS",
    "SHOWN_FAILURES",
    "column_checks",
    "raise_failures",
    "show_value",
    "unique_problem",
    "where_label",
]

FAILURE_COLUMNS = ["source", "table", "file", "line", "column", "value", "problem", "fix"]
SHOWN_FAILURES = 20
#: At most this many problems are kept in ``DataValidationError.failures`` (all are counted).
MAX_FAILURE_ROWS = 100_000
#: Columns that must not hold control characters (line breaks, tabs, ...).
CONTROL_CHECKED = ("account_id", "transaction_id", "channel", "campaign_id", "arm")
_CONTROL_RE = r"[\x00-\x1f\x7f]"

_FIX_MISSING = "fill the value in the file, or add a `set_aside` rule for such rows"
_FIX_UNIQUE = "each account must appear once: remove the repeated rows or give them distinct ids"


def column_checks(spec: ColumnSpec, col: str, fn: EngineFunctions | None = None) -> list[tuple[str, str, str]]:
    """(SQL condition of the failing rows, problem, fix) of one canonical column's schema checks.

    ``col`` is the column as SQL (a quoted name); ``fn`` the engine's functions
    (:func:`~ecrm_lib.data.functions.engine_functions`; default DuckDB's). The NOT NULL check comes first
    for non-nullable columns; each condition is false for a missing value otherwise.
    """
    fn = fn or EngineFunctions()
    out: list[tuple[str, str, str]] = []
    if not spec.nullable:
        missing = f"{col} IS NULL" + (f" OR isnan({col})" if spec.kind == "float" else "")
        out.append((missing, f"{spec.name} is missing (required)", _FIX_MISSING))
    if spec.allowed is not None:
        allowed = ", ".join("'" + a.replace("'", "''") + "'" for a in spec.allowed)
        out.append((f"{col} IS NOT NULL AND {col} NOT IN ({allowed})",
                    f"{spec.name}: must be one of {list(spec.allowed)}", "use one of the allowed values"))
    if spec.kind in ("float", "int"):
        finite = f"{col} IS NOT NULL" + (f" AND NOT isnan({col}) AND NOT {fn.is_infinite_sql(col)}" if spec.kind == "float" else "")
        if spec.min_value is not None:
            out.append((f"{finite} AND {col} < {spec.min_value!r}", f"{spec.name} must be >= {_num(spec.min_value)}",
                        "correct the value (it is below the allowed minimum)"))
        if spec.max_value is not None:
            out.append((f"{finite} AND {col} > {spec.max_value!r}", f"{spec.name} must be <= {_num(spec.max_value)}",
                        "correct the value (it is above the allowed maximum)"))
    if spec.kind == "float":
        out.append((f"{col} IS NOT NULL AND {fn.is_infinite_sql(col)}", f"{spec.name}: must be finite",
                    "correct the value or the `computed` expression (it gave infinity, e.g. a division by zero)"))
    if spec.name in CONTROL_CHECKED and spec.kind == "string":
        fix = ("remove it from the file; a line break inside an id usually comes from a quote that is "
               "not closed on its line")
        out.append((f"{col} IS NOT NULL AND {fn.regexp_sql(col, _CONTROL_RE)}",
                    f"{spec.name} contains a control character (line break, tab, ...)", fix))
    return [(f"coalesce({c}, false)", p, f) for c, p, f in out]


def unique_problem(table: TableSpec) -> tuple[str, str]:
    cols = " / ".join(table.duplicate_subset or ())
    return f"{cols} repeated with different content", _FIX_UNIQUE


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def show_value(value: Any, limit: int = 60) -> str:
    """A value as shown in a failure ('' for missing), cut to ``limit`` characters."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def where_label(line: str) -> str:
    """``line 12`` for a line number, ``row 12`` as it is."""
    return line if not line[:1].isdigit() else f"line {line}"


def raise_failures(failures: pd.DataFrame, total: int | None = None,
                   counts: pd.DataFrame | None = None) -> None:
    """Raise one :class:`DataValidationError` for every problem found.

    Parameters
    ----------
    failures : DataFrame
        The problems in order (columns :data:`FAILURE_COLUMNS`), at most
        :data:`MAX_FAILURE_ROWS`.
    total : int, optional
        How many problems there are in all (default ``len(failures)``).
    counts : DataFrame, optional
        ``file``, ``problem``, ``n`` for the message's summary (default: counted from ``failures``).
    """
    n = int(total if total is not None else len(failures))
    shown = failures.head(SHOWN_FAILURES)
    lines = []
    for r in shown.itertuples(index=False):
        where = f"{r.file}, {where_label(r.line)}" if r.line else (r.file or r.table)
        value = f" value {r.value!r}" if r.value != "" else ""
        lines.append(f"  - {where}, column {r.column!r}:{value}: {r.problem}. Fix: {r.fix}.")
    if n > len(shown):
        kept = f"all {n} are" if n <= len(failures) else f"the first {len(failures):,} are"
        more = f"\n  ... and {n - len(shown)} more ({kept} in the error's .failures table)."
    else:
        more = ""
    if counts is None:
        counts = failures.groupby(["file", "problem"], sort=False).size().rename("n").reset_index()
    summary = "; ".join(f"{r.file or 'table'}: {int(r.n)} x {r.problem}" for r in counts.head(8).itertuples())
    raise DataValidationError(
        f"{n} problem(s) found in the input data ({summary}). "
        f"The first {len(shown)}:\n" + "\n".join(lines) + more,
        failures=failures[FAILURE_COLUMNS].reset_index(drop=True),
    )

"""``ecrm init``: a draft config from the user's files.

For each file: sniff it (:func:`ecrm_lib.data.sniff.sniff_file`: format, encoding including
CP949, delimiter, header, a sample), score each column for each canonical column
(:func:`ecrm_lib.data.sniff.column_roles`), choose the canonical table whose columns the file
fills best, map one source column to each canonical column (best scores first), and write a
YAML config whose comments say what was guessed, how sure it is and what is left to fill in.
``ecrm validate --config`` then checks the result against the data.

Examples
--------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "orders.csv").write_text("CustNo,SoldAt,Total\\nA1,2025-01-02 10:00:00,12.5\\nA2,2025-01-03 11:00:00,8\\n")
>>> plan = plan_source(d / "orders.csv")
>>> plan.table, plan.columns, plan.date_format
('transactions', {'account_id': 'CustNo', 'timestamp': 'SoldAt', 'amount': 'Total'}, '%Y-%m-%d %H:%M:%S')
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.schema import TABLES
from ecrm_lib.data.sniff import ColumnGuess, SniffedFile, column_roles, sniff_file

__all__ = ["SourcePlan", "confidence_word", "plan_source", "render_config", "write_config"]

#: What makes a file one table rather than another: columns that must be found (a row-number
#: id counts for tables where a file may have no id), and columns characteristic of it.
_SIGNATURE: dict[str, dict[str, tuple[str, ...]]] = {
    "transactions": {"needs": ("account_id", "timestamp", "amount"), "marks": ("amount", "transaction_id", "quantity")},
    "contacts": {"needs": ("account_id", "timestamp", "channel"), "marks": ("direction", "purpose", "duration_min")},
    "accounts": {"needs": ("account_id", "channel"), "marks": ("email", "phone", "name", "postcode")},
    "feedback": {"needs": ("account_id",), "marks": ("score", "text")},
    "campaigns": {"needs": ("account_id", "arm", "response"), "marks": ("response", "arm", "campaign_id")},
    "channel_costs": {"needs": ("channel", "cost_per_contact"), "marks": ("cost_per_contact",)},
    "customers": {"needs": ("account_id",), "marks": ()},
}
_ROW_ID_TABLES = ("feedback", "campaigns", "customers")
_MIN_SCORE = 0.45


@dataclass
class SourcePlan:
    """The guesses for one file.

    Attributes
    ----------
    sniffed : SniffedFile
    table : str
        The canonical table chosen.
    table_score : float
        0-1, how well the file fills that table.
    alternatives : list of (table, score)
        The next best tables.
    columns : dict
        canonical column -> source column (``__row__``: the row number, when no column is an id).
    guesses : dict
        canonical column -> the :class:`~ecrm_lib.data.sniff.ColumnGuess` behind it.
    computed : dict
        canonical column -> expression (e.g. amount from price times quantity).
    constants : dict
        canonical column -> value the user should check (``TODO`` when unknown).
    missing : list of str
        Required canonical columns nothing was found for.
    unmapped : list of str
        Source columns left out of the mapping.
    date_format : str or None
    notes : list of str
    """

    sniffed: SniffedFile
    table: str
    table_score: float
    alternatives: list[tuple[str, float]]
    columns: dict[str, str]
    guesses: dict[str, ColumnGuess] = field(default_factory=dict)
    computed: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    date_format: str | None = None
    notes: list[str] = field(default_factory=list)


def confidence_word(score: float) -> str:
    """"high" (>= 0.75), "medium" (>= 0.55) or "low"."""
    return "high" if score >= 0.75 else "medium" if score >= 0.55 else "low"


def _assign(table: str, roles: list[ColumnGuess]) -> dict[str, ColumnGuess]:
    """Greedy one-to-one assignment of source columns to the table's canonical columns, best score first."""
    allowed = {c.name for c in TABLES[table].columns} if table != "customers" else {"account_id"}
    if table == "transactions":
        allowed |= {"price"}
    chosen: dict[str, ColumnGuess] = {}
    used: set[str] = set()
    for g in roles:
        if g.canonical in allowed and g.canonical not in chosen and g.column not in used and g.score >= _MIN_SCORE:
            chosen[g.canonical] = g
            used.add(g.column)
    if table == "transactions" and "amount" in chosen and "price" in chosen and "quantity" in chosen:
        del chosen["price"]  # an amount column wins over price x quantity
    return chosen


def _table_score(table: str, chosen: dict[str, ColumnGuess], roles: list[ColumnGuess], ids_unique: bool) -> float:
    sig = _SIGNATURE[table]
    needs = []
    for c in sig["needs"]:
        if c in chosen:
            needs.append(chosen[c].score)
        elif c == "account_id" and table in _ROW_ID_TABLES:
            needs.append(0.5)
        elif c == "amount" and table == "transactions" and "price" in chosen and "quantity" in chosen:
            needs.append(min(chosen["price"].score, chosen["quantity"].score))
        else:
            needs.append(0.0)
    need = sum(needs) / len(needs)
    if min(needs) == 0.0:
        need *= 0.5
    marks = [chosen[c].score for c in sig["marks"] if c in chosen]
    mark = max(marks) if marks else 0.0
    strong = {g.canonical for g in roles if g.score >= 0.75}
    if table in ("contacts", "accounts", "customers") and "amount" in strong and "amount" not in chosen:
        need *= 0.85  # money in the file points to purchases
    if table == "customers":  # the fallback: a file of one row per customer, or of rows without an id
        return 0.6 if ids_unique else 0.5 if "account_id" not in chosen else 0.3
    if table == "transactions" and "amount" in chosen and "timestamp" not in chosen:
        return 0.0
    if table == "accounts" and not any(c in chosen for c in ("email", "phone", "name", "postcode")):
        return 0.0
    if table == "feedback" and not any(c in chosen and chosen[c].score >= 0.6 for c in ("score", "text")):
        return 0.0
    return round(0.65 * need + 0.35 * mark, 3)


def plan_source(path: str | os.PathLike, *, sample_rows: int = 2000) -> SourcePlan:
    """Sniff one file and guess its canonical table and column mapping."""
    sniffed = sniff_file(path, sample_rows=sample_rows)
    roles = column_roles(sniffed.sample)
    scored = []
    for table in _SIGNATURE:
        chosen = _assign(table, roles)
        ids_unique = "account_id" in chosen and sniffed.sample[chosen["account_id"].column].dropna().is_unique
        scored.append((_table_score(table, chosen, roles, ids_unique), table, chosen))
    scored.sort(key=lambda t: -t[0])
    score, table, chosen = scored[0]
    plan = SourcePlan(sniffed, table, score, [(t, s) for s, t, _ in scored[1:4] if s > 0], {}, notes=list(sniffed.notes))
    for canonical, g in chosen.items():
        if canonical == "price":
            continue
        plan.columns[canonical] = g.column
        plan.guesses[canonical] = g
    if table == "transactions" and "amount" not in chosen and "price" in chosen and "quantity" in chosen:
        plan.computed["amount"] = f"{_quote(chosen['quantity'].column)} * {_quote(chosen['price'].column)}"
        plan.notes.append(f"No amount column: amount = {chosen['quantity'].column} x {chosen['price'].column} (check it).")
    if "account_id" not in plan.columns and table in _ROW_ID_TABLES:
        plan.columns["account_id"] = "__row__"
        plan.notes.append("No column looks like a customer id: each row is its own customer (account_id: __row__).")
    times = [g for c, g in plan.guesses.items() if g.date_format]
    if times:
        main = plan.guesses.get("timestamp") or times[0]
        plan.date_format = main.date_format
        for g in times:
            if g.date_format != plan.date_format:
                plan.notes.append(f"{g.column} has another date format ({g.date_format}) than {main.column}; one "
                                  "date_format applies to a source: convert it or leave the column out.")
    if table == "campaigns":
        arm = plan.columns.get("arm")
        if arm:
            values = sniffed.sample[arm].dropna().str.strip().unique().tolist()
            control = [v for v in values if re.search(r"control|no[ _-]?e?-?mail|hold[ -]?out|baseline", v, re.I)]
            plan.constants["control_arms"] = control[0] if control else "TODO"
        if "campaign_id" not in plan.columns:
            plan.constants["campaign_id"] = sniffed.path.stem
    required = [c.name for c in TABLES[table].columns if c.required]
    for c in required:
        if c not in plan.columns and c not in plan.computed and c not in plan.constants:
            if c == "channel" and table in ("transactions", "feedback"):
                continue
            plan.missing.append(c)
            plan.constants[c] = "TODO"
    used = set(plan.columns.values()) | {g.column for g in chosen.values()}
    plan.unmapped = [c for c in sniffed.sample.columns if c not in used]
    return plan


def _quote(column: str) -> str:
    return column if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column) else f"`{column}`"


def _yaml_str(value: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .\-]*", value) and value.strip() == value and not value[0].isdigit() \
            and value.lower() not in ("yes", "no", "true", "false", "null", "on", "off", "y", "n"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rel_path(path: Path, config_dir: Path) -> str:
    path, config_dir = path.resolve(), config_dir.resolve()
    return str(path.relative_to(config_dir)) if path.is_relative_to(config_dir) else str(path)


def render_config(plans: Sequence[SourcePlan], config_dir: str | os.PathLike, name: str = "my-data") -> str:
    """The commented YAML text of a draft config for ``plans``, with paths relative to ``config_dir``."""
    config_dir = Path(config_dir)
    todo = sum(len(p.missing) for p in plans) + sum(p.constants.get("control_arms") == "TODO" for p in plans)
    lines = [
        "# Draft written by `ecrm init`: every mapping below is a GUESS from the column names and a sample of",
        "# the values. Check each line (the comment says why and how sure), fill in every TODO, then run",
        "#   ecrm validate --config <this file>",
        f"# {len(plans)} file(s); {todo} item(s) left to fill in. The format is documented at the top of",
        "# ecrm_lib/core/config.py.",
        f"name: {_yaml_str(name)}",
        "# currency: KRW          # the currency of the amounts (default: the suite's)",
        "# timezone: Asia/Seoul   # naive timestamps are read in this zone",
        "# as_of: 2025-06-30      # analysis date (default: the last date in the data)",
        "sources:",
    ]
    names: set[str] = set()
    for p in plans:
        s = p.sniffed
        base = re.sub(r"[^0-9a-z]+", "_", s.path.name.split(".")[0].lower()).strip("_") or "source"
        source_name, k = base, 2
        while source_name in names:
            source_name, k = f"{base}_{k}", k + 1
        names.add(source_name)
        alt = ", ".join(f"{t} {sc:.2f}" for t, sc in p.alternatives) or "none"
        lines.append(f"  # {s.path.name}: looks like `{p.table}` ({confidence_word(p.table_score)} confidence, score "
                     f"{p.table_score:.2f}; next: {alt}).")
        read = f"{s.format}" + (f", encoding {s.encoding}, delimiter {s.delimiter!r}, header {'yes' if s.header else 'no'}"
                                if s.format == "csv" else "") + f"; {len(s.sample):,} rows sampled"
        lines.append(f"  # Read as {read}.")
        for note in p.notes:
            lines.append(f"  # {note}")
        lines += [f"  - name: {source_name}", f"    table: {p.table}", f"    path: {_yaml_str(_rel_path(s.path, config_dir))}"]
        if s.format == "csv":
            if s.delimiter != ",":
                lines.append(f"    delimiter: {_yaml_str(s.delimiter) if s.delimiter != chr(9) else chr(34) + chr(92) + 't' + chr(34)}")
            if s.encoding != "utf-8":
                lines.append(f"    encoding: {s.encoding}")
            if not s.header:
                lines.append("    header: false")
                lines.append(f"    names: [{', '.join(s.sample.columns)}]   # rename to say what each column holds")
        if p.date_format:
            lines.append(f'    date_format: "{p.date_format}"')
        lines.append("    columns:")
        for canonical, column in p.columns.items():
            g = p.guesses.get(canonical)
            why = (f"{confidence_word(g.score)} ({g.score:.2f}): {g.evidence}" if g else "no id column: row number")
            lines.append(f"      {canonical}: {_yaml_str(column)}   # {why}")
        if p.computed:
            lines.append("    computed:")
            for canonical, expr in p.computed.items():
                lines.append(f"      {canonical}: {_yaml_str(expr)}   # guessed: check it")
        constants = {k: v for k, v in p.constants.items() if k != "control_arms"}
        if constants:
            lines.append("    constants:")
            for canonical, value in constants.items():
                hint = ("TODO: no column was found; name the column under columns:, or give the one value all rows share"
                        if value == "TODO" else "guessed: one value for the whole file")
                lines.append(f"      {canonical}: {_yaml_str(value)}   # {hint}")
        if "control_arms" in p.constants:
            arm = p.constants["control_arms"]
            lines.append(f"    control_arms: [{_yaml_str(arm)}]   # "
                         + ("TODO: which arm is the control group?" if arm == "TODO" else "guessed from the arm names"))
        if p.unmapped:
            kept = "kept as attributes" if p.table == "customers" else "not used"
            lines.append(f"    # Not mapped ({kept}): {', '.join(p.unmapped)}")
    return "\n".join(lines) + "\n"


def write_config(files: Sequence[str | os.PathLike], out: str | os.PathLike, *, force: bool = False) -> tuple[Path, list[SourcePlan]]:
    """Plan every file and write the draft config to ``out``; return its path and the plans.

    Raises
    ------
    ConfigError
        No file given, a file cannot be read, or ``out`` exists and ``force`` is false.
    """
    if not files:
        raise ConfigError("ecrm init: give at least one data file after --from.")
    out = Path(out)
    if out.exists() and not force:
        raise ConfigError(f"ecrm init: {out} exists; pass --force to overwrite it or choose another --out.")
    plans = [plan_source(f) for f in files]
    out.parent.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^0-9A-Za-z_-]+", "-", out.parent.resolve().name or "my-data").strip("-") or "my-data"
    out.write_text(render_config(plans, out.parent, name=name), encoding="utf-8")
    return out, plans

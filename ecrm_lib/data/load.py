"""Reading the configured source files into validated canonical tables.

:func:`load_sources` reads every source of a :class:`~ecrm_lib.core.config.Config`
(CSV, gzip-compressed CSV or Parquet), maps its columns onto the canonical
tables of :mod:`ecrm_lib.core.schema`, applies the config's policies, validates
with pandera and returns a :class:`LoadResult`. Every row that is not kept is
counted by source and reason, every change made to a kept row is counted as an
adjustment, and every problem found is reported at once in a single
:class:`~ecrm_lib.core.errors.DataValidationError`.

How a source is read
--------------------
- Every CSV column is read as text first, so identifiers such as ``007`` keep
  their zeros; only an empty field is missing (``NA`` or ``null`` stay text).
  Parquet columns keep their stored types.
- ``encoding: euc-kr`` (also ``euc_kr``, ``ks_c_5601-1987``) is read as
  ``cp949``, its superset, and recorded as an adjustment.
- Line numbers are physical lines of the file (the header is line 1, the first
  data row line 2, counting ``skip_rows`` and quoted line breaks); Parquet rows
  are reported as ``row N`` (1-based).
- The source column ``__row__`` is the 1-based data-row number, for files
  without identifiers.

How columns are converted
-------------------------
- ``string``: surrounding spaces are trimmed and blank values become missing
  (both counted); values of columns with a fixed list of values are
  lower-cased (counted). Personal data (name, email, phone), postcodes and
  free text stay exactly as written, except that a value of spaces alone
  becomes missing (counted). Whole-number floats (a Parquet id ``12346.0``)
  are written without ``.0`` (counted).
- ``float``/``int``: plain numbers; a currency symbol (only one kind per column
  and matching the config's currency) and comma thousands separators in the
  ``1,234.5`` layout are removed (counted). ``1,5`` or ``1.234,5`` are not
  guessed at. Anything else is a validation failure, never a silent NaN.
- ``datetime``: parsed with the source's ``date_format``, else as ISO 8601,
  else by inference (counted). Naive values are read in the source's time zone
  and converted to UTC; values with an offset are converted; in a column that
  mixes both, the naive ones are counted. Local times that a clock change makes
  ambiguous are read as summer time, non-existent ones moved forward (counted).
- ``bool``: true/false, yes/no, y/n, t/f, 1/0 (any case).

Expressions (``computed`` and ``set_aside: when``) are Python expressions over
the source columns as pandas Series (write names with spaces in backticks;
combine conditions with ``&``, ``|``, ``~``); ``pd`` and ``np`` are available.
A CSV column whose values are all numbers (without leading zeros) is a number
in an expression (compare it with numbers: ``Qty == 0``), any other column is
text; Parquet columns keep their types. When an expression fails that way, a
column that mostly holds numbers is tried as numbers (its other values
missing: reported as failures when they feed a number column, never matching a
rule). Configs are trusted like code.

Policies and rules
------------------
Each row is set aside for the first reason that applies, in this order: a
missing key (``missing_keys``), the source's ``set_aside`` rules in order, an
amount <= 0 (``nonpositive_amounts``, transactions), a time after the end of
the as-of day in the config's time zone (``after_as_of``), and an exact
duplicate of an earlier kept row of the same source, compared on every column
of the file (``duplicates``). Values of set-aside rows are not validated.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import datetime as dt
import difflib
import gzip
import hashlib
import io
import math
import re
import warnings
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from ecrm_lib.core.config import Config, SourceConfig
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import ConfigError, DataSourceError, DataValidationError
from ecrm_lib.core.schema import PANDAS_DTYPES, TABLES, ColumnSpec, pandera_schema

__all__ = ["LoadResult", "load_sources", "ROW_NUMBER_COLUMN"]

#: Source column name that stands for the 1-based data-row number.
ROW_NUMBER_COLUMN = "__row__"

_SHOWN_FAILURES = 20
_FAILURE_COLUMNS = ["source", "table", "file", "line", "column", "value", "problem", "fix"]
_SET_ASIDE_COLUMNS = ["source", "table", "file", "line", "reason"]
_ADJUSTMENT_COLUMNS = ["source", "table", "file", "adjustment", "rows"]
_SUMMARY_COLUMNS = ["source", "table", "file", "rows_read", "rows_set_aside", "rows_kept"]
_FILES_COLUMNS = ["source", "table", "file", "path", "bytes", "sha256"]
_KOREAN_ALIASES = {"euc_kr"}  # codecs' canonical name for euc-kr, euc_kr, ks_c_5601-1987, ...
_ACCOUNT_TABLES = ("transactions", "contacts", "feedback", "campaigns")
# kept as written (only a value of spaces alone becomes missing): personal data and free text
_VERBATIM = {"postcode", "text"}


# ----------------------------------------------------------------------------- result


@dataclass
class LoadResult:
    """What :func:`load_sources` returns.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Canonical, validated tables (only those the config feeds), with the
        dtypes of :data:`ecrm_lib.core.schema.PANDAS_DTYPES`; timestamps in UTC;
        money in the config's currency.
    summary : DataFrame
        Per source: source, table, file (base name), rows_read,
        rows_set_aside, rows_kept.
    set_aside : DataFrame
        One row per set-aside row: source, table, file, line, reason (no raw
        values). ``line`` is the physical line (``"row N"`` for Parquet).
    adjustments : DataFrame
        Counted changes to kept rows: source, table, file, adjustment, rows.
    files : DataFrame
        Every input file: source, table, file, path, bytes, sha256.
    as_of : datetime.date
        Analysis date (the argument, else the config's, else the last date in
        the data in the config's time zone).
    """

    tables: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    set_aside: pd.DataFrame
    adjustments: pd.DataFrame
    files: pd.DataFrame
    as_of: dt.date

    def set_aside_counts(self) -> pd.DataFrame:
        """Set-aside rows counted per source, table, file and reason (column ``rows``)."""
        if self.set_aside.empty:
            return pd.DataFrame(columns=["source", "table", "file", "reason", "rows"])
        return (
            self.set_aside.groupby(["source", "table", "file", "reason"], sort=False)
            .size()
            .rename("rows")
            .reset_index()
        )

    def save(self, layout) -> None:
        """Write the tables and the load records into a run folder.

        Parameters
        ----------
        layout : ecrm_lib.run.context.RunLayout
            Writes ``private/canonical/<table>.parquet`` per table and
            ``load/load_report.csv`` (the summary), ``load/set_aside.csv``,
            ``load/adjustments.csv`` and ``load/files.csv``.
        """
        layout.canonical_dir.mkdir(parents=True, exist_ok=True)
        layout.load_dir.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            df.to_parquet(layout.canonical(name), index=False)
        self.summary.to_csv(layout.load_dir / "load_report.csv", index=False)
        self.set_aside.to_csv(layout.load_dir / "set_aside.csv", index=False)
        self.adjustments.to_csv(layout.load_dir / "adjustments.csv", index=False)
        self.files.to_csv(layout.load_dir / "files.csv", index=False)


# ----------------------------------------------------------------------------- reading


@dataclass
class _RawFile:
    frame: pd.DataFrame
    parquet: bool
    n_bytes: int
    sha256: str
    adjustments: list[tuple[str, int]] = field(default_factory=list)  # whole-file adjustments (text, rows)
    text: bytes | None = None  # decompressed CSV bytes, for line numbers when first needed
    skip_rows: int = 0
    header: bool = True
    _lines: np.ndarray | None = None
    _lines_done: bool = False

    @property
    def lines(self) -> np.ndarray | None:
        """Physical line (CSV) or 1-based row (Parquet) of each data row; None if they cannot be told."""
        if not self._lines_done:
            if self.parquet:
                self._lines = np.arange(1, len(self.frame) + 1)
            else:
                self._lines = _data_lines(self.text or b"", self.skip_rows, self.header, len(self.frame))
            self._lines_done = True
            self.text = None
        return self._lines

    def line_labels(self, positions: np.ndarray) -> list[str]:
        positions = np.asarray(positions, dtype=np.int64)
        if self.lines is None:
            return [f"data row {p + 1}" for p in positions]
        nums = self.lines[positions]
        if self.parquet:
            return [f"row {n}" for n in nums]
        return [str(n) for n in nums]


def _where(line: str) -> str:
    return line if not line[:1].isdigit() else f"line {line}"


def _normalise_encoding(source: SourceConfig) -> tuple[str, bool]:
    try:
        name = codecs.lookup(source.encoding).name
    except LookupError:
        raise ConfigError(
            f"source {source.name!r}: encoding {source.encoding!r} is unknown. "
            "Use utf-8, cp949 (Korean; euc-kr is read as cp949), cp1252 or latin-1."
        ) from None
    if name in _KOREAN_ALIASES:
        return "cp949", True
    return name, False


def _suggest_encodings(data: bytes, declared: str) -> list[str]:
    out = []
    for enc in ("utf-8", "cp949", "cp1252", "latin-1"):
        if codecs.lookup(enc).name == codecs.lookup(declared).name:
            continue
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        out.append(enc)
    return out


def _check_decoding(data: bytes, encoding: str, source: SourceConfig) -> None:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as e:
        pos = e.start
        line = data.count(b"\n", 0, pos) + 1
        line_start = data.rfind(b"\n", 0, pos) + 1
        bad = data[pos : min(e.end, pos + 4)]
        candidates = _suggest_encodings(data, encoding)
        hint = (
            f"The whole file decodes as {', '.join(candidates)}: set `encoding: {candidates[0]}` for source "
            f"{source.name!r} if that is how it was written (Korean files are usually cp949, also called EUC-KR)."
            if candidates
            else "No common encoding decodes it (utf-8, cp949, cp1252); check that the file is really text."
        )
        raise DataSourceError(
            f"{source.path.name} (source {source.name!r}): cannot decode line {line} as {encoding}: "
            f"byte(s) 0x{bad.hex()} at byte {pos - line_start + 1} of that line (offset {pos} in the file) "
            f"are not valid {encoding}. {hint}"
        ) from None


def _logical_lines(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Physical start line of each logical line (quoted line breaks do not end one) and whether it is blank."""
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == 34)
    term = nl[np.searchsorted(quotes, nl) % 2 == 0] if quotes.size else nl
    starts = np.concatenate(([0], term + 1))
    ends = np.concatenate((term, [arr.size]))
    if starts[-1] >= arr.size:  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    phys = np.searchsorted(nl, starts) + 1
    length = ends - starts
    blank = length == 0
    if arr.size:
        first = arr[np.minimum(starts, arr.size - 1)]
        blank |= (length == 1) & (first == 13)
        cand = np.flatnonzero(~blank & (length <= 512) & np.isin(first, (9, 13, 32)))
        for i in cand:
            if not data[starts[i] : ends[i]].strip():
                blank[i] = True
    return phys, blank


def _first_bad_row(data: bytes, encoding: str, source: SourceConfig) -> tuple[int, int, int] | None:
    """(physical line, expected fields, fields seen) of the first row whose field count differs (error path only)."""
    import csv

    text = io.StringIO(data.decode(encoding, errors="replace"))
    for _ in range(source.skip_rows):
        text.readline()
    skipped = source.skip_rows
    if source.delimiter in ("whitespace", r"\s+", " "):
        rows = ((i, line.split()) for i, line in enumerate(text, start=skipped + 1))
        records = ((i, r) for i, r in rows if r)
    else:
        reader = csv.reader(text, delimiter=source.delimiter)

        def gen():
            start = skipped + 1
            for rec in reader:
                yield start, rec
                start = skipped + reader.line_num + 1

        records = ((i, r) for i, r in gen() if r and any(f.strip() for f in r))
    expected = None if source.header else len(source.names or ())
    for line, rec in records:
        if expected is None:
            expected = len(source.names) if source.names else len(rec)
            continue
        if len(rec) != expected:
            return line, expected, len(rec)
    return None


def _data_lines(data: bytes, skip_rows: int, header: bool, n_rows: int) -> np.ndarray | None:
    """Physical line of each data row as pandas reads the file (blank lines skipped), or None on a mismatch."""
    phys, blank = _logical_lines(data)
    phys, blank = phys[skip_rows:], blank[skip_rows:]
    lines = phys[~blank]
    if header:
        lines = lines[1:]
    return lines if len(lines) == n_rows else None  # an unusual dialect: report data-row numbers instead


def _read_csv(source: SourceConfig, data: bytes, encoding: str) -> pd.DataFrame:
    name = source.path.name
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    sep = r"\s+" if source.delimiter in ("whitespace", r"\s+", " ") else source.delimiter
    if source.delimiter in ("\\t", "tab"):
        sep = "\t"
    kwargs: dict[str, Any] = dict(
        sep=sep,
        dtype="string",
        keep_default_na=False,
        na_values=[""],
        encoding=encoding,
        skiprows=source.skip_rows or None,
        index_col=False,
        engine="c",
    )
    if source.header:
        kwargs["header"] = 0
        if source.names:
            kwargs["names"] = list(source.names)
    else:
        kwargs["header"] = None
        kwargs["names"] = list(source.names or ())
    try:
        with warnings.catch_warnings():
            # pandas only warns when a row has more fields than the header, and drops the extra ones
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(data), **kwargs)
    except pd.errors.ParserWarning:
        found = _first_bad_row(data, encoding, source)
        where = (f", line {found[0]}: {found[2]} fields where the "
                 f"{'header' if source.header else 'names list'} has {found[1]}") if found else ""
        raise DataSourceError(
            f"{name} (source {source.name!r}){where}: a row has more fields than the "
            f"{'header' if source.header else 'names list'}. Usually a value contains the delimiter "
            f"{source.delimiter!r} without quotes: quote that value, or check `delimiter:`."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError(
            f"{name} (source {source.name!r}) has no content"
            + (f" after skipping {source.skip_rows} line(s)" if source.skip_rows else "")
            + ": it holds only blank lines. Check that the path points at the right file."
        ) from None
    except pd.errors.ParserError as e:
        msg = str(e)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            expected, logical, saw = (int(g) for g in m.groups())
            phys = _logical_lines(data)[0]
            line = int(phys[logical - 1]) if 0 < logical <= len(phys) else logical
            raise DataSourceError(
                f"{name} (source {source.name!r}), line {line}: {saw} fields where the "
                f"{'header' if source.header else 'names list'} has {expected}. Usually a value contains the "
                f"delimiter {source.delimiter!r} without quotes: quote that value, or check `delimiter:`."
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            row = int(m.group(1))
            phys = _logical_lines(data)[0]
            line = int(phys[row]) if 0 <= row < len(phys) else row + 1
            raise DataSourceError(
                f"{name} (source {source.name!r}), line {line}: a quoted value opens there and is never closed "
                "(the file ends inside it). Close the quote, or double any quote character inside a value (\"\")."
            ) from None
        raise DataSourceError(f"{name} (source {source.name!r}) is not a readable CSV file: {msg.strip()}") from None
    except UnicodeDecodeError as e:  # pragma: no cover - decoding is checked before
        raise DataSourceError(f"{name} (source {source.name!r}): {e}") from None
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataSourceError(
            f"{name} (source {source.name!r}) has a header line but no data rows. "
            "Check that the export finished, or remove the source from the config."
        )
    return frame


def _read_file(source: SourceConfig) -> _RawFile:
    path = source.path
    if not path.exists():
        raise DataSourceError(
            f"source {source.name!r} (table {source.table}) points at {path}, which does not exist. "
            "Fix `path:` in the config (relative paths are read from the config's folder; "
            "${DATA_ROOT} is the shared data folder, set with ECRM_DATA_ROOT)."
        )
    if path.is_dir():
        raise DataSourceError(f"source {source.name!r} points at {path}, which is a folder; give the file's path.")
    with open(path, "rb") as fh:  # read-only: input files are never modified
        raw = fh.read()
    sha = hashlib.sha256(raw).hexdigest()
    if len(raw) == 0:
        raise DataSourceError(
            f"{path.name} (source {source.name!r}, {path}) is empty (0 bytes). Re-export the file or remove the source."
        )
    adjustments: list[tuple[str, int]] = []
    if source.format == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as e:  # pyarrow raises several types
            raise DataSourceError(f"{path.name} (source {source.name!r}) is not a readable Parquet file: {e}") from None
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if len(frame) == 0:
            raise DataSourceError(f"{path.name} (source {source.name!r}) has columns but no rows.")
        return _RawFile(frame, True, len(raw), sha, adjustments)
    data = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataSourceError(f"{path.name} (source {source.name!r}) is a damaged gzip file: {e}") from None
        if not data:
            raise DataSourceError(f"{path.name} (source {source.name!r}) is empty once decompressed (0 bytes).")
    encoding, korean = _normalise_encoding(source)
    _check_decoding(data, encoding, source)
    frame = _read_csv(source, data, encoding)
    if korean:
        adjustments.append((f"file read as cp949, the superset of the declared {source.encoding}", len(frame)))
    return _RawFile(frame, False, len(raw), sha, adjustments, text=data, skip_rows=source.skip_rows,
                    header=source.header)


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _missing_column_error(source: SourceConfig, raw: _RawFile, missing: list[str], where: str) -> DataSourceError:
    cols = list(raw.frame.columns)
    parts = []
    for m in missing:
        close = difflib.get_close_matches(m, cols, n=3, cutoff=0.5)
        close += [c for c in cols if _squash(c) == _squash(m) and c not in close]
        parts.append(f"{m!r}" + (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""))
    return DataSourceError(
        f"{source.path.name} (source {source.name!r}): {where} column(s) {', '.join(parts)} not in the file. "
        f"The file's columns are: {cols}. Fix the name in the config (names are case-sensitive)."
    )


# ----------------------------------------------------------------------------- conversions


@dataclass
class _Conv:
    """A converted column: values, rows that failed and counted changes."""

    values: pd.Series
    bad: np.ndarray | None = None
    problem: str = ""
    fix: str = ""
    adjustments: list[tuple[str, np.ndarray]] = field(default_factory=list)


def _missing_column(kind: str, n: int) -> pd.Series:
    """A column of ``n`` missing values of a canonical kind."""
    fill = {"float": np.nan, "datetime": pd.NaT}.get(kind, pd.NA)
    return pd.Series(fill, index=range(n), dtype=PANDAS_DTYPES[kind])


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _as_text(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is pd.NA:
        return s
    if s.dtype == object:
        def text(v: Any) -> Any:
            missing = v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            return v if missing or isinstance(v, str) else str(v)

        return s.map(text).astype("string")
    return s.astype("string")


def _blank_to_na(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trimmed text with blank values as missing; returns the mask of blank (non-missing) inputs."""
    stripped = s.str.strip()
    blank = (stripped == "").fillna(False).to_numpy(dtype=bool)
    if blank.any():
        stripped = stripped.mask(blank)
    return stripped, blank


def _convert_string(s: pd.Series, col: str, spec: ColumnSpec | None, trim: bool = True) -> _Conv:
    adjustments = []
    if pd.api.types.is_bool_dtype(s.dtype):
        return _Conv(s.astype("string").str.lower())
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(vals) & (np.floor(vals) == vals) & (np.abs(vals) < 2**53)
        out = s.astype("string")
        if whole.any():
            out = out.copy()
            out[whole] = pd.array(vals[whole].astype(np.int64).astype(str), dtype="string")
            adjustments.append((f"{col}: numbers stored as floats written as whole numbers (12346.0 -> 12346)", whole))
        return _Conv(out, adjustments=adjustments)
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _Conv(s.astype("string"))
    text = _as_text(s)
    if not trim:
        blank = (text.str.strip() == "").fillna(False).to_numpy(dtype=bool)
        if blank.any():
            text = text.mask(blank)
            adjustments.append((f"{col}: blank values (spaces only) read as missing", blank))
        return _Conv(text, adjustments=adjustments)
    stripped, blank = _blank_to_na(text)
    trimmed = ((stripped != text) & stripped.notna()).fillna(False).to_numpy(dtype=bool)
    if trimmed.any():
        adjustments.append((f"{col}: leading/trailing spaces removed", trimmed))
    if blank.any():
        adjustments.append((f"{col}: blank values read as missing", blank))
    if spec is not None and spec.allowed is not None:
        lower = stripped.str.lower()
        changed = ((lower != stripped) & lower.notna()).fillna(False).to_numpy(dtype=bool)
        if changed.any():
            adjustments.append((f"{col}: values lower-cased (allowed values are {list(spec.allowed)})", changed))
        stripped = lower
    return _Conv(stripped, adjustments=adjustments)


_CURRENCY_SYMBOLS = {
    "£": {"GBP"},
    "€": {"EUR"},
    "₩": {"KRW"},
    "￦": {"KRW"},
    "원": {"KRW"},
    "¥": {"JPY", "CNY"},
    "$": {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"},
}
_NUMBER_RE = re.compile(
    r"^(?P<s1>[-+]?)\s*(?P<c1>[£€₩￦¥$])?\s*(?P<s2>[-+]?)"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)\s*(?P<c2>[£€₩￦¥$원])?$"
)
_EURO_DECIMAL_RE = re.compile(r"^[-+]?\d+,\d{1,2}$|^[-+]?\d{1,3}(?:\.\d{3})+,\d+$")


def _fast_float(text: pd.Series) -> np.ndarray | None:
    """Arrow's cast of clean numeric text to float64 (missing -> NaN); None when any value does not cast."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not hasattr(text.array, "__arrow_array__"):
            return None
        out = pc.cast(pa.array(text.array), pa.float64())
        return np.asarray(out.to_numpy(zero_copy_only=False), dtype=float)
    except Exception:  # ArrowInvalid on the first bad value, or no pyarrow: the slow, exact way
        return None


def _parse_numbers(s: pd.Series, currency: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse text as float64. Returns (values, bad mask, cleaned mask)."""
    n = len(s)
    text, _ = _blank_to_na(_as_text(s))
    values = _fast_float(text)
    if values is None:
        vals = pd.to_numeric(text, errors="coerce")
        values = np.asarray(vals.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    present = text.notna().to_numpy(dtype=bool)
    fail = present & np.isnan(values)
    # "nan" typed as text parses to NaN without being missing: a failure too
    cleaned = np.zeros(n, dtype=bool)
    if fail.any():
        idx = np.flatnonzero(fail)
        cand = text.iloc[idx]
        if not cand.str.match(_EURO_DECIMAL_RE).fillna(False).any():  # a decimal comma: never guess
            parts = cand.str.extract(_NUMBER_RE)
            matched = parts["num"].notna().to_numpy(dtype=bool)
            sym = parts["c1"].fillna(parts["c2"])
            has_sym = sym.notna().to_numpy(dtype=bool)
            symbols = set(sym[matched & has_sym].unique())
            sym_ok = len(symbols) <= 1 and all(currency is None or currency in _CURRENCY_SYMBOLS[x] for x in symbols)
            signs = (parts["s1"].fillna("") + parts["s2"].fillna("")).str.len().to_numpy()
            ok = matched & (~has_sym | sym_ok) & (signs <= 1)
            if ok.any():
                nums = parts["num"][ok].str.replace(",", "", regex=False).astype(float).to_numpy()
                neg = ((parts["s1"].fillna("") + parts["s2"].fillna("")) == "-").to_numpy(dtype=bool)[ok]
                ok_idx = idx[ok]
                values[ok_idx] = np.where(neg, -nums, nums)
                cleaned[ok_idx] = True
                fail[ok_idx] = False
    return values, fail, cleaned


def _convert_number(s: pd.Series, col: str, kind: str, currency: str | None) -> _Conv:
    adjustments = []
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64").to_numpy()
        bad = np.zeros(len(s), dtype=bool)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        bad = np.zeros(len(s), dtype=bool)
    else:
        values, bad, cleaned = _parse_numbers(s, currency)
        if cleaned.any():
            adjustments.append((f"{col}: currency symbols or thousands separators removed", cleaned))
    problem = "not a number"
    fix = (
        "write plain numbers such as 1234.5 (thousands separators as in 1,234.5 and a currency symbol "
        f"of {currency or 'the config currency'} are accepted; a decimal comma is not)"
    )
    if kind == "int":
        frac = np.isfinite(values) & (np.floor(values) != values)
        if frac.any():
            bad = bad | frac
            problem = "not a whole number"
            fix = "write whole numbers (e.g. 0 or 1)"
        with np.errstate(invalid="ignore"):
            vals = pd.array(np.where(bad | np.isnan(values), 0, values).astype(np.int64), dtype="Int64")
        vals[bad | np.isnan(values)] = pd.NA
        out = pd.Series(vals)
    else:
        out = pd.Series(values.astype(np.float64))
    return _Conv(out, bad if bad.any() else None, problem, fix, adjustments)


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _convert_bool(s: pd.Series, col: str) -> _Conv:
    if pd.api.types.is_bool_dtype(s.dtype):
        return _Conv(s.astype("boolean"))
    text, _ = _blank_to_na(_as_text(s))
    low = text.str.lower()
    t = low.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    f = low.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    present = low.notna().to_numpy(dtype=bool)
    out = pd.array([pd.NA] * len(s), dtype="boolean")
    out[t] = True
    out[f] = False
    bad = present & ~t & ~f
    return _Conv(pd.Series(out), bad if bad.any() else None, "not true/false", "write true/false, yes/no or 1/0", [])


_AWARE_RE = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


def _regex_mask(text: pd.Series, pattern: str) -> np.ndarray:
    """Rows whose text matches ``pattern`` anywhere (Arrow's regex engine when possible; missing is False)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        if hasattr(text.array, "__arrow_array__"):
            arr = pa.array(text.array)
        else:
            arr = pa.array(text.to_numpy(dtype=object, na_value=None))
        hit = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    except Exception:  # pragma: no cover - pyarrow missing or a pattern RE2 cannot run
        return text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)


def _localize(naive: pd.Series, tz: str, col: str) -> tuple[pd.Series, list[tuple[str, np.ndarray]]]:
    """Naive datetimes read in ``tz`` -> UTC, with counted clock-change fixes (masks over ``naive``)."""
    adjustments = []
    if tz == "UTC":
        return naive.dt.tz_localize("UTC"), adjustments
    loc = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    prob = (loc.isna() & naive.notna()).to_numpy(dtype=bool)
    if prob.any():
        sub = naive[prob]
        fixed = sub.dt.tz_localize(tz, ambiguous=np.ones(len(sub), dtype=bool), nonexistent="NaT")
        nonex = fixed.isna().to_numpy(dtype=bool)
        amb = prob.copy()
        amb[np.flatnonzero(prob)[nonex]] = False
        if nonex.any():
            shifted = sub[nonex].dt.tz_localize(tz, ambiguous="raise", nonexistent="shift_forward")
            fixed = fixed.copy()
            fixed[nonex] = shifted
            ne_mask = np.zeros(len(naive), dtype=bool)
            ne_mask[np.flatnonzero(prob)[nonex]] = True
            adjustments.append((f"{col}: local times that do not exist in {tz} (clock change) moved forward", ne_mask))
        if amb.any():
            adjustments.append((f"{col}: ambiguous local times in {tz} (clock change) read as summer time", amb))
        loc = loc.copy()
        loc[prob] = fixed
    return loc, adjustments


def _to_utc(s: pd.Series) -> pd.Series:
    return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _convert_datetime(s: pd.Series, col: str, fmt: str | None, tz: str) -> _Conv:
    n = len(s)
    adjustments: list[tuple[str, np.ndarray]] = []
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s.reset_index(drop=True)
        if getattr(s.dt, "tz", None) is None:
            loc, adj = _localize(s.astype("datetime64[us]"), tz, col)
            return _Conv(_to_utc(loc), adjustments=adj)
        return _Conv(_to_utc(s))
    if pd.api.types.is_numeric_dtype(s.dtype):  # e.g. 19970101 stored as a number
        s = _convert_string(s, col, None).values
    text, _ = _blank_to_na(_as_text(s).reset_index(drop=True))
    present = text.notna().to_numpy(dtype=bool)
    pieces: list[pd.Series] = []
    if fmt and ("%z" in fmt or "%Z" in fmt):
        aware = present
    else:
        aware = present & _regex_mask(text, _AWARE_RE)
    naive = present & ~aware
    inferred = np.zeros(n, dtype=bool)

    def parse(mask: np.ndarray, utc: bool) -> pd.Series:
        sub = text[mask]
        out = pd.to_datetime(sub, format=fmt or "ISO8601", errors="coerce", utc=utc)
        if not fmt:
            miss = out.isna().to_numpy(dtype=bool)
            if miss.any():
                try:
                    again = pd.to_datetime(sub[miss], format="mixed", errors="coerce", utc=utc)
                except (ValueError, TypeError):
                    again = None
                if again is not None and (utc or getattr(again.dt, "tz", None) is None):
                    got = again.notna().to_numpy(dtype=bool)
                    out = out.copy()
                    out[miss] = again
                    inferred[np.flatnonzero(mask)[np.flatnonzero(miss)[got]]] = True
        return out

    if naive.any():
        parsed = parse(naive, utc=False)
        if getattr(parsed.dt, "tz", None) is not None:  # a format with %z matched naive-looking text
            parsed = parsed.dt.tz_localize(None)
        loc, adj = _localize(parsed.astype("datetime64[us]"), tz, col)
        for text_, mask in adj:
            full = np.zeros(n, dtype=bool)
            full[np.flatnonzero(naive)[mask]] = True
            adjustments.append((text_, full))
        pieces.append(_to_utc(loc))
        if aware.any():
            adjustments.append(
                (f"{col}: timestamps without a time zone read as {tz} (the column mixes both)", naive.copy())
            )
    if aware.any():
        pieces.append(_to_utc(parse(aware, utc=True)))
    if len(pieces) == 1 and len(pieces[0]) == n:
        result = pieces[0]
    elif pieces:
        result = pd.concat(pieces).reindex(range(n))
    else:
        result = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    result = result.astype("datetime64[us, UTC]")
    if inferred.any():
        adjustments.append((f"{col}: dates not in ISO 8601 read by inference (set date_format to be sure)", inferred))
    bad = present & result.isna().to_numpy(dtype=bool)
    fix = (
        f"write it as {fmt} (the source's date_format)" if fmt else
        "write dates as ISO 8601 (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS), or set `date_format:` for this source"
    )
    return _Conv(result, bad if bad.any() else None, "not a date/time", fix, adjustments)


def _convert(s: pd.Series, spec: ColumnSpec | None, col: str, source: SourceConfig, currency: str | None) -> _Conv:
    s = s.reset_index(drop=True)
    kind = spec.kind if spec is not None else "string"
    if kind == "string":
        verbatim = spec is not None and (spec.pii or spec.name in _VERBATIM)
        return _convert_string(s, col, spec, trim=not verbatim)
    if kind in ("float", "int"):
        return _convert_number(s, col, kind, currency)
    if kind == "bool":
        return _convert_bool(s, col)
    if kind == "datetime":
        return _convert_datetime(s, col, source.date_format, source.timezone)
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover


# ----------------------------------------------------------------------------- expressions

_BACKTICK = re.compile(r"`([^`]+)`")
_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ("abs", "bool", "float", "int", "len", "max", "min", "round", "str", "list", "set", "tuple", "range")
}
_GLOBALS = {"pd", "np", *_SAFE_BUILTINS}


class _Expr:
    """A parsed config expression with the source columns it refers to."""

    def __init__(self, text: str, source: SourceConfig, raw: _RawFile, what: str):
        self.text = text
        self.what = what
        names: dict[str, str] = {}

        def repl(m: re.Match) -> str:
            key = f"__bt{len(names)}__"
            names[key] = m.group(1)
            return key

        code = _BACKTICK.sub(repl, text)
        try:
            tree = ast.parse(code.strip(), mode="eval")
        except SyntaxError as e:
            raise ConfigError(
                f"source {source.name!r}: {what} {text!r} is not a valid expression ({e.msg}). "
                "Write a pandas expression over source columns, e.g. `Quantity * Price` or "
                "\"Invoice.str.startswith('C')\"; put names with spaces in backticks."
            ) from None
        bound = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        used = {nd.id for nd in ast.walk(tree) if isinstance(nd, ast.Name)} - bound
        cols = set(raw.frame.columns) | {ROW_NUMBER_COLUMN}
        self.refs: dict[str, str] = {}
        missing = []
        for var in sorted(used):
            col = names.get(var, var)
            if col in cols:
                self.refs[var] = col
            elif var in names or var not in _GLOBALS:
                missing.append(col)
        if missing:
            raise _missing_column_error(source, raw, missing, f"{what} {text!r} uses")
        self.code = compile(tree, f"<{source.name}: {what}>", "eval")
        self.source = source

    @property
    def columns(self) -> list[str]:
        return sorted(set(self.refs.values()))

    def evaluate(self, column: Callable[[str], pd.Series]) -> Any:
        ns = {var: column(col) for var, col in self.refs.items()}
        return eval(self.code, {"__builtins__": _SAFE_BUILTINS, "pd": pd, "np": np}, ns)  # noqa: S307


# ----------------------------------------------------------------------------- per source


@dataclass
class _Source:
    """One source while it is being loaded."""

    config: SourceConfig
    index: int
    raw: _RawFile
    frame: pd.DataFrame  # canonical (+ extra) columns, all rows
    reason: np.ndarray  # object: None = kept, else the reason it was set aside
    keep: np.ndarray = field(default=None)  # type: ignore[assignment]  # True while the row is kept
    bad: dict[str, np.ndarray] = field(default_factory=dict)  # canonical column -> rows that failed conversion
    failures: list[tuple[np.ndarray, str, pd.Series, str, str]] = field(default_factory=list)
    adjustments: list[tuple[str, np.ndarray]] = field(default_factory=list)
    policy_failures: list[pd.DataFrame] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.config.path.name

    @property
    def n(self) -> int:
        return len(self.frame)

    def __post_init__(self) -> None:
        if self.keep is None:
            self.keep = np.ones(len(self.reason), dtype=bool)

    def kept(self) -> np.ndarray:
        return self.keep

    def set_aside(self, mask: np.ndarray, reason: str) -> int:
        take = np.asarray(mask, dtype=bool) & self.keep
        self.reason[take] = reason
        self.keep = self.keep & ~take
        return int(take.sum())

    def fail_rows(self, mask: np.ndarray, column: str, values: pd.Series, problem: str, fix: str) -> None:
        self.failures.append((np.asarray(mask, dtype=bool), column, values, problem, fix))


class _Loader:
    def __init__(self, config: Config, progress: Callable[[str], None] | None):
        self.config = config
        self.progress = progress
        self.sources: list[_Source] = []
        self.file_rows: list[dict] = []

    # ---------------------------------------------------------------- phase 1
    def load_source(self, i: int, source: SourceConfig) -> _Source:
        if self.progress is not None:
            self.progress(f"reading {source.label} into {source.table}")
        spec = TABLES[source.table]
        if source.extra_columns is not None and not spec.keep_extra:
            raise ConfigError(
                f"source {source.name!r}: `extra_columns` only applies to tables that keep extra columns "
                f"(customers), not {source.table!r}."
            )
        raw = _read_file(source)
        self.file_rows.append(
            {"source": source.name, "table": source.table, "file": source.path.name, "path": str(source.path),
             "bytes": raw.n_bytes, "sha256": raw.sha256}
        )
        frame = raw.frame
        n = len(frame)
        missing = [c for c in source.columns.values() if c != ROW_NUMBER_COLUMN and c not in frame.columns]
        if missing:
            raise _missing_column_error(source, raw, missing, "mapped")
        if source.extra_columns:
            absent = [c for c in source.extra_columns if c not in frame.columns]
            if absent:
                raise _missing_column_error(source, raw, absent, "extra_columns")
        computed = {c: _Expr(e, source, raw, f"computed {c}") for c, e in source.computed.items()}
        rules = [(_Expr(r.when, source, raw, "set_aside rule"), r.reason) for r in source.set_aside]

        row_numbers: pd.Series | None = None

        def source_column(col: str) -> pd.Series:
            nonlocal row_numbers
            if col == ROW_NUMBER_COLUMN:
                if row_numbers is None:
                    row_numbers = pd.Series(np.arange(1, n + 1).astype(str), dtype="string")
                return row_numbers
            return frame[col]

        typed_cache: dict[tuple[str, bool], tuple[pd.Series, np.ndarray | None]] = {}

        def typed(col: str, lenient: bool = False) -> tuple[pd.Series, np.ndarray | None]:
            """A CSV column as numbers when every value (lenient: at least half) is a number without
            leading zeros, with the rows that do not parse; else the column as read."""
            key = (col, lenient)
            if key not in typed_cache:
                s = source_column(col)
                out: tuple[pd.Series, np.ndarray | None] = (s, None)
                if col != ROW_NUMBER_COLUMN and not raw.parquet and _is_text(s):
                    text, _ = _blank_to_na(_as_text(s))
                    present = text.notna().to_numpy(dtype=bool)
                    if present.any():
                        leading_zero = bool(text.str.match(r"^[-+]?0\d").fillna(False).any())
                        values, bad, _ = _parse_numbers(text, self.config.currency)
                        good = int((present & ~bad).sum())
                        enough = good >= 0.5 * present.sum() if lenient else not bad.any()
                        if not leading_zero and enough:
                            out = (pd.Series(values, name=col), bad if bad.any() else None)
                typed_cache[key] = out
            return typed_cache[key]

        ld = _Source(source, i, raw, pd.DataFrame(index=range(n)), np.full(n, None, dtype=object))
        for text, _rows in raw.adjustments:  # whole-file adjustments apply to every kept row
            ld.adjustments.append((text, np.ones(n, dtype=bool)))

        out: dict[str, pd.Series] = {}
        spec_cols = {c.name: c for c in spec.columns}
        targets = list(spec.column_names())
        if spec.keep_extra:
            targets += [c for c in [*source.columns, *source.computed, *source.constants] if c not in spec_cols]
        for col in targets:
            cspec = spec_cols.get(col)
            if col in source.columns:
                src_col = source.columns[col]
                label = col if src_col == col else f"{col} (from {src_col})"
                conv = _convert(source_column(src_col), cspec, label, source, self.config.currency)
                if conv.bad is not None:
                    ld.fail_rows(conv.bad, src_col, source_column(src_col), f"{col}: {conv.problem}", conv.fix)
            elif col in computed:
                conv = self._computed(ld, computed[col], cspec, col, source_column, typed)
            elif col in source.constants:
                conv = self._constant(source, cspec, col, source.constants[col], n)
            elif col == "is_control" and source.table == "campaigns":
                arm = out["arm"]
                conv = _Conv(pd.Series(arm.isin(list(source.control_arms)).fillna(False).astype("boolean")))
            else:
                conv = _Conv(_missing_column(cspec.kind, n))
            if conv.bad is not None:
                ld.bad[col] = conv.bad
            ld.adjustments.extend(conv.adjustments)
            values = conv.values.reset_index(drop=True)
            if cspec is not None:
                values = values.astype(PANDAS_DTYPES[cspec.kind])
            out[col] = values
        if spec.keep_extra:
            mapped = set(source.columns.values())
            wanted = source.extra_columns if source.extra_columns is not None else list(frame.columns)
            for c in wanted:
                if c in mapped or c == ROW_NUMBER_COLUMN:
                    continue
                name = c if c not in out else f"{c}_source"
                values = frame[c].reset_index(drop=True)
                if _is_text(values):  # CSV text as read; only a value of spaces alone becomes missing
                    conv = _convert_string(values, c, None, trim=False)
                    ld.adjustments.extend(conv.adjustments)
                    values = conv.values
                out[name] = values  # Parquet numbers and dates keep their stored type
        ld.frame = pd.DataFrame(out, index=range(n))

        # missing keys, then the source's rules, then non-positive amounts
        key_missing = np.zeros(n, dtype=bool)
        for k in spec.key:
            key_missing |= ld.frame[k].isna().to_numpy(dtype=bool) & ~ld.bad.get(k, np.zeros(n, dtype=bool))
        if key_missing.any():
            reason = f"missing {' / '.join(spec.key)}"
            if self.config.policies.missing_keys == "error":
                self._policy_error(ld, key_missing, spec.key[0], reason,
                                   "fill the key, or set policies.missing_keys: set_aside to count and skip these rows")
            else:
                ld.set_aside(key_missing, reason)
        for expr, reason in rules:
            mask = self._rule_mask(ld, expr, source_column, typed)
            ld.set_aside(mask, reason)
        if source.table == "transactions":
            amount = ld.frame["amount"].to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                nonpos = (amount <= 0) & ld.kept()
            policy = self.config.policies.nonpositive_amounts
            if nonpos.any():
                if policy == "set_aside":
                    ld.set_aside(nonpos, "amount <= 0")
                elif policy == "keep":
                    ld.adjustments.append(("amount <= 0 kept (policy nonpositive_amounts: keep)", nonpos))
                else:
                    self._policy_error(ld, nonpos, "amount", "amount <= 0",
                                       "correct the amount, or set policies.nonpositive_amounts to set_aside or keep")
        return ld

    def _computed(self, ld: _Source, expr: _Expr, cspec: ColumnSpec | None, col: str, source_column, typed) -> _Conv:
        kind = cspec.kind if cspec is not None else None
        n = ld.n
        numeric_target = kind in ("float", "int")
        if numeric_target:
            views = ["lenient", "strict", "raw"]
        elif kind in ("string", "datetime"):
            views = ["raw", "strict"]
        else:
            views = ["strict", "raw"]
        result, error = None, None
        used_view = None
        for view in views:
            try:
                if view == "raw":
                    result = expr.evaluate(source_column)
                else:
                    result = expr.evaluate(lambda c, lenient=(view == "lenient"): typed(c, lenient)[0])
                used_view = view
                break
            except Exception as e:  # a user expression can raise anything
                error = error or e
        if used_view is None:
            raise ConfigError(
                f"source {ld.config.name!r}: {expr.what} = {expr.text!r} failed on the data: "
                f"{type(error).__name__}: {error}. Source columns used: {expr.columns}."
            )
        if not isinstance(result, pd.Series):
            result = pd.Series([result] * n) if np.ndim(result) == 0 else pd.Series(np.asarray(result))
        if len(result) != n:
            raise ConfigError(
                f"source {ld.config.name!r}: {expr.what} = {expr.text!r} returned {len(result)} values for {n} rows."
            )
        result = result.reset_index(drop=True)
        any_bad = np.zeros(n, dtype=bool)
        if used_view == "lenient":
            for c in expr.columns:
                _, bad = typed(c, True)
                if bad is not None:
                    ld.fail_rows(bad, c, source_column(c), f"{col} (computed from {c}): not a number",
                                 "write plain numbers such as 1234.5")
                    any_bad |= bad
        if cspec is None:  # an extra customers column
            if _is_text(result):
                return _convert_string(result, col, None)
            return _Conv(result)
        conv = _convert(result, cspec, col, ld.config, self.config.currency)
        if conv.bad is not None:
            rest = conv.bad & ~any_bad
            if rest.any():
                if len(expr.columns) == 1:
                    vals = source_column(expr.columns[0])
                else:
                    vals = _as_text(result) if _is_text(result) else result.astype("string")
                problem = f"{col} (computed {expr.text!r}): {conv.problem}"
                ld.fail_rows(rest, ", ".join(expr.columns), vals, problem, conv.fix)
            any_bad |= conv.bad
        conv.bad = any_bad if any_bad.any() else None
        return conv

    def _constant(self, source: SourceConfig, cspec: ColumnSpec | None, col: str, value: Any, n: int) -> _Conv:
        one = pd.Series([value])
        if isinstance(value, (dt.date, dt.datetime)):
            one = pd.Series([value.isoformat()])
        conv = _convert(one, cspec, col, source, self.config.currency)
        if conv.bad is not None:
            raise ConfigError(f"source {source.name!r}: constant {col}: {value!r} is {conv.problem}; {conv.fix}.")
        values = conv.values
        return _Conv(pd.Series(np.repeat(values.to_numpy(), n), dtype=values.dtype) if n else values.iloc[:0])

    def _rule_mask(self, ld: _Source, expr: _Expr, source_column, typed) -> np.ndarray:
        error = None
        # numbers only where every value is one; then (e.g. `Price <= 0` on a column with a stray
        # text value) numbers where most are, the rest missing and never matching; then text as read
        for view in ("strict", "lenient", "raw"):
            try:
                if view == "raw":
                    res = expr.evaluate(source_column)
                else:
                    res = expr.evaluate(lambda c, lenient=(view == "lenient"): typed(c, lenient)[0])
                if np.ndim(res) == 0:
                    res = pd.Series([bool(res)] * ld.n)
                res = pd.Series(res).reset_index(drop=True)
                if not (pd.api.types.is_bool_dtype(res.dtype) or res.isna().all()):
                    raise TypeError(f"it returned {res.dtype} values, not true/false")
                return res.fillna(False).to_numpy(dtype=bool)
            except Exception as e:
                error = error or e
        raise ConfigError(
            f"source {ld.config.name!r}: set_aside rule `when: {expr.text}` failed on the data: "
            f"{type(error).__name__}: {error}. It must give true/false per row, e.g. \"Invoice.str.startswith('C')\" "
            f"or \"Price <= 0\"; source columns used: {expr.columns}."
        )

    def _policy_error(self, ld: _Source, mask: np.ndarray, column: str, problem: str, fix: str,
                      values: pd.Series | None = None) -> None:
        pos = np.flatnonzero(mask)
        if values is None:
            src = ld.config.columns.get(column)
            if src is not None:
                raw_col = ld.raw.frame[src] if src != ROW_NUMBER_COLUMN else pd.Series(np.arange(1, ld.n + 1))
                values = raw_col.reset_index(drop=True)
            else:
                values = ld.frame[column]
        vals = values.iloc[pos]
        ld.policy_failures.append(
            pd.DataFrame(
                {
                    "source": ld.config.name,
                    "table": ld.config.table,
                    "file": ld.file,
                    "line": ld.raw.line_labels(pos),
                    "column": ld.config.columns.get(column, column),
                    "value": [_show(v) for v in vals],
                    "problem": problem if isinstance(problem, str) else list(problem),
                    "fix": fix,
                    "_src": ld.index,
                    "_pos": pos,
                }
            )
        )
        # rows under an `error` policy are reported, and kept out of the other checks
        ld.set_aside(mask, "error policy")

    # ---------------------------------------------------------------- phase 2
    def apply_as_of(self, ld: _Source, end_utc: pd.Timestamp, as_of: dt.date) -> None:
        spec = TABLES[ld.config.table]
        if spec.time_column is None:
            return
        t = ld.frame[spec.time_column]
        late = (t >= end_utc).fillna(False).to_numpy(dtype=bool) & ld.kept()
        if not late.any():
            return
        reason = f"after the as-of date {as_of.isoformat()}"
        if self.config.policies.after_as_of == "error":
            self._policy_error(ld, late, spec.time_column, reason,
                               "pass a later as_of, or set policies.after_as_of: set_aside")
        else:
            ld.set_aside(late, reason)

    def apply_duplicates(self, ld: _Source) -> None:
        kept = ld.kept()
        if kept.sum() < 2:
            return
        cols = list(ld.raw.frame.columns)
        sub = ld.raw.frame.loc[kept, cols].reset_index(drop=True)
        dup_sub = _duplicate_mask(sub)
        if not dup_sub.any():
            return
        dup = np.zeros(ld.n, dtype=bool)
        dup[np.flatnonzero(kept)[dup_sub]] = True
        policy = self.config.policies.duplicates
        if policy == "drop":
            ld.set_aside(dup, "exact duplicate of an earlier row")
        elif policy == "keep":
            ld.adjustments.append(("exact duplicate rows kept (policy duplicates: keep)", dup))
        else:
            pos_kept = np.flatnonzero(kept)
            group = sub.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
            first_pos = pd.Series(pos_kept).groupby(group).transform("min").to_numpy()
            firsts = first_pos[dup_sub]
            first_labels = ld.raw.line_labels(firsts)
            problems = [f"exact duplicate of {_where(lbl)}" for lbl in first_labels]
            self._policy_error(ld, dup, "(whole row)", problems,  # type: ignore[arg-type]
                               "remove the repeated row from the file, or set policies.duplicates to drop or keep",
                               values=pd.Series([""] * ld.n))


def _duplicate_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows equal in every column to an earlier row (the first occurrence is not marked)."""
    n = len(frame)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not all(isinstance(d, pd.StringDtype) for d in frame.dtypes):
            raise TypeError("not all text")
        arrs = [pc.cast(pa.chunked_array(pa.array(frame[c].array)), pa.large_string()) for c in frame.columns]
        joined = pc.binary_join_element_wise(
            *arrs, pa.scalar("\x1f", pa.large_string()), null_handling="replace", null_replacement="\x00"
        )
        enc = pc.dictionary_encode(joined).combine_chunks()
        codes = enc.indices.to_numpy(zero_copy_only=False)
        counts = np.bincount(codes, minlength=len(enc.dictionary))
        cand = np.flatnonzero(counts[codes] > 1)  # rows whose joined text repeats: confirm exactly
        out = np.zeros(n, dtype=bool)
        if cand.size:
            out[cand] = frame.iloc[cand].duplicated(keep="first").to_numpy(dtype=bool)
        return out
    except (ImportError, TypeError, ValueError, NotImplementedError):
        return frame.duplicated(keep="first").to_numpy(dtype=bool)
    except Exception:  # pragma: no cover - any Arrow error: the plain way is always right
        return frame.duplicated(keep="first").to_numpy(dtype=bool)


def _show(value: Any, limit: int = 60) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- validation

_PANDERA_FIXES = {
    "not_nullable": "fill the value in the file, or add a `set_aside` rule for such rows",
    "multiple_fields_uniqueness": "each account must appear once: remove the repeated rows or give them distinct ids",
    "field_uniqueness": "each account must appear once: remove the repeated rows or give them distinct ids",
    "greater_than_or_equal_to": "correct the value (it is below the allowed minimum)",
    "less_than_or_equal_to": "correct the value (it is above the allowed maximum)",
    "must be finite": "correct the value or the `computed` expression (it gave infinity, e.g. a division by zero)",
    "must be one of": "use one of the allowed values",
}


def _pandera_problem(check: str, column: str) -> tuple[str, str]:
    check = str(check)
    for key, fix in _PANDERA_FIXES.items():
        if check.startswith(key):
            if key == "not_nullable":
                return f"{column} is missing (required)", fix
            if key.endswith("uniqueness"):
                return f"{column} repeated with different content", fix
            m = re.match(r"(greater|less)_than_or_equal_to\((.*)\)$", check)
            if m:
                return f"{column} must be {'>=' if m.group(1) == 'greater' else '<='} {m.group(2)}", fix
            return f"{column}: {check}", fix
    return f"{column}: fails {check}", "correct the value"


def _validate_table(table: str, frame: pd.DataFrame, src_code: np.ndarray, pos: np.ndarray,
                    sources: list[_Source], bad: dict[str, np.ndarray]) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    import pandera.errors as pa_errors

    schema = pandera_schema(table)
    try:
        return schema.validate(frame, lazy=True), []
    except pa_errors.SchemaErrors as e:
        fc = e.failure_cases
    rows = []
    for rec in fc.itertuples(index=False):
        column = str(rec.column)
        idx = rec.index
        if idx is None or (isinstance(idx, float) and math.isnan(idx)):
            rows.append({"source": "", "table": table, "file": "", "line": "", "column": column,
                         "value": _show(rec.failure_case), "problem": f"{column}: {rec.check}",
                         "fix": "check the mapping of this column", "_src": len(sources), "_pos": 0})
            continue
        idx = int(idx)
        if column in bad and bad[column][idx]:
            continue  # already reported as unparseable
        ld = sources[src_code[idx]]
        p = int(pos[idx])
        problem, fix = _pandera_problem(rec.check, column)
        src_col = ld.config.columns.get(column, column)
        if column in ld.config.columns and ld.config.columns[column] != ROW_NUMBER_COLUMN:
            value = ld.raw.frame[src_col].iloc[p]
        else:
            value = frame[column].iloc[idx] if column in frame.columns else rec.failure_case
        rows.append({"source": ld.config.name, "table": table, "file": ld.file, "line": ld.raw.line_labels([p])[0],
                     "column": src_col, "value": _show(value), "problem": problem, "fix": fix,
                     "_src": ld.index, "_pos": p})
    return frame, [pd.DataFrame(rows, columns=[*_FAILURE_COLUMNS, "_src", "_pos"])]


def _raise_failures(failures: pd.DataFrame) -> None:
    n = len(failures)
    shown = failures.head(_SHOWN_FAILURES)
    lines = []
    for r in shown.itertuples(index=False):
        where = f"{r.file}, {_where(r.line)}" if r.line else (r.file or r.table)
        value = f" value {r.value!r}" if r.value != "" else ""
        lines.append(f"  - {where}, column {r.column!r}:{value}: {r.problem}. Fix: {r.fix}.")
    more = f"\n  ... and {n - len(shown)} more (all {n} are in the error's .failures table)." if n > len(shown) else ""
    by_file = failures.groupby(["file", "problem"], sort=False).size()
    counts = "; ".join(f"{f or 'table'}: {c} x {p}" for (f, p), c in by_file.head(8).items())
    raise DataValidationError(
        f"{n} problem(s) found in the input data ({counts}). "
        f"The first {len(shown)}:\n" + "\n".join(lines) + more,
        failures=failures.reset_index(drop=True),
    )


# ----------------------------------------------------------------------------- entry point


def _infer_as_of(sources: list[_Source], tz: str) -> dt.date:
    latest = None
    for ld in sources:
        col = TABLES[ld.config.table].time_column
        if col is None:
            continue
        t = ld.frame[col][ld.kept()]
        bad = ld.bad.get(col)
        if bad is not None:
            t = ld.frame[col][ld.kept() & ~bad]
        m = t.max()
        if pd.notna(m) and (latest is None or m > latest):
            latest = m
    if latest is None:
        return dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()
    return latest.tz_convert(tz).date()


def load_sources(
    config: Config,
    as_of: str | dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Read, map, police and validate every source of a config.

    Parameters
    ----------
    config : Config
        From :func:`ecrm_lib.core.config.load_config`.
    as_of : str or date, optional
        Analysis date (YYYY-MM-DD). Default: ``config.as_of``, else the last
        date of any time column among the loaded (not set-aside) rows, in the
        config's time zone (today when no table has a time column).
    progress : callable, optional
        Called with one message per source as it is read.

    Returns
    -------
    LoadResult
        Validated canonical tables plus the counts of what was read, set aside
        and adjusted, and the input files' SHA-256.

    Raises
    ------
    DataSourceError
        A file is missing, empty, has no data rows, is malformed, cannot be
        decoded, or lacks a mapped column (the message names file and line).
    DataValidationError
        Values that do not parse, schema violations and rows under an
        ``error`` policy; ``.failures`` lists every one (file, line, column,
        value, problem, fix). Also raised when every row of a table was set aside.
    ConfigError
        An expression in the config is invalid or fails on the data.

    Examples
    --------
    >>> from ecrm_lib.core.config import load_config
    >>> from ecrm_lib.core.paths import CONFIG_DIR
    >>> result = load_sources(load_config(CONFIG_DIR / "cdnow.yaml"))
    >>> result.summary[["table", "rows_read", "rows_kept"]].to_dict("records")
    [{'table': 'transactions', 'rows_read': 6919, 'rows_kept': 6919}]
    >>> int(result.tables["transactions"]["account_id"].nunique())
    2357
    """
    loader = _Loader(config, progress)
    for i, source in enumerate(config.sources):
        loader.sources.append(loader.load_source(i, source))
    sources = loader.sources

    as_of_date = as_date(as_of, "as_of", optional=True) or config.as_of or _infer_as_of(sources, config.timezone)
    end_local = pd.Timestamp(as_of_date + dt.timedelta(days=1)).tz_localize(config.timezone)
    end_utc = end_local.tz_convert("UTC")
    for ld in sources:
        loader.apply_as_of(ld, end_utc, as_of_date)
        loader.apply_duplicates(ld)

    # every row set aside?
    not_yet: set[str] = set()  # tables whose every row is dated after the as-of date: absent from this run
    for table in config.tables():
        srcs = [ld for ld in sources if ld.config.table == table]
        if sum(int(ld.kept().sum()) for ld in srcs) == 0 and not any(ld.policy_failures for ld in srcs):
            counts = pd.Series([r for ld in srcs for r in ld.reason]).value_counts()
            if len(counts) and all(str(r).startswith("after the as-of date") for r in counts.index):
                # e.g. a campaign sent after an earlier as-of date: nothing wrong with the file; the rows
                # are counted as set aside and the table is left out of this run (notebooks adapt)
                not_yet.add(table)
                if loader.progress is not None:
                    loader.progress(f"{table}: every row is dated after the as-of date {as_of_date.isoformat()}; "
                                    "the table is left out of this run (rows counted as set aside)")
                continue
            detail = "; ".join(f"{reason}: {n:,} rows" for reason, n in counts.items())
            failures = pd.DataFrame(
                [{"source": ", ".join(ld.config.name for ld in srcs), "table": table,
                  "file": ", ".join(ld.file for ld in srcs), "line": "", "column": "",
                  "value": str(n), "problem": f"all rows set aside: {n:,} x {reason}",
                  "fix": "check the policies and set_aside rules in the config"} for reason, n in counts.items()],
                columns=_FAILURE_COLUMNS,
            )
            raise DataValidationError(
                f"table {table!r}: every row of its source(s) "
                f"{', '.join(ld.config.label for ld in srcs)} was set aside, so nothing is left to analyse "
                f"({detail}). Check the policies (as-of date {as_of_date.isoformat()}) and set_aside rules "
                "in the config, or the file.",
                failures=failures,
            )

    # failures collected while converting (only for kept rows) and under `error` policies
    failure_frames: list[pd.DataFrame] = []
    for ld in sources:
        failure_frames.extend(ld.policy_failures)
        kept = ld.kept()
        for mask, column, values, problem, fix in ld.failures:
            rows = np.flatnonzero(mask & kept)
            if not rows.size:
                continue
            vals = values.reset_index(drop=True).iloc[rows]
            failure_frames.append(
                pd.DataFrame({"source": ld.config.name, "table": ld.config.table, "file": ld.file,
                              "line": ld.raw.line_labels(rows), "column": column,
                              "value": [_show(v) for v in vals], "problem": problem, "fix": fix,
                              "_src": ld.index, "_pos": rows})
            )

    # concatenate kept rows per table and validate
    tables: dict[str, pd.DataFrame] = {}
    provenance: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for table in config.tables():
        if table in not_yet:
            continue
        srcs = [ld for ld in sources if ld.config.table == table]
        parts, codes, positions = [], [], []
        bad: dict[str, list[np.ndarray]] = {}
        for ld in srcs:
            kept = ld.kept()
            pos = np.flatnonzero(kept)
            parts.append(ld.frame.iloc[pos])
            codes.append(np.full(pos.size, ld.index))
            positions.append(pos)
            for col in ld.frame.columns:
                bad.setdefault(col, []).append(ld.bad[col][pos] if col in ld.bad else np.zeros(pos.size, dtype=bool))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        spec = TABLES[table]
        ordered = spec.column_names() + [c for c in frame.columns if c not in spec.column_names()]
        frame = frame[ordered]
        src_code = np.concatenate(codes)
        pos = np.concatenate(positions)
        bad_cat = {c: np.concatenate(v) for c, v in bad.items() if len(v) == len(srcs)}
        frame, extra = _validate_table(table, frame, src_code, pos, sources, bad_cat)
        failure_frames.extend(extra)
        for c in spec.columns:
            frame[c.name] = frame[c.name].astype(PANDAS_DTYPES[c.kind])
        tables[table] = frame
        provenance[table] = (src_code, pos)

    failure_frames = [f for f in failure_frames if len(f)]
    if failure_frames:
        allf = pd.concat(failure_frames, ignore_index=True).sort_values(["_src", "_pos"], kind="stable")
        _raise_failures(allf[_FAILURE_COLUMNS])

    # records
    adjustments = []
    for ld in sources:
        kept = ld.kept()
        for text, mask in ld.adjustments:
            rows = int((np.asarray(mask, dtype=bool) & kept).sum())
            if rows:
                adjustments.append({"source": ld.config.name, "table": ld.config.table, "file": ld.file,
                                    "adjustment": text, "rows": rows})
    if "accounts" in tables:
        known = pd.Index(tables["accounts"]["account_id"].unique())
        for table in _ACCOUNT_TABLES:
            if table not in tables:
                continue
            src_code, _ = provenance[table]
            unknown = ~tables[table]["account_id"].isin(known).to_numpy(dtype=bool)
            for ld in sources:
                if ld.config.table != table:
                    continue
                rows = int((unknown & (src_code == ld.index)).sum())
                if rows:
                    adjustments.append({"source": ld.config.name, "table": table, "file": ld.file,
                                        "adjustment": "rows reference accounts not in the accounts table (kept)",
                                        "rows": rows})

    set_aside_parts, summary_rows = [], []
    for ld in sources:
        kept = ld.kept()
        aside = np.flatnonzero(~kept)
        summary_rows.append({"source": ld.config.name, "table": ld.config.table, "file": ld.file,
                             "rows_read": ld.n, "rows_set_aside": int(aside.size), "rows_kept": int(kept.sum())})
        if aside.size:
            set_aside_parts.append(
                pd.DataFrame({"source": ld.config.name, "table": ld.config.table, "file": ld.file,
                              "line": ld.raw.line_labels(aside), "reason": ld.reason[aside]})
            )
    set_aside = (pd.concat(set_aside_parts, ignore_index=True) if set_aside_parts
                 else pd.DataFrame(columns=_SET_ASIDE_COLUMNS))
    return LoadResult(
        tables=tables,
        summary=pd.DataFrame(summary_rows, columns=_SUMMARY_COLUMNS),
        set_aside=set_aside.astype({"line": "string", "reason": "string"}) if len(set_aside) else set_aside,
        adjustments=pd.DataFrame(adjustments, columns=_ADJUSTMENT_COLUMNS),
        files=pd.DataFrame(loader.file_rows, columns=_FILES_COLUMNS),
        as_of=as_of_date,
    )

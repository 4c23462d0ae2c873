"""Reading source files into the engine, with exact file and line for every row.

:func:`stage_source` reads one source into a table of the loader's DuckDB
connection: every CSV column as text, Parquet columns with their stored types,
plus ``__pos``, the 0-based data-row number. Nothing is read into Python but
the header line and, for the rows that are reported, their line numbers.

- **CSV** is read by DuckDB's ``read_csv`` with the source's delimiter, header,
  ``skip_rows`` and the standard quote (``"``, doubled inside a value); an
  empty field is missing. Files in an encoding DuckDB does not read
  (``cp949``, ``cp1252``, ...) are first transcoded to UTF-8 in a streaming
  pass (DuckDB's encodings extension downloads at run time); gzip is read as
  is. ``delimiter: whitespace`` files are read line by line and split in the
  engine.
- **Malformed rows** are listed by DuckDB's reject table: a row with more
  fields than the header, or a quote that never closes, stops the load with
  the file's line; a row with fewer fields (issue 13, item 9) is set aside
  under the ``short_rows`` policy, never padded with missing values.
- **Line numbers** (:class:`LineMap`) are physical lines: header = line 1,
  ``skip_rows`` and quoted line breaks counted. When a file has as many lines
  as rows (no blank lines, no quoted line breaks: one count in the engine)
  the line of row *p* is arithmetic; otherwise one streaming scan of the bytes
  finds the lines of just the rows asked for. Parquet rows are ``row N``.

Everything after this module sees only a :class:`StagedSource`: an engine
table with ``__pos`` and the source's columns, its row count and a
:class:`LineMap` that turns positions into labels. A database or Spark table
(issue 11) is one more staging function that returns the same thing (``__pos``
from the table's key order, labels naming the key instead of a line); mapping,
policies and validation then run unchanged. Database tables and queries
(PostgreSQL, MySQL/MariaDB) are staged so by :mod:`ecrm_lib.data.dbsource`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from ecrm_lib.core.config import SourceConfig
from ecrm_lib.core.errors import ConfigError, DataSourceError

__all__ = ["CHUNK_BYTES", "LineMap", "ShortRow", "StagedSource", "normalise_encoding", "sql_name", "sql_string", "stage_source"]

CHUNK_BYTES = 8 << 20
"""Bytes read at a time when a file is scanned or re-encoded (a test sets it tiny to put chunk edges everywhere)."""
_KOREAN_ALIASES = {"euc_kr"}  # codecs' canonical name for euc-kr, euc_kr, ks_c_5601-1987, ...
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "latin-1": "latin-1", "iso8859-1": "latin-1"}
_WHITESPACE = ("whitespace", r"\s+", " ")
_MAX_LINE = 64 << 20


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier (never pasted unquoted into SQL text)."""
    return '"' + str(name).replace('"', '""') + '"'


@dataclass(frozen=True)
class ShortRow:
    """A data row with fewer fields than the header (kept out of the table)."""

    pos: int
    line: str
    fields: int
    expected: int


@dataclass
class StagedSource:
    """One source read into the engine.

    Attributes
    ----------
    table : str
        Engine table with ``__pos`` and the file's columns (text for CSV).
    columns : list of str
        The file's columns in order.
    n_rows : int
        Data rows read (including short rows, which are not in ``table``).
    """

    source: SourceConfig
    table: str
    columns: list[str]
    parquet: bool
    n_rows: int
    n_bytes: int
    sha256: str
    lines: LineMap
    adjustments: list[str] = field(default_factory=list)
    short_rows: list[ShortRow] = field(default_factory=list)
    #: Where a database source came from, for the load records: ``connection`` (secret masked),
    #: ``fingerprint`` (the method) and ``rows``; empty for files.
    origin: dict = field(default_factory=dict)
    #: Parquet columns whose stored times are instants (UTC) where the engine's type does not say so (Spark's
    #: ``TIMESTAMP``, which Ibis types as naive).
    instants: frozenset = frozenset()


# ----------------------------------------------------------------------------- files


def normalise_encoding(source: SourceConfig) -> tuple[str, bool]:
    """(Python codec name, whether a Korean alias was read as cp949)."""
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


def _open_bytes(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else open(path, "rb")  # read-only: inputs are never modified


def _hash_file(path: Path) -> tuple[int, str, bool]:
    """(bytes, sha256, gzip?) in one streaming pass."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(2)
        h.update(head)
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return path.stat().st_size, h.hexdigest(), head == b"\x1f\x8b"


def _check_file(source: SourceConfig) -> None:
    path = source.path
    if not path.exists():
        raise DataSourceError(
            f"source {source.name!r} (table {source.table}) points at {path}, which does not exist. "
            "Fix `path:` in the config (relative paths are read from the config's folder; "
            "${DATA_ROOT} is the shared data folder, set with ECRM_DATA_ROOT)."
        )
    if path.is_dir():
        raise DataSourceError(f"source {source.name!r} points at {path}, which is a folder; give the file's path.")
    if path.stat().st_size == 0:
        raise DataSourceError(
            f"{path.name} (source {source.name!r}, {path}) is empty (0 bytes). Re-export the file or remove the source."
        )


def _suggest_encodings(path: Path, gz: bool, declared: str) -> list[str]:
    out = []
    for enc in ("utf-8", "cp949", "cp1252", "latin-1"):
        if codecs.lookup(enc).name == codecs.lookup(declared).name:
            continue
        dec = codecs.getincrementaldecoder(enc)()
        try:
            with _open_bytes(path, gz) as fh:
                for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
                    dec.decode(chunk)
                dec.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        out.append(enc)
    return out


def _decoding_error(source: SourceConfig, gz: bool, encoding: str) -> DataSourceError | None:
    """The first byte that does not decode, as a message with line and suggestions (error path only)."""
    dec = codecs.getincrementaldecoder(encoding)()
    offset, lines, tail = 0, 0, b""
    with _open_bytes(source.path, gz) as fh:
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                data = tail + chunk
                pos = len(tail) + e.start  # within data
                line = lines - tail.count(b"\n") + data.count(b"\n", 0, pos) + 1
                line_start = data.rfind(b"\n", 0, pos) + 1
                bad = data[pos: pos + min(4, max(1, e.end - e.start))]
                where = offset - len(tail) + pos
                col = pos - line_start + 1 if line_start > 0 or lines == 0 else None
                candidates = _suggest_encodings(source.path, gz, encoding)
                hint = (
                    f"The whole file decodes as {', '.join(candidates)}: set `encoding: {candidates[0]}` for source "
                    f"{source.name!r} if that is how it was written (Korean files are usually cp949, also called EUC-KR)."
                    if candidates
                    else "No common encoding decodes it (utf-8, cp949, cp1252); check that the file is really text."
                )
                at = f"at byte {col} of that line " if col else ""
                return DataSourceError(
                    f"{source.path.name} (source {source.name!r}): cannot decode line {line} as {encoding}: "
                    f"byte(s) 0x{bad.hex()} {at}(offset {where} in the file) are not valid {encoding}. {hint}"
                )
            lines += chunk.count(b"\n")
            offset += len(chunk)
            tail = chunk[-4096:]
    return None


def _transcode(source: SourceConfig, gz: bool, encoding: str, out: Path) -> None:
    """Stream a file in ``encoding`` to UTF-8 (for DuckDB, which reads utf-8 and latin-1 only)."""
    with _open_bytes(source.path, gz) as raw, open(out, "wb") as dst:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            dst.writelines(chunk.encode("utf-8") for chunk in iter(lambda: text.read(CHUNK_BYTES // 2), ""))
        except UnicodeDecodeError:
            err = _decoding_error(source, gz, encoding)
            raise err if err else DataSourceError(f"{source.path.name}: cannot decode as {encoding}") from None


# ----------------------------------------------------------------------------- header


def _unique_names(names: list[str]) -> list[str]:
    """Header names as pandas makes them: empty -> ``Unnamed: i``, repeats -> ``name.1``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        n = n if n != "" else f"Unnamed: {i}"
        base = n
        while n in seen:
            seen[base] += 1
            n = f"{base}.{seen[base]}"
        seen.setdefault(n, 0)
        out.append(n)
    return out


def _read_header(path: Path, encoding: str, source: SourceConfig) -> tuple[list[str], int, int]:
    """(field names of the first non-blank record after skip_rows, blank lines before it, its physical lines).

    Reads only the start of the file (already UTF-8 or latin-1 here).
    """
    with open(path, "rb") as fh:
        data = fh.read(1 << 20)
    text = data.decode(encoding, errors="replace")
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    i = source.skip_rows
    blank = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
        blank += 1
    if i >= len(lines):
        raise DataSourceError(
            f"{source.path.name} (source {source.name!r}) has no content"
            + (f" after skipping {source.skip_rows} line(s)" if source.skip_rows else "")
            + ": it holds only blank lines. Check that the path points at the right file."
        )
    if source.delimiter in _WHITESPACE:
        return lines[i].split(), blank, 1
    record, used = "", 0
    for line in lines[i:]:
        record += line
        used += 1
        if record.count('"') % 2 == 0:
            break
    row = next(csv.reader(io.StringIO(record), delimiter=_delimiter(source)), [])
    return row, blank, used


def _delimiter(source: SourceConfig) -> str:
    return "\t" if source.delimiter in ("\\t", "tab") else source.delimiter


# ----------------------------------------------------------------------------- staging


def stage_source(con, source: SourceConfig, index: int, work: Path) -> StagedSource:
    """Read one source into the engine as table ``src_<index>``.

    Parameters
    ----------
    con : ibis DuckDB backend
    source : SourceConfig
    index : int
        Position of the source in the config (names the engine tables).
    work : Path
        Folder for temporary files (transcoded copies).

    Raises
    ------
    DataSourceError
        Missing, empty, undecodable or malformed file, or no data rows; for a
        database source, a server that cannot be reached or a failing query.
    """
    if source.database is not None:
        from ecrm_lib.data.dbsource import stage_database

        return stage_database(con, source, index)
    _check_file(source)
    n_bytes, sha, gz = _hash_file(source.path)
    if source.format == "parquet":
        return _stage_parquet(con, source, index, n_bytes, sha)
    encoding, korean = normalise_encoding(source)
    adjustments = [f"file read as cp949, the superset of the declared {source.encoding}"] if korean else []
    path, duck_enc = source.path, _DUCKDB_ENCODINGS.get(encoding)
    if gz:
        try:
            with gzip.open(source.path, "rb") as fh:
                first = fh.read(1)
        except (OSError, EOFError, zlib.error) as e:
            raise DataSourceError(f"{source.path.name} (source {source.name!r}) is a damaged gzip file: {e}") from None
        if not first:
            raise DataSourceError(f"{source.path.name} (source {source.name!r}) is empty once decompressed (0 bytes).")
    if duck_enc is None or gz:
        # one streaming pass to plain UTF-8: DuckDB then reads it like any file (line numbers unchanged)
        path = work / f"source_{index}.csv"
        if duck_enc is None:
            _transcode(source, gz, encoding, path)
        else:
            with gzip.open(source.path, "rb") as src, open(path, "wb") as dst:
                try:
                    shutil.copyfileobj(src, dst, CHUNK_BYTES)
                except (OSError, EOFError, zlib.error) as e:
                    raise DataSourceError(
                        f"{source.path.name} (source {source.name!r}) is a damaged gzip file: {e}") from None
        duck_enc = "utf-8" if duck_enc is None else duck_enc
    py_enc = "utf-8" if duck_enc == "utf-8" else "latin-1"
    header, blank_before, header_lines = _read_header(path, py_enc, source)
    if source.header:
        names = list(source.names) if source.names else _unique_names([str(h) for h in header])
    else:
        names = list(source.names or ())
        header_lines = 0
    first_line = source.skip_rows + blank_before + header_lines + 1
    reader = _Reader(con, source, index, path, duck_enc, names, source.skip_rows + blank_before, header_lines,
                     first_line, encoding, gz)
    if source.delimiter in _WHITESPACE:
        return reader.stage_whitespace(n_bytes, sha, adjustments)
    return reader.stage_delimited(n_bytes, sha, adjustments)


def _stage_parquet(con, source: SourceConfig, index: int, n_bytes: int, sha: str) -> StagedSource:
    table = f"src_{index}"
    if getattr(con, "name", "") == "pyspark":
        return _stage_parquet_spark(con, source, table, n_bytes, sha)
    try:
        con.raw_sql(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number AS __pos FROM read_parquet({sql_string(source.path)}, file_row_number = true)"
        )
        n = con.raw_sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        columns = [c for c in con.table(table).columns if c != "__pos"]
    except duckdb.Error as e:  # DuckDB raises several types for a file that is not Parquet
        raise DataSourceError(f"{source.path.name} (source {source.name!r}) is not a readable Parquet file: "
                              f"{str(e).splitlines()[0]}") from None
    if n == 0:
        raise DataSourceError(f"{source.path.name} (source {source.name!r}) has columns but no rows.")
    return StagedSource(source, table, columns, True, int(n), n_bytes, sha, LineMap.parquet())


def _stage_parquet_spark(con, source: SourceConfig, table: str, n_bytes: int, sha: str) -> StagedSource:
    """A Parquet file as Spark view ``table``: its rows numbered from 0 in file order (``_metadata.row_index``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(source.path)
    except (OSError, pa.ArrowException) as e:
        raise DataSourceError(f"{source.path.name} (source {source.name!r}) is not a readable Parquet file: "
                              f"{str(e).splitlines()[0]}") from None
    if "__pos" in schema.names:
        raise DataSourceError(f"{source.path.name} (source {source.name!r}) has a column named __pos, which the "
                              "loader uses for row numbers; rename it in the file.")
    path = str(source.path.resolve()).replace("`", "``")
    con.raw_sql(f"CREATE OR REPLACE TEMPORARY VIEW {table} AS "
                f"SELECT *, _metadata.row_index AS __pos FROM parquet.`{path}`")
    n = int(con.raw_sql(f"SELECT count(*) FROM {table}").collect()[0][0])
    if n == 0:
        raise DataSourceError(f"{source.path.name} (source {source.name!r}) has columns but no rows.")
    instants = frozenset(f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.tz is not None)
    return StagedSource(source, table, list(schema.names), True, n, n_bytes, sha, LineMap.parquet(),
                        instants=instants)


class _Reader:
    def __init__(self, con, source, index, path, duck_enc, names, skip, header_lines, first_line, encoding, gz):
        self.con, self.source, self.index, self.path = con, source, index, path
        self.duck_enc, self.names, self.skip, self.header_lines = duck_enc, names, skip, header_lines
        self.first_line, self.encoding, self.gz = first_line, encoding, gz
        self.name = source.path.name
        self.table = f"src_{index}"

    def _options(self, columns: dict[str, str], header: bool, delim: str, quote: str, skip: int, **extra) -> str:
        cols = "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in columns.items()) + "}"
        opts = {
            "columns": cols, "header": "true" if header else "false", "delim": sql_string(delim),
            "quote": sql_string(quote), "escape": sql_string(quote), "skip": str(skip), "auto_detect": "false",
            "encoding": sql_string(self.duck_enc), "max_line_size": str(_MAX_LINE), **extra,
        }
        return f"read_csv({sql_string(self.path)}, " + ", ".join(f"{k} = {v}" for k, v in opts.items()) + ")"

    def _where(self) -> str:
        return f"{self.name} (source {self.source.name!r})"

    def _engine_error(self, e: Exception) -> DataSourceError:
        msg = str(e)
        if "unicode" in msg.lower() or "encod" in msg.lower():
            err = _decoding_error(self.source, self.gz, self.encoding)
            if err is not None:
                return err
        return DataSourceError(f"{self._where()} is not a readable CSV file: {msg.splitlines()[0] if msg else e}")

    # ------------------------------------------------------------------ delimited
    def stage_delimited(self, n_bytes, sha, adjustments) -> StagedSource:
        src = self.source
        if not self.names:
            raise DataSourceError(f"{self._where()} has no header fields.")
        raw, rej = f"raw_{self.index}", f"rejects_{self.index}"
        read = self._options(
            {n: "VARCHAR" for n in self.names}, self.header_lines > 0, _delimiter(src), '"', self.skip,
            strict_mode="true", null_padding="false", ignore_errors="true", store_rejects="true",
            rejects_table=sql_string(rej), rejects_scan=sql_string(f"rejects_scan_{self.index}"),
        )
        try:
            self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {read}")
            rejects = self.con.raw_sql(
                f"SELECT min(line), min(line_byte_position), any_value(error_type), any_value(csv_line), "
                f"max(column_idx) FROM {rej} GROUP BY line ORDER BY 1").fetchall()
        except duckdb.Error as e:  # a file DuckDB cannot read at all
            raise self._engine_error(e) from None
        n_acc = int(self.con.raw_sql(f"SELECT count(*) FROM {raw}").fetchall()[0][0])
        lines = LineMap.csv(self.con, self, n_acc)
        short: list[tuple[int, int]] = []  # (byte offset, fields)
        expected = len(self.names)
        what = "header" if self.header_lines else "names list"
        for _line, byte_pos, kind, text, _col in rejects:
            text = text or ""
            if kind in ("INVALID ENCODING", "INVALID UNICODE"):
                err = _decoding_error(self.source, self.gz, self.encoding)
                raise err or DataSourceError(f"{self._where()}: a line is not valid {self.encoding}")
            if kind == "MISSING COLUMNS" and not text.strip():
                continue  # a line of spaces: a blank line, as pandas skips it
            line = lines.line_at_byte(int(byte_pos))
            if kind == "TOO MANY COLUMNS":
                fields = _count_fields(text, _delimiter(src))
                raise DataSourceError(
                    f"{self._where()}, line {line}: {fields} fields where the {what} has {expected}. Usually a value "
                    f"contains the delimiter {src.delimiter!r} without quotes: quote that value, or check `delimiter:`."
                )
            if kind == "UNQUOTED VALUE":
                raise DataSourceError(
                    f"{self._where()}, line {lines.line_at_byte(int(byte_pos) + _leading_newlines(text))}: a quoted "
                    "value opens there and is never closed (the file ends inside it). Close the quote, or double any "
                    "quote character inside a value (\"\")."
                )
            if kind == "MISSING COLUMNS":
                short.append((int(byte_pos), _count_fields(text, _delimiter(src))))
                continue
            raise DataSourceError(f"{self._where()}, line {line}: {kind.lower()}: {text.strip()[:80]!r}.")
        short_rows: list[ShortRow] = []
        lines.n_rows = n_acc + len(short)
        if short:
            positions = lines.data_rows_at_bytes([b for b, _ in short])
            labels = lines.labels(np.asarray(positions))
            short_rows = [ShortRow(int(p), label, f, expected) for p, label, (_, f) in zip(positions, labels, short)]
            offsets = f"offsets_{self.index}"
            starts = sorted(p - i for i, p in enumerate(sorted(positions)))
            values = ", ".join(f"({s}, {i + 1})" for i, s in enumerate(starts))
            self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {offsets} AS SELECT * FROM (VALUES {values}) v(acc, k)")
            pos = f"(rowid + coalesce((SELECT max(k) FROM {offsets} o WHERE o.acc <= r.rowid), 0))"
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {self.table} AS SELECT {pos} AS __pos, r.* FROM {raw} r")
        else:
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {self.table} AS SELECT rowid AS __pos, * FROM {raw}")
        n_rows = n_acc + len(short_rows)
        if n_rows == 0:
            raise DataSourceError(
                f"{self._where()} has a header line but no data rows. "
                "Check that the export finished, or remove the source from the config."
            )
        lines.n_rows = n_rows
        return StagedSource(src, self.table, list(self.names), False, n_rows, n_bytes, sha, lines, adjustments,
                            short_rows)

    # ------------------------------------------------------------------ whitespace
    def stage_whitespace(self, n_bytes, sha, adjustments) -> StagedSource:
        """Lines read whole by DuckDB, split on runs of white space in the engine (blank lines skipped)."""
        raw = f"raw_{self.index}"
        read = self._options({"line": "VARCHAR"}, False, "\x01", "", self.skip, strict_mode="false",
                             null_padding="true")
        expected = len(self.names)
        parts = "regexp_split_to_array(trim(line, ' \t\r\n\x0b\x0c'), '[ \t\r\x0b\x0c]+')"
        try:
            self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {raw}_lines AS SELECT line FROM {read}")
        except duckdb.Error as e:
            raise self._engine_error(e) from None
        self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT rowid AS __phys, {parts} AS f FROM {raw}_lines")
        # data rows: non-blank lines after the header line
        start = self.header_lines
        self.con.raw_sql(
            f"CREATE OR REPLACE TEMP TABLE {raw}_rows AS SELECT (row_number() OVER (ORDER BY __phys)) - 1 AS __pos, "
            f"__phys + {self.skip + 1} AS __line, f FROM (SELECT * FROM {raw} WHERE f <> [''] AND f IS NOT NULL "
            f"ORDER BY __phys OFFSET {start})")
        long = self.con.raw_sql(
            f"SELECT __line, len(f) FROM {raw}_rows WHERE len(f) > {expected} ORDER BY __pos LIMIT 1").fetchall()
        what = "header" if self.header_lines else "names list"
        if long:
            raise DataSourceError(
                f"{self._where()}, line {long[0][0]}: {long[0][1]} fields where the {what} has {expected}. "
                "Check `delimiter:` (whitespace splits on every run of spaces and tabs)."
            )
        shorts = self.con.raw_sql(
            f"SELECT __pos, __line, len(f) FROM {raw}_rows WHERE len(f) < {expected} ORDER BY __pos").fetchall()
        cols = ", ".join(f"f[{i + 1}] AS {sql_name(n)}" for i, n in enumerate(self.names))
        self.con.raw_sql(
            f"CREATE OR REPLACE TEMP VIEW {self.table} AS SELECT __pos, {cols} FROM {raw}_rows "
            f"WHERE len(f) = {expected}")
        n_rows = int(self.con.raw_sql(f"SELECT count(*) FROM {raw}_rows").fetchall()[0][0])
        if n_rows == 0:
            raise DataSourceError(
                f"{self._where()} has a header line but no data rows. "
                "Check that the export finished, or remove the source from the config."
            )
        lines = LineMap.lookup(self.con, f"{raw}_rows", n_rows)
        short_rows = [ShortRow(int(p), str(line), int(k), expected) for p, line, k in shorts]
        return StagedSource(self.source, self.table, list(self.names), False, n_rows, n_bytes, sha, lines,
                            adjustments, short_rows)


def _count_fields(text: str, delimiter: str) -> int:
    text = text.rstrip("\r\n")
    try:
        return len(next(csv.reader(io.StringIO(text), delimiter=delimiter), []))
    except csv.Error:
        return text.count(delimiter) + 1


def _leading_newlines(text: str) -> int:
    return len(text) - len(text.lstrip("\r\n"))


# ----------------------------------------------------------------------------- line numbers


class LineMap:
    """Physical line labels of data rows (``"12"``) or Parquet rows (``"row 12"``)."""

    def __init__(self, kind: str, con=None, reader: _Reader | None = None, n_rows: int = 0, table: str | None = None):
        self.kind = kind
        self.con = con
        self.reader = reader
        self.n_rows = n_rows
        self.table = table
        self._clean: bool | None = None

    @classmethod
    def parquet(cls) -> LineMap:
        return cls("parquet")

    @classmethod
    def csv(cls, con, reader: _Reader, n_rows: int) -> LineMap:
        return cls("csv", con, reader, n_rows)

    @classmethod
    def lookup(cls, con, table: str, n_rows: int) -> LineMap:
        return cls("lookup", con, None, n_rows, table)

    # ------------------------------------------------------------------ public
    def labels(self, positions) -> list[str]:
        """Labels of 0-based data rows (in the order given)."""
        pos = np.asarray(positions, dtype=np.int64)
        if pos.size == 0:
            return []
        if self.kind == "parquet":
            return [f"row {p + 1}" for p in pos]
        if self.kind == "lookup":
            return self._lookup(pos)
        if self.clean:
            return [str(self.reader.first_line + p) for p in pos]
        lines = self._scan_lines(pos)
        if lines is None:
            return [f"data row {p + 1}" for p in pos]
        return [str(x) for x in lines]

    def line_at_byte(self, offset: int) -> int:
        """Physical line holding a byte offset of the (UTF-8) file read by the engine."""
        count = 0
        with open(self.reader.path, "rb") as fh:
            left = offset
            while left > 0:
                chunk = fh.read(min(CHUNK_BYTES, left))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                left -= len(chunk)
        return count + 1

    def data_rows_at_bytes(self, offsets: list[int]) -> list[int]:
        """0-based data rows whose logical line holds each byte offset (malformed rows; one scan)."""
        want = np.asarray(sorted(offsets), dtype=np.int64)
        out: dict[int, int] = {}
        for first_row, starts, _phys in self._logical_rows():
            if not starts.size:
                continue
            hit = want[(want >= starts[0])]
            idx = np.searchsorted(starts, hit, side="right") - 1
            for b, i in zip(hit, idx):
                if i >= 0:
                    out[int(b)] = first_row + int(i)
        return [out.get(int(b), -1) for b in offsets]

    @property
    def clean(self) -> bool:
        """True when every data row is one line and no line is blank (checked once, in the engine)."""
        if self._clean is None:
            r = self.reader
            read = r._options({"l": "VARCHAR"}, False, "\x01", "", 0, strict_mode="false", null_padding="true",
                              ignore_errors="true")
            lines = int(self.con.raw_sql(f"SELECT count(*) FROM {read}").fetchall()[0][0])
            self._clean = lines == r.first_line - 1 + self.n_rows
        return self._clean

    # ------------------------------------------------------------------ helpers
    def _lookup(self, pos: np.ndarray) -> list[str]:
        import pandas as pd

        q = pd.DataFrame({"p": pos})
        self.con.con.register("__wanted", q)
        try:
            got = dict(self.con.con.execute(
                f"SELECT __pos, __line FROM {self.table} WHERE __pos IN (SELECT p FROM __wanted)").fetchall())
        finally:
            self.con.con.unregister("__wanted")
        return [str(got.get(int(p), f"data row {p + 1}")) for p in pos]

    def _logical_rows(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Per chunk: (first data row, start byte of each data row, physical line of each data row).

        One vectorised pass over the bytes: a line break inside quotes does not
        end a row, lines of white space alone are blank (skipped, as pandas did).
        """
        r = self.reader
        to_skip = r.source.skip_rows  # logical lines skipped whatever they hold
        header = 1 if r.header_lines else 0  # then the first non-blank line is the header
        in_quote, offset, phys_base = False, 0, 1
        carry_start, carry_phys, carry_text = 0, 1, False  # the line that runs on from the last chunk
        data_row = 0
        with open(r.path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK_BYTES)
                last = not chunk
                if last:
                    if not carry_text:
                        break
                    ends, starts, phys, has = (np.asarray([offset]), np.asarray([carry_start]),
                                               np.asarray([carry_phys]), np.asarray([True]))
                else:
                    arr = np.frombuffer(chunk, dtype=np.uint8)
                    nl = np.flatnonzero(arr == 10)
                    quotes = np.flatnonzero(arr == 34)
                    parity = (np.searchsorted(quotes, nl) + int(in_quote)) % 2
                    ends_local = nl[parity == 0]
                    text_pos = np.flatnonzero(~np.isin(arr, (9, 10, 13, 32)))
                    starts_local = np.concatenate(([0], ends_local[:-1] + 1)) if ends_local.size else ends_local
                    n_text = np.searchsorted(text_pos, ends_local) - np.searchsorted(text_pos, starts_local)
                    has = n_text > 0
                    if has.size:
                        has[0] = has[0] or carry_text
                    phys = phys_base + np.searchsorted(nl, starts_local, side="left")
                    starts = offset + starts_local
                    if starts.size:
                        starts[0], phys[0] = carry_start, carry_phys
                    ends = offset + ends_local
                    # the unfinished line carries on into the next chunk
                    tail_from = int(ends_local[-1]) + 1 if ends_local.size else 0
                    if ends_local.size:
                        carry_start = offset + tail_from
                        carry_phys = phys_base + int(np.searchsorted(nl, tail_from, side="left"))
                        carry_text = bool(np.searchsorted(text_pos, tail_from) < text_pos.size)
                    else:
                        carry_text = carry_text or bool(text_pos.size)
                    in_quote = bool((quotes.size + int(in_quote)) % 2)
                    phys_base += int(nl.size)
                    offset += len(chunk)
                keep = np.ones(ends.size, dtype=bool)
                if to_skip:
                    k = min(to_skip, ends.size)
                    keep[:k] = False
                    to_skip -= k
                keep &= has
                if header and keep.any():
                    keep[np.flatnonzero(keep)[0]] = False
                    header = 0
                if keep.any():
                    n = int(keep.sum())
                    yield data_row, starts[keep].astype(np.int64), phys[keep].astype(np.int64)
                    data_row += n
                if last:
                    break

    def _scan_lines(self, pos: np.ndarray) -> np.ndarray | None:
        order = np.argsort(pos, kind="stable")
        sorted_pos = pos[order]
        out = np.full(pos.size, -1, dtype=np.int64)
        total = 0
        for first_row, _starts, phys in self._logical_rows():
            lo = np.searchsorted(sorted_pos, first_row)
            hi = np.searchsorted(sorted_pos, first_row + phys.size)
            if hi > lo:
                out[order[lo:hi]] = phys[sorted_pos[lo:hi] - first_row]
            total = first_row + phys.size
        if total != self.n_rows or (out < 0).any():
            return None  # an unusual dialect: report data-row numbers instead
        return out


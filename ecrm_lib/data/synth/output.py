"""Writing: tables chunk after chunk (:class:`TableWriter`, CSV or Parquet with fixed schemas), timestamps,
rounding of floats for stable files, and the dataset's ``config.yaml``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecrm_lib.data.synth.arrays import Window

__all__ = ["TableWriter", "PARQUET_SCHEMAS", "table_writer", "timestamps", "frame", "round_sig", "history_text",
           "config_text"]


def timestamps(start: dt.date, secs: np.ndarray) -> np.ndarray:
    """Naive local timestamps (datetime64[s]) from seconds after the start of the window's first day."""
    base = np.datetime64(start.isoformat(), "s")
    return base + np.asarray(secs, dtype=np.int64).astype("timedelta64[s]")


def frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame whose text columns stay plain object arrays (no conversion to Arrow strings: faster to build and write)."""
    n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray | pd.Series))
    out = {}
    for k, v in columns.items():
        if isinstance(v, str):
            v = np.full(n, v, dtype=object)
        if isinstance(v, np.ndarray) and v.dtype.kind in "OU":
            v = pd.Series(v.astype(object), dtype=object)
        out[k] = v
    return pd.DataFrame(out)


def round_sig(x: np.ndarray, digits: int = 8) -> np.ndarray:
    """Round to ``digits`` significant digits, so written files do not depend on the last bits of a float."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    nz = np.isfinite(x) & (x != 0)
    e = np.floor(np.log10(np.abs(x[nz]))).astype(np.int64) - (digits - 1)
    v = x[nz]
    up = e < 0
    res = np.empty_like(v)
    res[up] = np.round(v[up] * 10.0 ** (-e[up])) / 10.0 ** (-e[up])
    res[~up] = np.round(v[~up] / 10.0 ** e[~up]) * 10.0 ** e[~up]
    out[nz] = res
    return out


class TableWriter:
    """Writes one table chunk after chunk into one file: CSV (header with the first chunk, then appended) or
    Parquet (one row group or more per chunk, under a fixed schema so that every chunk has the same types).

    Parameters
    ----------
    path : pathlib.Path
        File to write (replaced).
    fmt : {"csv", "parquet"}
    schema : pyarrow.Schema, optional
        Column types for Parquet; required for Parquet.
    """

    def __init__(self, path: Path, fmt: str, schema: pa.Schema | None = None) -> None:
        if fmt == "parquet" and schema is None:
            raise ValueError(f"{path}: a Parquet table needs a schema")
        self.path, self.fmt, self.schema = Path(path), fmt, schema
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._started = False

    def write(self, df: pd.DataFrame) -> None:
        """Append the rows of ``df`` (columns in the file's order)."""
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self.schema)
            self._parquet.write_table(pa.Table.from_pandas(df, schema=self.schema, preserve_index=False))
        else:
            df.to_csv(self.path, mode="a" if self._started else "w", header=not self._started, index=False,
                      lineterminator="\n", encoding="utf-8")
        self._started = True
        self.rows += len(df)

    def close(self) -> Path:
        """Finish the file (an empty Parquet file still gets its schema); returns its path."""
        if self.fmt == "parquet" and self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, self.schema)
        if self._parquet is not None:
            self._parquet.close()
        return self.path


_TS = pa.timestamp("ms")  # Parquet has no seconds unit: pyarrow stores naive seconds as milliseconds
_S, _I = pa.string(), pa.int64()
PARQUET_SCHEMAS = {
    "accounts": pa.schema([("account_id", _S), ("channel", _S), ("name", _S), ("email", _S), ("phone", _S),
                           ("postcode", _S), ("created_at", _TS)]),
    "transactions": pa.schema([("transaction_id", _S), ("account_id", _S), ("timestamp", _TS), ("amount", _I),
                               ("quantity", _I), ("channel", _S)]),
    "contacts": pa.schema([("account_id", _S), ("timestamp", _TS), ("channel", _S), ("direction", _S),
                           ("purpose", _S), ("duration_min", pa.float64())]),
    "channel_costs": pa.schema([("channel", _S), ("purpose", _S), ("cost_per_contact", _I)]),
    "feedback": pa.schema([("response_id", _S), ("account_id", _S), ("timestamp", _TS), ("channel", _S),
                           ("score", _I), ("score_max", _I), ("text", _S)]),
    "campaigns": pa.schema([("account_id", _S), ("campaign_id", _S), ("arm", _S), ("response", _I), ("revenue", _I),
                            ("assigned_at", _TS)]),
}


def table_writer(out: Path, table: str, fmt: str) -> TableWriter:
    """The writer of a data table (``accounts.csv`` or ``accounts.parquet`` ...) in ``out``."""
    ext = "parquet" if fmt == "parquet" else "csv"
    return TableWriter(out / f"{table}.{ext}", fmt, PARQUET_SCHEMAS.get(table))


def history_text(window: Window) -> str:
    """The config's ``history_as_of``: 26 weeks before the end, when the window leaves a year before that."""
    earlier = window.end - dt.timedelta(weeks=26)
    if (earlier - window.start).days < 365:
        return ""
    return ("# The run before this one (26 weeks earlier, before the campaign): `ecrm run` publishes it first,\n"
            "# so the feedback loop can measure what happened to the customers that run selected.\n"
            f"history_as_of: [{earlier.isoformat()}]\n")


ECONOMICS_TEXT = (
    "# What a sale and a contact are worth. ASSUMED figures for this synthetic retailer (the data does not\n"
    "# hold them): a margin of 30 % of revenue (the same 0.3 the customer-value report uses for CLV), and an\n"
    "# offer cost of 300 KRW per contacted customer (a 5,000 KRW coupon redeemed by about 6 % of those who\n"
    "# get it, the treatment arm's response rate). Replace them with your own; a key left out reads \"not\n"
    "# available\" on the pages, never an assumed value.\n"
    "economics:\n"
    "  margin: 0.30\n"
    "  offer_cost: 300\n"
)
"""The config's ``economics:`` section: assumed margin and offer cost, stated as assumptions."""


def language_text(languages: Sequence[str] | None) -> str:
    """The config's ``language:`` line (with its comment), or nothing.

    >>> print(language_text(["ko", "en"]), end="")
    # Report languages: Korean pages first (beside the index), English ones in en/; each page links the other.
    language: [ko, en]
    """
    if not languages:
        return ""
    main = {"ko": "Korean", "en": "English"}
    first, *others = list(languages)
    comment = (f"# Report languages: {main.get(first, first)} pages first (beside the index)"
               + "".join(f", {main.get(o, o)} ones in {o}/" for o in others) + "; each page links the other.\n")
    return comment + f"language: [{', '.join(languages)}]\n"


def config_text(window: Window, fmt: str, seed: int, n_persons: int, campaign_arm: str = "control",
                languages: Sequence[str] | None = None) -> str:
    """The ``config.yaml`` that maps the written files (``.csv`` or ``.parquet``) onto the canonical tables
    (with ``language:`` when ``languages`` are given)."""
    ext = "parquet" if fmt == "parquet" else "csv"
    date_fmt = "" if fmt == "parquet" else '    date_format: "%Y-%m-%d %H:%M:%S"\n'
    def src(name, table, cols, extra=""):
        mapping = ", ".join(f"{k}: {v}" for k, v in cols.items())
        return (f"  - name: {name}\n    table: {table}\n    path: {name}.{ext}\n" + (date_fmt if table != "channel_costs" else "")
                + f"    columns: {{{mapping}}}\n" + extra)
    same = lambda *c: {x: x for x in c}  # noqa: E731
    return (
        "# Embedded default data: synthetic, written by ecrm_lib.data.synth.generate\n"
        f"# (seed {seed}, {n_persons} persons, {window.start} .. {window.end}). The truth is in truth/.\n"
        "name: default\n"
        "description: Synthetic Korean multichannel retailer (channels store, phone, mail, email, web and app)\n"
        "currency: KRW\n"
        "timezone: Asia/Seoul\n"
        + language_text(languages)
        + f"as_of: {window.end.isoformat()}\n"
        + history_text(window)
        + "policies:\n"
        "  duplicates: drop\n"
        "  nonpositive_amounts: set_aside\n"
        "  after_as_of: set_aside\n"
        "  missing_keys: set_aside\n"
        + ECONOMICS_TEXT
        + "channel_groups:\n"
        "  traditional: [store, phone, mail]\n"
        "  internet: [email, web, app]\n"
        "sources:\n"
        + src("accounts", "accounts", same("account_id", "channel", "name", "email", "phone", "postcode", "created_at"))
        + src("transactions", "transactions", same("account_id", "timestamp", "amount", "channel", "transaction_id", "quantity"))
        + src("contacts", "contacts", same("account_id", "timestamp", "channel", "direction", "purpose", "duration_min"))
        + src("channel_costs", "channel_costs", same("channel", "purpose", "cost_per_contact"))
        + src("feedback", "feedback", same("account_id", "timestamp", "score", "score_max", "text", "channel"))
        + src("campaigns", "campaigns", same("account_id", "campaign_id", "arm", "response", "revenue", "assigned_at"),
              f"    control_arms: [{campaign_arm}]\n")
    )

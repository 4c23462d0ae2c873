"""Sniffing a data file: its format, encoding, delimiter, header, and what each column looks like.

Used by ``ecrm init`` (:mod:`ecrm_lib.run.init_config`) to draft a config from a user's files.
Only the first bytes and a sample of rows are read (``sample_rows``). Nothing here decides which
canonical table a file is: :func:`sniff_file` describes the file and :func:`column_roles` scores
each column for each canonical column it could fill, with the evidence.

Examples
--------
>>> import io, pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "sales.csv").write_bytes("고객번호;판매일시;금액\\nA1;2025-01-02 10:00:00;1200\\n".encode("cp949"))
>>> s = sniff_file(d / "sales.csv")
>>> s.encoding, s.delimiter, s.header, list(s.sample.columns)
('cp949', ';', True, ['고객번호', '판매일시', '금액'])
>>> guess_date_format(pd.Series(["2025-01-02 10:00:00", "2025-02-03 11:30:00"]))
('%Y-%m-%d %H:%M:%S', 1.0)
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import ConfigError

__all__ = [
    "DATE_FORMATS",
    "ColumnGuess",
    "SniffedFile",
    "column_roles",
    "guess_date_format",
    "name_tokens",
    "sniff_file",
]

#: Date formats tried, most specific first (the first that parses >= 95 % of a sample wins).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d", "%Y%m%d%H%M%S",
)

_ENCODINGS = ("utf-8", "cp949", "latin-1")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 256 * 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")
_KNOWN_CHANNELS = {"store", "shop", "offline", "online", "web", "website", "app", "mobile", "email", "e-mail", "mail",
                   "phone", "call", "callcenter", "call_center", "telephone", "cellular", "sms", "social", "paid_search",
                   "organic_search", "direct", "referral", "display", "catalog", "kiosk", "chat", "매장", "전화", "웹",
                   "앱", "우편", "이메일", "온라인", "오프라인", "unknown", "other", "other_publicities", "email_marketing"}


@dataclass
class SniffedFile:
    """What :func:`sniff_file` found.

    Attributes
    ----------
    path : Path
    format : {"csv", "parquet"}
    encoding : str or None
        ``utf-8``, ``cp949`` (Korean Windows; also reads EUC-KR) or ``latin-1``; None for Parquet.
    delimiter : str or None
        ``,``, ``;``, a tab, ``|`` or ``whitespace``; None for Parquet.
    header : bool
        Whether the first line names the columns (when False, the columns are ``col1``, ``col2``, ...).
    sample : pandas.DataFrame
        The first rows, every value as text (missing as NA).
    notes : list of str
        What was assumed and why (one sentence each).
    """

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    header: bool
    sample: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class ColumnGuess:
    """One source column's best canonical column.

    Attributes
    ----------
    column : str
        Source column.
    canonical : str
        Canonical column it looks like (``account_id``, ``timestamp``, ``amount``, ...).
    score : float
        0-1: how sure (name and values together).
    evidence : str
        Why, in a few words.
    date_format : str or None
        For time columns: the format that parsed the sample.
    """

    column: str
    canonical: str
    score: float
    evidence: str
    date_format: str | None = None


def _open_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as f:
        return f.read(_SNIFF_BYTES)


def _decode(raw: bytes) -> tuple[str, str]:
    for enc in _ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as e:
            if enc != "latin-1" and e.start >= len(raw) - 4:  # a character cut at the end of the sniffed block
                try:
                    return raw[: e.start].decode(enc), enc
                except UnicodeDecodeError:
                    continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _looks_numeric(value: str) -> bool:
    try:
        float(value.replace(",", ""))
        return True
    except ValueError:
        return False


def _delimiter(lines: list[str]) -> str:
    best, best_score = None, 0.0
    for d in _DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=d))) for ln in lines]
        if counts[0] < 2:
            continue
        consistent = np.mean([c == counts[0] for c in counts])
        score = consistent * np.log(counts[0])
        if consistent >= 0.9 and score > best_score:
            best, best_score = d, score
    if best is not None:
        return best
    counts = [len(ln.split()) for ln in lines]
    if counts[0] >= 2 and np.mean([c == counts[0] for c in counts]) >= 0.9:
        return "whitespace"
    return ","


def _split(line: str, delimiter: str) -> list[str]:
    return line.split() if delimiter == "whitespace" else next(csv.reader([line], delimiter=delimiter))


def sniff_file(path: str | Path, sample_rows: int = 2000) -> SniffedFile:
    """Read the start of a CSV / text (optionally ``.gz``) or Parquet file and describe it.

    Raises
    ------
    ConfigError
        The file does not exist, is empty or has a format this cannot read (Excel: save as CSV).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file.")
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        batch = next(pf.iter_batches(batch_size=sample_rows), None)
        sample = batch.to_pandas() if batch is not None else pd.DataFrame(columns=pf.schema_arrow.names)
        sample = sample.astype("string")
        return SniffedFile(path, "parquet", None, None, True, sample, ["Parquet: column names and types come from the file."])
    if suffixes and suffixes[-1] in (".xlsx", ".xls"):
        raise ConfigError(f"{path}: Excel files are not read; save the sheet as CSV (UTF-8) and pass that file.")
    raw = _open_bytes(path)
    if not raw.strip():
        raise ConfigError(f"{path}: the file is empty.")
    notes = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        notes.append("The file starts with a UTF-8 byte-order mark.")
    text, encoding = _decode(raw)
    if encoding == "cp949":
        notes.append("Not UTF-8 but valid CP949 (Korean Windows / EUC-KR): encoding cp949.")
    elif encoding == "latin-1":
        notes.append("Neither UTF-8 nor CP949: read as latin-1; check accented letters in the sample.")
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    if len(raw) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    delimiter = _delimiter(lines)
    first = _split(lines[0], delimiter)
    rest = [_split(ln, delimiter) for ln in lines[1:6]]
    first_numeric = sum(_looks_numeric(v) for v in first)
    rest_numeric = np.mean([sum(_looks_numeric(v) for v in r) for r in rest]) if rest else 0
    header = not (first_numeric > 0 and first_numeric >= rest_numeric) and len(set(first)) == len(first)
    if not header:
        notes.append("The first line holds data, not names: header: false, and the columns are named col1, col2, ... "
                     "(rename them under `names:`).")
    sep = r"\s+" if delimiter == "whitespace" else delimiter
    kwargs = dict(sep=sep, dtype=str, nrows=sample_rows, keep_default_na=False, na_values=[""],
                  encoding=encoding, engine="python" if delimiter == "whitespace" else "c")
    if not header:
        kwargs.update(header=None, names=[f"col{i}" for i in range(1, len(first) + 1)])
    compression = "gzip" if suffixes and suffixes[-1] == ".gz" else None
    try:
        sample = pd.read_csv(path, compression=compression, **kwargs).astype("string")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        sep_name = "white space" if delimiter == "whitespace" else repr(delimiter)
        raise ConfigError(
            f"{path}: not readable as a delimited text file with {encoding} and delimiter {sep_name} "
            f"({' '.join(str(exc).split())}). Give ecrm init the CSV/text or Parquet export itself "
            "(not a spreadsheet, archive or binary file), or save it again as CSV with one header row."
        ) from None
    sample.columns = [str(c).lstrip("\ufeff") for c in sample.columns]
    return SniffedFile(path, "csv", encoding, delimiter, header, sample, notes)


def guess_date_format(values: pd.Series) -> tuple[str | None, float]:
    """The first of :data:`DATE_FORMATS` that parses at least 95 % of the non-missing values, and that share.

    8-digit numbers parse as ``%Y%m%d`` only between 1900 and 2100. Returns ``(None, best share)``
    when no format reaches 95 %.
    """
    v = values.dropna().astype(str).str.strip()
    v = v[v != ""].head(500)
    if v.empty:
        return None, 0.0
    best = 0.0
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(v, format=fmt, errors="coerce")
        share = float(parsed.notna().mean())
        if fmt.startswith("%Y%m%d") and share > 0:
            ok = parsed.dropna()
            share *= float(((ok.dt.year >= 1900) & (ok.dt.year <= 2100)).mean())
        if share >= 0.95:
            return fmt, share
        best = max(best, share)
    return None, best


def name_tokens(name: str) -> list[str]:
    """Lower-case words of a column name: ``customerID`` -> ["customer", "id"], ``Dt_Customer`` -> ["dt", "customer"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t for t in re.split(r"[^0-9A-Za-z가-힣]+", spaced.lower()) if t]


# canonical column -> (words in the name that point to it, weight). Korean words match inside a token.
_NAME_HINTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "account_id": (("customer", "cust", "client", "member", "user", "account", "buyer", "shopper", "mql", "고객", "회원"),
                   ("id", "no", "nr", "number", "key", "code", "번호", "아이디")),
    "transaction_id": (("invoice", "order", "transaction", "txn", "receipt", "basket", "ticket", "주문", "영수증"),),
    "timestamp": (("date", "time", "timestamp", "datetime", "dt", "at", "day", "when", "일시", "일자", "날짜", "시각"),),
    "created_at": (("created", "signup", "registered", "joined", "opened", "since", "가입"),),
    "amount": (("amount", "amt", "total", "revenue", "sales", "value", "dollar", "dollars", "spend", "paid", "금액", "매출",
                "결제"),),
    "price": (("price", "unitprice", "단가"),),
    "quantity": (("quantity", "qty", "units", "cds", "items", "수량"),),
    "channel": (("channel", "origin", "source", "medium", "contact", "via", "채널", "경로"),),
    "email": (("email", "mail", "이메일"),),
    "phone": (("phone", "tel", "mobile", "cell", "전화", "휴대폰", "연락처"),),
    "name": (("name", "이름", "성명", "고객명"),),
    "postcode": (("zip", "postcode", "postal", "우편번호"),),
    "direction": (("direction", "inout", "inbound", "outbound"),),
    "purpose": (("purpose", "reason", "topic", "category", "목적", "사유"),),
    "duration_min": (("duration", "minutes", "mins", "secs", "seconds", "통화시간"),),
    "score": (("score", "rating", "nps", "stars", "satisfaction", "csat", "평점", "점수", "만족도"),),
    "text": (("text", "review", "comment", "feedback", "body", "message", "내용", "리뷰", "의견"),),
    "campaign_id": (("campaign", "캠페인"),),
    "arm": (("arm", "group", "treatment", "variant", "segment", "cell"),),
    "response": (("response", "responded", "conversion", "converted", "convert", "accepted", "y", "반응", "응답"),),
    "revenue": (("revenue", "spend", "sales", "amount"),),
    "cost_per_contact": (("cost", "비용"),),
    "assigned_at": (("assigned", "assignment", "sent", "배정", "발송"),),
    "score_max": (("max", "scale", "maximum"),),
}


def _name_score(canonical: str, tokens: list[str], raw: str) -> float:
    hints = _NAME_HINTS.get(canonical, ())
    joined = "".join(tokens)
    if canonical == "account_id":
        who, key = hints
        has_who = any(t in who or any(w in t for w in who if not w.isascii()) for t in tokens)
        has_key = any(t in key for t in tokens) or raw.endswith("ID") or raw.endswith("Id")
        if has_who and has_key:
            return 1.0
        if tokens in (["id"], ["key"]) or (has_who and len(tokens) == 1):
            return 0.8
        return 0.3 if has_key else 0.0
    words = hints[0] if hints else ()
    if tokens and all(t in words for t in tokens):
        return 1.0
    if any(t in words for t in tokens):
        return 0.9
    if any(w in joined for w in words if not w.isascii() or len(w) >= 5):
        return 0.7
    return 0.0


def _numeric(v: pd.Series) -> pd.Series:
    return pd.to_numeric(v.str.replace(",", "", regex=False).str.strip(), errors="coerce")


def column_roles(sample: pd.DataFrame) -> list[ColumnGuess]:
    """Every plausible (source column, canonical column) pair with a score, best first.

    The score mixes the column's name (e.g. "InvoiceDate" -> timestamp) and its values (dates
    that parse, numbers, e-mail or phone patterns, few distinct values for a channel, long text).
    """
    out: list[ColumnGuess] = []
    n = max(len(sample), 1)
    for col in sample.columns:
        v = sample[col].dropna()
        v = v[v.str.strip() != ""]
        filled = len(v) / n
        tokens = name_tokens(col)
        generic = re.fullmatch(r"col\d+|unnamed.*|\d+", str(col).strip().lower()) is not None
        if v.empty:
            continue
        num = _numeric(v)
        numeric = float(num.notna().mean())
        integer = numeric > 0.98 and bool((num.dropna() == num.dropna().round()).all())
        distinct = v.nunique()
        unique_share = distinct / len(v)
        mean_len = float(v.str.len().mean())
        fmt, date_share = (None, 0.0)
        if not (integer and num.dropna().abs().max() < 1e7) or (integer and v.str.len().eq(8).all()):
            fmt, date_share = guess_date_format(v)
        email_share = float(v.str.match(_EMAIL).mean())
        phone_share = float(v.str.match(_PHONE).mean()) if numeric < 0.98 or v.str.len().mean() >= 9 else 0.0
        lower = v.str.strip().str.lower()
        binary = set(lower.unique()) <= {"0", "1", "yes", "no", "true", "false", "y", "n", "1.0", "0.0"}
        channel_share = float(lower.isin(_KNOWN_CHANNELS).mean())

        def add(canonical, value_score, evidence, weight_name=0.6, date_format=None):
            if generic:  # a column without a real name (no header): the values decide
                weight_name = 0.0
            name = _name_score(canonical, tokens, str(col))
            score = weight_name * name + (1 - weight_name) * value_score
            if score >= 0.3:
                out.append(ColumnGuess(str(col), canonical, round(min(score, 1.0), 2), evidence, date_format))

        idish = unique_share if filled > 0.95 else unique_share * 0.5
        if integer and numeric == 1.0 and len(num) > 2:
            first = float(num.iloc[0])
            if first in (0.0, 1.0) and (num.to_numpy() == np.arange(first, first + len(num))).all():
                idish = -1.0  # 0, 1, 2, ... or 1, 2, 3, ...: a row number written by a tool, not an id
        add("account_id", min(1.0, 0.4 + 0.6 * idish) if mean_len < 40 and not fmt and idish >= 0 else 0.0,
            f"name; {unique_share:.0%} distinct values")
        add("transaction_id", 0.6 if mean_len < 40 and not fmt and unique_share > 0.2 and idish >= 0 else 0.0,
            "name; identifier-like values")
        if fmt:
            add("timestamp", date_share, f"dates in format {fmt}", weight_name=0.4, date_format=fmt)
            add("created_at", date_share, f"dates in format {fmt}", weight_name=0.7, date_format=fmt)
            add("assigned_at", date_share * 0.5, f"dates in format {fmt}", weight_name=0.7, date_format=fmt)
        if numeric > 0.95 and not fmt and integer and distinct <= 3:
            add("score_max", 0.4, "one or few whole numbers", weight_name=0.7)
        if numeric > 0.95 and not fmt and distinct > 1:
            decimals = bool((num.dropna() != num.dropna().round()).any())
            nonzero = float((num.dropna() != 0).mean())
            add("amount", (0.7 if decimals else 0.5) * nonzero, "numbers" + (" with decimals" if decimals else ""))
            add("price", 0.6 if decimals else 0.4, "numbers")
            add("revenue", 0.5, "numbers")
            add("cost_per_contact", 0.5, "numbers")
            add("duration_min", 0.4, "numbers")
            if integer:
                add("quantity", 0.5, "whole numbers")
            if integer and 0 <= num.min() and num.max() <= 10 and distinct <= 11:
                add("score", 0.7, f"whole numbers {int(num.min())}-{int(num.max())}")
        if binary and distinct <= 2:
            add("response", 0.8, "two values (0/1, yes/no)", weight_name=0.5)
        if email_share > 0.5:
            add("email", email_share, f"{email_share:.0%} look like e-mail addresses", weight_name=0.3)
        if phone_share > 0.5 and email_share < 0.1 and not fmt:
            add("phone", phone_share * 0.9, f"{phone_share:.0%} look like phone numbers", weight_name=0.4)
        if numeric < 0.5 and distinct <= 30 and not fmt:
            add("channel", 0.4 + 0.6 * channel_share, f"{distinct} distinct values" +
                (f", {channel_share:.0%} known channel names" if channel_share else ""), weight_name=0.5)
            control = bool(lower.str.contains(r"control|no[ _-]?e?-?mail|hold[ -]?out|baseline|treatment", regex=True).any())
            add("arm", 1.0 if control else 0.4, f"{distinct} distinct values" + (", one reads like a control arm" if control else ""))
            add("purpose", 0.4, f"{distinct} distinct values")
            add("campaign_id", 0.4, f"{distinct} distinct values")
            if set(lower.unique()) <= {"inbound", "outbound", "in", "out"}:
                add("direction", 1.0, "inbound / outbound values", weight_name=0.2)
        if numeric < 0.5 and mean_len >= 30 and unique_share > 0.5:
            add("text", min(1.0, mean_len / 80), f"free text (mean {mean_len:.0f} characters)", weight_name=0.5)
        if mean_len <= 10 and not fmt:
            add("postcode", 0.5, "short codes", weight_name=0.7)
        if numeric < 0.5 and mean_len < 40 and unique_share > 0.3:
            add("name", 0.4, "text values")

    out.sort(key=lambda g: -g.score)
    return out

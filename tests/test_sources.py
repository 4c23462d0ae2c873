"""Loading, mapping, policies and validation (`ecrm_lib.data.load`) on small files.

The bad files under ``tests/fixtures/sources/`` are hand-written (see its
README); the rest are written to ``tmp_path`` by each test. Every expected
figure below is counted from the file text written in the test.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ecrm_lib.core.config import load_config
from ecrm_lib.run.context import RunContext, RunLayout, prepare_run_folder
from ecrm_lib.core.errors import ConfigError, DataSourceError, DataValidationError
from ecrm_lib.core.schema import PANDAS_DTYPES, TABLES
from ecrm_lib.data.load import LoadResult, load_sources

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
TX_COLUMNS = {"account_id": "cust_id", "timestamp": "sold_at", "amount": "amount"}


def _config(tmp_path: Path, sources: list[dict], **top):
    cfg = {"name": "test", "currency": "KRW", "timezone": "Asia/Seoul", **top, "sources": sources}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_config(path)


def _tx(path, name="pos", **extra) -> dict:
    src = {"name": name, "table": "transactions", "path": str(path), "columns": dict(TX_COLUMNS)}
    src.update(extra)
    return src


def _write(tmp_path: Path, name: str, text: str, encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(tmp_path, sources, as_of=None, **top) -> LoadResult:
    return load_sources(_config(tmp_path, sources, **top), as_of=as_of)


@pytest.fixture(scope="module", autouse=True)
def fixtures_unchanged():
    """No test may modify a fixture file: hash them all before and after the module."""
    before = {p.name: _sha(p) for p in FIXTURES.iterdir()}
    yield
    after = {p.name: _sha(p) for p in FIXTURES.iterdir()}
    assert after == before


# ----------------------------------------------------------------------------- file faults


def test_missing_file_names_file_and_source(tmp_path):
    cfg = _config(tmp_path, [_tx(tmp_path / "nowhere.csv", name="till")])
    with pytest.raises(DataSourceError) as e:
        load_sources(cfg)
    msg = str(e.value)
    assert "nowhere.csv" in msg and "'till'" in msg and "does not exist" in msg


def test_empty_file(tmp_path):
    with pytest.raises(DataSourceError, match=r"empty\.csv.*empty \(0 bytes\)"):
        _load(tmp_path, [_tx(FIXTURES / "empty.csv")])


def test_header_only_file(tmp_path):
    with pytest.raises(DataSourceError, match=r"header_only\.csv.*no data rows"):
        _load(tmp_path, [_tx(FIXTURES / "header_only.csv")])


def test_malformed_csv_reports_physical_line(tmp_path):
    # line 6 has 5 fields; a quoted value spans lines 3-4, so pandas itself would say "line 5"
    with pytest.raises(DataSourceError) as e:
        _load(tmp_path, [_tx(FIXTURES / "malformed.csv")])
    msg = str(e.value)
    assert "malformed.csv" in msg and "line 6" in msg and "5 fields" in msg and "has 4" in msg


def test_extra_field_in_first_row_is_not_dropped_silently(tmp_path):
    # pandas would take the first column as the index, or drop the extra field with a warning
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,1,9\nB,2024-01-02,2\n")
    with pytest.raises(DataSourceError, match=r"t\.csv.*line 2: 4 fields where the header has 3"):
        _load(tmp_path, [_tx(p)])


def test_unclosed_quote_names_its_line(tmp_path):
    p = _write(tmp_path, "t.csv", 'cust_id,sold_at,amount\nA,2024-01-01,1\n\nB,"2024-01-02,2\nC,2024-01-03,3\n')
    with pytest.raises(DataSourceError, match=r"t\.csv.*line 4: a quoted value opens there and is never closed"):
        _load(tmp_path, [_tx(p)])


def test_unknown_column_lists_columns_and_suggests(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_no,sold_at,amount\nA,2024-01-01,1\n")
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)])
    msg = str(e.value)
    assert "'cust_id'" in msg and "did you mean 'cust_no'" in msg
    assert "['cust_no', 'sold_at', 'amount']" in msg
    assert e.value.failures[["file", "line", "column"]].values.tolist() == [["t.csv", "", "cust_id"]]


def test_unknown_column_in_expression(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,Qty,Price\nA,2024-01-01,1,2\n")
    src = _tx(p, computed={"amount": "Quantity * Price"})
    del src["columns"]["amount"]
    with pytest.raises(DataValidationError, match=r"'Quantity'.*did you mean 'Qty'"):
        _load(tmp_path, [src])


def test_missing_column_does_not_stop_lazy_validation(tmp_path):
    """Issue 13 item 10: a missing mapped column is listed with the row problems of this and other files."""
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,total\nA,2024-01-01,1\nB,yesterday,2\n")
    q = _write(tmp_path, "c.csv", "cust_id,at,channel,direction\nA,2024-01-01,web,sideways\n")
    contacts = {"name": "calls", "table": "contacts", "path": str(q),
                "columns": {"account_id": "cust_id", "timestamp": "at", "channel": "channel", "direction": "direction"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p), contacts])
    f = e.value.failures
    got = sorted(zip(f["file"], f["line"], f["column"]))
    assert got == [("c.csv", "2", "direction"), ("t.csv", "", "amount"), ("t.csv", "3", "sold_at")]
    assert "mapped column 'amount' not in the file" in str(e.value)


def test_cp949_declared_euc_kr_loads_and_is_recorded(tmp_path):
    path = FIXTURES / "korean_cp949.csv"
    src = _tx(path, encoding="euc-kr")
    res = _load(tmp_path, [src, dict(src, name="second", encoding="ks_c_5601-1987")])
    tx = res.tables["transactions"]
    assert tx["account_id"].tolist() == ["K001", "K002", "K003"] * 2
    adj = res.adjustments[res.adjustments["adjustment"].str.contains("cp949")]
    assert adj["source"].tolist() == ["pos", "second"] and adj["rows"].tolist() == [3, 3]


def test_cp949_customers_keep_korean_text(tmp_path):
    src = {"name": "crm", "table": "customers", "path": str(FIXTURES / "korean_cp949.csv"),
           "encoding": "cp949", "columns": {"account_id": "cust_id"}}
    res = _load(tmp_path, [src])
    assert res.tables["customers"]["name"].tolist() == ["김똠이", "이철수", "박햏순"]
    assert res.adjustments.empty  # declared as cp949: nothing to record


def test_cp949_declared_utf8_names_line_and_suggests(tmp_path):
    with pytest.raises(DataSourceError) as e:
        _load(tmp_path, [_tx(FIXTURES / "korean_cp949.csv")])
    msg = str(e.value)
    assert "korean_cp949.csv" in msg and "line 2" in msg and "utf-8" in msg
    assert "encoding: cp949" in msg


def test_gzip_and_whitespace_without_header(tmp_path):
    text = "# two lines of preamble\n# more\n 001  0001 19970101  2   29.33\n 001\t0001 19970102 1 0.50\n\n 002 0002 19970103 1 5.00\n"
    p = tmp_path / "cd.txt.gz"
    p.write_bytes(gzip.compress(text.encode()))
    src = {"name": "cd", "table": "transactions", "path": str(p), "delimiter": "whitespace", "header": False,
           "skip_rows": 2, "names": ["master", "sample", "date", "cds", "dollars"], "date_format": "%Y%m%d",
           "columns": {"account_id": "sample", "timestamp": "date", "amount": "dollars", "quantity": "cds"}}
    res = _load(tmp_path, [src], timezone="UTC")
    tx = res.tables["transactions"]
    assert tx["account_id"].tolist() == ["0001", "0001", "0002"]
    assert tx["amount"].tolist() == [29.33, 0.5, 5.0]
    assert tx["timestamp"].tolist() == list(pd.to_datetime(["1997-01-01", "1997-01-02", "1997-01-03"], utc=True))
    assert res.as_of == dt.date(1997, 1, 3)
    assert res.files["bytes"].tolist() == [p.stat().st_size]
    assert res.files["sha256"].tolist() == [hashlib.sha256(p.read_bytes()).hexdigest()]


# ----------------------------------------------------------------------------- values


def test_unparseable_values_listed_with_line_column_value(tmp_path):
    src = _tx(FIXTURES / "bad_values.csv", skip_rows=2)
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [src], currency="GBP")
    f = e.value.failures
    got = sorted(zip(f["line"], f["column"], f["value"]))
    assert got == [("10", "amount", "n/a"), ("10", "sold_at", "2024-13-45 10:00:00"),
                   ("5", "amount", "12..5"), ("7", "sold_at", "yesterday")]
    assert set(f["file"]) == {"bad_values.csv"}
    assert f["fix"].str.len().min() > 10
    assert "line 5" in str(e.value) and "'12..5'" in str(e.value)


def test_thousands_and_currency_accepted_and_counted(tmp_path):
    p = _write(tmp_path, "t.csv", 'cust_id,sold_at,amount\nA,2024-01-01,"1,250.00"\nB,2024-01-02,£7.50\nC,2024-01-03,3\n')
    res = _load(tmp_path, [_tx(p)], currency="GBP")
    assert res.tables["transactions"]["amount"].tolist() == [1250.0, 7.5, 3.0]
    adj = res.adjustments.set_index("adjustment")["rows"]
    assert adj[adj.index.str.contains("thousands separators")].tolist() == [2]


def test_currency_symbol_of_another_currency_is_a_failure(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,£7.50\nB,2024-01-02,1\n")
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)], currency="KRW")
    assert e.value.failures["value"].tolist() == ["£7.50"]


def test_decimal_comma_is_not_guessed(tmp_path):
    p = _write(tmp_path, "t.csv", 'cust_id,sold_at,amount\nA,2024-01-01,"1,5"\nB,2024-01-02,"1,500"\n')
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)])
    assert sorted(e.value.failures["value"]) == ["1,5", "1,500"]


def test_ids_keep_leading_zeros(tmp_path):
    src = _tx(FIXTURES / "leading_zeros.csv")
    src["columns"]["transaction_id"] = "order_no"
    res = _load(tmp_path, [src])
    tx = res.tables["transactions"]
    assert tx["account_id"].tolist() == ["007", "0070", "7"]
    assert tx["transaction_id"].tolist() == ["00012", "00013", "00014"]


def test_mixed_naive_and_aware_timestamps(tmp_path):
    res = _load(tmp_path, [_tx(FIXTURES / "mixed_tz.csv")])
    ts = res.tables["transactions"]["timestamp"]
    assert str(ts.dtype) == "datetime64[us, UTC]"
    expected = [pd.Timestamp(v, tz="UTC") for v in
                ("2024-03-01 00:00", "2024-03-01 00:00", "2024-03-02 00:30", "2024-03-03 14:59:59")]
    assert ts.tolist() == expected
    adj = res.adjustments
    row = adj[adj["adjustment"].str.contains("Asia/Seoul") & adj["adjustment"].str.contains("mixes")]
    assert row["rows"].tolist() == [2]


def test_dst_gap_and_overlap_counted(tmp_path):
    # Europe/London: 2024-03-31 01:30 does not exist, 2024-10-27 01:30 happens twice
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-03-31 01:30,1\nA,2024-10-27 01:30,2\nA,2024-06-01 12:00,3\n")
    res = _load(tmp_path, [_tx(p)], timezone="Europe/London")
    ts = res.tables["transactions"]["timestamp"].tolist()
    assert ts[0] == pd.Timestamp("2024-03-31 01:00", tz="UTC")  # moved forward to 02:00 BST
    assert ts[1] == pd.Timestamp("2024-10-27 00:30", tz="UTC")  # the first 01:30 (BST)
    assert ts[2] == pd.Timestamp("2024-06-01 11:00", tz="UTC")
    texts = " | ".join(res.adjustments["adjustment"])
    assert "do not exist" in texts and "ambiguous" in texts


def test_dtypes_and_canonical_columns(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount,qty\nA,2024-01-01,1.5,2\n")
    src = _tx(p)
    src["columns"]["quantity"] = "qty"
    res = _load(tmp_path, [src])
    tx = res.tables["transactions"]
    spec = TABLES["transactions"]
    assert list(tx.columns) == spec.column_names()
    for c in spec.columns:
        assert str(tx[c.name].dtype) == str(pd.Series([], dtype=PANDAS_DTYPES[c.kind]).dtype), c.name


# ----------------------------------------------------------------------------- validation


def test_schema_violations_all_listed_first_20_shown(tmp_path):
    rows = "\n".join(f"C{i},2024-01-01 10:00,phone,sideways,-{i + 1}" for i in range(13))
    p = _write(tmp_path, "c.csv", "cust_id,at,channel,direction,minutes\n" + rows + "\n")
    src = {"name": "calls", "table": "contacts", "path": str(p),
           "columns": {"account_id": "cust_id", "timestamp": "at", "channel": "channel",
                       "direction": "direction", "duration_min": "minutes"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [src])
    f = e.value.failures
    assert len(f) == 26  # 13 bad directions + 13 negative durations
    assert sorted(f["column"].unique()) == ["direction", "minutes"]
    assert sorted(f["line"].astype(int).unique()) == list(range(2, 15))
    msg = str(e.value)
    assert msg.startswith("26 problem(s)")
    assert msg.count("\n  - ") == 20 and "and 6 more" in msg


def test_pre_checks_and_schema_violations_in_one_error(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,x\nB,2024-01-02,1\n")
    q = _write(tmp_path, "c.csv", "cust_id,at,channel\nA,2024-01-01,\n")
    contacts = {"name": "calls", "table": "contacts", "path": str(q),
                "columns": {"account_id": "cust_id", "timestamp": "at", "channel": "channel"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p), contacts])
    f = e.value.failures
    assert sorted(zip(f["file"], f["line"], f["column"])) == [("c.csv", "2", "channel"), ("t.csv", "2", "amount")]


def test_accounts_repeated_id_with_different_content_is_an_error(tmp_path):
    p = _write(tmp_path, "a.csv", "id,ch,zip\nS1,store,111\nS1,store,111\nS2,store,222\nS2,store,333\n")
    src = {"name": "acc", "table": "accounts", "path": str(p),
           "columns": {"account_id": "id", "channel": "ch", "postcode": "zip"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [src])
    f = e.value.failures
    # the exact duplicate S1 was dropped (policy drop); S2 with two postcodes is a failure on both lines
    assert sorted(f["line"]) == ["4", "5"] and set(f["value"]) == {"S2"}


def test_references_to_unknown_accounts_are_counted_not_dropped(tmp_path):
    a = _write(tmp_path, "a.csv", "id,ch\nS1,store\nS2,store\n")
    t = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nS1,2024-01-01,1\nS9,2024-01-02,2\nS8,2024-01-03,3\n")
    acc = {"name": "acc", "table": "accounts", "path": str(a), "columns": {"account_id": "id", "channel": "ch"}}
    res = _load(tmp_path, [acc, _tx(t)])
    assert len(res.tables["transactions"]) == 3
    adj = res.adjustments[res.adjustments["adjustment"].str.contains("not in the accounts table")]
    assert adj[["source", "rows"]].values.tolist() == [["pos", 2]]


# ----------------------------------------------------------------------------- policies


DUP_TEXT = "cust_id,sold_at,amount\nA,2024-01-01,1\nA,2024-01-01,1\nA,2024-01-01,1\nB,2024-01-02,2\n"


@pytest.mark.parametrize("policy", ["drop", "keep", "error"])
def test_duplicates_policy(tmp_path, policy):
    p = _write(tmp_path, "t.csv", DUP_TEXT)
    cfg = dict(policies={"duplicates": policy})
    if policy == "error":
        with pytest.raises(DataValidationError) as e:
            _load(tmp_path, [_tx(p)], **cfg)
        f = e.value.failures
        assert f["line"].tolist() == ["3", "4"]
        assert set(f["problem"]) == {"exact duplicate of line 2"}
        return
    res = _load(tmp_path, [_tx(p)], **cfg)
    kept = len(res.tables["transactions"])
    if policy == "drop":
        assert kept == 2
        assert res.set_aside[["line", "reason"]].values.tolist() == [
            ["3", "exact duplicate of an earlier row"], ["4", "exact duplicate of an earlier row"]]
        assert res.summary[["rows_read", "rows_set_aside", "rows_kept"]].values.tolist() == [[4, 2, 2]]
    else:
        assert kept == 4 and res.set_aside.empty
        assert res.adjustments["rows"].tolist() == [2]


NONPOS_TEXT = "cust_id,sold_at,amount\nA,2024-01-01,10\nA,2024-01-02,0\nB,2024-01-03,-5\nB,2024-01-04,7\n"


@pytest.mark.parametrize("policy", ["set_aside", "keep", "error"])
def test_nonpositive_amounts_policy(tmp_path, policy):
    p = _write(tmp_path, "t.csv", NONPOS_TEXT)
    cfg = dict(policies={"nonpositive_amounts": policy})
    if policy == "error":
        with pytest.raises(DataValidationError) as e:
            _load(tmp_path, [_tx(p)], **cfg)
        assert e.value.failures[["line", "value"]].values.tolist() == [["3", "0"], ["4", "-5"]]
        return
    res = _load(tmp_path, [_tx(p)], **cfg)
    amounts = res.tables["transactions"]["amount"].tolist()
    if policy == "set_aside":
        assert amounts == [10.0, 7.0]
        assert res.set_aside_counts()[["reason", "rows"]].values.tolist() == [["amount <= 0", 2]]
        assert res.set_aside["line"].tolist() == ["3", "4"]
    else:
        assert amounts == [10.0, 0.0, -5.0, 7.0]
        assert res.adjustments["rows"].tolist() == [2]


@pytest.mark.parametrize("policy", ["set_aside", "error"])
def test_missing_keys_policy(tmp_path, policy):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,1\n,2024-01-02,2\n   ,2024-01-03,3\n")
    cfg = dict(policies={"missing_keys": policy})
    if policy == "error":
        with pytest.raises(DataValidationError) as e:
            _load(tmp_path, [_tx(p)], **cfg)
        assert e.value.failures["line"].tolist() == ["3", "4"]
        assert "missing_keys" in e.value.failures["fix"].iloc[0]
        return
    res = _load(tmp_path, [_tx(p)], **cfg)
    assert res.tables["transactions"]["account_id"].tolist() == ["A"]
    assert res.set_aside[["line", "reason"]].values.tolist() == [["3", "missing account_id"], ["4", "missing account_id"]]


@pytest.mark.parametrize("policy", ["set_aside", "error"])
def test_after_as_of_policy(tmp_path, policy):
    # as_of 2024-01-31 in Asia/Seoul ends at 2024-01-31 15:00 UTC
    p = _write(tmp_path, "t.csv",
               "cust_id,sold_at,amount\nA,2024-01-31 23:59:59,1\nA,2024-02-01 00:00:00,2\nB,2024-01-31T15:30:00Z,3\n")
    cfg = dict(policies={"after_as_of": policy})
    if policy == "error":
        with pytest.raises(DataValidationError) as e:
            _load(tmp_path, [_tx(p)], as_of="2024-01-31", **cfg)
        assert e.value.failures["line"].tolist() == ["3", "4"]
        return
    res = _load(tmp_path, [_tx(p)], as_of="2024-01-31", **cfg)
    assert res.as_of == dt.date(2024, 1, 31)
    assert res.tables["transactions"]["amount"].tolist() == [1.0]
    assert set(res.set_aside["reason"]) == {"after the as-of date 2024-01-31"}


def test_as_of_from_config_and_inferred(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-05 23:30,1\nA,2024-01-06 03:00,2\n")
    # inferred: the last timestamp, as a date in the config's time zone
    assert _load(tmp_path, [_tx(p)]).as_of == dt.date(2024, 1, 6)
    # read as UTC, 2024-01-06 03:00 is still 2024-01-05 in New York
    assert _load(tmp_path, [_tx(p, timezone="UTC")], timezone="America/New_York").as_of == dt.date(2024, 1, 5)
    res = _load(tmp_path, [_tx(p)], as_of="2024-01-05")
    assert res.as_of == dt.date(2024, 1, 5) and len(res.tables["transactions"]) == 1
    assert _load(tmp_path, [_tx(p)], as_of=dt.date(2024, 2, 1)).as_of == dt.date(2024, 2, 1)


def test_set_aside_rules_in_order_then_policies(tmp_path):
    p = _write(tmp_path, "t.csv",
               "cust_id,sold_at,Invoice,Qty,Price\n"
               "A,2024-01-01,100,2,5\n"
               "A,2024-01-01,C101,-2,5\n"
               ",2024-01-02,C102,-1,5\n"
               "B,2024-01-03,103,1,0\n"
               "B,2024-01-04,104,0,3\n")
    src = {"name": "shop", "table": "transactions", "path": str(p),
           "columns": {"account_id": "cust_id", "timestamp": "sold_at", "transaction_id": "Invoice", "quantity": "Qty"},
           "computed": {"amount": "Qty * Price"},
           "set_aside": [{"when": "Invoice.str.startswith('C')", "reason": "cancelled"},
                         {"when": "Price <= 0", "reason": "free item"}]}
    res = _load(tmp_path, [src])
    tx = res.tables["transactions"]
    assert tx["amount"].tolist() == [10.0]
    assert tx["transaction_id"].tolist() == ["100"]
    assert res.set_aside[["line", "reason"]].values.tolist() == [
        ["3", "cancelled"], ["4", "missing account_id"], ["5", "free item"], ["6", "amount <= 0"]]


def test_computed_text_and_constants_and_row_numbers(tmp_path):
    p = _write(tmp_path, "r.csv", "Title,Review Text,Rating\nNice,Fits well,5\n,Too small,2\n,,3\n")
    src = {"name": "reviews", "table": "feedback", "path": str(p),
           "columns": {"account_id": "__row__", "score": "Rating"},
           "computed": {"text": "(Title.fillna('') + ' ' + `Review Text`.fillna('')).str.strip()"},
           "constants": {"score_max": 5, "channel": "web"}}
    res = _load(tmp_path, [src])
    fb = res.tables["feedback"]
    assert fb["account_id"].tolist() == ["1", "2", "3"]
    assert fb["text"].tolist()[:2] == ["Nice Fits well", "Too small"] and pd.isna(fb["text"].iloc[2])
    assert fb["score_max"].tolist() == [5.0] * 3 and fb["channel"].tolist() == ["web"] * 3
    assert fb["timestamp"].isna().all()


def test_campaign_control_arm_and_bad_response(tmp_path):
    p = _write(tmp_path, "h.csv", "segment,conversion,spend\nMens,0,0\nNo E-Mail,1,20.5\nWomens,1,3\n")
    src = {"name": "test", "table": "campaigns", "path": str(p), "control_arms": ["No E-Mail"],
           "columns": {"account_id": "__row__", "arm": "segment", "response": "conversion", "revenue": "spend"},
           "constants": {"campaign_id": "c1"}}
    res = _load(tmp_path, [src])
    camp = res.tables["campaigns"]
    assert camp["is_control"].tolist() == [False, True, False]
    assert camp["response"].tolist() == [0, 1, 1] and str(camp["response"].dtype) == "Int64"
    q = _write(tmp_path, "h2.csv", "segment,conversion,spend\nMens,2,0\nMens,0.5,0\n")
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [dict(src, path=str(q))])
    assert sorted(e.value.failures["line"]) == ["2", "3"]


def test_customers_keep_unmapped_columns_as_text(tmp_path):
    p = _write(tmp_path, "c.csv", "customerID,tenure,TotalCharges,zip\nX-1,0, ,007\nX-2,3,10.5,123\n")
    src = {"name": "crm", "table": "customers", "path": str(p), "columns": {"account_id": "customerID"}}
    res = _load(tmp_path, [src])
    cu = res.tables["customers"]
    assert list(cu.columns) == ["account_id", "tenure", "TotalCharges", "zip"]
    assert cu["zip"].tolist() == ["007", "123"]
    assert pd.isna(cu["TotalCharges"].iloc[0]) and cu["TotalCharges"].iloc[1] == "10.5"
    assert res.adjustments[["adjustment", "rows"]].values.tolist() == [
        ["TotalCharges: blank values (spaces only) read as missing", 1]]
    only = _load(tmp_path, [dict(src, extra_columns=["zip"])]).tables["customers"]
    assert list(only.columns) == ["account_id", "zip"]


def test_single_customer_loads(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nONLY,2024-05-01 10:00,12.5\n")
    res = _load(tmp_path, [_tx(p)])
    assert res.tables["transactions"]["account_id"].tolist() == ["ONLY"]
    assert res.as_of == dt.date(2024, 5, 1)


def test_all_zero_amounts_raise_clear_error(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,0\nB,2024-01-02,0.00\n,2024-01-03,0\n")
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)])
    msg = str(e.value)
    assert "every row" in msg and "set aside" in msg
    assert "amount <= 0: 2 rows" in msg and "missing account_id: 1 rows" in msg


def test_table_dated_wholly_after_as_of_is_left_out_and_counted(tmp_path):
    # an earlier run (history_as_of) precedes a campaign: its table is absent, not an error
    tx = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,5\nB,2024-03-01,7\n")
    camp = _write(tmp_path, "c.csv", "acc,cid,arm,resp,at\nA,k,t,1,2024-02-01\nB,k,control,0,2024-02-01\n")
    csrc = {"name": "camp", "table": "campaigns", "path": str(camp), "control_arms": ["control"],
            "columns": {"account_id": "acc", "campaign_id": "cid", "arm": "arm", "response": "resp", "assigned_at": "at"}}
    res = _load(tmp_path, [_tx(tx), csrc], as_of="2024-01-15")
    assert "campaigns" not in res.tables and res.tables["transactions"]["account_id"].tolist() == ["A"]
    s = res.summary.set_index("source")
    assert s.loc["camp", "rows_read"] == 2 and s.loc["camp", "rows_set_aside"] == 2 and s.loc["camp", "rows_kept"] == 0
    assert (res.set_aside["reason"] == "after the as-of date 2024-01-15").sum() == 3
    assert set(_load(tmp_path, [_tx(tx), csrc], as_of="2024-02-15").tables) == {"transactions", "campaigns"}


def test_parquet_float_ids_and_row_labels(tmp_path):
    df = pd.DataFrame({"Invoice": ["1", "2", "C3"], "Customer ID": [12346.0, np.nan, 7.0],
                       "InvoiceDate": ["2010-01-01 10:00:00", "2010-01-01 11:00:00", "2010-07-01 12:00:00"],
                       "Quantity": [2, 1, -1], "Price": [1.5, 2.0, 1.5]})
    p = tmp_path / "retail.parquet"
    df.to_parquet(p)
    before = _sha(p)
    src = {"name": "retail", "table": "transactions", "path": str(p),
           "columns": {"account_id": "Customer ID", "timestamp": "InvoiceDate", "transaction_id": "Invoice"},
           "computed": {"amount": "Quantity * Price"}, "timezone": "Europe/London"}
    res = _load(tmp_path, [src])
    tx = res.tables["transactions"]
    assert tx["account_id"].tolist() == ["12346"]
    assert tx["timestamp"].tolist() == [pd.Timestamp("2010-01-01 10:00", tz="UTC")]
    assert res.set_aside[["line", "reason"]].values.tolist() == [["row 2", "missing account_id"], ["row 3", "amount <= 0"]]
    assert _sha(p) == before


def test_expression_errors_are_config_errors(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,1\n")
    with pytest.raises(ConfigError, match="not a valid expression"):
        _load(tmp_path, [_tx(p, set_aside=[{"when": "amount <=", "reason": "x"}])])
    with pytest.raises(ConfigError, match="true/false"):
        _load(tmp_path, [_tx(p, set_aside=[{"when": "amount", "reason": "x"}])])


def test_progress_called_per_source(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,1\n")
    q = _write(tmp_path, "u.csv", "cust_id,sold_at,amount\nB,2024-01-02,2\n")
    seen = []
    res = load_sources(_config(tmp_path, [_tx(p), _tx(q, name="web")]), progress=seen.append)
    assert len(seen) == 2 and "t.csv" in seen[0] and "u.csv" in seen[1]
    # several sources feed one table in config order
    assert res.tables["transactions"]["account_id"].tolist() == ["A", "B"]
    assert res.summary["source"].tolist() == ["pos", "web"]


# ----------------------------------------------------------------------------- files untouched, saving


def test_input_files_unchanged(tmp_path):
    p = _write(tmp_path, "t.csv", DUP_TEXT)
    before = _sha(p)
    mode = p.stat().st_mode
    _load(tmp_path, [_tx(p)])
    assert _sha(p) == before and p.stat().st_mode == mode


def test_save_and_read_back_through_run_context(tmp_path):
    t = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\n007,2024-01-01 10:00,1\n007,2024-01-01 10:00,1\n008,2024-01-02,0\n")
    a = _write(tmp_path, "a.csv", "id,ch\n007,store\n")
    cfg = _config(tmp_path, [{"name": "acc", "table": "accounts", "path": str(a),
                              "columns": {"account_id": "id", "channel": "ch"}}, _tx(t)])
    res = load_sources(cfg)
    layout = prepare_run_folder(tmp_path / "run", cfg, res, previous_run=None)
    assert isinstance(layout, RunLayout)
    for name in ("load_report.csv", "set_aside.csv", "adjustments.csv", "files.csv"):
        assert (layout.load_dir / name).exists(), name
    ctx = RunContext(layout.root, "test")
    assert ctx.as_of == res.as_of
    tx = ctx.frame("transactions")
    pd.testing.assert_frame_equal(tx, res.tables["transactions"])
    assert tx["account_id"].tolist() == ["007"]
    assert ctx.load_report()["rows_set_aside"].tolist() == [0, 2]
    assert sorted(ctx.set_aside_rows()["reason"]) == ["amount <= 0", "exact duplicate of an earlier row"]
    assert ctx.input_files()["sha256"].tolist() == res.files["sha256"].tolist()
    assert set(ctx.set_aside_rows().columns) == {"source", "table", "file", "line", "reason"}


def test_load_1m_rows_quickly(tmp_path):
    """A 200,000-row file stands in for the 1M-row benchmark (measured in benchmarks/)."""
    n = 200_000
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 20_000, n)
    secs = rng.integers(0, 365 * 86400, n)
    ts = (pd.Timestamp("2023-01-01") + pd.to_timedelta(secs, unit="s")).strftime("%Y-%m-%d %H:%M:%S")
    amounts = np.round(rng.gamma(2.0, 30.0, n), 2) + 0.01
    df = pd.DataFrame({"cust_id": [f"{i:07d}" for i in ids], "sold_at": ts, "amount": amounts, "order": np.arange(n)})
    p = tmp_path / "big.csv"
    df.to_csv(p, index=False)
    import time

    t0 = time.perf_counter()
    res = _load(tmp_path, [_tx(p)])
    took = time.perf_counter() - t0
    tx = res.tables["transactions"]
    assert len(tx) == n and tx["account_id"].iloc[0] == f"{ids[0]:07d}"
    assert np.allclose(tx["amount"].to_numpy(), amounts)
    assert took < 20, f"{n} rows took {took:.1f} s"


def test_personal_data_kept_as_written_keys_trimmed(tmp_path):
    p = _write(tmp_path, "a.csv", 'id,ch,email,zip\n" S1 ",store," Kim@X.com ",06236\nS2,web,  ,\n')
    src = {"name": "acc", "table": "accounts", "path": str(p),
           "columns": {"account_id": "id", "channel": "ch", "email": "email", "postcode": "zip"}}
    res = _load(tmp_path, [src])
    acc = res.tables["accounts"]
    assert acc["account_id"].tolist() == ["S1", "S2"]
    assert acc["email"].iloc[0] == " Kim@X.com " and pd.isna(acc["email"].iloc[1])
    assert acc["postcode"].iloc[0] == "06236"
    adj = dict(zip(res.adjustments["adjustment"], res.adjustments["rows"]))
    assert adj == {"account_id (from id): leading/trailing spaces removed": 1,
                   "email: blank values (spaces only) read as missing": 1}


def test_two_customer_sources_with_different_columns(tmp_path):
    p = _write(tmp_path, "a.csv", "id,age\nA,30\n")
    q = _write(tmp_path, "b.csv", "id,region\nB,north\n")
    res = _load(tmp_path, [{"name": "one", "table": "customers", "path": str(p), "columns": {"account_id": "id"}},
                           {"name": "two", "table": "customers", "path": str(q), "columns": {"account_id": "id"}}])
    cu = res.tables["customers"]
    assert cu["account_id"].tolist() == ["A", "B"]
    assert cu["age"].tolist()[0] == "30" and pd.isna(cu["age"].iloc[1])
    assert pd.isna(cu["region"].iloc[0]) and cu["region"].iloc[1] == "north"
    res2 = None
    with pytest.raises(DataValidationError):  # the same id in two sources breaks uniqueness
        res2 = _load(tmp_path, [{"name": "one", "table": "customers", "path": str(p), "columns": {"account_id": "id"}},
                                {"name": "two", "table": "customers", "path": str(p), "columns": {"account_id": "id"}}])
    assert res2 is None


def test_header_renamed_with_names_and_mapped_is_control(tmp_path):
    p = _write(tmp_path, "c.csv", "a,b,c,d\nX,cmp,holdout,yes\nY,cmp,mail,no\n")
    src = {"name": "c", "table": "campaigns", "path": str(p), "names": ["who", "campaign", "group", "ctrl"],
           "columns": {"account_id": "who", "campaign_id": "campaign", "arm": "group", "is_control": "ctrl"},
           "constants": {"response": 0}}
    camp = _load(tmp_path, [src]).tables["campaigns"]
    assert camp["account_id"].tolist() == ["X", "Y"] and camp["is_control"].tolist() == [True, False]


def test_extra_columns_only_for_customers(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,amount\nA,2024-01-01,1\n")
    with pytest.raises(ConfigError, match="extra_columns"):
        _load(tmp_path, [_tx(p, extra_columns=["x"])])


def test_rule_on_a_column_with_a_stray_text_value(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,Qty,Price,Code\n"
                                  "A,2024-01-01,1,5,85048\nA,2024-01-02,1,x,85049\nB,2024-01-03,1,0,POST\nB,2024-01-04,1,2,POST\n")
    src = {"name": "shop", "table": "transactions", "path": str(p),
           "columns": {"account_id": "cust_id", "timestamp": "sold_at"}, "computed": {"amount": "Qty * Price"},
           "set_aside": [{"when": "Price <= 0", "reason": "free"}]}
    with pytest.raises(DataValidationError) as e:  # the rule runs; the stray value is reported, not a crash
        _load(tmp_path, [src])
    assert e.value.failures[["line", "column", "value"]].values.tolist() == [["3", "Price", "x"]]
    # a code column that is mostly numbers is still text for isin(): POST rows are matched
    ok = _write(tmp_path, "u.csv", "cust_id,sold_at,Qty,Price,Code\nA,2024-01-01,1,5,85048\nB,2024-01-04,1,2,POST\n")
    res = _load(tmp_path, [dict(src, path=str(ok), set_aside=[{"when": "Code.isin(['POST'])", "reason": "postage"}])])
    assert res.set_aside[["line", "reason"]].values.tolist() == [["3", "postage"]]


# ----------------------------------------------------------------------------- expression language (issue 13 item 14)


@pytest.mark.parametrize("text", [
    "pd.io.common.os.system('touch {mark}')",
    "__import__('os').system('touch {mark}')",
    "Qty.__class__.__mro__",
    "eval('1')",
    "(lambda: 1)()",
    "Qty[0]",
    "np.random.rand()",
    "pd.eval('Qty')",
    "Qty.str.__class__",
    "Qty.apply(print)",
    "Qty.pipe(open, '{mark}')",
    "Qty if Qty else Price",
    "[q for q in Qty]",
    "Qty and Price",
])
def test_hostile_expression_is_refused_before_anything_runs(tmp_path, text):
    mark = tmp_path / "pwned"
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,Qty,Price\nA,2024-01-01,1,2\n")
    src = _tx(tmp_path / "absent.csv", computed={"amount": text.format(mark=mark)})  # the file is never read
    del src["columns"]["amount"]
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, [src])
    msg = str(e.value)
    assert "source 'pos'" in msg and "Allowed:" in msg and "not allowed" in msg
    rule = _tx(p, set_aside=[{"when": text.format(mark=mark), "reason": "x"}])
    with pytest.raises(ConfigError, match="set_aside rule"):
        _load(tmp_path, [rule])
    assert not mark.exists()


def test_expression_language_methods(tmp_path):
    p = _write(tmp_path, "c.csv",
               "id,name,month,qty,code,when\n"
               "1, Kim ,may,2,POST,2024-01-05 10:00\n"
               "2,Lee,jun,,85048,2024-02-05 11:00\n"
               "3,,jan,3,gift_1,\n"
               "4,Park,feb,1,A1,2024-03-05 12:00\n")
    computed = {
        "year": "(2008 + (pd.to_datetime(month, format='%b').dt.month.diff() < 0).cumsum()).astype(str)",
        "nm": "name.fillna('?').str.strip().str.upper()",
        "product": "~(code.isin(['POST', 'A1']) | code.str.startswith('gift_'))",
        "total": "qty.fillna(0) * 2 + 0.5",
        "running": "qty.cumsum()",
        "length": "name.str.len()",
        "prefix": "code.str.slice(0, 2)",
        "mon": "pd.to_datetime(when).dt.month",
        "digits": "code.str.contains('^[0-9]+$')",
        "missing": "qty.isna()",
    }
    src = {"name": "cu", "table": "customers", "path": str(p), "columns": {"account_id": "id"},
           "computed": computed, "extra_columns": []}
    cu = _load(tmp_path, [src], timezone="UTC").tables["customers"]
    assert cu["year"].tolist() == ["2008", "2008", "2009", "2009"]  # the month goes back once, in file order
    assert cu["nm"].tolist() == ["KIM", "LEE", "?", "PARK"]
    assert cu["product"].tolist() == [False, True, False, False]
    assert cu["total"].tolist() == [4.5, 0.5, 6.5, 2.5]
    assert cu["running"].iloc[[0, 2, 3]].tolist() == [2, 5, 6] and pd.isna(cu["running"].iloc[1])
    assert cu["length"].iloc[[0, 1, 3]].tolist() == [5, 3, 4] and pd.isna(cu["length"].iloc[2])
    assert cu["prefix"].tolist() == ["PO", "85", "gi", "A1"]
    assert cu["mon"].iloc[[0, 1, 3]].tolist() == [1, 2, 3]
    assert cu["digits"].tolist() == [False, True, False, False]
    assert cu["missing"].tolist() == [False, True, False, False]


def test_expression_type_mismatch_is_a_config_error_naming_the_language(tmp_path):
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,Qty,Price\nA,2024-01-01,1,x\nB,2024-01-02,2,y\n")
    src = _tx(p, computed={"amount": "Qty.dt.year"})  # Qty is text or a number, never a date
    del src["columns"]["amount"]
    with pytest.raises(ConfigError, match=r"computed amount.*does not fit"):
        _load(tmp_path, [src])


# ----------------------------------------------------------------------------- bad input (issue 13 items 9 and 11)


SHORT_TEXT = ('cust_id,sold_at,amount,note\n'
              'A,2024-01-01,1,"two\nlines"\n'
              'B,2024-01-02,2,x\n'
              'C,2024-01-03\n'
              'D,2024-01-04,4,y\n')


def test_short_row_is_set_aside_with_its_line_not_padded(tmp_path):
    p = _write(tmp_path, "t.csv", SHORT_TEXT)
    res = _load(tmp_path, [_tx(p)])
    assert res.tables["transactions"]["account_id"].tolist() == ["A", "B", "D"]
    assert res.set_aside[["line", "reason"]].values.tolist() == [["5", "fewer fields than the header"]]
    assert res.summary[["rows_read", "rows_set_aside", "rows_kept"]].values.tolist() == [[4, 1, 3]]
    # the data-row numbers of the rows after it are unchanged
    fb = {"name": "fb", "table": "feedback", "path": str(p), "columns": {"account_id": "__row__", "text": "cust_id"}}
    assert _load(tmp_path, [fb]).tables["feedback"]["account_id"].tolist() == ["1", "2", "4"]


def test_short_row_under_error_policy_names_file_and_line(tmp_path):
    p = _write(tmp_path, "t.csv", SHORT_TEXT)
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)], policies={"short_rows": "error"})
    f = e.value.failures
    assert f[["file", "line", "problem"]].values.tolist() == [["t.csv", "5", "2 fields where the header has 4"]]


def test_ids_with_control_characters_are_rejected_with_line(tmp_path):
    # a quote left open in the id column swallows a line break; a tab inside a quoted channel
    p = _write(tmp_path, "c.csv", 'cust_id,at,channel\n"A\nB",2024-01-01,web\nC,2024-01-02,"we\tb"\nD,2024-01-03,web\n')
    src = {"name": "calls", "table": "contacts", "path": str(p),
           "columns": {"account_id": "cust_id", "timestamp": "at", "channel": "channel"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [src])
    f = e.value.failures
    assert f[["line", "column"]].values.tolist() == [["2", "cust_id"], ["4", "channel"]]
    assert f["problem"].str.contains("control character").all()


def test_malformed_value_deep_in_a_file_names_its_line(tmp_path, monkeypatch):
    """The line of a row after quoted line breaks, found by the streaming scan (tiny chunks: their edges count)."""
    import ecrm_lib.data.read as read

    monkeypatch.setattr(read, "CHUNK_BYTES", 7)
    rows = ['cust_id,sold_at,amount,note']
    rows += [f'A{i},2024-01-01,1,"x\n\ny"' if i % 3 == 0 else f"A{i},2024-01-01,1," for i in range(40)]
    rows[30] = "A29,2024-01-01,oops,"
    p = _write(tmp_path, "t.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [_tx(p)])
    line = 1 + sum(r.count("\n") + 1 for r in rows[:30]) + 0
    assert e.value.failures[["line", "value"]].values.tolist() == [[str(line), "oops"]]


def test_engine_memory_limit_names_the_setting(tmp_path):
    n = 300_000
    df = pd.DataFrame({"cust_id": [f"C{i % 5000:05d}" for i in range(n)], "sold_at": "2024-01-01 10:00:00",
                       "amount": np.arange(n) % 97 + 1, "note": [f"note {i} " * 4 for i in range(n)]})
    p = tmp_path / "big.csv"
    df.to_csv(p, index=False)
    from ecrm_lib.data.engine import EngineMemoryError

    with pytest.raises(EngineMemoryError) as e:
        _load(tmp_path, [_tx(p)], engine={"memory_limit": "2MB", "threads": 1})
    assert "memory_limit" in str(e.value) and "engine:" in str(e.value)


def test_ecrm_validate_refuses_a_hostile_expression(tmp_path, capsys):
    from ecrm_lib.run import cli

    mark = tmp_path / "pwned"
    p = _write(tmp_path, "t.csv", "cust_id,sold_at,Qty\nA,2024-01-01,1\n")
    src = _tx(p, set_aside=[{"when": f"pd.io.common.os.system('touch {mark}') == 0", "reason": "x"}])
    cfg = _config(tmp_path, [src])
    assert cli.main(["validate", "--config", str(cfg.path)]) == 2
    assert not mark.exists()
    assert "pd.io is not part of the expression language" in capsys.readouterr().err


def test_engine_takes_every_core_and_shares_the_memory_between_parallel_notebooks(tmp_path):
    """threads: auto gives each notebook's DuckDB the machine's cores (the critical path is mostly one notebook at a
    time); memory_limit: auto splits 15 % of the memory between the notebooks that run at once."""
    import os

    from ecrm_lib.core.config import EngineSettings
    from ecrm_lib.data.engine import connect, memory_limit_text

    con = connect(EngineSettings(), spill_dir=tmp_path / "spill", parallel=2)
    threads = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    assert int(threads) == (os.cpu_count() or 1)
    assert memory_limit_text(EngineSettings(), 2) != memory_limit_text(EngineSettings(), 1)
    con = connect(EngineSettings(threads=1), parallel=1)
    assert int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0]) == 1

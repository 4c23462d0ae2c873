"""Lazy validation across the class of missing columns (issue 13 item 10): a missing key column, a
`computed` expression or `set_aside` rule over a missing column are listed with the row problems of the
same file and of the other files, in one error."""

from __future__ import annotations

import pytest
from test_sources import _load, _tx, _write

from ecrm_lib.core.errors import DataValidationError


def test_every_missing_column_and_every_row_problem_in_one_pass(tmp_path):
    no_key = _tx(_write(tmp_path, "k.csv", "sold_at,total\n2024-01-01,1\nyesterday,2\n"), name="keyless")
    expr = _tx(_write(tmp_path, "d.csv", "cust_id,sold_at,Qty\nA,2024-01-01,1\nB,2024-13-01,2\n"), name="expr",
               computed={"amount": "Qty * Price"}, set_aside=[{"when": "Voided == 1", "reason": "voided"}])
    del expr["columns"]["amount"]
    calls = {"name": "calls", "table": "contacts", "path": str(_write(tmp_path, "c.csv", "cust_id,at,channel,direction\nA,2024-01-01,web,sideways\n")),
             "columns": {"account_id": "cust_id", "timestamp": "at", "channel": "channel", "direction": "direction"}}
    with pytest.raises(DataValidationError) as e:
        _load(tmp_path, [no_key, expr, calls])
    f = e.value.failures
    got = sorted(zip(f["file"], f["line"], f["column"]))
    assert got == [("c.csv", "2", "direction"), ("d.csv", "", "Price"), ("d.csv", "", "Voided"), ("d.csv", "3", "sold_at"),
                   ("k.csv", "", "amount"), ("k.csv", "", "cust_id"), ("k.csv", "3", "sold_at")]
    msg = str(e.value)
    assert "7 problem(s)" in msg and "set_aside rule" in msg and "mapped column 'cust_id' not in the file" in msg

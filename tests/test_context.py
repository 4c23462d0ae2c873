"""RunContext: the interactive path, products and metrics."""

from __future__ import annotations

import json
import pandas as pd
import pytest

from ecrm_lib.run import context as context_mod
from ecrm_lib.run.context import RunContext
from ecrm_lib.core.errors import EcrmError


def _write(tmp_path, with_contacts: bool):
    (tmp_path / "tx.csv").write_text("acc,ts,amt\nA1,2025-01-02 10:00:00,100\nA2,2025-01-03 11:00:00,50\n", encoding="utf-8")
    (tmp_path / "ct.csv").write_text("acc,ts,ch\nA1,2025-01-02 12:00:00,web\n", encoding="utf-8")
    contacts = (
        "  - name: ct\n    table: contacts\n    path: ct.csv\n"
        "    columns: {account_id: acc, timestamp: ts, channel: ch}\n"
    ) if with_contacts else ""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: <b>tiny/one</b>\ntimezone: Asia/Seoul\nsources:\n"
        "  - name: tx\n    table: transactions\n    path: tx.csv\n"
        "    columns: {account_id: acc, timestamp: ts, amount: amt}\n" + contacts,
        encoding="utf-8",
    )
    return cfg


def test_interactive_open_loads_config_into_a_clean_scratch_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(context_mod, "REPORTS_DIR", tmp_path / "reports")
    ctx = RunContext.open(None, notebook="nb", config=_write(tmp_path, with_contacts=True))
    assert ctx.has("contacts") and len(ctx.table("transactions")) == 2
    assert ctx.layout.root.parent == tmp_path / "reports" / "_interactive"
    assert "/" not in ctx.layout.root.name and "<" not in ctx.layout.root.name
    # the same config without contacts: the stale table must not survive
    ctx2 = RunContext.open(None, notebook="nb", config=_write(tmp_path, with_contacts=False))
    assert ctx2.layout.root == ctx.layout.root and not ctx2.has("contacts")
    with pytest.raises(EcrmError, match="not among this run's inputs"):
        ctx2.table("contacts")
    assert str(ctx2.as_of) == "2025-01-03"


def test_products_refuse_personal_data_and_metrics_are_json(tmp_path, monkeypatch):
    monkeypatch.setattr(context_mod, "REPORTS_DIR", tmp_path / "reports")
    ctx = RunContext.open(None, notebook="nb", config=_write(tmp_path, with_contacts=False))
    with pytest.raises(EcrmError, match="personal-data"):
        ctx.write_product("bad", pd.DataFrame({"customer_id": ["C1"], "email": ["a@b.com"]}))
    ctx.write_product("good", pd.DataFrame({"customer_id": ["C1"], "value": [1.5]}))
    assert ctx.read_product("nb", "good")["value"].tolist() == [1.5]
    assert ctx.read_product("nb", "missing") is None and ctx.read_product("nb", "good", previous=True) is None
    ctx.record_metric("share", float("nan"), "a share", "share")
    ctx.record_metric("when", ctx.as_of, "a date", "date")
    data = json.loads(ctx.layout.metrics("nb").read_text(encoding="utf-8"))
    assert data["metrics"]["share"]["value"] is None and data["metrics"]["when"]["value"] == "2025-01-03"
    assert ctx.metrics() == {"share": None, "when": "2025-01-03"}


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(EcrmError, match="not a prepared run folder"):
        RunContext(tmp_path, "nb")

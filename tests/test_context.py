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
    assert ctx.has("contacts") and len(ctx.frame("transactions")) == 2 and ctx.table("transactions").count().execute() == 2
    assert ctx.layout.root.parent.parent == tmp_path / "reports" / "_interactive"
    assert "<" not in ctx.layout.root.parent.name and ctx.layout.root.name == "data-end"
    # the same config without contacts: the stale table must not survive
    ctx2 = RunContext.open(None, notebook="nb", config=_write(tmp_path, with_contacts=False))
    assert ctx2.layout.root == ctx.layout.root and not ctx2.has("contacts")
    with pytest.raises(EcrmError, match="not among this run's inputs"):
        ctx2.frame("contacts")
    assert str(ctx2.as_of) == "2025-01-03"


def test_truth_table_reads_the_truth_in_the_engine_as_text(tmp_path, monkeypatch):
    monkeypatch.setattr(context_mod, "REPORTS_DIR", tmp_path / "reports")
    ctx = RunContext.open(None, notebook="churn", config=_write(tmp_path, with_contacts=False))
    assert ctx.truth_table("persons.csv") is None  # a company's own data has no truth
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "persons.csv").write_text("account_id,person_id\n007,12\nA2,12\n", encoding="utf-8")
    t = ctx.truth_table("persons.csv")
    assert all(t.schema()[c].is_string() for c in t.columns)
    assert t.order_by("account_id").to_pandas()["account_id"].tolist() == ["007", "A2"]  # ids keep their zeros
    assert t.count().execute() == 2 and ctx.truth("persons.csv", dtype=str)["account_id"].tolist() == ["007", "A2"]


def test_products_refuse_personal_data_and_metrics_are_json(tmp_path, monkeypatch):
    monkeypatch.setattr(context_mod, "REPORTS_DIR", tmp_path / "reports")
    ctx = RunContext.open(None, notebook="data_overview", config=_write(tmp_path, with_contacts=False))
    with pytest.raises(EcrmError, match="personal-data"):
        ctx.write_product("bad", pd.DataFrame({"customer_id": ["C1"], "email": ["a@b.com"]}))
    ctx.write_product("good", pd.DataFrame({"customer_id": ["C1"], "value": [1.5]}))
    assert ctx.read_product("data_overview", "good")["value"].tolist() == [1.5]
    assert ctx.read_product("data_overview", "missing") is None
    assert ctx.read_product("data_overview", "good", previous=True) is None
    ctx.record_metric("share_set_aside", float("nan"), reason="nothing was read")
    ctx.record_metric("as_of", ctx.as_of)
    data = json.loads(ctx.layout.metrics("data_overview").read_text(encoding="utf-8"))["metrics"]
    assert data["share_set_aside"]["value"] is None and data["share_set_aside"]["reason"] == "nothing was read"
    assert data["as_of"] == {"value": "2025-01-03", "unit": "date", "description": "as-of date of the run"}
    assert ctx.metrics() == {"share_set_aside": None, "as_of": "2025-01-03"}
    with pytest.raises(EcrmError, match="not in the registry entry of notebook 'data_overview'"):
        ctx.record_metric("made_up", 1)


def test_interactive_folder_is_kept_for_the_next_notebook_and_reloaded_when_the_data_change(tmp_path, monkeypatch):
    monkeypatch.setattr(context_mod, "REPORTS_DIR", tmp_path / "reports")
    cfg = _write(tmp_path, with_contacts=False)
    first = RunContext.open(None, notebook="channel_integration", config=cfg)
    first.write_product("account_map", pd.DataFrame({"account_id": ["A1"], "customer_id": ["C1"]}))
    # the next notebook opened by hand sees the product, and the other notebooks' parameters are the registry's
    second = RunContext.open(None, notebook="customer_value", config=cfg)
    assert second.read_product("channel_integration", "account_map")["customer_id"].tolist() == ["C1"]
    assert second.parameter("channel_integration", "time_window_months") == 12
    # a changed input file reloads the folder (stale products go)
    (tmp_path / "tx.csv").write_text("acc,ts,amt\nA1,2025-01-02 10:00:00,100\n", encoding="utf-8")
    third = RunContext.open(None, notebook="customer_value", config=cfg)
    assert third.read_product("channel_integration", "account_map") is None and len(third.frame("transactions")) == 1
    # a different as-of date is a different folder
    other = RunContext.open(None, notebook="customer_value", config=cfg, as_of="2025-01-02")
    assert other.layout.root != third.layout.root and other.layout.root.name == "2025-01-02"


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(EcrmError, match="not a prepared run folder"):
        RunContext(tmp_path, "nb")

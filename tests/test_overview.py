"""Data-overview computations on small hand-built tables (values checked by hand)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from ecrm_lib.data import overview
from ecrm_lib.report.plots import base
from ecrm_lib.report.plots import overview as plots


def _ts(*values):
    return pd.to_datetime(list(values), utc=True).astype("datetime64[us, UTC]")


@pytest.fixture
def tables():
    accounts = pd.DataFrame(
        {
            "account_id": ["S1", "S2", "W1", "W2"],
            "channel": ["store", "store", "web", "web"],
            "name": ["김민준", None, "Kim", " "],
            "email": [None, None, "a@b.com", "c@d.com"],
            "phone": ["010-1111-2222", None, None, None],
            "postcode": ["06236", None, None, "04524"],
        }
    ).astype("string")
    transactions = pd.DataFrame(
        {
            "account_id": ["S1", "S1", "W1"],
            "timestamp": _ts("2025-01-31 23:30", "2025-02-01 10:00", "2025-03-15 12:00"),
            "amount": [100.0, 50.0, 25.0],
            "channel": pd.array([None, "store", None], dtype="string"),
        }
    )
    contacts = pd.DataFrame(
        {
            "account_id": ["W2"],
            "timestamp": _ts("2025-03-01 02:00"),
            "channel": pd.array(["email"], dtype="string"),
        }
    )
    return {"accounts": accounts, "transactions": transactions, "contacts": contacts}


def group(ch):
    return {"store": "traditional", "web": "internet", "email": "internet"}.get(ch, "other")


def test_source_summary_share():
    s = pd.DataFrame(
        {"source": ["a", "b"], "table": ["transactions"] * 2, "file": ["a.csv", "b.csv"],
         "rows_read": [10, 0], "rows_set_aside": [4, 0], "rows_kept": [6, 0]}
    )
    out = overview.source_summary(s)
    assert out["share_set_aside"].tolist() == [0.4, 0.0]


def test_set_aside_by_reason_counts_and_orders():
    sa = pd.DataFrame(
        {"source": ["a", "a", "a", "b"], "table": ["t"] * 4, "file": ["f"] * 4, "line": [2, 3, 4, 2],
         "reason": ["refund", "after as-of", "refund", "refund"]}
    )
    out = overview.set_aside_by_reason(sa)
    assert out.iloc[0].to_dict() == {"source": "a", "table": "t", "reason": "refund", "rows": 2}
    assert out["rows"].sum() == 4
    assert overview.set_aside_by_reason(sa.iloc[:0]).empty


def test_table_coverage(tables):
    cov = overview.table_coverage(tables).set_index("table")
    assert cov.loc["transactions", "rows"] == 3
    assert cov.loc["transactions", "accounts"] == 2
    assert str(cov.loc["transactions", "first"]) == "2025-01-31"
    assert cov.loc["transactions", "days_covered"] == 44  # 2025-01-31 .. 2025-03-15
    assert pd.isna(cov.loc["accounts", "first"])


def test_channel_coverage_uses_account_channel_when_row_has_none(tables):
    ch = overview.channel_coverage(tables, channel_group=group).set_index("channel")
    assert ch.loc["store", "transactions"] == 2 and ch.loc["store", "revenue"] == 150.0
    assert ch.loc["web", "transactions"] == 1
    assert ch.loc["email", "contacts"] == 1 and ch.loc["email", "accounts"] == 0
    assert ch.loc["web", "group"] == "internet"


def test_channel_coverage_is_empty_without_any_channel(tables):
    """No row with a channel of its own or its account's: no channels (the page's one line), not a '(unknown)' channel."""
    tx = tables["transactions"].assign(channel=pd.array([None] * 3, dtype="string"))
    assert overview.channel_coverage({"transactions": tx}, channel_group=group).empty
    accounts = tables["accounts"].assign(channel=pd.array([None] * 4, dtype="string"))
    assert overview.channel_coverage({"accounts": accounts, "transactions": tx}).empty
    assert overview.channel_coverage({}).empty
    # one known channel is enough: rows without one stay counted under (unknown)
    some = overview.channel_coverage({"transactions": tx.assign(channel=pd.array(["web", None, None], dtype="string"))})
    assert some.set_index("channel")["transactions"].to_dict() == {"(unknown)": 2, "web": 1}


def test_monthly_activity_uses_local_calendar_months(tables):
    # 2025-01-31 23:30 UTC is 2025-02-01 08:30 in Seoul: February there, January in UTC.
    seoul = overview.monthly_activity(tables, timezone="Asia/Seoul")
    utc = overview.monthly_activity(tables, timezone="UTC")
    tx_seoul = seoul[seoul.table == "transactions"].set_index("month")["rows"]
    tx_utc = utc[utc.table == "transactions"].set_index("month")["rows"]
    assert tx_seoul[pd.Timestamp("2025-02-01")] == 2
    assert tx_utc[pd.Timestamp("2025-01-01")] == 1
    last_two = overview.monthly_activity(tables, months=1)
    assert set(last_two["month"]) == {pd.Timestamp("2025-03-01")}


def test_identifier_completeness_counts_blank_as_missing(tables):
    ids = overview.identifier_completeness(tables["accounts"]).set_index("channel")
    assert ids.loc["web", "name"] == 0.5  # " " is blank
    assert ids.loc["web", "email"] == 1.0
    assert ids.loc["store", "no_identifier"] == 0.5
    assert not ({"a@b.com", "010-1111-2222"} & set(map(str, ids.to_numpy().ravel())))


def test_date_range(tables):
    lo, hi = overview.date_range(tables)
    assert lo == pd.Timestamp("2025-01-31 23:30", tz="UTC") and hi == pd.Timestamp("2025-03-15 12:00", tz="UTC")
    assert overview.date_range({"accounts": tables["accounts"]}) == (None, None)


def test_plots_return_labelled_axes(tables):
    base.set_theme()
    ch = overview.channel_coverage(tables, channel_group=group)
    monthly_axes = plots.plot_monthly_activity(overview.monthly_activity(tables, channel_group=group))
    assert len(monthly_axes) == 2  # transactions and contacts
    assert all(a.get_ylabel() for a in monthly_axes) and monthly_axes[-1].get_xlabel() == "month"
    for ax in (
        plots.plot_channel_coverage(ch),
        plots.plot_identifier_completeness(overview.identifier_completeness(tables["accounts"])),
    ):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    empty = plots.plot_set_aside(overview.set_aside_by_reason(pd.DataFrame(columns=["source", "table", "file", "line", "reason"])))
    assert not empty.axison
    plt.close("all")


def test_engine_tables_give_the_same_overview(tables, tmp_path):
    """Tables as RunContext.table gives them (Parquet read by DuckDB) give the frames' results, counted in the engine."""
    import ibis

    con = ibis.duckdb.connect()
    bound = {}
    for name, df in tables.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
        bound[name] = con.read_parquet(tmp_path / f"{name}.parquet")
    pd.testing.assert_frame_equal(overview.table_coverage(bound), overview.table_coverage(tables))
    pd.testing.assert_frame_equal(overview.channel_coverage(bound, channel_group=group), overview.channel_coverage(tables, channel_group=group))
    pd.testing.assert_frame_equal(overview.monthly_activity(bound, channel_group=group, timezone="Asia/Seoul"),
                                  overview.monthly_activity(tables, channel_group=group, timezone="Asia/Seoul"))
    pd.testing.assert_frame_equal(overview.identifier_completeness(bound["accounts"]), overview.identifier_completeness(tables["accounts"]))
    assert overview.date_range(bound) == overview.date_range(tables)
    assert overview.activity_totals(bound) == {"n_accounts": 4, "n_transactions": 3, "total_revenue": 175.0}
    assert overview.activity_totals({"accounts": bound["accounts"]})["total_revenue"] is None

"""The 12-month revenue headline and its drivers (issue 15: the headline that matters)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.config import load_config
from ecrm_lib.core.paths import DEFAULT_CONFIG
from ecrm_lib.value.headline import revenue_drivers, revenue_periods


def _pandas_periods(tx: pd.DataFrame, start_prev, start_last, end, tz):
    day = tx["timestamp"].dt.tz_convert(tz).dt.date
    keep = (day >= start_prev) & (day <= end)
    t = tx.loc[keep].assign(day=day[keep], last=day[keep] >= start_last)
    out = {}
    for last, g in t.groupby("last"):
        out["last" if last else "previous"] = (g["amount"].sum(), g["customer_id"].nunique(), len(g.drop_duplicates(["customer_id", "day"])))
    return out


def test_engine_periods_equal_a_pandas_count_at_the_time_zone_boundaries():
    rng = np.random.default_rng(3)
    n = 4000
    ts = pd.Timestamp("2023-06-25", tz="UTC") + pd.to_timedelta(rng.integers(0, 740 * 24 * 60, n), unit="min")
    tx = pd.DataFrame({"customer_id": rng.integers(0, 300, n).astype(str), "timestamp": ts,
                       "amount": rng.gamma(2, 5000, n).round(0)})
    p = revenue_periods(tx, "2025-06-30", timezone="Asia/Seoul")
    assert p["start"].tolist() == [pd.Timestamp("2023-07-01").date(), pd.Timestamp("2024-07-01").date()]
    assert p["end"].tolist() == [pd.Timestamp("2024-06-30").date(), pd.Timestamp("2025-06-30").date()]
    ref = _pandas_periods(tx, p["start"][0], p["start"][1], p["end"][1], "Asia/Seoul")
    for row in p.itertuples():
        assert (row.revenue, row.customers, row.purchases) == pytest.approx(ref[row.period])


def test_drivers_multiply_to_the_revenue_change_and_name_the_main_one():
    p = pd.DataFrame({"period": ["previous", "last"], "revenue": [1000.0, 500.0], "customers": [100, 55],
                      "purchases_per_customer": [2.0, 2.0], "spend_per_purchase": [5.0, 4.545454545]})
    d = revenue_drivers(p)
    product = (1 + d["customers_change"]) * (1 + d["purchases_per_customer_change"]) * (1 + d["spend_per_purchase_change"])
    assert product - 1 == pytest.approx(d["revenue_change"], abs=1e-6) and sum(d["shares"].values()) == pytest.approx(1)
    assert d["main_driver"] == "customers" and d["main_driver_text"] == "fewer buying customers"
    up = revenue_drivers(p.assign(revenue=[1000.0, 1300.0], spend_per_purchase=[5.0, 6.5], customers=[100, 100]))
    assert up["main_driver_text"] == "higher spend per purchase"
    empty = revenue_drivers(p.assign(revenue=[0.0, 500.0]))
    assert math.isnan(empty["revenue_change"]) and empty["main_driver"] is None


def test_default_data_revenue_fell_about_a_third_because_fewer_customers_bought():
    cfg = load_config(DEFAULT_CONFIG)
    tx = pd.read_csv(DEFAULT_CONFIG.parent / "transactions.csv")
    tx = pd.DataFrame({"customer_id": tx["account_id"].astype(str),
                       "timestamp": pd.to_datetime(tx["timestamp"]).dt.tz_localize(cfg.timezone).dt.tz_convert("UTC"),
                       "amount": tx["amount"].astype(float)})
    tx = tx.loc[tx["amount"] > 0]
    d = revenue_drivers(revenue_periods(tx, cfg.as_of, timezone=cfg.timezone))
    assert -0.40 < d["revenue_change"] < -0.32 and d["main_driver_text"] == "fewer buying customers"


def _tx(days, customers, amounts):
    return pd.DataFrame({"customer_id": customers, "amount": amounts,
                         "timestamp": pd.to_datetime(days).tz_localize("UTC")})


def test_recorded_figures_rebuild_the_same_drivers_and_page_text():
    from ecrm_lib.report.summary import revenue_headline
    from ecrm_lib.value.headline import headline_metrics, periods_from_metrics

    rng = np.random.default_rng(5)
    n = 3000
    days = pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 760, n), unit="D")
    tx = _tx(days, rng.integers(0, 400, n).astype(str), rng.gamma(2, 5000, n).round(0))
    periods = revenue_periods(tx, "2025-06-30")
    m = headline_metrics(periods)
    again = revenue_drivers(periods_from_metrics(m))
    direct = revenue_drivers(periods)
    assert again["revenue_change"] == pytest.approx(direct["revenue_change"]) == pytest.approx(m["revenue_change_12m"])
    assert again["main_driver"] == direct["main_driver"] == m["revenue_main_driver"]
    text, table = revenue_headline({**m, "as_of": "2025-06-30"}, "KRW")
    assert text.startswith("Revenue in the last 12 months (2024-07-01 to 2025-06-30)")
    assert table.iloc[0, 3] == f"{100 * m['revenue_change_12m']:+.1f}%"


def test_a_partly_covered_previous_year_is_not_compared():
    from ecrm_lib.report.summary import revenue_headline
    from ecrm_lib.value.headline import headline_metrics

    # the data starts in January 2024: the 12 months before (from 2023-07-01) are only half covered
    tx = _tx(["2024-01-10", "2024-03-01", "2024-08-01", "2025-02-01"], ["a", "b", "a", "c"], [10.0, 20.0, 15.0, 5.0])
    m = headline_metrics(revenue_periods(tx, "2025-06-30"))
    assert m["revenue_change_12m"] is None and m["revenue_main_driver"] is None and m["revenue_previous_12m"] == 30.0
    text, table = revenue_headline({**m, "as_of": "2025-06-30"}, "KRW")
    assert table is None and "not available because the data starts on 2024-01-10" in text
    text, table = revenue_headline({}, "KRW", has_transactions=False)
    assert table is None and "the data has no transactions table" in text

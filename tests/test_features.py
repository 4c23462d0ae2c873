"""Tests of ecrm_lib.value.features: RFM summaries, the calibration/holdout split and
history compression.

Expected values come from hand-worked cases, an independent plain-Python
reference written here, ``lifetimes.utils`` on small data, and the CDNOW files
that ship inside ``lifetimes`` (with the published BG/NBD parameters of Fader,
Hardie & Lee 2005).
"""

from __future__ import annotations

import doctest
from collections import defaultdict

import ibis
import numpy as np
import pandas as pd
import pytest

from ecrm_lib.value import features
from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.value.features import EXCLUDED_NEW_CUSTOMERS, calibration_holdout, compress_histories, rfm_summary
from ecrm_lib.core.paths import lifetimes_datasets_dir

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


# --------------------------------------------------------------------------- helpers


def _tx(rows, tz="UTC"):
    """Transactions from (customer, 'YYYY-mm-dd HH:MM:SS' in ``tz``, amount) tuples."""
    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    df["timestamp"] = pd.to_datetime(df["timestamp"]).dt.tz_localize(tz).dt.tz_convert("UTC")
    df["amount"] = df["amount"].astype("float64")
    return df


def _cdnow_raw() -> pd.DataFrame:
    """CDNOW_sample.txt: master id, sample id, yyyymmdd, CDs, dollars (no header)."""
    raw = pd.read_csv(
        lifetimes_datasets_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="module")
def cdnow_raw():
    return _cdnow_raw()


@pytest.fixture(scope="module")
def cdnow_split(cdnow_raw):
    return calibration_holdout(cdnow_raw, calibration_end=CAL_END, observation_end=OBS_END, time_col="date", time_unit="W")


def _reference_rfm(df: pd.DataFrame, as_of: str, tz: str, unit_days: float) -> pd.DataFrame:
    """Plain-Python RFM: one loop over rows, then one over customers."""
    as_of_day = pd.Timestamp(as_of).date()
    daily: dict = defaultdict(lambda: defaultdict(float))
    for cid, ts, amount in zip(df["customer_id"], df["timestamp"], df["amount"]):
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        day = ts.tz_convert(tz).date()
        if day <= as_of_day:
            daily[cid][day] += amount
    rows = []
    for cid, days in daily.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeat = [days[d] for d in ordered[1:]]
        rows.append(
            {
                "customer_id": cid,
                "frequency": len(ordered) - 1,
                "recency": (last - first).days / unit_days,
                "T": (as_of_day - first).days / unit_days,
                "monetary_value": sum(repeat) / len(repeat) if repeat else 0.0,
                "n_purchase_days": len(ordered),
                "total_spend": sum(days.values()),
                "first_purchase": pd.Timestamp(first),
                "last_purchase": pd.Timestamp(last),
            }
        )
    out = pd.DataFrame(rows).set_index("customer_id").sort_index()
    return out


def _random_tx(seed: int, n: int = 3000, n_customers: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-10-01", tz="UTC")
    # seconds spread over a year, with many of them close to midnight in UTC, Seoul and New York
    seconds = rng.integers(0, 365 * 86400, n)
    near = rng.random(n) < 0.4
    day0 = (seconds // 86400) * 86400
    edge = rng.choice([0, 15 * 3600, 4 * 3600, 5 * 3600], n) + rng.integers(-90, 90, n)
    seconds = np.where(near, day0 + edge, seconds)
    return pd.DataFrame(
        {
            "customer_id": np.array([f"c{i:04d}" for i in rng.integers(0, n_customers, n)]),
            "timestamp": start + pd.to_timedelta(seconds, unit="s"),
            "amount": np.round(rng.gamma(2.0, 25.0, n), 2) * np.where(rng.random(n) < 0.03, -1, 1),
        }
    )


# --------------------------------------------------------------------------- hand-worked cases


def test_single_purchase_customer():
    s = rfm_summary(_tx([("a", "2024-01-01 12:00:00", 25.0)]), as_of="2024-01-29", time_unit="D")
    row = s.loc["a"]
    assert row["frequency"] == 0 and row["n_purchase_days"] == 1
    assert row["recency"] == 0.0
    assert row["T"] == 28.0
    assert row["monetary_value"] == 0.0  # no repeat purchase
    assert row["total_spend"] == 25.0
    assert row["first_purchase"] == row["last_purchase"] == pd.Timestamp("2024-01-01")


def test_same_day_purchases_are_one_purchase():
    tx = _tx(
        [
            ("a", "2024-01-01 09:00:00", 10.0),
            ("a", "2024-01-01 17:30:00", 5.0),
            ("a", "2024-01-08 10:00:00", 8.0),
            ("a", "2024-01-08 11:00:00", 4.0),
            ("a", "2024-01-15 10:00:00", 30.0),
        ]
    )
    s = rfm_summary(tx, as_of="2024-01-29")  # weeks by default
    row = s.loc["a"]
    assert row["n_purchase_days"] == 3
    assert row["frequency"] == 2
    assert row["recency"] == 2.0  # 14 days
    assert row["T"] == 4.0  # 28 days
    assert row["monetary_value"] == pytest.approx((12.0 + 30.0) / 2)  # first day (15.0) excluded
    assert row["total_spend"] == pytest.approx(57.0)


def test_local_midnight_in_seoul():
    # 14:59:59 UTC is 23:59:59 in Seoul, 15:00:00 UTC is 00:00:00 the next day there
    tx = _tx([("a", "2024-01-01 14:59:59", 10.0), ("a", "2024-01-01 15:00:00", 20.0)])
    utc = rfm_summary(tx, as_of="2024-01-10", time_unit="D", timezone="UTC")
    seoul = rfm_summary(tx, as_of="2024-01-10", time_unit="D", timezone="Asia/Seoul")
    assert utc.loc["a", "frequency"] == 0 and utc.loc["a", "total_spend"] == 30.0
    assert seoul.loc["a", "frequency"] == 1
    assert seoul.loc["a", "recency"] == 1.0
    assert seoul.loc["a", "T"] == 9.0  # first local day 2024-01-01
    assert seoul.loc["a", "monetary_value"] == 20.0
    assert seoul.loc["a", "last_purchase"] == pd.Timestamp("2024-01-02")


def test_as_of_is_a_local_date():
    # 2024-01-31 16:00 UTC is already 2024-02-01 01:00 in Seoul
    tx = _tx([("a", "2024-01-01 00:00:00", 1.0), ("a", "2024-02-01 00:30:00", 2.0)], tz="Asia/Seoul")
    kw = dict(time_unit="D", timezone="Asia/Seoul")
    assert rfm_summary(tx, as_of="2024-01-31", **kw).loc["a", "frequency"] == 0
    assert rfm_summary(tx, as_of=pd.Timestamp("2024-01-31 16:00", tz="UTC"), **kw).loc["a", "frequency"] == 1
    assert rfm_summary(tx, as_of=pd.Timestamp("2024-02-01").date(), **kw).loc["a", "T"] == 31.0


def test_purchases_after_as_of_are_ignored():
    tx = _tx(
        [
            ("a", "2024-01-01 10:00:00", 10.0),
            ("a", "2024-01-31 10:00:00", 99.0),  # on as_of: counts
            ("a", "2024-02-01 00:00:01", 50.0),  # after as_of
            ("b", "2024-02-02 10:00:00", 7.0),  # only after as_of: no row
        ]
    )
    s = rfm_summary(tx, as_of="2024-01-31", time_unit="D")
    assert list(s.index) == ["a"]
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "recency"] == 30.0 and s.loc["a", "T"] == 30.0
    assert s.loc["a", "total_spend"] == 109.0
    empty = rfm_summary(tx, as_of="2023-12-31")
    assert empty.empty and list(empty.columns) == features.RFM_COLUMNS


def test_empty_input():
    tx = _tx([("a", "2024-01-01 10:00:00", 1.0)]).iloc[:0]
    s = rfm_summary(tx, as_of="2024-01-31")
    assert s.empty and list(s.columns) == features.RFM_COLUMNS
    ch = calibration_holdout(tx, calibration_end="2024-01-31", observation_end="2024-02-29")
    assert ch.empty and list(ch.columns) == features.CAL_HOLDOUT_COLUMNS and ch.attrs[EXCLUDED_NEW_CUSTOMERS] == 0


def test_zero_and_negative_amounts_are_netted_per_day():
    tx = _tx(
        [
            ("a", "2024-01-01 10:00:00", 40.0),
            ("a", "2024-01-05 10:00:00", 30.0),
            ("a", "2024-01-05 12:00:00", -30.0),  # full refund the same day: net 0, still a purchase day
            ("a", "2024-01-09 10:00:00", -10.0),  # a refund alone counts as a purchase day too
            ("b", "2024-01-02 10:00:00", 0.0),
        ]
    )
    s = rfm_summary(tx, as_of="2024-01-10", time_unit="D")
    assert s.loc["a", "frequency"] == 2
    assert s.loc["a", "monetary_value"] == pytest.approx((0.0 - 10.0) / 2)
    assert s.loc["a", "total_spend"] == pytest.approx(30.0)
    assert s.loc["b", "frequency"] == 0 and s.loc["b", "total_spend"] == 0.0


def test_missing_ids_and_times_are_ignored_and_missing_amounts_spend_nothing():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", None, "a"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02", None], utc=True),
            "amount": [5.0, np.nan, 100.0, 100.0],
        }
    )
    s = rfm_summary(tx, as_of="2024-01-10", time_unit="D")
    assert list(s.index) == ["a"]
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "monetary_value"] == 0.0 and s.loc["a", "total_spend"] == 5.0


def test_naive_timestamps_are_utc_and_date_columns_are_local_dates():
    tx = _tx([("a", "2024-01-01 20:00:00", 1.0), ("a", "2024-01-03 20:00:00", 2.0)])
    aware = rfm_summary(tx, as_of="2024-01-10", timezone="Asia/Seoul")
    naive = rfm_summary(tx.assign(timestamp=tx["timestamp"].dt.tz_localize(None)), as_of="2024-01-10", timezone="Asia/Seoul")
    pd.testing.assert_frame_equal(aware, naive)
    assert aware.loc["a", "first_purchase"] == pd.Timestamp("2024-01-02")
    dates = tx.assign(timestamp=pd.to_datetime(["2024-01-01", "2024-01-03"]).date)
    by_date = rfm_summary(dates, as_of="2024-01-10", timezone="Asia/Seoul")  # dates are not shifted
    assert by_date.loc["a", "first_purchase"] == pd.Timestamp("2024-01-01")


def test_nanosecond_timestamps_and_extra_columns():
    tx = _tx([("a", "2024-01-01 23:59:59", 1.0), ("a", "2024-01-03 10:00:00", 2.0)])
    ns = tx.assign(timestamp=tx["timestamp"].dt.as_unit("ns") + pd.Timedelta(999, unit="ns"), note=["x", None])
    assert ns["timestamp"].dt.unit == "ns"
    before = ns.copy()
    s = rfm_summary(ns, as_of="2024-01-10", time_unit="D")
    pd.testing.assert_frame_equal(s, rfm_summary(tx, as_of="2024-01-10", time_unit="D"))
    pd.testing.assert_frame_equal(ns, before)  # input not modified


def test_time_units():
    tx = _random_tx(3, n=400, n_customers=40)
    d = rfm_summary(tx, as_of="2024-09-30", time_unit="D")
    w = rfm_summary(tx, as_of="2024-09-30", time_unit="W")
    m = rfm_summary(tx, as_of="2024-09-30", time_unit="M")
    for col in ("recency", "T"):
        np.testing.assert_allclose(w[col], d[col] / 7, rtol=1e-15)
        np.testing.assert_allclose(m[col], d[col] * 12 / 365.25, rtol=1e-15)
    assert (d["T"] == d["T"].round()).all()
    pd.testing.assert_series_equal(d["monetary_value"], w["monetary_value"])


def test_output_types_and_order():
    s = rfm_summary(_random_tx(4, n=200, n_customers=30), as_of="2024-09-30")
    assert list(s.columns) == features.RFM_COLUMNS
    assert s.index.name == "customer_id" and s.index.is_monotonic_increasing and s.index.is_unique
    assert s["frequency"].dtype == "int64" and s["n_purchase_days"].dtype == "int64"
    assert s["first_purchase"].dtype == "datetime64[s]"
    assert (s["frequency"] == s["n_purchase_days"] - 1).all()
    assert (s["recency"] <= s["T"]).all() and (s["recency"] >= 0).all()


# --------------------------------------------------------------------------- against independent references


@pytest.mark.parametrize("tz", ["UTC", "Asia/Seoul", "America/New_York"])
def test_rfm_equals_plain_python_reference(tz):
    tx = _random_tx(11)
    ours = rfm_summary(tx, as_of="2024-08-31", timezone=tz, time_unit="W")
    ref = _reference_rfm(tx, "2024-08-31", tz, 7.0)
    assert list(ours.index) == list(ref.index)
    int_cols = ["frequency", "n_purchase_days"]
    pd.testing.assert_frame_equal(ours[int_cols], ref[int_cols], check_dtype=False)
    pd.testing.assert_frame_equal(ours[["recency", "T"]], ref[["recency", "T"]], check_exact=True)
    pd.testing.assert_frame_equal(ours[["first_purchase", "last_purchase"]], ref[["first_purchase", "last_purchase"]], check_dtype=False)
    pd.testing.assert_frame_equal(ours[["monetary_value", "total_spend"]], ref[["monetary_value", "total_spend"]], rtol=1e-9, atol=1e-9)


def test_rfm_matches_lifetimes_on_small_data():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = _random_tx(5, n=1500, n_customers=150)
    tx["day"] = tx["timestamp"].dt.tz_localize(None).dt.normalize()
    lt = summary_data_from_transaction_data(
        tx, "customer_id", "day", monetary_value_col="amount", observation_period_end="2024-06-30", freq="D", freq_multiplier=7
    )
    ours = rfm_summary(tx, as_of="2024-06-30")
    assert list(ours.index) == list(lt.sort_index().index)
    lt = lt.sort_index()
    np.testing.assert_array_equal(ours["frequency"], lt["frequency"])
    np.testing.assert_array_equal(ours["recency"], lt["recency"])
    np.testing.assert_array_equal(ours["T"], lt["T"])
    np.testing.assert_allclose(ours["monetary_value"], lt["monetary_value"], rtol=1e-9, atol=1e-9)


def test_calibration_holdout_matches_lifetimes_on_small_data():
    from lifetimes.utils import calibration_and_holdout_data

    tx = _random_tx(6, n=1500, n_customers=800)  # sparse enough that some customers start in the holdout
    tx["day"] = tx["timestamp"].dt.tz_localize(None).dt.normalize()
    # lifetimes averages raw holdout rows, we average holdout days: keep one row per day so they agree
    tx = tx.groupby(["customer_id", "day"], as_index=False).agg(amount=("amount", "sum"), timestamp=("timestamp", "first"))
    lt = calibration_and_holdout_data(
        tx, "customer_id", "day", calibration_period_end="2024-05-31", observation_period_end="2024-09-30",
        freq="D", freq_multiplier=7, monetary_value_col="amount",
    ).sort_index()
    ours = calibration_holdout(tx, calibration_end="2024-05-31", observation_end="2024-09-30")
    assert list(ours.index) == list(lt.index)
    for col in features.CAL_HOLDOUT_COLUMNS:
        np.testing.assert_allclose(ours[col], lt[col], rtol=1e-9, atol=1e-9, err_msg=col)
    first = tx.groupby("customer_id")["day"].min()
    assert ours.attrs[EXCLUDED_NEW_CUSTOMERS] == int((first > "2024-05-31").sum()) > 0


def test_calibration_holdout_hand_worked():
    tx = _tx(
        [
            ("a", "2024-01-01 10:00:00", 10.0),
            ("a", "2024-01-15 10:00:00", 20.0),
            ("a", "2024-02-05 10:00:00", 6.0),  # holdout
            ("a", "2024-02-05 18:00:00", 4.0),  # holdout, same day
            ("a", "2024-02-12 10:00:00", 30.0),  # holdout
            ("a", "2024-03-01 10:00:00", 500.0),  # after observation_end
            ("b", "2024-01-20 10:00:00", 5.0),  # no holdout purchase
            ("c", "2024-02-01 10:00:00", 9.0),  # new in holdout: excluded
            ("d", "2024-02-27 10:00:00", 9.0),  # new in holdout: excluded
            ("e", "2024-03-02 10:00:00", 9.0),  # only after observation_end: not counted at all
        ]
    )
    ch = calibration_holdout(tx, calibration_end="2024-01-31", observation_end="2024-02-29", time_unit="D")
    assert list(ch.columns) == features.CAL_HOLDOUT_COLUMNS
    assert list(ch.index) == ["a", "b"]
    assert ch.attrs[EXCLUDED_NEW_CUSTOMERS] == 2
    a, b = ch.loc["a"], ch.loc["b"]
    assert (a["frequency_cal"], a["recency_cal"], a["T_cal"], a["monetary_value_cal"]) == (1, 14.0, 30.0, 20.0)
    assert a["frequency_holdout"] == 2
    assert a["monetary_value_holdout"] == pytest.approx((10.0 + 30.0) / 2)
    assert a["duration_holdout"] == 29.0
    assert (b["frequency_cal"], b["recency_cal"], b["T_cal"], b["frequency_holdout"], b["monetary_value_holdout"]) == (0, 0.0, 11.0, 0, 0.0)
    # the calibration columns are rfm_summary at calibration_end
    s = rfm_summary(tx, as_of="2024-01-31", time_unit="D")
    np.testing.assert_array_equal(ch["T_cal"], s["T"])
    np.testing.assert_array_equal(ch["monetary_value_cal"], s["monetary_value"])


# --------------------------------------------------------------------------- CDNOW, published results


def test_cdnow_summary_reproduced(cdnow_split, cdnow_raw):
    published = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")
    # the published ID is the sample id (second column of CDNOW_sample.txt), 1..2357
    assert published.index.equals(pd.Index(sorted(cdnow_raw["customer_id"].unique())))
    ch = cdnow_split.reindex(published.index)
    assert len(cdnow_split) == len(published) == 2357
    np.testing.assert_array_equal(ch["frequency_cal"], published["frequency"])
    # published to two decimals: ours rounded must equal them exactly
    np.testing.assert_allclose(ch["recency_cal"].round(2), published["recency"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ch["T_cal"].round(2), published["T"], rtol=0, atol=1e-9)
    s = rfm_summary(cdnow_raw, as_of=CAL_END, time_col="date").reindex(published.index)
    np.testing.assert_array_equal(s["frequency"], published["frequency"])
    np.testing.assert_allclose(s["recency"].round(2), published["recency"], rtol=0, atol=1e-9)


def test_cdnow_same_day_merging_matters(cdnow_raw):
    # without merging same-day rows the published frequencies are not reproduced
    published = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")
    rows_per_customer = cdnow_raw[cdnow_raw["date"] <= CAL_END].groupby("customer_id").size() - 1
    assert (rows_per_customer.reindex(published.index) != published["frequency"]).sum() > 50


def test_cdnow_mean_repeat_spend_reproduced(cdnow_split):
    published = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    ch = cdnow_split.reindex(published.index)
    np.testing.assert_array_equal(ch["frequency_cal"], published["x"])
    np.testing.assert_allclose(ch["recency_cal"].round(2), published["t_x"], rtol=0, atol=1e-9)
    # zbar is rounded to cents: within half a cent
    assert np.abs(ch["monetary_value_cal"] - published["zbar"]).max() <= 0.005 + 1e-9


def test_cdnow_bgnbd_published_parameters(cdnow_split):
    from lifetimes import BetaGeoFitter

    bgf = BetaGeoFitter().fit(cdnow_split["frequency_cal"], cdnow_split["recency_cal"], cdnow_split["T_cal"])
    # Fader, Hardie & Lee (2005), BG/NBD on CDNOW (2,357 customers, weeks): r, alpha, a, b
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert bgf.params_[name] == pytest.approx(value, abs=5e-4), name


def test_cdnow_holdout_columns(cdnow_split, cdnow_raw):
    # holdout purchase days counted independently with pandas
    hold = cdnow_raw[(cdnow_raw["date"] > CAL_END) & (cdnow_raw["date"] <= OBS_END)]
    days = hold.groupby("customer_id")["date"].nunique().reindex(cdnow_split.index, fill_value=0)
    np.testing.assert_array_equal(cdnow_split["frequency_holdout"], days)
    assert (cdnow_split["duration_holdout"] == 273 / 7).all()  # 1997-10-01 .. 1998-06-30
    assert cdnow_split.attrs[EXCLUDED_NEW_CUSTOMERS] == 0  # CDNOW is a first-quarter 1997 cohort


# --------------------------------------------------------------------------- compression


def test_compress_histories_small():
    s = pd.DataFrame(
        {"frequency": [2, 0, 2, 0, 1], "recency": [3.0, 0.0, 3.0, 0.0, 1.0], "T": [5.0, 5.0, 5.0, 4.0, 5.0]},
        index=["p", "q", "r", "s", "t"],
    )
    unique, inverse = compress_histories(s)
    assert list(unique.columns) == ["frequency", "recency", "T", "weight"]
    assert len(unique) == 4 and unique["weight"].sum() == 5
    pd.testing.assert_frame_equal(unique.iloc[inverse][["frequency", "recency", "T"]].set_axis(s.index), s)
    assert unique.loc[inverse[0], "weight"] == 2
    with pytest.raises(DataValidationError, match="no column"):
        compress_histories(s, cols=("frequency", "x"))
    with pytest.raises(DataValidationError, match="missing values"):
        compress_histories(s.assign(T=[1.0, np.nan, 1.0, 1.0, 1.0]))


def test_compressed_bgnbd_fit_equals_full_fit(cdnow_split):
    from lifetimes import BetaGeoFitter

    s = cdnow_split.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
    unique, inverse = compress_histories(s)
    assert len(unique) < 0.5 * len(s)  # about 1,016 of 2,357 on CDNOW
    pd.testing.assert_frame_equal(unique.iloc[inverse][["frequency", "recency", "T"]].set_axis(s.index), s[["frequency", "recency", "T"]])
    full = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    comp = BetaGeoFitter().fit(unique["frequency"], unique["recency"], unique["T"], weights=unique["weight"])
    np.testing.assert_allclose(comp.params_.to_numpy(), full.params_.to_numpy(), rtol=1e-6)


# --------------------------------------------------------------------------- inputs and errors


def test_ibis_table_input(tmp_path):
    tx = _random_tx(7, n=500, n_customers=50)
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    con = ibis.duckdb.connect()
    table = con.read_parquet(path)
    expected = rfm_summary(tx, as_of="2024-06-30", timezone="Asia/Seoul")
    pd.testing.assert_frame_equal(rfm_summary(table, as_of="2024-06-30", timezone="Asia/Seoul"), expected)
    pd.testing.assert_frame_equal(rfm_summary(tx, as_of="2024-06-30", timezone="Asia/Seoul", backend=con), expected)
    other = ibis.duckdb.connect()
    with pytest.raises(ValueError, match="another Ibis connection"):
        rfm_summary(table, as_of="2024-06-30", backend=other)
    assert tx.equals(pd.read_parquet(path))  # input untouched


def test_custom_column_names():
    tx = _random_tx(8, n=300, n_customers=30)
    renamed = tx.rename(columns={"customer_id": "account_id", "timestamp": "ts", "amount": "value"})
    a = rfm_summary(tx, as_of="2024-06-30")
    b = rfm_summary(renamed, as_of="2024-06-30", customer_col="account_id", time_col="ts", amount_col="value")
    pd.testing.assert_frame_equal(a, b.rename_axis("customer_id"))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"customer_col": "account_id"}, DataValidationError, r"no column \['account_id'\]"),
        ({"time_unit": "Y"}, ValueError, "time_unit must be one of"),
        ({"timezone": "Mars/Olympus"}, ValueError, "IANA time zone"),
        ({"as_of": "not a date"}, ValueError, "as_of .not a date. is not a date; write it as YYYY-MM-DD"),
    ],
)
def test_argument_errors(kwargs, error, match):
    tx = _tx([("a", "2024-01-01 10:00:00", 1.0)])
    kwargs = {"as_of": "2024-02-01", **kwargs}
    with pytest.raises(error, match=match):
        rfm_summary(tx, **kwargs)


def test_column_type_errors():
    tx = _tx([("a", "2024-01-01 10:00:00", 1.0)])
    with pytest.raises(DataValidationError, match="timestamps or dates"):
        rfm_summary(tx.assign(timestamp=["2024-01-01"]), as_of="2024-02-01")
    with pytest.raises(DataValidationError, match="must be numeric"):
        rfm_summary(tx.assign(amount=["1.0"]), as_of="2024-02-01")
    with pytest.raises(TypeError, match="pandas DataFrame or an Ibis table"):
        rfm_summary(tx.to_dict(), as_of="2024-02-01")
    with pytest.raises(ValueError, match="must be after calibration_end"):
        calibration_holdout(tx, calibration_end="2024-02-01", observation_end="2024-02-01")


def test_docstring_examples_run():
    result = doctest.testmod(features, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_holdout_daily_purchases_are_the_holdout_counts_by_local_day():
    """The engine's daily sums behind the tracking chart: calibration customers only, local days, same totals."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        # a buys late on 2024-03-01 UTC, which is 2024-03-02 in Seoul; c first buys in the holdout (left out)
        "timestamp": pd.to_datetime(["2024-01-05 10:00", "2024-03-01 20:00", "2024-03-01 21:00", "2024-01-10 10:00",
                                     "2024-03-02 10:00", "2024-03-05 10:00"], utc=True),
        "amount": 1.0,
    })
    kw = dict(calibration_end="2024-02-01", observation_end="2024-03-31")
    seoul = features.holdout_daily_purchases(tx.assign(customer_id=tx["customer_id"]), timezone="Asia/Seoul", **kw)
    assert seoul["day"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-02"] and seoul["purchases"].tolist() == [1]
    utc = features.holdout_daily_purchases(tx, **kw)
    assert utc["day"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-01"]
    ch = calibration_holdout(tx, time_unit="D", **kw)
    assert utc["purchases"].sum() == ch["frequency_holdout"].sum()
    with pytest.raises(ValueError, match="must be after calibration_end"):
        features.holdout_daily_purchases(tx, calibration_end="2024-02-01", observation_end="2024-01-01")

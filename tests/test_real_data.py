"""Every config in ``data/configs/`` loads the real files it names.

Row counts are checked against the figures in ``shared/data/SOURCES.md`` (and,
for CDNOW, against lifetimes' published summary); set-aside and adjustment
counts are recomputed here straight from the raw files with plain pandas.
CDNOW ships inside ``lifetimes`` and needs no shared data; the others are
marked ``shared_data`` and skip with a reason when the folder is absent.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.config import load_config
from ecrm_lib.core.paths import CONFIG_DIR, lifetimes_datasets_dir
from ecrm_lib.data.load import LoadResult, load_sources

SHARED_CONFIGS = ["online_retail_ii", "telco_churn", "ifood", "hillstrom", "womens_reviews", "olist_funnel",
                  "bank_marketing"]


def _adjustment(res: LoadResult, source: str, contains: str) -> int:
    adj = res.adjustments
    hit = adj[(adj["source"] == source) & adj["adjustment"].str.contains(contains, regex=False)]
    return int(hit["rows"].sum())


def _set_aside(res: LoadResult, source: str, reason: str) -> int:
    sa = res.set_aside
    return int(((sa["source"] == source) & (sa["reason"] == reason)).sum())


@lru_cache(maxsize=None)
def _load(name: str) -> LoadResult:
    return load_sources(load_config(CONFIG_DIR / f"{name}.yaml"))


@pytest.fixture
def data_root(shared_data) -> Path:
    return shared_data


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_config_is_covered():
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    assert names == sorted(["cdnow", "cdnow_master", *SHARED_CONFIGS])


# ----------------------------------------------------------------------------- CDNOW (no shared data)


def _cdnow_raw() -> pd.DataFrame:
    return pd.read_csv(lifetimes_datasets_dir() / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str,
                       names=["master", "sample", "date", "cds", "dollars"])


def test_cdnow_sample_loads_and_reproduces_published_summary():
    res = _load("cdnow")
    raw = _cdnow_raw()
    tx = res.tables["transactions"]
    assert len(tx) == len(raw) == 6919
    assert tx["account_id"].nunique() == 2357
    assert res.as_of.isoformat() == "1998-06-30"
    assert _adjustment(res, "cdnow_sample", "amount <= 0") == int((raw["dollars"].astype(float) <= 0).sum()) == 8
    assert _adjustment(res, "cdnow_sample", "exact duplicate") == int(raw.duplicated().sum())
    assert res.set_aside.empty
    # lifetimes' summary: calibration to 1997-09-30, weeks, same-day purchases merged (zero-dollar days count)
    cal = tx[tx["timestamp"] <= pd.Timestamp("1997-09-30", tz="UTC")]
    days = cal.groupby(["account_id", "timestamp"]).size().reset_index()
    per = days.groupby("account_id")["timestamp"].agg(["count", "min", "max"])
    end = pd.Timestamp("1997-09-30", tz="UTC")
    mine = pd.DataFrame({
        "frequency": per["count"] - 1,
        "recency": ((per["max"] - per["min"]).dt.days / 7).round(2),
        "T": ((end - per["min"]).dt.days / 7).round(2),
    })
    mine.index = mine.index.astype(int)
    published = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv").set_index("ID")
    mine = mine.reindex(published.index)
    assert (mine["frequency"] == published["frequency"]).all()
    assert np.allclose(mine["recency"], published["recency"], atol=0.011)
    assert np.allclose(mine["T"], published["T"], atol=0.011)


def test_cdnow_master_loads():
    res = _load("cdnow_master")
    raw = pd.read_csv(lifetimes_datasets_dir() / "CDNOW_master.txt", sep=r"\s+", dtype=str)
    tx = res.tables["transactions"]
    assert len(tx) == len(raw) == 69659
    assert tx["account_id"].nunique() == 23570
    assert _adjustment(res, "cdnow_master", "amount <= 0") == int((raw["dollar_value"].astype(float) <= 0).sum())
    assert _adjustment(res, "cdnow_master", "exact duplicate") == int(raw.duplicated().sum())
    assert tx["timestamp"].min() == pd.Timestamp("1997-01-01", tz="UTC")
    assert tx["timestamp"].max() == pd.Timestamp("1998-06-30", tz="UTC")


# ----------------------------------------------------------------------------- shared data


@pytest.mark.shared_data
def test_online_retail_ii(data_root):
    path = data_root / "uci_online_retail_ii" / "online_retail_II_Year2009-2010.parquet"
    before = _sha(path)
    res = _load("online_retail_ii")
    assert _sha(path) == before
    src = "online_retail"
    raw = pd.read_parquet(path)
    assert res.summary["rows_read"].tolist() == [len(raw)] == [525_461]
    assert _set_aside(res, src, "missing account_id") == raw["Customer ID"].isna().sum() == 107_927
    # recompute every rule in the config's order, on rows not yet set aside
    left = raw[raw["Customer ID"].notna()]
    cancel = left["Invoice"].str.startswith("C")
    assert _set_aside(res, src, "cancellation invoice (Invoice starts with C)") == cancel.sum()
    left = left[~cancel]
    adjust = left["Invoice"].str.startswith("A")
    assert _set_aside(res, src, "bad-debt adjustment invoice (Invoice starts with A)") == adjust.sum()
    left = left[~adjust]
    non_product = left["StockCode"].isin(
        ["POST", "DOT", "C2", "C3", "M", "m", "D", "S", "B", "ADJUST", "ADJUST2", "BANK CHARGES", "AMAZONFEE",
         "TEST001", "TEST002", "PADS", "GIFT"]) | left["StockCode"].str.startswith("gift_")
    reason = "not a product (postage, fees, discounts, adjustments, samples, tests, vouchers)"
    assert _set_aside(res, src, reason) == non_product.sum() > 0
    left = left[~non_product]
    free = left["Price"] <= 0
    assert _set_aside(res, src, "price zero or negative") == free.sum()
    left = left[~free]
    nonpos = left["Quantity"] * left["Price"] <= 0
    assert _set_aside(res, src, "amount <= 0") == nonpos.sum()
    left = left[~nonpos]
    dup = left.duplicated()
    assert _set_aside(res, src, "exact duplicate of an earlier row") == dup.sum() > 0
    left = left[~dup]
    tx = res.tables["transactions"]
    assert len(tx) == len(left) == res.summary["rows_kept"].iloc[0]
    assert res.summary["rows_set_aside"].iloc[0] == len(raw) - len(left) == len(res.set_aside)
    # ids: 12346.0 -> "12346", counted
    assert not tx["account_id"].str.contains(".", regex=False).any()
    assert sorted(tx["account_id"].unique()) == sorted({str(int(v)) for v in left["Customer ID"]})
    assert _adjustment(res, src, "whole numbers") == len(tx)
    assert (tx["amount"] > 0).all()
    assert np.isclose(tx["amount"].sum(), (left["Quantity"] * left["Price"]).sum())
    # InvoiceDate is UK local time: a summer date moves back one hour
    assert tx["timestamp"].min() == pd.Timestamp("2009-12-01 07:45", tz="UTC")
    summer = left["InvoiceDate"].str.startswith("2010-07").to_numpy()
    local = pd.to_datetime(left["InvoiceDate"][summer]).dt.tz_localize("Europe/London").dt.tz_convert("UTC")
    assert (tx["timestamp"][summer].to_numpy() == local.to_numpy()).all()
    assert res.as_of.isoformat() == "2010-12-09"
    assert set(res.set_aside["line"].str[:4]) == {"row "}


@pytest.mark.shared_data
def test_telco_churn(data_root):
    res = _load("telco_churn")
    raw = pd.read_csv(data_root / "telco_customer_churn" / "WA_Fn-UseC_-Telco-Customer-Churn.csv", dtype=str,
                      keep_default_na=False)
    cu = res.tables["customers"]
    assert cu.shape == (7043, 21) == raw.shape
    assert cu["account_id"].tolist() == raw["customerID"].tolist()
    blank = raw["TotalCharges"].str.strip() == ""
    assert _adjustment(res, "telco_customers", "TotalCharges: blank values") == blank.sum() == 11
    assert (raw.loc[blank, "tenure"] == "0").all()
    assert cu["TotalCharges"].isna().sum() == 11
    assert cu["Churn"].value_counts().to_dict() == {"No": 5174, "Yes": 1869}


@pytest.mark.shared_data
def test_ifood(data_root):
    res = _load("ifood")
    cu = res.tables["customers"]
    assert cu.shape == (2240, 29)
    assert cu["account_id"].is_unique
    assert cu["Income"].isna().sum() == 24
    assert cu[["AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "Response"]].astype(
        int).sum().tolist() == [144, 30, 163, 167, 163, 334]
    assert "transactions" not in res.tables


@pytest.mark.shared_data
def test_hillstrom(data_root):
    res = _load("hillstrom")
    raw = pd.read_csv(data_root / "hillstrom_email" /
                      "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv", dtype=str)
    camp, cu = res.tables["campaigns"], res.tables["customers"]
    assert len(camp) == len(cu) == 64_000
    assert camp["arm"].value_counts().to_dict() == {"Womens E-Mail": 21_387, "Mens E-Mail": 21_307, "No E-Mail": 21_306}
    assert camp["is_control"].sum() == 21_306 and (camp.loc[camp["is_control"], "arm"] == "No E-Mail").all()
    assert camp["response"].sum() == (raw["conversion"] == "1").sum()
    assert np.isclose(camp["revenue"].sum(), raw["spend"].astype(float).sum())
    assert (camp["account_id"] == cu["account_id"]).all() and camp["account_id"].iloc[-1] == "64000"
    assert list(cu.columns) == ["account_id", "recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
    assert _adjustment(res, "hillstrom_campaign", "exact duplicate") == raw.duplicated().sum() == 6_562


@pytest.mark.shared_data
def test_womens_reviews(data_root):
    res = _load("womens_reviews")
    raw = pd.read_csv(data_root / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv.gz", dtype=str)
    fb, cu = res.tables["feedback"], res.tables["customers"]
    assert len(fb) == len(cu) == 23_486
    assert fb["score"].value_counts().sort_index().tolist() == [842, 1565, 2871, 5077, 13131]
    assert (fb["score_max"] == 5).all() and fb["timestamp"].isna().all()
    both_missing = raw["Title"].isna() & raw["Review Text"].isna()
    assert fb["text"].isna().sum() == both_missing.sum()
    assert _adjustment(res, "reviews_feedback", "text: blank values") == both_missing.sum()
    assert (fb["account_id"].astype(int) - 1).astype(str).tolist() == raw.iloc[:, 0].tolist()
    assert list(cu.columns) == ["account_id", "age", "division", "department", "class"]
    assert cu["division"].isna().sum() == 14


@pytest.mark.shared_data
def test_olist_funnel(data_root):
    res = _load("olist_funnel")
    leads = pd.read_csv(data_root / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv", dtype=str)
    contacts, cu = res.tables["contacts"], res.tables["customers"]
    assert len(leads) == 8000
    assert _set_aside(res, "olist_leads", "no acquisition channel (origin empty)") == leads["origin"].isna().sum() == 60
    assert len(contacts) == 7940
    assert (contacts["channel"] == "unknown").sum() == 1099
    assert len(cu) == 842 and set(cu["account_id"]) <= set(leads["mql_id"])
    local = contacts["timestamp"].dt.tz_convert("America/Sao_Paulo")
    assert local.min().date().isoformat() == "2017-06-14" and res.as_of.isoformat() == "2018-05-31"


@pytest.mark.shared_data
def test_bank_marketing(data_root):
    res = _load("bank_marketing")
    raw = pd.read_csv(data_root / "uci_bank_marketing" / "bank-full.csv.gz", sep=";", dtype=str)
    contacts, cu = res.tables["contacts"], res.tables["customers"]
    assert len(contacts) == len(cu) == len(raw) == 45_211
    assert (contacts["channel"] == "unknown").sum() == 13_020
    local = contacts["timestamp"].dt.tz_convert("Europe/Lisbon")
    assert local.min().strftime("%Y-%m") == "2008-05" and local.max().strftime("%Y-%m") == "2010-11"
    assert local.is_monotonic_increasing  # the file is ordered by date
    assert (local.dt.day.astype(str).to_numpy() == raw["day"].to_numpy()).all()
    assert (local.dt.strftime("%b").str.lower().to_numpy() == raw["month"].to_numpy()).all()
    assert np.allclose(contacts["duration_min"] * 60, raw["duration"].astype(float))
    assert cu.shape == (45_211, 18) and cu["y"].value_counts()["yes"] == (raw["y"] == "yes").sum()

"""Channel-integration computations: hand-worked examples, checks against the
truth of the default data, and the iFood and Olist figures against pandas
computed independently from the raw files."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ecrm_lib.report.plots import channels as cplots
from ecrm_lib.channels import common, conflicts, cost, datasets, integration, mix, profile, reach
from ecrm_lib.channels.customers import attach_customer_id
from ecrm_lib.core.intervals import wilson_interval
from ecrm_lib.core.paths import DEFAULT_CONFIG, DEFAULT_DATA_DIR
from ecrm_lib.core.privacy import PII_COLUMNS
from ecrm_lib.core.schema import TABLES

GROUPS = {"traditional": ["store", "phone", "mail"], "internet": ["email", "web", "app"]}


def _ts(*values):
    return pd.to_datetime(list(values), utc=True, format="ISO8601").astype("datetime64[us, UTC]")


def _contacts(rows):
    """rows: (account_id, utc time, channel, purpose[, direction])."""
    df = pd.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "timestamp": _ts(*[r[1] for r in rows]),
            "channel": [r[2] for r in rows],
            "purpose": [r[3] for r in rows],
            "direction": [r[4] if len(r) > 4 else "inbound" for r in rows],
        }
    )
    return df.astype({"account_id": "string", "channel": "string", "purpose": "string", "direction": "string"})


# ------------------------------------------------------------------ cost
@pytest.fixture
def costs():
    return pd.DataFrame(
        {
            "channel": ["phone", "phone", "store", "app", "store"],
            "purpose": [None, "complaint", None, None, "returns"],
            "cost_per_contact": [6000.0, 9000.0, 12000.0, 60.0, 15000.0],
        }
    ).astype({"channel": "string", "purpose": "string"})


@pytest.fixture
def priced_contacts():
    return _contacts(
        [
            ("A", "2025-01-06 01:00", "phone", "complaint"),   # purpose row: 9000
            ("A", "2025-01-07 01:00", "Phone ", "billing"),    # any-purpose row, name with case and space: 6000
            ("B", "2025-01-08 01:00", "store", "returns"),     # purpose row: 15000
            ("B", "2025-01-09 01:00", "store", "billing"),     # 12000
            ("C", "2025-01-10 01:00", "chat", "billing"),      # no cost known
            ("C", "2025-01-11 01:00", "app", None),            # no purpose: any-purpose row, 60
        ]
    )


def test_cost_contacts_purpose_rows_win_and_missing_costs_stay_missing(costs, priced_contacts):
    out = cost.cost_contacts(priced_contacts, costs)
    assert out["cost"].tolist()[:4] == [9000.0, 6000.0, 15000.0, 12000.0]
    assert math.isnan(out["cost"].iloc[4]) and out["cost"].iloc[5] == 60.0
    assert out["cost_source"].tolist() == ["purpose", "channel", "purpose", "channel", "missing", "channel"]


def test_cost_summary_counts_contacts_without_a_cost(costs, priced_contacts):
    s = cost.cost_summary(cost.cost_contacts(priced_contacts, costs), "channel").set_index("channel")
    assert s.loc["store", "total_cost"] == 27000.0 and s.loc["store", "cost_per_contact"] == 13500.0
    # "phone" and "Phone " are two labels of one channel in the data; the summary keeps the labels
    assert s.loc["phone", "total_cost"] + s.loc["Phone ", "total_cost"] == 15000.0
    assert s.loc["chat", "n_contacts"] == 1 and s.loc["chat", "n_missing_cost"] == 1 and s.loc["chat", "n_priced"] == 0
    assert s.loc["chat", "total_cost"] == 0.0 and math.isnan(s.loc["chat", "cost_per_contact"])
    assert s["total_cost"].sum() == 9000 + 6000 + 15000 + 12000 + 60
    assert s["share_of_cost"].sum() == pytest.approx(1.0)
    by_customer = cost.customer_costs(cost.cost_contacts(priced_contacts, costs), None).set_index("customer_id")
    assert by_customer["cost_to_serve"].to_dict() == {"A": 15000.0, "B": 27000.0, "C": 60.0}
    assert by_customer.loc["C", "n_missing_cost"] == 1


def test_cost_overrides(costs, priced_contacts):
    out = cost.cost_contacts(priced_contacts, costs, {"phone": 5000, "chat": 100})
    # the any-purpose phone cost changes, the complaint row still wins; chat gets a cost
    assert out["cost"].tolist() == [9000.0, 5000.0, 15000.0, 12000.0, 100.0, 60.0]
    assert out["cost_source"].tolist()[:2] == ["purpose", "override"]
    out = cost.cost_contacts(priced_contacts, costs, {"phone:complaint": 1000})
    assert out["cost"].iloc[0] == 1000.0 and out["cost"].iloc[1] == 6000.0
    assert cost.lookup_cost(costs, "phone", "complaint") == 9000.0
    assert cost.lookup_cost(None, "phone", None, {"phone": 7}) == 7.0
    assert math.isnan(cost.lookup_cost(costs, "fax", "billing"))
    with pytest.raises(ValueError, match="cost_overrides"):
        cost.cost_contacts(priced_contacts, costs, {"phone": -1})


def test_duplicate_cost_rows_are_refused(costs, priced_contacts):
    dup = pd.concat([costs, costs.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="more than one cost"):
        cost.cost_contacts(priced_contacts, dup)


def test_whatif_saving_by_hand(costs):
    rows = [("A", f"2025-03-{d:02d} 01:00", "phone", "order_status") for d in range(1, 11)]
    rows += [("A", "2025-03-12 01:00", "phone", "billing"), ("A", "2025-03-12 02:00", "app", "order_status")]
    costed = cost.cost_contacts(_contacts(rows), costs)
    # 10 phone order_status contacts in 73.05 days = 50 a year; 30 % move = 15; each saves 6000 - 60
    w = cost.whatif_channel_shift(costed, costs, purpose="order_status", from_channel="phone", to_channel="app", share=0.3, days=365.25 / 5)
    assert w["ok"] and w["contacts_in_window"] == 10
    assert w["contacts_per_year"] == pytest.approx(50.0) and w["moved_per_year"] == pytest.approx(15.0)
    assert w["saving_per_year"] == pytest.approx(15 * 5940.0)
    dearer = cost.whatif_channel_shift(costed, costs, purpose="order_status", from_channel="phone", to_channel="store", share=0.3, days=365.25 / 5)
    assert dearer["saving_per_year"] == pytest.approx(15 * (6000.0 - 12000.0))
    no_cost = cost.whatif_channel_shift(costed, costs, purpose="order_status", from_channel="phone", to_channel="chat", share=0.3, days=73.05)
    assert not no_cost["ok"] and "chat" in no_cost["reason"] and math.isnan(no_cost["saving_per_year"])
    none = cost.whatif_channel_shift(costed, costs, purpose="returns", from_channel="phone", to_channel="app", share=0.3, days=73.05)
    assert not none["ok"] and none["contacts_in_window"] == 0
    with pytest.raises(ValueError, match="share"):
        cost.whatif_channel_shift(costed, costs, purpose="x", from_channel="phone", to_channel="app", share=1.5, days=10)


def test_window_bounds_and_covered_days():
    start, end = common.window_bounds("2025-06-30", 3, "Asia/Seoul")
    assert end == pd.Timestamp("2025-06-30 15:00", tz="UTC")          # local midnight after as_of
    assert start == pd.Timestamp("2025-03-31 15:00", tz="UTC")        # local 2025-04-01 00:00
    df = pd.DataFrame({"timestamp": _ts("2025-03-31 14:59", "2025-03-31 15:00", "2025-06-30 14:59", "2025-06-30 15:00")})
    kept = common.in_window(df, "2025-06-30", 3, "Asia/Seoul").order_by("timestamp").execute()["timestamp"]
    assert kept.tolist() == df["timestamp"].iloc[[1, 2]].tolist()
    assert common.covered_days(df, "2025-06-30", 3, "Asia/Seoul") == pytest.approx(91.0)
    late = pd.DataFrame({"timestamp": _ts("2025-06-20 15:00")})
    assert common.covered_days(late, "2025-06-30", 3, "Asia/Seoul") == pytest.approx(10.0)   # data starts inside the window
    assert common.window_bounds("2025-06-30", None)[0] is None


# ---------------------------------------------------------------- reach
def test_offhours_across_the_local_time_zone():
    utc = [
        "2025-06-02 14:59:59",  # Mon 23:59:59 in Seoul, just before local midnight: outside
        "2025-06-02 01:00",     # Mon 10:00 in Seoul: inside (01:00 in UTC would be outside)
        "2025-06-02 08:59",     # Mon 17:59: inside
        "2025-06-02 09:00",     # Mon 18:00: closing hour, outside
        "2025-06-05 23:59",     # Fri 08:59: outside
        "2025-06-06 00:00",     # Fri 09:00: inside
        "2025-06-06 07:00",     # Fri 16:00 in Seoul: inside
        "2025-06-06 16:00",     # Sat 01:00 in Seoul (Fri 16:00 in UTC): weekend, outside
        "2025-06-08 03:00",     # Sun 12:00: weekend, outside
    ]
    got = reach.is_offhours(pd.Series(_ts(*utc)), "Asia/Seoul", (9, 18)).tolist()
    assert got == [True, False, False, True, True, False, False, True, True]
    # in UTC the Monday 01:00 contact is outside and the Friday 16:00 one inside
    in_utc = reach.is_offhours(pd.Series(_ts(*utc)), "UTC", (9, 18)).tolist()
    assert in_utc[1] is True and in_utc[7] is False
    with pytest.raises(ValueError, match="office_hours"):
        reach.is_offhours(pd.Series(_ts(*utc)), "UTC", (18, 9))


def test_offhours_reach_counts_inbound_contacts_only():
    c = _contacts(
        [
            ("A", "2025-06-02 14:00", "web", "billing"),            # Seoul 23:00: outside
            ("A", "2025-06-02 02:00", "phone", "billing"),          # Seoul 11:00: inside
            ("B", "2025-06-02 02:00", "store", "returns"),          # inside
            ("B", "2025-06-02 12:00", "email", "marketing", "outbound"),  # outbound: ignored
        ]
    )
    r = reach.offhours_reach(c, timezone="Asia/Seoul").set_index("customer_id")
    assert r.loc["A", "n_contacts"] == 2 and r.loc["A", "offhours_share"] == 0.5 and r.loc["A", "any_offhours"]
    assert r.loc["B", "n_contacts"] == 1 and not r.loc["B", "any_offhours"]
    hourly = reach.hourly_contacts(c, channel_group=GROUPS, timezone="Asia/Seoul")
    assert hourly["n"].sum() == 3 and set(hourly.loc[hourly["hour"] == 23, "group"]) == {"internet"}


def test_has_time_of_day():
    dates = pd.Series(pd.to_datetime(["2018-01-01", "2018-01-02", "2017-10-15 01:00"], format="ISO8601").tz_localize("America/Sao_Paulo").tz_convert("UTC"))
    assert not reach.has_time_of_day(dates, "America/Sao_Paulo")
    assert reach.has_time_of_day(pd.Series(_ts("2025-01-01 10:13", "2025-01-01 15:00")), "UTC")


@pytest.fixture
def small_world():
    accounts = pd.DataFrame(
        {
            "account_id": ["W1", "A1", "W2", "S2", "E3", "A4", "S5"],
            "channel": ["web", "app", "web", "store", "email", "app", "store"],
            "name": ["x"] * 7,
            "email": [None] * 7,
            "phone": [None] * 7,
            "created_at": _ts(*["2024-01-01"] * 7),
        }
    ).astype({"account_id": "string", "channel": "string", "name": "string", "email": "string", "phone": "string"})
    account_map = pd.DataFrame({"account_id": ["W1", "A1", "W2", "S2", "E3", "A4", "S5"], "customer_id": ["C1", "C1", "C2", "C2", "C3", "C4", "C5"]})
    transactions = pd.DataFrame(
        {
            "account_id": ["W1", "A1", "W1", "W2", "A4"],
            "timestamp": _ts("2025-01-01", "2025-02-01", "2025-03-01", "2025-01-05", "2025-02-02"),
            "amount": [100.0, 300.0, 200.0, 50.0, 80.0],
            "channel": pd.array(["web", "app", "web", None, "app"], dtype="string"),
        }
    ).astype({"account_id": "string"})
    contacts = _contacts(
        [
            ("E3", "2025-01-10 12:00", "email", "billing"),
            ("E3", "2025-01-11 12:00", "mail", "marketing", "outbound"),   # a catalogue reaches C3
            ("A4", "2025-01-10 12:00", "app", "order_status"),
        ]
    )
    return accounts, account_map, transactions, contacts


def test_internet_only_reach(small_world):
    accounts, amap, tx, co = small_world
    long = common.customer_channels_long(amap, accounts, tx, co)
    flag = reach.internet_only_customers(long, GROUPS)
    # C1: web + app; C2: web + store account; C3: e-mail but reached by mail; C4: app only; C5: store only
    assert flag.to_dict() == {"C1": True, "C2": False, "C3": False, "C4": True, "C5": False}
    # a config without internet channels (Olist): nobody is internet-only, in the flag and in the profile
    assert not reach.internet_only_customers(long, {"traditional": ["store"]}).any()
    f = profile.customer_channel_features(amap, accounts=accounts, transactions=tx, contacts=co, channel_group={"traditional": ["store"]})
    assert not f["internet_only"].any() and len(f) == 5
    flags = reach.internet_only_flags(long, GROUPS)
    cmp_ = reach.compare_customer_groups(flags, attach_customer_id(tx, amap), ("internet only", "other"), customers=amap).set_index("group")
    assert cmp_.loc["internet only", "n_customers"] == 2 and cmp_.loc["internet only", "share"] == pytest.approx(0.4)
    assert cmp_.loc["internet only", "mean_total_spend"] == pytest.approx((600 + 80) / 2)
    assert cmp_.loc["internet only", "mean_purchase_days"] == pytest.approx(2.0)
    assert cmp_.loc["other", "mean_total_spend"] == pytest.approx(50 / 3)     # C2 bought once, C3 and C5 never
    assert cmp_.loc["other", "buyer_share"] == pytest.approx(1 / 3)
    assert cmp_.loc["other", "mean_spend_per_purchase_day"] == pytest.approx(50.0)
    # repeat buyers among buyers: C1 bought on 3 days, C4 on 1; C2 (the other group's one buyer) on 1
    assert cmp_.loc["internet only", "repeat_buyer_share"] == pytest.approx(0.5)
    assert cmp_.loc["other", "repeat_buyer_share"] == 0
    # a customer of interest without any channel record counts as not flagged and as not buying
    everyone = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5", "C9"]})
    wider = reach.compare_customer_groups(flags, attach_customer_id(tx, amap), ("internet only", "other"), customers=everyone).set_index("group")
    assert wider.loc["other", "n_customers"] == 4 and wider.loc["other", "mean_total_spend"] == pytest.approx(50 / 4)
    assert wider.loc["internet only", "share"] == pytest.approx(2 / 6)


def test_integration_summary_and_comparison(small_world):
    accounts, amap, tx, co = small_world
    s = integration.integration_summary(amap, accounts, tx, co)
    assert (s["n_accounts"], s["n_customers"], s["n_multi_account"]) == (7, 5, 2)
    assert s["n_multichannel"] == 3 and s["multichannel_share"] == pytest.approx(0.6)   # C1, C2, C3 (e-mail + mail)
    comp = integration.integration_comparison(tx, amap, "2025-06-30").set_index("measure")
    # per account: W1 2 purchase days, A1 1, W2 1, A4 1; per customer: C1 3, C2 1, C4 1
    assert comp.loc["buying units", "per_account"] == 4 and comp.loc["buying units", "per_customer"] == 3
    assert comp.loc["mean purchase days", "per_account"] == pytest.approx(5 / 4)
    assert comp.loc["mean purchase days", "per_customer"] == pytest.approx(5 / 3)
    assert comp.loc["share with a repeat purchase", "per_customer"] == pytest.approx(1 / 3)
    assert comp.loc["mean total spend", "per_customer"] == pytest.approx(730 / 3)
    assert comp.loc["median recency", "per_customer"] == (pd.Timestamp("2025-06-30") - pd.Timestamp("2025-02-02")).days
    dist = integration.purchase_count_distribution(tx, amap, top=3).set_index(["view", "purchases"])
    assert dist.loc[("per customer", "3+"), "units"] == 1 and dist.loc[("per account", "1"), "units"] == 3
    shown = integration.comparison_display(comp.reset_index(), "KRW").set_index("measure")
    assert shown.loc["mean total spend", "per_customer"] == "243 KRW" and shown.loc["mean total spend", "unit"] == "KRW"


def _same_day_world():
    """Purchases of four accounts of two customers: same-day baskets, one account per channel buying on the same day,
    Seoul days that are other UTC days, and a purchase after the as-of date."""
    tx = pd.DataFrame(
        {
            "account_id": ["W1", "W1", "S1", "S1", "W2", "W2", "S2", "W1", "S1"],
            # Seoul (UTC+9): W1 10 Jan twice (one day); S1 10 Jan (the customer's same day as W1) and 11 Jan 00:30
            # (UTC 10 Jan 15:30); W2 1 Feb twice; S2 2 Feb; W1 on 1 Mar and S1 on 2 Jul, after the as-of date
            "timestamp": _ts("2025-01-10 01:00", "2025-01-10 05:00", "2025-01-10 03:00", "2025-01-10 15:30",
                             "2025-02-01 02:00", "2025-02-01 06:00", "2025-02-02 02:00", "2025-03-01 02:00", "2025-07-02 02:00"),
            "amount": [10.0, 20.0, 30.0, 40.0, 5.0, 5.0, 10.0, 60.0, 1000.0],
        }
    ).astype({"account_id": "string"})
    amap = pd.DataFrame({"account_id": ["W1", "S1", "W2", "S2", "X9"], "customer_id": ["C1", "C1", "C2", "C2", "C3"]})
    return tx, amap


def test_integration_comparison_counts_purchase_days_by_the_shared_definition():
    """Issue 15: a purchase is a purchase day and a repeat buyer bought on 2+ days up to the as-of date, the figures of
    data.overview.repeat_buyers (the customer-value page's); counting transactions gives other figures."""
    from ecrm_lib.data.overview import repeat_buyers

    tx, amap = _same_day_world()
    as_of, tz = "2025-06-30", "Asia/Seoul"
    comp = integration.integration_comparison(tx, amap, as_of, tz).set_index("measure")
    # per customer (Seoul days to 30 June): C1 10 Jan, 11 Jan, 1 Mar = 3 days (5 transactions); C2 1 Feb, 2 Feb = 2 days (3)
    assert comp.loc["buying units", "per_customer"] == 2
    assert comp.loc["mean purchase days", "per_customer"] == pytest.approx(2.5)
    assert comp.loc["share with a repeat purchase", "per_customer"] == 1.0
    assert comp.loc["mean repeat purchases", "per_customer"] == pytest.approx(1.5)
    assert comp.loc["mean spend per purchase day", "per_customer"] == pytest.approx(((10 + 20 + 30 + 40 + 60) / 3 + 20 / 2) / 2)
    assert comp.loc["mean total spend", "per_customer"] == pytest.approx((160 + 20) / 2)   # the July purchase is after as_of
    # per account: W1 10 Jan, 1 Mar (2); S1 10 Jan, 11 Jan (2); W2 1 Feb (1); S2 2 Feb (1)
    assert comp.loc["buying units", "per_account"] == 4
    assert comp.loc["share with a repeat purchase", "per_account"] == pytest.approx(0.5)
    assert comp.loc["mean repeat purchases", "per_account"] == pytest.approx(0.5)
    keyed = attach_customer_id(tx, amap)
    for key, col in (("customer_id", "per_customer"), ("account_id", "per_account")):
        shared = repeat_buyers(keyed, key, as_of=as_of, timezone=tz)
        assert comp.loc["share with a repeat purchase", col] == pytest.approx(shared["repeat_share"])
        assert comp.loc["mean repeat purchases", col] == pytest.approx(shared["mean_repeat_purchases"])
        assert comp.loc["buying units", col] == shared["buyers"]
    # in UTC, S1's second purchase falls on 10 Jan, the day C1 already bought on: C1 has 2 days
    utc = integration.integration_comparison(tx, amap, as_of, "UTC").set_index("measure")
    assert utc.loc["mean purchase days", "per_customer"] == pytest.approx(2.0)
    # the distribution of purchase days, up to the as-of date
    dist = integration.purchase_count_distribution(tx, amap, top=3, as_of=as_of, timezone=tz).set_index(["view", "purchases"])
    assert dist.loc[("per customer", "3+"), "units"] == 1 and dist.loc[("per customer", "2"), "units"] == 1
    assert dist.loc[("per account", "2"), "units"] == 2 and dist.loc[("per account", "1"), "units"] == 2
    summary = integration.purchase_summary(keyed, "customer_id", as_of, tz)
    assert summary["purchase_days"].to_dict() == {"C1": 3, "C2": 2} and summary["n_transactions"].to_dict() == {"C1": 5, "C2": 3}
    assert summary["repeat_purchases"].to_dict() == {"C1": 2, "C2": 1}


def test_internet_only_comparison_counts_purchase_days():
    tx, amap = _same_day_world()
    flags = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "internet_only": [True, False, False]})
    cmp_ = reach.compare_customer_groups(flags, attach_customer_id(tx, amap), ("web", "rest"), as_of="2025-06-30",
                                         timezone="Asia/Seoul").set_index("group")
    assert cmp_.loc["web", "mean_purchase_days"] == 3 and cmp_.loc["web", "repeat_buyer_share"] == 1.0
    assert cmp_.loc["web", "mean_total_spend"] == pytest.approx(160.0)
    # C2 bought on 2 days, C3 never: one repeat buyer of one buyer, 1 purchase day per customer of the group
    assert cmp_.loc["rest", "repeat_buyer_share"] == 1.0 and cmp_.loc["rest", "buyer_share"] == 0.5
    assert cmp_.loc["rest", "mean_purchase_days"] == pytest.approx(1.0)
    assert cmp_.loc["rest", "mean_spend_per_purchase_day"] == pytest.approx(10.0)


def test_channel_mix_uses_local_quarters():
    tx = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "timestamp": _ts("2024-12-31 16:00", "2024-12-31 14:00", "2025-01-15 02:00"),  # Seoul: 2025-01-01 01:00, 2024-12-31 23:00
            "amount": [10.0, 20.0, 30.0],
            "channel": ["web", "store", "store"],
        }
    )
    shares = mix.channel_mix(tx, None, channel_group=GROUPS, timezone="Asia/Seoul", freq="Q")
    q1 = shares[shares["period"] == pd.Timestamp("2025-01-01")].set_index("channel")
    assert q1["n"].to_dict() == {"store": 1, "web": 1} and q1["share"].tolist() == [0.5, 0.5]
    assert shares.loc[shares["period"] == pd.Timestamp("2024-10-01"), "channel"].tolist() == ["store"]
    g = mix.group_mix(shares).set_index(["period", "group"])
    assert g.loc[(pd.Timestamp("2025-01-01"), "internet"), "share"] == 0.5
    chg = mix.group_share_change(tx, "2025-03-31", 3, channel_group=GROUPS, timezone="Asia/Seoul")
    assert chg["recent_share"] == 0.5 and chg["previous_share"] == 0.0 and chg["change"] == 0.5


# -------------------------------------------------------------- conflicts
def test_conflicts_within_and_outside_the_window():
    amap = pd.DataFrame({"account_id": ["P1", "W1", "S1", "P2"], "customer_id": ["X", "X", "X", "Y"]})
    c = _contacts(
        [
            ("P1", "2025-01-01 00:00", "phone", "order_status"),
            ("W1", "2025-01-03 00:00", "web", "order_status"),      # 2 days later through web: conflict
            ("W1", "2025-01-03 12:00", "web", "order_status"),      # same channel again: not a switch
            ("S1", "2025-01-10 00:00", "store", "returns"),
            ("P1", "2025-01-13 12:00", "phone", "returns"),         # 3.5 days: outside a 3-day window
            ("P1", "2025-02-01 00:00", "phone", "complaint"),
            ("P1", "2025-02-02 00:00", "phone", "complaint"),       # same channel: no conflict
            ("S1", "2025-02-05 00:00", "store", "complaint"),       # exactly 3 days after the last phone call: conflict
            ("W1", "2025-02-05 01:00", "web", "billing", "outbound"),   # outbound: ignored
            ("P2", "2025-01-01 00:00", "phone", "billing"),
            ("P2", "2025-01-01 01:00", "phone", "order_status"),    # another purpose: no conflict
        ]
    )
    conf = conflicts.channel_conflicts(c, amap, window_days=3)
    assert list(zip(conf["purpose"], conf["first_channel"], conf["second_channel"])) == [
        ("complaint", "phone", "store"),
        ("order_status", "phone", "web"),
    ]
    assert conf["gap_days"].tolist() == [3.0, 2.0]
    assert len(conflicts.channel_conflicts(c, amap, window_days=4)) == 3
    # without identity resolution the accounts look like different customers: no conflict is seen
    assert conflicts.channel_conflicts(c, None, window_days=3).empty
    s = conflicts.conflict_summary(conflicts.channel_conflicts(c, amap, window_days=4), by_purpose=False)
    assert s.set_index(["first_channel", "second_channel"])["conflicts"].to_dict() == {("phone", "store"): 1, ("phone", "web"): 1, ("store", "phone"): 1}


def test_contradictory_identifiers_counts_only():
    acc = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "b1", "b2", "c1", "c2", "d1"],
            "channel": ["web"] * 7,
            "email": ["Kim@Naver.com", " kim@naver.com", "jin@daum.net", "jin.k@daum.net", "noemail@none.com", "z@gmail.com", "q@q.com"],
            "phone": ["010-1111-2222", "+82 10 1111 2222", None, None, "010-3333-4444", "010-5555-6666", None],
        }
    ).astype("string")
    amap = pd.DataFrame({"account_id": ["a1", "a2", "b1", "b2", "c1", "c2", "d1"], "customer_id": ["A", "A", "B", "B", "C", "C", "D"]})
    out = conflicts.contradictory_identifiers(acc, amap).set_index("measure")["customers"]
    # A agrees after normalisation; B has two e-mails; C a placeholder (ignored) and two phones
    assert out.tolist() == [3, 1, 1, 2]
    assert not ({"email", "phone"} & set(conflicts.contradictory_identifiers(acc, amap).columns))


# --------------------------------------------------------------- features
def test_feature_product_one_row_per_customer_without_personal_data(small_world, costs):
    accounts, amap, tx, co = small_world
    f = profile.customer_channel_features(amap, accounts=accounts, transactions=tx, contacts=co, channel_costs=costs,
                                     channel_group=GROUPS, timezone="Asia/Seoul")
    assert f["customer_id"].is_unique and sorted(f["customer_id"]) == ["C1", "C2", "C3", "C4", "C5"]
    pii = {c for spec in TABLES.values() for c in spec.pii_columns()} | set(PII_COLUMNS)
    assert not (pii & set(f.columns))
    r = f.set_index("customer_id")
    assert r.loc["C1", "n_accounts"] == 2 and r.loc["C1", "n_purchases"] == 3 and r.loc["C1", "n_channels"] == 2
    assert r.loc["C1", "share_purchases_web"] == pytest.approx(2 / 3) and r.loc["C1", "share_purchases_app"] == pytest.approx(1 / 3)
    assert r.loc["C2", "share_purchases_web"] == 1.0            # no channel on the row: its account's channel
    assert r.loc["C3", "share_contacts_email"] == 0.5 and r.loc["C3", "cost_to_serve"] == 0.0   # e-mail and mail carry no cost here
    assert r.loc["C4", "cost_to_serve"] == 60.0 and r.loc["C4", "internet_only"]
    assert math.isnan(r.loc["C5", "share_purchases_web"]) and r.loc["C5", "n_purchases"] == 0
    assert r.loc["C3", "offhours_share"] == 1.0                 # 2025-01-10 12:00 UTC is Friday 21:00 in Seoul; the outbound mail does not count
    assert math.isnan(r.loc["C1", "offhours_share"])            # no contact
    assert r.loc["C1", "first_seen"] == pd.Timestamp("2024-01-01", tz="UTC") and r.loc["C1", "last_seen"] == pd.Timestamp("2025-03-01", tz="UTC")
    share_cols = [c for c in f.columns if c.startswith("share_purchases_")]
    sums = f[share_cols].sum(axis=1, min_count=1).dropna()
    assert np.allclose(sums, 1.0)
    ov = profile.feature_overview(f).set_index("column")
    assert ov.loc["n_purchases", "mean"] == pytest.approx(5 / 5)
    for c in ("n_purchases", "share_purchases_web", "internet_only", "offhours_share", "cost_to_serve"):  # as pandas counts them
        s = f[c].astype(float)
        assert ov.loc[c, ["mean", "median", "missing_share"]].tolist() == pytest.approx([s.mean(), s.median(), s.isna().mean()])
    assert "customer_id" not in ov.index and "first_seen" not in ov.index  # text and times are no features to summarise
    mixed = f.assign(note=pd.Series(["x", 1, None, 2.5, "y"][: len(f)] + [None] * (len(f) - 5), dtype=object))
    pd.testing.assert_frame_equal(profile.feature_overview(mixed).set_index("column"), ov)  # mixed text is skipped, not an error


def test_feature_cost_to_serve_covers_the_cost_window_and_adds_up_to_the_report_total(costs):
    """cost_to_serve is read downstream as the cost of the channel report's window (time_window_months to the
    as-of date): it must price the same contacts as cost_to_serve_total, not every contact since the data began."""
    amap = pd.DataFrame({"account_id": ["a1", "a2", "b1", "c1"], "customer_id": ["A", "A", "B", "C"]})
    co = _contacts([
        ("a1", "2023-03-01 01:00", "phone", "billing"),     # before the 12-month window: not in it
        ("a1", "2024-06-30 14:59", "store", "billing"),     # 23:59 on 30 June 2024 in Seoul: the day before the window
        ("a2", "2024-06-30 15:00", "phone", "complaint"),   # 00:00 on 1 July 2024 in Seoul: first moment of the window, 9000
        ("b1", "2025-01-09 01:00", "store", "returns"),     # 15000
        ("b1", "2025-06-30 14:00", "app", None),            # 23:00 on the as-of date: 60
        ("c1", "2023-12-01 01:00", "store", "billing"),     # C contacted us only before the window: cost 0 in it
        ("zz", "2025-02-01 01:00", "phone", "billing"),     # account missing from the map: its own customer, 6000
    ])
    as_of, months, tz = "2025-06-30", 12, "Asia/Seoul"
    f = profile.customer_channel_features(amap, contacts=co, channel_costs=costs, timezone=tz, as_of=as_of, window_months=months)
    per_customer = f.set_index("customer_id")["cost_to_serve"]
    assert per_customer.to_dict() == {"A": 9000.0, "B": 15060.0, "C": 0.0, "zz": 6000.0}
    # the channel report's cost_to_serve_total: every contact of the window priced, as its notebook does
    total = float(cost.cost_contacts(common.in_window(co, as_of, months, tz), costs).cost.sum().execute())
    assert per_customer.sum() == total == 9000.0 + 15060.0 + 6000.0
    # counts stay over every record; without a window the cost covers every contact, as before
    assert f.set_index("customer_id")["n_contacts"].to_dict() == {"A": 3, "B": 2, "C": 1, "zz": 1}
    every = profile.customer_channel_features(amap, contacts=co, channel_costs=costs, timezone=tz).set_index("customer_id")["cost_to_serve"]
    assert every.to_dict() == {"A": 6000.0 + 12000.0 + 9000.0, "B": 15060.0, "C": 12000.0, "zz": 6000.0}
    with pytest.raises(ValueError, match="as_of"):
        profile.customer_channel_features(amap, contacts=co, channel_costs=costs, window_months=12)


def test_self_account_map_without_accounts():
    a = pd.DataFrame({"account_id": ["b", "a", "b"]})
    m = common.self_account_map(a, None, pd.DataFrame({"account_id": ["c"]}))
    assert m["account_id"].tolist() == ["a", "b", "c"] and (m["customer_id"] == m["account_id"]).all()
    assert set(m["link_rule"]) == {"singleton"}


def test_identity_accuracy_adds_true_persons():
    amap = pd.DataFrame({"account_id": list("abcd"), "customer_id": ["X", "X", "Y", "Z"]})
    truth = pd.DataFrame({"account_id": list("abcd"), "person_id": ["1", "1", "2", "2"]})
    r = integration.identity_accuracy(amap, truth)
    assert (r["precision"], r["recall"], r["n_true_persons"]) == (1.0, 0.5, 2)
    assert r["customers_per_person"] == 1.5


def test_wilson_interval_against_scipy():
    from scipy.stats import binomtest

    for k, n in ((0, 6), (5, 10), (179, 1099), (3, 65)):
        lo, hi = wilson_interval(k, n)
        ref = binomtest(k, n).proportion_ci(method="wilson")
        assert float(lo) == pytest.approx(ref.low, abs=1e-9) and float(hi) == pytest.approx(ref.high, abs=1e-9)


def test_lead_conversion_by_hand():
    c = _contacts(
        [
            ("L1", "2018-01-01 02:00", "paid_search", "lead_sign_up"),
            ("L1", "2018-01-05 02:00", "social", "lead_sign_up"),     # a later contact does not change the origin
            ("L2", "2018-01-01 02:00", "paid_search", "lead_sign_up"),
            ("L3", "2018-01-01 02:00", "social", "lead_sign_up"),
            ("L4", "2018-01-03 02:00", "social", "lead_sign_up"),
        ]
    )
    deals = pd.DataFrame({"account_id": ["L1", "L4", "L9"], "won_date": ["2018-01-11 00:00:00", "2018-01-02 00:00:00", "2018-02-01 00:00:00"]})
    conv = datasets.lead_conversion(c, deals, timezone="America/Sao_Paulo").set_index("channel")
    assert conv.loc["paid_search", ["n_leads", "n_closed"]].tolist() == [2, 1]
    assert conv.loc["social", ["n_leads", "n_closed"]].tolist() == [2, 1]
    assert conv.loc["paid_search", "median_days_to_close"] == pytest.approx(10.0)   # 02:00 UTC is midnight in Sao Paulo
    assert math.isnan(conv.loc["social", "median_days_to_close"])                  # won before the first contact
    assert conv.attrs["closed_without_lead"] == 1 and conv.attrs["negative_time_to_close"] == 1
    best = datasets.best_origin(conv.reset_index(), min_leads=2)
    assert best["channel"] in {"paid_search", "social"} and best["conversion"] == 0.5
    assert datasets.best_origin(conv.reset_index(), min_leads=3) is None


def test_plots_return_axes(small_world, costs, priced_contacts):
    accounts, amap, tx, co = small_world
    shares = mix.channel_mix(tx, co, accounts=accounts, channel_group=GROUPS, timezone="Asia/Seoul", freq="M")
    axes = cplots.plot_channel_mix(shares)
    assert len(axes) == 2 and axes[0].get_ylabel() == "share of purchases"
    ax = cplots.plot_purchase_distribution(integration.purchase_count_distribution(tx, amap))
    assert ax.get_ylabel() == "share of buyers"
    axes = cplots.plot_cost_to_serve(cost.cost_summary(cost.cost_contacts(priced_contacts, costs)), "KRW")
    assert "KRW" in axes[0].get_xlabel()
    ax = cplots.plot_hourly_contacts(reach.hourly_contacts(co, channel_group=GROUPS, timezone="Asia/Seoul"))
    assert ax.get_xlabel() == "hour of day (local time)"
    ax = cplots.plot_conflicts(conflicts.conflict_summary(conflicts.channel_conflicts(co, amap)))
    assert ax.texts  # empty: says so
    plt.close("all")


# ------------------------------------------------------ default data, truth
@pytest.fixture(scope="module")
def default_tables():
    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.load import load_sources

    cfg = load_config(DEFAULT_CONFIG)
    return cfg, load_sources(cfg).tables


@pytest.fixture(scope="module")
def truth_map():
    t = pd.read_csv(DEFAULT_CONFIG.parent / "truth" / "persons.csv", dtype="string", usecols=["account_id", "person_id"])
    return t.rename(columns={"person_id": "customer_id"})


def test_night_owls_are_found_among_offhours_customers(default_tables, truth_map):
    cfg, T = default_tables
    off = reach.offhours_reach(T["contacts"], truth_map, timezone=cfg.timezone, office_hours=(9, 18)).set_index("customer_id")
    lat = pd.read_csv(DEFAULT_DATA_DIR / "truth" / "person_latents.csv", dtype={"person_id": str}).set_index("person_id")
    owl = lat["night_owl"].reindex(off.index).astype(bool)
    rate_off = owl[off["any_offhours"]].mean()
    rate_rest = owl[~off["any_offhours"]].mean()
    assert rate_off > 10 * rate_rest, (rate_off, rate_rest)
    assert off.loc[owl, "any_offhours"].mean() > 0.95          # nearly every contacting night owl is found
    assert off.loc[owl, "offhours_share"].mean() > off.loc[~owl, "offhours_share"].mean() + 0.2


def test_conflicts_match_the_generated_ones(default_tables, truth_map):
    cfg, T = default_tables
    truth = json.loads((DEFAULT_DATA_DIR / "truth" / "truth.json").read_text(encoding="utf-8"))
    n_true = truth["contacts"]["channel_conflict_rows"]
    conf = conflicts.channel_conflicts(T["contacts"], truth_map, window_days=3)
    prone = conf["purpose"].isin(["order_status", "returns", "billing", "complaint"])
    # the generator repeats these purposes through another channel within two days (phone and mail moved to weekdays)
    assert 0.8 * n_true <= prone.sum() <= 1.1 * n_true, (prone.sum(), n_true)
    assert prone.mean() > 0.95                                  # other purposes rarely switch by chance
    assert (conf["first_channel"] != conf["second_channel"]).all()


# --------------------------------------------------------------- real data
@pytest.mark.shared_data
def test_ifood_against_pandas(shared_data):
    raw = pd.read_csv(shared_data / "ifood_marketing_campaign" / "ml_project1_data.csv")
    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.paths import CONFIG_DIR
    from ecrm_lib.data.load import load_sources

    customers = load_sources(load_config(CONFIG_DIR / "ifood.yaml")).tables["customers"]
    imix = datasets.ifood_channel_mix(customers)
    assert len(imix) == len(raw)
    n = raw["NumWebPurchases"] + raw["NumCatalogPurchases"] + raw["NumStorePurchases"]
    web = raw["NumWebPurchases"] / n.where(n > 0)
    ref = pd.DataFrame({"band": pd.cut(web, [0, 0.25, 0.5, np.inf], right=False, labels=["low", "mid", "high"]), "r": raw["Response"],
                        "spend": raw.filter(like="Mnt").sum(axis=1)})
    exp = ref.groupby("band", observed=True).agg(n=("r", "size"), rate=("r", "mean"), spend=("spend", "mean"))
    got = datasets.ifood_response_by(imix, "web_band")
    assert got["n_customers"].tolist() == exp["n"].tolist()
    assert np.allclose(got["response_rate"], exp["rate"]) and np.allclose(got["mean_spend"], exp["spend"])
    assert datasets.ifood_web_share_effect(got) == pytest.approx(exp["rate"].iloc[-1] - exp["rate"].iloc[0])
    counts = raw[["NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases"]].to_numpy()
    single_max = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1
    dom = np.where(n == 0, "none", np.where(single_max, np.array(["web", "catalog", "store"])[counts.argmax(axis=1)], "mixed"))
    by_dom = datasets.ifood_response_by(imix, "dominant_channel").set_index("dominant_channel")
    exp_dom = pd.Series(raw["Response"].to_numpy()).groupby(dom).agg(["size", "mean"])
    assert by_dom["n_customers"].to_dict() == exp_dom["size"].to_dict()
    assert np.allclose(by_dom["response_rate"].sort_index(), exp_dom["mean"].sort_index())
    accepted = raw.filter(like="AcceptedCmp").sum(axis=1) > 0
    assert by_dom["accepted_any_rate"].sort_index().to_numpy() == pytest.approx(pd.Series(accepted.to_numpy()).groupby(dom).mean().sort_index().to_numpy())


@pytest.mark.shared_data
def test_olist_against_pandas(shared_data):
    from scipy.stats import binomtest

    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.paths import CONFIG_DIR
    from ecrm_lib.data.load import load_sources

    folder = shared_data / "olist_marketing_funnel"
    leads = pd.read_csv(folder / "olist_marketing_qualified_leads_dataset.csv").dropna(subset=["origin"])
    deals = pd.read_csv(folder / "olist_closed_deals_dataset.csv")
    m = leads.merge(deals[["mql_id", "won_date"]], on="mql_id", how="left")
    m["closed"] = m["won_date"].notna()
    days = (pd.to_datetime(m["won_date"]) - pd.to_datetime(m["first_contact_date"])).dt.total_seconds() / 86400
    m["days"] = days.where(days >= 0)
    exp = m.groupby("origin").agg(n=("closed", "size"), k=("closed", "sum"), med=("days", "median"))

    cfg = load_config(CONFIG_DIR / "olist_funnel.yaml")
    T = load_sources(cfg).tables
    conv = datasets.lead_conversion(T["contacts"], T["customers"], timezone=cfg.timezone).set_index("channel").sort_index()
    assert conv["n_leads"].to_dict() == exp["n"].to_dict() and conv["n_closed"].to_dict() == exp["k"].to_dict()
    # wall-clock days in Sao Paulo; daylight-saving changes move a few by an hour
    assert np.allclose(conv["median_days_to_close"], exp["med"], atol=1 / 24 + 1e-9)
    for origin in ("paid_search", "email"):
        ci = binomtest(int(exp.at[origin, "k"]), int(exp.at[origin, "n"])).proportion_ci(method="wilson")
        assert conv.at[origin, "ci_low"] == pytest.approx(ci.low) and conv.at[origin, "ci_high"] == pytest.approx(ci.high)
    assert conv.attrs["closed_without_lead"] == int((~deals["mql_id"].isin(leads["mql_id"])).sum())
    best = datasets.best_origin(conv.reset_index(), min_leads=100)
    ok = exp[(exp["n"] >= 100) & (exp.index != "unknown")]
    assert best["channel"] == (ok["k"] / ok["n"]).idxmax()


# ------------------------------------------------------------ in the engine
@pytest.fixture
def engine_world(tmp_path, small_world, costs):
    """small_world as Parquet files read by a DuckDB connection (as RunContext.table gives them), and as DataFrames."""
    import ibis

    accounts, amap, tx, co = small_world
    con = ibis.duckdb.connect()
    bound = {}
    for name, df in (("accounts", accounts), ("account_map", amap), ("transactions", tx), ("contacts", co)):
        path = tmp_path / f"{name}.parquet"
        df.to_parquet(path, index=False)
        bound[name] = con.read_parquet(path)
    return bound, {"accounts": accounts, "account_map": amap, "transactions": tx, "contacts": co}, costs


def test_engine_tables_give_the_same_results_as_frames(engine_world):
    bound, frames, costs = engine_world
    for T in (bound, frames):
        s = integration.integration_summary(T["account_map"], T["accounts"], T["transactions"], T["contacts"])
        assert (s["n_accounts"], s["n_customers"], s["n_multichannel"]) == (7, 5, 3)
    kw = dict(channel_group=GROUPS, timezone="Asia/Seoul", freq="M")
    pd.testing.assert_frame_equal(mix.channel_mix(bound["transactions"], bound["contacts"], accounts=bound["accounts"], **kw),
                                  mix.channel_mix(frames["transactions"], frames["contacts"], accounts=frames["accounts"], **kw))
    f_bound = profile.customer_channel_features(bound["account_map"], accounts=bound["accounts"], transactions=bound["transactions"],
                                                contacts=bound["contacts"], channel_costs=costs, channel_group=GROUPS, timezone="Asia/Seoul")
    f_frame = profile.customer_channel_features(frames["account_map"], accounts=frames["accounts"], transactions=frames["transactions"],
                                                contacts=frames["contacts"], channel_costs=costs, channel_group=GROUPS, timezone="Asia/Seoul")
    pd.testing.assert_frame_equal(f_bound, f_frame)
    co_bound = attach_customer_id(bound["contacts"], bound["account_map"])
    by_customer = cost.customer_costs(cost.cost_contacts(co_bound, costs)).set_index("customer_id")["cost_to_serve"]
    assert by_customer.to_dict() == {"C3": 0.0, "C4": 60.0}          # e-mail and mail have no cost here
    assert reach.offhours_reach(co_bound, timezone="Asia/Seoul")["customer_id"].tolist() == ["C3", "C4"]


def test_feature_product_written_from_the_engine_reads_back_as_the_frame(engine_world, tmp_path, monkeypatch):
    """The customer_channels product is written by the engine (RunContext.write_product of the table: DuckDB's
    COPY) and reads back with the frame's values and dtypes; its overview computed in the engine is pandas'."""
    import ibis

    from ecrm_lib.data import tables
    from ecrm_lib.data.tables import write_parquet

    def no_arrow_writer(*args, **kwargs):
        raise AssertionError("on DuckDB the engine writes the file (COPY), not pyarrow in Python")

    monkeypatch.setattr(tables.pq, "write_table", no_arrow_writer)
    bound, frames, costs = engine_world
    kw = dict(accounts=bound["accounts"], transactions=bound["transactions"], contacts=bound["contacts"], channel_costs=costs,
              channel_group=GROUPS, timezone="Asia/Seoul")
    table = profile.customer_channel_table(bound["account_map"], **kw)
    path = tmp_path / "customer_channels.parquet"
    write_parquet(table, path)
    back = pd.read_parquet(path)
    frame = profile.customer_channel_features(bound["account_map"], **kw)
    pd.testing.assert_frame_equal(back, frame)
    assert str(back["customer_id"].dtype) == "string" and back["customer_id"].tolist() == sorted(back["customer_id"])
    con = ibis.get_backend(bound["accounts"])
    on_engine = profile.feature_overview(con.read_parquet(path))
    pd.testing.assert_frame_equal(on_engine, profile.feature_overview(frame))
    assert on_engine.set_index("column").loc["offhours_share", "missing_share"] == pytest.approx(3 / 5)


def test_only_aggregates_or_per_customer_rows_leave_the_engine(monkeypatch, costs):
    """With 400 contacts and 200 purchases of 4 customers, no result brought into pandas has more rows than customers x channels."""
    import ibis

    rng = np.random.default_rng(3)
    n = 400
    channels = np.array(["phone", "web", "store", "app"])
    contacts = pd.DataFrame({
        "account_id": pd.array(rng.choice(["a1", "a2", "b1", "c1"], n), dtype="string"),
        "timestamp": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 180 * 24, n), unit="h"),
        "channel": pd.array(rng.choice(channels, n), dtype="string"),
        "purpose": pd.array(rng.choice(["billing", "returns"], n), dtype="string"),
        "direction": pd.array(["inbound"] * n, dtype="string"),
    })
    tx = pd.DataFrame({"account_id": contacts["account_id"][:200], "timestamp": contacts["timestamp"][:200],
                       "amount": rng.uniform(1, 100, 200), "channel": contacts["channel"][:200]})
    amap = pd.DataFrame({"account_id": ["a1", "a2", "b1", "c1"], "customer_id": ["A", "A", "B", "C"]})
    fetched = []
    execute = ibis.expr.types.Table.execute

    def counting(self, *args, **kwargs):
        out = execute(self, *args, **kwargs)
        fetched.append(len(out))
        return out

    monkeypatch.setattr(ibis.expr.types.Table, "execute", counting)
    integration.integration_comparison(tx, amap, "2025-06-30")
    integration.purchase_count_distribution(tx, amap)
    mix.channel_mix(tx, contacts, freq="M")
    cost.cost_summary(cost.cost_contacts(as_ibis(contacts), costs), "channel")
    reach.offhours_reach(contacts, amap, timezone="Asia/Seoul")
    reach.hourly_contacts(contacts, timezone="Asia/Seoul")
    profile.customer_channel_features(amap, transactions=tx, contacts=contacts, channel_costs=costs, timezone="Asia/Seoul")
    assert fetched and max(fetched) <= 24 * 2 * 4, max(fetched)   # hours x day types x channels at most; never the 400 rows
    fetched.clear()
    conflicts.channel_conflicts(contacts, amap, window_days=0.5)
    assert max(fetched) < n                                        # only the conflicts, not every contact


def as_ibis(df):
    from ecrm_lib.data.tables import as_table

    return as_table(df)


def test_local_hours_follow_daylight_saving_time():
    # Berlin: 01:30 UTC is 02:30 local in winter time (Fri 28 March, Mon 27 October) and 03:30 in summer time (Mon 31 March)
    ts = pd.Series(_ts("2025-03-28 01:30", "2025-03-31 01:30", "2025-10-27 01:30"))
    assert reach.is_offhours(ts, "Europe/Berlin", (3, 18)).tolist() == [True, False, True]
    hourly = reach.hourly_contacts(pd.DataFrame({"account_id": ["a"] * 3, "timestamp": ts, "channel": ["web"] * 3}), timezone="Europe/Berlin")
    assert hourly.set_index("hour")["n"].to_dict() == {2: 2, 3: 1}


def test_notebooks_never_load_transactions_or_contacts_into_pandas():
    from ecrm_lib.core.paths import NOTEBOOKS_DIR

    for name in ("00_data_overview.ipynb", "10_channel_integration.ipynb"):
        nb = json.loads((NOTEBOOKS_DIR / name).read_text(encoding="utf-8"))
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        for table in ("transactions", "contacts", "feedback", "campaigns"):
            assert f'frame("{table}")' not in code, (name, table)
        assert "ctx.table(" in code, name


def test_isin_text_answers_as_pandas_isin_of_the_ids_as_text():
    from ecrm_lib.data.tables import isin_text

    rng = np.random.default_rng(5)
    ids = pd.Series([f"C{i:05d}" for i in rng.integers(0, 3000, 5000)] + [None, "C00007"], dtype="string")
    cands = [f"C{i:05d}" for i in rng.integers(0, 3000, 800)] + [None, "not an id"]
    expected = (ids.isin(cands) & ids.notna()).to_numpy(dtype=bool)  # pandas finds a missing id among candidates with None
    got = isin_text(ids, cands)
    assert got.dtype == bool and len(got) == len(ids) and (got == expected).all() and 0 < got.sum() < len(ids)
    assert not got[-2]                                              # a missing id is in no list, not even one holding None
    # ids of another type are compared as text; an Index and a numpy array work as well as a Series
    assert isin_text(pd.Index([1, 2, 3]), np.array(["2", "3"])).tolist() == [False, True, True]

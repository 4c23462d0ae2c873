"""The channel profile (``customer_channels``) counts purchases as every other page does: purchase days, all of a
customer's transactions on one local calendar day being one purchase (``ecrm_lib.data.overview.repeat_buyers``)."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm_lib.channels import profile
from ecrm_lib.data.overview import repeat_buyers
from ecrm_lib.seef.clusters import feature_label


def _world():
    accounts = pd.DataFrame({"account_id": ["a1", "a2", "b1", "c1"], "channel": ["store", "web", "web", "app"]})
    amap = pd.DataFrame({"account_id": ["a1", "a2", "b1", "c1"], "customer_id": ["A", "A", "B", "C"]})
    tx = pd.DataFrame({
        "account_id": ["a1", "a2", "a1", "b1", "b1", "b1", "c1", "c1"],
        "timestamp": pd.to_datetime([
            "2025-01-01 15:30", "2025-01-02 10:00",  # A: 00:30 and 19:00 on 2 January in Seoul, two channels: one purchase day
            "2025-02-10 03:00",                      # A: a second day
            "2025-03-01 01:00", "2025-03-01 02:00", "2025-03-01 05:00",  # B: three transactions on one day
            "2025-03-05 01:00",                      # C: one day up to the as-of date ...
            "2025-07-02 01:00",                      # ... and one after it (not counted)
        ], utc=True),
        "amount": [10.0, 20.0, 5.0, 1.0, 1.0, 1.0, 7.0, 7.0],
    })
    return accounts, amap, tx


def test_n_purchases_counts_local_purchase_days_not_transactions():
    accounts, amap, tx = _world()
    f = profile.customer_channel_features(amap, accounts=accounts, transactions=tx, timezone="Asia/Seoul", as_of="2025-06-30")
    r = f.set_index("customer_id")
    assert r["n_purchases"].to_dict() == {"A": 2, "B": 1, "C": 1}  # transactions: 3, 3 and 2
    assert r.loc["A", "share_purchases_store"] == pytest.approx(2 / 3)  # the channel shares stay shares of transactions
    # the same figure as the data overview's and the customer-value page's repeat purchases
    with_customer = tx.merge(amap, on="account_id")
    rb = repeat_buyers(with_customer, "customer_id", as_of="2025-06-30", timezone="Asia/Seoul")
    assert rb["mean_repeat_purchases"] == pytest.approx((f["n_purchases"] - 1).mean())
    assert rb["repeat_buyers"] == int((f["n_purchases"] > 1).sum())
    utc = profile.customer_channel_features(amap, accounts=accounts, transactions=tx, timezone="UTC", as_of="2025-06-30")
    assert utc.set_index("customer_id").loc["A", "n_purchases"] == 3  # the day is the local calendar day


def test_selection_and_evaluation_name_the_profile_count_as_purchase_days():
    from ecrm_lib.core.language import using

    assert feature_label("n_purchases") == feature_label("n_purchase_days") == "purchase days"
    with using("ko"):
        assert feature_label("n_purchases") == "구매일 수"

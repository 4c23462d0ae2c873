import pandas as pd
import pytest

from ecrm_lib.channels.customers import attach_customer_id, count_unmapped, unmapped_note


def test_without_map_each_account_is_a_customer():
    out = attach_customer_id(pd.DataFrame({"account_id": ["A", "B", "A"]}))
    assert out["customer_id"].tolist() == ["A", "B", "A"] and out.attrs["unmapped_accounts"] == 0


def test_map_merges_accounts_and_counts_unmapped_once():
    tx = pd.DataFrame({"account_id": ["W1", "S1", "X9", "X9"], "amount": [1.0, 2.0, 3.0, 4.0]})
    amap = pd.DataFrame({"account_id": ["W1", "S1", "Q"], "customer_id": ["C1", "C1", "C2"]})
    out = attach_customer_id(tx, amap)
    assert out["customer_id"].tolist() == ["C1", "C1", "X9", "X9"]
    assert out.attrs["unmapped_accounts"] == 1
    assert out.groupby("customer_id")["amount"].sum().to_dict() == {"C1": 3.0, "X9": 7.0}
    assert "customer_id" not in tx  # input untouched


def test_duplicate_accounts_in_map_are_an_error():
    amap = pd.DataFrame({"account_id": ["W1", "W1"], "customer_id": ["C1", "C2"]})
    with pytest.raises(ValueError, match="more than once"):
        attach_customer_id(pd.DataFrame({"account_id": ["W1"]}), amap)


def test_engine_tables_get_the_same_customer_ids_as_frames():
    import ibis

    tx = pd.DataFrame({"account_id": ["W1", "S1", "X9", "X9"], "amount": [1.0, 2.0, 3.0, 4.0]})
    amap = pd.DataFrame({"account_id": ["W1", "S1"], "customer_id": ["C1", "C1"]})
    frame = attach_customer_id(tx, amap)
    table = attach_customer_id(ibis.memtable(tx), amap).to_pandas()
    assert sorted(zip(table["account_id"], table["customer_id"], table["amount"])) == sorted(
        zip(frame["account_id"], frame["customer_id"], frame["amount"]))
    assert count_unmapped(ibis.memtable(tx), amap) == frame.attrs["unmapped_accounts"] == 1
    assert count_unmapped(ibis.memtable(tx), ibis.memtable(amap)) == 1 and count_unmapped(tx, None) == 0
    assert unmapped_note({"transactions": 1}) == "1 account in the transactions is not in the identity map; it is kept as its own customer."
    # without a map every account is its own customer
    assert attach_customer_id(ibis.memtable(tx)).to_pandas()["customer_id"].tolist() == tx["account_id"].tolist()

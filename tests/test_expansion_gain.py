"""The gain bar of SEEF 3 (issue 16 item 4) on small hand-made tables: look-alikes are proposed only where their
expected gain after cost is positive, in look-alike rank order, and the counts and sums the page shows add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.seef.expansion_gain import apply_gain_bar, gain_bar_reason


def _list(n: int, rng: np.random.Generator) -> pd.DataFrame:
    clv = rng.gamma(1.0, 5000.0, n)
    cost = rng.choice([150.0, 500.0, 6000.0], n)
    below = clv < cost
    eligible = ~below
    return pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(n)], "rank": np.arange(1, n + 1),
                         "score": np.linspace(0.9, 0.1, n), "expanded": eligible & (np.cumsum(eligible) <= 30),
                         "below_contact_cost": below, "clv": clv, "cheapest_cost": cost})


def _scores(ids, rng: np.random.Generator, *, bounds: bool = True) -> pd.DataFrame:
    p = rng.normal(0.0, 400.0, len(ids))
    out = pd.DataFrame({"customer_id": list(ids), "incremental_value": p + 150.0, "channel": "app", "contact_cost": 100.0,
                        "offer_cost": 50.0,
                        "expected_profit": p})
    if bounds:
        out["expected_profit_low"], out["expected_profit_high"] = p - 300.0, p + 300.0
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_only_positive_gains_are_proposed_in_rank_order_and_counts_add_up(seed):
    rng = np.random.default_rng(seed)
    la = _list(200, rng)
    ps = _scores(la["customer_id"].sample(frac=1.0, random_state=seed), rng)  # any row order
    g = apply_gain_bar(la, ps, 40)
    out = g.lookalikes
    assert out["rank"].tolist() == list(range(1, 201))
    profit = ps.set_index("customer_id")["expected_profit"].reindex(out["customer_id"]).to_numpy()
    assert np.allclose(out["expected_profit"], profit)
    prop = out.loc[out["expanded"]]
    assert (prop["expected_profit"] > 0).all()
    positive_ranks = out.loc[out["expected_profit"] > 0, "rank"].tolist()
    assert prop["rank"].tolist() == positive_ranks[:40]  # the look-alike score still ranks them
    s = g.summary
    assert s["proposed"] == len(prop) == 40
    # every look-alike ranked up to the last proposed one is either proposed or left out by the bar
    assert s["proposed"] + s["left_out"] == prop["rank"].max()
    assert s["left_out"] == int(((out["expected_profit"] <= 0) & (out["rank"] < prop["rank"].max())).sum())
    assert s["not_positive"] + len(positive_ranks) + s["unscored"] == len(out)
    assert s["gain"] == pytest.approx(prop["expected_profit"].sum())
    assert s["gain_low"] == pytest.approx(prop["expected_profit"].sum() - 300 * 40)
    assert s["gain_low"] <= s["gain"] <= s["gain_high"]
    # the value bar's proposal is kept for the comparison
    vb = out.loc[out["expanded_value_bar"]]
    assert vb["customer_id"].tolist() == la.loc[la["expanded"], "customer_id"].tolist()
    assert s["value_bar_gain"] == pytest.approx(vb["expected_profit"].sum())
    assert s["value_bar_not_positive"] == int((vb["expected_profit"] <= 0).sum())
    assert s["overlap"] == len(set(vb["customer_id"]) & set(prop["customer_id"]))
    cmp_ = g.comparison.set_index("bar")
    assert cmp_.loc["gain", "customers"] == 40 and cmp_.loc["value", "customers"] == len(vb)
    assert cmp_.loc["gain", "not_positive"] == 0
    assert cmp_.loc["gain", "clv"] == pytest.approx(prop["clv"].sum())
    assert cmp_.loc["value", "cost"] == pytest.approx(150.0 * len(vb))
    assert cmp_.loc["gain", "incremental_value"] - cmp_.loc["gain", "cost"] == pytest.approx(s["gain"])


def test_unscored_look_alikes_are_not_proposed_and_bounds_missing_give_no_interval():
    la = pd.DataFrame({"customer_id": ["a", "b", "c"], "rank": [1, 2, 3], "expanded": [True, True, True],
                       "clv": [10.0, 20.0, 30.0], "cheapest_cost": [1.0, 1.0, 1.0]})
    ps = pd.DataFrame({"customer_id": ["b", "c", "z"], "expected_profit": [4.0, 6.0, 100.0]})
    g = apply_gain_bar(la, ps, 5)
    assert g.lookalikes.set_index("customer_id")["expanded"].to_dict() == {"a": False, "b": True, "c": True}
    assert g.summary["unscored"] == 1 and g.summary["not_positive"] == 0 and g.summary["left_out"] == 1
    assert g.summary["proposed"] == 2 and g.summary["gain"] == 10.0  # 'z' is no look-alike: not counted
    assert np.isnan(g.summary["gain_low"]) and np.isnan(g.summary["gain_high"])
    assert g.comparison.set_index("bar").loc["value", "not_positive"] == 1  # 'a': unknown gain is not positive


def test_fewer_positive_than_asked_and_none_asked():
    la = pd.DataFrame({"customer_id": ["a", "b"], "rank": [1, 2], "expanded": [True, False], "clv": [1.0, 2.0]})
    ps = pd.DataFrame({"customer_id": ["a", "b"], "expected_profit": [-1.0, 3.0]})
    g = apply_gain_bar(la, ps, 10)
    assert g.summary["proposed"] == 1 and g.summary["left_out"] == 1
    assert np.isnan(g.comparison.loc[0, "cost"])  # no cost column: unknown, not zero
    g0 = apply_gain_bar(la, ps, 0)
    assert g0.summary["proposed"] == 0 and g0.summary["left_out"] == 0 and g0.summary["gain"] == 0.0
    # applying the bar twice gives the same list (the value bar's proposal is not overwritten by the gain bar's)
    again = apply_gain_bar(g.lookalikes, ps, 10)
    assert again.lookalikes["expanded_value_bar"].tolist() == [True, False]


def test_reasons_and_errors():
    assert gain_bar_reason(None) == "expansion.gain_missing"
    assert gain_bar_reason(pd.DataFrame(columns=["customer_id", "expected_profit"])) == "expansion.gain_empty"
    assert gain_bar_reason(pd.DataFrame({"customer_id": ["a"], "expected_profit": [0.0]})) is None
    la = pd.DataFrame({"customer_id": ["a"], "rank": [1], "expanded": [True]})
    with pytest.raises(ValueError, match="expected_profit"):
        apply_gain_bar(la, pd.DataFrame({"customer_id": ["a"]}), 1)
    with pytest.raises(ValueError, match="twice"):
        apply_gain_bar(la, pd.DataFrame({"customer_id": ["a", "a"], "expected_profit": [1.0, 2.0]}), 1)
    with pytest.raises(ValueError, match="n_expand"):
        apply_gain_bar(la, pd.DataFrame({"customer_id": ["a"], "expected_profit": [1.0]}), -1)

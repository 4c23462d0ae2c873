"""The feedback loop across runs (ecrm_lib.seef.loop): earlier targets found again and measured."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.seef import loop
from ecrm_lib.seef import matching

D = dt.date


def _maps():
    # earlier run: E1 = {a, b} (target), E2 = {c}, E3 = {d}, E4 = {e, f}, E5 = {g}, E6 = {h}
    earlier = pd.DataFrame({"account_id": list("abcdefgh"),
                            "customer_id": ["E1", "E1", "E2", "E3", "E4", "E4", "E5", "E6"]})
    # today: E1 grew (new account x) -> N1; E2 unchanged; E3 and E5 merged into M; E4 split; E6's account gone
    current = pd.DataFrame({"account_id": list("abcdefgx"),
                            "customer_id": ["N1", "N1", "E2", "M", "P", "Q", "M", "N1"]})
    return earlier, current


def test_bridge_statuses_and_ids():
    earlier, current = _maps()
    b = loop.bridge_customer_ids(earlier, current).set_index("earlier_customer_id")
    assert b.loc["E1", "customer_id"] == "N1" and b.loc["E1", "status"] == "grown"
    assert b.loc["E2", "customer_id"] == "E2" and b.loc["E2", "status"] == "same"
    assert b.loc["E3", "status"] == "merged" and b.loc["E5", "status"] == "merged" and b.loc["E3", "customer_id"] == "M"
    assert b.loc["E4", "status"] == "split" and b.loc["E4", "customer_id"] == "P"  # tie 1-1: smallest id
    assert b.loc["E6", "status"] == "lost" and pd.isna(b.loc["E6", "customer_id"])
    assert b.loc["E1", "shared_accounts"] == 2 and b.loc["E1", "earlier_accounts"] == 2
    counts = loop.bridge_customer_ids(earlier, current).attrs["counts"]
    assert counts == {"same": 1, "grown": 1, "merged": 2, "split": 1, "lost": 1}


def test_bridge_rejects_duplicated_accounts():
    earlier, current = _maps()
    with pytest.raises(ValueError, match="twice"):
        loop.bridge_customer_ids(pd.concat([earlier, earlier.head(1)]), current)


def test_outcomes_window_uses_local_dates():
    # 2024-12-31 16:00 UTC is 2025-01-01 01:00 in Seoul: inside a window that starts after 2024-12-31
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "amount": [10.0, 5.0, 7.0, 1.0],
                       "timestamp": pd.to_datetime(["2024-12-31 16:00", "2025-06-30 14:00", "2024-12-31 14:00",
                                                    "2025-06-30 15:30"], utc=True)})
    out = loop.outcomes_since(tx, D(2024, 12, 31), D(2025, 6, 30), timezone="Asia/Seoul")
    # a: both inside (the second is 23:00 on 30 June local); b: 23:00 on 31 Dec local, outside;
    # c: 00:30 on 1 July local, after the end
    assert out.to_dict("records") == [{"customer_id": "a", "purchases": 2, "revenue": 15.0, "purchased": True}]
    with pytest.raises(ValueError, match="empty"):
        loop.outcomes_since(tx, D(2025, 1, 1), D(2025, 1, 1))


def test_matching_finds_the_nearest_non_targets_within_the_caliper():
    earlier = pd.DataFrame({
        "earlier_customer_id": ["t1", "t2", "c1", "c2", "c3"],
        "selected": [True, True, False, False, False],
        "frequency": [5.0, 50.0, 5.0, 6.0, 0.0],
    })
    m = matching.match_comparable(earlier, features=["frequency"], n_neighbors=2, caliper=0.2)
    # t1 (5) matches c1 (5) and c2 (6); t2 (50) is far from every non-target
    assert m.n_targets == 2 and m.n_matched == 1 and m.n_unmatched == 1
    assert sorted(m.pairs["control"]) == ["c1", "c2"] and set(m.pairs["target"]) == {"t1"}
    assert m.pairs["weight"].tolist() == [0.5, 0.5]
    bal = m.balance.set_index("feature")
    assert bal.loc["frequency", "mean_targets"] == 5.0 and bal.loc["frequency", "mean_matched"] == 5.5
    assert abs(bal.loc["frequency", "std_diff_after"]) < abs(bal.loc["frequency", "std_diff_before"])


def test_compare_outcomes_by_hand():
    pairs = pd.DataFrame({"target": ["t1", "t1", "t2"], "control": ["c1", "c2", "c1"], "distance": 0.0,
                          "weight": [0.5, 0.5, 1.0]})
    m = matching.MatchResult(pairs, pd.DataFrame(), 2, 2, 0, ["x"], 0.25)
    f = pd.DataFrame({"earlier_customer_id": ["t1", "t2", "c1", "c2"], "revenue": [10.0, 4.0, 2.0, 6.0]})
    r = matching.compare_outcomes(f, m, ["revenue"], n_boot=200).iloc[0]
    # t1 - mean(c1, c2) = 10 - 4 = 6; t2 - c1 = 4 - 2 = 2; mean 4
    assert r["targets"] == 7.0 and r["matched_non_targets"] == 3.0 and r["difference"] == 4.0
    assert 2.0 <= r["ci_low"] <= r["difference"] <= r["ci_high"] <= 6.0 and r["n_targets"] == 2


def test_follow_up_matches_earlier_targets_to_later_outcomes():
    earlier_map, current_map = _maps()
    earlier = pd.DataFrame({"customer_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
                            "selected": [True, False, True, False, False, True],
                            "segment": ["A", "A", "B", "B", "A", "B"],
                            "frequency": [3.0, 3.0, 1.0, 2.0, 9.0, 1.0]})
    tx = pd.DataFrame({"customer_id": ["N1", "N1", "E2", "M", "N1"],
                       "timestamp": pd.to_datetime(["2025-02-01", "2025-03-01", "2025-02-01", "2025-02-01", "2024-11-01"]),
                       "amount": [100.0, 50.0, 30.0, 20.0, 999.0]})
    camp = pd.DataFrame({"account_id": list("abcdg"), "campaign_id": "k", "is_control": [False, True, True, False, False],
                         "response": [1, 0, 0, 1, 0], "assigned_at": pd.to_datetime(["2025-03-01"] * 5)})
    res = loop.follow_up(earlier, earlier_map, current_map, tx, D(2024, 12, 31), D(2025, 6, 30), campaigns=camp,
                         features=["frequency"], n_neighbors=1, caliper=1.0, n_boot=0)
    f = res.followed.set_index("earlier_customer_id")
    # E1's purchases are found under its new id N1, the one before the earlier as-of is not counted
    assert f.loc["E1", "customer_id"] == "N1" and f.loc["E1", "purchases"] == 2 and f.loc["E1", "revenue"] == 150.0
    assert f.loc["E2", "purchased"] and not f.loc["E6", "purchased"]
    assert res.left_out["identity merged"] == 2 and res.left_out["identity lost"] == 1 and res.left_out["identity split"] == 1
    # only E1 (target) and E2 (non-target) are usable: E1 is compared with E2
    assert res.match.n_targets == 1 and res.match.pairs[["target", "control"]].to_numpy().tolist() == [["E1", "E2"]]
    cmp_ = res.comparison.set_index("outcome")
    assert cmp_.loc["purchases", "difference"] == 1.0 and cmp_.loc["revenue", "difference"] == 120.0
    # campaign response by earlier group, through the earlier accounts
    rt = res.response_targets.set_index("group")
    assert rt.loc["targets", "n_treatment"] == 2 and rt.loc["targets", "n_control"] == 1  # a, d treated; b control
    assert rt.loc["non-targets", "n_control"] == 1 and rt.loc["non-targets", "n_treatment"] == 1  # c control; g treated
    assert res.campaigns_used == ["k"] and set(res.weights["segment"]) == {"A", "B"}
    assert res.weeks == pytest.approx(181 / 7)


def test_follow_up_without_campaign_gives_no_weights():
    earlier_map, current_map = _maps()
    earlier = pd.DataFrame({"customer_id": ["E1", "E2"], "selected": [True, False], "segment": ["A", "A"],
                            "frequency": [1.0, 1.0]})
    tx = pd.DataFrame({"customer_id": ["N1"], "timestamp": pd.to_datetime(["2025-02-01"]), "amount": [1.0]})
    res = loop.follow_up(earlier, earlier_map, current_map, tx, D(2024, 12, 31), D(2025, 6, 30), n_boot=0)
    assert res.weights is None and res.response_targets is None and res.campaigns_used == []
    with pytest.raises(ValueError, match="before"):
        loop.follow_up(earlier, earlier_map, current_map, tx, D(2025, 6, 30), D(2025, 6, 30))


def test_matching_removes_most_of_the_imbalance_on_random_data():
    rng = np.random.default_rng(1)
    n = 2000
    freq = rng.gamma(1.0, 3.0, n)
    sel = rng.random(n) < 1 / (1 + np.exp(-(freq - 4)))  # targets buy more
    earlier = pd.DataFrame({"earlier_customer_id": [f"C{i}" for i in range(n)], "selected": sel, "frequency": freq})
    m = matching.match_comparable(earlier, features=["frequency"], n_neighbors=3, caliper=0.1)
    b = m.balance.iloc[0]
    assert b["std_diff_before"] > 0.8 and abs(b["std_diff_after"]) < 0.1


def test_products_and_metrics_exist_with_and_without_a_result():
    empty = loop.loop_products(None)
    assert list(empty["loop_followup"].columns) == loop.FOLLOWUP_COLUMNS and empty["loop_followup"].empty
    assert list(empty["segment_weights"].columns) == loop.WEIGHT_COLUMNS
    assert set(loop.loop_metrics(None).values()) == {None}
    earlier_map, current_map = _maps()
    earlier = pd.DataFrame({"customer_id": ["E1", "E2"], "selected": [True, False], "segment": ["A", "B"],
                            "frequency": [1.0, 1.0]})
    tx = pd.DataFrame({"customer_id": ["N1"], "timestamp": pd.to_datetime(["2025-02-01"]), "amount": [1.0]})
    camp = pd.DataFrame({"account_id": list("abc"), "campaign_id": "k", "is_control": [False, True, False],
                         "response": [1, 0, 0], "assigned_at": pd.to_datetime(["2025-03-01"] * 3)})
    res = loop.follow_up(earlier, earlier_map, current_map, tx, D(2024, 12, 31), D(2025, 6, 30), campaigns=camp,
                         features=["frequency"], caliper=1.0, n_boot=0)
    m = loop.loop_metrics(res)
    assert m["loop_earlier_as_of"] == "2024-12-31" and m["loop_n_targets"] == 1 and m["loop_n_compared"] == 1
    assert m["loop_purchase_rate_diff"] is None  # one compared target: below the small-cell threshold
    assert loop.loop_metrics(res, min_cell=1)["loop_purchase_rate_diff"] == 1.0  # E1 (now N1) bought, E2 did not
    assert m["loop_response_uplift_targets"] == 1.0  # target accounts: a treated and responded, b control
    prods = loop.loop_products(res)
    assert len(prods["loop_followup"]) == 2 and list(prods["segment_weights"].columns) == loop.WEIGHT_COLUMNS
    assert m["loop_segments_down_weighted"] == int((prods["segment_weights"]["action"] != "keep").sum())


def test_response_by_group_covers_the_generators_true_uplift_on_the_default_data():
    """Campaign uplift per group against the truth the generator wrote.

    The generator's uplift per person is 0.008 + 0.035 * recent + 0.006 * freq (recent: a purchase in
    the 90 days before assignment; freq: purchases in the 365 days before, capped at 6). The truth is
    recomputed here from the loaded transactions and checked against truth.json's sample mean first.
    """
    import json

    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.paths import DEFAULT_CONFIG
    from ecrm_lib.data.load import load_sources

    cfg = load_config(DEFAULT_CONFIG)
    truth_dir = DEFAULT_CONFIG.parent / "truth"
    truth = json.loads((truth_dir / "truth.json").read_text(encoding="utf-8"))
    p, camp_truth = truth["params"], truth["campaign"]
    res = load_sources(cfg)
    persons = pd.read_csv(truth_dir / "persons.csv")[["account_id", "person_id"]]
    tx = res.tables["transactions"].merge(persons, on="account_id")
    local = tx["timestamp"].dt.tz_convert(cfg.timezone).dt.tz_localize(None).dt.normalize()
    start = pd.Timestamp(truth["start"])
    tx["day"] = (local - start).dt.days
    assigned = pd.Timestamp(camp_truth["assigned_at_local"]).normalize()
    a_day = (assigned - start).days
    before = tx[tx["day"] < a_day]
    last = before.groupby("person_id")["day"].max()
    freq = before[before["day"] >= a_day - 365].groupby("person_id").size().clip(upper=p["campaign_freq_cap"])
    camp = res.tables["campaigns"]
    camp = camp[camp["campaign_id"] == camp_truth["campaign_id"]].merge(persons, on="account_id")
    recent = (a_day - camp["person_id"].map(last)).le(p["campaign_recent_days"]).fillna(False)
    n_year = camp["person_id"].map(freq).fillna(0)
    camp["tau"] = p["uplift_intercept"] + p["uplift_recent"] * recent + p["uplift_per_purchase"] * n_year
    # the recomputed truth is the generator's (its sample mean over the assigned persons)
    assert camp["tau"].mean() == pytest.approx(camp_truth["true_uplift_response_sample"], abs=5e-4)
    camp["group"] = np.where(recent, "bought in the last 90 days", "lapsed")
    measured = loop.response_by_earlier_group(camp, camp[["account_id", "group"]], "group").set_index("group")
    true_tau = camp.groupby("group")["tau"].mean()
    for g in true_tau.index:
        assert measured.loc[g, "ci_low"] <= true_tau[g] <= measured.loc[g, "ci_high"], (g, measured.loc[g].to_dict(), true_tau[g])
    # the group the generator favours responds more, in truth and in the estimate
    assert true_tau["bought in the last 90 days"] > true_tau["lapsed"] + 0.03
    assert measured.loc["bought in the last 90 days", "uplift"] > measured.loc["lapsed", "uplift"]


def test_response_is_measured_within_each_campaign():
    # two campaigns with different control shares and base rates, no effect in either: pooling the arms
    # would show a spurious uplift (Simpson); measured within each campaign it is zero
    rows = []
    for cid, n_t, n_c, rate in (("k1", 900, 100, 0.20), ("k2", 100, 900, 0.02)):
        for arm_ctrl, n in ((False, n_t), (True, n_c)):
            k = int(round(rate * n))
            rows += [{"account_id": f"{cid}-{arm_ctrl}-{i}", "campaign_id": cid, "is_control": arm_ctrl,
                      "response": int(i < k)} for i in range(n)]
    camp = pd.DataFrame(rows)
    groups = camp[["account_id"]].assign(g="all")
    r = loop.response_by_earlier_group(camp, groups, "g").iloc[0]
    pooled = (camp.loc[~camp["is_control"], "response"].mean() - camp.loc[camp["is_control"], "response"].mean())
    assert pooled == pytest.approx(0.144)  # 0.182 - 0.038: the naive pooled difference
    assert r["uplift"] == pytest.approx(0.0, abs=1e-12) and r["ci_low"] < 0 < r["ci_high"] and r["campaigns"] == 2
    # one campaign: Newcombe's interval, as in the campaign section
    one = loop.response_by_earlier_group(camp[camp["campaign_id"] == "k1"], groups, "g").iloc[0]
    from ecrm_lib.core.intervals import newcombe_interval
    assert (one["uplift"], one["ci_low"], one["ci_high"]) == pytest.approx(newcombe_interval(180, 900, 20, 100))


def test_outcomes_and_campaign_response_counted_in_the_engine(tmp_path):
    import ibis

    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "amount": [10.0, 5.5, 7.0, 3.0],
                       "timestamp": pd.to_datetime(["2025-01-01 01:00", "2025-06-29 20:00", "2024-12-30 16:00", "2025-06-30 16:00"],
                                                   utc=True).as_unit("us")})
    tx.to_parquet(tmp_path / "tx.parquet")
    con = ibis.duckdb.connect()
    # local days in Seoul (UTC+9): b's purchase falls on 31 Dec (inside), c's on 1 July (after the window)
    out = loop.outcomes_since(con.read_parquet(tmp_path / "tx.parquet"), dt.date(2024, 12, 30), dt.date(2025, 6, 30),
                              timezone="Asia/Seoul")
    assert out[["customer_id", "purchases", "revenue"]].to_numpy().tolist() == [["a", 2, 15.5], ["b", 1, 7.0]]
    assert out.equals(loop.outcomes_since(tx, dt.date(2024, 12, 30), dt.date(2025, 6, 30), timezone="Asia/Seoul"))
    camp = pd.DataFrame({"account_id": ["x1", "x2", "y1", "y2", "z1"], "campaign_id": "c", "is_control": [False, True, False, True, False],
                         "response": [1, 0, 0, 0, 1], "assigned_at": pd.to_datetime(["2025-02-01"] * 4 + ["2024-11-01"], utc=True)})
    emap = pd.DataFrame({"account_id": ["x1", "x2", "y1", "y2", "z1"], "customer_id": ["X", "X2", "Y", "Y2", "Z"]})
    earlier = pd.DataFrame({"customer_id": ["X", "X2", "Y", "Y2", "Z"], "selected": [True, True, False, False, True],
                            "segment": ["s1", "s1", "s2", "s2", "s1"]})
    rt, rs, w, used = loop.campaign_response(camp, emap, earlier, dt.date(2024, 12, 30), dt.date(2025, 6, 30), timezone="Asia/Seoul")
    assert used == ["c"]  # z1 was assigned before the window
    assert rt.set_index("group").loc["targets", ["n_treatment", "n_control", "uplift"]].tolist() == [1, 1, 1.0]
    assert rs["group"].tolist() == ["s1", "s2"] and w["segment"].tolist() == ["s1", "s2"]
    none = loop.campaign_response(camp.assign(is_control=False), emap, earlier, dt.date(2024, 12, 30), dt.date(2025, 6, 30))
    assert none == (None, None, None, [])  # no control arm in the window: nothing measured


def test_segment_weights_use_simultaneous_intervals_when_no_segment_responds():
    """Issue 13 item 1: eight earlier segments, no true uplift in any. With each segment's own 95 % interval,
    some segment's whole interval falls below zero (and it is removed) in about 1 - 0.975^8 = 18 % of
    campaigns; the weights use simultaneous intervals, so that happens in at most about 2.5 %."""
    rng = np.random.default_rng(7)
    sims, n, k = 40, 400, 8
    removed = removed_raw = 0
    for _ in range(sims):
        seg = np.repeat([f"s{j}" for j in range(k)], 2 * n)
        ids = [f"a{i}" for i in range(len(seg))]
        camp = pd.DataFrame({"account_id": ids, "campaign_id": "c", "is_control": np.tile([False] * n + [True] * n, k),
                             "response": (rng.random(len(seg)) < 0.1).astype(int),
                             "assigned_at": pd.Timestamp("2025-02-01", tz="UTC")})
        emap = pd.DataFrame({"account_id": ids, "customer_id": ids})
        earlier = pd.DataFrame({"customer_id": ids, "selected": False, "segment": seg})
        _, rs, w, _ = loop.campaign_response(camp, emap, earlier, D(2024, 12, 30), D(2025, 6, 30))
        assert w.attrs["family_size"] == k and w.attrs["adjusted_level"] == pytest.approx(1 - 0.05 / k)
        removed += bool((w["action"] == "remove").any())
        removed_raw += bool((rs["ci_high"] <= 0).any())
        assert (w["ci_high"] - w["ci_low"] > rs.set_index("group").loc[w["segment"], "ci_high"].to_numpy()
                - rs.set_index("group").loc[w["segment"], "ci_low"].to_numpy()).all()
    assert removed / sims <= 0.07 and removed_raw > removed

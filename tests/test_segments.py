"""Tests of ecrm_lib.seef.rfm (RFM scores, the segment table), ecrm_lib.seef.clusters and ecrm_lib.seef.scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.seef.clusters import choose_k, cluster_customers, transform_features
from ecrm_lib.seef.rfm import assign_segments, load_segment_table, OTHER_SEGMENT, rfm_scores, score_quintiles, segment_summary, segment_table_gaps, validate_segment_table

# Cells picked by hand from data/segments/rfm_segments.csv, one per segment.
CRAFTED = {
    "Champions": (5, 5, 5),
    "Can't Lose Them": (1, 5, 5),
    "At Risk": (1, 3, 1),
    "Loyal": (3, 3, 1),
    "New Customers": (5, 1, 1),
    "Promising": (4, 1, 3),
    "Potential Loyalist": (5, 2, 4),
    "Need Attention": (3, 1, 4),
    "About to Sleep": (3, 2, 1),
    "Hibernating": (2, 1, 5),
    "Lost": (1, 2, 3),
}


def _scores(cells):
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(len(cells))],
        "r_score": pd.array([c[0] for c in cells], dtype="Int64"),
        "f_score": pd.array([c[1] for c in cells], dtype="Int64"),
        "m_score": pd.array([c[2] for c in cells], dtype="Int64"),
    })


def _table(rows):
    return pd.DataFrame(rows, columns=["segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "priority", "description"])


# --------------------------------------------------------------------------- scores


def test_quintile_scores_ties_share_lowest_score():
    # 10 values: ranks (min) 1,1,1,4,5,...,10 -> 1 + floor(5 * (rank - 1) / 10)
    v = [1, 1, 1, 2, 3, 4, 5, 6, 7, 8]
    ranks = [1, 1, 1, 4, 5, 6, 7, 8, 9, 10]
    expected = [1 + (5 * (r - 1)) // 10 for r in ranks]
    assert score_quintiles(v).tolist() == expected


def test_quintile_scores_ties_never_split_and_order_free():
    rng = np.random.default_rng(1)
    v = rng.integers(0, 4, size=200).astype(float)
    s = score_quintiles(v)
    for value in np.unique(v):
        assert len(np.unique(s[v == value])) == 1
    perm = rng.permutation(200)
    assert np.array_equal(score_quintiles(v[perm]), s[perm])
    assert np.all(score_quintiles(np.ones(7)) == 1)


def test_quintile_scores_distinct_values_equal_groups_and_missing():
    s = score_quintiles(np.arange(100.0))
    assert np.bincount(s.astype(int))[1:].tolist() == [20] * 5
    s2 = score_quintiles([np.nan, 3.0, 1.0])
    assert np.isnan(s2[0]) and s2[1] > s2[2]


def test_rfm_scores_recency_gap_from_T_minus_recency():
    c = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                      "recency": [10.0, 50.0, 0.0, 30.0, 5.0],
                      "T": [100.0, 60.0, 90.0, 40.0, 100.0],
                      "frequency": [1, 2, 3, 4, 5], "monetary_value": [5.0, 4.0, 3.0, 2.0, 1.0]})
    s = rfm_scores(c)
    # gaps 90, 10, 90, 10, 95: smaller gap is better
    assert s["recency_gap"].tolist() == [90.0, 10.0, 90.0, 10.0, 95.0]
    assert s["r_score"].tolist() == [2, 4, 2, 4, 1]
    assert s["f_score"].tolist() == [1, 2, 3, 4, 5]
    assert s["m_score"].tolist() == [5, 4, 3, 2, 1]
    assert s.loc[0, "rfm_code"] == "215"
    with pytest.raises(ValueError, match="recency"):
        rfm_scores(c.drop(columns=["T"]))


# --------------------------------------------------------------------------- segment table


def test_every_named_segment_reached_by_a_crafted_customer():
    table = load_segment_table()
    assert set(table["segment"]) == set(CRAFTED)
    seg = assign_segments(_scores(list(CRAFTED.values())), table)
    assert seg["segment"].tolist() == list(CRAFTED)
    assert len(segment_table_gaps(table)) == 0


def test_priority_decides_overlaps():
    t = _table([["Wide", 1, 5, 1, 5, 1, 5, 2, ""], ["Narrow", 5, 5, 5, 5, 5, 5, 1, ""]])
    seg = assign_segments(_scores([(5, 5, 5), (4, 5, 5)]), validate_segment_table(t))
    assert seg["segment"].tolist() == ["Narrow", "Wide"]
    t2 = t.assign(priority=[1, 2])  # now Wide wins everywhere
    assert assign_segments(_scores([(5, 5, 5)]), t2)["segment"].tolist() == ["Wide"]


def test_other_fallback_for_gaps_and_missing_scores_is_counted():
    t = _table([["Top", 4, 5, 1, 5, 1, 5, 1, "recent"]])
    gaps = segment_table_gaps(t)
    assert len(gaps) == 3 * 25 and set(gaps["r_score"]) == {1, 2, 3}
    sc = _scores([(5, 1, 1), (1, 1, 1), (3, 5, 5)])
    sc.loc[2, "m_score"] = pd.NA
    seg = assign_segments(sc, t)
    assert seg["segment"].tolist() == ["Top", OTHER_SEGMENT, OTHER_SEGMENT]
    values = pd.DataFrame({"customer_id": seg["customer_id"], "clv": [10.0, 30.0, 60.0]})
    summ = segment_summary(seg, values, table=validate_segment_table(t)).set_index("segment")
    assert summ.loc[OTHER_SEGMENT, "customers"] == 2
    assert summ.loc["Top", "customers"] == 1
    assert summ.loc[OTHER_SEGMENT, "value_share"] == pytest.approx(0.9)
    assert summ["customers"].sum() == 3


@pytest.mark.parametrize("rows, message", [
    ([["A", 1, 5, 1, 5, 1, 5, 1, ""], ["B", 3, 3, 3, 3, 3, 3, 1, ""]], r"row 2 \('A'\) and row 3 \('B'\) overlap.*same priority 1"),
    ([["A", 1, 6, 1, 5, 1, 5, 1, ""]], r"row 2 \('A'\) has r_max=6"),
    ([["A", 1, 5, 1, 5, 1, 5, 1, ""], ["B", 4, 2, 1, 5, 1, 5, 2, ""]], r"row 3 \('B'\) has r_min=4 > r_max=2"),
    ([["A", 1, 5, 1, 5, "x", 5, 1, ""]], r"row 2 \('A'\) has m_min='x'"),
    ([["Other", 1, 5, 1, 5, 1, 5, 1, ""]], r"reserved name 'Other'"),
    ([["A", 1, 5, 1, 5, 1, 5, None, ""]], r"priority"),
])
def test_invalid_tables_rejected_naming_the_row(rows, message):
    with pytest.raises(ConfigError, match=message):
        validate_segment_table(_table(rows))


def test_missing_column_and_file(tmp_path):
    with pytest.raises(ConfigError, match="missing column"):
        validate_segment_table(_table([["A", 1, 5, 1, 5, 1, 5, 1, ""]]).drop(columns=["m_max"]))
    p = tmp_path / "seg.csv"
    _table([["A", 1, 5, 1, 5, 1, 5, 1, "x"], ["B", 2, 2, 2, 2, 2, 2, 1, ""]]).to_csv(p, index=False)
    with pytest.raises(ConfigError, match=r"seg.csv: row 2 \('A'\) and row 3 \('B'\)"):
        load_segment_table(p)
    with pytest.raises(ConfigError, match="not found"):
        load_segment_table(tmp_path / "none.csv")


def test_loader_reports_gaps(tmp_path, recwarn):
    p = tmp_path / "gappy.csv"
    _table([["Recent", 4, 5, 1, 5, 1, 5, 1, ""], ["Old", 1, 2, 1, 5, 1, 5, 2, ""]]).to_csv(p, index=False)
    with pytest.warns(UserWarning, match=r"gappy.csv leaves 25 of 125 .*R=3, F=1, M=1"):
        t = load_segment_table(p)
    assert len(segment_table_gaps(t)) == 25
    load_segment_table()  # the shipped table has no gap: no warning
    assert not [w for w in recwarn if "uncovered" in str(w.message)]


# --------------------------------------------------------------------------- clusters


def _blobs(k=4, n_per=150, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8], [8, 8, 8]])[:k]
    X = np.vstack([c + rng.normal(0, 0.7, size=(n_per, 3)) for c in centers])
    return pd.DataFrame(X, columns=["a", "b", "c"]), np.repeat(np.arange(k), n_per)


@pytest.mark.parametrize("true_k", [3, 4])
def test_choose_k_finds_true_k_on_separated_blobs(true_k):
    X, _ = _blobs(true_k)
    scores = choose_k(X, k_min=2, k_max=7, random_state=0, n_init=3)
    assert scores["k"].tolist() == list(range(2, 8))
    assert scores["chosen"].sum() == 1 and scores["elbow"].sum() == 1
    assert int(scores.loc[scores["chosen"], "k"].iloc[0]) == true_k
    assert int(scores.loc[scores["elbow"], "k"].iloc[0]) == true_k
    assert scores["inertia"].is_monotonic_decreasing


def test_transform_logs_skewed_nonnegative_columns():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"money": rng.lognormal(5, 1.5, 500), "sym": rng.normal(0, 1, 500), "const": 1.0})
    Z, logged = transform_features(df, ["money", "sym", "const"])
    assert logged == ["money"]
    assert np.allclose(Z.mean(), 0) and np.allclose(Z[["money", "sym"]].std(ddof=0), 1)
    assert (Z["const"] == 0).all()


def _customers_with_groups(seed=0):
    rng = np.random.default_rng(seed)
    n = 120
    high = np.zeros(3 * n, dtype=bool)
    high[:n] = True
    web = np.zeros(3 * n)
    web[:n] = rng.uniform(0.8, 1.0, n)
    web[n:] = rng.uniform(0.0, 0.1, 2 * n)
    clv = np.where(high, rng.uniform(900, 1100, 3 * n), rng.uniform(40, 60, 3 * n))
    freq = np.concatenate([rng.integers(3, 6, n), rng.integers(0, 2, n), rng.integers(15, 20, n)])
    return pd.DataFrame({"customer_id": [f"id{i:04d}" for i in range(3 * n)], "clv": clv,
                         "share_purchases_web": web, "frequency": freq.astype(float)})


def test_clusters_named_from_profile_and_deterministic():
    df = _customers_with_groups()
    feats = ["clv", "share_purchases_web", "frequency"]
    res = cluster_customers(df, feats, k_min=2, k_max=5, random_state=0)
    assert res.k == 3
    names = dict(zip(res.profiles["cluster"], res.profiles["cluster_name"]))
    high = res.assignments.loc[:119, "cluster"].unique()
    assert len(high) == 1
    assert "high value" in names[high[0]] and "web-first" in names[high[0]]
    rare = res.assignments.loc[120:239, "cluster"].unique()
    assert len(rare) == 1 and "rare buyers" in names[rare[0]]
    # same input, same names; shuffled rows give every customer the same name
    again = cluster_customers(df, feats, k_min=2, k_max=5, random_state=0)
    assert again.assignments.equals(res.assignments)
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    res2 = cluster_customers(shuffled, feats, k_min=2, k_max=5, random_state=0)
    a = res.assignments.set_index("customer_id")["cluster_name"]
    b = res2.assignments.set_index("customer_id")["cluster_name"].reindex(a.index)
    assert (a == b).all()
    # profiles: sizes add up, medians in original units
    assert res.profiles["customers"].sum() == len(df)
    assert res.profiles.loc[res.profiles["cluster"] == high[0], "median_clv"].iloc[0] > 800
    assert len(res.k_scores) == 4


def test_cluster_fixed_k_and_id_not_a_feature():
    df = _customers_with_groups()
    res = cluster_customers(df, ["clv", "frequency"], k=2)
    assert res.k == 2 and res.k_scores.empty
    assert res.profiles["customers"].is_monotonic_decreasing  # cluster 0 = largest
    with pytest.raises(ValueError, match="identifier"):
        cluster_customers(df, ["customer_id", "clv"])


def test_choose_k_rule_smallest_k_within_tolerance():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))  # no real structure: silhouettes are close together
    for tol in (0.0, 0.02, 1.0):
        s = choose_k(X, k_min=2, k_max=6, tolerance=tol, n_init=2)
        expected = s.loc[s["silhouette"] >= s["silhouette"].max() - tol, "k"].min()
        assert int(s.loc[s["chosen"], "k"].iloc[0]) == expected
    assert int(choose_k(X, k_min=2, k_max=6, tolerance=1.0, n_init=2).loc[lambda d: d["chosen"], "k"].iloc[0]) == 2


def test_name_collisions_resolved_with_further_features():
    from ecrm_lib.seef.clusters import name_clusters

    prof = pd.DataFrame({"distinguishing": [
        [("clv", 1.2), ("share_purchases_store", 1.0), ("n_contacts", 0.7)],
        [("clv", 1.1), ("share_purchases_store", 0.9), ("n_contacts", -0.8)],
        [("frequency", -1.0)],
        [],
        [("frequency", -0.9)],
    ]})
    names = name_clusters(prof)
    assert names == ["high value, store-first, often in contact", "high value, store-first, rarely in contact",
                     "rare buyers", "average customers", "rare buyers (2)"]
    assert name_clusters(prof) == names


def test_default_cluster_features_rfm_and_channel_mix_without_useless_columns():
    from ecrm_lib.seef.clusters import default_cluster_features

    c = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_gap": [1.0, 2.0, 9.0], "n_purchase_days": [1, 1, 1],
                      "spend_per_purchase_day": [5.0, np.nan, 7.0], "n_channels": [1, 2, 2],
                      "share_purchases_web": [1.0, 0.0, 0.5], "share_purchases_app": [np.nan] * 3,
                      "share_contacts_web": [0.1, 0.2, 0.3], "clv": [1.0, 2.0, 3.0]})
    # constant purchase days and an all-missing channel drop out; contacts, value and the id are not features
    assert default_cluster_features(c) == ["recency_gap", "spend_per_purchase_day", "n_channels", "share_purchases_web"]
    assert default_cluster_features(c, extra=()) == ["recency_gap", "spend_per_purchase_day", "share_purchases_web"]


# --------------------------------------------------------------------------- clusters at scale


def test_stratified_sample_keeps_each_stratum_share_and_every_row_when_small():
    from ecrm_lib.seef.scale import stratified_sample

    strata = np.array(["big"] * 900 + ["mid"] * 95 + ["tiny"] * 5)
    pos = stratified_sample(strata, 100, random_state=1)
    assert len(pos) == 100 and len(np.unique(pos)) == 100 and (np.diff(pos) > 0).all()
    counts = pd.Series(strata[pos]).value_counts()
    assert counts["big"] == 90 and counts["mid"] in (9, 10) and counts["tiny"] >= 1  # a small stratum is never lost
    assert (stratified_sample(strata, 100, random_state=1) == pos).all()  # seeded
    assert not (stratified_sample(strata, 100, random_state=2) == pos).all()
    assert (stratified_sample(strata, 1000) == np.arange(1000)).all()  # no larger than the sample: every row, in order
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample(strata, 0)


def test_stratified_sample_in_the_engine_draws_the_same_shares_and_is_repeatable():
    import ibis

    from ecrm_lib.seef.scale import stratified_sample, stratified_sample_table

    strata = np.array(["big"] * 900 + ["mid"] * 95 + ["tiny"] * 5)
    df = pd.DataFrame({"id": [f"a{i:04d}" for i in range(1000)], "group": strata, "flag": np.arange(1000) % 2 == 0})
    df.loc[:2, "group"] = None  # a missing value is a stratum of its own
    table = ibis.duckdb.connect().create_table("rows", df)
    sample, n = stratified_sample_table(table, ["group"], 100, "id", random_state=1)
    got = sample.to_pandas()
    assert n == 1000 and len(got) == 100 and got["id"].is_unique and got["id"].is_monotonic_increasing
    # the same number per stratum as the numpy sample (the same quotas), not the same rows
    labels = df["group"].fillna("<missing>")
    expected = labels.iloc[stratified_sample(labels, 100, random_state=1)].value_counts()
    assert got["group"].fillna("<missing>").value_counts().sort_index().equals(expected.sort_index())
    assert set(stratified_sample_table(table, ["group"], 100, "id", random_state=1)[0].to_pandas()["id"]) == set(got["id"])
    assert set(stratified_sample_table(table, ["group"], 100, "id", random_state=2)[0].to_pandas()["id"]) != set(got["id"])
    two, _ = stratified_sample_table(table, ["group", "flag"], 100, "id")
    assert len(two.to_pandas()) == 100
    whole, n = stratified_sample_table(table, ["group"], 1000, "id")
    assert whole is table and n == 1000  # no larger than the sample: the table as it is
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample_table(table, ["group"], 0, "id")


def test_clusters_fitted_on_a_sample_assign_every_customer_like_the_full_fit():
    df = _customers_with_groups()
    feats = ["clv", "share_purchases_web", "frequency"]
    full = cluster_customers(df, feats, k_min=2, k_max=5, random_state=0)
    assert full.n_fit == len(df)
    strata = np.repeat(["a", "b", "c"], 120)
    part = cluster_customers(df, feats, k_min=2, k_max=5, random_state=0, fit_size=90, strata=strata)
    assert part.n_fit == 90 and part.k == full.k == 3
    assert part.assignments["cluster"].notna().all() and len(part.assignments) == len(df)
    assert part.profiles["customers"].sum() == len(df)  # sizes and profiles over every customer, not the sample
    assert (part.assignments["cluster"] == full.assignments["cluster"]).all()  # separated groups: the same clusters
    assert (part.assignments["cluster_name"] == full.assignments["cluster_name"]).all()


def test_fit_clusters_scores_in_batches_and_numbers_by_size():
    from ecrm_lib.seef.clusters import fit_clusters

    X, truth = _blobs(3, n_per=200)
    X = X.iloc[np.r_[0:200, 200:300, 400:450]]  # sizes 200, 100, 50
    rows = np.arange(0, len(X), 3)
    labels = fit_clusters(X, 3, fit_rows=rows, random_state=0, batch_size=17)
    assert np.bincount(labels).tolist() == [200, 100, 50]  # 0 = the largest cluster
    assert (fit_clusters(X, 3, fit_rows=rows, random_state=0, batch_size=10_000) == labels).all()


def test_model_threads_follow_the_machine_and_small_fits_use_one(monkeypatch):
    import os

    from ecrm_lib.seef.scale import SMALL_FIT_ROWS, model_threads

    assert model_threads(SMALL_FIT_ROWS - 1) == 1
    monkeypatch.setenv("ECRM_PARALLEL_NOTEBOOKS", "1")
    assert model_threads(10**6) == max(1, os.cpu_count() or 1)
    monkeypatch.setenv("ECRM_PARALLEL_NOTEBOOKS", str(10 * (os.cpu_count() or 1)))
    assert model_threads(10**6) == 1
    assert model_threads(10**6, n_threads=3) == 3

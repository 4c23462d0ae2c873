"""Tests of ecrm_lib.seef.selection (Select, Evaluate, Expand, Feedback) and ecrm_lib.report.plots.seef."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.seef.contact import cheapest_channel
from ecrm_lib.seef.customers import default_features
from ecrm_lib.seef.evaluation import compare_groups, profitability, profitability_summary, target_changes, value_share
from ecrm_lib.seef.expansion import expansion_value, lookalike_model
from ecrm_lib.seef.rule import select_targets
from ecrm_lib.seef.weights import apply_feedback, feedback_weights
from ecrm_lib.value.concentration import gini, lorenz_curve


@pytest.fixture
def small():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "clv": [600.0, 400.0, 400.0, 100.0, 50.0, np.nan],
        "churn_probability": [0.9, 0.3, 0.7, 0.8, 0.6, 0.95],
        "risk_decile": [1, 7, 3, 2, 4, 1],
        "segment": ["At Risk", "Champions", "Can't Lose Them", "At Risk", "Lost", "At Risk"],
    })


# --------------------------------------------------------------------------- selection


def test_selection_and_reasons(small):
    t = select_targets(small, {"churn_probability_min": 0.5, "segments": ["At Risk", "Can't Lose Them"]})
    # a, c, d, f meet both (f: CLV missing does not matter for this rule)
    assert t.loc[t["selected"], "customer_id"].tolist() == ["a", "c", "d", "f"]
    reasons = dict(zip(t["customer_id"], t["reasons"]))
    assert reasons["a"] == "churn probability 0.90 (at least 0.50); segment At Risk"
    assert reasons["c"] == "churn probability 0.70 (at least 0.50); segment Can't Lose Them"
    assert reasons["b"] == "" and reasons["e"] == ""
    assert list(t.columns) == ["customer_id", "matched", "selected", "rank", "reasons", "below_contact_cost", "reason_kinds"]
    assert not t["below_contact_cost"].any()  # no contact cost in the table: the default value bar holds nobody back
    # ranks by CLV (missing counts as 0)
    assert dict(zip(t["customer_id"], t["rank"].astype("float"))) == pytest.approx(
        {"a": 1, "c": 2, "d": 3, "f": 4, "b": np.nan, "e": np.nan}, nan_ok=True)


def test_clv_tier_includes_ties_and_missing_never_matches(small):
    # 5 known CLVs; top40 = ceil(0.4 * 5) = 2 customers -> threshold 400, both 400s in
    t = select_targets(small, {"clv_tier_min": "top40"})
    assert t.loc[t["selected"], "customer_id"].tolist() == ["a", "b", "c"]
    assert t.loc[0, "reasons"] == "CLV in the top 40% (at least 400)"
    assert select_targets(small, {"clv_tier_min": 0.4})["selected"].equals(t["selected"])


def test_combine_any_decile_and_cap(small):
    rule = {"churn_decile_max": 2, "clv_min": 400, "combine": "any", "max_targets": 3}
    t = select_targets(small, rule).set_index("customer_id")
    assert t["matched"].sum() == 5  # a, b, c by CLV; a, d, f by decile
    assert set(t.index[t["selected"]]) == {"a", "b", "c"}  # top 3 by CLV (b before c by id on a tie)
    assert t.loc["b", "rank"] == 2 and t.loc["c", "rank"] == 3
    assert t.loc["d", "reasons"] == "churn risk decile 2 (1 = riskiest, at most 2); beyond max_targets=3, not selected"
    assert t.loc["a", "reasons"] == "CLV 600 (at least 400); churn risk decile 1 (1 = riskiest, at most 2)"
    assert not t.loc["e", "matched"]


def test_rule_errors(small):
    with pytest.raises(ConfigError, match="unknown rule key.*clv_tier"):
        select_targets(small, {"clv_tear_min": "top10"})
    with pytest.raises(ConfigError, match="top20"):
        select_targets(small, {"clv_tier_min": "best20"})
    with pytest.raises(ConfigError, match="needs column 'cluster'"):
        select_targets(small, {"clusters": [1]})
    with pytest.raises(ConfigError, match="no selection criterion"):
        select_targets(small, {"max_targets": 3})
    with pytest.raises(ValueError, match="duplicated"):
        select_targets(pd.concat([small, small]), {"clv_min": 1})


def test_clusters_by_number_or_name(small):
    df = small.assign(cluster=[0, 1, 0, 2, 1, 2], cluster_name=["x", "y", "x", "z", "y", "z"])
    a = select_targets(df, {"clusters": [0]})
    b = select_targets(df, {"clusters": ["x"]})
    assert a["selected"].tolist() == b["selected"].tolist() == [True, False, True, False, False, False]
    assert a.loc[0, "reasons"] == "cluster x"


# --------------------------------------------------------------------------- evaluation


def test_gini_hand_values_and_bruteforce():
    assert gini([5.0] * 10) == 0.0
    for n in (2, 5, 10):
        assert gini([0.0] * (n - 1) + [7.0]) == pytest.approx((n - 1) / n)
    v = np.random.default_rng(0).lognormal(3, 1, 60)
    brute = sum(abs(x - y) for x, y in itertools.product(v, v)) / (2 * len(v) ** 2 * v.mean())
    assert gini(v) == pytest.approx(brute)
    assert np.isnan(gini([0.0, 0.0]))
    with pytest.raises(ValueError, match="negative"):
        gini([1.0, -1.0])


def test_lorenz_hand_values():
    exact = lorenz_curve([4.0, 1.0, 3.0, 2.0], exact=True)
    assert exact["customer_share"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert exact["value_share"].tolist() == pytest.approx([0, 0.1, 0.3, 0.6, 1.0])
    grid = lorenz_curve([1.0, 1.0], points=5)
    assert grid["value_share"].tolist() == pytest.approx(grid["customer_share"].tolist())  # equality = diagonal
    # area under the exact curve relates to Gini: G = 1 - 2 * area (trapezoids)
    v = np.random.default_rng(2).exponential(1, 40)
    e = lorenz_curve(v, exact=True)
    area = np.trapezoid(e["value_share"], e["customer_share"])
    assert 1 - 2 * area == pytest.approx(gini(v))


def test_value_share(small):
    vs = value_share(small.assign(clv_low=small["clv"] * 0.5, clv_high=small["clv"] * 2), ["a", "d"]).set_index("group")
    total = 600 + 400 + 400 + 100 + 50
    assert vs.loc["targets", "value"] == 700
    assert vs.loc["targets", "value_share"] == pytest.approx(700 / total)
    assert vs.loc["rest", "customers"] == 4 and vs.loc["all", "value"] == total
    assert vs.loc["targets", "value_low"] == 350 and vs.loc["targets", "value_high"] == 1400
    # the same targets as flags or as the output of select_targets
    flags = small["customer_id"].isin(["a", "d"]).to_numpy()
    assert value_share(small, flags).equals(value_share(small, ["a", "d"]))
    sel = pd.DataFrame({"customer_id": small["customer_id"], "selected": flags})
    assert value_share(small, sel).equals(value_share(small, ["a", "d"]))
    with pytest.raises(ValueError, match="one flag per row"):
        value_share(small, flags[:3])


def test_profitability_after_cost_to_serve():
    c = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [1000.0, 200.0, 50.0], "cost_to_serve": [100.0, 150.0, np.nan]})
    p = profitability(c, horizon_weeks=52, cost_window_weeks=26)
    # expected cost = observed cost * 52 / 26
    assert p["expected_cost"].tolist() == [200.0, 300.0, 0.0]
    assert p["net_value"].tolist() == [800.0, -100.0, 50.0]
    assert p["profitable"].tolist() == [True, False, True]
    assert p["cost_known"].tolist() == [True, True, False]
    s = profitability_summary(p, [True, True, False]).set_index("group")
    assert s.loc["targets", "net_value"] == 700 and s.loc["targets", "share_unprofitable"] == 0.5
    no_cost = profitability(c.drop(columns=["cost_to_serve"]), horizon_weeks=52, cost_window_weeks=26)
    assert no_cost["net_value"].tolist() == [1000.0, 200.0, 50.0]


def test_compare_groups_standardised_difference():
    c = pd.DataFrame({"customer_id": list("abcdef"), "x": [1.0, 2.0, 3.0, 5.0, 6.0, 7.0], "y": [1.0] * 6})
    cg = compare_groups(c, ["d", "e", "f"], ["x", "y"]).set_index("feature")
    # means 6 vs 2, both sample variances 1 -> d = 4 / 1
    assert cg.loc["x", "std_difference"] == pytest.approx(4.0)
    assert cg.loc["x", "median_targets"] == 6 and cg.loc["x", "median_rest"] == 2
    assert cg.loc["y", "std_difference"] == 0.0
    assert cg.index[0] == "x"


def test_target_changes(small):
    now = select_targets(small, {"segments": ["At Risk"]})  # a, d, f
    detail, counts = target_changes(now, ["a", "b", "c"])
    assert dict(zip(counts["status"], counts["customers"])) == {"entered": 2, "left": 2, "stayed": 1}
    assert detail.set_index("customer_id")["status"].to_dict() == {"d": "entered", "f": "entered", "b": "left", "c": "left", "a": "stayed"}
    _, same = target_changes(["x"], ["x"])
    assert same["customers"].tolist() == [0, 0, 1]


# --------------------------------------------------------------------------- expansion


def _lookalike_data(n=800, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "frequency": rng.poisson(3, n).astype(float),
        "monetary_value": rng.lognormal(4, 0.5, n),
        "share_purchases_web": rng.uniform(0, 1, n),
        "clv": rng.lognormal(5, 1, n),
    })
    return df, rng


def test_lookalike_auc_high_when_targets_differ():
    df, rng = _lookalike_data()
    logit = 2.5 * (df["share_purchases_web"] - 0.5) * 4 + 0.6 * (df["frequency"] - 3)
    targets = rng.uniform(size=len(df)) < 1 / (1 + np.exp(-logit + 1.5))
    res = lookalike_model(df, targets.to_numpy(), exclude=["clv"], n_splits=5, random_state=0)
    assert res.auc_mean > 0.8
    assert len(res.folds) == 5 and res.folds["targets_test"].sum() == targets.sum()
    assert "customer_id" not in res.features and "clv" not in res.features
    s = res.scores
    assert s["score"].between(0, 1).all()
    assert s.loc[~s["is_target"], "rank"].min() == 1 and s.loc[s["is_target"], "rank"].isna().all()
    gb = lookalike_model(df, targets.to_numpy(), exclude=["clv"], model="gbm", n_splits=3, random_state=0)
    assert gb.auc_mean > 0.75


def test_lookalike_auc_near_half_when_random():
    df, rng = _lookalike_data(n=1000, seed=1)
    targets = rng.uniform(size=len(df)) < 0.3
    res = lookalike_model(df, targets, n_splits=5, random_state=0)
    assert abs(res.auc_mean - 0.5) < 0.07


def test_lookalike_errors_and_default_features():
    df, _ = _lookalike_data(n=20)
    df["email"] = 1.0
    df["account_id"] = 3
    assert default_features(df) == ["frequency", "monetary_value", "share_purchases_web", "clv"]
    with pytest.raises(ValueError, match="too few"):
        lookalike_model(df, ["c00000", "c00001"], n_splits=5)


def test_expansion_value_sums_top_n():
    scores = pd.DataFrame({"customer_id": ["t", "x", "y", "z"], "is_target": [True, False, False, False],
                           "score": [0.9, 0.8, 0.5, 0.1], "rank": pd.array([pd.NA, 1, 2, 3], dtype="Int64")})
    cust = pd.DataFrame({"customer_id": ["t", "x", "y", "z"], "clv": [1000.0, 10.0, 20.0, 40.0],
                         "clv_low": [900.0, 5.0, 10.0, 30.0], "clv_high": [1100.0, 15.0, 30.0, 50.0]})
    ev = expansion_value(scores, cust, [1, 2, 10]).set_index("top_n")
    assert ev.loc[1, "value"] == 10 and ev.loc[2, "value"] == 30 and ev.loc[10, "value"] == 70
    assert ev.loc[2, "value_low"] == 15 and ev.loc[2, "value_high"] == 45
    assert ev.loc[10, "added"] == 3 and ev.loc[2, "min_score"] == 0.5
    ev2 = expansion_value(scores, cust[["customer_id", "clv"]], 2)
    assert np.isnan(ev2.loc[0, "value_low"])


def test_cheapest_channel_by_hand():
    c = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "share_purchases_store": [0.6, 0.0, 0.0, 0.0],
        "share_purchases_web": [0.4, 0.0, 0.0, 0.0],
        "share_contacts_phone": [0.0, 0.9, 0.0, np.nan],
        "share_contacts_email": [0.0, 0.1, 0.0, np.nan],
        "share_contacts_pigeon": [0.0, 0.0, 1.0, np.nan],
    })
    costs = pd.DataFrame({"channel": ["store", "phone", "email", "web", "phone"],
                          "purpose": [None, None, None, None, "complaint"],
                          "cost_per_contact": [12000, 6000, 150, 80, 100]})
    r = cheapest_channel(c, costs).set_index("customer_id")
    assert r.loc["a", "channel"] == "web" and r.loc["a", "cost_per_contact"] == 80
    assert r.loc["a", "reachable_channels"] == "web, store"
    assert r.loc["b", "channel"] == "email" and r.loc["b", "reachable_channels"] == "email, phone"
    assert pd.isna(r.loc["c", "channel"]) and pd.isna(r.loc["d", "channel"])  # pigeon has no cost
    # purpose-specific cost overrides the general one
    r2 = cheapest_channel(c, costs, purpose="complaint").set_index("customer_id")
    assert r2.loc["b", "channel"] == "phone" and r2.loc["b", "cost_per_contact"] == 100
    # a minimum share drops the minor e-mail contact
    r3 = cheapest_channel(c, costs, min_share=0.2).set_index("customer_id")
    assert r3.loc["b", "channel"] == "phone" and r3.loc["a", "channel"] == "web"


# --------------------------------------------------------------------------- feedback


def test_feedback_weights_rule_and_loop(small):
    u = pd.DataFrame({"segment": ["At Risk", "Can't Lose Them", "Lost", "Champions", "New"],
                      "uplift": [0.04, -0.01, -0.03, 0.01, np.nan],
                      "ci_low": [0.01, -0.04, -0.05, -0.01, np.nan],
                      "ci_high": [0.07, 0.02, 0.0, 0.03, np.nan]})
    w = feedback_weights(u, down_weight=0.2).set_index("segment")
    assert w["action"].to_dict() == {"At Risk": "keep", "Can't Lose Them": "down-weight", "Lost": "remove",
                                     "Champions": "keep", "New": "keep"}
    assert w["weight"].tolist() == [1.0, 0.2, 0.0, 1.0, 1.0]
    assert "uncertain" in w.loc["Champions", "reason"]
    rule = {"segments": ["At Risk", "Can't Lose Them", "Lost"], "max_targets": 3}
    new = apply_feedback(rule, w.reset_index())
    assert rule["segments"] == ["At Risk", "Can't Lose Them", "Lost"]  # input untouched
    assert new["segments"] == ["At Risk", "Can't Lose Them"]
    t = select_targets(small, new).set_index("customer_id")
    # c (Can't Lose Them, CLV 400 x 0.2 = 80) now ranks after a (600) and d (100 x 1); f (no CLV) is beyond the cap
    assert t.loc["c", "rank"] == 3 and t.loc["d", "rank"] == 2
    assert t.loc["f", "matched"] and not t.loc["f", "selected"]
    assert not t.loc["e", "matched"]  # Lost removed
    t2 = select_targets(small, {"churn_probability_min": 0.5, "segment_weights": {"Lost": 0.0}})
    assert not t2.set_index("customer_id").loc["e", "matched"]
    with pytest.raises(ValueError, match="swap"):
        feedback_weights(u.assign(ci_low=1.0))


# --------------------------------------------------------------------------- realistic end to end + plots


@pytest.fixture(scope="module")
def realistic():
    from ecrm_lib.channels.profile import customer_channel_features
    from ecrm_lib.core.config import load_config
    from ecrm_lib.value.features import rfm_summary
    from ecrm_lib.core.paths import DEFAULT_CONFIG
    from ecrm_lib.data.load import load_sources

    res = load_sources(load_config(DEFAULT_CONFIG))
    tx = res.tables["transactions"]
    rfm = rfm_summary(tx, as_of=res.as_of, customer_col="account_id", time_unit="W").reset_index()
    rfm = rfm.rename(columns={"account_id": "customer_id"})
    rng = np.random.default_rng(7)
    # simple synthetic value and risk: more and bigger repeat purchases -> more value; long gaps -> more risk
    rfm["clv"] = (rfm["frequency"] + 1) * rfm["monetary_value"].where(rfm["monetary_value"] > 0, rfm["total_spend"]) * 0.5
    rfm["clv_low"], rfm["clv_high"] = rfm["clv"] * 0.7, rfm["clv"] * 1.4
    gap = rfm["T"] - rfm["recency"]
    rfm["churn_probability"] = 1 / (1 + np.exp(-(gap - gap.median()) / gap.std())) * 0.9 + rng.uniform(0, 0.1, len(rfm))
    ch = customer_channel_features(None, accounts=res.tables["accounts"], transactions=tx,
                                   contacts=res.tables["contacts"], channel_costs=res.tables["channel_costs"])
    customers = rfm.astype({"customer_id": "string"}).merge(
        ch.drop(columns=["first_seen", "last_seen"]), on="customer_id", how="left")
    return customers, res.tables["channel_costs"], (res.as_of - tx["timestamp"].min().date()).days / 7


def test_realistic_flow(realistic):
    from ecrm_lib.seef.clusters import cluster_customers
    from ecrm_lib.seef.rfm import assign_segments, load_segment_table, rfm_scores, segment_summary

    customers, costs, window_weeks = realistic
    table = load_segment_table()
    seg = assign_segments(rfm_scores(customers), table)
    assert len(seg) == len(customers) and seg["segment"].notna().all()
    summ = segment_summary(seg, customers, table=table)
    assert summ["customers"].sum() == len(customers)
    assert (summ.set_index("segment").loc[["Champions", "Lost"], "customers"] > 0).all()
    cl = cluster_customers(customers, ["clv", "frequency", "share_purchases_web", "n_contacts"], k_min=2, k_max=5,
                           sample_size=1000)
    assert 2 <= cl.k <= 5 and cl.profiles["cluster_name"].is_unique
    df = customers.merge(seg[["customer_id", "segment"]], on="customer_id").merge(cl.assignments, on="customer_id")
    t = select_targets(df, {"clv_tier_min": "top20", "churn_probability_min": 0.5, "max_targets": 150})
    assert 0 < t["selected"].sum() <= 150
    vs = value_share(df, t).set_index("group")
    assert vs.loc["targets", "value_share"] > vs.loc["targets", "customer_share"]  # top-CLV targets hold more than their share
    assert 0 < gini(df["clv"]) < 1
    prof = profitability(df, horizon_weeks=52, cost_window_weeks=window_weeks)
    assert prof["cost_known"].any()
    la = lookalike_model(df, t, exclude=["clv", "clv_low", "clv_high", "churn_probability", "cluster"], n_splits=3)
    assert la.auc_mean > 0.6
    ev = expansion_value(la.scores, df, [50, 100])
    assert ev["value"].is_monotonic_increasing
    top = la.scores.loc[la.scores["rank"] <= 100, "customer_id"]
    reach = cheapest_channel(df[df["customer_id"].isin(top)], costs)
    assert reach["channel"].notna().any()
    known = set(costs["channel"].str.lower())
    assert set(reach["channel"].dropna()) <= known


def test_plots_draw_with_labels(realistic):
    from ecrm_lib.report.plots import seef as sp
    from ecrm_lib.seef.clusters import cluster_customers
    from ecrm_lib.seef.rfm import assign_segments, load_segment_table, rfm_scores, segment_summary

    customers, _, _ = realistic
    table = load_segment_table()
    seg = assign_segments(rfm_scores(customers), table)
    cl = cluster_customers(customers, ["clv", "frequency", "share_purchases_web"], k_min=2, k_max=4, sample_size=500)
    t = select_targets(customers.merge(seg[["customer_id", "segment"]]), {"segments": ["At Risk", "Can't Lose Them"], "churn_probability_min": 0.3})
    la = lookalike_model(customers, t, exclude=["clv", "clv_low", "clv_high"], n_splits=3)
    axes = [
        sp.plot_target_lorenz(customers["clv"], currency="KRW"),
        sp.plot_segments(segment_summary(seg, customers, table=table), currency="KRW"),
        sp.plot_cluster_profiles(cl.profiles, cl.features),
        sp.plot_k_selection(cl.k_scores)[0],
        sp.plot_target_reasons(t),
        sp.plot_lookalike_scores(la.scores),
    ]
    for ax in axes:
        assert ax.get_xlabel() or ax.get_ylabel()
    assert "Gini" in axes[0].get_title()
    plt.close("all")


@pytest.mark.parametrize("bad_id", ["kim@example.com", "+82 10-1234-5678", "010-1234-5678"])
def test_selection_refuses_contact_data_as_ids(small, bad_id):
    df = small.assign(customer_id=["x1", "x2", bad_id, "x4", "x5", "x6"])
    with pytest.raises(ValueError, match="pseudonymous"):
        select_targets(df, {"clv_min": 1})
    ok = small.assign(customer_id=["CUST-000012345", "0001", "P-1", "12345678901", "b", "c"])
    assert select_targets(ok, {"clv_min": 1})["selected"].sum() == 5


# --------------------------------------------------------------------------- selection step (assembly, products, feedback)


def _purchases(n=60, seed=1):
    """A purchase summary as ecrm_lib.value.features.rfm_summary returns it (indexed by customer id)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 12, n)
    T = rng.uniform(10, 100, n)
    return pd.DataFrame({
        "frequency": days - 1, "recency": T * rng.uniform(0, 1, n) * (days > 1), "T": T,
        "monetary_value": rng.gamma(2, 50, n) * (days > 1), "n_purchase_days": days,
        "total_spend": rng.gamma(2, 50, n) * days,
    }, index=pd.Index([f"C{i:03d}" for i in range(n)], name="customer_id"))


def _products(p, drop_value=(), drop_churn=(), extra=()):
    ids = list(p.index)
    rng = np.random.default_rng(2)
    cv = pd.DataFrame({"customer_id": [i for i in ids if i not in drop_value] + list(extra)})
    cv["clv"] = rng.gamma(2, 300, len(cv))
    cv["clv_low"], cv["clv_high"] = cv["clv"] * 0.8, cv["clv"] * 1.3
    cv["p_alive"] = rng.uniform(0, 1, len(cv))
    ch = pd.DataFrame({"customer_id": [i for i in ids if i not in drop_churn]})
    ch["churn_probability"] = rng.uniform(0, 1, len(ch))
    ch["risk_decile"] = pd.qcut(-ch["churn_probability"], 10, labels=False) + 1
    ch["p_alive"] = 0.5
    chan = pd.DataFrame({"customer_id": ids, "n_channels": rng.integers(1, 4, len(ids)),
                         "share_purchases_web": rng.uniform(0, 1, len(ids))})
    chan["share_purchases_store"] = 1 - chan["share_purchases_web"]
    return {"customer_value": cv, "churn_risk": ch, "customer_channels": chan}


def test_assemble_counts_missing_customers_instead_of_dropping():
    from ecrm_lib.seef.customers import assemble_customers

    p = _purchases()
    prods = _products(p, drop_value=("C001", "C002"), drop_churn=("C003",), extra=("X1", "X2", "X3"))
    prods["customer_channels"] = None
    t = assemble_customers(p, prods)
    c = t.customers
    assert len(c) == len(p) and c["customer_id"].is_unique  # every buyer kept, outsiders not added
    assert c.loc[c["customer_id"].isin(["C001", "C002"]), "clv"].isna().all()
    assert c.loc[c["customer_id"] == "C003", "churn_probability"].isna().all()
    cov = t.coverage.set_index("product")
    assert cov.loc["customer_value", "customers_missing"] == 2 and cov.loc["customer_value", "not_in_base"] == 3
    assert cov.loc["churn_risk", "customers_missing"] == 1 and cov.loc["churn_risk", "not_in_base"] == 0
    assert not cov.loc["customer_channels", "present"] and cov.loc["customer_channels", "customers_missing"] == len(p)
    assert cov.loc["churn_risk", "share_missing"] == pytest.approx(1 / len(p))
    # clashing column names get the product as suffix; RFM inputs from the purchases
    assert {"p_alive", "p_alive_churn_risk"} <= set(c.columns)
    row = c.set_index("customer_id").loc["C005"]
    assert row["recency_gap"] == pytest.approx(p.loc["C005", "T"] - p.loc["C005", "recency"])
    assert row["spend_per_purchase_day"] == pytest.approx(p.loc["C005", "total_spend"] / p.loc["C005", "n_purchase_days"])
    with pytest.raises(ValueError, match="twice"):
        assemble_customers(p, {"churn_risk": pd.concat([prods["churn_risk"]] * 2)})
    with pytest.raises(ValueError, match="rfm_summary"):
        assemble_customers(p.drop(columns="total_spend"), {})


def test_run_selection_products_follow_the_contract():
    from ecrm_lib.seef.selection import run_selection, SEGMENTS_COLUMNS, TARGETS_COLUMNS
    from ecrm_lib.seef.rfm import load_segment_table

    p = _purchases(120)
    rule = {"clv_tier_min": "top30", "churn_decile_max": 3, "combine": "any", "max_targets": 40}
    res = run_selection(p, _products(p), rule, k_range=(2, 3), random_state=0)
    cs, tg = res.customer_segments, res.targets
    assert list(cs.columns) == SEGMENTS_COLUMNS and list(tg.columns) == TARGETS_COLUMNS
    assert len(cs) == 120 and cs["customer_id"].is_unique
    assert len(tg) == 40 == int(cs["selected"].sum()) and tg["rank"].tolist() == list(range(1, 41))
    assert (tg["reasons"].str.len() > 0).all()
    assert set(cs["segment"]) <= set(load_segment_table()["segment"]) | {"Other"}
    assert cs["cluster"].between(0, res.clusters.k - 1).all() and cs["cluster_name"].notna().all()
    assert res.feedback is None and res.moved == (0, 0) and res.rule == rule
    # the selection is the rule applied to the table: every target meets a criterion
    t = cs[cs["selected"]]
    thr = cs["clv"].sort_values(ascending=False).iloc[int(np.ceil(0.3 * 120)) - 1]
    assert ((t["clv"] >= thr) | (t["risk_decile"] <= 3)).all()


def test_feedback_weight_zero_removes_a_segment_and_changes_are_counted():
    from ecrm_lib.seef.selection import run_selection

    p = _purchases(150)
    prods = _products(p)
    rule = {"clv_min": 0, "max_targets": 60}
    plain = run_selection(p, prods, rule, k_range=(2, 2))
    seg = plain.targets["segment"].value_counts().index[0]  # the segment with most targets
    other = plain.targets["segment"].value_counts().index[-1]
    w = pd.DataFrame({"segment": [seg, other], "uplift": [-0.05, -0.01], "ci_low": [-0.08, -0.03], "ci_high": [-0.01, 0.02]})
    w = feedback_weights(w)
    res = run_selection(p, prods, rule, k_range=(2, 2), feedback=w)
    assert seg not in set(res.targets["segment"])  # weight 0: removed
    assert res.rule["segment_weights"] == {seg: 0.0, other: 0.5}
    fb = res.feedback.set_index("segment")
    n_seg = int((plain.targets["segment"] == seg).sum())
    assert fb.loc[seg, "targets_without"] == n_seg and fb.loc[seg, "targets_with"] == 0 and fb.loc[seg, "moved_out"] == n_seg
    moved_in, moved_out = res.moved
    before, after = set(plain.targets["customer_id"]), set(res.targets["customer_id"])
    assert moved_in == len(after - before) and moved_out == len(before - after) and len(after) == 60
    assert res.customer_segments.loc[res.customer_segments["segment"] == seg, "selected"].sum() == 0


def test_selection_products_refuse_contact_data_and_empty_input_works():
    from ecrm_lib.seef.selection import run_selection, selection_products

    c = pd.DataFrame({"customer_id": ["kim@example.com"], "segment": ["Lost"]})
    s = pd.DataFrame({"customer_id": ["kim@example.com"], "matched": [True], "selected": [True], "rank": [1], "reasons": ["x"]})
    with pytest.raises(ValueError, match="pseudonymous"):
        selection_products(c, s)
    empty = _purchases(5).iloc[0:0]
    res = run_selection(empty, {"customer_value": None}, {"clv_min": 0})
    assert res.customer_segments.empty and res.targets.empty and res.clusters is None


def test_segment_overview_suppresses_small_segments_and_describe_rule():
    from ecrm_lib.seef.rule import describe_rule
    from ecrm_lib.seef.selection_products import segment_overview

    cs = pd.DataFrame({"customer_id": [f"C{i}" for i in range(23)],
                       "segment": ["Champions"] * 20 + ["Lost"] * 3,
                       "clv": [100.0] * 20 + [10.0] * 3, "churn_probability": [0.2] * 20 + [0.9] * 3,
                       "selected": [True] * 3 + [False] * 17 + [True] * 3})
    o = segment_overview(cs, ["Champions", "Lost"]).set_index("segment")
    assert o.loc["Champions", "customers"] == 20 and o.loc["Champions", "clv"] == pytest.approx(2000.0)
    assert o.loc["Champions", "clv_share"] == pytest.approx(2000 / 2030)
    assert pd.isna(o.loc["Champions", "targets"])  # 3 targets would describe 3 customers
    assert o.loc["Lost", "suppressed"] and pd.isna(o.loc["Lost", "customers"]) and pd.isna(o.loc["Lost", "clv"])
    d = describe_rule({"segments": ["A", "B"], "combine": "any", "segment_weights": {"A": 0.5}})
    assert d["value"].tolist() == ["A, B", "any", "A: 0.5"]
    with pytest.raises(ConfigError):
        describe_rule({"nonsense": 1})


# --------------------------------------------------------------------------- evaluation and expansion helpers (H3)


def test_concentration_curve_and_target_point_by_hand():
    from ecrm_lib.seef.evaluation import concentration_curve, target_concentration

    c = pd.DataFrame({"customer_id": list("abcde"), "clv": [50.0, 20.0, 15.0, 10.0, 5.0]})
    cur = concentration_curve(c["clv"], points=6)  # customer shares 0, 0.2, ..., 1
    assert cur["value_share"].round(6).tolist() == [0.0, 0.5, 0.7, 0.85, 0.95, 1.0]
    r = target_concentration(c, ["b", "c"])
    assert r["targets"] == 2 and r["customer_share"] == pytest.approx(0.4)
    assert r["value_share"] == pytest.approx(0.35) and r["best_value_share"] == pytest.approx(0.7)
    assert r["capture"] == pytest.approx(0.5) and r["gini"] == pytest.approx(gini(c["clv"]))
    # the curve is the Lorenz curve read from the top
    lor = lorenz_curve(c["clv"], exact=True)["value_share"].to_numpy()
    assert np.allclose(cur["value_share"].to_numpy(), 1 - lor[::-1])


def test_previous_targets_today_bridges_changed_ids():
    from ecrm_lib.seef.evaluation import previous_targets_today

    bridge = pd.DataFrame({"earlier_customer_id": ["old1", "old2", "old3", "gone"],
                           "customer_id": ["new1", "keep", "new1", pd.NA]})
    prev = pd.DataFrame({"customer_id": ["old1", "old2", "old3", "gone", "plain"], "rank": [1, 2, 3, 4, 5]})
    out = previous_targets_today(prev, bridge)
    # old1 and old3 merged into new1 (counted once); gone keeps its id (it left); plain has no bridge row
    assert out["customer_id"].tolist() == ["gone", "keep", "new1", "plain"]
    assert out.set_index("customer_id")["bridged"].to_dict() == {"gone": False, "keep": True, "new1": True, "plain": False}
    detail, counts = target_changes(["new1", "keep", "fresh"], out["customer_id"])
    assert counts.set_index("status")["customers"].to_dict() == {"entered": 1, "left": 2, "stayed": 2}
    assert previous_targets_today(["x"], None)["customer_id"].tolist() == ["x"]
    with pytest.raises(ValueError, match="bridge_customer_ids"):
        previous_targets_today(["x"], pd.DataFrame({"customer_id": ["x"]}))


def test_rule_columns_keep_the_model_off_the_rule():
    from ecrm_lib.seef.expansion import rule_columns

    assert rule_columns({"clv_tier_min": "top20", "churn_decile_max": 2, "combine": "any"}) == [
        "clv", "clv_low", "clv_high", "expected_purchases", "churn_probability", "risk_decile", "p_alive", "cluster"]
    assert rule_columns({"segments": ["At Risk"]}) == ["segment", "r_score", "f_score", "m_score", "cluster"]
    assert rule_columns(None) == ["cluster"]
    c = pd.DataFrame({"customer_id": ["a"], "clv": [1.0], "clv_low": [0.5], "risk_decile": [3], "frequency": [2],
                      "cluster": [1], "share_contacts_email": [0.2], "email": [1]})
    assert default_features(c, exclude=rule_columns({"clv_min": 1, "churn_decile_max": 2})) == ["frequency", "share_contacts_email"]


def test_lookalike_without_the_rule_columns_learns_behaviour_not_the_rule():
    from ecrm_lib.seef.expansion import rule_columns

    rng = np.random.default_rng(3)
    n = 400
    freq = rng.poisson(3, n).astype(float)
    noise = rng.normal(size=n)
    clv = 100 * freq + rng.normal(0, 30, n)
    c = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "clv": clv, "frequency": freq, "noise": noise})
    t = select_targets(c, {"clv_tier_min": "top25"})
    with_rule = lookalike_model(c, t, n_splits=4, random_state=0)
    without = lookalike_model(c, t, exclude=rule_columns({"clv_tier_min": "top25"}), n_splits=4, random_state=0)
    assert "clv" in with_rule.features and without.features == ["frequency", "noise"]
    assert with_rule.auc_mean > 0.99  # the rule itself is learnt
    assert 0.8 < without.auc_mean < with_rule.auc_mean  # frequency drives CLV, but not perfectly
    assert len(without.folds) == 4 and without.auc_sd >= 0
    nt = without.scores.loc[~without.scores["is_target"]]
    assert nt["rank"].notna().all() and without.scores.loc[without.scores["is_target"], "rank"].isna().all()
    assert nt.sort_values("rank")["score"].is_monotonic_decreasing


def test_expansion_value_has_the_random_baseline():
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "t"], "is_target": [False, False, False, True],
                           "score": [0.9, 0.5, 0.1, 0.95], "rank": pd.array([1, 2, 3, pd.NA], dtype="Int64")})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "t"], "clv": [30.0, 20.0, 10.0, 999.0],
                              "clv_low": [20.0, 10.0, 5.0, 900.0], "clv_high": [40.0, 30.0, 15.0, 1100.0]})
    ev = expansion_value(scores, customers, [1, 2, 5])
    assert ev["value"].tolist() == [30.0, 50.0, 60.0] and ev["value_low"].tolist() == [20.0, 30.0, 35.0]
    assert ev["value_random"].tolist() == [20.0, 40.0, 60.0]  # mean non-target CLV 20 per customer added
    assert ev["added"].tolist() == [1, 2, 3]


def test_contact_plan_and_channel_mix_use_the_cost_table():
    from ecrm_lib.seef.contact import contact_plan, contact_plan_mix, typical_channel

    costs = pd.DataFrame({"channel": ["store", "phone", "email", "app", "Phone"], "purpose": [None, None, None, None, "complaint"],
                          "cost_per_contact": [12000, 6000, 150, 60, 9000]})
    ids = [f"c{i}" for i in range(12)]
    c = pd.DataFrame({"customer_id": ids,
                      "share_contacts_phone": [0.8] * 6 + [0.0] * 6,
                      "share_contacts_email": [0.2] * 6 + [0.0] * 6,
                      "share_purchases_store": [1.0] * 6 + [1.0] * 5 + [0.0],
                      "share_purchases_app": [0.0] * 11 + [0.0]})
    ty = typical_channel(c)
    assert ty["typical_channel"].tolist()[:7] == ["phone"] * 6 + ["store"] and pd.isna(ty["typical_channel"].iloc[-1])
    plan = contact_plan(c, costs)
    first = plan.iloc[0]
    assert (first["cheapest_channel"], first["cheapest_cost"], first["typical_channel"], first["typical_cost"]) == ("email", 150.0, "phone", 6000.0)
    assert first["saving"] == 5850.0 and first["reachable_channels"] == "email, phone, store"
    assert plan.iloc[6][["cheapest_channel", "cheapest_cost", "typical_cost"]].tolist() == ["store", 12000.0, 12000.0]
    assert pd.isna(plan.iloc[-1]["cheapest_channel"]) and np.isnan(plan.iloc[-1]["cheapest_cost"])
    assert contact_plan(c, costs, purpose="complaint").iloc[0]["typical_cost"] == 9000.0  # purpose-specific price
    mix = contact_plan_mix(plan, min_count=5).set_index("channel")
    assert mix.loc["email", "customers"] == 6 and mix.loc["email", "cost_cheapest"] == 900.0 and mix.loc["email", "cost_typical"] == 36000.0
    assert mix.loc["store", "customers"] == 5 and not mix.loc["store", "suppressed"]
    assert mix.loc["unreachable", "suppressed"] and pd.isna(mix.loc["unreachable", "customers"])  # 1 customer: blanked
    assert mix["share"].sum() == pytest.approx(11 / 12)


def test_profitability_window_from_the_channel_run():
    from ecrm_lib.seef.evaluation import cost_window

    weeks, _ = cost_window(None, 6)  # the channel notebook priced 6 months of contacts
    c = pd.DataFrame({"customer_id": ["a"], "clv": [1000.0], "cost_to_serve": [100.0]})
    assert profitability(c, horizon_weeks=52, cost_window_weeks=weeks)["expected_cost"].iloc[0] == pytest.approx(200.0)


def test_customer_view_and_profile_features():
    from ecrm_lib.seef.customers import customer_view
    from ecrm_lib.seef.evaluation import profile_features

    segs = pd.DataFrame({"customer_id": ["a", "b"], "clv": [5.0, 1.0], "clv_low": [4.0, 0.5], "cluster": [0, 1],
                         "selected": [True, False], "rank": [1, pd.NA]})
    cv = pd.DataFrame({"customer_id": ["b", "a"], "clv": [99.0, 99.0], "frequency": [1, 4]})
    ch = pd.DataFrame({"customer_id": ["a"], "n_channels": [2], "share_contacts_phone": [1.0]})
    v = customer_view(segs, cv, None, ch)
    assert v["clv"].tolist() == [5.0, 1.0] and v["frequency"].tolist() == [4, 1]
    assert v["n_channels"].iloc[0] == 2 and np.isnan(v["n_channels"].iloc[1])
    assert profile_features(v) == ["clv", "frequency", "n_channels", "share_contacts_phone"]


def test_new_plots_draw_with_labels():
    from ecrm_lib.seef.contact import contact_plan, contact_plan_mix
    from ecrm_lib.seef.evaluation import concentration_curve, target_concentration
    from ecrm_lib.report.plots.seef import (
        plot_contact_plan_mix,
        plot_expansion_value,
        plot_net_value,
        plot_value_concentration,
    )

    rng = np.random.default_rng(0)
    c = pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "clv": rng.gamma(1, 100, 50), "cost_to_serve": rng.gamma(1, 20, 50),
                      "share_contacts_email": rng.uniform(size=50), "share_purchases_store": 1.0})
    flag = (c["clv"] > c["clv"].median()).to_numpy()
    ax = plot_value_concentration(concentration_curve(c["clv"]), target_concentration(c, flag), currency="KRW")
    assert "Gini" in ax.get_title() and "%" in ax.get_xlabel() and len(ax.collections) == 2
    ax = plot_net_value(profitability(c, horizon_weeks=52, cost_window_weeks=26), flag, currency="KRW")
    assert "KRW" in ax.get_xlabel() and ax.get_ylabel() == "Customers"
    scores = pd.DataFrame({"customer_id": c["customer_id"], "is_target": flag, "score": rng.uniform(size=50)})
    scores["rank"] = pd.array([pd.NA] * 50, dtype="Int64")
    scores.loc[~flag, "rank"] = np.arange(1, int((~flag).sum()) + 1)
    ax = plot_expansion_value(expansion_value(scores, c.assign(clv_low=c["clv"] * 0.8, clv_high=c["clv"] * 1.2), [5, 10, 20]), currency="KRW")
    assert "KRW" in ax.get_ylabel() and ax.get_xlabel() == "Customers added to the targets"
    costs = pd.DataFrame({"channel": ["email", "store"], "cost_per_contact": [150, 12000]})
    ax = plot_contact_plan_mix(contact_plan_mix(contact_plan(c, costs)), currency="KRW")
    assert ax.get_xlabel().startswith("Customers") and [t.get_text() for t in ax.get_yticklabels()]
    plt.close("all")


def test_run_selection_without_churn_product_selects_nobody_by_risk():
    from ecrm_lib.seef.selection import run_selection

    p = _purchases(40)
    prods = _products(p)
    prods["churn_risk"] = None
    res = run_selection(p, prods, {"churn_decile_max": 2, "clv_tier_min": "top10", "combine": "any"}, k_range=(2, 2))
    assert res.coverage.set_index("product").loc["churn_risk", "customers_missing"] == 40
    assert len(res.targets) == 4 and res.targets["reasons"].str.startswith("CLV in the top 10%").all()


def test_each_reason_is_one_part_when_split_at_semicolons(small):
    """Reasons are joined with "; " (the reasons plot splits there): no single reason may contain it."""
    rule = {"clv_min": 0, "churn_probability_min": 0, "churn_decile_max": 10, "segments": ["At Risk"], "combine": "all"}
    t = select_targets(small, rule)
    parts = t.loc[t["selected"], "reasons"].iloc[0].split("; ")
    assert len(parts) == 4 and parts[2].startswith("churn risk decile") and parts[2].endswith("at most 10)")


def test_online_share_sums_internet_channels_and_replaces_per_channel_features():
    from ecrm_lib.seef.customers import assemble_customers
    from ecrm_lib.seef.clusters import default_cluster_features

    p = _purchases(30)
    prods = _products(p)
    prods["customer_channels"] = prods["customer_channels"].iloc[:-2]  # two customers without channel data
    prods["customer_channels"]["share_purchases_app"] = 0.0
    t = assemble_customers(p, prods, online_channels=["web", "app", "email"]).customers
    ch = prods["customer_channels"].set_index("customer_id")
    got = t.set_index("customer_id")["online_share"]
    assert got.loc[ch.index].to_numpy() == pytest.approx(ch["share_purchases_web"].to_numpy())
    assert got.iloc[-2:].isna().all()
    feats = default_cluster_features(t)
    assert "online_share" in feats and not any(f.startswith("share_purchases_") for f in feats)
    assert "online_share" not in assemble_customers(p, prods).customers  # only when the channels are named


def test_down_weighting_moves_customers_only_when_the_cap_binds():
    # six matched customers, cap 4: without feedback the four highest CLV are kept
    c = pd.DataFrame({"customer_id": list("abcdef"), "clv": [100.0, 90.0, 80.0, 70.0, 60.0, 50.0],
                      "segment": ["Lost", "Loyal", "Lost", "Loyal", "Loyal", "Loyal"]})
    rule = {"clv_min": 0, "max_targets": 4}
    w = pd.DataFrame({"segment": ["Lost", "Loyal"], "weight": [0.5, 1.0]})
    before = select_targets(c, rule)
    after = select_targets(c, apply_feedback(rule, w))
    kept = lambda t: set(t.loc[t["selected"], "customer_id"])  # noqa: E731
    assert kept(before) == set("abcd")
    # Lost at half weight: a 50, c 40 rank below d 70, e 60 -> c moves out, e moves in; a (50) still beats f (50) by id
    assert kept(after) == {"a", "b", "d", "e"}
    # without a binding cap the same weights change nobody (down-weighting only re-orders)
    loose = {"clv_min": 0, "max_targets": 10}
    assert kept(select_targets(c, apply_feedback(loose, w))) == kept(select_targets(c, loose)) == set("abcdef")


def test_cost_window_prefers_the_parameter_then_the_channel_run():
    from ecrm_lib.seef.evaluation import cost_window

    assert cost_window(13) == (13.0, "the cost_window_weeks parameter")
    assert cost_window(13, 6) == (13.0, "the cost_window_weeks parameter")
    with pytest.raises(ValueError, match="positive"):
        cost_window(0)
    weeks, source = cost_window(None, 6)  # the channel notebook looked at 6 months
    assert weeks == 26.0 and "6 months" in source


def test_expansion_list_ranks_non_targets_with_channels():
    from ecrm_lib.seef.expansion import expansion_list

    scores = pd.DataFrame({"customer_id": ["t", "b", "a", "c"], "is_target": [True, False, False, False],
                           "score": [0.9, 0.8, 0.5, 0.1], "rank": pd.array([pd.NA, 1, 2, 3], dtype="Int64")})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "t"], "clv": [10.0, 20.0, 30.0, 99.0],
                              "clv_low": [5.0, 15.0, 25.0, 90.0], "clv_high": [15.0, 25.0, 35.0, 99.0]})
    plan = pd.DataFrame({"customer_id": ["a", "b"], "cheapest_channel": ["email", "app"], "cheapest_cost": [150.0, 100.0],
                         "typical_channel": ["store", "app"]})
    out = expansion_list(scores, customers, 2, plan)
    assert out["customer_id"].tolist() == ["b", "a", "c"]  # targets are not on the list
    assert out["expanded"].tolist() == [True, True, False] and out["clv"].tolist() == [20.0, 10.0, 30.0]
    assert out["cheapest_channel"].iloc[:2].tolist() == ["app", "email"] and pd.isna(out["cheapest_channel"].iloc[2])
    assert expansion_list(scores, customers, 1)["cheapest_cost"].isna().all()


# --------------------------------------------------------------------------- value bar (issue 15 item 4) and clear differences (item 5)


@pytest.fixture
def priced():
    """Churn-risk customers of the kind the issue found: worth less than a phone or store contact."""
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
        "clv": [1870.0, 1870.0, 0.0, 50000.0, 100.0, 20000.0, 5000.0],
        "churn_probability": [0.96, 0.96, 0.9, 0.6, 0.7, 0.2, 0.8],
        "contact_channel": ["phone", "email", "store", "app", None, "app", "phone"],
        "contact_cost": [6000.0, 150.0, 12000.0, 60.0, np.nan, 60.0, 6000.0],
    })


def test_selection_never_proposes_a_customer_worth_less_than_a_contact(priced):
    from ecrm_lib.seef.rule import reason_counts

    rule = {"churn_probability_min": 0.5, "max_targets": 3}
    t = select_targets(priced, rule).set_index("customer_id")
    chosen = priced.set_index("customer_id").loc[t.index[t["selected"]]]
    assert not (chosen["clv"] < chosen["contact_cost"]).any()   # the bar (default 1 contact) holds for every target
    assert set(chosen.index) == {"b", "d", "e"}                  # e: no priced channel, the bar cannot hold them back
    assert t["below_contact_cost"].to_dict() == {"a": True, "b": False, "c": True, "d": False, "e": False, "f": False, "g": True}
    assert not t.loc[["a", "c", "g"], "matched"].any() and t.loc[["a", "c", "g"], "rank"].isna().all()
    assert t.loc["a", "reasons"] == ("churn probability 0.96 (at least 0.50); "
                                     "CLV 1,870 below the cost of one contact (6,000 through phone), not selected")
    assert "below" not in " ".join(reason_counts(t.reset_index())["reason"])  # targets' reasons stay the criteria
    # the cap and the ranking are the rule's as before: without the bar the three highest CLV are kept
    off = select_targets(priced, {**rule, "min_value_over_contact_cost": None}).set_index("customer_id")
    assert set(off.index[off["selected"]]) == {"d", "g", "a"} and not off["below_contact_cost"].any()
    assert off.loc["d", "rank"] == 1 and off.loc["g", "rank"] == 2 and off.loc["a", "rank"] == 3  # a before b on the tie, by id
    # a stricter bar: CLV at least 20 contacts (b's 1,870 < 20 x 150)
    strict = select_targets(priced, {**rule, "min_value_over_contact_cost": 20}).set_index("customer_id")
    assert set(strict.index[strict["selected"]]) == {"d", "e"}
    # a bar asked for explicitly needs the contact cost; bad values are refused
    with pytest.raises(ConfigError, match="needs column 'contact_cost'"):
        select_targets(priced.drop(columns="contact_cost"), {**rule, "min_value_over_contact_cost": 1})
    for bad in (-1, "high", True):
        with pytest.raises(ConfigError, match="min_value_over_contact_cost"):
            select_targets(priced, {**rule, "min_value_over_contact_cost": bad})
    assert select_targets(priced, {**rule, "min_value_over_contact_cost": 0})["selected"].equals(off["selected"].reset_index(drop=True))


def test_run_selection_prices_the_cheapest_contact_and_counts_what_the_bar_removed():
    from ecrm_lib.seef.customers import default_features
    from ecrm_lib.seef.selection import run_selection

    p = _purchases(120)
    prods = _products(p)
    chan = prods["customer_channels"]
    store_only = chan.index < 40                      # 40 customers bought only in store: 12,000 a contact
    chan.loc[store_only, "share_purchases_web"], chan.loc[store_only, "share_purchases_store"] = 0.0, 1.0
    costs = pd.DataFrame({"channel": ["web", "store"], "purpose": [None, None], "cost_per_contact": [80.0, 12000.0]})
    rule = {"clv_min": 0, "max_targets": 60}
    res = run_selection(p, prods, rule, k_range=(2, 2), channel_costs=costs)
    cs, tg = res.customer_segments, res.targets
    expect_cost = np.where(cs["customer_id"].isin(chan.loc[store_only, "customer_id"]), 12000.0, 80.0)
    assert cs["contact_cost"].tolist() == expect_cost.tolist()
    assert set(cs["contact_channel"]) == {"web", "store"} and tg["contact_cost"].notna().all()
    below = (cs["clv"] < cs["contact_cost"]).to_numpy()
    assert below.sum() > 0 and not (tg["clv"] < tg["contact_cost"]).any()
    assert cs["below_contact_cost"].tolist() == below.tolist()
    vb = res.value_bar
    assert vb["applied"] and vb["bar"] == 1.0 and vb["why_not"] is None
    assert vb["removed"] == int(below.sum()) and vb["targets_below"] == 0 and vb["unchecked"] == 0
    plain = run_selection(p, prods, {**rule, "min_value_over_contact_cost": None}, k_range=(2, 2), channel_costs=costs)
    moved = set(plain.targets["customer_id"]) - set(tg["customer_id"])
    assert vb["displaced"] == len(moved) > 0 and len(tg) == 60 == vb["targets_without_bar"]
    assert plain.value_bar["targets_below"] == int((plain.targets["clv"] < plain.targets["contact_cost"]).sum()) > 0
    assert not plain.value_bar["applied"] and "switches it off" in plain.value_bar["why_not"]
    no_costs = run_selection(p, prods, rule, k_range=(2, 2))
    assert not no_costs.value_bar["applied"] and "no channel cost table" in no_costs.value_bar["why_not"]
    assert no_costs.customer_segments["contact_cost"].isna().all() and len(no_costs.targets) == 60
    # the clusters do not use the contact cost, and the look-alike features leave the selection's bookkeeping out
    assert cs["cluster"].tolist() == no_costs.customer_segments["cluster"].tolist()
    feats = default_features(cs)
    assert "contact_cost" not in feats and "below_contact_cost" not in feats


def test_expansion_never_proposes_a_lookalike_worth_less_than_a_contact():
    from ecrm_lib.seef.expansion import expansion_list

    scores = pd.DataFrame({"customer_id": ["t", "b", "a", "c", "d"], "is_target": [True, False, False, False, False],
                           "score": [0.9, 0.8, 0.5, 0.3, 0.1], "rank": pd.array([pd.NA, 1, 2, 3, 4], dtype="Int64")})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "t"], "clv": [500.0, 0.0, 30.0, 700.0, 99.0],
                              "clv_low": [400.0, 0.0, 20.0, 600.0, 90.0], "clv_high": [600.0, 0.0, 40.0, 800.0, 99.0]})
    plan = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "cheapest_channel": ["email", "store", "app", "phone"],
                         "cheapest_cost": [150.0, 12000.0, 60.0, 6000.0], "typical_channel": ["web", "store", "app", "phone"]})
    out = expansion_list(scores, customers, 2, plan, min_value_over_contact_cost=1.0)
    assert out["customer_id"].tolist() == ["b", "a", "c", "d"] and out["rank"].tolist() == [1, 2, 3, 4]
    assert out["below_contact_cost"].tolist() == [True, False, True, True]
    assert out["expanded"].tolist() == [False, True, False, False]   # only a is worth a contact
    prop = out.loc[out["expanded"]]
    assert not (prop["clv"] < prop["cheapest_cost"]).any()
    ev = expansion_value(scores, customers, [1, 2], exclude=out.loc[out["below_contact_cost"], "customer_id"])
    assert ev["added"].tolist() == [1, 1] and ev["value"].tolist() == [500.0, 500.0] and ev["value_random"].tolist() == [500.0, 500.0]
    # no bar: the model's order, as before
    assert expansion_list(scores, customers, 2, plan)["expanded"].tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="contact plan"):
        expansion_list(scores, customers, 2, None, min_value_over_contact_cost=1.0)


def test_clear_differences_sentence_names_every_measure_that_meets_the_bar():
    from ecrm_lib.seef.evaluation import clear_differences_text

    d = [1.23, 0.93, -0.93, 0.84, 0.83, -0.71, 0.47, 0.35, -0.22, 0.0]   # six with |d| >= 0.5
    prof = pd.DataFrame({"feature": [f"m{i}" for i in range(10)], "std_difference": d})
    text = clear_differences_text(prof)
    assert text.startswith("6 measures differ clearly (|d| at least 0.5)")
    named = [f"m{i}" for i in range(10) if f"m{i} (" in text]
    assert named == ["m0", "m1", "m2", "m3", "m4", "m5"] and "m5 (d = -0.71)" in text
    short = clear_differences_text(prof, max_named=3)
    assert short.startswith("6 measures differ clearly") and "the largest 3: m0 (d = +1.23), m1" in short and "m3" not in short
    assert clear_differences_text(prof.iloc[6:]).startswith("No measure differs clearly")
    assert clear_differences_text(prof.iloc[5:]).startswith("1 measure differs clearly (|d| at least 0.5): m5")


def test_cost_window_check_warns_when_the_customers_cost_more_than_the_window():
    from ecrm_lib.seef.evaluation import cost_window_check

    assert cost_window_check(17_974_570.0, 17_994_570.0, "KRW").strip().startswith("In that window their contacts cost 17,974,570 KRW")
    assert "the rest: contacts of people without a purchase" in cost_window_check(90.0, 100.0)
    assert "the channel report's total" in cost_window_check(100.0, 100.0) and "rest" not in cost_window_check(100.0, 100.0)
    # the figure the issue found: every contact since 2023 read as 12 months (41.4 million against 18.0 million)
    warn = cost_window_check(41_443_730.0, 17_994_570.0, "KRW")
    assert "Warning" in warn and "overstated" in warn
    assert cost_window_check(None, 100.0) == "" and cost_window_check(100.0, None) == ""


def test_evaluation_sentences_in_korean():
    """Issue 12: the profile, cost-window and cost-check sentences are worded in the report language."""
    import re

    from ecrm_lib.core.language import using
    from ecrm_lib.seef.evaluation import clear_differences_text, cost_window, cost_window_check

    prof = pd.DataFrame({"feature": ["m0", "m1", "m2"], "std_difference": [1.23, -0.71, 0.1]})
    hangul = re.compile("[\uac00-\ud7a3]")
    with using("ko"):
        texts = [clear_differences_text(prof), clear_differences_text(prof, max_named=1), clear_differences_text(prof.iloc[2:]),
                 cost_window(None, 6)[1], cost_window()[1], cost_window(13)[1],
                 cost_window_check(90.0, 100.0, "KRW"), cost_window_check(100.0, 100.0), cost_window_check(200.0, 100.0)]
    assert all(hangul.search(x) for x in texts), texts
    assert "m0 (d = +1.23), m1 (d = -0.71)" in texts[0] and "2개" in texts[0] and "m1" not in texts[1]
    assert "6개월" in texts[3] and "90원" in texts[6] and "100원" in texts[6] and "경고" in texts[8]
    # English unchanged by the catalogue
    assert cost_window(None, 6)[1] == "the last 6 months of the channel report"


# --------------------------------------------------------------------------- at scale


def test_lookalike_on_a_stratified_sample_scores_every_customer():
    df, rng = _lookalike_data(n=1200, seed=4)
    logit = 2.5 * (df["share_purchases_web"] - 0.5) * 4 + 0.6 * (df["frequency"] - 3)
    targets = (rng.uniform(size=len(df)) < 1 / (1 + np.exp(-logit + 1.5))).to_numpy()
    full = lookalike_model(df, targets, exclude=["clv"], n_splits=3, random_state=0)
    assert full.n_fit == len(df)
    same = lookalike_model(df, targets, exclude=["clv"], n_splits=3, random_state=0, fit_size=len(df))
    assert same.scores.equals(full.scores)  # a sample as large as the table is the table
    part = lookalike_model(df, targets, exclude=["clv"], n_splits=3, random_state=0, fit_size=400, batch_size=97)
    assert part.n_fit == 400 and part.folds["n_test"].sum() == 400
    assert part.folds["targets_test"].sum() == round(targets.mean() * 400)  # the sample keeps the targets' share
    s = part.scores
    assert len(s) == len(df) and s["score"].between(0, 1).all() and s["customer_id"].is_unique
    assert s.loc[~s["is_target"], "rank"].tolist() == list(range(1, int((~targets).sum()) + 1))
    assert part.auc_mean > 0.75
    # customers outside the sample are scored like the sampled ones: high and low scores agree with the full model
    both = s.set_index("customer_id")["score"].rank().corr(full.scores.set_index("customer_id")["score"].rank())
    assert both > 0.9


def test_seef_takes_tables_and_never_the_run_folder():
    """Issue 9 item 2: only the run package knows the run folder; no SEEF function takes a RunContext or a run_dir."""
    import ast
    from pathlib import Path

    import ecrm_lib.seef

    for path in Path(ecrm_lib.seef.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("ecrm_lib.run", "ecrm_lib.report")), (path.name, node.module)
            if isinstance(node, ast.FunctionDef):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                assert not names & {"ctx", "run_dir", "context"}, (path.name, node.name)


def test_seef_notebooks_read_no_transaction_or_contact_table_into_pandas():
    """Issue 10 item 3: notebooks 40-70 aggregate transactions and contacts in the engine."""
    import json

    from ecrm_lib.core.paths import NOTEBOOKS_DIR

    for name in ("40_feedback", "50_selection", "60_evaluation", "70_expansion"):
        cells = json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for table in ("transactions", "contacts", "campaigns", "feedback", "accounts"):
            assert f'ctx.frame("{table}")' not in code, (name, table)
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), name  # committed without outputs


def test_targets_in_language_words_the_targets_in_each_language_and_keeps_only_them(priced):
    from ecrm_lib.core.language import using
    from ecrm_lib.seef.selection import select_customers, targets_in_language

    rule = {"churn_probability_min": 0.5, "max_targets": 2}
    targets = targets_in_language(priced, rule)
    for lang in ("en", "ko", "en"):  # each language as select_customers words it, asked for again after the other
        with using(lang):
            whole = select_customers(priced, rule)
            got = targets()
        want = whole.loc[whole["selected"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
        assert got["customer_id"].tolist() == ["b", "d"]  # the cap of 2 (d first, then b), in the table's order; nobody else
    with using("ko"):
        ko = targets()["reasons"].tolist()
    with using("en"):
        en = targets()["reasons"].tolist()
    assert ko != en and all(ko) and all(en)
    with using("en"):  # a selection already made in the current language is used for it
        given = targets_in_language(priced, rule, select_customers(priced, rule))
        pd.testing.assert_frame_equal(given(), targets())
    with using("ko"):
        pd.testing.assert_frame_equal(given(), targets())
    first = targets()
    first.loc[0, "reasons"] = "changed"
    assert targets().loc[0, "reasons"] != "changed"  # a new frame each time: a caller's change stays its own


def test_the_later_steps_keep_their_columns_and_share_no_memory_with_the_whole_table():
    from ecrm_lib.seef.selection import SEGMENTS_COLUMNS, add_contact_cost, keep_later_columns

    c = pd.DataFrame({"customer_id": ["a", "b"], "clv": [9000.0, 10.0], "segment": ["Lost", "Champions"],
                      "recency_gap": [1.0, 2.0], "total_spend": [5.0, 6.0],
                      "share_contacts_phone": [1.0, 0.0], "share_contacts_email": [0.0, 1.0]})
    costs = pd.DataFrame({"channel": ["phone", "email"], "purpose": [None, None], "cost_per_contact": [6000.0, 150.0]})
    before = c.copy()
    priced = add_contact_cost(c, costs)
    pd.testing.assert_frame_equal(c, before)  # the input is not modified
    assert priced["contact_channel"].tolist() == ["phone", "email"] and priced["contact_cost"].tolist() == [6000.0, 150.0]
    assert priced["reachable_channels"].tolist() == ["phone", "email"]
    kept = keep_later_columns(priced)
    assert list(kept.columns) == ["customer_id", "clv", "segment", "contact_channel", "contact_cost", "reachable_channels"]
    assert set(kept.columns) <= set(SEGMENTS_COLUMNS) | {"reachable_channels"}
    for col in ("clv", "contact_cost"):  # a real copy: the whole table's blocks can be let go
        assert not np.shares_memory(kept[col].to_numpy(), priced[col].to_numpy())
    with pytest.raises(ValueError, match="from step 1"):  # step 4 run again on the kept columns: said, not unreachable
        add_contact_cost(kept, costs)


def test_expansion_value_leaves_out_the_excluded_and_counts_unknown_value_as_nothing():
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "t"], "is_target": [False] * 4 + [True],
                           "score": [0.9, 0.8, 0.5, 0.2, 0.95], "rank": pd.array([1, 2, 3, 4, pd.NA], dtype="Int64")})
    customers = pd.DataFrame({"customer_id": ["t", "a", "b", "c"], "clv": [999.0, 30.0, 20.0, np.nan]})  # d: not in the table
    twice = pd.concat([customers, customers.iloc[[1]].assign(clv=-5.0)])  # a's second row does not count
    ev = expansion_value(scores, twice, [1, 2, 3], exclude={"b"})
    pd.testing.assert_frame_equal(ev, expansion_value(scores, customers, [1, 2, 3], exclude=pd.Series(["b"], dtype="string")))
    # b excluded: a, c, d in rank order; c's unknown CLV and d's missing row count 0
    assert ev["added"].tolist() == [1, 2, 3] and ev["value"].tolist() == [30.0, 30.0, 30.0]
    assert ev["value_random"].tolist() == [10.0, 20.0, 30.0]  # mean (30 + 0 + 0) / 3 per customer added
    assert ev["min_score"].tolist() == [0.9, 0.5, 0.2] and ev["mean_score"].iloc[1] == pytest.approx(0.7)
    assert np.isnan(ev["value_low"]).all()  # no bounds in the table


def test_customer_view_takes_each_products_first_row_and_shares_the_base():
    from ecrm_lib.seef.customers import customer_view

    segs = pd.DataFrame({"customer_id": pd.array(["a", "b", "c"], dtype="string"), "rank": pd.array([1, pd.NA, 2], dtype="Int64"),
                         "selected": [True, False, True]})
    cv = pd.DataFrame({"customer_id": ["c", "a", "a"], "frequency": [3, 1, 7], "segment": pd.array(["x", "y", "z"], dtype="string")})
    v = customer_view(segs, cv)
    assert v["frequency"].tolist()[0] == 1 and v["frequency"].tolist()[2] == 3 and np.isnan(v["frequency"].iloc[1])
    assert v["segment"].dtype == "string" and v["segment"].tolist()[::2] == ["y", "x"] and v["segment"].isna().tolist() == [False, True, False]
    assert v["rank"].dtype == "Int64"  # the base's columns keep their type
    every = customer_view(segs, cv.iloc[[1, 0]])  # every customer but b found: ints stay ints where all are known
    assert every["frequency"].dtype == "float64"  # b is missing
    full = customer_view(segs.iloc[[0, 2]], cv.iloc[[1, 0]])
    assert full["frequency"].dtype == "int64" and full["frequency"].tolist() == [1, 3]
    assert np.shares_memory(v["selected"].to_numpy(), segs["selected"].to_numpy())  # the base is not copied

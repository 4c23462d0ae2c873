"""The closed loop of the selection by incremental profit (issue 16 item 3): realised against predicted.

A small constructed case whose realised figure is worked out by hand (identity changes, a customer in
both arms, a campaign before the earlier run, the campaign that reaches most of them chosen), the
interval against scipy's Welch test and its coverage on simulated campaigns, and, on the session's
shared two-run execution (600 generated persons, seed 11), the main run's realised figure against an
independent recomputation from the raw files and against the generator's true effect.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ecrm_lib.core.language import using
from ecrm_lib.seef import loop_profit as LP
from ecrm_lib.seef.loop import bridge_customer_ids

START, END = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
COSTS = pd.DataFrame({"channel": ["email", "app"], "purpose": [None, None], "cost_per_contact": [50.0, 10.0]})
ECON = {"margin": 0.3, "offer_cost_per_contact": 20.0}


def _case():
    """Earlier targets E1..E11; E7 and E8 merged into one customer since, E9's account is gone, E10 has two accounts
    today assigned to both arms, E11 is in no campaign. Campaign c1 (after the earlier run) reaches E1..E6 and E10,
    c2 reaches E1 and E2 only, c0 was sent before the earlier run."""
    ids = [f"E{i}" for i in range(1, 12)]
    targets = pd.DataFrame({"customer_id": ids, "channel": "email", "cost": 999.0,  # the plan's cost: replaced by this run's price
                            "predicted_profit": [10.0, 30.0, 50.0, 20.0, 40.0, 60.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                            "holdout": [False] * 10 + [True]})
    earlier_map = pd.DataFrame({"account_id": [f"a{i}" for i in range(1, 12)], "customer_id": ids})
    current = {"a1": "E1", "a2": "N2", "a2b": "N2", "a3": "E3", "a4": "E4", "a5": "E5", "a6": "E6", "a7": "M78", "a8": "M78",
               "a10": "N10", "a10b": "N10", "a11": "E11", "z1": "Z1"}
    current_map = pd.DataFrame({"account_id": list(current), "customer_id": list(current.values())})
    ts = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    rows = [("a1", "c0", False, 1, 9999.0, ts("2024-12-15"))]
    c1 = {"a1": (False, 1, 1000.0), "a2": (False, 0, 0.0), "a3": (False, 1, 500.0), "a4": (True, 1, 200.0), "a5": (True, 0, 0.0),
          "a6": (True, 0, 0.0), "a7": (False, 1, 50.0), "a10": (False, 0, 0.0), "a10b": (True, 0, 0.0), "z1": (True, 1, 10.0)}
    rows += [(a, "c1", ctrl, r, rev, ts("2025-03-01 01:00")) for a, (ctrl, r, rev) in c1.items()]
    rows += [("a1", "c2", False, 0, 0.0, ts("2025-04-01")), ("a2", "c2", True, 0, 0.0, ts("2025-04-01"))]
    campaigns = pd.DataFrame(rows, columns=["account_id", "campaign_id", "is_control", "response", "revenue", "assigned_at"])
    campaigns["arm"] = np.where(campaigns["is_control"], "control", "treatment")
    return targets, earlier_map, current_map, campaigns


def test_realised_profit_of_a_constructed_case_is_the_hand_computed_one():
    targets, emap, cmap, camp = _case()
    res, why = LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics=ECON, n_bands=2, min_cell=1)
    assert why is None and res.campaign_id == "c1"  # c1 reaches 6 of them, c2 two; c0 is before the earlier run
    assert res.counts == {"targets": 11, "identity changed": 3, "not in the campaign": 1, "in both arms": 1, "measured": 6}
    f = res.found.set_index("earlier_customer_id")
    assert sorted(f.index) == ["E1", "E2", "E3", "E4", "E5", "E6"] and f.loc["E2", "customer_id"] == "N2"
    assert (f["cost"] == 50.0 + 20.0).all()  # this run's price of e-mail plus the offer per contact
    tab = res.table.set_index("band")
    # margin 0.3 x (mean treated revenue (1000 + 0 + 500) / 3 - mean control revenue (200 + 0 + 0) / 3) - 70 = 60
    assert tab.loc[0, "realised"] == pytest.approx(60.0)
    assert tab.loc[0, "predicted"] == pytest.approx(35.0) and tab.loc[0, "customers"] == 6
    assert tab.loc[0, "realised_total"] == pytest.approx(360.0) and tab.loc[0, "predicted_total"] == pytest.approx(210.0)
    # the Welch interval of the difference of the two arms' mean margins, shifted by the known cost
    ci = stats.ttest_ind([300.0, 0.0, 150.0], [60.0, 0.0, 0.0], equal_var=False).confidence_interval(0.95)
    assert (tab.loc[0, "ci_low"], tab.loc[0, "ci_high"]) == pytest.approx((ci.low - 70, ci.high - 70))
    # bands of predicted profit: {E1 10, E4 20, E2 30} and {E5 40, E3 50, E6 60}
    assert tab.loc[1, "realised"] == pytest.approx(0.3 * (500 - 200) - 70) and tab.loc[2, "realised"] == pytest.approx(0.3 * 500 - 70)
    assert (tab.loc[1, "predicted_from"], tab.loc[1, "predicted_to"], tab.loc[2, "predicted_from"]) == (10.0, 30.0, 40.0)
    assert np.isnan(tab.loc[2, "ci_low"])  # one treated customer in band 2: no interval
    assert LP.band_verdict(res.table) == "ordered" and not res.has_truth and np.isnan(tab.loc[0, "true_expected"])
    m = LP.loop_profit_metrics(res)
    assert m["loop_profit_measured"] == 6 and m["loop_profit_earlier_targets"] == 11
    assert m["loop_profit_realised_per_customer"] == pytest.approx(60.0) and m["loop_profit_true_per_customer"] is None
    assert m["loop_profit_top_band_realised"] == pytest.approx(80.0) and m["loop_profit_bottom_band_realised"] == pytest.approx(20.0)


def test_truth_offer_per_response_named_campaign_and_min_cell():
    targets, emap, cmap, camp = _case()
    truth = pd.DataFrame({"account_id": camp["account_id"], "campaign_id": camp["campaign_id"],
                          "revenue_uplift": 100.0, "p_treated": 0.5})
    econ = dict(ECON, offer_cost_per_response=10.0)
    res, _ = LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics=econ, truth=truth, n_bands=1,
                            min_cell=1)
    tab = res.table.set_index("band")
    # two treated responders pay the offer: 0.3 x 1500 / 3 - 10 x 2 / 3 - 0.3 x 200 / 3 - 70
    assert tab.loc[0, "realised"] == pytest.approx(150 - 20 / 3 - 20 - 70)
    assert res.has_truth and tab.loc[0, "true_expected"] == pytest.approx(0.3 * 100 - 70 - 10 * 0.5)
    # a named campaign; one that never reached them is refused with the ones that did
    res2, _ = LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics=ECON, campaign_id="c2", min_cell=1)
    assert res2.campaign_id == "c2" and res2.counts["measured"] == 2
    with pytest.raises(ValueError, match=r"campaigns that did: \['c1', 'c2'\]"):
        LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics=ECON, campaign_id="c0")
    # with the default smallest cell of 5 the 3 + 3 customers give no realised figure at all
    res3, _ = LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics=ECON)
    assert res3.table["realised"].isna().all() and LP.loop_profit_metrics(res3)["loop_profit_realised_per_customer"] is None


def test_not_available_says_why_in_both_languages():
    targets, emap, cmap, camp = _case()
    assert "first run" in str(LP.missing_reason(None, None, True))
    r = LP.missing_reason(START, targets.iloc[0:0], True)
    assert "chose no customers by incremental profit" in str(r)
    with using("ko"):
        assert "증분 이익" in str(r) and re.search("[가-힣]", str(LP.missing_reason(START, targets, False)))
    late = camp.assign(assigned_at=pd.Timestamp("2025-07-02", tz="UTC"))  # after this run's as-of date
    res, why = LP.loop_profit(targets, emap, cmap, late, START, END, channel_costs=COSTS, economics=ECON)
    assert res is None and "no randomised campaign" in str(why)
    res, why = LP.loop_profit(targets, emap, cmap, camp, START, END, channel_costs=COSTS, economics={})
    assert res is None and "margin" in str(why)
    assert set(LP.loop_profit_metrics(None).values()) == {None}


def test_the_welch_interval_covers_the_true_profit_about_95_times_in_100():
    """600 simulated randomised campaigns of 400 customers with a heterogeneous effect: the 95 % interval of the realised
    profit per customer holds the sample's true expected profit in 93-97 % of them (measured: 95.3 %)."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(600):
        n = 400
        x = rng.random(n)
        p0, p1 = 0.05 + 0.05 * x, 0.05 + 0.25 * x
        spend = rng.gamma(4.0, 25.0, n)
        t = rng.random(n) < 0.5
        y = rng.random(n) < np.where(t, p1, p0)
        g = LP.realised_gain(t, np.where(y, spend, 0.0), y, 5.0, margin=0.5)
        truth = float(np.mean(0.5 * (p1 - p0) * 100.0 - 5.0))
        hits += g["ci_low"] <= truth <= g["ci_high"]
    assert 0.93 <= hits / 600 <= 0.97, hits / 600


# ----------------------------------------------------------------------------- the shared two-run execution
def _metrics(run_dir, notebook):
    from ecrm_lib.run.context import RunLayout

    data = json.loads(RunLayout(run_dir).metrics(notebook).read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in data["metrics"].items()}


def _product(run_dir, notebook, name):
    from ecrm_lib.run.context import RunLayout

    return pd.read_parquet(RunLayout(run_dir).product(notebook, name))


@pytest.mark.slow
def test_the_second_run_measures_the_first_runs_profit_selection(suite_runs):
    """The earlier run (before the spring campaign) selects by incremental profit from the earlier campaign; the main run
    finds those customers in the spring campaign: its realised profit per customer equals a recomputation from the raw
    files, and its interval holds what the generator's true effect says those customers earn."""
    from ecrm_lib.core.config import load_config
    from ecrm_lib.run.context import RunLayout

    config = load_config(suite_runs.config)
    data = suite_runs.config.parent
    truth = json.loads((data / "truth" / "truth.json").read_text(encoding="utf-8"))
    earlier_dir, run_dir = suite_runs.earlier.run_dir, suite_runs.latest.run_dir
    sel0 = _metrics(earlier_dir, "selection")
    targets = _product(earlier_dir, "selection", "profit_targets")
    assert sel0["profit_n_targets"] == len(targets) > 20 and targets["holdout"].any()
    m = _metrics(run_dir, "feedback")
    assert m["loop_profit_earlier_targets"] == len(targets)
    assert m["loop_profit_measured"] >= 0.8 * len(targets)
    lo, hi, true = m["loop_profit_realised_ci_low"], m["loop_profit_realised_ci_high"], m["loop_profit_true_per_customer"]
    assert lo < m["loop_profit_realised_per_customer"] < hi and lo <= true <= hi, (lo, hi, true)
    assert _metrics(earlier_dir, "feedback")["loop_profit_measured"] is None  # the earlier run has no run before it

    # recompute: earlier target -> its accounts (earlier map) -> rows of the main campaign (generated after the earlier run);
    # customers whose identity merged, split or was lost since are left out, as the loop's follow-up marks them
    camp = pd.read_csv(data / "campaigns.csv", dtype={"account_id": str})
    camp = camp[camp["campaign_id"] == truth["campaign"]["campaign_id"]]
    emap = _product(earlier_dir, "channel_integration", "account_map")
    status = _product(run_dir, "feedback", "loop_followup").set_index("earlier_customer_id")["status"]
    keep = targets[targets["customer_id"].map(status).isin(["same", "grown"])]
    rows = emap[emap["customer_id"].isin(set(keep["customer_id"]))].merge(camp, on="account_id")
    per = rows.groupby("customer_id").agg(treated=("arm", lambda s: (s == "treatment").all()), arms=("arm", "nunique"),
                                          revenue=("revenue", "sum"))
    per = per[per["arms"] == 1]
    price = pd.read_csv(data / "channel_costs.csv").query("purpose != purpose").set_index("channel")["cost_per_contact"]
    cost = keep.set_index("customer_id")["channel"].map(price).astype(float) + config.economics.offer_cost_per_contact
    t, c = per[per["treated"]], per[~per["treated"]]
    realised = 0.3 * (t["revenue"].mean() - c["revenue"].mean()) - cost.reindex(per.index).mean()
    assert len(per) == m["loop_profit_measured"]
    assert m["loop_profit_realised_per_customer"] == pytest.approx(realised, rel=1e-9)
    assert m["loop_profit_predicted_per_customer"] == pytest.approx(keep.set_index("customer_id").loc[per.index, "predicted_profit"].mean())
    band = _product(run_dir, "feedback", "loop_profit")
    assert band["band"].tolist() == [0, 1, 2, 3] and band["customers"].iloc[1:].sum() == band["customers"].iloc[0]
    # the page says it, in both languages, with the figure
    en = RunLayout(run_dir).html("feedback").read_text(encoding="utf-8")
    ko = RunLayout(run_dir).html("feedback", "ko").read_text(encoding="utf-8")
    assert "Chosen by incremental profit: what did contacting them earn" in en and "증분 이익으로 고른 고객" in ko
    assert en.count("<img") > 0 and "True expected" in en and "참 기댓값" in ko
    earlier_en = RunLayout(earlier_dir).html("feedback").read_text(encoding="utf-8")
    assert "realised against predicted:</strong> not available because this is the first run" in earlier_en


def test_segment_uplift_figure_with_two_campaigns_sharing_arm_names():
    """The default data has two campaigns whose arms share names: the figure of uplift by segment drew one series per
    arm and failed on the duplicated segments ("cannot reindex on an axis with duplicate labels"); it now draws one
    series per campaign and arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecrm_lib.report.plots.feedback import plot_segment_uplift

    rows = [dict(campaign_id=c, arm="treatment", segment=s, uplift=u, ci_low=u - 0.02, ci_high=u + 0.02, suppressed=False)
            for c, base in (("2024-autumn-coupon", 0.03), ("2025-spring-coupon", 0.02)) for s, u in (("a", base), ("b", base + 0.01))]
    ax = plot_segment_uplift(pd.DataFrame(rows))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["2024-autumn-coupon · treatment", "2025-spring-coupon · treatment"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close(ax.figure)

"""Issue 16 item 2: the comparison of ways of choosing on a campaign's own customers, with intervals (a bootstrap
over the customers), what it supports, and the money uplift curve that shows it (tick labels and marked points
read back from the figure)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ecrm_lib.core.errors import EcrmError  # noqa: E402
from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.report.plots.base import set_theme  # noqa: E402
from ecrm_lib.report.plots.profit import plot_money_uplift_curve  # noqa: E402
from ecrm_lib.seef import profit_eval as E  # noqa: E402


def _campaign(n, seed, effect=0.08, base=0.03, everyone_effect=False):
    """A 50/50 randomised campaign: customers with x > 0.5 respond to the contact (all of them with
    ``everyone_effect``); revenue 100 per responder. Returns x, t, revenue and the true revenue uplift per row."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    t = rng.integers(0, 2, n)
    tau = effect * (np.ones(n) if everyone_effect else (x > 0.5))
    revenue = 100.0 * (rng.random(n) < base + tau * t)
    return x, t, revenue, 100.0 * tau


def test_the_interval_covers_the_true_profit_about_as_often_as_it_says():
    """200 campaigns of 2,000 customers with a known effect: the 95 % bootstrap interval of the targeted choice's
    profit, and the paired interval of its advantage over contacting everyone, cover the truth in 90-99 % of them
    (measured: 97 % and 92.5 %)."""
    hit_policy = hit_adv = 0
    reps = 200
    for k in range(reps):
        x, t, rev, tau = _campaign(2_000, seed=100 + k)
        sel = x > 0.5
        truth = 1000 * np.mean(np.where(sel, 0.5 * tau - 2.0, 0.0))
        truth_everyone = 1000 * np.mean(0.5 * tau - 2.0)
        r = E.bootstrap_policies({"top": sel}, t, rev, margin=0.5, contact_cost=2.0, n_boot=200, random_state=k)
        top, every = r.iloc[0], r.set_index("policy").loc["everyone"]
        hit_policy += top["ci_low"] <= truth <= top["ci_high"]
        hit_adv += every["advantage_low"] <= truth - truth_everyone <= every["advantage_high"]
    assert 0.90 <= hit_policy / reps <= 0.99
    assert 0.90 <= hit_adv / reps <= 0.99


def test_points_match_the_plain_estimator_and_the_pairing_narrows_the_difference():
    x, t, rev, _ = _campaign(20_000, seed=3)
    sel, rule = x > 0.5, x < 0.3
    r = E.bootstrap_policies({"top": sel, "rule": rule}, t, rev, margin=0.5, contact_cost=2.0, n_boot=400).set_index("policy")
    z = E.profit_contributions(t, rev, margin=0.5, contact_cost=2.0)
    assert r.loc["top", "per_1000"] == pytest.approx(E.policy_gain(sel, z)["per_1000"])
    assert r.loc["everyone", "per_1000"] == pytest.approx(1000 * z.mean())
    assert r.loc["random, same size", "per_1000"] == pytest.approx(sel.mean() * 1000 * z.mean())
    assert r.loc["top", "share"] == pytest.approx(sel.mean()) and r.loc["random, same size", "share"] == pytest.approx(sel.mean())
    for way in ("rule", "everyone", "random, same size"):
        assert r.loc[way, "advantage_per_1000"] == pytest.approx(r.loc["top", "per_1000"] - r.loc[way, "per_1000"])
        assert r.loc[way, "advantage_low"] < r.loc[way, "advantage_per_1000"] < r.loc[way, "advantage_high"]
    # the normal interval of policy_gain and the percentile bootstrap agree on a campaign this size (within 15 %)
    g = E.policy_gain(sel, z)
    assert (r.loc["top", "ci_high"] - r.loc["top", "ci_low"]) == pytest.approx(1000 * (g["ci_high"] - g["ci_low"]), rel=0.15)
    # the paired interval of top - everyone is narrower than the two intervals side by side suggest
    width = lambda lo, hi: hi - lo  # noqa: E731
    side_by_side = width(r.loc["top", "ci_low"], r.loc["top", "ci_high"]) + width(r.loc["everyone", "ci_low"], r.loc["everyone", "ci_high"])
    assert width(r.loc["everyone", "advantage_low"], r.loc["everyone", "advantage_high"]) < 0.7 * side_by_side


def test_a_customers_rows_are_resampled_together():
    """The same campaign with every customer's row written twice: resampling rows as if independent would narrow the
    interval by about 1/sqrt(2); resampling customers keeps the width of the campaign written once."""
    x, t, rev, _ = _campaign(6_000, seed=5)
    once = E.bootstrap_policies({"top": x > 0.5}, t, rev, margin=0.5, contact_cost=2.0, n_boot=400).iloc[0]
    x2, t2, rev2 = (np.repeat(a, 2) for a in (x, t, rev))
    ids = np.repeat(np.arange(len(x)), 2)
    rows = E.bootstrap_policies({"top": x2 > 0.5}, t2, rev2, margin=0.5, contact_cost=2.0, n_boot=400).iloc[0]
    customers = E.bootstrap_policies({"top": x2 > 0.5}, t2, rev2, margin=0.5, contact_cost=2.0, n_boot=400, groups=ids).iloc[0]
    w = lambda r: r["ci_high"] - r["ci_low"]  # noqa: E731
    assert customers["per_1000"] == pytest.approx(once["per_1000"])
    assert w(customers) == pytest.approx(w(once), rel=0.15)
    assert w(rows) < 0.85 * w(customers)


def test_eligible_rows_bound_everyone_and_random_picks():
    x, t, rev, _ = _campaign(4_000, seed=8)
    reach = x > 0.2  # the others have no priced channel: nobody contacts them
    sel = (x > 0.5) & reach
    r = E.bootstrap_policies({"top": sel}, t, rev, margin=0.5, contact_cost=2.0, eligible=reach, n_boot=100).set_index("policy")
    z = E.profit_contributions(t, rev, margin=0.5, contact_cost=2.0)
    assert r.loc["everyone", "per_1000"] == pytest.approx(1000 * np.where(reach, z, 0).mean())
    assert r.loc["everyone", "share"] == pytest.approx(reach.mean())
    assert r.loc["random, same size", "per_1000"] == pytest.approx(sel.sum() / reach.sum() * 1000 * np.where(reach, z, 0).mean())


def test_bad_input_is_a_clear_error():
    x, t, rev, _ = _campaign(500, seed=1)
    with pytest.raises(EcrmError, match="both treated and control"):
        E.bootstrap_policies({"top": x > 0.5}, np.ones(500), rev, margin=0.5)
    with pytest.raises(ValueError, match="has 3 values, but the campaign has 500 rows"):
        E.bootstrap_policies({"top": np.ones(3, bool)}, t, rev, margin=0.5)
    with pytest.raises(ValueError, match="at least one selection"):
        E.bootstrap_policies({}, t, rev, margin=0.5)
    with pytest.raises(ValueError, match="n_boot must be at least 1"):
        E.bootstrap_policies({"top": x > 0.5}, t, rev, margin=0.5, n_boot=0)


def test_the_verdict_targets_only_when_the_intervals_clear_and_says_contact_everyone_when_targeting_does_not_pay():
    # a clear heterogeneous effect: targeting the responders beats everyone beyond chance
    x, t, rev, _ = _campaign(30_000, seed=2)
    r = E.bootstrap_policies({"by incremental profit": x > 0.5}, t, rev, margin=0.5, contact_cost=2.0, n_boot=300)
    f = E.comparison_figures(r)
    assert f["profit_low"] > 0 and f["over_everyone_low"] > 0 and np.isnan(f["rule"])
    assert E.targeting_verdict(f) == "target"
    # everyone responds alike (the men's e-mail case): leaving half out only loses money -> contact everyone
    x, t, rev, _ = _campaign(30_000, seed=4, everyone_effect=True)
    r = E.bootstrap_policies({"by incremental profit": x > 0.5}, t, rev, margin=0.5, contact_cost=2.0, n_boot=300)
    assert E.targeting_verdict(E.comparison_figures(r)) == "everyone"
    # nobody responds: every contact is a loss
    x, t, rev, _ = _campaign(30_000, seed=6, effect=0.0)
    r = E.bootstrap_policies({"by incremental profit": x > 0.5}, t, rev, margin=0.5, contact_cost=2.0, n_boot=300)
    assert E.targeting_verdict(E.comparison_figures(r)) == "nobody"
    # a small campaign: the same effect, but the intervals reach 0 -> test first
    x, t, rev, _ = _campaign(600, seed=7)
    r = E.bootstrap_policies({"by incremental profit": x > 0.5}, t, rev, margin=0.5, contact_cost=2.0, n_boot=300)
    assert E.targeting_verdict(E.comparison_figures(r)) == "test"
    # a rule that was measured must be beaten beyond chance too
    f = {"profit": 50.0, "profit_low": 10.0, "everyone": 20.0, "everyone_low": -5.0, "over_everyone_low": 4.0,
         "rule": 45.0, "over_rule_low": -3.0}
    assert E.targeting_verdict(f) == "test" and E.targeting_verdict({**f, "over_rule_low": 1.0}) == "target"


# ----------------------------------------------------------------------------- the figure
def _tables(scale=1.0):
    set_theme()  # the suite's style and its Hangul font
    x, t, rev, _ = _campaign(3_000, seed=9)
    rev = rev * scale
    z = E.profit_contributions(t, rev, margin=0.5, contact_cost=2.0 * scale)
    curve = E.money_uplift_curve(x, z)
    sel = x > 0.5
    comparison = E.bootstrap_policies({"by incremental profit": sel, "rule": x < 0.3}, t, rev, margin=0.5,
                                      contact_cost=2.0 * scale, n_boot=200)
    return curve, comparison


def _marks(ax):
    """Legend label -> (x, y) of the marked point, from the error bars' markers drawn."""
    out = {}
    for container in ax.containers:
        line = container.lines[0]
        out[container.get_label()] = (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
    return out


def test_the_curve_marks_each_way_of_choosing_at_its_share_and_profit_with_readable_ticks():
    curve, comparison = _tables()
    ax = plot_money_uplift_curve(curve, comparison, currency="USD")
    ax.figure.canvas.draw()
    marks = _marks(ax)
    want = {"the profit model's cut-off": "by incremental profit", "the rule's targets": "rule",
            "contact everyone": "everyone", "random picks, same size as the cut-off": "random, same size"}
    assert set(marks) == set(want)
    by = comparison.set_index("policy")
    for shown, policy in want.items():
        assert marks[shown] == pytest.approx((by.loc[policy, "share"], by.loc[policy, "per_1000"]))
    # the error bars are the intervals
    bars = {c.get_label(): c.lines[2][0].get_segments()[0] for c in ax.containers}
    seg = bars["contact everyone"]
    assert (seg[0][1], seg[1][1]) == pytest.approx((by.loc["everyone", "ci_low"], by.loc["everyone", "ci_high"]))
    # the profit model's cut-off lies on its curve: the curve at that share is the cut-off's profit
    k = int(round(by.loc["by incremental profit", "share"] * 3_000))
    on_curve = E.money_uplift_curve(*(lambda x, t, r, _: (x, E.profit_contributions(t, r, margin=0.5, contact_cost=2.0)))(
        *_campaign(3_000, seed=9)), max_points=10**6).set_index("k").loc[k, "per_1000"]
    assert on_curve == pytest.approx(by.loc["by incremental profit", "per_1000"])
    xt = [tl.get_text() for tl in ax.get_xticklabels()]
    assert xt[0] == "0%" and xt[-1] == "100%" and all(s.endswith("%") for s in xt)
    yt = [tl.get_text() for tl in ax.get_yticklabels() if tl.get_text()]
    assert yt and not any("e" in s.lower() for s in yt)  # plain numbers, no 1e3 and no offset
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert ax.get_ylabel() == "Incremental profit per 1,000 campaign customers (USD)"
    assert ax.get_xlabel() == "Campaign customers contacted (%)"
    plt.close(ax.figure)


def test_large_amounts_read_short_and_korean_pages_in_korean_units():
    curve, comparison = _tables(scale=10_000.0)  # KRW-sized amounts: hundreds of thousands per 1,000 customers
    ax = plot_money_uplift_curve(curve, comparison, currency="KRW")
    ax.figure.canvas.draw()
    yt = [tl.get_text() for tl in ax.get_yticklabels() if tl.get_text() and tl.get_text() != "0"]
    assert yt and all(s[-1] in "kM" for s in yt), yt
    plt.close(ax.figure)
    with using("ko"):
        ax = plot_money_uplift_curve(curve, comparison, currency="KRW")
        ax.figure.canvas.draw()
        yt = [tl.get_text() for tl in ax.get_yticklabels() if tl.get_text() and tl.get_text() != "0"]
        assert yt and all(s.endswith("만") or s.endswith("억") for s in yt), yt
        assert ax.get_ylabel() == "캠페인 고객 1,000명당 증분 이익 (원)"
        assert set(_marks(ax)) == {"이익 모형의 선택 기준점", "규칙의 대상 고객", "모두에게 연락", "기준점과 같은 수의 무작위 선택"}
        plt.close(ax.figure)


def test_the_curve_needs_its_columns():
    with pytest.raises(ValueError, match="needs the curve's column"):
        plot_money_uplift_curve(pd.DataFrame({"share": [0.0, 1.0]}))


def test_random_line_reaches_everyone_reachable_at_the_reachable_share():
    """With unreachable customers, the curve's random line matches the comparison's random picks among the reachable:
    at share s it is s / reach of the profit of contacting everyone reachable (the review found it drawn as s x)."""
    from ecrm_lib.seef.profit_eval import money_uplift_curve, reachable_random_line

    rng = np.random.default_rng(3)
    reachable = rng.random(400) < 0.6
    score = np.where(reachable, rng.normal(size=400), -np.inf)
    z = np.where(reachable, rng.normal(5.0, 20.0, size=400), 0.0)
    curve = money_uplift_curve(score, z, max_points=401)
    line = reachable_random_line(curve, reachable.mean())
    end = curve["per_1000"].iloc[-1]
    at = curve["share"].sub(reachable.mean() / 2).abs().idxmin()
    assert line.iloc[at] == pytest.approx(end * curve["share"].iloc[at] / reachable.mean())
    assert np.allclose(line[curve["share"] >= reachable.mean()], end)

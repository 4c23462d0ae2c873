"""NPS and CSAT against hand-computed values; grouping, months and suppression."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.seef import satisfaction as S


def test_nps_hand_computed():
    # 20 answers: 8 promoters (9-10), 7 passives (7-8), 5 detractors (0-6).
    scores = [10] * 5 + [9] * 3 + [8] * 4 + [7] * 3 + [6, 5, 0, 3, 6]
    r = S.nps(scores)
    p, d = 8 / 20, 5 / 20
    assert r["n"] == 20 and r["promoters"] == p and r["detractors"] == d
    assert r["nps"] == pytest.approx(15.0)
    # Var = 100^2 (0.4 + 0.25 - 0.15^2) / 20 = 313.75
    assert r["se"] == pytest.approx(math.sqrt(313.75))
    assert r["ci_low"] == pytest.approx(15 - 1.959963984540054 * math.sqrt(313.75))
    assert r["ci_high"] == pytest.approx(15 + 1.959963984540054 * math.sqrt(313.75))
    r90 = S.nps(scores, ci_level=0.90)
    assert r90["ci_high"] - r90["ci_low"] == pytest.approx(2 * 1.6448536269514722 * math.sqrt(313.75))


def test_nps_edges():
    assert S.nps([10, 9, 10])["nps"] == 100 and S.nps([10, 9, 10])["ci_high"] == 100
    assert math.isnan(S.nps([])["nps"])
    with pytest.raises(ValueError, match="0-10"):
        S.nps([4, 11])


def test_nps_interval_coverage():
    """Normal-approximation coverage at n=400 on 300 simulated surveys: within 0.90-0.99 of 0.95
    (standard error of the estimate 1.3 points)."""
    rng = np.random.default_rng(3)
    probs = np.array([0.05] * 7 + [0.1, 0.15, 0.2, 0.15])
    probs = probs / probs.sum()
    true = 100 * (probs[9:].sum() - probs[:7].sum())
    cover = sum(S.nps(x)["ci_low"] <= true <= S.nps(x)["ci_high"] for x in (rng.choice(11, 400, p=probs) for _ in range(300)))
    assert 0.90 <= cover / 300 <= 0.99


def test_csat_top_two_box():
    r = S.csat([5, 5, 4, 3, 2, 1, 4, 4])
    assert r["n"] == 8 and r["csat"] == pytest.approx(5 / 8)
    assert r["ci_low"] < 5 / 8 < r["ci_high"]
    assert r["mean_score"] == pytest.approx(28 / 8)


def test_category():
    assert S.nps_category(pd.Series([0, 6, 7, 8, 9, 10])).tolist() == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2


def test_satisfaction_by_channel_month_and_suppression():
    ts = pd.to_datetime(["2025-01-31 16:00", "2025-01-31 14:00"] * 5 + [None] * 2, utc=True)
    fb = pd.DataFrame({"timestamp": ts, "score": [10, 0] * 5 + [9, 9], "score_max": 10.0,
                       "channel": ["web"] * 10 + ["store"] * 2})
    fb = pd.concat([fb, pd.DataFrame({"timestamp": ts[:1], "score": [5.0], "score_max": [5.0], "channel": ["web"]})])
    ch = S.satisfaction_by(fb, "channel", min_cell=5).set_index("group")
    assert ch.loc["web", "n"] == 10 and ch.loc["web", "nps"] == 0       # the 5-star row is not NPS
    assert ch.loc["store", "suppressed"] and math.isnan(ch.loc["store", "nps"])
    # 16:00 UTC on 31 January is 1 February in Seoul.
    mo = S.satisfaction_by(fb, "month", timezone="Asia/Seoul", min_cell=1).set_index("group")
    assert mo.loc["2025-02", "n"] == 5 and mo.loc["2025-02", "nps"] == 100
    assert mo.loc["2025-01", "nps"] == -100 and mo.loc["no date", "n"] == 2
    cs = S.satisfaction_by(fb, "channel", kind="csat", min_cell=1)
    assert cs["n"].tolist() == [1] and cs["csat"].tolist() == [1.0]


def test_attach_segment_and_score_by_it():
    fb = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "score": [10, 0, 9, 9], "score_max": 10.0}, index=[5, 6, 7, 8])
    cust = pd.DataFrame({"account_id": ["a", "b", "c"], "tier": ["gold", "gold", "basic"]})
    out = S.attach_segment(fb, cust, "tier")
    assert out.index.tolist() == [5, 6, 7, 8] and out["segment"].tolist() == ["gold", "gold", "basic", "missing"]
    by = S.satisfaction_by(out, "segment", min_cell=1).set_index("group")
    assert by.loc["gold", "nps"] == 0 and by.loc["basic", "nps"] == 100
    with pytest.raises(KeyError, match="not found"):
        S.attach_segment(fb, cust, "age")


def test_nps_metrics():
    m = S.nps_metrics(S.nps([10] * 5 + [8] * 3 + [2] * 2))
    assert m["nps"] == pytest.approx(30.0) and m["nps_ci_low"] < 30 < m["nps_ci_high"]
    assert S.nps_metrics(S.nps([])) == {"nps": None, "nps_ci_low": None, "nps_ci_high": None}   # NaN becomes None
    assert S.nps_metrics(None)["nps"] is None


# ------------------------------------------------------------------ changes of NPS (issue 15, item 5)
def _dated(rows, tz="Asia/Seoul"):
    """Feedback rows from (local date, score) pairs; None for an undated answer."""
    ts = [pd.Timestamp(d).tz_localize(tz).tz_convert("UTC") if d else pd.NaT for d, _ in rows]
    return pd.DataFrame({"timestamp": pd.to_datetime(ts, utc=True), "score": [float(s) for _, s in rows], "score_max": 10.0})


def _noisy_months():
    """30 months whose single months swing widely (first month +100, last month -100) while the
    12-month windows are level: the last 12 months and the 12 before both have NPS 0."""
    rows = []
    for i, month in enumerate(pd.period_range("2023-01", "2025-06", freq="M")):
        day = month.to_timestamp() + pd.Timedelta(days=14)
        if i == 0:
            scores = [10] * 6
        elif i == 29:
            scores = [0] * 6
        else:
            scores = [10, 0] * 3
        rows += [(day, s) for s in scores]
    return _dated(rows)


def test_period_comparison_compares_twelve_months_not_end_months():
    fb = _noisy_months()
    first_month = S.satisfaction_by(fb, "month", timezone="Asia/Seoul", min_cell=1).iloc[[0, -1]]["nps"].tolist()
    assert first_month == [100.0, -100.0]          # what comparing the two end months would say
    r = S.nps_period_comparison(fb, end="2025-06-30", timezone="Asia/Seoul", min_answers=30)
    assert r["months"] == 12 and r["reason"] is None
    rec, prev = r["recent"], r["previous"]
    assert (rec["start"], rec["end"]) == (pd.Timestamp("2024-07-01").date(), pd.Timestamp("2025-06-30").date())
    assert (prev["start"], prev["end"]) == (pd.Timestamp("2023-07-01").date(), pd.Timestamp("2024-06-30").date())
    # recent: 11 months of 3 promoters + 3 detractors and one month of 6 detractors -> 33 P, 39 D of 72
    assert rec["n"] == 72 and rec["nps"] == pytest.approx(100 * (33 - 39) / 72)
    assert prev["n"] == 72 and prev["nps"] == pytest.approx(0.0)
    assert r["change"] == pytest.approx(rec["nps"] - prev["nps"])
    assert r["se"] == pytest.approx(math.hypot(rec["se"], prev["se"]))
    assert r["ci_low"] == pytest.approx(r["change"] - 1.959963984540054 * r["se"])
    assert r["verdict"] == "within the noise"
    s = S.nps_change_sentence(r)
    assert "last 12 months" in s and "12 months before" in s and "within the noise" in s
    assert f"{r['ci_low']:+.1f} to {r['ci_high']:+.1f}" in s and "2023-01" not in s
    assert "from 2024-07-01 to 2025-06-30 (72 answers)" in s
    from ecrm_lib.core.privacy import scrub_pii

    assert scrub_pii(s) == s                      # shown through report.md, which masks phone-like runs


def test_period_comparison_short_data_and_too_few_answers():
    fb = _noisy_months()
    short = fb[fb["timestamp"] >= pd.Timestamp("2024-09-01", tz="UTC")]          # 10 months of answers
    r = S.nps_period_comparison(short, end="2025-06-30", timezone="Asia/Seoul", min_answers=10)
    assert r["months"] == 5 and r["recent"]["start"] == pd.Timestamp("2025-02-01").date()
    assert r["previous"]["start"] == pd.Timestamp("2024-09-15").date()      # the data begin inside the window
    few = S.nps_period_comparison(fb, end="2025-06-30", timezone="Asia/Seoul", min_answers=100)
    assert few["reason"] and math.isnan(few["change"]) and few["verdict"] == "not available"
    assert "fewer than 100" in S.nps_change_sentence(few)
    none = S.nps_period_comparison(fb.assign(timestamp=pd.NaT), end="2025-06-30")
    assert none["reason"] == "no dated answers on the 0-10 scale"


def test_clear_change_is_called_a_rise():
    rows = [("2024-03-01", s) for s in [10] * 50 + [0] * 50] + [("2025-03-01", s) for s in [10] * 90 + [0] * 10]
    r = S.nps_period_comparison(_dated(rows), end="2025-06-30", months=12)
    assert r["change"] == pytest.approx(80.0) and r["verdict"] == "rise" and r["ci_low"] > 0
    assert "a rise: the interval excludes zero" in S.nps_change_sentence(r)


def test_change_since_an_earlier_run_accounts_for_the_overlap():
    """The executive summary's +1.08 between two runs: the overall NPS now against the overall NPS
    then (answers up to then, undated ones included), with the interval of that change."""
    rows = [("2024-06-01", s) for s in [10] * 30 + [0] * 30] + [(None, 10), (None, 0)] + \
           [("2025-03-01", s) for s in [10] * 25 + [8] * 5 + [0] * 20]
    fb = _dated(rows)
    r = S.nps_change_since(fb, since="2024-12-30", timezone="Asia/Seoul")
    then, now = r["then"], r["now"]
    assert then["n"] == 62 and then["nps"] == pytest.approx(0.0)         # undated answers count then and now
    assert now["n"] == 112 and now["nps"] == pytest.approx(100 * (56 - 51) / 112)
    assert r["n_new"] == 50 and r["weight"] == pytest.approx(50 / 112)
    assert r["change"] == pytest.approx(now["nps"] - then["nps"])
    new = S.nps([10] * 25 + [8] * 5 + [0] * 20)
    assert r["change"] == pytest.approx(50 / 112 * (new["nps"] - then["nps"]))
    assert r["se"] == pytest.approx(50 / 112 * math.hypot(new["se"], then["se"]))
    # narrower than treating the two overall figures as independent samples
    assert r["se"] < math.hypot(now["se"], then["se"])
    s = S.nps_change_sentence(r)
    assert s.startswith("Since 2024-12-30 the overall NPS moved from +0.0 to +4.5") and "within the noise" in s
    from ecrm_lib.core.privacy import scrub_pii

    assert scrub_pii(s) == s
    gone = S.nps_change_since(fb, since="2025-06-01")
    assert gone["reason"] and "after 2025-06-01" in gone["reason"]


def test_nps_changes_table_keeps_available_changes():
    fb = _noisy_months()
    a = S.nps_period_comparison(fb, end="2025-06-30", timezone="Asia/Seoul")
    b = S.nps_change_since(fb, since="2025-06-01", timezone="Asia/Seoul")    # too few answers since
    t = S.nps_changes_table([a, b, None])
    assert t["comparison"].tolist() == ["last 12 months vs the 12 before"]
    assert t.iloc[0]["ci_low"] == pytest.approx(a["ci_low"])


def test_nps_change_plot_axis_holds_interval_and_zero():
    """Issue 15, item 5: +1.08 within +-4.5 was drawn on a 17.75-18.75 axis. The change figure's
    axis holds every interval and zero; the drawn point and bar are the table's values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecrm_lib.report.plots.feedback import plot_nps_change

    changes = pd.DataFrame({"comparison": ["now vs as of 2024-12-30", "last 12 months vs the 12 before"],
                            "change": [1.08, 4.0], "ci_low": [1.08 - 4.5, 1.0], "ci_high": [1.08 + 4.5, 7.0]})
    ax = plot_nps_change(changes)
    lo, hi = ax.get_xlim()
    assert lo < min(changes["ci_low"].min(), 0) and hi > max(changes["ci_high"].max(), 0)
    assert hi - lo >= 9.0                                  # never a 1-point axis
    line = ax.lines[0]                                    # the points drawn
    assert list(line.get_xdata()) == pytest.approx([1.08, 4.0])
    bars = ax.collections[0].get_segments()               # the interval bars drawn
    assert [tuple(np.round([s[0][0], s[1][0]], 6)) for s in bars] == [(-3.42, 5.58), (1.0, 7.0)]
    plt.close(ax.figure)
    far = plot_nps_change(pd.DataFrame({"comparison": ["x"], "change": [20.0], "ci_low": [15.0], "ci_high": [25.0]}))
    assert far.get_xlim()[0] < 0 < far.get_xlim()[1]      # zero stays on the axis
    plt.close(far.figure)


def test_answers_counted_in_the_engine_give_the_figures_of_the_rows():
    import datetime as dt

    rng = np.random.default_rng(8)
    n = 900
    fb = pd.DataFrame({"account_id": [f"A{i % 200}" for i in range(n)], "channel": rng.choice(["web", "app", "store"], n),
                       "score": rng.integers(0, 11, n).astype(float), "score_max": 10.0,
                       "timestamp": pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
                       + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")})
    fb.loc[:40, "timestamp"] = pd.NaT  # undated answers
    fb.loc[41:60, "score"] = np.nan  # rows without a score are counted, never scored
    counts = S.score_counts(fb, by=["channel"], timezone="Asia/Seoul")
    assert S.answer_count(counts) == n and len(counts) < n
    rows = fb[S.nps_scale_rows(fb)]
    c = counts[S.nps_scale_rows(counts)]
    assert S.nps(c["score"], weights=c["answers"]) == S.nps(rows["score"])
    for by in ("channel", "month"):
        assert S.satisfaction_by(counts, by, timezone="Asia/Seoul").equals(S.satisfaction_by(fb, by, timezone="Asia/Seoul")), by
    end, since = dt.date(2025, 6, 1), dt.date(2024, 12, 1)
    assert (S.nps_period_comparison(counts, end=end, timezone="Asia/Seoul")
            == S.nps_period_comparison(fb, end=end, timezone="Asia/Seoul"))
    assert (S.nps_change_since(counts, since=since, end=end, timezone="Asia/Seoul")
            == S.nps_change_since(fb, since=since, end=end, timezone="Asia/Seoul"))
    stars = pd.DataFrame({"score": [5.0, 4.0, 2.0, 5.0], "score_max": 5.0, "channel": "app"})
    sc = S.score_counts(stars)
    assert S.csat(sc["score"], weights=sc["answers"]) == S.csat(stars["score"])


@pytest.mark.parametrize("column", ["absent", "empty"])
def test_scale_read_from_the_scores_when_score_max_is_missing(column):
    """Issue 13 item 3: without score_max, 0-10 answers still give an NPS (before: None, and the page said the
    feedback had no scores on a 0-10 or 1-5 scale)."""
    rng = np.random.default_rng(0)
    fb = pd.DataFrame({"channel": "web", "score": rng.integers(0, 11, 300).astype(float),
                       "timestamp": pd.Timestamp("2025-03-01", tz="UTC")})
    if column == "empty":
        fb["score_max"] = np.nan
    ans = S.score_counts(fb)
    assert ans.attrs["score_max_inferred"] == 10 and "0-10" in ans.attrs["score_max_note"]
    rows = ans[S.nps_scale_rows(ans)]
    assert S.answer_count(rows) == 300
    direct = S.nps(fb["score"])
    assert S.nps(rows["score"], weights=rows["answers"])["nps"] == pytest.approx(direct["nps"])
    stars = S.score_counts(pd.DataFrame({"channel": "web", "score": [1.0, 3, 4, 5, 5]}))
    assert stars.attrs["score_max_inferred"] == 5 and (stars["score_max"] == 5).all()
    odd = S.score_counts(pd.DataFrame({"channel": "web", "score": [2.5, 7.25]}))
    assert odd.attrs["score_max_inferred"] is None and "Set score_max" in odd.attrs["score_max_note"]
    assert odd["score_max"].isna().all()
    given = S.score_counts(pd.DataFrame({"channel": "web", "score": [1.0, 3], "score_max": 10.0}))
    assert given.attrs["score_max_note"] is None and (given["score_max"] == 10).all()

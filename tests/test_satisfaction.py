"""NPS and CSAT against hand-computed values; grouping, months and suppression."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ecrm_lib import satisfaction as S


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

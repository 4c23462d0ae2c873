"""Figures of the overview, customer-value, feedback and loop pages are formatted for a reader (issue 15):
no scientific notation or offsets, thousands separators, counts as whole numbers, shares in %, differences
signed, value axes from zero, heatmap cells as percentages. Each plot function is drawn on small tables of
the shape its compute module returns and its tick labels and limits are read back."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from figure_checks import SCI, plain, ticks  # noqa: E402

from ecrm_lib.report.plots import feedback as fplots  # noqa: E402
from ecrm_lib.report.plots import loop as lplots  # noqa: E402
from ecrm_lib.report.plots import overview as oplots  # noqa: E402
from ecrm_lib.report.plots import value as vplots  # noqa: E402



@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _integers_with_separators(texts):
    values = []
    for t in texts:
        assert re.fullmatch(r"-?\d{1,3}(,\d{3})*", t), t  # a whole number, thousands separated
        values.append(int(t.replace(",", "")))
    return values


def _signed(texts):
    for t in texts:
        assert t.strip("0.") == "" or t[0] in "+-", t
    assert len({len(t.split(".")[1]) if "." in t else 0 for t in texts}) == 1, texts  # the same decimals on every tick


# --------------------------------------------------------------------------------------- overview
def test_overview_counts_are_whole_numbers_from_zero():
    by_reason = pd.DataFrame({"source": ["tx", "tx"], "reason": ["bad amount", "no date"], "rows": [12500, 3]})
    ax = oplots.plot_set_aside(by_reason)
    plain(ax, offset_allowed=True)
    assert max(_integers_with_separators(ticks(ax, "x"))) >= 10000 and ax.get_xlim()[0] == 0
    channels = pd.DataFrame({"channel": ["store", "web"], "accounts": [2500, 1200], "transactions": [11000, 4000],
                             "contacts": [300, 5000], "feedback": [10, 5]})
    ax = oplots.plot_channel_coverage(channels)
    plain(ax, offset_allowed=True)
    assert max(_integers_with_separators(ticks(ax, "y"))) >= 10000 and ax.get_ylim()[0] == 0
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    monthly = pd.DataFrame({"table": ["transactions"] * 6, "group": ["internet"] * 6, "month": months,
                            "rows": [1, 2, 3, 2, 1, 2]})
    axes = oplots.plot_monthly_activity(monthly)
    plain(axes[0], offset_allowed=True)
    _integers_with_separators(ticks(axes[0], "y"))  # 1.5 rows is never a tick
    assert axes[0].get_ylim()[0] == 0


def test_identifier_heatmap_cells_read_as_percentages():
    ids = pd.DataFrame({"channel": ["store", "web"], "accounts": [10, 20], "name": [1.0, 0.456],
                        "email": [0.0, 0.994], "phone": [0.5, 0.25]})
    ax = oplots.plot_identifier_completeness(ids)
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["100%", "0%", "50%", "46%", "99%", "25%"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["name", "e-mail", "phone"]  # words, not column names
    assert all(t.get_fontsize() >= 9 for t in ax.texts)


# --------------------------------------------------------------------------------------- customer value
def test_customer_value_axes():
    groups = pd.Categorical(["0", "1", "2+"], categories=["0", "1", "2+"])
    by_frequency = pd.DataFrame({"label": ["Actual"] * 3 + ["BG/NBD"] * 3, "model": ["actual"] * 3 + ["bgnbd"] * 3,
                                 "frequency_group": list(groups) * 2, "mean_purchases": [0.1, 0.5, 1.2, 0.12, 0.45, 1.3],
                                 "n_customers": [900, 400, 300] * 2})
    by_frequency["frequency_group"] = pd.Categorical(by_frequency["frequency_group"], categories=["0", "1", "2+"])
    ax = vplots.plot_holdout_by_frequency(by_frequency, 26, "weeks")
    plain(ax, offset_allowed=True)
    assert ax.get_ylim()[0] == 0
    labels = ticks(ax, "y")  # the same decimals on every tick ("0.0, 0.5, 1.0", not "0, 0.50, 1")
    assert len({len(t.split(".")[1]) if "." in t else 0 for t in labels}) == 1, labels
    dates = pd.date_range("2025-01-01", periods=30, freq="D")
    tracking = pd.concat([pd.DataFrame({"date": dates, "series": s, "model": m, "chosen": c,
                                        "cumulative_repeat_purchases": np.linspace(0, 1500 * f, 30)})
                          for s, m, c, f in [("Actual", "actual", True, 1.0), ("BG/NBD", "bgnbd", True, 0.97)]])
    ax = vplots.plot_holdout_tracking(tracking)
    plain(ax, offset_allowed=True)
    assert max(_integers_with_separators(ticks(ax, "y"))) >= 1000 and ax.get_ylim()[0] == 0
    rng = np.random.default_rng(0)
    preds = pd.DataFrame({"p_alive": rng.uniform(0, 1, 200), "expected_purchases": rng.gamma(1, 1.5, 200)})
    axes = vplots.plot_activity(preds, "the next 52 weeks")
    for ax in axes:
        plain(ax, offset_allowed=True)
        assert ax.get_ylim()[0] == 0 and all(t.endswith("%") for t in ticks(ax, "y"))
    assert all(t.endswith("%") for t in ticks(axes[0], "x"))  # P(alive) in % like the page's prose
    top = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)], "clv": np.linspace(1e6, 4e6, 20)})
    top["clv_low"], top["clv_high"] = 0.8 * top["clv"], 1.3 * top["clv"]
    ax = vplots.plot_top_clv(top, "KRW", level=0.9)
    plain(ax, offset_allowed=True)
    assert max(_integers_with_separators(ticks(ax, "x"))) >= 1_000_000 and ax.get_xlim()[0] == 0
    ax = vplots.plot_clv_distribution(pd.DataFrame({"clv": rng.lognormal(11, 1, 300)}), "KRW")
    plain(ax, offset_allowed=True)
    assert ax.get_ylim()[0] == 0


# --------------------------------------------------------------------------------------- feedback and loop
def test_feedback_differences_are_signed_points():
    uplift = pd.DataFrame({"is_control": [True, False], "campaign_id": ["c1", "c1"], "arm": ["control", "coupon"],
                           "uplift": [0.0, 0.021], "ci_low": [0.0, -0.01], "ci_high": [0.0, 0.052]})
    ax = fplots.plot_uplift(uplift)
    plain(ax, offset_allowed=True)
    _signed(ticks(ax, "x"))
    changes = pd.DataFrame({"comparison": ["last 12 months vs the 12 before"], "change": [1.08], "ci_low": [-3.4],
                            "ci_high": [5.6]})
    ax = fplots.plot_nps_change(changes)
    plain(ax, offset_allowed=True)
    _signed(ticks(ax, "x"))
    lo, hi = ax.get_xlim()
    assert lo < -3.4 and hi > 5.6  # the whole interval and zero, never an axis around the change alone
    summary = pd.DataFrame({"topic": [0, 1], "n": [1200, 35], "negative_share": [0.2, 0.5], "neutral_share": [0.3, 0.2],
                            "positive_share": [0.5, 0.3]})
    ax = fplots.plot_topics(summary)
    plain(ax, offset_allowed=True)
    assert max(_integers_with_separators(ticks(ax, "x"))) >= 1000 and ax.get_xlim()[0] == 0
    curves = pd.DataFrame({"label": ["coupon"] * 3, "share": [0.0, 0.5, 1.0], "qini": [0.0, 1500.0, 2100.0],
                           "random": [0.0, 1050.0, 2100.0]})
    ax = fplots.plot_qini(curves)
    plain(ax, offset_allowed=True)
    assert all(t.endswith("%") for t in ticks(ax, "x"))


def test_loop_panels_from_zero_without_scientific_notation():
    comparison = pd.DataFrame({"outcome": ["purchased", "revenue"], "targets": [0.42, 182_345.0],
                               "matched_non_targets": [0.38, 160_000.0], "difference": [0.04, 22_345.0],
                               "ci_low": [0.01, 5_000.0], "ci_high": [0.07, 40_000.0]})
    axes = lplots.plot_loop_comparison(comparison, currency="KRW")
    for ax in axes:
        plain(ax, offset_allowed=True)
        assert ax.get_ylim()[0] == 0
        assert not SCI.search(ax.get_title())
    assert all(t.endswith("%") for t in ticks(axes[0], "y"))
    assert "+22,345" in axes[1].get_title()
    assert max(_integers_with_separators(ticks(axes[1], "y"))) >= 100_000
    weights = pd.DataFrame({"segment": ["a", "b"], "uplift": [0.02, -0.01], "ci_low": [-0.01, -0.03],
                            "ci_high": [0.05, 0.01], "action": ["keep", "remove"]})
    ax = lplots.plot_segment_response(weights)
    _signed(ticks(ax, "x"))

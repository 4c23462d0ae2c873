"""Figures of the channel-integration, churn, selection, evaluation and executive-summary pages are formatted for a
reader (issue 15): counts as whole numbers with thousands separators, shares and probabilities in %, money in one
short unit per axis with the currency in the label, differences signed, no scientific notation or offset, value
axes from zero, heatmap cells legible, counts of 1-4 people drawn as ``<5``, labels in words in both languages.

Each plot function is drawn on small tables of the shape its compute module returns; its tick labels, limits,
annotations and labels are read back (tests/test_value_figures.py does the same for the other pages)."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from figure_checks import plain, ticks  # noqa: E402

from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.report.plots import channels as C  # noqa: E402
from ecrm_lib.report.plots import churn as H  # noqa: E402
from ecrm_lib.report.plots import seef as S  # noqa: E402
from ecrm_lib.report.plots import summary as M  # noqa: E402
from ecrm_lib.report.plots.base import set_theme  # noqa: E402
from ecrm_lib.report.trends import collect_trends  # noqa: E402

SNAKE = re.compile(r"[a-z]+_[a-z]+")
WHOLE = re.compile(r"-?\d{1,3}(,\d{3})*")


@pytest.fixture(autouse=True)
def _theme():
    set_theme()
    yield
    plt.close("all")


def _whole(texts) -> list[int]:
    assert texts
    for t in texts:
        assert WHOLE.fullmatch(t), t  # a whole number, thousands separated
    return [int(t.replace(",", "")) for t in texts]


def _percent(texts):
    assert texts and all(re.fullmatch(r"-?\d+(\.\d+)?%", t) for t in texts), texts


def _signed(texts):
    assert texts
    for t in texts:
        assert t.strip("0.") == "" or t[0] in "+-", t
    assert len({len(t.split(".")[1]) if "." in t else 0 for t in texts}) == 1, texts


def _one_money_unit(texts, units: str) -> str:
    """Every non-zero tick in the same short unit (``k``/``M``/``bn`` or ``만``/``억``), as many decimals each."""
    nonzero = [t for t in texts if t != "0"]
    assert nonzero, texts
    suffixes = {re.sub(r"^-?[\d,.]+", "", t) for t in nonzero}
    assert len(suffixes) == 1 and suffixes <= set(units) | {""}, texts
    assert len({len(t.rstrip(units).split(".")[1]) if "." in t else 0 for t in nonzero}) == 1, texts
    return suffixes.pop()


def _labels(ax) -> list[str]:
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    if ax.get_legend() is not None:
        texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in texts if t]


def _words(ax):
    """Axis labels, title and legend in words: no snake_case column name, no True/False."""
    for text in _labels(ax):
        assert not SNAKE.search(text) and "True" not in text and "False" not in text, text


# --------------------------------------------------------------------------------------- channel integration
def test_channel_counts_are_whole_numbers_from_zero_and_small_counts_read_fewer_than_five():
    sizes = pd.DataFrame({"stage": ["final"] * 3, "size": [1, 2, 3], "n_customers": [12_400, 3_100, 3], "n_accounts": [12_400, 6_200, 9]})
    ax = C.plot_component_sizes(sizes)
    plain(ax)
    assert max(_whole(ticks(ax, "y"))) >= 10_000 and ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.texts] == ["12,400", "3,100", "<5"]
    _words(ax)

    hourly = pd.DataFrame([{"group": g, "day_type": d, "hour": h, "n": 1500 + 40 * h} for g in ("internet", "offline")
                           for d in ("weekday", "weekend") for h in range(24)])
    ax = C.plot_hourly_contacts(hourly)
    plain(ax)
    assert max(_whole(ticks(ax, "y"))) >= 1000 and ax.get_ylim()[0] == 0
    _words(ax)

    conf = pd.DataFrame({"first_channel": ["phone", "web"], "second_channel": ["web", "app"], "purpose": ["billing", "billing"],
                         "conflicts": [1450, 3]})
    ax = C.plot_conflicts(conf)
    plain(ax)
    assert max(_whole(ticks(ax, "x"))) >= 1000 and ax.get_xlim()[0] == 0
    tiny = C.plot_conflicts(conf.assign(conflicts=[3, 1]))
    assert all(float(v) == int(float(v)) for v in _whole(ticks(tiny, "x")))  # no 0.5 conflict


def test_channel_shares_are_percentages():
    dist = pd.DataFrame([{"view": v, "purchases": p, "units": u, "share": u / 10} for v in ("per account", "per customer")
                         for p, u in (("1", 6), ("2", 3), ("3+", 1))])
    ax = C.plot_purchase_distribution(dist)
    _percent(ticks(ax, "y"))
    assert ax.get_ylim()[0] == 0
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"per account", "per customer"}  # words, not codes
    months = pd.date_range("2024-01-01", periods=4, freq="QS")
    mix = pd.DataFrame([{"table": t, "period": m, "channel": c, "group": g, "n": 10 + i} for t in ("purchases", "contacts")
                        for i, m in enumerate(months) for c, g in (("store", "offline"), ("web", "internet"))])
    mix.attrs["freq"] = "Q"
    for ax in C.plot_channel_mix(mix):
        _percent(ticks(ax, "y"))
        assert ax.get_ylim() == (0, 1)
    assert ticks(ax, "x")[0] == "2024 Q1"


def test_cost_to_serve_ticks_use_one_money_unit_and_start_at_zero():
    costs = pd.DataFrame({"channel": ["store", "phone", "web"], "cost_per_contact": [12_000.0, 6_000.0, 40.0],
                          "n_missing_cost": [0, 0, 0], "total_cost": [140_000.0, 96_000.0, 8_000.0]})
    for lang, units, unit_label in (("en", "kMbn", "(KRW)"), ("ko", "만억", "(원)")):
        with using(lang):
            axes = C.plot_cost_to_serve(costs, "KRW")
            for ax in axes:
                plain(ax)
                _one_money_unit(ticks(ax, "x"), units)  # never "50,000" beside "100k"
                assert ax.get_xlim()[0] == 0
                assert ax.get_xlabel().endswith(unit_label)
            plt.close(axes[0].figure)


def test_response_and_lead_figures_show_percentages_and_hide_counts_of_one_to_four_people():
    band = pd.DataFrame({"web_band": ["low", "high"], "response_rate": [0.1, 0.2], "response_ci_low": [0.05, 0.1],
                         "response_ci_high": [0.15, 0.3], "n_customers": [1400, 3]})
    dom = band.rename(columns={"web_band": "dominant_channel"}).assign(dominant_channel=["web", "store"])
    axes = C.plot_ifood_response(band, dom)
    _percent(ticks(axes[0], "y"))
    assert [t.get_text() for t in axes[0].texts] == ["n=1,400", "n=<5"]
    assert axes[0].get_ylabel().endswith("(%)")
    leads = pd.DataFrame({"channel": ["organic", "paid"], "conversion": [0.1, 0.3], "ci_low": [0.05, 0.2], "ci_high": [0.2, 0.4],
                          "n_leads": [2, 1500]})
    ax = C.plot_lead_conversion(leads)
    _percent(ticks(ax, "x"))
    assert sorted(t.get_text() for t in ax.texts) == ["1,500 leads", "<5 leads"]
    with using("ko"):
        axes = C.plot_ifood_response(band, dom)
        assert [t.get_text() for t in axes[0].texts] == ["1,400명", "<5명"]
        assert C.plot_lead_conversion(leads).get_xlabel() == "거래로 이어진 리드 (%, 막대: 95% 구간)"


# --------------------------------------------------------------------------------------- churn
MODELS = [("logistic", "Logistic regression"), ("gradient_boosting", "Gradient boosting")]


def test_churn_probabilities_and_rates_read_in_percent():
    roc = pd.DataFrame([{"model": m, "label": lab, "fpr": x, "tpr": min(1, x * 1.5)} for m, lab in MODELS for x in np.linspace(0, 1, 6)])
    ax = H.plot_roc_curves(roc, metrics=pd.DataFrame({"model": [m for m, _ in MODELS], "roc_auc": [0.71, 0.74]}))
    _percent(ticks(ax, "x"))
    _percent(ticks(ax, "y"))
    assert "(%" in ax.get_xlabel() and "0-1" not in ax.get_xlabel()
    cal = pd.DataFrame([{"model": m, "label": lab, "mean_predicted": p, "observed_rate": p * 0.9} for m, lab in MODELS
                        for p in np.linspace(0.05, 0.95, 10)])
    ax = H.plot_calibration(cal)
    _percent(ticks(ax, "x"))
    _percent(ticks(ax, "y"))
    assert "0-1" not in ax.get_xlabel() + ax.get_ylabel()
    rng = np.random.default_rng(0)
    ax = H.plot_risk_distribution(pd.DataFrame({"churn_probability": rng.beta(5, 2, 40_000)}), window_days=90)
    plain(ax)
    _percent(ticks(ax, "x"))
    assert max(_whole(ticks(ax, "y"))) >= 1000 and ax.get_ylim()[0] == 0
    assert "90" in ax.get_xlabel() and "(%)" in ax.get_xlabel()
    ax = H.plot_truth_by_decile(pd.DataFrame({"risk_decile": range(1, 11), "share_dead": np.linspace(0.9, 0.1, 10)}))
    _percent(ticks(ax, "y"))
    assert _whole(ticks(ax, "x")) == list(range(1, 11))
    tenure = pd.DataFrame([{"tenure_band": b, "contract": c, "churn_rate": r} for c in ("Month-to-month", "Two year")
                           for b, r in (("0-12", 0.42), ("13-24", 0.2))])
    ax = H.plot_churn_by_tenure(tenure)
    _percent(ticks(ax, "y"))
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 0.42


def test_churn_lift_from_zero_and_drivers_as_signed_auc_points():
    lift = pd.DataFrame([{"model": m, "label": lab, "decile": d, "lift": 2.5 / d} for m, lab in MODELS for d in range(1, 11)])
    ax = H.plot_lift(lift)
    plain(ax)
    assert ax.get_ylim()[0] == 0
    labels = ticks(ax, "y")
    assert len({len(t.split(".")[1]) if "." in t else 0 for t in labels}) == 1, labels
    imp = pd.DataFrame([{"model": m, "label": f, "importance_mean": v, "importance_std": 0.004} for m, _ in MODELS
                        for f, v in (("Purchase days", 0.052), ("Weeks since last purchase", -0.011))])
    ax = H.plot_importance(imp)
    plain(ax)
    _signed(ticks(ax, "x"))
    assert max(abs(b.get_width()) for b in ax.patches) == pytest.approx(5.2)  # 0.052 of AUC = 5.2 points
    assert "1 point = 0.01" in ax.get_xlabel()
    timeline = pd.DataFrame({"phase": ["training features", "label window", "scoring features", "predicted window"],
                             "start": pd.to_datetime(["2024-01-01", "2024-10-01", "2024-04-01", "2025-01-01"]),
                             "end": pd.to_datetime(["2024-09-30", "2024-12-31", "2024-12-31", "2025-03-31"])})
    with using("ko"):
        ax = H.plot_timeline(timeline, window_days=90)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["예측 대상 기간", "예측용 변수 기간", "이탈 판정 기간", "학습용 변수 기간"]


# --------------------------------------------------------------------------------------- selection
def test_selection_figures_count_whole_customers_and_hide_small_cells():
    seg = pd.DataFrame({"segment": ["Champions", "Hibernating"], "customers": [1250, 3], "customer_share": [0.7, 0.3],
                        "value_share": [0.4, 0.6]})
    ax = S.plot_segments(seg, currency="KRW")
    _percent(ticks(ax, "x"))
    assert ax.get_xlim()[0] == 0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Hibernating (<5)", "Champions (1,250)"]
    targets = pd.DataFrame({"selected": [True] * 1500 + [False], "reasons": ["high CLV 1200; Champions"] * 1500 + [""]})
    ax = S.plot_target_reasons(targets)
    plain(ax)
    assert max(_whole(ticks(ax, "x"))) >= 1000 and ax.get_xlim()[0] == 0
    k = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.3, 0.35, 0.28, 0.2], "inertia": [4.1e6, 2.6e6, 2.2e6, 2.0e6],
                      "chosen": [False, True, False, False], "elbow": [False, True, False, False]})
    a1, a2 = S.plot_k_selection(k)
    for ax in (a1, a2):
        plain(ax)  # inertia in millions without "1e6" beside the axis
        assert _whole(ticks(ax, "x")) == [2, 3, 4, 5]
        assert ax.get_ylim()[0] == 0  # a silhouette of 0.35 against 0.30 is drawn at its size
    assert max(_whole(ticks(a2, "y"))) >= 1_000_000


def test_cluster_heatmap_cells_are_signed_and_legible():
    prof = pd.DataFrame({"diff_recency_gap": [0.84, -0.02, 1.5], "diff_n_purchase_days": [-1.2, 0.31, -0.4],
                         "cluster_name": ["Loyal", "Lapsed", "Few"], "customers": [2200, 900, 4]})
    ax = S.plot_cluster_profiles(prof, ["recency_gap", "n_purchase_days"])
    assert [t.get_text() for t in ax.texts] == ["+0.8", "-1.2", "0.0", "+0.3"]  # the cluster of 4 people: no figures
    assert all(t.get_fontsize() >= 9 for t in ax.texts) and not ax.xaxis._major_tick_kw.get("gridOn", False)
    assert np.ma.getmaskarray(ax.images[0].get_array())[2].all()  # its row is drawn blank
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Loyal (2,200)", "Lapsed (900)", "Few (<5)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["weeks since last purchase", "purchase days"]  # words, not columns
    bar = ax.figure.axes[-1]
    _signed(ticks(bar, "y"))


# --------------------------------------------------------------------------------------- evaluation
def test_evaluation_curves_in_percent_and_net_value_in_money_units():
    curve = pd.DataFrame({"customer_share": np.linspace(0, 1, 11), "value_share": np.sqrt(np.linspace(0, 1, 11))})
    ax = S.plot_value_concentration(curve, {"customer_share": 0.2, "value_share": 0.45, "best_value_share": 0.6, "gini": 0.52}, currency="KRW")
    _percent(ticks(ax, "x"))
    _percent(ticks(ax, "y"))
    assert ax.get_xlim() == (0, 100) and ax.get_ylim() == (0, 100)
    rng = np.random.default_rng(3)
    ax = S.plot_target_lorenz(rng.lognormal(10, 1, 300), targets=rng.uniform(size=300) < 0.2, currency="KRW")
    _percent(ticks(ax, "x"))
    _percent(ticks(ax, "y"))
    net = pd.DataFrame({"net_value": rng.normal(400_000, 900_000, 3000)})
    flags = np.zeros(3000, dtype=bool)
    flags[:3] = True  # three targets: a count of 1-4 people
    for lang, units, legend in (("en", "kMbn", "targets (<5)"), ("ko", "만억", "대상 고객 (<5명)")):
        with using(lang):
            ax = S.plot_net_value(net, flags, currency="KRW")
            plain(ax)
            _one_money_unit(ticks(ax, "x"), units)
            _whole(ticks(ax, "y"))
            assert ax.get_ylim()[0] == 0
            lo, hi = ax.get_xlim()
            assert lo < 0 < hi  # break-even is on the axis
            assert legend in [t.get_text() for t in ax.get_legend().get_texts()]
            plt.close(ax.figure)


# --------------------------------------------------------------------------------------- expansion (customer counts)
def test_expansion_customer_counts_are_whole_numbers():
    mix = pd.DataFrame({"channel": ["app", "store"], "customers": [1800, 45], "cost_per_contact": [50.0, 12_000.0],
                        "suppressed": [False, False]})
    ax = S.plot_contact_plan_mix(mix, currency="KRW")
    plain(ax)
    assert max(_whole(ticks(ax, "x"))) >= 1000 and ax.get_xlim()[0] == 0
    table = pd.DataFrame({"added": [1, 2, 3], "value": [4e5, 7e5, 9e5], "value_low": [3e5, 6e5, 8e5], "value_high": [5e5, 8e5, 1e6],
                          "value_random": [2e5, 4e5, 6e5]})
    ax = S.plot_expansion_value(table, currency="KRW")
    assert _whole(ticks(ax, "x"))  # no half customer between 1 and 2


# --------------------------------------------------------------------------------------- executive summary
def test_trend_panels_in_the_unit_of_each_figure():
    rows = collect_trends([("2024-12-30", {"customer_value": {"top20_value_share": 0.52, "total_clv": 1.2e9},
                                           "selection": {"n_targets": 1180}, "feedback": {"nps": 17.7}}),
                           ("2025-06-30", {"customer_value": {"top20_value_share": 0.64, "total_clv": 1.4e9},
                                           "selection": {"n_targets": 1420}, "feedback": {"nps": 18.8}})],
                          ["customer_value.top20_value_share", "customer_value.total_clv", "selection.n_targets", "feedback.nps"])
    labels = {"customer_value.top20_value_share": ("Top-20% share", "share 0-1"), "customer_value.total_clv": ("CLV", "config currency"),
              "selection.n_targets": ("Targets", "customers"), "feedback.nps": ("NPS", "points, -100 to 100")}
    share, money, count, nps = M.plot_trends(rows, labels, currency="KRW")
    for ax in (share, money, count, nps):
        plain(ax)
        _words(ax)
    _percent(ticks(share, "y"))
    assert max(_whole(ticks(count, "y"))) >= 1000
    assert money.get_ylabel() == "million KRW"
    with using("ko"):
        share, money, count, nps = M.plot_trends(rows, labels, currency="KRW")
        assert count.get_ylabel() == "고객 수" and money.get_ylabel() == "백만 원"
    points = collect_trends([("2024-12-30", {"selection": {"loop_purchase_rate_diff": -0.02}}),
                             ("2025-06-30", {"selection": {"loop_purchase_rate_diff": 0.031}})], ["selection.loop_purchase_rate_diff"])
    (ax,) = M.plot_trends(points, {"selection.loop_purchase_rate_diff": ("Bought again, difference", "share points, 0.01 = 1 point")})
    _signed(ticks(ax, "y"))

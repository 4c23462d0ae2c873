"""Every figure of report/plots in English and in Korean (issue 12 item 4).

Each public ``plot_*`` function of every module under ``ecrm_lib/report/plots`` is drawn on
small hand-made data under ``using("en")`` and ``using("ko")`` and rendered to PNG. The test
fails on a "Glyph ... missing" warning, on a label of ours that is not Korean in the Korean
drawing (titles, axis labels, colour-bar labels, legend titles and entries, notes drawn on the
axes: at least 80 % Hangul among their letters once data values and acronyms are set aside),
and on Hangul in the English drawing. A plot function without a case here fails the test too.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import ecrm_lib.report.plots as plots_pkg  # noqa: E402
from ecrm_lib.core.language import using  # noqa: E402
from ecrm_lib.report.plots.base import set_theme  # noqa: E402

HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")

# Values of the hand-made data (drawn as they are in both languages) and the acronyms Korean
# reports keep; both are taken out of a label before its letters are counted.
DATA = ["alpha-shop", "beta-web", "gamma-app", "deltaline", "grpx", "grpy", "srcfile", "badrow", "armone", "armtwo",
        "segaa", "segbb", "reasonzz", "complainq", "cmpq", "cmpr", "contractm", "contracty", "featone", "feattwo",
        "clusterp", "clusterq", "compareq", "wordaa", "wordbb", "wordcc", "modelq", "email", "phone", "Actual"]
ACRONYMS = ["ROC-AUC", "BG/NBD", "MBG/NBD", "Pareto/NBD", "P(alive)", "NPS", "CSAT", "CLV", "AUC", "ROC", "Qini", "k"]


def _public_plot_functions() -> set[str]:
    names = set()
    for info in pkgutil.iter_modules(plots_pkg.__path__):
        mod = importlib.import_module(f"ecrm_lib.report.plots.{info.name}")
        names |= {f"{info.name}.{n}" for n in getattr(mod, "__all__", []) if n.startswith("plot_")}
    return names


def _cases() -> dict:
    from ecrm_lib.report.plots import channels as C
    from ecrm_lib.report.plots import churn as H
    from ecrm_lib.report.plots import feedback as F
    from ecrm_lib.report.plots import loop as L
    from ecrm_lib.report.plots import overview as O
    from ecrm_lib.report.plots import profit as P
    from ecrm_lib.report.plots import seef as S
    from ecrm_lib.report.plots import summary as M
    from ecrm_lib.report.plots import value as V
    from ecrm_lib.report.trends import collect_trends

    rng = np.random.default_rng(1)
    months = pd.date_range("2024-01-01", periods=8, freq="MS")
    chans = ["alpha-shop", "beta-web", "gamma-app"]
    models = [("logistic", "Logistic regression"), ("gradient_boosting", "Gradient boosting"), ("p_alive", "BG/NBD: 1 - P(alive)")]
    ci = dict(ci_low=[-0.02, -0.03], ci_high=[0.05, 0.01])
    return {
        "overview.plot_set_aside": lambda: O.plot_set_aside(pd.DataFrame({"source": ["srcfile"] * 2, "reason": ["badrow", "reasonzz"], "rows": [12, 7]})),
        "overview.plot_channel_coverage": lambda: O.plot_channel_coverage(pd.DataFrame(
            {"channel": chans, "accounts": [50, 40, 30], "transactions": [200, 90, 10], "contacts": [30, 20, 5], "feedback": [5, 6, 7]})),
        "overview.plot_monthly_activity": lambda: O.plot_monthly_activity(pd.DataFrame(
            [{"table": t, "group": g, "month": m, "rows": int(rng.integers(5, 50))} for t in ("transactions", "contacts")
             for g in ("internet", "offline") for m in months])),
        "overview.plot_identifier_completeness": lambda: O.plot_identifier_completeness(pd.DataFrame(
            {"channel": chans, "accounts": [50, 40, 30], "email": [0.9, 0.5, 0.1], "phone": [0.2, 0.8, 1.0]})),
        "channels.plot_purchase_distribution": lambda: C.plot_purchase_distribution(pd.DataFrame(
            [{"view": v, "purchases": p, "units": u, "share": u / 10} for v in ("per account", "per customer")
             for p, u in (("1", 6), ("2", 3), ("3+", 1))])),
        "channels.plot_component_sizes": lambda: C.plot_component_sizes(pd.DataFrame(
            {"stage": ["final"] * 3, "size": [1, 2, 3], "n_customers": [1200, 300, 20], "n_accounts": [1200, 600, 60]})),
        "channels.plot_channel_mix": lambda: C.plot_channel_mix(pd.DataFrame(
            [{"table": t, "period": m, "channel": c, "group": g, "n": int(rng.integers(1, 30))} for t in ("purchases", "contacts")
             for m in months[:4] for c, g in zip(chans, ("offline", "internet", "internet"))])),
        "channels.plot_cost_to_serve": lambda: C.plot_cost_to_serve(pd.DataFrame(
            {"channel": chans, "cost_per_contact": [1500.0, np.nan, 35000.0], "n_missing_cost": [0, 4, 1],
             "total_cost": [2_500_000.0, np.nan, 130_000_000.0]}), "KRW"),
        "channels.plot_hourly_contacts": lambda: C.plot_hourly_contacts(pd.DataFrame(
            [{"group": g, "day_type": d, "hour": h, "n": int(rng.integers(0, 9))} for g in ("internet", "offline")
             for d in ("weekday", "weekend") for h in range(24)])),
        "channels.plot_conflicts": lambda: C.plot_conflicts(pd.DataFrame(
            {"first_channel": chans[:2], "second_channel": chans[1:], "purpose": ["complainq", "complainq"], "conflicts": [9, 4]})),
        "channels.plot_ifood_response": lambda: C.plot_ifood_response(
            pd.DataFrame({"web_band": ["deltaline", "grpx"], "response_rate": [0.1, 0.2], "response_ci_low": [0.05, 0.1],
                          "response_ci_high": [0.15, 0.3], "n_customers": [400, 90]}),
            pd.DataFrame({"dominant_channel": ["beta-web", "alpha-shop"], "response_rate": [0.1, 0.2], "response_ci_low": [0.05, 0.1],
                          "response_ci_high": [0.15, 0.3], "n_customers": [400, 90]})),
        "channels.plot_lead_conversion": lambda: C.plot_lead_conversion(pd.DataFrame(
            {"channel": chans, "conversion": [0.1, 0.3, 0.2], "ci_low": [0.05, 0.2, 0.1], "ci_high": [0.2, 0.4, 0.3], "n_leads": [80, 60, 1500]})),
        "value.plot_holdout_by_frequency": lambda: V.plot_holdout_by_frequency(pd.DataFrame(
            [{"label": lab, "model": mod, "frequency_group": g, "mean_purchases": m, "n_customers": 100}
             for lab, mod in (("Actual", "actual"), ("BG/NBD", "bgnbd")) for g, m in (("0", 0.2), ("1", 0.8), ("2+", 1.9))]),
            39, "weeks"),
        "value.plot_holdout_tracking": lambda: V.plot_holdout_tracking(pd.DataFrame(
            [{"date": d, "series": s, "model": mod, "chosen": ch, "cumulative_repeat_purchases": i * k}
             for s, mod, ch, k in (("Actual", "actual", False, 10), ("BG/NBD", "bgnbd", True, 9), ("Pareto/NBD", "pareto", False, 11))
             for i, d in enumerate(pd.date_range("2025-01-01", periods=20, freq="W"))])),
        "value.plot_activity": lambda: V.plot_activity(pd.DataFrame({"p_alive": rng.uniform(0, 1, 200), "expected_purchases": rng.gamma(1, 2, 200)})),
        "value.plot_top_clv": lambda: V.plot_top_clv(pd.DataFrame(
            {"customer_id": [f"c{i}" for i in range(8)], "clv": np.arange(8) * 1e5 + 1e5, "clv_low": np.arange(8) * 8e4,
             "clv_high": np.arange(8) * 1.3e5 + 2e5}), "KRW", n=5, level=0.9),
        "value.plot_clv_distribution": lambda: V.plot_clv_distribution(pd.DataFrame({"clv": rng.lognormal(12, 1, 300)}), "KRW"),
        "value.plot_lorenz": lambda: V.plot_lorenz(pd.DataFrame({"customer_share": np.linspace(0, 1, 11), "value_share": np.linspace(0, 1, 11) ** 3}),
                                                   pd.DataFrame({"top_share": [0.01, 0.2], "value_share": [0.1, 0.6]})),
        "value.plot_spend_vs_frequency": lambda: V.plot_spend_vs_frequency(pd.DataFrame(
            {"frequency": rng.integers(0, 12, 300), "monetary_value": rng.lognormal(10, 0.5, 300)}), "KRW"),
        "churn.plot_timeline": lambda: H.plot_timeline(pd.DataFrame(
            {"phase": ["training features", "label window", "scoring features", "predicted window"],
             "start": pd.to_datetime(["2024-01-01", "2024-10-01", "2024-04-01", "2025-01-01"]),
             "end": pd.to_datetime(["2024-09-30", "2024-12-31", "2024-12-31", "2025-03-31"])}), window_days=90),
        "churn.plot_roc_curves": lambda: H.plot_roc_curves(
            pd.DataFrame([{"model": m, "label": lab, "fpr": x, "tpr": min(1, x * 1.5)} for m, lab in models for x in np.linspace(0, 1, 6)]),
            metrics=pd.DataFrame({"model": [m for m, _ in models], "roc_auc": [0.71, 0.74, 0.66]})),
        "churn.plot_lift": lambda: H.plot_lift(pd.DataFrame(
            [{"model": m, "label": lab, "decile": d, "lift": 2.5 / d} for m, lab in models for d in range(1, 11)])),
        "churn.plot_calibration": lambda: H.plot_calibration(pd.DataFrame(
            [{"model": m, "label": lab, "mean_predicted": p, "observed_rate": p * 0.9} for m, lab in models for p in np.linspace(0.05, 0.95, 10)])),
        "churn.plot_importance": lambda: H.plot_importance(pd.DataFrame(
            [{"model": m, "label": f, "importance_mean": v, "importance_std": 0.01} for m, _ in models[:2]
             for f, v in (("featone", 0.05), ("feattwo", -0.01))])),
        "churn.plot_risk_distribution": lambda: H.plot_risk_distribution(pd.DataFrame({"churn_probability": rng.uniform(0, 1, 100)}), window_days=90),
        "churn.plot_truth_by_decile": lambda: H.plot_truth_by_decile(pd.DataFrame({"risk_decile": range(1, 11), "share_dead": np.linspace(0.9, 0.1, 10)})),
        "churn.plot_churn_by_tenure": lambda: H.plot_churn_by_tenure(pd.DataFrame(
            [{"tenure_band": b, "contract": c, "churn_rate": r} for c in ("contractm", "contracty") for b, r in (("0-12", 0.3), ("13-24", 0.2))])),
        "feedback.plot_uplift": lambda: F.plot_uplift(pd.DataFrame(
            {"is_control": [True, False, False], "campaign_id": ["cmpq"] * 3, "arm": ["control", "armone", "armtwo"],
             "uplift": [0.0, 0.021, -0.004], "ci_low": [0.0, 0.005, -0.02], "ci_high": [0.0, 0.04, 0.01]})),
        "feedback.plot_segment_uplift": lambda: F.plot_segment_uplift(pd.DataFrame(
            {"suppressed": [False, False], "arm": ["armone", "armone"], "segment": ["segaa", "segbb"], "uplift": [0.02, -0.01],
             **ci, "adj_ci_low": [-0.04, -0.05], "adj_ci_high": [0.07, 0.08]})),
        "feedback.plot_qini": lambda: F.plot_qini(pd.DataFrame(
            [{"label": "armone", "share": s, "qini": 30 * s - 10 * s * s, "random": 20 * s} for s in np.linspace(0, 1, 11)])),
        "feedback.plot_nps_over_time": lambda: F.plot_nps_over_time(
            pd.DataFrame({"suppressed": False, "group": [m.strftime("%Y-%m") for m in months], "nps": np.linspace(-12, 20, 8),
                          "ci_low": np.linspace(-30, 0, 8), "ci_high": np.linspace(5, 40, 8)}),
            {"months": 3, "reason": None, "previous": {"start": "2024-02-01", "end": "2024-04-30", "nps": -5, "ci_low": -15, "ci_high": 5},
             "recent": {"start": "2024-06-01", "end": "2024-08-31", "nps": 12, "ci_low": 2, "ci_high": 22}}),
        "feedback.plot_nps_change": lambda: F.plot_nps_change(pd.DataFrame(
            {"comparison": ["compareq"], "change": [-3.2], "ci_low": [-9.5], "ci_high": [3.1]})),
        "feedback.plot_nps_by_group": lambda: F.plot_nps_by_group(pd.DataFrame(
            {"suppressed": [False, False], "group": chans[:2], "n": [120, 45], "nps": [12.0, -8.0], "ci_low": [2.0, -20.0], "ci_high": [22.0, 4.0]})),
        "feedback.plot_topics": lambda: F.plot_topics(pd.DataFrame(
            {"topic": [1, 2], "n": [40, 12], "negative_share": [0.2, 0.5], "neutral_share": [0.3, 0.2], "positive_share": [0.5, 0.3],
             "language": ["ko", "en"]})),
        "feedback.plot_topic_words": lambda: F.plot_topic_words(pd.DataFrame(
            {"topic": [1, 1, 1, 2, 2], "rank": [1, 2, 3, 1, 2], "word": ["배송", "빠르다", "친절", "wordaa", "wordbb"],
             "weight": [0.9, 0.5, 0.2, 0.7, 0.3]}), {1: "ko", 2: "en"}),
        "seef.plot_target_lorenz": lambda: S.plot_target_lorenz(rng.lognormal(10, 1, 200), targets=rng.uniform(size=200) < 0.2, currency="KRW"),
        "seef.plot_segments": lambda: S.plot_segments(pd.DataFrame(
            {"segment": ["segaa", "segbb"], "customers": [300, 120], "customer_share": [0.7, 0.3], "value_share": [0.4, 0.6]}), currency="KRW"),
        "seef.plot_cluster_profiles": lambda: S.plot_cluster_profiles(pd.DataFrame(
            {"diff_featone": [0.8, -0.5], "diff_feattwo": [-1.2, 0.3], "cluster_name": ["clusterp", "clusterq"], "customers": [200, 150]}),
            ["featone", "feattwo"]),
        "seef.plot_k_selection": lambda: np.array(S.plot_k_selection(pd.DataFrame(
            {"k": [2, 3, 4, 5], "silhouette": [0.3, 0.35, 0.28, 0.2], "inertia": [900, 600, 500, 450],
             "chosen": [False, True, False, False], "elbow": [False, True, False, False]}))),
        "seef.plot_target_reasons": lambda: S.plot_target_reasons(pd.DataFrame(
            {"selected": [True, True, False], "reasons": ["reasonzz 500; segaa", "reasonzz 320", ""]})),
        "seef.plot_lookalike_scores": lambda: S.plot_lookalike_scores(pd.DataFrame({"is_target": rng.uniform(size=300) < 0.3, "score": rng.uniform(size=300)})),
        "seef.plot_value_concentration": lambda: S.plot_value_concentration(
            pd.DataFrame({"customer_share": np.linspace(0, 1, 11), "value_share": np.sqrt(np.linspace(0, 1, 11))}),
            {"customer_share": 0.2, "value_share": 0.45, "best_value_share": 0.6, "gini": 0.52}, currency="KRW"),
        "seef.plot_net_value": lambda: S.plot_net_value(pd.DataFrame({"net_value": rng.normal(20_000, 50_000, 300)}),
                                                        rng.uniform(size=300) < 0.3, currency="KRW"),
        "seef.plot_expansion_value": lambda: S.plot_expansion_value(pd.DataFrame(
            {"added": [10, 20, 40], "value": [1e6, 1.8e6, 3e6], "value_low": [8e5, 1.4e6, 2.4e6], "value_high": [1.2e6, 2.2e6, 3.6e6],
             "value_random": [4e5, 8e5, 1.6e6]}), currency="KRW"),
        "seef.plot_contact_plan_mix": lambda: S.plot_contact_plan_mix(pd.DataFrame(
            {"channel": chans, "customers": [120, 60, 30], "cost_per_contact": [50.0, 1200.0, 35_000.0], "suppressed": [False, False, False]}),
            currency="KRW"),
        "loop.plot_loop_comparison": lambda: L.plot_loop_comparison(pd.DataFrame(
            {"outcome": ["purchased", "purchases", "revenue"], "targets": [0.4, 1.8, 52_000.0], "matched_non_targets": [0.3, 1.5, 47_000.0],
             "ci_low": [0.02, -0.1, -3000.0], "ci_high": [0.18, 0.7, 13000.0], "difference": [0.1, 0.3, 5000.0]}), currency="KRW"),
        "loop.plot_segment_response": lambda: L.plot_segment_response(pd.DataFrame(
            {"segment": ["segaa", "segbb", "cmpr"], "uplift": [0.03, 0.0, -0.02], "ci_low": [0.01, -0.02, -0.04], "ci_high": [0.05, 0.02, -0.005],
             "action": ["keep", "down-weight", "remove"]})),
        "profit.plot_money_uplift_curve": lambda: P.plot_money_uplift_curve(
            pd.DataFrame({"share": np.linspace(0, 1, 11), "per_1000": 90_000 * np.sin(np.linspace(0, 1, 11) * 3) - 20_000 * np.linspace(0, 1, 11),
                          "random": np.linspace(0, 1, 11) * (90_000 * np.sin(3) - 20_000)}),
            pd.DataFrame({"policy": ["by incremental profit", "rule", "everyone", "random, same size", "cmpq"],
                          "share": [0.5, 0.3, 1.0, 0.5, 0.2], "per_1000": [80_000.0, 40_000.0, -7_300.0, -3_650.0, 10_000.0],
                          "ci_low": [30_000.0, -5_000.0, -60_000.0, -40_000.0, np.nan], "ci_high": [130_000.0, 85_000.0, 45_000.0, 33_000.0, np.nan]}),
            currency="KRW"),
        "loop.plot_realised_vs_predicted": lambda: L.plot_realised_vs_predicted(pd.DataFrame(
            {"band": [0, 1, 2, 3], "predicted": [405.0, 138.0, 369.0, 708.0], "realised": [-29.0, -385.0, 284.0, 19.0],
             "ci_low": [-509.0, -1226.0, -591.0, -804.0], "ci_high": [451.0, 457.0, 1158.0, 842.0],
             "true_expected": [116.0, -76.0, 132.0, 294.0]}), currency="KRW"),
        "summary.plot_trends": lambda: M.plot_trends(
            collect_trends([("2024-12-30", {"feedback": {"nps": -8}, "customer_value": {"total_clv": 1.2e9}}),
                            ("2025-06-30", {"feedback": {"nps": 12}, "customer_value": {"total_clv": 1.4e9}})],
                           ["feedback.nps", "customer_value.total_clv"]),
            {"feedback.nps": ("NPS", "points, -100 to 100"), "customer_value.total_clv": ("CLV", "config currency")}, currency="KRW"),
    }


def _figure(out):
    first = np.asarray(out, dtype=object).ravel()[0] if isinstance(out, (np.ndarray, list, tuple)) else out
    return getattr(first, "figure", None) or first


def _our_texts(fig) -> list[str]:
    """The texts we write on a figure: suptitle, and per Axes (colour bars included) the titles, axis labels,
    legend title and entries and the notes drawn on it."""
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(loc) for loc in ("left", "center", "right")] + [ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            texts += [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]
        texts += [t.get_text() for t in ax.texts]
    return [t for t in texts if t and t.strip()]


def _letters(text: str) -> list[str]:
    for value in sorted(DATA + ACRONYMS, key=len, reverse=True):
        text = text.replace(value, " ")
    return [c for c in text if c.isalpha()]


def _draw(case, lang: str):
    with using(lang), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = _figure(case())
        fig.savefig(io.BytesIO(), format="png")  # glyphs are looked up when the text is drawn
        texts = _our_texts(fig)
        plt.close(fig)
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]
    return texts, glyphs


CASES = _cases()


def test_every_public_plot_function_has_a_case():
    assert set(CASES) == _public_plot_functions(), sorted(set(CASES) ^ _public_plot_functions())


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_is_english_or_korean_by_the_report_language_without_missing_glyphs(name):
    set_theme()
    en, en_glyphs = _draw(CASES[name], "en")
    ko, ko_glyphs = _draw(CASES[name], "ko")
    assert not en_glyphs and not ko_glyphs, (en_glyphs, ko_glyphs)
    assert en and len(en) == len(ko), (en, ko)
    assert not [t for t in en if HANGUL.search(t) and not any(w in t for w in ("배송", "빠르다", "친절"))], en
    english_in_korean = []
    for text in ko:
        letters = _letters(text)
        if letters and sum(bool(HANGUL.match(c)) for c in letters) / len(letters) < 0.8:
            english_in_korean.append(text)
    assert not english_in_korean, english_in_korean
    assert en != ko
    # one unit per label: "value (KRW) (%)" reads as neither an amount nor a share
    assert not [t for t in en + ko if re.search(r"\([^()]*\)\s*\(%\)", t)], (en, ko)


def test_segment_value_dots_read_as_a_share_of_value():
    from ecrm_lib.report.plots import seef as S

    summary = pd.DataFrame({"segment": ["segaa", "segbb"], "customers": [300, 120], "customer_share": [0.7, 0.3], "value_share": [0.4, 0.6]})
    set_theme()
    for lang, want in (("en", ["share of customers (%)", "share of value (%)"]), ("ko", ["고객 비중 (%)", "가치 비중 (%)"])):
        with using(lang):
            ax = S.plot_segments(summary, currency="KRW")
            assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(want)
            plt.close(ax.figure)


def test_helpers_draw_units_and_amounts_in_the_report_language():
    from ecrm_lib.report.plots import channels as C
    from ecrm_lib.report.plots import seef as S

    costs = pd.DataFrame({"channel": ["alpha-shop"], "cost_per_contact": [35_000.0], "n_missing_cost": [0], "total_cost": [130_000_000.0]})
    for lang, unit, total in (("en", "(KRW)", "130.0M"), ("ko", "(원)", "1.3억")):
        with using(lang):
            axes = C.plot_cost_to_serve(costs, "KRW")
            assert axes[0].get_xlabel().endswith(unit) and total in [t.get_text() for t in axes[1].texts]
            plt.close(axes[0].figure)
    mix = pd.DataFrame({"channel": ["alpha-shop"], "customers": [12], "cost_per_contact": [35_000.0]})
    with using("ko"):
        ax = S.plot_contact_plan_mix(mix, currency="KRW")
        assert [t.get_text() for t in ax.texts] == ["  접촉 1건당 3.5만 원"]
        plt.close(ax.figure)
    ax = S.plot_contact_plan_mix(mix, currency="KRW")
    assert [t.get_text() for t in ax.texts] == ["  35,000 KRW per contact"]
    plt.close(ax.figure)


def test_the_minus_sign_renders_with_the_hangul_font():
    set_theme()
    assert plt.rcParams["axes.unicode_minus"]
    with using("ko"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.plot([-3, -1, 2])  # tick labels -3, -2, ... drawn with U+2212
        ax.set_title("변화 −3.2점")
        fig.savefig(io.BytesIO(), format="png")
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        plt.close(fig)
    assert any(t.startswith("\u2212") for t in ticks), ticks
    assert not [w for w in caught if "Glyph" in str(w.message)]


def test_topic_words_of_korean_feedback_are_drawn_per_topic_by_weight():
    """The feedback topics' words (Korean ones included) as a figure beside the table: one panel per topic,
    its words in rank order with their weights, in Hangul without a missing glyph."""
    from ecrm_lib.report.plots.feedback import plot_topic_words
    from ecrm_lib.seef import text as T

    rows = []
    for i in range(12):
        rows += [("할인 쿠폰 덕분에 저렴하게 샀어요.", 9.0), ("배송이 너무 늦어요. 일주일 넘게 걸렸습니다.", 1.0),
                 ("매장 직원분이 친절하게 안내해 주셨어요.", 10.0), ("Delivery was late and the box was damaged.", 2.0)]
    fb = pd.DataFrame(rows, columns=["text", "score"]).assign(score_max=10.0, channel="web")
    res = T.analyse_feedback_text(fb, n_topics=3, random_state=0)
    words = res.topics.words
    set_theme()
    for lang in ("ko", "en"):
        with using(lang), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            axes = plot_topic_words(words, res.topics.languages, top=4)
            fig = axes[0].figure
            fig.savefig(io.BytesIO(), format="png")
            assert len(axes) == words["topic"].nunique()
            for ax, (topic, d) in zip(axes, words.sort_values(["topic", "rank"]).groupby("topic")):
                d = d.head(4)
                assert [t.get_text() for t in ax.get_yticklabels()] == d["word"].astype(str).tolist()
                assert [p.get_width() for p in ax.patches] == pytest.approx(d["weight"].tolist())
                assert (f"주제 {topic}" if lang == "ko" else f"topic {topic}") in ax.get_title()
            plt.close(fig)
        assert not [w for w in caught if "Glyph" in str(w.message)]
    ko_words = words.loc[words["topic"].map(res.topics.languages) == "ko", "word"]
    assert ko_words.str.contains(HANGUL).all() and len(ko_words)

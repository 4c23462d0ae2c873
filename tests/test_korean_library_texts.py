"""Sentences and labels the library builds for the customer-value, data-overview, evaluation, expansion and feedback
pages read in the page's language (issue 12): fit errors, attempts and holdout tables, the CDNOW reference note, the
cost-window check, table names, NPS-change labels and reasons, segment bands and uplift-model notes.

Each test words the same thing in Korean and in English: the Korean text has Hangul and none of the English words it
replaced; the English text stays what logs, products and tests read."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.language import using
from ecrm_lib.core.schema import TABLE_ORDER
from ecrm_lib.value.fitting import ModelFitError

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _korean(text: str, *english: str) -> None:
    assert HANGUL.search(text), text
    for word in english:
        assert word not in text, (word, text)


def _fit_error(model: str = "BG/NBD") -> ModelFitError:
    return ModelFitError(key="fit.failed", values={"model": model, "n": 5, "reasons": "x"})


# ------------------------------------------------------------------ customer value: fit errors and tables
def test_gamma_gamma_errors_are_worded_in_the_page_language():
    from ecrm_lib.core.privacy import mask_people_counts
    from ecrm_lib.value.spend import GammaGammaError, fit_gamma_gamma

    s = pd.DataFrame({"frequency": [0, 0, 1], "monetary_value": [0.0, 0.0, 5.0]})
    with pytest.raises(GammaGammaError) as info:
        fit_gamma_gamma(s)
    assert str(info.value).startswith("only 1 repeat buyers")  # logs and tests keep the English sentence
    with using("ko"):
        text = mask_people_counts(info.value.in_language())
    _korean(text, "repeat buyers", "Gamma-Gamma model")
    assert "5명 미만" in text and "1명" not in text  # the page masks the count of one person


def test_clv_interval_error_without_curvature_has_a_key():
    from ecrm_lib.value import clv

    class NoCurvature:
        label, time_unit = "BG/NBD", "W"

        @staticmethod
        def log_covariance():
            return None

    with pytest.raises(ModelFitError) as info:
        clv.clv_interval(pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0], "monetary_value": [5.0]}),
                         NoCurvature(), NoCurvature(), horizon=52, margin=0.3, annual_discount_rate=0.1)
    assert "positive definite curvature" in str(info.value)
    with using("ko"):
        _korean(info.value.in_language(), "likelihood", "curvature")


def test_calibration_and_holdout_tables_word_status_and_message():
    from ecrm_lib.value.holdout import CalibrationFits, HoldoutValidation

    cal = CalibrationFits(fits={}, failed={"bgnbd": _fit_error()}, models=["bgnbd"])
    with using("ko"):
        row = cal.table().iloc[0]
    assert row["status"] == "실패"
    _korean(row["message"], "could not be fitted", "attempts failed")
    errors = pd.DataFrame({"model": ["bgnbd"], "label": ["BG/NBD"], "status": ["failed"],
                           "message": [str(_fit_error())]})
    hv = HoldoutValidation(fits={}, customers=pd.DataFrame(), by_frequency=pd.DataFrame(), errors=errors,
                           best_model="bgnbd", selection="", duration=26.0, failed={"bgnbd": _fit_error()})
    with using("ko"):
        shown = hv.errors_in_language().iloc[0]
    assert shown["status"] == "실패"
    _korean(shown["message"], "could not be fitted")
    assert hv.errors.loc[0, "status"] == "failed"  # the product keeps its code


def test_attempts_table_has_no_code_in_korean():
    from ecrm_lib.value import clv

    a = pd.DataFrame({"stage": ["calibration", "full"], "model": ["bgnbd", "gamma_gamma"], "attempt": [1, 1],
                      "start": ["default", "alternative"], "penalizer_coef": [0.0, 0.001], "tol": [1e-7, 1e-7],
                      "status": ["failed", "ok"], "message": ["ConvergenceError: stopped", ""], "seconds": [0.1, 0.1],
                      "used": [False, True]})
    with using("ko"):
        shown = clv.attempts_table(a)
    cells = set(shown[["stage", "model", "start", "status", "message"]].astype(str).to_numpy().ravel())
    assert not cells & {"default", "alternative", "ok", "failed", "calibration", "full", "gamma_gamma"}, cells
    assert "최적화가 수렴하지 않음" in cells


def test_literature_table_words_the_reference_note_and_the_log_likelihood():
    """On the reproduction the page shows: if published.py rewords its source note, this test says so."""
    from ecrm_lib.value import clv, published

    lit = published.cdnow_reproduction()
    with using("ko"):
        shown = clv.literature_table(lit)
    text = " ".join(shown["source"]) + " " + " ".join(shown["parameter"])
    assert "no published value" not in text and "log_likelihood" not in text
    assert "발표값 없음" in text and "로그 우도" in text
    assert list(shown.columns) == ["model", "parameter", "published_or_reference", "estimate", "reproduced", "source"]
    with using("en"):
        assert "(no published value)" in " ".join(clv.literature_table(lit)["source"])


def test_holdout_skip_reason_in_korean():
    from ecrm_lib.value.holdout import holdout_skip_reason

    ch = pd.DataFrame({"frequency_cal": [0, 1], "frequency_holdout": [0, 0]})
    with using("ko"):
        _korean(holdout_skip_reason(ch, "2024-01-01"), "calibration period", "customers")
    assert holdout_skip_reason(ch, "2024-01-01").startswith("the calibration period (to 2024-01-01) has 2 customers")


def test_churn_purchase_fit_error_reaches_the_page_in_korean(monkeypatch):
    from ecrm_lib.value import churn_purchase
    from ecrm_lib.value.churn_data import ChurnDataError

    def fail(*args, **kwargs):
        raise _fit_error()

    monkeypatch.setattr(churn_purchase, "fit_btyd", fail)
    summary = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]})
    with pytest.raises(ChurnDataError) as info:
        churn_purchase.PurchaseModel().scores(summary, window_days=90)
    with using("ko"):
        _korean(info.value.in_language(), "could not be fitted", "attempts")


# ------------------------------------------------------------------ evaluation, data overview, expansion
def test_cost_window_check_writes_won_on_a_korean_page():
    from ecrm_lib.seef.evaluation import cost_window_check

    with using("ko"):
        texts = [cost_window_check(1_461_420.0, 1_461_420.0, "KRW"), cost_window_check(90.0, 100.0, "KRW"),
                 cost_window_check(200.0, 100.0, "KRW")]
    assert "1,461,420원이며" in texts[0] and "90원" in texts[1] and "100원" in texts[1]
    assert not any("KRW" in x or "원로" in x or "원가" in x for x in texts), texts
    assert "17,974,570 KRW" in cost_window_check(17_974_570.0, 17_994_570.0, "KRW")  # English unchanged


def test_every_canonical_table_has_a_name_in_each_language():
    from ecrm_lib.data.overview import tables_in_language

    f = pd.DataFrame({"table": TABLE_ORDER})
    with using("ko"):
        names = tables_in_language(f)["table"].tolist()
    assert all(HANGUL.search(n) for n in names), names
    assert tables_in_language(f)["table"].tolist()[:2] == ["accounts", "transactions"]


def test_lookalike_error_in_korean():
    from ecrm_lib.seef.expansion import LookalikeError, lookalike_model

    customers = pd.DataFrame({"customer_id": list("abcdef"), "x": np.arange(6.0)})
    with pytest.raises(LookalikeError) as info:
        lookalike_model(customers, ["a"], features=["x"], n_splits=5)
    assert "too few customers for 5-fold" in str(info.value)
    with using("ko"):
        text = info.value.in_language()
    _korean(text, "too few", "targets")
    assert "5명 미만" in text  # one target: a count of 1-4 people is not shown


# ------------------------------------------------------------------ feedback
def test_nps_change_labels_and_reasons_in_korean():
    from ecrm_lib.seef import satisfaction as S

    fb = pd.DataFrame({"timestamp": pd.to_datetime(["2024-03-01"] * 4 + ["2025-03-01"] * 4, utc=True),
                       "score": [10, 10, 0, 0, 10, 10, 10, 0], "score_max": 10.0})
    ok = S.nps_period_comparison(fb, end="2025-06-30", months=12, min_answers=4)
    few = S.nps_period_comparison(fb, end="2025-06-30", months=12, min_answers=30)
    none = S.nps_period_comparison(fb.assign(timestamp=pd.NaT), end="2025-06-30")
    gone = S.nps_change_since(fb, since="2025-06-01", min_answers=4)
    assert few["reason"] == "the recent and the previous 12-month windows have fewer than 30 answers"
    with using("ko"):
        labels = S.nps_changes_table([ok]).loc[:, "comparison"].tolist()
        sentences = [S.nps_change_sentence(r) for r in (few, none, gone)]
    assert labels == ["최근 12개월 대 그 전 12개월"]
    for s in sentences:
        _korean(s, "fewer than", "answers", "dated")
    assert "2025년 6월 1일" in sentences[2]


def test_segment_bands_read_the_same_in_any_language():
    from ecrm_lib.seef.campaigns import segment_column_values

    whole = segment_column_values(pd.Series(range(100)), n_bins=4)
    amounts = segment_column_values(pd.Series(np.linspace(0.5, 300.0, 200)), n_bins=4)
    for bands in (whole, amounts):
        assert not any(re.search(r"[A-Za-z]", b) for b in bands.unique()), sorted(bands.unique())
    assert sorted(whole.unique())[0] == "1) 0–24"
    assert sorted(amounts.unique())[1].startswith("2) (")


def test_uplift_model_notes_in_korean():
    from ecrm_lib.seef.uplift_models import notes_in_language, uplift_models_by_arm

    c = pd.DataFrame({"campaign_id": "c", "account_id": [f"a{i}" for i in range(40)], "arm": ["t"] * 20 + ["control"] * 20,
                      "is_control": [False] * 20 + [True] * 20, "response": ([1] * 12 + [0] * 8) * 2})
    few, _ = uplift_models_by_arm(c, pd.DataFrame({"x": np.arange(40.0)}, index=c.index), min_responders=20)
    empty, _ = uplift_models_by_arm(c, pd.DataFrame(index=c.index))
    with using("ko"):
        notes = [*notes_in_language(few), *notes_in_language(empty)]
    for n in notes:
        _korean(n, "responders", "purchase history")
    assert few.loc[0, "note"] == "fewer than 20 responders in the arm or the control"


def test_inferred_score_scale_note_in_korean():
    from ecrm_lib.seef import satisfaction as S

    ans = S.score_counts(pd.DataFrame({"channel": "web", "score": [0.0, 7, 10, 9]}))
    assert "0-10" in ans.attrs["score_max_note"]
    with using("ko"):
        text = ans.attrs["score_max_note_in_language"]()
    _korean(text, "scale", "scores")

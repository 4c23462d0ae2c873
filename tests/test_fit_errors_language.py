"""A purchase-model fit that fails is worded for the page in the report language (issue 12): the error's
``in_language`` and the attempts table come from the catalogue (``fit.*``), while ``str(exc)`` keeps the detailed
English text for logs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from korean_text import hangul_share

from ecrm_lib.core.language import using
from ecrm_lib.value import btyd
from ecrm_lib.value.fitting import DEFAULT_FALLBACKS, ModelFitError, attempts_in_language


@pytest.fixture(scope="module")
def histories() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 300
    T = rng.uniform(20, 52, n)
    freq = rng.poisson(1.5, n).astype(float)
    rec = np.where(freq > 0, T * rng.uniform(0.2, 1.0, n), 0.0)
    return pd.DataFrame({"frequency": freq, "recency": rec, "T": T}, index=[f"c{i}" for i in range(n)])


@pytest.fixture
def failed_fit(histories, monkeypatch) -> ModelFitError:
    real = btyd.estimate

    def nan_estimate(*args, **kwargs):  # every attempt ends at NaN parameters (NonFiniteParams)
        params, hessian = real(*args, **kwargs)
        return params * np.nan, hessian

    monkeypatch.setattr(btyd, "estimate", nan_estimate)
    with pytest.raises(ModelFitError) as info:
        btyd.fit_btyd(histories, "bgnbd")
    return info.value


def test_a_failed_fit_reads_in_the_page_language_and_logs_in_english(failed_fit):
    n = 1 + len(DEFAULT_FALLBACKS)
    assert "every attempt failed" in str(failed_fit) and "NonFiniteParams" in str(failed_fit)  # the log keeps the detail
    en = failed_fit.in_language()
    assert en.startswith(f"BG/NBD could not be fitted: all {n} attempts failed (") and "the estimate was not finite and positive: " in en
    with using("ko"):
        ko = failed_fit.in_language()
    assert ko.startswith(f"BG/NBD을(를) 적합하지 못했습니다. 시도 {n}번이 모두 실패했습니다(") and "추정치가 유한한 양수가 아님: " in ko
    counts = [int(x) for x in re.findall(r": (\d+)번", ko)]
    assert sum(counts) == n, ko  # each failed attempt counted once, by its reason
    assert hangul_share(ko, ["penalizer_coef"]) >= 0.9, ko
    assert "NonFiniteParams" not in ko and "attempt" not in ko


def test_the_attempts_table_reads_in_the_page_language(failed_fit):
    a = failed_fit.attempts
    assert (a["status"] == "failed").all() and a["message"].str.contains("NonFiniteParams").any()  # the product keeps the detail
    with using("ko"):
        shown = attempts_in_language(a)
    assert set(shown["status"]) == {"실패"} and "추정치가 유한한 양수가 아님" in set(shown["message"])
    assert set(shown["message"]) <= {"추정치가 유한한 양수가 아님", "최적화가 수렴하지 않음"}
    assert set(shown["start"]) <= {"기본값", "다른 시작점"}
    en = attempts_in_language(a)
    assert set(en["status"]) == {"failed"} and "the estimate was not finite and positive" in set(en["message"])
    assert list(shown.columns) == list(a.columns) and a["status"].eq("failed").all()  # the input is not changed


def test_a_time_limit_and_a_convergence_failure_are_told_apart():
    a = pd.DataFrame({"attempt": [1, 2, 3], "start": ["default", "alternative", "default"],
                      "status": ["failed", "failed", "skipped"],
                      "message": ["ConvergenceError: Pareto/NBD: the optimizer stopped", "FloatingPointError: overflow",
                                  "time limit of the fit reached"]})
    with using("ko"):
        msgs = attempts_in_language(a)["message"].tolist()
    assert msgs == ["최적화가 수렴하지 않음", "수치 계산 오류", "적합 시간 제한에 도달함"]

"""The loop's tables as a page shows them, in the report language (issue 12).

:mod:`ecrm_lib.seef.loop` and :mod:`ecrm_lib.seef.matching` keep language-neutral codes in their
tables and products (identity status ``same``/``grown``/..., earlier group ``targets``/``non-targets``,
outcomes ``purchased``/``purchases``/``revenue``, matching features ``frequency``/``T``/..., weight
actions and reasons); the functions here word them through the catalogue (``feedback.loop_*``,
``feedback.weight_reason.*``) for display. Call them inside the per-language display
(``show(lambda: ...)``) so that each page gets its own words. A code the catalogue does not know
(a value from the user's data, such as a segment name) stays as it is.
"""

from __future__ import annotations

import pandas as pd

from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.seef.rfm import segment_labels
from ecrm_lib.seef.selection_text import weight_action
from ecrm_lib.seef.weights import reasons_in_language

__all__ = ["balance_table", "comparison_table", "group_label", "identity_table", "response_table", "weights_table"]


def _word(area: str, code) -> str:
    text = str(code)
    return t_or(f"feedback.{area}.{text.replace('-', '_')}", text)


def group_label(group) -> str:
    """An earlier group (``targets``, ``non-targets``, ``unknown``) in the report language; other values as they are.

    >>> from ecrm_lib.core.language import using
    >>> group_label("non-targets")
    'earlier non-targets'
    >>> with using("ko"):
    ...     group_label("targets"), group_label("Champions")
    ('이전 대상 고객', 'Champions')
    """
    return _word("loop_group", group)


def identity_table(counts) -> pd.DataFrame:
    """Earlier customers per identity status (``bridge_customer_ids(...).attrs["counts"]``), the status worded:
    ``status``, ``earlier_customers``.

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     identity_table({"same": 590, "lost": 12})["status"].tolist()
    ['같은 계정', '더 이상 찾을 수 없음']
    """
    return pd.DataFrame({"status": [_word("loop_status", s) for s in counts],
                         "earlier_customers": [int(n) for n in counts.values()]})


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`ecrm_lib.seef.matching.compare_outcomes` indexed by the outcome in words.

    >>> c = pd.DataFrame({"outcome": ["purchased", "revenue"], "targets": [0.1, 5.0]})
    >>> comparison_table(c).index.tolist()
    ['bought again (share)', 'revenue per customer']
    """
    out = comparison.copy()
    out["outcome"] = [_word("loop_outcome", o) for o in out["outcome"]]
    return out.set_index("outcome")


def balance_table(balance: pd.DataFrame) -> pd.DataFrame:
    """The matching's balance table (``MatchResult.balance``) indexed by the feature in words.

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     balance_table(pd.DataFrame({"feature": ["T", "my_column"], "mean_targets": [30.0, 1.0]})).index.tolist()
    ['고객 기간(첫 구매 이후, 주)', 'my_column']
    """
    out = balance.copy()
    out["feature"] = [_word("loop_feature", f) for f in out["feature"]]
    return out.set_index("feature")


def response_table(response: pd.DataFrame) -> pd.DataFrame:
    """The campaign response of the earlier groups (``LoopResult.response_targets``) indexed by the group in words.

    >>> r = pd.DataFrame({"group": ["non-targets", "targets"], "n_treatment": [10, 8], "campaigns": [1, 1]})
    >>> response_table(r).index.tolist()
    ['earlier non-targets', 'earlier targets']
    """
    out = response.copy()
    out["group"] = [group_label(g) for g in out["group"]]
    return out.set_index("group")


def weights_table(weights: pd.DataFrame) -> pd.DataFrame:
    """The segment weights for display: a shipped RFM segment's name, the action and the reason in the report
    language (:func:`ecrm_lib.seef.rfm.segment_labels`, :func:`ecrm_lib.seef.selection_text.weight_action`,
    :func:`ecrm_lib.seef.weights.reasons_in_language`); ``segment``, ``n_treatment``, ``n_control``, ``uplift``,
    ``ci_low``, ``ci_high``, ``weight``, ``action``, ``reason``.

    >>> from ecrm_lib.core.language import using
    >>> from ecrm_lib.seef.weights import feedback_weights
    >>> w = feedback_weights(pd.DataFrame({"segment": ["Hibernating"], "uplift": [-0.03], "ci_low": [-0.05],
    ...                                    "ci_high": [-0.01]})).assign(n_treatment=40, n_control=38)
    >>> with using("ko"):
    ...     weights_table(w)[["segment", "action", "reason"]].to_numpy().tolist()
    [['휴면 고객', '제외', '업리프트 -3.0%p, 구간 전체가 0 이하(상한 -1.0%p)']]
    """
    out = reasons_in_language(weights)
    out["action"] = out["action"].map(weight_action)
    out = segment_labels(out)
    return out[["segment", "n_treatment", "n_control", "uplift", "ci_low", "ci_high", "weight", "action", "reason"]]

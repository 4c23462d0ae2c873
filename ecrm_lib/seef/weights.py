"""Feedback weights: the campaign uplift measured per segment becomes the weights of the next selection.

:func:`feedback_weights` turns each segment's uplift and interval into a
weight and an action (keep, down-weight, remove); :func:`apply_feedback`
writes them into the next run's rule, where
:func:`ecrm_lib.seef.rule.select_targets` excludes removed segments and
ranks down-weighted ones later. The loop (:mod:`ecrm_lib.seef.loop`) measures
the uplift; the Selection step applies it.

The weights table (the ``segment_weights`` product) stays language-neutral:
``action`` is a code (keep, down-weight, remove) and ``reason`` a code of
:data:`REASONS`; :func:`reason_text` and :func:`reasons_in_language` word a reason
in the report language for a page (``feedback.weight_reason.*``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t

__all__ = ["REASONS", "apply_feedback", "feedback_weights", "reason_text", "reasons_in_language"]

#: Why a segment got its weight (the ``reason`` codes of :func:`feedback_weights`), in the order of the rule.
REASONS: tuple[str, ...] = ("not_measured", "surely_not_positive", "not_positive", "positive_uncertain", "positive")


def feedback_weights(
    uplift: pd.DataFrame,
    *,
    segment_col: str = "segment",
    down_weight: float = 0.5,
) -> pd.DataFrame:
    """Weights for the next selection from each segment's measured response uplift.

    Rule (uplift in any unit, e.g. percentage points of response rate):

    - ``ci_high <= 0``: the uplift is surely not positive -> **remove**
      (weight 0);
    - ``uplift <= 0`` but the interval reaches above 0 -> **down-weight**
      (weight ``down_weight``);
    - ``uplift > 0`` -> **keep** (weight 1), also when ``ci_low <= 0`` (the
      reason then says the gain is uncertain).

    A missing uplift keeps weight 1 with the reason ``not_measured``.

    Parameters
    ----------
    uplift : DataFrame
        ``segment``, ``uplift``, ``ci_low``, ``ci_high``.
    down_weight : float
        Weight for the uncertain non-positive segments (0-1).

    Returns
    -------
    DataFrame
        ``segment``, ``uplift``, ``ci_low``, ``ci_high``, ``weight``,
        ``action`` (keep, down-weight, remove), ``reason`` (a code of
        :data:`REASONS`: not_measured, surely_not_positive, not_positive,
        positive_uncertain, positive; worded for a page by :func:`reasons_in_language`).

    Examples
    --------
    >>> u = pd.DataFrame({"segment": ["A", "B", "C"], "uplift": [0.03, -0.01, -0.02],
    ...                   "ci_low": [0.01, -0.03, -0.04], "ci_high": [0.05, 0.01, -0.001]})
    >>> feedback_weights(u)[["segment", "weight", "action", "reason"]].to_numpy().tolist()
    [['A', 1.0, 'keep', 'positive'], ['B', 0.5, 'down-weight', 'not_positive'], ['C', 0.0, 'remove', 'surely_not_positive']]
    """
    need = [segment_col, "uplift", "ci_low", "ci_high"]
    missing = [c for c in need if c not in uplift]
    if missing:
        raise ValueError(f"uplift table lacks {missing}; it needs {need}.")
    if not 0 <= down_weight <= 1:
        raise ValueError(f"down_weight must be in [0, 1], but {down_weight} was passed.")
    u = uplift[need].rename(columns={segment_col: "segment"}).copy()
    for c in ("uplift", "ci_low", "ci_high"):
        u[c] = u[c].astype(float)
    bad = u["ci_low"] > u["ci_high"]
    if bad.any():
        raise ValueError(f"ci_low > ci_high for segment(s) {u.loc[bad, 'segment'].tolist()}; swap the bounds.")
    weight, action, reason = [], [], []
    for up, lo, hi in zip(u["uplift"], u["ci_low"], u["ci_high"]):
        if np.isnan(up):
            weight.append(1.0), action.append("keep"), reason.append("not_measured")
        elif not np.isnan(hi) and hi <= 0:
            weight.append(0.0), action.append("remove"), reason.append("surely_not_positive")
        elif up <= 0:
            weight.append(float(down_weight)), action.append("down-weight"), reason.append("not_positive")
        elif not np.isnan(lo) and lo <= 0:
            weight.append(1.0), action.append("keep"), reason.append("positive_uncertain")
        else:
            weight.append(1.0), action.append("keep"), reason.append("positive")
    u["weight"] = weight
    u["action"] = action
    u["reason"] = reason
    return u


def reason_text(reason: str, uplift: float, ci_low: float, ci_high: float) -> str:
    """A weight's reason in the current report language, with its uplift and interval as signed points (the
    loop's uplifts are differences of response rates, 0.01 = 1 point); a reason that is not a code of
    :data:`REASONS` (a table written by an earlier version) is returned as it is.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> reason_text("positive_uncertain", 0.012, -0.004, 0.03)
    'uplift +1.2 points, positive but uncertain (interval from -0.4 points)'
    >>> with using("ko"):
    ...     reason_text("surely_not_positive", -0.03, -0.05, -0.001)
    '업리프트 -3.0%p, 구간 전체가 0 이하(상한 -0.1%p)'
    """
    code = str(reason)
    if code not in REASONS:
        return code
    return t(f"feedback.weight_reason.{code}", up=uplift, lo=ci_low, hi=ci_high)


def reasons_in_language(weights: pd.DataFrame) -> pd.DataFrame:
    """The weights table with ``reason`` worded in the current report language (:func:`reason_text`), for a page;
    the product keeps the codes.

    >>> w = feedback_weights(pd.DataFrame({"segment": ["A"], "uplift": [0.03], "ci_low": [0.01], "ci_high": [0.05]}))
    >>> reasons_in_language(w)["reason"].tolist(), w["reason"].tolist()
    (['uplift +3.0 points, whole interval above 0'], ['positive'])
    """
    out = weights.copy()
    out["reason"] = [reason_text(r, up, lo, hi) for r, up, lo, hi in
                     zip(out["reason"], out["uplift"].astype(float), out["ci_low"].astype(float), out["ci_high"].astype(float))]
    return out


def apply_feedback(rule: Mapping, weights: pd.DataFrame) -> dict:
    """The next run's rule: removed segments dropped, weights recorded.

    Segments of weight 0 are removed from ``rule["segments"]`` (when the rule
    lists segments) and every weight goes to ``rule["segment_weights"]``, so
    that :func:`select_targets` excludes removed segments and ranks the
    down-weighted ones later under ``max_targets``. The input rule is not
    changed.

    Examples
    --------
    >>> w = pd.DataFrame({"segment": ["A", "B"], "weight": [1.0, 0.0]})
    >>> apply_feedback({"segments": ["A", "B"], "max_targets": 10}, w)
    {'segments': ['A'], 'max_targets': 10, 'segment_weights': {'A': 1.0, 'B': 0.0}}
    """
    new = dict(rule)
    wmap = {str(s): float(w) for s, w in zip(weights["segment"], weights["weight"])}
    if "segments" in new:
        new["segments"] = [s for s in new["segments"] if wmap.get(s, 1.0) > 0]
    merged = dict(new.get("segment_weights") or {})
    merged.update(wmap)
    new["segment_weights"] = merged
    return new

"""Feedback weights: the campaign uplift measured per segment becomes the weights of the next selection.

:func:`feedback_weights` turns each segment's uplift and interval into a
weight and an action (keep, down-weight, remove); :func:`apply_feedback`
writes them into the next run's rule, where
:func:`ecrm_lib.seef.selection.select_targets` excludes removed segments and
ranks down-weighted ones later. The loop (:mod:`ecrm_lib.seef.loop`) measures
the uplift; the Selection step applies it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["apply_feedback", "feedback_weights"]


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

    A missing uplift keeps weight 1 with the reason "not measured".

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
        ``action`` (keep, down-weight, remove), ``reason``.

    Examples
    --------
    >>> u = pd.DataFrame({"segment": ["A", "B", "C"], "uplift": [0.03, -0.01, -0.02],
    ...                   "ci_low": [0.01, -0.03, -0.04], "ci_high": [0.05, 0.01, -0.001]})
    >>> feedback_weights(u)[["segment", "weight", "action"]].to_numpy().tolist()
    [['A', 1.0, 'keep'], ['B', 0.5, 'down-weight'], ['C', 0.0, 'remove']]
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
            weight.append(1.0), action.append("keep"), reason.append("uplift not measured: kept as it was")
        elif not np.isnan(hi) and hi <= 0:
            weight.append(0.0), action.append("remove"), reason.append(f"uplift {up:+.3g}, whole interval at or below 0 (up to {hi:+.3g})")
        elif up <= 0:
            weight.append(float(down_weight)), action.append("down-weight"), reason.append(f"uplift {up:+.3g} not positive, interval up to {hi:+.3g}")
        elif not np.isnan(lo) and lo <= 0:
            weight.append(1.0), action.append("keep"), reason.append(f"uplift {up:+.3g} positive but uncertain (interval from {lo:+.3g})")
        else:
            weight.append(1.0), action.append("keep"), reason.append(f"uplift {up:+.3g}, interval above 0")
    u["weight"] = weight
    u["action"] = action
    u["reason"] = reason
    return u


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

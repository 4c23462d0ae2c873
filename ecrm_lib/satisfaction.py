"""Satisfaction scores from the canonical ``feedback`` table: Net Promoter Score
with its confidence interval, and CSAT (top-two-box share), overall and by
channel, segment or month, with counts and small-cell suppression.

Scales
------
- **NPS** is computed only on 0-10 answers (``score_max == 10``):
  promoters score 9-10, passives 7-8, detractors 0-6;
  ``NPS = 100 * (p - d)`` with ``p``, ``d`` the promoter and detractor shares,
  in points from -100 to +100. Its variance is
  ``Var = 100^2 * [p + d - (p - d)^2] / n`` (the multinomial variance of a
  +1 / 0 / -1 score), and the interval is ``NPS +- z * sqrt(Var)``, clipped to
  [-100, 100].
- Other scales are **not** mapped onto NPS (a 5-star rating is not a
  likelihood-to-recommend question); they get **CSAT**: the share of answers
  in the top two boxes (4-5 on a 1-5 scale, generally ``score >= score_max - 1``),
  with a Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .report import suppress_small_cells
from .uplift import wilson_interval, _z

__all__ = ["nps", "csat", "nps_scale_rows", "satisfaction_by", "nps_category", "attach_segment", "nps_metrics"]


def nps_category(scores: pd.Series) -> pd.Series:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6) per 0-10 score; missing stays missing."""
    s = pd.Series(scores, dtype=float)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[s >= 9] = "promoter"
    out[(s >= 7) & (s < 9)] = "passive"
    out[s < 7] = "detractor"
    return out


def nps(scores, ci_level: float = 0.95) -> dict:
    """Net Promoter Score of 0-10 answers with its normal-approximation interval.

    Parameters
    ----------
    scores : array-like
        Scores 0-10 (missing values are ignored).
    ci_level : float

    Returns
    -------
    dict
        ``n``, ``promoters``, ``passives``, ``detractors`` (shares 0-1), ``nps`` (points, -100..100),
        ``se`` (points), ``ci_low``, ``ci_high``. NaN figures when ``n == 0``.

    Examples
    --------
    5 promoters, 3 passives, 2 detractors: NPS = 100 * (0.5 - 0.2) = 30,
    Var = 100^2 * (0.5 + 0.2 - 0.3^2) / 10 = 610.

    >>> r = nps([10, 9, 9, 10, 9, 7, 8, 7, 3, 6])
    >>> r["nps"], round(r["se"] ** 2, 6)
    (30.0, 610.0)
    """
    s = pd.Series(scores, dtype=float).dropna()
    bad = s[(s < 0) | (s > 10)]
    if len(bad):
        raise ValueError(f"NPS needs scores 0-10; saw {len(bad)} value(s) outside, e.g. {bad.iloc[0]}. Use csat() for other scales.")
    n = len(s)
    if n == 0:
        return dict(n=0, promoters=math.nan, passives=math.nan, detractors=math.nan, nps=math.nan, se=math.nan,
                    ci_low=math.nan, ci_high=math.nan)
    p, d = float((s >= 9).mean()), float((s < 7).mean())
    value = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    z = _z(ci_level)
    return dict(n=n, promoters=p, passives=1 - p - d, detractors=d, nps=value, se=se,
                ci_low=max(-100.0, value - z * se), ci_high=min(100.0, value + z * se))


def csat(scores, score_max: float = 5, top_boxes: int = 2, ci_level: float = 0.95) -> dict:
    """CSAT: share of answers in the top ``top_boxes`` points of the scale (``score > score_max - top_boxes``).

    Returns
    -------
    dict
        ``n``, ``csat`` (share 0-1), ``ci_low``, ``ci_high`` (Wilson), ``mean_score``.

    Examples
    --------
    >>> csat([5, 4, 3, 1])["csat"]
    0.5
    """
    s = pd.Series(scores, dtype=float).dropna()
    n = len(s)
    if n == 0:
        return dict(n=0, csat=math.nan, ci_low=math.nan, ci_high=math.nan, mean_score=math.nan)
    x = int((s > score_max - top_boxes).sum())
    lo, hi = wilson_interval(x, n, ci_level)
    return dict(n=n, csat=x / n, ci_low=lo, ci_high=hi, mean_score=float(s.mean()))


def nps_scale_rows(feedback: pd.DataFrame) -> pd.Series:
    """Boolean mask of feedback rows on the 0-10 NPS scale (``score_max == 10`` and a score)."""
    return (feedback["score_max"].astype(float) == 10) & feedback["score"].notna()


def _groups(feedback: pd.DataFrame, by: str, timezone: str | None) -> pd.Series:
    if by == "month":
        ts = feedback["timestamp"]
        if timezone and getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert(timezone)
        return ts.dt.strftime("%Y-%m").astype(object).where(ts.notna(), "no date")
    if by not in feedback.columns:
        raise KeyError(f"column {by!r} not in the feedback table; give 'month', 'channel' or a column merged onto it.")
    return feedback[by].astype(object).where(feedback[by].notna(), "missing").astype(str)


def satisfaction_by(feedback: pd.DataFrame, by: str, kind: str = "nps", ci_level: float = 0.95,
                    min_cell: int = 5, timezone: str | None = None, score_max: float = 5) -> pd.DataFrame:
    """NPS or CSAT per group, with counts and small-cell suppression.

    Parameters
    ----------
    feedback : DataFrame
        Canonical ``feedback`` rows (for NPS: only 0-10 rows are used; for CSAT: rows with
        ``score_max == score_max``).
    by : str
        ``"month"`` (calendar month of ``timestamp`` in ``timezone``; rows without a date form
        ``no date``), ``"channel"`` or any column of ``feedback`` (e.g. a merged segment).
    kind : {"nps", "csat"}
    ci_level, min_cell : float, int
        Groups with fewer than ``min_cell`` answers are suppressed.
    timezone : str, optional
        For months (e.g. ``"Asia/Seoul"``).
    score_max : float
        Scale of the CSAT rows.

    Returns
    -------
    DataFrame
        ``group, n`` and ``nps, ci_low, ci_high, promoters, detractors`` (NPS) or
        ``csat, ci_low, ci_high, mean_score`` (CSAT), and ``suppressed``; months in order, other
        groups by descending ``n``.
    """
    if kind not in ("nps", "csat"):
        raise ValueError(f"kind must be 'nps' or 'csat', got {kind!r}")
    if kind == "nps":
        fb = feedback[nps_scale_rows(feedback)]
    else:
        fb = feedback[(feedback["score_max"].astype(float) == score_max) & feedback["score"].notna()]
    keys = _groups(fb, by, timezone) if len(fb) else pd.Series([], dtype=object)
    rows = []
    for g, part in fb.groupby(keys.to_numpy(), sort=True):
        if kind == "nps":
            r = nps(part["score"], ci_level)
            rows.append(dict(group=g, n=r["n"], nps=r["nps"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                             promoters=r["promoters"], detractors=r["detractors"]))
        else:
            r = csat(part["score"], score_max=score_max, ci_level=ci_level)
            rows.append(dict(group=g, n=r["n"], csat=r["csat"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                             mean_score=r["mean_score"]))
    cols = ["group", "n"] + (["nps", "ci_low", "ci_high", "promoters", "detractors"] if kind == "nps"
                             else ["csat", "ci_low", "ci_high", "mean_score"])
    out = pd.DataFrame(rows, columns=cols)
    if by != "month":
        out = out.sort_values(["n", "group"], ascending=[False, True], kind="mergesort")
    out = out.reset_index(drop=True)
    return suppress_small_cells(out, "n", min_count=min_cell)


def attach_segment(feedback: pd.DataFrame, segments: pd.DataFrame, column: str, name: str = "segment",
                   max_levels: int = 8) -> pd.DataFrame:
    """Add a segment label per feedback row from an account attribute (e.g. the customers table).

    Numbers with many values become quantile bands and rare categories are pooled, as in
    :func:`ecrm_lib.uplift.segment_column_values`; accounts without the attribute get ``missing``.

    Returns
    -------
    DataFrame
        A copy of ``feedback`` with the column ``name``.
    """
    from .uplift import segment_column_values

    if column not in segments.columns:
        raise KeyError(f"segment column {column!r} not found; available: {sorted(map(str, segments.columns))}")
    seg = segments[["account_id", column]].drop_duplicates("account_id")
    seg = seg.assign(**{name: segment_column_values(seg[column], max_levels=max_levels)})[["account_id", name]]
    out = feedback.merge(seg, on="account_id", how="left")
    out.index = feedback.index
    out[name] = out[name].fillna("missing")
    return out


def nps_metrics(overall: dict | None) -> dict:
    """The NPS headline figures for ``RunContext.record_metric``: ``nps``, ``nps_ci_low``, ``nps_ci_high``.

    Parameters
    ----------
    overall : dict or None
        :func:`nps` output; None when there are no 0-10 answers.

    Returns
    -------
    dict
        Points (-100 to 100); None (never NaN) when missing.

    Examples
    --------
    >>> nps_metrics(nps([10] * 5 + [8] * 3 + [2] * 2))["nps"]
    30.0
    >>> nps_metrics(None)
    {'nps': None, 'nps_ci_low': None, 'nps_ci_high': None}
    """
    out = {"nps": None, "nps_ci_low": None, "nps_ci_high": None}
    if overall:
        for key, src in (("nps", "nps"), ("nps_ci_low", "ci_low"), ("nps_ci_high", "ci_high")):
            v = overall.get(src)
            out[key] = None if v is None or pd.isna(v) else float(v)
    return out

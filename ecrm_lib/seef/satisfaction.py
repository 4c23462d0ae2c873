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

Changes of NPS
--------------
A change is reported with its interval and called a rise or a fall only when
the interval excludes zero; otherwise it is "within the noise". Two kinds:

- :func:`nps_period_comparison`: the last ``months`` months (12 by default)
  against the ``months`` before, never two single months (a month of a few
  dozen answers swings by tens of points). The two windows hold different
  answers, so ``Var(change) = Var(recent) + Var(previous)``.
- :func:`nps_change_since`: the overall NPS now against the overall NPS of an
  earlier date (e.g. the previous run's as-of date), recomputed from the
  answers dated up to then (undated answers count in both, as they do in the
  overall NPS). The two overlap: with ``n_then`` answers then, ``n_new`` since
  and ``w = n_new / (n_then + n_new)``, the change is ``w * (NPS_new -
  NPS_then)`` and ``Var = w^2 * (Var(new) + Var(then))``, narrower than the
  naive sum of both variances and wider than nothing.

Answers in the engine
---------------------
The ``feedback`` table is counted in the engine (:func:`score_counts`): one
row per group (e.g. channel), local calendar day, score and scale with the
number of ``answers``. Every function below takes either that table or
feedback rows (each row one answer), and gives the same figures for both.

Examples
--------
>>> fb = pd.DataFrame({"channel": ["web"] * 4, "score": [10.0, 9.0, 6.0, 10.0], "score_max": 10.0,
...                    "timestamp": pd.to_datetime(["2025-01-01"] * 4, utc=True)})
>>> counts = score_counts(fb, by=["channel"], timezone="Asia/Seoul")
>>> counts[["channel", "day", "score", "answers"]].to_numpy().tolist()
[['web', Timestamp('2025-01-01 00:00:00'), 6.0, 1], ['web', Timestamp('2025-01-01 00:00:00'), 9.0, 1], ['web', Timestamp('2025-01-01 00:00:00'), 10.0, 2]]
>>> nps(counts["score"], weights=counts["answers"])["nps"] == nps(fb["score"])["nps"] == 50.0
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t
from ecrm_lib.core.intervals import wilson_interval, z_value
from ecrm_lib.core.language import using
from ecrm_lib.core.privacy import suppress_small_cells
from ecrm_lib.data.engine import backend_name, local_date
from ecrm_lib.seef.campaigns import segment_column_values
from ecrm_lib.seef.tables import engine_table, to_frame

__all__ = ["score_counts", "infer_score_max", "answer_count", "nps", "csat", "nps_scale_rows", "satisfaction_by", "nps_category",
           "attach_segment", "nps_metrics", "change_verdict", "nps_period_comparison", "nps_change_since",
           "nps_change_sentence", "nps_changes_table"]


def score_counts(feedback, by: Sequence[str] = ("channel",), timezone: str = "UTC") -> pd.DataFrame:
    """Answers per group, local calendar day, score and scale, counted in the engine.

    Parameters
    ----------
    feedback : ibis.Table or DataFrame
        The canonical ``feedback`` table (``score``, ``score_max``, ``timestamp``; the ``by`` columns).
    by : sequence of str
        Columns to keep (e.g. ``channel``; ``account_id`` to attach account attributes later);
        those the table lacks are left out.
    timezone : str
        IANA zone of the calendar days (:func:`ecrm_lib.data.engine.local_date`).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``day`` (local date as a naive datetime at midnight; NaT without a
        timestamp), ``score``, ``score_max`` (NaN without one) and ``answers`` (rows, int), one row
        per distinct combination, sorted by them. Rows without a score are counted too
        (``answer_count`` is then the number of rows of the table). When no score has a
        ``score_max`` (the column is absent or empty), the scale is read from the scores
        (:func:`infer_score_max`) and filled in; ``attrs["score_max_inferred"]`` (10, 5 or None)
        and ``attrs["score_max_note"]`` (a sentence for the report, in the report language) say what was done;
        ``attrs["score_max_note_in_language"]`` words that sentence again in the current language (for a page
        in each language; None when there is no note).
    """
    t = engine_table(feedback, [*by, "timestamp", "score", "score_max"])
    cols = set(t.columns)
    keys = [c for c in by if c in cols]
    none = ibis.null()
    t = t.mutate(day=local_date(t.timestamp, backend_name(t), timezone) if "timestamp" in cols else none.cast("date"),
                 score=t.score.cast("float64") if "score" in cols else none.cast("float64"),
                 score_max=t.score_max.cast("float64") if "score_max" in cols else none.cast("float64"))
    group = [*keys, "day", "score", "score_max"]
    out = to_frame(t.group_by(group).aggregate(answers=t.count()).order_by(group))
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[ns]")
    out["answers"] = out["answers"].astype("int64")
    scored = out["score"].notna()
    out.attrs.update(score_max_inferred=None, score_max_note=None, score_max_note_in_language=None)
    if scored.any() and out.loc[scored, "score_max"].isna().all():  # no scale given for any score
        scores, column_present = out.loc[scored, "score"].copy(), "score_max" in cols
        scale, note = infer_score_max(scores, column_present)
        out.attrs.update(score_max_inferred=scale, score_max_note=note,
                         score_max_note_in_language=lambda: infer_score_max(scores, column_present)[1])
        if scale is not None:
            out.loc[scored, "score_max"] = float(scale)
    return out


def infer_score_max(scores, column_present: bool = False) -> tuple[int | None, str]:
    """The top of the score scale read from the scores themselves, when the data gives none.

    Whole numbers from 0 to 10 with a 0 or a value above 5 are a 0-10 (NPS) scale; whole numbers from
    1 to 5 are a 1-5 (star) scale. Anything else cannot be placed on either scale.

    Parameters
    ----------
    scores : array-like of float
        The scores (missing values ignored).
    column_present : bool
        Whether the feedback table has a ``score_max`` column (empty) or none, for the note.

    Returns
    -------
    (scale, note)
        ``10``, ``5`` or None, and a sentence for the report (in the report language) that says
        what was inferred from what, or why nothing could be, and how to set the scale.

    Examples
    --------
    >>> infer_score_max([0, 7, 10, 9])[0], infer_score_max([1, 4, 5])[0], infer_score_max([2.5, 7])[0]
    (10, 5, None)
    """
    v = pd.Series(scores, dtype=float).dropna()
    why = t("satisfaction_scale.empty_column" if column_present else "satisfaction_scale.no_column")
    if v.empty:
        return None, why
    whole = bool((v % 1 == 0).all())
    lo, hi = float(v.min()), float(v.max())
    if whole and lo >= 0 and hi <= 10 and (lo == 0 or hi > 5):
        return 10, t("satisfaction_scale.inferred", why=why, scale="0-10", lo=f"{lo:g}", hi=f"{hi:g}")
    if whole and lo >= 1 and hi <= 5:
        return 5, t("satisfaction_scale.inferred", why=why, scale="1-5", lo=f"{lo:g}", hi=f"{hi:g}")
    return None, t("satisfaction_scale.unknown", why=why, lo=f"{lo:g}", hi=f"{hi:g}")


def answer_count(feedback: pd.DataFrame) -> int:
    """Answers of feedback rows (one each) or of :func:`score_counts` (the sum of ``answers``)."""
    return int(feedback["answers"].sum()) if "answers" in feedback else len(feedback)


def _weights(feedback: pd.DataFrame):
    """The ``answers`` of :func:`score_counts` rows; None for plain rows (one answer each)."""
    return feedback["answers"] if "answers" in feedback else None


def nps_category(scores: pd.Series) -> pd.Series:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6) per 0-10 score; missing stays missing."""
    s = pd.Series(scores, dtype=float)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[s >= 9] = "promoter"
    out[(s >= 7) & (s < 9)] = "passive"
    out[s < 7] = "detractor"
    return out


def nps(scores, ci_level: float = 0.95, weights=None) -> dict:
    """Net Promoter Score of 0-10 answers with its normal-approximation interval.

    Parameters
    ----------
    scores : array-like
        Scores 0-10 (missing values are ignored).
    ci_level : float
    weights : array-like, optional
        Answers per score (the ``answers`` of :func:`score_counts`); None: one each.

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
    s, w = _scores_and_weights(scores, weights)
    bad = s[(s < 0) | (s > 10)]
    if len(bad):
        raise ValueError(f"NPS needs scores 0-10; saw {len(bad)} value(s) outside, e.g. {bad.iloc[0]}. Use csat() for other scales.")
    n = int(w.sum())
    if n == 0:
        return dict(n=0, promoters=math.nan, passives=math.nan, detractors=math.nan, nps=math.nan, se=math.nan,
                    ci_low=math.nan, ci_high=math.nan)
    p, d = float(w[s >= 9].sum() / n), float(w[s < 7].sum() / n)
    value = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    z = z_value(ci_level)
    return dict(n=n, promoters=p, passives=1 - p - d, detractors=d, nps=value, se=se,
                ci_low=max(-100.0, value - z * se), ci_high=min(100.0, value + z * se))


def _scores_and_weights(scores, weights) -> tuple[pd.Series, np.ndarray]:
    """Present scores and their weights (answers; 1 each without weights)."""
    s = pd.Series(scores, dtype=float)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=float)
    keep = s.notna().to_numpy() & (w > 0)
    return s[keep], w[keep]


def csat(scores, score_max: float = 5, top_boxes: int = 2, ci_level: float = 0.95, weights=None) -> dict:
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
    s, w = _scores_and_weights(scores, weights)
    n = int(w.sum())
    if n == 0:
        return dict(n=0, csat=math.nan, ci_low=math.nan, ci_high=math.nan, mean_score=math.nan)
    x = int(w[(s > score_max - top_boxes).to_numpy()].sum())
    lo, hi = wilson_interval(x, n, ci_level)
    mean = float(s.mean()) if weights is None else float((s.to_numpy() * w).sum() / n)
    return dict(n=n, csat=x / n, ci_low=lo, ci_high=hi, mean_score=mean)


def nps_scale_rows(feedback: pd.DataFrame) -> pd.Series:
    """Boolean mask of feedback rows on the 0-10 NPS scale (``score_max == 10`` and a score)."""
    return (feedback["score_max"].astype(float) == 10) & feedback["score"].notna()


def _groups(feedback: pd.DataFrame, by: str, timezone: str | None) -> pd.Series:
    if by == "month" and "day" in feedback:  # score_counts: local days already
        day = feedback["day"]
        return day.dt.strftime("%Y-%m").astype(object).where(day.notna(), "no date")
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
            r = nps(part["score"], ci_level, weights=_weights(part))
            rows.append(dict(group=g, n=r["n"], nps=r["nps"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                             promoters=r["promoters"], detractors=r["detractors"]))
        else:
            r = csat(part["score"], score_max=score_max, ci_level=ci_level, weights=_weights(part))
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
    :func:`ecrm_lib.seef.campaigns.segment_column_values`; accounts without the attribute get ``missing``.

    Returns
    -------
    DataFrame
        A copy of ``feedback`` with the column ``name``.
    """
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


# ------------------------------------------------------------------ changes of NPS
def change_verdict(ci_low: float, ci_high: float) -> str:
    """``"rise"`` when the interval of a change lies above 0, ``"fall"`` below 0, else ``"within the noise"``.

    Examples
    --------
    >>> change_verdict(-3.4, 5.6), change_verdict(0.5, 9.0), change_verdict(-9.0, -0.1)
    ('within the noise', 'rise', 'fall')
    """
    if ci_low is None or ci_high is None or pd.isna(ci_low) or pd.isna(ci_high):
        return "not available"
    if ci_low > 0:
        return "rise"
    if ci_high < 0:
        return "fall"
    return "within the noise"


def _local_dates(feedback: pd.DataFrame, timezone: str | None) -> pd.Series:
    """Local calendar date (Timestamp at midnight, naive) of each row; NaT without a timestamp."""
    if "day" in feedback:  # score_counts: local days already
        return feedback["day"]
    ts = feedback["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = pd.to_datetime(ts, utc=True)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(timezone or "UTC").dt.tz_localize(None)
    return ts.dt.normalize()


def _nps_part(rows: pd.DataFrame, ci_level: float, **extra) -> dict:
    r = nps(rows["score"], ci_level, weights=_weights(rows))
    return dict(extra, **{k: r[k] for k in ("n", "nps", "se", "ci_low", "ci_high")})


def _change(value: float, se: float, ci_level: float) -> dict:
    z = z_value(ci_level)
    lo, hi = value - z * se, value + z * se
    return dict(change=value, se=se, ci_low=lo, ci_high=hi, verdict=change_verdict(lo, hi))


def _no_comparison(out: dict, key: str, **values) -> dict:
    """``out`` with why there is no comparison: ``reason_key`` and ``reason_values`` (``feedback.nps_reason.*``,
    worded for a page by :func:`nps_change_sentence`) and ``reason``, the English sentence (logs, metrics)."""
    out.update(reason_key=f"feedback.nps_reason.{key}", reason_values=values)
    with using("en"):
        out["reason"] = t(out["reason_key"], **values)
    return out


def nps_period_comparison(feedback: pd.DataFrame, end, months: int | None = None, ci_level: float = 0.95,
                          timezone: str | None = None, min_answers: int = 30) -> dict:
    """NPS of the last ``months`` months against the ``months`` before, with the interval of the change.

    Parameters
    ----------
    feedback : DataFrame
        Canonical ``feedback`` rows (``timestamp``, ``score``, ``score_max``); only dated 0-10 answers count.
    end : date-like
        Last day of the recent window (the as-of date; local date in ``timezone``).
    months : int, optional
        Window length in calendar months. None: 12, or half the span of the dated answers (whole
        months, at least 1) when they cover less than 24 months.
    ci_level : float
        Coverage of the intervals (share).
    timezone : str, optional
        Time zone of the calendar dates (e.g. ``"Asia/Seoul"``).
    min_answers : int
        Fewest answers per window for a comparison.

    Returns
    -------
    dict
        ``kind`` ("periods"), ``months``, ``recent`` and ``previous`` (each ``start``, ``end``
        (dates, inclusive; ``start`` is the first answer's date when the data begin inside the
        window), ``n``, ``nps``, ``se``, ``ci_low``, ``ci_high`` in points), ``change`` (recent -
        previous, points), ``se``, ``ci_low``, ``ci_high``, ``verdict``
        (:func:`change_verdict`), and ``reason`` (None, or why there is no comparison in English:
        then the change figures are NaN, and ``reason_key`` and ``reason_values`` word it for a page).

    Examples
    --------
    >>> fb = pd.DataFrame({"timestamp": pd.to_datetime(["2024-03-01"] * 4 + ["2025-03-01"] * 4, utc=True),
    ...                    "score": [10, 10, 0, 0, 10, 10, 10, 0], "score_max": 10.0})
    >>> r = nps_period_comparison(fb, end="2025-06-30", months=12, min_answers=4)
    >>> r["previous"]["nps"], r["recent"]["nps"], r["change"], r["verdict"]
    (0.0, 50.0, 50.0, 'within the noise')
    """
    end_day = pd.Timestamp(end).normalize()
    fb = feedback[nps_scale_rows(feedback)] if len(feedback) else feedback
    day = _local_dates(fb, timezone) if len(fb) else pd.Series([], dtype="datetime64[ns]")
    fb, day = fb[day.notna() & (day <= end_day)], day[day.notna() & (day <= end_day)]
    out = dict(kind="periods", months=months, recent=None, previous=None, reason=None,
               **dict.fromkeys(("change", "se", "ci_low", "ci_high"), math.nan), verdict="not available")
    if fb.empty:
        return _no_comparison(out, "no_dated")
    first = day.min()
    if months is None:
        span = (end_day.year - first.year) * 12 + (end_day.month - first.month) + (1 if end_day.day >= first.day else 0)
        months = 12 if span >= 24 else span // 2
        out["months"] = months
    if months < 1:
        return _no_comparison(out, "short")
    # windows of whole months counted back from the day after `end` (to 30 June: 1 July to 30 June)
    rec_start = end_day + pd.Timedelta(days=1) - pd.DateOffset(months=months)
    prev_start = rec_start - pd.DateOffset(months=months)
    rec, prev = day >= rec_start, (day >= prev_start) & (day < rec_start)
    out["recent"] = _nps_part(fb.loc[rec], ci_level, start=rec_start.date(), end=end_day.date())
    out["previous"] = _nps_part(fb.loc[prev], ci_level, start=max(prev_start, first).date(),
                                end=(rec_start - pd.Timedelta(days=1)).date())
    small = [w for w in ("recent", "previous") if out[w]["n"] < min_answers]
    if small:
        return _no_comparison(out, "few_both" if len(small) > 1 else f"few_{small[0]}", months=months, min=min_answers)
    a, b = out["previous"], out["recent"]
    out.update(_change(b["nps"] - a["nps"], math.hypot(a["se"], b["se"]), ci_level))
    return out


def nps_change_since(feedback: pd.DataFrame, since, end=None, ci_level: float = 0.95, timezone: str | None = None,
                     min_answers: int = 30) -> dict:
    """Overall NPS now against the overall NPS as of an earlier date, with the interval of the change.

    The earlier NPS is recomputed from the answers dated up to ``since`` plus the undated ones (as
    the overall NPS of a run as of ``since`` counts them); the interval accounts for the overlap
    (see the module docstring).

    Parameters
    ----------
    feedback : DataFrame
        Canonical ``feedback`` rows; only 0-10 answers count.
    since : date-like
        The earlier date (e.g. the previous run's as-of date), local.
    end : date-like, optional
        Answers dated after it are left out (None: all).
    ci_level : float
    timezone : str, optional
    min_answers : int
        Fewest answers then and since for a comparison.

    Returns
    -------
    dict
        ``kind`` ("since"), ``since`` (date), ``then`` and ``now`` (``n``, ``nps``, ``se``,
        ``ci_low``, ``ci_high``; points), ``n_new`` (answers dated after ``since``), ``weight``
        (``n_new / now n``), ``change``, ``se``, ``ci_low``, ``ci_high`` (points), ``verdict``,
        ``reason`` (None, or why the change is not available, in English; ``reason_key`` and
        ``reason_values`` word it for a page).

    Examples
    --------
    Then 5 promoters and 5 detractors (NPS 0); since then 10 promoters: now NPS 50, a change of
    0.5 * (100 - 0) = 50 with ``se = 0.5 * sqrt(0 + 1000)``.

    >>> fb = pd.DataFrame({"timestamp": pd.to_datetime(["2024-06-01"] * 10 + ["2025-03-01"] * 10, utc=True),
    ...                    "score": [10] * 5 + [0] * 5 + [10] * 10, "score_max": 10.0})
    >>> r = nps_change_since(fb, "2024-12-30", min_answers=10)
    >>> r["then"]["nps"], r["now"]["nps"], r["change"], round(r["se"], 3)
    (0.0, 50.0, 50.0, 15.811)
    """
    since_day = pd.Timestamp(since).normalize()
    fb = feedback[nps_scale_rows(feedback)] if len(feedback) else feedback
    day = _local_dates(fb, timezone) if len(fb) else pd.Series([], dtype="datetime64[ns]")
    if end is not None:
        keep = day.isna() | (day <= pd.Timestamp(end).normalize())
        fb, day = fb[keep], day[keep]
    old = day.isna() | (day <= since_day)
    then = _nps_part(fb.loc[old], ci_level)
    now = _nps_part(fb, ci_level)
    new = _nps_part(fb.loc[~old], ci_level)
    out = dict(kind="since", since=since_day.date(), then=then, now=now, n_new=int(new["n"]),
               weight=new["n"] / now["n"] if now["n"] else math.nan, reason=None,
               **dict.fromkeys(("change", "se", "ci_low", "ci_high"), math.nan), verdict="not available")
    if then["n"] < min_answers or new["n"] < min_answers:
        return _no_comparison(out, "few_up_to" if then["n"] < min_answers else "few_after", min=min_answers,
                              date=since_day.date())
    w = out["weight"]
    out.update(_change(now["nps"] - then["nps"], w * math.hypot(new["se"], then["se"]), ci_level))
    return out


def _signed(v: float) -> str:
    return f"{v:+.1f}"


def nps_change_sentence(result: dict, ci_level: float = 0.95) -> str:
    """A plain-text sentence for a :func:`nps_period_comparison` or :func:`nps_change_since` result.

    It always gives the interval of the change, and says "within the noise" when the interval
    includes zero; it calls the change a rise or a fall only when the interval excludes zero.

    Examples
    --------
    >>> r = dict(kind="since", since=pd.Timestamp("2024-12-30").date(), then=dict(n=1000, nps=17.7),
    ...          now=dict(n=1275, nps=18.8), n_new=275, weight=275 / 1275, change=1.1, ci_low=-1.1, ci_high=3.3,
    ...          verdict="within the noise", reason=None)
    >>> nps_change_sentence(r)
    'Since 2024-12-30 the overall NPS moved from +17.7 to +18.8: +1.1 points (95% interval -1.1 to +3.3), within the noise: the interval includes zero. The 275 answers since then are 22% of all answers.'
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     nps_change_sentence(r)
    '전체 NPS는 2024년 12월 30일 기준 +17.7, 지금은 +18.8입니다. +1.1포인트 변했습니다(95% 신뢰구간 -1.1 ~ +3.3). 신뢰구간에 0이 들어 있어 잡음 범위 안의 변화입니다. 그 뒤 들어온 응답 275건은 전체 응답의 22%입니다.'
    """
    if result.get("reason"):
        what = (t("feedback.nps_what_periods") if result["kind"] == "periods"
                else t("feedback.nps_what_since", since=result["since"]))
        reason = t(result["reason_key"], **result["reason_values"]) if result.get("reason_key") else result["reason"]
        return t("feedback.nps_no_comparison", what=what, reason=reason)
    v = result["verdict"]
    tail = (t("feedback.nps_noise") if v == "within the noise"
            else t("feedback.nps_clear", v=t(f"feedback.nps_{v}")))
    change = t("feedback.nps_change", c=_signed(result["change"]), lvl=ci_level, lo=_signed(result["ci_low"]),
               hi=_signed(result["ci_high"]), tail=tail)
    if result["kind"] == "periods":
        m, r, p = result["months"], result["recent"], result["previous"]
        span = t("feedback.nps_span_month") if m == 1 else t("feedback.nps_span_months", m=m)
        return t("feedback.nps_periods", span=span, rs=r["start"], re=r["end"], rn=r["n"], rv=_signed(r["nps"]),
                 pv=_signed(p["nps"]), ps=p["start"], pe=p["end"], pn=p["n"], change=change)
    return t("feedback.nps_since", since=result["since"], then=_signed(result["then"]["nps"]), now=_signed(result["now"]["nps"]),
             change=change, n=result["n_new"], w=result["weight"])


def nps_changes_table(results) -> pd.DataFrame:
    """The changes to draw (:func:`ecrm_lib.report.plots.feedback.plot_nps_change`): one row per available result.

    Returns
    -------
    DataFrame
        ``comparison`` (label in the report language: call it once per language, inside the figure's drawing),
        ``change``, ``ci_low``, ``ci_high`` (points), ``verdict``.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> rs = [dict(kind="periods", months=12, change=3.5, ci_low=-17.3, ci_high=24.3, verdict="within the noise"),
    ...       dict(kind="since", since=pd.Timestamp("2024-12-30").date(), change=1.0, ci_low=-4.4, ci_high=6.4,
    ...            verdict="within the noise"), None]
    >>> nps_changes_table(rs)["comparison"].tolist()
    ['last 12 months vs the 12 before', 'overall NPS now vs as of 2024-12-30']
    >>> with using("ko"):
    ...     nps_changes_table(rs)["comparison"].tolist()
    ['최근 12개월 대 그 전 12개월', '지금의 전체 NPS 대 2024년 12월 30일 기준']
    """
    rows = []
    for r in results:
        if r is None or r.get("reason"):
            continue
        if r["kind"] == "periods":
            label = t("feedback.nps_change_periods", m=r["months"])
        else:
            label = t("feedback.nps_change_since", since=r["since"])
        rows.append(dict(comparison=label, change=r["change"], ci_low=r["ci_low"], ci_high=r["ci_high"], verdict=r["verdict"]))
    return pd.DataFrame(rows, columns=["comparison", "change", "ci_low", "ci_high", "verdict"])

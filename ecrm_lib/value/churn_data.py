"""Churn labels and features, computed in the engine, at any day of the timeline.

Non-contractual churn (retail: customers never say that they leave): a
customer *churns* over a window of ``window_days`` days when they make **no
purchase** in it. The models learn without looking past the day whose future
they predict::

    first purchase ......... cut-off = as_of - window_days ......... as_of ........ as_of + window_days
    |<-- features (history up to and incl. cut-off) -->|<-- label window -->|
                                                        (churned = no purchase
                                                         in (cut-off, as_of])
    |<------------------ features for scoring (history up to and incl. as_of) ------->|<-- predicted -->|

:func:`churn_features` and :func:`churn_labels` run as Ibis expressions on the
engine of the tables they are given (the run's DuckDB, or Spark): only the
per-customer result comes into pandas. Nothing dated after the feature day
(a local calendar day in ``timezone``) is read.

Features (all at the feature day ``d``)
---------------------------------------
Purchase days as in :func:`ecrm_lib.value.features.rfm_summary` (local calendar
of ``timezone``, same-day rows merged): ``frequency`` (repeat purchase days),
``recency_days``, ``tenure_days`` (first purchase to ``d``), ``days_since_last``
(last purchase to ``d``), ``monetary_value`` (mean repeat spend),
``total_spend``, ``purchases_90d`` and ``purchases_180d`` (purchase days in the
last 90 and 180 days), ``spend_trend`` (spend in the last 180 days minus spend
in the 180 days before, over their sum: -1 .. 1). With a ``channel`` column and
``internet_channels``: ``n_purchase_channels`` and ``internet_purchase_share``
(share of transaction rows with a known channel that are online). With
contacts: ``n_contacts``, ``n_contacts_90d``, ``n_complaints`` (purpose
containing "complaint", any case), ``n_contact_channels``. With feedback (dated
answers with a score only): ``n_feedback``, ``last_score`` and ``mean_score``
(on a 0-10 scale: score * 10 / score_max, score_max 10 when missing or not
positive), ``any_detractor`` (a score of 6 or less out of 10). The last score
is that of the latest answer; answers at the same instant count the highest.

Products of other notebooks computed at ``as_of`` (such as the channel
integration's ``customer_channels``) would leak the label window into the
training features, so channel and contact features are recomputed here at the
feature day instead.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.core.i18n import WordedError
from ecrm_lib.data.engine import local_date
from ecrm_lib.value.features import (
    as_engine_table,
    check_timezone,
    collect_frame,
    days_between,
    first_day_amount,
    money_float,
    purchase_day_rows,
)

__all__ = [
    "FEATURE_LABELS",
    "ChurnDataError",
    "ChurnTimeline",
    "churn_features",
    "churn_labels",
    "churn_timeline",
    "first_purchase_day",
]


class ChurnDataError(WordedError, ValueError):
    """The data cannot support a churn model (too little history, too few churners or stayers).

    Raised with a catalogue ``key`` and its ``values``: the message is the English sentence
    (``str(exc)``, for logs and metrics) and :meth:`in_language` words it in the report
    language for the page. A callable value (e.g. a count worded by
    :func:`ecrm_lib.core.privacy.count_text`) is called in each language.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> e = ChurnDataError(key="churn.error.no_history", values={"first": "2025-01-02", "w": 180, "as_of": "2025-06-30",
    ...                                                            "cutoff": "2025-01-01"})
    >>> str(e).startswith("the data starts on 2025-01-02")
    True
    >>> with using("ko"):
    ...     e.in_language().startswith("자료는")
    True
    """



FEATURE_LABELS = {
    "frequency": "Repeat purchases (days with a purchase - 1)",
    "recency_days": "Days from first to last purchase",
    "tenure_days": "Days since first purchase",
    "days_since_last": "Days since last purchase",
    "monetary_value": "Average repeat purchase value",
    "total_spend": "Total spend",
    "purchases_90d": "Purchases in the last 90 days",
    "purchases_180d": "Purchases in the last 180 days",
    "spend_trend": "Spend trend (last 180 days vs the 180 before)",
    "n_purchase_channels": "Channels bought through",
    "internet_purchase_share": "Share of purchases online",
    "n_contacts": "Contacts with the company",
    "n_contacts_90d": "Contacts in the last 90 days",
    "n_complaints": "Complaints",
    "n_contact_channels": "Channels used for contacts",
    "n_feedback": "Feedback answers",
    "last_score": "Last feedback score (0-10)",
    "mean_score": "Average feedback score (0-10)",
    "any_detractor": "Ever gave a detractor score (0-6)",
}


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class ChurnTimeline:
    """The dates of the non-contractual design.

    Attributes
    ----------
    as_of : datetime.date
        Last day of the data (the run's as-of date).
    window_days : int
        Length of the churn window in days.
    cutoff : datetime.date
        ``as_of - window_days``: last day of the training features.
    first_date : datetime.date or None
        First purchase day in the data, if known.
    """

    as_of: _dt.date
    window_days: int
    cutoff: _dt.date
    first_date: _dt.date | None = None

    @property
    def horizon_end(self) -> _dt.date:
        """Last day of the window that the scores at ``as_of`` predict."""
        return self.as_of + _dt.timedelta(days=self.window_days)

    def table(self) -> pd.DataFrame:
        """The phases of the design: ``phase``, ``start``, ``end`` (dates, inclusive) and ``meaning``."""
        first = self.first_date or (self.cutoff - _dt.timedelta(days=2 * self.window_days))
        one = _dt.timedelta(days=1)
        rows = [
            ("training features", first, self.cutoff, "history used to describe each customer for training"),
            ("label window", self.cutoff + one, self.as_of, "a customer with no purchase here counts as churned"),
            ("scoring features", first, self.as_of, "history used for today's risk scores"),
            ("predicted window", self.as_of + one, self.horizon_end, "the window the risk scores are about (not yet observed)"),
        ]
        return pd.DataFrame(rows, columns=["phase", "start", "end", "meaning"])


def churn_timeline(as_of, window_days: int, first_date=None) -> ChurnTimeline:
    """The cut-off and windows for a churn window of ``window_days`` days.

    Parameters
    ----------
    as_of : date, str or Timestamp
        Last day of the data.
    window_days : int
        Churn window in days (positive).
    first_date : date, str or Timestamp, optional
        First purchase day in the data (:func:`first_purchase_day`); when given, the cut-off must come after it.

    Raises
    ------
    ValueError
        ``window_days`` is not a positive whole number.
    ChurnDataError
        The data starts on or after the cut-off (no history to learn from).

    Examples
    --------
    >>> t = churn_timeline("2025-06-30", 180)
    >>> t.cutoff, t.horizon_end
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 27))
    """
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)) or window_days <= 0:
        raise ValueError(f"window_days must be a positive whole number of days, but {window_days!r} was passed.")
    as_of = as_date(as_of, "as_of")
    cutoff = as_of - _dt.timedelta(days=int(window_days))
    first = as_date(first_date, "first_date") if first_date is not None else None
    if first is not None and first >= cutoff:
        raise ChurnDataError(key="churn.error.no_history",
                             values={"first": first, "w": int(window_days), "as_of": as_of, "cutoff": cutoff})
    return ChurnTimeline(as_of, int(window_days), cutoff, first)


# --------------------------------------------------------------------------- engine helpers


def _schema_has(table, col: str) -> bool:
    return col in (table.columns if isinstance(table, pd.DataFrame) else table.schema().names)


def _purchases(transactions, end, *, customer_col, time_col, amount_col, timezone, backend=None):
    table, backend = as_engine_table(transactions, backend, (customer_col, time_col, amount_col))
    d = purchase_day_rows(table, backend.name, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
                          timezone=timezone, end=end)
    return d, backend


def first_purchase_day(transactions, *, customer_col: str = "customer_id", time_col: str = "timestamp",
                       timezone: str = "UTC") -> _dt.date | None:
    """First local purchase day of any customer (rows without a customer or time are ignored); None when there is none.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", None], "timestamp": pd.to_datetime(["2024-01-02 23:30", "2023-01-01 00:00"], utc=True)})
    >>> first_purchase_day(tx, timezone="Asia/Seoul")
    datetime.date(2024, 1, 3)
    """
    timezone = check_timezone(timezone)
    table, backend = as_engine_table(transactions, None, (customer_col, time_col))
    table = table.filter(table[customer_col].notnull(), table[time_col].notnull())
    day = local_date(table[time_col], backend.name, timezone)
    value = backend.execute(table.aggregate(first=day.min()))["first"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def churn_labels(
    transactions,
    *,
    cutoff,
    as_of,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Who churned in the window (cut-off, as_of]: no purchase day in it.

    Parameters
    ----------
    transactions : ibis.Table or pandas.DataFrame
        Purchases with ``customer_col``, ``time_col`` and ``amount_col``.
    cutoff, as_of : date, str or Timestamp
        The window is the local days after ``cutoff`` up to and including ``as_of``.
    customer_col, time_col, amount_col : str
        Column names.
    timezone : str
        IANA zone whose calendar days count (as in :func:`ecrm_lib.value.features.rfm_summary`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted): customers with a purchase on or
        before ``cutoff``, with ``purchases_in_window`` (int, purchase days in
        the window) and ``churned`` (int 0/1: 1 when there is none).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-05", "2024-02-20"]),
    ...                    "amount": [1.0, 1.0, 1.0, 1.0]})
    >>> churn_labels(tx, cutoff="2024-01-31", as_of="2024-03-31")
                 purchases_in_window  churned
    customer_id
    a                              1        0
    b                              0        1
    """
    import ibis

    timezone = check_timezone(timezone)
    cutoff, as_of = as_date(cutoff, "cutoff"), as_date(as_of, "as_of")
    if as_of <= cutoff:
        raise ValueError(f"as_of ({as_of}) must be after cutoff ({cutoff}).")
    d, backend = _purchases(transactions, as_of, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
                            timezone=timezone)
    cut = ibis.literal(cutoff, type="date")
    g = d.group_by("cid").aggregate(first=d.day.min(), in_window=d.day.count(where=d.day > cut))
    expr = g.filter(g.first <= cut).select("cid", "in_window").order_by("cid")
    out = collect_frame(backend, expr)
    n = out["in_window"].astype("int64").to_numpy()
    return pd.DataFrame({"purchases_in_window": n, "churned": (n == 0).astype("int64")},
                        index=pd.Index(out["cid"], name=customer_col))


def _purchase_features(transactions, day, *, customer_col, time_col, amount_col, timezone) -> pd.DataFrame:
    """RFM, windowed counts and the exact spend sums behind the trend, one query."""
    import ibis

    d, backend = _purchases(transactions, day, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
                            timezone=timezone)
    lit = lambda k: ibis.literal(day - _dt.timedelta(days=k), type="date")  # noqa: E731
    g = d.group_by("cid").aggregate(
        n=d.day.count(),
        first=d.day.min(),
        last=d.day.max(),
        total=d.amount.sum(),
        first_amount=first_day_amount(d, backend.name),
        n90=d.day.count(where=d.day > lit(90)),
        n180=d.day.count(where=d.day > lit(180)),
        total180=d.amount.sum(where=d.day <= lit(180)),
        total360=d.amount.sum(where=d.day <= lit(360)),
    )
    freq = g.n - 1
    repeat = money_float(g.total - g.first_amount)
    expr = g.select(
        cid=g.cid,
        frequency=freq.cast("float64"),
        recency_days=days_between(g.last, g.first).cast("float64"),
        tenure_days=days_between(ibis.literal(day, type="date"), g.first).cast("float64"),
        monetary_value=ibis.ifelse(freq > 0, repeat / freq.cast("float64"), 0.0),
        total_spend=money_float(g.total),
        total_180=money_float(g.total180),
        total_360=money_float(g.total360),
        purchases_90d=g.n90.cast("float64"),
        purchases_180d=g.n180.cast("float64"),
    ).order_by("cid")
    f = collect_frame(backend, expr).set_index("cid")
    f.index.name = customer_col
    # the same float arithmetic as differences of the summaries at d, d - 180 and d - 360
    recent = f["total_spend"] - f["total_180"]
    prior = f.pop("total_180") - f.pop("total_360")
    denom = recent.abs() + prior.abs()
    out = f[["frequency", "recency_days", "tenure_days"]].copy()
    out["days_since_last"] = f["tenure_days"] - f["recency_days"]
    out["monetary_value"] = f["monetary_value"]
    out["total_spend"] = f["total_spend"]
    out["purchases_90d"] = f["purchases_90d"]
    out["purchases_180d"] = f["purchases_180d"]
    out["spend_trend"] = np.where(denom > 0, (recent - prior) / denom.where(denom > 0, 1.0), 0.0)
    return out


def _channel_features(transactions, day, *, customer_col, time_col, timezone, internet_channels) -> pd.DataFrame | None:
    """Channels bought through and the online share of rows with a channel; None without channels."""
    import ibis

    if not _schema_has(transactions, "channel"):
        return None
    table, backend = as_engine_table(transactions, None, (customer_col, time_col, "channel"))
    table = table.filter(table[customer_col].notnull(), table[time_col].notnull())
    if int(backend.execute(table.aggregate(n=table.channel.count()))["n"].iloc[0]) == 0:
        return None
    t = table.select(cid=table[customer_col], day=local_date(table[time_col], backend.name, timezone), channel=table.channel)
    t = t.filter(t.day <= ibis.literal(day, type="date"))
    online = t.channel.isin(list(internet_channels)).cast("int64")
    g = t.group_by("cid").aggregate(n_purchase_channels=t.channel.nunique(), n_known=t.channel.count(),
                                    n_online=online.sum(where=t.channel.notnull()))
    g = g.select(cid=g.cid, n_purchase_channels=g.n_purchase_channels.cast("float64"),
                 internet_purchase_share=ibis.ifelse(g.n_known > 0, g.n_online.cast("float64") / g.n_known.cast("float64"),
                                                     0.0))
    return collect_frame(backend, g).set_index("cid")


def _contact_features(contacts, day, *, customer_col, timezone) -> pd.DataFrame:
    import ibis

    cols = [customer_col, "timestamp"] + [c for c in ("channel", "purpose") if _schema_has(contacts, c)]
    table, backend = as_engine_table(contacts, None, cols, name="contacts")
    table = table.filter(table[customer_col].notnull(), table.timestamp.notnull())
    when = local_date(table.timestamp, backend.name, timezone)
    t = table.select(
        cid=table[customer_col], day=when,
        complaint=table.purpose.cast("string").lower().contains("complaint").fill_null(False) if "purpose" in cols
        else ibis.literal(False),
        channel=table.channel.cast("string") if "channel" in cols else ibis.null("string"),
    )
    t = t.filter(t.day <= ibis.literal(day, type="date"))
    g = t.group_by("cid").aggregate(
        n_contacts=t.cid.count().cast("float64"),
        n_contacts_90d=t.cid.count(where=t.day > ibis.literal(day - _dt.timedelta(days=90), type="date")).cast("float64"),
        n_complaints=t.complaint.cast("int64").sum().cast("float64"),
        n_contact_channels=t.channel.nunique().cast("float64"),
    )
    return collect_frame(backend, g).set_index("cid")


def _feedback_features(feedback, day, *, customer_col, timezone) -> pd.DataFrame:
    import ibis

    cols = [customer_col, "timestamp", "score"] + (["score_max"] if _schema_has(feedback, "score_max") else [])
    table, backend = as_engine_table(feedback, None, cols, name="feedback")
    table = table.filter(table[customer_col].notnull(), table.timestamp.notnull(), table.score.notnull())
    smax = table.score_max.cast("float64").fill_null(10.0) if "score_max" in cols else ibis.literal(10.0)
    t = table.select(cid=table[customer_col], ts=table.timestamp, day=local_date(table.timestamp, backend.name, timezone),
                     s=10.0 * table.score.cast("float64") / ibis.ifelse(smax > 0, smax, 10.0))
    t = t.filter(t.day <= ibis.literal(day, type="date"))
    latest = t.group_by("cid").aggregate(ts_last=t.ts.max())
    last = t.join(latest, (t.cid == latest.cid) & (t.ts == latest.ts_last)).group_by("cid").aggregate(last_score=t.s.max())
    g = t.group_by("cid").aggregate(n_feedback=t.cid.count().cast("float64"), mean_score=t.s.mean(),
                                    min_score=t.s.min())
    g = g.join(last, "cid").select("cid", "n_feedback", "last_score", "mean_score",
                                   any_detractor=ibis.ifelse(g.min_score <= 6.0, 1.0, 0.0))
    return collect_frame(backend, g).set_index("cid")


def churn_features(
    transactions,
    *,
    as_of,
    contacts=None,
    feedback=None,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    internet_channels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-customer churn features from the history up to and including ``as_of``, computed in the engine.

    Nothing dated after ``as_of`` (a local calendar day in ``timezone``) is
    read: pass the cut-off day to build training features, the run's as-of
    date to build scoring features.

    Parameters
    ----------
    transactions : ibis.Table or pandas.DataFrame
        Purchases: ``customer_col``, ``time_col`` (timestamps; naive ones are
        UTC), ``amount_col``, and optionally ``channel``.
    as_of : date, str or Timestamp
        The feature day.
    contacts : ibis.Table or pandas.DataFrame, optional
        Canonical contacts with ``customer_col`` (``timestamp``; ``channel``, ``purpose`` when present).
    feedback : ibis.Table or pandas.DataFrame, optional
        Canonical feedback with ``customer_col`` (``timestamp``, ``score``,
        ``score_max``); answers without a timestamp cannot be placed in time
        and are ignored.
    customer_col, time_col, amount_col : str
        Column names.
    timezone : str
        IANA zone whose calendar days count.
    internet_channels : sequence of str, optional
        Channels counted as online for ``internet_purchase_share``; without
        it (or without a ``channel`` column) the channel features are left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted): customers with a purchase on or
        before ``as_of``; float columns named in :data:`FEATURE_LABELS` (the
        contact and feedback columns only when those tables are given;
        ``last_score`` and ``mean_score`` are NaN without feedback).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
    ...                    "amount": [10.0, 30.0, 5.0]})
    >>> f = churn_features(tx, as_of="2024-03-31")
    >>> f[["frequency", "tenure_days", "days_since_last", "purchases_90d"]]
                 frequency  tenure_days  days_since_last  purchases_90d
    customer_id
    a                  1.0         90.0             30.0            1.0
    b                  0.0         59.0             59.0            1.0
    """
    timezone = check_timezone(timezone)
    day = as_date(as_of, "as_of")
    out = _purchase_features(transactions, day, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
                             timezone=timezone)
    if internet_channels is not None:
        ch = _channel_features(transactions, day, customer_col=customer_col, time_col=time_col, timezone=timezone,
                               internet_channels=internet_channels)
        if ch is not None:  # one reindex per table: aligning a million text ids costs about 0.8 s each time
            ch = ch.reindex(out.index)
            out["n_purchase_channels"] = ch["n_purchase_channels"].fillna(0.0)
            out["internet_purchase_share"] = ch["internet_purchase_share"].fillna(0.0)
    if contacts is not None:
        for c in (customer_col, "timestamp"):
            if not _schema_has(contacts, c):
                raise DataValidationError(f"contacts has no column {c!r}; attach {customer_col} with attach_customer_id first.")
        co = _contact_features(contacts, day, customer_col=customer_col, timezone=timezone).reindex(out.index)
        for c in ("n_contacts", "n_contacts_90d", "n_complaints", "n_contact_channels"):
            out[c] = co[c].fillna(0.0)
    if feedback is not None:
        fb = _feedback_features(feedback, day, customer_col=customer_col, timezone=timezone).reindex(out.index)
        out["n_feedback"] = fb["n_feedback"].fillna(0.0)
        out["last_score"] = fb["last_score"]
        out["mean_score"] = fb["mean_score"]
        out["any_detractor"] = fb["any_detractor"].fillna(0.0)
    return out.astype(float)


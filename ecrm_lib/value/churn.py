"""Churn risk: who is slipping away, validated on a held-out window.

Two settings
------------
**Non-contractual** (retail: customers never say that they leave). A customer
*churns* over a window of ``window_days`` days when they make **no purchase**
in that window. The models are trained and validated without ever looking
past the point in time whose future they predict::

    first purchase ......... cut-off = as_of - window_days ......... as_of ........ as_of + window_days
    |<-- features (history up to and incl. cut-off) -->|<-- label window -->|
                                                        (churned = no purchase
                                                         in (cut-off, as_of])
    |<------------------ features for scoring (history up to and incl. as_of) ------->|<-- predicted -->|

1. *Training and validation.* Features are computed from the history up to the
   cut-off day ``as_of - window_days`` (transactions, contacts and feedback
   dated after it are ignored); the label is observed in the window
   (cut-off, as_of]. Customers whose first purchase is on or before the
   cut-off are split at random (stratified by the label) into a training part
   and a held-out validation part (``test_size``). The models are fitted and
   calibrated on the training part only; every figure of merit is measured on
   the validation part.
2. *Choice.* Of the scores that are probabilities of the labelled event (the
   two supervised models and the BG/NBD probability of no purchase in the
   window), the one with the highest validation ROC-AUC is kept; ties go to
   the simpler model (logistic regression, then gradient boosting, then
   BG/NBD). ``1 - P(alive)`` is shown for comparison only.
3. *Scoring.* The chosen model is refitted on the latest data: a supervised
   model on every customer of the latest window (training and validation
   parts together: features at the cut-off, label in (cut-off, as_of]) and
   applied to features computed at ``as_of``; BG/NBD on the histories up to
   ``as_of``.
   The outcome of those scores, a purchase in (as_of, as_of + window_days], is
   not known yet. The scores assume that the link between history and churn
   is the same one window later.

The BG/NBD comparison is fitted on the same cut-off histories, of every
customer at the cut-off (it uses no labels, so the validation part may take
part). Two BG/NBD scores are compared: ``1 - P(alive)`` and the model's own
probability of no purchase in the window,
``P0 = 1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + t)) ** (r + x)``
(a customer alive at T with rate ``lambda`` makes no purchase in the next
``t`` with probability ``exp(-lambda t)``, and ``lambda`` given the history
and being alive is Gamma(r + x, alpha + T); BG/NBD drops customers only right
after a purchase). The fit is :func:`ecrm_lib.value.clv.fit_btyd`.

Calibration: both supervised models are wrapped in scikit-learn's
``CalibratedClassifierCV`` (``ensemble=False``): out-of-fold predictions from
5 stratified folds of the training part (fewer when a class has fewer than 5
members) fit the calibration map, and the model is refitted once on the whole
training part. Platt (sigmoid) scaling below
5,000 training rows, isotonic regression from 5,000 on (isotonic overfits on
small calibration folds). The validation part is never used for fitting or
calibrating.

**Contractual** (telecom, subscriptions: the customer ends a contract, e.g.
IBM's Telco data with ``Churn`` Yes/No): a stratified train/test split of the
customers table, the same two models and measures, the drivers, and churn
rates by tenure band and contract type.

Features (non-contractual, all at the feature day ``d``)
---------------------------------------------------------
From :func:`ecrm_lib.value.features.rfm_summary` (purchase days, local calendar of
``timezone``): ``frequency`` (repeat purchase days), ``recency_days``,
``tenure_days`` (first purchase to ``d``), ``days_since_last`` (last purchase
to ``d``), ``monetary_value`` (mean repeat spend), ``total_spend``,
``purchases_90d`` and ``purchases_180d`` (purchase days in the last 90 and 180
days), ``spend_trend`` (spend in the last 180 days minus spend in the 180 days
before, over their sum: -1 .. 1). With a ``channel`` column:
``n_purchase_channels`` and ``internet_purchase_share``. With contacts:
``n_contacts``, ``n_contacts_90d``, ``n_complaints`` (purpose containing
"complaint"), ``n_contact_channels``. With feedback (dated answers only):
``n_feedback``, ``last_score`` and ``mean_score`` (on a 0-10 scale),
``any_detractor`` (a score of 6 or less out of 10).

Products of other notebooks computed at ``as_of`` (such as the channel
integration's ``customer_channels``) would leak the label window into the
training features, so channel and contact features are recomputed here at the
feature day instead.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import EcrmError
from ecrm_lib.value.features import rfm_summary

__all__ = [
    "ChurnDataError",
    "SUPERVISED_MODELS",
    "BTYD_MODELS",
    "ALL_MODELS",
    "CANDIDATE_MODELS",
    "MODEL_LABELS",
    "FEATURE_LABELS",
    "CALIBRATION_ISOTONIC_MIN_ROWS",
    "ChurnTimeline",
    "churn_timeline",
    "churn_labels",
    "churn_features",
    "make_model",
    "bgnbd_churn_scores",
    "evaluate_scores",
    "roc_curve_table",
    "lift_by_decile",
    "risk_deciles",
    "calibration_table",
    "permutation_drivers",
    "choose_model",
    "ChurnResult",
    "run_noncontractual",
    "risk_summary",
    "empty_scores",
    "ChurnInputs",
    "load_inputs",
    "prepare_contract_table",
    "churn_by_tenure",
    "ContractResult",
    "run_contractual",
    "truth_status",
    "truth_check",
]


class ChurnDataError(EcrmError, ValueError):
    """The data cannot support a churn model (too little history, too few churners or stayers)."""


#: Supervised models, in the order that breaks ties (simplest first).
SUPERVISED_MODELS = ("logistic", "gradient_boosting")
#: BG/NBD comparison scores.
BTYD_MODELS = ("p_alive", "bgnbd_window")
ALL_MODELS = SUPERVISED_MODELS + BTYD_MODELS
#: Models whose score is a probability of the labelled event, in tie-break order.
CANDIDATE_MODELS = ("logistic", "gradient_boosting", "bgnbd_window")

MODEL_LABELS = {
    "logistic": "Logistic regression",
    "gradient_boosting": "Gradient boosting",
    "p_alive": "BG/NBD: 1 - P(alive)",
    "bgnbd_window": "BG/NBD: P(no purchase in window)",
}

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

#: From this many training rows on, calibration is isotonic; below it, sigmoid (Platt).
CALIBRATION_ISOTONIC_MIN_ROWS = 5000

_MIN_PER_CLASS = 5  # churners and stayers needed in the training part
_N_GROUPS = 10


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
        First purchase day in the data; when given, the cut-off must come after it.

    Returns
    -------
    ChurnTimeline

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
        raise ChurnDataError(
            f"the data starts on {first}, but the cut-off of a {window_days}-day churn window before {as_of} is {cutoff}: "
            "there is no history before the window to learn from. Use a shorter churn_window_days or more history."
        )
    return ChurnTimeline(as_of, int(window_days), cutoff, first)


# --------------------------------------------------------------------------- labels and features


def _local_days(ts: pd.Series, timezone: str) -> pd.Series:
    """Local calendar days (naive midnight Timestamps) of timestamps; naive ones are UTC."""
    ts = pd.to_datetime(ts)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert(timezone).dt.tz_localize(None)
    else:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
    return ts.dt.normalize()


def _rfm_at(transactions, day: _dt.date, *, customer_col, time_col, amount_col, timezone, cache: dict) -> pd.DataFrame:
    if day not in cache:
        cache[day] = rfm_summary(
            transactions,
            as_of=day,
            customer_col=customer_col,
            time_col=time_col,
            amount_col=amount_col,
            time_unit="D",
            timezone=timezone,
        )
    return cache[day]


def churn_labels(
    transactions: pd.DataFrame,
    *,
    cutoff,
    as_of,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    _cache: dict | None = None,
) -> pd.DataFrame:
    """Who churned in the window (cut-off, as_of]: no purchase day in it.

    Parameters
    ----------
    transactions : pandas.DataFrame
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
    cutoff, as_of = as_date(cutoff, "cutoff"), as_date(as_of, "as_of")
    if as_of <= cutoff:
        raise ValueError(f"as_of ({as_of}) must be after cutoff ({cutoff}).")
    cache = {} if _cache is None else _cache
    kw = dict(customer_col=customer_col, time_col=time_col, amount_col=amount_col, timezone=timezone, cache=cache)
    before = _rfm_at(transactions, cutoff, **kw)
    after = _rfm_at(transactions, as_of, **kw)
    n_after = after["n_purchase_days"].reindex(before.index).fillna(0).astype("int64")
    in_window = (n_after - before["n_purchase_days"]).astype("int64")
    return pd.DataFrame({"purchases_in_window": in_window, "churned": (in_window == 0).astype("int64")}, index=before.index)


def _window_count(now: pd.DataFrame, earlier: pd.DataFrame, col: str) -> pd.Series:
    """now[col] - earlier[col] on now's index (customers absent earlier had 0)."""
    return now[col] - earlier[col].reindex(now.index).fillna(0)


def churn_features(
    transactions: pd.DataFrame,
    *,
    as_of,
    contacts: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    internet_channels: Sequence[str] | None = None,
    _cache: dict | None = None,
) -> pd.DataFrame:
    """Per-customer churn features from the history up to and including ``as_of``.

    Nothing dated after ``as_of`` (a local calendar day in ``timezone``) is
    read: pass the cut-off day to build training features, the run's as-of
    date to build scoring features.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Purchases: ``customer_col``, ``time_col`` (timestamps; naive ones are
        UTC), ``amount_col``, and optionally ``channel``.
    as_of : date, str or Timestamp
        The feature day.
    contacts : pandas.DataFrame, optional
        Canonical contacts with ``customer_col`` (``timestamp``, ``channel``, ``purpose``).
    feedback : pandas.DataFrame, optional
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
    day = as_date(as_of, "as_of")
    cache = {} if _cache is None else _cache
    kw = dict(customer_col=customer_col, time_col=time_col, amount_col=amount_col, timezone=timezone, cache=cache)
    now = _rfm_at(transactions, day, **kw)
    d90 = _rfm_at(transactions, day - _dt.timedelta(days=90), **kw)
    d180 = _rfm_at(transactions, day - _dt.timedelta(days=180), **kw)
    d360 = _rfm_at(transactions, day - _dt.timedelta(days=360), **kw)

    out = pd.DataFrame(index=now.index)
    out["frequency"] = now["frequency"].astype(float)
    out["recency_days"] = now["recency"]
    out["tenure_days"] = now["T"]
    out["days_since_last"] = now["T"] - now["recency"]
    out["monetary_value"] = now["monetary_value"]
    out["total_spend"] = now["total_spend"]
    out["purchases_90d"] = _window_count(now, d90, "n_purchase_days").astype(float)
    out["purchases_180d"] = _window_count(now, d180, "n_purchase_days").astype(float)
    recent = _window_count(now, d180, "total_spend")
    prior = d180["total_spend"].reindex(now.index).fillna(0) - d360["total_spend"].reindex(now.index).fillna(0)
    denom = recent.abs() + prior.abs()
    out["spend_trend"] = np.where(denom > 0, (recent - prior) / denom.where(denom > 0, 1.0), 0.0)

    cutoff_ts = pd.Timestamp(day)
    if internet_channels is not None and "channel" in transactions.columns and transactions["channel"].notna().any():
        tx = transactions.loc[transactions[customer_col].notna() & transactions[time_col].notna(), [customer_col, time_col, "channel"]]
        tx = tx.loc[(_local_days(tx[time_col], timezone) <= cutoff_ts).to_numpy()]
        online = tx["channel"].isin(list(internet_channels)).astype(float).where(tx["channel"].notna())
        g = tx.assign(online=online).groupby(customer_col, observed=True)
        out["n_purchase_channels"] = g["channel"].nunique().reindex(out.index).fillna(0).astype(float)
        out["internet_purchase_share"] = g["online"].mean().reindex(out.index).fillna(0.0)

    if contacts is not None:
        c = contacts.loc[contacts[customer_col].notna() & contacts["timestamp"].notna()]
        days = _local_days(c["timestamp"], timezone)
        keep = (days <= cutoff_ts).to_numpy()
        c, days = c.loc[keep], days.loc[keep]
        purpose = c["purpose"].astype("string").str.lower() if "purpose" in c else pd.Series(pd.NA, index=c.index, dtype="string")
        frame = pd.DataFrame(
            {
                "cid": c[customer_col].to_numpy(),
                "recent": (days > cutoff_ts - pd.Timedelta(days=90)).to_numpy(),
                "complaint": purpose.str.contains("complaint", na=False).to_numpy(),
                "channel": c["channel"].to_numpy() if "channel" in c else None,
            }
        )
        g = frame.groupby("cid")
        out["n_contacts"] = g.size().reindex(out.index).fillna(0).astype(float)
        out["n_contacts_90d"] = g["recent"].sum().reindex(out.index).fillna(0).astype(float)
        out["n_complaints"] = g["complaint"].sum().reindex(out.index).fillna(0).astype(float)
        out["n_contact_channels"] = g["channel"].nunique().reindex(out.index).fillna(0).astype(float)

    if feedback is not None:
        f = feedback.loc[feedback[customer_col].notna() & feedback["timestamp"].notna() & feedback["score"].notna()]
        days = _local_days(f["timestamp"], timezone)
        keep = (days <= cutoff_ts).to_numpy()
        f = f.loc[keep]
        smax = f["score_max"].astype(float).fillna(10.0) if "score_max" in f else pd.Series(10.0, index=f.index)
        score10 = 10.0 * f["score"].astype(float) / smax.where(smax > 0, 10.0)
        frame = pd.DataFrame({"cid": f[customer_col].to_numpy(), "t": pd.to_datetime(f["timestamp"]).to_numpy(), "s": score10.to_numpy()})
        frame = frame.sort_values(["cid", "t"], kind="stable")
        g = frame.groupby("cid")
        out["n_feedback"] = g.size().reindex(out.index).fillna(0).astype(float)
        out["last_score"] = g["s"].last().reindex(out.index)
        out["mean_score"] = g["s"].mean().reindex(out.index)
        out["any_detractor"] = (g["s"].min() <= 6.0).astype(float).reindex(out.index).fillna(0.0)
    return out.astype(float)


# --------------------------------------------------------------------------- models


def _one_thread(func):
    """Run ``func`` with native thread pools (OpenMP, BLAS) limited to one thread.

    On the suite's 2-core machines, busy other processes made the OpenMP
    threads of ``HistGradientBoostingClassifier`` about 10 times slower than a
    single thread (measured: 4.4 s against 0.48 s for 200 trees on 2,500 rows).
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # load the native libraries first: a limit only reaches libraries already loaded
        import scipy.optimize  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _signed_log1p(x):
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def _base_estimator(kind: str, random_state: int, preprocessor=None):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if kind == "logistic":
        steps = [("prepare", preprocessor)] if preprocessor is not None else [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("log", FunctionTransformer(_signed_log1p)),
        ]
        return Pipeline(steps + [("scale", StandardScaler()), ("model", LogisticRegression(C=1.0, max_iter=2000))])
    if kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        )
        return Pipeline(([("prepare", preprocessor)] if preprocessor is not None else []) + [("model", model)])
    raise ValueError(f"model must be one of {list(SUPERVISED_MODELS)}, but {kind!r} was passed.")


def make_model(kind: str, y_train, *, random_state: int = 42, preprocessor=None):
    """A calibrated churn classifier (not yet fitted).

    Parameters
    ----------
    kind : {"logistic", "gradient_boosting"}
        ``"logistic"``: L2-regularised logistic regression (C = 1) on
        median-imputed, signed-log1p-transformed, standardised features.
        ``"gradient_boosting"``: ``HistGradientBoostingClassifier`` (200 trees
        of at most 15 leaves, learning rate 0.05, at least 20 rows per leaf).
    y_train : array-like of 0/1
        The training labels (they set the number of calibration folds and the method).
    random_state : int
        Seed of the folds and of the boosting.
    preprocessor : sklearn transformer, optional
        Replaces the default numeric preparation (used for tables with
        categorical columns).

    Returns
    -------
    sklearn.calibration.CalibratedClassifierCV
        ``cv`` = min(5, size of the smaller class) stratified folds, whose
        out-of-fold predictions fit the calibration map; the model itself is
        then refitted once on all training rows (``ensemble=False``: one model
        to apply, not five). Sigmoid below
        :data:`CALIBRATION_ISOTONIC_MIN_ROWS` rows, isotonic from there.

    Raises
    ------
    ChurnDataError
        A class has fewer than 5 members (too few to fit and calibrate).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y_train).astype(int)
    minority = int(min((y == 1).sum(), (y == 0).sum()))
    if minority < _MIN_PER_CLASS:
        raise ChurnDataError(
            f"the training data has {int((y == 1).sum())} churner(s) and {int((y == 0).sum())} stayer(s); at least "
            f"{_MIN_PER_CLASS} of each are needed to fit and calibrate a model. Use more data or another churn window."
        )
    folds = StratifiedKFold(n_splits=min(5, minority), shuffle=True, random_state=random_state)
    method = "isotonic" if len(y) >= CALIBRATION_ISOTONIC_MIN_ROWS else "sigmoid"
    return CalibratedClassifierCV(_base_estimator(kind, random_state, preprocessor), method=method, cv=folds, ensemble=False)


def bgnbd_churn_scores(fit_rfm: pd.DataFrame, score_rfm: pd.DataFrame | None = None, *, window_days: float) -> pd.DataFrame:
    """BG/NBD P(alive) and probability of no purchase in the next window.

    Parameters
    ----------
    fit_rfm : pandas.DataFrame
        Per-customer ``frequency``, ``recency`` and ``T`` in **days** (e.g.
        ``frequency``, ``recency_days``, ``tenure_days`` of
        :func:`churn_features` renamed, or :func:`~ecrm_lib.value.features.rfm_summary`
        with ``time_unit="D"``); the model is fitted on these (in weeks).
    score_rfm : pandas.DataFrame, optional
        Customers to score (same columns); default ``fit_rfm``.
    window_days : float
        Length of the window in days.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``score_rfm``: ``p_alive`` and ``p_no_purchase`` (the
        probability of no purchase in the next ``window_days``), both 0-1.
        ``attrs`` holds ``params`` (r, alpha in weeks, a, b) and ``penalizer``.

    Notes
    -----
    The fit is :func:`ecrm_lib.value.clv.fit_btyd` (compressed histories, with its
    convergence fallbacks); P(alive) is :func:`ecrm_lib.value.clv.probability_alive`.

    Raises
    ------
    ChurnDataError
        BG/NBD could not be fitted (every fallback failed).
    """
    from ecrm_lib.value.clv import ModelFitError, fit_btyd, probability_alive

    score_rfm = fit_rfm if score_rfm is None else score_rfm
    weeks = lambda d: pd.DataFrame(  # noqa: E731
        {"frequency": d["frequency"].astype("int64"), "recency": d["recency"] / 7.0, "T": d["T"] / 7.0}, index=d.index
    )
    try:
        fit = fit_btyd(weeks(fit_rfm), "bgnbd", time_unit="W")
    except ModelFitError as exc:
        raise ChurnDataError(f"BG/NBD could not be fitted: {exc}") from exc
    sw = weeks(score_rfm)
    p_alive = probability_alive(fit, sw).to_numpy(float)
    r, alpha = float(fit.params["r"]), float(fit.params["alpha"])
    x, T = sw["frequency"].to_numpy(float), sw["T"].to_numpy(float)
    t = float(window_days) / 7.0
    stay_quiet = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    p0 = (1.0 - p_alive) + p_alive * stay_quiet
    out = pd.DataFrame({"p_alive": p_alive, "p_no_purchase": np.clip(p0, 0.0, 1.0)}, index=score_rfm.index)
    out.attrs["params"] = {k: float(v) for k, v in fit.params.items()}
    out.attrs["penalizer"] = float(fit.penalizer_coef)
    return out


# --------------------------------------------------------------------------- measures


def evaluate_scores(y_true, scores: Mapping[str, np.ndarray], probabilities: Sequence[str] | None = None) -> pd.DataFrame:
    """ROC-AUC, PR-AUC and Brier score of several scores on the same labels.

    Parameters
    ----------
    y_true : array-like of 0/1
        1 = churned.
    scores : mapping of str to array-like
        Model name -> score (higher = more likely to churn).
    probabilities : sequence of str, optional
        Models whose score is a probability of the labelled event; the Brier
        score is computed only for them (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``label``, ``n``, ``n_churned``,
        ``churn_rate``, ``roc_auc``, ``pr_auc`` (average precision), ``brier``
        (NaN when not a probability), ``mean_score``. AUCs are NaN when only one
        class is present.

    Examples
    --------
    >>> evaluate_scores([0, 0, 1, 1], {"m": [0.1, 0.4, 0.35, 0.8]})[["roc_auc", "pr_auc", "brier"]]
       roc_auc    pr_auc     brier
    0     0.75  0.833333  0.158125
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y_true).astype(int)
    both = len(np.unique(y)) == 2
    probs = set(scores) if probabilities is None else set(probabilities)
    rows = []
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        rows.append(
            {
                "model": name,
                "label": MODEL_LABELS.get(name, name),
                "n": int(len(y)),
                "n_churned": int(y.sum()),
                "churn_rate": float(y.mean()) if len(y) else np.nan,
                "roc_auc": float(roc_auc_score(y, s)) if both else np.nan,
                "pr_auc": float(average_precision_score(y, s)) if both else np.nan,
                "brier": float(brier_score_loss(y, np.clip(s, 0, 1))) if name in probs and len(y) else np.nan,
                "mean_score": float(s.mean()) if len(s) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def roc_curve_table(y_true, scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Points of the ROC curve of each score: ``model``, ``label``, ``fpr``, ``tpr`` (0-1)."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y_true).astype(int)
    parts = []
    for name, s in scores.items():
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, np.asarray(s, dtype=float))
        parts.append(pd.DataFrame({"model": name, "label": MODEL_LABELS.get(name, name), "fpr": fpr, "tpr": tpr}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["model", "label", "fpr", "tpr"])


def risk_deciles(score, n_groups: int = _N_GROUPS, random_state: int = 0) -> np.ndarray:
    """Risk group of each score: 1 = the highest tenth of scores, ``n_groups`` = the lowest.

    Rows are ordered by score (highest first) and cut into ``n_groups`` groups
    of sizes that differ by at most one. Tied scores are ordered at random
    (seeded), so a block of ties is spread evenly instead of by row order.

    Examples
    --------
    >>> risk_deciles([0.9, 0.1, 0.5, 0.7, 0.3], n_groups=5).tolist()
    [1, 5, 3, 2, 4]
    """
    s = np.asarray(score, dtype=float)
    n = len(s)
    if n == 0:
        return np.array([], dtype=int)
    tiebreak = np.random.default_rng(random_state).random(n)
    order = np.lexsort((tiebreak, -s))
    groups = np.empty(n, dtype=int)
    groups[order] = np.arange(n) * n_groups // n + 1
    return groups


def lift_by_decile(y_true, score, n_groups: int = _N_GROUPS, random_state: int = 0) -> pd.DataFrame:
    """Churners per risk decile, their share and the lift over random selection.

    Parameters
    ----------
    y_true : array-like of 0/1
        1 = churned.
    score : array-like
        Higher = riskier.
    n_groups : int
        Number of groups (10: deciles).
    random_state : int
        Seed for ordering tied scores (see :func:`risk_deciles`).

    Returns
    -------
    pandas.DataFrame
        One row per decile (1 = riskiest): ``decile``, ``n``, ``churners``,
        ``churn_rate``, ``share_of_churners`` (of all churners),
        ``cum_share_of_customers``, ``cum_share_of_churners`` (the gains curve),
        ``lift`` (decile churn rate over the overall rate) and ``cum_lift``.

    Examples
    --------
    >>> lift_by_decile([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1], n_groups=2)[["decile", "churners", "lift"]]
       decile  churners  lift
    0       1         1   1.0
    1       2         1   1.0
    """
    y = np.asarray(y_true).astype(int)
    groups = risk_deciles(score, n_groups, random_state)
    df = pd.DataFrame({"decile": groups, "y": y})
    g = df.groupby("decile")["y"].agg(n="size", churners="sum").reset_index()
    total, rate = y.sum(), y.mean() if len(y) else np.nan
    g["churn_rate"] = g["churners"] / g["n"]
    g["share_of_churners"] = g["churners"] / total if total else np.nan
    g["cum_share_of_customers"] = g["n"].cumsum() / len(y)
    g["cum_share_of_churners"] = g["churners"].cumsum() / total if total else np.nan
    g["lift"] = g["churn_rate"] / rate if rate else np.nan
    g["cum_lift"] = (g["churners"].cumsum() / g["n"].cumsum()) / rate if rate else np.nan
    return g.astype({"n": "int64", "churners": "int64"})


def calibration_table(y_true, prob, n_bins: int = 10) -> pd.DataFrame:
    """Observed churn rate against the mean predicted probability, per quantile bin.

    The bins are those of ``sklearn.calibration.calibration_curve(...,
    strategy="quantile")`` (equal-count bins of the predictions); empty bins
    are left out.

    Returns
    -------
    pandas.DataFrame
        ``bin`` (1..), ``n``, ``mean_predicted``, ``observed_rate`` (0-1).
    """
    y = np.asarray(y_true).astype(float)
    p = np.asarray(prob, dtype=float)
    edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], p)
    total = np.bincount(ids, minlength=n_bins)
    sums = np.bincount(ids, weights=p, minlength=n_bins)
    trues = np.bincount(ids, weights=y, minlength=n_bins)
    keep = total > 0
    return pd.DataFrame(
        {
            "bin": np.arange(1, len(total) + 1)[keep],
            "n": total[keep].astype("int64"),
            "mean_predicted": sums[keep] / total[keep],
            "observed_rate": trues[keep] / total[keep],
        }
    )


@_one_thread
def permutation_drivers(
    models: Mapping[str, object],
    X: pd.DataFrame,
    y,
    *,
    n_repeats: int = 10,
    random_state: int = 42,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Permutation importance of each feature on held-out data, as the drop in ROC-AUC.

    Parameters
    ----------
    models : mapping of str to fitted classifier
        Model name -> fitted estimator with ``predict_proba``.
    X : pandas.DataFrame
        Held-out features (columns as used in fitting).
    y : array-like of 0/1
        Held-out labels.
    n_repeats : int
        Shuffles per feature.
    random_state : int
        Seed of the shuffles.
    labels : mapping, optional
        Plain names of the features (default :data:`FEATURE_LABELS`, else the column name).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``feature``, ``label``, ``importance_mean``,
        ``importance_std`` (ROC-AUC points lost when the feature is shuffled),
        sorted by model and importance (largest first).
    """
    from sklearn.inspection import permutation_importance

    labels = FEATURE_LABELS if labels is None else labels
    parts = []
    for name, model in models.items():
        r = permutation_importance(model, X, np.asarray(y).astype(int), scoring="roc_auc", n_repeats=n_repeats, random_state=random_state)
        parts.append(
            pd.DataFrame(
                {
                    "model": name,
                    "feature": list(X.columns),
                    "label": [labels.get(c, c) for c in X.columns],
                    "importance_mean": r.importances_mean,
                    "importance_std": r.importances_std,
                }
            ).sort_values("importance_mean", ascending=False, kind="stable")
        )
    cols = ["model", "feature", "label", "importance_mean", "importance_std"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def choose_model(metrics: pd.DataFrame) -> str:
    """The model to score with: the highest validation ROC-AUC among the window probabilities.

    Candidates are the models whose score is a probability of the labelled
    event (no purchase in the window): the two supervised models and the
    BG/NBD window probability (:data:`CANDIDATE_MODELS`). Ties go to the
    earlier one in that order (the simpler model first). ``1 - P(alive)`` is
    not a probability of that event; it is chosen only when it is the sole
    model evaluated.

    Examples
    --------
    >>> m = pd.DataFrame({"model": ["logistic", "gradient_boosting", "p_alive"], "roc_auc": [0.80, 0.81, 0.9]})
    >>> choose_model(m)
    'gradient_boosting'
    """
    cand = metrics[metrics["model"].isin(CANDIDATE_MODELS) & metrics["roc_auc"].notna()]
    if not cand.empty:
        order = {m: i for i, m in enumerate(CANDIDATE_MODELS)}
        cand = cand.assign(_o=cand["model"].map(order)).sort_values(["roc_auc", "_o"], ascending=[False, True], kind="stable")
        return str(cand.iloc[0]["model"])
    if "p_alive" in set(metrics["model"]):
        return "p_alive"
    raise ChurnDataError("no model could be evaluated: pass at least one of " + ", ".join(ALL_MODELS) + ".")


# --------------------------------------------------------------------------- non-contractual pipeline


@dataclass
class ChurnResult:
    """Everything the non-contractual analysis produces (tidy DataFrames).

    Attributes
    ----------
    timeline : ChurnTimeline
    n_customers_cutoff, n_train, n_validation : int
        Customers with a purchase on or before the cut-off, and the two parts.
    churn_rate_train, churn_rate_validation : float
        Share of customers with no purchase in the label window (0-1).
    n_churned_train, n_churned_validation : int
        Customers with no purchase in the label window.
    metrics : DataFrame
        :func:`evaluate_scores` on the validation part.
    roc, lift, calibration : DataFrame
        ROC points, :func:`lift_by_decile` and :func:`calibration_table` per
        model (column ``model``).
    importance : DataFrame
        :func:`permutation_drivers` of the supervised models on the validation part.
    best_model : str
        See :func:`choose_model`.
    scores : DataFrame
        The ``churn_risk`` product: ``customer_id``, ``churn_probability``,
        ``risk_decile`` (1 = riskiest tenth), ``model``, ``p_alive``.
    features : list of str
        Feature columns used.
    bgnbd_params : dict
        BG/NBD parameters fitted at the cut-off (r, alpha in weeks, a, b), empty if not fitted.
    notes : list of str
        Plain-language notes on what was skipped or adapted.
    """

    timeline: ChurnTimeline
    n_customers_cutoff: int
    n_train: int
    n_validation: int
    churn_rate_train: float
    churn_rate_validation: float
    n_churned_train: int
    n_churned_validation: int
    metrics: pd.DataFrame
    roc: pd.DataFrame
    lift: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    best_model: str
    scores: pd.DataFrame
    features: list[str]
    bgnbd_params: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def metric(self, model: str, column: str = "roc_auc") -> float | None:
        """One validation figure of one model, None when the model was not evaluated."""
        row = self.metrics.loc[self.metrics["model"] == model, column]
        return None if row.empty or pd.isna(row.iloc[0]) else float(row.iloc[0])

    def population_table(self) -> pd.DataFrame:
        """Customers at the cut-off, by part: ``part``, ``customers``, ``churned``, ``churn_rate`` (0-1)."""
        rows = [
            ("training part", self.n_train, self.n_churned_train),
            ("held-out validation part", self.n_validation, self.n_churned_validation),
            ("all customers at the cut-off", self.n_train + self.n_validation, self.n_churned_train + self.n_churned_validation),
        ]
        df = pd.DataFrame(rows, columns=["part", "customers", "churned"])
        df["churn_rate"] = df["churned"] / df["customers"]
        return df

    def top_decile(self, model: str | None = None) -> dict:
        """Decile 1 of ``model`` (default: the chosen one): ``share_of_churners`` (0-1) and ``lift``."""
        d = self.lift[(self.lift["model"] == (model or self.best_model)) & (self.lift["decile"] == 1)]
        if d.empty:
            return {"share_of_churners": None, "lift": None}
        return {"share_of_churners": float(d["share_of_churners"].iloc[0]), "lift": float(d["lift"].iloc[0])}


def _check_models(models: Sequence[str]) -> list[str]:
    if isinstance(models, str):
        models = [models]
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty list drawn from {list(ALL_MODELS)}, but {list(models)!r} was passed.")
    return list(dict.fromkeys(models))


def _rfm_days(features: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"frequency": features["frequency"], "recency": features["recency_days"], "T": features["tenure_days"]}, index=features.index
    )


@_one_thread
def run_noncontractual(
    transactions: pd.DataFrame,
    *,
    as_of,
    window_days: int = 180,
    contacts: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    models: Sequence[str] = ALL_MODELS,
    test_size: float = 0.3,
    random_state: int = 42,
    permutation_repeats: int = 10,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    internet_channels: Sequence[str] | None = None,
) -> ChurnResult:
    """Train, validate, choose and score: the whole non-contractual churn analysis.

    See the module docstring for the timeline. Features are built with
    :func:`churn_features` at the cut-off (training) and at ``as_of``
    (scoring); labels with :func:`churn_labels`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Purchases with ``customer_col``, ``time_col``, ``amount_col`` (and optionally ``channel``).
    as_of : date, str or Timestamp
        Last day of the data.
    window_days : int
        Churn window in days.
    contacts, feedback : pandas.DataFrame, optional
        Canonical tables with ``customer_col`` attached.
    models : sequence of str
        Drawn from :data:`ALL_MODELS`.
    test_size : float
        Share of the cut-off customers held out for validation (0-1, exclusive).
    random_state : int
        Seed of the split, the folds, the boosting, the shuffles and the tie-breaks.
    permutation_repeats : int
        Shuffles per feature for the drivers.
    customer_col, time_col, amount_col, timezone, internet_channels
        As for :func:`churn_features`.

    Returns
    -------
    ChurnResult

    Raises
    ------
    ChurnDataError
        No history before the cut-off, or too few churners or stayers to fit a model.
    """
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    models = _check_models(models)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1 (a share of customers), but {test_size!r} was passed.")
    tx = transactions.loc[transactions[customer_col].notna() & transactions[time_col].notna()]
    if tx.empty:
        raise ChurnDataError("there are no transactions with a customer and a time: nothing to model.")
    first_day = _local_days(tx[time_col], timezone).min().date()
    timeline = churn_timeline(as_of, window_days, first_date=first_day)
    cache: dict = {}
    fkw = dict(
        contacts=contacts,
        feedback=feedback,
        customer_col=customer_col,
        time_col=time_col,
        amount_col=amount_col,
        timezone=timezone,
        internet_channels=internet_channels,
        _cache=cache,
    )
    X_all = churn_features(tx, as_of=timeline.cutoff, **fkw)
    labels = churn_labels(
        tx, cutoff=timeline.cutoff, as_of=timeline.as_of, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
        timezone=timezone, _cache=cache,
    )
    y_all = labels["churned"].reindex(X_all.index).astype(int)
    n_churn, n_stay = int(y_all.sum()), int((1 - y_all).sum())
    if min(n_churn, n_stay) < 2 * _MIN_PER_CLASS:
        raise ChurnDataError(
            f"at the cut-off {timeline.cutoff} there are {len(y_all)} customers: {n_churn} churned and {n_stay} bought again "
            f"in the {window_days}-day window; at least {2 * _MIN_PER_CLASS} of each are needed to train and validate. "
            "Use more data or another churn window."
        )
    features = list(X_all.columns)
    idx_train, idx_val = train_test_split(X_all.index.to_numpy(), test_size=test_size, random_state=random_state, stratify=y_all.to_numpy())
    X_tr, y_tr = X_all.loc[idx_train], y_all.loc[idx_train]
    X_va, y_va = X_all.loc[idx_val], y_all.loc[idx_val]
    notes: list[str] = []

    scores: dict[str, np.ndarray] = {}
    fitted: dict[str, object] = {}
    for m in models:
        if m in SUPERVISED_MODELS:
            est = make_model(m, y_tr, random_state=random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                est.fit(X_tr, y_tr)
            fitted[m] = est
            scores[m] = est.predict_proba(X_va)[:, 1]
    bgnbd_params: dict = {}
    btyd = [m for m in models if m in BTYD_MODELS]
    if btyd:
        try:
            bg = bgnbd_churn_scores(_rfm_days(X_all), _rfm_days(X_va), window_days=window_days)
            bgnbd_params = bg.attrs["params"]
            if "p_alive" in btyd:
                scores["p_alive"] = 1.0 - bg["p_alive"].to_numpy()
            if "bgnbd_window" in btyd:
                scores["bgnbd_window"] = bg["p_no_purchase"].to_numpy()
        except ChurnDataError as exc:
            notes.append(f"BG/NBD could not be fitted at the cut-off ({exc}); it is left out of the comparison.")
    ordered = {m: scores[m] for m in models if m in scores}
    probs = [m for m in ordered if m != "p_alive"]
    metrics = evaluate_scores(y_va, ordered, probabilities=probs)
    roc = roc_curve_table(y_va, ordered)
    lift = pd.concat(
        [lift_by_decile(y_va, s, random_state=random_state).assign(model=m, label=MODEL_LABELS[m]) for m, s in ordered.items()],
        ignore_index=True,
    )
    calib = pd.concat(
        [calibration_table(y_va, s).assign(model=m, label=MODEL_LABELS[m]) for m, s in ordered.items() if m in probs] or [pd.DataFrame()],
        ignore_index=True,
    )
    importance = permutation_drivers(fitted, X_va, y_va, n_repeats=permutation_repeats, random_state=random_state)
    best = choose_model(metrics)

    # score every customer at as_of with the chosen model refitted on the whole latest window
    X_now = churn_features(tx, as_of=timeline.as_of, **fkw)
    p_alive_now = pd.Series(np.nan, index=X_now.index)
    try:
        bg_now = bgnbd_churn_scores(_rfm_days(X_now), window_days=window_days)
        p_alive_now = bg_now["p_alive"]
    except ChurnDataError as exc:
        bg_now = None
        notes.append(f"BG/NBD could not be fitted at as_of ({exc}); p_alive is missing in the scores.")
    if best in SUPERVISED_MODELS:
        final = clone(fitted[best])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            final.fit(X_all, y_all)
        prob = final.predict_proba(X_now[features])[:, 1]
    elif best == "bgnbd_window" and bg_now is not None:  # BG/NBD refitted on the histories up to as_of
        prob = bg_now["p_no_purchase"].to_numpy()
    elif bg_now is not None:
        prob = 1.0 - bg_now["p_alive"].to_numpy()
    else:
        raise ChurnDataError("the chosen BG/NBD score could not be computed at as_of and no supervised model was asked for.")
    product = pd.DataFrame(
        {
            "customer_id": X_now.index.astype(str),
            "churn_probability": np.asarray(prob, dtype=float),
            "risk_decile": risk_deciles(prob, random_state=random_state).astype("int64"),
            "model": best,
            "p_alive": p_alive_now.to_numpy(dtype=float),
        }
    )
    return ChurnResult(
        timeline=timeline,
        n_customers_cutoff=len(X_all),
        n_train=len(X_tr),
        n_validation=len(X_va),
        churn_rate_train=float(y_tr.mean()),
        churn_rate_validation=float(y_va.mean()),
        n_churned_train=int(y_tr.sum()),
        n_churned_validation=int(y_va.sum()),
        metrics=metrics,
        roc=roc,
        lift=lift,
        calibration=calib,
        importance=importance,
        best_model=best,
        scores=product,
        features=features,
        bgnbd_params=bgnbd_params,
        notes=notes,
    )


def empty_scores() -> pd.DataFrame:
    """A ``churn_risk`` product without rows (columns and dtypes as :func:`run_noncontractual` writes them).

    Written when no customer could be scored, so that later notebooks find the
    product and can tell that it is empty.
    """
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "churn_probability": pd.Series([], dtype="float64"),
            "risk_decile": pd.Series([], dtype="int64"),
            "model": pd.Series([], dtype=object),
            "p_alive": pd.Series([], dtype="float64"),
        }
    )


def risk_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """The ``churn_risk`` product by risk decile.

    Returns
    -------
    pandas.DataFrame
        ``risk_decile`` (1 = riskiest), ``customers``, ``mean_probability``,
        ``min_probability``, ``max_probability`` (0-1) and ``mean_p_alive``
        (BG/NBD, 0-1; NaN when not fitted).
    """
    return (
        scores.groupby("risk_decile")
        .agg(
            customers=("customer_id", "size"),
            mean_probability=("churn_probability", "mean"),
            min_probability=("churn_probability", "min"),
            max_probability=("churn_probability", "max"),
            mean_p_alive=("p_alive", "mean"),
        )
        .reset_index()
    )


@dataclass
class ChurnInputs:
    """What a run offers the churn analysis.

    Attributes
    ----------
    transactions, contacts, feedback, customers : DataFrame or None
        Canonical tables (None when absent); the first three with
        ``customer_id`` attached from the identity map.
    account_map : DataFrame or None
        ``channel_integration``'s ``account_map`` product, if it exists.
    has_customer_channels : bool
        ``channel_integration``'s ``customer_channels`` product exists (it is
        not used as features: it describes customers at as_of, after the cut-off).
    truth_dir : Path or None
        ``truth/`` beside the config, when it holds a synthetic dataset's truth.
    """

    transactions: pd.DataFrame | None
    contacts: pd.DataFrame | None
    feedback: pd.DataFrame | None
    customers: pd.DataFrame | None
    account_map: pd.DataFrame | None
    has_customer_channels: bool
    truth_dir: Path | None


def load_inputs(ctx) -> ChurnInputs:
    """Read the tables and upstream products the churn notebook uses from a run context.

    Parameters
    ----------
    ctx : ecrm_lib.run.context.RunContext

    Returns
    -------
    ChurnInputs
    """
    from ecrm_lib.channels.customers import attach_customer_id

    amap = ctx.read_product("channel_integration", "account_map")
    tables = {}
    for t in ("transactions", "contacts", "feedback"):
        tables[t] = attach_customer_id(ctx.frame(t), amap) if ctx.has(t) else None
    truth = None
    if ctx.config.path is not None:
        cand = Path(ctx.config.path).parent / "truth"
        if (cand / "persons.csv").exists() and (cand / "person_latents.csv").exists():
            truth = cand
    return ChurnInputs(
        transactions=tables["transactions"],
        contacts=tables["contacts"],
        feedback=tables["feedback"],
        customers=ctx.frame("customers") if ctx.has("customers") else None,
        account_map=amap,
        has_customer_channels=ctx.read_product("channel_integration", "customer_channels") is not None,
        truth_dir=truth,
    )


# --------------------------------------------------------------------------- contractual (Telco)


def _find_column(df: pd.DataFrame, name: str) -> str | None:
    for c in df.columns:
        if str(c).lower() == name.lower():
            return c
    return None


def prepare_contract_table(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    id_column: str = "account_id",
    max_levels: int = 50,
) -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    """Features and label from a customers table whose columns are text.

    A column becomes numeric when at least 95 % of its non-blank values parse
    as numbers (blank strings are missing); other columns with at most
    ``max_levels`` distinct values are categorical; the id, the label and
    columns with more levels (free text, other ids) are dropped.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer.
    churn_column : str
        The label column (matched without regard to case).
    positive : str
        The value meaning "churned" (compared stripped and without regard to case).
    id_column : str
        Identifier column, left out of the features.
    max_levels : int
        Most distinct values a categorical column may have.

    Returns
    -------
    X : pandas.DataFrame
        Numeric columns as float, categorical ones as str (missing as "missing").
    y : pandas.Series
        1 = churned.
    numeric, categorical : list of str

    Raises
    ------
    ChurnDataError
        The churn column is missing, or no row has the positive value.
    """
    col = _find_column(customers, churn_column)
    if col is None:
        raise ChurnDataError(
            f"the customers table has no column {churn_column!r}; its columns are {list(customers.columns)}. "
            "Set contract_churn_column to the column that says whether a customer left."
        )
    label = customers[col].astype("string").str.strip().str.lower()
    y = (label == str(positive).strip().lower()).fillna(False).astype(int)
    if y.sum() == 0:
        seen = sorted(map(str, label.dropna().unique()))[:10]
        raise ChurnDataError(
            f"no customer has {churn_column} == {positive!r}; the values seen are {seen}. Set contract_churn_positive."
        )
    X = pd.DataFrame(index=customers.index)
    numeric, categorical = [], []
    for c in customers.columns:
        if c in (col, id_column):
            continue
        s = customers[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            X[c] = s.astype(float)
            numeric.append(c)
            continue
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        parsed = pd.to_numeric(text, errors="coerce")
        present = int(text.notna().sum())
        if present and parsed.notna().sum() >= 0.95 * present:
            X[c] = parsed.astype(float)
            numeric.append(c)
        elif text.nunique(dropna=True) <= max_levels:
            X[c] = text.fillna("missing").astype(str)
            categorical.append(c)
    return X, y.rename("churned"), numeric, categorical


def _contract_preprocessor(numeric: list[str], categorical: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    parts = []
    if numeric:
        parts.append(("num", SimpleImputer(strategy="median", keep_empty_features=True), numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(parts)


def churn_by_tenure(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    tenure_column: str = "tenure",
    contract_column: str = "Contract",
    bands: Sequence[int] = (0, 6, 12, 24, 48, 72),
) -> pd.DataFrame:
    """Churn rate by tenure band and contract type (the retention view of a contract book).

    Parameters
    ----------
    customers : pandas.DataFrame
        Customers with the churn, tenure (months) and contract columns (names
        matched without regard to case; the contract column is optional).
    bands : sequence of int
        Band edges in months; the last band is open-ended ("72+" style when
        tenures exceed the last edge). A band (a, b] holds tenures above a up
        to b; the first band also holds tenure a.

    Returns
    -------
    pandas.DataFrame
        ``tenure_band`` (ordered categorical, e.g. "0-6"), ``contract`` ("all"
        when there is no contract column), ``n``, ``churned``, ``churn_rate``
        (0-1). Empty when there is no tenure column.

    Examples
    --------
    >>> c = pd.DataFrame({"tenure": ["1", "3", "30", "40"], "Contract": ["M", "M", "Y", "Y"],
    ...                   "Churn": ["Yes", "No", "No", "No"]})
    >>> churn_by_tenure(c, bands=(0, 12, 48))[["tenure_band", "contract", "n", "churn_rate"]]
      tenure_band contract  n  churn_rate
    0        0-12        M  2         0.5
    1       13-48        Y  2         0.0
    """
    cols = ["tenure_band", "contract", "n", "churned", "churn_rate"]
    tcol = _find_column(customers, tenure_column)
    ccol = _find_column(customers, churn_column)
    if tcol is None or ccol is None:
        return pd.DataFrame(columns=cols)
    kcol = _find_column(customers, contract_column)
    tenure = pd.to_numeric(customers[tcol].astype("string").str.strip(), errors="coerce")
    y = (customers[ccol].astype("string").str.strip().str.lower() == str(positive).strip().lower()).fillna(False).astype(int)
    edges = [float(b) for b in bands]
    labels = [f"{int(edges[0])}-{int(edges[1])}"] + [f"{int(a) + 1}-{int(b)}" for a, b in zip(edges[1:-1], edges[2:])]
    top = float(tenure.max()) if tenure.notna().any() else edges[-1]
    if top > edges[-1]:
        edges.append(np.inf)
        labels.append(f"{int(bands[-1]) + 1}+")
    band = pd.cut(tenure, bins=edges, labels=labels, include_lowest=True)
    contract = customers[kcol].astype("string").str.strip().fillna("missing") if kcol else pd.Series("all", index=customers.index)
    df = pd.DataFrame({"tenure_band": band, "contract": contract.astype(str), "y": y}).dropna(subset=["tenure_band"])
    g = df.groupby(["tenure_band", "contract"], observed=True)["y"].agg(n="size", churned="sum").reset_index()
    g["churn_rate"] = g["churned"] / g["n"]
    return g[cols].astype({"n": "int64", "churned": "int64"})


@dataclass
class ContractResult:
    """The contractual (Telco-style) analysis.

    Attributes
    ----------
    n_customers, n_train, n_test : int
    churn_rate : float
        Share of churned customers in the whole table (0-1).
    metrics, roc, lift, calibration, importance : DataFrame
        As in :class:`ChurnResult`, measured on the stratified test part.
    best_model : str
        Highest test ROC-AUC (ties to logistic regression).
    by_tenure : DataFrame
        :func:`churn_by_tenure`.
    numeric, categorical : list of str
        Feature columns used.
    """

    n_customers: int
    n_train: int
    n_test: int
    churn_rate: float
    metrics: pd.DataFrame
    roc: pd.DataFrame
    lift: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    best_model: str
    by_tenure: pd.DataFrame
    numeric: list[str]
    categorical: list[str]

    def metric(self, model: str, column: str = "roc_auc") -> float | None:
        """One test figure of one model, None when the model was not evaluated."""
        row = self.metrics.loc[self.metrics["model"] == model, column]
        return None if row.empty or pd.isna(row.iloc[0]) else float(row.iloc[0])

    def top_decile(self, model: str | None = None) -> dict:
        """Decile 1 of ``model`` (default: the chosen one): ``share_of_churners`` (0-1) and ``lift``."""
        return ChurnResult.top_decile(self, model)  # type: ignore[arg-type]


@_one_thread
def run_contractual(
    customers: pd.DataFrame,
    *,
    churn_column: str = "Churn",
    positive: str = "Yes",
    models: Sequence[str] = SUPERVISED_MODELS,
    test_size: float = 0.3,
    random_state: int = 42,
    permutation_repeats: int = 10,
    id_column: str = "account_id",
) -> ContractResult:
    """Contractual churn: stratified split, calibrated models, measures and drivers.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with a churn column (see :func:`prepare_contract_table`).
    churn_column, positive : str
        The label column and the value meaning "churned".
    models : sequence of str
        Supervised models to fit (BG/NBD names are ignored: there are no purchase histories).
    test_size : float
        Share of customers held out (stratified by the label).
    random_state : int
        Seed.
    permutation_repeats : int
        Shuffles per column for the drivers (columns of the table, not one-hot levels).
    id_column : str
        Identifier column, left out.

    Returns
    -------
    ContractResult
    """
    from sklearn.model_selection import train_test_split

    sup = [m for m in _check_models(models) if m in SUPERVISED_MODELS] or list(SUPERVISED_MODELS)
    X, y, numeric, categorical = prepare_contract_table(customers, churn_column=churn_column, positive=positive, id_column=id_column)
    if min(int(y.sum()), int((1 - y).sum())) < 2 * _MIN_PER_CLASS:
        raise ChurnDataError(
            f"the customers table has {int(y.sum())} churned and {int((1 - y).sum())} staying customers; at least "
            f"{2 * _MIN_PER_CLASS} of each are needed."
        )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)
    fitted, scores = {}, {}
    for m in sup:
        est = make_model(m, y_tr, random_state=random_state, preprocessor=_contract_preprocessor(numeric, categorical))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            est.fit(X_tr, y_tr)
        fitted[m], scores[m] = est, est.predict_proba(X_te)[:, 1]
    metrics = evaluate_scores(y_te, scores)
    labels = {c: c for c in X.columns}
    return ContractResult(
        n_customers=len(X),
        n_train=len(X_tr),
        n_test=len(X_te),
        churn_rate=float(y.mean()),
        metrics=metrics,
        roc=roc_curve_table(y_te, scores),
        lift=pd.concat(
            [lift_by_decile(y_te, s, random_state=random_state).assign(model=m, label=MODEL_LABELS[m]) for m, s in scores.items()],
            ignore_index=True,
        ),
        calibration=pd.concat(
            [calibration_table(y_te, s).assign(model=m, label=MODEL_LABELS[m]) for m, s in scores.items()], ignore_index=True
        ),
        importance=permutation_drivers(fitted, X_te, y_te, n_repeats=permutation_repeats, random_state=random_state, labels=labels),
        best_model=choose_model(metrics),
        by_tenure=churn_by_tenure(customers, churn_column=churn_column, positive=positive),
        numeric=numeric,
        categorical=categorical,
    )


# --------------------------------------------------------------------------- truth (synthetic data only)


def truth_status(truth_dir: str | Path, account_map: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Whether each customer's person is truly dead at the end, from a synthetic dataset's truth.

    Parameters
    ----------
    truth_dir : path-like
        The ``truth/`` folder written by :func:`ecrm_lib.data.synth.generate`
        (``persons.csv``: account -> person; ``person_latents.csv``:
        ``alive_at_end``).
    account_map : pandas.DataFrame, optional
        ``account_id`` -> ``customer_id`` from identity resolution; without it
        each account is its own customer.

    Returns
    -------
    pandas.DataFrame or None
        ``customer_id``, ``person_id`` (the person holding most of the
        customer's accounts; ties: the first in id order) and ``dead`` (int
        0/1: the person dropped out before the end). None when the files are
        absent.
    """
    truth_dir = Path(truth_dir)
    persons_path, latents_path = truth_dir / "persons.csv", truth_dir / "person_latents.csv"
    if not (persons_path.exists() and latents_path.exists()):
        return None
    persons = pd.read_csv(persons_path, dtype={"account_id": str, "person_id": str}, usecols=["account_id", "person_id"])
    latents = pd.read_csv(latents_path, dtype={"person_id": str}, usecols=["person_id", "alive_at_end"])
    if account_map is not None:
        amap = account_map[["account_id", "customer_id"]].astype(str)
        persons = persons.merge(amap, on="account_id", how="left")
        persons["customer_id"] = persons["customer_id"].fillna(persons["account_id"])
    else:
        persons["customer_id"] = persons["account_id"]
    counts = persons.groupby(["customer_id", "person_id"]).size().rename("k").reset_index()
    counts = counts.sort_values(["customer_id", "k", "person_id"], ascending=[True, False, True], kind="stable")
    top = counts.drop_duplicates("customer_id")[["customer_id", "person_id"]]
    top = top.merge(latents, on="person_id", how="left")
    top["dead"] = (top["alive_at_end"] == 0).astype("int64")
    return top[["customer_id", "person_id", "dead"]].reset_index(drop=True)


def truth_check(scores: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, float | None]:
    """Share of truly dead customers by predicted risk decile, and the AUC against the truth.

    Parameters
    ----------
    scores : pandas.DataFrame
        The ``churn_risk`` product (``customer_id``, ``churn_probability``, ``risk_decile``).
    truth : pandas.DataFrame
        :func:`truth_status`.

    Returns
    -------
    table : pandas.DataFrame
        ``risk_decile``, ``n``, ``share_dead`` (0-1), ``mean_churn_probability``.
    auc : float or None
        ROC-AUC of ``churn_probability`` for "dead at the end" (None when one class is missing).
    """
    from sklearn.metrics import roc_auc_score

    df = scores[["customer_id", "churn_probability", "risk_decile"]].merge(truth[["customer_id", "dead"]], on="customer_id", how="inner")
    table = (
        df.groupby("risk_decile")
        .agg(n=("dead", "size"), share_dead=("dead", "mean"), mean_churn_probability=("churn_probability", "mean"))
        .reset_index()
    )
    auc = float(roc_auc_score(df["dead"], df["churn_probability"])) if df["dead"].nunique() == 2 else None
    return table, auc

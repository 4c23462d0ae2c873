"""Churn models: training on a stratified sample, validation on held-out customers, scoring in batches.

The non-contractual design and the features are in :mod:`ecrm_lib.value.churn_data`;
the contractual (Telco-style) analysis in :mod:`ecrm_lib.value.contract_churn`.
The churn notebook runs these steps one per cell:

1. *Split* (:func:`split_customers`). Customers whose first purchase is on or
   before the cut-off are split at random, stratified by the label, into a
   training part and a held-out validation part (``test_size``). The models
   learn from at most ``max_train`` customers of the training part, a
   stratified sample (all of them when there are fewer): the fit's cost stays
   bounded however many customers there are, and 100,000 customers pin the
   models down far more finely than the validation can measure.
2. *Fit and calibrate* (:func:`fit_churn_models`). Both supervised models are
   wrapped in scikit-learn's ``CalibratedClassifierCV`` (``ensemble=False``):
   out-of-fold predictions from 5 stratified folds of the training sample
   (fewer when a class has fewer than 5 members) fit the calibration map, and
   the model is refitted once on the whole sample. Platt (sigmoid) scaling
   below 5,000 training rows, isotonic regression from 5,000 on (isotonic
   overfits on small calibration folds). The validation part is never used for
   fitting or calibrating. The purchase-model comparison is fitted on the
   cut-off histories of every customer (it uses no labels); the model is the
   one the customer-value report chose (BG/NBD when that report is missing,
   :mod:`ecrm_lib.value.churn_purchase`), so that P(alive) is one figure
   across the pages. Two of its scores are compared: ``1 - P(alive)`` and the
   model's own probability of no purchase in the window (for BG/NBD
   ``P0 = 1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + t)) ** (r + x)``:
   a customer alive at T with rate ``lambda`` makes no purchase in the next
   ``t`` with probability ``exp(-lambda t)``, and ``lambda`` given the history
   and being alive is Gamma(r + x, alpha + T); BG/NBD drops customers only
   right after a purchase; Pareto/NBD in :func:`~ecrm_lib.value.churn_purchase.no_purchase_probability`).
3. *Evaluate* (:func:`evaluate_churn_models`) on the whole validation part:
   ROC-AUC, PR-AUC, Brier score, lift by decile, calibration, and the drivers
   (permutation importance on a stratified sample of at most
   ``max_driver_customers`` validation customers). Of the scores that are
   probabilities of the labelled event (the two supervised models and the
   BG/NBD probability of no purchase in the window), the one with the highest
   validation ROC-AUC is kept; ties go to the simpler model (logistic
   regression, then gradient boosting, then the purchase model). ``1 - P(alive)`` is shown
   for comparison only.
4. *Score* (:func:`score_customers`). The chosen model is refitted on the latest
   window (a stratified sample of at most ``max_train`` customers of all those
   at the cut-off: features at the cut-off, label in (cut-off, as_of]) and
   applied, in batches, to every customer's features at ``as_of``; the purchase
   model on the histories up to ``as_of`` (the customer-value report's final fit). The outcome of those scores, a purchase in
   (as_of, as_of + window_days], is not known yet: the scores assume that the
   link between history and churn is the same one window later.

Threads: native thread pools (OpenMP of the gradient boosting, BLAS) use
``n_threads`` threads (default: the machine's cores, as far as other work
leaves them idle, :func:`free_cores`) from :data:`MIN_ROWS_FOR_THREADS` rows on
and one thread below, where thread start-up and contention cost more than they
save (measured on a busy 2-core machine: 4.4 s with two threads against 0.48 s
with one for 200 trees on 2,500 rows).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t
from ecrm_lib.core.privacy import count_text
from ecrm_lib.core.progress import step as progress_step
from ecrm_lib.data.tables import isin_text
from ecrm_lib.value.churn_data import ChurnDataError, ChurnTimeline
from ecrm_lib.value.churn_measures import (
    ALL_MODELS,
    BTYD_MODELS,
    MODEL_LABELS,
    SUPERVISED_MODELS,
    calibration_table,
    choose_model,
    evaluate_scores,
    lift_by_decile,
    permutation_drivers,
    risk_deciles,
    roc_curve_table,
)
from ecrm_lib.value.churn_purchase import PurchaseModel, summary_from_features

__all__ = [
    "CALIBRATION_ISOTONIC_MIN_ROWS",
    "DEFAULT_MAX_DRIVER_CUSTOMERS",
    "DEFAULT_MAX_TRAIN",
    "MIN_ROWS_FOR_THREADS",
    "SCORE_BATCH_ROWS",
    "ChurnEvaluation",
    "ChurnSplit",
    "bgnbd_churn_scores",
    "check_models",
    "churn_metrics",
    "empty_scores",
    "evaluate_churn_models",
    "fit_churn_models",
    "make_model",
    "free_cores",
    "native_threads",
    "risk_summary",
    "score_customers",
    "split_customers",
]

#: From this many training rows on, calibration is isotonic; below it, sigmoid (Platt).
CALIBRATION_ISOTONIC_MIN_ROWS = 5000
#: Default largest training sample (customers) of the supervised models.
DEFAULT_MAX_TRAIN = 100_000
#: Default largest validation sample (customers) for the permutation drivers.
DEFAULT_MAX_DRIVER_CUSTOMERS = 5_000
#: Rows scored per batch.
SCORE_BATCH_ROWS = 200_000
#: Fewest rows from which native thread pools use more than one thread.
MIN_ROWS_FOR_THREADS = 50_000

_MIN_PER_CLASS = 5  # churners and stayers needed in the training part


# --------------------------------------------------------------------------- threads


def free_cores(n_threads: int | None = None) -> int:
    """Threads worth using now: ``n_threads`` (default the machine's cores), but no more than the cores idle.

    Idle cores are the cores minus the other work waiting for them (the 1-minute
    load average, this process counted as one), at least one. OpenMP threads
    that outnumber the free cores spin against each other: measured on the
    suite's 2-core machine with a load of 12, gradient boosting on 100,000
    customers took 598 s with two threads and 54 s with one.
    """
    cores = os.cpu_count() or 1
    wanted = max(1, int(n_threads or cores))
    try:
        idle = cores - os.getloadavg()[0] + 1.0
    except (AttributeError, OSError):  # pragma: no cover - no load average on this platform
        idle = cores
    return max(1, min(wanted, int(idle)))


@contextlib.contextmanager
def native_threads(n_rows: int, n_threads: int | None = None):
    """Limit the native thread pools (OpenMP, BLAS) while fitting or scoring ``n_rows`` rows.

    One thread below :data:`MIN_ROWS_FOR_THREADS` rows; from there
    :func:`free_cores` (``n_threads``, default the machine's cores, as far as
    other work leaves them idle).
    """
    # load the native libraries first: a limit only reaches libraries already loaded
    import scipy.optimize  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    limit = 1 if n_rows < MIN_ROWS_FOR_THREADS else free_cores(n_threads)
    with threadpool_limits(limits=limit):
        yield limit


def check_models(models: Sequence[str]) -> list[str]:
    """The models asked for, without repeats, each one of :data:`ALL_MODELS` (else a ValueError)."""
    if isinstance(models, str):
        models = [models]
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty list drawn from {list(ALL_MODELS)}, but {list(models)!r} was passed.")
    return list(dict.fromkeys(models))


# --------------------------------------------------------------------------- models


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
        n1, n0 = int((y == 1).sum()), int((y == 0).sum())
        raise ChurnDataError(key="churn.error.train_too_few",
                             values={"churners": lambda: count_text(n1), "stayers": lambda: count_text(n0), "m": _MIN_PER_CLASS})
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
        :func:`ecrm_lib.value.churn_data.churn_features` renamed, or :func:`~ecrm_lib.value.features.rfm_summary`
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
    :class:`ecrm_lib.value.churn_purchase.PurchaseModel` with BG/NBD in weeks: the fit is
    :func:`ecrm_lib.value.btyd.fit_btyd` (compressed histories, with its convergence fallbacks),
    P(alive) :func:`ecrm_lib.value.btyd.predict_purchases`.

    Raises
    ------
    ChurnDataError
        BG/NBD could not be fitted (every fallback failed).
    """
    score_rfm = fit_rfm if score_rfm is None else score_rfm
    out = PurchaseModel("bgnbd", time_unit="W").scores(summary_from_features(_rfm_days_as_features(fit_rfm), "W"),
                                                       summary_from_features(_rfm_days_as_features(score_rfm), "W"),
                                                       window_days=window_days)
    out.attrs.pop("model", None)
    return out


def _rfm_days_as_features(rfm: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"frequency": rfm["frequency"], "recency_days": rfm["recency"], "tenure_days": rfm["T"]}, index=rfm.index)


# --------------------------------------------------------------------------- steps


@dataclass
class ChurnSplit:
    """Customers at the cut-off, split for training and validation (:func:`split_customers`).

    Attributes
    ----------
    X : pandas.DataFrame
        Features at the cut-off (index: customer id) of the customers the steps use: the training
        sample, the validation part and the refit sample. That is every customer who had bought by
        then unless the training part was sampled; then the rest of the training part is dropped,
        so that a large population's features are not held twice (at ten million customers the
        dropped rows are about 6.7 million, about 1 GB).
    y : pandas.Series
        1 = no purchase in the label window (int), for every customer who had bought by the cut-off.
    train : numpy.ndarray
        Ids of the training sample the models learn from.
    validation : numpy.ndarray
        Ids of the held-out validation part.
    n_train_part : int
        Customers of the training part before sampling (``len(train)`` when it was not sampled).
    n_churned_train_part : int
        Churners among them.
    max_train : int
        The largest training sample asked for.
    refit : numpy.ndarray
        Ids of the sample the chosen model is refitted on before scoring (:func:`score_customers`):
        at most ``max_train`` of all cut-off customers, stratified by the label.
    """

    X: pd.DataFrame
    y: pd.Series
    train: np.ndarray
    validation: np.ndarray
    n_train_part: int
    n_churned_train_part: int
    max_train: int
    refit: np.ndarray

    @property
    def features(self) -> list[str]:
        """Feature columns."""
        return list(self.X.columns)

    @property
    def X_train(self) -> pd.DataFrame:
        return self.X.loc[self.train]

    @property
    def y_train(self) -> pd.Series:
        return self.y.loc[self.train]

    @property
    def X_validation(self) -> pd.DataFrame:
        return self.X.loc[self.validation]

    @property
    def y_validation(self) -> pd.Series:
        return self.y.loc[self.validation]

    @property
    def sampled(self) -> bool:
        """True when the models learn from a sample of the training part."""
        return len(self.train) < self.n_train_part

    def population_table(self) -> pd.DataFrame:
        """Customers at the cut-off, by part: ``part`` (in the report language), ``customers``, ``churned``, ``churn_rate`` (0-1)."""
        n_val, c_val = len(self.validation), int(self.y_validation.sum())
        rows = [
            ("train", self.n_train_part, self.n_churned_train_part),
            ("validation", n_val, c_val),
            ("all", self.n_train_part + n_val, self.n_churned_train_part + c_val),
        ]
        if self.sampled:
            rows.insert(1, ("sample", len(self.train), int(self.y_train.sum())))
        df = pd.DataFrame(rows, columns=["part", "customers", "churned"])
        df["part"] = [t(f"churn.part.{k}") for k in df["part"]]
        df["churn_rate"] = df["churned"] / df["customers"]
        return df


def _stratified_sample(ids: np.ndarray, y: pd.Series, size: int, random_state: int) -> np.ndarray:
    """``size`` of ``ids`` drawn at random with the churn rate of ``y`` kept (all of them when there are no more)."""
    from sklearn.model_selection import train_test_split

    if len(ids) <= size:
        return ids
    sample, _ = train_test_split(ids, train_size=int(size), random_state=random_state, stratify=y.loc[ids].to_numpy())
    return sample


def split_customers(
    X: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    test_size: float = 0.3,
    random_state: int = 42,
    max_train: int = DEFAULT_MAX_TRAIN,
    timeline: ChurnTimeline | None = None,
) -> ChurnSplit:
    """Split the cut-off customers into a training sample and a held-out validation part, stratified by the label.

    Parameters
    ----------
    X : pandas.DataFrame
        :func:`ecrm_lib.value.churn_data.churn_features` at the cut-off.
    labels : pandas.DataFrame
        :func:`ecrm_lib.value.churn_data.churn_labels` for the window after the cut-off.
    test_size : float
        Share of the customers held out for validation (0-1, exclusive).
    random_state : int
        Seed of the split and of the two samples (training, refit).
    max_train : int
        Largest training sample (customers); the training part is sampled down to it, stratified by the label.
    timeline : ChurnTimeline, optional
        For the error message.

    Raises
    ------
    ChurnDataError
        Fewer than 10 churners or 10 stayers: too few to train and validate.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1 (a share of customers), but {test_size!r} was passed.")
    if int(max_train) < 4 * _MIN_PER_CLASS:
        raise ValueError(f"max_train must be at least {4 * _MIN_PER_CLASS} customers, but {max_train!r} was passed.")
    y = labels["churned"].reindex(X.index).astype(int)
    n_churn, n_stay = int(y.sum()), int((1 - y).sum())
    if min(n_churn, n_stay) < 2 * _MIN_PER_CLASS:
        n_all = len(y)
        raise ChurnDataError(key="churn.error.split_too_few", values={
            "cutoff": timeline.cutoff if timeline is not None else None, "w": timeline.window_days if timeline is not None else 0,
            "n": lambda: count_text(n_all), "churned": lambda: count_text(n_churn), "stayed": lambda: count_text(n_stay),
            "m": 2 * _MIN_PER_CLASS})
    idx_train, idx_val = train_test_split(X.index.to_numpy(), test_size=test_size, random_state=random_state,
                                          stratify=y.to_numpy())
    sample = _stratified_sample(idx_train, y, max_train, random_state)
    refit = _stratified_sample(X.index.to_numpy(), y, max_train, random_state)
    if len(sample) < len(idx_train):  # keep only the rows the later steps read (order of X kept)
        X = X[isin_text(X.index, np.concatenate([sample, idx_val, refit]))]  # pyarrow: pandas' isin of text is slow
    return ChurnSplit(X=X, y=y, train=sample, validation=idx_val, n_train_part=len(idx_train),
                      n_churned_train_part=int(y.loc[idx_train].sum()), max_train=int(max_train), refit=refit)


def fit_churn_models(split: ChurnSplit, models: Sequence[str] = ALL_MODELS, *, random_state: int = 42,
                     n_threads: int | None = None) -> dict[str, object]:
    """Fit and calibrate the supervised models of ``models`` on the training sample.

    Returns
    -------
    dict
        Model key -> fitted ``CalibratedClassifierCV`` (:func:`make_model`); BG/NBD keys are skipped
        (see :func:`bgnbd_churn_scores`).
    """
    progress_step("fitting churn models ({models}) on {n:,} customers", models=", ".join(models), n=len(split.X_train))
    X_tr, y_tr = split.X_train, split.y_train
    fitted: dict[str, object] = {}
    with native_threads(len(X_tr), n_threads):
        for m in check_models(models):
            if m in SUPERVISED_MODELS:
                est = make_model(m, y_tr, random_state=random_state)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    est.fit(X_tr, y_tr)
                fitted[m] = est
    return fitted


def _histories(features: pd.DataFrame, histories: pd.DataFrame | None, time_unit: str) -> pd.DataFrame:
    """Purchase histories in the model's time unit, indexed by customer id as text."""
    h = summary_from_features(features, time_unit) if histories is None else histories[["frequency", "recency", "T"]]
    return h.set_axis(pd.Index(h.index).astype(str))


def _predict_in_batches(est, X: pd.DataFrame, batch_rows: int = SCORE_BATCH_ROWS, columns=None) -> np.ndarray:
    """``predict_proba`` of the positive class, ``batch_rows`` rows at a time; ``columns`` (the model's features) are
    picked per batch, so that the whole table's features are never copied at once."""
    if len(X) == 0:
        return np.array([], dtype=float)
    cols = list(X.columns) if columns is None else list(columns)
    return np.concatenate([est.predict_proba(X.iloc[i:i + batch_rows][cols])[:, 1] for i in range(0, len(X), batch_rows)])


@dataclass
class ChurnEvaluation:
    """The models judged on the held-out validation part (:func:`evaluate_churn_models`).

    Attributes
    ----------
    scores : dict
        Model key -> validation scores (higher = riskier), in the order of the models asked for.
    metrics : DataFrame
        :func:`evaluate_scores` on the validation part.
    roc, lift, calibration : DataFrame
        ROC points, :func:`lift_by_decile` and :func:`calibration_table` per model (column ``model``).
    importance : DataFrame
        :func:`permutation_drivers` of the supervised models on (a sample of) the validation part.
    best_model : str
        See :func:`choose_model`.
    churn_rate_validation : float
        Share of validation customers with no purchase in the label window.
    bgnbd_params : dict
        The purchase model's parameters fitted at the cut-off (rates per its time unit), empty if not fitted.
    n_drivers : int
        Validation customers the drivers were measured on.
    notes : list of (key, values)
        What was skipped or adapted, as catalogue messages (a callable value is worded per language).
    purchase_model : PurchaseModel
        The purchase model of the ``p_alive`` and ``bgnbd_window`` scores.
    """

    scores: dict
    metrics: pd.DataFrame
    roc: pd.DataFrame
    lift: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    best_model: str
    churn_rate_validation: float
    bgnbd_params: dict = field(default_factory=dict)
    n_drivers: int = 0
    notes: list = field(default_factory=list)
    purchase_model: PurchaseModel = field(default_factory=PurchaseModel)

    def metric(self, model: str, column: str = "roc_auc") -> float | None:
        """One validation figure of one model, None when the model was not evaluated."""
        row = self.metrics.loc[self.metrics["model"] == model, column]
        return None if row.empty or pd.isna(row.iloc[0]) else float(row.iloc[0])

    def top_decile(self, model: str | None = None) -> dict:
        """Decile 1 of ``model`` (default: the chosen one): ``share_of_churners`` (0-1) and ``lift``."""
        d = self.lift[(self.lift["model"] == (model or self.best_model)) & (self.lift["decile"] == 1)]
        if d.empty:
            return {"share_of_churners": None, "lift": None}
        return {"share_of_churners": float(d["share_of_churners"].iloc[0]), "lift": float(d["lift"].iloc[0])}


def evaluate_churn_models(
    split: ChurnSplit,
    fitted: Mapping[str, object],
    models: Sequence[str] = ALL_MODELS,
    *,
    window_days: int,
    random_state: int = 42,
    permutation_repeats: int = 10,
    max_driver_customers: int = DEFAULT_MAX_DRIVER_CUSTOMERS,
    n_threads: int | None = None,
    purchase_model: PurchaseModel | None = None,
    histories: pd.DataFrame | None = None,
) -> ChurnEvaluation:
    """Score the validation part with every model, measure each, find the drivers and choose the model.

    Parameters
    ----------
    split : ChurnSplit
    fitted : mapping
        :func:`fit_churn_models`.
    models : sequence of str
        Drawn from :data:`ALL_MODELS`; the BG/NBD scores are fitted here on every cut-off history.
    window_days : int
        The churn window (days).
    random_state : int
        Seed of the tie-breaks, the shuffles and the drivers' sample.
    permutation_repeats : int
        Shuffles per feature for the drivers.
    max_driver_customers : int
        Largest stratified sample of the validation part for the drivers.
    n_threads : int, optional
        See :func:`native_threads`.
    purchase_model : PurchaseModel, optional
        The purchase model of the two P(alive) scores (default: BG/NBD in weeks,
        :func:`ecrm_lib.value.churn_purchase.chosen_purchase_model` gives the customer-value report's).
    histories : pandas.DataFrame, optional
        ``frequency``, ``recency``, ``T`` at the cut-off in the purchase model's time unit (e.g.
        :func:`ecrm_lib.value.features.rfm_summary`), indexed by customer id; default: from ``split.X``
        (every cut-off customer unless the training part was sampled: pass the histories to fit on all).
        The model is fitted on every customer's history given (it uses no labels).
    """
    models = check_models(models)
    purchase_model = purchase_model or PurchaseModel()
    X_va, y_va = split.X_validation, split.y_validation
    scores: dict[str, np.ndarray] = {}
    notes: list[str] = []
    with native_threads(len(X_va), n_threads):
        for m in models:
            if m in fitted:
                scores[m] = _predict_in_batches(fitted[m], X_va)
    bgnbd_params: dict = {}
    btyd = [m for m in models if m in BTYD_MODELS]
    if btyd:
        hist = _histories(split.X, histories, purchase_model.time_unit)
        try:
            bg = purchase_model.scores(hist, hist.reindex(pd.Index(X_va.index).astype(str)), window_days=window_days)
            bgnbd_params = bg.attrs["params"]
            if "p_alive" in btyd:
                scores["p_alive"] = 1.0 - bg["p_alive"].to_numpy()
            if "bgnbd_window" in btyd:
                scores["bgnbd_window"] = bg["p_no_purchase"].to_numpy()
        except ChurnDataError as exc:
            notes.append(("churn.note.purchase_fit_cutoff", {"model": purchase_model.name, "why": exc.in_language}))
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
    drivers_ids = _stratified_sample(split.validation, split.y, max_driver_customers, random_state)
    with native_threads(len(drivers_ids), n_threads):
        importance = permutation_drivers(dict(fitted), split.X.loc[drivers_ids], split.y.loc[drivers_ids],
                                         n_repeats=permutation_repeats, random_state=random_state)
    return ChurnEvaluation(
        scores=ordered, metrics=metrics, roc=roc, lift=lift, calibration=calib, importance=importance,
        best_model=choose_model(metrics), churn_rate_validation=float(y_va.mean()), bgnbd_params=bgnbd_params,
        n_drivers=len(drivers_ids), notes=notes, purchase_model=purchase_model,
    )


def score_customers(
    split: ChurnSplit,
    fitted: Mapping[str, object],
    best_model: str,
    X_now: pd.DataFrame,
    *,
    window_days: int,
    random_state: int = 42,
    batch_rows: int = SCORE_BATCH_ROWS,
    n_threads: int | None = None,
    purchase_model: PurchaseModel | None = None,
    histories: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, dict]]]:
    """Today's churn risk of every customer: the chosen model refitted on the latest window, applied in batches.

    Parameters
    ----------
    split : ChurnSplit
        Its ``X`` and ``y`` at the cut-off and the label are the latest window.
    fitted : mapping
        :func:`fit_churn_models` (the chosen supervised model is cloned and refitted on
        ``split.refit``: a stratified sample of at most ``split.max_train`` customers of the latest window).
    best_model : str
        :attr:`ChurnEvaluation.best_model`.
    X_now : pandas.DataFrame
        :func:`ecrm_lib.value.churn_data.churn_features` at ``as_of``.
    window_days : int
        The churn window (days).
    random_state : int
        Seed of the tie-breaks of the deciles (the refit sample was drawn by :func:`split_customers`).
    batch_rows : int
        Customers scored per batch.
    n_threads : int, optional
        See :func:`native_threads`.
    purchase_model : PurchaseModel, optional
        The purchase model of ``p_alive`` (and of the window probability when that was chosen);
        default BG/NBD in weeks.
    histories : pandas.DataFrame, optional
        ``frequency``, ``recency``, ``T`` at ``as_of`` in the purchase model's time unit, indexed by
        customer id; with the customer-value report's model, settings and
        :func:`ecrm_lib.value.features.rfm_summary` at ``as_of``, the fit is that report's final fit
        and ``p_alive`` is its P(alive). Default: from ``X_now``.

    Returns
    -------
    scores : pandas.DataFrame
        The ``churn_risk`` product: ``customer_id`` (str), ``churn_probability``,
        ``risk_decile`` (1 = riskiest tenth), ``model``, ``p_alive`` (the purchase model's at ``as_of``;
        NaN when it failed).
    notes : list of (key, values)
        What was skipped, as catalogue messages.
    """
    progress_step("scoring the churn risk of {n:,} customers with {model}", n=len(X_now), model=best_model)
    from sklearn.base import clone

    purchase_model = purchase_model or PurchaseModel()
    notes: list[tuple[str, dict]] = []
    p_alive_now = pd.Series(np.nan, index=X_now.index)
    hist = _histories(X_now, histories, purchase_model.time_unit)
    try:
        bg_now = purchase_model.scores(hist, window_days=window_days).reindex(pd.Index(X_now.index).astype(str))
        p_alive_now = bg_now["p_alive"]
    except ChurnDataError as exc:
        bg_now = None
        notes.append(("churn.note.purchase_fit_as_of", {"model": purchase_model.name, "why": exc.in_language}))
    if best_model in SUPERVISED_MODELS:
        ids = split.refit
        final = clone(fitted[best_model])
        with native_threads(len(ids), n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            final.fit(split.X.loc[ids], split.y.loc[ids])
        with native_threads(len(X_now), n_threads):
            prob = _predict_in_batches(final, X_now, batch_rows, columns=split.features)
    elif best_model == "bgnbd_window" and bg_now is not None:  # the purchase model refitted on the histories up to as_of
        prob = bg_now["p_no_purchase"].to_numpy()
    elif bg_now is not None:
        prob = 1.0 - bg_now["p_alive"].to_numpy()
    else:
        raise ChurnDataError(key="churn.error.no_score_as_of", values={"model": purchase_model.name})
    product = pd.DataFrame(
        {
            "customer_id": X_now.index.astype(str),
            "churn_probability": np.asarray(prob, dtype=float),
            "risk_decile": risk_deciles(prob, random_state=random_state).astype("int64"),
            "model": best_model,
            "p_alive": p_alive_now.to_numpy(dtype=float),
        }
    )
    return product, notes


def churn_metrics(split: ChurnSplit | None, evaluation: ChurnEvaluation | None, scores: pd.DataFrame | None) -> dict:
    """The churn report's non-contractual headline figures under their registry keys (None when not computed)."""
    ev = evaluation
    out = {
        "n_customers_scored": len(scores) if scores is not None else None,
        "churn_rate_validation": ev.churn_rate_validation if ev is not None else None,
    }
    for m in ALL_MODELS:
        out[f"auc_{m}"] = ev.metric(m) if ev is not None else None
    out["best_model"] = ev.best_model if ev is not None else None
    out["best_auc"] = ev.metric(ev.best_model) if ev is not None else None
    out["pr_auc_best"] = ev.metric(ev.best_model, "pr_auc") if ev is not None else None
    out["top_decile_lift"] = ev.top_decile()["lift"] if ev is not None else None
    return out



def empty_scores() -> pd.DataFrame:
    """A ``churn_risk`` product without rows (columns and dtypes as :func:`score_customers` writes them).

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



"""SEEF 3, Expansion: more customers like the targets.

Works on the per-customer table of :func:`ecrm_lib.seef.customers.customer_view`.
One function per step of the Expansion notebook:

- features: :func:`rule_columns` (columns that would make the model re-learn
  the selection rule, left out), :func:`model_measures` (every measure, used
  or left out, and why) over :func:`ecrm_lib.seef.customers.default_features`;
- look-alike model: :func:`lookalike_model`, cross-validated on a stratified
  sample of at most ``fit_size`` customers (:data:`DEFAULT_FIT_SIZE`, 200,000),
  scoring every customer in batches;
- the list: :func:`expansion_list` (ranked non-targets, the value bar of
  :mod:`ecrm_lib.seef.contact` applied);
- value: :func:`expansion_value` (top N against a random pick).

Examples
--------
>>> rule_columns({"segments": ["Champions"]})
['segment', 'r_score', 'f_score', 'm_score', 'cluster']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ecrm_lib.core.i18n import WordedError
from ecrm_lib.core.privacy import count_text
from ecrm_lib.core.progress import step as progress_step
from ecrm_lib.data.tables import isin_text
from ecrm_lib.seef.contact import below_contact_cost
from ecrm_lib.seef.customers import default_features, target_flags
from ecrm_lib.seef.scale import SCORE_BATCH_ROWS, batches, stratified_sample, thread_limit

__all__ = [
    "DEFAULT_FIT_SIZE",
    "LookalikeError",
    "LookalikeResult",
    "expansion_list",
    "expansion_value",
    "lookalike_model",
    "model_measures",
    "rule_columns",
]

#: Customers the look-alike model is cross-validated on at most (a sample stratified on target or not).
DEFAULT_FIT_SIZE = 200_000


class LookalikeError(WordedError, ValueError):
    """The look-alike model cannot be trained on these customers (no usable feature, too few targets).

    Raised with a catalogue ``key`` and its ``values``: ``str(exc)`` is the English sentence (logs) and
    :meth:`in_language` words it in the report language for a page (a callable value is called in each).

    Examples
    --------
    >>> e = LookalikeError(key="expansion.lib.no_features")
    >>> str(e)[:27]
    'no usable feature columns; '
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     e.in_language()[:15]
    '모형에 쓸 수 있는 측정값이'
    """



@dataclass
class LookalikeResult:
    """What :func:`lookalike_model` returns.

    Attributes
    ----------
    scores : DataFrame
        ``customer_id``, ``is_target``, ``score`` (probability of looking
        like a target, 0-1, from a model that never saw the customer) and
        ``rank`` among non-targets (1 = most alike; NA for targets), sorted
        by score.
    folds : DataFrame
        ``fold``, ``n_train``, ``n_test``, ``targets_test``, ``auc``.
    auc_mean, auc_sd : float
        Mean and standard deviation of the fold AUCs.
    features : list of str
    model : str
    n_fit : int
        Customers in the cross-validation sample (all customers when there
        are no more than ``fit_size``).
    """

    scores: pd.DataFrame
    folds: pd.DataFrame
    auc_mean: float
    auc_sd: float
    features: list[str]
    model: str
    n_fit: int = 0


def _estimator(model: str, random_state: int):
    if model == "logistic":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    if model == "gbm":
        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, random_state=random_state)
    raise ValueError(f'model must be "logistic" or "gbm", but {model!r} was passed.')


def lookalike_model(
    customers: pd.DataFrame,
    selected,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    model: str = "logistic",
    n_splits: int = 5,
    random_state: int = 0,
    id_col: str = "customer_id",
    fit_size: int = DEFAULT_FIT_SIZE,
    batch_size: int = SCORE_BATCH_ROWS,
    n_threads: int | None = None,
) -> LookalikeResult:
    """Look-alike model: targets vs the rest, cross-validated, scoring every customer.

    The model is fitted on a sample of at most ``fit_size`` customers,
    stratified on target or not (:func:`ecrm_lib.seef.scale.stratified_sample`;
    every customer when there are no more). A stratified ``n_splits``-fold
    split of the sample (shuffled, seeded) trains the model on all folds but
    one and scores the held-out fold, so each sampled customer's score comes
    from a model that never saw them (a non-target is not scored by a model
    that learnt it as a negative). Customers outside the sample, which no
    fold model saw, get the mean of the ``n_splits`` fold models'
    probabilities, computed in batches of ``batch_size``. The fold AUCs
    measure how well targets can be told apart; about 0.5 means they look
    like everyone else. Features that define the selection rule (e.g.
    ``clv`` for a CLV tier) make the model reproduce the rule: list them in
    ``exclude`` (see :func:`rule_columns`) to find customers who resemble
    the targets in other ways.

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    selected : bool array, collection of ids, or DataFrame of :func:`ecrm_lib.seef.rule.select_targets`
    features : sequence of str, optional
        Default :func:`ecrm_lib.seef.customers.default_features` (no ids or contact data).
    exclude : sequence of str
        Columns to leave out of the default features.
    model : {"logistic", "gbm"}
        Logistic regression (median-imputed, standardised) or histogram
        gradient boosting.
    n_splits : int
        Folds (at least 2; at most the number of targets or non-targets in the sample).
    random_state : int
        Seed of the sample, the split and the model.
    fit_size : int
        Largest cross-validation sample (customers).
    batch_size : int
        Customers scored at a time outside the sample.
    n_threads : int, optional
        Native threads of the fits (:func:`ecrm_lib.seef.scale.model_threads`).

    Returns
    -------
    LookalikeResult
    """
    progress_step("look-alike model ({model}, {folds}-fold) on {n:,} customers", model=model, folds=n_splits, n=len(customers))
    y_all = target_flags(customers, selected, id_col).astype(int)
    feats = list(features) if features is not None else default_features(customers, id_col=id_col, exclude=exclude)
    if not feats:
        raise LookalikeError(key="expansion.lib.no_features")
    bad = [f for f in feats if f == id_col or f not in customers]
    if bad:
        raise ValueError(f"features {bad} are the id or not in the table; use behaviour columns only.")
    fit = stratified_sample(y_all, fit_size, random_state)
    y = y_all[fit]
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < n_splits or n_splits < 2:
        raise LookalikeError(key="expansion.lib.too_few", values={"k": n_splits, "targets": lambda: count_text(n_pos),
                                                                   "others": lambda: count_text(n_neg)})
    table = customers[feats]
    X = table.iloc[fit].astype(float).to_numpy()
    score = np.full(len(y_all), np.nan)
    oof = np.full(len(y), np.nan)
    rows, models = [], []
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with thread_limit(len(fit), n_threads):
        for i, (tr, te) in enumerate(skf.split(X, y), start=1):
            est = _estimator(model, random_state).fit(X[tr], y[tr])
            p = est.predict_proba(X[te])[:, 1]
            oof[te] = p
            models.append(est)
            rows.append({"fold": i, "n_train": len(tr), "n_test": len(te), "targets_test": int(y[te].sum()),
                         "auc": float(roc_auc_score(y[te], p))})
        score[fit] = oof
        rest = np.setdiff1d(np.arange(len(y_all)), fit)
        for sl in batches(len(rest), batch_size):
            pos = rest[sl]
            Xb = table.iloc[pos].astype(float).to_numpy()
            score[pos] = np.mean([m.predict_proba(Xb)[:, 1] for m in models], axis=0)
    folds = pd.DataFrame(rows)
    scores = pd.DataFrame({"customer_id": customers[id_col].to_numpy(), "is_target": y_all.astype(bool), "score": score})
    scores = scores.sort_values(["is_target", "score", "customer_id"], ascending=[True, False, True], kind="stable")
    nt = ~scores["is_target"]
    scores["rank"] = pd.array([pd.NA] * len(scores), dtype="Int64")
    scores.loc[nt, "rank"] = np.arange(1, int(nt.sum()) + 1)
    scores = scores.sort_values(["score", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return LookalikeResult(scores, folds, float(folds["auc"].mean()), float(folds["auc"].std(ddof=1)), feats, model,
                           int(len(fit)))


def expansion_value(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    top_n: int | Sequence[int],
    *,
    id_col: str = "customer_id",
    clv_col: str = "clv",
    low_col: str = "clv_low",
    high_col: str = "clv_high",
    exclude=None,
) -> pd.DataFrame:
    """Expected value of adding the top-N look-alike customers to the targets.

    The value is the sum of their CLV (currency). When ``clv_low`` and
    ``clv_high`` exist, ``value_low`` / ``value_high`` are the sums of the
    per-customer bounds: a conservative (wide) interval, since per-customer
    errors partly cancel in a sum.

    Parameters
    ----------
    scores : DataFrame
        ``LookalikeResult.scores`` (non-targets ranked by ``rank``).
    top_n : int or sequence of int
        How many to add (one row per N; capped at the number of non-targets
        that may be added).
    exclude : collection of ids, optional
        Non-targets that may not be added, e.g. those below the value bar
        (``below_contact_cost`` of :func:`expansion_list`): the top N and the
        random baseline are both drawn from the others.

    Returns
    -------
    DataFrame
        ``top_n``, ``added`` (customers actually added), ``value``,
        ``value_low``, ``value_high`` (currency; NaN without the bounds),
        ``value_random`` (the expected value of adding as many non-targets
        picked at random: ``added`` times their mean CLV, currency; the
        baseline the model has to beat), ``mean_score``, ``min_score``.
    """
    ranked = scores.loc[scores["rank"].notna()].sort_values("rank")
    if exclude is not None:
        ranked = ranked.loc[~isin_text(ranked["customer_id"], list(exclude) if isinstance(exclude, (set, frozenset)) else exclude)]
    # each ranked customer's row of the customer table (its first row; -1: not in it), read as arrays rather than merged
    ids = customers[id_col].astype("string")
    first = np.flatnonzero(~ids.duplicated().to_numpy())
    at = pd.Index(ids.array[first]).get_indexer(ranked["customer_id"].astype("string").array)
    known = at >= 0
    rows = first[at[known]]

    def amounts(col):  # per ranked customer, 0 where missing (as a sum of missing values counts nothing)
        if col not in customers:
            return None
        v = np.zeros(len(at))
        v[known] = customers[col].astype(float).to_numpy()[rows]
        return np.nan_to_num(v, nan=0.0)

    clv, low, high = amounts(clv_col), amounts(low_col), amounts(high_col)
    score = ranked["score"].to_numpy(float)
    ns = [top_n] if isinstance(top_n, (int, np.integer)) else list(top_n)
    mean_clv = float(clv.mean()) if len(at) else np.nan
    rows = []
    for n in ns:
        if n < 0:
            raise ValueError(f"top_n must be >= 0, but {n} was passed.")
        k = min(int(n), len(at))
        rows.append({
            "top_n": int(n), "added": k,
            "value": float(clv[:k].sum()),
            "value_low": float(low[:k].sum()) if low is not None else np.nan,
            "value_high": float(high[:k].sum()) if high is not None else np.nan,
            "value_random": k * mean_clv,
            "mean_score": float(score[:k].mean()) if k else np.nan,
            "min_score": float(score[:k].min()) if k else np.nan,
        })
    return pd.DataFrame(rows)




_RULE_COLUMNS: dict[str, tuple[str, ...]] = {
    "clv_tier_min": ("clv", "clv_low", "clv_high", "expected_purchases"),
    "clv_min": ("clv", "clv_low", "clv_high", "expected_purchases"),
    "churn_probability_min": ("churn_probability", "risk_decile", "p_alive"),
    "churn_decile_max": ("churn_probability", "risk_decile", "p_alive"),
    "segments": ("segment", "r_score", "f_score", "m_score"),
    "clusters": ("cluster", "cluster_name"),
    "segment_weights": ("segment",),
}


def rule_columns(rule: Mapping | None) -> list[str]:
    """Columns that define a selection rule, and those that carry the same information.

    A look-alike model given these columns re-learns the rule instead of
    finding customers who resemble the targets in their behaviour: leave them
    out (``lookalike_model(..., exclude=rule_columns(rule))``). ``clv`` brings
    its interval bounds and the model output it is computed from
    (``expected_purchases``; the purchase history itself stays),
    ``churn_probability`` its risk decile and ``p_alive``, named segments
    their RFM scores; ``cluster`` is always listed (a label, not a quantity).

    Examples
    --------
    >>> rule_columns({"clv_tier_min": "top30", "churn_decile_max": 5, "combine": "any"})
    ['clv', 'clv_low', 'clv_high', 'expected_purchases', 'churn_probability', 'risk_decile', 'p_alive', 'cluster']
    """
    out: list[str] = []
    for key in (rule or {}):
        for c in _RULE_COLUMNS.get(key, ()):
            if c not in out:
                out.append(c)
    if "cluster" not in out:
        out.append("cluster")
    return out




#: Rule used for the features when the run has no selection rule: CLV and churn risk are left out.
FALLBACK_RULE = {"clv_min": 0, "churn_probability_min": 0}


def model_measures(customers: pd.DataFrame, rule: Mapping | None, exclude_features: Sequence[str] = (), *,
                   id_col: str = "customer_id") -> pd.DataFrame:
    """The measures of the customer table, each used by the look-alike model or left out, and why.

    Left out: the rule's own columns (:func:`rule_columns`; without a rule
    those of :data:`FALLBACK_RULE`, CLV and churn risk) and the columns of
    ``exclude_features``, when the table has them; used: the other
    :func:`ecrm_lib.seef.customers.default_features`.

    Returns
    -------
    DataFrame
        ``measure`` (column name) and ``status``: ``"used"``, ``"left_rule"``
        (defines the selection) or ``"left_param"`` (named by
        ``exclude_features``); used measures first, in table order.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "clv": [1.0], "frequency": [2], "recency": [3.0], "segment": ["x"]})
    >>> model_measures(c, {"clv_min": 0}, ["recency"]).to_numpy().tolist()
    [['frequency', 'used'], ['clv', 'left_rule'], ['recency', 'left_param']]
    """
    rule_cols = rule_columns(rule if rule else FALLBACK_RULE)
    left = {c: "left_rule" for c in rule_cols if c in customers}
    for c in exclude_features:
        if c in customers and c not in left:
            left[c] = "left_param"
    used = default_features(customers, id_col=id_col, exclude=list(left))
    rows = [(c, "used") for c in used] + list(left.items())
    return pd.DataFrame(rows, columns=["measure", "status"])


def expansion_list(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    n_expand: int,
    plan: pd.DataFrame | None = None,
    *,
    id_col: str = "customer_id",
    min_value_over_contact_cost: float | None = None,
) -> pd.DataFrame:
    """The ranked look-alike list: every scored non-target with its CLV and channels, the first ``n_expand`` flagged.

    With a value bar (``min_value_over_contact_cost``, from the selection
    rule through :func:`ecrm_lib.seef.contact.value_bar`) a look-alike whose CLV is below the bar
    times the cost of one contact through their cheapest channel is flagged
    ``below_contact_cost`` and never expanded: the proposal is the first
    ``n_expand`` look-alikes at or above the bar (unknown CLV or cost does
    not hold a customer back). The ranks stay those of the model.

    Parameters
    ----------
    scores : DataFrame
        ``LookalikeResult.scores``.
    customers : DataFrame
        With ``clv``, ``clv_low``, ``clv_high`` (currency).
    n_expand : int
        Size of the proposed expansion (customers).
    plan : DataFrame, optional
        :func:`ecrm_lib.seef.contact.contact_plan` output; without it the channel columns are empty.
    min_value_over_contact_cost : float, optional
        The value bar in contacts; None: no bar. Needs ``plan``.

    Returns
    -------
    DataFrame
        ``customer_id``, ``rank``, ``score``, ``expanded`` (among the first
        ``n_expand`` look-alikes not below the bar), ``below_contact_cost``,
        ``clv``, ``clv_low``, ``clv_high``, ``cheapest_channel``,
        ``cheapest_cost`` (currency per contact), ``typical_channel``; by rank.

    Raises
    ------
    ValueError
        A value bar without a ``plan`` (the contact cost is unknown).

    Examples
    --------
    >>> sc = pd.DataFrame({"customer_id": ["t", "b", "a"], "is_target": [True, False, False],
    ...                    "score": [0.9, 0.7, 0.4], "rank": pd.array([pd.NA, 1, 2], dtype="Int64")})
    >>> cu = pd.DataFrame({"customer_id": ["a", "b", "t"], "clv": [1.0, 2.0, 3.0], "clv_low": 0.0, "clv_high": 9.0})
    >>> expansion_list(sc, cu, 1)[["customer_id", "rank", "expanded", "clv"]].to_numpy().tolist()
    [['b', 1, True, 2.0], ['a', 2, False, 1.0]]
    >>> plan = pd.DataFrame({"customer_id": ["a", "b"], "cheapest_channel": ["app", "store"], "cheapest_cost": [0.5, 9.0],
    ...                      "typical_channel": ["app", "store"]})
    >>> expansion_list(sc, cu, 1, plan, min_value_over_contact_cost=1.0)[["customer_id", "expanded", "below_contact_cost"]].to_numpy().tolist()
    [['b', False, True], ['a', True, False]]
    """
    if min_value_over_contact_cost is not None and plan is None:
        raise ValueError("a value bar needs the contact plan (contact_plan with the channel costs): without it the cost of a contact is unknown.")
    ranked = scores.loc[scores["rank"].notna()].sort_values("rank")
    cols = [c for c in (id_col, "clv", "clv_low", "clv_high") if c in customers]
    lst = ranked.merge(customers[cols].rename(columns={id_col: "customer_id"}), on="customer_id", how="left")
    for c in ("clv", "clv_low", "clv_high"):
        if c not in lst:
            lst[c] = np.nan
    if plan is not None:
        lst = lst.merge(plan[["customer_id", "cheapest_channel", "cheapest_cost", "typical_channel"]], on="customer_id", how="left")
    else:
        lst = lst.assign(cheapest_channel=pd.NA, cheapest_cost=np.nan, typical_channel=pd.NA)
    lst = lst.reset_index(drop=True)
    below = below_contact_cost(lst["clv"].to_numpy(), lst["cheapest_cost"].to_numpy(), min_value_over_contact_cost)
    eligible = ~below
    lst["expanded"] = eligible & (np.cumsum(eligible) <= int(n_expand))
    lst["below_contact_cost"] = below
    return lst[["customer_id", "rank", "score", "expanded", "below_contact_cost", "clv", "clv_low", "clv_high",
                "cheapest_channel", "cheapest_cost", "typical_channel"]]



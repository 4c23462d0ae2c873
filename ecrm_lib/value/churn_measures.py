"""Churn scores: the models' names and how scores are measured on held-out customers and against a known truth.

Measures (each on labels ``y`` with 1 = churned and scores where higher means
riskier): ROC-AUC, PR-AUC and the Brier score (:func:`evaluate_scores`), ROC
points, lift and gains by risk decile, calibration by quantile bin, and the
drivers by permutation importance. :func:`choose_model` picks the model to
score with. :func:`truth_status` and :func:`truth_check` set the scores of
generated data against the generator's truth (who really dropped out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.data.tables import as_table
from ecrm_lib.value.churn_data import FEATURE_LABELS, ChurnDataError

__all__ = [
    "ALL_MODELS",
    "BTYD_MODELS",
    "CANDIDATE_MODELS",
    "MODEL_LABELS",
    "SUPERVISED_MODELS",
    "calibration_table",
    "choose_model",
    "evaluate_scores",
    "lift_by_decile",
    "model_label",
    "labelled",
    "permutation_auc_drops",
    "permutation_drivers",
    "risk_deciles",
    "roc_curve_table",
    "truth_check",
    "truth_status",
]

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

_N_GROUPS = 10


def model_label(model: str, purchase: str = "BG/NBD") -> str:
    """A churn model's name in the report language; ``purchase`` names the purchase model of the
    ``p_alive`` and ``bgnbd_window`` scores (BG/NBD, Pareto/NBD or MBG/NBD).

    >>> from ecrm_lib.core.language import using
    >>> model_label("bgnbd_window", "Pareto/NBD")
    'Pareto/NBD: P(no purchase in window)'
    >>> with using("ko"):
    ...     model_label("logistic")
    '로지스틱 회귀'
    """
    return t_or(f"churn.model.{model}", MODEL_LABELS.get(model, model), m=purchase)


def labelled(df: pd.DataFrame, purchase: str = "BG/NBD") -> pd.DataFrame:
    """A copy of a table with a ``model`` column whose ``label`` column is :func:`model_label` in the report
    language, and whose ``label`` of a suite feature (the drivers' ``feature`` column) is its catalogue name."""
    out = df.copy()
    if "feature" in out.columns:
        out["label"] = [t_or(f"churn.feature.{f}", lab) for f, lab in zip(out["feature"], out["label"])]
    elif "model" in out.columns:
        out["label"] = [model_label(m, purchase) for m in out["model"]]
    return out


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


def _positive_scores(model, X: pd.DataFrame) -> np.ndarray:
    """What scikit-learn's ``roc_auc`` scorer ranks: ``decision_function`` where the model has one, else the
    probability of class 1."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float)
    return np.asarray(model.predict_proba(X), dtype=float)[:, 1]


def permutation_auc_drops(model, X: pd.DataFrame, y: np.ndarray, *, n_repeats: int = 10,
                          random_state: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC points lost when each feature is shuffled: mean and standard deviation over ``n_repeats`` shuffles.

    The same shuffles and figures as ``sklearn.inspection.permutation_importance(model, X, y, scoring="roc_auc",
    n_repeats=n_repeats, random_state=random_state)`` (one seed drawn from ``random_state`` for every feature, each
    shuffle applied to the previous one), but each feature's shuffled copies are scored in one call on the copies
    stacked (rows are scored independently) instead of one call per shuffle: on the default data's 900 held-out
    customers 19 calls per model instead of 190, where each call's fixed cost dominated (8 s against about 1.5 s).

    Returns
    -------
    (ndarray, ndarray)
        Per column of ``X``: the mean and the standard deviation (``np.std``) of the AUC drop.
    """
    from sklearn.metrics import roc_auc_score

    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    y = np.asarray(y)
    n = len(X)
    baseline = roc_auc_score(y, _positive_scores(model, X))
    drops = np.empty((X.shape[1], n_repeats))
    stacked = pd.concat([X] * n_repeats, ignore_index=True)
    for j, col in enumerate(X.columns):
        rng, order, position = np.random.RandomState(seed), np.arange(n), np.arange(n)
        positions = []
        for _ in range(n_repeats):
            rng.shuffle(order)
            position = position[order]
            positions.append(position)
        original = stacked[col]
        stacked[col] = X[col].iloc[np.concatenate(positions)].reset_index(drop=True)  # its dtype kept
        scores = _positive_scores(model, stacked).reshape(n_repeats, n)
        stacked[col] = original
        drops[j] = baseline - np.array([roc_auc_score(y, scores[r]) for r in range(n_repeats)])
    return drops.mean(axis=1), drops.std(axis=1)


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
    labels = FEATURE_LABELS if labels is None else labels
    parts = []
    for name, model in models.items():
        mean, std = permutation_auc_drops(model, X, np.asarray(y).astype(int), n_repeats=n_repeats, random_state=random_state)
        parts.append(
            pd.DataFrame(
                {
                    "model": name,
                    "feature": list(X.columns),
                    "label": [labels.get(c, c) for c in X.columns],
                    "importance_mean": mean,
                    "importance_std": std,
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
    raise ChurnDataError(key="churn.error.no_model", values={"models": ", ".join(ALL_MODELS)})


# --------------------------------------------------------------------------- truth (synthetic data only)


def truth_status(persons, latents, account_map=None) -> pd.DataFrame | None:
    """Whether each customer's person is truly dead at the end, from a synthetic dataset's truth, computed in the engine.

    The tables are per account (tens of millions of rows at scale): they are
    joined and counted in the engine, and only the per-customer result comes
    into pandas.

    Parameters
    ----------
    persons : ibis.Table, pandas.DataFrame or None
        The truth's ``persons.csv`` (``account_id``, ``person_id``), e.g.
        ``ctx.truth_table("persons.csv")``.
    latents : ibis.Table, pandas.DataFrame or None
        The truth's ``person_latents.csv`` (``person_id``, ``alive_at_end``).
    account_map : ibis.Table or pandas.DataFrame, optional
        ``account_id`` -> ``customer_id`` from identity resolution; without it
        each account is its own customer.

    Returns
    -------
    pandas.DataFrame or None
        ``customer_id``, ``person_id`` (the person holding most of the
        customer's accounts; ties: the first in id order) and ``dead`` (int
        0/1: the person dropped out before the end), sorted by customer. None
        when either truth table is missing.
    """
    import ibis

    if persons is None or latents is None:
        return None
    text = lambda col: col.cast("string")  # noqa: E731 - ids compare as text whatever the reader made of them
    p = as_table(persons, "persons")
    p = p.select(account_id=text(p.account_id), person_id=text(p.person_id))
    if account_map is not None:
        m = as_table(account_map, "account_map")
        m = m.select(_acc=text(m.account_id), _cid=text(m.customer_id))
        p = p.left_join(m, p.account_id == m._acc).select(
            customer_id=ibis.coalesce(m._cid, p.account_id), person_id=p.person_id)
    else:
        p = p.select(customer_id=p.account_id, person_id=p.person_id)
    counts = p.group_by(["customer_id", "person_id"]).aggregate(k=p.count())
    first = ibis.row_number().over(group_by=counts.customer_id, order_by=[counts.k.desc(), counts.person_id])
    top = counts.mutate(_rank=first).filter(lambda r: r._rank == 0)
    lat = as_table(latents, "person_latents")
    flag = lat.alive_at_end
    # 0/1 or true/false as the reader typed them; text (a truth file read as text) as a number where it is one
    typed = flag.type().is_numeric() or flag.type().is_boolean()
    alive = flag.cast("float64") if typed else flag.cast("string").try_cast("float64")
    lat = lat.select(_pid=text(lat.person_id), alive=alive)
    out = top.left_join(lat, top.person_id == lat._pid).select(
        top.customer_id, top.person_id, dead=(lat.alive == 0).fill_null(False).cast("int64"))
    df = out.order_by("customer_id").to_pyarrow().to_pandas()
    return df.astype({"customer_id": str, "person_id": str}).reset_index(drop=True)


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

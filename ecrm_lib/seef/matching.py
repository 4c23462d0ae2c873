"""The loop, steps 3 and 4: earlier targets matched to comparable non-targets, and their outcomes compared.

- :func:`match_comparable` - each earlier target gets its nearest earlier
  non-targets on the earlier run's purchase history (frequency, recency, age,
  spend, churn probability), within a caliper; targets without a close
  non-target are counted and left out.
- :func:`compare_outcomes` - targets minus their matched non-targets (effect on
  the targets), with a bootstrap interval over targets.

The other steps are in :mod:`ecrm_lib.seef.loop`.

Examples
--------
>>> e = pd.DataFrame({"earlier_customer_id": ["t1", "c1", "c2"], "selected": [True, False, False],
...                   "frequency": [3.0, 3.0, 9.0]})
>>> match_comparable(e, features=["frequency"]).pairs[["target", "control"]].to_numpy().tolist()
[['t1', 'c1']]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

__all__ = ["MATCH_FEATURES", "OUTCOMES", "MatchResult", "compare_outcomes", "match_comparable"]

#: Earlier-run columns the matching uses when present (purchase history and risk).
MATCH_FEATURES: tuple[str, ...] = ("frequency", "recency", "T", "monetary_value", "churn_probability")
#: Outcome columns of :func:`ecrm_lib.seef.loop.outcomes_since` that are compared, and their units.
OUTCOMES: dict[str, str] = {
    "purchased": "bought at least once since the earlier run (share 0-1)",
    "purchases": "purchases since the earlier run (purchases per customer)",
    "revenue": "spend since the earlier run (currency per customer)",
}
_SKEWED = {"frequency", "monetary_value", "recency", "T"}


@dataclass
class MatchResult:
    """What :func:`match_comparable` returns.

    Attributes
    ----------
    pairs : DataFrame
        ``target``, ``control`` (ids, one row per target-control pair),
        ``distance`` (root-mean-square standardised difference), ``weight``
        (1 / number of controls of that target).
    balance : DataFrame
        Per feature: ``mean_targets`` (matched targets), ``mean_non_targets``
        (all), ``mean_matched`` (controls, weighted), in the feature's units;
        ``std_diff_before`` (all targets vs all non-targets) and ``std_diff_after``
        (matched targets vs their controls): standardised differences on the
        matching scale (log for counts, ages and money); |d| < 0.1 is good balance.
    n_targets, n_matched, n_unmatched : int
        Targets, targets with at least one control within the caliper, and without.
    features : list of str
    caliper : float
    """

    pairs: pd.DataFrame
    balance: pd.DataFrame
    n_targets: int
    n_matched: int
    n_unmatched: int
    features: list[str]
    caliper: float


def _transformed(df: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Features on the matching scale: log(1 + x) for counts, ages and money; missing values at the median."""
    cols = []
    for f in features:
        x = df[f].astype(float).to_numpy()
        if f in _SKEWED and len(x) and np.nanmin(x) >= 0:
            x = np.log1p(x)
        cols.append(x)
    X = np.column_stack(cols) if cols else np.empty((len(df), 0))
    med = np.nanmedian(X, axis=0) if len(X) else np.zeros(X.shape[1])
    return np.where(np.isnan(X), med, X)


def _std_diff(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None = None) -> float:
    if len(a) == 0 or len(b) == 0:
        return math.nan
    wb = np.ones(len(b)) if wb is None else wb
    mb = np.average(b, weights=wb)
    vb = np.average((b - mb) ** 2, weights=wb)
    pooled = math.sqrt((a.var() + vb) / 2)
    return float((a.mean() - mb) / pooled) if pooled > 0 else 0.0


def match_comparable(
    earlier: pd.DataFrame,
    *,
    target_col: str = "selected",
    id_col: str = "earlier_customer_id",
    features: Sequence[str] | None = None,
    n_neighbors: int = 3,
    caliper: float = 0.25,
) -> MatchResult:
    """Match each target to its nearest non-targets on the earlier run's customer history.

    Features are log(1 + x) for counts, ages and money, then divided by their
    standard deviation among the targets; the distance is the root-mean-square
    difference over the features (target standard deviations). Each target keeps its ``n_neighbors``
    nearest non-targets whose distance is at most ``caliper`` (matching with
    replacement: a non-target may serve several targets). Targets with none
    are unmatched: counted, and left out of :func:`compare_outcomes`.

    Parameters
    ----------
    earlier : DataFrame
        One row per earlier customer with ``id_col``, ``target_col`` (bool) and the features.
    features : sequence of str, optional
        Default: the columns of :data:`MATCH_FEATURES` present in ``earlier``.
    n_neighbors : int
        Controls per target (at most).
    caliper : float
        Largest distance accepted (standard deviations).

    Returns
    -------
    MatchResult
    """
    feats = list(features) if features is not None else [f for f in MATCH_FEATURES if f in earlier]
    if not feats:
        raise ValueError(f"no matching features: give features= (columns of the earlier table: {list(earlier.columns)}).")
    missing = [f for f in feats if f not in earlier]
    if missing:
        raise ValueError(f"matching features {missing} are not columns of the earlier table.")
    if n_neighbors < 1 or not caliper > 0:
        raise ValueError(f"n_neighbors must be >= 1 and caliper > 0; got {n_neighbors} and {caliper}.")
    Z = _transformed(earlier, feats)
    t = earlier[target_col].fillna(False).astype(bool).to_numpy()
    ids = earlier[id_col].astype("string").to_numpy()
    ti, ci = np.flatnonzero(t), np.flatnonzero(~t)
    # scale by the targets' spread: the question is how far a non-target is from a target, and the
    # non-targets' spread (e.g. the many one-time buyers with spend 0) would make big gaps look small
    sd = Z[ti].std(axis=0) if len(ti) > 1 else np.zeros(Z.shape[1])
    sd_all = Z.std(axis=0)
    X = Z / np.where(sd > 0, sd, np.where(sd_all > 0, sd_all, 1.0))
    rows: list[tuple] = []
    if len(ti) and len(ci):
        nn = NearestNeighbors(n_neighbors=min(n_neighbors, len(ci))).fit(X[ci])
        dist, idx = nn.kneighbors(X[ti])
        dist = dist / math.sqrt(X.shape[1])
        for k, tpos in enumerate(ti):
            ok = dist[k] <= caliper
            m = int(ok.sum())
            for d, j in zip(dist[k][ok], idx[k][ok]):
                rows.append((ids[tpos], ids[ci[j]], float(d), 1.0 / m))
    pairs = pd.DataFrame(rows, columns=["target", "control", "distance", "weight"])
    matched_t = set(pairs["target"])
    mt = np.isin(ids, list(matched_t)) & t
    ctrl_w = pairs.groupby("control")["weight"].sum() if len(pairs) else pd.Series(dtype=float)
    pos = pd.Series(np.arange(len(ids)), index=ids)
    cpos = pos.loc[ctrl_w.index].to_numpy() if len(ctrl_w) else np.array([], dtype=int)
    wm = ctrl_w.to_numpy()
    bal = []
    for k, f in enumerate(feats):
        x = earlier[f].astype(float).to_numpy()
        z = Z[:, k]
        xm = x[cpos]
        keep = ~np.isnan(xm)
        bal.append({"feature": f,
                    "mean_targets": float(np.nanmean(x[mt])) if mt.any() else math.nan,
                    "mean_non_targets": float(np.nanmean(x[~t])) if (~t).any() else math.nan,
                    "mean_matched": float(np.average(xm[keep], weights=wm[keep])) if keep.any() else math.nan,
                    "std_diff_before": _std_diff(z[t], z[~t]),
                    "std_diff_after": _std_diff(z[mt], z[cpos], wm) if len(cpos) else math.nan})
    return MatchResult(pairs, pd.DataFrame(bal), int(t.sum()), len(matched_t), int(t.sum()) - len(matched_t),
                       feats, float(caliper))


# ------------------------------------------------------------------ 4. comparison
def compare_outcomes(
    followed: pd.DataFrame,
    match: MatchResult,
    outcomes: Sequence[str] = tuple(OUTCOMES),
    *,
    id_col: str = "earlier_customer_id",
    level: float = 0.95,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Targets against their matched non-targets: the difference in each outcome.

    For every matched target, its outcome minus the mean outcome of its
    controls; the estimate is the mean over targets (the effect on the
    targets), with a percentile bootstrap interval that resamples targets
    (the controls' own sampling error is not added, so the interval is a
    little narrow).

    Parameters
    ----------
    followed : DataFrame
        One row per earlier customer with ``id_col`` and the outcome columns.
    match : MatchResult
    outcomes : sequence of str
    level : float
        Interval level (0-1).
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    DataFrame
        Per outcome: ``outcome``, ``targets`` (mean over matched targets),
        ``matched_non_targets`` (mean of their controls), ``difference``,
        ``ci_low``, ``ci_high``, ``n_targets`` (matched targets).

    Examples
    --------
    >>> m = MatchResult(pd.DataFrame({"target": ["t1", "t2"], "control": ["c1", "c2"], "distance": 0.0,
    ...                               "weight": 1.0}), pd.DataFrame(), 2, 2, 0, [], 0.25)
    >>> f = pd.DataFrame({"earlier_customer_id": ["t1", "t2", "c1", "c2"], "purchases": [3, 1, 1, 1]})
    >>> compare_outcomes(f, m, ["purchases"], n_boot=0)[["targets", "matched_non_targets", "difference"]].to_numpy().tolist()
    [[2.0, 1.0, 1.0]]
    """
    cols = ["outcome", "targets", "matched_non_targets", "difference", "ci_low", "ci_high", "n_targets"]
    p = match.pairs
    if not len(p):
        return pd.DataFrame([{"outcome": o, "n_targets": 0} for o in outcomes], columns=cols)
    vals = followed.drop_duplicates(id_col).set_index(followed.drop_duplicates(id_col)[id_col].astype("string"))
    rng = np.random.default_rng(random_state)
    targets = p["target"].drop_duplicates().to_numpy()
    rows = []
    for o in outcomes:
        y = vals[o].astype(float)
        ctrl_mean = (p.assign(y=y.reindex(p["control"]).to_numpy() * p["weight"].to_numpy())
                     .groupby("target", sort=False)["y"].sum().reindex(targets).to_numpy())
        yt = y.reindex(targets).to_numpy()
        diff = yt - ctrl_mean
        lo = hi = math.nan
        if n_boot > 0 and len(diff) > 1:
            draws = rng.integers(0, len(diff), size=(n_boot, len(diff)))
            boot = diff[draws].mean(axis=1)
            lo, hi = np.quantile(boot, [(1 - level) / 2, 1 - (1 - level) / 2])
        rows.append({"outcome": o, "targets": float(yt.mean()), "matched_non_targets": float(ctrl_mean.mean()),
                     "difference": float(diff.mean()), "ci_low": float(lo), "ci_high": float(hi),
                     "n_targets": int(len(diff))})
    return pd.DataFrame(rows, columns=cols)

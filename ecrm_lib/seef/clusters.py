"""Customer clusters: k-means on transformed behaviour features, k chosen by a rule, each cluster profiled and named.

RFM segments (:mod:`ecrm_lib.seef.rfm`) follow fixed rules; clusters let the
data show which customers behave alike. One function per step of the
Selection notebook: :func:`default_cluster_features`,
:func:`transform_features` (missing values to the median, skewed columns
log-transformed, standardised), :func:`choose_k` (the smallest k whose
silhouette is within a tolerance of the best; the elbow as a cross-check),
:func:`fit_clusters`, :func:`profile_clusters` and :func:`name_clusters`
(plain words from the features that set a cluster apart);
:func:`cluster_customers` runs them all.

At scale k is chosen and k-means fitted on a sample of at most
:data:`DEFAULT_FIT_SIZE` customers (stratified, e.g. on the RFM segment,
:func:`ecrm_lib.seef.scale.stratified_sample`), and every customer is then
assigned to the nearest centre in batches; with no more customers than that,
every customer is in the fit, as without sampling.

Examples
--------
>>> c = pd.DataFrame({"customer_id": list("abcdef"), "spend": [1.0, 1.2, 0.9, 9.0, 9.5, 8.8]})
>>> r = cluster_customers(c, ["spend"], k=2)
>>> r.assignments["cluster_name"].tolist()
['low spend', 'low spend', 'low spend', 'high spend', 'high spend', 'high spend']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from ecrm_lib.core import i18n
from ecrm_lib.core.privacy import count_text
from ecrm_lib.core.progress import step as progress_step
from ecrm_lib.seef.scale import SCORE_BATCH_ROWS, batches, stratified_sample, thread_limit

__all__ = [
    "DEFAULT_FIT_SIZE",
    "FEATURE_WORDS",
    "ClusterResult",
    "choose_k",
    "cluster_assignments",
    "cluster_customers",
    "default_cluster_features",
    "feature_label",
    "fit_clusters",
    "name_clusters",
    "profile_clusters",
    "transform_features",
]

#: Customers k-means is fitted on at most (a stratified sample); everyone is then assigned in batches.
DEFAULT_FIT_SIZE = 50_000


# Plain words for a feature that is clearly above / below the average of all
# customers. Features not listed get "high <name>" / "low <name>".
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "clv": ("high value", "low value"),
    "clv_low": ("high value", "low value"),
    "clv_high": ("high value", "low value"),
    "monetary_value": ("big spenders", "small spenders"),
    "total_spend": ("big spenders", "small spenders"),
    "frequency": ("frequent buyers", "rare buyers"),
    "n_purchases": ("frequent buyers", "rare buyers"),
    "recency": ("long history", "short history"),
    "recency_gap": ("lapsed", "recently active"),
    "n_purchase_days": ("frequent buyers", "rare buyers"),
    "spend_per_purchase_day": ("big baskets", "small baskets"),
    "online_share": ("online-first", "offline-first"),
    "T": ("long-standing", "newly acquired"),
    "p_alive": ("likely active", "likely gone"),
    "expected_purchases": ("many purchases expected", "few purchases expected"),
    "churn_probability": ("churn risk", "low churn risk"),
    "cost_to_serve": ("costly to serve", "cheap to serve"),
    "n_contacts": ("often in contact", "rarely in contact"),
    "n_channels": ("multichannel", "single-channel"),
    "n_accounts": ("several accounts", "one account"),
    "offhours_share": ("off-hours contacts", "office-hours contacts"),
    "internet_only": ("internet-only", "also offline"),
}




def transform_features(
    customers: pd.DataFrame,
    features: Sequence[str],
    *,
    log_features: Sequence[str] | None = None,
    skew_threshold: float = 1.0,
) -> tuple[pd.DataFrame, list[str]]:
    """Features ready for k-means: missing -> median, log1p for skewed, standardised.

    Parameters
    ----------
    customers : DataFrame
        One row per customer.
    features : sequence of str
        Numeric or boolean columns to use.
    log_features : sequence of str, optional
        Columns to log1p-transform. Default: every column with no negative
        value whose skewness is above ``skew_threshold`` (counts and money).
    skew_threshold : float
        Skewness above which a non-negative column is log-transformed.

    Returns
    -------
    (DataFrame, list of str)
        The standardised features (mean 0, standard deviation 1; constant
        columns become 0) and the columns that were log-transformed.
    """
    missing = [c for c in features if c not in customers]
    if missing:
        raise ValueError(f"feature column(s) {missing} not in the table; it has {list(customers.columns)}.")
    X = customers[list(features)].astype(float).reset_index(drop=True)
    X = X.fillna(X.median()).fillna(0.0)
    if log_features is None:
        log_features = [c for c in X if (X[c] >= 0).all() and X[c].skew() > skew_threshold]
    for c in log_features:
        if (X[c] < 0).any():
            raise ValueError(f"cannot log-transform {c!r}: it has negative values; leave it out of log_features.")
        X[c] = np.log1p(X[c])
    sd = X.std(ddof=0).replace(0, np.nan)
    Z = ((X - X.mean()) / sd).fillna(0.0)
    return Z, list(log_features)


def _elbow(k: np.ndarray, inertia: np.ndarray) -> int:
    """k farthest below the straight line from the first to the last inertia."""
    if len(k) < 3:
        return int(k[0])
    x = (k - k[0]) / (k[-1] - k[0])
    span = inertia[0] - inertia[-1]
    y = (inertia - inertia[-1]) / span if span > 0 else np.zeros_like(inertia)
    dist = (1 - x) - y  # line from (0,1) to (1,0)
    return int(k[int(np.argmax(dist))])


def choose_k(
    X: pd.DataFrame | np.ndarray,
    *,
    k_min: int = 2,
    k_max: int = 8,
    sample_size: int = 2000,
    random_state: int = 0,
    n_init: int = 10,
    tolerance: float = 0.01,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """Score k-means for each k in k_min..k_max and choose k.

    Rule: the smallest k whose mean silhouette is within ``tolerance`` of the
    highest (silhouette computed on a seeded random sample of at most
    ``sample_size`` customers). Fewer clusters are easier to act on, so a
    larger k must separate customers clearly better to be chosen. The inertia (within-cluster sum of squares) is reported for the
    elbow chart, and the elbow k (largest drop below the straight line from
    the first to the last inertia) is reported beside it as a cross-check,
    not used for the choice.

    Parameters
    ----------
    X : DataFrame or array
        Transformed features (:func:`transform_features`).
    k_min, k_max : int
        Range of k (k_min >= 2; k_max is capped at n - 1).
    sample_size : int
        Customers sampled for the silhouette.
    random_state : int
        Seed of k-means and of the sample.
    n_init : int
        k-means restarts.
    tolerance : float
        Silhouette difference (on its -1..1 scale) treated as no real gain.
    n_threads : int, optional
        Native threads (:func:`ecrm_lib.seef.scale.model_threads`).

    Returns
    -------
    DataFrame
        ``k``, ``inertia``, ``silhouette``, ``chosen`` (bool, one True) and
        ``elbow`` (bool, one True).

    Notes
    -----
    Every k is fitted on all rows of ``X``: pass the fit sample
    (:func:`ecrm_lib.seef.scale.stratified_sample`) for large tables, as
    :func:`cluster_customers` does.
    """
    progress_step("choosing the number of clusters ({k_min} to {k_max}) on {n:,} customers", k_min=k_min, k_max=k_max, n=min(len(X), sample_size))
    A = np.asarray(X, dtype=float)
    n = len(A)
    if k_min < 2:
        raise ValueError(f"k_min must be at least 2, but {k_min} was passed.")
    k_max = min(k_max, n - 1)
    if k_max < k_min:
        raise ValueError(f"{count_text(n).capitalize()} customers are too few for k between {k_min} and the requested maximum; need at least k_min + 1.")
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    rows = []
    with thread_limit(n, n_threads):
        for k in range(k_min, k_max + 1):
            km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(A)
            lab = km.labels_[sample]
            sil = silhouette_score(A[sample], lab) if len(np.unique(lab)) > 1 else float("nan")
            rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": float(sil)})
    out = pd.DataFrame(rows)
    best = out["silhouette"].max()
    chosen_k = int(out.loc[out["silhouette"] >= best - tolerance, "k"].min())
    out["chosen"] = out["k"] == chosen_k
    out["elbow"] = out["k"] == _elbow(out["k"].to_numpy(float), out["inertia"].to_numpy(float))
    return out


def _feature_words(feature: str, high: bool, words: Mapping[str, tuple[str, str]], own: Mapping | None = None) -> str:
    """The words of a feature clearly above (``high``) or below the average, in the current report language.

    Words the caller gives (``own``) are used as they are; the suite's words (:data:`FEATURE_WORDS`, share
    columns, other features) come from the catalogue (``selection.cluster_word.*``)."""
    side = "high" if high else "low"
    if own and feature in own:
        return own[feature][0 if high else 1]
    if feature in words:
        key = f"selection.cluster_word.{feature}_{side}"
        return i18n.t(key) if i18n.has(key) else words[feature][0 if high else 1]
    for prefix, what in (("share_purchases_", "buys"), ("share_contacts_", "contacted")):
        if feature.startswith(prefix):
            ch = feature[len(prefix):].replace("_", " ")
            return i18n.t(f"selection.cluster_word.{what}_{side}", ch=ch)
    return i18n.t(f"selection.cluster_word.other_{side}", name=feature.replace("_", " "))


def profile_clusters(
    customers: pd.DataFrame,
    labels: np.ndarray | pd.Series,
    features: Sequence[str],
    Z: pd.DataFrame,
    *,
    min_difference: float = 0.5,
    top: int = 4,
) -> pd.DataFrame:
    """One row per cluster: size, medians of the original features, distinguishing features.

    The standardised difference of a feature is the cluster mean minus the
    mean of all customers, on the transformed scale, in standard deviations
    of all customers. Distinguishing features are the ``top`` with the
    largest absolute difference of at least ``min_difference``.

    Returns
    -------
    DataFrame
        ``cluster``, ``customers``, ``customer_share``, ``median_<feature>``
        (original units), ``diff_<feature>`` (standard deviations) and
        ``distinguishing`` (list of ``(feature, difference)``, largest first).
    """
    lab = np.asarray(labels)
    X = customers[list(features)].astype(float).reset_index(drop=True)
    rows = []
    for c in np.unique(lab):
        m = lab == c
        row: dict = {"cluster": int(c), "customers": int(m.sum()), "customer_share": float(m.mean())}
        for f in features:
            row[f"median_{f}"] = float(X.loc[m, f].median())
        diffs = {f: float(Z.loc[m, f].mean()) for f in features}  # Z has mean 0, sd 1 overall
        for f in features:
            row[f"diff_{f}"] = diffs[f]
        ranked = sorted(diffs.items(), key=lambda kv: (-abs(kv[1]), list(features).index(kv[0])))
        row["distinguishing"] = [(f, round(d, 3)) for f, d in ranked if abs(d) >= min_difference][:top]
        rows.append(row)
    return pd.DataFrame(rows)


def name_clusters(profiles: pd.DataFrame, words: Mapping[str, tuple[str, str]] | None = None, *, parts: int = 2) -> list[str]:
    """Plain-word names from the distinguishing features (e.g. ``"high value, web-first"``), in the current
    report language (catalogue ``selection.cluster_word.*``; ``words`` given by the caller are used as they are).

    A name joins the words of the first ``parts`` distinguishing features;
    when two clusters would get the same name, further distinguishing
    features are added to them until the names differ or none are left, and
    names still repeated get `` (2)``, `` (3)`` in cluster order. A cluster
    with no distinguishing feature is ``"average customers"``.
    Deterministic: the same profiles always give the same names.
    """
    own = words
    words = FEATURE_WORDS if words is None else {**FEATURE_WORDS, **words}
    phrases = [list(dict.fromkeys(_feature_words(f, d > 0, words, own) for f, d in dist)) for dist in profiles["distinguishing"]]
    used = [min(parts, len(p)) for p in phrases]
    sep, average = i18n.t("selection.cluster_word.separator"), i18n.t("selection.cluster_word.average")

    def label(i):
        return sep.join(phrases[i][:used[i]]) if used[i] else average

    while True:
        names = [label(i) for i in range(len(phrases))]
        grow = False
        for nm in set(names):
            same = [i for i, x in enumerate(names) if x == nm]
            if len(same) > 1:
                for i in same:
                    if used[i] < len(phrases[i]):
                        used[i] += 1
                        grow = True
        if not grow:
            break
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


def fit_clusters(
    Z: pd.DataFrame | np.ndarray,
    k: int,
    *,
    fit_rows: np.ndarray | None = None,
    random_state: int = 0,
    n_init: int = 10,
    batch_size: int = SCORE_BATCH_ROWS,
    n_threads: int | None = None,
) -> np.ndarray:
    """k-means with ``k`` clusters fitted on ``fit_rows`` of ``Z``; every row assigned, clusters numbered by size.

    Clusters are numbered by size over all rows (0 = largest; ties by the
    first row in the table), so the numbering does not depend on k-means'
    arbitrary label order. Rows outside the fit sample are assigned to the
    nearest centre in batches of ``batch_size``; with every row in the sample
    the labels are those of the fit itself.

    Parameters
    ----------
    Z : DataFrame or array
        Transformed features (:func:`transform_features`), one row per customer.
    k : int
        Number of clusters.
    fit_rows : array of int, optional
        Positions of the fit sample (:func:`ecrm_lib.seef.scale.stratified_sample`); None: every row.
    random_state, n_init : int
        Seed and restarts of k-means.
    batch_size : int
        Rows assigned at a time outside the sample.
    n_threads : int, optional
        Native threads (:func:`ecrm_lib.seef.scale.model_threads`).

    Returns
    -------
    ndarray of int
        Cluster per row, 0 = the largest.

    Examples
    --------
    >>> Z = np.array([[0.0], [0.1], [5.0], [5.1], [5.2]])
    >>> fit_clusters(Z, 2).tolist()
    [1, 1, 0, 0, 0]
    """
    progress_step("k-means with {k} clusters on {n:,} customers", k=k, n=len(Z))
    A = np.asarray(Z, dtype=float)
    n = len(A)
    rows = np.arange(n) if fit_rows is None else np.asarray(fit_rows, dtype=int)
    with thread_limit(len(rows), n_threads):
        km = KMeans(n_clusters=int(k), n_init=n_init, random_state=random_state)
        if len(rows) == n:
            raw = km.fit_predict(A)
        else:
            km.fit(A[rows])
            raw = np.empty(n, dtype=int)
            for sl in batches(n, batch_size):
                raw[sl] = km.predict(A[sl])
    sizes = np.bincount(raw, minlength=int(k))
    present = np.flatnonzero(sizes)
    first = {c: int(np.argmax(raw == c)) for c in present}
    order = sorted(present, key=lambda c: (-sizes[c], first[c]))
    remap = np.full(int(k), -1, dtype=int)
    remap[order] = np.arange(len(order))
    return remap[raw]


@dataclass
class ClusterResult:
    """What :func:`cluster_customers` returns.

    Attributes
    ----------
    assignments : DataFrame
        ``customer_id``, ``cluster`` (0 = largest), ``cluster_name``.
    profiles : DataFrame
        From :func:`profile_clusters`, plus ``cluster_name``.
    k_scores : DataFrame
        From :func:`choose_k` (empty when k was given).
    k : int
        Number of clusters used.
    features : list of str
        Features used; ``log_features`` those log-transformed.
    n_fit : int
        Customers k-means was fitted on (the stratified sample; every
        customer when there are no more than ``fit_size``).
    """

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    k_scores: pd.DataFrame
    k: int
    features: list[str]
    log_features: list[str] = field(default_factory=list)
    n_fit: int = 0


def cluster_customers(
    customers: pd.DataFrame,
    features: Sequence[str],
    *,
    k: int | None = None,
    k_min: int = 2,
    k_max: int = 8,
    id_col: str = "customer_id",
    log_features: Sequence[str] | None = None,
    sample_size: int = 2000,
    random_state: int = 0,
    tolerance: float = 0.01,
    words: Mapping[str, tuple[str, str]] | None = None,
    fit_size: int = DEFAULT_FIT_SIZE,
    strata: Sequence | None = None,
    n_threads: int | None = None,
) -> ClusterResult:
    """k-means clusters on transformed features, k chosen by :func:`choose_k`, profiled and named.

    The steps, each a public function: :func:`transform_features` (all
    customers), a fit sample of at most ``fit_size`` customers stratified on
    ``strata`` (:func:`ecrm_lib.seef.scale.stratified_sample`; every customer
    when there are no more), :func:`choose_k` and :func:`fit_clusters` on that
    sample with every customer assigned in batches, then
    :func:`profile_clusters` and :func:`name_clusters` over all customers.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with ``id_col`` and the features.
    features : sequence of str
        Behaviour features (never ids).
    k : int, optional
        Fixed number of clusters; None = choose in ``k_min..k_max``.
    k_min, k_max, sample_size, random_state, tolerance :
        See :func:`choose_k`.
    log_features :
        See :func:`transform_features`.
    words : mapping, optional
        Extra plain words for features (see :data:`FEATURE_WORDS`).
    fit_size : int
        Largest fit sample (customers; :data:`DEFAULT_FIT_SIZE`).
    strata : sequence, optional
        One label per customer to stratify the sample on (e.g. the RFM segment); None: one stratum.
    n_threads : int, optional
        Native threads (:func:`ecrm_lib.seef.scale.model_threads`).

    Returns
    -------
    ClusterResult
    """
    features = list(features)
    if id_col in features:
        raise ValueError(f"{id_col!r} is an identifier, not a feature; leave it out of features.")
    Z, logged = transform_features(customers, features, log_features=log_features)
    rows = stratified_sample(np.zeros(len(Z)) if strata is None else strata, fit_size, random_state)
    if k is None:
        k_scores = choose_k(Z.iloc[rows], k_min=k_min, k_max=k_max, sample_size=sample_size, random_state=random_state,
                            tolerance=tolerance, n_threads=n_threads)
        k = int(k_scores.loc[k_scores["chosen"], "k"].iloc[0])
    else:
        k_scores = pd.DataFrame(columns=["k", "inertia", "silhouette", "chosen", "elbow"])
    labels = fit_clusters(Z, k, fit_rows=rows, random_state=random_state, n_threads=n_threads)
    profiles = profile_clusters(customers, labels, features, Z)
    profiles["cluster_name"] = name_clusters(profiles, words)
    return ClusterResult(cluster_assignments(customers, labels, profiles, id_col=id_col), profiles, k_scores, int(k),
                         features, logged, int(len(rows)))


def cluster_assignments(customers: pd.DataFrame, labels, profiles: pd.DataFrame, *, id_col: str = "customer_id") -> pd.DataFrame:
    """Per customer: ``customer_id``, ``cluster`` and ``cluster_name`` (from ``profiles``, which holds ``cluster_name``).

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"]})
    >>> p = pd.DataFrame({"cluster": [0, 1], "cluster_name": ["big", "small"]})
    >>> cluster_assignments(c, [1, 0], p)["cluster_name"].tolist()
    ['small', 'big']
    """
    lab = np.asarray(labels, dtype=int)
    names = profiles.set_index("cluster")["cluster_name"]
    return pd.DataFrame({
        "customer_id": customers[id_col].to_numpy(),
        "cluster": lab,
        "cluster_name": pd.array(names.reindex(lab).to_numpy(), dtype="string"),
    })


def default_cluster_features(
    customers: pd.DataFrame,
    *,
    rfm: Sequence[str] = ("recency_gap", "n_purchase_days", "spend_per_purchase_day"),
    channel_prefix: str = "share_purchases_",
    extra: Sequence[str] = ("n_channels", "online_share"),
) -> list[str]:
    """Behaviour features for k-means: RFM inputs plus the purchase channel mix.

    The channel mix is the single ``online_share`` when the table has it
    (:func:`ecrm_lib.seef.customers.assemble_customers` with ``online_channels``), so
    that value and recency weigh as much as channel choice; otherwise one
    share column per channel. Columns that are absent, entirely missing or
    constant (they cannot separate customers) are left out.

    Parameters
    ----------
    customers : DataFrame
        Per-customer table (e.g. :func:`ecrm_lib.seef.customers.assemble_customers`).
    rfm : sequence of str
        RFM input columns (time since the last purchase, purchase days, spend
        per purchase day).
    channel_prefix : str
        Prefix of the channel share columns (share of purchases per channel, 0-1).
    extra : sequence of str
        Further columns to use when present.

    Returns
    -------
    list of str

    Examples
    --------
    >>> c = pd.DataFrame({"recency_gap": [1.0, 5.0], "n_purchase_days": [3, 1], "spend_per_purchase_day": [10.0, 20.0],
    ...                   "share_purchases_web": [1.0, 0.0], "share_purchases_store": [0.0, 0.0]})
    >>> default_cluster_features(c)
    ['recency_gap', 'n_purchase_days', 'spend_per_purchase_day', 'share_purchases_web']
    """
    def usable(c):
        if c not in customers:
            return False
        v = pd.to_numeric(customers[c], errors="coerce").astype(float)
        return bool(v.notna().any() and v.nunique(dropna=True) > 1)

    shares = [] if usable("online_share") else sorted(c for c in customers.columns if str(c).startswith(channel_prefix))
    return [c for c in dict.fromkeys([*rfm, *extra, *shares]) if usable(c)]


#: Features the catalogue names (``selection.feature.<name>``, with the currency as ``{cur}``).
LABELLED_FEATURES = ("recency_gap", "n_purchase_days", "spend_per_purchase_day", "n_channels", "online_share", "cost_to_serve", "clv")

#: Columns that hold the same quantity as a labelled feature: the channel profile's ``n_purchases``
#: (:func:`ecrm_lib.channels.profile.customer_channel_features`) counts purchase days, as ``n_purchase_days`` does.
SAME_AS = {"n_purchases": "n_purchase_days"}


def feature_label(feature: str, currency: str = "") -> str:
    """A feature name in plain words with its unit, for tables and charts, in the current report language.

    Examples
    --------
    >>> feature_label("spend_per_purchase_day", "KRW"), feature_label("share_purchases_web"), feature_label("x_y")
    ('spend per purchase day (KRW)', 'share of purchases: web', 'x y')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     feature_label("n_purchase_days"), feature_label("share_purchases_web")
    ('구매일 수', '구매 비중: web')
    >>> feature_label("n_purchases")  # the channel profile's count of purchase days
    'purchase days'
    """
    cur = i18n.t("selection.feature.unit", cur=currency) if currency else ""
    feature = SAME_AS.get(feature, feature)
    if feature in LABELLED_FEATURES:
        return i18n.t(f"selection.feature.{feature}", cur=cur)
    for prefix, what in (("share_purchases_", "share_purchases"), ("share_contacts_", "share_contacts")):
        if feature.startswith(prefix):
            return i18n.t(f"selection.feature.{what}", ch=feature[len(prefix):].replace("_", " "))
    return feature.replace("_", " ")

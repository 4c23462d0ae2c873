"""RFM segments: scores 1-5 for recency, frequency and monetary value, and named segments.

Each customer gets a score 1-5 for recency, frequency and monetary value
(:func:`rfm_scores`); an editable table of score boxes
(``data/segments/rfm_segments.csv``, loaded and checked by
:func:`load_segment_table`) names the segment (:func:`assign_segments`);
:func:`segment_summary` gives each segment's size and value. The other way
to group customers, k-means clusters, is in :mod:`ecrm_lib.seef.clusters`.

Score convention
----------------
``score = 1 + floor(5 * (rank - 1) / n)`` where ``rank`` is the customer's
rank (1 = worst) among the ``n`` customers with a value, and tied values all
get the *lowest* rank of their block (``method="min"``). So scores are
quintiles of the ranking, tied customers always share a score (never split
by row order), and a large block of ties (e.g. every one-time buyer with
frequency 0) sits in the score of its lowest member. For recency the *gap*
since the last purchase is ranked, smaller gap = better = higher score.
Customers with a missing value get a missing score (and the segment
``Other``).

Examples
--------
>>> import pandas as pd
>>> c = pd.DataFrame({"customer_id": list("abcde"),
...                   "recency_gap": [1.0, 2.0, 3.0, 4.0, 5.0],
...                   "frequency": [5, 4, 3, 2, 1],
...                   "monetary_value": [50.0, 40.0, 30.0, 20.0, 10.0]})
>>> s = rfm_scores(c)
>>> s[["r_score", "f_score", "m_score"]].to_numpy().tolist()
[[5, 5, 5], [4, 4, 4], [3, 3, 3], [2, 2, 2], [1, 1, 1]]
>>> assign_segments(s, load_segment_table())["segment"].tolist()
['Champions', 'Champions', 'Loyal', 'Hibernating', 'Lost']
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.i18n import t
from ecrm_lib.core.paths import DATA_DIR

__all__ = [
    "DEFAULT_SEGMENT_TABLE",
    "OTHER_SEGMENT",
    "SEGMENT_COLUMNS",
    "SHIPPED_SEGMENTS",
    "assign_segments",
    "load_segment_table",
    "rfm_scores",
    "score_quintiles",
    "segment_description",
    "segment_label",
    "segment_labels",
    "segment_summary",
    "segment_table_gaps",
    "validate_segment_table",
]

DEFAULT_SEGMENT_TABLE = DATA_DIR / "segments" / "rfm_segments.csv"
OTHER_SEGMENT = "Other"
SEGMENT_COLUMNS = ["segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "priority", "description"]
_BOUNDS = ["r_min", "r_max", "f_min", "f_max", "m_min", "m_max"]

SHIPPED_SEGMENTS = {
    "Champions": "champions",
    "Can't Lose Them": "cant_lose_them",
    "At Risk": "at_risk",
    "Potential Loyalist": "potential_loyalist",
    "Loyal": "loyal",
    "New Customers": "new_customers",
    "Promising": "promising",
    "Need Attention": "need_attention",
    "About to Sleep": "about_to_sleep",
    "Hibernating": "hibernating",
    "Lost": "lost",
    OTHER_SEGMENT: "other",
}
"""The names of the shipped segment table (:data:`DEFAULT_SEGMENT_TABLE`) and the fallback ``Other``,
with their catalogue keys (``rfm.segment.<key>``, ``rfm.description.<key>``). The data (products, the
segment column) keeps these English names; pages show them in the report language
(:func:`segment_label`). A segment the user names in their own table is data and stays as written."""


# =========================================================================== names as shown


def segment_label(name: object) -> str:
    """A segment's name as a page shows it: a name of the shipped table (:data:`SHIPPED_SEGMENTS`) in the
    report language, any other name (the user's own segments, clusters, "look-alikes") as it is.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> segment_label("Hibernating"), segment_label("VIP Seoul")
    ('Hibernating', 'VIP Seoul')
    >>> with using("ko"):
    ...     segment_label("Hibernating"), segment_label("Can't Lose Them"), segment_label("VIP Seoul")
    ('휴면 고객', '놓치면 안 되는 고객', 'VIP Seoul')
    """
    key = SHIPPED_SEGMENTS.get(name) if isinstance(name, str) else None
    if key:
        return t(f"rfm.segment.{key}")
    return "" if name is None or (not isinstance(name, str) and pd.isna(name)) else str(name)


def segment_description(name: object, description: object = None) -> str:
    """A segment's description as a page shows it: the catalogue's (report language) for a shipped segment
    whose description is the shipped one or empty, else ``description`` as written (the user's words).

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     segment_description("Lost", "Longest gap since the last purchase and few purchases")
    '마지막 구매 후 가장 오래 지났고 구매 횟수도 적은 고객'
    >>> segment_description("Lost", "Our own words")
    'Our own words'
    """
    key = SHIPPED_SEGMENTS.get(name) if isinstance(name, str) else None
    text = "" if description is None or (not isinstance(description, str) and pd.isna(description)) else str(description)
    if key is None:
        return text
    from ecrm_lib.core.language import using

    with using("en"):
        shipped = t(f"rfm.description.{key}")
    return t(f"rfm.description.{key}") if text.strip() in ("", shipped) else text


def segment_labels(table: pd.DataFrame, columns: str | list[str] = "segment") -> pd.DataFrame:
    """A copy of ``table`` whose segment column(s) show the names in the report language (:func:`segment_label`;
    a ``description`` column through :func:`segment_description`). For display only: call it inside the
    per-language display (``show(lambda: segment_labels(df))``); products keep the names as assigned.

    >>> from ecrm_lib.core.language import using
    >>> df = pd.DataFrame({"segment": ["Loyal", "Other", "Gold"], "customers": [10, 3, 7]})
    >>> with using("ko"):
    ...     segment_labels(df)["segment"].tolist()
    ['충성 고객', '기타', 'Gold']
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    out = table.copy()
    names = out[cols[0]] if cols and cols[0] in out.columns else None
    if "description" in out.columns and names is not None:
        out["description"] = [segment_description(n, d) for n, d in zip(names, out["description"])]
    for c in cols:
        if c in out.columns:
            out[c] = out[c].map(segment_label)
        elif c == getattr(out.index, "name", None):
            out.index = out.index.map(segment_label)
    return out


# =========================================================================== RFM scores


def score_quintiles(values: pd.Series | np.ndarray, *, higher_is_better: bool = True, n_scores: int = 5) -> np.ndarray:
    """Scores 1..n_scores by rank, ties sharing the lowest score of their block.

    Parameters
    ----------
    values : array-like
        One value per customer; missing values get a missing score.
    higher_is_better : bool
        When False, the smallest value gets the highest score (recency gap).
    n_scores : int
        Number of score levels (5 = quintiles).

    Returns
    -------
    numpy.ndarray
        Float array of scores (NaN where the value was missing).

    Examples
    --------
    >>> score_quintiles([1, 1, 1, 2, 3, 4, 5, 6, 7, 8]).tolist()
    [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0]
    >>> score_quintiles([10, 20, 30, 40, 50], higher_is_better=False).tolist()
    [5.0, 4.0, 3.0, 2.0, 1.0]
    """
    v = pd.Series(np.asarray(values, dtype=float))
    if not higher_is_better:
        v = -v
    n = int(v.notna().sum())
    out = np.full(len(v), np.nan)
    if n == 0:
        return out
    rank = v.rank(method="min", na_option="keep").to_numpy()
    ok = ~np.isnan(rank)
    out[ok] = 1 + np.floor(n_scores * (rank[ok] - 1) / n)
    return out


def rfm_scores(
    customers: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    recency_gap_col: str | None = "recency_gap",
    recency_col: str = "recency",
    T_col: str = "T",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary_value",
) -> pd.DataFrame:
    """RFM scores 1-5 per customer (see the module docstring for ties).

    Parameters
    ----------
    customers : DataFrame
        One row per customer. Needs ``id_col``, ``frequency_col``,
        ``monetary_col`` and either ``recency_gap_col`` (time since the last
        purchase) or ``recency_col`` and ``T_col`` in the ``lifetimes``
        sense (the gap is then ``T - recency``; any time unit, days or weeks).
    id_col, recency_gap_col, recency_col, T_col, frequency_col, monetary_col : str
        Column names.

    Notes
    -----
    ``lifetimes``' ``monetary_value`` is the mean spend of *repeat* purchases
    and 0 for one-time buyers, who then all share the lowest M score; pass
    ``monetary_col="total_spend"`` (from :func:`ecrm_lib.value.features.rfm_summary`)
    to score one-time buyers by what they spent.

    Returns
    -------
    DataFrame
        ``customer_id``, ``recency_gap`` (same unit as the input),
        ``frequency``, ``monetary_value`` (currency), ``r_score``, ``f_score``,
        ``m_score`` (nullable Int64, 1 = worst, 5 = best) and ``rfm_code``
        (e.g. ``"545"``; missing when a score is missing).
    """
    if recency_gap_col and recency_gap_col in customers:
        gap = customers[recency_gap_col].astype(float)
    elif recency_col in customers and T_col in customers:
        gap = customers[T_col].astype(float) - customers[recency_col].astype(float)
    else:
        raise ValueError(
            f"rfm_scores needs a recency gap column {recency_gap_col!r} or both {recency_col!r} and {T_col!r} "
            f"(lifetimes convention); the table has {list(customers.columns)}. Pass the column names that hold them."
        )
    for col in (id_col, frequency_col, monetary_col):
        if col not in customers:
            raise ValueError(f"rfm_scores needs column {col!r}; the table has {list(customers.columns)}.")
    out = pd.DataFrame({
        "customer_id": customers[id_col].to_numpy(),
        "recency_gap": gap.to_numpy(),
        "frequency": customers[frequency_col].astype(float).to_numpy(),
        "monetary_value": customers[monetary_col].astype(float).to_numpy(),
    })
    out["r_score"] = pd.array(score_quintiles(out["recency_gap"], higher_is_better=False), dtype="Int64")
    out["f_score"] = pd.array(score_quintiles(out["frequency"]), dtype="Int64")
    out["m_score"] = pd.array(score_quintiles(out["monetary_value"]), dtype="Int64")
    code = out["r_score"].astype("string") + out["f_score"].astype("string") + out["m_score"].astype("string")
    out["rfm_code"] = code
    return out


# =========================================================================== segment table


def _show(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _row_label(table: pd.DataFrame, i: int) -> str:
    line = table["_line"].iloc[i] if "_line" in table else i + 1
    return f"row {line} ({table['segment'].iloc[i]!r})"


def validate_segment_table(table: pd.DataFrame, source: str = "segment table") -> pd.DataFrame:
    """Check a segment table and return it sorted by priority.

    Rules: the columns of :data:`SEGMENT_COLUMNS` are present (``description``
    may be empty); every bound is a whole number 1-5 with ``min <= max``;
    ``priority`` is a number; the segment name is not empty and not
    ``Other`` (kept for the fallback). Boxes may overlap only when their
    priorities differ: the box with the smallest priority wins. Gaps (score
    combinations no row covers) are allowed; see :func:`segment_table_gaps`.

    Parameters
    ----------
    table : DataFrame
        The table as read (row *i* is reported as line ``i + 2`` of the file
        when it carries no ``_line`` column).
    source : str
        Name used in error messages (the file name).

    Returns
    -------
    DataFrame
        The table with integer bounds, sorted by ``priority`` (stable).

    Raises
    ------
    ConfigError
        Naming the row (file line and segment) and how to fix it.
    """
    t = table.copy()
    if "_line" not in t:
        t["_line"] = np.arange(len(t)) + 2  # header is line 1
    if "description" not in t:
        t["description"] = ""
    missing = [c for c in SEGMENT_COLUMNS if c not in t]
    if missing:
        raise ConfigError(f"{source}: missing column(s) {missing}; the columns must be {SEGMENT_COLUMNS}.")
    if len(t) == 0:
        raise ConfigError(f"{source}: no rows; add at least one segment.")
    t["segment"] = t["segment"].astype("string").str.strip()
    t["description"] = t["description"].astype("string").fillna("")
    for i in range(len(t)):
        name = t["segment"].iloc[i]
        if pd.isna(name) or name == "":
            raise ConfigError(f"{source}: row {t['_line'].iloc[i]} has an empty segment name; give every row a name.")
        if name == OTHER_SEGMENT:
            raise ConfigError(f"{source}: {_row_label(t, i)} uses the reserved name {OTHER_SEGMENT!r} "
                              "(the fallback for customers no row matches); rename it.")
        for col in _BOUNDS + ["priority"]:
            raw = t[col].iloc[i]
            try:
                val = float(raw)
            except (TypeError, ValueError):
                val = float("nan")
            if math.isnan(val):
                raise ConfigError(f"{source}: {_row_label(t, i)} has {col}={_show(raw)}; it must be a number.")
            if col != "priority" and (val != int(val) or not 1 <= val <= 5):
                raise ConfigError(f"{source}: {_row_label(t, i)} has {col}={_show(raw)}; scores are whole numbers 1-5.")
        for lo, hi in (("r_min", "r_max"), ("f_min", "f_max"), ("m_min", "m_max")):
            if float(t[lo].iloc[i]) > float(t[hi].iloc[i]):
                raise ConfigError(f"{source}: {_row_label(t, i)} has {lo}={t[lo].iloc[i]} > {hi}={t[hi].iloc[i]}; "
                                  "swap them or fix the bound.")
    for col in _BOUNDS:
        t[col] = t[col].astype(float).astype("int64")
    t["priority"] = t["priority"].astype(float)
    b = t[_BOUNDS].to_numpy()
    for i in range(len(t)):
        for j in range(i + 1, len(t)):
            overlap = all(max(b[i, 2 * k], b[j, 2 * k]) <= min(b[i, 2 * k + 1], b[j, 2 * k + 1]) for k in range(3))
            if overlap and t["priority"].iloc[i] == t["priority"].iloc[j]:
                cell = tuple(max(b[i, 2 * k], b[j, 2 * k]) for k in range(3))
                raise ConfigError(
                    f"{source}: {_row_label(t, i)} and {_row_label(t, j)} overlap (e.g. R={cell[0]}, F={cell[1]}, "
                    f"M={cell[2]}) with the same priority {t['priority'].iloc[i]:g}; give them different priorities "
                    "(the smaller wins) or make the boxes disjoint."
                )
    return t.sort_values("priority", kind="stable").reset_index(drop=True)


def load_segment_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the editable RFM segment table.

    Parameters
    ----------
    path : str or Path, optional
        CSV with the columns of :data:`SEGMENT_COLUMNS`; default
        :data:`DEFAULT_SEGMENT_TABLE` (``data/segments/rfm_segments.csv``).

    Returns
    -------
    DataFrame
        See :func:`validate_segment_table`.

    Warns
    -----
    UserWarning
        When some score combinations are covered by no row (gaps), naming
        how many and one example.

    Examples
    --------
    >>> t = load_segment_table()
    >>> t["segment"].tolist()[:3]
    ['Champions', "Can't Lose Them", 'At Risk']
    >>> len(segment_table_gaps(t))
    0
    """
    path = Path(path) if path is not None else DEFAULT_SEGMENT_TABLE
    if not path.is_file():
        raise ConfigError(f"segment table {path} not found; copy {DEFAULT_SEGMENT_TABLE} and edit it.")
    table = validate_segment_table(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]), source=path.name)
    gaps = segment_table_gaps(table)
    if len(gaps):
        g = gaps.iloc[0]
        warnings.warn(
            f"{path.name} leaves {len(gaps)} of 125 score combinations uncovered (e.g. R={g['r_score']}, "
            f"F={g['f_score']}, M={g['m_score']}); their customers get the segment {OTHER_SEGMENT!r}. "
            "List them with segment_table_gaps(table) and widen a row to cover them if that is not intended.",
            UserWarning, stacklevel=2)
    return table


def _lookup(table: pd.DataFrame) -> np.ndarray:
    """5x5x5 array of row positions (in priority order; -1 = not covered)."""
    cube = np.full((5, 5, 5), -1, dtype=int)
    for i in range(len(table) - 1, -1, -1):  # lowest priority first so that the winner is written last
        r = table.iloc[i]
        cube[r["r_min"] - 1:r["r_max"], r["f_min"] - 1:r["f_max"], r["m_min"] - 1:r["m_max"]] = i
    return cube


def segment_table_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Score combinations no row of the table covers (their customers become ``Other``).

    Returns
    -------
    DataFrame
        ``r_score``, ``f_score``, ``m_score``: one row per uncovered cell of the
        5 x 5 x 5 grid (empty when the table covers everything).
    """
    cube = _lookup(validate_segment_table(table) if "_line" not in table else table)
    r, f, m = np.nonzero(cube < 0)
    return pd.DataFrame({"r_score": r + 1, "f_score": f + 1, "m_score": m + 1})


def assign_segments(scores: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Named segment of each customer: the first matching row by priority, else ``Other``.

    Parameters
    ----------
    scores : DataFrame
        From :func:`rfm_scores` (``customer_id``, ``r_score``, ``f_score``,
        ``m_score``).
    table : DataFrame, optional
        From :func:`load_segment_table` (default table when None).

    Returns
    -------
    DataFrame
        ``customer_id``, ``r_score``, ``f_score``, ``m_score``, ``segment``,
        ``description``; every customer exactly once. Customers with a missing
        score or in a gap of the table get ``Other``.
    """
    table = load_segment_table() if table is None else (table if "_line" in table else validate_segment_table(table))
    cube = _lookup(table)
    sc = scores[["r_score", "f_score", "m_score"]].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ok = ~np.isnan(sc).any(axis=1)
    pos = np.full(len(sc), -1, dtype=int)
    idx = sc[ok].astype(int) - 1
    pos[ok] = cube[idx[:, 0], idx[:, 1], idx[:, 2]]
    names = np.append(table["segment"].to_numpy(dtype=object), OTHER_SEGMENT)
    descr = np.append(table["description"].to_numpy(dtype=object), "No row of the segment table matches")
    out = scores[["customer_id", "r_score", "f_score", "m_score"]].copy()
    out["segment"] = pd.array(names[pos], dtype="string")  # pos -1 picks the appended Other
    out["description"] = pd.array(descr[pos], dtype="string")
    return out.reset_index(drop=True)


def segment_summary(
    segments: pd.DataFrame,
    values: pd.DataFrame | None = None,
    *,
    value_col: str = "clv",
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Size and value of each segment, ``Other`` included (also when empty).

    Parameters
    ----------
    segments : DataFrame
        From :func:`assign_segments`.
    values : DataFrame, optional
        Per-customer table with ``customer_id`` and ``value_col`` (e.g. CLV,
        currency).
    value_col : str
        The value column.
    table : DataFrame, optional
        Segment table, to list segments in priority order including empty ones.

    Returns
    -------
    DataFrame
        ``segment``, ``customers``, ``customer_share`` (0-1) and, with
        ``values``, ``value`` (sum, currency), ``value_share`` (0-1),
        ``value_per_customer`` (currency).
    """
    order = list(dict.fromkeys(table["segment"])) if table is not None else sorted(
        set(segments["segment"].dropna()) - {OTHER_SEGMENT})
    order = order + [OTHER_SEGMENT]
    counts = segments["segment"].value_counts().reindex(order, fill_value=0)
    out = pd.DataFrame({"segment": order, "customers": counts.to_numpy().astype("int64")})
    n = max(int(out["customers"].sum()), 1)
    out["customer_share"] = out["customers"] / n
    if values is not None:
        v = segments[["customer_id", "segment"]].merge(values[["customer_id", value_col]], on="customer_id", how="left")
        s = v.groupby("segment")[value_col].sum().reindex(order, fill_value=0.0)
        out["value"] = s.to_numpy(dtype=float)
        total = out["value"].sum()
        out["value_share"] = out["value"] / total if total > 0 else np.nan
        out["value_per_customer"] = out["value"] / out["customers"].where(out["customers"] > 0)
    return out

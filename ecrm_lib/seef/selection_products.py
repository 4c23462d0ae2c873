"""SEEF 1's products: the ``customer_segments`` and ``targets`` tables a selection writes, and the
per-segment overview the report shows.

:func:`selection_products` turns the per-customer table and a selection
(:func:`ecrm_lib.seef.rule.select_targets`) into the two products with
their contract columns (:data:`SEGMENTS_COLUMNS`, :data:`TARGETS_COLUMNS`);
:func:`segment_overview` summarises ``customer_segments`` per segment with
small cells suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core.privacy import suppress_small_cells
from ecrm_lib.seef.customers import check_pseudonymous

__all__ = ["SEGMENTS_COLUMNS", "TARGETS_COLUMNS", "segment_overview", "selection_products"]

SEGMENTS_COLUMNS = ["customer_id", "segment", "r_score", "f_score", "m_score", "cluster", "cluster_name", "clv", "clv_low",
                    "clv_high", "churn_probability", "risk_decile", "matched", "selected", "rank", "reasons",
                    "contact_channel", "contact_cost", "below_contact_cost"]
TARGETS_COLUMNS = ["customer_id", "rank", "reasons", "segment", "cluster_name", "clv", "churn_probability",
                   "contact_channel", "contact_cost"]


def selection_products(customers: pd.DataFrame, selection: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``customer_segments`` and ``targets`` products (contract columns, pseudonymous ids only).

    Parameters
    ----------
    customers : DataFrame
        Per-customer table with ``segment``, the scores, ``cluster``,
        ``cluster_name`` and, when available, ``clv``, ``clv_low``,
        ``clv_high``, ``churn_probability``, ``risk_decile``,
        ``contact_channel`` and ``contact_cost`` (the cheapest channel and the
        cost of one contact through it, currency; missing ones are written as
        missing).
    selection : DataFrame
        :func:`select_targets` on the same customers (``below_contact_cost``
        False when it lacks the column).

    Returns
    -------
    (DataFrame, DataFrame)
        ``customer_segments``: every customer, columns :data:`SEGMENTS_COLUMNS`;
        ``targets``: the selected ones by rank, columns :data:`TARGETS_COLUMNS`.
    """
    own = ["matched", "selected", "rank", "reasons", "below_contact_cost"]
    sel = selection[[c for c in ["customer_id", *own] if c in selection]]
    # only the product's columns are copied (the per-customer table of a large run holds many more)
    c = customers[[x for x in SEGMENTS_COLUMNS if x in customers and x not in own]]
    c = c.assign(customer_id=c["customer_id"].astype("string"))
    s = sel.assign(customer_id=sel["customer_id"].astype("string"))
    out = c.merge(s, on="customer_id", how="left")
    for col in SEGMENTS_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out = out[SEGMENTS_COLUMNS].reset_index(drop=True)
    for col in ("selected", "matched", "below_contact_cost"):
        out[col] = out[col].astype("boolean").fillna(False).astype(bool)
    out["contact_channel"] = out["contact_channel"].astype("string")
    out["contact_cost"] = out["contact_cost"].astype(float)
    check_pseudonymous(out["customer_id"], "customer_id")
    targets = out.loc[out["selected"]].sort_values("rank", kind="stable")[TARGETS_COLUMNS].reset_index(drop=True)
    return out, targets


def segment_overview(customer_segments: pd.DataFrame, order: Sequence[str] | None = None, *, min_count: int = 5) -> pd.DataFrame:
    """Per segment: customers, value, churn risk and targets, small cells suppressed.

    Parameters
    ----------
    customer_segments : DataFrame
        The ``customer_segments`` product (:func:`selection_products`).
    order : sequence of str, optional
        Segment order (e.g. the segment table's); segments not listed follow.
    min_count : int
        Rows describing fewer customers are blanked
        (:func:`ecrm_lib.core.privacy.suppress_small_cells`).

    Returns
    -------
    DataFrame
        ``segment``, ``customers``, ``customer_share`` (0-1), ``clv``
        (sum, currency), ``clv_share`` (0-1), ``clv_per_customer``
        (currency), ``mean_churn_probability`` (0-1), ``targets``,
        ``suppressed``.
    """
    c = customer_segments
    clv = c["clv"].astype(float)
    g = pd.DataFrame({"segment": c["segment"].astype("string"), "clv": clv,
                      "churn": c["churn_probability"].astype(float), "t": c["selected"].astype(bool)}).groupby("segment")
    out = pd.DataFrame({"customers": g.size(), "clv": g["clv"].sum(min_count=1), "mean_churn_probability": g["churn"].mean(),
                        "targets": g["t"].sum().astype("int64")})
    names = list(dict.fromkeys([*(order or []), *sorted(out.index)]))
    out = out.reindex([s for s in names if s in out.index]).rename_axis("segment").reset_index()
    out["customers"] = out["customers"].astype("int64")
    out.insert(2, "customer_share", out["customers"] / max(len(c), 1))
    total = float(clv.sum())
    out.insert(4, "clv_share", out["clv"] / total if total > 0 else np.nan)
    out.insert(5, "clv_per_customer", out["clv"] / out["customers"])
    out = suppress_small_cells(out, "customers", min_count=min_count)
    few = (out["targets"].astype(float) > 0) & (out["targets"].astype(float) < min_count)
    out["targets"] = out["targets"].astype("Int64").mask(few)  # a handful of targets would describe them
    return out

"""The per-customer table the SEEF steps share.

Selection, Evaluation and Expansion work on one plain pandas DataFrame per
run, one row per ``customer_id`` (pseudonymous ids only): the purchase summary
(computed in the engine by :func:`ecrm_lib.value.features.rfm_summary`) joined
with the per-customer products of the upstream notebooks (``customer_value``,
``churn_risk``, ``customer_channels``) and, after Selection, the segments,
clusters and target flags.

- :func:`assemble_customers`: the Selection step's table, counting customers
  missing from a product instead of dropping them.
- :func:`customer_view`: the Selection product with other products added
  (Evaluation, Expansion).
- :func:`target_flags`: the targets as one boolean per row, from flags, ids
  or the output of :func:`ecrm_lib.seef.rule.select_targets`.
- :func:`default_features`: the behaviour columns a model may use (no ids,
  names or contact data).
- :func:`check_pseudonymous`: refuses ids that are e-mail addresses or phone
  numbers (target lists leave the team).

Examples
--------
>>> p = pd.DataFrame({"customer_id": ["a", "b"], "recency": [3.0, 0.0], "T": [5.0, 2.0],
...                   "n_purchase_days": [2, 1], "total_spend": [300.0, 50.0]})
>>> t = assemble_customers(p, {"customer_value": pd.DataFrame({"customer_id": ["a"], "clv": [900.0]})})
>>> t.customers[["customer_id", "clv"]].to_numpy().tolist()
[['a', 900.0], ['b', nan]]
>>> target_flags(t.customers, ["b"]).tolist()
[False, True]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecrm_lib.data.tables import isin_text

__all__ = [
    "CustomerTable",
    "assemble_customers",
    "check_pseudonymous",
    "customer_view",
    "default_features",
    "target_flags",
]

_PHONE_LIKE = r"^\+\d[\d\s().-]{7,}$|^0\d{1,2}[\s.-]\d{3,4}[\s.-]\d{4}$"


def check_pseudonymous(ids: pd.Series, id_col: str = "customer_id") -> None:
    """Refuse ids that are e-mail addresses or phone numbers (target lists leave the team).

    Raises
    ------
    ValueError
        Naming how many ids look like contact data and what to use instead.

    Examples
    --------
    >>> check_pseudonymous(pd.Series(["C1", "C2"]))
    >>> check_pseudonymous(pd.Series(["kim@example.com"]))
    Traceback (most recent call last):
    ...
    ValueError: 1 customer_id value(s) look like e-mail addresses or phone numbers; ...
    """
    text = ids.dropna().astype("string")
    bad = text.str.contains("@", regex=False) | text.str.strip().str.match(_PHONE_LIKE)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} {id_col} value(s) look like e-mail addresses or phone numbers; target lists must carry "
            "pseudonymous ids only: use the customer_id of the identity map (ecrm_lib.channels.identity), not contact data."
        )


def _add_columns(base: pd.DataFrame, product: pd.DataFrame, id_col: str, names: Mapping[str, str]) -> pd.DataFrame:
    """``base`` with columns of ``product`` added as a left join on ``id_col`` would (``names``: product column -> new
    name), each column taken into the base's row order by position; the first row of an id counts.

    The base's own columns are shared with it (copy-on-write), not copied, and one new column at a time is made: a
    merge per product copies every column of the growing table again. (The view of evaluation and expansion from
    three products of 1M customers read from Parquet: 675 -> 651 MiB above the memory before; the products read
    are most of it.)
    Missing values where a customer has no row, as the merge gives them (a column of integers becomes float).
    """
    ids = product[id_col].astype("string")
    first = ~ids.duplicated().to_numpy() if not ids.is_unique else None
    keys = pd.Index(ids.array if first is None else ids.array[first])
    rows = keys.get_indexer(base[id_col].astype("string").array)  # -1: the customer has no row in the product
    out = base.copy(deep=False)
    for col, new in names.items():  # one column at a time: only one new column is ever held twice
        out[new] = pd.api.extensions.take(product[col].array if first is None else product[col].array[first], rows, allow_fill=True)
    return out


@dataclass
class CustomerTable:
    """What :func:`assemble_customers` returns.

    Attributes
    ----------
    customers : DataFrame
        One row per customer who bought on or before the as-of date.
    coverage : DataFrame
        One row per product: ``product``, ``present`` (the product exists in
        this run), ``rows``, ``customers_matched``, ``customers_missing``
        (customers with no row in it, kept with missing values),
        ``share_missing`` (0-1) and ``not_in_base`` (rows of the product for
        customers without a purchase, left out).
    """

    customers: pd.DataFrame
    coverage: pd.DataFrame


def assemble_customers(
    purchases: pd.DataFrame,
    products: Mapping[str, pd.DataFrame | None],
    *,
    id_col: str = "customer_id",
    online_channels: Sequence[str] | None = None,
    share_prefix: str = "share_purchases_",
) -> CustomerTable:
    """The per-customer table of the Selection step, from the purchase summary and the products.

    The customers are those of ``purchases`` (everyone with a purchase on or
    before the as-of date). Each product is left-joined on ``id_col``;
    customers missing from a product keep missing values there and are
    *counted* in ``coverage`` rather than dropped, and product rows for
    customers without a purchase are counted (``not_in_base``) and left out.
    A product column whose name is already taken gets the suffix
    ``_<product>`` (e.g. ``p_alive_churn_risk``).

    RFM inputs come from the purchases (see :func:`ecrm_lib.seef.rfm.rfm_scores`):
    ``recency_gap`` (time since the last purchase day, ``T - recency`` in the
    summary's time unit, weeks by default), ``n_purchase_days`` (distinct
    purchase days) and ``spend_per_purchase_day`` (``total_spend /
    n_purchase_days``, currency). Unlike ``lifetimes``' ``monetary_value``
    (mean of repeat purchases, 0 for one-time buyers) this scores one-time
    buyers by what they spent.

    Parameters
    ----------
    purchases : DataFrame
        From :func:`ecrm_lib.value.features.rfm_summary` (indexed by the customer id
        or with an ``id_col`` column): ``recency``, ``T``,
        ``n_purchase_days``, ``total_spend``.
    products : mapping of str to DataFrame or None
        E.g. ``{"customer_value": ..., "churn_risk": ..., "customer_channels": ...}``;
        None means the product is absent in this run (every customer missing).
    id_col : str
        Customer id column of every table.
    online_channels : sequence of str, optional
        Internet channels (the config's ``channel_groups["internet"]``): adds
        ``online_share``, the customer's share of purchases through them (0-1,
        sum of the ``<share_prefix><channel>`` columns; missing when the
        customer has no channel data).
    share_prefix : str
        Prefix of the per-channel purchase share columns.

    Returns
    -------
    CustomerTable

    Raises
    ------
    ValueError
        A table lacks ``id_col`` or lists a customer twice.

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": ["a", "b"], "recency": [3.0, 0.0], "T": [5.0, 2.0],
    ...                   "n_purchase_days": [2, 1], "total_spend": [300.0, 50.0]})
    >>> cv = pd.DataFrame({"customer_id": ["a", "z"], "clv": [900.0, 10.0]})
    >>> t = assemble_customers(p, {"customer_value": cv, "churn_risk": None})
    >>> t.customers[["customer_id", "recency_gap", "spend_per_purchase_day", "clv"]].to_numpy().tolist()
    [['a', 2.0, 150.0, 900.0], ['b', 2.0, 50.0, nan]]
    >>> t.coverage[["product", "present", "customers_missing", "not_in_base"]].to_numpy().tolist()
    [['customer_value', True, 1, 1], ['churn_risk', False, 2, 0]]
    """
    p = purchases.reset_index() if id_col not in purchases.columns else purchases.copy()
    need = [id_col, "recency", "T", "n_purchase_days", "total_spend"]
    missing = [c for c in need if c not in p]
    if missing:
        raise ValueError(f"the purchase summary lacks {missing}; pass the result of ecrm_lib.value.features.rfm_summary.")
    if p[id_col].duplicated().any():
        raise ValueError(f"the purchase summary lists {int(p[id_col].duplicated().sum())} customer(s) twice.")
    days = p["n_purchase_days"].astype(float)
    base = pd.DataFrame({
        id_col: p[id_col].astype("string").to_numpy(),
        "recency_gap": (p["T"].astype(float) - p["recency"].astype(float)).to_numpy(),
        "n_purchase_days": days.to_numpy(),
        "total_spend": p["total_spend"].astype(float).to_numpy(),
        "spend_per_purchase_day": (p["total_spend"].astype(float) / days.where(days > 0)).to_numpy(),
    })
    ids = base[id_col]
    rows = []
    for name, df in products.items():
        if df is None:
            rows.append({"product": name, "present": False, "rows": 0, "customers_matched": 0,
                         "customers_missing": len(base), "not_in_base": 0})
            continue
        if id_col not in df:
            raise ValueError(f"product {name!r} has no {id_col!r} column; it has {list(df.columns)}.")
        d = df.copy(deep=False)  # copy-on-write: the product is not modified
        d[id_col] = d[id_col].astype("string")
        if d[id_col].duplicated().any():
            raise ValueError(f"product {name!r} lists {int(d[id_col].duplicated().sum())} customer(s) twice; "
                             "it must have one row per customer.")
        inside = pd.Series(isin_text(d[id_col], ids), index=d.index)  # pyarrow: pandas' isin of text takes seconds per million
        d = d.loc[inside]
        base = _add_columns(base, d, id_col, {c: f"{c}_{name}" if c in base.columns else c for c in d.columns if c != id_col})
        rows.append({"product": name, "present": True, "rows": len(df), "customers_matched": int(inside.sum()),
                     "customers_missing": len(base) - int(inside.sum()), "not_in_base": int((~inside).sum())})
    shares = [c for c in base.columns if str(c).startswith(share_prefix)]
    if online_channels is not None and shares:
        online = [f"{share_prefix}{ch}" for ch in online_channels if f"{share_prefix}{ch}" in base]
        known = base[shares].notna().any(axis=1)
        base["online_share"] = base[online].astype(float).fillna(0.0).sum(axis=1).where(known) if online else np.where(known, 0.0, np.nan)
    cov = pd.DataFrame(rows, columns=["product", "present", "rows", "customers_matched", "customers_missing", "not_in_base"])
    cov["share_missing"] = cov["customers_missing"] / len(base) if len(base) else np.nan
    return CustomerTable(base, cov)


def target_flags(customers: pd.DataFrame, selected, id_col: str = "customer_id") -> np.ndarray:
    """Boolean target flag per row of ``customers``.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with ``id_col``.
    selected : bool array, collection of ids, or DataFrame of :func:`ecrm_lib.seef.rule.select_targets`
        One flag per row (in row order), the target ids, or the selection
        (its ``selected`` rows).

    Raises
    ------
    ValueError
        Flags whose number differs from the table's rows.
    """
    if isinstance(selected, pd.DataFrame):
        sel = selected.loc[selected["selected"].astype(bool), "customer_id"]
        return isin_text(customers[id_col], sel)
    arr = np.asarray(selected)
    if arr.dtype == bool:
        if len(arr) != len(customers):
            raise ValueError(f"the target flags have {len(arr)} values but the customer table has {len(customers)} rows; "
                             "pass one flag per row (in row order), a list of ids, or the result of select_targets.")
        return arr
    return isin_text(customers[id_col], list(selected))


def customer_view(customer_segments: pd.DataFrame, *others: pd.DataFrame | None, id_col: str = "customer_id") -> pd.DataFrame:
    """Every customer of the selection with the columns of other products added (for evaluation and expansion).

    ``customer_segments`` (the Selection product: every customer, with
    ``selected``) is the base; each further product (e.g.
    ``customer_value``, ``customer_channels``; None when absent) is
    left-joined on ``id_col`` with only the columns the table does not have
    yet. Ids are compared as text.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [5.0, 1.0], "selected": [True, False]})
    >>> v = pd.DataFrame({"customer_id": ["a"], "clv": [9.0], "frequency": [3]})
    >>> customer_view(s, v, None)[["customer_id", "clv", "frequency"]].to_numpy().tolist()
    [['a', 5.0, 3.0], ['b', 1.0, nan]]
    """
    out = customer_segments.assign(**{id_col: customer_segments[id_col].astype("string")})
    for df in others:
        if df is None:
            continue
        if id_col not in df:
            raise ValueError(f"a product has no {id_col!r} column; it has {list(df.columns)}.")
        out = _add_columns(out, df, id_col, {c: c for c in df.columns if c != id_col and c not in out.columns})
    return out


_ID_LIKE = re.compile(r"(^|_)(id|ids|key|name|email|e_mail|phone|mobile|address|postcode)$", re.I)


def default_features(customers: pd.DataFrame, *, id_col: str = "customer_id", exclude: Sequence[str] = ()) -> list[str]:
    """Numeric and boolean columns usable as model features: no ids, names or contact data.

    Leaves out ``id_col``, columns whose names end in id/key/name/email/phone/
    address/postcode, the selection outputs (``matched``, ``selected``,
    ``rank``, ``contact_cost``, ``below_contact_cost``) and ``exclude``. Channel shares (``share_<...>_email``,
    ``share_<...>_phone``) are behaviour, not contact data, and are kept.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a"], "phone": [1], "share_contacts_phone": [0.5], "clv": [1.0]})
    >>> default_features(c)
    ['share_contacts_phone', 'clv']
    """
    skip = {id_col, "matched", "selected", "rank", "contact_cost", "below_contact_cost", *exclude}
    out = []
    for c in customers.columns:
        if c in skip or (_ID_LIKE.search(str(c)) and not str(c).startswith("share_")):
            continue
        s = customers[c]
        if pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_datetime64_any_dtype(s)):
            out.append(c)
    return out



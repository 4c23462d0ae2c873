"""From channel accounts to customers.

Analyses value *customers*, not channel accounts: once identity resolution
has mapped every account to a ``customer_id`` (the channel-integration
notebook's ``account_map`` product), tables keyed by ``account_id`` are
re-keyed with :func:`attach_customer_id`. Without a map (data that has no
accounts table, such as CDNOW or Online Retail) each account is its own
customer.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["attach_customer_id"]


def attach_customer_id(df: pd.DataFrame, account_map: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add a ``customer_id`` column to a table keyed by ``account_id``.

    Parameters
    ----------
    df : DataFrame
        A canonical table with ``account_id``.
    account_map : DataFrame, optional
        ``account_id`` -> ``customer_id`` (one row per account). None: every
        account is its own customer.

    Returns
    -------
    DataFrame
        A copy of ``df`` with ``customer_id`` (string). Accounts missing from
        the map keep their own id as customer id; their number is in
        ``result.attrs["unmapped_accounts"]`` (0 when every account is mapped).

    Raises
    ------
    ValueError
        If the map lists an account twice.

    Examples
    --------
    >>> tx = pd.DataFrame({"account_id": ["W1", "S1", "X9"], "amount": [1.0, 2.0, 3.0]})
    >>> amap = pd.DataFrame({"account_id": ["W1", "S1"], "customer_id": ["C1", "C1"]})
    >>> out = attach_customer_id(tx, amap)
    >>> out["customer_id"].tolist(), out.attrs["unmapped_accounts"]
    (['C1', 'C1', 'X9'], 1)
    """
    out = df.copy()
    if account_map is None:
        out["customer_id"] = out["account_id"].astype("string")
        out.attrs["unmapped_accounts"] = 0
        return out
    dup = account_map["account_id"].duplicated()
    if dup.any():
        examples = account_map.loc[dup, "account_id"].head(5).tolist()
        raise ValueError(f"account_map lists {int(dup.sum())} account(s) more than once, e.g. {examples}; it must have one row per account.")
    mapping = account_map.set_index("account_id")["customer_id"].astype("string")
    mapped = out["account_id"].map(mapping)
    unmapped = mapped.isna()
    out["customer_id"] = mapped.fillna(out["account_id"]).astype("string")
    out.attrs["unmapped_accounts"] = int(out.loc[unmapped, "account_id"].nunique())
    return out

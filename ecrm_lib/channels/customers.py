"""From channel accounts to customers.

Analyses value *customers*, not channel accounts: once identity resolution
has mapped every account to a ``customer_id`` (the channel-integration
notebook's ``account_map`` product), tables keyed by ``account_id`` are
re-keyed with :func:`attach_customer_id`. Without a map (data that has no
accounts table, such as CDNOW or Online Retail) each account is its own
customer.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

__all__ = ["attach_customer_id", "unmapped_note"]


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


def unmapped_note(tables: Mapping[str, pd.DataFrame | None]) -> str:
    """A sentence for report prose on accounts missing from the identity map; "" when there are none.

    Parameters
    ----------
    tables : mapping of str to DataFrame or None
        Table name (as the reader knows it, e.g. ``"transactions"``) to the output of
        :func:`attach_customer_id`, whose ``attrs["unmapped_accounts"]`` holds the count.
        None and tables without the count are skipped.

    Returns
    -------
    str
        E.g. "12 accounts in the transactions and 1 account in the contacts are not in
        the identity map; each is kept as its own customer." (counts of distinct
        accounts per table; an account in both tables is counted in each).

    Examples
    --------
    >>> tx = attach_customer_id(pd.DataFrame({"account_id": ["W1", "X9", "X9"]}),
    ...                         pd.DataFrame({"account_id": ["W1"], "customer_id": ["C1"]}))
    >>> unmapped_note({"transactions": tx, "contacts": None})
    '1 account in the transactions is not in the identity map; it is kept as its own customer.'
    >>> unmapped_note({"transactions": attach_customer_id(tx[["account_id"]].head(1))})
    ''
    """
    parts = [(name, int(df.attrs.get("unmapped_accounts", 0) or 0)) for name, df in tables.items() if df is not None]
    parts = [(name, n) for name, n in parts if n > 0]
    if not parts:
        return ""
    listed = " and ".join(f"{n:,} account{'' if n == 1 else 's'} in the {name}" for name, n in parts)
    if len(parts) == 1 and parts[0][1] == 1:
        return f"{listed} is not in the identity map; it is kept as its own customer."
    return f"{listed} are not in the identity map; each is kept as its own customer."

"""From channel accounts to customers.

Analyses value *customers*, not channel accounts: once identity resolution
has mapped every account to a ``customer_id`` (the channel-integration
notebook's ``account_map`` product), tables keyed by ``account_id`` are
re-keyed with :func:`attach_customer_id`. Without a map (data that has no
accounts table, such as CDNOW or Online Retail) each account is its own
customer.

Both work on pandas DataFrames and on Ibis tables in the engine (a join there,
nothing comes into pandas); :func:`count_unmapped` counts the accounts the map
misses for an Ibis table.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd  # noqa: F401  (the examples use pd)

from ecrm_lib.data.tables import rows_of_accounts

__all__ = ["attach_customer_id", "count_unmapped", "unmapped_note"]


def _is_ibis(obj) -> bool:
    try:
        import ibis
    except ImportError:  # pragma: no cover - ibis is a core dependency
        return False
    return isinstance(obj, ibis.Table)


def _ibis_map(table, account_map):
    """The account map as an Ibis table that can be joined with ``table``."""
    import ibis

    if _is_ibis(account_map):
        return account_map.select("account_id", "customer_id")
    frame = account_map[["account_id", "customer_id"]].astype("string")
    return ibis.memtable(frame)


def attach_customer_id(df, account_map=None):
    """Add a ``customer_id`` column to a table keyed by ``account_id``.

    Parameters
    ----------
    df : DataFrame or ibis.Table
        A canonical table with ``account_id``.
    account_map : DataFrame or ibis.Table, optional
        ``account_id`` -> ``customer_id`` (one row per account). None: every
        account is its own customer. With a DataFrame ``df`` and an Ibis map,
        only the map's rows of ``df``'s accounts are read from the engine.

    Returns
    -------
    DataFrame or ibis.Table
        ``df`` with ``customer_id`` (string), of the same kind as ``df`` (a new
        DataFrame, or an engine expression). Accounts missing from the map keep
        their own id as customer id; for a DataFrame their number is in
        ``result.attrs["unmapped_accounts"]`` (0 when every account is mapped),
        for an Ibis table :func:`count_unmapped` counts them.

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
    if _is_ibis(df):
        if account_map is None:
            return df.mutate(customer_id=df.account_id.cast("string"))
        amap = _ibis_map(df, account_map).rename(_map_account="account_id", _map_customer="customer_id")
        joined = df.left_join(amap, df.account_id == amap._map_account)
        return joined.mutate(customer_id=joined._map_customer.fill_null(joined.account_id).cast("string")).drop(
            "_map_account", "_map_customer")
    out = df.copy()
    if _is_ibis(account_map):  # only the map's rows of these accounts leave the engine, not one row per account
        account_map = rows_of_accounts(account_map, out["account_id"], ["account_id", "customer_id"])
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


def count_unmapped(table, account_map) -> int:
    """Distinct accounts of an Ibis table (or DataFrame) that the account map does not list (0 without a map).

    Examples
    --------
    >>> import ibis
    >>> tx = ibis.memtable({"account_id": ["W1", "X9", "X9"]})
    >>> count_unmapped(tx, pd.DataFrame({"account_id": ["W1"], "customer_id": ["C1"]}))
    1
    """
    if account_map is None:
        return 0
    if not _is_ibis(table):
        return int(attach_customer_id(table[["account_id"]], account_map).attrs["unmapped_accounts"])
    amap = _ibis_map(table, account_map)
    ids = table.select("account_id").distinct()
    return int(ids.anti_join(amap, ids.account_id == amap.account_id).count().execute())


def unmapped_note(tables: Mapping[str, object]) -> str:
    """A sentence for report prose on accounts missing from the identity map; "" when there are none.

    Parameters
    ----------
    tables : mapping of str to DataFrame, int or None
        Table name (as the reader knows it, e.g. ``"transactions"``) to the output of
        :func:`attach_customer_id` (a DataFrame, whose ``attrs["unmapped_accounts"]``
        holds the count) or to the count itself (:func:`count_unmapped`). None and
        tables without the count are skipped.

    Returns
    -------
    str
        In the report language (call it once per language). E.g. "12 accounts in the transactions and 1 account in the contacts are not in
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
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):  # in the report language (channel_integration.lib.unmapped_* messages)
    ...     unmapped_note({"transactions": 12, "contacts": 1})
    '거래의 계정 12개, 접촉의 계정 1개는 식별 맵에 없어 계정마다 고객 한 명으로 둡니다.'
    """
    from ecrm_lib.core.i18n import t, t_or

    parts = [(name, int(df) if isinstance(df, (int, float)) else int(getattr(df, "attrs", {}).get("unmapped_accounts", 0) or 0))
             for name, df in tables.items() if df is not None]
    parts = [(name, n) for name, n in parts if n > 0]
    if not parts:
        return ""
    listed = t("channel_integration.lib.unmapped_and").join(
        t("channel_integration.lib.unmapped_part_one" if n == 1 else "channel_integration.lib.unmapped_part", n=n,
          table=t_or(f"channel_integration.table.{name}", name)) for name, n in parts)
    if len(parts) == 1 and parts[0][1] == 1:
        return t("channel_integration.lib.unmapped_one", listed=listed)
    return t("channel_integration.lib.unmapped_many", listed=listed)

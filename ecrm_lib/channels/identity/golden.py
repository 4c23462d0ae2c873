"""Customer ids and golden records, computed on the engine.

Customer ids are pseudonymous and stable: ``C`` + the first 16 hex digits of the
SHA-256 of the customer's sorted account ids joined by newlines (16 rather
than 10 digits: 10 give a 36 % chance of one collision among a million
customers; on a collision all ids get twice the digits). The same accounts
give the same id whatever their order or the labels' numbering.

A golden record holds, per customer, the most frequent normalised value of
each identifying attribute, ties broken by the most recent account, then by
the value seen first (lowest account row).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from ecrm_lib.channels.identity.workspace import Workspace, open_accounts

__all__ = ["GOLDEN_FIELDS", "ID_HEX", "customer_id_table", "customer_ids", "golden_records", "golden_table"]

ID_HEX = 16
GOLDEN_FIELDS = ("email", "phone", "name", "postcode")


def _id_expression(text, n_hex: int):
    return "C" + text.hexdigest("sha256").substr(0, n_hex)


def customer_id_table(ws: Workspace, acc, labels: np.ndarray, *, n_hex: int = ID_HEX, step: str = "customer_ids"):
    """Customer id per account row, as a temporary table (row, customer_id).

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Accounts (row, account_id).
    labels : ndarray of int64
        Customer label per account row (rows 0..n-1).
    n_hex : int
        Hex digits kept (doubled on a collision).
    """
    n = len(labels)
    sizes = np.bincount(labels) if n else np.zeros(0, dtype=np.int64)
    multi = np.flatnonzero(sizes[labels] >= 2) if n else np.zeros(0, dtype=np.int64)
    n_customers = int((sizes > 0).sum())
    up = ws.upload(f"{step}_labels", {"_lab_row": multi.astype(np.int64), "_lab": labels[multi].astype(np.int64)})
    t = acc.select("row", "account_id").left_join(up, acc.row == up._lab_row)
    grouped = t.filter(t._lab.notnull())
    groups = grouped.group_by("_lab").aggregate(
        _group_id=_id_expression(grouped.account_id.group_concat("\n", order_by=grouped.account_id), n_hex)
    )
    g2 = groups.select(_g=groups._lab, _group_id=groups._group_id)
    t = t.left_join(g2, t._lab == g2._g)
    out = ws.keep(step, t.select("row", customer_id=ibis.coalesce(t._group_id, _id_expression(t.account_id, n_hex))))
    n_ids = int(out.customer_id.nunique().to_pyarrow().as_py())
    if n_ids != n_customers:
        if n_hex >= 64:  # pragma: no cover - SHA-256 collision
            raise RuntimeError("customer id collision on the full SHA-256")
        return customer_id_table(ws, acc, labels, n_hex=min(64, n_hex * 2), step=step)
    return out


def customer_ids(account_id: pd.Series, labels: np.ndarray, n_hex: int = ID_HEX) -> np.ndarray:
    """Stable pseudonymous customer id per account from its component label.

    Parameters
    ----------
    account_id : Series of str
        Account ids, one per account.
    labels : ndarray of int
        Component label per account (same order).
    n_hex : int, default 16
        Hex digits kept.

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ids = customer_ids(pd.Series(["b", "a", "c"]), np.array([0, 0, 1]))
    >>> ids[0] == ids[1] != ids[2]
    True
    """
    aid = pd.Series(account_id).astype("string").reset_index(drop=True)
    ws = Workspace(ibis.duckdb.connect(), owns_connection=True)
    try:
        acc = ws.keep("accounts", pa.table({"row": pa.array(np.arange(len(aid), dtype=np.int64)), "account_id": pa.array(aid.array, type=pa.large_string())}))
        _, codes = np.unique(np.asarray(labels), return_inverse=True)
        table = customer_id_table(ws, acc, codes.astype(np.int64), n_hex=n_hex)
        got = table.order_by("row").customer_id.to_pyarrow()
    finally:
        ws.close()
    return np.asarray(got.to_pylist(), dtype=object)


def _best_values(base, acc, field: str):
    """Per customer: the most frequent value of ``field``; ties: most recent account, then the value seen first."""
    first = acc.filter(acc[field].notnull()).group_by(field).aggregate(_first=acc.row.min())
    v = base.filter(base[field].notnull())
    g = v.group_by(["customer_id", field]).aggregate(_cnt=v.count(), _tmax=v.created_at.max())
    g = g.join(first, field)
    g = g.mutate(
        _pick=ibis.row_number().over(
            group_by=g.customer_id, order_by=[ibis.desc(g._cnt), g._tmax.isnull(), ibis.desc(g._tmax), g._first]
        )
    )
    return g.filter(g._pick == 0).select(_cid=g.customer_id, **{field: g[field]})


def golden_table(acc, cust) -> pd.DataFrame:
    """Golden records from normalised accounts and their customer ids, computed on the engine.

    Parameters
    ----------
    acc : ibis.Table
        Normalised accounts (row, channel, created_at, email, phone, name, postcode).
    cust : ibis.Table
        row, customer_id.

    Returns
    -------
    DataFrame
        See :func:`golden_records`.
    """
    base = acc.join(cust, "row")
    out = base.group_by("customer_id").aggregate(
        first_seen=base.created_at.min(), last_seen=base.created_at.max(), n_accounts=base.count()
    )
    for field in GOLDEN_FIELDS:
        best = _best_values(base, acc, field)
        out = out.left_join(best, out.customer_id == best._cid).drop("_cid")
    ch = base.filter(base.channel.notnull()).select("customer_id", "channel").distinct()
    chans = ch.group_by("customer_id").aggregate(channels=ch.channel.group_concat(",", order_by=ch.channel))
    chans = chans.select(_cid=chans.customer_id, channels=chans.channels)
    out = out.left_join(chans, out.customer_id == chans._cid).drop("_cid")
    cols = ["customer_id", *GOLDEN_FIELDS, "first_seen", "last_seen", "channels", "n_accounts"]
    res = out.select(*cols).order_by("customer_id").to_pyarrow()
    frame = pd.DataFrame({c: pd.array(res.column(c), dtype="string") for c in ("customer_id", *GOLDEN_FIELDS)})
    for c in ("first_seen", "last_seen"):
        frame[c] = pd.Series(res.column(c).to_pandas(), dtype="datetime64[us, UTC]")
    frame["channels"] = pd.array(res.column("channels"), dtype="string")
    frame["n_accounts"] = res.column("n_accounts").to_numpy().astype(np.int64)
    return frame[cols]


def golden_records(norm: pd.DataFrame, customer_id) -> pd.DataFrame:
    """One row per customer with the best value of each identifying attribute.

    Parameters
    ----------
    norm : DataFrame
        :func:`ecrm_lib.channels.normalize.normalize_accounts` output.
    customer_id : array of str
        Customer id per row of ``norm``.

    Returns
    -------
    DataFrame
        customer_id, email, phone, name, postcode (most frequent normalised
        value, ties broken by the most recent account, then by the value seen
        first), first_seen, last_seen (account creation, UTC), channels
        (sorted, comma-separated), n_accounts; sorted by customer_id.
        **Personal data.**
    """
    frame = norm.reset_index(drop=True).copy()
    ws, acc, _ = open_accounts(frame)
    try:
        cust = ws.upload(
            "golden_customers",
            {"row": np.arange(len(frame), dtype=np.int64), "customer_id": pa.array(pd.Series(customer_id).astype("string").array, type=pa.large_string())},
        )
        return golden_table(acc, cust)
    finally:
        ws.close()

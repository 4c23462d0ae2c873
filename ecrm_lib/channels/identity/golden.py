"""Customer ids and golden records, computed on the engine.

Customer ids are pseudonymous and stable: ``C`` + the first 16 hex digits of the
SHA-256 of the customer's sorted account ids joined by newlines (16 rather
than 10 digits: 10 give a 36 % chance of one collision among a million
customers; on a collision all ids get twice the digits). The same accounts
give the same id whatever their order or the labels' numbering.

A golden record holds, per customer, the most frequent normalised value of
each identifying attribute, ties broken by the most recent account, then by
the value seen first (lowest account row).

Both work on a *labels* table (row, label: the customer of each account row,
0..k-1) uploaded once; customers are grouped by that integer and get their id
string only at the end.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pyarrow as pa

from ecrm_lib.channels.identity.workspace import Workspace, open_accounts

__all__ = ["GOLDEN_FIELDS", "ID_HEX", "customer_ids", "customer_table", "golden_expr", "golden_records", "golden_table", "label_table"]

ID_HEX = 16
GOLDEN_FIELDS = ("email", "phone", "name", "postcode")
_EPOCH = ibis.timestamp("1970-01-01 00:00:00", timezone="UTC")
_UTC = dt.Timestamp(timezone="UTC")


def _id_expression(text, n_hex: int):
    return "C" + text.hexdigest("sha256").substr(0, n_hex)


def label_table(ws: Workspace, labels: np.ndarray):
    """Upload the customer label of every account row: a temporary table row, label, alone (one-account customer)."""
    n = len(labels)
    sizes = np.bincount(labels) if n else np.zeros(0, dtype=np.int64)
    return ws.upload(
        "labels",
        {"row": np.arange(n, dtype=np.int64), "label": labels.astype(np.int64), "alone": (sizes[labels] == 1) if n else np.zeros(0, dtype=bool)},
    )


def customer_table(ws: Workspace, acc, lab, *, n_hex: int = ID_HEX):
    """Customer id of every label, as a temporary table (label, customer_id).

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Accounts (row, account_id).
    lab : ibis.Table
        :func:`label_table`.
    n_hex : int
        Hex digits kept (doubled on a collision).
    """
    t = acc.select("row", "account_id").join(lab, "row")
    alone = t.filter(t.alone).select("label", customer_id=_id_expression(t.account_id, n_hex))
    many = t.filter(~t.alone)
    groups = many.group_by("label").aggregate(
        # sorted ids joined by newlines; collect-sort-join runs on every engine (Spark's group_concat cannot order)
        customer_id=_id_expression(many.account_id.collect().sort().join("\n"), n_hex)
    )
    out = ws.keep("customers", alone.union(groups, distinct=False))
    stats = out.aggregate(n=out.count(), ids=out.customer_id.nunique()).to_pyarrow().to_pylist()[0]
    if int(stats["ids"]) != int(stats["n"]):
        if n_hex >= 64:  # pragma: no cover - SHA-256 collision
            raise RuntimeError("customer id collision on the full SHA-256")
        return customer_table(ws, acc, lab, n_hex=min(64, n_hex * 2))
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
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    ws = Workspace(ibis.duckdb.connect(), owns_connection=True)
    try:
        acc = ws.keep("accounts", pa.table({"row": pa.array(np.arange(len(aid), dtype=np.int64)), "account_id": pa.array(aid.array, type=pa.large_string())}))
        custs = customer_table(ws, acc, label_table(ws, codes.astype(np.int64)), n_hex=n_hex)
        by_label = custs.order_by("label").customer_id.to_pyarrow()
    finally:
        ws.close()
    return np.asarray(by_label.to_pylist(), dtype=object)[codes]


def _best_values(base, acc, field: str, first=None):
    """Per label: the most frequent value of ``field``; ties: most recent account, then the value seen first."""
    if first is None:
        first = acc.filter(acc[field].notnull()).group_by(field).aggregate(_first=acc.row.min())
    v = base.filter(base[field].notnull())
    g = v.group_by(["label", field]).aggregate(_cnt=v.count(), _tmax=v.created_at.max())
    g = g.join(first, field)
    # The largest (count, has a date, latest date, -first row): one ordered aggregate, no window.
    key = ibis.struct({"n": g._cnt, "dated": g._tmax.notnull(), "t": g._tmax.fill_null(_EPOCH), "first": -g._first})
    return g.group_by("label").aggregate(**{field: g[field].argmax(key)}).rename(_label="label")


def golden_expr(acc, lab, customers, firsts: dict | None = None):
    """Golden records as an engine table (sorted by customer_id): what :func:`golden_table` brings into pandas.

    Parameters as in :func:`golden_table`. Columns: customer_id, email, phone, name, postcode (text),
    first_seen, last_seen (UTC), channels (text), n_accounts (int64). **Personal data.** The table reads the
    resolution's temporary tables: use it (e.g. write it, ``RunContext.write_private``) before they are dropped.
    """
    firsts = firsts or {}
    base = acc.join(lab.select("row", "label"), "row")
    out = base.group_by("label").aggregate(first_seen=base.created_at.min(), last_seen=base.created_at.max(), n_accounts=base.count())
    out = out.join(customers, "label")
    for field in GOLDEN_FIELDS:
        best = _best_values(base, acc, field, firsts.get(field))
        out = out.left_join(best, out.label == best._label).drop("_label")
    ch = base.filter(base.channel.notnull()).select("label", "channel").distinct()
    chans = ch.group_by("label").aggregate(channels=ch.channel.collect().sort().join(","))  # sorted, on every engine
    chans = chans.select(_label=chans.label, channels=chans.channels)
    out = out.left_join(chans, out.label == chans._label).drop("_label")
    typed = {c: out[c].cast("string") for c in ("customer_id", *GOLDEN_FIELDS)}
    typed.update(first_seen=out.first_seen.cast(_UTC), last_seen=out.last_seen.cast(_UTC), channels=out.channels.cast("string"),
                 n_accounts=out.n_accounts.cast("int64"))
    return out.select(**typed).order_by("customer_id")


def golden_table(acc, lab, customers, firsts: dict | None = None) -> pd.DataFrame:
    """Golden records from normalised accounts, their labels and the customers' ids, computed on the engine.

    Parameters
    ----------
    acc : ibis.Table
        Normalised accounts (row, channel, created_at, email, phone, name, postcode).
    lab : ibis.Table
        :func:`label_table`.
    customers : ibis.Table
        :func:`customer_table`.
    firsts : dict, optional
        Per field, a table (<field>, _first) of the first account row holding
        each value, when already known (else computed here).

    Returns
    -------
    DataFrame
        See :func:`golden_records`.
    """
    res = golden_expr(acc, lab, customers, firsts).to_pyarrow()
    frame = pd.DataFrame({c: pd.array(res.column(c), dtype="string") for c in ("customer_id", *GOLDEN_FIELDS)})
    for c in ("first_seen", "last_seen"):
        frame[c] = pd.Series(res.column(c).to_pandas(), dtype="datetime64[us, UTC]")
    frame["channels"] = pd.array(res.column("channels"), dtype="string")
    frame["n_accounts"] = res.column("n_accounts").to_numpy().astype(np.int64)
    return frame


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
    ids = pd.Series(customer_id).astype("string").reset_index(drop=True)
    codes, uniques = pd.factorize(ids)
    ws, acc, _ = open_accounts(frame)
    try:
        lab = label_table(ws, codes.astype(np.int64))
        customers = ws.upload("given_ids", {"label": np.arange(len(uniques), dtype=np.int64), "customer_id": pa.array(np.asarray(uniques, dtype=object), type=pa.large_string())})
        return golden_table(acc, lab, customers)
    finally:
        ws.close()

"""The campaigns table and what the uplift analyses cut it by, read through the engine.

The canonical ``campaigns`` table (:mod:`ecrm_lib.core.schema`) has one row
per assigned account with ``campaign_id``, ``arm``, ``is_control``,
``response`` (0/1), ``revenue`` (config currency; missing = 0) and
``assigned_at``. An account is the unit of randomisation, so the uplift
analyses (:mod:`ecrm_lib.seef.uplift`, :mod:`ecrm_lib.seef.uplift_models`)
work on these assignment rows (:func:`select_campaign` reads those of one
campaign from the engine); everything joined to them from the large tables
is computed in the engine:

- :func:`purchase_history_before`: per assigned account, purchases and spend
  in the 365 days before assignment and days since the last purchase before
  it, aggregated from the transactions in the engine;
- :func:`segment_table`: attributes per assigned account to cut uplift by
  (customer attributes, the account's channel, the purchase history);
- :func:`segment_column_values`: an attribute as a few segment labels
  (quantile bands for numbers).

Functions accept an Ibis table (``ctx.table(...)``) or a pandas DataFrame.

Examples
--------
>>> c = pd.DataFrame({"account_id": ["a", "b"], "campaign_id": "c1", "arm": ["t", "ctl"], "is_control": [False, True],
...                   "response": [1, 0], "assigned_at": pd.to_datetime(["2025-01-10", "2025-01-10"], utc=True)})
>>> tx = pd.DataFrame({"account_id": ["a", "a"], "amount": [10.0, 5.0],
...                    "timestamp": pd.to_datetime(["2024-12-31", "2025-01-11"], utc=True)})
>>> purchase_history_before(c, tx)[["account_id", "purchases_365d", "days_since_last", "spend_365d"]].to_numpy().tolist()
[['a', 1.0, 10.0, 10.0], ['b', 0.0, 3650.0, 0.0]]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.data.tables import is_ibis, rows_of_accounts
from ecrm_lib.seef.tables import columns_of, engine_table, to_frame

__all__ = [
    "CAMPAIGN_COLUMNS",
    "HISTORY_COLUMNS",
    "NO_PURCHASE_DAYS",
    "check_campaigns",
    "default_segment_column",
    "history_for_rows",
    "history_missing_key",
    "history_missing_reason",
    "numeric_if_possible",
    "purchase_history_before",
    "revenue_missing_reason",
    "segment_column_values",
    "segment_label",
    "segment_table",
    "select_campaign",
]

#: Columns of the campaigns table the uplift analyses read.
CAMPAIGN_COLUMNS = ["account_id", "campaign_id", "arm", "is_control", "response", "revenue", "assigned_at"]

#: Pre-assignment purchase history per assigned account (:func:`purchase_history_before`).
HISTORY_COLUMNS = ["purchases_365d", "days_since_last", "spend_365d"]

#: Days since the last purchase given to an account without one before assignment (and the cap).
NO_PURCHASE_DAYS = 3650.0


def check_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The campaign rows with ``response`` and ``revenue`` as floats and ``is_control`` as bool.

    A missing revenue is 0, unless the table has no revenue at all (:func:`revenue_missing_reason`):
    then ``revenue`` is NaN throughout and ``attrs["revenue_missing_reason"]`` says why.

    Raises
    ------
    EcrmError
        A column of the canonical table is missing.
    """
    needed = {"campaign_id", "arm", "is_control", "response"}
    missing = needed - set(campaigns.columns)
    if missing:
        raise EcrmError(f"campaigns table lacks column(s) {sorted(missing)}; expected the canonical campaigns table (ecrm_lib.core.schema).")
    df = campaigns.copy()
    df["response"] = df["response"].astype(float)
    reason = revenue_missing_reason(campaigns)
    df["revenue"] = math.nan if reason else df["revenue"].astype(float).fillna(0.0)
    df["is_control"] = df["is_control"].astype(bool)
    df.attrs["revenue_missing_reason"] = reason
    return df


def revenue_missing_reason(campaigns: pd.DataFrame) -> str | None:
    """Why revenue cannot be measured for these campaign rows (in the report language), or None when it can.

    A missing revenue on some rows is 0 (an account that did not buy brought none); a table without a
    ``revenue`` column, or with no value in it at all, has no revenue to measure: the revenue figures
    are then "not available", never a measured 0.

    Examples
    --------
    >>> revenue_missing_reason(pd.DataFrame({"revenue": [None, 5.0]})) is None
    True
    >>> revenue_missing_reason(pd.DataFrame({"response": [1]}))
    'the campaigns table has no revenue column (map one in the config to measure revenue)'
    """
    if "revenue" not in campaigns.columns:
        return t("campaign_missing.no_revenue_column")
    if len(campaigns) and campaigns["revenue"].isna().all():
        return t("campaign_missing.revenue_empty")
    return None


def history_missing_key(campaigns: pd.DataFrame, transactions=None) -> str | None:
    """The catalogue key of why the purchase history before assignment cannot be computed, or None when it can.

    >>> history_missing_key(pd.DataFrame({"account_id": ["a"]}), None)
    'campaign_missing.no_transactions'
    """
    if transactions is None:
        return "campaign_missing.no_transactions"
    if "assigned_at" not in campaigns.columns:
        return "campaign_missing.no_assigned_at"
    if not campaigns["assigned_at"].notna().any():
        return "campaign_missing.assigned_at_empty"
    return None


def history_missing_reason(campaigns: pd.DataFrame, transactions=None) -> str | None:
    """Why the purchase history before assignment cannot be computed (report language), or None when it can.

    Examples
    --------
    >>> history_missing_reason(pd.DataFrame({"account_id": ["a"]}), pd.DataFrame())
    'the campaigns table has no assigned_at column, so purchases before assignment cannot be told from purchases after it'
    """
    key = history_missing_key(campaigns, transactions)
    return t(key) if key else None


def select_campaign(campaigns, campaign_id: str | None) -> pd.DataFrame:
    """The assignment rows of one campaign (all rows when ``campaign_id`` is None), as a DataFrame.

    An Ibis table is filtered in the engine and only the columns of
    :data:`CAMPAIGN_COLUMNS` it has come into pandas, in the table's order.

    Raises
    ------
    ValueError
        When ``campaign_id`` is not in the table; the message lists the known ids.

    Examples
    --------
    >>> c = pd.DataFrame({"campaign_id": ["a", "a", "b"]})
    >>> len(select_campaign(c, "a")), len(select_campaign(c, None))
    (2, 3)
    """
    if is_ibis(campaigns):
        t = campaigns.select([c for c in CAMPAIGN_COLUMNS if c in campaigns.columns])
        rows = to_frame(t if campaign_id is None else t.filter(t.campaign_id == campaign_id))
        if campaign_id is not None and rows.empty:
            known = sorted(map(str, to_frame(campaigns.select("campaign_id").distinct())["campaign_id"].dropna()))
            return select_campaign(pd.DataFrame({"campaign_id": known}), campaign_id)  # raises with the known ids
        return rows
    if campaign_id is None:
        return campaigns.reset_index(drop=True)
    out = campaigns[campaigns["campaign_id"] == campaign_id]
    if out.empty:
        known = sorted(map(str, campaigns["campaign_id"].dropna().unique()))
        raise ValueError(f"campaign_id {campaign_id!r} is not in the campaigns table; known campaigns: {known[:20]}. "
                         "Set the notebook parameter campaign_id to one of them, or to None for all.")
    return out.reset_index(drop=True)


def purchase_history_before(campaigns, transactions, *, window_days: float = 365.0) -> pd.DataFrame:
    """Per assigned account and assignment time: the purchase history before assignment, computed in the engine.

    Only purchases strictly before ``assigned_at`` count. Ages are measured in
    seconds between the two timestamps (whole seconds, as both engines count
    them) divided by 86,400.

    Parameters
    ----------
    campaigns : ibis.Table or DataFrame
        With ``account_id`` and ``assigned_at`` (rows without a time are left out).
    transactions : ibis.Table or DataFrame
        Canonical transactions (``account_id``, ``timestamp``, ``amount``).
    window_days : float
        Length of the window before assignment (days).

    Returns
    -------
    DataFrame
        One row per distinct (``account_id``, ``assigned_at``), sorted by
        both: ``purchases_365d`` (purchases in the window), ``days_since_last``
        (days since the last purchase before assignment, capped at 3,650;
        3,650 without one), ``spend_365d`` (spend in the window, currency; sums
        exact to 1/10,000 of the currency unit).
    """
    c = engine_table(campaigns, ["account_id", "assigned_at"])
    keys = c.filter(c.assigned_at.notnull()).select("account_id", "assigned_at").distinct()
    tx = engine_table(transactions, ["account_id", "timestamp", "amount"])
    tx = tx.filter(tx.timestamp.notnull()).select(_acc="account_id", _ts="timestamp", _amount="amount")
    j = keys.inner_join(tx, keys.account_id == tx._acc)
    j = j.filter(j._ts < j.assigned_at)
    age = (j.assigned_at.epoch_seconds() - j._ts.epoch_seconds()).cast("float64") / 86400.0
    j = j.mutate(_age=age, _in=age <= window_days)
    agg = j.group_by(["account_id", "assigned_at"]).aggregate(
        purchases_365d=j._in.cast("int64").sum(),
        days_since_last=j._age.min(),
        spend_365d=j._amount.cast("decimal(18, 4)").sum(where=j._in),
    )
    out = keys.left_join(agg, [keys.account_id == agg.account_id, keys.assigned_at == agg.assigned_at]).select(
        keys.account_id, keys.assigned_at,
        purchases_365d=agg.purchases_365d.cast("float64").fill_null(0.0),
        days_since_last=agg.days_since_last.fill_null(NO_PURCHASE_DAYS),
        spend_365d=agg.spend_365d.cast("float64").fill_null(0.0),
    )
    df = to_frame(out.order_by(["account_id", "assigned_at"]))
    df["days_since_last"] = df["days_since_last"].clip(upper=NO_PURCHASE_DAYS).astype(float)
    return df


def history_for_rows(rows: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """:func:`purchase_history_before` aligned with the assignment ``rows`` (same index; no purchase before: 0, 3,650, 0)."""
    key = pd.DataFrame({"account_id": rows["account_id"].astype("string").to_numpy(),
                        "assigned_at": pd.to_datetime(rows["assigned_at"], utc=True).dt.as_unit("us").to_numpy(),
                        "_pos": np.arange(len(rows))})
    h = history.assign(account_id=history["account_id"].astype("string"),
                       assigned_at=pd.to_datetime(history["assigned_at"], utc=True).dt.as_unit("us").to_numpy())
    m = key.merge(h, on=["account_id", "assigned_at"], how="left").sort_values("_pos")
    return pd.DataFrame({"purchases_365d": m["purchases_365d"].fillna(0.0).astype(float).to_numpy(),
                         "days_since_last": m["days_since_last"].fillna(NO_PURCHASE_DAYS).astype(float).to_numpy(),
                         "spend_365d": m["spend_365d"].fillna(0.0).astype(float).to_numpy()}, index=rows.index)


def numeric_if_possible(s: pd.Series) -> pd.Series:
    """Text columns whose every present value parses as a number become float (CSV extras arrive as text).

    Examples
    --------
    >>> numeric_if_possible(pd.Series(["1", "2.5", None])).tolist()
    [1.0, 2.5, nan]
    >>> numeric_if_possible(pd.Series(["a", "1"])).tolist()
    ['a', '1']
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s
    v = pd.to_numeric(s.astype(object).where(s.notna(), None), errors="coerce")
    return v.astype(float) if v.notna().sum() == s.notna().sum() and s.notna().any() else s


def segment_column_values(values: pd.Series, max_levels: int = 8, n_bins: int = 4) -> pd.Series:
    """Turn an attribute into segment labels: categories as text, numbers with many values as quantile bands.

    Numeric columns with more than ``max_levels`` distinct values are cut into ``n_bins``
    quantile bands, numbered so that they sort in order and written without words so that they read
    the same on a page in any language (the labels are data values: products and every page keep them):
    ``1) 0–2``, ``2) 3–27`` for whole numbers (both ends included), ``1) [1.5, 64.66]``,
    ``2) (64.66, 158.1]`` otherwise (a band holds the values above its lower bound up to its upper
    one). Categorical columns keep their ``max_levels - 1`` most frequent levels and pool the rest as
    ``other``. Missing values become ``missing``.

    Examples
    --------
    >>> sorted(segment_column_values(pd.Series(range(100)), n_bins=4).unique())
    ['1) 0–24', '2) 25–49', '3) 50–74', '4) 75–99']
    >>> sorted(segment_column_values(pd.Series([x / 4 for x in range(1, 41)]), n_bins=2).unique())
    ['1) [0.25, 5.125]', '2) (5.125, 10]']
    """
    s = numeric_if_possible(values)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.nunique() > max_levels:
        bands = pd.qcut(s.astype(float), q=n_bins, duplicates="drop")
        v = s.astype(float)
        integer = bool(np.all(np.mod(v.dropna(), 1) == 0))
        names = {}
        for i, iv in enumerate(bands.cat.categories):
            lo = v.min() if i == 0 else (math.floor(iv.left) + 1 if integer else iv.left)
            hi = math.floor(iv.right) if integer else iv.right
            names[iv] = (f"{i + 1}) {lo:,.4g}–{hi:,.4g}" if integer else f"{i + 1}) [{lo:,.4g}, {hi:,.4g}]" if i == 0
                         else f"{i + 1}) ({iv.left:,.4g}, {hi:,.4g}]")
        return bands.astype(object).map(lambda iv: names.get(iv, "missing")).astype(str)
    s = s.astype(object).where(s.notna(), "missing").astype(str)
    top = s.value_counts().index[: max_levels - 1]
    return s.where(s.isin(top) | (s.nunique() <= max_levels), "other")


def segment_table(campaigns: pd.DataFrame, customers=None, accounts=None, transactions=None) -> pd.DataFrame:
    """Attributes per assigned account to cut uplift by: customer attributes, the account's channel
    (``account_channel``) and pre-assignment behaviour (:data:`HISTORY_COLUMNS`, from the account's first
    assignment, :func:`purchase_history_before`).

    Parameters
    ----------
    campaigns : DataFrame
        Assignment rows (:func:`select_campaign`).
    customers, accounts, transactions : ibis.Table or DataFrame, optional
        Canonical tables; the rows of the assigned accounts are picked in the engine.

    Returns
    -------
    DataFrame
        One row per account of ``campaigns``: ``account_id`` and the attribute columns available.
    """
    out = campaigns[["account_id"]].drop_duplicates("account_id").reset_index(drop=True).astype({"account_id": "string"})
    if customers is not None:
        out = out.merge(rows_of_accounts(customers, out["account_id"]), on="account_id", how="left")
    if accounts is not None and "channel" in columns_of(accounts):
        acc = rows_of_accounts(accounts, out["account_id"], ["account_id", "channel"]).rename(columns={"channel": "account_channel"})
        out = out.merge(acc, on="account_id", how="left")
    if transactions is not None and "assigned_at" in campaigns and campaigns["assigned_at"].notna().any():
        first = campaigns.drop_duplicates("account_id").reset_index(drop=True)
        hist = history_for_rows(first, purchase_history_before(first, transactions))
        out = out.merge(pd.concat([first[["account_id"]].astype({"account_id": "string"}), hist], axis=1), on="account_id",
                        how="left")
    return out


def default_segment_column(segments: pd.DataFrame) -> str | None:
    """The attribute the report cuts uplift by when none is given: ``purchases_365d`` (past-year
    purchases), else ``channel``, else ``account_channel``, else the first other attribute with 2-12
    levels; None when there is none."""
    for c in ("purchases_365d", "channel", "account_channel"):
        if c in segments and segments[c].notna().any():
            return c
    for c in segments.columns:
        if c != "account_id" and 2 <= segments[c].nunique() <= 12:
            return str(c)
    return None


def segment_label(column: str) -> str:
    """The name of a segment attribute as a reader reads it, in the report language: the suite's own history
    columns (:data:`HISTORY_COLUMNS`) and channel columns in words; a column of the user's data as it is.

    >>> from ecrm_lib.core.language import using
    >>> segment_label("purchases_365d"), segment_label("Department Name")
    ('purchases in the year before assignment', 'Department Name')
    >>> with using("ko"):
    ...     segment_label("purchases_365d")
    '배정 전 1년 동안의 구매 수'
    """
    return t_or(f"feedback.segment_columns.{column}", str(column))

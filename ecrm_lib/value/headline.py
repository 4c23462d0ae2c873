"""The headline a strategy reader needs first: revenue, customers and purchases over the last 12
months against the 12 before, and what drove the change.

Revenue is the product of three drivers::

    revenue = buying customers x purchases per customer x spend per purchase

so its change splits exactly into the three drivers' changes on a log scale
(:func:`revenue_drivers`): ``ln(R1/R0) = ln(C1/C0) + ln(F1/F0) + ln(S1/S0)``.
Each driver's share of the log change says how much of the revenue change it
explains; the reader is told the main one ("fewer customers", "fewer purchases
each", "lower spend per purchase").

A *purchase* is a customer's purchase day (all transactions of a customer on
one local calendar day), as in the purchase models (:mod:`ecrm_lib.value.features`).
The periods end on the as-of date in the config's time zone. Everything is
computed in the engine; only the two period rows come back.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({
...     "customer_id": ["a", "a", "b", "a", "c"],
...     "timestamp": pd.to_datetime(["2023-08-01", "2023-09-01", "2023-10-01", "2024-08-01", "2024-09-01"], utc=True),
...     "amount": [10.0, 10.0, 20.0, 15.0, 5.0]})
>>> p = revenue_periods(tx, as_of="2025-06-30", months=12)
>>> p[["period", "revenue", "customers", "purchases"]].values.tolist()
[['previous', 40.0, 2, 3], ['last', 20.0, 2, 2]]
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.data.engine import backend_name, local_date

__all__ = ["PERIOD_COLUMNS", "revenue_periods", "revenue_drivers", "DRIVER_WORDS"]

PERIOD_COLUMNS = ["period", "start", "end", "revenue", "customers", "purchases", "purchases_per_customer",
                  "spend_per_purchase", "transactions"]
"""Columns of :func:`revenue_periods`."""

DRIVER_WORDS = {
    "customers": ("more buying customers", "fewer buying customers"),
    "purchases_per_customer": ("more purchases per customer", "fewer purchases per customer"),
    "spend_per_purchase": ("higher spend per purchase", "lower spend per purchase"),
}
"""How each driver's rise and fall read in prose."""


def _months_before(day, months: int):
    """The same calendar day ``months`` months earlier (the month's last day when it is shorter)."""
    y, m = divmod(day.month - 1 - months, 12)
    year, month = day.year + y, m + 1
    import calendar

    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def revenue_periods(transactions, as_of, *, months: int = 12, timezone: str = "UTC",
                    customer_col: str = "customer_id", time_col: str = "timestamp",
                    amount_col: str = "amount") -> pd.DataFrame:
    """Revenue, buying customers and purchases in the last ``months`` months and the ``months`` before.

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        One row per transaction with the customer, a UTC timestamp and the amount
        (config currency). A DataFrame is handed to the engine as it is.
    as_of : date-like
        The last day of the last period (local date).
    months : int
        Length of each period in calendar months.
    timezone : str
        IANA zone of the local calendar.
    customer_col, time_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        Two rows, ``previous`` then ``last``, with :data:`PERIOD_COLUMNS`:
        ``start``/``end`` (local dates, inclusive), ``revenue`` (config currency),
        ``customers`` (with a purchase in the period), ``purchases`` (purchase
        days), ``purchases_per_customer``, ``spend_per_purchase`` (currency),
        ``transactions`` (rows). A period without purchases has 0 revenue and
        customers and NaN ratios.
    """
    import ibis

    if months < 1:
        raise ValueError(f"months must be a whole number of months (1 or more), but {months!r} was passed.")
    end = as_date(as_of, "as_of")
    start_last = _months_before(end, months) + pd.Timedelta(days=1)
    start_prev = _months_before(end, 2 * months) + pd.Timedelta(days=1)
    t = transactions if isinstance(transactions, ibis.Table) else ibis.memtable(
        transactions[[customer_col, time_col, amount_col]])
    day = local_date(t[time_col], backend_name(t), timezone)
    t = t.filter(t[customer_col].notnull(), t[time_col].notnull()).select(
        cid=t[customer_col], day=day, amount=t[amount_col].cast("float64"))
    t = t.filter((t.day >= ibis.literal(start_prev.date() if hasattr(start_prev, "date") else start_prev, type="date"))
                 & (t.day <= ibis.literal(end, type="date")))
    last_start = start_last.date() if hasattr(start_last, "date") else start_last
    t = t.mutate(period=ibis.ifelse(t.day >= ibis.literal(last_start, type="date"), "last", "previous"))
    agg = t.group_by("period").aggregate(
        revenue=t.amount.sum(), customers=t.cid.nunique(), transactions=t.count(),
        purchases=(t.cid.cast("string") + "|" + t.day.cast("string")).nunique(),
    ).to_pandas().set_index("period")
    rows = []
    for period, start, stop in (("previous", start_prev, _months_before(end, months)), ("last", start_last, end)):
        r = agg.loc[period] if period in agg.index else None
        revenue = float(r["revenue"]) if r is not None else 0.0
        customers = int(r["customers"]) if r is not None else 0
        purchases = int(r["purchases"]) if r is not None else 0
        rows.append({"period": period, "start": as_date(start), "end": as_date(stop), "revenue": revenue,
                     "customers": customers, "purchases": purchases,
                     "purchases_per_customer": purchases / customers if customers else math.nan,
                     "spend_per_purchase": revenue / purchases if purchases else math.nan,
                     "transactions": int(r["transactions"]) if r is not None else 0})
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)


def revenue_drivers(periods: pd.DataFrame) -> dict[str, Any]:
    """The revenue change between the two periods and each driver's share of it.

    Parameters
    ----------
    periods : DataFrame
        From :func:`revenue_periods`.

    Returns
    -------
    dict
        ``revenue_change`` (share, e.g. -0.36), ``customers_change``,
        ``purchases_per_customer_change``, ``spend_per_purchase_change``
        (shares), ``shares`` (``{driver: share of the log change}``, summing
        to 1), ``main_driver`` (the driver with the largest share in the
        direction of the change), ``main_driver_text`` (e.g. "fewer buying
        customers"). Changes are NaN and the driver None when either period
        has no revenue.

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["previous", "last"], "revenue": [100.0, 64.0], "customers": [10, 8],
    ...                   "purchases_per_customer": [2.0, 2.0], "spend_per_purchase": [5.0, 4.0]})
    >>> d = revenue_drivers(p)
    >>> round(d["revenue_change"], 2), d["main_driver"], {k: round(v, 2) for k, v in d["shares"].items()}
    (-0.36, 'customers', {'customers': 0.5, 'purchases_per_customer': 0.0, 'spend_per_purchase': 0.5})
    """
    prev, last = (periods.set_index("period").loc[p] for p in ("previous", "last"))
    out: dict[str, Any] = {"revenue_change": math.nan, "shares": {}, "main_driver": None, "main_driver_text": None}
    for d in DRIVER_WORDS:
        a, b = float(prev[d]), float(last[d])
        out[f"{d}_change"] = b / a - 1 if a and not math.isnan(a) and not math.isnan(b) else math.nan
    r0, r1 = float(prev["revenue"]), float(last["revenue"])
    if not (r0 > 0 and r1 > 0):
        return out
    out["revenue_change"] = r1 / r0 - 1
    logs = {d: math.log(float(last[d]) / float(prev[d])) for d in DRIVER_WORDS}
    total = sum(logs.values())
    if abs(total) < 1e-12:
        return out
    out["shares"] = {d: v / total + 0.0 for d, v in logs.items()}  # + 0.0: no "-0.0"
    main = max(logs, key=lambda d: logs[d] / total)
    out["main_driver"] = main
    out["main_driver_text"] = DRIVER_WORDS[main][0 if logs[main] > 0 else 1]
    return out

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

__all__ = ["PERIOD_COLUMNS", "revenue_periods", "revenue_drivers", "DRIVER_WORDS", "HEADLINE_KEYS", "headline_metrics",
           "periods_from_metrics", "comparable"]

PERIOD_COLUMNS = ["period", "start", "end", "revenue", "customers", "purchases", "purchases_per_customer",
                  "spend_per_purchase", "transactions", "data_start"]
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
        customers and NaN ratios. ``data_start`` (same on both rows) is the first
        local day with a transaction in the whole table (None without any): a
        period that starts before it is only partly covered (:func:`comparable`).
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
    first = t.aggregate(first=t.day.min()).to_pandas()["first"].iloc[0]
    data_start = None if first is None or pd.isna(first) else as_date(first)
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
                     "transactions": int(r["transactions"]) if r is not None else 0, "data_start": data_start})
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


HEADLINE_KEYS = {
    "revenue_last_12m": ("last", "revenue"),
    "revenue_previous_12m": ("previous", "revenue"),
    "customers_last_12m": ("last", "customers"),
    "customers_previous_12m": ("previous", "customers"),
    "purchases_last_12m": ("last", "purchases"),
    "purchases_previous_12m": ("previous", "purchases"),
    "last_12m_start": ("last", "start"),
    "previous_12m_start": ("previous", "start"),
    "first_purchase_date": ("last", "data_start"),
}
"""Metric key -> (period, column of :func:`revenue_periods`): what the data overview records."""


def comparable(periods: pd.DataFrame) -> str | None:
    """None when the two periods can be compared, else why not: ``"not_covered"`` (the data starts
    after the previous period does) or ``"no_revenue"`` (a period without purchases)."""
    prev = periods.set_index("period").loc["previous"]
    start = prev.get("data_start")
    if start is None or (isinstance(start, float) and math.isnan(start)) or as_date(start) > as_date(prev["start"]):
        return "not_covered"
    if not (float(prev["revenue"]) > 0 and float(periods.set_index("period").loc["last", "revenue"]) > 0):
        return "no_revenue"
    return None


def headline_metrics(periods: pd.DataFrame) -> dict[str, Any]:
    """The figures the data overview records (:data:`HEADLINE_KEYS`) and the change and main driver.

    Returns
    -------
    dict
        :data:`HEADLINE_KEYS` values, plus ``revenue_change_12m`` (relative,
        -0.36 = -36 %) and ``revenue_main_driver`` (a :data:`DRIVER_WORDS` key),
        both None when :func:`comparable` says the periods cannot be compared.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "amount": [10.0, 20.0, 15.0],
    ...     "timestamp": pd.to_datetime(["2023-07-01", "2023-10-01", "2024-08-01"], utc=True)})
    >>> m = headline_metrics(revenue_periods(tx, "2025-06-30"))
    >>> m["revenue_change_12m"], m["revenue_main_driver"], m["customers_previous_12m"]
    (-0.5, 'customers', 2)
    """
    p = periods.set_index("period")
    out: dict[str, Any] = {k: p.loc[period, col] for k, (period, col) in HEADLINE_KEYS.items()}
    for k, v in out.items():
        if k.split("_")[0] in ("customers", "purchases"):
            out[k] = int(v)
        elif k.startswith("revenue"):
            out[k] = float(v)
    if comparable(periods) is None:
        d = revenue_drivers(periods)
        out["revenue_change_12m"], out["revenue_main_driver"] = d["revenue_change"], d["main_driver"]
    else:
        out["revenue_change_12m"], out["revenue_main_driver"] = None, None
    return out


def periods_from_metrics(metrics: dict[str, Any]) -> pd.DataFrame | None:
    """The :func:`revenue_periods` table rebuilt from the recorded figures (:data:`HEADLINE_KEYS`), so
    that every page computes the change and drivers from the same numbers; None when any is missing."""
    rows = {"previous": {"period": "previous"}, "last": {"period": "last"}}
    for k, (period, col) in HEADLINE_KEYS.items():
        v = metrics.get(k)
        if v is None and col != "data_start":
            return None
        rows[period][col] = as_date(v) if col in ("start", "data_start") and v is not None else v
    rows["previous"]["data_start"] = rows["last"]["data_start"]
    out = pd.DataFrame([rows["previous"], rows["last"]])
    for c in ("revenue", "customers", "purchases"):
        out[c] = pd.to_numeric(out[c]).astype(float)
    out["purchases_per_customer"] = (out["purchases"] / out["customers"]).where(out["customers"] > 0)
    out["spend_per_purchase"] = (out["revenue"] / out["purchases"]).where(out["purchases"] > 0)
    return out

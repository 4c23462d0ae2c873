"""Per-customer purchase summaries (RFM) and the calibration/holdout split.

The transaction-scale work is written once, as Ibis expressions, and runs on
embedded DuckDB by default or on any Spark cluster through Ibis' PySpark
backend; only the per-customer result comes back as a pandas DataFrame, ready
for the ``lifetimes`` fitters (BG/NBD, Pareto/NBD, Gamma-Gamma). The
conventions are those of ``lifetimes`` and Fader & Hardie:

- a *purchase* is a customer's purchase **day**: every transaction row on the
  same local calendar day (in ``timezone``) is merged into one purchase whose
  amount is the day's sum;
- ``frequency`` is the number of *repeat* purchase days (distinct purchase
  days - 1); ``recency`` is the time from the first to the last purchase day;
  ``T`` is the time from the first purchase day to the end of the period;
- ``monetary_value`` is the mean amount of the repeat purchase days (0 when
  ``frequency`` is 0), as ``lifetimes`` computes it.

Everything is computed on calendar dates, never on timestamps: timestamps are
converted to local dates first (a day difference between timestamps compiled
differently on DuckDB and Spark and was off by one day).

Time units (``time_unit``)
--------------------------
``"D"``: days; ``"W"``: weeks = days / 7 (the unit of the published CDNOW
results); ``"M"``: average months = days / 30.4375 (365.25 / 12), not calendar
months.

Amounts
-------
Amounts are rounded to 4 decimal places (1/10,000 of the currency unit) and
summed exactly as decimals (``decimal(18, 4)``: a row or a day must stay below
10**14 currency units), so every engine gives the same sums in any order; only
the final means are floats (float64). They are summed per day as they are: a
refund (negative amount) is netted against that day's purchases, and a day whose net amount is zero or negative
still counts as a purchase day (``lifetimes`` does the same). Filter such rows
out of ``transactions`` beforehand if they should not count. Missing amounts
count as a purchase with no spend. Rows with a missing customer id or time are
ignored.

Running on Spark
----------------
Pass an Ibis PySpark connection as ``backend`` (or a table read through it)::

    from pyspark.sql import SparkSession
    import ibis

    spark = (SparkSession.builder.master("spark://host:7077")   # or "yarn", "k8s://..."
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    con = ibis.pyspark.connect(spark)          # Ibis also sets the session time zone to UTC
    tx = con.read_parquet("s3://bucket/transactions/*.parquet")
    summary = rfm_summary(tx, as_of="2025-03-31", customer_col="account_id")

Only the per-customer result is collected to the driver. The Spark session
time zone must stay UTC (``ibis.pyspark.connect`` sets it): naive timestamps
are read as UTC. ``tests/test_features_spark.py`` checks that DuckDB and Spark
give the same values.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({
...     "customer_id": ["a", "a", "a", "b"],
...     "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 18:00",
...                                  "2024-01-15 09:00", "2024-01-10 12:00"], utc=True),
...     "amount": [10.0, 5.0, 20.0, 7.0],
... })
>>> s = rfm_summary(tx, as_of="2024-01-31", time_unit="D")
>>> s[["frequency", "recency", "T", "monetary_value", "total_spend"]]
             frequency  recency     T  monetary_value  total_spend
customer_id
a                    1     14.0  30.0            20.0         35.0
b                    0      0.0  21.0             0.0          7.0
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.errors import DataValidationError
from ecrm_lib.data.engine import local_date

__all__ = [
    "TIME_UNITS",
    "EXCLUDED_NEW_CUSTOMERS",
    "RFM_COLUMNS",
    "CAL_HOLDOUT_COLUMNS",
    "rfm_summary",
    "calibration_holdout",
    "compress_histories",
    "holdout_daily_purchases",
    "AMOUNT_TYPE",
    "as_engine_table",
    "check_timezone",
    "purchase_day_rows",
    "money_float",
    "days_between",
    "collect_frame",
    "first_day_amount",
]

#: Length of one time unit in days.
TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 30.4375}

#: Key of ``DataFrame.attrs`` where :func:`calibration_holdout` stores the number
#: of customers left out because their first purchase falls after the calibration end.
EXCLUDED_NEW_CUSTOMERS = "excluded_new_customers"

#: Columns of :func:`rfm_summary`, in order.
RFM_COLUMNS = [
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "n_purchase_days",
    "total_spend",
    "first_purchase",
    "last_purchase",
]
#: Columns of :func:`calibration_holdout`, in order.
CAL_HOLDOUT_COLUMNS = [
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
]


# --------------------------------------------------------------------------- checks


def _check_time_unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, but {time_unit!r} was passed.")
    return TIME_UNITS[time_unit]


def check_timezone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"timezone must be an IANA time zone name such as 'UTC' or 'Asia/Seoul', but {timezone!r} was passed."
        ) from exc
    return timezone


# --------------------------------------------------------------------------- Ibis plumbing


def as_engine_table(transactions, backend, columns: Sequence[str], name: str = "transactions"):
    """A table as an Ibis table and the backend that will execute it.

    Parameters
    ----------
    transactions : pandas.DataFrame or ibis.Table
        A DataFrame goes to the engine as ``ibis.memtable`` (only ``columns``);
        an Ibis table runs on its own connection.
    backend : ibis backend or None
        None: the table's own connection, else a new in-memory DuckDB.
    columns : sequence of str
        Columns a DataFrame must have (and the only ones sent to the engine).
    name : str
        The table's name in error messages.
    """
    import ibis

    if isinstance(transactions, pd.DataFrame):
        missing = [c for c in columns if c not in transactions.columns]
        if missing:
            raise DataValidationError(
                f"{name} has no column {missing}; its columns are {list(transactions.columns)}. "
                "Name the right ones with customer_col=, time_col= and amount_col=."
            )
        # only the needed columns go to the engine (a new frame: the input is not modified)
        frame = pd.DataFrame({c: transactions[c] for c in dict.fromkeys(columns)})
        for c in frame.columns:
            s = frame[c]
            if isinstance(s.dtype, pd.DatetimeTZDtype | np.dtypes.DateTime64DType) and s.dt.unit == "ns":
                # engines hold microseconds: floor (never changes the day) instead of failing on a lossy cast
                frame[c] = s.dt.floor("us").dt.as_unit("us")
        table = ibis.memtable(_arrow_batches(frame))
    elif isinstance(transactions, ibis.Table):
        table = transactions
    else:
        raise TypeError(
            f"{name} must be a pandas DataFrame or an Ibis table expression, "
            f"but a {type(transactions).__name__} was passed."
        )
    try:
        own = table._find_backend(use_default=False)
    except Exception:  # an unbound expression (memtable): runs anywhere
        own = None
    if backend is None:
        backend = own if own is not None else ibis.duckdb.connect()
    elif own is not None and own is not backend:
        raise ValueError(
            f"{name} is bound to another Ibis connection than `backend`: pass backend=None "
            "to run on the table's own connection, or read the table through `backend`."
        )
    if backend.name not in ("duckdb", "pyspark"):
        raise ValueError(
            f"backend {backend.name!r} is not supported: features are tested on 'duckdb' and 'pyspark'. "
            "Pass an ibis.duckdb.connect() or ibis.pyspark.connect(session) connection."
        )
    return table, backend


#: Rows per Arrow record batch handed to the engine: DuckDB scans batches in
#: parallel, and a pandas frame converts to one batch (one thread) otherwise.
_BATCH_ROWS = 122_880


def _arrow_batches(frame: pd.DataFrame):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), schema=table.schema)


def _check_columns(table, customer_col: str, time_col: str, amount_col: str) -> None:
    schema = table.schema()
    missing = [c for c in (customer_col, time_col, amount_col) if c not in schema]
    if missing:
        raise DataValidationError(
            f"transactions has no column {missing}; its columns are {list(schema.names)}. "
            "Name the right ones with customer_col=, time_col= and amount_col=."
        )
    tt = schema[time_col]
    if not (tt.is_timestamp() or tt.is_date()):
        raise DataValidationError(
            f"transactions[{time_col!r}] must hold timestamps or dates, but its type is {tt}. "
            "Parse it first, e.g. pd.to_datetime(df[col], utc=True)."
        )
    at = schema[amount_col]
    if not at.is_numeric():
        raise DataValidationError(
            f"transactions[{amount_col!r}] must be numeric, but its type is {at}. "
            "Convert it first, e.g. pd.to_numeric(df[col])."
        )


def _make_engine_funcs():
    import ibis
    import ibis.expr.datatypes as dt

    amount, day = dt.dtype(AMOUNT_TYPE), dt.date

    # The engines' own "value at the smallest key" aggregates: Ibis' argmin compiles to
    # FIRST(x ORDER BY key) on DuckDB, an ordered aggregate that costs about 12 % more CPU here.
    @ibis.udf.agg.builtin(name="arg_min", signature=((amount, day), amount))
    def _duckdb_arg_min(x, key):
        """DuckDB: ``x`` of the row with the smallest ``key``."""

    @ibis.udf.agg.builtin(name="min_by", signature=((amount, day), amount))
    def _spark_min_by(x, key):
        """Spark: ``x`` of the row with the smallest ``key``."""

    return {"arg_min": {"duckdb": _duckdb_arg_min, "pyspark": _spark_min_by}}


class _LazyFuncs(dict):
    """Backend-specific builtins, made on first use (Ibis is imported lazily)."""

    def __missing__(self, key):
        self.update(_make_engine_funcs())
        return dict.__getitem__(self, key)


_ENGINE_FUNCS = _LazyFuncs()


def first_day_amount(d, backend_name: str):
    """Amount of the customer's first purchase day (days are unique per customer)."""
    return _ENGINE_FUNCS["arg_min"][backend_name](d.amount, d.day)

#: Amounts are summed as decimals with 4 places: exact, so that DuckDB and Spark
#: (and reruns with other thread counts) give identical spend columns.
AMOUNT_TYPE = "decimal(18, 4)"


def purchase_day_rows(table, backend_name, *, customer_col, time_col, amount_col, timezone, end: _dt.date):
    """One row per customer and local purchase day on or before ``end``: ``cid``, ``day``, ``amount``."""
    import ibis

    table = table.filter(table[customer_col].notnull(), table[time_col].notnull())
    t = table.select(
        cid=table[customer_col],
        day=local_date(table[time_col], backend_name, timezone),
        # exact decimal sums: the same result on every engine and in any order
        amount=table[amount_col].cast(AMOUNT_TYPE),
    )
    t = t.filter(t.day <= ibis.literal(end, type="date"))
    return t.group_by(["cid", "day"]).aggregate(amount=t.amount.sum().cast(AMOUNT_TYPE))


def money_float(sum_expr):
    """A decimal sum as float64 (missing -> 0)."""
    return sum_expr.cast("float64").fill_null(0.0)


def days_between(later, earlier):
    return later.delta(earlier, unit="day")


def _rfm_expr(table, backend_name, *, customer_col, time_col, amount_col, timezone, as_of, unit_days):
    import ibis

    d = purchase_day_rows(
        table, backend_name, customer_col=customer_col, time_col=time_col, amount_col=amount_col, timezone=timezone, end=as_of
    )
    # repeat spend = total - the first day's amount: exact, as both are decimals
    # (an arg_min needs no window; days are unique per customer, so it is well defined)
    g = d.group_by("cid").aggregate(
        n_purchase_days=d.day.count(),
        first_purchase=d.day.min(),
        last_purchase=d.day.max(),
        total=d.amount.sum(),
        first_amount=first_day_amount(d, backend_name),
    )
    g = g.mutate(total_spend=money_float(g.total), repeat_spend=money_float(g.total - g.first_amount))
    freq = g.n_purchase_days - 1
    out = g.select(
        cid=g.cid,
        frequency=freq,
        recency=days_between(g.last_purchase, g.first_purchase).cast("float64") / unit_days,
        T=days_between(ibis.literal(as_of, type="date"), g.first_purchase).cast("float64") / unit_days,
        monetary_value=ibis.ifelse(freq > 0, g.repeat_spend / freq.cast("float64"), 0.0),
        n_purchase_days=g.n_purchase_days,
        total_spend=g.total_spend,
        first_purchase=g.first_purchase,
        last_purchase=g.last_purchase,
    )
    return out.order_by("cid")


def _cal_holdout_expr(
    table, backend_name, *, customer_col, time_col, amount_col, timezone, calibration_end, observation_end, unit_days
):
    import ibis

    d = purchase_day_rows(
        table,
        backend_name,
        customer_col=customer_col,
        time_col=time_col,
        amount_col=amount_col,
        timezone=timezone,
        end=observation_end,
    )
    cal_end = ibis.literal(calibration_end, type="date")
    in_cal = d.day <= cal_end
    in_hold = d.day > cal_end
    g = d.group_by("cid").aggregate(
        first_purchase=d.day.min(),
        n_cal=d.day.count(where=in_cal),
        last_cal=d.day.max(where=in_cal),
        spend_cal=d.amount.sum(where=in_cal),
        first_amount=first_day_amount(d, backend_name),
        n_hold=d.day.count(where=in_hold),
        spend_hold=money_float(d.amount.sum(where=in_hold)),
    )
    # for new customers (first purchase in the holdout) spend_cal is NULL: they are dropped later
    g = g.mutate(repeat_spend_cal=money_float(g.spend_cal - g.first_amount))
    freq_cal = g.n_cal - 1
    out = g.select(
        cid=g.cid,
        is_new=g.first_purchase > cal_end,
        frequency_cal=freq_cal,
        recency_cal=days_between(g.last_cal, g.first_purchase).cast("float64") / unit_days,
        T_cal=days_between(cal_end, g.first_purchase).cast("float64") / unit_days,
        monetary_value_cal=ibis.ifelse(freq_cal > 0, g.repeat_spend_cal / freq_cal.cast("float64"), 0.0),
        frequency_holdout=g.n_hold,
        monetary_value_holdout=ibis.ifelse(g.n_hold > 0, g.spend_hold / g.n_hold.cast("float64"), 0.0),
    )
    return out.order_by("cid")


def collect_frame(backend, expr) -> pd.DataFrame:
    """Run ``expr`` and bring the per-customer result to pandas."""
    if backend.name == "duckdb":
        # Arrow straight to pandas: Ibis' own pandas conversion turns dates into Python objects first
        return backend.to_pyarrow(expr).to_pandas(date_as_object=False)
    return backend.to_pandas(expr)


def _finish(df: pd.DataFrame, customer_col: str, columns: list[str]) -> pd.DataFrame:
    df = df.rename(columns={"cid": customer_col}).set_index(customer_col)
    for c in columns:
        if c.startswith("frequency") or c == "n_purchase_days":
            df[c] = df[c].astype("int64")
        elif c in ("first_purchase", "last_purchase"):
            df[c] = df[c].astype("datetime64[s]")
        elif c in df:
            df[c] = df[c].astype("float64")
    return df


# --------------------------------------------------------------------------- public API


def rfm_summary(
    transactions,
    *,
    as_of,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    time_unit: str = "W",
    timezone: str = "UTC",
    backend=None,
) -> pd.DataFrame:
    """Per-customer recency, frequency, age and spend, as ``lifetimes`` expects them.

    Runs as one Ibis expression on ``backend``; only the per-customer result is
    brought back to pandas.

    Parameters
    ----------
    transactions : pandas.DataFrame or ibis.Table
        One row per purchase line, with a customer id, a time and an amount.
        ``time_col`` holds timestamps (tz-aware, or naive and then read as UTC)
        or calendar dates (Python ``date`` objects or an Ibis ``date`` column,
        taken as local dates already). Note that a pandas ``datetime64``
        column of dates is a column of naive timestamps at midnight UTC: with a
        ``timezone`` west of UTC they fall on the previous local day, so pass
        ``df[col].dt.date`` (or keep ``timezone="UTC"``) for such data. A DataFrame is handed
        to the backend with ``ibis.memtable``; an Ibis table (e.g. from
        ``con.read_parquet``) runs on its own connection.
    as_of : date, str or Timestamp
        Last day of the observation period (inclusive), a local calendar date in
        ``timezone``; purchases after it are ignored. A tz-aware Timestamp is
        converted to ``timezone`` and its date taken.
    customer_col, time_col, amount_col : str
        Column names in ``transactions``.
    time_unit : {"W", "D", "M"}
        Unit of ``recency`` and ``T``: "D" days, "W" weeks (days / 7), "M"
        average months (days / 30.4375).
    timezone : str
        IANA time zone whose calendar days define a purchase day
        (e.g. "Asia/Seoul"): two purchases on the same local day are one purchase.
    backend : ibis backend, optional
        An ``ibis.duckdb.connect()`` or ``ibis.pyspark.connect(session)``
        connection. Default: the table's own connection, else a new in-memory
        DuckDB.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted), one row per customer with a
        purchase on or before ``as_of``:

        - ``frequency`` (int): repeat purchase days = purchase days - 1;
        - ``recency`` (float, ``time_unit``): first to last purchase day;
        - ``T`` (float, ``time_unit``): first purchase day to ``as_of``;
        - ``monetary_value`` (float, currency): mean amount of the repeat purchase
          days, 0 when ``frequency`` is 0;
        - ``n_purchase_days`` (int): distinct purchase days;
        - ``total_spend`` (float, currency): sum of all amounts, first day included;
        - ``first_purchase``, ``last_purchase`` (``datetime64[s]`` at midnight):
          local calendar dates.

    Raises
    ------
    DataValidationError
        A named column is missing or of the wrong type.
    ValueError
        An unknown ``time_unit`` or ``timezone``, an unreadable ``as_of``, or an
        unsupported backend.

    Examples
    --------
    >>> from ecrm_lib.value.features import rfm_summary
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-01-08"]),
    ...                    "amount": [10.0, 30.0, 5.0]})
    >>> rfm_summary(tx, as_of="2024-01-29")[["frequency", "recency", "T", "monetary_value"]]
                 frequency  recency    T  monetary_value
    customer_id
    1                    1      2.0  4.0            30.0
    2                    0      0.0  3.0             0.0
    """
    unit_days = _check_time_unit(time_unit)
    timezone = check_timezone(timezone)
    as_of = as_date(as_of, "as_of", timezone=timezone)
    table, backend = as_engine_table(transactions, backend, (customer_col, time_col, amount_col))
    _check_columns(table, customer_col, time_col, amount_col)
    expr = _rfm_expr(
        table,
        backend.name,
        customer_col=customer_col,
        time_col=time_col,
        amount_col=amount_col,
        timezone=timezone,
        as_of=as_of,
        unit_days=unit_days,
    )
    return _finish(collect_frame(backend, expr), customer_col, RFM_COLUMNS)


def calibration_holdout(
    transactions,
    *,
    calibration_end,
    observation_end,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    time_unit: str = "W",
    timezone: str = "UTC",
    backend=None,
) -> pd.DataFrame:
    """Per-customer summary of a calibration period and the holdout period after it.

    The ``lifetimes`` split (``calibration_and_holdout_data``) as one Ibis
    expression: the calibration columns are :func:`rfm_summary` with
    ``as_of=calibration_end``; the holdout columns count the purchase days in
    (``calibration_end``, ``observation_end``].

    Parameters
    ----------
    transactions : pandas.DataFrame or ibis.Table
        As for :func:`rfm_summary`.
    calibration_end : date, str or Timestamp
        Last day of the calibration period (inclusive, local date in ``timezone``).
    observation_end : date, str or Timestamp
        Last day of the holdout period (inclusive); must be after ``calibration_end``.
        Purchases after it are ignored.
    customer_col, time_col, amount_col, time_unit, timezone, backend
        As for :func:`rfm_summary`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted), one row per customer whose first
        purchase is on or before ``calibration_end``:

        - ``frequency_cal`` (int), ``recency_cal``, ``T_cal`` (float, ``time_unit``),
          ``monetary_value_cal`` (float, currency): as in :func:`rfm_summary`;
        - ``frequency_holdout`` (int): purchase days in the holdout period (all of
          them count: the first purchase happened in calibration);
        - ``monetary_value_holdout`` (float, currency): mean amount of those days,
          0 when there are none;
        - ``duration_holdout`` (float, ``time_unit``): length of the holdout period.

        Customers whose first purchase falls in the holdout period are left out;
        their number is in ``result.attrs["excluded_new_customers"]`` (int; the
        key is :data:`EXCLUDED_NEW_CUSTOMERS`).

    Notes
    -----
    ``lifetimes`` takes ``monetary_value_holdout`` as the mean of the raw holdout
    transaction rows; here it is the mean of the (same-day merged) holdout
    purchase days, like every other spend column. The two agree when no
    customer buys twice on one day.

    Raises
    ------
    DataValidationError, ValueError
        As for :func:`rfm_summary`, and when ``observation_end`` is not after
        ``calibration_end``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-02-05", "2024-02-01"]),
    ...                    "amount": [10.0, 30.0, 12.0, 5.0]})
    >>> ch = calibration_holdout(tx, calibration_end="2024-01-29", observation_end="2024-02-26")
    >>> ch[["frequency_cal", "recency_cal", "T_cal"]]
                 frequency_cal  recency_cal  T_cal
    customer_id
    1                        1          1.0    4.0
    >>> ch[["frequency_holdout", "monetary_value_holdout", "duration_holdout"]]
                 frequency_holdout  monetary_value_holdout  duration_holdout
    customer_id
    1                            1                    12.0               4.0
    >>> ch.attrs["excluded_new_customers"]
    1
    """
    unit_days = _check_time_unit(time_unit)
    timezone = check_timezone(timezone)
    cal_end = as_date(calibration_end, "calibration_end", timezone=timezone)
    obs_end = as_date(observation_end, "observation_end", timezone=timezone)
    if obs_end <= cal_end:
        raise ValueError(
            f"observation_end ({obs_end}) must be after calibration_end ({cal_end}): the holdout period "
            "is the days after calibration_end up to observation_end."
        )
    table, backend = as_engine_table(transactions, backend, (customer_col, time_col, amount_col))
    _check_columns(table, customer_col, time_col, amount_col)
    expr = _cal_holdout_expr(
        table,
        backend.name,
        customer_col=customer_col,
        time_col=time_col,
        amount_col=amount_col,
        timezone=timezone,
        calibration_end=cal_end,
        observation_end=obs_end,
        unit_days=unit_days,
    )
    df = collect_frame(backend, expr)
    is_new = df.pop("is_new").astype(bool)
    n_new = int(is_new.sum())
    df = df.loc[~is_new.to_numpy()].reset_index(drop=True)
    df["duration_holdout"] = (obs_end - cal_end).days / unit_days
    df = _finish(df, customer_col, CAL_HOLDOUT_COLUMNS)
    df.attrs[EXCLUDED_NEW_CUSTOMERS] = n_new
    return df


def compress_histories(
    summary: pd.DataFrame, cols: Sequence[str] = ("frequency", "recency", "T")
) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique purchase histories with how many customers share each.

    BG/NBD and Pareto/NBD depend on a customer only through (frequency,
    recency, T), and many customers share the same triple; fitting on the unique
    rows with ``weights=`` gives the same likelihood for a fraction of the work.

    Parameters
    ----------
    summary : pandas.DataFrame
        Per-customer summary, e.g. from :func:`rfm_summary`.
    cols : sequence of str
        Columns that identify a history (exact equality of their values).

    Returns
    -------
    unique : pandas.DataFrame
        The distinct rows of ``summary[cols]``, sorted, with a default index and
        a ``weight`` column (int64, customers per row; sums to ``len(summary)``).
    inverse : numpy.ndarray
        int64 array of length ``len(summary)``: row ``i`` of ``summary`` is row
        ``inverse[i]`` of ``unique``, so a per-history result ``r`` (array)
        expands back to customers as ``r[inverse]``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0.0, 0.0, 3.0], "T": [5.0, 5.0, 5.0]})
    >>> unique, inverse = compress_histories(s)
    >>> unique
       frequency  recency    T  weight
    0          0      0.0  5.0       2
    1          2      3.0  5.0       1
    >>> inverse.tolist()
    [0, 0, 1]

    A BG/NBD fit on the unique rows::

        bgf.fit(unique["frequency"], unique["recency"], unique["T"], weights=unique["weight"])
    """
    cols = list(cols)
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise DataValidationError(
            f"summary has no column {missing}; its columns are {list(summary.columns)}. Pass cols= to name them."
        )
    data = summary[cols]
    if data.isna().to_numpy().any():
        raise DataValidationError(
            f"summary[{cols}] has missing values; drop or fill those rows before compressing (a missing value "
            "cannot be weighted)."
        )
    groups = data.groupby(cols, sort=True, dropna=False)
    inverse = groups.ngroup().to_numpy(dtype=np.int64)
    unique = groups.size().rename("weight").reset_index()
    unique["weight"] = unique["weight"].astype("int64")
    return unique, inverse


def holdout_daily_purchases(
    transactions,
    *,
    calibration_end,
    observation_end,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    timezone: str = "UTC",
    backend=None,
) -> pd.DataFrame:
    """Purchase days per local day of the holdout period, of the customers who had bought by ``calibration_end``.

    The engine's daily sums behind the holdout tracking chart
    (:func:`ecrm_lib.value.holdout.holdout_tracking`): the customers are those
    of :func:`calibration_holdout` (first purchase on or before
    ``calibration_end``), the days those after ``calibration_end`` up to
    ``observation_end``; summed over the customers, the counts equal the
    ``frequency_holdout`` column of :func:`calibration_holdout`.

    Parameters
    ----------
    transactions, customer_col, time_col, amount_col, timezone, backend
        As for :func:`rfm_summary`.
    calibration_end, observation_end : date, str or Timestamp
        As for :func:`calibration_holdout`.

    Returns
    -------
    pandas.DataFrame
        ``day`` (``datetime64[s]`` at midnight, sorted) and ``purchases`` (int:
        customers with a purchase on that day); days without one are absent.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "timestamp": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-02-05", "2024-02-05"]),
    ...                    "amount": [10.0, 30.0, 12.0, 5.0]})
    >>> holdout_daily_purchases(tx, calibration_end="2024-01-29", observation_end="2024-02-26")
             day  purchases
    0 2024-02-05          1
    """
    timezone = check_timezone(timezone)
    cal_end = as_date(calibration_end, "calibration_end", timezone=timezone)
    obs_end = as_date(observation_end, "observation_end", timezone=timezone)
    if obs_end <= cal_end:
        raise ValueError(f"observation_end ({obs_end}) must be after calibration_end ({cal_end}).")
    table, backend = as_engine_table(transactions, backend, (customer_col, time_col, amount_col))
    _check_columns(table, customer_col, time_col, amount_col)
    import ibis

    d = purchase_day_rows(table, backend.name, customer_col=customer_col, time_col=time_col, amount_col=amount_col,
                       timezone=timezone, end=obs_end)
    cal = ibis.literal(cal_end, type="date")
    first = d.group_by("cid").aggregate(first_day=d.day.min())
    known = first.filter(first.first_day <= cal).select("cid")
    hold = d.filter(d.day > cal).semi_join(known, "cid")
    expr = hold.group_by("day").aggregate(purchases=hold.cid.count()).order_by("day")
    out = collect_frame(backend, expr)
    return pd.DataFrame({"day": out["day"].astype("datetime64[s]"), "purchases": out["purchases"].astype("int64")})

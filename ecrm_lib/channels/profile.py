"""The channel profile of every customer: the ``customer_channels`` product.

- :func:`customer_channel_table` (in the engine) and :func:`customer_channel_features` (the same in pandas):
  one row per customer with accounts,
  channels, purchase days, purchases and contacts per channel, cost to serve in the
  analysis window, share of contacts outside office hours, internet-only
  reach and first and last dates; every part is an aggregate in the engine,
  joined there; the product is written from the engine;
- :func:`feature_overview`: mean, median and share missing of each column;
- :func:`feature_overview_display` and :func:`profile_column_words`: that overview for a page, each
  column named in the report language and each figure in its unit (the product keeps its columns).

Later notebooks read the product (selection, evaluation, expansion); the
iFood adapter :func:`ecrm_lib.channels.datasets.ifood_customer_features`
fills the same columns from per-customer channel counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from ecrm_lib.channels.common import ChannelGroup, channel_groups_of, customer_channels_long, self_account_map, window_filter, with_customer
from ecrm_lib.channels.cost import cost_contacts
from ecrm_lib.channels.reach import DEFAULT_OFFICE_HOURS, has_time_of_day, offhours_flag
from ecrm_lib.core.format import format_number
from ecrm_lib.core.i18n import has, t
from ecrm_lib.data.engine import backend_name
from ecrm_lib.data.overview import purchase_days
from ecrm_lib.data.tables import as_table, direction_is, is_ibis, with_channel

#: Dates of the product: UTC instants.
_UTC = dt.Timestamp(timezone="UTC")

__all__ = ["channel_slug", "customer_channel_features", "customer_channel_table", "feature_overview", "feature_overview_display", "profile_column_words"]


def channel_slug(text: str) -> str:
    """A channel name as a column-name part: lower case, runs of other characters as ``_``.

    Examples
    --------
    >>> channel_slug("Call Centre"), channel_slug("(unknown)")
    ('call_centre', 'unknown')
    """
    s = re.sub(r"[^0-9a-z]+", "_", str(text).casefold()).strip("_")
    return s or "unknown"


def _share_aggregates(t, prefix: str) -> dict[str, Any]:
    """Aggregates of ``t`` (grouped per customer): the share of its rows per channel slug, named ``<prefix><slug>`` (sorted)."""
    channels = t.select("channel").distinct().execute()["channel"].dropna().astype(str)
    slugs: dict[str, list[str]] = {}
    for c in channels:
        slugs.setdefault(channel_slug(c), []).append(c)
    n = t.count().cast("float64")
    return {f"{prefix}{slug}": t.channel.isin(slugs[slug]).cast("int64").sum().cast("float64") / n for slug in sorted(slugs)}


def customer_channel_table(
    account_map=None,
    *,
    accounts=None,
    transactions=None,
    contacts=None,
    channel_costs: pd.DataFrame | None = None,
    cost_overrides: Mapping[str, float] | None = None,
    channel_group: ChannelGroup = None,
    timezone: str = "UTC",
    office_hours: Sequence[int] = DEFAULT_OFFICE_HOURS,
    as_of: Any = None,
    window_months: int | None = None,
    channels_long=None,
) -> ibis.Table:
    """One row per customer with their channel behaviour (the ``customer_channels`` product), in the engine.

    Counts, shares and dates are computed over every record given (the
    loader has already set aside rows after the as-of date). ``n_purchases``
    counts purchase days, as every page does
    (:data:`~ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`: all of a
    customer's transactions on one local calendar day in ``timezone`` are one
    purchase; :func:`~ecrm_lib.data.overview.purchase_days`), so that it
    equals the customer-value page's purchases; the channel shares
    ``share_purchases_<channel>`` are shares of the customer's transactions
    (a purchase day can span two channels). The one window
    quantity, ``cost_to_serve``, covers the analysis window only: the
    contacts of the last ``window_months`` calendar months to ``as_of``
    (:func:`~ecrm_lib.channels.common.in_window`, local dates in
    ``timezone``), the same contacts the channel report prices for its
    ``cost_to_serve_total``, so that the sum over customers equals that
    total (up to contacts whose account has no customer id). No personal
    data: only ids, counts, shares, costs and dates.

    Parameters
    ----------
    account_map : ibis.Table or DataFrame, optional
        account_id -> customer_id; None: every account is its own customer.
    accounts, transactions, contacts : ibis.Table or DataFrame, optional
        Canonical tables.
    channel_costs : DataFrame, optional
        The channel-cost table; None leaves ``cost_to_serve`` missing.
    cost_overrides : mapping, optional
        As in :func:`ecrm_lib.channels.cost.cost_contacts`.
    channel_group : callable or mapping, optional
        Channel groups; ``internet_only`` uses the group "internet".
    timezone : str
        Local time zone (office hours, the window's dates).
    office_hours : (int, int)
        Opening and closing hour, local time, Monday to Friday.
    as_of : date or str, optional
        Last local date of the cost window (the run's as-of date). None: the
        cost covers every contact given (no window).
    window_months : int, optional
        Length of the cost window in calendar months (the channel report's
        ``time_window_months``); None or 0 with an ``as_of``: every contact
        up to ``as_of``.
    channels_long : ibis.Table, optional
        :func:`~ecrm_lib.channels.common.customer_channels_long` of the same
        tables when the caller has it already (e.g. cached); computed otherwise.

    Returns
    -------
    ibis.Table
        On the tables' engine (a DataFrame input runs on an in-memory DuckDB), ordered by customer_id; typed as
        the product: customer_id (text); n_accounts; n_channels (channels
        the customer is known in, see
        :func:`~ecrm_lib.channels.common.customer_channels_long`);
        n_purchases (purchase days: distinct local dates with a transaction,
        up to ``as_of`` when given); n_contacts (both directions, every record);
        share_purchases_<channel> (0-1 of the customer's transactions) and
        share_contacts_<channel> (0-1 of their contacts) per channel
        (:func:`channel_slug` names, sorted; NaN when the customer has none); cost_to_serve (currency, priced contacts in the cost
        window; 0 for a customer without one; NaN without a cost table);
        offhours_share (inbound contacts outside office hours, 0-1; NaN
        without inbound contacts or when contact times are dates only);
        internet_only (bool); first_seen, last_seen (UTC, over account
        creation, purchases and contacts).

    Raises
    ------
    ValueError
        ``window_months`` without ``as_of`` (a window needs its end).
    """
    if window_months and as_of is None:
        raise ValueError(f"window_months={window_months!r} needs as_of (the last date of the window); pass the run's as-of date.")
    acc = as_table(accounts, "accounts")
    tx = as_table(transactions, "transactions")
    co = as_table(contacts, "contacts")
    amap = as_table(account_map if account_map is not None else self_account_map(acc, tx, co), "account_map")
    tx_c = with_channel(with_customer(tx, amap), acc) if tx is not None else None
    co_c = with_channel(with_customer(co, amap), acc) if co is not None else None

    # One aggregation per source table (each scanned once), joined per customer in the engine.
    per_map = amap.group_by(customer_id=amap.customer_id.cast("string")).agg(n_accounts=amap.count())
    ids = per_map.select("customer_id")
    for t in (tx_c, co_c):
        if t is not None:
            ids = ids.union(t.select(customer_id=t.customer_id.cast("string")), distinct=True)
    parts = [per_map]
    long = channels_long if channels_long is not None else customer_channels_long(amap, acc, tx, co)
    if long is not None:
        channels = long.select("channel").distinct().execute()["channel"].dropna()
        members = [c for c, g in channel_groups_of(channels, channel_group).items() if g == "internet"]
        inside = long.channel.isin(members) if members else long.channel.isnull() & long.channel.notnull()  # a column of False
        parts.append(long.group_by("customer_id").agg(n_channels=long.count(), internet_only=inside.fill_null(False).all()))
    share_cols: list[str] = []
    if tx_c is not None:
        t = tx_c.mutate(customer_id=tx_c.customer_id.cast("string"))
        shares = _share_aggregates(t, "share_purchases_")
        share_cols += list(shares)
        parts.append(t.group_by("customer_id").agg(**shares, _tx_first=t.timestamp.min(), _tx_last=t.timestamp.max()))
        days = purchase_days(t, "customer_id", as_of, timezone)  # the one definition of a purchase (REPEAT_BUYER_DEFINITION)
        parts.append(days.select("customer_id", n_purchases=days.purchase_days))
    has_cost = co_c is not None and channel_costs is not None
    timed = co is not None and has_time_of_day(co, timezone)
    if co_c is not None:
        t = co_c.mutate(customer_id=co_c.customer_id.cast("string"))
        shares = _share_aggregates(t, "share_contacts_")
        share_cols += list(shares)
        aggs: dict[str, Any] = {}
        if has_cost:
            priced = cost_contacts(t if as_of is None else t.filter(window_filter(t, as_of, window_months, timezone)), channel_costs, cost_overrides)
            parts.append(priced.group_by("customer_id").agg(cost_to_serve=priced.cost.sum()))
        if timed:
            inbound = t.timestamp.notnull() & direction_is(t, "inbound")
            off = offhours_flag(t.timestamp, backend_name(t), timezone, office_hours)
            aggs["_n_inbound"] = inbound.cast("int64").sum()
            aggs["_n_off"] = (inbound & off).cast("int64").sum()
        parts.append(t.group_by("customer_id").agg(n_contacts=t.count(), **shares, **aggs, _co_first=t.timestamp.min(), _co_last=t.timestamp.max()))
    if acc is not None and "created_at" in acc.columns:
        a = with_customer(acc.select("account_id", "created_at"), amap)
        a = a.mutate(customer_id=a.customer_id.cast("string"))
        parts.append(a.group_by("customer_id").agg(_acc_first=a.created_at.min(), _acc_last=a.created_at.max()))

    joined = ids.distinct()
    for i, part in enumerate(parts):
        p = part.rename(**{f"_k{i}": "customer_id"})
        joined = joined.left_join(p, joined.customer_id == p[f"_k{i}"]).drop(f"_k{i}")
    firsts = [joined[c] for c in ("_acc_first", "_tx_first", "_co_first") if c in joined.columns]
    lasts = [joined[c] for c in ("_acc_last", "_tx_last", "_co_last") if c in joined.columns]
    extra = {}
    if firsts:  # LEAST and GREATEST skip missing values on DuckDB and Spark
        extra["first_seen"] = ibis.least(*firsts) if len(firsts) > 1 else firsts[0]
        extra["last_seen"] = ibis.greatest(*lasts) if len(lasts) > 1 else lasts[0]
    if timed:
        extra["offhours_share"] = ibis.ifelse(joined._n_inbound > 0, joined._n_off.cast("float64") / joined._n_inbound.cast("float64"), ibis.null("float64"))
    final = joined.mutate(**extra)
    cols = {"customer_id": final.customer_id.cast("string"), "n_accounts": final.n_accounts.fill_null(1).cast("int64")}
    for c in ("n_channels", "n_purchases", "n_contacts"):
        cols[c] = final[c].fill_null(0).cast("int64") if c in final.columns else ibis.literal(0, "int64")
    cols.update({c: final[c].cast("float64") for c in share_cols})
    cols["cost_to_serve"] = final.cost_to_serve.cast("float64").fill_null(0.0) if has_cost else ibis.null("float64")
    cols["offhours_share"] = final.offhours_share.cast("float64") if timed else ibis.null("float64")
    cols["internet_only"] = final.internet_only.fill_null(False).cast("boolean") if "internet_only" in final.columns else ibis.literal(False)
    for c in ("first_seen", "last_seen"):
        cols[c] = final[c].cast(_UTC) if c in final.columns else ibis.null(_UTC)
    return final.select(**cols).order_by("customer_id")


def customer_channel_features(account_map=None, **kwargs) -> pd.DataFrame:
    """:func:`customer_channel_table` in pandas: one row per customer, sorted by customer_id.

    Takes the same arguments. Text is pandas' ``string`` dtype, counts ``int64``, shares and costs ``float64``,
    ``internet_only`` ``bool``, dates ``datetime64[us, UTC]`` (the dtypes the product has when read back). For a
    large customer base write the table from the engine instead (``RunContext.write_product`` takes the table).
    """
    out = customer_channel_table(account_map, **kwargs).to_pyarrow().to_pandas()
    out["customer_id"] = out["customer_id"].astype("string")
    for c in ("first_seen", "last_seen"):
        out[c] = out[c].astype("datetime64[us, UTC]")
    return out


def feature_overview(features) -> pd.DataFrame:
    """One row per numeric or boolean column of the feature product: mean, median and share missing.

    Parameters
    ----------
    features : DataFrame or ibis.Table
        The product (:func:`customer_channel_features`), or the same as a table in the engine
        (:func:`customer_channel_table`, or the written product read back): then one aggregate query computes
        every figure there (medians exact, as pandas' on DuckDB).

    Returns
    -------
    DataFrame
        column, mean, median, missing_share (0-1; NaN without rows).
    """
    out = ["column", "mean", "median", "missing_share"]
    if not is_ibis(features):  # a frame's numeric and boolean columns are summarised by the same query (DuckDB in memory)
        num = [c for c in features.columns if pd.api.types.is_bool_dtype(features[c])
               or (pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_datetime64_any_dtype(features[c]))]
        features = ibis.memtable(features[num].rename(columns=str))
    schema = features.schema()
    cols = [c for c, typ in schema.items() if typ.is_numeric() or typ.is_boolean()]
    if not cols:
        return pd.DataFrame(columns=out)
    aggs = {"_n": features.count()}
    for i, c in enumerate(cols):
        x = features[c].cast("float64")
        aggs.update({f"_mean{i}": x.mean(), f"_median{i}": x.median(), f"_missing{i}": x.isnull().cast("int64").sum()})
    r = features.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    n = int(r["_n"])

    def num(v):
        return float("nan") if v is None else float(v)

    return pd.DataFrame([{"column": c, "mean": num(r[f"_mean{i}"]), "median": num(r[f"_median{i}"]),
                          "missing_share": r[f"_missing{i}"] / n if n else float("nan")} for i, c in enumerate(cols)], columns=out)


#: Per-channel share columns of the profile: prefix -> message of ``channel_integration.lib.profile``.
_SHARE_PREFIXES = {"share_purchases_": "share_purchases", "share_contacts_": "share_contacts"}
#: Profile columns shown as a share of customers or contacts (0-1, shown in %) and in money.
_SHARE_COLUMNS, _MONEY_COLUMNS = ("offhours_share", "internet_only"), ("cost_to_serve",)


def profile_column_words(column: str, currency: str = "") -> str:
    """A column of the ``customer_channels`` product in words of the report language, with its unit.

    Words come from ``channel_integration.lib.profile.*``; a per-channel share names its channel as the
    product does (``share_purchases_call_centre`` -> "share of purchases: call centre"); a column the
    suite does not know is shown with spaces for underscores.

    Parameters
    ----------
    column : str
        A column of :func:`customer_channel_features`.
    currency : str, optional
        Currency of ``cost_to_serve`` (e.g. ``"KRW"``), named after it; nothing when empty.

    Examples
    --------
    >>> profile_column_words("n_purchases"), profile_column_words("cost_to_serve", "KRW")
    ('purchase days', 'cost to serve (KRW)')
    >>> profile_column_words("share_purchases_call_centre"), profile_column_words("my_score")
    ('share of purchases: call centre', 'my score')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     profile_column_words("n_purchases"), profile_column_words("share_contacts_web")
    ('구매일 수', '접촉 비중: web')
    """
    cur = t("channel_integration.lib.profile.unit", cur=currency) if currency else ""
    key = f"channel_integration.lib.profile.{column}"
    if column not in _SHARE_PREFIXES.values() and has(key):
        return t(key, cur=cur)
    for prefix, what in _SHARE_PREFIXES.items():
        if column.startswith(prefix):
            return t(f"channel_integration.lib.profile.{what}", ch=column[len(prefix):].replace("_", " "))
    return column.replace("_", " ")


def feature_overview_display(overview: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`feature_overview` for a page: columns in words, mean and median written in their units.

    Shares (per-channel shares, ``offhours_share``, ``internet_only`` as the share of customers) become
    percentages with one decimal, ``cost_to_serve`` whole units of money (the currency is in the column's
    words), counts two decimals; ``missing_share`` stays a number (0-1) for ``show(percent_columns=...)``.
    The words are the report language's (call it once per language); the figures are the same in every
    language.

    Parameters
    ----------
    overview : DataFrame
        Output of :func:`feature_overview` (column, mean, median, missing_share).
    currency : str, optional
        Currency of the money columns.

    Returns
    -------
    DataFrame
        The same rows and columns; ``column``, ``mean`` and ``median`` as text.

    Examples
    --------
    >>> ov = pd.DataFrame({"column": ["n_purchases", "share_purchases_web", "cost_to_serve", "internet_only"],
    ...                    "mean": [3.341, 0.25, 2419.57, 0.255], "median": [2.0, 0.0, 0.0, 0.0], "missing_share": [0.0] * 4})
    >>> shown = feature_overview_display(ov, "KRW")
    >>> shown["column"].tolist()
    ['purchase days', 'share of purchases: web', 'cost to serve (KRW)', 'internet-only customers']
    >>> shown["mean"].tolist()
    ['3.34', '25.0%', '2,420', '25.5%']
    """
    missing = {"column", "mean", "median", "missing_share"} - set(overview.columns)
    if missing:
        raise ValueError(f"feature_overview_display needs the table of feature_overview; it lacks {sorted(missing)}")
    out = overview.copy()
    names = [str(c) for c in overview["column"]]
    for col in ("mean", "median"):
        vals = []
        for name, v in zip(names, overview[col], strict=True):
            if name in _SHARE_COLUMNS or name.startswith(tuple(_SHARE_PREFIXES)):
                vals.append(format_number(v, "%", 1))
            elif name in _MONEY_COLUMNS:
                vals.append(format_number(v))
            else:
                vals.append(format_number(v, digits=2))
        out[col] = pd.Series(vals, index=out.index, dtype="string")
    out["column"] = pd.Series([profile_column_words(n, currency) for n in names], index=out.index, dtype="string")
    return out

"""The value of integration: what joining channel accounts into customers changes.

Once :func:`ecrm_lib.channels.identity.resolve_identities` has mapped every
account to a pseudonymous ``customer_id`` (its ``account_map``), this module
answers how many accounts are really one customer, and how purchase
frequency, spend and recency look per account versus per customer. A
purchase is a buying unit's purchase day and a repeat buyer bought on two or
more days up to the as-of date: the suite's one definition
(:data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`, counted by
:func:`ecrm_lib.data.overview.purchase_days` and
:func:`ecrm_lib.data.overview.repeat_buyers`), so the per-customer figures
are the customer-value page's.

- :func:`integration_summary`: accounts, customers, customers known in two
  or more channels, accounts the map misses;
- :func:`purchase_summary`: purchase days, spend and recency per account or
  per customer;
- :func:`integration_comparison`, :func:`comparison_display`,
  :func:`purchase_count_distribution`: the same purchase figures counted per
  account and per customer;
- :func:`identity_accuracy`: pairwise precision, recall and F1 against a
  truth file (the notebook reads it through ``RunContext.truth``).

The other channel questions live beside it: channel mix and migration
(:mod:`~ecrm_lib.channels.mix`), cost to serve and the what-if
(:mod:`~ecrm_lib.channels.cost`), reach off hours and online only
(:mod:`~ecrm_lib.channels.reach`), conflicts (:mod:`~ecrm_lib.channels.conflicts`),
the per-customer channel profile (:mod:`~ecrm_lib.channels.profile`) and
the iFood and Olist adapters (:mod:`~ecrm_lib.channels.datasets`); what they
share is in :mod:`~ecrm_lib.channels.common`.

Tables are Ibis tables on the run's engine or pandas DataFrames (tests,
small data); the work runs in the engine and only aggregates or per-unit
summaries come back. Calendar dates are local dates in the config's time
zone (``timezone``); money is in the config's currency; recency in days.
Nothing returned here holds a name, e-mail or phone number.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"account_id": ["W1", "S1", "W1", "S1"], "amount": [10.0, 20.0, 30.0, 5.0],
...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-01"], utc=True)})
>>> amap = pd.DataFrame({"account_id": ["W1", "S1"], "customer_id": ["C1", "C1"]})
>>> comp = integration_comparison(tx, amap, "2025-06-30").set_index("measure")
>>> comp.loc["mean purchase days", ["per_account", "per_customer"]].tolist()   # W1 and S1 both bought on 1 March: one day of C1
[2.0, 3.0]
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from ecrm_lib.channels.common import customer_channels_long, unit_purchases, with_customer
from ecrm_lib.channels.identity import pairwise_metrics
from ecrm_lib.core.dates import as_date
from ecrm_lib.core.format import format_number
from ecrm_lib.core.i18n import t
from ecrm_lib.data.overview import repeat_buyers
from ecrm_lib.data.tables import as_table

__all__ = [
    "integration_summary",
    "purchase_summary",
    "integration_comparison",
    "comparison_display",
    "purchase_count_distribution",
    "identity_accuracy",
]

_SUMMARY_COLUMNS = ["purchase_days", "repeat_purchases", "n_transactions", "total_spend", "mean_spend", "first_purchase",
                    "last_purchase", "recency_days"]


def integration_summary(account_map, accounts=None, transactions=None, contacts=None, *, channels_long=None) -> dict[str, Any]:
    """Accounts versus customers, and how many customers use two or more channels.

    Parameters
    ----------
    account_map : ibis.Table or DataFrame
        account_id, customer_id (from identity resolution).
    accounts, transactions, contacts : ibis.Table or DataFrame, optional
        Canonical tables; their channels count towards "channels used"
        (see :func:`~ecrm_lib.channels.common.customer_channels_long`).
    channels_long : ibis.Table, optional
        That function's result for the same tables when the caller has it
        already (e.g. cached); computed otherwise.

    Returns
    -------
    dict
        n_accounts, n_customers, accounts_per_customer, n_multi_account
        (customers holding 2+ accounts), n_multichannel and
        multichannel_share (customers known in 2+ channels, over all
        customers of the map), unmapped_accounts (account ids in
        transactions or contacts missing from the map; each counted as its
        own customer elsewhere).
    """
    amap = as_table(account_map, "account_map")
    sizes = amap.group_by("customer_id").agg(n=amap.account_id.count())
    counts = sizes.aggregate(n_customers=sizes.count(), n_multi=(sizes.n >= 2).sum()).execute().iloc[0]
    n_acc = int(amap.account_id.nunique().execute())
    n_cust = int(counts["n_customers"])
    long = channels_long if channels_long is not None else customer_channels_long(amap, accounts, transactions, contacts)
    multi = 0
    if long is not None:
        mapped = long.semi_join(sizes, long.customer_id == sizes.customer_id)
        per = mapped.group_by("customer_id").agg(n=mapped.channel.count())
        multi = int((per.n >= 2).sum().execute() or 0)
    tables = [as_table(t) for t in (transactions, contacts) if t is not None]
    ids = [t.select(account_id=t.account_id.cast("string")) for t in tables if "account_id" in t.columns]
    unmapped = 0
    if ids:
        u = ids[0]
        for other in ids[1:]:
            u = u.union(other, distinct=True)
        u = u.filter(u.account_id.notnull()).distinct()
        known = amap.select(_known=amap.account_id.cast("string"))
        unmapped = int(u.anti_join(known, u.account_id == known._known).count().execute())
    return {
        "n_accounts": n_acc,
        "n_customers": n_cust,
        "accounts_per_customer": n_acc / n_cust if n_cust else float("nan"),
        "n_multi_account": int(counts["n_multi"] or 0),
        "n_multichannel": multi,
        "multichannel_share": multi / n_cust if n_cust else float("nan"),
        "unmapped_accounts": unmapped,
    }


def _unit_summary(transactions, key: str, as_of: Any, timezone: str):
    """:func:`~ecrm_lib.channels.common.unit_purchases` up to ``as_of`` with recency_days (an engine table, ``unit``)."""
    g = unit_purchases(transactions, key, as_of, timezone)
    asof = ibis.date(as_date(as_of, "as_of").isoformat())
    return g.mutate(recency_days=asof.delta(g.last_purchase, unit="day"))


def purchase_summary(transactions, key: str, as_of: Any, timezone: str = "UTC") -> pd.DataFrame:
    """Per key (account or customer): purchase days, spend and recency up to ``as_of``.

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        account_id (and customer_id when ``key`` is customer_id), timestamp, amount.
    key : str
        Column to group by: ``"account_id"`` or ``"customer_id"``.
    as_of : date or str
        Analysis date: the last local day counted, and recency is counted from it.
    timezone : str
        Calendar dates (and so purchase days) are local dates in this zone.

    Returns
    -------
    DataFrame
        Indexed by ``key`` (sorted): purchase_days (a purchase is a purchase
        day, :data:`~ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`),
        repeat_purchases (purchase_days - 1), n_transactions, total_spend and
        mean_spend (per purchase day; currency), first_purchase,
        last_purchase (local dates as Timestamps), recency_days (as_of minus
        the last local purchase date, days).
    """
    s = _unit_summary(transactions, key, as_of, timezone).order_by("unit").execute()
    if s.empty:
        return pd.DataFrame(columns=_SUMMARY_COLUMNS, index=pd.Index([], name=key, dtype="string"))
    out = pd.DataFrame(
        {
            "purchase_days": s["purchase_days"].astype("int64").to_numpy(),
            "n_transactions": s["n_transactions"].astype("int64").to_numpy(),
            "total_spend": s["total_spend"].astype("float64").to_numpy(),
            "first_purchase": pd.to_datetime(s["first_purchase"]).to_numpy(),
            "last_purchase": pd.to_datetime(s["last_purchase"]).to_numpy(),
            "recency_days": s["recency_days"].astype("int64").to_numpy(),
        },
        index=pd.Index(s["unit"].astype("string"), name=key),
    )
    out["repeat_purchases"] = out["purchase_days"] - 1
    out["mean_spend"] = out["total_spend"] / out["purchase_days"]
    return out[_SUMMARY_COLUMNS]


# A purchase is a purchase day (data.overview.REPEAT_BUYER_DEFINITION): "mean repeat purchases" are purchase days after
# the first, as on the customer-value page, whose wording the two repeat rows keep.
_MEASURES = [
    ("buying units", "accounts / customers"),
    ("mean purchase days", "purchase days"),
    ("share with a repeat purchase", "share"),
    ("mean repeat purchases", "purchase days"),
    ("mean spend per purchase day", "currency"),
    ("mean total spend", "currency"),
    ("median recency", "days"),
]
# the catalogue's words for each measure and unit (channel_integration.lib.measure.* / .unit.*), shown by comparison_display
_MEASURE_KEYS = dict(zip((m for m, _ in _MEASURES), ("buying_units", "mean_purchases", "repeat_share", "mean_repeat", "mean_spend",
                                                      "mean_total", "median_recency")))
_UNIT_KEYS = {"accounts / customers": "units", "purchase days": "purchase_days", "share": "share", "days": "days"}


def integration_comparison(transactions, account_map, as_of: Any, timezone: str = "UTC") -> pd.DataFrame:
    """Purchase frequency, spend and recency per ACCOUNT versus per resolved CUSTOMER, up to ``as_of``.

    A purchase is a buying unit's purchase day and a repeat buyer bought on two or more days
    (:data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`): the share with a repeat purchase and the
    mean repeat purchases are :func:`ecrm_lib.data.overview.repeat_buyers` per account and per customer,
    so the per-customer column shows the customer-value page's figures.

    Parameters
    ----------
    transactions : ibis.Table or DataFrame
        Canonical transactions (kept purchases).
    account_map : ibis.Table, DataFrame or None
        account_id -> customer_id; None: every account is its own customer.
    as_of : date or str
        Analysis date: the last local day counted, and recency is counted from it.
    timezone : str
        Local time zone whose calendar days are the purchase days.

    Returns
    -------
    DataFrame
        One row per measure: measure, unit, per_account, per_customer,
        change (per_customer / per_account - 1). Measures: buying units
        (accounts or customers with a purchase), mean purchase days, share
        with a repeat purchase (0-1 of buying units), mean repeat purchases
        (purchase days after the first), mean spend per purchase day (mean
        over units of their own mean, currency), mean total spend (currency),
        median recency (days).
    """
    tx = with_customer(transactions, account_map)
    views = []
    for key in ("account_id", "customer_id"):
        s = _unit_summary(tx, key, as_of, timezone)
        agg = s.aggregate(
            units=s.count(),
            mean_days=s.purchase_days.mean(),
            mean_spend=(s.total_spend / s.purchase_days).mean(),
            mean_total=s.total_spend.mean(),
            median_recency=s.recency_days.median(),
        ).execute().iloc[0]
        rep = repeat_buyers(tx, key, as_of=as_of, timezone=timezone)  # the suite's one definition, counted in the engine
        n = int(agg["units"])
        values = [n, agg["mean_days"], rep["repeat_share"], rep["mean_repeat_purchases"], agg["mean_spend"], agg["mean_total"],
                  agg["median_recency"]]
        views.append([float(v) if n else float("nan") for v in values])
    rows = []
    for i, (measure, unit) in enumerate(_MEASURES):
        a, c = views[0][i], views[1][i]
        rows.append({"measure": measure, "unit": unit, "per_account": a, "per_customer": c, "change": c / a - 1 if a else float("nan")})
    return pd.DataFrame(rows)


def comparison_display(comparison: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """:func:`integration_comparison` with each value written in its own unit, for display.

    Shares become percentages, money whole units with the currency, counts
    whole numbers, means two decimals; ``change`` stays a number (0-1). The
    measure and unit words are the report language's (call it once per
    language); the figures are the same in every language.

    Examples
    --------
    >>> comp = pd.DataFrame({"measure": ["share with a repeat purchase"], "unit": ["share"],
    ...                      "per_account": [0.5], "per_customer": [0.6], "change": [0.2]})
    >>> comparison_display(comp)[["per_account", "per_customer"]].iloc[0].tolist()
    ['50.0%', '60.0%']
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     comparison_display(comp)[["measure", "unit"]].iloc[0].tolist()
    ['재구매 비율', '구매 고객 중 %']
    """
    out = comparison.copy()
    for col in ("per_account", "per_customer"):
        vals = []
        for unit, v in zip(comparison["unit"], comparison[col]):
            if unit == "share":
                vals.append(format_number(v, "%", 1))
            elif unit == "currency":
                vals.append(format_number(v, currency or None))
            elif unit in ("days", "accounts / customers"):
                vals.append(format_number(v))
            else:
                vals.append(format_number(v, digits=2))
        out[col] = pd.Series(vals, index=out.index, dtype="string")
    out["measure"] = [t(f"channel_integration.lib.measure.{_MEASURE_KEYS[m]}") if m in _MEASURE_KEYS else m for m in comparison["measure"]]
    out["unit"] = [(currency or "currency") if u == "currency" else
                   t(f"channel_integration.lib.unit.{_UNIT_KEYS[u]}") if u in _UNIT_KEYS else u for u in comparison["unit"]]
    return out


def purchase_count_distribution(transactions, account_map, top: int = 5, as_of: Any = None, timezone: str = "UTC") -> pd.DataFrame:
    """Share of buying accounts and of buying customers with 1, 2, ..., ``top``+ purchase days.

    A purchase is a purchase day (:data:`ecrm_lib.data.overview.REPEAT_BUYER_DEFINITION`), counted by
    :func:`~ecrm_lib.channels.common.unit_purchases`.

    Parameters
    ----------
    transactions, account_map : ibis.Table or DataFrame
        As for :func:`integration_comparison`.
    top : int
        Units with ``top`` or more purchase days share the last bar.
    as_of : date or str, optional
        Last local day counted (None: every day of the table).
    timezone : str
        Local time zone whose calendar days are the purchase days.

    Returns
    -------
    DataFrame
        view ("per account", "per customer"), purchases (purchase days, label "1".."top+"),
        units, share (0-1 within the view).
    """
    tx = with_customer(transactions, account_map)
    labels = [str(i) for i in range(1, top)] + [f"{top}+"]
    out = []
    for view, key in (("per account", "account_id"), ("per customer", "customer_id")):
        n = unit_purchases(tx, key, as_of, timezone)
        capped = n.mutate(c=ibis.least(n.purchase_days, top))
        counts = capped.group_by("c").agg(units=capped.count()).execute()
        units = pd.Series(counts["units"].to_numpy(), index=counts["c"].astype(int).to_numpy()).reindex(range(1, top + 1), fill_value=0)
        total = int(units.sum())
        for lab, c in zip(labels, units.to_numpy()):
            out.append({"view": view, "purchases": lab, "units": int(c), "share": c / total if total else float("nan")})
    return pd.DataFrame(out)


def identity_accuracy(account_map, truth) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of the resolved customers against the truth.

    Wraps :func:`ecrm_lib.channels.identity.pairwise_metrics` (counted in the engine, with
    ``n_true_persons``: persons in the truth file) and adds ``customers_per_person`` (customers found per true
    person; above 1 means persons split over customers, below 1 persons merged).

    Parameters
    ----------
    account_map : ibis.Table or DataFrame
        account_id, customer_id (the ``account_map`` product; ``RunContext.product_table``).
    truth : ibis.Table or DataFrame
        account_id, person_id (``RunContext.truth_table("persons.csv")``, on the same engine).

    Returns
    -------
    dict
        precision, recall, f1 (0-1), true_positive_pairs, predicted_pairs,
        true_pairs, n_customers, n_persons, n_accounts, n_true_persons,
        customers_per_person.
    """
    m = pairwise_metrics(account_map, truth)  # the truth is read twice: its checks and persons, then the pairs
    n_true = m["n_true_persons"]
    m["customers_per_person"] = m["n_customers"] / n_true if n_true else float("nan")
    return m

"""Adapters for two public data sets whose channel story differs from the canonical tables.

- **iFood** marketing data: per-customer purchase counts per channel (web,
  catalogue, store) instead of dated purchases. :func:`ifood_channel_mix`,
  :func:`ifood_response_by` and :func:`ifood_web_share_effect` relate the
  purchase channel to spend and campaign response;
  :func:`ifood_customer_features` fills the ``customer_channels`` product.
- **Olist** marketing funnel: leads (contacts, one per lead, with their
  origin channel) and closed deals (customers with a won date).
  :func:`lead_conversion` and :func:`best_origin` give the conversion per
  origin with Wilson intervals (:func:`ecrm_lib.core.intervals.wilson_interval`).

The iFood functions work on the ``customers`` table in pandas (one row per
customer, a few thousand rows); the Olist leads are picked in the engine
(first contact per lead) and only one row per lead comes into pandas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.core.i18n import t
from ecrm_lib.core.intervals import wilson_interval
from ecrm_lib.data.tables import MISSING_CHANNEL, as_table, is_ibis, with_channel

__all__ = [
    "IFOOD_CHANNEL_COLUMNS",
    "is_ifood_customers",
    "ifood_channel_mix",
    "ifood_response_by",
    "web_band_words",
    "ifood_web_share_effect",
    "ifood_customer_features",
    "is_lead_funnel",
    "lead_conversion",
    "best_origin",
]

IFOOD_CHANNEL_COLUMNS = {"web": "NumWebPurchases", "catalog": "NumCatalogPurchases", "store": "NumStorePurchases"}
"""iFood per-customer purchase counts per channel (deal purchases are a discount, not a channel)."""

_IFOOD_SPEND = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds")
_IFOOD_ACCEPTED = ("AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5")


# ------------------------------------------------------------------------ iFood
def _frame(customers) -> pd.DataFrame:
    """The customers table in pandas (an Ibis table is read whole: one row per customer, the adapters' input)."""
    return customers.execute() if is_ibis(customers) else customers


def is_ifood_customers(customers) -> bool:
    """True when a customers table (Ibis or DataFrame) carries iFood-style per-channel purchase counts."""
    return customers is not None and all(c in customers.columns for c in IFOOD_CHANNEL_COLUMNS.values())


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[col].astype("string").str.strip(), errors="coerce").astype("float64")


def ifood_channel_mix(customers, bands: Sequence[float] = (0.25, 0.5)) -> pd.DataFrame:
    """Per customer: purchases per channel, channel shares, spend and campaign response (iFood data).

    Parameters
    ----------
    customers : ibis.Table or DataFrame
        The iFood customers table (account_id, NumWebPurchases,
        NumCatalogPurchases, NumStorePurchases, NumDealsPurchases,
        NumWebVisitsMonth, Mnt*, AcceptedCmp1-5, Response), text or numbers.
    bands : (float, float)
        Cut points of the web-share bands: low below the first, high at or
        above the second, mid between.

    Returns
    -------
    DataFrame
        account_id, n_web, n_catalog, n_store, n_deals, n_purchases (web +
        catalogue + store; deals are discounted purchases counted inside
        them), share_web, share_catalog, share_store (0-1; NaN without
        purchases), dominant_channel (web, catalog, store; "mixed" on a tie;
        "none" without purchases), web_band (e.g. "low (<25%)"), web_visits_month,
        total_spend (sum of Mnt*, currency over two years), response (0/1,
        last campaign), accepted_any (0/1, any of the five earlier
        campaigns), n_accepted.
    """
    if not is_ifood_customers(customers):
        raise ValueError(f"customers lacks the iFood channel counts {list(IFOOD_CHANNEL_COLUMNS.values())}; columns: {list(customers.columns)[:20]}.")
    customers = _frame(customers)
    lo, hi = float(bands[0]), float(bands[1])
    if not 0 < lo < hi <= 1:
        raise ValueError(f"bands must be two cut points 0 < low < high <= 1; got {list(bands)!r}.")
    out = pd.DataFrame({"account_id": customers["account_id"].astype("string").to_numpy()})
    for ch, col in IFOOD_CHANNEL_COLUMNS.items():
        out[f"n_{ch}"] = _num(customers, col).to_numpy()
    out["n_deals"] = _num(customers, "NumDealsPurchases").to_numpy()
    chans = list(IFOOD_CHANNEL_COLUMNS)
    counts = out[[f"n_{c}" for c in chans]]
    out["n_purchases"] = counts.sum(axis=1, min_count=len(chans))
    total = out["n_purchases"].where(out["n_purchases"] > 0)
    for c in chans:
        out[f"share_{c}"] = out[f"n_{c}"] / total
    mx = counts.max(axis=1)
    is_max = counts.eq(mx, axis=0)
    n_max = is_max.sum(axis=1)
    dominant = pd.Series(np.array(chans, dtype=object)[np.argmax(counts.fillna(-1).to_numpy(), axis=1)], index=out.index)
    dominant = dominant.where(n_max == 1, "mixed").where(total.notna(), "none")
    out["dominant_channel"] = dominant.astype("string")
    lo_l, mid_l, hi_l = f"low (<{lo:.0%})", f"mid ({lo:.0%}-{hi:.0%})", f"high (>={hi:.0%})"
    ws = out["share_web"]
    band = np.where(ws < lo, lo_l, np.where(ws < hi, mid_l, hi_l))
    out["web_band"] = pd.Series(band, index=out.index).where(ws.notna()).astype("string")
    out["web_visits_month"] = _num(customers, "NumWebVisitsMonth").to_numpy()
    spend = pd.concat([_num(customers, c) for c in _IFOOD_SPEND if c in customers], axis=1)
    out["total_spend"] = spend.sum(axis=1, min_count=1).to_numpy() if spend.shape[1] else np.nan
    out["response"] = _num(customers, "Response").to_numpy()
    acc = pd.concat([_num(customers, c) for c in _IFOOD_ACCEPTED if c in customers], axis=1)
    out["n_accepted"] = acc.sum(axis=1, min_count=1).to_numpy() if acc.shape[1] else np.nan
    out["accepted_any"] = (out["n_accepted"] > 0).astype("float64").where(out["n_accepted"].notna())
    out.attrs["web_bands"] = [lo_l, mid_l, hi_l]
    return out


def ifood_response_by(mix: pd.DataFrame, by: str = "web_band") -> pd.DataFrame:
    """Campaign response and spend per group of :func:`ifood_channel_mix` (web band or dominant channel).

    Returns
    -------
    DataFrame
        group column, n_customers, responders, response_rate (0-1, last
        campaign), response_ci_low, response_ci_high (Wilson 95 %),
        accepted_any_rate (0-1), mean_spend, median_spend (currency),
        mean_purchases; bands in order low, mid, high, channels by size.
    """
    d = mix[mix[by].notna().to_numpy(dtype=bool)]
    g = d.groupby(by, sort=False)
    out = pd.DataFrame(
        {
            "n_customers": g.size(),
            "responders": g["response"].sum().astype("int64"),
            "response_rate": g["response"].mean(),
            "accepted_any_rate": g["accepted_any"].mean(),
            "mean_spend": g["total_spend"].mean(),
            "median_spend": g["total_spend"].median(),
            "mean_purchases": g["n_purchases"].mean(),
        }
    )
    lo, hi = wilson_interval(out["responders"], g["response"].count())
    out.insert(3, "response_ci_low", lo)
    out.insert(4, "response_ci_high", hi)
    order = mix.attrs.get("web_bands") if by == "web_band" else None
    if order:
        out = out.reindex([b for b in order if b in out.index])
    else:
        out = out.sort_values("n_customers", ascending=False, kind="stable")
    return out.rename_axis(by).reset_index()


_BAND = re.compile(r"^(low) \(<(.+)\)$|^(mid) \((.+)-(.+)\)$|^(high) \(>=(.+)\)$")


def web_band_words(label) -> str:
    """A web-share band of :func:`ifood_channel_mix` ("low (<25%)", "mid (25%-50%)", "high (>=50%)") in the report
    language (``channel_integration.lib.band_*``); any other value as it is. Call it once per language.

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     [web_band_words(b) for b in ("low (<25%)", "mid (25%-50%)", "high (>=50%)", "none")]
    ['낮음(<25%)', '중간(25%-50%)', '높음(>=50%)', 'none']
    >>> web_band_words("mid (25%-50%)")
    'mid (25%-50%)'
    """
    m = _BAND.match(str(label))
    if not m:
        return str(label)
    if m.group(1):
        return t("channel_integration.lib.band_low", lo=m.group(2))
    if m.group(3):
        return t("channel_integration.lib.band_mid", lo=m.group(4), hi=m.group(5))
    return t("channel_integration.lib.band_high", hi=m.group(7))


def ifood_web_share_effect(by_band: pd.DataFrame) -> float:
    """Response rate of the highest web-share band minus that of the lowest (share points; NaN if either is empty).

    Parameters
    ----------
    by_band : DataFrame
        :func:`ifood_response_by` with ``by="web_band"`` (bands low to high).
    """
    if len(by_band) < 2:
        return float("nan")
    return float(by_band["response_rate"].iloc[-1] - by_band["response_rate"].iloc[0])


def ifood_customer_features(mix: pd.DataFrame) -> pd.DataFrame:
    """The ``customer_channels`` product for iFood-style data (per-customer channel counts, no dated records).

    Parameters
    ----------
    mix : DataFrame
        Output of :func:`ifood_channel_mix`.

    Returns
    -------
    DataFrame
        The columns of :func:`customer_channel_features` that the data can
        fill: customer_id (= account_id), n_accounts (1), n_channels (channels
        with a purchase), n_purchases, share_purchases_web / _catalog / _store,
        internet_only (every purchase through the web); n_contacts,
        cost_to_serve and offhours_share are missing (NaN), first_seen and
        last_seen are NaT (the data has no dates of purchases).
    """
    chans = list(IFOOD_CHANNEL_COLUMNS)
    counts = mix[[f"n_{c}" for c in chans]]
    out = pd.DataFrame({"customer_id": mix["account_id"].astype("string")})
    out["n_accounts"] = 1
    out["n_channels"] = (counts > 0).sum(axis=1).astype("int64")
    out["n_purchases"] = mix["n_purchases"].astype("float64")
    out["n_contacts"] = np.nan
    for c in chans:
        out[f"share_purchases_{c}"] = mix[f"share_{c}"].astype("float64")
    out["cost_to_serve"] = np.nan
    out["offhours_share"] = np.nan
    out["internet_only"] = (mix["share_web"] == 1.0).fillna(False).astype(bool)
    out["first_seen"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    out["last_seen"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[us, UTC]")
    return out


# ------------------------------------------------------------------------ Olist
def is_lead_funnel(contacts, customers, won_col: str = "won_date") -> bool:
    """True when the data is a lead funnel: contacts (leads) and closed deals (customers) with a won date; Ibis tables or DataFrames."""
    return contacts is not None and customers is not None and won_col in customers.columns and "account_id" in customers.columns


def lead_conversion(
    contacts,
    customers,
    *,
    timezone: str = "UTC",
    won_col: str = "won_date",
    level: float = 0.95,
) -> pd.DataFrame:
    """Lead origin channel -> closed-deal conversion, with Wilson intervals and time to close.

    Each lead (account_id) counts once, in the channel of its first contact
    (the earliest; on a tie, the first channel by name), picked in the engine.
    A lead is converted when it appears among the closed deals
    (``customers``). Time to close is the won date (read in ``timezone`` when
    written without a zone) minus the first contact, in days.

    Parameters
    ----------
    contacts : ibis.Table or DataFrame
        The leads: account_id, timestamp (first contact), channel (origin).
    customers : ibis.Table or DataFrame
        The closed deals: account_id and ``won_col`` (text or timestamps); one
        row per deal, read into pandas.

    Returns
    -------
    DataFrame
        channel, n_leads, n_closed, conversion (0-1), ci_low, ci_high
        (Wilson), median_days_to_close, mean_days_to_close (days; closed
        leads with a won date not before the first contact). Sorted by
        conversion, descending. ``attrs``: ``closed_without_lead`` (deals
        whose lead is not among the contacts), ``negative_time_to_close``
        (deals won before the first contact, left out of the times),
        ``missing_won_date``.
    """
    t = with_channel(as_table(contacts, "contacts"))
    t = t.filter(t.timestamp.notnull())
    w = ibis.window(group_by=t.account_id, order_by=[t.timestamp, t.channel])
    firsts = t.mutate(_rank=ibis.row_number().over(w))
    firsts = firsts.filter(firsts._rank == 0).select(account_id=firsts.account_id.cast("string"), channel=firsts.channel, first=firsts.timestamp)
    c = firsts.order_by("account_id").execute()
    leads = pd.DataFrame({"account_id": c["account_id"].astype("string").to_numpy(), "channel": c["channel"].astype("string").to_numpy(),
                          "first": pd.to_datetime(c["first"], utc=True).to_numpy()})
    deals = _frame(as_table(customers, "customers").select("account_id", won_col) if is_ibis(customers) else customers)
    deals = deals[["account_id", won_col]].drop_duplicates("account_id")
    won = pd.to_datetime(deals[won_col].astype("string"), errors="coerce")
    if getattr(won.dt, "tz", None) is None:
        won = won.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    won = won.dt.tz_convert("UTC")
    won_map = pd.Series(won.to_numpy(), index=deals["account_id"].astype("string").to_numpy())
    leads["closed"] = leads["account_id"].isin(won_map.index)
    leads["days"] = (leads["account_id"].map(won_map) - leads["first"]) / pd.Timedelta(days=1)
    negative = int((leads["days"] < 0).sum())
    leads.loc[leads["days"] < 0, "days"] = np.nan
    g = leads.groupby("channel", sort=True)
    out = pd.DataFrame({"n_leads": g.size(), "n_closed": g["closed"].sum().astype("int64"), "median_days_to_close": g["days"].median(), "mean_days_to_close": g["days"].mean()})
    out.insert(2, "conversion", out["n_closed"] / out["n_leads"])
    lo, hi = wilson_interval(out["n_closed"], out["n_leads"], level)
    out.insert(3, "ci_low", lo)
    out.insert(4, "ci_high", hi)
    out = out.reset_index().astype({"channel": "string"}).sort_values(["conversion", "n_leads"], ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["closed_without_lead"] = int((~won_map.index.isin(leads["account_id"])).sum())
    out.attrs["negative_time_to_close"] = negative
    out.attrs["missing_won_date"] = int(won.isna().sum())
    return out


def best_origin(conversion: pd.DataFrame, min_leads: int = 100, exclude: Iterable[str] = ("unknown", MISSING_CHANNEL)) -> dict[str, Any] | None:
    """The origin with the highest conversion among those with at least ``min_leads`` leads.

    Origins named in ``exclude`` (an unknown origin cannot be acted on) are
    left out. Returns the row as a dict, or None when no origin qualifies.
    """
    ex = {str(e).casefold() for e in exclude}
    ok = conversion[(conversion["n_leads"] >= min_leads) & ~conversion["channel"].astype(str).str.casefold().isin(ex)]
    if ok.empty:
        return None
    row = ok.sort_values(["conversion", "n_leads"], ascending=False, kind="stable").iloc[0]
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}

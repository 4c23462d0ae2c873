"""Cost to serve: contacts priced with the channel-cost table, per channel, purpose and customer, and a what-if.

- :func:`cost_table`: the channel-cost table with the notebook's overrides;
- :func:`cost_contacts`: every contact priced (a join in the engine; a cost
  for the contact's purpose wins over the channel's general cost; a channel
  without a cost stays unpriced, never zero);
- :func:`lookup_cost`: the cost of one contact through a channel;
- :func:`cost_summary`, :func:`customer_costs`: contacts and cost per
  channel, purpose or customer;
- :func:`whatif_channel_shift`: the yearly saving of moving a share of one
  contact purpose to a cheaper channel.

Channel and purpose names are matched to the cost table without case and
surrounding spaces. Money is in the config's currency.

Examples
--------
>>> import pandas as pd
>>> costs = pd.DataFrame({"channel": ["phone", "app"], "purpose": [None, None],
...                       "cost_per_contact": [6000.0, 60.0]})
>>> contacts = pd.DataFrame({"account_id": ["A", "B"], "channel": ["phone", "app"],
...                          "purpose": ["order_status", "order_status"]})
>>> cost_contacts(contacts, costs)["cost"].tolist()
[6000.0, 60.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.common import with_customer
from ecrm_lib.core import i18n
from ecrm_lib.core.language import using
from ecrm_lib.data.tables import MISSING_CHANNEL, as_table, is_ibis

__all__ = ["cost_table", "lookup_cost", "cost_contacts", "cost_summary", "customer_costs", "whatif_channel_shift", "whatif_reason",
           "whatif_table"]

_ROW = "_cost_row"


def _key_text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower()


def _key(col):
    """The engine's matching key of a channel or purpose: trimmed and lower case."""
    return col.cast("string").strip().lower()


def cost_table(channel_costs: pd.DataFrame | None, cost_overrides: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The cost table with overrides applied, keyed for matching.

    Parameters
    ----------
    channel_costs : DataFrame or None
        channel, purpose (missing: every purpose), cost_per_contact (currency).
    cost_overrides : mapping, optional
        ``{"channel": cost}`` replaces (or adds) a channel's any-purpose cost;
        ``{"channel:purpose": cost}`` a purpose-specific one.

    Returns
    -------
    DataFrame
        ch (channel key), pu (purpose key, <NA> for any purpose), cost, source
        ("table" or "override").

    Raises
    ------
    ValueError
        A missing column, two costs for one channel and purpose, or an
        override that is not a cost >= 0.
    """
    rows = pd.DataFrame({"ch": pd.Series([], dtype="string"), "pu": pd.Series([], dtype="string"), "cost": pd.Series([], dtype="float64")})
    if channel_costs is not None and len(channel_costs):
        for col in ("channel", "cost_per_contact"):
            if col not in channel_costs:
                raise ValueError(f"channel_costs lacks column {col!r}; columns: {list(channel_costs.columns)}. It needs channel, cost_per_contact and optionally purpose.")
        pu = channel_costs["purpose"] if "purpose" in channel_costs else pd.Series(pd.NA, index=channel_costs.index)
        pu = _key_text(pu)
        rows = pd.DataFrame({"ch": _key_text(channel_costs["channel"]), "pu": pu.mask(pu == ""), "cost": channel_costs["cost_per_contact"].astype("float64")})
        dup = rows.duplicated(["ch", "pu"], keep=False)
        if dup.any():
            ex = rows.loc[dup, ["ch", "pu"]].drop_duplicates().head(3).astype(str).values.tolist()
            raise ValueError(f"channel_costs has more than one cost for the same channel and purpose, e.g. {ex}; keep one row per (channel, purpose).")
    rows = rows.assign(source="table")
    for k, v in (cost_overrides or {}).items():
        if v is None or not math.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"cost_overrides[{k!r}] is {v!r}; give a cost per contact >= 0 in the config currency.")
        ch, _, pu = str(k).partition(":")
        ch, pu = ch.strip().lower(), (pu.strip().lower() or None)
        same = (rows["ch"] == ch).fillna(False) & (rows["pu"].isna() if pu is None else (rows["pu"] == pu).fillna(False))
        rows = pd.concat([rows[~same.to_numpy(dtype=bool)], pd.DataFrame({"ch": [ch], "pu": pd.array([pu], dtype="string"), "cost": [float(v)], "source": ["override"]})], ignore_index=True)
    rows = rows[rows["cost"].notna().to_numpy(dtype=bool)]
    return rows.astype({"ch": "string", "pu": "string", "source": "string"}).reset_index(drop=True)


def _priced(contacts, table: pd.DataFrame):
    """Ibis: ``contacts`` with cost and cost_source from the keyed cost table.

    The distinct (channel, purpose) pairs of the contacts are priced first
    (a few dozen rows: the matching keys are computed on those only), then
    joined back to every contact on the raw values.
    """
    spec = table[table["pu"].notna().to_numpy(dtype=bool)]
    base = table[table["pu"].isna().to_numpy(dtype=bool)]
    spec_t = ibis.memtable(pd.DataFrame({"_s_ch": spec["ch"], "_s_pu": spec["pu"], "_s_cost": spec["cost"], "_s_src": spec["source"]}).astype(
        {"_s_ch": "string", "_s_pu": "string", "_s_cost": "float64", "_s_src": "string"}))
    base_t = ibis.memtable(pd.DataFrame({"_b_ch": base["ch"], "_b_cost": base["cost"], "_b_src": base["source"]}).astype(
        {"_b_ch": "string", "_b_cost": "float64", "_b_src": "string"}))
    own = contacts.channel.cast("string") if "channel" in contacts.columns else ibis.null("string")
    purpose = contacts.purpose.cast("string") if "purpose" in contacts.columns else ibis.null("string")
    c = contacts.mutate(_raw_ch=ibis.coalesce(own, ibis.literal(MISSING_CHANNEL)), _raw_pu=purpose)
    pairs = c.select("_raw_ch", "_raw_pu").distinct()
    pairs = pairs.mutate(_ch=_key(pairs._raw_ch), _pu=_key(pairs._raw_pu))
    j = pairs.left_join(spec_t, (pairs._ch == spec_t._s_ch) & (pairs._pu == spec_t._s_pu))
    j = j.left_join(base_t, j._ch == base_t._b_ch)
    use_spec = j._s_cost.notnull()
    src = ibis.cases(
        (use_spec & (j._s_src == "override"), "override"),
        (use_spec, "purpose"),
        (j._b_cost.notnull() & (j._b_src == "override"), "override"),
        (j._b_cost.notnull(), "channel"),
        else_="missing",
    )
    prices = j.select(_p_ch=j._raw_ch, _p_pu=j._raw_pu, cost=ibis.coalesce(j._s_cost, j._b_cost).cast("float64"), cost_source=src)
    out = c.left_join(prices, (c._raw_ch == prices._p_ch) & c._raw_pu.identical_to(prices._p_pu))
    return out.drop("_raw_ch", "_raw_pu", "_p_ch", "_p_pu")


def cost_contacts(contacts, channel_costs: pd.DataFrame | None, cost_overrides: Mapping[str, float] | None = None):
    """Price every contact with the channel-cost table.

    Parameters
    ----------
    contacts : ibis.Table or DataFrame
        Canonical contacts (channel, purpose). The channel is the contact's
        own (``(unknown)`` without one).
    channel_costs : DataFrame or None
        channel, purpose (missing: every purpose), cost_per_contact
        (currency). A purpose-specific row overrides the channel's
        any-purpose row.
    cost_overrides : mapping, optional
        ``{"channel": cost}`` replaces (or adds) a channel's any-purpose cost;
        ``{"channel:purpose": cost}`` a purpose-specific one.

    Returns
    -------
    ibis.Table or DataFrame
        Of the same kind as ``contacts`` (a DataFrame keeps its rows' order
        and index): its columns plus ``cost`` (currency per contact; NaN
        when the channel has no cost: such contacts are counted by
        :func:`cost_summary`, never priced at zero) and ``cost_source``
        ("purpose", "channel", "override", "missing").
    """
    table = cost_table(channel_costs, cost_overrides)
    if is_ibis(contacts):
        return _priced(contacts, table)
    index = contacts.index
    t = as_table(contacts.assign(**{_ROW: np.arange(len(contacts))}), "contacts")
    out = _priced(t, table).order_by(_ROW).execute().drop(columns=_ROW)
    out.index = index
    out["cost"] = out["cost"].astype("float64")
    out["cost_source"] = out["cost_source"].astype("string")
    return out


def lookup_cost(channel_costs: pd.DataFrame | None, channel: str, purpose: str | None = None, cost_overrides: Mapping[str, float] | None = None) -> float:
    """Cost of one contact through ``channel`` about ``purpose`` (NaN when the channel has no cost).

    A row for the channel and this purpose wins over the channel's any-purpose
    row (purpose missing). ``cost_overrides`` maps ``"channel"`` (the
    any-purpose cost) or ``"channel:purpose"`` to a cost and replaces the
    table's row (or adds one). Channel and purpose names are compared without
    case and surrounding spaces.

    Examples
    --------
    >>> costs = pd.DataFrame({"channel": ["phone", "phone"], "purpose": [None, "complaint"], "cost_per_contact": [6000.0, 9000.0]})
    >>> lookup_cost(costs, "phone", "complaint"), lookup_cost(costs, "phone", "billing")
    (9000.0, 6000.0)
    >>> lookup_cost(costs, "phone", "billing", {"phone": 5000})
    5000.0
    """
    one = pd.DataFrame({"account_id": ["x"], "channel": [str(channel)], "purpose": pd.array([purpose], dtype="string")})
    return float(cost_contacts(one, channel_costs, cost_overrides)["cost"].iloc[0])


def cost_summary(costed, by: str | Sequence[str] = "channel") -> pd.DataFrame:
    """Contacts, cost and contacts without a cost, per channel, purpose or customer.

    Parameters
    ----------
    costed : ibis.Table or DataFrame
        Output of :func:`cost_contacts`.
    by : str or list of str
        Grouping columns (e.g. "channel", "purpose", ["channel", "purpose"],
        "customer_id"); a missing channel reads ``(unknown)``, another missing
        key ``(none)``.

    Returns
    -------
    DataFrame
        by columns, n_contacts, n_priced, n_missing_cost, total_cost
        (currency, priced contacts only), cost_per_contact (total_cost /
        n_priced; NaN when none is priced), share_of_cost (0-1); sorted by
        total cost, descending.
    """
    by = [by] if isinstance(by, str) else list(by)
    t = as_table(costed, "costed")
    keys = {b: ibis.coalesce(t[b].cast("string"), ibis.literal(MISSING_CHANNEL if b == "channel" else "(none)")) for b in by}
    g = t.group_by(**keys).agg(n_contacts=t.count(), n_priced=t.cost.count(), total_cost=t.cost.sum())
    out = g.execute()
    for b in by:
        out[b] = out[b].astype("string")
    out["n_contacts"] = out["n_contacts"].astype("int64")
    out["n_priced"] = out["n_priced"].astype("int64")
    out["total_cost"] = out["total_cost"].astype("float64").fillna(0.0)
    out["n_missing_cost"] = out["n_contacts"] - out["n_priced"]
    out["cost_per_contact"] = out["total_cost"] / out["n_priced"].where(out["n_priced"] > 0)
    total = out["total_cost"].sum()
    out["share_of_cost"] = out["total_cost"] / total if total else np.nan
    out = out.sort_values(by, kind="stable").sort_values(["total_cost", "n_contacts"], ascending=False, kind="stable")
    cols = by + ["n_contacts", "n_priced", "n_missing_cost", "total_cost", "cost_per_contact", "share_of_cost"]
    return out[cols].reset_index(drop=True)


def customer_costs(costed, account_map=None) -> pd.DataFrame:
    """Cost to serve per customer: contacts and their cost.

    Parameters
    ----------
    costed : ibis.Table or DataFrame
        Output of :func:`cost_contacts` (with ``customer_id``, or mapped with ``account_map``).
    account_map : ibis.Table or DataFrame, optional

    Returns
    -------
    DataFrame
        customer_id (sorted), n_contacts, n_missing_cost, cost_to_serve
        (currency; priced contacts only, 0 without one).
    """
    t = with_customer(costed, account_map)
    g = t.group_by(customer_id=t.customer_id.cast("string")).agg(n_contacts=t.count(), n_missing_cost=t.cost.isnull().sum(),
                                                                   cost_to_serve=t.cost.sum())
    out = g.order_by("customer_id").execute()
    out["customer_id"] = out["customer_id"].astype("string")
    out["n_missing_cost"] = out["n_missing_cost"].astype("int64")
    out["cost_to_serve"] = out["cost_to_serve"].astype("float64").fillna(0.0)
    return out


def whatif_channel_shift(
    costed,
    channel_costs: pd.DataFrame | None,
    *,
    purpose: str,
    from_channel: str,
    to_channel: str,
    share: float,
    days: float,
    cost_overrides: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Yearly saving from moving a share of one contact purpose from one channel to another.

    Parameters
    ----------
    costed : ibis.Table or DataFrame
        Contacts of the analysis window, priced by :func:`cost_contacts`.
    channel_costs : DataFrame or None
        The cost table (the target channel is priced with it, purpose rows first).
    purpose : str
        Contact purpose moved (e.g. "order_status").
    from_channel, to_channel : str
        Channel the contacts leave and channel they move to.
    share : float
        Share (0-1) of that purpose's contacts in ``from_channel`` that move.
    days : float
        Days the window covers (see :func:`~ecrm_lib.channels.common.covered_days`); counts are
        scaled to a year by ``365.25 / days``.
    cost_overrides : mapping, optional
        As in :func:`cost_contacts`.

    Returns
    -------
    dict
        purpose, from_channel, to_channel, share, contacts_in_window,
        contacts_per_year, moved_per_year, cost_from and cost_to (currency
        per contact; NaN when a channel has no cost), saving_per_contact,
        saving_per_year (currency per year; negative when the target channel
        is dearer; NaN when a cost is missing), ok (bool), reason (why it is
        not computable, in English for the run's metrics, else ""),
        reason_key and reason_values (the same reason as a catalogue message,
        for :func:`whatif_reason` in the report language).
    """
    if not 0.0 <= float(share) <= 1.0:
        raise ValueError(f"share must be between 0 and 1 (a share of contacts); got {share!r}.")
    t = as_table(costed, "costed")
    own = t.channel.cast("string") if "channel" in t.columns else ibis.null("string")
    purpose_col = t.purpose if "purpose" in t.columns else ibis.null("string")
    sel = (_key(ibis.coalesce(own, ibis.literal(MISSING_CHANNEL))) == str(from_channel).strip().lower()) & (
        _key(purpose_col) == str(purpose).strip().lower())
    n = int(t.filter(sel).count().execute())
    cost_from = lookup_cost(channel_costs, from_channel, purpose, cost_overrides)
    cost_to = lookup_cost(channel_costs, to_channel, purpose, cost_overrides)
    per_year = n * 365.25 / days if days and days > 0 else float("nan")
    moved = per_year * float(share)
    reason, reason_key, reason_values = "", "", {}
    if n == 0:
        reason_key, reason_values = "channel_integration.lib.whatif_no_contacts", {"purpose": purpose, "channel": from_channel}
    elif math.isnan(cost_from) or math.isnan(cost_to):
        missing = [c for c, v in ((from_channel, cost_from), (to_channel, cost_to)) if math.isnan(v)]
        reason_key, reason_values = "channel_integration.lib.whatif_no_cost", {"channels": str(missing)}
    if reason_key:
        with using("en"):
            reason = i18n.t(reason_key, **reason_values)
    saving_pc = cost_from - cost_to
    return {
        "purpose": purpose,
        "from_channel": from_channel,
        "to_channel": to_channel,
        "share": float(share),
        "contacts_in_window": n,
        "contacts_per_year": per_year,
        "moved_per_year": moved,
        "cost_from": cost_from,
        "cost_to": cost_to,
        "saving_per_contact": saving_pc,
        "saving_per_year": moved * saving_pc if not reason else float("nan"),
        "ok": not reason,
        "reason": reason,
        "reason_key": reason_key,
        "reason_values": reason_values,
    }


def whatif_reason(whatif: Mapping[str, Any]) -> str:
    """Why :func:`whatif_channel_shift` could not compute a saving, in the report language ("" when it could).

    Examples
    --------
    >>> from ecrm_lib.core.language import using
    >>> w = {"reason_key": "channel_integration.lib.whatif_no_contacts", "reason_values": {"purpose": "returns", "channel": "phone"}}
    >>> whatif_reason(w)
    'no returns contacts through phone in the window'
    >>> with using("ko"):
    ...     whatif_reason(w)
    '분석 기간에 phone 채널을 거친 returns 접촉이 없습니다'
    """
    return i18n.t(whatif["reason_key"], **whatif["reason_values"]) if whatif.get("reason_key") else ""


def whatif_table(whatif: Mapping[str, Any]) -> pd.DataFrame:
    """The what-if of :func:`whatif_channel_shift` as a one-row table for a page: contacts per year as whole
    contacts (rounded), costs per contact and the saving per year in the currency (NaN when not computable).

    Examples
    --------
    >>> w = {"purpose": "order_status", "from_channel": "phone", "to_channel": "app", "share": 0.3, "contacts_per_year": 12.4,
    ...      "moved_per_year": 3.72, "cost_from": 6000.0, "cost_to": 200.0, "saving_per_year": 21576.0}
    >>> tab = whatif_table(w)
    >>> tab["contacts_per_year"].tolist(), tab["moved_per_year"].tolist(), tab["saving_per_year"].tolist()
    ([12], [4], [21576.0])
    """
    row = {k: whatif[k] for k in ("purpose", "from_channel", "to_channel", "share", "contacts_per_year", "moved_per_year",
                                  "cost_from", "cost_to", "saving_per_year")}
    for k in ("contacts_per_year", "moved_per_year"):
        v = float(row[k])
        row[k] = pd.NA if math.isnan(v) else int(round(v))
    out = pd.DataFrame([row])
    return out.astype({"contacts_per_year": "Int64", "moved_per_year": "Int64"})

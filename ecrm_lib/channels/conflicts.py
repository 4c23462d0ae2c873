"""Channel conflicts: one matter raised through two channels, and channels that disagree on contact details.

- :func:`channel_conflicts`: a customer's contact about a purpose through
  another channel than their previous contact about it, within a few days
  (window functions over the contacts per customer and purpose, in the
  engine);
- :func:`conflict_summary`: conflicts per channel pair and purpose;
- :func:`contradictory_identifiers`: customers whose accounts carry
  different e-mails or phones (normalised and counted in the engine; counts
  only, never values).

Examples
--------
>>> import pandas as pd
>>> contacts = pd.DataFrame({"account_id": ["A", "A", "A"], "channel": ["phone", "web", "web"],
...                          "purpose": ["returns"] * 3, "direction": ["inbound"] * 3,
...                          "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)})
>>> channel_conflicts(contacts)[["first_channel", "second_channel", "gap_days"]].values.tolist()
[['phone', 'web', 1.0]]
"""

from __future__ import annotations

import ibis
import pandas as pd

from ecrm_lib.channels.common import with_customer
from ecrm_lib.channels.identity import DEFAULT_BLOCKLIST
from ecrm_lib.channels.identity.audit import CONTRADICTION_MEASURES, contradiction_counts
from ecrm_lib.channels.normalize import normalize_account_table
from ecrm_lib.core.i18n import t
from ecrm_lib.data.tables import as_table, keep_direction, with_channel

__all__ = ["channel_conflicts", "conflict_summary", "contradictory_identifiers", "contradictions_display"]

_CONFLICT_COLUMNS = ["customer_id", "purpose", "first_channel", "second_channel", "first_time", "second_time", "gap_days"]


def channel_conflicts(contacts, account_map=None, *, window_days: float = 3, inbound_only: bool = True, accounts=None) -> pd.DataFrame:
    """Channel switches about one matter: the same customer and purpose through another channel within a window.

    Contacts of a customer about one purpose are ordered in time (then by
    channel). A conflict is a contact whose channel differs from that of the
    customer's previous contact about the same purpose, made at most
    ``window_days`` after it (the customer asked again elsewhere, and two
    channels now handle one matter). Each switch counts once; repeats
    through the same channel do not count. Contacts without a purpose are
    ignored. The ordering and the previous contact are window functions in
    the engine; only the conflicts come into pandas.

    Parameters
    ----------
    contacts : ibis.Table or DataFrame
        Canonical contacts (with customer_id, or mapped with ``account_map``).
    account_map : ibis.Table or DataFrame, optional
    window_days : float, default 3
        Largest gap (days, inclusive) between the two contacts.
    inbound_only : bool, default True
        Only contacts the customer started.
    accounts : ibis.Table or DataFrame, optional
        Channel of contacts without one.

    Returns
    -------
    DataFrame
        One row per conflict, ordered by customer, purpose and time:
        customer_id, purpose, first_channel, second_channel, first_time,
        second_time (UTC), gap_days.
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0 days; got {window_days!r}.")
    t = keep_direction(with_customer(contacts, account_map), "inbound" if inbound_only else None)
    if "purpose" not in t.columns:
        return pd.DataFrame(columns=_CONFLICT_COLUMNS)
    t = with_channel(t.filter(t.timestamp.notnull() & t.purpose.notnull()), as_table(accounts, "accounts"))
    f = t.select(customer_id=t.customer_id.cast("string"), purpose=t.purpose.cast("string"), channel=t.channel, t=t.timestamp)
    w = ibis.window(group_by=[f.customer_id, f.purpose], order_by=[f.t, f.channel])
    f = f.mutate(prev_channel=f.channel.lag().over(w), prev_t=f.t.lag().over(w))
    window = ibis.interval(microseconds=int(round(float(window_days) * 86_400_000_000)))
    hit = f.filter(f.prev_channel.notnull() & (f.channel != f.prev_channel) & (f.t <= f.prev_t + window))
    d = hit.order_by(["customer_id", "purpose", "t", "channel"]).execute()
    out = pd.DataFrame(
        {
            "customer_id": d["customer_id"].to_numpy(),
            "purpose": d["purpose"].to_numpy(),
            "first_channel": d["prev_channel"].to_numpy(),
            "second_channel": d["channel"].to_numpy(),
            "first_time": d["prev_t"],
            "second_time": d["t"],
        }
    )
    out["gap_days"] = ((out["second_time"] - out["first_time"]) / pd.Timedelta(days=1)).astype("float64")
    return out.astype({"customer_id": "string", "purpose": "string", "first_channel": "string", "second_channel": "string"})


def conflict_summary(conflicts: pd.DataFrame, by_purpose: bool = True) -> pd.DataFrame:
    """Conflicts counted per channel pair (first -> second) and purpose.

    Parameters
    ----------
    conflicts : DataFrame
        Output of :func:`channel_conflicts`.

    Returns
    -------
    DataFrame
        first_channel, second_channel, [purpose], conflicts, customers,
        median_gap_days; most frequent first.
    """
    keys = ["first_channel", "second_channel"] + (["purpose"] if by_purpose else [])
    if conflicts.empty:
        return pd.DataFrame(columns=keys + ["conflicts", "customers", "median_gap_days"])
    g = conflicts.groupby(keys, sort=True)
    out = pd.DataFrame({"conflicts": g.size(), "customers": g["customer_id"].nunique(), "median_gap_days": g["gap_days"].median()}).reset_index()
    return out.sort_values(["conflicts"] + keys, ascending=[False] + [True] * len(keys), kind="stable").reset_index(drop=True)


def contradictory_identifiers(accounts, account_map, *, default_region: str = "KR", ignore_blocklisted: bool = True) -> pd.DataFrame:
    """Customers whose accounts carry different e-mails or phones (counts only, never values).

    E-mails and phones are normalised first, with the rules of identity
    resolution (:func:`ecrm_lib.channels.normalize.normalize_account_table`:
    SQL in the engine for plain values, the Python rules for the distinct
    rest), so ``Kim@Naver.com`` and ``kim@naver.com`` agree. Placeholders of
    :data:`ecrm_lib.channels.identity.DEFAULT_BLOCKLIST` (``noemail@none.com``)
    are not contact data and are ignored when ``ignore_blocklisted``. Only the
    accounts of customers holding two or more are normalised, and only the
    four counts leave the engine. Identity resolution counts the same on the
    accounts it has normalised already (its audit table ``contradictions``,
    with the run's own normalisation rules and blocklist): use that after
    :func:`~ecrm_lib.channels.identity.resolve_identities`, this for an
    account map made elsewhere.

    Parameters
    ----------
    accounts : ibis.Table or DataFrame
        account_id, email, phone.
    account_map : ibis.Table or DataFrame
        account_id -> customer_id.
    default_region : str
        Region of phone numbers written without a country code.
    ignore_blocklisted : bool
        Leave placeholder e-mails out.

    Returns
    -------
    DataFrame
        measure, customers, share (of customers with 2+ accounts, 0-1).
        Measures: customers with 2+ accounts; with 2+ different e-mails; with
        2+ different phones; with either.
    """
    acc = as_table(accounts, "accounts")
    a = with_customer(acc.select(*(["account_id"] + [c for c in ("email", "phone") if c in acc.columns])), account_map)
    sizes = a.group_by("customer_id").agg(_n=a.count())
    multi = sizes.filter(sizes._n >= 2)
    # only their accounts are normalised (the costly part); contradiction_counts filters the same customers again,
    # which it must do for identity resolution's input and which costs one engine aggregation here
    picked = a.semi_join(multi, a.customer_id == multi.customer_id)
    norm = normalize_account_table(picked, default_region=default_region)
    return contradiction_counts(norm, "customer_id", DEFAULT_BLOCKLIST if ignore_blocklisted else None)


_CONTRA_KEYS = dict(zip(CONTRADICTION_MEASURES, ("multi_account", "emails", "phones", "either")))


def contradictions_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`contradictory_identifiers` with its measures in the report language (call it once per language).

    Examples
    --------
    >>> tab = pd.DataFrame({"measure": ["with 2+ different phones"], "customers": [7], "share": [0.1]})
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     contradictions_display(tab)["measure"].tolist()
    ['서로 다른 전화번호 2개 이상']
    >>> contradictions_display(tab)["measure"].tolist()
    ['with 2+ different phones']
    """
    out = table.copy()
    out["measure"] = [t(f"channel_integration.lib.contra.{_CONTRA_KEYS[m]}") if m in _CONTRA_KEYS else m for m in table["measure"]]
    return out

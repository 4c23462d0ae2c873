"""Channel mix and migration: which channels carry purchases and contacts, and is the mix moving online?

- :func:`channel_mix`: share of purchases and of contacts per channel, per
  local month or quarter (counted in the engine);
- :func:`group_mix`: the same per channel group (traditional, internet, ...);
- :func:`group_share_change`: share of one group in the last ``months``
  against the ``months`` before.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"account_id": ["a", "b"], "channel": ["web", "store"], "amount": [10.0, 20.0],
...                    "timestamp": pd.to_datetime(["2025-01-05", "2025-02-05"], utc=True)})
>>> channel_mix(tx, freq="Q")[["period", "channel", "n", "share"]].values.tolist()
[[Timestamp('2025-01-01 00:00:00'), 'store', 1, 0.5], [Timestamp('2025-01-01 00:00:00'), 'web', 1, 0.5]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.channels.common import ChannelGroup, channel_groups_of, in_window, window_bounds
from ecrm_lib.data.engine import backend_name, local_time
from ecrm_lib.data.tables import as_table, keep_direction, with_channel

__all__ = ["channel_mix", "group_mix", "group_share_change"]

_MIX_COLUMNS = ["table", "period", "channel", "group", "n", "share", "amount"]


def channel_mix(
    transactions=None,
    contacts=None,
    *,
    accounts=None,
    channel_group: ChannelGroup = None,
    timezone: str = "UTC",
    freq: str = "Q",
    contact_direction: str | None = "inbound",
) -> pd.DataFrame:
    """Share of purchases and of contacts per channel, per month or quarter.

    Parameters
    ----------
    transactions, contacts : ibis.Table or DataFrame, optional
        Canonical tables (rows without a timestamp are ignored).
    accounts : ibis.Table or DataFrame, optional
        Gives rows without their own channel their account's channel.
    channel_group : callable or mapping, optional
        See :func:`~ecrm_lib.channels.common.channel_group_function`.
    timezone : str
        Periods are local calendar months or quarters.
    freq : {"Q", "M"}
        Quarter or month.
    contact_direction : str or None, default "inbound"
        Count only contacts in this direction (the customer's choice of
        channel); None counts all. Ignored when contacts have no direction.

    Returns
    -------
    DataFrame
        table ("purchases", "contacts"), period (first day, naive local
        Timestamp), channel, group, n (rows), share (of the table's rows in
        that period, 0-1), amount (purchases only: spend, currency).
        ``attrs["freq"]`` holds ``freq``.
    """
    if freq not in ("Q", "M"):
        raise ValueError(f"freq must be 'Q' (quarter) or 'M' (month); got {freq!r}.")
    acc = as_table(accounts, "accounts")
    frames = []
    for name, table in (("purchases", transactions), ("contacts", contacts)):
        t = as_table(table, name)
        if t is None:
            continue
        if name == "contacts":
            t = keep_direction(t, contact_direction)
        t = with_channel(t.filter(t.timestamp.notnull()), acc)
        period = local_time(t.timestamp, backend_name(t), timezone).truncate(freq)
        amount = t.amount.cast("float64") if name == "purchases" else None
        g = t.group_by(period=period, channel=t.channel)
        agg = g.agg(n=t.count(), amount=amount.sum()) if amount is not None else g.agg(n=t.count())
        d = agg.execute()
        if d.empty:
            continue
        d["table"] = name
        if "amount" not in d:
            d["amount"] = np.nan
        frames.append(d)
    if not frames:
        out = pd.DataFrame(columns=_MIX_COLUMNS)
        out.attrs["freq"] = freq
        return out
    out = pd.concat(frames, ignore_index=True)
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    out["n"] = out["n"].astype("int64")
    out["amount"] = out["amount"].astype("float64")
    out["share"] = out["n"] / out.groupby(["table", "period"])["n"].transform("sum")
    out["channel"] = out["channel"].astype("string")
    out["group"] = out["channel"].map(channel_groups_of(out["channel"].unique(), channel_group)).astype("string")
    out = out[_MIX_COLUMNS].sort_values(["table", "period", "channel"], kind="stable").reset_index(drop=True)
    out.attrs["freq"] = freq
    return out


def group_mix(mix: pd.DataFrame) -> pd.DataFrame:
    """Channel-group shares per table and period from :func:`channel_mix`.

    Returns
    -------
    DataFrame
        table, period, group, n, share (0-1 within table and period).
    """
    if mix.empty:
        return pd.DataFrame(columns=["table", "period", "group", "n", "share"])
    g = mix.groupby(["table", "period", "group"], as_index=False, sort=True)["n"].sum()
    g["share"] = g["n"] / g.groupby(["table", "period"])["n"].transform("sum")
    return g


def group_share_change(
    table,
    as_of: Any,
    months: int,
    *,
    group: str = "internet",
    accounts=None,
    channel_group: ChannelGroup = None,
    timezone: str = "UTC",
    direction: str | None = None,
) -> dict[str, Any]:
    """Share of rows through one channel group in the last ``months`` versus the ``months`` before.

    Parameters
    ----------
    table : ibis.Table or DataFrame
        Transactions or contacts.
    as_of : date or str
        End of the recent window.
    months : int
        Length of each window (months).
    group : str
        Channel group measured (default "internet").
    accounts : ibis.Table or DataFrame, optional
        Channel of rows without one.
    direction : str, optional
        Keep only contacts in this direction (e.g. "inbound").

    Returns
    -------
    dict
        recent_share, previous_share (0-1; NaN when a window is empty),
        change (recent - previous, share points), recent_rows, previous_rows.
    """
    t = keep_direction(as_table(table), direction)
    start, _ = window_bounds(as_of, months, timezone)
    prev_as_of = (start.tz_convert(timezone).tz_localize(None) - pd.Timedelta(days=1)).date()
    acc = as_table(accounts, "accounts")

    def counts(window) -> tuple[int, int]:
        w = with_channel(window, acc)
        per = w.group_by("channel").agg(n=w.count()).execute()
        if per.empty:
            return 0, 0
        groups = per["channel"].map(channel_groups_of(per["channel"].unique(), channel_group))
        return int(per["n"].sum()), int(per.loc[(groups == group).to_numpy(), "n"].sum())

    (n_r, k_r), (n_p, k_p) = counts(in_window(t, as_of, months, timezone)), counts(in_window(t, prev_as_of, months, timezone))
    r = k_r / n_r if n_r else float("nan")
    p = k_p / n_p if n_p else float("nan")
    return {"recent_share": r, "previous_share": p, "change": r - p, "recent_rows": n_r, "previous_rows": n_p}

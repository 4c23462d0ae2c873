"""One conversion of dates, used from the command line to the notebooks.

Every as-of date, window end and history date passes through :func:`as_date`,
so that a date given as text (``"2025-06-30"``), as a :class:`datetime.date`,
a :class:`datetime.datetime` or a :class:`pandas.Timestamp` means the same
calendar day everywhere. A timestamp with a time zone is first converted to
``timezone`` (the config's), so that 2025-06-30 23:30 UTC is 2025-07-01 in
Seoul.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecrm_lib.core.errors import ConfigError

__all__ = ["as_date", "iso", "iso_time"]


def as_date(value: Any, what: str = "date", *, timezone: str | None = None, optional: bool = False) -> dt.date | None:
    """The calendar date ``value`` stands for.

    Parameters
    ----------
    value : str, date, datetime, pandas.Timestamp or None
        ``YYYY-MM-DD`` (an ISO date-time such as ``2025-06-30T10:00`` is read
        as its date), or a date or timestamp object.
    what : str
        What the date is, for the error message (e.g. ``"as_of"``).
    timezone : str, optional
        IANA zone in which a time-zone-aware timestamp is read; default: its own zone.
    optional : bool
        True: None or ``""`` give None. False: they are an error.

    Returns
    -------
    datetime.date or None

    Raises
    ------
    ConfigError
        ``value`` is not a date (a :class:`ValueError` too); the message starts with ``what``.

    Examples
    --------
    >>> as_date("2025-06-30")
    datetime.date(2025, 6, 30)
    >>> import pandas as pd
    >>> as_date(pd.Timestamp("2025-06-30 23:30", tz="UTC"), timezone="Asia/Seoul")
    datetime.date(2025, 7, 1)
    >>> as_date(None, optional=True) is None
    True
    >>> as_date("30/06/2025", "as_of")
    Traceback (most recent call last):
    ...
    ecrm_lib.core.errors.ConfigError: as_of '30/06/2025' is not a date; write it as YYYY-MM-DD (e.g. 2025-06-30).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise ConfigError(f"{what} is missing; write it as YYYY-MM-DD (e.g. 2025-06-30).")
    if isinstance(value, dt.datetime):  # also pandas.Timestamp
        if value != value:  # NaT
            if optional:
                return None
            raise ConfigError(f"{what} is missing (NaT); write it as YYYY-MM-DD (e.g. 2025-06-30).")
        if value.tzinfo is not None and timezone:
            import zoneinfo

            value = value.astimezone(zoneinfo.ZoneInfo(timezone))
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return as_date(dt.datetime.fromisoformat(text), what, timezone=timezone)
    except ValueError:
        raise ConfigError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD (e.g. 2025-06-30).") from None


def iso(value: Any) -> str | None:
    """``YYYY-MM-DD`` of a date-like value, None for None.

    >>> iso("2025-06-30T10:00:00")
    '2025-06-30'
    """
    day = as_date(value, optional=True)
    return day.isoformat() if day else None


def iso_time(t: dt.datetime) -> str:
    """A UTC time as ISO text to the second, with ``Z``.

    >>> iso_time(dt.datetime(2025, 6, 30, 6, 0, 12, 345, tzinfo=dt.timezone.utc))
    '2025-06-30T06:00:12Z'
    """
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")

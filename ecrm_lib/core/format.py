"""Numbers, money, shares and dates as a reader sees them, in the report language.

The one formatting layer of the pages and figures. Every function reads the
report language (:mod:`ecrm_lib.core.language`):

- English keeps the suite's style: ``1,234`` customers, ``45.6 million KRW``,
  ``38.4%``, ``+2.5 points``, ``2025-06-30``;
- Korean writes money in prose with 만/억/조 units (``3,820만 원``,
  ``6.2억 원``), percentages as ``38.4%``, differences of shares as
  percentage points ``+2.5%p``, dates as ``2025년 6월 30일`` (through Babel).

Tables show full figures with thousands separators (:func:`format_money_full`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.core.language import get_language

__all__ = ["NOT_AVAILABLE", "not_available", "as_number", "unit_of", "format_number", "format_count", "format_share",
           "format_money", "format_money_full", "format_value", "format_points", "format_points_interval",
           "format_change", "format_date", "format_relative_change", "format_decimal", "human_label"]


def _ko() -> bool:
    return get_language() == "ko"


def not_available() -> str:
    """The words for a figure that is not available, in the report language."""
    return "자료 없음" if _ko() else NOT_AVAILABLE


def format_count(value: Any) -> str:
    """A whole count with thousands separators (``1,234``), or "not available".

    >>> format_count(1234.0), format_count(None)
    ('1,234', 'not available')
    """
    x = as_number(value)
    return not_available() if x is None else f"{int(round(x)):,}"


def format_share(value: Any, digits: int = 1) -> str:
    """A share (0-1) as a percentage: ``0.3841`` -> ``38.4%``.

    >>> format_share(0.3841), format_share(0.5, 0)
    ('38.4%', '50%')
    """
    x = as_number(value)
    return not_available() if x is None else f"{100 * x:,.{digits}f}%"


def format_money_full(value: Any, digits: int = 0) -> str:
    """Money for a table cell: the full figure with thousands separators, no unit (``38,200,000``)."""
    x = as_number(value)
    return not_available() if x is None else f"{x:,.{digits}f}"


def format_date(value: Any) -> str:
    """A calendar date: ``2025-06-30`` in English, ``2025년 6월 30일`` in Korean.

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     format_date("2025-06-30")
    '2025년 6월 30일'
    """
    day = as_date(value, "date", optional=True)
    if day is None:
        return not_available()
    if _ko():
        from babel.dates import format_date as babel_date

        return babel_date(day, format="long", locale="ko_KR")
    return day.isoformat()


def _korean_money(x: float, currency: str) -> str:
    """Money in Korean prose: 만 (10^4), 억 (10^8), 조 (10^12) units; 원 for KRW."""
    unit = "원" if currency.upper() in ("KRW", "") else f" {currency}"
    a, sign = abs(x), "-" if x < 0 else ""
    def trim(v: float, digits: int) -> str:  # 6.20 -> 6.2, 5.0 -> 5: the digits that carry meaning
        out = f"{v:,.{digits}f}"
        return out.rstrip("0").rstrip(".") if "." in out else out

    if a >= 1e12:
        text = f"{a / 1e12:,.1f}조"
    elif a >= 1e8:
        text = f"{trim(a / 1e8, 2 if a < 1e9 else 1)}억"
    elif a >= 1e6:
        text = f"{a / 1e4:,.0f}만"
    elif a >= 1e4:
        text = f"{trim(a / 1e4, 1)}만"
    else:
        return f"{sign}{a:,.0f}{unit}" if unit == "원" else f"{sign}{a:,.0f}{unit}"
    return f"{sign}{text} {unit.strip()}"

def format_number(value: Any, unit: str | None = None, digits: int = 0) -> str:
    """Format a number with thousands separators and an optional unit.

    Examples
    --------
    >>> format_number(1234567.891, "KRW")
    '1,234,568 KRW'
    >>> format_number(0.4567, "%", digits=1)
    '45.7%'
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "자료 없음" if _ko() else "n/a"
    if unit == "%":
        return f"{100 * float(value):,.{digits}f}%"
    text = f"{float(value):,.{digits}f}" if isinstance(value, (float, int)) else str(value)
    return f"{text} {unit}" if unit else text


NOT_AVAILABLE = "not available"


# ----------------------------------------------------------------- units
def unit_of(description: str | None) -> str:
    """The unit of a registry metric: the text in the last parentheses of its meaning.

    Examples
    --------
    >>> unit_of("share of customers known only online; None without that group (share 0-1)")
    'share 0-1'
    >>> unit_of("no unit here")
    ''
    """
    if not description:
        return ""
    m = re.search(r"\(([^()]*)\)\s*$", str(description))
    return m.group(1).strip() if m else ""


def as_number(value: Any) -> float | None:
    """``value`` as a finite float, or None (text, None, NaN, bool)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def format_money(value: Any, currency: str = "") -> str:
    """Money in words a strategy reader scans: 1.23 billion KRW, 45.6 million KRW, 12,345 KRW.

    Examples
    --------
    >>> format_money(1_234_567_890, "KRW")
    '1.23 billion KRW'
    >>> format_money(-45_600_000, "KRW")
    '-45.6 million KRW'
    >>> format_money(12345.4, "EUR")
    '12,345 EUR'
    >>> format_money(None, "KRW"), format_money(0.0, "KRW"), format_money(12.5, "EUR")
    ('not available', '0 KRW', '12.50 EUR')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     format_money(38_200_000, "KRW"), format_money(620_000_000, "KRW"), format_money(9_800, "KRW")
    ('3,820만 원', '6.2억 원', '9,800원')
    >>> with using("ko"):  # the digits that tell two close amounts apart
    ...     format_money(57_486, "KRW"), format_money(206_058_030, "KRW"), format_money(2_306_058_030, "KRW")
    ('5.7만 원', '2.06억 원', '23.1억 원')
    """
    x = as_number(value)
    if x is None:
        return not_available()
    if _ko():
        return _korean_money(x, currency)
    a = abs(x)
    if a >= 1e9:
        text = f"{x / 1e9:,.2f} billion"
    elif a >= 1e6:
        text = f"{x / 1e6:,.1f} million"
    elif a >= 100 or float(x).is_integer():
        text = f"{x:,.0f}"
    else:
        text = f"{x:,.2f}"
    return f"{text} {currency}".strip()


def format_value(value: Any, unit: str, currency: str = "") -> str:
    """A metric value as text, by the unit its registry entry gives.

    Parameters
    ----------
    value : number, str or None
        The recorded value.
    unit : str
        From :func:`unit_of`, e.g. ``"share 0-1"``, ``"config currency"``,
        ``"share points"``, ``"AUC 0-1"``, ``"ratio"``, ``"customers"``.
    currency : str
        The config currency (for ``config currency`` units).

    Examples
    --------
    >>> format_value(0.384, "share 0-1")
    '38.4%'
    >>> format_value(0.021, "share points, 0.01 = 1 point")
    '+2.1 points'
    >>> format_value(2_500_000, "config currency per year", "KRW")
    '2.5 million KRW a year'
    >>> format_value(0.8123, "AUC 0-1"), format_value(2.345, "ratio"), format_value(12, "points, -100 to 100")
    ('0.812', '2.35', '+12.0')
    >>> format_value(1234, "customers"), format_value(None, "customers"), format_value("bgnbd", "")
    ('1,234', 'not available', 'bgnbd')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return not_available()
    x = as_number(value)
    if x is None:
        return str(value)
    u = unit.lower()
    if u.startswith("relative change"):
        return format_relative_change(x)
    if u.startswith("share points"):
        return format_points(x)
    if u.startswith("share"):
        return f"{100 * x:.1f}%"
    if "currency" in u:
        return format_money(x, currency) + ((" (연간)" if _ko() else " a year") if "per year" in u else "")
    if u.startswith(("auc", "correlation", "p-value", "0 equal")):
        return f"{x:.3f}"
    if u.startswith("ratio"):
        return f"{x:.2f}"
    if u.startswith("points"):
        return f"{x:+.1f}"
    if u.startswith("%"):
        return f"{x:+.1f}%"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}"


def format_points(value: Any) -> str:
    """A difference of shares (a fraction, 0.01 = 1 point) in signed percentage points.

    The one style of the page for uplifts and other differences of rates.

    Examples
    --------
    >>> format_points(0.025427), format_points(-0.0096), format_points(None)
    ('+2.5 points', '-1.0 points', 'not available')
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     format_points(0.025427)
    '+2.5%p'
    """
    x = as_number(value)
    if x is None:
        return not_available()
    return f"{100 * x:+.1f}%p" if _ko() else f"{100 * x:+.1f} points"


def format_points_interval(low: Any, high: Any) -> str:
    """An interval of share differences in signed points: ``"-6.5 to +4.7 points"``.

    Examples
    --------
    >>> format_points_interval(-0.0652, 0.047), format_points_interval(None, 0.1)
    ('-6.5 to +4.7 points', 'not available')
    """
    lo, hi = as_number(low), as_number(high)
    if lo is None or hi is None:
        return not_available()
    if _ko():
        return f"{100 * lo:+.1f}%p ~ {100 * hi:+.1f}%p"
    return f"{100 * lo:+.1f} to {100 * hi:+.1f} points"


def format_change(change: Any, unit: str, currency: str = "") -> str:
    """The change of a metric between two runs, at the precision its values are shown with.

    The change is computed on the unrounded values by the caller; only the
    display is rounded here. Shares change in percentage points, money in the
    currency (signed), counts as signed integers; exactly 0 is "no change".

    Examples
    --------
    >>> format_change(0.1264771, "share 0-1"), format_change(1.0826, "points, -100 to 100")
    ('+12.6 points', '+1.1')
    >>> format_change(-4_497_033.4, "config currency", "KRW"), format_change(0, "customers"), format_change(25, "customers")
    ('-4.5 million KRW', 'no change', '+25')
    >>> format_change(0.0861, "AUC 0-1"), format_change(-0.037, "ratio"), format_change(-1.5, "%")
    ('+0.086', '-0.04', '-1.5 points')
    """
    x = as_number(change)
    if x is None:
        return not_available()
    if x == 0:
        return "변화 없음" if _ko() else "no change"
    u = (unit or "").lower()
    if u.startswith("share"):
        return format_points(x)
    if "currency" in u:
        return ("+" if x > 0 else "") + format_money(x, currency) + ((" (연간)" if _ko() else " a year") if "per year" in u else "")
    if u.startswith(("auc", "correlation", "p-value", "0 equal")):
        return f"{x:+.3f}"
    if u.startswith("ratio"):
        return f"{x:+.2f}"
    if u.startswith("points"):
        return f"{x:+.1f}"
    if u.startswith("%"):
        return f"{x:+.1f}%p" if _ko() else f"{x:+.1f} points"
    if float(x).is_integer():
        return f"{int(x):+,}"
    return f"{x:+,.2f}"


def format_relative_change(value: Any, digits: int = 1) -> str:
    """A relative change (0.1 = +10 %) as a signed percentage: ``-0.3612`` -> ``-36.1%``.

    Examples
    --------
    >>> format_relative_change(-0.3612), format_relative_change(0.05), format_relative_change(None)
    ('-36.1%', '+5.0%', 'not available')
    >>> format_value(-0.3612, "relative change, -0.1 = -10 %")
    '-36.1%'
    """
    x = as_number(value)
    return not_available() if x is None else f"{100 * x:+,.{digits}f}%"


def format_decimal(value: Any, digits: int = 2) -> str:
    """A number for a table cell: thousands separators, ``digits`` decimals, never scientific notation;
    a value below 10^-digits in size keeps two significant digits instead of reading 0.00.

    Examples
    --------
    >>> format_decimal(1234.5678), format_decimal(0.0055), format_decimal(3e-7), format_decimal(-0.5), format_decimal(0.0)
    ('1,234.57', '0.0055', '0.00000030', '-0.50', '0.00')
    """
    x = as_number(value)
    if x is None:
        return ""
    if x != 0 and abs(x) < 10 ** -digits:
        places = -math.floor(math.log10(abs(x))) + 1
        return f"{x:.{places}f}"
    return f"{x:,.{digits}f}"


_ACRONYMS = {"clv": "CLV", "auc": "AUC", "nps": "NPS", "csat": "CSAT", "rfm": "RFM", "id": "ID", "ids": "IDs",
             "roc": "ROC", "pr": "PR", "ci": "CI", "srm": "SRM", "kpi": "KPI", "url": "URL", "bgnbd": "BG/NBD",
             "mbgnbd": "MBG/NBD", "gg": "Gamma-Gamma", "mae": "MAE", "sd": "SD", "p": "p", "vs": "vs", "pct": "%"}


def human_label(name: Any) -> str:
    """A column name as a reader sees it: ``share_set_aside`` -> ``Share set aside``, ``mean_clv`` ->
    ``Mean CLV``, ``n_customers`` -> ``Customers``; a name that is not snake_case is kept.

    Examples
    --------
    >>> [human_label(c) for c in ["share_set_aside", "mean_clv", "n_customers", "ci_low", "Channel", "n", "rows"]]
    ['Share set aside', 'Mean CLV', 'Customers', 'CI low', 'Channel', 'Count', 'Rows']
    >>> human_label("why not available"), human_label("mean P(alive), BG/NBD"), human_label("CLV (KRW)")
    ('Why not available', 'Mean P(alive), BG/NBD', 'CLV (KRW)')
    """
    text = str(name)
    if not re.fullmatch(r"[a-z0-9_]+", text):
        # a label in words starts with a capital ("net value (KRW)" -> "Net value (KRW)"); the rest is kept
        return text[:1].upper() + text[1:] if re.match(r"[a-z][a-z]* ", text) else text
    words = [w for w in text.split("_") if w]
    if words == ["n"]:
        return "Count"
    if len(words) > 1 and words[0] == "n":
        words = words[1:]
    words = [_ACRONYMS.get(w, w) for w in words]
    first = words[0]
    words[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(words)

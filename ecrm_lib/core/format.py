"""Numbers as a reader sees them."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["format_number"]

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
        return "n/a"
    if unit == "%":
        return f"{100 * float(value):,.{digits}f}%"
    text = f"{float(value):,.{digits}f}" if isinstance(value, (float, int)) else str(value)
    return f"{text} {unit}" if unit else text

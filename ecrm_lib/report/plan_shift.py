"""The channel-shift row of the costed plan in words: its language-neutral columns and how a page words them.

:func:`ecrm_lib.report.plan.channel_shift_row` writes the row with ``segment`` as the what-if's purpose code
(:data:`SHIFT_GENERIC` when it names none), ``channel`` as ``"phone -> app"`` and the :data:`SHIFT_COLUMNS`;
:func:`shift_whom` and :func:`shift_channel` word them in the report language for
:func:`ecrm_lib.report.plan.plan_display`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.format import as_number
from ecrm_lib.core.i18n import t

__all__ = ["SHIFT_COLUMNS", "SHIFT_GENERIC", "data_code", "shift_channel", "shift_whom"]

SHIFT_COLUMNS = ["shift_share", "shift_source", "shift_target"]
"""Optional columns of a channel-shift row (:func:`channel_shift_row`): the share of the purpose's contacts moved
(0-1, NaN when the what-if names none) and the channels they move from and to, as the data codes them (empty
on other rows). With ``segment`` (the purpose's code) they keep the product free of any report language."""

SHIFT_GENERIC = "what-if contacts"
"""``segment`` of a channel-shift row whose what-if names no purpose or channel."""


def data_code(value: Any) -> str:
    """A code of the data (purpose, channel) as text; "" when missing."""
    return "" if value is None or (not isinstance(value, str) and bool(pd.isna(value))) else str(value).strip()


def shift_whom(r: Any) -> str:
    """Whom a channel-shift row moves, in the report language (:func:`channel_shift_row`'s neutral columns)."""
    purpose, src = data_code(r.get("segment")), data_code(r.get("shift_source"))
    if not purpose or purpose == SHIFT_GENERIC or not src:
        return t("plan.whom_shift_generic")
    words = dict(purpose=purpose.replace("_", " "), source=src)
    share = as_number(r.get("shift_share"))
    if share is not None and np.isfinite(share):
        return t("plan.whom_shift_share", share=f"{100 * share:.0f}%", **words)
    return t("plan.whom_shift", **words)


def shift_channel(r: Any) -> str:
    """A channel-shift row's channels (from -> to) in the report language; the product's cell when they are missing."""
    src, dst = data_code(r.get("shift_source")), data_code(r.get("shift_target"))
    return t("plan.channel_from_to", source=src, target=dst) if src and dst else data_code(r.get("channel"))

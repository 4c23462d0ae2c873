"""The suite's plot style and the helpers every figure module shares.

:func:`set_theme` sets the style (white grid, colour-blind :data:`PALETTE`);
:func:`get_ax` gives an Axes to draw on; :func:`truncate_label` shortens a
label from the data. The axis helpers (:func:`count_axis`, :func:`number_axis`, :func:`money_axis`,
:func:`share_axis`, :func:`points_axis`, :func:`zero_based`, :func:`heatmap_annotations`,
:func:`compact_money_axis`) give every
figure the same reader's format (issue 15): counts as whole numbers with thousands separators, money
and other numbers without scientific notation or offsets, shares in %, differences as signed points,
value axes from zero. The figures live beside this module, one module per
report (:mod:`~ecrm_lib.report.plots.overview`, :mod:`~ecrm_lib.report.plots.channels`,
...): each function takes a tidy DataFrame from a compute module and an
optional ``ax``, labels its axes with units, and returns the Axes. Labels that
come from the data (channel names, reasons) are drawn into the image, so
they cannot run as script in the HTML report.

Every title, axis label, legend and note a figure writes is a catalogue
message under ``plots.`` (:func:`label`, read when the figure is drawn, so one
function draws English or Korean under :func:`ecrm_lib.core.language.using`);
words of the suite's own vocabulary shown in legends go through :func:`term`;
values from the user's data are drawn as they are.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import seaborn as sns

from ecrm_lib.core.format import format_money
from ecrm_lib.core.i18n import t, t_or
from ecrm_lib.core.language import get_language
from ecrm_lib.report.plots.fonts import register_hangul_font

__all__ = ["PALETTE", "set_theme", "get_ax", "truncate_label", "label", "term", "currency_name", "with_unit",
           "compact_money", "money_text", "date_axis", "count_axis", "number_axis", "money_axis", "share_axis",
           "points_axis", "zero_based", "heatmap_annotations", "compact_money_axis"]

PALETTE = "colorblind"
"""Seaborn palette of every figure (colour-blind safe)."""


def set_theme() -> None:
    """The suite's plot style: white grid, readable sizes, colour-blind palette, Hangul through NanumGothic."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (9, 4.5), "figure.dpi": 100, "axes.titleweight": "bold"})
    register_hangul_font()


def get_ax(ax=None, figsize=(9, 4.5)):
    """The given Axes, or a new figure's Axes of ``figsize`` inches when None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def truncate_label(label, n: int = 40) -> str:
    """``label`` as text, cut to ``n`` characters with an ellipsis."""
    label = str(label)
    return label if len(label) <= n else label[: n - 1] + "…"


def label(key: str, /, **values) -> str:
    """The catalogue message ``plots.<key>`` in the report language, read when the figure is drawn.

    >>> from ecrm_lib.core.language import using
    >>> label("common.channel"), label("common.n_eq", n=1234)
    ('channel', 'n=1,234')
    >>> with using("ko"):
    ...     label("common.channel"), label("common.n_eq", n=1234)
    ('채널', '1,234명')
    """
    return t(f"plots.{key}", **values)


def term(word) -> str:
    """A word of the suite's own vocabulary shown in a figure (a tone, a model, a phase, a table name) in the
    report language; any other text (a value from the user's data) is returned as it is.

    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     term("positive"), term("Actual"), term("my own channel")
    ('긍정', '실제', 'my own channel')
    """
    text = str(word)
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return t_or(f"plots.terms.{slug}", text) if slug else text


def currency_name(currency: str) -> str:
    """The currency as an axis label writes it: ``KRW`` in English, ``원`` in Korean (other codes as given)."""
    code = str(currency or "")
    return "원" if get_language() == "ko" and code.upper() == "KRW" else code


def with_unit(text: str, unit: str) -> str:
    """``text (unit)``, or ``text`` alone when there is no unit.

    >>> with_unit("cost per contact", "KRW"), with_unit("cost per contact", "")
    ('cost per contact (KRW)', 'cost per contact')
    """
    return t("plots.common.with_unit", label=text, unit=unit) if unit else text


def compact_money(value: float) -> str:
    """A short amount for a bar's label or a tick: ``1.2M``, ``350k``, ``950`` in English; ``1.2억``, ``35만``,
    ``950`` in Korean (the units a Korean reader scans).

    >>> from ecrm_lib.core.language import using
    >>> compact_money(1_234_567), compact_money(350_000), compact_money(35_000), compact_money(-950)
    ('1.2M', '350k', '35,000', '-950')
    >>> with using("ko"):
    ...     compact_money(123_456_789), compact_money(350_000), compact_money(35_000), compact_money(950)
    ('1.2억', '35만', '3.5만', '950')
    """
    v = float(value)
    a = abs(v)
    if get_language() == "ko":
        if a >= 1e8:
            return f"{v / 1e8:,.1f}억"
        if a >= 1e5:
            return f"{v / 1e4:,.0f}만"
        if a >= 1e4:
            return f"{v / 1e4:.1f}만"
        return f"{v:,.0f}"
    if a >= 1e9:
        return f"{v / 1e9:.1f}bn"
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e5:
        return f"{v / 1e3:.0f}k"
    return f"{v:,.0f}"


def money_text(value: float, currency: str = "") -> str:
    """An amount in a sentence-like label: ``1,200 KRW`` in English, ``1,200원`` / ``3.5만 원`` in Korean."""
    if get_language() == "ko":
        return format_money(value, currency)
    return f"{float(value):,.0f} {currency}".strip()


def date_axis(axis, minticks: int = 3, maxticks: int = 10) -> None:
    """Concise date ticks on ``axis``: matplotlib's English month names, or ``2025년``, ``03월`` in Korean."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=minticks, maxticks=maxticks)
    if get_language() == "ko":
        formatter = mdates.ConciseDateFormatter(
            locator, formats=["%Y년", "%m월", "%d일", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y년", "%m월", "%m월 %d일", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y년", "%Y년 %m월", "%Y년 %m월 %d일", "%Y년 %m월 %d일", "%Y년 %m월 %d일 %H:%M"])
    else:
        formatter = mdates.ConciseDateFormatter(locator)
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter)


# ------------------------------------------------------------------ axes formatted for a reader
def _plain(decimals: int | None):
    def fmt(v, _pos=None):
        if decimals is None:
            a = abs(v)
            d = 0 if a >= 100 or float(v).is_integer() else (1 if a >= 10 else 2)
        else:
            d = decimals
        text = f"{v:,.{d}f}"
        return text[1:] if text.startswith("-") and text.strip("-0.,") == "" else text  # no "-0"
    return fmt


def _tick_formatter(fmt):
    """A matplotlib Formatter that writes each tick with ``fmt(value, ticks)``, ``ticks`` being every tick of
    the axis (given through ``set_locs`` before the labels are drawn; empty for a value shown alone), so that
    all ticks share one format. Matplotlib 3.11 deprecates reading ``Formatter.locs``: the ticks are kept here.

    >>> fmt = _tick_formatter(lambda v, ticks: f"{v} of {len(ticks)}")
    >>> fmt.format_ticks([1, 2]), fmt(3)
    (['1 of 2', '2 of 2'], '3 of 2')
    """
    import matplotlib.ticker as mticker

    class _Ticks(mticker.Formatter):
        def __init__(self):
            self.ticks: list = []

        def set_locs(self, locs):
            self.ticks = list(locs)

        def __call__(self, v, pos=None):
            return fmt(v, self.ticks)

    return _Ticks()


def count_axis(axis) -> None:
    """Whole-number ticks with thousands separators on ``axis`` (``ax.xaxis`` or ``ax.yaxis``): counts of
    customers, purchases, rows. No fractional tick is drawn between two integers.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.set_ylim(0, 12000); count_axis(ax.yaxis); fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_yticklabels()][-1]
    '12,000'
    >>> plt.close(fig)
    """
    import matplotlib.ticker as mticker

    axis.set_major_locator(mticker.MaxNLocator(integer=True, min_n_ticks=3))
    axis.set_major_formatter(mticker.FuncFormatter(_plain(0)))


def _step_decimals(locs) -> int:
    """Decimals the step between ticks needs (0.5 -> 1, 0.25 -> 2, 5 -> 0), so that every tick has the same."""
    import math

    import numpy as np

    locs = np.sort(np.asarray(locs, dtype=float))
    steps = np.diff(locs)
    steps = steps[steps > 0]
    if not len(steps):
        return 0
    step = float(steps.min())
    for d in range(0, 6):
        if abs(round(step * 10 ** d) - step * 10 ** d) < 1e-6 * max(1.0, step * 10 ** d):
            return d
    return max(0, -math.floor(math.log10(step)) + 1)


def number_axis(axis, decimals: int | None = None) -> None:
    """Plain numbers on ``axis``: thousands separators, no scientific notation and no offset (``1e6`` or
    ``+1.775e1`` never appears); ``decimals`` fixed, or None for the same number on every tick, as few as the
    step between ticks needs (``0``, ``0.5``, ``1.0``, ``1.5``).

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.set_ylim(0, 4.4); number_axis(ax.yaxis); fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['0.0', '0.5', '1.0']
    >>> plt.close(fig)
    """
    axis.set_major_formatter(_tick_formatter(lambda v, ticks: _plain(decimals if decimals is not None else _step_decimals(ticks))(v)))


def money_axis(axis, compact: bool = False) -> None:
    """Money ticks: whole units with thousands separators (``1,250,000``), or with ``compact`` the short form of
    :func:`compact_money` (``1.2M`` in English, ``125만`` in Korean); the axis label names the currency."""
    import matplotlib.ticker as mticker

    axis.set_major_formatter(mticker.FuncFormatter((lambda v, _: compact_money(v)) if compact else _plain(0)))


def share_axis(axis, decimals: int = 0, scale: float = 1.0) -> None:
    """Shares as percentages on ``axis`` (``scale`` 1: values 0-1; 100: values already in %)."""
    import matplotlib.ticker as mticker

    axis.set_major_formatter(mticker.PercentFormatter(scale, decimals=decimals))


def points_axis(axis, decimals: int | None = None) -> None:
    """Differences as signed numbers (``+2``, ``0``, ``-1.5``): percentage points or NPS points; the axis
    label names the unit.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.set_xlim(-4, 4); points_axis(ax.xaxis); fig.canvas.draw()
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['-4', '-3', '-2', '-1', '0', '+1', '+2', '+3', '+4']
    >>> plt.close(fig)
    """
    def signed(v, ticks):
        text = _plain(decimals if decimals is not None else _step_decimals(ticks))(v)
        return text if text.strip("0.,") == "" or text.startswith("-") else "+" + text

    axis.set_major_formatter(_tick_formatter(signed))


def zero_based(ax, which: str = "y") -> None:
    """Start the value axis (``"x"`` or ``"y"``) at zero when every value drawn is zero or more (a bar's length
    and a count's height read from zero); an axis with negative values is left as it is."""
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    data_min = ax.dataLim.y0 if which == "y" else ax.dataLim.x0
    if lo > hi or not data_min >= 0:  # an inverted axis, or values below zero: left as it is
        return
    if which == "y":
        ax.set_ylim(bottom=0)
    else:
        ax.set_xlim(left=0)


def heatmap_annotations(values, kind: str = "share"):
    """Text for each cell of a heatmap, as a reader writes it: shares as whole percentages (``45%``), counts as
    whole numbers with separators (``1,204``); empty for a missing cell. Pass it as ``annot=`` with ``fmt=""``.

    >>> import pandas as pd
    >>> heatmap_annotations(pd.DataFrame({"a": [0.456, None], "b": [1.0, 0.004]})).tolist()
    [['46%', '100%'], ['', '0%']]
    """
    import numpy as np
    import pandas as pd

    v = pd.DataFrame(values).astype("float64")
    if kind == "share":
        text = v.map(lambda x: "" if pd.isna(x) else f"{100 * x:.0f}%")
    elif kind == "count":
        text = v.map(lambda x: "" if pd.isna(x) else f"{x:,.0f}")
    else:
        raise ValueError(f"kind must be 'share' or 'count'; got {kind!r}")
    return np.asarray(text, dtype=object)


def compact_money_axis(axis) -> None:
    """Money ticks in one short unit for the whole axis: ``0``, ``50k``, ``100k``, ``150k`` or ``0``, ``2.5M``,
    ``5.0M`` in English; ``0``, ``5만``, ``10만`` or ``0.5억``, ``1.0억`` in Korean (the units a Korean reader
    scans; below 10만 whole numbers). The unit follows the largest tick and every tick has the same decimals (the step's), so that an
    axis never mixes ``50,000`` with ``100k`` as :func:`compact_money` (one unit per value) would; the axis
    label names the currency.

    >>> import matplotlib.pyplot as plt
    >>> from ecrm_lib.core.language import using
    >>> fig, ax = plt.subplots(); compact_money_axis(ax.xaxis); fmt = ax.xaxis.get_major_formatter()
    >>> fmt.format_ticks([0, 50_000, 100_000, 150_000]), fmt.format_ticks([0, 2_500_000, 5_000_000])
    (['0', '50k', '100k', '150k'], ['0', '2.5M', '5.0M'])
    >>> with using("ko"):
    ...     fmt.format_ticks([0, 50_000, 100_000, 150_000]), fmt.format_ticks([0, 50_000_000, 100_000_000])
    (['0', '5만', '10만', '15만'], ['0', '0.5억', '1.0억'])
    >>> fmt.format_ticks([0, 2_000, 4_000])
    ['0', '2,000', '4,000']
    >>> with using("ko"):
    ...     fmt.format_ticks([0, 5_000, 10_000, 15_000])
    ['0', '5,000', '10,000', '15,000']
    >>> plt.close(fig)
    """
    import numpy as np

    def compact(v, ticks):
        locs = np.asarray(ticks or [v], dtype=float)
        big = float(np.nanmax(np.abs(locs)))
        if get_language() == "ko":
            units = ((1e8, 1e8, "억"), (1e5, 1e4, "만"))  # 만 from 10만 up: 0.25만 reads worse than 2,500
        else:
            units = ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))
        div, suffix = next(((d, s) for at, d, s in units if big >= at), (1.0, ""))
        if abs(v) < 1e-9 * max(big, 1.0):
            return "0"
        return _plain(_step_decimals(locs / div))(v / div) + suffix

    axis.set_major_formatter(_tick_formatter(compact))

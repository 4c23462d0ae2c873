"""The suite's plot style and the helpers every figure module shares.

:func:`set_theme` sets the style (white grid, colour-blind :data:`PALETTE`);
:func:`get_ax` gives an Axes to draw on; :func:`truncate_label` shortens a
label from the data. The figures live beside this module, one module per
report (:mod:`~ecrm_lib.report.plots.overview`, :mod:`~ecrm_lib.report.plots.channels`,
...): each function takes a tidy DataFrame from a compute module and an
optional ``ax``, labels its axes with units, and returns the Axes. Labels that
come from the data (channel names, reasons) are drawn into the image, so
they cannot run as script in the HTML report.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from ecrm_lib.report.plots.fonts import register_hangul_font

__all__ = ["PALETTE", "set_theme", "get_ax", "truncate_label"]

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

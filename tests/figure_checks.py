"""Reading a drawn figure back, for the figure tests (tick labels as a reader sees them, no scientific notation)."""

from __future__ import annotations

import re

#: A tick or offset label in scientific notation (2e+05, 1e6, x10^5).
SCI = re.compile(r"\de[+-−]?\d|×10|1e\d")


def ticks(ax, which: str) -> list[str]:
    """The non-empty tick labels of an axis (``"x"`` or ``"y"``) after drawing."""
    ax.figure.canvas.draw()
    labels = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
    return [t.get_text() for t in labels if t.get_text()]


def plain(ax, *, offset_allowed: bool = False) -> None:
    """No tick label in scientific notation on either axis, and no offset beside an axis (``offset_allowed``: an
    offset text may stand there, but not in scientific notation and not as an added or subtracted constant)."""
    ax.figure.canvas.draw()
    for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        for text in ticks(ax, which):
            assert not SCI.search(text), (which, text)
        offset = axis.get_offset_text().get_text()
        if offset_allowed:
            assert not SCI.search(offset) and not offset.startswith(("+", "−", "-")), (which, offset)
        else:
            assert not offset, (which, offset)

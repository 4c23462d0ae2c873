"""Hangul in figures: NanumGothic, installed by pip with the suite, as matplotlib's fallback font.

The ``koreanize-matplotlib`` package (MIT licence) ships the NanumGothic
fonts (SIL Open Font License 1.1). We do not import that package (on import it
changes matplotlib's settings and turns the minus sign into a hyphen); we only
register its font files. Figures then use DejaVu Sans (matplotlib's own font,
with the minus sign and Latin letters) and fall back to NanumGothic for Hangul,
glyph by glyph, in both report languages (data values may be Korean on an
English page).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import matplotlib
from matplotlib import font_manager

__all__ = ["HANGUL_FONT", "hangul_font_files", "register_hangul_font"]

HANGUL_FONT = "NanumGothic"
"""Family name of the Hangul font."""

_DISTRIBUTION = "koreanize-matplotlib"


def hangul_font_files() -> list[Path]:
    """The NanumGothic font files installed with the suite (empty when the package is missing)."""
    try:
        dist = metadata.distribution(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return []
    return [Path(dist.locate_file(f)) for f in (dist.files or []) if str(f).endswith(".ttf")]


def register_hangul_font() -> bool:
    """Register NanumGothic with matplotlib and put it behind DejaVu Sans in ``font.family``.

    Returns
    -------
    bool
        False when the font files are not installed (figures then cannot draw Hangul).
    """
    files = hangul_font_files()
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for f in files:
        if str(f) not in known:
            font_manager.fontManager.addfont(str(f))
    if not files:
        return False
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", HANGUL_FONT]
    matplotlib.rcParams["axes.unicode_minus"] = True
    return True

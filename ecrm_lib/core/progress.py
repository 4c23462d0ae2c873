"""Progress of long steps, for someone watching a long run.

Library functions call :func:`step` at the start of a long step (loading,
identity resolution, fitting, scoring); a notebook may too. Under ``ecrm run``
each notebook's kernel has ``$ECRM_PROGRESS_FILE`` set to a file in the run
folder, and the runner prints new lines of every running notebook as they come
(``    channel_integration 12:03:05  identity resolution of 1,878,901 accounts``).
In a notebook opened by hand the lines go to the ``ecrm.progress`` logger only,
so the report's pages stay free of them.

Examples
--------
>>> step("fitting {model} on {n:,} customer histories", model="BG/NBD", n=1234567)
'fitting BG/NBD on 1,234,567 customer histories'
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

__all__ = ["ENV_VAR", "step"]

ENV_VAR = "ECRM_PROGRESS_FILE"
"""Environment variable naming the file a kernel's progress lines go to."""

_log = logging.getLogger("ecrm.progress")


def step(message: str, **values: Any) -> str:
    """Report the start of a long step.

    Parameters
    ----------
    message : str
        What is being done, in plain words; ``{name}`` fields (``str.format``)
        are filled from ``values``. No personal data: counts and names of steps only.
    **values
        Values for the fields.

    Returns
    -------
    str
        The line reported.
    """
    text = message.format(**values) if values else message
    text = " ".join(text.split())
    path = os.environ.get(ENV_VAR)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{dt.datetime.now().strftime('%H:%M:%S')}  {text}\n")
        except OSError:  # progress must never fail a step
            pass
    _log.info(text)
    return text

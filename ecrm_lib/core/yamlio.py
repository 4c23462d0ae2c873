"""The one YAML reader of the suite (configs, the notebook registry, parameter files).

YAML is read with :func:`yaml.safe_load` only: no tags that build Python
objects. A syntax error names the file, line and column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ecrm_lib.core.errors import EcrmError

__all__ = ["read_yaml"]


def read_yaml(path: str | os.PathLike, what: str, error: type[EcrmError] = EcrmError, fix: str = "") -> tuple[Any, str]:
    """Parse a YAML file.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, for messages (e.g. ``"config file"``).
    error : EcrmError subclass
        The error to raise (e.g. :class:`~ecrm_lib.core.errors.ConfigError`).
    fix : str
        What to do when the file is missing (appended to that message).

    Returns
    -------
    (value, text)
        The parsed document (None for an empty file) and the file's text.

    Raises
    ------
    error
        The file is missing or is not valid YAML (with line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
    >>> _ = p.write_text("a: [1, 2\\n")
    >>> read_yaml(p, "test file")
    Traceback (most recent call last):
    ...
    ecrm_lib.core.errors.EcrmError: ...x.yaml: not valid YAML at line 2, column 1: ...
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} does not exist." + (f" {fix}" if fix else ""))
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise error(f"{path}: not valid YAML{where}: {problem}") from None

"""The one YAML reader of the suite (configs, the notebook registry, parameter files).

YAML is read with PyYAML's safe loader only: no tags that build Python
objects. Its C version (libyaml, in PyYAML's wheels) is used where present:
the same documents, about ten times faster (the message catalogues every
notebook kernel reads). A syntax error names the file, line and column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ecrm_lib.core.errors import EcrmError

__all__ = ["parse_yaml", "read_yaml"]

#: PyYAML's safe loader, in C where PyYAML was built with libyaml.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """The YAML document in ``text`` (None when empty), read with the safe loader; raises :class:`yaml.YAMLError`.

    >>> parse_yaml("a: [1, 2]\\nb: 한국어")
    {'a': [1, 2], 'b': '한국어'}
    """
    return yaml.load(text, Loader=_SAFE_LOADER)


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
        return parse_yaml(text), text
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise error(f"{path}: not valid YAML{where}: {problem}") from None

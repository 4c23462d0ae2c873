"""The report language of this process: ``en`` (default) or ``ko``.

A notebook kernel, a runner process or a test sets it once
(:func:`set_language`, or ``with using("ko"):``); the message catalogue
(:mod:`ecrm_lib.core.i18n`) and the formatting layer (:mod:`ecrm_lib.core.format`)
read it. Kept apart from both so that they can import it without importing
each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ecrm_lib.core.errors import ConfigError

__all__ = ["LANGUAGES", "get_language", "set_language", "using"]

LANGUAGES = ("en", "ko")
"""Report languages, the first the default."""

_current = [LANGUAGES[0]]


def _check(lang: str) -> str:
    code = str(lang).strip().lower()
    if code not in LANGUAGES:
        raise ConfigError(f"report language {lang!r} is not supported; choose one of {list(LANGUAGES)}.")
    return code


def get_language() -> str:
    """The current report language code."""
    return _current[0]


def set_language(lang: str) -> str:
    """Set the report language of this process; returns the code.

    Raises
    ------
    ConfigError
        ``lang`` is not one of :data:`LANGUAGES`.
    """
    _current[0] = _check(lang)
    return _current[0]


@contextlib.contextmanager
def using(lang: str) -> Iterator[str]:
    """Use another report language inside a ``with`` block.

    >>> with using("ko"):
    ...     get_language()
    'ko'
    >>> get_language()
    'en'
    """
    before = _current[0]
    _current[0] = _check(lang)
    try:
        yield _current[0]
    finally:
        _current[0] = before

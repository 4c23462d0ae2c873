"""The message catalogue: every sentence a reader sees, in each report language.

One structured file per language, ``ecrm_lib/messages/<lang>.yaml``, with the
same nested keys in every language. We chose YAML files over gettext
catalogues because the pages' prose is long Markdown with named, typed
placeholders: a translator reads each English paragraph beside its Korean one
in the same key order, nothing has to be extracted or compiled, and a test
can check that every key and every placeholder exists in both languages
(``tests/test_i18n.py``). Library, runner and notebooks all call :func:`t`;
notebooks never branch on the language.

Placeholders are ``{name}`` or ``{name:type}``; the type formats the value
in the report language through :mod:`ecrm_lib.core.format`:

=============  ==============================================  ====================
type           value                                           English / Korean
=============  ==============================================  ====================
``count``      a number of customers, rows, ...                ``1,234``
``money``      an amount of the config currency (prose)        ``45.6 million KRW`` / ``4,560만 원``
``money_full`` an amount for a table cell                      ``45,600,000``
``share``      a share 0-1                                     ``38.4%``
``share0``     a share 0-1, no decimals                        ``38%``
``points``     a difference of shares (0.01 = 1 point)         ``+2.5 points`` / ``+2.5%p``
``date``       a date                                          ``2025-06-30`` / ``2025년 6월 30일``
``num1``...    a number with 1, 2 or 3 decimals                ``0.812``
=============  ==============================================  ====================

Any other format spec (``{n:,}``, ``{x:.2f}``) is Python's.

Examples
--------
>>> from ecrm_lib.core.language import using
>>> t("common.fewer_than", n=5)
'fewer than 5'
>>> with using("ko"):
...     t("common.fewer_than", n=5)
'5명 미만'
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ecrm_lib.core import format as fmt
from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.language import LANGUAGES, get_language, using
from ecrm_lib.core.yamlio import parse_yaml

__all__ = ["TYPES", "WordedError", "t", "t_or", "has", "catalogue", "placeholders", "set_currency", "get_currency"]

_currency = ["KRW"]


def set_currency(code: str) -> None:
    """The currency that ``{x:money}`` placeholders are in (the config's)."""
    _currency[0] = str(code)


def get_currency() -> str:
    """The currency of ``{x:money}`` placeholders."""
    return _currency[0]


TYPES = {
    "count": lambda v: fmt.format_count(v),
    "money": lambda v: fmt.format_money(v, get_currency()),
    "money_full": lambda v: fmt.format_money_full(v),
    "share": lambda v: fmt.format_share(v, 1),
    "share0": lambda v: fmt.format_share(v, 0),
    "points": lambda v: fmt.format_points(v),
    "date": lambda v: fmt.format_date(v),
    "num0": lambda v: fmt.format_number(v, digits=0),
    "num1": lambda v: fmt.format_number(v, digits=1),
    "num2": lambda v: fmt.format_number(v, digits=2),
    "num3": lambda v: fmt.format_number(v, digits=3),
}
"""Placeholder types and how each formats its value."""


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in TYPES:
            return TYPES[format_spec](value)
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def _flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = str(tree)
    return out


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of a language: ``{dotted.key: template}``."""
    if lang not in LANGUAGES:
        raise EcrmError(f"no message catalogue for language {lang!r}; languages: {list(LANGUAGES)}.")
    root = resources.files("ecrm_lib") / "messages"
    out = _flatten(parse_yaml((root / f"{lang}.yaml").read_text(encoding="utf-8")) or {})
    # One more file per area: messages/<lang>/<area>.yaml holds the keys under "<area>." (so that
    # each notebook's messages can live in their own file).
    folder = root / lang
    if folder.is_dir():
        for part in sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name):
            area = part.name[: -len(".yaml")]
            tree = parse_yaml(part.read_text(encoding="utf-8")) or {}
            for key, text in _flatten(tree, f"{area}.").items():
                if key in out:
                    raise EcrmError(f"message {key!r} is in ecrm_lib/messages/{lang}.yaml and again in "
                                    f"messages/{lang}/{part.name}; keep it in one of them.")
                out[key] = text
    return out


def placeholders(template: str) -> set[tuple[str, str]]:
    """``{(name, type)}`` of a template's placeholders (type "" when plain).

    >>> sorted(placeholders("{n:count} of {total:count} ({s:share})"))
    [('n', 'count'), ('s', 'share'), ('total', 'count')]
    """
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def t(key: str, /, **values: Any) -> str:
    """The message ``key`` in the report language, with its placeholders filled.

    Raises
    ------
    EcrmError
        The key is not in the catalogue, or a placeholder has no value.
    """
    lang = get_language()
    try:
        template = catalogue(lang)[key]
    except KeyError:
        raise EcrmError(f"message {key!r} is not in the {lang} catalogue (ecrm_lib/messages/{lang}.yaml); add it "
                        "there and in every other language.") from None
    try:
        return _FORMATTER.format(template, **values)
    except KeyError as e:
        raise EcrmError(f"message {key!r} needs a value for {e.args[0]!r}; it has {sorted(placeholders(template))}.") from None



def has(key: str) -> bool:
    """True when the report language's catalogue has ``key``."""
    return key in catalogue(get_language())


def t_or(key: str, default: str, /, **values: Any) -> str:
    """:func:`t` when the catalogue has ``key``, else ``default`` (for names the user defined, e.g. a
    notebook of their own registry, which the catalogue cannot know)."""
    return t(key, **values) if has(key) else default


class WordedError(EcrmError):
    """An error that a page shows in its report language.

    Raised with a catalogue ``key`` and its ``values``: ``str(exc)`` is the English sentence (for logs,
    metrics and tests) and :meth:`in_language` words it in the current report language for a page. A
    callable value (e.g. a count worded by :func:`ecrm_lib.core.privacy.count_text`) is called in each
    language. Raised with a plain message instead, both give that message.

    Examples
    --------
    >>> e = WordedError(key="fit.failed", values={"model": "BG/NBD", "n": 5, "reasons": "x"})
    >>> str(e).startswith("BG/NBD could not be fitted")
    True
    >>> with using("ko"):
    ...     e.in_language().startswith("BG/NBD을(를) 적합하지 못했습니다")
    True
    >>> WordedError("plain").in_language()
    'plain'
    """

    def __init__(self, message: str = "", *, key: str | None = None, values: Mapping[str, Any] | None = None):
        self.key, self.values = key, dict(values or {})
        if key is not None and not message:
            with using("en"):
                message = self.in_language()
        super().__init__(message)

    def in_language(self) -> str:
        """The message in the current report language (``str(self)`` when raised without a key)."""
        if self.key is None:
            return str(self)
        return t(self.key, **{k: (v() if callable(v) else v) for k, v in self.values.items()})

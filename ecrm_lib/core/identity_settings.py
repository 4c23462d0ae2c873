"""The config's ``identity:`` section: the rules that stop identifiers from joining accounts.

Every rule of the identity resolution's deterministic pass
(:mod:`ecrm_lib.channels.identity`) can be seen and changed here; the
defaults below are what a config without the section gets::

    identity:
      blocklist:                      # identifiers that never link accounts (added to the defaults)
        emails: [info@mycompany.co.kr]        # whole addresses
        email_local_parts: [nomail]           # the part before @, at any domain
        email_domains: [mycompany-test.com]   # every address at the domain
        phones: ["1588-1234", "02-3142-7700"] # the company's own numbers, in any format
        phone_patterns: ['^\\+8210(?:0{8})$'] # regular expressions (RE2) on the E.164 number
      replace_default_blocklist: false  # true: the lists above replace the defaults below
      max_accounts_per_identifier: 10   # an e-mail or phone held by more accounts is shared, not personal;
                                        # or one limit per kind: {email: 5, phone: 10}
      max_component_size: 30            # largest customer, in accounts (null: no limit)
      max_jamo_edits: 1                 # two Hangul names this close (jamo edits) can be one person's
      max_romanised_edits: 2            # other names this close (romanised, either order) can be one person's
      guards: [blocklist, shared_identifier, email_name_conflict, email_priority, name_conflict,
               max_component_size]      # the guards applied (all by default; leave one out to measure it)

Default blocklist (:data:`DEFAULT_PLACEHOLDERS`): the placeholder addresses
``noemail@none.com``, ``test@test.com``, ``none@none.com``, ``no@no.com``,
``a@a.com``, ``aaa@aaa.com``, ``abc@abc.com``, ``x@x.com``; the local parts
``noemail``, ``no-email``, ``none``, ``null``, ``test``, ``dummy``, ``fake``,
``noreply``, ``x``/``xx``/``xxx``, ``asdf``, ``sample``, ``example`` and the like
(the full list in :data:`DEFAULT_PLACEHOLDERS`); the domains ``none.com``,
``test.com``, ``example.com``, ``example.net``, ``example.org``, ``noemail.com``, ``nomail.com``,
``no.com``, ``invalid``, ``test.co.kr``; no company phone; the phone patterns
010 followed by eight equal digits, 010-1234-5678, and a number of one
repeated digit.

The identity report shows, per rule and per domain or pattern (masked), how
many identifiers each stopped (``identity.audit["stopped_by_rule"]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ecrm_lib.core.errors import ConfigError

__all__ = ["BLOCKLIST_LISTS", "DEFAULT_PLACEHOLDERS", "IDENTITY_GUARDS", "IdentitySettings", "parse_identity"]

#: The guards of the deterministic pass, in the order they are applied.
IDENTITY_GUARDS = ("blocklist", "shared_identifier", "email_name_conflict", "email_priority", "name_conflict", "max_component_size")

#: The lists of a blocklist.
BLOCKLIST_LISTS = ("emails", "email_local_parts", "email_domains", "phones", "phone_patterns")

#: The default blocklist, list by list.
DEFAULT_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "emails": ("noemail@none.com", "test@test.com", "none@none.com", "no@no.com", "a@a.com", "aaa@aaa.com", "abc@abc.com", "x@x.com"),
    "email_local_parts": (
        "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "none", "no", "null", "nil", "na",
        "unknown", "test", "tester", "dummy", "fake", "noreply", "no-reply", "donotreply", "do-not-reply",
        "x", "xx", "xxx", "xxxx", "asdf", "qwerty", "email", "mail", "sample", "example",
    ),
    "email_domains": ("none.com", "test.com", "example.com", "example.net", "example.org", "noemail.com", "nomail.com", "no.com", "invalid", "test.co.kr"),
    "phones": (),
    # 010-0000-0000, 010-1111-1111, ...; 010-1234-5678 (the textbook example); a run of one digit.
    "phone_patterns": (
        r"^\+8210(?:" + "|".join(d * 8 for d in "0123456789") + ")$",
        r"^\+821012345678$",
        r"^\+82(?:" + "|".join(d + "+" for d in "0123456789") + ")$",
    ),
}

_KEYS = {"blocklist", "replace_default_blocklist", "max_accounts_per_identifier", "max_component_size", "max_jamo_edits",
         "max_romanised_edits", "guards"}


@dataclass(frozen=True)
class IdentitySettings:
    """The ``identity:`` section (see the module docstring); every field has its documented default.

    Attributes
    ----------
    blocklist : dict of str to tuple of str
        The effective lists (:data:`BLOCKLIST_LISTS`): the defaults plus the config's, or the
        config's alone with ``replace_default_blocklist``.
    max_accounts_per_identifier : int or dict
        One limit, or ``{"email": n, "phone": m}``.
    max_component_size : int or None
    max_jamo_edits, max_romanised_edits : int
    guards : tuple of str
    """

    blocklist: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PLACEHOLDERS))
    max_accounts_per_identifier: int | dict[str, int] = 10
    max_component_size: int | None = 30
    max_jamo_edits: int = 1
    max_romanised_edits: int = 2
    guards: tuple[str, ...] = IDENTITY_GUARDS

    def resolve_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``resolve_identities`` except the blocklist (built by the identity package)."""
        return {"max_accounts_per_identifier": self.max_accounts_per_identifier, "max_component_size": self.max_component_size,
                "max_jamo_edits": self.max_jamo_edits, "max_romanised_edits": self.max_romanised_edits, "guards": self.guards}


def _whole(raw: dict, key: str, default, lowest: int, where: str, allow_none: bool = False):
    v = raw.get(key, default)
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < lowest:
        none = " or null" if allow_none else ""
        raise ConfigError(f"{where}: identity.{key} must be a whole number >= {lowest}{none}; got {v!r}.")
    return v


def _limits(raw: dict, where: str) -> int | dict[str, int]:
    v = raw.get("max_accounts_per_identifier", 10)
    if not isinstance(v, dict):
        return _whole(raw, "max_accounts_per_identifier", 10, 2, where)
    if set(v) - {"email", "phone"}:
        raise ConfigError(f"{where}: identity.max_accounts_per_identifier: give a number, or one per kind "
                          f"{{email: n, phone: m}}; got keys {sorted(map(str, v))}.")
    return {k: _whole({"max_accounts_per_identifier": v.get(k, 10)}, "max_accounts_per_identifier", 10, 2, where) for k in ("email", "phone")}


def parse_identity(raw: Any, where: str) -> IdentitySettings:
    """The ``identity:`` section as :class:`IdentitySettings` (None or absent: the defaults).

    Raises
    ------
    ConfigError
        On an unknown key, list or guard, a value of the wrong type, or a phone pattern that does not compile.
    """
    if raw is None:
        return IdentitySettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: identity must be a mapping (keys {sorted(_KEYS)}).")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: identity: unknown key(s) {unknown}. Allowed keys: {sorted(_KEYS)}.")
    lists = raw.get("blocklist") or {}
    if not isinstance(lists, dict):
        raise ConfigError(f"{where}: identity.blocklist must be a mapping of lists {list(BLOCKLIST_LISTS)}.")
    bad = sorted(set(lists) - set(BLOCKLIST_LISTS))
    if bad:
        raise ConfigError(f"{where}: identity.blocklist: unknown list(s) {bad}; lists: {list(BLOCKLIST_LISTS)}.")
    replace = raw.get("replace_default_blocklist", False)
    if not isinstance(replace, bool):
        raise ConfigError(f"{where}: identity.replace_default_blocklist must be true or false; got {replace!r}.")
    blocklist = {}
    for name in BLOCKLIST_LISTS:
        given = lists.get(name) or []
        if isinstance(given, str) or not isinstance(given, list):
            raise ConfigError(f"{where}: identity.blocklist.{name} must be a list of text; got {given!r}.")
        given = tuple(str(x) for x in given)
        blocklist[name] = given if replace else DEFAULT_PLACEHOLDERS[name] + given
    for pattern in blocklist["phone_patterns"]:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"{where}: identity.blocklist.phone_patterns: {pattern!r} is not a regular expression ({e}).") from None
    guards = raw.get("guards", list(IDENTITY_GUARDS))
    if isinstance(guards, str) or not isinstance(guards, list):
        raise ConfigError(f"{where}: identity.guards must be a list of guard names from {list(IDENTITY_GUARDS)}.")
    unknown = sorted(set(map(str, guards)) - set(IDENTITY_GUARDS))
    if unknown:
        raise ConfigError(f"{where}: identity.guards: unknown guard(s) {unknown}; choose from {list(IDENTITY_GUARDS)}.")
    return IdentitySettings(
        blocklist=blocklist,
        max_accounts_per_identifier=_limits(raw, where),
        max_component_size=_whole(raw, "max_component_size", 30, 2, where, allow_none=True),
        max_jamo_edits=_whole(raw, "max_jamo_edits", 1, 0, where),
        max_romanised_edits=_whole(raw, "max_romanised_edits", 2, 0, where),
        guards=tuple(g for g in IDENTITY_GUARDS if g in set(map(str, guards))),
    )

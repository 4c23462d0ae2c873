"""Identifiers of the identity graph (normalised e-mails and phones) and the blocklist.

:func:`identifier_tables` builds, on the engine, one row per distinct
identifier (``ids``: id, kind, value, n_accounts, first_row) and one row per
account with the ids of its e-mail and phone (``links``: row, email_id,
phone_id). Ids number the e-mails first, then the phones, each in order of
first appearance (the account row that holds them first).

:class:`Blocklist` lists identifiers that never link accounts;
:func:`blocklisted` is the engine expression that marks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import ibis
import pandas as pd

from ecrm_lib.channels.normalize import normalize_phone
from ecrm_lib.core.identity_settings import DEFAULT_PLACEHOLDERS, IdentitySettings

__all__ = ["DEFAULT_BLOCKLIST", "KINDS", "Blocklist", "blocklist_from", "blocklist_rules", "blocklisted", "identifier_tables"]

#: Kinds of identifier that link accounts, strongest first.
KINDS = ("email", "phone")


@dataclass(frozen=True)
class Blocklist:
    """Identifiers that never link accounts (junk, placeholders, company numbers).

    Parameters
    ----------
    emails : tuple of str
        Whole addresses (compared after normalisation).
    email_local_parts : tuple of str
        Local parts (before ``@``) that mark a placeholder at any domain.
    email_domains : tuple of str
        Domains whose every address is a placeholder.
    phones : tuple of str
        Phone numbers in any format (normalised with the default region):
        the company's own numbers (stores, call centre) that staff type in.
    phone_patterns : tuple of str
        Regular expressions (RE2 syntax: no back-references) matched against
        the E.164 number.

    Examples
    --------
    >>> bl = DEFAULT_BLOCKLIST.extend(phones=["1588-1234"])
    >>> "1588-1234" in bl.phones
    True
    """

    emails: tuple[str, ...] = ()
    email_local_parts: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    phone_patterns: tuple[str, ...] = ()

    def extend(self, **lists: Iterable[str]) -> Blocklist:
        """A copy with extra entries appended to the named lists."""
        unknown = set(lists) - {f.name for f in self.__dataclass_fields__.values()}
        if unknown:
            raise TypeError(f"Blocklist has no list(s) {sorted(unknown)}; lists: {list(self.__dataclass_fields__)}")
        return replace(self, **{k: tuple(getattr(self, k)) + tuple(v) for k, v in lists.items()})


#: The default blocklist (documented in :mod:`ecrm_lib.core.identity_settings`, the config's ``identity:`` section).
DEFAULT_BLOCKLIST = Blocklist(**DEFAULT_PLACEHOLDERS)


def blocklist_from(settings: IdentitySettings) -> Blocklist:
    """The :class:`Blocklist` of the config's ``identity:`` section (``Config.identity``)."""
    return Blocklist(**{k: tuple(v) for k, v in settings.blocklist.items()})


def identifier_tables(ws, acc):
    """Distinct identifiers and each account's identifier ids, as temporary tables.

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Normalised accounts (row, email, phone).

    Returns
    -------
    (ids, links) : (ibis.Table, ibis.Table)
        ids: id (int64), kind (email, phone), value, n_accounts, first_row;
        links: row, email_id, phone_id (missing without that identifier).
    """
    parts = [acc.filter(acc[k].notnull()).select("row", kind=ibis.literal(k), value=acc[k]) for k in KINDS]
    mem = parts[0].union(parts[1], distinct=False)
    ids = mem.group_by(["kind", "value"]).aggregate(n_accounts=mem.count(), first_row=mem.row.min())
    ids = ids.mutate(id=ibis.row_number().over(order_by=[ids.kind, ids.first_row]).cast("int64"))
    ids = ws.keep("ids", ids)
    links = acc.select("row", "email", "phone")
    for k in KINDS:
        sub = ids.filter(ids.kind == k).select(**{f"{k}_id": ids.id, f"_{k}_value": ids.value})
        links = links.left_join(sub, links[k] == sub[f"_{k}_value"]).drop(f"_{k}_value")
    links = ws.keep("links", links.select("row", "email_id", "phone_id"))
    return ids, links


def _lowered(values: Iterable[str]) -> list[str]:
    return [str(x).strip().lower() for x in values]


def _isin(col, values: list[str]):
    return col.isin(values) if values else ibis.literal(False)


def blocklisted(ids, blocklist: Blocklist, default_region: str):
    """Boolean expression over ``ids``: the identifier is on the blocklist.

    E-mails match a whole address, a local part (before the first ``@``) or a
    domain (after the last ``@``); phones match a company number (normalised
    with ``default_region``) or a pattern.
    """
    v = ids.value
    local = v.re_replace(r"@.*$", "")
    domain = v.re_replace(r"^.*@", "")
    email_bad = _isin(v, _lowered(blocklist.emails)) | _isin(local, _lowered(blocklist.email_local_parts)) | _isin(domain, _lowered(blocklist.email_domains))
    company = normalize_phone(pd.Series(list(blocklist.phones), dtype="string"), default_region=default_region).dropna().tolist()
    phone_bad = _isin(v, company)
    for pattern in blocklist.phone_patterns:
        phone_bad = phone_bad | v.re_search(pattern)
    return ibis.ifelse(ids.kind == "email", email_bad, phone_bad).fill_null(False)


def _mask_phone(value: str) -> str:
    return value[:3] + "*" * max(len(value) - 5, 0) + value[-2:]


def blocklist_rules(kinds: list[str], values: list[str], blocklist: Blocklist, default_region: str) -> list[tuple[str, str]]:
    """For blocklisted identifiers: the first list that matches each, and what the report may show of it.

    The same order as :func:`blocklisted` (whole address, local part, domain; company
    number, then each pattern in turn). Shown: ``***@domain`` for a whole address,
    ``local@*`` for a local part, ``*@domain`` for a domain, a masked company
    number, the pattern itself.

    Returns
    -------
    list of (rule, shown)
        rule is ``blocklist: <list>``; ("blocklist", "") for a value no list matches.
    """
    emails, locals_, domains = (set(_lowered(getattr(blocklist, k))) for k in ("emails", "email_local_parts", "email_domains"))
    company = set(normalize_phone(pd.Series(list(blocklist.phones), dtype="string"), default_region=default_region).dropna().tolist())
    patterns = [(p, re.compile(p)) for p in blocklist.phone_patterns]
    out = []
    for kind, v in zip(kinds, values, strict=True):
        if kind == "email":
            local, domain = re.sub(r"@.*$", "", v), re.sub(r"^.*@", "", v)
            if v in emails:
                out.append(("blocklist: emails", "***@" + domain))
            elif local in locals_:
                out.append(("blocklist: email_local_parts", local + "@*"))
            elif domain in domains:
                out.append(("blocklist: email_domains", "*@" + domain))
            else:
                out.append(("blocklist", ""))
            continue
        if v in company:
            out.append(("blocklist: phones", _mask_phone(v)))
            continue
        hit = next((p for p, rx in patterns if rx.search(v)), None)
        out.append(("blocklist: phone_patterns", hit) if hit is not None else ("blocklist", ""))
    return out

"""Over-merge guards of the deterministic pass, as queries on the engine.

Each guard stops identifiers from linking accounts; :func:`guard_reasons`
gives every identifier the first guard that stops it (else missing):

- ``blocklist``: on the :class:`~ecrm_lib.channels.identity.identifiers.Blocklist`;
- ``shared_identifier``: held by more than ``max_accounts_per_identifier`` accounts;
- ``email_priority``: a phone that would join two or more *e-mail groups*
  (accounts already joined by one usable e-mail) unless they look like one
  person with two addresses: their names agree and either every group is
  named or the phone is a mobile (a personal device);
- ``name_conflict``: a phone that would join groups (or accounts without a
  usable e-mail) whose names cannot be one person's. Each group is
  represented by its most frequent name (Hangul first, then the name seen
  first). Two Hangul names must be at most one edit apart on their jamo (a
  typo); otherwise the romanised keys, in either order, at most two edits
  (Jihoon / Jihun). Names in mixed or other scripts, and missing names, are
  no evidence;
- ``max_component_size`` is applied on the edge list, see
  :mod:`~ecrm_lib.channels.identity.components`.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa

from ecrm_lib.channels.identity.identifiers import Blocklist, blocklisted
from ecrm_lib.channels.normalize import phone_is_mobile

__all__ = ["GUARDS", "GUARD_TEXT", "JUNK_REASONS", "guard_reasons", "names_compatible"]

GUARDS = ("blocklist", "shared_identifier", "email_priority", "name_conflict", "max_component_size")

#: What each guard does, for the audit table.
GUARD_TEXT = {
    "blocklist": "placeholder e-mail or company phone on the blocklist: never links",
    "shared_identifier": "identifier held by more than max_accounts_per_identifier accounts: treated as shared",
    "email_priority": "phone that would join accounts holding different e-mails (not one person's two addresses): does not link them",
    "name_conflict": "phone that would join accounts whose names cannot be one person's: does not link them",
    "max_component_size": "identifier dropped to split a component larger than max_component_size",
}

#: Reasons that make an identifier no evidence at all (blanked in the probabilistic pass);
#: an identifier dropped only to split an over-size component stays evidence.
JUNK_REASONS = ("blocklist", "shared_identifier", "email_priority", "name_conflict")

_FAR = 1_000_000  # distance of a missing key: never compatible


def names_compatible(a, b):
    """Boolean expression: could names a and b (structs of a name-key table's columns) be one person's?

    ``a`` and ``b`` are mappings of column expressions with keys name,
    name_script, name_jamo, name_rom, name_rom_rev.
    """
    unknown = (
        a["name"].isnull()
        | b["name"].isnull()
        | a["name_script"].isin(["mixed", "other"]).fill_null(False)
        | b["name_script"].isin(["mixed", "other"]).fill_null(False)
        | (a["name"] == b["name"]).fill_null(False)
    )
    both_hangul = ((a["name_script"] == "hangul") & (b["name_script"] == "hangul")).fill_null(False)
    d_jamo = a["name_jamo"].levenshtein(b["name_jamo"]).fill_null(_FAR)
    d_rom = ibis.least(
        a["name_rom"].levenshtein(b["name_rom"]).fill_null(_FAR),
        a["name_rom"].levenshtein(b["name_rom_rev"]).fill_null(_FAR),
    )
    return unknown | ibis.ifelse(both_hangul, d_jamo <= 1, d_rom <= 2)


def _representative_names(acc, names, groups, touched):
    """Per touched group: its most frequent name (Hangul first, then Latin; then the name seen first)."""
    g = groups.join(touched, groups.comp == touched.comp).select(groups.row, groups.comp)
    a = acc.select("row", "name")
    members = g.join(a, g.row == a.row).select(g.comp, a.name)
    members = members.filter(members.name.notnull())
    counts = members.group_by(["comp", "name"]).aggregate(cnt=members.count())
    nm = names.select("name", "name_script", "first_row")
    counts = counts.join(nm, counts.name == nm.name).select(counts.comp, counts.name, counts.cnt, nm.name_script, nm.first_row)
    rank = ibis.cases((counts.name_script == "hangul", 0), (counts.name_script == "latin", 1), else_=2)
    # The smallest (script rank, -count, first row): one ordered aggregate, no window.
    key = ibis.struct({"script": -rank, "n": counts.cnt, "first": -counts.first_row})
    pick = ibis.struct({"name": counts.name, "script": counts.name_script}).argmax(key)
    rep = counts.group_by("comp").aggregate(_pick=pick)
    return rep.select("comp", rep_name=rep._pick["name"], rep_script=rep._pick["script"])


def _mobile_table(ws, ids, phone_ids, default_region: str):
    """Mobile flag of the candidate phones (few: phones touching two or more e-mail groups)."""
    cand = ids.join(phone_ids, ids.id == phone_ids.phone_id).select(phone_id=ids.id, value=ids.value).to_pyarrow()
    values = pd.Series(pd.array(cand.column("value"), dtype="string"))
    mobile = phone_is_mobile(values, default_region=default_region).to_numpy(dtype=bool)
    return ws.keep("mobile", pa.table({"phone_id": cand.column("phone_id"), "mobile": pa.array(mobile)}))


def guard_reasons(
    ws,
    acc,
    names,
    ids,
    links,
    *,
    guards: frozenset,
    blocklist: Blocklist,
    max_accounts_per_identifier: int,
    default_region: str,
):
    """The identifiers with the guard that stops each (``reason``, else missing), as a temporary table.

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Normalised accounts (row, name).
    names : ibis.Table
        Name-key table of the distinct names (name, name_script, name_jamo,
        name_rom, name_rom_rev, first_row).
    ids, links : ibis.Table
        From :func:`~ecrm_lib.channels.identity.identifiers.identifier_tables`.
    guards : frozenset of str
        Guards to apply (``max_component_size`` is applied later).
    blocklist : Blocklist
    max_accounts_per_identifier : int
    default_region : str

    Returns
    -------
    ibis.Table
        ids plus reason (blocklist, shared_identifier, email_priority, name_conflict or missing).
    """
    none = ibis.null("string")
    reason = none
    if "blocklist" in guards:
        reason = ibis.ifelse(blocklisted(ids, blocklist, default_region), "blocklist", none)
    if "shared_identifier" in guards:
        reason = ibis.coalesce(reason, ibis.ifelse(ids.n_accounts > max_accounts_per_identifier, "shared_identifier", none))
    if not ({"email_priority", "name_conflict"} & guards):
        return ws.keep("ids_reason", ids.mutate(reason=reason))
    ids0 = ws.keep("ids_first_guards", ids.mutate(reason=reason))
    touch, scratch = _phones_between_groups(ws, acc, names, ids0, links)
    name_conflict = ws.keep("name_conflict", _name_conflicts(touch, names))
    email_conflict = _email_conflicts(ws, ids0, touch, name_conflict, default_region)
    out = ids0.left_join(email_conflict, ids0.id == email_conflict._ec_phone).drop("_ec_phone")
    nc = name_conflict.select(_nc_phone=name_conflict.phone_id, name_conflict=name_conflict.name_conflict)
    out = out.left_join(nc, out.id == nc._nc_phone).drop("_nc_phone")
    reason = out.reason
    if "email_priority" in guards:
        reason = ibis.coalesce(reason, ibis.ifelse(out.email_conflict.fill_null(False), "email_priority", none))
    if "name_conflict" in guards:
        reason = ibis.coalesce(reason, ibis.ifelse(out.name_conflict.fill_null(False), "name_conflict", none))
    result = ws.keep("ids_reason", out.mutate(reason=reason).select(*ids.columns, "reason"))
    for t in [ids0, touch, name_conflict, *scratch]:
        ws.drop(t)
    return result


def _phones_between_groups(ws, acc, names, ids0, links):
    """Usable phones that touch two or more e-mail groups, with each group's representative name.

    An e-mail group is the accounts sharing one usable e-mail; an account
    without one is its own group. Returns (table phone_id, comp, has_email,
    rep_name, rep_script; scratch tables to drop afterwards).
    """
    usable = ids0.filter(ids0.reason.isnull())
    usable_email = usable.filter(usable.kind == "email").select(_email=usable.id)
    usable_phone = usable.filter(usable.kind == "phone").select(_phone=usable.id)
    lk = links.left_join(usable_email, links.email_id == usable_email._email)
    groups = ws.keep("email_groups", lk.select("row", comp=ibis.coalesce(lk._email, -(lk.row + 1)), has_email=lk._email.notnull()))
    held = links.join(usable_phone, links.phone_id == usable_phone._phone).select(links.row, links.phone_id)
    touch = held.join(groups, held.row == groups.row).select(held.phone_id, groups.comp, groups.has_email).distinct()
    multi = touch.group_by("phone_id").aggregate(n_groups=touch.count()).filter(lambda t: t.n_groups >= 2)
    multi = multi.select(_multi=multi.phone_id)
    touch = ws.keep("touch", touch.join(multi, touch.phone_id == multi._multi).select(touch.phone_id, touch.comp, touch.has_email))
    rep = _representative_names(acc, names, groups, touch.select("comp").distinct()).rename(_rep_comp="comp")
    tn = touch.left_join(rep, touch.comp == rep._rep_comp)
    named = ws.keep("touch_names", tn.select(touch.phone_id, touch.comp, touch.has_email, tn.rep_name, tn.rep_script))
    return named, [groups, touch]


def _name_conflicts(touch, names):
    """Phones two of whose groups' representative names cannot be one person's (phone_id, name_conflict)."""
    named = touch.filter(touch.rep_name.notnull()).select("phone_id", name=touch.rep_name).distinct()
    keys = names.select("name", "name_script", "name_jamo", "name_rom", "name_rom_rev")
    a = named.join(keys, named.name == keys.name).select(named.phone_id, *[keys[c] for c in keys.columns])
    b = a.rename(lambda c: f"{c}_b")
    pairs = a.join(b, [a.phone_id == b.phone_id_b, a.name < b.name_b])
    ok = names_compatible({c: pairs[c] for c in keys.columns}, {c: pairs[f"{c}_b"] for c in keys.columns})
    return pairs.filter(~ok).select("phone_id").distinct().mutate(name_conflict=ibis.literal(True))


def _email_conflicts(ws, ids0, touch, name_conflict, default_region: str):
    """Phones touching two or more groups with an address, unless they look like one person's (_ec_phone, email_conflict).

    Waived when the names agree and either every such group is named or the phone is a mobile.
    """
    em = touch.filter(touch.has_email)
    per_phone = em.group_by("phone_id").aggregate(n_mail=em.count(), unnamed=em.rep_name.isnull().cast("int64").sum())
    cand = ws.keep("email_candidates", per_phone.filter(per_phone.n_mail >= 2))
    mobile = _mobile_table(ws, ids0, cand.select("phone_id"), default_region)
    nc = name_conflict.select(_nc_phone=name_conflict.phone_id, name_conflict=name_conflict.name_conflict)
    mb = mobile.select(_mb_phone=mobile.phone_id, mobile=mobile.mobile)
    c = cand.left_join(nc, cand.phone_id == nc._nc_phone)
    c = c.select(c.phone_id, c.unnamed, c.name_conflict)
    c = c.left_join(mb, c.phone_id == mb._mb_phone)
    c = c.select(c.phone_id, c.unnamed, c.name_conflict, c.mobile)
    waived = ~c.name_conflict.fill_null(False) & ((c.unnamed == 0) | c.mobile.fill_null(False))
    return ws.keep("email_conflict", c.filter(~waived).select(_ec_phone=c.phone_id, email_conflict=ibis.literal(True)))

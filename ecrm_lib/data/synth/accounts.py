"""Accounts: the 1-4 channels each person holds, the identifiers as each channel writes them (or not at all),
how every non-primary account links to the person's primary account, the identity traps, and account ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from ecrm_lib.data.synth.arrays import (
    by_case,
    cat,
    choice_rows,
    ids,
    per_group_rank,
    pick_distinct_persons,
    probs,
    zfill,
)
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    CALL_CENTRE_PHONE,
    CH_MAIL,
    CH_PHONE,
    CH_STORE,
    CH_WEB,
    EMAIL_STYLE_WEIGHTS,
    GIVEN_NAMES,
    ID_PREFIX,
    NAME_VARIANTS,
    PHONE_FORMAT_WEIGHTS,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_WRITTEN,
    REGIONS,
    STORE_PHONE,
)

__all__ = ["build_accounts", "account_ids"]


def build_accounts(rng: np.random.Generator, per: dict[str, np.ndarray], P: SynthParams) -> dict[str, Any]:
    """Accounts of every person, their raw identifiers, link basis and traps.

    Returns a dict of arrays with one element per account (``person``, ``channel``, ``slot``,
    ``is_primary``, ``basis``, ``name``, ``email``, ``phone``, ``postcode``, ``phone_kind``, ``trap_of``,
    ...), ``prim_row`` (each person's primary account row), ``traps`` (counts by trap) and ``N``.
    """
    n = len(per["fam"])
    k = per["n_acc"]
    prim = rng.choice(6, size=n, p=probs(P.primary_channel_probs))
    keys = np.log(np.asarray(P.secondary_channel_weights)) + rng.gumbel(size=(n, 6))
    keys[np.arange(n), prim] = np.inf
    order = np.argsort(-keys, axis=1, kind="stable")[:, :4]
    slot_grid = np.broadcast_to(np.arange(4), (n, 4))
    mask = slot_grid < k[:, None]
    person = np.broadcast_to(np.arange(n)[:, None], (n, 4))[mask]
    channel = order[mask]
    slot = slot_grid[mask]
    N = person.size
    is_primary = slot == 0
    prim_row = np.cumsum(k) - k
    prow = prim_row[person]

    has_email = rng.random(N) < np.asarray(P.email_presence)[channel]
    has_phone = rng.random(N) < np.asarray(P.phone_presence)[channel]
    has_post = rng.random(N) < np.asarray(P.postcode_presence)[channel]
    has_name = rng.random(N) < np.asarray(P.name_presence)[channel]
    uses_e2 = per["has_e2"][person] & ~is_primary & (rng.random(N) < P.second_email_use)

    def strong():
        se = ~is_primary & has_email & has_email[prow] & (uses_e2 == uses_e2[prow])
        sp = ~is_primary & has_phone & has_phone[prow]
        return se, sp

    se, sp = strong()
    unlinked = ~is_primary & ~se & ~sp
    force = unlinked & (rng.random(N) < P.strong_link_share)
    has_phone[force] = True
    has_phone[prow[force]] = True
    np_link = unlinked & ~force
    protected = np.zeros(N, dtype=bool)  # rows whose name + postcode must stay intact
    for rows in (np.flatnonzero(np_link), prow[np_link]):
        has_name[rows] = True
        has_post[rows] = True
        protected[rows] = True
    se, sp = strong()
    basis = np.where(is_primary, "primary", np.where(se, "email", np.where(sp, "phone", np.where(np_link, "name_postcode", "none"))))
    assert not (basis == "none").any()

    traps: dict[str, Any] = {}
    trap_of = np.full(N, "", dtype=object)
    single = (k[person] == 1) & is_primary
    in_house = per["household"][person] >= 0

    # accounts without any identifier: single-account persons outside households, offline channels
    cand = np.flatnonzero(single & ~in_house & np.isin(channel, [CH_STORE, CH_PHONE, CH_MAIL]))
    n_noid = min(len(cand), max(2, int(round(P.no_identifier_rate * N))))
    noid = np.sort(rng.choice(cand, size=n_noid, replace=False)) if n_noid else cand[:0]
    has_email[noid] = has_phone[noid] = has_post[noid] = False
    has_name[noid] = rng.random(n_noid) < 0.7
    trap_of[noid] = "no_identifier"
    traps["accounts_without_identifier"] = int(n_noid)
    traps["accounts_without_identifier_or_name"] = int((~has_name[noid]).sum())
    free = np.ones(N, dtype=bool)
    free[noid] = False

    # unlinkable secondary accounts: an offline account that only carries the name
    cand = np.flatnonzero(~is_primary & ~protected & ~in_house & np.isin(channel, [CH_STORE, CH_PHONE, CH_MAIL]))
    unl = cand[rng.random(cand.size) < P.unlinkable_rate]
    has_email[unl] = has_phone[unl] = has_post[unl] = False
    has_name[unl] = True
    basis[unl] = "unlinkable"
    trap_of[unl] = "unlinkable_secondary"
    free[unl] = False
    traps["unlinkable_secondary_accounts"] = int(unl.size)

    # -- names -------------------------------------------------------------
    combo = per["fam"][person] * len(GIVEN_NAMES) + per["giv"][person]
    u = rng.random(N)
    style = np.zeros(N, dtype=np.int64)  # 0 NFC, 1 with space, 2 NFD, 3 romanised, 4 mixed scripts
    style[u < P.name_space_share] = 1
    style[(u >= P.name_space_share) & (u < P.name_space_share + P.name_nfd_share)] = 2
    roman = (channel == CH_WEB) & ~protected & (rng.random(N) < P.web_romanised_share)
    style[roman] = 3
    cand = np.flatnonzero(has_name & ~protected & (style != 3) & free)
    n_mixed = min(len(cand), max(2, int(round(P.mixed_script_rate * N))))
    mixed = rng.choice(cand, size=n_mixed, replace=False) if n_mixed else cand[:0]
    style[mixed] = 4
    roman_order = rng.choice(3, size=N, p=[0.6, 0.25, 0.15])
    variant = np.where(style == 3, 3 + roman_order, np.where(style == 4, 6, style))
    name = np.where(has_name, NAME_VARIANTS[variant, combo], None)
    traps["names_romanised"] = int((has_name & (style == 3)).sum())
    traps["names_nfd"] = int((has_name & (style == 2)).sum())
    traps["names_with_space"] = int((has_name & (style == 1)).sum())
    traps["names_mixed_script"] = int(n_mixed)
    trap_of[mixed] = "mixed_script_name"

    # -- e-mails -----------------------------------------------------------
    base = np.where(uses_e2, per["e2"][person], per["e1"][person])
    est = choice_rows(rng, EMAIL_STYLE_WEIGHTS, channel)
    email = by_case(est, [
        lambda r: base[r],
        lambda r: np.array([x.upper() for x in base[r]], dtype=object),
        lambda r: np.array([x.title() for x in base[r]], dtype=object),
        lambda r: np.array([" " + x for x in base[r]], dtype=object),
        lambda r: np.array([x + " " for x in base[r]], dtype=object),
        lambda r: np.array([" " + x.title() + " " for x in base[r]], dtype=object),
    ])
    email = np.where(has_email, email, None)
    # placeholders, at least 3 distinct persons each
    cand = np.flatnonzero(free & ~has_email & np.isin(channel, [CH_STORE, CH_PHONE, CH_MAIL]))
    n_ph = max(6, int(round(P.placeholder_rate * len(cand))))
    chosen = pick_distinct_persons(rng, cand, person, n_ph)
    which = np.arange(len(chosen)) % 2
    variant = rng.random(len(chosen)) < 0.25
    for w in (0, 1):
        rows = chosen[which == w]
        email[rows] = np.where(variant[which == w], PLACEHOLDER_WRITTEN[w][1], PLACEHOLDER_WRITTEN[w][0])
        traps[f"placeholder_email_{PLACEHOLDER_EMAILS[w]}"] = {"accounts": int(len(rows)), "persons": int(len(np.unique(person[rows])))}
    trap_of[chosen] = "placeholder_email"
    traps["placeholder_email_accounts"] = int(len(chosen))

    # -- phones ------------------------------------------------------------
    d8 = per["phone8"][person]
    mid = (d8 // 10_000).astype(str)
    last = zfill(d8 % 10_000, 4)
    fmt = choice_rows(rng, PHONE_FORMAT_WEIGHTS, channel)
    layouts = [("010-", "-"), ("010", ""), ("+82 10 ", " "), ("+82-10-", "-"), ("(010) ", " "), ("010 ", " "), ("010.", ".")]
    phone = by_case(fmt, [
        (lambda r, a=a, b=b: cat(a, mid[r], b, last[r])) for a, b in layouts
    ])
    phone = np.where(has_phone, phone, None)
    phone_kind = np.where(has_phone, "mobile", "")
    for label, chan, rate, numbers in (("store_phone", CH_STORE, P.store_phone_rate, STORE_PHONE),
                                        ("call_centre_phone", CH_PHONE, P.call_centre_phone_rate, CALL_CENTRE_PHONE)):
        cand = np.flatnonzero(free & ~has_phone & (channel == chan) & (trap_of == ""))
        rows = pick_distinct_persons(rng, cand, person, max(3, int(round(rate * len(cand)))))
        phone[rows] = np.where(rng.random(len(rows)) < 0.7, numbers[0], numbers[1])
        phone_kind[rows] = label
        trap_of[rows] = label
        traps[f"{label}_accounts"] = int(len(rows))
    # household landlines (store, phone, catalogue and web accounts): the only account of a single-account person,
    # or a non-primary account linked by e-mail
    area = np.array([r[4] for r in REGIONS], dtype=object)
    hh = per["household"][person]
    cand_mask = free & (hh >= 0) & (single | (basis == "email")) & (trap_of == "") & np.isin(channel, [CH_STORE, CH_PHONE, CH_MAIL, CH_WEB])
    cand = np.flatnonzero(cand_mask)
    rows = pick_distinct_persons(rng, cand, person, len(cand))
    ln = per["landline_num"][hh[rows]]
    code = area[per["region"][person[rows]]]
    seoul = code == "02"
    part1 = np.where(seoul, (ln // 10_000).astype(str).astype(object), (200 + (ln // 10_000) % 800).astype(str).astype(object))
    part2 = zfill(ln % 10_000, 4)
    dashed = rng.random(len(rows)) < 0.7
    phone[rows] = np.where(dashed, code + "-" + part1 + "-" + part2, code + part1 + part2)
    phone_kind[rows] = "household_landline"
    trap_of[rows] = "household_landline"
    hh_rows = hh[rows]
    shared = np.isin(hh_rows, np.flatnonzero(np.bincount(hh_rows, minlength=len(per["house_a"])) >= 2)) if len(rows) else rows
    traps["households"] = int(len(per["house_a"]))
    traps["household_landline_accounts"] = int(len(rows))
    traps["households_with_landline_on_both_members"] = int(len(np.unique(hh_rows[shared]))) if len(rows) else 0

    # -- postcodes ---------------------------------------------------------
    pc = per["postcode"][person].copy()
    moved = ~is_primary & ~protected & free & np.isin(basis, ["email", "phone"]) & (rng.random(N) < P.moved_rate)
    region_lo = np.array([r[2] for r in REGIONS])
    region_hi = np.array([r[3] for r in REGIONS])
    new_region = rng.choice(len(REGIONS), size=N, p=probs([r[1] for r in REGIONS]))
    new_pc = region_lo[new_region] + np.floor(rng.random(N) * (region_hi - region_lo + 1)[new_region]).astype(np.int64)
    moved &= has_post & (new_pc != pc)
    pc[moved] = new_pc[moved]
    postcode = zfill(pc, 5)
    strip = (channel == CH_MAIL) & ~protected & free & has_post & (pc < 10_000) & (rng.random(N) < P.postcode_zero_strip_rate)
    postcode[strip] = pc[strip].astype(str).astype(object)
    postcode = np.where(has_post, postcode, None)
    traps["accounts_with_old_postcode"] = int(moved.sum())
    traps["postcodes_without_leading_zero"] = int(strip.sum())
    trap_of[moved & (trap_of == "")] = "old_postcode"
    trap_of[strip & (trap_of == "")] = "postcode_lost_leading_zero"
    traps["accounts_with_second_email"] = int((uses_e2 & has_email).sum())

    return dict(person=person, channel=channel, slot=slot, is_primary=is_primary, prim_row=prim_row, basis=basis,
                name=name, email=email, phone=phone, postcode=postcode, phone_kind=phone_kind, trap_of=trap_of,
                has_email=has_email, has_phone=has_phone, traps=traps, N=N)


def account_ids(rng: np.random.Generator, channel: np.ndarray, used: np.ndarray | None = None,
                width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Channel-prefixed account ids, numbered per channel in a random order (ids reveal nothing), and their numbers.

    Parameters
    ----------
    rng : numpy.random.Generator
    channel : numpy.ndarray
        Channel code (0-5) of each account.
    used : numpy.ndarray, optional
        Numbers already given per channel (six counts, by earlier chunks): this chunk's numbers follow them.
    width : int, optional
        Digits the numbers are zero-padded to; default the digits of the largest number, at least 6.
    """
    N = len(channel)
    perm = rng.permutation(N)
    num = np.empty(N, dtype=np.int64)
    num[perm] = per_group_rank(channel[perm], np.zeros(N)) + 1
    if used is not None:
        num += np.asarray(used, dtype=np.int64)[channel]
    if width is None:
        width = max(6, len(str(int(num.max()) if N else 0)))
    return ids(ID_PREFIX[channel], num, width), num

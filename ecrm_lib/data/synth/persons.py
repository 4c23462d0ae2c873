"""Persons: their identity (names, mobile numbers, e-mail addresses, postcodes, households) and their
BG/NBD buying process (latent rates and the simulated repeat purchases).

:class:`TakenIdentifiers` carries what must stay unique across chunks: the mobile numbers (a bitmap
over the 80 million subscriber numbers, 80 MB) and the e-mail addresses (sorted 64-bit hashes, 8 bytes
per address; a hash collision only costs an address an extra suffix).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecrm_lib.data.synth.arrays import Window, by_case, cat, probs, zfill
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    EMAIL_DOMAINS,
    EMAIL_WORDS,
    FAMILY_NAMES,
    GIVEN_NAMES,
    REGIONS,
)

__all__ = ["TakenIdentifiers", "draw_btyd_latents", "simulate_btyd", "draw_persons", "draw_emails"]

_MOBILE_FIRST = 20_000_000  # subscriber numbers (the 8 digits after 010) run from 2000-0000
_MOBILE_NUMBERS = 80_000_000  # to 9999-9999


class TakenIdentifiers:
    """Mobile numbers and e-mail addresses already given to persons of earlier chunks.

    Examples
    --------
    >>> taken = TakenIdentifiers()
    >>> taken.claim_emails(np.array(["a@b.kr"], dtype=object))
    >>> taken.emails_taken(np.array(["a@b.kr", "c@d.kr"], dtype=object)).tolist()
    [True, False]
    """

    def __init__(self) -> None:
        self._phones: np.ndarray | None = None  # bitmap, made at the first claim
        self._email_hashes: list[np.ndarray] = []  # one sorted array per claim

    def claim_phones(self, rng: np.random.Generator, phone8: np.ndarray) -> np.ndarray:
        """``phone8`` with every number already taken (or repeated) replaced by a free one; all are then taken."""
        if self._phones is None:
            self._phones = np.zeros(_MOBILE_NUMBERS, dtype=bool)
        idx = np.asarray(phone8, dtype=np.int64) - _MOBILE_FIRST
        for _ in range(100):
            bad = self._phones[idx] | pd.Series(idx).duplicated().to_numpy()
            if not bad.any():
                break
            idx[bad] = rng.integers(0, _MOBILE_NUMBERS, size=int(bad.sum()))
        else:  # pragma: no cover - only when nearly all 80 million numbers are taken
            raise RuntimeError("ran out of free mobile numbers: generate fewer than about 70 million persons")
        self._phones[idx] = True
        return idx + _MOBILE_FIRST

    def emails_taken(self, emails: np.ndarray) -> np.ndarray:
        """Whether each address was claimed before (boolean array)."""
        out = np.zeros(len(emails), dtype=bool)
        if not self._email_hashes or not len(emails):
            return out
        h = pd.util.hash_array(np.asarray(emails, dtype=object))
        for known in self._email_hashes:
            pos = np.minimum(np.searchsorted(known, h), len(known) - 1)
            out |= known[pos] == h
        return out

    def claim_emails(self, emails: np.ndarray) -> None:
        """Remember these addresses as taken."""
        if len(emails):
            self._email_hashes.append(np.sort(pd.util.hash_array(np.asarray(emails, dtype=object))))


def draw_btyd_latents(rng: np.random.Generator, n: int, P: SynthParams, window: Window) -> dict[str, np.ndarray]:
    """Each person's purchase rate ``lam`` (per week), dropout probability ``pdrop``, spend rate ``nu``
    (1/KRW) and first purchase time ``t0`` (days after the window start)."""
    lam = rng.gamma(P.r, 1.0 / P.alpha, size=n)  # per week
    pdrop = np.clip(rng.beta(P.a, P.b, size=n), 1e-12, 1.0)
    nu = rng.gamma(P.gg_q, 1.0 / P.gg_gamma, size=n)  # rate of the spend distribution (1/KRW)
    t0 = rng.uniform(0.0, P.acquisition_share * window.days, size=n)  # days after the start, continuous
    return {"lam": lam, "pdrop": pdrop, "nu": nu, "t0": t0}


def simulate_btyd(rng: np.random.Generator, lat: dict[str, np.ndarray], window: Window) -> dict[str, np.ndarray]:
    """Repeat purchases of the BG/NBD process in continuous time (days after the window start).

    Given lambda, the repeat purchases until the end form a Poisson process: draw their number
    ``m ~ Poisson(lambda T)`` and place them as sorted uniforms; the person drops out after the
    ``K``-th repeat purchase, ``K ~ Geometric(p)``; the observed repeats are the first ``min(m, K)``.
    """
    lam, pdrop, t0 = lat["lam"], lat["pdrop"], lat["t0"]
    n = len(lam)
    span = window.days - t0  # days
    m = rng.poisson(lam * span / 7.0)
    K = rng.geometric(pdrop)
    n_rep = np.minimum(m, K)
    alive = m < K
    owner = np.repeat(np.arange(n), m)
    # sorted uniforms within each person: owner + u sorts by owner, then by u (owner < 2**31, u in [0, 1))
    u = np.minimum(np.sort(owner + rng.random(owner.size)) - owner, np.nextafter(1.0, 0.0))
    t = t0[owner] + u * span[owner]
    start = np.cumsum(m) - m
    rank = np.arange(owner.size) - start[owner]
    keep = rank < n_rep[owner]
    owner, t = owner[keep], t[keep]
    last = t0.copy()
    if owner.size:
        np.maximum.at(last, owner, t)
    return {"owner": owner, "t": t, "n_rep": n_rep, "alive": alive, "last": last}


def draw_persons(rng: np.random.Generator, n: int, P: SynthParams, window: Window,
                 taken: TakenIdentifiers | None = None) -> dict[str, np.ndarray]:
    """``n`` persons: name, birth year, region and postcode, mobile number, number of accounts, latent
    satisfaction, second e-mail, two-person households, e-mail addresses and the BG/NBD latents.

    ``taken`` holds the mobile numbers and e-mail addresses of persons drawn before (earlier chunks);
    a person never gets one of them. ``household`` numbers the households of these ``n`` persons from 0.
    """
    fam = rng.choice(len(FAMILY_NAMES), size=n, p=probs([f[1] for f in FAMILY_NAMES]))
    zipf = 1.0 / np.arange(1, len(GIVEN_NAMES) + 1) ** 0.6
    giv = rng.choice(len(GIVEN_NAMES), size=n, p=probs(zipf))
    birth_year = rng.integers(1955, 2006, size=n)
    region = rng.choice(len(REGIONS), size=n, p=probs([r[1] for r in REGIONS]))
    lo = np.array([r[2] for r in REGIONS])[region]
    hi = np.array([r[3] for r in REGIONS])[region]
    postcode = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    phone8 = rng.choice(_MOBILE_NUMBERS, size=n, replace=False) + _MOBILE_FIRST
    if taken is not None:
        phone8 = taken.claim_phones(rng, phone8)
    n_acc = rng.choice(len(P.accounts_per_person_probs), size=n, p=probs(P.accounts_per_person_probs)) + 1
    satisfaction = rng.standard_normal(n)
    has_e2 = rng.random(n) < P.second_email_share
    # two-person households: same family name, postcode and landline
    n_house = int(round(P.household_share * n / 2))
    household = np.full(n, -1, dtype=np.int64)
    house_a = house_b = np.zeros(0, dtype=np.int64)
    if n_house > 0 and n >= 2:
        idx = rng.permutation(n)[: 2 * n_house]
        house_a, house_b = idx[:n_house], idx[n_house:]
        fam[house_b] = fam[house_a]
        same = giv[house_b] == giv[house_a]  # family members do not share a given name
        giv[house_b[same]] = (giv[house_b[same]] + rng.integers(1, len(GIVEN_NAMES), size=int(same.sum()))) % len(GIVEN_NAMES)
        region[house_b] = region[house_a]
        postcode[house_b] = postcode[house_a]
        household[house_a] = np.arange(n_house)
        household[house_b] = np.arange(n_house)
    landline_num = rng.integers(2000, 9999, size=max(n_house, 1)) * 10_000 + rng.integers(0, 10_000, size=max(n_house, 1))
    lat = draw_btyd_latents(rng, n, P, window)
    out = dict(fam=fam, giv=giv, birth_year=birth_year, region=region, postcode=postcode, phone8=phone8,
               n_acc=n_acc, satisfaction=satisfaction, has_e2=has_e2, household=household,
               house_a=house_a, house_b=house_b, landline_num=landline_num)
    out.update(lat)
    out["e1"], out["e2"] = draw_emails(rng, out, taken)
    return out


def draw_emails(rng: np.random.Generator, per: dict[str, np.ndarray],
                taken: TakenIdentifiers | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each person's main and second e-mail address (lower case, unique across everybody, including the
    addresses in ``taken``, which are then added to it)."""
    n = len(per["fam"])
    fr = np.array([f[2].lower() for f in FAMILY_NAMES])[per["fam"]]
    gr = np.array([g[1].lower() for g in GIVEN_NAMES])[per["giv"]]
    gi = np.array([g[1][:1].lower() for g in GIVEN_NAMES])[per["giv"]]
    yy = zfill(per["birth_year"] % 100, 2)

    def locals_(pattern: np.ndarray) -> np.ndarray:
        num = rng.integers(1, 10_000, size=n).astype(str)
        word = np.array(EMAIL_WORDS)[rng.integers(0, len(EMAIL_WORDS), size=n)]
        return by_case(pattern, [
            lambda r: cat(gr[r], ".", fr[r]),  # minjun.kim
            lambda r: cat(fr[r], gr[r], yy[r]),  # kimminjun92
            lambda r: cat(gi[r], fr[r], yy[r]),  # mkim92
            lambda r: cat(gr[r], num[r]),  # minjun1234
            lambda r: cat(word[r], num[r]),  # sunny1234
        ])

    dom_names, dom_p = EMAIL_DOMAINS
    doms = np.array(dom_names, dtype=object)
    p1 = rng.choice(5, size=n, p=[0.25, 0.25, 0.20, 0.15, 0.15])
    p2 = (p1 + rng.integers(1, 5, size=n)) % 5
    l1, l2 = locals_(p1), locals_(p2)
    d1 = doms[rng.choice(len(doms), size=n, p=probs(dom_p))]
    d2 = doms[rng.choice(len(doms), size=n, p=probs(dom_p))]
    local = np.concatenate([l1, l2])
    dom = np.concatenate([d1, d2])
    emails = local + "@" + dom
    for _ in range(50):
        dup = pd.Series(emails, dtype=object).duplicated().to_numpy()
        if taken is not None:
            dup = dup | taken.emails_taken(emails)
        if not dup.any():
            break
        local[dup] = local[dup] + rng.integers(0, 1000, size=int(dup.sum())).astype(str).astype(object)
        emails = local + "@" + dom
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError("could not make e-mail addresses unique")
    if taken is not None:
        taken.claim_emails(emails)
    return emails[:n], emails[n:]

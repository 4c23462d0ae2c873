"""Activity: transactions (purchases, refunds, duplicates) and contacts (service, follow-ups, marketing,
night owls, channel conflicts) of the persons of one chunk."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.data.synth.arrays import (
    Window,
    choice_rows,
    round_to,
    seconds_of_day,
    weekdays_only,
    zfill,
)
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    BACKGROUND_MIX,
    CH_APP,
    CH_EMAIL,
    CH_MAIL,
    CH_PHONE,
    CH_STORE,
    CHANNEL_PROFILE,
    FOLLOWUP_MIX,
    INBOUND_CHANNEL_WEIGHT,
    INTERNET,
    OUTBOUND_CHANNEL_WEIGHT,
    OUTBOUND_MIX,
    P_BILLING,
    P_COMPLAINT,
    P_ORDER,
    P_RETURNS,
    PROFILE,
    PURPOSES,
    SECONDS_PER_DAY,
)

__all__ = ["purchase_accounts", "draw_transactions", "draw_contacts"]


def purchase_accounts(rng: np.random.Generator, acc: dict[str, Any], per_person: np.ndarray, P: SynthParams) -> np.ndarray:
    """Account row for each repeat purchase, from person-specific weights over the person's buying accounts."""
    n = len(acc["prim_row"])
    capable = acc["channel"] != CH_EMAIL
    w = rng.gamma(1.0, size=acc["N"]) * np.where(acc["is_primary"], P.primary_account_weight, 1.0) * capable
    W = np.zeros((n, 4))
    W[acc["person"], acc["slot"]] = w
    cum = np.cumsum(W, axis=1)
    u = rng.random(per_person.size) * cum[per_person, -1]
    j = (u[:, None] > cum[per_person]).sum(axis=1)
    return acc["prim_row"][per_person] + j


def draw_transactions(rng: np.random.Generator, per: dict, sim: dict, acc: dict, P: SynthParams, window: Window,
                      first_seq: int = 0, width: int | None = None) -> dict[str, Any]:
    """Purchases (first and repeat) with their account, local time, Gamma-Gamma amount and quantity, then
    refunds and exact duplicate rows on top.

    Transaction ids ``T0000001`` number the purchases in time order after ``first_seq`` (the purchases of
    earlier chunks), zero-padded to ``width`` digits (default: the digits of the count, at least 7).
    Returns ``tx`` (rows to write), ``purchases`` (purchases only, for contacts, feedback and the
    campaign) and ``info`` (counts for the truth).
    """
    n = len(per["lam"])
    person = np.concatenate([np.arange(n), sim["owner"]])
    t = np.concatenate([per["t0"], sim["t"]])
    is_first = np.r_[np.ones(n, dtype=bool), np.zeros(sim["owner"].size, dtype=bool)]
    row = np.concatenate([acc["prim_row"], purchase_accounts(rng, acc, sim["owner"], P)])
    day = np.minimum(np.floor(t).astype(np.int64), window.days - 1)
    chan = acc["channel"][row]
    secs = day * SECONDS_PER_DAY + seconds_of_day(rng, CHANNEL_PROFILE[chan])
    spend = rng.gamma(P.gg_p, 1.0 / per["nu"][person])
    amount = np.maximum(round_to(spend, P.amount_rounding_krw), P.amount_rounding_krw)
    quantity = 1 + rng.poisson(np.minimum(spend / 40_000.0, 6.0) * 0.5)
    # transaction ids in time order
    order = np.lexsort((row, secs))
    seq = np.empty(person.size, dtype=np.int64)
    seq[order] = np.arange(person.size) + 1 + first_seq
    if width is None:
        width = max(7, len(str(person.size)))
    tid = ("T" + pd.Series(zfill(seq, width))).to_numpy(dtype=object)
    # refunds: same account, 1-14 days later, full or half amount
    ref = np.flatnonzero(rng.random(person.size) < P.refund_rate)
    delay = rng.integers(1, 15, size=ref.size)
    partial = rng.random(ref.size) < P.refund_partial_share
    rday = day[ref] + delay
    ok = rday <= window.days - 1
    ref, rday, partial = ref[ok], rday[ok], partial[ok]
    rsecs = rday * SECONDS_PER_DAY + seconds_of_day(rng, CHANNEL_PROFILE[chan[ref]])
    ramount = -np.where(partial, np.maximum(round_to(amount[ref] / 2, P.amount_rounding_krw), P.amount_rounding_krw), amount[ref])
    tx = {
        "row": np.concatenate([row, row[ref]]),
        "secs": np.concatenate([secs, rsecs]),
        "amount": np.concatenate([amount, ramount]),
        "quantity": np.concatenate([quantity, -quantity[ref]]),
        "tid": np.concatenate([tid, tid[ref] + "-R"]),
        "seq": np.concatenate([seq, seq[ref]]),
        "is_refund": np.r_[np.zeros(person.size, dtype=bool), np.ones(ref.size, dtype=bool)],
    }
    total = tx["row"].size
    dup = np.flatnonzero(rng.random(total) < P.duplicate_rate)
    for key in tx:
        tx[key] = np.concatenate([tx[key], tx[key][dup]])
    tx["is_duplicate"] = np.r_[np.zeros(total, dtype=bool), np.ones(dup.size, dtype=bool)]
    purchases = {"person": person, "row": row, "day": day, "secs": secs, "t": t, "amount": amount, "is_first": is_first}
    info = {
        "purchases": int(person.size),
        "first_purchases": int(n),
        "repeat_purchases": int(sim["owner"].size),
        "refunds": int(ref.size),
        "refunds_partial": int(partial.sum()),
        "duplicate_rows": int(dup.size),
        "duplicate_rows_of_refunds": int(tx["is_refund"][-dup.size:].sum()) if dup.size else 0,
        "rows_with_amount_below_zero": int((tx["amount"] < 0).sum()),
        "loader_note": "under the default policies the refunds and their duplicates (rows_with_amount_below_zero) are set "
                       "aside as amount <= 0, and the remaining duplicate_rows - duplicate_rows_of_refunds rows as exact "
                       "duplicates; what is kept are exactly the purchases",
        "rows_written": int(tx["row"].size),
        "persons_with_two_purchases_on_one_day": int(pd.Series(person * 10_000_000 + day).duplicated().groupby(person).any().sum()),
        "purchases_on_email_accounts": int((chan == CH_EMAIL).sum()),
    }
    return {"tx": tx, "purchases": purchases, "info": info}


def draw_contacts(rng: np.random.Generator, per: dict, sim: dict, acc: dict, purchases: dict, P: SynthParams, window: Window) -> dict[str, Any]:
    """Inbound service contacts (background and purchase follow-ups), outbound marketing and channel
    conflicts, with local times (office channels on weekdays, night owls at night) and durations (min)."""
    n = len(per["lam"])
    D = window.days
    start_wd = window.start.weekday()
    N = acc["N"]
    internet_row = INTERNET[acc["channel"]]
    has_internet = np.zeros(n, dtype=bool)
    np.logical_or.at(has_internet, acc["person"], internet_row)
    share = has_internet.mean() if n else 0.0
    night_owl = has_internet & (rng.random(n) < (min(1.0, P.night_owl_share / share) if share > 0 else 0.0))
    owl_row = night_owl[acc["person"]]
    pref = rng.gamma(2.0, size=N)
    inbound_w = INBOUND_CHANNEL_WEIGHT[acc["channel"]] * pref * np.where(owl_row, internet_row, True)
    outbound_w = OUTBOUND_CHANNEL_WEIGHT[acc["channel"]] * np.where(owl_row, internet_row, True)

    def pick(weights_row: np.ndarray, who: np.ndarray) -> np.ndarray:
        W = np.zeros((n, 4))
        W[acc["person"], acc["slot"]] = weights_row
        cum = np.cumsum(W, axis=1)
        u = rng.random(who.size) * cum[who, -1]
        j = (u[:, None] > cum[who]).sum(axis=1)
        ok = cum[who, -1] > 0
        return np.where(ok, acc["prim_row"][who] + np.minimum(j, 3), -1)

    # active period in days: from two weeks before the first purchase to 60 days after the last one for lapsed customers
    a = np.maximum(per["t0"] - 14.0, 0.0)
    e = np.where(sim["alive"], float(D), np.minimum(float(D), sim["last"] + 60.0))
    rate = P.contact_base_rate + P.contact_rate_per_lambda * per["lam"]  # per week
    n_bg = rng.poisson(rate * (e - a) / 7.0)
    bg_person = np.repeat(np.arange(n), n_bg)
    bg_t = a[bg_person] + rng.random(bg_person.size) * (e - a)[bg_person]
    fu = rng.random(purchases["person"].size) < P.followup_prob
    fu_person = purchases["person"][fu]
    fu_t = purchases["t"][fu] + rng.uniform(0.5, 10.0, size=fu_person.size)
    in_person = np.concatenate([bg_person, fu_person])
    in_t = np.concatenate([bg_t, fu_t])
    in_mix = np.concatenate([np.zeros(bg_person.size, dtype=np.int64), np.ones(fu_person.size, dtype=np.int64)])
    keep = in_t < D
    in_person, in_t, in_mix = in_person[keep], in_t[keep], in_mix[keep]
    purpose = choice_rows(rng, np.vstack([BACKGROUND_MIX, FOLLOWUP_MIX]), in_mix)
    z = P.complaint_logit_intercept + P.complaint_logit_slope * per["satisfaction"][in_person]
    complaint = rng.random(in_person.size) < 1.0 / (1.0 + np.exp(-z))
    purpose = np.where(complaint, P_COMPLAINT, purpose)
    in_row = pick(inbound_w, in_person)
    ok = in_row >= 0
    in_person, in_t, purpose, in_row = in_person[ok], in_t[ok], purpose[ok], in_row[ok]

    # outbound marketing and notices through marketing channels, until 90 days after the active period
    e_out = np.minimum(float(D), e + 90.0)
    n_out = rng.poisson(P.outbound_per_year * np.maximum(e_out - per["t0"], 0.0) / 365.25)
    out_person = np.repeat(np.arange(n), n_out)
    out_t = per["t0"][out_person] + rng.random(out_person.size) * (e_out - per["t0"])[out_person]
    out_row = pick(outbound_w, out_person)
    ok = out_row >= 0
    out_person, out_t, out_row = out_person[ok], out_t[ok], out_row[ok]
    out_purpose = choice_rows(rng, OUTBOUND_MIX[None, :], np.zeros(out_person.size, dtype=np.int64))

    # channel conflicts: the same purpose again through another channel within two days
    conf_cand = np.isin(purpose, [P_COMPLAINT, P_RETURNS, P_ORDER, P_BILLING]) & (rng.random(in_person.size) < P.conflict_rate)
    c_idx = np.flatnonzero(conf_cand)
    other_w = inbound_w > 0
    W = np.zeros((n, 4))
    W[acc["person"], acc["slot"]] = other_w
    this_slot = acc["slot"][in_row[c_idx]]
    Wc = W[in_person[c_idx]].copy()
    Wc[np.arange(c_idx.size), this_slot] = 0.0
    cum = np.cumsum(Wc, axis=1)
    u = rng.random(c_idx.size) * cum[:, -1]
    j = (u[:, None] > cum).sum(axis=1)
    has_other = cum[:, -1] > 0
    c_idx, j = c_idx[has_other], j[has_other]
    c_row = acc["prim_row"][in_person[c_idx]] + j
    c_t = in_t[c_idx] + rng.uniform(0.05, 2.0, size=c_idx.size)
    ok = c_t < D
    c_idx, c_row, c_t = c_idx[ok], c_row[ok], c_t[ok]

    row = np.concatenate([in_row, out_row, c_row])
    person = acc["person"][row]
    t = np.concatenate([in_t, out_t, c_t])
    purp = np.concatenate([purpose, out_purpose, purpose[c_idx]])
    inbound = np.r_[np.ones(in_row.size, dtype=bool), np.zeros(out_row.size, dtype=bool), np.ones(c_row.size, dtype=bool)]
    conflict = np.r_[np.zeros(in_row.size + out_row.size, dtype=bool), np.ones(c_row.size, dtype=bool)]
    chan = acc["channel"][row]
    day = np.minimum(np.floor(t).astype(np.int64), D - 1)
    office = (chan == CH_PHONE) | (chan == CH_MAIL)
    day = np.where(office, weekdays_only(rng, day, start_wd, D - 1), day)
    # time of day
    profile = CHANNEL_PROFILE[chan].copy()
    owl_night = night_owl[person] & inbound & (rng.random(row.size) < P.night_owl_night_share)
    profile[owl_night] = PROFILE["night"]
    sod = seconds_of_day(rng, profile)
    # outbound batches: e-mail 10:00 or 19:00, app push 12:00 or 19:30, catalogue dispatch 09:00
    batch = rng.random(row.size) < 0.5
    jitter = rng.integers(0, 600, size=row.size)
    sod = np.where(~inbound & (chan == CH_EMAIL), np.where(batch, 10 * 3600, 19 * 3600) + jitter, sod)
    sod = np.where(~inbound & (chan == CH_APP), np.where(batch, 12 * 3600, 19 * 3600 + 1800) + jitter, sod)
    sod = np.where(~inbound & (chan == CH_MAIL), 9 * 3600 + jitter, sod)
    secs = day * SECONDS_PER_DAY + sod
    duration = np.full(row.size, np.nan)
    ph = chan == CH_PHONE
    stc = chan == CH_STORE
    duration[ph] = rng.lognormal(np.log(5.0), 0.6, size=int(ph.sum())) * np.where(purp[ph] == P_COMPLAINT, 1.6, 1.0) * np.where(inbound[ph], 1.0, 0.5)
    duration[stc] = rng.lognormal(np.log(8.0), 0.5, size=int(stc.sum()))
    duration = np.round(duration, 1)
    complaints = np.bincount(person[(purp == P_COMPLAINT) & ~conflict], minlength=n)
    info = {
        "rows": int(row.size),
        "inbound": int(inbound.sum()),
        "outbound": int((~inbound).sum()),
        "purchase_followups": int(fu.sum()),
        "channel_conflict_rows": int(conflict.sum()),
        "complaints": int((purp == P_COMPLAINT).sum()),
        "night_owls": int(night_owl.sum()),
        "night_owl_contacts": int(night_owl[person].sum()),
        "night_owl_contacts_at_night": int((night_owl[person] & ((sod < 5 * 3600) | (sod >= 21 * 3600))).sum()),
        "by_purpose": {PURPOSES[i]: int((purp == i).sum()) for i in range(len(PURPOSES))},
    }
    return {"row": row, "secs": secs, "purpose": purp, "inbound": inbound, "duration": duration, "conflict": conflict,
            "night_owl": night_owl, "complaints": complaints, "info": info}

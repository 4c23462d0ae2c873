"""The generator's entry point: :func:`generate` draws the persons chunk after chunk and writes every table.

A chunk is a block of persons (at most ``chunk_persons``, 250,000 by default) with everything they do:
accounts, transactions, contacts, feedback, campaign rows and truth rows. Each chunk is drawn from its
own random streams, derived from the seed and the chunk's index, and written (appended) before the next
one starts, so memory stays bounded by one chunk plus what must stay unique across chunks (mobile
numbers, e-mail addresses: :class:`~ecrm_lib.data.synth.persons.TakenIdentifiers`) and the persons'
latent values for the truth's summaries (7 numbers per person).

Generations of at most ``chunk_persons`` persons are one chunk and draw from the streams the generator
always used (the seed's first nine child streams), so the default data and any other single-chunk
dataset keep their bytes. With several chunks, chunk ``i`` draws from child ``9 + i`` of the seed's
``numpy.random.SeedSequence``; the Monte-Carlo population of the campaign's truth always uses the same
stream. Rows are sorted within each chunk as in a single-chunk generation, and chunks follow each other.

The earlier campaign (:func:`~ecrm_lib.data.synth.campaign.earlier_campaign_day`) draws from a tenth
stream of the chunk, the child with spawn key ``(9,)`` of the seed (``(9 + i, 9)`` for chunk ``i`` of
several), which no other draw uses: adding it changes no other row of any file. Its rows come first in
``campaigns.csv`` (within each chunk), before those of the main campaign.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date
from ecrm_lib.data.synth.accounts import account_ids, build_accounts
from ecrm_lib.data.synth.activity import draw_contacts, draw_transactions
from ecrm_lib.data.synth.arrays import Window, seconds_of_day, zfill
from ecrm_lib.data.synth.campaign import (
    campaign_day,
    campaign_population,
    campaign_truth,
    draw_campaign,
    earlier_campaign_day,
)
from ecrm_lib.data.synth.feedback import SENTIMENTS, TOPICS, draw_feedback
from ecrm_lib.data.synth.output import (
    TableWriter,
    config_text,
    frame,
    round_sig,
    table_writer,
    timestamps,
)
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.persons import TakenIdentifiers, draw_persons, simulate_btyd
from ecrm_lib.data.synth.reference import (
    CHANNEL_COSTS,
    CHANNEL_PROFILE,
    CHANNELS,
    ID_PREFIX,
    PURPOSES,
    SECONDS_PER_DAY,
    TRUTH_DIR,
)
from ecrm_lib.data.synth.truth import add_up, truth_document, write_truth

__all__ = ["generate", "chunk_sizes", "DEFAULT_CHUNK_PERSONS"]

DEFAULT_CHUNK_PERSONS = 250_000  # about 1 GB of working memory per chunk
#: Report languages of the embedded default data's config (a Korean retailer: Korean pages first, English beside them).
DEFAULT_DATA_LANGUAGES = ("ko", "en")
_STREAMS = ("persons", "btyd", "accounts", "transactions", "contacts", "feedback", "campaign", "population", "created")
_DATA_TABLES = ("accounts", "transactions", "contacts", "channel_costs", "feedback", "campaigns")
_TRUTH_TABLES = ("persons", "person_latents", "feedback_labels", "campaign_effects")


def chunk_sizes(n_persons: int, chunk_persons: int) -> list[int]:
    """Persons per chunk: as few chunks as ``chunk_persons`` allows, of sizes that differ by at most one.

    Examples
    --------
    >>> chunk_sizes(3000, 250_000)
    [3000]
    >>> chunk_sizes(1_000_001, 250_000)
    [200001, 200000, 200000, 200000, 200000]
    """
    k = -(-n_persons // chunk_persons)
    base, extra = divmod(n_persons, k)
    return [base + 1] * extra + [base] * (k - extra)


def _streams(seed: int, index: int | None) -> dict[str, np.random.Generator]:
    """The random streams of a chunk: the seed's first nine children (``index`` None: one chunk, and the
    population stream), else the nine children of the seed's child ``9 + index``; and ``earlier_campaign``,
    the tenth child of the same root (spawn key ``(9,)``, or ``(9 + index, 9)``), used by nothing else."""
    root = np.random.SeedSequence(seed)
    if index is not None:
        root = np.random.SeedSequence(seed, spawn_key=(len(_STREAMS) + index,))
    streams = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, root.spawn(len(_STREAMS)))}
    streams["earlier_campaign"] = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(*root.spawn_key, len(_STREAMS))))
    return streams


class _Offsets:
    """What the chunks written so far used up: persons, account numbers per channel, households,
    purchases and feedback answers (ids continue after them), and the fixed id widths of a
    multi-chunk generation (None: widths from the counts, as for one chunk)."""

    def __init__(self, n: int, several: bool) -> None:
        self.persons = 0
        self.accounts = np.zeros(len(CHANNELS), dtype=np.int64)
        self.households = 0
        self.purchases = 0
        self.feedback = 0
        self.person_width = max(6, len(str(n)))
        # bounds: at most 4 accounts per person; 10 purchases and 1 feedback answer per person on average
        self.account_width = max(6, len(str(4 * n))) if several else None
        self.purchase_width = max(7, len(str(10 * n))) if several else None
        self.feedback_width = max(6, len(str(n))) if several else None
        self.taken = TakenIdentifiers() if several else None


def _chunk(rngs: dict[str, np.random.Generator], n: int, P: SynthParams, window: Window, a_day: int, cid: str,
           at: _Offsets, writers: dict[str, TableWriter], say: Callable[[str], None],
           earlier: tuple[int, str] | None = None) -> dict[str, Any]:
    """Draw ``n`` persons and everything they do, append their rows to the writers; returns their counts.

    ``earlier``: the earlier campaign's assignment day and id (None: no earlier campaign)."""
    say(f"persons: drawing {n:,} persons and their latent values")
    per = draw_persons(rngs["persons"], n, P, window, at.taken)
    say("purchases: simulating BG/NBD repeat purchases (weeks)")
    sim = simulate_btyd(rngs["btyd"], per, window)
    say("accounts: channels, identifiers as each channel writes them, traps")
    acc = build_accounts(rngs["accounts"], per, P)
    acc_id, acc_num = account_ids(rngs["accounts"], acc["channel"], at.accounts, at.account_width)
    say("transactions: channels, hours, Gamma-Gamma spend, refunds, duplicates")
    trx = draw_transactions(rngs["transactions"], per, sim, acc, P, window, at.purchases, at.purchase_width)
    say("contacts: service, follow-ups, marketing, night owls, channel conflicts")
    con = draw_contacts(rngs["contacts"], per, sim, acc, trx["purchases"], P, window)
    say("feedback: NPS answers and texts")
    fb = draw_feedback(rngs["feedback"], per, acc, trx["purchases"], con["complaints"], P, window)
    say("campaign: randomised assignment and responses")
    cam = draw_campaign(rngs["campaign"], per, acc, trx["purchases"], P, a_day)
    cam_early = (draw_campaign(rngs["earlier_campaign"], per, acc, trx["purchases"], P, earlier[0])
                 if earlier is not None else None)

    # account creation: before the first activity on the account
    say("accounts: creation times")
    rc = rngs["created"]
    N = acc["N"]
    first_act = np.full(N, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_act, trx["tx"]["row"], trx["tx"]["secs"])
    np.minimum.at(first_act, con["row"], con["secs"])
    fsecs = fb["secs"][~fb["missing_time"]]
    np.minimum.at(first_act, fb["row"][~fb["missing_time"]], fsecs)
    lead = np.where(acc["is_primary"], rc.exponential(20.0, size=N), rc.exponential(3.0, size=N)) * SECONDS_PER_DAY
    t0s = (per["t0"][acc["person"]] * SECONDS_PER_DAY).astype(np.int64)
    idle = t0s + (rc.random(N) * (window.days * SECONDS_PER_DAY - t0s)).astype(np.int64)
    created = np.where(first_act < np.iinfo(np.int64).max, first_act - lead.astype(np.int64), idle)
    # time of day typical of the channel, never after the first activity
    created = (created // SECONDS_PER_DAY) * SECONDS_PER_DAY + seconds_of_day(rc, CHANNEL_PROFILE[acc["channel"]])
    created = np.where(created > first_act, first_act - rc.integers(60, 900, size=N), created)

    # ---- tables ----------------------------------------------------------
    say("writing files")
    ch_names = np.array(CHANNELS, dtype=object)
    prefix_rank = np.argsort(np.argsort(ID_PREFIX))  # ids sort as (prefix, zero-padded number)
    a_order = np.lexsort((acc_num, prefix_rank[acc["channel"]]))
    rank_acc = np.empty(N, dtype=np.int64)
    rank_acc[a_order] = np.arange(N)
    writers["accounts"].write(frame({
        "account_id": acc_id, "channel": ch_names[acc["channel"]], "name": acc["name"], "email": acc["email"],
        "phone": acc["phone"], "postcode": acc["postcode"], "created_at": timestamps(window.start, created),
    }).iloc[a_order])

    tx = trx["tx"]
    t_order = np.lexsort((tx["is_refund"], tx["seq"], tx["secs"]))
    writers["transactions"].write(frame({
        "transaction_id": tx["tid"], "account_id": acc_id[tx["row"]], "timestamp": timestamps(window.start, tx["secs"]),
        "amount": tx["amount"], "quantity": tx["quantity"], "channel": ch_names[acc["channel"][tx["row"]]],
    }).iloc[t_order])

    c_order = np.lexsort((con["purpose"], rank_acc[con["row"]], con["secs"]))
    writers["contacts"].write(frame({
        "account_id": acc_id[con["row"]], "timestamp": timestamps(window.start, con["secs"]),
        "channel": ch_names[acc["channel"][con["row"]]], "direction": np.where(con["inbound"], "inbound", "outbound"),
        "purpose": np.array(PURPOSES, dtype=object)[con["purpose"]], "duration_min": con["duration"],
    }).iloc[c_order])  # durations are rounded to 0.1 min

    big = np.iinfo(np.int64).max
    f_key = np.where(fb["missing_time"], big, fb["secs"])
    f_order = np.lexsort((rank_acc[fb["row"]], f_key))
    f_id = np.empty(len(f_order), dtype=np.int64)
    f_id[f_order] = np.arange(len(f_order)) + 1 + at.feedback
    f_width = at.feedback_width or max(6, len(str(len(f_order))))
    fid = ("F" + pd.Series(zfill(f_id, f_width))).to_numpy(dtype=object)
    ts = pd.Series(timestamps(window.start, fb["secs"])).where(~fb["missing_time"])
    writers["feedback"].write(frame({
        "response_id": fid, "account_id": acc_id[fb["row"]], "timestamp": ts.to_numpy(),
        "channel": ch_names[acc["channel"][fb["row"]]], "score": fb["score"], "score_max": 10, "text": fb["text"],
    }).iloc[f_order])

    for c, c_day, c_id in ([(cam_early, *earlier)] if earlier is not None else []) + [(cam, a_day, cid)]:
        a_secs = c_day * SECONDS_PER_DAY + 9 * 3600
        c_order = np.argsort(rank_acc[c["row"]], kind="stable")
        writers["campaigns"].write(frame({
            "account_id": acc_id[c["row"]], "campaign_id": c_id, "arm": np.where(c["treat"], "treatment", "control"),
            "response": c["y"].astype(np.int64), "revenue": c["revenue"].astype(np.int64),
            "assigned_at": timestamps(window.start, np.full(c["row"].size, a_secs)),
        }).iloc[c_order])
        writers["campaign_effects"].write(frame({  # the true effect of each campaign row, in the same order
            "account_id": acc_id[c["row"]], "campaign_id": c_id, "p_control": round_sig(c["p0"]),
            "p_treated": round_sig(c["p1"]), "response_uplift": round_sig(c["p1"] - c["p0"]),
            "mean_spend": round_sig(c["mean_spend"]), "revenue_uplift": round_sig((c["p1"] - c["p0"]) * c["mean_spend"]),
        }).iloc[c_order])

    # ---- truth rows --------------------------------------------------------
    pid = ("P" + pd.Series(zfill(np.arange(1, n + 1) + at.persons, at.person_width))).to_numpy(dtype=object)
    writers["persons"].write(frame({
        "account_id": acc_id, "person_id": pid[acc["person"]], "is_primary": acc["is_primary"].astype(np.int64),
        "link_basis": acc["basis"], "trap": acc["trap_of"],
    }).iloc[a_order])
    mean_spend = P.gg_p / per["nu"]
    T_weeks = (window.days - per["t0"]) / 7.0
    hh = per["household"]
    household_id = "H" + pd.Series(zfill(np.maximum(hh, 0) + 1 + at.households, 5)).to_numpy(dtype=object)
    writers["person_latents"].write(frame({
        "person_id": pid, "lambda": round_sig(per["lam"]), "p": round_sig(per["pdrop"]),
        "alive_at_end": sim["alive"].astype(np.int64), "mean_spend": round_sig(mean_spend),
        "night_owl": con["night_owl"].astype(np.int64), "satisfaction": round_sig(per["satisfaction"]),
        "first_purchase": timestamps(window.start, (per["t0"] * SECONDS_PER_DAY).astype(np.int64)),
        "T_weeks": round_sig(T_weeks), "n_repeat": sim["n_rep"], "n_accounts": per["n_acc"],
        "complaints": con["complaints"],
        "household_id": np.where(hh >= 0, household_id, None),
    }))
    writers["feedback_labels"].write(frame({
        "response_id": fid, "kind": np.where(fb["kind"] == 0, "after_purchase", "relationship"),
        "sentiment": np.array(SENTIMENTS, dtype=object)[fb["sentiment"]],
        "topic": np.where(fb["text"] != None, np.array(TOPICS, dtype=object)[fb["topic"]], None),  # noqa: E711
        "topic2": np.where((fb["topic2"] >= 0) & (fb["text"] != None), np.array(TOPICS + ("",), dtype=object)[fb["topic2"]], None),  # noqa: E711
        "language": np.where(fb["text"] == None, None, np.where(fb["english"], "en", "ko")),  # noqa: E711
        "has_personal_data": fb["pii"].astype(np.int64),
    }).iloc[f_order])

    # ---- what the truth needs ----------------------------------------------
    k = per["n_acc"]
    raw = pd.DataFrame({"person": acc["person"], "email": acc["email"]}).dropna()
    c = raw.groupby(["person", "email"]).size().to_numpy()
    at.persons += n
    at.accounts += np.bincount(acc["channel"], minlength=len(CHANNELS))
    at.households += len(per["house_a"])
    at.purchases += int(trx["purchases"]["person"].size)
    at.feedback += len(f_order)
    return {
        "counts": {
            "accounts": int(N),
            "btyd": trx["info"],
            "contacts": con["info"],
            "feedback": {**fb["info"], "promoters": fb["promoters"], "detractors": fb["detractors"]},
            "identity": {
                "accounts_per_person": {str(i): int((k == i).sum()) for i in range(1, 5)},
                "true_pairs": int((k * (k - 1) // 2).sum()),
                "raw_pairs": int((c * (c - 1) // 2).sum()),
                "link_basis_counts": {str(b): int(v) for b, v in pd.Series(acc["basis"]).value_counts().items()},
                "traps": acc["traps"],
            },
            "night_owls": int(con["night_owl"].sum()),
            "persons_in_households": int((hh >= 0).sum()),
            "campaign": cam["sums"],
            **({"earlier_campaign": cam_early["sums"]} if cam_early is not None else {}),
        },
        "latents": {"lam": per["lam"], "pdrop": per["pdrop"], "mean_spend": mean_spend,
                    "satisfaction": per["satisfaction"], "T_weeks": T_weeks, "n_rep": sim["n_rep"], "alive": sim["alive"]},
    }


def generate(
    out_dir: str | os.PathLike,
    n_persons: int = 3000,
    seed: int = 20261128,
    start: str | dt.date = "2023-01-01",
    end: str | dt.date = "2025-06-30",
    *,
    format: str = "csv",
    params: SynthParams | None = None,
    progress: Callable[[str], Any] | None = None,
    chunk_persons: int = DEFAULT_CHUNK_PERSONS,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write a synthetic eCRM dataset with its config and its truth.

    Parameters
    ----------
    out_dir : str or path-like
        Folder to write into (created if missing). Existing files of the same
        names are overwritten; other files are left alone.
    n_persons : int, default 3000
        Number of persons (each holds 1-4 accounts, about 1.9 on average).
    seed : int, default 20261128
        Seed of the random streams; the same arguments give byte-identical
        files.
    start, end : str (YYYY-MM-DD) or date
        First and last day of the observation window (local dates, both
        included). ``end`` becomes the config's ``as_of``. The window must be
        longer than about 140 days (the campaign sits 105 days before the end;
        the earlier campaign, 300 days before the end, is left out of a
        window too short for it).
    format : {"csv", "parquet"}, default "csv"
        Format of the data files (the truth files are always CSV and JSON);
        the config points at the files in this format.
    params : SynthParams, optional
        Generator parameters; default :class:`SynthParams()`.
    progress : callable, optional
        Called with one message (str) per step (per chunk, when there are several).
    chunk_persons : int, default 250,000
        Most persons drawn and written at once (at least 100). More persons
        are drawn in chunks of equal size, each from its own random streams:
        memory stays near that of one chunk (about 1 GB per 250,000 persons).
        A generation of at most ``chunk_persons`` persons is one chunk and
        gives the same files whatever the value.
    languages : sequence of str, optional
        Report languages the config names (``language:``; the first is the main
        one). None leaves the key out: the reports are in English. The embedded
        default data is generated with :data:`DEFAULT_DATA_LANGUAGES`.

    Returns
    -------
    dict
        ``out_dir``, ``config`` (path of config.yaml), ``files`` (table ->
        path), ``rows`` (table -> rows written), ``truth`` (the content of
        ``truth/truth.json``).

    Raises
    ------
    ValueError
        Bad ``n_persons``, ``format``, ``chunk_persons`` or dates.

    Notes
    -----
    Files written: ``accounts``, ``transactions``, ``contacts``,
    ``channel_costs``, ``feedback``, ``campaigns`` (``.csv`` or ``.parquet``),
    ``config.yaml``, and ``truth/persons.csv`` (account_id, person_id,
    is_primary, link_basis, trap), ``truth/person_latents.csv``,
    ``truth/feedback_labels.csv``, ``truth/campaign_effects.csv`` (one row
    per row of ``campaigns``, in its order: account_id, campaign_id,
    p_control, p_treated, response_uplift as shares, mean_spend and
    revenue_uplift in KRW) and ``truth/truth.json``. ``config.yaml``
    and ``truth.json`` are removed first and written last, so their presence
    marks a complete dataset.

    With several chunks, ids stay unique (account, transaction and feedback
    numbers continue from chunk to chunk; mobile numbers and e-mail addresses
    are never given twice) and are zero-padded to widths fixed in advance
    (account numbers to the digits of 4 x persons, transaction numbers to
    those of 10 x persons, feedback numbers to those of the persons); a
    household's members are always in the same chunk.
    """
    P = params or SynthParams()
    if format not in ("csv", "parquet"):
        raise ValueError(f"format {format!r} is not supported; use 'csv' or 'parquet'.")
    if int(n_persons) != n_persons or n_persons < 20:
        raise ValueError(f"n_persons must be an integer of at least 20; got {n_persons!r}.")
    if int(chunk_persons) != chunk_persons or chunk_persons < 100:
        raise ValueError(f"chunk_persons must be an integer of at least 100; got {chunk_persons!r}.")
    n = int(n_persons)
    window = Window(as_date(start, "start"), as_date(end, "end"))
    if window.days < 2:
        raise ValueError(f"end {window.end} must come after start {window.start}.")
    a_day, a_date, cid = campaign_day(window, P)
    early = earlier_campaign_day(window, P)
    out = Path(out_dir)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    for done_marker in (out / "config.yaml", out / TRUTH_DIR / "truth.json"):  # written last: present = complete
        done_marker.unlink(missing_ok=True)
    sizes = chunk_sizes(n, int(chunk_persons))
    several = len(sizes) > 1

    writers = {t: table_writer(out, t, format) for t in _DATA_TABLES}
    writers.update({t: TableWriter(out / TRUTH_DIR / f"{t}.csv", "csv") for t in _TRUTH_TABLES})
    at = _Offsets(n, several)
    totals: dict[str, Any] | None = None
    latents: list[dict[str, np.ndarray]] = []
    for i, size in enumerate(sizes):
        first = at.persons + 1
        prefix = f"chunk {i + 1}/{len(sizes)} (persons {first:,}-{first + size - 1:,}): " if several else ""
        result = _chunk(_streams(seed, i if several else None), size, P, window, a_day, cid, at, writers,
                        lambda message, prefix=prefix: _say(progress, prefix + message),
                        earlier=None if early is None else (early[0], early[2]))
        totals = add_up(totals, result["counts"])
        latents.append(result["latents"])
    _say(progress, "campaign: true uplift on a Monte-Carlo population")
    populations = campaign_population(_streams(seed, None)["population"], P, window, a_day,
                                      *([early[0]] if early is not None else []))
    population, population_early = (populations[0], populations[1]) if early is not None else (populations, None)
    costs = pd.DataFrame(CHANNEL_COSTS, columns=["channel", "purpose", "cost_per_contact"]).replace({"purpose": {"": None}})
    writers["channel_costs"].write(costs)

    files = {t: writers[t].close() for t in _DATA_TABLES}
    for t in _TRUTH_TABLES:
        writers[t].close()
    rows = {t: writers[t].rows for t in _DATA_TABLES}
    cfg = out / "config.yaml"
    cfg.write_text(config_text(window, format, seed, n, languages=languages), encoding="utf-8")
    totals["rows"] = rows
    everyone = {key: np.concatenate([part[key] for part in latents]) for key in latents[0]}
    truth = truth_document(seed=seed, n=n, window=window, fmt=format, P=P, totals=totals, latents=everyone,
                           campaign=campaign_truth(cid, a_date, P, totals["campaign"], population),
                           earlier_campaign=(campaign_truth(early[2], early[1], P, totals["earlier_campaign"], population_early)
                                             if early is not None else None))
    write_truth(out, truth)
    _say(progress, f"done: {totals['accounts']:,} accounts, {rows['transactions']:,} transaction rows, {rows['contacts']:,} contacts")
    return {"out_dir": str(out), "config": str(cfg), "files": {t: str(p) for t, p in files.items()}, "rows": rows, "truth": truth}


def _say(progress: Callable[[str], Any] | None, message: str) -> None:
    if progress is not None:
        progress(message)

"""Benchmark of identity resolution (``ecrm_lib.channels.identity.resolve_identities``) at 1 and 10 million accounts.

Generates accounts with the traps of a Korean multi-channel company (spacing,
NFD and romanised names, e-mail case and space variants, seven phone formats,
placeholder e-mails shared by strangers, store and call-centre numbers typed
into unrelated accounts, family landlines, accounts without identifiers,
mixed-script names) with its own vectorised generator, in parts of a million
accounts written as Parquet files (generated once, cached in ``--cache``). It
then resolves them as the notebook does, from an Ibis table over those files
on a DuckDB connection of the suite's engine settings, and prints, per stage,
the wall time, the CPU time of the process (DuckDB's threads included) and the
peak resident memory; then pairwise precision, recall and F1 against the
generator's truth, the time ``scipy.sparse.csgraph.connected_components``
takes on an identity-like graph of the same size, and (up to a million accounts) a
naive alternative (a pandas self-merge on the raw e-mail).

Usage::

    .venv/bin/python benchmarks/bench_identity.py                        # 1,000,000 accounts
    .venv/bin/python benchmarks/bench_identity.py --accounts 10000000    # 10 million (about 500 MB of Parquet in --cache)
    .venv/bin/python benchmarks/bench_identity.py --accounts 50000 --no-probabilistic
    .venv/bin/python benchmarks/bench_identity.py --ablation             # the default data: each pass and guard
    .venv/bin/python benchmarks/bench_identity.py --ablation --accounts 200000   # the same on generated data

``--ablation`` prints pairwise precision, recall and F1 against the truth for a
raw exact e-mail join, a normalised e-mail join, the deterministic pass without
and with its guards, deterministic + probabilistic, the deterministic pass with
one guard alone, and the full resolution with each guard switched off in turn
(guards overlap: a placeholder e-mail shared by 40 accounts is stopped by the
blocklist and by the shared-identifier limit alike).

Target: ten million accounts in under 10 minutes on 2 cores. Peak memory per
stage is the process's peak resident set size during the stage (Linux: the
high-water mark is reset through ``/proc/self/clear_refs`` before each stage),
so it includes DuckDB's memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _memory import reset_peak, rss_mib

from ecrm_lib.channels.identity import (
    DEFAULT_BLOCKLIST,
    GUARDS,
    pairwise_metrics,
    resolve_identities,
)
from ecrm_lib.channels.normalize import normalize_email

#: Accounts per generated part (one Parquet file each).
PART_ACCOUNTS = 1_000_000
DEFAULT_CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "ecrm-bench-identity"

SURNAMES = np.array(["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "전", "홍", "유", "고", "남궁"])
SURNAME_P = np.array([21.5, 14.7, 8.4, 4.7, 4.3, 2.3, 2.1, 2.1, 2.0, 1.7, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.3, 1.3, 1.1, 1.1, 1.9, 0.9, 0.04])
SURNAME_ROM = np.array(["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh", "Seo", "Shin", "Kwon",
                        "Hwang", "Ahn", "Song", "Jeon", "Hong", "Yoo", "Ko", "Namgoong"])
GIVEN = np.array(["민준", "서연", "지훈", "민서", "현우", "지민", "서준", "수빈", "도윤", "하은", "지현", "예준", "서윤", "동현", "유진", "성민",
                  "지은", "준서", "민지", "시우", "은지", "하준", "수진", "주원", "서현", "지호", "지영", "준우", "혜진", "도현", "하윤", "건우",
                  "윤서", "우진", "지우", "민재", "채원", "현준", "수아", "정우", "영호", "영희", "영수", "정희", "상훈", "미경", "성호", "은정"])
GIVEN_ROM = np.array(["Minjun", "Seoyeon", "Jihoon", "Minseo", "Hyunwoo", "Jimin", "Seojun", "Subin", "Doyun", "Haeun", "Jihyun", "Yejun",
                      "Seoyoon", "Donghyun", "Yujin", "Sungmin", "Jieun", "Junseo", "Minji", "Siwoo", "Eunji", "Hajun", "Sujin", "Juwon",
                      "Seohyun", "Jiho", "Jiyoung", "Junwoo", "Hyejin", "Dohyun", "Hayoon", "Geonwoo", "Yoonseo", "Woojin", "Jiwoo",
                      "Minjae", "Chaewon", "Hyunjun", "Sua", "Jungwoo", "Youngho", "Younghee", "Youngsoo", "Junghee", "Sanghoon",
                      "Mikyung", "Sungho", "Eunjung"])
DOMAINS = np.array(["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "hotmail.com"])
DOMAIN_P = np.array([0.40, 0.25, 0.12, 0.08, 0.07, 0.05, 0.03])
CHANNELS = np.array(["store", "phone", "mail", "email", "web", "app"])
PRIMARY_P = np.array([0.40, 0.08, 0.07, 0.0, 0.27, 0.18])
SECONDARY_W = np.array([0.20, 0.12, 0.10, 0.22, 0.18, 0.18])
P_EMAIL = np.array([0.45, 0.40, 0.30, 1.0, 1.0, 0.90])
P_PHONE = np.array([0.80, 0.90, 0.60, 0.15, 0.65, 0.85])
P_POST = np.array([0.60, 0.50, 0.98, 0.05, 0.55, 0.30])
P_NAME = np.array([0.97, 0.95, 1.0, 0.60, 0.98, 0.90])
STORE_PHONES = ["02-3142-7700", "0231427700"]
CALL_CENTRE_PHONES = ["1588-4470", "15884470"]
COMPANY_PHONES = STORE_PHONES[:1] + CALL_CENTRE_PHONES[:1]
PLACEHOLDERS = np.array(["noemail@none.com", "NOEMAIL@NONE.COM", "test@test.com", "TEST@TEST.COM"], dtype=object)
PHONE_FORMATS = ("010-{m}-{l}", "010{m}{l}", "+82 10 {m} {l}", "+82-10-{m}-{l}", "(010) {m} {l}", "010 {m} {l}", "010.{m}.{l}")


def _fmt_phone(d8: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    m = pd.Series(d8 // 10_000).astype(str).str.zfill(4)
    l = pd.Series(d8 % 10_000).astype(str).str.zfill(4)
    out = pd.Series(np.empty(len(d8), dtype=object))
    for i, f in enumerate(PHONE_FORMATS):
        sel = fmt == i
        if sel.any():
            pre, mid, post = f.split("{m}")[0], f.split("{m}")[1].split("{l}")[0], f.split("{l}")[1]
            out[sel] = pre + m[sel] + mid + l[sel] + post
    return out.to_numpy(dtype=object)


def make_accounts(n_accounts: int = 1_000_000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic accounts and their truth (account_id, person_id), vectorised.

    The same story as ``ecrm_lib.data.synth`` (which also writes transactions and
    more, too slowly for a million accounts): 1-4 accounts per person in
    distinct channels; every secondary account shares the normalised e-mail or
    mobile with the person's primary account, or else name and postcode; 15 %
    of persons have a second address; traps at the same rates.
    """
    acc, truth, _ = make_part(n_accounts, seed)
    return acc, truth


def make_part(
    n_accounts: int, seed: int, *, part: int = 0, person_offset: int = 0, used_phones: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """One part of a large data set: :func:`make_accounts` with its own random stream and ids.

    Part 0 is exactly ``make_accounts(n_accounts, seed)``. Part k > 0 draws from
    the stream (seed, k), numbers its persons from ``person_offset`` (their
    e-mails carry that number, so they never clash with another part's), gives
    its accounts ids ``CHN-kk0000000`` and its persons mobiles outside
    ``used_phones`` (the 8-digit numbers of earlier parts).

    Returns
    -------
    (accounts, truth, mobiles)
        mobiles: the 8-digit mobile numbers this part gave its persons.
    """
    rng = np.random.default_rng(seed if part == 0 else [seed, part])
    n_p = int(n_accounts / 1.88 * 1.01) + 10  # 1.88 accounts per person on average; trimmed below
    # persons
    fam = rng.choice(len(SURNAMES), n_p, p=SURNAME_P / SURNAME_P.sum())
    zipf = 1.0 / np.arange(1, len(GIVEN) + 1) ** 0.6
    giv = rng.choice(len(GIVEN), n_p, p=zipf / zipf.sum())
    postcode = rng.integers(1000, 63644, n_p)
    phone8 = pd.unique(rng.integers(20_000_000, 100_000_000, int(n_p * 1.1)))
    if used_phones is not None and len(used_phones):
        phone8 = phone8[~np.isin(phone8, used_phones)]
    phone8 = phone8[:n_p]
    has_e2 = rng.random(n_p) < 0.15
    # two-person households: same family name, postcode and landline
    n_house = int(0.03 * n_p / 2)
    perm = rng.permutation(n_p)[: 2 * n_house]
    ha, hb = perm[:n_house], perm[n_house:]
    fam[hb], postcode[hb] = fam[ha], postcode[ha]
    household = np.full(n_p, -1)
    household[ha] = household[hb] = np.arange(n_house)
    landline = rng.integers(2000, 9999, n_house) * 10_000 + rng.integers(0, 10_000, n_house)
    fam_h, giv_h = SURNAMES[fam], GIVEN[giv]
    roman_g = pd.Series(GIVEN_ROM[giv]).str.lower()
    roman_f = pd.Series(SURNAME_ROM[fam]).str.lower()
    dom1 = DOMAINS[rng.choice(len(DOMAINS), n_p, p=DOMAIN_P)]
    dom2 = DOMAINS[rng.choice(len(DOMAINS), n_p, p=DOMAIN_P)]
    idx = pd.Series(np.arange(n_p) + person_offset).astype(str)
    e1 = (roman_g + "." + roman_f + idx + "@" + dom1).to_numpy(dtype=object)
    e2 = (roman_f + roman_g + idx + "@" + dom2).to_numpy(dtype=object)
    # accounts: primary + distinct secondary channels
    k = rng.choice(4, n_p, p=[0.45, 0.30, 0.17, 0.08]) + 1
    prim = rng.choice(6, n_p, p=PRIMARY_P)
    keys = np.log(SECONDARY_W) + rng.gumbel(size=(n_p, 6))
    keys[np.arange(n_p), prim] = np.inf
    order = np.argsort(-keys, axis=1)[:, :4]
    mask = np.arange(4)[None, :] < k[:, None]
    person = np.broadcast_to(np.arange(n_p)[:, None], (n_p, 4))[mask]
    ch = order[mask]
    is_prim = np.broadcast_to(np.arange(4), (n_p, 4))[mask] == 0
    N = len(person)
    prow = (np.cumsum(k) - k)[person]
    u = rng.random((N, 12))
    has_e = u[:, 0] < P_EMAIL[ch]
    has_p = u[:, 1] < P_PHONE[ch]
    has_pc = u[:, 2] < P_POST[ch]
    has_n = u[:, 3] < P_NAME[ch]
    uses_e2 = has_e2[person] & ~is_prim & (u[:, 4] < 0.4)
    se = ~is_prim & has_e & has_e[prow] & (uses_e2 == uses_e2[prow])
    sp = ~is_prim & has_p & has_p[prow]
    unlinked = ~is_prim & ~se & ~sp
    force = unlinked & (u[:, 5] < 0.85)
    has_p[force] = True
    has_p[prow[force]] = True
    np_link = unlinked & ~force
    protected = np.zeros(N, dtype=bool)
    for rows in (np.flatnonzero(np_link), prow[np_link]):
        has_n[rows] = has_pc[rows] = protected[rows] = True
    single = (k[person] == 1) & is_prim
    in_house = household[person] >= 0
    offline = ch <= 2
    noid = single & ~in_house & offline & (u[:, 6] < 0.004 / 0.25)
    has_e[noid] = has_p[noid] = has_pc[noid] = False
    unl = ~is_prim & ~protected & ~in_house & offline & ~noid & (u[:, 6] < 0.015)
    has_e[unl] = has_p[unl] = has_pc[unl] = False
    has_n[unl] = True
    free = ~noid & ~unl
    # names: NFC, with a space, NFD, romanised (web), mixed scripts
    name = (pd.Series(fam_h[person]) + pd.Series(giv_h[person])).to_numpy(dtype=object)
    w = u[:, 7]
    spaced = w < 0.12
    nfd = (w >= 0.12) & (w < 0.17)
    roman = (ch == 4) & ~protected & (u[:, 8] < 0.12)
    mixed = has_n & ~protected & ~roman & free & (u[:, 8] > 1 - 0.0003)
    name[spaced] = (pd.Series(fam_h[person[spaced]]) + " " + pd.Series(giv_h[person[spaced]])).to_numpy(dtype=object)
    name[nfd] = [unicodedata.normalize("NFD", x) for x in name[nfd]]
    ro = rng.integers(0, 3, N)
    fr, gr = SURNAME_ROM[fam[person]], GIVEN_ROM[giv[person]]
    rom = np.where(ro == 0, pd.Series(fr) + " " + pd.Series(gr), np.where(ro == 1, pd.Series(gr) + " " + pd.Series(fr), (pd.Series(fr) + " " + pd.Series(gr)).str.upper()))
    name = np.where(roman, rom, name)
    name = np.where(mixed, pd.Series(fam_h[person]) + " " + pd.Series(gr), name)
    name = np.where(has_n, name, None)
    # e-mails with case and space variants; placeholders on offline accounts without e-mail
    base = np.where(uses_e2, e2[person], e1[person])
    est = rng.integers(0, 6, N)
    em = pd.Series(base, dtype=object)
    em = em.where(est != 1, em.str.upper()).where(~np.isin(est, [2, 5]), em.str.title())
    em = em.where(est != 3, " " + em).where(est != 4, em + " ").where(est != 5, " " + em + " ")
    email = np.where(has_e, em.to_numpy(dtype=object), None)
    ph_trap = free & ~has_e & offline & (u[:, 9] < 0.05)
    email[ph_trap] = PLACEHOLDERS[rng.integers(0, 4, int(ph_trap.sum()))]
    # phones: seven formats; company numbers typed into accounts without phone; household landlines
    phone = np.where(has_p, _fmt_phone(phone8[person], rng.integers(0, 7, N)), None)
    st = free & ~has_p & (ch == 0) & ~ph_trap & (u[:, 10] < 0.08)
    cc = free & ~has_p & (ch == 1) & ~ph_trap & (u[:, 10] < 0.25)
    phone[st] = np.array(STORE_PHONES, dtype=object)[rng.integers(0, 2, int(st.sum()))]
    phone[cc] = np.array(CALL_CENTRE_PHONES, dtype=object)[rng.integers(0, 2, int(cc.sum()))]
    hh = household[person]
    land = free & (hh >= 0) & (single | (se & ~sp)) & ~st & ~cc
    ln = landline[hh[land]]
    phone[land] = ("02-" + pd.Series(ln // 10_000).astype(str) + "-" + pd.Series(ln % 10_000).astype(str).str.zfill(4)).to_numpy(dtype=object)
    # postcodes: old addresses on some secondary accounts; mail accounts that lost the leading zero
    pc = postcode[person].copy()
    moved = ~is_prim & ~protected & free & (se | sp) & has_pc & (u[:, 11] < 0.04)
    pc[moved] = rng.integers(1000, 63644, int(moved.sum()))
    pcs = pd.Series(pc).astype(str).str.zfill(5).to_numpy(dtype=object)
    strip = (ch == 2) & ~protected & free & (pc < 10_000) & (u[:, 11] > 0.85)
    pcs[strip] = pd.Series(pc[strip]).astype(str).to_numpy(dtype=object)
    pcs = np.where(has_pc, pcs, None)
    created = pd.Timestamp("2018-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 8 * 365 * 86400, N), unit="s")
    keep = min(N, n_accounts)
    ch, person, name, email, phone, pcs, created = ch[:keep], person[:keep], name[:keep], email[:keep], phone[:keep], pcs[:keep], created[:keep]
    shuffle = rng.permutation(keep)
    acc = pd.DataFrame(
        {
            "account_id": pd.Series(CHANNELS[ch]).str[:3].str.upper() + "-" + (f"{part:02d}" if part else "")
            + pd.Series(shuffle.argsort()).astype(str).str.zfill(7),
            "channel": CHANNELS[ch],
            "name": name,
            "email": email,
            "phone": phone,
            "postcode": pcs,
            "created_at": created,
        }
    ).iloc[shuffle].reset_index(drop=True)
    for c in ("account_id", "channel", "name", "email", "phone", "postcode"):
        acc[c] = acc[c].astype("string")
    acc["created_at"] = acc["created_at"].astype("datetime64[us, UTC]")
    truth = pd.DataFrame({"account_id": acc["account_id"], "person_id": person[shuffle] + person_offset})
    return acc, truth, phone8


def naive_email_join(accounts: pd.DataFrame) -> pd.DataFrame:
    """The naive alternative: accounts with the same raw e-mail string are one customer."""
    e = accounts["email"]
    codes, _ = pd.factorize(e)
    cust = np.where(codes >= 0, "E" + pd.Series(codes).astype(str), "A" + accounts["account_id"].astype(str))
    # a pandas self-merge on the raw e-mail, as a naive analyst would write it
    pairs = accounts[["account_id", "email"]].dropna().merge(accounts[["account_id", "email"]].dropna(), on="email")
    del pairs
    return pd.DataFrame({"account_id": accounts["account_id"], "customer_id": cust})


def load_default_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The embedded default data (``data/default``) and its truth."""
    from ecrm_lib.core.config import load_config
    from ecrm_lib.core.paths import DEFAULT_DATA_DIR
    from ecrm_lib.data.load import load_sources

    accounts = load_sources(load_config(DEFAULT_DATA_DIR / "config.yaml")).tables["accounts"]
    truth = pd.read_csv(DEFAULT_DATA_DIR / "truth" / "persons.csv", dtype={"account_id": "string", "person_id": "string"})
    return accounts, truth


def ablation(accounts: pd.DataFrame, truth: pd.DataFrame, blocklist=None) -> pd.DataFrame:
    """Precision, recall and F1 of each strategy and of the full resolution without each guard."""
    rows = []

    def add(label, account_map, seconds):
        m = pairwise_metrics(account_map, truth)
        rows.append({"strategy": label, "precision": m["precision"], "recall": m["recall"], "f1": m["f1"],
                     "customers": m["n_customers"], "seconds": round(seconds, 2)})

    def by_key(key: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"account_id": accounts["account_id"], "customer_id": key.fillna("single:" + accounts["account_id"])})

    t0 = time.perf_counter()
    add("raw exact e-mail join", by_key(accounts["email"].astype("string")), time.perf_counter() - t0)
    t0 = time.perf_counter()
    add("normalised e-mail join (no guards)", by_key(normalize_email(accounts["email"])), time.perf_counter() - t0)
    variants = [
        ("deterministic, no guards", {"guards": (), "probabilistic": False}),
        ("deterministic, all guards", {"probabilistic": False}),
        ("deterministic + probabilistic (default)", {}),
    ]
    variants += [(f"deterministic, only {g}", {"guards": (g,), "probabilistic": False}) for g in GUARDS]
    variants += [(f"default without {g}", {"guards": tuple(x for x in GUARDS if x != g)}) for g in GUARDS]
    for label, kw in variants:
        t0 = time.perf_counter()
        res = resolve_identities(accounts, blocklist=blocklist, **kw)
        add(label, res.account_map, time.perf_counter() - t0)
    return pd.DataFrame(rows)


def generate_parquet(n_accounts: int, seed: int, cache: Path) -> Path:
    """Write ``n_accounts`` generated accounts and their truth as Parquet parts (once; cached).

    Returns the folder holding ``accounts-NNNN.parquet`` and ``truth-NNNN.parquet``.
    Up to :data:`PART_ACCOUNTS` accounts the data equal ``make_accounts(n_accounts, seed)``.
    """
    folder = cache / f"accounts-{n_accounts}-seed{seed}"
    done = folder / "DONE"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    used = np.zeros(0, dtype=np.int64)
    offset, left, part = 0, n_accounts, 0
    while left > 0:
        size = min(PART_ACCOUNTS, left)
        acc, truth, mobiles = make_part(size, seed, part=part, person_offset=offset, used_phones=used)
        acc.to_parquet(folder / f"accounts-{part:04d}.parquet", row_group_size=122_880)
        truth.to_parquet(folder / f"truth-{part:04d}.parquet")
        used = np.union1d(used, mobiles)
        offset += len(mobiles)
        left -= len(acc)
        part += 1
        del acc, truth
    done.write_text(f"{n_accounts} accounts in {part} parts\n")
    return folder


def scipy_components_seconds(n_accounts: int, seed: int = 0) -> tuple[int, int, float]:
    """Seconds ``connected_components`` takes on an identity-like graph of ``n_accounts`` accounts.

    Persons hold 1-4 accounts (1.88 on average); each account is joined to its
    person's e-mail node with probability 0.7 and phone node with 0.75 (about
    1.45 edges per account, as in the generated data).

    Returns
    -------
    (nodes, edges, seconds)
    """
    from ecrm_lib.channels.identity.components import component_labels

    rng = np.random.default_rng(seed)
    person = np.sort(rng.integers(0, int(n_accounts / 1.88), n_accounts))
    n_persons = int(person.max()) + 1
    rows = np.arange(n_accounts)
    e = rng.random(n_accounts) < 0.7
    p = rng.random(n_accounts) < 0.75
    a = np.concatenate([rows[e], rows[p]])
    b = np.concatenate([n_accounts + person[e], n_accounts + n_persons + person[p]])
    nodes = n_accounts + 2 * n_persons
    t0 = time.perf_counter()
    component_labels(nodes, a, b)
    return nodes, len(a), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-probabilistic", action="store_true")
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"folder of the generated Parquet parts (default {DEFAULT_CACHE})")
    ap.add_argument("--no-f1", action="store_true", help="skip the pairwise F1 against the truth (it reads the map into pandas)")
    ap.add_argument("--ablation", action="store_true", help="compare strategies and guards (default data unless --accounts is given)")
    args = ap.parse_args(argv)
    if args.ablation:
        explicit = any(a.startswith("--accounts") for a in (argv if argv is not None else sys.argv[1:]))
        if explicit:
            accounts, truth = make_accounts(args.accounts, args.seed)
            where, bl = f"generated data, {len(accounts):,} accounts", DEFAULT_BLOCKLIST.extend(phones=COMPANY_PHONES)
        else:
            accounts, truth = load_default_data()
            where, bl = f"default data, {len(accounts):,} accounts (no company phones given)", None
        print(f"ablation on the {where}:")
        with pd.option_context("display.width", 160, "display.precision", 4):
            print(ablation(accounts, truth, blocklist=bl).to_string(index=False))
        return 0

    from ecrm_lib.core.config import EngineSettings
    from ecrm_lib.data.engine import connect, memory_limit_text, thread_count

    print(f"cores: {os.cpu_count()}; engine: DuckDB, memory_limit {memory_limit_text(EngineSettings())}, threads {thread_count(EngineSettings())}")
    reset_peak()
    t0 = time.perf_counter()
    folder = generate_parquet(args.accounts, args.seed, args.cache)
    print(f"data: {folder} ({time.perf_counter() - t0:.1f} s to generate or find; peak RSS {rss_mib('VmHWM'):.0f} MiB)")

    con = connect(EngineSettings(), spill_dir=args.cache / "spill")
    accounts = con.read_parquet(str(folder / "accounts-*.parquet"))
    rows = []
    started: dict[str, float] = {}

    def progress(stage, seconds):
        if seconds is None:
            reset_peak()
            started[stage] = time.process_time()
        else:
            cpu = time.process_time() - started[stage]
            rows.append({"stage": stage, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mib": round(rss_mib("VmHWM"))})
            print(f"  {stage:<14} {seconds:7.2f} s   cpu {cpu:7.2f} s   peak RSS {rss_mib('VmHWM'):8.0f} MiB", flush=True)

    print("resolve_identities (Ibis table over the Parquet parts):")
    t0, c0 = time.perf_counter(), time.process_time()
    res = resolve_identities(
        accounts,
        blocklist=DEFAULT_BLOCKLIST.extend(phones=COMPANY_PHONES),
        probabilistic=not args.no_probabilistic,
        match_threshold=args.threshold,
        progress=progress,
    )
    total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {'TOTAL':<14} {total:7.2f} s   cpu {cpu_total:7.2f} s   (target: 10 million accounts in 600 s)")
    print(f"  customers {res.n_customers:,}")
    print(res.audit["link_rules"].to_string(index=False))
    print(res.audit["probabilistic"].to_string(index=False))
    if not args.no_f1:
        truth = pd.concat(
            [pd.read_parquet(f) for f in sorted(folder.glob("truth-*.parquet"))], ignore_index=True
        )
        m = pairwise_metrics(res.account_map, truth)
        print(f"  pairwise precision {m['precision']:.4f} recall {m['recall']:.4f} F1 {m['f1']:.4f} "
              f"({m['n_customers']:,} customers for {m['n_persons']:,} persons)")
        del truth
    nodes, edges, secs = scipy_components_seconds(args.accounts)
    print(f"scipy connected_components on an identity-like graph of {nodes:,} nodes and {edges:,} edges: {secs:.2f} s")

    if args.accounts <= PART_ACCOUNTS:
        print("naive alternative (pandas merge on the raw e-mail):")
        frame = pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("accounts-*.parquet"))], ignore_index=True)
        truth = pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("truth-*.parquet"))], ignore_index=True)
        reset_peak()
        t0 = time.perf_counter()
        naive = naive_email_join(frame)
        t_naive = time.perf_counter() - t0
        mn = pairwise_metrics(naive, truth)
        print(f"  naive_email    {t_naive:7.2f} s   peak RSS {rss_mib('VmHWM'):8.0f} MiB")
        print(f"  customers {naive['customer_id'].nunique():,}; precision {mn['precision']:.4f} recall {mn['recall']:.4f} F1 {mn['f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

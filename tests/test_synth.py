"""The synthetic data generator: determinism, the committed default data,
referential integrity, identity traps, the generated process against its
own truth, and generation in chunks (the same checks on a dataset written
in three chunks, unique identifiers across chunks, earlier chunks unchanged
when persons are added, the command line).

Statistical checks use a 20,000-person sample and a tolerance of 4 standard
errors computed from the sample itself (a false alarm has probability about
6e-5 per check; the seed is fixed, so the outcome is deterministic). A wrong
parameterisation (scale for rate, a swapped parameter, dropout before the
first repeat purchase, spend depending on frequency) moves the statistic by
many standard errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.config import load_config
from ecrm_lib.core.paths import DEFAULT_DATA_DIR
from ecrm_lib.data.synth import CHANNELS, DEFAULT_DATA_LANGUAGES, PLACEHOLDER_EMAILS, SynthParams, generate, read_truth
from ecrm_lib.data.synth.chunks import chunk_sizes
from ecrm_lib.data.synth.persons import TakenIdentifiers
from ecrm_lib.data.synth.truth import add_up
from ecrm_lib.run.cli import main

TABLE_FILES = ("accounts", "transactions", "contacts", "channel_costs", "feedback", "campaigns")
Z = 4.0  # tolerance in standard errors


def _read(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


def _hashes(d: Path) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


def _purchases(d: Path) -> pd.DataFrame:
    """Purchases only (refunds and exact duplicates removed), with the true person."""
    tx = _read(d, "transactions").drop_duplicates()
    tx["amount"] = tx["amount"].astype(float)
    tx = tx[tx["amount"] > 0].copy()
    tx["timestamp"] = pd.to_datetime(tx["timestamp"], format="%Y-%m-%d %H:%M:%S")
    persons = pd.read_csv(d / "truth" / "persons.csv", dtype=str)
    return tx.merge(persons[["account_id", "person_id"]], on="account_id", how="left", validate="many_to_one")


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synth_small")
    generate(d, n_persons=400, seed=11)
    return d


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synth_medium")
    generate(d, n_persons=3000, seed=5)
    return d


@pytest.fixture(scope="module")
def chunked(tmp_path_factory) -> Path:
    """3,000 persons written in three chunks of 1,000."""
    d = tmp_path_factory.mktemp("synth_chunked")
    generate(d, n_persons=3000, seed=5, chunk_persons=1000)
    return d


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synth_large")
    generate(d, n_persons=20_000, seed=2024)
    return d


# ---------------------------------------------------------------------------
# determinism and the committed data
# ---------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, n_persons=250, seed=3)
    generate(b, n_persons=250, seed=3)
    generate(c, n_persons=250, seed=4)
    ha, hb, hc = _hashes(a), _hashes(b), _hashes(c)
    assert set(ha) >= {f"{t}.csv" for t in TABLE_FILES} | {"config.yaml", "truth/persons.csv", "truth/truth.json"}
    assert ha == hb
    differing = {k for k in ha if ha[k] != hc.get(k)}
    assert {f"{t}.csv" for t in TABLE_FILES if t != "channel_costs"} <= differing


def test_committed_default_data_equals_a_fresh_generation(tmp_path):
    committed = _hashes(DEFAULT_DATA_DIR)
    assert committed, f"no committed default data in {DEFAULT_DATA_DIR}"
    generate(tmp_path, languages=DEFAULT_DATA_LANGUAGES)
    fresh = _hashes(tmp_path)
    assert set(fresh) == set(committed), "file sets differ: regenerate data/default with ecrm_lib.data.synth.generate"
    stale = sorted(k for k in fresh if fresh[k] != committed[k])
    assert not stale, f"data/default is stale for {stale}: regenerate it with generate('data/default', languages=DEFAULT_DATA_LANGUAGES)"


def test_default_data_is_small_enough():
    sizes = {p.name: p.stat().st_size for p in DEFAULT_DATA_DIR.rglob("*") if p.is_file()}
    assert max(sizes.values()) < 3_000_000, sizes
    assert sum(sizes.values()) < 6_000_000, sizes


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="format"):
        generate(tmp_path, n_persons=100, format="xlsx")
    with pytest.raises(ValueError, match="n_persons"):
        generate(tmp_path, n_persons=5)
    with pytest.raises(ValueError, match="too short"):
        generate(tmp_path, n_persons=100, start="2025-03-01", end="2025-06-30")


def test_the_smallest_allowed_data_sets_generate(tmp_path):
    """20-30 persons (the smallest allowed): a chunk may have no account of some kind, and zero-padding an
    empty array of numbers failed ("zero-size array to reduction operation maximum", issue 13 brief H13c)."""
    from ecrm_lib.data.synth.arrays import ids, zfill

    assert zfill(np.array([], dtype=np.int64), 4).tolist() == [] and ids("A", np.array([], dtype=np.int64), 6).tolist() == []
    assert main(["generate", "--out", str(tmp_path / "cli"), "--persons", "20", "--seed", "1"]) == 0
    for n, seed in [(20, 1), (20, 2), (21, 3), (25, 4)]:
        d = tmp_path / f"g{n}_{seed}"
        info = generate(d, n_persons=n, seed=seed)
        truth = pd.read_csv(d / "truth" / "persons.csv", dtype=str)
        assert truth["person_id"].nunique() == n and info["rows"]["accounts"] == len(truth)


def test_progress_is_reported(tmp_path):
    messages = []
    info = generate(tmp_path, n_persons=100, seed=1, progress=messages.append)
    assert len(messages) >= 6 and all(isinstance(m, str) for m in messages)
    assert info["rows"]["accounts"] == read_truth(tmp_path)["counts"]["accounts"]


# ---------------------------------------------------------------------------
# shape, references, formats
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data", ["small", "chunked"])
def test_every_account_once_in_truth_and_every_row_references_an_account(data, request):
    small = request.getfixturevalue(data)
    acc = _read(small, "accounts")
    truth = pd.read_csv(small / "truth" / "persons.csv", dtype=str)
    assert acc["account_id"].is_unique
    assert sorted(truth["account_id"]) == sorted(acc["account_id"])
    assert truth["account_id"].is_unique and truth["person_id"].notna().all()
    ids = set(acc["account_id"])
    for t in ("transactions", "contacts", "feedback", "campaigns"):
        df = _read(small, t)
        assert len(df) > 0, t
        missing = set(df["account_id"]) - ids
        assert not missing, f"{t} references unknown accounts {sorted(missing)[:5]}"
    latents = pd.read_csv(small / "truth" / "person_latents.csv", dtype={"person_id": str})
    assert set(latents["person_id"]) == set(truth["person_id"])
    assert latents["person_id"].is_unique
    # each campaign (the earlier one, then the main one) uses each eligible person's primary account, once
    cam = _read(small, "campaigns").merge(truth, on="account_id")
    assert (cam["is_primary"] == "1").all() and not cam.duplicated(["campaign_id", "person_id"]).any()
    assert cam["campaign_id"].drop_duplicates().tolist() == ["2024-autumn-coupon", "2025-spring-coupon"]
    assert "is_control" not in cam.columns
    assert set(cam["arm"]) == {"treatment", "control"}


def test_columns_formats_and_local_hours(small):
    ts_re = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    acc = _read(small, "accounts")
    assert list(acc.columns) == ["account_id", "channel", "name", "email", "phone", "postcode", "created_at"]
    prefix = {"store": "STR", "phone": "TEL", "mail": "CAT", "email": "EML", "web": "WEB", "app": "APP"}
    assert (acc["account_id"].str.split("-").str[0] == acc["channel"].map(prefix)).all()
    assert set(acc["channel"]) <= set(CHANNELS)
    assert acc["postcode"].dropna().str.fullmatch(r"\d{4,5}").all()
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-07-01")
    for t, col in (("transactions", "timestamp"), ("contacts", "timestamp"), ("feedback", "timestamp"), ("campaigns", "assigned_at")):
        df = _read(small, t)
        vals = df[col].dropna()
        assert vals.map(lambda s: bool(ts_re.match(s))).all(), t
        ts = pd.to_datetime(vals, format="%Y-%m-%d %H:%M:%S")
        assert ts.min() >= start and ts.max() < end, t
    tx = _read(small, "transactions")
    tx["ts"] = pd.to_datetime(tx["timestamp"])
    amount = tx["amount"].astype(int)
    assert (amount % 10 == 0).all() and (amount != 0).all()
    store_hours = tx.loc[tx["channel"] == "store", "ts"].dt.hour
    assert store_hours.between(10, 20).all()
    online_hours = tx.loc[tx["channel"].isin(["web", "app"]), "ts"].dt.hour
    assert (online_hours < 6).any() and online_hours.between(19, 23).mean() > 0.25
    con = _read(small, "contacts")
    con["ts"] = pd.to_datetime(con["timestamp"])
    office = con[con["channel"].isin(["phone", "mail"])]
    assert (office["ts"].dt.day_of_week < 5).all()
    assert office.loc[office["direction"] == "inbound", "ts"].dt.hour.between(9, 17).all()
    assert set(con["direction"]) == {"inbound", "outbound"}
    assert set(con["purpose"]) <= {"order_status", "product_question", "complaint", "returns", "billing", "account_change", "marketing"}
    has_dur = con["duration_min"].notna()
    assert set(con.loc[has_dur, "channel"]) == {"phone", "store"}
    assert con.loc[con["channel"].isin(["phone", "store"]), "duration_min"].notna().all()
    fb = _read(small, "feedback")
    assert fb["score"].astype(int).between(0, 10).all() and (fb["score_max"] == "10").all()
    costs = _read(small, "channel_costs")
    assert set(costs["channel"]) == set(CHANNELS) and costs["purpose"].notna().sum() >= 1


def test_config_loads_and_maps_every_file(small):
    cfg = load_config(small / "config.yaml")
    assert cfg.name == "default" and cfg.currency == "KRW" and cfg.timezone == "Asia/Seoul"
    assert cfg.as_of == dt.date(2025, 6, 30)
    assert cfg.channel_groups == {"traditional": ["store", "phone", "mail"], "internet": ["email", "web", "app"]}
    assert sorted(cfg.tables()) == sorted(TABLE_FILES)
    assert all(s.path.exists() for s in cfg.sources)
    assert cfg.sources_for("campaigns")[0].control_arms == ("control",)


def test_data_loads_through_the_loader_with_the_counts_of_the_truth(small):
    sources = pytest.importorskip("ecrm_lib.data.load", reason="ecrm_lib.data.load (the loader) is not available yet")
    result = sources.load_sources(load_config(small / "config.yaml"))
    truth = read_truth(small)
    b = truth["btyd"]
    assert len(result.tables["transactions"]) == b["purchases"]
    assert len(result.tables["accounts"]) == truth["counts"]["accounts"]
    reasons = result.set_aside[result.set_aside["table"] == "transactions"]["reason"].value_counts()
    assert reasons.sum() == b["rows_with_amount_below_zero"] + b["duplicate_rows"] - b["duplicate_rows_of_refunds"]
    cam = result.tables["campaigns"]
    assert cam["is_control"].sum() == truth["campaign"]["control_accounts"] + truth["earlier_campaign"]["control_accounts"]


def test_parquet_output_holds_the_same_rows(tmp_path):
    generate(tmp_path / "csv", n_persons=150, seed=9)
    generate(tmp_path / "pq", n_persons=150, seed=9, format="parquet")
    cfg = load_config(tmp_path / "pq" / "config.yaml")
    assert all(s.format == "parquet" and s.path.exists() for s in cfg.sources)
    for t in TABLE_FILES:
        a = _read(tmp_path / "csv", t)
        b = pd.read_parquet(tmp_path / "pq" / f"{t}.parquet")
        assert list(a.columns) == list(b.columns) and len(a) == len(b), t
    tx = pd.read_parquet(tmp_path / "pq" / "transactions.parquet")
    assert str(tx["timestamp"].dtype).startswith("datetime64")


# ---------------------------------------------------------------------------
# identity: traps exist, naive joins fail, a careful resolver succeeds
# ---------------------------------------------------------------------------

def _pairs(labels) -> int:
    v = pd.Series(labels).value_counts().to_numpy()
    return int((v * (v - 1) // 2).sum())


def _pair_scores(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = _pairs([f"{a}|{b}" for a, b in zip(pred, truth)])
    p, r = tp / _pairs(pred), tp / _pairs(truth)
    return p, r, 2 * p * r / (p + r)


def _components(n: int, keys: list[pd.Series]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, cols = [], []
    for key in keys:
        k = key.dropna()
        codes, _ = pd.factorize(k)
        rows.append(k.index.to_numpy())
        cols.append(pd.Series(k.index).groupby(codes).transform("first").to_numpy())
    r, c = np.concatenate(rows), np.concatenate(cols)
    return connected_components(coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)), directed=False)[1]


def _digits(phone: pd.Series) -> pd.Series:
    d = phone.str.replace(r"\D", "", regex=True)
    return d.where(~d.str.startswith("82", na=False), "0" + d.str[2:])


def _reference_resolver(acc: pd.DataFrame) -> np.ndarray:
    """A careful deterministic resolver: normalised e-mail and mobile number
    (placeholders and identifiers shared by more than 4 accounts excluded),
    else Hangul name (NFC, no spaces) + postcode."""
    email = acc["email"].str.strip().str.lower()
    email = email.where(~email.isin(PLACEHOLDER_EMAILS))
    email = email.where(email.map(email.value_counts()) <= 4)
    phone = _digits(acc["phone"])
    phone = phone.where(phone.str.fullmatch(r"010\d{8}", na=False))
    phone = phone.where(phone.map(phone.value_counts()) <= 4)
    name = acc["name"].map(lambda s: re.sub(r"\s", "", unicodedata.normalize("NFC", s)) if isinstance(s, str) else None)
    postcode = acc["postcode"].str.zfill(5)
    name_pc = (name + "|" + postcode).where(name.str.fullmatch(r"[가-힣]+", na=False) & postcode.notna())
    return _components(len(acc), [email, phone, name_pc])


@pytest.mark.parametrize("data", ["medium", "chunked"])
def test_identity_traps_defeat_naive_joins_but_not_a_careful_resolver(data, request):
    medium = request.getfixturevalue(data)
    acc = _read(medium, "accounts").merge(pd.read_csv(medium / "truth" / "persons.csv", dtype=str, keep_default_na=False), on="account_id")
    truth = acc["person_id"].to_numpy()
    n = len(acc)
    # exact raw e-mail equality (also after trimming spaces, as the loader does) finds well under 80 % of true links
    for email in (acc["email"], acc["email"].str.strip()):
        codes = pd.factorize(email)[0]
        labels = np.where(codes >= 0, codes, -np.arange(1, n + 1))
        assert _pair_scores(labels, truth)[1] < 0.8
    # normalising without handling the traps merges unrelated persons
    naive = _components(n, [acc["email"].str.strip().str.lower(), _digits(acc["phone"])])
    p_naive, r_naive, _ = _pair_scores(naive, truth)
    assert p_naive < 0.9 and r_naive > 0.9
    # a careful resolver reaches F1 >= 0.98
    p, r, f1 = _pair_scores(_reference_resolver(acc), truth)
    assert f1 >= 0.98 and p > p_naive + 0.05, (p, r, f1)
    # the truth's raw-join recall is what the data shows
    codes = pd.factorize(acc["email"])[0]
    raw = _pair_scores(np.where(codes >= 0, codes, -np.arange(1, n + 1)), truth)[1]
    assert read_truth(medium)["identity"]["raw_email_exact_pair_recall"] == pytest.approx(raw, abs=1e-9)


@pytest.mark.parametrize("data", ["medium", "chunked"])
def test_each_trap_is_present(data, request):
    medium = request.getfixturevalue(data)
    acc = _read(medium, "accounts").merge(pd.read_csv(medium / "truth" / "persons.csv", dtype=str, keep_default_na=False), on="account_id")
    traps = read_truth(medium)["identity"]["traps"]
    email = acc["email"].str.strip().str.lower()
    for placeholder in PLACEHOLDER_EMAILS:
        persons = acc.loc[email == placeholder, "person_id"].nunique()
        assert persons >= 3, placeholder
        assert persons == traps[f"placeholder_email_{placeholder}"]["persons"]
    digits = _digits(acc["phone"])
    for number in ("0231427700", "15884470"):
        assert acc.loc[digits == number, "person_id"].nunique() >= 3, number
    # landlines shared by two different persons of one household: same family name and postcode
    land = acc[digits.notna() & ~digits.str.startswith("010", na=False) & ~digits.isin(["0231427700", "15884470"])]
    shared = land.groupby(digits[land.index])["person_id"].nunique()
    assert (shared == 2).sum() >= 1 and shared.max() == 2
    number = shared[shared == 2].index[0]
    both = acc[digits == number]
    assert both["postcode"].dropna().str.zfill(5).nunique() <= 1
    assert traps["households_with_landline_on_both_members"] == (shared == 2).sum()
    # accounts without any identifier, names in mixed scripts, NFD, romanised names
    noid = acc[acc["email"].isna() & acc["phone"].isna() & acc["postcode"].isna()]
    assert len(noid) >= traps["accounts_without_identifier"] >= 2
    names = acc["name"].dropna()
    hangul = names.str.contains(r"[가-힣]") | names.map(lambda s: any("\u1100" <= ch <= "\u11ff" for ch in s))
    latin = names.str.contains(r"[A-Za-z]")
    han = names.str.contains(r"[\u4e00-\u9fff]")
    assert ((hangul & latin) | han).sum() >= 2
    assert (names != names.map(lambda s: unicodedata.normalize("NFC", s))).sum() == traps["names_nfd"] > 0
    assert (latin & ~hangul & (acc.loc[names.index, "channel"] == "web")).sum() > 0
    assert acc["email"].dropna().str.match(r"^\s|.*\s$").any() and acc["email"].dropna().str.contains(r"[A-Z]").any()
    for pattern in (r"010-\d{4}-\d{4}", r"010\d{8}", r"\+82 10 \d{4} \d{4}", r"\+82-10-\d{4}-\d{4}", r"\(010\) \d{4} \d{4}"):
        assert acc["phone"].dropna().str.fullmatch(pattern).any(), pattern


# ---------------------------------------------------------------------------
# the process against its truth (20,000 persons)
# ---------------------------------------------------------------------------

def test_latent_draws_match_the_parameters(large):
    P = SynthParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in read_truth(large)["params"].items()})
    lat = pd.read_csv(large / "truth" / "person_latents.csv")
    n = len(lat)
    assert n == 20_000
    # lambda ~ Gamma(r, rate alpha): mean r/alpha, sd sqrt(r)/alpha
    assert abs(lat["lambda"].mean() - P.r / P.alpha) < Z * np.sqrt(P.r) / P.alpha / np.sqrt(n)
    # p ~ Beta(a, b)
    m = P.a / (P.a + P.b)
    sd = np.sqrt(P.a * P.b / ((P.a + P.b) ** 2 * (P.a + P.b + 1)))
    assert abs(lat["p"].mean() - m) < Z * sd / np.sqrt(n)
    # person mean spend p/nu with nu ~ Gamma(q, rate gamma): mean p*gamma/(q-1), sd mean/sqrt(q-2)
    gg = P.gg_p * P.gg_gamma / (P.gg_q - 1)
    assert abs(lat["mean_spend"].mean() - gg) < Z * gg / np.sqrt(P.gg_q - 2) / np.sqrt(n)


def test_first_repeat_purchase_follows_the_bgnbd_waiting_time(large):
    """In BG/NBD nobody drops out before the first repeat purchase, so the wait
    for it is exponential with a Gamma(r, alpha) rate: P(no repeat within t
    weeks) = (alpha / (alpha + t))^r for everyone observed for at least t weeks.
    This checks r and alpha from the transactions alone."""
    truth = read_truth(large)
    r, alpha = truth["btyd"]["r"], truth["btyd"]["alpha"]
    tx = _purchases(large).sort_values(["person_id", "timestamp"])
    first = tx.groupby("person_id")["timestamp"].first()
    second = tx.groupby("person_id")["timestamp"].nth(1).groupby(tx["person_id"]).first()
    wait_weeks = ((second.reindex(first.index) - first).dt.total_seconds() / 86400 / 7).fillna(np.inf)
    observed_weeks = (pd.Timestamp(truth["end"]) + pd.Timedelta(days=1) - first).dt.total_seconds() / 86400 / 7
    for t in (4.0, 26.0, 52.0):
        at_risk = observed_weeks >= t
        assert at_risk.sum() > 10_000
        expected = (alpha / (alpha + t)) ** r
        share = (wait_weeks[at_risk] > t).mean()
        assert abs(share - expected) < Z * np.sqrt(expected * (1 - expected) / at_risk.sum()), (t, share, expected)


def test_repeat_counts_match_the_latent_rates_and_dropouts(large):
    """Given lambda and p, the expected number of repeat purchases in T weeks is
    (1 - exp(-lambda p T)) / p (Fader, Hardie & Lee 2005, eq. 7)."""
    lat = pd.read_csv(large / "truth" / "person_latents.csv")
    tx = _purchases(large)
    counts = tx.groupby("person_id").size().reindex(lat["person_id"], fill_value=0).to_numpy() - 1
    assert (counts == lat["n_repeat"].to_numpy()).all()
    expected = (1 - np.exp(-lat["lambda"] * lat["p"] * lat["T_weeks"])) / lat["p"]
    resid = counts - expected.to_numpy()
    assert abs(resid.mean()) < Z * resid.std(ddof=1) / np.sqrt(len(resid)), resid.mean()
    # alive customers never reached their dropout: alive share well inside (0, 1)
    assert 0.3 < lat["alive_at_end"].mean() < 0.9


def test_spend_follows_gamma_gamma(large):
    truth = read_truth(large)
    gg = truth["gamma_gamma"]
    lat = pd.read_csv(large / "truth" / "person_latents.csv").set_index("person_id")
    tx = _purchases(large)
    # every amount divided by its person's true mean spend ~ Gamma(p, rate p): mean 1, variance 1/p
    ratio = tx["amount"].to_numpy() / lat.loc[tx["person_id"], "mean_spend"].to_numpy()
    assert abs(ratio.mean() - 1) < Z * np.sqrt(1 / gg["p"]) / np.sqrt(len(ratio)) + 10 / 60_000
    # the average of persons' average spend ~ p * gamma / (q - 1)
    person_mean = tx.groupby("person_id")["amount"].mean()
    target = gg["p"] * gg["gamma"] / (gg["q"] - 1)
    assert target == gg["population_mean_spend"]
    assert abs(person_mean.mean() - target) < Z * person_mean.std(ddof=1) / np.sqrt(len(person_mean))
    # spend does not depend on purchase frequency (the Gamma-Gamma assumption)
    freq = tx.groupby("person_id").size()
    rho = np.corrcoef(freq.loc[person_mean.index], lat.loc[person_mean.index, "mean_spend"])[0, 1]
    assert abs(rho) < Z / np.sqrt(len(person_mean))


@pytest.mark.parametrize("data", ["large", "chunked"])
def test_refunds_and_duplicates_match_the_truth(data, request):
    large = request.getfixturevalue(data)
    b = read_truth(large)["btyd"]
    tx = _read(large, "transactions")
    assert (tx["amount"].astype(int) < 0).sum() == b["rows_with_amount_below_zero"] == b["refunds"] + b["duplicate_rows_of_refunds"]
    assert tx.duplicated().sum() == b["duplicate_rows"]
    assert 0.003 < b["duplicate_rows"] / b["rows_written"] < 0.008
    assert tx["transaction_id"].str.endswith("-R").sum() == b["rows_with_amount_below_zero"]


@pytest.mark.parametrize("data", ["large", "chunked"])
@pytest.mark.parametrize("section", ["campaign", "earlier_campaign"])
def test_campaign_matches_its_truth(data, section, request):
    large = request.getfixturevalue(data)
    truth = read_truth(large)
    c, P = truth[section], truth["params"]
    cam = _read(large, "campaigns")
    cam = cam[cam["campaign_id"] == c["campaign_id"]].reset_index(drop=True)
    assert len(cam) == c["eligible_persons"] and (cam["assigned_at"] == c["assigned_at_local"]).all()
    cam["response"] = cam["response"].astype(int)
    cam["revenue"] = cam["revenue"].astype(float)
    treat, ctrl = cam[cam["arm"] == "treatment"], cam[cam["arm"] == "control"]
    assert abs(len(treat) / len(cam) - 0.5) < Z * 0.5 / np.sqrt(len(cam))
    assert (cam.loc[cam["response"] == 0, "revenue"] == 0).all() and (cam.loc[cam["response"] == 1, "revenue"] > 0).all()
    for arm, rate in ((ctrl, c["true_control_rate_expected"]), (treat, c["true_treatment_rate_expected"])):
        assert abs(arm["response"].mean() - rate) < Z * np.sqrt(rate * (1 - rate) / len(arm))
    se = np.sqrt(treat["response"].var() / len(treat) + ctrl["response"].var() / len(ctrl))
    assert abs(treat["response"].mean() - ctrl["response"].mean() - c["true_uplift_response_sample"]) < Z * se
    assert 0.03 < c["true_base_rate_sample"] < 0.05 and c["true_uplift_response_sample"] > 0.01
    # recompute the individual effects from the purchase history in the files and the documented model
    tx = _purchases(large)
    persons = pd.read_csv(large / "truth" / "persons.csv", dtype=str)
    assigned = pd.Timestamp(cam["assigned_at"].iloc[0]).normalize()
    days_before = (assigned - tx["timestamp"].dt.normalize()).dt.days
    hist = tx[days_before > 0].assign(days_before=days_before[days_before > 0])
    last = hist.groupby("person_id")["days_before"].min()
    freq = hist[hist["days_before"] <= 365].groupby("person_id").size()
    who = cam.merge(persons, on="account_id")["person_id"]
    recent = (last.reindex(who) <= P["campaign_recent_days"]).to_numpy()
    f = np.minimum(freq.reindex(who, fill_value=0).to_numpy(), P["campaign_freq_cap"])
    tau = P["uplift_intercept"] + P["uplift_recent"] * recent + P["uplift_per_purchase"] * f
    p0 = P["base_rate_intercept"] + P["base_rate_recent"] * recent + P["base_rate_per_purchase"] * f
    assert tau.mean() == pytest.approx(c["true_uplift_response_sample"], rel=1e-8)
    assert p0.mean() == pytest.approx(c["true_base_rate_sample"], rel=1e-8)
    # the population value is what the sample estimates
    assert abs(c["true_uplift_response_population"] - tau.mean()) < Z * tau.std(ddof=1) / np.sqrt(len(tau)) + Z * c["true_uplift_response_population_mc_se"]
    assert c["true_uplift_revenue_per_account_population"] == pytest.approx(c["true_uplift_response_population"] * truth["gamma_gamma"]["population_mean_spend"], rel=1e-8)


def test_night_owls_and_channel_conflicts(large):
    truth = read_truth(large)
    lat = pd.read_csv(large / "truth" / "person_latents.csv")
    assert abs(lat["night_owl"].mean() - 0.10) < 0.02
    con = _read(large, "contacts").merge(pd.read_csv(large / "truth" / "persons.csv", dtype=str), on="account_id")
    con["ts"] = pd.to_datetime(con["timestamp"])
    owl = con["person_id"].isin(set(lat.loc[lat["night_owl"] == 1, "person_id"]))
    assert owl.any() and con.loc[owl, "channel"].isin(["email", "web", "app"]).all()
    hour = con["ts"].dt.hour
    night = (hour >= 21) | (hour < 5)
    inbound = con["direction"] == "inbound"
    assert night[owl & inbound].mean() > 0.6 > 0.2 > night[~owl & inbound].mean()
    # same purpose through two channels of one person within two days
    ib = con[inbound].sort_values(["person_id", "purpose", "ts"])
    same = (ib["person_id"] == ib["person_id"].shift()) & (ib["purpose"] == ib["purpose"].shift())
    close = (ib["ts"] - ib["ts"].shift()) <= pd.Timedelta(days=2)
    switched = ib["channel"] != ib["channel"].shift()
    assert (same & close & switched).sum() >= 0.8 * truth["contacts"]["channel_conflict_rows"] > 0
    # complaints come from dissatisfied persons, and so do low scores
    comp = con[con["purpose"] == "complaint"].groupby("person_id").size()
    sat = lat.set_index("person_id")["satisfaction"]
    assert sat.loc[comp.index].mean() < sat.mean() - 0.2
    fb = _read(large, "feedback").merge(pd.read_csv(large / "truth" / "persons.csv", dtype=str), on="account_id")
    assert np.corrcoef(fb["score"].astype(float), sat.loc[fb["person_id"]].to_numpy())[0, 1] > 0.4


def test_feedback_texts_are_varied_and_labelled(large):
    fb = _read(large, "feedback")
    labels = pd.read_csv(large / "truth" / "feedback_labels.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert list(labels["response_id"]) == list(fb["response_id"])
    texts = fb["text"].dropna()
    assert texts.nunique() > 300
    assert texts.str.contains(r"[가-힣]").mean() > 0.85 and texts.str.fullmatch(r"[A-Za-z0-9 ,.'!?-]+").any()
    assert set(labels["topic"].dropna()) == {"delivery", "price", "quality", "staff", "app", "returns"}
    by_sent = fb.assign(score=fb["score"].astype(int), s=labels["sentiment"]).groupby("s")["score"].mean()
    assert by_sent["positive"] > by_sent["neutral"] > by_sent["negative"]
    pii = labels["has_personal_data"] == "1"
    assert pii.any() and fb.loc[pii, "text"].str.contains(r"010-\d{4}-\d{4}|@").all()
    assert fb["timestamp"].isna().sum() == read_truth(large)["feedback"]["missing_timestamps"]


# ---------------------------------------------------------------------------
# generation in chunks
# ---------------------------------------------------------------------------

def test_chunk_sizes_are_balanced():
    assert chunk_sizes(3000, 250_000) == [3000]
    assert chunk_sizes(1000, 300) == [250, 250, 250, 250]
    sizes = chunk_sizes(10_000_001, 250_000)
    assert sum(sizes) == 10_000_001 and len(sizes) == 41 and max(sizes) - min(sizes) <= 1 and max(sizes) <= 250_000


FAST = SynthParams(population_mc_persons=2000)  # a smaller Monte-Carlo population for the campaign's truth


def test_one_chunk_is_the_same_whatever_the_chunk_size_and_chunks_differ(tmp_path):
    generate(tmp_path / "a", n_persons=300, seed=7, chunk_persons=300, params=FAST)
    generate(tmp_path / "b", n_persons=300, seed=7, chunk_persons=10**9, params=FAST)
    generate(tmp_path / "c", n_persons=300, seed=7, chunk_persons=100, params=FAST)
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert ha == hb
    assert ha["accounts.csv"] != hc["accounts.csv"]
    with pytest.raises(ValueError, match="chunk_persons"):
        generate(tmp_path / "d", n_persons=300, chunk_persons=50)


def test_adding_persons_appends_chunks_and_leaves_earlier_persons_unchanged(tmp_path):
    """Each chunk draws from streams of the seed and its index: 600 persons in chunks of 200 hold the
    400 persons of two chunks of 200 unchanged, with every row they wrote, in the same order."""
    generate(tmp_path / "two", n_persons=400, seed=8, chunk_persons=200, params=FAST)
    generate(tmp_path / "three", n_persons=600, seed=8, chunk_persons=200, params=FAST)
    two, three = tmp_path / "two", tmp_path / "three"
    for name in ("accounts.csv", "transactions.csv", "contacts.csv", "feedback.csv", "campaigns.csv",
                 "truth/persons.csv", "truth/person_latents.csv", "truth/feedback_labels.csv", "truth/campaign_effects.csv"):
        a = (two / name).read_text(encoding="utf-8").splitlines()
        b = (three / name).read_text(encoding="utf-8").splitlines()
        assert len(b) > len(a) and b[: len(a)] == a, name


def test_identifiers_stay_unique_across_chunks(chunked):
    acc = _read(chunked, "accounts").merge(pd.read_csv(chunked / "truth" / "persons.csv", dtype=str), on="account_id")
    # every mobile number and every e-mail address (normalised, placeholders aside) belongs to one person
    digits = _digits(acc["phone"])
    mobile = acc[digits.str.fullmatch(r"010\d{8}", na=False)]
    assert mobile.groupby(digits[mobile.index])["person_id"].nunique().max() == 1
    email = acc["email"].str.strip().str.lower()
    own = acc[email.notna() & ~email.isin(PLACEHOLDER_EMAILS)]
    assert own.groupby(email[own.index])["person_id"].nunique().max() == 1
    # ids continue from chunk to chunk: unique account, transaction, feedback, person and household ids
    assert acc["account_id"].is_unique
    tx = _read(chunked, "transactions").drop_duplicates()
    assert tx.loc[~tx["transaction_id"].str.endswith("-R"), "transaction_id"].is_unique
    assert _read(chunked, "feedback")["response_id"].is_unique
    lat = pd.read_csv(chunked / "truth" / "person_latents.csv", dtype=str)
    assert lat["person_id"].is_unique and len(lat) == 3000
    assert (lat["household_id"].value_counts() == 2).all()
    truth = read_truth(chunked)
    assert lat["household_id"].nunique() == truth["identity"]["traps"]["households"]
    assert truth["counts"]["accounts"] == len(acc) and truth["counts"]["transactions_rows"] == len(_read(chunked, "transactions"))


def test_taken_identifiers_are_never_given_again():
    taken = TakenIdentifiers()
    rng = np.random.default_rng(0)
    first = taken.claim_phones(rng, np.arange(20_000_000, 20_001_000))
    assert (first == np.arange(20_000_000, 20_001_000)).all()  # nothing was taken: unchanged
    second = taken.claim_phones(rng, np.r_[np.arange(20_000_500, 20_001_500), 20_001_499])
    assert len(second) == 1001 and len(np.unique(second)) == 1001 and not np.isin(second, first).any()
    assert ((second >= 20_000_000) & (second < 100_000_000)).all()
    assert (second[500:1000] == np.arange(20_001_000, 20_001_500)).all()  # free numbers stay
    taken.claim_emails(np.array(["a@x.kr", "b@x.kr"], dtype=object))
    taken.claim_emails(np.array(["c@x.kr"], dtype=object))
    assert taken.emails_taken(np.array(["c@x.kr", "d@x.kr", "a@x.kr"], dtype=object)).tolist() == [True, False, True]


def test_truth_counts_add_up_over_chunks():
    a = {"rows": 2, "rate": 0.5, "by": {"x": 1}, "note": "n"}
    b = {"rows": 3, "rate": 0.25, "by": {"x": 2, "y": 1}, "note": "n"}
    assert add_up(add_up(None, a), b) == {"rows": 5, "rate": 0.75, "by": {"x": 3, "y": 1}, "note": "n"}
    assert a == {"rows": 2, "rate": 0.5, "by": {"x": 1}, "note": "n"}  # inputs unchanged


def test_chunked_parquet_and_the_command_line(tmp_path, capsys):
    out = tmp_path / "pq"
    code = main(["generate", "--out", str(out), "--persons", "300", "--seed", "9", "--format", "parquet",
                 "--chunk-persons", "100"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "chunk 3/3" in printed and "config.yaml" in printed
    cfg = load_config(out / "config.yaml")
    assert all(s.format == "parquet" and s.path.suffix == ".parquet" and s.path.exists() for s in cfg.sources)
    truth = read_truth(out)
    assert truth["format"] == "parquet"
    for t in TABLE_FILES:
        df = pd.read_parquet(out / f"{t}.parquet")
        assert len(df) == truth["counts"][f"{t}_rows"], t
    tx = pd.read_parquet(out / "transactions.parquet")
    assert str(tx["timestamp"].dtype).startswith("datetime64") and str(tx["amount"].dtype) == "int64"
    assert main(["generate", "--out", str(tmp_path / "bad"), "--persons", "5"]) == 2


# ---------------------------------------------------------------------------
# the earlier campaign
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_persons", [10**6, 100])
def test_the_earlier_campaign_changes_no_other_generated_row(tmp_path, chunk_persons):
    """The earlier campaign draws from its own stream: without it (``earlier_campaign_days_before_end=None``)
    every other file is byte-identical, campaigns.csv holds exactly the main campaign's rows, and the truth
    differs only by the earlier campaign's section, its parameter and the campaign row count; in one chunk
    and in three."""
    with_it, without = tmp_path / "with", tmp_path / "without"
    generate(with_it, n_persons=300, seed=7, chunk_persons=chunk_persons, params=FAST)
    generate(without, n_persons=300, seed=7, chunk_persons=chunk_persons,
             params=SynthParams(population_mc_persons=2000, earlier_campaign_days_before_end=None))
    a, b = _hashes(with_it), _hashes(without)
    assert set(a) - set(b) == set() and set(b) - set(a) == set()
    assert sorted(k for k in a if a[k] != b[k]) == ["campaigns.csv", "truth/campaign_effects.csv", "truth/truth.json"]
    for name in ("campaigns.csv", "truth/campaign_effects.csv"):
        rows = (with_it / name).read_text(encoding="utf-8").splitlines()
        later = [r for r in rows if "2024-autumn-coupon" not in r]
        assert later == (without / name).read_text(encoding="utf-8").splitlines(), name
        assert len(rows) - len(later) == read_truth(with_it)["earlier_campaign"]["eligible_persons"] > 250
    ta, tb = read_truth(with_it), read_truth(without)
    assert tb["earlier_campaign"] is None and ta["earlier_campaign"]["campaign_id"] == "2024-autumn-coupon"
    assert ta["earlier_campaign"]["assigned_at_local"] == "2024-09-04 09:00:00" < "2024-12-30"  # before history_as_of
    strip = lambda t: {k: v for k, v in t.items() if k not in ("earlier_campaign", "params", "counts")}  # noqa: E731
    assert strip(ta) == strip(tb) and ta["campaign"] == tb["campaign"]
    assert {k: v for k, v in ta["counts"].items() if k != "campaigns_rows"} == {k: v for k, v in tb["counts"].items() if k != "campaigns_rows"}


def test_the_earlier_campaign_is_left_out_of_a_short_window_and_must_come_first(tmp_path):
    from ecrm_lib.data.synth.arrays import Window
    from ecrm_lib.data.synth.campaign import earlier_campaign_day

    info = generate(tmp_path / "short", n_persons=100, seed=1, start="2024-10-01", end="2025-06-30", params=FAST)
    assert info["truth"]["earlier_campaign"] is None
    assert set(_read(tmp_path / "short", "campaigns")["campaign_id"]) == {"2025-spring-coupon"}
    with pytest.raises(ValueError, match="earlier_campaign_days_before_end"):
        earlier_campaign_day(Window(dt.date(2023, 1, 1), dt.date(2025, 6, 30)), SynthParams(earlier_campaign_days_before_end=100))


def test_campaign_effects_truth_file_is_the_recomputed_effect(small):
    """truth/campaign_effects.csv (written by the generator) equals the effect recomputed from the data files and the
    documented model (ecrm_lib.data.synth.uplift_truth), row by row, for both campaigns."""
    from ecrm_lib.data.synth.uplift_truth import account_uplift_truth

    written = pd.read_csv(small / "truth" / "campaign_effects.csv", dtype={"account_id": str})
    again = account_uplift_truth(small)
    camp = _read(small, "campaigns")
    assert written["account_id"].tolist() == again["account_id"].tolist() == camp["account_id"].tolist()
    assert written["campaign_id"].tolist() == camp["campaign_id"].tolist()
    for col in ("p_control", "p_treated", "response_uplift", "mean_spend", "revenue_uplift"):
        np.testing.assert_allclose(written[col], again[col], rtol=1e-6, err_msg=col)
    # the two campaigns describe the same persons at different days: their effects differ
    by = written.groupby("campaign_id")["response_uplift"].mean()
    assert len(by) == 2 and by.iloc[0] != by.iloc[1]

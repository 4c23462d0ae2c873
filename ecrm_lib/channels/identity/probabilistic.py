"""Probabilistic pass (Splink 5) for the accounts the deterministic pass left single, on the same engine.

Candidate pairs (every one involving such a singleton) come from blocking on
name + postcode, phone, e-mail local part, name + last four phone digits, and
romanised name + postcode (the loosest rules are dropped, and reported, beyond
``max_candidate_pairs``). A Fellegi-Sunter model scores them on

- name: exact (with term-frequency adjustment: 김민준 is common), Hangul
  names one jamo apart, different Hangul names, same name across scripts or
  orders (김민준 / Kim Minjun / Minjun Kim), romanisations two letters apart,
  else;
- postcode: exact, same first three digits, else;
- phone: exact, same last four digits, else;
- e-mail: exact, same local part, else.

u is estimated by random sampling (seeded; Splink samples by a hash of the
unique id, the account's row number), m from the deterministic components used
as labels (a level never seen among the labelled pairs gets the add-one
estimate 1 / (labelled pairs + 2) instead of Splink's generic default), and
the prior from the share of all pairs the deterministic pass linked, over an
assumed recall of 0.9. Identifiers a guard stopped are blank in this pass (a
shared landline is no evidence).

The records table is built on the engine (:func:`splink_records`) and handed
to Splink by name on the same connection (DuckDB, or Spark through Splink's
Spark API); only the scored pairs above the threshold come back.
"""

from __future__ import annotations

import logging
import math

import ibis
import numpy as np
import pandas as pd

from ecrm_lib.channels.identity.guards import JUNK_REASONS

__all__ = [
    "BLOCKING_KEYS",
    "PARAM_COLUMNS",
    "candidate_pair_counts",
    "probabilistic_pass",
    "splink_records",
    "splink_settings",
]

# Blocking rules of the probabilistic pass, strictest first; every pair must
# also involve at least one singleton of the deterministic pass.
BLOCKING_KEYS = (
    ("name_key", "postcode"),
    ("phone",),
    ("email_local",),
    ("name_key", "phone4"),
    ("name_rom", "postcode"),
)

PARAM_COLUMNS = ["comparison", "level", "m_probability", "u_probability", "match_weight", "m_source"]


def splink_records(ws, acc, names, ids, links, det_labels: np.ndarray):
    """Input table of the probabilistic pass, as a temporary table on the engine.

    Identifiers a guard stopped are blanked (junk, or shared by different
    people: no evidence); those dropped only to split an over-size component
    are kept.

    Parameters
    ----------
    ws : Workspace
    acc : ibis.Table
        Normalised accounts.
    names : ibis.Table
        Name-key table (name, name_script, name_key, name_jamo, name_rom, name_rom_rev).
    ids : ibis.Table
        Identifiers with their guard reason.
    links : ibis.Table
        row, email_id, phone_id.
    det_labels : ndarray of int64
        Deterministic component per account row.

    Returns
    -------
    ibis.Table
        unique_id (the row), name_key, name_hangul, name_jamo, name_rom,
        name_rom_rev, postcode, phone, phone4, email, email_local, single,
        det_cluster (missing for singletons).
    """
    n = len(det_labels)
    sizes = np.bincount(det_labels) if n else np.zeros(0, dtype=np.int64)
    multi = np.flatnonzero(sizes[det_labels] >= 2) if n else np.zeros(0, dtype=np.int64)
    det = ws.upload("det_labels", {"_det_row": multi.astype(np.int64), "_det": det_labels[multi].astype(np.int64)})
    junk = ids.filter(ids.reason.isin(list(JUNK_REASONS))).select("id")
    keys = names.select(
        _name=names.name, name_key=names.name_key, _script=names.name_script, name_jamo=names.name_jamo,
        name_rom=names.name_rom, name_rom_rev=names.name_rom_rev,
    )
    t = _left_join(acc, links.select(_lrow=links.row, email_id=links.email_id, phone_id=links.phone_id), "row", "_lrow")
    t = _left_join(t, junk.select(_junk_email=junk.id), "email_id", "_junk_email", keep_key=True)
    t = _left_join(t, junk.select(_junk_phone=junk.id), "phone_id", "_junk_phone", keep_key=True)
    t = _left_join(t, keys, "name", "_name")
    t = _left_join(t, det, "row", "_det_row")
    none = ibis.null("string")
    email = ibis.ifelse(t._junk_email.isnull(), t.email, none)
    phone = ibis.ifelse(t._junk_phone.isnull(), t.phone, none)
    rec = t.select(
        unique_id=t.row,
        name_key=t.name_key,
        name_hangul=(t._script == "hangul").fill_null(False).cast("int8"),
        name_jamo=t.name_jamo,
        name_rom=t.name_rom,
        name_rom_rev=t.name_rom_rev,
        postcode=t.postcode,
        phone=phone,
        phone4=phone.right(4),
        email=email,
        email_local=email.re_replace(r"@.*$", ""),
        single=t._det.isnull().cast("int8"),
        det_cluster=t._det,
    )
    return ws.keep("records", rec.order_by("unique_id"))


def _left_join(t, right, left_key: str, right_key: str, *, keep_key: bool = False):
    """``t`` left-joined with ``right`` on one key, as a plain table (the right key dropped unless kept)."""
    j = t.left_join(right, t[left_key] == right[right_key])
    cols = [j[c] for c in t.columns] + [j[c] for c in right.columns if c != right_key or keep_key]
    return j.select(*cols)


def candidate_pair_counts(rec) -> list[tuple[tuple[str, ...], int]]:
    """Upper bound of the pairs each blocking rule generates (pairs with a singleton), counted on the engine."""
    out = []
    for keys in BLOCKING_KEYS:
        sub = rec.filter([rec[k].notnull() for k in keys])
        g = sub.group_by(list(keys)).aggregate(s=sub.single.cast("int64").sum(), t=sub.count())
        # pairs with at least one singleton: s*(t-s) + s*(s-1)/2
        total = (g.s * (g.t - g.s) + (g.s * (g.s - 1)) // 2).sum().to_pyarrow().as_py()
        out.append((keys, int(total or 0)))
    return out


def splink_settings(prior: float):
    """Splink settings of the probabilistic pass (comparisons on name, postcode, phone and e-mail)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=True),
            cll.CustomLevel(
                "name_hangul_l = 1 and name_hangul_r = 1 and levenshtein(name_jamo_l, name_jamo_r) <= 1",
                "Hangul names one letter apart",
            ),
            cll.CustomLevel("name_hangul_l = 1 and name_hangul_r = 1", "different Hangul names"),
            cll.CustomLevel(
                "name_rom_l = name_rom_r or name_rom_l = name_rom_rev_r",
                "same name across scripts or orders",
            ),
            cll.CustomLevel(
                "least(levenshtein(name_rom_l, name_rom_r), levenshtein(name_rom_l, name_rom_rev_r)) <= 2",
                "romanised names two letters apart",
            ),
            cll.ElseLevel().configure(label_for_charts="different names across scripts"),
        ],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel("substr(postcode_l, 1, 3) = substr(postcode_r, 1, 3)", "same first 3 digits"),
            cll.ElseLevel(),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone"),
            cll.CustomLevel("phone4_l = phone4_r", "same last 4 digits"),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.CustomLevel("email_local_l = email_local_r", "same local part"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[name, postcode, phone, email],
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _blocking_sql(keys: tuple[str, ...]) -> str:
    eq = " and ".join(f"l.{k} = r.{k}" for k in keys)
    return f"{eq} and (l.single = 1 or r.single = 1)"


def probabilistic_pass(
    ws,
    rec,
    det_labels: np.ndarray,
    *,
    match_threshold: float,
    max_candidate_pairs: int,
    u_max_pairs: float,
    seed: int,
) -> tuple[pd.DataFrame, dict, pd.DataFrame, pd.DataFrame]:
    """Score pairs that involve a singleton with Splink; return pairs at or above the threshold.

    Parameters
    ----------
    ws : Workspace
    rec : ibis.Table
        :func:`splink_records`.
    det_labels : ndarray of int64
        Deterministic component per account row.
    match_threshold : float
    max_candidate_pairs : int
    u_max_pairs : float
    seed : int

    Returns
    -------
    (pairs, info, rules table, model parameters)
        pairs: l, r (account rows), match_probability, match_weight.
    """
    from splink import Linker

    n = len(det_labels)
    det_sizes = np.bincount(det_labels).astype(np.float64) if n else np.zeros(0)
    det_sizes = det_sizes[det_sizes >= 2]
    det_pairs = float(np.sum(det_sizes * (det_sizes - 1) / 2))
    total_pairs = n * (n - 1) / 2
    # Prior: the share of all pairs the deterministic pass linked, over an assumed recall of 0.9.
    prior = float(min(max(det_pairs / 0.9 / max(total_pairs, 1.0), 1e-9), 0.5))

    counts = candidate_pair_counts(rec)
    rules, kept_pairs, rows = [], 0, []
    for keys, c in counts:
        use = c > 0 and kept_pairs + c <= max_candidate_pairs
        rows.append({"blocking_rule": " + ".join(keys), "candidate_pairs_max": c, "used": use})
        if use:
            rules.append(_blocking_sql(keys))
            kept_pairs += c
    rules_table = pd.DataFrame(rows)
    n_single = int(np.sum(np.bincount(det_labels) == 1)) if n else 0
    info = {"records": n, "singletons": n_single, "prior": prior, "candidate_pairs_max": kept_pairs}
    empty = pd.DataFrame({"l": [], "r": [], "match_probability": [], "match_weight": []})
    if det_pairs == 0:
        info["skipped"] = "the deterministic pass linked no pairs to learn m probabilities from"
        return empty, info, rules_table, pd.DataFrame(columns=PARAM_COLUMNS)
    if not rules or n_single == 0:
        info["skipped"] = "no candidate pairs"
        return empty, info, rules_table, pd.DataFrame(columns=PARAM_COLUMNS)

    settings = splink_settings(prior)
    db = ws.splink_api()
    try:
        sdf = db.register(ws.table_name(rec))
        trainer = Linker(sdf, settings, log_level=logging.WARNING)
        trainer.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        trainer.training.estimate_m_from_label_column("det_cluster")
        model = trainer.misc.save_model_to_json()
        # A level never seen among the labelled pairs (say "same last 4 digits" of
        # two different numbers) keeps Splink's generic default m otherwise; give it
        # the add-one estimate 1 / (labelled pairs + 2) instead.
        floor = 1.0 / (det_pairs + 2.0)
        for comp in model["comparisons"]:
            for lvl in comp["comparison_levels"]:
                if not lvl.get("is_null_level") and "m_probability" not in lvl:
                    lvl["m_probability"] = floor
                    lvl["m_source"] = "add-one floor"
        model["blocking_rules_to_generate_predictions"] = rules
        params = _model_parameters(model)
        for comp in model["comparisons"]:
            for lvl in comp["comparison_levels"]:
                lvl.pop("m_source", None)
        linker = Linker(sdf, model, log_level=logging.WARNING)
        pred = linker.inference.predict(threshold_match_probability=match_threshold, warning_mode="never")
        scored = pred.as_pandas_dataframe()
    finally:
        db.delete_tables_created_by_splink_from_db()
    pairs = pd.DataFrame(
        {
            "l": scored["unique_id_l"].to_numpy(np.int64),
            "r": scored["unique_id_r"].to_numpy(np.int64),
            "match_probability": scored["match_probability"].to_numpy(np.float64),
            "match_weight": scored["match_weight"].to_numpy(np.float64),
        }
    )
    info["pairs_at_threshold"] = len(pairs)
    return pairs, info, rules_table, params


def _model_parameters(model: dict) -> pd.DataFrame:
    rows = []
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            ok = m is not None and u is not None and m > 0 and u > 0
            rows.append(
                {
                    "comparison": comp.get("output_column_name"),
                    "level": lvl.get("label_for_charts", lvl.get("sql_condition")),
                    "m_probability": m,
                    "u_probability": u,
                    "match_weight": math.log2(m / u) if ok else float("nan"),
                    "m_source": lvl.get("m_source", "deterministic components as labels"),
                }
            )
    return pd.DataFrame(rows, columns=PARAM_COLUMNS)

"""The truth of a generated dataset: ``truth/truth.json`` assembled from the chunks' counts, and
:func:`read_truth`.

Every count in the truth is a sum over chunks (:func:`add_up`); rates are formed once at the end from
summed counts, and the summaries of the persons' latent values (mean, sd, quantiles) are taken over
all persons, so the truth of a dataset does not depend on how many chunks wrote it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    CALL_CENTRE_PHONE,
    PLACEHOLDER_EMAILS,
    STORE_PHONE,
    TRUTH_DIR,
)

__all__ = ["add_up", "summary", "clean_json", "truth_document", "write_truth", "read_truth"]


def add_up(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Sum two nested dicts of counts key by key (text values are kept from ``total``); ``total`` may be None.

    Examples
    --------
    >>> add_up({"rows": 2, "by": {"a": 1}, "note": "x"}, {"rows": 3, "by": {"a": 1, "b": 2}, "note": "x"})
    {'rows': 5, 'by': {'a': 2, 'b': 2}, 'note': 'x'}
    """
    if total is None:
        return {k: (add_up(None, v) if isinstance(v, dict) else v) for k, v in part.items()}
    out = dict(total)
    for k, v in part.items():
        if k not in out:
            out[k] = add_up(None, v) if isinstance(v, dict) else v
        elif isinstance(v, dict):
            out[k] = add_up(out[k], v)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[k] = out[k] + v
    return out


def summary(x: np.ndarray) -> dict[str, float]:
    """Mean, sd (ddof 1) and the 10th, 50th and 90th percentiles of ``x``; empty dict for no values."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return {}
    q = np.quantile(x, [0.1, 0.5, 0.9])
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


def clean_json(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, floats to 10 significant digits, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return None if not math.isfinite(v) else float(f"{v:.10g}")
    return obj


def truth_document(*, seed: int, n: int, window, fmt: str, P: SynthParams, totals: dict[str, Any],
                   latents: dict[str, np.ndarray], campaign: dict[str, Any],
                   earlier_campaign: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``truth.json``.

    Parameters
    ----------
    seed, n, window, fmt, P
        The generation's arguments.
    totals : dict
        Counts summed over chunks (:func:`add_up`): ``accounts``, ``rows`` (table -> rows), ``btyd``,
        ``contacts``, ``feedback`` (with ``promoters`` and ``detractors``), ``identity`` (``accounts_per_person``,
        ``true_pairs``, ``raw_pairs``, ``link_basis_counts``, ``traps``), ``night_owls``, ``persons_in_households``.
    latents : dict of numpy.ndarray
        Every person's ``lam``, ``pdrop``, ``mean_spend``, ``satisfaction``, ``T_weeks``, ``n_rep``, ``alive``.
    campaign : dict
        The campaign section (:func:`ecrm_lib.data.synth.campaign.campaign_truth`).
    earlier_campaign : dict, optional
        The same for the earlier campaign (written as ``earlier_campaign``, null when there is none).
    """
    gg_mean = P.gg_p * P.gg_gamma / (P.gg_q - 1.0)
    ident = totals["identity"]
    true_pairs, raw_pairs = ident["true_pairs"], ident["raw_pairs"]
    fb = {k: v for k, v in totals["feedback"].items() if k not in ("promoters", "detractors")}
    m = fb["rows"]
    fb["nps"] = 100.0 * (totals["feedback"]["promoters"] / m - totals["feedback"]["detractors"] / m) if m else None
    return clean_json({
        "generator": "ecrm_lib.data.synth.generate",
        "truth_version": 1,
        "seed": int(seed),
        "n_persons": n,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "format": fmt,
        "timezone": "Asia/Seoul (all timestamps are naive local times)",
        "params": P.to_dict(),
        "counts": {"persons": n, "accounts": int(totals["accounts"]), **{f"{t}_rows": int(v) for t, v in totals["rows"].items()}},
        "btyd": {
            "model": "BG/NBD (Fader, Hardie & Lee 2005), continuous time",
            "time_unit": "weeks",
            "r": P.r, "alpha": P.alpha, "a": P.a, "b": P.b,
            "lambda_distribution": "Gamma(shape r, rate alpha), per week",
            "dropout_distribution": "Beta(a, b); dropout after each repeat purchase",
            "first_purchase": f"uniform over the first {P.acquisition_share:.0%} of the window (days {window.start} + U(0, {P.acquisition_share * window.days:.1f}))",
            "observation_end": f"end of {window.end.isoformat()} (T_weeks in truth/person_latents.csv counts to there)",
            "population_mean_lambda_per_week": P.r / P.alpha,
            "population_mean_p": P.a / (P.a + P.b),
            "purchase_times_note": "the purchase day comes from the process; the time of day is drawn from the channel's hour profile",
            **totals["btyd"],
        },
        "gamma_gamma": {
            "p": P.gg_p, "q": P.gg_q, "gamma": P.gg_gamma, "currency": "KRW",
            "nu_distribution": "Gamma(shape q, rate gamma)", "spend_distribution": "Gamma(shape p, rate nu)",
            "population_mean_spend": gg_mean,
            "rounding": f"amounts rounded to {P.amount_rounding_krw} KRW, at least {P.amount_rounding_krw}",
        },
        "latents_summary": {
            "lambda_per_week": summary(latents["lam"]),
            "p": summary(latents["pdrop"]),
            "mean_spend_krw": summary(latents["mean_spend"]),
            "satisfaction": summary(latents["satisfaction"]),
            "T_weeks": summary(latents["T_weeks"]),
            "n_repeat": summary(latents["n_rep"]),
            "alive_at_end_share": float(latents["alive"].mean()),
            "night_owls": int(totals["night_owls"]),
            "persons_in_households": int(totals["persons_in_households"]),
        },
        "identity": {
            "persons": n,
            "accounts": int(totals["accounts"]),
            "accounts_per_person": ident["accounts_per_person"],
            "true_pairs": true_pairs,
            "link_basis_note": "how each non-primary account links to the person's primary account: e-mail or mobile "
                               "after normalisation (trim, lower-case; digits with +82 -> 0), else name (NFC, no spaces) + postcode",
            "link_basis_counts": dict(sorted(ident["link_basis_counts"].items())),
            "raw_email_exact_pair_recall": raw_pairs / true_pairs if true_pairs else None,
            "placeholder_emails": list(PLACEHOLDER_EMAILS),
            "store_phone": STORE_PHONE[0],
            "call_centre_phone": CALL_CENTRE_PHONE[0],
            "traps": ident["traps"],
        },
        "contacts": totals["contacts"],
        "feedback": fb,
        "campaign": campaign,
        "earlier_campaign": earlier_campaign,
    })


def write_truth(out: Path, truth: dict[str, Any]) -> Path:
    """Write ``truth/truth.json`` (UTF-8, indented, ending with a newline); returns its path."""
    path = Path(out) / TRUTH_DIR / "truth.json"
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_truth(data_dir: str | os.PathLike) -> dict[str, Any]:
    """The truth of a generated dataset (``truth/truth.json``).

    Parameters
    ----------
    data_dir : str or path-like
        The folder :func:`~ecrm_lib.data.synth.generate` wrote (e.g. ``data/default``).

    Returns
    -------
    dict
    """
    path = Path(data_dir) / TRUTH_DIR / "truth.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; it is written by ecrm_lib.data.synth.generate (ecrm generate --out DIR).")
    return json.loads(path.read_text(encoding="utf-8"))

"""The true effect of the generated campaign per assigned account, recomputed from the written files.

The generator's effect depends only on what the data shows (:func:`~ecrm_lib.data.synth.campaign.campaign_covariates`:
whether the *person* bought in the 90 days before assignment and how often in the 365 days before,
capped), so the per-account truth needs no extra file: the purchases come from ``transactions.csv``
(refunds and exact duplicate rows left out, the generator's additions on top of the purchase process),
the person of each account from ``truth/persons.csv``, the person's mean spend per purchase (``p / nu``)
from ``truth/person_latents.csv`` and the parameters from ``truth/truth.json``. The same function of
the generator turns them into probabilities. :func:`account_uplift_truth` checks itself against the
sample figures of ``truth.json`` (their mean must agree to 1e-6 relative), so a generator change
that breaks the recomputation fails loudly instead of giving a wrong truth. Each campaign of the file
(the main one and, when generated, the earlier one) is recomputed at its own assignment day and checked
against its own section of ``truth.json`` (``campaign``, ``earlier_campaign``). The generator also
writes these values (``truth/campaign_effects.csv``); this recomputation checks that file and the
generator's story against each other.

Purchase days are whole days after the window start (the generator writes a purchase at a local hour
of its day).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.data.synth.campaign import campaign_covariates
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import TRUTH_DIR

__all__ = ["account_uplift_truth"]


def account_uplift_truth(folder: str | Path) -> pd.DataFrame:
    """True response probabilities, response uplift and revenue uplift of every campaign row of a generated dataset.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`ecrm_lib.data.synth.generate` (CSV format).

    Returns
    -------
    DataFrame
        One row per row of ``campaigns.csv`` (same order; each campaign at its assignment day):
        ``account_id``, ``person_id``,
        ``recent`` (bool), ``freq`` (purchases in the 365 days before assignment, capped),
        ``p_control``, ``p_treated`` (shares), ``response_uplift`` (share), ``mean_spend``
        (currency per purchase), ``revenue_uplift`` (``response_uplift * mean_spend``, currency).

    Raises
    ------
    EcrmError
        The recomputed mean effect does not match ``truth.json`` (the generator changed).
    """
    folder = Path(folder)
    truth = json.loads((folder / TRUTH_DIR / "truth.json").read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(SynthParams)}
    P = SynthParams(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in truth["params"].items() if k in fields})
    camp = pd.read_csv(folder / "campaigns.csv", dtype={"account_id": str})
    persons = pd.read_csv(folder / TRUTH_DIR / "persons.csv", dtype={"account_id": str, "person_id": str})
    latents = pd.read_csv(folder / TRUTH_DIR / "person_latents.csv", dtype={"person_id": str})
    tx = pd.read_csv(folder / "transactions.csv", dtype={"account_id": str})
    tx = tx.drop_duplicates()
    tx = tx[tx["amount"] > 0].merge(persons[["account_id", "person_id"]], on="account_id")
    start = pd.Timestamp(truth["start"])
    day = (pd.to_datetime(tx["timestamp"]).dt.normalize() - start).dt.days.to_numpy()
    camp = camp.merge(persons[["account_id", "person_id"]], on="account_id", how="left")
    if camp["person_id"].isna().any():
        raise EcrmError("a campaign account has no person in truth/persons.csv: not a generated dataset?")
    ids, code = np.unique(np.r_[camp["person_id"].to_numpy(str), tx["person_id"].to_numpy(str)], return_inverse=True)
    person_of_row, person_of_tx = code[: len(camp)], code[len(camp):]
    a_days = (pd.to_datetime(camp["assigned_at"]).dt.normalize() - start).dt.days.to_numpy()
    cols = {k: np.zeros(len(camp)) for k in ("recent", "freq", "p0", "p1", "tau")}
    for a_day in np.unique(a_days):  # each campaign at its own assignment day
        rows = a_days == a_day
        cov = campaign_covariates(person_of_tx, day, len(ids), np.zeros(len(ids)), int(a_day), P)
        for k in cols:
            cols[k][rows] = cov[k][person_of_row[rows]]
    spend = camp["person_id"].map(latents.set_index("person_id")["mean_spend"]).astype(float).to_numpy()
    out = pd.DataFrame({"account_id": camp["account_id"], "person_id": camp["person_id"],
                        "recent": cols["recent"].astype(bool), "freq": cols["freq"].astype(np.int64),
                        "p_control": cols["p0"], "p_treated": cols["p1"],
                        "response_uplift": cols["tau"], "mean_spend": spend})
    out["revenue_uplift"] = out["response_uplift"] * out["mean_spend"]
    sections = [truth[k] for k in ("campaign", "earlier_campaign") if truth.get(k)]
    for c in sections:
        mine = (camp["campaign_id"].astype(str) == str(c["campaign_id"])).to_numpy()
        for col, key in (("response_uplift", "true_uplift_response_sample"), ("revenue_uplift", "true_uplift_revenue_per_account_sample")):
            if not mine.any() or not np.isclose(out.loc[mine, col].mean(), c[key], rtol=1e-6):
                got = f"{out.loc[mine, col].mean():.6g}" if mine.any() else "no rows"
                raise EcrmError(f"the recomputed {col} of campaign {c['campaign_id']!r} ({got}) differs from truth.json's {key} "
                                f"({c[key]:.6g}): the generator's campaign changed; update {__name__}.")
    return out

"""The randomised coupon campaigns: assignment days, each chunk's sample (arm, response, revenue), the
true effect on an independent Monte-Carlo population, and each campaign's truth.

A campaign runs on eligible persons' primary accounts, 50/50 treatment/control, with a heterogeneous
true effect that is larger for recent and frequent buyers. The main campaign sits
``campaign_days_before_end`` days before the end of the window; an **earlier campaign** of the same
coupon (same effect model) sits ``earlier_campaign_days_before_end`` days before it (default 300, so
that a run at the config's ``history_as_of``, 26 weeks before the end, has a campaign history to
select by incremental profit from, and the main run can measure that selection on the main campaign).
The earlier campaign draws from its own random stream, so adding it changes no other generated row.
A chunk's sample returns sums (not means), so that :func:`campaign_truth` gives the same values
whether the persons were drawn in one chunk or in many.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from ecrm_lib.data.synth.arrays import Window, round_to
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.persons import draw_btyd_latents, simulate_btyd

__all__ = ["campaign_day", "earlier_campaign_day", "campaign_covariates", "draw_campaign", "campaign_population",
           "campaign_truth"]


def campaign_day(window: Window, P: SynthParams, days_before_end: int | None = None) -> tuple[int, dt.date, str]:
    """The assignment day (days after the window start), its date and the campaign id.

    Parameters
    ----------
    window : Window
    P : SynthParams
    days_before_end : int, optional
        Days between assignment and the end of the window (default: ``P.campaign_days_before_end``).

    Raises
    ------
    ValueError
        The window is too short to hold the campaign and the tenure it asks for.
    """
    before = P.campaign_days_before_end if days_before_end is None else int(days_before_end)
    a_day = window.days - before
    if a_day <= P.campaign_min_tenure_days:
        raise ValueError(
            f"the window {window.start}..{window.end} is too short for the campaign: it needs more than "
            f"{before + P.campaign_min_tenure_days} days; pass an earlier start."
        )
    return _campaign_id(window, a_day)


def _campaign_id(window: Window, a_day: int) -> tuple[int, dt.date, str]:
    a_date = window.start + dt.timedelta(days=int(a_day))
    season = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
              6: "summer", 7: "summer", 8: "summer"}.get(a_date.month, "autumn")
    return a_day, a_date, f"{a_date.year}-{season}-coupon"


def earlier_campaign_day(window: Window, P: SynthParams) -> tuple[int, dt.date, str] | None:
    """The earlier campaign's assignment day, date and id, or None when there is none.

    None when ``P.earlier_campaign_days_before_end`` is None, or when the window is too short to
    hold it with the tenure it asks for (a short generated window keeps its one campaign).

    Raises
    ------
    ValueError
        The earlier campaign would not come before the main one.

    Examples
    --------
    >>> w = Window(dt.date(2023, 1, 1), dt.date(2025, 6, 30))
    >>> earlier_campaign_day(w, SynthParams())
    (612, datetime.date(2024, 9, 4), '2024-autumn-coupon')
    >>> earlier_campaign_day(Window(dt.date(2025, 1, 1), dt.date(2025, 6, 30)), SynthParams()) is None
    True
    """
    before = P.earlier_campaign_days_before_end
    if before is None:
        return None
    if before <= P.campaign_days_before_end:
        raise ValueError(f"earlier_campaign_days_before_end ({before}) must be larger than campaign_days_before_end "
                         f"({P.campaign_days_before_end}): the earlier campaign comes first; or set it to None.")
    a_day = window.days - int(before)
    if a_day <= P.campaign_min_tenure_days:
        return None
    return _campaign_id(window, a_day)


def campaign_covariates(purchase_person: np.ndarray, purchase_day: np.ndarray, n: int, t0: np.ndarray,
                        a_day: int, P: SynthParams) -> dict[str, np.ndarray]:
    """Eligibility, recency flag and 365-day frequency at the assignment day, and the true response probabilities."""
    eligible = t0 <= a_day - P.campaign_min_tenure_days
    before = purchase_day < a_day
    last = np.full(n, -10**9, dtype=np.int64)
    np.maximum.at(last, purchase_person[before], purchase_day[before])
    in_year = before & (purchase_day >= a_day - 365)
    freq = np.minimum(np.bincount(purchase_person[in_year], minlength=n), P.campaign_freq_cap)
    recent = (a_day - last) <= P.campaign_recent_days
    p0 = P.base_rate_intercept + P.base_rate_recent * recent + P.base_rate_per_purchase * freq
    tau = P.uplift_intercept + P.uplift_recent * recent + P.uplift_per_purchase * freq
    p1 = np.minimum(p0 + tau, 1.0)
    return {"eligible": eligible, "recent": recent, "freq": freq, "p0": p0, "p1": p1, "tau": p1 - p0}


def draw_campaign(rng: np.random.Generator, per: dict, acc: dict, purchases: dict, P: SynthParams,
                  a_day: int) -> dict[str, Any]:
    """Assignment, response and revenue of the eligible persons of one chunk.

    Returns the rows of the campaign table (``row``: primary account row, ``treat``, ``y``, ``revenue``)
    and ``sums``: counts and sums over the chunk that :func:`campaign_truth` turns into rates.
    """
    n = len(per["lam"])
    cov = campaign_covariates(purchases["person"], purchases["day"], n, per["t0"], a_day, P)
    who = np.flatnonzero(cov["eligible"])
    treat = rng.random(who.size) < P.campaign_treatment_share
    u = rng.random(who.size)
    p0, p1, tau = cov["p0"][who], cov["p1"][who], cov["tau"][who]
    y0 = u < p0
    y1 = u < p1
    y = np.where(treat, y1, y0)
    spend = round_to(rng.gamma(P.gg_p, 1.0 / per["nu"][who]), P.amount_rounding_krw)
    revenue = np.where(y, np.maximum(spend, P.amount_rounding_krw), 0)
    mean_spend = P.gg_p / per["nu"][who]
    # sums in float64 as numpy's mean takes them, so that one chunk gives exactly the former means
    sums = {
        "eligible": int(who.size), "treatment": int(treat.sum()), "control": int((~treat).sum()),
        "tau": float(tau.sum()), "realised": int((y1.astype(int) - y0.astype(int)).sum()), "p0": float(p0.sum()),
        "p0_control": float(p0[~treat].sum()), "p1_treatment": float(p1[treat].sum()),
        "tau_spend": float((tau * mean_spend).sum()),
        "y_treatment": int(y[treat].sum()), "y_control": int(y[~treat].sum()),
        "revenue_treatment": int(revenue[treat].sum()), "revenue_control": int(revenue[~treat].sum()),
    }
    return {"row": acc["prim_row"][who], "treat": treat, "y": y, "revenue": revenue, "sums": sums,
            "p0": p0, "p1": p1, "mean_spend": mean_spend}


def campaign_population(rng: np.random.Generator, P: SynthParams, window: Window, a_day: int,
                        *more_days: int) -> dict[str, Any] | list[dict[str, Any]]:
    """The campaign's true effect and base rate on an independent Monte-Carlo population of
    ``P.population_mc_persons`` persons drawn by the same process.

    With ``more_days`` (other campaigns' assignment days), one dict per day in a list, all on the
    same population (one draw: the first day's figures do not depend on the others)."""
    m = P.population_mc_persons
    lat = draw_btyd_latents(rng, m, P, window)
    sim = simulate_btyd(rng, lat, window)
    pp = np.concatenate([np.arange(m), sim["owner"]])
    pd_ = np.minimum(np.floor(np.concatenate([lat["t0"], sim["t"]])).astype(np.int64), window.days - 1)
    out = []
    for day in (a_day, *more_days):
        pop = campaign_covariates(pp, pd_, m, lat["t0"], day, P)
        pop_tau = pop["tau"][pop["eligible"]]
        out.append({"persons": int(m), "eligible": int(pop_tau.size), "tau": float(pop_tau.mean()),
                    "tau_se": float(pop_tau.std(ddof=1) / math.sqrt(pop_tau.size)),
                    "p0": float(pop["p0"][pop["eligible"]].mean())})
    return out if more_days else out[0]


def campaign_truth(cid: str, a_date: dt.date, P: SynthParams, sums: dict[str, Any],
                   population: dict[str, Any]) -> dict[str, Any]:
    """The ``campaign`` section of ``truth.json`` from the sample's summed :func:`draw_campaign` ``sums``
    and :func:`campaign_population`."""
    n, nt, nc = sums["eligible"], sums["treatment"], sums["control"]
    gg_mean = P.gg_p * P.gg_gamma / (P.gg_q - 1.0)
    return {
        "campaign_id": cid,
        "assigned_at_local": f"{a_date.isoformat()} 09:00:00",
        "assignment": "Bernoulli per eligible person's primary account",
        "treatment_share": P.campaign_treatment_share,
        "eligibility": f"first purchase at least {P.campaign_min_tenure_days} days before assignment",
        "eligible_persons": n,
        "treatment_accounts": nt,
        "control_accounts": nc,
        "response_model": ("p0 = base_rate_intercept + base_rate_recent * recent + base_rate_per_purchase * freq; "
                           "tau = uplift_intercept + uplift_recent * recent + uplift_per_purchase * freq; "
                           f"recent = last purchase within {P.campaign_recent_days} days before assignment; "
                           f"freq = purchases in the 365 days before assignment, capped at {P.campaign_freq_cap}"),
        "true_uplift_response_sample": sums["tau"] / n if n else None,
        "true_uplift_response_sample_realised": sums["realised"] / n if n else None,
        "true_uplift_response_population": population["tau"],
        "true_uplift_response_population_mc_se": population["tau_se"],
        "population_mc_persons": population["persons"],
        "population_mc_eligible": population["eligible"],
        "true_base_rate_sample": sums["p0"] / n if n else None,
        "true_base_rate_population": population["p0"],
        "true_control_rate_expected": sums["p0_control"] / nc if nc else None,
        "true_treatment_rate_expected": sums["p1_treatment"] / nt if nt else None,
        "true_uplift_revenue_per_account_sample": sums["tau_spend"] / n if n else None,
        "true_uplift_revenue_per_account_population": population["tau"] * gg_mean,
        "revenue_note": "revenue of a response ~ the person's Gamma-Gamma spend (mean p / nu); revenue 0 without response; "
                        "campaign responses are not added to transactions.csv",
        "observed_control_rate": sums["y_control"] / nc if nc else None,
        "observed_treatment_rate": sums["y_treatment"] / nt if nt else None,
        "observed_uplift_response": sums["y_treatment"] / nt - sums["y_control"] / nc if nt and nc else None,
        "observed_uplift_revenue_per_account": (sums["revenue_treatment"] / nt - sums["revenue_control"] / nc
                                                if nt and nc else None),
    }

"""The generator's parameters (:class:`SynthParams`), all written to ``truth/truth.json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["SynthParams"]


@dataclass(frozen=True)
class SynthParams:
    """Every parameter of the generator (all written to ``truth/truth.json``).

    Rates per channel are tuples in the order of :data:`CHANNELS`
    (store, phone, mail, email, web, app).

    BG/NBD parameters are per **week**; money is in **KRW**; delays in **days**.
    """

    # BG/NBD (weeks): lambda ~ Gamma(shape r, rate alpha); p ~ Beta(a, b)
    r: float = 0.5
    alpha: float = 8.0
    a: float = 0.8
    b: float = 2.5
    # Gamma-Gamma (KRW): nu ~ Gamma(shape q, rate gamma); spend ~ Gamma(shape p, rate nu)
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 30_000.0
    acquisition_share: float = 0.6  # first purchases uniform over this first share of the window
    amount_rounding_krw: int = 10
    # accounts
    accounts_per_person_probs: tuple[float, ...] = (0.45, 0.30, 0.17, 0.08)
    primary_channel_probs: tuple[float, ...] = (0.40, 0.08, 0.07, 0.0, 0.27, 0.18)
    secondary_channel_weights: tuple[float, ...] = (0.20, 0.12, 0.10, 0.22, 0.18, 0.18)
    email_presence: tuple[float, ...] = (0.45, 0.40, 0.30, 1.0, 1.0, 0.90)
    phone_presence: tuple[float, ...] = (0.80, 0.90, 0.60, 0.15, 0.65, 0.85)
    postcode_presence: tuple[float, ...] = (0.60, 0.50, 0.98, 0.05, 0.55, 0.30)
    name_presence: tuple[float, ...] = (0.97, 0.95, 1.0, 0.60, 0.98, 0.90)
    second_email_share: float = 0.15  # persons with a second address
    second_email_use: float = 0.40  # share of their non-primary accounts written with it
    strong_link_share: float = 0.85  # unlinked accounts that get the mobile (else linked by name + postcode)
    name_space_share: float = 0.12
    name_nfd_share: float = 0.05
    web_romanised_share: float = 0.12
    mixed_script_rate: float = 0.0003  # of accounts, at least 2
    # traps
    placeholder_rate: float = 0.05  # of store/phone/mail accounts without e-mail; >= 3 persons per placeholder
    store_phone_rate: float = 0.08  # of store accounts without phone; >= 3
    call_centre_phone_rate: float = 0.25  # of phone accounts without phone; >= 3
    household_share: float = 0.04  # persons living in a two-person household sharing a landline
    no_identifier_rate: float = 0.004  # of accounts (single-account persons), at least 2
    unlinkable_rate: float = 0.015  # of non-primary offline accounts: only a name, nothing to link them by
    moved_rate: float = 0.04  # non-primary accounts with an old postcode
    postcode_zero_strip_rate: float = 0.15  # mail accounts whose postcode lost its leading zero
    # transactions
    primary_account_weight: float = 2.0
    refund_rate: float = 0.02
    refund_partial_share: float = 0.3
    duplicate_rate: float = 0.005
    # contacts (rates per week unless said)
    contact_base_rate: float = 0.015
    contact_rate_per_lambda: float = 0.35
    followup_prob: float = 0.15  # per purchase
    outbound_per_year: float = 1.0
    night_owl_share: float = 0.10
    night_owl_night_share: float = 0.80
    conflict_rate: float = 0.08
    complaint_logit_intercept: float = -2.6
    complaint_logit_slope: float = -1.2  # per unit of satisfaction
    # feedback
    survey_invite_prob: float = 0.15
    survey_response_prob: float = 0.35
    relational_survey_share: float = 0.25
    nps_intercept: float = 8.3
    nps_satisfaction_slope: float = 1.6
    nps_complaint_penalty: float = 0.9  # per complaint, up to 3
    nps_noise_sd: float = 1.3
    english_share: float = 0.07
    two_topic_share: float = 0.12
    feedback_pii_share: float = 0.006
    feedback_missing_time_share: float = 0.05  # of store-channel answers (paper forms)
    # campaign
    campaign_days_before_end: int = 105
    # an earlier run of the same coupon (same effect), on its own random stream; None: no earlier campaign. It is
    # left out when the window cannot hold it (see ecrm_lib.data.synth.campaign.earlier_campaign_day)
    earlier_campaign_days_before_end: int | None = 300
    campaign_min_tenure_days: int = 30
    campaign_treatment_share: float = 0.5
    campaign_recent_days: int = 90
    campaign_freq_cap: int = 6
    base_rate_intercept: float = 0.03
    base_rate_recent: float = 0.018
    base_rate_per_purchase: float = 0.004
    uplift_intercept: float = 0.008
    uplift_recent: float = 0.035
    uplift_per_purchase: float = 0.006
    population_mc_persons: int = 100_000

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict of every field."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

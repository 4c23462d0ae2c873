"""Seeded generator of the embedded default data: a Korean multichannel retailer.

:func:`generate` writes, into one folder, source files in the shape of the
canonical tables of :mod:`ecrm_lib.core.schema` (``accounts``, ``transactions``,
``contacts``, ``channel_costs``, ``feedback``, ``campaigns``), a
``config.yaml`` mapping them, and the truth the suite's methods are later
tested against (``truth/``).

The generative story, one person at a time (all draws vectorised):

- **Who.** A person has a Korean name (family name and given name drawn from
  realistic frequency lists), a mobile number, one or two e-mail addresses and
  a 5-digit postcode, and holds 1-4 accounts in distinct channels (store,
  phone = call centre, mail = catalogue, email, web, app). Each channel writes
  the identifiers its own way (case and spaces of e-mails, phone formats,
  names with a space, in Unicode NFD, romanised on the web) or not at all.
  Every non-primary account shares a strong identifier (e-mail or mobile after
  normalisation) with the person's primary account, or else name and postcode,
  except a few offline accounts that carry only the name (unlinkable).
  Traps at small rates: placeholder e-mails, the store's and the call centre's
  own numbers typed into unrelated accounts, two-person households sharing a
  landline, family name and postcode, accounts without identifiers, names in
  mixed scripts, postcodes that lost their leading zero, old addresses.
- **Buying.** BG/NBD per person in continuous time, unit **weeks**: the first
  purchase falls uniformly in the first part of the window; repeat purchases
  follow a Poisson process of rate ``lambda ~ Gamma(shape r, rate alpha)``;
  after each repeat purchase the person drops out with probability
  ``p ~ Beta(a, b)``. Spend per purchase follows Gamma-Gamma:
  ``nu ~ Gamma(shape q, rate gamma)``, ``z ~ Gamma(shape p, rate nu)`` in KRW,
  so a person's mean spend is ``p / nu`` and its population mean
  ``p * gamma / (q - 1)``. Amounts are rounded to 10 KRW; each purchase is
  written to one of the person's accounts at a local hour typical of that
  channel. Refunds (negative rows) and exact duplicate rows are added on top
  and counted; they are not part of the BG/NBD process.
- **Contacts.** Inbound service contacts at a rate that grows with the
  person's purchase rate, follow-ups after purchases, outbound marketing;
  purposes depend on a latent satisfaction (complaints); a segment of night
  owls uses only internet channels, mostly at night; some same-purpose
  contacts through two channels within two days (channel conflicts).
- **Feedback.** NPS answers (0-10) from the latent satisfaction and the
  person's complaints, with short Korean (some English) texts from templates
  by topic and sentiment.
- **Campaign.** One randomised coupon campaign on eligible persons' primary
  accounts, 50/50 treatment/control, with a heterogeneous true effect that is
  larger for recent and frequent buyers; the truth holds the sample and
  population average effects.

Timestamps are naive local times (Asia/Seoul) written ``YYYY-MM-DD HH:MM:SS``.
Only ``numpy.random.default_rng(seed)`` (and generators spawned from it) is
used, rows are sorted on integer keys and floats are written with fixed
formats, so the same arguments give byte-identical files.

Examples
--------
>>> import tempfile
>>> from ecrm_lib.data.synth import generate
>>> with tempfile.TemporaryDirectory() as folder:
...     info = generate(folder, n_persons=200, seed=1)
>>> info["rows"]["accounts"] == info["truth"]["counts"]["accounts"]
True
>>> info["truth"]["btyd"]["time_unit"]
'weeks'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.dates import as_date

__all__ = [
    "SynthParams",
    "generate",
    "read_truth",
    "CHANNELS",
    "PURPOSES",
    "TOPICS",
    "SENTIMENTS",
    "PLACEHOLDER_EMAILS",
    "STORE_PHONE",
    "CALL_CENTRE_PHONE",
    "TRUTH_DIR",
]

CHANNELS = ("store", "phone", "mail", "email", "web", "app")
TRUTH_DIR = "truth"

_ST, _PH, _MA, _EM, _WE, _AP = range(6)
_INTERNET = np.array([False, False, False, True, True, True])
_PREFIX = np.array(["STR", "TEL", "CAT", "EML", "WEB", "APP"])
_SECONDS_PER_DAY = 86_400
_STREAMS = ("persons", "btyd", "accounts", "transactions", "contacts", "feedback", "campaign", "population", "created")


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


# ---------------------------------------------------------------------------
# reference lists
# ---------------------------------------------------------------------------

# Family names: share of the population (Statistics Korea 2015 census, rounded), romanisation, Hanja.
_FAMILY = [
    ("김", 21.5, "Kim", "金"), ("이", 14.7, "Lee", "李"), ("박", 8.4, "Park", "朴"), ("최", 4.7, "Choi", "崔"),
    ("정", 4.3, "Jung", "鄭"), ("강", 2.3, "Kang", "姜"), ("조", 2.1, "Cho", "趙"), ("윤", 2.1, "Yoon", "尹"),
    ("장", 2.0, "Jang", "張"), ("임", 1.7, "Lim", "林"), ("한", 1.5, "Han", ""), ("오", 1.5, "Oh", ""),
    ("서", 1.5, "Seo", ""), ("신", 1.4, "Shin", ""), ("권", 1.4, "Kwon", ""), ("황", 1.4, "Hwang", ""),
    ("안", 1.3, "Ahn", ""), ("송", 1.3, "Song", ""), ("전", 1.1, "Jeon", ""), ("홍", 1.1, "Hong", ""),
    ("유", 1.9, "Yoo", ""), ("고", 0.9, "Ko", ""), ("문", 0.9, "Moon", ""), ("양", 0.9, "Yang", ""),
    ("손", 0.9, "Son", ""), ("배", 0.8, "Bae", ""), ("백", 0.7, "Baek", ""), ("허", 0.6, "Heo", ""),
    ("남", 0.5, "Nam", ""), ("심", 0.5, "Shim", ""), ("노", 0.4, "Noh", ""), ("하", 0.4, "Ha", ""),
    ("곽", 0.4, "Kwak", ""), ("성", 0.4, "Sung", ""), ("차", 0.4, "Cha", ""), ("주", 0.4, "Joo", ""),
    ("우", 0.4, "Woo", ""), ("구", 0.4, "Koo", ""), ("민", 0.3, "Min", ""), ("류", 0.3, "Ryu", ""),
    ("나", 0.3, "Na", ""), ("진", 0.3, "Jin", ""), ("지", 0.3, "Ji", ""), ("엄", 0.3, "Eom", ""),
    ("채", 0.3, "Chae", ""), ("원", 0.3, "Won", ""), ("천", 0.2, "Cheon", ""), ("방", 0.2, "Bang", ""),
    ("공", 0.2, "Kong", ""), ("현", 0.2, "Hyun", ""), ("함", 0.2, "Ham", ""), ("변", 0.2, "Byun", ""),
    ("염", 0.2, "Yeom", ""), ("여", 0.2, "Yeo", ""), ("추", 0.1, "Choo", ""), ("도", 0.1, "Do", ""),
    ("소", 0.1, "So", ""), ("석", 0.1, "Seok", ""), ("남궁", 0.04, "Namgoong", ""), ("황보", 0.02, "Hwangbo", ""),
    ("선우", 0.01, "Sunwoo", ""), ("제갈", 0.01, "Jegal", ""),
]

# Given names common across birth cohorts (1950s-2010s), with romanisation; weights fall off like Zipf.
_GIVEN = [
    ("민준", "Minjun"), ("서연", "Seoyeon"), ("지훈", "Jihoon"), ("민서", "Minseo"), ("현우", "Hyunwoo"),
    ("지민", "Jimin"), ("서준", "Seojun"), ("수빈", "Subin"), ("도윤", "Doyun"), ("하은", "Haeun"),
    ("지현", "Jihyun"), ("예준", "Yejun"), ("서윤", "Seoyoon"), ("동현", "Donghyun"), ("유진", "Yujin"),
    ("성민", "Sungmin"), ("지은", "Jieun"), ("준서", "Junseo"), ("민지", "Minji"), ("시우", "Siwoo"),
    ("은지", "Eunji"), ("하준", "Hajun"), ("수진", "Sujin"), ("주원", "Juwon"), ("서현", "Seohyun"),
    ("지호", "Jiho"), ("지영", "Jiyoung"), ("준우", "Junwoo"), ("혜진", "Hyejin"), ("도현", "Dohyun"),
    ("하윤", "Hayoon"), ("건우", "Geonwoo"), ("윤서", "Yoonseo"), ("우진", "Woojin"), ("지우", "Jiwoo"),
    ("민재", "Minjae"), ("채원", "Chaewon"), ("현준", "Hyunjun"), ("수아", "Sua"), ("정우", "Jungwoo"),
    ("지아", "Jia"), ("승우", "Seungwoo"), ("지윤", "Jiyoon"), ("승현", "Seunghyun"), ("은서", "Eunseo"),
    ("준혁", "Junhyuk"), ("다은", "Daeun"), ("은우", "Eunwoo"), ("예은", "Yeeun"), ("지환", "Jihwan"),
    ("소율", "Soyul"), ("승민", "Seungmin"), ("예린", "Yerin"), ("유찬", "Yuchan"), ("미영", "Miyoung"),
    ("영호", "Youngho"), ("영희", "Younghee"), ("영수", "Youngsoo"), ("정희", "Junghee"), ("상훈", "Sanghoon"),
    ("미경", "Mikyung"), ("성호", "Sungho"), ("은정", "Eunjung"), ("정훈", "Junghoon"), ("현정", "Hyunjung"),
    ("재현", "Jaehyun"), ("수연", "Suyeon"), ("상철", "Sangcheol"), ("혜원", "Hyewon"), ("진우", "Jinwoo"),
    ("나연", "Nayeon"), ("태현", "Taehyun"), ("미숙", "Misook"), ("종민", "Jongmin"), ("경희", "Kyunghee"),
    ("광수", "Kwangsoo"), ("순자", "Soonja"), ("철수", "Cheolsoo"), ("숙자", "Sookja"), ("지유", "Jiyu"),
]

# Regions: share of population (approx.), postcode range (5-digit zone numbers), landline area code.
_REGIONS = [
    ("Seoul", 0.185, 1000, 8999, "02"), ("Busan", 0.065, 46000, 49999, "051"),
    ("Daegu", 0.046, 41000, 43999, "053"), ("Incheon", 0.057, 21000, 23999, "032"),
    ("Gwangju", 0.028, 61000, 62999, "062"), ("Daejeon", 0.028, 34000, 35999, "042"),
    ("Ulsan", 0.022, 44000, 45999, "052"), ("Sejong", 0.007, 30000, 30199, "044"),
    ("Gyeonggi", 0.262, 10000, 18999, "031"), ("Gangwon", 0.030, 24000, 26999, "033"),
    ("Chungbuk", 0.031, 27000, 29999, "043"), ("Chungnam", 0.041, 31000, 33999, "041"),
    ("Jeonbuk", 0.035, 54000, 56999, "063"), ("Jeonnam", 0.035, 57000, 60999, "061"),
    ("Gyeongbuk", 0.051, 36000, 40999, "054"), ("Gyeongnam", 0.064, 50000, 53999, "055"),
    ("Jeju", 0.013, 63000, 63644, "064"),
]

_DOMAINS = (["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "hotmail.com"],
            [0.40, 0.25, 0.12, 0.08, 0.07, 0.05, 0.03])
_WORDS = ["sunny", "happy", "blue", "moon", "star", "dream", "coffee", "rabbit", "ocean", "lucky", "tiger", "candy",
          "green", "cloud", "music", "angel", "jjang", "sky", "rose", "mint"]
PLACEHOLDER_EMAILS = ("noemail@none.com", "test@test.com")
_PLACEHOLDER_WRITTEN = {0: ["noemail@none.com", "NOEMAIL@NONE.COM"], 1: ["test@test.com", "TEST@TEST.COM"]}
STORE_PHONE = ("02-3142-7700", "0231427700")
CALL_CENTRE_PHONE = ("1588-4470", "15884470")

# Phone formats (d = 8 subscriber digits split mmmm/llll):
# 0 010-mmmm-llll, 1 010mmmmllll, 2 +82 10 mmmm llll, 3 +82-10-mmmm-llll, 4 (010) mmmm llll, 5 010 mmmm llll, 6 010.mmmm.llll
_PHONE_FORMAT_WEIGHTS = np.array([
    [0.75, 0.20, 0.00, 0.00, 0.00, 0.05, 0.00],  # store POS
    [0.10, 0.65, 0.20, 0.05, 0.00, 0.00, 0.00],  # call centre (caller id)
    [0.55, 0.00, 0.00, 0.00, 0.30, 0.10, 0.05],  # catalogue order forms
    [0.80, 0.20, 0.00, 0.00, 0.00, 0.00, 0.00],  # e-mail service
    [0.45, 0.30, 0.05, 0.10, 0.10, 0.00, 0.00],  # web form
    [0.35, 0.00, 0.55, 0.10, 0.00, 0.00, 0.00],  # app (device)
])
# E-mail written as: 0 lower, 1 UPPER, 2 Title.Case, 3 leading space, 4 trailing space, 5 both spaces + Title.
_EMAIL_STYLE_WEIGHTS = np.array([
    [0.55, 0.15, 0.15, 0.05, 0.08, 0.02],
    [0.35, 0.45, 0.10, 0.02, 0.06, 0.02],
    [0.40, 0.40, 0.10, 0.03, 0.05, 0.02],
    [0.95, 0.00, 0.05, 0.00, 0.00, 0.00],
    [0.70, 0.03, 0.17, 0.03, 0.06, 0.01],
    [0.85, 0.00, 0.10, 0.00, 0.05, 0.00],
])

# Local hour profiles (relative weights per hour 0..23).
_HOURS = {
    "store": [0] * 10 + [3, 5, 7, 8, 7, 7, 7, 8, 9, 9, 6] + [0] * 3,  # 10:00-21:00
    "office": [0] * 9 + [5, 9, 9, 4, 6, 9, 9, 8, 6] + [0] * 6,  # 09:00-18:00, lunch dip
    "web": [3, 2, 1, 0.6, 0.4, 0.5, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 9, 11, 11, 7],
    "app": [4, 2.5, 1.2, 0.7, 0.5, 0.7, 1.5, 3.5, 5, 4, 4, 4.5, 7, 5, 4, 4, 4, 5, 7, 7, 9, 12, 12, 8],
    "email": [1, 0.5, 0.2, 0.1, 0.1, 0.3, 1, 3, 6, 9, 9, 8, 6, 7, 8, 8, 7, 6, 5, 5, 5, 4, 3, 2],
    "night": [10, 9, 7, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 6, 9],
}
_PROFILE_NAMES = list(_HOURS)
_PROFILE = {k: i for i, k in enumerate(_PROFILE_NAMES)}
_CHANNEL_PROFILE = np.array([_PROFILE["store"], _PROFILE["office"], _PROFILE["office"], _PROFILE["email"],
                             _PROFILE["web"], _PROFILE["app"]])

PURPOSES = ("order_status", "product_question", "complaint", "returns", "billing", "account_change", "marketing")
_P_ORDER, _P_QUESTION, _P_COMPLAINT, _P_RETURNS, _P_BILLING, _P_ACCOUNT, _P_MARKETING = range(7)
# non-complaint purpose mix (order_status, product_question, -, returns, billing, account_change)
_FOLLOWUP_MIX = np.array([0.50, 0.10, 0.0, 0.25, 0.10, 0.05, 0.0])
_BACKGROUND_MIX = np.array([0.25, 0.35, 0.0, 0.10, 0.15, 0.15, 0.0])
_OUTBOUND_MIX = np.array([0.10, 0.0, 0.0, 0.0, 0.0, 0.05, 0.85])
_INBOUND_CHANNEL_WEIGHT = np.array([0.8, 1.0, 0.15, 0.5, 0.8, 0.8])
_OUTBOUND_CHANNEL_WEIGHT = np.array([0.0, 0.3, 0.5, 1.0, 0.0, 0.8])

CHANNEL_COSTS = [  # channel, purpose ("" = any), KRW per contact
    ("store", "", 12_000), ("phone", "", 6_000), ("mail", "", 2_500), ("email", "", 150), ("web", "", 80),
    ("app", "", 60), ("phone", "complaint", 9_000), ("store", "returns", 15_000),
]

# ---------------------------------------------------------------------------
# feedback text templates: topic -> sentiment -> sentences ({item} is filled in)
# ---------------------------------------------------------------------------
TOPICS = ("delivery", "price", "quality", "staff", "app", "returns")
SENTIMENTS = ("positive", "neutral", "negative")
_KO = {
    "delivery": {
        "positive": ["배송이 정말 빨라서 좋았어요.", "주문한 다음 날 바로 받았어요. 배송 만족합니다.",
                     "포장이 꼼꼼하고 배송도 빨랐습니다.", "{item} 배송이 예정일보다 일찍 와서 좋았어요.",
                     "새벽배송 덕분에 출근 전에 받을 수 있었어요."],
        "neutral": ["배송은 보통이었어요. 이틀 정도 걸렸습니다.", "배송은 괜찮았는데 포장이 조금 아쉬웠어요.",
                    "{item} 배송 기간이 평소보다 조금 길었어요.", "배송 조회 업데이트가 가끔 늦어요."],
        "negative": ["배송이 너무 늦어요. 일주일 넘게 걸렸습니다.", "{item} 배송 중에 상자가 찌그러져서 왔어요.",
                     "배송 조회가 안 되고 연락도 없어서 답답했어요.", "다른 주소로 배송돼서 한참 찾았습니다.",
                     "배송 예정일을 세 번이나 넘겼어요."],
    },
    "price": {
        "positive": ["가격 대비 품질이 훌륭해요.", "할인 쿠폰 덕분에 저렴하게 샀어요.",
                     "{item} 가격이 다른 곳보다 저렴해서 만족합니다.", "세일 기간에 사서 가성비 최고예요."],
        "neutral": ["가격은 적당한 편이에요.", "{item} 가격이 조금 비싼 느낌이지만 괜찮아요.",
                    "할인 폭이 예전보다 줄었네요."],
        "negative": ["가격이 너무 비싸요.", "{item} 가격이 일주일 만에 올랐어요.",
                     "쿠폰 적용이 안 돼서 비싸게 샀어요.", "배송비까지 생각하면 너무 비쌉니다."],
    },
    "quality": {
        "positive": ["{item} 품질이 아주 좋아요.", "원단이 탄탄하고 마감이 깔끔합니다.",
                     "사진이랑 똑같고 품질도 좋아요.", "오래 써도 튼튼해요. 재구매 의사 있어요."],
        "neutral": ["{item} 품질은 가격만큼이에요.", "품질은 무난한데 색상이 사진과 조금 달라요.",
                    "사이즈가 약간 작게 나온 것 같아요."],
        "negative": ["{item} 품질이 기대 이하예요.", "한 번 세탁했더니 색이 빠졌어요.",
                     "박음질이 엉망이고 실밥이 많이 나와 있어요.", "불량품이 와서 실망했습니다."],
    },
    "staff": {
        "positive": ["매장 직원분이 친절하게 안내해 주셨어요.", "상담원분이 문제를 빠르게 해결해 주셨습니다.",
                     "직원분 설명이 자세해서 좋았어요.", "고객센터 응대가 정말 친절했어요."],
        "neutral": ["직원 응대는 보통이었어요.", "상담 연결까지 시간이 좀 걸렸지만 해결은 됐어요.",
                    "매장에 직원이 적어서 조금 기다렸어요."],
        "negative": ["직원이 불친절했어요.", "고객센터 연결이 30분 넘게 안 됐어요.",
                     "상담원마다 말이 달라서 혼란스러웠습니다.", "매장 직원이 질문에 제대로 답을 못 했어요."],
    },
    "app": {
        "positive": ["앱이 편리하고 결제가 간편해요.", "앱에서 주문하기 정말 쉬워요.",
                     "앱 알림으로 할인 정보를 받아서 좋았어요.", "간편결제가 빨라서 자주 이용해요."],
        "neutral": ["앱은 괜찮은데 검색 기능이 조금 불편해요.", "앱 업데이트 후에 메뉴 위치가 바뀌어서 헷갈려요.",
                    "앱 속도가 가끔 느려요."],
        "negative": ["앱이 자꾸 튕겨요.", "결제 단계에서 앱 오류가 나서 주문을 못 했어요.",
                     "앱 로그인이 계속 풀려요.", "앱에서 장바구니가 사라졌어요."],
    },
    "returns": {
        "positive": ["반품 절차가 간단하고 환불도 빨랐어요.", "교환 신청했는데 바로 처리해 주셨어요.",
                     "{item} 사이즈 교환이 쉬워서 좋았어요."],
        "neutral": ["반품은 됐는데 환불까지 일주일 걸렸어요.", "교환 절차가 조금 복잡했어요.",
                    "반품 택배 기사님 방문이 늦었어요."],
        "negative": ["반품 신청했는데 아직도 환불이 안 됐어요.", "교환을 요청했는데 연락이 없어요.",
                     "{item} 반품 비용을 제가 내야 한다니 이해가 안 됩니다.", "환불 처리가 너무 늦어요."],
    },
}
_EN = {
    "delivery": {"positive": ["Fast delivery and neat packaging.", "My {item} arrived a day early."],
                 "neutral": ["Delivery took a bit longer than expected."],
                 "negative": ["Delivery was late and the box was damaged.", "My {item} never arrived on time."]},
    "price": {"positive": ["Great value for the price.", "Got the {item} cheaply with a coupon."],
              "neutral": ["Prices are okay."],
              "negative": ["Too expensive compared to other shops."]},
    "quality": {"positive": ["The {item} is great quality."], "neutral": ["Quality is fine for the price."],
                "negative": ["Poor quality, the {item} broke after a week."]},
    "staff": {"positive": ["The staff were very kind and helpful."], "neutral": ["Service was average."],
              "negative": ["Rude staff and a long wait at the call centre."]},
    "app": {"positive": ["The app is easy to use."], "neutral": ["The app is fine but search could be better."],
            "negative": ["The app keeps crashing at checkout."]},
    "returns": {"positive": ["Easy returns and a quick refund."], "neutral": ["The refund took a week."],
                "negative": ["Still waiting for my refund."]},
}
# topic weight multipliers per channel (rows: channels; columns: topics): no delivery in a store, app topics in the app
_TOPIC_CHANNEL_AFFINITY = np.array([
    [0.3, 1.0, 1.2, 2.0, 0.1, 1.0],  # store
    [1.0, 1.0, 0.8, 2.0, 0.2, 1.2],  # phone
    [1.3, 1.2, 1.0, 0.8, 0.1, 1.0],  # mail
    [1.0, 1.2, 1.0, 0.6, 0.5, 1.0],  # email
    [1.2, 1.0, 1.0, 0.5, 0.8, 1.0],  # web
    [1.0, 0.8, 0.8, 0.4, 3.0, 0.8],  # app
])
_ITEMS_KO = ["운동화", "원피스", "가방", "티셔츠", "청바지", "코트", "니트", "화장품", "셔츠", "모자"]
_ITEMS_EN = ["shoes", "dress", "bag", "jacket", "shirt"]
_PREFIX_KO = ["", "", "", "전반적으로 ", "이번에는 ", "솔직히 "]
_SUFFIX_KO = {
    "positive": ["", "", " 다음에도 이용할게요.", " 감사합니다.", " 추천합니다!", " ㅎㅎ"],
    "neutral": ["", "", " 참고하세요.", " 개선되면 좋겠어요."],
    "negative": ["", " 개선 부탁드립니다.", " 다시는 이용 안 할 것 같아요.", " ㅠㅠ", " 실망입니다."],
}
_TOPIC_WEIGHTS = {
    "positive": [0.20, 0.15, 0.30, 0.20, 0.10, 0.05],
    "neutral": [0.22, 0.20, 0.22, 0.12, 0.14, 0.10],
    "negative": [0.28, 0.15, 0.20, 0.12, 0.13, 0.12],
}




def _name_variants() -> np.ndarray:
    """Every way a name is written, for every (family, given) pair: rows are
    NFC, with a space, NFD, "Kim Minjun", "Minjun Kim", "KIM MINJUN", mixed scripts
    (Hanja family name + Hangul given name, else Hangul family + Latin given name)."""
    rows = [[] for _ in range(7)]
    for fam_h, _, fam_r, hanja in _FAMILY:
        for giv_h, giv_r in _GIVEN:
            rows[0].append(fam_h + giv_h)
            rows[1].append(fam_h + " " + giv_h)
            rows[2].append(unicodedata.normalize("NFD", fam_h + giv_h))
            rows[3].append(fam_r + " " + giv_r)
            rows[4].append(giv_r + " " + fam_r)
            rows[5].append((fam_r + " " + giv_r).upper())
            rows[6].append(hanja + giv_h if hanja else fam_h + " " + giv_r)
    return np.array(rows, dtype=object)


_NAME_VARIANTS = _name_variants()

# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def _probs(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x / x.sum()


def _choice_rows(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``rows`` from ``weights[rows]`` (rows of a small matrix)."""
    cum = np.cumsum(weights, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    for r in np.unique(rows):
        m = rows == r
        out[m] = np.minimum(np.searchsorted(cum[r], u[m], side="right"), weights.shape[1] - 1)
    return out


def _seconds_of_day(rng: np.random.Generator, profile: np.ndarray) -> np.ndarray:
    """A local time of day (seconds after midnight) per element, from the hour profile index given."""
    weights = np.array([_HOURS[k] for k in _PROFILE_NAMES], dtype=float)
    hour = _choice_rows(rng, weights, np.asarray(profile, dtype=np.int64))
    return hour * 3600 + rng.integers(0, 3600, size=len(hour))


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded text (object array)."""
    return np.strings.zfill(np.asarray(values, dtype=np.int64).astype(str), width).astype(object)


def _text(values: np.ndarray) -> np.ndarray:
    """Integers as text (object array)."""
    return np.asarray(values, dtype=np.int64).astype(str).astype(object)


def _cat(*parts) -> np.ndarray:
    """Element-wise concatenation of text arrays and constants (object array)."""
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return np.asarray(out).astype(object)


def _by_case(case: np.ndarray, builders: list[Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
    """``out[i] = builders[case[i]](rows)[...]``: each builder is called only on the rows of its case."""
    out = np.empty(case.size, dtype=object)
    for k, build in enumerate(builders):
        rows = np.flatnonzero(case == k)
        if rows.size:
            out[rows] = build(rows)
    return out


def _ids(prefix: str | np.ndarray, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.strings.add(np.strings.add(np.asarray(prefix, dtype=str), "-"),
                          np.strings.zfill(np.asarray(numbers, dtype=np.int64).astype(str), width)).astype(object)


def _per_group_rank(groups: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each element inside its group, by ``order_key`` (ties by position)."""
    order = np.lexsort((np.arange(len(groups)), order_key, groups))
    g = groups[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    counts = np.diff(np.r_[start, len(g)])
    rank_sorted = np.arange(len(g)) - np.repeat(start, counts)
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = rank_sorted
    return rank


def _pick_distinct_persons(rng: np.random.Generator, rows: np.ndarray, person: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` rows of ``rows``, at most one per person, chosen at random."""
    if len(rows) == 0 or k <= 0:
        return rows[:0]
    shuffled = rows[rng.permutation(len(rows))]
    _, first = np.unique(person[shuffled], return_index=True)
    keep = shuffled[np.sort(first)]
    return keep[:k]


def _weekdays_only(rng: np.random.Generator, day: np.ndarray, start_weekday: int, last_day: int) -> np.ndarray:
    """Move days that fall on a Saturday or Sunday to a random weekday of the same week (Monday-Friday).

    Near the ends of the window the next or the previous week is used, so every day stays in 0..last_day.
    """
    wd = (start_weekday + day) % 7  # Monday = 0
    weekend = wd >= 5
    out = day - wd + rng.integers(0, 5, size=day.size)
    out = np.where(out < 0, out + 7, out)
    out = np.where(out > last_day, out - 7, out)
    return np.where(weekend, out, day)


def _round_to(x: np.ndarray, step: int) -> np.ndarray:
    return (np.round(np.asarray(x) / step) * step).astype(np.int64)


def _progress(progress: Callable[[str], Any] | None, message: str) -> None:
    if progress is not None:
        progress(message)


# ---------------------------------------------------------------------------
# generative steps
# ---------------------------------------------------------------------------

@dataclass
class _Window:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Number of days in the window (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7.0


def _draw_btyd_latents(rng: np.random.Generator, n: int, P: SynthParams, window: _Window) -> dict[str, np.ndarray]:
    lam = rng.gamma(P.r, 1.0 / P.alpha, size=n)  # per week
    pdrop = np.clip(rng.beta(P.a, P.b, size=n), 1e-12, 1.0)
    nu = rng.gamma(P.gg_q, 1.0 / P.gg_gamma, size=n)  # rate of the spend distribution (1/KRW)
    t0 = rng.uniform(0.0, P.acquisition_share * window.days, size=n)  # days after the start, continuous
    return {"lam": lam, "pdrop": pdrop, "nu": nu, "t0": t0}


def _simulate_btyd(rng: np.random.Generator, lat: dict[str, np.ndarray], window: _Window) -> dict[str, np.ndarray]:
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


def _draw_persons(rng: np.random.Generator, n: int, P: SynthParams, window: _Window) -> dict[str, np.ndarray]:
    fam = rng.choice(len(_FAMILY), size=n, p=_probs([f[1] for f in _FAMILY]))
    zipf = 1.0 / np.arange(1, len(_GIVEN) + 1) ** 0.6
    giv = rng.choice(len(_GIVEN), size=n, p=_probs(zipf))
    birth_year = rng.integers(1955, 2006, size=n)
    region = rng.choice(len(_REGIONS), size=n, p=_probs([r[1] for r in _REGIONS]))
    lo = np.array([r[2] for r in _REGIONS])[region]
    hi = np.array([r[3] for r in _REGIONS])[region]
    postcode = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    phone8 = rng.choice(80_000_000, size=n, replace=False) + 20_000_000
    n_acc = rng.choice(len(P.accounts_per_person_probs), size=n, p=_probs(P.accounts_per_person_probs)) + 1
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
        giv[house_b[same]] = (giv[house_b[same]] + rng.integers(1, len(_GIVEN), size=int(same.sum()))) % len(_GIVEN)
        region[house_b] = region[house_a]
        postcode[house_b] = postcode[house_a]
        household[house_a] = np.arange(n_house)
        household[house_b] = np.arange(n_house)
    landline_num = rng.integers(2000, 9999, size=max(n_house, 1)) * 10_000 + rng.integers(0, 10_000, size=max(n_house, 1))
    lat = _draw_btyd_latents(rng, n, P, window)
    out = dict(fam=fam, giv=giv, birth_year=birth_year, region=region, postcode=postcode, phone8=phone8,
               n_acc=n_acc, satisfaction=satisfaction, has_e2=has_e2, household=household,
               house_a=house_a, house_b=house_b, landline_num=landline_num)
    out.update(lat)
    out["e1"], out["e2"] = _emails(rng, out)
    return out


def _emails(rng: np.random.Generator, per: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each person's main and second e-mail address (lower case, unique across everybody)."""
    n = len(per["fam"])
    fr = np.array([f[2].lower() for f in _FAMILY])[per["fam"]]
    gr = np.array([g[1].lower() for g in _GIVEN])[per["giv"]]
    gi = np.array([g[1][:1].lower() for g in _GIVEN])[per["giv"]]
    yy = np.strings.zfill((per["birth_year"] % 100).astype(str), 2)

    def locals_(pattern: np.ndarray) -> np.ndarray:
        num = rng.integers(1, 10_000, size=n).astype(str)
        word = np.array(_WORDS)[rng.integers(0, len(_WORDS), size=n)]
        return _by_case(pattern, [
            lambda r: _cat(gr[r], ".", fr[r]),  # minjun.kim
            lambda r: _cat(fr[r], gr[r], yy[r]),  # kimminjun92
            lambda r: _cat(gi[r], fr[r], yy[r]),  # mkim92
            lambda r: _cat(gr[r], num[r]),  # minjun1234
            lambda r: _cat(word[r], num[r]),  # sunny1234
        ])

    dom_names, dom_p = _DOMAINS
    doms = np.array(dom_names, dtype=object)
    p1 = rng.choice(5, size=n, p=[0.25, 0.25, 0.20, 0.15, 0.15])
    p2 = (p1 + rng.integers(1, 5, size=n)) % 5
    l1, l2 = locals_(p1), locals_(p2)
    d1 = doms[rng.choice(len(doms), size=n, p=_probs(dom_p))]
    d2 = doms[rng.choice(len(doms), size=n, p=_probs(dom_p))]
    local = np.concatenate([l1, l2])
    dom = np.concatenate([d1, d2])
    emails = local + "@" + dom
    for _ in range(50):
        dup = pd.Series(emails, dtype=object).duplicated().to_numpy()
        if not dup.any():
            break
        local[dup] = local[dup] + rng.integers(0, 1000, size=int(dup.sum())).astype(str).astype(object)
        emails = local + "@" + dom
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError("could not make e-mail addresses unique")
    return emails[:n], emails[n:]


def _build_accounts(rng: np.random.Generator, per: dict[str, np.ndarray], P: SynthParams) -> dict[str, Any]:
    """Accounts of every person, their raw identifiers, link basis and traps."""
    n = len(per["fam"])
    k = per["n_acc"]
    prim = rng.choice(6, size=n, p=_probs(P.primary_channel_probs))
    keys = np.log(np.asarray(P.secondary_channel_weights)) + rng.gumbel(size=(n, 6))
    keys[np.arange(n), prim] = np.inf
    order = np.argsort(-keys, axis=1, kind="stable")[:, :4]
    slot_grid = np.broadcast_to(np.arange(4), (n, 4))
    mask = slot_grid < k[:, None]
    person = np.broadcast_to(np.arange(n)[:, None], (n, 4))[mask]
    channel = order[mask]
    slot = slot_grid[mask]
    N = person.size
    is_primary = slot == 0
    prim_row = np.cumsum(k) - k
    prow = prim_row[person]

    has_email = rng.random(N) < np.asarray(P.email_presence)[channel]
    has_phone = rng.random(N) < np.asarray(P.phone_presence)[channel]
    has_post = rng.random(N) < np.asarray(P.postcode_presence)[channel]
    has_name = rng.random(N) < np.asarray(P.name_presence)[channel]
    uses_e2 = per["has_e2"][person] & ~is_primary & (rng.random(N) < P.second_email_use)

    def strong():
        se = ~is_primary & has_email & has_email[prow] & (uses_e2 == uses_e2[prow])
        sp = ~is_primary & has_phone & has_phone[prow]
        return se, sp

    se, sp = strong()
    unlinked = ~is_primary & ~se & ~sp
    force = unlinked & (rng.random(N) < P.strong_link_share)
    has_phone[force] = True
    has_phone[prow[force]] = True
    np_link = unlinked & ~force
    protected = np.zeros(N, dtype=bool)  # rows whose name + postcode must stay intact
    for rows in (np.flatnonzero(np_link), prow[np_link]):
        has_name[rows] = True
        has_post[rows] = True
        protected[rows] = True
    se, sp = strong()
    basis = np.where(is_primary, "primary", np.where(se, "email", np.where(sp, "phone", np.where(np_link, "name_postcode", "none"))))
    assert not (basis == "none").any()

    traps: dict[str, Any] = {}
    trap_of = np.full(N, "", dtype=object)
    single = (k[person] == 1) & is_primary
    in_house = per["household"][person] >= 0

    # accounts without any identifier: single-account persons outside households, offline channels
    cand = np.flatnonzero(single & ~in_house & np.isin(channel, [_ST, _PH, _MA]))
    n_noid = min(len(cand), max(2, int(round(P.no_identifier_rate * N))))
    noid = np.sort(rng.choice(cand, size=n_noid, replace=False)) if n_noid else cand[:0]
    has_email[noid] = has_phone[noid] = has_post[noid] = False
    has_name[noid] = rng.random(n_noid) < 0.7
    trap_of[noid] = "no_identifier"
    traps["accounts_without_identifier"] = int(n_noid)
    traps["accounts_without_identifier_or_name"] = int((~has_name[noid]).sum())
    free = np.ones(N, dtype=bool)
    free[noid] = False

    # unlinkable secondary accounts: an offline account that only carries the name
    cand = np.flatnonzero(~is_primary & ~protected & ~in_house & np.isin(channel, [_ST, _PH, _MA]))
    unl = cand[rng.random(cand.size) < P.unlinkable_rate]
    has_email[unl] = has_phone[unl] = has_post[unl] = False
    has_name[unl] = True
    basis[unl] = "unlinkable"
    trap_of[unl] = "unlinkable_secondary"
    free[unl] = False
    traps["unlinkable_secondary_accounts"] = int(unl.size)

    # -- names -------------------------------------------------------------
    combo = per["fam"][person] * len(_GIVEN) + per["giv"][person]
    u = rng.random(N)
    style = np.zeros(N, dtype=np.int64)  # 0 NFC, 1 with space, 2 NFD, 3 romanised, 4 mixed scripts
    style[u < P.name_space_share] = 1
    style[(u >= P.name_space_share) & (u < P.name_space_share + P.name_nfd_share)] = 2
    roman = (channel == _WE) & ~protected & (rng.random(N) < P.web_romanised_share)
    style[roman] = 3
    cand = np.flatnonzero(has_name & ~protected & (style != 3) & free)
    n_mixed = min(len(cand), max(2, int(round(P.mixed_script_rate * N))))
    mixed = rng.choice(cand, size=n_mixed, replace=False) if n_mixed else cand[:0]
    style[mixed] = 4
    roman_order = rng.choice(3, size=N, p=[0.6, 0.25, 0.15])
    variant = np.where(style == 3, 3 + roman_order, np.where(style == 4, 6, style))
    name = np.where(has_name, _NAME_VARIANTS[variant, combo], None)
    traps["names_romanised"] = int((has_name & (style == 3)).sum())
    traps["names_nfd"] = int((has_name & (style == 2)).sum())
    traps["names_with_space"] = int((has_name & (style == 1)).sum())
    traps["names_mixed_script"] = int(n_mixed)
    trap_of[mixed] = "mixed_script_name"

    # -- e-mails -----------------------------------------------------------
    base = np.where(uses_e2, per["e2"][person], per["e1"][person])
    est = _choice_rows(rng, _EMAIL_STYLE_WEIGHTS, channel)
    email = _by_case(est, [
        lambda r: base[r],
        lambda r: np.array([x.upper() for x in base[r]], dtype=object),
        lambda r: np.array([x.title() for x in base[r]], dtype=object),
        lambda r: np.array([" " + x for x in base[r]], dtype=object),
        lambda r: np.array([x + " " for x in base[r]], dtype=object),
        lambda r: np.array([" " + x.title() + " " for x in base[r]], dtype=object),
    ])
    email = np.where(has_email, email, None)
    # placeholders, at least 3 distinct persons each
    cand = np.flatnonzero(free & ~has_email & np.isin(channel, [_ST, _PH, _MA]))
    n_ph = max(6, int(round(P.placeholder_rate * len(cand))))
    chosen = _pick_distinct_persons(rng, cand, person, n_ph)
    which = np.arange(len(chosen)) % 2
    variant = rng.random(len(chosen)) < 0.25
    for w in (0, 1):
        rows = chosen[which == w]
        email[rows] = np.where(variant[which == w], _PLACEHOLDER_WRITTEN[w][1], _PLACEHOLDER_WRITTEN[w][0])
        traps[f"placeholder_email_{PLACEHOLDER_EMAILS[w]}"] = {"accounts": int(len(rows)), "persons": int(len(np.unique(person[rows])))}
    trap_of[chosen] = "placeholder_email"
    traps["placeholder_email_accounts"] = int(len(chosen))

    # -- phones ------------------------------------------------------------
    d8 = per["phone8"][person]
    mid = (d8 // 10_000).astype(str)
    last = np.strings.zfill((d8 % 10_000).astype(str), 4)
    fmt = _choice_rows(rng, _PHONE_FORMAT_WEIGHTS, channel)
    layouts = [("010-", "-"), ("010", ""), ("+82 10 ", " "), ("+82-10-", "-"), ("(010) ", " "), ("010 ", " "), ("010.", ".")]
    phone = _by_case(fmt, [
        (lambda r, a=a, b=b: _cat(a, mid[r], b, last[r])) for a, b in layouts
    ])
    phone = np.where(has_phone, phone, None)
    phone_kind = np.where(has_phone, "mobile", "")
    for label, chan, rate, numbers in (("store_phone", _ST, P.store_phone_rate, STORE_PHONE),
                                        ("call_centre_phone", _PH, P.call_centre_phone_rate, CALL_CENTRE_PHONE)):
        cand = np.flatnonzero(free & ~has_phone & (channel == chan) & (trap_of == ""))
        rows = _pick_distinct_persons(rng, cand, person, max(3, int(round(rate * len(cand)))))
        phone[rows] = np.where(rng.random(len(rows)) < 0.7, numbers[0], numbers[1])
        phone_kind[rows] = label
        trap_of[rows] = label
        traps[f"{label}_accounts"] = int(len(rows))
    # household landlines (store, phone, catalogue and web accounts): the only account of a single-account person,
    # or a non-primary account linked by e-mail
    area = np.array([r[4] for r in _REGIONS], dtype=object)
    hh = per["household"][person]
    cand_mask = free & (hh >= 0) & (single | (basis == "email")) & (trap_of == "") & np.isin(channel, [_ST, _PH, _MA, _WE])
    cand = np.flatnonzero(cand_mask)
    rows = _pick_distinct_persons(rng, cand, person, len(cand))
    ln = per["landline_num"][hh[rows]]
    code = area[per["region"][person[rows]]]
    seoul = code == "02"
    part1 = np.where(seoul, (ln // 10_000).astype(str).astype(object), (200 + (ln // 10_000) % 800).astype(str).astype(object))
    part2 = _zfill(ln % 10_000, 4)
    dashed = rng.random(len(rows)) < 0.7
    phone[rows] = np.where(dashed, code + "-" + part1 + "-" + part2, code + part1 + part2)
    phone_kind[rows] = "household_landline"
    trap_of[rows] = "household_landline"
    hh_rows = hh[rows]
    shared = np.isin(hh_rows, np.flatnonzero(np.bincount(hh_rows, minlength=len(per["house_a"])) >= 2)) if len(rows) else rows
    traps["households"] = int(len(per["house_a"]))
    traps["household_landline_accounts"] = int(len(rows))
    traps["households_with_landline_on_both_members"] = int(len(np.unique(hh_rows[shared]))) if len(rows) else 0

    # -- postcodes ---------------------------------------------------------
    pc = per["postcode"][person].copy()
    moved = ~is_primary & ~protected & free & np.isin(basis, ["email", "phone"]) & (rng.random(N) < P.moved_rate)
    region_lo = np.array([r[2] for r in _REGIONS])
    region_hi = np.array([r[3] for r in _REGIONS])
    new_region = rng.choice(len(_REGIONS), size=N, p=_probs([r[1] for r in _REGIONS]))
    new_pc = region_lo[new_region] + np.floor(rng.random(N) * (region_hi - region_lo + 1)[new_region]).astype(np.int64)
    moved &= has_post & (new_pc != pc)
    pc[moved] = new_pc[moved]
    postcode = _zfill(pc, 5)
    strip = (channel == _MA) & ~protected & free & has_post & (pc < 10_000) & (rng.random(N) < P.postcode_zero_strip_rate)
    postcode[strip] = pc[strip].astype(str).astype(object)
    postcode = np.where(has_post, postcode, None)
    traps["accounts_with_old_postcode"] = int(moved.sum())
    traps["postcodes_without_leading_zero"] = int(strip.sum())
    trap_of[moved & (trap_of == "")] = "old_postcode"
    trap_of[strip & (trap_of == "")] = "postcode_lost_leading_zero"
    traps["accounts_with_second_email"] = int((uses_e2 & has_email).sum())

    return dict(person=person, channel=channel, slot=slot, is_primary=is_primary, prim_row=prim_row, basis=basis,
                name=name, email=email, phone=phone, postcode=postcode, phone_kind=phone_kind, trap_of=trap_of,
                has_email=has_email, has_phone=has_phone, traps=traps, N=N)


def _account_ids(rng: np.random.Generator, channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Channel-prefixed account ids, numbered per channel in a random order (ids reveal nothing), and their numbers."""
    N = len(channel)
    perm = rng.permutation(N)
    num = np.empty(N, dtype=np.int64)
    num[perm] = _per_group_rank(channel[perm], np.zeros(N)) + 1
    width = max(6, len(str(int(num.max()) if N else 0)))
    return _ids(_PREFIX[channel], num, width), num


def _purchase_accounts(rng: np.random.Generator, acc: dict[str, Any], per_person: np.ndarray, P: SynthParams) -> np.ndarray:
    """Account row for each repeat purchase, from person-specific weights over the person's buying accounts."""
    n = len(acc["prim_row"])
    capable = acc["channel"] != _EM
    w = rng.gamma(1.0, size=acc["N"]) * np.where(acc["is_primary"], P.primary_account_weight, 1.0) * capable
    W = np.zeros((n, 4))
    W[acc["person"], acc["slot"]] = w
    cum = np.cumsum(W, axis=1)
    u = rng.random(per_person.size) * cum[per_person, -1]
    j = (u[:, None] > cum[per_person]).sum(axis=1)
    return acc["prim_row"][per_person] + j


def _transactions(rng: np.random.Generator, per: dict, sim: dict, acc: dict, P: SynthParams, window: _Window) -> dict[str, Any]:
    n = len(per["lam"])
    person = np.concatenate([np.arange(n), sim["owner"]])
    t = np.concatenate([per["t0"], sim["t"]])
    is_first = np.r_[np.ones(n, dtype=bool), np.zeros(sim["owner"].size, dtype=bool)]
    row = np.concatenate([acc["prim_row"], _purchase_accounts(rng, acc, sim["owner"], P)])
    day = np.minimum(np.floor(t).astype(np.int64), window.days - 1)
    chan = acc["channel"][row]
    secs = day * _SECONDS_PER_DAY + _seconds_of_day(rng, _CHANNEL_PROFILE[chan])
    spend = rng.gamma(P.gg_p, 1.0 / per["nu"][person])
    amount = np.maximum(_round_to(spend, P.amount_rounding_krw), P.amount_rounding_krw)
    quantity = 1 + rng.poisson(np.minimum(spend / 40_000.0, 6.0) * 0.5)
    # transaction ids in time order
    order = np.lexsort((row, secs))
    seq = np.empty(person.size, dtype=np.int64)
    seq[order] = np.arange(person.size) + 1
    width = max(7, len(str(person.size)))
    tid = ("T" + pd.Series(_zfill(seq, width))).to_numpy(dtype=object)
    # refunds: same account, 1-14 days later, full or half amount
    ref = np.flatnonzero(rng.random(person.size) < P.refund_rate)
    delay = rng.integers(1, 15, size=ref.size)
    partial = rng.random(ref.size) < P.refund_partial_share
    rday = day[ref] + delay
    ok = rday <= window.days - 1
    ref, rday, partial = ref[ok], rday[ok], partial[ok]
    rsecs = rday * _SECONDS_PER_DAY + _seconds_of_day(rng, _CHANNEL_PROFILE[chan[ref]])
    ramount = -np.where(partial, np.maximum(_round_to(amount[ref] / 2, P.amount_rounding_krw), P.amount_rounding_krw), amount[ref])
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
        "purchases_on_email_accounts": int((chan == _EM).sum()),
    }
    return {"tx": tx, "purchases": purchases, "info": info}


def _contacts(rng: np.random.Generator, per: dict, sim: dict, acc: dict, purchases: dict, P: SynthParams, window: _Window) -> dict[str, Any]:
    n = len(per["lam"])
    D = window.days
    start_wd = window.start.weekday()
    N = acc["N"]
    internet_row = _INTERNET[acc["channel"]]
    has_internet = np.zeros(n, dtype=bool)
    np.logical_or.at(has_internet, acc["person"], internet_row)
    share = has_internet.mean() if n else 0.0
    night_owl = has_internet & (rng.random(n) < (min(1.0, P.night_owl_share / share) if share > 0 else 0.0))
    owl_row = night_owl[acc["person"]]
    pref = rng.gamma(2.0, size=N)
    inbound_w = _INBOUND_CHANNEL_WEIGHT[acc["channel"]] * pref * np.where(owl_row, internet_row, True)
    outbound_w = _OUTBOUND_CHANNEL_WEIGHT[acc["channel"]] * np.where(owl_row, internet_row, True)

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
    purpose = _choice_rows(rng, np.vstack([_BACKGROUND_MIX, _FOLLOWUP_MIX]), in_mix)
    z = P.complaint_logit_intercept + P.complaint_logit_slope * per["satisfaction"][in_person]
    complaint = rng.random(in_person.size) < 1.0 / (1.0 + np.exp(-z))
    purpose = np.where(complaint, _P_COMPLAINT, purpose)
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
    out_purpose = _choice_rows(rng, _OUTBOUND_MIX[None, :], np.zeros(out_person.size, dtype=np.int64))

    # channel conflicts: the same purpose again through another channel within two days
    conf_cand = np.isin(purpose, [_P_COMPLAINT, _P_RETURNS, _P_ORDER, _P_BILLING]) & (rng.random(in_person.size) < P.conflict_rate)
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
    office = (chan == _PH) | (chan == _MA)
    day = np.where(office, _weekdays_only(rng, day, start_wd, D - 1), day)
    # time of day
    profile = _CHANNEL_PROFILE[chan].copy()
    owl_night = night_owl[person] & inbound & (rng.random(row.size) < P.night_owl_night_share)
    profile[owl_night] = _PROFILE["night"]
    sod = _seconds_of_day(rng, profile)
    # outbound batches: e-mail 10:00 or 19:00, app push 12:00 or 19:30, catalogue dispatch 09:00
    batch = rng.random(row.size) < 0.5
    jitter = rng.integers(0, 600, size=row.size)
    sod = np.where(~inbound & (chan == _EM), np.where(batch, 10 * 3600, 19 * 3600) + jitter, sod)
    sod = np.where(~inbound & (chan == _AP), np.where(batch, 12 * 3600, 19 * 3600 + 1800) + jitter, sod)
    sod = np.where(~inbound & (chan == _MA), 9 * 3600 + jitter, sod)
    secs = day * _SECONDS_PER_DAY + sod
    duration = np.full(row.size, np.nan)
    ph = chan == _PH
    stc = chan == _ST
    duration[ph] = rng.lognormal(np.log(5.0), 0.6, size=int(ph.sum())) * np.where(purp[ph] == _P_COMPLAINT, 1.6, 1.0) * np.where(inbound[ph], 1.0, 0.5)
    duration[stc] = rng.lognormal(np.log(8.0), 0.5, size=int(stc.sum()))
    duration = np.round(duration, 1)
    complaints = np.bincount(person[(purp == _P_COMPLAINT) & ~conflict], minlength=n)
    info = {
        "rows": int(row.size),
        "inbound": int(inbound.sum()),
        "outbound": int((~inbound).sum()),
        "purchase_followups": int(fu.sum()),
        "channel_conflict_rows": int(conflict.sum()),
        "complaints": int((purp == _P_COMPLAINT).sum()),
        "night_owls": int(night_owl.sum()),
        "night_owl_contacts": int(night_owl[person].sum()),
        "night_owl_contacts_at_night": int((night_owl[person] & ((sod < 5 * 3600) | (sod >= 21 * 3600))).sum()),
        "by_purpose": {PURPOSES[i]: int((purp == i).sum()) for i in range(len(PURPOSES))},
    }
    return {"row": row, "secs": secs, "purpose": purp, "inbound": inbound, "duration": duration, "conflict": conflict,
            "night_owl": night_owl, "complaints": complaints, "info": info}


def _feedback(rng: np.random.Generator, per: dict, acc: dict, purchases: dict, complaints: np.ndarray,
              P: SynthParams, window: _Window) -> dict[str, Any]:
    n = len(per["lam"])
    D = window.days
    sel = rng.random(purchases["person"].size) < P.survey_invite_prob * P.survey_response_prob
    tr_person = purchases["person"][sel]
    tr_row = purchases["row"][sel]
    tr_day = purchases["day"][sel] + rng.integers(1, 6, size=tr_person.size)
    ok = tr_day <= D - 1
    tr_person, tr_row, tr_day = tr_person[ok], tr_row[ok], tr_day[ok]
    rel_person = np.flatnonzero(rng.random(n) < P.relational_survey_share)
    first_day = np.ceil(per["t0"][rel_person]).astype(np.int64)
    rel_day = first_day + np.floor(rng.random(rel_person.size) * (D - first_day)).astype(np.int64)
    # relational surveys come through an internet account if the person has one, else the primary account
    W = np.zeros((n, 4))
    W[acc["person"], acc["slot"]] = _INTERNET[acc["channel"]] + 1e-9 * acc["is_primary"]
    cum = np.cumsum(W[rel_person], axis=1)
    j = (rng.random(rel_person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1)
    rel_row = acc["prim_row"][rel_person] + j
    person = np.concatenate([tr_person, rel_person])
    row = np.concatenate([tr_row, rel_row])
    day = np.concatenate([tr_day, rel_day])
    kind = np.r_[np.zeros(tr_person.size, dtype=np.int64), np.ones(rel_person.size, dtype=np.int64)]
    chan = acc["channel"][row]
    profile = np.where(chan == _AP, _PROFILE["app"], np.where(np.isin(chan, [_EM, _WE]), _PROFILE["web"], _CHANNEL_PROFILE[chan]))
    secs = day * _SECONDS_PER_DAY + _seconds_of_day(rng, profile)
    missing_time = (chan == _ST) & (rng.random(row.size) < P.feedback_missing_time_share)
    m = len(row)
    latent = (P.nps_intercept + P.nps_satisfaction_slope * per["satisfaction"][person]
              - P.nps_complaint_penalty * np.minimum(complaints[person], 3) + rng.normal(0.0, P.nps_noise_sd, size=m))
    score = np.clip(np.round(latent), 0, 10).astype(np.int64)
    sentiment = np.where(score >= 9, 0, np.where(score >= 7, 1, 2))
    flip = rng.random(m) < 0.05
    sentiment = np.where(flip, rng.integers(0, 3, size=m), sentiment)
    has_text = rng.random(m) < 0.55 + 0.03 * (10 - score)
    english = rng.random(m) < P.english_share
    tw = np.array([_TOPIC_WEIGHTS[s] for s in SENTIMENTS])[:, None, :] * _TOPIC_CHANNEL_AFFINITY[None, :, :]
    topic = _choice_rows(rng, tw.reshape(-1, len(TOPICS)), sentiment * len(CHANNELS) + chan)
    two = rng.random(m) < P.two_topic_share
    topic2 = np.where(two, (topic + rng.integers(1, len(TOPICS), size=m)) % len(TOPICS), -1)
    pii = has_text & (sentiment == 2) & (rng.random(m) < P.feedback_pii_share * 3)
    u = rng.random((m, 6))
    texts = []
    for i in range(m):
        if not has_text[i]:
            texts.append(None)
            continue
        s = SENTIMENTS[sentiment[i]]
        lib, items = (_EN, _ITEMS_EN) if english[i] else (_KO, _ITEMS_KO)
        parts = []
        for j, tp in enumerate((topic[i], topic2[i])):
            if tp < 0:
                continue
            options = lib[TOPICS[tp]][s]
            sentence = options[int(u[i, j] * len(options))]
            parts.append(sentence.replace("{item}", items[int(u[i, 2 + j] * len(items))]))
        text = " ".join(parts)
        if not english[i]:
            text = _PREFIX_KO[int(u[i, 4] * len(_PREFIX_KO))] + text + _SUFFIX_KO[s][int(u[i, 5] * len(_SUFFIX_KO[s]))]
        if pii[i]:
            d8 = int(per["phone8"][person[i]])
            contact = f"010-{d8 // 10_000}-{d8 % 10_000:04d}" if (d8 % 2 == 0) else str(per["e1"][person[i]])
            text += (" Please call me back: " if english[i] else " 연락 부탁드립니다 ") + contact
        texts.append(text)
    info = {
        "rows": int(m),
        "transactional_surveys": int(tr_person.size),
        "relational_surveys": int(rel_person.size),
        "with_text": int(has_text.sum()),
        "english_texts": int((has_text & english).sum()),
        "texts_with_personal_data": int(pii.sum()),
        "missing_timestamps": int(missing_time.sum()),
        "nps": float(100.0 * ((score >= 9).mean() - (score <= 6).mean())) if m else None,
    }
    return {"row": row, "secs": secs, "missing_time": missing_time, "score": score, "text": np.array(texts, dtype=object),
            "topic": topic, "topic2": topic2, "sentiment": sentiment, "english": english & has_text, "pii": pii, "kind": kind,
            "info": info}


def _campaign_covariates(purchase_person: np.ndarray, purchase_day: np.ndarray, n: int, t0: np.ndarray,
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


def _campaign(rng: np.random.Generator, rng_pop: np.random.Generator, per: dict, acc: dict, purchases: dict,
              P: SynthParams, window: _Window) -> dict[str, Any]:
    n = len(per["lam"])
    a_day = window.days - P.campaign_days_before_end
    if a_day <= P.campaign_min_tenure_days:
        raise ValueError(
            f"the window {window.start}..{window.end} is too short for the campaign: it needs more than "
            f"{P.campaign_days_before_end + P.campaign_min_tenure_days} days; pass an earlier start."
        )
    a_date = window.start + dt.timedelta(days=int(a_day))
    season = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
              6: "summer", 7: "summer", 8: "summer"}.get(a_date.month, "autumn")
    cid = f"{a_date.year}-{season}-coupon"
    cov = _campaign_covariates(purchases["person"], purchases["day"], n, per["t0"], a_day, P)
    who = np.flatnonzero(cov["eligible"])
    treat = rng.random(who.size) < P.campaign_treatment_share
    u = rng.random(who.size)
    y0 = u < cov["p0"][who]
    y1 = u < cov["p1"][who]
    y = np.where(treat, y1, y0)
    spend = _round_to(rng.gamma(P.gg_p, 1.0 / per["nu"][who]), P.amount_rounding_krw)
    revenue = np.where(y, np.maximum(spend, P.amount_rounding_krw), 0)
    mean_spend = P.gg_p / per["nu"][who]
    tau = cov["tau"][who]
    # population value: the same process on an independent Monte-Carlo population
    m = P.population_mc_persons
    lat = _draw_btyd_latents(rng_pop, m, P, window)
    sim = _simulate_btyd(rng_pop, lat, window)
    pp = np.concatenate([np.arange(m), sim["owner"]])
    pd_ = np.minimum(np.floor(np.concatenate([lat["t0"], sim["t"]])).astype(np.int64), window.days - 1)
    pop = _campaign_covariates(pp, pd_, m, lat["t0"], a_day, P)
    pop_tau = pop["tau"][pop["eligible"]]
    gg_mean = P.gg_p * P.gg_gamma / (P.gg_q - 1.0)
    nt, nc = int(treat.sum()), int((~treat).sum())
    info = {
        "campaign_id": cid,
        "assigned_at_local": f"{a_date.isoformat()} 09:00:00",
        "assignment": "Bernoulli per eligible person's primary account",
        "treatment_share": P.campaign_treatment_share,
        "eligibility": f"first purchase at least {P.campaign_min_tenure_days} days before assignment",
        "eligible_persons": int(who.size),
        "treatment_accounts": nt,
        "control_accounts": nc,
        "response_model": ("p0 = base_rate_intercept + base_rate_recent * recent + base_rate_per_purchase * freq; "
                           "tau = uplift_intercept + uplift_recent * recent + uplift_per_purchase * freq; "
                           f"recent = last purchase within {P.campaign_recent_days} days before assignment; "
                           f"freq = purchases in the 365 days before assignment, capped at {P.campaign_freq_cap}"),
        "true_uplift_response_sample": float(tau.mean()) if who.size else None,
        "true_uplift_response_sample_realised": float((y1.astype(int) - y0.astype(int)).mean()) if who.size else None,
        "true_uplift_response_population": float(pop_tau.mean()),
        "true_uplift_response_population_mc_se": float(pop_tau.std(ddof=1) / math.sqrt(pop_tau.size)),
        "population_mc_persons": int(m),
        "population_mc_eligible": int(pop_tau.size),
        "true_base_rate_sample": float(cov["p0"][who].mean()) if who.size else None,
        "true_base_rate_population": float(pop["p0"][pop["eligible"]].mean()),
        "true_control_rate_expected": float(cov["p0"][who][~treat].mean()) if nc else None,
        "true_treatment_rate_expected": float(cov["p1"][who][treat].mean()) if nt else None,
        "true_uplift_revenue_per_account_sample": float((tau * mean_spend).mean()) if who.size else None,
        "true_uplift_revenue_per_account_population": float(pop_tau.mean() * gg_mean),
        "revenue_note": "revenue of a response ~ the person's Gamma-Gamma spend (mean p / nu); revenue 0 without response; "
                        "campaign responses are not added to transactions.csv",
        "observed_control_rate": float(y[~treat].mean()) if nc else None,
        "observed_treatment_rate": float(y[treat].mean()) if nt else None,
        "observed_uplift_response": float(y[treat].mean() - y[~treat].mean()) if nt and nc else None,
        "observed_uplift_revenue_per_account": float(revenue[treat].mean() - revenue[~treat].mean()) if nt and nc else None,
    }
    return {"who": who, "row": acc["prim_row"][who], "treat": treat, "y": y, "revenue": revenue, "a_day": a_day,
            "cid": cid, "tau": tau, "p0": cov["p0"][who], "info": info}


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------

def _timestamps(start: dt.date, secs: np.ndarray) -> np.ndarray:
    base = np.datetime64(start.isoformat(), "s")
    return base + np.asarray(secs, dtype=np.int64).astype("timedelta64[s]")


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame whose text columns stay plain object arrays (no conversion to Arrow strings: faster to build and write)."""
    n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray | pd.Series))
    out = {}
    for k, v in columns.items():
        if isinstance(v, str):
            v = np.full(n, v, dtype=object)
        if isinstance(v, np.ndarray) and v.dtype.kind in "OU":
            v = pd.Series(v.astype(object), dtype=object)
        out[k] = v
    return pd.DataFrame(out)


def _round_sig(x: np.ndarray, digits: int = 8) -> np.ndarray:
    """Round to ``digits`` significant digits, so written files do not depend on the last bits of a float."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    nz = np.isfinite(x) & (x != 0)
    e = np.floor(np.log10(np.abs(x[nz]))).astype(np.int64) - (digits - 1)
    v = x[nz]
    up = e < 0
    res = np.empty_like(v)
    res[up] = np.round(v[up] * 10.0 ** (-e[up])) / 10.0 ** (-e[up])
    res[~up] = np.round(v[~up] / 10.0 ** e[~up]) * 10.0 ** e[~up]
    out[nz] = res
    return out


def _write(df: pd.DataFrame, path: Path, fmt: str) -> Path:
    if fmt == "parquet":
        path = path.with_suffix(".parquet")
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def _history_text(window: _Window) -> str:
    """The config's ``history_as_of``: 26 weeks before the end, when the window leaves a year before that."""
    earlier = window.end - dt.timedelta(weeks=26)
    if (earlier - window.start).days < 365:
        return ""
    return ("# The run before this one (26 weeks earlier, before the campaign): `ecrm run` publishes it first,\n"
            "# so the feedback loop can measure what happened to the customers that run selected.\n"
            f"history_as_of: [{earlier.isoformat()}]\n")


def _config_text(window: _Window, fmt: str, seed: int, n_persons: int, campaign_arm: str = "control") -> str:
    ext = "parquet" if fmt == "parquet" else "csv"
    date_fmt = "" if fmt == "parquet" else '    date_format: "%Y-%m-%d %H:%M:%S"\n'
    def src(name, table, cols, extra=""):
        mapping = ", ".join(f"{k}: {v}" for k, v in cols.items())
        return (f"  - name: {name}\n    table: {table}\n    path: {name}.{ext}\n" + (date_fmt if table != "channel_costs" else "")
                + f"    columns: {{{mapping}}}\n" + extra)
    same = lambda *c: {x: x for x in c}  # noqa: E731
    return (
        "# Embedded default data: synthetic, written by ecrm_lib.data.synth.generate\n"
        f"# (seed {seed}, {n_persons} persons, {window.start} .. {window.end}). The truth is in truth/.\n"
        "name: default\n"
        "description: Synthetic Korean multichannel retailer (store, call centre, catalogue, e-mail, web, app)\n"
        "currency: KRW\n"
        "timezone: Asia/Seoul\n"
        f"as_of: {window.end.isoformat()}\n"
        + _history_text(window)
        + "policies:\n"
        "  duplicates: drop\n"
        "  nonpositive_amounts: set_aside\n"
        "  after_as_of: set_aside\n"
        "  missing_keys: set_aside\n"
        "channel_groups:\n"
        "  traditional: [store, phone, mail]\n"
        "  internet: [email, web, app]\n"
        "sources:\n"
        + src("accounts", "accounts", same("account_id", "channel", "name", "email", "phone", "postcode", "created_at"))
        + src("transactions", "transactions", same("account_id", "timestamp", "amount", "channel", "transaction_id", "quantity"))
        + src("contacts", "contacts", same("account_id", "timestamp", "channel", "direction", "purpose", "duration_min"))
        + src("channel_costs", "channel_costs", same("channel", "purpose", "cost_per_contact"))
        + src("feedback", "feedback", same("account_id", "timestamp", "score", "score_max", "text", "channel"))
        + src("campaigns", "campaigns", same("account_id", "campaign_id", "arm", "response", "revenue", "assigned_at"),
              f"    control_arms: [{campaign_arm}]\n")
    )


def _summary(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return {}
    q = np.quantile(x, [0.1, 0.5, 0.9])
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


def _clean_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return None if not math.isfinite(v) else float(f"{v:.10g}")
    return obj


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

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
        Seed of ``numpy.random.default_rng``; the same arguments give
        byte-identical files.
    start, end : str (YYYY-MM-DD) or date
        First and last day of the observation window (local dates, both
        included). ``end`` becomes the config's ``as_of``. The window must be
        longer than about 140 days (the campaign sits 105 days before the end).
    format : {"csv", "parquet"}, default "csv"
        Format of the data files (the truth files are always CSV and JSON).
    params : SynthParams, optional
        Generator parameters; default :class:`SynthParams()`.
    progress : callable, optional
        Called with one message (str) per step.

    Returns
    -------
    dict
        ``out_dir``, ``config`` (path of config.yaml), ``files`` (table ->
        path), ``rows`` (table -> rows written), ``truth`` (the content of
        ``truth/truth.json``).

    Raises
    ------
    ValueError
        Bad ``n_persons``, ``format`` or dates.

    Notes
    -----
    Files written: ``accounts``, ``transactions``, ``contacts``,
    ``channel_costs``, ``feedback``, ``campaigns`` (``.csv`` or ``.parquet``),
    ``config.yaml``, and ``truth/persons.csv`` (account_id, person_id,
    is_primary, link_basis, trap), ``truth/person_latents.csv``,
    ``truth/feedback_labels.csv`` and ``truth/truth.json``.
    """
    P = params or SynthParams()
    if format not in ("csv", "parquet"):
        raise ValueError(f"format {format!r} is not supported; use 'csv' or 'parquet'.")
    if int(n_persons) != n_persons or n_persons < 20:
        raise ValueError(f"n_persons must be an integer of at least 20; got {n_persons!r}.")
    n = int(n_persons)
    window = _Window(as_date(start, "start"), as_date(end, "end"))
    if window.days < 2:
        raise ValueError(f"end {window.end} must come after start {window.start}.")
    out = Path(out_dir)
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    root = np.random.default_rng(seed)
    rngs = dict(zip(_STREAMS, root.spawn(len(_STREAMS))))

    _progress(progress, f"persons: drawing {n:,} persons and their latent values")
    per = _draw_persons(rngs["persons"], n, P, window)
    _progress(progress, "purchases: simulating BG/NBD repeat purchases (weeks)")
    sim = _simulate_btyd(rngs["btyd"], per, window)
    _progress(progress, "accounts: channels, identifiers as each channel writes them, traps")
    acc = _build_accounts(rngs["accounts"], per, P)
    acc_id, acc_num = _account_ids(rngs["accounts"], acc["channel"])
    _progress(progress, "transactions: channels, hours, Gamma-Gamma spend, refunds, duplicates")
    trx = _transactions(rngs["transactions"], per, sim, acc, P, window)
    _progress(progress, "contacts: service, follow-ups, marketing, night owls, channel conflicts")
    con = _contacts(rngs["contacts"], per, sim, acc, trx["purchases"], P, window)
    _progress(progress, "feedback: NPS answers and texts")
    fb = _feedback(rngs["feedback"], per, acc, trx["purchases"], con["complaints"], P, window)
    _progress(progress, "campaign: randomised assignment, responses, true uplift (with a Monte-Carlo population)")
    cam = _campaign(rngs["campaign"], rngs["population"], per, acc, trx["purchases"], P, window)

    # account creation: before the first activity on the account
    _progress(progress, "accounts: creation times")
    rc = rngs["created"]
    N = acc["N"]
    first_act = np.full(N, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_act, trx["tx"]["row"], trx["tx"]["secs"])
    np.minimum.at(first_act, con["row"], con["secs"])
    fsecs = fb["secs"][~fb["missing_time"]]
    np.minimum.at(first_act, fb["row"][~fb["missing_time"]], fsecs)
    lead = np.where(acc["is_primary"], rc.exponential(20.0, size=N), rc.exponential(3.0, size=N)) * _SECONDS_PER_DAY
    t0s = (per["t0"][acc["person"]] * _SECONDS_PER_DAY).astype(np.int64)
    idle = t0s + (rc.random(N) * (window.days * _SECONDS_PER_DAY - t0s)).astype(np.int64)
    created = np.where(first_act < np.iinfo(np.int64).max, first_act - lead.astype(np.int64), idle)
    # time of day typical of the channel, never after the first activity
    created = (created // _SECONDS_PER_DAY) * _SECONDS_PER_DAY + _seconds_of_day(rc, _CHANNEL_PROFILE[acc["channel"]])
    created = np.where(created > first_act, first_act - rc.integers(60, 900, size=N), created)

    # ---- tables ----------------------------------------------------------
    _progress(progress, "writing files")
    ch_names = np.array(CHANNELS, dtype=object)
    files: dict[str, Path] = {}
    rows: dict[str, int] = {}
    prefix_rank = np.argsort(np.argsort(_PREFIX))  # ids sort as (prefix, zero-padded number)
    a_order = np.lexsort((acc_num, prefix_rank[acc["channel"]]))
    rank_acc = np.empty(N, dtype=np.int64)
    rank_acc[a_order] = np.arange(N)
    accounts = _frame({
        "account_id": acc_id, "channel": ch_names[acc["channel"]], "name": acc["name"], "email": acc["email"],
        "phone": acc["phone"], "postcode": acc["postcode"], "created_at": _timestamps(window.start, created),
    }).iloc[a_order]
    files["accounts"] = _write(accounts, out / "accounts.csv", format)
    rows["accounts"] = len(accounts)

    tx = trx["tx"]
    t_order = np.lexsort((tx["is_refund"], tx["seq"], tx["secs"]))
    transactions = _frame({
        "transaction_id": tx["tid"], "account_id": acc_id[tx["row"]], "timestamp": _timestamps(window.start, tx["secs"]),
        "amount": tx["amount"], "quantity": tx["quantity"], "channel": ch_names[acc["channel"][tx["row"]]],
    }).iloc[t_order]
    files["transactions"] = _write(transactions, out / "transactions.csv", format)
    rows["transactions"] = len(transactions)

    c_order = np.lexsort((con["purpose"], rank_acc[con["row"]], con["secs"]))
    contacts = _frame({
        "account_id": acc_id[con["row"]], "timestamp": _timestamps(window.start, con["secs"]),
        "channel": ch_names[acc["channel"][con["row"]]], "direction": np.where(con["inbound"], "inbound", "outbound"),
        "purpose": np.array(PURPOSES, dtype=object)[con["purpose"]], "duration_min": con["duration"],
    }).iloc[c_order]
    files["contacts"] = _write(contacts, out / "contacts.csv", format)  # durations are rounded to 0.1 min
    rows["contacts"] = len(contacts)

    costs = pd.DataFrame(CHANNEL_COSTS, columns=["channel", "purpose", "cost_per_contact"]).replace({"purpose": {"": None}})
    files["channel_costs"] = _write(costs, out / "channel_costs.csv", format)
    rows["channel_costs"] = len(costs)

    big = np.iinfo(np.int64).max
    f_key = np.where(fb["missing_time"], big, fb["secs"])
    f_order = np.lexsort((rank_acc[fb["row"]], f_key))
    f_id = np.empty(len(f_order), dtype=np.int64)
    f_id[f_order] = np.arange(len(f_order)) + 1
    fid = ("F" + pd.Series(_zfill(f_id, max(6, len(str(len(f_order))))))).to_numpy(dtype=object)
    ts = pd.Series(_timestamps(window.start, fb["secs"])).where(~fb["missing_time"])
    feedback = _frame({
        "response_id": fid, "account_id": acc_id[fb["row"]], "timestamp": ts.to_numpy(),
        "channel": ch_names[acc["channel"][fb["row"]]], "score": fb["score"], "score_max": 10, "text": fb["text"],
    }).iloc[f_order]
    files["feedback"] = _write(feedback, out / "feedback.csv", format)
    rows["feedback"] = len(feedback)

    a_secs = cam["a_day"] * _SECONDS_PER_DAY + 9 * 3600
    campaigns = _frame({
        "account_id": acc_id[cam["row"]], "campaign_id": cam["cid"], "arm": np.where(cam["treat"], "treatment", "control"),
        "response": cam["y"].astype(np.int64), "revenue": cam["revenue"].astype(np.int64),
        "assigned_at": _timestamps(window.start, np.full(cam["row"].size, a_secs)),
    }).iloc[np.argsort(rank_acc[cam["row"]], kind="stable")]
    files["campaigns"] = _write(campaigns, out / "campaigns.csv", format)
    rows["campaigns"] = len(campaigns)

    cfg = out / "config.yaml"
    cfg.write_text(_config_text(window, format, seed, n), encoding="utf-8")

    # ---- truth -----------------------------------------------------------
    width = max(6, len(str(n)))
    pid = ("P" + pd.Series(_zfill(np.arange(1, n + 1), width))).to_numpy(dtype=object)
    truth_persons = _frame({
        "account_id": acc_id, "person_id": pid[acc["person"]], "is_primary": acc["is_primary"].astype(np.int64),
        "link_basis": acc["basis"], "trap": acc["trap_of"],
    }).iloc[a_order]
    truth_persons.to_csv(out / TRUTH_DIR / "persons.csv", index=False, lineterminator="\n")
    mean_spend = P.gg_p / per["nu"]
    T_weeks = (window.days - per["t0"]) / 7.0
    hh = per["household"]
    latents = _frame({
        "person_id": pid, "lambda": _round_sig(per["lam"]), "p": _round_sig(per["pdrop"]),
        "alive_at_end": sim["alive"].astype(np.int64), "mean_spend": _round_sig(mean_spend),
        "night_owl": con["night_owl"].astype(np.int64), "satisfaction": _round_sig(per["satisfaction"]),
        "first_purchase": _timestamps(window.start, (per["t0"] * _SECONDS_PER_DAY).astype(np.int64)),
        "T_weeks": _round_sig(T_weeks), "n_repeat": sim["n_rep"], "n_accounts": per["n_acc"],
        "complaints": con["complaints"],
        "household_id": np.where(hh >= 0, "H" + pd.Series(_zfill(np.maximum(hh, 0) + 1, 5)).to_numpy(dtype=object), None),
    })
    latents.to_csv(out / TRUTH_DIR / "person_latents.csv", index=False, lineterminator="\n")
    labels = _frame({
        "response_id": fid, "kind": np.where(fb["kind"] == 0, "after_purchase", "relationship"),
        "sentiment": np.array(SENTIMENTS, dtype=object)[fb["sentiment"]],
        "topic": np.where(fb["text"] != None, np.array(TOPICS, dtype=object)[fb["topic"]], None),  # noqa: E711
        "topic2": np.where((fb["topic2"] >= 0) & (fb["text"] != None), np.array(TOPICS + ("",), dtype=object)[fb["topic2"]], None),  # noqa: E711
        "language": np.where(fb["text"] == None, None, np.where(fb["english"], "en", "ko")),  # noqa: E711
        "has_personal_data": fb["pii"].astype(np.int64),
    }).iloc[f_order]
    labels.to_csv(out / TRUTH_DIR / "feedback_labels.csv", index=False, lineterminator="\n")

    k = per["n_acc"]
    true_pairs = int((k * (k - 1) // 2).sum())
    raw = pd.DataFrame({"person": acc["person"], "email": acc["email"]}).dropna()
    c = raw.groupby(["person", "email"]).size().to_numpy()
    raw_pairs = int((c * (c - 1) // 2).sum())
    basis_counts = pd.Series(acc["basis"]).value_counts().sort_index()
    gg_mean = P.gg_p * P.gg_gamma / (P.gg_q - 1.0)
    truth = {
        "generator": "ecrm_lib.data.synth.generate",
        "truth_version": 1,
        "seed": int(seed),
        "n_persons": n,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "format": format,
        "timezone": "Asia/Seoul (all timestamps are naive local times)",
        "params": P.to_dict(),
        "counts": {"persons": n, "accounts": int(N), **{f"{t}_rows": int(v) for t, v in rows.items()}},
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
            **trx["info"],
        },
        "gamma_gamma": {
            "p": P.gg_p, "q": P.gg_q, "gamma": P.gg_gamma, "currency": "KRW",
            "nu_distribution": "Gamma(shape q, rate gamma)", "spend_distribution": "Gamma(shape p, rate nu)",
            "population_mean_spend": gg_mean,
            "rounding": f"amounts rounded to {P.amount_rounding_krw} KRW, at least {P.amount_rounding_krw}",
        },
        "latents_summary": {
            "lambda_per_week": _summary(per["lam"]),
            "p": _summary(per["pdrop"]),
            "mean_spend_krw": _summary(mean_spend),
            "satisfaction": _summary(per["satisfaction"]),
            "T_weeks": _summary(T_weeks),
            "n_repeat": _summary(sim["n_rep"]),
            "alive_at_end_share": float(sim["alive"].mean()),
            "night_owls": int(con["night_owl"].sum()),
            "persons_in_households": int((hh >= 0).sum()),
        },
        "identity": {
            "persons": n,
            "accounts": int(N),
            "accounts_per_person": {str(i): int((k == i).sum()) for i in range(1, 5)},
            "true_pairs": true_pairs,
            "link_basis_note": "how each non-primary account links to the person's primary account: e-mail or mobile "
                               "after normalisation (trim, lower-case; digits with +82 -> 0), else name (NFC, no spaces) + postcode",
            "link_basis_counts": {str(kk): int(v) for kk, v in basis_counts.items()},
            "raw_email_exact_pair_recall": raw_pairs / true_pairs if true_pairs else None,
            "placeholder_emails": list(PLACEHOLDER_EMAILS),
            "store_phone": STORE_PHONE[0],
            "call_centre_phone": CALL_CENTRE_PHONE[0],
            "traps": acc["traps"],
        },
        "contacts": con["info"],
        "feedback": fb["info"],
        "campaign": cam["info"],
    }
    truth = _clean_json(truth)
    (out / TRUTH_DIR / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _progress(progress, f"done: {N:,} accounts, {rows['transactions']:,} transaction rows, {rows['contacts']:,} contacts")
    return {"out_dir": str(out), "config": str(cfg), "files": {kk: str(v) for kk, v in files.items()}, "rows": rows, "truth": truth}


def read_truth(data_dir: str | os.PathLike) -> dict[str, Any]:
    """The truth of a generated dataset (``truth/truth.json``).

    Parameters
    ----------
    data_dir : str or path-like
        The folder :func:`generate` wrote (e.g. ``data/default``).

    Returns
    -------
    dict
    """
    path = Path(data_dir) / TRUTH_DIR / "truth.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; it is written by ecrm_lib.data.synth.generate (ecrm generate --out DIR).")
    return json.loads(path.read_text(encoding="utf-8"))

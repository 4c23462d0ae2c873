"""Reference lists and constants of the generator: channels, names, regions, formats, hours, purposes, costs.

Channels are coded 0-5 in the order of :data:`CHANNELS` (``CH_STORE`` ...
``CH_APP``), contact purposes 0-6 in the order of :data:`PURPOSES`
(``P_ORDER`` ... ``P_MARKETING``). The lists hold what makes the data look
Korean: family and given names with their romanisation and Hanja
(:data:`NAME_VARIANTS`: every way each name is written), regions with their
postcode ranges and landline area codes, e-mail domains, the phone and
e-mail layouts each channel uses, the local hour profile of each channel and
the cost of a contact per channel (KRW).
"""

from __future__ import annotations

import unicodedata

import numpy as np

__all__ = [
    "CHANNELS", "TRUTH_DIR", "CH_STORE", "CH_PHONE", "CH_MAIL", "CH_EMAIL", "CH_WEB", "CH_APP", "INTERNET",
    "ID_PREFIX", "SECONDS_PER_DAY", "FAMILY_NAMES", "GIVEN_NAMES", "REGIONS", "EMAIL_DOMAINS", "EMAIL_WORDS",
    "PLACEHOLDER_EMAILS", "PLACEHOLDER_WRITTEN", "STORE_PHONE", "CALL_CENTRE_PHONE", "PHONE_FORMAT_WEIGHTS",
    "EMAIL_STYLE_WEIGHTS", "HOUR_PROFILES", "PROFILE_NAMES", "PROFILE", "CHANNEL_PROFILE", "PURPOSES", "P_ORDER",
    "P_QUESTION", "P_COMPLAINT", "P_RETURNS", "P_BILLING", "P_ACCOUNT", "P_MARKETING", "FOLLOWUP_MIX",
    "BACKGROUND_MIX", "OUTBOUND_MIX", "INBOUND_CHANNEL_WEIGHT", "OUTBOUND_CHANNEL_WEIGHT", "CHANNEL_COSTS",
    "NAME_VARIANTS",
]

CHANNELS = ("store", "phone", "mail", "email", "web", "app")
TRUTH_DIR = "truth"  # folder of the truth files, beside config.yaml

CH_STORE, CH_PHONE, CH_MAIL, CH_EMAIL, CH_WEB, CH_APP = range(6)
INTERNET = np.array([False, False, False, True, True, True])
ID_PREFIX = np.array(["STR", "TEL", "CAT", "EML", "WEB", "APP"])
SECONDS_PER_DAY = 86_400

# Family names: share of the population (Statistics Korea 2015 census, rounded), romanisation, Hanja.
FAMILY_NAMES = [
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
GIVEN_NAMES = [
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
REGIONS = [
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

EMAIL_DOMAINS = (["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "hotmail.com"],
            [0.40, 0.25, 0.12, 0.08, 0.07, 0.05, 0.03])
EMAIL_WORDS = ["sunny", "happy", "blue", "moon", "star", "dream", "coffee", "rabbit", "ocean", "lucky", "tiger", "candy",
          "green", "cloud", "music", "angel", "jjang", "sky", "rose", "mint"]
PLACEHOLDER_EMAILS = ("noemail@none.com", "test@test.com")
PLACEHOLDER_WRITTEN = {0: ["noemail@none.com", "NOEMAIL@NONE.COM"], 1: ["test@test.com", "TEST@TEST.COM"]}
STORE_PHONE = ("02-3142-7700", "0231427700")
CALL_CENTRE_PHONE = ("1588-4470", "15884470")

# Phone formats (d = 8 subscriber digits split mmmm/llll):
# 0 010-mmmm-llll, 1 010mmmmllll, 2 +82 10 mmmm llll, 3 +82-10-mmmm-llll, 4 (010) mmmm llll, 5 010 mmmm llll, 6 010.mmmm.llll
PHONE_FORMAT_WEIGHTS = np.array([
    [0.75, 0.20, 0.00, 0.00, 0.00, 0.05, 0.00],  # store POS
    [0.10, 0.65, 0.20, 0.05, 0.00, 0.00, 0.00],  # call centre (caller id)
    [0.55, 0.00, 0.00, 0.00, 0.30, 0.10, 0.05],  # catalogue order forms
    [0.80, 0.20, 0.00, 0.00, 0.00, 0.00, 0.00],  # e-mail service
    [0.45, 0.30, 0.05, 0.10, 0.10, 0.00, 0.00],  # web form
    [0.35, 0.00, 0.55, 0.10, 0.00, 0.00, 0.00],  # app (device)
])
# E-mail written as: 0 lower, 1 UPPER, 2 Title.Case, 3 leading space, 4 trailing space, 5 both spaces + Title.
EMAIL_STYLE_WEIGHTS = np.array([
    [0.55, 0.15, 0.15, 0.05, 0.08, 0.02],
    [0.35, 0.45, 0.10, 0.02, 0.06, 0.02],
    [0.40, 0.40, 0.10, 0.03, 0.05, 0.02],
    [0.95, 0.00, 0.05, 0.00, 0.00, 0.00],
    [0.70, 0.03, 0.17, 0.03, 0.06, 0.01],
    [0.85, 0.00, 0.10, 0.00, 0.05, 0.00],
])

# Local hour profiles (relative weights per hour 0..23).
HOUR_PROFILES = {
    "store": [0] * 10 + [3, 5, 7, 8, 7, 7, 7, 8, 9, 9, 6] + [0] * 3,  # 10:00-21:00
    "office": [0] * 9 + [5, 9, 9, 4, 6, 9, 9, 8, 6] + [0] * 6,  # 09:00-18:00, lunch dip
    "web": [3, 2, 1, 0.6, 0.4, 0.5, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 7, 9, 11, 11, 7],
    "app": [4, 2.5, 1.2, 0.7, 0.5, 0.7, 1.5, 3.5, 5, 4, 4, 4.5, 7, 5, 4, 4, 4, 5, 7, 7, 9, 12, 12, 8],
    "email": [1, 0.5, 0.2, 0.1, 0.1, 0.3, 1, 3, 6, 9, 9, 8, 6, 7, 8, 8, 7, 6, 5, 5, 5, 4, 3, 2],
    "night": [10, 9, 7, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 6, 9],
}
PROFILE_NAMES = list(HOUR_PROFILES)
PROFILE = {k: i for i, k in enumerate(PROFILE_NAMES)}
CHANNEL_PROFILE = np.array([PROFILE["store"], PROFILE["office"], PROFILE["office"], PROFILE["email"],
                             PROFILE["web"], PROFILE["app"]])

PURPOSES = ("order_status", "product_question", "complaint", "returns", "billing", "account_change", "marketing")
P_ORDER, P_QUESTION, P_COMPLAINT, P_RETURNS, P_BILLING, P_ACCOUNT, P_MARKETING = range(7)
# non-complaint purpose mix (order_status, product_question, -, returns, billing, account_change)
FOLLOWUP_MIX = np.array([0.50, 0.10, 0.0, 0.25, 0.10, 0.05, 0.0])
BACKGROUND_MIX = np.array([0.25, 0.35, 0.0, 0.10, 0.15, 0.15, 0.0])
OUTBOUND_MIX = np.array([0.10, 0.0, 0.0, 0.0, 0.0, 0.05, 0.85])
INBOUND_CHANNEL_WEIGHT = np.array([0.8, 1.0, 0.15, 0.5, 0.8, 0.8])
OUTBOUND_CHANNEL_WEIGHT = np.array([0.0, 0.3, 0.5, 1.0, 0.0, 0.8])

CHANNEL_COSTS = [  # channel, purpose ("" = any), KRW per contact
    ("store", "", 12_000), ("phone", "", 6_000), ("mail", "", 2_500), ("email", "", 150), ("web", "", 80),
    ("app", "", 60), ("phone", "complaint", 9_000), ("store", "returns", 15_000),
]


def _name_variants() -> np.ndarray:
    """Every way a name is written, for every (family, given) pair: rows are
    NFC, with a space, NFD, "Kim Minjun", "Minjun Kim", "KIM MINJUN", mixed scripts
    (Hanja family name + Hangul given name, else Hangul family + Latin given name)."""
    rows = [[] for _ in range(7)]
    for fam_h, _, fam_r, hanja in FAMILY_NAMES:
        for giv_h, giv_r in GIVEN_NAMES:
            rows[0].append(fam_h + giv_h)
            rows[1].append(fam_h + " " + giv_h)
            rows[2].append(unicodedata.normalize("NFD", fam_h + giv_h))
            rows[3].append(fam_r + " " + giv_r)
            rows[4].append(giv_r + " " + fam_r)
            rows[5].append((fam_r + " " + giv_r).upper())
            rows[6].append(hanja + giv_h if hanja else fam_h + " " + giv_r)
    return np.array(rows, dtype=object)


NAME_VARIANTS = _name_variants()

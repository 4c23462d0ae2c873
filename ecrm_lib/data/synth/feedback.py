"""Feedback: NPS answers (0-10) from the latent satisfaction and the person's complaints, with short Korean
(some English) texts built from templates by topic and sentiment, and their true labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ecrm_lib.data.synth.arrays import Window, choice_rows, seconds_of_day
from ecrm_lib.data.synth.params import SynthParams
from ecrm_lib.data.synth.reference import (
    CH_APP,
    CH_EMAIL,
    CH_STORE,
    CH_WEB,
    CHANNEL_PROFILE,
    CHANNELS,
    INTERNET,
    PROFILE,
    SECONDS_PER_DAY,
)

__all__ = ["TOPICS", "SENTIMENTS", "draw_feedback"]

# Text templates: topic -> sentiment -> sentences ({item} is filled in).
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


def draw_feedback(rng: np.random.Generator, per: dict, acc: dict, purchases: dict, complaints: np.ndarray,
                  P: SynthParams, window: Window) -> dict[str, Any]:
    """NPS answers after purchases (transactional) and to relationship surveys, with texts and their labels.

    ``info`` holds counts for the truth; ``promoters`` and ``detractors`` count scores 9-10 and 0-6.
    """
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
    W[acc["person"], acc["slot"]] = INTERNET[acc["channel"]] + 1e-9 * acc["is_primary"]
    cum = np.cumsum(W[rel_person], axis=1)
    j = (rng.random(rel_person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1)
    rel_row = acc["prim_row"][rel_person] + j
    person = np.concatenate([tr_person, rel_person])
    row = np.concatenate([tr_row, rel_row])
    day = np.concatenate([tr_day, rel_day])
    kind = np.r_[np.zeros(tr_person.size, dtype=np.int64), np.ones(rel_person.size, dtype=np.int64)]
    chan = acc["channel"][row]
    profile = np.where(chan == CH_APP, PROFILE["app"], np.where(np.isin(chan, [CH_EMAIL, CH_WEB]), PROFILE["web"], CHANNEL_PROFILE[chan]))
    secs = day * SECONDS_PER_DAY + seconds_of_day(rng, profile)
    missing_time = (chan == CH_STORE) & (rng.random(row.size) < P.feedback_missing_time_share)
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
    topic = choice_rows(rng, tw.reshape(-1, len(TOPICS)), sentiment * len(CHANNELS) + chan)
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
    }
    return {"row": row, "secs": secs, "missing_time": missing_time, "score": score, "text": np.array(texts, dtype=object),
            "topic": topic, "topic2": topic2, "sentiment": sentiment, "english": english & has_text, "pii": pii, "kind": kind,
            "info": info, "promoters": int((score >= 9).sum()), "detractors": int((score <= 6).sum())}

"""Words the library shows on pages, in the report language (issue 12): shipped RFM segment names, the load's
set-aside reasons and adjustments, the personal-data masks, the evaluation profile's measures and the costed
plan's whom. English pages keep today's words; user-defined names (segments, set_aside reasons) stay as written."""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.i18n import catalogue, t
from ecrm_lib.core.language import using

HANGUL = re.compile(r"[\uac00-\ud7a3]")


# ---------------------------------------------------------------- RFM segment names
def test_shipped_segment_names_are_the_catalogue_s_in_english_and_korean_on_korean_pages():
    from ecrm_lib.seef import rfm

    table = pd.read_csv(rfm.DEFAULT_SEGMENT_TABLE)
    # every shipped name has a catalogue key, and the English message is the name itself (English pages unchanged)
    assert set(table["segment"]) | {rfm.OTHER_SEGMENT} == set(rfm.SHIPPED_SEGMENTS)
    for name, descr in zip(table["segment"], table["description"]):
        assert rfm.segment_label(name) == name
        assert rfm.segment_description(name, descr) == descr
    with using("ko"):
        shown = [rfm.segment_label(n) for n in rfm.SHIPPED_SEGMENTS]
        assert all(HANGUL.search(s) and not re.search(r"[A-Za-z]", s) for s in shown), shown
        assert len(set(shown)) == len(shown)
        assert all(HANGUL.search(rfm.segment_description(n, d)) for n, d in zip(table["segment"], table["description"]))
        # the user's own segments and descriptions are data: as written
        assert rfm.segment_label("VIP Seoul") == "VIP Seoul"
        assert rfm.segment_description("Lost", "our own words") == "our own words"
        df = pd.DataFrame({"segment": ["Champions", "Gold", "Other"], "description": ["", "mine", ""], "n": [1, 2, 3]})
        out = rfm.segment_labels(df)
        assert out["segment"].tolist() == [t("rfm.segment.champions"), "Gold", "기타"]
        assert out["description"].tolist()[1] == "mine" and HANGUL.search(out["description"].tolist()[0])
        assert rfm.segment_labels(df.set_index("segment"))["n"].tolist() == [1, 2, 3]
    assert df["segment"].tolist() == ["Champions", "Gold", "Other"]  # the input is not changed


def _weights():
    return pd.DataFrame({"segment": ["Hibernating", "Champions", "Lost", "Gold Club"], "uplift": [-0.03, 0.04, -0.012, -0.04],
                         "ci_low": [-0.06, 0.01, -0.05, -0.07], "ci_high": [-0.005, 0.07, 0.027, -0.01],
                         "weight": [0.0, 1.0, 0.5, 0.0], "action": ["remove", "keep", "down-weight", "remove"],
                         "reason": ["no uplift", "uplift", "uncertain", "no uplift"],
                         "n_treatment": [300, 250, 247, 120], "n_control": [310, 240, 269, 130]})


def test_actions_name_shipped_segments_in_the_report_language():
    from ecrm_lib.report import actions

    metrics = {"feedback": {"response_uplift": 0.02, "response_uplift_ci_low": 0.005, "response_uplift_ci_high": 0.04}}
    en_do = actions.propose_actions(metrics, segment_weights=_weights())
    en_test = actions.actions_to_test(metrics, segment_weights=_weights())
    en_text = " ".join(en_do["action"]) + " ".join(en_do["figure"]) + " ".join(en_test["action"]) + " ".join(en_test["figure"])
    assert "Hibernating" in en_text and "Lost" in en_text and "Gold Club" in en_text
    with using("ko"):
        ko_do = actions.propose_actions(metrics, segment_weights=_weights())
        ko_test = actions.actions_to_test(metrics, segment_weights=_weights())
    ko_text = " ".join(ko_do["action"]) + " ".join(ko_do["figure"]) + " ".join(ko_test["action"]) + " ".join(ko_test["figure"])
    assert "휴면 고객" in ko_text and "이탈 고객" in ko_text
    assert "Hibernating" not in ko_text and "Lost" not in ko_text
    assert "Gold Club" in ko_text  # the user's segment name stays


def test_plan_display_words_whom_and_never_shows_the_product_s_english():
    from ecrm_lib.report import plan

    targets = pd.DataFrame({"customer_id": [f"c{i}" for i in range(17)],
                            "segment": ["Hibernating"] * 6 + ["Gold Club"] * 6 + ["Lost"] * 3 + [None] * 2,
                            "contact_channel": ["app"] * 17, "contact_cost": [100.0] * 17})
    effect = {"uplift": 0.02, "ci_low": 0.01, "ci_high": 0.03, "revenue_per_response": 50000.0, "rate": 0.05, "n": 1000}
    proposed = pd.concat([plan.campaign_rows(targets, effect, margin=0.3, offer_cost=None, segment_weights=_weights()),
                          plan.channel_shift_row(2_400_000, {"whatif_purpose": "order_status", "whatif_from_channel": "phone",
                                                             "whatif_to_channel": "app", "whatif_share": 0.3})],
                         ignore_index=True)
    costed = plan.costed_plan(proposed)
    # the product keeps the English codes and names
    assert set(costed["segment"]) >= {"Hibernating", "Gold Club", "other segments"}
    en = plan.plan_display(costed, "KRW")
    assert "Hibernating" in set(en.iloc[:, 1])
    with using("ko"):
        ko = plan.plan_display(costed, "KRW")
    cells = " ".join(ko.astype(str).to_numpy().ravel()) + " ".join(ko.columns)
    assert "휴면 고객" in set(ko.iloc[:, 1]) and "Gold Club" in set(ko.iloc[:, 1]) and "그 밖의 세그먼트" in set(ko.iloc[:, 1])
    english = {str(x) for c in ("action", "basis", "evidence", "check_next", "level") for x in costed[c]} | {"Hibernating", "Lost"}
    left = sorted(e for e in english if e and e in cells)
    assert not left, left


# ---------------------------------------------------------------- the load's reasons and adjustments
def _sample(template: str) -> dict:
    values = {"date": "2025-06-30", "keys": "account_id", "col": "amount", "tz": "Asia/Seoul", "enc": "euc-kr",
              "allowed": "['treatment', 'control']"}
    return {name: values[name] for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(k for k in catalogue("en") if k.startswith(("load.reason.", "load.adjustment."))))
def test_every_load_reason_reads_back_in_english_and_in_korean(key):
    from ecrm_lib.data.load import record_text

    english = t(key, **_sample(catalogue("en")[key]))
    assert record_text(english) == english  # the English page shows the load's words as recorded
    with using("ko"):
        korean = record_text(english)
        assert korean == t(key, **_sample(catalogue("en")[key])) and HANGUL.search(korean)


def test_a_real_load_s_reasons_are_worded_in_korean(tmp_path):
    """Reasons and adjustments as the load writes them (a drift of its wording fails here), the config's own
    set_aside reason as written."""
    from ecrm_lib.core.config import load_config
    from ecrm_lib.data.load import load_sources, record_text, records_in_language

    (tmp_path / "config.yaml").write_text(
        "name: load words\ncurrency: KRW\ntimezone: Asia/Seoul\nas_of: 2025-06-30\nsources:\n"
        "  - name: pos\n    table: transactions\n    path: tx.csv\n"
        "    columns: {account_id: cust, timestamp: ts, amount: amt, channel: ch, transaction_id: tid}\n"
        "    set_aside:\n      - when: \"tid == 'test'\"\n        reason: \"test purchase\"\n", encoding="utf-8")
    (tmp_path / "tx.csv").write_text(
        "cust,ts,amt,ch,tid\na1,2025-01-01 10:00:00,10000,store ,t1\na2,2025-02-01 11:00:00,\"25,000\",web,t2\n"
        "a2,2025-02-01 11:00:00,\"25,000\",web,t2\n,2025-03-05 09:30:00,8000,store,t3\na1,2025-03-05 09:30:00,-5,store,t4\n"
        "a1,2025-08-05 09:30:00,500,store,t5\na1,2025-03-06 09:30:00,500,store,test\na3,2025-03-07\n"
        "a1,03/08/2025 09:30,700,store,t6\n", encoding="utf-8")
    res = load_sources(load_config(tmp_path / "config.yaml"))
    reasons = list(res.set_aside_counts()["reason"])
    adjustments = list(res.adjustments["adjustment"])
    assert len(reasons) == 6 and len(adjustments) >= 3, (reasons, adjustments)
    assert [record_text(r) for r in reasons + adjustments] == reasons + adjustments
    with using("ko"):
        for text in reasons + adjustments:
            shown = record_text(text)
            if text == "test purchase":
                assert shown == text
            else:
                assert shown != text and HANGUL.search(shown), text
                # what stays Latin is identifiers and values (column names, dates as digits), not English words
                assert not re.search(r"\b(missing|after|duplicate|fewer|removed|read|from|values|blank)\b", shown), shown
        table = records_in_language(res.set_aside_counts())
        assert "기준일(2025년 6월 30일) 이후의 기록" in set(table["reason"]) and "test purchase" in set(table["reason"])


# ---------------------------------------------------------------- personal-data masks
def test_masks_read_in_the_report_language_on_pages_and_stay_neutral_in_data():
    from ecrm_lib.core.privacy import scrub_pii
    from ecrm_lib.report.display import show_table

    text = "연락처 010-1234-5678로 주세요, kim@example.com"
    with using("ko"):
        assert scrub_pii(text) == "연락처 [phone]로 주세요, [email]"  # products and tokens: language-neutral
        html = show_table(pd.DataFrame({"comment": [text], "n": [7]}), caption="메모 kim@example.com").to_html()
    assert "[전화번호]" in html and "[이메일]" in html and "010-1234" not in html and "example.com" not in html
    html = show_table(pd.DataFrame({"comment": [text], "n": [7]})).to_html()
    assert "[phone]" in html and "[email]" in html


# ---------------------------------------------------------------- evaluation profile
FEATURES = ["r_score", "f_score", "m_score", "clv", "churn_probability", "risk_decile", "frequency", "recency", "T",
            "monetary_value", "p_alive", "expected_purchases", "n_accounts", "n_channels", "n_purchases", "n_contacts",
            "share_purchases_app", "share_contacts_email", "cost_to_serve", "offhours_share", "internet_only"]


def test_profile_measures_are_worded_in_each_language():
    from ecrm_lib.seef import evaluation as ev
    from ecrm_lib.seef.customers import default_features

    rng = np.random.default_rng(0)
    customers = pd.DataFrame({f: rng.normal(size=40) for f in FEATURES})
    customers.insert(0, "customer_id", [f"c{i}" for i in range(40)])
    customers.loc[:9, "f_score"] += 3.0  # a clear difference for the sentence
    assert set(ev.profile_features(customers)) == set(FEATURES) == set(default_features(customers))
    for f in FEATURES:  # no snake_case for an English reader either (issue 15); channel names are data
        assert "_" not in ev.feature_label(f), (f, ev.feature_label(f))
    prof = ev.compare_groups(customers, [f"c{i}" for i in range(10)], FEATURES)
    assert "F score (purchase frequency, 1-5) (d = " in ev.clear_differences_text(prof)
    with using("ko"):
        for f in FEATURES:
            label = ev.feature_label(f)
            assert label == "CLV" or HANGUL.search(label), (f, label)
            assert "_" not in label, label
        sentence = ev.clear_differences_text(prof)
    assert "f_score" not in sentence and "F 점수" in sentence
    with using("ko"):
        assert ev.feature_label("share_contacts_email") == "email 채널 접촉 비중"  # the channel's name is data


# ---------------------------------------------------------------- "not measured" notes of the headline figures
def test_not_measured_reasons_are_the_registry_s_in_english_and_korean_on_korean_pages():
    from ecrm_lib.report import summary
    from ecrm_lib.run.registry import load_registry

    registry = load_registry()
    cat = catalogue("en")
    figures = [(h.notebook, h.key) for h in summary.HEADLINES
               if h.notebook in registry and h.key in registry.get(h.notebook).metrics]
    with_reason = {(nb, k): summary._none_reason(registry.get(nb).metrics[k]) for nb, k in figures}
    with_reason = {nk: why for nk, why in with_reason.items() if why}
    assert len(with_reason) >= 5
    for (nb, k), why in with_reason.items():
        # the English message is the registry's own words: a registry edit without the catalogue fails here
        assert cat.get(f"summary.none_reason.{nb}.{k}") == why, (nb, k, why)
    metrics = {nb: {k: None for n2, k in figures if n2 == nb} for nb, _ in figures}
    status = {nb: None for nb, _ in figures}
    en = summary.headline_table(metrics, registry, status, currency="KRW").set_index(["notebook", "key"])
    with using("ko"):
        ko = summary.headline_table(metrics, registry, status, currency="KRW").set_index(["notebook", "key"])
    for nk, why in with_reason.items():
        assert why in en.loc[nk, "note"]
        assert why not in ko.loc[nk, "note"] and HANGUL.search(ko.loc[nk, "note"]) and "등록부" not in ko.loc[nk, "note"]
        assert not re.search(r"[A-Za-z]{3,}", ko.loc[nk, "note"]), ko.loc[nk, "note"]


def test_failure_page_masks_in_the_page_language(tmp_path):
    from ecrm_lib.report.render import render_failure_page

    message = "bad value '010-1234-5678' for kim@example.com"
    with using("ko"):
        ko = render_failure_page(tmp_path / "ko.html", "선정", "ValueError", message).read_text(encoding="utf-8")
    en = render_failure_page(tmp_path / "en.html", "Selection", "ValueError", message).read_text(encoding="utf-8")
    assert "[전화번호]" in ko and "[이메일]" in ko and "010-1234" not in ko and "example.com" not in ko
    assert "[phone]" in en and "[email]" in en


def test_glossary_maps_the_shown_segment_names_to_the_table_s(tmp_path):
    from ecrm_lib.report.glossary import render_glossary_page

    with using("ko"):
        (tmp_path / "ko").mkdir()
        ko = render_glossary_page(tmp_path / "ko").read_text(encoding="utf-8")
    (tmp_path / "en").mkdir()
    en = render_glossary_page(tmp_path / "en").read_text(encoding="utf-8")
    assert "<td><strong>휴면 고객</strong></td><td>Hibernating</td>" in ko and "<td><strong>기타</strong></td><td>Other</td>" in ko
    assert "<td><strong>Hibernating</strong></td><td>Last purchase long ago" in en and "Name in the segment table" not in en

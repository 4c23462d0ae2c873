"""The channel page words the suite's own codes at display time, in both report languages (issues 12 and 15): the
customer profile's columns (``customer_channels`` keeps ``n_accounts``, ``share_purchases_web``, ...) and the rules
that stopped an identifier from joining accounts (``email_priority``, ``blocklist: emails``, ...)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from korean_text import HANGUL

from ecrm_lib.channels import profile
from ecrm_lib.channels.identity.audit import audit_words
from ecrm_lib.channels.identity.guards import GUARDS
from ecrm_lib.core.language import using

#: the columns of customer_channel_features that feature_overview lists (numbers and flags), channels as the product names them
PROFILE_COLUMNS = ["n_accounts", "n_channels", "n_purchases", "n_contacts", "share_purchases_store", "share_purchases_call_centre",
                   "share_contacts_web", "cost_to_serve", "offhours_share", "internet_only"]
#: every rule the stopped-identifier table can hold: the guards, and a blocklist hit per list (identifiers.blocklist_rules)
STOP_RULES = [*GUARDS, "blocklist: emails", "blocklist: email_local_parts", "blocklist: email_domains", "blocklist: phones",
              "blocklist: phone_patterns"]
CODE = re.compile(r"[a-z]+_[a-z_]+|^blocklist:")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_profile_columns_in_words(lang):
    with using(lang):
        words = [profile.profile_column_words(c, "KRW") for c in PROFILE_COLUMNS]
    assert not [w for w in words if CODE.search(w)], words
    assert len(set(words)) == len(words), words
    if lang == "ko":
        assert all(HANGUL.search(w) for w in words), words
        assert words[2] == "구매일 수" and words[5] == "구매 비중: call centre" and words[7] == "고객 응대 비용 (KRW)"
    else:
        assert words[2] == "purchase days" and words[5] == "share of purchases: call centre" and words[7] == "cost to serve (KRW)"


def test_profile_overview_figures_in_their_units():
    features = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "n_accounts": [1, 2, 2, 3], "n_purchases": [0, 2, 3, 9],
                             "share_purchases_web": [0.0, 0.5, 1.0, None], "cost_to_serve": [0.0, 1500.0, 12000.0, 250.4],
                             "internet_only": [True, False, False, False]})
    overview = profile.feature_overview(features)
    with using("ko"):
        shown = profile.feature_overview_display(overview, "KRW").set_index("column")
    assert shown.loc["채널 계정 수", "mean"] == "2.00" and shown.loc["구매일 수", "median"] == "2.50"
    assert shown.loc["구매 비중: web", "mean"] == "50.0%" and shown.loc["구매 비중: web", "missing_share"] == 0.25
    assert shown.loc["고객 응대 비용 (KRW)", "mean"] == "3,438" and shown.loc["인터넷 전용 고객", "mean"] == "25.0%"
    # the product and its overview keep the codes
    assert overview["column"].tolist() == ["n_accounts", "n_purchases", "share_purchases_web", "cost_to_serve", "internet_only"]
    with pytest.raises(ValueError, match="feature_overview"):
        profile.feature_overview_display(features)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_stop_rules_in_words(lang):
    table = pd.DataFrame({"rule": STOP_RULES, "kind": "phone", "domain_or_pattern": "(others)"})
    with using(lang):
        words = audit_words(table)["rule"].tolist()
    assert not [w for w in words if CODE.search(w) or w in STOP_RULES], words
    assert len(set(words)) == len(words), words
    if lang == "ko":
        assert all(HANGUL.search(w) for w in words), words
        assert words[STOP_RULES.index("email_priority")] == "서로 다른 이메일의 계정을 잇는 전화번호"
        assert words[STOP_RULES.index("blocklist: emails")] == "차단 목록: 이메일 주소"
    else:
        assert words[STOP_RULES.index("name_conflict")] == "phone joining different names"
    # a rule the catalogue does not know (a new guard) is shown as it is, not dropped
    with using(lang):
        assert audit_words(pd.DataFrame({"rule": ["new_guard", "blocklist: other_list"]}))["rule"].tolist()[0] == "new_guard"

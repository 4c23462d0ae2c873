"""The config's identity: section (issue 13 item 7): every blocking rule configurable, documented
defaults, and the report's count of stopped identifiers per rule and (masked) domain or pattern."""

from __future__ import annotations

import pandas as pd
import pytest

from ecrm_lib.channels.identity import DEFAULT_BLOCKLIST, blocklist_from, resolve_identities
from ecrm_lib.channels.identity.audit import stopped_by_rule_display
from ecrm_lib.core.config import load_config
from ecrm_lib.core.errors import ConfigError
from ecrm_lib.core.identity_settings import DEFAULT_PLACEHOLDERS, IDENTITY_GUARDS, IdentitySettings, parse_identity


def _config(tmp_path, identity_yaml: str):
    (tmp_path / "a.csv").write_text("account_id\nA\n")
    text = "name: t\nsources:\n  - {name: a, table: accounts, path: a.csv, columns: {account_id: account_id}, constants: {channel: web}}\n" + identity_yaml
    (tmp_path / "config.yaml").write_text(text)
    return load_config(tmp_path / "config.yaml")


def _accounts(rows):
    cols = ["account_id", "channel", "name", "email", "phone"]
    return pd.DataFrame(rows, columns=cols).astype("string")


def test_defaults_without_the_section_are_the_documented_ones(tmp_path):
    s = _config(tmp_path, "").identity
    assert s == IdentitySettings()
    assert (s.max_accounts_per_identifier, s.max_component_size, s.max_jamo_edits, s.max_romanised_edits) == (10, 30, 1, 2)
    assert s.guards == IDENTITY_GUARDS
    assert blocklist_from(s) == DEFAULT_BLOCKLIST
    import ecrm_lib.core.identity_settings as doc
    for domain in DEFAULT_PLACEHOLDERS["email_domains"]:
        assert domain in doc.__doc__  # the defaults are written where the section is documented


def test_config_rules_reach_the_resolution_and_the_report(tmp_path):
    cfg = _config(tmp_path, "identity:\n  blocklist:\n    email_domains: [family.kr]\n    phones: ['1588-1234']\n"
                            "  max_accounts_per_identifier: 3\n  guards: [blocklist, shared_identifier]\n")
    s = cfg.identity
    assert "family.kr" in s.blocklist["email_domains"] and "none.com" in s.blocklist["email_domains"]
    rows = [("S1", "store", "김민준", "kim@family.kr", None), ("S2", "store", "이서연", "lee@FAMILY.kr", None),
            ("S3", "store", "박지훈", "park@family.kr", None),
            ("C1", "phone", "최유진", None, "1588-1234"), ("C2", "phone", "한지민", None, "15881234"),
            ("N1", "web", "정우성", "noemail@none.com", None), ("N2", "web", "강동원", "noemail@none.com", None)]
    rows += [(f"T{i}", "phone", f"고객{i}", None, "02-555-0001") for i in range(4)]  # a number held by 4 > 3 accounts
    on = resolve_identities(_accounts(rows), probabilistic=False, blocklist=blocklist_from(s), **s.resolve_kwargs())
    assert on.n_customers == len(rows)
    by_rule = on.audit["stopped_by_rule"]
    got = {(r.rule, r.domain_or_pattern): (r.identifiers, r.accounts_holding) for r in by_rule.itertuples()}
    assert got[("blocklist: email_domains", "*@family.kr")] == (3, 3)
    assert got[("blocklist: emails", "***@none.com")] == (1, 2)
    assert [k for k in got if k[0] == "blocklist: phones"] == [("blocklist: phones", "+82******34")]
    assert got[("shared_identifier", "+8225*")] == (1, 4)
    assert not any("kim" in str(v) or "lee" in str(v) or "5550001" in str(v) for v in by_rule.to_numpy().ravel())
    # the same accounts with the defaults: the family domain and the company number link
    off = resolve_identities(_accounts(rows), probabilistic=False, guards=["blocklist", "shared_identifier"])
    assert off.n_customers < on.n_customers
    shown = stopped_by_rule_display(by_rule)
    assert set(shown["domain_or_pattern"]) == {"(others)"} and shown["identifiers"].sum() == by_rule["identifiers"].sum()


def test_replace_default_blocklist_and_errors(tmp_path):
    s = parse_identity({"blocklist": {"emails": ["x@y.kr"]}, "replace_default_blocklist": True, "max_component_size": None}, "c")
    assert s.blocklist["emails"] == ("x@y.kr",) and s.blocklist["email_domains"] == () and s.max_component_size is None
    s = parse_identity({"max_accounts_per_identifier": {"email": 3}}, "c")
    assert s.max_accounts_per_identifier == {"email": 3, "phone": 10}
    for raw, match in [({"max_accounts_per_identifier": {"fax": 3}}, "one per kind"),({"blocklist": {"faxes": ["1"]}}, "unknown list"), ({"maximum": 3}, "unknown key"),
                       ({"guards": ["blocklist", "typo"]}, "unknown guard"), ({"max_accounts_per_identifier": 1}, ">= 2"),
                       ({"max_jamo_edits": 1.5}, "whole number"), ({"blocklist": {"phone_patterns": ["("]}}, "not a regular"),
                       ({"blocklist": {"emails": "a@b.kr"}}, "list of text")]:
        with pytest.raises(ConfigError, match=match):
            parse_identity(raw, "c")
    with pytest.raises(ConfigError, match="identity"):
        _config(tmp_path, "identity:\n  max_component_size: 1\n")


def test_shared_identifier_limit_per_kind():
    rows = [(f"S{i}", "store", f"고객{i}", "family@naver.com", "02-555-0001") for i in range(4)]
    one = resolve_identities(_accounts(rows), probabilistic=False, guards=["shared_identifier"], max_accounts_per_identifier=3)
    assert one.n_customers == 4  # both held by 4 > 3 accounts
    per = resolve_identities(_accounts(rows), probabilistic=False, guards=["shared_identifier"],
                             max_accounts_per_identifier={"email": 3, "phone": 4})
    assert per.n_customers == 1 and per.audit["stopped_by_rule"][["rule", "kind"]].values.tolist() == [["shared_identifier", "email"]]
    with pytest.raises(ValueError, match="one per kind"):
        resolve_identities(_accounts(rows), max_accounts_per_identifier={"email": 1, "phone": 4})

"""Channels the config does not group (issue 13 item 5): ``ecrm validate`` lists every channel with its
group and warns about ungrouped ones; the library says how much activity is ungrouped."""

from __future__ import annotations

import re

import pandas as pd

from ecrm_lib.channels.common import channel_activity, ungrouped_activity
from ecrm_lib.run import cli

ACCOUNTS = "acct,ch\nA1,web\nA2,store\nA3,mobile_app\nA4,mobile_app\n"
# six purchases: two with their own channel mobile_app, one without a channel (its account's: mobile_app), three grouped
TX = ("acct,at,amount,ch\nA1,2025-01-02,10,web\nA2,2025-01-03,10,store\nA3,2025-01-04,10,mobile_app\n"
      "A4,2025-01-05,10,mobile_app\nA4,2025-01-06,10,\nA1,2025-01-07,10,web\n")


def _config(tmp_path, groups: str = "channel_groups:\n  traditional: [store]\n  internet: [web, email]\n"):
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "tx.csv").write_text(TX)
    text = ("name: t\ntimezone: UTC\nas_of: 2025-06-30\n" + groups + "sources:\n"
            "  - {name: crm, table: accounts, path: accounts.csv, columns: {account_id: acct, channel: ch}}\n"
            "  - {name: pos, table: transactions, path: tx.csv, date_format: '%Y-%m-%d', "
            "columns: {account_id: acct, timestamp: at, amount: amount, channel: ch}}\n")
    (tmp_path / "config.yaml").write_text(text)
    return tmp_path / "config.yaml"


def test_activity_per_channel_and_ungrouped_share():
    acc = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4"], "channel": ["web", "store", "mobile_app", "mobile_app"]})
    tx = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4", "A4", "A1"], "channel": ["web", "store", "mobile_app", "mobile_app", None, "web"]})
    act = channel_activity(acc, tx, channel_group={"traditional": ["store"], "internet": ["web"]})
    assert act[["channel", "group", "grouped", "accounts", "transactions", "contacts"]].values.tolist() == [
        ["web", "internet", True, 1, 2, 0], ["store", "traditional", True, 1, 1, 0], ["mobile_app", "other", False, 2, 3, 0]]
    un = ungrouped_activity(act)
    assert un["channels"] == ["mobile_app"] and un["transactions_rows"] == 3 and un["transactions_share"] == 0.5
    assert un["accounts_share"] == 0.5 and un["contacts_share"] is None  # no contacts: not a measured zero
    # a channel listed in a group named "other" is grouped; without groups the suite's defaults apply
    assert channel_activity(acc, channel_group={"other": ["mobile_app"], "internet": ["web", "store"]})["grouped"].all()
    assert channel_activity(acc).set_index("channel")["group"].to_dict() == {"web": "internet", "store": "traditional", "mobile_app": "other"}


def test_validate_lists_every_channel_and_warns_on_ungrouped(tmp_path, capsys):
    assert cli.main(["validate", "--config", str(_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    for channel, group in (("web", "internet"), ("store", "traditional"), ("mobile_app", "other")):
        assert re.search(rf"^\s*{channel}\s+{group}\s", out, flags=re.M), out
    assert "Warning: no channel group lists 'mobile_app'" in out
    assert "50.0% of the transactions" in out and "50.0% of the accounts" in out and "channel_groups" in out


def test_validate_without_ungrouped_channels_does_not_warn(tmp_path, capsys):
    groups = "channel_groups:\n  traditional: [store]\n  internet: [web, mobile_app]\n"
    assert cli.main(["validate", "--config", str(_config(tmp_path, groups))]) == 0
    out = capsys.readouterr().out
    assert "mobile_app" in out and "Warning" not in out


def test_ungrouped_note_names_channels_and_shares_but_no_missing_table():
    from ecrm_lib.channels.common import ungrouped_note

    acc = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4"], "channel": ["web", "store", "mobile_app", "kiosk"]})
    tx = pd.DataFrame({"account_id": ["A1", "A3", "A3", "A4"], "channel": [None] * 4})
    note = ungrouped_note(channel_activity(acc, tx, channel_group={"internet": ["web"], "traditional": ["store"]}))
    assert "mobile_app, kiosk" in note and "75.0% of purchases" in note and "50.0% of accounts" in note
    assert "contacts" not in note  # no contacts table: not a measured 0 %
    assert ungrouped_note(channel_activity(acc, channel_group={"all": ["web", "store", "mobile_app", "kiosk"]})).startswith("Every channel")

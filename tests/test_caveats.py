"""Issue 13 items 8 and 13: sentences built from figures, on edge values (0, 1, None, ties), state their caveats
and never describe 1-4 people."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ecrm_lib.report import actions, sentences, summary
from ecrm_lib.run.registry import load_registry

REG = load_registry()
ALL_RAN = {s.name: None for s in REG}


def _table(metrics):
    return summary.headline_table(metrics, REG, ALL_RAN, currency="KRW").set_index(["notebook", "key"])


def test_cost_to_serve_says_unknown_costs_count_as_zero():
    t = _table({"channel_integration": {"cost_to_serve_total": 1e6, "cost_per_customer": 10.0},
                "evaluation": {"target_net_value": 5e6}})
    for key in (("channel_integration", "cost_to_serve_total"), ("channel_integration", "cost_per_customer"),
                ("evaluation", "target_net_value")):
        assert "without a known cost count as zero" in t.loc[key, "figure"]
    para = summary.headline_paragraph(t.reset_index(), pd.DataFrame(columns=["action", "figure"]))
    assert "without a known cost count as zero" in para
    for net in (-1e6, 0.0, 2e6):
        fig = actions.propose_actions({"selection": {"n_targets": 40}, "evaluation": {"target_value_share": 0.2,
                                                                                      "target_net_value": net}}).loc[0, "figure"]
        assert "after cost to serve" in fig and "without a known cost count as zero" in fig


@pytest.mark.parametrize("n, text", [(0, "0"), (1, "fewer than 5"), (4, "fewer than 5"), (5, "5"), (None, "not available")])
def test_headline_counts_of_people_are_suppressed(n, text):
    t = _table({"customer_value": {"n_customers": n}, "selection": {"n_targets": n}})
    assert t.loc[("customer_value", "n_customers"), "value_text"] in ({text} | ({"none"} if n == 0 else set()))
    assert t.loc[("selection", "n_targets"), "value_text"] in ({text} | ({"none"} if n == 0 else set()))


def test_coverage_and_actions_never_count_1_to_4_people():
    t = _table({"feedback": {"loop_purchase_rate_diff": 0.05, "loop_n_compared": 3, "loop_n_targets": 4}})
    assert t.loc[("feedback", "loop_purchase_rate_diff"), "figure"].endswith("(fewer than 5 of fewer than 5 earlier targets compared)")
    a = actions.propose_actions({"selection": {"n_targets": 3}, "evaluation": {"target_value_share": 0.2}})
    assert not re.search(r"\b[1-4] (selected )?target customers", a.loc[0, "action"] + a.loc[0, "figure"])
    assert "fewer than 5" in a.loc[0, "action"]


def test_identifier_gap_sentence_on_edges():
    ids = pd.DataFrame({"channel": ["web", "store", "app"], "accounts": [100, 50, 3], "no_identifier": [0.0, 0.0, 0.5]})
    s = sentences.identifier_gap_sentence(ids)         # the app channel has 3 accounts: not named
    assert "highest" not in s and "app" not in s and "0.0%" not in s
    assert "a tie" in sentences.identifier_gap_sentence(ids.assign(no_identifier=[0.1, 0.1, 0.0]))
    one = sentences.identifier_gap_sentence(ids.iloc[:1].assign(no_identifier=0.2))
    assert "highest" not in one and "20.0%" in one
    assert "fewer than 5" in sentences.identifier_gap_sentence(ids.iloc[2:])
    assert "highest of any channel" in sentences.identifier_gap_sentence(ids.assign(no_identifier=[0.3, 0.1, 0.0]))


@pytest.mark.parametrize("n, bad", [(0, "For none"), (1, "For 1 "), (4, "For 4 "), (None, "For n/a")])
def test_conflict_sentence_on_edges(n, bad):
    s = sentences.channel_conflict_sentence(n)
    assert bad not in s and s[:1].isupper()
    assert ("not available because" in s) == (n is None)

"""The feedback loop across two scheduled runs: the earlier run selects, the later one follows up.

The session's shared suite execution (``suite_runs``: one generated dataset whose config has
``history_as_of``, run with ``history=True``):
the runner publishes the earlier run first, then the main run, whose feedback
notebook follows up the earlier targets and whose selection applies the weights.
The follow-up is checked against outcomes recomputed here from the raw tables.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ecrm_lib.core.config import load_config
from ecrm_lib.run.context import RunLayout

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(suite_runs):
    """The session's shared two-run execution (600 generated persons with ``history_as_of``)."""
    return suite_runs.config, suite_runs.latest


def _metrics(run_dir, notebook):
    data = json.loads(RunLayout(run_dir).metrics(notebook).read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in data["metrics"].items()}


def _product(run_dir, notebook, name):
    return pd.read_parquet(RunLayout(run_dir).product(notebook, name))


def test_the_earlier_run_is_published_first(two_runs):
    cfg, outcome = two_runs
    config = load_config(cfg)
    assert outcome.status == "ok", [r.status_text for r in outcome.results]
    assert len(outcome.history) == 1 and outcome.history[0].status == "ok"
    earlier = json.loads(RunLayout(outcome.history[0].run_dir).manifest.read_text())
    assert earlier["as_of"] == config.history_as_of[0].isoformat()
    # the earlier run has no run before it (its campaign history is the earlier campaign only): no follow-up there, a plain sentence
    m0 = _metrics(outcome.history[0].run_dir, "feedback")
    assert m0["loop_earlier_as_of"] is None and m0["loop_n_targets"] is None


def test_earlier_targets_are_matched_to_their_later_outcomes(two_runs):
    cfg, outcome = two_runs
    config = load_config(cfg)
    start, end = config.history_as_of[0], config.as_of
    earlier_dir, run_dir = outcome.history[0].run_dir, outcome.run_dir
    m = _metrics(run_dir, "feedback")
    earlier_segs = _product(earlier_dir, "selection", "customer_segments")
    assert m["loop_earlier_as_of"] == start.isoformat()
    assert m["loop_n_targets"] == int(earlier_segs["selected"].sum()) > 0
    follow = _product(run_dir, "feedback", "loop_followup")
    assert set(follow["earlier_customer_id"]) == set(earlier_segs["customer_id"])
    # recompute each earlier customer's purchases since, independently: raw transactions -> today's customer
    # through today's identity map, earlier customer -> accounts through the earlier map
    tx = pd.read_parquet(RunLayout(run_dir).canonical("transactions"))
    local = tx["timestamp"].dt.tz_convert(config.timezone).dt.date
    tx = tx.loc[(local > start) & (local <= end)]
    emap = _product(earlier_dir, "channel_integration", "account_map")
    cmap = _product(run_dir, "channel_integration", "account_map")
    per_account = tx.groupby("account_id").size()
    by_earlier = emap.assign(n=emap["account_id"].map(per_account).fillna(0)).groupby("customer_id")["n"].sum()
    by_today = cmap.assign(n=cmap["account_id"].map(per_account).fillna(0)).groupby("customer_id")["n"].sum()
    follow = follow.set_index("earlier_customer_id")
    # accounts opened after the earlier as-of date were not in the earlier run: some customers have new ids
    assert (follow["status"] == "grown").any() and (follow["status"] == "same").mean() > 0.8
    same = follow[follow["status"] == "same"]
    assert (same["purchases"] == by_earlier.reindex(same.index).astype(int)).all()
    grown = follow[follow["status"] == "grown"]
    assert (grown["customer_id"] != grown.index).all()
    assert (grown["purchases"] == by_today.reindex(grown["customer_id"]).astype(int).to_numpy()).all()
    ok = follow[follow["status"].isin(["same", "grown"])]
    assert (ok["purchased"] == (ok["purchases"] > 0)).all()
    # the comparison uses only matched targets and their comparable non-targets
    assert (ok.loc[ok["compared_as"] == "target", "selected"]).all()
    assert not ok.loc[ok["compared_as"] == "comparable non-target", "selected"].any()
    assert m["loop_n_compared"] == int((follow["compared_as"] == "target").sum())


def test_feedback_weights_reach_the_next_selection(two_runs):
    _, outcome = two_runs
    run_dir = outcome.run_dir
    weights = _product(run_dir, "feedback", "segment_weights")
    earlier_segs = _product(outcome.history[0].run_dir, "selection", "customer_segments")
    assert len(weights) and set(weights["segment"]) <= set(earlier_segs["segment"].astype(str))
    assert set(weights["action"]) <= {"keep", "down-weight", "remove"}
    m = _metrics(run_dir, "feedback")
    assert m["loop_segments_down_weighted"] == int((weights["action"] != "keep").sum())
    # removed segments hold no target of this run
    segs = _product(run_dir, "selection", "customer_segments")
    removed = set(weights.loc[weights["action"] == "remove", "segment"])
    assert not segs.loc[segs["selected"].astype(bool), "segment"].isin(removed).any()
    assert _metrics(run_dir, "selection")["segments_down_weighted"] == m["loop_segments_down_weighted"]

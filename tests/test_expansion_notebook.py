"""The SEEF expansion notebook (70_expansion) on the session's shared two-run suite execution (``suite_runs`` in
conftest), with the repository's registry entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry

REGISTRY = NOTEBOOKS_DIR / "registry.yaml"


@pytest.fixture(scope="module")
def run(suite_runs):
    view = suite_runs.view("latest")
    assert view["results"]["expansion"].status == "ok", view["results"]["expansion"].error_message
    return view


def test_entry_matches_the_notebook():
    reg = load_registry(REGISTRY)
    reg.check_against_notebooks(["expansion"])
    assert list(reg.get("expansion").products) == ["lookalikes"]


def test_expansion_scores_only_non_targets_and_prices_their_cheapest_channel(run):
    m = run["metrics"]("expansion")
    assert set(m) == set(load_registry(REGISTRY).get("expansion").metrics)
    segs = run["product"]("selection", "customer_segments")
    targets = set(segs.loc[segs["selected"].astype(bool), "customer_id"])
    la = run["product"]("expansion", "lookalikes")
    assert len(la) == len(segs) - len(targets) and not (set(la["customer_id"]) & targets)
    assert la["rank"].tolist() == list(range(1, len(la) + 1))
    assert la["score"].is_monotonic_decreasing and la["score"].between(0, 1).all()
    assert 0.5 < m["lookalike_auc"] <= 1 and m["lookalike_auc_sd"] >= 0
    exp = la.loc[la["expanded"]]
    # the value bar (the selection rule's default: one contact through the cheapest channel): nobody below it is proposed,
    # and the look-alikes it left out of the first places are counted
    below = (la["clv"] < la["cheapest_cost"]).fillna(False)
    assert (la["below_contact_cost"] == below).all() and not (exp["clv"] < exp["cheapest_cost"]).any()
    assert m["expansion_n"] == len(exp) == min(50, int((~below).sum()))
    assert exp["rank"].max() == len(exp) + m["expansion_below_contact_cost"]
    assert m["expansion_below_contact_cost"] == int((below & (la["rank"] < exp["rank"].max())).sum())
    clv = segs.set_index("customer_id")["clv"].astype(float)
    assert m["expansion_value"] == pytest.approx(clv.reindex(exp["customer_id"]).fillna(0).sum())
    assert m["expansion_value_low"] <= m["expansion_value"] <= m["expansion_value_high"]
    costs = pd.read_csv(run["data"] / "channel_costs.csv")
    general = costs.loc[costs["purpose"].isna()].set_index("channel")["cost_per_contact"].astype(float)
    priced = exp.dropna(subset=["cheapest_channel"])
    assert len(priced) and np.allclose(priced["cheapest_cost"], general.reindex(priced["cheapest_channel"]).to_numpy())
    # the cheapest channel is one the customer uses, and no channel they use is cheaper
    ch = run["product"]("channel_integration", "customer_channels").set_index("customer_id")
    for cid, chan, c in priced[["customer_id", "cheapest_channel", "cheapest_cost"]].head(20).itertuples(index=False):
        row = ch.loc[cid]
        used = {k.split("_", 2)[2] for k, v in row.items() if str(k).startswith("share_") and pd.notna(v) and v > 0}
        assert chan in used and all(general.get(u, np.inf) >= c for u in used)
    assert m["expansion_contact_cost"] == pytest.approx(exp["cheapest_cost"].sum())
    assert m["expansion_contact_cost"] <= m["expansion_contact_cost_typical"] + 1e-9 or np.isnan(m["expansion_contact_cost_typical"])
    html = (run["dir"] / "expansion.html").read_text(encoding="utf-8")
    left_out = html.split("Left out because they define the selection:")[1].split(".")[0]
    assert "clv" in left_out and "churn_probability" in left_out  # the rule's own columns never reach the model


def test_runs_within_budget(run):
    assert run["results"]["expansion"].duration_s < 30, run["results"]["expansion"].duration_s

"""The SEEF expansion notebook (70_expansion) on the session's shared two-run suite execution (``suite_runs`` in
conftest), with the repository's registry entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry

REGISTRY = NOTEBOOKS_DIR / "registry.yaml"


@pytest.fixture(scope="module")
def run(suite_runs):
    view = suite_runs.view("latest")
    assert view["results"]["expansion"].status == "ok", view["results"]["expansion"].error_message
    return view


def _profit_scores(run) -> pd.DataFrame | None:
    path = Path(run["dir"]) / "products" / "selection" / "profit_scores.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _table(html: str, caption_start: str) -> pd.DataFrame:
    """A table of the page by the start of its caption, as text cells (header row as columns)."""
    soup = BeautifulSoup(html, "html.parser")
    for cap in soup.find_all("caption"):
        if cap.get_text(" ", strip=True).startswith(caption_start):
            table = cap.find_parent("table")
            head = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")]
            rows = [[td.get_text(" ", strip=True) for td in tr.find_all(["th", "td"])] for tr in table.find("tbody").find_all("tr")]
            return pd.DataFrame([r[-len(head):] for r in rows], columns=head)
    raise AssertionError(f"no table captioned {caption_start!r}")


def _text(html: str) -> str:
    """The page's text, whitespace collapsed."""
    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def test_entry_matches_the_notebook():
    reg = load_registry(REGISTRY)
    reg.check_against_notebooks(["expansion"])
    assert list(reg.get("expansion").products) == ["lookalikes"]


def test_notebook_speaks_through_the_catalogue_only():
    """Issue 12: every sentence, caption and header through say/show/figure and expansion.* messages; no English
    built in the notebook (md, show_table, display, print, f-strings other than catalogue keys)."""
    import json
    import re

    from ecrm_lib.core.i18n import catalogue

    nb = json.loads((NOTEBOOKS_DIR / "70_expansion.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"\bmd\(|show_table\(|\bdisplay\(|\bprint\(|plt\.show", code)
    assert re.findall(r'\bf"([^"]*)"', code) and all(re.fullmatch(r"expansion\.[a-z_.]+\{\w+\}", f) for f in re.findall(r'\bf"([^"]*)"', code))
    keys = set(re.findall(r'"(expansion\.[a-z_.]+)"', code))
    for lang in ("en", "ko"):
        missing = [k for k in keys if k not in catalogue(lang) and not k.endswith(".")]
        assert not missing, (lang, missing)


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
    # the value bar's flag (the selection rule's default: one contact through the cheapest channel) on every look-alike
    below = (la["clv"] < la["cheapest_cost"]).fillna(False)
    assert (la["below_contact_cost"] == below).all()
    assert m["expansion_n"] == len(exp) and m["expansion_bar"] in ("gain", "value")
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
    # the rule's own columns never reach the model: the appendix lists them as left out
    html = (run["dir"] / "expansion.html").read_text(encoding="utf-8")
    measures = _table(html, "Measures of the customer table").set_index("Measure")["In the model"]
    # measures are worded on the page (CLV, churn probability), as the evaluation page words them
    from ecrm_lib.seef.evaluation import feature_label

    assert measures[feature_label("clv")] == measures[feature_label("churn_probability")] == "left out: defines the selection"
    assert (measures == "used").sum() >= 5 and "customer_id" not in measures.index
    assert html.index("Appendix: method") < html.index("Measures of the customer table")
    assert html.index("Appendix: method") < html.index("one row per fold")


def test_gain_bar_proposes_only_look_alikes_with_a_positive_expected_gain(run):
    """Issue 16 item 4: with campaign history (selection/profit_scores) a look-alike is proposed only where its expected
    gain after cost is above 0, the look-alike score still ranking them; without it, the value bar and one line why."""
    m = run["metrics"]("expansion")
    la = run["product"]("expansion", "lookalikes")
    ps = _profit_scores(run)
    html = (run["dir"] / "expansion.html").read_text(encoding="utf-8")
    ko = (run["dir"] / "ko" / "expansion.html").read_text(encoding="utf-8")
    if ps is None or not ps["expected_profit"].notna().any():
        assert m["expansion_bar"] == "value" and m["expansion_expected_gain"] is None
        assert "Gain bar: not available because" in _text(html)
        assert "기대 이익 기준선:" in _text(ko)
        exp = la.loc[la["expanded"]]
        assert not (exp["clv"] < exp["cheapest_cost"]).any()
        assert exp["rank"].max() == len(exp) + m["expansion_below_contact_cost"]
        pytest.skip("this run has no profit scores (no campaign history modelled): the value bar was checked instead")
    assert m["expansion_bar"] == "gain"
    # the product's own expected profit, joined here independently of the notebook's columns
    profit = ps.set_index("customer_id")["expected_profit"].astype(float).reindex(la["customer_id"]).to_numpy()
    exp_mask = la["expanded"].to_numpy()
    assert not (profit[exp_mask] <= 0).any() and not np.isnan(profit[exp_mask]).any()
    positive = np.nan_to_num(profit, nan=-1.0) > 0
    n_exp = int(exp_mask.sum())
    assert n_exp == min(50, int(positive.sum())) == m["expansion_n"]  # test_parameters' expand_n
    assert la.loc[exp_mask, "rank"].tolist() == la.loc[positive, "rank"].tolist()[:n_exp]  # still ranked by look-alike score
    last = int(la.loc[exp_mask, "rank"].max()) if n_exp else 0
    # counts add up: every look-alike up to the last proposed one is proposed or left out by the gain bar
    assert n_exp + m["expansion_gain_left_out"] == last
    assert m["expansion_gain_left_out"] == int((~positive & (la["rank"].to_numpy() < last)).sum())
    assert m["expansion_expected_gain"] == pytest.approx(profit[exp_mask].sum())
    lows = ps.set_index("customer_id")["expected_profit_low"].reindex(la.loc[exp_mask, "customer_id"])
    if lows.notna().all():
        assert m["expansion_expected_gain_low"] == pytest.approx(lows.sum())
        assert m["expansion_expected_gain_low"] <= m["expansion_expected_gain"] <= m["expansion_expected_gain_high"]
    # the comparison with the value bar (CLV at least one contact through the cheapest channel)
    vb = la["expanded_value_bar"].to_numpy()
    below = la["below_contact_cost"].to_numpy()
    assert not below[vb].any() and int(vb.sum()) == min(50, int((~below).sum()))
    assert m["expansion_value_bar_expected_gain"] == pytest.approx(np.nan_to_num(profit[vb]).sum())
    assert m["expansion_value_bar_not_positive"] == int((~(np.nan_to_num(profit[vb], nan=-1.0) > 0)).sum())
    assert m["expansion_below_contact_cost"] is None
    # the page says it, in both languages, with the comparison table
    cmp_ = _table(html, "The proposal by expected gain after cost")
    assert len(cmp_) == 2 and cmp_["Bar"].str.startswith("gain bar").iloc[0] and cmp_["Bar"].str.startswith("value bar").iloc[1]
    text = _text(html)
    assert "Gain bar." in text and "Gain bar: not available" not in text
    assert "기대 이익 기준선." in _text(ko)


def test_runs_within_budget(run):
    assert run["results"]["expansion"].duration_s < 30, run["results"]["expansion"].duration_s

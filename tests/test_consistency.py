"""Every figure two pages both show is the same figure (issue 15, consistent across pages), and the
overview and executive summary open with the 12-month revenue headline and the summary ends with the
costed plan, on the session's shared two-run suite execution (``suite_runs`` in conftest)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ecrm_lib.core.config import load_config
from ecrm_lib.core.format import format_value
from ecrm_lib.run.context import RunLayout
from ecrm_lib.value.concentration import gini, top_share

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(suite_runs):
    layout = RunLayout(suite_runs.latest.run_dir)

    def metrics(nb):
        return {k: v["value"] for k, v in json.loads(layout.metrics(nb).read_text(encoding="utf-8"))["metrics"].items()}

    def product(nb, name):
        return pd.read_parquet(layout.product(nb, name))

    def page(nb):
        html = layout.html(nb).read_text(encoding="utf-8")
        return BeautifulSoup(re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S), "html.parser")

    return {"layout": layout, "metrics": metrics, "product": product, "page": page, "config": load_config(suite_runs.config)}


def _blocks(soup):
    """The page's headings and paragraphs in order, as text."""
    return [(el.name, el.get_text(" ", strip=True).removesuffix("¶").strip())
            for el in soup.find_all(["h1", "h2", "h3", "p", "table"])]


def _headline_sentence(soup) -> str:
    for name, text in _blocks(soup):
        if name == "p" and text.startswith("Revenue in the last 12 months"):
            return text
    raise AssertionError("no revenue headline on the page")


def test_overview_and_summary_open_with_the_same_revenue_headline(run):
    m = run["metrics"]("data_overview")
    assert m["revenue_last_12m"] > 0 and m["revenue_change_12m"] is not None and m["revenue_main_driver"]
    overview, summary = run["page"]("data_overview"), run["page"]("executive_summary")
    # the overview: the headline is its first section
    heads = [t for n, t in _blocks(overview) if n == "h2"]
    assert heads[0].startswith("Revenue, customers and purchases: the last 12 months against the 12 before")
    # the summary: the headline comes before every other section
    blocks = _blocks(summary)
    first_h2 = next(i for i, (n, _) in enumerate(blocks) if n == "h2")
    at = next(i for i, (n, t) in enumerate(blocks) if n == "p" and t.startswith("Revenue in the last 12 months"))
    assert at < first_h2
    sentence = _headline_sentence(overview)
    assert sentence == _headline_sentence(summary)
    assert format_value(m["revenue_change_12m"], "relative change") in sentence
    assert "Main driver" in sentence


def test_summary_ends_with_the_costed_plan(run):
    soup = run["page"]("executive_summary")
    heads = [t for n, t in _blocks(soup) if n == "h2"]
    assert heads[-1].startswith("Appendix") and heads[-2] == "The costed plan"
    plan = run["product"]("executive_summary", "action_plan")
    m = run["metrics"]("executive_summary")
    assert m["plan_n_to_do"] == int((plan["level"] == "to do").sum()) and m["plan_n_to_do"] + m["plan_n_to_test"] == len(plan)
    assert len(plan) > 0 and (plan["return"].dropna() == (plan["value"] - plan["cost"]).dropna()).all()
    tables = soup.find_all("table")
    last = tables[-1]
    headers = [th.get_text(strip=True) for th in last.select("thead th")]
    assert "Expected return (interval)" in headers and "Evidence level" in headers
    assert len(last.select("tbody tr")) == len(plan)
    campaign = plan.loc[plan["action_key"] == "campaign", "value"]
    if len(campaign) and campaign.isna().all():
        assert "no randomised campaign was measured" in soup.get_text(" ")
    # issue 16: where Selection chose customers by incremental profit, the plan contacts them (less the holdout)
    chosen = run["product"]("selection", "profit_targets")
    if len(chosen):
        row = plan.loc[plan["action_key"] == "profit"]
        assert len(row) == 1 and "campaign" not in set(plan["action_key"])
        assert int(row["customers"].iloc[0]) == int((~chosen["holdout"].astype(bool)).sum())
    econ = run["config"].economics
    if econ.margin is None:
        assert "not available because the config gives no margin" in soup.get_text()


def test_customer_value_churn_and_cost_are_the_same_on_every_page(run):
    product, metrics = run["product"], run["metrics"]
    cv = product("customer_value", "customer_value").set_index("customer_id")
    # CLV: customer value, selection, evaluation and expansion use the same value per customer
    for nb, name in (("selection", "customer_segments"), ("evaluation", "target_value"), ("expansion", "lookalikes")):
        other = product(nb, name).set_index("customer_id")
        assert np.allclose(other["clv"], cv["clv"].reindex(other.index), rtol=1e-9, equal_nan=True), (nb, name)
    # churn scores: selection uses the churn report's scores
    risk = product("churn", "churn_risk").set_index("customer_id")
    seg = product("selection", "customer_segments").set_index("customer_id")
    assert np.allclose(seg["churn_probability"], risk["churn_probability"].reindex(seg.index), equal_nan=True)
    # concentration: the top-20 % share (customer value) and the Gini (evaluation) describe the same CLV
    assert metrics("customer_value")["top20_value_share"] == pytest.approx(top_share(cv["clv"], 0.2), rel=1e-9)
    assert metrics("evaluation")["gini_clv"] == pytest.approx(gini(cv["clv"]), rel=1e-9)
    # share of customers targeted: selection and evaluation
    assert metrics("evaluation")["target_customer_share"] == pytest.approx(metrics("selection")["target_share"], rel=1e-12)
    # cost per contact per channel: the same on the selection and expansion products as in the channel costs
    layout = run["layout"]
    costs = pd.read_parquet(layout.canonical("channel_costs"))
    base = costs.loc[costs["purpose"].isna() | (costs["purpose"].astype(str) == "")].set_index("channel")["cost_per_contact"]
    for frame, ch, cost in ((seg, "contact_channel", "contact_cost"),
                            (product("expansion", "lookalikes"), "cheapest_channel", "cheapest_cost")):
        used = frame.dropna(subset=[ch]).groupby(ch)[cost].unique()
        for channel, values in used.items():
            assert list(values) == [base[channel]], (channel, list(values), base.get(channel))


def test_churn_rate_is_the_held_out_rate_and_says_so(run):
    rate = run["metrics"]("churn")["churn_rate_validation"]
    text = format_value(rate, "share 0-1")
    summary = run["page"]("executive_summary").get_text(" ", strip=True)
    assert f"{text} of the customers held out to check the churn models" in summary
    assert text in run["page"]("churn").get_text(" ", strip=True)


def test_channel_names_are_the_data_s_names(run):
    config = run["config"]
    channels = set(pd.read_parquet(run["layout"].canonical("accounts"))["channel"].astype(str))
    named = set(re.findall(r"[a-z]+", re.search(r"\(([^)]*)\)", config.description).group(1))) - {"channels", "and"}
    assert named == channels
    index = (run["layout"].root / "index.html").read_text(encoding="utf-8")
    assert "call centre" not in index and "catalogue" not in index


def test_p_alive_is_the_chosen_model_s_on_both_pages(run):
    """The churn report's P(alive) is the customer-value report's chosen model, refitted at the as-of date on the same
    histories with the same settings: the same P(alive) per customer on both pages, whatever model was chosen, and
    the churn page names that model."""
    cv = run["product"]("customer_value", "customer_value").set_index("customer_id")
    risk = run["product"]("churn", "churn_risk").set_index("customer_id")
    chosen = run["metrics"]("customer_value")["best_model"]
    assert chosen in ("bgnbd", "pareto", "mbgnbd")
    assert run["metrics"]("churn")["purchase_model"] == chosen
    assert set(risk.index) == set(cv.index)
    assert np.allclose(risk["p_alive"], cv["p_alive"].reindex(risk.index), atol=1e-6, rtol=0)
    label = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD", "mbgnbd": "MBG/NBD"}[chosen]
    text = run["page"]("churn").get_text(" ", strip=True)
    assert f"comes from {label} , the purchase model the Customer value report chose" in text

"""The SEEF evaluation (60_evaluation) notebook on the session's shared two-run suite execution
(``suite_runs`` in conftest: the whole suite on 600 generated persons, with its earlier run), with the
repository's registry entries. The expansion notebook's tests are in test_expansion_notebook.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.seef import evaluation as ev
from ecrm_lib.seef.customers import customer_view
from ecrm_lib.value.concentration import gini
from ecrm_lib.core.paths import NOTEBOOKS_DIR
from ecrm_lib.run.registry import load_registry

NOTEBOOKS = ["evaluation"]


@pytest.fixture(scope="module")
def registry_path() -> Path:
    return NOTEBOOKS_DIR / "registry.yaml"


def checked(view: dict) -> dict:
    for name in ["selection", *NOTEBOOKS]:
        r = view["results"][name]
        assert r.status == "ok", (name, r.error_type, r.error_message)
    return view


@pytest.fixture(scope="module")
def run(suite_runs):
    """The latest run (it has an earlier run)."""
    return checked(suite_runs.view("latest"))


@pytest.fixture(scope="module")
def first(suite_runs):
    """The earlier run: the first of its config, so it has no earlier run of its own."""
    return checked(suite_runs.view("earlier"))


def test_entry_matches_the_notebook(registry_path):
    reg = load_registry(registry_path)
    reg.check_against_notebooks(NOTEBOOKS)
    assert list(reg.get("evaluation").products) == ["target_value"]


def test_evaluation_figures_follow_from_the_products(run, registry_path):
    m = run["metrics"]("evaluation")
    assert set(m) == set(load_registry(registry_path).get("evaluation").metrics)
    segs = run["product"]("selection", "customer_segments")
    flag = segs["selected"].astype(bool)
    clv = segs["clv"].astype(float).fillna(0.0)
    assert 0 < flag.sum() < len(segs)
    assert m["target_value_share"] == pytest.approx(clv[flag].sum() / clv.sum())
    assert m["target_customer_share"] == pytest.approx(flag.mean())
    assert 0 < m["gini_clv"] < 1 and m["gini_clv"] == pytest.approx(gini(segs["clv"].astype(float)))
    # the channel notebook's test window (6 months) is what gets scaled to the 52-week CLV horizon
    assert m["cost_window_weeks"] == pytest.approx(26.0)
    tv = run["product"]("evaluation", "target_value")
    assert set(tv["customer_id"]) == set(segs.loc[flag, "customer_id"])
    channels = run["product"]("channel_integration", "customer_channels").set_index("customer_id")
    cost = channels.reindex(tv["customer_id"])["cost_to_serve"].fillna(0.0).to_numpy()
    assert np.allclose(tv["expected_cost"], cost * 52 / 26)
    assert m["target_net_value"] == pytest.approx((tv["clv"] - tv["expected_cost"]).sum())
    assert m["share_unprofitable_targets"] == pytest.approx((tv["net_value"] <= 0).mean())
    assert "Gini coefficient of CLV is" in (run["dir"] / "evaluation.html").read_text(encoding="utf-8")


def test_the_first_run_says_it_has_no_earlier_run(first):
    m = first["metrics"]("evaluation")
    assert m["targets_entered"] is None and m["targets_left"] is None
    assert "There is no earlier run" in (first["dir"] / "evaluation.html").read_text(encoding="utf-8")


def test_the_second_run_counts_who_entered_and_left(run, first):
    """The latest run's changes add up to the two runs' target lists: entered - left is the change in size (who stayed
    is matched through the accounts both runs share, so the counts themselves are checked on a hand-made run below)."""
    m = run["metrics"]("evaluation")
    now, before = len(run["product"]("selection", "targets")), len(first["product"]("selection", "targets"))
    assert 0 <= m["targets_entered"] <= now and 0 <= m["targets_left"] <= before
    assert m["targets_entered"] - m["targets_left"] == now - before


def test_cost_to_serve_covers_the_window_it_is_scaled_from(run):
    """Issue 15 item 1: the per-customer cost that Evaluation scales as the channel report's window (6 test months)
    must add up to that report's cost_to_serve_total, not to every contact since the data began."""
    from ecrm_lib.core.format import format_number

    ch_m = run["metrics"]("channel_integration")
    channels = run["product"]("channel_integration", "customer_channels")
    total = ch_m["cost_to_serve_total"]
    assert total > 0 and channels["cost_to_serve"].sum() == pytest.approx(total, rel=1e-12)
    segs = run["product"]("selection", "customer_segments")
    evaluated = channels.set_index("customer_id")["cost_to_serve"].reindex(segs["customer_id"]).fillna(0.0).sum()
    assert evaluated <= total + 1e-6
    html = (run["dir"] / "evaluation.html").read_text(encoding="utf-8")
    m = run["metrics"]("evaluation")
    as_of = json.loads((run["dir"] / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    assert f"the last 6 months of the channel report to {as_of} (26 weeks)" in html
    assert f"their contacts cost {format_number(evaluated, 'KRW')}" in html and format_number(total, "KRW") in html
    assert "Warning" not in html and m["cost_window_weeks"] == 26.0


def test_profile_sentence_names_every_clear_difference(run):
    """Issue 15 item 5: every measure with |d| >= 0.5 in the profile table is named, not the first four."""
    import html as html_lib
    import re

    segs = run["product"]("selection", "customer_segments")
    customers = customer_view(segs, run["product"]("customer_value", "customer_value"),
                                   run["product"]("channel_integration", "customer_channels"))
    flag = customers["selected"].astype(bool).to_numpy()
    prof = ev.compare_groups(customers, flag, ev.profile_features(customers))
    clear = prof.loc[prof["std_difference"].abs() >= 0.5, "feature"].tolist()
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", (run["dir"] / "evaluation.html").read_text(encoding="utf-8")))
    sentence = re.search(r"(\d+ measures? differs? clearly|No measure differs clearly)[^\n]*", text).group(0)
    assert sentence.startswith(f"{len(clear)} measure" if clear else "No measure")
    assert [f for f in prof["feature"] if f"{ev.feature_label(f)} (d = " in sentence] == clear


def test_runs_within_budget(run):
    r = run["results"]
    assert r["evaluation"].duration_s < 30, r["evaluation"].duration_s


def test_changes_since_an_earlier_run_go_through_the_accounts(run, tmp_path):
    """A hand-made earlier run of the same config: 5 targets are new, 7 earlier ones left, and one
    staying target had another customer id then (its accounts were one customer with another id)."""
    import datetime as dt
    import shutil

    import papermill as pm

    src = run["dir"].resolve()
    out = tmp_path / "reports"  # copies, so that the shared run's folder stays as it was
    current = out / "20990101T000000Z-current"
    earlier = out / "20000101T000000Z-earlier"
    for d in (current, earlier):
        shutil.copytree(src, d)
        info = json.loads((d / "run.json").read_text(encoding="utf-8"))  # the copies' runs are the ones beside them
        info.update(runs_dir=str(out), previous_run=None)
        (d / "run.json").write_text(json.dumps(info), encoding="utf-8")
    manifest = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(run_id=earlier.name, as_of=(dt.date.fromisoformat(manifest["as_of"]) - dt.timedelta(days=182)).isoformat())
    (earlier / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    segs = run["product"]("selection", "customer_segments")
    now = segs.loc[segs["selected"].astype(bool)].sort_values("rank")["customer_id"].astype(str).tolist()
    others = segs.loc[~segs["selected"].astype(bool), "customer_id"].astype(str).tolist()
    renamed = now[-1]
    prev = [*now[5:-1], "Cearlier0001", *others[:7]]
    pd.DataFrame({"customer_id": prev, "rank": range(1, len(prev) + 1)}).to_parquet(
        earlier / "products" / "selection" / "targets.parquet", index=False)
    amap = pd.read_parquet(earlier / "products" / "channel_integration" / "account_map.parquet")
    amap["customer_id"] = amap["customer_id"].astype("string").replace({renamed: "Cearlier0001"})
    amap.to_parquet(earlier / "products" / "channel_integration" / "account_map.parquet", index=False)

    pm.execute_notebook(str(NOTEBOOKS_DIR / "60_evaluation.ipynb"), str(tmp_path / "evaluation.ipynb"),
                        parameters={"run_dir": str(current)}, kernel_name="python3", progress_bar=False)
    m = {k: v["value"] for k, v in json.loads((current / "metrics" / "evaluation.json").read_text(encoding="utf-8"))["metrics"].items()}
    assert (m["targets_entered"], m["targets_left"]) == (5, 7)  # the renamed customer stayed
    text = (tmp_path / "evaluation.ipynb").read_text(encoding="utf-8")
    assert f"**{len(now) - 5:,}** stayed" in text and "fewer than 5 earlier targets have a new id today" in text

"""One P(alive) across pages whatever purchase model the customer-value report chose (issue 15): the shared suite
run's data choose BG/NBD, so the churn report is run here with the customer-value report restricted to Pareto/NBD,
on small generated data, and its P(alive) must equal the customer-value report's per customer.

MBG/NBD goes through the same notebook code (the model's name is a parameter of it); that its churn scores give the
customer-value report's P(alive) is checked for all three models on CDNOW in ``test_churn_purchase.py``, without a
second run of four notebooks here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.data.synth import generate
from ecrm_lib.run.runner import run_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("churn-chosen")
    generate(folder / "data", n_persons=300, seed=5)
    return folder


@pytest.mark.parametrize("model,label", [("pareto", "Pareto/NBD")])
def test_churn_p_alive_is_the_customer_value_model_s(data, model, label):
    out = run_suite(data / "data" / "config.yaml", out_dir=data / model, notebooks=["churn"], test_params=True,
                    parameters={"customer_value": {"models": [model]}}, progress=None)
    assert out.status == "ok", [r.status_text() for r in out.results]
    run = data / model / "latest"
    metrics = {k: v["value"] for k, v in json.loads((run / "metrics" / "churn.json").read_text(encoding="utf-8"))["metrics"].items()}
    assert metrics["purchase_model"] == model
    cv = pd.read_parquet(run / "products" / "customer_value" / "customer_value.parquet").set_index("customer_id")
    risk = pd.read_parquet(run / "products" / "churn" / "churn_risk.parquet").set_index("customer_id")
    assert set(cv["model"]) == {model} and set(risk.index) == set(cv.index)
    assert np.allclose(risk["p_alive"], cv["p_alive"].reindex(risk.index), atol=1e-6, rtol=0)
    html = (run / "churn.html").read_text(encoding="utf-8")
    assert f"<strong>{label}</strong>, the purchase model the Customer value report chose" in html
    assert f"{label}: P(no purchase in window)" in html and f"{label}: 1 - P(alive)" in html

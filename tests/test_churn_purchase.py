"""The churn report's purchase model (ecrm_lib.value.churn_purchase): the window probability of each
model against an independent Monte-Carlo integral over the model's posterior, and the choice that
follows the customer-value report (BG/NBD when it is missing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.language import using
from ecrm_lib.core.paths import lifetimes_datasets_dir
from ecrm_lib.value import btyd
from ecrm_lib.value.churn_purchase import PurchaseModel, chosen_purchase_model, no_purchase_probability


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")


def _pareto_monte_carlo(par, x, tx, T, t, n=400_000, seed=3):
    """P(alive) and P(no purchase in (T, T+t]) by simulation from the Pareto/NBD prior, weighted by the history's likelihood."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(par["r"], 1 / par["alpha"], n)
    mu = rng.gamma(par["s"], 1 / par["beta"], n)
    # likelihood of the history: alive at T, or died in (tx, T]
    alive = lam**x * np.exp(-(lam + mu) * T)
    dead = lam**x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
    quiet_alive = mu / (lam + mu) + lam / (lam + mu) * np.exp(-(lam + mu) * t)  # no purchase before dying or before T+t
    z = (alive + dead).mean()
    return alive.mean() / z, (alive * quiet_alive + dead).mean() / z


def test_pareto_window_probability_matches_monte_carlo(cdnow):
    fit = btyd.fit_btyd(cdnow, "pareto")
    par = fit.params
    rows = cdnow.iloc[[0, 1, 5, 20, 100]]
    p_alive = btyd.predict_purchases(fit, rows)["p_alive"].to_numpy()
    p0 = no_purchase_probability("pareto", par, p_alive, rows["frequency"], rows["T"], 26.0)
    for i, (x, tx, T) in enumerate(rows[["frequency", "recency", "T"]].itertuples(index=False)):
        pa_mc, p0_mc = _pareto_monte_carlo(par, x, tx, T, 26.0)
        assert p_alive[i] == pytest.approx(pa_mc, abs=0.01), i
        assert p0[i] == pytest.approx(p0_mc, abs=0.01), i
    # a Pareto/NBD customer can also leave during the window: never less likely to stay quiet than without drop-out
    no_dropout = 1 - p_alive * -np.expm1((par["r"] + rows["frequency"].to_numpy()) *
                                         np.log((par["alpha"] + rows["T"].to_numpy()) / (par["alpha"] + rows["T"].to_numpy() + 26.0)))
    assert (p0 >= no_dropout - 1e-12).all() and (p0 > no_dropout + 1e-4).any()


def test_mbgnbd_window_probability_matches_monte_carlo(cdnow):
    fit = btyd.fit_btyd(cdnow, "mbgnbd")
    par = fit.params
    rows = cdnow.iloc[[0, 3, 20]]
    p_alive = btyd.predict_purchases(fit, rows)["p_alive"].to_numpy()
    p0 = no_purchase_probability("mbgnbd", par, p_alive, rows["frequency"], rows["T"], 26.0)
    rng = np.random.default_rng(5)
    lam = rng.gamma(par["r"], 1 / par["alpha"], 400_000)
    p = rng.beta(par["a"], par["b"], 400_000)
    for i, (x, tx, T) in enumerate(rows[["frequency", "recency", "T"]].itertuples(index=False)):
        # MBG/NBD: a drop-out chance at time 0 and after each purchase; alive at T after x purchases
        alive = lam**x * (1 - p) ** (x + 1) * np.exp(-lam * T)
        dead = lam**x * p * (1 - p) ** x * np.exp(-lam * tx)
        z = (alive + dead).mean()
        assert p_alive[i] == pytest.approx(alive.mean() / z, abs=0.01), i
        assert p0[i] == pytest.approx((alive * np.exp(-lam * 26.0) + dead).mean() / z, abs=0.01), i


def test_scores_at_the_same_histories_give_the_customer_value_p_alive(cdnow):
    """The churn report's as-of fit is the customer-value report's final fit: same model, settings and histories."""
    for model in ("bgnbd", "pareto", "mbgnbd"):
        cv_fit = btyd.fit_btyd(cdnow, model, penalizer_coef=0.0, time_unit="W", max_customers=200_000)
        cv_p_alive = btyd.predict_purchases(cv_fit, cdnow, 52)["p_alive"]
        pm = chosen_purchase_model(model, {"time_unit": "W", "penalizer_coef": 0.0, "max_fit_customers": 200_000})
        out = pm.scores(cdnow, window_days=180)
        assert out.attrs["model"] == model and pm.source == "customer_value"
        assert np.allclose(out["p_alive"], cv_p_alive, atol=1e-9, rtol=0), model
        assert ((out["p_no_purchase"] >= 1 - out["p_alive"] - 1e-12) & (out["p_no_purchase"] <= 1)).all()


def test_missing_customer_value_falls_back_to_bgnbd_and_says_so():
    pm = chosen_purchase_model(None, {})
    assert (pm.model, pm.source, pm.time_unit) == ("bgnbd", "fallback", "W")
    assert "Customer value report is missing" in pm.note() and "BG/NBD" in pm.note()
    with using("ko"):
        assert "고객 가치 보고서가 없어" in pm.note()
    chosen = chosen_purchase_model("pareto", {"time_unit": "D", "penalizer_coef": 0.01, "max_fit_customers": 5000})
    assert (chosen.model, chosen.time_unit, chosen.penalizer_coef, chosen.max_customers) == ("pareto", "D", 0.01, 5000)
    assert "Pareto/NBD" in chosen.note() and "chose" in chosen.note()
    assert isinstance(chosen, PurchaseModel)

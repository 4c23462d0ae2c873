"""The purchase and spend models on the suite's own likelihoods (issue 14 item 5).

References: ``lifetimes`` 0.11.3 through its public fitters only (``fit``, ``params_``,
``standard_errors_``) on its shipped CDNOW summary, and the published CDNOW estimates
(Fader, Hardie & Lee 2005a for BG/NBD and Pareto/NBD; Fader & Hardie 2013 for Gamma-Gamma).
A last test reads lifetimes' own source for its private names and checks that none
appears in the suite.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from ecrm_lib.core.paths import lifetimes_datasets_dir
from ecrm_lib.value import likelihoods as lk
from ecrm_lib.value.btyd import PARAMETER_NAMES, fit_btyd
from ecrm_lib.value.spend import fit_gamma_gamma

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def cdnow_raw():
    """The calibration summary computed from the raw CDNOW sample (recency not rounded to 0.01 weeks)."""
    from ecrm_lib.value.features import calibration_holdout
    from ecrm_lib.value.published import cdnow_transactions

    ch = calibration_holdout(cdnow_transactions(), calibration_end="1997-09-30", observation_end="1998-06-30")
    return ch.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T",
                              "monetary_value_cal": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_spend():
    s = pd.read_csv(lifetimes_datasets_dir() / "cdnow_customers_summary_with_transactions.csv")
    return s.rename(columns={"x": "frequency", "zbar": "monetary_value"})


def _random_histories(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, 40).astype(float)
    T = rng.uniform(1, 60, 40)
    tx = np.where(x > 0, T * rng.uniform(0, 1, 40), 0.0)
    return rng, x, tx, T


@pytest.mark.parametrize("fn", [lk.bgnbd_loglik, lk.mbgnbd_loglik, lk.gamma_gamma_loglik])
def test_gradients_are_exact(fn):
    rng, x, tx, T = _random_histories(7)
    if fn is lk.gamma_gamma_loglik:
        args, k = (x + 1, rng.uniform(1, 300, 40)), 3
    else:
        args, k = (x, tx, T), 4
    for _ in range(5):
        theta = rng.normal(0, 1, k)
        _, grad = fn(theta, *args, gradient=True)
        numeric = np.array([approx_fprime(theta, lambda t, i=i: fn(t, *args)[i], 1e-7) for i in range(len(x))])
        assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", ["bgnbd", "pareto", "mbgnbd"])
def test_purchase_models_match_lifetimes_public_fitters(cdnow, model):
    import lifetimes

    cls = {"bgnbd": lifetimes.BetaGeoFitter, "pareto": lifetimes.ParetoNBDFitter,
           "mbgnbd": lifetimes.ModifiedBetaGeoFitter}[model]
    # lifetimes' Pareto/NBD runs Nelder-Mead: its default tolerance stops 3e-4 short of the optimum in beta
    options = {"tol": 1e-10, "maxiter": 20000} if model == "pareto" else {}
    ref = cls().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"], **options)
    names = list(PARAMETER_NAMES[model])
    ours = fit_btyd(cdnow, model)
    assert np.allclose(ours.params[names], ref.params_[names], rtol=1e-4, atol=0)
    if model != "pareto":  # lifetimes has no standard errors for Pareto/NBD
        assert np.allclose(ours.standard_errors[names], ref.standard_errors_[names], rtol=1e-3)


def test_gamma_gamma_matches_lifetimes_public_fitter(cdnow_spend):
    import lifetimes

    rep = cdnow_spend[cdnow_spend["frequency"] > 0]
    ref = lifetimes.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    ours = fit_gamma_gamma(cdnow_spend)
    assert np.allclose(ours.params.to_numpy(), ref.params_[["p", "q", "v"]].to_numpy(), rtol=1e-4, atol=0)
    assert np.allclose(ours.standard_errors.to_numpy(), ref.standard_errors_[["p", "q", "v"]].to_numpy(), rtol=1e-3)


@pytest.mark.parametrize("model, published, loglik", [
    # Fader, Hardie & Lee (2005a), Marketing Science 24(2), 275-284, table and text
    ("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4),
    ("pareto", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, -9595.0),
])
def test_published_cdnow_estimates(cdnow_raw, model, published, loglik):
    fit = fit_btyd(cdnow_raw, model)
    for name, value in published.items():  # published to 3 decimals: within half of the last digit
        assert abs(fit.params[name] - value) <= 5e-4 + 1e-9, (name, fit.params[name])
    assert abs(fit.log_likelihood - loglik) <= 0.05


def test_published_gamma_gamma_estimates(cdnow_raw):
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p=6.25, q=3.74, gamma=15.44; LL -4055.92 (CLVTools)
    gg = fit_gamma_gamma(cdnow_raw)
    assert gg.n_used == 946
    assert np.allclose(gg.params.to_numpy(), [6.25, 3.74, 15.44], atol=5e-3 + 1e-9, rtol=0)
    assert abs(gg.log_likelihood - (-4055.9177)) <= 5e-4


def test_weighted_compressed_fit_equals_the_full_fit(cdnow):
    full = fit_btyd(cdnow, "mbgnbd", compress=False)
    comp = fit_btyd(cdnow, "mbgnbd")
    assert comp.n_unique_rows < full.n_unique_rows
    assert np.allclose(full.params, comp.params, rtol=1e-6)


def _lifetimes_private_names() -> set[str]:
    import lifetimes

    names = set()
    for path in Path(lifetimes.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                name = node.name
            elif isinstance(node, ast.Attribute):
                name = node.attr
            if name and name.startswith("_") and not name.startswith("__"):
                names.add(name)
    return names


def test_no_lifetimes_private_name_is_used():
    """No attribute access ``._x``, import or override (``def _x`` in a file that imports lifetimes) of a private lifetimes name."""
    names = _lifetimes_private_names()
    assert {"_negative_log_likelihood", "_fit", "_hessian_", "_scale", "_conditional_log_likelihood"} <= names  # the reading works
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    attribute = re.compile(r"\.(" + alternatives + r")\b")
    imported = re.compile(r"^\s*from\s+lifetimes[\w.]*\s+import\s+.*?\b(" + alternatives + r")\b")
    override = re.compile(r"^\s*def\s+(" + alternatives + r")\b")
    uses_lifetimes = re.compile(r"^\s*(from|import)\s+lifetimes\b", re.M)
    found = []
    files = [*REPO.glob("ecrm_lib/**/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("benchmarks/**/*.py"),
             *REPO.glob("notebooks/**/*.ipynb"), *REPO.glob("ecrm_lib/**/*.ipynb")]
    assert len(files) > 50
    for path in files:
        if path.resolve() == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        checks = (attribute, imported, override) if uses_lifetimes.search(text) else (attribute, imported)
        for i, line in enumerate(text.splitlines(), 1):
            for pattern in checks:
                for m in pattern.finditer(line):
                    found.append(f"{path.relative_to(REPO)}:{i}: {m.group(1)}")
    assert not found, "lifetimes private names used:\n" + "\n".join(found[:30])

"""The customer-value page's margin has one source, the config's ``economics: margin`` (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecrm_lib.core.config import Economics
from ecrm_lib.run.registry import DEFAULT_REGISTRY, load_registry, notebook_parameters
from ecrm_lib.value.clv import MARGIN_SOURCES, resolve_margin


def test_margin_comes_from_the_config_unless_the_notebook_overrides_it():
    assert resolve_margin(None, Economics(margin=0.42)) == (0.42, "config")
    assert resolve_margin(0.2, Economics(margin=0.42)) == (0.2, "parameter")
    assert resolve_margin(1, Economics()) == (1.0, "parameter")
    # no margin anywhere: revenue (margin 1), said on the page; never the old assumed 0.3
    assert resolve_margin(None, Economics()) == (1.0, "revenue")
    assert {resolve_margin(m, e)[1] for m, e in [(None, Economics(margin=0.3)), (0.3, None), (None, None)]} == set(MARGIN_SOURCES)
    for bad in (0, -0.1, 1.01):
        with pytest.raises(ValueError, match="economics: margin"):
            resolve_margin(bad, Economics(margin=0.3))


def test_notebook_and_registry_take_the_margin_from_the_config():
    reg = load_registry(DEFAULT_REGISTRY)
    spec = reg.get("customer_value")
    assert spec.parameters["margin"] is None
    assert notebook_parameters(spec.path)["margin"] is None
    src = "\n".join("".join(c["source"]) for c in __import__("json").loads(spec.path.read_text(encoding="utf-8"))["cells"])
    # every use of the margin in the notebook is the resolved one
    assert "resolve_margin(margin, ctx.config.economics)" in src
    assert "margin=margin," not in src and "margin=margin)" not in src and '"margin": margin,' not in src


def test_value_scales_with_the_resolved_margin():
    from ecrm_lib.value import btyd, clv, spend
    from ecrm_lib.value.features import rfm_summary

    rng = np.random.default_rng(1)
    n = 300
    tx = pd.DataFrame({"customer_id": rng.integers(0, 80, n).astype(str),
                       "timestamp": pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 600, n), unit="D"),
                       "amount": rng.gamma(3.0, 20.0, n)})
    summary = rfm_summary(tx, as_of="2024-09-01")
    fit = btyd.fit_btyd(summary, "bgnbd")
    gg = spend.fit_gamma_gamma(summary, min_customers=5)
    kw = dict(horizon=52.0, annual_discount_rate=0.1)
    m, _ = resolve_margin(None, Economics(margin=0.25))
    a = clv.customer_value(summary, fit, gg, margin=m, **kw)["clv"]
    b = clv.customer_value(summary, fit, gg, margin=resolve_margin(None, Economics())[0], **kw)["clv"]
    assert a.to_numpy() == pytest.approx(0.25 * b.to_numpy())

"""The JAX samplers (for users with a GPU), run here on the CPU.

A marginalized Gaussian model (the likelihood translated to JAX, random effects drawn
afterwards): each sampler must cover the simulation's fixed effects with its 99%
intervals, and the same seed must give identical draws.
"""

import numpy as np
import pytest

import mixedbayes as mb

pytestmark = pytest.mark.slow

TRUTH = {"Intercept": 0.5, "x": 0.8}


@pytest.fixture(scope="module")
def data():
    return mb.simulate(
        "y ~ x + (1 + x | g)",
        groups={"g": 30},
        n_per_group=8,
        fixed=TRUTH,
        sd={"g": {"Intercept": 0.5, "x": 0.3}},
        cor={"g": 0.3},
        sigma=0.4,
        random_seed=6,
    )


@pytest.mark.parametrize("sampler, twice", [("numpyro", True), ("blackjax", False)])
def test_jax_sampler_recovers_and_reproduces(data, sampler, twice):
    pytest.importorskip(sampler)
    model = mb.Model("y ~ x + (1 + x | g)", data)
    kwargs = dict(draws=300, tune=300, chains=2, random_seed=2, sampler=sampler)
    fit = model.fit(progressbar=False, **kwargs)
    assert fit.idata.posterior.attrs["marginalized"] == "g"
    assert "r_g" in fit.idata.posterior
    fixef = fit.fixef(prob=0.99).set_index("term")
    for term, value in TRUTH.items():
        assert fixef.lower[term] < value < fixef.upper[term], term
    if twice:  # the same seed gives the same draws, the drawn random effects included
        again = model.fit(progressbar=False, **kwargs)
        np.testing.assert_array_equal(fit.idata.posterior["b"], again.idata.posterior["b"])
        np.testing.assert_array_equal(fit.idata.posterior["r_g"], again.idata.posterior["r_g"])

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


def test_warm_up_starts_from_the_gradient_scaled_mass_matrix():
    """A Gaussian with sds from 0.001 to 1: numpyro's identity start spends its first
    window near the maximum tree depth; scaled by 1 / |gradient| at the start (s / 2 here,
    so the scales left differ 30-fold instead of 1000-fold) it takes far fewer steps."""
    jax = pytest.importorskip("jax")
    from numpyro.infer import MCMC, NUTS

    from mixedbayes.sampling.numpyro_nuts import _scaled_nuts

    sds = jax.numpy.asarray([1e-3, 1e-2, 0.1, 1.0])

    def potential(x):
        return 0.5 * jax.numpy.sum((x[0] / sds) ** 2)

    start = [2.0 * sds]  # two sds away from the mode
    steps = {}
    for name, kernel in (("identity", NUTS(potential_fn=potential)), ("scaled", None)):
        kernel = kernel or _scaled_nuts(potential, target_accept_prob=0.8)
        mcmc = MCMC(kernel, num_warmup=60, num_samples=10, progress_bar=False)
        mcmc.warmup(jax.random.PRNGKey(0), init_params=start, collect_warmup=True,
                    extra_fields=("num_steps",))  # fmt: skip
        steps[name] = np.asarray(mcmc.get_extra_fields()["num_steps"])[:50].mean()
    assert steps["identity"] > 200 and steps["scaled"] < steps["identity"] / 5, steps

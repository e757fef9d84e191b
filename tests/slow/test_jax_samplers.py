"""The JAX samplers (for users with a GPU), run here on the CPU.

A marginalized Gaussian model (the likelihood translated to JAX, random effects drawn
afterwards): each sampler must cover the simulation's fixed effects with its 99%
intervals, and the same seed must give identical draws.
"""

import numpy as np
import pytest

import mixedbayes as mb
from mixedbayes.sampling import programs

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
    if twice:  # the same seed gives the same draws, the drawn random effects included,
        # from the program kept in this process and from one built anew
        for forget in (False, True):
            if forget:
                programs.clear_cache()
            again = model.fit(progressbar=False, **kwargs)
            for name in ("b", "r_g"):
                np.testing.assert_array_equal(
                    fit.idata.posterior[name], again.idata.posterior[name]
                )


def test_a_second_data_set_of_the_same_shape_reuses_the_program(data):
    """Another response (same rows, levels and terms) builds no new program, and its
    posterior is that data set's: the data are arguments, not constants baked in."""
    pytest.importorskip("numpyro")
    kwargs = dict(draws=200, tune=200, chains=2, random_seed=2, progressbar=False)
    fit = mb.Model("y ~ x + (1 + x | g)", data).fit(**kwargs)
    before = programs.cached_programs()
    shifted = mb.Model("y ~ x + (1 + x | g)", data.assign(y=data.y + 10.0)).fit(**kwargs)
    assert programs.cached_programs() == before
    shift = shifted.fixef().set_index("term").estimate - fit.fixef().set_index("term").estimate
    np.testing.assert_allclose(shift["Intercept"], 10.0, atol=0.05)
    np.testing.assert_allclose(shift["x"], 0.0, atol=0.05)


def test_warm_up_starts_from_the_gradient_scaled_mass_matrix():
    """A Gaussian with sds from 0.001 to 1: numpyro's identity start spends its first
    window near the maximum tree depth; scaled by 1 / |gradient| at the start (s / 2 here,
    so the scales left differ 30-fold instead of 1000-fold) it takes far fewer steps."""
    jax = pytest.importorskip("jax")
    from mixedbayes.sampling.nuts_kernel import initial_state

    sds = jax.numpy.asarray([1e-3, 1e-2, 0.1, 1.0])

    def potential(x):
        return 0.5 * jax.numpy.sum((x[0] / sds) ** 2)

    start = [2.0 * sds]  # two sds away from the mode
    steps = {}
    for name, scaled in (("identity", False), ("scaled", True)):
        state, sample_kernel = initial_state(
            potential, start, jax.random.PRNGKey(0), tune=60, target_accept=0.8, scaled=scaled
        )

        def step(state, _, sample_kernel=sample_kernel):
            state = sample_kernel(state)
            return state, state.num_steps

        steps[name] = np.asarray(jax.lax.scan(step, state, None, length=50)[1]).mean()
    assert steps["identity"] > 200 and steps["scaled"] < steps["identity"] / 5, steps

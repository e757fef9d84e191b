"""The numpyro driver: initial mass matrix, chain placement, and its checks (no sampling)."""

import numpy as np
import pytest

import mixedbayes as mb
from mixedbayes.sampling import numpyro_nuts

jax = pytest.importorskip("jax")


def test_initial_inverse_mass_is_the_inverse_gradient_capped_at_one():
    gradient = np.array([1e4, -250.0, 2.0, 0.5, 0.0, 1e14])
    np.testing.assert_allclose(
        numpyro_nuts.initial_inverse_mass(gradient), [1e-4, 4e-3, 0.5, 1.0, 1.0, 1e-10]
    )


def test_chains_run_in_parallel_when_there_are_devices():
    devices = numpyro_nuts.use_cpu_devices()
    assert devices >= 1
    one_by_one = "sequential" if jax.default_backend() == "cpu" else "vectorized"
    assert numpyro_nuts.chain_method(1, None) == one_by_one
    assert numpyro_nuts.chain_method(devices + 1, None) == one_by_one
    assert numpyro_nuts.chain_method(2, 1) == one_by_one  # cores=1: one at a time
    if devices >= 2:
        assert numpyro_nuts.chain_method(2, None) == "parallel"


def test_a_chain_without_finite_density_is_an_error():
    numpyro_nuts._check_energies(np.zeros((2, 5)))
    lp = np.zeros((2, 5))
    lp[1] = np.inf
    with pytest.raises(mb.SamplingError, match="chain 1"):
        numpyro_nuts._check_energies(lp)


def test_vectorized_chains_start_from_the_median_scaled_mass_matrix():
    """The branch used on an accelerator (chains batched on one device): one inverse mass
    for all chains, from the median absolute gradient over their starting points."""
    sds = jax.numpy.asarray([1e-3, 0.1, 1.0])

    def potential(x):
        return 0.5 * jax.numpy.sum((x[0] / sds) ** 2)

    starts = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.5], [4.0, 0.5, 0.25]]) * np.asarray(sds)
    kernel = numpyro_nuts._scaled_nuts(potential, target_accept_prob=0.8)
    state = kernel.init(jax.random.split(jax.random.PRNGKey(0), 3), 10, [starts], (), {})
    gradient = np.median(np.abs(starts / np.asarray(sds) ** 2), axis=0)  # x / sd^2
    expected = numpyro_nuts.initial_inverse_mass(gradient)
    inverse_mass = np.asarray(state.adapt_state.inverse_mass_matrix)
    assert inverse_mass.shape == (3, 3)  # one row per chain, all equal
    np.testing.assert_allclose(inverse_mass, np.broadcast_to(expected, (3, 3)), rtol=1e-6)

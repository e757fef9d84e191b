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


def test_each_chain_starts_from_its_own_gradient_scaled_mass_matrix():
    """Chains batched on one device (the accelerator's branch) each scale their warm-up's
    inverse mass by 1 / |gradient| at their own starting point."""
    sds = jax.numpy.asarray([1e-3, 0.1, 1.0])

    def potential(x):
        return 0.5 * jax.numpy.sum((x[0] / sds) ** 2)

    starts = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.5], [4.0, 0.5, 0.25]]) * np.asarray(sds)

    def start(key, init):
        state, _ = numpyro_nuts.initial_state(potential, init, key, tune=10, target_accept=0.8)
        return state.adapt_state.inverse_mass_matrix

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    inverse_mass = np.asarray(jax.vmap(start)(keys, [starts]))
    expected = numpyro_nuts.initial_inverse_mass(np.abs(starts / np.asarray(sds) ** 2))
    np.testing.assert_allclose(inverse_mass, expected, rtol=1e-6)
    assert not np.allclose(inverse_mass[0], inverse_mass[1])  # one per chain


def test_small_data_compile_fast_and_large_data_with_xla_defaults():
    limit = numpyro_nuts.FAST_COMPILE_LIMIT
    small = [np.zeros((limit // 2, 1)), np.zeros(limit // 2)]
    large = [np.zeros((limit // 2, 2)), np.zeros(1)]
    fast = numpyro_nuts.FAST_COMPILE if jax.default_backend() == "cpu" else None
    assert numpyro_nuts.compile_options(small) == fast
    assert numpyro_nuts.compile_options(large) is None

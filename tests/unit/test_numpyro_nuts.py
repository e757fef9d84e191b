"""The numpyro driver: initial mass matrix, chain placement, and its checks (no sampling)."""

import numpy as np
import pytest

import mixedbayes as mb
from mixedbayes.sampling import exported, numpyro_nuts, nuts_kernel

jax = pytest.importorskip("jax")


def test_initial_inverse_mass_is_the_inverse_gradient_capped_at_one():
    gradient = np.array([1e4, -250.0, 2.0, 0.5, 0.0, 1e14])
    np.testing.assert_allclose(
        nuts_kernel.initial_inverse_mass(gradient), [1e-4, 4e-3, 0.5, 1.0, 1.0, 1e-10]
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


FIRST_ONE_CHAIN = """
import jax
from mixedbayes.sampling import numpyro_nuts
assert numpyro_nuts.chain_method(1, 1) == "sequential"  # a one-chain fit comes first
jax.numpy.ones(3).block_until_ready()  # and starts JAX's backends
print(numpyro_nuts.chain_method(4, None), jax.local_device_count())
"""


def test_a_first_fit_of_one_chain_leaves_devices_for_later_parallel_chains():
    """JAX's CPU device count is fixed at its first computation: asking for the devices
    only when several chains ran left a process whose first fit had one chain with one
    device, and every later fit's chains one after the other."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    run = subprocess.run(
        [sys.executable, "-c", FIRST_ONE_CHAIN], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["parallel", str(max(os.cpu_count() or 1, 4))]


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
        state, _ = nuts_kernel.initial_state(potential, init, key, tune=10, target_accept=0.8)
        return state.adapt_state.inverse_mass_matrix

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    inverse_mass = np.asarray(jax.vmap(start)(keys, [starts]))
    expected = nuts_kernel.initial_inverse_mass(np.abs(starts / np.asarray(sds) ** 2))
    np.testing.assert_allclose(inverse_mass, expected, rtol=1e-6)
    assert not np.allclose(inverse_mass[0], inverse_mass[1])  # one per chain


def test_small_data_compile_fast_and_large_data_with_xla_defaults():
    limit = numpyro_nuts.FAST_COMPILE_LIMIT
    small = [np.zeros((limit // 2, 1)), np.zeros(limit // 2)]
    large = [np.zeros((limit // 2, 2)), np.zeros(1)]
    fast = numpyro_nuts.FAST_COMPILE if jax.default_backend() == "cpu" else None
    assert numpyro_nuts.compile_options(small) == fast
    assert numpyro_nuts.compile_options(large) is None


def test_options_compile_once_per_argument_shapes_and_give_the_same_values():
    calls = []

    def f(x, y):
        calls.append(np.shape(x))
        return {"s": jax.numpy.sin(x) * y}

    run = exported.compiled(jax.jit(f), None, options=numpyro_nuts.FAST_COMPILE)
    x = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(run(x, 2.0)["s"], 2.0 * np.sin(x))
    np.testing.assert_allclose(run(x + 1.0, 3.0)["s"], 3.0 * np.sin(x + 1.0))
    assert calls == [(5,)]  # traced once for both calls
    run(np.zeros(3), 1.0)
    assert calls == [(5,), (3,)]  # a new shape compiles anew


@pytest.mark.parametrize("tune", [10, 50, 100, 300, 1000, 2000])
def test_the_warm_up_ends_with_a_longer_step_size_window(tune):
    from numpyro.infer import hmc_util

    stan = hmc_util.build_adaptation_schedule
    windows = nuts_kernel.adaptation_schedule(tune, stan)
    assert windows[0].start == 0 and windows[-1].end == tune - 1
    assert all(b.start == a.end + 1 for a, b in zip(windows, windows[1:], strict=False))
    assert all(w.end >= w.start for w in windows)
    if len(stan(tune)) >= 3:  # a buffer, mass-matrix windows, the step size's window
        assert len(windows) >= 3 and windows[0] == stan(tune)[0]
        assert windows[-1].end - windows[-1].start + 1 >= int(0.2 * tune)
    else:
        assert windows == stan(tune)


def test_numpyro_runs_the_longer_schedule_and_keeps_its_own():
    """850 warm-up iterations of 1,000 are in the step size's last window (Stan's would
    still be adapting the mass matrix), and numpyro's function is back afterwards."""
    from numpyro.infer import hmc_util

    stan = hmc_util.build_adaptation_schedule
    state, sample_kernel = nuts_kernel.initial_state(
        lambda x: 0.5 * (x**2).sum(), np.zeros(2), jax.random.PRNGKey(0), tune=1000,
        target_accept=0.8,
    )  # fmt: skip
    assert hmc_util.build_adaptation_schedule is stan
    state = jax.jit(lambda s: jax.lax.fori_loop(0, 850, lambda i, s: sample_kernel(s), s))(state)
    last = len(nuts_kernel.adaptation_schedule(1000, stan)) - 1
    assert int(state.adapt_state.window_idx) == last
    assert len(stan(1000)) - 1 == last  # the same number of windows as Stan's, ...
    assert stan(1000)[last - 1].end >= 850  # ... whose last mass-matrix window is still open

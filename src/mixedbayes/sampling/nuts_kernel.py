"""numpyro's NUTS chain as one JAX function: its start, warm-up schedule and loop.

:func:`nuts_chain` runs numpyro's NUTS kernel (``numpyro.infer.hmc.hmc``) from
:func:`initial_state` through warm-up and draws in one ``lax`` loop, so a caller
(:mod:`mixedbayes.sampling.numpyro_nuts`) can compile all chains with the data as
arguments. Two changes to numpyro's defaults: the warm-up starts from a mass matrix scaled
by the gradient (:func:`initial_inverse_mass`), and its last :data:`STEP_SIZE_SHARE`
adapts the step size alone (:func:`adaptation_schedule`).
"""

from __future__ import annotations

from contextlib import contextmanager

# numpyro's default; Fit.diagnostics() counts the draws that reach it
MAX_TREE_DEPTH = 10
# The warm-up's last share adapts the step size alone (Stan's and numpyro's: 50 iterations)
STEP_SIZE_SHARE = 0.2
STAT_FIELDS = ("num_steps", "potential_energy", "energy", "adapt_state.step_size",
               "accept_prob", "diverging")  # fmt: skip


def adaptation_schedule(tune: int, stan_schedule) -> list:
    """The warm-up's windows: Stan's (``stan_schedule(tune)``: a buffer, mass-matrix
    windows doubling in length, a step-size window of 50 iterations), except that the last
    :data:`STEP_SIZE_SHARE` of the warm-up adapts the step size alone, the last mass-matrix
    window ending before it.

    After each mass-matrix update the dual averaging restarts from ten times the step size,
    and 50 iterations leave its average below the step size that meets the target: with
    200 of 1,000 the step size grew 10-25% and the draws took fewer leapfrog steps or gained
    ESS (speed dating's logistic GLMM: min bulk ESS 838 and 751 -> 1,055 and 978 over two
    seeds, 15 steps per draw either way; sleepstudy's random slopes 2,633 and 2,345 ->
    3,032 and 2,984 with 6.5 steps instead of 7.8; GPA's 3,882 and 3,934 -> 3,823 and
    3,173 with 5.9 steps instead of 6.4; docs/performance.md)."""
    from numpyro.infer.hmc_util import AdaptWindow

    windows = stan_schedule(tune)
    cut = tune - int(STEP_SIZE_SHARE * tune)
    head = [w for w in windows[:-1] if w.start < cut]
    if len(windows) < 3 or cut >= windows[-1].start or len(head) < 2:
        return windows  # short warm-ups keep Stan's
    return [*head[:-1], AdaptWindow(head[-1].start, cut - 1), AdaptWindow(cut, tune - 1)]


@contextmanager
def _longer_step_size_window():
    """numpyro builds its warm-up windows with ``hmc_util.build_adaptation_schedule`` when
    its kernel is initialized (traced); for that call it builds :func:`adaptation_schedule`."""
    from numpyro.infer import hmc_util

    stan_schedule = hmc_util.build_adaptation_schedule
    hmc_util.build_adaptation_schedule = lambda tune: adaptation_schedule(tune, stan_schedule)
    try:
        yield
    finally:
        hmc_util.build_adaptation_schedule = stan_schedule


def initial_inverse_mass(gradient):
    """Diagonal inverse mass ``1 / |gradient|``, between 1e-10 and 1 (JAX or NumPy arrays).

    A coordinate with posterior sd ``s``, ``d`` away from the mode, has gradient about
    ``d / s^2``, so ``1 / |gradient| = s^2 / d``: it shrinks with the variance, if not as
    fast (``s`` for a start one sd away), so the narrowest coordinates no longer set the
    step size of all the others. Capping at 1 keeps numpyro's identity where the gradient is
    flat. The warm-up's mass-matrix windows then adapt it as usual.
    """
    import jax.numpy as jnp

    return jnp.clip(1.0 / jnp.maximum(jnp.abs(gradient), 1e-300), 1e-10, 1.0)


def initial_state(
    potential, init, key, *, tune: int, target_accept: float, scaled=True, dense_mass=False
):
    """numpyro's NUTS state at ``init`` and its transition ``sample_kernel(state)``.

    With ``scaled`` the warm-up starts from :func:`initial_inverse_mass` at ``init``,
    otherwise from numpyro's identity; ``dense_mass`` adapts a full mass matrix (from that
    diagonal). Traceable (``jit``, ``vmap``, ``pmap``).
    """
    import jax
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.hmc import hmc

    inverse_mass = None
    if scaled:
        flat, unravel = ravel_pytree(init)
        inverse_mass = initial_inverse_mass(jax.grad(lambda x: potential(unravel(x)))(flat))
        if dense_mass:
            inverse_mass = jax.numpy.diag(inverse_mass)
    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
    with _longer_step_size_window():
        state = init_kernel(
            init,
            num_warmup=tune,
            inverse_mass_matrix=inverse_mass,
            dense_mass=dense_mass,
            target_accept_prob=target_accept,
            max_tree_depth=MAX_TREE_DEPTH,
            rng_key=key,
        )
    return state, sample_kernel


def nuts_chain(potential, *, tune: int, draws: int, target_accept: float, dense_mass=False):
    """``run(key, init) -> (draws, stats)``: one NUTS chain as a JAX function.

    numpyro's NUTS kernel (``numpyro.infer.hmc.hmc``) with its windowed adaptation, from
    :func:`initial_state`, run by one ``lax`` loop: ``tune`` warm-up iterations, then
    ``draws`` kept with the statistics in :data:`STAT_FIELDS`. Traceable, so a caller can
    ``jit``, ``vmap`` or ``pmap`` it with the data as arguments of the same program.

    The kernel samples ``init``'s values raveled into one vector, and the draws are
    unraveled after: numpyro updates a state leaf by leaf (positions, momenta, gradients,
    the tree's ends), so each variable multiplied the operations of a leapfrog step (speed
    dating's 4 variables: 85 us per step, the flat vector 72; the same draws).
    """
    import jax
    from jax.flatten_util import ravel_pytree

    def run(key, init):
        flat, unravel = ravel_pytree(init)
        state, sample_kernel = initial_state(
            lambda x: potential(unravel(x)),
            flat,
            key,
            tune=tune,
            target_accept=target_accept,
            dense_mass=dense_mass,
        )
        buffers = jax.tree_util.tree_map(
            lambda x: jax.numpy.zeros((draws, *jax.numpy.shape(x)), jax.numpy.result_type(x)),
            _kept(state),
        )

        def step(i, carry):  # warm-up iterations write to row 0, which the first draw refills
            state, buffers = carry
            state = sample_kernel(state)
            row = jax.numpy.maximum(i - tune, 0)
            return state, jax.tree_util.tree_map(
                lambda b, x: b.at[row].set(x), buffers, _kept(state)
            )

        # one loop for warm-up and draws, so XLA compiles the NUTS kernel once
        values, stats = jax.lax.fori_loop(0, tune + draws, step, (state, buffers))[1]
        return jax.vmap(unravel)(values), stats

    return run


def _kept(state):
    """What a draw keeps: the values and the statistics of :data:`STAT_FIELDS`."""
    return state.z, {name: _field(state, name) for name in STAT_FIELDS}


def _field(state, name: str):
    for part in name.split("."):
        state = getattr(state, part)
    return state

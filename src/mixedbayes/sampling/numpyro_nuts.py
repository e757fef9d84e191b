"""numpyro's NUTS on a PyMC model: the default sampler (``sampler="auto"``).

What ``pymc.sampling.jax.sample_jax_nuts`` does, with three differences that matter for
speed (docs/performance.md):

- **Chains run in parallel on the CPU cores.** JAX sees one CPU device unless told
  otherwise before its first computation, and numpyro then runs the chains one after the
  other; :func:`use_cpu_devices` asks for one device per core (at least four), so
  ``chain_method="parallel"`` has a device per chain (a ``jit`` of ``shard_map`` over
  them, :func:`_on_devices`).
- **The warm-up starts from a scaled mass matrix.** numpyro starts from the identity, so
  until its first mass-matrix window ends the step size fits the narrowest direction (the
  log residual sd of InstEval's 73,421 ratings has a posterior sd near 0.003) and most
  iterations run to the maximum tree depth (1,023 gradients each). Here the initial inverse
  mass of each coordinate is ``1 / |gradient|`` at its chain's starting point (nutpie's
  initialization; :mod:`mixedbayes.sampling.nuts_kernel`). On InstEval the first 100
  warm-up iterations took 2,478 gradients instead of 34,000 to 72,000.
- **The log density is translated to JAX once and jitted**, for the sampler and for the
  gradient that scales the mass matrix alike: numpyro evaluates what it is given op by op
  where it runs outside its compiled program (a chain's start in sequential mode).

The log density is a :mod:`mixedbayes.sampling.programs` program: its data are arguments,
so the sampler is compiled once per model shape and process; for other processes its
traced program is kept on disk (:mod:`mixedbayes.sampling.exported`) and its XLA executable
in JAX's persistent cache (:func:`use_jax_cache`).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

import arviz as az
import numpy as np
import pymc as pm

from ..errors import SamplingError
from .exported import compiled
from .nuts_kernel import nuts_chain
from .padded import Padded, cut_draws, padded_log_density, padded_priors
from .programs import Program, cache_dir, program

# A sampler whose data hold at most this many numbers is compiled without XLA's CPU fusion
# emitters: its compilation takes less than half the time (sleepstudy's random slopes 5.7 ->
# 2.6 s, GPA's 5.8 -> 2.9 s) and its draws 20-25% longer (0.38 -> 0.47 s, 0.88 -> 1.05 s for
# 4 x 2,000 iterations), a gain wherever compiling outweighs sampling (docs/performance.md)
FAST_COMPILE_LIMIT = 20_000
FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}
STAT_NAMES = {
    "potential_energy": "lp",
    "adapt_state.step_size": "step_size",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
}


def use_jax_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, unless the user has configured one.

    numpyro compiles the NUTS loop and the log-density into one XLA program (seconds to tens
    of seconds); with the cache, a later fit of the same model to the same data, in any
    process, loads it instead. Returns the cache directory in use.
    """
    import jax

    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", os.path.join(cache_dir(), "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    return jax.config.jax_compilation_cache_dir


def use_cpu_devices() -> int:
    """Ask JAX for one CPU device per core, at least four, so chains can run in parallel.

    Only possible before JAX's first computation in this process; afterwards (the user ran
    JAX code, or set the count) the devices stay as they are. Returns the device count.
    """
    import jax

    try:
        if jax.config.jax_num_cpu_devices < 0:  # not set by the user
            jax.config.update("jax_num_cpu_devices", max(os.cpu_count() or 1, 4))
    except RuntimeError:  # JAX's backends are already running
        pass
    return jax.local_device_count()


def chain_method(chains: int, cores: int | None) -> str:
    """``"parallel"`` (a device per chain) when allowed and possible. Otherwise one chain
    after the other on the CPU, where numpyro traces the program anew for each chain (about
    2 s) but runs each at full speed; batching the chains into one program
    (``"vectorized"``) runs every branch of the tree building for all of them, 6x slower
    here on GPA, but it is the way to run several chains on one accelerator."""
    import jax

    devices = use_cpu_devices()  # first, whatever the chains: a one-chain fit starts JAX
    if chains > 1 and (cores is None or cores > 1) and chains <= devices:
        return "parallel"
    return "sequential" if jax.default_backend() == "cpu" else "vectorized"


def compile_options(data: list) -> dict | None:
    """XLA's options for a sampler over ``data`` (its program's data arguments): the fast
    compilation of :data:`FAST_COMPILE` for small data on the CPU, else XLA's defaults
    (None). Shapes alone decide, so a program keeps its options across data sets."""
    import jax

    small = sum(int(np.size(x)) for x in data) <= FAST_COMPILE_LIMIT
    return FAST_COMPILE if small and jax.default_backend() == "cpu" else None


def _runner(
    logp: Program, *, chains, tune, draws, target_accept, method, dense_mass=False, options=None
):
    """``run(keys, inits, data)`` for all chains, built once per program and setting (kept
    on the program, so a second data set of the same shape reuses its compiled code, and
    on disk, :mod:`mixedbayes.sampling.exported`); ``options``: XLA's
    (:func:`compile_options`)."""
    import jax

    setting = ("nuts", tune, draws, float(target_accept), method, bool(dense_mass))
    setting += tuple(sorted((options or {}).items()))
    setting += (chains,) if method == "parallel" else ()
    if setting in logp.compiled:
        return logp.compiled[setting]
    key = None if logp.digest is None else (logp.digest, setting)

    def one(key, init, data):
        bound = logp.bind(data)
        chain = nuts_chain(
            lambda x: -bound(*x)[0],
            tune=tune,
            draws=draws,
            target_accept=target_accept,
            dense_mass=dense_mass,
        )
        return chain(key, init)

    if method == "parallel":
        function, shardings = _on_devices(one, chains)
        run = compiled(function, key, options=options, shardings=shardings)
    elif method == "vectorized":
        run = compiled(jax.jit(jax.vmap(one, in_axes=(0, 0, None))), key, options=options)
    else:  # one chain after the other, one compiled program for all
        single = compiled(jax.jit(one), key, options=options)

        def run(keys, inits, data):
            chains = [single(k, [x[c] for x in inits], data) for c, k in enumerate(keys)]
            return jax.tree_util.tree_map(lambda *xs: jax.numpy.stack(xs), *chains)

    logp.compiled[setting] = run
    return run


def _on_devices(one, chains: int):
    """``one`` run for each chain on a device of its own, as ``pmap`` would, but as a
    ``jit`` of ``shard_map`` over the first ``chains`` devices, which ``jax.export`` keeps;
    and the jit's ``(in_shardings, out_shardings)``."""
    import jax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(jax.devices()[:chains]), ("chain",))

    def per_device(keys, inits, data):  # each device holds one chain's slice
        out = one(keys[0], [x[0] for x in inits], data)
        return jax.tree_util.tree_map(lambda x: x[None], out)

    specs = (P("chain"), P("chain"), P())
    mapped = jax.shard_map(
        per_device, mesh=mesh, in_specs=specs, out_specs=P("chain"), check_vma=False
    )
    chain, shared = NamedSharding(mesh, P("chain")), NamedSharding(mesh, P())
    shardings = ((chain, chain, shared), chain)
    return jax.jit(mapped, in_shardings=shardings[0], out_shardings=shardings[1]), shardings


def _transformer(program: Program):
    """``f(raw, data)``: the model's variables from the sampler's values, draw by draw."""
    import jax

    if "transform" not in program.compiled:

        def transform(raw, data):
            bound = program.bind(data)
            return jax.vmap(jax.vmap(bound))(*raw)

        key = None if program.digest is None else (program.digest, "transform")
        program.compiled["transform"] = compiled(jax.jit(transform), key)
    return program.compiled["transform"]


def sample_numpyro(
    model: pm.Model,
    starts: list[dict],
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed,
    target_accept: float,
    cores: int | None,
    progressbar: bool,
    dense_mass: bool = False,
    padded: Padded | None = None,
) -> az.InferenceData:
    """NUTS draws of ``model`` from ``starts`` (transformed values by value-variable name, one
    dict per chain), as PyMC's InferenceData (posterior, sample_stats, observed_data,
    constant_data); ``dense_mass`` adapts a full mass matrix. With ``padded``, ``model``
    is a padded copy (:mod:`mixedbayes.sampling.padded`) and the draws are cut back to
    ``padded.coords``."""
    import jax
    import numpyro
    from arviz.data.base import make_attrs
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        find_constants,
        find_observations,
    )
    from pymc.util import _get_seeds_per_chain, get_default_varnames

    use_jax_cache()
    method = chain_method(chains, cores)  # before JAX's first computation
    values = model.value_vars
    logp, logp_data = program(values, [model.logp()])
    run = _runner(
        logp,
        chains=chains,
        tune=tune,
        draws=draws,
        target_accept=target_accept,
        method=method,
        dense_mass=dense_mass,
        options=compile_options(logp_data),
    )
    (seed,) = _get_seeds_per_chain(random_seed, 1)
    keys = jax.random.split(jax.random.PRNGKey(seed), chains)
    init = [np.stack([start[v.name] for start in starts]) for v in values]
    started = datetime.now()
    if progressbar:
        plural = "s" if chains > 1 else ""
        print(f"Sampling {chains} chain{plural} ({tune} warm-up and {draws} draws each, "
              f"numpyro NUTS, {method})...", file=sys.stderr, flush=True)  # fmt: skip
    raw, fields = jax.block_until_ready(run(keys, init, logp_data))
    elapsed = (datetime.now() - started).total_seconds()
    if progressbar:
        print(f"Sampling took {elapsed:.1f} s.", file=sys.stderr, flush=True)
    attrs = {"sampling_time": elapsed, "tuning_steps": tune}
    stats = {STAT_NAMES.get(name, name): np.asarray(x) for name, x in fields.items()}
    stats["lp"] = -stats["lp"]  # the log density, as PyMC's NUTS reports it (numpyro's minus)
    _check_energies(stats["lp"])
    stats["tree_depth"] = np.log2(stats["n_steps"]).astype(int) + 1

    wanted = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
    coords, dims = coords_and_dims_for_inferencedata(model)
    lengths = {} if padded is None else padded.lengths
    rvs, logps = padded_priors(model, dims, lengths)
    transform, transform_data = program(values, wanted + logps)
    outputs = [np.asarray(x) for x in _transformer(transform)(raw, transform_data)]
    posterior = {
        v.name: cut_draws(x, dims.get(v.name, []), lengths)
        for v, x in zip(wanted, outputs[: len(wanted)], strict=True)
    }
    if rvs:  # lp without the padded levels' prior terms
        rv_dims = [dims[rv.name] for rv in rvs]
        stats["lp"] = stats["lp"] - padded_log_density(outputs[len(wanted) :], rv_dims, lengths)
    if padded is not None:
        coords = {dim: padded.coords.get(dim, labels) for dim, labels in coords.items()}
    attrs = make_attrs(attrs, library=numpyro)
    return az.from_dict(
        posterior=posterior,
        sample_stats=stats,
        observed_data=find_observations(model) if padded is None else padded.observed,
        constant_data=find_constants(model),
        coords=coords,
        dims=dims,
        attrs=attrs,
        posterior_attrs=attrs,
    )


def _check_energies(lp: np.ndarray) -> None:
    """A SamplingError when a chain's potential energy is not finite (it never left a
    starting point without a finite log density)."""
    bad = ~np.isfinite(lp).all(axis=1)
    if bad.any():
        raise SamplingError(
            f"the log density is not finite along chain {int(np.flatnonzero(bad)[0])} "
            f"(its starting point or the model: check the priors and the data)"
        )

"""A thin layer over ``pm.sample``: argument checks and sampler choice, no hidden retries."""

from __future__ import annotations

import difflib
import gc
import importlib.util
import numbers
from collections.abc import Callable
from contextlib import contextmanager

import arviz as az
import numpy as np
import pymc as pm
from pymc.initial_point import make_initial_point_expression
from pymc.pytensorf import compile as compile_function
from pymc.pytensorf import find_rng_nodes, replace_rng_nodes, reseed_rngs
from pymc.util import _get_seeds_per_chain, get_transformed_name
from pytensor.compile.mode import Mode

from ..errors import SamplingError
from .numpyro_nuts import chain_method, sample_numpyro, use_jax_cache
from .padded import Padded

SAMPLERS = ("auto", "pymc", "nutpie", "numpyro", "blackjax")
JAX_SAMPLERS = ("numpyro", "blackjax")  # like nutpie, each is the package of its name
PYTHON_LINKER = Mode(linker="py", optimizer="fast_compile")  # for _initial_point_fn


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def choose_sampler(sampler: str) -> str:
    """Resolve ``"auto"`` and check that the chosen sampler is installed.

    ``"auto"`` is numpyro's NUTS where numpyro is installed (it is a dependency), else
    PyMC's own. numpyro runs the whole NUTS loop in compiled XLA code, and its compiled
    program is kept in JAX's persistent cache (:func:`use_jax_cache`), so refitting the
    same model and data skips compilation. PyMC's loop runs in Python (about 1.5 ms per
    iteration and chain whatever the gradient costs); nutpie's numba path compiles for
    20-45 s on every fit. Measurements: docs/performance.md.
    """
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        close = []
        if isinstance(sampler, str):
            key = sampler.lower()
            close = ["auto"] if key == "nuts" else difflib.get_close_matches(key, SAMPLERS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SamplingError(
            f"unknown sampler {sampler!r}; {hint}choose one of {', '.join(SAMPLERS)}"
        )
    if sampler == "auto":
        return "numpyro" if installed("numpyro") else "pymc"  # numpyro requires jax
    if sampler in ("nutpie", *JAX_SAMPLERS) and not installed(sampler):
        raise SamplingError(
            f"sampler {sampler!r} needs the {sampler!r} package: pip install {sampler}"
        )
    return sampler


def check_count(name: str, value, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``, or a SamplingError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise SamplingError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(seed) -> None:
    """None, an integer >= 0, a NumPy generator, or a sequence of integers >= 0 (per chain)."""
    if seed is None or isinstance(seed, np.random.Generator | np.random.RandomState):
        return
    values = seed if isinstance(seed, list | tuple | np.ndarray) else [seed]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise SamplingError(
                f"random_seed must be None, an integer >= 0 or one such integer per chain, "
                f"got {seed!r}"
            )


def sample(
    model: pm.Model | Callable[[], pm.Model],
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    sampler: str,
    progressbar: bool,
    target_accept: float,
    cores: int | None,
    dense_mass: bool = False,
    padded: Padded | None = None,
) -> az.InferenceData:
    """Run NUTS on ``model``; the same ``random_seed`` gives the same draws.

    ``model`` may be a function that builds it, called only after the arguments are
    checked, so a bad argument fails before any PyTensor work. ``dense_mass`` asks
    numpyro's NUTS for a full mass matrix (the other samplers keep their own).
    ``padded``: numpyro samples this padded copy of the model instead, so that models of
    nearby sizes share its compiled program (:mod:`mixedbayes.sampling.padded`).
    """
    draws = check_count("draws", draws, 1)
    tune = check_count("tune", tune, 0)
    chains = check_count("chains", chains, 1)
    if (
        isinstance(target_accept, bool)
        or not isinstance(target_accept, numbers.Real)
        or not 0 < target_accept < 1
    ):
        raise SamplingError(
            f"target_accept must be a number between 0 and 1 (exclusive, e.g. 0.9), "
            f"got {target_accept!r}"
        )
    if cores is not None:
        cores = check_count("cores", cores, 1)
    check_seed(random_seed)
    nuts_sampler = choose_sampler(sampler)
    if nuts_sampler != "numpyro":
        padded = None
    if padded is not None:
        model = padded.build()
    elif not isinstance(model, pm.Model):
        model = model()
    common = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        random_seed=random_seed,
        progressbar=progressbar,
        target_accept=target_accept,
    )
    if nuts_sampler == "numpyro":
        starts = starting_points(model, chains, random_seed, transformed=True)
        return sample_numpyro(
            model, starts, cores=cores, dense_mass=dense_mass, padded=padded, **common
        )
    common["compute_convergence_checks"] = False  # PyMC's; Fit.diagnostics() does ours
    if nuts_sampler == "nutpie":  # nutpie takes no starting points
        with model:
            return pm.sample(nuts_sampler="nutpie", cores=cores or min(chains, 4), **common)
    initvals = starting_points(model, chains, random_seed)
    if nuts_sampler == "blackjax":
        return _sample_blackjax(model, initvals, cores, **common)
    with model:
        return pm.sample(
            cores=cores or min(chains, 4), initvals=initvals, init="adapt_diag", **common
        )


def _sample_blackjax(model, initvals, cores, *, chains, **common) -> az.InferenceData:
    """blackjax through PyMC's JAX path (what ``pm.sample`` calls, without first compiling
    PyMC's own NUTS step), with the compiled program cached on disk."""
    from pymc.sampling.jax import sample_jax_nuts

    use_jax_cache()
    return sample_jax_nuts(
        model=model,
        nuts_sampler="blackjax",
        initvals=initvals,
        jitter=False,  # the starting points are jittered already
        chains=chains,
        # pmap needs a device per chain (JAX may have started with one)
        chain_method="parallel" if chain_method(chains, cores) == "parallel" else "vectorized",
        **common,
    )


def starting_points(
    model: pm.Model, chains: int, random_seed, transformed: bool = False
) -> list[dict]:
    """One starting point per chain: PyMC's U(-1, 1) jitter, except for the slopes ``b``.

    A slope's scale is that of its predictor: for ``I(age**2)`` (sd 89) the default prior
    sd is 0.03, and a jitter of 1 starts a logistic model where its likelihood is flat,
    so NUTS's step size collapses (every draw divergent). Slopes start at their initial
    value (0 or the prior's centre); everything else is jittered as PyMC would.

    Values are untransformed and keyed by variable name (what ``pm.sample``'s ``initvals``
    expects), or with ``transformed=True`` on the sampler's scale, keyed by value variable.
    """
    jittered = {rv for rv in model.free_RVs if rv.name != "b"}
    function = _initial_point_fn(model, jittered, transformed)
    return [function(seed) for seed in _get_seeds_per_chain(random_seed, chains)]


def _initial_point_fn(model: pm.Model, jittered: set, transformed: bool):
    """PyMC's ``make_initial_point_fn`` (the same values for a seed), compiled with
    PyTensor's Python linker: its VM linker imports setuptools, 0.13-0.2 s of a new
    process for a function called once per chain."""
    values = make_initial_point_expression(
        free_rvs=model.free_RVs,
        rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=dict(model.rvs_to_initial_values),
        jitter_rvs=jittered,
        return_transformed=transformed,
    )
    function = compile_function([], replace_rng_nodes(values), mode=PYTHON_LINKER)
    rngs = find_rng_nodes(function.maker.fgraph.outputs)
    names = []
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms[rv]
        keep = transform is not None and transformed
        names.append(get_transformed_name(rv.name, transform) if keep else rv.name)

    def point(seed) -> dict:
        reseed_rngs(rngs, seed)
        return dict(zip(names, function(), strict=True))

    return point


@contextmanager
def paused_gc():
    """Python's cyclic garbage collector paused for the block (and on again after it, if it
    was on). A fit builds and drops a few hundred thousand small objects (graphs, traces);
    with PyMC, JAX and ArviZ loaded, each full collection they trigger walks millions of
    long-lived objects: 0.2-0.6 s of sleepstudy's 1.1-1.6 s fit in a new process. Their
    garbage is collected when the collector next runs."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def no_node_traces():
    """PyTensor's record of the Python stack where each graph node is made, off for the
    block (a context manager and decorator). Those stacks serve PyTensor's error messages;
    a fit makes thousands of nodes, all in mixedbayes's own code, and recording them took
    a fifth of a refit (sleepstudy, 2 x 500 + 500: 0.31-0.35 -> 0.24-0.28 s per fit)."""
    import pytensor

    return pytensor.config.change_flags(traceback__limit=0)

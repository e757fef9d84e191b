"""A thin layer over ``pm.sample``: argument checks and sampler choice, no hidden retries."""

from __future__ import annotations

import difflib
import importlib.util
import numbers
from collections.abc import Callable

import arviz as az
import numpy as np
import pymc as pm
from pymc.initial_point import make_initial_point_fn
from pymc.util import _get_seeds_per_chain

from .errors import SamplingError

SAMPLERS = ("auto", "pymc", "nutpie", "numpyro", "blackjax")
_MODULES = {"nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}


def choose_sampler(sampler: str) -> str:
    """Resolve ``"auto"`` and check that the chosen sampler is installed.

    ``"auto"`` is PyMC's own NUTS, whose compiled C graph is fast to build and cached
    across runs; the others are used only when asked for.
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
        return "pymc"
    module = _MODULES.get(sampler)
    if module and importlib.util.find_spec(module) is None:
        raise SamplingError(
            f"sampler {sampler!r} needs the {module!r} package: pip install {module}"
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
) -> az.InferenceData:
    """Run NUTS on ``model``; the same ``random_seed`` gives the same draws.

    ``model`` may be a function that builds it, called only after the arguments are
    checked, so a bad argument fails before any PyTensor work.
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
    if not isinstance(model, pm.Model):
        model = model()
    start = {}
    if nuts_sampler == "pymc":
        start = {"initvals": starting_points(model, chains, random_seed), "init": "adapt_diag"}
    with model:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores if cores is not None else min(chains, 4),
            random_seed=random_seed,
            progressbar=progressbar,
            target_accept=target_accept,
            nuts_sampler=nuts_sampler,
            compute_convergence_checks=False,
            **start,
        )


def starting_points(model: pm.Model, chains: int, random_seed) -> list[dict]:
    """One starting point per chain: PyMC's U(-1, 1) jitter, except for the slopes ``b``.

    A slope's scale is that of its predictor: for ``I(age**2)`` (sd 89) the default prior
    sd is 0.03, and a jitter of 1 starts a logistic model where its likelihood is flat,
    so NUTS's step size collapses (every draw divergent). Slopes start at their initial
    value (0 or the prior's centre); everything else is jittered as PyMC would.
    """
    jittered = {rv for rv in model.free_RVs if rv.name != "b"}
    # untransformed values keyed by variable name: what pm.sample's initvals expects
    function = make_initial_point_fn(model=model, jitter_rvs=jittered, return_transformed=False)
    return [function(seed) for seed in _get_seeds_per_chain(random_seed, chains)]

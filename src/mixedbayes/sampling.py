"""A thin layer over ``pm.sample``: argument checks and sampler choice, no hidden retries."""

from __future__ import annotations

import importlib.util
import numbers

import arviz as az
import pymc as pm

from .errors import SamplingError

SAMPLERS = ("auto", "pymc", "nutpie", "numpyro", "blackjax")
_MODULES = {"nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}


def choose_sampler(sampler: str) -> str:
    """Resolve ``"auto"`` and check that the chosen sampler is installed.

    ``"auto"`` is PyMC's own NUTS, whose compiled C graph is fast to build and cached
    across runs; the others are used only when asked for.
    """
    if sampler not in SAMPLERS:
        raise SamplingError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
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


def sample(
    model: pm.Model,
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
    """Run NUTS on ``model``; the same ``random_seed`` gives the same draws."""
    draws = check_count("draws", draws, 1)
    tune = check_count("tune", tune, 0)
    chains = check_count("chains", chains, 1)
    if not 0 < target_accept < 1:
        raise SamplingError(f"target_accept must be between 0 and 1, got {target_accept!r}")
    nuts_sampler = choose_sampler(sampler)
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
        )

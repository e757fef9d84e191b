"""Sampling: PyMC's NUTS, nutpie, blackjax and our numpyro driver behind one ``sample``."""

from .drivers import (
    JAX_SAMPLERS,
    SAMPLERS,
    check_count,
    check_seed,
    choose_sampler,
    installed,
    no_node_traces,
    paused_gc,
    sample,
    starting_points,
)

__all__ = [
    "JAX_SAMPLERS",
    "SAMPLERS",
    "check_count",
    "check_seed",
    "choose_sampler",
    "installed",
    "no_node_traces",
    "paused_gc",
    "sample",
    "starting_points",
]

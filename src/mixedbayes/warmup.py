"""``mb.warmup()`` / ``mixedbayes warmup``: compile the common model shapes once per machine.

A compiled sampler depends on the model's shape, not on its data
(:mod:`mixedbayes.sampling.programs`), and a Gaussian model with its random effects
integrated out has the shape of its fixed effects, its random-effect terms and its number
of levels rounded up to a bucket (:func:`mixedbayes.graph.marginal.padded_levels`), not of
its rows. Fitting one simulated data set per shape puts the XLA programs in JAX's
persistent cache (``~/.cache/mixedbayes/jax``), where the first fit of a user's data of
that shape, in any later process, loads them instead of compiling them.
"""

from __future__ import annotations

import time

import pandas as pd

SHAPES = (
    ("y ~ x + (1 | g)", {"g": {"Intercept": 0.5}}),  # random intercepts
    ("y ~ x + (1 + x | g)", {"g": {"Intercept": 0.5, "x": 0.3}}),  # correlated slopes
)
LEVELS = (32, 64, 128, 256)  # buckets: 32 holds every factor of up to 32 levels


def warmup_data(formula: str, sd: dict, levels: int, seed: int = 0) -> pd.DataFrame:
    """A simulated data set of ``formula`` with ``levels`` levels of ``g`` (4 rows each)."""
    from .simulation import simulate

    fixed = {"Intercept": 1.0, "x": 0.5}
    return simulate(
        formula, groups={"g": levels}, n_per_group=4, fixed=fixed, sd=sd, sigma=1.0,
        random_seed=seed,
    )  # fmt: skip


def warmup(
    levels: tuple[int, ...] = LEVELS, draws: int = 1000, chains: int = 4, progressbar=True
) -> pd.DataFrame:
    """Compile the common shapes with the default sampler and settings, once per machine.

    Gaussian models with one predictor and random intercepts, or correlated random
    intercepts and slopes, of one grouping factor with up to each of ``levels`` levels
    (integrated out, so any number of rows). A later fit of that shape with the same
    ``draws`` (and ``tune``) and ``chains`` loads the traced program
    (:mod:`mixedbayes.sampling.exported`) and its executable from JAX's persistent cache;
    building the PyTensor graph still happens in each process (docs/performance.md).

    Parameters
    ----------
    levels : tuple of int, default (32, 64, 128, 256)
        Numbers of levels; each stands for its bucket.
    draws : int, default 1000
        Draws and tune per chain of the fits to prepare for (the library's defaults).
    chains : int, default 4
    progressbar : bool, default True
        Print one line per shape.

    Returns
    -------
    pandas.DataFrame
        ``formula, levels, seconds``: one row per compiled shape.
    """
    from .model import Model

    rows = []
    for formula, sd in SHAPES:
        for n in levels:
            start = time.perf_counter()
            data = warmup_data(formula, sd, n)
            Model(formula, data).fit(
                draws=draws, tune=draws, chains=chains, random_seed=0, progressbar=False
            )
            rows.append({"formula": formula, "levels": n, "seconds": time.perf_counter() - start})
            if progressbar:
                print(f"warmup: {formula} with {n} levels: {rows[-1]['seconds']:.1f} s")
    return pd.DataFrame(rows)

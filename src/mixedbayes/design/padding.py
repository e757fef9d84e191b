"""Rows and levels padded to a few sizes, so that data sets of nearby sizes share a sampler.

A compiled sampler depends on the shapes of its data (:mod:`mixedbayes.sampling.programs`).
A model whose random effects are sampled (a GLMM, or a Gaussian model fitted with
``marginalize=False``) has a term per row and a standard-normal ``z`` per level, so
without padding every number of rows or levels compiles its own program: each fold of a
k-fold cross-validation, each data set of a simulation study whose sizes vary. Here the
rows and each grouping factor's levels are padded up to :func:`padded_size` (steps of an
eighth of an octave: at most 1/8 more work):

- a padded row is a copy of row 0 with weight 0, so its term of the log density is
  ``0 * log p(y_0)``, exactly 0 (a copy keeps every value the family accepts, and keeps
  whatever the graph decides from the data: a column of ones stays one);
- a padded level has no rows, so its effect has its prior alone (a standard-normal
  ``z``, or for a centered factor a normal ``r`` or ``u`` with the factor's sd, which
  integrates to 1 whatever the sd and the mean): the draws of the other parameters are draws
  of the unpadded posterior. The sampler drops the padded levels from the draws and their prior
  terms from ``lp`` (:func:`mixedbayes.sampling.numpyro_nuts.sample_numpyro`).

The fixed effects' centring and an ordinal model's starting thresholds use the real rows
(``Design.n_padding``). Models with correlated residuals, censoring or truncation, and
Gaussian models with a factor integrated out, are not padded (their rows enter otherwise).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .additions import Additions
from .blocks import Design, RandomBlock

SMALLEST = 16  # sizes up to this are kept as they are


def padded_size(n: int) -> int:
    """``n`` rounded up to a step of an eighth of an octave (16, 18, 20, ..., 32, 36, ...,
    7,168, 7,680, 8,192, ...); sizes up to 16 stay as they are."""
    if n <= SMALLEST:
        return n
    step = 2 ** ((n - 1).bit_length() - 4)
    return -(-n // step) * step


def paddable(design: Design) -> bool:
    """Whether the rows of ``design`` enter its model one by one (module docstring)."""
    additions = design.additions
    return design.autocor is None and additions.censoring is None and not additions.truncation


def padded_dims(design: Design) -> tuple[str, ...]:
    """The model dimensions that :func:`pad_design` lengthens: the rows (``obs``) and each
    grouping factor's levels (``design.factor_blocks``; a smooth's one level stays)."""
    return ("obs", *(block.group for part in design.parts for block in part.factor_blocks))


def pad_design(design: Design) -> Design:
    """``design`` with its rows and its grouping factors' levels padded (module docstring);
    always with weights (ones on the real rows), so that every size shares one graph."""
    n = design.n_obs
    rows = np.concatenate([np.arange(n), np.zeros(padded_size(n) - n, dtype=int)])
    weights = design.additions.weights
    weights = np.concatenate([np.ones(n) if weights is None else weights, np.zeros(len(rows) - n)])
    additions = dataclasses.replace(design.additions, weights=weights)
    return _pad_part(design, rows, additions, [_pad_part(p, rows) for p in design.dpars])


def _pad_part(part: Design, rows: np.ndarray, additions: Additions | None = None, dpars=()):
    def take(values):
        return None if values is None else values[rows]

    factors = part.factor_blocks
    return dataclasses.replace(
        part,
        y=part.y[rows],
        X=part.X[rows],
        trials=take(part.trials),
        offset=take(part.offset),
        blocks=tuple(_pad_block(block, rows, block in factors) for block in part.blocks),
        additions=part.additions if additions is None else additions,
        dpars=tuple(dpars),
        n_padding=len(rows) - part.n_obs,
    )


def _pad_block(block: RandomBlock, rows: np.ndarray, pad_levels: bool) -> RandomBlock:
    levels = block.levels
    if pad_levels:
        extra = padded_size(len(levels)) - len(levels)
        levels = levels + tuple(f"<padding {j}>" for j in range(extra))
    return dataclasses.replace(block, levels=levels, index=block.index[rows], Z=block.Z[rows])

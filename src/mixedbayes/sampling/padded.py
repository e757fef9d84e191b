"""Draws of a padded model cut back to the model it pads (:mod:`mixedbayes.design.padding`).

The padded model has more rows (weight 0) and more levels per grouping factor (effects
without data: standard normals, or normals with the factor's sd where it is
centered, :mod:`mixedbayes.graph.parameterization`) than the user's, at the end of their
dimensions. Its draws of everything else are draws of the user's posterior, so cutting
each dimension back to the user's length gives the user's posterior; the padded levels'
prior terms come out of ``lp``, the log density at each draw (``energy``, which also holds
their momenta, keeps them: E-BFMI is computed on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymc as pm


@dataclass(frozen=True)
class Padded:
    """What the sampler needs to sample a padded copy of a model instead of the model.

    Attributes
    ----------
    build : callable
        Builds the padded PyMC model.
    coords : dict
        The user's model's coordinates: each dimension's labels.
    dims : tuple of str
        The dimensions that the padding lengthens (by none for a size that needs none:
        the program is the same for every size).
    observed : dict
        The user's model's observed data (the response by name; empty when the likelihood
        is a Potential).
    """

    build: Callable[[], pm.Model]
    coords: dict
    dims: tuple[str, ...]
    observed: dict

    @property
    def lengths(self) -> dict[str, int]:
        """Dimension -> the user's length, for the padded dimensions."""
        return {dim: len(self.coords[dim]) for dim in self.dims}


def padded_priors(model: pm.Model, dims: dict, lengths: dict) -> tuple[list, list]:
    """The free variables with a lengthened dimension, and their elementwise log densities
    (on the sampler's scale) to take the padded entries' terms out of ``lp``."""
    rvs = [rv for rv in model.free_RVs if set(dims.get(rv.name, ())) & set(lengths)]
    return rvs, (model.logp(vars=rvs, sum=False) if rvs else [])


def cut_draws(values: np.ndarray, dims: list[str], lengths: dict) -> np.ndarray:
    """``values`` (chain, draw, *dims) cut to the user's lengths."""
    return values[(slice(None), slice(None), *(slice(lengths.get(d)) for d in dims))]


def padded_log_density(logps: list[np.ndarray], dims: list[list[str]], lengths: dict):
    """(chain, draw): the sum of the padded entries' log densities."""
    total = 0.0
    for logp, names in zip(logps, dims, strict=True):
        real = np.zeros(logp.shape[2:], dtype=bool)
        real[tuple(slice(lengths.get(d)) for d in names)] = True
        total = total + np.where(real, 0.0, logp).sum(axis=tuple(range(2, logp.ndim)))
    return total

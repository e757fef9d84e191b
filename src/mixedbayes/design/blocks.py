"""Frozen design objects: the fixed-effects matrix and one random block per grouping factor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formula import Formula


@dataclass(frozen=True, eq=False)
class RandomBlock:
    """Random effects of one grouping factor, as MixedModels.jl's ``ReMat``.

    Attributes
    ----------
    group : str
        Grouping factor name from the formula (``"student"``, ``"hospital:ward"``).
    factors : tuple of str
        Data columns whose combination defines the levels.
    levels : tuple of str
        Level names, in the order of the rows of the random-effect matrix.
    index : ndarray of int32, shape (n,)
        Level of each observation.
    Z : ndarray of float, shape (n, k)
        Each observation's covariates for the block's k coefficients (never n x levels).
    coefs : tuple of str
        Coefficient names, formulaic style (``"Intercept"``, ``"occasion"``, ``"f[T.b]"``).
    corr_groups : tuple of tuple of int
        Coefficient positions sharing one correlation matrix; ``||`` terms give singletons.
    part_specs : tuple
        formulaic model specs that re-encode new data, one per bar term.
    """

    group: str
    factors: tuple[str, ...]
    levels: tuple[str, ...]
    index: np.ndarray
    Z: np.ndarray
    coefs: tuple[str, ...]
    corr_groups: tuple[tuple[int, ...], ...]
    part_specs: tuple = field(repr=False, default=())

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def correlated_groups(self) -> tuple[tuple[int, ...], ...]:
        """The corr_groups that hold a correlation matrix (two or more coefficients)."""
        return tuple(g for g in self.corr_groups if len(g) > 1)


@dataclass(frozen=True, eq=False)
class Design:
    """A formula bound to data: everything the model builder needs, as arrays.

    Attributes
    ----------
    formula : Formula
    y : ndarray of float, shape (n,)
        The response, coded for the family (0/1 for bernoulli, codes 0..K-1 for ordinal).
    X : ndarray of float, shape (n, p)
        Fixed-effects model matrix (formulaic coding), uncentered.
    fixed_terms : tuple of str
        Names of the columns of X (``"Intercept"`` first when present).
    blocks : tuple of RandomBlock
    n_dropped : int
        Rows dropped for missing values.
    fixed_spec :
        formulaic model spec that re-encodes new data for the fixed part.
    trials : ndarray of float or None
        Binomial trials per observation.
    offset : ndarray of float or None
        Sum of the formula's ``offset(...)`` terms per observation.
    response_levels : tuple of str or None
        Bernoulli text response: (failure, success); ordinal: the categories in order.
    """

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    fixed_terms: tuple[str, ...]
    blocks: tuple[RandomBlock, ...]
    n_dropped: int = 0
    fixed_spec: object = field(repr=False, default=None)
    trials: np.ndarray | None = None
    offset: np.ndarray | None = None
    response_levels: tuple[str, ...] | None = None

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def has_intercept(self) -> bool:
        return "Intercept" in self.fixed_terms

    def block(self, group: str) -> RandomBlock:
        """The block of grouping factor ``group``."""
        for block in self.blocks:
            if block.group == group:
                return block
        raise KeyError(f"no grouping factor {group!r}; the formula has {self.groups}")

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(block.group for block in self.blocks)

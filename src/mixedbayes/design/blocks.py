"""Frozen design objects: the fixed-effects matrix and one random block per grouping factor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formula import Formula
from ..formula.special import GPTerm, SmoothTerm, T2Term
from .additions import Additions
from .autocor import AutocorDesign


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
    dpar : str
        The distributional parameter whose predictor the block enters (``"mu"``); for
        another one, ``group`` carries its prefix (``"sigma_student"``), so that the
        model's variables (``sd_sigma_student``) and dimensions stay distinct.
    smooth : SmoothTerm, GPTerm or None
        For the penalized part of a smooth ``s(x)``: one level, ``Z`` its basis columns,
        and one sd (``sds``) shared by every coefficient; for a Gaussian process ``gp(x)``
        the Hilbert-space basis, each coefficient's sd the kernel's spectral density at
        its frequency (``frequencies``).
    frequencies : ndarray or None
        A ``gp(x)`` block's basis frequencies ``sqrt(lambda_j)``.
    by_level : tuple or None
        ``(column, level)`` for one level's smooth of ``s(x, by = f)``: ``Z`` is zero on
        the other levels' rows.
    coef_ids : tuple of str or None
        Each coefficient's brms ID (``(1 |p| g)``), None without one.
    """

    group: str
    factors: tuple[str, ...]
    levels: tuple[str, ...]
    index: np.ndarray
    Z: np.ndarray
    coefs: tuple[str, ...]
    corr_groups: tuple[tuple[int, ...], ...]
    part_specs: tuple = field(repr=False, default=())
    dpar: str = "mu"
    smooth: SmoothTerm | GPTerm | T2Term | None = None
    frequencies: np.ndarray | None = field(repr=False, default=None)
    by_level: tuple[str, str] | None = None
    coef_ids: tuple[str | None, ...] = ()

    @property
    def label(self) -> str:
        """The grouping factor as the formula writes it (``group`` without a dpar prefix)."""
        return self.group if self.dpar == "mu" else self.group[len(self.dpar) + 1 :]

    @property
    def penalties(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """A smooth's penalties, each with one sd: ``(suffix, coefficient positions)``;
        one for ``s(x)`` (suffix ``""``), three for ``t2(x, z)`` (``"_1"``, ``"_2"``,
        ``"_3"``)."""
        if not isinstance(self.smooth, T2Term):
            return (("", tuple(range(len(self.coefs)))),)
        ends = np.cumsum(self.smooth.penalty_sizes)
        return tuple(
            (f"_{p + 1}", tuple(range(end - size, end)))
            for p, (size, end) in enumerate(zip(self.smooth.penalty_sizes, ends, strict=True))
        )

    def prior_class(self, cls: str) -> str:
        """A prior class of this block's dpar: ``"sd"`` for mu, ``"sigma_sd"`` for sigma."""
        return cls if self.dpar == "mu" else f"{self.dpar}_{cls}"

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def correlated_groups(self) -> tuple[tuple[int, ...], ...]:
        """The corr_groups that hold a correlation matrix (two or more coefficients)."""
        return tuple(g for g in self.corr_groups if len(g) > 1)


def blocks_by_id(blocks) -> dict[str, list[RandomBlock]]:
    """brms ID (``(1 |p| g)``) -> the blocks with a coefficient carrying it, in order."""
    found: dict[str, list[RandomBlock]] = {}
    for block in blocks:
        for name in dict.fromkeys(i for i in block.coef_ids if i is not None):
            found.setdefault(name, []).append(block)
    return found


def joint_labels(blocks) -> list[str]:
    """The coefficients of blocks sharing an ID, prefixed by their dpar but mu's
    (``Intercept``, ``x``, ``sigma_Intercept``): brms's order in ``cor_p``."""
    return [
        coef if block.dpar == "mu" else f"{block.dpar}_{coef}"
        for block in blocks
        for coef in block.coefs
    ]


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
    additions : Additions
        The response's addition terms: weights, censoring, truncation
        (:mod:`mixedbayes.design.additions`); empty without them.
    dpar : str
        The distributional parameter this design predicts (``"mu"``).
    link : str or None
        The link of a dpar other than mu (mu's is the family's).
    dpars : tuple of Design
        One design per other distributional parameter with a formula (``sigma ~ x``):
        its own ``X``, ``fixed_terms``, ``blocks`` and ``offset``, the same rows and
        response; a model without them is the case with one dpar.
    autocor : AutocorDesign or None
        The residual correlation structure (``ar(time = t, gr = g)``), bound to the rows
        (:mod:`mixedbayes.design.autocor`).
    n_padding : int
        Rows at the end that only pad the design to a shared size, with weight 0
        (:mod:`mixedbayes.design.padding`); 0 for a user's design.
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
    additions: Additions = field(default_factory=Additions)
    dpar: str = "mu"
    link: str | None = None
    dpars: tuple[Design, ...] = ()
    autocor: AutocorDesign | None = None
    n_padding: int = 0

    @property
    def parts(self) -> tuple[Design, ...]:
        """The design of every distributional parameter, mu's (this one) first."""
        return (self, *self.dpars)

    @property
    def prefix(self) -> str:
        """The prefix of this dpar's variables and prior classes: ``""`` or ``"sigma_"``."""
        return "" if self.dpar == "mu" else f"{self.dpar}_"

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def real_rows(self) -> slice:
        """The rows that are data, not padding."""
        return slice(0, self.n_obs - self.n_padding)

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

    @property
    def joint_blocks(self) -> dict[str, tuple[RandomBlock, ...]]:
        """brms IDs shared by the blocks of several distributional parameters (``(1 |p| g)``
        in mu's formula and sigma's): ID -> those blocks, mu's first. Their effects are
        correlated across the blocks (checked in :func:`mixedbayes.design.make_design`:
        one factor per ID, every coefficient of such a block with it)."""
        found = blocks_by_id(block for part in self.parts for block in part.blocks)
        return {name: tuple(blocks) for name, blocks in found.items() if len(blocks) > 1}

    @property
    def joint_groups(self) -> set[str]:
        """The groups of the blocks in :attr:`joint_blocks` (sampled, never integrated)."""
        return {block.group for blocks in self.joint_blocks.values() for block in blocks}

    @property
    def factor_blocks(self) -> tuple[RandomBlock, ...]:
        """The blocks of grouping factors: every block but the penalized parts of smooths."""
        return tuple(block for block in self.blocks if block.smooth is None)

"""Per-row precisions through statistics: sigma's formula constant on classes of rows.

With fixed effects alone in sigma's formula (``sigma ~ C(occasion)``, ``sigma ~ Days``)
sigma takes one value per distinct row of sigma's design: ``C`` classes of rows. When,
besides, the integrated factor is the only random part of the mean, the residual is
``e = e0 - X delta`` (``e0`` around the least-squares ``beta0``, ``delta = beta - beta0``)
and, with ``rho_c = 1 / sigma_c^2`` and the likelihood weights ``w``, every sum that
:func:`mixedbayes.graph.rowwise.add_rowwise_marginal` forms over the rows at each gradient
is a sum over the classes of data constants computed once:

    Z~_g'Z~_g = sum_c rho_c ZZ[g, c],             ZZ[g, c] = sum w z z'   (rows in g and c)
    s_g       = sum_c rho_c (ZE[g, c] - ZX[g, c] delta),     ZE = sum w z e0, ZX = sum w z x'
    e~'e~     = sum_c rho_c (EE[c] - 2 XE[c]'delta + delta'XX[c] delta)
    sum_i w_i log(2 pi sigma_i^2) = sum_c W[c] log(2 pi sigma_c^2),   W[c] = sum w

so a gradient costs O(levels x classes) dense products instead of O(rows) scatters (the
statistics are laid out (levels, classes), which is used only while that is small
(:func:`dense_enough`)). Levels are padded as in
:func:`mixedbayes.graph.marginal.padded_levels`; a padded level's statistics are 0 and it adds
exactly nothing.

The same algebra serves AR(1) residuals (:func:`mixedbayes.graph.autocor.ar1_entries`):
their precision's quadratic form is a sum over rows of products of a row with itself or
with its predecessor, with coefficients that depend on ``phi`` only through the gap
between the two rows, so the "classes" are (kind of product, gap). Hence the statistics
are built from :class:`Entries`, terms of a bilinear form, not from rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt

from ..design import Design, RandomBlock
from .marginal_op import padded_levels

DENSE_CELLS = 2  # (levels x classes) at most this many times the rows,
SMALL_CELLS = 2**12  # or at most this many (a product of a few microseconds)


def dense_enough(levels: int, classes: int, n_obs: int) -> bool:
    """Whether a (levels, classes) layout of the statistics is used: its product per
    gradient costs about what a pass over the rows costs, or little in any case."""
    return levels * classes <= max(DENSE_CELLS * n_obs, SMALL_CELLS)


def row_classes(design: Design, block: RandomBlock, sampled) -> tuple | None:
    """``(class of each row, first row of each class)`` of sigma's formula, or None where
    the statistics do not apply: random effects in sigma's formula, other sampled factors
    in the mean's, or too many classes for a dense (levels, classes) layout."""
    parts = [p for p in design.dpars if p.dpar == "sigma"]
    if sampled or len(design.dpars) != 1 or not parts or parts[0].blocks:
        return None
    part = parts[0]
    key = part.X if part.offset is None else np.column_stack([part.X, part.offset])
    _, first, classes = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if not dense_enough(padded_levels(block.n_levels), len(first), design.n_obs):
        return None
    return classes.ravel(), first


@dataclass(frozen=True)
class Entries:
    """The terms of ``x'Q y = sum_c rho_c sum_(e in c) weight_e (x_l y_r + x_r y_l) / 2``
    over entries ``e`` with rows ``left`` (l) and ``right`` (r), each in a class ``c`` whose
    coefficient ``rho_c`` depends on parameters; both rows of an entry are in one level."""

    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray
    classes: np.ndarray
    n_classes: int

    @classmethod
    def of_rows(cls, classes: np.ndarray, weight: np.ndarray) -> Entries:
        """One entry per row (``x_i y_i``), in the row's class."""
        rows = np.arange(len(classes))
        return cls(rows, rows, weight, classes, int(classes.max()) + 1)

    def products(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each entry's ``weight (x_l y_r + x_r y_l) / 2``."""
        left, right = self.left, self.right
        return self.weight * 0.5 * (x[left] * y[right] + x[right] * y[left])

    def counts(self) -> np.ndarray:
        """The entries' weights summed per class."""
        return np.bincount(self.classes, self.weight, self.n_classes)


class ClassStatistics:
    """The data constants of the module docstring for ``block``, the mean's fixed part ``X``
    and the bilinear form of ``entries`` (levels padded to ``levels``), laid out for one
    product each.

    With ``u = (1, -delta)`` and ``v = kron(rho, u)`` every per-level quantity is a row of
    ``cells @ v``: the ``Z'QZ`` entries (statistics in the ``1`` slot only) and the sums
    ``s_a = Z_a'Qe`` (``ZE`` in the ``1`` slot, ``ZX`` in the ``-delta`` slots); ``e'Qe`` is
    ``sum_c rho_c u' gram_c u`` with ``gram_c`` the Gram matrix of ``(e0, X)`` in class c.
    """

    def __init__(self, design: Design, block: RandomBlock, X: np.ndarray, entries, levels: int):
        y = design.y - (design.offset if design.offset is not None else 0.0)
        self.beta0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
        columns = np.column_stack([y - X @ self.beta0, X])  # (e0, X)
        n_classes, k = entries.n_classes, len(block.coefs)
        self.levels, self.k = levels, k
        self.pairs = [(a, b) for a in range(k) for b in range(a + 1)]
        cell = block.index[entries.left].astype(np.int64) * n_classes + entries.classes
        Z, m = block.Z, columns.shape[1]

        def by_cell(values):  # (levels, classes)
            return np.bincount(cell, values, levels * n_classes).reshape(levels, n_classes)

        cells = np.zeros((levels, len(self.pairs) + k, n_classes, m))
        for q, (a, b) in enumerate(self.pairs):
            cells[:, q, :, 0] = by_cell(entries.products(Z[:, a], Z[:, b]))
        for a in range(k):
            for j, x in enumerate(columns.T):
                cells[:, len(self.pairs) + a, :, j] = by_cell(entries.products(Z[:, a], x))
        self.cells = cells.reshape(levels * cells.shape[1], -1)
        self.gram = np.zeros((n_classes, m, m))
        for i in range(m):
            for j in range(i + 1):
                values = entries.products(columns[:, i], columns[:, j])
                gram = np.bincount(entries.classes, values, n_classes)
                self.gram[:, i, j] = self.gram[:, j, i] = gram

    def terms(self, rho, beta) -> tuple:
        """``(e'Qe, Z'QZ entries {(a, b): per level}, s per coefficient)`` for the class
        coefficients ``rho`` and the mean's fixed effects ``beta``."""
        u = pt.concatenate([pt.ones((1,)), -(beta - self.beta0)])
        per_level = pt.dot(self.cells, (rho[:, None] * u[None, :]).flatten())
        per_level = per_level.reshape((self.levels, len(self.pairs) + self.k))
        lower = {pair: per_level[:, q] for q, pair in enumerate(self.pairs)}
        s = [per_level[:, len(self.pairs) + a] for a in range(self.k)]
        quadratic = (pt.dot(self.gram, u) * u[None, :]).sum(axis=1)  # u' gram_c u
        return pt.dot(quadratic, rho), lower, s

    def draws(self, rho: np.ndarray, beta: np.ndarray) -> tuple:
        """NumPy, per draw: ``(s, Z'QZ)`` with shapes (c, G, k) and (c, G, k, k) for
        ``rho`` (c, classes) and ``beta`` (c, p)."""
        u = np.concatenate([np.ones((len(beta), 1)), self.beta0 - beta], axis=1)
        v = (rho[:, :, None] * u[:, None, :]).reshape(len(beta), -1)
        per_level = (v @ self.cells.T).reshape(len(beta), self.levels, -1)
        M = np.empty((len(beta), self.levels, self.k, self.k))
        for q, (a, b) in enumerate(self.pairs):
            M[..., a, b] = M[..., b, a] = per_level[..., q]
        return per_level[..., len(self.pairs) :], M

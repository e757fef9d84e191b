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
statistics are laid out (levels, classes), which is used only while that is at most
:data:`DENSE_CELLS` times the number of rows). Levels are padded as in
:func:`mixedbayes.graph.marginal.padded_levels`; a padded level's statistics are 0 and it adds
exactly nothing.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from ..design import Design, RandomBlock

DENSE_CELLS = 2  # (levels x classes) at most this many times the rows


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
    if block.n_levels * len(first) > DENSE_CELLS * design.n_obs:
        return None
    return classes.ravel(), first


class ClassStatistics:
    """The data constants of the module docstring for ``block`` and the mean's fixed part ``X``
    (rows of ``classes``, levels padded to ``levels``), laid out for one product each.

    With ``u = (1, -delta)`` and ``v = kron(rho, u)`` every per-level quantity is a row of
    ``cells @ v``: the ``Z~'Z~`` entries (statistics in the ``1`` slot only) and the sums
    ``s_a`` (``ZE`` in the ``1`` slot, ``ZX`` in the ``-delta`` slots); ``e~'e~`` is
    ``sum_c rho_c u' gram_c u`` with ``gram_c`` the weighted Gram matrix of ``(e0, X)``.
    """

    def __init__(self, design: Design, block: RandomBlock, X: np.ndarray, classes, levels: int):
        weights = design.additions.weights
        w = np.ones(design.n_obs) if weights is None else weights
        y = design.y - (design.offset if design.offset is not None else 0.0)
        self.beta0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
        columns = np.column_stack([y - X @ self.beta0, X])  # (e0, X)
        n_classes, k = int(classes.max()) + 1, len(block.coefs)
        self.levels, self.k = levels, k
        self.pairs = [(a, b) for a in range(k) for b in range(a + 1)]
        cell = block.index.astype(np.int64) * n_classes + classes
        Z = block.Z
        products = [Z[:, a] * Z[:, b] for a, b in self.pairs]
        cells = np.zeros((levels, len(self.pairs) + k, n_classes, columns.shape[1]))
        for q, values in enumerate(products):
            cells[:, q, :, 0] = _by_cell(cell, w * values, levels, n_classes)
        for a in range(k):
            for j, x in enumerate(columns.T):
                cells[:, len(self.pairs) + a, :, j] = _by_cell(
                    cell, w * Z[:, a] * x, levels, n_classes
                )
        self.cells = cells.reshape(levels * cells.shape[1], -1)
        m = columns.shape[1]
        self.gram = np.zeros((n_classes, m, m))
        for i in range(m):
            for j in range(i + 1):
                gram = np.bincount(classes, w * columns[:, i] * columns[:, j], n_classes)
                self.gram[:, i, j] = self.gram[:, j, i] = gram
        self.w = np.bincount(classes, w, n_classes)

    def terms(self, sigma, beta) -> tuple:
        """``(normalizer + e~'e~, Z~'Z~ entries {(a, b): per level}, s per coefficient)`` for
        ``sigma`` one value per class and the mean's fixed effects ``beta``."""
        rho = 1.0 / sigma**2
        u = pt.concatenate([pt.ones((1,)), -(beta - self.beta0)])
        per_level = pt.dot(self.cells, (rho[:, None] * u[None, :]).flatten())
        per_level = per_level.reshape((self.levels, len(self.pairs) + self.k))
        lower = {pair: per_level[:, q] for q, pair in enumerate(self.pairs)}
        s = [per_level[:, len(self.pairs) + a] for a in range(self.k)]
        quadratic = (pt.dot(self.gram, u) * u[None, :]).sum(axis=1)  # u' gram_c u
        minus2 = pt.dot(self.w, np.log(2.0 * np.pi) + pt.log(sigma**2)) + pt.dot(quadratic, rho)
        return minus2, lower, s


def _by_cell(cell, values, levels: int, n_classes: int) -> np.ndarray:
    """Sums of ``values`` per (level, class), shape (levels, classes)."""
    return np.bincount(cell, values, levels * n_classes).reshape(levels, n_classes)

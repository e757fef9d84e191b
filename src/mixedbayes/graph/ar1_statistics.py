"""AR(1) residuals with the levels' effects integrated out, through statistics, not rows.

Within a level, with ``a_j = phi^(t_j - t_(j-1))`` for a row after another (0 for the
level's first row), the AR(1) correlation's precision gives

    x'R^-1 y = sum_j (x_j - a_j x_(j-1)) (y_j - a_j y_(j-1)) / (1 - a_j^2)
             = sum_j [x_j y_j - a_j (x_j y_(j-1) + x_(j-1) y_j)
                      + a_j^2 x_(j-1) y_(j-1)] / (1 - a_j^2),

so every quadratic form the marginal density needs (``e'A^-1 e``, ``Z_g'A^-1 Z_g``,
``Z_g'A^-1 e_g`` with ``A = sigma^2 R``) is a sum over classes (the level's first rows; per
distinct gap d, the products of a row with itself, with its predecessor and of the
predecessor with itself) of data statistics times a coefficient of ``phi`` and ``sigma``:
:class:`mixedbayes.graph.rowclasses.ClassStatistics` over :func:`ar1_entries`. With ``log|R|
= sum_d n_d log(1 - phi^(2d))`` the density is that of
:func:`mixedbayes.graph.rowwise.add_rowwise_marginal`'s level algebra, whatever the number
of rows. It applies when the factor with the levels of ``gr`` is integrated, no other
factor is sampled and the levels' cells stay dense (:func:`rowclasses.dense_enough`); else
:func:`mixedbayes.graph.autocor.add_autocor_likelihood` whitens the rows.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from ..design import Design, RandomBlock
from ..design.autocor import AutocorDesign
from . import rowclasses
from .marginal_op import LOG_2PI, integrated_levels, padded_levels
from .rowclasses import ClassStatistics, Entries


def ar1_entries(autocor: AutocorDesign) -> tuple[Entries, np.ndarray]:
    """The bilinear form of the module docstring as :class:`Entries` and its distinct gaps
    ``d``: class 0 holds the levels' first rows, classes ``1 + 3i``, ``2 + 3i``, ``3 + 3i``
    the products (row, row), (row, predecessor) and (predecessor, predecessor) at gap
    ``gaps[i]``."""
    rows, mask = autocor.rows, autocor.mask
    following = mask[:, 1:]  # rows are packed at the front of each level
    gaps, gap_class = np.unique(_consecutive_gaps(autocor), return_inverse=True)
    current, previous = rows[:, 1:][following], rows[:, :-1][following]
    first = rows[mask[:, 0], 0]
    base = 1 + 3 * gap_class.ravel()
    ones = np.ones(len(current))
    return (
        Entries(
            left=np.concatenate([first, current, current, previous]),
            right=np.concatenate([first, current, previous, previous]),
            weight=np.concatenate([np.ones(len(first)), ones, 2.0 * ones, ones]),
            classes=np.concatenate(
                [np.zeros(len(first), dtype=np.int64), base, base + 1, base + 2]
            ),
            n_classes=1 + 3 * len(gaps),
        ),
        gaps.astype(float),
    )


def _consecutive_gaps(autocor: AutocorDesign) -> np.ndarray:
    """The time gap from each row that follows another of its level to that one."""
    return np.diagonal(autocor.lags, 1, 1, 2)[autocor.mask[:, 1:]]


def ar1_class_coefficients(phi, gaps: np.ndarray, xp=np):
    """The coefficient of each class of :func:`ar1_entries` in ``x'R^-1 y``, along a last
    axis: ``phi`` a scalar (PyTensor, ``xp=pt``) or an array of draws (NumPy, shape (c, 1))."""
    a = phi**gaps
    inverse = 1.0 / (1.0 - a**2)
    per_gap = xp.stack([inverse, -a * inverse, a**2 * inverse], axis=-1)
    if xp is pt:  # phi a scalar: (gaps, 3)
        return pt.concatenate([pt.ones((1,)), per_gap.flatten()])
    per_gap = per_gap.reshape((*per_gap.shape[:-2], -1))
    return np.concatenate([np.ones((*per_gap.shape[:-1], 1)), per_gap], axis=-1)


class AR1Statistics:
    """The statistics of an AR(1) model whose ``block`` (the levels of ``gr``) is integrated."""

    def __init__(self, design: Design, block: RandomBlock, X: np.ndarray, levels: int):
        self.entries, self.gaps = ar1_entries(design.autocor)
        self.stats = ClassStatistics(design, block, X, self.entries, levels)
        self.n_following = self.entries.counts()[1::3]  # rows after another, per gap
        self.n_obs = design.n_obs

    @staticmethod
    def applies(design: Design, block: RandomBlock, sampled) -> bool:
        autocor = design.autocor
        if not autocor.ar1 or sampled or design.dpars:
            return False
        n_classes = 1 + 3 * len(np.unique(_consecutive_gaps(autocor)))
        return rowclasses.dense_enough(padded_levels(block.n_levels), n_classes, design.n_obs)

    def logp(self, phi, sigma, chol, beta):
        """The marginal log density (PyTensor)."""
        var = sigma**2
        rho = ar1_class_coefficients(phi, self.gaps, pt) / var
        quadratic, lower, s = self.stats.terms(rho, beta)
        logdet_R = pt.dot(self.n_following, pt.log(1.0 - phi ** (2.0 * self.gaps)))
        minus2 = self.n_obs * (LOG_2PI + pt.log(var)) + logdet_R + quadratic
        minus2 = minus2 + integrated_levels(chol, lower, s, self.stats.levels)
        return -0.5 * minus2

    def draws(self, phi: np.ndarray, sigma: np.ndarray, beta: np.ndarray) -> tuple:
        """``(s, Z'A^-1 Z)`` per draw (NumPy; ``phi``, ``sigma`` of shape (c,))."""
        rho = ar1_class_coefficients(phi[:, None], self.gaps) / sigma[:, None] ** 2
        return self.stats.draws(rho, beta)

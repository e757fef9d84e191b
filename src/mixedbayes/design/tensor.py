"""Tensor-product smooths ``t2(x, z)`` in mixed-model form (Wood, Scheipl & Faraway 2013).

mgcv's ``t2`` (and brms's, which fits it through ``smooth2random``) is built from marginal
bases that are each split into a penalized part with an identity penalty and an
unpenalized part:

1. Each margin is mgcv's cubic regression spline (``bs = "cr"``, k knots at quantiles of
   the unique values, :mod:`mixedbayes.design.smooth`) with its penalty scaled as
   ``smoothCon`` scales it. With ``S = U diag(ev) U'`` (descending), the penalized columns
   are ``R = X U_+ diag(ev_+)^-1/2`` (k - 2 columns, identity penalty) and the unpenalized
   space is that of the linear functions, written ``N = [1, (x - mean) / sd]``.
2. The tensor product of two margins is the row-wise Kronecker product of every pair of
   parts. ``R_x * R_z``, ``R_x * N_z`` and ``N_x * R_z`` are penalized, each with its own
   smoothing parameter (identity penalty): three random blocks of one level, three sds
   (``sds_t2xz_1``, ``_2``, ``_3``, as brms names them). ``N_x * N_z`` without its constant
   (absorbed by the intercept) gives three fixed columns: ``x``, ``z`` and ``x z`` scaled.

The penalized columns span exactly mgcv's ``t2`` space with the same three penalties; the
unpenalized part is written in its own basis, so the sds compare with mgcv's only up to
that choice (the fitted surface does not depend on it beyond the priors). New data are
evaluated with the training knots and transforms; a cubic regression spline continues
linearly beyond its outer knots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FormulaError
from .smooth import _as_x, _cr_design, _cr_fs, _r_quantile


@dataclass(frozen=True, eq=False)
class Margin:
    """One margin: its cubic regression spline and the split into penalized columns
    (``transform``) and the linear null space (``center``, ``scale``)."""

    knots: np.ndarray
    coef_map: np.ndarray
    transform: np.ndarray
    center: float
    scale: float

    @classmethod
    def of(cls, x, k: int) -> Margin:
        x = _as_x(x)
        xu = np.unique(x)
        if xu.size < k:
            raise FormulaError(
                f"a t2() margin has {xu.size} unique values, fewer than k = {k}; reduce k"
            )
        knots = _r_quantile(xu, k)
        coef_map, S = _cr_fs(knots)
        X = _cr_design(x, knots, coef_map)
        S = S * (np.abs(X).sum(axis=1).max() ** 2 / np.abs(S).sum(axis=0).max())
        ev, U = np.linalg.eigh(S)
        ev, U = ev[::-1][: k - 2], U[:, ::-1][:, : k - 2]
        scale = float(np.std(x)) or 1.0
        return cls(knots, coef_map, U / np.sqrt(ev), float(np.mean(x)), scale)

    def penalized(self, x) -> np.ndarray:
        """``R`` at x: (n, k - 2), identity penalty."""
        return _cr_design(_as_x(x), self.knots, self.coef_map) @ self.transform

    def unpenalized(self, x) -> np.ndarray:
        """``N`` at x: the constant and the standardized covariate, (n, 2)."""
        x = _as_x(x)
        return np.column_stack([np.ones_like(x), (x - self.center) / self.scale])


@dataclass(frozen=True, eq=False)
class TensorBasis:
    """``t2(x, z)`` fitted to training values; evaluates its parts at new values."""

    margins: tuple[Margin, Margin]

    @classmethod
    def of(cls, x, z, k: int) -> TensorBasis:
        return cls((Margin.of(x, k), Margin.of(z, k)))

    def random(self, x, z, penalty: int) -> np.ndarray:
        """The columns of penalty 1 (``R_x R_z``), 2 (``R_x N_z``) or 3 (``N_x R_z``)."""
        mx, mz = self.margins
        pairs = {
            1: (mx.penalized(x), mz.penalized(z)),
            2: (mx.penalized(x), mz.unpenalized(z)),
            3: (mx.unpenalized(x), mz.penalized(z)),
        }
        return _row_kronecker(*pairs[penalty])

    def fixed(self, x, z) -> np.ndarray:
        """``N_x N_z`` without the constant: x, z and x z (standardized), (n, 3)."""
        mx, mz = self.margins
        return _row_kronecker(mx.unpenalized(x), mz.unpenalized(z))[:, 1:]


def _row_kronecker(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row i is ``kron(a[i], b[i])``."""
    return (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1)

"""The Hilbert-space approximation of a one-dimensional Gaussian process (Solin and
Sarkka 2020; Riutort-Mayol et al. 2023, as brms's ``gp(..., k = )`` and bambi's
``hsgp()``).

On ``[-L, L]`` the Laplacian's eigenfunctions ``phi_j(x) = sin(sqrt(l_j) (x + L)) /
sqrt(L)``, ``l_j = (j pi / (2 L))^2``, give ``f(x) = sum_j phi_j(x) sqrt(S(sqrt(l_j)))
z_j`` with ``z_j`` standard normal and ``S`` the kernel's spectral density, so that
``cov(f(x), f(x')) = sum_j S(sqrt(l_j)) phi_j(x) phi_j(x')``, which approaches the
kernel as ``k`` grows and ``L`` exceeds the data. The covariate is centred and divided by
its range first (brms's scaling: the lengthscale is in units of the range), and
``L = c max |x~|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError


@dataclass(frozen=True)
class HSGPDomain:
    """Where the basis lives: ``x~ = (x - center) / scale`` and the boundary ``L``."""

    center: float
    scale: float
    L: float

    @classmethod
    def of(cls, x, c: float) -> HSGPDomain:
        x = np.asarray(x, dtype=float)
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise DataError("gp(): the covariate must be finite")
        scale = float(x.max() - x.min())
        if scale <= 0:
            raise DataError("gp(): the covariate takes a single value")
        center = float(x.mean())
        return cls(center, scale, float(c * np.abs((x - center) / scale).max()))

    def frequencies(self, k: int) -> np.ndarray:
        """``sqrt(l_j)``, j = 1..k."""
        return np.arange(1, k + 1) * np.pi / (2.0 * self.L)

    def basis(self, x, k: int) -> np.ndarray:
        """(n, k) eigenfunctions at ``x`` (new x beyond ``L`` get the periodic extension,
        so predictions far outside the data are not to be trusted)."""
        scaled = (np.asarray(x, dtype=float) - self.center) / self.scale
        return np.sin(np.outer(scaled + self.L, self.frequencies(k))) / np.sqrt(self.L)


def spectral_density(kernel: str, omega, sd, lscale, xp=np):
    """The 1-D spectral density of ``kernel`` at ``omega`` for marginal sd ``sd`` and
    lengthscale ``lscale`` (NumPy or PyTensor, ``xp``)."""
    if kernel == "exp_quad":
        return sd**2 * np.sqrt(2.0 * np.pi) * lscale * xp.exp(-0.5 * (lscale * omega) ** 2)
    nu = {"matern32": 1.5, "matern52": 2.5}[kernel]
    rate = np.sqrt(2.0 * nu) / lscale
    constant = {1.5: 4.0, 2.5: 16.0 / 3.0}[nu]
    return sd**2 * constant * rate ** (2.0 * nu) / (rate**2 + omega**2) ** (nu + 0.5)

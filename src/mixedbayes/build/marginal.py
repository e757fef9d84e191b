"""Gaussian models with one grouping factor's random effects integrated out.

NUTS then samples only the fixed effects, the sds and correlations, sigma and the other
factors' (non-centered) effects, from the exact marginal likelihood
(:mod:`mixedbayes.build.marginal_op`). After sampling, :func:`draw_random_effects` draws
the integrated effects from their exact conditional posterior, draw by draw, so ``r_g``
is in the posterior as for a model that sampled it.

With a single grouping factor the residual is ``e = y - X beta`` and every sum the
likelihood needs is a linear or quadratic function of ``beta`` with coefficients computed
once from the data (``Z_g'X``, ``Z_g'y``, ``X'X``, ...): a gradient costs O(levels), not
O(rows). With other factors (crossed or nested) the residual is formed row by row and
summed per level, which is still one pass over the rows.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp
import xarray as xr

from ..design import Design, RandomBlock
from ..errors import SamplingError
from .marginal_op import marginal_logp

_CHUNK = 20_000_000  # values per chunk when drawing the integrated effects


def marginal_choice(design: Design, family, marginalize) -> str | None:
    """The grouping factor to integrate out, or None.

    ``"auto"``: for Gaussian (identity link) models with random effects, the factor with
    the most levels (then the most coefficients). ``True`` insists (an error otherwise);
    a factor's name picks it; ``False`` never integrates.
    """
    if marginalize is False or marginalize is None:
        return None
    exact = family.name == "gaussian" and family.link == "identity"
    if marginalize == "auto" or marginalize is True:
        if exact and design.blocks:
            return max(design.blocks, key=lambda b: (b.n_levels, len(b.coefs))).group
        if marginalize is True:
            why = "no random effects" if exact else f"the {family.name} family"
            raise SamplingError(
                f"marginalize=True integrates random effects out of Gaussian models; "
                f"this model has {why}. Use marginalize='auto' or False."
            )
        return None
    if isinstance(marginalize, str) and marginalize in design.groups:
        if not exact:
            raise SamplingError(
                f"marginalize={marginalize!r}: random effects can be integrated out "
                f"exactly only with the gaussian family (identity link), not {family.name}"
            )
        return marginalize
    raise SamplingError(
        f"marginalize must be 'auto', True, False or a grouping factor of the formula "
        f"({', '.join(design.groups) or 'none'}), got {marginalize!r}"
    )


def add_marginal_likelihood(design: Design, block: RandomBlock, chol, sigma, eta, linear):
    """Add the marginal log density of the response as the Potential ``marginal_loglik``.

    ``eta`` is the linear predictor without ``block``'s effects; ``linear`` is ``(X,
    beta)`` with ``X @ beta`` its fixed part.
    """
    ztz = _level_crossproducts(block)
    if len(design.blocks) == 1:
        s, ee = _sums_from_statistics(design, block, *linear)
    else:
        e = design.y - eta
        zero = pt.zeros(block.n_levels)
        s = [pt.inc_subtensor(zero[block.index], z * e) for z in block.Z.T]  # per-level sums
        ee = pt.sum(e**2)
    logp = marginal_logp(chol, sigma, s, ee, ztz, design.n_obs)
    return pm.Potential("marginal_loglik", logp)


def _sums_from_statistics(design: Design, block: RandomBlock, X, beta):
    """``s`` (per coefficient, sums ``Z[:, j]'e`` per level) and ``e'e`` for ``e = y - X beta``.

    The sums are taken around the least-squares ``beta0`` (``e = e0 - X (beta - beta0)``)
    so that ``e'e`` is not a small difference of large numbers.
    """
    y = design.y - (design.offset if design.offset is not None else 0.0)
    beta0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
    e0 = y - X @ beta0
    zte0 = _level_sums(block, e0)
    ztx = np.zeros((block.n_levels, len(block.coefs), X.shape[1]))
    for c in range(X.shape[1]):
        ztx[:, :, c] = _level_sums(block, X[:, c])
    delta = beta - beta0
    s = [zte0[:, j] - (ztx[:, j, :] * delta).sum(axis=1) for j in range(len(block.coefs))]
    xtx = X.T @ X
    ee = e0 @ e0 - 2.0 * (delta * (X.T @ e0)).sum() + (xtx * delta[:, None] * delta).sum()
    return s, ee


def _level_sums(block: RandomBlock, w: np.ndarray) -> np.ndarray:
    """Per-level sums of ``Z * w[:, None]``: shape (levels, k)."""
    return np.stack([np.bincount(block.index, z * w, block.n_levels) for z in block.Z.T], axis=-1)


def _level_crossproducts(block: RandomBlock) -> np.ndarray:
    """``Z_g'Z_g`` per level: shape (levels, k, k)."""
    k = block.Z.shape[1]
    out = np.empty((block.n_levels, k, k))
    for i in range(k):
        for j in range(i + 1):
            w = block.Z[:, i] * block.Z[:, j]
            out[:, i, j] = out[:, j, i] = np.bincount(block.index, w, block.n_levels)
    return out


def draw_random_effects(design: Design, group: str, posterior: xr.Dataset, random_seed=None):
    """Draws of ``r_<group>`` from their conditional posterior given each posterior draw.

    Given the other parameters, a level's effects are ``N(M^-1 s, sigma^2 M^-1)`` with
    ``M = Z_g'Z_g + sigma^2 S^-1`` and ``s = Z_g'(y - rest)``.

    Returns
    -------
    xarray.DataArray
        dims ``(chain, draw, group, group__coef)``, like a sampled ``r_<group>``.
    """
    from .model import coef_dim

    block = design.block(group)
    stacked = posterior.stack(sample=("chain", "draw")).transpose("sample", ...)
    n_samples, k, levels = stacked.sizes["sample"], len(block.coefs), block.n_levels
    rest = _RestOfModel(design, block, stacked)
    cov = _covariances(block, stacked)
    sigma = stacked["sigma"].values
    ztz = _level_crossproducts(block)
    where = (np.arange(design.n_obs), block.index)
    rows = [sp.csr_matrix((block.Z[:, j], where), (design.n_obs, levels)) for j in range(k)]
    rng = np.random.default_rng(random_seed)
    out = np.empty((n_samples, levels, k))
    step = max(1, _CHUNK // max(design.n_obs, levels * k * k))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        e = design.y[None, :] - rest.eta(part)  # (c, n)
        s = np.stack([(rows_j.T @ e.T).T for rows_j in rows], axis=-1)  # (c, G, k)
        var = sigma[part, None, None, None] ** 2
        M = ztz[None] + var * np.linalg.inv(cov[part])[:, None]
        C = np.linalg.cholesky(M)
        mean = np.linalg.solve(M, s[..., None])[..., 0]
        noise = rng.standard_normal(mean.shape)[..., None]
        spread = np.linalg.solve(np.swapaxes(C, -1, -2), noise)[..., 0]
        out[part] = mean + np.sqrt(var[..., 0]) * spread
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], levels, k)
    return xr.DataArray(
        out.reshape(shape),
        dims=("chain", "draw", group, coef_dim(group)),
        coords={
            "chain": posterior["chain"],
            "draw": posterior["draw"],
            group: list(block.levels),
            coef_dim(group): list(block.coefs),
        },
    )


def _covariances(block: RandomBlock, stacked) -> np.ndarray:
    """Per draw, the covariance ``S R S`` of a level's effects, (samples, k, k)."""
    from .model import coef_dim

    dim = coef_dim(block.group)
    sd = stacked[f"sd_{block.group}"].transpose("sample", dim).values
    cor_name = f"cor_{block.group}"
    if cor_name in stacked:
        cor = stacked[cor_name].transpose("sample", dim, dim + "_").values
    else:
        cor = np.broadcast_to(np.eye(len(block.coefs)), (len(sd), *[len(block.coefs)] * 2))
    return sd[:, :, None] * cor * sd[:, None, :]


class _RestOfModel:
    """The linear predictor without the integrated block, for chunks of posterior draws."""

    def __init__(self, design: Design, block: RandomBlock, stacked):
        self.design, self.block = design, block
        slopes = [t for t in design.fixed_terms if t != "Intercept"]
        columns = []
        if design.has_intercept:
            columns.append(stacked["Intercept"].values[:, None])
        if slopes:
            columns.append(stacked["b"].transpose("sample", "fixed_term").values)
        self.beta = np.hstack(columns) if columns else np.zeros((stacked.sizes["sample"], 0))
        self.others = [
            (other, stacked[f"r_{other.group}"].transpose("sample", ...).values)
            for other in design.blocks
            if other is not block
        ]

    def eta(self, part: slice) -> np.ndarray:
        d = self.design
        eta = self.beta[part] @ d.X.T
        if d.offset is not None:
            eta = eta + d.offset
        for other, r in self.others:
            eta = eta + np.einsum("snk,nk->sn", r[part][:, other.index], other.Z)
        return eta

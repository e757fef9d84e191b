"""Gaussian models with one grouping factor's random effects integrated out.

NUTS then samples only the fixed effects, the sds and correlations, sigma and the other
factors' (non-centered) effects, from the exact marginal likelihood
(:mod:`mixedbayes.build.marginal_op`); small crossed factors are integrated out along with
it (:mod:`mixedbayes.build.woodbury`). After sampling, :func:`draw_random_effects` draws
the integrated effects from their exact conditional posterior, draw by draw, so ``r_g``
is in the posterior as for a model that sampled it.

The residual is ``e = y - X beta - sum_b Z_b r_b`` (``r_b`` the sampled factors' effects)
and every sum the likelihood needs is a linear or quadratic function of ``beta`` and the
``r_b`` with coefficients computed once from the data (``Z_g'X``, ``Z_g'y``, ``X'X``, and
for crossed or nested factors sparse level-by-level cross-product matrices such as the
student x lecturer counts): a gradient costs O(levels + their nonzeros), not O(rows).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp
import xarray as xr

from ..design import Design, RandomBlock
from ..errors import SamplingError
from .marginal_op import level_inverses, marginal_logp
from .sparse import sparse_product
from .woodbury import SmallFactors, draw_small_effects, small_factors

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


def add_marginal_likelihood(
    design: Design, block: RandomBlock, chol, sigma, linear, sampled, small=()
):
    """Add the marginal log density of the response as the Potential ``marginal_loglik``.

    ``linear`` is ``(X, beta)`` with ``X @ beta`` the fixed part of the linear predictor;
    ``sampled`` lists the other grouping factors as ``(block, effects)``, ``effects`` one
    vector over the block's levels per coefficient; ``small`` lists ``(block, chol)`` of
    factors integrated out with ``block`` (:mod:`mixedbayes.build.woodbury`).
    """
    ztz = _level_crossproducts(block)
    residual = _Residual(design, *linear, sampled)
    s = residual.sums(block)
    logp = marginal_logp(chol, sigma, s, residual.square(), ztz, design.n_obs)
    if small:
        blocks, chols = zip(*small, strict=True)
        factors = SmallFactors(block, list(blocks))
        ue = pt.concatenate([column for b in blocks for column in residual.sums(b)])
        minv = level_inverses(chol, sigma**2, ztz)[2]
        logp = logp + factors.correction(chols, sigma, minv, s, ue)
    return pm.Potential("marginal_loglik", logp)


class _Residual:
    """``e = y - X beta - sum_b Z_b r_b`` (``r_b`` the sampled factors' effects), through
    statistics computed once from the data.

    Its per-level sums and ``e'e`` are linear and quadratic functions of ``beta`` and the
    ``r_b`` whose coefficients are ``Z'X``, per-level sums, and sparse level-by-level
    cross-product matrices between factors (students x lecturers). A gradient then costs
    O(levels + nonzeros of those matrices) with no pass over the rows. The sums are taken
    around the least-squares ``beta0`` (``e = e0 - X (beta - beta0) - ...``) so that
    ``e'e`` is not a small difference of large numbers.
    """

    def __init__(self, design: Design, X, beta, sampled):
        y = design.y - (design.offset if design.offset is not None else 0.0)
        beta0 = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
        self.X, self.e0, self.delta = X, y - X @ beta0, beta - beta0
        self.effects = [
            (other, other.Z[:, c], r) for other, columns in sampled for c, r in enumerate(columns)
        ]

    def sums(self, block: RandomBlock) -> list:
        """Per coefficient j of ``block``, the sums ``Z[:, j]'e`` over its levels."""
        X, out = self.X, []
        for j in range(len(block.coefs)):
            w = block.Z[:, j]
            total = _sums(block, w * self.e0)
            if X.shape[1]:
                ztx = np.stack([_sums(block, w * x) for x in X.T], axis=1)
                total = total - (ztx * self.delta[None, :]).sum(axis=1)
            for other, w2, r in self.effects:
                total = total - sparse_product(_cross(block, w, other, w2), r)
            out.append(total)
        return out

    def square(self):
        """``e'e``."""
        X, e0, delta, effects = self.X, self.e0, self.delta, self.effects
        xtx = X.T @ X
        ee = e0 @ e0 - 2.0 * (delta * (X.T @ e0)).sum() + (xtx * delta[:, None] * delta).sum()
        for i, (other, w, r) in enumerate(effects):
            ee = ee - 2.0 * (r * _sums(other, w * e0)).sum()
            if X.shape[1]:
                xz = np.stack([_sums(other, w * x) for x in X.T], axis=1)
                ee = ee + 2.0 * (r * (xz * delta[None, :]).sum(axis=1)).sum()
            for other2, w2, r2 in effects[i:]:
                twice = 1.0 if r2 is r else 2.0  # the ordered pairs (i, i2) and (i2, i)
                if other2 is other:  # one factor: each row meets one level of both
                    ee = ee + twice * (r * _sums(other, w * w2) * r2).sum()
                else:
                    ee = ee + twice * (r * sparse_product(_cross(other, w, other2, w2), r2)).sum()
        return ee


def _sums(block: RandomBlock, w: np.ndarray) -> np.ndarray:
    """Per-level sums of ``w``."""
    return np.bincount(block.index, w, block.n_levels)


def _cross(a: RandomBlock, w_a: np.ndarray, b: RandomBlock, w_b: np.ndarray) -> sp.csr_matrix:
    """``Z_a'Z_b`` for one coefficient of each factor (levels of ``a`` x levels of ``b``).

    Entry ``(g, h)`` sums ``w_a * w_b`` over the rows in level g of ``a`` and h of ``b``.
    """
    shape = (a.n_levels, b.n_levels)
    return sp.coo_matrix((w_a * w_b, (a.index, b.index)), shape=shape).tocsr()  # sums


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
    """Draws of the integrated effects from their conditional posterior, draw by draw.

    The small factors integrated along with ``group`` (:mod:`mixedbayes.build.woodbury`)
    are drawn first, then ``group``'s levels given them: a level's effects are
    ``N(M^-1 s, sigma^2 M^-1)`` with ``M = Z_g'Z_g + sigma^2 S^-1`` and ``s = Z_g'(y - rest)``.

    Returns
    -------
    dict of str to xarray.DataArray
        ``{"r_<factor>": draws}``, dims ``(chain, draw, factor, factor__coef)``, like a
        sampled ``r_<factor>``.
    """
    block = design.block(group)
    stacked = posterior.stack(sample=("chain", "draw")).transpose("sample", ...)
    rng = np.random.default_rng(random_seed)
    small = small_factors(design, group)
    draws = draw_small_effects(design, block, small, stacked, rng) if small else {}
    for other, values in draws.items():
        stacked[f"r_{other}"] = (("sample", other, f"{other}__coef"), values)
    draws[group] = _draw_level_effects(design, block, stacked, rng)
    return {  # group first
        f"r_{name}": _as_posterior(design.block(name), draws[name], posterior)
        for name in [group, *(b.group for b in small)]
    }


def _draw_level_effects(design: Design, block: RandomBlock, stacked, rng) -> np.ndarray:
    """``(samples, levels, k)`` draws of ``block``'s effects given everything else."""
    n_samples, k, levels = stacked.sizes["sample"], len(block.coefs), block.n_levels
    rest = _RestOfModel(design, block, stacked)
    cov = _covariances(block, stacked)
    sigma = stacked["sigma"].values
    ztz = _level_crossproducts(block)
    where = (np.arange(design.n_obs), block.index)
    rows = [sp.csr_matrix((block.Z[:, j], where), (design.n_obs, levels)) for j in range(k)]
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
    return out


def _as_posterior(block: RandomBlock, values: np.ndarray, posterior) -> xr.DataArray:
    """``(samples, levels, k)`` draws as a DataArray with the posterior's chain and draw."""
    from .model import coef_dim

    group = block.group
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], block.n_levels, len(block.coefs))
    return xr.DataArray(
        values.reshape(shape),
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
    """The linear predictor without the integrated block (and the ``skip`` factors), for
    chunks of posterior draws."""

    def __init__(self, design: Design, block: RandomBlock, stacked, skip=()):
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
            if other is not block and other.group not in skip
        ]

    def eta(self, part: slice) -> np.ndarray:
        d = self.design
        eta = self.beta[part] @ d.X.T
        if d.offset is not None:
            eta = eta + d.offset
        for other, r in self.others:
            eta = eta + np.einsum("snk,nk->sn", r[part][:, other.index], other.Z)
        return eta

"""After sampling a marginal model: the integrated effects drawn from their conditional
posterior, draw by draw, so that ``r_g`` is in the posterior as for a model that sampled it.

The small factors integrated with the large one (:mod:`mixedbayes.graph.woodbury`) are
drawn first, jointly, from ``N(P^-1 b, P^-1)``; then the large factor's levels given them,
each from ``N(M^-1 s, sigma^2 M^-1)`` with ``M = Z_g'Z_g + sigma^2 S^-1`` and
``s = Z_g'(y - rest)``. Every sum of residuals per level comes from statistics computed
once from the data (:class:`ResidualSums`), so a chunk of draws costs O(levels + nonzeros
of the factors' cross products), not a pass over the rows for each draw.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..design import Design, RandomBlock
from .ar1_statistics import AR1Statistics
from .autocor import ar1_coefficients, ar1_innovations, correlation_matrices, level_of_block
from .marginal import _cross, _level_crossproducts, _sums, integrated_along
from .rowwise import (
    draw_rowwise_effects,
    fixed_effect_draws,
    gaussian_draws,
    linear_predictor,
    whitened,
)
from .woodbury import SmallFactors

_CHUNK = 20_000_000  # values per chunk of draws


def draw_random_effects(design: Design, group: str, posterior: xr.Dataset, random_seed=None):
    """Draws of the effects integrated out with ``group`` (see the module docstring).

    Returns
    -------
    dict of str to xarray.DataArray
        ``{"r_<factor>": draws}``, ``group`` first, dims ``(chain, draw, factor,
        factor__coef)``, like a sampled ``r_<factor>``.
    """
    if design.autocor is not None:
        return draw_autocor_effects(design, group, posterior, random_seed)
    stacked = posterior.stack(sample=("chain", "draw")).transpose("sample", ...)
    rng = np.random.default_rng(random_seed)
    if design.dpars:  # per-row sigma (graph/rowwise.py)
        block = design.block(group)
        cov = _covariances(block, stacked)
        values = draw_rowwise_effects(design, block, stacked, cov, rng, _CHUNK)
        return {f"r_{group}": _as_posterior(block, values, posterior)}
    small = [b.group for b in integrated_along(design, group)]
    design = whitened(design)  # rows scaled by sqrt(weights), if any
    block, small = design.block(group), [design.block(name) for name in small]
    draws = {}
    if small:
        rest = ResidualSums(design, stacked, exclude={group, *(b.group for b in small)})
        draws = draw_small_effects(block, small, rest, stacked, rng)
    rest = ResidualSums(design, stacked, exclude={group}, drawn=draws)
    draws[group] = _draw_level_effects(block, rest, stacked, rng)
    return {
        f"r_{name}": _as_posterior(design.block(name), draws[name], posterior)
        for name in [group, *(b.group for b in small)]
    }


class ResidualSums:
    """Per-level sums ``Z_t[:, j]'e`` of the residual ``e = y - offset - X beta - sum_f Z_f
    r_f`` for chunks of posterior draws, over the factors f not in ``exclude`` (their
    effects from the posterior, or from ``drawn``: ``{group: (samples, levels, k)}``)."""

    def __init__(self, design: Design, stacked, exclude: set, drawn: dict | None = None):
        self.design = design
        slopes = [t for t in design.fixed_terms if t != "Intercept"]
        columns = []
        if design.has_intercept:
            columns.append(stacked["Intercept"].values[:, None])
        if slopes:
            columns.append(stacked["b"].transpose("sample", "fixed_term").values)
        self.beta = np.hstack(columns) if columns else np.zeros((stacked.sizes["sample"], 0))
        drawn = drawn or {}
        self.others = [
            (b, drawn[b.group] if b.group in drawn else _effects(stacked, b))
            for b in design.blocks
            if b.group not in exclude
        ]
        self.y = design.y - (design.offset if design.offset is not None else 0.0)
        self._statistics = {}

    def sums(self, target: RandomBlock, part: slice) -> np.ndarray:
        """``(draws in part, target's levels, target's k)``."""
        out = []
        for zty, ztx, crosses in self._of(target):
            total = zty[None, :] - self.beta[part] @ ztx.T
            for (_, r), cross in zip(self.others, crosses, strict=True):
                for c, matrix in enumerate(cross):
                    total = total - (matrix @ r[part, :, c].T).T
            out.append(total)
        return np.stack(out, axis=-1)

    def _of(self, target: RandomBlock) -> list:
        """Per coefficient of ``target``: ``Z'y``, ``Z'X`` and the cross products with each
        other factor's coefficients (computed once)."""
        if target.group not in self._statistics:
            X = self.design.X
            per_coef = []
            for w in target.Z.T:
                zty = _sums(target, w * self.y)
                ztx = np.stack([_sums(target, w * x) for x in X.T], axis=1)
                crosses = [
                    [_cross(target, w, other, z).tocsr() for z in other.Z.T]
                    for other, _ in self.others
                ]
                per_coef.append((zty, ztx.reshape(target.n_levels, X.shape[1]), crosses))
            self._statistics[target.group] = per_coef
        return self._statistics[target.group]


def _effects(stacked, block: RandomBlock) -> np.ndarray:
    return stacked[f"r_{block.group}"].transpose("sample", ...).values


def _draw_level_effects(block: RandomBlock, rest: ResidualSums, stacked, rng) -> np.ndarray:
    """``(samples, levels, k)`` draws of ``block``'s effects given everything else."""
    n_samples, k, levels = stacked.sizes["sample"], len(block.coefs), block.n_levels
    cov = _covariances(block, stacked)
    sigma = stacked["sigma"].values
    ztz = _level_crossproducts(block)
    out = np.empty((n_samples, levels, k))
    step = max(1, _CHUNK // (levels * k * k))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        s = rest.sums(block, part)  # (c, G, k)
        var = sigma[part, None, None, None] ** 2
        M = ztz[None] + var * np.linalg.inv(cov[part])[:, None]
        C = np.linalg.cholesky(M)
        mean = np.linalg.solve(M, s[..., None])[..., 0]
        noise = rng.standard_normal(mean.shape)[..., None]
        spread = np.linalg.solve(np.swapaxes(C, -1, -2), noise)[..., 0]
        out[part] = mean + np.sqrt(var[..., 0]) * spread
    return out


def draw_small_effects(big: RandomBlock, small, rest: ResidualSums, stacked, rng) -> dict:
    """Draws of each small factor's effects from ``N(P^-1 b, P^-1)`` (the notation of
    :mod:`mixedbayes.graph.woodbury`), with ``big`` still integrated out;
    ``{group: array (samples, levels, k)}``."""
    factors = SmallFactors(big, small)
    q, k = factors.q, len(big.coefs)
    ztz = _level_crossproducts(big)
    sigma = stacked["sigma"].values
    big_inv = np.linalg.inv(_covariances(big, stacked))
    small_inv = [np.linalg.inv(_covariances(b, stacked)) for b in small]
    n_samples = len(sigma)
    out = np.empty((n_samples, q))
    step = max(1, _CHUNK // max(big.n_levels * k * k, q * q))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        var = sigma[part] ** 2
        s = rest.sums(big, part)  # (c, G, k)
        ue = np.concatenate([rest.sums(b, part).transpose(0, 2, 1) for b in small], axis=1)
        minv = np.linalg.inv(ztz[None] + var[:, None, None, None] * big_inv[part][:, None])
        total = sum(factors.T[a, b] @ minv[:, :, a, b].T for a in range(k) for b in range(k))
        inner = (factors.utu[None] - total.T.reshape(-1, q, q)) / var[:, None, None]
        weighted = np.einsum("cgab,cgb->cga", minv, s)
        explained = sum((factors.W[a].T @ weighted[:, :, a].T).T for a in range(k))
        b_vec = (ue.reshape(len(var), q) - explained) / var[:, None]
        P = inner + _prior_precision(small, [inv[part] for inv in small_inv], q)
        C = np.linalg.cholesky(P)
        mean = np.linalg.solve(P, b_vec[..., None])[..., 0]
        noise = rng.standard_normal(mean.shape)[..., None]
        out[part] = mean + np.linalg.solve(np.swapaxes(C, -1, -2), noise)[..., 0]
    draws, start = {}, 0
    for b in small:
        n, kb = b.n_levels, len(b.coefs)
        draws[b.group] = out[:, start : start + n * kb].reshape(n_samples, kb, n).transpose(0, 2, 1)
        start += n * kb
    return draws


def _prior_precision(small, inverses, q: int) -> np.ndarray:
    """``G^-1`` per draw, (draws, q, q): each small factor's ``S_b^-1`` (draws, k, k) on
    the diagonals of its coefficient-major block."""
    out = np.zeros((len(inverses[0]), q, q))
    start = 0
    for b, inv in zip(small, inverses, strict=True):
        n, kb = b.n_levels, len(b.coefs)
        levels = np.arange(n)
        for c in range(kb):
            for c2 in range(kb):
                out[:, start + c * n + levels, start + c2 * n + levels] = inv[:, c, c2, None]
        start += n * kb
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


def draw_autocor_effects(design: Design, group: str, posterior: xr.Dataset, random_seed=None):
    """Draws of the effects of ``group`` integrated out with the residuals, from their
    conditional posterior ``N(P^-1 h, P^-1)``, ``P = S^-1 + Z'V^-1 Z``, ``h = Z'V^-1 e``
    per level (``V = sigma^2 R``, ``e`` the residual of everything else)."""
    autocor, block = design.autocor, design.block(group)
    stacked = posterior.stack(sample=("chain", "draw")).transpose("sample", ...)
    rng = np.random.default_rng(random_seed)
    n_samples, k = stacked.sizes["sample"], len(block.coefs)
    if AR1Statistics.applies(design, block, [b for b in design.blocks if b is not block]):
        values = _ar1_statistics_draws(design, block, stacked, rng)
        return {f"r_{group}": _as_posterior(block, values, posterior)}
    params = {name: stacked[name].values for name in autocor.term.parameters}
    sigma = stacked["sigma"].values
    rows, mask = np.maximum(autocor.rows, 0), autocor.mask
    Z = block.Z[rows] * mask[:, :, None]
    cov = _covariances(block, stacked)
    out = np.empty((n_samples, block.n_levels, k))
    target = level_of_block(autocor, block)
    step = max(1, 2_000_000 // max(1, rows.size * rows.shape[1]))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        sd = sigma[part, None, None]
        u = autocor.padded(_residual(design, stacked, group, part)) / sd  # (s, G, T)
        W = Z[None] / sd[..., None]  # (s, G, T, k)
        if autocor.ar1:  # innovations (O(rows)); else the dense factor of R
            a = ar1_coefficients(autocor, params["ar"][part, None, None])
            w, A = ar1_innovations(a, u), ar1_innovations(a, W, np, True)
        else:
            C = np.linalg.cholesky(
                correlation_matrices(autocor, {n: v[part] for n, v in params.items()})
            )
            w, A = np.linalg.solve(C, u[..., None])[..., 0], np.linalg.solve(C, W)
        P = np.linalg.inv(cov[part])[:, None] + np.swapaxes(A, -1, -2) @ A
        h = np.einsum("sgtk,sgt->sgk", A, w)
        chol_P = np.linalg.cholesky(P)
        mean = np.linalg.solve(P, h[..., None])[..., 0]
        noise = rng.standard_normal(mean.shape)[..., None]
        out[part][:, target] = mean + np.linalg.solve(np.swapaxes(chol_P, -1, -2), noise)[..., 0]
    dims = ("chain", "draw", block.group, f"{block.group}__coef")
    values = out.reshape(posterior.sizes["chain"], posterior.sizes["draw"], block.n_levels, k)
    coords = {block.group: list(block.levels), f"{block.group}__coef": list(block.coefs)}
    coords |= {"chain": posterior.chain.values, "draw": posterior.draw.values}
    return {f"r_{group}": xr.DataArray(values, dims=dims, coords=coords)}


def _ar1_statistics_draws(design: Design, block: RandomBlock, stacked, rng) -> np.ndarray:
    """(samples, levels, k): the draws of :func:`draw_autocor_effects` from the AR(1)
    statistics (:mod:`mixedbayes.graph.ar1_statistics`), a few draws' products at a time."""
    stats = AR1Statistics(design, block, design.X, block.n_levels)
    phi, sigma = stacked["ar"].values, stacked["sigma"].values
    cov = _covariances(block, stacked)
    k = len(block.coefs)
    out = np.empty((len(phi), block.n_levels, k))
    step = max(1, _CHUNK // (4 * block.n_levels * (k * k + k)))
    for start in range(0, len(phi), step):
        part = slice(start, min(start + step, len(phi)))
        beta = fixed_effect_draws(design, stacked, part)
        s, M = stats.draws(phi[part], sigma[part], beta)
        out[part] = gaussian_draws(s, M + np.linalg.inv(cov[part])[:, None], rng)
    return out


def _residual(design: Design, stacked, group: str, part: slice) -> np.ndarray:
    """(draws in part, n): ``y - offset - X beta - sum_f Z_f r_f`` over the factors other
    than ``group``."""
    return design.y - linear_predictor(design, stacked, part, skip=group)

"""The marginal likelihood with per-row precisions: likelihood weights and a formula for sigma.

A row with weight ``w_i`` and residual sd ``sigma_i`` contributes ``w_i log N(e_i | z_i'u,
sigma_i)``, which is ``-(w_i / 2) log(2 pi sigma_i^2) - (lambda_i / 2) (e_i - z_i'u)^2``
with precision ``lambda_i = w_i / sigma_i^2``. Scaling the row by ``sqrt(lambda_i)``
(``e~ = sqrt(lambda) e``, ``Z~ = sqrt(lambda) Z``) and integrating ``u_g ~ N(0, S)`` level by
level gives, with ``M_g = Z~_g'Z~_g + S^-1`` and ``s_g = Z~_g'e~_g``,

    -2 log p = sum_i w_i log(2 pi sigma_i^2) + G log|S| + sum_g log|M_g|
               + e~'e~ - sum_g s_g' M_g^-1 s_g,

the density of :mod:`mixedbayes.graph.marginal_op` with unit residual variance plus the
rows' normalizing terms. Two cases:

- **Weights, one sigma** (:func:`whitened`): ``sqrt(w)`` is data, so the rows are scaled once
  and the statistics of :mod:`mixedbayes.graph.marginal` are computed from the scaled rows;
  only ``N`` becomes ``sum(w)``. Small crossed factors are integrated along as without
  weights, and the conditional draws after sampling use the same scaled design.
- **A formula for sigma** (:func:`add_rowwise_marginal`): ``sigma_i`` depends on parameters,
  so ``Z~'Z~`` and the sums are formed in the graph at each evaluation (segment sums over the
  rows: O(rows k^2), the cost of a sampled model's likelihood, with the integrated factor's
  effects gone from the sampled parameters). Random effects in sigma's own formula are
  sampled. Only the largest factor is integrated; :func:`draw_rowwise_effects` draws its
  effects after sampling from ``N(M_g^-1 s_g, M_g^-1)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp

from ..design import Design, RandomBlock
from ..families.base import LINKS
from .marginal_op import LOG_2PI, level_inverses


def whitened(design: Design) -> Design:
    """``design`` with its rows scaled by ``sqrt(w)`` (response, offset, ``X`` and every
    block's ``Z``); itself without weights."""
    weights = design.additions.weights
    if weights is None:
        return design
    root = np.sqrt(weights)
    blocks = tuple(dataclasses.replace(b, Z=b.Z * root[:, None]) for b in design.blocks)
    offset = None if design.offset is None else design.offset * root
    return dataclasses.replace(
        design, y=design.y * root, X=design.X * root[:, None], offset=offset, blocks=blocks
    )


def total_weight(design: Design) -> float:
    """``sum(w)``: the number of rows the weighted likelihood counts."""
    weights = design.additions.weights
    return float(design.n_obs if weights is None else weights.sum())


def add_rowwise_marginal(design: Design, block: RandomBlock, chol, sigma, eta):
    """Add the marginal density with per-row ``sigma`` (a vector expression) as the
    Potential ``marginal_loglik``; ``eta`` is the predictor without ``block``'s effects
    (fixed part, offset and the sampled factors)."""
    weights = design.additions.weights
    w = np.ones(design.n_obs) if weights is None else weights
    precision = w / sigma**2
    root = pt.sqrt(precision)
    e = (design.y - eta) * root
    k, levels = len(block.coefs), block.n_levels
    Z = [block.Z[:, j] * root for j in range(k)]
    s = [_segment_sum(block, Z[j] * e) for j in range(k)]
    lower = {(a, b): _segment_sum(block, Z[a] * Z[b]) for a in range(k) for b in range(a + 1)}
    ztz = pt.stack(  # (levels, k, k), each symmetric pair summed once
        [pt.stack([lower[max(a, b), min(a, b)] for b in range(k)], axis=-1) for a in range(k)],
        axis=-2,
    )
    minus2 = (w * (LOG_2PI + pt.log(sigma**2))).sum() + (e**2).sum()
    if k <= 2:  # closed form, elementwise over the levels
        logdet_S, logdet_M, minv = level_inverses(chol, 1.0, ztz, k)
        explained = sum((s[a] * minv[a, b] * s[b]).sum() for a in range(k) for b in range(k))
    else:  # batched k x k Cholesky factors
        C = pt.linalg.cholesky(ztz + pt.linalg.inv(chol @ chol.T)[None])
        logdet_M = 2.0 * pt.log(pt.diagonal(C, axis1=-2, axis2=-1)).sum()
        logdet_S = 2.0 * pt.log(pt.abs(pt.diag(chol))).sum()
        half = pt.linalg.solve_triangular(C, pt.stack(s, axis=1)[..., None], lower=True)
        explained = (half**2).sum()
    minus2 = minus2 + levels * logdet_S + logdet_M - explained
    return pm.Potential("marginal_loglik", -0.5 * minus2)


def _segment_sum(block: RandomBlock, values):
    """Per-level sums of a vector expression over the rows."""
    return pt.inc_subtensor(pt.zeros(block.n_levels)[block.index], values)


def draw_rowwise_effects(design: Design, block: RandomBlock, stacked, cov, rng, chunk: int):
    """``(samples, levels, k)`` draws of ``block``'s effects given everything else, each
    draw with its own per-row sigma (from sigma's formula): ``N(M_g^-1 s_g, M_g^-1)``;
    ``stacked`` holds the draws along ``sample``, ``cov`` (samples, k, k) the effects'
    prior covariance, ``chunk`` bounds the values held at once."""
    sigma_part = next(p for p in design.dpars if p.dpar == "sigma")
    weights = 1.0 if design.additions.weights is None else design.additions.weights
    n, k, levels = design.n_obs, len(block.coefs), block.n_levels
    indicator = sp.csr_matrix((np.ones(n), (np.arange(n), block.index)), shape=(n, levels))
    Z, n_samples = block.Z, stacked.sizes["sample"]
    out = np.empty((n_samples, levels, k))
    step = max(1, chunk // (10 * n * k * k + levels * k * k))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        e = design.y - linear_predictor(design, stacked, part, skip=block.group)
        sigma = LINKS[sigma_part.link][1](linear_predictor(sigma_part, stacked, part))
        precision = weights / sigma**2  # (c, n)
        s = np.stack([(precision * Z[:, j] * e) @ indicator for j in range(k)], axis=-1)
        M = np.linalg.inv(cov[part])[:, None].repeat(levels, axis=1)  # (c, G, k, k)
        for a in range(k):
            for b in range(a + 1):
                cross = (precision * Z[:, a] * Z[:, b]) @ indicator
                M[..., a, b] += cross
                if b != a:
                    M[..., b, a] += cross
        C = np.linalg.cholesky(M)
        mean = np.linalg.solve(M, s[..., None])[..., 0]
        noise = rng.standard_normal(mean.shape)[..., None]
        out[part] = mean + np.linalg.solve(np.swapaxes(C, -1, -2), noise)[..., 0]
    return out


def linear_predictor(part: Design, stacked, draws: slice, skip: str | None = None):
    """(draws, rows): a dpar's linear predictor on its training rows from posterior draws
    (``stacked`` along ``sample``): offset, fixed effects (``Intercept``, ``b``;
    ``sigma_Intercept``, ``sigma_b``) and every factor's ``r_<g>`` but ``skip``'s."""
    p = part.prefix
    eta = np.zeros((draws.stop - draws.start, part.n_obs))
    if part.offset is not None:
        eta += part.offset
    for j, term in enumerate(part.fixed_terms):
        if term == "Intercept":
            value = stacked[f"{p}Intercept"].values[draws]
        else:
            value = stacked[f"{p}b"].sel({f"{p}fixed_term": term}).values[draws]
        eta += value[:, None] * part.X[:, j]
    for block in part.blocks:
        if block.group != skip:
            r = stacked[f"r_{block.group}"].transpose("sample", ...).values[draws]
            eta += np.einsum("snk,nk->sn", r[:, block.index, :], block.Z)
    return eta

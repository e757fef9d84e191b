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
  so ``Z~'Z~`` and the sums are formed in the graph at each evaluation: from statistics
  per (level, class of rows) where sigma is constant on classes of rows
  (:mod:`mixedbayes.graph.rowclasses`), else as segment sums over the rows (O(rows k^2), the
  cost of a sampled model's likelihood, with the integrated factor's effects gone from the
  sampled parameters). Random effects in sigma's own formula are sampled. Only the largest
  factor is integrated; :func:`draw_rowwise_effects` draws its effects after sampling from
  ``N(M_g^-1 s_g, M_g^-1)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import scipy.sparse as sp

from ..design import Design, RandomBlock
from ..families.base import LINKS
from .marginal_op import LOG_2PI, integrated_levels, padded_levels
from .rowclasses import ClassStatistics, Entries, row_classes


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


def add_rowwise_marginal(design: Design, block: RandomBlock, chol, sigma, eta, linear, sampled):
    """Add the marginal density with per-row sigma as the Potential ``marginal_loglik``.

    ``sigma`` is ``(values, at)``: its vector expression over the rows and a function of
    row indices giving its fixed part at those rows; ``eta`` is the predictor without
    ``block``'s effects (fixed part ``linear = (X, beta)``, offset and the ``sampled``
    factors). Where sigma is constant on classes of rows the sums come from statistics
    (:mod:`mixedbayes.graph.rowclasses`), else from the rows.
    """
    sigma, sigma_at = sigma
    found = row_classes(design, block, sampled)
    if found is not None:
        classes, first = found
        X, beta = linear
        entries = Entries.of_rows(classes, _weights(design))
        stats = ClassStatistics(design, block, X, entries, padded_levels(block.n_levels))
        var = sigma_at(first) ** 2  # per class
        quadratic, lower, s = stats.terms(1.0 / var, beta)
        minus2 = quadratic + pt.dot(entries.counts(), LOG_2PI + pt.log(var))
        levels = stats.levels
    else:
        minus2, lower, s = _row_terms(design, block, sigma, eta)
        levels = block.n_levels
    minus2 = minus2 + integrated_levels(chol, lower, s, levels)
    return pm.Potential("marginal_loglik", -0.5 * minus2)


def _row_terms(design: Design, block: RandomBlock, sigma, eta) -> tuple:
    """``(normalizer + e~'e~, Z~'Z~ entries {(a, b): per level}, s per coefficient)`` from
    the rows scaled by their precisions (segment sums over the rows)."""
    w = _weights(design)
    root = pt.sqrt(w / sigma**2)
    e = (design.y - eta) * root
    k = len(block.coefs)
    Z = [block.Z[:, j] * root for j in range(k)]
    s = [_segment_sum(block, Z[j] * e) for j in range(k)]
    lower = {(a, b): _segment_sum(block, Z[a] * Z[b]) for a in range(k) for b in range(a + 1)}
    minus2 = (w * (LOG_2PI + pt.log(sigma**2))).sum() + (e**2).sum()
    return minus2, lower, s


def _segment_sum(block: RandomBlock, values):
    """Per-level sums of a vector expression over the rows."""
    return pt.inc_subtensor(pt.zeros(block.n_levels)[block.index], values)


def draw_rowwise_effects(design: Design, block: RandomBlock, stacked, cov, rng, chunk: int):
    """``(samples, levels, k)`` draws of ``block``'s effects given everything else, each
    draw with its own per-row sigma (from sigma's formula): ``N(M_g^-1 s_g, M_g^-1)``;
    ``stacked`` holds the draws along ``sample``, ``cov`` (samples, k, k) the effects'
    prior covariance, ``chunk`` bounds the values held at once. ``M_g`` and ``s_g`` come
    from the class statistics where the likelihood used them (:func:`row_classes`)."""
    sigma_part = next(p for p in design.dpars if p.dpar == "sigma")
    others = [b for b in design.blocks if b.group != block.group]
    found = row_classes(design, block, others)
    n, k, levels = design.n_obs, len(block.coefs), block.n_levels
    if found is None:
        system, per_draw = _row_system(design, block, sigma_part), n * (10 * k * k)
    else:
        system, per_draw = _class_system(design, block, sigma_part, *found), levels * k * k
    n_samples = stacked.sizes["sample"]
    out = np.empty((n_samples, levels, k))
    step = max(1, chunk // (per_draw + levels * k * k))
    for start in range(0, n_samples, step):
        part = slice(start, min(start + step, n_samples))
        s, M = system(stacked, part)
        out[part] = gaussian_draws(s, M + np.linalg.inv(cov[part])[:, None], rng)
    return out


def gaussian_draws(s: np.ndarray, M: np.ndarray, rng) -> np.ndarray:
    """One draw from ``N(M^-1 s, M^-1)`` per leading index: ``s`` (..., k), ``M`` (..., k, k);
    elementwise for one or two coefficients (NumPy's batched solves of 1 x 1 and 2 x 2
    systems cost more than the arithmetic)."""
    noise = rng.standard_normal(s.shape)
    if s.shape[-1] == 1:
        m = M[..., 0, 0]
        return (s[..., 0] / m + noise[..., 0] / np.sqrt(m))[..., None]
    if s.shape[-1] == 2:  # M = C C', C = [[c11, 0], [c21, c22]]; mean + C'^-1 noise
        m11, m21, m22 = M[..., 0, 0], M[..., 1, 0], M[..., 1, 1]
        det = m11 * m22 - m21**2
        c11 = np.sqrt(m11)
        c21 = m21 / c11
        c22 = np.sqrt(m22 - c21**2)
        second = noise[..., 1] / c22
        first = (noise[..., 0] - c21 * second) / c11
        mean0 = (m22 * s[..., 0] - m21 * s[..., 1]) / det
        mean1 = (m11 * s[..., 1] - m21 * s[..., 0]) / det
        return np.stack([mean0 + first, mean1 + second], axis=-1)
    C = np.linalg.cholesky(M)
    mean = np.linalg.solve(M, s[..., None])[..., 0]
    return mean + np.linalg.solve(np.swapaxes(C, -1, -2), noise[..., None])[..., 0]


def _row_system(design: Design, block: RandomBlock, sigma_part: Design):
    """``(s, Z~'Z~)`` per draw and level, (c, G, k) and (c, G, k, k), from the rows."""
    weights = _weights(design)
    n, k, levels = design.n_obs, len(block.coefs), block.n_levels
    indicator = sp.csr_matrix((np.ones(n), (np.arange(n), block.index)), shape=(n, levels))
    Z = block.Z

    def system(stacked, part):
        e = design.y - linear_predictor(design, stacked, part, skip=block.group)
        sigma = LINKS[sigma_part.link][1](linear_predictor(sigma_part, stacked, part))
        precision = weights / sigma**2  # (c, n)
        s = np.stack([(precision * Z[:, j] * e) @ indicator for j in range(k)], axis=-1)
        M = np.zeros((*s.shape, k))
        for a in range(k):
            for b in range(a + 1):
                M[..., a, b] = M[..., b, a] = (precision * Z[:, a] * Z[:, b]) @ indicator
        return s, M

    return system


def _class_system(design: Design, block: RandomBlock, sigma_part: Design, classes, first):
    """As :func:`_row_system`, from the class statistics (:mod:`mixedbayes.graph.rowclasses`):
    one product of the statistics with ``kron(rho, (1, -delta))`` per draw."""
    entries = Entries.of_rows(classes, _weights(design))
    stats = ClassStatistics(design, block, design.X, entries, block.n_levels)

    def system(stacked, part):
        eta = linear_predictor(sigma_part, stacked, part, rows=first)
        rho = 1.0 / LINKS[sigma_part.link][1](eta) ** 2  # (c, classes)
        return stats.draws(rho, fixed_effect_draws(design, stacked, part))

    return system


def _weights(design: Design) -> np.ndarray:
    weights = design.additions.weights
    return np.ones(design.n_obs) if weights is None else weights


def fixed_effect_draws(part: Design, stacked, draws: slice) -> np.ndarray:
    """(draws, p): a dpar's fixed effects in the order of its model matrix's columns."""
    p = part.prefix
    columns = []
    for term in part.fixed_terms:
        if term == "Intercept":
            columns.append(stacked[f"{p}Intercept"].values[draws])
        else:
            columns.append(stacked[f"{p}b"].sel({f"{p}fixed_term": term}).values[draws])
    return np.stack(columns, axis=1) if columns else np.zeros((draws.stop - draws.start, 0))


def linear_predictor(
    part: Design, stacked, draws: slice, skip: str | None = None, rows: np.ndarray | None = None
):
    """(draws, rows): a dpar's linear predictor on its training rows (or on ``rows`` of
    them) from posterior draws (``stacked`` along ``sample``): offset, fixed effects
    (``Intercept``, ``b``; ``sigma_Intercept``, ``sigma_b``) and every factor's ``r_<g>``
    but ``skip``'s."""
    rows = np.arange(part.n_obs) if rows is None else rows
    eta = fixed_effect_draws(part, stacked, draws) @ part.X[rows].T
    if part.offset is not None:
        eta += part.offset[rows]
    for block in part.blocks:
        if block.group != skip:
            r = stacked[f"r_{block.group}"].transpose("sample", ...).values[draws]
            index = block.index[rows]
            eta += np.einsum("snk,nk->sn", r[:, index, :], block.Z[rows])
    return eta

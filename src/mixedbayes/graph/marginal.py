"""Gaussian models with one grouping factor's random effects integrated out.

NUTS then samples only the fixed effects, the sds and correlations, sigma and the other
factors' effects, from the exact marginal likelihood
(:mod:`mixedbayes.graph.marginal_op`); small crossed factors are integrated out along with
it (:mod:`mixedbayes.graph.woodbury`). After sampling,
:func:`mixedbayes.graph.conditional.draw_random_effects` draws the integrated effects from
their exact conditional posterior, draw by draw, so ``r_g`` is in the posterior as for a
model that sampled it.

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

from ..design import Design, RandomBlock
from ..errors import SamplingError
from .autocor import same_levels
from .marginal_op import level_inverses, marginal_logp, padded_levels
from .parameterization import nested_in
from .rowwise import total_weight, whitened
from .sparse import sparse_product
from .woodbury import SmallFactors, small_factors


def _not_exact(family) -> str:
    if not family.integrates_exactly:
        return f"the {family.name} family"
    return "censored or truncated responses (no closed form)"


def _exact(design: Design, family) -> bool:
    """Gaussian (identity link); weights and a formula for sigma keep it exact
    (:mod:`mixedbayes.graph.rowwise`), censoring and truncation do not."""
    additions = design.additions
    return (
        family.integrates_exactly and additions.censoring is None and additions.truncation is None
    )


def integrated_along(design: Design, group: str) -> list[RandomBlock]:
    """The small factors integrated out with ``group`` (:func:`small_factors`): none with
    correlated residuals or a formula for sigma, whose likelihoods integrate one factor."""
    if design.autocor is not None or design.dpars:
        return []
    return small_factors(design, group)


def marginal_choice(design: Design, family, marginalize) -> str | None:
    """The grouping factor to integrate out, or None.

    ``"auto"``: for Gaussian (identity link) models with random effects, the factor with
    the most levels (then the most coefficients), passing over one whose choice would leave a
    sampled factor nested in a small factor integrated with it (:func:`_largest_unconfounded`).
    ``True`` insists (an error otherwise); a factor's name picks it; ``False`` never
    integrates.
    """
    if marginalize is False or marginalize is None:
        return None
    if design.autocor is not None:
        return _with_autocor(design, family, marginalize)
    exact = _exact(design, family)
    joint = design.joint_groups
    if marginalize == "auto" or marginalize is True:
        candidates = [b for b in design.blocks if b.group not in joint]
        if exact and candidates:
            return _largest_unconfounded(design, candidates)
        if marginalize is True:
            why = _not_exact(family) if not exact else "no random effects of mu's alone"
            raise SamplingError(
                f"marginalize=True integrates random effects out of Gaussian models; "
                f"this model has {why}. Use marginalize='auto' or False."
            )
        return None
    if isinstance(marginalize, str) and marginalize in design.groups:
        if marginalize in joint:
            raise SamplingError(
                f"marginalize={marginalize!r}: its effects are correlated with another "
                "parameter's (an ID, |p|), so they are sampled; choose another factor or False"
            )
        if not exact:
            raise SamplingError(
                f"marginalize={marginalize!r}: random effects can be integrated out "
                "exactly only with the gaussian family (identity link) and uncensored, "
                f"untruncated responses; this model has {_not_exact(family)}"
            )
        return marginalize
    raise SamplingError(
        f"marginalize must be 'auto', True, False or a grouping factor of the formula "
        f"({', '.join(design.groups) or 'none'}), got {marginalize!r}"
    )


def _with_autocor(design: Design, family, marginalize) -> str | None:
    """With a correlation structure, the factor whose levels are those of its ``gr``
    (integrated with the residuals, :mod:`mixedbayes.graph.autocor`), or None."""
    autocor = design.autocor
    exact = family.integrates_exactly and not design.dpars
    matching = [b.group for b in design.blocks if same_levels(autocor, b)] if exact else []
    if marginalize == "auto" or (marginalize is True and matching):
        return matching[0] if matching else None
    if marginalize in matching:
        return marginalize
    why = (
        f"only the factor with the levels of gr ({autocor.term.gr}) and only for the gaussian "
        "family (identity link) without other formulas"
    )
    raise SamplingError(
        f"marginalize={marginalize!r}: with {autocor.term.text} random effects are integrated "
        f"out for {why}; this model has {', '.join(matching) or 'no such factor'}"
    )


def _largest_unconfounded(design: Design, candidates: list[RandomBlock]) -> str:
    """The factor with the most levels whose sampled factors are not nested in the small
    factors integrated with it (else the factor with the most levels).

    InstEval's lecturers (1,128) are nested in its 14 departments. Integrating the students
    (2,972) and the departments while sampling the lecturers leaves each department's mean
    lecturer effect traded against the department's integrated effect: 14 directions NUTS
    crosses slowly (bulk ESS 100-200 in 1,000 draws for the department and lecturer sds).
    Integrating the lecturers, departments with them, and sampling the students has none.
    """
    order = sorted(candidates, key=lambda b: (b.n_levels, len(b.coefs)), reverse=True)
    for big in order:
        small = small_factors(design, big.group)
        integrated = {big.group, *(b.group for b in small)}
        sampled = [b for b in design.blocks if b.group not in integrated]
        if not any(nested_in(inner, outer) for inner in sampled for outer in small):
            return big.group
    return order[0].group


def add_marginal_likelihood(
    design: Design, block: RandomBlock, chol, sigma, linear, sampled, small=()
):
    """Add the marginal log density of the response as the Potential ``marginal_loglik``.

    ``linear`` is ``(X, beta)`` with ``X @ beta`` the fixed part of the linear predictor;
    ``sampled`` lists the other grouping factors as ``(block, effects)``, ``effects`` one
    vector over the block's levels per coefficient; ``small`` lists ``(block, chol)`` of
    factors integrated out with ``block`` (:mod:`mixedbayes.graph.woodbury`).
    """
    n_obs = total_weight(design)
    if design.additions.weights is not None:  # rows scaled by sqrt(w), graph/rowwise.py
        X, beta = linear
        linear = (X * np.sqrt(design.additions.weights)[:, None], beta)
        design = whitened(design)
        block = design.block(block.group)
        sampled = [(design.block(b.group), r) for b, r in sampled]
        small = [(design.block(b.group), c) for b, c in small]
    # padded levels (none where small factors are integrated along, nor for a smooth's
    # one-level basis) contribute exactly 0
    levels = block.n_levels if small or block.smooth else padded_levels(block.n_levels)
    ztz = _level_crossproducts(block, levels)
    residual = _Residual(design, *linear, sampled)
    s = residual.sums(block, levels)
    logp = marginal_logp(chol, sigma, s, residual.square(), ztz, n_obs)
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

    def sums(self, block: RandomBlock, levels: int | None = None) -> list:
        """Per coefficient j of ``block``, the sums ``Z[:, j]'e`` over its levels (and
        zeros up to ``levels``)."""
        X, out = self.X, []
        for j in range(len(block.coefs)):
            w = block.Z[:, j]
            total = _sums(block, w * self.e0, levels)
            if X.shape[1]:
                ztx = np.stack([_sums(block, w * x, levels) for x in X.T], axis=1)
                total = total - (ztx * self.delta[None, :]).sum(axis=1)
            for other, w2, r in self.effects:
                total = total - sparse_product(_cross(block, w, other, w2, levels), r)
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


def _sums(block: RandomBlock, w: np.ndarray, levels: int | None = None) -> np.ndarray:
    """Per-level sums of ``w`` (zeros after the last level, up to ``levels``)."""
    return np.bincount(block.index, w, levels or block.n_levels)


def _cross(a: RandomBlock, w_a, b: RandomBlock, w_b, levels: int | None = None) -> sp.csr_matrix:
    """``Z_a'Z_b`` for one coefficient of each factor (levels of ``a`` x levels of ``b``).

    Entry ``(g, h)`` sums ``w_a * w_b`` over the rows in level g of ``a`` and h of ``b``;
    ``levels`` pads ``a``'s levels with empty rows.
    """
    shape = (levels or a.n_levels, b.n_levels)
    return sp.coo_matrix((w_a * w_b, (a.index, b.index)), shape=shape).tocsr()  # sums


def _level_crossproducts(block: RandomBlock, levels: int | None = None) -> np.ndarray:
    """``Z_g'Z_g`` per level: shape (levels, k, k), zeros for padded levels."""
    k, levels = block.Z.shape[1], levels or block.n_levels
    out = np.empty((levels, k, k))
    for i in range(k):
        for j in range(i + 1):
            w = block.Z[:, i] * block.Z[:, j]
            out[:, i, j] = out[:, j, i] = np.bincount(block.index, w, levels)
    return out

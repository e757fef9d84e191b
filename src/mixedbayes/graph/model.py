"""Compile a Design, a PriorSet and a Family into a PyMC model.

Variables (names are part of the InferenceData contract):

- ``Intercept``: the intercept on the user's scale. When the model has an intercept, the
  slopes are fitted on centered predictors and the sampled intercept is
  ``Intercept_centered`` (the mean response at the predictors' means); ``Intercept`` is
  derived from it.
- ``b`` (dim ``fixed_term``): the other fixed effects.
- per grouping factor ``g``: ``sd_g`` (dim ``g__coef``), ``z_g`` (dims ``g``, ``g__coef``;
  standard normal, the non-centered parameterization), ``cor_g`` (the correlation matrix,
  when a term is correlated) and ``r_g``, the random effects. A correlated term samples the
  Cholesky factor of its covariance, ``chol_g`` (PyMC's ``LKJCholeskyCov``, with the sd
  priors as its ``sd_dist``), and ``r_g = z_g @ chol_g.T``; an uncorrelated one
  ``r_g = z_g * sd_g``. A factor with an intercept alone and data-rich levels is centered
  (:mod:`mixedbayes.graph.parameterization`): ``r_g`` itself, or, where the likelihood is
  not integrated, ``u_g``: its effects plus the fixed effects constant within its levels
  (the intercept, a participant's sex), with ``r_g = u_g - mean``.
- family auxiliaries such as ``sigma``, ``nu``, ``shape`` or ``phi``, and the observed
  response (the family object adds its own likelihood).
- ``cumulative`` (ordinal) models have no separate intercept: ``Intercept`` (dim
  ``threshold``, labelled ``"a|b"`` between adjacent categories) holds the ordered
  thresholds on the user's scale, sampled as ``Intercept_centered`` at the predictors'
  means.
- ``offset(...)`` terms are added to the linear predictor with coefficient 1.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..design import Design, RandomBlock
from ..design.hsgp import spectral_density
from ..families import Family
from ..families.base import TENSOR_INVERSE_LINKS
from ..priors import PriorSet, create_vector, vector_dist
from .autocor import add_autocor_likelihood, create_parameters, padded_predictor
from .joint import coef_dim, joint_coords, joint_effects
from .marginal import add_marginal_likelihood, integrated_along
from .observed import add_observed
from .parameterization import centered_factors, level_means
from .products import matvec
from .rowwise import add_rowwise_marginal


def response_name(design: Design) -> str:
    """Name of the observed variable: the response, unless it clashes with a parameter."""
    name = design.formula.response
    taken = {"Intercept", "Intercept_centered", "b", "sigma", "nu", "shape", "phi"} | {
        f"{p}_{g}" for g in design.groups for p in ("sd", "z", "r", "u", "cor")
    }
    return f"{name}_obs" if name in taken else name


def observed_data(design: Design) -> dict:
    """The model's observed data as PyMC finds it: the response by :func:`response_name`,
    or nothing where addition terms make the likelihood a Potential
    (:func:`mixedbayes.graph.observed.add_observed`)."""
    return {} if design.additions.any else {response_name(design): design.y}


def threshold_labels(design: Design) -> list[str]:
    """Names of the K - 1 thresholds between adjacent ordinal categories: ``"a|b"``."""
    levels = design.response_levels or ()
    return [f"{a}|{b}" for a, b in zip(levels[:-1], levels[1:], strict=True)]


def model_coords(design: Design, family: Family) -> dict[str, list]:
    """The named dimensions of the model's variables and their labels."""
    coords = {"obs": list(range(design.n_obs))}
    if family.response == "ordinal":
        coords["threshold"] = threshold_labels(design)
    for part in design.parts:
        coords[f"{part.prefix}fixed_term"] = [t for t in part.fixed_terms if t != "Intercept"]
        for block in part.blocks:
            coords[block.group] = list(block.levels)
            coords[coef_dim(block.group)] = list(block.coefs)
            coords[coef_dim(block.group) + "_"] = list(block.coefs)
    if design.autocor is not None and design.autocor.time_points:  # unstr's cortime
        coords["time_point"] = coords["time_point_"] = list(design.autocor.time_points)
    return coords | joint_coords(design)


def build_model(
    design: Design, priors: PriorSet, family: Family, marginalize: str | None = None
) -> pm.Model:
    """The PyMC model of ``design`` with ``priors`` and ``family``'s likelihood.

    ``marginalize`` names a grouping factor whose random effects are integrated out of a
    Gaussian likelihood (:mod:`mixedbayes.graph.marginal`); the model then has no ``z_g``
    or ``r_g`` for it (nor for the small factors integrated along with it,
    :func:`mixedbayes.graph.woodbury.small_factors`), and the observed response is replaced
    by the marginal density.
    """
    with pm.Model(coords=model_coords(design, family)) as model:
        eta, aux, linear = _fixed_effects(design, priors, family)  # shape (n,)
        joint = joint_effects(design, priors)  # effects correlated across dpars (|p|)
        integrated, small = {}, []
        if marginalize is not None:
            small = integrated_along(design, marginalize)
            blocks = [design.block(marginalize), *small]
            integrated = {b.group: covariance_factor(b, priors, compact=True) for b in blocks}
            chol_of = integrated[marginalize]
        others = [block for block in design.blocks if block.group not in integrated]
        centered = centered_factors(design, others) if family.ordered_response else {}
        means = {}  # hierarchical centering, where the likelihood takes eta as it is
        if marginalize is None and design.autocor is None and linear is not None:
            hier = [design.block(g) for g in centered if g not in joint]  # most data first
            eta, means = level_means(design, linear, hier, eta)
        if design.offset is not None:
            eta = eta + design.offset

        def effects(block):  # per-level effect columns; those with an ID made above
            g = block.group
            return joint.get(g) or _random_effects(block, priors, g in centered, means.get(g))

        sampled = [(block, effects(block)) for block in others]
        fixed_at = {}  # a dpar's fixed part at given rows
        for part in design.dpars:  # distributional parameters with formulas
            aux[part.dpar], fixed_at[part.dpar] = _dpar_values(part, priors, joint)
        aux.update({n: priors.get(n).create(n) for n in family.aux if n not in aux})
        if design.autocor is not None:  # residuals correlated within levels
            params = create_parameters(design.autocor, priors)
            with_chol = None if marginalize is None else (design.block(marginalize), chol_of)
            eta = padded_predictor(design.autocor, design, linear, sampled)
            mu = family.tensor_inverse_link(eta)
            add_autocor_likelihood(design, params, mu, aux["sigma"], with_chol, linear, sampled)
        elif marginalize is None:
            for block, columns in sampled:
                eta = eta + _gather(block, columns)
            add_observed(family, response_name(design), eta, aux, design)
        elif design.dpars:  # sigma varies by row: the effects' sums are formed per row
            for block, columns in sampled:
                eta = eta + _gather(block, columns)
            block = design.block(marginalize)
            chol, sigma = integrated[marginalize], (aux["sigma"], fixed_at["sigma"])
            add_rowwise_marginal(design, block, chol, sigma, eta, linear, sampled)
        else:
            block = design.block(marginalize)
            chol = integrated[marginalize]
            with_chols = [(b, integrated[b.group]) for b in small]
            add_marginal_likelihood(design, block, chol, aux["sigma"], linear, sampled, with_chols)
    return model


def _dpar_values(part: Design, priors: PriorSet, joint: dict):
    """A distributional parameter's value per row, ``inverse_link(X b + Z r + offset)``,
    with its variables prefixed (``sigma_Intercept``, ``sigma_b``, ``sd_sigma_g``), and a
    function of row indices giving the value at those rows from the fixed part alone."""
    slopes = [j for j, t in enumerate(part.fixed_terms) if t != "Intercept"]
    b = _slopes(part, priors, slopes)
    X, beta = _linear_fixed_effects(part, priors, part.X[:, slopes], b)
    offset = np.zeros(part.n_obs) if part.offset is None else part.offset

    def at(rows):  # the fixed part alone at some rows (without random effects in part)
        return TENSOR_INVERSE_LINKS[part.link](matvec(X[rows], beta) + offset[rows])

    eta = (matvec(X, beta) if X.shape[1] else pt.zeros(part.n_obs)) + offset
    for block in part.blocks:
        eta = eta + _gather(block, joint.get(block.group) or _random_effects(block, priors))
    return TENSOR_INVERSE_LINKS[part.link](eta), at


def _slopes(design: Design, priors: PriorSet, slopes: list[int]):
    """The slopes ``b`` (``sigma_b`` for another dpar) over their ``fixed_term`` dim."""
    if not slopes:
        return None
    names = tuple(design.fixed_terms[j] for j in slopes)
    b_priors = [priors.get(f"{design.prefix}b", coef=name) for name in names]
    p = design.prefix
    return create_vector(b_priors, f"{p}b", dims=f"{p}fixed_term", labels=names)


def _fixed_effects(design: Design, priors: PriorSet, family: Family):
    """The fixed part of the linear predictor, the ordinal thresholds, and ``(X, beta)``.

    For non-ordinal models the fixed part is ``X @ beta`` with ``X`` the (centered) model
    matrix as a NumPy array; the marginal likelihood uses that form.
    """
    slopes = [j for j, t in enumerate(design.fixed_terms) if t != "Intercept"]
    X = design.X[:, slopes]
    b = _slopes(design, priors, slopes)
    if family.response == "ordinal":
        eta, aux = _ordinal_fixed_effects(design, priors, family, X, b)
        return eta, aux, None
    X, beta = _linear_fixed_effects(design, priors, X, b)
    eta = matvec(X, beta) if X.shape[1] else pt.zeros(design.n_obs)
    return eta, {}, (X, beta)


def _ordinal_fixed_effects(design, priors, family, X, b):
    """Centered slopes, and ordered thresholds (user scale: centered + means @ b)."""
    counts = np.bincount(
        design.y[design.real_rows].astype(int), minlength=len(design.response_levels)
    )
    below = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 0.02, 0.98)
    cut = priors.get("Intercept").create(
        "Intercept_centered",
        dims="threshold",
        transform=pm.distributions.transforms.ordered,
        initval=family.link_function(below),  # the thresholds of the observed proportions
    )
    if b is None:
        pm.Deterministic("Intercept", cut, dims="threshold")
        return pt.zeros(design.n_obs), {"thresholds": cut}
    means = X[design.real_rows].mean(axis=0)
    pm.Deterministic("Intercept", cut + (means * b).sum(), dims="threshold")
    return matvec(X - means, b), {"thresholds": cut}


def _linear_fixed_effects(design: Design, priors: PriorSet, X, b):
    """``(X, beta)``: slopes on centered predictors, after the intercept at their means."""
    if not design.has_intercept:
        return X, (b if b is not None else pt.zeros(0))
    means, name = X[design.real_rows].mean(axis=0), f"{design.prefix}Intercept"
    intercept_c = priors.get(name).create(f"{name}_centered")
    ones = np.ones((design.n_obs, 1))
    if b is None:
        pm.Deterministic(name, intercept_c)
        return ones, intercept_c[None]
    pm.Deterministic(name, intercept_c - (means * b).sum())
    return np.hstack([ones, X - means]), pt.concatenate([intercept_c[None], b])


def _random_effects(block: RandomBlock, priors: PriorSet, centered=False, mean=None) -> list:
    """Random effects ``r_g`` as one vector per coefficient: non-centered,
    ``r_g = z_g @ chol.T`` with standard normal ``z_g``, or centered, ``r_g`` itself a
    normal variable (:mod:`mixedbayes.graph.parameterization`: an intercept alone). Given
    its levels' ``mean`` (the fixed effects constant within levels), a centered factor
    samples ``u_g ~ N(mean, sd_g)``, returned for the linear predictor, and records
    ``r_g = u_g - mean``."""
    g, dim = block.group, coef_dim(block.group)
    chol = covariance_factor(block, priors)
    k = len(block.coefs)
    if centered:
        assert k == 1, "centered_factors centers factors with an intercept alone"
        mu = 0.0 if mean is None else mean[:, None]
        r = pm.Normal(f"r_{g}" if mean is None else f"u_{g}", mu, chol[0, 0], dims=(g, dim))
        if mean is not None:
            pm.Deterministic(f"r_{g}", r - mu, dims=(g, dim))
        return [r[:, 0]]
    z = pm.Normal(f"z_{g}", 0.0, 1.0, dims=(g, dim))  # standard normal
    # column i of r is sum_j z[:, j] chol[i, j]: rows ~ N(0, S R S); chol is diagonal
    # without correlations. Written per column so the gathers below stay 1-D (C code).
    columns = [
        sum(z[:, j] * chol[i, j] for j in range(i + 1) if _may_be_nonzero(block, i, j))
        for i in range(k)
    ]
    pm.Deterministic(f"r_{g}", pt.stack(columns, axis=1), dims=(g, dim))
    return columns


def _pairs_factor(block: RandomBlock, priors: PriorSet, sd_priors) -> pt.TensorVariable:
    """Correlated pairs as sds and ``rho``: for two coefficients LKJ(eta) is
    ``(rho + 1) / 2 ~ Beta(eta, eta)``, so the prior is exactly ``LKJCholeskyCov``'s.

    ``rho_g`` (``rho_g_i`` for the i-th pair; it is ``(rho + 1) / 2``, reported through
    ``cor_g``) is sampled; its graph is a few scalar
    operations, where ``LKJCholeskyCov``'s packed transform costs more per gradient than
    the marginal likelihood it feeds.
    """
    g, dim = block.group, coef_dim(block.group)
    k = len(block.coefs)
    eta = priors.get(block.prior_class("cor"), block.label).params.get("eta", 1.0)
    sd = create_vector(sd_priors, f"sd_{g}", dims=dim, labels=block.coefs)
    entries = {(j, j): sd[j] for j in range(k)}
    cor = pt.eye(k)
    for i, (p, q) in enumerate(block.correlated_groups):
        name = f"rho_{g}" + (f"_{i}" if len(block.correlated_groups) > 1 else "")
        rho = 2.0 * pm.Beta(name, eta, eta) - 1.0
        entries[q, p] = sd[q] * rho
        entries[q, q] = sd[q] * pt.sqrt(1.0 - rho**2)
        cor = pt.set_subtensor(cor[p, q], rho)
        cor = pt.set_subtensor(cor[q, p], rho)
    pm.Deterministic(f"cor_{g}", cor, dims=(dim, dim + "_"))
    return _lower(entries, k)


def _lower(entries: dict, k: int):
    """A k x k matrix stacked from scalar ``entries`` ({(i, j): value}; others zero).

    Indexing it later (``chol[i, j]``) is rewritten to the scalar itself, and unlike
    ``pt.diag`` its gradient needs no Python-only operation.
    """
    zero = pt.constant(0.0)
    return pt.stack([pt.stack([entries.get((i, j), zero) for j in range(k)]) for i in range(k)])


def _may_be_nonzero(block: RandomBlock, i: int, j: int) -> bool:
    """Whether ``chol[i, j]`` can be nonzero: diagonal, or both in one correlated term."""
    return i == j or any(i in group and j in group for group in block.correlated_groups)


def _penalized_sds(block: RandomBlock, priors: PriorSet):
    """The sds of a smooth's coefficients (one shared ``sds_g``), or of a Hilbert-space GP's
    (``sqrt(S(omega_j))`` for its ``sdgp_g`` and ``lscale_g``, :mod:`mixedbayes.design.hsgp`)."""
    g, k = block.group, len(block.coefs)
    if block.frequencies is None:  # one sd per penalty: sds_sx_1; sds_t2xz_1, _2, _3
        sd = [None] * k
        for suffix, positions in block.penalties:
            cls = block.prior_class("sds")
            sds = priors.get(cls, block.label + suffix).create(f"sds_{g}{suffix}")
            for j in positions:
                sd[j] = sds
        return pt.stack(sd)
    sd = priors.get(block.prior_class("sdgp"), block.label).create(f"sdgp_{g}")
    lscale = priors.get(block.prior_class("lscale"), block.label).create(f"lscale_{g}")
    density = spectral_density(block.smooth.cov, block.frequencies, sd, lscale, xp=pt)
    return pt.sqrt(density)


def covariance_factor(block: RandomBlock, priors: PriorSet, compact: bool = False):
    """Lower-triangular ``chol`` with ``chol @ chol.T`` the covariance of a level's effects.

    Creates the sd priors and, per correlated term, an ``LKJCholeskyCov`` (the sd priors as
    its ``sd_dist``), and records ``sd_g`` (and ``cor_g``). ``||`` terms and single
    coefficients give diagonal blocks. ``compact=True`` writes correlated pairs (intercept
    and one slope) as two sds and a correlation instead (:func:`_pairs_factor`).
    """
    g, dim = block.group, coef_dim(block.group)
    k = len(block.coefs)
    if block.smooth is not None:  # a smooth's or a GP's basis: independent effects
        sd = _penalized_sds(block, priors)
        pm.Deterministic(f"sd_{g}", sd, dims=dim)
        return _lower({(j, j): sd[j] for j in range(k)}, k)
    sd_priors = [priors.get(block.prior_class("sd"), block.label, coef) for coef in block.coefs]
    if not block.correlated_groups:
        sd = create_vector(sd_priors, f"sd_{g}", dims=dim, labels=block.coefs)
        return _lower({(j, j): sd[j] for j in range(k)}, k)
    if compact and all(len(group) == 2 for group in block.correlated_groups):
        return _pairs_factor(block, priors, sd_priors)

    eta = priors.get(block.prior_class("cor"), block.label).params.get("eta", 1.0)
    chol, sd_parts, cor = pt.zeros((k, k)), [], pt.eye(k)
    for i, positions in enumerate(block.corr_groups):
        first = positions[0]
        columns = slice(first, first + len(positions))  # positions are contiguous
        if len(positions) == 1:
            sd_j = sd_priors[first].create(f"sd_{g}[{block.coefs[first]}]")
            sd_parts.append(sd_j[None])
            chol = pt.set_subtensor(chol[first, first], sd_j)
            continue
        what = f"the sds of the correlated term ({' + '.join(block.coefs[columns])} | {g})"
        chol_i, corr, sd_block = pm.LKJCholeskyCov(
            f"chol_{g}" + (f"_{i}" if len(block.correlated_groups) > 1 else ""),
            n=len(positions),
            eta=eta,
            sd_dist=vector_dist(sd_priors[columns], what),
            compute_corr=True,
            store_in_trace=False,
        )
        sd_parts.append(sd_block)
        chol = pt.set_subtensor(chol[columns, columns], chol_i)
        cor = pt.set_subtensor(cor[columns, columns], corr)
    pm.Deterministic(f"sd_{g}", pt.concatenate(sd_parts), dims=dim)
    pm.Deterministic(f"cor_{g}", cor, dims=(dim, dim + "_"))
    return chol


def _gather(block: RandomBlock, columns):
    """Each observation's random-effect contribution: sum_j Z[:, j] * r[level, j]."""
    total = 0.0
    for j, column in enumerate(columns):
        rows = column[block.index]
        total = total + (rows if np.all(block.Z[:, j] == 1.0) else rows * block.Z[:, j])
    return total

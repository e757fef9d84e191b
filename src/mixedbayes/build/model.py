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
  ``r_g = z_g * sd_g``.
- family auxiliaries such as ``sigma``, ``nu``, ``shape`` or ``phi``, and the observed
  response (its likelihood is in :mod:`mixedbayes.build.likelihood`).
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
from ..families import Family
from ..priors import PriorSet, create_vector, vector_dist
from .likelihood import add_likelihood


def coef_dim(group: str) -> str:
    """Name of the coefficient dimension of grouping factor ``group``."""
    return f"{group}__coef"


def response_name(design: Design) -> str:
    """Name of the observed variable: the response, unless it clashes with a parameter."""
    name = design.formula.response
    taken = {"Intercept", "Intercept_centered", "b", "sigma", "nu", "shape", "phi"} | {
        f"{p}_{g}" for g in design.groups for p in ("sd", "z", "r", "cor")
    }
    return f"{name}_obs" if name in taken else name


def threshold_labels(design: Design) -> list[str]:
    """Names of the K - 1 thresholds between adjacent ordinal categories: ``"a|b"``."""
    levels = design.response_levels or ()
    return [f"{a}|{b}" for a, b in zip(levels[:-1], levels[1:], strict=True)]


def build_model(design: Design, priors: PriorSet, family: Family) -> pm.Model:
    """The PyMC model of ``design`` with ``priors`` and ``family``'s likelihood."""
    ordinal = family.response == "ordinal"
    coords = {"obs": np.arange(design.n_obs)}
    coords["fixed_term"] = [t for t in design.fixed_terms if t != "Intercept"]
    if ordinal:
        coords["threshold"] = threshold_labels(design)
    for block in design.blocks:
        coords[block.group] = list(block.levels)
        coords[coef_dim(block.group)] = list(block.coefs)
        coords[coef_dim(block.group) + "_"] = list(block.coefs)
    with pm.Model(coords=coords) as model:
        eta, aux = _fixed_effects(design, priors, family)  # linear predictor, shape (n,)
        if design.offset is not None:
            eta = eta + design.offset
        for block in design.blocks:
            eta = eta + _random_effects(block, priors)
        aux.update({name: priors.get(name).create(name) for name in family.aux})
        add_likelihood(family, response_name(design), eta, aux, design, "obs")
    return model


def _fixed_effects(design: Design, priors: PriorSet, family: Family):
    """The fixed part of the linear predictor, and the thresholds of ordinal models."""
    slopes = [j for j, t in enumerate(design.fixed_terms) if t != "Intercept"]
    names = tuple(design.fixed_terms[j] for j in slopes)
    X = design.X[:, slopes]
    b = None
    if slopes:
        b_priors = [priors.get("b", coef=name) for name in names]
        b = create_vector(b_priors, "b", dims="fixed_term", labels=names)
    if family.response == "ordinal":
        return _ordinal_fixed_effects(design, priors, family, X, b)
    return _linear_fixed_effects(design, priors, X, b), {}


def _ordinal_fixed_effects(design, priors, family, X, b):
    """Centered slopes, and ordered thresholds (user scale: centered + means @ b)."""
    counts = np.bincount(design.y.astype(int), minlength=len(design.response_levels))
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
    means = X.mean(axis=0)
    pm.Deterministic("Intercept", cut + pt.dot(means, b), dims="threshold")
    return pt.dot(X - means, b), {"thresholds": cut}


def _linear_fixed_effects(design: Design, priors: PriorSet, X, b):
    if not design.has_intercept:
        return pt.dot(X, b) if b is not None else pt.zeros(design.n_obs)
    means = X.mean(axis=0)
    intercept_c = priors.get("Intercept").create("Intercept_centered")
    if b is None:
        pm.Deterministic("Intercept", intercept_c)
        return intercept_c * pt.ones(design.n_obs)
    pm.Deterministic("Intercept", intercept_c - pt.dot(means, b))
    return intercept_c + pt.dot(X - means, b)


def _random_effects(block: RandomBlock, priors: PriorSet):
    g, dim = block.group, coef_dim(block.group)
    sd_priors = [priors.get("sd", g, coef) for coef in block.coefs]
    z = pm.Normal(f"z_{g}", 0.0, 1.0, dims=(g, dim))  # non-centered: standard normal
    if not block.correlated_groups:
        sd = create_vector(sd_priors, f"sd_{g}", dims=dim, labels=block.coefs)
        return _gather(block, pm.Deterministic(f"r_{g}", z * sd, dims=(g, dim)))

    eta = priors.get("cor", g).params.get("eta", 1.0)
    k = len(block.coefs)
    r_parts, sd_parts, cor = [], [], pt.eye(k)
    for i, positions in enumerate(block.corr_groups):
        first = positions[0]
        columns = slice(first, first + len(positions))  # positions are contiguous
        if len(positions) == 1:
            sd_j = sd_priors[first].create(f"sd_{g}[{block.coefs[first]}]")
            sd_parts.append(sd_j[None])
            r_parts.append(z[:, columns] * sd_j)
            continue
        what = f"the sds of the correlated term ({' + '.join(block.coefs[columns])} | {g})"
        chol, corr, sd_block = pm.LKJCholeskyCov(
            f"chol_{g}" + (f"_{i}" if len(block.correlated_groups) > 1 else ""),
            n=len(positions),
            eta=eta,
            sd_dist=vector_dist(sd_priors[columns], what),
            compute_corr=True,
            store_in_trace=False,
        )
        sd_parts.append(sd_block)
        r_parts.append(pt.dot(z[:, columns], chol.T))  # rows ~ N(0, S R S)
        cor = pt.set_subtensor(cor[columns, columns], corr)
    pm.Deterministic(f"sd_{g}", pt.concatenate(sd_parts), dims=dim)
    pm.Deterministic(f"cor_{g}", cor, dims=(dim, dim + "_"))
    r = pm.Deterministic(f"r_{g}", pt.concatenate(r_parts, axis=1), dims=(g, dim))
    return _gather(block, r)


def _gather(block: RandomBlock, r):
    """Each observation's random-effect contribution: sum_j Z[:, j] * r[level, j]."""
    rows = r[block.index]  # (n, k): the effects of each observation's level
    constant = np.all(block.Z == 1.0, axis=0)
    total = rows[:, np.flatnonzero(constant)].sum(axis=1) if constant.any() else 0.0
    varying = np.flatnonzero(~constant)
    if varying.size:
        total = total + (rows[:, varying] * block.Z[:, varying]).sum(axis=1)
    return total

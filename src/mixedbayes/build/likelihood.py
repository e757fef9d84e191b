"""The PyMC likelihood of each family (parametrizations in :mod:`mixedbayes.families`).

Each function adds the observed variable given the linear predictor ``eta``; logit links
use PyMC's ``logit_p`` arguments, which stay finite in the tails.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from ..families import Family


def inverse_link(link: str, eta):
    """The PyTensor inverse link."""
    if link == "identity":
        return eta
    if link == "log":
        return pt.exp(eta)
    if link == "logit":
        return pm.math.invlogit(eta)
    if link == "probit":
        return 0.5 * pt.erfc(-eta / pt.sqrt(2.0))
    if link == "cloglog":
        return -pt.expm1(-pt.exp(eta))
    if link == "inverse":
        return 1.0 / eta
    raise ValueError(f"unknown link {link!r}")


def add_likelihood(family: Family, name: str, eta, aux: dict, design, dims: str):
    """Add ``family``'s observed variable ``name`` for ``design.y`` to the current model.

    ``aux`` holds the auxiliary parameters (and, for ``cumulative``, the thresholds).
    """
    y = design.y
    link = family.link
    if family.name == "gaussian":
        return pm.Normal(name, mu=eta, sigma=aux["sigma"], observed=y, dims=dims)
    if family.name == "student_t":
        return pm.StudentT(name, nu=aux["nu"], mu=eta, sigma=aux["sigma"], observed=y, dims=dims)
    if family.name in ("bernoulli", "binomial"):
        p = {"logit_p": eta} if link == "logit" else {"p": inverse_link(link, eta)}
        if family.name == "bernoulli":
            return pm.Bernoulli(name, **p, observed=y, dims=dims)
        return pm.Binomial(name, n=design.trials, **p, observed=y, dims=dims)
    mu = inverse_link(link, eta)
    if family.name == "poisson":
        return pm.Poisson(name, mu=mu, observed=y, dims=dims)
    if family.name == "negative_binomial":
        return pm.NegativeBinomial(name, mu=mu, alpha=aux["shape"], observed=y, dims=dims)
    if family.name == "gamma":
        shape = aux["shape"]
        return pm.Gamma(name, alpha=shape, beta=shape / mu, observed=y, dims=dims)
    if family.name == "beta":
        phi = aux["phi"]
        return pm.Beta(name, alpha=mu * phi, beta=(1 - mu) * phi, observed=y, dims=dims)
    if family.name == "cumulative":
        cut = aux["thresholds"]
        if link == "logit":
            return pm.OrderedLogistic(
                name, eta=eta, cutpoints=cut, compute_p=False, observed=y, dims=dims
            )
        return pm.OrderedProbit(
            name, eta=eta, cutpoints=cut, sigma=1.0, compute_p=False, observed=y, dims=dims
        )
    raise ValueError(f"no PyMC likelihood for family {family.name!r}")

"""The PyMC likelihood of each family (parametrizations in :mod:`mixedbayes.families`).

Each function adds the observed variable given the linear predictor ``eta``. Bernoulli and
binomial models with the logit link use :func:`logit_binomial`, which stays finite in the
tails and costs one ``softplus`` per row.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import expit, gammaln

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
        if link == "logit":
            return logit_binomial(name, eta, y, design.trials, dims)
        p = {"p": inverse_link(link, eta)}
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


def logit_binomial(name: str, eta, y, trials, dims: str):
    """Observed successes ``y`` of ``trials`` (1 for bernoulli) with logit ``eta``.

    ``log p(y) = y * eta - n * softplus(eta) + log C(n, y)``: one ``softplus`` per row,
    where PyMC's ``logit_p`` form evaluates two (both branches of a switch) plus a check
    of ``p``. That halves the cost of a gradient on large logistic models.
    """
    n = np.ones_like(y, dtype=float) if trials is None else np.asarray(trials, dtype=float)
    y = np.asarray(y, dtype=float)
    log_choose = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)

    def logp(value, eta):
        density = value * eta - n * pt.softplus(eta)
        return density + log_choose if np.any(log_choose) else density

    def random(eta, rng=None, size=None):
        return rng.binomial(n.astype(int), expit(eta), size=size)

    return pm.CustomDist(name, eta, logp=logp, random=random, observed=y, dims=dims)

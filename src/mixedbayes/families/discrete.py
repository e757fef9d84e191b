"""Families of binary, binomial and count responses (brms's parametrizations).

- ``bernoulli``: P(y = 1) = mu; ``binomial``: Binomial(trials, mu).
- ``poisson``: Poisson(mu); ``negative_binomial``: mean mu, variance mu + mu^2 / shape.

Bernoulli and binomial models with the logit link use :func:`logit_binomial`, which stays
finite in the tails and costs one ``softplus`` per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats
from scipy.special import expit, gammaln

from .base import Family, ScipyFamily, poisson_draws

# the latent residual variance of each link's logistic/normal/Gumbel error, for the ICC
LATENT_VARIANCE = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}


@dataclass(frozen=True)
class _Latent(Family):
    """A family whose ICC is taken on the latent scale of its link."""

    def residual_variance(self, draws):
        return LATENT_VARIANCE[self.link]


@dataclass(frozen=True)
class Bernoulli(_Latent):
    def draw(self, rng, eta, aux, trials=None):
        mu = self.mean(eta, aux)
        return (rng.random(np.shape(mu)) < mu).astype(float)

    def logpdf(self, y, eta, aux, trials=None):
        if self.link == "logit":  # stable in the tails
            return -np.logaddexp(0.0, np.where(np.asarray(y) > 0.5, -eta, eta))
        mu = self.mean(eta, aux)
        return np.where(np.asarray(y) > 0.5, np.log(mu), np.log1p(-mu))

    def distribution(self, eta, aux, design):
        if self.link == "logit":
            return logit_binomial(eta, design.y, None)
        p = self.tensor_inverse_link(eta)
        return pm.Bernoulli.dist(p=p)


@dataclass(frozen=True)
class Binomial(_Latent, ScipyFamily):
    censorable = True

    def mean(self, eta, aux, trials=None):
        """Expected successes: the probability times the trials."""
        return self.inverse_link(eta) * trials

    def draw(self, rng, eta, aux, trials=None):
        n = np.asarray(trials).round().astype(np.int64)
        return rng.binomial(n, self.inverse_link(eta)).astype(float)

    def _frozen(self, eta, aux, trials=None):
        return stats.binom(trials, self.inverse_link(eta))

    def distribution(self, eta, aux, design):
        if self.link == "logit":
            return logit_binomial(eta, design.y, design.trials)
        p = self.tensor_inverse_link(eta)
        return pm.Binomial.dist(n=design.trials, p=p)


@dataclass(frozen=True)
class Poisson(ScipyFamily):
    censorable = True

    def draw(self, rng, eta, aux, trials=None):
        return poisson_draws(rng, self.mean(eta, aux))

    def _frozen(self, eta, aux, trials=None):
        return stats.poisson(self.mean(eta, aux))

    def distribution(self, eta, aux, design):
        return pm.Poisson.dist(mu=self.tensor_inverse_link(eta))


@dataclass(frozen=True)
class NegativeBinomial(ScipyFamily):
    censorable = True

    def draw(self, rng, eta, aux, trials=None):
        shape = aux["shape"]  # gamma-Poisson mixture
        return poisson_draws(rng, rng.gamma(shape, self.mean(eta, aux) / shape))

    def _frozen(self, eta, aux, trials=None):
        shape = aux["shape"]
        return stats.nbinom(shape, shape / (shape + self.mean(eta, aux)))

    def distribution(self, eta, aux, design):
        mu = self.tensor_inverse_link(eta)
        return pm.NegativeBinomial.dist(mu=mu, alpha=aux["shape"])


def logit_binomial(eta, y, trials):
    """The distribution of successes ``y`` of ``trials`` (1 for bernoulli), logit ``eta``.

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

    def logcdf(value, eta, **_):  # censoring and truncation (PyMC's NUTS: betainc)
        return pm.logcdf(pm.Binomial.dist(n=n, p=pt.sigmoid(eta)), value)

    return pm.CustomDist.dist(eta, logp=logp, random=random, logcdf=logcdf)

"""Families of positive responses besides ``gamma`` (brms's parametrizations).

- ``lognormal``: log(y) ~ Normal(mu, sigma), identity link on mu (the mean of log y);
  mean exp(mu + sigma^2 / 2).
- ``exponential``: mean mu (log link), rate 1 / mu.
- ``weibull``: mean mu (log link) and shape k; scale mu / Gamma(1 + 1 / k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special, stats

from .base import ScipyFamily


@dataclass(frozen=True)
class LogNormal(ScipyFamily):
    def prior_center(self, y: np.ndarray) -> float:
        return float(np.mean(np.log(y)))

    def mean(self, eta, aux, trials=None):
        return np.exp(self.inverse_link(eta) + aux["sigma"] ** 2 / 2)

    def _frozen(self, eta, aux, trials=None):
        return stats.lognorm(aux["sigma"], scale=np.exp(self.inverse_link(eta)))

    def draw(self, rng, eta, aux, trials=None):
        return np.exp(rng.normal(self.inverse_link(eta), aux["sigma"]))

    def distribution(self, eta, aux, design):
        return pm.LogNormal.dist(mu=self.tensor_inverse_link(eta), sigma=aux["sigma"])


@dataclass(frozen=True)
class Exponential(ScipyFamily):
    def _frozen(self, eta, aux, trials=None):
        return stats.expon(scale=self.inverse_link(eta))

    def draw(self, rng, eta, aux, trials=None):
        return rng.exponential(self.inverse_link(eta))

    def distribution(self, eta, aux, design):
        return pm.Exponential.dist(scale=self.tensor_inverse_link(eta))


@dataclass(frozen=True)
class Weibull(ScipyFamily):
    def _scale(self, eta, aux):
        return self.inverse_link(eta) / special.gamma(1 + 1 / aux["shape"])

    def _frozen(self, eta, aux, trials=None):
        return stats.weibull_min(aux["shape"], scale=self._scale(eta, aux))

    def draw(self, rng, eta, aux, trials=None):
        scale = self._scale(eta, aux)
        return scale * rng.weibull(np.broadcast_to(aux["shape"], np.shape(scale)))

    def distribution(self, eta, aux, design):
        shape = aux["shape"]
        scale = self.tensor_inverse_link(eta) / pt.exp(pt.gammaln(1 + 1 / shape))
        return pm.Weibull.dist(alpha=shape, beta=scale)

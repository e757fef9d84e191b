"""Families of real, positive and unit-interval responses (brms's parametrizations).

- ``gaussian``: Normal(mu, sigma); ``student_t``: StudentT(nu, mu, sigma).
- ``skew_normal``: mean mu, sd sigma and skewness ``alpha``; as brms, the location and
  scale of Azzalini's skew normal are omega = sigma / sqrt(1 - 2 delta^2 / pi) and
  xi = mu - omega delta sqrt(2 / pi), with delta = alpha / sqrt(1 + alpha^2).
- ``gamma``: mean mu, shape ``shape`` (variance mu^2 / shape).
- ``beta``: Beta(mu phi, (1 - mu) phi), mean mu, precision ``phi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from .base import Family, ScipyFamily


@dataclass(frozen=True)
class Gaussian(Family):
    @property
    def integrates_exactly(self) -> bool:
        return self.link == "identity"

    @property
    def correlated_residuals(self) -> bool:
        return True

    def residual_variance(self, draws):
        return draws["sigma"] ** 2

    def draw(self, rng, eta, aux, trials=None):
        return rng.normal(self.mean(eta, aux), aux["sigma"])

    def logpdf(self, y, eta, aux, trials=None):
        return stats.norm.logpdf(y, self.mean(eta, aux), aux["sigma"])

    def logcdf(self, y, eta, aux, trials=None):
        return stats.norm.logcdf(y, self.mean(eta, aux), aux["sigma"])

    def logsf(self, y, eta, aux, trials=None):
        return stats.norm.logsf(y, self.mean(eta, aux), aux["sigma"])

    def distribution(self, eta, aux, design):
        mu = self.tensor_inverse_link(eta)
        return pm.Normal.dist(mu=mu, sigma=aux["sigma"])


@dataclass(frozen=True)
class StudentT(Family):
    def draw(self, rng, eta, aux, trials=None):
        mu = self.mean(eta, aux)
        return mu + aux["sigma"] * rng.standard_t(aux["nu"], size=np.shape(mu))

    def logpdf(self, y, eta, aux, trials=None):
        return stats.t.logpdf(y, aux["nu"], self.mean(eta, aux), aux["sigma"])

    def logcdf(self, y, eta, aux, trials=None):
        return stats.t.logcdf(y, aux["nu"], self.mean(eta, aux), aux["sigma"])

    def logsf(self, y, eta, aux, trials=None):
        return stats.t.logsf(y, aux["nu"], self.mean(eta, aux), aux["sigma"])

    def distribution(self, eta, aux, design):
        mu = self.tensor_inverse_link(eta)
        return pm.StudentT.dist(nu=aux["nu"], mu=mu, sigma=aux["sigma"])


@dataclass(frozen=True)
class Gamma(Family):
    def draw(self, rng, eta, aux, trials=None):
        return rng.gamma(aux["shape"], self.mean(eta, aux) / aux["shape"])

    def logpdf(self, y, eta, aux, trials=None):
        return stats.gamma.logpdf(y, aux["shape"], scale=self.mean(eta, aux) / aux["shape"])

    def logcdf(self, y, eta, aux, trials=None):
        return stats.gamma.logcdf(y, aux["shape"], scale=self.mean(eta, aux) / aux["shape"])

    def logsf(self, y, eta, aux, trials=None):
        return stats.gamma.logsf(y, aux["shape"], scale=self.mean(eta, aux) / aux["shape"])

    def distribution(self, eta, aux, design):
        shape, mu = aux["shape"], self.tensor_inverse_link(eta)
        return pm.Gamma.dist(alpha=shape, beta=shape / mu)


@dataclass(frozen=True)
class Beta(Family):
    def draw(self, rng, eta, aux, trials=None):
        mu, phi = self.mean(eta, aux), aux["phi"]
        return rng.beta(mu * phi, (1 - mu) * phi)

    def logpdf(self, y, eta, aux, trials=None):
        mu, phi = self.mean(eta, aux), aux["phi"]
        return stats.beta.logpdf(y, mu * phi, (1 - mu) * phi)

    def logcdf(self, y, eta, aux, trials=None):
        mu, phi = self.mean(eta, aux), aux["phi"]
        return stats.beta.logcdf(y, mu * phi, (1 - mu) * phi)

    def logsf(self, y, eta, aux, trials=None):
        mu, phi = self.mean(eta, aux), aux["phi"]
        return stats.beta.logsf(y, mu * phi, (1 - mu) * phi)

    def distribution(self, eta, aux, design):
        phi, mu = aux["phi"], self.tensor_inverse_link(eta)
        return pm.Beta.dist(alpha=mu * phi, beta=(1 - mu) * phi)


@dataclass(frozen=True)
class SkewNormal(ScipyFamily):
    @staticmethod
    def _location_scale(mu, sigma, alpha, sqrt=np.sqrt):
        delta = alpha / sqrt(1 + alpha**2)
        omega = sigma / sqrt(1 - 2 * delta**2 / np.pi)
        return mu - omega * delta * np.sqrt(2 / np.pi), omega

    def _frozen(self, eta, aux, trials=None):
        xi, omega = self._location_scale(self.mean(eta, aux), aux["sigma"], aux["alpha"])
        return stats.skewnorm(aux["alpha"], loc=xi, scale=omega)

    def draw(self, rng, eta, aux, trials=None):
        frozen = self._frozen(eta, aux)
        return frozen.rvs(
            size=np.broadcast(*frozen.args, *frozen.kwds.values()).shape, random_state=rng
        )

    def distribution(self, eta, aux, design):
        mu = self.tensor_inverse_link(eta)
        xi, omega = self._location_scale(mu, aux["sigma"], aux["alpha"], sqrt=pt.sqrt)
        return pm.SkewNormal.dist(mu=xi, sigma=omega, alpha=aux["alpha"])

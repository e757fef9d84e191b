"""Zero-inflated and hurdle count families (brms's parametrizations).

- ``zero_inflated_poisson``: a structural zero with probability ``zi``, else Poisson(mu);
  mean (1 - zi) mu. ``zero_inflated_negative_binomial``: the same over the negative
  binomial (mean mu, variance mu + mu^2 / shape).
- ``zero_inflated_binomial``: a structural zero with probability ``zi``, else
  Binomial(trials, mu).
- ``hurdle_poisson``: zero with probability ``hu``, else a zero-truncated Poisson(mu); mean
  (1 - hu) mu / (1 - P(0)). ``hurdle_negative_binomial``: the same over the negative
  binomial.

``zi`` and ``hu`` are distributional parameters with a logit link; without a ``bf()``
formula they get an intercept-only one (``zi ~ 1``), as in brms and glmmTMB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from .base import Family, poisson_draws

PROBABILITY_LINKS = ("logit", "probit", "cloglog")


@dataclass(frozen=True)
class _Counts(Family):
    """The count distribution under the inflation: Poisson, or negative binomial when the
    family has ``shape``; ``zero`` is the name of the zero probability (zi or hu)."""

    zero: str = "zi"
    censorable = True

    def dpar_links(self, dpar):
        return PROBABILITY_LINKS if dpar == self.zero else ("log",)

    @property
    def predicted(self) -> tuple[str, ...]:
        return (self.zero,)

    def _count(self, mu, aux, trials=None):
        """The count distribution, frozen SciPy (for CDFs and quantiles)."""
        if "shape" in self.aux:
            shape = aux["shape"]
            return stats.nbinom(shape, shape / (shape + mu))
        return stats.poisson(mu)

    def _count_logpmf(self, y, mu, aux):
        if "shape" in self.aux:
            shape = aux["shape"]
            return stats.nbinom.logpmf(y, shape, shape / (shape + mu))
        return stats.poisson.logpmf(y, mu)

    def _log_p0(self, mu, aux):
        """log P(count = 0) of the count distribution."""
        if "shape" in self.aux:
            shape = aux["shape"]
            return shape * (np.log(shape) - np.log(shape + mu))
        return -mu

    def _count_draws(self, rng, mu, aux):
        if "shape" in self.aux:
            shape = aux["shape"]
            return poisson_draws(rng, rng.gamma(shape, mu / shape))
        return poisson_draws(rng, mu)

    def _count_kwargs(self, eta, aux):
        kwargs = {"mu": self.tensor_inverse_link(eta)}
        if "shape" in self.aux:
            kwargs["alpha"] = aux["shape"]
        return kwargs


@dataclass(frozen=True)
class ZeroInflated(_Counts):
    def mean(self, eta, aux, trials=None):
        return (1 - aux["zi"]) * self.inverse_link(eta)

    def logpdf(self, y, eta, aux, trials=None):
        mu, zi = self.inverse_link(eta), aux["zi"]
        zero = np.logaddexp(np.log(zi), np.log1p(-zi) + self._log_p0(mu, aux))
        positive = np.log1p(-zi) + self._count_logpmf(y, mu, aux)
        return np.where(np.asarray(y) == 0, zero, positive)

    def draw(self, rng, eta, aux, trials=None):
        mu = self.inverse_link(eta)
        counts = self._count_draws(rng, mu, aux)
        return np.where(rng.random(np.shape(counts)) < aux["zi"], 0.0, counts)

    def logcdf(self, y, eta, aux, trials=None):
        """log(zi + (1 - zi) F(y)) for y >= 0."""
        zi, y = aux["zi"], np.asarray(y, dtype=float)
        count = self._count(self.inverse_link(eta), aux, trials).cdf(y)
        with np.errstate(divide="ignore"):
            return np.where(y < 0, -np.inf, np.log(zi + (1 - zi) * count))

    def logsf(self, y, eta, aux, trials=None):
        """log((1 - zi) P(count > y)) for y >= 0."""
        zi, y = aux["zi"], np.asarray(y, dtype=float)
        count = self._count(self.inverse_link(eta), aux, trials).logsf(y)
        return np.where(y < 0, 0.0, np.log1p(-zi) + count)

    def ppf(self, q, eta, aux, trials=None):
        """0 up to the mass at zero, else the count's quantile of (q - zi) / (1 - zi)."""
        zi = aux["zi"]
        inner = np.clip((q - zi) / (1 - zi), 0.0, 1.0)
        return np.maximum(self._count(self.inverse_link(eta), aux, trials).ppf(inner), 0.0)

    def distribution(self, eta, aux, design):
        kwargs = self._count_kwargs(eta, aux)
        distribution = (
            pm.ZeroInflatedNegativeBinomial if "alpha" in kwargs else pm.ZeroInflatedPoisson
        )
        return distribution.dist(psi=1 - aux["zi"], **kwargs)


@dataclass(frozen=True)
class Hurdle(_Counts):
    def mean(self, eta, aux, trials=None):
        mu = self.inverse_link(eta)
        return (1 - aux["hu"]) * mu / -np.expm1(self._log_p0(mu, aux))

    def logpdf(self, y, eta, aux, trials=None):
        mu, hu = self.inverse_link(eta), aux["hu"]
        truncated = self._count_logpmf(y, mu, aux) - np.log(-np.expm1(self._log_p0(mu, aux)))
        positive = np.log1p(-hu) + truncated
        return np.where(np.asarray(y) == 0, np.log(hu) + 0 * positive, positive)

    def draw(self, rng, eta, aux, trials=None):
        mu = self.inverse_link(eta)
        shape = np.broadcast_shapes(np.shape(mu), np.shape(aux["hu"]))
        mu = np.broadcast_to(mu, shape)
        p0 = np.exp(self._log_p0(mu, aux))
        u = p0 + rng.random(shape) * (1 - p0)  # the zero-truncated count by inversion
        if "shape" in self.aux:
            size = np.broadcast_to(aux["shape"], shape)
            counts = stats.nbinom.ppf(u, size, size / (size + mu))
        else:
            counts = stats.poisson.ppf(u, mu)
        counts = np.maximum(counts, 1.0)
        return np.where(rng.random(shape) < aux["hu"], 0.0, counts)

    def logsf(self, y, eta, aux, trials=None):
        """log((1 - hu) P(count > y) / (1 - P(0))) for y >= 0."""
        mu, hu, y = self.inverse_link(eta), aux["hu"], np.asarray(y, dtype=float)
        count = self._count(mu, aux).logsf(np.maximum(y, 0.0))
        above = np.log1p(-hu) + count - np.log(-np.expm1(self._log_p0(mu, aux)))
        return np.where(y < 0, 0.0, above)

    def logcdf(self, y, eta, aux, trials=None):
        with np.errstate(divide="ignore"):
            below = np.log(-np.expm1(self.logsf(y, eta, aux)))
        return np.where(np.asarray(y) < 0, -np.inf, below)

    def ppf(self, q, eta, aux, trials=None):
        """0 up to ``hu``, else the zero-truncated count's quantile."""
        mu, hu = self.inverse_link(eta), aux["hu"]
        p0 = np.exp(self._log_p0(mu, aux))
        inner = np.clip(p0 + (q - hu) / (1 - hu) * (1 - p0), 0.0, 1.0)
        counts = np.maximum(self._count(mu, aux).ppf(inner), 1.0)
        return np.where(q <= hu, 0.0, counts)

    def distribution(self, eta, aux, design):
        """The hurdle density written out: PyMC's hurdle distributions normalize the
        truncated count by its CDF (``betainc`` for the negative binomial), which JAX
        cannot differentiate; P(0) has a closed form."""
        shape = aux.get("shape")
        args = (eta, aux["hu"]) if shape is None else (eta, aux["hu"], shape)

        def logp(value, eta, hu, *rest):
            log_mu, log_p0 = self._tensor_log_p0(eta, rest)
            if rest:
                (alpha,) = rest
                count = (
                    pt.gammaln(value + alpha)
                    - pt.gammaln(alpha)
                    - pt.gammaln(value + 1)
                    + log_p0
                    + value * (log_mu - pt.logaddexp(pt.log(alpha), log_mu))
                )
            else:
                count = value * log_mu - pt.exp(log_mu) - pt.gammaln(value + 1)
            positive = pt.log1p(-hu) + count - pt.log1mexp(log_p0)
            return pt.switch(pt.eq(value, 0), pt.log(hu), positive)

        def logcdf(value, eta, hu, *rest, **_):
            """log(1 - P(Y > y)), P(Y > y) = (1 - hu) P(count > y) / (1 - P(0)), y >= 0
            (CDFs are sampled with PyMC's own NUTS: JAX lacks their gradients)."""
            log_mu, log_p0 = self._tensor_log_p0(eta, rest)
            mu = pt.exp(log_mu)
            count = pm.NegativeBinomial.dist(mu=mu, alpha=rest[0]) if rest else pm.Poisson.dist(mu)
            safe = pt.maximum(value, 0)
            above = pt.log1p(-hu) + pm.logccdf(count, safe) - pt.log1mexp(log_p0)
            return pt.switch(pt.lt(value, 0), -np.inf, pt.log1mexp(pt.minimum(above, 0.0)))

        return pm.CustomDist.dist(*args, logp=logp, logcdf=logcdf)

    def _tensor_log_p0(self, eta, rest):
        """(log mu, log P(count = 0)) on PyTensor variables; ``rest`` holds the
        negative binomial's shape, if any."""
        log_mu = eta if self.link == "log" else pt.log(self.tensor_inverse_link(eta))
        if not rest:
            return log_mu, -pt.exp(log_mu)
        (alpha,) = rest
        return log_mu, alpha * (pt.log(alpha) - pt.logaddexp(pt.log(alpha), log_mu))


@dataclass(frozen=True)
class ZeroInflatedBinomial(ZeroInflated):
    """``zero_inflated_binomial``: a structural zero with probability ``zi``, else
    Binomial(trials, mu); mean (1 - zi) mu trials. Its CDFs are the zero-inflated
    counts' over the binomial."""

    def _count(self, mu, aux, trials=None):
        return stats.binom(trials, mu)

    def mean(self, eta, aux, trials=None):
        return (1 - aux["zi"]) * self.inverse_link(eta) * trials

    def logpdf(self, y, eta, aux, trials=None):
        p, zi = self.inverse_link(eta), aux["zi"]
        zero = np.logaddexp(np.log(zi), np.log1p(-zi) + stats.binom.logpmf(0, trials, p))
        positive = np.log1p(-zi) + stats.binom.logpmf(y, trials, p)
        return np.where(np.asarray(y) == 0, zero, positive)

    def draw(self, rng, eta, aux, trials=None):
        n = np.asarray(trials).round().astype(np.int64)
        counts = rng.binomial(n, self.inverse_link(eta)).astype(float)
        return np.where(rng.random(np.shape(counts)) < aux["zi"], 0.0, counts)

    def distribution(self, eta, aux, design):
        p = self.tensor_inverse_link(eta)
        return pm.ZeroInflatedBinomial.dist(psi=1 - aux["zi"], n=design.trials, p=p)

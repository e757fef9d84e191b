"""Families: a response distribution, its link and its auxiliary parameters.

A family is a small frozen object in a registry, not a class hierarchy. This module is
NumPy/SciPy only (the design stage reads a family's response type); the PyMC likelihood of
each family is in :mod:`mixedbayes.build.likelihood`. Here are the NumPy pieces that
prediction and model checking need: inverse links, the mean, random draws and the
pointwise log-likelihood, all vectorized over posterior draws.

Parametrizations (brms's, so that estimates compare):

- ``gaussian``: Normal(mu, sigma); ``student_t``: StudentT(nu, mu, sigma).
- ``bernoulli``: P(y = 1) = mu; ``binomial``: Binomial(trials, mu).
- ``poisson``: Poisson(mu); ``negative_binomial``: mean mu, variance mu + mu^2 / shape.
- ``gamma``: mean mu, shape ``shape`` (variance mu^2 / shape).
- ``beta``: Beta(mu phi, (1 - mu) phi), mean mu, precision ``phi``.
- ``cumulative``: P(y <= k) = F(threshold_k - eta) with F the inverse link; the thresholds
  are the model's ``Intercept[k]`` and there is no separate intercept.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats

from .errors import FamilyError


def _cloglog_inverse(eta):
    return -np.expm1(-np.exp(eta))


# link name -> (link function g, inverse g^-1), as NumPy ufuncs
LINKS = {
    "identity": (lambda mu: mu, lambda eta: eta),
    "log": (np.log, np.exp),
    "logit": (special.logit, special.expit),
    "probit": (special.ndtri, special.ndtr),
    "cloglog": (lambda mu: np.log(-np.log1p(-mu)), _cloglog_inverse),
    "inverse": (np.reciprocal, np.reciprocal),
}


@dataclass(frozen=True)
class Family:
    """A response distribution and its link.

    Attributes
    ----------
    name : str
    link : str
        The link in use: the linear predictor is ``link(mean)``.
    links : tuple of str
        The links this family accepts (the first is the default).
    aux : tuple of str
        Auxiliary parameters (``"sigma"``, ``"nu"``, ``"shape"``, ``"phi"``), each a prior
        class in the model's PriorSet.
    response : str
        What the response must be: ``"real"``, ``"binary"``, ``"binomial"``, ``"count"``,
        ``"positive"``, ``"unit"`` (strictly between 0 and 1) or ``"ordinal"``.
    """

    name: str
    link: str
    links: tuple[str, ...]
    aux: tuple[str, ...]
    response: str

    @property
    def scale_by_response(self) -> bool:
        """Whether default priors scale with sd(y): only for real-valued responses."""
        return self.response == "real"

    def with_link(self, link: str | None) -> Family:
        """This family with another of its links (None keeps the default)."""
        if link is None or link == self.link:
            return self
        if link not in self.links:
            others = [f.name for f in FAMILIES.values() if link in f.links]
            hint = f" (families with link {link!r}: {', '.join(others)})" if others else ""
            raise FamilyError(
                f"family {self.name!r} has no link {link!r}; its links are {list(self.links)}"
                + hint
            )
        return replace(self, link=link)

    def inverse_link(self, eta):
        """The mean (for ``cumulative``, the latent-scale value) from the linear predictor."""
        return LINKS[self.link][1](eta)

    def link_function(self, mu):
        """The linear predictor from the mean: ``link(mu)``."""
        return LINKS[self.link][0](mu)

    def mean(self, eta, aux: dict, trials=None):
        """Expected response given the linear predictor ``eta`` (any shape).

        Binomial: expected successes (probability times trials). Cumulative: the category
        probabilities, in a new last axis of length K, given the K - 1
        ``aux["thresholds"]`` in the last axis, broadcastable against ``eta[..., None]``.
        """
        if self.response == "ordinal":
            return self._category_probabilities(eta, aux["thresholds"])
        mu = self.inverse_link(eta)
        return mu * trials if self.response == "binomial" else mu

    def draw(self, rng: np.random.Generator, eta, aux: dict, trials=None) -> np.ndarray:
        """Random responses given ``eta``: the posterior predictive for each draw."""
        mu = self.mean(eta, aux, trials)
        name = self.name
        if name == "gaussian":
            return rng.normal(mu, aux["sigma"])
        if name == "student_t":
            return mu + aux["sigma"] * rng.standard_t(aux["nu"], size=np.shape(mu))
        if name == "bernoulli":
            return (rng.random(np.shape(mu)) < mu).astype(float)
        if name == "binomial":
            n = np.asarray(trials).round().astype(np.int64)
            return rng.binomial(n, self.inverse_link(eta)).astype(float)
        if name == "poisson":
            return _poisson(rng, mu)
        if name == "negative_binomial":
            shape = aux["shape"]  # gamma-Poisson mixture
            return _poisson(rng, rng.gamma(shape, mu / shape))
        if name == "gamma":
            return rng.gamma(aux["shape"], mu / aux["shape"])
        if name == "beta":
            phi = aux["phi"]
            return rng.beta(mu * phi, (1 - mu) * phi)
        if name == "cumulative":
            cumulative = np.cumsum(mu, axis=-1)
            u = rng.random(np.shape(mu)[:-1] + (1,))
            return (u > cumulative[..., :-1]).sum(axis=-1).astype(float)
        raise FamilyError(f"no random draws for family {name!r}")

    def logpdf(self, y, eta, aux: dict, trials=None) -> np.ndarray:
        """Pointwise log-likelihood of responses ``y`` (as coded in the design)."""
        mu = self.mean(eta, aux, trials)
        name = self.name
        if name == "gaussian":
            return stats.norm.logpdf(y, mu, aux["sigma"])
        if name == "student_t":
            return stats.t.logpdf(y, aux["nu"], mu, aux["sigma"])
        if name == "bernoulli":
            return _log_bernoulli(y, eta, self)
        if name == "binomial":
            return stats.binom.logpmf(y, trials, self.inverse_link(eta))
        if name == "poisson":
            return stats.poisson.logpmf(y, mu)
        if name == "negative_binomial":
            shape = aux["shape"]
            return stats.nbinom.logpmf(y, shape, shape / (shape + mu))
        if name == "gamma":
            return stats.gamma.logpdf(y, aux["shape"], scale=mu / aux["shape"])
        if name == "beta":
            phi = aux["phi"]
            return stats.beta.logpdf(y, mu * phi, (1 - mu) * phi)
        if name == "cumulative":
            codes = np.broadcast_to(np.asarray(y, dtype=int), np.shape(mu)[:-1])
            return np.log(np.take_along_axis(mu, codes[..., None], axis=-1)[..., 0])
        raise FamilyError(f"no log-likelihood for family {name!r}")

    def _category_probabilities(self, eta, thresholds):
        """P(y = k) for k = 0..K-1 from the latent predictor and the K - 1 thresholds."""
        below = self.inverse_link(np.asarray(thresholds) - np.asarray(eta)[..., None])
        shape = below.shape[:-1] + (1,)
        cumulative = np.concatenate([np.zeros(shape), below, np.ones(shape)], axis=-1)
        return np.diff(cumulative, axis=-1)


_MAX_RATE = 1e15  # NumPy cannot draw Poisson counts near 1e19; R's rpois gives NA there


def _poisson(rng: np.random.Generator, rate) -> np.ndarray:
    """Poisson draws, NaN (with a warning) where the rate is too large to simulate."""
    rate = np.asarray(rate, dtype=float)
    bad = ~(rate <= _MAX_RATE)
    draws = rng.poisson(np.where(bad, 0.0, rate)).astype(float)
    if bad.any():
        warnings.warn(
            f"{int(bad.sum())} of {bad.size} simulated counts are NaN: their mean exceeds "
            f"{_MAX_RATE:g} (typical of wide priors under a log link)",
            UserWarning,
            stacklevel=4,
        )
        draws[bad] = np.nan
    return draws


def _log_bernoulli(y, eta, family: Family):
    if family.link == "logit":  # stable in the tails
        return -np.logaddexp(0.0, np.where(np.asarray(y) > 0.5, -eta, eta))
    mu = family.inverse_link(eta)
    return np.where(np.asarray(y) > 0.5, np.log(mu), np.log1p(-mu))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("gaussian", "identity", ("identity",), ("sigma",), "real"),
        Family("student_t", "identity", ("identity",), ("sigma", "nu"), "real"),
        Family("bernoulli", "logit", ("logit", "probit", "cloglog"), (), "binary"),
        Family("binomial", "logit", ("logit", "probit", "cloglog"), (), "binomial"),
        Family("poisson", "log", ("log",), (), "count"),
        Family("negative_binomial", "log", ("log",), ("shape",), "count"),
        Family("gamma", "log", ("log", "inverse"), ("shape",), "positive"),
        Family("beta", "logit", ("logit", "probit", "cloglog"), ("phi",), "unit"),
        Family("cumulative", "logit", ("logit", "probit"), (), "ordinal"),
    )
}
_ALIASES = {"normal": "gaussian", "logistic": "bernoulli", "negbinomial": "negative_binomial"}


def get_family(family: str | Family, link: str | None = None) -> Family:
    """Look up a family by name (case-insensitive) and optionally set its link.

    Raises
    ------
    FamilyError
        For an unknown family (listing the known ones) or a link the family lacks.
    """
    if isinstance(family, Family):
        return family.with_link(link)
    key = str(family).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in FAMILIES:
        close = difflib.get_close_matches(key, [*FAMILIES, *_ALIASES], n=1)
        hint = f"did you mean {_ALIASES.get(close[0], close[0])!r}? " if close else ""
        raise FamilyError(
            f"unknown family {family!r}; {hint}available families: {', '.join(FAMILIES)}"
        )
    return FAMILIES[key].with_link(link)

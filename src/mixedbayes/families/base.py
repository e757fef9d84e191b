"""The family protocol: a response distribution, its link and its auxiliary parameters.

A family is a small frozen object that knows its own pieces: which responses it takes
(``response``), its auxiliary parameters (``aux``, each a prior class), its links, its PyMC
likelihood (:meth:`Family.likelihood`), and the NumPy pieces that prediction and model
checking need (:meth:`Family.mean`, :meth:`Family.draw`, :meth:`Family.logpdf`, vectorized
over posterior draws). Code elsewhere asks the object; nothing switches on family names.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from ..errors import FamilyError
from ..formula import parse_formula


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

# link name -> its inverse on PyTensor variables
TENSOR_INVERSE_LINKS = {
    "identity": lambda eta: eta,
    "log": pt.exp,
    "logit": pm.math.invlogit,
    "probit": lambda eta: 0.5 * pt.erfc(-eta / pt.sqrt(2.0)),
    "cloglog": lambda eta: -pt.expm1(-pt.exp(eta)),
    "inverse": lambda eta: 1.0 / eta,
}


# distributional parameters that take any real value (the others are positive)
REAL_DPARS = {"alpha": ("identity",)}


@dataclass(frozen=True)
class Family:
    """A response distribution and its link (subclasses give the distribution).

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
        ``"positive"``, ``"unit"`` (strictly between 0 and 1), ``"ordinal"`` or ``"nominal"``
        (unordered categories).
    """

    name: str
    link: str
    links: tuple[str, ...]
    aux: tuple[str, ...]
    response: str

    @property
    def integrates_exactly(self) -> bool:
        """Whether random effects can be integrated out of the likelihood in closed form
        (:mod:`mixedbayes.graph.marginal`): the Gaussian with the identity link only."""
        return False

    @property
    def correlated_residuals(self) -> bool:
        """Whether the family takes a residual correlation structure (``ar()``, ``cosy()``):
        a multivariate normal per level, so the Gaussian only."""
        return False

    @property
    def censorable(self) -> bool:
        """Whether ``cens()`` and ``trunc()`` apply: the family has CDFs, PyMC's and
        NumPy's (:meth:`logcdf`, :meth:`logsf`). The continuous families and the plain
        counts do."""
        return self.response in ("real", "positive", "unit")

    @property
    def discrete(self) -> bool:
        """Whether the response is a whole number: truncation to ``[a, b]`` keeps ``a``,
        so its normalizing mass is ``F(b) - F(a - 1)`` (brms's)."""
        return self.response in ("binary", "binomial", "count", "ordinal", "nominal")

    @property
    def ordered_response(self) -> bool:
        """Whether the response's values are ordered, so that an analysis of variance on
        them weighs a level's data (:mod:`mixedbayes.graph.parameterization`); unordered
        categories' codes are labels."""
        return self.response != "nominal"

    @property
    def scale_by_response(self) -> bool:
        """Whether default priors scale with sd(y): only for real-valued responses."""
        return self.response == "real"

    def prior_center(self, y: np.ndarray) -> float | None:
        """Where the default intercept prior is centred, if not at ``link(mean(y))``
        (lognormal: the mean of log y)."""
        return None

    def residual_variance(self, draws: dict) -> np.ndarray | None:
        """Per-draw residual variance for the ICC (None: the family has no agreed one).

        ``draws`` maps auxiliary parameter names to their posterior draws.
        """
        return None

    @property
    def predicted(self) -> tuple[str, ...]:
        """Distributional parameters that always have a predictor: an intercept-only
        formula (``zi ~ 1``) unless ``bf()`` gives one."""
        return ()

    @property
    def per_category(self) -> bool:
        """Whether the mean is a probability per response category (a last axis of
        length K in :meth:`mean`): ``cumulative`` and ``categorical``."""
        return False

    def for_response(self, levels: tuple[str, ...] | None) -> Family:
        """This family fitted to a response with categories ``levels`` (``categorical``
        learns its dpars from them; the others are unchanged)."""
        return self

    def default_formula(self, dpar: str, main):
        """The formula of a :attr:`predicted` dpar that ``bf()`` left out: intercept only
        (``zi ~ 1``), with ``main``'s response."""
        return replace(parse_formula(f"{dpar} ~ 1"), response=main.response, dpar=dpar)

    def dpar_links(self, dpar: str) -> tuple[str, ...]:
        """The links a distributional parameter's formula may use (the first is the
        default): log for the positive ones (sigma, nu, shape, phi), identity for
        skew_normal's alpha, as brms."""
        return REAL_DPARS.get(dpar, ("log",))

    def with_link(self, link: str | None) -> Family:
        """This family with another of its links (None keeps the default)."""
        if link is None or link == self.link:
            return self
        if link not in self.links:
            from .registry import FAMILIES

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

    def tensor_inverse_link(self, eta):
        """:meth:`inverse_link` on PyTensor variables."""
        return TENSOR_INVERSE_LINKS[self.link](eta)

    def mean(self, eta, aux: dict, trials=None):
        """Expected response given the linear predictor ``eta`` (any shape)."""
        return self.inverse_link(eta)

    def draw(self, rng: np.random.Generator, eta, aux: dict, trials=None) -> np.ndarray:
        """Random responses given ``eta``: the posterior predictive for each draw."""
        raise NotImplementedError(f"family {self.name!r} has no random draws")

    def logpdf(self, y, eta, aux: dict, trials=None) -> np.ndarray:
        """Pointwise log-likelihood of responses ``y`` (as coded in the design)."""
        raise NotImplementedError(f"family {self.name!r} has no log-likelihood")

    def logcdf(self, y, eta, aux: dict, trials=None) -> np.ndarray:
        """log P(Y <= y), for left and interval censoring and truncation."""
        raise NotImplementedError(f"family {self.name!r} has no CDF")

    def logsf(self, y, eta, aux: dict, trials=None) -> np.ndarray:
        """log P(Y > y), for right censoring and truncation."""
        raise NotImplementedError(f"family {self.name!r} has no CDF")

    def ppf(self, q, eta, aux: dict, trials=None) -> np.ndarray:
        """The quantile function, for truncated draws of a discrete response."""
        raise NotImplementedError(f"family {self.name!r} has no quantile function")

    def distribution(self, eta, aux: dict, design):
        """The PyMC distribution of ``design.y`` given ``eta`` (unregistered, ``.dist``);
        the graph adds it as the observed variable, with weights, censoring and
        truncation applied generically (:mod:`mixedbayes.graph.observed`).

        ``aux`` holds the auxiliary parameters' PyMC variables (and, for ``cumulative``,
        the thresholds).
        """
        raise NotImplementedError(f"family {self.name!r} has no PyMC likelihood")


@dataclass(frozen=True)
class ScipyFamily(Family):
    """A family whose NumPy densities come from a frozen SciPy distribution per draw and
    row, which ``_frozen(eta, aux, trials)`` returns."""

    def _frozen(self, eta, aux, trials=None):
        raise NotImplementedError

    def logpdf(self, y, eta, aux, trials=None):
        frozen = self._frozen(eta, aux, trials)
        return frozen.logpmf(y) if self.discrete else frozen.logpdf(y)

    def logcdf(self, y, eta, aux, trials=None):
        return self._frozen(eta, aux, trials).logcdf(y)

    def logsf(self, y, eta, aux, trials=None):
        return self._frozen(eta, aux, trials).logsf(y)

    def ppf(self, q, eta, aux, trials=None):
        return self._frozen(eta, aux, trials).ppf(q)


_MAX_RATE = 1e15  # NumPy cannot draw Poisson counts near 1e19; R's rpois gives NA there


def poisson_draws(rng: np.random.Generator, rate) -> np.ndarray:
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

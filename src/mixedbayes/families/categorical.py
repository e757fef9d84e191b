"""The unordered-categories family: ``categorical`` (multinomial logit, brms's).

For a response with categories c_1, ..., c_K (c_1 the reference),
P(y = c_k) = exp(eta_k) / sum_j exp(eta_j) with eta_1 = 0. Each other category has its own
linear predictor, a distributional parameter: ``mu`` is the second category's (the main
formula's), ``mu<level>`` each further one's (``muHigh``), brms's names. Without a
``bf()`` formula of its own, a further category's predictor has the main formula's terms
(fixed and random: one set of random effects and sds per category, uncorrelated across
categories, as brms without ``|ID|``).

The family learns its categories from the response (:meth:`Categorical.for_response`);
its ``aux`` are then the further categories' dpars, in the response's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from ..errors import DataError
from .base import Family


def category_dpars(levels: tuple[str, ...]) -> tuple[str, ...]:
    """The dpar names of categories 3..K: ``"mu"`` and the level's letters and digits
    (brms: ``muHigh``); a DataError if two levels give one name."""
    names = tuple("mu" + re.sub(r"\W", "", str(level)) for level in levels[2:])
    seen: dict[str, str] = {}
    for name, level in zip(names, levels[2:], strict=True):
        if name in seen or name == "mu":
            other = f" as {seen[name]!r} does" if name in seen else ""
            raise DataError(
                f"response category {level!r} gives the parameter name {name!r}{other}; "
                "rename the categories so that their letters and digits differ"
            )
        seen[name] = level
    return names


@dataclass(frozen=True)
class Categorical(Family):
    """Multinomial logit over the response's categories (reference: the first)."""

    categories: tuple[str, ...] = ()

    def for_response(self, levels):
        return replace(self, categories=tuple(levels), aux=category_dpars(tuple(levels)))

    @property
    def predicted(self) -> tuple[str, ...]:
        return self.aux

    @property
    def per_category(self) -> bool:
        return True

    def default_formula(self, dpar, main):
        rhs = main.text.split("~", 1)[1].strip()
        return replace(main, dpar=dpar, dpars=(), text=f"{dpar} ~ {rhs}")

    def dpar_links(self, dpar):
        return ("identity",)

    def prior_center(self, y):
        return 0.0

    def _logits(self, eta, aux):
        """(..., K) log-odds against the reference category."""
        eta = np.asarray(eta, dtype=float)
        others = [np.broadcast_to(aux[name], eta.shape) for name in self.aux]
        return np.stack([np.zeros_like(eta), eta, *others], axis=-1)

    def mean(self, eta, aux, trials=None):
        """The category probabilities, in a new last axis of length K."""
        return special.softmax(self._logits(eta, aux), axis=-1)

    def draw(self, rng, eta, aux, trials=None):
        cumulative = np.cumsum(self.mean(eta, aux), axis=-1)
        u = rng.random(np.shape(cumulative)[:-1] + (1,))
        return (u > cumulative[..., :-1]).sum(axis=-1).astype(float)

    def logpdf(self, y, eta, aux, trials=None):
        log_p = special.log_softmax(self._logits(eta, aux), axis=-1)
        codes = np.broadcast_to(np.asarray(y, dtype=int), np.shape(log_p)[:-1])
        return np.take_along_axis(log_p, codes[..., None], axis=-1)[..., 0]

    def distribution(self, eta, aux, design):
        others = [pt.broadcast_to(aux[name], eta.shape) for name in self.aux]
        logits = pt.stack([pt.zeros_like(eta), eta, *others], axis=-1)
        return pm.Categorical.dist(logit_p=logits)

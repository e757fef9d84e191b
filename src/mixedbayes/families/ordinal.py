"""The ordinal family: ``cumulative`` (brms's parametrization).

P(y <= k) = F(threshold_k - eta) with F the inverse link; the thresholds are the model's
``Intercept[k]`` and there is no separate intercept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm

from .discrete import _Latent


@dataclass(frozen=True)
class Cumulative(_Latent):
    @property
    def per_category(self) -> bool:
        return True

    def mean(self, eta, aux, trials=None):
        """The category probabilities, in a new last axis of length K, given the K - 1
        ``aux["thresholds"]`` in the last axis, broadcastable against ``eta[..., None]``."""
        below = self.inverse_link(np.asarray(aux["thresholds"]) - np.asarray(eta)[..., None])
        shape = below.shape[:-1] + (1,)
        cumulative = np.concatenate([np.zeros(shape), below, np.ones(shape)], axis=-1)
        return np.diff(cumulative, axis=-1)

    def draw(self, rng, eta, aux, trials=None):
        cumulative = np.cumsum(self.mean(eta, aux), axis=-1)
        u = rng.random(np.shape(cumulative)[:-1] + (1,))
        return (u > cumulative[..., :-1]).sum(axis=-1).astype(float)

    def logpdf(self, y, eta, aux, trials=None):
        mu = self.mean(eta, aux)
        codes = np.broadcast_to(np.asarray(y, dtype=int), np.shape(mu)[:-1])
        return np.log(np.take_along_axis(mu, codes[..., None], axis=-1)[..., 0])

    def distribution(self, eta, aux, design):
        cut = aux["thresholds"]
        if self.link == "logit":
            return pm.OrderedLogistic.dist(eta=eta, cutpoints=cut)
        return pm.OrderedProbit.dist(eta=eta, cutpoints=cut, sigma=1.0)

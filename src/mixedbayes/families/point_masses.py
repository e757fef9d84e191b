"""Continuous families with point masses at the ends (brms's parametrizations).

- ``hurdle_gamma``, ``hurdle_lognormal``: zero with probability ``hu``, else the gamma or
  lognormal; mean (1 - hu) times the base family's mean.
- ``zero_inflated_beta``: zero with probability ``zi``, else Beta(mu phi, (1 - mu) phi).
- ``zero_one_inflated_beta``: 0 or 1 with probability ``zoi``, and among those 1 with
  probability ``coi``; else the beta. Mean zoi coi + (1 - zoi) mu.

Each wraps its base family object (``base``), whose density, draws and mean it reuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .base import Family

PROBABILITY_LINKS = ("logit", "probit", "cloglog")


@dataclass(frozen=True)
class PointMasses(Family):
    """``base`` with a point mass at 0 of probability ``aux[zero]`` (with ``one``, the
    ``zero`` mass is split between 0 and 1 by ``aux[one]``)."""

    base: Family = field(default=None, repr=False)
    zero: str = "hu"
    one: str | None = None
    censorable = True

    @property
    def predicted(self) -> tuple[str, ...]:
        return (self.zero,) if self.one is None else (self.zero, self.one)

    def dpar_links(self, dpar):
        return PROBABILITY_LINKS if dpar in self.predicted else self.base.dpar_links(dpar)

    def prior_center(self, y):
        inside = y[(y > 0) & (y < 1)] if self.one else y[y > 0]
        return self.base.prior_center(inside) if len(inside) else None

    @property
    def _inside(self) -> float:
        """A value inside the base's support, put in for the point masses' rows so that
        the unused branch stays finite (its gradient would otherwise be NaN)."""
        return 0.5 if self.base.response == "unit" else 1.0

    def _masses(self, aux):
        """(P(y = 0), P(y = 1), P(inside)) per draw and row."""
        p = aux[self.zero]
        if self.one is None:
            return p, 0.0 * p, 1 - p
        return p * (1 - aux[self.one]), p * aux[self.one], 1 - p

    def mean(self, eta, aux, trials=None):
        _, at_one, inside = self._masses(aux)
        return at_one + inside * self.base.mean(eta, aux)

    def logpdf(self, y, eta, aux, trials=None):
        at_zero, at_one, inside = self._masses(aux)
        y = np.asarray(y, dtype=float)
        safe = np.where((y == 0) | (y == 1), self._inside, y)
        with np.errstate(divide="ignore"):
            logp = np.log(inside) + self.base.logpdf(safe, eta, aux)
            logp = np.where(y == 0, np.log(at_zero) + 0 * logp, logp)
            if self.one is not None:
                logp = np.where(y == 1, np.log(at_one) + 0 * logp, logp)
        return logp

    def logcdf(self, y, eta, aux, trials=None):
        """log(P(0) [y >= 0] + P(inside) F(y) + P(1) [y >= 1]), F the base's CDF."""
        at_zero, at_one, inside = self._masses(aux)
        y = np.asarray(y, dtype=float)
        total = at_zero * (y >= 0) + inside * self._base(y, eta, aux, False) + at_one * (y >= 1)
        with np.errstate(divide="ignore"):
            return np.log(total)

    def logsf(self, y, eta, aux, trials=None):
        """log(P(0) [y < 0] + P(inside) (1 - F(y)) + P(1) [y < 1])."""
        at_zero, at_one, inside = self._masses(aux)
        y = np.asarray(y, dtype=float)
        total = at_zero * (y < 0) + inside * self._base(y, eta, aux, True) + at_one * (y < 1)
        with np.errstate(divide="ignore"):
            return np.log(total)

    def _base(self, y, eta, aux, upper: bool):
        """The base's CDF (``upper``: survival function) at y, 0 or 1 outside its support."""
        low, high = self._support
        tail = self.base.logsf if upper else self.base.logcdf
        value = np.exp(tail(np.clip(y, low, high), eta, aux))
        below, above = (1.0, 0.0) if upper else (0.0, 1.0)
        return np.where(y <= low, below, np.where(y >= high, above, value))

    @property
    def _support(self) -> tuple[float, float]:
        """Values just inside the base's support, where its CDF is 0 and 1 beyond."""
        return (1e-300, 1.0 - 1e-16) if self.base.response == "unit" else (1e-300, np.inf)

    def draw(self, rng, eta, aux, trials=None):
        at_zero, at_one, _ = self._masses(aux)
        values = self.base.draw(rng, eta, aux)
        u = rng.random(np.shape(values))
        values = np.where(u < at_zero, 0.0, values)
        return np.where((u >= at_zero) & (u < at_zero + at_one), 1.0, values)

    def distribution(self, eta, aux, design):
        names = [n for n in self.base.aux]
        masses = list(self.predicted)
        base = self.base

        def logp(value, eta, *rest):
            values = dict(zip(names + masses, rest, strict=True))
            inner = base.distribution(eta, values, design)
            ends = pt.eq(value, 0) | (pt.eq(value, 1) if self.one else pt.eq(value, 0))
            safe = pt.switch(ends, self._inside, value)
            p = values[self.zero]
            logp = pt.log1p(-p) + pm.logp(inner, safe)
            if self.one is None:
                return pt.switch(pt.eq(value, 0), pt.log(p), logp)
            coi = values[self.one]
            logp = pt.switch(pt.eq(value, 0), pt.log(p) + pt.log1p(-coi), logp)
            return pt.switch(pt.eq(value, 1), pt.log(p) + pt.log(coi), logp)

        def logcdf(value, eta, *rest, **_):
            """As :meth:`logcdf`; the base's CDF at a value inside its support (a NaN
            gradient otherwise), 0 below it and 1 above."""
            values = dict(zip(names + masses, rest, strict=True))
            low, high = self._support
            safe = pt.clip(value, low, min(high, 1e300))
            inner = pt.exp(pm.logcdf(base.distribution(eta, values, design), safe))
            inner = pt.switch(pt.le(value, low), 0.0, pt.switch(pt.ge(value, high), 1.0, inner))
            at_zero, at_one, inside = self._masses(values)
            return pt.log(at_zero * pt.ge(value, 0) + inside * inner + at_one * pt.ge(value, 1))

        args = [aux[n] for n in names + masses]
        return pm.CustomDist.dist(eta, *args, logp=logp, logcdf=logcdf)

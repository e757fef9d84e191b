"""The response's addition terms on the NumPy side: pointwise log-likelihood (for LOO and
WAIC) and truncated draws, mirroring :mod:`mixedbayes.graph.observed`."""

from __future__ import annotations

import numpy as np

MAX_TRIES = 200  # rejection rounds for truncated draws before giving up on a draw


def pointwise_loglik(family, design, part: slice, eta, aux, trials) -> np.ndarray:
    """(S, m) log-likelihood terms of the rows ``part``, with weights, censoring and
    truncation applied as in the model."""
    y, additions = design.y[part], design.additions
    logp = family.logpdf(y, eta, aux, trials)
    if additions.censoring is not None:
        codes = additions.censoring[part]
        below = family.logcdf(y, eta, aux, trials)
        logp = np.where(codes == -1, below, logp)
        logp = np.where(codes == 1, family.logsf(y, eta, aux, trials), logp)
        if (codes == 2).any():
            upper = np.where(codes == 2, additions.upper[part], y + 1.0)
            interval = _log_difference(family.logcdf(upper, eta, aux, trials), below)
            logp = np.where(codes == 2, interval, logp)
    if additions.truncation is not None:
        lower, upper = (bound[part] for bound in additions.truncation)
        lower = lower - 1.0 if family.discrete else lower  # counts: lower is a value
        logp = logp - log_mass(family, eta, aux, lower, upper, trials)
    if additions.weights is not None:
        logp = logp * additions.weights[part]
    return logp


def log_mass(family, eta, aux, lower, upper, trials=None) -> np.ndarray:
    """log P(lower < Y <= upper) per draw and row."""
    with np.errstate(divide="ignore"):
        above_lower = np.where(np.isneginf(lower), 0.0, family.logsf(lower, eta, aux, trials))
        above_upper = np.where(np.isposinf(upper), -np.inf, family.logsf(upper, eta, aux, trials))
    return _log_difference(above_lower, above_upper)


def truncated_draws(family, rng, eta, aux, trials, lower, upper) -> np.ndarray:
    """Draws of the family restricted to [lower, upper], shape of eta: counts by inversion
    of the CDF, continuous responses by rejection."""
    if family.discrete:
        return _inverted(family, rng, eta, aux, lower, upper, trials)
    draws = family.draw(rng, eta, aux, trials)
    for _ in range(MAX_TRIES):
        outside = (draws < lower) | (draws > upper)
        if not outside.any():
            break
        fresh = family.draw(rng, eta, aux, trials)
        draws = np.where(outside, fresh, draws)
    else:
        draws = np.where((draws < lower) | (draws > upper), np.nan, draws)
    return draws


def _inverted(family, rng, eta, aux, lower, upper, trials=None) -> np.ndarray:
    """``ppf(u)``, ``u`` uniform between ``F(lower - 1)`` and ``F(upper)``: exact
    however little mass the bounds hold (rejection would give up)."""
    with np.errstate(divide="ignore"):
        cdf = np.exp(family.logcdf(lower - 1.0, eta, aux, trials))
        below = np.where(np.isneginf(lower), 0.0, cdf)
        top = np.where(np.isposinf(upper), 1.0, np.exp(family.logcdf(upper, eta, aux, trials)))
    u = below + rng.random(np.shape(below)) * (top - below)
    return np.clip(family.ppf(u, eta, aux, trials), lower, upper)


def _log_difference(log_a, log_b):
    """log(exp(log_a) - exp(log_b)) for log_a >= log_b."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_a + np.log1p(-np.exp(log_b - log_a))

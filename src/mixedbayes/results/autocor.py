"""Results of a residual correlation structure: its table, the pointwise log-likelihood
and correlated draws of the response.

The pointwise log-likelihood of row i is brms's for models with correlated residuals: the
density of ``y_i`` given every other row of its level, ``N(y_i | y_i - (Q e)_i / Q_ii,
1 / Q_ii)`` with ``Q = V^-1`` and ``V = sigma^2 R`` the level's residual covariance (random
effects as drawn). These terms are what PSIS-LOO approximates leaving one row out;
they do not sum to the joint log density, which is the product of the sequential
conditionals instead.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from ..design.autocor import AutocorDesign
from ..graph.autocor import correlation_matrices
from .stats import COLUMNS, summarize

_CHUNK = 4_000_000  # values of the (draws, levels, T, T) covariances per chunk


def autocor_table(posterior: xr.Dataset, autocor: AutocorDesign | None, prob: float):
    """``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail``: ``ar[1]``,
    ``ar[2]``, ... (one row per lag: the coefficients, not the partial autocorrelations),
    ``ma[1]``, ..., ``cosy``, or for ``unstr`` one row per pair of time points,
    ``cortime[1,2]``."""
    if autocor is None:
        return pd.DataFrame(columns=["term", *COLUMNS])
    rows = []
    points = autocor.time_points
    for i, j in itertools.combinations(range(len(points)), 2):
        draws = posterior["cortime"].isel(time_point=i, time_point_=j)
        rows.append(summarize(draws, prob).assign(term=f"cortime[{points[i]},{points[j]}]"))
    for name in autocor.term.parameters:
        if name == "cortime":
            continue
        draws, dim = posterior[name], f"{name}_lag"
        if dim in draws.dims:  # order above 1: a coefficient per lag
            for lag in draws[dim].values:
                one = draws.sel({dim: lag}, drop=True)
                rows.append(summarize(one, prob).assign(term=f"{name}[{lag}]"))
            continue
        term = name if name == "cosy" else f"{name}[1]"
        rows.append(summarize(draws, prob).assign(term=term))
    return pd.concat(rows, ignore_index=True)[["term", *COLUMNS]]


def _covariances(autocor: AutocorDesign, params: dict, sigma, part: slice) -> np.ndarray:
    """(draws in part, levels, T, T) residual covariances, unit diagonal on padding."""
    R = correlation_matrices(autocor, {n: v[part] for n, v in params.items()})
    sd = autocor.padded(np.broadcast_to(sigma[part], (R.shape[0], autocor.index.size)), 1.0)
    return R * sd[..., :, None] * sd[..., None, :]


def _steps(autocor: AutocorDesign, n_draws: int):
    size = autocor.rows.size * autocor.rows.shape[1]
    step = max(1, _CHUNK // max(size, 1))
    for start in range(0, n_draws, step):
        yield slice(start, min(start + step, n_draws))


def _unpad(autocor: AutocorDesign, values: np.ndarray) -> np.ndarray:
    """(draws, levels, T) back to (draws, n) in the rows' order."""
    out = np.empty((values.shape[0], autocor.index.size))
    out[:, autocor.rows[autocor.mask]] = values[:, autocor.mask]
    return out


def autocor_loglik(autocor: AutocorDesign, y, mu, sigma, params: dict) -> np.ndarray:
    """(draws, n) log density of each row given the other rows of its level (module
    docstring); ``mu`` (draws, n), ``sigma`` (draws, 1) or (draws, n), ``params`` the
    structure's draws by name."""
    out = np.empty(mu.shape)
    for part in _steps(autocor, mu.shape[0]):
        Q = np.linalg.inv(_covariances(autocor, params, sigma, part))
        e = autocor.padded(y - mu[part])
        Qe = (Q @ e[..., None])[..., 0]
        q = np.diagonal(Q, axis1=-2, axis2=-1)
        out[part] = _unpad(autocor, 0.5 * np.log(q / (2.0 * np.pi)) - 0.5 * Qe**2 / q)
    return out


def correlated_draws(autocor: AutocorDesign, rng, mu, sigma, params: dict) -> np.ndarray:
    """(draws, n) responses: ``mu`` plus residuals ``N(0, sigma^2 R)`` within each level."""
    out = np.empty(mu.shape)
    for part in _steps(autocor, mu.shape[0]):
        L = np.linalg.cholesky(_covariances(autocor, params, sigma, part))
        z = rng.standard_normal((*L.shape[:-1], 1))
        out[part] = mu[part] + _unpad(autocor, (L @ z)[..., 0])
    return out

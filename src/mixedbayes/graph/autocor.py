"""Residual correlation structures: each level's residuals are multivariate normal.

Within a level of ``gr`` the residuals ``e = y - mu`` have covariance ``sigma^2 R`` with
``R[i, j] = rho(|t_i - t_j|)`` (:mod:`mixedbayes.design.autocor`), ``sigma`` the marginal
residual sd as in nlme and brms:

- ``ar``, AR(1) ``e_t = phi e_{t-1} + innovation``: ``rho(h) = phi^h``;
- ``ma``, MA(1) ``e_t = innovation_t + theta innovation_{t-1}``: ``rho(1) = theta /
  (1 + theta^2)``, 0 beyond;
- ``arma``, ARMA(1, 1): ``rho(1) = (1 + phi theta)(phi + theta) / (1 + 2 phi theta +
  theta^2)``, ``rho(h) = phi^(h - 1) rho(1)``;
- orders above 1 (``ar(p = 2)``, ``ma(q = 2)``, ``arma(p = 2, q = 1)``): the exact ARMA(p, q)
  autocorrelation of :mod:`mixedbayes.graph.arma`, with the coefficients ``ar`` and ``ma``
  (dims ``ar_lag``, ``ma_lag``) made from sampled partial autocorrelations ``ar_pacf``,
  ``ma_pacf`` in (-1, 1), so every draw is stationary and invertible; order-1 terms sample
  ``ar`` and ``ma`` themselves (the partial autocorrelation is the coefficient);
- ``cosy``, compound symmetry: ``rho(h) = c`` for every ``h > 0``;
- ``unstr``, unstructured: ``R[i, j] = C[k_i, k_j]`` for the time points ``k`` of the rows,
  ``C`` the K x K correlation matrix ``cortime`` (LKJ prior, brms's class).

When a grouping factor with the same levels as ``gr`` has random effects, they are
integrated out with the residuals (``marginalize="auto"`` chooses it): a level's rows are
``N(mu, sigma^2 R + Z S Z')``. AR(1) is whitened through its innovations (O(rows) per
level); the other structures factorize each level's covariance (at most T x T for the
longest level) densely, in one batched Cholesky decomposition per gradient. Padded rows
have unit variance, zero residual and no correlation, so they add exactly nothing. The
integrated effects' conditional draws are in :mod:`mixedbayes.graph.conditional`.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..design import Design, RandomBlock
from ..design.autocor import AutocorDesign
from ..formula.special import default_orders
from ..priors import PriorSet
from .ar1_statistics import AR1Statistics
from .arma import arma_autocorrelation, pacf_to_coefficients
from .marginal_op import padded_levels

LOG_2PI = float(np.log(2.0 * np.pi))


def autocorrelation(kind: str, params: dict, max_lag: int, xp=np, orders=None):
    """``rho(0), ..., rho(max_lag)`` along a last axis; ``params`` are scalars, or arrays
    of draws (then shape ``(draws, max_lag + 1)``). Written once for NumPy and PyTensor.

    ``orders`` is ``(p, q)`` (the kind's order-1 default if None); for order 1 the closed
    forms above, else :func:`mixedbayes.graph.arma.arma_autocorrelation`, with ``ar``
    and ``ma`` of order above 1 carrying their lags along a last axis."""
    p, q = orders if orders is not None else default_orders(kind)
    if max(p, q) > 1:
        return arma_autocorrelation(
            _lags(params, "ar", p, xp), _lags(params, "ma", q, xp), max_lag, xp
        )
    h = np.arange(1, max_lag + 1, dtype=float)
    first = _first(kind, params)
    shape = xp.shape(first) if xp is np else ()
    first = xp.reshape(first, (*shape, 1)) if xp is np else first
    if kind in ("ar", "arma"):
        phi = params["ar"]
        phi = xp.reshape(phi, (*shape, 1)) if xp is np else phi
        later = first * phi ** (h - 1.0)
    elif kind == "ma":
        later = first * (h == 1.0)
    else:  # cosy
        later = first * np.ones_like(h)
    ones = np.ones((*shape, 1)) if xp is np else pt.ones((1,))
    return xp.concatenate([ones, later], axis=-1)


def _lags(params: dict, name: str, order: int, xp):
    """``params[name]`` with its lags along a last axis (None for order 0)."""
    if order == 0:
        return None
    value = params[name] if xp is not np else np.asarray(params[name], dtype=float)
    return xp.expand_dims(value, -1) if order == 1 else value


def _first(kind: str, params: dict):
    """``rho(1)``."""
    if kind == "ar":
        return params["ar"]
    if kind == "cosy":
        return params["cosy"]
    theta = params["ma"]
    if kind == "ma":
        return theta / (1.0 + theta**2)
    phi = params["ar"]
    return (1.0 + phi * theta) * (phi + theta) / (1.0 + 2.0 * phi * theta + theta**2)


def correlation_matrices(autocor: AutocorDesign, params: dict, xp=np):
    """``R`` per level, (..., levels, T, T): zeros off the diagonal and ones on it for
    padded rows."""
    if autocor.kind == "unstr":  # lags index the flattened time-point correlations
        C = params["cortime"]
        acf = xp.reshape(C, (*xp.shape(C)[:-2], -1)) if xp is np else C.flatten()
    else:
        max_lag = int(autocor.lags.max(initial=0))
        acf = autocorrelation(autocor.kind, params, max_lag, xp, (autocor.term.p, autocor.term.q))
    keep = (autocor.mask[:, :, None] & autocor.mask[:, None, :]).astype(float)
    pad_eye = np.eye(autocor.rows.shape[1])[None] * (~autocor.mask)[:, :, None]
    return acf[..., autocor.lags] * keep + pad_eye


def create_parameters(autocor: AutocorDesign, priors: PriorSet) -> dict:
    """The structure's PyMC variables (``ar``, ``ma``, ``cosy``; ``unstr``'s correlation
    matrix ``cortime``, dims ``time_point``) from their priors. An ``ar`` or ``ma`` of
    order above 1 is a Deterministic (dims ``ar_lag``, ``ma_lag``, labels 1..p) of the
    partial autocorrelations ``ar_pacf``, ``ma_pacf``, which take the class's prior
    (:func:`mixedbayes.graph.arma.pacf_to_coefficients`)."""
    if autocor.kind == "unstr":
        eta = priors.get("cortime").params.get("eta", 1.0)
        C = lkj_correlation("cortime", len(autocor.time_points), eta)
        return {"cortime": pm.Deterministic("cortime", C, dims=TIME_DIMS)}
    orders = {"ar": autocor.term.p, "ma": autocor.term.q}
    params = {}
    for name in autocor.term.parameters:
        if orders.get(name, 1) == 1:
            params[name] = priors.get(name).create(name)
            continue
        dim = f"{name}_lag"
        pm.modelcontext(None).add_coord(dim, list(range(1, orders[name] + 1)))
        pacf = priors.get(name).create(f"{name}_pacf", dims=dim)
        sign = -1.0 if name == "ar" else 1.0
        coefficients = pacf_to_coefficients(pacf, orders[name], pt, sign)
        params[name] = pm.Deterministic(name, coefficients, dims=dim)
    return params


TIME_DIMS = ("time_point", "time_point_")


def lkj_correlation(name: str, n: int, eta: float):
    """An n x n correlation matrix with the LKJ(eta) prior, from its canonical partial
    correlations (Lewandowski, Kurowicka & Joe 2009, the C-vine): ``z[i, j]`` (j < i), the
    correlation of i and j given 0..j-1, are independent ``2 Beta(b_j, b_j) - 1`` with
    ``b_j = eta + (n - 2 - j) / 2``; the Cholesky factor follows row by row, as Stan's
    ``cholesky_factor_corr``. PyMC's ``LKJCorr`` checks positive definiteness with an
    operation JAX lacks; this needs none. Samples ``{name}_cpc``."""
    pairs = [(i, j) for j in range(n - 1) for i in range(j + 1, n)]
    b = np.array([eta + (n - 2 - j) / 2.0 for _, j in pairs])
    z = 2.0 * pm.Beta(f"{name}_cpc", alpha=b, beta=b) - 1.0
    cpc = {pair: z[k] for k, pair in enumerate(pairs)}
    rows = []
    for i in range(n):
        row, left = [], pt.constant(1.0)  # left: 1 - sum of the row's squares so far
        for j in range(i):
            w = cpc[i, j] * pt.sqrt(left)
            row.append(w)
            left = left - w**2
        row.append(pt.sqrt(left))
        rows.append(pt.stack(row + [pt.constant(0.0)] * (n - i - 1)))
    L = pt.stack(rows)
    return L @ L.T


def same_levels(autocor: AutocorDesign, block: RandomBlock) -> bool:
    """Whether ``block``'s levels are exactly the levels of the structure's ``gr``."""
    pairs = np.unique(autocor.index * block.n_levels + block.index)
    return len(pairs) == len(autocor.levels) == block.n_levels


def level_of_block(autocor: AutocorDesign, block: RandomBlock) -> np.ndarray:
    """For each level of ``gr``, the matching level of ``block`` (:func:`same_levels`)."""
    return block.index[autocor.rows[:, 0]]


def add_autocor_likelihood(
    design: Design, params: dict, mu, sigma, integrated=None, linear=None, sampled=()
):
    """Add the response's log density as the Potential ``autocor_loglik``.

    ``mu`` is the mean of each level's rows, (levels, T) as :func:`padded_predictor`
    gives it, ``sigma`` a scalar or one value per row; ``integrated`` is ``(block, chol)``
    for a factor with the levels of ``gr`` whose effects are integrated out, ``linear``
    ``(X, beta)`` the fixed part and ``sampled`` the factors whose effects are sampled.
    AR(1) with an integrated factor and nothing else sampled reads statistics
    (:mod:`mixedbayes.graph.ar1_statistics`).
    """
    autocor = design.autocor
    if integrated is not None and AR1Statistics.applies(design, integrated[0], sampled):
        block, chol = integrated
        X, beta = linear
        stats = AR1Statistics(design, block, X, padded_levels(block.n_levels))
        return pm.Potential("autocor_loglik", stats.logp(params["ar"], sigma, chol, beta))
    rows = np.maximum(autocor.rows, 0)
    mask = autocor.mask.astype(float)
    sd = pt.as_tensor(sigma)
    sd = sd[rows] * mask if sd.ndim == 1 else sd * mask
    residual = (autocor.padded(design.y) - mu) * mask
    if autocor.ar1:
        logp = _ar1_logp(autocor, params["ar"], sd, residual, integrated)
        return pm.Potential("autocor_loglik", logp - 0.5 * design.n_obs * LOG_2PI)
    R = correlation_matrices(autocor, params, xp=pt)
    V = R * sd[:, :, None] * sd[:, None, :] + np.eye(rows.shape[1])[None] * (1.0 - mask)[:, :, None]
    if integrated is not None:
        block, chol = integrated
        Z = block.Z[rows] * mask[:, :, None]  # (levels, T, k)
        ZL = pt.tensordot(Z, chol, axes=[[2], [0]])
        V = V + pt.matmul(ZL, ZL.transpose(0, 2, 1))
    L = pt.linalg.cholesky(V)
    w = pt.linalg.solve_triangular(L, residual[:, :, None], lower=True)
    logdet = pt.log(pt.diagonal(L, axis1=1, axis2=2)).sum()
    n = float(design.n_obs)
    return pm.Potential("autocor_loglik", -0.5 * (w**2).sum() - logdet - 0.5 * n * LOG_2PI)


def padded_predictor(autocor: AutocorDesign, design: Design, linear, sampled):
    """The linear predictor in each level's rows, (levels, T): ``X beta + offset`` from
    the data laid out once (no gather of rows per gradient), plus the sampled factors'
    effects (``sampled``: ``(block, columns)`` with one vector over levels per
    coefficient)."""
    X, beta = linear
    eta = pt.tensordot(autocor.padded(X.T).transpose(1, 2, 0), beta, axes=[[2], [0]])
    if design.offset is not None:
        eta = eta + autocor.padded(design.offset)
    rows = np.maximum(autocor.rows, 0)
    for block, columns in sampled:
        index = block.index[rows]
        for j, column in enumerate(columns):
            eta = eta + column[index] * autocor.padded(block.Z[:, j])
    return eta


def ar1_coefficients(autocor: AutocorDesign, phi):
    """``a_j = phi^(t_j - t_(j-1))`` for a row after another of its level, else 0:
    (..., levels, T) for ``phi`` a scalar or an array of draws shaped (..., 1, 1)."""
    mask = autocor.mask.astype(float)
    previous = np.zeros_like(mask)
    previous[:, 1:] = mask[:, 1:] * mask[:, :-1]
    gaps = np.ones_like(mask)
    gaps[:, 1:] = np.where(previous[:, 1:] > 0, np.diagonal(autocor.lags, 1, 1, 2), 1.0)
    return previous * phi**gaps


def ar1_innovations(a, x, xp=np, trailing: bool = False):
    """``(x_j - a_j x_(j-1)) / sqrt(1 - a_j^2)`` along the time axis of ``x`` (..., levels,
    T), or (..., levels, T, k) with ``trailing``, for ``a`` from :func:`ar1_coefficients`:
    AR(1) residuals made independent (standardized residuals in, standard normals out).
    NumPy or PyTensor (``xp``)."""
    scale = 1.0 / xp.sqrt(1.0 - a**2)
    if trailing:
        a, scale = a[..., None], scale[..., None]
        shifted = xp.concatenate([xp.zeros_like(x[..., :1, :]), x[..., :-1, :]], axis=-2)
    else:
        shifted = xp.concatenate([xp.zeros_like(x[..., :1]), x[..., :-1]], axis=-1)
    return (x - a * shifted) * scale


def _ar1_logp(autocor: AutocorDesign, phi, sd, residual, integrated):
    """AR(1) through its innovations, without forming ``R`` (O(rows) per level).

    With ``u = e / sigma`` (per row) and ``a_j = phi^(t_j - t_(j-1))`` for a row after
    another of its level (0 for a level's first row), ``w_j = (u_j - a_j u_(j-1)) /
    sqrt(1 - a_j^2)`` are independent standard normals: ``C R C' = I``, ``log|R| =
    sum log(1 - a_j^2)``. An integrated block's covariates ``W = Z / sigma`` transform
    alike, and per level ``log|I + W~ S W~'| = log|K|``, ``K = I + L'W~'W~L``, with the
    quadratic form reduced by ``c'K^-1 c``, ``c = L'W~'w`` (``S = L L'``).
    """
    mask = autocor.mask.astype(float)
    a = ar1_coefficients(autocor, phi)

    def innovations(x):  # x: (levels, T) or (levels, T, k)
        return ar1_innovations(a, x, pt, trailing=x.ndim == 3)

    safe_sd = sd + (1.0 - mask)  # 1 on padding, whose residual is 0
    w = innovations(residual / safe_sd)
    logp = -0.5 * (w**2).sum() - 0.5 * pt.log(1.0 - a**2).sum() - pt.log(safe_sd).sum()
    if integrated is None:
        return logp
    block, chol = integrated
    rows = np.maximum(autocor.rows, 0)
    W = innovations(block.Z[rows] * mask[:, :, None] / safe_sd[:, :, None])  # (G, T, k)
    WL = pt.tensordot(W, chol, axes=[[2], [0]])
    c = (WL * w[:, :, None]).sum(axis=1)  # (G, k)
    if len(block.coefs) == 1:
        K = 1.0 + (WL[:, :, 0] ** 2).sum(axis=1)
        return logp - 0.5 * pt.log(K).sum() + 0.5 * (c[:, 0] ** 2 / K).sum()
    K = pt.eye(len(block.coefs))[None] + pt.matmul(WL.transpose(0, 2, 1), WL)
    L = pt.linalg.cholesky(K)
    v = pt.linalg.solve_triangular(L, c[:, :, None], lower=True)
    logdet = pt.log(pt.diagonal(L, axis1=1, axis2=2)).sum()
    return logp - logdet + 0.5 * (v**2).sum()

"""ARMA(p, q) residuals of any order: their exact autocorrelation and the map from partial
autocorrelations to stationary (invertible) coefficients, written once for NumPy and
PyTensor (``xp``).

The process within a level is ``e_t = phi_1 e_(t-1) + ... + phi_p e_(t-p) + z_t +
theta_1 z_(t-1) + ... + theta_q z_(t-q)`` (brms's and nlme's signs). Its autocovariance
(innovation variance 1) follows from the psi weights of its MA(infinity) form, ``psi_0 =
1``, ``psi_j = theta_j + sum_i phi_i psi_(j-i)``: with ``c_k = sum_(j=k..q) theta_j
psi_(j-k)`` (``theta_0 = 1``), ``gamma(k) - sum_i phi_i gamma(|k - i|) = c_k`` for every
``k >= 0``. The equations for ``k = 0..p`` are a (p + 1) x (p + 1) linear system for
``gamma(0..p)``; later lags follow by the recursion, and past ``max(p, q)`` the recursion
is homogeneous, so whole blocks of lags come from powers of its companion matrix (one
product per doubling: log2 of the longest lag products, not one node per lag).

Stationarity and invertibility are kept by sampling partial autocorrelations ``r_k`` in
(-1, 1) and mapping them to coefficients with the Durbin-Levinson recursion (Barndorff-
Nielsen & Schou 1973; Monahan 1984; nlme's ``corARMA`` does the same): every ``r`` in
(-1, 1)^p gives an AR polynomial ``1 - phi_1 x - ... - phi_p x^p`` with all roots outside
the unit circle, and every stationary AR(p) has one such ``r``. For order 1 the map is the
identity, ``phi_1 = r_1``.
"""

from __future__ import annotations

import numpy as np


def pacf_to_coefficients(pacf, order: int, xp=np, sign: float = -1.0):
    """Coefficients of order ``order`` from partial autocorrelations ``pacf`` (..., order).

    ``sign=-1``: autoregressive ``phi``, ``phi_kj = phi_(k-1)j - r_k phi_(k-1)(k-j)``,
    ``phi_kk = r_k`` (Durbin-Levinson). ``sign=+1``: moving-average ``theta`` of an
    invertible MA, whose polynomial ``1 + theta_1 x + ...`` is ``1 - phi_1 x - ...`` of the
    AR coefficients ``phi = -theta`` made from ``-r`` (nlme's convention); ``theta_1 = r_1``.
    Returns (..., order).
    """
    coefficients = []
    for k in range(order):
        r = pacf[..., k]
        previous = coefficients
        coefficients = [previous[j] + sign * r * previous[k - 1 - j] for j in range(k)] + [r]
    return xp.stack(coefficients, axis=-1)


def arma_autocorrelation(phi, theta, max_lag: int, xp=np):
    """``rho(0), ..., rho(max_lag)`` of an ARMA process along a last axis.

    Parameters
    ----------
    phi, theta : array or tensor of shape (..., p) and (..., q), or None
        The AR and MA coefficients along a last axis (None for order 0); a batch of draws
        in front with NumPy, a vector with PyTensor.
    max_lag : int
    xp : module
        ``numpy`` or ``pytensor.tensor``.
    """
    p, q = _order(phi), _order(theta)
    zero = (phi[..., 0] if p else theta[..., 0]) * 0.0  # the batch's shape
    ar = [phi[..., i] for i in range(p)]
    ma = [zero + 1.0] + [theta[..., j] for j in range(q)]
    psi = [zero + 1.0]
    for j in range(1, q + 1):
        psi.append(ma[j] + sum((ar[i - 1] * psi[j - i] for i in range(1, min(j, p) + 1)), zero))
    c = [sum((ma[j] * psi[j - k] for j in range(k, q + 1)), zero) for k in range(q + 1)]
    c += [zero] * (p + 1 - len(c))
    gamma = _first_autocovariances(ar, c[: p + 1], zero, xp)
    for k in range(p + 1, max(p, q) + 1):  # the recursion with MA terms left
        gamma.append(sum((ar[i] * gamma[k - 1 - i] for i in range(p)), c[k]))
    head = xp.stack(gamma[: max_lag + 1], axis=-1)
    if p:
        tail = _homogeneous_tail(phi, gamma, max_lag, xp)
    else:  # MA(q): zero past q
        tail = xp.zeros_like(head[..., :1]) * np.zeros(max_lag - q) if max_lag > q else None
    gamma = head if tail is None else xp.concatenate([head, tail], axis=-1)
    return gamma / gamma[..., :1]


def _first_autocovariances(ar: list, c: list, zero, xp) -> list:
    """``gamma(0..p)`` from the equations ``gamma(k) - sum_i phi_i gamma(|k - i|) = c_k``,
    ``k = 0..p`` (the identity for p = 0)."""
    p = len(ar)
    if p == 0:
        return [c[0]]
    rows = []
    for k in range(p + 1):
        row = []
        for m in range(p + 1):
            entry = zero + float(k == m)
            for i in range(1, p + 1):
                if abs(k - i) == m:
                    entry = entry - ar[i - 1]
            row.append(entry)
        rows.append(xp.stack(row, axis=-1))
    A = xp.stack(rows, axis=-2)
    b = xp.stack(c, axis=-1)[..., None]
    solution = xp.linalg.solve(A, b)[..., 0]
    return [solution[..., k] for k in range(p + 1)]


def _homogeneous_tail(phi, gamma: list, max_lag: int, xp):
    """``gamma(m + 1..max_lag)`` for ``m = max(p, q)``, where ``gamma(k) = sum_i phi_i
    gamma(k - i)``: states ``s_k = (gamma(k), ..., gamma(k - p + 1))`` obey ``s_(k+1) = F
    s_k`` with ``F`` the companion matrix, so ``n`` known states give the next ``n`` by one
    product with ``F^n``. None when ``max_lag <= m``."""
    p, m = _order(phi), len(gamma) - 1
    if max_lag <= m:
        return None
    zero = phi[..., :1] * 0.0
    eye = np.eye(p)
    F = xp.stack([phi] + [zero + eye[i] for i in range(p - 1)], axis=-2)
    states = xp.stack([gamma[m - i] for i in range(p)], axis=-1)[..., None]  # s_m
    power, known = F, 1  # F^known, and the states s_m .. s_(m + known - 1)
    while known < max_lag - m + 1:
        states = xp.concatenate([states, xp.matmul(power, states)], axis=-1)
        power, known = xp.matmul(power, power), 2 * known
    return states[..., 0, 1 : max_lag - m + 1]


def _order(coefficients) -> int:
    """The length of the last axis (static for a PyTensor variable), 0 for None."""
    if coefficients is None:
        return 0
    shape = coefficients.shape if isinstance(coefficients, np.ndarray) else coefficients.type.shape
    if shape[-1] is None:
        raise ValueError("the order of an ARMA coefficient vector must be known statically")
    return int(shape[-1])

"""The Gaussian likelihood with one factor's random effects integrated out, as a PyTensor Op.

For the levels g of the integrated factor, with residuals ``e = y - (everything else)``,
coefficient rows ``Z_g`` (``n_g x k``), random effects ``u_g ~ N(0, S)``, ``S = L L'`` and
residual sd ``sigma``, the marginal law is ``e_g ~ N(0, sigma^2 I + Z_g S Z_g')``. With
``M_g = Z_g'Z_g + sigma^2 S^-1`` (``k x k``), the matrix determinant lemma and Woodbury's
identity give

    -2 log p = N log(2 pi) + (N - G k) log sigma^2 + G log|S| + sum_g log|M_g|
               + (e'e - sum_g s_g' M_g^-1 s_g) / sigma^2,        s_g = Z_g' e_g,

so one evaluation needs only ``e'e``, the ``G x k`` sums ``s`` and the constant ``Z_g'Z_g``:
``k x k`` algebra per level, whatever the number of rows. The Op returns the log density
and its gradient with respect to ``L``, ``sigma``, ``s`` and ``e'e`` in one NumPy pass (batched
``k x k`` solves), so PyTensor never builds a graph of per-level linear algebra; a JAX
version of the same function is registered for the JAX samplers.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.jax.dispatch import jax_funcify

LOG_2PI = float(np.log(2.0 * np.pi))


def marginal_terms(L, sigma, s, ee, ztz, n_obs, xp=np):
    """Log density and its gradient, written once for NumPy (``xp=np``) and JAX.

    Returns ``(logp, d_L, d_sigma, d_s, d_ee)``.
    """
    n_levels, k = s.shape
    var = sigma**2
    eye = xp.eye(k)
    L_inv = xp.linalg.solve(L, eye)
    P = L_inv.T @ L_inv  # S^-1
    M = ztz + var * P  # (G, k, k)
    M_inv, logdet_M = xp.linalg.inv(M), xp.linalg.slogdet(M)[1]
    a = xp.einsum("gij,gj->gi", M_inv, s)  # M_g^-1 s_g
    logdet_S = 2.0 * xp.sum(xp.log(xp.abs(xp.diagonal(L))))
    quad = ee - xp.sum(s * a)
    minus2 = (
        n_obs * LOG_2PI
        + (n_obs - n_levels * k) * xp.log(var)
        + n_levels * logdet_S
        + xp.sum(logdet_M)
        + quad / var
    )
    sum_M_inv = M_inv.sum(axis=0)
    aa = a.T @ a  # sum_g a_g a_g'
    d_var = (
        (n_obs - n_levels * k) / var
        + xp.sum(sum_M_inv * P)  # sum_g tr(M_g^-1 P), P symmetric
        - quad / var**2
        + xp.sum(aa * P) / var  # sum_g a_g' P a_g
    )
    A = n_levels * P - var * P @ sum_M_inv @ P - P @ aa @ P  # d(-2 log p) / dS
    return (
        -0.5 * minus2,
        xp.tril(-(A @ L)),  # -0.5 * 2 A L
        -0.5 * d_var * 2.0 * sigma,
        a / var,
        -0.5 / var,
    )


def padded_levels(n_levels: int, smallest: int = 32) -> int:
    """The number of levels the per-level statistics are padded to, with zeros.

    At least ``smallest``, then steps of a quarter octave (32, 40, 48, 56, 64, 80, ...),
    so data sets with nearby numbers of levels (sleepstudy's 18 subjects and Oxboys's 26;
    the folds of a k-fold cross-validation) share one compiled program
    (:mod:`mixedbayes.sampling.programs`) for at most 25% more per-level work. A level
    with ``Z_g = 0`` adds nothing to the marginal density: its ``log|M_g| = k log sigma^2
    - log|S|`` cancels its share of ``(N - G k) log sigma^2 + G log|S|``, and its sums are 0.
    """
    if n_levels <= smallest:
        return smallest
    step = 2 ** (int(np.log2(n_levels - 1)) - 2)
    return int(-(-n_levels // step) * step)


class MarginalGaussian(Op):
    """``MarginalGaussian(ztz, n_obs)(L, sigma, s, ee)``: see the module docstring.

    Outputs are the log density and its four partial derivatives; ``grad`` reuses them.
    """

    def __init__(self, ztz: np.ndarray, n_obs: int):
        self.ztz = np.asarray(ztz, dtype=float)
        self.n_obs = int(n_obs)

    def __hash__(self):
        return hash((type(self), self.n_obs, self.ztz.shape, self.ztz.tobytes()))

    def __eq__(self, other):
        return (
            type(self) is type(other)
            and self.n_obs == other.n_obs
            and self.ztz.shape == other.ztz.shape
            and np.array_equal(self.ztz, other.ztz)
        )

    def make_node(self, L, sigma, s, ee):
        inputs = [pt.as_tensor_variable(x, dtype="float64") for x in (L, sigma, s, ee)]
        outputs = [pt.dscalar(), pt.dmatrix(), pt.dscalar(), pt.dmatrix(), pt.dscalar()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        L, sigma, s, ee = inputs
        values = marginal_terms(L, sigma, s, ee, self.ztz, self.n_obs)
        for storage, value in zip(output_storage, values, strict=True):
            storage[0] = np.asarray(value, dtype="float64")

    def grad(self, inputs, output_grads):
        _, d_L, d_sigma, d_s, d_ee = self(*inputs)
        g = output_grads[0]
        return [g * d_L, g * d_sigma, g * d_s, g * d_ee]


def marginal_logp(L, sigma, s: list, ee, ztz: np.ndarray, n_obs: int):
    """The marginal log density as a PyTensor expression.

    ``s`` holds the k per-level sums ``Z[:, j]'e`` (vectors over levels). One or two
    coefficients per level (random intercepts; intercept and slope) are written in closed
    form as elementwise operations over the levels, which PyTensor compiles to C and
    differentiates itself; larger blocks use the :class:`MarginalGaussian` Op.
    """
    n_levels, k = ztz.shape[0], len(s)
    var = sigma**2
    if k <= 2:
        logdet_S, logdet_M, minv = level_inverses(L, var, ztz)
        explained = sum((s[a] * minv[a, b] * s[b]).sum() for a in range(k) for b in range(k))
    else:
        return MarginalGaussian(ztz, n_obs)(L, sigma, pt.stack(s, axis=1), ee)[0]
    minus2 = (
        n_obs * LOG_2PI
        + (n_obs - n_levels * k) * pt.log(var)
        + n_levels * logdet_S
        + logdet_M
        + (ee - explained) / var
    )
    return -0.5 * minus2


def level_inverses(L, var, ztz, k: int | None = None):
    """For one or two coefficients per level: ``log|S|``, ``sum_g log|M_g|`` and the
    entries of ``M_g^-1`` over the levels, ``{(a, b): vector}``, in closed form (elementwise
    operations, which PyTensor compiles to C and differentiates itself). ``ztz`` is an
    array, or an expression of ``k`` coefficients (:mod:`mixedbayes.graph.rowwise`)."""
    if (ztz.shape[1] if k is None else k) == 1:
        var_u = L[0, 0] ** 2
        m = ztz[:, 0, 0] + var / var_u
        return pt.log(var_u), pt.log(m).sum(), {(0, 0): 1.0 / m}
    s11, s12, s22 = L[0, 0] ** 2, L[0, 0] * L[1, 0], L[1, 0] ** 2 + L[1, 1] ** 2
    logdet_S = pt.log(s11) + pt.log(L[1, 1] ** 2)
    scale = var / pt.exp(logdet_S)  # sigma^2 S^-1 = scale * [[s22, -s12], [-s12, s11]]
    m11, m12, m22 = (
        ztz[:, 0, 0] + scale * s22,
        ztz[:, 0, 1] - scale * s12,
        ztz[:, 1, 1] + scale * s11,
    )
    det = m11 * m22 - m12**2
    off = -m12 / det
    minv = {(0, 0): m22 / det, (0, 1): off, (1, 0): off, (1, 1): m11 / det}
    return logdet_S, pt.log(det).sum(), minv


def integrated_levels(chol, lower: dict, s: list, levels: int):
    """``G log|S| + sum_g log|M_g| - sum_g s_g' M_g^-1 s_g`` for ``M_g = Q_g + S^-1``
    (residual variances inside ``Q_g``; ``S = chol chol'``) from the entries of ``Q_g``,
    ``lower[(a, b)]`` (a >= b) over the levels, and the sums ``s[a]``: closed form for one or
    two coefficients, batched Cholesky factors beyond."""
    k = len(s)
    ztz = pt.stack(  # (levels, k, k), each symmetric pair summed once
        [pt.stack([lower[max(a, b), min(a, b)] for b in range(k)], axis=-1) for a in range(k)],
        axis=-2,
    )
    if k <= 2:  # elementwise over the levels
        logdet_S, logdet_M, minv = level_inverses(chol, 1.0, ztz, k)
        explained = sum((s[a] * minv[a, b] * s[b]).sum() for a in range(k) for b in range(k))
    else:
        C = pt.linalg.cholesky(ztz + pt.linalg.inv(chol @ chol.T)[None])
        logdet_M = 2.0 * pt.log(pt.diagonal(C, axis1=-2, axis2=-1)).sum()
        logdet_S = 2.0 * pt.log(pt.abs(pt.diag(chol))).sum()
        half = pt.linalg.solve_triangular(C, pt.stack(s, axis=1)[..., None], lower=True)
        explained = (half**2).sum()
    return levels * logdet_S + logdet_M - explained


@jax_funcify.register(MarginalGaussian)
def _jax_marginal(op, **kwargs):
    ztz = jnp.asarray(op.ztz)

    def marginal(L, sigma, s, ee):
        return marginal_terms(L, sigma, s, ee, ztz, op.n_obs, xp=jnp)

    return marginal

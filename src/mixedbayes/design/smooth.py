"""Penalized regression spline bases in mixed-model form, as R's mgcv builds them.

:func:`smooth_basis` reproduces, for one covariate ``x``,

.. code-block:: r

    sm <- smoothCon(s(x, bs = bs, k = k), data = data.frame(x = x), absorb.cons = TRUE)[[1]]
    re <- smooth2random(sm, "x", type = 2)

so that ``fixed(x)`` is ``re$Xf`` and ``random(x)`` is ``re$rand$Xr`` (up to the sign of each
column, and the order of columns with tied eigenvalues). The smooth is then
``f(x) = Xf beta + Xr b`` with ``b ~ N(0, sds^2 I)``; this is how gamm4 and brms fit smooths.
The steps follow mgcv 1.8/1.9:

1. The unconstrained basis ``X`` (n x k) and penalty ``S``.

   * ``"cr"`` (``smooth.construct.cr.smooth.spec``, C ``crspl``): k knots at the type-7
     quantiles of the unique x; a natural cubic spline parametrized by its values at the
     knots, with ``F = [0; B^-1 D; 0]`` mapping them to second derivatives and
     ``S = D' B^-1 D`` (Wood 2017, section 5.3.1). Beyond the knots it is linear.
   * ``"tp"`` (``smooth.construct.tp.smooth.spec``, C ``tprs_setup``; Wood 2003), m = 2:
     x is centred by its mean (``shift``); ``E_ij = |x_i - x_j|^3 / 12`` over the sorted
     unique x, ``T = [1, x]``; the k eigenvalues of E largest in magnitude (sorted from the
     largest down, as mgcv's Lanczos routine returns them) with eigenvectors ``U``; the
     constraint ``T' U delta = 0`` is absorbed with mgcv's Householder ``QT`` factorization
     (``T'U Q = [0, R]``, ``Z`` = first k - 2 columns of ``Q``), giving the k - 2 penalized
     columns ``E U Z`` (penalty ``Z' diag(ev) Z``) followed by ``1`` and ``x``; finally every
     column is scaled to root mean square 1. With exactly k unique x, ``U = I`` and the
     penalty is ``Z' E Z`` (mgcv's "pure knot" case).

2. ``smoothCon``: ``S`` is scaled by ``norm(X, "I")^2 / norm(S, "O")``, and the centring
   constraint ``colMeans(X) beta = 0`` is absorbed by the Householder reflection of R's
   ``qr`` (``Z`` = its columns 2..k): ``X -> X Z``, ``S -> Z' S Z``.
3. ``smooth2random(type = 2)``: ``Z' S Z = U diag(ev) U'`` (eigenvalues descending);
   ``X Z U diag(1/sqrt(ev), 1)`` splits into ``Xr`` (the k - 2 penalized columns) and ``Xf``
   (the last, unpenalized, column; not rescaled).

4. One step mgcv does not take (:meth:`SmoothBasis.penalized`): the penalized columns the
   model uses are ``Xr - Xf A`` with ``A`` the least-squares fit of ``Xr`` on ``Xf`` over
   the training x, so they are orthogonal to the unpenalized ones there. The curves are
   the same (``Xf b + Xr u = Xf (b + A u) + (Xr - Xf A) u``), the penalty on ``u`` is the
   same, and the unpenalized coefficient becomes the slope of the least-squares line
   through the whole smooth over the training x rather than a coefficient whose value
   depends on the penalty's eigenvectors. With the penalized part integrated out
   (:mod:`mixedbayes.graph.woodbury`) the slope no longer trades against the smooth's sd:
   sleepstudy's ``s(Days, k = 5)`` min bulk ESS 2,546 -> 3,500 (docs/performance.md).
   Only the slope's prior means something else: it is on that line's slope.

New x are evaluated with the same knots / centres and the same matrices (mgcv's
``PredictMat``), so prediction at the training x reproduces the training columns.

Differences from mgcv, all in ``"tp"``:

* mgcv finds the eigenvectors of E by its own Lanczos iteration, converged to about 1e-11;
  this module uses LAPACK (or ARPACK for more than 500 unique x), so the two agree to
  1e-13 typically and 1e-9 at worst, not to rounding error.
* When the unique x are symmetric about their mean (equally spaced x, say), a pivot in the
  ``QT`` step is zero up to rounding error, and mgcv returns, depending on the sign of that
  rounding error, either this module's basis or its mirror image (the basis built from
  ``-x``). Both have the same ``Xf``, penalty eigenvalues and ``Xr Xr'``, so the same model.
  Here the choice is fixed: such a pivot counts as zero, and eigenvectors of E are signed
  so that their first clearly non-zero entry is positive.
* With more than 2000 unique x mgcv uses a random subset of 2000 (drawn with R's RNG) as
  centres, which cannot be reproduced; this module takes 2000 evenly spaced in rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from mixedbayes.errors import FormulaError

__all__ = ["SmoothBasis", "smooth_basis"]

BASES = ("tp", "cr")
MAX_KNOTS = 2000  # mgcv's default xt$max.knots for "tp"
ZERO_TOL = 1e-9  # relative size below which a pivot in _qt counts as rounding error


@dataclass(frozen=True, eq=False)
class SmoothBasis:
    """One smooth in mixed-model form, fitted to training x; re-evaluates new x.

    Attributes
    ----------
    bs : str
        ``"tp"`` (thin-plate regression spline) or ``"cr"`` (cubic regression spline).
    k : int
        Basis dimension before the centring constraint (mgcv's ``k``).
    knots : numpy.ndarray
        ``"cr"``: the k knots. ``"tp"``: the sorted unique centred training x (the centres).
    shift : float
        ``"tp"``: the mean of the training x, subtracted before evaluation; 0 for ``"cr"``.
    coef_map : numpy.ndarray
        ``"cr"``: ``F`` (k x k), knot values to second derivatives. ``"tp"``: ``UZ``
        ((len(knots) + 2) x k), radial and polynomial functions to the basis columns.
    constraint : numpy.ndarray
        ``Z`` (k x (k - 1)) absorbing the centring constraint (the identity without it).
    transform : numpy.ndarray
        ``U diag(D)`` ((k - 1) x (k - 1), k x k uncentred) of ``smooth2random``.
    penalty : numpy.ndarray
        The constrained, scaled penalty ``Z' S Z`` (mgcv's ``sm$S[[1]]``).
    decorrelate : numpy.ndarray
        ``A`` (n_fixed x n_random): the least-squares fit of ``Xr`` on ``Xf`` over the
        training x (:meth:`penalized`).
    """

    bs: str
    k: int
    knots: np.ndarray
    shift: float
    coef_map: np.ndarray
    constraint: np.ndarray
    transform: np.ndarray
    penalty: np.ndarray
    decorrelate: np.ndarray

    @property
    def n_random(self) -> int:
        """Number of penalized columns, ``k - 2``."""
        return self.k - 2

    @property
    def n_fixed(self) -> int:
        """Number of unpenalized columns (1: the linear trend, the constant absorbed; 2
        uncentred)."""
        return self.transform.shape[1] - self.n_random

    def basis(self, x) -> np.ndarray:
        """Evaluate mgcv's unconstrained basis (``PredictMat`` before the constraint).

        Parameters
        ----------
        x : array_like
            Covariate values, 1-D and finite.

        Returns
        -------
        numpy.ndarray
            (n, k) matrix.
        """
        x = _as_x(x)
        if self.bs == "cr":
            return _cr_design(x, self.knots, self.coef_map)
        return _tp_design(x - self.shift, self.knots, self.coef_map)

    def constrained(self, x) -> np.ndarray:
        """The basis with the centring constraint absorbed (mgcv's ``sm$X``), (n, k - 1)."""
        return self.basis(x) @ self.constraint

    def fixed(self, x) -> np.ndarray:
        """Unpenalized columns ``Xf`` at x, shape (n, n_fixed)."""
        return self.constrained(x) @ self.transform[:, self.n_random :]

    def random(self, x) -> np.ndarray:
        """Penalized columns ``Xr`` at x, scaled so that their penalty is the identity."""
        return self.constrained(x) @ self.transform[:, : self.n_random]

    def penalized(self, x) -> np.ndarray:
        """The penalized columns the model uses: ``Xr - Xf A``, orthogonal to ``Xf`` over
        the training x (module docstring, step 4)."""
        return self.random(x) - self.fixed(x) @ self.decorrelate


def smooth_basis(x, k: int = 10, bs: str = "tp", centred: bool = True) -> SmoothBasis:
    """Build an mgcv smooth ``s(x, bs = bs, k = k)`` in mixed-model form.

    Parameters
    ----------
    x : array_like
        Training covariate values (1-D, finite; ties allowed).
    k : int, default 10
        Basis dimension (mgcv's ``k``), at least 3 and at most the number of unique x.
    bs : {"tp", "cr"}, default "tp"
        Thin-plate regression spline (m = 2) or cubic regression spline.
    centred : bool, default True
        Absorb the centring constraint (mgcv's default). False for a numeric ``by``,
        which mgcv leaves unconstrained: the constant joins the unpenalized columns.

    Returns
    -------
    SmoothBasis
        ``fixed(x)`` equals mgcv's ``re$Xf`` and ``random(x)`` its ``re$rand$Xr``.

    Raises
    ------
    FormulaError
        For an unknown ``bs``, ``k < 3``, non-finite x, or fewer unique x than ``k``.
    """
    if bs not in BASES:
        raise FormulaError(f"unknown smooth basis bs={bs!r}; use one of {', '.join(BASES)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 3:
        raise FormulaError(f"smooth basis dimension k must be an integer >= 3, got {k!r}")
    k = int(k)
    x = _as_x(x)
    xu = np.unique(x)
    if xu.size < k:
        raise FormulaError(
            f"x has insufficient unique values to support {k} coefficients "
            f"({xu.size} unique values); reduce k"
        )
    if bs == "cr":
        knots = _r_quantile(xu, k)
        coef_map, S = _cr_fs(knots)
        X = _cr_design(x, knots, coef_map)
        shift = 0.0
    else:
        shift = float(np.mean(x))
        knots = np.unique(x - shift)
        if knots.size > MAX_KNOTS >= k:  # (mgcv uses every unique x when k > 2000)
            knots = knots[np.round(np.linspace(0, knots.size - 1, MAX_KNOTS)).astype(int)]
        coef_map, S = _tprs(knots, k)
        X = _tp_design(x - shift, knots, coef_map)
        w = np.sqrt(np.mean(X**2, axis=0))  # columns to root mean square 1
        X, coef_map, S = X / w, coef_map / w, S / np.outer(w, w)
    # smoothCon: penalty scaling, then the centring constraint by a Householder reflection.
    S = S * (np.abs(X).sum(axis=1).max() ** 2 / np.abs(S).sum(axis=0).max())
    Z = _householder_first(X.mean(axis=0))[:, 1:] if centred else np.eye(k)
    Sc = Z.T @ S @ Z
    Sc = (Sc + Sc.T) / 2
    # smooth2random: eigenvalues descending; the k - 2 positive ones are penalized.
    ev, U = np.linalg.eigh(Sc)
    ev, U = ev[::-1], _signed(U[:, ::-1])
    d = np.ones(Z.shape[1])
    d[: k - 2] = 1 / np.sqrt(ev[: k - 2])
    transform = U * d
    columns = X @ Z @ transform  # [Xr, Xf] at the training x
    decorrelate = np.linalg.lstsq(columns[:, k - 2 :], columns[:, : k - 2], rcond=None)[0]
    arrays = dict(knots=knots, coef_map=coef_map, constraint=Z, transform=transform)
    arrays |= dict(penalty=Sc, decorrelate=decorrelate)
    for a in arrays.values():
        a.setflags(write=False)
    return SmoothBasis(bs=bs, k=k, shift=shift, **arrays)


def _as_x(x) -> np.ndarray:
    """x as a finite 1-D float array."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1 or x.size == 0:
        raise FormulaError(f"a smooth needs a non-empty 1-D covariate, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise FormulaError("the covariate of a smooth has missing or non-finite values")
    return x


def _r_quantile(xu: np.ndarray, k: int) -> np.ndarray:
    """R's ``quantile(xu, seq(0, 1, length = k))`` (type 7) of sorted values."""
    probs = np.concatenate([[0.0], np.arange(1, k - 1) * (1.0 / (k - 1)), [1.0]])
    index = 1 + (xu.size - 1) * probs  # 1-based, as in R
    lo, hi = np.floor(index), np.ceil(index)
    q, q_hi = xu[lo.astype(int) - 1], xu[hi.astype(int) - 1]
    h = index - lo
    return np.where((index > lo) & (q_hi != q), (1 - h) * q + h * q_hi, q)


def _signed(U: np.ndarray) -> np.ndarray:
    """Eigenvectors (columns) signed so that their first clearly non-zero entry is positive."""
    first = np.argmax(np.abs(U) > ZERO_TOL * np.abs(U).max(axis=0), axis=0)
    return U * np.sign(U[first, np.arange(U.shape[1])])


def _householder_first(c: np.ndarray) -> np.ndarray:
    """The reflection H (as in LINPACK / R's ``qr``) with ``H c = -sign(c_1) |c| e_1``."""
    u = c.astype(float)
    u[0] += np.copysign(np.linalg.norm(c), c[0])
    return np.eye(c.size) - 2 * np.outer(u, u) / (u @ u)


# ---- cubic regression spline ("cr") ------------------------------------------------------


def _cr_fs(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mgcv's ``getFS``: F (knot values -> second derivatives) and the penalty S."""
    k = knots.size
    h = np.diff(knots)
    D = np.zeros((k - 2, k))
    i = np.arange(k - 2)
    D[i, i] = 1 / h[:-1]
    D[i, i + 2] = 1 / h[1:]
    D[i, i + 1] = -1 / h[:-1] - 1 / h[1:]
    B = np.diag((h[:-1] + h[1:]) / 3) + np.diag(h[1:-1] / 6, 1) + np.diag(h[1:-1] / 6, -1)
    BinvD = scipy.linalg.solve(B, D, assume_a="pos")
    F = np.zeros((k, k))
    F[1:-1] = BinvD
    S = D.T @ BinvD
    return F, (S + S.T) / 2


def _cr_design(x: np.ndarray, knots: np.ndarray, F: np.ndarray) -> np.ndarray:
    """mgcv's ``crspl``: the cubic regression spline basis at x (linear beyond the knots)."""
    k = knots.size
    n = x.size
    rows = np.arange(n)
    X = np.zeros((n, k))
    j = np.clip(np.searchsorted(knots, x, side="left") - 1, 0, k - 2)
    inside = (x >= knots[0]) & (x <= knots[-1])
    jj, r = j[inside], rows[inside]
    h = knots[jj + 1] - knots[jj]
    am, ap = knots[jj + 1] - x[inside], x[inside] - knots[jj]
    cm, cp = am * (am * am / h - h) / 6, ap * (ap * ap / h - h) / 6
    X[r] = cm[:, None] * F[jj] + cp[:, None] * F[jj + 1]
    X[r, jj] += am / h
    X[r, jj + 1] += ap / h
    below, above = x < knots[0], x > knots[-1]
    if below.any():
        h, xik = knots[1] - knots[0], x[below] - knots[0]
        X[below] = np.outer(-xik * h / 3, F[0]) + np.outer(-xik * h / 6, F[1])
        X[below, 0] += 1 - xik / h
        X[below, 1] += xik / h
    if above.any():
        h, xik = knots[-1] - knots[-2], x[above] - knots[-1]
        X[above] = np.outer(xik * h / 6, F[-2]) + np.outer(xik * h / 3, F[-1])
        X[above, -2] -= xik / h
        X[above, -1] += 1 + xik / h
    return X


# ---- thin-plate regression spline ("tp") -------------------------------------------------


def _tp_raw(xc: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Radial functions ``|x - c|^3 / 12`` for each centre c, then the polynomials 1, x."""
    r = np.abs(xc[:, None] - centres[None, :])
    eta = r * r * r / 12
    return np.column_stack([eta, np.ones_like(xc), xc])


def _tp_design(xc: np.ndarray, centres: np.ndarray, UZ: np.ndarray) -> np.ndarray:
    """mgcv's ``predict_tprs``: the "tp" basis at centred x, in blocks of rows."""
    step = max(1, 2**22 // centres.size)  # bounded memory for long x
    blocks = [_tp_raw(xc[i : i + step], centres) @ UZ for i in range(0, xc.size, step)]
    return np.vstack(blocks)


def _qt(A: np.ndarray) -> np.ndarray:
    """mgcv's ``QT``: orthogonal Q with ``A Q = [0, R]``, R reverse lower triangular."""
    A = A.astype(float)
    M, p = A.shape
    Q = np.eye(p)
    for i in range(M):
        m = p - i  # rotate A[i, :m] into A[i, m - 1]
        u = A[i, :m].copy()
        s = np.linalg.norm(u)
        # mgcv: lsq = -|u| if u_last < 0. A u_last that is rounding error (x symmetric about
        # its mean) is taken as 0, as in exact arithmetic.
        s = -s if u[-1] < -ZERO_TOL * s else s
        u[-1] += s
        g = 1 / (s * u[-1]) if s else 0.0
        A[i:, :m] -= g * np.outer(A[i:, :m] @ u, u)
        Q[:, :m] -= g * np.outer(Q[:, :m] @ u, u)
    return Q


def _tprs(centres: np.ndarray, k: int, M: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """mgcv's ``tprs_setup`` for d = 1, m = 2: UZ and the penalty (before column scaling)."""
    n = centres.size
    R = _tp_raw(centres, centres)
    E, T = R[:, :n], R[:, n:]
    if n == k:  # "pure knot" basis: no eigen step
        U, Ek = np.eye(n), E
    else:  # the k eigenvalues largest in magnitude, in descending order
        if n > 500 and 4 * k < n:  # Lanczos, as mgcv; deterministic "random" start
            v0 = np.random.default_rng(1).uniform(-0.5, 0.5, n)
            ev, vec = scipy.sparse.linalg.eigsh(E, k=k, which="LM", v0=v0, tol=0)
        else:
            ev, vec = np.linalg.eigh(E)
        keep = np.argsort(-np.abs(ev), kind="stable")[:k]
        keep = keep[np.argsort(-ev[keep], kind="stable")]
        U, Ek = _signed(vec[:, keep]), np.diag(ev[keep])  # fixed signs: see _qt
    Z = _qt(T.T @ U)[:, : k - M]
    UZ = np.zeros((n + M, k))
    UZ[:n, : k - M] = U @ Z
    UZ[n:, k - M :] = np.eye(M)
    S = np.zeros((k, k))
    S[: k - M, : k - M] = Z.T @ Ek @ Z
    return UZ, (S + S.T) / 2

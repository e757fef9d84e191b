"""The fixed part's product ``X @ v``, written for each backend's fast path."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt


def matvec(X, v):
    """``X @ v``: a BLAS product for large ``X``, elementwise multiply-and-sum for small.

    PyTensor from pip links no BLAS, so its ``dot`` is NumPy's, called from Python: about
    10 us of overhead per call, which dominates a small model's gradient. Elementwise
    products and sums compile to C, but for thousands of rows they are several times slower
    than BLAS (and slower in JAX too), so ``dot`` is used from ``DOT_SIZE`` values on.

    The large product is ``v @ X.T`` with ``X.T`` stored row-major: a row per column of
    ``X``, so the product and its gradient ``X.T @ g`` read each column contiguously. XLA's
    CPU code for a tall, narrow ``X @ v`` was slow: speed dating's gradient (7,680 x 6)
    took 41 us instead of 71 (docs/performance.md).
    """
    if np.size(X) >= DOT_SIZE:
        return pt.dot(v, np.ascontiguousarray(np.asarray(X).T))
    return (X * v[None, :]).sum(axis=1)


DOT_SIZE = 10_000

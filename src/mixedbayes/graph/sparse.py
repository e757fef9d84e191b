"""Products of a constant sparse matrix with a parameter vector, for PyTensor and JAX.

Crossed factors make the marginal likelihood multiply sparse data matrices (students x
lecturers) by sampled effects. In PyTensor's C backend large products are an Op that calls
SciPy's CSR product (0.1 ms for InstEval's 73,421 nonzeros; its gradient is the product
with the transpose). JAX, which the default sampler uses, gets a gather and a segment sum:
about 0.5 ms per product on the CPU (XLA's scatter is slow there), but calling SciPy from
inside the compiled program (``jax.pure_callback``) was slower still, 1.9 ms against
1.0 ms for InstEval's whole gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytensor.tensor as pt
import scipy.sparse as sp
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.jax.dispatch import jax_funcify

CALLBACK_SIZE = 10_000  # nonzeros from which the SciPy Op is used
DENSE_SIZE = 4_096  # entries up to which a dense product beats a scatter


def sparse_product(matrix: sp.spmatrix, x):
    """``matrix @ x`` for a constant sparse ``matrix`` and a vector expression ``x``."""
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    if matrix.shape[0] * matrix.shape[1] <= DENSE_SIZE:  # a product XLA fuses into its loop
        return (matrix.toarray() * x[None, :]).sum(axis=1)
    if matrix.nnz >= CALLBACK_SIZE:
        return SparseProduct(matrix)(x)
    coo = matrix.tocoo()
    return pt.inc_subtensor(pt.zeros(matrix.shape[0])[coo.row], coo.data * x[coo.col])


class SparseProduct(Op):
    """``SparseProduct(matrix)(x) = matrix @ x``; the gradient is ``matrix.T @ g``."""

    def __init__(self, matrix: sp.csr_matrix):
        self.matrix = matrix

    def __hash__(self):
        m = self.matrix
        return hash((type(self), m.shape, m.nnz, m.indices.tobytes()[:4096], m.data.sum()))

    def __eq__(self, other):
        if type(self) is not type(other) or self.matrix.shape != other.matrix.shape:
            return False
        a, b = self.matrix, other.matrix
        return (
            a.nnz == b.nnz
            and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
        )

    def make_node(self, x):
        x = pt.as_tensor_variable(x, dtype="float64")
        return Apply(self, [x], [pt.dvector()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(self.matrix @ inputs[0], dtype="float64")

    def grad(self, inputs, output_grads):
        return [SparseProduct(self.matrix.T.tocsr())(output_grads[0])]


@jax_funcify.register(SparseProduct)
def _jax_sparse_product(op, **kwargs):
    coo = op.matrix.tocoo()
    rows, cols, vals = (jnp.asarray(a) for a in (coo.row, coo.col, coo.data))
    size = op.matrix.shape[0]

    def product(x):
        return jax.ops.segment_sum(vals * x[cols], rows, size, indices_are_sorted=True)

    return product

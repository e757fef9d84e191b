"""Products with constant sparse matrices (crossed factors in the marginal likelihood).

Large ones are a SciPy Op in the C backend and a gather + segment sum in JAX; both must
equal the dense product, with the right gradient.
"""

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.sparse as sp
from pytensor.graph.traversal import applys_between

import mixedbayes as mb
from mixedbayes.graph import sparse


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(2)
    dense = rng.normal(size=(7, 5)) * (rng.uniform(size=(7, 5)) < 0.4)
    return sp.csr_matrix(dense)


@pytest.mark.parametrize(
    "path, size, dense",  # the Op, the gather/scatter graph, the dense product of small ones
    [("op", 0, 0), ("scatter", 10_000, 0), ("dense", 10_000, 35)],
)
def test_product_and_gradient_match_the_dense_product(matrix, monkeypatch, path, size, dense):
    monkeypatch.setattr(sparse, "CALLBACK_SIZE", size)
    monkeypatch.setattr(sparse, "DENSE_SIZE", dense)
    x = pt.dvector("x")
    out = sparse.sparse_product(matrix, x)
    assert isinstance(out.owner.op, sparse.SparseProduct) == (path == "op")
    ops = {type(node.op).__name__ for node in applys_between([x], [out])}
    assert ("AdvancedIncSubtensor" in ops) == (path == "scatter")
    value = np.arange(5.0) - 2
    weights = np.linspace(1, 2, 7)
    f = pytensor.function([x], [out, pytensor.grad((out * weights).sum(), x)])
    product, grad = f(value)
    np.testing.assert_allclose(product, matrix.toarray() @ value)
    np.testing.assert_allclose(grad, matrix.toarray().T @ weights)
    pytensor.gradient.verify_grad(
        lambda v: sparse.sparse_product(matrix, v), [value], rng=np.random.default_rng(1)
    )


def test_jax_product_matches_and_differentiates(matrix, monkeypatch):
    jax = pytest.importorskip("jax")
    from pytensor.link.jax.dispatch import jax_funcify

    jax.config.update("jax_enable_x64", True)
    op = sparse.SparseProduct(matrix)
    product = jax_funcify(op)
    value = np.arange(5.0) - 2
    np.testing.assert_allclose(product(jax.numpy.asarray(value)), matrix.toarray() @ value)
    weights = np.linspace(1, 2, 7)
    grad = jax.grad(lambda v: (product(v) * weights).sum())(jax.numpy.asarray(value))
    np.testing.assert_allclose(grad, matrix.toarray().T @ weights)


def test_crossed_marginal_model_with_the_op(monkeypatch):
    """The same marginal density and gradient with the Op as without it."""
    rng = np.random.default_rng(4)
    n = 60
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "g": rng.choice([f"g{i}" for i in range(12)], n),
            "h": rng.choice([f"h{i}" for i in range(30)], n),  # 60 effects: sampled
        }
    )
    formula = "y ~ x + (1 | g) + (1 + x | h)"
    plain = mb.Model(formula, data).marginal_model("g")
    monkeypatch.setattr(sparse, "CALLBACK_SIZE", 1)
    with_op = mb.Model(formula, data).marginal_model("g")
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in plain.initial_point().items()}
    np.testing.assert_allclose(with_op.compile_logp()(point), plain.compile_logp()(point))
    np.testing.assert_allclose(with_op.compile_dlogp()(point), plain.compile_dlogp()(point))

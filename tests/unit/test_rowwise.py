"""The marginal likelihood with per-row precisions (likelihood weights, a formula for sigma):
the density at a point against a dense multivariate normal, the conditional draws of the
integrated effects against dense Gaussian conditioning, JAX against C (no sampling)."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.linalg import block_diag

import mixedbayes as mb
from conftest import assert_gaussian_moments, full_Z, jittered_point, repeated_posterior, values_at
from mixedbayes.graph import rowclasses
from mixedbayes.graph.conditional import draw_random_effects
from mixedbayes.graph.marginal import marginal_choice
from mixedbayes.graph.rowclasses import row_classes


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    sizes = [1, 2, 3, 5, 8, 4, 6]  # uneven, one level with a single row
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    n = g.size
    return pd.DataFrame(
        {
            "y": rng.normal(3, 1, n),
            "x": rng.normal(0, 1, n),
            "v": rng.normal(0, 1, n),
            "w": rng.uniform(0.3, 2.5, n),
            "g": g,
            "h": rng.choice(["a", "b", "c"], n),
        }
    )


def linear(part, v, prefix="", skip=()):
    """A dpar's linear predictor at the point's values ``v``, without the factors ``skip``."""
    eta = np.zeros(part.n_obs) if part.offset is None else part.offset.copy()
    slopes = [t for t in part.fixed_terms if t != "Intercept"]
    for j, term in enumerate(part.fixed_terms):
        eta += part.X[:, j] * (
            v[f"{prefix}Intercept"] if term == "Intercept" else v[f"{prefix}b"][slopes.index(term)]
        )
    for block in part.blocks:
        if block.group not in skip:
            eta += (v[f"r_{block.group}"][block.index] * block.Z).sum(axis=1)
    return eta


def dense_weighted_marginal(y, rest, sigma, weights, Z, S):
    """log of the integral over u ~ N(0, S) of prod_i N(y_i | rest_i + Z_i u, sigma_i)^w_i.

    Each row's weighted density is ``c_i N(y_i | ., sigma_i / sqrt(w_i))`` with ``log c_i =
    -(w_i - 1) / 2 log(2 pi sigma_i^2) - log(w_i) / 2``, so the integral is ``prod c_i``
    times a dense normal density with covariance ``diag(sigma^2 / w) + Z S Z'``.
    """
    var = sigma**2
    log_c = -(weights - 1) / 2 * np.log(2 * np.pi * var) - np.log(weights) / 2
    cov = np.diag(var / weights) + Z @ S @ Z.T
    return log_c.sum() + stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(y - rest)


CASES = [
    # (formula, sigma formula or None, weights?)
    ("y | weights(w) ~ x + (1 + x | g)", None, True),
    ("y | weights(w) ~ x + (1 | g) + (1 | h)", None, True),  # h sampled or by Woodbury
    ("y ~ x + (1 + x | g)", "~ v", False),
    ("y ~ 0 + x + (1 | g)", "~ v", False),
    ("y ~ x + (1 + x + v | g)", "~ v", False),  # three coefficients: batched Cholesky
    ("y | weights(w) ~ x + offset(v) + (1 + x | g) + (1 | h)", "~ v + (1 | h)", True),
]
CLASS_CASES = [  # sigma constant on classes of rows: statistics instead of rows
    ("y ~ x + (1 | g)", "~ h", False),
    ("y | weights(w) ~ x + offset(v) + (1 + x | g)", "~ h", True),
    ("y ~ 0 + x + (1 + x | g)", "~ 0 + h", False),
    ("y | weights(w) ~ x + (1 + x + v | g)", "~ h", True),  # three coefficients: Cholesky
]


def model_of(data, formula, sigma):
    return mb.Model(formula if sigma is None else mb.bf(formula, sigma=sigma), data)


def force_rows(monkeypatch):
    """Refuse the class statistics as too large: the sums come from the rows."""
    monkeypatch.setattr(rowclasses, "DENSE_CELLS", 0)
    monkeypatch.setattr(rowclasses, "SMALL_CELLS", 0)


def uses_classes(model) -> bool:
    design = model.design
    sampled = [b for b in design.blocks if b.group != "g"]
    return row_classes(design, design.block("g"), sampled) is not None


@pytest.mark.parametrize("formula, sigma_formula, weighted", CASES + CLASS_CASES)
def test_weighted_and_rowwise_marginal_density_matches_dense_normal(
    data, formula, sigma_formula, weighted, monkeypatch
):
    """CASES from the rows, CLASS_CASES from the class statistics."""
    if (formula, sigma_formula, weighted) in CASES:
        force_rows(monkeypatch)
    model = model_of(data, formula, sigma_formula)
    design = model.design
    assert marginal_choice(design, model.family, "auto") == "g"
    if sigma_formula is not None:
        assert uses_classes(model) == ((formula, sigma_formula, weighted) in CLASS_CASES)
    pm_model = model.marginal_model("g")
    assert "r_g" not in pm_model.named_vars
    point = jittered_point(pm_model, seed=4, jitter=0.4)
    names = [v.name for v in pm_model.free_RVs + pm_model.deterministics]
    v = values_at(pm_model, names, point)
    potential = values_at(pm_model, ["marginal_loglik"], point)["marginal_loglik"]
    integrated = [b.group for b in design.blocks if f"r_{b.group}" not in v]
    assert "g" in integrated
    rest = linear(design, v, skip=integrated)
    sigma = (
        np.full(design.n_obs, v["sigma"])
        if sigma_formula is None
        else np.exp(linear(design.dpars[0], v, "sigma_"))
    )
    weights = data["w"].to_numpy() if weighted else np.ones(design.n_obs)
    blocks = [design.block(group) for group in integrated]
    covariances = []
    for block in blocks:
        sd = np.atleast_1d(v[f"sd_{block.group}"])
        cor = v.get(f"cor_{block.group}", np.eye(len(sd)))
        covariances.append(np.kron(np.outer(sd, sd) * cor, np.eye(block.n_levels)))
    Z = np.hstack([full_Z(b) for b in blocks])
    expected = dense_weighted_marginal(design.y, rest, sigma, weights, Z, block_diag(*covariances))
    np.testing.assert_allclose(potential, expected, rtol=1e-9)


def test_integer_weights_equal_duplicated_rows(data):
    """weights(2) on some rows and 0 on others is the data with those rows twice or not at
    all, for the integrated model as for the sampled one."""
    counts = np.tile([1, 2, 0], len(data))[: len(data)]
    weighted = data.assign(c=counts)
    repeated = data.loc[np.repeat(np.arange(len(data)), counts)].reset_index(drop=True)
    # no intercept: the slopes are not centered at means that differ between the two
    a = mb.Model("y | weights(c) ~ 0 + x + (1 + x | g)", weighted).marginal_model("g")
    b = mb.Model("y ~ 0 + x + (1 + x | g)", repeated).marginal_model("g")
    point = jittered_point(a, seed=6)  # the priors differ (data-scaled): likelihoods only
    la = values_at(a, ["marginal_loglik"], point)["marginal_loglik"]
    lb = values_at(b, ["marginal_loglik"], point)["marginal_loglik"]
    np.testing.assert_allclose(la, lb, rtol=1e-10)


def test_censoring_still_samples_every_effect(data):
    censored = data.assign(c=np.where(data["y"] > 4, "right", "none"))
    model = mb.Model("y | cens(c) ~ x + (1 | g)", censored)
    assert marginal_choice(model.design, model.family, "auto") is None
    with pytest.raises(mb.SamplingError, match="censored or truncated"):
        marginal_choice(model.design, model.family, True)


@pytest.mark.parametrize("sigma_formula", ["~ v + (1 | h)", "~ h"])
def test_jax_rowwise_density_and_gradient_equal_c(data, sigma_formula):
    """Segment sums of weighted rows with sigma's own random effects, and the class
    statistics, jitted (the batched Cholesky of three or more coefficients is the correlated
    residuals' JAX test's)."""
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    model = model_of(data, "y | weights(w) ~ x + (1 + x | g)", sigma_formula)
    assert uses_classes(model) == (sigma_formula == "~ h")
    m = model.marginal_model("g")
    point = jittered_point(m, seed=9)
    logp = get_jaxified_logp(m)
    value, grads = jax.jit(jax.value_and_grad(logp))(
        [jax.numpy.asarray(point[v.name]) for v in m.value_vars]
    )
    np.testing.assert_allclose(float(value), m.compile_logp()(point), rtol=1e-9)
    flat = np.concatenate([np.ravel(g) for g in grads])
    np.testing.assert_allclose(flat, m.compile_dlogp()(point), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("sigma_formula", ["~ v", "~ h"])
def test_conditional_draws_with_sigma_per_row(data, sigma_formula, monkeypatch):
    """One parameter draw repeated: the effects of g are drawn from N(S Z'V^-1 e,
    S - S Z'V^-1 Z S) with V = diag(sigma_i^2 / w_i) (dense Gaussian conditioning), from
    the rows (~ v) or the class statistics (~ h)."""
    if sigma_formula == "~ v":
        force_rows(monkeypatch)
    model = mb.Model(mb.bf("y | weights(w) ~ x + (1 + x | g)", sigma=sigma_formula), data)
    assert uses_classes(model) == (sigma_formula == "~ h")
    design = model.design
    sigma_part = design.dpars[0]
    sigma_b = np.array([0.5, -0.3][: len(sigma_part.fixed_terms) - 1])
    n_draws = 4000
    sd, cor = np.array([0.8, 0.5]), np.array([[1.0, 0.3], [0.3, 1.0]])
    params = {
        "Intercept": 2.9,
        "b": np.array([0.3]),
        "sigma_Intercept": -0.4,
        "sigma_b": sigma_b,
        "sd_g": sd,
        "cor_g": cor,
    }
    dims = {
        "b": ["fixed_term"],
        "sigma_b": ["sigma_fixed_term"],
        "sd_g": ["g__coef"],
        "cor_g": ["g__coef", "g__coef_"],
    }
    coords = {
        "fixed_term": ["x"],
        "sigma_fixed_term": list(sigma_part.fixed_terms[1:]),
        "g__coef": ["Intercept", "x"],
    }
    posterior = repeated_posterior(params, dims, coords, n_draws)
    draws = draw_random_effects(design, "g", posterior, random_seed=5)["r_g"]
    assert draws.dims == ("chain", "draw", "g", "g__coef")
    block = design.block("g")
    sigma = np.exp(-0.4 + sigma_part.X[:, 1:] @ sigma_b)
    e = design.y - 2.9 - 0.3 * design.X[:, 1]
    Z = full_Z(block)
    S = np.kron(np.outer(sd, sd) * cor, np.eye(block.n_levels))
    V = np.diag(sigma**2 / data["w"].to_numpy()) + Z @ S @ Z.T
    mean = S @ Z.T @ np.linalg.solve(V, e)
    cov = S - S @ Z.T @ np.linalg.solve(V, Z @ S)
    sample = draws.isel(chain=0).values.transpose(0, 2, 1).reshape(n_draws, -1)
    assert_gaussian_moments(sample, mean, cov)

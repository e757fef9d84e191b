"""brms's IDs, ``(1 |p| g)``: parsing, one correlated group within a formula, effects
correlated across distributional parameters (their construction at a point against the
covariance, the log-density against SciPy, JAX equal to C), priors, tables, new levels,
marginalization and named errors (no sampling)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from conftest import at_a_point, repeated_posterior
from mixedbayes.formula import parse_formula
from mixedbayes.graph.marginal import marginal_choice

FORMULA = mb.bf("y ~ x + (1 + x |p| g) + (1 | h)", sigma="~ z + (1 |p| g)")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(13)
    n = 120
    g, h = rng.integers(0, 10, n), rng.integers(0, 4, n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.5, 10)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "h": h})


@pytest.fixture(scope="module")
def model(data):
    return mb.Model(FORMULA, data)


def test_the_id_is_parsed_and_merges_terms_of_one_formula(data):
    (term,) = parse_formula("y ~ (1 + x |p| g)").groups
    assert term.parts[0].id == "p" and term.parts[0].correlated
    assert parse_formula("y ~ (1 | g)").groups[0].parts[0].id is None
    merged = mb.Model("y ~ (1 |p| g) + (0 + z | g) + (0 + x |p| g)", data).design.blocks[0]
    assert merged.coefs == ("Intercept", "x", "z")  # the ID's terms together
    assert merged.corr_groups == ((0, 1), (2,))
    assert merged.coef_ids == ("p", "p", None)
    assert mb.Model("y ~ (1 |p| g)", data).design.joint_blocks == {}


def test_effects_across_parameters_are_one_correlated_vector(model):
    design = model.design
    assert [b.group for b in design.joint_blocks["p"]] == ["g", "sigma_g"]
    m = model.pymc_model
    assert "chol_p" in {v.name for v in m.free_RVs}
    assert list(m.coords["p__coef"]) == ["Intercept", "x", "sigma_Intercept"]
    start, v, observed = at_a_point(model, 2)
    sd = np.concatenate([v["sd_g"], v["sd_sigma_g"]])
    covariance = sd[:, None] * v["cor_p"] * sd[None, :]
    z = np.concatenate([v["z_g"], v["z_sigma_g"]], axis=1)
    r = z @ np.linalg.cholesky(covariance).T  # rows ~ N(0, S R S)
    np.testing.assert_allclose(np.concatenate([v["r_g"], v["r_sigma_g"]], axis=1), r)
    np.testing.assert_allclose(v["cor_g"], v["cor_p"][:2, :2])
    g, h, part = design.block("g").index, design.block("h").index, design.dpars[0]
    X = design.X
    mu = v["Intercept"] + v["b"][0] * X[:, 1] + r[g, 0] + r[g, 1] * X[:, 1] + v["r_h"][h, 0]
    log_sigma = v["sigma_Intercept"] + v["sigma_b"][0] * part.X[:, 1] + r[g, 2]
    expected = stats.norm.logpdf(design.y, mu, np.exp(log_sigma))
    np.testing.assert_allclose(observed, expected, rtol=1e-10)
    import jax
    from pymc.sampling.jax import get_jaxified_logp

    jax_value = jax.jit(get_jaxified_logp(m))([start[var.name] for var in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(m.compile_logp()(start)), rtol=1e-9)


def test_one_lkj_prior_per_id(model, data):
    classes = model.priors.table()[["class", "group"]].apply(tuple, axis=1).tolist()
    assert ("cor", "g") in classes and ("sigma_cor", "g") not in classes
    tight = mb.Model(FORMULA, data, priors={("cor", "g"): mb.Prior("LKJ", eta=4)})
    chol = tight.pymc_model["chol_p"].owner.inputs  # the LKJ's eta is an input
    assert any(np.ndim(i.data) == 0 and float(i.data) == 4.0 for i in chol if hasattr(i, "data"))


def test_joint_factors_are_sampled_not_integrated(model):
    assert marginal_choice(model.design, model.family, "auto") == "h"
    with pytest.raises(mb.SamplingError, match="correlated with another parameter"):
        marginal_choice(model.design, model.family, "g")


def test_cross_parameter_correlations_are_reported_and_new_levels_drawn_jointly(model):
    labels = ["Intercept", "x", "sigma_Intercept"]
    cor = np.array([[1.0, 0.1, 0.9], [0.1, 1.0, 0.0], [0.9, 0.0, 1.0]])
    params = {
        "Intercept": 1.0, "b": [0.5], "sigma_Intercept": 0.0, "sigma_b": [0.0],
        "sd_g": [0.5, 0.2], "sd_sigma_g": [0.3], "cor_p": cor, "cor_g": cor[:2, :2],
        "r_g": np.zeros((10, 2)), "r_sigma_g": np.zeros((10, 1)),
        "sd_h": [0.1], "r_h": np.zeros((4, 1)),
    }  # fmt: skip
    dims = {
        "b": ["fixed_term"], "sigma_b": ["sigma_fixed_term"], "sd_g": ["g__coef"],
        "sd_sigma_g": ["sigma_g__coef"], "cor_p": ["p__coef", "p__coef_"],
        "cor_g": ["g__coef", "g__coef_"], "r_g": ["g", "g__coef"],
        "r_sigma_g": ["sigma_g", "sigma_g__coef"], "sd_h": ["h__coef"], "r_h": ["h", "h__coef"],
    }  # fmt: skip
    coords = {k: list(v) for k, v in model.pymc_model.coords.items() if v is not None}
    posterior = repeated_posterior(params, dims, coords, n_draws=4)
    fit = mb.Fit(model, az.InferenceData(posterior=posterior))
    table = fit.cor()
    cross = table[table["dpar"] == "mu, sigma"].set_index(["term1", "term2"])["estimate"]
    assert cross.to_dict() == {("Intercept", "sigma_Intercept"): 0.9, ("x", "sigma_Intercept"): 0.0}
    assert table[table["dpar"] == "mu"]["estimate"].tolist() == [0.1]
    new = pd.DataFrame({"x": 0.0, "z": 0.0, "g": np.arange(100, 600), "h": 0})
    mu = fit.predict(new, kind="link", draws=True, random_seed=1)
    log_sigma = fit.predict(new, dpar="sigma", kind="link", draws=True, random_seed=1)
    rho = np.corrcoef(mu.ravel() - 1.0, log_sigma.ravel())[0, 1]
    assert abs(rho - 0.9) < 0.03, rho  # 2,000 draws: se of r about 0.004
    assert labels == list(model.pymc_model.coords["p__coef"])


def test_bad_ids_are_named(data):
    with pytest.raises(mb.FormulaError, match="ID 'p' is used with the grouping factors g and h"):
        mb.Model(mb.bf("y ~ (1 |p| g)", sigma="~ (1 |p| h)"), data)
    with pytest.raises(mb.FormulaError, match="every random term of 'g' in the sigma formula"):
        mb.Model(mb.bf("y ~ (1 |p| g)", sigma="~ (1 |p| g) + (0 + z | g)"), data)
    with pytest.warns(UserWarning, match="'h' in .* is brms's correlation ID"):
        mb.Model("y ~ (1 | h | g)", data)
    partial = mb.bf("y ~ (1 |p| g)", sigma="~ (1 |p| g) + (0 + z | g)")
    with pytest.raises(mb.FormulaError, match="every random term of 'g' in the sigma formula"):
        mb.simulate(partial, data=data.drop(columns="y"), sd={"g": 1, "sigma_g": 1})


def test_an_id_within_one_formula_is_an_ordinary_correlated_term(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = mb.Model("y ~ x + (1 |p| g) + (0 + x |p| g)", data).pymc_model
    b = mb.Model("y ~ x + (1 + x | g)", data).pymc_model
    point = b.initial_point()
    np.testing.assert_allclose(a.compile_logp()(point), b.compile_logp()(point), rtol=1e-12)

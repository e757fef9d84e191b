"""The PyMC model: variables, dims, and log-density at a point checked against scipy."""

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes import Prior, PriorError
from mixedbayes.graph.products import DOT_SIZE, matvec


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(5, 2, size=n),
            "x": rng.normal(1, 2, size=n),
            "f": rng.choice(["lo", "hi"], size=n),
            "g": rng.choice(list("ABCDE"), size=n),
            "h": rng.choice([1, 2, 3], size=n),
        }
    )


@pytest.fixture(scope="module")
def model(data):
    return mb.Model("y ~ x + f + (1 + x | g) + (1 | h)", data)


@pytest.fixture(scope="module")
def point(model):
    """A point in the sampler's (transformed) space, away from the initial values."""
    rng = np.random.default_rng(3)
    start = model.pymc_model.initial_point()
    return {k: v + rng.normal(0, 0.5, size=np.shape(v)) for k, v in start.items()}


def evaluate(model, names, point):
    """Values of named variables at ``point`` (a dict of transformed values)."""
    m = model.pymc_model
    outputs = m.replace_rvs_by_values([m[n] for n in names])
    fn = m.compile_fn(outputs, inputs=m.value_vars, on_unused_input="ignore")
    return dict(zip(names, fn(point), strict=True))


def test_variables_and_dims(model):
    m = model.pymc_model
    free = {v.name for v in m.free_RVs}
    assert free == {"Intercept_centered", "b", "chol_g", "z_g", "sd_h", "z_h", "sigma"}
    assert {v.name for v in m.deterministics} == {"Intercept", "sd_g", "cor_g", "r_g", "r_h"}
    assert m.named_vars_to_dims["b"] == ("fixed_term",)
    assert m.named_vars_to_dims["r_g"] == ("g", "g__coef")
    assert m.named_vars_to_dims["cor_g"] == ("g__coef", "g__coef_")
    assert list(m.coords["fixed_term"]) == ["x", "f[T.lo]"]
    assert list(m.coords["g"]) == list("ABCDE")
    assert list(m.coords["h"]) == ["1", "2", "3"]
    assert list(m.coords["g__coef"]) == ["Intercept", "x"]
    assert m["z_g"].eval().shape == (5, 2)


def test_random_effects_are_scaled_correlated_normals(model, point):
    v = evaluate(model, ["z_g", "sd_g", "cor_g", "r_g", "z_h", "sd_h", "r_h"], point)
    L = np.linalg.cholesky(v["cor_g"])
    np.testing.assert_allclose(v["r_g"], (v["z_g"] @ L.T) * v["sd_g"], rtol=1e-10)
    np.testing.assert_allclose(v["r_h"], v["z_h"] * v["sd_h"], rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(v["cor_g"]) > 0)


def test_likelihood_at_a_point_matches_scipy(model, data, point):
    """Centering, the intercept's back-transformation and the gather are all exact."""
    v = evaluate(model, ["Intercept", "b", "r_g", "r_h", "sigma"], point)
    design = model.design
    g, h = design.block("g"), design.block("h")
    mu = (
        v["Intercept"]
        + design.X[:, 1:] @ v["b"]
        + v["r_g"][g.index, 0]
        + v["r_g"][g.index, 1] * data["x"].to_numpy()
        + v["r_h"][h.index, 0]
    )
    expected = stats.norm.logpdf(data["y"], mu, v["sigma"]).sum()
    m = model.pymc_model
    logp = m.compile_logp(vars=[m["y"]])(point)
    np.testing.assert_allclose(logp, expected, rtol=1e-10)


def test_prior_densities_at_a_point_match_scipy(model, point):
    m, priors = model.pymc_model, model.priors
    v = evaluate(model, ["Intercept_centered", "b", "sd_h", "z_g"], point)
    ic = priors.get("Intercept").params
    expected = {
        "Intercept_centered": stats.t.logpdf(v["Intercept_centered"], 3, ic["mu"], ic["sigma"]),
        "b": sum(
            stats.norm.logpdf(v["b"][i], 0, priors.get("b", coef=t).params["sigma"])
            for i, t in enumerate(m.coords["fixed_term"])
        ),
        "sd_h": np.log(2)
        + stats.t.logpdf(v["sd_h"], 3, 0, priors.get("sd", "h", "Intercept").params["sigma"]),
        "z_g": stats.norm.logpdf(v["z_g"]).sum(),
    }
    for name, value in expected.items():
        logp = m.compile_logp(vars=[m[name]], jacobian=False)(point)
        np.testing.assert_allclose(logp, value, rtol=1e-8, err_msg=name)


def test_user_prior_reaches_the_model(data):
    model = mb.Model("y ~ x + (1 | g)", data, priors={("b", "x"): Prior("Laplace", mu=1, b=2)})
    m = model.pymc_model
    logp = m.compile_logp(vars=[m["b"]])({**m.initial_point(), "b": np.array([0.3])})
    np.testing.assert_allclose(logp, stats.laplace.logpdf(0.3, 1, 2))


def test_mixed_prior_families_in_one_vector_are_stacked(data):
    user = {("b", "x"): Prior("Laplace", mu=0, b=1), ("b", "f[T.lo]"): Prior("Normal", sigma=2)}
    m = mb.Model("y ~ x + f", data, priors=user).pymc_model
    assert {v.name for v in m.free_RVs} >= {"b[x]", "b[f[T.lo]]"}
    assert m.named_vars_to_dims["b"] == ("fixed_term",)


def test_correlated_sds_need_one_family(data):
    user = {("sd", "g", "x"): Prior("Exponential", lam=1)}
    model = mb.Model("y ~ x + (1 + x | g)", data, priors=user)
    with pytest.raises(PriorError, match=r"sds of the correlated term \(Intercept \+ x \| g\)"):
        _ = model.pymc_model


def test_no_intercept_model_has_no_centering(data):
    m = mb.Model("y ~ 0 + x + (1 | g)", data).pymc_model
    assert "Intercept" not in m.named_vars and "Intercept_centered" not in m.named_vars


def test_uncorrelated_block_has_no_correlation(data):
    m = mb.Model("y ~ x + (1 + x || g)", data).pymc_model
    assert "cor_g" not in m.named_vars
    assert m.named_vars_to_dims["sd_g"] == ("g__coef",)


def test_response_named_like_a_parameter_is_renamed():
    data = pd.DataFrame({"sigma": [1.0, 2.0, 3.0, 2.5], "g": [1, 1, 2, 2]})
    m = mb.Model("sigma ~ 1 + (1 | g)", data).pymc_model
    assert m.observed_RVs[0].name == "sigma_obs"


@pytest.mark.parametrize("rows", [10, 4_000])  # elementwise below DOT_SIZE values, BLAS above
def test_fixed_part_is_the_matrix_product_and_its_gradient(rows):
    rng = np.random.default_rng(rows)
    X, v, w = rng.normal(size=(rows, 3)), rng.normal(size=3), rng.normal(size=rows)
    assert (X.size >= DOT_SIZE) == (rows > 1_000)
    v_var = pt.vector("v")
    product = matvec(X, v_var)
    gradient = pytensor.grad((product * w).sum(), v_var)
    values = pytensor.function([v_var], [product, gradient])(v)
    np.testing.assert_allclose(values[0], X @ v, rtol=1e-12)
    np.testing.assert_allclose(values[1], X.T @ w, rtol=1e-12)

"""Smooth terms s(x): parsing, design columns from the mgcv-compatible basis, priors, new
data, and the log density (sampled and integrated) against independent formulas.

The basis itself is checked against mgcv in test_smooth_basis.py; here the references are
the basis object evaluated directly and dense normal densities (scipy).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes.design.newdata import encode_newdata
from mixedbayes.design.smooth import smooth_basis
from mixedbayes.formula import parse_formula


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    n = 60
    x = rng.uniform(0, 3, n)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(0, 1, n),
            "g": rng.choice(["a", "b", "c", "d"], n),
            "y": np.sin(2 * x) + rng.normal(0, 0.3, n),
        }
    )


def test_parsing_rewrites_a_smooth_into_fixed_and_penalized_parts():
    formula = parse_formula("y ~ z + s(x, k = 6, bs = 'cr') + s(x) + (1 | g)")
    smooths = [term.smooth for term in formula.groups if term.smooth is not None]
    assert [(s.name, s.k, s.bs) for s in smooths] == [("sx_1", 6, "cr"), ("sx_2", 10, "tp")]
    assert "smooth_fixed(x, k=6, bs='cr')" in formula.fixed
    assert [term.factors for term in formula.groups] == [(), (), ("g",)]


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y ~ s(x, k = 2)", "k must be a whole number >= 3"),
        ("y ~ s(x, bs = 'ps')", r"bs must be one of \['tp', 'cr'\]"),
        ("y ~ s(x, by = g)", r"by = \.\.\.\) is not supported yet"),
        ("y ~ t2(x, z)", "t2\\(\\) terms are not supported yet"),
        ("y ~ s(x + z)", "must be column names or numbers"),
        ("y ~ x - s(x)", "cannot subtract smooth term"),
    ],
)
def test_bad_smooths_are_named(formula, message):
    with pytest.raises(mb.FormulaError, match=message):
        parse_formula(formula)


def test_design_columns_are_the_basis_and_its_names_brms(data):
    model = mb.Model("y ~ z + s(x, k = 6) + (1 | g)", data)
    design = model.design
    basis = smooth_basis(data["x"].to_numpy(), 6, "tp")
    assert design.fixed_terms == ("Intercept", "z", "sx_1")
    np.testing.assert_allclose(design.X[:, 2], basis.fixed(data["x"].to_numpy())[:, 0])
    block = design.block("sx_1")
    assert block.levels == ("all",) and block.coefs == ("1", "2", "3", "4")
    np.testing.assert_allclose(block.Z, basis.random(data["x"].to_numpy()))
    assert design.factor_blocks == (design.block("g"),)


def test_new_data_uses_the_training_basis_also_outside_its_range(data):
    design = mb.Model("y ~ s(x, k = 5, bs = 'cr')", data).design
    new = pd.DataFrame({"x": [0.5, 1.7, 4.0, -1.0]})
    rows = encode_newdata(design, new, include_random=False)  # the smooth is kept
    basis = smooth_basis(data["x"].to_numpy(), 5, "cr")
    np.testing.assert_allclose(rows.X[:, 1], basis.fixed(new["x"].to_numpy())[:, 0])
    (block,) = rows.blocks
    np.testing.assert_allclose(block.Z, basis.random(new["x"].to_numpy()))
    assert np.all(block.index == 0)


def test_priors_have_one_sds_per_smooth(data):
    model = mb.Model("y ~ s(x, k = 5) + (1 | g)", data)
    table = model.priors.table()
    sds = table[table["class"] == "sds"]
    assert list(sds["group"]) == ["sx_1"]
    assert sds["prior"].iloc[0].startswith("HalfStudentT(nu=3")
    user = {("sds", "sx_1"): mb.Prior("Exponential", lam=2)}
    assert (
        mb.Model("y ~ s(x, k = 5)", data, priors=user).priors.get("sds", "sx_1").dist
        == "Exponential"
    )
    with pytest.raises(mb.PriorError, match="positive prior"):
        mb.Model("y ~ s(x, k = 5)", data, priors={"sds": mb.Prior("Normal", mu=0, sigma=1)})


def _point(pm_model, seed=4):
    rng = np.random.default_rng(seed)
    start = pm_model.initial_point()
    return {k: v + rng.normal(0, 0.3, size=np.shape(v)) for k, v in start.items()}


def _values(pm_model, names, point):
    outputs = pm_model.replace_rvs_by_values([pm_model[n] for n in names])
    fn = pm_model.compile_fn(outputs, inputs=pm_model.value_vars, on_unused_input="ignore")
    return dict(zip(names, fn(point), strict=True))


def test_sampled_smooth_density_is_normal_around_the_basis_fit(data):
    model = mb.Model("y ~ s(x, k = 6)", data)
    m = model.pymc_model
    point = _point(m)
    v = _values(m, ["Intercept", "b", "sigma", "sds_sx_1", "r_sx_1", "sd_sx_1"], point)
    np.testing.assert_allclose(v["sd_sx_1"], np.full(4, v["sds_sx_1"]))
    basis = smooth_basis(data["x"].to_numpy(), 6, "tp")
    x = data["x"].to_numpy()
    mu = v["Intercept"] + basis.fixed(x)[:, 0] * v["b"][0] + basis.random(x) @ v["r_sx_1"][0]
    observed = m.compile_logp(vars=m.observed_RVs, sum=True)(point)
    np.testing.assert_allclose(observed, stats.norm.logpdf(data["y"], mu, v["sigma"]).sum())
    z = point["z_sx_1"]  # r = sds * z: independent effects with one sd
    np.testing.assert_allclose(v["r_sx_1"], v["sds_sx_1"] * z)


def test_integrated_smooth_density_matches_the_dense_normal(data):
    model = mb.Model("y ~ s(x, k = 6) + (1 | g)", data)
    m = model.marginal_model("sx_1")
    point = _point(m)
    v = _values(m, ["marginal_loglik", "Intercept", "b", "sigma", "sds_sx_1", "r_g"], point)
    x = data["x"].to_numpy()
    basis = smooth_basis(x, 6, "tp")
    levels = pd.Categorical(data["g"]).codes
    mu = v["Intercept"] + basis.fixed(x)[:, 0] * v["b"][0] + v["r_g"][levels, 0]
    Xr = basis.random(x)
    V = v["sigma"] ** 2 * np.eye(len(x)) + v["sds_sx_1"] ** 2 * Xr @ Xr.T
    expected = stats.multivariate_normal(mu, V).logpdf(data["y"])
    np.testing.assert_allclose(v["marginal_loglik"], expected, rtol=1e-9)

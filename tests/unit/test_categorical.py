"""The categorical (multinomial logit) family: response coding, one predictor per
non-reference category, the log-density against SciPy's multinomial, JAX equal to C,
weights, means and draws, predictions and simulation (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import mixedbayes as mb
from conftest import at_a_point, prior_fit


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n = 90
    return pd.DataFrame(
        {
            "y": rng.choice(["low", "mid", "high"], size=n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "w": rng.integers(1, 4, size=n),
            "g": rng.integers(0, 6, size=n).astype(str),
        }
    )


@pytest.fixture(scope="module")
def model(data):
    return mb.Model("y ~ x + (1 | g)", data, family="categorical")


def test_text_categories_are_sorted_and_a_categorical_keeps_its_order(data, model):
    assert model.design.response_levels == ("high", "low", "mid")
    assert model.family.aux == ("mumid",)  # mu is "low"'s predictor, mumid "mid"'s
    np.testing.assert_array_equal(
        model.design.y, pd.Categorical(data["y"], ["high", "low", "mid"]).codes
    )
    ordered = data.assign(y=pd.Categorical(data["y"], ["low", "mid", "high"]))
    other = mb.Model("y ~ x", ordered, family="categorical")
    assert other.design.response_levels == ("low", "mid", "high")
    assert other.family.aux == ("muhigh",)
    numbers = mb.Model("y ~ x", data.assign(y=data["y"].map({"low": 10, "mid": 2, "high": 7})),
                       family="categorical")  # fmt: skip
    assert numbers.design.response_levels == ("2", "7", "10")


def test_each_further_category_gets_the_main_formula(model):
    (part,) = model.design.dpars
    assert part.dpar == "mumid" and part.link == "identity"
    assert part.fixed_terms == model.design.fixed_terms == ("Intercept", "x")
    assert [b.group for b in part.blocks] == ["mumid_g"]
    np.testing.assert_array_equal(part.blocks[0].index, model.design.blocks[0].index)
    names = {v.name for v in model.pymc_model.free_RVs}
    assert {"b", "mumid_b", "sd_g", "sd_mumid_g", "z_g", "z_mumid_g"} <= names
    assert model.priors.get("mumid_Intercept").params == {"nu": 3, "mu": 0, "sigma": 2.5}


def test_bf_gives_a_category_its_own_formula(data):
    model = mb.Model(mb.bf("y ~ x + (1 | g)", mumid="~ z"), data, family="categorical")
    (part,) = model.design.dpars
    assert part.fixed_terms == ("Intercept", "z") and part.blocks == ()
    with pytest.raises(mb.FormulaError, match="no distributional parameter 'muother'.*mumid"):
        mb.Model(mb.bf("y ~ x", muother="~ 1"), data, family="categorical")


def test_bad_categories_are_named(data):
    with pytest.raises(mb.DataError, match="single category"):
        mb.Model("y ~ x", data.assign(y="a"), family="categorical")
    codes = np.arange(len(data)) % 4
    clash = data.assign(y=np.array(["a", "b", "c-d", "cd"])[codes])
    with pytest.raises(mb.DataError, match="'cd' gives the parameter name 'mucd' as 'c-d'"):
        mb.Model("y ~ x", clash, family="categorical")


def test_log_density_at_a_point_equals_scipy_multinomial(model):
    start, v, observed = at_a_point(model, 4)
    design, part = model.design, model.design.dpars[0]
    g = design.blocks[0].index
    eta2 = v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0]
    eta3 = v["mumid_Intercept"] + v["mumid_b"][0] * part.X[:, 1] + v["r_mumid_g"][g, 0]
    p = special.softmax(np.column_stack([np.zeros_like(eta2), eta2, eta3]), axis=1)
    onehot = np.eye(3)[design.y.astype(int)]
    expected = stats.multinomial.logpmf(onehot, 1, p)
    np.testing.assert_allclose(observed, expected, rtol=1e-10)
    numpy = model.family.logpdf(design.y, eta2, {"mumid": eta3})
    np.testing.assert_allclose(numpy, expected, rtol=1e-10)
    from pymc.sampling.jax import get_jaxified_logp

    m = model.pymc_model
    jax_value = get_jaxified_logp(m)([start[var.name] for var in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(m.compile_logp()(start)), rtol=1e-9)


def test_weights_multiply_each_row(data):
    weighted = mb.Model("y | weights(w) ~ x", data, family="categorical")
    plain = mb.Model("y ~ x", data, family="categorical")
    point = plain.pymc_model.initial_point()
    point = {k: v + 0.2 for k, v in point.items()}
    rows = plain.pymc_model.compile_logp(vars=plain.pymc_model.observed_RVs, sum=False)(point)[0]
    m = weighted.pymc_model
    (likelihood,) = m.replace_rvs_by_values([m.potentials[0].sum()])
    total = m.compile_fn(likelihood, inputs=m.value_vars)(point)
    np.testing.assert_allclose(total, (data["w"] * rows).sum(), rtol=1e-10)


def test_probabilities_sum_to_one_and_draws_match_them(model):
    family = model.family
    eta = np.array([-1.0, 0.0, 2.0])
    aux = {"mumid": np.array([0.5, -3.0, 1.0])}
    p = family.mean(eta, aux)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(family.logpdf(np.array([0, 1, 2]), eta, aux)),
                               p[[0, 1, 2], [0, 1, 2]])  # fmt: skip
    n = 40_000
    draws = family.draw(np.random.default_rng(1), np.tile(eta, (n, 1)), {"mumid": aux["mumid"]})
    share = np.stack([(draws == k).mean(axis=0) for k in range(3)], axis=-1)
    assert np.all(np.abs(share - p) < 4 * np.sqrt(p * (1 - p) / n))


def test_predictions_have_a_category_axis(model, data):
    fit = prior_fit(model)
    table = fit.predict(data.head(4))
    assert table.index.names == ["row", "category"]
    assert list(table.index.get_level_values("category")[:3]) == ["high", "low", "mid"]
    sums = table["estimate"].groupby(level="row").sum()
    np.testing.assert_allclose(sums, 1.0)
    draws = fit.predict(data.head(4), draws=True)
    assert draws.shape[1:] == (4, 3)
    codes = fit.predict(data.head(4), kind="response", draws=True, random_seed=1)
    assert set(np.unique(codes)) <= {0.0, 1.0, 2.0}
    mumid = fit.predict(data.head(4), dpar="mumid", kind="link", draws=True)
    assert mumid.shape == (fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"], 4)
    assert np.isfinite(fit.loo().elpd_loo)
    assert "log-odds against 'high' of mu 'low', mumid 'mid'" in str(fit.summary())
    with pytest.raises(mb.FamilyError, match="r2"):
        fit.r2()


def test_simulate_draws_the_softmax_probabilities():
    n = 6000
    frame = mb.simulate(
        "y ~ x", data=pd.DataFrame({"x": np.zeros(n)}), family="categorical",
        levels=["a", "b", "c"], fixed={"Intercept": 0.4, "muc_Intercept": -0.6}, random_seed=3,
    )  # fmt: skip
    assert list(frame["y"].cat.categories) == ["a", "b", "c"]
    p = special.softmax([0.0, 0.4, -0.6])
    share = frame["y"].value_counts(normalize=True)[["a", "b", "c"]].to_numpy()
    assert np.all(np.abs(share - p) < 4 * np.sqrt(p * (1 - p) / n))
    truth = {"Intercept": 0.4, "x": 0.0, "muc_Intercept": -0.6, "muc_x": 0.0}
    assert frame.attrs["truth"]["fixed"] == truth
    with pytest.raises(mb.FamilyError, match="needs levels="):
        mb.simulate("y ~ x", data=pd.DataFrame({"x": [0.0]}), family="categorical")

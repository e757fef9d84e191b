"""Distributional formulas (``bf(..., sigma = ...)``): parsing, design, priors, the
log-density at a point against SciPy, JAX against C, predictions and save/load (no
sampling: prior draws stand in for the posterior)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from conftest import at_a_point, prior_fit
from mixedbayes.formula.distributional import parse_model_formula
from mixedbayes.graph.marginal import marginal_choice

FORMULA = mb.bf("y ~ x + (1 | g)", sigma="~ z + (1 | g)")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n, levels = 90, 9
    g = rng.integers(0, levels, size=n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    sigma = np.exp(-0.5 + 0.4 * z + rng.normal(0, 0.3, levels)[g])
    y = 1 + 0.5 * x + rng.normal(0, 0.5, levels)[g] + sigma * rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "w": rng.uniform(1, 2, n)})


@pytest.fixture(scope="module")
def model(data):
    return mb.Model(FORMULA, data)


def test_both_bf_styles_parse_alike():
    a = mb.bf("y ~ x + (1 | g)", "sigma ~ z + (1 | g)")
    assert parse_model_formula(a) == parse_model_formula(FORMULA)
    parsed = parse_model_formula(FORMULA)
    assert [p.dpar for p in parsed.parts] == ["mu", "sigma"]
    assert parsed.dpars[0].response == "y" and parsed.dpars[0].fixed == "z"
    assert parsed.full_text == "y ~ x + (1 | g); sigma ~ z + (1 | g)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mb.bf("y ~ x", "~ z"), "must name its parameter"),
        (lambda: mb.bf("y ~ x", "sigma ~ z", sigma="~ w"), "more than one formula for 'sigma'"),
        (lambda: mb.bf("y ~ x", mu="~ z"), "cannot name a distributional parameter"),
        (lambda: mb.bf("y ~ x", sigma=3), "must be a string"),
    ],
)
def test_bf_mistakes_are_formula_errors(call, message):
    with pytest.raises(mb.FormulaError, match=message):
        call()


def test_a_dpar_the_family_lacks_is_named(data):
    with pytest.raises(mb.FormulaError, match=r"no distributional parameter 'sigma'.*none"):
        mb.Model(mb.bf("y ~ x", sigma="~ z"), data.assign(y=1), family="poisson")
    with pytest.raises(mb.FormulaError, match=r"'nu'.*\['sigma'\]"):
        mb.Model(mb.bf("y ~ x", nu="~ z"), data)
    with pytest.raises(mb.FormulaError, match="takes the links"):
        mb.Model(FORMULA, data, links={"sigma": "identity"})


def test_design_and_priors_of_a_dpar(model):
    part = model.design.dpars[0]
    assert part.dpar == "sigma" and part.link == "log" and part.prefix == "sigma_"
    assert part.fixed_terms == ("Intercept", "z")
    (block,) = part.blocks
    assert (block.group, block.label, block.dpar) == ("sigma_g", "g", "sigma")
    np.testing.assert_array_equal(block.index, model.design.blocks[0].index)
    table = model.priors.table()
    classes = set(table["class"])
    assert {"sigma_Intercept", "sigma_b", "sigma_sd"} <= classes and "sigma" not in classes
    center = table.loc[table["class"] == "sigma_Intercept", "prior"].item()
    assert f"mu={round(float(np.log(np.std(model.design.y, ddof=1))), 4)}" in center


def test_user_priors_for_a_dpar(data):
    tight = mb.Prior("Normal", mu=0, sigma=0.1)
    model = mb.Model(
        FORMULA,
        data,
        priors={
            ("sigma_b", "z"): tight,
            ("sigma_sd", "g"): mb.Prior("HalfNormal", sigma=0.2),
            "sigma_Intercept": mb.Prior("Normal", mu=-1, sigma=1),
        },
    )
    assert model.priors.get("sigma_b", coef="z") == tight
    assert model.priors.get("sigma_sd", "g", "Intercept").dist == "HalfNormal"
    with pytest.raises(mb.PriorError, match="no coefficient 'x'"):
        mb.Model(FORMULA, data, priors={("sigma_b", "x"): tight})
    with pytest.raises(mb.PriorError, match="allows negative values"):
        mb.Model(FORMULA, data, priors={"sigma_sd": tight})


def test_log_density_with_a_sigma_formula_equals_scipy(model):
    v, observed = at_a_point(model, 3)[1:]
    design, part = model.design, model.design.dpars[0]
    g = design.blocks[0].index
    mu = v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0]
    log_sigma = v["sigma_Intercept"] + v["sigma_b"][0] * part.X[:, 1] + v["r_sigma_g"][g, 0]
    expected = stats.norm.logpdf(design.y, mu, np.exp(log_sigma))
    np.testing.assert_allclose(observed, expected, rtol=1e-10)


def test_jax_log_density_equals_c(model):
    from pymc.sampling.jax import get_jaxified_logp

    m = model.pymc_model
    start = at_a_point(model, 3)[0]
    c_value = m.compile_logp()(start)
    jax_value = get_jaxified_logp(m)([start[v.name] for v in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(c_value), rtol=1e-9)


def test_marginalization_is_chosen_with_a_sigma_formula(model):
    """Per-row sigma keeps the mean's effects integrable (graph/rowwise.py); sigma's own
    effects stay sampled."""
    assert marginal_choice(model.design, model.family, "auto") == "g"
    named = model.marginal_model("g").named_vars
    assert "r_g" not in named and "r_sigma_g" in named


def test_predict_sigma_and_tables(model, data):
    fit = prior_fit(model)
    stacked = fit.posterior.stack(sample=("chain", "draw"))
    new = data.head(5).assign(g=[0, 1, 2, 3, 99])
    predicted = fit.predict(new, dpar="sigma", include_random=False)
    by_hand = np.exp(
        stacked["sigma_Intercept"].values[:, None]
        + stacked["sigma_b"].values[0][:, None] * new["z"].to_numpy()
    )
    np.testing.assert_allclose(predicted["estimate"], by_hand.mean(axis=0))
    link = fit.predict(new, dpar="sigma", kind="link", include_random=False)
    np.testing.assert_allclose(link["estimate"], np.log(by_hand).mean(axis=0))
    with pytest.raises(mb.DataError, match="dpar must be one of"):
        fit.predict(new, dpar="zi")
    fixef = fit.fixef()
    assert list(fixef["term"]) == ["Intercept", "x", "sigma_Intercept", "sigma_z"]
    assert list(fixef["dpar"]) == ["mu", "mu", "sigma", "sigma"]
    varcorr = fit.varcorr()
    assert list(zip(varcorr["group"], varcorr["dpar"], strict=True)) == [
        ("g", "mu"),
        ("g", "sigma"),
    ]  # no Residual row: sigma varies by row
    assert set(fit.ranef()["dpar"]) == {"mu", "sigma"}
    with pytest.raises(mb.FamilyError, match="formula for sigma"):
        fit.icc()
    text = str(fit.summary())
    assert "sigma (log link): sigma ~ z + (1 | g)" in text and "sigma_z" in text
    # the response draws use each row's own sigma: larger sigma, wider spread
    spread = fit.predict(kind="response", draws=True, random_seed=1).std(axis=0)
    sigma_rows = fit.predict(dpar="sigma")["estimate"].to_numpy()
    assert stats.spearmanr(spread, sigma_rows).statistic > 0.5


def test_loglik_uses_each_rows_sigma(model):
    from mixedbayes.results.predict import log_likelihood

    fit = prior_fit(model, draws=5)
    stacked = fit.posterior.stack(sample=("chain", "draw"))
    design, part = model.design, model.design.dpars[0]
    g = design.blocks[0].index
    s = 3  # one draw, by hand
    draw = {name: stacked[name].values[..., s] for name in stacked.data_vars}
    mu = draw["Intercept"] + draw["b"][0] * design.X[:, 1] + draw["r_g"][g, 0]
    sigma = np.exp(
        draw["sigma_Intercept"] + draw["sigma_b"][0] * part.X[:, 1] + draw["r_sigma_g"][g, 0]
    )
    values = log_likelihood(fit).reshape(-1, design.n_obs)
    np.testing.assert_allclose(values[s], stats.norm.logpdf(design.y, mu, sigma), rtol=1e-8)


def test_save_and_load_a_distributional_fit(model, data, tmp_path):
    fit = prior_fit(model)
    fit.save(tmp_path / "fit.nc")
    loaded = mb.load(tmp_path / "fit.nc")
    assert loaded.model.formula == model.formula
    pd.testing.assert_frame_equal(loaded.fixef(), fit.fixef())
    pd.testing.assert_frame_equal(
        loaded.predict(data.head(4), dpar="sigma"), fit.predict(data.head(4), dpar="sigma")
    )


def test_a_dpar_formula_is_checked_for_safety(data, tmp_path):
    marker = tmp_path / "marker"
    attack = mb.bf("y ~ x", sigma=f"~ I(__import__('pathlib').Path('{marker}').touch() or 0)")
    with warnings.catch_warnings(), pytest.raises(mb.UnsafeFormulaError, match="sigma"):
        warnings.simplefilter("ignore")
        mb.Model(attack, data, safe=True)
    assert not marker.exists()


def test_plot_effects_of_sigma(model):
    import matplotlib

    matplotlib.use("Agg")
    fit = prior_fit(model)
    fig = fit.plot_effects("z", dpar="sigma")
    xs, ys = fig.axes[0].lines[0].get_data()
    stacked = fit.posterior.stack(sample=("chain", "draw"))
    by_hand = np.exp(
        stacked["sigma_Intercept"].values[:, None] + stacked["sigma_b"].values[0][:, None] * xs
    ).mean(axis=0)
    np.testing.assert_allclose(ys, by_hand)
    assert fig.axes[0].get_ylabel() == "sigma"

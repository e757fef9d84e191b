"""Zero-inflated and hurdle count families: densities against SciPy (PyMC's and the
NumPy ones), normalization, means against simulation, JAX equal to C, and the default
intercept-only zi/hu formula (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import mixedbayes as mb
from conftest import at_a_point
from mixedbayes.families import get_family

FAMILIES = [
    "zero_inflated_poisson",
    "zero_inflated_negative_binomial",
    "hurdle_poisson",
    "hurdle_negative_binomial",
]


def scipy_logpmf(family: str, y, mu, zero, shape=None):
    """The brms density from SciPy's Poisson and negative binomial pmfs."""
    if shape is None:
        pmf, p0 = stats.poisson.pmf(y, mu), stats.poisson.pmf(0, mu)
    else:
        p = shape / (shape + mu)
        pmf, p0 = stats.nbinom.pmf(y, shape, p), stats.nbinom.pmf(0, shape, p)
    if family.startswith("zero_inflated"):
        return np.log(np.where(y == 0, zero + (1 - zero) * p0, (1 - zero) * pmf))
    return np.log(np.where(y == 0, zero, (1 - zero) * pmf / (1 - p0)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(21)
    n = 120
    g = rng.integers(0, 8, size=n)
    x = rng.normal(size=n)
    counts = rng.poisson(np.exp(0.7 + 0.3 * x + rng.normal(0, 0.3, 8)[g]))
    y = np.where(rng.random(n) < 0.3, 0, counts)
    return pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n), "g": g})


def formula(family):
    zero = "hu" if family.startswith("hurdle") else "zi"
    return mb.bf("y ~ x + (1 | g)", **{zero: "~ z"})


@pytest.mark.parametrize("name", FAMILIES)
def test_log_density_at_a_point_equals_scipy(name, data):
    model = mb.Model(formula(name), data, family=name)
    start, v, observed = at_a_point(model, 7)
    design, part = model.design, model.design.dpars[0]
    g = design.blocks[0].index
    mu = np.exp(v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0])
    p = part.prefix
    zero = special.expit(v[f"{p}Intercept"] + v[f"{p}b"][0] * part.X[:, 1])
    shape = v.get("shape")
    expected = scipy_logpmf(name, design.y, mu, zero, shape)
    np.testing.assert_allclose(observed, expected, rtol=1e-9, atol=1e-12)
    aux = {part.dpar: zero} | ({"shape": shape} if shape is not None else {})
    family = model.family
    numpy = family.logpdf(design.y, np.log(mu), aux)
    np.testing.assert_allclose(numpy, expected, rtol=1e-9, atol=1e-12)
    from pymc.sampling.jax import get_jaxified_logp

    m = model.pymc_model
    jax_value = get_jaxified_logp(m)([start[var.name] for var in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(m.compile_logp()(start)), rtol=1e-9)


@pytest.mark.parametrize("name", FAMILIES)
def test_densities_sum_to_one_and_means_match_draws(name):
    family = get_family(name)
    zero = "hu" if name.startswith("hurdle") else "zi"
    aux = {zero: np.array(0.35)} | ({"shape": np.array(2.5)} if "shape" in family.aux else {})
    eta = np.log(np.array([0.4, 3.0, 12.0]))
    y = np.arange(400)[:, None]
    total = np.exp(family.logpdf(y, eta[None, :], aux)).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, rtol=1e-9)
    exact = (np.arange(400)[:, None] * np.exp(family.logpdf(y, eta[None, :], aux))).sum(axis=0)
    np.testing.assert_allclose(family.mean(eta, aux), exact, rtol=1e-8)
    rng = np.random.default_rng(3)
    draws = family.draw(rng, np.broadcast_to(eta, (200_000, 3)), aux)
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - exact) < 4 * se)
    zeros = (draws == 0).mean(axis=0)
    if name.startswith("hurdle"):
        np.testing.assert_allclose(zeros, 0.35, atol=0.005)  # zeros only from the hurdle


def test_zi_gets_an_intercept_only_formula_by_default(data):
    model = mb.Model("y ~ x + (1 | g)", data, family="zero_inflated_poisson")
    (part,) = model.design.dpars
    assert (part.dpar, part.link, part.fixed_terms) == ("zi", "logit", ("Intercept",))
    assert "zi ~ 1" in model.formula.full_text
    assert "zi_Intercept" in set(model.priors.table()["class"])
    with pytest.raises(mb.FormulaError, match=r"'hu'.*\['zi'\]"):
        mb.Model(mb.bf("y ~ x", hu="~ z"), data, family="zero_inflated_poisson")
    model = mb.Model(
        formula("hurdle_poisson"), data, family="hurdle_poisson", links={"hu": "probit"}
    )
    assert model.design.dpars[0].link == "probit"


def test_predictions_of_a_zero_inflated_model(data):
    import arviz as az

    model = mb.Model(formula("zero_inflated_poisson"), data, family="zero_inflated_poisson")
    prior = model.prior_predictive(draws=40, random_seed=1)
    fit = mb.Fit(model, az.InferenceData(posterior=prior.prior))
    mean = fit.predict(kind="mean", draws=True)
    mu = np.exp(fit.predict(kind="link", draws=True))
    zi = fit.predict(dpar="zi", draws=True)
    np.testing.assert_allclose(mean, (1 - zi) * mu)
    assert list(fit.fixef()["term"]) == ["Intercept", "x", "zi_Intercept", "zi_z"]


POINT_MASSES = {  # family: (response column, its scipy density given mu and aux)
    "hurdle_gamma": lambda y, mu, a: stats.gamma.logpdf(y, a["shape"], scale=mu / a["shape"]),
    "hurdle_lognormal": lambda y, mu, a: stats.lognorm.logpdf(y, a["sigma"], scale=np.exp(mu)),
    "zero_inflated_beta": lambda y, mu, a: stats.beta.logpdf(y, mu * a["phi"], (1 - mu) * a["phi"]),
    "zero_one_inflated_beta": lambda y, mu, a: stats.beta.logpdf(
        y, mu * a["phi"], (1 - mu) * a["phi"]
    ),
}


@pytest.fixture(scope="module")
def continuous():
    rng = np.random.default_rng(4)
    n = 90
    g, x = rng.integers(0, 6, size=n), rng.normal(size=n)
    u = rng.random(n)
    positive, unit = rng.gamma(3.0, 0.5, n), rng.beta(2.0, 3.0, n)
    return pd.DataFrame(
        {
            "g": g,
            "x": x,
            "hurdle": np.where(u < 0.25, 0.0, positive),
            "zero": np.where(u < 0.2, 0.0, unit),
            "ends": np.where(u < 0.1, 0.0, np.where(u < 0.25, 1.0, unit)),
        }
    )


COLUMNS = {
    "hurdle_gamma": "hurdle",
    "hurdle_lognormal": "hurdle",
    "zero_inflated_beta": "zero",
    "zero_one_inflated_beta": "ends",
}


@pytest.mark.parametrize("name", list(POINT_MASSES))
def test_point_mass_densities_equal_scipy(name, continuous):
    model = mb.Model(f"{COLUMNS[name]} ~ x + (1 | g)", continuous, family=name)
    start, v, observed = at_a_point(model, 7)
    design, family = model.design, model.family
    g = design.blocks[0].index
    eta = v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0]
    mu = family.base.inverse_link(eta)
    masses = {p.dpar: special.expit(v[f"{p.dpar}_Intercept"]) for p in design.dpars}
    aux = {a: v[a] for a in family.base.aux} | masses
    y = design.y
    at_ends = (y == 0) | (y == 1) if family.one else y == 0
    base = POINT_MASSES[name](np.where(at_ends, 0.5, y), mu, aux)
    if family.one:  # zero_one_inflated_beta
        zoi, coi = masses["zoi"], masses["coi"]
        p_zero = zoi * (1 - coi)
        expected = np.select(
            [y == 0, y == 1], [np.log(p_zero), np.log(zoi * coi)], np.log1p(-zoi) + base
        )
    else:
        p_zero = masses[family.zero]
        expected = np.where(y == 0, np.log(p_zero), np.log1p(-p_zero) + base)
    np.testing.assert_allclose(observed, expected, rtol=1e-9)
    np.testing.assert_allclose(family.logpdf(y, eta, aux), expected, rtol=1e-9)
    from pymc.sampling.jax import get_jaxified_logp

    m = model.pymc_model
    jax_value = get_jaxified_logp(m)([start[var.name] for var in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(m.compile_logp()(start)), rtol=1e-9)
    # draws: their mean is the family's mean, their share of zeros the zero mass
    draws = family.draw(np.random.default_rng(0), np.full((100_000, 1), eta[0]), aux)
    se = draws.std() / np.sqrt(draws.size)
    assert abs(draws.mean() - family.mean(eta[:1], aux)[0]) < 4 * se
    assert (draws == 0).mean() == pytest.approx(float(np.ravel(p_zero)[0]), abs=0.01)


def test_zero_inflated_binomial_density_equals_scipy(data):
    trials = data.assign(n=12, s=np.minimum(data["y"], 12))
    model = mb.Model(
        mb.bf("s | trials(n) ~ x + (1 | g)", zi="~ z"), trials, family="zero_inflated_binomial"
    )
    start, v, observed = at_a_point(model, 7)
    design, part = model.design, model.design.dpars[0]
    g = design.blocks[0].index
    p = special.expit(v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0])
    zi = special.expit(v["zi_Intercept"] + v["zi_b"][0] * part.X[:, 1])
    y = design.y
    expected = np.log(
        np.where(
            y == 0, zi + (1 - zi) * stats.binom.pmf(0, 12, p), (1 - zi) * stats.binom.pmf(y, 12, p)
        )
    )
    np.testing.assert_allclose(observed, expected, rtol=1e-9)
    eta = special.logit(p)
    np.testing.assert_allclose(model.family.logpdf(y, eta, {"zi": zi}, 12.0), expected, rtol=1e-9)
    assert model.family.mean(eta, {"zi": zi}, 12.0) == pytest.approx((1 - zi) * p * 12)
    from pymc.sampling.jax import get_jaxified_logp

    m = model.pymc_model
    jax_value = get_jaxified_logp(m)([start[var.name] for var in m.value_vars])
    np.testing.assert_allclose(float(jax_value), float(m.compile_logp()(start)), rtol=1e-9)

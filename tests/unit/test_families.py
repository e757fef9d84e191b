"""Families: PyMC likelihoods against the NumPy/SciPy ones, response coding and checks."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedbayes as mb
from mixedbayes import DataError, FamilyError
from mixedbayes.families import FAMILIES, get_family


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 48
    g = rng.choice(list("ABCDEF"), size=n)
    x = rng.normal(size=n)
    mu = np.exp(0.5 + 0.4 * x)
    p = special.expit(0.3 * x)
    return pd.DataFrame(
        {
            "g": g,
            "x": x,
            "exposure": rng.uniform(0.5, 3, size=n),
            "real": rng.normal(size=n),
            "binary": rng.integers(0, 2, size=n),
            "successes": rng.binomial(6, p),
            "trials": np.full(n, 6),
            "count": rng.poisson(mu),
            "positive": rng.gamma(2.0, mu / 2.0),
            "unit": rng.beta(2, 3, size=n),
            "ordinal": pd.Categorical(
                rng.choice(["low", "mid", "high"], size=n), categories=["low", "mid", "high"]
            ),
        }
    )


CASES = {
    "gaussian": "real ~ x + (1 + x | g)",
    "student_t": "real ~ x + (1 | g)",
    "bernoulli": "binary ~ x + (1 + x | g)",
    "binomial": "successes | trials(trials) ~ x + (1 | g)",
    "poisson": "count ~ x + offset(np.log(exposure)) + (1 | g)",
    "negative_binomial": "count ~ x + (1 | g)",
    "gamma": "positive ~ x + (1 | g)",
    "beta": "unit ~ x + (1 | g)",
    "cumulative": "ordinal ~ x + (1 + x | g)",
    "skew_normal": "real ~ x + (1 | g)",
    "lognormal": "positive ~ x + (1 | g)",
    "exponential": "positive ~ x + (1 | g)",
    "weibull": "positive ~ x + (1 | g)",
}
# families whose zi/hu is a dpar of its own are tested in test_inflated.py, categorical
# (a dpar per category) in test_categorical.py
LINKS = [
    (name, link)
    for name, family in FAMILIES.items()
    for link in family.links
    if not family.predicted and name != "categorical"
]


def point_values(model, seed=4, jitter=0.3):
    """Model variables at a random point of the sampler's space."""
    m = model.pymc_model
    rng = np.random.default_rng(seed)
    point = {k: v + rng.normal(0, jitter, np.shape(v)) for k, v in m.initial_point().items()}
    names = [v.name for v in m.free_RVs + m.deterministics if not v.name.startswith("chol")]
    fn = m.compile_fn(m.replace_rvs_by_values([m[n] for n in names]), inputs=m.value_vars)
    values = dict(zip(names, fn(point), strict=True))
    observed = m.compile_logp(vars=m.observed_RVs, sum=False)(point)[0]
    return values, observed


def linear_predictor(model, values):
    """eta computed directly from the design and the variables (no mixedbayes code)."""
    design = model.design
    eta = np.zeros(design.n_obs)
    for j, term in enumerate(design.fixed_terms):
        if term == "Intercept":
            if model.family.name != "cumulative":
                eta += values["Intercept"]
        else:
            eta += (
                design.X[:, j]
                * values["b"][list(model.pymc_model.coords["fixed_term"]).index(term)]
            )
    for block in design.blocks:
        eta += (values[f"r_{block.group}"][block.index] * block.Z).sum(axis=1)
    if design.offset is not None:
        eta += design.offset
    return eta


@pytest.mark.parametrize("name,link", LINKS)
def test_pymc_likelihood_matches_numpy_logpdf(data, name, link):
    """Every family and link: PyMC's observed log-density equals the SciPy one at a point."""
    model = mb.Model(CASES[name], data, family=name, link=link)
    values, observed = point_values(model, jitter=0.02 if link == "inverse" else 0.3)
    eta = linear_predictor(model, values)
    assert np.isfinite(observed).all()
    aux = {a: values[a] for a in model.family.aux}
    if name == "cumulative":
        aux["thresholds"] = values["Intercept"]
    expected = model.family.logpdf(model.design.y, eta, aux, model.design.trials)
    # erfc (PyTensor) and ndtr (SciPy) differ by ~1e-8; a wrong parametrization by far more
    np.testing.assert_allclose(observed, expected, rtol=1e-6, atol=1e-6)


def test_offset_enters_with_coefficient_one(data):
    model = mb.Model(CASES["poisson"], data, family="poisson")
    np.testing.assert_allclose(model.design.offset, np.log(data["exposure"]))
    assert "exposure" not in " ".join(model.design.fixed_terms)


def test_cbind_and_trials_forms_give_the_same_design(data):
    data = data.assign(failures=data["trials"] - data["successes"])
    a = mb.Model("cbind(successes, failures) ~ x + (1 | g)", data, family="binomial").design
    b = mb.Model("successes | trials(trials) ~ x + (1 | g)", data, family="binomial").design
    c = mb.Model("cbind(successes, trials - successes) ~ x", data, family="binomial").design
    for other in (b, c):
        np.testing.assert_array_equal(a.y, other.y)
        np.testing.assert_array_equal(a.trials, other.trials)


def test_numpy_draws_match_closed_form_moments():
    rng = np.random.default_rng(0)
    eta = np.full(200_000, 1.2)
    mu = np.exp(1.2)
    nb = get_family("negative_binomial").draw(rng, eta, {"shape": 2.5})
    assert nb.mean() == pytest.approx(mu, rel=0.02)
    assert nb.var() == pytest.approx(mu + mu**2 / 2.5, rel=0.04)
    gamma = get_family("gamma").draw(rng, eta, {"shape": 3.0})
    assert gamma.var() == pytest.approx(mu**2 / 3.0, rel=0.04)
    beta = get_family("beta").draw(rng, np.full(200_000, 0.4), {"phi": 8.0})
    p = special.expit(0.4)
    assert beta.mean() == pytest.approx(p, rel=0.01)
    assert beta.var() == pytest.approx(p * (1 - p) / 9.0, rel=0.04)
    cumulative = get_family("cumulative")
    thresholds = np.array([-1.0, 0.5, 2.0])
    codes = cumulative.draw(rng, np.full(200_000, 0.3), {"thresholds": thresholds})
    expected = np.diff(np.concatenate([[0], special.expit(thresholds - 0.3), [1]]))
    np.testing.assert_allclose(np.bincount(codes.astype(int)) / codes.size, expected, atol=0.005)
    probit = get_family("bernoulli", "probit")
    assert probit.draw(rng, np.full(200_000, 0.5), {}).mean() == pytest.approx(
        special.ndtr(0.5), abs=0.005
    )


def test_bernoulli_text_response_models_the_second_level(data):
    data = data.assign(decision=np.where(data["binary"] == 1, "Yes", "No"))
    model = mb.Model("decision ~ x + (1 | g)", data, family="bernoulli")
    np.testing.assert_array_equal(model.design.y, data["binary"])
    assert model.design.response_levels == ("No", "Yes")
    flipped = data.assign(decision=pd.Categorical(data["decision"], categories=["Yes", "No"]))
    model = mb.Model("decision ~ x + (1 | g)", flipped, family="bernoulli")
    np.testing.assert_array_equal(model.design.y, 1 - data["binary"])
    boolean = mb.Model("b ~ x", data.assign(b=data["binary"] == 1), family="bernoulli")
    np.testing.assert_array_equal(boolean.design.y, data["binary"])


def test_ordinal_codes_follow_the_categorical_order(data):
    model = mb.Model(CASES["cumulative"], data, family="cumulative")
    codes = pd.Categorical(data["ordinal"]).codes
    np.testing.assert_array_equal(model.design.y, codes)
    assert list(model.pymc_model.coords["threshold"]) == ["low|mid", "mid|high"]
    numeric = mb.Model("y ~ x", data.assign(y=codes * 10 + 5), family="cumulative")
    np.testing.assert_array_equal(numeric.design.y, codes)
    assert numeric.design.response_levels == ("5", "15", "25")


BAD_RESPONSES = [
    ("poisson", "y ~ x", [-1, 2, 3], "counts"),
    ("poisson", "y ~ x", [0.5, 2, 3], "counts"),
    ("negative_binomial", "y ~ x", [1, -2, 3], "counts"),
    ("bernoulli", "y ~ x", ["a", "b", "c"], "3 outcomes"),
    ("bernoulli", "y ~ x", [0, 1, 2], "0/1"),
    ("beta", "y ~ x", [0.2, 1.0, 0.5], "between 0 and 1"),
    ("gamma", "y ~ x", [1.0, 0.0, 2.0], "positive"),
    ("gaussian", "y ~ x", ["a", "b", "c"], "non-numeric"),
    ("cumulative", "y ~ x", ["low", "high", "mid"], "ordered pandas Categorical"),
    ("binomial", "y ~ x", [0, 1, 1], "trials"),
    ("binomial", "y | trials(n) ~ x", [1, 5, 2], "more successes than trials"),
    ("poisson", "y | trials(n) ~ x", [1, 2, 2], "only family 'binomial'"),
]


@pytest.mark.parametrize("family,formula,values,message", BAD_RESPONSES)
def test_response_checked_against_family(family, formula, values, message):
    data = pd.DataFrame({"y": values, "x": [0.1, 0.5, 0.9], "n": [3, 3, 3]})
    with pytest.raises(DataError, match=message) as error:
        mb.Model(formula, data, family=family)
    assert "'y'" in str(error.value) or "trials" in str(error.value)


def test_unknown_family_and_link():
    with pytest.raises(FamilyError, match="available families: gaussian, student_t"):
        get_family("poison")
    with pytest.raises(FamilyError, match=r"no link 'log'.*logit"):
        get_family("bernoulli", "log")
    assert get_family("logistic").name == "bernoulli"


def test_link_scale_default_priors(data):
    """Non-Gaussian defaults ignore sd(y) and centre the intercept at link(mean)."""
    scaled = data.assign(count=data["count"] * 100)
    model = mb.Model("count ~ x + (1 | g)", scaled, family="negative_binomial")
    priors = model.priors
    sd_x = data["x"].std(ddof=0)
    assert priors.get("b", coef="x").params["sigma"] == pytest.approx(2.5 / sd_x)
    assert priors.get("sd", "g", "Intercept").params["sigma"] == 2.5
    assert priors.get("Intercept").params["mu"] == pytest.approx(
        np.log(scaled["count"].mean()), abs=1e-4
    )
    assert repr(priors.get("shape")) == "Gamma(alpha=0.01, beta=0.01)"
    student = mb.Model("real ~ x", data, family="student_t").priors
    assert repr(student.get("nu")) == "Gamma(alpha=2, beta=0.1)"
    beta = mb.Model("unit ~ x", data, family="beta").priors
    assert beta.get("Intercept").params["mu"] == pytest.approx(
        special.logit(data["unit"].mean()), abs=1e-4
    )


def test_summary_and_exponentiated_fixef_on_prior_draws(data):
    import arviz as az
    import pymc as pm

    data = data.assign(decision=np.where(data["binary"] == 1, "Yes", "No"))
    model = mb.Model("decision ~ x + (1 | g)", data, family="bernoulli")
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=200, random_seed=1).prior
    fit = mb.Fit(model, az.InferenceData(posterior=prior))
    ratios = fit.fixef(exponentiate=True).set_index("term")
    draws = np.exp(prior["b"].sel(fixed_term="x").values.ravel())
    assert ratios.loc["x", "estimate"] == pytest.approx(draws.mean())
    assert ratios.loc["x", "upper"] == pytest.approx(np.quantile(draws, 0.975))
    report = str(fit.summary())
    assert "P(decision = 'Yes') against 'No'" in report
    assert "bernoulli (logit link)" in report
    assert "Residual" not in report


JAX_CASES = [(name, None) for name in CASES] + [("bernoulli", "probit"), ("gamma", "inverse")]


@pytest.mark.parametrize("name,link", JAX_CASES)
def test_jax_log_density_and_gradient_match_pytensor(data, name, link):
    """numpyro and blackjax ("auto" uses numpyro) sample the JAX translation of the model's
    log-density: at a random point it and its gradient equal the compiled C version.
    Every family with its default link, and the links that use other functions."""
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    m = mb.Model(CASES[name], data, family=name, link=link).pymc_model
    rng = np.random.default_rng(5)
    jitter = 0.02 if link == "inverse" else 0.3
    point = {k: v + rng.normal(0, jitter, np.shape(v)) for k, v in m.initial_point().items()}
    values = [point[v.name] for v in m.value_vars]
    logp = get_jaxified_logp(m)  # the log-density, despite the argument's name
    value, grads = jax.jit(jax.value_and_grad(logp))([jax.numpy.asarray(v) for v in values])
    expected = m.compile_logp()(point)
    expected_grad = m.compile_dlogp()(point)
    np.testing.assert_allclose(float(value), expected, rtol=1e-8)
    flat = np.concatenate([np.ravel(g) for g in grads])
    np.testing.assert_allclose(flat, expected_grad, rtol=1e-6, atol=1e-8)

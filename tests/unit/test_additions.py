"""Response addition terms (weights, cens, trunc): parsing, checks with named errors, the
log-density at a point against SciPy, weights against duplicated rows, the NumPy
log-likelihood and truncated draws (no sampling)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from conftest import at_a_point
from mixedbayes.formula import parse_formula
from mixedbayes.graph.marginal import marginal_choice
from mixedbayes.results.predict import log_likelihood

# explicit priors, so that no default depends on the data (duplicating rows changes sd(y))
PRIORS = {
    "Intercept": mb.Prior("Normal", mu=0, sigma=5),
    "b": mb.Prior("Normal", mu=0, sigma=2),
    "sd": mb.Prior("HalfNormal", sigma=1),
    "sigma": mb.Prior("HalfNormal", sigma=2),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(9)
    n = 60
    g = rng.integers(0, 6, size=n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.5, 6)[g] + rng.normal(size=n)
    codes = rng.choice(["none", "left", "right", "interval"], size=n)
    return pd.DataFrame(
        {"y": y, "x": x, "g": g, "w": rng.integers(1, 4, n).astype(float), "c": codes}
    ).assign(y2=lambda d: d["y"] + 0.7)


def test_addition_terms_parse():
    f = parse_formula("y | weights(w) + cens(c, y2) + trunc(lb = 0, ub = hi) ~ x")
    assert (f.response, f.weights, f.cens, f.cens2, f.trunc_lb, f.trunc_ub) == (
        "y",
        "w",
        "c",
        "y2",
        "0",
        "hi",
    )
    f = parse_formula("s | trials(n) + weights(w) ~ x")
    assert (f.response, f.trials, f.weights) == ("s", "n", "w")
    for bad, message in [
        ("y | foo(w) ~ x", "unknown addition term 'foo"),
        ("y | weights(w) + weights(v) ~ x", "weights\\(\\) twice"),
        ("y | trunc(0) ~ x", "trunc\\(lb = 0\\)"),
        ("y | cens(a, b, c) ~ x", "cens\\(c\\) or cens\\(c, upper\\)"),
    ]:
        with pytest.raises(mb.FormulaError, match=message):
            parse_formula(bad)


def mean(model, v):
    design = model.design
    g = design.blocks[0].index
    return v["Intercept"] + v["b"][0] * design.X[:, 1] + v["r_g"][g, 0]


def potential_terms(model, start):
    m = model.pymc_model
    (potential,) = m.potentials
    terms = m.replace_rvs_by_values([potential])  # a centered r_g's sd is not among its inputs
    return m.compile_fn(terms, inputs=m.value_vars, on_unused_input="ignore")(start)[0]


def test_weights_of_two_equal_duplicated_rows(data):
    weighted = mb.Model("y | weights(w) ~ x + (1 | g)", data.assign(w=2.0), priors=PRIORS)
    twice = mb.Model("y ~ x + (1 | g)", pd.concat([data, data]), priors=PRIORS)
    start = weighted.pymc_model.initial_point()
    rng = np.random.default_rng(1)
    start = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in start.items()}
    a = weighted.pymc_model.compile_logp()(start)
    b = twice.pymc_model.compile_logp()(start)
    assert a == pytest.approx(b, rel=1e-12)


def test_censored_log_density_equals_scipy(data):
    model = mb.Model("y | cens(c, y2) + weights(w) ~ x + (1 | g)", data)
    start, v, _ = at_a_point(model, 2)
    mu, sigma, y = mean(model, v), v["sigma"], data["y"].to_numpy()
    c, w = data["c"].to_numpy(), data["w"].to_numpy()
    expected = np.select(
        [c == "none", c == "left", c == "right"],
        [
            stats.norm.logpdf(y, mu, sigma),
            stats.norm.logcdf(y, mu, sigma),
            stats.norm.logsf(y, mu, sigma),
        ],
        np.log(stats.norm.cdf(y + 0.7, mu, sigma) - stats.norm.cdf(y, mu, sigma)),
    )
    # PyTensor's normal CDF (erfc) and SciPy's (ndtr) differ by ~1e-8, as in test_families
    np.testing.assert_allclose(potential_terms(model, start), w * expected, rtol=1e-6)
    # the NumPy log-likelihood (LOO, WAIC) of one draw is the same
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), w * expected, rtol=1e-8)
    assert marginal_choice(model.design, model.family, "auto") is None


def test_truncated_log_density_equals_scipy(data):
    model = mb.Model("y | trunc(lb = -4, ub = 4.5) ~ x + (1 | g)", data)
    start, v, _ = at_a_point(model, 2)
    mu, sigma = mean(model, v), v["sigma"]
    a, b = (-4 - mu) / sigma, (4.5 - mu) / sigma
    expected = stats.truncnorm.logpdf(data["y"], a, b, loc=mu, scale=sigma)
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-6)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-8)
    prior = model.prior_predictive(draws=50, random_seed=3)
    fit = mb.Fit(model, az.InferenceData(posterior=prior.prior))
    draws = fit.predict(kind="response", draws=True, random_seed=4)
    assert np.nanmin(draws) >= -4 and np.nanmax(draws) <= 4.5


def _posterior(model, values):
    """A one-draw posterior holding ``values``."""
    import xarray as xr

    coords = model.pymc_model.coords
    dims = model.pymc_model.named_vars_to_dims
    variables = {
        name: (("chain", "draw", *dims.get(name, ())), np.asarray(value)[None, None])
        for name, value in values.items()
    }
    return xr.Dataset(variables, coords={k: list(v) for k, v in coords.items() if v is not None})


@pytest.mark.parametrize(
    ("formula", "edit", "error", "message"),
    [
        ("y | weights(w) ~ x", {"w": -1.0}, mb.DataError, "non-negative.*-1.0 in row 0"),
        ("y | cens(c) ~ x", {"c": "maybe"}, mb.DataError, "'maybe' in row 0"),
        ("y | cens(c) ~ x", {"c": "interval"}, mb.DataError, "give the upper bounds"),
        ("y | trunc(lb = 5) ~ x", {}, mb.DataError, "outside trunc.*row 0"),
        ("y | cens(c) ~ x", {"y": 1.0, "c": "none"}, mb.FamilyError, "continuous families and"),
    ],
)
def test_bad_addition_terms_are_named(data, formula, edit, error, message):
    bad = data.copy()
    for column, value in edit.items():
        if column == "y":
            bad[column] = 1
        else:
            bad.loc[0, column] = value
    family = "bernoulli" if error is mb.FamilyError else "gaussian"
    with pytest.raises(error, match=message):
        mb.Model(formula, bad, family=family)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(4)
    n = 60
    g = rng.integers(0, 6, size=n)
    x = rng.normal(size=n)
    y = rng.poisson(np.exp(1 + 0.3 * x + rng.normal(0, 0.3, 6)[g])) + 1  # >= 1: zero-free
    codes = rng.choice(["none", "left", "right", "interval"], size=n)
    return pd.DataFrame({"y": y, "x": x, "g": g, "c": codes}).assign(y2=lambda d: d["y"] + 2)


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_censored_counts_equal_scipy(counts, family):
    """brms's discrete censoring: left log P(Y <= y), right log P(Y > y), interval
    log P(y < Y <= y2), in the graph and in the NumPy log-likelihood."""
    model = mb.Model("y | cens(c, y2) ~ x + (1 | g)", counts, family=family)
    start, v, _ = at_a_point(model, 5)
    mu = np.exp(mean(model, v))
    if family == "poisson":
        dist = stats.poisson(mu)
    else:
        dist = stats.nbinom(v["shape"], v["shape"] / (v["shape"] + mu))
    y, y2, c = counts["y"], counts["y2"], counts["c"].to_numpy()
    expected = np.select(
        [c == "none", c == "left", c == "right"],
        [dist.logpmf(y), dist.logcdf(y), dist.logsf(y)],
        np.log(dist.cdf(y2) - dist.cdf(y)),
    )
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-8)


@pytest.mark.parametrize("bounds, lower, upper", [("lb = 1", 1, np.inf), ("lb = 1, ub = 8", 1, 8)])
def test_truncated_counts_keep_their_bounds(counts, bounds, lower, upper):
    """trunc(lb = 1) is the zero-truncated Poisson: p(y) / P(Y >= 1); the bounds are
    possible values, in the density and in the draws."""
    data = counts[counts["y"] <= upper]
    model = mb.Model(f"y | trunc({bounds}) ~ x + (1 | g)", data, family="poisson")
    start, v, _ = at_a_point(model, 6)
    dist = stats.poisson(np.exp(mean(model, v)))
    expected = dist.logpmf(data["y"]) - np.log(dist.cdf(upper) - dist.cdf(lower - 1))
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-8)
    # response draws: inside the bounds, and with the truncated distribution's mean
    # (their standardized total within 4 of 0, its sd the rows' truncated variances)
    draws = np.concatenate(
        [fit.predict(kind="response", draws=True, random_seed=seed) for seed in range(4)]
    )
    assert np.nanmin(draws) >= lower and np.nanmax(draws) <= upper
    values = np.arange(200)[:, None]
    pmf = np.where((values >= lower) & (values <= upper), dist.pmf(values), 0.0)
    pmf = pmf / pmf.sum(axis=0)
    m = (values * pmf).sum(axis=0)
    var = (values**2 * pmf).sum(axis=0) - m**2
    assert abs((draws - m).sum()) < 4 * np.sqrt(len(draws) * var.sum())


INFLATED = [
    "zero_inflated_poisson",
    "zero_inflated_negative_binomial",
    "hurdle_poisson",
    "hurdle_negative_binomial",
]


def inflated_scipy(family: str, model, v):
    """(logpmf, logcdf, logsf) of brms's zero-inflated or hurdle count from SciPy's
    count distribution and the mass p at zero (zi or hu)."""
    mu = np.exp(mean(model, v))
    if "negative_binomial" in family:
        dist = stats.nbinom(v["shape"], v["shape"] / (v["shape"] + mu))
    else:
        dist = stats.poisson(mu)
    zero = "hu" if family.startswith("hurdle") else "zi"
    p = 1 / (1 + np.exp(-v[f"{zero}_Intercept"]))
    if zero == "zi":
        pmf = lambda y: np.where(y == 0, p + (1 - p) * dist.pmf(0), (1 - p) * dist.pmf(y))  # noqa: E731
        sf = lambda y: (1 - p) * dist.sf(y)  # noqa: E731
    else:
        pmf = lambda y: np.where(y == 0, p, (1 - p) * dist.pmf(y) / dist.sf(0))  # noqa: E731
        sf = lambda y: (1 - p) * dist.sf(y) / dist.sf(0)  # noqa: E731
    return (lambda y: np.log(pmf(y))), (lambda y: np.log1p(-sf(y))), (lambda y: np.log(sf(y)))


@pytest.mark.parametrize("family", INFLATED)
def test_censored_inflated_counts_equal_scipy(counts, family):
    """Zero-inflated and hurdle counts censored as brms does: the mass at zero belongs to
    P(Y <= y) for every y >= 0, in the graph and in the NumPy log-likelihood."""
    data = counts.assign(y=np.where(np.arange(len(counts)) % 4 == 0, 0, counts["y"]))
    model = mb.Model("y | cens(c, y2) ~ x + (1 | g)", data, family=family)
    start, v, _ = at_a_point(model, 5)
    logpmf, logcdf, logsf = inflated_scipy(family, model, v)
    y, y2, c = data["y"].to_numpy(), data["y2"].to_numpy(), data["c"].to_numpy()
    interval = np.log(np.exp(logcdf(y2)) - np.exp(logcdf(y)))
    expected = np.select(
        [c == "none", c == "left", c == "right"], [logpmf(y), logcdf(y), logsf(y)], interval
    )
    # log F(y) near 0 is 1 - F(y) in float64: absolute agreement to 1e-12 there
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7, atol=1e-12)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("family", ["zero_inflated_poisson", "hurdle_negative_binomial"])
def test_truncated_inflated_counts_and_their_draws(counts, family):
    """trunc(ub = 6): p(y) / P(Y <= 6), and response draws with the truncated mean."""
    data = counts.assign(y=np.where(np.arange(len(counts)) % 4 == 0, 0, counts["y"]))
    data = data[data["y"] <= 6]
    model = mb.Model("y | trunc(ub = 6) ~ x + (1 | g)", data, family=family)
    start, v, _ = at_a_point(model, 6)
    logpmf, logcdf, _ = inflated_scipy(family, model, v)
    expected = logpmf(data["y"].to_numpy()) - logcdf(6)
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-8)
    draws = np.concatenate(
        [fit.predict(kind="response", draws=True, random_seed=seed) for seed in range(4)]
    )
    assert np.nanmin(draws) >= 0 and np.nanmax(draws) <= 6
    values = np.arange(7)[:, None]
    pmf = np.exp(logpmf(values) - logcdf(6))
    m = (values * pmf).sum(axis=0)
    var = (values**2 * pmf).sum(axis=0) - m**2
    assert abs((draws - m).sum()) < 4 * np.sqrt(len(draws) * var.sum())


def point_mass_scipy(family: str, model, v):
    """(P(0), P(1), SciPy base distribution) of the point-mass families at a point."""
    eta = mean(model, v)
    if family == "hurdle_gamma":
        mu = np.exp(eta)
        base = stats.gamma(v["shape"], scale=mu / v["shape"])
    elif family == "hurdle_lognormal":
        base = stats.lognorm(v["sigma"], scale=np.exp(eta))
    else:
        mu = 1 / (1 + np.exp(-eta))
        base = stats.beta(mu * v["phi"], (1 - mu) * v["phi"])
    expit = lambda name: 1 / (1 + np.exp(-v[name]))  # noqa: E731
    if family == "zero_one_inflated_beta":
        zoi, coi = expit("zoi_Intercept"), expit("coi_Intercept")
        return zoi * (1 - coi), zoi * coi, base
    zero = "zi" if family == "zero_inflated_beta" else "hu"
    return expit(f"{zero}_Intercept"), 0.0, base


@pytest.mark.parametrize(
    "family", ["hurdle_gamma", "hurdle_lognormal", "zero_inflated_beta", "zero_one_inflated_beta"]
)
def test_censored_point_mass_families_equal_scipy(family):
    """A left-censored row (y at most the limit) holds the mass at zero: log(P(0) + (1 -
    P(0) - P(1)) F(y)); right: the base's tail (and the mass at 1)."""
    rng = np.random.default_rng(12)
    n = 48
    x = rng.normal(size=n)
    g = rng.integers(0, 4, size=n)
    unit = family.endswith("beta")
    y = rng.uniform(0.05, 0.95, n) if unit else rng.gamma(2.0, 1.0, n)
    y[::6] = y[1::6] = 0.0  # zeros uncensored, right, left and interval censored
    if family == "zero_one_inflated_beta":
        y[4::12] = y[5::12] = 1.0  # ones uncensored and left censored
    codes = np.array(["none", "left", "right", "interval"])[np.arange(n) % 4]
    upper = np.minimum(y + 0.3, 1.0) if unit else y + 0.3
    data = pd.DataFrame({"y": y, "x": x, "g": g, "c": codes, "y2": upper})
    model = mb.Model("y | cens(c, y2) ~ x + (1 | g)", data, family=family)
    start, v, _ = at_a_point(model, 3)
    at_zero, at_one, base = point_mass_scipy(family, model, v)
    inside = 1 - at_zero - at_one

    def cdf(t):
        return at_zero * (t >= 0) + inside * base.cdf(t) + at_one * (t >= 1)

    density = np.where(y == 0, at_zero, np.where(y == 1, at_one, inside * base.pdf(y)))
    with np.errstate(divide="ignore"):
        expected = np.select(
            [codes == "none", codes == "left", codes == "right"],
            [np.log(density), np.log(cdf(y)), np.log1p(-cdf(y))],
            np.log(cdf(upper) - cdf(y)),
        )
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7, atol=1e-12)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(
    ("family", "link"),
    [("binomial", "logit"), ("binomial", "probit"), ("zero_inflated_binomial", "logit")],
)
def test_censored_binomial_counts_equal_scipy(counts, family, link):
    """Successes of n trials censored as counts are: left P(Y <= y), right P(Y > y),
    interval P(y < Y <= y2); zero inflation adds its mass to every P(Y <= y)."""
    data = counts.assign(n=counts["y2"] + 3)
    data = data.assign(y=np.where(np.arange(len(data)) % 5 == 0, 0, data["y"]))
    model = mb.Model("y | trials(n) + cens(c, y2) ~ x + (1 | g)", data, family=family, link=link)
    start, v, _ = at_a_point(model, 8)
    eta = mean(model, v)
    p = stats.norm.cdf(eta) if link == "probit" else 1 / (1 + np.exp(-eta))
    dist = stats.binom(data["n"].to_numpy(), p)
    zi = 1 / (1 + np.exp(-v["zi_Intercept"])) if family.startswith("zero") else 0.0
    y, y2, c = data["y"].to_numpy(), data["y2"].to_numpy(), data["c"].to_numpy()

    def cdf(t):
        return zi + (1 - zi) * dist.cdf(t)

    pmf = np.where(y == 0, zi + (1 - zi) * dist.pmf(0), (1 - zi) * dist.pmf(y))
    expected = np.select(
        [c == "none", c == "left", c == "right"],
        [np.log(pmf), np.log(cdf(y)), np.log1p(-cdf(y))],
        np.log(cdf(y2) - cdf(y)),
    )
    # the graph's probit is PyTensor's erfc, within about 2e-7 of SciPy's in the tails
    rtol = 1e-6 if link == "probit" else 1e-7
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=rtol, atol=1e-12)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    np.testing.assert_allclose(log_likelihood(fit).ravel(), expected, rtol=1e-7, atol=1e-12)


def test_truncated_binomial_draws_stay_inside(counts):
    data = counts.assign(n=12, y=np.clip(counts["y"], 2, 12))
    model = mb.Model("y | trials(n) + trunc(lb = 2) ~ x + (1 | g)", data, family="binomial")
    start, v, _ = at_a_point(model, 9)
    dist = stats.binom(12, 1 / (1 + np.exp(-mean(model, v))))
    expected = dist.logpmf(data["y"]) - np.log(dist.sf(1))
    np.testing.assert_allclose(potential_terms(model, start), expected, rtol=1e-7)
    fit = mb.Fit(model, az.InferenceData(posterior=_posterior(model, v)))
    draws = np.concatenate(
        [fit.predict(kind="response", draws=True, random_seed=seed) for seed in range(4)]
    )
    assert np.nanmin(draws) >= 2 and np.nanmax(draws) <= 12
    values = np.arange(13)[:, None]
    pmf = np.where(values >= 2, dist.pmf(values), 0.0)
    pmf = pmf / pmf.sum(axis=0)
    m = (values * pmf).sum(axis=0)
    var = (values**2 * pmf).sum(axis=0) - m**2
    assert abs((draws - m).sum()) < 4 * np.sqrt(len(draws) * var.sum())

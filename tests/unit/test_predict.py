"""Prediction on prior draws used as a stand-in posterior: identities and encodings."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import special

import mixedbayes as mb
from mixedbayes import DataError
from mixedbayes.results import predict as predict_module


def fake_fit(model, draws=300):
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=draws, random_seed=1).prior
    return mb.Fit(model, az.InferenceData(posterior=prior))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    n = 90
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["a", "b", "c"], size=n),
            "g": rng.choice(list("ABCDEF"), size=n),
            "h": rng.choice([1, 2, 3], size=n),
            "k": rng.binomial(5, 0.4, size=n),
            "n": np.full(n, 5),
        }
    )


@pytest.fixture(scope="module")
def fit(data):
    return fake_fit(mb.Model("y ~ x + f + (1 + x | g) + (1 | h)", data))


def manual_eta(fit, data, include_random=True):
    """(draws, rows) linear predictor from the posterior arrays and raw columns."""
    post = fit.posterior.stack(sample=("chain", "draw"))
    b = post["b"].transpose("sample", ...).values
    terms = list(post["fixed_term"].values)
    eta = post["Intercept"].values[:, None] + b[:, terms.index("x")][:, None] * data["x"].values
    for level in ("b", "c"):
        eta = eta + b[:, terms.index(f"f[T.{level}]")][:, None] * (data["f"].values == level)
    if include_random:
        r_g = post["r_g"].transpose("sample", ...).sel(g=data["g"].values).values
        r_h = post["r_h"].transpose("sample", ...).sel(h=data["h"].astype(str).values).values
        eta = eta + r_g[..., 0] + r_g[..., 1] * data["x"].values + r_h[..., 0]
    return eta


def test_link_predictions_equal_the_linear_predictor(fit, data):
    expected = manual_eta(fit, data)
    np.testing.assert_allclose(fit.predict(kind="link", draws=True), expected, rtol=1e-10)
    table = fit.predict(kind="link")
    np.testing.assert_allclose(table["estimate"], expected.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(table["upper"], np.quantile(expected, 0.975, axis=0))
    fixed = fit.predict(kind="link", include_random=False, draws=True)
    np.testing.assert_allclose(fixed, manual_eta(fit, data, include_random=False), rtol=1e-10)


def test_newdata_rows_predict_like_training_rows(fit, data):
    new = data.iloc[[5, 0, 17]].set_index(pd.Index(["p", "q", "r"]))
    table = fit.predict(new, kind="link")
    np.testing.assert_allclose(
        table["estimate"], fit.predict(kind="link")["estimate"].iloc[[5, 0, 17]]
    )
    assert list(table.index) == ["p", "q", "r"]


def test_rows_are_chunked_without_changing_results(fit, data, monkeypatch):
    whole = fit.predict(kind="link", draws=True)
    monkeypatch.setattr(predict_module, "_CHUNK_VALUES", 1000)  # ~3 rows per chunk
    np.testing.assert_array_equal(fit.predict(kind="link", draws=True), whole)


def test_unseen_groups(fit, data):
    new = pd.DataFrame({"x": [0.5, 0.5], "f": ["a", "a"], "g": ["A", "Z"], "h": [1, 1]})
    population = fit.predict(new, kind="link", new_groups="population", draws=True)
    seen = fit.predict(new.iloc[:1], kind="link", draws=True)
    np.testing.assert_allclose(population[:, 0], seen[:, 0])
    no_g = fit.predict(new.assign(g="A"), kind="link", draws=True)
    r_a = fit.posterior["r_g"].sel(g="A").stack(sample=("chain", "draw")).transpose("sample", ...)
    np.testing.assert_allclose(population[:, 1], no_g[:, 1] - r_a[:, 0] - 0.5 * r_a[:, 1])
    sampled = fit.predict(new, kind="link", draws=True, random_seed=3)
    extra = sampled[:, 1] - population[:, 1]  # the new level's drawn effect at x = 0.5
    sd = fit.posterior["sd_g"].stack(sample=("chain", "draw")).transpose("sample", ...).values
    rho = fit.posterior["cor_g"].isel(g__coef=0, g__coef_=1).stack(sample=("chain", "draw"))
    variance = sd[:, 0] ** 2 + 0.25 * sd[:, 1] ** 2 + 2 * 0.5 * rho.values * sd[:, 0] * sd[:, 1]
    z = extra / np.sqrt(variance)  # standard normal if drawn from N(0, S R S)
    assert abs(z.mean()) < 0.25 and 0.8 < z.std() < 1.2
    with pytest.raises(DataError, match=r"grouping factor 'g' has levels not seen.*'Z'"):
        fit.predict(new, new_groups="error")


def test_bad_newdata_named(fit):
    new = pd.DataFrame({"x": [0.1], "f": ["d"], "g": ["A"], "h": [1]})
    with pytest.raises(DataError, match=r"\{'d'\}.*'f'"):
        fit.predict(new)
    with pytest.raises(DataError, match="no column 'h'"):
        fit.predict(new.drop(columns="h").assign(f="a"))
    with pytest.raises(DataError, match="column 'x' has 1 missing"):
        fit.predict(new.assign(f="a", x=np.nan))
    with pytest.raises(ValueError, match="kind must be one of"):
        fit.predict(kind="expected")


def test_max_draws_thins(fit):
    assert fit.predict(kind="link", draws=True, max_draws=50).shape == (50, 90)


def test_binomial_mean_is_probability_times_trials(data):
    fit = fake_fit(mb.Model("k | trials(n) ~ x + (1 | g)", data, family="binomial"))
    link = fit.predict(kind="link", draws=True)
    mean = fit.predict(kind="mean", draws=True)
    np.testing.assert_allclose(mean, special.expit(link) * 5)
    new = pd.DataFrame({"x": [0.0], "g": ["A"], "n": [100], "k": [0]})
    expected = special.expit(fit.predict(new, kind="link", draws=True)) * 100
    np.testing.assert_allclose(fit.predict(new, draws=True), expected)
    with pytest.raises(DataError, match="no column 'n'"):
        fit.predict(new.drop(columns="n"))
    draws = fit.predict(kind="response", draws=True, random_seed=1)
    assert draws.min() >= 0 and draws.max() <= 5 and np.all(draws == np.round(draws))


def test_ordinal_category_probabilities(data):
    data = data.assign(o=pd.Categorical(np.digitize(data["y"], [-0.5, 0.5]), ordered=True))
    fit = fake_fit(mb.Model("o ~ x + (1 | g)", data, family="cumulative"))
    probs = fit.predict(kind="mean", draws=True)
    assert probs.shape == (300, 90, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)
    eta = fit.predict(kind="link", draws=True)
    tau = fit.posterior["Intercept"].stack(sample=("chain", "draw")).transpose("sample", ...)
    np.testing.assert_allclose(probs[..., 0], special.expit(tau.values[:, :1] - eta))
    table = fit.predict(kind="mean")
    assert table.index.names == ["row", "category"] and len(table) == 270

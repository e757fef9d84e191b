"""``fit.hypothesis()`` against hand computations on the draws (no sampler runs).

The stand-in posterior is the model's prior draws with the slopes ``b`` replaced by known
normal draws, so that posterior and prior differ: ``x`` ~ N(0.1, 0.1) and ``f[T.b]`` ~
N(-0.2, 0.3) against their Normal(0.3, 1.5) priors. Savage-Dickey ratios are checked
against these closed forms with a tolerance fixed up front: 10% relative, with 4,000
posterior and 4,000 prior draws (a Gaussian KDE's error there is a few percent).
"""

from __future__ import annotations

import re
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes.results.hypothesis import COLUMNS, density_at, parse_hypothesis

DRAWS = 2000  # per chain, 2 chains
KDE_RTOL = 0.10
PRIOR = mb.Prior("Normal", mu=0.3, sigma=1.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["a", "b"], size=n),
            "g": rng.choice(list("ABCDE"), size=n),
        }
    )


@pytest.fixture(scope="module")
def fit(data):
    model = mb.Model("y ~ x + f + (1 + x | g)", data, priors={"b": PRIOR})
    with model.pymc_model:
        prior = pm.sample_prior_predictive(draws=DRAWS, random_seed=1).prior
    posterior = prior.isel(chain=[0, 0]).assign_coords(chain=[0, 1])
    assert list(posterior["fixed_term"].values) == ["x", "f[T.b]"]
    rng = np.random.default_rng(7)
    b = np.stack([rng.normal(0.1, 0.1, (2, DRAWS)), rng.normal(-0.2, 0.3, (2, DRAWS))], axis=-1)
    posterior["b"] = (("chain", "draw", "fixed_term"), b)
    return mb.Fit(model, az.InferenceData(posterior=posterior))


def draws(fit, term):
    return fit.posterior["b"].sel(fixed_term=term).values.ravel()


def test_directional_hypothesis_is_the_share_of_draws(fit):
    table = fit.hypothesis("x > 0.1")
    assert list(table.columns) == COLUMNS
    row = table.iloc[0]
    value = draws(fit, "x") - 0.1
    p = np.mean(value > 0)
    assert 0.3 < p < 0.7  # not a trivial 0 or 1
    assert row["post_prob"] == p
    assert row["evidence_ratio"] == pytest.approx(p / (1 - p))
    assert row["estimate"] == pytest.approx(value.mean())
    assert row["sd"] == pytest.approx(value.std(ddof=1))
    assert [row["lower"], row["upper"]] == pytest.approx(np.quantile(value, [0.025, 0.975]))
    assert row["hypothesis"] == "x > 0.1" and row["star"] == ""


def test_combinations_of_terms_with_brackets(fit):
    x, f = draws(fit, "x"), draws(fit, "f[T.b]")
    table = fit.hypothesis(["x + f[T.b] < 0.2", "2 * x - f[T.b] / 2 >= -x", "-(x) <= 0.5 * f[T.b]"])
    combos = [x + f - 0.2, 2 * x - f / 2 - (-x), -x - 0.5 * f]
    assert len(table) == 3 and table["hypothesis"].tolist()[0] == "x + f[T.b] < 0.2"
    for (_, row), value, below in zip(table.iterrows(), combos, [True, False, True], strict=True):
        assert row["post_prob"] == np.mean(value < 0 if below else value > 0)
        assert row["estimate"] == pytest.approx(value.mean())


def test_certain_hypothesis_has_infinite_odds_and_a_star(fit):
    row = fit.hypothesis("x > -5").iloc[0]
    assert row["post_prob"] == 1 and row["evidence_ratio"] == np.inf and row["star"] == "*"


def test_prob_sets_the_interval(fit):
    row = fit.hypothesis("f[T.b] > 0", prob=0.8).iloc[0]
    quantiles = np.quantile(draws(fit, "f[T.b]"), [0.1, 0.9])
    assert [row["lower"], row["upper"]] == pytest.approx(quantiles)
    for prob in (0, 1, 1.5, "0.9"):
        with pytest.raises(mb.DataError, match="prob must be between 0 and 1"):
            fit.hypothesis("x > 0", prob=prob)


def test_density_helper_matches_the_normal_pdf():
    values = np.random.default_rng(0).normal(1.0, 2.0, size=5000)
    for point in (-1.0, 0.0, 1.0, 3.0):
        assert density_at(values, point) == pytest.approx(
            stats.norm.pdf(point, 1.0, 2.0), rel=KDE_RTOL
        )
    assert np.isnan(density_at(np.zeros(10))) and np.isnan(density_at(np.array([1.0])))


def test_point_hypothesis_savage_dickey_ratio(fit):
    table = fit.hypothesis(["x = 0", "x + f[T.b] == 0"], random_seed=3)
    assert table["post_prob"].isna().all()
    single = stats.norm.pdf(0, 0.1, 0.1) / stats.norm.pdf(0, 0.3, 1.5)
    both = stats.norm.pdf(0, -0.1, np.hypot(0.1, 0.3)) / stats.norm.pdf(0, 0.6, 1.5 * 2**0.5)
    assert table["evidence_ratio"].tolist() == pytest.approx([single, both], rel=KDE_RTOL)
    again = fit.hypothesis("x = 0", random_seed=3)["evidence_ratio"].iloc[0]
    assert again == table["evidence_ratio"].iloc[0]  # seeded prior draws


def test_improper_prior_gives_no_bayes_factor(fit, data):
    flat = mb.Model("y ~ x + f + (1 + x | g)", data, priors={"b": mb.Prior("Flat")})
    flat_fit = mb.Fit(flat, fit.idata)
    table = flat_fit.hypothesis(
        ["x = 0", "Intercept = 0", "sd_g[x] = 0.5", "x > 0.1"], random_seed=1
    )
    ratios = table["evidence_ratio"].tolist()
    assert np.isnan(ratios[0]) and np.isnan(ratios[1])  # the intercept's prior involves b
    assert np.isfinite(ratios[2]) and ratios[2] > 0  # sd_g's prior is proper
    assert ratios[3] == pytest.approx(fit.hypothesis("x > 0.1")["evidence_ratio"].iloc[0])


def test_random_effect_sd_terms(fit):
    row = fit.hypothesis("sd_g[x] < sd_g[Intercept]").iloc[0]
    sd = fit.posterior["sd_g"]
    value = sd.sel(g__coef="x").values.ravel() - sd.sel(g__coef="Intercept").values.ravel()
    assert row["post_prob"] == np.mean(value < 0)


def test_distributional_terms_keep_their_prefix(data):
    model = mb.Model(mb.bf("y ~ x", sigma="~ f"), data)
    with model.pymc_model:
        prior = pm.sample_prior_predictive(draws=300, random_seed=2).prior
    fit = mb.Fit(model, az.InferenceData(posterior=prior))
    table = fit.hypothesis(["sigma_f[T.b] > 0", "sigma_Intercept + sigma_f[T.b] < Intercept"])
    slope = prior["sigma_b"].sel(sigma_fixed_term="f[T.b]").values.ravel()
    total = prior["sigma_Intercept"].values.ravel() + slope - prior["Intercept"].values.ravel()
    assert table["post_prob"].tolist() == [np.mean(slope > 0), np.mean(total < 0)]


def test_term_names_python_cannot_parse_are_substituted_longest_first():
    terms = ["x", "x:z", "C(occasion)[T.1]", "Intercept", "sigma_Intercept", "I(x == 1)[T.True]"]
    h = parse_hypothesis("x:z - C(occasion)[T.1] >= 2*x + sigma_Intercept/Intercept", terms)
    assert h.direction == ">" and h.terms == (
        "x:z",
        "C(occasion)[T.1]",
        "x",
        "sigma_Intercept",
        "Intercept",
    )
    values = {t: np.array([1.0, 2.0]) * (i + 1) for i, t in enumerate(terms)}
    expected = values["x:z"] - values["C(occasion)[T.1]"] - (2 * values["x"] + 5 / 4)
    np.testing.assert_allclose(h.difference(values), expected)
    assert parse_hypothesis("I(x == 1)[T.True] = x", terms).terms == ("I(x == 1)[T.True]", "x")


def test_ordinal_thresholds_with_a_bar_in_their_names(data):
    data = data.assign(o=pd.Categorical(np.resize(["lo", "mid", "hi"], len(data)), ordered=True))
    data["o"] = data["o"].cat.reorder_categories(["lo", "mid", "hi"])
    model = mb.Model("o ~ x", data, family="cumulative")
    prior = model.prior_predictive(draws=300, random_seed=2).prior  # thresholds sorted
    fit = mb.Fit(model, az.InferenceData(posterior=prior))
    table = fit.hypothesis(["Intercept[lo|mid] + 1 < Intercept[mid|hi]", "x = 0"])
    cut = prior["Intercept"]
    value = cut.sel(threshold="lo|mid").values + 1 - cut.sel(threshold="mid|hi").values
    assert table["post_prob"].iloc[0] == np.mean(value < 0)
    assert np.isfinite(table["evidence_ratio"].iloc[1])


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("f[T.c] > 0", ["unknown term 'f[T.c]'", "did you mean 'f[T.b]'", "sd_g[Intercept]"]),
        ("xx = 0", ["unknown term 'xx'", "did you mean 'x'"]),
        ("x:f[T.b] > 0", ["unknown term 'x:f[T.b]'"]),
        ("occasion > 0.1", ["unknown term 'occasion'", "Intercept, x, f[T.b]"]),
        ("", ["empty hypothesis"]),
        ("   ", ["empty hypothesis"]),
        ("x + 1", ["has no comparison"]),
        ("x > 0 > -1", ["has 2 comparisons"]),
        ("x < 0 = 1", ["has 2 comparisons"]),
        ("x > 0 and x < 1", ["and/or", "list"]),
        ("x != 0", ["unsupported comparison '!='"]),
        ("exp(x) > 0", ["unsupported function call 'exp(x)'"]),
        ("x ** 2 > 0", ["unsupported syntax 'x ** 2'"]),
        ("2x > 0", ["cannot be parsed", "'2 * x'"]),
        ("x > 'a'", ["unsupported syntax \"'a'\""]),
        ("1 > 0", ["names no model term"]),
    ],
)
def test_bad_hypotheses_name_the_culprit(fit, text, needles):
    with pytest.raises(mb.HypothesisError) as info:
        fit.hypothesis(text)
    assert isinstance(info.value, mb.FormulaError) and isinstance(info.value, ValueError)
    for needle in needles:
        assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize("bad", [3, [], ["x > 0", 5], None])
def test_hypotheses_must_be_strings(fit, bad):
    with pytest.raises(mb.HypothesisError, match="string"):
        fit.hypothesis(bad)


def test_outputs_page_lists_the_columns(fit):
    text = (Path(__file__).resolve().parents[2] / "docs" / "outputs.md").read_text()
    assert "fit.hypothesis(" in text
    match = re.search(r"`(hypothesis, estimate[^`]*)`", text)
    assert match and [c.strip() for c in match.group(1).split(",")] == COLUMNS

"""K-fold cross-validation's pieces without sampling: folds, held-out log-likelihood,
comparison. (The end-to-end refits on GPA are in tests/slow/test_kfold_gpa.py.)"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes.results.kfold import KFold, compare_kfold, fold_ids
from mixedbayes.results.predict import heldout_log_likelihood


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    g = rng.integers(0, 13, 90)
    return pd.DataFrame(
        {"y": rng.normal(size=90), "x": rng.normal(size=90), "g": [f"g{i}" for i in g],
         "school": [f"s{i % 4}" for i in g]}
    )  # fmt: skip


@pytest.fixture(scope="module")
def fit(data):
    """The prior's draws as a stand-in posterior (no sampler runs)."""
    model = mb.Model("y ~ x + (1 | g)", data)
    with model.pymc_model:
        prior = pm.sample_prior_predictive(draws=300, random_seed=1).prior
    return mb.Fit(model, az.InferenceData(posterior=prior))


@pytest.mark.parametrize("group", ["g", "school"])  # a grouping factor; a data column
def test_grouped_folds_never_split_a_level_and_are_balanced(fit, data, group):
    folds = fold_ids(fit, 4, group, random_seed=2)
    assert sorted(np.unique(folds)) == [1, 2, 3, 4]
    assert (data.groupby(group)[[]].size() > 0).all()
    per_level = pd.Series(folds).groupby(data[group].to_numpy()).nunique()
    assert (per_level == 1).all()  # every level in one fold
    levels_per_fold = pd.Series(data[group].to_numpy()).groupby(folds).nunique()
    assert levels_per_fold.max() - levels_per_fold.min() <= 1
    np.testing.assert_array_equal(folds, fold_ids(fit, 4, group, random_seed=2))


def test_row_folds_and_bad_requests(fit):
    folds = fold_ids(fit, 5, None, random_seed=1)
    assert np.bincount(folds)[1:].tolist() == [18] * 5
    with pytest.raises(mb.DataError, match="at least 20 levels of 'g', there are 13"):
        fold_ids(fit, 20, "g")
    with pytest.raises(mb.DataError, match="'nope' is neither a grouping factor"):
        fold_ids(fit, 3, "nope")
    with pytest.raises(mb.SamplingError, match="k must be an integer >= 2"):
        fold_ids(fit, 1, "g")


def _observed(fit, rows):
    design = fit.model.design
    return type("Observed", (), {"y": design.y[rows], "additions": design.additions})


def test_heldout_loglik_of_seen_levels_is_the_normal_density(fit, data):
    rows = np.arange(10)
    loglik = heldout_log_likelihood(fit, data.iloc[rows], _observed(fit, rows), random_seed=1)
    post = fit.posterior.stack(sample=("chain", "draw"))
    level = pd.Index(fit.posterior["g"].values).get_indexer(data.g.iloc[rows])
    mean = (
        post["Intercept"].values[:, None]
        + post["b"].values[0][:, None] * data.x.iloc[rows].to_numpy()[None]
        + post["r_g"].values[level, 0, :].T
    )
    expected = stats.norm.logpdf(
        data.y.iloc[rows].to_numpy()[None], mean, post["sigma"].values[:, None]
    )
    np.testing.assert_allclose(loglik, expected, rtol=1e-10)


def test_heldout_loglik_of_a_new_level_draws_its_effect_from_the_population(fit, data):
    """An unseen level gets N(0, sd_g) effects per draw: with sd_g tiny, the
    population-level density (to 1e-2: the draws' covariance carries a 1e-12 jitter, so
    effects of sd 1e-6 remain); with sd_g large, much lower on average."""
    rows = np.arange(6)
    new = data.iloc[rows].assign(g="unseen")
    post = fit.posterior.stack(sample=("chain", "draw"))
    mean = post["Intercept"].values[:, None] + post["b"].values[0][:, None] * new.x.to_numpy()[None]
    population = stats.norm.logpdf(new.y.to_numpy()[None], mean, post["sigma"].values[:, None])
    for sd, close in ((1e-9, True), (50.0, False)):
        tweaked = mb.Fit(fit.model, fit.idata.copy())
        tweaked.idata.posterior["sd_g"] = tweaked.idata.posterior["sd_g"] * 0 + sd
        loglik = heldout_log_likelihood(tweaked, new, _observed(fit, rows), random_seed=1)
        if close:
            np.testing.assert_allclose(loglik, population, rtol=1e-2)
        else:
            assert loglik.mean() < population.mean() - 3


def test_compare_ranks_kfold_results_with_paired_standard_errors():
    rng = np.random.default_rng(0)
    a = rng.normal(-1.0, 0.5, 50)
    b = a - np.abs(rng.normal(0.2, 0.1, 50))
    folds = np.repeat(np.arange(1, 6), 10)
    results = {
        "worse": KFold(b.sum(), 1.0, 2.0, b, folds, "g"),
        "better": KFold(a.sum(), 1.0, 3.0, a, folds, "g"),
    }
    table = mb.compare(results)
    assert list(table.index) == ["better", "worse"] and list(table["rank"]) == [0, 1]
    np.testing.assert_allclose(table.loc["worse", "elpd_diff"], (a - b).sum())
    np.testing.assert_allclose(table.loc["worse", "dse"], np.sqrt(50 * np.var(a - b)))
    assert table.loc["better", "elpd_diff"] == 0 and table.loc["better", "dse"] == 0
    with pytest.raises(ValueError, match="different numbers of rows"):
        compare_kfold({"a": results["better"], "b": KFold(0, 0, 0, a[:10], folds[:10], "g")})


def test_with_data_is_the_same_model_on_other_rows(data):
    prior = mb.Prior("Normal", mu=0.0, sigma=0.3)
    model = mb.Model("y ~ x + (1 | g)", data, family="student_t", priors={"b": prior})
    other = model.with_data(data.iloc[:40])
    assert other.family.name == "student_t" and other.design.n_obs == 40
    assert other.formula.full_text == model.formula.full_text
    assert other.priors.get("b", coef="x").params == {"mu": 0.0, "sigma": 0.3}


def test_loo_warns_of_high_pareto_k_and_points_to_kfold(fit):
    """Prior draws as a posterior: far from the data, so many Pareto k are high."""
    with pytest.warns(UserWarning, match=r"Pareto k > .*fit\.kfold\(k=10, group='g'\)"):
        fit.loo()

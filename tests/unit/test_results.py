"""Result tables computed from draws, checked against direct numpy computations.

Prior draws stand in for a posterior: the tables only need draws with the right names and
dims, so no sampler runs here.
"""

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

import mixedbayes as mb
from mixedbayes.results.stats import summarize


@pytest.fixture(scope="module")
def fit():
    rng = np.random.default_rng(2)
    n = 80
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["a", "b"], size=n),
            "g": rng.choice(list("ABCDEF"), size=n),
            "h": rng.choice(list("pq"), size=n),
        }
    )
    model = mb.Model("y ~ x + f + (1 + x | g) + (1 | h)", data)
    with model.pymc_model:
        prior = pm.sample_prior_predictive(draws=400, random_seed=1).prior
    posterior = prior.isel(chain=[0, 0]).assign_coords(chain=[0, 1])
    posterior["draw"] = np.arange(posterior.sizes["draw"])
    return mb.Fit(model, az.InferenceData(posterior=posterior))


def test_summarize_matches_numpy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 500, 3))
    table = summarize(xr.DataArray(values, dims=("chain", "draw", "k")), prob=0.9)
    flat = values.reshape(1000, 3)
    np.testing.assert_allclose(table["estimate"], flat.mean(0))
    np.testing.assert_allclose(table["sd"], flat.std(0, ddof=1))
    np.testing.assert_allclose(table["lower"], np.quantile(flat, 0.05, axis=0))
    np.testing.assert_allclose(table["upper"], np.quantile(flat, 0.95, axis=0))
    assert np.all(np.abs(table["rhat"] - 1) < 0.02)
    assert np.all(table["ess_bulk"] > 500)


def test_fixef_columns_and_values(fit):
    table = fit.fixef(prob=0.8)
    assert list(table.columns) == [
        "term",
        "estimate",
        "sd",
        "lower",
        "upper",
        "rhat",
        "ess_bulk",
        "ess_tail",
        "dpar",
    ]
    assert table["term"].tolist() == ["Intercept", "x", "f[T.b]"]
    assert set(table["dpar"]) == {"mu"}
    draws = fit.posterior["b"].sel(fixed_term="x").values.ravel()
    row = table.set_index("term").loc["x"]
    assert row["estimate"] == pytest.approx(draws.mean())
    assert row["lower"] == pytest.approx(np.quantile(draws, 0.1))


def test_varcorr_variance_shares(fit):
    table = fit.varcorr()
    assert list(table.columns) == [
        "group",
        "term",
        "sd",
        "sd_lower",
        "sd_upper",
        "variance",
        "var_prop",
        "rhat",
        "ess_bulk",
        "ess_tail",
        "dpar",
    ]
    assert list(table["dpar"]) == ["mu", "mu", "mu", "sigma"]
    assert list(zip(table["group"], table["term"], strict=True)) == [
        ("g", "Intercept"),
        ("g", "x"),
        ("h", "Intercept"),
        ("Residual", ""),
    ]
    p = fit.posterior
    variances = np.stack(
        [
            p["sd_g"].values[..., 0] ** 2,
            p["sd_g"].values[..., 1] ** 2,
            p["sd_h"].values[..., 0] ** 2,
            p["sigma"].values ** 2,
        ]
    )
    np.testing.assert_allclose(table["variance"], variances.mean(axis=(1, 2)))
    np.testing.assert_allclose(table["var_prop"], (variances / variances.sum(0)).mean(axis=(1, 2)))
    assert table["var_prop"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(table["sd"].iloc[3], p["sigma"].values.mean())


def test_cor_lists_each_correlated_pair(fit):
    table = fit.cor()
    assert table[["group", "term1", "term2"]].values.tolist() == [["g", "Intercept", "x"]]
    draws = fit.posterior["cor_g"].values[..., 0, 1].ravel()
    assert table["estimate"].iloc[0] == pytest.approx(draws.mean())


def test_summary_report(fit):
    text = str(fit.summary())
    for expected in (
        "Formula: y ~ x + f + (1 + x | g) + (1 | h)",
        "80 observations",
        "g (6 levels), h (2 levels)",
        "Fixed effects",
        "Variance components",
        "Random-effect correlations",
        "Priors",
        "Diagnostics:",
    ):
        assert expected in text
    assert "<table" in fit.summary()._repr_html_()


def test_bad_prob(fit):
    with pytest.raises(ValueError, match="prob must be between 0 and 1"):
        fit.fixef(prob=95)

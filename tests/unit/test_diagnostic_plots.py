"""Trace, rank, prior-vs-posterior and funnel plots on a stand-in posterior (no sampling)."""

from __future__ import annotations

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

import mixedbayes as mb

matplotlib.use("Agg")
DRAWS = 200


@pytest.fixture(scope="module")
def fit():
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(6), np.arange(2, 8))  # levels with 2..7 rows
    data = pd.DataFrame({"y": rng.normal(size=g.size), "x": rng.normal(size=g.size),
                         "g": [f"s{i}" for i in g]})  # fmt: skip
    model = mb.Model("y ~ x + (1 + x | g)", data)
    with model.pymc_model:
        prior = pm.sample_prior_predictive(draws=2 * DRAWS, random_seed=1).prior
    coords = {k: v for k, v in prior.coords.items() if k not in ("chain", "draw")}
    posterior = xr.Dataset(  # the 400 prior draws as 2 chains of 200
        {
            name: (("chain", "draw", *v.dims[2:]), v.values.reshape(2, DRAWS, *v.shape[2:]))
            for name, v in prior.items()
        },
        coords=coords,
    )
    for name in ("sd_g", "sigma"):  # tame the heavy prior tails ArviZ's KDE trips over
        posterior[name] = (
            np.exp(0.3 * rng.standard_normal(posterior[name].shape)) + 0 * posterior[name]
        )
    diverging = np.zeros((2, DRAWS), dtype=bool)
    diverging[0, :7] = True
    stats = xr.Dataset({"diverging": (("chain", "draw"), diverging)})
    return mb.Fit(model, az.InferenceData(posterior=posterior, sample_stats=stats))


def test_trace_and_rank_plots_cover_the_reported_parameters(fit):
    trace = fit.plot_trace()
    # Intercept, b[x], sd_g[Intercept], sd_g[x], cor_g[x, Intercept] (the one pair of the
    # symmetric matrix; its constant diagonal is left out), sigma: a row each
    assert len(trace.axes) == 2 * 6
    rank = fit.plot_rank(var_names=["Intercept", "sigma"])
    assert len(rank.axes) == 2
    with pytest.raises(mb.DataError, match="no posterior variable 'nope'"):
        fit.plot_trace(var_names=["nope"])


def test_prior_vs_posterior_has_a_panel_per_scalar_parameter(fit):
    fig = fit.plot_prior_vs_posterior(draws=300, random_seed=2)
    titles = [ax.get_title() for ax in fig.axes]
    # Intercept, b[x], sd_g[Intercept], sd_g[x], cor_g's one pair, sigma
    assert "Intercept" in titles and "b[x]" in titles and "sigma" in titles
    assert "sd_g[Intercept]" in titles and "sd_g[x]" in titles
    assert sum(t.startswith("cor_g[") for t in titles) == 1
    assert all(len(ax.lines) == 2 for ax in fig.axes)  # prior and posterior


def test_funnel_plots_the_least_observed_levels_with_divergences_in_red(fit):
    fig = fit.plot_funnel(n_levels=3)
    assert [ax.get_title() for ax in fig.axes] == [
        "g s0 (2 rows)",
        "g s1 (3 rows)",
        "g s2 (4 rows)",
    ]
    normal, divergent = fig.axes[0].collections
    assert len(divergent.get_offsets()) == 7 and len(normal.get_offsets()) == 2 * DRAWS - 7
    level = fit.posterior["r_g"].sel(g="s0", g__coef="Intercept").values.ravel()
    np.testing.assert_allclose(divergent.get_offsets()[:, 0], level[:7])
    sd = fit.posterior["sd_g"].sel(g__coef="Intercept").values.ravel()
    np.testing.assert_allclose(divergent.get_offsets()[:, 1], np.log(sd[:7]))
    assert fit.plot_funnel(coef="x").axes[0].get_xlabel() == "r[x]"
    with pytest.raises(mb.DataError, match="unknown grouping factor 'h'"):
        fit.plot_funnel(group="h")
    with pytest.raises(mb.DataError, match="has no coefficient 'z'"):
        fit.plot_funnel(coef="z")

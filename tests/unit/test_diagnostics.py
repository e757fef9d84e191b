"""Post-sampling checks on hand-made sampler output: each failure is reported and warned."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mixedbayes as mb
from mixedbayes.results.diagnostics import warn_if_unreliable


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(4)
    n = 60
    data = pd.DataFrame(
        {"y": rng.normal(size=n), "x": rng.normal(size=n), "g": rng.choice(list("ABCD"), n)}
    )
    return mb.Model("y ~ x + (1 + x | g)", data)


def make_fit(model, shift=0.0, divergent=0, depth_hits=0, sticky_energy=False):
    """Independent prior draws as 2 chains x 300, with sampler statistics to taste."""
    prior = model.prior_predictive(draws=600, random_seed=2).prior
    halves = [
        prior.isel(chain=0, draw=slice(k * 300, (k + 1) * 300)).assign_coords(draw=np.arange(300))
        for k in (0, 1)
    ]
    posterior = xr.concat(halves, dim="chain").assign_coords(chain=[0, 1])
    posterior["b"] = posterior["b"] + xr.DataArray([0.0, shift], dims="chain")
    rng = np.random.default_rng(0)
    diverging = np.zeros((2, 300), dtype=bool)
    diverging[1, :divergent] = True
    depth = np.zeros((2, 300), dtype=bool)
    depth[0, :depth_hits] = True
    energy = (
        rng.normal(size=(2, 300)).cumsum(axis=1) if sticky_energy else rng.normal(size=(2, 300))
    )
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), diverging),
            "reached_max_treedepth": (("chain", "draw"), depth),
            "energy": (("chain", "draw"), energy),
        },
        coords={"chain": [0, 1], "draw": np.arange(300)},
    )
    return mb.Fit(model, az.InferenceData(posterior=posterior, sample_stats=stats))


def test_clean_fit_passes_every_check(model):
    table = make_fit(model).diagnostics()
    assert list(table["check"]) == [
        "divergent transitions",
        "max R-hat",
        "min bulk ESS",
        "min tail ESS",
        "draws at max tree depth",
        "min E-BFMI",
    ]
    assert table["ok"].all(), table
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        warn_if_unreliable(make_fit(model))


@pytest.mark.parametrize(
    "kwargs,check,words",
    [
        ({"divergent": 3}, "divergent transitions", ["divergent", "target_accept"]),
        ({"shift": 3.0}, "max R-hat", ["R-hat", "(x)", "longer chains"]),
        ({"depth_hits": 5}, "draws at max tree depth", ["tree depth", "rescale"]),
        ({"sticky_energy": True}, "min E-BFMI", ["E-BFMI", "chain"]),
    ],
)
def test_each_failure_is_reported_and_warned(model, kwargs, check, words):
    fit = make_fit(model, **kwargs)
    table = fit.diagnostics().set_index("check")
    assert not table.loc[check, "ok"]
    with pytest.warns(mb.ConvergenceWarning) as caught:
        warn_if_unreliable(fit)
    messages = [str(w.message) for w in caught if check in str(w.message)]
    assert messages, [str(w.message) for w in caught]
    for word in words:
        assert word in messages[0]


def test_divergences_counted_per_chain(model):
    table = make_fit(model, divergent=4).diagnostics().set_index("check")
    assert table.loc["divergent transitions", "value"] == 4
    assert table.loc["divergent transitions", "where"] == "chain 1: 4"


def test_low_ess_is_reported(model):
    fit = make_fit(model)
    sticky = fit.posterior.copy()
    walk = np.random.default_rng(1).normal(size=(2, 300)).cumsum(axis=1) * 0.05
    sticky["sigma"] = sticky["sigma"] * 0 + 1 + np.abs(walk)  # a slowly mixing chain
    slow = mb.Fit(model, az.InferenceData(posterior=sticky, sample_stats=fit.idata.sample_stats))
    table = slow.diagnostics().set_index("check")
    assert not table.loc["min bulk ESS", "ok"]
    assert table.loc["min bulk ESS", "where"] == "sigma"


def test_jax_samplers_tree_depth_counts_draws_at_depth_ten(model):
    """numpyro and blackjax report a tree depth (1 + log2 of the steps) but no flag."""
    fit = make_fit(model)
    stats = fit.idata.sample_stats.drop_vars("reached_max_treedepth")
    depth = np.full((2, 300), 4)
    depth[1, :7] = 10
    stats["tree_depth"] = (("chain", "draw"), depth)
    fit = mb.Fit(model, az.InferenceData(posterior=fit.posterior, sample_stats=stats))
    row = fit.diagnostics().set_index("check").loc["draws at max tree depth"]
    assert row["value"] == 7 and not row["ok"]

"""Centered or non-centered sampled factors in marginal models (no sampling)."""

import numpy as np
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes.graph.parameterization import CENTER_ABOVE, centered_factors, data_weight


def simulated(n_per_group, sd, sigma=1.0, seed=1):
    return mb.simulate(
        "y ~ x + (1 | g)",
        groups={"g": 400},
        n_per_group=n_per_group,
        fixed={"Intercept": 1.0, "x": 0.5},
        sd={"g": {"Intercept": sd}},
        sigma=sigma,
        random_seed=seed,
    )


@pytest.mark.parametrize("n, sd", [(20, 0.5), (4, 0.3), (10, 1.0)])
def test_data_weight_estimates_n_tau2_over_sigma2(n, sd):
    """kappa = n tau^2 / sigma^2 against the simulation's truth (400 levels)."""
    model = mb.Model("y ~ x + (1 | g)", simulated(n, sd))
    kappa = data_weight(model.design, model.design.block("g"))
    assert kappa == pytest.approx(n * sd**2, rel=0.25)


def test_only_well_informed_factors_are_centered():
    data = simulated(20, 0.5)  # kappa 5
    data["h"] = np.random.default_rng(3).integers(0, 300, len(data)).astype(str)  # no effect
    model = mb.Model("y ~ x + (1 | g) + (1 | h) + (0 + x | g2)", data.assign(g2=data.g))
    design = model.design
    assert data_weight(design, design.block("h")) < CENTER_ABOVE
    assert data_weight(design, design.block("g2")) == 0.0  # no intercept: left non-centered
    assert centered_factors(design, list(design.blocks)) == {"g"}


def test_centered_factor_in_a_marginal_model_is_a_normal_variable():
    """h (300 levels) is integrated; g stays sampled, centered: r_g ~ N(0, sd_g) is a free
    variable with that log density, and there is no z_g."""
    data = simulated(20, 0.5)
    data["h"] = np.random.default_rng(3).integers(0, 300, len(data)).astype(str)
    model = mb.Model("y ~ x + (1 | g) + (1 | h)", data)
    pm_model = model.marginal_model("h")
    names = [v.name for v in pm_model.free_RVs]
    assert "r_g" in names and "z_g" not in names
    point = pm_model.initial_point()
    rng = np.random.default_rng(0)
    point["r_g"] = rng.normal(0, 0.4, point["r_g"].shape)
    point["sd_g_log__"] = np.log([0.7])
    term = pm_model.logp(vars=[pm_model["r_g"]], sum=True)
    logp = pm_model.compile_fn(term, inputs=pm_model.value_vars, on_unused_input="ignore")(point)
    expected = stats.norm(0, 0.7).logpdf(point["r_g"]).sum()
    np.testing.assert_allclose(logp, expected)

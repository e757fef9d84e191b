"""Centered or non-centered sampled factors in marginal models (no sampling)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from mixedbayes.graph import model as graph_model
from mixedbayes.graph.parameterization import (
    CENTER_ABOVE,
    centered_factors,
    data_weight,
    level_constant_columns,
)


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
    assert set(centered_factors(design, list(design.blocks))) == {"g"}


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


def test_weights_count_as_rows():
    """A row of weight 2 weighs as much as two copies of it (weighted least squares and
    weighted level means), so the two models choose alike."""
    data = simulated(3, 0.5).iloc[:600]  # 200 levels of 3 rows
    weighted = mb.Model("y | weights(w) ~ x + (1 | g)", data.assign(w=2.0)).design
    twice = mb.Model("y ~ x + (1 | g)", pd.concat([data, data])).design
    unweighted = mb.Model("y ~ x + (1 | g)", data).design
    kappa = data_weight(weighted, weighted.block("g"))
    assert kappa == pytest.approx(data_weight(twice, twice.block("g")), rel=1e-9)
    assert kappa > 2 * data_weight(unweighted, unweighted.block("g"))


@pytest.mark.parametrize("per, centered", [(40, True), (2, False)])
def test_glmm_factors_follow_the_same_rule(per, centered):
    """A logistic model's effects are all sampled: levels with 40 rows each (kappa about
    40 * 1 * 0.2 = 8 by the delta method) are centered, levels with 2 are not."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(150), per)
    eta = 0.3 + rng.normal(0, 1.0, 150)[g]
    data = pd.DataFrame({"hit": (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(int),
                         "g": g.astype(str)})  # fmt: skip
    model = mb.Model("hit ~ 1 + (1 | g)", data, family="bernoulli")
    names = [v.name for v in model.pymc_model.free_RVs]  # centered with the intercept: u_g
    assert ("u_g" in names, "z_g" in names) == (centered, not centered)


def test_nested_factors_stay_non_centered():
    """Broods in locations, both data-rich (Poisson counts of about 20): the data fix each
    brood's effect plus its location's, so neither is centered; crossed factors may be."""
    rng = np.random.default_rng(8)
    brood = np.repeat(np.arange(120), 4)
    location = brood // 2  # two broods per location
    item = np.tile(np.arange(4), 120)  # crossed with both
    eta = 3.0 + rng.normal(0, 0.8, 60)[location] + rng.normal(0, 0.8, 120)[brood]
    data = pd.DataFrame(
        {"n": rng.poisson(np.exp(eta)), "brood": brood, "loc": location, "item": item}
    )
    data[["brood", "loc", "item"]] = data[["brood", "loc", "item"]].astype(str)
    design = mb.Model("n ~ 1 + (1 | brood) + (1 | loc) + (1 | item)", data, family="poisson").design
    assert min(data_weight(design, design.block(g)) for g in ("brood", "loc")) > CENTER_ABOVE
    assert set(centered_factors(design, list(design.blocks))) <= {"item"}
    alone = mb.Model("n ~ 1 + (1 | brood)", data, family="poisson").design
    assert set(centered_factors(alone, list(alone.blocks))) == {"brood"}


def crossed_logistic(seed=6):
    """Participants (g, with a sex) crossed with items (h), 40 rows per participant."""
    rng = np.random.default_rng(seed)
    g, h = np.repeat(np.arange(120), 40), np.tile(np.arange(40), 120)
    sex = rng.integers(0, 2, 120)
    eta = -0.2 + 0.8 * sex[g] + rng.normal(0, 1.2, 120)[g] + rng.normal(0, 1.0, 40)[h]
    x = rng.normal(size=g.size)
    hit = rng.random(g.size) < 1 / (1 + np.exp(-(eta + 0.5 * x)))
    return pd.DataFrame({"hit": hit.astype(int), "x": x, "sex": np.where(sex[g], "M", "F"),
                         "g": g.astype(str), "h": h.astype(str)})  # fmt: skip


def test_level_constant_columns_move_into_the_level_means():
    """The intercept goes to the items' level means (the more data-rich factor: 120 rows
    per level against 40), sex (constant within participants) to the participants', the
    row covariate x stays."""
    model = mb.Model("hit ~ sex + x + (1 | g) + (1 | h)", crossed_logistic(), family="bernoulli")
    design = model.design
    g, h = design.block("g"), design.block("h")
    centered = centered_factors(design, list(design.blocks))
    assert list(centered) == ["h", "g"]  # the most data-rich first
    assert data_weight(design, h) > data_weight(design, g)
    X = np.column_stack([np.ones(design.n_obs), design.X[:, 1:]])
    moved = level_constant_columns(design, X, [design.block(name) for name in centered])
    assert moved["h"][0] == [0] and moved["g"][0] == [1]  # Intercept; sex[T.M]
    np.testing.assert_array_equal(moved["g"][1][g.index], X[:, [1]])
    np.testing.assert_array_equal(moved["h"][1][h.index], X[:, [0]])
    names = [v.name for v in model.pymc_model.free_RVs]
    assert {"u_g", "u_h"} <= set(names) and not {"r_g", "r_h"} & set(names)


def test_level_means_leave_the_log_density_unchanged(monkeypatch):
    """Sampling u_g = r_g + level_X @ b is a shift: at corresponding points the log density
    equals that of the model without the move, and r_g is recorded as u_g minus the mean."""
    data = crossed_logistic()
    moved = mb.Model("hit ~ sex + x + (1 | g) + (1 | h)", data, family="bernoulli").pymc_model
    monkeypatch.setattr(graph_model, "level_means", lambda design, linear, blocks, eta: (eta, {}))
    plain = mb.Model("hit ~ sex + x + (1 | g) + (1 | h)", data, family="bernoulli").pymc_model
    assert "r_g" in [v.name for v in plain.free_RVs]
    rng = np.random.default_rng(2)
    point = plain.initial_point()
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in point.items()}
    sex = (data.groupby("g", sort=False)["sex"].first() == "M").to_numpy(float)
    levels = list(plain.coords["g"])
    sex = sex[[list(data.groupby("g", sort=False).groups).index(level) for level in levels]]
    b = dict(zip(plain.coords["fixed_term"], point["b"], strict=True))
    sex_mean = data["sex"].eq("M").mean()  # slopes are fitted on centered predictors
    shifted = {k: v for k, v in point.items() if k not in ("r_g", "r_h")} | {
        "u_g": point["r_g"] + b["sex[T.M]"] * (sex - sex_mean)[:, None],
        "u_h": point["r_h"] + point["Intercept_centered"],
    }
    logp_plain = plain.compile_logp()(point)
    np.testing.assert_allclose(moved.compile_logp()(shifted), logp_plain, rtol=1e-10)
    r = moved.replace_rvs_by_values([moved["r_g"], moved["r_h"]])
    r = moved.compile_fn(r, inputs=moved.value_vars, on_unused_input="ignore")(shifted)
    np.testing.assert_allclose(r[0], point["r_g"], atol=1e-12)
    np.testing.assert_allclose(r[1], point["r_h"], atol=1e-12)


def test_factors_with_random_slopes_stay_non_centered():
    """Intercepts spread widely over 40 rows per level (kappa about 8 by the delta method):
    alone they are centered (with the intercept in their mean, u_g); with a random slope
    the factor stays non-centered (z_g)."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(150), 40)
    x = rng.normal(size=g.size)
    eta = 0.3 + (0.5 + rng.normal(0, 0.5, 150)[g]) * x + rng.normal(0, 1.0, 150)[g]
    hit = (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    data = pd.DataFrame({"hit": hit, "x": x, "g": g.astype(str)})
    slopes = mb.Model("hit ~ x + (1 + x | g)", data, family="bernoulli")
    assert data_weight(slopes.design, slopes.design.block("g")) > CENTER_ABOVE
    assert "z_g" in [v.name for v in slopes.pymc_model.free_RVs]
    alone = mb.Model("hit ~ x + (1 | g)", data, family="bernoulli")
    assert "u_g" in [v.name for v in alone.pymc_model.free_RVs]


@pytest.mark.parametrize(
    "formula, family",
    [
        ("hit ~ sex + x + offset(np.log(t)) + (1 | g) + (1 | h)", "poisson"),
        ("hit ~ sex + x + (1 | g) + (1 | h)", "zero_inflated_poisson"),
        ("hit ~ sex + x + (1 | g) + (1 | h)", "hurdle_poisson"),
    ],
)
def test_level_means_are_a_shift_for_other_families(monkeypatch, formula, family):
    """At any point of the model with level means, its log density equals the plain
    model's at the same point with each u_g replaced by the r_g it records."""
    data = crossed_logistic()
    data["t"] = np.where(data.x > 0, 2.0, 1.0)
    moved = mb.Model(formula, data, family=family).pymc_model
    us = [v.name for v in moved.free_RVs if v.name.startswith("u_")]
    assert us  # some factor takes in level means
    monkeypatch.setattr(graph_model, "level_means", lambda design, linear, blocks, eta: (eta, {}))
    plain = mb.Model(formula, data, family=family).pymc_model
    rng = np.random.default_rng(4)
    point = moved.initial_point()
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in point.items()}
    rs = moved.replace_rvs_by_values([moved["r_" + u[2:]] for u in us])
    rs = moved.compile_fn(rs, inputs=moved.value_vars, on_unused_input="ignore")(point)
    plain_point = {k: v for k, v in point.items() if k not in us}
    plain_point |= {"r_" + u[2:]: r for u, r in zip(us, rs, strict=True)}
    np.testing.assert_allclose(
        moved.compile_logp()(point), plain.compile_logp()(plain_point), rtol=1e-10
    )


def test_unordered_categories_stay_non_centered():
    """A categorical response's codes are labels, so no analysis of variance on them
    decides a factor's form: every factor stays non-centered, as in the other categories'
    linear predictors."""
    data = crossed_logistic()
    data["cat"] = np.where(data.hit == 1, "b", np.where(data.x > 0.5, "c", "a"))
    model = mb.Model("cat ~ sex + x + (1 | g) + (1 | h)", data, family="categorical")
    assert centered_factors(model.design, list(model.design.blocks))  # by the codes
    names = [v.name for v in model.pymc_model.free_RVs]
    assert {"z_g", "z_h"} <= set(names) and not any(n.startswith(("u_", "r_")) for n in names)

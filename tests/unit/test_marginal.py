"""Random effects integrated out of Gaussian models: density, gradient, conditional draws.

The references are independent of the Woodbury / determinant-lemma algebra under test:
dense multivariate normal densities (scipy) and dense Gaussian conditioning.
"""

import arviz as az
import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from scipy import stats

import mixedbayes as mb
from mixedbayes.build.marginal import draw_random_effects, marginal_choice
from mixedbayes.build.marginal_op import MarginalGaussian


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    sizes = [1, 2, 3, 5, 8, 4]  # uneven, one level with a single row
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    n = g.size
    return pd.DataFrame(
        {
            "y": rng.normal(3, 1, n),
            "x": rng.normal(0, 1, n),
            "w": rng.uniform(1, 2, n),
            "g": g,
            "h": rng.choice(["a", "b", "c"], n),
        }
    )


def evaluate(pm_model, outputs, point):
    outputs = pm_model.replace_rvs_by_values(outputs)
    fn = pm_model.compile_fn(outputs, inputs=pm_model.value_vars, on_unused_input="ignore")
    return fn(point)


def random_point(pm_model, seed=3):
    rng = np.random.default_rng(seed)
    start = pm_model.initial_point()
    return {k: v + rng.normal(0, 0.4, size=np.shape(v)) for k, v in start.items()}


def dense_marginal_logp(model, params, rest):
    """sum over levels of log N(y_g - rest_g; 0, sigma^2 I + Z_g S Z_g')."""
    block = model.design.block("g")
    sd, cor, sigma = params
    S = np.outer(sd, sd) * cor
    e = model.design.y - rest
    total = 0.0
    for level in range(block.n_levels):
        rows = block.index == level
        Z = block.Z[rows]
        cov = sigma**2 * np.eye(rows.sum()) + Z @ S @ Z.T
        total += stats.multivariate_normal(np.zeros(rows.sum()), cov).logpdf(e[rows])
    return total


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + (1 + x | g)",  # sums from data statistics
        "y ~ x + offset(np.log(w)) + (1 + x | g)",  # ... with an offset
        "y ~ x + (1 + x | g) + (1 | h)",  # crossed: residuals row by row
        "y ~ 0 + x + (1 | g)",  # no intercept, one coefficient
    ],
)
def test_marginal_density_matches_dense_normal(data, formula):
    model = mb.Model(formula, data)
    pm_model = model.marginal_model("g")
    point = random_point(pm_model)
    assert not any(v.name in ("z_g", "r_g") for v in pm_model.free_RVs + pm_model.deterministics)
    cor = pm_model["cor_g"] if "cor_g" in pm_model.named_vars else pt.eye(1)
    names = [pm_model["sd_g"], cor, pm_model["sigma"], pm_model.potentials[0]]
    slopes = pm_model["b"] if "b" in pm_model.named_vars else pt.zeros(0)
    intercept = pm_model["Intercept"] if "Intercept" in pm_model.named_vars else pt.zeros(())
    names += [intercept, slopes]
    if "r_h" in pm_model.named_vars:
        names.append(pm_model["r_h"])
    sd, cor, sigma, potential, intercept, b, *r_h = evaluate(pm_model, names, point)
    design = model.design
    X = design.X[:, [t != "Intercept" for t in design.fixed_terms]]
    rest = intercept + X @ b
    if design.offset is not None:
        rest = rest + design.offset
    if r_h:
        rest = rest + r_h[0][design.block("h").index, 0]
    expected = dense_marginal_logp(model, (np.atleast_1d(sd), cor, sigma), rest)
    np.testing.assert_allclose(potential, expected, rtol=1e-8)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_gradient_of_the_marginal_op(k):
    rng = np.random.default_rng(k)
    levels = 7
    ztz = np.stack([(z := rng.normal(size=(4, k))).T @ z for _ in range(levels)])
    L = np.tril(rng.normal(size=(k, k))) + 2 * np.eye(k)
    op = MarginalGaussian(ztz, 28)
    pytensor.gradient.verify_grad(
        lambda L_, sigma_, s_, ee_: op(pt.tril(L_), sigma_, s_, ee_)[0],
        [L, np.array(0.7), rng.normal(size=(levels, k)), np.array(40.0)],
        rng=rng,
    )


def test_conditional_draws_have_the_dense_posterior_mean_and_covariance(data):
    """One parameter draw repeated: r_g's draws ~ N(S Z'V^-1 e, S - S Z'V^-1 Z S)."""
    model = mb.Model("y ~ x + (1 + x | g) + (1 | h)", data)
    design, block = model.design, model.design.block("g")
    n_draws = 4000
    sd, cor = np.array([0.8, 0.5]), np.array([[1, 0.4], [0.4, 1]])
    params = {
        "Intercept": 2.9,
        "b": np.array([0.3]),
        "sigma": 0.6,
        "sd_g": sd,
        "cor_g": cor,
        "r_h": np.array([[0.2], [-0.1], [0.3]]),
    }
    dims = {
        "b": ["fixed_term"],
        "sd_g": ["g__coef"],
        "cor_g": ["g__coef", "g__coef_"],
        "r_h": ["h", "h__coef"],
    }
    posterior = xr.Dataset(
        {
            name: (
                ["chain", "draw", *dims.get(name, [])],
                np.broadcast_to(v, (1, n_draws, *np.shape(v))),
            )
            for name, v in params.items()
        },
        coords={"fixed_term": ["x"], "g__coef": ["Intercept", "x"], "h": ["a", "b", "c"]},
    )
    draws = draw_random_effects(design, "g", posterior, random_seed=5)
    assert draws.dims == ("chain", "draw", "g", "g__coef")
    assert list(draws["g"].values) == list(block.levels)

    S = np.outer(sd, sd) * cor
    e = design.y - 2.9 - 0.3 * design.X[:, 1] - params["r_h"][design.block("h").index, 0]
    for level in (0, 4):
        rows = block.index == level
        Z = block.Z[rows]
        V = 0.6**2 * np.eye(rows.sum()) + Z @ S @ Z.T
        mean = S @ Z.T @ np.linalg.solve(V, e[rows])
        cov = S - S @ Z.T @ np.linalg.solve(V, Z @ S)
        sample = draws.isel(chain=0, g=level).values
        se = np.sqrt(np.diag(cov) / n_draws)
        assert np.all(np.abs(sample.mean(axis=0) - mean) < 4 * se)
        np.testing.assert_allclose(np.cov(sample.T), cov, rtol=0.1, atol=0.01 * cov.max())


def test_which_factor_is_integrated(data):
    crossed = mb.Model("y ~ x + (1 | g) + (1 + x | h)", data)
    gaussian = crossed.family
    assert marginal_choice(crossed.design, gaussian, "auto") == "g"  # most levels: 6 > 3
    assert marginal_choice(crossed.design, gaussian, "h") == "h"
    assert marginal_choice(crossed.design, gaussian, False) is None
    with pytest.raises(mb.SamplingError, match="grouping factor.*g, h.*'school'"):
        marginal_choice(crossed.design, gaussian, "school")
    data = data.assign(yes=(data.y > 3).astype(int))
    logistic = mb.Model("yes ~ x + (1 | g)", data, family="bernoulli")
    assert marginal_choice(logistic.design, logistic.family, "auto") is None
    with pytest.raises(mb.SamplingError, match="bernoulli"):
        marginal_choice(logistic.design, logistic.family, True)
    with pytest.raises(mb.SamplingError, match="bernoulli"):
        logistic.fit(marginalize="g")


@pytest.mark.slow
def test_marginal_fit_posterior_has_the_random_effects(data):
    """The sampled variables, and r_g added afterwards (a very short run)."""
    model = mb.Model("y ~ x + (1 + x | g)", data)
    fit = model.fit(draws=20, tune=20, chains=1, random_seed=1, progressbar=False)
    posterior = fit.idata.posterior
    assert posterior.attrs["marginalized"] == "g"
    assert "z_g" not in posterior and posterior["r_g"].shape == (1, 20, 6, 2)
    assert isinstance(fit.idata, az.InferenceData)
    assert fit.ranef().shape[0] == 12


def test_starting_points_jitter_everything_but_the_slopes(data):
    """Slopes on a large-scale predictor must not start U(-1, 1) away from their prior."""
    from mixedbayes.sampling import starting_points

    model = mb.Model("y ~ x + I(x * 100) + (1 | g)", data, family="gaussian").pymc_model
    points = starting_points(model, 3, random_seed=4)
    default = model.initial_point()
    for point in points:
        np.testing.assert_array_equal(point["b"], default["b"])
    assert len({float(p["Intercept_centered"]) for p in points}) == 3  # jittered per chain
    again = starting_points(model, 3, random_seed=4)
    assert all(
        float(a["sigma"]) == float(b["sigma"]) and a["sigma"] > 0  # untransformed
        for a, b in zip(points, again, strict=True)
    )


def test_starting_points_are_accepted_as_initvals_with_a_cholesky_factor(data):
    """pm.sample converts initvals by name; transformed LKJ values once broke that."""
    from pymc.initial_point import make_initial_point_fn

    from mixedbayes.sampling import starting_points

    data = data.assign(yes=(data.y > data.y.median()).astype(int))
    model = mb.Model("yes ~ x + (1 + x | g)", data, family="bernoulli").pymc_model
    point = starting_points(model, 2, random_seed=1)[1]
    start = make_initial_point_fn(model=model, overrides=point)(0)  # what pm.sample does
    assert np.isfinite(model.compile_logp()(start))

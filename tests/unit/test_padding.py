"""Padded rows and levels of sampled models: they add exactly nothing, and nearby sizes share
one program."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from conftest import jittered_point
from mixedbayes.design.padding import pad_design, paddable, padded_size
from mixedbayes.graph import build_model
from mixedbayes.sampling import programs

jax = pytest.importorskip("jax")


def frame(seed: int, groups: int = 17, per: int = 3, items: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    eta = -0.3 + 0.6 * x + rng.normal(size=groups)[g]
    return pd.DataFrame(
        {
            "y": rng.normal(eta, 0.8),
            "hit": (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(int),
            "count": rng.poisson(np.exp(0.2 + 0.3 * x)),
            "k": rng.binomial(6, 1 / (1 + np.exp(-eta))),
            "n": 6,
            "rating": rng.integers(0, 4, g.size),
            "w": rng.uniform(0.5, 2.0, g.size),
            "t": rng.uniform(1.0, 3.0, g.size),
            "x": x,
            "g": [f"s{i}" for i in g],
            "item": [f"i{i}" for i in rng.integers(0, items, g.size)],
        }
    )


def test_padded_sizes_are_eighth_octave_steps():
    assert [padded_size(n) for n in (1, 7, 16)] == [1, 7, 16]
    assert [padded_size(n) for n in (17, 19, 33, 316, 7584, 8192)] == [18, 20, 36, 320, 7680, 8192]
    sizes = [padded_size(n) for n in range(1, 20_000)]
    for n, size in enumerate(sizes, start=1):
        assert n <= size <= max(16, n * 9 / 8) and padded_size(size) == size
    assert len(set(sizes[1023:2048])) == 9  # 1,024 .. 2,048: nine programs


MODELS = [
    ("hit ~ x + (1 + x | g)", "bernoulli"),
    ("count ~ x + offset(np.log(t)) + (1 | g) + (1 | item)", "poisson"),
    ("k | trials(n) ~ x + (1 | g)", "binomial"),
    ("y | weights(w) ~ x + (1 | g)", "gaussian"),
    (mb.bf("y ~ x + (1 | g)", sigma="~ x + (1 | g)"), "gaussian"),
    ("count ~ x + (1 | g)", "zero_inflated_poisson"),
    ("rating ~ x + (1 | g)", "cumulative"),
    ("rating ~ x + (1 | g)", "categorical"),
    (mb.bf("y ~ x + (1 |p| g)", sigma="~ (1 |p| g)"), "gaussian"),  # correlated across dpars
    ("y ~ s(x, k = 5) + (1 | g)", "gaussian"),  # a smooth's one level is not padded
]
CENTERED = ("k | trials(n) ~ x + (1 | g)", "binomial")  # data-rich levels: u_g ~ N(Intercept, sd)


def padded_point(padded_model, point: dict, rng) -> dict:
    """``point`` with random values for the padded entries (at the ends of their axes)."""
    out = {}
    for name, value in padded_model.initial_point().items():
        real = np.asarray(point[name])
        extra = rng.normal(size=value.shape)
        extra[tuple(slice(s) for s in real.shape)] = real
        out[name] = extra
    return out


def gradients(pm_model, point: dict) -> dict:
    """``d log p / d value`` at ``point``, by value variable, in each value's shape."""
    flat = pm_model.compile_dlogp()(point)
    sizes = [np.size(point[v.name]) for v in pm_model.value_vars]
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return {
        v.name: part.reshape(np.shape(point[v.name]))
        for v, part in zip(pm_model.value_vars, parts, strict=True)
    }


def padded_prior(name: str, values: np.ndarray, point: dict):
    """Padded levels' prior log densities, their gradient, and its gradient in the sd's
    log: standard normal for a non-centered ``z_g`` (no sd), ``N(0, sd_g)`` for a centered
    ``r_g`` (one coefficient), ``N(Intercept, sd_g)`` for a centered ``u_g`` holding its
    levels' means (a padded level's mean is the intercept alone)."""
    sd = 1.0 if name.startswith("z_") else float(np.exp(point[f"sd_{name[2:]}_log__"][0]))
    e = values - (point["Intercept_centered"] if name.startswith("u_") else 0.0)
    return stats.norm.logpdf(e, scale=sd), -e / sd**2, ((e / sd) ** 2 - 1).sum()


@pytest.mark.parametrize("formula, family", MODELS)
def test_padding_adds_exactly_the_padded_levels_prior_terms(formula, family):
    model = mb.Model(formula, frame(1), family=family)
    design = model.design
    assert paddable(design)
    padded = pad_design(design)
    assert padded.n_obs == padded_size(design.n_obs) > design.n_obs
    real, pad = model.pymc_model, build_model(padded, model.priors, model.family)
    rng = np.random.default_rng(0)
    logp, pad_logp = real.compile_logp(), pad.compile_logp()
    for seed in range(3):
        point = jittered_point(real, seed)
        other = padded_point(pad, point, rng)
        lengthened = [n for n in point if np.shape(point[n]) != np.shape(other[n])]
        assert lengthened  # levels padded
        extra = sum(
            padded_prior(n, other[n], point)[0].sum() - padded_prior(n, point[n], point)[0].sum()
            for n in lengthened
        )
        np.testing.assert_allclose(pad_logp(other), logp(point) + extra, rtol=1e-12)
        # the gradient: the real entries' as without padding, a padded level's its prior's
        unpadded, full = gradients(real, point), gradients(pad, other)
        for name in lengthened:  # a centered factor's sd (and mean): padded levels' terms
            if name.startswith(("r_", "u_")):
                _, grad, sd_grad = padded_prior(name, other[name][len(point[name]) :], point)
                unpadded[f"sd_{name[2:]}_log__"] += sd_grad
                if name.startswith("u_"):
                    unpadded["Intercept_centered"] -= grad.sum()
        for name, g in unpadded.items():
            inside = tuple(slice(s) for s in np.shape(g))
            np.testing.assert_allclose(full[name][inside], g, rtol=1e-9, atol=1e-12)
            if name in lengthened:
                outside = np.ones(full[name].shape, bool)
                outside[inside] = False
                expected = padded_prior(name, other[name], point)[1][outside]
                np.testing.assert_allclose(full[name][outside], expected, rtol=1e-12)
        centered = {n for n in lengthened if n.startswith(("r_", "u_"))}
        assert centered == ({"u_g"} if (formula, family) == CENTERED else set())


def test_padded_rows_weigh_nothing_and_real_rows_keep_their_weights():
    model = mb.Model("hit ~ x + (1 | g)", frame(1), family="bernoulli")
    padded = pad_design(model.design)
    assert padded.n_padding > 0 and padded.X[padded.real_rows].shape == model.design.X.shape
    assert padded.additions.weights[padded.real_rows].tolist() == [1.0] * model.design.n_obs
    assert not padded.additions.weights[model.design.n_obs :].any()


@pytest.mark.parametrize("formula", ["y ~ x + ar(gr = g) + (1 | g)", "y | cens(c) ~ x + (1 | g)"])
def test_rows_that_enter_otherwise_are_not_padded(formula):
    data = frame(1).assign(c="none")
    assert not paddable(mb.Model(formula, data).design)


def value_point(pm_model, posterior, chain: int, draw: int) -> dict:
    """One draw of ``posterior`` on the sampler's scale, by value-variable name."""
    point = {}
    for rv in pm_model.free_RVs:
        value = posterior[rv.name].isel(chain=chain, draw=draw).values
        transform = pm_model.rvs_to_transforms[rv]
        if transform is not None:
            value = transform.forward(value, *rv.owner.inputs).eval()
        point[pm_model.rvs_to_values[rv].name] = value
    return point


def test_nearby_sizes_share_one_sampler_and_keep_the_real_posterior():
    """19 and 20 groups of 4 rows (both padded to 20 levels and 80 rows): one compiled
    program fits both; the draws have the data's own levels, and ``lp`` is the unpadded
    model's log density at each draw."""
    programs.clear_cache()
    settings = dict(draws=60, tune=60, chains=2, random_seed=3, progressbar=False)
    models = [
        mb.Model("hit ~ x + (1 | g)", frame(seed, groups=n, per=4), family="bernoulli")
        for seed, n in ((1, 19), (2, 20))
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = [model.fit(**settings) for model in models]
    convergence = [w for w in caught if issubclass(w.category, mb.ConvergenceWarning)]
    assert convergence and {w.filename for w in convergence} == {__file__}  # the caller's line
    assert programs.cached_programs() == 2  # the log density and the transform
    for model, fit in zip(models, fits, strict=True):
        posterior = fit.idata.posterior
        assert list(posterior["g"].values) == list(model.design.block("g").levels)
        assert posterior["z_g"].shape[2:] == (model.design.block("g").n_levels, 1)
        logp = model.pymc_model.compile_logp()
        for draw in (0, 59):
            lp = float(fit.idata.sample_stats["lp"].isel(chain=1, draw=draw))
            point = value_point(model.pymc_model, posterior, 1, draw)
            np.testing.assert_allclose(lp, logp(point), rtol=1e-8)


def test_lp_is_the_sampled_models_log_density_without_padding_too():
    """A Gaussian model with its factor integrated out (levels padded inside the density,
    no padded copy): ``lp`` is the marginal model's log density, as PyMC's NUTS reports
    it (numpyro's potential energy is its negative)."""
    model = mb.Model("y ~ x + (1 | g)", frame(1))
    fit = model.fit(draws=20, tune=20, chains=2, random_seed=1, progressbar=False)
    marginal = model.marginal_model("g")
    logp = marginal.compile_logp()
    for draw in (0, 19):
        lp = float(fit.idata.sample_stats["lp"].isel(chain=0, draw=draw))
        point = value_point(marginal, fit.idata.posterior, 0, draw)
        np.testing.assert_allclose(lp, logp(point), rtol=1e-8)

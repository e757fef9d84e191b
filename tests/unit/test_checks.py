"""ranef/coef, ICC, R², LOO, ppc, compare and save/load on prior draws as a stand-in posterior."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import mixedbayes as mb
from mixedbayes import FamilyError


def fake_fit(model, draws=200, seed=1):
    prior = model.prior_predictive(draws=draws, random_seed=seed).prior
    posterior = prior.isel(chain=[0, 0]).assign_coords(chain=[0, 1])  # two "chains"
    return mb.Fit(model, az.InferenceData(posterior=posterior))


def double(x):
    return 2 * x


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    n = 80
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "f": pd.Categorical(rng.choice(["lo", "hi"], size=n), categories=["lo", "hi"]),
            "g": rng.choice(list("ABCDE"), size=n),
            "h": rng.choice([10, 20, 30], size=n),
            "ok": rng.random(n) < 0.5,
        }
    )


@pytest.fixture(scope="module")
def fit(data):
    return fake_fit(mb.Model("y ~ x + f + (1 + x | g) + (0 + z | h)", data))


def flat(fit, name, **sel):
    array = fit.posterior[name].sel(**sel) if sel else fit.posterior[name]
    return array.stack(s=("chain", "draw")).transpose("s", ...).values


def test_ranef_and_coef(fit):
    ranef = fit.ranef().set_index(["group_var", "term", "group"])
    coef = fit.coef().set_index(["group_var", "term", "group"])
    assert list(fit.ranef().columns) == [
        "group_var",
        "term",
        "group",
        "value",
        "se",
        "lower",
        "upper",
        "dpar",
    ]
    assert set(fit.ranef()["dpar"]) == {"mu"}
    assert len(ranef) == 5 * 2 + 3
    r = flat(fit, "r_g", g="C", g__coef="x")
    assert ranef.loc[("g", "x", "C"), "value"] == pytest.approx(r.mean())
    assert ranef.loc[("g", "x", "C"), "se"] == pytest.approx(r.std(ddof=1))
    total = r + flat(fit, "b", fixed_term="x")
    assert coef.loc[("g", "x", "C"), "value"] == pytest.approx(total.mean())
    assert coef.loc[("g", "x", "C"), "lower"] == pytest.approx(np.quantile(total, 0.025))
    intercept = flat(fit, "r_g", g="A", g__coef="Intercept") + flat(fit, "Intercept")
    assert coef.loc[("g", "Intercept", "A"), "value"] == pytest.approx(intercept.mean())
    # z has no fixed effect: its coefficients are the random effects themselves
    pd.testing.assert_series_equal(coef.loc["h"]["value"], ranef.loc["h"]["value"])


def test_icc_gaussian_and_latent(fit, data):
    model = mb.Model("y ~ x + (1 | g) + (1 | h)", data)
    fit_ri = fake_fit(model)
    icc = fit_ri.icc().set_index("group")
    tau_g, tau_h = flat(fit_ri, "sd_g")[:, 0] ** 2, flat(fit_ri, "sd_h")[:, 0] ** 2
    share = tau_g / (tau_g + tau_h + flat(fit_ri, "sigma") ** 2)
    assert icc.loc["g", "estimate"] == pytest.approx(share.mean())
    assert icc.loc["g", "upper"] == pytest.approx(np.quantile(share, 0.975))
    logit = fake_fit(mb.Model("ok ~ x + (1 | g)", data, family="bernoulli"))
    tau = flat(logit, "sd_g")[:, 0] ** 2
    expected = (tau / (tau + np.pi**2 / 3)).mean()
    assert logit.icc()["estimate"].iloc[0] == pytest.approx(expected)
    assert set(fit.icc()["group"]) == {"g"}  # h has only a slope
    counts = fake_fit(mb.Model("h ~ x + (1 | g)", data, family="poisson"))
    with pytest.raises(FamilyError, match="icc.*'poisson'"):
        counts.icc()


def test_r2_definition(fit, data):
    r2 = fit.r2()
    y = data["y"].to_numpy()
    for name, include in (("marginal", False), ("conditional", True)):
        mean = fit.predict(include_random=include, draws=True)
        ratio = mean.var(axis=1) / (mean.var(axis=1) + (y - mean).var(axis=1))
        assert r2.loc[name, "estimate"] == pytest.approx(ratio.mean())
        assert r2.loc[name, "lower"] == pytest.approx(np.quantile(ratio, 0.025))


@pytest.mark.parametrize(
    "formula,family",
    [
        ("y ~ x + f + (1 + x | g)", "gaussian"),
        ("ok ~ x + (1 | g)", "bernoulli"),
        ("h ~ x + (1 | g)", "poisson"),
    ],
)
def test_log_likelihood_matches_pymc(data, formula, family):
    """Our NumPy pointwise log-likelihood equals PyMC's on the same draws."""
    model = mb.Model(formula, data, family=family)
    fit = fake_fit(model, draws=50)
    ours = mb.results.checks.with_log_likelihood(fit).log_likelihood
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm.compute_log_likelihood(
            az.InferenceData(posterior=fit.posterior), progressbar=False
        ).log_likelihood
    name = list(theirs.data_vars)[0]
    np.testing.assert_allclose(ours[name].values, theirs[name].values, rtol=1e-6, atol=1e-8)


def test_loo_waic_compare(fit, data):
    loo = fit.loo()
    assert loo.n_data_points == 80 and np.isfinite(loo.elpd_loo)
    waic = fit.waic()
    assert np.isfinite(waic["elpd_waic"])
    assert "elpd_waic" in str(waic)  # arviz 0.23 cannot print its own non-pointwise WAIC
    other = fake_fit(mb.Model("y ~ x + (1 | g)", data), seed=2)
    table = mb.compare({"slopes": fit, "intercepts": other})
    assert set(table.index) == {"slopes", "intercepts"}
    assert table["rank"].tolist() == [0, 1]
    assert table["elpd_loo"].is_monotonic_decreasing
    fewer = fake_fit(mb.Model("y ~ x + (1 | g)", data.iloc[:60]))
    with pytest.raises(ValueError, match="different numbers of observations"):
        mb.compare({"a": fit, "b": fewer})


def test_ppc_and_prior_predictive(fit, data):
    ppc = fit.ppc(random_seed=1)
    assert ppc.posterior_predictive["y"].shape == (2, 200, 80)
    np.testing.assert_array_equal(ppc.observed_data["y"], data["y"])
    assert "posterior_predictive" not in fit.idata.groups()  # a copy
    prior = fit.model.prior_predictive(draws=30, random_seed=1)
    assert prior.prior_predictive["y"].shape == (1, 30, 80)
    np.testing.assert_array_equal(prior.observed_data["y"], data["y"])
    o = pd.Categorical(np.digitize(data["y"], [-0.5, 0.6]), ordered=True)
    ordinal = mb.Model("o ~ x + (1 | g)", data.assign(o=o), family="cumulative")
    draws = ordinal.prior_predictive(draws=30, random_seed=1)
    assert (draws.prior["Intercept"].diff("threshold") > 0).all()  # ordered thresholds
    assert set(np.unique(draws.prior_predictive["o"])) <= {0.0, 1.0, 2.0}
    counts = mb.Model("h ~ x + (1 | g)", data, family="poisson")
    with pytest.warns(UserWarning, match="simulated counts are NaN: their mean exceeds"):
        draws = counts.prior_predictive(draws=500, random_seed=1)  # default priors are wide
    simulated = draws.prior_predictive["h"].values
    eta = draws.prior["Intercept"].values[..., None] + 0 * simulated  # broadcast shape
    assert np.isnan(simulated).any() and np.isfinite(simulated).mean() > 0.5
    assert eta.shape == simulated.shape
    assert {"Intercept", "b", "sd_g", "sigma"} <= set(prior.prior.data_vars)


def test_prior_vs_posterior(fit):
    table = fit.prior_vs_posterior(draws=400, random_seed=5).set_index("parameter")
    assert "cor_g[Intercept, x]" in table.index and "cor_g[x, Intercept]" not in table.index
    prior = fit.model.prior_predictive(draws=400, random_seed=5).prior
    row = table.loc["sd_g[x]"]
    assert row["prior_mean"] == pytest.approx(float(prior["sd_g"].sel(g__coef="x").mean()))
    assert row["posterior_sd"] == pytest.approx(float(flat(fit, "sd_g", g__coef="x").std()))
    ratio = (row["posterior_sd"] / row["prior_sd"]) ** 2
    assert row["contraction"] == pytest.approx(1 - ratio)
    # the stand-in posterior is itself prior draws: a light-tailed prior does not contract
    assert abs(table.loc["b[x]", "contraction"]) < 0.3


def test_save_and_load_round_trip(tmp_path, data):
    data = data.assign(y2=data["y"].where(data.index != 3))  # one missing row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mb.Model(
            "y2 ~ double(x) + f + ok + (1 + x | g) + (1 | h)",
            data,
            priors={("b", "double(x)"): mb.Prior("Normal", mu=0, sigma=0.3)},
        )
    fit = fake_fit(model)
    path = tmp_path / "fit.nc"
    fit.save(path)
    with pytest.raises(mb.UnsafeFormulaError, match="'double'.*trusted=True"):
        mb.load(path)  # a function from the caller's namespace is not taken from a file
    assert mb.load(path, trusted=True).model.formula == fit.model.formula
    loaded = mb.load(path, context={"double": double})
    xr_equal = [np.array_equal(fit.posterior[v], loaded.posterior[v]) for v in fit.posterior]
    assert all(xr_equal)
    assert loaded.model.priors.table().equals(fit.model.priors.table())
    assert loaded.model.design.n_dropped == 1
    assert loaded.model.design.fixed_terms == fit.model.design.fixed_terms
    new = pd.DataFrame(
        {"x": [0.3, 1.0], "f": ["hi", "lo"], "ok": [True, False], "g": ["A", "new"], "h": [20, 10]}
    )
    pd.testing.assert_frame_equal(
        loaded.predict(new, random_seed=3), fit.predict(new, random_seed=3)
    )
    pd.testing.assert_frame_equal(loaded.fixef(), fit.fixef())
    with pytest.raises(mb.DataError, match="not a mixedbayes fit"):
        az.InferenceData(posterior=fit.posterior).to_netcdf(str(tmp_path / "plain.nc"))
        mb.load(tmp_path / "plain.nc")

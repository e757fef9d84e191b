"""Residual correlation structures (ar, ma, arma, cosy): parsing, the per-level layout,
the correlation functions, the log density, conditional draws and the results' pieces.

References are independent of the code under test: autocorrelations from the MA(infinity)
representation of the process, dense multivariate normal densities and conditionals
(scipy), and dense Gaussian conditioning for the integrated effects.
"""

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedbayes as mb
from conftest import (
    assert_gaussian_moments,
    jittered_point,
    repeated_posterior,
    uneven_levels,
    values_at,
)
from mixedbayes.design.autocor import encode_autocor
from mixedbayes.formula import parse_formula
from mixedbayes.graph import rowclasses
from mixedbayes.graph.ar1_statistics import AR1Statistics
from mixedbayes.graph.autocor import autocorrelation, correlation_matrices
from mixedbayes.graph.conditional import draw_random_effects
from mixedbayes.graph.marginal import marginal_choice
from mixedbayes.results.autocor import autocor_loglik, correlated_draws


@pytest.fixture(scope="module")
def data():
    return uneven_levels()


@pytest.fixture(params=["statistics", "rows"])
def ar1_path(request, monkeypatch):
    """AR(1) with its factor integrated: from the statistics (graph/ar1_statistics.py), or
    from the rows' innovations when the statistics are refused as too large."""
    if request.param == "rows":
        monkeypatch.setattr(rowclasses, "DENSE_CELLS", 0)
        monkeypatch.setattr(rowclasses, "SMALL_CELLS", 0)
    return request.param


def uses_statistics(model, group="g") -> bool:
    design = model.design
    block = design.block(group)
    return AR1Statistics.applies(design, block, [b for b in design.blocks if b is not block])


def ma_infinity(phi, theta, max_lag, terms=400):
    """rho(h) of ARMA(1, 1) from psi_0 = 1, psi_j = (phi + theta) phi^(j-1)."""
    psi = np.concatenate([[1.0], (phi + theta) * phi ** np.arange(terms)])
    gamma = np.array([psi[: len(psi) - h] @ psi[h:] for h in range(max_lag + 1)])
    return gamma / gamma[0]


def test_parsing_reads_brms_arguments():
    term = parse_formula("y ~ x + arma(time = t, gr = g)").autocor
    assert (term.kind, term.time, term.gr, term.p, term.q) == ("arma", "t", "g", 1, 1)
    term = parse_formula("y ~ ma(t, g) + x").autocor
    assert (term.kind, term.p, term.q) == ("ma", 0, 1)
    assert parse_formula("y ~ x + ma(t, g)").fixed == "x"
    assert parse_formula("y ~ cosy(gr = g)").autocor.time is None


@pytest.mark.parametrize(
    "formula, message",
    [
        ("y ~ ar(t, g, p = 0)", r"'ar\(t, g, p = 0\)'.*p must be a whole number >= 1, got 0"),
        ("y ~ ar(t, g, p = 1.5)", "p must be a whole number >= 1, got 1.5"),
        ("y ~ arma(t, g, p = 2, q = 0)", r"q must be .* got 0 \(a pure AR"),
        ("y ~ ma(t, g, q = -1)", "q must be a whole number"),
        ("y ~ ar(t, g, lag = 1)", "unknown argument 'lag'"),
        ("y ~ ar(t + 1, g)", "column names or numbers"),
        ("y ~ ar(t, g) + cosy(t, g)", "at most one correlation structure"),
        ("y ~ unstr(gr = g)", r"unstr\(\) needs both time and gr"),
        ("y ~ ar(t, g, 1, 2)", "takes time, gr, p"),
    ],
)
def test_bad_terms_are_named(formula, message):
    with pytest.raises(mb.FormulaError, match=message):
        parse_formula(formula)


def test_a_structure_belongs_to_the_mean_formula(data):
    with pytest.raises(mb.FormulaError, match="belongs in the formula of the mean"):
        mb.Model(mb.bf("y ~ x", sigma="~ x + ar(t, g)"), data)


def test_layout_orders_by_time_and_counts_gaps_as_lags(data):
    autocor = encode_autocor(parse_formula("y ~ ar(t, g)").autocor, data)
    assert autocor.levels == ("a", "b", "c", "d") and autocor.rows.shape == (4, 5)
    for g, level in enumerate(autocor.levels):
        rows = autocor.rows[g][autocor.mask[g]]
        assert (data.loc[rows, "g"] == level).all()
        assert np.all(np.diff(data.loc[rows, "t"]) > 0)
    b = data.loc[autocor.rows[1], "t"].to_numpy()
    np.testing.assert_array_equal(autocor.lags[1], np.abs(b[:, None] - b[None, :]))
    assert autocor.lags[1, 1, 2] == 2  # times 1 and 3: a gap, not neighbours
    np.testing.assert_array_equal(autocor.mask.sum(axis=1), [4, 5, 1, 3])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.assign(t=np.where(d.index == 0, d["t"] + 0.5, d["t"])), "whole-number"),
        (lambda d: d.assign(t=0), "have the same time 0"),
        (lambda d: d.assign(t=np.where(d.index == 2, np.inf, d["t"])), "not finite in row 2"),
    ],
)
def test_bad_times_are_named(data, change, message):
    with pytest.raises(mb.DataError, match=message):
        mb.Model("y ~ x + ar(t, g)", change(data))


def test_other_families_and_additions_are_refused(data):
    counts = data.assign(y=np.arange(len(data)) % 3)
    with pytest.raises(mb.FamilyError, match="family 'poisson'"):
        mb.Model("y ~ x + ar(t, g)", counts, family="poisson")
    with pytest.raises(mb.FormulaError, match="cannot be combined with weights"):
        mb.Model("y | weights(x) ~ ar(t, g)", data.assign(x=1.0))


@pytest.mark.parametrize("phi, theta", [(0.6, 0.3), (-0.5, 0.4), (0.2, -0.7)])
def test_autocorrelations_match_the_ma_infinity_representation(phi, theta):
    for kind, params, reference in [
        ("arma", {"ar": phi, "ma": theta}, ma_infinity(phi, theta, 6)),
        ("ar", {"ar": phi}, ma_infinity(phi, 0.0, 6)),
        ("ma", {"ma": theta}, ma_infinity(0.0, theta, 6)),
    ]:
        np.testing.assert_allclose(autocorrelation(kind, params, 6), reference, atol=1e-12)
    draws = np.array([phi, 0.1])  # vectorized over draws
    acf = autocorrelation("arma", {"ar": draws, "ma": np.array([theta, theta])}, 6)
    np.testing.assert_allclose(acf[0], ma_infinity(phi, theta, 6), atol=1e-12)
    np.testing.assert_allclose(acf[1], ma_infinity(0.1, theta, 6), atol=1e-12)
    cosy = autocorrelation("cosy", {"cosy": 0.3}, 3)
    np.testing.assert_allclose(cosy, [1.0, 0.3, 0.3, 0.3])


def _dense_covariance(data, kind, params, sigma, sd_g=None):
    """sigma^2 rho(|t_i - t_j|) within levels of g (+ sd_g^2 within levels), all rows."""
    t, g = data["t"].to_numpy(), data["g"].to_numpy()
    same = g[:, None] == g[None, :]
    lag = np.abs(t[:, None] - t[None, :]).astype(int)
    if kind == "cosy":
        rho = np.where(lag > 0, params["cosy"], 1.0)
    else:
        rho = ma_infinity(params.get("ar", 0.0), params.get("ma", 0.0), lag.max())[lag]
    V = sigma**2 * rho * same
    return V + (sd_g**2 * same if sd_g is not None else 0.0)


@pytest.mark.parametrize("kind", ["ar", "ma", "arma", "cosy"])
@pytest.mark.parametrize("integrated", [True, False])
def test_log_density_matches_the_dense_multivariate_normal(data, kind, integrated):
    model = mb.Model(f"y ~ x + (1 | g) + {kind}(t, g)", data)
    pm_model = model.marginal_model("g") if integrated else model.pymc_model
    point = jittered_point(pm_model, seed=2)
    names = ["autocor_loglik", "Intercept", "b", "sigma", "sd_g"]
    params = [n for n in ("ar", "ma", "cosy") if n in pm_model.named_vars]
    values = values_at(pm_model, names + params + ([] if integrated else ["r_g"]), point)
    mu = values["Intercept"] + values["b"][0] * data["x"].to_numpy()
    structure = {n: float(values[n]) for n in params}
    if integrated:
        V = _dense_covariance(data, kind, structure, values["sigma"], float(values["sd_g"][0]))
    else:
        levels = pd.Categorical(data["g"]).codes
        mu = mu + values["r_g"][levels, 0]
        V = _dense_covariance(data, kind, structure, values["sigma"])
    expected = stats.multivariate_normal(mu, V).logpdf(data["y"])
    np.testing.assert_allclose(values["autocor_loglik"], expected, rtol=1e-10)


def test_auto_integrates_the_factor_with_the_levels_of_gr(data):
    gaussian = mb.Model("y ~ x + (1 | g) + ar(t, g)", data)
    assert marginal_choice(gaussian.design, gaussian.family, "auto") == "g"
    crossed = mb.Model("y ~ x + (1 | h) + ar(t, g)", data)
    assert marginal_choice(crossed.design, crossed.family, "auto") is None
    with pytest.raises(mb.SamplingError, match="levels of gr"):
        marginal_choice(crossed.design, crossed.family, "h")


@pytest.mark.parametrize("kind, crossed", [("ar", "+ (1 | h)"), ("arma", "+ (1 | h)"), ("ar", "")])
def test_jax_log_density_and_gradient_match_pytensor(data, kind, crossed):
    """AR(1)'s innovations (powers of a negative phi over the time gaps; with h sampled),
    its statistics (without h), and the dense path of ma/arma/cosy (batched Cholesky), as
    the JAX samplers run them: jitted whole (op by op, eagerly, the same check took 78 s of
    XLA compilation from a cold cache)."""
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    model = mb.Model(f"y ~ x + (1 | g) {crossed} + {kind}(t, g)", data)
    assert uses_statistics(model) == (kind == "ar" and not crossed)
    m = model.marginal_model("g")
    point = jittered_point(m, seed=2)
    point["ar_interval__"] = np.array(-0.8)  # negative phi: odd powers keep their sign
    logp = get_jaxified_logp(m)
    value, grads = jax.jit(jax.value_and_grad(logp))(
        [jax.numpy.asarray(point[v.name]) for v in m.value_vars]
    )
    np.testing.assert_allclose(float(value), m.compile_logp()(point), rtol=1e-9)
    flat = np.concatenate([np.ravel(g) for g in grads])
    np.testing.assert_allclose(flat, m.compile_dlogp()(point), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "kind, structure", [("ar", {"ar": 0.5}), ("arma", {"ar": -0.4, "ma": 0.5})]
)
def test_conditional_draws_have_the_dense_posterior_mean_and_covariance(
    data, kind, structure, ar1_path
):
    """u | e ~ N(S Z'V^-1 e, S - S Z'V^-1 Z S) with V = sigma^2 R + Z S Z' (all rows);
    AR(1) draws from its statistics or through its innovations, ARMA through the dense
    factor of R."""
    model = mb.Model(f"y ~ x + (1 + x | g) + {kind}(t, g)", data)
    assert uses_statistics(model) == (kind == "ar" and ar1_path == "statistics")
    design = model.design
    n_draws = 4000
    sd, cor = np.array([0.7, 0.4]), np.array([[1.0, 0.3], [0.3, 1.0]])
    params = {"Intercept": 0.9, "b": [0.4], "sigma": 0.8, "sd_g": sd, "cor_g": cor, **structure}
    dims = {"b": ["fixed_term"], "sd_g": ["g__coef"], "cor_g": ["g__coef", "g__coef_"]}
    coords = {"fixed_term": ["x"], "g__coef": ["Intercept", "x"]}
    posterior = repeated_posterior(params, dims, coords, n_draws)
    draws = draw_random_effects(design, "g", posterior, random_seed=3)["r_g"]
    block = design.block("g")
    G, k = block.n_levels, 2
    Z = np.zeros((design.n_obs, G * k))  # coefficient-major columns
    for c in range(k):
        Z[np.arange(design.n_obs), c * G + block.index] = block.Z[:, c]
    S = np.kron(np.outer(sd, sd) * cor, np.eye(G))
    R = _dense_covariance(data, kind, structure, 0.8)
    V = R + Z @ S @ Z.T
    e = design.y - 0.9 - 0.4 * data["x"].to_numpy()
    mean = S @ Z.T @ np.linalg.solve(V, e)
    cov = S - S @ Z.T @ np.linalg.solve(V, Z @ S)
    sample = draws.isel(chain=0).values.transpose(0, 2, 1).reshape(n_draws, -1)
    assert list(draws["g"].values) == list(block.levels)
    assert_gaussian_moments(sample, mean, cov)


def test_pointwise_log_likelihood_is_each_row_given_its_level(data):
    autocor = encode_autocor(parse_formula("y ~ arma(t, g)").autocor, data)
    y = data["y"].to_numpy()
    mu = np.stack([np.full(len(y), 1.0), 0.3 * data["x"].to_numpy()])
    sigma = np.array([[0.9], [1.3]])
    params = {"ar": np.array([0.5, -0.3]), "ma": np.array([0.2, 0.6])}
    got = autocor_loglik(autocor, y, mu, sigma, params)
    for s in range(2):
        V = _dense_covariance(
            data, "arma", {"ar": params["ar"][s], "ma": params["ma"][s]}, sigma[s, 0]
        )
        for i in range(len(y)):
            others = np.flatnonzero(
                (data["g"] == data["g"][i]).to_numpy() & (np.arange(len(y)) != i)
            )
            e = y - mu[s]
            if others.size:
                w = np.linalg.solve(V[np.ix_(others, others)], V[others, i])
                mean, var = mu[s, i] + w @ e[others], V[i, i] - w @ V[others, i]
            else:
                mean, var = mu[s, i], V[i, i]
            assert got[s, i] == pytest.approx(
                stats.norm.logpdf(y[i], mean, np.sqrt(var)), rel=1e-10
            )


def test_correlated_draws_have_the_structure_covariance(data):
    autocor = encode_autocor(parse_formula("y ~ ar(t, g)").autocor, data)
    n, n_draws = len(data), 20_000
    mu = np.tile(np.arange(n, dtype=float), (n_draws, 1))
    draws = correlated_draws(
        autocor,
        np.random.default_rng(0),
        mu,
        np.full((n_draws, 1), 2.0),
        {"ar": np.full(n_draws, 0.7)},
    )
    V = _dense_covariance(data, "ar", {"ar": 0.7}, 2.0)
    np.testing.assert_allclose(draws.mean(axis=0), np.arange(n), atol=5 * 2.0 / np.sqrt(n_draws))
    assert_gaussian_moments(draws, None, V)


def test_default_priors_and_their_bounds(data):
    model = mb.Model("y ~ x + arma(t, g)", data)
    table = model.priors.table().set_index("class")
    assert table.loc["ar", "prior"] == "Uniform(lower=-1, upper=1)"
    assert table.loc["ma", "prior"] == "Uniform(lower=-1, upper=1)"
    assert mb.Model("y ~ x + cosy(t, g)", data).priors.get("cosy").params == {
        "lower": 0,
        "upper": 1,
    }
    narrower = mb.Model(
        "y ~ x + ar(t, g)", data, priors={"ar": mb.Prior("Uniform", lower=0, upper=1)}
    )
    assert narrower.priors.get("ar").params["lower"] == 0
    with pytest.raises(mb.PriorError, match=r"within \[-1, 1\]"):
        mb.Model("y ~ x + ar(t, g)", data, priors={"ar": mb.Prior("Normal", mu=0, sigma=1)})


def test_structure_correlation_matrix_pads_are_identity(data):
    autocor = encode_autocor(parse_formula("y ~ ar(t, g)").autocor, data)
    R = correlation_matrices(autocor, {"ar": 0.4})
    c = autocor.levels.index("c")  # a single row, padded to five
    np.testing.assert_array_equal(R[c], np.eye(5))
    assert np.all(np.linalg.eigvalsh(R) > 0)


@pytest.mark.parametrize("kind", ["ar", "arma"])
def test_log_density_with_an_integrated_random_slope_matches_the_dense_normal(data, kind, ar1_path):
    """AR(1) takes its statistics or its innovations path (no R formed), ARMA the dense
    one: each equals N(mu, sigma^2 R + Z S Z') with S from the sds and correlation at the
    point."""
    model = mb.Model(f"y ~ x + (1 + x | g) + {kind}(t, g)", data)
    assert uses_statistics(model) == (kind == "ar" and ar1_path == "statistics")
    m = model.marginal_model("g")
    point = jittered_point(m, seed=5)
    params = [n for n in ("ar", "ma") if n in m.named_vars]
    values = values_at(
        m, ["autocor_loglik", "Intercept", "b", "sigma", "sd_g", "cor_g", *params], point
    )
    x = data["x"].to_numpy()
    mu = values["Intercept"] + values["b"][0] * x
    S = np.outer(values["sd_g"], values["sd_g"]) * values["cor_g"]
    Z = np.column_stack([np.ones_like(x), x])
    same = (data["g"].to_numpy()[:, None] == data["g"].to_numpy()[None, :]).astype(float)
    V = _dense_covariance(data, kind, {n: float(values[n]) for n in params}, values["sigma"])
    V = V + (Z @ S @ Z.T) * same
    expected = stats.multivariate_normal(mu, V).logpdf(data["y"])
    np.testing.assert_allclose(values["autocor_loglik"], expected, rtol=1e-10)


@pytest.mark.parametrize("kind", ["ar", "cosy"])
def test_a_sigma_formula_scales_each_rows_residual(data, kind):
    """sigma ~ x: the covariance is D R D with D the rows' sigmas."""
    model = mb.Model(mb.bf(f"y ~ x + {kind}(t, g)", sigma="~ x"), data)
    m = model.pymc_model
    point = jittered_point(m, seed=6)
    names = ["autocor_loglik", "Intercept", "b", "sigma_Intercept", "sigma_b", kind]
    values = values_at(m, names, point)
    x = data["x"].to_numpy()
    mu = values["Intercept"] + values["b"][0] * x
    sd = np.exp(values["sigma_Intercept"] + values["sigma_b"][0] * x)
    R = _dense_covariance(data, kind, {kind: float(values[kind])}, 1.0)
    expected = stats.multivariate_normal(mu, R * np.outer(sd, sd)).logpdf(data["y"])
    np.testing.assert_allclose(values["autocor_loglik"], expected, rtol=1e-10)


def _unstr_covariance(data, C, sigma):
    """sigma^2 C[t_i, t_j] within levels of g: the rows' time points index C."""
    t, g = data["t"].to_numpy(), data["g"].to_numpy()
    return sigma**2 * C[t[:, None], t[None, :]] * (g[:, None] == g[None, :])


@pytest.mark.parametrize("integrated", [False, True])
def test_unstr_log_density_matches_the_dense_multivariate_normal(data, integrated):
    """Six time points, level b without t = 2, level c with t = 2 alone: each pair of rows
    has the correlation of its two time points."""
    formula = "y ~ x + (0 + x | g) + unstr(time = t, gr = g)"
    model = mb.Model(formula, data)
    assert model.design.autocor.time_points == ("0", "1", "2", "3", "4", "5")
    m = model.marginal_model("g") if integrated else model.pymc_model
    point = jittered_point(m, seed=3)
    names = ["autocor_loglik", "Intercept", "b", "sigma", "sd_g", "cortime"]
    values = values_at(m, names + ([] if integrated else ["r_g"]), point)
    C = values["cortime"]
    assert np.all(np.linalg.eigvalsh(C) > 0) and np.allclose(np.diag(C), 1.0)
    x = data["x"].to_numpy()
    mu = values["Intercept"] + values["b"][0] * x
    V = _unstr_covariance(data, C, values["sigma"])
    same = data["g"].to_numpy()[:, None] == data["g"].to_numpy()[None, :]
    if integrated:
        V = V + values["sd_g"][0] ** 2 * np.outer(x, x) * same
    else:
        mu = mu + values["r_g"][pd.Categorical(data["g"]).codes, 0] * x
    expected = stats.multivariate_normal(mu, V).logpdf(data["y"])
    np.testing.assert_allclose(values["autocor_loglik"], expected, rtol=1e-10)


@pytest.mark.parametrize("eta", [1.0, 3.0])
def test_unstr_correlations_have_the_lkj_prior(data, eta):
    """Under LKJ(eta) on K x K matrices each correlation is 2 Beta(b, b) - 1 with
    b = eta - 1 + K / 2 (Lewandowski et al. 2009): a KS test on prior draws."""
    import pymc as pm

    model = mb.Model(
        "y ~ x + unstr(time = t, gr = g)", data, priors={"cortime": mb.Prior("LKJ", eta=eta)}
    )
    m = model.pymc_model
    draws = pm.draw(m["cortime"], draws=4000, random_seed=2)
    K = draws.shape[-1]
    assert np.all(np.linalg.eigvalsh(draws) > 0)
    b = eta - 1 + K / 2
    for i, j in [(0, 1), (2, 5), (1, 4)]:
        p = stats.kstest((draws[:, i, j] + 1) / 2, stats.beta(b, b).cdf).pvalue
        assert p > 0.001, (i, j, p)


def test_unstr_jax_log_density_and_gradient_match_pytensor(data):
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    m = mb.Model("y ~ x + (0 + x | g) + unstr(t, g)", data).marginal_model("g")
    point = jittered_point(m, seed=4)
    value, grads = jax.jit(jax.value_and_grad(get_jaxified_logp(m)))(
        [jax.numpy.asarray(point[v.name]) for v in m.value_vars]
    )
    np.testing.assert_allclose(float(value), m.compile_logp()(point), rtol=1e-9)
    flat = np.concatenate([np.ravel(g) for g in grads])
    np.testing.assert_allclose(flat, m.compile_dlogp()(point), rtol=1e-7, atol=1e-9)


def test_unstr_results_name_time_pairs_and_check_new_times(data):
    model = mb.Model("y ~ x + unstr(time = t, gr = g)", data)
    C = np.full((6, 6), 0.3) + 0.7 * np.eye(6)
    params = {"Intercept": 1.0, "b": [0.5], "sigma": 1.0, "cortime": C}
    dims = {"b": ["fixed_term"], "cortime": ["time_point", "time_point_"]}
    points = list(model.design.autocor.time_points)
    coords = {"fixed_term": ["x"], "time_point": points, "time_point_": points}
    fit = mb.Fit(model, az.InferenceData(posterior=repeated_posterior(params, dims, coords, 3)))
    table = fit.autocor().set_index("term")
    assert len(table) == 15 and table.loc["cortime[1,4]", "estimate"] == pytest.approx(0.3)
    new = pd.DataFrame({"x": [0.0, 0.0], "t": [1, 4], "g": ["n", "n"]})
    assert fit.predict(new, kind="response", draws=True, random_seed=1).shape == (3, 2)
    with pytest.raises(mb.DataError, match="t = '7' in row 1 is not one of the fitted"):
        fit.predict(new.assign(t=[1, 7]), kind="response")
    with pytest.warns(UserWarning, match="with a random intercept of 'g' is not identified"):
        mb.Model("y ~ x + (1 | g) + unstr(t, g)", data)


def test_a_dense_mass_matrix_only_where_the_structure_is_integrated_alone(data):
    """numpyro adapts a full mass matrix for the few, correlated parameters of a model whose
    factor is integrated with the residuals (sigma, phi, sd); never with per-level effects
    still sampled, nor without a structure."""
    assert mb.Model("y ~ x + (1 | g) + ar(t, g)", data)._dense_mass("g")
    assert not mb.Model("y ~ x + (1 | g) + ar(t, g)", data)._dense_mass(None)
    assert not mb.Model("y ~ x + (1 | g) + (1 | h) + ar(t, g)", data)._dense_mass("g")
    assert not mb.Model("y ~ x + (1 | g)", data)._dense_mass("g")

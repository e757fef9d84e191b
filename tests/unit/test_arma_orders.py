"""ARMA residual structures of orders above 1: ``ar(p = 2)``, ``ma(q = 2)``, ``arma(p = 2,
q = 1)``.

References are independent of the code under test: the autocorrelation from the psi
weights of the MA(infinity) form, computed as the impulse response of the ARMA filter
(scipy.signal.lfilter) and summed over many terms; polynomial roots (numpy.roots) for
stationarity; dense multivariate normal densities (scipy) and dense Gaussian conditioning;
nlme's corARMA correlation matrices and parameter transform (tests/reference/arma.json,
made by make_arma.R).
"""

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import signal, stats

import mixedbayes as mb
from conftest import (
    assert_gaussian_moments,
    full_Z,
    jittered_point,
    prior_fit,
    repeated_posterior,
    uneven_levels,
    values_at,
)
from mixedbayes.design.autocor import encode_autocor
from mixedbayes.formula import parse_formula
from mixedbayes.graph.ar1_statistics import AR1Statistics
from mixedbayes.graph.arma import arma_autocorrelation, pacf_to_coefficients
from mixedbayes.graph.autocor import autocorrelation, correlation_matrices
from mixedbayes.graph.conditional import draw_random_effects
from mixedbayes.results.autocor import autocor_loglik

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "arma.json"
ORDERS = [(2, 0), (0, 2), (2, 1), (1, 2), (3, 2), (4, 0), (0, 3)]


@pytest.fixture(scope="module")
def data():
    return uneven_levels()


def psi_acf(phi, theta, max_lag, terms=4000):
    """rho(0..max_lag) from psi weights: the impulse response of (1 + theta B) / (1 - phi B),
    gamma(h) = sum_j psi_j psi_(j+h)."""
    impulse = np.zeros(terms)
    impulse[0] = 1.0
    psi = signal.lfilter(np.r_[1.0, theta], np.r_[1.0, -np.asarray(phi, dtype=float)], impulse)
    gamma = np.array([psi[: terms - h] @ psi[h:] for h in range(max_lag + 1)])
    return gamma / gamma[0]


def coefficients(rng, p, q, size=()):
    """Random stationary AR and invertible MA coefficients (None for order 0)."""
    phi = pacf_to_coefficients(rng.uniform(-0.9, 0.9, (*size, p)), p) if p else None
    theta = pacf_to_coefficients(rng.uniform(-0.9, 0.9, (*size, q)), q, sign=1.0) if q else None
    return phi, theta


def test_parsing_reads_orders():
    term = parse_formula("y ~ x + ar(time = t, gr = g, p = 2)").autocor
    assert (term.kind, term.p, term.q, term.parameters) == ("ar", 2, 0, ("ar",))
    term = parse_formula("y ~ ma(t, g, 3)").autocor
    assert (term.p, term.q, term.parameters) == (0, 3, ("ma",))
    term = parse_formula("y ~ arma(t, g, p = 2, q = 1)").autocor
    assert (term.p, term.q, term.parameters) == (2, 1, ("ar", "ma"))


def test_orders_the_rows_cannot_identify_are_refused(data):
    """Level b spans lags up to 5: p + q = 6 coefficients are refused, naming the term."""
    with pytest.raises(mb.DataError, match=r"arma\(t, g, p = 4, q = 2\): 6 ARMA.*widest.* 5"):
        mb.Model("y ~ x + arma(t, g, p = 4, q = 2)", data)
    mb.Model("y ~ x + arma(t, g, p = 3, q = 2)", data)


@pytest.mark.parametrize("p, q", ORDERS)
def test_autocorrelation_matches_the_psi_weights(p, q):
    rng = np.random.default_rng(10 * p + q)
    phi, theta = coefficients(rng, p, q)
    reference = psi_acf([] if phi is None else phi, [] if theta is None else theta, 40)
    for max_lag in (0, 1, p, 7, 40):  # 40: several doublings of the companion matrix
        got = arma_autocorrelation(phi, theta, max_lag)
        np.testing.assert_allclose(got, reference[: max_lag + 1], atol=1e-10)
    phi, theta = coefficients(rng, p, q, size=(3,))  # vectorized over draws
    params = {"ar": phi, "ma": theta}  # an order-1 part without its lag axis, as sampled
    params = {k: v[:, 0] if v is not None and v.shape[1] == 1 else v for k, v in params.items()}
    got = autocorrelation("arma", params, 9, orders=(p, q))
    for s in range(3):
        expected = psi_acf([] if phi is None else phi[s], [] if theta is None else theta[s], 9)
        np.testing.assert_allclose(got[s], expected, atol=1e-10)


@pytest.mark.parametrize("phi, theta", [(0.6, 0.3), (-0.5, 0.4), (0.2, -0.7)])
def test_order_one_equals_the_closed_forms(phi, theta):
    """The general solution at order 1 is today's closed forms; order-1 terms keep them."""
    for kind, params, orders in [
        ("arma", {"ar": phi, "ma": theta}, ([phi], [theta])),
        ("ar", {"ar": phi}, ([phi], None)),
        ("ma", {"ma": theta}, (None, [theta])),
    ]:
        general = arma_autocorrelation(*[None if o is None else np.array(o) for o in orders], 8)
        np.testing.assert_allclose(autocorrelation(kind, params, 8), general, atol=1e-14)
    np.testing.assert_array_equal(pacf_to_coefficients(np.array([phi]), 1), [phi])
    np.testing.assert_array_equal(pacf_to_coefficients(np.array([theta]), 1, sign=1.0), [theta])


@pytest.mark.parametrize("order", [2, 3, 5])
def test_partial_autocorrelations_give_stationary_invertible_coefficients(order):
    """Roots of 1 - phi_1 x - ... (AR) and 1 + theta_1 x + ... (MA) lie outside the unit
    circle for random partial autocorrelations, and AR(2)'s map is its closed form
    phi = (r1 (1 - r2), r2)."""
    rng = np.random.default_rng(order)
    pacf = rng.uniform(-0.99, 0.99, (200, order))
    phi = pacf_to_coefficients(pacf, order)
    theta = pacf_to_coefficients(pacf, order, sign=1.0)
    for s in range(len(pacf)):
        assert np.all(np.abs(np.roots(np.r_[-phi[s][::-1], 1.0])) > 1.0)
        assert np.all(np.abs(np.roots(np.r_[theta[s][::-1], 1.0])) > 1.0)
    r = rng.uniform(-0.9, 0.9, (5, 2))
    np.testing.assert_allclose(
        pacf_to_coefficients(r, 2), np.column_stack([r[:, 0] * (1 - r[:, 1]), r[:, 1]])
    )
    # the partial autocorrelations are those of the process: r_1 = rho(1) for AR(p)
    acf = arma_autocorrelation(phi[:5], None, 1)
    np.testing.assert_allclose(acf[:, 1], pacf[:5, 0], atol=1e-12)


def _dense_covariance(data, phi, theta, sigma):
    """sigma^2 rho(|t_i - t_j|) within levels of g, from the psi weights."""
    t, g = data["t"].to_numpy(), data["g"].to_numpy()
    lag = np.abs(t[:, None] - t[None, :]).astype(int)
    rho = psi_acf(
        np.atleast_1d(phi) if phi is not None else [],
        np.atleast_1d(theta) if theta is not None else [],
        lag.max(),
    )
    return sigma**2 * rho[lag] * (g[:, None] == g[None, :])


@pytest.mark.parametrize("term", ["ar(t, g, p = 2)", "ma(t, g, q = 2)", "arma(t, g, p = 2, q = 1)"])
@pytest.mark.parametrize("integrated", [True, False])
def test_log_density_matches_the_dense_multivariate_normal(data, term, integrated):
    """Order-2 terms take the dense path (never AR(1)'s statistics or innovations); the
    coefficients are the model's Deterministics made from the sampled partial
    autocorrelations."""
    model = mb.Model(f"y ~ x + (1 | g) + {term}", data)
    design = model.design
    assert not design.autocor.ar1
    assert not AR1Statistics.applies(design, design.block("g"), [])
    m = model.marginal_model("g") if integrated else model.pymc_model
    point = jittered_point(m, seed=2, jitter=0.8)
    params = [n for n in ("ar", "ma") if n in m.named_vars]
    names = ["autocor_loglik", "Intercept", "b", "sigma", "sd_g", *params]
    values = values_at(m, names + ([] if integrated else ["r_g"]), point)
    mu = values["Intercept"] + values["b"][0] * data["x"].to_numpy()
    V = _dense_covariance(data, values.get("ar"), values.get("ma"), values["sigma"])
    same = data["g"].to_numpy()[:, None] == data["g"].to_numpy()[None, :]
    if integrated:
        V = V + values["sd_g"][0] ** 2 * same
    else:
        mu = mu + values["r_g"][pd.Categorical(data["g"]).codes, 0]
    expected = stats.multivariate_normal(mu, V).logpdf(data["y"])
    np.testing.assert_allclose(values["autocor_loglik"], expected, rtol=1e-10)


def test_conditional_draws_have_the_dense_posterior_mean_and_covariance(data):
    """AR(2) draws the integrated intercept and slope through the dense factor of R:
    u | e ~ N(S Z'V^-1 e, S - S Z'V^-1 Z S), V = sigma^2 R + Z S Z' (all rows)."""
    model = mb.Model("y ~ x + (1 + x | g) + ar(t, g, p = 2)", data)
    design, n_draws = model.design, 4000
    sd, cor, phi = np.array([0.7, 0.4]), np.array([[1.0, 0.3], [0.3, 1.0]]), [0.5, -0.3]
    params = {"Intercept": 0.9, "b": [0.4], "sigma": 0.8, "sd_g": sd, "cor_g": cor, "ar": phi}
    dims = {"b": ["fixed_term"], "sd_g": ["g__coef"], "cor_g": ["g__coef", "g__coef_"]}
    dims["ar"] = ["ar_lag"]
    coords = {"fixed_term": ["x"], "g__coef": ["Intercept", "x"], "ar_lag": [1, 2]}
    posterior = repeated_posterior(params, dims, coords, n_draws)
    draws = draw_random_effects(design, "g", posterior, random_seed=3)["r_g"]
    block = design.block("g")
    Z = full_Z(block)
    S = np.kron(np.outer(sd, sd) * cor, np.eye(block.n_levels))
    V = _dense_covariance(data, phi, None, 0.8) + Z @ S @ Z.T
    e = design.y - 0.9 - 0.4 * data["x"].to_numpy()
    mean = S @ Z.T @ np.linalg.solve(V, e)
    cov = S - S @ Z.T @ np.linalg.solve(V, Z @ S)
    sample = draws.isel(chain=0).values.transpose(0, 2, 1).reshape(n_draws, -1)
    assert_gaussian_moments(sample, mean, cov)


def test_pointwise_log_likelihood_is_each_row_given_its_level(data):
    autocor = encode_autocor(parse_formula("y ~ arma(t, g, p = 2, q = 1)").autocor, data)
    y = data["y"].to_numpy()
    mu = np.stack([np.full(len(y), 1.0), 0.3 * data["x"].to_numpy()])
    sigma = np.array([[0.9], [1.3]])
    params = {"ar": np.array([[0.5, -0.3], [0.2, 0.4]]), "ma": np.array([0.2, -0.6])}
    got = autocor_loglik(autocor, y, mu, sigma, params)
    for s in range(2):
        V = _dense_covariance(data, params["ar"][s], params["ma"][s], sigma[s, 0])
        Q = np.linalg.inv(V)  # rows of other levels have zero precision entries
        e = y - mu[s]
        mean, var = y - (Q @ e) / np.diag(Q), 1.0 / np.diag(Q)
        np.testing.assert_allclose(got[s], stats.norm.logpdf(y, mean, np.sqrt(var)), rtol=1e-10)


def test_variables_priors_and_results_name_each_lag(data, tmp_path):
    """Order 1 keeps its scalar ``ar``; order 2 samples ``ar_pacf`` with the class's prior
    and reports ``ar`` (dim ``ar_lag``) as ``ar[1]``, ``ar[2]`` through save and load."""
    one = mb.Model("y ~ x + ar(t, g)", data).pymc_model
    assert "ar" in [v.name for v in one.free_RVs] and one["ar"].ndim == 0
    prior = mb.Prior("Uniform", lower=0, upper=0.5)
    model = mb.Model("y ~ x + arma(t, g, p = 2, q = 1)", data, priors={"ar": prior})
    table = model.priors.table()
    assert list(table["class"]).count("ar") == 1 and list(table["class"]).count("ma") == 1
    m = model.pymc_model
    assert {"ar_pacf", "ma"} <= {v.name for v in m.free_RVs}
    assert m.named_vars_to_dims["ar"] == ("ar_lag",) and m.coords["ar_lag"] == (1, 2)
    pacf, pm_draws = pm.draw([m["ar_pacf"], m["ar"]], draws=500, random_seed=1)
    assert pacf.min() >= 0 and pacf.max() <= 0.5  # the user's prior holds the pacf
    np.testing.assert_allclose(pm_draws, pacf_to_coefficients(pacf, 2))
    fit = prior_fit(model, draws=20)
    autocor = fit.autocor()
    assert list(autocor["term"]) == ["ar[1]", "ar[2]", "ma[1]"]
    expected = fit.posterior["ar"].sel(ar_lag=2).mean().item()
    assert autocor.set_index("term").loc["ar[2]", "estimate"] == pytest.approx(expected)
    assert "ar[2]" in str(fit.summary())
    path = tmp_path / "arma.nc"
    fit.save(path)
    pd.testing.assert_frame_equal(mb.load(path).autocor(), autocor)


def test_response_draws_use_the_order_two_structure(data):
    """predict(kind="response") draws residuals from sigma^2 R of the AR(2) coefficients."""
    model = mb.Model("y ~ x + ar(t, g, p = 2)", data)
    params = {"Intercept": 0.0, "b": [0.0], "sigma": 2.0, "ar": [0.5, 0.3]}
    dims = {"b": ["fixed_term"], "ar": ["ar_lag"]}
    coords = {"fixed_term": ["x"], "ar_lag": [1, 2]}
    n_draws = 20_000
    posterior = repeated_posterior(params, dims, coords, n_draws)
    fit = mb.Fit(model, az.InferenceData(posterior=posterior))
    draws = np.asarray(fit.predict(kind="response", draws=True, random_seed=1))
    V = _dense_covariance(data, [0.5, 0.3], None, 2.0)
    assert_gaussian_moments(draws, None, V)


def test_correlations_and_transform_are_nlmes():
    """R's ARMAacf, and nlme's corMatrix of corARMA for one level with times 0, 1, 3, 4, 7
    (gaps are lags) where nlme is right (not q > p >= 1, see make_arma.R); nlme's partial
    autocorrelations tanh(u / 2) of its unconstrained parameters u map to the same
    coefficients (AR with sign -1, MA with +1, as nlme's corStruct.c)."""
    reference = json.loads(REFERENCE.read_text())
    times = reference["times"]
    level = pd.DataFrame({"t": times, "g": "a"})
    for case in reference["cormatrix"]:
        p, q, value = case["p"], case["q"], np.array(case["value"])
        term = f"arma(t, g, p = {p}, q = {q})" if p and q else f"ar(t, g, p = {p})"
        term = term if p else f"ma(t, g, q = {q})"
        autocor = encode_autocor(parse_formula(f"y ~ {term}").autocor, level)
        params = {"ar": value[:p], "ma": value[p:]}
        params = {k: v[0] if len(v) == 1 else v for k, v in params.items() if len(v)}
        acf = autocorrelation(autocor.kind, params, len(case["acf"]) - 1, orders=(p, q))
        np.testing.assert_allclose(acf, case["acf"], atol=1e-9)
        R = correlation_matrices(autocor, params)[0]
        np.testing.assert_allclose(R, acf[np.abs(np.subtract.outer(times, times))])
        if not 1 <= p < q:
            np.testing.assert_allclose(R, np.array(case["matrix"]), atol=1e-9)
        pacf = np.tanh(np.array(case["unconstrained"]) / 2.0)
        if p:
            np.testing.assert_allclose(pacf_to_coefficients(pacf[:p], p), value[:p], atol=1e-9)
        if q:
            theta = pacf_to_coefficients(pacf[p:], q, sign=1.0)
            np.testing.assert_allclose(theta, value[p:], atol=1e-9)

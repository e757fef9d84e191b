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
from scipy import stats
from scipy.linalg import block_diag

import mixedbayes as mb
from conftest import assert_gaussian_moments, full_Z, repeated_posterior
from mixedbayes.graph import woodbury
from mixedbayes.graph.conditional import draw_random_effects
from mixedbayes.graph.marginal import marginal_choice, nested_in
from mixedbayes.graph.marginal_op import MarginalGaussian


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
            "k": rng.choice(["u", "v"], n),
        }
    )


@pytest.fixture
def every_small_factor(monkeypatch):
    """Integrate every small factor by Woodbury, data-rich or not: the algebra under test."""
    monkeypatch.setattr(woodbury, "RIDGE_ABOVE", -np.inf)


def evaluate(pm_model, outputs, point):
    outputs = pm_model.replace_rvs_by_values(outputs)
    fn = pm_model.compile_fn(outputs, inputs=pm_model.value_vars, on_unused_input="ignore")
    return fn(point)


def random_point(pm_model, seed=3):
    rng = np.random.default_rng(seed)
    start = pm_model.initial_point()
    return {k: v + rng.normal(0, 0.4, size=np.shape(v)) for k, v in start.items()}


def dense_marginal_logp(design, covariances, sigma, rest):
    """log N(y - rest; 0, sigma^2 I + sum_f Z_f S_f Z_f') over all rows, the sum over the
    integrated factors f (``covariances``: group -> S_f), with dense indicator matrices."""
    cov = sigma**2 * np.eye(design.n_obs)
    for group, S in covariances.items():
        block = design.block(group)
        for a in range(len(block.coefs)):
            for b in range(len(block.coefs)):
                same = block.index[:, None] == block.index[None, :]
                cov += S[a, b] * np.outer(block.Z[:, a], block.Z[:, b]) * same
    return stats.multivariate_normal(np.zeros(design.n_obs), cov).logpdf(design.y - rest)


@pytest.mark.usefixtures("every_small_factor")
@pytest.mark.parametrize(
    "formula, integrated",
    [
        ("y ~ x + (1 + x | g)", ["g"]),  # sums from data statistics
        ("y ~ x + offset(np.log(w)) + (1 + x | g)", ["g"]),  # ... with an offset
        ("y ~ 0 + x + (1 | g)", ["g"]),  # no intercept, one coefficient
        ("y ~ x + (1 + x | g) + (1 | h)", ["g", "h"]),  # h by Woodbury
        ("y ~ x + (1 | g) + (1 + x | h) + (1 | k)", ["g", "h", "k"]),  # two, one correlated
        ("y ~ x + (1 + x + w | g) + (1 | h)", ["g"]),  # g has 3 coefficients: h sampled
        ("y ~ x + offset(np.log(w)) + (1 + x + w | g) + (1 + x | h) + (1 | k)", ["g"]),
    ],
)
def test_marginal_density_matches_dense_normal(data, formula, integrated):
    model = mb.Model(formula, data)
    pm_model = model.marginal_model("g")
    point = random_point(pm_model)
    design = model.design
    named = pm_model.named_vars
    for block in design.blocks:  # integrated factors have no effects in the model
        assert (f"r_{block.group}" in named) == (block.group not in integrated)
    wanted = [pm_model.potentials[0], pm_model["sigma"]]
    wanted.append(named.get("Intercept", pt.zeros(())))
    wanted.append(named.get("b", pt.zeros(0)))
    for group in integrated:
        wanted += [pm_model[f"sd_{group}"], named.get(f"cor_{group}", pt.eye(1))]
    others = [block for block in design.blocks if block.group not in integrated]
    wanted += [pm_model[f"r_{block.group}"] for block in others]
    potential, sigma, intercept, b, *values = evaluate(pm_model, wanted, point)
    covariances = {}
    for group in integrated:
        sd, cor = np.atleast_1d(values.pop(0)), values.pop(0)
        covariances[group] = np.outer(sd, sd) * cor
    X = design.X[:, [t != "Intercept" for t in design.fixed_terms]]
    rest = intercept + X @ b
    if design.offset is not None:
        rest = rest + design.offset
    for block, r in zip(others, values, strict=True):
        rest = rest + (r[block.index] * block.Z).sum(axis=1)
    expected = dense_marginal_logp(design, covariances, sigma, rest)
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


@pytest.mark.usefixtures("every_small_factor")
@pytest.mark.parametrize(
    "formula, sampled",
    [
        ("y ~ x + (1 + x | g) + (1 + x | h)", None),  # h by Woodbury: drawn jointly with g
        ("y ~ x + (1 + x + w | g) + (1 | h)", np.array([[0.2], [-0.1], [0.3]])),  # h sampled
    ],
)
def test_conditional_draws_have_the_dense_posterior_mean_and_covariance(data, formula, sampled):
    """One parameter draw repeated: the integrated effects u (all factors together) are
    drawn from N(S Z'V^-1 e, S - S Z'V^-1 Z S), dense Gaussian conditioning."""
    model = mb.Model(formula, data)
    design = model.design
    n_draws = 4000
    params = {"Intercept": 2.9, "b": np.array([0.3]), "sigma": 0.6}
    dims = {"b": ["fixed_term"]}
    coords = {"fixed_term": ["x"]}
    integrated = ["g"] if sampled is not None else ["g", "h"]
    covariances = {}
    for group in integrated:
        block = design.block(group)
        k = len(block.coefs)
        sd = np.linspace(0.8, 0.4, k)
        cor = np.full((k, k), 0.3) + 0.7 * np.eye(k)
        params[f"sd_{group}"], params[f"cor_{group}"] = sd, cor
        dims[f"sd_{group}"] = [f"{group}__coef"]
        dims[f"cor_{group}"] = [f"{group}__coef", f"{group}__coef_"]
        coords[f"{group}__coef"] = list(block.coefs)
        covariances[group] = np.outer(sd, sd) * cor
    e = design.y - 2.9 - 0.3 * design.X[:, 1]
    if sampled is not None:
        params["r_h"], dims["r_h"] = sampled, ["h", "h__coef"]
        coords["h"] = list(design.block("h").levels)
        e = e - sampled[design.block("h").index, 0]
    posterior = repeated_posterior(params, dims, coords, n_draws)
    draws = draw_random_effects(design, "g", posterior, random_seed=5)
    assert list(draws) == [f"r_{group}" for group in integrated]
    for group in integrated:
        assert draws[f"r_{group}"].dims == ("chain", "draw", group, f"{group}__coef")
        assert list(draws[f"r_{group}"][group].values) == list(design.block(group).levels)

    Z = np.hstack([full_Z(design.block(group)) for group in integrated])
    S = block_diag(*[np.kron(covariances[g], np.eye(design.block(g).n_levels)) for g in integrated])
    V = 0.6**2 * np.eye(design.n_obs) + Z @ S @ Z.T
    mean = S @ Z.T @ np.linalg.solve(V, e)
    cov = S - S @ Z.T @ np.linalg.solve(V, Z @ S)
    sample = np.hstack(  # coefficient-major, as full_Z
        [
            draws[f"r_{group}"].isel(chain=0).values.transpose(0, 2, 1).reshape(n_draws, -1)
            for group in integrated
        ]
    )
    assert_gaussian_moments(sample, mean, cov)


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


def test_auto_passes_over_a_factor_that_leaves_a_nested_factor_sampled():
    """InstEval's shape: lecturers nested in departments, students crossed with both.
    Integrating the students (most levels) with the departments would leave the lecturers
    sampled inside them; "auto" integrates the lecturers and departments instead."""
    rng = np.random.default_rng(2)
    lecturer = rng.integers(0, 60, 400)  # more than 50 effects: not integrated with s
    department = rng.normal(0, 2, 5)  # data-rich departments: integrated when small
    data = pd.DataFrame(
        {
            "y": rng.normal(size=400) + department[lecturer % 5],
            "s": rng.integers(0, 100, 400).astype(str),
            "d": lecturer.astype(str),
            "dept": (lecturer % 5).astype(str),  # each lecturer in one department
        }
    )
    model = mb.Model("y ~ 1 + (1 | s) + (1 | d) + (1 | dept)", data)
    blocks = {b.group: b for b in model.design.blocks}
    assert nested_in(blocks["d"], blocks["dept"]) and not nested_in(blocks["s"], blocks["dept"])
    assert not nested_in(blocks["dept"], blocks["d"])
    assert marginal_choice(model.design, model.family, "auto") == "d"
    names = [v.name for v in model.marginal_model("d").free_RVs]
    assert "z_s" in names and not any(n.endswith(("_d", "_dept")) for n in names if "z_" in n)
    data["dept"] = rng.integers(0, 5, 400)  # crossed: the largest factor again
    data["y"] = rng.normal(size=400) + department[data["dept"]]
    data["dept"] = data["dept"].astype(str)
    crossed = mb.Model("y ~ 1 + (1 | s) + (1 | d) + (1 | dept)", data)
    assert marginal_choice(crossed.design, crossed.family, "auto") == "s"


@pytest.mark.parametrize("site_sd, integrated", [(2.0, True), (0.1, False)])
def test_a_small_factor_is_integrated_when_its_levels_are_data_rich(site_sd, integrated):
    """8 sites with 100 rows each: kappa = 100 site_sd^2 / 1, so kappa / 8 is 50 (a ridge
    between the intercept and centered site effects: integrated) or 0.125 (sampled)."""
    rng = np.random.default_rng(5)
    primary, site = rng.integers(0, 40, 800), np.repeat(np.arange(8), 100)
    y = rng.normal(size=800) + rng.normal(0, site_sd, 8)[site] + rng.normal(0, 0.5, 40)[primary]
    data = pd.DataFrame({"y": y, "primary": primary.astype(str), "site": site.astype(str)})
    model = mb.Model("y ~ 1 + (1 | primary) + (1 | site)", data)
    assert marginal_choice(model.design, model.family, "auto") == "primary"
    chosen = [b.group for b in woodbury.small_factors(model.design, "primary")]
    assert chosen == (["site"] if integrated else [])
    assert ("r_site" in model.marginal_model("primary").named_vars) is not integrated


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


@pytest.mark.usefixtures("every_small_factor")
def test_jax_marginal_density_and_gradient_match_pytensor(data):
    """The JAX samplers ("auto") use the JAX translation of the marginal model: at a
    random point it and its gradient equal the compiled C version (h and k by Woodbury)."""
    formula = "y ~ x + (1 + x | g) + (1 + x | h) + (1 | k)"
    jax = pytest.importorskip("jax")
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    m = mb.Model(formula, data).marginal_model("g")
    point = random_point(m)
    logp = get_jaxified_logp(m)
    value, grads = jax.jit(jax.value_and_grad(logp))(
        [jax.numpy.asarray(point[v.name]) for v in m.value_vars]
    )
    np.testing.assert_allclose(float(value), m.compile_logp()(point), rtol=1e-8)
    flat = np.concatenate([np.ravel(g) for g in grads])
    np.testing.assert_allclose(flat, m.compile_dlogp()(point), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("q", [1, 3, woodbury.UNROLLED, woodbury.UNROLLED + 1])
def test_woodbury_log_determinant_and_quadratic_form(q):
    """Written out entry by entry up to UNROLLED rows, LAPACK's factorization beyond: both
    give NumPy's log|P| and b'P^-1 b, and the same gradient."""
    rng = np.random.default_rng(q)
    A = rng.normal(size=(q, q))
    P_value, b_value = A @ A.T + q * np.eye(q), rng.normal(size=q)
    P, b = pt.dmatrix("P"), pt.dvector("b")
    logdet, quadratic = woodbury.logdet_and_quadratic(P, b, q)
    total = logdet + quadratic
    f = pytensor.function([P, b], [logdet, quadratic, *pytensor.grad(total, [P, b])])
    got_logdet, got_quadratic, grad_P, grad_b = f(P_value, b_value)
    np.testing.assert_allclose(got_logdet, np.linalg.slogdet(P_value)[1], rtol=1e-12)
    solved = np.linalg.solve(P_value, b_value)
    np.testing.assert_allclose(got_quadratic, b_value @ solved, rtol=1e-10)
    np.testing.assert_allclose(grad_b, 2.0 * solved, rtol=1e-9)
    # d/dP of log|P| + b'P^-1 b on the lower triangle that the factorization reads
    expected = np.linalg.inv(P_value) - np.outer(solved, solved)
    expected = np.tril(expected + expected.T - np.diag(np.diag(expected)))
    np.testing.assert_allclose(np.tril(grad_P), expected, rtol=1e-8, atol=1e-12)

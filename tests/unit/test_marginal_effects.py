"""``fit.predictions / comparisons / slopes / datagrid`` and their plots, against hand
computations on the draws (no sampler runs).

The stand-in posteriors are prior draws with the coefficients replaced by known normal
draws. Rules fixed up front: in a Gaussian identity-link model an average comparison
equals the coefficient's draws to 1e-10 (mean and 95% quantiles) and an average slope to
1e-6 relative (finite difference); everything else equals the same computation done by
hand from ``predict(..., draws=True)`` on the counterfactual rows, to 1e-10.
"""

from __future__ import annotations

import warnings

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import mixedbayes as mb
from mixedbayes.results.predict import predict

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DRAWS = 500  # per chain, 2 chains
TAIL = [0.025, 0.975]
STATS = ["estimate", "sd", "lower", "upper"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(12)
    n = 80
    x = rng.normal(size=n)
    f = rng.choice(["a", "b"], size=n)
    g = rng.choice(list("ABCDEF"), size=n)
    eta = 0.8 * x - 0.5 * (f == "b") + rng.normal(size=6)[pd.factorize(g)[0]]
    return pd.DataFrame(
        {
            "y": eta + rng.normal(size=n),
            "yb": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int),
            "yo": np.digitize(eta + rng.logistic(size=n), [-0.5, 0.5]),
            "x": x,
            "f": f,
            "g": g,
        }
    )


def stand_in(model, replace):
    """A Fit whose posterior is the prior, with ``replace`` = {name: (dims, (mean, sd))}
    drawn from normals of known mean and sd (one column per mean)."""
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=DRAWS, random_seed=1).prior
    posterior = prior.isel(chain=[0, 0]).assign_coords(chain=[0, 1])
    rng = np.random.default_rng(5)
    for name, (dims, mean, sd) in replace.items():
        shape = (2, DRAWS, *np.shape(mean))
        posterior[name] = (("chain", "draw", *dims), rng.normal(mean, sd, shape))
    return mb.Fit(model, az.InferenceData(posterior=posterior))


@pytest.fixture(scope="module")
def gaussian(data):
    model = mb.Model("y ~ x + f + (1 | g)", data)
    fit = stand_in(model, {"b": (("fixed_term",), [0.8, -0.5], [0.1, 0.2])})
    assert list(fit.posterior["fixed_term"].values) == ["x", "f[T.b]"]
    return fit


@pytest.fixture(scope="module")
def logistic(data):
    model = mb.Model("yb ~ x + f + (1 | g)", data, family="bernoulli")
    return stand_in(
        model,
        {"b": (("fixed_term",), [0.8, -0.5], [0.2, 0.3]), "Intercept": ((), 0.3, 0.2)},
    )


def coefficient(fit, term, prefix=""):
    return fit.posterior[f"{prefix}b"].sel({f"{prefix}fixed_term": term}).values.ravel()


def hand(low, high, rows=None, ratio=False):
    """(estimate, sd, lower, upper) of the per-draw mean over ``rows`` of high - low."""
    effect = high / low if ratio else high - low
    average = effect.mean(axis=1) if rows is None else effect[:, rows].mean(axis=1)
    return [average.mean(), average.std(ddof=1), *np.quantile(average, TAIL)]


def test_gaussian_comparison_of_a_factor_is_its_coefficient(gaussian):
    table = gaussian.comparisons("f")
    assert list(table.columns) == ["term", "contrast", *STATS]
    assert table[["term", "contrast"]].values.tolist() == [["f", "b - a"]]
    beta = coefficient(gaussian, "f[T.b]")
    expected = [beta.mean(), beta.std(ddof=1), *np.quantile(beta, TAIL)]
    np.testing.assert_allclose(table.loc[0, STATS].to_numpy(float), expected, rtol=0, atol=1e-10)
    flipped = gaussian.comparisons("f", values=("b", "a"), kind="link")
    assert flipped.loc[0, "estimate"] == pytest.approx(-beta.mean(), abs=1e-10)


def test_gaussian_slope_and_numeric_comparisons_are_the_coefficient(gaussian):
    beta = coefficient(gaussian, "x")
    slope = gaussian.slopes("x")
    assert slope[["term", "contrast"]].values.tolist() == [["x", "dY/dX"]]
    expected = [beta.mean(), *np.quantile(beta, TAIL)]
    got = slope.loc[0, ["estimate", "lower", "upper"]].to_numpy(float)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    for values, factor in ((None, 1.0), (2.5, 2.5), ((0.0, 2.0), 2.0)):
        table = gaussian.comparisons("x", values=values)
        assert table.loc[0, "estimate"] == pytest.approx(factor * beta.mean(), abs=1e-10)
    assert gaussian.comparisons("x", values=[(0, 1), (1, 3)])["contrast"].tolist() == [
        "1 - 0",
        "3 - 1",
    ]


def test_new_groups_effects_cancel_with_the_same_seed(gaussian):
    new = gaussian.datagrid(g=["A", "new 1", "new 2"], x=[-1.0, 1.0])
    beta = coefficient(gaussian, "f[T.b]")
    table = gaussian.comparisons("f", newdata=new, by="g", new_groups="sample")
    assert table["g"].tolist() == ["A", "new 1", "new 2"]
    np.testing.assert_allclose(table["estimate"], beta.mean(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(table["upper"], np.quantile(beta, 0.975), rtol=0, atol=1e-10)
    one, two = (gaussian.predictions(new, random_seed=s)["estimate"] for s in (1, 2))
    assert not np.allclose(one[new["g"] != "A"], two[new["g"] != "A"])  # effects are drawn


def test_predictions_per_row_and_by_group(logistic):
    table = logistic.predictions()
    fitted = logistic.predict()
    assert list(table.columns)[-4:] == STATS and {"x", "f", "g"} <= set(table.columns)
    np.testing.assert_allclose(table[["estimate", "lower", "upper"]], fitted, atol=1e-12)
    data = logistic.model.data
    draws = predict(logistic, data, draws=True)
    grouped = logistic.predictions(by=["f", "g"])
    assert len(grouped) == data.groupby(["f", "g"]).ngroups
    for _, row in grouped.iterrows():
        rows = ((data["f"] == row["f"]) & (data["g"] == row["g"])).to_numpy()
        average = draws[:, rows].mean(axis=1)
        expected = [average.mean(), average.std(ddof=1), *np.quantile(average, TAIL)]
        np.testing.assert_allclose(row[STATS].to_numpy(float), expected, atol=1e-10)


def test_logistic_comparisons_equal_hand_computation(logistic):
    data = logistic.model.data
    low, high = (predict(logistic, data.assign(f=v), draws=True) for v in ("a", "b"))
    for comparison, ratio in (("difference", False), ("ratio", True)):
        table = logistic.comparisons("f", comparison=comparison)
        expected = hand(low, high, None, ratio)
        np.testing.assert_allclose(table.loc[0, STATS].to_numpy(float), expected, atol=1e-10)
    assert logistic.comparisons("f", comparison="ratio").loc[0, "contrast"] == "b / a"
    link = logistic.comparisons("f", kind="link", include_random=False)
    beta = coefficient(logistic, "f[T.b]")
    assert link.loc[0, "estimate"] == pytest.approx(beta.mean(), abs=1e-10)
    low, high = (predict(logistic, data.assign(x=data["x"] + d), draws=True) for d in (0, 1))
    table = logistic.comparisons("x")
    np.testing.assert_allclose(table.loc[0, STATS].to_numpy(float), hand(low, high), atol=1e-10)


def test_logistic_slope_is_the_derivative_of_the_probability(logistic):
    p = predict(logistic, draws=True)
    derivative = (p * (1 - p) * coefficient(logistic, "x")[:, None]).mean(axis=1)
    table = logistic.slopes("x")
    assert table.loc[0, "estimate"] == pytest.approx(derivative.mean(), rel=1e-6)
    assert [table.loc[0, "lower"], table.loc[0, "upper"]] == pytest.approx(
        np.quantile(derivative, TAIL), rel=1e-6
    )


def test_comparisons_by_groups_equal_hand_computation(logistic):
    data = logistic.model.data
    low, high = (predict(logistic, data.assign(f=v), draws=True) for v in ("a", "b"))
    table = logistic.comparisons("f", by="g")
    assert list(table.columns) == ["term", "contrast", "g", *STATS]
    assert table["g"].tolist() == sorted(data["g"].unique())
    for _, row in table.iterrows():
        rows = (data["g"] == row["g"]).to_numpy()
        np.testing.assert_allclose(row[STATS].to_numpy(float), hand(low, high, rows), atol=1e-10)


def test_distributional_parameter_comparisons(data):
    model = mb.Model(mb.bf("y ~ x + f", sigma="~ x"), data)
    fit = stand_in(
        model,
        {
            "sigma_b": (("sigma_fixed_term",), [0.4], [0.1]),
            "sigma_Intercept": ((), 0.0, 0.2),
        },
    )
    frame = model.data
    low, high = (
        predict(fit, frame.assign(x=frame["x"] + d), draws=True, dpar="sigma") for d in (0, 1)
    )
    table = fit.comparisons("x", dpar="sigma")
    np.testing.assert_allclose(table.loc[0, STATS].to_numpy(float), hand(low, high), atol=1e-10)
    link = fit.comparisons("x", dpar="sigma", kind="link")
    beta = coefficient(fit, "x", "sigma_")
    assert link.loc[0, "estimate"] == pytest.approx(beta.mean(), abs=1e-10)
    assert fit.slopes("x", dpar="sigma", kind="link").loc[0, "estimate"] == pytest.approx(
        beta.mean(), rel=1e-6
    )
    with pytest.raises(mb.DataError, match=r"'f' is not a predictor of 'sigma'.*\['x'\]"):
        fit.comparisons("f", dpar="sigma")


def test_ordinal_comparisons_have_one_row_per_category(data):
    model = mb.Model("yo ~ x + f + (1 | g)", data, family="cumulative")
    fit = stand_in(model, {"b": (("fixed_term",), [0.8, -0.5], [0.1, 0.2])})
    table = fit.comparisons("f")
    assert list(table.columns) == ["term", "contrast", "category", *STATS]
    assert table["category"].tolist() == list(model.design.response_levels)
    assert table["estimate"].sum() == pytest.approx(0.0, abs=1e-10)  # probabilities sum to 1


def test_datagrid_combinations_means_and_modes():
    rng = np.random.default_rng(3)
    n = 50
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "h": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), ["lo", "mid", "hi"]),
            "s": rng.choice(["u", "v", "v"], n),
            "t": rng.random(n) < 0.3,
            "g": rng.choice(["A", "B", "B", "C"], n),
        }
    )
    model = mb.Model("y ~ x + k + h + s + t + (1 | g)", data)
    grid = mb.datagrid(model, x=[0.0, 1.0], h=["hi", "lo"])
    assert sorted(grid.columns) == ["g", "h", "k", "s", "t", "x"]  # all but the response
    assert grid[["x", "h"]].astype(object).values.tolist() == [
        [0.0, "hi"],
        [0.0, "lo"],
        [1.0, "hi"],
        [1.0, "lo"],
    ]
    assert isinstance(grid["h"].dtype, pd.CategoricalDtype)
    assert list(grid["h"].cat.categories) == ["lo", "mid", "hi"]
    assert (grid["k"] == data["k"].mean()).all()
    assert (grid["s"] == data["s"].mode()[0]).all() and (grid["t"] == data["t"].mode()[0]).all()
    assert (grid["g"] == data["g"].value_counts().idxmax()).all()
    only = mb.datagrid(model, g="new", k=3)
    assert len(only) == 1 and only.loc[0, "g"] == "new" and only.loc[0, "k"] == 3
    assert only.loc[0, "h"] == data["h"].mode()[0]
    with pytest.raises(mb.DataError, match="'z' is not a column the model uses"):
        mb.datagrid(model, z=1)
    with pytest.raises(mb.DataError, match="'top' is not a level of 'h'"):
        mb.datagrid(model, h="top")
    with pytest.raises(mb.DataError, match="'w' is not a level of 's'"):
        mb.datagrid(model, s=["u", "w"])


def test_fit_datagrid_feeds_predictions(gaussian):
    grid = gaussian.datagrid(x=[-1.0, 0.0, 1.0], f=["a", "b"])
    assert grid.equals(mb.datagrid(gaussian, x=[-1.0, 0.0, 1.0], f=["a", "b"]))
    table = gaussian.predictions(grid, include_random=False)
    assert len(table) == 6
    np.testing.assert_allclose(
        table["estimate"], gaussian.predict(grid, include_random=False)["estimate"]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda fit: fit.comparisons("z"), r"unknown variable 'z'.*\['f', 'x'\]"),
        (lambda fit: fit.comparisons("g"), "'g' \\(a grouping factor\\)"),
        (lambda fit: fit.comparisons("f", values=("a", "c")), "'c' is not a level of 'f'"),
        (lambda fit: fit.comparisons("x", values=("a", "b")), "numeric 'x'"),
        (lambda fit: fit.slopes("f"), "slopes\\(\\) needs a numeric variable; 'f'"),
        (lambda fit: fit.comparisons("x", comparison="lift"), "comparison must be one of"),
        (lambda fit: fit.comparisons("x", kind="response"), "kind must be one of"),
        (lambda fit: fit.comparisons("x", dpar="sigma"), "'sigma' has no formula"),
        (lambda fit: fit.comparisons("x", dpar="zi"), "dpar must be one of"),
        (lambda fit: fit.comparisons("x", by="h"), "by: \\['h'\\] not among"),
        (lambda fit: fit.slopes("x", eps=0), "eps must be a positive number"),
        (lambda fit: fit.plot_predictions("y"), "condition: 'y' is not a column"),
    ],
)
def test_errors_name_the_culprit(gaussian, call, message):
    with pytest.raises(mb.DataError, match=message):
        call(gaussian)


def test_plots_draw_one_line_or_point_per_value(gaussian):
    fig = gaussian.plot_predictions("x", n_points=20)
    assert isinstance(fig, plt.Figure) and len(fig.axes[0].lines) == 1
    assert len(fig.axes[0].lines[0].get_xdata()) == 20
    fig = gaussian.plot_predictions(["x", "f"], n_points=20)
    assert len(fig.axes[0].lines) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b"]
    fig = gaussian.plot_predictions("f")
    assert len(fig.axes[0].lines) == 1
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]
    fig = gaussian.plot_comparisons("f", by="g")
    points = fig.axes[0].collections[-1].get_offsets()
    assert len(points) == 6
    estimates = gaussian.comparisons("f", by="g", random_seed=0)["estimate"]
    np.testing.assert_allclose(sorted(np.asarray(points)[:, 0]), sorted(estimates))
    fig = gaussian.plot_slopes("x")
    assert len(fig.axes[0].collections[-1].get_offsets()) == 1
    fig = gaussian.plot_slopes("x", condition=["x", "f"], n_points=10)
    assert len(fig.axes[0].lines) == 2
    np.testing.assert_allclose(  # a linear model: flat slopes at the coefficient's mean
        fig.axes[0].lines[0].get_ydata(), coefficient(gaussian, "x").mean(), rtol=1e-6
    )
    plt.close("all")

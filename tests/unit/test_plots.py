"""Plots of a fit, drawn from prior draws used as a stand-in posterior."""

import warnings

import arviz as az
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from matplotlib.colors import to_rgba
from scipy import stats

import mixedbayes as mb
from mixedbayes.results import plots

matplotlib.use("Agg")  # no windows, whatever the environment

LEVELS = list("ABCDEFGHIJKLMNO")


def fake_fit(model, draws=200, shift=None):
    """A Fit whose posterior is the prior; ``shift`` (levels x coefs) recentres ``r_g``."""
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        posterior = pm.sample_prior_predictive(draws=draws, random_seed=1).prior
    if shift is not None:
        noise = np.random.default_rng(2).normal(0, 0.3, posterior["r_g"].shape)
        posterior["r_g"] = posterior["r_g"].copy(data=shift + noise)
    return mb.Fit(model, az.InferenceData(posterior=posterior))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 90
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["a", "b", "c"], size=n, p=[0.2, 0.5, 0.3]),
            "g": rng.choice(LEVELS, size=n),
            "yb": rng.integers(0, 2, size=n),
        }
    )


@pytest.fixture(scope="module")
def fit(data):
    # level means from -2 to 2 (intercept) and 1 to -1 (slope): some intervals exclude 0
    shift = np.stack([np.linspace(-2, 2, 15), np.linspace(1, -1, 15)], axis=1)
    return fake_fit(mb.Model("y ~ x + f + (1 + x | g)", data), shift=shift)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def scatter(ax):
    (points,) = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    return points


def typical_grid(data, xs, **columns):
    grid = pd.DataFrame({"x": xs, "f": data["f"].mode().iloc[0], "g": "A", "y": data["y"].mean()})
    return grid.assign(yb=data["yb"].mean(), **columns)


def test_ranef_points_sorted_and_intervals_excluding_zero_highlighted(fit):
    fig = plots.plot_ranef(fit, prob=0.9)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    table = fit.ranef(0.9)
    n_highlighted = 0
    for ax, term in zip(fig.axes, ["Intercept", "x"], strict=True):
        assert ax.get_title() == f"g: {term}"
        expected = table[table["term"] == term].sort_values("value")
        points = scatter(ax)
        np.testing.assert_allclose(points.get_offsets()[:, 0], expected["value"])
        assert [t.get_text() for t in ax.get_yticklabels()] == list(expected["group"])
        excludes = ((expected["lower"] > 0) | (expected["upper"] < 0)).to_numpy()
        colors = np.array([to_rgba(plots.HIGHLIGHT if e else plots.PLAIN) for e in excludes])
        np.testing.assert_allclose(points.get_facecolors(), colors)
        (intervals,) = [c for c in ax.collections if c is not points]
        segments = np.array(intervals.get_segments())
        np.testing.assert_allclose(segments[:, :, 0], expected[["lower", "upper"]])
        np.testing.assert_allclose(intervals.get_colors(), colors)
        n_highlighted += excludes.sum()
        assert 0 < excludes.sum() < len(excludes)  # the data give both kinds
        assert any(line.get_xdata()[0] == 0 for line in ax.lines)  # the zero line
    assert n_highlighted > 2


def test_ranef_filters_max_levels_and_order(fit):
    fig = plots.plot_ranef(fit, term="x", max_levels=4)
    (ax,) = fig.axes
    table = fit.ranef().query("term == 'x'")
    extreme = table.loc[table["value"].abs().nlargest(4).index].sort_values("value")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(extreme["group"]) and "4 of 15 levels" in ax.get_title()
    fig = plots.plot_ranef(fit, group="g", term=["Intercept"], sort=False)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[::-1] == LEVELS  # level order, first level on top


def test_ranef_errors_name_valid_choices(fit):
    with pytest.raises(ValueError, match=r"unknown grouping factor: 'h'; choose from 'g'"):
        plots.plot_ranef(fit, group="h")
    with pytest.raises(ValueError, match=r"unknown term: 'z'; choose from 'Intercept', 'x'"):
        plots.plot_ranef(fit, term="z")
    with pytest.raises(ValueError, match="max_levels"):
        plots.plot_ranef(fit, max_levels=0)


def test_effects_line_is_the_population_prediction_over_the_range_of_x(fit, data):
    fig = plots.plot_effects(fit, "x", data=data, n_points=30, prob=0.8)
    (ax,) = fig.axes
    (line,) = ax.lines
    xs = np.linspace(data["x"].min(), data["x"].max(), 30)
    np.testing.assert_allclose(line.get_xdata(), xs)
    expected = fit.predict(typical_grid(data, xs), include_random=False, prob=0.8)
    np.testing.assert_allclose(line.get_ydata(), expected["estimate"])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose(
        [band.min(), band.max()], [expected["lower"].min(), expected["upper"].max()]
    )
    assert ax.get_xlabel() == "x" and "population level" in fig.texts[0].get_text()


def test_effects_one_line_per_group_with_its_random_effects(fit, data):
    fig = plots.plot_effects(fit, "x", data=data, groups=["C", "M"], n_points=10)
    (ax,) = fig.axes
    xs = np.linspace(data["x"].min(), data["x"].max(), 10)
    assert [line.get_label() for line in ax.lines] == ["C", "M"]
    for line, level in zip(ax.lines, ["C", "M"], strict=True):
        expected = fit.predict(typical_grid(data, xs, g=level))["estimate"]
        np.testing.assert_allclose(line.get_ydata(), expected)
    other = fit.predict(typical_grid(data, xs, g="A"))["estimate"]
    assert not np.allclose(ax.lines[0].get_ydata(), other)
    fig = plots.plot_effects(fit, "x", by="g", data=data, n_points=10)
    assert [line.get_label() for line in fig.axes[0].lines] == LEVELS[:8]


def test_effects_by_a_categorical_predictor(fit, data):
    fig = plots.plot_effects(fit, "x", by="f", data=data, n_points=10)
    (ax,) = fig.axes
    xs = np.linspace(data["x"].min(), data["x"].max(), 10)
    assert [line.get_label() for line in ax.lines] == ["a", "b", "c"]
    for line, level in zip(ax.lines, "abc", strict=True):
        expected = fit.predict(typical_grid(data, xs, f=level), include_random=False)
        np.testing.assert_allclose(line.get_ydata(), expected["estimate"])


def test_effects_hold_numeric_covariates_at_their_mean_and_by_numeric(data):
    data = data.assign(z=np.random.default_rng(3).gamma(2.0, size=len(data)))
    fit = fake_fit(mb.Model("y ~ x + z + (1 | g)", data), draws=50)
    xs = np.linspace(data["x"].min(), data["x"].max(), 10)
    (ax,) = plots.plot_effects(fit, "x", data=data, n_points=10).axes
    expected = fit.predict(pd.DataFrame({"x": xs, "z": data["z"].mean(), "g": "A"}), False)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), expected["estimate"])
    (ax,) = plots.plot_effects(fit, "x", by="z", data=data, n_points=10).axes
    values = data["z"].mean() + np.array([-1, 0, 1]) * data["z"].std()
    assert [line.get_label() for line in ax.lines] == [f"{v:.3g}" for v in values]
    for line, value in zip(ax.lines, values, strict=True):
        grid = pd.DataFrame({"x": xs, "z": value, "g": "A"})
        np.testing.assert_allclose(line.get_ydata(), fit.predict(grid, False)["estimate"])


def test_effects_for_a_new_group_are_wider_than_population(fit, data):
    widths = []
    for include in (False, True):
        ax = plots.plot_effects(fit, "x", data=data, include_random=include).axes[0]
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        widths.append(np.ptp(band))
    assert widths[1] > widths[0]


def test_effects_default_to_the_models_data(fit, data, monkeypatch):
    monkeypatch.setattr(fit.model, "data", data, raising=False)
    line = plots.plot_effects(fit, "x", n_points=10).axes[0].lines[0]
    expected = plots.plot_effects(fit, "x", data=data, n_points=10).axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), expected.get_ydata())
    monkeypatch.setattr(fit.model, "data", None)
    with pytest.raises(ValueError, match="pass data="):
        plots.plot_effects(fit, "x")


def test_effects_errors(fit, data):
    with pytest.raises(ValueError, match=r"x='f' is not a numeric predictor.*\['x'\]"):
        plots.plot_effects(fit, "f", data=data)
    with pytest.raises(ValueError, match="x='nope'"):
        plots.plot_effects(fit, "nope", data=data)
    with pytest.raises(ValueError, match=r"unknown level of 'g': 'Z'"):
        plots.plot_effects(fit, "x", data=data, groups=["Z"])
    with pytest.raises(ValueError, match="by='nope'"):
        plots.plot_effects(fit, "x", data=data, by="nope")
    with pytest.raises(ValueError, match="not the data the model was fitted to"):
        plots.plot_effects(fit, "x", data=data.iloc[:50])


def test_effects_ordinal_panel_per_category(data):
    data = data.assign(o=pd.Categorical(np.digitize(data["y"], [-0.5, 0.5]), ordered=True))
    fit = fake_fit(mb.Model("o ~ x + (1 | g)", data, family="cumulative"), draws=50)
    fig = plots.plot_effects(fit, "x", data=data, n_points=5)
    assert len(fig.axes) == 3
    heights = np.array([ax.lines[0].get_ydata() for ax in fig.axes])
    np.testing.assert_allclose(heights.sum(axis=0), 1.0)


def test_trajectories_points_and_fitted_lines_per_group(fit, data, monkeypatch):
    fig = plots.plot_trajectories(fit, "x", data=data, n_groups=4, random_seed=3)
    assert len(fig.axes) == 4
    fitted = fit.predict()["estimate"].to_numpy()
    titles = [ax.get_title() for ax in fig.axes]
    assert len(set(titles)) == 4 and set(titles) <= set(LEVELS)
    for ax in fig.axes:
        rows = data.index[data["g"] == ax.get_title()].to_numpy()
        rows = rows[np.argsort(data["x"].to_numpy()[rows], kind="stable")]
        np.testing.assert_allclose(scatter(ax).get_offsets(), data.loc[rows, ["x", "y"]])
        np.testing.assert_allclose(ax.lines[0].get_ydata(), fitted[rows])
    again = plots.plot_trajectories(fit, "x", data=data, n_groups=4, random_seed=3)
    assert [ax.get_title() for ax in again.axes] == titles
    samples = {
        tuple(
            ax.get_title()
            for ax in plots.plot_trajectories(
                fit, "x", data=data, n_groups=4, random_seed=seed
            ).axes
        )
        for seed in range(4)
    }
    assert len(samples) > 1  # levels are drawn at random
    # without data: x read from the design; by default the group's slope
    monkeypatch.setattr(fit.model, "data", None, raising=False)
    design_only = plots.plot_trajectories(fit, n_groups=4, random_seed=3)
    assert [ax.get_title() for ax in design_only.axes] == titles
    for ax, ax2 in zip(fig.axes, design_only.axes, strict=True):
        np.testing.assert_allclose(scatter(ax).get_offsets(), scatter(ax2).get_offsets())
    assert len(plots.plot_trajectories(fit, data=data, n_groups=50).axes) == 15


def test_trajectories_align_with_rows_left_after_dropping_missing(data, monkeypatch):
    holes = data.assign(y=data["y"].mask(data.index % 7 == 0), w=np.arange(90.0))
    with pytest.warns(UserWarning, match="dropped 13"):
        model = mb.Model("y ~ x + (1 | g)", holes)
    fit = fake_fit(model, draws=50)
    fig = plots.plot_trajectories(fit, "w", data=holes, n_groups=15)
    kept = holes.dropna(subset=["y"])
    for ax in fig.axes:
        group = kept[kept["g"] == ax.get_title()].sort_values("w")
        np.testing.assert_allclose(scatter(ax).get_offsets(), group[["w", "y"]])
    with pytest.raises(ValueError, match="x='z'.*'w'"):
        plots.plot_trajectories(fit, "z", data=holes)
    with pytest.raises(ValueError, match="not the data the model was fitted to"):
        plots.plot_trajectories(fit, "x", data=data)
    monkeypatch.setattr(fit.model, "data", None, raising=False)
    with pytest.raises(ValueError, match=r"x='w' is not a numeric column of the design"):
        plots.plot_trajectories(fit, "w")
    with pytest.raises(ValueError, match="unknown grouping factor: 'h'"):
        plots.plot_trajectories(fit, group="h")


def test_ppc_density_observed_against_replicates(fit, data):
    fig = plots.plot_ppc(fit, n_draws=20, random_seed=4)
    (ax,) = fig.axes
    assert len(ax.lines) == 21
    observed = ax.lines[-1]
    grid = observed.get_xdata()
    np.testing.assert_allclose(observed.get_ydata(), stats.gaussian_kde(data["y"])(grid))
    reps = fit.predict(kind="response", draws=True, max_draws=20, random_seed=4)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), stats.gaussian_kde(reps[0])(grid))
    assert grid.min() <= data["y"].min() and grid.max() >= data["y"].max()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["replicated", "observed"]
    fig = plots.plot_ppc(fit, kind="hist", n_draws=10)
    assert len(fig.axes[0].patches) == 11
    with pytest.raises(ValueError, match="kind must be"):
        plots.plot_ppc(fit, kind="violin")


def test_ppc_discrete_counts_with_replicate_intervals(data):
    fit = fake_fit(mb.Model("yb ~ x + (1 | g)", data, family="bernoulli"))
    fig = plots.plot_ppc(fit, n_draws=30, random_seed=5)
    (ax,) = fig.axes
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == list(np.bincount(data["yb"]))
    reps = fit.predict(kind="response", draws=True, max_draws=30, random_seed=5)
    ones = reps.sum(axis=1)
    medians = np.median(np.stack([len(data) - ones, ones], axis=1), axis=0)
    (points,) = [line for line in ax.lines if line.get_marker() == "o"]
    np.testing.assert_allclose(points.get_xdata(), [0, 1])
    np.testing.assert_allclose(points.get_ydata(), medians)

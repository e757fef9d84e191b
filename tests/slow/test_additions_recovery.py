"""Censored and truncated responses recover simulation truth that a naive fit misses.

Rule (fixed before the run): with a ceiling that censors about 40% of the responses
(right-censored at 1.5) the censored fit's 95% intervals contain the true intercept and
slope, and the naive fit (the ceiling taken as the value) has a slope interval that
excludes the truth; likewise for a sample truncated below at 0 (rows with y <= 0 never
observed), fitted with and without trunc(lb = 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb

pytestmark = pytest.mark.slow
TRUTH = {"Intercept": 1.0, "x": 0.8}


def simulated(n=400, seed=12):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 40, size=n)
    x = rng.normal(size=n)
    y = TRUTH["Intercept"] + TRUTH["x"] * x + rng.normal(0, 0.3, 40)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def intervals(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mb.Model(formula, data).fit(
            draws=500, tune=500, chains=2, random_seed=4, progressbar=False
        )
    return fit.fixef().set_index("term")


def covers(table, term):
    return table.loc[term, "lower"] <= TRUTH[term] <= table.loc[term, "upper"]


def test_censoring_and_truncation_recover_what_naive_fits_miss():
    data = simulated()
    ceiling = 1.5
    censored = data.assign(
        c=np.where(data["y"] > ceiling, "right", "none"), y=np.minimum(data["y"], ceiling)
    )
    assert 0.3 < (censored["c"] == "right").mean() < 0.5
    fitted = intervals("y | cens(c) ~ x + (1 | g)", censored)
    naive = intervals("y ~ x + (1 | g)", censored)
    assert covers(fitted, "Intercept") and covers(fitted, "x")
    assert not covers(naive, "x")

    kept = data[data["y"] > 0].reset_index(drop=True)
    fitted = intervals("y | trunc(lb = 0) ~ x + (1 | g)", kept)
    naive = intervals("y ~ x + (1 | g)", kept)
    assert covers(fitted, "Intercept") and covers(fitted, "x")
    assert not covers(naive, "x")

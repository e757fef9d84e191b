"""The continuous families added with the distributional models recover simulated truth.

Rule (fixed before the run): for data simulated from each family's brms parametrization
(400 rows, y ~ x with 30 groups of random intercepts, sd 0.3), the 95% posterior intervals
of the intercept, the slope and the family's parameters contain the true values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedbayes as mb

pytestmark = pytest.mark.slow
N, GROUPS = 400, 30


def simulated(family: str, rng):
    g = rng.integers(0, GROUPS, size=N)
    x = rng.normal(size=N)
    eta = 0.5 + 0.4 * x + rng.normal(0, 0.3, GROUPS)[g]
    if family == "lognormal":
        y, aux = np.exp(rng.normal(eta, 0.6)), {"sigma": 0.6}
    elif family == "exponential":
        y, aux = rng.exponential(np.exp(eta)), {}
    elif family == "weibull":
        shape = 2.0
        y = np.exp(eta) / special.gamma(1 + 1 / shape) * rng.weibull(shape, size=N)
        aux = {"shape": shape}
    else:  # skew_normal with mean eta, sd 0.8, skewness 4
        alpha, sigma = 4.0, 0.8
        delta = alpha / np.sqrt(1 + alpha**2)
        omega = sigma / np.sqrt(1 - 2 * delta**2 / np.pi)
        z = np.abs(rng.normal(size=N)) * delta + rng.normal(size=N) * np.sqrt(1 - delta**2)
        y = eta - omega * delta * np.sqrt(2 / np.pi) + omega * z
        aux = {"sigma": sigma, "alpha": alpha}
    return pd.DataFrame({"y": y, "x": x, "g": g}), aux


@pytest.mark.parametrize("family", ["lognormal", "exponential", "weibull", "skew_normal"])
def test_new_family_recovers_truth(family):
    data, aux = simulated(family, np.random.default_rng(8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mb.Model("y ~ x + (1 | g)", data, family=family).fit(
            draws=500, tune=500, chains=2, random_seed=2, progressbar=False
        )
    fixef = fit.fixef().set_index("term")
    for term, value in {"Intercept": 0.5, "x": 0.4}.items():
        assert fixef.loc[term, "lower"] <= value <= fixef.loc[term, "upper"], term
    for name, value in aux.items():
        lower, upper = np.quantile(fit.posterior[name].values.ravel(), [0.025, 0.975])
        assert lower <= value <= upper, (name, lower, upper)

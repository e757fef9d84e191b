"""Correlated residuals agree with nlme and recover simulated truth.

References: tests/reference/autocor_smooth.json (``gpa_ar1``, ``sleep_ar1``: nlme::lme
with ``correlation = corAR1(form = ~ time | g)``, REML), made by make_autocor_smooth.R;
tests/reference/arma.json (``sleep_ar2``: ``corARMA(p = 2, form = ~ Days | Subject)``),
made by make_arma.R.
Rule (fixed before the run, as the lme4 agreement tests): each fixed effect within
max(0.5 posterior sd, 2 reference SE) of nlme's; nlme's random-intercept sd, residual sd
and Phi inside the 95% posterior intervals. Simulations: every true value inside its 99%
interval. The simulation tests check up to six values each, so at 95% a correct sampler would
fail one of them about a quarter of the time; the first version did use 95% and missed the
ARMA phi of 0.6 by 0.002 (interval 0.602-0.805, seed 3), while six more simulations
(seeds 4-9, not kept as tests) gave phi means 0.48-0.74 around 0.6 and covered it five times:
chance, not bias (the density itself is checked against a dense normal in the unit tests).
99% per value bounds the family-wise error near 6%.
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
REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "autocor_smooth.json"


def within(lower, value, upper, what):
    assert lower <= value <= upper, (what, lower, value, upper)


@pytest.mark.parametrize(
    "name, data, formula",
    [
        ("gpa_ar1", "gpa", "gpa ~ occasion + (1 | student) + ar(time = occasion, gr = student)"),
        ("sleep_ar1", "sleepstudy", "Reaction ~ Days + (1 | Subject) + ar(Days, Subject)"),
    ],
)
def test_ar1_agrees_with_nlme(name, data, formula):
    reference = json.loads(REFERENCE.read_text())[name]
    fit = mb.Model(formula, load(data)).fit(
        draws=600, tune=500, chains=2, random_seed=7, progressbar=False
    )
    assert fit.posterior.attrs.get("marginalized")  # the random intercepts integrated
    fixef = fit.fixef().set_index("term")
    for term, value in reference["fixef_py"].items():
        allowed = max(0.5 * fixef.loc[term, "sd"], 2 * reference["fixef_se_py"][term])
        assert abs(fixef.loc[term, "estimate"] - value) <= allowed, term
    varcorr = fit.varcorr().set_index("group")
    for group, value in (("Residual", reference["sigma"]),):
        within(varcorr.loc[group, "sd_lower"], value, varcorr.loc[group, "sd_upper"], group)
    groups = varcorr.drop(index="Residual")
    within(
        groups["sd_lower"].iloc[0],
        reference["re_sd"]["(Intercept)"],
        groups["sd_upper"].iloc[0],
        "sd",
    )
    phi = fit.autocor().set_index("term").loc["ar[1]"]
    within(phi["lower"], reference["Phi"], phi["upper"], "Phi")
    assert np.isfinite(fit.loo().elpd_loo)


def test_ar2_agrees_with_nlme():
    """AR(2) on sleepstudy, the dense per-level path with the Subject intercepts
    integrated, by the module's rule: fixed effects within max(0.5 sd, 2 SE) of nlme's,
    nlme's intercept sd, residual sd, Phi1 and Phi2 inside the 95% intervals (of ``ar[1]``
    and ``ar[2]``, the coefficients made from the sampled partial autocorrelations)."""
    reference = json.loads((REFERENCE.parent / "arma.json").read_text())["sleep_ar2"]
    formula = "Reaction ~ Days + (1 | Subject) + ar(Days, Subject, p = 2)"
    fit = mb.Model(formula, load("sleepstudy")).fit(
        draws=600, tune=500, chains=2, random_seed=7, progressbar=False
    )
    assert fit.posterior.attrs.get("marginalized")
    fixef = fit.fixef().set_index("term")
    for term, value in reference["fixef_py"].items():
        allowed = max(0.5 * fixef.loc[term, "sd"], 2 * reference["fixef_se_py"][term])
        assert abs(fixef.loc[term, "estimate"] - value) <= allowed, term
    varcorr = fit.varcorr().set_index("group")
    sigma = varcorr.loc["Residual"]
    within(sigma["sd_lower"], reference["sigma"], sigma["sd_upper"], "sigma")
    sd = varcorr.loc["Subject"]
    within(sd["sd_lower"], reference["re_sd"]["Intercept"], sd["sd_upper"], "sd")
    structure = fit.autocor().set_index("term")
    for lag, value in enumerate(reference["Phi"], start=1):
        row = structure.loc[f"ar[{lag}]"]
        within(row["lower"], value, row["upper"], f"Phi{lag}")
    assert np.isfinite(fit.loo().elpd_loo)


def simulate(kind: str, seed: int, levels: int, times: int, truth: dict) -> pd.DataFrame:
    """y = 1 + 0.5 x + u_g + e, e an ARMA(1, 1) series (or compound symmetric) per level."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(levels), times)
    t = np.tile(np.arange(times), levels)
    x = rng.normal(0, 1, g.size)
    if kind == "arma":
        phi, theta, sigma = truth["ar"], truth["ma"], truth["sigma"]
        scale = sigma / np.sqrt((1 + 2 * phi * theta + theta**2) / (1 - phi**2))
        burn = 50
        z = rng.normal(0, scale, (levels, times + burn + 1))
        e = np.zeros((levels, times + burn))
        for j in range(1, times + burn):
            e[:, j] = phi * e[:, j - 1] + z[:, j] + theta * z[:, j - 1]
        e = e[:, burn:].ravel()
    else:
        rho, sigma = truth["cosy"], truth["sigma"]
        shared = rng.normal(0, sigma * np.sqrt(rho), levels)[g]
        e = shared + rng.normal(0, sigma * np.sqrt(1 - rho), g.size)
    u = rng.normal(0, truth.get("sd_g", 0.0), levels)[g]
    return pd.DataFrame({"y": 1.0 + 0.5 * x + u + e, "x": x, "g": g, "t": t})


@pytest.mark.parametrize(
    "kind, formula, truth",
    [
        ("arma", "y ~ x + (1 | g) + arma(t, g)", {"ar": 0.6, "ma": 0.3, "sigma": 1.0, "sd_g": 0.5}),
        ("cosy", "y ~ x + cosy(t, g)", {"cosy": 0.4, "sigma": 1.0}),
    ],
)
def test_structures_recover_simulated_truth(kind, formula, truth):
    data = simulate(kind, seed=3, levels=80, times=8, truth=truth)
    fit = mb.Model(formula, data).fit(
        draws=600, tune=500, chains=2, random_seed=2, progressbar=False
    )
    structure = fit.autocor(prob=0.99).set_index("term")
    for name in ("ar", "ma", "cosy"):
        if name in truth:
            row = structure.loc[name if name == "cosy" else f"{name}[1]"]
            within(row["lower"], truth[name], row["upper"], name)
    fixef = fit.fixef(prob=0.99).set_index("term")
    for term, value in (("Intercept", 1.0), ("x", 0.5)):
        within(fixef.loc[term, "lower"], value, fixef.loc[term, "upper"], term)
    varcorr = fit.varcorr(prob=0.99).set_index("group")
    within(
        varcorr.loc["Residual", "sd_lower"],
        truth["sigma"],
        varcorr.loc["Residual", "sd_upper"],
        "sigma",
    )


def test_unstr_recovers_simulated_correlations():
    """Four time points with a known correlation matrix (sd 0.8), 80 levels each missing
    a time point with probability 0.15: every true correlation, sigma and the fixed effects
    inside their 99% intervals (the module's rule)."""
    rng = np.random.default_rng(17)
    C = np.array([[1, 0.6, 0.4, 0.2], [0.6, 1, 0.5, 0.3], [0.4, 0.5, 1, 0.7], [0.2, 0.3, 0.7, 1]])
    e = rng.normal(size=(80, 4)) @ np.linalg.cholesky(0.64 * C).T
    g, t = np.meshgrid(np.arange(80), np.arange(4), indexing="ij")
    keep = rng.random((80, 4)) > 0.15
    x = rng.normal(size=keep.sum())
    data = pd.DataFrame({"y": 1.0 + 0.5 * x + e[keep], "x": x, "g": g[keep], "t": t[keep]})
    fit = mb.Model("y ~ x + unstr(time = t, gr = g)", data).fit(
        draws=500, tune=500, chains=2, random_seed=6, progressbar=False
    )
    structure = fit.autocor(prob=0.99).set_index("term")
    for i in range(4):
        for j in range(i + 1, 4):
            row = structure.loc[f"cortime[{i},{j}]"]
            within(row["lower"], C[i, j], row["upper"], (i, j))
    fixef = fit.fixef(prob=0.99).set_index("term")
    for term, value in (("Intercept", 1.0), ("x", 0.5)):
        within(fixef.loc[term, "lower"], value, fixef.loc[term, "upper"], term)
    sigma = fit.varcorr(prob=0.99).set_index("group").loc["Residual"]
    within(sigma["sd_lower"], 0.8, sigma["sd_upper"], "sigma")

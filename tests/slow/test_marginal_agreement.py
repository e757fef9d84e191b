"""The marginalized and the plain (non-centered) model give the same posterior.

Both sample the same prior and likelihood; only the random effects' treatment differs
(integrated out and drawn afterwards, or sampled). Rule: the posterior means of every fixed
effect, sd, correlation and sigma differ by less than 4 combined Monte Carlo standard
errors (each fit's bulk ESS above 100, so the se is reliable); random effects' posterior
means correlate above 0.99 and differ by less than 0.15 posterior sd at the median.

(A first rule, within 0.25 posterior sd, failed once for the sd of an 8-level factor that
both fits sample non-centered: 0.32 sd apart, about 3 Monte Carlo se with its ESS. The
difference is sampling noise, so the rule is now stated in Monte Carlo se.)
"""

import arviz as az
import numpy as np
import pytest

import mixedbayes as mb
from conftest import load

pytestmark = pytest.mark.slow


def summaries(fit) -> dict:
    """Posterior (mean, Monte Carlo se, bulk ESS) of every fixed effect, sd, correlation,
    sigma, correlation-structure parameter and smooth sd."""
    posterior = fit.idata.posterior
    out = {}
    for name in posterior.data_vars:
        if not (
            name in ("Intercept", "b", "sigma", "ar", "ma", "cosy")
            or name.startswith(("sd_", "cor_", "sds_"))
        ):
            continue
        values = posterior[name].values
        if name.startswith("cor_"):
            upper = np.triu_indices(values.shape[-1], 1)
            values = values[..., upper[0], upper[1]]
        values = values.reshape(*values.shape[:2], -1)
        for i in range(values.shape[-1]):
            draws = values[..., i]
            out[f"{name}[{i}]"] = (
                draws.mean(),
                float(np.ravel(az.mcse(draws, method="mean"))[0]),
                float(az.ess(draws, method="bulk")),
            )
    return out


def compare(data, formula, group, integrated=None):
    fits = {
        marginalize: mb.Model(formula, data).fit(
            draws=1000,
            tune=1000,
            chains=2,
            random_seed=3,
            progressbar=False,
            marginalize=marginalize,
        )
        for marginalize in (False, group)
    }
    plain, marginal = (summaries(fits[m]) for m in (False, group))
    assert fits[group].idata.posterior.attrs["marginalized"] == (integrated or group)
    assert plain.keys() == marginal.keys()
    for name, (mean, mcse, ess) in plain.items():
        other, other_mcse, other_ess = marginal[name]
        assert min(ess, other_ess) > 100, (name, ess, other_ess)  # the se is then reliable
        assert abs(other - mean) < 4 * np.hypot(mcse, other_mcse), (name, mean, other)
    r_plain = fits[False].ranef().set_index(["group_var", "term", "group"])
    r_marginal = fits[group].ranef().set_index(["group_var", "term", "group"])
    r_marginal = r_marginal.loc[r_plain.index]
    assert np.corrcoef(r_plain.value, r_marginal.value)[0, 1] > 0.99
    assert np.median(np.abs(r_plain.value - r_marginal.value) / r_plain.se) < 0.15


def test_sleepstudy_random_slopes():
    compare(load("sleepstudy"), "Reaction ~ Days + (1 + Days | Subject)", "Subject")


def test_crossed_factors():
    """Two crossed factors: the larger integrated level by level, the 8 data-rich sites
    (30 rows each, kappa about 30) with it (Woodbury), and both drawn afterwards."""
    data = mb.simulate(
        "y ~ x + (1 | rater) + (1 | site)",
        groups={"rater": 40, "site": 8},
        n_per_group=6,
        fixed={"Intercept": 1.0, "x": 0.5},
        sd={"rater": {"Intercept": 0.6}, "site": {"Intercept": 0.8}},
        sigma=0.5,
        random_seed=4,
    )
    compare(data, "y ~ x + (1 | rater) + (1 | site)", "rater", "rater, site")


def test_random_slopes_integrated_with_ar1_residuals():
    """The subjects' intercepts and slopes integrated with the AR(1) residuals (the
    innovations path) against all of them sampled."""
    formula = "Reaction ~ Days + (1 + Days | Subject) + ar(Days, Subject)"
    compare(load("sleepstudy"), formula, "Subject")

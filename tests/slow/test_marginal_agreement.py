"""The marginalized and the plain (non-centered) model give the same posterior.

Both sample the same prior and likelihood; only the random effects' treatment differs
(integrated out and drawn afterwards, or sampled). Rule fixed beforehand: posterior means
of fixed effects, sds, correlations and sigma within 0.25 posterior sd of each other (Monte
Carlo error of the plain fit's ~500+ effective draws is ~0.05 sd); random effects'
posterior means correlate above 0.99 and differ by less than 0.15 posterior sd at the
median.
"""

import numpy as np
import pytest

import mixedbayes as mb
from conftest import load

pytestmark = pytest.mark.slow


def summaries(fit) -> dict:
    """Posterior (mean, sd) of every fixed effect, sd, correlation and sigma."""
    posterior = fit.idata.posterior
    out = {}
    for name in posterior.data_vars:
        if not (name in ("Intercept", "b", "sigma") or name.startswith(("sd_", "cor_"))):
            continue
        values = posterior[name].values.reshape(-1, *posterior[name].shape[2:])
        if name.startswith("cor_"):
            values = values[
                :, np.triu_indices(values.shape[1], 1)[0], np.triu_indices(values.shape[1], 1)[1]
            ]
        values = values.reshape(len(values), -1)
        for i in range(values.shape[1]):
            out[f"{name}[{i}]"] = (values[:, i].mean(), values[:, i].std())
    return out


def compare(data, formula, group):
    fits = {
        marginalize: mb.Model(formula, data).fit(
            draws=1000,
            tune=500,
            chains=2,
            random_seed=3,
            progressbar=False,
            marginalize=marginalize,
        )
        for marginalize in (False, group)
    }
    plain, marginal = (summaries(fits[m]) for m in (False, group))
    assert fits[group].idata.posterior.attrs["marginalized"] == group
    assert plain.keys() == marginal.keys()
    for name, (mean, sd) in plain.items():
        assert abs(marginal[name][0] - mean) < 0.25 * sd, (name, mean, marginal[name][0], sd)
    r_plain = fits[False].ranef().set_index(["group_var", "term", "group"])
    r_marginal = fits[group].ranef().set_index(["group_var", "term", "group"])
    r_marginal = r_marginal.loc[r_plain.index]
    assert np.corrcoef(r_plain.value, r_marginal.value)[0, 1] > 0.99
    assert np.median(np.abs(r_plain.value - r_marginal.value) / r_plain.se) < 0.15


def test_sleepstudy_random_slopes():
    compare(load("sleepstudy"), "Reaction ~ Days + (1 + Days | Subject)", "Subject")


def test_crossed_factors():
    """Two crossed factors: the larger is integrated, the other sampled non-centered."""
    data = mb.simulate(
        "y ~ x + (1 | rater) + (1 | site)",
        groups={"rater": 40, "site": 8},
        n_per_group=6,
        fixed={"Intercept": 1.0, "x": 0.5},
        sd={"rater": {"Intercept": 0.6}, "site": {"Intercept": 0.4}},
        sigma=0.5,
        random_seed=4,
    )
    compare(data, "y ~ x + (1 | rater) + (1 | site)", "rater")

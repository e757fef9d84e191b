"""Simulation-based calibration (``validation/sbc.py``): a small run, and its truth generator.

The fast tests check that the simulated truths follow the stated priors (closed-form
moments) and the priors the compiled model actually has (its prior draws). The slow test
runs a small Gaussian SBC through the same functions as the full validation and requires
no parameter's rank-uniformity p-value below 0.001: with 15 simulations this catches gross
errors (a wrong intercept transform or sd prior puts most ranks at one end), not subtle
ones; the full 200-simulation run in ``docs/sbc.md`` is the real check.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

ROOT = Path(__file__).resolve().parents[2]


def _load_sbc():
    name = "mixedbayes_validation_sbc"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "validation" / "sbc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


sbc = _load_sbc()
N_DRAWS = 2000


def _half_t_mean(nu: float, sigma: float) -> float:
    """E|sigma T_nu| for nu > 1."""
    log_ratio = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2)
    return 2 * sigma * math.sqrt(nu / math.pi) / (nu - 1) * math.exp(log_ratio)


def _closed_form(dist: str, params: dict) -> tuple[float, float]:
    """(mean, variance) of a prior, or NaN variance where it is infinite."""
    if dist == "Normal":
        return params["mu"], params["sigma"] ** 2
    if dist == "HalfNormal":
        return params["sigma"] * math.sqrt(2 / math.pi), params["sigma"] ** 2 * (1 - 2 / math.pi)
    if dist == "HalfStudentT":
        nu, sigma = params["nu"], params["sigma"]
        mean = _half_t_mean(nu, sigma)
        return mean, (sigma**2 * nu / (nu - 2) - mean**2) if nu > 2 else math.nan
    if dist == "Gamma":
        return params["alpha"] / params["beta"], params["alpha"] / params["beta"] ** 2
    if dist == "LKJ":  # the correlation of a 2 x 2 LKJ(eta) matrix
        return 0.0, 1 / (2 * params["eta"] + 1)
    raise ValueError(dist)


def _truths(family: str, n: int = N_DRAWS, seed: int = 0) -> dict[str, np.ndarray]:
    design = sbc.make_design()
    rng = np.random.default_rng(seed)
    draws = [sbc.draw_truth(family, design, rng) for _ in range(n)]
    return {key: np.array([d[key] for d in draws]) for key in draws[0]}


@pytest.mark.parametrize("family", sbc.FAMILIES)
def test_truth_follows_the_stated_priors(family):
    """Means (and variances where finite) of 2000 truths match each prior's closed form,
    within 4.5 standard errors (the sd of a sample mean is sqrt(var / n))."""
    truths = _truths(family)
    spec = sbc.PRIOR_SPECS[family]
    samples = {
        "Intercept": truths["Intercept_centered"],
        "b": truths["b"],
        "sd": truths["sd"].reshape(-1),  # both sds share the prior
        "cor": truths["cor"],
    }
    for name in ("sigma", "sigma_b", "hu_Intercept"):
        if name in spec:
            samples[name] = truths[name]
    if "sigma_Intercept" in spec:  # at the mean of x, as the mean's intercept
        samples["sigma_Intercept"] = truths["sigma_Intercept_centered"]
        x_mean = sbc.make_design()["x"].mean()
        np.testing.assert_allclose(
            truths["sigma_Intercept"],
            truths["sigma_Intercept_centered"] - x_mean * truths["sigma_b"],
        )
    assert set(samples) == set(spec)
    for cls, values in samples.items():
        mean, var = _closed_form(*spec[cls])
        scale = math.sqrt(var) if np.isfinite(var) else np.std(values)
        assert abs(values.mean() - mean) < 4.5 * scale / math.sqrt(values.size), cls
        if np.isfinite(var) and cls != "sd":  # heavy-tailed sds: their variance is noisy
            assert values.var() == pytest.approx(var, rel=0.15), cls
    assert (truths["sd"] > 0).all() and (np.abs(truths["cor"]) < 1).all()
    # the user-scale intercept is the centered one moved to x = 0
    x_mean = sbc.make_design()["x"].mean()
    np.testing.assert_allclose(
        truths["Intercept"], truths["Intercept_centered"] - x_mean * truths["b"]
    )


def test_random_effects_have_the_drawn_covariance():
    """Given sds and a correlation, the group effects are N(0, S R S)."""
    rng = np.random.default_rng(3)
    design = sbc.make_design(n_groups=4000, n_per_group=1)
    truth = sbc.draw_truth("gaussian", design, rng)
    sd, cor = truth["sd"], truth["cor"]
    cov = np.cov(truth["r"].T)
    expected = np.array([[sd[0] ** 2, cor * sd[0] * sd[1]], [cor * sd[0] * sd[1], sd[1] ** 2]])
    np.testing.assert_allclose(cov, expected, atol=0.1 * sd.max() ** 2)


def test_truth_matches_the_model_prior():
    """The generator's draws and the compiled model's own prior draws (PyMC) have the same
    distribution for every recorded population parameter (two-sample KS, p > 0.001)."""
    import pymc as pm

    import mixedbayes as mb

    family = "gaussian"
    design = sbc.make_design()
    truths = _truths(family, seed=1)
    rng = np.random.default_rng(2)
    truth = sbc.draw_truth(family, design, rng)
    data = design.assign(y=sbc.simulate_response(family, design, truth, rng))
    model = mb.Model(sbc.FORMULA, data, family=family, priors=sbc.model_priors(family))
    pymc_model = model.pymc_model
    names = ["Intercept", "b", "sd_g", "cor_g", "sigma"]
    prior = dict(
        zip(
            names,
            pm.draw([pymc_model[n] for n in names], draws=1000, random_seed=4),
            strict=True,
        )
    )
    # b: (draws, 1) for the one slope; sd_g: (draws, 2); cor_g: (draws, 2, 2)
    pairs = {
        "Intercept": (truths["Intercept"], prior["Intercept"]),
        "b[x]": (truths["b"], prior["b"][:, 0]),
        "sd_g[Intercept]": (truths["sd"][:, 0], prior["sd_g"][:, 0]),
        "sd_g[x]": (truths["sd"][:, 1], prior["sd_g"][:, 1]),
        "cor_g": (truths["cor"], prior["cor_g"][:, 0, 1]),
        "sigma": (truths["sigma"], prior["sigma"]),
    }
    for name, (ours, theirs) in pairs.items():
        assert np.shape(theirs) == (1000,), name
        p = stats.ks_2samp(ours, theirs).pvalue
        assert p > 0.001, f"{name}: generator and model prior differ (KS p = {p:.2g})"
    # jointly too: Intercept = Intercept_centered - mean(x) b makes them correlated (about
    # -0.35 here), which a truth on the wrong scale (uncorrelated) would miss
    ours = np.corrcoef(truths["Intercept"], truths["b"])[0, 1]
    theirs = np.corrcoef(prior["Intercept"], prior["b"][:, 0])[0, 1]
    assert ours < -0.25 and abs(ours - theirs) < 0.1, (ours, theirs)


@pytest.mark.parametrize(
    "family, names",
    [("gaussian_sigma", ["sigma_Intercept", "sigma_b"]), ("hurdle_poisson", ["hu_Intercept"])],
)
def test_distributional_truth_matches_the_model_prior(family, names):
    """The dpars' parameters of the generator and of the compiled model's prior draws
    (``sigma_Intercept`` at x = 0 after its centered prior) agree (two-sample KS)."""
    import pymc as pm

    import mixedbayes as mb

    design = sbc.make_design()
    truths = _truths(family, n=1000, seed=1)
    rng = np.random.default_rng(2)
    truth = sbc.draw_truth(family, design, rng)
    data = design.assign(y=sbc.simulate_response(family, design, truth, rng))
    model = mb.Model(
        sbc.model_spec(family),
        data,
        family=sbc.FAMILY_OF.get(family, family),
        priors=sbc.model_priors(family),
    )
    pymc_model = model.pymc_model
    prior = pm.draw([pymc_model[n] for n in names], draws=1000, random_seed=4)
    for name, theirs in zip(names, prior, strict=True):
        p = stats.ks_2samp(truths[name], np.reshape(theirs, 1000)).pvalue
        assert p > 0.001, f"{family} {name}: generator and model prior differ (KS p = {p:.2g})"


def test_thin_and_rank():
    """Thinning keeps evenly spaced draws per chain; a rank counts the draws below."""
    draws = np.arange(2 * 250).reshape(2, 250)
    kept = sbc.thin(draws, 49)
    assert kept.size == 49
    np.testing.assert_array_equal(kept[:25], np.arange(9, 250, 10))
    np.testing.assert_array_equal(kept[25:], 250 + np.arange(9, 240, 10))
    with pytest.raises(ValueError):
        sbc.thin(draws[:, :10], 49)


def test_uniformity_tests():
    """Uniform ranks pass; ranks piled at one end fail."""
    rng = np.random.default_rng(0)
    uniform = sbc.uniformity(rng.integers(0, 50, 200), 49, bins=10)
    assert uniform["chi2_p"] > 0.01 and uniform["ks_p"] > 0.01
    biased = sbc.uniformity(rng.integers(0, 10, 200), 49, bins=10)
    assert biased["chi2_p"] < 1e-6 and biased["ks_p"] < 1e-6
    assert sbc.n_bins(200, 49) == 10 and sbc.n_bins(20, 19) == 4 and sbc.n_bins(3, 19) == 1


# Each fit compiles its model (about 4-6 s of graph rewriting, whatever the draws), so the
# run is kept to 15 one-chain fits: L = 14 ranks from every 5th of 75 draws, 3 bins.
SLOW = sbc.Settings(draws=75, tune=150, chains=1, n_ranks=14, target_accept=0.8)
SLOW_SIMS = 15


@pytest.mark.slow
def test_small_sbc_run_is_calibrated(tmp_path):
    """15 Gaussian simulations: every fit succeeds, ranks lie in [0, L], and no parameter's
    chi-square or KS p-value is below 0.001."""
    records = sbc.run_sims("gaussian", range(SLOW_SIMS), SLOW, out=None, verbose=False)
    summary = sbc.write_outputs({"gaussian": records}, SLOW, tmp_path)
    assert all(r["error"] is None for r in records), [r["error"] for r in records]
    table = sbc.ranks_table(records)
    for name in sbc.family_parameters("gaussian"):
        assert table[name].between(0, SLOW.n_ranks).all(), name
    assert len(summary) == len(sbc.family_parameters("gaussian"))
    assert (summary["sims"] == SLOW_SIMS).all()
    worst = summary[["chi2_p", "ks_p"]].min(axis=1)
    assert (worst >= 0.001).all(), summary[["parameter", "chi2_p", "ks_p", "mean"]]
    for name in ("sbc_ranks_gaussian.csv", "sbc_summary.csv", "sbc_summary.md", "sbc_ranks.png"):
        assert (tmp_path / name).stat().st_size > 0

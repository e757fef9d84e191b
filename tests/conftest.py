"""Shared test helpers: paths to ../shared, reference fits, and the real data sets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"

# factor level orders used by the lme4 reference fits (../shared/reference/README.md)
LEVELS = {
    "ses": ["lowest", "2", "3", "4", "5", "highest"],
    "hospsize": ["small", "medium", "large"],
    "treatment": ["Ctrl", "Training"],
}


def load(name: str) -> pd.DataFrame:
    """A real data set from ../shared/data, with the reference fits' level orders."""
    path = DATA / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    data = pd.read_csv(path)
    for column, levels in LEVELS.items():
        if column in data:
            data[column] = pd.Categorical(data[column].astype(str), categories=levels)
    return data


def reference(name: str) -> dict:
    """An lme4 fit from ../shared/reference or tests/reference/lme4_extra.json."""
    for path in (
        SHARED / "reference" / "lme4_reference.json",
        ROOT / "tests" / "reference" / "lme4_extra.json",
    ):
        if path.exists():
            fits = json.loads(path.read_text())
            if name in fits:
                return fits[name]
    pytest.skip(f"no lme4 reference named {name}")


def lme4_term(term: str) -> str:
    """formulaic's term name in lme4's spelling: 'sex[T.male]' -> 'sexmale'."""
    if term == "Intercept":
        return "(Intercept)"
    return re.sub(r"(\w+)\[T\.([^\]]+)\]", r"\1\2", term)


def at_a_point(model, seed: int, jitter: float = 0.3):
    """A random point of a model's sampler space: ``(point, values, observed)`` with the
    values of its variables and the observed log-density per row (None when the response
    is a Potential, as with weights, censoring or truncation)."""
    m = model.pymc_model
    rng = np.random.default_rng(seed)
    point = {k: v + rng.normal(0, jitter, np.shape(v)) for k, v in m.initial_point().items()}
    names = [v.name for v in m.free_RVs + m.deterministics]
    fn = m.compile_fn(m.replace_rvs_by_values([m[n] for n in names]), inputs=m.value_vars)
    values = dict(zip(names, fn(point), strict=True))
    observed = None
    if m.observed_RVs:
        observed = m.compile_logp(vars=m.observed_RVs, sum=False)(point)[0]
    return point, values, observed


def jittered_point(pm_model, seed: int = 2, jitter: float = 0.3) -> dict:
    """The model's initial point with every value moved by N(0, jitter) noise."""
    rng = np.random.default_rng(seed)
    start = pm_model.initial_point()
    return {k: v + rng.normal(0, jitter, size=np.shape(v)) for k, v in start.items()}


def values_at(pm_model, names, point) -> dict:
    """``{name: value}`` of the model's variables ``names`` at ``point``."""
    outputs = pm_model.replace_rvs_by_values([pm_model[n] for n in names])
    fn = pm_model.compile_fn(outputs, inputs=pm_model.value_vars, on_unused_input="ignore")
    return dict(zip(names, fn(point), strict=True))


def full_Z(block) -> np.ndarray:
    """The dense n x (levels * k) matrix of a random block, coefficient-major."""
    columns = []
    for a in range(len(block.coefs)):
        indicator = np.zeros((block.index.size, block.n_levels))
        indicator[np.arange(block.index.size), block.index] = block.Z[:, a]
        columns.append(indicator)
    return np.hstack(columns)


def repeated_posterior(params: dict, dims: dict, coords: dict, n_draws: int):
    """A one-chain posterior Dataset holding the same ``params`` in each of ``n_draws``
    draws (``dims``: name -> its dimension names)."""
    import xarray as xr

    variables = {
        name: (
            ["chain", "draw", *dims.get(name, [])],
            np.broadcast_to(v, (1, n_draws, *np.shape(v))),
        )
        for name, v in params.items()
    }
    return xr.Dataset(variables, coords=coords)


def prior_fit(model, draws: int = 60, seed: int = 2):
    """A Fit whose "posterior" is ``draws`` prior draws (one chain): the outputs' shapes
    and plumbing without sampling."""
    import arviz as az

    import mixedbayes as mb

    prior = model.prior_predictive(draws=draws, random_seed=seed)
    return mb.Fit(model, az.InferenceData(posterior=prior.prior, observed_data=prior.observed_data))


def assert_gaussian_moments(sample: np.ndarray, mean, cov: np.ndarray) -> None:
    """Draws (one per row) with the moments of N(mean, cov): the sample mean within 4
    standard errors, each sample covariance within 5 (for Gaussian draws its variance is
    (c_ii c_jj + c_ij^2) / n); ``mean`` None checks the covariance alone."""
    n = sample.shape[0]
    if mean is not None:
        se = np.sqrt(np.diag(cov) / n)
        assert np.all(np.abs(sample.mean(axis=0) - mean) < 4 * se)
    cov_se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(sample.T) - cov) < 5 * cov_se)


def uneven_levels() -> pd.DataFrame:
    """Data for correlation structures: uneven levels of ``g``, shuffled rows, a gap in
    level b's times ``t`` (1 to 3), a one-row level; ``x``, ``y`` and a factor ``h``."""
    rng = np.random.default_rng(4)
    times = {"a": [0, 1, 2, 3], "b": [0, 1, 3, 4, 5], "c": [2], "d": [0, 1, 2]}
    rows = [(g, t) for g, ts in times.items() for t in ts]
    frame = pd.DataFrame(rows, columns=["g", "t"]).sample(frac=1.0, random_state=1)
    frame = frame.reset_index(drop=True)
    n = len(frame)
    frame["x"] = rng.normal(0, 1, n)
    frame["y"] = 1.0 + 0.5 * frame["x"] + rng.normal(0, 1, n)
    frame["h"] = rng.choice(["u", "v"], n)
    return frame

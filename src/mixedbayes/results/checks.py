"""Model checks and comparison: ICC, Bayesian R², LOO/WAIC, posterior predictive draws.

Definitions (all computed draw by draw, then summarized):

- ICC of factor g: ``tau_g^2 / (sum_h tau_h^2 + sigma_e^2)`` with ``tau`` the random
  *intercept* sds (random slopes are not part of it: with slopes the share depends on x)
  and ``sigma_e^2`` the residual variance: ``sigma^2`` for Gaussian models, and on the latent
  scale pi^2/3 for logit, 1 for probit and pi^2/6 for cloglog links (Nakagawa & Schielzeth
  2010) for bernoulli, binomial and cumulative models. Other families have no
  agreed residual variance and raise an error.
- Bayesian R² (Gelman, Goodrich, Gabry & Vehtari 2019, residual form as brms's
  ``bayes_R2``): ``var(fit) / (var(fit) + var(y - fit))`` over the rows, with ``fit`` the
  expected response; "marginal" uses the fixed effects only, "conditional" adds the random
  effects.
- LOO and WAIC from the pointwise log-likelihood, computed on demand with the NumPy
  log-densities of :mod:`mixedbayes.families`.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import FamilyError
from ..graph import coef_dim, response_name
from .predict import log_likelihood, predict
from .stats import equal_tailed


def _interval(draws: np.ndarray, prob: float) -> dict:
    lower, upper = equal_tailed(draws, prob)
    return {"estimate": float(np.mean(draws)), "lower": lower, "upper": upper}


def icc_table(fit, prob: float = 0.95) -> pd.DataFrame:
    """``group, estimate, lower, upper``: intraclass correlation per grouping factor."""
    model = fit.model
    family = model.family
    stacked = fit.posterior.stack(sample=("chain", "draw"))
    if model.design.dpars:
        raise FamilyError(
            "icc() needs one residual variance; this model has a formula for "
            f"{', '.join(p.dpar for p in model.design.dpars)} (use varcorr() or r2())"
        )
    aux = {name: stacked[name].values for name in family.aux}
    residual = family.residual_variance(aux)
    if residual is None:
        raise FamilyError(
            f"icc() is defined for gaussian models and, on the latent scale, for bernoulli, "
            f"binomial and cumulative ones; family {family.name!r} has no agreed residual "
            "variance (use varcorr() or r2())"
        )
    residual = np.broadcast_to(residual, (stacked.sizes["sample"],))
    intercepts = {}
    for block in model.design.factor_blocks:
        if "Intercept" in block.coefs:
            sd = stacked[f"sd_{block.group}"].sel({coef_dim(block.group): "Intercept"})
            intercepts[block.group] = sd.values**2
    if not intercepts:
        raise FamilyError("icc() needs at least one random intercept, e.g. (1 | g)")
    total = sum(intercepts.values()) + residual
    rows = [{"group": g, **_interval(v / total, prob)} for g, v in intercepts.items()]
    return pd.DataFrame(rows, columns=["group", "estimate", "lower", "upper"])


def r2_table(fit, prob: float = 0.95) -> pd.DataFrame:
    """Rows ``marginal`` and ``conditional``; columns ``estimate, lower, upper``."""
    if fit.model.family.per_category:
        raise FamilyError(
            f"r2() is not defined for {fit.model.family.name} models (a probability per category)"
        )
    y = fit.model.design.y
    rows = {}
    for name, include_random in (("marginal", False), ("conditional", True)):
        mean = predict(fit, include_random=include_random, kind="mean", draws=True)
        explained = mean.var(axis=1)
        residual = (y - mean).var(axis=1)
        rows[name] = _interval(explained / (explained + residual), prob)
    return pd.DataFrame.from_dict(rows, orient="index")[["estimate", "lower", "upper"]]


def with_log_likelihood(fit) -> az.InferenceData:
    """``fit.idata`` with a ``log_likelihood`` group (added once, then reused)."""
    idata = fit.idata
    if "log_likelihood" not in idata.groups():
        values = log_likelihood(fit)
        name = response_name(fit.model.design)
        posterior = fit.posterior
        data = xr.DataArray(
            values,
            dims=("chain", "draw", "obs"),
            coords={"chain": posterior["chain"], "draw": posterior["draw"]},
        )
        idata.add_groups(log_likelihood=xr.Dataset({name: data}))
    return idata


def posterior_predictive(fit, random_seed=None) -> az.InferenceData:
    """A copy of ``fit.idata`` with ``posterior_predictive`` and ``observed_data`` groups."""
    name = response_name(fit.model.design)
    draws = predict(fit, kind="response", draws=True, random_seed=random_seed)
    sizes = fit.posterior.sizes
    values = draws.reshape(sizes["chain"], sizes["draw"], -1)
    coords = {"chain": fit.posterior["chain"], "draw": fit.posterior["draw"]}
    ppc = xr.Dataset({name: xr.DataArray(values, dims=("chain", "draw", "obs"), coords=coords)})
    idata = fit.idata.copy()
    idata.add_groups(posterior_predictive=ppc)
    if "observed_data" not in idata.groups():
        observed = xr.Dataset({name: xr.DataArray(fit.model.design.y, dims=("obs",))})
        idata.add_groups(observed_data=observed)
    return idata


def compare_fits(fits: dict, ic: str = "loo") -> pd.DataFrame:
    """ArviZ's comparison table of named fits, best first (on the same data)."""
    if len(fits) < 2:
        raise ValueError("compare() needs at least two fits, as a dict {'name': fit, ...}")
    sizes = {name: fit.model.design.n_obs for name, fit in fits.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the fits use different numbers of observations: {sizes}")
    idatas = {name: with_log_likelihood(fit) for name, fit in fits.items()}
    return az.compare(idatas, ic=ic)


def prior_posterior_table(fit, draws: int = 1000, random_seed=None) -> pd.DataFrame:
    """Prior and posterior mean and sd of each scalar parameter, and the shrinkage.

    ``contraction`` is 1 - posterior variance / prior variance: near 1 when the data
    dominate, near 0 when the posterior is the prior.
    """
    prior = fit.model.prior_predictive(draws=draws, random_seed=random_seed).prior
    prior_flat = prior.stack(sample=("chain", "draw"))
    post_flat = fit.posterior.stack(sample=("chain", "draw"))
    rows = []
    for name in _parameter_names(fit):
        if name not in prior_flat:
            continue
        p, q = prior_flat[name], post_flat[name]
        other = [d for d in p.dims if d != "sample"]
        for labels, p_draws in _elements(p, other):
            q_draws = q.sel(dict(zip(other, labels, strict=True))).values if other else q.values
            label = f"{name}[{', '.join(map(str, labels))}]" if other else name
            rows.append(
                {
                    "parameter": label,
                    "prior_mean": float(np.mean(p_draws)),
                    "prior_sd": float(np.std(p_draws)),
                    "posterior_mean": float(np.mean(q_draws)),
                    "posterior_sd": float(np.std(q_draws)),
                    "contraction": 1 - float(np.var(q_draws) / np.var(p_draws)),
                }
            )
    return pd.DataFrame(rows)


def _parameter_names(fit) -> list[str]:
    design, family = fit.model.design, fit.model.family
    names = ["Intercept", "b"] + [f"sd_{g}" for g in design.groups] + list(family.aux)
    names += [f"cor_{b.group}" for b in design.blocks if b.correlated_groups]
    return [n for n in names if n in fit.posterior]


def _elements(array: xr.DataArray, dims: list[str]):
    if not dims:
        yield (), array.values
        return
    for labels in pd.MultiIndex.from_product([array[d].values for d in dims]):
        labels = labels if isinstance(labels, tuple) else (labels,)
        if len(dims) == 2 and list(array[dims[0]].values).index(labels[0]) >= list(
            array[dims[1]].values
        ).index(labels[1]):
            continue  # a correlation matrix: each pair once, no diagonal
        yield labels, array.sel(dict(zip(dims, labels, strict=True))).values

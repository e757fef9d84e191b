"""The lme4-vocabulary tables: fixed effects, variance components, correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..build import coef_dim
from .stats import COLUMNS, check_prob, summarize


def fixef_table(
    posterior: xr.Dataset, fixed_terms: tuple[str, ...], prob: float, exponentiate: bool = False
) -> pd.DataFrame:
    """``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail``; Intercept on user scale.

    Ordinal thresholds are rows ``Intercept[a|b]``. With ``exponentiate`` the draws are
    exponentiated first (odds or rate ratios): the estimate is the posterior mean of
    exp(coefficient) and the interval the exponentiated interval.
    """
    rows = []
    if "threshold" in posterior.get("Intercept", xr.DataArray()).dims:
        for label in posterior["threshold"].values:
            draws = posterior["Intercept"].sel(threshold=label)
            rows.append(_summary(draws, prob, exponentiate).assign(term=f"Intercept[{label}]"))
    for term in fixed_terms:
        if term == "Intercept":
            if "threshold" in posterior["Intercept"].dims:
                continue
            draws = posterior["Intercept"]
        else:
            draws = posterior["b"].sel(fixed_term=term)
        rows.append(_summary(draws, prob, exponentiate).assign(term=term))
    if not rows:
        return pd.DataFrame(columns=["term", *COLUMNS])
    return pd.concat(rows, ignore_index=True)[["term", *COLUMNS]]


def _summary(draws: xr.DataArray, prob: float, exponentiate: bool) -> pd.DataFrame:
    return summarize(np.exp(draws) if exponentiate else draws, prob)


def varcorr_table(posterior: xr.Dataset, design, family, prob: float) -> pd.DataFrame:
    """``group, term, sd, sd_lower, sd_upper, variance, var_prop, rhat, ess_bulk, ess_tail``.

    One row per random-effect sd plus ``Residual`` for families with ``sigma``. ``variance``
    is the posterior mean of sd squared and ``var_prop`` the posterior mean of its share of
    the sum of all variances (the residual's included).
    """
    check_prob(prob)
    labels, sds = [], []
    for block in design.blocks:
        sd = posterior[f"sd_{block.group}"]
        for coef in block.coefs:
            labels.append((block.group, coef))
            sds.append(sd.sel({coef_dim(block.group): coef}))
    if "sigma" in family.aux:
        labels.append(("Residual", ""))
        sds.append(posterior["sigma"])
    if not sds:
        return pd.DataFrame(columns=_VARCORR)
    stacked = xr.concat([s.reset_coords(drop=True) for s in sds], dim="component")
    stacked = stacked.transpose("component", "chain", "draw")
    variances = stacked.values**2
    shares = variances / variances.sum(axis=0, keepdims=True)
    summary = summarize(stacked.transpose("chain", "draw", "component"), prob)
    table = pd.DataFrame(
        {
            "group": [g for g, _ in labels],
            "term": [t for _, t in labels],
            "sd": summary["estimate"],
            "sd_lower": summary["lower"],
            "sd_upper": summary["upper"],
            "variance": variances.mean(axis=(1, 2)),
            "var_prop": shares.mean(axis=(1, 2)),
            "rhat": summary["rhat"],
            "ess_bulk": summary["ess_bulk"],
            "ess_tail": summary["ess_tail"],
        }
    )
    return table[_VARCORR]


_VARCORR = ["group", "term", "sd", "sd_lower", "sd_upper", "variance", "var_prop"]
_VARCORR += ["rhat", "ess_bulk", "ess_tail"]


def cor_table(posterior: xr.Dataset, design, prob: float) -> pd.DataFrame:
    """``group, term1, term2, estimate, lower, upper, rhat, ess_bulk, ess_tail``."""
    rows = []
    for block in design.blocks:
        dim = coef_dim(block.group)
        for positions in block.correlated_groups:
            for a, i in enumerate(positions):
                for j in positions[a + 1 :]:
                    term1, term2 = block.coefs[i], block.coefs[j]
                    draws = posterior[f"cor_{block.group}"].sel({dim: term1, dim + "_": term2})
                    summary = summarize(draws, prob)
                    rows.append(summary.assign(group=block.group, term1=term1, term2=term2))
    columns = ["group", "term1", "term2", *COLUMNS[:1], *COLUMNS[2:]]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def diagnostics_line(idata, tables: list[pd.DataFrame]) -> str:
    """One line: divergences, worst R-hat and smallest bulk ESS over the reported tables."""
    posterior = idata.posterior
    n = posterior.sizes["chain"] * posterior.sizes["draw"]
    stats = getattr(idata, "sample_stats", None)
    if stats is not None and "diverging" in stats:
        divergent = f"{int(stats['diverging'].sum())} divergent transitions of {n} draws"
    else:
        divergent = f"{n} draws (no sampler statistics)"
    rhat = pd.concat([t["rhat"] for t in tables if len(t)])
    ess = pd.concat([t["ess_bulk"] for t in tables if len(t)])
    return f"{divergent}; max R-hat {rhat.max():.3f}; min bulk ESS {ess.min():.0f}"


def response_note(model) -> list[tuple[str, str]]:
    """A header line saying what is modelled, for coded responses; else nothing."""
    levels, name = model.design.response_levels, model.formula.response
    if levels is None:
        return []
    if model.family.response == "binary":
        return [("Response", f"P({name} = {levels[1]!r}) against {levels[0]!r}")]
    return [("Response", f"{name}: ordered categories {' < '.join(levels)}")]

"""The lme4-vocabulary tables: fixed effects, variance components, correlations."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from ..design.blocks import joint_labels
from ..graph import coef_dim
from .stats import COLUMNS, check_prob, summarize


def fixef_table(posterior: xr.Dataset, design, prob: float, exponentiate: bool = False):
    """``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail, dpar``; Intercept on
    user scale.

    Ordinal thresholds are rows ``Intercept[a|b]``. A distributional parameter's terms are
    prefixed with its name (``sigma_Intercept``, ``sigma_x``, on its link scale), with
    ``dpar`` saying whose they are. With ``exponentiate`` the draws are exponentiated first
    (odds or rate ratios): the estimate is the posterior mean of exp(coefficient) and the
    interval the exponentiated interval.
    """
    rows = []
    for term, variable, selection, dpar in fixed_sources(posterior, design):
        summary = _summary(posterior[variable].sel(selection), prob, exponentiate)
        rows.append(summary.assign(term=term, dpar=dpar))
    columns = ["term", *COLUMNS, "dpar"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def fixed_sources(posterior: xr.Dataset, design) -> list[tuple[str, str, dict, str]]:
    """``(term, variable, selection, dpar)`` of each fixed effect, in ``fixef`` order.

    ``posterior[variable].sel(selection)`` holds the draws of ``term`` (named as
    ``fixef`` names it: ``Intercept[a|b]`` thresholds, dpar prefixes such as
    ``sigma_x``); any Dataset with the posterior's variables (prior draws) works.
    """
    sources = []
    if "threshold" in posterior.get("Intercept", xr.DataArray()).dims:
        for label in posterior["threshold"].values:
            sources.append((f"Intercept[{label}]", "Intercept", {"threshold": label}, "mu"))
    for part in design.parts:
        p = part.prefix
        for term in part.fixed_terms:
            if term != "Intercept":
                sources.append((f"{p}{term}", f"{p}b", {f"{p}fixed_term": term}, part.dpar))
            elif "threshold" not in posterior[f"{p}Intercept"].dims:
                sources.append((f"{p}Intercept", f"{p}Intercept", {}, part.dpar))
    return sources


def _summary(draws: xr.DataArray, prob: float, exponentiate: bool) -> pd.DataFrame:
    return summarize(np.exp(draws) if exponentiate else draws, prob)


def varcorr_table(posterior: xr.Dataset, design, family, prob: float) -> pd.DataFrame:
    """``group, term, sd, sd_lower, sd_upper, variance, var_prop, rhat, ess_bulk, ess_tail``.

    One row per random-effect sd plus ``Residual`` for families with ``sigma`` (unless
    sigma has a formula), and ``dpar`` last: the parameter whose predictor the effect
    enters (``mu``; ``sigma`` for the Residual row). ``variance`` is the posterior mean of
    sd squared and ``var_prop`` the posterior mean of its share of the sum of the variances
    of its dpar (the residual's with mu's).
    """
    check_prob(prob)
    labels, sds = [], []
    for block in all_blocks(design):
        sd = posterior[f"sd_{block.group}"]
        for coef in block.coefs:
            labels.append((block.label, coef, block.dpar))
            sds.append(sd.sel({coef_dim(block.group): coef}))
    if "sigma" in family.aux and "sigma" in posterior and posterior["sigma"].ndim == 2:
        labels.append(("Residual", "", "sigma"))  # a formula for sigma: no single residual
        sds.append(posterior["sigma"])
    if not sds:
        return pd.DataFrame(columns=_VARCORR)
    stacked = xr.concat([s.reset_coords(drop=True) for s in sds], dim="component")
    stacked = stacked.transpose("component", "chain", "draw")
    variances = stacked.values**2
    dpars = np.array(["mu" if d == "sigma" and g == "Residual" else d for g, _, d in labels])
    totals = np.zeros_like(variances)
    for dpar in set(dpars):
        totals[dpars == dpar] = variances[dpars == dpar].sum(axis=0)
    shares = variances / totals
    summary = summarize(stacked.transpose("chain", "draw", "component"), prob)
    table = pd.DataFrame(
        {
            "group": [g for g, _, _ in labels],
            "term": [t for _, t, _ in labels],
            "sd": summary["estimate"],
            "sd_lower": summary["lower"],
            "sd_upper": summary["upper"],
            "variance": variances.mean(axis=(1, 2)),
            "var_prop": shares.mean(axis=(1, 2)),
            "rhat": summary["rhat"],
            "ess_bulk": summary["ess_bulk"],
            "ess_tail": summary["ess_tail"],
            "dpar": [d for _, _, d in labels],
        }
    )
    return table[_VARCORR]


_VARCORR = ["group", "term", "sd", "sd_lower", "sd_upper", "variance", "var_prop"]
_VARCORR += ["rhat", "ess_bulk", "ess_tail", "dpar"]


def all_blocks(design) -> list:
    """The random blocks of every distributional parameter, mu's first."""
    return [block for part in design.parts for block in part.factor_blocks]


def smooths_table(posterior: xr.Dataset, design, prob: float) -> pd.DataFrame:
    """``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail, dpar``: the sd of each
    smooth's penalized coefficients, ``sds(sx_1)`` as brms names it, and a Gaussian
    process's ``sdgp(gpx)`` and ``lscale(gpx)`` (in units of the covariate's range)."""
    rows = [
        summarize(posterior[f"{cls}_{block.group}{suffix}"], prob).assign(
            term=f"{cls}({block.label}{suffix})", dpar=block.dpar
        )
        for part in design.parts
        for block in part.blocks
        if block.smooth is not None
        for cls, suffix in (
            [("sds", s) for s, _ in block.penalties]
            if block.frequencies is None
            else [("sdgp", ""), ("lscale", "")]
        )
    ]
    columns = ["term", *COLUMNS, "dpar"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def cor_table(posterior: xr.Dataset, design, prob: float) -> pd.DataFrame:
    """``group, term1, term2, estimate, lower, upper, rhat, ess_bulk, ess_tail, dpar``."""
    rows = []
    for block in all_blocks(design):
        dim = coef_dim(block.group)
        for positions in block.correlated_groups:
            for a, i in enumerate(positions):
                for j in positions[a + 1 :]:
                    term1, term2 = block.coefs[i], block.coefs[j]
                    draws = posterior[f"cor_{block.group}"].sel({dim: term1, dim + "_": term2})
                    summary = summarize(draws, prob)
                    summary = summary.assign(group=block.label, term1=term1, term2=term2)
                    rows.append(summary.assign(dpar=block.dpar))
    rows += _joint_rows(posterior, design, prob)
    columns = ["group", "term1", "term2", *COLUMNS[:1], *COLUMNS[2:], "dpar"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def _joint_rows(posterior: xr.Dataset, design, prob: float) -> list[pd.DataFrame]:
    """Correlations across distributional parameters (an ID, ``(1 |p| g)``): terms
    labelled with their dpar (``sigma_Intercept``), ``dpar`` naming both (``mu, sigma``)."""
    rows = []
    for name, blocks in design.joint_blocks.items():
        owners = [block for block in blocks for _ in block.coefs]
        labels, dim = joint_labels(blocks), coef_dim(name)
        for i, j in itertools.combinations(range(len(labels)), 2):
            if owners[i] is owners[j]:
                continue  # within one block: its own cor_g row
            draws = posterior[f"cor_{name}"].sel({dim: labels[i], dim + "_": labels[j]})
            summary = summarize(draws, prob).assign(group=blocks[0].label)
            dpars = f"{owners[i].dpar}, {owners[j].dpar}"
            rows.append(summary.assign(term1=labels[i], term2=labels[j], dpar=dpars))
    return rows


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
    if model.family.response == "nominal":  # mu is the second category's predictor
        dpars = ["mu", *model.family.aux]
        named = ", ".join(f"{d} {level!r}" for d, level in zip(dpars, levels[1:], strict=True))
        return [("Response", f"{name}: log-odds against {levels[0]!r} of {named}")]
    return [("Response", f"{name}: ordered categories {' < '.join(levels)}")]

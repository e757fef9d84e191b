"""Plots for diagnosing a fit: traces, rank plots, prior against posterior, the funnel.

Traces and rank plots are ArviZ's (``az.plot_trace``, ``az.plot_rank``) over the reported
parameters (fixed effects, sds, correlations, family parameters), not the thousands of
per-level effects. The funnel plot shows a factor's log sd against a few of its levels'
effects, divergent draws in red: the shape that says a non-centered (or centered)
parameterization is struggling.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import DataError
from .checks import _parameter_names
from .plots import _grid

DIVERGENT = "#d62728"


def reported(fit, var_names=None) -> list[str]:
    """The variables to plot: ``var_names`` checked against the posterior, or the
    reported parameters."""
    if var_names is None:
        return _parameter_names(fit)
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    missing = [n for n in names if n not in fit.posterior]
    if missing:
        raise DataError(
            f"no posterior variable {missing[0]!r}; the reported ones are "
            f"{', '.join(_parameter_names(fit))}"
        )
    return names


def plot_trace(fit, var_names=None):
    """ArviZ's trace plot (density and draws per chain) of the reported parameters, one
    row per scalar (of a correlation matrix, each pair once)."""
    import arviz as az

    axes = az.plot_trace(_scalar_dataset(fit, var_names))
    figure = np.asarray(axes).ravel()[0].figure
    figure.tight_layout()
    return figure


def plot_rank(fit, var_names=None):
    """ArviZ's rank plot: per chain, histograms of the draws' ranks over all chains (flat
    when the chains agree; Vehtari et al. 2021)."""
    import arviz as az

    axes = az.plot_rank(_scalar_dataset(fit, var_names))
    figure = np.asarray(axes).ravel()[0].figure
    figure.tight_layout()
    return figure


def _scalar_dataset(fit, var_names):
    """The reported parameters as one (chain, draw) variable per scalar element."""
    import xarray as xr

    posterior = fit.posterior
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    return xr.Dataset(
        {
            label: (("chain", "draw"), draws.reshape(shape))
            for name in reported(fit, var_names)
            for label, _, draws in _scalars(name, posterior[name], posterior[name])
        }
    )


def plot_prior_vs_posterior(fit, draws: int = 1000, random_seed=None, var_names=None):
    """One panel per scalar parameter: its prior density (grey) and posterior (blue).

    A posterior that looks like its prior says the data carry little information about
    that parameter (see also :meth:`mixedbayes.Fit.prior_vs_posterior`'s contraction).
    """
    names = reported(fit, var_names)
    prior = fit.model.prior_predictive(draws=draws, random_seed=random_seed).prior
    panels = [
        (label, p, q)
        for name in names
        if name in prior
        for label, p, q in _scalars(name, prior[name], fit.posterior[name])
    ]
    if not panels:
        raise DataError("none of the parameters has prior draws to compare with")
    fig, axes = _grid(len(panels), 3.2, 2.4)
    for ax, (label, p, q) in zip(axes, panels, strict=True):
        low, high = np.quantile(np.concatenate([p, q]), [0.005, 0.995])
        grid = np.linspace(low, high, 200)
        for values, colour, what in ((p, "0.55", "prior"), (q, "C0", "posterior")):
            density = stats.gaussian_kde(values)(grid) if np.ptp(values) > 0 else 0 * grid
            ax.plot(grid, density, color=colour, label=what)
        ax.set_title(label, fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _scalars(name, prior, posterior):
    """``(label, prior draws, posterior draws)`` per element of a variable."""
    dims = [d for d in posterior.dims if d not in ("chain", "draw")]
    if not dims:
        yield name, prior.values.ravel(), posterior.values.ravel()
        return
    flat_prior = prior.stack(element=dims)
    flat_post = posterior.stack(element=dims)
    seen = set()
    for j, labels in enumerate(flat_post["element"].values):
        labels = labels if isinstance(labels, tuple) else (labels,)
        if name.startswith("cor_") and (labels[0] == labels[-1] or labels[::-1] in seen):
            continue  # a correlation matrix: its diagonal is 1, and it is symmetric
        seen.add(labels)
        yield (
            f"{name}[{', '.join(map(str, labels))}]",
            flat_prior.isel(element=j).values.ravel(),
            flat_post.isel(element=j).values.ravel(),
        )


def plot_funnel(fit, group=None, coef=None, n_levels: int = 4):
    """A factor's log sd against ``n_levels`` of its levels' effects, one panel each;
    divergent draws in red. ``group`` defaults to the factor with the most levels and
    ``coef`` to its first coefficient (the intercept)."""
    design = fit.model.design
    blocks = {b.label: b for b in design.blocks} | {b.group: b for b in design.blocks}
    if not blocks:
        raise DataError("the model has no random effects: there is no funnel to plot")
    if group is None:
        block = max(design.blocks, key=lambda b: b.n_levels)
    elif group in blocks:
        block = blocks[group]
    else:
        raise DataError(f"unknown grouping factor {group!r}; the model has {sorted(blocks)}")
    coef = block.coefs[0] if coef is None else coef
    if coef not in block.coefs:
        raise DataError(f"{block.label!r} has no coefficient {coef!r}: {list(block.coefs)}")
    posterior, name = fit.posterior, block.group
    sd = posterior[f"sd_{name}"].sel({f"{name}__coef": coef}).values.ravel()
    effects = posterior[f"r_{name}"].sel({f"{name}__coef": coef})
    counts = np.bincount(block.index, minlength=block.n_levels)
    shown = np.argsort(counts, kind="stable")[: min(n_levels, block.n_levels)]  # fewest rows
    divergent = _divergent(fit, sd.size)
    fig, axes = _grid(len(shown), 3.0, 2.6, sharey=True)
    for ax, level in zip(axes, shown, strict=True):
        values = effects.isel({name: int(level)}).values.ravel()
        ax.scatter(values[~divergent], np.log(sd[~divergent]), s=4, alpha=0.3, color="C0")
        ax.scatter(values[divergent], np.log(sd[divergent]), s=10, color=DIVERGENT,
                   label="divergent")  # fmt: skip
        ax.set_title(f"{block.label} {block.levels[level]} ({counts[level]} rows)", fontsize=9)
        ax.set_xlabel(f"r[{coef}]")
    axes[0].set_ylabel(f"log sd_{block.label}[{coef}]")
    fig.tight_layout()
    return fig


def _divergent(fit, n: int) -> np.ndarray:
    """Per draw (chains flattened), whether it was divergent (all False if unrecorded)."""
    sample_stats = getattr(fit.idata, "sample_stats", None)
    if sample_stats is None or "diverging" not in sample_stats:
        return np.zeros(n, dtype=bool)
    return np.asarray(sample_stats["diverging"].values, dtype=bool).ravel()

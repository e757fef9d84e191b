"""ESS, R-hat and divergences over the population-level parameters of a posterior.

"Population-level" means fixed effects and variance parameters: random-effect sds,
random-effect correlations and family auxiliaries such as ``sigma``; never the per-level
random effects or their standardized offsets. The two libraries name these differently:

- mixedbayes: ``Intercept``, ``b`` (dim ``fixed_term``), ``sd_<g>`` (dim ``<g>__coef``; a
  term of its own may also appear as ``sd_<g>[x]``), ``cor_<g>`` (the full correlation
  matrix: only its strict upper triangle counts), ``sigma``, ``nu``, ``shape``, ``phi``,
  a smooth's ``sds_<s>`` and a GP's ``sdgp_<gp>`` and ``lscale_<gp>``;
  skipped: ``r_<g>``, ``z_<g>``, ``chol_<g>``, ``Intercept_centered``.
- bambi: ``Intercept``, one variable per fixed term (``Days``, ``sex`` with dim
  ``sex_dim``), ``1|g_sigma`` and ``x|g_sigma`` (random-effect sds), ``sigma`` and other
  auxiliaries, an ``hsgp()`` term's ``_sigma`` and ``_ell``; skipped: ``1|g`` and ``x|g``
  (per-level effects), ``*_offset``, ``hsgp()``'s ``_weights`` and ``_weights_raw``, anything
  with the ``__obs__`` dim.

Elements whose draws are constant (the 1s on a correlation matrix's diagonal, structural
zeros between uncorrelated terms) have no ESS and are left out.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np

LIBRARIES = ("mixedbayes", "bambi")
MIXEDBAYES_NAMES = {"Intercept", "b", "sigma", "nu", "shape", "phi"}
MIXEDBAYES_PREFIXES = ("sd_", "cor_", "sds_", "sdgp_", "lscale_")
OBS_DIMS = {"obs", "__obs__"}


def is_population_param(library: str, name: str, dims: tuple[str, ...] = ()) -> bool:
    """Whether posterior variable ``name`` is a fixed effect or a variance parameter."""
    if OBS_DIMS.intersection(dims):
        return False
    if library == "mixedbayes":  # a dpar's own fixed effects: sigma_Intercept, zi_b
        own = name.endswith(("_Intercept", "_b")) and not name.startswith(("z_", "r_"))
        return name in MIXEDBAYES_NAMES or name.startswith(MIXEDBAYES_PREFIXES) or own
    if library == "bambi":
        if name.endswith(("_offset", "_weights", "_weights_raw")):  # hsgp()'s coefficients
            return False
        if "|" in name:  # group-specific: keep the sds, not the per-level effects
            return name.endswith("_sigma")
        return True
    raise ValueError(f"unknown library {library!r}; expected one of {LIBRARIES}")


def scalar_params(posterior, library: str) -> dict[str, np.ndarray]:
    """``{label: draws (chain, draw)}`` for each population-level scalar of ``posterior``.

    ``posterior`` is an xarray Dataset with ``chain`` and ``draw`` dims (``idata.posterior``).
    Labels are ``name`` for scalars and ``name[coord, ...]`` for elements of arrays.
    """
    params = {}
    for name, array in posterior.data_vars.items():
        dims = tuple(d for d in array.dims if d not in ("chain", "draw"))
        if not is_population_param(library, str(name), dims):
            continue
        values = array.transpose("chain", "draw", *dims).values
        labels = [_coord_labels(posterior, array, d) for d in dims]
        upper_only = library == "mixedbayes" and str(name).startswith("cor_") and len(dims) == 2
        for index in np.ndindex(*values.shape[2:]):
            if upper_only and index[0] >= index[1]:
                continue
            draws = values[(slice(None), slice(None), *index)]
            if not np.all(np.isfinite(draws)) or np.ptp(draws) == 0:
                continue
            coords = ",".join(str(labels[k][i]) for k, i in enumerate(index))
            params[f"{name}[{coords}]" if index else str(name)] = np.asarray(draws, float)
    return params


def _coord_labels(posterior, array, dim: str) -> list:
    if dim in array.coords:
        return list(array.coords[dim].values)
    if dim in posterior.coords:
        return list(posterior.coords[dim].values)
    return list(range(array.sizes[dim]))


def convergence(idata, library: str) -> dict:
    """Min bulk ESS and max R-hat over the population-level parameters, and divergences.

    Returns keys ``min_ess_bulk``, ``min_ess_param``, ``max_rhat``, ``max_rhat_param``,
    ``n_params``, ``params`` (the labels used), ``ess_bulk`` (label -> ESS) and
    ``divergences`` (None when the sampler does not record them).
    """
    params = scalar_params(idata.posterior, library)
    ess = {label: float(az.ess(draws, method="bulk")) for label, draws in params.items()}
    rhat = {label: float(az.rhat(draws)) for label, draws in params.items()}
    finite_ess = {k: v for k, v in ess.items() if math.isfinite(v)}
    finite_rhat = {k: v for k, v in rhat.items() if math.isfinite(v)}
    min_param = min(finite_ess, key=finite_ess.get) if finite_ess else None
    max_param = max(finite_rhat, key=finite_rhat.get) if finite_rhat else None
    return {
        "min_ess_bulk": finite_ess[min_param] if min_param else None,
        "min_ess_param": min_param,
        "max_rhat": finite_rhat[max_param] if max_param else None,
        "max_rhat_param": max_param,
        "n_params": len(params),
        "params": sorted(params),
        "ess_bulk": {k: round(v, 1) for k, v in sorted(ess.items())},
        "divergences": divergences(idata),
    }


def divergences(idata) -> int | None:
    """Number of divergent transitions after warm-up (None if not recorded)."""
    stats = getattr(idata, "sample_stats", None)
    if stats is None:
        return None
    for name in ("diverging", "divergences"):
        if name in stats:
            return int(np.asarray(stats[name].values).astype(bool).sum())
    return None


def mean_tree_size(idata) -> float | None:
    """Mean number of leapfrog steps per kept draw (None if not recorded)."""
    stats = getattr(idata, "sample_stats", None)
    if stats is None:
        return None
    for name in ("n_steps", "tree_size"):
        if name in stats:
            return float(np.asarray(stats[name].values, float).mean())
    return None


def ess_per_second(min_ess: float | None, total_s: float | None) -> float | None:
    """``min_ess / total_s``, or None when either is missing or the time is not positive."""
    if min_ess is None or total_s is None or total_s <= 0:
        return None
    return min_ess / total_s

"""Convergence checks after sampling, each with a threshold and advice when it fails.

Checks (thresholds from Vehtari et al. 2021 and the Stan documentation):

- divergent transitions: none;
- R-hat (rank-normalized, split) of every reported parameter: at most 1.01;
- bulk and tail ESS of every reported parameter: at least 100 per chain;
- draws that hit the maximum tree depth: none;
- E-BFMI of every chain: at least 0.3.

The reported parameters are those of ``fixef``, ``varcorr`` and ``cor``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning
from ..sampling.nuts_kernel import MAX_TREE_DEPTH  # blackjax's default too
from .stats import summarize

COLUMNS = ["check", "value", "threshold", "ok", "where", "advice"]


_ADVICE = {
    "divergent": "raise target_accept (e.g. fit(target_accept=0.95)), give the sds more "
    "informative priors, or, for Gaussian models, integrate the random effects out "
    "(fit(marginalize=True), or name the factor with the most levels)",
    "R-hat": "run longer chains (more tune and draws) and check the priors; a factor with "
    "few levels may need a more informative sd prior",
    "ESS": "draw more (draws=), or reparametrize: more informative sd priors help the "
    "non-centered random effects, and Gaussian models mix best with a factor's effects "
    "integrated out (fit(marginalize=...))",
    "tree depth": "the sampler is taking very long trajectories: rescale predictors "
    "(scale(x)) or tighten priors",
    "E-BFMI": "the momentum resampling explores the energy poorly: usually a funnel between "
    "an sd and its random effects; try more informative sd priors, or (Gaussian) "
    "fit(marginalize=...)",
}


def diagnostics_table(fit) -> pd.DataFrame:
    """One row per check: ``check, value, threshold, ok, where, advice``."""
    posterior, stats = fit.posterior, getattr(fit.idata, "sample_stats", None)
    chains = posterior.sizes["chain"]
    params = _parameter_table(fit)
    rows = []
    if stats is not None and "diverging" in stats:
        per_chain = stats["diverging"].sum("draw").values.astype(int)
        where = ", ".join(f"chain {c}: {n}" for c, n in enumerate(per_chain) if n)
        rows.append(("divergent transitions", int(per_chain.sum()), 0, "divergent", where))
    worst = params.loc[params["rhat"].idxmax()] if params["rhat"].notna().any() else None
    if worst is not None:
        rows.append(("max R-hat", worst["rhat"], 1.01, "R-hat", worst["parameter"]))
    for column, label in (("ess_bulk", "min bulk ESS"), ("ess_tail", "min tail ESS")):
        if params[column].notna().any():
            low = params.loc[params[column].idxmin()]
            rows.append((label, low[column], 100 * chains, "ESS", low["parameter"]))
    depth = _tree_depth_hits(stats)
    if depth is not None:
        rows.append(("draws at max tree depth", depth, 0, "tree depth", ""))
    if stats is not None and "energy" in stats:
        bfmi = _bfmi(stats["energy"].values)
        chain = int(np.argmin(bfmi))
        rows.append(("min E-BFMI", float(bfmi[chain]), 0.3, "E-BFMI", f"chain {chain}"))
    table = pd.DataFrame(
        [
            (check, value, threshold, _ok(kind, value, threshold), where, _ADVICE[kind])
            for check, value, threshold, kind, where in rows
        ],
        columns=COLUMNS,
    )
    table.loc[table["ok"], "advice"] = ""
    return table


def warn_if_unreliable(fit) -> pd.DataFrame:
    """Emit one ConvergenceWarning per failed check; return the table."""
    table = diagnostics_table(fit)
    for _, row in table[~table["ok"]].iterrows():
        value = f"{row['value']:.3g}" if isinstance(row["value"], float) else row["value"]
        where = f" ({row['where']})" if row["where"] else ""
        warnings.warn(
            f"{row['check']} is {value}{where}, threshold {row['threshold']:g}: "
            f"{row['advice']}. See fit.diagnostics().",
            ConvergenceWarning,
            stacklevel=3,
        )
    return table


def _ok(kind: str, value, threshold) -> bool:
    if not np.isfinite(value):
        return True  # too few draws to compute: nothing to report
    if kind in ("divergent", "tree depth", "R-hat"):
        return bool(value <= threshold)
    return bool(value >= threshold)


def _parameter_table(fit) -> pd.DataFrame:
    frames = []
    fixef = fit.fixef()
    frames.append(fixef.assign(parameter=fixef["term"]))
    varcorr = fit.varcorr()
    names = [
        "sigma" if g == "Residual" else f"sd_{g}[{t}]" if d == "mu" else f"sd_{d}_{g}[{t}]"
        for g, t, d in zip(varcorr["group"], varcorr["term"], varcorr["dpar"], strict=True)
    ]
    frames.append(varcorr.assign(parameter=names))
    cor = fit.cor()
    if len(cor):
        names = [f"cor_{g}[{a}, {b}]" for g, a, b in cor[["group", "term1", "term2"]].values]
        frames.append(cor.assign(parameter=names))
    modeled = {part.dpar for part in fit.model.design.dpars}
    for aux in fit.model.family.aux:
        if aux != "sigma" and aux not in modeled:
            frames.append(summarize(fit.posterior[aux], 0.95).assign(parameter=aux))
    columns = ["parameter", "rhat", "ess_bulk", "ess_tail"]
    return pd.concat([f[columns] for f in frames], ignore_index=True)


def _tree_depth_hits(stats) -> int | None:
    if stats is None:
        return None
    for name in ("reached_max_treedepth", "maxdepth_reached"):  # PyMC, nutpie
        if name in stats:
            return int(stats[name].sum())
    if "tree_depth" in stats:  # numpyro, blackjax: a depth, but no flag
        return int((stats["tree_depth"] >= MAX_TREE_DEPTH).sum())
    return None


def _bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain: mean squared energy change over the energy variance."""
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1)

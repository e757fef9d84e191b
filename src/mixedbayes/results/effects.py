"""Random effects and group-specific coefficients, one row per (factor, term, level).

As mixedup's ``extract_random_effects``: ``group_var`` is the grouping factor, ``term`` the
coefficient, ``group`` the level, ``value`` the posterior mean, ``se`` the posterior sd and
``lower``/``upper`` the equal-tailed interval. ``coef`` adds the fixed effect of the same
term draw by draw (lme4's ``coef``); a term with no fixed counterpart, and the intercept of
an ordinal model (whose fixed part is its thresholds), contributes its random part only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..graph import coef_dim
from .stats import check_prob, equal_tailed

COLUMNS = ["group_var", "term", "group", "value", "se", "lower", "upper", "dpar"]


def effect_draws(posterior, design, fixed: bool) -> list[tuple]:
    """(factor, term, levels, draws (samples x levels), dpar) per random-effect term."""
    stacked = posterior.stack(sample=("chain", "draw"))
    out = []
    for part in design.parts:
        for block in part.factor_blocks:
            r = stacked[f"r_{block.group}"]
            for term in block.coefs:
                draws = r.sel({coef_dim(block.group): term}).transpose("sample", ...).values
                if fixed:
                    draws = draws + _fixed_draws(stacked, term, part.prefix)[:, None]
                out.append((block.label, term, list(block.levels), draws, part.dpar))
    return out


def _fixed_draws(stacked, term: str, prefix: str = "") -> np.ndarray:
    if term == "Intercept":
        intercept = stacked.get(f"{prefix}Intercept")
        if intercept is None or "threshold" in intercept.dims:
            return np.zeros(stacked.sizes["sample"])
        return intercept.values
    b, dim = f"{prefix}b", f"{prefix}fixed_term"
    if b in stacked and term in stacked[dim].values:
        return stacked[b].sel({dim: term}).values
    return np.zeros(stacked.sizes["sample"])


def effects_table(posterior, design, prob: float, fixed: bool) -> pd.DataFrame:
    """The ranef (``fixed=False``) or coef (``fixed=True``) table."""
    check_prob(prob)
    frames = []
    for group, term, levels, draws, dpar in effect_draws(posterior, design, fixed):
        lower, upper = equal_tailed(draws, prob)
        frames.append(
            pd.DataFrame(
                {
                    "group_var": group,
                    "term": term,
                    "group": levels,
                    "value": draws.mean(axis=0),
                    "se": draws.std(axis=0, ddof=1),
                    "lower": lower,
                    "upper": upper,
                    "dpar": dpar,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]

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

from ..build import coef_dim
from .stats import check_prob, equal_tailed

COLUMNS = ["group_var", "term", "group", "value", "se", "lower", "upper"]


def effect_draws(posterior, design, fixed: bool) -> list[tuple[str, str, list, np.ndarray]]:
    """(factor, term, levels, draws (samples x levels)) per random-effect term."""
    stacked = posterior.stack(sample=("chain", "draw"))
    out = []
    for block in design.blocks:
        r = stacked[f"r_{block.group}"]
        for term in block.coefs:
            draws = r.sel({coef_dim(block.group): term}).transpose("sample", ...).values
            if fixed:
                draws = draws + _fixed_draws(stacked, term)[:, None]
            out.append((block.group, term, list(block.levels), draws))
    return out


def _fixed_draws(stacked, term: str) -> np.ndarray:
    if term == "Intercept":
        intercept = stacked.get("Intercept")
        if intercept is None or "threshold" in intercept.dims:
            return np.zeros(stacked.sizes["sample"])
        return intercept.values
    if "b" in stacked and term in stacked["fixed_term"].values:
        return stacked["b"].sel(fixed_term=term).values
    return np.zeros(stacked.sizes["sample"])


def effects_table(posterior, design, prob: float, fixed: bool) -> pd.DataFrame:
    """The ranef (``fixed=False``) or coef (``fixed=True``) table."""
    check_prob(prob)
    frames = []
    for group, term, levels, draws in effect_draws(posterior, design, fixed):
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
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]

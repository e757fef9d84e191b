"""K-fold cross-validation by refitting: ``fit.kfold(k=10, group="student")``.

PSIS-LOO approximates leaving one row out from a single fit; where a row has much
influence (a student's six GPA rows against their own random effects) its Pareto k is
high and the approximation fails. K-fold refits the model K times, each time without one
fold, and scores the held-out rows under the posterior that did not see them. Grouped
folds (brms's ``kfold(folds = "grouped")``, ``loo::kfold_split_grouped``) hold out whole
levels of a grouping factor, so the score is that of predicting new groups: a held-out
level's effects are drawn from the fitted population, per draw.

Grouped folds score each held-out level's rows together, ``elpd_g = log p(y_g | other
folds) = log mean_{s,m} prod_{i in g} p(y_i | theta_s, u_sm)``, with ``NEW_LEVEL_DRAWS``
effect draws ``u_sm`` of the new level per posterior draw: the predictive density of a
new group, which depends on how the model correlates a group's rows (``joint=False``
scores rows one by one as brms's ``kfold`` does, ``log mean_s p(y_i | theta_s, u_s)``,
where a random slope's correlation over occasions plays no part). Folds of rows score
rows. ``elpd_kfold`` sums the units' ``elpd`` with the standard error
``sqrt(n var(elpd))`` over the n units, as ``loo::kfold`` computes it. The refits reuse one
compiled sampler where the folds' sizes fall in one padding step
(:mod:`mixedbayes.design.padding`, :mod:`mixedbayes.sampling.programs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from ..design.columns import design_rows
from ..errors import DataError
from ..sampling import check_count
from .checks import with_log_likelihood
from .predict import heldout_log_likelihood

NEW_LEVEL_DRAWS = 32  # effect draws of a held-out level per posterior draw (joint scores)


@dataclass
class KFold:
    """The result of :meth:`mixedbayes.Fit.kfold`.

    Attributes
    ----------
    elpd : float
        ``elpd_kfold``, the summed held-out log predictive density.
    se : float
        Its standard error.
    p_kfold : float
        The fit's in-sample log predictive density minus ``elpd``: the effective number
        of parameters (``loo::kfold``'s ``p_kfold``).
    pointwise : ndarray
        ``elpd`` per unit: per level of ``group`` (in code order) when scored jointly,
        else per row of the model's data (after dropping missing values).
    folds : ndarray
        The fold (1..K) of each row.
    group : str or None
        The grouping factor or column whose levels the folds keep together.
    """

    elpd: float
    se: float
    p_kfold: float
    pointwise: np.ndarray
    folds: np.ndarray
    group: str | None

    def __repr__(self) -> str:
        how = f"grouped by {self.group!r}" if self.group else "rows at random"
        return (
            f"<KFold K={int(self.folds.max())} ({how}): elpd_kfold {self.elpd:.1f} "
            f"(se {self.se:.1f}), p_kfold {self.p_kfold:.1f}>"
        )


def fold_ids(fit, k: int, group: str | None, random_seed=None) -> np.ndarray:
    """Fold numbers 1..k per row of the model's design: levels of ``group`` dealt to the
    folds in a random order (a level never split), or rows at random without a group."""
    design = fit.model.design
    n = design.n_obs
    k = check_count("k", k, 2)
    rng = np.random.default_rng(random_seed)
    if group is None:
        units, n_units = np.arange(n), n
    else:
        units = _group_codes(fit, group)
        n_units = int(units.max()) + 1
    if k > n_units:
        what = f"levels of {group!r}" if group else "rows"
        raise DataError(f"k = {k} folds need at least {k} {what}, there are {n_units}")
    order = rng.permutation(n_units)
    fold_of_unit = np.empty(n_units, dtype=int)
    fold_of_unit[order] = np.arange(n_units) % k + 1  # equal sizes, as kfold_split_grouped
    return fold_of_unit[units]


def _group_codes(fit, group: str) -> np.ndarray:
    """Integer codes of ``group`` per design row: a grouping factor or a data column."""
    design = fit.model.design
    for block in design.factor_blocks:
        if group in (block.label, block.group):
            return block.index.astype(int)
    clean = _clean_data(fit)
    if group in clean.columns:
        return pd.factorize(clean[group])[0]
    raise DataError(
        f"group {group!r} is neither a grouping factor of the formula "
        f"({', '.join(b.label for b in design.blocks) or 'none'}) nor a column of the data"
    )


def _clean_data(fit) -> pd.DataFrame:
    """The model's data rows that its design holds, with all their columns."""
    model = fit.model
    return design_rows(model.data, model.formula, model.context)


def kfold(fit, k: int = 10, group: str | None = None, *, folds=None, joint: bool = True,
          random_seed=None, progressbar: bool = False, **fit_kwargs) -> KFold:  # fmt: skip
    """See :meth:`mixedbayes.Fit.kfold`."""
    design = fit.model.design
    if design.autocor is not None:  # held-out rows would need their level's joint normal
        raise DataError(
            f"kfold() does not score models with a correlation structure "
            f"({design.autocor.term.text}) yet; use loo(), whose pointwise terms condition "
            "on the other rows of each level"
        )
    if folds is None:
        folds = fold_ids(fit, k, group, random_seed)
    folds = np.asarray(folds)
    if folds.shape != (design.n_obs,):
        raise DataError(f"folds must have one entry per row ({design.n_obs}), got {folds.shape}")
    clean = _clean_data(fit)
    sizes = fit.posterior.sizes
    settings = dict(
        draws=sizes["draw"],
        tune=int(fit.posterior.attrs.get("tuning_steps", sizes["draw"])),
        chains=sizes["chain"],
        random_seed=random_seed,
    )
    settings.update(fit_kwargs)
    units = _group_codes(fit, group) if group is not None and joint else np.arange(len(folds))
    pointwise = np.full(int(units.max()) + 1, np.nan)
    rng = np.random.default_rng(random_seed)
    for fold in np.unique(folds):
        held = folds == fold
        refit = fit.model.with_data(clean.loc[~held]).fit(progressbar=False, **settings)
        observed = SimpleNamespace(y=design.y[held], additions=_rows(design.additions, held))
        codes, unit = np.unique(units[held], return_inverse=True)
        repeats = NEW_LEVEL_DRAWS if group is not None and joint else 1
        scores = []  # (S, units) log densities per draw of the new levels' effects
        for seed in rng.integers(0, 2**32, repeats):
            loglik = heldout_log_likelihood(refit, clean.loc[held], observed, seed)
            summed = np.zeros((loglik.shape[0], len(codes)))
            np.add.at(summed, (slice(None), unit), loglik)
            scores.append(summed)
        scores = np.concatenate(scores, axis=0)
        pointwise[codes] = logsumexp(scores, axis=0) - np.log(scores.shape[0])
        if progressbar:
            print(f"kfold: fold {fold} of {len(np.unique(folds))} done")
    elpd = float(pointwise.sum())
    se = float(np.sqrt(len(pointwise) * np.var(pointwise)))
    return KFold(elpd, se, _lppd(fit) - elpd, pointwise, folds, group)


def _rows(additions, keep: np.ndarray):
    """The addition terms (weights, censoring, truncation) of the rows ``keep``."""
    fields = {}
    for field in dataclasses.fields(additions):
        value = getattr(additions, field.name)
        if isinstance(value, tuple):
            value = tuple(v[keep] for v in value)
        elif value is not None:
            value = value[keep]
        fields[field.name] = value
    return dataclasses.replace(additions, **fields)


def _lppd(fit) -> float:
    """The in-sample log pointwise predictive density of the full fit (from the
    log-likelihood ``loo()`` computes and keeps, so neither computes it twice)."""
    loglik = with_log_likelihood(fit).log_likelihood
    values = next(iter(loglik.data_vars.values())).values
    flat = values.reshape(-1, values.shape[-1])
    return float((logsumexp(flat, axis=0) - np.log(flat.shape[0])).sum())


def compare_kfold(results: dict) -> pd.DataFrame:
    """Rank :class:`KFold` results of the same rows and folds, best first: ``rank,
    elpd_kfold, p_kfold, elpd_diff, se, dse`` (``dse`` from the pointwise differences)."""
    sizes = {name: len(r.pointwise) for name, r in results.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the kfold results cover different numbers of rows: {sizes}")
    order = sorted(results, key=lambda name: -results[name].elpd)
    best = results[order[0]].pointwise
    rows = []
    for rank, name in enumerate(order):
        r = results[name]
        diff = best - r.pointwise
        rows.append({
            "rank": rank, "elpd_kfold": r.elpd, "p_kfold": r.p_kfold,
            "elpd_diff": float(diff.sum()), "se": r.se,
            "dse": float(np.sqrt(len(diff) * np.var(diff))),
        })  # fmt: skip
    return pd.DataFrame(rows, index=pd.Index(order, name="model"))

"""Posterior predictions: the linear predictor per posterior draw, summarized by row.

For each kept draw s, ``eta[s, i] = X_i beta_s + offset_i + sum_g Z_gi r_g[s, level_gi]``.
A level of a grouping factor not seen in fitting gets, per draw, an effect drawn from the
fitted population N(0, S R S) (``new_groups="sample"``), zero (``"population"``), or an
error (``"error"``). Rows are processed in chunks so memory stays bounded for large new
data; ``max_draws`` thins the posterior evenly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design.autocor import encode_autocor
from ..design.make import as_frame
from ..design.newdata import NewDesign, encode_newdata, training_rows
from ..errors import DataError
from ..families import LINKS
from ..sampling import check_count
from .additions import pointwise_loglik, truncated_draws
from .autocor import autocor_loglik, correlated_draws
from .stats import check_prob, equal_tailed

KINDS = ("mean", "link", "response")
NEW_GROUPS = ("sample", "population", "error")
_CHUNK_VALUES = 20_000_000  # draws x rows per chunk (160 MB of float64)


def predict(
    fit,
    newdata: pd.DataFrame | None = None,
    *,
    include_random: bool = True,
    new_groups: str = "sample",
    kind: str = "mean",
    prob: float = 0.95,
    draws: bool = False,
    max_draws: int | None = None,
    random_seed: int | None = None,
    dpar: str = "mu",
):
    """See :meth:`mixedbayes.Fit.predict`."""
    newdata = as_frame(newdata, "newdata")  # polars and other data frames
    if kind not in KINDS:
        raise DataError(f"kind must be one of {KINDS}, got {kind!r}")
    if new_groups not in NEW_GROUPS:
        raise DataError(f"new_groups must be one of {NEW_GROUPS}, got {new_groups!r}")
    if max_draws is not None:
        max_draws = check_count("max_draws", max_draws, 1)
    prob = check_prob(prob)
    model, family = fit.model, fit.model.family
    parts = {part.dpar: part for part in model.design.parts}
    if dpar not in parts and dpar not in family.aux:
        raise DataError(f"dpar must be one of {['mu', *family.aux]}, got {dpar!r}")
    need_trials = family.response == "binomial" and kind != "link" and dpar == "mu"
    if newdata is None:
        rows = {d: training_rows(part, include_random) for d, part in parts.items()}
        index = None
    else:
        context = getattr(model, "context", None)
        rows = {
            d: encode_newdata(
                part,
                newdata,
                context,
                include_random=include_random,
                need_trials=need_trials and d == "mu",
            )
            for d, part in parts.items()
        }
        index = newdata.index
    _check_unseen(rows, new_groups)
    bounds = _truncation(model.design, newdata, rows["mu"].n_obs)
    rng = np.random.default_rng(random_seed)
    params = _Parameters(fit, max_draws, rng, rows, new_groups)
    categories = family.per_category and dpar == "mu"
    n = rows["mu"].n_obs
    kept, summaries = [], []
    autocor = _autocor_rows(model, newdata) if kind == "response" and dpar == "mu" else None
    for rows_slice in _chunks(n, params.n_draws, model.design, categories, autocor is not None):
        if dpar != "mu":
            width = np.ones((1, rows_slice.stop - rows_slice.start))
            values = params.aux(rows, rows_slice)[dpar] * width  # (S, m)
            if kind == "link":
                values = _dpar_link(model.design, dpar, values)
        else:
            eta = params.linear_predictor(rows, rows_slice)
            trials = None if rows["mu"].trials is None else rows["mu"].trials[rows_slice]
            aux = params.aux(rows, rows_slice)
            if kind == "link":
                values = eta
            elif kind == "mean":
                values = family.mean(eta, aux, trials)
            elif autocor is not None:
                mu, structure = family.mean(eta, aux), params.structure(autocor)
                values = correlated_draws(autocor, rng, mu, aux["sigma"], structure)
            elif bounds is not None:
                lower, upper = (bound[rows_slice] for bound in bounds)
                values = truncated_draws(family, rng, eta, aux, trials, lower, upper)
            else:
                values = family.draw(rng, eta, aux, trials)
        if draws:
            kept.append(values)
        else:
            summaries.append(_summarize(values, prob))
    if draws:
        return np.concatenate(kept, axis=1)
    table = pd.concat(summaries, ignore_index=True)
    labels = np.arange(n) if index is None else np.asarray(index)
    if categories and kind == "mean":
        levels = list(model.design.response_levels)
        table.index = pd.MultiIndex.from_product([labels, levels], names=["row", "category"])
    else:
        table.index = pd.Index(labels, name="row")
    return table


def _autocor_rows(model, newdata):
    """The correlation structure of the predicted rows: the model's for its own rows;
    new rows are grouped and ordered by their own ``gr`` and ``time`` columns."""
    design = model.design
    if design.autocor is None or newdata is None:
        return design.autocor
    term = design.autocor.term
    missing = [c for c in term.columns if c not in newdata.columns]
    if missing:
        raise DataError(
            f"newdata needs column {missing[0]!r} for {term.text} to draw correlated responses"
        )
    return encode_autocor(term, newdata.reset_index(drop=True), design.autocor.time_points)


def _truncation(design, newdata, n: int):
    """Truncation bounds for the predicted rows: the model's for its own rows; for new
    rows, bounds given as numbers (a bound from a column applies to the training rows)."""
    if design.additions.truncation is None:
        return None
    if newdata is None:
        return design.additions.truncation
    formula = design.formula
    bounds = []
    for expr, default in ((formula.trunc_lb, -np.inf), (formula.trunc_ub, np.inf)):
        try:
            bounds.append(np.full(n, default if expr is None else float(expr)))
        except ValueError:
            bounds.append(np.full(n, default))
    return tuple(bounds)


def _dpar_link(design, dpar: str, values: np.ndarray) -> np.ndarray:
    """A dpar's values on its link scale (log for the positive ones)."""
    link = next((p.link for p in design.dpars if p.dpar == dpar), "log")
    return LINKS[link][0](values)


def log_likelihood(fit) -> np.ndarray:
    """Pointwise log-likelihood of the fitted rows: (chains, draws, rows), for LOO/WAIC."""
    model, family = fit.model, fit.model.family
    rows = {part.dpar: training_rows(part) for part in model.design.parts}
    params = _Parameters(fit, None, np.random.default_rng(0), rows, "population")
    parts = []
    autocor = model.design.autocor
    whole = autocor is not None
    n = rows["mu"].n_obs
    for part in _chunks(n, params.n_draws, model.design, family.per_category, whole):
        eta = params.linear_predictor(rows, part)
        trials = None if rows["mu"].trials is None else rows["mu"].trials[part]
        aux = params.aux(rows, part)
        if autocor is not None:  # each row given the others of its level
            mu, structure = family.mean(eta, aux), params.structure(autocor)
            parts.append(autocor_loglik(autocor, model.design.y, mu, aux["sigma"], structure))
            continue
        parts.append(pointwise_loglik(family, model.design, part, eta, aux, trials))
    sizes = fit.posterior.sizes
    return np.concatenate(parts, axis=1).reshape(sizes["chain"], sizes["draw"], rows["mu"].n_obs)


def heldout_log_likelihood(fit, newdata: pd.DataFrame, observed, random_seed=None):
    """(S, m) log-likelihood of rows ``fit`` did not see: the linear predictors from
    ``newdata``, unseen levels' effects drawn from the fitted population per draw (as
    ``new_groups="sample"``; brms's ``kfold`` does the same), and the response and addition
    terms from ``observed`` (anything with ``y`` and ``additions`` for those rows)."""
    model, family = fit.model, fit.model.family
    context = getattr(model, "context", None)
    need = family.response == "binomial"
    rows = {
        part.dpar: encode_newdata(part, newdata, context, need_trials=need and part.dpar == "mu")
        for part in model.design.parts
    }
    params = _Parameters(fit, None, np.random.default_rng(random_seed), rows, "sample")
    everything = slice(0, rows["mu"].n_obs)
    eta = params.linear_predictor(rows, everything)
    trials = rows["mu"].trials
    aux = params.aux(rows, everything)
    return pointwise_loglik(family, observed, everything, eta, aux, trials)


def _chunks(n: int, n_draws: int, design, categories: bool, whole: bool = False):
    """Row slices holding at most about _CHUNK_VALUES draw x row (x category) values
    (one slice if ``whole``: correlated rows are taken together)."""
    if whole:
        yield slice(0, n)
        return
    per_row = n_draws * (len(design.response_levels) if categories else 1)
    chunk = max(1, _CHUNK_VALUES // max(per_row, 1))
    for start in range(0, n, chunk):
        yield slice(start, min(start + chunk, n))


def _summarize(values: np.ndarray, prob: float) -> pd.DataFrame:
    """Mean and equal-tailed interval over draws (axis 0); extra axes become rows."""
    flat = values.reshape(values.shape[0], -1)
    lower, upper = equal_tailed(flat, prob)
    return pd.DataFrame({"estimate": flat.mean(axis=0), "lower": lower, "upper": upper})


def _check_unseen(rows: dict[str, NewDesign], new_groups: str) -> None:
    if new_groups != "error":
        return
    for block in (block for part in rows.values() for block in part.blocks):
        if block.unseen:
            shown = ", ".join(map(repr, block.unseen[:5]))
            raise DataError(
                f"grouping factor {block.group!r} has levels not seen in fitting: {shown}"
                f"{' ...' if len(block.unseen) > 5 else ''}; pass new_groups='sample' to draw "
                "their effects from the fitted population, or 'population' to set them to zero"
            )


class _Parameters:
    """Posterior draws flattened over chains (and thinned), as NumPy arrays."""

    def __init__(self, fit, max_draws, rng, rows: dict[str, NewDesign], new_groups: str):
        posterior = fit.posterior.stack(sample=("chain", "draw"))
        total = posterior.sizes["sample"]
        keep = np.arange(total)
        if max_draws is not None and max_draws < total:
            keep = np.unique(np.linspace(0, total - 1, int(max_draws)).round().astype(int))
        self.n_draws = len(keep)
        self._posterior, self._keep = posterior, keep
        design = fit.model.design
        self._parts = {part.dpar: part for part in design.dpars}
        self._aux_names = fit.model.family.aux
        self.beta = {part.dpar: self._fixed(part) for part in design.parts}  # (S, p) each
        joint = design.joint_groups  # their unseen levels are drawn together below
        self.effects = {
            block.group: self._random(
                block, design, rng, "population" if block.group in joint else new_groups
            )
            for part in rows.values()
            for block in part.blocks
        }
        if new_groups == "sample":
            self._joint_new_levels(design, rows, rng)

    def values(self, name: str) -> np.ndarray:
        """Draws of a variable with the sample axis first."""
        array = self._posterior[name]
        return np.moveaxis(array.values, array.dims.index("sample"), 0)[self._keep]

    def _fixed(self, design) -> np.ndarray:
        """(S, p) fixed effects of one dpar's design, in its fixed_terms order."""
        p = design.prefix
        beta = np.zeros((self.n_draws, len(design.fixed_terms)))
        slopes = self.values(f"{p}b") if f"{p}b" in self._posterior else None
        ordinal = "threshold" in self._posterior.get(f"{p}Intercept", self._posterior).dims
        for j, term in enumerate(design.fixed_terms):
            if term == "Intercept":
                beta[:, j] = 0.0 if ordinal else self.values(f"{p}Intercept")
            else:
                position = list(self._posterior[f"{p}fixed_term"].values).index(term)
                beta[:, j] = slopes[:, position]
        return beta

    def _random(self, block, design, rng, new_groups: str) -> np.ndarray:
        """(S, levels + unseen, k) effects; unseen levels after the fitted ones."""
        r = self.values(f"r_{block.group}")  # (S, L, k)
        n_new = len(block.unseen)
        if n_new == 0:
            return r
        if new_groups == "population":
            return np.concatenate([r, np.zeros((r.shape[0], n_new, r.shape[2]))], axis=1)
        sd = self.values(f"sd_{block.group}")  # (S, k)
        cor_name = f"cor_{block.group}"
        cor = self.values(cor_name) if cor_name in self._posterior else np.eye(sd.shape[1])[None]
        return np.concatenate([r, _population_draws(sd, cor, n_new, rng)], axis=1)

    def _joint_new_levels(self, design, rows: dict[str, NewDesign], rng) -> None:
        """Unseen levels of factors whose effects are correlated across dpars (an ID):
        drawn jointly from N(0, S R S) with R the ID's correlation ``cor_p``."""
        new = {block.group: block for part in rows.values() for block in part.blocks}
        for name, blocks in design.joint_blocks.items():
            n_new = len(new[blocks[0].group].unseen)
            if n_new == 0:
                continue
            sd = np.concatenate([self.values(f"sd_{b.group}") for b in blocks], axis=1)
            drawn = _population_draws(sd, self.values(f"cor_{name}"), n_new, rng)
            start = 0
            for block in blocks:
                k = len(block.coefs)
                self.effects[block.group][:, -n_new:, :] = drawn[:, :, start : start + k]
                start += k

    def linear_predictor(self, rows: dict[str, NewDesign], part: slice, dpar: str = "mu"):
        """(S, m) linear predictor of ``dpar`` for the rows ``part``."""
        design = rows[dpar]
        eta = self.beta[dpar] @ design.X[part].T
        if design.offset is not None:
            eta = eta + design.offset[part]
        for block in design.blocks:
            effects = self.effects[block.group]
            n_fitted = effects.shape[1] - len(block.unseen)
            unseen = block.unseen_index[part]
            index = np.where(unseen >= 0, n_fitted + unseen, block.index[part])
            eta = eta + np.einsum("smk,mk->sm", effects[:, index, :], block.Z[part])
        return eta

    def structure(self, autocor) -> dict:
        """Draws of the correlation structure's parameters (``ar``, ``ma``, ``cosy``)."""
        return {name: self.values(name) for name in autocor.term.parameters}

    def aux(self, rows: dict[str, NewDesign], part: slice) -> dict:
        """Family parameters shaped to broadcast against eta (S, m): (S, 1) draws, or
        (S, m) per row for a dpar with a formula; an ordinal model's ``thresholds``."""
        out = {}
        for name in self._aux_names:
            if name in self._parts:
                link = self._parts[name].link
                out[name] = LINKS[link][1](self.linear_predictor(rows, part, name))
            elif name in self._posterior:
                out[name] = self.values(name)[:, None]
        intercept = self._posterior.get("Intercept")
        if intercept is not None and "threshold" in intercept.dims:
            out["thresholds"] = self.values("Intercept")[:, None, :]
        return out


def _population_draws(sd, cor, n_new: int, rng) -> np.ndarray:
    """(S, n_new, k) effects of unseen levels, rows ~ N(0, S R S) per posterior draw."""
    covariance = sd[:, :, None] * cor * sd[:, None, :]
    chol = np.linalg.cholesky(covariance + 1e-12 * np.eye(sd.shape[1]))
    z = rng.standard_normal((sd.shape[0], n_new, sd.shape[1]))
    return np.einsum("snk,sjk->snj", z, chol)

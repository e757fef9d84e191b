"""Predictions, comparisons and slopes in the vocabulary of marginaleffects and bambi's
``interpret``, computed draw by draw on :func:`~mixedbayes.results.predict.predict`.

A comparison is counterfactual: every row of ``newdata`` (default the rows the model was
fitted to) is predicted twice, with ``variable`` set to each of two values; per posterior
draw the difference (or ratio) of the two predictions is taken row by row and averaged
over the rows (or within ``by`` groups); the draws of that average are then summarized
(posterior mean, sd and equal-tailed interval). A slope is the same with a centered finite
difference ``(f(x + h/2) - f(x - h/2)) / h``. Both sides use the same random seed, so
effects drawn for new groups are the same on both sides and cancel where they should.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design.make import as_frame
from ..errors import DataError
from .grid import Columns, model_columns, set_column
from .predict import predict
from .stats import check_prob, equal_tailed

COMPARISONS = ("difference", "ratio")
CONTRAST_KINDS = ("mean", "link")
STATS = ["estimate", "sd", "lower", "upper"]


def predictions(
    fit,
    newdata=None,
    by=None,
    *,
    kind: str = "mean",
    include_random: bool = True,
    new_groups: str = "sample",
    prob: float = 0.95,
    dpar: str = "mu",
    max_draws: int | None = None,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """Posterior summaries of predictions, per row of ``newdata`` or averaged ``by`` group.

    Parameters
    ----------
    fit : Fit
    newdata : DataFrame, optional
        Rows to predict (:func:`~mixedbayes.results.grid.datagrid` makes a grid); default
        the rows the model was fitted to.
    by : str or list of str, optional
        Columns of the rows: per draw, the predictions are averaged within each group of
        their values (marginaleffects' ``avg_predictions(by=)``), then summarized.
    kind, include_random, new_groups, dpar, max_draws, random_seed
        As :meth:`mixedbayes.Fit.predict` (``include_random=True``: each row's groups'
        effects; a new group's drawn from the fitted population with ``"sample"``).
    prob : float, default 0.95
        Probability of the equal-tailed interval.

    Returns
    -------
    DataFrame
        The rows' columns (or the ``by`` columns), ``category`` for ordinal probabilities,
        then ``estimate`` (posterior mean), ``sd``, ``lower``, ``upper``; per-row tables
        are indexed by newdata's row labels (``row``).
    """
    prob = check_prob(prob)
    info = model_columns(fit.model)
    frame = info.data if newdata is None else as_frame(newdata, "newdata")
    options = dict(include_random=include_random, new_groups=new_groups, kind=kind)
    options.update(max_draws=max_draws, random_seed=random_seed, dpar=dpar)
    values = predict(fit, None if newdata is None else frame, draws=True, **options)
    if by is None:
        table = _finish(values, frame.reset_index(drop=True), fit, prob)
        table.index = pd.Index(np.repeat(frame.index, _width(values)), name="row")
        return table
    return _finish(*_grouped(values, frame, by), fit, prob)


def comparisons(
    fit,
    variable: str,
    values=None,
    newdata=None,
    by=None,
    *,
    comparison: str = "difference",
    kind: str = "mean",
    include_random: bool = True,
    new_groups: str = "sample",
    prob: float = 0.95,
    dpar: str = "mu",
    max_draws: int | None = None,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """Average counterfactual comparison of ``variable`` between two of its values.

    Every row is predicted with ``variable`` set to ``low`` and to ``high``; per draw the
    row-wise difference (``high - low``) or ratio (``high / low``) is averaged over the rows
    (or within ``by`` groups) and the draws of the average are summarized.

    Parameters
    ----------
    fit : Fit
    variable : str
        A predictor of ``dpar`` (for ``dpar="mu"``, ``kind="mean"``: of any dpar).
    values : optional
        ``(low, high)``, a list of such pairs, a level (against the first level) or, for a
        numeric variable, a step ``s`` (``x + s`` against ``x`` row by row). Default: each
        other level against the first (categorical, string, bool); ``x + 1`` against ``x``.
    newdata : DataFrame, optional
        Rows to average over; default the fitted rows (marginaleffects' averaging).
    by : str or list of str, optional
        Columns of the rows (as they are, before the counterfactual) to average within.
    comparison : {"difference", "ratio"}
    kind : {"mean", "link"}
        Expected response, or the linear predictor (``dpar``'s link scale).
    include_random, new_groups, dpar, max_draws
        As :meth:`mixedbayes.Fit.predict`.
    prob : float, default 0.95
    random_seed : int, optional
        Seeds new groups' effects, the same for both sides (drawn once when None).

    Returns
    -------
    DataFrame
        ``term, contrast, [by...], [category], estimate, sd, lower, upper``; ``contrast``
        reads ``"b - a"``, ``"b / a"`` or ``"+1"``.
    """
    if comparison not in COMPARISONS:
        raise DataError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
    info, frame = _setup(fit, variable, newdata, kind, dpar, prob)
    options = _options(include_random, new_groups, kind, max_draws, random_seed, dpar)
    tables = []
    for label, low, high in _contrasts(info, frame, variable, values, comparison):
        a, b = (predict(fit, side, draws=True, **options) for side in (low, high))
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = b - a if comparison == "difference" else b / a
        tables.append(_labelled(effect, frame, by, fit, prob, variable, label))
    return pd.concat(tables, ignore_index=True)


def slopes(
    fit,
    variable: str,
    newdata=None,
    by=None,
    *,
    eps: float | None = None,
    kind: str = "mean",
    include_random: bool = True,
    new_groups: str = "sample",
    prob: float = 0.95,
    dpar: str = "mu",
    max_draws: int | None = None,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """Average slope of numeric ``variable``: per draw and row the centered difference
    ``(f(x + h/2) - f(x - h/2)) / h``, averaged as in :func:`comparisons`.

    Parameters
    ----------
    eps : float, optional
        The step ``h``; default 1e-4 times the sd of ``variable`` in the fitted rows.
    fit, variable, newdata, by, kind, include_random, new_groups, prob, dpar
        As :func:`comparisons`, as are ``max_draws`` and ``random_seed``.

    Returns
    -------
    DataFrame
        ``term, contrast ("dY/dX"), [by...], [category], estimate, sd, lower, upper``.
    """
    info, frame = _setup(fit, variable, newdata, kind, dpar, prob)
    if info.categorical(variable):
        raise DataError(
            f"slopes() needs a numeric variable; {variable!r} is categorical (levels "
            f"{info.levels_of(variable)}): use comparisons({variable!r}) instead"
        )
    if eps is None:
        sd = float(info.data[variable].std())
        h = 1e-4 * sd if np.isfinite(sd) and sd > 0 else 1e-4
    elif isinstance(eps, int | float) and np.isfinite(eps) and eps > 0:
        h = float(eps)
    else:
        raise DataError(f"eps must be a positive number, got {eps!r}")
    x = frame[variable].to_numpy(dtype=float)
    like = info.data[variable]
    low = set_column(frame, variable, x - h / 2, like)
    high = set_column(frame, variable, x + h / 2, like)
    options = _options(include_random, new_groups, kind, max_draws, random_seed, dpar)
    a, b = (predict(fit, side, draws=True, **options) for side in (low, high))
    return _labelled((b - a) / h, frame, by, fit, prob, variable, "dY/dX")


def _setup(fit, variable, newdata, kind, dpar, prob) -> tuple[Columns, pd.DataFrame]:
    """The model's columns and the rows to average over, with ``variable`` checked."""
    check_prob(prob)
    if kind not in CONTRAST_KINDS:
        raise DataError(f"kind must be one of {CONTRAST_KINDS}, got {kind!r}")
    info = model_columns(fit.model)
    aux = fit.model.family.aux
    if dpar != "mu" and dpar not in info.predictors:
        if dpar in aux:
            raise DataError(f"{dpar!r} has no formula (bf({dpar}=...)): no predictor changes it")
        raise DataError(f"dpar must be one of {['mu', *aux]}, got {dpar!r}")
    if dpar == "mu" and kind == "mean":  # the mean may depend on every dpar (zi, sigma)
        allowed = set().union(*info.predictors.values())
    else:
        allowed = info.predictors[dpar]
    if variable not in allowed:
        every = sorted(set().union(*info.predictors.values()))
        if variable in every:
            where = [d for d, names in info.predictors.items() if variable in names]
            raise DataError(
                f"{variable!r} is not a predictor of {dpar!r} (kind={kind!r}); it is one of "
                f"{where}; the predictors of {dpar!r} are {sorted(allowed)}"
            )
        factor = " (a grouping factor)" if variable in info.factors else ""
        raise DataError(
            f"unknown variable {variable!r}{factor}: the model's predictors are {every}"
        )
    frame = info.data if newdata is None else as_frame(newdata, "newdata")
    if not isinstance(frame, pd.DataFrame) or variable not in frame.columns:
        raise DataError(f"newdata has no column {variable!r}")
    return info, frame


def _options(include_random, new_groups, kind, max_draws, random_seed, dpar) -> dict:
    """predict() options shared by both sides of a contrast: one seed for both."""
    if random_seed is None:
        random_seed = int(np.random.default_rng().integers(2**32))
    return dict(
        include_random=include_random,
        new_groups=new_groups,
        kind=kind,
        max_draws=max_draws,
        random_seed=random_seed,
        dpar=dpar,
    )


def _contrasts(info: Columns, frame, variable, values, comparison):
    """(label, low rows, high rows) of each contrast of ``variable``."""
    like = info.data[variable]
    sign = " - " if comparison == "difference" else " / "
    if info.categorical(variable):
        levels = info.levels_of(variable)
        if values is None:
            pairs = [(levels[0], level) for level in levels[1:]]
        elif _is_pair(values):
            pairs = [tuple(values)]
        elif isinstance(values, list | tuple) and values and all(map(_is_pair, values)):
            pairs = [tuple(v) for v in values]
        else:  # a single level: against the reference level
            pairs = [(levels[0], values)]
        for value in (v for pair in pairs for v in pair):
            if not any(value == level for level in levels):
                raise DataError(f"{value!r} is not a level of {variable!r}; levels: {levels}")
    else:
        if values is None or isinstance(values, int | float) and not isinstance(values, bool):
            step = 1 if values is None else values
            x = frame[variable].to_numpy()
            label = f"+{step:g}" if sign == " - " else f"({variable} + {step:g}) / {variable}"
            high = set_column(frame, variable, x + step, like)
            return [(label, set_column(frame, variable, x, like), high)]
        pairs = [tuple(values)] if _is_pair(values) else [tuple(v) for v in values]
        if not all(_is_pair(p) and all(_is_number(v) for v in p) for p in pairs):
            raise DataError(
                f"values for numeric {variable!r} must be a step (number), a pair of numbers "
                f"(low, high) or a list of pairs, got {values!r}"
            )
    return [
        (f"{high}{sign}{low}", *(set_column(frame, variable, v, like) for v in (low, high)))
        for low, high in pairs
    ]


def _is_pair(value) -> bool:
    return isinstance(value, tuple | list) and len(value) == 2 and not _is_pair(value[0])


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _labelled(effect, frame, by, fit, prob, variable, contrast) -> pd.DataFrame:
    """The summary of per-row effects averaged over rows (or ``by`` groups)."""
    if by is None:
        keys = pd.DataFrame(index=[0])
        averaged = effect.mean(axis=1, keepdims=True)
    else:
        averaged, keys = _grouped(effect, frame, by)
    table = _finish(averaged, keys, fit, prob)
    table.insert(0, "contrast", contrast)
    table.insert(0, "term", variable)
    return table


def _grouped(values: np.ndarray, frame: pd.DataFrame, by) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-draw means of ``values`` (S, rows, ...) within the groups of ``by`` columns of
    ``frame``: (S, groups, ...), and the groups' values (one row each, sorted)."""
    names = [by] if isinstance(by, str) else list(by)
    missing = [name for name in names if name not in frame.columns]
    if missing or not names:
        raise DataError(f"by: {missing or by!r} not among the rows' columns {list(frame.columns)}")
    rows = frame[names].reset_index(drop=True)
    codes = rows.groupby(names, sort=True, observed=True, dropna=False).ngroup().to_numpy()
    count = int(codes.max()) + 1
    first = [int(np.flatnonzero(codes == g)[0]) for g in range(count)]
    means = np.stack([values[:, codes == g].mean(axis=1) for g in range(count)], axis=1)
    return means, rows.iloc[first].reset_index(drop=True)


def _width(values: np.ndarray) -> int:
    return values.shape[2] if values.ndim == 3 else 1


def _finish(values: np.ndarray, keys: pd.DataFrame, fit, prob: float) -> pd.DataFrame:
    """``keys`` (one row per column of ``values``, (S, m [, categories])) with the posterior
    mean, sd and equal-tailed interval; a ``category`` column for ordinal probabilities."""
    width = _width(values)
    flat = values.reshape(values.shape[0], -1)
    lower, upper = equal_tailed(flat, prob)
    sd = flat.std(axis=0, ddof=1) if flat.shape[0] > 1 else np.full(flat.shape[1], np.nan)
    table = keys.loc[keys.index.repeat(width)].reset_index(drop=True)
    if values.ndim == 3:
        table["category"] = np.tile(list(fit.model.design.response_levels), len(keys))
    stats = pd.DataFrame({"estimate": flat.mean(axis=0), "sd": sd, "lower": lower, "upper": upper})
    return pd.concat([table, stats], axis=1)

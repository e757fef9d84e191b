"""Figures of predictions, comparisons and slopes (marginaleffects' ``plot_*``): each takes
a ``Fit`` and returns a matplotlib ``Figure`` (made with pyplot, never shown).

``condition`` names the x axis and, optionally, a second column drawn as one line (or point
set) per value: the levels of a categorical column, mean and mean +- sd of a numeric one.
The grid is :func:`~mixedbayes.results.grid.datagrid`'s: other columns at their mean or
most common value, so by default (``include_random=False``) the curves are population-level.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .grid import datagrid, model_columns
from .marginal_effects import comparisons, predictions, slopes
from .plots import _grid


def plot_predictions(
    fit,
    condition,
    n_points=50,
    prob=0.95,
    kind="mean",
    include_random=False,
    new_groups="sample",
    dpar="mu",
):
    """Predictions (posterior mean and ``prob`` interval) over a grid of ``condition``."""
    names, grid, categorical = _condition_grid(fit, condition, n_points)
    options = dict(kind=kind, include_random=include_random, new_groups=new_groups, dpar=dpar)
    table = predictions(fit, grid, prob=prob, random_seed=0, **options)
    mean = dpar == "mu" and kind == "mean"
    ylabel = f"expected {fit.model.formula.response}" if mean else f"{dpar} ({kind})"
    title = f"Predictions ({prob:.0%} interval)"
    return _curves(table, names, categorical, ylabel, title)


def plot_comparisons(fit, variable, by=None, prob=0.95, **kwargs):
    """:func:`comparisons` of ``variable`` (averaged over the data, or ``by`` groups) as
    points with ``prob`` intervals, one row per contrast and group; ``**kwargs`` go to
    :meth:`mixedbayes.Fit.comparisons`."""
    table = comparisons(fit, variable, by=by, prob=prob, **kwargs)
    ratio = kwargs.get("comparison") == "ratio"
    return _forest(table, by, 1.0 if ratio else 0.0, f"Comparisons of {variable}", prob)


def plot_slopes(
    fit,
    variable,
    condition=None,
    n_points=50,
    prob=0.95,
    kind="mean",
    include_random=False,
    new_groups="sample",
    dpar="mu",
    eps=None,
):
    """Slope of ``variable`` over a grid of ``condition``, or (``condition=None``) its
    average over the data as one point with its ``prob`` interval."""
    options = dict(kind=kind, include_random=include_random, new_groups=new_groups, dpar=dpar)
    options.update(prob=prob, eps=eps, random_seed=0)
    if condition is None:
        return _forest(slopes(fit, variable, **options), None, 0.0, f"Slope of {variable}", prob)
    names, grid, categorical = _condition_grid(fit, condition, n_points)
    table = slopes(fit, variable, grid, by=names, **options)
    title = f"Slope of {variable} ({prob:.0%} interval)"
    return _curves(table, names, categorical, f"d {kind} / d {variable}", title)


def _condition_grid(fit, condition, n_points):
    """The condition's names, its datagrid and whether the x axis is categorical."""
    names = [condition] if isinstance(condition, str) else list(condition)
    if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
        raise DataError(f"condition takes one or two column names (x axis, lines): {condition!r}")
    info = model_columns(fit.model)
    known = [c for c in info.columns if c not in info.response]
    values = {}
    for i, name in enumerate(names):
        if name not in known:
            raise DataError(f"condition: {name!r} is not a column the model uses: {known}")
        column = info.data[name]
        if info.categorical(name) or name in info.factors:
            values[name] = info.levels_of(name)
        elif i == 0:
            values[name] = np.linspace(column.min(), column.max(), int(n_points))
        else:
            values[name] = column.mean() + np.array([-1.0, 0.0, 1.0]) * column.std()
    grid = datagrid(fit, **values)
    x = names[0]
    return names, grid, info.categorical(x) or x in info.factors


def _curves(table, names, categorical, ylabel, title):
    """One panel (per ordinal category): a line with band per value of ``names[1]``."""
    x, by = names[0], (names[1] if len(names) > 1 else None)
    panels = [(None, table)]
    if "category" in table:
        panels = list(table.groupby("category", sort=False))
    fig, axes = _grid(len(panels), width=5.0, height=3.6)
    for ax, (category, part) in zip(axes, panels, strict=True):
        lines = [(None, part)] if by is None else list(part.groupby(by, sort=False, observed=True))
        for i, (level, rows) in enumerate(lines):
            style = dict(color=f"C{i % 10}", label=None if by is None else _label(level))
            estimate, lower, upper = (rows[c].to_numpy() for c in ("estimate", "lower", "upper"))
            if categorical:
                shift = (i - (len(lines) - 1) / 2) * 0.15
                spots = np.arange(len(rows)) + shift
                ax.errorbar(spots, estimate, [estimate - lower, upper - estimate], fmt="o", **style)
                ax.set_xticks(np.arange(len(rows)), [_label(v) for v in rows[x]])
            else:
                ax.fill_between(rows[x], lower, upper, color=style["color"], alpha=0.2, lw=0)
                ax.plot(rows[x], estimate, **style)
        ax.set(xlabel=x, ylabel=ylabel if category is None else f"{ylabel}: {category}")
        if by is not None:
            ax.legend(title=by, fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _forest(table, by, reference, title, prob):
    """Points with intervals, one row per table row (per ordinal category: a panel)."""
    panels = [(None, table)]
    if "category" in table:
        panels = list(table.groupby("category", sort=False))
    n_rows = max(len(part) for _, part in panels)
    fig, axes = _grid(len(panels), width=4.5, height=max(2.0, 0.35 * n_rows + 1.2))
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    for ax, (category, part) in zip(axes, panels, strict=True):
        y = np.arange(len(part))[::-1]
        labels = [
            " | ".join([str(row["contrast"]), *(_label(row[b]) for b in by)])
            for _, row in part.iterrows()
        ]
        ax.axvline(reference, color="black", lw=0.8, ls="--")
        ax.hlines(y, part["lower"], part["upper"], color="tab:blue")
        ax.scatter(part["estimate"], y, color="tab:blue", s=16, zorder=3)
        ax.set_yticks(y, labels)
        ax.set(xlabel="estimate", title=None if category is None else str(category))
    fig.suptitle(f"{title} ({prob:.0%} interval)")
    fig.tight_layout()
    return fig


def _label(value) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)

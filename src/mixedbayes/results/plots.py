"""Figures of a fit: each function takes a ``Fit`` and returns a matplotlib ``Figure``
(made with pyplot, never shown). ``data=`` (default ``fit.model.data``) is the data the model
was fitted to; its rows complete in the formula's columns are the model's rows, in order.
"""

from __future__ import annotations

import math

import formulaic
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from ..design.columns import combine_factors, design_rows, required_columns
from ..design.make import as_frame

PLAIN, HIGHLIGHT, LINE = "tab:gray", "tab:red", "tab:blue"
DISCRETE = ("binary", "binomial", "count", "ordinal", "nominal")
NEW_LEVEL = "<new level>"  # grouping value of effect grids: a group not seen in fitting


def plot_ranef(fit, group=None, term=None, prob=0.95, sort=True, max_levels=None):
    """Caterpillar plot of ``fit.ranef(prob)``, one panel per (grouping factor, term).

    Parameters
    ----------
    group, term : str or list of str, optional
        Only these grouping factors / terms (default all).
    prob : float, default 0.95
        Interval probability; intervals that exclude 0 are thicker and red.
    sort : bool, default True
        Order levels by posterior mean (largest on top), else in level order.
    max_levels : int, optional
        Show only this many levels per panel, those with the largest absolute mean.
    """
    table = fit.ranef(prob)
    if table.empty:
        raise ValueError("the model has no random effects")
    if max_levels is not None and int(max_levels) < 1:
        raise ValueError(f"max_levels must be a positive integer, got {max_levels!r}")
    table = table[table["group_var"].isin(_choose(group, table["group_var"], "grouping factor"))]
    table = table[table["term"].isin(_choose(term, table["term"], "term"))]
    panels = list(table.groupby(["dpar", "group_var", "term"], sort=False))
    n_max = min(max(len(part) for _, part in panels), max_levels or math.inf)
    fig, axes = _grid(len(panels), width=4.0, height=max(2.5, 0.2 * n_max + 1.2))
    for ax, ((dpar, name, coef), part) in zip(axes, panels, strict=True):
        total = len(part)
        if max_levels is not None and total > max_levels:
            part = part.loc[part["value"].abs().nlargest(int(max_levels)).index].sort_index()
        part = part.sort_values("value", kind="stable") if sort else part.iloc[::-1]
        y = np.arange(len(part))
        excludes = ((part["lower"] > 0) | (part["upper"] < 0)).to_numpy()
        colors = [HIGHLIGHT if e else PLAIN for e in excludes]
        ax.axvline(0.0, color="black", lw=0.8, ls="--")
        ax.hlines(y, part["lower"], part["upper"], colors=colors, linewidths=1 + excludes)
        ax.scatter(part["value"], y, c=colors, s=14, zorder=3)
        ax.set_yticks(y, list(part["group"]) if len(part) <= 60 else [])
        shown = "" if len(part) == total else f" ({len(part)} of {total} levels)"
        title = f"{name}: {coef}{shown}" if dpar == "mu" else f"{name}: {dpar} {coef}{shown}"
        ax.set(title=title, xlabel="deviation from fixed effect")
    fig.suptitle(f"Random effects: posterior mean, {prob:.0%} interval (red: excludes 0)")
    fig.tight_layout()
    return fig


def plot_effects(
    fit,
    x,
    by=None,
    data=None,
    n_points=50,
    prob=0.95,
    include_random=False,
    groups=None,
    dpar="mu",
):
    """Expected response (with interval) over the observed range of numeric predictor ``x``.

    Other predictors are held at their mean, or most common value if categorical; ordinal
    models get one panel per category.

    Parameters
    ----------
    by : str, optional
        One line per level of a categorical column, at mean and mean +- sd of a numeric
        one, or per level of a grouping factor (as ``groups``; default its first 8).
    include_random : bool, default False
        True predicts for a new group: the band includes between-group variation.
    groups : list, optional
        Levels of ``by`` or of the first grouping factor: one line each, with that
        group's random effects (other grouping factors at zero).
    dpar : str, default "mu"
        Draw another distributional parameter (``"sigma"``, ``"zi"``) on its own scale.
    """
    design, clean, columns = fit.model.design, *_model_rows(fit, data)
    formulas = [part.formula for part in design.parts]
    factors = {f for part in design.parts for block in part.blocks for f in block.factors}
    fixed = _variables(*(f.fixed for f in formulas))
    parts = _variables(*(p.expr for f in formulas for term in f.groups for p in term.parts))
    predictors = [c for c in columns if c in fixed | parts and c not in factors]
    categorical = _categorical_columns(design)
    numeric = [c for c in predictors if _numeric(clean[c]) and c not in categorical]
    if x not in numeric:
        raise ValueError(f"x={x!r} is not a numeric predictor of the model; choose from {numeric}")
    xs = np.linspace(clean[x].min(), clean[x].max(), int(n_points))
    base = pd.DataFrame({x: xs})
    for c in [c for c in columns if c != x]:
        if c in factors and c not in fixed:
            base[c] = NEW_LEVEL
        elif _numeric(clean[c]) and c not in categorical:
            base[c] = clean[c].mean()
        else:
            base[c] = clean[c].mode().iloc[0]
    block = next((b for b in design.factor_blocks if by == b.group or (by,) == b.factors), None)
    include, new_groups = include_random, "sample"
    what = "new group" if include_random else "population level"
    if groups is not None or block is not None:
        if block is None and (by is not None or not design.factor_blocks):
            raise ValueError("groups= needs by= to be a grouping factor, or a model with one")
        block = block or design.factor_blocks[0]
        index, labels = combine_factors(clean, block.factors)
        first = {labels[i]: row for row, i in reversed(list(enumerate(index)))}
        default = block.levels[:8] if groups is None else groups
        chosen = _choose(default, block.levels, f"level of {block.group!r}")
        keys = list(block.factors)
        lines = [(lv, base.assign(**clean.iloc[first[lv]][keys])) for lv in chosen]
        include, new_groups, by, what = True, "population", block.group, "group lines"
    elif by is not None:
        if by not in predictors or by == x:
            raise ValueError(f"by={by!r} is not another predictor of the model: {predictors}")
        values = clean[by]
        if by in numeric:
            levels = values.mean() + np.array([-1.0, 0.0, 1.0]) * values.std()
        else:
            levels = values.astype("category").cat.remove_unused_categories().cat.categories
        lines = [
            (f"{v:.3g}" if isinstance(v, float) else str(v), base.assign(**{by: v})) for v in levels
        ]
    else:
        lines = [(None, base)]
    grid = pd.concat([frame for _, frame in lines], ignore_index=True)
    table = fit.predict(
        grid, include_random=include, new_groups=new_groups, prob=prob, random_seed=0, dpar=dpar
    )
    response = design.formula.response
    panels = [(f"expected {response}" if dpar == "mu" else dpar, table)]
    if isinstance(table.index, pd.MultiIndex):  # ordinal: category probabilities
        cats = table.index.get_level_values("category").unique()
        panels = [(f"P({response} = {c})", table.xs(c, level="category")) for c in cats]
    fig, axes = _grid(len(panels), width=5.0, height=3.6)
    for ax, (ylabel, part) in zip(axes, panels, strict=True):
        for i, (label, _) in enumerate(lines):
            rows, color = part.iloc[i * len(xs) : (i + 1) * len(xs)], f"C{i % 10}"
            ax.fill_between(xs, rows["lower"], rows["upper"], color=color, alpha=0.2, lw=0)
            ax.plot(xs, rows["estimate"], color=color, label=label)
        ax.set(xlabel=x, ylabel=ylabel)
        if len(lines) > 1:
            ax.legend(title=by, fontsize="small")
    fig.suptitle(f"Effect of {x} ({what}, {prob:.0%} interval)")
    fig.tight_layout()
    return fig


def plot_trajectories(fit, x=None, group=None, data=None, n_groups=12, random_seed=None, prob=0.95):
    """Observed response (as coded, e.g. 0/1) and fitted mean against ``x``, per group.

    The line joins ``fit.predict()`` (with random effects) at the group's rows, by ``x``.

    Parameters
    ----------
    x : str, optional
        Numeric column of ``data``; without data, a design term named like a column.
        Default: the group's first slope, else the first fixed effect.
    group : str, optional
        Grouping factor (default the formula's first).
    n_groups : int, default 12
        Levels drawn at random with ``random_seed`` (all when there are fewer).
    """
    design = fit.model.design
    if fit.model.family.per_category:
        raise ValueError(
            f"trajectories are not available for {fit.model.family.name} models; use plot_ppc"
        )
    if not design.factor_blocks:
        raise ValueError("the model has no grouping factor")
    block = design.block(_choose(group, design.groups, "grouping factor")[0])
    name, xvalues = _trajectory_x(fit, block, x, data)
    fitted = fit.predict(prob=prob)
    rng = np.random.default_rng(random_seed)
    n_show = min(int(n_groups), block.n_levels)
    chosen = np.sort(rng.choice(block.n_levels, n_show, replace=False))
    ncols = math.ceil(math.sqrt(n_show))
    fig, axes = _grid(n_show, width=2.6, height=2.2, ncols=ncols, sharex=True, sharey=True)
    for ax, level in zip(axes, chosen, strict=True):
        rows = np.flatnonzero(block.index == level)
        rows = rows[np.argsort(xvalues[rows], kind="stable")]
        line = fitted.iloc[rows]
        ax.fill_between(xvalues[rows], line["lower"], line["upper"], color=LINE, alpha=0.2, lw=0)
        ax.plot(xvalues[rows], line["estimate"], color=LINE)
        ax.scatter(xvalues[rows], design.y[rows], color="black", s=10, zorder=3)
        ax.set_title(block.levels[level], fontsize="small")
    fig.supxlabel(name)
    fig.supylabel(design.formula.response)
    fig.suptitle(f"{n_show} of {block.n_levels} levels of {block.group}: observed and fitted")
    fig.tight_layout()
    return fig


def plot_ppc(fit, kind="density", n_draws=50, random_seed=None):
    """Posterior predictive check: the observed response against replicated data sets.

    Parameters
    ----------
    kind : {"density", "hist"}
        Continuous responses: kernel densities, or histograms on common bins. Discrete
        families show observed counts per value (bars) and the replicates' median and 90%
        interval.
    n_draws : int, default 50
        Replicates, one per (evenly thinned) posterior draw.
    """
    if kind not in ("density", "hist"):
        raise ValueError(f"kind must be 'density' or 'hist', got {kind!r}")
    design, family = fit.model.design, fit.model.family
    y = np.asarray(design.y, dtype=float)
    reps = fit.predict(kind="response", draws=True, max_draws=n_draws, random_seed=random_seed)
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    low = min(y.min(), np.quantile(reps, 0.005))
    high = max(y.max(), np.quantile(reps, 0.995))
    if family.response in DISCRETE:
        coded = family.response in ("binary", "ordinal", "nominal")
        levels = design.response_levels if coded else None
        low, high = (0, len(levels) - 1) if levels else (np.floor(low), np.ceil(high))
        n_bins = int(high - low) + 1 if high - low < 40 else 30
        edges = np.linspace(low - 0.5, high + 0.5, n_bins + 1)
        centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        ax.bar(centers, np.histogram(y, edges)[0], 0.9 * width, color=PLAIN, label="observed")
        counts = np.array([np.histogram(r, edges)[0] for r in reps])
        lo, mid, hi = np.quantile(counts, [0.05, 0.5, 0.95], axis=0)
        label = "replicated (median, 90%)"
        ax.errorbar(centers, mid, yerr=[mid - lo, hi - mid], fmt="o", color=LINE, label=label)
        if n_bins <= 15:
            ax.set_xticks(centers, levels or [f"{c:g}" for c in centers])
        ax.set_ylabel("count")
    else:
        grid = np.linspace(low, high, 200)
        bins = np.linspace(low, high, len(np.histogram_bin_edges(y, "auto")))
        for i, values in enumerate(reps):
            label = "_replicated" if i else "replicated"
            _curve(ax, kind, values, grid, bins, color=LINE, lw=0.8, alpha=0.3, label=label)
        _curve(ax, kind, y, grid, bins, color="black", lw=2.0, label="observed")
        ax.set_ylabel("density")
    ax.set(xlabel=design.formula.response, title=f"Observed vs {len(reps)} replicated data sets")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _curve(ax, kind, values, grid, bins, **style):
    if kind == "hist":
        return ax.stairs(np.histogram(values, bins, density=True)[0], bins, **style)
    density = stats.gaussian_kde(values)(grid) if np.ptp(values) > 0 else np.zeros_like(grid)
    return ax.plot(grid, density, **style)


def _grid(n_panels, width, height, ncols=None, **kwargs):
    """A figure with ``n_panels`` axes in rows of ``ncols`` (default up to 4)."""
    ncols = ncols or min(n_panels, 4)
    nrows = math.ceil(n_panels / ncols)
    size = (width * ncols, height * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, **kwargs)
    axes = list(axes.ravel())
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    for ax in axes[max(0, n_panels - ncols) : n_panels]:  # last in each column: x ticks
        ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes[:n_panels]


def _choose(value, valid, what) -> list[str]:
    """``value`` (None, a name or a list of names) as a list of names in ``valid``."""
    valid = list(dict.fromkeys(str(v) for v in valid))
    if value is None:
        return valid
    chosen = [str(v) for v in ([value] if np.isscalar(value) else value)]
    unknown = [v for v in chosen if v not in valid]
    if unknown:
        shown = ", ".join(map(repr, valid[:20])) + (" ..." if len(valid) > 20 else "")
        raise ValueError(f"unknown {what}: {unknown[0]!r}; choose from {shown}")
    return chosen


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _variables(*expressions: str) -> set[str]:
    """Names that formulaic expressions read."""
    return {str(v) for e in expressions for v in formulaic.Formula(e).required_variables}


def _categorical_columns(design) -> set[str]:
    """Data columns that the fixed or random parts encode as categories."""
    names = set()
    for spec in (design.fixed_spec, *(s for b in design.blocks for s in b.part_specs)):
        for factor, (kind, _) in getattr(spec, "encoder_state", {}).items():
            if str(getattr(kind, "value", kind)) == "categorical":
                names |= _variables(factor)
    return names


def _model_rows(fit, data) -> tuple[pd.DataFrame, list[str]]:
    """The rows of ``data`` the model used, in design order, and the columns it reads."""
    data = getattr(fit.model, "data", None) if data is None else as_frame(data)
    if not isinstance(data, pd.DataFrame):
        raise ValueError("pass data=, the DataFrame the model was fitted to")
    context = getattr(fit.model, "context", None) or {}
    columns = required_columns(fit.model.formula, data, context)
    clean = design_rows(data, fit.model.formula, context).reset_index(drop=True)
    design, same = fit.model.design, len(clean) == fit.model.design.n_obs
    for block in design.blocks if same else ():
        index, labels = combine_factors(clean, block.factors)
        same = same and np.array_equal(
            np.asarray(labels)[index], np.asarray(block.levels)[block.index]
        )
    if not same:
        raise ValueError("data= is not the data the model was fitted to")
    return clean, columns


def _trajectory_x(fit, block, x, data) -> tuple[str, np.ndarray]:
    """The name and per-row values (design order) of the trajectories' x axis."""
    design, predictors = fit.model.design, []
    if data is not None or getattr(fit.model, "data", None) is not None:
        clean, columns = _model_rows(fit, data)
        source = {str(c): clean[c] for c in clean.columns if _numeric(clean[c])}
        predictors, where = [c for c in columns if c in _variables(design.formula.fixed)], "data="
    else:
        pairs = [*zip(block.coefs, block.Z.T), *zip(design.fixed_terms, design.X.T)]  # noqa: B905
        source = {name: v for name, v in pairs if name.isidentifier() and name != "Intercept"}
        where = "the design (pass data= for other columns)"
    if x is None:
        names = [c for c in (*block.coefs, *design.fixed_terms, *predictors) if c in source]
        if not names:
            raise ValueError("the model has no numeric predictor to plot against; pass x=")
        x = names[0]
    if x not in source:
        raise ValueError(
            f"x={x!r} is not a numeric column of {where}; choose from {sorted(source)}"
        )
    return x, np.asarray(source[x], dtype=float)

"""What a model reads from its data, and grids of typical rows (marginaleffects' ``datagrid``).

A grid holds every combination of the values given; every other column the model uses is
held at its mean (numeric) or most common value (categorical, string, bool), grouping
factors at their most common level (combination). Pandas categoricals keep their dtype.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design.columns import _names_in_calls, design_rows, required_columns, variables
from ..errors import DataError


@dataclass(frozen=True)
class Columns:
    """The model's rows (the data complete in the columns it uses) and their roles."""

    data: pd.DataFrame  # the rows the model used, in design order, with their labels
    columns: list[str]  # the columns the formula reads, response and additions included
    response: set[str]  # columns read by the response alone
    factors: set[str]  # grouping-factor columns
    predictors: dict[str, set[str]]  # per dpar: columns of its fixed and random parts
    levels: dict[str, list]  # categorical predictors: their levels, reference first

    def categorical(self, name: str) -> bool:
        return name in self.levels or not _numeric(self.data[name])

    def levels_of(self, name: str) -> list:
        if name in self.levels:
            return self.levels[name]
        column = self.data[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            return list(column.cat.categories)
        return sorted(column.unique().tolist())


def model_columns(model) -> Columns:
    """The :class:`Columns` of a Model."""
    data, context = model.data, getattr(model, "context", None) or {}
    columns = required_columns(model.formula, data, context)
    clean = design_rows(data, model.formula, context)[columns]
    design = model.design
    predictors, levels = {}, {}
    for part in design.parts:
        formula = part.formula
        expressions = [(formula.fixed, False), *((e, True) for e in formula.offsets)]
        expressions += [(p.expr, False) for group in formula.groups for p in group.parts]
        names = set()
        for expr, python in expressions:
            names |= variables(expr, python) | (set() if python else _names_in_calls(expr, data))
        predictors[part.dpar] = {n for n in names if n in clean.columns}
        specs = (part.fixed_spec, *(s for b in part.blocks for s in b.part_specs))
        for spec in specs:
            for factor, (kind, state) in getattr(spec, "encoder_state", {}).items():
                found = variables(factor) & set(clean.columns)
                if str(getattr(kind, "value", kind)) == "categorical" and len(found) == 1:
                    levels[found.pop()] = list(state.get("categories", ()))
    for name in columns:
        if pd.api.types.is_bool_dtype(clean[name]) and name not in levels:
            levels[name] = [False, True]
    lhs = set() if model.formula.failures else variables(model.formula.response, python=True)
    return Columns(
        data=clean,
        columns=columns,
        response={n for n in lhs if not any(n in p for p in predictors.values())},
        factors={f for part in design.parts for b in part.blocks for f in b.factors},
        predictors=predictors,
        levels=levels,
    )


def datagrid(fit_or_model, /, **values) -> pd.DataFrame:
    """A grid of typical rows for predictions (marginaleffects' ``datagrid``).

    Parameters
    ----------
    fit_or_model : Fit or Model
    **values
        ``column=value`` or ``column=[values]``: the grid holds every combination, the
        first column varying slowest. A categorical column's values must be among its
        levels; a grouping factor may take new levels.

    Returns
    -------
    DataFrame
        Every column the model reads but the response; the others at their mean
        (numeric) or most common value (categorical, string, bool), grouping factors at
        their most common level (combination). Categorical dtypes are kept.
    """
    model = getattr(fit_or_model, "model", fit_or_model)
    info = model_columns(model)
    data = info.data
    known = [c for c in info.columns if c not in info.response]
    unknown = [name for name in values if name not in known]
    if unknown:
        raise DataError(f"datagrid: {unknown[0]!r} is not a column the model uses: {known}")
    given = {name: _as_list(value) for name, value in values.items()}
    for name, chosen in given.items():
        levels = info.levels.get(name) if name not in info.factors else None
        bad = [v for v in chosen if levels is not None and not any(v == lv for lv in levels)]
        if bad:
            raise DataError(f"{bad[0]!r} is not a level of {name!r}; its levels are {levels}")
    typical = {}
    for block_factors in {b.factors for p in model.design.parts for b in p.blocks}:
        if not set(block_factors) & set(given):  # the most common level combination
            top = data.groupby(list(block_factors), observed=True).size().idxmax()
            top = top if isinstance(top, tuple) else (top,)
            typical.update(zip(block_factors, top, strict=True))
    for name in known:
        if name not in typical and name not in given:
            column = data[name]
            typical[name] = column.mean() if _numeric(column) else column.mode().iloc[0]
    rows = list(itertools.product(*given.values()))
    grid = pd.DataFrame(rows, columns=list(given)) if given else pd.DataFrame(index=[0])
    for name in known:
        if name not in given:
            grid[name] = typical[name]
        grid[name] = _like(data[name], grid[name], name, name in info.factors)
    return grid[known].reset_index(drop=True)


def set_column(frame: pd.DataFrame, name: str, value, like: pd.Series) -> pd.DataFrame:
    """``frame`` with column ``name`` set to ``value`` (a scalar or per-row values), in the
    dtype of ``like`` (a categorical keeps its categories)."""
    if isinstance(like.dtype, pd.CategoricalDtype):
        values = np.broadcast_to(np.asarray(value, dtype=object), (len(frame),))
        values = _like(like, values, name, False)
    else:
        values = np.broadcast_to(np.asarray(value), (len(frame),)).copy()
    return frame.assign(**{name: values})


def _like(column: pd.Series, values, name: str, factor: bool):
    """``values`` in the dtype of the model's ``column``."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return values
    categories = list(column.cat.categories)
    new = [v for v in dict.fromkeys(values) if v not in categories]
    if new and not factor:
        raise DataError(f"{new[0]!r} is not a level of {name!r}; its levels are {categories}")
    return pd.Categorical(values, categories=categories + new, ordered=column.cat.ordered)


def _as_list(value) -> list:
    if isinstance(value, pd.Series | pd.Index | np.ndarray):
        return list(value)
    return list(value) if isinstance(value, list | tuple | range | set) else [value]


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)

"""Which data columns a formula uses, and cleaning of those columns (missing values, ids)."""

from __future__ import annotations

import ast
import difflib
import unicodedata
import warnings
from collections.abc import Mapping

import formulaic
import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError
from ..formula import Formula
from .smooth_transforms import with_transforms


def required_columns(formula: Formula, data: pd.DataFrame, context: Mapping) -> list[str]:
    """Columns of ``data`` the formula reads, in formula order; unknown names are an error."""
    context = with_transforms(context)
    # (expression, read as Python?): responses and offsets are evaluated as I(expr)
    expressions = [(e, True) for e in formula.response_expressions]
    for part in formula.parts:
        expressions += [(part.fixed, False)] + [(e, True) for e in part.offsets]
        expressions += [(p.expr, False) for group in part.groups for p in group.parts]
    names: list[str] = []
    for expr, python in expressions:
        found = variables(expr, python) | (_names_in_calls(expr, data) if not python else set())
        for name in sorted(found):
            if name not in data.columns and name in context:
                continue  # a function or constant from the caller's namespace
            names.append(name)
    names += [factor for part in formula.parts for group in part.groups for factor in group.factors]
    names += list(formula.autocor.columns) if formula.autocor is not None else []
    names += [g.smooth.by for p in formula.parts for g in p.groups if g.smooth and g.smooth.by]
    unique = list(dict.fromkeys(names))
    repeated = [name for name in unique if (data.columns == name).sum() > 1]
    if repeated:
        raise DataError(
            f"column {repeated[0]!r} used in formula {formula.text!r} appears "
            f"{int((data.columns == repeated[0]).sum())} times in the data; give each column "
            "its own name (e.g. data.columns = [...])"
        )
    missing = [name for name in unique if name not in data.columns]
    if missing:
        name = missing[0]
        close = difflib.get_close_matches(name, [str(c) for c in data.columns], n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        normalized = [c for c in map(str, data.columns) if unicodedata.normalize("NFKC", c) == name]
        if normalized:  # Python reads identifiers in NFKC form: 'µ' (micro) as 'μ' (mu)
            hint = f"; Python reads the column name {normalized[0]!r} as {name!r}: rename it"
        raise DataError(
            f"column {name!r} used in formula {formula.text!r} is not in the data{hint} "
            f"(columns: {', '.join(map(str, data.columns[:20]))})"
        )
    return unique


def variables(expr: str, python: bool = False) -> set[str]:
    """Names an expression reads (columns, or functions and constants from the context).

    ``python=True`` reads ``expr`` as a Python expression, as responses, trials and offsets
    are evaluated (``n - k`` then needs ``k``; as a formula it would remove the term ``k``).
    """
    try:
        formula = formulaic.Formula(f"I({expr})" if python else expr)
        return set(map(str, formula.required_variables))
    except Exception as error:  # formulaic raises several types for malformed formulas
        raise FormulaError(f"cannot parse {expr!r}: {error}") from error


def _names_in_calls(expr: str, data: pd.DataFrame) -> set[str]:
    """Columns read inside function calls such as ``center(x)``.

    formulaic leaves the arguments of its stateful transforms (``center``, ``scale``) out
    of ``required_variables``; reading the calls' Python syntax finds them.
    """
    names = set()
    for term in formulaic.Formula(expr):
        for factor in term.factors:
            if factor.eval_method.value != "python":
                continue
            try:
                tree = ast.parse(factor.expr, mode="eval")
            except SyntaxError:
                continue
            names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return {name for name in names if name in data.columns}


def design_rows(data: pd.DataFrame, formula: Formula, context: Mapping) -> pd.DataFrame:
    """The rows of ``data`` a design built from it holds (none missing in a used column),
    in order, with all their columns and their labels: what ``drop_missing`` keeps, quietly."""
    columns = required_columns(formula, data, context)
    return data.loc[data[columns].notna().all(axis=1)]


def drop_missing(data: pd.DataFrame, columns: list[str], dropna: bool) -> pd.DataFrame:
    """Rows with no missing value in ``columns`` (lme4's na.omit), warning how many went."""
    used = data[columns]
    missing = used.isna()
    n_missing = int(missing.any(axis=1).sum())
    if n_missing == 0:
        return used.reset_index(drop=True)
    counts = missing.sum()
    detail = ", ".join(f"{col!r}: {int(n)}" for col, n in counts[counts > 0].items())
    if not dropna:
        raise DataError(
            f"{n_missing} of {len(data)} rows have missing values ({detail}); "
            "drop them first or pass dropna=True"
        )
    if n_missing == len(data):
        raise DataError(f"every row has a missing value in a used column ({detail})")
    warnings.warn(
        f"dropped {n_missing} of {len(data)} rows with missing values ({detail})",
        UserWarning,
        stacklevel=4,
    )
    return used.loc[~missing.any(axis=1)].reset_index(drop=True)


def level_labels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and sorted level names of a grouping column (numbers are categories).

    Pandas categoricals keep their category order; other columns sort numerically or
    alphabetically. Whole-number floats such as ``1.0`` are labelled ``"1"``.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        return values.cat.codes.to_numpy(np.int64), [label(v) for v in values.cat.categories]
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [label(v) for v in uniques]


def label(value) -> str:
    """A level's name: whole-number floats such as ``1.0`` become ``"1"``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def combine_factors(data: pd.DataFrame, factors: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Level index of each row for the interaction of ``factors`` (``g1:g2``).

    Only combinations present in the data become levels, ordered by the factors' own level
    order, labelled ``"a:b"``.
    """
    if not factors:  # a smooth's penalized part: every row in one level
        return np.zeros(len(data), dtype=np.int64), ["all"]
    per_factor = [level_labels(data[factor]) for factor in factors]
    if len(per_factor) == 1:
        return per_factor[0]
    codes = np.stack([c for c, _ in per_factor], axis=1)
    combos, index = np.unique(codes, axis=0, return_inverse=True)
    labels = [
        ":".join(names[code] for code, (_, names) in zip(row, per_factor, strict=True))
        for row in combos
    ]
    return index.reshape(-1).astype(np.int64), labels

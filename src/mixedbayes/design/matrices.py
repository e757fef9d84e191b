"""Model matrices from formula expressions (formulaic), with mixedbayes's errors."""

from __future__ import annotations

from collections.abc import Mapping

import formulaic
import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError
from ..formula import Formula


def evaluate(expr: str, data: pd.DataFrame, context: Mapping, what: str) -> np.ndarray:
    """One numeric column from an expression such as ``np.log(x)`` or ``n - y``."""
    matrix, names, _ = model_matrix(f"0 + I({expr})", data, context, what)
    if len(names) != 1:
        raise DataError(f"{what} {expr!r} must give one numeric column, got {names}")
    return matrix[:, 0]


def offset(formula: Formula, data: pd.DataFrame, context: Mapping) -> np.ndarray | None:
    """The sum of the formula's ``offset(...)`` terms, or None without offsets."""
    if not formula.offsets:
        return None
    return sum(evaluate(expr, data, context, "offset") for expr in formula.offsets)


def model_matrix(expr: str, data: pd.DataFrame, context: Mapping, what: str):
    """formulaic model matrix of a right-hand side, as (float array, names, spec)."""
    try:
        matrix = formulaic.model_matrix(expr, data, context=context, na_action="raise")
    except Exception as error:  # formulaic raises many types; re-raise with our context
        raise FormulaError(f"cannot encode {what} {expr!r}: {error}") from error
    names = tuple(str(name) for name in matrix.columns)
    values = np.asarray(matrix, dtype=float)
    _check_finite(values, names, what)
    return values, names, matrix.model_spec


def _check_finite(values: np.ndarray, names, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        column = int(np.argmax(bad.any(axis=0)))
        raise DataError(
            f"{what} column {names[column]!r} has {int(bad[:, column].sum())} infinite or "
            "undefined values (e.g. log of zero)"
        )

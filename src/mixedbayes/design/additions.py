"""Addition terms of the response (brms's): ``weights()``, ``cens()`` and ``trunc()``.

Each is evaluated on the model's rows and checked, with errors naming the column, the
value and the first offending row:

- ``weights(w)``: finite, non-negative numbers; the row's log-density is multiplied by
  its weight (a weight of 2 counts the row twice).
- ``cens(c)`` / ``cens(c, y2)``: per row "left" (the value is an upper bound), "none",
  "right" (a lower bound) or "interval" (between ``y`` and ``y2``), or brms's codes -1, 0,
  1, 2. Continuous families and the plain counts (poisson, negative_binomial), whose
  "right" means the true count exceeds y (brms's: log P(Y > y)).
- ``trunc(lb = a, ub = b)``: the response is known to lie in [a, b] (numbers or columns);
  every value must. For counts both bounds are possible values (``trunc(lb = 1)``:
  zero-truncated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, FamilyError
from ..formula import Formula

CENSORING = {"left": -1, "none": 0, "right": 1, "interval": 2}


@dataclass(frozen=True, eq=False)
class Additions:
    """The evaluated addition terms (each None when the formula has none).

    Attributes
    ----------
    weights : ndarray or None
    censoring : ndarray of int or None
        -1 left, 0 none, 1 right, 2 interval censored.
    upper : ndarray or None
        The upper bound of interval-censored rows (``cens(c, y2)``).
    truncation : tuple of two ndarrays or None
        Lower and upper bounds per row (-inf and inf where open).
    """

    weights: np.ndarray | None = None
    censoring: np.ndarray | None = None
    upper: np.ndarray | None = None
    truncation: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.weights, self.censoring, self.truncation))


def encode_additions(
    formula: Formula, data: pd.DataFrame, family, y: np.ndarray, evaluate: Callable
) -> Additions:
    """The addition terms of ``formula`` for the rows of ``data`` (response ``y``)."""
    weights = None if formula.weights is None else _weights(formula.weights, data, evaluate)
    censoring = upper = truncation = None
    if formula.cens is not None or formula.trunc_lb is not None or formula.trunc_ub is not None:
        if not family.censorable:
            raise FamilyError(
                "cens() and trunc() are implemented for the continuous families and the "
                "counts (poisson, negative_binomial, binomial, their zero-inflated and "
                f"hurdle forms), not for {family.name!r}"
            )
    if formula.cens is not None:
        censoring = _censoring(formula.cens, data)
        if formula.cens2 is not None:
            upper = _values(formula.cens2, data, evaluate)
        interval = censoring == 2
        if interval.any():
            if upper is None:
                row = int(np.argmax(interval))
                raise DataError(
                    f"row {row} of {formula.cens!r} is interval censored; give the upper "
                    f"bounds as cens({formula.cens}, upper)"
                )
            bad = interval & ~(upper > y)
            if bad.any():
                row = int(np.argmax(bad))
                raise DataError(
                    f"interval-censored row {row}: upper bound {formula.cens2!r} = "
                    f"{float(upper[row])!r} must exceed the response {float(y[row])!r}"
                )
    if formula.trunc_lb is not None or formula.trunc_ub is not None:
        n = len(y)
        lower = _bound(formula.trunc_lb, data, evaluate, n, -np.inf)
        upper_bound = _bound(formula.trunc_ub, data, evaluate, n, np.inf)
        outside = (y < lower) | (y > upper_bound)
        if outside.any():
            row = int(np.argmax(outside))
            raise DataError(
                f"response {formula.response!r} has {int(outside.sum())} values outside "
                f"trunc(lb = {formula.trunc_lb}, ub = {formula.trunc_ub}); the first is "
                f"{float(y[row])!r} in row {row}"
            )
        truncation = (lower, upper_bound)
    return Additions(weights, censoring, upper, truncation)


def _values(expr: str, data: pd.DataFrame, evaluate: Callable) -> np.ndarray:
    if expr in data.columns:
        column = data[expr]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise DataError(f"column {expr!r} must be numeric, got dtype {column.dtype}")
        return column.to_numpy(dtype=float)
    return np.asarray(evaluate(expr), dtype=float)


def _weights(expr: str, data: pd.DataFrame, evaluate: Callable) -> np.ndarray:
    weights = _values(expr, data, evaluate)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"weights {expr!r} must be finite and non-negative; {int(bad.sum())} are not, "
            f"the first {float(weights[row])!r} in row {row}"
        )
    return weights


def _censoring(expr: str, data: pd.DataFrame) -> np.ndarray:
    if expr not in data.columns:
        raise DataError(f"cens({expr}) needs a column of censoring codes named {expr!r}")
    codes = []
    for row, value in enumerate(data[expr]):
        key = value.strip().lower() if isinstance(value, str) else value
        if isinstance(key, str) and key in CENSORING:
            codes.append(CENSORING[key])
        elif not isinstance(key, str | bool) and key in (-1, 0, 1, 2):
            codes.append(int(key))
        else:
            raise DataError(
                f"censoring column {expr!r} has {value!r} in row {row}; use 'left', "
                "'none', 'right', 'interval' or -1, 0, 1, 2"
            )
    return np.asarray(codes, dtype=np.int8)


def _bound(expr, data, evaluate, n: int, default: float) -> np.ndarray:
    if expr is None:
        return np.full(n, default)
    try:
        return np.full(n, float(expr))
    except ValueError:
        return _values(expr, data, evaluate)

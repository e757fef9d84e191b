"""The response: evaluated from the formula's left-hand side and checked against the family.

Bernoulli accepts 0/1 numbers, booleans or a two-level text/categorical column, whose
second level (categorical order, else sorted) is the "success", as in R. Binomial needs
trials, from ``s | trials(n)`` or ``cbind(s, f)``. Ordinal responses become codes
0..K-1 in the order of an (ordered) pandas Categorical or of sorted numbers; unordered
(categorical) ones in the order of a pandas Categorical, else of sorted values, the first
category being the reference.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..families import Family
from ..formula import Formula
from .columns import label


@dataclass(frozen=True, eq=False)
class Response:
    """The coded response.

    Attributes
    ----------
    y : ndarray of float
        Values as the likelihood sees them (0/1 for bernoulli, codes for ordinal).
    trials : ndarray of float or None
        Binomial trials.
    levels : tuple of str or None
        For a bernoulli text response (failure, success); for an ordinal one, the K
        categories in order.
    """

    y: np.ndarray
    trials: np.ndarray | None = None
    levels: tuple[str, ...] | None = None


def encode_response(
    formula: Formula, data: pd.DataFrame, family: Family, evaluate: Callable[[str], np.ndarray]
) -> Response:
    """Evaluate and check the response of ``formula`` for ``family``.

    ``evaluate(expr)`` returns a numeric column for an expression that is not a column.
    """
    name = formula.response
    binomial = formula.trials is not None or formula.failures is not None
    if binomial and family.response != "binomial":
        raise DataError(
            f"response {_lhs(formula)!r} gives trials, which only family 'binomial' uses "
            f"(this model's family is {family.name!r})"
        )
    if family.response == "binomial":
        return _binomial(formula, data, evaluate)
    raw = data[name] if name in data.columns else pd.Series(evaluate(name))
    if family.response == "binary":
        return _binary(name, raw)
    if family.response == "ordinal":
        return _ordinal(name, raw)
    if family.response == "nominal":
        return _nominal(name, raw)
    y = _numeric(name, raw, family)
    _CHECKS[family.response](name, y, family)
    return Response(y)


def _lhs(formula: Formula) -> str:
    return formula.text.split("~")[0].strip()


def _numeric(name: str, values: pd.Series, family: Family) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_complex_dtype(values):
        raise DataError(
            f"response {name!r} has non-numeric values (dtype {values.dtype}, e.g. "
            f"{values.iloc[0]!r}); family {family.name!r} needs numbers"
        )
    y = values.to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise DataError(f"response {name!r} has {int((~np.isfinite(y)).sum())} infinite values")
    return y


def _is_integer(y: np.ndarray) -> bool:
    return bool(np.all(y == np.round(y)))


def _check_real(name, y, family):
    pass


def _check_count(name, y, family):
    if (y < 0).any() or not _is_integer(y):
        bad = y[(y < 0) | (y != np.round(y))][0]
        raise DataError(
            f"response {name!r} must be counts (0, 1, 2, ...) for family {family.name!r}; "
            f"it has {bad:g}"
        )


def _check_positive(name, y, family):
    if (y <= 0).any():
        raise DataError(
            f"response {name!r} must be positive for family {family.name!r}; "
            f"it has {int((y <= 0).sum())} values <= 0 (smallest {y.min():g})"
        )


def _check_unit(name, y, family):
    outside = (y <= 0) | (y >= 1)
    if outside.any():
        raise DataError(
            f"response {name!r} must be strictly between 0 and 1 for family "
            f"{family.name!r}; it has {int(outside.sum())} values outside (0, 1) "
            f"(e.g. {y[outside][0]:g}); transform exact 0s and 1s first, e.g. "
            "(y * (n - 1) + 0.5) / n"
        )


def _check_interval(allowed: str, inside):
    """A check that every value satisfies ``inside(y)``, described as ``allowed``."""

    def check(name, y, family):
        outside = ~inside(y)
        if outside.any():
            row = int(np.argmax(outside))
            raise DataError(
                f"response {name!r} must lie in {allowed} for family {family.name!r}; it has "
                f"{int(outside.sum())} values outside, the first {y[row]:g} in row {row}"
            )

    return check


_CHECKS = {
    "real": _check_real,
    "count": _check_count,
    "positive": _check_positive,
    "unit": _check_unit,
    "nonnegative": _check_interval("[0, inf)", lambda y: y >= 0),
    "unit_zero": _check_interval("[0, 1)", lambda y: (y >= 0) & (y < 1)),
    "unit_closed": _check_interval("[0, 1]", lambda y: (y >= 0) & (y <= 1)),
}


def _binary(name: str, raw: pd.Series) -> Response:
    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_numeric_dtype(raw):
        y = raw.to_numpy(dtype=float)
        outcomes = np.unique(y)
        if not np.isin(outcomes, (0.0, 1.0)).all():
            raise DataError(
                f"response {name!r} must be 0/1, boolean or two categories for family "
                f"'bernoulli'; it has values {_show(outcomes)}"
            )
        if len(outcomes) == 1:
            warnings.warn(f"response {name!r} is always {outcomes[0]:g}", UserWarning, stacklevel=5)
        return Response(y)
    levels = _levels(raw)
    if len(levels) != 2:
        raise DataError(
            f"response {name!r} has {len(levels)} outcomes {_show(levels)}; family "
            "'bernoulli' needs exactly two (use family='cumulative' for ordered outcomes, "
            "'categorical' for unordered ones)"
        )
    y = (raw.astype(str).to_numpy() == levels[1]).astype(float)
    return Response(y, levels=tuple(levels))


def _binomial(formula: Formula, data: pd.DataFrame, evaluate) -> Response:
    if formula.trials is None and formula.failures is None:
        raise DataError(
            f"family 'binomial' needs the number of trials: write "
            f"'{formula.response} | trials(n) ~ ...' or 'cbind({formula.response}, "
            f"failures) ~ ...'; for a 0/1 response use family='bernoulli'"
        )
    successes = _column(formula.response, data, evaluate)
    if formula.trials is not None:
        trials, what = _column(formula.trials, data, evaluate), f"trials({formula.trials})"
    else:
        failures = _column(formula.failures, data, evaluate)
        _check_nonnegative_integer(formula.failures, failures, "failures")
        trials, what = successes + failures, f"{formula.response} + {formula.failures}"
    _check_nonnegative_integer(formula.response, successes, "successes")
    _check_nonnegative_integer(what, trials, "trials")
    above = successes > trials
    if above.any():
        i = int(np.argmax(above))
        raise DataError(
            f"response {formula.response!r} has more successes than trials in "
            f"{int(above.sum())} rows (e.g. row {i}: {successes[i]:g} of {trials[i]:g})"
        )
    return Response(successes, trials=trials)


def _column(expr: str, data: pd.DataFrame, evaluate) -> np.ndarray:
    values = data[expr] if expr in data.columns else pd.Series(evaluate(expr))
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise DataError(f"{expr!r} must be numeric for family 'binomial', got {values.dtype}")
    return values.to_numpy(dtype=float)


def _check_nonnegative_integer(name: str, values: np.ndarray, what: str) -> None:
    bad = (values < 0) | (values != np.round(values)) | ~np.isfinite(values)
    if bad.any():
        raise DataError(f"{what} {name!r} must be whole numbers >= 0; it has {values[bad][0]:g}")


def _ordinal(name: str, raw: pd.Series) -> Response:
    if isinstance(raw.dtype, pd.CategoricalDtype):
        observed = set(raw.astype(str))
        levels = [str(c) for c in raw.cat.categories]
        unused = [level for level in levels if level not in observed]
        if unused:
            warnings.warn(
                f"categories {unused} of response {name!r} never occur and are dropped",
                UserWarning,
                stacklevel=5,
            )
        levels = [level for level in levels if level in observed]
        codes = pd.Categorical(raw.astype(str), categories=levels).codes
    elif pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        infinite = int(np.isinf(raw.to_numpy(dtype=float)).sum())
        if infinite:
            raise DataError(f"response {name!r} has {infinite} infinite values")
        values = np.sort(raw.unique())
        levels = [label(v) for v in values]
        codes = np.searchsorted(values, raw.to_numpy())
    else:
        raise DataError(
            f"response {name!r} is text, whose order family 'cumulative' cannot guess "
            f"(sorted it would be {_show(sorted(raw.astype(str).unique()))}); make it an "
            "ordered pandas Categorical, e.g. df[col] = pd.Categorical(df[col], "
            "categories=[...], ordered=True)"
        )
    if len(levels) < 2:
        raise DataError(f"response {name!r} has a single category {levels}")
    return Response(np.asarray(codes, dtype=float), levels=tuple(levels))


def _nominal(name: str, raw: pd.Series) -> Response:
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        if np.isinf(raw.to_numpy(dtype=float)).any():
            raise DataError(f"response {name!r} has infinite values")
        values = np.sort(raw.unique())
        levels, codes = [label(v) for v in values], np.searchsorted(values, raw.to_numpy())
    else:
        levels = _levels(raw)
        codes = pd.Categorical(raw.astype(str), categories=levels).codes
    if len(levels) < 2:
        raise DataError(f"response {name!r} has a single category {levels}")
    return Response(np.asarray(codes, dtype=float), levels=tuple(levels))


def _levels(raw: pd.Series) -> list[str]:
    if isinstance(raw.dtype, pd.CategoricalDtype):
        present = set(raw.astype(str))
        return [str(c) for c in raw.cat.categories if str(c) in present]
    return sorted(raw.astype(str).unique())


def _show(values, limit: int = 6) -> str:
    values = [label(v) if isinstance(v, (int, float, np.number)) else str(v) for v in values]
    shown = ", ".join(values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"

"""Rows, predictors and binomial trials for :func:`mixedbayes.simulate`.

Without data, the rows are built from the grouping factors: every factor nested in another
(``(1 | a/b)``, ``(1 | a:b)``) is crossed with its siblings within each level of its
parent, and separate factor trees (crossed factors) are assigned to rows at random, each
level equally often. New predictors are standard normal.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Mapping

import formulaic
import numpy as np
import pandas as pd

from ..design.matrices import evaluate
from ..errors import DataError, FamilyError, FormulaError
from ..families import Family
from ..formula import Formula

NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def variables(formula: Formula) -> list[str]:
    """Data variables read by the fixed parts, the random terms and the offsets of the
    formula and of its distributional parameters' formulas."""
    formulas = [formula, *formula.dpars]
    exprs = [
        factor.expr
        for f in formulas
        for rhs in [f.fixed, *(p.expr for g in f.groups for p in g.parts)]
        for term in formulaic.Formula(rhs)
        for factor in term.factors
    ]
    offsets = [expr for f in formulas for expr in f.offsets]
    names: list[str] = []
    for expr in [*exprs, *offsets]:
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError:
            names += sorted(map(str, formulaic.Formula(expr).required_variables))
            continue
        heads = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        heads |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names += [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in heads]
    return list(dict.fromkeys(names))


def nesting(formula: Formula) -> dict[str, tuple[str, ...]]:
    """Each grouping factor's parents: ``(1 | a/b)`` and ``(1 | a:b)`` nest b in a."""
    found: dict[str, set] = {}
    for term in formula.groups:
        for i, factor in enumerate(term.factors):
            found.setdefault(factor, set()).add(term.factors[:i])
    parents = {}
    for factor, prefixes in found.items():
        nested = sorted(p for p in prefixes if p)
        if len(nested) > 1:
            shown = " and ".join(":".join(p) for p in nested)
            raise FormulaError(
                f"grouping factor {factor!r} is nested in {shown}; simulate cannot build "
                "such rows, pass them as data="
            )
        parents[factor] = nested[0] if nested else ()
    return parents


def build_rows(formula: Formula, groups, n_per_group, rng) -> pd.DataFrame:
    """Grouping-factor columns for ``groups`` levels and ``n_per_group`` rows per cell."""
    parents = nesting(formula)
    groups = {} if groups is None else groups
    if not isinstance(groups, Mapping):
        raise DataError(f"groups must be a dict such as {{'g': 50}}, got {groups!r}")
    for name in groups:
        if name not in parents:
            raise FormulaError(
                f"groups names {name!r}, which is not a grouping factor of "
                f"{formula.text!r}; its grouping factors are {list(parents)}"
            )
    for factor in parents:
        if factor not in groups:
            raise DataError(
                f"groups= must give the number of levels of grouping factor {factor!r}, "
                f"e.g. groups={{{factor!r}: 50}}"
            )
        _check_count(f"groups[{factor!r}]", groups[factor])
    _check_count("n_per_group", n_per_group)
    trees: dict[str, list[tuple[int, str]]] = {}
    for factor in parents:
        root, depth = factor, 0
        while parents[root]:
            root, depth = parents[root][0], depth + 1
            if depth > len(parents):
                raise FormulaError(f"grouping factors in {formula.text!r} nest in a circle")
        trees.setdefault(root, []).append((depth, factor))
    cells = []
    for members in trees.values():
        tree = [factor for _, factor in sorted(members)]
        product = itertools.product(*(range(1, int(groups[f]) + 1) for f in tree))
        cells.append(pd.DataFrame(list(product), columns=tree))
    if not cells:
        return pd.DataFrame(index=range(int(n_per_group)))
    sizes = [len(cell) for cell in cells]
    n_rows, first = max(sizes) * int(n_per_group), int(np.argmax(sizes))
    parts = []
    for i, cell in enumerate(cells):
        if i == first:
            rows = np.repeat(np.arange(len(cell)), n_per_group)
        else:  # crossed: every level equally often, at random
            rows = rng.permutation(np.resize(np.arange(len(cell)), n_rows))
        parts.append(cell.iloc[rows].reset_index(drop=True))
    return pd.concat(parts, axis=1)[list(parents)]


def _check_count(what: str, value) -> None:
    try:
        whole = not isinstance(value, bool) and float(value).is_integer() and value >= 1
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise DataError(f"{what} must be a whole number >= 1, got {value!r}")


def check_given(formula: Formula, frame: pd.DataFrame, groups) -> None:
    """Given data: no missing values in used columns, and ``groups`` (if any) agrees."""
    parents = nesting(formula)
    used = [c for c in [*variables(formula), *parents] if c in frame.columns]
    missing = frame[used].isna().sum()
    if missing.any():
        detail = ", ".join(f"{c!r}: {int(n)}" for c, n in missing[missing > 0].items())
        raise DataError(f"data has missing values ({detail}); drop those rows first")
    for factor, count in (groups or {}).items():
        if factor not in parents:
            raise FormulaError(f"groups names {factor!r}, which is not a grouping factor")
        if factor not in frame.columns:
            raise DataError(f"grouping factor {factor!r} is not a column of data")
        parent = list(parents[factor])
        found = frame.groupby(parent)[factor].nunique().max() if parent else None
        found = frame[factor].nunique() if found is None else found
        if found != count:
            raise DataError(
                f"groups[{factor!r}] = {count} but data has {found} levels of {factor!r}; "
                "with data= leave groups out"
            )


def difference(formula: Formula, failures: str) -> str | None:
    """``n`` from failures written ``n - s`` (s the response), else None."""
    match = re.fullmatch(rf"\s*(.+?)\s*-\s*{re.escape(formula.response)}\s*", failures)
    return match.group(1) if match else None


def binomial_trials(formula: Formula, frame, context, given, family: Family):
    """Binomial trials per row, filling a missing trials column from ``trials=``."""
    if family.response != "binomial":
        if formula.trials is not None or formula.failures is not None:
            raise FamilyError(
                f"the response of {formula.text!r} gives trials, which only family "
                f"'binomial' uses (this family is {family.name!r})"
            )
        return None
    if formula.trials is None and formula.failures is None:
        raise FamilyError(
            f"family 'binomial' needs trials: write '{formula.response} | trials(n) ~ ...' "
            f"or 'cbind({formula.response}, n - {formula.response}) ~ ...'"
        )
    expr = formula.trials or difference(formula, formula.failures)
    filled = None
    if given is not None:
        try:
            filled = np.broadcast_to(np.asarray(given, dtype=float), (len(frame),))
        except ValueError as error:
            raise DataError(f"trials= must be one number or one per row: {error}") from None
        if (filled < 0).any() or (filled != np.round(filled)).any():
            raise DataError(f"trials must be whole numbers >= 0, got {given!r}")
    if expr is None or (NAME.match(expr) and expr not in frame.columns):
        if filled is None:
            raise DataError(
                f"the number of trials ({expr or 'for cbind'}) is not in data: give trials="
            )
        if expr is None:
            return filled.astype(float)
        frame[expr] = filled.astype(np.int64)
    elif given is not None:
        raise FamilyError(f"trials= was given, but data already holds the trials ({expr!r})")
    values = evaluate(expr, frame, context, "trials")
    if (values < 0).any() or (values != np.round(values)).any():
        raise DataError(f"trials {expr!r} must be whole numbers >= 0")
    return values

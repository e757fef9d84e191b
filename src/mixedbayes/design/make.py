"""Bind a parsed formula to a DataFrame: ``make_design(formula, data) -> Design``."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, FamilyError, FormulaError
from ..families import Family, get_family
from ..formula import Formula
from ..formula.distributional import parse_model_formula
from .additions import encode_additions
from .autocor import check_orders, encode_autocor
from .blocks import Design, RandomBlock
from .columns import drop_missing, required_columns
from .matrices import evaluate, model_matrix, offset
from .random import check_ids, random_blocks, with_numeric_by
from .response import encode_response
from .smooth_transforms import smooth_labels, with_transforms


def make_design(
    formula: Formula | str,
    data: pd.DataFrame,
    family: Family | str = "gaussian",
    *,
    dropna: bool = True,
    context: Mapping | None = None,
    links: Mapping[str, str] | None = None,
) -> Design:
    """Encode ``data`` for ``formula``.

    Parameters
    ----------
    formula : Formula or str
    data : pandas.DataFrame
    family : Family or str, default "gaussian"
        Decides how the response is coded and checked.
    dropna : bool, default True
        Drop rows with missing values in used columns (with a warning); if False, raise.
    context : mapping, optional
        Names (functions, constants) that formula expressions may use besides the columns.
    links : mapping, optional
        Links of distributional parameters with formulas (``{"sigma": "log"}``); each
        defaults to the family's first link for it.

    Returns
    -------
    Design
    """
    family = get_family(family)
    check_data(data, "data")
    formula = with_numeric_by(parse_model_formula(formula), data)
    context = with_transforms(context)
    columns = required_columns(formula, data, context)
    clean = drop_missing(data, columns, dropna)

    def evaluated(expr):
        return evaluate(expr, clean, context, "response")

    response = encode_response(formula, clean, family, evaluated)
    family = family.for_response(response.levels)
    formula = with_default_dpars(formula, family)
    additions = encode_additions(formula, clean, family, response.y, evaluated)
    X, fixed_terms, fixed_spec = model_matrix(formula.fixed, clean, context, "fixed part")
    fixed_terms = smooth_labels(fixed_terms, smooths(formula))
    _check_rank(X, fixed_terms)
    _check_group_names(formula)
    blocks = tuple(b for term in formula.groups for b in random_blocks(term, clean, context))
    _check_support(blocks, len(clean))
    links = dpar_links(formula, family, links)
    dpars = tuple(_part(part, clean, context, response, links) for part in formula.dpars)
    check_ids([*blocks, *(b for part in dpars for b in part.blocks)], data.columns)
    return Design(
        formula=formula,
        y=response.y,
        X=X,
        fixed_terms=fixed_terms,
        blocks=blocks,
        n_dropped=len(data) - len(clean),
        fixed_spec=fixed_spec,
        trials=response.trials,
        offset=offset(formula, clean, context),
        response_levels=response.levels,
        additions=additions,
        dpars=dpars,
        autocor=_autocor(formula, clean, family, additions, blocks),
    )


def _autocor(formula: Formula, data: pd.DataFrame, family: Family, additions, blocks):
    """The correlation structure for the rows of ``data``, if the family takes one; a
    warning where a random intercept of ``gr`` makes it unidentified."""
    term = formula.autocor
    if term is not None and not family.correlated_residuals:
        raise FamilyError(
            f"{term.text}: residual correlation structures are fitted for the gaussian "
            f"family; family {family.name!r} has none (brms's latent-residual form is not "
            "implemented)"
        )
    if term is not None and additions.any:
        raise FormulaError(f"{term.text} cannot be combined with weights, cens() or trunc()")
    if term is not None and term.kind in ("cosy", "unstr"):
        for block in blocks:
            if block.factors == (term.gr,) and "Intercept" in block.coefs:
                warnings.warn(
                    f"{term.text} with a random intercept of {term.gr!r} is not identified: "
                    "the intercept's variance adds a constant to every residual covariance "
                    f"of a level, which {term.kind}() already has; drop (1 | {term.gr})",
                    UserWarning,
                    stacklevel=4,
                )
    autocor = encode_autocor(term, data)
    if autocor is not None:
        check_orders(autocor)  # the fitted rows must identify the structure's coefficients
    return autocor


def smooths(formula: Formula) -> list:
    """The formula's smooth terms ``s(x)``."""
    return [term.smooth for term in formula.groups if term.smooth is not None]


def with_default_dpars(formula: Formula, family: Family) -> Formula:
    """``formula`` with the family's default formula (``zi ~ 1``; a categorical's further
    categories: the main formula's terms) for each parameter the family always predicts
    and ``bf()`` left out."""
    given = {part.dpar for part in formula.dpars}
    defaults = [family.default_formula(name, formula) for name in family.predicted]
    defaults = [part for part in defaults if part.dpar not in given]
    return dataclasses.replace(formula, dpars=(*formula.dpars, *defaults)) if defaults else formula


def dpar_links(formula: Formula, family: Family, links: Mapping | None) -> dict[str, str]:
    """The link of each dpar with a formula, checked against what the family has."""
    links = dict(links or {})
    parts = {part.dpar for part in formula.dpars}
    for name in [*parts, *links]:
        if name not in family.aux:
            raise FormulaError(
                f"family {family.name!r} has no distributional parameter {name!r}; its "
                f"parameters besides mu are {list(family.aux) or 'none'}"
            )
    chosen = {}
    for name in parts:
        allowed = family.dpar_links(name)
        chosen[name] = links.get(name, allowed[0])
        if chosen[name] not in allowed:
            raise FormulaError(f"{name!r} takes the links {list(allowed)}, got {chosen[name]!r}")
    return chosen


def _part(part: Formula, data, context, response, links) -> Design:
    """The design of one distributional parameter's formula (same rows as mu's)."""
    what = f"{part.dpar} formula"
    X, terms, spec = model_matrix(part.fixed, data, context, f"{what} {part.text!r}")
    terms = smooth_labels(terms, smooths(part))
    _check_rank(X, terms)
    blocks = tuple(b for term in part.groups for b in random_blocks(term, data, context, part.dpar))
    return Design(
        formula=part,
        y=response.y,
        X=X,
        fixed_terms=terms,
        blocks=blocks,
        fixed_spec=spec,
        trials=response.trials,
        offset=offset(part, data, context),
        response_levels=response.levels,
        dpar=part.dpar,
        link=links[part.dpar],
    )


def as_frame(data, what: str = "data"):
    """``data`` as a pandas DataFrame: polars and other data frames through their
    ``to_pandas()`` or the dataframe interchange protocol (``__dataframe__``); anything
    else is returned unchanged, for :func:`check_data` to explain."""
    if isinstance(data, pd.DataFrame) or data is None:
        return data
    try:
        if callable(getattr(data, "to_pandas", None)):  # polars, pyarrow tables
            converted = data.to_pandas()
        elif hasattr(data, "__dataframe__"):
            converted = pd.api.interchange.from_dataframe(data)
        else:
            return data
    except Exception as error:  # the library's own conversion failed
        raise DataError(
            f"{what}: could not convert {type(data).__name__} to a pandas DataFrame "
            f"({type(error).__name__}: {error}); convert it first"
        ) from error
    return converted if isinstance(converted, pd.DataFrame) else data


def check_data(data, what: str) -> None:
    """A DataError unless ``data`` is a DataFrame with rows, saying how to make one."""
    if not isinstance(data, pd.DataFrame):
        kind = type(data).__name__
        if isinstance(data, pd.Series):
            hint = f"; use {what}.to_frame() or a DataFrame holding every column the formula uses"
        elif isinstance(data, Mapping):
            hint = f"; convert a dict of columns with pd.DataFrame({what})"
        elif isinstance(data, np.ndarray | list | tuple):
            hint = f"; it has no column names: use pd.DataFrame({what}, columns=[...])"
        else:
            hint = ""
        raise DataError(f"{what} must be a pandas DataFrame, got {kind}{hint}")
    if len(data) == 0:
        raise DataError(f"{what} has no rows (columns: {', '.join(map(str, data.columns[:20]))})")


def _check_rank(X: np.ndarray, names: tuple[str, ...]) -> None:
    if X.shape[1] == 0:
        return
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        warnings.warn(
            f"the fixed-effects matrix is rank deficient ({rank} of {X.shape[1]} columns "
            f"independent; columns {list(names)}); those coefficients are identified only "
            "by their priors",
            UserWarning,
            stacklevel=4,
        )


# names of model variables and dimensions a grouping factor's levels dimension would shadow
RESERVED = {"Intercept", "Intercept_centered", "b", "sigma", "nu", "shape", "phi", "obs"}
RESERVED |= {"fixed_term", "threshold", "chain", "draw"}


def _check_group_names(formula: Formula) -> None:
    for term in formula.groups:
        if term.group in RESERVED:
            raise DataError(
                f"grouping factor {term.group!r} has the name of a model parameter or "
                f"dimension ({', '.join(sorted(RESERVED))}); rename the column, e.g. "
                f"data.rename(columns={{{term.group!r}: '{term.group}_id'}})"
            )


def _check_support(blocks: tuple[RandomBlock, ...], n: int) -> None:
    """Warn where random effects outnumber what the data can inform (lme4 errors here);
    smooths' and GPs' penalized coefficients do not count."""
    blocks = tuple(block for block in blocks if block.smooth is None)
    for block in blocks:
        if block.n_levels == n and n > 1 and "Intercept" in block.coefs:
            warnings.warn(
                f"grouping factor {block.group!r} has as many levels as rows ({n}): its "
                "random intercept cannot be told apart from the residual (for Gaussian "
                "models their split comes from the priors)",
                UserWarning,
                stacklevel=4,
            )
    total = sum(block.n_levels * len(block.coefs) for block in blocks)
    if blocks and total >= n:
        detail = " + ".join(f"{b.n_levels} x {len(b.coefs)} ({b.group})" for b in blocks)
        warnings.warn(
            f"the model has {total} random effects ({detail}) for {n} observations; the "
            "variance components are identified mostly by their priors; consider fewer "
            "random slopes",
            UserWarning,
            stacklevel=4,
        )

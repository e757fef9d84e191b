"""Re-encode new data with a fitted design's encoding, for prediction.

The fixed part and the random-effect covariates go through the formulaic specs saved at
fit time (same contrasts, same levels, same ``center``/``scale`` constants). formulaic maps
an unseen category to the reference level with only a warning; here that is an error naming
the predictor and the level. Grouping-factor levels map to the training levels; unseen
ones get index -1 and are listed, and the caller decides what they mean.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import formulaic
import numpy as np
import pandas as pd

from ..errors import DataError
from .blocks import Design
from .columns import level_labels, variables
from .make import as_frame, check_data
from .matrices import evaluate, offset
from .smooth_transforms import with_transforms

_UNSEEN = re.compile(r"categories outside of the nominated levels.*?: (\{.*?\})", re.DOTALL)


@dataclass(frozen=True, eq=False)
class NewBlock:
    """A grouping factor in new data: training level index per row (-1 if unseen)."""

    group: str
    index: np.ndarray
    Z: np.ndarray
    unseen: tuple[str, ...]  # level names not in the training data, in order of appearance
    unseen_index: np.ndarray  # per row: position in ``unseen``, or -1 for a seen level


@dataclass(frozen=True, eq=False)
class NewDesign:
    X: np.ndarray
    offset: np.ndarray | None
    trials: np.ndarray | None
    blocks: tuple[NewBlock, ...]

    @property
    def n_obs(self) -> int:
        return self.X.shape[0]


def training_rows(design: Design, include_random: bool = True) -> NewDesign:
    """The training data itself as a NewDesign (every level seen)."""
    blocks = tuple(  # a smooth's penalized part belongs to the population curve
        NewBlock(b.group, b.index.astype(np.int64), b.Z, (), np.full(len(b.index), -1))
        for b in design.blocks
        if include_random or b.smooth is not None
    )
    return NewDesign(X=design.X, offset=design.offset, trials=design.trials, blocks=blocks)


def encode_newdata(
    design: Design,
    data: pd.DataFrame,
    context: Mapping | None = None,
    *,
    include_random: bool = True,
    need_trials: bool = False,
) -> NewDesign:
    """The arrays of ``design`` for the rows of ``data``.

    Raises
    ------
    DataError
        If ``data`` is not a DataFrame, lacks a needed column, has missing values in one,
        or has a category of a fixed-effect predictor not seen in the training data.
    """
    data = as_frame(data, "newdata")
    check_data(data, "newdata")
    context = with_transforms(context)
    formula = design.formula
    expressions = [(formula.fixed, False), *((e, True) for e in formula.offsets)]
    expressions += [
        (part.expr, False)
        for term in formula.groups
        if include_random or term.smooth is not None
        for part in term.parts
    ]
    if need_trials:
        lhs = (formula.trials, formula.failures, formula.response)
        expressions += [(e, True) for e in lhs if e]
    factors = [f for term in formula.groups for f in term.factors] if include_random else []
    factors += [t.smooth.by for t in formula.groups if t.smooth and t.smooth.by]
    _check_columns(data, expressions, factors, context)

    X = _encode(design.fixed_spec, data, context, "fixed-effect predictor")
    trials = _trials(design, data, context) if need_trials else None
    blocks = tuple(
        _new_block(block, data, context)
        for block in design.blocks
        if include_random or block.smooth is not None
    )
    return NewDesign(X=X, offset=offset(formula, data, context), trials=trials, blocks=blocks)


def _check_columns(data, expressions, factors, context) -> None:
    names = [
        str(name)
        for expr, python in expressions
        for name in sorted(variables(expr, python))
        if not (name not in data.columns and name in context)
    ]
    for name in dict.fromkeys([*names, *factors]):
        if name not in data.columns:
            raise DataError(f"newdata has no column {name!r}, which the model needs")
        missing = int(data[name].isna().sum())
        if missing:
            raise DataError(f"newdata column {name!r} has {missing} missing values")
        column = data[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            infinite = int(np.isinf(np.asarray(column)).sum())
            if infinite:
                raise DataError(f"newdata column {name!r} has {infinite} infinite values")


def _encode(spec, data: pd.DataFrame, context: Mapping, what: str) -> np.ndarray:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = copy.deepcopy(spec.encoder_state)
        try:
            matrix = spec.get_model_matrix(data, context=context, na_action="ignore")
        except Exception as error:  # formulaic raises many types, e.g. text in a numeric column
            spec.encoder_state.clear()  # formulaic re-encodes the spec in place as it fails
            spec.encoder_state.update(state)
            raise DataError(
                f"newdata cannot be encoded as the training data for the {what} "
                f"({_mismatched_columns(spec, data)}): {error}"
            ) from error
    for warning in caught:
        match = _UNSEEN.search(str(warning.message))
        if match:
            raise DataError(
                f"newdata has levels {match.group(1)} of a {what} "
                f"({_categorical_columns(spec, data, match.group(1))}) that the model was not "
                "fitted with; a fixed effect cannot be predicted for an unseen category"
            )
    return np.asarray(matrix, dtype=float)


def _mismatched_columns(spec, data: pd.DataFrame) -> str:
    """Name the columns of ``spec``'s numeric factors that are not numeric in ``data``."""
    names = []
    for factor, (kind, _) in spec.encoder_state.items():
        if str(getattr(kind, "value", kind)) != "numerical":
            continue
        for column in variables(factor):
            if column in data and not pd.api.types.is_numeric_dtype(data[column]):
                names.append(f"column {column!r} was numeric, now {data[column].dtype}")
    return "; ".join(names) or "formulaic's message follows"


def _categorical_columns(spec, data: pd.DataFrame, shown: str) -> str:
    """Name the categorical factors of ``spec`` whose new values include unseen levels."""
    names = []
    for factor, (kind, state) in spec.encoder_state.items():
        if str(getattr(kind, "value", kind)) != "categorical":
            continue
        known = {str(c) for c in state.get("categories", ())}
        for column in formulaic.Formula(factor).required_variables:
            if column in data and not set(data[column].astype(str)) <= known:
                names.append(repr(str(column)))
    return ", ".join(names) or shown


def _trials(design: Design, data: pd.DataFrame, context) -> np.ndarray | None:
    formula = design.formula
    if formula.trials is not None:
        return evaluate(formula.trials, data, context, "trials")
    if formula.failures is not None:
        successes = evaluate(formula.response, data, context, "successes")
        return successes + evaluate(formula.failures, data, context, "failures")
    return None


def _new_block(block, data: pd.DataFrame, context: Mapping) -> NewBlock:
    labels = _row_labels(data, block.factors)
    position = {level: i for i, level in enumerate(block.levels)}
    index = np.array([position.get(label, -1) for label in labels], dtype=np.int64)
    unseen = tuple(dict.fromkeys(label for label, i in zip(labels, index, strict=True) if i < 0))
    where = {level: i for i, level in enumerate(unseen)}
    unseen_index = np.array([where.get(label, -1) for label in labels], dtype=np.int64)
    what = f"random-effect covariate of {block.group!r}"
    Z = np.concatenate([_encode(spec, data, context, what) for spec in block.part_specs], axis=1)
    if block.by_level is not None:  # one level's smooth of s(x, by = f)
        column, level = block.by_level
        Z = Z * (np.array(_row_labels(data, (column,))) == level)[:, None]
    return NewBlock(block.group, index, Z, unseen, unseen_index)


def _row_labels(data: pd.DataFrame, factors: tuple[str, ...]) -> list[str]:
    """Each row's level name, spelled as in training (``"a:b"`` for interactions)."""
    if not factors:  # a smooth's single level
        return ["all"] * len(data)
    per_factor = []
    for factor in factors:
        codes, names = level_labels(data[factor])
        per_factor.append([names[c] for c in codes])
    return [":".join(parts) for parts in zip(*per_factor, strict=True)]

"""Random-effect blocks: one per grouping factor of a formula (per level of a smooth's
``by``), with brms's IDs (``(1 |p| g)``) checked across distributional parameters."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import FormulaError
from ..formula import Formula, GroupTerm
from ..formula.special import GPTerm, SmoothTerm
from ..formula.terms import RandomPart
from .blocks import RandomBlock, blocks_by_id
from .columns import combine_factors
from .hsgp import HSGPDomain
from .matrices import evaluate, model_matrix
from .smooth_transforms import smooth_labels


def random_blocks(term: GroupTerm, data: pd.DataFrame, context: Mapping, dpar: str = "mu"):
    """The block of a bar term; for ``s(x, by = f)`` one block per level of ``f``, each
    the smooth's columns on that level's rows (zero elsewhere)."""
    block = _block(term, data, context, dpar)
    by = term.smooth.by if term.smooth is not None else None
    if by is None or term.smooth.numeric_by:  # only s() has a by
        return (block,)
    codes, levels = combine_factors(data, (by,))
    return tuple(
        dataclasses.replace(
            block,
            group=f"{block.group}[{level}]",
            Z=block.Z * (codes == i)[:, None],
            by_level=(by, level),
        )
        for i, level in enumerate(levels)
    )


def with_numeric_by(formula: Formula, data: pd.DataFrame) -> Formula:
    """``formula`` with each ``s(x, by = z)`` whose ``z`` is a numeric column (not a
    pandas Categorical) made a varying-coefficient smooth ``f(x) z`` (mgcv's numeric
    ``by``): its fixed and penalized columns multiplied by ``z``, uncentred."""
    parts = []
    for part in formula.parts:
        fixed, groups = part.fixed, []
        for term in part.groups:
            smooth = term.smooth
            if isinstance(smooth, SmoothTerm) and smooth.by in data and _numeric(data[smooth.by]):
                new = dataclasses.replace(smooth, numeric_by=True)
                fixed = fixed.replace(smooth.fixed, new.fixed)
                parts_ = (RandomPart(expr=new.random, correlated=False),)
                term = dataclasses.replace(term, smooth=new, parts=parts_)
            groups.append(term)
        parts.append(dataclasses.replace(part, fixed=fixed, groups=tuple(groups)))
    return dataclasses.replace(parts[0], dpars=tuple(parts[1:]))


def _numeric(column: pd.Series) -> bool:
    """Numbers, not a pandas Categorical or booleans (those are factors)."""
    kind = column.dtype
    return pd.api.types.is_numeric_dtype(kind) and not (
        isinstance(kind, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(kind)
    )


def _block(term: GroupTerm, data: pd.DataFrame, context: Mapping, dpar: str = "mu") -> RandomBlock:
    index, levels = combine_factors(data, term.factors)
    matrices, coefs, corr_groups, specs, ids = [], [], [], [], []
    smooths_of = [term.smooth] if term.smooth is not None else []
    for part in _by_id(term.parts):
        Z, names, spec = model_matrix(
            part.expr, data, context, f"random term ({part.expr} | {term.group})"
        )
        start = len(coefs)
        positions = tuple(range(start, start + len(names)))
        if part.id is not None and part.id in ids:  # one correlated group per ID
            corr_groups[-1] += positions
        else:
            corr_groups += [positions] if part.correlated else [(p,) for p in positions]
        matrices.append(Z)
        coefs += smooth_labels(names, smooths_of)
        specs.append(spec)
        ids += [part.id] * len(names)
    duplicates = sorted({c for c in coefs if coefs.count(c) > 1})
    if duplicates:
        raise FormulaError(
            f"grouping factor {term.group!r} has {duplicates} in more than one bar term; "
            "write each coefficient once, e.g. (1 + x | g) rather than (1 | g) + (1 + x | g)"
        )
    if len(levels) == 1 and term.smooth is None:
        warnings.warn(
            f"grouping factor {term.group!r} has a single level; its variance is identified "
            "only by its prior",
            UserWarning,
            stacklevel=4,
        )
    return RandomBlock(
        group=term.group if dpar == "mu" else f"{dpar}_{term.group}",
        factors=term.factors,
        levels=tuple(levels),
        index=index.astype(np.int32),
        Z=np.concatenate(matrices, axis=1),
        coefs=tuple(coefs),
        corr_groups=tuple(corr_groups),
        part_specs=tuple(specs),
        dpar=dpar,
        smooth=term.smooth,
        frequencies=_frequencies(term, data, context),
        coef_ids=tuple(ids),
    )


def check_ids(blocks, columns) -> None:
    """One grouping factor per brms ID; across parameters, every coefficient of a block
    with the ID (its effects then are one correlated vector with the other blocks')."""
    for name, using in blocks_by_id(blocks).items():
        factors = {b.factors for b in using}
        if len(factors) > 1:
            shown = " and ".join(sorted(":".join(f) for f in factors))
            raise FormulaError(
                f"ID {name!r} is used with the grouping factors {shown}; an ID correlates the "
                "effects of one factor (brms's (1 |p| g)): give each factor its own ID"
            )
        if name in columns:
            warnings.warn(
                f"{name!r} in (... |{name}| {using[0].label}) is brms's correlation ID, not a "
                f"grouping factor, though the data have a column {name!r}; for nested factors "
                f"write (1 | {name}/{using[0].label}) or (1 | {name}:{using[0].label})",
                UserWarning,
                stacklevel=4,
            )
        for block in using if len(using) > 1 else ():
            if any(i != name for i in block.coef_ids):
                raise FormulaError(
                    f"ID {name!r} correlates {block.label!r}'s effects across parameters, so "
                    f"every random term of {block.label!r} in the {block.dpar} formula needs "
                    f"it: write them as one term, e.g. (1 + x |{name}| {block.label})"
                )


def _by_id(parts: tuple) -> list:
    """The bar terms of one factor with those sharing an ID next to each other (their
    coefficients form one correlated group), otherwise in the formula's order."""
    first: dict = {}
    for i, part in enumerate(parts):
        first.setdefault(part.id, i)
    keys = [first[part.id] if part.id is not None else i for i, part in enumerate(parts)]
    return [parts[i] for i in sorted(range(len(parts)), key=keys.__getitem__)]


def _frequencies(term: GroupTerm, data: pd.DataFrame, context: Mapping):
    """A ``gp(x)`` term's basis frequencies on the training domain (None otherwise)."""
    gp = term.smooth
    if not isinstance(gp, GPTerm):
        return None
    x = evaluate(gp.x, data, context, f"covariate of {gp.text}")
    return HSGPDomain.of(x, gp.c).frequencies(gp.k)

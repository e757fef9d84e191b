"""Checked parameter values for :func:`mixedbayes.simulate`.

Fixed effects by term, random-effect sds and correlation matrices by grouping factor, and
the family's auxiliary parameters; every unknown name or impossible value is an error that
names it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, FamilyError, FormulaError
from ..families import Family

AUX_HELP = {
    "sigma": "the residual sd",
    "nu": "degrees of freedom",
    "shape": "the shape",
    "phi": "the precision",
    "thresholds": "K - 1 increasing cut points",
}


def family_parameters(family: Family, sigma, aux: dict, formulas=()) -> dict:
    """The family's auxiliary values (and trials, thresholds, levels), checked; the
    parameters in ``formulas`` have a formula instead of a value."""
    needed = list(family.aux) + (["thresholds"] if family.response == "ordinal" else [])
    accepted = [name for name in needed if name != "sigma"]
    accepted += {"binomial": ["trials"], "ordinal": ["levels"]}.get(family.response, [])
    takes = ", ".join(["sigma"] * ("sigma" in family.aux) + accepted) or "none"
    unknown = [name for name in aux if name not in accepted]
    if sigma is not None and "sigma" not in family.aux:
        unknown.insert(0, "sigma")
    if unknown:
        raise FamilyError(
            f"family {family.name!r} has no parameter {unknown[0]!r}; it takes: {takes}"
        )
    params = {**aux, **({"sigma": sigma} if "sigma" in family.aux else {})}
    for name in needed:
        value = params.get(name)
        if name in formulas:
            if value is not None:
                raise FamilyError(
                    f"{name} has a formula; give its coefficients in fixed= ('{name}_Intercept', "
                    f"'{name}_<term>') and its sds in sd= ('{name}_<group>'), not {name}="
                )
            params.pop(name, None)
            continue
        if value is None:
            raise FamilyError(f"family {family.name!r} needs {name}= ({AUX_HELP[name]})")
        if name != "thresholds" and not _number(value) > 0:
            raise FamilyError(f"{name} must be a positive number, got {value!r}")
    return params


def _number(value) -> float:
    """``value`` as a float; NaN for anything that is not one number."""
    try:
        return float(value) if np.ndim(value) == 0 else np.nan
    except (TypeError, ValueError):
        return np.nan


def named_values(what: str, values, valid, default=None, group=None) -> dict[str, float]:
    """``values`` (a dict by term) for every term of ``valid``, checked."""
    if isinstance(values, pd.Series):
        values = values.to_dict()
    if not isinstance(values, Mapping):
        raise DataError(f"{what} must be a dict by term name, got {values!r}")
    for name in values:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise FormulaError(
                f"{what} names {name!r}, which is not a term{hint} (terms: {list(valid)})"
            )
    result = {}
    for term in valid:
        if term not in values and default is None:
            raise DataError(
                f"sd= gives no sd for term {term!r} of grouping factor {group!r}; give every "
                f"term's sd, e.g. sd={{{group!r}: {{{', '.join(f'{t!r}: 0.5' for t in valid)}}}}}"
            )
        value = _number(values.get(term, default))
        if not np.isfinite(value):
            raise DataError(f"{what}[{term!r}] must be a finite number, got {values[term]!r}")
        result[term] = value
    return result


def check_groups(sd, cor, groups) -> None:
    """``sd`` and ``cor`` are dicts keyed by grouping factors of the formula."""
    for what, spec in (("sd", sd), ("cor", cor)):
        if not isinstance(spec, Mapping):
            raise DataError(f"{what} must be a dict by grouping factor, got {spec!r}")
        unknown = [name for name in spec if name not in groups]
        if unknown:
            raise FormulaError(
                f"{what} names {unknown[0]!r}, which is not a grouping factor of the formula "
                f"(grouping factors: {list(groups) or 'none'})"
            )


def block_parameters(block, sd: Mapping, cor: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """The sds and the correlation matrix of one grouping factor's random effects."""
    group, coefs = block.group, list(block.coefs)
    spec = sd.get(group)
    if spec is None:
        raise DataError(f"sd= must give the sds of grouping factor {group!r} (terms {coefs})")
    if not isinstance(spec, Mapping | pd.Series):
        if len(coefs) > 1:
            raise DataError(f"sd[{group!r}] must be a dict by term, as {group!r} has {coefs}")
        spec = {coefs[0]: spec}
    sds = np.array(list(named_values(f"sd[{group!r}]", spec, coefs, group=group).values()))
    if (sds < 0).any():
        raise DataError(f"sd[{group!r}] has a negative sd: {dict(zip(coefs, sds, strict=True))}")
    return sds, correlation(group, coefs, block.corr_groups, cor.get(group))


def correlation(group: str, coefs, corr_groups, value) -> np.ndarray:
    """A checked k x k correlation matrix of ``group``'s terms ``coefs`` (correlated
    within each of ``corr_groups``) from a number, a matrix or None (identity)."""
    coefs, k = list(coefs), len(coefs)
    allowed = np.zeros((k, k), dtype=bool)
    for positions in corr_groups:
        allowed[np.ix_(positions, positions)] = True
    if value is None:
        return np.eye(k)
    if isinstance(value, pd.DataFrame):
        if [sorted(map(str, axis)) for axis in value.axes] != [sorted(coefs)] * 2:
            raise DataError(f"cor[{group!r}] must be labelled by the terms {coefs}")
        value = value.loc[coefs, coefs].to_numpy()
    if np.ndim(value) == 0:
        pairs = [positions for positions in corr_groups if len(positions) > 1]
        if len(pairs) != 1 or len(pairs[0]) != 2:
            raise DataError(
                f"cor[{group!r}] is one number, which needs exactly two correlated terms; "
                f"{group!r} has terms {coefs}: give a {k} x {k} matrix in that order"
            )
        R = np.eye(k)
        R[pairs[0][0], pairs[0][1]] = R[pairs[0][1], pairs[0][0]] = float(value)
    else:
        R = np.asarray(value, dtype=float)
        if R.shape != (k, k):
            raise DataError(f"cor[{group!r}] must be {k} x {k} (terms {coefs}), got {R.shape}")
    if not np.allclose(R, R.T) or not np.allclose(np.diag(R), 1.0) or (np.abs(R) > 1).any():
        raise DataError(
            f"cor[{group!r}] must be symmetric with 1 on the diagonal, got {R.tolist()}"
        )
    if (R[~allowed] != 0).any():
        raise DataError(
            f"cor[{group!r}] correlates terms of {coefs} that the formula keeps uncorrelated "
            "(|| or separate bar terms)"
        )
    smallest = np.linalg.eigvalsh(R).min()
    if smallest <= 1e-10:
        raise DataError(
            f"cor[{group!r}] is not positive definite (smallest eigenvalue {smallest:.3g})"
        )
    return R


def nominal_levels(aux: dict) -> tuple[str, ...]:
    """The categories of a categorical response, taken out of ``aux`` (``levels=``)."""
    given = aux.pop("levels", None)
    levels = [] if given is None or isinstance(given, str) else list(np.ravel(given))
    if len(levels) < 2 or len(set(map(str, levels))) != len(levels):
        raise FamilyError(
            "family 'categorical' needs levels=, two or more distinct category labels "
            f"(the first the reference), got {given!r}"
        )
    return tuple(map(str, levels))


def ordinal_levels(params: dict, truth: dict) -> list:
    """Category labels of an ordinal response; adds thresholds to ``truth["fixed"]``."""
    thresholds = np.asarray(params["thresholds"], dtype=float)
    levels = params.pop("levels", None)
    levels = list(range(1, thresholds.size + 2)) if levels is None else list(levels)
    if thresholds.ndim != 1 or thresholds.size < 1 or not np.isfinite(thresholds).all():
        raise FamilyError(
            f"thresholds must be a list of finite numbers, got {params['thresholds']!r}"
        )
    if (np.diff(thresholds) <= 0).any():
        raise FamilyError(f"thresholds must increase, got {thresholds.tolist()}")
    if len(levels) != thresholds.size + 1 or len(set(levels)) != len(levels):
        raise FamilyError(f"levels must be {thresholds.size + 1} distinct labels, got {levels}")
    cuts = {
        f"Intercept[{a}|{b}]": float(c)
        for a, b, c in zip(levels, levels[1:], thresholds, strict=False)
    }
    truth["fixed"] = {**cuts, **truth["fixed"]}
    return levels

"""The prior table: one row per parameter, data-scaled defaults overridden by the user.

Like brms, a prior is keyed by class (``"Intercept"``, ``"b"``, ``"sd"``, ``"cor"``,
``"sigma"``...), optionally narrowed by group and coefficient; the most specific match wins.
Keys are a class name or a tuple: ``("b", coef)``, ``("sd", group)``,
``("sd", group, coef)``, ``("cor", group)``. The classes of a distributional parameter's
formula carry its name as a prefix: ``"sigma_Intercept"``, ``("sigma_b", "x")``,
``("sigma_sd", "g")``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design import Design
from ..errors import PriorError
from ..families import Family
from .prior import Prior


@dataclass(frozen=True)
class PriorEntry:
    """The prior of one parameter (class, group, coef), and where it came from."""

    cls: str
    group: str | None
    coef: str | None
    prior: Prior
    source: str  # "default" or the user's key


class PriorSet:
    """Priors of every parameter of a model; ``table()`` shows them."""

    def __init__(self, entries: list[PriorEntry]):
        self.entries = tuple(entries)
        self._lookup = {(e.cls, e.group, e.coef): e.prior for e in entries}

    def get(self, cls: str, group: str | None = None, coef: str | None = None) -> Prior:
        """The prior of one parameter."""
        return self._lookup[(cls, group, coef)]

    def table(self) -> pd.DataFrame:
        """DataFrame with columns class, group, coef, prior, source."""
        return pd.DataFrame(
            [(e.cls, e.group or "", e.coef or "", repr(e.prior), e.source) for e in self.entries],
            columns=["class", "group", "coef", "prior", "source"],
        )

    def __repr__(self) -> str:
        return self.table().to_string(index=False)


def default_priors(design: Design, family: Family) -> list[PriorEntry]:
    """Weakly informative defaults scaled to the data (see the README's Priors section).

    For real-valued responses (gaussian, student_t), with s = sd(y): the intercept (at the
    mean of the predictors) gets StudentT(3, mean(y), 2.5 s); a slope on x gets
    Normal(0, 2.5 s / sd(x)); a random-effect sd on covariate z gets
    HalfStudentT(3, 2.5 s / sd(z)) (2.5 s for an intercept); sigma gets
    HalfStudentT(3, 2.5 s); correlations LKJ(1). Other families use the same forms on the
    link scale with s = 1 and the intercept centered on link(mean response); the ordinal
    thresholds get StudentT(3, 0, 2.5). Auxiliary parameters follow brms: Student-t
    ``nu`` Gamma(2, 0.1), negative binomial and gamma ``shape`` and beta ``phi``
    Gamma(0.01, 0.01).
    """
    scale, center = _response_scale(design, family)
    in_joint = design.joint_groups  # brms IDs across dpars: one LKJ per ID, not per block
    entries = []
    if family.response == "ordinal":
        thresholds = Prior("StudentT", nu=3, mu=0, sigma=2.5)
        entries.append(PriorEntry("Intercept", None, None, thresholds, "default"))
    elif design.has_intercept:
        intercept = Prior("StudentT", nu=3, mu=center, sigma=2.5 * scale)
        entries.append(PriorEntry("Intercept", None, None, intercept, "default"))
    for j, term in enumerate(design.fixed_terms):
        if term != "Intercept":
            sigma = 2.5 * scale / _spread(design.X[:, j])
            entries.append(
                PriorEntry("b", None, term, Prior("Normal", mu=0, sigma=sigma), "default")
            )
    for block in design.blocks:
        if block.smooth is not None:  # one sd for a smooth; a GP's sd and lengthscale
            entries += _penalized_priors(block, scale)
            continue
        for j, coef in enumerate(block.coefs):
            sigma = 2.5 * scale / _spread(block.Z[:, j])
            prior = Prior("HalfStudentT", nu=3, sigma=sigma)
            entries.append(PriorEntry("sd", block.group, coef, prior, "default"))
        if block.correlated_groups and block.group not in in_joint:
            entries.append(PriorEntry("cor", block.group, None, Prior("LKJ", eta=1), "default"))
    aux_defaults = {
        "sigma": Prior("HalfStudentT", nu=3, sigma=2.5 * scale),
        "nu": Prior("Gamma", alpha=2, beta=0.1),
        "shape": Prior("Gamma", alpha=0.01, beta=0.01),
        "phi": Prior("Gamma", alpha=0.01, beta=0.01),
        "alpha": Prior("Normal", mu=0, sigma=4),  # skew_normal's skewness (brms)
    }
    modeled = {part.dpar for part in design.dpars}
    for aux in family.aux:
        if aux not in modeled:
            entries.append(PriorEntry(aux, None, None, aux_defaults[aux], "default"))
    for part in design.dpars:
        entries += _dpar_priors(part, family, scale, in_joint)
    for blocks in design.joint_blocks.values():  # keyed by the first block: ("cor", "g")
        first = blocks[0]
        prior = Prior("LKJ", eta=1)
        entries.append(PriorEntry(first.prior_class("cor"), first.label, None, prior, "default"))
    if design.autocor is not None:
        for cls in design.autocor.term.parameters:  # ar, ma: one prior for every lag
            prior = Prior("LKJ", eta=1) if cls == "cortime" else Prior("Uniform", **BOUNDS[cls])
            entries.append(PriorEntry(cls, None, None, prior, "default"))
    return entries


def _penalized_priors(block, scale: float) -> list[PriorEntry]:
    """``sds`` HalfStudentT(3, 2.5 s) for a smooth (brms); for ``gp(x)`` ``sdgp`` the same
    and ``lscale`` InverseGamma(2.94, 0.415), which puts 1% of its mass below 0.05 and 1%
    above 1 (the lengthscale is in units of the covariate's range)."""
    sd = Prior("HalfStudentT", nu=3, sigma=2.5 * scale)
    if block.frequencies is None:  # one sds per penalty (three for t2(x, z))
        return [
            PriorEntry(block.prior_class("sds"), block.label + suffix, None, sd, "default")
            for suffix, _ in block.penalties
        ]
    lscale = Prior("InverseGamma", alpha=2.94, beta=0.415)
    return [
        PriorEntry(block.prior_class("sdgp"), block.label, None, sd, "default"),
        PriorEntry(block.prior_class("lscale"), block.label, None, lscale, "default"),
    ]


# correlation-structure classes and the interval their parameter lives in (as brms)
BOUNDS = {"ar": {"lower": -1, "upper": 1}, "ma": {"lower": -1, "upper": 1}}
BOUNDS["cosy"] = {"lower": 0, "upper": 1}


def _dpar_priors(part: Design, family: Family, scale: float, in_joint=()) -> list[PriorEntry]:
    """Defaults for a dpar's formula, on its link scale (brms's classes, prefixed):
    ``sigma_Intercept`` StudentT(3, log sd(y), 2.5) for a real response's sigma (centre 0
    for the others), ``sigma_b`` Normal(0, 2.5 / sd(x)), ``sigma_sd`` HalfStudentT(3,
    2.5 / sd(z)), ``sigma_cor`` LKJ(1)."""
    prefix = part.prefix
    center = np.log(scale) if part.dpar == "sigma" and family.scale_by_response else 0.0
    entries = []
    if part.has_intercept:
        prior = Prior("StudentT", nu=3, mu=round(float(center), 4), sigma=2.5)
        entries.append(PriorEntry(f"{prefix}Intercept", None, None, prior, "default"))
    for j, term in enumerate(part.fixed_terms):
        if term != "Intercept":
            prior = Prior("Normal", mu=0, sigma=2.5 / _spread(part.X[:, j]))
            entries.append(PriorEntry(f"{prefix}b", None, term, prior, "default"))
    for block in part.blocks:
        if block.smooth is not None:
            entries += _penalized_priors(block, 1.0)
            continue
        for j, coef in enumerate(block.coefs):
            prior = Prior("HalfStudentT", nu=3, sigma=2.5 / _spread(block.Z[:, j]))
            entries.append(PriorEntry(f"{prefix}sd", block.label, coef, prior, "default"))
        if block.correlated_groups and block.group not in in_joint:
            prior = Prior("LKJ", eta=1)
            entries.append(PriorEntry(f"{prefix}cor", block.label, None, prior, "default"))
    return entries


def _response_scale(design: Design, family: Family) -> tuple[float, float]:
    """(s, intercept location): sd and mean of y for real responses, else 1 and link(mean)."""
    y = design.y
    if family.scale_by_response:
        scale = float(np.std(y, ddof=1)) if len(y) > 1 else 1.0
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
        return scale, float(np.mean(y))
    if family.response == "ordinal":
        return 1.0, 0.0
    center = family.prior_center(y)
    if center is not None:
        return 1.0, round(center, 4)
    mean = y.sum() / design.trials.sum() if design.trials is not None else y.mean()
    if family.response in ("binary", "binomial", "unit", "unit_zero", "unit_closed"):
        mean = min(max(mean, 0.01), 0.99)  # keep the link finite for all-0 or all-1 data
    with np.errstate(divide="ignore", invalid="ignore"):
        center = float(family.link_function(mean))
    if design.offset is not None and np.isfinite(center):
        center -= float(np.mean(design.offset))
    return 1.0, (round(center, 4) if np.isfinite(center) else 0.0)


def _spread(column: np.ndarray) -> float:
    """sd of a covariate, or 1 for a constant column (an intercept)."""
    sd = float(np.std(column))
    return sd if sd > 1e-12 else 1.0


def make_priors(design: Design, family: Family, user: Mapping | None = None) -> PriorSet:
    """Defaults for ``design`` overridden by ``user`` priors, most specific key last.

    Raises
    ------
    PriorError
        For a key naming an unknown class, group or coefficient, a value that is not a
        Prior, or a prior whose support does not fit its class.
    """
    if user is not None and not isinstance(user, Mapping):
        raise PriorError(
            f"priors must be a dict such as {{'b': mb.Prior('Normal', mu=0, sigma=1)}}, "
            f"got {type(user).__name__}"
        )
    entries = default_priors(design, family)
    keys = [(_parse_key(key, value), key, value) for key, value in (user or {}).items()]
    for (cls, group, coef), key, prior in sorted(keys, key=lambda k: _specificity(k[0])):
        matches = [
            i
            for i, e in enumerate(entries)
            if e.cls == cls and group in (None, e.group) and coef in (None, e.coef)
        ]
        if not matches:
            raise PriorError(_no_match_message(key, (cls, group, coef), entries))
        _check_support(key, cls, prior)
        for i in matches:
            e = entries[i]
            entries[i] = PriorEntry(e.cls, e.group, e.coef, prior, f"user {key!r}")
    return PriorSet(entries)


def _parse_key(key, value) -> tuple[str, str | None, str | None]:
    if not isinstance(value, Prior):
        raise PriorError(f"prior for {key!r} must be a mb.Prior, got {type(value).__name__}")
    parts = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, tuple) else ()
    if not parts or not all(isinstance(p, str) for p in parts) or len(parts) > 3:
        raise PriorError(f"prior key {key!r} must be a class name or a tuple of 2-3 strings")
    cls, rest = parts[0], parts[1:]
    base = base_class(cls)
    if base in ("b",):
        if len(rest) > 1:
            raise PriorError(f"prior key {key!r}: class 'b' takes at most a coefficient")
        return cls, None, (rest[0] if rest else None)
    if base in ("sd", "cor", "sds", "sdgp", "lscale"):
        if base != "sd" and len(rest) > 1:
            raise PriorError(f"prior key {key!r}: class {base!r} takes at most a group")
        return cls, (rest[0] if rest else None), (rest[1] if len(rest) > 1 else None)
    if rest:
        raise PriorError(f"prior key {key!r}: class {cls!r} cannot be narrowed")
    return cls, None, None


def base_class(cls: str) -> str:
    """A prior class without its dpar prefix: ``"sigma_b"`` -> ``"b"``."""
    for base in ("Intercept", "b", "sd", "cor", "sds", "sdgp", "lscale"):
        if cls.endswith(f"_{base}"):
            return base
    return cls


def _specificity(parsed) -> int:
    return sum(part is not None for part in parsed)


def _no_match_message(key, parsed, entries: list[PriorEntry]) -> str:
    cls, group, coef = parsed
    classes = sorted({e.cls for e in entries})
    if cls not in classes:
        close = difflib.get_close_matches(cls, classes, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"prior key {key!r}: unknown class {cls!r}{hint}; this model has {classes}"
    groups = sorted({e.group for e in entries if e.cls == cls and e.group})
    if group is not None and group not in groups:
        return f"prior key {key!r}: no grouping factor {group!r}; the model has {groups}"
    coefs = sorted(
        {e.coef for e in entries if e.cls == cls and e.group in (group, None) and e.coef}
    )
    return f"prior key {key!r}: no coefficient {coef!r}; candidates are {coefs}"


def _check_support(key, cls: str, prior: Prior) -> None:
    cls = base_class(cls)
    if cls in BOUNDS:
        lower, upper = BOUNDS[cls]["lower"], BOUNDS[cls]["upper"]
        if prior.dist != "Uniform" or not (
            lower <= prior.params.get("lower", 0.0) and prior.params.get("upper", 1.0) <= upper
        ):
            raise PriorError(
                f"prior for {key!r} must be Prior('Uniform', lower=..., upper=...) within "
                f"[{lower}, {upper}], got {prior!r}"
            )
        return
    if cls in ("cor", "cortime"):
        if prior.support != "correlation":
            raise PriorError(f"prior for {key!r} must be Prior('LKJ', eta=...), got {prior!r}")
    elif prior.support == "correlation":
        raise PriorError(
            f"prior for {key!r}: an LKJ prior only applies to the classes 'cor' and 'cortime'"
        )
    elif cls not in ("Intercept", "b", "alpha") and prior.support != "positive":
        raise PriorError(
            f"prior for {key!r} is {prior!r}, which allows negative values; a scale parameter "
            "needs a positive prior such as HalfNormal, HalfStudentT or Exponential"
        )

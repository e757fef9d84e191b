"""The registry of families, by name, and the lookup that users' strings go through."""

from __future__ import annotations

import difflib

from ..errors import FamilyError
from .base import Family
from .categorical import Categorical
from .continuous import Beta, Gamma, Gaussian, SkewNormal, StudentT
from .discrete import Bernoulli, Binomial, NegativeBinomial, Poisson
from .inflated import Hurdle, ZeroInflated, ZeroInflatedBinomial
from .ordinal import Cumulative
from .point_masses import PointMasses
from .positive import Exponential, LogNormal, Weibull

BINARY_LINKS = ("logit", "probit", "cloglog")
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Gaussian("gaussian", "identity", ("identity",), ("sigma",), "real"),
        StudentT("student_t", "identity", ("identity",), ("sigma", "nu"), "real"),
        Bernoulli("bernoulli", "logit", BINARY_LINKS, (), "binary"),
        Binomial("binomial", "logit", BINARY_LINKS, (), "binomial"),
        Poisson("poisson", "log", ("log",), (), "count"),
        NegativeBinomial("negative_binomial", "log", ("log",), ("shape",), "count"),
        Gamma("gamma", "log", ("log", "inverse"), ("shape",), "positive"),
        Beta("beta", "logit", BINARY_LINKS, ("phi",), "unit"),
        Cumulative("cumulative", "logit", ("logit", "probit"), (), "ordinal"),
        Categorical("categorical", "logit", ("logit",), (), "nominal"),
        ZeroInflated("zero_inflated_poisson", "log", ("log",), ("zi",), "count"),
        ZeroInflated("zero_inflated_negative_binomial", "log", ("log",), ("shape", "zi"), "count"),
        ZeroInflatedBinomial("zero_inflated_binomial", "logit", BINARY_LINKS, ("zi",), "binomial"),
        Hurdle("hurdle_poisson", "log", ("log",), ("hu",), "count", zero="hu"),
        SkewNormal("skew_normal", "identity", ("identity",), ("sigma", "alpha"), "real"),
        LogNormal("lognormal", "identity", ("identity",), ("sigma",), "positive"),
        Exponential("exponential", "log", ("log",), (), "positive"),
        Weibull("weibull", "log", ("log",), ("shape",), "positive"),
        Hurdle("hurdle_negative_binomial", "log", ("log",), ("shape", "hu"), "count", zero="hu"),
    )
}


def _masses(name, base, response, zero, one=None):
    """A family of ``base`` with point masses (:mod:`.point_masses`)."""
    dpars = (zero,) if one is None else (zero, one)
    aux = (*base.aux, *dpars)
    return PointMasses(name, base.link, base.links, aux, response, base, zero, one)


for _family in (
    _masses("hurdle_gamma", FAMILIES["gamma"], "nonnegative", "hu"),
    _masses("hurdle_lognormal", FAMILIES["lognormal"], "nonnegative", "hu"),
    _masses("zero_inflated_beta", FAMILIES["beta"], "unit_zero", "zi"),
    _masses("zero_one_inflated_beta", FAMILIES["beta"], "unit_closed", "zoi", "coi"),
):
    FAMILIES[_family.name] = _family

_ALIASES = {"normal": "gaussian", "logistic": "bernoulli", "negbinomial": "negative_binomial"}


def get_family(family: str | Family, link: str | None = None) -> Family:
    """Look up a family by name (case-insensitive) and optionally set its link.

    Raises
    ------
    FamilyError
        For an unknown family (listing the known ones) or a link the family lacks.
    """
    if isinstance(family, Family):
        return family.with_link(link)
    key = str(family).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in FAMILIES:
        close = difflib.get_close_matches(key, [*FAMILIES, *_ALIASES], n=1)
        hint = f"did you mean {_ALIASES.get(close[0], close[0])!r}? " if close else ""
        raise FamilyError(
            f"unknown family {family!r}; {hint}available families: {', '.join(FAMILIES)}"
        )
    return FAMILIES[key].with_link(link)

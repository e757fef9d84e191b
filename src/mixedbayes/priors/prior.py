"""``Prior``: a named PyMC distribution with parameters, validated when it is made."""

from __future__ import annotations

import difflib
import inspect

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..errors import PriorError

# distribution name -> support; "positive" ones may be used for sd and sigma
SUPPORT = {
    "Normal": "real",
    "StudentT": "real",
    "Cauchy": "real",
    "Laplace": "real",
    "Logistic": "real",
    "Flat": "real",
    "HalfNormal": "positive",
    "HalfStudentT": "positive",
    "HalfCauchy": "positive",
    "HalfFlat": "positive",
    "Exponential": "positive",
    "Gamma": "positive",
    "InverseGamma": "positive",
    "LogNormal": "positive",
    "Weibull": "positive",
    "Uniform": "interval",
    "LKJ": "correlation",
}

# parameters that must be positive (all must be finite); the others are locations
POSITIVE_PARAMS = {
    "Normal": ("sigma", "tau"),
    "StudentT": ("nu", "sigma", "lam"),
    "Cauchy": ("beta",),
    "Laplace": ("b",),
    "Logistic": ("s",),
    "HalfNormal": ("sigma", "tau"),
    "HalfStudentT": ("nu", "sigma", "lam"),
    "HalfCauchy": ("beta",),
    "Exponential": ("lam", "scale"),
    "Gamma": ("alpha", "beta", "mu", "sigma"),
    "InverseGamma": ("alpha", "beta", "mu", "sigma"),
    "LogNormal": ("sigma", "tau"),
    "Weibull": ("alpha", "beta"),
}


class Prior:
    """A prior distribution, e.g. ``Prior("Normal", mu=0, sigma=1)``.

    Parameters
    ----------
    dist : str
        A PyMC distribution name (``"Normal"``, ``"StudentT"``, ``"HalfNormal"``,
        ``"Exponential"``, ...) or ``"LKJ"`` (parameter ``eta``) for correlations.
    **params : float
        The distribution's parameters, by PyMC's names.

    Raises
    ------
    PriorError
        For an unknown distribution or parameters it does not take.
    """

    def __init__(self, dist: str, **params: float):
        if not isinstance(dist, str) or dist not in SUPPORT:
            raise PriorError(_unknown_dist_message(dist))
        self.dist = dist
        self.params = {key: _number(dist, key, value) for key, value in params.items()}
        if dist == "LKJ":
            eta = self.params.get("eta", 1.0)
            if set(self.params) - {"eta"} or not (np.isfinite(eta) and eta > 0):
                raise PriorError(f"LKJ prior takes one positive parameter eta, got {params}")
        else:
            _check_names(dist, self.params)
            _check_values(dist, self.params)
            try:
                getattr(pm, dist).dist(**self.params)
            except (TypeError, ValueError) as error:
                raise PriorError(f"invalid parameters for {dist} prior {params}: {error}") from None

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"``, ``"interval"`` or ``"correlation"``."""
        if self.dist == "Uniform" and self.params.get("lower", 0.0) >= 0:
            return "positive"
        return SUPPORT[self.dist]

    def create(self, name: str, **kwargs):
        """Add this prior as a PyMC variable in the current model context."""
        return getattr(pm, self.dist)(name, **self.params, **kwargs)

    def __eq__(self, other) -> bool:
        return isinstance(other, Prior) and (self.dist, self.params) == (other.dist, other.params)

    def __hash__(self) -> int:
        return hash((self.dist, tuple(sorted(self.params.items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={_fmt(value)}" for key, value in self.params.items())
        return f"{self.dist}({args})"


def _stacked_params(priors: list[Prior]) -> dict[str, np.ndarray] | None:
    """Element-wise parameter arrays if all ``priors`` share a distribution, else None."""
    first = priors[0]
    if not all(p.dist == first.dist and p.params.keys() == first.params.keys() for p in priors):
        return None
    return {key: np.array([p.params[key] for p in priors]) for key in first.params}


def vector_dist(priors: list[Prior], what: str):
    """One unregistered PyMC distribution whose element i follows ``priors[i]``.

    The priors must share a distribution (their parameters may differ); ``what`` names
    them in the error otherwise.
    """
    params = _stacked_params(priors)
    if params is None:
        raise PriorError(
            f"the priors of {what} must use one distribution (parameters may differ), got "
            f"{', '.join(map(repr, priors))}"
        )
    return getattr(pm, priors[0].dist).dist(**params)


def create_vector(priors: list[Prior], name: str, dims: str, labels: tuple[str, ...]):
    """One PyMC vector variable holding ``priors[i]`` for element i.

    Elements that share a distribution become one vectorized variable; otherwise each
    element is its own scalar variable, stacked into a Deterministic.
    """
    params = _stacked_params(priors)
    if params is not None:
        return getattr(pm, priors[0].dist)(name, **params, dims=dims)
    parts = [p.create(f"{name}[{label}]") for p, label in zip(priors, labels, strict=True)]
    return pm.Deterministic(name, pt.stack(parts), dims=dims)


def _unknown_dist_message(dist) -> str:
    names = list(SUPPORT)
    if isinstance(dist, str):
        by_lower = {name.lower(): name for name in names}
        close = difflib.get_close_matches(dist.lower(), list(by_lower), n=1)
        if close:
            return (
                f"unknown prior distribution {dist!r}; did you mean {by_lower[close[0]]!r}? "
                f"(names are case-sensitive; available: {', '.join(names)})"
            )
    return f"unknown prior distribution {dist!r}; use one of: {', '.join(names)}"


def _check_names(dist: str, params: dict[str, float]) -> None:
    """Every parameter must be one of the PyMC distribution's own."""
    known = [
        name
        for name, p in inspect.signature(getattr(pm, dist).dist).parameters.items()
        if p.kind is p.POSITIONAL_OR_KEYWORD or p.kind is p.KEYWORD_ONLY
    ]
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PriorError(
                f"invalid parameters for {dist} prior {params}: it has no parameter {key!r}; "
                f"{hint}its parameters are {', '.join(known) or '(none)'} (PyMC's names)"
            )


def _check_values(dist: str, params: dict[str, float]) -> None:
    """Finite parameters, positive scales and shapes, and lower < upper for Uniform."""
    for key, value in params.items():
        if not np.isfinite(value):
            raise PriorError(f"parameter {key!r} of {dist} prior must be finite, got {value!r}")
        if key in POSITIVE_PARAMS.get(dist, ()) and value <= 0:
            raise PriorError(
                f"parameter {key!r} of {dist} prior must be positive, got {_fmt(value)}"
            )
    if dist == "Uniform" and params.get("lower", 0.0) >= params.get("upper", 1.0):
        raise PriorError(
            f"Uniform prior needs lower < upper, got lower={_fmt(params.get('lower', 0.0))}, "
            f"upper={_fmt(params.get('upper', 1.0))}"
        )


def _number(dist: str, key: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PriorError(
            f"parameter {key!r} of {dist} prior must be a number, got {value!r}"
        ) from None


def _fmt(value: float) -> str:
    return f"{value:.4g}"

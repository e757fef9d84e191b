"""``Prior``: a named PyMC distribution with parameters, validated when it is made."""

from __future__ import annotations

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
        if dist not in SUPPORT:
            raise PriorError(
                f"unknown prior distribution {dist!r}; use one of: {', '.join(SUPPORT)}"
            )
        self.dist = dist
        self.params = {key: _number(dist, key, value) for key, value in params.items()}
        if dist == "LKJ":
            if set(self.params) - {"eta"} or self.params.get("eta", 1.0) <= 0:
                raise PriorError(f"LKJ prior takes one positive parameter eta, got {params}")
        else:
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


def _number(dist: str, key: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PriorError(
            f"parameter {key!r} of {dist} prior must be a number, got {value!r}"
        ) from None


def _fmt(value: float) -> str:
    return f"{value:.4g}"

"""Families: a likelihood, its link, and its auxiliary parameters, kept in a registry.

A family is a small object, not a class hierarchy: adding one means writing its likelihood
and default auxiliary priors and registering it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pymc as pm

from .errors import FamilyError


@dataclass(frozen=True)
class Family:
    """A response distribution.

    Attributes
    ----------
    name : str
    link : str
        Link function from the linear predictor to the mean (``"identity"``, ``"log"``...).
    aux : tuple of str
        Auxiliary parameter classes (``("sigma",)``), each with a prior in the PriorSet.
    likelihood : callable
        ``likelihood(name, mu, aux: dict, observed, dims)`` adds the observed variable.
    scale_by_response : bool
        Whether default priors scale with the response (Gaussian-like families).
    """

    name: str
    link: str
    aux: tuple[str, ...]
    likelihood: Callable
    scale_by_response: bool = True


def _gaussian(name, mu, aux, observed, dims):
    return pm.Normal(name, mu=mu, sigma=aux["sigma"], observed=observed, dims=dims)


FAMILIES: dict[str, Family] = {
    "gaussian": Family("gaussian", "identity", ("sigma",), _gaussian),
}


def get_family(family: str | Family) -> Family:
    """Look up a family by name (case-insensitive), or pass a Family through."""
    if isinstance(family, Family):
        return family
    key = str(family).lower()
    if key not in FAMILIES:
        raise FamilyError(
            f"unknown family {family!r}; available families: {', '.join(sorted(FAMILIES))}"
        )
    return FAMILIES[key]

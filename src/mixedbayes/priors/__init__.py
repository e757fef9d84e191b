"""Priors: the Prior value object and the prior table (defaults + user overrides)."""

from .prior import Prior, create_vector, vector_dist
from .table import PriorEntry, PriorSet, default_priors, make_priors

__all__ = [
    "Prior",
    "create_vector",
    "vector_dist",
    "PriorEntry",
    "PriorSet",
    "default_priors",
    "make_priors",
]

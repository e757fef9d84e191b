"""Families: response distributions as small objects in a registry.

Each family (:class:`~mixedbayes.families.base.Family`) declares its response type, its
links and auxiliary parameters, and carries its own PyMC likelihood and the NumPy/SciPy
pieces that prediction and model checking need (mean, random draws, pointwise
log-likelihood). Parametrizations follow brms so that estimates compare; each module's
docstring states them (:mod:`.continuous`, :mod:`.discrete`, :mod:`.ordinal`).
"""

from .base import LINKS, Family
from .registry import FAMILIES, get_family

__all__ = ["FAMILIES", "LINKS", "Family", "get_family"]

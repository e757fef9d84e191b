"""Design: bind a Formula to data as arrays (no PyMC here)."""

from .blocks import Design, RandomBlock
from .make import make_design

__all__ = ["Design", "RandomBlock", "make_design"]

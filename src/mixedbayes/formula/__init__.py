"""Formula parsing: split the fixed part from random-effect bar terms and expand them."""

from .parse import parse_formula
from .terms import Formula, GroupTerm, RandomPart

__all__ = ["Formula", "GroupTerm", "RandomPart", "parse_formula"]

"""Simulation: draw a data set from a formula and known parameter values."""

from .draw import simulate

__all__ = ["simulate"]

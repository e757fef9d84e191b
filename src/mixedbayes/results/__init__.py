"""Results: the Fit object and its lme4-vocabulary summaries."""

from .fit import Fit
from .report import Summary

__all__ = ["Fit", "Summary"]

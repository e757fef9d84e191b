"""Exceptions raised by mixedbayes.

Every error a user can cause derives from :class:`MixedBayesError`, and also from the
built-in class that describes it (``ValueError``, ``KeyError``, ``TypeError``), so both
``except mb.MixedBayesError`` and ordinary ``except ValueError`` work.
"""


class MixedBayesError(Exception):
    """Base class of all mixedbayes errors."""


class FormulaError(MixedBayesError, ValueError):
    """The formula string cannot be parsed or refers to something invalid."""


class UnsafeFormulaError(FormulaError):
    """A formula evaluated safely (a loaded fit, ``Model(..., safe=True)``) would run more
    than the safe expression language allows (see ``mixedbayes.formula.safety``)."""


class HypothesisError(FormulaError):
    """A ``fit.hypothesis()`` string cannot be parsed or names a term the model lacks."""


class DataError(MixedBayesError, ValueError):
    """The data do not fit the formula (missing columns, missing or infinite values, ...)."""


class PriorError(MixedBayesError, ValueError):
    """A prior specification names an unknown class, term or distribution."""


class FamilyError(MixedBayesError, ValueError):
    """An unknown family, or a response that the family cannot model."""


class SamplingError(MixedBayesError, ValueError):
    """Invalid sampler arguments."""


class FitFileError(DataError):
    """A fit file cannot be loaded: not a mixedbayes fit, truncated, edited so that its
    parts disagree, or written in another format version."""


class ConvergenceWarning(UserWarning):
    """A sampling diagnostic failed: the posterior summaries may not be trustworthy."""

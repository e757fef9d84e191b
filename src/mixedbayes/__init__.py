"""mixedbayes: Bayesian mixed-effects models from lme4-style formulas, sampled with PyMC.

>>> import mixedbayes as mb
>>> model = mb.Model("gpa ~ occasion + (1 + occasion | student)", data=gpa)
>>> fit = model.fit(random_seed=1)
>>> print(fit.summary())
"""

from .errors import (
    DataError,
    FamilyError,
    FormulaError,
    MixedBayesError,
    PriorError,
    SamplingError,
)
from .model import Model
from .priors import Prior
from .results import Fit

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "FamilyError",
    "Fit",
    "FormulaError",
    "MixedBayesError",
    "Model",
    "Prior",
    "PriorError",
    "SamplingError",
    "__version__",
]

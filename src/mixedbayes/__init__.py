"""mixedbayes: Bayesian mixed-effects models from lme4-style formulas, sampled with PyMC.

>>> import mixedbayes as mb
>>> model = mb.Model("gpa ~ occasion + (1 + occasion | student)", data=gpa)
>>> fit = model.fit(random_seed=1)
>>> print(fit.summary())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .datasets import list_datasets, load_dataset, read_r
from .errors import (
    ConvergenceWarning,
    DataError,
    FamilyError,
    FitFileError,
    FormulaError,
    HypothesisError,
    MixedBayesError,
    PriorError,
    SamplingError,
    UnsafeFormulaError,
)
from .formula.distributional import bf
from .warmup import warmup

if TYPE_CHECKING:  # imported on first use (below): PyMC and ArviZ take seconds to import
    from .io import load
    from .model import Model
    from .priors import Prior
    from .results import Fit
    from .results.grid import datagrid
    from .simulation import simulate

# name -> module: imported when the name is first used, so `import mixedbayes` stays fast
_LAZY = {
    "Fit": ".results",
    "Model": ".model",
    "Prior": ".priors",
    "datagrid": ".results.grid",
    "load": ".io",
    "simulate": ".simulation",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def compare(fits: dict, ic: str = "loo"):
    """Rank fits of the same data by expected predictive accuracy, best first.

    Parameters
    ----------
    fits : dict
        ``{"name": fit, ...}``, at least two fits of the same rows, or ``{"name":
        fit.kfold(...), ...}`` results with the same folds (the table then has ``rank,
        elpd_kfold, p_kfold, elpd_diff, se, dse``).
    ic : {"loo", "waic"}

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table (``rank, elpd_loo, p_loo, elpd_diff, weight, se, dse,
        warning, scale``), indexed by name.
    """
    from .results.checks import compare_fits
    from .results.kfold import KFold, compare_kfold

    if fits and all(isinstance(value, KFold) for value in fits.values()):
        if len(fits) < 2:
            raise ValueError("compare() needs at least two kfold results")
        return compare_kfold(fits)
    return compare_fits(fits, ic)


__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "FamilyError",
    "Fit",
    "FitFileError",
    "FormulaError",
    "HypothesisError",
    "MixedBayesError",
    "Model",
    "Prior",
    "PriorError",
    "SamplingError",
    "UnsafeFormulaError",
    "__version__",
    "bf",
    "compare",
    "datagrid",
    "list_datasets",
    "load",
    "load_dataset",
    "read_r",
    "simulate",
    "warmup",
]

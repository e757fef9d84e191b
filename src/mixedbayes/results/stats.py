"""Summaries of posterior draws: mean, sd, equal-tailed interval and convergence statistics."""

from __future__ import annotations

from contextlib import contextmanager

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError

COLUMNS = ["estimate", "sd", "lower", "upper", "rhat", "ess_bulk", "ess_tail"]


def check_prob(prob: float) -> float:
    """``prob`` if it is a probability strictly between 0 and 1."""
    if not isinstance(prob, int | float) or not 0 < prob < 1:
        raise DataError(f"prob must be between 0 and 1 (e.g. 0.95), got {prob!r}")
    return float(prob)


def equal_tailed(draws: np.ndarray, prob: float, axis=0) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the equal-tailed ``prob`` interval along ``axis``."""
    tail = (1 - check_prob(prob)) / 2
    lower, upper = np.quantile(draws, [tail, 1 - tail], axis=axis)
    return lower, upper


def summarize(draws: xr.DataArray, prob: float) -> pd.DataFrame:
    """One row per element of ``draws`` (dims ``chain``, ``draw``, then any others).

    Rows follow the C order of the non-sample dims; the columns are ``COLUMNS``.
    """
    prob = check_prob(prob)
    values = draws.transpose("chain", "draw", ...).values
    flat = values.reshape(values.shape[0] * values.shape[1], -1)
    dataset = draws.to_dataset(name="x")
    lower, upper = equal_tailed(flat, prob)
    return pd.DataFrame(
        {
            "estimate": flat.mean(axis=0),
            "sd": flat.std(axis=0, ddof=1) if flat.shape[0] > 1 else np.nan,
            "lower": lower,
            "upper": upper,
            "rhat": _statistic(az.rhat, dataset, values),
            "ess_bulk": _statistic(az.ess, dataset, values, method="bulk"),
            "ess_tail": _statistic(az.ess, dataset, values, method="tail"),
        }
    )


def _statistic(function, dataset: xr.Dataset, values: np.ndarray, **kwargs) -> np.ndarray:
    if values.shape[1] < 4:  # too few draws for rank-normalized statistics
        return np.full(int(np.prod(values.shape[2:], dtype=int)), np.nan)
    with _numpy_variances():
        result = function(dataset, **kwargs)["x"]
    return np.asarray(result.values, dtype=float).reshape(-1)


@contextmanager
def _numpy_variances():
    """ArviZ computes R-hat's and ESS's variances with Numba where it is installed, which
    compiles them in each process (0.5 s, more than the statistics of a whole fit take with
    NumPy); its own switch turns that off for the duration."""
    from arviz.utils import Numba

    flag = Numba.numba_flag
    Numba.numba_flag = False
    try:
        yield
    finally:
        Numba.numba_flag = flag

"""A residual correlation structure bound to data: each level's rows in time order, and
the time distance between every pair of them.

Rows are grouped by ``gr`` and ordered by ``time`` within each level; a level's residuals
have correlation ``rho(|t_i - t_j|)`` (:mod:`mixedbayes.graph.autocor`). Distances are
measured in the time variable's own units, as nlme's ``corAR1(form = ~ time | g)`` does,
so a missing occasion is a gap (lag 2 between occasions 1 and 3), never two adjacent
rows; brms's ``ar()`` instead treats consecutive rows as adjacent. ARMA-type structures
therefore need whole-number times; compound symmetry takes any. Without ``time`` the
data's row order within a level gives times 0, 1, 2, ...

``unstr(time, gr)`` has one correlation per pair of time points: the distinct values of
``time`` (a pandas Categorical's order, else sorted) are its points, a level may miss some,
and ``lags`` then holds each pair's position ``k_i K + k_j`` in the flattened K x K
correlation matrix instead of a distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..formula.special import AutocorTerm
from .columns import combine_factors, label

MAX_ROWS = 400  # rows per level: each level's covariance is factorized densely


@dataclass(frozen=True, eq=False)
class AutocorDesign:
    """Attributes
    ----------
    term : AutocorTerm
    index : ndarray of int, shape (n,)
        Each row's level of ``gr``.
    levels : tuple of str
    times : ndarray of float, shape (n,)
    rows : ndarray of int, shape (levels, T)
        Each level's rows in time order, padded with -1 to the longest level's T rows.
    lags : ndarray of int, shape (levels, T, T)
        ``|t_i - t_j|`` between the level's rows (0 where either is padding); for
        ``unstr``, the pair's index into the flattened matrix of ``time_points``.
    time_points : tuple of str
        ``unstr``: the time points in order (empty for the other structures).
    """

    term: AutocorTerm
    index: np.ndarray
    levels: tuple[str, ...]
    times: np.ndarray
    rows: np.ndarray
    lags: np.ndarray
    time_points: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.term.kind

    @property
    def ar1(self) -> bool:
        """AR(1) (``ar()`` with p = 1), whose fast paths whiten rows or read statistics."""
        return self.term.kind == "ar" and self.term.p == 1

    @property
    def mask(self) -> np.ndarray:
        """(levels, T): True for real rows, False for padding."""
        return self.rows >= 0

    def padded(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Per-row ``values`` (last axis n) rearranged to (..., levels, T), ``fill`` on pads."""
        out = np.take(values, np.maximum(self.rows, 0), axis=-1)
        return np.where(self.mask, out, fill)


def encode_autocor(
    term: AutocorTerm | None, data: pd.DataFrame, time_points: tuple[str, ...] = ()
) -> AutocorDesign | None:
    """The AutocorDesign of ``term`` for the rows of ``data`` (None without a term);
    ``time_points``: a fitted ``unstr``'s, for new rows."""
    if term is None:
        return None
    n = len(data)
    if term.gr is None:
        index, levels = np.zeros(n, dtype=np.int64), ["all"]
    else:
        index, levels = combine_factors(data, (term.gr,))
    points = ()
    if term.kind == "unstr":
        times, points = _time_points(data[term.time], term, time_points)
    elif term.time is None:
        times = pd.Series(np.zeros(n)).groupby(index).cumcount().to_numpy(dtype=float)
    else:
        times = _times(data[term.time], term)
    rows, lags = _layout(index, len(levels), times, term, levels)
    if term.kind == "unstr":  # each pair's entry of the K x K matrix
        t = np.where(rows >= 0, times[np.maximum(rows, 0)], 0.0).astype(np.int64)
        lags = t[:, :, None] * len(points) + t[:, None, :]
    index = index.astype(np.int64)
    return AutocorDesign(term, index, tuple(levels), times, rows, lags, tuple(points))


def check_orders(autocor: AutocorDesign) -> None:
    """Refuse ARMA orders above 1 that the fitted rows cannot identify: the correlations
    of a level's rows are those at its lags 1..L (L the widest time distance within any
    level), L numbers, so ``p + q`` coefficients need ``p + q <= L`` (for AR(p), the
    partial autocorrelations beyond lag L would not enter the likelihood at all).
    Order-1 terms are left as they always were.

    Raises
    ------
    DataError
        Naming the term, its orders and L.
    """
    p, q = autocor.term.p, autocor.term.q
    widest = int(autocor.lags.max(initial=0))
    if max(p, q) > 1 and p + q > widest:
        within = f"within a level of {autocor.term.gr!r}" if autocor.term.gr else "apart"
        raise DataError(
            f"{autocor.term.text}: {p + q} ARMA coefficients (p = {p}, q = {q}) need rows "
            f"at least {p + q} time units apart {within}; the data's widest distance is "
            f"{widest}, so lower the order"
        )


def _time_points(column: pd.Series, term: AutocorTerm, fitted: tuple[str, ...]):
    """Each row's time point (a code 0..K-1) and the points' labels in order: the data's
    own, or ``fitted`` ones (new rows at another time point are an error)."""
    labels = column.map(label).astype(str)
    if fitted:
        unknown = np.flatnonzero(~labels.isin(fitted))
        if unknown.size:
            i = int(unknown[0])
            raise DataError(
                f"{term.text}: {term.time} = {labels.iloc[i]!r} in row {i} is not one of the "
                f"fitted time points {list(fitted)}"
            )
        return pd.Categorical(labels, categories=list(fitted)).codes.astype(float), fitted
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(column.dropna())
        points = [c for c in column.cat.categories if c in present]
    else:
        points = sorted(column.unique())
    codes = pd.Categorical(column, categories=points).codes.astype(float)
    return codes, tuple(label(p) for p in points)


def _times(column: pd.Series, term: AutocorTerm) -> np.ndarray:
    name = term.time
    try:
        times = pd.to_numeric(column).to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise DataError(f"{term.text}: time column {name!r} must be numeric ({error})") from None
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise DataError(f"{term.text}: time column {name!r} is not finite in row {bad[0]}")
    if term.kind != "cosy":
        fractional = np.flatnonzero(np.abs(times - np.round(times)) > 1e-8)
        if fractional.size:
            i = fractional[0]
            raise DataError(
                f"{term.text}: {term.kind}() needs whole-number times (lags are counted in "
                f"the time column's units); {name!r} is {times[i]!r} in row {i}"
            )
    return times


def _layout(index, n_levels: int, times, term: AutocorTerm, levels):
    order = np.lexsort((times, index))
    counts = np.bincount(index, minlength=n_levels)
    longest = int(counts.max())
    if longest > MAX_ROWS:
        raise DataError(
            f"{term.text}: level {levels[int(counts.argmax())]!r} has {longest} rows; "
            f"correlation structures take at most {MAX_ROWS} rows per level"
        )
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(order)) - np.repeat(starts, counts)
    rows = np.full((n_levels, longest), -1, dtype=np.int64)
    rows[index[order], position] = order
    t = np.where(rows >= 0, times[np.maximum(rows, 0)], 0.0)
    same = (np.diff(t, axis=1) == 0) & (rows[:, 1:] >= 0)
    if same.any():
        g, j = map(int, np.argwhere(same)[0])
        a, b = sorted((int(rows[g, j]), int(rows[g, j + 1])))
        raise DataError(
            f"{term.text}: rows {a} and {b} of level {levels[g]!r} have the same time "
            f"{t[g, j]:g}; each level needs distinct times"
        )
    lags = np.abs(t[:, :, None] - t[:, None, :])
    pads = rows < 0
    lags[pads[:, :, None] | pads[:, None, :]] = 0
    return rows, (np.round(lags) if term.kind != "cosy" else lags > 0).astype(np.int64)

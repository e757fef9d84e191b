"""Draw a data set from a mixed-model formula and known parameters (teaching, tests).

``simulate`` builds the rows (or takes yours), encodes them with the library's own design
stage, so that term names are those of ``Fit.fixef()`` (formulaic's, e.g. ``sex[T.male]``),
draws the random effects and then the response given the linear predictor::

    eta = X beta + sum_g Z_g . u_g[level_g] + offset,   u_g ~ N(0, diag(sd_g) R_g diag(sd_g))
    y ~ family(inverse_link(eta); sigma, nu, shape, phi or thresholds)

The generating values come back with the data, in ``data.attrs["truth"]``.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from ..design import make_design
from ..design.make import as_frame
from ..errors import DataError, FormulaError
from ..families import Family, get_family
from ..formula import parse_formula
from . import rows, values

_PLACEHOLDER = "_simulated_response_"


def simulate(
    formula: str,
    data: pd.DataFrame | None = None,
    groups: Mapping[str, int] | None = None,
    n_per_group: int = 3,
    fixed: Mapping[str, float] | None = None,
    sd: Mapping | None = None,
    cor: Mapping | None = None,
    sigma: float | None = None,
    family: str | Family = "gaussian",
    link: str | None = None,
    random_seed: int | None = None,
    **aux,
) -> pd.DataFrame:
    """Simulate a data set from a mixed-model formula and known parameter values.

    Parameters
    ----------
    formula : str
        An lme4-style formula as for :class:`mixedbayes.Model`; the response must be a
        column name (or ``s | trials(n)``, ``cbind(s, f)`` or ``cbind(s, n - s)``).
    data : DataFrame, optional
        Rows to use: its predictors and grouping factors are kept and only the response
        is drawn (``groups`` must then agree with it; ``n_per_group`` is ignored).
    groups : dict, optional
        Without ``data``: the number of levels of each grouping factor (column), e.g.
        ``{"g": 100}``. A factor nested in another (``(1 | a/b)``, ``(1 | a:b)``) gets
        that many levels within each level of its parent, labelled 1, 2, ... within it.
        Factors nested in the same parent are crossed within it.
    n_per_group : int, default 3
        Without ``data``: rows per level of the most finely divided factor. With several
        crossed factors (``(1 | a) + (1 | b)``) the factor with the most levels (or
        nested cells) gets ``n_per_group`` rows per level in order and every other factor
        is assigned to rows at random, each of its levels used equally often (give or
        take one). Predictors that are neither grouping factors nor in ``data`` are drawn
        standard normal.
    fixed : dict, optional
        Fixed effects by term name as ``Fit.fixef()`` names them (``"Intercept"``,
        ``"x"``, ``"sex[T.male]"``, ``"x:z"``); terms left out are 0.
    sd : dict
        Random-effect sds by grouping factor and term, ``{"g": {"Intercept": 0.5, "x":
        0.2}}`` (a number for a factor with one term); every one must be given.
    cor : dict, optional
        Correlations by grouping factor: a number for two correlated terms, else a k x k
        matrix (array or DataFrame) in the order of the factor's terms; default 0.
    sigma : float, optional
        Residual sd (gaussian, student_t).
    family : str, default "gaussian"
        Any family of :class:`mixedbayes.Model`.
    link : str, optional
        Another link than the family's default.
    random_seed : int, optional
        Seed of ``numpy.random.default_rng``: the same seed gives the same data.
    **aux
        The family's other parameters: ``nu`` (student_t), ``shape`` (negative_binomial,
        gamma), ``phi`` (beta), ``thresholds`` (cumulative, with optional ``levels``, the
        K category labels, default 1..K), ``trials`` (binomial: a number or array filling
        the trials column when it is not in ``data``).

    Returns
    -------
    pandas.DataFrame
        The rows with the response column named as in the formula (an ordered Categorical
        for cumulative). ``attrs["formula"]`` is the formula and ``attrs["truth"]`` a dict
        of the generating values: ``family``, ``link``, ``fixed`` (term -> value, with
        thresholds as ``Intercept[a|b]``), ``sd`` (group -> term -> value), ``cor`` (group
        -> term -> term -> value, for groups with several terms), ``sigma``/``nu``/``shape``
        /``phi``/``thresholds`` as the family has them, and ``ranef`` (group -> term ->
        level -> drawn effect; ``pd.DataFrame(truth["ranef"]["g"])`` is levels x terms).

    Raises
    ------
    FormulaError
        Unknown terms or groups in ``fixed``, ``sd``, ``cor`` or ``groups`` (listing the
        valid ones), or a response that is not a column name.
    DataError
        Missing or negative sds, a correlation matrix that is not positive definite,
        missing values in ``data``, or ``groups`` that disagree with ``data``.
    FamilyError
        An unknown family or link, a missing or unknown auxiliary parameter.

    Examples
    --------
    >>> df = mb.simulate("y ~ x + (1 + x | g)", groups={"g": 100}, n_per_group=3,
    ...                  fixed={"Intercept": 1, "x": 0.5},
    ...                  sd={"g": {"Intercept": 0.5, "x": 0.2}}, cor={"g": 0.3},
    ...                  sigma=0.25, random_seed=1)
    >>> df.attrs["truth"]["sd"]
    {'g': {'Intercept': 0.5, 'x': 0.2}}
    """
    rng = np.random.default_rng(random_seed)
    parsed = parse_formula(formula)
    special = [t.smooth.text for t in parsed.groups if t.smooth is not None]
    special += [parsed.autocor.text] if parsed.autocor is not None else []
    if special:
        raise FormulaError(
            f"simulate() does not draw smooths, Gaussian processes or correlated residuals "
            f"yet ({', '.join(special)}); simulate without them and add the term's part"
        )
    fam = get_family(family, link)
    params = values.family_parameters(fam, sigma, aux)
    for name in (parsed.response, parsed.failures):
        if name is not None and not rows.NAME.match(name) and not rows.difference(parsed, name):
            raise FormulaError(f"simulate draws the response {name!r}: it must be a column name")
    caller = sys._getframe(1)
    context = {  # functions and modules of the caller's namespace, never values
        k: v
        for k, v in {**caller.f_globals, **caller.f_locals, "np": np}.items()
        if callable(v) or isinstance(v, types.ModuleType)
    }
    data = as_frame(data, "data")  # polars and other data frames
    if data is None:
        frame = rows.build_rows(parsed, groups, n_per_group, rng)
        for name in rows.variables(parsed):
            if name not in frame.columns and name not in (parsed.response, parsed.failures):
                frame[name] = rng.standard_normal(len(frame))
    elif isinstance(data, pd.DataFrame):
        frame = data.copy()
        rows.check_given(parsed, frame, groups)
    else:
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    trials = rows.binomial_trials(parsed, frame, context, params.pop("trials", None), fam)
    with warnings.catch_warnings():  # the design's warnings are about fitting, not drawing
        warnings.simplefilter("ignore", UserWarning)
        design = make_design(
            replace(parsed, response=_PLACEHOLDER, trials=None, failures=None),
            frame.assign(**{_PLACEHOLDER: 0.0}),
            "gaussian",
            dropna=False,
            context=context,
        )
    truth = {"family": fam.name, "link": fam.link}
    eta, truth["fixed"] = _fixed_part(design, fixed, fam.response == "ordinal")
    truth["sd"], truth["cor"], truth["ranef"] = {}, {}, {}
    sd, cor = ({} if sd is None else sd), ({} if cor is None else cor)
    values.check_groups(sd, cor, design.groups)
    for block in design.blocks:
        sds, R = values.block_parameters(block, sd, cor)
        scale = np.diag(sds) @ np.linalg.cholesky(R)  # u = z scale' has covariance S R S
        u = rng.standard_normal((block.n_levels, len(sds))) @ scale.T
        eta = eta + (block.Z * u[block.index]).sum(axis=1)
        truth["sd"][block.group] = dict(zip(block.coefs, map(float, sds), strict=True))
        if len(sds) > 1:
            truth["cor"][block.group] = pd.DataFrame(R, block.coefs, block.coefs).to_dict()
        truth["ranef"][block.group] = {
            c: dict(zip(block.levels, map(float, u[:, j]), strict=True))
            for j, c in enumerate(block.coefs)
        }
    levels = values.ordinal_levels(params, truth) if fam.response == "ordinal" else None
    y = fam.draw(rng, eta, params, trials)
    frame[parsed.response] = _response(y, fam, levels)
    if parsed.failures is not None and rows.NAME.match(parsed.failures):
        frame[parsed.failures] = (trials - y).astype(np.int64)
    for name, value in params.items():
        truth[name] = [float(v) for v in value] if name == "thresholds" else float(value)
    frame.attrs["formula"] = parsed.text
    frame.attrs["truth"] = truth
    return frame


def _fixed_part(design, fixed, ordinal: bool) -> tuple[np.ndarray, dict]:
    """``X beta`` plus offsets, and beta by term (ordinal models have no intercept)."""
    terms = [t for t in design.fixed_terms if not (ordinal and t == "Intercept")]
    beta = values.named_values("fixed", fixed or {}, terms, default=0.0)
    eta = np.zeros(design.n_obs)
    for term in terms:
        eta = eta + beta[term] * design.X[:, design.fixed_terms.index(term)]
    return (eta if design.offset is None else eta + design.offset), beta


def _response(y: np.ndarray, family: Family, levels) -> np.ndarray | pd.Categorical:
    """Drawn values as a column: whole numbers as integers, ordinal as a Categorical."""
    if family.response == "ordinal":
        return pd.Categorical.from_codes(y.astype(np.int64), categories=levels, ordered=True)
    if family.response in ("binary", "binomial", "count") and np.isfinite(y).all():
        return y.astype(np.int64)
    return y

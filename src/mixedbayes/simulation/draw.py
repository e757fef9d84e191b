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
from ..design.blocks import blocks_by_id, joint_labels
from ..design.make import as_frame, dpar_links, with_default_dpars
from ..design.random import check_ids
from ..errors import DataError, FormulaError
from ..families import Family, get_family
from ..families.base import LINKS
from ..formula.distributional import parse_model_formula
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
    formula : str or bf
        An lme4-style formula as for :class:`mixedbayes.Model`; the response must be a
        column name (or ``s | trials(n)``, ``cbind(s, f)`` or ``cbind(s, n - s)``). With
        ``mb.bf(..., sigma="~ z")`` a distributional parameter gets a value per row: its
        coefficients go in ``fixed`` and its sds in ``sd`` with the parameter's prefix
        (``"sigma_Intercept"``, ``"sigma_z"``, ``"sigma_g"``), on its default link scale.
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
        matrix (array or DataFrame) in the order of the factor's terms; default 0. For a
        brms ID shared by several formulas (``(1 |p| g)``), ``cor["p"]`` over its terms,
        mu's first, the others prefixed (``sigma_Intercept``).
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
        K category labels, default 1..K), ``levels`` (categorical: the K >= 2 category
        labels, the first the reference; category k's predictor is mu for k = 2 and
        ``mu<label>`` after, ``fixed={"Intercept": ..., "muC_Intercept": ...}``),
        ``trials`` (binomial: a number or array filling the trials column when it is not
        in ``data``).

    Returns
    -------
    pandas.DataFrame
        The rows with the response column named as in the formula (an ordered Categorical
        for cumulative, a Categorical for categorical). ``attrs["formula"]`` is the
        formula and ``attrs["truth"]`` a dict of the generating values: ``family``,
        ``link``, ``fixed`` (term -> value, with thresholds as ``Intercept[a|b]``), ``sd``
        (group -> term -> value), ``cor`` (group -> term -> term -> value, for groups with
        several terms), ``sigma``/``nu``/``shape``/``phi``/``thresholds`` as the family
        has them, and ``ranef`` (group -> term ->
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
    parsed = parse_model_formula(formula)
    special = [t.smooth.text for t in parsed.groups if t.smooth is not None]
    special += [parsed.autocor.text] if parsed.autocor is not None else []
    if special:
        raise FormulaError(
            f"simulate() does not draw smooths, Gaussian processes or correlated residuals "
            f"yet ({', '.join(special)}); simulate without them and add the term's part"
        )
    fam = get_family(family, link)
    if fam.response == "nominal":  # categorical: the categories name its dpars
        fam = fam.for_response(values.nominal_levels(aux))
        parsed = with_default_dpars(parsed, fam)
    links = dpar_links(parsed, fam, None)  # the formulas' parameters, checked
    params = values.family_parameters(fam, sigma, aux, formulas=links)
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
        main = set(rows.nesting(parsed))
        extra = [(p.dpar, f) for p in parsed.dpars for f in rows.nesting(p) if f not in main]
        if extra:
            raise FormulaError(
                f"simulate builds rows for the grouping factors of the mean's formula; "
                f"{extra[0][0]}'s factor {extra[0][1]!r} is not one of them: add it there "
                "or give data="
            )
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
    design = _design(replace(parsed, trials=None, failures=None, dpars=()), frame, context)
    parts = {part.dpar: _design(replace(part, dpar="mu"), frame, context) for part in parsed.dpars}
    sd, cor = ({} if sd is None else sd), ({} if cor is None else cor)
    tagged = _tagged(design, parts, frame.columns)
    groups_of = [*design.groups, *_prefixed(parts, "groups")]
    values.check_groups(sd, {k: v for k, v in cor.items() if k not in tagged}, groups_of)
    fixed = _by_part(fixed or {}, design.fixed_terms, parts)
    truth = {"family": fam.name, "link": fam.link, "fixed": {}, "sd": {}, "cor": {}, "ranef": {}}
    drawn = _joint_effects(tagged, sd, cor, truth, rng)
    eta = _predictor(design, "", fixed, sd, cor, truth, rng, fam.response == "ordinal", drawn)
    for name, part in parts.items():  # a parameter with a formula: one value per row
        eta_part = _predictor(part, name, fixed, sd, cor, truth, rng, drawn=drawn)
        params[name] = LINKS[links[name]][1](eta_part)
        truth.setdefault("links", {})[name] = links[name]
    levels = values.ordinal_levels(params, truth) if fam.response == "ordinal" else None
    levels = list(fam.categories) if fam.response == "nominal" else levels
    y = fam.draw(rng, eta, params, trials)
    frame[parsed.response] = _response(y, fam, levels)
    if parsed.failures is not None and rows.NAME.match(parsed.failures):
        frame[parsed.failures] = (trials - y).astype(np.int64)
    for name, value in params.items():
        if name not in parts:
            truth[name] = [float(v) for v in value] if name == "thresholds" else float(value)
    frame.attrs["formula"] = parsed.text
    frame.attrs["truth"] = truth
    return frame


def _design(formula, frame: pd.DataFrame, context):
    """The rows encoded for one formula (the response a placeholder: it is drawn later)."""
    with warnings.catch_warnings():  # the design's warnings are about fitting, not drawing
        warnings.simplefilter("ignore", UserWarning)
        return make_design(
            replace(formula, response=_PLACEHOLDER),
            frame.assign(**{_PLACEHOLDER: 0.0}),
            "gaussian",
            dropna=False,
            context=context,
        )


def _prefixed(parts: dict, what: str) -> list[str]:
    """The distributional parameters' term or group names with their prefix."""
    return [f"{name}_{item}" for name, part in parts.items() for item in getattr(part, what)]


def _by_part(spec: Mapping, main: tuple, parts: dict) -> dict:
    """Fixed effects by term split by parameter: ``{"": mu's, "sigma": sigma's, ...}``
    with the prefix taken off (``sigma_Intercept`` -> ``Intercept``); a term of mu's own
    stays mu's."""
    if isinstance(spec, pd.Series):
        spec = spec.to_dict()
    if not isinstance(spec, Mapping):
        return {"": spec}  # named_values and check_groups report it
    out = {"": {}, **{name: {} for name in parts}}
    for key, value in spec.items():
        owner = next((n for n in parts if key not in main and str(key).startswith(f"{n}_")), "")
        out[owner][key[len(owner) + 1 :] if owner else key] = value
    return out


def _predictor(design, name: str, fixed, sd, cor, truth: dict, rng, ordinal=False, drawn=None):
    """One parameter's linear predictor (fixed part, offset, drawn random effects), its
    values recorded in ``truth`` under prefixed names for a parameter other than mu;
    ``drawn`` holds the effects already drawn jointly across parameters (an ID)."""
    prefix = f"{name}_" if name else ""
    eta, beta = _fixed_part(design, fixed[name], ordinal)
    truth["fixed"] |= {prefix + term: value for term, value in beta.items()}
    for block in design.blocks:
        block = replace(block, group=prefix + block.group)  # sd= names it so: "sigma_g"
        if block.group in (drawn or {}):
            sds, R, u = drawn[block.group]
        else:
            sds, R = values.block_parameters(block, sd, cor)
            scale = np.diag(sds) @ np.linalg.cholesky(R)  # u = z scale' has cov S R S
            u = rng.standard_normal((block.n_levels, len(sds))) @ scale.T
        eta = eta + (block.Z * u[block.index]).sum(axis=1)
        group = block.group
        truth["sd"][group] = dict(zip(block.coefs, map(float, sds), strict=True))
        if len(sds) > 1:
            truth["cor"][group] = pd.DataFrame(R, block.coefs, block.coefs).to_dict()
        truth["ranef"][group] = {
            c: dict(zip(block.levels, map(float, u[:, j]), strict=True))
            for j, c in enumerate(block.coefs)
        }
    return eta


def _tagged(design, parts: dict, columns) -> dict[str, list]:
    """brms IDs shared by several formulas -> their blocks (prefixed as sd= names them),
    checked as a fitted model's are."""
    blocks = [
        replace(block, group=f"{name}_{block.group}" if name else block.group, dpar=name or "mu")
        for name, part in [("", design), *parts.items()]
        for block in part.blocks
    ]
    check_ids(blocks, columns)
    return {name: found for name, found in blocks_by_id(blocks).items() if len(found) > 1}


def _joint_effects(tagged: dict, sd, cor, truth: dict, rng) -> dict:
    """Effects correlated across formulas by an ID, drawn as one vector per level:
    block group -> (its sds, its correlation, its effects); ``cor[id]`` is the
    correlation over the ID's terms, mu's first and the others prefixed
    (``sigma_Intercept``), default the identity."""
    out = {}
    for name, blocks in tagged.items():
        sds = np.concatenate([values.block_parameters(b, sd, {})[0] for b in blocks])
        labels = joint_labels(blocks)
        every = (tuple(range(len(labels))),)  # one correlated group over all the terms
        R = values.correlation(name, labels, every, cor.get(name))
        u = rng.standard_normal((blocks[0].n_levels, len(labels)))
        u = u @ (np.diag(sds) @ np.linalg.cholesky(R)).T
        truth["cor"][name] = pd.DataFrame(R, labels, labels).to_dict()
        start = 0
        for block in blocks:
            own = slice(start, start + len(block.coefs))
            out[block.group] = (sds[own], R[own, own], u[:, own])
            start = own.stop
    return out


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
    if family.response in ("ordinal", "nominal"):
        codes = y.astype(np.int64)
        return pd.Categorical.from_codes(codes, levels, ordered=family.response == "ordinal")
    if family.response in ("binary", "binomial", "count") and np.isfinite(y).all():
        return y.astype(np.int64)
    return y

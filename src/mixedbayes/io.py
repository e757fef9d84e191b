"""Load a fit that ``Fit.save`` wrote: the file is data and never runs code.

Loading rebuilds the :class:`~mixedbayes.Model` from the stored formula, family, priors and
training rows. The formula is evaluated in the safe expression language of
:mod:`mixedbayes.formula.safety` unless the caller trusts the file (``trusted=True``) or
names the extra functions it needs (``context=``); a formula needing more raises an
:class:`~mixedbayes.errors.UnsafeFormulaError` before anything is evaluated. Everything
else read from the file is checked too (the spec's fields and types, the columns, the
posterior's dimensions against the rebuilt model), and any disagreement is a
:class:`~mixedbayes.errors.FitFileError` naming it, never an h5py or xarray traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from .errors import FitFileError, MixedBayesError, UnsafeFormulaError
from .formula.distributional import bf
from .graph.model import model_coords
from .model import Model
from .priors import Prior
from .results import Fit
from .results.io import FORMAT, decode_column

# the spec's fields and the types they must have
_FIELDS = {
    "format": str,
    "formula": str,
    "family": str,
    "link": (str, type(None)),
    "priors": list,
    "n_dropped": int,
}


def load(path, context: dict | None = None, *, trusted: bool = False) -> Fit:
    """Read a fit written by ``Fit.save(path)``; it can summarize and predict.

    Parameters
    ----------
    path : str or path-like
    context : dict, optional
        Functions or constants the stored formula uses besides the safe expression
        language (columns, numbers, arithmetic, ``C``, ``I``, ``center``, ``scale``,
        ``poly``, ``bs``, ``np.log`` and numpy's other elementwise functions). Only these
        names are added; the formula is still checked before it runs.
    trusted : bool, default False
        Evaluate the stored formula as Python with the caller's namespace (or
        ``context``), as ``Model`` does: only for files you made or trust, since an edited
        file could then run any code.

    Returns
    -------
    Fit

    Raises
    ------
    UnsafeFormulaError
        The stored formula needs more than the safe language and ``context`` allow.
    FitFileError
        The file is missing, not a mixedbayes fit, truncated, inconsistent (edited
        dimensions, columns or spec) or of another format version.
    """
    if trusted and context is None:
        caller = sys._getframe(1)
        context = {**caller.f_globals, **caller.f_locals}
    return load_fit(path, context, trusted=trusted)


def load_fit(path, context: dict | None = None, *, trusted: bool = False) -> Fit:
    """:func:`load` with the namespace given explicitly (the CLI's entry point)."""
    path = Path(path)
    if not path.is_file():
        raise FitFileError(f"no such fit file: {path}")
    idata = _read(path)
    spec = _spec(path, idata)
    data = _columns(path, idata.constant_data)
    priors = _priors(path, spec["priors"])
    try:
        model = Model(
            bf(spec["formula"], *spec.get("dpars", {}).values()),
            data,
            spec["family"],
            priors,
            link=spec["link"],
            context={} if context is None else context,
            safe=not trusted,
            links=spec.get("links"),
        )
    except UnsafeFormulaError as error:
        raise UnsafeFormulaError(
            f"{path}: {error}. Loading evaluates a stored formula safely; pass "
            "context={'name': ...} with the functions it needs, or trusted=True "
            "(mixedbayes summary --trusted) only for a file you trust"
        ) from None
    except MixedBayesError as error:
        raise FitFileError(f"{path}: the stored model cannot be rebuilt: {error}") from None
    model.design = dataclasses.replace(model.design, n_dropped=spec["n_dropped"])
    del idata.constant_data
    _check_dimensions(path, idata, model)
    return Fit(model, idata)


def _read(path: Path) -> az.InferenceData:
    """The whole file in memory (nothing left open), or a FitFileError."""
    try:
        idata = az.from_netcdf(str(path))
        for group in idata.groups():
            idata[group].load()
    except Exception as error:  # h5py, netCDF4 and xarray raise many types
        raise FitFileError(
            f"{path} cannot be read as a fit file (truncated or not netCDF?): "
            f"{type(error).__name__}: {error}"
        ) from None
    if "constant_data" not in idata.groups() or "posterior" not in idata.groups():
        raise FitFileError(f"{path} is not a mixedbayes fit (no posterior or constant_data)")
    return idata


def _spec(path: Path, idata: az.InferenceData) -> dict:
    text = idata.constant_data.attrs.get("mixedbayes_spec")
    if not isinstance(text, str):
        raise FitFileError(f"{path} is not a mixedbayes fit (no model spec in constant_data)")
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise FitFileError(f"{path}: its model spec is not valid JSON ({error})") from None
    if not isinstance(spec, dict):
        raise FitFileError(f"{path}: its model spec is not a JSON object")
    if spec.get("format") != FORMAT:
        raise FitFileError(f"{path} has fit format {spec.get('format')!r}, expected {FORMAT!r}")
    for field in ("dpars", "links"):  # absent from files of before distributional models
        entries = spec.setdefault(field, {})
        if not isinstance(entries, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
        ):
            raise FitFileError(f"{path}: the spec's {field!r} must map names to strings")
    for field, kind in _FIELDS.items():
        if field not in spec:
            raise FitFileError(f"{path}: its model spec has no {field!r}")
        if not isinstance(spec[field], kind) or isinstance(spec[field], bool):
            raise FitFileError(f"{path}: the spec's {field!r} is {spec[field]!r}, of wrong type")
    if spec["n_dropped"] < 0:
        raise FitFileError(f"{path}: the spec's n_dropped is negative")
    return spec


def _priors(path: Path, entries: list) -> dict:
    priors = {}
    for entry in entries:
        try:
            key, dist, params = entry["key"], entry["dist"], entry["params"]
            if isinstance(key, list) and all(isinstance(part, str) for part in key):
                key = tuple(key)
            if not isinstance(key, str | tuple) or not isinstance(params, dict):
                raise TypeError("a key must be a string or a list of strings")
            priors[key] = Prior(dist, **params)
        except (KeyError, TypeError, ValueError) as error:
            raise FitFileError(f"{path}: stored prior {entry!r} is invalid: {error}") from None
    return priors


def _columns(path: Path, group) -> pd.DataFrame:
    columns, lengths = {}, set()
    for name, array in group.data_vars.items():
        if array.dims != ("row",):
            raise FitFileError(f"{path}: stored column {name!r} has dims {array.dims}, not (row,)")
        try:
            columns[str(name)] = decode_column(array)
        except (KeyError, TypeError, ValueError) as error:
            message = f"{path}: stored column {name!r} cannot be decoded: {error}"
            raise FitFileError(message) from None
        lengths.add(len(columns[str(name)]))
    if not columns or len(lengths) != 1:
        raise FitFileError(f"{path}: the stored data have no columns or columns of unequal length")
    return pd.DataFrame(columns)


def _check_dimensions(path: Path, idata: az.InferenceData, model: Model) -> None:
    """Every named dimension in the file must have the rebuilt model's labels."""
    coords = model_coords(model.design, model.family)
    for group in idata.groups():
        dataset = idata[group]
        for dim in dataset.dims:
            if dim not in coords:
                continue
            stored = [str(v) for v in np.asarray(dataset[dim].values).tolist()]
            if stored != [str(v) for v in coords[dim]]:
                raise FitFileError(
                    f"{path}: dimension {dim!r} of group {group!r} has {len(stored)} labels "
                    f"that disagree with the stored model's {len(coords[dim])} (edited file?)"
                )
    missing = [name for name in _required(model) if name not in idata.posterior]
    if missing:
        raise FitFileError(f"{path}: the posterior lacks {missing} (edited file?)")


def _required(model: Model) -> list[str]:
    """Posterior variables that the fit's tables read."""
    names, modeled = [], {part.dpar for part in model.design.dpars}
    for part in model.design.parts:
        names += [f"sd_{block.group}" for block in part.blocks]
        if any(term != "Intercept" for term in part.fixed_terms):
            names.append(f"{part.prefix}b")
    return names + [name for name in model.family.aux if name not in modeled]

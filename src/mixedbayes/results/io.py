"""Save a fit to netCDF and load it back, without pickling any PyTensor graph.

The file is the fit's InferenceData plus a ``constant_data`` group holding the model's
training rows (the columns the formula uses, after dropping missing values) and, in its
attributes, the model spec: formula, family, link and the user's priors. Loading rebuilds
the Model from those, so the design (levels, contrasts, ``center``/``scale`` constants) is
re-derived exactly and the loaded fit can predict. Categorical columns keep their
categories and order.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from ..design.columns import drop_missing, required_columns
from ..errors import DataError
from ..priors import Prior

FORMAT = "mixedbayes-fit-1"


def save_fit(fit, path) -> None:
    """Write ``fit`` to ``path`` (netCDF)."""
    model = fit.model
    columns = required_columns(model.formula, model.data, model.context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the count of dropped rows was reported at fit time
        data = drop_missing(model.data, columns, dropna=True)
    spec = {
        "format": FORMAT,
        "formula": model.formula.text,
        "family": model.family.name,
        "link": model.family.link,
        "priors": [_prior_entry(key, prior) for key, prior in model.user_priors.items()],
        "n_dropped": model.design.n_dropped,
    }
    dataset = xr.Dataset(
        {name: _encode_column(data[name]) for name in data.columns},
        attrs={"mixedbayes_spec": json.dumps(spec)},
    )
    idata = fit.idata.copy()
    if "constant_data" in idata.groups():
        del idata.constant_data
    idata.add_groups(constant_data=dataset)
    idata.to_netcdf(str(Path(path)))


def load_fit(path, context):
    """Read a fit written by ``Fit.save``; ``context`` as in Model. See mixedbayes.load."""
    from ..model import Model  # the facade imports results; import it lazily here
    from .fit import Fit

    idata = az.from_netcdf(str(Path(path)))
    data_group = idata.get("constant_data") if "constant_data" in idata.groups() else None
    spec_text = None if data_group is None else data_group.attrs.get("mixedbayes_spec")
    if spec_text is None:
        raise DataError(f"{path} is not a mixedbayes fit (no model spec in constant_data)")
    spec = json.loads(spec_text)
    if spec.get("format") != FORMAT:
        raise DataError(f"{path} has fit format {spec.get('format')!r}, expected {FORMAT!r}")
    data = pd.DataFrame({name: _decode_column(data_group[name]) for name in data_group})
    priors = {
        _key(entry["key"]): Prior(entry["dist"], **entry["params"]) for entry in spec["priors"]
    }
    model = Model(spec["formula"], data, spec["family"], priors, link=spec["link"], context=context)
    model.design = dataclasses.replace(model.design, n_dropped=spec["n_dropped"])
    del idata.constant_data
    return Fit(model, idata)


def _prior_entry(key, prior: Prior) -> dict:
    return {
        "key": key if isinstance(key, str) else list(key),
        "dist": prior.dist,
        "params": prior.params,
    }


def _key(key):
    return key if isinstance(key, str) else tuple(key)


def _encode_column(values: pd.Series) -> xr.DataArray:
    attrs = {"kind": "plain"}
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = [_python(c) for c in values.cat.categories]
        attrs = {"kind": "categorical", "categories": json.dumps(categories)}
        attrs["ordered"] = int(values.cat.ordered)
        array = values.cat.codes.to_numpy(np.int64)
    elif pd.api.types.is_bool_dtype(values):
        attrs, array = {"kind": "bool"}, values.to_numpy(np.int8)
    elif pd.api.types.is_numeric_dtype(values):
        array = values.to_numpy()
    else:
        attrs, array = {"kind": "text"}, values.astype(str).to_numpy(dtype=str)
    return xr.DataArray(array, dims=("row",), attrs=attrs)


def _decode_column(array: xr.DataArray) -> pd.Series:
    kind = array.attrs.get("kind", "plain")
    values = array.values
    if kind == "categorical":
        categories = json.loads(array.attrs["categories"])
        ordered = bool(array.attrs["ordered"])
        return pd.Series(pd.Categorical.from_codes(values, categories, ordered=ordered))
    if kind == "bool":
        return pd.Series(values.astype(bool))
    if kind == "text":
        return pd.Series(values.astype(str), dtype=object)
    return pd.Series(values)


def _python(value):
    return value.item() if isinstance(value, np.generic) else value

"""Save a fit to netCDF, without pickling any PyTensor graph (loading: :mod:`mixedbayes.io`).

The file is the fit's InferenceData plus a ``constant_data`` group holding the model's
training rows (the columns the formula uses, after dropping missing values) and, in its
attributes, the model spec: formula, family, link and the user's priors. Loading rebuilds
the Model from those, so the design (levels, contrasts, ``center``/``scale`` constants) is
re-derived exactly and the loaded fit can predict. Categorical columns keep their
categories and order.

Saving is atomic: the file is written beside its destination under a temporary name and
renamed over it only once complete, so a failed or interrupted save leaves any earlier
file at ``path`` as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..design.columns import drop_missing, required_columns
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
        "dpars": {part.dpar: part.formula.text for part in model.design.dpars},
        "links": {part.dpar: part.link for part in model.design.dpars},
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
    write_atomically(idata.to_netcdf, Path(path))


def write_atomically(write, path: Path) -> None:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    The temporary file lies in ``path``'s folder (a rename within one file system is
    atomic); on any failure, KeyboardInterrupt included, it is removed and ``path`` is
    untouched.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _prior_entry(key, prior: Prior) -> dict:
    return {
        "key": key if isinstance(key, str) else list(key),
        "dist": prior.dist,
        "params": prior.params,
    }


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


def decode_column(array: xr.DataArray) -> pd.Series:
    """The pandas column that ``_encode_column`` wrote (KeyError/ValueError if edited)."""
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

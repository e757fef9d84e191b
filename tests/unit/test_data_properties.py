"""Property-based tests of data frames (hypothesis): whatever the data hold (NaN and inf,
empty and single-row groups, huge and tiny magnitudes, unicode and duplicated column
names, object columns of mixed types), a Model either raises a mixedbayes error or is a
valid model: finite design arrays and a PyMC graph that builds. Never a dependency's
traceback."""

from __future__ import annotations

import keyword
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedbayes as mb

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RESERVED = {"C", "I", "Q", "np", "offset", "trials", "cbind", "center", "scale", "poly", "b"}
RESERVED |= {"Intercept", "sigma", "obs", "nu", "shape", "phi", "threshold", "chain", "draw"}

names = st.text(st.characters(categories=("Lu", "Ll", "Lo")), min_size=1, max_size=6).filter(
    lambda n: n.isidentifier() and not keyword.iskeyword(n) and n not in RESERVED
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e300, -1e-300, 0.0])
mixed = st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3), st.text(max_size=3), st.none())
groups = st.one_of(st.integers(0, 6), st.sampled_from(["a", "ß", "日本", "b"]))


def column(kind: str, n: int):
    """A strategy for one column of ``n`` values of the given kind."""
    if kind == "float":
        return st.lists(floats, min_size=n, max_size=n)
    if kind == "mixed":
        return st.lists(mixed, min_size=n, max_size=n)
    if kind == "bool":
        return st.lists(st.booleans(), min_size=n, max_size=n)
    return st.lists(groups, min_size=n, max_size=n)


@st.composite
def frames(draw):
    """(data, formula): a random frame and a formula over three of its columns."""
    n = draw(st.integers(1, 12))
    y, x, g = draw(st.lists(names, min_size=3, max_size=3, unique=True))
    kinds = {
        y: draw(st.sampled_from(["float", "float", "mixed", "bool", "group"])),
        x: draw(st.sampled_from(["float", "mixed", "bool", "group"])),
        g: draw(st.sampled_from(["group", "group", "mixed", "float"])),
    }
    data = pd.DataFrame({name: draw(column(kind, n)) for name, kind in kinds.items()})
    if draw(st.booleans()):  # a categorical grouping column with empty categories
        values = [str(v) for v in data[g]]
        data[g] = pd.Categorical(values, categories=sorted(set(values)) + ["unused"])
    if draw(st.booleans()):  # a second column of the same name
        data = pd.concat([data, data[[draw(st.sampled_from([y, x, g]))]]], axis=1)
    family = draw(st.sampled_from(["gaussian", "poisson", "bernoulli"]))
    return data, f"{y} ~ {x} + (1 | {g})", family


@SETTINGS
@given(frames())
def test_any_data_frame_gives_a_model_or_a_mixedbayes_error(case):
    data, formula, family = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = mb.Model(formula, data, family)
        except mb.MixedBayesError:
            return
        design = model.design
        assert design.n_obs >= 1
        for values in (design.y, design.X, *(block.Z for block in design.blocks)):
            assert np.isfinite(np.asarray(values, dtype=float)).all()
        for block in design.blocks:
            assert block.index.min() >= 0 and block.index.max() < block.n_levels
        assert model.pymc_model.free_RVs

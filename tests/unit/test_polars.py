"""Polars (and other dataframe-interchange objects) wherever pandas works."""

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from mixedbayes.design.make import as_frame
from mixedbayes.design.newdata import encode_newdata

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(5)
    n = 48
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["lo", "hi"], size=n),
            "g": [f"s{i}" for i in rng.integers(0, 8, n)],
        }
    )
    return data, pl.from_pandas(data)


def test_a_polars_model_has_the_pandas_design(frames):
    data, polars_data = frames
    ours, theirs = (
        mb.Model("y ~ x + f + (1 | g)", polars_data),
        mb.Model("y ~ x + f + (1 | g)", data),
    )
    np.testing.assert_array_equal(ours.design.X, theirs.design.X)
    np.testing.assert_array_equal(ours.design.y, theirs.design.y)
    assert ours.design.fixed_terms == theirs.design.fixed_terms
    assert ours.design.blocks[0].levels == theirs.design.blocks[0].levels
    assert isinstance(ours.data, pd.DataFrame)


def test_polars_newdata_and_simulation(frames):
    data, polars_data = frames
    model = mb.Model("y ~ x + f + (1 | g)", data)
    new = data.iloc[:5]
    rows = model.design.parts[0]
    a, b = encode_newdata(rows, new), encode_newdata(rows, pl.from_pandas(new))
    np.testing.assert_array_equal(a.X, b.X)
    fixed = {"Intercept": 1, "x": 2}
    given = polars_data[["x", "g"]]
    simulated = mb.simulate(
        "y ~ x + (1 | g)", data=given, fixed=fixed, sd={"g": 0.5}, sigma=1.0, random_seed=1
    )
    assert isinstance(simulated, pd.DataFrame) and len(simulated) == len(data)


def test_the_interchange_protocol_and_bad_input():
    class Interchange:  # any object with __dataframe__, as pandas and polars define it
        def __init__(self, frame):
            self.frame = frame

        def __dataframe__(self, nan_as_null=False, allow_copy=True):
            return self.frame.__dataframe__(nan_as_null, allow_copy)

    frame = pd.DataFrame({"y": [1.0, 2.0], "g": ["a", "b"]})
    pd.testing.assert_frame_equal(as_frame(Interchange(frame)), frame, check_dtype=False)
    with pytest.raises(mb.DataError, match="must be a pandas DataFrame, got list"):
        mb.Model("y ~ 1", [1, 2, 3])

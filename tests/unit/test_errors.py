"""Every user mistake gets a mixedbayes error that names the culprit, before any sampling.

Each case asserts the exact subclass (which is also a ``MixedBayesError`` and a
``ValueError``) and the pieces of text the message must contain: the offending column,
term, family, prior or argument, and the fix where there is one (close matches, valid
lists, positions in the formula). Only the prediction cases build a PyMC model (to draw a
stand-in posterior from the priors); nothing here runs a sampler.
"""

from __future__ import annotations

import importlib
import re
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import mixedbayes as mb
from mixedbayes import DataError, FamilyError, FormulaError, PriorError, SamplingError
from mixedbayes.formula import parse_formula

model_module = importlib.import_module("mixedbayes.model")

N = 40


def expect(info, cls, *needles):
    """The raised error is exactly ``cls``, a MixedBayesError, and mentions every needle."""
    error = info.value
    assert type(error) is cls, f"expected {cls.__name__}, got {type(error).__name__}: {error}"
    assert isinstance(error, mb.MixedBayesError) and isinstance(error, ValueError)
    message = str(error)
    for needle in needles:
        assert needle in message, f"{needle!r} is not in the message:\n{message}"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "score": rng.normal(5, 2, size=N),
            "occasion": np.tile(np.arange(4.0), N // 4),
            "x": rng.normal(size=N),
            "sex": rng.choice(["female", "male"], size=N),
            "student": np.repeat([f"s{i}" for i in range(10)], 4),
            "school": np.repeat(["north", "south"], N // 2),
            "count": rng.poisson(3, size=N),
            "n": np.full(N, 10),
            "exposure": rng.uniform(1, 2, size=N),
            "label": rng.choice(["low", "mid", "high"], size=N),
            "prop": rng.uniform(0.1, 0.9, size=N),
        }
    )


def model(data, formula="score ~ occasion + (1 + occasion | student)", **kwargs):
    """mb.Model with warnings silenced (the warning cases are tested on their own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mb.Model(formula, data, **kwargs)


def test_every_error_class_is_a_mixedbayes_value_error():
    for cls in (FormulaError, DataError, PriorError, FamilyError, SamplingError):
        assert issubclass(cls, mb.MixedBayesError) and issubclass(cls, ValueError)


# ---------------------------------------------------------------------------------------
# formula syntax: FormulaError from parse_formula and from Model, with the position
# ---------------------------------------------------------------------------------------

FORMULA_SYNTAX = [
    ("score occasion + (1 | student)", ["no '~'", "'response ~ predictors'"]),
    ("score ~ occasion ~ x", ["more than one '~'", "position 17"]),
    ("~ occasion", ["no response"]),
    ("score ~ ", ["nothing on the right"]),
    # unbalanced brackets: the message points at the bracket
    ("score ~ (1 + occasion | student", ["'(' is never closed", "position 8", "\n          ^"]),
    ("score ~ occasion) + (1 | student)", ["unmatched ')'", "position 16"]),
    ("score ~ occasion + (1 | student]", ["']' closes '('", "position 31"]),
    ("score ~ `occasion + (1 | student)", ["'`' is never closed", "position 8"]),
    # operators that lme4 formulas do not have (%in% is nesting and allowed, see below)
    ("score ~ occasion $ x", ["Unknown operator '$'", "'occasion $ x'", "position 17"]),
    ("score ~ occasion & x", ["Unknown operator '&'", "position 17"]),
    ("score ~ occasion == x", ["Unknown operator '='", "position 17"]),
    ("score ~ occasion; x", ["Unknown operator ';'", "position 16"]),
    ("score ~ occasion %% x", ["'occasion %% x'", "position 20"]),
    ("score ~ occasion ++ x", ["empty term before '+'", "position 18"]),
    ("score ~ occasion +", ["ends with an operator", "position 17"]),
    ("score ~ occasion x", ["Missing operator between `occasion` and `x`", "position 8"]),
    ("score ~ 'occasion'", ["String literals", "position 8"]),
    ("score ~ .", ["'.' (all other columns) is not supported"]),
    # bar terms
    ("score ~ occasion + (1 ||| student)", ["(1 ||| student)", "more than one '|'"]),
    ("score ~ occasion + (1 | 2 | school)", ["takes an ID", "(1 |p| g)", "got '2'"]),
    ("score ~ occasion + ( | student)", ["( | student)", "nothing left of the bar"]),
    ("score ~ occasion + (1 | )", ["(1 | )", "names no grouping factor"]),
    ("score ~ occasion + (1 || )", ["(1 || )", "names no grouping factor"]),
    ("score ~ occasion + (0 | student)", ["(0 | student)", "has no effects"]),
    ("score ~ occasion + 1 | student", ["needs parentheses", "(1 | student)"]),
    ("score ~ occasion - (1 | student)", ["cannot subtract", "(1 | student)"]),
    ("score ~ (1 | student) (1 | school)", ["joined to the rest by '+'", "position"]),
    ("score ~ (1 + occasion $ x | student)", ["Unknown operator '$'", "position 22"]),
    ("score ~ (1 | student + school)", ["'student + school' is not a column name"]),
    ("score ~ (1 | school/)", ["grouping factor 'school/'"]),
    ("score ~ (1 | 1)", ["'1' is not a column name"]),
    # left-hand side and offsets
    ("score | wieghts(w) ~ x", ["unknown addition term", "weights()"]),
    ("cbind(count) ~ x", ["cbind takes two arguments"]),
    ("score ~ x - offset(exposure)", ["must be + offset(expr)"]),
    ("'score' ~ x", ["String literals", "response", "position 0"]),
]


@pytest.mark.parametrize(("formula", "needles"), FORMULA_SYNTAX)
def test_formula_syntax_errors(formula, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        parse_formula(formula)
    expect(info, FormulaError, *needles)


@pytest.mark.parametrize(("formula", "needles"), FORMULA_SYNTAX[:12])
def test_model_raises_the_parser_error(data, formula, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model(formula, data)
    expect(info, FormulaError, *needles)


def test_position_pointer_is_under_the_culprit():
    formula = "score ~ occasion $ x + (1 | student)"
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    lines = str(info.value).splitlines()
    assert lines[-2].strip() == formula
    assert lines[-1].index("^") - lines[-2].index("s") == formula.index("$")


@pytest.mark.parametrize("formula", [42, None, ["y ~ x"]])
def test_formula_must_be_a_string(formula):
    with pytest.raises(mb.MixedBayesError) as info:
        parse_formula(formula)
    expect(info, FormulaError, "must be a string", type(formula).__name__)


@pytest.mark.parametrize(
    "formula",
    [
        "score ~ x %in% school + (1 | student)",  # nesting operator: valid in lme4 and here
        "score ~ occasion + (1 | school/student)",
        "score ~ I(x ** 2) + np.log(exposure) + C(sex) + (1 | school:student)",
        "score ~ C(sex, levels=[')', 'male']) + (1 | student)",  # brackets inside quotes
        "score ~ occasion\n + (1 || student)",
    ],
)
def test_valid_syntax_is_not_refused(formula):
    parse_formula(formula)


# ---------------------------------------------------------------------------------------
# unknown columns: DataError naming the column and its close matches
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "family", "column", "suggestion"),
    [
        ("score ~ ocasion + (1 | student)", "gaussian", "ocasion", "occasion"),
        ("score ~ occasion + (1 + ocasion | student)", "gaussian", "ocasion", "occasion"),
        ("score ~ occasion + (1 | studnt)", "gaussian", "studnt", "student"),
        ("score ~ occasion + (1 | school/studnt)", "gaussian", "studnt", "student"),
        ("score ~ occasion + (1 | schol:student)", "gaussian", "schol", "school"),
        ("scor ~ occasion + (1 | student)", "gaussian", "scor", "score"),
        ("score ~ np.log(ocasion + 1) + (1 | student)", "gaussian", "ocasion", "occasion"),
        ("count ~ x + offset(np.log(exposur)) + (1 | student)", "poisson", "exposur", "exposure"),
        ("count | trials(nn) ~ x + (1 | student)", "binomial", "nn", "n"),
        ("cbind(count, n - cont) ~ x + (1 | student)", "binomial", "cont", "count"),
    ],
)
def test_unknown_columns_suggest_close_matches(data, formula, family, column, suggestion):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model(formula, data, family=family)
    expect(info, DataError, f"column {column!r}", "not in the data", f"did you mean {suggestion!r}")


def test_unknown_column_without_close_match_lists_the_columns(data):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ zzz + (1 | student)", data)
    expect(info, DataError, "column 'zzz'", "columns: score, occasion")
    assert "did you mean" not in str(info.value)


# ---------------------------------------------------------------------------------------
# response against family: DataError naming the response and the family
# ---------------------------------------------------------------------------------------

BAD_RESPONSES = [
    ("gaussian", ["a", "b", "c", "d"], ["response 'y'", "non-numeric", "'gaussian'"]),
    ("student_t", ["a", "b", "c", "d"], ["response 'y'", "non-numeric", "'student_t'"]),
    ("poisson", ["a", "b", "c", "d"], ["response 'y'", "non-numeric", "'poisson'"]),
    ("gaussian", [1 + 1j, 2, 3, 4], ["response 'y'", "complex"]),
    ("poisson", [-1, 2, 3, 4], ["response 'y'", "counts", "'poisson'", "-1"]),
    ("poisson", [0.5, 2, 3, 4], ["response 'y'", "counts", "0.5"]),
    ("negative_binomial", [1, -2, 3, 4], ["response 'y'", "counts", "'negative_binomial'"]),
    (
        "bernoulli",
        ["a", "b", "c", "a"],
        ["response 'y'", "3 outcomes", "'bernoulli'", "cumulative"],
    ),
    ("bernoulli", [0, 1, 2, 1], ["response 'y'", "0/1", "[0, 1, 2]"]),
    ("beta", [0.2, 1.5, 0.5, 0.3], ["response 'y'", "between 0 and 1", "'beta'", "1.5"]),
    ("beta", [0.0, 0.5, 1.0, 0.3], ["response 'y'", "2 values outside (0, 1)", "transform"]),
    ("gamma", [1.0, 0.0, 2.0, -1.0], ["response 'y'", "positive", "'gamma'", "2 values <= 0"]),
    ("cumulative", ["low", "high", "mid", "low"], ["response 'y'", "ordered pandas Categorical"]),
    ("cumulative", [3, 3, 3, 3], ["response 'y'", "single category"]),
    ("binomial", [0, 1, 1, 0], ["'binomial' needs the number of trials", "y | trials(n)"]),
]


@pytest.mark.parametrize(("family", "values", "needles"), BAD_RESPONSES)
def test_response_checked_against_the_family(family, values, needles):
    frame = pd.DataFrame({"y": values, "x": [0.1, 0.5, 0.9, 0.3], "g": list("abab")})
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("y ~ x + (1 | g)", frame, family=family)
    expect(info, DataError, *needles)


@pytest.mark.parametrize(
    ("formula", "family", "needles"),
    [
        ("y | trials(n) ~ x", "binomial", ["more successes than trials", "row 1: 5 of 3"]),
        ("y | trials(n) ~ x", "poisson", ["gives trials", "only family 'binomial'"]),
        ("cbind(y, f) ~ x", "binomial", ["failures 'f'", "whole numbers >= 0", "-1"]),
    ],
)
def test_binomial_responses(formula, family, needles):
    frame = pd.DataFrame({"y": [1, 5, 2], "n": [3, 3, 3], "f": [1, 1, -1], "x": [0.1, 0.5, 0.9]})
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model(formula, frame, family=family)
    expect(info, DataError, *needles)


# ---------------------------------------------------------------------------------------
# the data themselves
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda d: d.to_dict("list"), ["got dict", "pd.DataFrame(data)"]),
        (lambda d: d.to_numpy(), ["got ndarray", "no column names", "columns=[...]"]),
        (lambda d: d.values.tolist(), ["got list", "no column names"]),
        (lambda d: None, ["got NoneType"]),
        (lambda d: d["score"], ["got Series", "to_frame()"]),
    ],
    ids=["dict", "ndarray", "list", "None", "Series"],
)
def test_data_must_be_a_dataframe(data, make, needles):
    # Decision: DataFrames only, as lme4 users pass data frames; a dict of columns is not
    # converted silently (its dtypes would be guessed), the message says how to convert it.
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ occasion + (1 | student)", make(data))
    expect(info, DataError, "data must be a pandas DataFrame", *needles)


def test_empty_data(data):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ occasion + (1 | student)", data.iloc[:0])
    expect(info, DataError, "data has no rows")


def test_data_empty_after_dropping_missing_values(data):
    holey = data.assign(
        occasion=np.where(np.arange(N) < N // 2, np.nan, data["occasion"]),
        score=np.where(np.arange(N) >= N // 2, np.nan, data["score"]),
    )
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ occasion + (1 | student)", holey)
    expect(info, DataError, "every row has a missing value", "'score': 20", "'occasion': 20")


def test_missing_values_are_an_error_with_dropna_false(data):
    holey = data.assign(x=np.where(np.arange(N) < 3, np.nan, data["x"]))
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ x + (1 | student)", holey, dropna=False)
    expect(info, DataError, "3 of 40 rows have missing values", "'x': 3", "dropna=True")


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize(
    ("formula", "family", "column", "needles"),
    [
        ("score ~ x + (1 | student)", "gaussian", "x", ["column 'x'", "1 infinite"]),
        ("score ~ np.log(count) + (1 | student)", "gaussian", "count", ["'np.log(count)'"]),
        ("score ~ 1 + (1 + x | student)", "gaussian", "x", ["random term", "column 'x'"]),
        ("score ~ x + (1 | student)", "gaussian", "score", ["response 'score'", "1 infinite"]),
        ("count ~ x + (1 | student)", "poisson", "count", ["response 'count'", "1 infinite"]),
        ("count ~ x + (1 | student)", "cumulative", "count", ["response 'count'", "infinite"]),
    ],
)
def test_infinite_values_name_the_column(data, formula, family, column, needles):
    bad = data.copy()
    if column == "count":
        bad["count"] = bad["count"].astype(float)
        bad.loc[bad.index[:2], "count"] = [0.0, 1.0] if "log" in formula else [np.inf, 1.0]
    else:
        bad.loc[bad.index[0], column] = -np.inf if column == "score" else np.inf
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model(formula, bad, family=family)
    expect(info, DataError, *needles)


# ---------------------------------------------------------------------------------------
# families and links
# ---------------------------------------------------------------------------------------

ALL_FAMILIES = "gaussian, student_t, bernoulli, binomial, poisson, negative_binomial"


@pytest.mark.parametrize(
    ("family", "needles"),
    [
        ("gausian", ["'gausian'", "did you mean 'gaussian'?", ALL_FAMILIES]),
        ("poison", ["'poison'", "did you mean 'poisson'?", ALL_FAMILIES]),
        ("negbinom", ["did you mean 'negative_binomial'?"]),
        ("frechet", ["unknown family 'frechet'", ALL_FAMILIES]),
        (None, ["unknown family None", ALL_FAMILIES]),
    ],
)
def test_unknown_family_lists_the_valid_ones(data, family, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ occasion + (1 | student)", data, family=family)
    expect(info, FamilyError, *needles)


@pytest.mark.parametrize(
    ("family", "link", "needles"),
    [
        ("poisson", "logit", ["'poisson' has no link 'logit'", "['log']", "bernoulli"]),
        ("bernoulli", "lgit", ["no link 'lgit'", "['logit', 'probit', 'cloglog']"]),
        ("gaussian", "log", ["'gaussian' has no link 'log'", "['identity']"]),
        ("cumulative", "cloglog", ["no link 'cloglog'", "['logit', 'probit']"]),
    ],
)
def test_unknown_link_lists_the_family_links(data, family, link, needles):
    frame = data.assign(y=(data["x"] > 0).astype(int))
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("y ~ occasion + (1 | student)", frame, family=family, link=link)
    expect(info, FamilyError, *needles)


# ---------------------------------------------------------------------------------------
# priors
# ---------------------------------------------------------------------------------------

HN = mb.Prior("HalfNormal", sigma=1)
NORMAL = mb.Prior("Normal", mu=0, sigma=1)
CLASSES = "['Intercept', 'b', 'cor', 'sd', 'sigma']"


@pytest.mark.parametrize(
    ("priors", "needles"),
    [
        ({"slope": NORMAL}, ["prior key 'slope'", "unknown class 'slope'", CLASSES]),
        ({"sds": HN}, ["unknown class 'sds'", "did you mean 'sd'?"]),
        ({("b", "ocasion"): NORMAL}, ["no coefficient 'ocasion'", "candidates are ['occasion']"]),
        ({("sd", "studnt"): HN}, ["no grouping factor 'studnt'", "['student']"]),
        ({("sd", "student", "x"): HN}, ["no coefficient 'x'", "['Intercept', 'occasion']"]),
        ({("cor", "school"): mb.Prior("LKJ", eta=2)}, ["no grouping factor 'school'"]),
        ({("sigma", "student"): HN}, ["('sigma', 'student')", "cannot be narrowed"]),
        ({("b", "occasion", "x"): NORMAL}, ["class 'b' takes at most a coefficient"]),
        ({3: NORMAL}, ["prior key 3", "class name or a tuple"]),
        ({"b": ("Normal", 0, 1)}, ["prior for 'b'", "must be a mb.Prior", "tuple"]),
        ({"sd": NORMAL}, ["prior for 'sd'", "allows negative values", "HalfNormal"]),
        ({"sigma": mb.Prior("StudentT", nu=3, mu=0, sigma=1)}, ["'sigma'", "negative values"]),
        ({"sd": mb.Prior("Uniform", lower=-1, upper=1)}, ["'sd'", "negative values"]),
        (
            {"b": mb.Prior("LKJ", eta=1)},
            ["prior for 'b'", "LKJ prior only applies to the classes 'cor'"],
        ),
        ({"cor": HN}, ["prior for 'cor'", "Prior('LKJ', eta=...)"]),
    ],
)
def test_bad_prior_keys_and_supports(data, priors, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model("score ~ occasion + (1 + occasion | student)", data, priors=priors)
    expect(info, PriorError, *needles)


@pytest.mark.parametrize(
    ("family", "formula", "priors", "needles"),
    [
        ("poisson", "count ~ x + (1 | student)", {"sigma": HN}, ["unknown class 'sigma'"]),
        ("gaussian", "score ~ 0 + x + (1 | student)", {"Intercept": NORMAL}, ["'Intercept'"]),
        ("gaussian", "score ~ x + (1 | student)", {"cor": mb.Prior("LKJ", eta=2)}, ["'cor'"]),
    ],
)
def test_prior_for_a_class_this_model_lacks(data, family, formula, priors, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Model(formula, data, family=family, priors=priors)
    expect(info, PriorError, "unknown class", *needles)


@pytest.mark.parametrize(
    ("args", "kwargs", "needles"),
    [
        (("Normall",), {"mu": 0, "sigma": 1}, ["'Normall'", "did you mean 'Normal'?"]),
        (("halfnormal",), {"sigma": 1}, ["did you mean 'HalfNormal'?", "case-sensitive"]),
        (("Beta",), {"alpha": 1, "beta": 1}, ["unknown prior distribution 'Beta'", "HalfNormal"]),
        ((3,), {}, ["unknown prior distribution 3"]),
        (("Normal",), {"mu": 0, "sigma": -1}, ["'sigma' of Normal prior must be positive", "-1"]),
        (("HalfNormal",), {"sigma": 0}, ["'sigma' of HalfNormal", "positive"]),
        (("StudentT",), {"nu": -3, "mu": 0, "sigma": 1}, ["'nu' of StudentT", "positive"]),
        (("Exponential",), {"lam": -2}, ["'lam' of Exponential", "positive"]),
        (("Gamma",), {"alpha": 2, "beta": -0.1}, ["'beta' of Gamma", "positive"]),
        (("Normal",), {"mu": np.nan, "sigma": 1}, ["'mu' of Normal prior must be finite"]),
        (("Normal",), {"mu": 0, "sigma": np.inf}, ["'sigma'", "finite"]),
        (("Uniform",), {"lower": 2, "upper": 1}, ["lower < upper", "lower=2, upper=1"]),
        (("Normal",), {"mu": 0, "sd": 1}, ["no parameter 'sd'", "mu, sigma, tau"]),
        (("HalfNormal",), {"sigmaa": 1}, ["no parameter 'sigmaa'", "did you mean 'sigma'?"]),
        (("Normal",), {"mu": "zero", "sigma": 1}, ["'mu' of Normal", "must be a number"]),
        (("LKJ",), {"eta": -1}, ["LKJ prior takes one positive parameter eta", "-1"]),
        (("LKJ",), {"eta": 1, "n": 2}, ["LKJ prior takes one positive parameter eta"]),
    ],
)
def test_bad_prior_distributions_and_parameters(args, kwargs, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        mb.Prior(*args, **kwargs)
    expect(info, PriorError, *needles)


# ---------------------------------------------------------------------------------------
# sampler arguments: checked in fit() before the PyMC model is built or anything sampled
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"draws": 0}, ["draws must be an integer >= 1", "got 0"]),
        ({"draws": -5}, ["draws", "got -5"]),
        ({"draws": 10.5}, ["draws must be an integer", "10.5"]),
        ({"draws": 100.0}, ["draws must be an integer", "100.0"]),
        ({"draws": "100"}, ["draws", "'100'"]),
        ({"draws": True}, ["draws", "True"]),
        ({"tune": -1}, ["tune must be an integer >= 0", "-1"]),
        ({"chains": 0}, ["chains must be an integer >= 1", "got 0"]),
        ({"chains": 2.0}, ["chains must be an integer", "2.0"]),
        ({"sampler": "nuts"}, ["unknown sampler 'nuts'", "did you mean 'auto'?", "pymc, nutpie"]),
        ({"sampler": "Nutpie"}, ["unknown sampler 'Nutpie'", "did you mean 'nutpie'?"]),
        ({"sampler": None}, ["unknown sampler None", "auto, pymc, nutpie, numpyro, blackjax"]),
        ({"target_accept": 1.0}, ["target_accept", "between 0 and 1", "1.0"]),
        ({"target_accept": 0}, ["target_accept", "got 0"]),
        ({"target_accept": 1.5}, ["target_accept", "1.5"]),
        ({"target_accept": np.nan}, ["target_accept", "nan"]),
        ({"target_accept": "0.9"}, ["target_accept must be a number", "'0.9'"]),
        ({"cores": 0}, ["cores must be an integer >= 1", "got 0"]),
        ({"random_seed": "abc"}, ["random_seed", "'abc'"]),
        ({"random_seed": -1}, ["random_seed", "integer >= 0", "-1"]),
    ],
)
def test_bad_sampler_arguments_fail_before_any_pytensor_work(data, monkeypatch, kwargs, needles):
    fitted = model(data)

    def never(*args, **kwargs):
        raise AssertionError("the arguments must be checked before this is called")

    monkeypatch.setattr(model_module, "build_model", never)
    monkeypatch.setattr(pm, "sample", never)
    with pytest.raises(mb.MixedBayesError) as info:
        fitted.fit(**{"draws": 10, "tune": 10, "chains": 1, "progressbar": False, **kwargs})
    expect(info, SamplingError, *needles)
    assert fitted._pymc_model is None


# ---------------------------------------------------------------------------------------
# prediction on a stand-in posterior (prior draws): bad newdata names the column
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit(data):
    fitted = model(data, "score ~ x + sex + (1 + x | student) + (1 | school)")
    with fitted.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=50, random_seed=1).prior
    return mb.Fit(fitted, az.InferenceData(posterior=prior))


@pytest.fixture
def newdata(data):
    return data[["x", "sex", "student", "school"]].iloc[:4].copy()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda d: d.drop(columns="x"), ["newdata has no column 'x'"]),
        (lambda d: d.drop(columns="sex"), ["newdata has no column 'sex'"]),
        (lambda d: d.drop(columns="student"), ["newdata has no column 'student'"]),
        (lambda d: d.assign(x=np.nan), ["newdata column 'x' has 4 missing values"]),
        (lambda d: d.assign(x=np.inf), ["newdata column 'x' has 4 infinite values"]),
        (lambda d: d.assign(x="a"), ["column 'x' was numeric"]),
        (lambda d: d.assign(sex="other"), ["{'other'}", "'sex'", "not fitted with"]),
        (lambda d: d.iloc[:0], ["newdata has no rows"]),
        (lambda d: d.to_dict("list"), ["newdata must be a pandas DataFrame", "got dict"]),
    ],
)
def test_bad_newdata_names_the_column(fit, newdata, change, needles):
    with pytest.raises(mb.MixedBayesError) as info:
        fit.predict(change(newdata))
    expect(info, DataError, *needles)


def test_population_predictions_need_no_grouping_columns(fit, newdata):
    table = fit.predict(newdata.drop(columns=["student", "school"]), include_random=False)
    assert len(table) == 4


def test_unseen_level_with_new_groups_error_names_factor_and_level(fit, newdata):
    with pytest.raises(mb.MixedBayesError) as info:
        fit.predict(newdata.assign(school=["north", "east", "east", "west"]), new_groups="error")
    expect(info, DataError, "grouping factor 'school'", "'east', 'west'", "new_groups='sample'")


def test_a_failed_encoding_leaves_the_model_intact(fit, newdata):
    before = fit.predict(newdata, kind="link", draws=True)
    with pytest.raises(DataError):
        fit.predict(newdata.assign(x="a"))  # formulaic re-encodes its spec as it fails
    np.testing.assert_array_equal(fit.predict(newdata, kind="link", draws=True), before)


# ---------------------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------------------


def test_dropped_rows_are_counted(data):
    holey = data.assign(x=np.where(np.arange(N) < 3, np.nan, data["x"]))
    holey.loc[5, "student"] = None
    with pytest.warns(UserWarning, match=re.escape("dropped 4 of 40 rows with missing values")):
        mb.Model("score ~ x + (1 | student)", holey)
    with pytest.warns(UserWarning, match=r"'x': 3, 'student': 1"):
        mb.Model("score ~ x + (1 | student)", holey)


def test_single_level_grouping_factor(data):
    with pytest.warns(UserWarning, match="grouping factor 'school' has a single level"):
        mb.Model("score ~ x + (1 | school)", data.assign(school="north"))


def test_grouping_factor_with_as_many_levels_as_rows(data):
    with pytest.warns(UserWarning) as caught:
        mb.Model("score ~ x + (1 | row)", data.assign(row=np.arange(N)))
    messages = [str(w.message) for w in caught]
    assert any("grouping factor 'row' has as many levels as rows (40)" in m for m in messages)
    assert any("40 random effects (40 x 1 (row)) for 40 observations" in m for m in messages)


def test_more_random_effects_than_observations(data):
    small = data.iloc[:12]  # 3 students x 4 occasions, 3 x 3 = 9 effects: fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mb.Model("score ~ occasion + (1 + occasion + I(occasion**2) | student)", small)
    with pytest.warns(UserWarning, match=r"16 random effects \(4 x 4 \(student\)\) for 12"):
        mb.Model(
            "score ~ occasion + (1 + occasion + I(occasion**2) + x | student)",
            small.assign(student=np.repeat(["a", "b", "c", "d"], 3)),
        )


@pytest.mark.parametrize("name", ["b", "sigma", "Intercept"])
def test_grouping_factor_named_like_a_parameter_is_refused(name):
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": [0.0, 1.0, 0.0, 1.0], name: list("aabb")})
    with pytest.raises(DataError, match=f"grouping factor '{name}'.*rename"):
        mb.Model(f"y ~ x + (1 | {name})", data)

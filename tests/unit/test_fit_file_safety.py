"""A fit file is data: loading it never runs code, and a broken file is a named error.

Attack formulas are written into a saved file's model spec as an attacker would edit it;
each would create a marker file if evaluated as Python with the caller's namespace (this
module imports os, pandas and numpy, as almost every session does). Loading, and the CLI's
summary, must raise a mixedbayes error and leave no marker.
"""

from __future__ import annotations

import json
import os  # noqa: F401 (the attacks reach for it through the caller's namespace)
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from mixedbayes import cli
from mixedbayes.formula import parse_formula
from mixedbayes.formula.safety import check_formula

HONEST = "np.log(y) ~ center(x) + scale(z) + C(f) + I(x ** 2) + np.sqrt(w) + (1 + x | g)"

# each {m} is the marker path; every entry would write it when evaluated as Python
ATTACKS = [
    "y ~ x + I(os.makedirs('{m}') or 0)",  # a module of the caller's namespace
    "y ~ x + I(__import__('pathlib').Path('{m}').touch() or 0)",  # import through a builtin
    "y ~ x + I(os.system('touch {m}') * 0)",  # a module of the caller's namespace
    "y ~ x + I(open('{m}', 'w').close() or 0)",  # builtins
    "y ~ x + I(pd.DataFrame({{'a': [1]}}).to_csv('{m}') or 0)",  # pandas writer
    "y ~ x + I(np.savetxt('{m}', [1.0]) or 0)",  # numpy writer
    "y ~ x + I(x.to_csv('{m}') or 0)",  # attribute chain on a column
    "y ~ x + I(x.__class__.__init__.__globals__['__builtins__']['open']('{m}', 'w'))",
    "y ~ x + I((lambda: open('{m}', 'w'))())",  # lambda
    "y ~ x + I([open('{m}', 'w') for _ in [0]])",  # comprehension
    "y ~ x + I(eval(\"open('{m}', 'w')\"))",  # eval of a string
    "y ~ x + I(getattr(os, 'system')('touch {m}'))",  # getattr
    "y ~ x + {{open('{m}', 'w')}}",  # formulaic's Python braces
    "np.log(y) + 0 * pd.read_csv('{m}').size ~ x",  # pandas reader in the response
    "y ~ x + offset(os.system('touch {m}') * 0)",  # offset
    "y ~ x + (1 + I(os.system('touch {m}')) | g)",  # random part
    "y ~ x + I(np.lib.npyio.savetxt('{m}', [1.0]) or 0)",  # deeper numpy attribute
    "y | weights(os.makedirs('{m}') or 1) ~ x",  # an addition term of the response
    "y | trunc(ub = os.makedirs('{m}') or 99) ~ x",  # a truncation bound
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame(
        {
            "y": np.exp(rng.normal(size=n)),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "w": rng.uniform(1, 2, size=n),
            "f": rng.choice(["a", "b", "c"], size=n),
            "g": rng.choice(list("ABCDEF"), size=n),
        }
    )


def fake_fit(model, draws=50):
    """Prior draws as a stand-in posterior, with the observed data as a real fit has."""
    prior = model.prior_predictive(draws=draws, random_seed=1)
    return mb.Fit(model, az.InferenceData(posterior=prior.prior, observed_data=prior.observed_data))


@pytest.fixture(scope="module")
def honest_file(data, tmp_path_factory):
    fit = fake_fit(mb.Model(HONEST, data))
    path = tmp_path_factory.mktemp("fits") / "honest.nc"
    fit.save(path)
    return fit, path


def edited(path, target, *, spec=None, posterior=None, constant=None):
    """A copy of the fit file at ``path`` written to ``target`` with its parts edited."""
    idata = az.from_netcdf(str(path))
    idata.load()
    attrs = dict(idata.constant_data.attrs)
    stored = json.loads(attrs["mixedbayes_spec"])
    if spec is not None:
        stored = spec(stored)
    idata.constant_data.attrs["mixedbayes_spec"] = (
        stored if isinstance(stored, str) else json.dumps(stored)
    )
    if posterior is not None:
        idata.posterior = posterior(idata.posterior)
    if constant is not None:
        idata.constant_data = constant(idata.constant_data)
    idata.to_netcdf(str(target))
    return target


def test_honest_file_loads_and_predicts_identically(honest_file, data):
    fit, path = honest_file
    loaded = mb.load(path)  # np.log, center, scale, C, I, np.sqrt: the safe language
    new = data.head(7).assign(g=["A", "B", "new", "C", "D", "E", "F"])
    pd.testing.assert_frame_equal(
        loaded.predict(new, random_seed=2), fit.predict(new, random_seed=2)
    )
    pd.testing.assert_frame_equal(loaded.fixef(), fit.fixef())
    np.testing.assert_array_equal(loaded.model.design.X, fit.model.design.X)


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_formula_in_a_file_runs_nothing(attack, honest_file, tmp_path, capsys):
    marker = tmp_path / "marker"
    formula = attack.format(m=marker)
    path = edited(honest_file[1], tmp_path / "attack.nc", spec=lambda s: {**s, "formula": formula})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(mb.MixedBayesError):
            mb.load(path)
        assert not marker.exists()
        assert cli.main(["summary", str(path)]) == 2
    assert "mixedbayes: error:" in capsys.readouterr().err
    assert not marker.exists()


def test_the_attacks_are_real_when_trusted(honest_file, tmp_path):
    """The first attack does run when the file is trusted: the tests above can fail."""
    marker = tmp_path / "marker"
    path = edited(
        honest_file[1],
        tmp_path / "attack.nc",
        spec=lambda s: {**s, "formula": ATTACKS[0].format(m=marker)},
    )
    with warnings.catch_warnings(), pytest.raises(mb.MixedBayesError):
        warnings.simplefilter("ignore")
        mb.load(path, trusted=True)  # the formula runs, then its column of zeros is refused
    assert marker.exists()


def test_unsafe_error_says_how_to_load_anyway(honest_file, tmp_path):
    path = edited(honest_file[1], tmp_path / "f.nc", spec=lambda s: {**s, "formula": "y ~ mine(x)"})
    with pytest.raises(mb.UnsafeFormulaError, match=r"a call of 'mine'.*context=.*trusted=True"):
        mb.load(path)


@pytest.mark.parametrize(
    "entry",
    [
        {"key": "b", "dist": "__import__", "params": {}},
        {"key": "b", "dist": "Normal", "params": {"mu": "os.system('x')"}},
        {"key": {"a": 1}, "dist": "Normal", "params": {}},
        {"dist": "Normal"},
    ],
)
def test_attack_priors_are_refused(entry, honest_file, tmp_path):
    path = edited(honest_file[1], tmp_path / "p.nc", spec=lambda s: {**s, "priors": [entry]})
    with pytest.raises(mb.FitFileError, match="stored prior"):
        mb.load(path)


def test_a_column_named_like_a_module_is_still_data(honest_file, tmp_path):
    marker = tmp_path / "marker"
    path = edited(
        honest_file[1],
        tmp_path / "c.nc",
        spec=lambda s: {**s, "formula": f"y ~ I(os.system('touch {marker}')) + x"},
        constant=lambda c: c.assign(os=c["x"]),
    )
    with pytest.raises(mb.UnsafeFormulaError, match="attribute os.system"):
        mb.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"spec": lambda s: {**s, "format": "mixedbayes-fit-0"}}, "fit format"),
        ({"spec": lambda s: "{not json"}, "not valid JSON"),
        ({"spec": lambda s: {k: v for k, v in s.items() if k != "family"}}, "no 'family'"),
        ({"spec": lambda s: {**s, "n_dropped": "3"}}, "'n_dropped'.*wrong type"),
        ({"spec": lambda s: {**s, "family": "gaussian2"}}, "cannot be rebuilt"),
        ({"posterior": lambda p: p.drop_vars("sd_g")}, "lacks.*sd_g"),
        (
            {"posterior": lambda p: p.isel(fixed_term=slice(0, 2))},
            "dimension 'fixed_term'",
        ),
        ({"constant": lambda c: c.isel(row=slice(0, 30))}, "dimension 'obs'"),
        ({"constant": lambda c: c.drop_vars("z")}, "cannot be rebuilt.*'z'"),
    ],
)
def test_inconsistent_files_get_a_named_error(edit, message, honest_file, tmp_path):
    path = edited(honest_file[1], tmp_path / "e.nc", **edit)
    with pytest.raises(mb.FitFileError, match=message):
        mb.load(path)


def test_unreadable_files_get_a_named_error(honest_file, tmp_path):
    content = honest_file[1].read_bytes()
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(content[: len(content) // 2])
    text = tmp_path / "text.nc"
    text.write_text("gpa ~ occasion\n")
    for path in (truncated, text):
        with pytest.raises(mb.FitFileError, match="cannot be read as a fit file"):
            mb.load(path)
    with pytest.raises(mb.FitFileError, match="no such fit file"):
        mb.load(tmp_path / "missing.nc")
    plain = tmp_path / "plain.nc"
    az.InferenceData(posterior=az.from_netcdf(str(honest_file[1])).posterior).to_netcdf(str(plain))
    with pytest.raises(mb.FitFileError, match="not a mixedbayes fit"):
        mb.load(plain)


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_leaves_the_earlier_file(failure, honest_file, tmp_path, monkeypatch):
    fit, _ = honest_file
    path = tmp_path / "fit.nc"
    fit.save(path)
    before = path.read_bytes()

    def half_written(self, filename, *args, **kwargs):
        with open(filename, "wb") as handle:
            handle.write(before[: len(before) // 3])
        raise failure

    monkeypatch.setattr(az.InferenceData, "to_netcdf", half_written)
    with pytest.raises(type(failure)):
        fit.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]  # no temporary left
    pd.testing.assert_frame_equal(mb.load(path).fixef(), fit.fixef())


def test_model_safe_mode(data, tmp_path):
    marker = tmp_path / "marker"
    attack = f"y ~ x + I(__import__('pathlib').Path('{marker}').touch() or 0)"
    for options in ({"safe": True}, {"context": {}}):
        with pytest.raises(mb.UnsafeFormulaError):
            mb.Model(attack, data, **options)
    assert not marker.exists()
    safe = mb.Model(HONEST, data, safe=True)
    free = mb.Model(HONEST, data)
    np.testing.assert_array_equal(safe.design.X, free.design.X)
    assert safe.design.fixed_terms == free.design.fixed_terms
    # names given in context may be called, and attributes below them read
    model = mb.Model("y ~ double(x)", data, context={"double": lambda v: 2 * v})
    np.testing.assert_allclose(model.design.X[:, 1], 2 * data["x"])
    with pytest.raises(mb.UnsafeFormulaError, match="attribute np.load"):
        mb.Model("y ~ np.load(x)", data, context={"np": np})  # np stays the safe numpy


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + I(x > 0) + I(x ** -0.5) + I(2 ** x) + np.clip(x, -1, 1)",
        "y ~ C(f, contr.treatment('b')) + C(f, levels=['c', 'b', 'a']) + poly(x, 2)",
        "y | trials(n) ~ bs(x, df=3) + offset(np.log(w)) + np.pi * x",
        "cbind(s, n - s) ~ abs(x) + (1 | g) + (0 + x || g)",
    ],
)
def test_safe_language_accepts_what_formulas_use(formula):
    check_formula(parse_formula(formula), ["y", "x", "f", "n", "s", "w", "g"])


@pytest.mark.parametrize(
    ("formula", "construct"),
    [
        ("y ~ I(9 ** 9 ** 9)", "a power"),
        ("y ~ I((2 ** 1000) ** 1000)", "a power of a computed number"),
        ("y ~ I(x * ('a' * 10))", "constant 'a'"),
        ("y ~ I(x if x else 0)", "conditional"),
        ("y ~ I(np)", "'np' on its own"),
        ("y ~ I(x and x)", "'and'/'or'"),
        ("y ~ I(__builtins__)", "'__builtins__'"),
        ("y ~ I(C(**{'a': x}))", "keyword unpacking"),
        ("y ~ C(x, exec)", "the builtin 'exec'"),
    ],
)
def test_safe_language_refuses_with_the_construct(formula, construct):
    with pytest.raises(mb.UnsafeFormulaError, match=construct.replace("(", r"\(")):
        check_formula(parse_formula(formula), ["y", "x"])

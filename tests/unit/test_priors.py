"""Default priors scaled to the data, user overrides, and their errors."""

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from mixedbayes import Prior, PriorError
from mixedbayes.design import make_design
from mixedbayes.families import get_family
from mixedbayes.priors import make_priors


@pytest.fixture
def design():
    rng = np.random.default_rng(1)
    n = 40
    data = pd.DataFrame(
        {
            "y": rng.normal(10, 3, size=n),
            "x": rng.normal(0, 4, size=n),
            "z": rng.normal(0, 0.5, size=n),
            "g": np.repeat(list("abcd"), 10),
        }
    )
    return make_design("y ~ x + z + (1 + x | g)", data)


def priors(design, user=None):
    return make_priors(design, get_family("gaussian"), user)


def test_defaults_scale_with_the_data(design):
    sy = np.std(design.y, ddof=1)
    sx, sz = np.std(design.X[:, 1]), np.std(design.X[:, 2])
    p = priors(design)
    assert p.get("Intercept") == Prior("StudentT", nu=3, mu=np.mean(design.y), sigma=2.5 * sy)
    assert p.get("b", coef="x") == Prior("Normal", mu=0, sigma=2.5 * sy / sx)
    assert p.get("b", coef="z") == Prior("Normal", mu=0, sigma=2.5 * sy / sz)
    assert p.get("sd", "g", "Intercept") == Prior("HalfStudentT", nu=3, sigma=2.5 * sy)
    assert p.get("sd", "g", "x") == Prior("HalfStudentT", nu=3, sigma=2.5 * sy / sx)
    assert p.get("cor", "g") == Prior("LKJ", eta=1)
    assert p.get("sigma") == Prior("HalfStudentT", nu=3, sigma=2.5 * sy)
    assert set(p.table()["source"]) == {"default"}


def test_most_specific_key_wins_whatever_the_order(design):
    wide, narrow = Prior("Normal", mu=0, sigma=10), Prior("Normal", mu=1, sigma=0.1)
    for user in ({("b", "x"): narrow, "b": wide}, {"b": wide, ("b", "x"): narrow}):
        p = priors(design, user)
        assert p.get("b", coef="x") == narrow
        assert p.get("b", coef="z") == wide


def test_sd_priors_narrow_by_group_and_coef(design):
    a, b, c = (Prior("HalfNormal", sigma=s) for s in (1, 2, 3))
    p = priors(design, {("sd", "g", "x"): c, "sd": a, ("sd", "g"): b})
    assert p.get("sd", "g", "Intercept") == b
    assert p.get("sd", "g", "x") == c
    table = p.table().set_index(["class", "coef"])
    assert table.loc[("sd", "x"), "source"] == "user ('sd', 'g', 'x')"


def test_cor_and_sigma_overrides(design):
    p = priors(design, {"cor": Prior("LKJ", eta=2), "sigma": Prior("Exponential", lam=1)})
    assert p.get("cor", "g") == Prior("LKJ", eta=2)
    assert p.get("sigma") == Prior("Exponential", lam=1)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"bb": Prior("Normal")}, "unknown class 'bb' \\(did you mean 'b'\\?\\)"),
        ({("sd", "school"): Prior("HalfNormal")}, "no grouping factor 'school'"),
        ({("b", "w"): Prior("Normal")}, "no coefficient 'w'; candidates are \\['x', 'z'\\]"),
        ({"b": "normal(0, 1)"}, "must be a mb.Prior"),
        ({"sd": Prior("Normal", sigma=1)}, "allows negative values"),
        ({"b": Prior("LKJ", eta=2)}, "only applies to the classes 'cor'"),
        ({"cor": Prior("HalfNormal")}, "must be Prior\\('LKJ'"),
        ({("sigma", "g"): Prior("HalfNormal")}, "cannot be narrowed"),
    ],
)
def test_bad_priors_name_the_key(design, user, message):
    with pytest.raises(PriorError, match=message):
        priors(design, user)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("Normall",), {}, "unknown prior distribution 'Normall'"),
        (("Normal",), {"scale": 1}, "invalid parameters for Normal"),
        (("Normal",), {"sigma": "wide"}, "'sigma' of Normal prior must be a number"),
        (("LKJ",), {"eta": -1}, "one positive parameter eta"),
    ],
)
def test_prior_validation(args, kwargs, message):
    with pytest.raises(PriorError, match=message):
        Prior(*args, **kwargs)


def test_model_shows_its_priors(design):
    data = pd.DataFrame(
        {"y": design.y, "x": design.X[:, 1], "z": design.X[:, 2], "g": np.repeat(list("abcd"), 10)}
    )
    model = mb.Model("y ~ x + (1 | g)", data, priors={"b": Prior("Normal", mu=0, sigma=1)})
    text = repr(model.priors)
    assert "Normal(mu=0, sigma=1)" in text and "user 'b'" in text

"""mb.simulate without sampling: rows, truth, reproducibility, empirical moments, errors."""

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedbayes as mb
from mixedbayes import DataError, FamilyError, FormulaError, simulate
from mixedbayes.families import get_family

SLOPES = dict(
    formula="y ~ x + (1 + x | g)",
    fixed={"Intercept": 1, "x": 0.5},
    sd={"g": {"Intercept": 0.5, "x": 0.2}},
    cor={"g": 0.3},
    sigma=0.25,
)


def ranef(data, group):
    """The drawn random effects of ``group`` as a levels x terms DataFrame."""
    return pd.DataFrame(data.attrs["truth"]["ranef"][group])


def linear_predictor(data):
    """eta of y ~ x + (1 + x | g) recomputed from the truth in attrs."""
    truth, u = data.attrs["truth"], ranef(data, "g")
    level = data["g"].astype(str)
    fixed = truth["fixed"]["Intercept"] + truth["fixed"]["x"] * data["x"]
    return fixed + u.loc[level, "Intercept"].to_numpy() + u.loc[level, "x"].to_numpy() * data["x"]


def test_rows_columns_and_truth():
    data = simulate(groups={"g": 100}, n_per_group=3, random_seed=1, **SLOPES)
    assert data.shape == (300, 3)
    assert set(data.columns) == {"g", "x", "y"}
    assert data["g"].value_counts().eq(3).all() and data["g"].nunique() == 100
    truth = data.attrs["truth"]
    assert data.attrs["formula"] == SLOPES["formula"]
    assert truth["fixed"] == {"Intercept": 1.0, "x": 0.5}
    assert truth["sd"] == {"g": {"Intercept": 0.5, "x": 0.2}}
    assert truth["cor"]["g"]["Intercept"]["x"] == 0.3 == truth["cor"]["g"]["x"]["Intercept"]
    assert truth["sigma"] == 0.25 and truth["family"] == "gaussian"
    assert ranef(data, "g").shape == (100, 2)


def test_same_seed_same_data_other_seed_other_data():
    first = simulate(groups={"g": 20}, random_seed=7, **SLOPES)
    second = simulate(groups={"g": 20}, random_seed=7, **SLOPES)
    other = simulate(groups={"g": 20}, random_seed=8, **SLOPES)
    pd.testing.assert_frame_equal(first, second)
    assert first.attrs["truth"] == second.attrs["truth"]
    assert not np.allclose(first["y"], other["y"])


def test_random_effects_and_residuals_match_the_requested_values():
    data = simulate(groups={"g": 3000}, n_per_group=2, random_seed=2, **SLOPES)
    u = ranef(data, "g")
    # sd of 3000 normal draws: relative SE 1.3%; correlation SE about 0.017
    assert u["Intercept"].std() == pytest.approx(0.5, rel=0.06)
    assert u["x"].std() == pytest.approx(0.2, rel=0.06)
    assert np.corrcoef(u["Intercept"], u["x"])[0, 1] == pytest.approx(0.3, abs=0.07)
    residual = data["y"] - linear_predictor(data)
    assert residual.std() == pytest.approx(0.25, rel=0.05)
    assert abs(residual.mean()) < 0.02


def test_bernoulli_follows_the_inverse_logit():
    data = simulate(
        "y ~ x + (1 + x | g)",
        groups={"g": 500},
        n_per_group=20,
        fixed={"Intercept": -0.5, "x": 1.0},
        sd={"g": {"Intercept": 0.5, "x": 0.2}},
        family="bernoulli",
        random_seed=3,
    )
    assert set(data["y"].unique()) == {0, 1}
    p = special.expit(linear_predictor(data))
    n = len(data)
    # score equations of the true model: mean (y - p) and mean (y - p) x are near 0
    assert abs((data["y"] - p).mean()) < 4 * np.sqrt((p * (1 - p)).mean() / n)
    assert abs(((data["y"] - p) * data["x"]).mean()) < 4 * np.sqrt((p * (1 - p)).mean() / n)
    assert data["y"].mean() == pytest.approx(p.mean(), abs=0.015)


@pytest.mark.parametrize(
    "family, aux, mean, variance",
    [
        ("poisson", {}, lambda mu: mu, lambda mu: mu),
        ("negative_binomial", {"shape": 2.0}, lambda mu: mu, lambda mu: mu + mu**2 / 2),
        ("gamma", {"shape": 4.0}, lambda mu: mu, lambda mu: mu**2 / 4),
        ("student_t", {"sigma": 0.5, "nu": 5.0}, lambda mu: mu, lambda mu: 0.25 * 5 / 3),
        ("beta", {"phi": 10.0}, lambda mu: mu, lambda mu: mu * (1 - mu) / 11),
    ],
)
def test_families_have_their_mean_and_variance(family, aux, mean, variance):
    data = simulate(
        "y ~ 1", n_per_group=40000, fixed={"Intercept": 0.3}, family=family, random_seed=4, **aux
    )
    mu = get_family(family).inverse_link(0.3)
    assert len(data) == 40000
    assert data["y"].mean() == pytest.approx(mean(mu), rel=0.02)
    assert data["y"].var() == pytest.approx(variance(mu), rel=0.08)
    assert {k: v for k, v in data.attrs["truth"].items() if k in aux} == aux


def test_binomial_trials_from_argument_or_column():
    data = simulate(
        "s | trials(n) ~ x + (1 | g)",
        groups={"g": 200},
        n_per_group=5,
        fixed={"x": 0.5},
        sd={"g": 0.5},
        family="binomial",
        trials=12,
        random_seed=5,
    )
    assert (data["n"] == 12).all() and data["s"].between(0, 12).all()
    assert data["s"].mean() / 12 == pytest.approx(0.5, abs=0.03)  # eta centred on 0
    given = pd.DataFrame({"n": np.arange(1, 11), "x": 0.0})
    cbind = simulate(
        "cbind(s, n - s) ~ x", given, fixed={"Intercept": 10.0}, family="binomial", random_seed=6
    )
    np.testing.assert_array_equal(cbind["s"], given["n"])  # p = expit(10): all successes


def test_cumulative_response_is_an_ordered_categorical_with_threshold_probabilities():
    cuts = [-1.0, 0.5, 2.0]
    data = simulate(
        "r ~ x",
        n_per_group=20000,
        fixed={"x": 0.0},
        family="cumulative",
        thresholds=cuts,
        levels=["low", "mid", "high", "top"],
        random_seed=8,
    )
    assert data["r"].cat.ordered and list(data["r"].cat.categories) == ["low", "mid", "high", "top"]
    expected = np.diff(np.r_[0, special.expit(cuts), 1])
    observed = data["r"].value_counts(normalize=True)[["low", "mid", "high", "top"]]
    np.testing.assert_allclose(observed, expected, atol=0.015)
    assert data.attrs["truth"]["fixed"] == {
        "Intercept[low|mid]": -1.0,
        "Intercept[mid|high]": 0.5,
        "Intercept[high|top]": 2.0,
        "x": 0.0,
    }
    mb.Model("r ~ x", data, family="cumulative")  # the model accepts what simulate drew


def test_crossed_factors_use_every_level_equally_often():
    data = simulate(
        "y ~ (1 | a) + (1 | site)",
        groups={"a": 12, "site": 5},
        n_per_group=4,
        sd={"a": 1, "site": 1},
        sigma=1,
        random_seed=9,
    )
    assert len(data) == 48
    assert data["a"].value_counts().eq(4).all()
    counts = data["site"].value_counts()
    assert data["site"].nunique() == 5 and counts.max() - counts.min() <= 1


def test_nested_factors_are_numbered_within_their_parent():
    data = simulate(
        "y ~ (1 | hospital/ward)",
        groups={"hospital": 6, "ward": 3},
        n_per_group=2,
        sd={"hospital": 1.0, "hospital:ward": 0.5},
        sigma=1.0,
        random_seed=10,
    )
    assert len(data) == 36 and set(data["ward"]) == {1, 2, 3}
    assert data.groupby("hospital")["ward"].nunique().eq(3).all()
    assert len(data.attrs["truth"]["ranef"]["hospital:ward"]["Intercept"]) == 18


def test_given_data_keeps_its_columns_and_term_names_are_formulaics():
    rng = np.random.default_rng(11)
    given = pd.DataFrame(
        {"sex": rng.choice(["female", "male"], 4000), "g": np.repeat(np.arange(400), 10)}
    )
    data = simulate(
        "y ~ sex + (1 | g)",
        given,
        fixed={"Intercept": 1.0, "sex[T.male]": 2.0},
        sd={"g": 0.3},
        sigma=0.5,
        random_seed=12,
    )
    assert "y" not in given.columns  # the caller's frame is not changed
    pd.testing.assert_frame_equal(data[["sex", "g"]], given)
    means = data.groupby("sex")["y"].mean()
    assert means["male"] - means["female"] == pytest.approx(2.0, abs=0.1)
    assert mb.Model("y ~ sex + (1 | g)", data).design.fixed_terms == ("Intercept", "sex[T.male]")


def test_offset_enters_with_coefficient_one():
    given = pd.DataFrame({"exposure": np.repeat([1.0, 100.0], 5000)})
    data = simulate(
        "y ~ offset(np.log(exposure))",
        given,
        fixed={"Intercept": 0.0},
        family="poisson",
        random_seed=13,
    )
    means = data.groupby("exposure")["y"].mean()
    assert means[100.0] / means[1.0] == pytest.approx(100, rel=0.06)


@pytest.mark.parametrize(
    "changes, error, words",
    [
        ({"fixed": {"Intercept": 1, "z": 2}}, FormulaError, ["'z'", "'x'"]),
        ({"sd": {"g": {"Intercept": 0.5}}}, DataError, ["'x'", "'g'"]),
        ({"sd": None}, DataError, ["'g'"]),
        ({"sd": {"g": {"Intercept": 0.5, "x": 0.2}, "h": 1}}, FormulaError, ["'h'"]),
        ({"sd": {"g": {"Intercept": -0.5, "x": 0.2}}}, DataError, ["negative"]),
        ({"cor": {"g": 1.5}}, DataError, ["cor['g']"]),
        ({"cor": {"g": [[1, 0.2, 0], [0.2, 1, 0], [0, 0, 1]]}}, DataError, ["2 x 2"]),
        ({"family": "gaussian_process"}, FamilyError, ["gaussian_process"]),
        ({"sigma": None}, FamilyError, ["sigma"]),
        ({"family": "bernoulli"}, FamilyError, ["sigma"]),
        ({"nu": 3}, FamilyError, ["'nu'"]),
        ({"groups": {"g": 10, "h": 2}}, FormulaError, ["'h'"]),
        ({"groups": {}}, DataError, ["'g'"]),
        ({"groups": {"g": 0}}, DataError, ["groups['g']"]),
        ({"formula": "np.log(y) ~ x + (1 + x | g)"}, FormulaError, ["np.log(y)"]),
    ],
)
def test_errors_name_the_culprit(changes, error, words):
    kwargs = {**SLOPES, "groups": {"g": 10}, **changes}
    with pytest.raises(error) as info:
        simulate(**kwargs)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_correlation_matrix_must_be_positive_definite():
    formula = "y ~ x + w + (1 + x + w | g)"
    sd = {"g": {"Intercept": 1, "x": 1, "w": 1}}
    bad = [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]  # symmetric, not a correlation
    with pytest.raises(DataError, match="positive definite"):
        simulate(formula, groups={"g": 5}, sd=sd, cor={"g": bad}, sigma=1)
    with pytest.raises(DataError, match="two correlated terms"):
        simulate(formula, groups={"g": 5}, sd=sd, cor={"g": 0.5}, sigma=1)
    good = [[1, 0.5, -0.2], [0.5, 1, 0.1], [-0.2, 0.1, 1]]
    data = simulate(formula, groups={"g": 5}, sd=sd, cor={"g": good}, sigma=1)
    np.testing.assert_allclose(pd.DataFrame(data.attrs["truth"]["cor"]["g"]), good)


def test_uncorrelated_terms_refuse_a_correlation():
    with pytest.raises(DataError, match="uncorrelated"):
        simulate(
            "y ~ x + (1 + x || g)",
            groups={"g": 5},
            sd={"g": {"Intercept": 1, "x": 1}},
            cor={"g": [[1, 0.3], [0.3, 1]]},
            sigma=1,
        )


def test_given_data_must_agree_with_groups_and_be_complete():
    given = pd.DataFrame({"g": np.repeat([1, 2, 3], 2), "x": [0.0, 1, 2, 3, 4, np.nan]})
    kwargs = {**SLOPES, "sd": {"g": {"Intercept": 1, "x": 1}}}
    with pytest.raises(DataError, match="'x': 1"):
        simulate(data=given, **kwargs)
    with pytest.raises(DataError, match="3 levels"):
        simulate(data=given.fillna(5.0), groups={"g": 4}, **kwargs)
    assert len(simulate(data=given.fillna(5.0), groups={"g": 3}, **kwargs)) == 6


def test_binomial_needs_trials_and_only_binomial_takes_them():
    with pytest.raises(FamilyError, match="needs trials"):
        simulate("s ~ x", n_per_group=5, family="binomial")
    with pytest.raises(DataError, match="trials="):
        simulate("s | trials(n) ~ x", n_per_group=5, family="binomial")
    with pytest.raises(FamilyError, match="only family 'binomial'"):
        simulate("s | trials(n) ~ x", n_per_group=5, sigma=1.0)
    data = simulate("cbind(s, f) ~ x", n_per_group=50, family="binomial", trials=7, random_seed=1)
    assert (data["s"] + data["f"] == 7).all() and data["s"].between(0, 7).all()


def test_values_must_be_numbers_and_groups_must_exist():
    with pytest.raises(FormulaError, match="grouping factors: none"):
        simulate("y ~ x", n_per_group=5, sd={"g": 1.0}, sigma=1.0)
    with pytest.raises(DataError, match=r"fixed\['x'\] must be a finite number"):
        simulate("y ~ x", n_per_group=5, fixed={"x": "big"}, sigma=1.0)
    with pytest.raises(FamilyError, match="thresholds must increase"):
        simulate("r ~ x", n_per_group=5, family="cumulative", thresholds=[1.0, 0.0])


# ------------------------------------------------------------- distributional formulas


def test_a_sigma_formula_gives_each_row_its_sd():
    """log r^2 of the residuals r ~ N(0, sigma_i) has mean 2 log sigma_i + E log chi2_1
    (psi(1/2) + log 2 = -1.2704) and variance pi^2 / 2: regressing it on z recovers twice
    the log-sd coefficients, within 4 standard errors of the least-squares fit."""
    rng = np.random.default_rng(0)
    n = 20_000
    rows = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    data = simulate(
        mb.bf("y ~ x", sigma="~ z"),
        data=rows,
        fixed={"Intercept": 1, "x": 0.5, "sigma_Intercept": -0.5, "sigma_z": 0.4},
        random_seed=3,
    )
    truth = data.attrs["truth"]
    assert truth["fixed"] == {"Intercept": 1, "x": 0.5, "sigma_Intercept": -0.5, "sigma_z": 0.4}
    assert truth["links"] == {"sigma": "log"} and "sigma" not in truth
    r = data["y"] - 1 - 0.5 * data["x"]
    X = np.column_stack([np.ones(n), data["z"]])
    coef = np.linalg.lstsq(X, np.log(r**2), rcond=None)[0]
    se = np.sqrt(np.pi**2 / 2 * np.diag(np.linalg.inv(X.T @ X)))
    expected = np.array([2 * -0.5 + special.digamma(0.5) + np.log(2), 2 * 0.4])
    assert np.all(np.abs(coef - expected) < 4 * se)


def test_random_effects_in_sigma_are_drawn_and_recorded():
    data = simulate(
        mb.bf("y ~ 1 + (1 | g)", sigma="~ 1 + (1 | g)"),
        groups={"g": 40},
        n_per_group=400,
        fixed={"Intercept": 0, "sigma_Intercept": 0},
        sd={"g": 0.1, "sigma_g": 0.5},
        random_seed=4,
    )
    truth = data.attrs["truth"]
    assert truth["sd"] == {"g": {"Intercept": 0.1}, "sigma_g": {"Intercept": 0.5}}
    u = ranef(data, "sigma_g")["Intercept"]
    mu = ranef(data, "g")["Intercept"]
    level = data["g"].astype(str)
    residual = data["y"] - mu.reindex(level).to_numpy()
    log_sd = np.log(residual.groupby(level).std())
    # 400 rows: each level's log sd is estimated to about 1 / sqrt(2 * 400) = 0.035
    assert np.abs(log_sd - u.reindex(log_sd.index)).max() < 0.035 * 4.5


def test_a_zi_formula_sets_each_rows_zero_probability():
    """P(y = 0 | x) = zi + (1 - zi) exp(-lambda) in each of two groups of x, against the
    observed fraction (binomial standard error, 4 of them)."""
    n = 8000
    rows = pd.DataFrame({"x": np.repeat([0.0, 1.0], n // 2)})
    data = simulate(
        mb.bf("y ~ x", zi="~ x"),
        data=rows,
        family="zero_inflated_poisson",
        fixed={"Intercept": 1, "x": -0.5, "zi_Intercept": -1, "zi_x": 1.5},
        random_seed=5,
    )
    for x in (0.0, 1.0):
        zi, rate = special.expit(-1 + 1.5 * x), np.exp(1 - 0.5 * x)
        p = zi + (1 - zi) * np.exp(-rate)
        observed = (data.loc[data["x"] == x, "y"] == 0).mean()
        assert abs(observed - p) < 4 * np.sqrt(p * (1 - p) / (n // 2))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (dict(formula=mb.bf("y ~ x", sigma="~ z"), sigma=1.0), FamilyError, "sigma has a formula"),
        (dict(formula=mb.bf("y ~ x", zi="~ z")), FormulaError, "no distributional parameter 'zi'"),
        (
            dict(formula=mb.bf("y ~ x + (1 | g)", sigma="~ (1 | h)"), groups={"g": 5}),
            FormulaError,
            "sigma's factor 'h'",
        ),
        (
            dict(formula=mb.bf("y ~ x", sigma="~ z"), fixed={"sigma_w": 1.0}),
            FormulaError,
            "not a term",
        ),
    ],
)
def test_distributional_mistakes_are_named(call, error, message):
    with pytest.raises(error, match=message):
        simulate(random_seed=1, **call)


def test_an_id_draws_effects_correlated_across_parameters():
    """cor={"p": R} over the ID's terms (mu's, then sigma's prefixed): the drawn effects
    have that correlation and the sds (2,000 levels: the sample correlation's se is at
    most 1 / sqrt(2000) = 0.022, a sample sd's 1.6%; 4 of each)."""
    R = [[1.0, 0.3, 0.6], [0.3, 1.0, -0.2], [0.6, -0.2, 1.0]]
    data = simulate(
        mb.bf("y ~ x + (1 + x |p| g)", sigma="~ 1 + (1 |p| g)"),
        groups={"g": 2000},
        n_per_group=2,
        fixed={"Intercept": 0, "sigma_Intercept": 0},
        sd={"g": {"Intercept": 0.5, "x": 0.2}, "sigma_g": 0.3},
        cor={"p": R},
        random_seed=5,
    )
    truth = data.attrs["truth"]
    effects = pd.concat([ranef(data, "g"), ranef(data, "sigma_g").add_prefix("sigma_")], axis=1)
    labels = ["Intercept", "x", "sigma_Intercept"]
    np.testing.assert_allclose(np.corrcoef(effects[labels].T.to_numpy()), R, atol=0.09)
    np.testing.assert_allclose(effects[labels].std(), [0.5, 0.2, 0.3], rtol=0.064)
    assert pd.DataFrame(truth["cor"]["p"]).loc["x", "sigma_Intercept"] == -0.2
    with pytest.raises(DataError, match="give a 3 x 3 matrix"):
        simulate(
            mb.bf("y ~ x + (1 + x |p| g)", sigma="~ 1 + (1 |p| g)"), groups={"g": 5},
            sd={"g": {"Intercept": 0.5, "x": 0.2}, "sigma_g": 0.3}, cor={"p": 0.3},
        )  # fmt: skip

"""mgcv-style spline bases in mixed-model form (mixedbayes.design.smooth) against R.

References: tests/reference/smooth_basis.json (tests/reference/make_smooth_basis.R) and the
"basis" / "mcycle_gam_*" entries of tests/reference/autocor_smooth.json, made with mgcv
1.8-41 from smoothCon(s(x, bs, k), absorb.cons = TRUE) and smooth2random(type = 2).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mixedbayes.design.smooth import SmoothBasis, smooth_basis
from mixedbayes.errors import FormulaError

REF = Path(__file__).resolve().parents[1] / "reference"
SMOOTH = json.loads((REF / "smooth_basis.json").read_text())
AUTOCOR = json.loads((REF / "autocor_smooth.json").read_text())
CASES = [name for name in SMOOTH if not name.startswith("_")]
RTOL = 1e-6  # relative to the largest entry of the reference matrix


def mat(rows) -> np.ndarray:
    return np.asarray(rows, dtype=float)


def close(actual, expected, rtol=RTOL):
    expected = np.asarray(expected, dtype=float)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def column_signs(actual, expected) -> np.ndarray:
    """Signs that turn the columns of actual into those of expected (eigenvectors: +-)."""
    signs = np.sign(np.sum(actual * expected, axis=0))
    assert np.all(signs != 0)
    return signs


def stored(c) -> np.ndarray:
    """The training x at the rows whose X, Xf and Xr the reference stores (every 10th of long x)."""
    return np.asarray(c["x"], dtype=float)[np.asarray(c["rows"]) - 1]


def symmetric(x) -> bool:
    """x symmetric about its mean: mgcv's "tp" basis is then fixed only up to mirroring."""
    xc = np.sort(np.asarray(x, dtype=float) - np.mean(x))
    return bool(np.allclose(xc, -xc[::-1], rtol=0, atol=1e-12 * np.abs(xc).max()))


def distinct(values) -> bool:
    values = np.sort(np.asarray(values, dtype=float))
    return bool(np.all(np.diff(values) > 1e-6 * values.max()))


@pytest.fixture(params=[(name, bs) for name in CASES for bs in ("cr", "tp")], ids=str)
def case(request):
    name, bs = request.param
    c = SMOOTH[name]
    ref = c[bs]
    # Per-column sign comparison of Xr is only meaningful with untied eigenvalues.
    assert distinct(ref["trans_D"][: c["k"] - 2])
    return c, bs, ref, smooth_basis(c["x"], c["k"], bs)


def test_reference_cases_cover_both_symmetric_and_generic_designs():
    assert symmetric(SMOOTH["equal11_k5"]["x"])
    assert not any(symmetric(SMOOTH[name]["x"]) for name in CASES if name != "equal11_k5")


def test_shapes_and_api(case):
    c, bs, ref, b = case
    x = stored(c)
    assert isinstance(b, SmoothBasis)
    assert (b.bs, b.k) == (bs, c["k"])
    assert b.fixed(x).shape == (len(x), 1) == mat(ref["Xf"]).shape
    assert b.random(x).shape == (len(x), c["k"] - 2) == mat(ref["Xr"]).shape
    assert (b.n_fixed, b.n_random) == (1, c["k"] - 2)


def test_penalty_eigenvalues_match_trans_D(case):
    c, _, ref, b = case
    ev = np.sort(np.linalg.eigvalsh(b.penalty))[::-1]
    close(1 / np.sqrt(ev[: c["k"] - 2]), ref["trans_D"][: c["k"] - 2])
    assert abs(ev[-1]) < 1e-10 * ev[0]  # one unpenalized direction: the linear trend
    close(np.abs(b.transform), np.abs(mat(ref["trans_U"]) * ref["trans_D"]))


def test_fixed_and_random_match_smooth2random(case):
    c, bs, ref, b = case
    x = stored(c)
    Xf, Xr = b.fixed(x), b.random(x)
    close(Xf * column_signs(Xf, mat(ref["Xf"])), ref["Xf"])
    if bs == "tp" and symmetric(c["x"]):
        # mgcv's result is its basis for x or the mirror image (the basis for -x),
        # depending on the sign of a rounding error; both give the same model.
        mirror = smooth_basis(-np.asarray(c["x"]), c["k"], bs).random(-x)
        Xr = min((Xr, mirror), key=lambda a: np.abs(np.abs(a) - np.abs(mat(ref["Xr"]))).max())
        close(b.random(x) @ b.random(x).T, mat(ref["Xr"]) @ mat(ref["Xr"]).T)
    close(Xr * column_signs(Xr, mat(ref["Xr"])), ref["Xr"])


def test_constrained_basis_and_penalty_match_smoothcon(case):
    c, bs, ref, b = case
    if bs == "tp" and symmetric(c["x"]):
        pytest.skip("symmetric x: mgcv's tp parametrization depends on rounding error")
    X = b.constrained(stored(c))
    s = column_signs(X, mat(ref["X"]))  # tp: mgcv's eigenvectors of E have arbitrary signs
    close(X * s, ref["X"])
    close(b.penalty * np.outer(s, s), ref["S"])


def test_new_data_matches_predictmat(case):
    c, bs, ref, b = case
    x, x_new = stored(c), c["x_new"]
    assert min(x_new) < min(c["x"]) and max(x_new) > max(c["x"])
    Xr_ref, Xr_new_ref = mat(ref["Xr"]), mat(ref["Xr_new"])
    sf = column_signs(b.fixed(x), mat(ref["Xf"]))  # signs fixed on the training data
    close(b.fixed(x_new) * sf, ref["Xf_new"])
    if bs == "tp" and symmetric(c["x"]):
        close(b.random(x_new) @ b.random(x).T, Xr_new_ref @ Xr_ref.T)
        close(b.random(x_new) @ b.random(x_new).T, Xr_new_ref @ Xr_new_ref.T)
    else:
        sr = column_signs(b.random(x), Xr_ref)
        close(b.random(x_new) * sr, Xr_new_ref)


def test_prediction_at_training_x_reproduces_training_columns(case):
    c, _, _, b = case
    x = np.asarray(c["x"])
    Xr, Xf = b.random(x), b.fixed(x)
    order = np.random.default_rng(1).permutation(x.size)
    np.testing.assert_allclose(b.random(x[order]), Xr[order], rtol=0, atol=1e-12)
    one_by_one = np.vstack([b.random(x[i : i + 1]) for i in range(x.size)])
    np.testing.assert_allclose(one_by_one, Xr, rtol=0, atol=1e-12)
    # x_new[6] is the training x[1], x_new[1] / x_new[7] its minimum / maximum
    new = np.column_stack([b.random(c["x_new"]), b.fixed(c["x_new"])])
    train = np.column_stack([Xr, Xf])
    np.testing.assert_allclose(new[[6, 1, 7]], train[[1, x.argmin(), x.argmax()]], atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_cr_knots(name):
    c = SMOOTH[name]
    close(smooth_basis(c["x"], c["k"], "cr").knots, c["cr"]["knots"], rtol=1e-12)


def test_cr_is_linear_beyond_the_knots():
    x = np.asarray(SMOOTH["ties_k6"]["x"])
    b = smooth_basis(x, 6, "cr")
    for x0, h in ((x.min(), -0.7), (x.max(), 1.3)):
        X = b.basis(x0 + h * np.arange(4))
        np.testing.assert_allclose(np.diff(X, 2, axis=0), 0, atol=1e-12)
    # ... and the cubic pieces inside are not
    X = b.basis(np.quantile(x, [0.4, 0.45, 0.5]))
    assert np.abs(np.diff(X, 2, axis=0)).max() > 1e-4


def test_autocor_reference_basis():
    ref = AUTOCOR["basis"]
    x, k = ref["x"], ref["k"]
    cr = smooth_basis(x, k, "cr")
    close(cr.knots, ref["cr"]["knots"], rtol=1e-9)
    close(cr.basis(x), ref["cr"]["X_unconstrained"])
    close(cr.constrained(x), ref["cr"]["X"])
    close(cr.penalty, ref["cr"]["S"])
    close(cr.constraint.T @ mat(ref["cr"]["S_unconstrained"]) @ cr.constraint, ref["cr"]["S"])
    for bs in ("cr", "tp"):
        b = smooth_basis(x, k, bs)
        Xf, Xr, Xr_ref = b.fixed(x), b.random(x), mat(ref[bs]["Xr"])
        close(Xf * column_signs(Xf, mat(ref[bs]["Xf"])), ref[bs]["Xf"])
        close(Xr @ Xr.T, Xr_ref @ Xr_ref.T)  # tp on this symmetric x: see above
        close(
            1 / np.sqrt(np.sort(np.linalg.eigvalsh(b.penalty))[::-1][: k - 2]),
            ref[bs]["trans_D"][: k - 2],
        )
    close(cr.random(x) * column_signs(cr.random(x), mat(ref["cr"]["Xr"])), ref["cr"]["Xr"])


@pytest.mark.parametrize("bs", ["cr", "tp"])
def test_mcycle_gam_term_fit(bs):
    """The gam(accel ~ s(times, bs, k = 10)) smooth on its grid lies in our basis."""
    gam = AUTOCOR[f"mcycle_gam_{bs}"]
    times = SMOOTH["mcycle_k10"]["x"]
    b = smooth_basis(times, 10, bs)
    X = b.constrained(gam["grid"])
    coef = np.asarray(gam["coef"][1:])
    if bs == "cr":
        close(b.knots, gam["knots"], rtol=1e-9)
        close(X @ coef, gam["term_fit"])
    else:  # columns of mgcv's tp basis have arbitrary signs
        fitted = np.linalg.lstsq(X, gam["term_fit"], rcond=None)[0]
        close(np.abs(fitted), np.abs(coef), rtol=1e-5)


def test_basis_is_immutable():
    b = smooth_basis(np.linspace(0, 3, 20), 5, "cr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.k = 6
    with pytest.raises(ValueError, match="read-only"):
        b.transform[0, 0] = 1.0


@pytest.mark.parametrize("bs", ["cr", "tp"])
@pytest.mark.parametrize("k", [2, 0, -1, 4.0, True])
def test_bad_k(bs, k):
    with pytest.raises(FormulaError, match="k must be an integer >= 3"):
        smooth_basis(np.linspace(0, 1, 20), k, bs)


@pytest.mark.parametrize("bs", ["cr", "tp"])
def test_too_few_unique_values(bs):
    x = np.repeat([1.0, 2.0, 3.0, 4.0], 5)
    assert smooth_basis(x, 4, bs).random(x).shape == (20, 2)
    with pytest.raises(FormulaError, match="insufficient unique values to support 5 coef"):
        smooth_basis(x, 5, bs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("bs", ["cr", "tp"])
def test_non_finite_x(bs, bad):
    x = np.linspace(0, 1, 20)
    b = smooth_basis(x, 5, bs)
    x[3] = bad
    with pytest.raises(FormulaError, match="non-finite"):
        smooth_basis(x, 5, bs)
    with pytest.raises(FormulaError, match="non-finite"):
        b.random(x)


def test_unknown_basis():
    with pytest.raises(FormulaError, match=r"bs='ps'.*tp.*cr"):
        smooth_basis(np.linspace(0, 1, 20), 5, "ps")


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        smooth_basis([1.0, 2.0], 3)
    with pytest.raises(FormulaError, match="1-D"):
        smooth_basis(np.ones((4, 2)), 3)

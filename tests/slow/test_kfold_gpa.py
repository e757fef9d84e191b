"""Grouped k-fold cross-validation on GPA (200 students x 6 occasions), refitting.

The rule, fixed before the run: with 5 folds of whole students, random slopes of occasion
(lme4's likelihood-ratio test prefers them overwhelmingly) have the higher elpd_kfold,
no student's rows are split between folds, and the refits of a model share compiled
programs (the training sets of 160 students all have one shape).
"""

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from conftest import load
from mixedbayes.sampling import programs

pytestmark = pytest.mark.slow


def test_kfold_ranks_random_slopes_above_random_intercepts():
    gpa = load("gpa")
    settings = dict(draws=300, tune=300, chains=2, random_seed=1, progressbar=False)
    results = {}
    for name, formula in (
        ("intercepts", "gpa ~ occasion + (1 | student)"),
        ("slopes", "gpa ~ occasion + (1 + occasion | student)"),
    ):
        fit = mb.Model(formula, gpa).fit(**settings)
        before = programs.cached_programs()
        results[name] = fit.kfold(k=5, group="student", random_seed=3)
        assert programs.cached_programs() - before <= 2  # one log density, one transform
        folds = pd.Series(results[name].folds).groupby(gpa.student.to_numpy()).nunique()
        assert (folds == 1).all()
        assert np.isfinite(results[name].pointwise).all()
    np.testing.assert_array_equal(results["slopes"].folds, results["intercepts"].folds)
    table = mb.compare(results)
    assert table.index[0] == "slopes", table

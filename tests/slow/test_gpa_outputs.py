"""What users do with a fit, on the GPA data (issue 4's acceptance checks).

- the random-slope model ranks above the random-intercept model in ``mb.compare``;
- an unseen student's prediction interval is wider than a seen student's;
- the random-intercept model's ICC is near the seed text's 0.52 (lme4: 0.0637 / (0.0637 +
  0.0581) = 0.523): lme4's value inside the 95% interval and the estimate within 0.03;
- a saved and reloaded fit predicts the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedbayes as mb
from conftest import load, reference

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fits():
    gpa = load("gpa")
    settings = dict(draws=500, tune=500, chains=2, random_seed=2026, progressbar=False)
    return {
        "intercepts": mb.Model("gpa ~ occasion + (1 | student)", gpa).fit(**settings),
        "slopes": mb.Model("gpa ~ occasion + (1 + occasion | student)", gpa).fit(**settings),
    }


def test_random_slopes_rank_first(fits):
    table = mb.compare(fits)
    assert table.index[0] == "slopes"
    assert table.loc["intercepts", "elpd_diff"] > 2 * table.loc["intercepts", "dse"]


def test_unseen_student_interval_is_wider(fits):
    new = pd.DataFrame({"occasion": [3, 3], "student": [1, "not-a-student"]})
    table = fits["slopes"].predict(new, random_seed=1)
    width = (table["upper"] - table["lower"]).to_numpy()
    assert width[1] > 1.5 * width[0]
    population = fits["slopes"].predict(new, new_groups="population")
    fixed = fits["slopes"].predict(new, include_random=False)
    np.testing.assert_allclose(population["estimate"].iloc[1], fixed["estimate"].iloc[1])


def test_icc_near_the_seed_value(fits):
    icc = fits["intercepts"].icc().set_index("group").loc["student"]
    ref = {row["grp"]: row["vcov"] for row in reference("gpa_ri")["varcorr"]}
    lme4 = ref["student"] / (ref["student"] + ref["Residual"])
    assert icc["lower"] <= lme4 <= icc["upper"]
    assert abs(icc["estimate"] - lme4) < 0.03


def test_save_load_predicts_the_same(fits, tmp_path):
    fits["slopes"].save(tmp_path / "slopes.nc")
    loaded = mb.load(tmp_path / "slopes.nc")
    new = pd.DataFrame({"occasion": [0, 5], "student": [7, 99999]})
    pd.testing.assert_frame_equal(
        loaded.predict(new, random_seed=4), fits["slopes"].predict(new, random_seed=4)
    )
    r2 = loaded.r2()
    assert r2.loc["conditional", "estimate"] > r2.loc["marginal", "estimate"]

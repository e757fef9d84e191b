"""Centered or non-centered random effects in small GLMMs: the same data under each form.

    .venv/bin/python benchmarks/glmm_forms.py [--levels 20] [--rows 8]

For Poisson and logistic models, ``y ~ x + (1 | g)`` and ``y ~ x + (1 + x | g)``, and
between-level sds of 0.5, 1 and 1.5 (slopes' sds half of that), four simulated data sets
each, fits every data set with its factor forced centered (a centered factor also takes
in the intercept, hierarchical centering) and forced non-centered, 2 chains x (500 + 500),
and prints per setting the median kappa (``data_weight``, the intercept's), the median
smallest bulk ESS over ``Intercept``, ``b`` and ``sd_g`` under each form, and the
divergences. ``graph/parameterization.py: centered_factors`` quotes its figures.

Only factors with an intercept alone can be centered since 2026-12-08, so ``--slopes``
(the random-slope rows) runs on commit 4b4dd00, which still had a centered form for
several coefficients (a multivariate normal); the figures were measured there.
"""

from __future__ import annotations

import argparse
import warnings

import arviz as az
import numpy as np
import pandas as pd

import mixedbayes as mb
from mixedbayes.graph import model as graph_model
from mixedbayes.graph.parameterization import data_weight

FORMS = {  # centered_factors' result: {group: kappa}
    "centered": lambda design, sampled: {b.group: np.inf for b in sampled},
    "non": lambda design, sampled: {},
}


def simulate(family: str, slopes: bool, sd: float, levels: int, rows: int, seed: int):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(levels), rows)
    x = rng.normal(1.0, 1.0, g.size)
    slope = rng.normal(0, sd / 2, levels)[g] if slopes else 0.0
    eta = 0.5 + 0.3 * x + rng.normal(0, sd, levels)[g] + slope * x
    if family == "poisson":
        y = rng.poisson(np.exp(eta))
    else:
        y = (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})


def min_ess(fit) -> float:
    names = [v for v in ("Intercept", "b", "sd_g") if v in fit.posterior]
    ess = az.ess(fit.posterior[names], method="bulk")
    return min(float(ess[v].min()) for v in ess.data_vars)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--slopes", action="store_true", help="also (1 + x | g): see above")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    for family in ("poisson", "bernoulli"):
        for slopes in (False, True) if args.slopes else (False,):
            formula = "y ~ x + (1 + x | g)" if slopes else "y ~ x + (1 | g)"
            for sd in (0.5, 1.0, 1.5):
                for seed in range(4):
                    data = simulate(family, slopes, sd, args.levels, args.rows, seed)
                    row = {"family": family, "slopes": slopes, "sd": sd}
                    for form, choose in FORMS.items():
                        graph_model.centered_factors = choose
                        model = mb.Model(formula, data, family=family)
                        fit = model.fit(
                            draws=500, tune=500, chains=2, random_seed=seed, progressbar=False
                        )
                        row[form] = min_ess(fit)
                        row[form + "_div"] = int(fit.idata.sample_stats["diverging"].sum())
                    row["kappa"] = data_weight(model.design, model.design.block("g"))
                    rows.append(row)
    table = pd.DataFrame(rows).groupby(["family", "slopes", "sd"])
    print(
        table.median()
        .round(1)
        .drop(columns=["centered_div", "non_div"])
        .join(table[["centered_div", "non_div"]].sum())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

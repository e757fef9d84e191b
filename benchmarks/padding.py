"""Grouped k-fold of a Bernoulli model, with its rows and levels padded or not.

Each variant runs in a fresh process with an empty cache: one fit of 63 groups (85% of
10 rows each kept, so the folds' sizes differ), then ``fit.kfold(k=5, group="g")``.
Unpadded, every fold has its own shape and compiles its own sampler; padded, folds within
one step of sizes share one (:mod:`mixedbayes.design.padding`).

    .venv/bin/python benchmarks/padding.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

ONE = """
import json, sys, time, warnings
import mixedbayes as mb
from mixedbayes import model as model_module
from mixedbayes.sampling import programs
from mixedbayes.simulation import simulate

warnings.simplefilter("ignore")
if sys.argv[1] == "unpadded":
    model_module.Model._padded = lambda self: None
data = simulate(
    "y ~ x + (1 | g)", groups={"g": 63}, n_per_group=10, fixed={"Intercept": 0.0, "x": 0.5},
    sd={"g": {"Intercept": 0.8}}, family="bernoulli", random_seed=1,
).sample(frac=0.85, random_state=1).sort_index()
start = time.perf_counter()
fit = mb.Model("y ~ x + (1 | g)", data, family="bernoulli").fit(random_seed=1, progressbar=False)
first = time.perf_counter() - start
start = time.perf_counter()
cv = fit.kfold(k=5, group="g")
print(json.dumps({"variant": sys.argv[1], "first_fit_s": first,
                  "kfold_s": time.perf_counter() - start, "elpd_kfold": cv.elpd,
                  "programs": programs.cached_programs()}))
"""


def main() -> None:
    rows = []
    for variant in ("unpadded", "padded"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "MIXEDBAYES_CACHE_DIR": cache}
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", ONE, variant],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            rows[-1]["process_s"] = time.perf_counter() - start
    for row in rows:
        print(
            f"{row['variant']:>9}: first fit {row['first_fit_s']:.1f} s, 5 grouped folds "
            f"{row['kfold_s']:.1f} s, programs {row['programs']}, elpd {row['elpd_kfold']:.1f}"
        )


if __name__ == "__main__":
    main()

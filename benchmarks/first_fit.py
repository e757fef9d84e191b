"""Time to a first posterior, each measurement in fresh processes: ``make bench-first-fit``.

    .venv/bin/python benchmarks/first_fit.py [--json benchmarks/results-time-to-first.json]

1. ``import mixedbayes`` (median of three fresh processes);
2. sleepstudy's random slopes (4 chains x 1000 + 1000 warm-up), first fit with an empty
   compile cache (``MIXEDBAYES_CACHE_DIR`` in a new temporary folder);
3. in a new process with that cache: the same shape on another data set (sleepstudy's
   days with a response simulated from the fit's estimates), and lme4's Oxboys
   (26 boys x 9 occasions, another shape);
4. twenty simulated data sets of one shape in one process (2 chains x 500 + 500): the
   first fit and the median of the others.

Wall times (``time.perf_counter``) of ``Model(...)`` plus ``fit(...)``, imports excluded
but for (1); ``libraries_s`` is what the first ``Model(...)`` of a process adds by
importing PyMC, ArviZ and JAX (``import mixedbayes`` leaves them for first use); the
sampling time as PyMC reports it (for numpyro: the compiled loop, its compilation or
cache load included) and the smallest bulk ESS of the fixed effects and
variance parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

FIT = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np, pandas as pd
    import mixedbayes as mb
    from benchmarks.metrics import convergence
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    import mixedbayes.model  # what the first Model(...) imports: PyMC, ArviZ, JAX
    libraries_s = time.perf_counter() - start
    which, (draws, chains, repeats) = sys.argv[1], map(int, sys.argv[2:5])
    if which == "sleepstudy":
        data = pd.read_csv(sys.argv[5])
        formula = "Reaction ~ Days + (1 + Days | Subject)"
    elif which == "sleepstudy_simulated":
        data = pd.read_csv(sys.argv[5])
        rng = np.random.default_rng(1)
        subject = pd.factorize(data.Subject)[0]
        effects = rng.normal(0, [25, 6], size=(subject.max() + 1, 2))[subject]
        data = data.assign(Reaction=251 + effects[:, 0] + (10.5 + effects[:, 1]) * data.Days
                           + rng.normal(0, 25.6, len(data)))
        formula = "Reaction ~ Days + (1 + Days | Subject)"
    elif which == "oxboys":
        data = mb.load_dataset("Oxboys")
        formula = "height ~ age + (1 + age | Subject)"
    out = []
    for i in range(repeats):
        if which == "simulated":
            data = mb.simulate("y ~ x + (1 + x | g)", groups={"g": 30}, n_per_group=10,
                               fixed={"Intercept": 1.0, "x": 0.5},
                               sd={"g": {"Intercept": 0.5, "x": 0.3}}, sigma=0.5,
                               random_seed=i)
            formula = "y ~ x + (1 + x | g)"
        start = time.perf_counter()
        fit = mb.Model(formula, data).fit(draws=draws, tune=draws, chains=chains,
                                          random_seed=1, progressbar=False)
        wall = time.perf_counter() - start
        out.append({"wall_s": wall, "libraries_s": libraries_s if i == 0 else 0.0,
                    "sampling_s": fit.idata.posterior.attrs["sampling_time"],
                    "min_ess_bulk": convergence(fit.idata, "mixedbayes")["min_ess_bulk"]})
    print("RESULT " + json.dumps(out))
    """
)


def run_fit(which: str, cache: str, draws=1000, chains=4, repeats=1) -> list[dict]:
    env = {**os.environ, "MIXEDBAYES_CACHE_DIR": cache}
    args = [sys.executable, "-c", FIT, which, str(draws), str(chains), str(repeats)]
    args.append(str(SHARED / "sleepstudy.csv"))
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{which} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import mixedbayes; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(3)
    ]
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results-time-to-first.json"))
    args = parser.parse_args(argv)
    results = {"import_s": import_time()}
    with tempfile.TemporaryDirectory() as cache:
        results["sleepstudy_first"] = run_fit("sleepstudy", cache)[0]
        results["same_shape_new_process"] = run_fit("sleepstudy_simulated", cache)[0]
        results["oxboys_new_process"] = run_fit("oxboys", cache)[0]
    with tempfile.TemporaryDirectory() as cache:
        fits = run_fit("simulated", cache, draws=500, chains=2, repeats=20)
    results["twenty_fits"] = {
        "first_wall_s": fits[0]["wall_s"],
        "median_later_wall_s": statistics.median(f["wall_s"] for f in fits[1:]),
        "median_later_sampling_s": statistics.median(f["sampling_s"] for f in fits[1:]),
    }
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()

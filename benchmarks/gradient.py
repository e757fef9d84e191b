"""Time one log-density + gradient evaluation, marginalized vs plain, and its compilation.

Run from the repository root::

    .venv/bin/python benchmarks/gradient.py            # GPA and sleepstudy random slopes

Prints, per model and variant, the seconds to compile PyMC's ``logp_dlogp_function`` and the
microseconds per call at the initial point (mean of ``--calls`` calls after one warm-up).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd
from pymc.blocking import DictToArrayBijection

import mixedbayes as mb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = {
    "gpa_slopes": ("gpa", "gpa ~ occasion + (1 + occasion | student)", "student"),
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (1 + Days | Subject)", "Subject"),
}


def time_gradient(pm_model, calls: int) -> tuple[float, float]:
    """(compile seconds, microseconds per logp+gradient call)."""
    start = time.perf_counter()
    function = pm_model.logp_dlogp_function(ravel_inputs=True)
    function.set_extra_values({})
    compiled = time.perf_counter() - start
    point = DictToArrayBijection.map(pm_model.initial_point()).data
    function(point)
    start = time.perf_counter()
    for _ in range(calls):
        function(point)
    return compiled, (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for name in args.models.split(","):
        data_name, formula, group = MODELS[name]
        model = mb.Model(formula, pd.read_csv(DATA / f"{data_name}.csv"))
        for variant, pm_model in (
            ("marginal", model.marginal_model(group)),
            ("plain", model.pymc_model),
        ):
            compiled, per_call = time_gradient(pm_model, args.calls)
            print(f"{name:12s} {variant:9s} compile {compiled:6.2f} s  {per_call:7.1f} us/call")


if __name__ == "__main__":
    main()

"""Why a logistic GLMM's ESS lags: the same model and data under each sampler.

    .venv/bin/python benchmarks/glmm_ess.py [--model speed_dating] [--samplers numpyro,pymc]

Fits one benchmark model (benchmarks/models.py) with mixedbayes's default sampler
(numpyro's NUTS through its compiled programs) and with PyMC's NUTS, same priors, draws
(4 x 1000 + 1000) and seed, and prints each population parameter's bulk ESS, the mean step
size per chain and the mean number of leapfrog steps. The model (non-centered random
effects, centered fixed effects) is the same for both, so differences come from the
samplers' warm-up (step size and mass-matrix adaptation).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
import mixedbayes as mb  # noqa: E402
from benchmarks.metrics import scalar_params  # noqa: E402
from benchmarks.models import MODELS  # noqa: E402


def measure(model, sampler: str, seed: int) -> dict:
    start = time.perf_counter()
    fit = model.fit(random_seed=seed, progressbar=False, sampler=sampler)
    wall = time.perf_counter() - start
    params = scalar_params(fit.posterior, "mixedbayes")
    ess = {name: round(float(az.ess(draws, method="bulk")), 0) for name, draws in params.items()}
    stats = fit.idata.sample_stats
    steps = stats["n_steps"] if "n_steps" in stats else 2 ** stats["tree_depth"] - 1
    return {
        "sampler": sampler,
        "wall_s": round(wall, 1),
        "ess_bulk": ess,
        "min_ess_bulk": min(ess.values()),
        "step_size_per_chain": np.round(stats["step_size"].mean("draw").values, 3).tolist(),
        "mean_leapfrog_steps": round(float(steps.mean()), 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="speed_dating")
    parser.add_argument("--samplers", default="numpyro,pymc")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    spec = MODELS[args.model]
    model = mb.Model(spec.formula, spec.load(), family=spec.family)
    for sampler in args.samplers.split(","):
        print(json.dumps({"model": args.model, **measure(model, sampler, args.seed)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

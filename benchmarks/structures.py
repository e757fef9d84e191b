"""ESS per second of a model with a correlation structure, a smooth term or a formula for
sigma against the same model without it, in one process on the same data and draws.

    .venv/bin/python benchmarks/structures.py [--json benchmarks/results-structures.json]

Each model is fitted once to compile its programs (that wall time is reported as
``first_fit_s``), then ``--repeats`` times (3; seeds 2, 3, ...) timed, so the ratio compares
sampling and set-up, not compilation: ``ess_per_s`` is the timed fits' summed min ESS over
their summed wall time (one second-long fit moves by tenths of a second, and its ESS by
a third from seed to seed); ``fit_s`` and ``min_bulk_ess`` are medians. ESS is the minimum
bulk ESS over the population-level parameters (fixed effects, sds, correlations, sigma,
and the structure's ar/ma/cosy or the smooth's sds), as in benchmarks/metrics.py.
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
import mixedbayes as mb  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PAIRS = [  # (name, data, with the term, without it)
    (
        "gpa_ar1",
        "gpa",
        "gpa ~ occasion + (1 | student) + ar(time = occasion, gr = student)",
        "gpa ~ occasion + (1 | student)",
    ),
    (
        "sleepstudy_ar1",
        "sleepstudy",
        "Reaction ~ Days + (1 + Days | Subject) + ar(Days, Subject)",
        "Reaction ~ Days + (1 + Days | Subject)",
    ),
    (
        "gpa_sigma_by_occasion",
        "gpa",
        ("gpa ~ occasion + (1 | student)", "sigma ~ C(occasion)"),
        "gpa ~ occasion + (1 | student)",
    ),
    (
        "sleepstudy_sigma_days",
        "sleepstudy",
        ("Reaction ~ Days + (1 + Days | Subject)", "sigma ~ Days"),
        "Reaction ~ Days + (1 + Days | Subject)",
    ),
    (
        "sleepstudy_smooth",
        "sleepstudy",
        "Reaction ~ s(Days, k = 5) + (1 | Subject)",
        "Reaction ~ Days + (1 | Subject)",
    ),
]
POPULATION = ("Intercept", "b", "sigma", "ar", "ma", "cosy", "sigma_Intercept", "sigma_b")


def min_bulk_ess(fit) -> float:
    names = [n for n in fit.posterior.data_vars if n in POPULATION or n.startswith(("sd_", "sds_"))]
    ess = az.ess(fit.posterior[names], method="bulk")
    values = np.concatenate([np.ravel(ess[n].values) for n in names])
    return float(np.nanmin(values))


def measure(formula: str | tuple, data: pd.DataFrame, args, **fit_args) -> dict:
    """``formula`` is a string, or the formulas of ``mb.bf`` as a tuple."""
    kwargs = dict(draws=args.draws, tune=args.tune, chains=args.chains, progressbar=False)
    kwargs |= fit_args
    spec = mb.bf(*formula) if isinstance(formula, tuple) else formula
    start = time.perf_counter()
    mb.Model(spec, data).fit(random_seed=1, **kwargs)
    first = time.perf_counter() - start
    walls, ess = [], []
    for seed in range(2, 2 + args.repeats):  # programs compiled: sampling and set-up only
        start = time.perf_counter()
        fit = mb.Model(spec, data).fit(random_seed=seed, **kwargs)
        walls.append(time.perf_counter() - start)
        ess.append(min_bulk_ess(fit))
    return {
        "formula": formula if isinstance(formula, str) else " ; ".join(formula),
        "first_fit_s": round(first, 2),
        "fit_s": round(float(np.median(walls)), 2),
        "min_bulk_ess": round(float(np.median(ess)), 1),
        "ess_per_s": round(sum(ess) / sum(walls), 1),
        "integrated": fit.posterior.attrs.get("marginalized", ""),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per model (seeds)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results-structures.json"))
    parser.add_argument("--only", nargs="*", help="run these pairs, keep the file's others")
    parser.add_argument(
        "--sampled", action="store_true", help="also fit the term's model with marginalize=False"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    for name, data_name, with_term, without in PAIRS:
        if args.only and name not in args.only:
            continue
        data = pd.read_csv(DATA / f"{data_name}.csv")
        term, plain = measure(with_term, data, args), measure(without, data, args)
        ratio = term["ess_per_s"] / plain["ess_per_s"]
        rows.append({"name": name, "with": term, "without": plain, "ratio": round(ratio, 2)})
        if args.sampled:
            rows[-1]["with_sampled"] = measure(with_term, data, args, marginalize=False)
        print(json.dumps(rows[-1]), flush=True)
    path = Path(args.json)
    meta = {"command": "python benchmarks/structures.py " + " ".join(argv or sys.argv[1:])}
    meta |= {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    meta |= {"repeats": args.repeats}
    if args.only and path.exists():  # the other pairs' rows stay as they were measured
        old = json.loads(path.read_text())
        ran = {row["name"] for row in rows}
        rows = [row for row in old["rows"] if row["name"] not in ran] + rows
        meta = {"commands": [*old["meta"].get("commands", [old["meta"]]), meta]}
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

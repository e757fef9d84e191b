"""Fit one benchmark model with one library, in this process, and print one JSON line.

    python benchmarks/fit_one.py --library mixedbayes --model sleepstudy \\
        --draws 1000 --tune 1000 --chains 4 --seed 1

``run.py`` starts it in a fresh process per (library, model): with the mixedbayes env's
Python for mixedbayes and ``.venv-bambi``'s for bambi, handing over the data as a pickle
(``--data``) so both libraries fit the very same rows. Without ``--data`` the model's
loader in ``models.py`` is used.

Timings (``time.perf_counter`` wall clock, library import not included):

- ``build_s``: constructing the library's model object from formula and data;
- ``sampling_s``: PyMC's own ``sampling_time`` (the NUTS loop: warm-up and draws; with
  numpyro it also includes compiling, or loading from the cache, the XLA program);
- ``total_s``: the whole of model construction and ``fit`` (graph building, PyTensor
  compilation, NUTS initialization, sampling, conversion to InferenceData, diagnostics);
- ``setup_s = total_s - sampling_s``: everything in ``total_s`` but the NUTS loop.

``peak_rss_mb`` is this process's peak resident memory (``getrusage``);
``peak_rss_children_mb`` that of its largest finished child (a PyMC chain process).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import sys
import tempfile
import time
import traceback
import warnings
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import metrics, models  # noqa: E402

VERSIONED = ("mixedbayes", "bambi", "formulae", "pymc", "pytensor", "arviz", "numpy", "pandas")
OPTIONAL_VERSIONED = ("nutpie", "numpyro", "jax")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--library", required=True, choices=metrics.LIBRARIES)
    parser.add_argument("--model", required=True, choices=list(models.MODELS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=None, help="parallel chains")
    parser.add_argument("--data", default=None, help="pickled DataFrame (from run.py)")
    parser.add_argument("--sampler", default="auto", help="mixedbayes fit(sampler=...)")
    parser.add_argument(
        "--cold-jax-cache",
        action="store_true",
        help="mixedbayes: start from an empty JAX compilation cache (numpyro compiles anew)",
    )
    parser.add_argument(
        "--marginalize",
        default=None,
        help="mixedbayes fit(marginalize=...): auto, true or false (default: fit's default)",
    )
    return parser.parse_args(argv)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED + OPTIONAL_VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name in VERSIONED:
                found[name] = None
    return {k: v for k, v in found.items() if v is not None}


def cache_entries() -> dict[str, int]:
    """Entries in the compile caches: PyTensor's C modules, numba's (nutpie) cache files, and
    mixedbayes's JAX cache (numpyro's compiled programs)."""
    import pytensor

    counts = {}
    compiledir = Path(pytensor.config.compiledir)
    if compiledir.is_dir():
        counts["c_modules"] = sum(1 for p in compiledir.iterdir() if p.name.startswith("tmp"))
    numba_dir = Path(pytensor.config.base_compiledir) / "numba"
    if numba_dir.is_dir():
        counts["numba_files"] = sum(1 for _ in numba_dir.iterdir())
    try:  # absent from bambi's environment
        from mixedbayes.sampling.programs import cache_dir
    except ImportError:
        return counts
    jax_dir = Path(cache_dir()) / "jax"
    if jax_dir.is_dir():
        counts["jax_files"] = sum(1 for _ in jax_dir.iterdir())
    return counts


def fit_mixedbayes(spec, data, args) -> tuple[object, float, dict]:
    """``(idata, build_s, fit_kwargs)``; ``fit`` gets only the options it accepts."""
    import mixedbayes as mb

    start = time.perf_counter()
    formula = mb.bf(spec.formula, **spec.dpars) if spec.dpars else spec.formula
    model = mb.Model(formula, data, family=spec.family)
    build_s = time.perf_counter() - start
    accepted = inspect.signature(model.fit).parameters
    kwargs = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "random_seed": args.seed,
        "progressbar": False,
        "sampler": args.sampler,
    }
    if args.cores is not None:
        kwargs["cores"] = args.cores
    if args.marginalize is not None:
        if "marginalize" not in accepted:
            raise TypeError("this mixedbayes's Model.fit has no 'marginalize' option")
        kwargs["marginalize"] = parse_marginalize(args.marginalize)
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    fit = model.fit(**kwargs)
    shown = dict(kwargs)
    if "marginalize" in accepted and "marginalize" not in shown:
        shown["marginalize"] = accepted["marginalize"].default  # fit's default, recorded
    return fit.idata, build_s, shown


def parse_marginalize(value: str):
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return value


def fit_bambi(spec, data, args) -> tuple[object, float, dict]:
    import bambi as bmb

    start = time.perf_counter()
    formula = spec.bambi_formula or spec.formula
    if spec.bambi_dpars:
        formula = bmb.Formula(formula, *spec.bambi_dpars)
    model = bmb.Model(formula, data, family=spec.family)
    build_s = time.perf_counter() - start
    kwargs = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "random_seed": args.seed,
        "progressbar": False,
    }
    if args.cores is not None:
        kwargs["cores"] = args.cores
    idata = model.fit(**kwargs)
    return idata, build_s, kwargs


def load_data(spec, path: str | None):
    import pandas as pd

    return pd.read_pickle(path) if path else spec.load()


def sampler_used(idata, library: str, fit_kwargs: dict, cold: bool = False) -> str:
    attrs = dict(getattr(idata.posterior, "attrs", {}))
    name = attrs.get("inference_library") or "pymc"
    version = attrs.get("inference_library_version")
    label = f"{name} {version}" if version else str(name)
    if library == "mixedbayes" and fit_kwargs.get("sampler") not in (None, "auto"):
        label += f" (sampler={fit_kwargs['sampler']})"
    if library == "mixedbayes" and name == "numpyro":
        label += ", JAX cache " + ("emptied" if cold else "as found")
    return label


def random_effects(idata, spec, library: str) -> dict[str, str]:
    """Per grouping factor: "marginalized" (listed in the posterior's ``marginalized``
    attribute), or "sampled", "centered" for mixedbayes's sampled factors without ``z_<g>``."""
    if library != "mixedbayes":
        return {g: "sampled" for g in spec.groups}
    attrs = getattr(idata.posterior, "attrs", {})
    integrated = set(str(attrs.get("marginalized", "")).split(", "))
    names = set(idata.posterior.data_vars)

    def how(g: str) -> str:
        if g in integrated:
            return "marginalized"
        return "sampled" if f"z_{g}" in names else "sampled, centered"

    return {g: how(g) for g in spec.groups}


def run(args) -> dict:
    spec = models.get(args.model)
    row = {
        "model": spec.name,
        "library": args.library,
        "formula": "; ".join(
            [spec.bambi_formula or spec.formula, *spec.bambi_dpars]
            if args.library == "bambi"
            else [spec.formula, *(f"{k} {v}" for k, v in spec.dpars.items())]
        ),
        "family": spec.family,
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "seed": args.seed,
        "cores": args.cores,
    }
    data = load_data(spec, args.data)
    row["n_rows"] = int(len(data))
    if args.library == "mixedbayes" and args.cold_jax_cache:
        os.environ["MIXEDBAYES_CACHE_DIR"] = tempfile.mkdtemp(prefix="mixedbayes-cold-")
        row["jax_cache"] = "cold"
    start = time.perf_counter()
    if args.library == "mixedbayes":
        import mixedbayes  # noqa: F401  (import time is not part of the fit)
    else:
        import bambi  # noqa: F401
    row["import_s"] = time.perf_counter() - start
    row["versions"] = versions()
    cache_before = cache_entries()

    fitter = fit_mixedbayes if args.library == "mixedbayes" else fit_bambi
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings are in the numbers below
        idata, build_s, fit_kwargs = fitter(spec, data, args)
    total_s = time.perf_counter() - start

    # PyMC's sampler puts it on sample_stats, its JAX path (numpyro) on the posterior
    sampling_s = idata.sample_stats.attrs.get("sampling_time")
    if sampling_s is None:
        sampling_s = idata.posterior.attrs.get("sampling_time")
    sampling_s = float(sampling_s) if sampling_s is not None else None
    cache_after = cache_entries()
    row.update(
        {
            "status": "ok",
            "fit_kwargs": {k: v for k, v in fit_kwargs.items() if k != "progressbar"},
            "sampler": sampler_used(idata, args.library, fit_kwargs, args.cold_jax_cache),
            "random_effects": random_effects(idata, spec, args.library),
            "build_s": build_s,
            "sampling_s": sampling_s,
            "setup_s": total_s - sampling_s if sampling_s is not None else None,
            "total_s": total_s,
            "cache_before": cache_before,
            "cache_new": {k: cache_after.get(k, 0) - v for k, v in cache_before.items()},
        }
    )
    row.update(metrics.convergence(idata, args.library))
    row["mean_tree_size"] = metrics.mean_tree_size(idata)
    row["ess_per_s"] = metrics.ess_per_second(row["min_ess_bulk"], total_s)
    row["peak_rss_mb"] = peak_rss_mb(resource.RUSAGE_SELF)
    row["peak_rss_children_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
    return row


def peak_rss_mb(who) -> float:
    """Peak resident set size in MB (Linux reports KiB, macOS bytes)."""
    kib = resource.getrusage(who).ru_maxrss
    return kib / 1024**2 if sys.platform == "darwin" else kib / 1024


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        row = run(args)
        code = 0
    except Exception as error:  # report, do not hide: run.py shows the message
        traceback.print_exc()
        row = {
            "model": args.model,
            "library": args.library,
            "status": "error",
            "error": f"{type(error).__name__}: {error}"[:500],
        }
        code = 1
    row["pid"] = os.getpid()
    sys.stdout.flush()
    print(json.dumps(row, default=str), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Simulation-based calibration (SBC) of mixedbayes' random-slopes models.

Talts, Betancourt, Simpson, Vehtari & Gelman (2018), "Validating Bayesian inference
algorithms with simulation-based calibration", arXiv:1804.06788.

For each simulation, parameters are drawn from exactly the priors the model is given,
data are drawn from the model with those parameters, the model is fitted, and the rank of
each true value among ``L`` (roughly independent) posterior draws is recorded. If the
sampler and the model's implementation are right, every parameter's ranks are uniform on
``0, ..., L``.

The model is ``y ~ x + (1 + x | g)`` on a fixed design (20 groups x 8 rows, ``x`` normal
with mean 1 and sd 1, drawn once with a fixed seed) for the gaussian, bernoulli and
poisson families. Every prior class is set explicitly with constants (the library's
defaults are scaled to the data, which would break SBC). The intercept prior applies to
``Intercept_centered`` (the intercept at the mean of ``x``), so the truth is drawn that way
and the user-scale ``Intercept = Intercept_centered - mean(x) * b`` is compared with the
posterior's ``Intercept``.

Usage::

    .venv/bin/python validation/sbc.py --family all --sims 200 --out validation/results/

``--truth-seed N`` draws other truths and data sets (the default is the committed runs').

Each finished simulation is saved as ``<out>/sims/<family>/sim_NNNN.json``; a rerun with the
same settings skips those (resume), and ``--workers N`` runs N processes (``spawn``), each
fitting a share of the simulations with one core. The script then writes
``sbc_ranks_<family>.csv``, ``sbc_summary.csv``, ``sbc_summary.md`` and ``sbc_ranks.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

# cases: a family, or a family with distributional formulas (appended: earlier cases keep
# their seeds)
FAMILIES = ("gaussian", "bernoulli", "poisson", "gaussian_sigma", "hurdle_poisson")
FAMILY_OF = {"gaussian_sigma": "gaussian"}  # the mixedbayes family of a case (else itself)
DPAR_FORMULAS = {"gaussian_sigma": {"sigma": "~ x"}}  # hurdle_poisson: hu ~ 1 by default
FORMULA = "y ~ x + (1 + x | g)"
N_GROUPS = 20
N_PER_GROUP = 8
DESIGN_SEED = 2018
X_MEAN = 1.0
TRUTH_SEED = 1804
FIRST_LEVEL = "g01"

# Prior specifications as (distribution, parameters), PyMC's names; turned into mb.Prior
# by ``model_priors``. Constants only: nothing depends on the simulated data.
PRIOR_SPECS: dict[str, dict[str, tuple[str, dict[str, float]]]] = {
    "gaussian": {
        "Intercept": ("Normal", {"mu": 0.0, "sigma": 1.0}),
        "b": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sd": ("HalfStudentT", {"nu": 3.0, "sigma": 0.5}),  # the defaults' form
        "cor": ("LKJ", {"eta": 2.0}),
        # kept away from 0: sigma << sd / sqrt(8) makes the non-centered effects a funnel
        # that NUTS crosses only with very long trajectories (minutes per fit)
        "sigma": ("Gamma", {"alpha": 4.0, "beta": 4.0}),
    },
    "bernoulli": {
        "Intercept": ("Normal", {"mu": 0.0, "sigma": 1.0}),
        "b": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sd": ("HalfNormal", {"sigma": 1.0}),
        "cor": ("LKJ", {"eta": 2.0}),
    },
    "poisson": {
        "Intercept": ("Normal", {"mu": 1.0, "sigma": 0.5}),
        "b": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sd": ("HalfNormal", {"sigma": 0.5}),
        "cor": ("LKJ", {"eta": 2.0}),
    },
    # log sigma = sigma_Intercept_centered + sigma_b (x - mean x): the mean's random
    # effects are integrated out with per-row precisions (graph/rowwise.py)
    "gaussian_sigma": {
        "Intercept": ("Normal", {"mu": 0.0, "sigma": 1.0}),
        "b": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sd": ("HalfStudentT", {"nu": 3.0, "sigma": 0.5}),
        "cor": ("LKJ", {"eta": 2.0}),
        "sigma_Intercept": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sigma_b": ("Normal", {"mu": 0.0, "sigma": 0.3}),
    },
    # P(y = 0) = hu, else a zero-truncated Poisson (brms's hurdle_poisson)
    "hurdle_poisson": {
        "Intercept": ("Normal", {"mu": 1.0, "sigma": 0.5}),
        "b": ("Normal", {"mu": 0.0, "sigma": 0.5}),
        "sd": ("HalfNormal", {"sigma": 0.5}),
        "cor": ("LKJ", {"eta": 2.0}),
        "hu_Intercept": ("Normal", {"mu": -1.0, "sigma": 0.5}),
    },
}

PARAMETERS = (
    "Intercept",
    "b[x]",
    "sd_g[Intercept]",
    "sd_g[x]",
    "cor_g[Intercept,x]",
    "sigma",
    f"r_g[{FIRST_LEVEL},Intercept]",
    f"r_g[{FIRST_LEVEL},x]",
    "sigma_Intercept",
    "sigma_b[x]",
    "hu_Intercept",
)

# posterior draws (chain, draw) of each parameter, from the posterior Dataset
_SELECT: dict[str, Callable] = {
    "Intercept": lambda p: p["Intercept"],
    "b[x]": lambda p: p["b"].sel(fixed_term="x"),
    "sd_g[Intercept]": lambda p: p["sd_g"].sel(g__coef="Intercept"),
    "sd_g[x]": lambda p: p["sd_g"].sel(g__coef="x"),
    "cor_g[Intercept,x]": lambda p: p["cor_g"].sel(g__coef="Intercept", g__coef_="x"),
    "sigma": lambda p: p["sigma"],
    f"r_g[{FIRST_LEVEL},Intercept]": lambda p: p["r_g"].sel(g=FIRST_LEVEL, g__coef="Intercept"),
    f"r_g[{FIRST_LEVEL},x]": lambda p: p["r_g"].sel(g=FIRST_LEVEL, g__coef="x"),
    "sigma_Intercept": lambda p: p["sigma_Intercept"],
    "sigma_b[x]": lambda p: p["sigma_b"].sel(sigma_fixed_term="x"),
    "hu_Intercept": lambda p: p["hu_Intercept"],
}


@dataclass(frozen=True)
class Settings:
    """Sampler settings of an SBC run; saved with every simulation so resumes match.

    Attributes
    ----------
    draws, tune, chains : int
        Passed to ``Model.fit`` (kept draws and warm-up per chain, number of chains).
    n_ranks : int
        ``L``: the number of thinned posterior draws each rank is computed from; ranks lie
        in ``0, ..., L``.
    target_accept : float
        NUTS' target acceptance rate.
    marginalize : str
        ``Model.fit(marginalize=...)``: ``"auto"`` (the default), or ``"False"`` to sample
        every random effect of a Gaussian model.
    sampler : str
        ``Model.fit(sampler=...)``, the library's default (``"auto"``: numpyro): every
        simulation has the same shape, so all of them run one compiled program with their
        data as its arguments (``mixedbayes.sampling.programs``).
    truth_seed : int
        Seeds the truths and data sets (with the case and the simulation's number): another
        seed gives 200 new data sets, to tell a chance p-value from a pattern.

    Notes
    -----
    The defaults keep every 10th of 2 x 250 draws (``L = 49``): the correlation and the
    sds often have a bulk ESS below 150 in those 500 draws, so closer thinning would leave
    autocorrelated draws, which give U-shaped rank histograms by themselves.
    ``target_accept`` is the library's default; divergences are recorded, not hidden.
    """

    draws: int = 250
    tune: int = 250
    chains: int = 2
    n_ranks: int = 49
    target_accept: float = 0.8
    sampler: str = "auto"
    marginalize: str = "auto"
    truth_seed: int = TRUTH_SEED


# --------------------------------------------------------------------------- simulation


_OWN = {  # the parameters only some cases have, by the prior class that gives them
    "sigma": ("sigma",),
    "sigma_Intercept": ("sigma_Intercept",),
    "sigma_b[x]": ("sigma_b",),
    "hu_Intercept": ("hu_Intercept",),
}


def family_parameters(family: str) -> tuple[str, ...]:
    """The parameters whose ranks are recorded for the case ``family`` (``sigma`` for
    gaussian, ``sigma_Intercept`` and ``sigma_b[x]`` with a sigma formula, ...)."""
    spec = PRIOR_SPECS[family]
    return tuple(p for p in PARAMETERS if p not in _OWN or set(_OWN[p]) <= set(spec))


def model_spec(family: str):
    """The formula given to ``mb.Model``: a string, or ``mb.bf`` with the case's dpars."""
    import mixedbayes as mb

    dpars = DPAR_FORMULAS.get(family)
    return mb.bf(FORMULA, **dpars) if dpars else FORMULA


def model_priors(family: str) -> dict:
    """The ``priors=`` dict given to ``mb.Model``: every class, with constant parameters."""
    import mixedbayes as mb

    return {cls: mb.Prior(dist, **params) for cls, (dist, params) in PRIOR_SPECS[family].items()}


def make_design(n_groups: int = N_GROUPS, n_per_group: int = N_PER_GROUP) -> pd.DataFrame:
    """The fixed design: columns ``x`` (normal, mean ``X_MEAN``, sd 1, seeded) and ``g``.

    ``x`` is not centered so that the user-scale ``Intercept`` differs from the sampled
    ``Intercept_centered`` by ``mean(x) * b``, about half a prior sd of ``b``: a mistake in
    that transform shows in the intercept's ranks. Level names (``g01``, ...) sort in the
    order of appearance, so ``r_g``'s first level is ``g01``.
    """
    rng = np.random.default_rng(DESIGN_SEED)
    g = np.repeat([f"g{j + 1:02d}" for j in range(n_groups)], n_per_group)
    return pd.DataFrame({"x": rng.normal(X_MEAN, 1.0, n_groups * n_per_group), "g": g})


def sample_prior(dist: str, params: Mapping[str, float], size, rng: np.random.Generator):
    """Draws from the PyMC distribution ``dist(**params)`` with NumPy.

    Parameters
    ----------
    dist : str
        ``Normal``, ``StudentT``, ``HalfNormal``, ``HalfStudentT``, ``HalfCauchy``,
        ``Exponential``, ``Gamma`` (``alpha``, ``beta``) or ``LogNormal``, with PyMC's
        parameter names and defaults; or ``LKJ`` (``eta``), which gives the correlation of
        a 2 x 2 LKJ matrix, ``2 Beta(eta, eta) - 1``.
    params : mapping
        The distribution's parameters.
    size : int or tuple
        Shape of the draws.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        For a distribution this sampler does not cover.
    """
    p = dict(params)
    if dist == "Normal":
        return rng.normal(p.get("mu", 0.0), p.get("sigma", 1.0), size)
    if dist == "StudentT":
        return p.get("mu", 0.0) + p.get("sigma", 1.0) * rng.standard_t(p["nu"], size)
    if dist == "HalfNormal":
        return np.abs(rng.normal(0.0, p.get("sigma", 1.0), size))
    if dist == "HalfStudentT":
        return np.abs(p.get("sigma", 1.0) * rng.standard_t(p.get("nu", 1.0), size))
    if dist == "HalfCauchy":
        return np.abs(p.get("beta", 1.0) * rng.standard_cauchy(size))
    if dist == "Exponential":
        return rng.exponential(1.0 / p.get("lam", 1.0), size)
    if dist == "Gamma":
        return rng.gamma(p["alpha"], 1.0 / p["beta"], size)
    if dist == "LogNormal":
        return rng.lognormal(p.get("mu", 0.0), p.get("sigma", 1.0), size)
    if dist == "LKJ":
        eta = p.get("eta", 1.0)
        return 2.0 * rng.beta(eta, eta, size) - 1.0
    raise ValueError(f"sample_prior does not cover {dist!r}")


def draw_truth(family: str, design: pd.DataFrame, rng: np.random.Generator) -> dict:
    """Parameters drawn from ``family``'s priors, as the model defines them.

    ``Intercept_centered`` (the intercept at the mean of ``x``) gets the Intercept prior;
    ``Intercept = Intercept_centered - mean(x) * b``. The sds and the correlation give
    the covariance of each group's (intercept, slope) effects, drawn as normals.

    Returns
    -------
    dict
        ``Intercept_centered``, ``Intercept``, ``b``, ``sd`` (2,), ``cor``, ``r``
        (groups x 2, rows in level order), and ``sigma`` for the gaussian family.
    """
    spec = PRIOR_SPECS[family]
    levels = pd.unique(design["g"])
    intercept_c = float(sample_prior(*spec["Intercept"], None, rng))
    b = float(sample_prior(*spec["b"], None, rng))
    sd = sample_prior(*spec["sd"], 2, rng)
    cor = float(sample_prior(*spec["cor"], None, rng))
    chol = np.array([[1.0, 0.0], [cor, math.sqrt(1.0 - cor**2)]])
    r = rng.normal(size=(len(levels), 2)) @ (sd[:, None] * chol).T  # rows ~ N(0, S R S)
    truth = {
        "Intercept_centered": intercept_c,
        "Intercept": intercept_c - float(design["x"].mean()) * b,
        "b": b,
        "sd": sd,
        "cor": cor,
        "r": r,
    }
    for name in ("sigma", "sigma_b", "hu_Intercept"):
        if name in spec:
            truth[name] = float(sample_prior(*spec[name], None, rng))
    if "sigma_Intercept" in spec:  # its prior is at the mean of x, as the mean's intercept
        centered = float(sample_prior(*spec["sigma_Intercept"], None, rng))
        truth["sigma_Intercept_centered"] = centered
        truth["sigma_Intercept"] = centered - float(design["x"].mean()) * truth["sigma_b"]
    return truth


def simulate_response(family: str, design: pd.DataFrame, truth: dict, rng) -> np.ndarray:
    """The response drawn from ``family`` given the true parameters."""
    x = design["x"].to_numpy()
    level = pd.factorize(design["g"])[0]
    r = truth["r"][level]
    eta = truth["Intercept_centered"] + truth["b"] * (x - x.mean()) + r[:, 0] + r[:, 1] * x
    if family == "gaussian":
        return rng.normal(eta, truth["sigma"])
    if family == "bernoulli":
        return rng.binomial(1, special.expit(eta)).astype(float)
    if family == "poisson":
        return rng.poisson(np.exp(eta)).astype(float)
    if family == "gaussian_sigma":
        log_sigma = truth["sigma_Intercept_centered"] + truth["sigma_b"] * (x - x.mean())
        return rng.normal(eta, np.exp(log_sigma))
    if family == "hurdle_poisson":  # zero with probability hu, else Poisson given y > 0
        rate = np.exp(eta)
        positive = stats.poisson.ppf(rng.uniform(np.exp(-rate), 1.0), rate)
        return np.where(
            rng.uniform(size=x.size) < special.expit(truth["hu_Intercept"]),
            0.0,
            np.maximum(positive, 1.0),
        )
    raise ValueError(f"unknown family {family!r}")


def true_values(family: str, truth: dict) -> dict[str, float]:
    """The true value of each recorded parameter, by name."""
    values = {
        "Intercept": truth["Intercept"],
        "b[x]": truth["b"],
        "sd_g[Intercept]": truth["sd"][0],
        "sd_g[x]": truth["sd"][1],
        "cor_g[Intercept,x]": truth["cor"],
        "sigma": truth.get("sigma"),
        f"r_g[{FIRST_LEVEL},Intercept]": truth["r"][0, 0],
        f"r_g[{FIRST_LEVEL},x]": truth["r"][0, 1],
        "sigma_Intercept": truth.get("sigma_Intercept"),
        "sigma_b[x]": truth.get("sigma_b"),
        "hu_Intercept": truth.get("hu_Intercept"),
    }
    return {name: float(values[name]) for name in family_parameters(family)}


# --------------------------------------------------------------------------- ranks


def thin(draws: np.ndarray, n_ranks: int) -> np.ndarray:
    """``n_ranks`` draws evenly spaced within each chain of ``draws`` (chains x draws).

    Each chain contributes ``ceil(n_ranks / chains)`` draws ``step`` apart, the largest
    spacing that fits; chain-major order, then truncated to ``n_ranks``.
    """
    chains, n = draws.shape
    per_chain = math.ceil(n_ranks / chains)
    step = n // per_chain
    if step < 1:
        raise ValueError(f"{chains} chains of {n} draws cannot give {n_ranks} thinned draws")
    kept = draws[:, step - 1 :: step][:, :per_chain]
    return kept.reshape(-1)[:n_ranks]


def ranks(posterior, truth: Mapping[str, float], n_ranks: int) -> dict[str, int]:
    """Rank of each true value: the number of thinned posterior draws below it."""
    result = {}
    for name, value in truth.items():
        draws = np.asarray(_SELECT[name](posterior).transpose("chain", "draw").values)
        result[name] = int(np.sum(thin(draws, n_ranks) < value))
    return result


def run_simulation(family: str, sim: int, settings: Settings) -> dict:
    """Draw a truth and data, fit the model and return the ranks and diagnostics.

    A fit that raises is recorded with its error and no ranks (never silently dropped).
    """
    import arviz as az

    import mixedbayes as mb

    design = make_design()
    rng = np.random.default_rng([settings.truth_seed, FAMILIES.index(family), sim])
    truth = draw_truth(family, design, rng)
    data = design.assign(y=simulate_response(family, design, truth, rng))
    values = true_values(family, truth)
    record = {
        "family": family,
        "sim": sim,
        "settings": asdict(settings),
        "truth": values,
        "y_mean": float(data["y"].mean()),
    }
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = mb.Model(
                model_spec(family),
                data,
                family=FAMILY_OF.get(family, family),
                priors=model_priors(family),
            )
            fit = model.fit(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                random_seed=sim,
                progressbar=False,
                target_accept=settings.target_accept,
                sampler=settings.sampler,
                marginalize=False if settings.marginalize == "False" else settings.marginalize,
                cores=1,
            )
    except Exception as error:  # recorded and counted in the summary, never dropped
        record.update(
            error=f"{type(error).__name__}: {error}",
            seconds=_since(start),
            cpu_seconds=round(time.process_time() - cpu, 3),
        )
        return record
    posterior, sample_stats = fit.idata.posterior, fit.idata.sample_stats
    draws = {name: _SELECT[name](posterior).transpose("chain", "draw").values for name in values}
    record.update(
        error=None,
        seconds=_since(start),
        cpu_seconds=round(time.process_time() - cpu, 3),
        ranks=ranks(posterior, values, settings.n_ranks),
        divergences=int(sample_stats["diverging"].sum()),
        mean_tree_depth=float(sample_stats["tree_depth"].mean()),
        # R-hat needs two chains (ArviZ warns on one)
        max_rhat=max(float(az.rhat(d)) if len(d) > 1 else np.nan for d in draws.values()),
        min_ess_bulk=min(float(az.ess(d)) for d in draws.values()),
        warnings=sorted({str(w.message).split(":")[0][:80] for w in caught}),
    )
    return record


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)


# --------------------------------------------------------------------------- running


def sim_path(out: Path, family: str, sim: int) -> Path:
    """Where simulation ``sim`` of ``family`` is saved."""
    return out / "sims" / family / f"sim_{sim:04d}.json"


def load_record(path: Path, settings: Settings) -> dict | None:
    """A saved simulation, or None if absent; an error if it used other settings."""
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    # older runs: PyMC's sampler, the default marginalization, the first truth seed
    old = {"sampler": "pymc", "marginalize": "auto", "truth_seed": TRUTH_SEED}
    record["settings"] = old | record["settings"]
    if record["settings"] != asdict(settings):
        raise SystemExit(
            f"{path} was run with {record['settings']}, not {asdict(settings)}: use another "
            "--out or remove the old results"
        )
    return record


def run_sims(
    family: str, sims: Sequence[int], settings: Settings, out: Path | None, verbose=True
) -> list[dict]:
    """Run (or, with ``out``, resume) the simulations ``sims`` of ``family`` in order."""
    _quiet()
    records = []
    for sim in sims:
        path = sim_path(out, family, sim) if out is not None else None
        record = load_record(path, settings) if path is not None else None
        if record is None:
            record = run_simulation(family, sim, settings)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(record, indent=1))
                tmp.replace(path)
            if verbose:
                status = record["error"] or (
                    f"{record['seconds']:.1f} s ({record['cpu_seconds']:.1f} s CPU), "
                    f"tree depth {record['mean_tree_depth']:.1f}, "
                    f"{record['divergences']} divergences, "
                    f"max R-hat {record['max_rhat']:.3f}"
                )
                print(f"{family} sim {sim}: {status}", flush=True)
        records.append(record)
    return records


def _worker(args: tuple) -> int:
    family, sims, settings, out = args
    return len(run_sims(family, sims, Settings(**settings), Path(out)))


def run_family(
    family: str, n_sims: int, settings: Settings, out: Path | None, workers: int = 1
) -> list[dict]:
    """All ``n_sims`` simulations of ``family``, with ``workers`` processes (``spawn``).

    Worker ``w`` takes simulations ``w, w + workers, ...``; every result is saved under
    ``out`` as it finishes, so an interrupted run resumes where it stopped.
    """
    sims = list(range(n_sims))
    if workers <= 1 or out is None:
        return run_sims(family, sims, settings, out)
    jobs = [(family, sims[w::workers], asdict(settings), str(out)) for w in range(workers)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.map(_worker, jobs, chunksize=1)
    return [load_record(sim_path(out, family, sim), settings) for sim in sims]


def _quiet() -> None:
    for name in ("pymc", "pymc.sampling.mcmc", "pytensor"):
        logging.getLogger(name).setLevel(logging.ERROR)


# --------------------------------------------------------------------------- summaries


def ranks_table(records: Sequence[dict]) -> pd.DataFrame:
    """One row per simulation: ranks, divergences, max R-hat, min bulk ESS, seconds."""
    rows = []
    for r in records:
        row = {
            "family": r["family"],
            "sim": r["sim"],
            "seconds": r["seconds"],
            "cpu_seconds": r.get("cpu_seconds"),
            "error": r["error"] or "",
            "divergences": r.get("divergences"),
            "max_rhat": r.get("max_rhat"),
            "min_ess_bulk": r.get("min_ess_bulk"),
            "mean_tree_depth": r.get("mean_tree_depth"),
            "y_mean": r["y_mean"],
        }
        row.update(r.get("ranks") or {})
        rows.append(row)
    return pd.DataFrame(rows)


def n_bins(n_sims: int, n_ranks: int, max_bins: int = 20, min_expected: float = 5.0) -> int:
    """The most bins (at most ``max_bins``) that split the ``n_ranks + 1`` rank values
    evenly with at least ``min_expected`` simulations expected in each."""
    candidates = [
        k for k in range(1, max_bins + 1) if (n_ranks + 1) % k == 0 and n_sims / k >= min_expected
    ]
    return max(candidates) if candidates else 1


def uniformity(values: np.ndarray, n_ranks: int, bins: int, seed: int = 0) -> dict:
    """Tests of ranks in ``0..n_ranks`` against the discrete uniform distribution.

    Returns
    -------
    dict
        ``chi2`` and ``chi2_p``: Pearson's test on ``bins`` equal bins of ranks (NaN for
        a single bin); ``ks_p``: Kolmogorov-Smirnov of the randomized ranks
        ``(rank + U) / (L + 1)``, exactly Uniform(0, 1) under calibration (``U`` uniform,
        from ``seed``); ``mean``: the mean of ``rank / L`` (0.5 expected; lower means the
        posterior sits above the truth).
    """
    values = np.asarray(values, dtype=float)
    counts = np.bincount((values * bins // (n_ranks + 1)).astype(int), minlength=bins)
    chi2, chi2_p = stats.chisquare(counts) if bins > 1 else (np.nan, np.nan)
    jitter = np.random.default_rng(seed).uniform(size=values.size)
    ks_p = stats.kstest((values + jitter) / (n_ranks + 1), "uniform").pvalue
    return {
        "chi2": float(chi2),
        "chi2_p": float(chi2_p),
        "ks_p": float(ks_p),
        "mean": float(values.mean() / n_ranks),
    }


def summarize(table: pd.DataFrame, settings: Settings, max_bins: int = 20) -> pd.DataFrame:
    """One row per (family, parameter): sims, bins, chi-square and KS p-values, and the
    family's sampler diagnostics (divergences, R-hat, time per fit)."""
    rows = []
    for family, part in table.groupby("family", sort=False):
        ok = part[part["error"] == ""]
        if ok.empty:
            continue
        bins = n_bins(len(ok), settings.n_ranks, max_bins)
        diagnostics = {
            "failed": len(part) - len(ok),
            "sims_with_divergences": int((ok["divergences"] > 0).sum()),
            "divergences": int(ok["divergences"].sum()),
            "sims_rhat_over_1.01": int((ok["max_rhat"] > 1.01).sum()),
            "max_rhat": float(ok["max_rhat"].max()),
            "median_min_ess_bulk": float(ok["min_ess_bulk"].median()),
            "median_seconds": float(ok["seconds"].median()),
            "median_cpu_seconds": float(ok["cpu_seconds"].median()),
        }
        for name in family_parameters(family):
            tests = uniformity(ok[name].to_numpy(), settings.n_ranks, bins)
            rows.append(
                {"family": family, "parameter": name, "sims": len(ok), "bins": bins}
                | tests
                | diagnostics
            )
    return pd.DataFrame(rows)


def _p(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f}"


def summary_markdown(summary: pd.DataFrame, settings: Settings) -> str:
    """The summary as markdown: a settings line, the uniformity table, then diagnostics."""
    lines = [
        f"Settings: `{FORMULA}`, {N_GROUPS} groups x {N_PER_GROUP} rows; "
        f"{settings.chains} chains x ({settings.tune} tune + {settings.draws} draws), "
        f"target_accept {settings.target_accept}; ranks among L = {settings.n_ranks} "
        f"thinned draws; truth seed {settings.truth_seed}. p-values: chi-square on binned "
        "ranks and KS on randomized ranks.",
        "",
        "| family | parameter | sims | bins | chi-square p | KS p | mean rank / L |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for _, r in summary.iterrows():
        lines.append(
            f"| {r['family']} | `{r['parameter']}` | {r['sims']} | {r['bins']} "
            f"| {_p(r['chi2_p'])} | {_p(r['ks_p'])} | {r['mean']:.3f} |"
        )
    lines += [
        "",
        "| family | sims | failed fits | fits with divergences (total) | fits with R-hat > 1.01 "
        "| worst R-hat | median min bulk ESS | median s per fit (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for family, part in summary.groupby("family", sort=False):
        r = part.iloc[0]
        lines.append(
            f"| {family} | {r['sims']} | {r['failed']} | {r['sims_with_divergences']} "
            f"({r['divergences']}) | {r['sims_rhat_over_1.01']} | {r['max_rhat']:.3f} "
            f"| {r['median_min_ess_bulk']:.0f} | {r['median_seconds']:.1f} "
            f"({r['median_cpu_seconds']:.1f}) |"
        )
    return "\n".join(lines) + "\n"


def plot_ranks(table: pd.DataFrame, settings: Settings, path: Path, max_bins: int = 20):
    """Rank histograms, one row per family, with the 99% band of a uniform histogram.

    The bins are those of the chi-square test, but with at least 1 (not 5) simulation
    expected per bin, so that small runs still show a histogram.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(table["family"]))
    ncols = max(len(family_parameters(f)) for f in families)
    fig, axes = plt.subplots(
        len(families), ncols, figsize=(2.2 * ncols, 2.1 * len(families)), squeeze=False
    )
    for i, family in enumerate(families):
        ok = table[(table["family"] == family) & (table["error"] == "")]
        bins = n_bins(len(ok), settings.n_ranks, max_bins, min_expected=1.0)
        edges = np.linspace(0, settings.n_ranks + 1, bins + 1)
        low, high = stats.binom.ppf([0.005, 0.995], len(ok), 1.0 / bins)
        names = family_parameters(family)
        for j, ax in enumerate(axes[i]):
            if j >= len(names):
                ax.axis("off")
                continue
            ax.axhspan(low, high, color="0.85", zorder=0)
            ax.axhline(len(ok) / bins, color="0.5", lw=0.8, zorder=1)
            ax.hist(ok[names[j]], bins=edges, color="C0", edgecolor="white", zorder=2)
            ax.set_title(f"{family}: {names[j]}", fontsize=7)
            ax.set_xlabel("rank", fontsize=6)
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
    fig.suptitle(
        f"SBC ranks among L = {settings.n_ranks} draws; grey: 99% range of a bin's count "
        "under uniformity",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(records_by_family: Mapping[str, list[dict]], settings: Settings, out: Path):
    """Write ranks CSVs, ``sbc_summary.csv``/``.md`` and ``sbc_ranks.png`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    tables = []
    for family, records in records_by_family.items():
        table = ranks_table(records)
        table.to_csv(out / f"sbc_ranks_{family}.csv", index=False)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    summary = summarize(table, settings)
    summary.to_csv(out / "sbc_summary.csv", index=False)
    (out / "sbc_summary.md").write_text(summary_markdown(summary, settings))
    plot_ranks(table, settings, out / "sbc_ranks.png")
    return summary


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", nargs="+", default=["all"], choices=(*FAMILIES, "all"))
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("validation/results"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--draws", type=int, default=Settings.draws)
    parser.add_argument("--tune", type=int, default=Settings.tune)
    parser.add_argument("--chains", type=int, default=Settings.chains)
    parser.add_argument("--n-ranks", type=int, default=Settings.n_ranks, help="L")
    parser.add_argument("--target-accept", type=float, default=Settings.target_accept)
    parser.add_argument("--sampler", default=Settings.sampler, help="Model.fit(sampler=...)")
    parser.add_argument(
        "--marginalize", default="auto", choices=("auto", "False"), help="Model.fit(...)"
    )
    parser.add_argument("--truth-seed", type=int, default=TRUTH_SEED, help="new data sets")
    args = parser.parse_args(argv)
    settings = Settings(
        args.draws,
        args.tune,
        args.chains,
        args.n_ranks,
        args.target_accept,
        args.sampler,
        args.marginalize,
        args.truth_seed,
    )
    families = FAMILIES if "all" in args.family else tuple(args.family)
    records = {}
    for family in families:
        start = time.perf_counter()
        records[family] = run_family(family, args.sims, settings, args.out, args.workers)
        print(f"{family}: {args.sims} simulations in {_since(start):.0f} s", flush=True)
    summary = write_outputs(records, settings, args.out)
    print(summary_markdown(summary, settings))
    return summary


if __name__ == "__main__":
    main()

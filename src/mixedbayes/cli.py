"""The ``mixedbayes`` command: fit a model to a data file, summarize a saved fit, run the demo.

::

    mixedbayes fit "gpa ~ occasion + (1 + occasion | student)" gpa.csv --out fit.nc
    mixedbayes summary fit.nc --fixef --varcorr
    mixedbayes summary fit.nc --trusted   # a file whose formula needs more than safe names
    mixedbayes demo --figures figures

``python -m mixedbayes ...`` is the same command. Mistakes a user can make (a mixedbayes
error such as an unknown column, a missing or unreadable file) print
``mixedbayes: error: <message>`` on stderr and exit with status 2, without a traceback;
warnings (convergence, dropped rows) print as one ``<Category>: <message>`` line.
``summary`` evaluates a stored formula only in the safe expression language
(:mod:`mixedbayes.formula.safety`) unless given ``--trusted``.
Figures are drawn with matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MixedBayesError

DEMO_DATA = Path(__file__).resolve().parents[2] / "data" / "gpa.csv"
DEMO_FORMULA = "gpa ~ occasion + sex + (1 + occasion | student)"
# names a formula may use besides the data's columns (formulaic adds center, scale, C, I...)
FORMULA_CONTEXT = {"np": np, "numpy": np}
R_SUFFIXES = (".rds", ".rdata", ".rda")
TABLES = ("fixef", "varcorr", "cor", "ranef", "icc", "r2", "diagnostics")


class CliError(Exception):
    """A problem with the command's inputs (files), reported without a traceback."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``mixedbayes`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a user error (message on stderr). ``--help`` and invalid
        arguments exit through argparse's ``SystemExit`` (status 0 and 2).
    """
    args = build_parser().parse_args(argv)  # --help exits here, before PyMC is imported
    import matplotlib

    matplotlib.use("Agg")  # never open windows, whatever the environment
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            args.run(args)
        except (MixedBayesError, CliError) as error:
            print(f"mixedbayes: error: {error}", file=sys.stderr)
            return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its ``fit``, ``summary``, ``demo`` and ``warmup`` commands."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mixedbayes",
        description="Bayesian mixed-effects models from lme4-style formulas, sampled with PyMC.",
    )
    parser.add_argument("--version", action="version", version=f"mixedbayes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit a formula to a data file and print the summary",
        description="Fit FORMULA to the data in DATA (.csv, .tsv, .parquet, .rds, .RData) "
        "and print the summary; --out saves the fit for `mixedbayes summary` and mb.load.",
    )
    fit.add_argument("formula", help='lme4-style formula, e.g. "y ~ x + (1 + x | g)" (quoted)')
    fit.add_argument("data", type=Path, help="data file: .csv, .tsv, .parquet, .rds or .RData")
    fit.add_argument(
        "--family",
        default="gaussian",
        help="response family (default gaussian), e.g. bernoulli, poisson, negative_binomial, "
        "cumulative, zero_inflated_poisson; all: docs/families.md (an unknown name lists them)",
    )
    fit.add_argument("--link", help="another link than the family's default, e.g. probit")
    fit.add_argument("--draws", type=int, default=1000, help="kept draws per chain (1000)")
    fit.add_argument("--tune", type=int, default=1000, help="warm-up steps per chain (1000)")
    fit.add_argument("--chains", type=int, default=4, help="number of chains (4)")
    fit.add_argument("--cores", type=int, help="chains run in parallel (min(chains, 4))")
    fit.add_argument("--seed", type=int, help="random seed: the same seed gives the same draws")
    fit.add_argument(
        "--sampler",
        default="auto",
        help="NUTS implementation: auto (numpyro, else PyMC), pymc, nutpie, numpyro, blackjax",
    )
    fit.add_argument(
        "--target-accept", type=float, default=0.8, help="raise towards 0.99 on divergences"
    )
    fit.add_argument("--prob", type=_probability, default=0.95, help="interval probability (0.95)")
    fit.add_argument("--out", type=Path, help="write the fit to this netCDF file (fit.nc)")
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    fit.set_defaults(run=run_fit)

    summary = commands.add_parser(
        "summary",
        help="print the summary (or some tables) of a saved fit",
        description="Print the summary of a fit saved with `mixedbayes fit --out` or "
        "Fit.save(); table options print only those tables.",
    )
    summary.add_argument("path", type=Path, help="a fit saved as netCDF (fit.nc)")
    summary.add_argument(
        "--prob", type=_probability, default=0.95, help="interval probability (0.95)"
    )
    summary.add_argument(
        "--trusted",
        action="store_true",
        help="evaluate the stored formula as Python (with numpy as np), not only the safe "
        "expression language: only for a file you trust",
    )
    for name in TABLES:
        summary.add_argument(
            f"--{name}", action="store_true", help=f"print fit.{name}() instead of the summary"
        )
    summary.set_defaults(run=run_summary)

    demo_parser = commands.add_parser(
        "demo",
        help="fit a random-slopes model on the shipped GPA data and write figures",
        description=f"Fit {DEMO_FORMULA!r} to data/gpa.csv, print the summary and save "
        "the figures it names.",
    )
    demo_parser.add_argument("--draws", type=int, default=1000, help="draws and tune (1000)")
    demo_parser.add_argument("--chains", type=int, default=4, help="number of chains (4)")
    demo_parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    demo_parser.add_argument(
        "--figures",
        type=Path,
        default=Path("figures"),
        help="directory for the figures (figures/); created if needed",
    )
    demo_parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    demo_parser.set_defaults(run=run_demo)

    warm = commands.add_parser(
        "warmup",
        help="compile the common model shapes once per machine (about a minute)",
        description="Fit simulated data of the common shapes (Gaussian random intercepts "
        "and correlated slopes, one factor with up to 32, 64, 128 or 256 levels) so that "
        "a first fit of those shapes loads its compiled program from the cache.",
    )
    warm.add_argument("--levels", type=int, nargs="+", default=None, help="32 64 128 256")
    warm.add_argument("--draws", type=int, default=1000, help="draws and tune (1000)")
    warm.add_argument("--chains", type=int, default=4, help="number of chains (4)")
    warm.set_defaults(run=run_warmup)
    return parser


def run_warmup(args: argparse.Namespace) -> None:
    """``mixedbayes warmup``."""
    from .warmup import LEVELS, warmup

    warmup(tuple(args.levels or LEVELS), draws=args.draws, chains=args.chains)


def run_fit(args: argparse.Namespace) -> None:
    """``mixedbayes fit``: read, fit, save (with ``--out``), print the summary."""
    from .model import Model

    data = read_data(args.data)
    model = Model(args.formula, data, args.family, link=args.link, context=FORMULA_CONTEXT)
    fit = model.fit(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        random_seed=args.seed,
        sampler=args.sampler,
        progressbar=not args.no_progress,
        target_accept=args.target_accept,
        cores=args.cores,
    )
    if args.out is not None:
        _save(fit, args.out)
    print(fit.summary(args.prob))
    if args.out is not None:
        print(f"\nFit saved to {args.out}; read it back with mixedbayes summary {args.out}")


def run_summary(args: argparse.Namespace) -> None:
    """``mixedbayes summary``: the summary of a saved fit, or the tables asked for."""
    from .io import load_fit
    from .results.report import _text as format_table  # the summary's table layout

    if not args.path.is_file():
        raise CliError(f"no such file: {args.path}")
    fit = load_fit(args.path, FORMULA_CONTEXT, trusted=args.trusted)
    chosen = [name for name in TABLES if getattr(args, name)]
    if not chosen:
        print(fit.summary(args.prob))
        return
    for i, name in enumerate(chosen):
        method = getattr(fit, name)
        table = method() if name == "diagnostics" else method(args.prob)
        if name == "r2":
            table = table.rename_axis("r2").reset_index()
        print(("\n" if i else "") + f"fit.{name}():")
        print(format_table(table))


def run_demo(args: argparse.Namespace) -> None:
    """``mixedbayes demo``."""
    demo(args.draws, args.chains, None if args.no_figures else args.figures, args.seed)


def demo(draws: int = 1000, chains: int = 4, figures: Path | None = None, seed: int = 1):
    """Fit the GPA growth model with a random slope of occasion; print its summary and
    save its figures.

    Parameters
    ----------
    draws : int, default 1000
        Draws and tuning steps per chain.
    chains : int, default 4
    figures : Path, optional
        Directory for the figures (see :func:`save_figures`); None writes none.
    seed : int, default 1

    Returns
    -------
    Fit
    """
    from .model import Model

    if not DEMO_DATA.exists():
        raise CliError(f"demo data not found at {DEMO_DATA}; run python data/make_data.py")
    data = pd.read_csv(DEMO_DATA)
    print(f"Fitting {DEMO_FORMULA!r} to {DEMO_DATA.name} ({len(data)} rows)\n")
    fit = Model(DEMO_FORMULA, data).fit(draws=draws, tune=draws, chains=chains, random_seed=seed)
    print(fit.summary())
    if figures is not None:
        print()
        for path in save_figures(fit, figures):
            print(f"wrote {path}")
    return fit


def save_figures(fit, directory: Path, x: str = "occasion") -> list[Path]:
    """Draw the demo's figures of ``fit`` into ``directory`` (created if needed).

    Parameters
    ----------
    fit : Fit
    directory : Path
    x : str, default "occasion"
        The numeric predictor of ``fit.plot_effects``.

    Returns
    -------
    list of Path
        ``ranef.png`` (``fit.plot_ranef(max_levels=30)``), ``effects_<x>.png``
        (``fit.plot_effects(x)``), ``ppc.png`` (``fit.plot_ppc()``) and
        ``trajectories.png`` (``fit.plot_trajectories()``), in that order.
    """
    import matplotlib.pyplot as plt

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create the figures directory {directory}: {error}") from None
    figures = {
        "ranef.png": lambda: fit.plot_ranef(max_levels=30),
        f"effects_{x}.png": lambda: fit.plot_effects(x),
        "ppc.png": lambda: fit.plot_ppc(random_seed=1),
        "trajectories.png": lambda: fit.plot_trajectories(random_seed=1),
    }
    written = []
    for name, draw in figures.items():
        figure = draw()
        path = directory / name
        try:
            figure.savefig(path, dpi=100)
        except OSError as error:
            raise CliError(f"cannot write {path}: {error}") from None
        finally:
            plt.close(figure)
        written.append(path)
    return written


def read_data(path: Path) -> pd.DataFrame:
    """A data file as a DataFrame, by its suffix.

    ``.csv`` and ``.tsv`` (pandas), ``.parquet`` (pandas with pyarrow or fastparquet),
    ``.rds``, ``.RData`` and ``.rda`` (``mixedbayes.datasets.read_r``, which needs the
    ``mixedbayes[datasets]`` extra). Columns are read as the file has them: grouping
    columns holding numbers are treated as categories by the model.

    Raises
    ------
    CliError
        For a missing file, an unknown suffix or a file that cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in R_SUFFIXES:
            return _read_r(path)
    except (ImportError, OSError, ValueError) as error:  # pandas' parser errors included
        if isinstance(error, MixedBayesError):
            raise
        raise CliError(f"cannot read {path}: {error}") from None
    raise CliError(
        f"cannot read {path}: unknown file type {path.suffix!r}; "
        "use .csv, .tsv, .parquet, .rds or .RData"
    )


def _read_r(path: Path) -> pd.DataFrame:
    try:
        from .datasets import read_r
    except ImportError:
        raise CliError(
            f"cannot read {path}: reading R files needs mixedbayes.datasets.read_r "
            "(pip install 'mixedbayes[datasets]')"
        ) from None
    return read_r(path)


def _save(fit, path: Path) -> None:
    try:
        fit.save(path)
    except OSError as error:
        raise CliError(f"cannot write the fit to {path}: {error}") from None


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95), got {text!r}")
    return value


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{category.__name__}: {message}", file=sys.stderr)

"""``python -m mixedbayes demo``: fit a random-slopes model on the shipped demo data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .model import Model

DEMO_DATA = Path(__file__).resolve().parents[2] / "data" / "gpa.csv"
DEMO_FORMULA = "gpa ~ occasion + sex + (1 + occasion | student)"


def demo(draws: int, chains: int) -> None:
    """Fit the GPA growth model with a random slope of occasion and print the summary."""
    if not DEMO_DATA.exists():
        raise SystemExit(f"demo data not found at {DEMO_DATA}; run python data/make_data.py")
    data = pd.read_csv(DEMO_DATA)
    print(f"Fitting {DEMO_FORMULA!r} to {DEMO_DATA.name} ({len(data)} rows)\n")
    fit = Model(DEMO_FORMULA, data).fit(draws=draws, tune=draws, chains=chains, random_seed=1)
    print(fit.summary())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mixedbayes")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help=demo.__doc__)
    demo_parser.add_argument("--draws", type=int, default=1000)
    demo_parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.draws, args.chains)


if __name__ == "__main__":
    main()

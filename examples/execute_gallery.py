"""Run the example notebooks for the docs site's gallery, and draw every plot method.

    .venv/bin/python examples/execute_gallery.py [--force]

- Each ``examples/NN_*.ipynb`` is executed (nbclient, in ``examples/``, with
  ``GALLERY_SETTINGS``: fewer draws than real work) and written with its outputs and
  figures to ``docs/gallery/``, where mkdocs-jupyter renders it. A notebook whose code and
  settings have not changed since (the hash in its metadata) is skipped, so rebuilding is
  quick; ``tests/unit/test_docs.py`` fails when a gallery notebook is stale.
- Every ``Fit.plot_*`` method draws its picture from a GPA fit into
  ``docs/images/plot_<name>.png`` (the pages show them), when missing or with ``--force``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GALLERY = ROOT / "docs" / "gallery"
IMAGES = ROOT / "docs" / "images"
GALLERY_SETTINGS = {
    "MIXEDBAYES_EXAMPLE_DRAWS": "500",
    "MIXEDBAYES_EXAMPLE_TUNE": "500",
    "MIXEDBAYES_EXAMPLE_CHAINS": "2",
}
# method -> keyword arguments, on the GPA fit of plot_pictures()
PLOTS = {
    "plot_ranef": {"max_levels": 30},
    "plot_effects": {"x": "occasion", "by": "sex"},
    "plot_trajectories": {"random_seed": 1},
    "plot_ppc": {"random_seed": 1},
    "plot_predictions": {"condition": ["occasion", "sex"]},
    "plot_comparisons": {"variable": "sex"},
    "plot_slopes": {"variable": "occasion", "condition": "sex"},
    "plot_trace": {},
    "plot_rank": {},
    "plot_prior_vs_posterior": {"random_seed": 1},
    "plot_funnel": {"group": "student"},
}


def source_hash(path: Path) -> str:
    """Hash of a notebook's cell sources and the gallery settings."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    text = json.dumps([[c.cell_type, c.source] for c in notebook.cells])
    return hashlib.sha256((text + json.dumps(GALLERY_SETTINGS)).encode()).hexdigest()


def stale(path: Path) -> bool:
    """Whether ``docs/gallery/<path.name>`` is missing or was run from other sources."""
    import nbformat

    target = GALLERY / path.name
    if not target.exists():
        return True
    stored = nbformat.read(target, as_version=4).metadata.get("mixedbayes", {})
    return stored.get("source_hash") != source_hash(path)


def clean(notebook) -> None:
    """Drop library noise from stderr (PyTensor's BLAS notice, JAX's skipped checks,
    tqdm): keep mixedbayes's own warnings, which say something about the fit."""
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = [line for line in output["text"].splitlines() if KEEP in line]
                if not lines:
                    continue
                output["text"] = "\n".join(line[line.index(KEEP) :] for line in lines) + "\n"
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept


KEEP = "ConvergenceWarning"


def execute(path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ.update(GALLERY_SETTINGS)
    NotebookClient(notebook, timeout=900, resources={"metadata": {"path": str(HERE)}}).execute()
    clean(notebook)
    notebook.metadata["mixedbayes"] = {"source_hash": source_hash(path)}
    GALLERY.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, GALLERY / path.name)


def plot_pictures(force: bool) -> None:
    """One picture per plot method, from a GPA random-slopes fit (small draws)."""
    wanted = [m for m in PLOTS if force or not (IMAGES / f"{m}.png").exists()]
    if not wanted:
        return
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import mixedbayes as mb

    gpa = pd.read_csv(ROOT / "data" / "gpa.csv")
    model = mb.Model("gpa ~ occasion + sex + (1 + occasion | student)", gpa)
    fit = model.fit(draws=500, tune=500, chains=2, random_seed=1, progressbar=False)
    for method in wanted:
        figure = getattr(fit, method)(**PLOTS[method])
        figure.savefig(IMAGES / f"{method}.png", dpi=80, bbox_inches="tight")
        print(f"wrote docs/images/{method}.png")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rerun everything")
    args = parser.parse_args(argv)
    for path in sorted(HERE.glob("*.ipynb")):
        if args.force or stale(path):
            print(f"running {path.name} ...", flush=True)
            execute(path)
    plot_pictures(args.force)


if __name__ == "__main__":
    sys.exit(main())

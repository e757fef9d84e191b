"""The example notebooks in ``examples/``: generated, parseable, and runnable.

Fast checks (no sampling): the notebooks on disk are exactly what
``examples/make_notebooks.py`` writes (so edits go through the generator and no outputs
are committed), every code cell parses, the first code cell reads the draw settings from
the environment and every ``.fit(...)`` uses them.

Slow check: every ``examples/*.ipynb`` (found by glob, so a new notebook is picked up) runs
top to bottom with nbclient, in ``examples/``, with small draws; any cell error fails.
``ConvergenceWarning``s are expected with so few draws and do not fail a notebook.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

# 100 kept draws in one chain; 200 warm-up steps, because with 100 PyMC's step-size and
# mass-matrix adaptation often ends too early and NUTS then runs at its maximum tree depth
# (several times slower, e.g. on the nurses data)
SMALL = {
    "MIXEDBAYES_EXAMPLE_DRAWS": "100",
    "MIXEDBAYES_EXAMPLE_TUNE": "200",
    "MIXEDBAYES_EXAMPLE_CHAINS": "1",
}
SETTINGS = {"draws": "DRAWS", "tune": "TUNE", "chains": "CHAINS"}
CELL_TIMEOUT = 300  # seconds


def generator():
    """``examples/make_notebooks.py`` as a module."""
    spec = importlib.util.spec_from_file_location("make_notebooks", EXAMPLES / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_cells(path: Path) -> list:
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8, NOTEBOOKS


def test_notebooks_are_what_the_generator_writes():
    make = generator()
    expected = {f"{name}.ipynb" for name in make.NOTEBOOKS}
    assert {path.name for path in NOTEBOOKS} == expected, (
        "every notebook in examples/ must come from examples/make_notebooks.py"
    )
    for name in make.NOTEBOOKS:
        on_disk = (EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8")
        assert on_disk == make.render(name), (
            f"examples/{name}.ipynb differs from what examples/make_notebooks.py writes: "
            "edit the generator and run `python examples/make_notebooks.py`"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_code_cells_parse(path):
    for cell in code_cells(path):
        try:
            ast.parse(cell.source)
        except SyntaxError as error:
            pytest.fail(f"{path.name}, cell {cell.get('id')}: {error}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_draw_settings_come_from_the_environment(path):
    cells = code_cells(path)
    for variable in SMALL:
        assert variable in cells[0].source, f"{path.name}: first code cell must read {variable}"
    fits = 0
    for cell in cells:
        for node in ast.walk(ast.parse(cell.source)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "fit"
            ):
                continue
            fits += 1
            given = {k.arg: getattr(k.value, "id", None) for k in node.keywords}
            for argument, variable in SETTINGS.items():
                assert given.get(argument) == variable, (
                    f"{path.name}, cell {cell.get('id')}: .fit() needs {argument}={variable}"
                )
    assert fits, f"{path.name} fits no model"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    from ipykernel.kernelspec import write_kernel_spec
    from nbclient import NotebookClient

    for variable, value in SMALL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)  # warnings must stay warnings
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend
    # a "python3" kernel spec for this interpreter, found before any user-wide one, so the
    # notebooks run in this environment (a fresh venv needs no `ipykernel install`)
    write_kernel_spec(tmp_path / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

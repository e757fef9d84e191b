"""Compiled samplers on disk: one compilation per argument shapes, read back by a new
process (here: a new wrapper) without tracing, never shared across keys or shapes, and
compiled anew from a damaged file."""

from pathlib import Path

import numpy as np
import pytest

from mixedbayes.sampling import executables

jax = pytest.importorskip("jax")


@pytest.fixture
def traced(tmp_path, monkeypatch):
    """``(make, calls, folder)``: ``make()`` is a new jitted function (as in a new process,
    unknown to JAX's own trace cache) that records the shapes it is traced with."""
    monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path))
    calls = []

    def make():
        def f(x, y):
            calls.append(np.shape(x))
            return {"s": jax.numpy.sin(x) * y}

        return jax.jit(f)

    return make, calls, tmp_path


def files(folder: Path) -> list[Path]:
    return sorted((folder / "executables").glob("*.bin"))


def test_options_compile_once_per_argument_shapes_with_the_same_values(traced):
    make, calls, _ = traced
    run = executables.compiled(make(), {"xla_cpu_use_fusion_emitters": False})
    x = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(run(x, 2.0)["s"], 2.0 * np.sin(x))
    np.testing.assert_allclose(run(x + 1.0, 3.0)["s"], 3.0 * np.sin(x + 1.0))
    assert calls == [(5,)]  # traced once for both calls
    run(np.zeros(3), 1.0)
    assert calls == [(5,), (3,)]  # a new shape compiles anew
    f = make()
    assert executables.compiled(f, None) is f  # nothing to do


def test_a_new_process_loads_the_executable_without_tracing(traced):
    make, calls, folder = traced
    x = np.linspace(0.0, 1.0, 5)
    first = executables.compiled(make(), None, key=("sin", 1))(x, 2.0)
    assert calls == [(5,)] and len(files(folder)) == 1
    again = executables.compiled(make(), None, key=("sin", 1))(x + 1.0, 3.0)
    assert calls == [(5,)]  # loaded, not traced
    np.testing.assert_allclose(again["s"], 3.0 * np.sin(x + 1.0))
    np.testing.assert_allclose(first["s"], 2.0 * np.sin(x))
    executables.compiled(make(), None, key=("sin", 2))(x, 2.0)  # another key
    executables.compiled(make(), None, key=("sin", 1))(np.zeros(4), 2.0)  # other shapes
    assert calls == [(5,), (5,), (4,)] and len(files(folder)) == 3


def test_a_damaged_file_is_compiled_again(traced):
    make, calls, folder = traced
    x = np.linspace(0.0, 1.0, 5)
    executables.compiled(make(), None, key=("sin",))(x, 2.0)
    (path,) = files(folder)
    path.write_bytes(path.read_bytes()[:100])
    out = executables.compiled(make(), None, key=("sin",))(x, 2.0)
    np.testing.assert_allclose(out["s"], 2.0 * np.sin(x))
    assert calls == [(5,), (5,)] and path.stat().st_size > 100  # compiled and rewritten

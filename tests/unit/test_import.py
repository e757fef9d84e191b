"""``import mixedbayes`` is fast: PyMC, ArviZ, JAX and formulaic load on first use (#18)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "arviz", "jax", "numpyro", "matplotlib", "formulaic", "xarray")


def test_import_loads_no_heavy_library():
    code = f"import sys, mixedbayes; print(*[m for m in {HEAVY!r} if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == []


def test_every_public_name_resolves_to_its_object():
    import mixedbayes as mb
    from mixedbayes.io import load
    from mixedbayes.model import Model
    from mixedbayes.priors import Prior
    from mixedbayes.results import Fit
    from mixedbayes.simulation import simulate
    from mixedbayes.warmup import warmup

    assert (mb.Model, mb.Fit, mb.Prior, mb.load, mb.simulate) == (Model, Fit, Prior, load, simulate)
    assert mb.warmup is warmup  # the function, not the module of the same name
    assert all(getattr(mb, name) is not None for name in mb.__all__)
    assert set(mb.__all__) <= set(dir(mb))
    with pytest.raises(AttributeError, match="no attribute 'Modle'"):
        mb.Modle  # noqa: B018

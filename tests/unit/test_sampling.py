"""Sampler choice and the JAX compilation cache (no sampling)."""

import pytest

from mixedbayes import sampling
from mixedbayes.sampling import drivers, numpyro_nuts, programs


def test_auto_is_numpyro_when_installed_else_pymc(monkeypatch):
    pytest.importorskip("numpyro")
    assert sampling.choose_sampler("auto") == "numpyro"
    monkeypatch.setattr(drivers, "installed", lambda module: module != "numpyro")
    assert sampling.choose_sampler("auto") == "pymc"
    assert sampling.choose_sampler("pymc") == "pymc"


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path / "mb"))
    assert programs.cache_dir() == str(tmp_path / "mb")
    monkeypatch.delenv("MIXEDBAYES_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert programs.cache_dir() == str(tmp_path / "xdg" / "mixedbayes")


def test_jax_cache_is_ours_unless_the_user_set_one(monkeypatch, tmp_path):
    jax = pytest.importorskip("jax")
    before = jax.config.jax_compilation_cache_dir
    try:
        jax.config.update("jax_compilation_cache_dir", None)
        monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path))
        assert numpyro_nuts.use_jax_cache() == str(tmp_path / "jax")
        jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
        assert numpyro_nuts.use_jax_cache() == str(tmp_path / "mine")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


@pytest.mark.parametrize("transformed", [True, False])
def test_starting_points_are_pymcs_for_the_same_seeds(transformed):
    """drivers._initial_point_fn compiles PyMC's initial-point graph with the Python linker;
    its jittered points must be PyMC's own, seed by seed."""
    import numpy as np
    import pandas as pd
    from pymc.initial_point import make_initial_point_fn
    from pymc.util import _get_seeds_per_chain

    import mixedbayes as mb

    rng = np.random.default_rng(3)
    data = pd.DataFrame({"g": np.repeat(list("abcdef"), 5), "x": rng.normal(size=30)})
    data["y"] = rng.poisson(np.exp(0.3 * data.x))
    model = mb.Model("y ~ x + (1 + x | g)", data, family="poisson").pymc_model
    ours = drivers.starting_points(model, 3, 11, transformed=transformed)
    jittered = {rv for rv in model.free_RVs if rv.name != "b"}
    pymcs = make_initial_point_fn(model=model, jitter_rvs=jittered, return_transformed=transformed)
    for point, seed in zip(ours, _get_seeds_per_chain(11, 3), strict=True):
        expected = pymcs(seed)
        assert point.keys() == expected.keys()
        for name, value in expected.items():
            np.testing.assert_array_equal(point[name], value)
    # jittered: the chains start apart
    jitter = [name for name in ours[0] if name != "b"]
    assert any(not np.array_equal(ours[0][n], ours[1][n]) for n in jitter)


def test_the_garbage_collector_is_paused_for_a_block_and_restored():
    import gc

    assert gc.isenabled()
    with sampling.paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), sampling.paused_gc():
        raise ValueError("a failed fit")
    assert gc.isenabled()
    gc.disable()  # a user who turned it off keeps it off
    try:
        with sampling.paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_model_reads_its_callers_names_through_the_paused_collector():
    """Model() looks one frame up for the functions a formula calls; pausing the
    collector must not add a frame between it and its caller."""
    import numpy as np
    import pandas as pd

    import mixedbayes as mb

    def triple(x):
        return 3 * x

    data = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "x": [0.0, 1.0, 2.0, 3.0]})
    design = mb.Model("y ~ triple(x)", data).design
    np.testing.assert_array_equal(design.X[:, 1], 3 * data["x"])


def test_a_fit_runs_with_the_collector_paused_and_without_node_traces(monkeypatch):
    import gc

    import numpy as np
    import pandas as pd
    import pytensor

    import mixedbayes as mb
    from mixedbayes import model as model_module

    seen = []

    class Stop(Exception):
        pass

    def sample(*args, **kwargs):
        seen.append((gc.isenabled(), pytensor.config.traceback__limit))
        raise Stop

    monkeypatch.setattr(model_module, "sample", sample)
    limit = pytensor.config.traceback__limit
    data = pd.DataFrame({"y": np.arange(6.0), "x": np.arange(6.0) % 3})
    with pytest.raises(Stop):
        mb.Model("y ~ x", data).fit()
    assert seen == [(False, 0)]
    assert gc.isenabled() and pytensor.config.traceback__limit == limit

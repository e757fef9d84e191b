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

"""Compiled programs kept on disk with jax.export (mixedbayes.sampling.exported)."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from mixedbayes.sampling import exported


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path))
    return tmp_path / "exports"


def traced_once(calls):
    def f(x, y):
        calls.append(np.shape(x))
        key = jax.random.PRNGKey(3)  # random numbers: the same program draws the same
        return {"s": jax.numpy.sin(x) * y + jax.random.normal(key, np.shape(x))}

    return jax.jit(f)


def test_a_program_read_from_disk_is_not_traced_and_gives_the_same_values(cache):
    calls = []
    x = np.linspace(0.0, 1.0, 5)
    first = exported.compiled(traced_once(calls), ("model", 1))(x, 2.0)["s"]
    assert calls == [(5,)] and len(list(cache.glob("*.jaxexport"))) == 1
    # a new process: nothing in memory, the file on disk
    again = exported.compiled(traced_once(calls), ("model", 1), options={})(x, 2.0)["s"]
    assert calls == [(5,)]  # not traced
    np.testing.assert_array_equal(first, again)
    other = exported.compiled(traced_once(calls), ("model", 1))(x + 1.0, 3.0)["s"]
    assert calls == [(5,)]  # other data of the same shape: the same program
    assert not np.allclose(other, first)


def test_other_shapes_or_keys_never_share_a_file(cache):
    calls = []
    run = exported.compiled(traced_once(calls), ("model", 1))
    run(np.zeros(5), 1.0)
    run(np.zeros(3), 1.0)
    exported.compiled(traced_once(calls), ("model", 2))(np.zeros(5), 1.0)
    assert calls == [(5,), (3,), (5,)] and len(list(cache.glob("*.jaxexport"))) == 3


def test_an_unreadable_file_is_traced_and_written_again(cache):
    calls = []
    x = np.linspace(0.0, 1.0, 4)
    first = exported.compiled(traced_once(calls), "k")(x, 2.0)["s"]
    (stored,) = cache.glob("*.jaxexport")
    stored.write_bytes(stored.read_bytes()[:50])
    again = exported.compiled(traced_once(calls), "k")(x, 2.0)["s"]
    assert calls == [(4,), (4,)]
    np.testing.assert_array_equal(first, again)
    assert stored.stat().st_size > 50


def test_without_a_key_nothing_is_written(cache):
    calls = []
    run = exported.compiled(traced_once(calls), None)
    run(np.zeros(2), 1.0)
    run(np.ones(2), 1.0)
    assert calls == [(2,)] and not cache.exists()


MESH = """
import jax, numpy as np
jax.config.update("jax_num_cpu_devices", 2)
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from mixedbayes.sampling import exported
mesh = Mesh(np.array(jax.devices()[:2]), ("chain",))
rows, shared = NamedSharding(mesh, P("chain")), NamedSharding(mesh, P())
calls = []
def f(x, y):
    calls.append(1)
    return x * y.sum() + jax.random.normal(jax.random.PRNGKey(1), x.shape)
for _ in range(2):  # the second as a new process would: nothing in memory
    mapped = jax.shard_map(f, mesh=mesh, in_specs=(P("chain"), P()), out_specs=P("chain"))
    function = jax.jit(mapped, in_shardings=(rows, shared), out_shardings=rows)
    run = exported.compiled(function, "mesh", shardings=((rows, shared), rows))
    out = run(np.arange(4.0).reshape(2, 2), np.ones(3))
    print(len(calls), out.sharding.device_set == set(jax.devices()[:2]), np.asarray(out).tolist())
"""


def test_a_program_over_several_devices_is_placed_as_it_was_exported(cache):
    """Parallel chains are a shard_map over devices (numpyro_nuts._on_devices): read back
    from disk, the program runs on the same devices with the same values."""
    env = {**os.environ, "MIXEDBAYES_CACHE_DIR": str(cache.parent)}
    run = subprocess.run([sys.executable, "-c", MESH], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    first, again = (line.split(" ", 2) for line in run.stdout.splitlines())
    assert first[0] == again[0] == "1"  # traced once: the second read the file
    assert first[1] == again[1] == "True"
    assert first[2] == again[2]


def test_jaxs_64_bit_mode_is_part_of_the_key(cache):
    calls = []
    exported.compiled(traced_once(calls), "k")(np.zeros(3), 1.0)
    before = jax.config.jax_enable_x64
    try:
        jax.config.update("jax_enable_x64", not before)
        exported.compiled(traced_once(calls), "k")(np.zeros(3), 1.0)
    finally:
        jax.config.update("jax_enable_x64", before)
    assert calls == [(3,), (3,)] and len(list(cache.glob("*.jaxexport"))) == 2

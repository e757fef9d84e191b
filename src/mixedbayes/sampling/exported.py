"""Compiled samplers whose traced program is kept on disk, so a new process skips tracing.

JAX's persistent cache keeps XLA executables, but finding one needs the program's HLO,
so a new process still traced numpyro's NUTS loop and the log density (0.7 s of
sleepstudy's 1.9 s fit in a new process) before loading what it had compiled. Here the
traced and lowered program is kept with ``jax.export`` (StableHLO, serialized by
flatbuffers, no Python objects) under ``exports/<digest>.jaxexport`` in the cache folder.
A later process deserializes it and compiles its call, which JAX's persistent cache
serves.

Every program, traced now or read from disk, is compiled from its exported form, with the
same XLA options, so a seed gives the same draws either way. (Keeping XLA executables
themselves was tried and withdrawn: they load without the options they were compiled
with, docs/performance.md.) The file's digest covers the caller's key (the program's
structure and the sampler's settings), the arguments' tree, shapes and dtypes, JAX's
backend and 64-bit mode, the versions of jax, jaxlib and numpyro, and the source of this
package's modules, which build the program. A file that cannot be read is written anew; a
program that ``jax.export`` cannot serialize is compiled directly and kept in memory only. The
cache folder is trusted, as for :mod:`mixedbayes.sampling.programs`.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import jax
import numpy as np

from .programs import cache_dir, read_cached, write_cached

SUFFIX = ".jaxexport"


def compiled(function, key, *, options: dict | None = None, shardings=None):
    """``run(*args)``: the jitted ``function`` compiled once per argument shapes.

    Parameters
    ----------
    function : jax.stages.Wrapped
        A ``jax.jit`` function.
    key : hashable or None
        What, besides the arguments' shapes, decides the program (module docstring); None
        keeps it in memory only.
    options : dict, optional
        XLA compiler options (``Lowered.compile(compiler_options=...)``).
    shardings : tuple, optional
        ``(in_shardings, out_shardings)`` of ``function``'s ``jit``, for a program over
        several devices: its exported call is placed the same way.
    """
    executables = {}

    def run(*args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        shapes = tuple((np.shape(x), _dtype(x)) for x in leaves)
        if (tree, shapes) not in executables:
            path = _path(key, tree, shapes)
            executables[tree, shapes] = _build(function, path, args, options, shardings)
        return executables[tree, shapes](*args)

    return run


def _dtype(x) -> str:
    """An argument's dtype (an array's own; NumPy's for a Python number)."""
    return str(x.dtype) if hasattr(x, "dtype") else str(np.result_type(x))


def _build(function, path, args, options, shardings):
    exported = read_cached(path, lambda blob: jax.export.deserialize(bytearray(blob)))
    if exported is None:
        try:
            exported = jax.export.export(function)(*args)
        except Exception:  # an op jax.export cannot keep: compiled as it is, memory only
            return function.lower(*args).compile(compiler_options=options)
        write_cached(path, exported.serialize)
    placed = dict(zip(("in_shardings", "out_shardings"), shardings or (), strict=False))
    call = jax.jit(exported.call, **placed)
    return call.lower(*args).compile(compiler_options=options)


def _path(key, tree, shapes) -> str | None:
    if key is None:
        return None
    import jaxlib
    import numpyro

    versions = (jax.__version__, jaxlib.__version__, numpyro.__version__)
    platform = (jax.default_backend(), bool(jax.config.jax_enable_x64))
    blob = repr((key, str(tree), shapes, platform, versions, _source_digest()))
    digest = hashlib.sha256(blob.encode()).hexdigest()
    return os.path.join(cache_dir(), "exports", digest + SUFFIX)


@functools.cache
def _source_digest() -> str:
    """sha256 of this package's sources (the sampler's code is part of every program)."""
    files = sorted(Path(__file__).parent.glob("*.py"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()

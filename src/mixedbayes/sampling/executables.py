"""Compiled samplers kept on disk, so a new process of a known shape neither traces nor
compiles.

JAX's persistent cache (``~/.cache/mixedbayes/jax``) saves XLA's compilation, but a new
process still traces numpyro's NUTS loop and lowers it to find the cache entry (about 1 s
for sleepstudy's random slopes, more than the sampling). Here the compiled executable
itself is serialized (``jax.experimental.serialize_executable``) under
``executables/<digest>.bin`` in :func:`~mixedbayes.sampling.programs.cache_dir`, keyed by
the program's structure, the sampler's setting, XLA's options, the arguments' shapes and
types, the JAX, jaxlib and numpyro versions, mixedbayes's own source, the devices and the
processor: another machine, library, code or device count never loads it. A file that
cannot be read or loaded is compiled anew and rewritten. Like the pickled programs beside
it, the folder is trusted: keep it private.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import platform
import tempfile

import numpy as np

from .programs import cache_dir


def compiled(function, options: dict | None, key: tuple | None = None):
    """``function`` (``jax.jit`` or ``jax.pmap`` of it) compiled once per shapes of its
    arguments, with XLA ``options``; with a ``key`` (a picklable description of what
    ``function`` computes, shapes aside) the executable is also kept on disk."""
    import jax

    if not options and key is None:
        return function
    executables = {}

    def run(*args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        shapes = (str(tree), tuple((np.shape(x), str(np.result_type(x))) for x in leaves))
        if shapes in executables:
            return executables[shapes](*args)
        path = _path(key, options, shapes) if key is not None else None
        loaded = _load(path)
        if loaded is not None:
            try:  # its first run tells whether it works here
                out = jax.block_until_ready(loaded(*args))
                executables[shapes] = loaded
                return out
            except jax.errors.JaxRuntimeError:
                pass
        lowered = function.lower(*args)
        executable = lowered.compile(compiler_options=options) if options else lowered.compile()
        _store(path, executable)
        executables[shapes] = executable
        return executable(*args)

    return run


def _path(key, options, shapes) -> str | None:
    import jax
    import jaxlib
    import numpyro

    devices = [(d.platform, d.device_kind) for d in jax.devices()]
    versions = (jax.__version__, jaxlib.__version__, numpyro.__version__, _source())
    blob = (key, sorted((options or {}).items()), shapes, versions)
    try:
        data = pickle.dumps((blob, devices, _processor(), jax.config.jax_enable_x64))
    except Exception:  # something in the key does not pickle: memory only
        return None
    return os.path.join(cache_dir(), "executables", hashlib.sha256(data).hexdigest() + ".bin")


@functools.cache
def _source() -> str:
    """A digest of mixedbayes's Python files: the sampler's code is part of the executable."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(f for f in files if f.endswith(".py")):
            with open(os.path.join(folder, name), "rb") as file:
                digest.update(name.encode() + file.read())
    return digest.hexdigest()


def _processor() -> str:
    """The processor's model and features (compiled code may use any of them)."""
    try:
        with open("/proc/cpuinfo") as file:
            wanted = ("model name", "flags", "Features", "CPU part")
            lines = {line.split(":")[0].strip(): line for line in file if ":" in line}
        return "".join(lines.get(name, "") for name in wanted)
    except OSError:
        return platform.processor() + platform.machine()


def _load(path):
    if path is None or not os.path.exists(path):
        return None
    import jax
    from jax.experimental.serialize_executable import deserialize_and_load

    try:
        with open(path, "rb") as file:
            payload, in_tree, out_tree, ids = pickle.load(file)
        by_id = {device.id: device for device in jax.devices()}
        devices = [by_id[i] for i in ids]  # pmap's chains ran on the first of them
        return deserialize_and_load(payload, in_tree, out_tree, execution_devices=devices)
    except Exception:  # truncated, or from another build: compile it again
        return None


def _store(path, executable) -> None:
    """Write atomically (a temporary file renamed); a cache that cannot be written, or an
    executable that cannot be serialized, is no error."""
    if path is None:
        return
    import jax
    from jax.experimental.serialize_executable import serialize

    try:
        ids = [device.id for device in executable._executable.xla_executable.local_devices()]
        if 1 < len(ids) < len(jax.devices()):  # pmap on some devices: it does not load back
            return
        blob = pickle.dumps((*serialize(executable), ids))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(blob)
        os.replace(tmp, path)
    except Exception:
        return

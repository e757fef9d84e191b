"""JAX programs that depend on a model's shape, not on its data.

PyMC's JAX path bakes every number of the graph into the compiled program: the data, the
data-scaled prior parameters, the per-level statistics of the marginal likelihood. So a
second data set of the same shape compiles again (seconds of PyTensor rewriting, JAX
tracing and XLA compilation), and JAX's persistent cache cannot serve it. Here the numbers
become arguments:

1. **Lifting.** Before rewriting, each constant that carries data (:func:`is_data`: float
   arrays, float scalars other than small integers and halves, integer arrays of 8 or
   more entries; shared variables too) is replaced by an input of the same type, static
   shape included. Small integers stay constants because shapes and indices need them
   static, small floats (0, 1, 2, 0.5, infinities) because PyTensor's stable rewrites
   (``log1p``, ``softplus``, powers) match them.
2. **The key.** The lifted graph's structure (ops with their properties, the inputs' types,
   the values of the constants left) is the key of an in-memory cache: two models with the
   same key have the same program, a different structure or shape never shares one.
3. **Rewriting once.** On a miss the graph is rewritten as PyMC's JAX path rewrites it, and
   whatever depends on the data alone (``gammaln(y + 1)`` of a Poisson density, for
   example) is split off into a *precompute* program, so the log density does not redo it
   at every gradient.

4. **On disk.** The rewritten graphs are also pickled under :func:`cache_dir`
   (``programs/<digest of the key>.pkl``), so another process of the same shape skips
   the rewriting too (about 1 s per graph). A file that cannot be read is ignored and
   rewritten. Like PyTensor's ``~/.pytensor``, the cache folder is trusted: keep it private.

A :class:`Program` is a pair of JAX functions, ``pre(*data)`` and ``main(*values, *data,
*derived)``; :meth:`Program.bind` returns the function of the values alone that a sampler
calls, with the data as traced arguments when it runs inside ``jax.jit``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass, field

import jax
import numpy as np
import pytensor.tensor as pt
from pytensor.compile import SharedVariable, mode
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import clone_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.link.jax.dispatch import jax_funcify

from .jax_ops import translations

SMALL_INDEX = 8  # integer arrays shorter than this stay constants (shapes, axes)


def is_data(constant: Constant) -> bool:
    """Whether a constant is lifted into an argument of the program (module docstring)."""
    value = getattr(constant, "data", None)
    if not isinstance(value, np.ndarray | np.generic | float | int):
        return False
    value = np.asarray(value)
    if value.dtype.kind == "f":
        if value.ndim:
            return True
        x = float(value)
        return bool(np.isfinite(x)) and not (abs(x) <= 4 and (2 * x).is_integer())
    return value.dtype.kind in "iub" and value.ndim >= 1 and value.size >= SMALL_INDEX


@dataclass
class Program:
    """A log density (or any outputs) as JAX functions of values, data and derived data."""

    key: tuple
    pre: object  # JAX function: data -> derived
    main: object  # JAX function: values, data, derived -> outputs
    n_derived: int
    hits: int = 0  # how often a later model found it in the cache
    digest: str | None = None  # its file's name in the disk cache (None: memory only)
    compiled: dict = field(default_factory=dict)  # jitted functions built on it

    def bind(self, data):
        """``f(*values) -> outputs`` for this program's data (NumPy or traced arrays)."""
        derived = self.pre(*data) if self.n_derived else ()

        def function(*values):
            return self.main(*values, *data, *derived)

        return function


_CACHE: dict[tuple, Program] = {}


def cache_dir() -> str:
    """Where mixedbayes keeps compiled programs: ``$MIXEDBAYES_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mixedbayes`` (``~/.cache/mixedbayes``)."""
    if os.environ.get("MIXEDBAYES_CACHE_DIR"):
        return os.environ["MIXEDBAYES_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mixedbayes")


def clear_cache() -> None:
    """Forget the programs compiled in this process."""
    _CACHE.clear()


def cached_programs() -> int:
    """How many programs this process holds."""
    return len(_CACHE)


def program(inputs: list[Variable], outputs: list[Variable]) -> tuple[Program, list]:
    """The program of ``outputs`` as a function of ``inputs``, and its data arguments.

    The same structure (any data) returns the same :class:`Program` object.
    """
    outputs, data_vars, data = lift(inputs, outputs)
    key = structure_key(inputs, data_vars, outputs)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _compile(key, inputs, data_vars, outputs)
    else:
        found.hits += 1
    return found, data


def lift(inputs: list[Variable], outputs: list[Variable]):
    """``outputs`` with data constants and shared variables replaced by new inputs.

    Returns the new outputs, the new input variables and their values (NumPy arrays).
    """
    replace, values = {}, []
    for var in graph_inputs(outputs):
        if var in inputs or var in replace:
            continue
        if isinstance(var, SharedVariable):
            value = np.asarray(var.get_value(borrow=True))
        elif isinstance(var, Constant) and is_data(var):
            value = np.asarray(var.data)
        else:
            continue
        replace[var] = pt.tensor(dtype=str(value.dtype), shape=value.shape, name="data")
        values.append(value)
    new_outputs = clone_replace(outputs, replace=replace) if replace else list(outputs)
    return new_outputs, list(replace.values()), values


def structure_key(inputs, data_vars, outputs) -> tuple:
    """A hashable description of the graph that ignores the data values."""
    ref = {v: ("in", i, v.type) for i, v in enumerate(inputs)}
    ref.update({v: ("data", i, v.type) for i, v in enumerate(data_vars)})
    key = []
    for node in io_toposort([*inputs, *data_vars], outputs):
        args = []
        for var in node.inputs:
            if var not in ref:
                if isinstance(var, Constant):
                    value = np.asarray(var.data)
                    ref[var] = ("const", var.type, value.dtype.str, value.shape, value.tobytes())
                else:  # an input the caller did not name: no program can be shared
                    ref[var] = ("free", id(var))
            args.append(ref[var])
        key.append((node.op, tuple(args)))
        for j, out in enumerate(node.outputs):
            ref[out] = ("node", len(key) - 1, j)
    key.append(tuple(ref.get(out, ("free", id(out))) for out in outputs))
    return tuple(key)


def _compile(key, inputs, data_vars, outputs) -> Program:
    """The program from the disk cache, or rewritten and stored there; jaxified."""
    path = _disk_path(key)
    graphs = read_cached(path, pickle.loads)
    if graphs is None:
        graphs = _rewrite(inputs, data_vars, outputs)
        write_cached(path, lambda: pickle.dumps(graphs))
    pre_graph, fgraph = graphs
    # jitted, so JAX traces each Python function once per argument types and process: a
    # sampler that calls the log density in several places (its start, the mass matrix's
    # scale, the leapfrog steps) and differentiates it reuses one trace
    pre = jax.jit(_jaxify(pre_graph)) if pre_graph is not None else None
    n_derived = len(pre_graph.outputs) if pre_graph is not None else 0
    main = jax.jit(_jaxify(fgraph))
    digest = os.path.basename(path)[: -len(".pkl")] if path else None
    return Program(key=key, pre=pre, main=main, n_derived=n_derived, digest=digest)


def _jaxify(fgraph):
    """PyTensor's JAX function of ``fgraph``, with the translations of
    :mod:`mixedbayes.sampling.jax_ops`, and without the warning it gives for each check of a
    parameter's domain (``sigma > 0``), which JAX cannot raise: the sampler's values are
    transformed to their domains, so the checks hold, and every fit printed them."""
    with warnings.catch_warnings(), translations():
        warnings.filterwarnings("ignore", "Skipping Check", UserWarning)
        return jax_funcify(fgraph)


def _disk_path(key) -> str | None:
    """``programs/<sha256>.pkl`` in the cache folder, or None for an unpicklable key."""
    import pymc
    import pytensor

    from .. import __version__

    try:
        blob = pickle.dumps((key, __version__, pytensor.__version__, pymc.__version__))
    except Exception:  # an op that does not pickle: memory only
        return None
    digest = hashlib.sha256(blob).hexdigest()
    return os.path.join(cache_dir(), "programs", f"{digest}.pkl")


def read_cached(path: str | None, load):
    """``load(bytes)`` of the cache file at ``path``, or None if there is none or it does
    not load (truncated, from another version): the caller builds it anew."""
    if path is None or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as file:
            return load(file.read())
    except Exception:
        return None


def write_cached(path: str | None, dump) -> None:
    """Write ``dump()`` (bytes) to ``path`` atomically (a temporary file renamed); a cache
    that cannot be written, or a value that cannot be serialized, is no error."""
    if path is None:
        return
    try:
        blob = dump()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(blob)
        os.replace(tmp, path)
    except Exception:
        return


def _rewrite(inputs, data_vars, outputs):
    """Rewrite as PyMC's JAX path does and split off the data-only part: ``(pre, main)``
    function graphs (``pre`` None when nothing depends on the data alone)."""
    fgraph = FunctionGraph(inputs=[*inputs, *data_vars], outputs=outputs, clone=True)
    # less local_usmm, a sparse BLAS rewrite for C code whose check reads PyTensor's BLAS
    # flags: finding them takes 0.4 s of a new process, and JAX has its own BLAS
    mode.JAX.excluding("local_usmm").optimizer.rewrite(fgraph)
    n_values = len(inputs)
    data_inputs = fgraph.inputs[n_values:]
    frontier = _data_only_frontier(fgraph, set(fgraph.inputs[:n_values]), set(data_inputs))
    if frontier:
        pre_graph = FunctionGraph(data_inputs, frontier, clone=True)
        derived = [var.type() for var in frontier]
        for old, new in zip(frontier, derived, strict=True):
            fgraph.add_input(new)
            fgraph.replace(old, new, import_missing=True)
        return pre_graph, fgraph
    return None, fgraph


def _data_only_frontier(fgraph, values: set, data: set) -> list[Variable]:
    """Variables computed from data alone that the value-dependent part reads."""
    depends = set(values)
    frontier = []
    for node in fgraph.toposort():
        if any(var in depends for var in node.inputs):
            depends.update(node.outputs)
            for var in node.inputs:
                if _derived(var, depends, data) and var not in frontier:
                    frontier.append(var)
    for var in fgraph.outputs:
        if _derived(var, depends, data) and var not in frontier:
            frontier.append(var)
    return frontier


def _derived(var, depends, data) -> bool:
    return var.owner is not None and var not in depends and var not in data

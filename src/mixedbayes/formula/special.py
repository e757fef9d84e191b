"""Special terms of a formula's right-hand side, in brms's syntax: residual correlation
structures (``ar()``, ``ma()``, ``arma()``, ``cosy()``, ``unstr()``).

A term is read as a Python call (``ast``): arguments are column names or numbers, by
position or by keyword, never evaluated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..errors import FormulaError

# structure -> (its parameters in order, default values of p and q)
AUTOCOR = {
    "ar": ("time", "gr", "p"),
    "ma": ("time", "gr", "q"),
    "arma": ("time", "gr", "p", "q"),
    "cosy": ("time", "gr"),
    "unstr": ("time", "gr"),
}


@dataclass(frozen=True)
class AutocorTerm:
    """A residual correlation structure within the levels of ``gr``, ordered by ``time``.

    Attributes
    ----------
    kind : str
        ``"ar"``, ``"ma"``, ``"arma"``, ``"cosy"`` (compound symmetry) or ``"unstr"``
        (unstructured: a correlation per pair of time points).
    time : str or None
        The column holding each row's time; None keeps the data's row order (time 1, 2, ...
        within each level), as brms does.
    gr : str or None
        The grouping column; None: all rows form one series.
    p, q : int
        Autoregressive and moving-average orders (0 where the structure has none).
    text : str
        The term as written.
    """

    kind: str
    time: str | None
    gr: str | None
    p: int
    q: int
    text: str

    @property
    def parameters(self) -> tuple[str, ...]:
        """The structure's parameters, which are also their prior classes: ``ar``,
        ``ma`` (a vector of ``p`` or ``q`` coefficients for an order above 1), ``cosy``,
        ``cortime`` (brms's, the correlation matrix of ``unstr``)."""
        others = {"cosy": ("cosy",), "unstr": ("cortime",)}.get(self.kind, ())
        return ("ar",) * (self.p > 0) + ("ma",) * (self.q > 0) + others

    @property
    def columns(self) -> tuple[str, ...]:
        """The data columns the term reads."""
        return tuple(c for c in (self.time, self.gr) if c is not None)


def default_orders(kind: str) -> tuple[int, int]:
    """``(p, q)`` of a structure written without them: order 1 for ``ar``, ``ma`` and
    ``arma``'s own parts, 0 otherwise."""
    return int(kind in ("ar", "arma")), int(kind in ("ma", "arma"))


def autocor_term(chunk: str, text: str) -> AutocorTerm | None:
    """The AutocorTerm if ``chunk`` is ``ar(...)``, ``ma(...)``, ... else None."""
    call = _call(chunk)
    if call is None or call.func.id not in AUTOCOR:
        return None
    kind = call.func.id
    names = AUTOCOR[kind]
    values = _arguments(call, names, chunk, text)
    orders = dict(zip(("p", "q"), default_orders(kind), strict=True))
    for order in ("p", "q"):
        if order in values:
            value = values[order]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise FormulaError(
                    f"{chunk!r} in {text!r}: {order} must be a whole number >= 1, got "
                    f"{value!r} (a pure AR or MA structure is ar(p = ...) or ma(q = ...))"
                )
            orders[order] = value
    for key in ("time", "gr"):
        if key in values and not isinstance(values[key], str):
            raise FormulaError(f"{chunk!r} in {text!r}: {key} must be a column name")
    if kind == "unstr" and ("time" not in values or "gr" not in values):
        raise FormulaError(
            f"{chunk!r} in {text!r}: unstr() needs both time and gr, e.g. "
            "unstr(time = occasion, gr = student)"
        )
    return AutocorTerm(
        kind=kind, time=values.get("time"), gr=values.get("gr"), text=chunk.strip(), **orders
    )


def _call(chunk: str) -> ast.Call | None:
    try:
        tree = ast.parse(chunk.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name):
        return tree
    return None


def _arguments(call: ast.Call, names: tuple[str, ...], chunk: str, text: str) -> dict:
    """``{parameter: column name or number}`` from positional and keyword arguments."""
    if len(call.args) > len(names):
        raise FormulaError(
            f"{chunk!r} in {text!r} has {len(call.args)} arguments; "
            f"{call.func.id}() takes {', '.join(names)}"
        )
    pairs = list(zip(names, call.args, strict=False))
    pairs += [(k.arg, k.value) for k in call.keywords]
    values = {}
    for name, node in pairs:
        if name not in names:
            raise FormulaError(
                f"{chunk!r} in {text!r}: unknown argument {name!r}; "
                f"{call.func.id}() takes {', '.join(names)}"
            )
        if name in values:
            raise FormulaError(f"{chunk!r} in {text!r} gives {name} twice")
        values[name] = _value(node, chunk, text)
    return values


def _value(node: ast.expr, chunk: str, text: str):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):  # -1: a number
        value = _value(node.operand, chunk, text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    raise FormulaError(
        f"{chunk!r} in {text!r}: arguments must be column names or numbers, "
        f"got {ast.unparse(node)!r}"
    )


SMOOTHS = {"s": ("x", "k", "bs", "by")}
SMOOTH_BASES = ("tp", "cr")


@dataclass(frozen=True)
class SmoothTerm:
    """A penalized regression spline ``s(x, k = 10, bs = "tp")`` in mixed-model form
    (mgcv's ``smooth2random``, :mod:`mixedbayes.design.smooth`): its unpenalized part is a
    fixed effect (``fixed``), its penalized part a random block of one level whose
    coefficients share one sd (``random``).

    Attributes
    ----------
    x : str
        The covariate (a column).
    k : int
        The basis dimension (mgcv's ``k``): ``k - 2`` penalized coefficients for m = 2.
    bs : str
        ``"tp"`` (thin-plate regression spline, mgcv's default) or ``"cr"`` (cubic
        regression spline).
    name : str
        brms's label: ``"sx_1"`` for the first smooth of ``x``.
    text : str
        The term as written.
    by : str or None
        ``s(x, by = f)``: one smooth per level of the factor ``f``, each with its own
        unpenalized part and sd, on the same basis (mgcv's factor ``by``; add ``f`` itself
        to the formula for the levels' means).
    numeric_by : bool
        ``by`` is a numeric column ``z`` (decided with the data): the smooth is
        ``f(x) z``, mgcv's varying coefficient, with no centring constraint.
    """

    x: str
    k: int
    bs: str
    name: str
    text: str
    by: str | None = None
    numeric_by: bool = False

    @property
    def basis(self) -> str:
        """The fixed part's transform, ``smooth_fixed(x, ...)`` (without ``by``)."""
        return f"smooth_fixed({self.x}, k={self.k}, bs={self.bs!r}{self._centred})"

    @property
    def _centred(self) -> str:
        return ", centred=False" if self.numeric_by else ""

    @property
    def fixed(self) -> str:
        """The fixed part's formulaic expression."""
        if self.by is None:
            return self.basis
        return f"{self.basis}:{self.by}" if self.numeric_by else f"{self.basis}:C({self.by})"

    @property
    def random(self) -> str:
        """The penalized part's formulaic expression (no intercept)."""
        call = f"smooth_random({self.x}, k={self.k}, bs={self.bs!r}{self._centred})"
        return f"0 + {call}:{self.by}" if self.numeric_by else f"0 + {call}"

    @property
    def randoms(self) -> tuple[str, ...]:
        """The random block's parts: one penalty (a ``t2()`` has three)."""
        return (self.random,)


def smooth_term(chunk: str, text: str, taken: list[str]) -> tuple | None:
    """The terms of a smooth: ``(SmoothTerm,)`` if ``chunk`` is ``s(...)``, ``(GPTerm,)``
    for ``gp(...)``, ``(T2Term,)`` for ``t2(x, z)``; None otherwise. ``taken`` lists the
    names of the formula's earlier terms."""
    call = _call(chunk)
    if call is not None and call.func.id == "te":
        raise FormulaError(
            f"{chunk!r} in {text!r}: te() terms are not supported; t2(x, z) is the tensor "
            "product smooth in mixed-model form (as in gamm4 and brms)"
        )
    if call is not None and call.func.id == "t2":
        return _t2_terms(call, chunk, text, taken)
    if call is not None and call.func.id == "gp":
        return (_gp_term(call, chunk, text, taken),)
    if call is None or call.func.id not in SMOOTHS:
        return None
    values = _arguments(call, SMOOTHS["s"], chunk, text)
    x = values.get("x")
    if not isinstance(x, str):
        raise FormulaError(f"{chunk!r} in {text!r}: s() takes one covariate, a column name")
    by = values.get("by")
    if by is not None and not isinstance(by, str):
        raise FormulaError(
            f"{chunk!r} in {text!r}: by must be a column name (a factor, or a numeric column "
            "for a varying coefficient)"
        )
    k = values.get("k", 10)
    if not isinstance(k, int) or isinstance(k, bool) or k < 3:
        raise FormulaError(f"{chunk!r} in {text!r}: k must be a whole number >= 3")
    bs = values.get("bs", "tp")
    if bs not in SMOOTH_BASES:
        raise FormulaError(f"{chunk!r} in {text!r}: bs must be one of {list(SMOOTH_BASES)}")
    name = f"s{x}_{sum(n.startswith(f's{x}_') for n in taken) + 1}"
    return (SmoothTerm(x=x, k=k, bs=bs, name=name, text=chunk.strip(), by=by),)


@dataclass(frozen=True)
class T2Term:
    """A tensor-product smooth ``t2(x, z, k = 5)`` (:mod:`mixedbayes.design.tensor`):
    cubic regression spline margins with ``k`` knots each; its unpenalized part is a fixed
    effect (``fixed``), its penalized parts one random block of one level (``randoms``,
    one expression per penalty) whose three penalties have an sd each (``sds_t2xz_1``,
    ``_2``, ``_3``).
    """

    x: str
    z: str
    k: int
    text: str

    bs = "cr"
    by = None

    @property
    def name(self) -> str:
        """brms's label: ``t2xz``."""
        return f"t2{self.x}{self.z}"

    @property
    def basis(self) -> str:
        return f"t2_fixed({self.x}, {self.z}, k={self.k})"

    @property
    def fixed(self) -> str:
        return self.basis

    @property
    def randoms(self) -> tuple[str, ...]:
        return tuple(
            f"0 + t2_random({self.x}, {self.z}, k={self.k}, penalty={p})" for p in (1, 2, 3)
        )

    @property
    def penalty_sizes(self) -> tuple[int, ...]:
        """Columns per penalty: ``(k-2)^2`` (smooth x smooth), ``2 (k-2)`` twice (smooth x
        linear), in the order of :attr:`randoms`."""
        m = self.k - 2
        return (m * m, 2 * m, 2 * m)


def _t2_terms(call: ast.Call, chunk: str, text: str, taken: list[str]) -> tuple:
    values = _arguments(call, ("x", "z", "k", "bs"), chunk, text)
    x, z = values.get("x"), values.get("z")
    if not (isinstance(x, str) and isinstance(z, str)) or x == z:
        raise FormulaError(f"{chunk!r} in {text!r}: t2() takes two different covariates")
    k = values.get("k", 5)
    if not isinstance(k, int) or isinstance(k, bool) or k < 3:
        raise FormulaError(f"{chunk!r} in {text!r}: k (knots per margin) must be >= 3")
    if values.get("bs", "cr") != "cr":
        raise FormulaError(f"{chunk!r} in {text!r}: t2() margins are bs = 'cr' (mgcv's default)")
    term = T2Term(x, z, k, chunk.strip())
    if term.name in taken:
        raise FormulaError(f"{chunk!r} in {text!r}: t2({x}, {z}) appears twice")
    return (term,)


GP_KERNELS = ("exp_quad", "matern32", "matern52")


@dataclass(frozen=True)
class GPTerm:
    """A Gaussian process ``gp(x, k = 20, c = 1.25, cov = "exp_quad")`` by its Hilbert-space
    approximation (brms's ``gp(..., k = )``, bambi's ``hsgp()``; Riutort-Mayol et al.
    2023): ``k`` basis functions on ``[-L, L]``, ``L = c max |x~|`` with ``x~`` the
    covariate centred and divided by its range (brms's scaling, so ``lscale`` is in units
    of the range). The basis coefficients are a one-level random block whose sds are the
    kernel's spectral density at the basis frequencies (classes ``sdgp`` and ``lscale``).
    """

    x: str
    k: int
    c: float
    cov: str
    name: str
    text: str

    fixed = None  # no unpenalized part
    by = None

    @property
    def random(self) -> str:
        return f"0 + gp_basis({self.x}, k={self.k}, c={self.c!r})"

    @property
    def randoms(self) -> tuple[str, ...]:
        return (self.random,)


def _gp_term(call: ast.Call, chunk: str, text: str, taken: list[str]) -> GPTerm:
    values = _arguments(call, ("x", "k", "c", "cov"), chunk, text)
    if not isinstance(values.get("x"), str):
        raise FormulaError(f"{chunk!r} in {text!r}: gp() takes one covariate, a column name")
    k = values.get("k", 20)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise FormulaError(
            f"{chunk!r} in {text!r}: k (basis functions) must be a whole number >= 1"
        )
    c = values.get("c", 1.25)
    if isinstance(c, bool) or not isinstance(c, int | float) or c <= 1.0:
        raise FormulaError(f"{chunk!r} in {text!r}: c (the boundary factor) must be a number > 1")
    cov = values.get("cov", "exp_quad")
    if cov not in GP_KERNELS:
        raise FormulaError(f"{chunk!r} in {text!r}: cov must be one of {list(GP_KERNELS)}")
    x = values["x"]
    name = f"gp{x}" + (
        f"_{sum(n.startswith(f'gp{x}') for n in taken) + 1}" if f"gp{x}" in taken else ""
    )
    return GPTerm(x=x, k=k, c=float(c), cov=cov, name=name, text=chunk.strip())

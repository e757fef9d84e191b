"""Safe formulas: what a formula from a file, a web form or a config file may evaluate.

A formula's Python pieces (the response, ``trials()`` and ``cbind()`` arguments, offsets,
and every formulaic factor such as ``np.log(x)``, ``center(x)`` or ``C(g)``) are parsed
with :mod:`ast` and checked against a small expression language *before* anything is
evaluated. Allowed are

- names, read as values: data columns, the caller's explicit ``context`` (a name that is
  neither nor a Python builtin is reported as a missing column when the design is made);
- numbers; strings, lists and tuples as arguments of calls (``C(g, levels=["a", "b"])``);
- arithmetic (``+ - * / // % **``), comparisons and the unary operators;
- calls of the formula functions (:data:`FUNCTIONS`: formulaic's ``C``, ``I``, ``center``,
  ``scale``, ``poly``, ``bs``, ...), of numpy's elementwise functions as ``np.<name>`` or
  ``numpy.<name>`` (:data:`NUMPY`), of ``contr.<name>`` contrasts, and of the functions in
  ``context`` (with attribute chains below them that start with no underscore).

Everything else is an :class:`~mixedbayes.errors.UnsafeFormulaError` naming the
construct: other attributes (``x.__class__``, ``pd.read_csv``, ``np.load``), any name
starting with ``__``, builtins such as ``open``, ``eval`` or ``__import__``, subscripts,
lambdas, comprehensions, keyword unpacking, f-strings, and calling a column. A power whose
exponent is not a small number literal is refused where its base holds no column, so a
formula cannot make Python compute ``9 ** 9 ** 9``.
"""

from __future__ import annotations

import ast
import builtins
import types
from collections.abc import Collection, Iterator, Mapping

import formulaic
import numpy as np

from ..errors import UnsafeFormulaError
from .terms import Formula

# formulaic's transforms, and two builtins that are plain arithmetic
FUNCTIONS = frozenset(
    {"C", "I", "Q", "center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc"}
    | {"smooth_fixed", "smooth_random", "gp_basis"}  # s(x) and gp(x) (formula/special.py)
    | {"t2_fixed", "t2_random"}  # t2(x, z)
    | {"log", "log2", "log10", "exp", "exp2", "exp10", "lag", "abs", "round"}
    | {"Treatment", "Sum", "Helmert", "Poly", "Diff"}
)
# numpy's elementwise functions and constants that formulas use
NUMPY = frozenset(
    {"log", "log1p", "log2", "log10", "exp", "expm1", "exp2", "sqrt", "cbrt", "square"}
    | {"abs", "absolute", "fabs", "sign", "reciprocal", "negative", "power", "hypot"}
    | {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh"}
    | {"arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "floor", "ceil", "trunc"}
    | {"rint", "round", "around", "clip", "minimum", "maximum", "fmin", "fmax", "where"}
    | {"mod", "fmod", "isnan", "isfinite", "logical_and", "logical_or", "logical_not"}
    | {"pi", "e", "inf", "nan"}
)
NUMPY_NAMES = frozenset({"np", "numpy"})
CONTRASTS = frozenset({"treatment", "sum", "helmert", "poly", "diff", "custom"})
LARGEST_EXPONENT = 1000

_BUILTINS = frozenset(dir(builtins))
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_BINARY += (ast.BitAnd, ast.BitOr, ast.BitXor)
_UNARY = (ast.UAdd, ast.USub, ast.Not, ast.Invert)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def check_formula(formula: Formula, columns: Collection, context: Collection = ()) -> None:
    """Raise :class:`UnsafeFormulaError` unless every expression of ``formula`` is safe.

    Parameters
    ----------
    formula : Formula
    columns : collection of str
        The data's column names.
    context : collection of str
        Names the caller allowed besides the columns (the keys of ``context=``).
    """
    columns = {str(c) for c in columns}
    allowed = set(map(str, context))
    for what, expr, python in expressions(formula):
        if python:
            check_expression(expr, columns, allowed, what)
        # a plain name is looked up, never run; one that is no column is a DataError later


def safe_context(context: Mapping) -> dict:
    """The namespace a checked formula is evaluated in: ``context`` and a numpy of
    :data:`NUMPY` only (as ``np`` and ``numpy``), so even an unchecked path finds no
    ``np.load`` there."""
    restricted = types.SimpleNamespace(**{n: getattr(np, n) for n in NUMPY if hasattr(np, n)})
    names = {str(k): v for k, v in context.items() if not str(k).startswith("__")}
    return {**names, "np": restricted, "numpy": restricted}


def expressions(formula: Formula) -> Iterator[tuple[str, str, bool]]:
    """``(what, expression, is_python)`` for every piece of ``formula`` that is evaluated.

    Python expressions are evaluated with ``eval``; the others are plain name lookups.
    """
    for expr in formula.response_expressions:  # response, trials, weights, cens, trunc, ...
        yield "left-hand side", expr, True
    for part in formula.parts:
        name = "" if part.dpar == "mu" else f"{part.dpar} "
        for expr in part.offsets:  # evaluated as I(expr)
            yield f"{name}offset", expr, True
        rhs = [(f"{name}fixed part", part.fixed)]
        for group in part.groups:
            rhs += [(f"random term ({p.expr} | {group.group})", p.expr) for p in group.parts]
        for what, formula_rhs in rhs:
            for term in formulaic.Formula(formula_rhs):
                for factor in term.factors:
                    method = factor.eval_method.value
                    if method != "literal":
                        yield what, factor.expr, method == "python"


def check_expression(expr: str, columns: set[str], context: set[str], what: str) -> None:
    """Raise :class:`UnsafeFormulaError` unless ``expr`` is in the safe language."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise UnsafeFormulaError(f"{what} {expr!r} is not a valid expression") from None
    _Checker(columns, context, expr, what).check(tree.body)


class _Checker:
    """Walks one expression's syntax tree; any node outside the language is refused."""

    def __init__(self, columns: set[str], context: set[str], expr: str, what: str):
        self.columns, self.context, self.expr, self.what = columns, context, expr, what

    def refuse(self, construct: str):
        raise UnsafeFormulaError(
            f"{self.what} {self.expr!r} uses {construct}, which a safely evaluated formula "
            "may not (it may use columns, numbers, arithmetic, C, I, center, scale, poly, "
            "bs and the like, np.log and numpy's other elementwise functions, and names "
            "given in context)"
        )

    def check(self, node: ast.AST, argument: bool = False) -> None:
        if isinstance(node, ast.Constant):
            self.constant(node, argument)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY):
            self.binary(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            self.check(node.operand)
        elif isinstance(node, ast.Compare) and all(isinstance(o, _COMPARE) for o in node.ops):
            for child in (node.left, *node.comparators):
                self.check(child)
        elif isinstance(node, ast.Tuple | ast.List) and argument:
            for child in node.elts:
                self.check(child, argument=True)
        else:
            self.refuse(_describe(node))

    def constant(self, node: ast.Constant, argument: bool) -> None:
        value = node.value
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            return
        if isinstance(value, str) and argument:
            return
        self.refuse(f"the constant {value!r} outside a function's arguments")

    def name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("__"):
            self.refuse(f"the name {name!r}")
        if name in self.columns or name in self.context or name in FUNCTIONS:
            return
        if name in NUMPY_NAMES:
            self.refuse(f"{name!r} on its own (write {name}.<function>, e.g. {name}.log)")
        if name in _BUILTINS:
            self.refuse(f"the builtin {name!r}")
        # any other name can only be a missing column, which the design reports

    def attribute(self, node: ast.Attribute) -> None:
        chain, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        dotted = ".".join(reversed(chain))
        if not isinstance(base, ast.Name):
            self.refuse(f"the attribute .{dotted} of {_describe(base)}")
        root = base.id
        if root in NUMPY_NAMES or root == "contr":  # never widened by context
            names = NUMPY if root in NUMPY_NAMES else CONTRASTS
            if len(chain) == 1 and node.attr in names:
                return
        elif root in self.context and root not in self.columns:
            if not any(part.startswith("_") for part in chain):
                return
        self.refuse(f"the attribute {root}.{dotted}")

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in self.columns or func.id not in FUNCTIONS | self.context:
                self.refuse(f"a call of {func.id!r}")
        elif isinstance(func, ast.Attribute):
            self.attribute(func)
        else:
            self.refuse(f"a call of {_describe(func)}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.refuse("argument unpacking (*)")
            self.check(arg, argument=True)
        for keyword in node.keywords:
            if keyword.arg is None:
                self.refuse("keyword unpacking (**)")
            self.check(keyword.value, argument=True)

    def binary(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            if _small_number(node.right):
                if not _reads_a_name(node.left) and not _number_literal(node.left):
                    self.refuse("a power of a computed number")
            elif not _reads_a_name(node.right):
                self.refuse(
                    "a power whose exponent is neither a column expression nor a number "
                    f"literal of at most {LARGEST_EXPONENT}"
                )
        self.check(node.left)
        self.check(node.right)


def _reads_a_name(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Name) for child in ast.walk(node))


def _number_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _small_number(node: ast.AST) -> bool:
    if not _number_literal(node):
        return False
    value = node.operand.value if isinstance(node, ast.UnaryOp) else node.value
    return abs(value) <= LARGEST_EXPONENT


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "a lambda",
        "ListComp": "a comprehension",
        "SetComp": "a comprehension",
        "DictComp": "a comprehension",
        "GeneratorExp": "a generator expression",
        "Subscript": "a subscript ([...])",
        "JoinedStr": "an f-string",
        "NamedExpr": "an assignment expression (:=)",
        "IfExp": "a conditional expression",
        "BoolOp": "'and'/'or' (use & and |)",
        "Dict": "a dict",
        "Set": "a set",
        "Await": "await",
        "Yield": "yield",
        "Starred": "unpacking (*)",
        "Compare": "the comparison 'in'/'is'",
        "Tuple": "a tuple outside a function's arguments",
        "List": "a list outside a function's arguments",
    }
    kind = type(node).__name__
    return names.get(kind, f"the construct {kind}")

"""``s(x)`` inside formulaic: two stateful transforms hold a smooth's basis.

The parser rewrites ``s(x, k = 10)`` into the fixed term ``smooth_fixed(x, k=10,
bs='tp')`` and the one-level random term ``(0 + smooth_random(x, ...) | sx_1)``
(:mod:`mixedbayes.formula.special`). Each transform builds the basis from the training
rows on first use (:func:`mixedbayes.design.smooth.smooth_basis`) and keeps it in
formulaic's model spec, so new data (predictions, k-fold) are evaluated with the training
knots and matrices, as mgcv's ``PredictMat`` does: a cubic regression spline continues
linearly beyond its outer knots, a thin-plate spline follows its radial basis.
"""

from __future__ import annotations

import re

import numpy as np
from formulaic.materializers.types import FactorValues
from formulaic.transforms import stateful_transform

from .hsgp import HSGPDomain
from .smooth import smooth_basis
from .tensor import TensorBasis


def _columns(values: np.ndarray) -> FactorValues:
    return FactorValues(
        {i + 1: values[:, i] for i in range(values.shape[1])},
        kind="numerical",
        spans_intercept=False,
        format="{name}[{field}]",
        encoded=False,
    )


def _basis(x, k: int, bs: str, centred: bool, state: dict):
    if "basis" not in state:
        state["basis"] = smooth_basis(np.asarray(x, dtype=float), k, bs, centred)
    return state["basis"]


@stateful_transform
def smooth_fixed(x, k=10, bs="tp", centred=True, _state=None, _metadata=None, _spec=None):
    """The unpenalized columns of ``s(x)`` (mgcv's ``Xf``)."""
    return _columns(_basis(x, k, bs, centred, _state).fixed(np.asarray(x, dtype=float)))


@stateful_transform
def smooth_random(x, k=10, bs="tp", centred=True, _state=None, _metadata=None, _spec=None):
    """The penalized columns of ``s(x)``, scaled to an identity penalty and orthogonal to
    the unpenalized ones over the training x (``Xr - Xf A``, :meth:`SmoothBasis.penalized`)."""
    return _columns(_basis(x, k, bs, centred, _state).penalized(np.asarray(x, dtype=float)))


@stateful_transform
def gp_basis(x, k=20, c=1.25, _state=None, _metadata=None, _spec=None):
    """The Hilbert-space basis of ``gp(x)`` on the training data's domain."""
    if "domain" not in _state:
        _state["domain"] = HSGPDomain.of(x, c)
    return _columns(_state["domain"].basis(x, k))


def _tensor(x, z, k: int, state: dict) -> TensorBasis:
    if "tensor" not in state:
        state["tensor"] = TensorBasis.of(np.asarray(x, float), np.asarray(z, float), k)
    return state["tensor"]


@stateful_transform
def t2_fixed(x, z, k=5, _state=None, _metadata=None, _spec=None):
    """The unpenalized columns of ``t2(x, z)`` (x, z and x z, standardized)."""
    return _columns(_tensor(x, z, k, _state).fixed(x, z))


@stateful_transform
def t2_random(x, z, k=5, penalty=1, _state=None, _metadata=None, _spec=None):
    """The columns of one of the three penalties of ``t2(x, z)`` (identity penalty)."""
    return _columns(_tensor(x, z, k, _state).random(x, z, penalty))


SMOOTH_CONTEXT = {"smooth_fixed": smooth_fixed, "smooth_random": smooth_random}
SMOOTH_CONTEXT |= {"gp_basis": gp_basis, "t2_fixed": t2_fixed, "t2_random": t2_random}


def with_transforms(context) -> dict:
    """The caller's formula context with the transforms that ``s()`` and ``gp()`` become."""
    return {**SMOOTH_CONTEXT, **(context or {})}


_FIELD = re.compile(r"^(?:smooth_random|gp_basis)\([^)]*\)\[(\d+)\](?::\w+)?$")
_T2_FIELD = re.compile(r"^t2_random\([^)]*penalty=(\d)\)\[(\d+)\]$")


def smooth_labels(names, smooths) -> tuple[str, ...]:
    """Column names with the transforms spelled as brms does: the fixed part of the
    smooth ``sx_1`` is ``sx_1`` (``sx_1[2]`` for a second column), a penalized column
    ``"1"``, ``"2"``, ...; column j of a ``t2()``'s penalty p is ``"p_j"``."""
    out = []
    for name in names:
        for term in smooths:
            expr = getattr(term, "basis", None)  # a GP has no fixed part
            if expr is not None and name.startswith(expr + "["):
                field, _, rest = name[len(expr) + 1 :].partition("]")
                name = (term.name if field == "1" else f"{term.name}[{field}]") + rest
        out.append(_T2_FIELD.sub(r"\1_\2", _FIELD.sub(r"\1", name)))
    return tuple(out)

"""The observed response: the family's distribution with the response's addition terms
applied once, for every family (weights, censoring, truncation).

Without addition terms the distribution becomes the observed variable as it is. Otherwise
the pointwise log-density is assembled and added as a ``Potential`` named like the
response: a censored row contributes ``log F(y)`` (left), ``log(1 - F(y))`` (right) or
``log(F(y2) - F(y))`` (interval); truncation to [a, b] subtracts ``log(F(b) - F(a))``;
a weight multiplies the row's term.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.shape import Shape

from ..design import Design


def add_observed(family, name: str, eta, aux: dict, design: Design):
    """Add the response ``name`` of ``design`` to the current model."""
    dist = family.distribution(eta, aux, design)
    additions = design.additions
    if not additions.any:
        return pm.modelcontext(None).register_rv(dist, name, observed=design.y, dims="obs")
    return pm.Potential(name, pointwise_logp(dist, design, family.discrete), dims="obs")


def pointwise_logp(dist, design: Design, discrete: bool = False):
    """Each row's log-likelihood term under the addition terms of ``design``; for a
    ``discrete`` response the truncation bounds are possible values."""
    y, additions = design.y, design.additions
    logp = _shapes_inferred(pm.logp(dist, y))
    if additions.censoring is not None:
        codes = additions.censoring
        below = pm.logcdf(dist, y)
        terms = {-1: below, 1: pm.logccdf(dist, y)}
        if additions.upper is not None and (codes == 2).any():
            upper = np.where(codes == 2, additions.upper, y + 1.0)  # any value above y
            terms[2] = _log_difference(pm.logcdf(dist, upper), below)
        for code, term in terms.items():
            if (codes == code).any():
                logp = pt.switch(pt.eq(codes, code), term, logp)
    if additions.truncation is not None:
        lower, upper = additions.truncation
        logp = logp - _log_mass(dist, lower - 1.0 if discrete else lower, upper)
    if additions.weights is not None:
        logp = logp * additions.weights
    return logp


def _shapes_inferred(logp):
    """``logp`` with the shape of each random variable that is no model variable computed
    from its parameters. PyMC's log density of a mixture keeps its components for their
    shape (a zero-inflated family with a ``zi`` formula): their random generators would
    then be inputs of the model's log density, which a JAX program cannot take. (The
    shape comes from ``RandomVariable._infer_shape``, what the op's ``infer_shape`` calls.)"""
    model = pm.modelcontext(None)
    replace = {}
    for node in io_toposort(graph_inputs([logp]), [logp]):
        rv = node.inputs[0] if isinstance(node.op, Shape) else None
        if rv is not None and isinstance(getattr(rv.owner, "op", None), RandomVariable):
            if rv not in model.basic_RVs:
                op, owner = rv.owner.op, rv.owner
                shape = op._infer_shape(op.size_param(owner), op.dist_params(owner))
                replace[node.outputs[0]] = pt.stack(shape).astype(node.outputs[0].dtype)
    return graph_replace(logp, replace, strict=False) if replace else logp


def _log_mass(dist, lower: np.ndarray, upper: np.ndarray):
    """log P(lower < Y <= upper) per row (for a continuous distribution, ``<=`` too)."""
    open_below, open_above = np.isneginf(lower).all(), np.isposinf(upper).all()
    if open_below:
        return pm.logcdf(dist, upper)
    if open_above:
        return pm.logccdf(dist, lower)
    return _log_difference(pm.logcdf(dist, upper), pm.logcdf(dist, lower))


def _log_difference(log_a, log_b):
    """log(exp(log_a) - exp(log_b)) for log_a > log_b, stably."""
    return log_a + pt.log1mexp(log_b - log_a)

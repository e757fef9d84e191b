"""Random effects correlated across distributional parameters (brms's ``(1 |p| g)``).

When the formulas of mu and of another parameter (``sigma``, ``zi``, a category's ``muB``)
both have ``(... |p| g)``, the effects of ``g`` in all of them are one vector per level
with one covariance: sds from each block's own priors, one LKJ correlation matrix over
them all (prior class ``cor`` of the first block's parameter, group ``g``). Written
non-centered as a single factor would be: each block keeps its ``z_g`` (standard normal),
and the effects are ``[r_g, r_sigma_g] = [z_g, z_sigma_g] @ chol.T``.

Variables: ``chol_p`` (sampled), ``cor_p`` (dims ``p__coef``, labels prefixed by their
dpar: ``Intercept``, ``x``, ``sigma_Intercept``), and per block the usual ``sd_g``,
``cor_g`` (for two or more coefficients), ``z_g`` and ``r_g``, so every table reads them as
for any other factor.
"""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt

from ..design import Design
from ..design.blocks import joint_labels
from ..priors import PriorSet, vector_dist


def coef_dim(group: str) -> str:
    """Name of the coefficient dimension of grouping factor ``group``."""
    return f"{group}__coef"


def joint_coords(design: Design) -> dict[str, list[str]]:
    """The dimensions of ``cor_p`` per ID."""
    coords = {}
    for name, blocks in design.joint_blocks.items():
        coords[coef_dim(name)] = coords[coef_dim(name) + "_"] = joint_labels(blocks)
    return coords


def joint_effects(design: Design, priors: PriorSet) -> dict[str, list]:
    """Block group -> its effects, one column per coefficient, for every block whose
    effects are correlated with another parameter's (creates the variables)."""
    out = {}
    for name, blocks in design.joint_blocks.items():
        first = blocks[0]
        sd_priors = [
            priors.get(block.prior_class("sd"), block.label, coef)
            for block in blocks
            for coef in block.coefs
        ]
        eta = priors.get(first.prior_class("cor"), first.label).params.get("eta", 1.0)
        what = f"the sds of the effects of {first.label!r} with ID {name!r}"
        chol, corr, sds = pm.LKJCholeskyCov(
            f"chol_{name}",
            n=len(sd_priors),
            eta=eta,
            sd_dist=vector_dist(sd_priors, what),
            compute_corr=True,
            store_in_trace=False,
        )
        pm.Deterministic(f"cor_{name}", corr, dims=(coef_dim(name), coef_dim(name) + "_"))
        z = []  # the standard normal columns of every block, in the joint order
        for block in blocks:
            dims = (block.group, coef_dim(block.group))
            z_block = pm.Normal(f"z_{block.group}", 0.0, 1.0, dims=dims)
            z += [z_block[:, j] for j in range(len(block.coefs))]
        start = 0
        for block in blocks:
            k, dim = len(block.coefs), coef_dim(block.group)
            columns = [
                sum(z[j] * chol[start + i, j] for j in range(start + i + 1)) for i in range(k)
            ]
            pm.Deterministic(f"sd_{block.group}", sds[start : start + k], dims=dim)
            if k > 1:
                own = corr[start : start + k, start : start + k]
                pm.Deterministic(f"cor_{block.group}", own, dims=(dim, dim + "_"))
            pm.Deterministic(f"r_{block.group}", pt.stack(columns, axis=1), dims=(block.group, dim))
            out[block.group] = columns
            start += k
    return out

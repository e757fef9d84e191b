"""Centered or non-centered: how a sampled factor's random effects are parameterized.

Non-centered (``r = z * sd``, ``z ~ N(0, 1)``) suits levels with little data, where an
effect is mostly its prior and the centered form has a funnel between the sd and the
effects. Levels with much data pin their effects whatever the sd, and then the
non-centered ``z`` must move against ``sd`` (``r`` fixed): the centered form
(``r ~ N(0, sd)``) samples those better. In marginal models the factors left to sample are
large crossed ones whose levels may have dozens of rows each; in models whose effects are
all sampled (GLMMs) the same rule applies to every factor.

The choice weighs a level's data against its prior, ``kappa = n * tau^2 / sigma^2`` with
``n`` the median rows per level, and ``tau`` and ``sigma`` the between-level and
within-level sds of the fixed-effects residuals (one-way analysis of variance): centered
when ``kappa > 2``. Measured on InstEval: its lecturers (kappa 5.5), when sampled, reached a
bulk ESS of 3,769 for their sd centered against 756 non-centered (4 x 1,000 draws); its
students (kappa 1.3) gave about the same ESS per second either way (4.9 centered, 5.4
non-centered), so the threshold sits above 1.

For other families the analysis runs on the response as it is (not on a categorical
response, whose codes are labels: its factors stay non-centered): by the delta method a
level's information on the link scale, ``n * tau^2 * var(y | eta)`` (the logit's
``p (1 - p)``, the log's ``mu``), is the response-scale ratio again. Measured on speed
dating's logistic GLMM (participants, kappa 3.9; 4 x 1,000 + 1,000, seeds 1 and 2): min
bulk ESS 1,010 and 955 non-centered, 1,112 and 1,136 centered, draws 3-9% faster; VerbAgg's
crossed persons and items (kappa 6.5 and 8.6): 1,090 and 1,094 -> 1,260 and 1,371.

Where the likelihood takes the linear predictor as it is (GLMMs), a centered factor's
effects also take in the fixed effects constant within its levels, the intercept among
them (hierarchical centering, :func:`level_constant_columns`): it samples
``u_g = r_g + mean``, and ``r_g`` is recorded.

The form follows the data, so two data sets of one shape (k-fold's folds, a simulation
study's) may take different forms and then compile different programs: at most two per
factor and shape.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from ..design import Design, RandomBlock
from .products import matvec

CENTER_ABOVE = 2.0  # kappa above which a factor is centered


def data_weight(design: Design, block: RandomBlock) -> float:
    """``kappa`` of the module docstring for ``block``'s intercept (0 without one), with
    each row counted by its weight (``weights()``), as a row's copies would count.

    A smooth's or GP's basis (one level whose coefficients every row informs) counts as
    infinitely data-rich, so that Gaussian models integrate it out along with the largest
    factor (:mod:`mixedbayes.graph.woodbury`): sampled non-centered, ``y ~ s(x) + (1 | g)``
    on 400 rows took 273 leapfrog steps per draw, integrated 6.
    """
    if block.smooth is not None:
        return np.inf
    if "Intercept" not in block.coefs or block.n_levels < 2:
        return 0.0
    real = design.real_rows  # a padded copy decides as the model it pads
    y = design.y[real] - (design.offset[real] if design.offset is not None else 0.0)
    X, index = design.X[real], block.index[real]
    weights = design.additions.weights
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)[real]
    if X.shape[1]:  # weighted least squares: a row of weight 2 counts as two rows
        root = np.sqrt(w)
        e = y - X @ np.linalg.lstsq(root[:, None] * X, root * y, rcond=None)[0]
    else:
        e = y - np.average(y, weights=w)
    counts = np.bincount(index, w, minlength=block.n_levels)
    seen = counts > 0
    level_mean = np.bincount(index, w * e, block.n_levels) / np.where(seen, counts, 1.0)
    within = (w * (e - level_mean[index]) ** 2).sum() / max(w.sum() - seen.sum(), 1)
    if within <= 0:
        return np.inf
    between = max(level_mean[seen].var() - np.mean(within / counts[seen]), 0.0)
    return float(np.median(counts[seen]) * between / within)


def centered_factors(design: Design, sampled: list[RandomBlock]) -> dict[str, float]:
    """The factors among ``sampled`` to parameterize centered (``kappa > CENTER_ABOVE``),
    with their kappa, the most data-rich first.

    A sampled smooth or GP basis stays non-centered, as brms samples it: sleepstudy's
    ``s(Days, k = 5) + (1 | Subject) + ar(Days, Subject)`` (the smooth sampled, the
    subjects integrated with the AR(1) residuals) had 4 divergences and bulk ESS 125 for
    its sds centered, none and 230 non-centered (2 x 500 draws).

    So does a factor with random slopes: their effects are informed by each level's
    spread in the covariate, not its size, and centered slopes (a multivariate normal)
    mostly mixed worse. 20 levels of 8 or 40 Poisson counts or binary responses,
    ``y ~ x + (1 + x | g)`` (4 data sets per setting, 2 x 500 draws,
    ``benchmarks/glmm_forms.py``): the median min bulk ESS was lower centered in 10 of 12
    settings (by up to 16x: 12.6 against 201), higher in 2 (by 10% and 40%); with
    ``(1 | g)`` and kappa above 3 centered did as well once and better by 2-22x in the
    other 8 settings (Poisson: 690-1,652 against 73-351), and worse below 2. In
    ``validation/sbc.py``'s logistic and Poisson designs (20 x 8, ``(1 + x | g)``) the 51
    and 109 of 200 fits whose intercepts looked data-rich had a median min bulk ESS of 31
    and 46 centered against 118 and 104 non-centered, and most of the divergences.

    So does a factor nested in another sampled factor, or holding one: the data fix each
    inner level's effect plus its outer level's, and centered effects then trade the two
    along a ridge. lme4's grouseticks (broods in locations, Poisson, kappa 7.9 and 5.8;
    4 x 1,000 draws, seeds 1 and 2): min bulk ESS 88 and 20 centered, 261 and 224 not.
    """
    factors = [b for b in sampled if b.smooth is None]
    kappas = {
        b.group: data_weight(design, b)
        for b in factors
        if len(b.coefs) == 1
        and not any(nested_in(b, o) != nested_in(o, b) for o in factors if o is not b)
    }
    chosen = {g: kappa for g, kappa in kappas.items() if kappa > CENTER_ABOVE}
    return dict(sorted(chosen.items(), key=lambda item: -item[1]))


def nested_in(inner: RandomBlock, outer: RandomBlock) -> bool:
    """Whether every level of ``inner`` occurs with a single level of ``outer``."""
    pairs = np.unique(inner.index.astype(np.int64) * outer.n_levels + outer.index)
    return len(pairs) == len(np.unique(inner.index))


def level_constant_columns(design: Design, X: np.ndarray, blocks: list[RandomBlock]) -> dict:
    """Hierarchical centering: the fixed-effect columns of ``X`` that move into centered
    factors' level means, ``{group: (columns, per-level values)}``.

    A column constant within each level of a centered factor (its intercept, or a
    participant's sex) is the same in every row of a level, so ``X[:, c] b_c + r_g`` can be
    sampled as one level effect ``u_g ~ N(level_X @ b, sd)`` (Gelfand, Sahu and Carlin
    1995): with data-rich levels the coefficient is then the mean of effects the data pin,
    instead of a quantity the effects must move against. Speed dating (4 x 1,000 draws,
    seeds 1 and 2): the intercept's bulk ESS 1,112 -> 6,915, sex's 1,136 -> 7,111, the
    model's minimum 1,112 and 1,136 -> 1,876 and 2,042.

    ``blocks`` (centered: an intercept alone) take columns in the order given, the most
    data-rich first (:func:`centered_factors`; the intercept, constant within every
    factor, goes to it): VerbAgg's intercept had bulk ESS
    2,936 in its persons' means (kappa 6.5) and 6,506 in its items' (kappa 8.6). Levels
    without real rows (padding) get the intercept alone.
    """
    real, taken, moved = design.real_rows, set(), {}
    Xr = X[real]
    for block in blocks:
        index = block.index[real]
        first = np.full(block.n_levels, -1)
        first[index[::-1]] = np.arange(len(index))[::-1]  # each level's first real row
        seen = first >= 0
        at_level = np.zeros((block.n_levels, X.shape[1]))
        at_level[seen] = Xr[first[seen]]
        constant = (Xr == at_level[index]).all(axis=0)
        columns = [c for c in np.flatnonzero(constant).tolist() if c not in taken]
        if not columns:
            continue
        ones = [c for c in columns if np.all(Xr[:, c] == 1.0)]
        at_level[np.ix_(~seen, ones)] = 1.0
        taken.update(columns)
        moved[block.group] = (columns, at_level[:, columns])
    return moved


def level_means(design: Design, linear: tuple, blocks: list[RandomBlock], eta):
    """The fixed part ``eta`` without the columns of ``linear = (X, beta)`` that move into
    ``blocks``' level means (:func:`level_constant_columns`), and those means per factor."""
    X, beta = linear
    moved = level_constant_columns(design, X, blocks)
    if not moved:
        return eta, {}
    means, rest = {}, X.copy()
    for g, (columns, at) in moved.items():  # moved columns zeroed: one product, all of beta
        full = np.zeros((len(at), X.shape[1]))
        full[:, columns] = at
        means[g], rest[:, columns] = matvec(full, beta), 0.0
    return (matvec(rest, beta) if rest.any() else pt.zeros(design.n_obs)), means

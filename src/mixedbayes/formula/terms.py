"""Frozen results of parsing a formula: no pandas, no PyMC."""

from __future__ import annotations

from dataclasses import dataclass

from .special import AutocorTerm, GPTerm, SmoothTerm, T2Term


@dataclass(frozen=True)
class RandomPart:
    """One bar term's left-hand side, e.g. ``1 + x`` from ``(1 + x | g)``.

    ``expr`` is a formulaic right-hand side (an intercept is implied unless ``0`` or ``-1``
    removes it, as in lme4). ``correlated`` is False for ``||`` terms, whose columns get
    independent effects. ``id`` is brms's ``(1 + x |p| g)``: the terms of one grouping
    factor that share an ID are correlated, in one formula or across the formulas of
    several distributional parameters.
    """

    expr: str
    correlated: bool = True
    id: str | None = None


@dataclass(frozen=True)
class GroupTerm:
    """All random-effect parts that share one grouping factor.

    ``group`` is the factor's name as the formula writes it (``"hospital:ward"``), and
    ``factors`` the data columns whose combination defines its levels. The penalized part
    of a smooth ``s(x)`` is a term too: ``smooth`` holds the SmoothTerm, ``factors`` is
    empty (one level) and its coefficients share one sd.
    """

    group: str
    factors: tuple[str, ...]
    parts: tuple[RandomPart, ...]
    smooth: SmoothTerm | GPTerm | T2Term | None = None


@dataclass(frozen=True)
class Formula:
    """A parsed mixed-model formula.

    Attributes
    ----------
    text : str
        The formula as the user wrote it.
    response : str
        The response expression: the left-hand side of ``~``, or the successes in the
        binomial forms ``s | trials(n)`` and ``cbind(s, f)``.
    fixed : str
        The fixed part as a formulaic right-hand side (``"1"`` when it was empty), without
        offsets.
    groups : tuple of GroupTerm
        Random-effect terms, one per grouping factor, in order of first appearance.
    trials : str or None
        The number of trials from ``s | trials(n)`` (brms form).
    failures : str or None
        The failures from ``cbind(s, f)`` (lme4 form); trials are ``s + f``.
    offsets : tuple of str
        Expressions inside ``offset(...)`` terms, added to the linear predictor with
        coefficient 1.
    weights : str or None
        ``y | weights(w)``: likelihood weights (a weight of 2 counts the row twice).
    cens, cens2 : str or None
        ``y | cens(c)`` or ``cens(c, y2)``: each row's censoring ("left", "none",
        "right", "interval" or brms's -1, 0, 1, 2) and an interval's upper bound.
    trunc_lb, trunc_ub : str or None
        ``y | trunc(lb = 0, ub = 10)``: truncation bounds (numbers or columns).
    dpar : str
        The distributional parameter this formula predicts: ``"mu"`` for the main formula.
    dpars : tuple of Formula
        Formulas of the other distributional parameters (``sigma ~ x``), from
        :func:`mixedbayes.bf`; each has this formula's response and its own ``dpar``.
    autocor : AutocorTerm or None
        A residual correlation structure, ``ar(time = t, gr = g)`` and the like
        (:mod:`mixedbayes.formula.special`).
    """

    text: str
    response: str
    fixed: str
    groups: tuple[GroupTerm, ...] = ()
    trials: str | None = None
    failures: str | None = None
    offsets: tuple[str, ...] = ()
    weights: str | None = None
    cens: str | None = None
    cens2: str | None = None
    trunc_lb: str | None = None
    trunc_ub: str | None = None
    dpar: str = "mu"
    dpars: tuple[Formula, ...] = ()
    autocor: AutocorTerm | None = None

    @property
    def response_expressions(self) -> tuple[str, ...]:
        """Every expression of the left-hand side (response, trials or failures, and the
        addition terms)."""
        expressions = (self.response, self.trials, self.failures, self.weights, self.cens)
        expressions += (self.cens2, self.trunc_lb, self.trunc_ub)
        return tuple(e for e in expressions if e is not None)

    @property
    def parts(self) -> tuple[Formula, ...]:
        """The formula of every distributional parameter, ``mu``'s (this one) first."""
        return (self, *self.dpars)

    @property
    def full_text(self) -> str:
        """The formulas as the user wrote them, joined by ``"; "``."""
        return "; ".join(part.text for part in self.parts)

    def __str__(self) -> str:
        return self.full_text

"""``bf()``: formulas for distributional parameters besides the mean (brms's ``bf``).

``bf("y ~ x + (1 | g)", sigma="~ z")`` and ``bf("y ~ x + (1 | g)", "sigma ~ z")`` are the
same: the main formula predicts ``mu``; each other formula predicts the parameter named on
its left (``sigma``, ``nu``, ``shape``, ``phi``), on the scale of its link (log by
default). Which parameters a family has is checked when the formula meets the family.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, replace

from ..errors import FormulaError
from .parse import parse_formula
from .terms import Formula


@dataclass(frozen=True)
class BF:
    """Formulas of several distributional parameters, made by :func:`mixedbayes.bf`.

    Attributes
    ----------
    main : str
        The formula of the response's mean (``mu``).
    dpars : tuple of (str, str)
        ``(dpar, formula)`` pairs such as ``("sigma", "sigma ~ z")``, in the order given.
    """

    main: str
    dpars: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return "; ".join([self.main, *(text for _, text in self.dpars)])


def bf(formula: str, *formulas: str, **dpars: str) -> BF:
    """Formulas for the mean and for other distributional parameters (brms's ``bf()``).

    Parameters
    ----------
    formula : str
        The main formula, e.g. ``"gpa ~ occasion + (1 | student)"``.
    *formulas : str
        Formulas of other parameters written with their name on the left,
        ``"sigma ~ C(occasion)"`` (bambi's style).
    **dpars : str
        The same by keyword, ``sigma="~ C(occasion)"`` (brms's style); the ``~`` is
        optional.

    Returns
    -------
    BF
        Pass it to :class:`mixedbayes.Model` in place of a formula string.

    Examples
    --------
    >>> mb.bf("gpa ~ occasion + (1 | student)", sigma="~ C(occasion)")
    >>> mb.bf("y ~ x", "sigma ~ x + (1 | g)")
    """
    if not isinstance(formula, str):
        raise FormulaError(f"bf() needs the main formula as a string, got {type(formula).__name__}")
    pairs = [_named(text) for text in formulas]
    for name, text in dpars.items():
        if not isinstance(text, str):
            raise FormulaError(f"the formula of {name!r} must be a string, got {text!r}")
        rhs = text.strip()
        pairs.append((name, f"{name} {rhs}" if rhs.startswith("~") else f"{name} ~ {rhs}"))
    names = [name for name, _ in pairs]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name == "mu":
            raise FormulaError(
                f"{name!r} cannot name a distributional parameter (the main formula is mu's)"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FormulaError(f"bf() got more than one formula for {repeated[0]!r}")
    return BF(formula, tuple(pairs))


def parse_model_formula(formula: str | BF | Formula) -> Formula:
    """The :class:`Formula` of a formula string, a :class:`BF` or a parsed formula."""
    if isinstance(formula, Formula):
        return formula
    if not isinstance(formula, BF):
        return parse_formula(formula)
    main = parse_formula(formula.main)
    parts = []
    for name, text in formula.dpars:
        part = parse_formula(text)
        if part.trials is not None or part.failures is not None:
            raise FormulaError(f"the formula of {name!r}, {text!r}, takes no trials or cbind()")
        if part.autocor is not None:
            raise FormulaError(
                f"the formula of {name!r}, {text!r}: a correlation structure "
                f"({part.autocor.text}) belongs in the formula of the mean"
            )
        parts.append(replace(part, response=main.response, dpar=name))
    return replace(main, dpars=tuple(parts))


def _named(text: str) -> tuple[str, str]:
    if not isinstance(text, str) or "~" not in text:
        raise FormulaError(
            f"bf() formula {text!r} must name its parameter on the left, e.g. 'sigma ~ x'"
        )
    name = text.split("~", 1)[0].strip()
    if not name:
        raise FormulaError(
            f"bf() formula {text!r} must name its parameter on the left, e.g. 'sigma ~ x'"
        )
    return name, text.strip()

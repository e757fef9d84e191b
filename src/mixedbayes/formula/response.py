"""The left-hand side of a formula: the response, ``cbind(s, f)`` and the addition terms
after ``|`` (brms): ``trials()``, ``weights()``, ``cens()`` and ``trunc()``."""

from __future__ import annotations

from ..errors import FormulaError
from .scan import CALL, call_argument, split_arguments, top_level_positions

ADDITIONS = ("trials", "weights", "cens", "trunc")


def parse_response(response: str, text: str) -> dict:
    """The left-hand side: ``response`` (or successes), and the addition terms after
    ``|`` (brms): ``trials``, ``failures`` (from cbind), ``weights``, ``cens``, ``cens2``
    (an interval's upper bound), ``trunc_lb`` and ``trunc_ub``."""
    bars = top_level_positions(response, "|")
    if bars:
        if len(bars) > 1:
            raise FormulaError(f"response {response!r} in {text!r} has more than one '|'")
        lhs, addition = response[: bars[0]].strip(), response[bars[0] + 1 :].strip()
        if not lhs or not addition:
            raise FormulaError(
                f"response {response!r} in {text!r}: write 'y | weights(w) ~ x', "
                "'s | trials(n) ~ x', 'y | cens(c) ~ x' or 'y | trunc(lb = 0) ~ x' (brms)"
            )
        parsed = {"response": _cbind_or_name(lhs, text)[0]}
        for term in (chunk.strip() for chunk in _split_plus(addition)):
            parsed |= _addition(term, response, text, parsed)
        return parsed
    successes, failures = _cbind_or_name(response, text)
    return {"response": successes, "failures": failures}


def is_number(expr: str) -> bool:
    try:
        float(expr)
    except ValueError:
        return False
    return True


def _cbind_or_name(response: str, text: str) -> tuple[str, str | None]:
    cbind = call_argument(response, "cbind")
    if cbind is None:
        return response, None
    args = [arg.strip() for arg in split_arguments(cbind)]
    if len(args) != 2 or not all(args):
        raise FormulaError(
            f"response {response!r} in {text!r}: cbind takes two arguments, "
            "cbind(successes, failures)"
        )
    return args[0], args[1]


def _split_plus(addition: str) -> list[str]:
    plus = top_level_positions(addition, "+")
    bounds = [-1, *plus, len(addition)]
    return [addition[a + 1 : b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _addition(term: str, response: str, text: str, parsed: dict) -> dict:
    """One addition term, e.g. ``weights(w)`` -> ``{"weights": "w"}``."""
    match = CALL.match(term)
    name = match.group(1) if match else None
    if name not in ADDITIONS:
        raise FormulaError(
            f"response {response!r} in {text!r}: unknown addition term {term!r}; after '|' "
            f"come {', '.join(f'{a}()' for a in ADDITIONS)}, joined by '+'"
        )
    if any(key.startswith(name) for key in parsed if key != "response"):
        raise FormulaError(f"response {response!r} in {text!r} has {name}() twice")
    args = [arg.strip() for arg in split_arguments(match.group(2))]
    if not all(args):
        raise FormulaError(f"addition term {term!r} in {text!r} has an empty argument")
    if name == "trunc":
        bounds = {}
        for arg in args:
            key, equals, value = arg.partition("=")
            key = key.strip()
            if not equals or key not in ("lb", "ub") or not value.strip():
                raise FormulaError(
                    f"{term!r} in {text!r}: write trunc(lb = 0), trunc(ub = 10) or both"
                )
            bounds[f"trunc_{key}"] = value.strip()
        return bounds
    if name == "cens":
        if len(args) > 2:
            raise FormulaError(f"{term!r} in {text!r}: cens(c) or cens(c, upper)")
        return {"cens": args[0], "cens2": args[1] if len(args) == 2 else None}
    if len(args) != 1:
        raise FormulaError(f"{term!r} in {text!r}: {name}() takes one argument")
    return {name: args[0]}

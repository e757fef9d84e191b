"""Parse lme4-style formulas: ``y ~ x + (1 + x | g) + (1 | g1/g2)``.

The stages are a scanner (top-level ``+``/``-`` chunks, with parenthesis checking), a
parser (a chunk is a bar term when it is one parenthesized group holding a top-level
``|``, an offset when it is ``offset(...)``), and expansion (``||`` to uncorrelated parts,
``g1/g2`` to ``g1`` and ``g1:g2``, merging of parts that share a grouping factor). The
left-hand side may be the binomial forms ``s | trials(n)`` (brms) or ``cbind(s, f)``
(lme4). The fixed part is left to formulaic.
"""

from __future__ import annotations

import re

from ..errors import FormulaError
from .terms import Formula, GroupTerm, RandomPart

_NAME = re.compile(r"^(`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*)$")
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$", re.DOTALL)


def parse_formula(text: str) -> Formula:
    """Parse a mixed-model formula string into a :class:`Formula`.

    Parameters
    ----------
    text : str
        An lme4-style formula, e.g. ``"gpa ~ occasion + (1 + occasion | student)"``.

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        On a missing ``~``, unbalanced parentheses, a bar term without parentheses, an
        empty or malformed bar term, or a grouping factor that is not a column name.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}")
    _check_parentheses(text)
    tilde = _top_level_positions(text, "~")
    if not tilde:
        raise FormulaError(
            f"formula {text!r} has no '~'; write it as 'response ~ predictors', "
            "e.g. 'y ~ x + (1 | g)'"
        )
    if len(tilde) > 1:
        raise FormulaError(f"formula {text!r} has more than one '~'")
    response, rhs = text[: tilde[0]].strip(), text[tilde[0] + 1 :].strip()
    if not response:
        raise FormulaError(f"formula {text!r} has no response on the left of '~'")
    if not rhs:
        raise FormulaError(f"formula {text!r} has nothing on the right of '~'")

    fixed_chunks: list[str] = []
    bar_terms: list[GroupTerm] = []
    offsets: list[str] = []
    for sign, chunk in _split_terms(rhs, text):
        inner = _bar_term_body(chunk)
        offset = _call_argument(chunk, "offset")
        if offset is not None:
            if sign == "-" or not offset:
                raise FormulaError(f"offset term {chunk!r} in {text!r} must be + offset(expr)")
            offsets.append(offset)
        elif inner is None:
            if _top_level_positions(chunk, "|"):
                raise FormulaError(
                    f"random-effect term {chunk!r} in {text!r} needs parentheses: write ({chunk})"
                )
            fixed_chunks.append(chunk if sign == "+" else f"- {chunk}")
        elif sign == "-":
            raise FormulaError(f"cannot subtract random-effect term {chunk!r} in {text!r}")
        else:
            bar_terms.extend(_expand_bar_term(inner, chunk))

    fixed = " + ".join(fixed_chunks).replace("+ -", "-") if fixed_chunks else "1"
    if fixed.startswith("- "):
        fixed = "1 " + fixed  # only removals, e.g. "offset(e) - 1"
    successes, trials, failures = _parse_response(response, text)
    return Formula(
        text=text,
        response=successes,
        fixed=fixed,
        groups=_merge(bar_terms),
        trials=trials,
        failures=failures,
        offsets=tuple(offsets),
    )


def _call_argument(chunk: str, function: str) -> str | None:
    """``expr`` if ``chunk`` is exactly ``function(expr)``, else None."""
    match = _CALL.match(chunk.strip())
    if not match or match.group(1) != function:
        return None
    inner = match.group(2)
    depth = 0
    for c in inner:  # reject "offset(a) * (b)": the parentheses must enclose the chunk
        depth += (c == "(") - (c == ")")
        if depth < 0:
            return None
    return inner.strip()


def _parse_response(response: str, text: str) -> tuple[str, str | None, str | None]:
    """(response or successes, trials, failures) from the left-hand side."""
    bars = _top_level_positions(response, "|")
    if bars:
        if len(bars) > 1:
            raise FormulaError(f"response {response!r} in {text!r} has more than one '|'")
        lhs, addition = response[: bars[0]].strip(), response[bars[0] + 1 :].strip()
        trials = _call_argument(addition, "trials")
        if not lhs or not trials:
            raise FormulaError(
                f"response {response!r} in {text!r}: after '|' only trials(n) is supported, "
                "as in 'successes | trials(n) ~ x' (brms); other addition terms are not"
            )
        return lhs, trials, None
    cbind = _call_argument(response, "cbind")
    if cbind is not None:
        args = [arg.strip() for arg in _split_arguments(cbind)]
        if len(args) != 2 or not all(args):
            raise FormulaError(
                f"response {response!r} in {text!r}: cbind takes two arguments, "
                "cbind(successes, failures)"
            )
        return args[0], None, args[1]
    return response, None, None


def _split_arguments(inner: str) -> list[str]:
    commas = _top_level_positions(inner, ",")
    bounds = [-1, *commas, len(inner)]
    return [inner[a + 1 : b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _check_parentheses(text: str) -> None:
    depth = 0
    for pos, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(_pointer(text, pos, "unmatched ')'"))
    if depth > 0:
        raise FormulaError(_pointer(text, text.rfind("("), "'(' is never closed"))


def _pointer(text: str, pos: int, message: str) -> str:
    return f"{message} at position {pos} of the formula:\n  {text}\n  {' ' * pos}^"


def _top_level_positions(text: str, char: str) -> list[int]:
    """Positions of ``char`` outside any parentheses."""
    depth, found = 0, []
    for pos, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if c == char and depth == 0:
            found.append(pos)
    return found


def _split_terms(rhs: str, text: str) -> list[tuple[str, str]]:
    """Split on top-level ``+`` and ``-`` into (sign, chunk) pairs."""
    chunks, depth, sign, start = [], 0, "+", 0
    for pos, c in enumerate(rhs):
        depth += (c == "(") - (c == ")")
        if depth == 0 and c in "+-" and not _is_operator_suffix(rhs, pos):
            chunk = rhs[start:pos].strip()
            if chunk:
                chunks.append((sign, chunk))
            elif pos > 0:
                raise FormulaError(f"empty term before {c!r} in formula {text!r}")
            sign, start = c, pos + 1
    chunk = rhs[start:].strip()
    if not chunk:
        raise FormulaError(f"formula {text!r} ends with an operator")
    chunks.append((sign, chunk))
    return chunks


def _is_operator_suffix(rhs: str, pos: int) -> bool:
    """True for the sign in ``x**-1`` or ``1e-3``: not a term separator."""
    before = rhs[:pos].rstrip()
    return before.endswith(("*", "/", "^", "(", ",")) or bool(re.search(r"\d[eE]$", before))


def _bar_term_body(chunk: str) -> str | None:
    """The inside of ``( lhs | group )``, or None if ``chunk`` is not a bar term."""
    if not (chunk.startswith("(") and chunk.endswith(")")):
        return None
    depth = 0
    for pos, c in enumerate(chunk):
        depth += (c == "(") - (c == ")")
        if depth == 0 and pos < len(chunk) - 1:
            return None  # e.g. "(a + b):c" -- parentheses do not enclose the chunk
    inner = chunk[1:-1]
    return inner if _top_level_positions(inner, "|") else None


def _expand_bar_term(inner: str, chunk: str) -> list[GroupTerm]:
    bars = _top_level_positions(inner, "|")
    double = len(bars) == 2 and bars[1] == bars[0] + 1
    if len(bars) > 1 and not double:
        raise FormulaError(f"random-effect term {chunk!r} has more than one '|'")
    lhs, group = inner[: bars[0]].strip(), inner[bars[-1] + 1 :].strip()
    if not lhs:
        raise FormulaError(f"random-effect term {chunk!r} has nothing left of the bar")
    if not group:
        raise FormulaError(f"random-effect term {chunk!r} names no grouping factor")
    if re.fullmatch(r"(0|-\s*1)", lhs):
        raise FormulaError(f"random-effect term {chunk!r} has no effects (only '{lhs}')")
    part = RandomPart(expr=lhs, correlated=not double)
    return [
        GroupTerm(group=":".join(factors), factors=factors, parts=(part,))
        for factors in _nesting_levels(group, chunk)
    ]


def _nesting_levels(group: str, chunk: str) -> list[tuple[str, ...]]:
    """``a/b/c`` -> [(a,), (a, b), (a, b, c)]; ``a:b`` -> [(a, b)]."""
    levels, prefix = [], ()
    for component in group.split("/"):
        names = tuple(name.strip() for name in component.strip().strip("()").split(":"))
        for name in names:
            if not _NAME.match(name):
                raise FormulaError(
                    f"grouping factor {group!r} in {chunk!r} must be column names joined by "
                    f"':' or '/'; {name!r} is not a column name (for crossed factors write "
                    "(1 | g1) + (1 | g2))"
                )
        prefix = prefix + tuple(name.strip("`") for name in names)
        levels.append(prefix)
    return levels


def _merge(terms: list[GroupTerm]) -> tuple[GroupTerm, ...]:
    merged: dict[str, GroupTerm] = {}
    for term in terms:
        if term.group in merged:
            old = merged[term.group]
            merged[term.group] = GroupTerm(term.group, old.factors, old.parts + term.parts)
        else:
            merged[term.group] = term
    return tuple(merged.values())

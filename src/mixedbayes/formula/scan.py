"""Scanning formula text: top-level positions outside brackets and quotes, calls and
their arguments, bracket checking and error pointers."""

from __future__ import annotations

import re

from ..errors import FormulaError

CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$", re.DOTALL)
_OPEN, _CLOSE, _QUOTES = "([{", ")]}", "`'\""


def call_argument(chunk: str, function: str) -> str | None:
    """``expr`` if ``chunk`` is exactly ``function(expr)``, else None."""
    match = CALL.match(chunk.strip())
    if not match or match.group(1) != function:
        return None
    inner = match.group(2)
    # reject "offset(a) * (b)": the parentheses must enclose the chunk
    if any(depth < 0 for _, _, depth in scan(inner)):
        return None
    return inner.strip()


def split_arguments(inner: str) -> list[str]:
    commas = top_level_positions(inner, ",")
    bounds = [-1, *commas, len(inner)]
    return [inner[a + 1 : b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def scan(text: str):
    """(position, character, depth) of every character outside quotes.

    ``depth`` counts the brackets ``(``, ``[`` and ``{`` open after the character; text
    between backticks or quotes (a backticked name, ``'x'``) is skipped, so it never splits
    terms.
    """
    depth, quote = 0, None
    for pos, c in enumerate(text):
        if quote is not None:
            quote = None if c == quote else quote
            continue
        if c in _QUOTES:
            quote = c
            continue
        depth += (c in _OPEN) - (c in _CLOSE)
        yield pos, c, depth


def check_parentheses(text: str) -> None:
    """Brackets must pair up and quotes close, or a FormulaError points at the culprit."""
    stack: list[int] = []
    quote = None
    for pos, c in enumerate(text):
        if quote is not None:
            quote = None if c == text[quote] else quote
        elif c in _QUOTES:
            quote = pos
        elif c in _OPEN:
            stack.append(pos)
        elif c in _CLOSE:
            if not stack:
                raise FormulaError(pointer(text, pos, f"unmatched {c!r}"))
            opened = stack.pop()
            if _OPEN.index(text[opened]) != _CLOSE.index(c):
                raise FormulaError(
                    pointer(text, pos, f"{c!r} closes {text[opened]!r} from position {opened}")
                )
    if quote is not None:
        raise FormulaError(pointer(text, quote, f"{text[quote]!r} is never closed"))
    if stack:
        raise FormulaError(pointer(text, stack[-1], f"{text[stack[-1]]!r} is never closed"))


def pointer(text: str, pos: int, message: str) -> str:
    return f"{message} at position {pos} of the formula:\n  {text}\n  {' ' * pos}^"


def top_level_positions(text: str, char: str) -> list[int]:
    """Positions of ``char`` outside any brackets and quotes."""
    return [pos for pos, c, depth in scan(text) if c == char and depth == 0]

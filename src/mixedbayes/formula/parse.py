"""Parse lme4-style formulas: ``y ~ x + (1 + x | g) + (1 | g1/g2)``.

The stages are a scanner (top-level ``+``/``-`` chunks, with parenthesis checking), a
parser (a chunk is a bar term when it is one parenthesized group holding a top-level
``|``, an offset when it is ``offset(...)``), and expansion (``||`` to uncorrelated parts,
``g1/g2`` to ``g1`` and ``g1:g2``, merging of parts that share a grouping factor). The
left-hand side may be the binomial forms ``s | trials(n)`` (brms) or ``cbind(s, f)``
(lme4). The fixed part is left to formulaic, but every piece is checked with formulaic's
parser here, so syntax errors are FormulaErrors with a position before any data are read.
"""

from __future__ import annotations

import functools
import re

from ..errors import FormulaError
from .response import is_number, parse_response
from .scan import call_argument, check_parentheses, pointer, scan, top_level_positions
from .special import autocor_term, smooth_term
from .terms import Formula, GroupTerm, RandomPart

_NAME = re.compile(r"^(`[^`]+`|[^\W\d][\w.]*|\.[\w.]*)$")  # identifiers, any script
_EXPONENT = re.compile(r"(?<![\w.])(\d+\.?\d*|\.\d+)[eE]$")  # "1e" or "2.5E" before a sign
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
        On a missing ``~``, unbalanced brackets or quotes, an operator that formulas do not
        have (``$``, ``&``, ``=``, ...) or a missing one, a bar term without parentheses, an
        empty or malformed bar term, or a grouping factor that is not a column name; where
        it can, the message points at the position in the formula.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}")
    check_parentheses(text)
    tilde = top_level_positions(text, "~")
    if not tilde:
        raise FormulaError(
            f"formula {text!r} has no '~'; write it as 'response ~ predictors', "
            "e.g. 'y ~ x + (1 | g)'"
        )
    if len(tilde) > 1:
        raise FormulaError(pointer(text, tilde[1], "more than one '~' (the second)"))
    response, rhs = text[: tilde[0]].strip(), text[tilde[0] + 1 :].strip()
    if not response:
        raise FormulaError(f"formula {text!r} has no response on the left of '~'")
    if not rhs:
        raise FormulaError(f"formula {text!r} has nothing on the right of '~'")
    rhs_start = text.index(rhs, tilde[0] + 1)

    fixed_chunks: list[str] = []
    bar_terms: list[GroupTerm] = []
    offsets: list[str] = []
    autocor: list = []
    for sign, chunk, start in _split_terms(rhs, text, rhs_start):
        inner = _bar_term_body(chunk)
        offset = call_argument(chunk, "offset")
        if offset is not None:
            if sign == "-" or not offset:
                raise FormulaError(f"offset term {chunk!r} in {text!r} must be + offset(expr)")
            _check_syntax(offset, text, text.find(offset, start), f"offset {chunk!r}")
            offsets.append(offset)
        elif (smooths := smooth_term(chunk, text, [t.group for t in bar_terms])) is not None:
            if sign == "-":
                raise FormulaError(f"cannot subtract smooth term {chunk!r} in {text!r}")
            for smooth in smooths:
                if smooth.fixed is not None:
                    fixed_chunks.append(smooth.fixed)
                parts = tuple(RandomPart(expr=e, correlated=False) for e in smooth.randoms)
                group = GroupTerm(group=smooth.name, factors=(), parts=parts, smooth=smooth)
                bar_terms.append(group)
        elif (structure := autocor_term(chunk, text)) is not None:
            if autocor or sign == "-":
                raise FormulaError(f"{text!r}: at most one correlation structure, added with +")
            autocor.append(structure)
        elif inner is None:
            if top_level_positions(chunk, "|"):
                raise FormulaError(
                    f"random-effect term {chunk!r} in {text!r} needs parentheses: write ({chunk})"
                )
            _check_syntax(chunk, text, start, "term")
            fixed_chunks.append(chunk if sign == "+" else f"- {chunk}")
        elif sign == "-":
            raise FormulaError(f"cannot subtract random-effect term {chunk!r} in {text!r}")
        else:
            bar_terms.extend(_expand_bar_term(inner, chunk, text, start))

    fixed = " + ".join(fixed_chunks).replace("+ -", "-") if fixed_chunks else "1"
    if fixed.startswith("- "):
        fixed = "1 " + fixed  # only removals, e.g. "offset(e) - 1"
    _check_syntax(fixed, text, None, "fixed part")
    lhs = parse_response(response, text)
    for expr in lhs.values():
        if expr is not None and not is_number(expr):
            _check_syntax(expr, text, text.find(expr), "response")
    return Formula(
        text=text,
        fixed=fixed,
        groups=_merge(bar_terms),
        offsets=tuple(offsets),
        autocor=autocor[0] if autocor else None,
        **lhs,
    )


def _check_syntax(expr: str, text: str, start: int | None, what: str) -> None:
    """A FormulaError (with the position in ``text``) if formulaic cannot parse ``expr``.

    ``start`` is where ``expr`` begins in ``text`` (None or -1 when unknown). This catches
    operators that formulas do not have (``x $ z``, ``x & z``, ``x = z``), two terms without
    an operator (``x z``), quoted strings and the like before any data are touched.
    """
    error = _formulaic_error(expr)
    if error is not None:
        raise FormulaError(_syntax_message(expr, text, start, what, error))


@functools.lru_cache(maxsize=1024)
def _formulaic_error(expr: str) -> str | None:
    """formulaic's message for ``expr``, or None if it parses (cached: terms repeat a lot)."""
    import formulaic  # imported on first use: `import mixedbayes` stays fast

    try:
        formulaic.Formula(expr)
    except Exception as error:  # formulaic raises several types; all mean "cannot parse"
        return str(error)
    return None


def _syntax_message(expr: str, text: str, start: int | None, what: str, error: str) -> str:
    detail = _ANSI.sub("", error)
    summary, _, context = detail.partition("\n\n")
    summary = summary.strip().rstrip(".")
    hint = ""
    if "`.` operator" in summary:
        summary = "'.' (all other columns) is not supported; list the predictors"
    elif "|" in expr:
        hint = (
            "\nrandom-effect terms must be terms of their own, joined to the rest by '+', "
            "e.g. 'y ~ x + (1 | g)'"
        )
    message = f"{summary} in {what} {expr!r}"
    # formulaic brackets the offending token as "...\u29dbtoken\u29da..." in the source
    marker = context.find("\u29db")
    unmarked = context.replace("\u29db", "").replace("\u29da", "")
    if start is None or start < 0 or marker < 0 or unmarked != expr:
        return f"{message} of formula {text!r}{hint}"
    return pointer(text, start + marker, message) + hint


def _split_terms(rhs: str, text: str, offset: int) -> list[tuple[str, str, int]]:
    """Split on top-level ``+`` and ``-`` into (sign, chunk, position in text) triples.

    ``offset`` is where ``rhs`` starts in ``text``.
    """
    chunks, sign, start = [], "+", 0

    def add(end: int) -> None:
        raw = rhs[start:end]
        chunks.append((sign, raw.strip(), offset + start + len(raw) - len(raw.lstrip())))

    for pos, c, depth in scan(rhs):
        if depth == 0 and c in "+-" and not _is_operator_suffix(rhs, pos):
            if rhs[start:pos].strip():
                add(pos)
            elif pos > 0:
                raise FormulaError(pointer(text, offset + pos, f"empty term before {c!r}"))
            sign, start = c, pos + 1
    if not rhs[start:].strip():
        raise FormulaError(pointer(text, offset + start - 1, "the formula ends with an operator"))
    add(len(rhs))
    return chunks


def _is_operator_suffix(rhs: str, pos: int) -> bool:
    """True for the sign in ``x**-1`` or ``1e-3``: not a term separator (but ``x1e - z``)."""
    before = rhs[:pos].rstrip()
    return before.endswith(("*", "/", "^", "(", "[", "{", ",")) or bool(_EXPONENT.search(rhs[:pos]))


def _bar_term_body(chunk: str) -> str | None:
    """The inside of ``( lhs | group )``, or None if ``chunk`` is not a bar term."""
    if not (chunk.startswith("(") and chunk.endswith(")")):
        return None
    for pos, _, depth in scan(chunk):
        if depth == 0 and pos < len(chunk) - 1:
            return None  # e.g. "(a + b):c" -- parentheses do not enclose the chunk
    inner = chunk[1:-1]
    return inner if top_level_positions(inner, "|") else None


def _expand_bar_term(inner: str, chunk: str, text: str, start: int) -> list[GroupTerm]:
    """The GroupTerms of one bar term ``chunk`` (which begins at ``text[start]``)."""
    bars = top_level_positions(inner, "|")
    double = len(bars) == 2 and bars[1] == bars[0] + 1
    term_id = inner[bars[0] + 1 : bars[-1]].strip() if len(bars) == 2 and not double else None
    if term_id is not None and not term_id.isidentifier():
        raise FormulaError(
            f"random-effect term {chunk!r}: between two '|' brms's syntax takes an ID "
            f"(a name such as p, as in (1 |p| g)), got {term_id!r}"
        )
    if len(bars) > 2:
        raise FormulaError(
            f"random-effect term {chunk!r} has more than one '|' (two only in brms's ID "
            "form, (1 |p| g))"
        )
    lhs, group = inner[: bars[0]].strip(), inner[bars[-1] + 1 :].strip()
    if not lhs:
        raise FormulaError(f"random-effect term {chunk!r} has nothing left of the bar")
    if not group:
        raise FormulaError(f"random-effect term {chunk!r} names no grouping factor")
    if re.fullmatch(r"(0|-\s*1)", lhs):
        raise FormulaError(f"random-effect term {chunk!r} has no effects (only '{lhs}')")
    lhs_start = start + 1 + len(inner) - len(inner.lstrip())
    _check_syntax(lhs, text, lhs_start, f"random-effect term {chunk!r}:")
    part = RandomPart(expr=lhs, correlated=not double, id=term_id)
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

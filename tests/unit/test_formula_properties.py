"""Property-based tests of formula parsing and design expansion (hypothesis).

Random formulas are built from random identifiers, fixed terms and bar terms
(``(1 + a | g)``, ``(0 + a | g)``, ``(a || g)``, nested ``g1/g2``, interactions ``g1:g2``),
together with the parse they must give; the parser is checked against that model, for
whitespace and term-order invariance, and for failing only with FormulaError on garbage.
"""

from __future__ import annotations

import keyword
import string
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixedbayes import FormulaError
from mixedbayes.design import make_design
from mixedbayes.design.columns import label
from mixedbayes.formula import GroupTerm, RandomPart, parse_formula

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[HealthCheck.too_slow],
)

# names the formula language or formulaic reads specially are left out
RESERVED = {"C", "I", "Q", "np", "offset", "trials", "cbind", "center", "scale", "poly"}

identifiers = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_letters + "_"),
    st.text(string.ascii_letters + string.digits + "_", max_size=7),
).filter(lambda name: not keyword.iskeyword(name) and name not in RESERVED)


@st.composite
def formulas(draw):
    """(tokens, expected) for a random valid formula.

    ``tokens`` join (with any whitespace) into the formula; ``expected`` holds the response,
    the fixed terms and the bar terms (as ``bar_terms`` draws them), in formula order.
    """
    names = draw(st.lists(identifiers, min_size=9, max_size=9, unique=True))
    response, covariates, factors = names[0], names[1:5], names[5:]
    fixed = draw(st.lists(st.sampled_from(covariates), unique=True, max_size=3))
    n_bars = draw(st.integers(0 if fixed else 1, 3))
    bars = [draw(bar_terms(covariates, factors)) for _ in range(n_bars)]

    tokens = [[response], ["~"]]
    terms = [[name] for name in fixed] + [tokens_of_bar(*bar) for bar in bars]
    order = draw(st.permutations(range(len(terms))))
    for i, position in enumerate(order):
        tokens += ([["+"]] if i else []) + [terms[position]]
    expected = {
        "response": response,
        "fixed": [name for name in (terms[p][0] for p in order) if name in fixed],
        "bars": [bars[p - len(fixed)] for p in order if p >= len(fixed)],
    }
    return [token for group in tokens for token in group], expected


@st.composite
def bar_terms(draw, covariates, factors):
    """(lhs tokens, group tokens, expanded factor tuples, correlated) of one bar term."""
    slopes = draw(st.lists(st.sampled_from(covariates), unique=True, max_size=2))
    intercept = draw(st.sampled_from(["1", "0", ""])) if slopes else "1"
    lhs = ([intercept] if intercept else []) + slopes
    lhs_tokens = [t for i, term in enumerate(lhs) for t in ([term] if i == 0 else ["+", term])]
    kind = draw(st.sampled_from(["single", "nested", "nested3", "interaction"]))
    g = draw(st.lists(st.sampled_from(factors), min_size=3, max_size=3, unique=True))
    if kind == "single":
        group_tokens, expansion = [g[0]], [(g[0],)]
    elif kind == "nested":
        group_tokens, expansion = [g[0], "/", g[1]], [(g[0],), (g[0], g[1])]
    elif kind == "nested3":
        group_tokens = [g[0], "/", g[1], "/", g[2]]
        expansion = [(g[0],), (g[0], g[1]), (g[0], g[1], g[2])]
    else:
        group_tokens, expansion = [g[0], ":", g[1]], [(g[0], g[1])]
    correlated = draw(st.booleans())
    return lhs_tokens, group_tokens, expansion, correlated


def tokens_of_bar(lhs_tokens, group_tokens, expansion, correlated):
    return ["(", *lhs_tokens, "|" if correlated else "||", *group_tokens, ")"]


def render(tokens, separators):
    """Join tokens with the given separators (cycled)."""
    out = [tokens[0]]
    for i, token in enumerate(tokens[1:]):
        out += [separators[i % len(separators)], token]
    return "".join(out)


def expected_groups(bars) -> tuple[GroupTerm, ...]:
    """The merged groups: one per factor tuple, parts in order of appearance."""
    merged: dict[tuple[str, ...], list[RandomPart]] = {}
    for lhs_tokens, _, expansion, correlated in bars:
        part = RandomPart(" ".join(lhs_tokens), correlated)
        for factors in expansion:
            merged.setdefault(factors, []).append(part)
    return tuple(GroupTerm(":".join(f), f, tuple(parts)) for f, parts in merged.items())


def squeeze(text: str) -> str:
    return "".join(text.split())


def canonical(formula):
    """A parse with whitespace inside expressions removed (spacing carries no meaning)."""
    groups = tuple(
        (g.group, g.factors, tuple((squeeze(p.expr), p.correlated) for p in g.parts))
        for g in formula.groups
    )
    return squeeze(formula.response), squeeze(formula.fixed), groups, formula.offsets


whitespace = st.lists(st.sampled_from(["", " ", "  ", "\t", "\n", " \n "]), min_size=1)


@SETTINGS
@given(formulas())
def test_parse_matches_the_generated_structure(case):
    tokens, expected = case
    parsed = parse_formula(render(tokens, [" "]))
    assert parsed.response == expected["response"]
    assert parsed.fixed == (" + ".join(expected["fixed"]) or "1")
    assert parsed.groups == expected_groups(expected["bars"])
    assert parsed.trials is None and parsed.failures is None and parsed.offsets == ()


@SETTINGS
@given(formulas())
def test_grouping_factors_are_those_generated(case):
    tokens, expected = case
    parsed = parse_formula(render(tokens, [" "]))
    wanted = {":".join(f) for bar in expected["bars"] for f in bar[2]}
    assert {g.group for g in parsed.groups} == wanted
    for group in parsed.groups:
        assert group.group == ":".join(group.factors)
        assert set(group.factors) <= set(tokens)  # factor names come from the formula


@SETTINGS
@given(formulas())
def test_double_bars_give_uncorrelated_parts(case):
    tokens, expected = case
    parsed = parse_formula(render(tokens, [" "]))
    by_group = {g.factors: Counter(p.correlated for p in g.parts) for g in parsed.groups}
    wanted: dict[tuple[str, ...], Counter] = {}
    for _, _, expansion, correlated in expected["bars"]:
        for factors in expansion:
            wanted.setdefault(factors, Counter())[correlated] += 1
    assert by_group == wanted
    if "|" not in tokens:  # only || terms: nothing is correlated
        assert not any(p.correlated for g in parsed.groups for p in g.parts)


@SETTINGS
@given(formulas(), whitespace)
def test_whitespace_does_not_change_the_parse(case, separators):
    tokens, _ = case
    reference = parse_formula(render(tokens, [" "]))
    spaced = parse_formula(render(tokens, separators))
    assert canonical(spaced) == canonical(reference)


@SETTINGS
@given(formulas(), st.randoms(use_true_random=False))
def test_term_order_does_not_change_what_is_parsed(case, rnd):
    tokens, expected = case
    response = expected["response"]
    terms = [[name] for name in expected["fixed"]] + [tokens_of_bar(*b) for b in expected["bars"]]
    shuffled = terms[:]
    rnd.shuffle(shuffled)
    a = parse_formula(f"{response} ~ " + " + ".join(" ".join(t) for t in terms))
    b = parse_formula(f"{response} ~ " + " + ".join(" ".join(t) for t in shuffled))
    assert set(a.fixed.split(" + ")) == set(b.fixed.split(" + "))

    def content(formula):  # order of groups and of parts within a group may differ
        return {g.group: (g.factors, Counter(g.parts)) for g in formula.groups}

    assert content(a) == content(b)


@SETTINGS
@given(formulas())
def test_parse_is_deterministic_and_keeps_the_text(case):
    tokens, _ = case
    text = render(tokens, [" "])
    assert parse_formula(text) == parse_formula(text)
    assert parse_formula(text).text == text


# pieces of formula syntax, to build garbage that looks almost like a formula
formula_pieces = st.sampled_from(
    list("yxgab01 ~+-*/:|()[]{}`,.^%$!'\"\n\t_=&;#@?\\")
    + ["||", "(1|g)", "(1 + x || g)", "trials(", "cbind(", "offset(", "C(", "I(", "%in%", "**"]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(max_size=40), st.lists(formula_pieces, max_size=30).map("".join)))
def test_garbage_raises_only_formula_errors(text):
    try:
        parse_formula(text)
    except FormulaError:
        pass


@SETTINGS
@given(formulas(), st.data())
def test_edits_of_valid_formulas_raise_only_formula_errors(case, data):
    text = render(case[0], [" "])
    position = data.draw(st.integers(0, len(text)))
    edit = data.draw(st.sampled_from(["delete", "insert", "duplicate"]))
    if edit == "delete":
        text = text[:position] + text[position + 1 :]
    elif edit == "insert":
        text = text[:position] + data.draw(formula_pieces) + text[position:]
    else:
        text = text[:position] + text[position : position + 3] * 2 + text[position + 3 :]
    try:
        parse_formula(text)
    except FormulaError:
        pass


@pytest.mark.parametrize("bad", [None, 1, 1.5, b"y ~ x", ["y ~ x"]])
def test_non_strings_are_formula_errors(bad):
    with pytest.raises(FormulaError):
        parse_formula(bad)


# ---------------------------------------------------------------------------------------
# design expansion on small random data
# ---------------------------------------------------------------------------------------

# at most one option per grouping factor, so no coefficient is written twice for one factor
G1_TERMS = [
    "",
    "(1 | g1)",
    "(1 + x | g1)",
    "(0 + x | g1)",
    "(1 + x || g1)",
    "(1 + x | g1) + (0 + z | g1)",
]
G2_TERMS = ["", "(1 + z | g2)", "(x || g2)", "(1 | g2)"]
PAIR_TERMS = ["", "(1 | g1:g2)", "(0 + z | g1:g2)", "(1 + x || g1:g2)"]


@st.composite
def random_parts(draw):
    """Random-effect terms over g1, g2 and g1:g2 (or nested g1/g2), at least one."""
    if draw(st.booleans()):
        terms = ["(1 | g1/g2)", draw(st.sampled_from(G2_TERMS))]
    else:
        terms = [draw(st.sampled_from(options)) for options in (G1_TERMS, G2_TERMS, PAIR_TERMS)]
    terms = [t for t in terms if t]
    return terms or ["(1 | g1)"]


@st.composite
def frames(draw):
    n = draw(st.integers(2, 25))
    ids = st.one_of(
        st.lists(st.sampled_from(list(string.ascii_lowercase[:5])), min_size=n, max_size=n),
        st.lists(st.integers(-3, 40), min_size=n, max_size=n),
        st.lists(st.sampled_from([1.0, 2.0, 2.5, 10.0]), min_size=n, max_size=n),
    )
    reals = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    return pd.DataFrame(
        {
            "y": draw(st.lists(reals, min_size=n, max_size=n)),
            "x": draw(st.lists(reals, min_size=n, max_size=n)),
            "z": draw(st.lists(reals, min_size=n, max_size=n)),
            "g1": draw(ids),
            "g2": draw(ids),
        }
    )


def labels(frame: pd.DataFrame, factors: tuple[str, ...]) -> list[str]:
    return [":".join(label(frame[f].iloc[i]) for f in factors) for i in range(len(frame))]


@settings(max_examples=40, deadline=None, database=None)
@given(frames(), random_parts())
def test_design_blocks_index_levels_and_columns(frame, terms):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few rows: rank and support warnings are expected
        design = make_design("y ~ x + " + " + ".join(terms), frame)
    n = len(frame)
    for block in design.blocks:
        assert block.index.shape == (n,)
        assert block.index.min() >= 0 and block.index.max() < block.n_levels
        assert block.Z.shape == (n, len(block.coefs))
        assert sorted(i for group in block.corr_groups for i in group) == list(
            range(len(block.coefs))
        )
        rows = labels(frame, block.factors)
        assert set(block.levels) == set(rows)  # every level observed, no other
        assert [block.levels[i] for i in block.index] == rows
        for j, coef in enumerate(block.coefs):
            column = np.ones(n) if coef == "Intercept" else frame[coef].to_numpy()
            np.testing.assert_array_equal(block.Z[:, j], column)

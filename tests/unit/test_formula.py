"""Parsing and expansion of every formula form (no data, no PyMC)."""

import re

import pytest

from mixedbayes import FormulaError
from mixedbayes.formula import Formula, GroupTerm, RandomPart, parse_formula


def groups(text):
    return parse_formula(text).groups


def test_random_intercept():
    assert parse_formula("gpa ~ occasion + (1 | student)") == Formula(
        text="gpa ~ occasion + (1 | student)",
        response="gpa",
        fixed="occasion",
        groups=(GroupTerm("student", ("student",), (RandomPart("1"),)),),
    )


@pytest.mark.parametrize(
    ("text", "expr", "correlated"),
    [
        ("y ~ x + (1 + x | g)", "1 + x", True),
        ("y ~ x + (x | g)", "x", True),
        ("y ~ x + (0 + x | g)", "0 + x", True),
        ("y ~ x + (1 + x || g)", "1 + x", False),
        ("y ~ x + (1 + f | g)", "1 + f", True),
    ],
)
def test_bar_term_forms(text, expr, correlated):
    assert groups(text) == (GroupTerm("g", ("g",), (RandomPart(expr, correlated),)),)


def test_crossed_factors_are_separate_terms():
    parsed = groups("y ~ x + (1 | g1) + (1 | g2)")
    assert [g.group for g in parsed] == ["g1", "g2"]


def test_nested_expands_to_outer_and_interaction():
    parsed = groups("y ~ (1 + x | a/b/c)")
    assert [(g.group, g.factors) for g in parsed] == [
        ("a", ("a",)),
        ("a:b", ("a", "b")),
        ("a:b:c", ("a", "b", "c")),
    ]
    assert all(g.parts == (RandomPart("1 + x"),) for g in parsed)


def test_interaction_grouping_factor():
    assert groups("y ~ (1 | g1:g2)") == (GroupTerm("g1:g2", ("g1", "g2"), (RandomPart("1"),)),)


def test_terms_sharing_a_factor_are_merged_in_order():
    parsed = groups("y ~ (1 | g) + (1 | h) + (0 + x | g)")
    assert parsed == (
        GroupTerm("g", ("g",), (RandomPart("1"), RandomPart("0 + x"))),
        GroupTerm("h", ("h",), (RandomPart("1"),)),
    )


def test_nested_and_explicit_interaction_merge():
    parsed = groups("y ~ (1 | a/b) + (0 + x | a:b)")
    assert parsed[1] == GroupTerm("a:b", ("a", "b"), (RandomPart("1"), RandomPart("0 + x")))


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("y ~ (1 | g)", "1"),
        ("y ~ 0 + x + (1 | g)", "0 + x"),
        ("y ~ x - 1 + (1 | g)", "x - 1"),
        ("y ~ a*b + np.log(x) + (1|g)", "a*b + np.log(x)"),
        ("y ~ C(f) + center(x) + scale(z) + (1|g)", "C(f) + center(x) + scale(z)"),
        ("y ~ I(x**-1) + np.log(x + 1) + (1|g)", "I(x**-1) + np.log(x + 1)"),
        ("y ~ x + 1e-3 * z", "x + 1e-3 * z"),
        ("y ~ (a + b):c + (1 | g)", "(a + b):c"),
    ],
)
def test_fixed_part_left_for_formulaic(text, fixed):
    assert parse_formula(text).fixed == fixed


def test_response_expression_kept():
    assert parse_formula("np.log(y) ~ x").response == "np.log(y)"


def test_backticked_group_names():
    assert groups("y ~ (1 | `school id`)")[0].factors == ("school id",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("y x + (1 | g)", "no '~'"),
        ("y ~ x ~ z", "more than one '~'"),
        ("~ x", "no response"),
        ("y ~ ", "nothing on the right"),
        ("y ~ (1 + x | g", "never closed at position 4"),
        ("y ~ x) + (1 | g)", "unmatched ')' at position 5"),
        ("y ~ x + 1 | g", "needs parentheses"),
        ("y ~ ( | g)", "nothing left of the bar"),
        ("y ~ (1 | )", "names no grouping factor"),
        ("y ~ (1 | g1 + g2)", "'g1 + g2' is not a column name"),
        ("y ~ (1 | g | h | k)", "more than one '|'"),
        ("y ~ (1 | g + x | h)", "takes an ID (a name such as p, as in (1 |p| g)), got 'g + x'"),
        ("y ~ x - (1 | g)", "cannot subtract"),
        ("y ~ (0 | g)", "has no effects"),
        ("y ~ x +", "ends with an operator"),
        ("y ~ x + + z", "empty term"),
    ],
)
def test_errors_name_the_problem(text, message):
    with pytest.raises(FormulaError, match=re.escape(message)):
        parse_formula(text)


def test_formula_must_be_a_string():
    with pytest.raises(FormulaError, match="must be a string"):
        parse_formula(42)


def test_formula_errors_are_value_errors():
    assert issubclass(FormulaError, ValueError)


def test_binomial_response_forms():
    brms = parse_formula("y | trials(n) ~ x + (1 | g)")
    assert (brms.response, brms.trials, brms.failures) == ("y", "n", None)
    lme4 = parse_formula("cbind(inc, size - inc) ~ period + (1 | herd)")
    assert (lme4.response, lme4.trials, lme4.failures) == ("inc", None, "size - inc")
    assert lme4.response_expressions == ("inc", "size - inc")
    nested = parse_formula("cbind(f(a, b), c) ~ 1")
    assert (nested.response, nested.failures) == ("f(a, b)", "c")


def test_offsets_leave_the_fixed_part():
    formula = parse_formula("y ~ x + offset(np.log(e)) + (1 | g) + offset(t)")
    assert formula.fixed == "x"
    assert formula.offsets == ("np.log(e)", "t")
    assert parse_formula("y ~ offset(e)").fixed == "1"
    assert parse_formula("y ~ offset(e) - 1").fixed == "1 - 1"
    assert parse_formula("y ~ offset(a) : b").offsets == ()  # not a bare offset term


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("y | offset(w) ~ x", r"unknown addition term .offset\(w\)."),
        ("y | ~ x", r"write .y \| weights\(w\) ~ x."),
        ("cbind(a) ~ x", "cbind takes two arguments"),
        ("cbind(a, b, c) ~ x", "cbind takes two arguments"),
        ("y ~ x - offset(e)", r"must be \+ offset\(expr\)"),
    ],
)
def test_response_and_offset_errors(text, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(text)

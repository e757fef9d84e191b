"""brms-style hypothesis tests on the draws: ``fit.hypothesis("occasion > 0.1")``.

A hypothesis compares two arithmetic expressions (``+ - * /``, numbers, unary minus) of
model terms with ``<``, ``>`` or ``=`` (``<=``, ``>=``, ``==`` mean the same). Terms are
the fixed effects as ``fixef`` names them (``Intercept``, ``sex[T.male]``, ``x:z``,
``Intercept[a|b]``, ``sigma_Intercept``) and the random-effect sds as
``sd_<group>[<coef>]`` (``sd_student[occasion]``, ``sd_sigma_student[Intercept]``).

Strings are never evaluated: known term names are replaced by placeholders (longest
first), then the text is parsed with :mod:`ast` and only the nodes above are accepted.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
from scipy.stats import gaussian_kde

from ..errors import HypothesisError
from ..graph import coef_dim
from .stats import check_prob, equal_tailed
from .tables import all_blocks, fixed_sources

COLUMNS = ["hypothesis", "estimate", "sd", "lower", "upper", "post_prob", "evidence_ratio", "star"]
PRIOR_DRAWS = 4000  # prior draws for the Savage-Dickey density ratio

_DIRECTIONS = {ast.Lt: "<", ast.LtE: "<", ast.Gt: ">", ast.GtE: ">", ast.Eq: "="}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_OTHER_COMPARISONS = {ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is"}
_FORM = "write it as 'left < right', 'left > right' or 'left = right'"
_PLACEHOLDER = re.compile(r"_mb_term\d+_")
_NAME = r"[A-Za-z_][\w.]*(?:\([^()]*\))?(?:\[[^\]]*\])?"
_TOKEN = re.compile(rf"(?<![\w.]){_NAME}(?::{_NAME})*")  # what a term name looks like


@dataclass(frozen=True)
class Hypothesis:
    """One parsed hypothesis: ``left <direction> right`` over placeholder names."""

    text: str
    direction: str  # "<", ">" or "="
    left: ast.expr
    right: ast.expr
    names: dict  # placeholder -> term

    @property
    def terms(self) -> tuple[str, ...]:
        """The model terms it uses, each once."""
        return tuple(dict.fromkeys(self.names.values()))

    def difference(self, draws: dict) -> np.ndarray:
        """``left - right`` per draw, from ``draws`` (term -> flat array)."""
        values = {key: draws[term] for key, term in self.names.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(_evaluate(self.left, values) - _evaluate(self.right, values))


def hypothesis_table(
    fit, hypotheses, prob: float = 0.95, random_seed=None, prior_draws: int = PRIOR_DRAWS
) -> pd.DataFrame:
    """One row per hypothesis: ``COLUMNS`` (see :meth:`mixedbayes.Fit.hypothesis`)."""
    prob = check_prob(prob)
    sources = term_sources(fit.posterior, fit.model.design)
    parsed = [parse_hypothesis(text, list(sources)) for text in _as_list(hypotheses)]
    used = {term for h in parsed for term in h.terms}
    posterior = {term: _flat(fit.posterior, sources[term]) for term in used}
    points = {term for h in parsed if h.direction == "=" for term in h.terms}
    prior = prior_term_draws(fit.model, {t: sources[t] for t in points}, prior_draws, random_seed)
    return pd.DataFrame([_row(h, posterior, prior, prob) for h in parsed], columns=COLUMNS)


def term_sources(posterior, design) -> dict[str, tuple[str, dict]]:
    """term name -> ``(variable, selection)`` of its draws, for every accepted name."""
    sources = {term: (var, sel) for term, var, sel, _ in fixed_sources(posterior, design)}
    for block in all_blocks(design):
        for coef in block.coefs:
            selection = {coef_dim(block.group): coef}
            sources[f"sd_{block.group}[{coef}]"] = (f"sd_{block.group}", selection)
    return sources


def parse_hypothesis(text, terms: list[str]) -> Hypothesis:
    """Parse ``text`` into a :class:`Hypothesis` over ``terms``; a HypothesisError says
    what is wrong (unknown terms with close matches and the list of terms)."""
    if not isinstance(text, str):
        raise HypothesisError(f"a hypothesis must be a string such as 'x > 0', got {text!r}")
    if not text.strip():
        raise HypothesisError("empty hypothesis; write e.g. 'x > 0' or 'x = 0'")
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        key = f"_mb_term{len(names)}_"
        names[key] = match.group()
        return key

    alternatives = "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
    pattern = re.compile(rf"(?<![\w.:])(?:{alternatives})(?![\w.:\[(])")
    source = pattern.sub(placeholder, text.strip()) if terms else text.strip()
    source = re.sub(r"(?<![<>=!])=(?!=)", "==", re.sub(r"\s+", " ", source))
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        for token in _TOKEN.findall(source):
            if not _PLACEHOLDER.fullmatch(token) and token not in terms:
                raise _unknown(token, terms, text) from None
        why = f"cannot be parsed ({error.msg}); {_FORM}, with +, -, *, / of terms and numbers"
        raise _error(text, why + " ('2 * x', not '2x')") from None
    if isinstance(tree, ast.BoolOp):
        raise _error(text, "joins comparisons with and/or; pass them as a list instead")
    if not isinstance(tree, ast.Compare):
        raise _error(text, f"has no comparison; {_FORM}")
    if len(tree.ops) > 1:
        raise _error(text, f"has {len(tree.ops)} comparisons; use one (or pass a list)")
    if type(tree.ops[0]) not in _DIRECTIONS:
        operator = _OTHER_COMPARISONS.get(type(tree.ops[0]), type(tree.ops[0]).__name__)
        raise _error(text, f"uses the unsupported comparison {operator!r}; use <, > or =")
    left, right = tree.left, tree.comparators[0]
    for side in (left, right):
        _check(side, source, names, terms, text)
    if not names:
        raise _error(text, f"names no model term (the model's terms: {', '.join(terms)})")
    direction = _DIRECTIONS[type(tree.ops[0])]
    return Hypothesis(text.strip(), direction, left, right, names)


def prior_term_draws(model, sources: dict, draws: int, random_seed=None) -> dict:
    """term -> flat prior draws, for the terms of ``sources`` whose priors are proper.

    The draws come from the PyMC model (``pm.sample_prior_predictive``), so a term that is
    a function of parameters gets its implied prior (the intercept on the data's scale
    involves the slopes). A variable with an improper (``Flat``, ``HalfFlat``) ancestor
    cannot be sampled and its terms are left out.
    """
    variables = sorted({variable for variable, _ in sources.values()})
    if not variables:
        return {}
    dataset = _sample_prior(model, variables, draws, random_seed)
    if dataset is None:  # try one variable at a time: only some may be improper
        parts = [_sample_prior(model, [v], draws, random_seed) for v in variables]
        dataset = {v: part[v] for v, part in zip(variables, parts, strict=True) if part is not None}
    return {t: _flat(dataset, s) for t, s in sources.items() if s[0] in dataset}


def density_at(values: np.ndarray, point: float = 0.0) -> float:
    """Gaussian kernel density estimate of ``values`` at ``point`` (Scott's bandwidth);
    NaN when fewer than two finite values remain or they are all equal."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2 or np.ptp(values) == 0:
        return np.nan
    return float(gaussian_kde(values)(point)[0])


def _sample_prior(model, variables: list[str], draws: int, random_seed):
    try:
        with model.pymc_model:
            prior = pm.sample_prior_predictive(
                draws=draws, var_names=variables, random_seed=random_seed
            ).prior
    except NotImplementedError:  # "Cannot sample from flat variable"
        return None
    if "threshold" in prior.dims and "Intercept" in prior:  # ordered: sorted i.i.d. draws
        axis = prior["Intercept"].dims.index("threshold")
        prior["Intercept"].values = np.sort(prior["Intercept"].values, axis=axis)
    return prior


def _row(h: Hypothesis, posterior: dict, prior: dict, prob: float) -> dict:
    value = h.difference(posterior)
    lower, upper = equal_tailed(value, prob)
    if h.direction == "=":
        post_prob = np.nan
        known = all(term in prior for term in h.terms)
        ratio = _savage_dickey(value, h.difference(prior)) if known else np.nan
    else:
        post_prob = float(np.mean(value < 0 if h.direction == "<" else value > 0))
        ratio = np.inf if post_prob == 1 else post_prob / (1 - post_prob)
    return {
        "hypothesis": h.text,
        "estimate": float(np.mean(value)),
        "sd": float(np.std(value, ddof=1)) if value.size > 1 else np.nan,
        "lower": float(lower),
        "upper": float(upper),
        "post_prob": post_prob,
        "evidence_ratio": float(ratio),
        "star": "" if lower <= 0 <= upper else "*",
    }


def _savage_dickey(posterior: np.ndarray, prior: np.ndarray) -> float:
    """Posterior over prior density at 0 (evidence for the point hypothesis)."""
    prior_density = density_at(prior)
    return density_at(posterior) / prior_density if prior_density > 0 else np.nan


def _check(node, source: str, names: dict, terms: list[str], text: str) -> None:
    """Accept only numbers, terms, unary +/- and + - * /; name what is wrong otherwise."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    if isinstance(node, ast.Name) and node.id in names:
        return
    if isinstance(node, ast.Name | ast.Subscript | ast.Attribute):  # a term-shaped name
        raise _unknown(_segment(source, node, names), terms, text)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(node.operand, source, names, terms, text)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        for side in (node.left, node.right):
            _check(side, source, names, terms, text)
        return
    what = "function call" if isinstance(node, ast.Call) else "syntax"
    piece = _segment(source, node, names)
    raise _error(text, f"has unsupported {what} {piece!r}; only +, -, *, / of terms and numbers")


def _error(text: str, why: str) -> HypothesisError:
    return HypothesisError(f"hypothesis {text!r} {why}")


def _unknown(name: str, terms: list[str], text: str) -> HypothesisError:
    close = difflib.get_close_matches(name, terms, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return _error(
        text, f"names unknown term {name!r}{hint} (the model's terms: {', '.join(terms)})"
    )


def _segment(source: str, node, names: dict) -> str:
    """The text of ``node`` with term names restored."""
    piece = ast.get_source_segment(source, node) or ""
    return _PLACEHOLDER.sub(lambda m: names.get(m.group(), m.group()), piece)


def _evaluate(node, values: dict):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))


def _flat(dataset, source: tuple[str, dict]) -> np.ndarray:
    variable, selection = source
    return dataset[variable].sel(selection).transpose("chain", "draw").values.ravel()


def _as_list(hypotheses) -> list:
    if isinstance(hypotheses, str):
        return [hypotheses]
    if isinstance(hypotheses, list | tuple) and hypotheses:
        return list(hypotheses)
    raise HypothesisError(f"hypotheses must be a string or a non-empty list, got {hypotheses!r}")

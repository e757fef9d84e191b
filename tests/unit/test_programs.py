"""Programs keyed by a model's shape: data are arguments, equal shapes share one program."""

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

import mixedbayes as mb
from mixedbayes.sampling import programs
from mixedbayes.warmup import SHAPES, warmup_data

jax = pytest.importorskip("jax")


def frame(seed: int, groups: int = 6, per: int = 5, shift: float = 0.0, tau=1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    y = 3.0 + shift + 0.5 * x + rng.normal(0, tau, groups)[g] + rng.normal(size=g.size)
    count = rng.poisson(np.exp(0.3 + 0.2 * x))
    return pd.DataFrame({"y": y, "x": x, "g": [f"s{i}" for i in g], "count": count})


def logp_program(model: mb.Model, marginal: str | None = None):
    pm_model = model.marginal_model(marginal) if marginal else model.pymc_model
    return pm_model, programs.program(pm_model.value_vars, [pm_model.logp()])


def at_points(pm_model, n: int = 3, seed: int = 0):
    """Points on the sampler's scale near the model's initial point."""
    rng = np.random.default_rng(seed)
    start = pm_model.initial_point()
    return [
        {k: v + rng.normal(scale=0.3, size=np.shape(v)) for k, v in start.items()} for _ in range(n)
    ]


def check_against_pymc(pm_model, found, data):
    """The program's log density equals PyMC's own (C backend) at several points."""
    reference = pm_model.compile_logp()
    logp = jax.jit(lambda values, data: found.bind(data)(*values)[0])  # as the sampler does
    for point in at_points(pm_model):
        ours = float(logp([point[v.name] for v in pm_model.value_vars], data))
        np.testing.assert_allclose(ours, reference(point), rtol=1e-10)


@pytest.mark.parametrize(
    "formula, family, marginal",
    [
        ("y ~ x + (1 + x | g)", "gaussian", "g"),  # integrated out: per-level statistics
        ("y ~ x + (1 + x | g)", "gaussian", None),  # sampled effects
        ("count ~ x + (1 | g)", "poisson", None),  # gammaln(count + 1) is data alone
    ],
)
def test_same_shape_shares_one_program_with_the_data_as_arguments(formula, family, marginal):
    """(Levels with little data between them, tau 0.3: both data sets sample their effects
    non-centered; graph/parameterization.py chooses the form from the data.)"""
    programs.clear_cache()
    first, (found, data) = logp_program(
        mb.Model(formula, frame(1, tau=0.3), family=family), marginal
    )
    second, (again, other) = logp_program(
        mb.Model(formula, frame(2, shift=40, tau=0.3), family=family), marginal
    )
    assert again is found and found.hits == 1
    assert programs.cached_programs() == 1
    check_against_pymc(first, found, data)  # each data set through the one program
    check_against_pymc(second, found, other)
    assert not all(np.array_equal(a, b) for a, b in zip(data, other, strict=True))


def test_data_alone_is_computed_once_outside_the_log_density():
    programs.clear_cache()
    _, (found, _) = logp_program(mb.Model("count ~ x + (1 | g)", frame(1), family="poisson"))
    assert found.n_derived >= 1  # gammaln(count + 1), at least


@pytest.mark.parametrize(
    "other",
    [
        dict(groups=7),  # more levels
        dict(per=6),  # more rows
    ],
)
def test_different_shapes_never_share_a_program(other):
    programs.clear_cache()
    _, (found, _) = logp_program(mb.Model("y ~ x + (1 | g)", frame(1)))
    _, (again, _) = logp_program(mb.Model("y ~ x + (1 | g)", frame(1, **other)))
    assert again is not found and programs.cached_programs() == 2


def test_different_structures_never_share_a_program():
    programs.clear_cache()
    data = frame(1)
    _, (a, _) = logp_program(mb.Model("y ~ x + (1 | g)", data), "g")
    _, (b, _) = logp_program(mb.Model("y ~ x + (1 | g)", data))
    _, (c, _) = logp_program(mb.Model("y ~ x + (1 | g)", data, family="student_t"))
    assert len({id(a), id(b), id(c)}) == 3


def test_which_constants_become_arguments():
    lifted = [
        pt.constant(3.7),  # a data-scaled prior parameter
        pt.constant(np.arange(10)),  # level indices
        pt.constant(np.ones(3)),  # a float array
        pt.constant(180.0),  # a number of rows, as a float
    ]
    kept = [
        pt.constant(1.0),  # what the stable rewrites match (log1p, softplus, powers)
        pt.constant(0.5),  # and halves up to 4 (2.5 is also a common fixed prior scale)
        pt.constant(-np.inf),
        pt.constant(3),  # integer scalars: shapes and axes
        pt.constant(np.arange(3)),  # short integer vectors: shapes
    ]
    assert all(programs.is_data(c) for c in lifted)
    assert not any(programs.is_data(c) for c in kept)


def test_padded_levels_are_quarter_octave_buckets():
    from mixedbayes.graph.marginal import padded_levels

    assert [padded_levels(n) for n in (1, 18, 26, 32)] == [32, 32, 32, 32]
    assert [padded_levels(n) for n in (33, 40, 41, 65, 200, 2972)] == [40, 40, 48, 80, 224, 3072]
    for n in range(1, 5000):
        assert n <= padded_levels(n) <= max(32, 1.25 * n)


def test_nearby_numbers_of_levels_share_one_padded_program_and_keep_their_density():
    """18 and 26 levels (sleepstudy's and Oxboys's subjects), other rows per level: one
    program, whose log density for each data set is PyMC's C evaluation of the same
    marginal model; the marginal density itself is checked against a dense normal in
    test_marginal.py, whatever the padding."""
    programs.clear_cache()
    first, (found, data) = logp_program(mb.Model("y ~ x + (1 + x | g)", frame(1, 18, 10)), "g")
    second, (again, other) = logp_program(mb.Model("y ~ x + (1 + x | g)", frame(2, 26, 9)), "g")
    assert again is found
    check_against_pymc(first, found, data)
    check_against_pymc(second, found, other)


@pytest.mark.parametrize("formula, sd", SHAPES)
def test_warmup_data_has_the_program_of_a_users_data_of_its_bucket(formula, sd):
    """What mb.warmup() compiles is what a first fit of 18 subjects x 10 days needs."""
    programs.clear_cache()
    warm = mb.Model(formula, warmup_data(formula, sd, 32))
    user = mb.Model(formula, frame(3, groups=18, per=10))
    assert tuple(warm.design.groups) == tuple(user.design.groups) == ("g",)
    _, (found, _) = logp_program(warm, "g")
    _, (again, _) = logp_program(user, "g")
    assert again is found


def test_rewritten_graphs_are_kept_on_disk_for_other_processes(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path))
    programs.clear_cache()
    model = mb.Model("count ~ x + (1 | g)", frame(1), family="poisson")
    pm_model, (found, data) = logp_program(model)
    (stored,) = (tmp_path / "programs").glob("*.pkl")
    programs.clear_cache()  # as a new process would start

    def no_rewriting(*args):
        raise AssertionError("rewritten again")

    monkeypatch.setattr(programs, "_rewrite", no_rewriting)
    _, (loaded, again) = logp_program(mb.Model("count ~ x + (1 | g)", frame(2), family="poisson"))
    assert loaded is not found and loaded.n_derived == found.n_derived
    check_against_pymc(pm_model, loaded, data)
    monkeypatch.undo()

    monkeypatch.setenv("MIXEDBAYES_CACHE_DIR", str(tmp_path))
    stored.write_bytes(stored.read_bytes()[:100])  # truncated: rewritten, not an error
    programs.clear_cache()
    _, (rewritten, _) = logp_program(model)
    check_against_pymc(pm_model, rewritten, data)
    assert stored.stat().st_size > 100


def test_building_a_program_does_not_warn_about_the_domain_checks_jax_skips():
    """PyTensor warns once per check (``sigma > 0``) it cannot translate to JAX; the
    sampler's values are transformed to their domains, so the checks hold, and a user saw
    the warnings on every fit."""
    import warnings

    programs.clear_cache()
    model = mb.Model("count ~ x + (1 | g)", frame(3), family="negative_binomial")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logp_program(model)
    assert not [w for w in caught if "Skipping Check" in str(w.message)]


def test_a_weighted_mixture_with_a_formula_for_its_weight_makes_a_program():
    """A zero-inflated likelihood with a ``zi`` formula, weighted (as every padded model
    is): PyMC's mixture density kept its components for their shapes, and their random
    generators became inputs that no JAX program can take."""
    formula = mb.bf("count | weights(w) ~ x + (1 | g)", zi="~ x")
    data = frame(1).assign(w=np.linspace(0.5, 2.0, 30))
    pm_model = mb.Model(formula, data, family="zero_inflated_poisson").pymc_model
    found, data = programs.program(pm_model.value_vars, [pm_model.logp()])
    point = pm_model.initial_point()
    ours = found.bind(data)(*[point[v.name] for v in pm_model.value_vars])[0]
    np.testing.assert_allclose(float(ours), pm_model.compile_logp()(point), rtol=1e-10)


def test_softplus_and_its_derivative_are_accurate_everywhere():
    from scipy.special import expit

    from mixedbayes.sampling.jax_ops import softplus

    x = np.concatenate([np.linspace(-800, 800, 16_001), [-1e-300, 0.0, 1e-300]])
    value = np.asarray(jax.jit(jax.vmap(softplus))(x))
    slope = np.asarray(jax.jit(jax.vmap(jax.grad(softplus)))(x))
    np.testing.assert_allclose(value, np.logaddexp(0.0, x), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(slope, expit(x), rtol=1e-15, atol=1e-300)


def test_a_logistic_programs_density_and_gradient_match_pymc_and_leave_pytensor_as_it_was():
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.scalar.math import Softplus

    pytensors = jax_funcify.dispatch(Softplus)
    data = frame(1).assign(hit=lambda d: (d["y"] > d["y"].median()).astype(int))
    pm_model = mb.Model("hit ~ x + (1 | g)", data, family="bernoulli").pymc_model
    programs.clear_cache()
    found, values = programs.program(pm_model.value_vars, [pm_model.logp()])
    assert jax_funcify.dispatch(Softplus) is pytensors  # restored after translating
    names = [v.name for v in pm_model.value_vars]
    logp = jax.jit(lambda x, d: found.bind(d)(*x)[0])
    grad = jax.jit(jax.grad(lambda x, d: found.bind(d)(*x)[0]))
    reference, dlogp = pm_model.compile_logp(), pm_model.compile_dlogp()
    for point in at_points(pm_model):
        x = [point[n] for n in names]
        np.testing.assert_allclose(float(logp(x, values)), reference(point), rtol=1e-12)
        ours = np.concatenate([np.ravel(g) for g in grad(x, values)])
        np.testing.assert_allclose(ours, dlogp(point), rtol=1e-10, atol=1e-12)

"""The benchmark harness (benchmarks/): parameter selection, report, model registry.

No sampling: posteriors are small fake InferenceData objects with each library's names.
"""

from __future__ import annotations

import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fit_one, metrics, models, report, run  # noqa: E402

CHAINS, DRAWS = 2, 200


def draws(rng, shape=(), walk=False):
    """(chain, draw, *shape) draws: independent, or a slow random walk (low ESS)."""
    x = rng.normal(size=(CHAINS, DRAWS, *shape))
    return np.cumsum(x, axis=1) if walk else x


def fake_idata(variables: dict, coords: dict, diverging: int = 0) -> az.InferenceData:
    posterior = xr.Dataset(
        {name: (("chain", "draw", *dims), values) for name, (dims, values) in variables.items()},
        coords={"chain": range(CHAINS), "draw": range(DRAWS), **coords},
    )
    flags = np.zeros((CHAINS, DRAWS), bool)
    flags.flat[:diverging] = True
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), flags),
            "n_steps": (("chain", "draw"), np.full((CHAINS, DRAWS), 7.0)),
        },
        coords={"chain": range(CHAINS), "draw": range(DRAWS)},
    )
    return az.InferenceData(posterior=posterior, sample_stats=stats)


@pytest.fixture
def mixedbayes_idata():
    rng = np.random.default_rng(1)
    cor = np.broadcast_to(np.eye(2), (CHAINS, DRAWS, 2, 2)).copy()
    cor[..., 0, 1] = cor[..., 1, 0] = np.tanh(draws(rng))
    variables = {
        "Intercept": ((), draws(rng)),
        "Intercept_centered": ((), draws(rng)),
        "b": (("fixed_term",), draws(rng, (1,))),
        "sd_Subject": (("Subject__coef",), np.abs(draws(rng, (2,)))),
        "cor_Subject": (("Subject__coef", "Subject__coef_"), cor),
        "sigma": ((), np.abs(draws(rng, walk=True))),  # the slowest-mixing parameter
        "z_Subject": (("Subject", "Subject__coef"), draws(rng, (3, 2), walk=True)),
        "r_Subject": (("Subject", "Subject__coef"), draws(rng, (3, 2), walk=True)),
        "mu": (("obs",), draws(rng, (4,), walk=True)),
    }
    coords = {
        "fixed_term": ["Days"],
        "Subject__coef": ["Intercept", "Days"],
        "Subject__coef_": ["Intercept", "Days"],
        "Subject": ["308", "309", "310"],
        "obs": range(4),
    }
    return fake_idata(variables, coords, diverging=3)


@pytest.fixture
def bambi_idata():
    rng = np.random.default_rng(2)
    variables = {
        "Intercept": ((), draws(rng)),
        "Days": ((), draws(rng, walk=True)),  # the slowest-mixing parameter
        "sex": (("sex_dim",), draws(rng, (1,))),
        "sigma": ((), np.abs(draws(rng))),
        "1|Subject_sigma": ((), np.abs(draws(rng))),
        "Days|Subject_sigma": ((), np.abs(draws(rng))),
        "1|Subject": (("Subject__factor_dim",), draws(rng, (3,), walk=True)),
        "Days|Subject": (("Subject__factor_dim",), draws(rng, (3,), walk=True)),
        "1|Subject_offset": (("Subject__factor_dim",), draws(rng, (3,), walk=True)),
        "mu": (("__obs__",), draws(rng, (4,), walk=True)),
    }
    coords = {
        "sex_dim": ["Male"],
        "Subject__factor_dim": ["308", "309", "310"],
        "__obs__": [0, 1, 2, 3],
    }
    return fake_idata(variables, coords)


def test_mixedbayes_parameters_are_fixed_effects_and_variance_parameters(mixedbayes_idata):
    params = metrics.scalar_params(mixedbayes_idata.posterior, "mixedbayes")
    assert sorted(params) == [
        "Intercept",
        "b[Days]",
        "cor_Subject[Intercept,Days]",  # upper triangle only; the diagonal 1s are constant
        "sd_Subject[Days]",
        "sd_Subject[Intercept]",
        "sigma",
    ]
    assert params["Intercept"].shape == (CHAINS, DRAWS)


def test_mixedbayes_convergence_names_the_worst_parameter(mixedbayes_idata):
    result = metrics.convergence(mixedbayes_idata, "mixedbayes")
    assert result["min_ess_param"] == "sigma"
    assert result["min_ess_bulk"] == pytest.approx(min(result["ess_bulk"].values()), abs=0.1)
    assert result["min_ess_bulk"] < 50 < result["ess_bulk"]["Intercept"]
    assert result["max_rhat_param"] == "sigma" and result["max_rhat"] > 1.01
    assert result["n_params"] == 6
    assert result["divergences"] == 3
    assert metrics.mean_tree_size(mixedbayes_idata) == 7.0


def test_bambi_parameters_skip_group_effects_and_offsets(bambi_idata):
    params = metrics.scalar_params(bambi_idata.posterior, "bambi")
    assert sorted(params) == [
        "1|Subject_sigma",
        "Days",
        "Days|Subject_sigma",
        "Intercept",
        "sex[Male]",
        "sigma",
    ]
    result = metrics.convergence(bambi_idata, "bambi")
    assert result["min_ess_param"] == "Days"
    assert result["divergences"] == 0


@pytest.mark.parametrize(
    ("library", "name", "dims", "expected"),
    [
        ("mixedbayes", "sd_g[x]", (), True),
        ("mixedbayes", "chol_g", ("n",), False),
        ("mixedbayes", "nu", (), True),
        ("mixedbayes", "b", ("obs",), False),
        ("bambi", "x|g:h_sigma", (), True),
        ("bambi", "x|g:h", ("g:h__factor_dim",), False),
        ("bambi", "alpha", (), True),
    ],
)
def test_population_parameter_names(library, name, dims, expected):
    assert metrics.is_population_param(library, name, dims) is expected


def test_unknown_library_is_an_error():
    with pytest.raises(ValueError, match="unknown library"):
        metrics.is_population_param("brms", "b")


def test_ess_per_second():
    assert metrics.ess_per_second(400.0, 8.0) == 50.0
    assert metrics.ess_per_second(None, 8.0) is None
    assert metrics.ess_per_second(400.0, 0.0) is None


# --- report ---------------------------------------------------------------------------------


def row(library, **values):
    base = {
        "model": "sleepstudy",
        "library": library,
        "status": "ok",
        "formula": "Reaction ~ Days + (1 + Days | Subject)",
        "family": "gaussian",
        "n_rows": 180,
        "sampler": "pymc 5.28.5",
        "min_ess_bulk": 800.0,
        "min_ess_param": "Intercept",
        "total_s": 20.0,
        "sampling_s": 15.0,
        "setup_s": 5.0,
        "ess_per_s": 40.0,
        "max_rhat": 1.002,
        "max_rhat_param": "sigma",
        "divergences": 0,
        "peak_tree_mb": 900.0,
        "peak_rss_mb": 400.0,
        "cache_new": {"c_modules": 0},
    }
    base.update(values)
    return base


def table_line(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_ratio():
    assert report.ratio(10.0, 4.0) == 2.5
    assert report.ratio(10.0, None) is None
    assert report.ratio(10.0, 0.0) is None


def test_model_table_puts_libraries_side_by_side_with_ours_over_theirs():
    rows = [
        row("mixedbayes", ess_per_s=100.0, total_s=8.0, min_ess_bulk=800.0),
        row("bambi", ess_per_s=40.0, total_s=20.0, min_ess_bulk=800.0, min_ess_param="Days"),
    ]
    text = report.model_table("sleepstudy", rows)
    assert table_line(text, "**ESS/s**")[1:] == ["100", "40.0", "2.50x"]
    assert table_line(text, "total s")[1:] == ["8.00", "20.0", "0.40x"]
    assert table_line(text, "min bulk ESS")[1:] == ["800 (`Intercept`)", "800 (`Days`)", "1.00x"]
    assert table_line(text, "**peak memory MB**")[1:] == ["900", "900", "1.00x"]
    assert table_line(text, "main process RSS")[1:3] == ["400 / 900", "400 / 900"]
    assert report.peak_mb({"peak_tree_mb": 300.0, "peak_rss_mb": 500.0}) == 500.0
    assert table_line(text, "divergences")[1:] == ["0", "0", ""]
    assert "bambi fits `(1 + x | g)` with independent intercept and slope" in text


def test_model_table_shows_timeouts_and_skips_without_ratios():
    rows = [
        row("mixedbayes", model="million", formula="y ~ x + (1 + x | g)", chains=4, draws=1000),
        {"model": "million", "library": "bambi", "status": "timeout", "timeout_s": 1200.0},
    ]
    text = report.model_table("million", rows)
    assert table_line(text, "status")[1:] == ["ok", "timed out after 1,200 s", ""]
    assert table_line(text, "**ESS/s**")[1:] == ["40.0", "-", ""]
    assert "Goal: 4 chains x 1000 draws in under 5 min" in text and ": met (20.0 s" in text
    skipped = {"model": "million", "library": "bambi", "status": "skipped", "reason": "too big"}
    text = report.model_table("million", [rows[0], skipped])
    assert table_line(text, "status")[1:] == ["ok", "too big", ""]
    rows[0].update(draws=100, total_s=400.0)
    assert "not measured (fewer draws) (400 s" in report.model_table("million", rows)


def test_render_has_summary_settings_and_versions():
    rows = [
        row("mixedbayes", versions={"pymc": "5.28.5", "mixedbayes": "0.1.0"}),
        row("bambi", ess_per_s=10.0, versions={"pymc": "5.28.5", "bambi": "0.17.2"}),
    ]
    meta = {
        "date": "2025-01-01 00:00 UTC",
        "command": "make bench",
        "machine": {"cpu_count": 2, "platform": "Linux-x"},
        "settings": {"draws": 1000, "chains": 4},
        "model_order": ["sleepstudy"],
    }
    text = report.render(rows, meta)
    assert "`make bench`" in text and "2 CPUs" in text and "draws 1000, chains 4" in text
    assert "| sleepstudy | 180 | 40.0 | 10.0 | 4.00x | 20.0 | 20.0 |" in text
    assert "| pymc | 5.28.5 | 5.28.5 |" in text and "| bambi | - | 0.17.2 |" in text
    heading = report.ANALYSIS.read_text().splitlines()[0]
    assert heading in text and heading not in report.render(rows, meta, analysis=False)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("y ~ x + (1 + x | g)", True),
        ("y ~ x + (x | g)", True),
        ("y ~ x + (1 | g) + (1 | h)", False),
        ("y ~ x + (1 + x || g)", False),
    ],
)
def test_has_correlated_term(formula, expected):
    assert report.has_correlated_term(formula) is expected


# --- model registry and runner -----------------------------------------------------------------


def test_formula_columns_and_groups():
    formula = "achievement ~ sex + ses + (1 | primary_school_id) + (1 + sex || secondary)"
    assert models.formula_columns(formula) == [
        "achievement",
        "sex",
        "ses",
        "primary_school_id",
        "secondary",
    ]
    assert models.group_columns(formula) == ["primary_school_id", "secondary"]
    for spec in models.MODELS.values():
        assert models.group_columns(spec.formula) == list(spec.groups)


@pytest.mark.parametrize("name", ["gpa_slopes", "sleepstudy", "speed_dating", "pupils_crossed"])
def test_formulas_are_those_of_the_lme4_reference(name):
    spec = models.get(name)
    expected = models.reference_formula(spec.reference)
    if expected is None:
        pytest.skip("../shared/reference not available")
    assert spec.formula == expected


@pytest.mark.parametrize(
    ("name", "n_rows", "groups"),
    [
        ("gpa_slopes", 1200, {"student": 200}),
        ("sleepstudy", 180, {"Subject": 18}),
        ("speed_dating", 7366, {"iid": 498}),  # lme4's nobs after dropping missing values
        ("pupils_crossed", 1000, {"primary_school_id": 50, "secondary_school_id": 30}),
        ("insteval", 73421, {"s": 2972, "d": 1128, "dept": 14}),
    ],
)
def test_loaders_give_the_expected_data(name, n_rows, groups):
    spec = models.get(name)
    try:
        data = spec.load()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    assert len(data) == n_rows
    assert list(data.columns) == spec.columns
    assert not data.isna().any().any()
    for group, levels in groups.items():
        assert isinstance(data[group].dtype, pd.CategoricalDtype)
        assert data[group].nunique() == levels
    if name == "speed_dating":
        assert set(data["decision"].unique()) == {0, 1}
    if name == "pupils_crossed":
        assert list(data["ses"].cat.categories) == models.LEVELS["ses"]
        assert data["ses"].cat.ordered


def test_portable_data_keeps_values_and_level_order_without_pyarrow_text():
    data = pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0],
            "f": pd.array(["a", "b", "a"], dtype="string"),
            "ses": pd.Categorical(["2", "lowest", "2"], categories=["lowest", "2"]),
        }
    )
    out = models.portable(data)
    assert out["f"].dtype == object and out.columns.dtype == object
    assert out["ses"].cat.categories.dtype == object
    assert list(out["ses"].cat.categories) == ["lowest", "2"]
    assert out.astype(str).equals(data.astype(str))


def test_simulated_million_generator_is_deterministic_and_recovers_truth():
    data = models.simulate_million(n_groups=400, n_per_group=50)
    assert data.shape == (20_000, 3) and list(data.columns) == ["y", "x", "g"]
    assert data["g"].nunique() == 400 and (data["g"].value_counts() == 50).all()
    assert data.equals(models.simulate_million(n_groups=400, n_per_group=50))
    assert not data.equals(models.simulate_million(n_groups=400, n_per_group=50, seed=2))
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    assert intercept == pytest.approx(models.MILLION_TRUTH["Intercept"], abs=0.1)
    assert slope == pytest.approx(models.MILLION_TRUTH["x"], abs=0.05)
    assert "bambi" in models.MODELS["million"].skip


def test_unknown_model_is_named():
    with pytest.raises(KeyError, match="known: gpa_slopes"):
        models.get("nope")


def test_runner_options_and_child_command(tmp_path):
    args = run.parse_args(["--models", "sleepstudy", "--draws", "50", "--chains", "2"])
    assert args.models == ["sleepstudy"] and args.libraries == ["mixedbayes", "bambi"]
    assert args.cores == min(2, __import__("os").cpu_count())
    assert args.timeout == 1200.0 and args.out == "docs/performance.md"
    command = run.child_command("py", "mixedbayes", "sleepstudy", tmp_path / "d.pkl", args)
    assert command[command.index("--draws") + 1] == "50"
    assert command[command.index("--sampler") + 1] == "auto"
    assert "--sampler" not in run.child_command("py", "bambi", "sleepstudy", tmp_path, args)
    with pytest.raises(SystemExit):
        run.parse_args(["--libraries", "brms"])


def test_runner_reads_the_last_json_line_and_names_the_command(monkeypatch):
    assert run.last_json_line('noise\n{"a": 1}\n{"b": 2}\ntrailing\n') == {"b": 2}
    assert run.last_json_line("no json here") is None
    monkeypatch.setenv("MAKELEVEL", "1")
    assert run.command_line([]) == "make bench"
    assert run.command_line(["--models", "a"]).endswith("benchmarks/run.py --models a")


def test_fit_one_parses_marginalize():
    assert fit_one.parse_marginalize("True") is True
    assert fit_one.parse_marginalize("false") is False
    assert fit_one.parse_marginalize("auto") == "auto"
    args = fit_one.parse_args(["--library", "bambi", "--model", "sleepstudy"])
    assert (args.draws, args.tune, args.chains, args.seed) == (1000, 1000, 4, 1)

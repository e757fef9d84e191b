"""The ``mixedbayes`` command line: parsing, error messages and exit codes, summary of a
saved fit, the demo's figures, and (slow) an end-to-end fit."""

import subprocess
import sys
import types
import warnings

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import mixedbayes as mb
from mixedbayes import cli

matplotlib.use("Agg")


def simulated(n_groups=8, n_per_group=5, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(1, n_groups + 1), n_per_group)
    x = rng.normal(size=g.size)
    y = 1 + 0.5 * x + rng.normal(0, 0.5, n_groups)[g - 1] + rng.normal(0, 0.3, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "data.csv"
    simulated().to_csv(path, index=False)
    return path


def fake_fit(model, draws=40):
    """A Fit whose posterior is the prior: summaries and plots without sampling."""
    with model.pymc_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        posterior = pm.sample_prior_predictive(draws=draws, random_seed=1).prior
    return mb.Fit(model, az.InferenceData(posterior=posterior))


def run(capsys, *argv):
    """``main(argv)``: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- parsing ---------------------------------------------------------------------------


def test_fit_arguments_and_defaults():
    args = cli.build_parser().parse_args(["fit", "y ~ x + (1 | g)", "data.csv"])
    assert args.formula == "y ~ x + (1 | g)" and str(args.data) == "data.csv"
    assert (args.family, args.link, args.sampler) == ("gaussian", None, "auto")
    assert (args.draws, args.tune, args.chains, args.seed) == (1000, 1000, 4, None)
    assert args.out is None and args.prob == 0.95 and args.target_accept == 0.8
    args = cli.build_parser().parse_args(
        ["fit", "y ~ x", "d.csv", "--family", "bernoulli", "--link", "probit", "--draws", "30"]
        + ["--tune", "20", "--chains", "1", "--seed", "7", "--sampler", "nutpie", "--out", "f.nc"]
    )
    assert (args.family, args.link, args.draws, args.tune) == ("bernoulli", "probit", 30, 20)
    assert (args.chains, args.seed, args.sampler, str(args.out)) == (1, 7, "nutpie", "f.nc")


def test_help_does_not_import_pymc():
    """``mixedbayes --help`` answers in well under a second: the parser needs neither
    PyMC nor matplotlib (5 s of imports)."""
    import subprocess
    import sys

    code = "import sys, mixedbayes.cli as c; c.build_parser(); print(sorted(m for m in "
    code += "('pymc', 'pytensor', 'jax', 'arviz', 'matplotlib') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_demo_and_summary_defaults():
    args = cli.build_parser().parse_args(["demo"])
    assert (args.draws, args.chains, args.seed, str(args.figures)) == (1000, 4, 1, "figures")
    assert not args.no_figures
    args = cli.build_parser().parse_args(["summary", "fit.nc", "--fixef", "--prob", "0.9"])
    assert args.fixef and not args.varcorr and args.prob == 0.9


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["fit", "y ~ x"],
        ["fit", "y ~ x", "d.csv", "--draws", "many"],
        ["summary", "fit.nc", "--prob", "95"],
    ],
)
def test_invalid_arguments_exit_2_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage: mixedbayes" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mixedbayes {mb.__version__}"


# -- errors: one message on stderr, status 2, no traceback ------------------------------


def test_missing_data_file(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    status, out, err = run(capsys, "fit", "y ~ x + (1 | g)", missing)
    assert status == 2 and out == ""
    assert err == f"mixedbayes: error: no such file: {missing}\n"


def test_unknown_column_names_it_and_suggests(csv, capsys):
    status, out, err = run(capsys, "fit", "y ~ xx + (1 | g)", csv)
    assert status == 2 and out == ""
    assert err.startswith("mixedbayes: error: column 'xx'") and "did you mean 'x'" in err
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "formula, options, message",
    [
        ("y ~ x + (1 | g", [], "'(' is never closed"),
        ("y ~ x + (1 | g)", ["--family", "poison"], "unknown family 'poison'"),
        ("y ~ x + (1 | g)", ["--link", "log"], "has no link 'log'"),
        ("y ~ x + (1 | g)", ["--draws", "0"], "draws must be an integer >= 1"),
        ("y ~ x + (1 | g)", ["--chains", "0"], "chains must be an integer >= 1"),
        ("y ~ x + (1 | g)", ["--sampler", "stan"], "unknown sampler 'stan'"),
    ],
)
def test_library_errors_exit_2(csv, capsys, formula, options, message):
    status, out, err = run(capsys, "fit", formula, csv, *options)
    assert status == 2 and out == ""
    assert err.startswith("mixedbayes: error: ") and message in err
    assert "Traceback" not in err


def test_unreadable_and_unknown_files(tmp_path, capsys):
    unknown = tmp_path / "data.xlsx"
    unknown.write_text("y,x\n1,2\n")
    status, _, err = run(capsys, "fit", "y ~ x", unknown)
    assert status == 2 and "unknown file type '.xlsx'" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    status, _, err = run(capsys, "fit", "y ~ x", empty)
    assert status == 2 and err.startswith(f"mixedbayes: error: cannot read {empty}")


def test_summary_of_missing_or_foreign_file(tmp_path, capsys):
    status, _, err = run(capsys, "summary", tmp_path / "fit.nc")
    assert status == 2 and err == f"mixedbayes: error: no such file: {tmp_path / 'fit.nc'}\n"
    foreign = tmp_path / "other.nc"
    az.from_dict(posterior={"a": np.zeros((1, 5))}).to_netcdf(str(foreign))
    status, _, err = run(capsys, "summary", foreign)
    assert status == 2 and "is not a mixedbayes fit" in err


# -- reading data -----------------------------------------------------------------------


def test_read_data_by_suffix(tmp_path):
    data = simulated()
    data.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    pd.testing.assert_frame_equal(cli.read_data(tmp_path / "d.tsv"), data)
    pytest.importorskip("pyarrow")
    data.to_parquet(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(cli.read_data(tmp_path / "d.parquet"), data)


def test_r_files_go_through_datasets_read_r(tmp_path, monkeypatch):
    path = tmp_path / "d.rds"
    path.write_bytes(b"not really R")
    calls = []
    fake = types.ModuleType("mixedbayes.datasets")
    fake.read_r = lambda p: calls.append(p) or simulated()
    monkeypatch.setitem(sys.modules, "mixedbayes.datasets", fake)
    assert len(cli.read_data(path)) == 40 and calls == [path]
    monkeypatch.setitem(sys.modules, "mixedbayes.datasets", None)  # import fails
    with pytest.raises(cli.CliError, match=r"mixedbayes\[datasets\]"):
        cli.read_data(path)


# -- summary of a saved fit and the demo's figures (prior draws as the posterior) ----------


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory):
    fit = fake_fit(mb.Model("y ~ x + (1 + x | g)", simulated()))
    path = tmp_path_factory.mktemp("fit") / "fit.nc"
    fit.save(path)
    return fit, path


def test_summary_prints_the_fit_summary(saved_fit, capsys):
    fit, path = saved_fit
    status, out, err = run(capsys, "summary", path)
    assert status == 0, err
    assert out.strip() == str(fit.summary()).strip()


def test_summary_prints_chosen_tables(saved_fit, capsys):
    fit, path = saved_fit
    status, out, _ = run(capsys, "summary", path, "--fixef", "--cor", "--prob", "0.8")
    assert status == 0
    assert out.startswith("fit.fixef():\n") and "\nfit.cor():\n" in out
    assert "fit.varcorr()" not in out and "Priors" not in out
    lower = fit.fixef(0.8).set_index("term")["lower"]
    assert f"{lower['x']:.4g}" in out and f"{fit.fixef()['lower'].iloc[1]:.4g}" not in out


def test_save_figures_writes_each_named_file(tmp_path):
    data = pd.DataFrame(
        {
            "student": np.repeat(np.arange(1, 16), 4),
            "occasion": np.tile(np.arange(4), 15),
            "sex": np.repeat(["female", "male"] * 8, 4)[:60],
        }
    )
    data["gpa"] = 2.5 + 0.1 * data["occasion"] + np.random.default_rng(3).normal(0, 0.2, 60)
    fit = fake_fit(mb.Model("gpa ~ occasion + sex + (1 + occasion | student)", data))
    paths = cli.save_figures(fit, tmp_path / "figs")
    names = ["ranef.png", "effects_occasion.png", "ppc.png", "trajectories.png"]
    assert [p.name for p in paths] == names
    for path in paths:
        assert path.parent == tmp_path / "figs"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not matplotlib.pyplot.get_fignums()  # figures are closed once written


def test_demo_without_data_is_a_clean_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DEMO_DATA", tmp_path / "gpa.csv")
    status, out, err = run(capsys, "demo", "--no-figures")
    assert status == 2 and "demo data not found" in err


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "mixedbayes", "--help"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mixedbayes")
    for command in ("fit", "summary", "demo"):
        assert command in result.stdout


# -- end to end (samples) -----------------------------------------------------------------


@pytest.mark.slow
def test_fit_writes_a_fit_that_summary_reads(csv, tmp_path, capsys):
    out_path = tmp_path / "fit.nc"
    argv = ["fit", "y ~ x + (1 | g)", csv, "--draws", "30", "--tune", "30", "--chains", "1"]
    status, out, err = run(capsys, *argv, "--seed", "1", "--no-progress", "--out", out_path)
    assert status == 0, err
    assert "Formula: y ~ x + (1 | g)" in out and "Fixed effects" in out
    assert "Groups: g (8 levels)" in out and out_path.is_file()
    assert "ConvergenceWarning: " in err  # 30 draws: ESS too small, warned on one line each

    status, summary, _ = run(capsys, "summary", out_path)
    assert status == 0
    assert summary.strip() in out  # the same report, read back from the file
    status, tables, _ = run(capsys, "summary", out_path, "--varcorr")
    assert status == 0 and tables.startswith("fit.varcorr():") and "Residual" in tables


def test_fit_help_names_every_sampler(capsys):
    from mixedbayes.sampling import SAMPLERS

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    sampler_help = text[text.rindex("--sampler SAMPLER") :]  # its line, not the usage
    assert all(name in sampler_help.split("--target-accept")[0] for name in SAMPLERS)

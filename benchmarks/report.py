"""Render benchmark rows (the JSON lines of ``fit_one.py``, plus run.py's fields) as markdown."""

from __future__ import annotations

import re
from pathlib import Path

# hand-written reading of the numbers, kept across re-runs and placed after the summary
ANALYSIS = Path(__file__).with_name("analysis.md")

OURS, THEIRS = "mixedbayes", "bambi"
MILLION_GOAL = {"total_s": 300.0, "peak_mb": 6144.0}  # 4 x 1000 draws in 5 min, under 6 GB


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """``ours / theirs``, or None when either is missing or ``theirs`` is not positive."""
    if ours is None or theirs is None or theirs <= 0:
        return None
    return ours / theirs


def fmt(value, kind: str = "num") -> str:
    """A table cell: ``-`` for missing values, otherwise rounded for reading."""
    if value is None:
        return "-"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "ratio":
        return f"{value:.2f}x"
    if kind == "rhat":
        return f"{value:.3f}"
    if isinstance(value, str):
        return value
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def status_text(row: dict | None) -> str:
    if row is None:
        return "not run"
    status = row.get("status", "error")
    if status == "ok":
        return "ok"
    if status == "timeout":
        return f"timed out after {fmt(row.get('timeout_s'))} s"
    if status == "skipped":
        return row.get("reason") or "skipped"
    return "error: " + str(row.get("error", "unknown")).replace("|", "/").replace("\n", " ")


def peak_mb(row: dict) -> float | None:
    """Peak memory: the larger of the process tree's polled PSS and the main process's RSS.

    The polled sum can miss a short spike and PSS shares library pages with every other
    process that maps them, so the main process's ``getrusage`` peak is a floor.
    """
    values = [row.get("peak_tree_mb"), row.get("peak_rss_mb")]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def memory_detail(row: dict) -> str:
    return f"{fmt(row.get('peak_rss_mb'))} / {fmt(row.get('peak_tree_mb'))}"


def with_param(value: str, param: str | None) -> str:
    return f"{value} (`{param}`)" if param and value != "-" else value


def cache_text(row: dict) -> str:
    new = row.get("cache_new")
    if not new:
        return "-"
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in new.items())


def random_effects_text(row: dict) -> str:
    effects = row.get("random_effects")
    if not effects:
        return "-"
    kinds = sorted(set(effects.values()))
    if kinds == ["sampled"]:
        return "sampled"
    return "; ".join(f"{g}: {kind}" for g, kind in effects.items())


# (label, value of a row, what the ratio column divides: a row key, a function, or None)
METRICS = [
    ("status", status_text, None),
    ("sampler", lambda r: r.get("sampler") or "-", None),
    ("random effects", random_effects_text, None),
    ("**ESS/s** (min bulk ESS / total s)", lambda r: r.get("ess_per_s"), "ess_per_s"),
    (
        "min bulk ESS (parameter)",
        lambda r: with_param(fmt(r.get("min_ess_bulk"), "int"), r.get("min_ess_param")),
        "min_ess_bulk",
    ),
    ("setup s (all but the NUTS loop)", lambda r: r.get("setup_s"), "setup_s"),
    ("sampling s (NUTS warm-up + draws)", lambda r: r.get("sampling_s"), "sampling_s"),
    ("total s (model + compile + sampling)", lambda r: r.get("total_s"), "total_s"),
    (
        "max R-hat (parameter)",
        lambda r: with_param(fmt(r.get("max_rhat"), "rhat"), r.get("max_rhat_param")),
        None,
    ),
    ("divergences", lambda r: fmt(r.get("divergences"), "int"), None),
    ("mean leapfrog steps per draw", lambda r: r.get("mean_tree_size"), "mean_tree_size"),
    ("parameters in min/max", lambda r: fmt(r.get("n_params"), "int"), None),
    ("**peak memory MB**", peak_mb, peak_mb),
    ("main process RSS / all processes PSS, MB", memory_detail, None),
    ("compile-cache entries added", cache_text, None),
]


def _value(row: dict | None, getter) -> str:
    if row is None or (row.get("status") != "ok" and getter is not status_text):
        return "-"
    value = getter(row)
    return value if isinstance(value, str) else fmt(value)


def _ok(row: dict | None) -> bool:
    return row is not None and row.get("status") == "ok"


def _ratio_cell(key, ours: dict | None, theirs: dict | None) -> str:
    if key is None or not (_ok(ours) and _ok(theirs)):
        return ""
    get = key if callable(key) else (lambda row: row.get(key))
    return fmt(ratio(get(ours), get(theirs)), "ratio")


def has_correlated_term(formula: str) -> bool:
    """Whether a formula has a ``(a + b | g)`` term (bambi fits it without correlation)."""
    for lhs in re.findall(r"\(([^|()]*)\|(?!\|)", formula):
        terms = [t.strip() for t in lhs.split("+") if t.strip() not in ("", "0", "-1")]
        if len(terms) >= 2 or (len(terms) == 1 and terms[0] != "1"):
            return True
    return False


def model_table(name: str, rows: list[dict], meta: dict | None = None) -> str:
    """The markdown section of one model: both libraries side by side, and ratios."""
    meta = meta or {}
    by_library = {r["library"]: r for r in rows if r.get("model") == name}
    ours, theirs = by_library.get(OURS), by_library.get(THEIRS)
    first = ours or theirs or {}
    info = meta.get("models", {}).get(name, {})
    formula = first.get("formula") or info.get("formula", "")
    family = first.get("family") or info.get("family", "")
    n_rows = next((r.get("n_rows") for r in (ours, theirs) if r and r.get("n_rows")), None)
    lines = [f"### {name}", ""]
    if info.get("description"):
        lines += [info["description"] + ".", ""]
    lines += [f"`{formula}`, family {family}, {fmt(n_rows, 'int')} rows.", ""]
    lines += [f"| | {OURS} | {THEIRS} | {OURS} / {THEIRS} |", "|---|---|---|---|"]
    for label, getter, key in METRICS:
        cells = [_value(ours, getter), _value(theirs, getter), _ratio_cell(key, ours, theirs)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = model_notes(name, formula, ours, theirs, info)
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def model_notes(name, formula, ours, theirs, info) -> list[str]:
    notes = []
    if has_correlated_term(formula) and _ok(theirs):
        notes.append(
            "bambi fits `(1 + x | g)` with independent intercept and slope (it has no "
            "random-effect correlations), so its min ESS runs over fixed effects, sds and "
            "sigma only; ours also includes the correlation."
        )
    if info.get("lme4_seconds") is not None:
        notes.append(
            f"lme4 (point estimates, no posterior) fits this model in "
            f"{fmt(info['lme4_seconds'])} s on a 2-core machine (../shared/reference)."
        )
    if name == "million" and _ok(ours):
        total, memory = ours.get("total_s"), peak_mb(ours)
        full = ours.get("chains", 0) >= 4 and ours.get("draws", 0) >= 1000
        met = memory is not None and total < MILLION_GOAL["total_s"]
        met = met and memory < MILLION_GOAL["peak_mb"]
        verdict = ("met" if met else "not met") if full else "not measured (fewer draws)"
        notes.append(
            f"Goal: 4 chains x 1000 draws in under 5 min with peak memory under 6 GB: "
            f"{verdict} ({fmt(total)} s, {fmt(memory)} MB)."
        )
    return notes


def summary_table(names: list[str], rows: list[dict]) -> str:
    lines = [
        "| model | rows | ESS/s mixedbayes | ESS/s bambi | ESS/s ratio | total s mixedbayes "
        "| total s bambi |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        lib = {r["library"]: r for r in rows if r.get("model") == name}
        ours, theirs = lib.get(OURS), lib.get(THEIRS)
        n_rows = next((r.get("n_rows") for r in (ours, theirs) if r and r.get("n_rows")), None)

        def cell(row, key):
            if row is None:
                return "-"
            if row.get("status") != "ok":
                return {"skipped": "skipped", "timeout": "timeout"}.get(row.get("status"), "error")
            return fmt(row.get(key))

        both = _ok(ours) and _ok(theirs)
        r = fmt(ratio(ours.get("ess_per_s"), theirs.get("ess_per_s")), "ratio") if both else "-"
        lines.append(
            f"| {name} | {fmt(n_rows, 'int')} | {cell(ours, 'ess_per_s')} | "
            f"{cell(theirs, 'ess_per_s')} | {r} | {cell(ours, 'total_s')} | "
            f"{cell(theirs, 'total_s')} |"
        )
    return "\n".join(lines) + "\n"


def versions_table(rows: list[dict]) -> str:
    """Package versions seen by each library's runs (first successful run of each)."""
    envs = {}
    for row in rows:
        if row.get("versions") and row["library"] not in envs:
            envs[row["library"]] = row["versions"]
    if not envs:
        return ""
    libraries = [lib for lib in (OURS, THEIRS) if lib in envs]
    packages = []
    for lib in libraries:
        packages += [p for p in envs[lib] if p not in packages]
    header = "| package | " + " | ".join(f"{lib} env" for lib in libraries) + " |"
    lines = [header, "|---|" + "---|" * len(libraries)]
    for package in packages:
        cells = [envs[lib].get(package, "-") for lib in libraries]
        lines.append(f"| {package} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cache_paragraph(rows: list[dict]) -> str:
    ran = [r for r in rows if r.get("status") == "ok" and r.get("cache_before")]
    if not ran:
        return ""
    first = ran[0]["cache_before"]
    new = sum(sum(r.get("cache_new", {}).values()) for r in ran)
    state = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in first.items())
    return (
        f"Compile cache at the start of the first run: {state} "
        f"({'warm' if first.get('c_modules', 0) else 'cold'}); the runs added {new} "
        + ("entry" if new == 1 else "entries")
        + " in all (per run in the tables: 0 means that run compiled nothing new)."
    )


INTRO = """\
Both libraries fit the same data (run.py loads it once and hands the same rows to both), with
the same draws, warm-up, chains, seed and parallel chains, one after the other on the same
machine, each (library, model) in a fresh Python process. bambi samples with PyMC's NUTS,
mixedbayes with its default (`sampler="auto"`: numpyro's NUTS) unless the sampler row says
otherwise; priors are each library's defaults (both weakly informative
and scaled to the data), so the posteriors are close but not identical.

- **ESS/s** is the smallest bulk effective sample size over the fixed effects and variance
  parameters (random-effect sds and correlations, sigma) divided by the total wall time,
  compilation included. Per-level random effects are not counted.
- **setup** is everything but the NUTS loop: formula and design matrices, building the
  PyMC graph, PyTensor's C compilation, NUTS initialization, InferenceData conversion and
  each library's post-processing. **sampling** is PyMC's own `sampling_time` (warm-up and
  draws; for numpyro it includes compiling the XLA program, or loading it from the cache).
  Library imports and data loading are not timed.
- PyTensor caches compiled C modules in `~/.pytensor`, shared by both environments (same
  PyTensor version). A run is measured once, as it comes: no untimed warm-up run. Its
  "compile-cache entries added" says how much it had to compile; a cold cache adds tens of
  seconds to setup. mixedbayes's numpyro programs are cached in `~/.cache/mixedbayes/jax`
  (JAX's persistent compilation cache); a sampler row ending in "JAX cache emptied" was run
  with `--cold-jax-cache`, which starts that fit from an empty cache: what a first fit of a
  model and data set costs.
- **peak memory** is the larger of the main process's peak resident set size (`getrusage`)
  and the largest sum of the proportional set sizes (PSS) of the run's process tree (main
  process, chain processes, compilers), polled every 0.2 s. PSS counts shared pages (the
  data a chain process inherits by fork, shared libraries) once in all, not once per
  process.
"""


def render(rows: list[dict], meta: dict, analysis: bool = True) -> str:
    """The whole of docs/performance.md; ``analysis=False`` leaves out the hand-written
    reading of the numbers (benchmarks/analysis.md), which belongs to that file only."""
    names = meta.get("model_order") or list(dict.fromkeys(r["model"] for r in rows))
    machine = meta.get("machine", {})
    settings = meta.get("settings", {})
    parts = [
        "# Performance: mixedbayes vs bambi",
        "",
        f"Measured {meta.get('date', '?')} with `{meta.get('command', 'make bench')}` "
        f"(raw numbers: `{meta.get('json', 'benchmarks/results.json')}`).",
        "",
        f"Machine: {machine.get('cpu_count', '?')} CPUs"
        + (f" ({machine['cpu_model']})" if machine.get("cpu_model") else "")
        + (f", {machine['memory_gb']:.0f} GB memory" if machine.get("memory_gb") else "")
        + f", {machine.get('platform', '?')}."
        + (f" Load average at the start: {machine['loadavg']}." if machine.get("loadavg") else ""),
        "",
        "Settings: " + ", ".join(f"{k} {v}" for k, v in settings.items() if v is not None) + ".",
        "",
        INTRO,
        cache_paragraph(rows),
        "",
        "## Summary",
        "",
        "ESS/s ratio is mixedbayes / bambi: above 1 means mixedbayes gives more effective "
        "draws per second.",
        "",
        summary_table(names, rows),
        ANALYSIS.read_text().strip() + "\n" if analysis and ANALYSIS.exists() else "",
        "## Models",
        "",
    ]
    for name in names:
        parts.append(model_table(name, rows, meta))
    versions = versions_table(rows)
    if versions:
        parts += ["## Versions", "", versions]
    return "\n".join(parts).rstrip() + "\n"

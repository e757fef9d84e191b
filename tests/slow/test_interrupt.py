"""Ctrl-C during sampling: control comes back within seconds, nothing is left running, and
the next fit in the same process works (default sampler, in a child Python process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

SCRIPT = """
import time, warnings
import numpy as np, pandas as pd
import mixedbayes as mb
warnings.simplefilter("ignore")
rng = np.random.default_rng(1)
g = np.repeat(np.arange(20), 5)
y = rng.normal(size=100) + rng.normal(size=20)[g]
model = mb.Model("y ~ x + (1 | g)", pd.DataFrame({"y": y, "x": rng.normal(size=100), "g": g}))
print("start", flush=True)
try:
    model.fit(draws=500_000, tune=1000, chains=2, progressbar=False, random_seed=1)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
fit = model.fit(draws=100, tune=100, chains=2, progressbar=False, random_seed=2)
print("second fit", len(fit.fixef()), flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_stops_sampling_and_the_next_fit_works(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert child.stdout.readline().strip() == "start"
        time.sleep(20)  # past compiling (cold caches too); 500,000 draws take minutes
        descendants = psutil.Process(child.pid).children(recursive=True)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.stdout.readline().strip() == "interrupted"
        assert time.monotonic() - sent < 10
        rest, _ = child.communicate(timeout=300)
    finally:
        child.kill()
    assert child.returncode == 0
    assert rest.strip() == "second fit 2"
    assert not [p for p in descendants if p.is_running() and p.status() != "zombie"]

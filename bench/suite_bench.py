"""The test suite's wall time, as the edit loop and CI run it (issue 26: the fast loop < 60 s, the whole
suite < 3 min).

    .venv/bin/python bench/suite_bench.py [--full]

Without --full: `pytest -m "not slow" -n 2`, the edit loop. With --full also the two phases scripts/test
runs after its set-up: every test but the live ones on both cores, then the live ones alone. Writes
bench/results/suite.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Measure what a user's machine does, as render_bench does: Python caches bytecode, and pytest caches the
# assertion-rewritten test modules beside it. This box sets PYTHONDONTWRITEBYTECODE, which made every run
# rewrite and compile ~150 test modules in each worker (collection 8.4 s instead of 6.0 s). An untimed
# `--collect-only` first fills the cache.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
PHASES = {
    "edit loop: `pytest -m \"not slow\" -n 2`": ["-m", "not slow", "-n", "2"],
    "scripts/test phase 1: `pytest -m \"not live\" -n 2`": ["-m", "not live", "-n", "2"],
    "scripts/test phase 2: `pytest -m live`": ["-m", "live"],
}


def run(args: list[str]) -> tuple[float, str]:
    """Wall seconds and pytest's summary line of one run; a failing run stops the bench."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    if result.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}")
    return wall, re.sub(r"=+", "", summary).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the two phases of scripts/test (15 minutes)")
    options = parser.parse_args()
    phases = list(PHASES.items()) if options.full else list(PHASES.items())[:1]
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                   capture_output=True, check=True)
    rows = [(name, *run(args)) for name, args in phases]
    lines = ["# Test suite benchmark", "",
             f"Command: `.venv/bin/python bench/suite_bench.py{' --full' if options.full else ''}` on {os.cpu_count()} "
             f"cores, load average {os.getloadavg()[0]:.1f} at the end. One run each (a suite run is minutes).", "",
             "| run | wall | pytest says |", "| --- | --- | --- |"]
    lines += [f"| {name} | {wall:.1f} s | {summary} |" for name, wall, summary in rows]
    if options.full:
        lines.append(f"| scripts/test's two phases together (goal < 3 min) | {sum(w for _, w, _ in rows[1:]):.1f} s | |")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "suite.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

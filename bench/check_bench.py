"""Check, lint and --help speed against the floor of what they must run, each as a ratio from one run.

- `stackgen --help` against `python -c pass`;
- `stackgen lint` against a cold `import pydantic, yaml, jinja2, grafanalib.core` (render_bench's floor);
- `stackgen check --no-cache` (every validator) and `stackgen check` with a warm cache, wall and CPU,
  against running promtool, amtool and kubectl once each on the output;
- where check's time goes: each validator alone, and each test file promtool runs.

Run: .venv/bin/python bench/check_bench.py  (writes bench/results/check.md)
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Measure what a user's machine does: Python caches bytecode. This build box sets PYTHONDONTWRITEBYTECODE,
# which made every "cold" run compile stackgen's ~80 modules from source (about 0.1 s), while the
# libraries in the floor came precompiled by pip. The first run of each command writes the cache.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
PY = sys.executable
STACKGEN = str(Path(PY).parent / "stackgen")
RUNS = 7  # interleaved runs of the quick commands
CHECK_RUNS = 3


def timed(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU (user + sys of the command and its children) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(cmds: dict[str, list[str]], runs: int, cwd: Path = ROOT) -> dict[str, tuple[float, float]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(runs):  # interleaved so machine noise hits each alike
        for name, cmd in cmds.items():
            samples[name].append(timed(cmd, cwd))
    return {name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for name, s in samples.items()}


def tool_floor(out: Path) -> list[list[str]]:
    """promtool, amtool and kubectl once each on the output: what any check must at least pay."""
    kubectl = shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(PY).parent)) or "kubectl"
    return [["promtool", "check", "config", str(out / "prometheus/prometheus.yml")],
            ["amtool", "check-config", str(out / "alertmanager/alertmanager.yml")],
            [kubectl, "kustomize", str(out / "k8s" / "base")]]


def validator_times(out: Path, spec: Path = ROOT / "stack.yaml") -> list[tuple[str, float]]:
    """Each validator alone, serially, on the rendered `out` of `spec`: seconds per validator module."""
    code = ("import sys,time; from pathlib import Path; from stackgen.pipeline import VALIDATORS, load_stack;"
            "s=load_stack(Path(sys.argv[2]), Path(sys.argv[1]));"
            "[print(v.__name__, (lambda t: (v.validate(Path(sys.argv[1]), s), time.perf_counter()-t)[1])(time.perf_counter()))"
            " for v in VALIDATORS.modules()]")
    result = subprocess.run([PY, "-c", code, str(out), str(spec)], check=True, capture_output=True, text=True, cwd=ROOT)
    return [(line.split()[0], float(line.split()[1])) for line in result.stdout.splitlines()]


def promtool_files(out: Path) -> list[tuple[str, float]]:
    tests = out / "prometheus" / "tests"
    return [(f.name, timed(["promtool", "test", "rules", f.name], tests)[0]) for f in sorted(tests.glob("*.yml"))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = ROOT  # the spec names files beside it (secrets/, build contexts); only --out is elsewhere
        out = Path(tmp) / "generated"
        subprocess.run([STACKGEN, "render", "--out", str(out)], check=True, capture_output=True, cwd=work)
        quick = median_of({
            "pass": [PY, "-c", "pass"],
            "help": [STACKGEN, "--help"],
            "imports": [PY, "-c", "import pydantic, yaml, jinja2, grafanalib.core"],
            "lint": [STACKGEN, "lint", "--out", str(out)],
        }, RUNS, work)
        floor = sum(timed(cmd, work)[0] for cmd in tool_floor(out))
        subprocess.run([STACKGEN, "check", "--out", str(out)], check=True, capture_output=True, cwd=work)  # fill the cache
        check = median_of({
            "cold": [STACKGEN, "check", "--no-cache", "--out", str(out)],
            "cached": [STACKGEN, "check", "--out", str(out)],
        }, CHECK_RUNS, work)
        validators = validator_times(out)
        files = promtool_files(out)
    load = os.getloadavg()[0]
    lines = [
        "# Check benchmark",
        "",
        f"Command: `.venv/bin/python bench/check_bench.py` ({RUNS} interleaved runs of the quick commands, {CHECK_RUNS} of "
        f"check; medians) on {os.cpu_count()} cores, load average {load:.1f} at the end. stack.yaml rendered into a "
        "temporary --out.",
        "",
        "| row of issue 26 | measured | floor | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| `stackgen --help` | {quick['help'][0] * 1000:.0f} ms | `python -c pass` {quick['pass'][0] * 1000:.0f} ms | "
        f"{quick['help'][0] / quick['pass'][0]:.2f} x | <= 3 x |",
        f"| `stackgen lint` | {quick['lint'][0] * 1000:.0f} ms | import floor {quick['imports'][0] * 1000:.0f} ms | "
        f"{quick['lint'][0] / quick['imports'][0]:.2f} x | <= 2 x |",
        f"| `stackgen check --no-cache` (every validator) | {check['cold'][0]:.2f} s wall, {check['cold'][1]:.2f} s CPU | "
        f"promtool + amtool + kubectl once each {floor:.2f} s | {check['cold'][0] / floor:.2f} x | <= 4 s |",
        f"| `stackgen check`, nothing changed (cache) | {check['cached'][0]:.2f} s wall, {check['cached'][1]:.2f} s CPU | "
        f"same | {check['cached'][0] / floor:.2f} x | <= 4 s |",
        "",
        "Where check's time goes (each alone, serial, one run):",
        "",
        "| validator | seconds |",
        "| --- | --- |",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in validators),
        "",
        "| `promtool test rules` file | seconds |",
        "| --- | --- |",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in files),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench/results/check.md").write_text(text)


if __name__ == "__main__":
    main()

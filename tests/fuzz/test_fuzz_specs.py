"""Fuzz the whole CLI with mutated specs and hold it to stackgen's input contract.

For every case, exactly one of:
- exit 0, and `stackgen check` (every validator, real promtool and amtool included) accepts the output,
  and no seeded credential appears anywhere under it;
- exit 2, every line but the summary is one located problem (`FILE:LINE:COL: ...`), the summary counts
  them, and the previous output is byte for byte what it was.
Never a traceback, never another exit code, and each case within a time and memory bound.

CI runs a short, derandomized pass (STACKGEN_FUZZ_EXAMPLES, default 25). A long run explores:
`STACKGEN_FUZZ_EXAMPLES=2000 STACKGEN_FUZZ_RANDOM=1 .venv/bin/pytest tests/fuzz -x` (docs/fuzzing.md).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests.fuzz.mutations import SECRETS, mutated

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEEDS = {
    "base": (ROOT / "tests/bad_specs/base.yaml.txt").read_text(encoding="utf-8"),
    "stack": (ROOT / "stack.yaml").read_text(encoding="utf-8"),
}
EXAMPLES = int(os.environ.get("STACKGEN_FUZZ_EXAMPLES", "25"))
# CI replays the same cases every run and reports a failure as found; an exploring run draws new
# cases and shrinks what fails (minutes per failure on this box).
EXPLORE = bool(os.environ.get("STACKGEN_FUZZ_RANDOM"))
CASE_SECONDS = float(os.environ.get("STACKGEN_FUZZ_CASE_SECONDS", "60"))
PEAK_RSS_MIB = 1024
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: [^\n]+$")
SUMMARY = re.compile(r"^(\d+) problem\(s\) in .*; nothing was written$")
# What must never be found in output: each credential's most distinctive piece, so a secret
# re-encoded by a format (a JSON-escaped newline in a PEM block) is still caught.
SECRET_MARKERS = tuple(max(re.split(r"[\n/@:.]", secret), key=len) for secret in SECRETS)


class Worker:
    """The child process of tests/fuzz/worker.py, restarted after a case kills it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def run(self, *args: str) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"args": list(args)}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], CASE_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.close()
            pytest.fail(f"stackgen {' '.join(args)}: no answer within {CASE_SECONDS:.0f} s, or the process died "
                        "(time or memory limit)")
        return json.loads(line)

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    child = Worker()
    yield child
    child.close()


@pytest.fixture(scope="module")
def previous_outputs(tmp_path_factory: pytest.TempPathFactory, worker: Worker) -> dict[str, Path]:
    """A valid render of each seed: the tree a failed render must leave untouched."""
    outputs = {}
    for name, text in SEEDS.items():
        folder = tmp_path_factory.mktemp(f"previous-{name}")
        (folder / "stack.yaml").write_text(text, encoding="utf-8")
        reply = worker.run("render", "--spec", str(folder / "stack.yaml"), "--out", str(folder / "generated"))
        assert reply["exit_code"] == 0, reply
        outputs[name] = folder / "generated"
    return outputs


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    data, done = draw(mutated(yaml.safe_load(SEEDS[seed])))
    return seed, _dump(data), done


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not EXPLORE,
          phases=tuple(Phase) if EXPLORE else (Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
          database=None)
@given(case=cases())
def test_every_spec_renders_valid_output_or_a_located_error(case, worker: Worker, previous_outputs: dict[str, Path],
                                                          tmp_path_factory: pytest.TempPathFactory):
    seed, text, done = case
    work = tmp_path_factory.mktemp("case")
    spec, out = work / "stack.yaml", work / "generated"
    spec.write_text(text, encoding="utf-8")
    shutil.copytree(previous_outputs[seed], out)
    before = _tree(out)

    reply = worker.run("render", "--spec", str(spec), "--out", str(out))
    context = f"mutations {done}; reply {reply}"
    event(f"{seed}: exit {reply['exit_code']}")
    assert reply["exception"] is None, context
    assert reply["peak_rss_mib"] < PEAK_RSS_MIB, context
    assert "Traceback" not in reply["stderr"] + reply["stdout"], context

    if reply["exit_code"] == 2:
        *problems, summary = reply["stderr"].rstrip("\n").split("\n")
        counted = SUMMARY.match(summary)
        assert counted and int(counted.group(1)) == len(problems), context
        assert problems and all(LOCATED.match(line) for line in problems), context
        assert _tree(out) == before, f"a rejected spec changed the output; {context}"
        return

    assert reply["exit_code"] == 0, context
    after = _tree(out)
    leaked = [(path, marker) for path, content in after.items() for marker in SECRET_MARKERS
              if marker.encode() in content]
    assert not leaked, f"credentials reached the output: {leaked}; {context}"
    # Not in the worker: its memory limit would be inherited by promtool and amtool, whose Go runtimes
    # reserve more address space than that at start.
    checked = subprocess.run([sys.executable, "-m", "stackgen", "check", "--spec", str(spec), "--out", str(out)],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, f"the validators reject accepted input: {checked.stderr}; {context}"

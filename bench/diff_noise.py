"""How many generated lines an everyday spec change moves (issue 21): render a spec and an edited copy
into two temporary trees and count the unified diff's +/- lines per file.

    .venv/bin/python bench/diff_noise.py [--spec stack.yaml] [--show]

Against an older stackgen, run it with PYTHONPATH pointing at that checkout's sources (`git archive REV
stackgen templates | tar -x -C /tmp/old`) and --spec at that revision's stack.yaml. Results:
bench/results/diff-noise.md.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack

PANEL_ANCHOR = "        - title: Audio Generation Rate\n"
LOGS_ANCHOR = "    # The JSON log schema"
PANEL = """        - title: Queue Depth Now
          kind: stat
          metric: fugatto_queue_depth
          function: value
          width: {width}
"""
ALERT = """      - name: DeepQueue
        kind: threshold
        severity: warning
        for: 5m
        gauge: {metric: fugatto_queue_depth}
        op: ">"
        threshold: 50
        summary: Queue is deep
        description: "{{ $value }} requests waiting."
        runbook_url: https://runbooks.example.com/fugatto/DeepQueue
"""

EDITS: dict[str, Callable[[str], str]] = {
    "insert a 6-wide panel as the 3rd": lambda t: t.replace(PANEL_ANCHOR, PANEL.format(width=6) + PANEL_ANCHOR, 1),
    "append a 24-wide panel": lambda t: t.replace(LOGS_ANCHOR, PANEL.format(width=24) + "\n" + LOGS_ANCHOR, 1),
    "add an alert after the overridden ones": lambda t: t.replace(
        "      - name: ServiceDown\n", ALERT + "      - name: ServiceDown\n", 1),
    "add an alert first": lambda t: t.replace("    alerts:\n", "    alerts:\n" + ALERT, 1),
    "raise HighErrorRate's threshold 0.05 -> 0.1": lambda t: t.replace("threshold: 0.05\n", "threshold: 0.1\n", 1),
}


def _render(text: str, out: Path) -> None:
    spec = out.parent / "stack.yaml"
    spec.write_text(text, encoding="utf-8")
    write_tree(out, render_stack(load_stack(spec)))


def measure(text: str, edit: Callable[[str], str]) -> tuple[dict[str, tuple[int, int]], str]:
    edited = edit(text)
    assert edited != text, "the edit's anchor is not in the spec"
    with tempfile.TemporaryDirectory() as tmp:
        for side, spec in (("a", text), ("b", edited)):
            (Path(tmp) / side).mkdir()
            _render(spec, Path(tmp) / side / "generated")
        out = subprocess.run(["diff", "-ru", "a/generated", "b/generated"], cwd=tmp, capture_output=True,
                             text=True).stdout
    files: dict[str, tuple[int, int]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("+++ "):
            current = line.split()[1].removeprefix("b/generated/")
            files[current] = (0, 0)
        elif line.startswith("--- ") or line.startswith("diff ") or not current:
            continue
        elif line.startswith("+"):
            files[current] = (files[current][0] + 1, files[current][1])
        elif line.startswith("-"):
            files[current] = (files[current][0], files[current][1] + 1)
    return files, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path("stack.yaml"))
    parser.add_argument("--show", action="store_true", help="print the diffs too")
    args = parser.parse_args()
    text = args.spec.read_text(encoding="utf-8")
    print("| change | lines (+/-) | files (+/-) |\n| --- | --- | --- |")
    for name, edit in EDITS.items():
        files, out = measure(text, edit)
        plus, minus = sum(p for p, _ in files.values()), sum(m for _, m in files.values())
        detail = ", ".join(f"`{f}` +{p}/-{m}" for f, (p, m) in files.items())
        print(f"| {name} | +{plus}/-{minus} | {detail} |")
        if args.show:
            print(out)


if __name__ == "__main__":
    main()

"""Two revisions of stackgen side by side, in one run: cold `render`, `lint` and `check --no-cache` of each
revision's own stack.yaml, interleaved so machine noise hits both alike (this box is shared).

    .venv/bin/python bench/compare_revisions.py OLD [NEW]   (NEW: the working tree)

Each revision is unpacked into a temporary folder with `git archive` (the working tree: its tracked and
untracked files as they are) and run with this virtual environment's Python, PYTHONPATH at that folder.
Prints medians of wall and CPU seconds and writes bench/results/compare.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as render_bench: a user's Python caches bytecode
COMMANDS = ((("render", "--out", "generated"), 9), (("lint",), 9), (("check", "--no-cache"), 5))


def checkout(rev: str | None, into: Path) -> str:
    """The revision's tree (the working tree for None) in `into`; returns its short name."""
    if rev is None:
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               check=True, capture_output=True).stdout.decode().split("\0")
        for name in filter(None, files):
            source, target = ROOT / name, into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():  # stackgen/templates links to templates/
                target.symlink_to(os.readlink(source))
            elif source.is_file():
                target.write_bytes(source.read_bytes())
                target.chmod(source.stat().st_mode)
        return "working tree"
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def timed(folder: Path, args: tuple[str, ...]) -> tuple[float, float]:
    """Wall and CPU (user + sys, children included) seconds of one `python -m stackgen ARGS` in `folder`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=folder, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(folder)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{folder}: stackgen {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackgen-compare-") as tmp:
        folders = [Path(tmp, "old"), Path(tmp, "new")]
        for folder in folders:
            folder.mkdir()
        names = [checkout(args.old, folders[0]), checkout(args.new, folders[1])]
        rows = []
        for command, runs in COMMANDS:
            samples: list[list[tuple[float, float]]] = [[], []]
            for _ in range(runs):
                for side, folder in enumerate(folders):
                    samples[side].append(timed(folder, command))
            medians = [(statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for s in samples]
            rows.append((" ".join(command), runs, *medians))
    load = os.getloadavg()[0]
    table = [f"# {names[0]} against {names[1]}", "",
             f"Command: `.venv/bin/python bench/compare_revisions.py {args.old}{' ' + args.new if args.new else ''}` "
             f"(interleaved runs, medians) on {os.cpu_count()} cores, load average {load:.1f} at the end. "
             "Each revision renders, lints and checks its own stack.yaml.", "",
             f"| command | runs | {names[0]} wall | {names[1]} wall | ratio | {names[0]} CPU | {names[1]} CPU |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for command, runs, (old_wall, old_cpu), (new_wall, new_cpu) in rows:
        table.append(f"| `stackgen {command}` | {runs} | {old_wall:.2f} s | {new_wall:.2f} s | {new_wall / old_wall:.2f} x "
                     f"| {old_cpu:.2f} s | {new_cpu:.2f} s |")
    text = "\n".join(table) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "compare.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

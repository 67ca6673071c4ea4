"""On drift, check shows what changed: each drifted file's unified diff, capped per file and in all, with
a line saying how much was left out; files stackgen did not write get none."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stackgen.output.artifact import Artifact
from stackgen.output.write import drift_diffs, write_tree

ROOT = Path(__file__).resolve().parents[2]


MORE = "more diff line(s) not shown (`stackgen diff` shows them all)"


def test_each_drifted_file_gets_its_diff_capped_per_file(tmp_path: Path):
    out = tmp_path / "generated"
    artifacts = [Artifact("a.yml", "one\ntwo\nthree\n"), Artifact("b.yml", "keep\n"), Artifact("c.yml", "gone\n"),
                 Artifact("d.yml", "stale\n")]
    write_tree(out, artifacts)
    (out / "a.yml").write_text("one\nTWO\nthree\n")
    (out / "b.yml").write_text("keep\n" + "".join(f"added {i}\n" for i in range(20)))
    (out / "c.yml").unlink()
    (out / "notes.txt").write_text("mine\n")  # not stackgen's: render leaves it, so no diff
    wanted = [a for a in artifacts if a.path != "d.yml"]  # d.yml is stackgen's and no longer produced

    diffs = drift_diffs(out, wanted, "generated", per_file=6)
    assert len(diffs.pop("generated/.stackgen-manifest.json")) <= 7  # it no longer lists d.yml
    assert diffs == {
        "generated/a.yml": ["--- a/generated/a.yml", "+++ b/generated/a.yml", "@@ -1,3 +1,3 @@", " one", "-TWO", "+two",
                            f"... 1 {MORE}"],
        "generated/b.yml": ["--- a/generated/b.yml", "+++ b/generated/b.yml", "@@ -1,21 +1 @@", " keep", "-added 0",
                            "-added 1", f"... 18 {MORE}"],
        "generated/c.yml": ["--- /dev/null", "+++ b/generated/c.yml", "@@ -0,0 +1 @@", "+gone"],
        "generated/d.yml": ["--- a/generated/d.yml", "+++ /dev/null", "@@ -1 +0,0 @@", "-stale"],
    }


def test_the_diffs_stop_at_the_overall_cap(tmp_path: Path):
    out = tmp_path / "generated"
    artifacts = [Artifact(f"{name}.yml", "v: 1\n") for name in "abc"]
    write_tree(out, artifacts)
    for name in "abc":
        (out / f"{name}.yml").write_text("v: 2\n")
    assert drift_diffs(out, artifacts, "generated", total=7) == {
        "generated/a.yml": ["--- a/generated/a.yml", "+++ b/generated/a.yml", "@@ -1 +1 @@", "-v: 2", "+v: 1"],
        "generated/b.yml": ["--- a/generated/b.yml", "+++ b/generated/b.yml", f"... 3 {MORE}"],
        "generated/c.yml": [f"... 5 {MORE}"],
    }


def test_keys_name_files_as_check_does_and_small_diffs_are_whole(tmp_path: Path):
    out = tmp_path / "generated"
    write_tree(out, [Artifact("x/a.yml", "v: 1\n")])
    (out / "x/a.yml").write_text("v: 2\n")
    assert drift_diffs(out, [Artifact("x/a.yml", "v: 1\n")], "generated") == {
        "generated/x/a.yml": ["--- a/generated/x/a.yml", "+++ b/generated/x/a.yml", "@@ -1 +1 @@", "-v: 2", "+v: 1"]}


def _stackgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=cwd, capture_output=True, text=True,
                          env=os.environ.copy())


@pytest.mark.slow
def test_check_prints_the_diff_of_a_hand_edit(tmp_path: Path):
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "stack.yaml", work / "stack.yaml")
    shutil.copytree(ROOT / "service", work / "service", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    assert _stackgen("render", cwd=work).returncode == 0
    rules = work / "generated/prometheus/rules/fugatto-audio-lab-alerts.yml"
    text = rules.read_text()
    edited = "      > 0.05\n      and\n"  # HighErrorRate's threshold, followed by its minimum-traffic guard
    assert text.count(edited) == 2 and text.index(edited) < text.index("ModelGenerationFailures")
    rules.write_text(text.replace(edited, "      > 0.5\n\x1b[2J      and\n", 1))
    file = "generated/prometheus/rules/fugatto-audio-lab-alerts.yml"

    result = _stackgen("check", cwd=work)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    start = lines.index(f"{file}: differs from a fresh render (edited by hand or stale; run `stackgen render`)")
    assert lines[start + 1:start + 4] == [f"    --- a/{file}", f"    +++ b/{file}", lines[start + 3]]
    assert lines[start + 3].startswith("    @@ ")
    hunk = lines[start + 4:start + 12]
    assert "    -      > 0.5" in hunk and "    +      > 0.05" in hunk
    assert "    -\\x1b[2J      and" in hunk  # a terminal escape in the edited file is shown, not obeyed
    assert lines[-1] == "check failed: 1 problem(s)"

    github = _stackgen("check", "--format", "github", cwd=work)
    assert github.returncode == 1
    assert github.stdout.startswith(f"::error file={file},title=drift::differs from a fresh render (edited by hand or "
                                    f"stale; run `stackgen render`)%0A--- a/{file}%0A+++ b/{file}%0A@@ ")
    assert "%0A-      > 0.5%0A" in github.stdout and github.stdout.count("\n") == 1

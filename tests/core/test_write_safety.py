"""render replaces only a tree it wrote, survives a SIGKILL at every step, and fails cleanly on an unwritable --out."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.output.write import MANIFEST, read_tree

BASE = (Path(__file__).resolve().parent.parent / "bad_specs" / "base.yaml.txt").read_text()


def _stackgen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in-process (the kill test below runs it in a child, as it must)."""
    result = CliRunner().invoke(app, list(map(str, args)))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _snapshot(folder: Path) -> dict[str, str | None]:
    """Every entry under `folder` with its bytes (None for a folder): what 'changes nothing' compares."""
    return {p.relative_to(folder).as_posix(): (p.read_text() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def specs(tmp_path: Path) -> tuple[Path, Path]:
    """Two specs whose renders differ in content and in file names ('api' becomes 'web')."""
    old, new = tmp_path / "specs" / "old.yaml", tmp_path / "specs" / "new.yaml"
    old.parent.mkdir()
    old.write_text(BASE)
    new.write_text(BASE.replace("  - name: api\n", "  - name: web\n").replace("threshold: 0.05", "threshold: 0.07"))
    return old, new


def _folder(root: Path, *files: str) -> Path:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(BASE if name.endswith(".yaml") else "mine\n")
    return root


REFUSALS = {  # case: (files under tmp_path, spec, --out, why)
    "project root": ([".git/HEAD", "stack.yaml", "notes.txt"], "project/stack.yaml", "project",
                     "holds {spec}, so it is not a folder stackgen wrote"),
    "spec folder": (["stack.yaml"], "project/stack.yaml", "project", "holds {spec}, so it is not a folder stackgen wrote"),
    "ancestor of the spec": (["stack.yaml"], "project/stack.yaml", ".", "holds {spec}, so it is not a folder stackgen wrote"),
    "git tree": ([".git/HEAD"], "elsewhere.yaml", "project", "is a git working tree, not a folder stackgen wrote"),
    "foreign folder": (["notes.txt", "src/app.py"], "elsewhere.yaml", "project",
                       f"not written by stackgen (no {MANIFEST}) and not empty: notes.txt, src"),
    "file": (["notes.txt"], "elsewhere.yaml", "project/notes.txt", "is a file, not a folder"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_render_refuses_a_tree_it_does_not_own_and_changes_nothing(tmp_path: Path, case: str):
    files, spec_name, out_name, why = REFUSALS[case]
    _folder(tmp_path / "project", *files)
    spec = _folder(tmp_path, spec_name) / spec_name
    out = tmp_path / out_name
    before = _snapshot(tmp_path)
    result = _stackgen("render", "--spec", spec, "--out", out)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{out}: "), result.stderr
    assert why.format(spec=spec) in lines[0] and lines[0].endswith("; nothing was written"), lines[0]
    assert _snapshot(tmp_path) == before


def test_a_missing_or_empty_folder_is_rendered_and_marked(tmp_path: Path, specs: tuple[Path, Path]):
    old, _ = specs
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "missing" / "deeper"):
        result = _stackgen("render", "--spec", old, "--out", out)
        assert result.returncode == 0, result.stderr
        tree = read_tree(out)
        listed = tree.pop(MANIFEST)
        assert json.loads(listed)["files"] == sorted(tree)
        assert "prometheus/rules/api-alerts.yml" in tree


def test_manifest_is_byte_stable_and_check_expects_it(tmp_path: Path, specs: tuple[Path, Path]):
    old, _ = specs
    out = tmp_path / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    first = (out / MANIFEST).read_bytes()
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    assert (out / MANIFEST).read_bytes() == first
    result = _stackgen("diff", "--spec", old, "--out", out)
    assert (result.returncode, result.stdout) == (0, "")
    (out / MANIFEST).write_text(first.decode().replace('"files": [', '"files": [\n    "hand/edited.yml",'))
    result = _stackgen("diff", "--spec", old, "--out", out)
    assert result.returncode == 1
    assert result.stdout.startswith(f"--- a/{out}/{MANIFEST}\n+++ b/{out}/{MANIFEST}\n")
    assert [line for line in result.stdout.splitlines() if line[:1] in "+-"][2:] == ['-    "hand/edited.yml",']


@pytest.mark.slow
def test_files_dropped_into_an_owned_tree_are_never_deleted(tmp_path: Path, specs: tuple[Path, Path]):
    old, new = specs
    out = tmp_path / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    (out / "prometheus" / "my-notes.txt").write_text("keep me\n")
    (out / "scratch").mkdir()
    before = _snapshot(tmp_path)
    result = _stackgen("render", "--spec", new, "--out", out)
    assert result.returncode == 2
    assert result.stderr == (f"{out}: holds files stackgen did not write: prometheus/my-notes.txt, scratch/; "
                             f"move them out of {out}; nothing was written\n")
    assert _snapshot(tmp_path) == before
    diff = _stackgen("diff", "--spec", new, "--out", out)
    assert diff.returncode == 2 and diff.stderr.endswith("; render would refuse to replace it\n"), diff.stderr
    check = _stackgen("check", "--spec", old, "--out", out)
    assert check.returncode == 1
    assert (f"{out}/prometheus/my-notes.txt: not written by stackgen (move it out of {out}; render will not delete it)"
            in check.stderr)


@pytest.mark.slow
def test_files_stackgen_wrote_and_no_longer_produces_are_removed(tmp_path: Path, specs: tuple[Path, Path]):
    old, new = specs
    out = tmp_path / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    check = _stackgen("check", "--spec", new, "--out", out)
    assert (f"{out}/prometheus/rules/api-alerts.yml: not produced by the spec (run `stackgen render` to remove it)"
            in check.stderr)
    assert _stackgen("render", "--spec", new, "--out", out).returncode == 0
    assert not (out / "prometheus" / "rules" / "api-alerts.yml").exists()
    assert (out / "prometheus" / "rules" / "web-alerts.yml").exists()


@pytest.mark.parametrize("out", ["notes.txt/generated", "notes.txt/a/b", "/proc/stackgen-none/generated"])
def test_unwritable_parent_is_a_one_line_error(tmp_path: Path, specs: tuple[Path, Path], out: str):
    (tmp_path / "notes.txt").write_text("mine\n")
    target = out if out.startswith("/") else str(tmp_path / out)
    before = _snapshot(tmp_path)
    result = _stackgen("render", "--spec", specs[0], "--out", target)
    assert result.returncode == 2
    reason = ("/proc/stackgen-none: No such file or directory" if out.startswith("/")
              else f"{tmp_path / 'notes.txt'} is a file, not a folder")
    assert result.stderr.startswith(f"{target}: cannot create ") and reason in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert _snapshot(tmp_path) == before


# Runs a render that SIGKILLs (or stops, or fails) itself at one step of the swap. The hooks wrap the OS
# calls the writer makes (the nth file written, the first or second rename, the nth unlink of the old
# tree, the unlink of its manifest), so the writer itself carries no test code.
KILLER = """
import builtins, os, signal, sys
from stackgen.cli import app

step, args = sys.argv[1], sys.argv[2:]
calls = {"open": 0, "rename": 0, "unlink": 0}
real_open, real_rename, real_unlink = builtins.open, os.rename, os.unlink

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def open_(file, mode="r", *a, **k):
    if "w" in mode:
        calls["open"] += 1
        if step == "staging" and calls["open"] == 3:
            die()
        if step == "stop-in-staging" and calls["open"] == 3:
            os.kill(os.getpid(), signal.SIGSTOP)
    return real_open(file, mode, *a, **k)

def rename(src, dst, *a, **k):
    calls["rename"] += 1
    if step == "before-swap" and calls["rename"] == 1:
        die()
    if step == "second-rename-fails" and calls["rename"] == 2:
        raise PermissionError(13, "Permission denied", src)
    real_rename(src, dst, *a, **k)
    if (step, calls["rename"]) in (("between", 1), ("after-swap", 2)):
        die()

def unlink(path, *a, **k):
    real_unlink(path, *a, **k)
    calls["unlink"] += 1
    if step == "removing-old" and calls["unlink"] == 3:
        die()
    if step == "removed-old-marker" and os.path.basename(path) == ".stackgen-manifest.json":
        die()

builtins.open, os.rename, os.unlink = open_, rename, unlink
app(args)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("step", "survivor"), [("staging", "old"), ("before-swap", "old"), ("between", "old"),
                                                ("after-swap", "new"), ("removing-old", "new"),
                                                ("removed-old-marker", "new")])
def test_a_render_killed_at_any_step_leaves_the_old_or_the_new_tree(tmp_path: Path, specs: tuple[Path, Path],
                                                                    step: str, survivor: str):
    old, new = specs
    work = tmp_path / "work"
    out = work / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    expected = {"old": read_tree(out)}
    # Rendered as far from the spec as `out` is: compose paths are relative to where the file lands.
    assert _stackgen("render", "--spec", new, "--out", tmp_path / "fresh" / "generated").returncode == 0
    expected["new"] = read_tree(tmp_path / "fresh" / "generated")
    assert expected["old"] != expected["new"]

    killed = subprocess.run([sys.executable, "-c", KILLER, step, "render", "--spec", str(new), "--out", str(out)],
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert len(os.listdir(work)) > 1, "the kill left nothing to recover from: the hook missed its step"

    # diff recovers first, so it compares the surviving tree, never an empty one
    survived = old if survivor == "old" else new
    diff = _stackgen("diff", "--spec", survived, "--out", out)
    assert (diff.returncode, diff.stdout, diff.stderr) == (0, "", ""), (os.listdir(work), diff.stdout[:3000])
    assert read_tree(out) == expected[survivor]
    assert sorted(os.listdir(work)) == ["generated"], "recovery removes what the killed render left"

    killed = subprocess.run([sys.executable, "-c", KILLER, step, "render", "--spec", str(old), "--out", str(out)],
                            capture_output=True, text=True)
    assert killed.returncode == -9
    rendered = _stackgen("render", "--spec", new, "--out", out)
    assert rendered.returncode == 0, rendered.stderr
    assert read_tree(out) == expected["new"]
    assert sorted(os.listdir(work)) == ["generated"]


def test_recovery_never_touches_folders_stackgen_did_not_write(tmp_path: Path, specs: tuple[Path, Path]):
    old, _ = specs
    work = tmp_path / "work"
    for name in (".generated.new-mine", ".generated.old-mine"):
        (work / name).mkdir(parents=True)
        (work / name / "draft.txt").write_text("mine\n")
    before = _snapshot(work)
    result = _stackgen("render", "--spec", old, "--out", work / "generated")
    assert result.returncode == 0, result.stderr
    after = _snapshot(work)
    assert {k: v for k, v in after.items() if not k.startswith("generated")} == before


@pytest.mark.slow
def test_a_concurrent_reader_waits_instead_of_taking_a_live_render_for_a_dead_one(tmp_path: Path,
                                                                                  specs: tuple[Path, Path]):
    old, new = specs
    out = tmp_path / "work" / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    writer = subprocess.Popen([sys.executable, "-c", KILLER, "stop-in-staging", "render", "--spec", str(new), "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".generated.new-") for p in out.parent.iterdir()):
            assert writer.poll() is None and time.monotonic() < deadline, writer.stderr.read() if writer.stderr else ""
            time.sleep(0.05)
        while Path(f"/proc/{writer.pid}/stat").read_text().split(") ")[1][0] != "T":
            time.sleep(0.05)
        # A reader that took the stopped render's staging folder for a killed one would delete it.
        reader = subprocess.Popen([sys.executable, "-m", "stackgen", "diff", "--spec", str(new), "--out", str(out)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            reader.wait(timeout=8)
        assert reader.returncode is None, "the reader did not wait for the render in progress"
    finally:
        os.kill(writer.pid, signal.SIGCONT)
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    diff, err = reader.communicate(timeout=120)
    assert (reader.returncode, diff, err) == (0, "", ""), "the reader saw the finished render"
    assert sorted(os.listdir(out.parent)) == ["generated"]


@pytest.mark.slow
def test_a_failed_swap_puts_the_old_tree_back(tmp_path: Path, specs: tuple[Path, Path]):
    old, new = specs
    out = tmp_path / "work" / "generated"
    assert _stackgen("render", "--spec", old, "--out", out).returncode == 0
    before = read_tree(out)
    failed = subprocess.run([sys.executable, "-c", KILLER, "second-rename-fails", "render", "--spec", str(new), "--out",
                             str(out)], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"{out}: cannot write {out.parent}/.generated.new-")
    assert failed.stderr.endswith(": Permission denied; the previous tree is unchanged\n") and failed.stderr.count("\n") == 1
    assert read_tree(out) == before
    assert sorted(os.listdir(out.parent)) == ["generated"]

"""The CI examples and the pre-commit hooks: each file validates against its system's published schema (the
ones check-jsonschema ships), every stackgen command in them parses with this stackgen, and the hooks
install and pass through pre-commit itself."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml

from stackgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / ".gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent


def _scripts() -> list[tuple[str, str]]:
    """(file, shell line) for every line of every script in both examples."""
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    lines = [(GITHUB.name, step["run"]) for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    gitlab = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    lines += [(GITLAB.name, line) for job in gitlab.values() if isinstance(job, dict)
              for key in ("before_script", "script") for line in job.get(key, [])]
    return [(file, line) for file, script in lines for line in script.splitlines()]


def _stackgen_commands() -> list[tuple[str, list[str]]]:
    """Each `stackgen ...` invocation, as its arguments up to the first redirection or command separator."""
    found = []
    for file, line in _scripts():
        words = shlex.split(line)
        for i, word in enumerate(words):
            if word == "stackgen" and (i == 0 or words[i - 1] in ("&&", ";", "|", "then")):
                args = []
                for arg in words[i + 1:]:
                    if arg in (">", ">>", "|", "&&", ";", "||") or arg.startswith(">"):
                        break
                    args.append(arg)
                found.append((file, args))
    return found


def test_the_examples_run_render_check_lint_and_review():
    commands = {(file, args[0]) for file, args in _stackgen_commands()}
    for file in (GITHUB.name, GITLAB.name):
        assert {(file, c) for c in ("render", "check", "lint", "review")} <= commands, commands


@pytest.mark.parametrize(("file", "args"), _stackgen_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_stackgen_command_in_the_examples_parses(file: str, args: list[str]):
    """Parsed as the CLI would (options, choices, types), without running: a renamed option or format fails here."""
    group = typer.main.get_command(app)
    with group.make_context("stackgen", list(args), resilient_parsing=False) as ctx:
        command = group.get_command(ctx, args[0])
        assert command is not None, f"{file}: stackgen has no command {args[0]!r}"
        command.make_context(args[0], list(args[1:]), parent=ctx)


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.parametrize(("schema", "path"), [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)],
                         ids=["github-actions", "gitlab-ci"])
def test_the_example_validates_against_its_schema(schema: str, path: Path, tmp_path: Path):
    result = _check_jsonschema(schema, path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The validation is real: a job with no steps, or artifacts kept at no known time, is refused.
    broken = tmp_path / path.name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "jobs" in data:
        data["jobs"]["stackgen"].pop("steps")
    else:
        data["check"]["artifacts"]["when"] = "sometimes"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _check_jsonschema(schema, broken).returncode == 1


@pytest.mark.slow
def test_the_hook_manifest_validates():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert set(hooks) == {"stackgen-check", "stackgen-lint"}
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks.values())


def _clean_copy(root: Path, dest: Path) -> Path:
    """The checkout as a fresh clone would have it (tracked and new files, nothing ignored), committed in
    its own repository: pre-commit clones a repository, and the main one must not be touched."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, target = root / name, dest / name
        if source.exists() or source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    git = ["git", "-c", "user.name=stackgen tests", "-c", "user.email=tests@stackgen.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=dest, check=True)
    return dest


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_hooks_install_and_pass_with_pre_commit_try_repo(tmp_path: Path):
    """pre-commit installs stackgen alone (no dev extras) into a fresh environment and runs both hooks on a
    repository with a stack.yaml: the check passes, so everything it needs came with stackgen (and the system)."""
    repo = _clean_copy(ROOT, tmp_path / "repo")
    # Nothing of this test's environment: an activated .venv would put the dev extras' tools on PATH.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PATH": path}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(repo), "--all-files"],
                            cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=840)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert [line.split("...")[0] + line.rsplit(".", 1)[-1] for line in output.splitlines() if line.startswith("stackgen ")] \
        == ["stackgen checkPassed", "stackgen lintPassed"], output

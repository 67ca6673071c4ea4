"""Shared fixtures: the repository root, its stack.yaml (parsed, loaded and rendered), mutated copies
of it, and running `stackgen check` in-process."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def shared_check_cache(tmp_path_factory: pytest.TempPathFactory):
    """Every `stackgen check` of the session (in-process or a child process) shares one validator cache:
    most check a copy of the same tree, and a validator that passed on identical files and tools is
    skipped (stackgen/checks/cache.py; failures are never cached). Not the checkout's own cache."""
    from stackgen.checks.cache import CACHE_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("check-cache")))
        yield


@pytest.fixture(scope="session")
def spec_data() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stack.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def stack():
    from stackgen.resolve import load_stack

    return load_stack(ROOT / "stack.yaml")


@pytest.fixture(scope="session")
def artifacts(stack) -> dict[str, str]:
    from stackgen.pipeline import render_stack

    return {a.path: a.content for a in render_stack(stack)}


@pytest.fixture
def rendered(tmp_path: Path, artifacts: dict[str, str]) -> Path:
    """A fresh render of stack.yaml written to disk, for validators to read (and tests to break)."""
    root = tmp_path / "generated"
    for path, content in artifacts.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def write_spec(tmp_path: Path, spec_data) -> Callable[[Callable[[dict], None]], Path]:
    """Write a mutated copy of stack.yaml; the mutation edits the parsed data in place."""

    def make(mutate: Callable[[dict], None]) -> Path:
        data = copy.deepcopy(spec_data)
        mutate(data)
        path = tmp_path / "stack.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_check(tmp_path: Path) -> Callable[[Path], tuple[int, str]]:
    """Render the spec into a fresh folder, then `stackgen check` it: only the validators can fail."""
    from stackgen.cli import app

    def run(spec: Path) -> tuple[int, str]:
        out = tmp_path / "generated"
        runner = CliRunner()
        rendered = runner.invoke(app, ["render", "--spec", str(spec), "--out", str(out)])
        if rendered.exit_code != 0:
            return rendered.exit_code, rendered.output
        result = runner.invoke(app, ["check", "--spec", str(spec), "--out", str(out)])
        return result.exit_code, result.output

    return run

"""Helpers: lint a variant of the committed stack.yaml (written to tmp_path with its OpenAPI document)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from stackgen.diagnostics import ERROR, Diagnostic
from stackgen.output.artifact import Artifact
from stackgen.pipeline import lint, render_stack
from stackgen.resolve import Stack, load_stack

REPO = Path(__file__).resolve().parents[2]
SPEC_TEXT = (REPO / "stack.yaml").read_text(encoding="utf-8")


def write_spec(tmp_path: Path, text: str) -> Path:
    (tmp_path / "service").mkdir(exist_ok=True)
    shutil.copy(REPO / "service" / "openapi.json", tmp_path / "service" / "openapi.json")
    spec = tmp_path / "stack.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in stack.yaml"
    return text.replace(old, new)


RAW_ALERT_ANCHOR = "    # Service level objectives:"


def with_raw_alert(expr: str, name: str = "BrokenRawAlert", severity: str = "warning") -> str:
    """stack.yaml with one more alert, a raw one, appended to the service's alerts."""
    alert = (f"      - name: {name}\n        kind: raw\n        severity: {severity}\n"
             f"        expr: '{expr}'\n        summary: Raw alert under test\n"
             f"        description: \"value {{{{ $value }}}}\"\n"
             f"        runbook_url: https://runbooks.example.com/fugatto/{name}\n\n")
    return replace_once(SPEC_TEXT, RAW_ALERT_ANCHOR, alert + RAW_ALERT_ANCHOR)


@pytest.fixture(scope="session")
def committed() -> tuple[Stack, list[Artifact]]:
    stack = load_stack(REPO / "stack.yaml")
    return stack, render_stack(stack)


@pytest.fixture
def lint_text(tmp_path: Path) -> Callable[[str], list[Diagnostic]]:
    def run(text: str) -> list[Diagnostic]:
        spec = write_spec(tmp_path, text)
        stack = load_stack(spec)
        return lint(stack, render_stack(stack), spec.parent)

    return run


def errors(findings: list[Diagnostic], rule: str | None = None) -> list[Diagnostic]:
    return [f for f in findings if f.severity == ERROR and (rule is None or f.rule == rule)]


def mutate(artifacts: list[Artifact], path: str, old: str, new: str) -> list[Artifact]:
    """The render with one generated file edited (as if a generator had a bug)."""
    out = []
    for a in artifacts:
        if a.path == path:
            assert old in a.content, f"{old!r} not in {path}"
            a = Artifact(a.path, a.content.replace(old, new))
        out.append(a)
    return out

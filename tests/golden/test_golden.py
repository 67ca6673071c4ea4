"""Golden in/out pairs: each case's spec renders to exactly its committed tree, file by file, and
`stackgen check` accepts that tree. Regenerate with `.venv/bin/python -m tests.golden.regenerate`."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.golden.regenerate import ROOT, cases

CASES = cases()
REGENERATE = ".venv/bin/python -m tests.golden.regenerate"


def _rendered(spec: Path) -> dict[str, str]:
    from stackgen.output.write import with_manifest
    from stackgen.pipeline import load_stack, render_stack

    return {a.path: a.content for a in with_manifest(render_stack(load_stack(spec)))}


def _on_disk(tree: Path) -> dict[str, str]:
    # Bytes, decoded without newline translation: a CRLF that crept into a golden file is a difference.
    return {p.relative_to(tree).as_posix(): p.read_bytes().decode("utf-8") for p in tree.rglob("*") if p.is_file()}


def _differences(expected: dict[str, str], rendered: dict[str, str], label: str) -> list[str]:
    problems = [f"missing from {label}: {path}" for path in sorted(rendered.keys() - expected.keys())]
    problems += [f"extra in {label} (no longer rendered): {path}" for path in sorted(expected.keys() - rendered.keys())]
    for path in sorted(expected.keys() & rendered.keys()):
        if expected[path] != rendered[path]:
            problems.append("".join(difflib.unified_diff(
                expected[path].splitlines(keepends=True), rendered[path].splitlines(keepends=True),
                fromfile=f"{label}/{path}", tofile=f"rendered/{path}")))
    return problems


def test_every_feature_has_a_case():
    # A renamed or deleted case folder would otherwise just shrink the parametrization below.
    assert {"minimal", "fugatto", "slo", "raw-alert", "environments", "several-services",
            "alert-kinds"} <= set(CASES)
    for name, (spec, expected) in CASES.items():
        assert spec.is_file() and expected.is_dir(), f"{name}: run {REGENERATE} {name}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_the_golden_tree(case: str):
    spec, expected = CASES[case]
    problems = _differences(_on_disk(expected), _rendered(spec), expected.relative_to(ROOT).as_posix())
    assert not problems, "\n".join(problems) + f"\nif the change is intended: {REGENERATE} {case}"


def test_a_difference_is_named_and_shown():
    expected = {"a.yml": "x: 1\ny: 2\n", "gone.yml": "z\n"}
    rendered = {"a.yml": "x: 1\ny: 3\n", "new.yml": "w\n"}
    problems = _differences(expected, rendered, "expected")
    assert problems[:2] == ["missing from expected: new.yml", "extra in expected (no longer rendered): gone.yml"]
    assert "--- expected/a.yml\n+++ rendered/a.yml\n" in problems[2] and "\n-y: 2\n+y: 3\n" in problems[2]


@pytest.mark.slow
# fugatto: tests/core/test_check.py; examples/*: tests/core/test_examples.py (check and lint)
@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "fugatto" and not c.startswith("examples/")))
def test_check_accepts_the_golden_tree(case: str):
    from stackgen.cli import app

    spec, expected = CASES[case]
    result = CliRunner().invoke(app, ["check", "--spec", str(spec), "--out", str(expected)])
    assert result.exit_code == 0, result.output
    assert "is in sync with" in result.output and "and valid" in result.output

"""Helpers: review a text edit of a spec against the spec itself, in-process.

The spec is tests/review/spec.yaml, a frozen copy of the bundled stack.yaml, so that editing stack.yaml
does not rewrite these reports (regenerating goldens stays for changes of the report or the targets).
Both specs are written to the test's folder (the base as base.yaml) and the test runs there, so the
report names them `base.yaml` and `stack.yaml` whatever the folder is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackgen.review import compare
from stackgen.review.report import Report
from stackgen.review.sides import load_sides

REPO = Path(__file__).resolve().parents[2]
SPEC_TEXT = (Path(__file__).resolve().parent / "spec.yaml").read_text(encoding="utf-8")
GOLDEN = Path(__file__).resolve().parent / "golden"
# Set to rewrite the golden files from the current output (then read the diff before committing it).
UPDATE = os.environ.get("STACKGEN_UPDATE_GOLDEN") == "1"


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each `old` (which must occur exactly once) replaced by `new`."""
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


@pytest.fixture
def review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """review(head_text, base_text=stack.yaml) -> the Report of base.yaml -> stack.yaml."""
    monkeypatch.chdir(tmp_path)

    def run(head: str, base: str = SPEC_TEXT) -> Report:
        Path("base.yaml").write_text(base, encoding="utf-8")
        Path("stack.yaml").write_text(head, encoding="utf-8")
        base_side, head_side = load_sides(Path("stack.yaml"), Path("generated"), base_file=Path("base.yaml"))
        return compare(base_side, head_side)

    return run


def check_golden(name: str, text: str) -> None:
    """`text` is exactly tests/review/golden/`name` (rewritten instead with STACKGEN_UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with STACKGEN_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8")

"""`stackgen init`: a commented starting spec that loads, renders and passes `stackgen check`, and
that never replaces a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app


def _init(tmp_path: Path, *args: str):
    return CliRunner().invoke(app, ["init", "--out", str(tmp_path / "stack.yaml"), *args])


def test_init_writes_a_commented_spec_that_loads(tmp_path: Path):
    from stackgen.pipeline import load_stack

    result = _init(tmp_path, "--name", "orders")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "stack.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=generated/stackgen.schema.json\n")
    assert "apiVersion: stackgen/v1  # required\n" in text and "  - name: orders  # required" in text
    spec = load_stack(tmp_path / "stack.yaml").spec
    assert spec.name == "orders" and [s.name for s in spec.services] == ["orders"]
    assert {a.name for a in spec.services[0].alerts} == {"HighErrorRate", "SlowRequests", "ServiceDown"}


def test_init_refuses_to_overwrite(tmp_path: Path):
    (tmp_path / "stack.yaml").write_text("mine\n", encoding="utf-8")
    result = _init(tmp_path)
    assert result.exit_code == 2
    assert "stack.yaml already exists; nothing was written" in result.output
    assert (tmp_path / "stack.yaml").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize("name", ["Orders", "a", "my_service", "ends-", "x" * 54, "a\nb: c"])
def test_init_refuses_a_name_the_spec_would_reject(tmp_path: Path, name: str):
    result = _init(tmp_path, "--name", name)
    assert result.exit_code == 2
    assert result.output.startswith("--name: ") and "is not a service name" in result.output
    assert "\nb: c" not in result.output
    assert not (tmp_path / "stack.yaml").exists()


@pytest.mark.slow
def test_the_starting_spec_renders_checks_and_lints(tmp_path: Path):
    assert _init(tmp_path, "--name", "my-api").exit_code == 0
    args = ["--spec", str(tmp_path / "stack.yaml"), "--out", str(tmp_path / "generated")]
    runner = CliRunner()
    rendered = runner.invoke(app, ["render", *args])
    assert rendered.exit_code == 0, rendered.output
    checked = runner.invoke(app, ["check", *args])
    assert checked.exit_code == 0, checked.output
    assert "is in sync with" in checked.output and "and valid" in checked.output
    linted = runner.invoke(app, ["lint", *args])
    assert linted.exit_code == 0, linted.output
    assert "lint: 0 error(s)" in linted.output


DOCS = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def _section(title: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_the_docs_minimal_spec_loads(tmp_path: Path):
    from stackgen.pipeline import load_stack

    block = _section("A minimal spec").split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "stack.yaml").write_text(block, encoding="utf-8")
    spec = load_stack(tmp_path / "stack.yaml").spec
    assert [s.name for s in spec.services] == ["api"] and spec.services[0].alerts == []


def test_the_docs_mark_every_required_field():
    from stackgen.targets.schema import schema

    document = schema()
    wanted = {"(root)": document["required"]}
    wanted |= {name: d["required"] for name, d in document["$defs"].items() if d.get("required")}
    rows = [line.split(" | ") for line in _section("Required fields").splitlines() if line.startswith("| `")]
    documented = {cells[1].strip("`"): [f.strip("` |") for f in cells[2].split(", ")] for cells in rows}
    assert documented == wanted, "regenerate the table: python -m tests.docs_tables"

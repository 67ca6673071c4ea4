"""`--format json`: the same diagnostics as the text output (same count, order and messages), as one JSON
document on stdout with the documented keys, and the same exit code."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from stackgen.cli import app
from stackgen.diagnostics import one_line

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "bad_specs"
KEYS = {"col", "file", "fix", "line", "message", "path", "rule", "severity"}
# Every command that loads a spec, with the arguments it needs besides --spec and --format.
SPEC_COMMANDS = {
    "render": ["render", "--out", "{tmp}/out"],
    "check": ["check", "--out", "{tmp}/out"],
    "diff": ["diff", "--out", "{tmp}/out"],
    "lint": ["lint"],
    "explain slo": ["explain", "slo"],
}


def _invoke(args: list[str], cwd: Path | None = None) -> Result:
    if cwd is None:
        return CliRunner().invoke(app, args)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, args)
    finally:
        os.chdir(old)


def _document(result: Result) -> list[dict[str, Any]]:
    """The JSON document on stdout, checked to be the whole of stdout, keyed as documented and stable."""
    doc = json.loads(result.stdout)
    assert isinstance(doc, list)
    assert all(set(d) == KEYS for d in doc), doc
    assert result.stdout == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    return doc


def _spec_line(d: dict[str, Any]) -> str:
    """A JSON diagnostic as the spec-error text line."""
    where = f"{one_line(d['file'])}:{d['line']}:{d['col']}"
    if d["path"] is not None:
        where += f": {one_line(d['path'])}"
    return f"{where}: {one_line(d['message'])}"


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.yaml")))
def test_bad_spec_json_carries_each_text_problem_with_its_position(name: str, tmp_path: Path):
    text = _invoke(["render", "--spec", f"{name}.yaml", "--out", str(tmp_path / "a")], CORPUS)
    machine = _invoke(["render", "--spec", f"{name}.yaml", "--out", str(tmp_path / "b"), "--format", "json"], CORPUS)
    assert (text.exit_code, machine.exit_code) == (2, 2)
    *problems, summary = text.stderr.splitlines()
    doc = _document(machine)
    assert machine.stderr == summary + "\n"
    assert [_spec_line(d) for d in doc] == problems
    for d in doc:
        assert d["file"] == f"{name}.yaml" and d["line"] >= 1 and d["col"] >= 1
        assert (d["rule"], d["severity"], d["fix"]) == ("spec", "error", None)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_every_command_that_loads_a_spec_reports_spec_errors_as_json(command: str, tmp_path: Path):
    args = [a.format(tmp=tmp_path) for a in SPEC_COMMANDS[command]] + ["--spec", str(CORPUS / "several_problems.yaml")]
    text = _invoke(args)
    machine = _invoke([*args, "--format", "json"])
    assert (text.exit_code, machine.exit_code) == (2, 2)
    *problems, summary = text.stderr.splitlines()
    doc = _document(machine)
    assert [(d["line"], d["col"], d["path"]) for d in doc] == [
        (6, 5, "services[0].colour"), (32, 9, "services[0].alerts[0].for"), (41, 9, "services[0].alerts[1].severity")]
    assert [_spec_line(d) for d in doc] == problems
    assert machine.stderr == summary + "\n"


def test_json_masks_a_credential_as_the_text_does(tmp_path: Path):
    password = "gr-" + "pa55"  # assembled, so no scanner mistakes this file for a leak
    base = (CORPUS / "base.yaml.txt").read_text()
    assert base.count("alertmanager:\n") == 1
    spec = tmp_path / "stack.yaml"
    grafana = f"grafana: {{url: 'https://admin:{password}@grafana example.com'}}\n"
    spec.write_text(base.replace("alertmanager:\n", grafana + "alertmanager:\n"))
    text = _invoke(["lint", "--spec", str(spec)])
    machine = _invoke(["lint", "--spec", str(spec), "--format", "json"])
    assert (text.exit_code, machine.exit_code) == (2, 2)
    doc = _document(machine)
    assert [d["path"] for d in doc] == ["grafana.url"]
    assert "got str 'https://***:***@grafana example.com'" in doc[0]["message"]
    assert password not in text.stderr and password not in machine.stdout
    assert [_spec_line(d) for d in doc] == text.stderr.splitlines()[:-1]


def _lint_block(d: dict[str, Any]) -> str:
    """A JSON diagnostic as `stackgen lint`'s text."""
    where = one_line(d["file"]) + (f":{d['line']}:{d['col']}" if d["line"] else "")
    where += f": {one_line(d['path'])}" if d["path"] is not None else ""
    return f"{where}: {d['severity']}: {d['message']} [{d['rule']}]\n    fix: {d['fix']}"


def test_lint_json_has_the_text_findings(tmp_path: Path):
    spec_text = (ROOT / "stack.yaml").read_text(encoding="utf-8")
    anchor = "    # Service level objectives:"
    alert = ("      - name: BrokenRawAlert\n        kind: raw\n        severity: warning\n"
             "        expr: 'rate(fugatto_nonexistent_total[30s]) > 0'\n        summary: Raw alert under test\n"
             "        description: \"value {{ $value }}\"\n        runbook_url: https://runbooks.example.com/fugatto/x\n\n")
    assert spec_text.count(anchor) == 1
    openapi = "    openapi: service/openapi.json\n"
    assert spec_text.count(openapi) == 1
    spec = tmp_path / "stack.yaml"
    spec.write_text(spec_text.replace(anchor, alert + anchor).replace(openapi, ""), encoding="utf-8")
    text = _invoke(["lint", "--spec", str(spec)])
    machine = _invoke(["lint", "--spec", str(spec), "--format", "json"])
    assert (text.exit_code, machine.exit_code) == (1, 1)
    doc = _document(machine)
    assert {(d["rule"], d["severity"]) for d in doc} == {
        ("promql-unknown-metric", "error"), ("promql-range-too-short", "error"), ("openapi-missing", "warning")}
    assert "".join(_lint_block(d) + "\n" for d in doc) == text.stdout
    summary = "lint: 2 error(s), 1 warning(s)\n"
    assert text.stderr == summary and machine.stderr == summary
    unknown = next(d for d in doc if d["rule"] == "promql-unknown-metric")
    assert unknown["file"] == str(spec) and unknown["line"] > 1 and unknown["path"].endswith(".expr")


def test_lint_json_of_a_clean_spec_is_an_empty_list():
    result = _invoke(["lint", "--spec", str(ROOT / "stack.yaml"), "--format", "json"])
    assert result.exit_code == 0
    assert _document(result) == []
    assert result.stderr == "lint: 0 error(s), 0 warning(s)\n"


def test_render_json_prints_an_empty_list_and_the_status_on_stderr(tmp_path: Path):
    result = _invoke(["render", "--spec", str(ROOT / "stack.yaml"), "--out", str(tmp_path / "out"), "--format", "json"])
    assert result.exit_code == 0
    assert _document(result) == []
    assert result.stderr.startswith("rendered ") and result.stderr.endswith(f" files into {tmp_path / 'out'}\n")


@pytest.mark.slow
def test_check_json_has_the_drift_and_the_validator_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "generated"
    shutil.copytree(ROOT / "generated", out)
    shutil.copy(ROOT / "stack.yaml", tmp_path / "stack.yaml")  # the committed layout: compose paths stay the same
    rules = out / "prometheus/rules/fugatto-audio-lab-alerts.yml"
    rules.write_text(rules.read_text().replace("> 0.05", "> 0.5", 1))
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python only: promtool and amtool are missing
    args = ["check", "--spec", str(tmp_path / "stack.yaml"), "--out", str(out)]
    text = _invoke(args)
    machine = _invoke([*args, "--format", "json"])
    assert (text.exit_code, machine.exit_code) == (1, 1)
    doc = _document(machine)
    *lines, summary = text.stderr.splitlines()
    diff = [line for line in lines if line.startswith("    ")]  # the drift's diff in text; JSON keeps its shape
    assert "    -      > 0.5" in diff and "    +      > 0.05" in diff
    lines = [line for line in lines if line not in diff]
    assert machine.stderr == summary + "\n" == f"check failed: {len(doc)} problem(s)\n"
    rendered = [f"{d['file']}: {d['message']}" if d["rule"] == "drift" else f"{d['file']}: [{d['rule']}] {d['message']}"
                for d in doc]
    assert "\n".join(rendered) == "\n".join(lines)
    assert {"file": f"{out}/prometheus/rules/fugatto-audio-lab-alerts.yml", "rule": "drift"}.items() <= doc[0].items()
    assert any(d["rule"] == "promtool" and "promtool is not installed" in d["message"] for d in doc)
    assert all(d["severity"] == "error" and d["line"] is None for d in doc)

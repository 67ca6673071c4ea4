"""`--format github|sarif|junit`: GitHub workflow commands line for line (a hostile message cannot break
out of its annotation or start a command), SARIF validated against the published SARIF 2.1.0 schema,
JUnit XML parsed back; each wired into check and lint with the same exit codes as text and JSON.

sarif-schema-2.1.0.json beside this file is the OASIS schema (errata01), vendored unchanged from
github.com/oasis-tcs/sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json at commit e058381: tests cannot
download it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from stackgen.cli import app
from stackgen.diagnostics import Diagnostic
from stackgen.diagnostics_formats import github_text, junit_text, sarif_document, sarif_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")

HOSTILE = Diagnostic("stack.yaml", 12, 7, "services[0].alerts[2].summary", rule="alert-summary",
                     message="100% broken\r\n::warning file=x::forged, a:b", fix="write\none sentence")
SAMPLE = [
    HOSTILE,
    Diagnostic("stack.yaml", 30, 5, "services[0].openapi", rule="openapi-missing", severity="warning",
               message="no OpenAPI document declared", fix="set services[0].openapi"),
    Diagnostic("generated/k8s/base (built)", rule="kustomize build", message="line one\nline two\x1b[31m\x00"),
    Diagnostic("odd:name,1.yml", 1, 0, rule="yamllint", severity="info", message="note"),
    Diagnostic("http://127.0.0.1:8001/metrics", rule="live-missing-metric", message="metric x is not exposed"),
]


@cache
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def _valid_sarif(text: str) -> dict[str, Any]:
    document = json.loads(text)
    errors = sorted(_validator().iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return document


def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


def test_github_lines_escape_data_and_properties():
    assert github_text(SAMPLE) == (
        "::error file=stack.yaml,line=12,col=7,title=alert-summary::services[0].alerts[2].summary: 100%25 broken\\r"
        "%0A::warning file=x::forged, a:b%0Afix: write one sentence\n"
        "::warning file=stack.yaml,line=30,col=5,title=openapi-missing::services[0].openapi: no OpenAPI document declared"
        "%0Afix: set services[0].openapi\n"
        "::error file=generated/k8s/base (built),title=kustomize build::line one%0Aline two\\x1b[31m\\x00\n"
        "::notice file=odd%3Aname%2C1.yml,line=1,col=1,title=yamllint::note\n"
        "::error file=http%3A//127.0.0.1%3A8001/metrics,title=live-missing-metric::metric x is not exposed\n"
    )
    # Every line is one command: nothing in a message starts a line of its own.
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in github_text(SAMPLE).splitlines())


def test_github_masks_credentials_like_the_text_output():
    leaked = Diagnostic("stack.yaml", 3, 1, rule="spec", message="bad url https://user:hunter2@example.com/hook")
    line = github_text([leaked])
    assert "hunter2" not in line and str(leaked).split(": ", 1)[1] in line


def test_sarif_of_every_kind_of_diagnostic_validates_and_points_at_the_spec():
    document = _valid_sarif(sarif_text(SAMPLE, "stackgen lint", "0.1.0"))
    (run,) = document["runs"]
    assert document["version"] == "2.1.0"
    assert run["automationDetails"] == {"id": "stackgen-lint/"}
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({d.rule for d in SAMPLE})
    assert "docs/lint.md" in rules[[r["id"] for r in rules].index("alert-summary")]["shortDescription"]["text"]
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "error", "note", "error"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    first = results[0]["locations"][0]
    assert first["physicalLocation"] == {"artifactLocation": {"uri": "stack.yaml", "uriBaseId": "%SRCROOT%"},
                                         "region": {"startLine": 12, "startColumn": 7}}
    assert first["logicalLocations"] == [{"fullyQualifiedName": "services[0].alerts[2].summary"}]
    assert results[0]["message"]["text"] == "100% broken\\r\n::warning file=x::forged, a:b\nfix: write one sentence"
    assert results[2]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "generated/k8s/base%20%28built%29", "uriBaseId": "%SRCROOT%"}}
    assert results[4]["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "http://127.0.0.1:8001/metrics"}


def test_an_empty_sarif_run_validates():
    assert _valid_sarif(sarif_text([], "stackgen check", "0.1.0"))["runs"][0]["results"] == []


def test_the_schema_catches_a_broken_log():
    """The validator is real: a level SARIF does not know is refused."""
    document = sarif_document(SAMPLE[:1], "stackgen lint", "0.1.0")
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError, match="fatal"):
        _valid_sarif(json.dumps(document))


def test_junit_has_one_case_per_diagnostic_and_fails_on_errors_only():
    text = junit_text(SAMPLE, "stackgen lint")
    assert text.startswith("<?xml version='1.0' encoding='us-ascii'?>\n") and text.isascii()
    suites = ET.fromstring(text.encode("ascii"))
    (suite,) = suites
    assert (suites.tag, suite.tag, suite.get("name")) == ("testsuites", "testsuite", "stackgen lint")
    assert (suite.get("tests"), suite.get("failures"), suites.get("failures")) == ("5", "3", "3")
    cases = list(suite)
    assert [c.get("classname") for c in cases] == [d.rule for d in SAMPLE]
    assert cases[0].get("name") == "stack.yaml:12:7: services[0].alerts[2].summary"
    assert (cases[0].get("file"), cases[0].get("line")) == ("stack.yaml", "12")
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "alert-summary"
    assert failure.get("message") == "100% broken\\r"
    assert failure.text == "100% broken\\r\n::warning file=x::forged, a:b\nfix: write one sentence"
    assert cases[1].find("failure") is None
    assert cases[1].findtext("system-out") == "warning: no OpenAPI document declared\nfix: set services[0].openapi"
    # ESC and NUL cannot be carried by XML 1.0 at all: they arrive as escapes, and the document still parses.
    assert cases[2].findtext("failure") == "line one\nline two\\x1b[31m\\x00"


def test_a_clean_junit_run_is_one_passing_case():
    (suite,) = ET.fromstring(junit_text([], "stackgen check").encode())
    assert [(c.get("classname"), c.get("name"), list(c)) for c in suite] == [("stackgen check", "stackgen check", [])]
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


# --- through the CLI ---------------------------------------------------------------------------------

BAD = ROOT / "tests" / "bad_specs" / "bad_duration.yaml"


@pytest.mark.parametrize("command", ["check", "lint"])
def test_an_invalid_spec_in_each_format(command: str, tmp_path: Path):
    args = [command, "--spec", str(BAD), "--out", str(tmp_path / "out")]
    problem = ("services[0].alerts[0].for: invalid duration '2x': use Prometheus units y, w, d, h, m, s, ms "
               "(e.g. '5m', '1h30m')")
    github = _invoke([*args, "--format", "github"])
    assert github.exit_code == 2
    assert github.stdout == f"::error file={BAD},line=31,col=9,title=spec::{problem}\n"
    assert github.stderr == f"1 problem(s) in {BAD}; nothing was written\n"

    sarif = _invoke([*args, "--format", "sarif"])
    assert sarif.exit_code == 2
    (run,) = _valid_sarif(sarif.stdout)["runs"]
    assert run["automationDetails"]["id"] == f"stackgen-{command}/"
    (result,) = run["results"]
    assert (result["ruleId"], result["message"]["text"]) == ("spec", problem.split(": ", 1)[1])
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 31, "startColumn": 9}

    junit = _invoke([*args, "--format", "junit"])
    assert junit.exit_code == 2
    (suite,) = ET.fromstring(junit.stdout.encode())
    assert (suite.get("name"), suite.get("failures")) == (f"stackgen {command}", "1")
    assert not (tmp_path / "out").exists()


def test_lint_findings_in_each_format_with_the_exit_codes_of_text(tmp_path: Path):
    """A rate() over a gauge (error) and no OpenAPI document (warning), as lint reports them in text."""
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "openapi.json").write_text((ROOT / "service/openapi.json").read_text())
    text = (ROOT / "stack.yaml").read_text(encoding="utf-8")
    anchor = "    # Service level objectives:"
    alert = ("      - name: GaugeRate\n        kind: raw\n        severity: warning\n"
             "        expr: 'rate(fugatto_queue_depth[5m]) > 1'\n        summary: Raw alert under test\n"
             "        description: \"value {{ $value }}\"\n"
             "        runbook_url: https://runbooks.example.com/fugatto/GaugeRate\n\n")
    assert text.count(anchor) == 1 and text.count("    openapi: service/openapi.json\n") == 1
    text = text.replace(anchor, alert + anchor).replace("    openapi: service/openapi.json\n", "")
    (tmp_path / "stack.yaml").write_text(text, encoding="utf-8")
    args = ["lint", "--spec", str(tmp_path / "stack.yaml"), "--out", "generated"]

    plain = _invoke(args)
    assert plain.exit_code == 1
    expected = json.loads(_invoke([*args, "--format", "json"]).stdout)
    assert {d["rule"] for d in expected} >= {"promql-rate-non-counter", "openapi-missing"}

    github = _invoke([*args, "--format", "github"])
    assert github.exit_code == 1
    lines = github.stdout.splitlines()
    assert len(lines) == len(expected)
    for line, d in zip(lines, expected, strict=True):
        position = f",line={d['line']},col={d['col']}" if d["line"] else ""
        assert line.startswith(f"::{d['severity']} file={d['file']}{position},title={d['rule']}::"), line
    assert github.stderr == plain.stderr

    sarif = _invoke([*args, "--format", "sarif"])
    assert sarif.exit_code == 1
    results = _valid_sarif(sarif.stdout)["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [(d["rule"], d["severity"]) for d in expected]
    assert sarif.stdout == _invoke([*args, "--format", "sarif"]).stdout  # byte-stable

    junit = _invoke([*args, "--format", "junit"])
    assert junit.exit_code == 1
    (suite,) = ET.fromstring(junit.stdout.encode())
    assert int(suite.get("failures") or 0) == sum(d["severity"] == "error" for d in expected)

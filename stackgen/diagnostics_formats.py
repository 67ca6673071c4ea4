"""Diagnostics in the formats CI systems read, beside the JSON list in diagnostics.py: GitHub workflow
commands (annotations on the spec line), SARIF 2.1.0 (code scanning) and JUnit XML (test reports).

Each is one document for the whole run, in the order given, byte-stable: no timestamps, no absolute
paths, no host names. Credentials are masked as in the text output, and no character of a spec or a
tool's output can break out of its field: GitHub's escapes, JSON's, XML's (control characters that
XML 1.0 cannot carry at all are written as Python escapes, as in the text).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from stackgen.diagnostics import ERROR, SPEC, WARNING, Diagnostic, one_line
from stackgen.parsers.credentials import redact

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
DRIFT = "drift"  # the rule id of a generated file that differs from a fresh render


def _lines(text: str) -> list[str]:
    """`text`'s lines, each printable (a tool's message keeps its lines; nothing else survives raw)."""
    return [one_line(line) for line in redact(text).split("\n")]


def message_text(d: Diagnostic, with_path: bool = True) -> str:
    """The message as several lines: `path: message` (a tool's output keeps its own lines), then `fix: ...`."""
    lines = _lines(d.message)
    if with_path and d.path:
        lines[0] = f"{one_line(redact(d.path))}: {lines[0]}"
    if d.fix:
        lines.append("fix: " + " ".join(_lines(d.fix)))
    return "\n".join(lines)


# --- GitHub Actions workflow commands --------------------------------------------------------------

GITHUB_COMMAND = {ERROR: "error", WARNING: "warning"}  # anything else is a notice


def _github_data(text: str) -> str:
    """Escaping of a command's message, as the runner unescapes it (actions/toolkit, command.ts)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A property value also ends at `,` and the properties at `:`."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_text(diagnostics: Sequence[Diagnostic]) -> str:
    """One `::error file=..,line=..,col=..,title=RULE::message` line per diagnostic: GitHub shows each as an
    annotation on that line of the file, in the pull request's diff and the run's summary. A message's
    newlines are escaped, so no line of a message can start a workflow command of its own."""
    out = []
    for d in diagnostics:
        properties = [("file", one_line(d.file))]
        if d.line:
            properties += [("line", str(d.line)), ("col", str(d.col or 1))]
        properties.append(("title", one_line(d.rule)))
        props = ",".join(f"{key}={_github_property(value)}" for key, value in properties)
        out.append(f"::{GITHUB_COMMAND.get(d.severity, 'notice')} {props}::{_github_data(message_text(d))}\n")
    return "".join(out)


# --- SARIF 2.1.0 -----------------------------------------------------------------------------------

SARIF_LEVEL = {ERROR: "error", WARNING: "warning"}  # anything else is a note
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def rule_help(rule: str, command: str) -> str:
    """What a rule id means, in one sentence, and where it is documented."""
    if rule == SPEC:
        return "The spec is invalid: every field is described in docs/spec.md; nothing was written."
    if rule == DRIFT:
        return "A generated file differs from a fresh render of the spec: run `stackgen render` and commit the result."
    if command.endswith(" lint"):
        return f"stackgen lint rule {rule}: docs/lint.md says what it checks and how to fix it."
    return (f"The validator `{rule}` rejected the generated files (README, 'What gets generated, and what proves it'); "
            "a missing tool is reported with the command that installs it.")


def _artifact_location(file: str) -> dict[str, Any]:
    """A URI relative to the repository root (%SRCROOT%, which code scanning resolves); a URL stays one."""
    if _URL.match(file):
        return {"uri": file}
    return {"uri": quote(file, safe="/"), "uriBaseId": "%SRCROOT%"}


def _sarif_result(d: Diagnostic, index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact_location(d.file)}
    if d.line:
        physical["region"] = {"startLine": d.line, "startColumn": d.col or 1}
    location: dict[str, Any] = {"physicalLocation": physical}
    if d.path:
        location["logicalLocations"] = [{"fullyQualifiedName": one_line(redact(d.path))}]
    return {
        "ruleId": d.rule,
        "ruleIndex": index,
        "level": SARIF_LEVEL.get(d.severity, "note"),
        "message": {"text": message_text(d, with_path=False)},
        "locations": [location],
    }


def sarif_document(diagnostics: Sequence[Diagnostic], command: str, version: str) -> dict[str, Any]:
    """One run of `command` (the automation id, so code scanning keeps check and lint apart); its driver
    lists every rule id that occurs, sorted, and each result points at its rule by index."""
    rules = sorted({d.rule for d in diagnostics})
    index = {rule: i for i, rule in enumerate(rules)}
    driver = {
        "name": "stackgen",
        "version": version,
        "rules": [{"id": rule, "shortDescription": {"text": rule_help(rule, command)}} for rule in rules],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": command.replace(" ", "-") + "/"},
            "columnKind": "unicodeCodePoints",
            "results": [_sarif_result(d, index[d.rule]) for d in diagnostics],
        }],
    }


def sarif_text(diagnostics: Sequence[Diagnostic], command: str, version: str) -> str:
    """The SARIF log as JSON, keys sorted, ASCII only."""
    return json.dumps(sarif_document(diagnostics, command, version), indent=2, sort_keys=True) + "\n"


# --- JUnit XML -------------------------------------------------------------------------------------

def junit_text(diagnostics: Sequence[Diagnostic], command: str) -> str:
    """One testsuite named after the command, one testcase per diagnostic (class: its rule; name: its
    location), an error a <failure>, a warning or note a passing case carrying its message: the report
    fails exactly when the command does. A run with nothing to report is one passing case, the command.

    XML 1.0 cannot carry most control characters even as references; every text here has been through
    one_line, which writes each non-printable character (those among them) as a Python escape."""
    failures = sum(1 for d in diagnostics if d.severity == ERROR)
    suites = ET.Element("testsuites", name="stackgen", tests=str(max(len(diagnostics), 1)), failures=str(failures),
                        errors="0")
    suite = ET.SubElement(suites, "testsuite", name=command, tests=str(max(len(diagnostics), 1)),
                          failures=str(failures), errors="0", skipped="0")
    if not diagnostics:
        ET.SubElement(suite, "testcase", classname=command, name=command)
    for d in diagnostics:
        attributes = {"classname": one_line(d.rule), "name": d.location(), "file": one_line(d.file)}
        if d.line:
            attributes["line"] = str(d.line)
        case = ET.SubElement(suite, "testcase", attributes)
        text = message_text(d, with_path=False)
        if d.severity == ERROR:
            failure = ET.SubElement(case, "failure", message=text.split("\n")[0], type=one_line(d.rule))
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = f"{one_line(d.severity)}: {text}"
    ET.indent(suites)
    # us-ascii: every other character as a reference, so the report survives any terminal or log encoding.
    return ET.tostring(suites, encoding="us-ascii", xml_declaration=True).decode("ascii") + "\n"

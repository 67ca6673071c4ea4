"""yamllint over every generated YAML file, with the rules generated output must keep."""

from __future__ import annotations

from pathlib import Path

from stackgen.checks import fleet
from stackgen.checks.tools import ToolMissing, find_python_library, missing_finding
from stackgen.diagnostics import Diagnostic
from stackgen.resolve import Stack

# Long PromQL and templates are clearer unfolded; everything else is yamllint's default.
CONFIG = """
extends: default
rules:
  line-length: disable
  indentation: {spaces: 2, indent-sequences: consistent}
  comments-indentation: disable
"""


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    # Looked up like a tool, so that the check cache records it: another yamllint runs this again.
    try:
        linter = find_python_library("yamllint.linter", "yamllint")
        config = find_python_library("yamllint.config", "yamllint").YamlLintConfig(CONFIG)
    except ToolMissing as exc:
        return [missing_finding(exc, ".")]
    texts = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
             for path in sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")])}

    def lint(file: str) -> list[Diagnostic]:
        return [Diagnostic(file, rule="yamllint", message=f"{problem.line}:{problem.column}: {problem.message}")
                for problem in linter.run(texts[file], config, file)]

    findings: dict[str, list[Diagnostic]] = {}
    # A fleet's files of one shape lint alike (checks.fleet): one is linted; if it fails, each is, for its own lines.
    for first, *alike in fleet.group_by_text(texts, list(stack.spec.services)):
        findings[first] = lint(first)
        if findings[first]:
            findings |= {file: lint(file) for file in alike}
    return [finding for file in texts for finding in findings.get(file, [])]

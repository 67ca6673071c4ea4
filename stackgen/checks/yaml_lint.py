"""yamllint over every generated YAML file, with the rules generated output must keep."""

from __future__ import annotations

from pathlib import Path

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
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(CONFIG)
    findings = []
    for path in sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")]):
        relative = path.relative_to(root).as_posix()
        for problem in linter.run(path.read_text(encoding="utf-8"), config, relative):
            findings.append(Diagnostic(relative, rule="yamllint", message=f"{problem.line}:{problem.column}: {problem.message}"))
    return findings

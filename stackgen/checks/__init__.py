"""Validators of generated output. Each takes the rendered tree on disk and returns findings."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackgen.resolve import Stack


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.check}] {self.message}"


Validator = Callable[[Path, Stack], list[Finding]]

# Registration: module name under stackgen/checks/ exposing `validate(root, stack)`.
VALIDATORS = (
    "promtool",
    "amtool",
    "yaml_lint",
    "compose",
    "kubernetes",
    "grafana",
    "logstash",
)


def run_validators(root: Path, stack: Stack) -> list[Finding]:
    findings: list[Finding] = []
    for name in VALIDATORS:
        module = importlib.import_module(f"stackgen.checks.{name}")
        findings.extend(module.validate(root, stack))
    return findings

"""amtool: the Alertmanager config, and every generated routing test with --verify.receivers."""

from __future__ import annotations

from pathlib import Path

import yaml

from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.output.quoting import alertmanager_matcher
from stackgen.resolve import Stack


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    try:
        amtool = find("amtool")
    except ToolMissing as exc:
        return [missing_finding(exc, names.ALERTMANAGER_CONFIG)]
    config = names.ALERTMANAGER_CONFIG
    result = run([amtool, "check-config", config], cwd=root)
    if result.returncode != 0:
        return [Diagnostic(config, rule="amtool check-config", message=output_of(result))]
    findings = []
    tests_file = root / names.ALERTMANAGER_ROUTE_TESTS
    cases = yaml.safe_load(tests_file.read_text())["tests"] if tests_file.exists() else []
    for case in cases:
        labels = [alertmanager_matcher(k, v) for k, v in sorted(case["labels"].items())]
        expected = ",".join(case["receivers"])
        result = run([amtool, "config", "routes", "test", f"--config.file={config}",
                      f"--verify.receivers={expected}", *labels], cwd=root)
        if result.returncode != 0:
            findings.append(Diagnostic(names.ALERTMANAGER_ROUTE_TESTS, rule="amtool config routes test",
                                       message=f"{case['name']}: expected {expected}; amtool: {output_of(result)}"))
    return findings

"""promtool: the server config (which also checks every rule file) and the generated rule unit tests."""

from __future__ import annotations

from pathlib import Path

from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.resolve import Stack


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    try:
        promtool = find("promtool")
    except ToolMissing as exc:
        return [missing_finding(exc, names.PROMETHEUS_CONFIG)]
    findings = []
    config = run([promtool, "check", "config", names.PROMETHEUS_CONFIG], cwd=root)
    if config.returncode != 0:
        findings.append(Diagnostic(names.PROMETHEUS_CONFIG, rule="promtool check config", message=output_of(config)))
    tests = sorted(p.relative_to(root).as_posix() for p in (root / "prometheus" / "tests").glob("*.yml"))
    for test in tests:
        result = run([promtool, "test", "rules", Path(test).name], cwd=root / "prometheus" / "tests")
        if result.returncode != 0:
            findings.append(Diagnostic(test, rule="promtool test rules", message=output_of(result)))
    return findings

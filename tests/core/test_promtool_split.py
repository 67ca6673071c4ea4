"""check runs a promtool test file as several copies of its test groups side by side
(stackgen/checks/promtool.py test_rules): the verdict must be the one a single run gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackgen.checks import promtool
from stackgen.checks.tools import find

pytestmark = pytest.mark.slow  # promtool runs the alert unit tests (seconds)

ALERT_TESTS = "prometheus/tests/fugatto-audio-lab-alerts.test.yml"
ALERT_RULES = "prometheus/rules/fugatto-audio-lab-alerts.yml"


def test_the_split_passes_where_one_run_passes(rendered: Path):
    runs = promtool.test_rules(find("promtool"), rendered / ALERT_TESTS, 3)
    assert len(runs) == 3 and all(r.returncode == 0 for r in runs), [r.stdout + r.stderr for r in runs]
    assert all("fugatto-audio-lab-alerts.test.yml" in r.stdout + r.stderr for r in runs)


def _failures(runs) -> list[str]:
    """Each failed expectation promtool reports: `alertname: X, time: T`."""
    lines = (line.strip() for r in runs for line in (r.stdout + r.stderr).splitlines())
    return sorted(line for line in lines if line.startswith("alertname:"))


def test_wrong_thresholds_fail_the_same_expectations_split_or_not(rendered: Path, stack):
    rules = rendered / ALERT_RULES  # thresholds of the first rules and of the last one: every copy has a failure
    text = rules.read_text(encoding="utf-8").replace("> 0.05", "> 0.5").replace("> 95", "> 99.9")
    rules.write_text(text, encoding="utf-8")
    single = promtool.test_rules(find("promtool"), rendered / ALERT_TESTS, 1)
    split = promtool.test_rules(find("promtool"), rendered / ALERT_TESTS, 3)
    assert single[0].returncode != 0 and any(r.returncode != 0 for r in split)
    assert {f.split(",")[0] for f in _failures(single)} >= {"alertname: HighErrorRate", "alertname: HighGPUUtilization"}
    assert _failures(split) == _failures(single)
    findings = [f for f in promtool.validate(rendered, stack) if f.rule == "promtool test rules"]
    assert [f.file for f in findings] == [ALERT_TESTS]
    assert "FAILED" in findings[0].message

"""The generated promtool tests really test: they pass on the rules and fail when a rule is wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from tests.alert_scenarios import scenarios

DESIGN_ALERTS = ["HighErrorRate", "HighResponseTime", "ModelGenerationFailures", "HighMemoryUsage",
                 "HighGPUUtilization", "ServiceDown"]
RULES = "prometheus/rules/fugatto-audio-lab-alerts.yml"
TESTS = "prometheus/tests/fugatto-audio-lab-alerts.test.yml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "generated"
    write_tree(out, render_stack(load_stack(Path(__file__).resolve().parents[2] / "stack.yaml")))
    return out


def _promtool_test(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", "test", "rules", Path(TESTS).name], cwd=out / "prometheus/tests",
                          capture_output=True, text=True)


def test_rules_express_the_design_corrected(rendered: Path):
    groups = yaml.safe_load((rendered / RULES).read_text())["groups"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    assert set(DESIGN_ALERTS) | {"Watchdog", "GPUMemoryExhaustion"} == set(rules)
    # An error *ratio*, not an absolute rate of errors.
    # API traffic only: probes, readiness 503s while the model loads and admin calls are not requests.
    api = 'fugatto_requests_total{job="fugatto-audio-lab",endpoint!~"/health|/health/detailed|/live|/ready|/admin/.+"}'
    assert f"/\nsum by (job) (rate({api}[5m]))" in rules["HighErrorRate"]["expr"]
    # And only with enough of it (min_rate): one failed request at night is not a page.
    assert rules["HighErrorRate"]["expr"].endswith(f"and\nsum by (job) (rate({api}[5m])) > 0.1")
    # Quantiles over buckets aggregated by le.
    assert "sum by (le, job) (rate(fugatto_request_duration_seconds_bucket" in rules["HighResponseTime"]["expr"]
    # ServiceDown also covers a vanished target.
    assert "absent(up{job=\"fugatto-audio-lab\"})" in rules["ServiceDown"]["expr"]
    assert rules["Watchdog"]["expr"] == "vector(1)"
    expected = {"HighErrorRate": ("critical", "2m"), "HighResponseTime": ("warning", "3m"),
                "ModelGenerationFailures": ("critical", "1m"), "HighMemoryUsage": ("warning", "5m"),
                "HighGPUUtilization": ("warning", "10m"), "ServiceDown": ("critical", "1m")}
    for name, (severity, for_) in expected.items():
        assert rules[name]["labels"]["severity"] == severity
        assert rules[name]["for"] == for_
        assert rules[name]["annotations"]["runbook_url"].startswith("https://")


def test_every_design_alert_has_firing_silent_and_resolving_cases(rendered: Path):
    cases = scenarios(rendered, TESTS, RULES)
    for name in DESIGN_ALERTS:
        mine = [c for c in cases if c["alert_rule_test"][0]["alertname"] == name]
        checks = [t for c in mine for t in c["alert_rule_test"]]
        assert any(t["exp_alerts"] for t in checks), f"{name}: no firing case"
        assert any(all(not t["exp_alerts"] for t in c["alert_rule_test"]) for c in mine), f"{name}: no silent case"
        assert any(c["alert_rule_test"][0]["exp_alerts"] and not c["alert_rule_test"][-1]["exp_alerts"]
                   for c in mine), f"{name}: no resolving case"


@pytest.mark.slow
def test_generated_tests_pass(rendered: Path):
    result = _promtool_test(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("before, after, alert", [
    ("> 0.05", "> 0.06", "HighErrorRate"),                         # threshold moved past the firing case
    ("> 10", "> 30", "HighResponseTime"),
    ("> 7730941132", "> 9999999999", "HighMemoryUsage"),
    ("humanizePercentage", "humanize", "HighErrorRate"),           # description no longer as predicted
    ("for: 10m", "for: 15m", "HighGPUUtilization"),
    ("or\n      absent(up{job=\"fugatto-audio-lab\"})", "", "ServiceDown"),  # the vanished-target case
])
def test_generated_tests_catch_a_broken_rule(rendered: Path, tmp_path: Path, before: str, after: str, alert: str):
    broken = tmp_path / "generated"
    shutil.copytree(rendered, broken)
    rules = broken / RULES
    text = rules.read_text()
    assert before in text, before
    rules.write_text(text.replace(before, after, 1))
    result = _promtool_test(broken)
    assert result.returncode != 0
    assert f"alertname: {alert}" in result.stdout + result.stderr

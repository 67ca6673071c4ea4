"""Every lint finding points at a node the spec file really has, and routing suggestions follow the tree."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import Diagnostic
from stackgen.pipeline import lint, render_stack
from stackgen.resolve import load_stack

from .conftest import REPO, SPEC_TEXT, errors, mutate, replace_once, with_raw_alert, write_spec

THREE_SERVICES = REPO / "examples" / "three-services" / "stack.yaml"
PAYMENTS_ROUTE = """      - matchers: ['team="payments"']
        receiver: payments
        routes:
          - matchers: ['severity="critical"']
            receiver: payments-pager
"""
WARNING_ROUTE = """      - matchers: ['severity="warning"']
        receiver: warning-alerts
"""
_PART = re.compile(r'\.?([A-Za-z0-9_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _parts(path: str) -> list[str | int]:
    """The inverse of `format_path`: `services[0].labels["a.b"]` -> ['services', 0, 'labels', 'a.b']."""
    out: list[str | int] = []
    at = 0
    while at < len(path):
        m = _PART.match(path, at)
        assert m and m.end() > at, f"cannot read spec path {path!r} at {at}"
        key, index, quoted = m.groups()
        out.append(key if key is not None else int(index) if index is not None else json.loads(quoted))
        at = m.end()
    return out


def _resolves(data: Any, path: str) -> bool:
    node = data
    for part in _parts(path):
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _lint_file(spec: Path, edit=None) -> tuple[list[Diagnostic], Any]:
    stack = load_stack(spec)
    artifacts = render_stack(stack)
    if edit is not None:
        artifacts = edit(artifacts)
    return lint(stack, artifacts, spec.parent), yaml.safe_load(spec.read_text(encoding="utf-8"))


def _lint_text(tmp_path: Path, text: str) -> tuple[list[Diagnostic], Any]:
    spec = write_spec(tmp_path, text)
    shutil.copytree(THREE_SERVICES.parent / "openapi", tmp_path / "openapi", dirs_exist_ok=True)
    return _lint_file(spec)


def _slo_name_broken(artifacts):
    rules = "prometheus/rules/fugatto-audio-lab-slos.yml"
    broken = mutate(artifacts, rules, "alert: GenerateLatencySlowBurn", "alert: generate_latency_slow_burn")
    return mutate(broken, rules, "{{ $value | humanizePercentage }}", "a high rate")


CRAFTED = {
    "unrouted severity (SLO tiers included)": (SPEC_TEXT, WARNING_ROUTE, ""),
    "unrouted team": (THREE_SERVICES.read_text(encoding="utf-8"), PAYMENTS_ROUTE, ""),
    "untemplated description": (SPEC_TEXT, "Always firing (value {{ $value }}).", "Always firing."),
    "unused receiver": (SPEC_TEXT, "  receivers:\n", "  receivers:\n    - name: spare\n      webhook:\n"
                                                      "        - url: http://webhook-service:8080/spare\n"),
    "inhibition label": (SPEC_TEXT, "      equal: [service]", "      equal: [service, model]"),
}


def _assert_real_paths(findings: list[Diagnostic], data: Any) -> None:
    pathless = [f for f in findings if f.file.endswith(".yaml") and not f.path and f.line]
    assert not pathless, pathless
    unreal = [f"{f.path} [{f.rule}]" for f in findings if f.path and not _resolves(data, f.path)]
    assert not unreal, f"findings point at spec paths the file does not have: {unreal}"


@pytest.mark.parametrize("spec", [REPO / "stack.yaml", *sorted(REPO.glob("examples/*/stack.yaml"))],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_findings_of_shipped_specs_point_at_real_paths(spec: Path):
    _assert_real_paths(*_lint_file(spec))


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_findings_of_crafted_specs_point_at_real_paths(case: str, tmp_path: Path):
    text, old, new = CRAFTED[case]
    findings, data = _lint_text(tmp_path, replace_once(text, old, new))
    assert findings, "the crafted spec must trigger findings"
    _assert_real_paths(findings, data)


def test_findings_of_raw_and_slo_alerts_point_at_real_paths(tmp_path: Path):
    findings, data = _lint_text(tmp_path, with_raw_alert("fugatto_queue_depth > 100", "QueueBacklog", "info"))
    assert "alert-unrouted-severity" in {f.rule for f in errors(findings)}
    _assert_real_paths(findings, data)
    findings, data = _lint_text(tmp_path, with_raw_alert("fugatto_no_such_metric > 1", "NoSuchMetric"))
    assert "promql-unknown-metric" in {f.rule for f in findings}
    _assert_real_paths(findings, data)
    findings, data = _lint_file(REPO / "stack.yaml", _slo_name_broken)
    by_rule = {f.rule: f for f in errors(findings)}
    assert by_rule["alert-name-case"].path == "services[0].slos[1].name"
    assert {f.path for f in errors(findings, "alert-description-untemplated")} == {
        "services[0].slos[0].alerting", "services[0].slos[1].alerting"}
    _assert_real_paths(findings, data)


def test_slo_tier_severity_points_at_the_slo_alerting(tmp_path: Path):
    findings, _ = _lint_text(tmp_path, replace_once(SPEC_TEXT, WARNING_ROUTE, ""))
    slo = [f for f in errors(findings, "alert-unrouted-severity") if ".slos[" in f.path]
    assert slo and {f.path for f in slo} == {"services[0].slos[0].alerting", "services[0].slos[1].alerting"}
    assert all('severity=\\"warning\\"' in f.fix or 'severity="warning"' in f.fix for f in slo)


def test_unrouted_team_suggests_a_team_route(tmp_path: Path):
    text = replace_once(THREE_SERVICES.read_text(encoding="utf-8"), PAYMENTS_ROUTE, "")
    findings, _ = _lint_text(tmp_path, text)
    found = errors(findings, "alert-unrouted-severity")
    assert found and all("(team payments, severity " in f.message for f in found)
    assert all("matchers ['team=\"payments\"']" in f.fix for f in found)
    assert not any("severity=" in f.fix for f in found)

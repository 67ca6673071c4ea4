"""Recording rules a service declares: checked names and result labels, rendered beside the alerts, and
read by alerts, panels and lint as if they were contract metrics (tests/golden/alert-kinds uses one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import ERROR, SpecError
from stackgen.pipeline import lint, render_stack
from stackgen.resolve import load_stack
from stackgen.targets.schema import schema

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests/golden/alert-kinds/stack.yaml"
RECORD = "instance_route:http_requests:rate5m"


def _data() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _problems(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_stack(_write(tmp_path, data))
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_recording_rules_are_in_the_json_schema_with_descriptions():
    rule = schema()["$defs"]["RecordingRule"]
    assert rule["required"] == ["record", "expr", "help"]
    for field in ("record", "expr", "type", "labels"):
        assert rule["properties"][field]["description"], field
    service = schema()["$defs"]["Service"]["properties"]["recording_rules"]
    assert "like contract metrics" in service["description"]


def test_the_rule_is_rendered_beside_the_alerts_that_read_it():
    artifacts = {a.path: a.content for a in render_stack(load_stack(SPEC))}
    groups = yaml.safe_load(artifacts["prometheus/rules/api-alerts.yml"])["groups"]
    assert [g["name"] for g in groups] == ["api.alerts", "api.recording"]
    assert groups[1]["rules"] == [{"record": RECORD,
                                   "expr": "sum by (job, instance, route) (rate(http_requests_total[5m]))"}]
    hot = next(r for r in groups[0]["rules"] if r["alert"] == "RouteHot")
    assert hot["expr"] == f'{RECORD}{{job="api",route="/api"}} > 200'
    # The PrometheusRule carries the group too.
    assert "api.recording" in artifacts["k8s/base/api-prometheusrule.yaml"]


def test_a_service_with_only_recording_rules_gets_a_rule_file(tmp_path):
    data = _data()
    data["services"][0]["alerts"] = []
    stack = load_stack(_write(tmp_path, data))
    artifacts = {a.path: a.content for a in render_stack(stack)}
    assert "api.recording" in artifacts["prometheus/rules/api-alerts.yml"]
    assert "rules/api-alerts.yml" in artifacts["prometheus/prometheus.yml"]


@pytest.mark.parametrize("name", ["http_requests_rate5m", "job:http_requests", "job::rate5m", "1job:x:rate",
                                  "job:x:rate-5m"])
def test_names_follow_level_metric_operations(tmp_path, name):
    data = _data()
    data["services"][0]["recording_rules"][0]["record"] = name
    assert any(p.startswith("services[0].recording_rules[0].record: ") and "level:metric:operations" in p
               for p in _problems(tmp_path, data))


def test_a_result_without_job_is_an_error(tmp_path):
    data = _data()
    rule = data["services"][0]["recording_rules"][0]
    rule["expr"] = "sum by (instance, route) (rate(http_requests_total[5m]))"
    assert ("services[0].recording_rules[0].expr: the result drops the `job` label, which every generated selector "
            "matches: keep it (e.g. sum by (job, ...)); result labels: instance, route") in _problems(tmp_path, data)


def test_a_declared_label_must_be_in_the_result(tmp_path):
    data = _data()
    data["services"][0]["recording_rules"][0]["labels"] = ["route", "code"]
    assert ("services[0].recording_rules[0].labels[1]: label 'code' is not in the result of the expression "
            "(result labels: instance, job, route)") in _problems(tmp_path, data)


def test_names_are_unique_and_not_a_contract_metric(tmp_path):
    data = _data()
    rules = data["services"][0]["recording_rules"]
    rules.append(dict(rules[0]))
    assert f"services[0].recording_rules[1].record: duplicate recording rule name {RECORD!r}" in _problems(tmp_path, data)


def test_bad_promql_is_located(tmp_path):
    data = _data()
    data["services"][0]["recording_rules"][0]["expr"] = "sum by (job (rate(x[5m]))"
    assert any(p.startswith("services[0].recording_rules[0].expr: ") and "not valid PromQL" in p
               for p in _problems(tmp_path, data))


def test_alerts_read_the_recorded_series_type_and_labels(tmp_path):
    data = _data()
    alerts = data["services"][0]["alerts"]
    alerts[0]["gauge"]["matchers"] = ['code="500"']  # a label the recorded series does not keep
    errors_ = [
        "an alert of kind error_ratio needs a counter, and 'instance_route:http_requests:rate5m' is a gauge",
    ]
    ratio = next(a for a in alerts if a["name"] == "ApiErrors")
    ratio["total"] = {"metric": RECORD}
    problems = _problems(tmp_path, data)
    assert (f"services[0].alerts[0].gauge.matchers[0]: label 'code' is not declared on {RECORD!r} "
            "(labels: route)") in problems
    j = alerts.index(ratio)
    assert f"services[0].alerts[{j}].total.metric: {errors_[0]}" in problems


def test_lint_knows_the_labels_of_a_recorded_series(tmp_path):
    data = _data()
    rule = data["services"][0]["recording_rules"][0]
    rule["expr"] = "sum by (job, route) (rate(http_requests_total[5m]))"  # no instance: the panel filters by it
    stack = load_stack(_write(tmp_path, data))
    findings = [f for f in lint(stack, render_stack(stack), tmp_path) if f.severity == ERROR]
    assert [(f.rule, f.message) for f in findings] == [(
        "promql-unknown-label",
        f"panel 'Requests by route (recorded)' query 1 matches label 'instance' on {RECORD}, which has no such "
        "label (labels: job, route)")]

"""The kinds absent, rate_threshold, predict_linear and gauge_ratio, and min_rate on error_ratio and
latency_quantile: their PromQL, their contract checks, and generated promtool tests that pass on the
rules and fail when a rule is wrong (tests/golden/alert-kinds is the spec)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import load_stack
from stackgen.runtime.drill import plans
from stackgen.targets.schema import schema as spec_schema
from tests.alert_scenarios import only_checking, scenarios

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests/golden/alert-kinds/stack.yaml"
RULES = "prometheus/rules/api-alerts.yml"
TESTS = "prometheus/tests/api-alerts.test.yml"
NEW_KINDS = {"absent": "AbsentAlert", "rate_threshold": "RateThresholdAlert", "predict_linear": "PredictLinearAlert",
             "gauge_ratio": "GaugeRatioAlert"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kinds") / "generated"
    write_tree(out, render_stack(load_stack(SPEC)))
    return out


def _rules(out: Path) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in yaml.safe_load((out / RULES).read_text())["groups"][0]["rules"]}


def _cases(out: Path, alert: str) -> list[dict[str, Any]]:
    return [c for c in scenarios(out, TESTS, RULES) if c["alert_rule_test"][0]["alertname"] == alert]


def test_the_new_kinds_and_min_rate_are_in_the_json_schema_with_descriptions():
    defs = spec_schema()["$defs"]
    for kind, cls in NEW_KINDS.items():
        assert defs[cls]["properties"]["kind"]["const"] == kind
        assert defs[cls].get("description"), cls
    for cls in ("ErrorRatioAlert", "LatencyQuantileAlert"):
        assert "minimum traffic" in defs[cls]["properties"]["min_rate"]["description"]
    assert defs["PredictLinearAlert"]["properties"]["horizon"]["description"]
    assert defs["AbsentAlert"]["properties"]["window"]["description"]


def test_expressions(rendered: Path):
    rules = _rules(rendered)
    job = 'job="api"'
    # min_rate: `and` keeps the ratio as $value, and the guard aggregates like the ratio does.
    assert rules["ApiErrors"]["expr"].endswith(
        f"> 0.05\nand\nsum by (job) (rate(http_requests_total{{{job}}}[5m])) > 1")
    assert rules["ApiSlow"]["expr"].endswith(
        f") > 1\nand\nsum by (job, route) (rate(http_request_duration_seconds_count{{{job}}}[5m])) > 0.2")
    # A histogram is absent when its _count is; the family name has no samples.
    assert rules["RequestMetricsMissing"]["expr"] == \
        f'absent_over_time(http_request_duration_seconds_count{{{job},route="/api"}}[10m])'
    assert rules["QueueDepthMissing"]["expr"] == f"absent(queue_depth{{{job}}})"
    assert rules["NoTraffic"]["expr"] == f'sum by (job) (rate(http_requests_total{{{job},route="/api"}}[10m])) <= 0'
    assert rules["RequestFlood"]["expr"] == f"sum by (job, route) (rate(http_requests_total{{{job}}}[5m])) > 500"
    assert rules["DiskFillingUp"]["expr"] == f"predict_linear(disk_free_bytes{{{job}}}[6h], 14400) < 0"
    assert rules["QueueNearlyFull"]["expr"] == (f"sum by (job, instance) (queue_depth{{{job}}})\n/\n"
                                                f"sum by (job, instance) (queue_capacity{{{job}}})\n> 0.9")


def test_without_min_rate_the_expression_is_unchanged():
    data = yaml.safe_load(SPEC.read_text())
    alerts = {a["name"]: a for a in data["services"][0]["alerts"]}
    assert "and" not in _expr_without_min_rate(alerts["ApiErrors"])


def _expr_without_min_rate(alert: dict[str, Any]) -> str:
    from stackgen.model.promql import alert_expr
    from stackgen.spec.alerts import ErrorRatioAlert

    return alert_expr(ErrorRatioAlert.model_validate({k: v for k, v in alert.items() if k != "min_rate"}), "api")


@pytest.mark.parametrize("alert", ["ApiErrors", "ApiSlow"])
def test_min_rate_adds_a_case_with_the_firing_shape_on_sparse_traffic(rendered: Path, alert: str):
    cases = _cases(rendered, alert)
    fires, _, _, sparse = cases
    assert all(not t["exp_alerts"] for t in sparse["alert_rule_test"])

    def per_step(case: dict[str, Any]) -> dict[str, float]:
        # The per-step increment of each series: "0+55x12" -> 55.
        return {s["series"]: float(s["values"].split()[0].split("+")[1].split("x")[0]) for s in case["input_series"]}

    busy, quiet = per_step(fires), per_step(sparse)
    assert busy.keys() == quiet.keys()
    # The same ratio (or bucket shape) of series, only scaled down below min_rate.
    ratios = {busy[k] / quiet[k] for k in busy if busy[k]}
    assert len({round(r, 6) for r in ratios}) == 1 and ratios.pop() > 1


@pytest.mark.parametrize("kind", sorted(NEW_KINDS))
def test_every_new_kind_has_firing_silent_and_resolving_cases(rendered: Path, kind: str):
    data = yaml.safe_load(SPEC.read_text())
    names = [a["name"] for a in data["services"][0]["alerts"] if a["kind"] == kind]
    assert names
    for name in names:
        mine = _cases(rendered, name)
        assert any(t["exp_alerts"] for c in mine for t in c["alert_rule_test"]), f"{name}: no firing case"
        assert any(all(not t["exp_alerts"] for t in c["alert_rule_test"]) for c in mine), f"{name}: no silent case"
        assert any(c["alert_rule_test"][0]["exp_alerts"] and not c["alert_rule_test"][-1]["exp_alerts"]
                   for c in mine), f"{name}: no resolving case"


def _promtool(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", "test", "rules", Path(TESTS).name], cwd=out / "prometheus/tests",
                          capture_output=True, text=True)


@pytest.mark.slow
def test_generated_tests_pass(rendered: Path):
    result = _promtool(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("before, after, alert", [
    # min_rate: without the guard the sparse case fires; with a guard above the busy case it never does.
    ("\n      and\n      sum by (job) (rate(http_requests_total{job=\"api\"}[5m])) > 1", "", "ApiErrors"),
    ("[5m])) > 1\n", "[5m])) > 100\n", "ApiErrors"),
    ("\n      and\n      sum by (job, route) (rate(http_request_duration_seconds_count{job=\"api\"}[5m])) > 0.2", "",
     "ApiSlow"),
    ("[5m])) > 0.2\n", "[5m])) > 1000\n", "ApiSlow"),
    ('absent_over_time(http_request_duration_seconds_count{job="api",route="/api"}[10m])',
     'absent_over_time(http_request_duration_seconds_sum{job="api",route="/api"}[10m])', "RequestMetricsMissing"),
    ('[10m])\n    for: 5m', '[1m])\n    for: 5m', "RequestMetricsMissing"),  # a window shorter than asked
    ("absent(queue_depth{job=\"api\"})", "absent(queue_depth{job=\"other\"})", "QueueDepthMissing"),
    ("[10m])) <= 0", "[10m])) < 0", "NoTraffic"),
    ("[5m])) > 500", "[5m])) > 600", "RequestFlood"),
    ("[6h], 14400) < 0", "[6h], 60) < 0", "DiskFillingUp"),          # a horizon too short to predict
    ("[6h], 14400) < 0", "[6h], 14400) < -500", "DiskFillingUp"),
    ("> 0.9", "> 1", "QueueNearlyFull"),
    ("sum by (job, instance) (queue_depth", "sum by (job) (queue_depth", "QueueNearlyFull"),
])
def test_generated_tests_catch_a_broken_rule(rendered: Path, tmp_path: Path, before: str, after: str, alert: str):
    broken = tmp_path / "generated"
    shutil.copytree(rendered, broken)
    rules = broken / RULES
    text = rules.read_text()
    assert text.count(before) == 1, before
    rules.write_text(text.replace(before, after))
    only = only_checking(broken / TESTS, alert)
    result = subprocess.run(["promtool", "test", "rules", only.name], cwd=only.parent, capture_output=True, text=True)
    assert result.returncode != 0
    assert f"alertname: {alert}" in result.stdout + result.stderr


def _problems(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_stack(path)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def _alert(data: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    alerts = data["services"][0]["alerts"]
    j = next(j for j, a in enumerate(alerts) if a["name"] == name)
    return j, alerts[j]


@pytest.mark.parametrize(("name", "field", "metric", "message"), [
    ("NoTraffic", "counter", "queue_depth", "an alert of kind rate_threshold needs a counter, and 'queue_depth' is a gauge"),
    ("DiskFillingUp", "gauge", "http_requests_total",
     "an alert of kind predict_linear needs a gauge, and 'http_requests_total' is a counter"),
    ("QueueNearlyFull", "denominator", "http_requests_total",
     "an alert of kind gauge_ratio needs a gauge, and 'http_requests_total' is a counter"),
])
def test_selectors_of_the_new_kinds_are_checked_against_the_contract(tmp_path, name, field, metric, message):
    data = yaml.safe_load(SPEC.read_text())
    j, alert = _alert(data, name)
    alert[field] = {"metric": metric}
    assert f"services[0].alerts[{j}].{field}.metric: {message}" in _problems(tmp_path, data)


def test_an_absent_alert_names_only_labels_its_equality_matchers_give(tmp_path):
    data = yaml.safe_load(SPEC.read_text())
    j, alert = _alert(data, "RequestMetricsMissing")
    alert["series"]["matchers"] = ['route=~"/api.*"']  # absent() cannot know which route was missing
    assert (f"services[0].alerts[{j}].description: $labels.route is not a label of this alert's result "
            "(available: job)") in _problems(tmp_path, data)


@pytest.mark.parametrize(("name", "field", "value", "message"), [
    ("ApiErrors", "min_rate", 0, "Input should be greater than 0"),
    ("NoTraffic", "threshold", -1, "Input should be greater than or equal to 0"),
    ("DiskFillingUp", "horizon", "0s", ""),
])
def test_bad_values_are_located(tmp_path, name, field, value, message):
    data = copy.deepcopy(yaml.safe_load(SPEC.read_text()))
    j, alert = _alert(data, name)
    alert[field] = value
    problems = [p for p in _problems(tmp_path, data) if p.startswith(f"services[0].alerts[{j}].{field}:")]
    assert problems and message in problems[0]


def test_the_drill_skips_the_kinds_it_cannot_fault_with_a_reason():
    todo, skipped = plans(load_stack(SPEC))
    assert {p.alert for p in todo} == {"ApiErrors", "ApiSlow"}
    for name in ("RequestMetricsMissing", "QueueDepthMissing", "NoTraffic", "RequestFlood", "DiskFillingUp",
                 "QueueNearlyFull"):
        assert skipped[name], name
    assert "stop" in skipped["NoTraffic"] or "traffic" in skipped["NoTraffic"]

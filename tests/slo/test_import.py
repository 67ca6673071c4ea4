"""Issue 23 (g): `stackgen import sloth|openslo`. Sloth's own published examples (vendored in
fixtures/sloth, Apache-2.0) import, refuse what cannot be mapped with the file and SLO, and the rules
rendered from the import record the same series as Sloth's published output under the same traffic
(one promtool test group loads both rule files)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import with_slos

FIXTURES = Path(__file__).parent / "fixtures" / "sloth"
PROMTOOL = shutil.which("promtool")
RECORDS = [*(f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")),
           "slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days", "slo:current_burn_rate:ratio",
           "slo:period_burn_rate:ratio", "slo:period_error_budget_remaining:ratio"]


def _import(kind: str, *files: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["import", kind, *map(str, files)])
    return result.exit_code, result.stdout, result.stderr


def test_sloths_getting_started_imports() -> None:
    code, out, _ = _import("sloth", FIXTURES / "getting-started.yml", FIXTURES / "no-alerts.yml")
    assert code == 0
    services = yaml.safe_load(out)["services"]
    assert [s["name"] for s in services] == ["myservice", "myapp"]
    (slo,) = services[0]["slos"]
    assert slo["sli"] == {"kind": "availability",
                          "bad": {"metric": "http_request_duration_seconds", "matchers": ['code=~"(5..|429)"']},
                          "total": {"metric": "http_request_duration_seconds"}}
    assert slo["objective"] == 99.9 and slo["labels"] == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2"}
    # Sloth's one alert name for both tiers (told apart by sloth_severity), as Sloth writes it.
    assert slo["alerting"]["name"] == "MyServiceHighErrorRate" and "name" not in slo["alerting"]["page"]
    assert "page_alert severity 'pageteam' is no stackgen severity" in out
    assert services[1]["slos"][0]["alerting"]["page"] == {"enabled": False}


def test_what_cannot_be_mapped_is_refused_with_its_place(tmp_path: Path) -> None:
    # Sloth's raw error-ratio SLI has no total to weigh the period by: refused, located.
    spec = yaml.safe_load((FIXTURES / "home-wifi.yml").read_text(encoding="utf-8"))
    spec["slos"][1]["sli"] = {"raw": {"error_ratio_query": "1 - avg_over_time(up[{{.window}}])"}}
    (tmp_path / "raw.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, out, err = _import("sloth", tmp_path / "raw.yml")
    assert code == 2 and out == ""
    assert "raw.yml: slos[1] (risk-wifi-client-satisfaction): a 'raw' SLI cannot be mapped" in err
    spec["slos"][1]["sli"] = {"events": {"error_query": "sum(rate(x[{{.window}}])", "total_query": "sum(x)"}}
    (tmp_path / "raw.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, out, err = _import("sloth", tmp_path / "raw.yml")
    assert code == 2 and "slos[1] (risk-wifi-client-satisfaction) error_query: is not PromQL" in err


def test_sloths_raw_event_queries_import_as_a_raw_sli() -> None:
    """Sloth's home-wifi example counts events with subqueries: kept as written, as a raw SLI."""
    code, out, _ = _import("sloth", FIXTURES / "home-wifi.yml")
    assert code == 0
    (service,) = yaml.safe_load(out)["services"]
    sli = service["slos"][0]["sli"]
    assert sli == {"kind": "raw",
                   "error_query": "sum_over_time((count(unifipoller_client_satisfaction_ratio < 0.75))[{{.window}}:]) "
                                  "OR on() vector(0)",
                   "total_query": "sum_over_time((count(unifipoller_client_satisfaction_ratio))[{{.window}}:])"}
    assert "the metric contract must declare unifipoller_client_satisfaction_ratio" in out
    assert "kept as a raw SLI" in out


def _wifi_stack(make_stack, fragment: dict):
    data = with_slos(alerts=False)
    service = data["services"][0]
    service.update(name="home-wifi", slos=fragment["services"][0]["slos"],
                   metrics=[{"name": "unifipoller_client_satisfaction_ratio", "type": "gauge", "help": "satisfaction",
                             "labels": ["mac"]}])
    for key in ("dashboards", "logs", "openapi"):
        service.pop(key, None)
    return make_stack(data)


@pytest.mark.slow
def test_imported_raw_sli_records_sloths_ratio(make_stack, tmp_path: Path) -> None:
    """Sloth's rule for a raw events SLI is (error_query) / (total_query); stackgen's record gives the same
    number with traffic, and no sample (not NaN) without it."""
    code, out, _ = _import("sloth", FIXTURES / "home-wifi.yml")
    assert code == 0
    write_tree(tmp_path / "g", render_stack(_wifi_stack(make_stack, yaml.safe_load(out))))
    prometheus = tmp_path / "g" / "prometheus"
    spec = yaml.safe_load((FIXTURES / "home-wifi.yml").read_text(encoding="utf-8"))
    events = spec["slos"][0]["sli"]["events"]
    sloth = f"({events['error_query']}) / ({events['total_query']})".replace("{{.window}}", "1h")
    ours = 'slo:sli_error:ratio_rate1h{sloth_slo="good-wifi-client-satisfaction"}'
    series = 'unifipoller_client_satisfaction_ratio{{job="home-wifi", mac="{}"}}'
    document = {"rule_files": ["../rules/home-wifi-slos.yml"], "evaluation_interval": "1m",
                "tests": [{"name": "raw SLI", "interval": "1m",
                           "input_series": [{"series": series.format("a"), "values": "0.9x180"},
                                            {"series": series.format("b"), "values": "0.9x60 0.5x60 0.9x60"},
                                            {"series": series.format("c"), "values": "0.7x180"}],
                           "promql_expr_test": [
                               {"expr": f"count(abs({ours} - on() ({sloth})) < 1e-9)", "eval_time": t,
                                "exp_samples": [{"labels": "{}", "value": 1}]} for t in ("1h", "90m", "3h")]
                           + [{"expr": "count(slo:sli_error:ratio_rate5m)", "eval_time": "4h", "exp_samples": []}]}]}
    (prometheus / "tests" / "raw.test.yml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", "raw.test.yml"], cwd=prometheus / "tests",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_openslo_v1_imports_and_v1alpha_is_refused(tmp_path: Path) -> None:
    documents = [
        {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": "errors"}, "spec": {"ratioMetric": {
            "bad": {"metricSource": {"type": "Prometheus", "spec": {
                "query": 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))'}}},
            "total": {"metricSource": {"type": "Prometheus", "spec": {
                "query": 'sum(rate(http_requests_total{job="api"}[{{.window}}]))'}}}}}},
        {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "API availability"},
         "spec": {"service": "api", "indicatorRef": "errors", "budgetingMethod": "Occurrences",
                  "objectives": [{"target": 0.995}], "timeWindow": [{"duration": "28d", "isRolling": True}]}}]
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump_all(documents), encoding="utf-8")
    code, out, _ = _import("openslo", path)
    assert code == 0
    (slo,) = yaml.safe_load(out)["services"][0]["slos"]
    assert slo["name"] == "api-availability" and slo["objective"] == 99.5 and slo["period"] == "28d"
    assert slo["sli"]["bad"] == {"metric": "http_requests_total", "matchers": ['code=~"5.."']}
    alpha = tmp_path / "alpha.yaml"
    alpha.write_text((FIXTURES.parent / "openslo-v1alpha.yml").read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = _import("openslo", alpha)
    assert code == 2 and "is not openslo/v1" in err


def _stack_for(make_stack, fragment: dict):
    data = with_slos(alerts=False)
    service = data["services"][0]
    service.update(name="myservice", slos=fragment["services"][0]["slos"],
                   metrics=[{"name": "http_request_duration_seconds", "type": "histogram", "help": "requests",
                             "labels": ["code"], "buckets": [0.1, 1]}])
    for key in ("dashboards", "logs", "openapi"):
        service.pop(key, None)
    return make_stack(data)


@pytest.mark.slow
def test_imported_rules_record_what_sloths_published_rules_record(make_stack, tmp_path: Path) -> None:
    code, out, _ = _import("sloth", FIXTURES / "getting-started.yml")
    assert code == 0
    write_tree(tmp_path / "g", render_stack(_stack_for(make_stack, yaml.safe_load(out))))
    prometheus = tmp_path / "g" / "prometheus"
    # Sloth's output as published, its records renamed slo: -> sloth: so both sets live side by side.
    published = (FIXTURES / "getting-started.rules.yml").read_text(encoding="utf-8")
    (prometheus / "rules" / "sloth.yml").write_text(re.sub(r"(?<!\w)slo:", "sloth:", published), encoding="utf-8")
    # 2h at 0.1% errors, then 1h at 5% (above the page tier's 1.44%): both tools' page alerts fire.
    series = 'http_request_duration_seconds_count{{job="myservice", code="{code}"}}'
    ok, bad = "0+999x120 119880+950x60", "0+1x120 120+50x60"
    same = [{"expr": f'count(abs({r.replace("slo:", "sloth:")} - ignoring(cmd) {r}) < 1e-9)',
             "eval_time": "3h", "exp_samples": [{"labels": "{}", "value": 1}]} for r in RECORDS]
    # Both fire under Sloth's one name; stackgen's carry the `service` routing label, Sloth's do not.
    firing = 'count(ALERTS{{alertname="MyServiceHighErrorRate", sloth_severity="page", alertstate="firing", service="{}"}})'
    alerts = [{"expr": f'{firing.format("")} == {firing.format("myservice")}',
               "eval_time": "3h", "exp_samples": [{"labels": "{}", "value": 1}]}]
    # Sloth's period records read its SLI records from another group: without an order, promtool evaluates
    # the groups in a random order, and at a step where meta runs first they lag one step (1 run in 6 failed).
    order = [group["name"] for group in yaml.safe_load(published)["groups"]]
    document = {"rule_files": ["../rules/sloth.yml", "../rules/myservice-slos.yml"], "evaluation_interval": "1m",
                "group_eval_order": order,
                "tests": [{"name": "Sloth's getting-started and its stackgen import record the same series",
                           "interval": "1m",
                           "input_series": [{"series": series.format(code="200"), "values": ok},
                                            {"series": series.format(code="500"), "values": bad}],
                           "promql_expr_test": same + alerts}]}
    (prometheus / "tests" / "sloth.test.yml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", "sloth.test.yml"], cwd=prometheus / "tests",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # And it can fail: a different objective no longer records Sloth's budget.
    ours = prometheus / "rules" / "myservice-slos.yml"
    ours.write_text(ours.read_text(encoding="utf-8").replace("vector(0.001)", "vector(0.002)"), encoding="utf-8")
    broken = subprocess.run([PROMTOOL, "test", "rules", "sloth.test.yml"], cwd=prometheus / "tests",
                            capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0 and "slo:error_budget:ratio" in broken.stdout + broken.stderr

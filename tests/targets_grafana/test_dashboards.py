"""The generated Fugatto operations dashboard, default dashboards, provisioning and alert links."""

from __future__ import annotations

import json

import yaml

from stackgen.model import names
from stackgen.targets.grafana.panel_ids import panel_ids

DASHBOARD = "grafana/dashboards/fugatto-audio-lab.json"


def _dashboard(artifacts) -> dict:
    return json.loads(artifacts[DASHBOARD])


def _panel(dashboard: dict, title: str) -> dict:
    return next(p for p in dashboard["panels"] if p["title"] == title)


def test_design_panels_come_first_in_current_panel_types(artifacts):
    dashboard = _dashboard(artifacts)
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles[:4] == ["Request Rate", "Response Time", "Audio Generation Rate", "System Resources"]
    for extra in (
        "HTTP 5xx Error Ratio",
        "Generation Duration p95",
        "Generations, Success vs Failure",
        "GPU Memory",
        "Active Models",
        "Model Load Time p95",
        "Queue Depth and Batch Size",
        "Error log lines",
    ):
        assert extra in titles
    types = {p["title"]: p["type"] for p in dashboard["panels"]}
    assert types["Request Rate"] == "timeseries" and types["Audio Generation Rate"] == "stat"
    assert types["Error log lines"] == "logs"
    assert not {"graph", "singlestat"} & set(types.values())
    assert dashboard["schemaVersion"] == 40 and dashboard["uid"] == "fugatto-audio-lab"
    # ids come from the panel's identity (uid + title), not its position: see test_panel_ids.py
    assert [p["id"] for p in dashboard["panels"]] == panel_ids(dashboard["uid"], titles)


def test_queries_units_and_legends(artifacts):
    dashboard = _dashboard(artifacts)
    rate = _panel(dashboard, "Request Rate")
    assert rate["targets"][0]["expr"] == (
        "sum by (method, endpoint) (rate(fugatto_requests_total"
        '{job="fugatto-audio-lab",instance=~"$instance"}[5m]))'
    )
    assert rate["targets"][0]["legendFormat"] == "{{method}} {{endpoint}}"
    assert rate["fieldConfig"]["defaults"]["unit"] == "reqps"
    latency = _panel(dashboard, "Response Time")
    assert [t["legendFormat"] for t in latency["targets"]] == ["p95", "p50"]
    assert latency["targets"][0]["expr"].startswith(
        "histogram_quantile(0.95, sum by (le) (rate(fugatto_request_duration_seconds_bucket{"
    )
    assert latency["fieldConfig"]["defaults"]["unit"] == "s"
    resources = _panel(dashboard, "System Resources")
    units = {
        o["matcher"]["options"]: o["properties"][0]["value"] for o in resources["fieldConfig"]["overrides"]
    }
    assert units == {"A": "gbytes", "B": "percent"}
    assert _panel(dashboard, "HTTP 5xx Error Ratio")["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert _panel(dashboard, "GPU Memory")["targets"][0]["legendFormat"] == "{{instance}} {{gpu}}"
    stat = _panel(dashboard, "Audio Generation Rate")
    assert stat["targets"][0]["expr"].startswith("sum(rate(fugatto_audio_generations_total{")
    assert stat["targets"][0]["instant"] is True


def test_variables_and_runbook_links(artifacts):
    dashboard = _dashboard(artifacts)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["current"]["value"] == names.PROMETHEUS_DATASOURCE_UID
    assert variables["instance"]["definition"] == 'label_values(up{job="fugatto-audio-lab"}, instance)'
    assert variables["instance"]["includeAll"] and variables["instance"]["multi"]
    links = {link["title"]: link["url"] for link in dashboard["links"]}
    assert links["Runbook: HighErrorRate"] == "https://runbooks.example.com/fugatto/HighErrorRate"
    assert len(links) == 9  # 8 runbooks and the service's error-budget dashboard (it has SLOs)
    assert links["Error budget (SLOs)"] == "/d/fugatto-audio-lab-slos"
    panel_links = [link["url"] for link in _panel(dashboard, "Request Rate")["links"]]
    assert panel_links == ["https://runbooks.example.com/fugatto/HighErrorRate"]


def test_alerts_and_their_promtool_tests_link_to_the_dashboard(artifacts):
    url = "http://localhost:3000/d/fugatto-audio-lab"
    rules = yaml.safe_load(artifacts["prometheus/rules/fugatto-audio-lab-alerts.yml"])["groups"][0]["rules"]
    assert all(rule["annotations"]["dashboard_url"] == url for rule in rules)
    tests = yaml.safe_load(artifacts["prometheus/tests/fugatto-audio-lab-alerts.test.yml"])["tests"]
    expected = [a for case in tests for t in case["alert_rule_test"] for a in t["exp_alerts"]]
    assert expected and all(a["exp_annotations"]["dashboard_url"] == url for a in expected)


def test_grafana_url_from_spec_changes_dashboard_url(write_spec):
    from stackgen.pipeline import render_stack
    from stackgen.resolve import load_stack

    spec = write_spec(lambda d: d["grafana"].update(url="https://grafana.example.com/ops"))
    artifacts = {a.path: a.content for a in render_stack(load_stack(spec))}
    assert (
        "dashboard_url: https://grafana.example.com/ops/d/fugatto-audio-lab"
        in artifacts["prometheus/rules/fugatto-audio-lab-alerts.yml"]
    )


def test_provisioning(artifacts):
    sources = yaml.safe_load(artifacts[names.GRAFANA_DATASOURCES_FILE])["datasources"]
    by_uid = {s["uid"]: s for s in sources}
    assert set(by_uid) == {"prometheus", "elasticsearch-logs", "jaeger"}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090" and by_uid["prometheus"]["isDefault"]
    es = by_uid["elasticsearch-logs"]["jsonData"]
    assert (es["timeField"], es["logLevelField"], es["logMessageField"]) == ("@timestamp", "level", "message")
    trace_to_logs = by_uid["jaeger"]["jsonData"]["tracesToLogsV2"]
    assert trace_to_logs["datasourceUid"] == "elasticsearch-logs"
    assert trace_to_logs["query"] == 'trace_id:"${__trace.traceId}"'
    providers = yaml.safe_load(artifacts[names.GRAFANA_DASHBOARD_PROVIDERS_FILE])["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"


def _default_dashboard(write_spec) -> tuple[dict, dict[str, str]]:
    """The fugatto dashboard rendered with its panels removed, and every artifact of that render."""
    from stackgen.pipeline import render_stack
    from stackgen.resolve import load_stack

    def strip(d):
        del d["services"][0]["dashboards"]

    artifacts = {a.path: a.content for a in render_stack(load_stack(write_spec(strip)))}
    return json.loads(artifacts[DASHBOARD]), artifacts


def test_service_without_panels_gets_a_default_dashboard(write_spec):
    dashboard, _ = _default_dashboard(write_spec)
    by_title = {p["title"]: p for p in dashboard["panels"]}
    rate = by_title["Requests per second by method, endpoint, status"]
    assert rate["targets"][0]["legendFormat"] == "{{method}} {{endpoint}} {{status}}"
    assert rate["description"] == "HTTP requests by method, route template and status code."
    assert by_title["Memory usage"]["fieldConfig"]["defaults"]["unit"] == "bytes"
    assert by_title["GPU memory usage"]["fieldConfig"]["defaults"]["unit"] == "bytes"
    assert by_title["Model load p50 / p95 / p99"]["fieldConfig"]["defaults"]["unit"] == "s"
    assert not [t for t in by_title if t.startswith("fugatto_")]  # no raw metric names as titles
    assert dashboard["title"] == "Fugatto Audio Lab text-to-audio inference service - Operations"


def test_default_dashboard_error_ratio_quantiles_heatmap_saturation_and_scrape_health(write_spec, stack):
    from stackgen.checks.grafana import check_dashboard

    dashboard, artifacts = _default_dashboard(write_spec)
    by_title = {p["title"]: p for p in dashboard["panels"]}
    ratio = by_title["Requests error ratio (status 5xx)"]
    assert ratio["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert ratio["targets"][0]["expr"] == (
        'sum(rate(fugatto_requests_total{job="fugatto-audio-lab",status=~"5..",instance=~"$instance"}[5m]))'
        '\n/\nsum(rate(fugatto_requests_total{job="fugatto-audio-lab",instance=~"$instance"}[5m]))'
    )
    latency = by_title["Request duration p50 / p95 / p99"]
    assert [t["legendFormat"] for t in latency["targets"]] == [
        "p50 {{method}} {{endpoint}}", "p95 {{method}} {{endpoint}}", "p99 {{method}} {{endpoint}}"
    ]
    assert latency["targets"][2]["expr"].startswith(
        "histogram_quantile(0.99, sum by (le, method, endpoint) (rate(fugatto_request_duration_seconds_bucket{"
    )
    heatmap = by_title["Request duration distribution"]
    assert heatmap["type"] == "heatmap" and heatmap["options"]["calculate"] is False
    assert heatmap["options"]["yAxis"]["unit"] == "s"
    assert heatmap["targets"][0]["format"] == "heatmap" and heatmap["targets"][0]["legendFormat"] == "{{le}}"
    assert heatmap["targets"][0]["expr"] == (
        'sum by (le) (rate(fugatto_request_duration_seconds_bucket{job="fugatto-audio-lab",instance=~"$instance"}[5m]))'
    )
    assert "thresholds" not in heatmap
    gpu = by_title["GPU utilization"]
    assert gpu["type"] == "gauge"
    assert (gpu["fieldConfig"]["defaults"]["min"], gpu["fieldConfig"]["defaults"]["max"]) == (0, 100)
    up = by_title["Scrape health (up)"]
    assert up["targets"][0]["expr"] == 'up{job="fugatto-audio-lab",instance=~"$instance"}'
    types = [p["type"] for p in dashboard["panels"]]
    assert types.count("heatmap") == 4  # one per histogram of the contract
    # every new panel passes the validator `stackgen check` runs on the rendered files
    known = {s for m in stack.spec.services[0].metrics for s in m.series_names()} | {"up"}
    provisioned = {s["uid"] for s in yaml.safe_load(artifacts[names.GRAFANA_DATASOURCES_FILE])["datasources"]}
    assert check_dashboard(dashboard, known, provisioned) == []


def test_error_log_panel_queries_the_service_at_its_error_level(artifacts):
    logs = _panel(_dashboard(artifacts), "Error log lines")
    assert logs["targets"][0]["query"] == '_index:fugatto-audio-lab-logs-* AND level:"ERROR"'
    assert logs["targets"][0]["queryType"] == "lucene"


def test_log_query_quotes_the_level():
    from stackgen.targets.grafana.dashboards import log_query

    assert log_query("api", "severity", 'E"R\\R') == '_index:api-logs-* AND severity:"E\\"R\\\\R"'


def test_render_is_deterministic(stack, artifacts):
    from stackgen.pipeline import render_stack

    again = {a.path: a.content for a in render_stack(stack)}
    assert again[DASHBOARD] == artifacts[DASHBOARD]
    assert artifacts[DASHBOARD].endswith("}\n") and json.loads(artifacts[DASHBOARD])["version"] == 0


def test_tracing_env_helper(stack):
    from stackgen.model.tracing_env import service_tracing_env

    env = service_tracing_env(stack.spec, stack.spec.services[0])
    assert env == {
        "TRACING_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.01",
        "OTEL_SERVICE_NAME": "fugatto-audio-lab",
    }
    assert stack.spec.grafana.image == "grafana/grafana:11.3.0"
    assert stack.spec.tracing.jaeger.image == "jaegertracing/all-in-one:1.62.0"
    assert stack.spec.logging.logstash.image.endswith(":8.15.3")

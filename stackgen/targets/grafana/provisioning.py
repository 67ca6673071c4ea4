"""Grafana: one operations dashboard per service, an error-budget dashboard per service with SLOs,
a stack overview with a row per service, plus datasource and dashboard-provider provisioning.

Datasources get fixed uids (model.names) so dashboards, the trace-to-logs link and alert annotations
can name them; the Elasticsearch datasource's fields come from the service's log schema.
"""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import json_artifact, yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.models import Spec
from stackgen.targets.grafana.builder import build
from stackgen.targets.grafana.dashboards import service_dashboard
from stackgen.targets.grafana.overview import overview_dashboard
from stackgen.targets.grafana.slo_dashboard import slo_dashboard


def render(stack: Stack) -> list[Artifact]:
    spec = stack.spec
    header = names.header(stack.spec_name)
    out = [
        yaml_artifact(names.GRAFANA_DATASOURCES_FILE, datasources(spec), header),
        yaml_artifact(names.GRAFANA_DASHBOARD_PROVIDERS_FILE, dashboard_providers(spec), header),
    ]
    for service in spec.services:
        if service.dashboards.enabled:
            out.append(
                json_artifact(names.dashboard_file(service.name), build(service_dashboard(spec, service)))
            )
        if stack.has_slo_dashboard(service):
            out.append(
                json_artifact(names.slo_dashboard_file(service.name), build(slo_dashboard(stack, service)))
            )
    out.append(json_artifact(names.OVERVIEW_DASHBOARD_FILE, build(overview_dashboard(stack))))
    return out


def _log_schema(spec: Spec):
    """The log schema the logs datasource reads: the first service that declares one."""
    return next((s.logs for s in spec.services if s.logs is not None), None)


def datasources(spec: Spec) -> dict[str, Any]:
    prom, logging, tracing = spec.prometheus, spec.logging, spec.tracing
    sources: list[dict[str, Any]] = [
        {
            "name": "Prometheus",
            "type": "prometheus",
            "uid": names.PROMETHEUS_DATASOURCE_UID,
            "access": "proxy",
            "url": f"http://{prom.host}:{prom.port}",
            "isDefault": True,
            "editable": False,
            "jsonData": {"timeInterval": str(prom.scrape_interval), "httpMethod": "POST"},
        }
    ]
    logs = _log_schema(spec)
    if logs is not None:
        es: dict[str, Any] = {
            "index": "*-logs-*",
            "timeField": "@timestamp",
            "logMessageField": logs.message_field,
            "logLevelField": logs.level_field,
            "interval": "Daily",
        }
        if logs.trace_id_field and tracing.enabled:
            es["dataLinks"] = [
                {
                    "field": logs.trace_id_field,
                    "datasourceUid": names.JAEGER_DATASOURCE_UID,
                    "url": "${__value.raw}",
                }
            ]
        sources.append(
            {
                "name": "Elasticsearch logs",
                "type": "elasticsearch",
                "uid": names.ELASTICSEARCH_DATASOURCE_UID,
                "access": "proxy",
                "url": logging.elasticsearch.url,
                "editable": False,
                "jsonData": es,
            }
        )
    if tracing.enabled:
        jaeger: dict[str, Any] = {
            "name": "Jaeger",
            "type": "jaeger",
            "uid": names.JAEGER_DATASOURCE_UID,
            "access": "proxy",
            "editable": False,
            "url": tracing.jaeger.url,
            "jsonData": {},
        }
        if logs is not None and logs.trace_id_field:
            jaeger["jsonData"]["tracesToLogsV2"] = {
                "datasourceUid": names.ELASTICSEARCH_DATASOURCE_UID,
                "customQuery": True,
                "query": f'{logs.trace_id_field}:"${{__trace.traceId}}"',
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "filterByTraceID": False,
                "filterBySpanID": False,
            }
        sources.append(jaeger)
    return {"apiVersion": 1, "datasources": sources}


def dashboard_providers(spec: Spec) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "stackgen",
                "orgId": 1,
                "folder": spec.grafana.folder,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": names.GRAFANA_DASHBOARDS_MOUNT, "foldersFromFilesStructure": False},
            }
        ],
    }


def provisioned_datasource_uids(spec: Spec) -> list[str]:
    return [d["uid"] for d in datasources(spec)["datasources"]]

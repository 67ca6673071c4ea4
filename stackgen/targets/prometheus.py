"""Prometheus: the server config (scrape jobs, rule files, alerting) and the rule files of each service.

`rule_file_groups` is the one list of every rule file and group a service gets; the rule files, the
`rule_files:` of prometheus.yml and the Kubernetes PrometheusRule (via `rule_groups_of`) all read it,
so a new rule family (e.g. SLO recording rules in `<service>-slos.yml`) is added there once.
"""

from __future__ import annotations

from typing import Any

from stackgen import conventions as names
from stackgen.artifact import Artifact
from stackgen.deployment import environment_alerts
from stackgen.promql import alert_expr
from stackgen.resolve import Stack
from stackgen.serialize import yaml_artifact
from stackgen.spec.alerts import Alert
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.targets.slo_rules import slo_rules


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    out = [yaml_artifact(names.PROMETHEUS_CONFIG, server_config(stack.spec), header)]
    for service in stack.spec.services:
        for path, groups in rule_file_groups(stack.spec, service).items():
            out.append(yaml_artifact(path, {"groups": groups}, header))
    return out


def rule_file_groups(spec: Spec, service: Service, env: Environment | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every rule file of the service (generated/ path -> its groups), files without rules left out.

    `env` applies an environment's alert threshold overrides (the Kubernetes overlays); None gives
    exactly what the rule files hold.
    """
    files = {
        names.alert_rules_file(service.name): (
            [{"name": names.alert_group(service.name),
              "rules": [alert_rule(service, a, spec) for a in environment_alerts(service, env)]}]
            if service.alerts else []
        ),
        names.slo_rules_file(service.name): (
            slo_rules(service, grafana_url=spec.grafana.url)["groups"] if service.slos else []
        ),
    }
    return {path: groups for path, groups in files.items() if groups}


def rule_groups_of(spec: Spec, service: Service, env: Environment | None = None) -> list[dict[str, Any]]:
    """All the service's rule groups, in rule-file order: what its PrometheusRule carries."""
    return [group for groups in rule_file_groups(spec, service, env).values() for group in groups]


def rule_files(spec: Spec) -> list[str]:
    """Rule files relative to prometheus.yml (Prometheus resolves them against the config's folder)."""
    prefix = "prometheus/"
    files = [path for s in spec.services for path in rule_file_groups(spec, s)]
    return sorted(f.removeprefix(prefix) for f in files)


def server_config(spec: Spec, host_of: dict[str, str] | None = None) -> dict[str, Any]:
    """prometheus.yml. `host_of` maps component/service names to addresses (the native runtime uses it)."""
    host_of = host_of or {}
    prom, am = spec.prometheus, spec.alertmanager

    def addr(name: str, default_host: str, port: int) -> str:
        return host_of.get(name, f"{default_host}:{port}")

    scrape = [
        {"job_name": "prometheus", "static_configs": [{"targets": [addr("prometheus", prom.host, prom.port)]}]},
        {"job_name": "alertmanager", "static_configs": [{"targets": [addr("alertmanager", am.host, am.port)]}]},
    ]
    for service in spec.services:
        job: dict[str, Any] = {
            "job_name": names.job_name(service.name),
            "metrics_path": service.metrics_path,
            "static_configs": [{
                "targets": [addr(service.name, service.host or service.name, service.ports.metrics)],
                "labels": {names.SERVICE_LABEL: service.name, names.TEAM_LABEL: service.team},
            }],
        }
        if service.scrape_interval:
            job["scrape_interval"] = str(service.scrape_interval)
        scrape.append(job)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": str(prom.scrape_interval),
            "scrape_timeout": str(prom.scrape_timeout),
            "evaluation_interval": str(prom.evaluation_interval),
        },
        "rule_files": rule_files(spec),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [addr("alertmanager", am.host, am.port)]}]}]},
        "scrape_configs": scrape,
    }
    if prom.external_labels:
        config["global"]["external_labels"] = dict(prom.external_labels)
    return config


def alert_labels(service: Service, alert: Alert) -> dict[str, str]:
    """Static labels of an alert: routing keys first, then the user's extras."""
    return {
        names.SEVERITY_LABEL: alert.severity,
        names.SERVICE_LABEL: service.name,
        names.TEAM_LABEL: service.team,
        **alert.labels,
    }


def alert_annotations(alert: Alert, service: Service, spec: Spec) -> dict[str, str]:
    """Annotations of an alert; the promtool tests predict exactly these, so both follow any change here.

    `dashboard_url` links the notification to the service's generated Grafana dashboard.
    """
    out = {"summary": alert.summary, "description": alert.description, "runbook_url": alert.runbook_url}
    if service.dashboards.enabled:
        out[names.DASHBOARD_URL_ANNOTATION] = names.dashboard_url(spec.grafana.url, service.name)
    return {**out, **alert.annotations}


def alert_rule(service: Service, alert: Alert, spec: Spec) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "alert": alert.name,
        "expr": alert_expr(alert, names.job_name(service.name)),
        "labels": alert_labels(service, alert),
        "annotations": alert_annotations(alert, service, spec),
    }
    if alert.for_:
        rule["for"] = str(alert.for_)
    return rule


def alert_rules(service: Service, spec: Spec) -> dict[str, Any]:
    """The alert rule file of the service (its content in rule_file_groups)."""
    return {"groups": rule_file_groups(spec, service).get(names.alert_rules_file(service.name), [])}

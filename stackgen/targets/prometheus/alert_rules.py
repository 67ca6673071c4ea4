"""The alert rules of a service: its typed alerts as Prometheus alerting rules, in one group."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.model.deploy import environment_alerts
from stackgen.model.promql import alert_labels, service_alert_expr
from stackgen.spec.alerts import Alert
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.recording import RecordingRule
from stackgen.spec.service import Service


def alert_groups(spec: Spec, service: Service, env: Environment | None = None) -> list[dict[str, Any]]:
    """The service's alert group and recording group (each only when it has rules), with `env`'s threshold
    overrides applied. Prometheus evaluates groups independently, so order is no dependency; the alert group
    stays first, where the environment overlays' patches and existing readers find it."""
    groups = []
    if service.alerts:
        groups.append({"name": names.alert_group(service.name),
                       "rules": [alert_rule(service, a, spec) for a in environment_alerts(service, env)]})
    if service.recording_rules:
        groups.append({"name": names.recording_group(service.name),
                       "rules": [recording_rule(r) for r in service.recording_rules]})
    return groups


def recording_rule(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.rule_labels:
        out["labels"] = dict(rule.rule_labels)
    return out


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
        "expr": service_alert_expr(service, alert),
        "labels": alert_labels(service, alert),
        "annotations": alert_annotations(alert, service, spec),
    }
    if alert.for_:
        rule["for"] = str(alert.for_)
    return rule

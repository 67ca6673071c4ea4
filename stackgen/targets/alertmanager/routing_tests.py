"""Routing tests generated from the route tree: every alert's label set, and each bare severity,
with the receivers it must reach. `stackgen check` runs them with amtool --verify.receivers."""

from __future__ import annotations

from typing import Any, get_args

from stackgen.model import names
from stackgen.model.promql import alert_labels
from stackgen.model.routing import receivers_for
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.types import Severity


def cases(stack: Stack) -> list[dict[str, Any]]:
    root = stack.spec.alertmanager.route
    out = []
    for service in stack.spec.services:
        for severity in get_args(Severity):
            labels = {names.SEVERITY_LABEL: severity, names.SERVICE_LABEL: service.name,
                      names.TEAM_LABEL: service.team}
            out.append({"name": f"{service.name} {severity}", "labels": labels,
                        "receivers": receivers_for(root, labels)})
        for alert in service.alerts:
            labels = {"alertname": alert.name, **alert_labels(service, alert)}
            out.append({"name": f"{service.name} {alert.name}", "labels": labels,
                        "receivers": receivers_for(root, labels)})
        for group in stack.slos_of(service):  # SLO alerts carry the same routing labels and go through the same tree
            for tier in group.tiers:
                labels = {"alertname": tier.alert, **tier.labels}
                out.append({"name": f"{service.name} {tier.alert}", "labels": labels,
                            "receivers": receivers_for(root, labels)})
    return out


def render(stack: Stack) -> list[Artifact]:
    return [yaml_artifact(names.ALERTMANAGER_ROUTE_TESTS, {"tests": cases(stack)}, names.header(stack.spec_name))]

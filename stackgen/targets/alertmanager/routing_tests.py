"""Routing tests generated from the route tree: every alert's label set, and each bare severity,
with the receivers it must reach. `stackgen check` runs them with amtool --verify.receivers.

`amtool config routes test` ignores time intervals: it proves which receivers an alert reaches when no
interval mutes it. A case whose notifying routes mute or are active only in some intervals names them
(`muted_during`, `active_only_during`), so the review shows when that delivery is withheld: that part is
stated, not proven by amtool."""

from __future__ import annotations

from typing import Any, get_args

from stackgen.model import names
from stackgen.model.deploy import environment_alertmanager, environment_alerts
from stackgen.model.promql import alert_labels
from stackgen.model.routing import matching_children, receivers_for
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.alertmanager import RootRoute, Route
from stackgen.spec.deploy import Environment
from stackgen.spec.types import Severity


def notifying_routes(root: RootRoute, labels: dict[str, str]) -> list[RootRoute | Route]:
    """The routes whose receivers notify (as receivers_for walks them): where matching stops descending."""
    def visit(route: RootRoute | Route) -> list[RootRoute | Route]:
        children = [child for _, child in matching_children(route, labels)]
        return [leaf for child in children for leaf in visit(child)] or [route]

    return visit(root)


def _case(name: str, root: RootRoute, labels: dict[str, str]) -> dict[str, Any]:
    case: dict[str, Any] = {"name": name, "labels": labels, "receivers": receivers_for(root, labels)}
    # Alertmanager does not inherit time intervals from a parent route: only the notifying routes' own count.
    routes = notifying_routes(root, labels)
    for key, field in (("muted_during", "mute_time_intervals"), ("active_only_during", "active_time_intervals")):
        if during := sorted({name for route in routes for name in getattr(route, field, [])}):
            case[key] = during
    return case


def cases(stack: Stack, env: Environment | None = None) -> list[dict[str, Any]]:
    """The cases of the base config, or with `env` of its overlay: its routes' receivers and its alerts'
    severities, disabled alerts left out."""
    root = environment_alertmanager(stack.spec.alertmanager, env).route
    out = []
    for service in stack.spec.services:
        for severity in get_args(Severity):
            labels = {names.SEVERITY_LABEL: severity, names.SERVICE_LABEL: service.name,
                      names.TEAM_LABEL: service.team}
            out.append(_case(f"{service.name} {severity}", root, labels))
        for alert in environment_alerts(service, env):
            labels = {"alertname": alert.name, **alert_labels(service, alert)}
            out.append(_case(f"{service.name} {alert.name}", root, labels))
        for group in stack.slos_of(service):  # SLO alerts carry the same routing labels and go through the same tree
            for tier in group.tiers:
                labels = {"alertname": tier.alert, **tier.labels}
                # Tiers sharing one name (Sloth's style) are told apart by sloth_severity.
                shared = sum(t.alert == tier.alert for t in group.tiers) > 1
                out.append(_case(f"{service.name} {tier.alert}" + (f" {tier.tier}" if shared else ""), root, labels))
            for extra in group.extra_alerts:
                out.append(_case(f"{service.name} {extra.alert}", root, {"alertname": extra.alert, **extra.labels}))
    return out


def routes_differ(env: Environment) -> bool:
    """Whether the environment routes anything differently: a route's receiver, an alert's severity, or an
    alert left out."""
    return bool(env.routes) or any(not change.enabled or change.severity is not None
                                   for override in env.services.values() for change in override.alerts.values())


def environment_tests_file(env: Environment) -> str:
    return names.ALERTMANAGER_ROUTE_TESTS.removesuffix(".yml") + f"-{env.name}.yml"


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    out = [yaml_artifact(names.ALERTMANAGER_ROUTE_TESTS, {"tests": cases(stack)}, header)]
    # An environment that routes differently gets its own file, naming the config amtool tests it against:
    # its overlay's (route overrides) or the base's (only severities changed).
    for env in stack.spec.environments:
        if routes_differ(env):
            config = f"{names.k8s_overlay_dir(env.name)}/alertmanager-config.yaml" if env.routes \
                else names.ALERTMANAGER_CONFIG
            out.append(yaml_artifact(environment_tests_file(env), {"config": config, "tests": cases(stack, env)}, header))
    return out

"""Cross-references of `environments` and `kubernetes`, checked with the code that renders them."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from stackgen.diagnostics import Diagnostic
from stackgen.model.deploy import alertmanager_secret_files, override_alert, published_ports
from stackgen.resolve.contract import bucket_threshold_problem
from stackgen.spec.alerts import Alert, LatencyQuantileAlert
from stackgen.spec.load import format_path
from stackgen.spec.models import Spec
from stackgen.spec.service import Service


def check_deploy(spec: Spec, positions) -> Iterator[Diagnostic]:
    """Environment names unique, overrides name real services and alerts with valid thresholds, secret
    file names distinct (called from resolve.check_references)."""
    services = {s.name: s for s in spec.services}
    seen: set[str] = set()
    for i, env in enumerate(spec.environments):
        if env.name in seen:
            yield positions.problem(("environments", i, "name"), f"duplicate environment name {env.name!r}")
        seen.add(env.name)
        for service_name, override in env.services.items():
            path = ("environments", i, "services", service_name)
            service = services.get(service_name)
            if service is None:
                yield positions.problem(
                    path, f"service {service_name!r} is not defined (services: {', '.join(services)})"
                )
                continue
            alerts = {a.name: a for a in service.alerts}
            for alert_name, threshold in override.alert_thresholds.items():
                where = (*path, "alert_thresholds", alert_name)
                alert = alerts.get(alert_name)
                if alert is None:
                    yield positions.problem(
                        where,
                        f"alert {alert_name!r} is not an alert of service "
                        f"{service_name!r} (alerts: {', '.join(alerts) or 'none'})",
                    )
                    continue
                yield from _check_threshold(service, alert, threshold, where, positions)
    for name in spec.kubernetes.autoscaling:
        if name not in services:
            yield positions.problem(
                ("kubernetes", "autoscaling", name),
                f"service {name!r} is not defined (services: {', '.join(services)})",
            )
    by_name: dict[str, str] = {}
    for secret in alertmanager_secret_files(spec):
        if secret.name in by_name:
            yield positions.problem(
                ("alertmanager",),
                f"secret files {by_name[secret.name]} and {secret.path} "
                f"share the name {secret.name!r}: the deploy targets "
                "key secrets by file name",
            )
        by_name[secret.name] = secret.path
    yield from check_host_ports(spec, positions)


def check_host_ports(spec: Spec, positions) -> Iterator[Diagnostic]:
    """Two containers publishing one host port render and validate, then fail at `docker compose up`."""
    first: dict[int, tuple[str | int, ...]] = {}
    for port, path in published_ports(spec):
        if port not in first:
            first[port] = path
            continue
        where = positions.locate(first[port])
        # A default the spec does not write has no line of its own (locate falls back to its parent).
        at = "its default" if where == positions.locate(first[port][:-1]) else f"line {where[0]}"
        yield positions.problem(
            path,
            f"host port {port} is already published by {format_path(first[port])} ({at}): "
            "the compose stack publishes every port on the host, so each needs its own",
        )


def _check_threshold(service: Service, alert: Alert, threshold: float, where, positions) -> Iterator[Diagnostic]:
    try:
        changed = override_alert(alert, threshold)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        yield positions.problem(
            where, f"threshold {threshold:g} is invalid for alert {alert.name!r}: {reason}"
        )
        return
    if isinstance(changed, LatencyQuantileAlert):
        metric = service.metric(changed.histogram.metric)
        if metric and (problem := bucket_threshold_problem(metric, changed.threshold)):
            yield positions.problem(where, problem)

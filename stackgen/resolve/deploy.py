"""Cross-references of `environments` and `kubernetes`, checked with the code that renders them."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from stackgen.diagnostics import Diagnostic
from stackgen.model.deploy import alertmanager_secret_files, find_route, override_alert, published_ports
from stackgen.resolve.contract import bucket_threshold_problem, check_selector
from stackgen.spec.alerts import Alert, LatencyQuantileAlert
from stackgen.spec.deploy import Environment, ServiceOverride
from stackgen.spec.kube import quantity_bytes
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
            yield from _check_overrides(service, override, path, positions)
        yield from _check_routes(spec, env, ("environments", i, "routes"), positions)
    for section, keyed in (("kubernetes", "autoscaling"), ("kubernetes", "services"), ("compose", "services")):
        for name in getattr(getattr(spec, section), keyed):
            if name not in services:
                yield positions.problem(
                    (section, keyed, name),
                    f"service {name!r} is not defined (services: {', '.join(services)})",
                )
    yield from check_workloads(spec, positions)
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


def check_workloads(spec: Spec, positions) -> Iterator[Diagnostic]:
    """Autoscaling queues read a gauge of the contract; a single-node volume is never shared by replicas;
    GPU settings belong to GPU services; two Ingresses never claim one host and path."""
    services = {s.name: s for s in spec.services}
    for i, service in enumerate(spec.services):
        for k, volume in enumerate(service.volumes):
            if volume.single_node and service.replicas > 1:
                one = "node" if volume.access_mode == "ReadWriteOnce" else "pod"
                yield positions.problem(("services", i, "volumes", k, "access_mode"),
                                        f"{volume.access_mode} lets one {one} mount volume {volume.name!r} at a time, "
                                        f"and the service runs {service.replicas} "
                                        "replicas: use ReadWriteMany (or ReadOnlyMany with read_only: true)")
    for name, scaling in spec.kubernetes.autoscaling.items():
        service = services.get(name)
        if service is None:
            continue
        if scaling.queue is not None:
            yield from check_selector(service, scaling.queue, ("kubernetes", "autoscaling", name, "queue"), positions,
                                      ("gauge",), "queue autoscaling")
        yield from _shared_volume(service, scaling.max_replicas, ("kubernetes", "autoscaling", name, "max_replicas"),
                                  positions)
    for i, env in enumerate(spec.environments):
        for name, override in env.services.items():
            service = services.get(name)
            if service is not None and override.replicas is not None:
                yield from _shared_volume(service, override.replicas,
                                          ("environments", i, "services", name, "replicas"), positions)
            if service is not None and service.shm_size and override.resources is not None \
                    and quantity_bytes(service.shm_size) >= quantity_bytes(override.resources.limits.memory):
                yield positions.problem(("environments", i, "services", name, "resources", "limits", "memory"),
                                        f"limits.memory {override.resources.limits.memory} is not above shm_size "
                                        f"{service.shm_size} of service {name!r}: /dev/shm counts against it")
    claimed: dict[tuple[str, str], str] = {}
    for name, workload in spec.kubernetes.services.items():
        service = services.get(name)
        if service is None:
            continue
        if workload.gpu_resource is not None and not service.gpu:
            yield positions.problem(("kubernetes", "services", name, "gpu_resource"),
                                    f"service {name!r} has gpu: false, so it requests no GPU resource")
        if workload.ingress is not None:
            key = (workload.ingress.host, workload.ingress.path)
            if key in claimed:
                yield positions.problem(("kubernetes", "services", name, "ingress", "host"),
                                        f"{key[0]}{key[1]} is already routed to service {claimed[key]!r}")
            claimed.setdefault(key, name)
    for name, local in spec.compose.services.items():
        service = services.get(name)
        if service is None or not local.gpu_devices:
            continue
        where = ("compose", "services", name, "gpu_devices")
        wanted = max(service.resources.limits.gpu, service.resources.requests.gpu)
        if not service.gpu:
            yield positions.problem(where, f"service {name!r} has gpu: false: give it gpu: true to reserve GPUs")
        elif len(local.gpu_devices) < wanted:
            yield positions.problem(where, f"{len(local.gpu_devices)} GPU(s) listed, but service {name!r} asks for "
                                           f"{wanted} (resources.limits.gpu)")


def _shared_volume(service: Service, replicas: int, where, positions) -> Iterator[Diagnostic]:
    for volume in service.volumes:
        if volume.single_node and replicas > 1:
            yield positions.problem(where, f"{replicas} replicas would share volume {volume.name!r} of service "
                                           f"{service.name!r}, which is {volume.access_mode}: make it ReadWriteMany")


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


def _check_overrides(service: Service, override: ServiceOverride, path, positions) -> Iterator[Diagnostic]:
    """`alerts` and `slo_objectives` name the service's own alerts and SLOs; each changed alert validates."""
    alerts = {a.name: a for a in service.alerts}
    for alert_name, change in override.alerts.items():
        where = (*path, "alerts", alert_name)
        alert = alerts.get(alert_name)
        if alert is None:
            yield positions.problem(where, f"alert {alert_name!r} is not an alert of service {service.name!r} "
                                           f"(alerts: {', '.join(alerts) or 'none'})")
            continue
        if change.threshold is not None and alert_name in override.alert_thresholds:
            yield positions.problem((*where, "threshold"), f"the threshold of alert {alert_name!r} is also set in "
                                                           "alert_thresholds: set it once")
            continue
        if change.threshold is not None:
            yield from _check_threshold(service, alert, change.threshold, (*where, "threshold"), positions)
        if change.for_ is not None or change.severity is not None:
            try:
                override_alert(alert, for_=change.for_, severity=change.severity)
            except ValueError as exc:
                reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                yield positions.problem(where, f"alert {alert_name!r} cannot take this override: {reason}")
    slos = [slo.name for slo in service.slos]
    for slo_name in override.slo_objectives:
        if slo_name not in slos:
            yield positions.problem((*path, "slo_objectives", slo_name), f"SLO {slo_name!r} is not an SLO of service "
                                                                         f"{service.name!r} (SLOs: {', '.join(slos) or 'none'})")


def _check_routes(spec: Spec, env: Environment, path, positions) -> Iterator[Diagnostic]:
    """Each route override finds exactly one route by its matchers and names a receiver that exists."""
    receivers = [r.name for r in spec.alertmanager.receivers]
    for k, change in enumerate(env.routes):
        found = find_route(spec.alertmanager.route, change.matchers)
        shown = "[" + ", ".join(change.matchers) + "]"
        if len(found) != 1:
            what = "no route has" if not found else f"{len(found)} routes have"
            yield positions.problem((*path, k, "matchers"), f"{what} exactly the matchers {shown}: "
                                                            "write one route's matchers as the spec does ([] is the root)")
        if change.receiver not in receivers:
            yield positions.problem((*path, k, "receiver"), f"receiver {change.receiver!r} is not defined "
                                                            f"(receivers: {', '.join(receivers)})")


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

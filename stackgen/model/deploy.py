"""Facts the deploy targets and their checks share: which secrets exist, and what an environment changes.

Kept out of the targets so resolve can check environment overrides with exactly the code that
renders them (an override the renderer would reject is reported as an input error instead).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from stackgen.model.servers import alertmanager_peers, prometheus_servers
from stackgen.spec.alertmanager import Alertmanager, RootRoute, Route
from stackgen.spec.alerts import Alert
from stackgen.spec.deploy import AlertOverride, Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import BUNDLED_DOCKERFILE, Healthcheck, Service
from stackgen.spec.types import Duration, SecretRef
from stackgen.spec.volumes import Volume
from stackgen.spec.workload import Workload


@dataclass(frozen=True)
class SecretFile:
    """A secret file a container reads: its name (the source file under secrets/) and mount path."""

    name: str
    path: str


def alertmanager_secret_files(spec: Spec) -> list[SecretFile]:
    """Every file-based credential the Alertmanager config references, whichever receiver or field holds it."""
    return _files([ref for _, ref in secrets_of(spec.alertmanager)])


def secrets_of(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], SecretRef]]:
    """Every SecretRef inside a spec model with its path (YAML keys), in field order: a receiver type added
    later is covered without touching this function."""
    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from secrets_of(getattr(value, name), (*path, field.alias or name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from secrets_of(item, (*path, i))


def prometheus_secret_files(spec: Spec) -> list[SecretFile]:
    """Every file Prometheus reads to scrape the services and to remote-write: TLS material and credentials."""
    paths = sorted({*(f for service in spec.services for f in service.scrape.files()), *spec.prometheus.remote_write_files()})
    return [SecretFile(posixpath.basename(p), p) for p in paths]


def service_secret_files(service: Service) -> list[SecretFile]:
    return _files(list(service.secret_env.values()))


def _files(refs: list[SecretRef | None]) -> list[SecretFile]:
    paths = sorted({ref.file for ref in refs if ref is not None and ref.file})
    return [SecretFile(posixpath.basename(p), p) for p in paths]


def service_healthcheck(service: Service) -> Healthcheck:
    """The service's compose health check. Unset, only the bundled service's image (built from its Dockerfile,
    whatever the context) is known to have Python; any other image gets none rather than a probe that can
    never pass."""
    if service.healthcheck is not None:
        return service.healthcheck
    if service.build is not None and service.build.dockerfile_path == BUNDLED_DOCKERFILE:
        return Healthcheck(kind="http", tool="python")
    return Healthcheck(kind="none")


def published_ports(spec: Spec) -> list[tuple[int, tuple[str | int, ...]]]:
    """Every host port the compose stack publishes, with the spec field that sets it: the stack's servers
    first (their ports are often defaults, with no line to point at), then the services in spec order."""
    logging, jaeger = spec.logging, spec.tracing.jaeger
    out: list[tuple[int, tuple[str | int, ...]]] = [
        (spec.alertmanager.port, ("alertmanager", "port")),
        (spec.prometheus.port, ("prometheus", "port")),
        (spec.grafana.port, ("grafana", "port")),
        (logging.elasticsearch.port, ("logging", "elasticsearch", "port")),
        (logging.logstash.port, ("logging", "logstash", "port")),
        (logging.kibana.port, ("logging", "kibana", "port")),
        (jaeger.port, ("tracing", "jaeger", "port")),
        (jaeger.otlp_grpc_port, ("tracing", "jaeger", "otlp_grpc_port")),
        (jaeger.otlp_http_port, ("tracing", "jaeger", "otlp_http_port")),
    ]
    # the further Alertmanager peers and Prometheus servers publish 100 ports apart (model.servers)
    out += [(peer.publish_port, ("alertmanager", "replicas")) for peer in alertmanager_peers(spec)[1:]]
    out += [(server.publish_port, ("prometheus", "shards" if spec.prometheus.shards > 1 else "replicas"))
            for server in prometheus_servers(spec)[1:]]
    for i, service in enumerate(spec.services):
        out += [(service.ports.http, ("services", i, "ports", "http")),
                (service.ports.metrics, ("services", i, "ports", "metrics"))]
    return out


def service_log_env(service: Service) -> dict[str, str]:
    """The variable telling the service its log folder (`logs.directory_env` = `logs.directory`), if any.

    The folder is the log schema's `directory`; the deploy targets mount the service's log volume there,
    so the spec states it once.
    """
    logs = service.logs
    if logs is None or logs.directory_env is None:
        return {}
    return {logs.directory_env: logs.directory}


def override_alert(alert: Alert, threshold: float | None = None, for_: Duration | None = None,
                   severity: str | None = None) -> Alert:
    """The alert with another threshold, `for` or severity, validated like spec input (ranges, kinds)."""
    if threshold is not None and "threshold" not in type(alert).model_fields:
        raise ValueError(f"alert {alert.name!r} is a {alert.kind} alert, which has no threshold")
    data = alert.model_dump(by_alias=True, exclude_unset=False)
    if threshold is not None:
        data["threshold"] = float(threshold)
    if for_ is not None:
        data["for"] = for_
    if severity is not None:
        data["severity"] = severity
    return type(alert).model_validate(data)


def alert_overrides(env: Environment | None, service: Service) -> dict[str, AlertOverride]:
    """alert name -> what `env` changes of it; `alert_thresholds` is shorthand for `alerts.<name>.threshold`
    (resolve refuses a threshold given both ways)."""
    override = env.services.get(service.name) if env else None
    if override is None:
        return {}
    out = dict(override.alerts)
    for name, threshold in override.alert_thresholds.items():
        out[name] = (out.get(name) or AlertOverride()).model_copy(update={"threshold": threshold})
    return out


def environment_alerts(service: Service, env: Environment | None) -> list[Alert]:
    """The service's alerts as `env` deploys them: overrides applied, disabled ones left out."""
    changes = alert_overrides(env, service)
    out = []
    for alert in service.alerts:
        change = changes.get(alert.name)
        if change is None:
            out.append(alert)
        elif change.enabled:
            out.append(override_alert(alert, change.threshold, change.for_, change.severity))
    return out


def environment_service(service: Service, env: Environment | None) -> Service:
    """The service with `env`'s alert and SLO objective overrides applied (what its overlay's rules hold)."""
    override = env.services.get(service.name) if env else None
    if override is None:
        return service
    slos = [slo.model_copy(update={"objective": override.slo_objectives[slo.name]})
            if slo.name in override.slo_objectives else slo for slo in service.slos]
    return service.model_copy(update={"alerts": environment_alerts(service, env), "slos": slos})


def find_route(root: RootRoute, matchers: list[str]) -> list[RootRoute | Route]:
    """The routes whose matchers, with their parent routes', are exactly `matchers` (any order): a nested
    route is told apart by its parents' (team="checkout" and severity="critical"); [] names the root."""
    wanted = sorted(str(m) for m in matchers)

    def visit(route: RootRoute | Route, above: list[str]) -> Iterator[RootRoute | Route]:
        path = [*above, *(str(m) for m in getattr(route, "matchers", []))]
        if sorted(path) == wanted:
            yield route
        for child in route.routes:
            yield from visit(child, path)

    return list(visit(root, []))


def environment_alertmanager(am: Alertmanager, env: Environment | None) -> Alertmanager:
    """The Alertmanager settings `env` deploys: its route overrides' receivers set (routes found by matchers)."""
    if env is None or not env.routes:
        return am
    receiver_of = {}
    for change in env.routes:
        for route in find_route(am.route, change.matchers):
            receiver_of[id(route)] = change.receiver

    def rebuilt(route):
        children = [rebuilt(child) for child in route.routes]
        update = {"routes": children}
        if id(route) in receiver_of:
            update["receiver"] = receiver_of[id(route)]
        return route.model_copy(update=update)

    return am.model_copy(update={"route": rebuilt(am.route)})


def volume_name(service: Service, volume: Volume) -> str:
    """The PersistentVolumeClaim and the compose named volume of a service's volume: one name in both."""
    return f"{service.name}-{volume.name}"


def workload(spec: Spec, service: Service) -> Workload:
    """The service's Kubernetes-only settings (`kubernetes.services.<name>`), defaults when it has none."""
    return spec.kubernetes.services.get(service.name) or Workload()


def gpu_resource(spec: Spec, service: Service) -> str:
    """The extended resource the service's GPUs are requested as."""
    return workload(spec, service).gpu_resource or spec.kubernetes.gpu_resource

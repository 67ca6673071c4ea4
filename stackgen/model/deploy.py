"""Facts the deploy targets and their checks share: which secrets exist, and what an environment changes.

Kept out of the targets so resolve can check environment overrides with exactly the code that
renders them (an override the renderer would reject is reported as an input error instead).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from stackgen.spec.alerts import Alert
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import BUNDLED_DOCKERFILE, Healthcheck, Service
from stackgen.spec.types import SecretRef


@dataclass(frozen=True)
class SecretFile:
    """A secret file a container reads: its name (the source file under secrets/) and mount path."""

    name: str
    path: str


def alertmanager_secret_files(spec: Spec) -> list[SecretFile]:
    """Every file-based credential the Alertmanager config references (smtp, slack, pagerduty)."""
    am = spec.alertmanager
    refs: list[SecretRef | None] = [am.global_.smtp.auth_password if am.global_.smtp else None]
    for receiver in am.receivers:
        refs += [c.api_url for c in receiver.slack] + [c.routing_key for c in receiver.pagerduty]
    return _files(refs)


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


def override_alert(alert: Alert, threshold: float) -> Alert:
    """The alert with another threshold, validated like spec input (ranges, kinds)."""
    if "threshold" not in type(alert).model_fields:
        raise ValueError(f"alert {alert.name!r} is a {alert.kind} alert, which has no threshold")
    data = alert.model_dump(by_alias=True, exclude_unset=False)
    data["threshold"] = float(threshold)
    return type(alert).model_validate(data)


def environment_alerts(service: Service, env: Environment | None) -> list[Alert]:
    """The service's alerts with the environment's threshold overrides applied."""
    override = env.services.get(service.name) if env else None
    if override is None:
        return list(service.alerts)
    return [
        override_alert(a, override.alert_thresholds[a.name]) if a.name in override.alert_thresholds else a
        for a in service.alerts
    ]

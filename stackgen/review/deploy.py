"""Deploy: each service's image, replicas, resources, ports and autoscaling, the same per environment
(its overrides applied), and the images and ports of the stack's own servers."""

from __future__ import annotations

from stackgen.resolve import Stack
from stackgen.review.report import ADDED, CHANGED, REMOVED, Entry, field_changes, listed
from stackgen.review.values import show
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Resources, Service


def _resources(res: Resources) -> dict[str, str]:
    out = {}
    for side in ("requests", "limits"):
        amounts = getattr(res, side)
        out[side] = f"cpu {amounts.cpu}, memory {amounts.memory}" + (f", gpu {amounts.gpu}" if amounts.gpu else "")
    return out


def _service(spec: Spec, service: Service) -> dict[str, str]:
    out = {"image": str(service.image), "replicas": str(service.replicas), **_resources(service.resources),
           "ports": f"http {service.ports.http}, metrics {service.ports.metrics}", "gpu": show(service.gpu)}
    scaling = spec.kubernetes.autoscaling.get(service.name)
    if scaling is not None:
        targets = [f"{scaling.cpu_utilization}% cpu"] if scaling.cpu_utilization is not None else []
        if scaling.queue is not None:
            targets.append(f"{scaling.queue.metric} {scaling.queue.target:g} per replica (KEDA)")
        out["autoscaling"] = f"{scaling.min_replicas}-{scaling.max_replicas} replicas at {' and '.join(targets)}"
    return out


def _in_env(service: Service, env: Environment) -> dict[str, str]:
    """What the environment's overlay sets for the service: only its overrides (the rest is the base's,
    which the service's own entry reports)."""
    override = env.services.get(service.name)
    out: dict[str, str] = {}
    if override and override.replicas is not None:
        out["replicas"] = str(override.replicas)
    if override and override.resources is not None:
        out |= _resources(override.resources)
    return out


def _servers(spec: Spec) -> dict[str, dict[str, str]]:
    servers = {
        "prometheus": (spec.prometheus.image, spec.prometheus.port),
        "alertmanager": (spec.alertmanager.image, spec.alertmanager.port),
        "grafana": (spec.grafana.image, spec.grafana.port),
        "elasticsearch": (spec.logging.elasticsearch.image, spec.logging.elasticsearch.port),
        "logstash": (spec.logging.logstash.image, spec.logging.logstash.port),
        "kibana": (spec.logging.kibana.image, spec.logging.kibana.port),
        "jaeger": (spec.tracing.jaeger.image, spec.tracing.jaeger.port),
    }
    return {name: {"image": image, "port": str(port)} for name, (image, port) in servers.items()}


def _units(spec: Spec) -> dict[tuple[str, str], dict[str, str]]:
    """(service, environment or "") -> what is deployed; ("server", name) for the stack's servers."""
    out = {(s.name, ""): _service(spec, s) for s in spec.services}
    out |= {(s.name, e.name): found for e in spec.environments for s in spec.services if (found := _in_env(s, e))}
    out |= {("", f"server {name}"): values for name, values in _servers(spec).items()}
    return out


def _subject(key: tuple[str, str]) -> str:
    service, where = key
    if not service:
        return where
    return f"{service} in {where}" if where else service


def compare(base: Stack, head: Stack) -> list[Entry]:
    old, new = _units(base.spec), _units(head.spec)
    out = [Entry(REMOVED, _subject(key), key[0] or None) for key in old.keys() - new.keys()]
    out += [Entry(ADDED, _subject(key), key[0] or None, listed(new[key])) for key in new.keys() - old.keys()]
    for key in old.keys() & new.keys():
        if fields := field_changes(old[key], new[key]):
            out.append(Entry(CHANGED, _subject(key), key[0] or None, fields))
    return out

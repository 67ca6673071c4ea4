"""Ports, probe paths and scrape targets agree across the spec, prometheus.yml, compose and Kubernetes.

The generators derive all of these from one spec, so a disagreement means a generator bug or a
hand-edited render; the spec's own `command` (free text) can also contradict `ports`. Rule ids:
port-command-mismatch, scrape-target-mismatch, compose-port-mismatch, compose-healthcheck-mismatch,
k8s-port-mismatch, k8s-probe-mismatch, k8s-annotation-mismatch, k8s-service-port-mismatch,
servicemonitor-mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context
from stackgen.model import names
from stackgen.spec.service import Service
from stackgen.spec.types import Duration

REGENERATE = "run `stackgen render` (never edit generated/ by hand); if the render itself disagrees, fix the generator"


def check(ctx: Context) -> Iterator[Diagnostic]:
    docs = _k8s_documents(ctx)
    for i, service in enumerate(ctx.spec.services):
        yield from _command(ctx, i, service)
        yield from _prometheus(ctx, i, service)
        yield from _compose(ctx, i, service)
        yield from _kubernetes(ctx, i, service, docs)


def _command(ctx: Context, i: int, service: Service) -> Iterator[Diagnostic]:
    for flag, port_name in (("--port", "http"), ("--metrics-port", "metrics")):
        if flag in service.command:
            k = service.command.index(flag)
            value = service.command[k + 1] if k + 1 < len(service.command) else ""
            want = getattr(service.ports, port_name)
            if value != str(want):
                yield ctx.finding("port-command-mismatch", ("services", i, "command", k + 1),
                                  f"command passes {flag} {value}, but ports.{port_name} is {want}",
                                  f"make them agree: {flag} {want} (or change ports.{port_name})")


def _prometheus(ctx: Context, i: int, service: Service) -> Iterator[Diagnostic]:
    config = ctx.yaml(names.PROMETHEUS_CONFIG) or {}
    job = next((j for j in config.get("scrape_configs", []) if j.get("job_name") == names.job_name(service.name)), None)
    file = f"{ctx.out_name}/{names.PROMETHEUS_CONFIG}"
    if job is None:
        yield ctx.finding("scrape-target-mismatch", ("services", i, "name"),
                          f"{file} has no scrape job {names.job_name(service.name)!r}", REGENERATE)
        return
    want = f"{service.host or service.name}:{service.ports.metrics}"
    targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
    if targets != [want]:
        yield ctx.finding("scrape-target-mismatch", ("services", i, "ports", "metrics"),
                          f"{file} scrapes {', '.join(targets) or 'nothing'} for job {job['job_name']}, "
                          f"but the service exposes metrics on {want}", REGENERATE)
    if job.get("metrics_path", "/metrics") != service.metrics_path:
        yield ctx.finding("scrape-target-mismatch", ("services", i, "metrics_path"),
                          f"{file} scrapes path {job.get('metrics_path', '/metrics')} for job {job['job_name']}, "
                          f"but metrics_path is {service.metrics_path}", REGENERATE)


def _compose(ctx: Context, i: int, service: Service) -> Iterator[Diagnostic]:
    compose = ctx.yaml(names.COMPOSE_FILE)
    if not compose:
        return
    entry = compose.get("services", {}).get(service.name)
    file = f"{ctx.out_name}/{names.COMPOSE_FILE}"
    if entry is None:
        return
    published = {str(p).rsplit(":", 1)[-1] for p in entry.get("ports", [])}
    for port_name in ("http", "metrics"):
        want = getattr(service.ports, port_name)
        if str(want) not in published:
            yield ctx.finding("compose-port-mismatch", ("services", i, "ports", port_name),
                              f"{file} does not publish container port {want} (ports.{port_name}) for "
                              f"{service.name} (published: {', '.join(sorted(published)) or 'none'})", REGENERATE)
    test = (entry.get("healthcheck") or {}).get("test", [])
    urls = [t for t in test if isinstance(t, str) and t.startswith(("http://", "https://"))] if isinstance(test, list) \
        else [w for w in str(test).split() if w.startswith(("http://", "https://"))]
    for url in urls:
        parts = urlsplit(url)
        if parts.port != service.ports.http or parts.path != service.probes.health.path:
            yield ctx.finding("compose-healthcheck-mismatch", ("services", i, "probes", "health", "path"),
                              f"{file} health-checks {service.name} at {url}, but the health probe is "
                              f"{service.probes.health.path} on port {service.ports.http}", REGENERATE)


def _k8s_documents(ctx: Context) -> list[dict[str, Any]]:
    prefix = names.K8S_BASE_DIR + "/"
    out: list[dict[str, Any]] = []
    for path in sorted(ctx.files):
        if path.startswith(prefix) and path.endswith((".yaml", ".yml")):
            for doc in ctx.yaml_documents(path):
                if isinstance(doc, dict):
                    out.append({**doc, "__file": f"{ctx.out_name}/{path}"})
    return out


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name), None)


def _kubernetes(ctx: Context, i: int, service: Service, docs: list[dict[str, Any]]) -> Iterator[Diagnostic]:
    deployment = _find(docs, "Deployment", service.name)
    if deployment is None:
        return
    file = deployment["__file"]
    template = deployment["spec"]["template"]
    containers = template["spec"].get("containers", [])
    container = next((c for c in containers if c.get("name") == service.name), containers[0] if containers else {})
    by_name = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
    numbers = set(by_name.values())
    for port_name, spec_name in ((names.HTTP_PORT_NAME, "http"), (names.METRICS_PORT_NAME, "metrics")):
        want = getattr(service.ports, spec_name)
        if by_name.get(port_name) != want:
            yield ctx.finding("k8s-port-mismatch", ("services", i, "ports", spec_name),
                              f"{file}: container port {port_name!r} is {by_name.get(port_name)}, but "
                              f"ports.{spec_name} is {want}", REGENERATE)

    def resolve(port: Any) -> Any:
        return by_name.get(port) if isinstance(port, str) else port

    for probe_name, key in (("liveness", "livenessProbe"), ("readiness", "readinessProbe"), ("startup", "startupProbe")):
        probe = container.get(key)
        spec_probe = getattr(service.probes, probe_name)
        if spec_probe is None:  # an optional probe the spec leaves out
            continue
        where = ("services", i, "probes", probe_name, "path")
        if probe is None:
            yield ctx.finding("k8s-probe-mismatch", where, f"{file}: the container has no {key}", REGENERATE)
            continue
        get = probe.get("httpGet", {})
        if get.get("path") != spec_probe.path or resolve(get.get("port")) != service.ports.http:
            yield ctx.finding("k8s-probe-mismatch", where,
                              f"{file}: {key} requests {get.get('path')} on port {get.get('port')} "
                              f"(-> {resolve(get.get('port'))}), but the spec probes {spec_probe.path} on "
                              f"ports.http {service.ports.http}", REGENERATE)
    annotations = template.get("metadata", {}).get("annotations", {})
    if "prometheus.io/scrape" in annotations:
        expected = {"prometheus.io/scrape": "true", "prometheus.io/port": str(service.ports.metrics),
                    "prometheus.io/path": service.metrics_path}
        for key, want in expected.items():
            if str(annotations.get(key)) != want:
                yield ctx.finding("k8s-annotation-mismatch", ("services", i, "ports", "metrics"),
                                  f"{file}: pod annotation {key} is {annotations.get(key)!r}, expected {want!r}",
                                  REGENERATE)
    svc = _find(docs, "Service", service.name)
    svc_ports: dict[str, Any] = {}
    if svc is not None:
        for p in svc["spec"].get("ports", []):
            svc_ports[p.get("name")] = p
            target = resolve(p.get("targetPort", p.get("port")))
            if target not in numbers:
                yield ctx.finding("k8s-service-port-mismatch", ("services", i, "ports"),
                                  f"{svc['__file']}: Service port {p.get('name')!r} targets {p.get('targetPort')}, "
                                  f"which is no container port of {service.name} ({sorted(numbers)})", REGENERATE)
    monitor = _find(docs, "ServiceMonitor", service.name)
    if monitor is None:
        return
    interval = str(Duration(ctx.scrape_interval_ms(service)))
    for endpoint in monitor["spec"].get("endpoints", []):
        port = svc_ports.get(endpoint.get("port"))
        target = resolve(port.get("targetPort", port.get("port"))) if port else None
        problems = []
        if target != service.ports.metrics:
            problems.append(f"port {endpoint.get('port')!r} reaches {target}, not ports.metrics {service.ports.metrics}")
        if endpoint.get("path", "/metrics") != service.metrics_path:
            problems.append(f"path {endpoint.get('path')} is not metrics_path {service.metrics_path}")
        if "interval" in endpoint and endpoint["interval"] != interval:
            problems.append(f"interval {endpoint['interval']} is not the job's scrape interval {interval}")
        for problem in problems:
            yield ctx.finding("servicemonitor-mismatch", ("services", i, "ports", "metrics"),
                              f"{monitor['__file']}: ServiceMonitor endpoint {problem}", REGENERATE)

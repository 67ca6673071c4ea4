"""The local docker compose stack (compose-spec format) built from the spec and the rendered configs.

Configs are bind-mounted read-only from generated/ (paths relative to generated/compose/), and only
when the render produced them, so the stack never mounts a file that does not exist. Core services
(the monitored services, Prometheus, Alertmanager, Grafana) have no profile and always start; the
log backends and Jaeger sit behind profiles.
"""

from __future__ import annotations

import posixpath
from typing import Any

from stackgen.model import names
from stackgen.model.deploy import (
    SecretFile,
    alertmanager_secret_files,
    prometheus_secret_files,
    service_healthcheck,
    service_log_env,
    service_secret_files,
    volume_name,
)
from stackgen.model.servers import alertmanager_peers, prometheus_servers
from stackgen.model.tracing_env import service_tracing_env
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.kube import quantity_bytes
from stackgen.spec.models import Spec
from stackgen.spec.service import Probe, Service


def render(stack: Stack, produced: list[Artifact]) -> list[Artifact]:
    return [
        yaml_artifact(
            names.COMPOSE_FILE,
            compose_file(stack.spec, [a.path for a in produced], stack.out_to_spec),
            names.header(stack.spec_name),
        )
    ]


def _gen(path: str) -> str:
    """A generated/ path as the compose file (in generated/compose/) sees it."""
    return posixpath.join(names.COMPOSE_TO_GENERATED, path)


def _mount(path: str, target: str) -> str:
    return f"{_gen(path)}:{target}:ro"


def _to_spec(out_to_spec: str, path: str) -> str:
    """A path relative to the spec's folder as the compose file (in <out>/compose/) sees it."""
    return posixpath.normpath(posixpath.join(names.COMPOSE_TO_GENERATED, out_to_spec, path))


def _has_dir(produced: list[str], folder: str) -> bool:
    return any(p.startswith(folder.rstrip("/") + "/") for p in produced)


def _healthcheck(test: list[str], probe: Probe | None = None) -> dict[str, Any]:
    if probe is None:
        return {"test": test, "interval": "10s", "timeout": "5s", "retries": 10, "start_period": "30s"}
    return {
        "test": test,
        "interval": str(probe.period),
        "timeout": str(probe.timeout),
        "retries": probe.failure_threshold,
        "start_period": str(probe.initial_delay),
    }


def _wget(port: int, path: str) -> list[str]:
    # Prometheus, Alertmanager and Grafana images ship busybox wget, not curl.
    return ["CMD", "wget", "-q", "--spider", f"http://127.0.0.1:{port}{path}"]


def _curl(port: int, path: str) -> list[str]:
    # The Elastic images ship curl.
    return ["CMD", "curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{port}{path}"]


def _after(services: dict[str, dict[str, Any]], *names_: str) -> dict[str, Any]:
    # Waiting for health needs a health check; a dependency without one can only be waited for to start.
    return {
        s: {"condition": "service_healthy" if "healthcheck" in services[s] else "service_started"} for s in names_
    }


def compose_file(spec: Spec, produced: list[str], out_to_spec: str = "..") -> dict[str, Any]:
    bind = spec.compose.bind_address
    secrets: dict[str, dict[str, str]] = {}
    volumes: dict[str, dict[str, Any]] = {}

    def publish(port: int) -> str:
        return f"{bind}:{port}:{port}"

    def secret_mounts(files: list[SecretFile]) -> list[dict[str, str]]:
        for f in files:
            secrets[f.name] = {"file": _to_spec(out_to_spec, posixpath.join(names.SECRETS_DIR, f.name))}
        return [{"source": f.name, "target": f.path} for f in files]

    services: dict[str, dict[str, Any]] = {}
    for service in spec.services:
        services[service.name] = _service(spec, service, publish, secret_mounts, out_to_spec)
        if service.logs is not None:
            volumes[names.log_volume(service.name)] = {}
        for volume in service.volumes:  # the Kubernetes claim's name: one cache name in both
            volumes[volume_name(service, volume)] = {}

    prom, am = spec.prometheus, spec.alertmanager
    peers, servers = alertmanager_peers(spec), prometheus_servers(spec)
    am_secrets = secret_mounts(alertmanager_secret_files(spec))
    for peer in peers:
        # A gossip cluster: every peer names every other; each keeps its own silences/notification log volume.
        cluster = [] if len(peers) == 1 else [
            f"--cluster.listen-address=0.0.0.0:{am.cluster_port}",
            *(f"--cluster.peer={other.name}:{am.cluster_port}" for other in peers if other != peer)]
        data = "alertmanager-data" if len(peers) == 1 else f"{peer.name}-data"
        services[peer.name] = {
            "image": am.image,
            "command": [f"--config.file={names.ALERTMANAGER_CONFIG_MOUNT}", "--storage.path=/alertmanager", *cluster],
            "volumes": [
                _mount(names.ALERTMANAGER_CONFIG, names.ALERTMANAGER_CONFIG_MOUNT),
                # Beside the config, where its relative `templates:` paths point.
                *([_mount("alertmanager/templates", posixpath.join(posixpath.dirname(names.ALERTMANAGER_CONFIG_MOUNT),
                                                                    "templates"))]
                  if _has_dir(produced, "alertmanager/templates") else []),
                f"{data}:/alertmanager",
            ],
            "ports": [f"{bind}:{peer.publish_port}:{am.port}"],
            "healthcheck": _healthcheck(_wget(am.port, "/-/healthy")),
            "restart": "unless-stopped",
            **({"secrets": am_secrets} if am_secrets else {}),
            # Grafana and the docs reach "alertmanager": every peer answers to that name.
            **({"networks": {"default": {"aliases": [am.host]}}} if len(peers) > 1 else {}),
        }
        volumes[data] = {}
    for server in servers:
        data = "prometheus-data" if len(servers) == 1 else f"{server.name}-data"
        prom_volumes = [_mount(server.config, names.PROMETHEUS_CONFIG_MOUNT)]
        if _has_dir(produced, "prometheus/rules"):
            prom_volumes.append(_mount("prometheus/rules", names.PROMETHEUS_RULES_MOUNT))
        services[server.name] = {
            "image": prom.image,
            "command": [
                f"--config.file={names.PROMETHEUS_CONFIG_MOUNT}",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={prom.retention}",
            ],
            "volumes": [*prom_volumes, f"{data}:/prometheus"],
            "ports": [f"{bind}:{server.publish_port}:{prom.port}"],
            "healthcheck": _healthcheck(_wget(prom.port, "/-/healthy")),
            "depends_on": _after(services, *(peer.name for peer in peers)),
            "restart": "unless-stopped",
            # Grafana queries "prometheus": the replicas of the first shard answer to it (a sharded stack is
            # queried whole through its remote_write store, docs/scale.md).
            **({"networks": {"default": {"aliases": [prom.host]}}} if len(servers) > 1 and server.shard == 0 else {}),
        }
        if prom_secrets := secret_mounts(prometheus_secret_files(spec)):  # scrape TLS material and credentials
            services[server.name]["secrets"] = prom_secrets
        volumes[data] = {}

    services[spec.grafana.host] = _grafana(spec, produced, publish, secret_mounts, services)
    volumes["grafana-data"] = {}

    logging = spec.logging
    es, logstash, kibana = logging.elasticsearch, logging.logstash, logging.kibana
    logs_profiles = [names.PROFILE_LOGS, names.PROFILE_ALL]
    heap = spec.compose.elasticsearch_heap
    services[es.host] = {
        "image": es.image,
        "profiles": list(logs_profiles),
        "environment": {
            "discovery.type": "single-node",
            "xpack.security.enabled": "false",  # bound to 127.0.0.1 only; see docs/deploy.md
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        },
        "volumes": ["elasticsearch-data:/usr/share/elasticsearch/data"],
        "ports": [publish(es.port)],
        "healthcheck": _healthcheck(_curl(es.port, "/_cluster/health?wait_for_status=yellow&timeout=5s")),
        "restart": "unless-stopped",
    }
    volumes["elasticsearch-data"] = {}
    # Each service's log volume at the folder the generated pipeline tails (checks.compose verifies it).
    logstash_volumes = [
        f"{names.log_volume(s.name)}:{names.logstash_log_dir(logging.log_mount, s.name)}:ro"
        for s in spec.services
        if s.logs is not None
    ]
    if _has_dir(produced, names.LOGSTASH_PIPELINE_DIR):
        logstash_volumes.append(_mount(names.LOGSTASH_PIPELINE_DIR, names.LOGSTASH_PIPELINE_MOUNT))
    for file, target in (
        (names.LOGSTASH_CONFIG, names.LOGSTASH_SETTINGS_MOUNT),
        (names.LOGSTASH_PIPELINES, names.LOGSTASH_PIPELINES_MOUNT),
    ):
        if file in produced:
            logstash_volumes.append(_mount(file, target))
    if _has_dir(produced, names.ELASTICSEARCH_DIR):
        logstash_volumes.append(_mount(names.ELASTICSEARCH_DIR, names.LOGSTASH_TEMPLATES_MOUNT))
    services[logstash.host] = {  # after Elasticsearch, defined above
        "image": logstash.image,
        "profiles": list(logs_profiles),
        "environment": {"ELASTICSEARCH_HOSTS": es.url},
        "volumes": sorted(logstash_volumes),
        "ports": [publish(logstash.port)],
        "healthcheck": _healthcheck(_curl(logstash.port, "/")),
        "depends_on": _after(services, es.host),
        "restart": "unless-stopped",
    }
    services[kibana.host] = {
        "image": kibana.image,
        "profiles": list(logs_profiles),
        "environment": {"ELASTICSEARCH_HOSTS": es.url},
        "ports": [publish(kibana.port)],
        "healthcheck": _healthcheck(_curl(kibana.port, "/api/status")),
        "depends_on": _after(services, es.host),
        "restart": "unless-stopped",
    }
    jaeger = spec.tracing.jaeger
    services[jaeger.host] = {
        "image": jaeger.image,
        "profiles": [names.PROFILE_TRACES, names.PROFILE_ALL],
        "environment": {"COLLECTOR_OTLP_ENABLED": "true"},
        "ports": [publish(jaeger.port), publish(jaeger.otlp_grpc_port), publish(jaeger.otlp_http_port)],
        "restart": "unless-stopped",
    }

    out: dict[str, Any] = {"name": spec.name, "services": services, "volumes": volumes}
    if secrets:
        out["secrets"] = secrets
    return out


def _grafana(spec: Spec, produced: list[str], publish, secret_mounts, services) -> dict[str, Any]:
    """Grafana with the generated provisioning and dashboards; the admin password only by reference."""
    grafana = spec.grafana
    grafana_volumes = ["grafana-data:/var/lib/grafana"]
    if _has_dir(produced, names.GRAFANA_PROVISIONING_DIR):
        grafana_volumes.append(_mount(names.GRAFANA_PROVISIONING_DIR, names.GRAFANA_PROVISIONING_MOUNT))
    if _has_dir(produced, names.GRAFANA_DASHBOARDS_DIR):
        grafana_volumes.append(_mount(names.GRAFANA_DASHBOARDS_DIR, names.GRAFANA_DASHBOARDS_MOUNT))
    password = grafana.admin_password
    env = {"GF_AUTH_ANONYMOUS_ENABLED": "false", "GF_USERS_ALLOW_SIGN_UP": "false"}
    out: dict[str, Any] = {
        "image": grafana.image,
        "volumes": grafana_volumes,
        "ports": [publish(grafana.port)],
        "healthcheck": _healthcheck(_wget(grafana.port, "/api/health")),
        "depends_on": _after(services, *(s.name for s in prometheus_servers(spec) if s.shard == 0)),
        "restart": "unless-stopped",
    }
    if password.file:
        env["GF_SECURITY_ADMIN_PASSWORD__FILE"] = password.file
        out["secrets"] = secret_mounts([SecretFile(posixpath.basename(password.file), password.file)])
    else:  # an env reference: taken from the user's shell or .env, never written here
        env["GF_SECURITY_ADMIN_PASSWORD"] = f"${{{password.env}:?set {password.env} (see .env.example)}}"
    out["environment"] = env
    return out


def _service_healthcheck(service: Service) -> list[str] | None:
    """The test command of the service's health check, or None for no health check."""
    check = service_healthcheck(service)
    url = f"http://127.0.0.1:{service.ports.http}{service.probes.health.path}"
    if check.kind == "exec":
        return ["CMD", *check.command]
    if check.kind == "none":
        return None
    if check.tool == "curl":
        return _curl(service.ports.http, service.probes.health.path)
    if check.tool == "wget":
        return _wget(service.ports.http, service.probes.health.path)
    return ["CMD", "python", "-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)", url]


def _service(spec: Spec, service: Service, publish, secret_mounts, out_to_spec: str) -> dict[str, Any]:
    """The monitored service: built from its Dockerfile, tagged from the spec, GPU reserved when asked."""
    env = {
        **service.env,
        **service_log_env(service),
        **service_tracing_env(spec, service),
    }
    for var, ref in service.secret_env.items():
        if ref.env:  # passed through from the user's shell or .env; the value never lands here
            env[var] = f"${{{ref.env}:?set {ref.env} (see .env.example)}}"
        else:  # the file is mounted at its path; the app learns where through the NAME_FILE convention
            env[names.secret_file_env(var)] = ref.file
    out: dict[str, Any] = {
        "image": str(service.image),
        "environment": env,
        "ports": [publish(service.ports.http), publish(service.ports.metrics)],
        "restart": "unless-stopped",
    }
    if (test := _service_healthcheck(service)) is not None:
        out["healthcheck"] = _healthcheck(test, service.probes.health)
    mounts = []
    if service.logs is not None:  # the log volume Logstash reads, at the log schema's folder
        mounts.append(f"{names.log_volume(service.name)}:{service.logs.directory}")
    mounts += [f"{volume_name(service, v)}:{v.mount}" + (":ro" if v.read_only else "") for v in service.volumes]
    if mounts:
        out["volumes"] = mounts
    if service.shm_size is not None:  # in bytes: Docker reads "1g" as 2^30 and "1G" alike, Kubernetes "1G" as 10^9
        out["shm_size"] = quantity_bytes(service.shm_size)
    if service.build:
        out["build"] = {
            "context": _to_spec(out_to_spec, service.build.context),
            "dockerfile": service.build.dockerfile_path,
        }
    if service.command:
        out["command"] = list(service.command)
    if service.gpu:
        # Named GPUs (compose.services.<name>.gpu_devices) or any `count` of them; compose allows one of the two.
        chosen = spec.compose.services.get(service.name)
        device: dict[str, Any] = {"driver": "nvidia"}
        if chosen is not None and chosen.gpu_devices:
            device["device_ids"] = list(chosen.gpu_devices)
        else:
            device["count"] = max(service.resources.limits.gpu, service.resources.requests.gpu, 1)
        device["capabilities"] = ["gpu"]
        out["deploy"] = {"resources": {"reservations": {"devices": [device]}}}
    files = service_secret_files(service)
    if files:
        out["secrets"] = secret_mounts(files)
    return out

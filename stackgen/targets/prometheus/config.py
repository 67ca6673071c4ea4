"""prometheus.yml: scrape jobs, rule files and the Alertmanager it alerts."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.model.servers import PrometheusServer, alertmanager_peers, prometheus_servers, shard_of
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.models import Spec
from stackgen.spec.prometheus import SHARD_HASH_LABEL, RemoteWrite
from stackgen.spec.scrape import RelabelRule, Scrape
from stackgen.targets.prometheus.rules import rule_files


def render(stack: Stack) -> list[Artifact]:
    """prometheus.yml: the whole stack's config (what one server runs, what lint and review read); with
    replicas or shards also one config per server beside it, which compose and the native runtime run."""
    header = names.header(stack.spec_name)
    out = [yaml_artifact(names.PROMETHEUS_CONFIG, server_config(stack.spec), header)]
    servers = prometheus_servers(stack.spec)
    if len(servers) > 1:
        out += [yaml_artifact(server.config, server_config(stack.spec, server=server), header) for server in servers]
    return out


def server_config(spec: Spec, host_of: dict[str, str] | None = None,
                  server: PrometheusServer | None = None) -> dict[str, Any]:
    """prometheus.yml. `host_of` maps component/service names to addresses (the native runtime uses it).
    `server`: the config of that one server of an HA pair / shard set: its replica external label, its own
    self-scrape, and (sharded) only its share of the service jobs and their rule files."""
    host_of = host_of or {}
    prom, am = spec.prometheus, spec.alertmanager
    peers = alertmanager_peers(spec)
    sharded = server is not None and prom.shards > 1

    def addr(name: str, default_host: str, port: int) -> str:
        return host_of.get(name, f"{default_host}:{port}")

    am_targets = [addr(peer.name, peer.name, am.port) for peer in peers]
    self_target = addr(server.name, server.name, prom.port) if server else addr("prometheus", prom.host, prom.port)
    scrape = [{"job_name": "prometheus", "static_configs": [{"targets": [self_target]}]}]
    if not sharded or server.shard == 0:  # one shard watches the Alertmanager cluster, not every shard
        scrape.append({"job_name": "alertmanager", "static_configs": [{"targets": am_targets}]})
    for service in spec.services:
        if sharded and shard_of(service.name, prom.shards) != server.shard:
            continue
        job: dict[str, Any] = {
            "job_name": names.job_name(service.name),
            "metrics_path": service.metrics_path,
            "static_configs": [{
                "targets": [addr(service.name, service.host or service.name, service.ports.metrics)],
                "labels": {names.SERVICE_LABEL: service.name, names.TEAM_LABEL: service.team},
            }],
        }
        if service.scrape_interval:
            job["scrape_interval"] = str(service.scrape_interval)
        job |= scrape_settings(service.scrape)
        if service.scrape.labels:
            job["static_configs"][0]["labels"] |= dict(service.scrape.labels)
        if sharded:  # what Prometheus does with the same rule: the job's shard is the one computed above
            job["relabel_configs"] = [*shard_relabel(prom.shards, server.shard), *job.get("relabel_configs", [])]
        scrape.append(job)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": str(prom.scrape_interval),
            "scrape_timeout": str(prom.scrape_timeout),
            "evaluation_interval": str(prom.evaluation_interval),
        },
        "rule_files": rule_files(spec, None if not sharded else lambda s: shard_of(s.name, prom.shards) == server.shard),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": am_targets}]}]},
        "scrape_configs": scrape,
    }
    external = dict(prom.external_labels)
    if server is not None:  # Alertmanager and the long-term store deduplicate the pair on this label
        external[prom.replica_label] = str(server.replica)
    if external:
        config["global"]["external_labels"] = external
    if prom.remote_write:
        config["remote_write"] = [remote_write(rw) for rw in prom.remote_write]
    return config


def shard_relabel(shards: int, shard: int) -> list[dict[str, Any]]:
    """Keep the targets whose job hashes to `shard` (hashing the job keeps a service on one shard, with its rules)."""
    return [{"source_labels": ["job"], "target_label": SHARD_HASH_LABEL, "modulus": shards, "action": "hashmod"},
            {"source_labels": [SHARD_HASH_LABEL], "regex": str(shard), "action": "keep"}]


def remote_write(rw: RemoteWrite) -> dict[str, Any]:
    out: dict[str, Any] = {"url": rw.url}
    if rw.name is not None:
        out["name"] = rw.name
    if rw.remote_timeout is not None:
        out["remote_timeout"] = str(rw.remote_timeout)
    if rw.basic_auth is not None:
        out["basic_auth"] = {"username": rw.basic_auth.username, "password_file": rw.basic_auth.password.file}
    if rw.authorization is not None:
        out["authorization"] = {"type": rw.authorization.type, "credentials_file": rw.authorization.credentials.file}
    if rw.queue_config is not None:
        out["queue_config"] = {k: str(v) if k.endswith(("_deadline", "_backoff")) else v
                               for k, v in rw.queue_config.model_dump(exclude_none=True).items()}
    if rw.write_relabel_configs:
        out["write_relabel_configs"] = [relabel(rule) for rule in rw.write_relabel_configs]
    return out


def scrape_settings(scrape: Scrape) -> dict[str, Any]:
    """The job's keys beyond target and path; only what the spec sets, so a plain job stays plain."""
    out: dict[str, Any] = {}
    if scrape.timeout is not None:
        out["scrape_timeout"] = str(scrape.timeout)
    if scrape.scheme != "http":
        out["scheme"] = scrape.scheme
    if scrape.tls is not None:
        out["tls_config"] = scrape.tls.model_dump(exclude_none=True)
    if scrape.basic_auth is not None:
        out["basic_auth"] = {"username": scrape.basic_auth.username, "password_file": scrape.basic_auth.password.file}
    if scrape.authorization is not None:
        out["authorization"] = {"type": scrape.authorization.type,
                                "credentials_file": scrape.authorization.credentials.file}
    if scrape.relabel_configs:
        out["relabel_configs"] = [relabel(rule) for rule in scrape.relabel_configs]
    if scrape.metric_relabel_configs:
        out["metric_relabel_configs"] = [relabel(rule) for rule in scrape.metric_relabel_configs]
    return out


def relabel(rule: RelabelRule) -> dict[str, Any]:
    """A relabel_config as Prometheus reads it: the action and the fields the spec set (the rest keep
    Prometheus' defaults)."""
    return rule.model_dump(exclude_none=True) | {"action": rule.action}

"""prometheus.yml: scrape jobs, rule files and the Alertmanager it alerts."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.models import Spec
from stackgen.spec.scrape import RelabelRule, Scrape
from stackgen.targets.prometheus.rules import rule_files


def render(stack: Stack) -> list[Artifact]:
    return [yaml_artifact(names.PROMETHEUS_CONFIG, server_config(stack.spec), names.header(stack.spec_name))]


def server_config(spec: Spec, host_of: dict[str, str] | None = None) -> dict[str, Any]:
    """prometheus.yml. `host_of` maps component/service names to addresses (the native runtime uses it)."""
    host_of = host_of or {}
    prom, am = spec.prometheus, spec.alertmanager

    def addr(name: str, default_host: str, port: int) -> str:
        return host_of.get(name, f"{default_host}:{port}")

    scrape = [
        {"job_name": "prometheus", "static_configs": [{"targets": [addr("prometheus", prom.host, prom.port)]}]},
        {"job_name": "alertmanager", "static_configs": [{"targets": [addr("alertmanager", am.host, am.port)]}]},
    ]
    for service in spec.services:
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
        scrape.append(job)
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": str(prom.scrape_interval),
            "scrape_timeout": str(prom.scrape_timeout),
            "evaluation_interval": str(prom.evaluation_interval),
        },
        "rule_files": rule_files(spec),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [addr("alertmanager", am.host, am.port)]}]}]},
        "scrape_configs": scrape,
    }
    if prom.external_labels:
        config["global"]["external_labels"] = dict(prom.external_labels)
    return config


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

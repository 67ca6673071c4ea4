"""prometheus.yml: scrape jobs, rule files and the Alertmanager it alerts."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.models import Spec
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

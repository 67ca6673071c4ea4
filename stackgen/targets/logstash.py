"""Logs: the Logstash pipeline (Jinja2, no emitter exists for its language), logstash.yml, pipelines.yml,
and one Elasticsearch index template per service, all from the service's declared log schema."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import json_artifact, yaml_artifact
from stackgen.output.templating import template
from stackgen.resolve import Stack
from stackgen.spec.logs import ServiceLogs
from stackgen.spec.models import Spec
from stackgen.spec.service import Service

# Log schema type -> Logstash mutate convert target (only numbers and booleans need converting).
_CONVERT = {"float": "float", "integer": "integer", "long": "integer", "boolean": "boolean"}


def render(stack: Stack) -> list[Artifact]:
    spec = stack.spec
    services = [s for s in spec.services if s.logs is not None]
    if not services:
        return []
    header = names.header(stack.spec_name)
    out = [
        Artifact(names.LOGSTASH_PIPELINE, pipeline_text(spec, header)),
        yaml_artifact(names.LOGSTASH_CONFIG, logstash_settings(), header),
        yaml_artifact(names.LOGSTASH_PIPELINES, pipelines(), header),
    ]
    for service in services:
        assert service.logs is not None
        out.append(
            json_artifact(
                names.index_template_file(service.name), index_template(spec, service, service.logs)
            )
        )
    return out


def pipeline_text(spec: Spec, header: str) -> str:
    logging = spec.logging
    services = []
    for service in spec.services:
        logs = service.logs
        if logs is None:
            continue
        services.append(
            {
                "name": service.name,
                "path": names.logstash_log_path(logging.log_mount, service.name, logs.file),
                "sincedb": names.logstash_sincedb(service.name),
                "logger_field": logs.logger_field,
                "level_field": logs.level_field,
                "timestamp_field": logs.timestamp_field,
                "security_logger": logs.security_logger,
                "error_level": logs.error_level,
                "converts": [
                    {"name": f.name, "to": _CONVERT[f.type]} for f in logs.fields if f.type in _CONVERT
                ],
                "logs_index": names.logs_index(service.name),
                "errors_index": names.errors_index(service.name),
                "template_path": f"{names.LOGSTASH_TEMPLATES_MOUNT}/"
                f"{names.index_template_file(service.name).rsplit('/', 1)[1]}",
                "template_name": names.index_template_name(service.name),
            }
        )
    return template(names.LOGSTASH_TEMPLATE).render(
        header=header,
        input=logging.input,
        beats_port=logging.beats_port,
        services=services,
        es_url=logging.elasticsearch.url,
        security_tag=names.SECURITY_TAG,
        error_tag=names.ERROR_TAG,
        debug_stdout=logging.debug_stdout,
    )


def logstash_settings() -> dict[str, Any]:
    # Plain field names (no ECS renaming) so the documents keep the log schema's keys.
    return {
        "http.host": "0.0.0.0",
        "pipeline.ecs_compatibility": "disabled",
        "config.reload.automatic": False,
    }


def pipelines() -> list[dict[str, Any]]:
    return [{"pipeline.id": "main", "path.config": f"{names.LOGSTASH_PIPELINE_MOUNT}/*.conf"}]


def index_template(spec: Spec, service: Service, logs: ServiceLogs) -> dict[str, Any]:
    """A composable index template (ES 8) covering the daily logs and errors indices."""
    properties: dict[str, Any] = {
        "@timestamp": {"type": "date"},
        "tags": {"type": "keyword"},
    }
    for f in logs.fields:
        mapping: dict[str, Any] = {"type": f.type}
        if f.type == "date":
            mapping["format"] = "strict_date_optional_time"
        if f.type == "text":
            mapping["fields"] = {"keyword": {"type": "keyword", "ignore_above": 1024}}
        properties[f.name] = mapping
    return {
        "index_patterns": names.index_patterns(service.name),
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": spec.logging.shards,
                "number_of_replicas": spec.logging.replicas,
            },
            "mappings": {"dynamic": True, "properties": properties},
        },
        "_meta": {"generated_by": "stackgen", "service": service.name},
    }

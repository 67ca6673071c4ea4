"""Logs: the service's log schema and the Logstash pipeline that ships it (see the logstash target).

The schema (the fields a service writes in each JSON line) is declared once; the Logstash pipeline,
the Elasticsearch index template and the Grafana logs datasource are all derived from it, and every
field the pipeline reads must be in it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from stackgen.output.quoting import logstash_string_problem
from stackgen.spec.server import Server
from stackgen.spec.types import Port, StrictModel, clean_folder

FieldName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
FieldType = Literal["date", "keyword", "text", "float", "integer", "long", "boolean"]


def _file_name(name: str) -> str:
    if name in (".", ".."):
        raise ValueError(f"{name!r} names a folder, not a log file")
    return name


def _logstash_text(value: str) -> str:
    if problem := logstash_string_problem(value):
        raise ValueError(f"cannot be written into the Logstash pipeline: it {problem}")
    return value


# A value the pipeline writes as a string literal.
LogstashText = Annotated[str, AfterValidator(_logstash_text)]


class LogField(StrictModel):
    name: FieldName
    type: FieldType
    required: bool = Field(True, description="present on every line (false: only on some lines)")
    description: str = ""


class ServiceLogs(StrictModel):
    """The fields a service writes to its JSON log, and where the log lives."""

    file: Annotated[str, Field(pattern=r"^[\w.-]+$"), AfterValidator(_file_name)] = Field(
        description="log file name inside the log folder"
    )
    directory: Annotated[str, Field(pattern=r"^/\S*$"), AfterValidator(clean_folder)] = Field(
        "/app/logs", description="log folder in the container"
    )
    directory_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = Field(
        None, description="environment variable that tells the service its log folder"
    )
    timestamp_field: FieldName = "timestamp"
    level_field: FieldName = "level"
    logger_field: FieldName = "logger"
    message_field: FieldName = "message"
    trace_id_field: FieldName | None = Field(None, description="links log lines to traces in Grafana")
    security_logger: LogstashText = Field("security", description="lines of this logger are tagged `security`")
    error_level: LogstashText = Field("ERROR", description="lines at this level are tagged `error`")
    fields: list[LogField] = Field(min_length=1, description="the log schema")

    @model_validator(mode="after")
    def _unique(self) -> ServiceLogs:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate log field {duplicates[0]!r}")
        return self

    def field(self, name: str) -> LogField | None:
        return next((f for f in self.fields if f.name == name), None)


def _shards(count: int) -> int:
    if count > 1024:
        raise ValueError(f"{count} shards: Elasticsearch allows at most 1024 per index")
    return count


class Logging(StrictModel):
    """The log pipeline backends (Logstash, Elasticsearch, Kibana)."""

    input: Literal["file", "beats"] = Field(
        "file", description="file: tail the JSON log; beats: receive from Filebeat"
    )
    beats_port: Port = 5044
    debug_stdout: bool = Field(False, description="also print every event (rubydebug) on Logstash's stdout")
    log_mount: Annotated[
        str,
        Field(pattern=r"^/\S*[^/]$"),
        AfterValidator(_logstash_text),
        AfterValidator(clean_folder),
    ] = Field(
        "/var/log/stackgen",
        description="where service log folders are mounted in Logstash: <log_mount>/<service>/",
    )
    logstash: Server = Field(
        default_factory=lambda: Server(
            image="docker.elastic.co/logstash/logstash:8.15.3", host="logstash", port=9600
        ),
        description="port: the monitoring API (health checks)",
    )
    elasticsearch: Server = Field(
        default_factory=lambda: Server(
            image="docker.elastic.co/elasticsearch/elasticsearch:8.15.3", host="elasticsearch", port=9200
        )
    )
    kibana: Server = Field(
        default_factory=lambda: Server(image="docker.elastic.co/kibana/kibana:8.15.3", host="kibana", port=5601)
    )
    shards: Annotated[int, Field(ge=1), AfterValidator(_shards)] = 1
    replicas: int = Field(0, ge=0, description="0 for a single-node cluster")

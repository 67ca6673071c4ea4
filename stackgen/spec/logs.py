"""Logs: the service's log schema and the Logstash pipeline that ships it (see the logstash target)."""

from __future__ import annotations

from stackgen.spec.types import StrictModel


class ServiceLogs(StrictModel):
    """The fields a service writes to its JSON log, and where the log lives."""


class Logging(StrictModel):
    """The log pipeline backends (Logstash, Elasticsearch)."""

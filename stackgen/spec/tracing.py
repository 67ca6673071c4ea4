"""Tracing: sampler and OTLP endpoint fed to the services, and the trace backend."""

from __future__ import annotations

from stackgen.spec.types import StrictModel


class Tracing(StrictModel):
    """Where services send spans."""

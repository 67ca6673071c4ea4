"""Tracing: sampler and OTLP endpoint fed to the services, and the trace backend (Jaeger all-in-one)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from stackgen.spec.types import Port, StrictModel


class Tracing(StrictModel):
    """Where services send spans, and how many."""

    enabled: bool = True
    sampler_ratio: float = Field(1.0, ge=0, le=1, description="parent-based trace-id ratio sampler argument")
    otlp_endpoint: Annotated[str, Field(pattern=r"^https?://\S+$")] = Field(
        "http://jaeger:4318", description="OTLP endpoint the services export to"
    )
    otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    jaeger_image: str = "jaegertracing/all-in-one:1.62.0"
    jaeger_host: str = "jaeger"
    jaeger_ui_port: Port = 16686
    otlp_http_port: Port = 4318
    otlp_grpc_port: Port = 4317

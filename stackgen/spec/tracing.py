"""Tracing: sampler and OTLP endpoint fed to the services, and the trace backend (Jaeger all-in-one)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stackgen.spec.server import Server
from stackgen.spec.types import HttpUrl, Port, StrictModel


class Jaeger(Server):
    """Jaeger all-in-one: `port` is the UI/query port (Grafana's datasource), plus its OTLP receivers."""

    otlp_grpc_port: Port = 4317
    otlp_http_port: Port = 4318


class Tracing(StrictModel):
    """Where services send spans, and how many."""

    enabled: bool = True
    # 1%: what the bundled service can trace within a 3% throughput budget on CPU and GPU (a sampled
    # request costs far more CPU in the Python SDK than an unsampled one; bench/results/service.md).
    # 1.0 traces everything.
    sampler_ratio: float = Field(
        0.01, ge=0, le=1, description="parent-based trace-id ratio sampler argument: the fraction of new traces recorded"
    )
    otlp_endpoint: HttpUrl | None = Field(
        None,
        description="OTLP endpoint the services export to; default: the Jaeger OTLP receiver of otlp_protocol",
    )
    otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    jaeger: Jaeger = Field(
        default_factory=lambda: Jaeger(image="jaegertracing/all-in-one:1.62.0", host="jaeger", port=16686)
    )

    @property
    def endpoint(self) -> str:
        """The OTLP endpoint in effect: the explicit one, else Jaeger's receiver for the protocol."""
        if self.otlp_endpoint:
            return self.otlp_endpoint
        port = self.jaeger.otlp_http_port if self.otlp_protocol == "http/protobuf" else self.jaeger.otlp_grpc_port
        return f"http://{self.jaeger.host}:{port}"

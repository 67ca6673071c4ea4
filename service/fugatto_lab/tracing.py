"""OpenTelemetry tracing: an OTLP/HTTP exporter (Jaeger ingests OTLP natively).

Tracing is off unless ``TRACING_ENABLED=true``. When it is off no provider, exporter or
instrumentation is created at all, so the request path pays nothing.

Sampling follows ``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG`` (config.py) but is decided
*before* any span exists: :meth:`Tracing.request_context` reads the incoming ``traceparent`` and
the ratio, and an unsampled request creates no span objects at all. Letting the SDK sampler
decide instead costs a span, a context attach and a sampler call per request even when nothing
is recorded; at a few percent sampling that was most of tracing's cost. The provider itself
samples ``ALWAYS_ON``: every span it is asked for belongs to a sampled request (the generation
spans are only started under a recording parent). The exporter is wrapped
to remember the outcome of its last export, which ``/health/detailed`` reports: a collector
that is down degrades observability, not the service, so it shows as a warning.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from . import __version__
from .config import SERVICE_NAME, Settings

GENERATE_SPAN = "model.generate_audio"
INFERENCE_SPAN = "model.inference"


class RecordingExporter(SpanExporter):
    """Delegates to a real exporter and keeps the result of the last export for health checks."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.last_result: str | None = None
        self.last_export_at: float | None = None
        self.failures = 0
        self.exported_spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:  # an exporter bug must not kill the export thread
            result = SpanExportResult.FAILURE
        with self._lock:
            self.last_result = result.name
            self.last_export_at = time.time()
            if result is SpanExportResult.SUCCESS:
                self.exported_spans += len(spans)
            else:
                self.failures += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


@dataclass
class Tracing:
    """What the app needs from tracing: a tracer (or None when off) and health details."""

    enabled: bool
    provider: TracerProvider | None = None
    tracer: trace.Tracer | None = None
    exporter: RecordingExporter | None = None
    endpoint: str | None = None
    sampler: str = "parentbased_traceidratio"
    sample_ratio: float = 1.0  # of new traces
    follow_parent: bool = True
    details: dict[str, object] = field(default_factory=dict)
    # Sampling needs no cryptographic randomness; a private generator avoids a syscall per call.
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def request_context(self, headers: Mapping[str, str]) -> Context | None:
        """The context to start a request's server span in, or None when it is not sampled.

        ``headers`` holds the request's ``traceparent``/``tracestate``/``baggage`` (possibly none).
        With a parent-based sampler a valid incoming ``traceparent`` decides by its sampled flag;
        otherwise the request is sampled at the ratio, continuing the caller's trace if it sent one.
        """
        context = propagate.extract(headers) if headers else None
        if context is not None and self.follow_parent:
            remote = trace.get_current_span(context).get_span_context()
            if remote.is_valid:
                return context if remote.trace_flags.sampled else None
        if self.sample_ratio >= 1.0 or self._random.random() < self.sample_ratio:
            return context if context is not None else Context()
        return None

    def health(self) -> dict[str, object]:
        if not self.enabled:
            return {
                "status": "healthy",
                "enabled": False,
                "details": "tracing disabled (TRACING_ENABLED=false)",
            }
        exp = self.exporter
        info: dict[str, object] = {
            "enabled": True,
            "endpoint": self.endpoint,
            "sampler": self.sampler,
            "sample_ratio": self.sample_ratio,
            "exporter": type(exp.inner).__name__ if exp else None,
        }
        if exp is None or exp.last_result is None:
            return {"status": "healthy", **info, "details": "no spans exported yet"}
        info.update(
            last_export=exp.last_result,
            last_export_at=exp.last_export_at,
            exported_spans=exp.exported_spans,
            failed_exports=exp.failures,
        )
        if exp.last_result != "SUCCESS":
            return {"status": "warning", **info, "details": "last span export failed; is the collector up?"}
        return {"status": "healthy", **info, "details": "exporting"}

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def setup_tracing(settings: Settings, exporter: SpanExporter | None = None) -> Tracing:
    """Build a provider for this app.

    ``exporter`` (tests: in-memory) replaces OTLP and is exported to synchronously.
    """
    if not settings.tracing_enabled:
        return Tracing(enabled=False)
    resource = Resource.create({"service.name": SERVICE_NAME, "service.version": __version__})
    # Requests are sampled before their first span exists (module docstring).
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.traces_endpoint
        recording = RecordingExporter(OTLPSpanExporter(endpoint=endpoint, timeout=5))
        provider.add_span_processor(BatchSpanProcessor(recording))
    else:
        endpoint = "in-process"
        recording = RecordingExporter(exporter)
        provider.add_span_processor(SimpleSpanProcessor(recording))
    return Tracing(
        enabled=True,
        provider=provider,
        tracer=provider.get_tracer("fugatto_lab", __version__),
        exporter=recording,
        endpoint=endpoint,
        sampler=settings.trace_sampler,
        sample_ratio=settings.new_trace_ratio,
        follow_parent=settings.trace_follows_parent,
    )

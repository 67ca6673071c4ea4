"""Spans for the HTTP request, model.generate_audio and model.inference, recorded in memory."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fugatto_lab.config import ConfigError, settings_from_env
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .conftest import generate, running


def test_generation_spans_with_attributes(settings, json_logs):
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True), span_exporter=exporter) as client:
        from fugatto_lab.logging_setup import configure_logging

        configure_logging("INFO", settings.log_dir, tracing=True)
        r = generate(client, prompt="low cello drone", duration=0.25)
        assert r.status_code == 200
        spans = {s.name: s for s in exporter.get_finished_spans()}
        gen, inf = spans["model.generate_audio"], spans["model.inference"]
        assert gen.attributes["prompt.length"] == len("low cello drone")
        assert gen.attributes["audio.duration"] == 0.25
        assert gen.attributes["audio.generated_samples"] == 4000
        assert gen.attributes["batch.size"] == 1
        assert inf.attributes["batch.size"] == 1 and inf.attributes["audio.generated_samples"] == 4000
        assert inf.attributes["model.name"] == "fugatto-synth-v1"
        assert inf.parent.span_id == gen.context.span_id
        server = [s for s in exporter.get_finished_spans() if s.attributes.get("http.route") == "/generate"
                  or s.name.startswith("POST /generate")]
        assert server and gen.context.trace_id == server[0].context.trace_id
        assert gen.parent is not None
        health = client.get("/health/detailed").json()["checks"]["tracing"]
        assert health["enabled"] is True and health["last_export"] == "SUCCESS"
        entry = [json.loads(x) for x in json_logs() if r.headers["x-request-id"] in x][-1]
        assert entry["trace_id"] == format(gen.context.trace_id, "032x")
        assert len(entry["span_id"]) == 16


def test_probes_are_not_traced(settings):
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True), span_exporter=exporter) as client:
        client.get("/live")
        client.get("/ready")
        assert exporter.get_finished_spans() == ()


def test_fastapi_native_telemetry_stays_off_under_a_global_provider(settings, monkeypatch):
    """An operator may set a global tracer provider (or FASTAPI_OTEL_AUTO_CONFIGURE): FastAPI's own
    OpenTelemetry support must not add a second server span beside the service's."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    global_exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(global_exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True), span_exporter=exporter) as client:
        assert generate(client, duration=0.1).status_code == 200
    assert [s.name for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.SERVER] == ["POST /generate"]
    assert global_exporter.get_finished_spans() == ()


def test_no_tracing_objects_when_disabled(client):
    tracing = client.app.state.svc.tracing
    assert tracing.enabled is False and tracing.tracer is None and tracing.provider is None


def test_incoming_traceparent_is_continued(settings):
    exporter = InMemorySpanExporter()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with running(replace(settings, tracing_enabled=True), span_exporter=exporter) as client:
        r = generate(client, traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")
        assert r.status_code == 200
        spans = exporter.get_finished_spans()
        server = [s for s in spans if s.name == "POST /generate"][0]
        assert format(server.context.trace_id, "032x") == trace_id
        assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
        assert server.attributes["http.response.status_code"] == 200
        assert server.attributes["http.route"] == "/generate"
        assert {s.name for s in spans} >= {"POST /generate", "model.generate_audio", "model.inference"}
        assert all(format(s.context.trace_id, "032x") == trace_id for s in spans)


def test_unsampled_parent_creates_no_spans(settings):
    """A caller that did not sample the trace (flag 00) gets no spans from us, as parentbased_* says."""
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True), span_exporter=exporter) as client:
        r = generate(client, traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        assert r.status_code == 200
        assert exporter.get_finished_spans() == ()


def test_sampled_parent_is_recorded_even_at_ratio_zero(settings):
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True, trace_sample_ratio=0.0), span_exporter=exporter) as client:
        assert generate(client).status_code == 200
        assert exporter.get_finished_spans() == ()  # a new trace at ratio 0: nothing
        r = generate(client, traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        assert r.status_code == 200
        assert {s.name for s in exporter.get_finished_spans()} == {
            "POST /generate", "model.generate_audio", "model.inference"}


def test_new_traces_are_sampled_at_the_configured_ratio(settings):
    """Whole request trees are kept or dropped together, at about the configured ratio."""
    exporter = InMemorySpanExporter()
    with running(replace(settings, tracing_enabled=True, trace_sample_ratio=0.25), span_exporter=exporter) as client:
        client.app.state.svc.tracing._random.seed(7)  # a fixed sequence: the count below is exact
        for _ in range(200):
            assert generate(client, duration=0.1).status_code == 200
        spans = exporter.get_finished_spans()
        by_name = {name: sum(s.name == name for s in spans) for name in
                   ("POST /generate", "model.generate_audio", "model.inference")}
        assert len(set(by_name.values())) == 1, by_name  # no orphan children, no childless roots
        assert 30 <= by_name["POST /generate"] <= 70, by_name  # binomial(200, 0.25): mean 50, sd 6


def test_sampler_settings_from_the_standard_environment():
    default = settings_from_env({})
    assert (default.trace_sampler, default.new_trace_ratio, default.trace_follows_parent) == (
        "parentbased_traceidratio", 0.01, True)
    assert settings_from_env({"OTEL_TRACES_SAMPLER_ARG": "0.5"}).new_trace_ratio == 0.5
    assert settings_from_env({"OTEL_TRACES_SAMPLER": "parentbased_always_on"}).new_trace_ratio == 1.0
    always_off = settings_from_env({"OTEL_TRACES_SAMPLER": "always_off", "OTEL_TRACES_SAMPLER_ARG": "1"})
    assert (always_off.new_trace_ratio, always_off.trace_follows_parent) == (0.0, False)
    with pytest.raises(ConfigError, match="OTEL_TRACES_SAMPLER='jaeger_remote': expected one of"):
        settings_from_env({"OTEL_TRACES_SAMPLER": "jaeger_remote"})
    with pytest.raises(ConfigError, match="OTEL_TRACES_SAMPLER_ARG"):
        settings_from_env({"OTEL_TRACES_SAMPLER_ARG": "1.5"})


def test_non_parent_based_sampler_ignores_the_callers_decision(settings):
    """always_on records a request whose caller did not sample it, continuing the caller's trace id."""
    exporter = InMemorySpanExporter()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with running(replace(settings, tracing_enabled=True, trace_sampler="always_on"), span_exporter=exporter) as client:
        r = generate(client, traceparent=f"00-{trace_id}-00f067aa0ba902b7-00")
        assert r.status_code == 200
        spans = exporter.get_finished_spans()
        assert len(spans) == 3 and all(format(s.context.trace_id, "032x") == trace_id for s in spans)

"""The tracing environment a service gets in compose and Kubernetes, from the spec's tracing section.

The single source of these variables: both deployments call this helper, and resolve rejects a
service `env` that sets any of names.TRACING_ENV_VARS, so they cannot disagree. The service reads
the standard OpenTelemetry variables (endpoint, protocol, sampler and its argument, service name)
plus TRACING_ENABLED, its own switch.
"""

from __future__ import annotations

from stackgen.model import names
from stackgen.model.promql import number
from stackgen.spec.models import Spec
from stackgen.spec.service import Service


def service_tracing_env(spec: Spec, service: Service) -> dict[str, str]:
    tracing = spec.tracing
    env = {names.TRACING_ENABLED_ENV: "true" if tracing.enabled else "false"}
    if tracing.enabled:
        env |= {
            "OTEL_EXPORTER_OTLP_ENDPOINT": tracing.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": tracing.otlp_protocol,
            "OTEL_TRACES_SAMPLER": names.OTEL_SAMPLER,
            "OTEL_TRACES_SAMPLER_ARG": number(tracing.sampler_ratio),
            "OTEL_SERVICE_NAME": service.name,
        }
    assert set(env) <= set(names.TRACING_ENV_VARS), "names.TRACING_ENV_VARS must list every variable"
    return env

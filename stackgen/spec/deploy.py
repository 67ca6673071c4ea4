"""Deployment targets: the docker compose stack, Kubernetes manifests, and per-environment overrides.

Component images live here (not in the grafana/logging/tracing sections) so the compose stack is
complete on its own; every image is a pinned reference, checked on construction.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from stackgen.spec.service import Resources
from stackgen.spec.types import Port, SecretRef, ServiceName, StrictModel

_FLOATING_TAGS = {"latest", "main", "master", "stable", "edge", "nightly", "dev"}
_IMAGE_RE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._/-]*(?::\d+/[a-z0-9._/-]+)?)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned to an exact version, or None when it is.

    Shared by the spec (input) and the deploy validators (output), so both reject the same images.
    """
    match = _IMAGE_RE.match(image)
    if not match:
        return f"image {image!r} is not a valid image reference"
    tag, digest = match.group("tag"), match.group("digest")
    if digest:
        return None
    if not tag:
        return f"image {image!r} has no tag: pin an exact version such as 'name:1.2.3'"
    if tag in _FLOATING_TAGS or not any(c.isdigit() for c in tag):
        return f"image {image!r} is not pinned: tag {tag!r} moves; use an exact version such as '1.2.3'"
    return None


def _pinned(image: str) -> str:
    if problem := image_problem(image):
        raise ValueError(problem)
    return image


PinnedImage = Annotated[str, AfterValidator(_pinned)]
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
LabelValue = Annotated[str, Field(pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", max_length=63)]
LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]


class Component(StrictModel):
    """A third-party server of the local stack: its pinned image and the port it serves."""

    image: PinnedImage
    port: Port


class GrafanaComponent(Component):
    admin_password: SecretRef = Field(
        default_factory=lambda: SecretRef(file="/run/secrets/grafana-admin-password"),
        description="Grafana reads it through GF_SECURITY_ADMIN_PASSWORD__FILE; there is no default password",
    )


class JaegerComponent(Component):
    otlp_grpc_port: Port = 4317
    otlp_http_port: Port = 4318


class Components(StrictModel):
    grafana: GrafanaComponent = GrafanaComponent(image="grafana/grafana:11.3.0", port=3000)
    elasticsearch: Component = Component(
        image="docker.elastic.co/elasticsearch/elasticsearch:8.15.3", port=9200
    )
    logstash: Component = Component(image="docker.elastic.co/logstash/logstash:8.15.3", port=9600)
    kibana: Component = Component(image="docker.elastic.co/kibana/kibana:8.15.3", port=5601)
    jaeger: JaegerComponent = JaegerComponent(image="jaegertracing/all-in-one:1.62.0", port=16686)


class Compose(StrictModel):
    """The local compose stack."""

    bind_address: str = Field(
        "127.0.0.1",
        pattern=r"^127\.\d+\.\d+\.\d+$",
        description="published ports bind here; a local stack never listens publicly",
    )
    components: Components = Field(default_factory=Components)
    elasticsearch_heap: Annotated[str, Field(pattern=r"^\d+[mg]$")] = "1g"


class Autoscaling(StrictModel):
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    cpu_utilization: int = Field(80, ge=1, le=100, description="target average CPU utilization, percent")

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class Kubernetes(StrictModel):
    """Kubernetes manifests and prometheus-operator resources."""

    namespace: K8sName = "monitoring-apps"
    monitor_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="labels the Prometheus CR's serviceMonitorSelector matches on the ServiceMonitors",
    )
    rule_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="labels the Prometheus CR's ruleSelector matches on the PrometheusRules",
    )
    run_as_user: int = Field(10001, ge=1, description="non-root UID of the service containers")
    read_only_root_filesystem: bool = True
    autoscaling: dict[ServiceName, Autoscaling] = Field(
        default_factory=dict, description="a HorizontalPodAutoscaler per named service (optional)"
    )
    alertmanager_replicas: int = Field(1, ge=1)


class ServiceOverride(StrictModel):
    """What one environment changes for one service."""

    replicas: int | None = Field(None, ge=1)
    resources: Resources | None = None
    alert_thresholds: dict[Annotated[str, Field(pattern=r"^[A-Z][a-zA-Z0-9]*$")], float] = Field(
        default_factory=dict, description="alert name -> threshold, in the alert's own unit"
    )


class Environment(StrictModel):
    """A deployment environment: one kustomize overlay over the base (which holds the design values)."""

    name: K8sName
    services: dict[ServiceName, ServiceOverride] = Field(default_factory=dict)

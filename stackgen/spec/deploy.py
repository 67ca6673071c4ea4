"""Deployment targets: the docker compose stack, Kubernetes manifests, and per-environment overrides.

The third-party servers' images, hosts and ports are not here: each lives in its own section
(`grafana`, `logging`, `tracing`; see stackgen.spec.server) and the deploy targets read it from there.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from stackgen.spec.service import Resources
from stackgen.spec.types import Replicas, ServiceName, StrictModel

K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
LabelValue = Annotated[str, Field(pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", max_length=63)]
LabelKey = Annotated[str, Field(pattern=r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]


class Compose(StrictModel):
    """The local compose stack."""

    bind_address: str = Field(
        "127.0.0.1",
        pattern=r"^127\.\d+\.\d+\.\d+$",
        description="published ports bind here; a local stack never listens publicly",
    )
    elasticsearch_heap: Annotated[str, Field(pattern=r"^\d+[mg]$")] = "1g"


class Autoscaling(StrictModel):
    min_replicas: Replicas
    max_replicas: Replicas
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
    alertmanager_replicas: Replicas = 1


class ServiceOverride(StrictModel):
    """What one environment changes for one service."""

    replicas: Replicas | None = None
    resources: Resources | None = None
    alert_thresholds: dict[Annotated[str, Field(pattern=r"^[A-Z][a-zA-Z0-9]*$")], float] = Field(
        default_factory=dict, description="alert name -> threshold, in the alert's own unit"
    )


class Environment(StrictModel):
    """A deployment environment: one kustomize overlay over the base (which holds the design values)."""

    name: K8sName
    services: dict[ServiceName, ServiceOverride] = Field(default_factory=dict)

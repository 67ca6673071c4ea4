"""The root of the spec: what a user writes in stack.yaml (`apiVersion: stackgen/v1`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from stackgen.spec.alertmanager import Alertmanager
from stackgen.spec.deploy import Compose, Environment, Kubernetes
from stackgen.spec.grafana import Grafana
from stackgen.spec.logs import Logging
from stackgen.spec.prometheus import Prometheus
from stackgen.spec.service import Service
from stackgen.spec.tracing import Tracing
from stackgen.spec.types import StrictModel


class Spec(StrictModel):
    """A whole monitoring stack: services with their contracts, and the servers around them."""

    api_version: Literal["stackgen/v1"] = Field(alias="apiVersion")
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", description="the stack's name")]
    services: list[Service] = Field(min_length=1)
    prometheus: Prometheus = Field(default_factory=Prometheus)
    alertmanager: Alertmanager
    grafana: Grafana = Field(default_factory=Grafana)
    logging: Logging = Field(default_factory=Logging)
    tracing: Tracing = Field(default_factory=Tracing)
    compose: Compose = Field(default_factory=Compose)
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    environments: list[Environment] = Field(
        default_factory=list, description="deployment environments: one kustomize overlay each")

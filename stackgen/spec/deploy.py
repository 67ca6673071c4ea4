"""Deployment targets: the docker compose stack and Kubernetes manifests."""

from __future__ import annotations

from stackgen.spec.types import StrictModel


class Compose(StrictModel):
    """The local compose stack."""


class Kubernetes(StrictModel):
    """Kubernetes manifests and prometheus-operator resources."""

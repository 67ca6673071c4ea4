"""Grafana: dashboards per service and the Grafana server settings (see the grafana target)."""

from __future__ import annotations

from stackgen.spec.types import StrictModel


class ServiceDashboards(StrictModel):
    """Dashboards generated for one service."""


class Grafana(StrictModel):
    """The Grafana server the dashboards are provisioned into."""

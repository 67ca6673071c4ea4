"""Grafana: provisioning, the dashboards as builder-neutral data, and the grafanalib builder."""

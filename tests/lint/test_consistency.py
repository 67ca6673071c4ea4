"""Ports, probes and scrape targets agree across spec, prometheus.yml, compose and Kubernetes."""

from __future__ import annotations

import pytest

from stackgen.pipeline import lint

from .conftest import REPO, SPEC_TEXT, errors, mutate, replace_once

K8S = "k8s/base/fugatto-audio-lab-"


@pytest.mark.parametrize(("path", "old", "new", "rule", "spec_path", "says"), [
    ("prometheus/prometheus.yml", "fugatto-audio-lab:8001", "fugatto-audio-lab:9001",
     "scrape-target-mismatch", "ports.metrics", "scrapes fugatto-audio-lab:9001"),
    ("compose/docker-compose.yml", "127.0.0.1:8001:8001", "127.0.0.1:8001:9001",
     "compose-port-mismatch", "ports.metrics", "does not publish container port 8001"),
    ("compose/docker-compose.yml", "http://127.0.0.1:8000/health", "http://127.0.0.1:8000/healthz",
     "compose-healthcheck-mismatch", "probes.health.path", "/healthz"),
    (K8S + "deployment.yaml", "path: /ready\n            port: http\n          initialDelaySeconds: 30",
     "path: /readyz\n            port: http\n          initialDelaySeconds: 30",
     "k8s-probe-mismatch", "probes.readiness.path", "readinessProbe requests /readyz"),
    (K8S + "deployment.yaml", "failureThreshold: 60\n          httpGet:\n            path: /ready\n",
     "failureThreshold: 60\n          httpGet:\n            path: /readyz\n",
     "k8s-probe-mismatch", "probes.startup.path", "startupProbe requests /readyz"),
    (K8S + "deployment.yaml", "containerPort: 8001", "containerPort: 9001",
     "k8s-port-mismatch", "ports.metrics", "container port 'metrics' is 9001"),
    (K8S + "deployment.yaml", "prometheus.io/port: '8001'", "prometheus.io/port: '8000'",
     "k8s-annotation-mismatch", "ports.metrics", "prometheus.io/port is '8000'"),
    (K8S + "service.yaml", "targetPort: metrics", "targetPort: 9999",
     "k8s-service-port-mismatch", "ports", "targets 9999"),
    (K8S + "servicemonitor.yaml", "port: metrics", "port: http",
     "servicemonitor-mismatch", "ports.metrics", "port 'http' reaches 8000"),
])
def test_a_generated_file_disagreeing_with_the_spec(committed, path, old, new, rule, spec_path, says):
    stack, artifacts = committed
    found = errors(lint(stack, mutate(artifacts, path, old, new), REPO))
    # a wrong container port also breaks what routes to it (Service, ServiceMonitor): reported too
    assert {f.rule for f in found} <= {rule, "k8s-service-port-mismatch", "servicemonitor-mismatch"}
    mine = [f for f in found if f.rule == rule]
    assert len(mine) == 1, found
    assert mine[0].location().endswith(f"services[0].{spec_path}")
    assert says in mine[0].message and path in mine[0].message
    assert "stackgen render" in mine[0].fix


def test_command_port_contradicting_ports(lint_text):
    text = replace_once(SPEC_TEXT, '--metrics-port, "8001"]', '--metrics-port, "9001"]')
    found = errors(lint_text(text))
    assert "port-command-mismatch" in [f.rule for f in found]
    f = next(f for f in found if f.rule == "port-command-mismatch")
    assert "services[0].command[8]" in f.location() and "--metrics-port 9001" in f.message and "8001" in f.message

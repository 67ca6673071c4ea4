"""The starting spec `stackgen init` writes: one service, its metric contract, two alerts and one
route, with comments that say what to change. A text constant, because YAML comments survive no
emitter; the one substituted value is a name checked against the service-name pattern first."""

from __future__ import annotations

import re

from stackgen.spec.types import ServiceName

# The stack and its service share the name; the service pattern is the narrower of the two.
NAME_PATTERN: str = ServiceName.__metadata__[0].metadata[0].pattern
_PLACEHOLDER = "__NAME__"

TEMPLATE = """\
# yaml-language-server: $schema=generated/stackgen.schema.json
# A starting stack spec. Fields marked "required" must stay; docs/spec.md describes every field.
# Next: `stackgen render` writes generated/, `stackgen check` proves it, `stackgen lint` reviews it.
apiVersion: stackgen/v1  # required
name: __NAME__  # required: the stack's name, lowercase letters, digits and dashes

services:  # required: at least one
  - name: __NAME__  # required: the Prometheus job and the `service` label of every alert
    team: my-team  # required: the `team` label, which Alertmanager routes on
    image: {repository: example/__NAME__, tag: "0.1.0"}  # required: a pinned tag, never `latest`
    ports: {http: 8080, metrics: 8081}  # required: the metrics port is the one Prometheus scrapes
    resources:  # required: Kubernetes requests and limits
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: 500m, memory: 256Mi}
    probes:  # required: GET paths your app answers with 200
      liveness: {path: /live}
      readiness: {path: /ready}
      health: {path: /health}
    # openapi: openapi.json  # the app's exported OpenAPI document: `stackgen lint` checks the probe paths against it

    # The metric contract (required, at least one): exactly what the app exposes. Every alert,
    # SLO and panel is checked against it, and `stackgen lint --live` against the running app.
    metrics:
      - name: http_requests_total
        type: counter
        help: HTTP requests by route template and status code.
        labels: [route, code]
      - name: http_request_duration_seconds
        type: histogram
        help: HTTP request latency by route template.
        labels: [route]
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    # Each alert gets a promtool unit test and an Alertmanager routing test in generated/.
    alerts:
      - name: HighErrorRate
        kind: error_ratio
        severity: critical
        for: 5m
        bad: {metric: http_requests_total, matchers: ['code=~"5.."']}
        total: {metric: http_requests_total}
        threshold: 0.05  # 5% of requests
        summary: High HTTP error ratio
        description: "{{ $value | humanizePercentage }} of requests failed with a 5xx status."
        runbook_url: https://runbooks.example.com/__NAME__/HighErrorRate
      - name: SlowRequests
        kind: latency_quantile
        severity: warning
        for: 10m
        histogram: {metric: http_request_duration_seconds}
        quantile: 0.95
        threshold: 1  # seconds; a declared bucket
        summary: Requests are slow
        description: "95th percentile latency is {{ $value | humanizeDuration }}."
        runbook_url: https://runbooks.example.com/__NAME__/SlowRequests
      - name: ServiceDown
        kind: target_down
        severity: critical
        for: 1m
        summary: __NAME__ is down
        description: "The __NAME__ scrape target {{ $labels.instance }} is down or missing."
        runbook_url: https://runbooks.example.com/__NAME__/ServiceDown

# Required: where alerts go. Every severity your alerts use needs a route below the root.
alertmanager:
  route:
    receiver: default
    routes:
      - matchers: ['severity="critical"']
        receiver: oncall
      - matchers: ['severity="warning"']
        receiver: default
  receivers:
    - name: default
      webhook:
        - url: http://alerts.example.com/__NAME__
    - name: oncall
      webhook:
        - url: http://alerts.example.com/__NAME__/oncall
      # A secret is a reference, never a literal: slack: [{api_url: {file: /run/secrets/slack-url}, channel: "#oncall"}]
"""


def starter_spec(name: str) -> str:
    """The starting spec for one service called `name`; ValueError when the name is not a service name."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"{name!r} is not a service name: lowercase letters, digits and dashes, starting with a "
                         f"letter, not ending with a dash, 2 to 53 characters")
    return TEMPLATE.replace(_PLACEHOLDER, name)

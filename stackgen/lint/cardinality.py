"""No label of the metric contract may take unbounded values (each value is a new series forever).

Rule id: cardinality-unbounded-label.
"""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context

UNBOUNDED_NAMES = frozenset({
    "path", "url", "uri", "user", "user_id", "username", "request_id", "session", "session_id", "email", "ip",
    "client_ip", "address", "prompt", "query", "trace_id", "span_id", "timestamp",
})
UNBOUNDED_SUFFIXES = ("_id", "_seconds", "_bytes")


def unbounded(label: str) -> bool:
    return label in UNBOUNDED_NAMES or label.endswith(UNBOUNDED_SUFFIXES)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for i, service in enumerate(ctx.spec.services):
        for j, metric in enumerate(service.metrics):
            for k, label in enumerate(metric.labels):
                if unbounded(label):
                    why = ("a raw number as a label value" if label.endswith(("_seconds", "_bytes"))
                           else "its values come from requests or users")
                    yield ctx.finding("cardinality-unbounded-label", ("services", i, "metrics", j, "labels", k),
                                      f"label {label!r} of {metric.name} is unbounded ({why}): every distinct "
                                      f"value is a new time series",
                                      "use a route template / bucket instead (e.g. endpoint=\"/items/{id}\", or a "
                                      "histogram for sizes and durations), or drop the label")

"""Parsing dashboard PromQL and listing the metrics it selects (shared by resolve and the grafana check).

Grafana variables are not PromQL: range variables are replaced by a duration and `$var` in label
values are already inside strings, so the parser sees valid PromQL with the same selectors.
"""

from __future__ import annotations

import re

import promql_parser

_RANGE_VARIABLES = re.compile(
    r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}"
)
# Series every Prometheus has, which a dashboard may select without a contract.
BUILTIN_SERIES = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}
)


class PromQLError(ValueError):
    pass


def selected_metrics(expr: str) -> list[str]:
    """Metric names selected by an expression, in order; raises PromQLError when it does not parse."""
    text = _RANGE_VARIABLES.sub("5m", expr)
    try:
        tree = promql_parser.parse(text)
    except (ValueError, RuntimeError) as exc:
        raise PromQLError(
            str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid PromQL"
        ) from None
    names: list[str] = []

    def visit(node: object) -> bool:
        selector = node
        if isinstance(node, promql_parser.MatrixSelector):
            selector = node.vector_selector
        if isinstance(selector, promql_parser.VectorSelector):
            name = selector.name or next(
                (m.value for m in selector.matchers.matchers if m.name == "__name__"), None
            )
            if name and name not in names:
                names.append(name)
        return True

    promql_parser.walk(tree, visit)
    return names


def is_recording_rule(name: str) -> bool:
    """Recording rules are named level:metric:operations; contract metrics never contain a colon."""
    return ":" in name

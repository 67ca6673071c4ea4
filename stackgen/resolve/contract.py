"""Checks of a selector against a service's metric contract, shared by alerts and SLOs."""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import Problem
from stackgen.spec.alerts import Selector
from stackgen.spec.load import Path_, Positions
from stackgen.spec.service import Service


def check_selector(service: Service, sel: Selector, where: Path_, positions: Positions, wanted: tuple[str, ...],
                   user: str) -> Iterator[Problem]:
    """The metric is in the contract, of a type `user` (e.g. "an alert of kind error_ratio") can use,
    and every matcher names a label the metric declares."""
    metric = service.metric(sel.metric)
    if metric is None:
        known = ", ".join(m.name for m in service.metrics)
        yield positions.problem((*where, "metric"), f"metric {sel.metric!r} is not in the metric contract of service "
                                                    f"{service.name!r} (declared: {known})")
        return
    if metric.type not in wanted:
        yield positions.problem((*where, "metric"), f"{user} needs a {' or '.join(wanted)}, and {metric.name!r} "
                                                    f"is a {metric.type}")
    for k, matcher in enumerate(sel.matchers):
        if matcher.label not in metric.labels:
            yield positions.problem((*where, "matchers", k), f"label {matcher.label!r} is not declared on "
                                                             f"{metric.name!r} (labels: {', '.join(metric.labels) or 'none'})")

"""Checks of a selector against a service's metric contract: the one checker for alerts, SLOs and panels."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from stackgen.diagnostics import Diagnostic
from stackgen.spec.load import Path_, Positions
from stackgen.spec.service import Metric, Service
from stackgen.spec.types import Matcher


class Selects(Protocol):
    """An alert's Selector, or a typed panel, which names its metric and matchers itself."""

    metric: str
    matchers: list[Matcher]


def check_selector(service: Service, sel: Selects, where: Path_, positions: Positions, wanted: tuple[str, ...],
                   user: str, owner: str = "") -> Iterator[Diagnostic]:
    """The metric is in the contract, of a type `user` (e.g. "a rate panel") can use,
    and every matcher names a label the metric declares. `owner` starts each message where the path
    alone does not say what is wrong (a panel's title)."""
    lead = f"{owner}: " if owner else ""
    metric = service.metric(sel.metric)
    if metric is None:
        known = ", ".join(m.name for m in service.metrics)
        yield positions.problem((*where, "metric"), f"{lead}metric {sel.metric!r} is not in the metric contract of "
                                                    f"service {service.name!r} (declared: {known})")
        return
    if metric.type not in wanted:
        yield positions.problem((*where, "metric"), f"{lead}{user} needs a {' or '.join(wanted)}, and "
                                                    f"{metric.name!r} is a {metric.type}")
    for k, matcher in enumerate(sel.matchers):
        if matcher.label not in metric.labels:
            yield positions.problem((*where, "matchers", k),
                                    f"{lead}label {matcher.label!r} is not declared on {metric.name!r} "
                                    f"(labels: {', '.join(metric.labels) or 'none'})")


def check_by(metric: Metric, by: list[str], where: Path_, positions: Positions, owner: str = "",
             also: Iterable[str] = ()) -> Iterator[Diagnostic]:
    """Every label of an aggregation's `by` is declared on the metric (or in `also`, labels every series has)."""
    lead = f"{owner}: " if owner else ""
    for k, label in enumerate(by):
        if label not in metric.labels and label not in also:
            yield positions.problem((*where, "by", k), f"{lead}cannot aggregate by {label!r}: not a label of "
                                                       f"{metric.name!r}")


def bucket_threshold_problem(metric: Metric, threshold: float) -> str | None:
    """Why a latency threshold cannot be tested against this histogram, or None when it is a bucket bound."""
    if not metric.buckets or threshold in metric.buckets[:-1]:
        return None
    return (f"threshold {threshold:g} must be one of the histogram's buckets below the largest, so the quantile "
            f"is not interpolated across it (buckets: {', '.join(f'{b:g}' for b in metric.buckets)})")

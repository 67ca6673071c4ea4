"""Recording rules stand in for contract metrics, so their names and result labels are checked here:
a unique name no contract metric has, a result that keeps `job` (every generated selector matches it)
and carries each declared label."""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.parsers.promql_analysis import PromQLError, SelectorInfo, analyze
from stackgen.spec.load import Path_, Positions
from stackgen.spec.models import Spec
from stackgen.spec.service import Service


def check_recording_rules(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    for i, service in enumerate(spec.services):
        seen: set[str] = set()
        for j, rule in enumerate(service.recording_rules):
            path: Path_ = ("services", i, "recording_rules", j)
            if rule.record in seen:
                yield positions.problem((*path, "record"), f"duplicate recording rule name {rule.record!r}")
            seen.add(rule.record)
            if any(m.name == rule.record for m in service.metrics):
                yield positions.problem((*path, "record"), f"{rule.record!r} is also a contract metric's name")
            yield from _check_labels(service, rule.expr, rule.labels, path, positions)


def _check_labels(service: Service, expr: str, declared: list[str], path: Path_,
                  positions: Positions) -> Iterator[Diagnostic]:
    def labels_of(sel: SelectorInfo) -> frozenset[str] | None:
        metric = service.metric(sel.metric or "")
        return None if metric is None else frozenset(["job", "instance", *metric.labels])

    try:
        result = analyze(expr, labels_of).result_labels
    except PromQLError:
        return  # the field's validator reported it
    if result is None:
        return
    if "job" not in result:
        yield positions.problem((*path, "expr"), "the result drops the `job` label, which every generated selector "
                                                 f"matches: keep it (e.g. sum by (job, ...)); result labels: "
                                                 f"{', '.join(sorted(result)) or 'none'}")
    for k, label in enumerate(declared):
        if label not in result:
            yield positions.problem((*path, "labels", k), f"label {label!r} is not in the result of the expression "
                                                          f"(result labels: {', '.join(sorted(result)) or 'none'})")

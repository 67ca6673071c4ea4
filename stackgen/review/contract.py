"""The metric contract: metrics, labels and buckets added and removed, and what the change leaves
broken that resolve does not refuse: a raw alert whose histogram_quantile threshold is not (or no
longer) a bucket boundary, and a metric removed from the contract that a raw alert still selects.

Typed alerts and SLOs are not checked here: resolve refuses a latency threshold off a bucket and a
metric outside the contract, so such a spec never reaches the report (its located error does)."""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser

from stackgen.model.promql import number
from stackgen.parsers.promql_analysis import PromQLError, parse
from stackgen.resolve import Stack
from stackgen.resolve.contract import bucket_threshold_problem
from stackgen.review.report import ADDED, CHANGED, REMOVED, WARNING, Entry, difference, field_changes, listed
from stackgen.review.sides import Side
from stackgen.review.values import show
from stackgen.spec.alerts import RawAlert
from stackgen.spec.service import Metric

_COMPARISONS = {">", ">=", "<", "<=", "==", "!="}


def metrics_of(stack: Stack) -> dict[tuple[str, str], Metric]:
    return {(s.name, m.name): m for s in stack.spec.services for m in s.metrics}


def _values(metric: Metric) -> dict[str, str]:
    out = {"type": metric.type, "labels": show(metric.labels)}
    if metric.buckets:
        out["buckets"] = show(metric.buckets)
    if metric.optional:
        out["optional"] = "true"
    return out


def compare(base: Side, head: Side) -> list[Entry]:
    before, after = metrics_of(base.stack), metrics_of(head.stack)
    out = [Entry(REMOVED, key[1], key[0]) for key in before.keys() - after.keys()]
    out += [Entry(ADDED, key[1], key[0], listed(_values(after[key]))) for key in after.keys() - before.keys()]
    for key in before.keys() & after.keys():
        old, new = before[key], after[key]
        fields = list(field_changes({"type": old.type, "help": old.help, "optional": show(old.optional)},
                                    {"type": new.type, "help": new.help, "optional": show(new.optional)}))
        fields += difference("labels", old.labels, new.labels)
        fields += difference("buckets", old.buckets or [], new.buckets or [])
        if fields:
            out.append(Entry(CHANGED, key[1], key[0], tuple(fields)))
    old_warnings = {(e.service, e.subject, e.message) for e in warnings(base, base)}
    for entry in warnings(base, head):
        if (entry.service, entry.subject, entry.message) in old_warnings:
            entry = Entry(WARNING, entry.subject, entry.service, notes=entry.notes,
                          message=entry.message + " (so already before)")
        out.append(entry)
    return out


def warnings(base: Side, head: Side) -> Iterator[Entry]:
    """What is wrong in `head` (compared with `base`'s contract for removed metrics). The message names
    no line, so the same problem before and after reads the same; the note says where it is.

    Only raw alerts are read: resolve refuses a typed alert, SLO or panel (raw PromQL panels included)
    that selects a metric outside the contract or puts a latency threshold off a bucket."""
    stack = head.stack
    removed = {key: m for key, m in metrics_of(base.stack).items() if key not in metrics_of(stack)}
    for i, service in enumerate(stack.spec.services):
        for j, alert in enumerate(service.alerts):
            if not isinstance(alert, RawAlert):
                continue
            try:
                tree = parse(alert.expr)
            except PromQLError:
                continue  # the spec refuses an expression that does not parse
            where = _where(stack, ("services", i, "alerts", j, "expr"))
            selected = _selectors(tree)
            for (owner, name), metric in removed.items():
                if owner == service.name and selected & set(metric.series_names()):
                    yield Entry(WARNING, name, owner, notes=where,
                                message=f"removed from the contract, but alert {alert.name} still selects it")
            for series, threshold in _quantile_thresholds(tree):
                metric = next((m for m in service.metrics if series in m.series_names()), None)
                if metric is not None and (problem := bucket_threshold_problem(metric, threshold)):
                    yield Entry(WARNING, f"alert {alert.name} > {number(threshold)}", service.name, notes=where,
                                message=f"histogram_quantile of {metric.name}: {problem}")


def _where(stack: Stack, path: tuple[str | int, ...]) -> tuple[str, ...]:
    if stack.positions is None:
        return ()
    line, _ = stack.positions.locate(path)
    return (f"at {stack.spec_name} line {line}",)


def _selectors(node: object) -> set[str]:
    found: set[str] = set()

    def visit(n: object) -> bool:
        if isinstance(n, promql_parser.VectorSelector) and n.name:
            found.add(n.name)
        return True

    promql_parser.walk(node, visit)
    return found


def _unparen(node: object) -> object:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def _quantile_thresholds(tree: object) -> list[tuple[str, float]]:
    """(bucket series, number) for each `histogram_quantile(...) <op> number` in the expression."""
    out: list[tuple[str, float]] = []

    def visit(n: object) -> bool:
        if isinstance(n, promql_parser.BinaryExpr) and str(n.op) in _COMPARISONS:
            for call, other in ((_unparen(n.lhs), _unparen(n.rhs)), (_unparen(n.rhs), _unparen(n.lhs))):
                if isinstance(call, promql_parser.Call) and call.func.name == "histogram_quantile" \
                        and isinstance(other, promql_parser.NumberLiteral):
                    out.extend((s, float(other.val)) for s in sorted(_selectors(call)) if s.endswith("_bucket"))
        return True

    promql_parser.walk(tree, visit)
    return out

"""Binary operations between two vectors whose label sets, decided with the metric contract, cannot match.

Prometheus pairs the two sides of `a / b` by their whole label sets (less `ignoring(...)`, or only the
`on(...)` labels): sides aggregated by different labels pair nothing and the result is always empty, an
alert that can never fire. An `on(l)` or `group_left(l)` naming a label that an aggregation of one side
already dropped matches on, or copies, nothing.

Rule ids: promql-match-label-dropped, promql-vector-never-matches.
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as p

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.lint.promql_nodes import expr_path, grouping, walk
from stackgen.parsers.promql_analysis import Analysis, PromQLError, analyze, parse

_SIDES = ("left", "right")


def check(ctx: Context) -> Iterator[Diagnostic]:
    for e in ctx.exprs:
        try:
            tree = parse(e.expr)
        except PromQLError:
            continue  # promql-parse reports it
        for node in walk(tree):
            if isinstance(node, p.BinaryExpr) and str(node.op) != "or":
                yield from _binary(ctx, e, node)


def _binary(ctx: Context, e: Expr, node) -> Iterator[Diagnostic]:
    labels_of = ctx.labels_of(e.service)
    try:  # each side as its own expression: the parser prints one back as PromQL
        sides = [analyze(str(side), labels_of) for side in (node.lhs, node.rhs)]
    except PromQLError:
        return  # a string it prints differently (escapes) than it reads: not decidable here
    if any(not a.selectors for a in sides):
        return  # a number, time(), vector(): every series matches it
    left, right = (a.result_labels for a in sides)
    if left is None or right is None:
        return
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    card = str(modifier.card) if modifier is not None else ""
    op = str(node.op)
    where = expr_path(e)
    if matching is not None and str(matching.type).endswith("Include"):
        for label in matching.labels:
            for k, analysis in enumerate(sides):
                if (agg := _dropping(ctx, e, analysis, label)) is not None:
                    yield ctx.finding("promql-match-label-dropped", where,
                                      f"{e.what} matches on({', '.join(matching.labels)}), but the {_SIDES[k]} side's "
                                      f"{agg.op}{grouping(agg)} drops label {label!r}",
                                      f"keep {label} in the aggregation: {agg.op} by (..., {label})", file=e.file)
                    return
        listed = set(matching.labels)
        signatures = (left & listed, right & listed)
    else:
        ignored = set(matching.labels) if matching is not None else set()
        signatures = (left - ignored, right - ignored)
    copied_from = 1 if card.endswith("ManyToOne") else 0 if card.endswith("OneToMany") else None
    if copied_from is not None:
        for label in modifier.group_labels or ():
            if (agg := _dropping(ctx, e, sides[copied_from], label)) is not None:
                word = "group_left" if copied_from == 1 else "group_right"
                yield ctx.finding("promql-match-label-dropped", where,
                                  f"{e.what} copies {label!r} with {word}({', '.join(modifier.group_labels)}), but the "
                                  f"{_SIDES[copied_from]} side's {agg.op}{grouping(agg)} drops it",
                                  f"keep {label} in the aggregation: {agg.op} by (..., {label})", file=e.file)
                return
    if signatures[0] != signatures[1]:
        only = [", ".join(sorted(a - b)) or "none" for a, b in (signatures, signatures[::-1])]
        yield ctx.finding("promql-vector-never-matches", where,
                          f"{e.what}: the two sides of {op} never match: labels only on the left: {only[0]}; "
                          f"only on the right: {only[1]}",
                          "aggregate both sides by the same labels, or match with on(...) / ignoring(...)", file=e.file)


def _dropping(ctx: Context, e: Expr, analysis: Analysis, label: str):
    """The aggregation of a side that removes `label`, which its series carry; None if none does."""
    if analysis.result_labels is None or label in analysis.result_labels:
        return None
    labels_of = ctx.labels_of(e.service)
    for agg in analysis.aggregations:
        carried = [labels_of(s) for s in agg.selectors]
        if not any(c is not None and label in c for c in carried):
            continue
        if (agg.by is not None and label not in agg.by) or (agg.by is None and label in (agg.without or ())) or (
                agg.by is None and agg.without is None):
            return agg
    return None

"""Every node of a parsed PromQL expression, for the rules that look at one operation at a time.

promql_analysis summarises a whole expression (its selectors, aggregations, result labels); the matching
and threshold rules need each binary operation with its own two sides, which a walk of the tree gives.
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as p

from stackgen.lint.context import Expr
from stackgen.spec.load import Path_


def walk(node: object) -> Iterator[object]:
    """`node` and every node below it, parents first."""
    yield node
    if isinstance(node, p.BinaryExpr):
        yield from walk(node.lhs)
        yield from walk(node.rhs)
    elif isinstance(node, p.ParenExpr | p.UnaryExpr | p.SubqueryExpr):
        yield from walk(node.expr)
    elif isinstance(node, p.AggregateExpr):
        yield from walk(node.expr)
        if node.param is not None:
            yield from walk(node.param)
    elif isinstance(node, p.Call):
        for arg in node.args:
            yield from walk(arg)


def unwrap(node: object) -> object:
    """The expression inside any parentheses."""
    while isinstance(node, p.ParenExpr):
        node = node.expr
    return node


def grouping(agg) -> str:
    """` by (a, b)` / ` without (c)` / `` as the aggregation was written."""
    if agg.by is not None:
        return f" by ({', '.join(agg.by)})"
    if agg.without is not None:
        return f" without ({', '.join(agg.without)})"
    return ""


def expr_path(e: Expr) -> Path_ | None:
    """The spec path of the expression itself: a raw alert's `expr`, else the alert/SLO/panel."""
    path = e.spec_path
    if path is not None and len(path) == 4 and path[2] == "alerts" and e.service.alerts[path[3]].kind == "raw":
        return (*path, "expr")
    return path

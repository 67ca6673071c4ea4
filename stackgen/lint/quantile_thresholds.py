"""A raw alert comparing `histogram_quantile(...)` with a number that is no bucket bound of the histogram.

Prometheus interpolates a quantile linearly inside the bucket it falls in, so a threshold between two
bounds is crossed at a guessed value, not a measured one: the alert fires early or late by up to a bucket.
resolve refuses such a threshold on a typed latency alert; a raw alert's expression is only linted.

Rule ids: alert-threshold-between-buckets (warning).
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as p

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.lint.promql_nodes import expr_path, unwrap, walk
from stackgen.parsers.promql_analysis import PromQLError, analyze, parse
from stackgen.resolve.contract import bucket_threshold_problem

_COMPARISONS = frozenset({">", "<", ">=", "<=", "==", "!="})


def check(ctx: Context) -> Iterator[Diagnostic]:
    for e in ctx.exprs:
        if e.kind == "alert":
            yield from _alert(ctx, e)


def _alert(ctx: Context, e: Expr) -> Iterator[Diagnostic]:
    try:
        tree = parse(e.expr)
    except PromQLError:
        return  # promql-parse reports it
    for node in walk(tree):
        if not (isinstance(node, p.BinaryExpr) and str(node.op) in _COMPARISONS):
            continue
        lhs, rhs = unwrap(node.lhs), unwrap(node.rhs)
        if isinstance(lhs, p.NumberLiteral):
            lhs, rhs = rhs, lhs
        if not (isinstance(lhs, p.Call) and lhs.func.name == "histogram_quantile" and isinstance(rhs, p.NumberLiteral)):
            continue
        threshold = float(rhs.val)
        try:
            selectors = analyze(str(lhs)).selectors
        except PromQLError:
            continue  # a string the parser prints differently (escapes) than it reads
        for sel in selectors:
            metric = ctx.family_of(e.service, sel.metric or "")
            if metric is None or metric.type != "histogram" or not (sel.metric or "").endswith("_bucket"):
                continue
            if problem := bucket_threshold_problem(metric, threshold):
                yield ctx.finding("alert-threshold-between-buckets", expr_path(e),
                                  f"{e.what} compares histogram_quantile() of {metric.name} with {threshold:g}: {problem}",
                                  f"compare with a bucket bound, or add {threshold:g} to {metric.name}'s buckets",
                                  WARNING, file=e.file)

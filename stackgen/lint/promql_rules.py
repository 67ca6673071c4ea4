"""PromQL semantics of every rule and panel query: metrics and labels exist, functions fit the types.

Rule ids: promql-parse, promql-unknown-metric, promql-unknown-label, promql-rate-non-counter,
promql-range-too-short, promql-quantile-not-bucket, promql-quantile-drops-le.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context, Expr
from stackgen.parsers.promql_analysis import BUILTIN_SERIES, Analysis, PromQLError, SelectorInfo, analyze
from stackgen.spec.service import Metric, Service
from stackgen.spec.types import Duration

RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
MIN_RANGE_SCRAPES = 4  # a range must hold several samples, or one missed scrape empties the rate


def check(ctx: Context) -> Iterator[Diagnostic]:
    for e in ctx.exprs:
        yield from _check_expr(ctx, e)


def _path(ctx: Context, e: Expr):
    """The spec path of the expression itself: a raw alert's `expr`, else the alert/SLO/panel."""
    p = e.spec_path
    if p is not None and len(p) == 4 and p[2] == "alerts" and e.service.alerts[p[3]].kind == "raw":
        return (*p, "expr")
    return p


def family_of(service: Service, series: str) -> Metric | None:
    """The contract metric a stored series belongs to (`x_bucket` -> histogram `x`)."""
    return next((m for m in service.metrics if series in m.series_names()), None)


def _labels_of(ctx: Context, e: Expr, sel: SelectorInfo) -> frozenset[str] | None:
    if sel.metric in BUILTIN_SERIES:
        return None
    return ctx.labels_of(e.service)(sel)


def _check_expr(ctx: Context, e: Expr) -> Iterator[Diagnostic]:
    where = _path(ctx, e)
    try:
        analysis = analyze(e.expr)
    except PromQLError as exc:
        yield ctx.finding("promql-parse", where, f"{e.what} in {e.file}: the expression does not parse: {exc}",
                          "write valid PromQL (promtool check rules shows the same error)", file=e.file)
        return
    yield from _metrics_and_labels(ctx, e, where, analysis)
    yield from _functions(ctx, e, where, analysis)
    yield from _ranges(ctx, e, where, analysis)


def _metrics_and_labels(ctx: Context, e: Expr, where, analysis: Analysis) -> Iterator[Diagnostic]:
    service = e.service
    seen: set[str] = set()
    for sel in analysis.selectors:
        name = sel.metric
        if name is None or name in BUILTIN_SERIES or name in seen:
            continue
        seen.add(name)
        if ":" in name and name not in ctx.recorded:
            yield ctx.finding("promql-unknown-metric", where,
                              f"{e.what} selects recording rule {name}, which no generated rule file records",
                              "select a recording rule the render produces, or record it", file=e.file)
            continue
        if name not in ctx.recorded and family_of(service, name) is None:
            known = [s for m in service.metrics for s in m.series_names()]
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
            bare = service.metric(name)
            hint = (f"a {bare.type} is stored as {', '.join(bare.series_names())}; select one of those" if bare
                    else f"declare it under services[{ctx.service_index(service)}].metrics and expose it"
                         + (f", or did you mean {' / '.join(close)}?" if close else ""))
            yield ctx.finding("promql-unknown-metric", where,
                              f"{e.what} selects metric {name}, which is not in the metric contract of service "
                              f"{service.name}", hint, file=e.file)
            continue
        allowed = _labels_of(ctx, e, sel)
        if allowed is None:
            continue
        for m in sel.matchers:
            if m.label not in allowed:
                yield ctx.finding("promql-unknown-label", where,
                                  f"{e.what} matches label {m.label!r} on {name}, which has no such label "
                                  f"(labels: {', '.join(sorted(allowed))})",
                                  f"match one of the declared labels, or declare {m.label!r} on the metric",
                                  file=e.file)
    for agg in analysis.aggregations:
        grouping = agg.by if agg.by is not None else agg.without
        if not grouping or not agg.selectors:
            continue
        sets = [_labels_of(ctx, e, s) for s in agg.selectors]
        if any(s is None for s in sets):
            continue
        available = set().union(*sets)  # type: ignore[arg-type]
        word = "by" if agg.by is not None else "without"
        for label in grouping:
            if label not in available:
                metrics = ", ".join(sorted({s.metric or "?" for s in agg.selectors}))
                yield ctx.finding("promql-unknown-label", where,
                                  f"{e.what} aggregates {agg.op} {word} ({label}), and no series it aggregates "
                                  f"({metrics}) has label {label!r}",
                                  f"aggregate by labels the series carry: {', '.join(sorted(available))}",
                                  file=e.file)


def _functions(ctx: Context, e: Expr, where, analysis: Analysis) -> Iterator[Diagnostic]:
    for call in analysis.calls:
        if call.function in RATE_FUNCTIONS:
            for sel in call.selectors:
                metric = family_of(e.service, sel.metric or "")
                if metric is None or sel.metric in ctx.recorded:
                    continue
                counter_like = metric.type == "counter" or (
                    metric.type in ("histogram", "summary") and sel.metric != metric.name)
                if not counter_like:
                    yield ctx.finding("promql-rate-non-counter", where,
                                      f"{e.what} takes {call.function}() of {sel.metric}, a {metric.type}: "
                                      f"{call.function} is only defined for counters",
                                      "use the gauge directly, or deriv()/delta()/avg_over_time() for a gauge's "
                                      "trend", file=e.file)
        if call.function == "histogram_quantile":
            for sel in call.selectors:
                if sel.metric is None or sel.metric in ctx.recorded or sel.metric in BUILTIN_SERIES:
                    continue
                metric = family_of(e.service, sel.metric)
                if metric is not None and not (metric.type == "histogram" and sel.metric.endswith("_bucket")):
                    yield ctx.finding("promql-quantile-not-bucket", where,
                                      f"{e.what} computes histogram_quantile() over {sel.metric}, which is not a "
                                      f"histogram's _bucket series",
                                      "pass rate(<histogram>_bucket[...]) aggregated by le", file=e.file)
            for agg in call.aggregations:
                keeps_le = ("le" in agg.by) if agg.by is not None else (
                    agg.without is not None and "le" not in agg.without)
                if not keeps_le:
                    yield ctx.finding("promql-quantile-drops-le", where,
                                      f"{e.what} aggregates with {agg.op}{_grouping(agg)} inside "
                                      f"histogram_quantile(), which drops the le label the quantile needs",
                                      f"keep le: {agg.op} by (le, ...) (...)", file=e.file)


def _grouping(agg) -> str:
    if agg.by is not None:
        return f" by ({', '.join(agg.by)})"
    if agg.without is not None:
        return f" without ({', '.join(agg.without)})"
    return ""


def _ranges(ctx: Context, e: Expr, where, analysis: Analysis) -> Iterator[Diagnostic]:
    interval = ctx.scrape_interval_ms(e.service)
    for rng in sorted(set(analysis.ranges_ms)):
        if rng < MIN_RANGE_SCRAPES * interval:
            yield ctx.finding("promql-range-too-short", where,
                              f"{e.what} uses a [{Duration(rng)}] range, shorter than {MIN_RANGE_SCRAPES} scrape "
                              f"intervals of job {e.service.name} ({Duration(interval)} each)",
                              f"use a range of at least {Duration(MIN_RANGE_SCRAPES * interval)}", file=e.file)

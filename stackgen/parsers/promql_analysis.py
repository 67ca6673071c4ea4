"""Parsing dashboard PromQL and listing the metrics it selects (shared by resolve and the grafana check).

Grafana variables are not PromQL: range variables are replaced by a duration and `$var` in label
values are already inside strings, so the parser sees valid PromQL with the same selectors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

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
    return list(dict.fromkeys(name for name in _selector_names(expr) if name))


def read_metrics(expr: str) -> frozenset[str] | None:
    """Every metric name an expression's selectors read; None when a selector names no metric literally
    (`{job="x"}`, a `__name__` regex), so what it reads cannot be told. Raises PromQLError."""
    names = _selector_names(expr)
    return None if None in names else frozenset(names)  # type: ignore[arg-type]


def _selector_names(expr: str) -> list[str | None]:
    """The metric each selector of the expression names (`_literal_name`), in order."""
    names: list[str | None] = []

    def visit(node: object) -> bool:
        selector = node.vector_selector if isinstance(node, promql_parser.MatrixSelector) else node
        if isinstance(selector, promql_parser.VectorSelector):
            names.append(_literal_name(selector))
        return True

    promql_parser.walk(parse(expr), visit)
    return names


def is_recording_rule(name: str) -> bool:
    """Recording rules are named level:metric:operations; contract metrics never contain a colon."""
    return ":" in name


# ---------------------------------------------------------------------------------------------
# Structural analysis for `stackgen lint`: what an expression selects, how it aggregates, which
# functions it calls over which series and ranges, and which labels its result can carry.
# ---------------------------------------------------------------------------------------------

# Functions whose result keeps the labels of their (first) vector argument.
_LABEL_KEEPING = frozenset({
    "abs", "ceil", "floor", "round", "exp", "ln", "log2", "log10", "sqrt", "clamp", "clamp_min", "clamp_max",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "predict_linear",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "stddev_over_time", "stdvar_over_time", "quantile_over_time", "present_over_time", "sort", "sort_desc",
    "timestamp", "holt_winters", "sgn",
})
# Aggregations that keep every label of the series they return.
_SELECTING_AGGREGATIONS = frozenset({"topk", "bottomk"})


@dataclass(frozen=True)
class LabelMatch:
    label: str
    op: str  # =, !=, =~, !~
    value: str


@dataclass(frozen=True)
class SelectorInfo:
    """One vector or matrix selector; `range_ms` is set for a matrix selector."""

    metric: str | None
    matchers: tuple[LabelMatch, ...]
    range_ms: int | None = None


@dataclass(frozen=True)
class Aggregation:
    op: str
    by: tuple[str, ...] | None  # None: no `by`
    without: tuple[str, ...] | None  # None: no `without`
    selectors: tuple[SelectorInfo, ...]  # the selectors it aggregates


@dataclass(frozen=True)
class CallInfo:
    """A function call; `selectors` are those anywhere inside its arguments, `aggregations` likewise."""

    function: str
    selectors: tuple[SelectorInfo, ...]
    aggregations: tuple[Aggregation, ...]
    ranges_ms: tuple[int, ...]  # ranges of matrix selectors / subqueries passed directly


@dataclass
class Analysis:
    selectors: list[SelectorInfo] = field(default_factory=list)
    aggregations: list[Aggregation] = field(default_factory=list)
    calls: list[CallInfo] = field(default_factory=list)
    ranges_ms: list[int] = field(default_factory=list)  # every matrix selector and subquery range
    result_labels: frozenset[str] | None = None  # None: not knowable statically (keeps series labels)


_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _ms(delta: object) -> int:
    return int(delta.total_seconds() * 1000)  # type: ignore[attr-defined]


def _literal_name(selector: object) -> str | None:
    """The metric a selector names: `foo` or `{__name__="foo"}`. A `__name__` regex or negation is a
    pattern, not a name: it selects whatever matches, so what it reads cannot be told from the text."""
    literal = [m.value for m in selector.matchers.matchers  # type: ignore[attr-defined]
               if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal]
    return selector.name or (literal[0] if literal else None)  # type: ignore[attr-defined]


def _selector(node: object, range_ms: int | None = None) -> SelectorInfo:
    """A `__name__` pattern stays among the matchers, so the selector's text still selects what it did."""
    name = _literal_name(node)
    matchers = tuple(LabelMatch(m.name, _MATCH_OPS.get(str(m.op).rsplit(".", 1)[-1], str(m.op)), m.value)
                     for m in node.matchers.matchers  # type: ignore[attr-defined]
                     if not (m.name == "__name__" and m.op == promql_parser.MatchOp.Equal and m.value == name))
    return SelectorInfo(name, matchers, range_ms)


# Lint reads each rule and panel expression several times (each rule family, each label question), and a
# session of tests renders the same stack over and over: parsed trees are read-only, so each text is
# parsed once (bench/results/notes.md).
@functools.lru_cache(maxsize=4096)
def parse(expr: str) -> object:
    text = _RANGE_VARIABLES.sub("5m", expr)
    try:
        return promql_parser.parse(text)
    except (ValueError, RuntimeError) as exc:
        raise PromQLError(str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid PromQL") from None


LabelsOf = Callable[[SelectorInfo], "frozenset[str] | None"]


def _unknown(_: SelectorInfo) -> frozenset[str] | None:
    return None


def analyze(expr: str, labels_of: LabelsOf = _unknown) -> Analysis:
    """Parse and describe an expression; raises PromQLError when it does not parse.

    `labels_of` says which labels a selected series carries (the metric contract knows); without
    it a bare selector's labels are unknown and so is the result's label set.
    """
    out = Analysis()
    out.result_labels = _visit(parse(expr), out, labels_of)
    return out


def _visit(node: object, out: Analysis, labels_of: LabelsOf) -> frozenset[str] | None:
    """Record what the subtree contains; return the labels its result can carry (None: unknown)."""
    p = promql_parser
    if isinstance(node, p.VectorSelector):
        sel = _selector(node)
        out.selectors.append(sel)
        return labels_of(sel)
    if isinstance(node, p.MatrixSelector):
        rng = _ms(node.range)
        sel = _selector(node.vector_selector, rng)
        out.selectors.append(sel)
        out.ranges_ms.append(rng)
        return labels_of(sel)
    if isinstance(node, p.SubqueryExpr):
        out.ranges_ms.append(_ms(node.range))
        return _visit(node.expr, out, labels_of)
    if isinstance(node, p.ParenExpr | p.UnaryExpr):
        return _visit(node.expr, out, labels_of)
    if isinstance(node, p.NumberLiteral | p.StringLiteral):
        return frozenset()
    if isinstance(node, p.AggregateExpr):
        inner = Analysis()
        labels = _visit(node.expr, inner, labels_of)
        if node.param is not None:
            _visit(node.param, inner, labels_of)
        _merge(out, inner)
        op = str(node.op)
        mod = node.modifier
        by = without = None
        if mod is not None:
            names = tuple(mod.labels)
            if str(mod.type).endswith("Without"):
                without = names
            else:
                by = names
        out.aggregations.append(Aggregation(op, by, without, tuple(inner.selectors)))
        if op in _SELECTING_AGGREGATIONS:
            return labels
        # count_values adds a label named by its string parameter.
        counted = {node.param.val} if op == "count_values" and isinstance(node.param, p.StringLiteral) else set()
        if without is not None:
            return None if labels is None else (labels - set(without)) | counted
        return frozenset(by or ()) | counted
    if isinstance(node, p.Call):
        inner = Analysis()
        arg_labels = [_visit(arg, inner, labels_of) for arg in node.args]
        ranges = tuple(_ms(a.range) for a in node.args if isinstance(a, p.MatrixSelector | p.SubqueryExpr))
        _merge(out, inner)
        name = node.func.name
        out.calls.append(CallInfo(name, tuple(inner.selectors), tuple(inner.aggregations), ranges))
        vectors = [lab for arg, lab in zip(node.args, arg_labels, strict=True)
                   if not isinstance(arg, p.NumberLiteral | p.StringLiteral)]
        if name in ("vector", "time", "scalar", "pi"):
            return frozenset()
        if name in ("absent", "absent_over_time") and inner.selectors:
            # absent() returns the labels of the selector's equality matchers
            return frozenset(m.label for m in inner.selectors[0].matchers if m.op == "=")
        if name == "histogram_quantile":
            return None if vectors[-1] is None else vectors[-1] - {"le"}
        if name in _LABEL_KEEPING and vectors:
            return vectors[0]
        if name in ("label_replace", "label_join") and len(node.args) >= 2:
            target = node.args[1]
            added = {target.val} if isinstance(target, p.StringLiteral) else None
            return None if arg_labels[0] is None or added is None else arg_labels[0] | added
        return None
    if isinstance(node, p.BinaryExpr):
        lhs, rhs = _visit(node.lhs, out, labels_of), _visit(node.rhs, out, labels_of)
        if _is_scalar(node.lhs):
            return rhs
        if _is_scalar(node.rhs):
            return lhs
        return _binary_labels(node, lhs, rhs)
    return None


def _is_scalar(node: object) -> bool:
    p = promql_parser
    if isinstance(node, p.NumberLiteral):
        return True
    if isinstance(node, p.ParenExpr | p.UnaryExpr):
        return _is_scalar(node.expr)
    if isinstance(node, p.Call):
        return node.func.name in ("scalar", "time", "pi")
    if isinstance(node, p.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _binary_labels(node: object, lhs: frozenset[str] | None, rhs: frozenset[str] | None) -> frozenset[str] | None:
    """Labels of a vector-vector operation's result, as Prometheus builds them (engine resultMetric)."""
    op = str(node.op)  # type: ignore[attr-defined]
    if op == "or":
        return None if lhs is None or rhs is None else lhs | rhs
    if op in ("and", "unless"):
        return lhs
    modifier = node.modifier  # type: ignore[attr-defined]
    card = str(getattr(modifier, "card", "")) if modifier is not None else ""
    included = frozenset(getattr(modifier, "group_labels", None) or ())
    if card.endswith("ManyToOne"):  # group_left: the left side's labels plus those copied from the right
        return None if lhs is None else lhs | included
    if card.endswith("OneToMany"):  # group_right
        return None if rhs is None else rhs | included
    matching = getattr(modifier, "matching", None) if modifier is not None else None
    if matching is None:
        return lhs
    listed = frozenset(matching.labels)
    if str(matching.type).endswith("Include"):  # on(...) keeps only the listed labels
        return listed if lhs is None else lhs & listed
    return None if lhs is None else lhs - listed  # ignoring(...)


def _merge(out: Analysis, inner: Analysis) -> None:
    out.selectors += inner.selectors
    out.aggregations += inner.aggregations
    out.calls += inner.calls
    out.ranges_ms += inner.ranges_ms

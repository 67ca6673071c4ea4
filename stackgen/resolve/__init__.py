"""Cross-references inside a spec that field types alone cannot check. All problems are collected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stackgen.diagnostics import Problem, SpecError
from stackgen.model.promql import result_labels
from stackgen.parsers.gotemplate import labels_used
from stackgen.resolve.contract import check_selector
from stackgen.resolve.deploy import check_deploy
from stackgen.resolve.observability import check_observability
from stackgen.resolve.secrets import check_secrets
from stackgen.resolve.slos import check_slos
from stackgen.spec.alertmanager import Route
from stackgen.spec.alerts import ErrorRatioAlert, LatencyQuantileAlert, RawAlert, Selector, ThresholdAlert
from stackgen.spec.load import Path_, Positions, load_spec
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.types import SecretRef

_KIND_METRIC_TYPES = {
    "error_ratio": ("counter",),
    "latency_quantile": ("histogram",),
    "threshold": ("gauge",),
}


@dataclass(frozen=True)
class Stack:
    """A validated spec with everything renderers need; `spec_name` is what headers cite."""

    spec: Spec
    spec_name: str
    positions: Positions | None = None


def load_stack(path: Path | str) -> Stack:
    """Load and resolve a spec file; raise SpecError listing every problem."""
    path = Path(path)
    spec, positions = load_spec(path, display_name=str(path))
    problems = list(check_references(spec, positions))
    if problems:
        raise SpecError(problems)
    return Stack(spec=spec, spec_name=path.name, positions=positions)


def check_references(spec: Spec, positions: Positions) -> Iterator[Problem]:
    yield from _unique(positions, [("services", i, "name") for i in range(len(spec.services))],
                       [s.name for s in spec.services], "service")
    alert_paths = [("services", i, "alerts", j, "name")
                   for i, s in enumerate(spec.services) for j in range(len(s.alerts))]
    yield from _unique(positions, alert_paths, [a.name for s in spec.services for a in s.alerts], "alert")
    for i, service in enumerate(spec.services):
        yield from _unique(positions, [("services", i, "metrics", j, "name") for j in range(len(service.metrics))],
                           [m.name for m in service.metrics], "metric")
        for j, alert in enumerate(service.alerts):
            yield from _check_alert(service, alert, ("services", i, "alerts", j), positions)
    yield from _check_alertmanager(spec, positions)
    yield from check_deploy(spec, positions)
    yield from check_observability(spec, positions)
    yield from check_slos(spec, positions)
    yield from check_secrets(spec, positions)


def _unique(positions: Positions, paths: list[Path_], names: list[str], what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for path, name in zip(paths, names, strict=True):
        if name in seen:
            yield positions.problem(path, f"duplicate {what} name {name!r}")
        seen.add(name)


def _check_alert(service: Service, alert, path: Path_, positions: Positions) -> Iterator[Problem]:
    selectors: list[tuple[str, Selector]] = []
    match alert:
        case ErrorRatioAlert():
            selectors = [("bad", alert.bad), ("total", alert.total)]
        case LatencyQuantileAlert():
            selectors = [("histogram", alert.histogram)]
        case ThresholdAlert():
            selectors = [("gauge", alert.gauge)]
    for field_name, sel in selectors:
        where = (*path, field_name)
        yield from check_selector(service, sel, where, positions, _KIND_METRIC_TYPES[alert.kind],
                                  f"an alert of kind {alert.kind}")
        metric = service.metric(sel.metric)
        if metric is None:
            continue
        for k, label in enumerate(getattr(alert, "by", [])):
            if label not in metric.labels:
                yield positions.problem((*path, "by", k), f"cannot aggregate by {label!r}: not a label of "
                                                          f"{metric.name!r}")
        if isinstance(alert, LatencyQuantileAlert) and metric.buckets:
            finite = metric.buckets
            if alert.threshold not in finite[:-1]:
                yield positions.problem((*path, "threshold"),
                                        f"threshold {alert.threshold:g} must be one of the histogram's buckets "
                                        f"below the largest, so the quantile is not interpolated across it "
                                        f"(buckets: {', '.join(f'{b:g}' for b in finite)})")
    if not isinstance(alert, RawAlert):
        available = set(result_labels(alert, service.name)) | set(
            label for _, sel in selectors if (m := service.metric(sel.metric)) and alert.kind == "threshold"
            for label in m.labels
        )
        for field_name in ("summary", "description"):
            for label in labels_used(getattr(alert, field_name)):
                if label not in available:
                    yield positions.problem((*path, field_name),
                                            f"$labels.{label} is not a label of this alert's result "
                                            f"(available: {', '.join(sorted(available)) or 'none'})")


def _routes(route, path: Path_) -> Iterator[tuple[Route, Path_]]:
    for i, child in enumerate(route.routes):
        child_path = (*path, "routes", i)
        yield child, child_path
        yield from _routes(child, child_path)


def _check_alertmanager(spec: Spec, positions: Positions) -> Iterator[Problem]:
    am = spec.alertmanager
    base: Path_ = ("alertmanager",)
    names = [r.name for r in am.receivers]
    yield from _unique(positions, [(*base, "receivers", i, "name") for i in range(len(names))], names, "receiver")
    for route, path in [(am.route, (*base, "route")), *_routes(am.route, (*base, "route"))]:
        if route.receiver is not None and route.receiver not in names:
            yield positions.problem((*path, "receiver"),
                                    f"route names receiver {route.receiver!r}, which is not defined "
                                    f"(receivers: {', '.join(names)})")
    # Alertmanager reads credentials from files only; an env reference would silently never resolve.
    refs: list[tuple[Path_, SecretRef | None]] = []
    if am.global_.smtp:
        refs.append(((*base, "global", "smtp", "auth_password"), am.global_.smtp.auth_password))
    for i, receiver in enumerate(am.receivers):
        refs += [((*base, "receivers", i, "slack", j, "api_url"), c.api_url) for j, c in enumerate(receiver.slack)]
        refs += [((*base, "receivers", i, "pagerduty", j, "routing_key"), c.routing_key)
                 for j, c in enumerate(receiver.pagerduty)]
    for path, ref in refs:
        if ref is not None and ref.file is None:
            yield positions.problem(path, "Alertmanager reads secrets from files only: use {file: /path}")

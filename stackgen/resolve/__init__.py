"""Cross-references inside a spec that field types alone cannot check. All problems are collected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stackgen.diagnostics import Diagnostic, SpecError
from stackgen.model.promql import result_labels
from stackgen.model.routing import walk_routes
from stackgen.model.slo import SLOGroup, has_dashboard
from stackgen.parsers.gotemplate import labels_used
from stackgen.resolve.contract import bucket_threshold_problem, check_by, check_selector
from stackgen.resolve.deploy import check_deploy
from stackgen.resolve.observability import check_observability
from stackgen.resolve.secrets import check_secrets
from stackgen.resolve.slos import check_slos, slo_groups
from stackgen.spec.alerts import Alert, LatencyQuantileAlert, RawAlert, ThresholdAlert
from stackgen.spec.load import Path_, Positions, load_spec
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.types import SecretRef


@dataclass(frozen=True)
class Stack:
    """A validated spec with everything renderers need; `spec_name` is what headers cite."""

    spec: Spec
    spec_name: str
    positions: Positions | None = None
    # Every SLO's windows, factors, thresholds, alerts and record names, in spec order. Derived from
    # `spec` on construction (so `dataclasses.replace(stack, spec=...)` derives them again) and only here.
    slos: tuple[SLOGroup, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slos", slo_groups(self.spec))

    def slos_of(self, service: Service) -> tuple[SLOGroup, ...]:
        return tuple(group for group in self.slos if group.service.name == service.name)

    def has_slo_dashboard(self, service: Service) -> bool:
        """Whether the Grafana target renders the service's error-budget dashboard."""
        return has_dashboard(service)


def load_stack(path: Path | str) -> Stack:
    """Load and resolve a spec file; raise SpecError listing every problem."""
    path = Path(path)
    spec, positions = load_spec(path, display_name=str(path))
    stack = Stack(spec=spec, spec_name=path.name, positions=positions)
    problems = [*check_references(spec, positions), *check_slos(spec, positions, stack.slos)]
    if problems:
        raise SpecError(problems)
    return stack


def check_references(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
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
    yield from check_secrets(spec, positions)


def _unique(positions: Positions, paths: list[Path_], names: list[str], what: str) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for path, name in zip(paths, names, strict=True):
        if name in seen:
            yield positions.problem(path, f"duplicate {what} name {name!r}")
        seen.add(name)


def _check_alert(service: Service, alert: Alert, path: Path_, positions: Positions) -> Iterator[Diagnostic]:
    selectors = alert.selectors()
    for field_name, sel in selectors:
        yield from check_selector(service, sel, (*path, field_name), positions, alert.selector_types[field_name],
                                  f"an alert of kind {alert.kind}")
        metric = service.metric(sel.metric)
        if metric is None:
            continue
        yield from check_by(metric, getattr(alert, "by", []), path, positions)
        if isinstance(alert, LatencyQuantileAlert) and (problem := bucket_threshold_problem(metric, alert.threshold)):
            yield positions.problem((*path, "threshold"), problem)
    if not isinstance(alert, RawAlert):
        available = set(result_labels(alert, service.name))
        if isinstance(alert, ThresholdAlert):
            # No aggregation: the result keeps every label of the gauge's series.
            available |= {label for _, sel in selectors if (m := service.metric(sel.metric)) for label in m.labels}
        for field_name in ("summary", "description"):
            for label in labels_used(getattr(alert, field_name)):
                if label not in available:
                    yield positions.problem((*path, field_name),
                                            f"$labels.{label} is not a label of this alert's result "
                                            f"(available: {', '.join(sorted(available)) or 'none'})")


def _check_alertmanager(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    am = spec.alertmanager
    base: Path_ = ("alertmanager",)
    names = [r.name for r in am.receivers]
    yield from _unique(positions, [(*base, "receivers", i, "name") for i in range(len(names))], names, "receiver")
    for route, path in walk_routes(am.route, (*base, "route")):
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

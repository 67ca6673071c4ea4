"""Cross-references inside a spec that field types alone cannot check. All problems are collected."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stackgen.diagnostics import Diagnostic, SpecError
from stackgen.model.promql import result_labels
from stackgen.model.routing import walk_routes
from stackgen.model.slo import SLOGroup, has_dashboard
from stackgen.parsers.gotemplate import labels_used
from stackgen.parsers.promql_analysis import PromQLError, analyze
from stackgen.resolve.alerting import check_alerting
from stackgen.resolve.contract import bucket_threshold_problem, check_by, check_selector
from stackgen.resolve.deploy import check_deploy
from stackgen.resolve.observability import check_observability
from stackgen.resolve.recording import check_recording_rules
from stackgen.resolve.scrape import check_scrape
from stackgen.resolve.secrets import check_secrets
from stackgen.resolve.slos import check_slos, environment_slo_groups, slo_groups
from stackgen.spec.alerts import Alert, LatencyQuantileAlert, PredictLinearAlert, RawAlert, ThresholdAlert, WatchdogAlert
from stackgen.spec.load import Path_, Positions, format_path, load_spec
from stackgen.spec.models import Spec
from stackgen.spec.service import Service


@dataclass(frozen=True)
class Stack:
    """A validated spec with everything renderers need; `spec_name` is what headers cite."""

    spec: Spec
    spec_name: str
    positions: Positions | None = None
    # The spec's folder as seen from the output folder (posix, relative): paths the spec names (build
    # contexts, the secrets/ folder) are relative to the spec, and generated files are read from --out.
    out_to_spec: str = ".."
    # Every SLO's windows, factors, thresholds, alerts and record names, in spec order. Derived from
    # `spec` on construction (so `dataclasses.replace(stack, spec=...)` derives them again) and only here.
    slos: tuple[SLOGroup, ...] = field(init=False, repr=False, compare=False)
    # The same for each (environment, service) whose override changes an SLO objective.
    environment_slos: dict[tuple[str, str], tuple[SLOGroup, ...]] = field(init=False, repr=False, compare=False)
    # `slos` by service name: every target asks per service, and a scan of them all is quadratic in a fleet.
    _slos_by_service: dict[str, tuple[SLOGroup, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slos = slo_groups(self.spec)
        by_service: dict[str, list[SLOGroup]] = {}
        for group in slos:
            by_service.setdefault(group.service.name, []).append(group)
        object.__setattr__(self, "slos", slos)
        object.__setattr__(self, "_slos_by_service", {name: tuple(groups) for name, groups in by_service.items()})
        object.__setattr__(self, "environment_slos", environment_slo_groups(self.spec))

    def slos_of(self, service: Service, env: str | None = None) -> tuple[SLOGroup, ...]:
        """The service's SLOs, as environment `env` deploys them when given."""
        if env is not None and (env, service.name) in self.environment_slos:
            return self.environment_slos[(env, service.name)]
        return self._slos_by_service.get(service.name, ())

    def has_slo_dashboard(self, service: Service) -> bool:
        """Whether the Grafana target renders the service's error-budget dashboard."""
        return has_dashboard(service)


def load_stack(path: Path | str, out: Path | str | None = None) -> Stack:
    """Load and resolve a spec file to render into `out` (default: `generated/` beside it); raise SpecError
    listing every problem."""
    path = Path(path)
    spec, positions = load_spec(path, display_name=str(path))
    out_to_spec = ".." if out is None else Path(os.path.relpath(path.resolve().parent, Path(out).resolve())).as_posix()
    stack = Stack(spec=spec, spec_name=path.name, positions=positions, out_to_spec=out_to_spec)
    problems = [*check_references(spec, positions), *check_slos(spec, positions, stack.slos)]
    if problems:
        raise SpecError(problems)
    return stack


def check_references(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    yield from _unique(positions, [("services", i, "name") for i in range(len(spec.services))],
                       [s.name for s in spec.services], "service")
    yield from _check_alert_names(spec, positions)
    yield from check_recording_rules(spec, positions)
    for i, service in enumerate(spec.services):
        yield from _unique(positions, [("services", i, "metrics", j, "name") for j in range(len(service.metrics))],
                           [m.name for m in service.metrics], "metric")
        for j, alert in enumerate(service.alerts):
            yield from _check_alert(service, alert, ("services", i, "alerts", j), positions)
    yield from _check_alertmanager(spec, positions)
    yield from check_deploy(spec, positions)
    yield from check_scrape(spec, positions)
    yield from check_observability(spec, positions)
    yield from check_secrets(spec, positions)


def _unique(positions: Positions, paths: list[Path_], names: list[str], what: str) -> Iterator[Diagnostic]:
    first: dict[str, Path_] = {}
    for path, name in zip(paths, names, strict=True):
        if name in first:
            yield positions.problem(path, f"duplicate {what} name {name!r} ({_first(positions, first[name])})")
        first.setdefault(name, path)


def _first(positions: Positions, name_path: Path_) -> str:
    """Where a name was first used: the item's path (not its `.name`) and line."""
    return f"first at {format_path(name_path[:-1])}, line {positions.locate(name_path)[0]}"


def _check_alert_names(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    """Alert names are unique per service: every rule carries the `service` label, so two services'
    `ServiceDown` are two alerts to Alertmanager, promtool (one test file per service) and the drill.
    A watchdog is the stack's dead man's switch, routed by `alertname` alone, so its name is unique
    across the stack."""
    watchdogs: dict[str, Path_] = {}
    for i, service in enumerate(spec.services):
        for j, alert in enumerate(service.alerts):
            if isinstance(alert, WatchdogAlert):
                watchdogs.setdefault(alert.name, ("services", i, "alerts", j, "name"))
    for i, service in enumerate(spec.services):
        paths: list[Path_] = [("services", i, "alerts", j, "name") for j in range(len(service.alerts))]
        yield from _unique(positions, paths, [a.name for a in service.alerts], "alert")
        for path, alert in zip(paths, service.alerts, strict=True):
            watchdog = watchdogs.get(alert.name)
            if watchdog is not None and watchdog[1] != i:
                yield positions.problem(path, f"alert name {alert.name!r} is the stack's watchdog, whose name is "
                                              f"unique across services ({_first(positions, watchdog)})")


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
    if isinstance(alert, RawAlert):
        yield from _check_raw_labels(alert, path, positions)
    else:
        available = set(result_labels(alert, service.name))
        if isinstance(alert, ThresholdAlert | PredictLinearAlert):
            # No aggregation: the result keeps every label of the gauge's series.
            available |= {label for _, sel in selectors if (m := service.metric(sel.metric)) for label in m.labels}
        for field_name in ("summary", "description"):
            for label in labels_used(getattr(alert, field_name)):
                if label not in available:
                    yield positions.problem((*path, field_name),
                                            f"$labels.{label} is not a label of this alert's result "
                                            f"(available: {', '.join(sorted(available)) or 'none'})")


def _check_raw_labels(alert: RawAlert, path: Path_, positions: Positions) -> Iterator[Diagnostic]:
    """A raw expression's result labels are known only where it aggregates, matches on() or calls
    absent()/vector(); a bare selector may carry any target label, so only a label certainly absent is flagged."""
    try:
        available = analyze(alert.expr).result_labels
    except PromQLError:
        return  # the spec field's validator already reported it
    if available is None:
        return
    fields = [((field_name,), getattr(alert, field_name)) for field_name in ("summary", "description")]
    fields += [(("annotations", key), text) for key, text in alert.annotations.items()]
    for where, text in fields:
        for label in dict.fromkeys(labels_used(text)):
            if label not in available:
                yield positions.problem((*path, *where),
                                        f"$labels.{label} is not a label of this expression's result "
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
    yield from check_alerting(spec, positions)

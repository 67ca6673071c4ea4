"""SLOs resolved: every SLO's derived facts computed once, then the cross-reference checks on them.

Each problem names the spec path: an SLI that reads a metric outside the contract, a latency
threshold that is not a bucket (the ratio would silently be of another threshold), a tier that can
never fire at this objective, or an SLO alert name that collides with another alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.model import slo as model
from stackgen.model.deploy import environment_service
from stackgen.model.slo import SLOGroup
from stackgen.parsers.gotemplate import labels_used
from stackgen.parsers.promql_analysis import analyze, is_recording_rule
from stackgen.resolve.contract import check_by, check_selector
from stackgen.spec.load import Path_, Positions
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO, AvailabilitySLI, BoolGaugeSLI, LatencySLI, RawSLI, instantiate

_CAMEL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")


def slo_groups(spec: Spec) -> tuple[SLOGroup, ...]:
    """Every SLO's derived facts, in spec order (the Stack keeps them; nothing downstream recomputes)."""
    return tuple(model.slo_group(service, slo, spec.grafana.url, spec.services)
                 for service in spec.services for slo in service.slos)


def environment_slo_groups(spec: Spec) -> dict[tuple[str, str], tuple[SLOGroup, ...]]:
    """(environment, service) -> the service's SLOs as that environment deploys them, for every service
    whose environment override changes an objective (the others deploy `slo_groups` unchanged)."""
    out = {}
    for env in spec.environments:
        for service in spec.services:
            override = env.services.get(service.name)
            if override is not None and override.slo_objectives:
                changed = environment_service(service, env)
                out[(env.name, service.name)] = tuple(
                    model.slo_group(changed, slo, spec.grafana.url, spec.services) for slo in changed.slos)
    return out


def check_slos(spec: Spec, positions: Positions, groups: Sequence[SLOGroup]) -> Iterator[Diagnostic]:
    """`groups` are `slo_groups(spec)`."""
    # Alert names are unique per service (the `service` label tells services apart), except a watchdog's.
    watchdogs = {a.name: f"the watchdog of service {s.name!r}" for s in spec.services for a in s.alerts
                 if a.kind == "watchdog"}
    resolved = iter(groups)
    for i, service in enumerate(spec.services):
        taken = {**watchdogs, **{a.name: f"an alert of service {service.name!r}" for a in service.alerts}}
        seen: set[str] = set()
        for j, slo in enumerate(service.slos):
            path: Path_ = ("services", i, "slos", j)
            if slo.name in seen:
                yield positions.problem((*path, "name"), f"duplicate SLO name {slo.name!r}")
            seen.add(slo.name)
            yield from _check_sli(model.sli_source(service, slo, spec.services), slo, (*path, "sli"), positions)
            yield from _check_tiers(next(resolved), path, positions, taken)
    yield from _check_dashboard_names(spec, positions)
    yield from _check_dependencies(spec, positions)


def _check_dependencies(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    known = {s.name for s in spec.services}
    for i, service in enumerate(spec.services):
        for k, dep in enumerate(service.depends_on):
            if dep.service is not None and (dep.service not in known or dep.service == service.name):
                what = "itself" if dep.service == service.name else f"{dep.service!r}, which is not a service of the spec"
                yield positions.problem(("services", i, "depends_on", k, "service"),
                                        f"service {service.name!r} depends on {what} (known: {', '.join(sorted(known))})")


def _check_dashboard_names(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    """A service named `<other>-slos` would get the same dashboard file and uid as <other>'s SLO dashboard."""
    slo_uids = {names.slo_dashboard_uid(s.name): s.name for s in spec.services if model.has_dashboard(s)}
    for i, service in enumerate(spec.services):
        other = slo_uids.get(names.dashboard_uid(service.name))
        if service.dashboards.enabled and other is not None:
            yield positions.problem(("services", i, "name"), f"service name {service.name!r} collides with the "
                                    f"error-budget dashboard of service {other!r} ({names.slo_dashboard_file(other)})")


# Labels every scraped series has, which a raw query may match without the contract declaring them.
_TARGET_LABELS = ("job", "instance")


def _check_raw(service: Service, sli: RawSLI, path: Path_, positions: Positions) -> Iterator[Diagnostic]:
    """Every series a raw query selects is a metric of the contract (a histogram's _bucket, _count or
    _sum counts as the histogram) or a recording rule, and its matchers name declared labels."""
    for field_name in ("error_query", "total_query"):
        for sel in analyze(instantiate(getattr(sli, field_name), "5m")).selectors:
            if sel.metric is None or is_recording_rule(sel.metric):
                continue
            metric = service.metric(sel.metric)
            if metric is None:
                base, _, suffix = sel.metric.rpartition("_")
                found = service.metric(base)
                metric = found if found is not None and found.type in ("histogram", "summary") and \
                    suffix in ("bucket", "count", "sum") else None
            if metric is None:
                known = ", ".join(m.name for m in service.metrics)
                yield positions.problem((*path, field_name), f"the raw SLI selects {sel.metric!r}, which is not in the "
                                        f"metric contract of service {service.name!r} (declared: {known})")
                continue
            allowed = {*metric.labels, *_TARGET_LABELS, *(("le",) if sel.metric.endswith("_bucket") else ())}
            for m in sel.matchers:
                if m.label not in allowed:
                    yield positions.problem((*path, field_name), f"the raw SLI matches label {m.label!r}, which is "
                                            f"not declared on {metric.name!r} (labels: {', '.join(metric.labels) or 'none'})")


def _check_sli(service: Service, slo: SLO, path: Path_, positions: Positions) -> Iterator[Diagnostic]:
    """`service` is the one whose contract declares the SLI's metrics (model.sli_source)."""
    sli = slo.sli
    if isinstance(sli, RawSLI):
        yield from _check_raw(service, sli, path, positions)
        return
    if isinstance(sli, BoolGaugeSLI):
        yield from check_selector(service, sli.gauge, (*path, "gauge"), positions, ("gauge",), "the bool_gauge SLI")
        metric = service.metric(sli.gauge.metric)
        if metric is not None:
            yield from check_by(metric, slo.by, path[:-1], positions, f"SLO {slo.name!r}")
        return
    wanted = "counter" if isinstance(sli, AvailabilitySLI) else "histogram"
    selectors = [("bad", sli.bad), ("total", sli.total)] if isinstance(sli, AvailabilitySLI) \
        else [("histogram", sli.histogram)]
    for field_name, sel in selectors:
        where = (*path, field_name)
        # A histogram's _count counts observations, so it can count an availability SLI's events
        # (`bad` with a matcher such as code=~"5..", as Sloth's examples do).
        types = (wanted, "histogram") if isinstance(sli, AvailabilitySLI) else (wanted,)
        yield from check_selector(service, sel, where, positions, types, f"the {sli.kind} SLI")
        metric = service.metric(sel.metric)
        if metric is None:
            continue
        yield from check_by(metric, slo.by, path[:-1], positions, f"SLO {slo.name!r}")
        if isinstance(sli, LatencySLI) and metric.buckets and sli.threshold not in metric.buckets:
            yield positions.problem((*path, "threshold"),
                                    f"threshold {sli.threshold:g} is not a bucket of {metric.name!r}, so the "
                                    f"ratio under it cannot be counted (buckets: "
                                    f"{', '.join(f'{b:g}' for b in metric.buckets)})")


def _check_tiers(group: SLOGroup, path: Path_, positions: Positions, taken: dict[str, str]) -> Iterator[Diagnostic]:
    service, slo = group.service, group.slo
    available = set(group.result_labels)
    for field_name in ("summary", "description"):
        for label in labels_used(getattr(slo.alerting, field_name) or ""):
            if label not in available:
                yield positions.problem((*path, "alerting", field_name),
                                        f"$labels.{label} is not a label of an SLO alert "
                                        f"(available: {', '.join(sorted(available))})")
    shared: set[str] = set()
    for tier in group.tiers:
        tier_path = (*path, "alerting", tier.tier)
        for k, c in enumerate(tier.conditions):
            if c.short >= c.long or c.long > slo.period:
                yield positions.problem((*tier_path, "windows", k),
                                        f"window pair {c.long}/{c.short} must have short < long <= the period "
                                        f"({slo.period})")
        own = getattr(slo.alerting, tier.tier).name
        name_path = (*tier_path, "name") if own else (*path, "alerting", "name") if slo.alerting.name else (*path, "name")
        yield from _check_name(tier.alert, f"the {tier.tier} alert", f"alerting.{tier.tier}.name", slo.name, name_path,
                               positions, taken, shared)
        # Both tiers may share one name (Sloth's style, told apart by sloth_severity); nothing else may.
        shared.add(tier.alert)
        taken.setdefault(tier.alert, f"an SLO alert of service {service.name!r}")
        for c in tier.conditions:
            if c.factor * group.budget >= 1:
                bound = f"{c.factor_text} x {float(group.budget):g}"
                yield positions.problem(tier_path, f"the {tier.tier} tier can never fire: at objective "
                                                   f"{group.objective_text}% its {c.long} window would need an "
                                                   f"error ratio above {bound} >= 1; raise the objective "
                                                   "or set enabled: false")
                break
    for extra in group.extra_alerts:
        extra_path = (*path, "alerting", extra.kind)
        name_path = (*extra_path, "name") if getattr(slo.alerting, extra.kind).name else (*path, "name")
        yield from _check_name(extra.alert, f"the {extra.kind} alert", f"alerting.{extra.kind}.name", slo.name,
                               name_path, positions, taken, set())
        taken.setdefault(extra.alert, f"an SLO alert of service {service.name!r}")


def _check_name(alert: str, what: str, override: str, slo_name: str, name_path: Path_, positions: Positions,
                taken: dict[str, str], shared: set[str]) -> Iterator[Diagnostic]:
    if not _CAMEL_CASE.match(alert):
        yield positions.problem(name_path, f"alert name {alert!r} is not CamelCase")
    if alert in taken and alert not in shared:
        yield positions.problem(name_path, f"{what} of SLO {slo_name!r} is named {alert!r}, which is already "
                                           f"{taken[alert]}; set {override}")

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
from stackgen.model.slo import SLOGroup
from stackgen.parsers.gotemplate import labels_used
from stackgen.resolve.contract import check_selector
from stackgen.spec.load import Path_, Positions
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.spec.slo import SLO, AvailabilitySLI, LatencySLI

_CAMEL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")


def slo_groups(spec: Spec) -> tuple[SLOGroup, ...]:
    """Every SLO's derived facts, in spec order (the Stack keeps them; nothing downstream recomputes)."""
    return tuple(model.slo_group(service, slo, spec.grafana.url) for service in spec.services for slo in service.slos)


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
            yield from _check_sli(service, slo, (*path, "sli"), positions)
            yield from _check_tiers(next(resolved), path, positions, taken)
    yield from _check_dashboard_names(spec, positions)


def _check_dashboard_names(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    """A service named `<other>-slos` would get the same dashboard file and uid as <other>'s SLO dashboard."""
    slo_uids = {names.slo_dashboard_uid(s.name): s.name for s in spec.services if model.has_dashboard(s)}
    for i, service in enumerate(spec.services):
        other = slo_uids.get(names.dashboard_uid(service.name))
        if service.dashboards.enabled and other is not None:
            yield positions.problem(("services", i, "name"), f"service name {service.name!r} collides with the "
                                    f"error-budget dashboard of service {other!r} ({names.slo_dashboard_file(other)})")


def _check_sli(service: Service, slo: SLO, path: Path_, positions: Positions) -> Iterator[Diagnostic]:
    sli = slo.sli
    wanted = "counter" if isinstance(sli, AvailabilitySLI) else "histogram"
    selectors = [("bad", sli.bad), ("total", sli.total)] if isinstance(sli, AvailabilitySLI) \
        else [("histogram", sli.histogram)]
    for field_name, sel in selectors:
        where = (*path, field_name)
        yield from check_selector(service, sel, where, positions, (wanted,), f"the {sli.kind} SLI")
        metric = service.metric(sel.metric)
        if metric is None:
            continue
        if isinstance(sli, LatencySLI) and metric.buckets and sli.threshold not in metric.buckets:
            yield positions.problem((*path, "threshold"),
                                    f"threshold {sli.threshold:g} is not a bucket of {metric.name!r}, so the "
                                    f"ratio under it cannot be counted (buckets: "
                                    f"{', '.join(f'{b:g}' for b in metric.buckets)})")


def _check_tiers(group: SLOGroup, path: Path_, positions: Positions, taken: dict[str, str]) -> Iterator[Diagnostic]:
    service, slo = group.service, group.slo
    available = set(group.id_labels)
    for field_name in ("summary", "description"):
        for label in labels_used(getattr(slo.alerting, field_name) or ""):
            if label not in available:
                yield positions.problem((*path, "alerting", field_name),
                                        f"$labels.{label} is not a label of an SLO alert "
                                        f"(available: {', '.join(sorted(available))})")
    for tier in group.tiers:
        tier_path = (*path, "alerting", tier.tier)
        name_path = (*tier_path, "name") if getattr(slo.alerting, tier.tier).name else (*path, "name")
        if not _CAMEL_CASE.match(tier.alert):
            yield positions.problem(name_path, f"alert name {tier.alert!r} is not CamelCase")
        if tier.alert in taken:
            yield positions.problem(name_path, f"the {tier.tier} alert of SLO {slo.name!r} is named "
                                               f"{tier.alert!r}, which is already {taken[tier.alert]}; "
                                               f"set alerting.{tier.tier}.name")
        taken.setdefault(tier.alert, f"an SLO alert of service {service.name!r}")
        for c in tier.conditions:
            if c.factor * group.budget >= 1:
                bound = f"{c.factor_text} x {float(group.budget):g}"
                yield positions.problem(tier_path, f"the {tier.tier} tier can never fire: at objective "
                                                   f"{slo.objective:g}% its {c.long} window would need an "
                                                   f"error ratio above {bound} >= 1; raise the objective "
                                                   "or set enabled: false")
                break

"""An availability SLO may not promise more than its service's hard dependencies allow.

If a service needs two others to answer, each up 99.9% of the time, it is up at most 99.8%: an
objective of 99.95% is broken by its dependencies alone, and its error budget is spent before the
service fails once. Rule ids: slo-above-dependency-ceiling (warning), slo-dependency-unknown (warning:
a hard dependency on a service with no availability SLO, so no ceiling can be computed).
"""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context
from stackgen.model.slo_ceiling import ceiling, describe
from stackgen.spec.slo import AvailabilitySLI


def check(ctx: Context) -> Iterator[Diagnostic]:
    services = ctx.spec.services
    for i, service in enumerate(services):
        found = ceiling(service, services)
        if found is None:
            continue
        for name in found.unknown:
            k = next(k for k, d in enumerate(service.depends_on) if d.service == name)
            yield ctx.finding("slo-dependency-unknown", ("services", i, "depends_on", k),
                              f"hard dependency {name!r} has no availability SLO, so the ceiling it puts on "
                              f"{service.name!r} is unknown",
                              f"give service {name!r} an availability SLO, or mark the dependency hard: false",
                              severity=WARNING)
        for j, slo in enumerate(service.slos):
            if isinstance(slo.sli, AvailabilitySLI) and slo.objective > found.percent:
                yield ctx.finding("slo-above-dependency-ceiling", ("services", i, "slos", j, "objective"),
                                  f"SLO {slo.name!r} promises {slo.objective:g}%, above the {describe(found)} its "
                                  "hard dependencies allow: they alone spend its error budget",
                                  f"lower the objective to at most {found.percent:.6g}%, or make a dependency "
                                  "soft (hard: false) if the service degrades gracefully without it",
                                  severity=WARNING)

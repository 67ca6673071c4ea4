"""SLO objectives too strict for their traffic: the shortest alert window's error budget is under one event.

At `expected_rps` events a second, a window of w seconds holds rps x w events, of which (1 - objective) may
fail. Below one, a single failed request is already more than the window may spend: the burn-rate alert
measures noise, not a trend. Only SLOs that declare `expected_rps` are checked.

Rule ids: slo-budget-below-one-event (warning).
"""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import WARNING, Diagnostic
from stackgen.lint.context import Context
from stackgen.spec.types import Duration


def check(ctx: Context) -> Iterator[Diagnostic]:
    for i, service in enumerate(ctx.spec.services):
        groups = {g.slo.name: g for g in ctx.stack.slos_of(service)}
        for j, slo in enumerate(service.slos):
            group = groups.get(slo.name)
            if slo.expected_rps is None or group is None or not group.tiers:
                continue
            window = min(c.short for tier in group.tiers for c in tier.conditions)
            events = (100 - slo.objective) / 100 * slo.expected_rps * int(window) / 1000
            if events < 1:
                yield ctx.finding("slo-budget-below-one-event", ("services", i, "slos", j, "expected_rps"),
                                  f"SLO {slo.name!r} at {slo.expected_rps:g} events/s may fail {events:.3g} events in its "
                                  f"shortest alert window ({Duration(window)}): one failure there already burns "
                                  "faster than the objective allows",
                                  "lower the objective, or give the tiers longer windows (alerting.<tier>.windows)",
                                  WARNING)

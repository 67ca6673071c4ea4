"""`stackgen explain slo`: the burn-rate arithmetic of each SLO, for the people who get paged."""

from __future__ import annotations

from collections.abc import Sequence

from stackgen.model.slo import TIERS, SLOGroup
from stackgen.model.slo_ceiling import ceiling, describe
from stackgen.spec.slo import AvailabilitySLI


def explain(groups: Sequence[SLOGroup]) -> str:
    """`groups` are the resolved Stack's `slos`: the numbers shown are the ones the rules use."""
    lines: list[str] = []
    services = list({g.service.name: g.service for g in groups}.values())
    for group in groups:
        service, slo, budget = group.service, group.slo, group.budget
        share = f"{float(budget) * 100:g}% of events"
        lines.append(f"{service.name}/{slo.name}: {slo.sli.kind} objective {group.objective_text}% over "
                     f"{slo.period}, error budget {float(budget):.4g} ({share})")
        found = ceiling(service, services) if isinstance(slo.sli, AvailabilitySLI) else None
        if found is not None:
            verdict = "ABOVE it" if slo.objective > found.percent else "within it"
            unknown = f"; unknown: {', '.join(found.unknown)} (no availability SLO)" if found.unknown else ""
            lines.append(f"  ceiling from hard dependencies: {describe(found)}; the objective is {verdict}{unknown}")
        enabled = {t.tier: t for t in group.tiers}
        for tier_name in TIERS:
            tier = enabled.get(tier_name)
            if tier is None:
                lines.append(f"  {tier_name}: disabled")
                continue
            lines.append(f"  {tier_name}: alert {tier.alert}, severity {tier.severity}"
                         + (f", for {tier.for_}" if tier.for_ else ""))
            for c in tier.conditions:
                rate = float(c.factor * budget)
                lines.append(f"    long {c.long} + short {c.short}: factor {c.factor_text} "
                             f"({float(c.budget_share) * 100:g}% of the budget in {c.long}), fires above "
                             f"an error ratio of {rate:.4g} ({rate * 100:.4g}%)")
        for extra in group.extra_alerts:  # opt-in: budget exhausted, SLI absent
            lines.append(f"  {extra.kind}: alert {extra.alert}, severity {extra.severity}"
                         + (f", for {extra.for_}" if extra.for_ else "") + f": {extra.expr}")
    if not lines:
        lines.append("no SLOs in this spec")
    return "\n".join(lines) + "\n"

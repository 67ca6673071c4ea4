"""`stackgen explain slo`: the burn-rate arithmetic of each SLO, for the people who get paged."""

from __future__ import annotations

from stackgen.model import slo as model
from stackgen.spec.models import Spec


def explain(spec: Spec) -> str:
    lines: list[str] = []
    for service in spec.services:
        for slo in service.slos:
            budget = model.budget(slo)
            share = f"{float(budget) * 100:g}% of events"
            lines.append(f"{service.name}/{slo.name}: {slo.sli.kind} objective {slo.objective:g}% over "
                         f"{slo.period}, error budget {float(budget):.4g} ({share})")
            enabled = {t.tier: t for t in model.tiers(slo)}
            for tier_name in model.TIERS:
                tier = enabled.get(tier_name)
                if tier is None:
                    lines.append(f"  {tier_name}: disabled")
                    continue
                lines.append(f"  {tier_name}: alert {tier.alert}, severity {tier.severity}"
                             + (f", for {tier.for_}" if tier.for_ else ""))
                for c in tier.conditions:
                    rate = float(c.factor * budget)
                    factor = model.format_factor(c.factor)
                    lines.append(f"    long {c.long} + short {c.short}: factor {factor} "
                                 f"({float(c.budget_share) * 100:g}% of the budget in {c.long}), fires above "
                                 f"an error ratio of {rate:.4g} ({rate * 100:.4g}%)")
    if not lines:
        lines.append("no SLOs in this spec")
    return "\n".join(lines) + "\n"

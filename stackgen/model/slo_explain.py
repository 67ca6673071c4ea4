"""`stackgen explain slo`: the burn-rate arithmetic of each SLO, for the people who get paged."""

from __future__ import annotations

from collections.abc import Sequence

from stackgen.model.slo import TIERS, SLOGroup


def explain(groups: Sequence[SLOGroup]) -> str:
    """`groups` are the resolved Stack's `slos`: the numbers shown are the ones the rules use."""
    lines: list[str] = []
    for group in groups:
        service, slo, budget = group.service, group.slo, group.budget
        share = f"{float(budget) * 100:g}% of events"
        lines.append(f"{service.name}/{slo.name}: {slo.sli.kind} objective {slo.objective:g}% over "
                     f"{slo.period}, error budget {float(budget):.4g} ({share})")
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
    if not lines:
        lines.append("no SLOs in this spec")
    return "\n".join(lines) + "\n"

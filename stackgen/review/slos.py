"""SLOs: the objective, the period, the error budget in minutes per period, and each burn-rate tier's
threshold before and after, read from the SLOGroups resolve computed (the numbers the rules use)."""

from __future__ import annotations

from stackgen.model.slo import SLOGroup
from stackgen.resolve import Stack
from stackgen.review.report import ADDED, CHANGED, REMOVED, Entry, field_changes, listed
from stackgen.review.values import ratio, show
from stackgen.spec.slo import AvailabilitySLI, BoolGaugeSLI, LatencySLI

MINUTES_PER_DAY = 24 * 60
DISABLED = "disabled"


def groups_of(stack: Stack) -> dict[tuple[str, str], SLOGroup]:
    return {(g.service.name, g.slo.name): g for g in stack.slos}


def values(group: SLOGroup) -> dict[str, str]:
    slo, sli = group.slo, group.slo.sli
    if isinstance(sli, AvailabilitySLI):
        what = f"availability: bad {show(sli.bad)} of {show(sli.total)}"
    elif isinstance(sli, LatencySLI):
        what = f"latency: {show(sli.histogram)} within {show(sli.threshold)}s"
    elif isinstance(sli, BoolGaugeSLI):
        what = f"bool_gauge: {show(sli.gauge)}"
    else:
        what = f"raw: {' '.join(sli.error_query.split())} of {' '.join(sli.total_query.split())}"
    if getattr(sli, "job", None):
        what += f" on job {sli.job}"
    out = {
        "sli": what,
        "objective": f"{slo.objective:g}%",
        "period": str(slo.period),
        "error budget": f"{ratio(float(group.budget) * group.period_days * MINUTES_PER_DAY)} min per {slo.period}",
    }
    enabled = {t.tier: t for t in group.tiers}
    for tier in ("page", "ticket"):
        found = enabled.get(tier)
        if found is None:
            out[f"{tier} alert"] = DISABLED
            continue
        out[f"{tier} alert"] = f"{found.alert} ({found.severity}" + (f", for {found.for_})" if found.for_ else ")")
        for c in found.conditions:
            out[f"{tier} {c.long}/{c.short} burn factor"] = c.factor_text
            out[f"{tier} {c.long}/{c.short} fires above error ratio"] = ratio(c.threshold)
    return out


def compare(base: Stack, head: Stack) -> list[Entry]:
    before, after = groups_of(base), groups_of(head)
    out = [Entry(REMOVED, key[1], key[0]) for key in before.keys() - after.keys()]
    out += [Entry(ADDED, key[1], key[0], listed(values(after[key]))) for key in after.keys() - before.keys()]
    for key in before.keys() & after.keys():
        old, new = values(before[key]), values(after[key])
        fields = field_changes(old, new)
        # A tier switched on or off is one change: its windows' numbers come or go with it.
        switched = [t for t in ("page", "ticket") if DISABLED in (old.get(f"{t} alert"), new.get(f"{t} alert"))
                    and old.get(f"{t} alert") != new.get(f"{t} alert")]
        fields = tuple(c for c in fields if not any(c.field.startswith(f"{t} ") and c.field != f"{t} alert"
                                                    for t in switched))
        if fields:
            out.append(Entry(CHANGED, key[1], key[0], fields))
    return out

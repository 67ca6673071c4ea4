"""The availability a service can promise at most, given what it depends on.

A hard dependency's failure is the service's failure, so if it needs A (99.9%) and B (99.95%) to
answer, it is up at most 99.9% x 99.95% = 99.85% of the time, whatever its own code does. A service
of this spec counts with its availability SLOs (the lowest objective, the weakest promise it makes);
an external one with its published objective. Soft dependencies (`hard: false`) cap nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from stackgen.spec.service import Service
from stackgen.spec.slo import AvailabilitySLI


@dataclass(frozen=True)
class Ceiling:
    percent: float  # the product of the hard dependencies' availabilities, in percent
    factors: tuple[tuple[str, float], ...]  # (dependency, its availability %) in spec order
    unknown: tuple[str, ...]  # hard dependencies on services without an availability SLO


def availability(service: Service) -> float | None:
    """The availability a service promises: its lowest availability-SLO objective, or None."""
    objectives = [slo.objective for slo in service.slos if isinstance(slo.sli, AvailabilitySLI)]
    return min(objectives) if objectives else None


def ceiling(service: Service, services: Sequence[Service]) -> Ceiling | None:
    """None when the service has no hard dependency."""
    by_name = {s.name: s for s in services}
    factors: list[tuple[str, float]] = []
    unknown: list[str] = []
    for dep in service.depends_on:
        if not dep.hard:
            continue
        if dep.external is not None:
            assert dep.objective is not None, "the spec requires it"
            factors.append((dep.external, dep.objective))
            continue
        other = by_name.get(dep.service or "")
        promised = availability(other) if other is not None else None
        if promised is None:
            unknown.append(dep.service or "")
        else:
            factors.append((dep.service or "", promised))
    if not factors and not unknown:
        return None
    product = Fraction(1)
    for _, percent in factors:
        product *= Fraction(repr(percent)) / 100
    return Ceiling(float(product * 100), tuple(factors), tuple(unknown))


def describe(found: Ceiling) -> str:
    """`99.85% (orders 99.9% x postgres 99.95%)`."""
    parts = " x ".join(f"{name} {percent:g}%" for name, percent in found.factors) or "none known"
    return f"{found.percent:.6g}% ({parts})"

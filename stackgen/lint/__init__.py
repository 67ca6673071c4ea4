"""`stackgen lint`: semantic checks of a spec and its fresh in-memory render.

Where `stackgen check` proves the generated files are accepted by the real tools, lint proves they
mean what the service promises: every selected metric and label is in the contract, rates run over
counters, alerts are routed deliberately, ports and probes agree across every deployment target,
labels stay bounded. One module per rule family; each exposes `check(ctx) -> Iterator[Finding]`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from stackgen.artifact import Artifact
from stackgen.lint.context import Context
from stackgen.lint.finding import ERROR, WARNING, Finding
from stackgen.resolve import Stack

# Registration: a new rule family is one module under stackgen/lint/ and one line here.
FAMILIES = (
    "promql_rules",
    "alert_meta",
    "routing",
    "consistency",
    "openapi",
    "cardinality",
)

__all__ = ["ERROR", "WARNING", "FAMILIES", "Finding", "lint"]


def lint(stack: Stack, artifacts: list[Artifact], spec_dir: Path, out_name: str = "generated",
         live: str | None = None, live_service: str | None = None) -> list[Finding]:
    """Every finding of every family, errors first, then in location order.

    `spec_dir` resolves paths the spec names (the OpenAPI documents); `out_name` is how generated
    files are named in findings; `live` is a /metrics URL compared with `live_service`'s contract
    (the only service when None). Raises ValueError for an unknown or ambiguous `live_service`.
    """
    ctx = Context(stack, artifacts, spec_dir, out_name)
    findings: list[Finding] = []
    for name in FAMILIES:
        module = importlib.import_module(f"stackgen.lint.{name}")
        findings.extend(module.check(ctx))
    if live is not None:
        from stackgen.lint import live as live_rules

        findings.extend(live_rules.check(ctx, live, live_target(stack, live_service)))
    return sorted(set(findings), key=Finding.sort_key)


def live_target(stack: Stack, name: str | None):
    """The service whose contract --live compares with."""
    services = stack.spec.services
    if name is None:
        if len(services) != 1:
            raise ValueError(f"--live needs --service: the spec has {len(services)} services "
                             f"({', '.join(s.name for s in services)})")
        return services[0]
    found = next((s for s in services if s.name == name), None)
    if found is None:
        raise ValueError(f"--service {name!r} is not a service of the spec ({', '.join(s.name for s in services)})")
    return found

"""The stages in order: load and resolve a spec, render every target, then validate or lint the result.

The three registries below are the only place a target, validator or lint rule family is listed. Their
modules are imported on first use, not here, so `stackgen --help` pays for none of them.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from stackgen.diagnostics import Diagnostic
from stackgen.output.artifact import Artifact
from stackgen.resolve import Stack, load_stack

if TYPE_CHECKING:
    from stackgen.lint.context import Context
    from stackgen.spec.service import Service

__all__ = ["LINT_RULES", "PACKAGING_TARGETS", "TARGETS", "VALIDATORS", "lint", "load_stack", "render_stack", "validate"]


@runtime_checkable
class Target(Protocol):
    """An artifact family: pure, no I/O, clock or randomness."""

    def render(self, stack: Stack) -> list[Artifact]: ...


@runtime_checkable
class PackagingTarget(Protocol):
    """A family that packages the others' output; it gets what they produced, so it never names a file
    that was not rendered."""

    def render(self, stack: Stack, produced: list[Artifact]) -> list[Artifact]: ...


@runtime_checkable
class Validator(Protocol):
    """A check of the rendered tree on disk (internal, or by the real tool)."""

    def validate(self, root: Path, stack: Stack) -> list[Diagnostic]: ...


@runtime_checkable
class LintRule(Protocol):
    """A family of semantic rules over the spec and its fresh in-memory render."""

    def check(self, ctx: Context) -> Iterable[Diagnostic]: ...


P = TypeVar("P")


@dataclass(frozen=True)
class Registry(Generic[P]):
    """Modules `package.name` in order, each providing the function `kind` names."""

    package: str
    names: tuple[str, ...]
    kind: type[P]

    def modules(self) -> list[P]:
        out: list[P] = []
        for name in self.names:
            module = importlib.import_module(f"{self.package}.{name}")
            if not isinstance(module, self.kind):  # type: ignore[arg-type]  # runtime_checkable Protocols
                raise TypeError(f"{module.__name__} is registered as a {self.kind.__name__} but lacks its function")
            out.append(module)  # type: ignore[arg-type]
        return out


# A new artifact family is one module (or package) under stackgen/targets/ and one name here.
TARGETS: Registry[Target] = Registry("stackgen.targets", (
    "schema",
    "prometheus.config",
    "prometheus.rules",
    "prometheus.alert_tests",
    "prometheus.slo_tests",
    "alertmanager.config",
    "alertmanager.routing_tests",
    "grafana.provisioning",
    "logstash",
), Target)
# Run last, over everything the targets above produced (compose mounts it, kubernetes wraps
# dashboards in ConfigMaps).
PACKAGING_TARGETS: Registry[PackagingTarget] = Registry("stackgen.targets", (
    "compose",
    "kubernetes",
), PackagingTarget)
VALIDATORS: Registry[Validator] = Registry("stackgen.checks", (
    "promtool",
    "amtool",
    "yaml_lint",
    "compose",
    "kubernetes",
    "grafana",
    "logstash",
), Validator)
LINT_RULES: Registry[LintRule] = Registry("stackgen.lint", (
    "promql_rules",
    "alert_meta",
    "routing",
    "route_tree",
    "rule_hygiene",
    "consistency",
    "openapi",
    "cardinality",
    "limits",
    "slo_ceilings",
    "quantile_thresholds",
    "vector_matching",
    "slo_traffic",
), LintRule)


def render_stack(stack: Stack) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for target in TARGETS.modules():
        artifacts.extend(target.render(stack))
    produced = sorted(artifacts)
    for packaging in PACKAGING_TARGETS.modules():
        artifacts.extend(packaging.render(stack, produced))
    duplicates = sorted(path for path, count in Counter(a.path for a in artifacts).items() if count > 1)
    if duplicates:
        raise RuntimeError(f"two targets produce the same file: {', '.join(duplicates)}")
    return sorted(artifacts)


def validate(root: Path, stack: Stack, cache: Path | None = None) -> list[Diagnostic]:
    """Every validator's findings on the tree rendered at `root`, each naming its file relative to `root`,
    in registry order whatever order they finish in.

    The validators are independent and mostly wait on subprocesses (promtool, amtool, kubectl, ...), so
    they run concurrently. With `cache` (a file, checks/cache.py), a validator that passed on the same
    files, stack, code and tools is skipped; a module with `CACHEABLE = False` (it reads outside `root`)
    always runs.
    """
    from concurrent.futures import ThreadPoolExecutor

    from stackgen.checks import cache as check_cache
    from stackgen.checks import tools

    validators = VALIDATORS.modules()
    store = check_cache.Cache(cache) if cache is not None else None
    digest = ""
    if store is not None:
        files = [(p.relative_to(root).as_posix(), p.read_text(encoding="utf-8", errors="surrogateescape"))
                 for p in root.rglob("*") if p.is_file()]
        digest = check_cache.inputs_digest(files, "\n".join([stack.spec_name, stack.out_to_spec, stack.spec.model_dump_json()]))

    def run_one(validator: Validator) -> list[Diagnostic]:
        name = validator.__name__  # type: ignore[attr-defined]  # a module
        cacheable = store is not None and getattr(validator, "CACHEABLE", True)
        if cacheable and store.fresh(name, digest):  # type: ignore[union-attr]
            return []
        with tools.recording() as used:
            found = list(validator.validate(root, stack))
        if cacheable:
            store.passed(name, digest, used) if not found else store.forget(name, digest)  # type: ignore[union-attr]
        return found

    with ThreadPoolExecutor(max_workers=len(validators) or 1, thread_name_prefix="stackgen-check") as pool:
        results = list(pool.map(run_one, validators))
    if store is not None:
        store.save()
    return [finding for found in results for finding in found]


def lint(stack: Stack, artifacts: list[Artifact], spec_dir: Path, out_name: str = "generated",
         live: str | None = None, live_service: str | None = None) -> list[Diagnostic]:
    """Every finding of every rule family, errors first, then in location order.

    `spec_dir` resolves paths the spec names (the OpenAPI documents); `out_name` is how generated
    files are named in findings; `live` is a /metrics URL compared with `live_service`'s contract
    (the only service when None). Raises ValueError for an unknown or ambiguous `live_service`.
    """
    from stackgen.lint import ignore
    from stackgen.lint import live as live_rules
    from stackgen.lint.context import Context

    ctx = Context(stack, artifacts, spec_dir, out_name)
    findings: list[Diagnostic] = []
    for rule in LINT_RULES.modules():
        findings.extend(rule.check(ctx))
    if live is not None:
        findings.extend(live_rules.check(ctx, live, live_target(stack, live_service)))
    if stack.positions is not None:  # `# stackgen: ignore[rule-id]` comments in the spec
        known = ignore.known_rules([*LINT_RULES.modules(), live_rules])
        unchecked = frozenset() if live is not None else ignore.known_rules([live_rules]) - ignore.known_rules([])
        findings = ignore.apply(findings, stack.positions.file, stack.positions.text, known, unchecked)
    return sorted(set(findings), key=Diagnostic.severity_first)


def live_target(stack: Stack, name: str | None) -> Service:
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

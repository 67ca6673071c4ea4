"""Run every target over a stack. Targets are imported here, lazily, so `stackgen --help` stays fast."""

from __future__ import annotations

import importlib

from stackgen.artifact import Artifact
from stackgen.resolve import Stack

# Registration: a new artifact family is one module under stackgen/targets/ and one line here.
TARGETS = (
    "schema",
    "prometheus",
    "prometheus_tests",
    "slo_tests",
    "alertmanager",
    "alertmanager_tests",
    "grafana",
    "logstash",
)
# Targets that package the others' output (compose mounts it, kubernetes wraps dashboards in
# ConfigMaps). They run last and get what was produced, so they never reference a file that is not
# rendered: `render(stack, produced: list[Artifact])`.
PACKAGING_TARGETS = (
    "compose",
    "kubernetes",
)


def render_stack(stack: Stack) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for name in TARGETS:
        module = importlib.import_module(f"stackgen.targets.{name}")
        artifacts.extend(module.render(stack))
    produced = sorted(artifacts)
    for name in PACKAGING_TARGETS:
        module = importlib.import_module(f"stackgen.targets.{name}")
        artifacts.extend(module.render(stack, produced))
    paths = [a.path for a in artifacts]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise RuntimeError(f"two targets produce the same file: {', '.join(duplicates)}")
    return sorted(artifacts)

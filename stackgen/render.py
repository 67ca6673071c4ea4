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
    "slo_rules",
    "slo_tests",
    "alertmanager",
    "alertmanager_tests",
)


def render_stack(stack: Stack) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for name in TARGETS:
        module = importlib.import_module(f"stackgen.targets.{name}")
        artifacts.extend(module.render(stack))
    paths = [a.path for a in artifacts]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise RuntimeError(f"two targets produce the same file: {', '.join(duplicates)}")
    return sorted(artifacts)

"""YAML for the validators, through libyaml when PyYAML has it: the same YAML 1.1 safe semantics as
yaml.safe_load / safe_dump, ten times faster on the built Kubernetes manifests and vendored CRDs that the
kubernetes validator reads and writes (pure-Python PyYAML was most of its time: bench/results/check.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from stackgen.spec.load import SAFE_LOADER

SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(text: str) -> Any:
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=SAFE_DUMPER)

"""The spec's JSON Schema, so editors complete and check stack.yaml.

The schema depends on stackgen's own models, never on the spec, yet building it with pydantic took
~90 ms of every render (the largest single target, bench/results/notes.md). So the built schema
ships in the package as `stack.schema.json` next to this module and render emits its bytes.
`build()` is the source of truth: tests/core/test_schema_snapshot.py fails when the shipped copy
differs from it, and `python -m stackgen.targets.schema` (also run by tests.golden.regenerate)
rewrites the copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.resolve import Stack

SHIPPED = Path(__file__).with_name("stack.schema.json")


def build() -> dict[str, Any]:
    """The schema, built from the models (slow: ~90 ms of pydantic)."""
    from stackgen.spec.models import Spec

    out = Spec.model_json_schema(by_alias=True)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "stackgen/v1 stack spec"
    return out


def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    return json.loads(shipped_text())


def write_shipped() -> bool:
    """Rewrite the shipped copy from build(); True when it changed."""
    from stackgen.output.serialize import json_text

    text = json_text(build())
    if SHIPPED.is_file() and shipped_text() == text:
        return False
    SHIPPED.write_text(text, encoding="utf-8")
    return True


def render(stack: Stack) -> list[Artifact]:
    return [Artifact(names.SCHEMA_FILE, shipped_text())]


if __name__ == "__main__":
    print(f"{SHIPPED}: {'rewritten' if write_shipped() else 'up to date'}")

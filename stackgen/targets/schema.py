"""The spec's JSON Schema, so editors complete and check stack.yaml."""

from __future__ import annotations

from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import json_artifact
from stackgen.resolve import Stack


def schema() -> dict[str, Any]:
    from stackgen.spec.models import Spec

    out = Spec.model_json_schema(by_alias=True)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "stackgen/v1 stack spec"
    return out


def render(stack: Stack) -> list[Artifact]:
    return [json_artifact(names.SCHEMA_FILE, schema())]

"""The JSON Schema render emits is a copy shipped in the package (stackgen/targets/schema.py); it must be
exactly what the models build, or editors would check stack.yaml against a stale schema."""

from __future__ import annotations

from stackgen.output.serialize import json_text
from stackgen.targets import schema


def test_the_shipped_schema_is_what_the_models_build() -> None:
    assert schema.shipped_text() == json_text(schema.build()), (
        "stackgen/targets/stack.schema.json is stale: run `python -m tests.golden.regenerate`")


def test_a_stale_copy_is_rewritten(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "stack.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(schema, "SHIPPED", stale)
    assert schema.write_shipped() is True
    assert stale.read_text(encoding="utf-8") == json_text(schema.build())
    assert schema.write_shipped() is False

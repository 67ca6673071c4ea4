"""JSON Schema validation in process, as check-jsonschema does it, with findings as `path: message` lines.

check-jsonschema (a Python process per call, ~0.3 s of start-up) ran once per kind and folder; the
schemas here are the same files, applied by the same library it uses.
"""

from __future__ import annotations

from typing import Any


def validator(schema: dict[str, Any], **options: Any) -> Any:
    """The validator class the schema's `$schema` names (the newest draft without one), checking formats
    as check-jsonschema does by default."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER, **options)


def problems(checker: Any, doc: Any) -> list[str]:
    """Every error, in document order, as `dotted.path: message` (`(top level)` for the root)."""
    errors = sorted(checker.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]

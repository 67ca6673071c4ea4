"""Rewrite the "Required fields" table of docs/spec.md from the JSON Schema, and stackgen/fast_help.py's HELP
from typer's own `stackgen --help`: `python -m tests.docs_tables`.

tests/core/test_init.py keeps the table equal to the schema's `required` lists; this writes it, each
object at the shallowest spec path that reaches it, so a new model only needs a rerun.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
HEADER = "| where | object | required fields |\n| --- | --- | --- |\n"


def _refs(node: Any, path: str) -> list[tuple[str, str]]:
    """(path, def name) for every $ref reachable from `node` without entering another definition."""
    if isinstance(node, list):
        return [hit for item in node for hit in _refs(item, path)]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        return [(path, node["$ref"].rsplit("/", 1)[1])]
    found = []
    for key, value in node.items():
        if key == "properties":
            found += [hit for name, prop in value.items() for hit in _refs(prop, f"{path}.{name}" if path else name)]
        elif key == "items":
            found += _refs(value, f"{path}[]")
        elif key == "additionalProperties":
            found += _refs(value, f"{path}.*")
        elif key == "patternProperties":
            found += [hit for pattern in value.values() for hit in _refs(pattern, f"{path}.*")]
        elif key in ("anyOf", "oneOf", "allOf"):
            found += _refs(value, path)
    return found


def _depth(path: str) -> tuple[int, str]:
    """Shallowest first, then alphabetical: `services[].resources`, not an environment's override of it."""
    return path.count(".") + path.count("["), path


def rows(schema: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    defs = schema["$defs"]
    where: dict[str, str] = {}
    queue: list[tuple[str, Any]] = [("", schema)]
    while queue:  # until each definition sits at its smallest path
        path, node = queue.pop()
        for ref_path, name in _refs(node, path):
            if name not in where or _depth(ref_path) < _depth(where[name]):
                where[name] = ref_path
                queue.append((ref_path, defs[name]))
    out = [("(top level)", "(root)", schema["required"])]
    out += sorted((where[name], name, d["required"]) for name, d in defs.items() if d.get("required") and name in where)
    return out


def table(schema: dict[str, Any]) -> str:
    return HEADER + "".join(
        f"| `{where}` | `{name}` | {', '.join(f'`{f}`' for f in required)} |\n" for where, name, required in rows(schema))


FAST_HELP = Path(__file__).resolve().parents[1] / "stackgen" / "fast_help.py"


def rewrite_help() -> None:
    from tests.core.test_fast_help import typer_help

    text = FAST_HELP.read_text(encoding="utf-8")
    start = text.index('HELP = """\\\n') + len('HELP = """\\\n')
    end = text.index('"""', start)
    FAST_HELP.write_text(text[:start] + typer_help(120) + text[end:], encoding="utf-8")


def main() -> None:
    from stackgen.targets.schema import schema

    rewrite_help()

    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(HEADER) + r"(?:\|.*\n)+")
    assert pattern.search(text), "docs/spec.md has no required-fields table"
    DOC.write_text(pattern.sub(lambda _: table(schema()), text, count=1), encoding="utf-8")


if __name__ == "__main__":
    main()

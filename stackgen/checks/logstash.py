"""The generated Logstash pipeline parses with our grammar, and every field it reads is in the log schema.

Field references are checked against the union of the schemas of the services the pipeline ships
(plus Logstash's own event fields, and Beats' when the input is beats).
"""

from __future__ import annotations

import json
from pathlib import Path

from stackgen.checks.tools import find_python_library
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.parsers.logstash_grammar import BEATS_FIELDS, LOGSTASH_FIELDS, LogstashSyntaxError, fields_read, parse
from stackgen.resolve import Stack

CHECK = "logstash"


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    find_python_library("lark", "lark")  # the pipeline grammar's parser: recorded for the check cache
    services = [s for s in stack.spec.services if s.logs is not None]
    if not services:
        return []
    findings: list[Diagnostic] = []
    file = names.LOGSTASH_PIPELINE
    path = root / file
    if not path.exists():
        return [Diagnostic(file, rule=CHECK, message="pipeline missing")]
    schema = {f.name for s in services for f in s.logs.fields}  # type: ignore[union-attr]
    allowed = schema | LOGSTASH_FIELDS | (BEATS_FIELDS if stack.spec.logging.input == "beats" else set())
    findings += [Diagnostic(file, rule=CHECK, message=m) for m in check_pipeline(path.read_text(encoding="utf-8"), allowed)]
    for service in services:
        template = names.index_template_file(service.name)
        findings += [Diagnostic(template, rule=CHECK, message=m) for m in _check_template(root / template, service)]
    return findings


def check_pipeline(text: str, allowed_fields: set[str]) -> list[str]:
    try:
        tree = parse(text)
    except LogstashSyntaxError as exc:
        return [f"does not parse: {exc}"]
    problems = []
    for read in fields_read(tree):
        if read.field not in allowed_fields:
            problems.append(
                f"line {read.line}: the pipeline reads field {read.field!r} ({read.reference}), "
                f"which is not in the log schema"
            )
    return sorted(set(problems))


def _check_template(path: Path, service) -> list[str]:
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"cannot read the index template: {exc}"]
    properties = template.get("template", {}).get("mappings", {}).get("properties", {})
    return [
        f"log field {f.name!r} is not mapped (or mapped as {properties.get(f.name, {}).get('type')!r}, "
        f"schema says {f.type})"
        for f in service.logs.fields
        if properties.get(f.name, {}).get("type") != f.type
    ]

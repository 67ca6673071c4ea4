"""The report as one JSON document (schema in docs/review.md): every section key always present, keys
sorted, ASCII only, so two runs over the same change give the same bytes."""

from __future__ import annotations

import json
from typing import Any

from stackgen.parsers.credentials import redact
from stackgen.review.report import SECTIONS, Entry, Report, files_differing

SCHEMA_VERSION = 1


def _masked(value: str | None) -> str | None:
    """Credentials the spec should never hold, masked anyway, as in every diagnostic."""
    return None if value is None else redact(value)


def entry_json(entry: Entry) -> dict[str, Any]:
    promql = entry.promql
    return {
        "change": entry.change,
        "subject": redact(entry.subject),
        "service": entry.service,
        "fields": [{"field": c.field, "before": _masked(c.before), "after": _masked(c.after)} for c in entry.fields],
        "notes": [redact(note) for note in entry.notes],
        "message": _masked(entry.message or None),
        "promql": None if promql is None else {"before": _masked(promql.before), "after": _masked(promql.after)},
    }


def document(report: Report) -> dict[str, Any]:
    changes, warnings = report.counts()
    return {
        "version": SCHEMA_VERSION,
        "base": report.base,
        "head": report.head,
        "changed": report.changed,
        "summary": {"changes": changes, "warnings": warnings, "files": files_differing(report)},
        "sections": {key: [entry_json(e) for e in report.entries(key)] for key, _ in SECTIONS},
    }


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2, sort_keys=True) + "\n"

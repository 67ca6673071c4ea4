"""Diagnostics as values: spec problems, validator findings and lint findings are one type, collected
and printed once, as text (each command its own pinned layout) or as one JSON document."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stackgen.parsers.credentials import redact

ERROR = "error"
WARNING = "warning"
SPEC = "spec"  # the rule id of every problem that makes a spec invalid


def one_line(text: str) -> str:
    """`text` with every non-printable character (newlines, NUL, line separators, bidi controls) as a
    Python escape: a spec's keys, values and file name reach messages, and must not forge lines."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """Where (a file, with a 1-based line and column when known, and a spec field path), which rule
    (`spec`, a validator, a lint rule id), how bad, what is wrong and how to fix it.

    The field order is the sort order of spec problems: by file, then position.
    """

    file: str
    line: int = 0  # 0: no position (a generated file, a URL)
    col: int = 0
    path: str = ""  # the spec field, e.g. services[0].alerts[3].expr
    message: str = ""
    rule: str = SPEC
    severity: str = ERROR
    fix: str = ""

    def location(self) -> str:
        """`FILE:LINE:COL: path`, leaving out what is unknown; one line whatever the input held."""
        where = one_line(self.file) + (f":{self.line}:{self.col}" if self.line else "")
        # A path quotes spec keys, which may hold a credential: diagnostics end up in CI logs.
        return f"{where}: {one_line(redact(self.path))}" if self.path else where

    def __str__(self) -> str:
        """The spec-error line: `FILE:LINE:COL: path: message`."""
        return f"{self.location()}: {one_line(redact(self.message))}"

    def check_text(self) -> str:
        """`stackgen check`'s layout; a tool's message keeps its own lines."""
        return f"{self.location()}: [{self.rule}] {redact(self.message)}"

    def lint_text(self) -> str:
        """`stackgen lint`'s layout: the finding, then its fix on an indented line."""
        return f"{self.location()}: {self.severity}: {redact(self.message)} [{self.rule}]\n    fix: {redact(self.fix)}"

    def severity_first(self) -> tuple[int, str, int, int, str, str, str, str]:
        """Errors first, then by file and numeric position (line 9 before line 10)."""
        return (0 if self.severity == ERROR else 1, self.file, self.line, self.col, self.path, self.rule,
                self.message, self.fix)

    def as_json(self) -> dict[str, Any]:
        """The machine form: every key always present, null where unknown, credentials masked as in text."""
        return {
            "file": self.file,
            "line": self.line or None,
            "col": self.col or None,
            "path": redact(self.path) or None,
            "rule": self.rule,
            "severity": self.severity,
            "message": redact(self.message),
            "fix": redact(self.fix) or None,
        }


def json_text(diagnostics: Iterable[Diagnostic]) -> str:
    """One JSON document: the list of diagnostics in the order given, keys sorted, ASCII only (so no
    control or bidi character reaches a terminal raw)."""
    return json.dumps([d.as_json() for d in diagnostics], indent=2, sort_keys=True) + "\n"



class SpecError(Exception):
    """The spec is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Diagnostic]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))

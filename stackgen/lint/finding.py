"""A lint finding: where (spec position or generated file), which rule, what is wrong, how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: str  # ERROR or WARNING
    rule: str  # the rule id, e.g. promql-unknown-metric (docs/lint.md lists every one)
    where: str  # "FILE:LINE:COL: spec.path" or "generated/<file>"
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message} [{self.rule}]\n    fix: {self.fix}"

    def sort_key(self) -> tuple[int, str, int, int, str, str, str]:
        """Errors first, then by file and numeric line/column (so line 9 sorts before line 10)."""
        parts = self.where.split(":", 3)
        if len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
            file, line, col = parts[0], int(parts[1]), int(parts[2])
        else:
            file, line, col = self.where, 0, 0
        return (0 if self.severity == ERROR else 1, file, line, col, self.where, self.rule, self.message)

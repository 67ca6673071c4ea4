"""Input problems as values: collected, sorted by position, printed once (`FILE:LINE:COL: path: reason`)."""

from __future__ import annotations

from dataclasses import dataclass

from stackgen.parsers.credentials import redact


def one_line(text: str) -> str:
    """`text` with every non-printable character (newlines, NUL, line separators, bidi controls) as a
    Python escape: a spec's keys, values and file name reach messages, and must not forge lines."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{one_line(self.file)}:{self.line}:{self.col}"
        # Messages quote rejected input, which may hold a credential: stderr ends up in CI logs.
        message = one_line(redact(self.message))
        return f"{where}: {one_line(redact(self.path))}: {message}" if self.path else f"{where}: {message}"


class SpecError(Exception):
    """The spec is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))

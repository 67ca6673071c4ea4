"""The report as GitHub-flavoured Markdown, for a pull-request comment or $GITHUB_STEP_SUMMARY.

Everything that comes from the spec (names, values, titles) is either in a code span or escaped, so a
panel title or a label value cannot open a link, an HTML tag or a table in the comment.
"""

from __future__ import annotations

import re

from stackgen.diagnostics import one_line
from stackgen.parsers.credentials import redact
from stackgen.review.report import RESULT, SECTIONS, WARNING, Change, Entry, Report, no_change, promql_lines, summary

# Characters with a meaning anywhere in a line (emphasis, code, links, HTML, tables, entities), and those
# that only mean something first in a line (lists, headings, quotes): the text never starts a line of
# its own, but a note starts a list item's.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_LEADING = re.compile(r"^(?:[-+#>=]|(?P<number>\d+)(?=[.)](?:\s|$)))")


def text(value: str) -> str:
    """Plain text with every Markdown (and HTML) meaning escaped, on one line."""
    escaped = _SPECIAL.sub(r"\\\1", one_line(redact(value)))
    # `- x` becomes `\- x`; `1. x` becomes `1\. x` (the escape goes before the dot).
    return _LEADING.sub(lambda m: f"{m.group('number')}\\" if m.group("number") else f"\\{m.group(0)}", escaped)


def code(value: str) -> str:
    """An inline code span that holds any text: its fence is longer than any run of backticks inside."""
    value = one_line(redact(value))
    runs = [len(r) for r in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _field(change: Change) -> str:
    if change.before is not None and change.after is not None:
        return f"{text(change.field)} {code(change.before)} → {code(change.after)}"
    return f"{text(change.field)} {code(change.after if change.after is not None else change.before or '')}"


def _entry(entry: Entry, show_service: bool) -> list[str]:
    head = f"- {code(entry.subject)}" if entry.change == RESULT else f"- **{entry.change}** {code(entry.subject)}"
    if entry.service_suffix(show_service):
        head += f" ({code(entry.service or '')})"
    if entry.fields:
        head += ": " + ", ".join(_field(c) for c in entry.fields)
    if entry.change == WARNING and entry.message:
        head += f": {text(entry.message)}"
    lines = [head] + [f"  - {text(note)}" for note in entry.notes]
    if entry.promql is not None:
        body = promql_lines(entry.promql)
        fence = "`" * max(3, max((len(r) for line in body for r in re.findall(r"`+", line)), default=0) + 1)
        lines += ["", f"  {fence}diff", *[f"  {one_line(redact(line))}" for line in body], f"  {fence}", ""]
    return lines


def render(report: Report) -> str:
    if not report.changed:
        return f"**{text(no_change(report))}**\n"
    lines = ["## stackgen review", "", f"{code(report.base)} → {code(report.head)}: {text(summary(report))}"]
    for key, title in SECTIONS:
        entries = report.entries(key)
        if not entries:
            continue
        while lines[-1] == "":
            lines.pop()
        lines += ["", f"### {title}", ""]
        for entry in entries:
            lines += _entry(entry, report.show_service)
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"

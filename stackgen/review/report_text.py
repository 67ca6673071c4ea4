"""The report for a terminal: one line per entry, its notes and PromQL indented under it."""

from __future__ import annotations

from stackgen.diagnostics import one_line
from stackgen.parsers.credentials import redact
from stackgen.review.report import RESULT, SECTIONS, WARNING, Change, Entry, Report, no_change, promql_lines, summary


def field_text(change: Change) -> str:
    if change.before is not None and change.after is not None:
        return f"{change.field} {change.before} → {change.after}"
    return f"{change.field} {change.after if change.after is not None else change.before}"


def entry_line(entry: Entry, show_service: bool) -> str:
    service = entry.service_suffix(show_service)
    # A result (a file count, a backtest) is a measurement: no change word before it.
    text = f"{entry.subject}{service}" if entry.change == RESULT else f"{entry.change} {entry.subject}{service}"
    if entry.fields:
        text += ": " + ", ".join(field_text(c) for c in entry.fields)
    if entry.change == WARNING and entry.message:
        text += f": {entry.message}"
    return line(text)


def line(text: str) -> str:
    """One line for a terminal: credentials the spec should never hold masked anyway, controls escaped."""
    return one_line(redact(text))


def render(report: Report) -> str:
    if not report.changed:
        return line(no_change(report)) + "\n"
    lines = [line(f"stackgen review: {report.base} → {report.head}: {summary(report)}")]
    for key, title in SECTIONS:
        entries = report.entries(key)
        if not entries:
            continue
        lines += ["", title]
        for entry in entries:
            lines.append("  " + entry_line(entry, report.show_service))
            lines += [f"    {line(note)}" for note in entry.notes]
            if entry.promql is not None:
                lines.append("    PromQL:")
                lines += [f"      {line(text)}" for text in promql_lines(entry.promql)]
    return "\n".join(lines) + "\n"

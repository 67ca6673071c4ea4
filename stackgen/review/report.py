"""The review report as data: sections of entries, each entry one thing that changed (or a warning).

Every category module returns entries; the Markdown, text and JSON writers only format them, so the
three formats always say the same thing. Values are already display strings (`0.05`, `2m`,
`critical-alerts`): the report compares what a reviewer reads, and JSON stays stable across versions
of the spec types.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from stackgen.review.values import show

ADDED, REMOVED, CHANGED, WARNING = "added", "removed", "changed", "warning"
RESULT = "result"  # a measurement (the backtest), not a change of the spec
# Within a section: what appeared, what changed, what went away, then what needs a look.
_ORDER = {ADDED: 0, CHANGED: 1, REMOVED: 2, RESULT: 3, WARNING: 4}

# (key, title) in report order; the JSON document has every key, empty where nothing changed.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("alerts", "Alerts"),
    ("routing", "Routing"),
    ("slos", "SLOs"),
    ("contract", "Metric contract"),
    ("dashboards", "Dashboards"),
    ("scrape", "Scrape"),
    ("deploy", "Deploy"),
    ("files", "Generated files"),
    ("backtest", "Backtest"),
)


@dataclass(frozen=True)
class Change:
    """One field of an entry. Both values: `field before → after`; one: `field value` (what an added
    thing has, or what a removed one had)."""

    field: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class PromQL:
    """An expression before and after (None: the alert did not exist on that side)."""

    before: str | None
    after: str | None


@dataclass(frozen=True)
class Entry:
    change: str  # ADDED, REMOVED, CHANGED, RESULT or WARNING
    subject: str  # what it is about: an alert name, a route, a panel title
    service: str | None = None  # the service it belongs to, where it belongs to one
    fields: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()  # further lines: effective values per environment, silenced alerts
    message: str = ""  # a warning's text
    promql: PromQL | None = None

    def service_suffix(self, show_service: bool) -> str:
        """` (service)` after the subject where several services make it ambiguous and the subject
        (`billing in dev`) does not already say it."""
        if not show_service or not self.service or self.subject.split(" ")[0] == self.service:
            return ""
        return f" ({self.service})"

    def sort_key(self) -> tuple[int, str, str, str]:
        return (_ORDER[self.change], self.service or "", self.subject, self.message)


@dataclass(frozen=True)
class Report:
    base: str  # how the base side is named: "HEAD:stack.yaml", or a file name
    head: str
    sections: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    # Whether entries name their service: only where either side has more than one.
    show_service: bool = False

    @property
    def changed(self) -> bool:
        """Warnings describe the result, and a backtest measures it: without a change of the spec or of a
        generated file beside them there is nothing to review."""
        return bool(self.entries("files")) or any(e.change not in (WARNING, RESULT)
                                                  for entries in self.sections.values() for e in entries)

    def entries(self, key: str) -> tuple[Entry, ...]:
        return self.sections.get(key, ())

    def counts(self) -> tuple[int, int]:
        """(changes, warnings) over every section; the generated files are a consequence, not a change."""
        every = [e for key, entries in self.sections.items() if key != "files" for e in entries]
        return (sum(1 for e in every if e.change in (ADDED, REMOVED, CHANGED)),
                sum(1 for e in every if e.change == WARNING))


def sorted_entries(entries: list[Entry]) -> tuple[Entry, ...]:
    return tuple(sorted(entries, key=Entry.sort_key))


def field_changes(before: dict[str, str], after: dict[str, str]) -> tuple[Change, ...]:
    """Fields whose value differs, in `after`'s order then those only `before` has; a field one side
    lacks reads `unset` there."""
    out = [Change(k, before.get(k, "unset"), v) for k, v in after.items() if before.get(k) != v]
    out += [Change(k, v, "unset") for k, v in before.items() if k not in after]
    return tuple(out)


def difference(name: str, old: list, new: list) -> list[Change]:
    """A list field as what it gained and lost (`labels added model`), rather than both whole lists."""
    added, removed = [v for v in new if v not in old], [v for v in old if v not in new]
    return ([Change(f"{name} added", after=show(added))] if added else []) + \
           ([Change(f"{name} removed", before=show(removed))] if removed else [])


def listed(values: dict[str, str], removed: bool = False) -> tuple[Change, ...]:
    """An added (or removed) thing's fields, each with its one value."""
    return tuple(Change(k, before=v) if removed else Change(k, after=v) for k, v in values.items())


def files_differing(report: Report) -> int:
    """How many generated files are added, removed or changed (the files section's counts)."""
    return sum(int(c.after or 0) for e in report.entries("files") for c in e.fields)


def summary(report: Report) -> str:
    changes, warnings = report.counts()
    return (f"{changes} change(s), {warnings} warning(s); "
            f"{files_differing(report)} generated file(s) differ")


def no_change(report: Report) -> str:
    return f"stackgen review: no change between {report.base} and {report.head}"


def promql_lines(promql: PromQL) -> list[str]:
    """The expression as a diff: ' ' kept, '-' before only, '+' after only (all '+' for a new alert)."""
    old = (promql.before or "").splitlines()
    new = (promql.after or "").splitlines()
    if not old:
        return [f"+{line}" for line in new]
    diff = difflib.unified_diff(old, new, lineterm="", n=max(len(old), len(new)))
    return [line for line in diff if not line.startswith(("---", "+++", "@@"))]

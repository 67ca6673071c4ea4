"""`stackgen review`: what a change of the spec means, not which bytes moved.

Both sides (the spec at a git ref or another file, and the working spec) are loaded and resolved like
`render` does; each category module compares the two resolved models and returns report entries
(`report.Entry`), and the writers format them as Markdown, text or JSON. Only the count of generated
files changed per family compares rendered bytes.
"""

from __future__ import annotations

from stackgen.review import alerts, contract, dashboards, deploy, files, routing, scrape, slos
from stackgen.review.report import Report, sorted_entries
from stackgen.review.sides import Side


def several_services(base: Side, head: Side) -> bool:
    """Whether entries must name their service: only where the stacks have more than one."""
    return len({s.name for side in (base, head) for s in side.stack.spec.services}) > 1


def compare(base: Side, head: Side, out_name: str = "generated") -> Report:
    """The report of every category; `out_name` is how generated paths are shown."""
    several = several_services(base, head)
    sections = {
        "alerts": alerts.compare(base.stack, head.stack),
        "routing": routing.compare(base.stack, head.stack, several),
        "slos": slos.compare(base.stack, head.stack),
        "contract": contract.compare(base, head),
        "dashboards": dashboards.compare(base, head),
        "scrape": scrape.compare(base.stack, head.stack),
        "deploy": deploy.compare(base.stack, head.stack),
        "files": files.compare(base, head, out_name),
    }
    return Report(base.label, head.label, {k: sorted_entries(v) for k, v in sections.items()}, several)


def with_backtest(report: Report, url: str, base: Side, head: Side, range_s: float) -> Report:
    """The report with its Backtest section (stackgen.review.backtest, imported only here)."""
    from stackgen.review import backtest_hook

    entries = backtest_hook.section(url, base.stack, head.stack, report.show_service, range_s)
    return Report(report.base, report.head, {**report.sections, "backtest": sorted_entries(entries)},
                  report.show_service)

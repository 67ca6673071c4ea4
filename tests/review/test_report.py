"""`stackgen review` on pairs of specs, one pair per report category: the exact Markdown and JSON
(tests/review/golden/<case>.md and .json; STACKGEN_UPDATE_GOLDEN=1 rewrites them).

Each head is a text edit of the committed stack.yaml, the way a pull request changes it. The
category cases leave out the generated-files section (it follows the targets' layout, which other
changes move); test_cli.py pins it on one case.
"""

from __future__ import annotations

import pytest

from stackgen.review import report_json, report_markdown, report_text
from stackgen.review.report import Report
from tests.review.conftest import REPO, SPEC_TEXT, check_golden, edit

RAW_ANCHOR = "    # Service level objectives:"


def raw_alert(name: str, expr: str, severity: str = "warning") -> str:
    return (f"      - name: {name}\n        kind: raw\n        severity: {severity}\n        expr: '{expr}'\n"
            f"        summary: Raw alert under review\n        description: \"value {{{{ $value }}}}\"\n"
            f"        runbook_url: https://runbooks.example.com/fugatto/{name}\n\n{RAW_ANCHOR}")


GPU_ALERT = SPEC_TEXT[SPEC_TEXT.index("      - name: HighGPUUtilization"):SPEC_TEXT.index("      - name: ServiceDown")]
# The contract case's base: two raw alerts that read the contract in ways resolve does not check.
CONTRACT_BASE = edit(SPEC_TEXT, (RAW_ANCHOR, raw_alert(
    "LargeBatches", "histogram_quantile(0.9, sum by (le) (rate(fugatto_batch_size_bucket[5m]))) > 8")))
CONTRACT_BASE = edit(CONTRACT_BASE, (RAW_ANCHOR, raw_alert(
    "ModelsNeverLoad", "sum(rate(fugatto_model_load_seconds_count[1h])) == 0")))
MODEL_LOAD_METRIC = SPEC_TEXT[SPEC_TEXT.index("      - name: fugatto_model_load_seconds"):
                              SPEC_TEXT.index("      - name: fugatto_active_models")]
MODEL_LOAD_PANEL = SPEC_TEXT[SPEC_TEXT.index("        - title: Model Load Time p95"):
                             SPEC_TEXT.index("        - title: Queue Depth and Batch Size")]

# name -> (base text, head text)
CASES: dict[str, tuple[str, str]] = {
    # The first example: a threshold and its `for`; dev overrides the threshold, prod does not.
    "alert-threshold": (SPEC_TEXT, edit(SPEC_TEXT, ("        for: 2m\n", "        for: 5m\n"),
                                        ("threshold: 0.05\n        window: 5m\n        summary: High HTTP",
                                         "threshold: 0.1\n        window: 5m\n        summary: High HTTP"))),
    "alerts-added-removed": (SPEC_TEXT, edit(SPEC_TEXT, (GPU_ALERT, ""), (RAW_ANCHOR, raw_alert(
        "QueueBacklog", "sum(fugatto_queue_depth) > 50")))),
    # A route for a team no service belongs to: nothing can reach it, nor its receiver.
    "routing-unreachable": (SPEC_TEXT, edit(SPEC_TEXT, (
        "      - matchers: ['severity=\"critical\"']\n",
        "      - matchers: ['team=\"speech-ml\"']\n        receiver: speech-oncall\n"
        "      - matchers: ['severity=\"critical\"']\n"), (
        "  receivers:\n    - name: web.hook\n",
        "  receivers:\n    - name: speech-oncall\n      webhook:\n        - url: http://webhook-service:8080/speech\n"
        "    - name: web.hook\n"))),
    # A severity change moves an alert to another receiver and to the other side of the inhibition.
    "routing-receivers": (SPEC_TEXT, edit(SPEC_TEXT, (
        "        severity: warning\n        for: 3m\n", "        severity: critical\n        for: 3m\n"), (
        "      equal: [service]\n",
        "      equal: [service]\n    - source_matchers: ['alertname=\"ServiceDown\"']\n"
        "      target_matchers: ['severity=\"critical\"', 'alertname!=\"ServiceDown\"']\n      equal: [service]\n"))),
    "slo": (SPEC_TEXT, edit(SPEC_TEXT, ("        objective: 99.5\n", "        objective: 99.9\n"), (
        "          runbook_url: https://runbooks.example.com/fugatto/GenerateLatency\n",
        "          runbook_url: https://runbooks.example.com/fugatto/GenerateLatency\n"
        "          ticket: {enabled: false}\n"))),
    # A bucket removed under a raw alert's threshold, a metric removed that a raw alert still reads.
    "contract": (CONTRACT_BASE, edit(
        CONTRACT_BASE,
        ("buckets: [1, 2, 4, 8, 16, 32, 64]", "buckets: [1, 2, 4, 16, 32, 64]"),
        ("0.25, 0.5, 1, 2.5, 5, 10, 30, 60]", "0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60]"),
        ("labels: [method, endpoint, status]", "labels: [method, endpoint, status, model]"),
        (MODEL_LOAD_METRIC, ""), (MODEL_LOAD_PANEL, ""))),
    "dashboards-scrape-deploy": (SPEC_TEXT, edit(
        SPEC_TEXT,
        ("        - title: Response Time\n",
         "        - title: Queue Depth\n          kind: gauge\n          metric: fugatto_queue_depth\n"
         "        - title: Response Time\n"),
        ("          unit: bytes\n", "          unit: decbytes\n"),
        ("    replicas: 3\n", "    replicas: 4\n"),
        ('tag: "0.1.0"', 'tag: "0.2.0"'),
        ("  scrape_interval: 15s\n", "  scrape_interval: 30s\n"),
        ("        replicas: 1\n", "        replicas: 2\n"))),
}


def _without_files(report: Report) -> Report:
    return Report(report.base, report.head, {k: v for k, v in report.sections.items() if k != "files"},
                  report.show_service)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_category_reports_exactly_its_change(case: str, review):
    base, head = CASES[case]
    report = _without_files(review(head, base))
    check_golden(f"{case}.md", report_markdown.render(report))
    check_golden(f"{case}.json", report_json.render(report))


def test_no_change_is_one_line_in_every_format(review):
    """A comment is no change: the model and every generated byte are the same."""
    report = review(edit(SPEC_TEXT, ("# The Fugatto Audio Lab stack", "# The Fugatto stack")))
    assert not report.changed
    assert report_text.render(report) == "stackgen review: no change between base.yaml and stack.yaml\n"
    check_golden("no-change.md", report_markdown.render(report))
    check_golden("no-change.json", report_json.render(report))


def test_the_json_is_the_same_bytes_every_run(review):
    base, head = CASES["routing-receivers"]
    assert report_json.render(review(head, base)) == report_json.render(review(head, base))


def test_markdown_escapes_what_the_spec_says(review):
    """A panel title is user text: in the PR comment it must not become HTML, a link or a table cell."""
    hostile = "<img src=x onerror=alert(1)> [click](http://evil) | `tick` *bold*"
    head = edit(SPEC_TEXT, ("        - title: Response Time\n",
                            f"        - title: '{hostile}'\n          kind: gauge\n          metric: fugatto_queue_depth\n"
                            "        - title: Response Time\n"))
    text = report_markdown.render(review(head))
    line = next(line for line in text.splitlines() if "**added**" in line and "onerror" in line)
    assert line.startswith("- **added** ``Fugatto Audio Lab - Operations Dashboard / <img src=x onerror=alert(1)> "
                           "[click](http://evil) | `tick` *bold*``: ")
    assert "<img" not in text.replace(line, "")


def test_several_services_name_the_service_where_the_subject_does_not(review):
    """Two services' alerts may share a name: with several services each line says whose it is."""
    three = (REPO / "examples" / "three-services" / "stack.yaml").read_text(encoding="utf-8")
    head = edit(three, ("        for: 1m\n        summary: Fugatto Audio Lab is down",
                        "        for: 3m\n        summary: Fugatto Audio Lab is down"))
    head = head.replace("replicas: 2", "replicas: 3", 1)
    lines = report_text.render(_without_files(review(head, three))).splitlines()
    assert lines[1:] == [
        "", "Alerts", "  changed AudioServiceDown (fugatto-audio-lab): for 1m → 3m",
        "", "Routing", "  warning receiver default: no alert of the spec, and no severity of any service's team, reaches it"
                       " (so already before)",
        "", "Deploy", "  changed fugatto-audio-lab: replicas 2 → 3"]

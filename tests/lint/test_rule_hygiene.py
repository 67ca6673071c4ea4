"""pint-style rule checks and `# stackgen: ignore[...]` comments: each tripped, each with a near miss."""

from __future__ import annotations

from .conftest import SPEC_TEXT, replace_once, with_raw_alert
from .test_route_tree import found, line_of

EXPR = "expr: 'rate(fugatto_requests_total{status=~"


def test_regex_matcher_on_a_plain_string(lint_text):
    text = with_raw_alert('rate(fugatto_requests_total{status=~"500"}[5m]) > 1')
    assert found(lint_text, text, "promql-regex-plain") == [
        (f"stack.yaml:{line_of(text, EXPR)}:9: services[0].alerts[8].expr", "warning",
         'alert BrokenRawAlert matches status=~"500" with a regular expression that is a plain string')]
    near = with_raw_alert('rate(fugatto_requests_total{status=~"5.."}[5m]) > 1')
    assert found(lint_text, near, "promql-regex-plain") == []


def test_regex_matcher_anchored_by_hand(lint_text):
    text = with_raw_alert('rate(fugatto_requests_total{status=~"^5..$"}[5m]) > 1')
    assert found(lint_text, text, "promql-regex-anchored") == [
        (f"stack.yaml:{line_of(text, EXPR)}:9: services[0].alerts[8].expr", "warning",
         'alert BrokenRawAlert anchors the regular expression status=~"^5..$": Prometheus anchors every '
         'regular expression already')]
    near = with_raw_alert('rate(fugatto_requests_total{status=~"5..\\\\$"}[5m]) > 1')
    assert found(lint_text, near, "promql-regex-anchored") == []


def test_duplicate_alert(lint_text):
    text = with_raw_alert("fugatto_queue_depth > 100", name="QueueBacklog")
    text = text.replace("    # Service level objectives:",
                                   "      - name: QueueBacklogAgain\n        kind: raw\n        severity: warning\n"
                                   "        expr: 'fugatto_queue_depth > 100'\n        summary: Raw alert under test\n"
                                   "        description: \"value {{ $value }}\"\n"
                                   "        runbook_url: https://runbooks.example.com/fugatto/Q\n\n"
                                   "    # Service level objectives:")
    assert found(lint_text, text, "rule-duplicate") == [
        (f"stack.yaml:{line_of(text, 'name: QueueBacklogAgain')}:9: services[0].alerts[9]", "error",
         "alert QueueBacklogAgain has the same expression and labels as alert QueueBacklog: every incident "
         "notifies twice")]
    near = text.replace("expr: 'fugatto_queue_depth > 100'\n        summary: Raw alert under test\n"
                        "        description: \"value {{ $value }}\"\n        runbook_url: https://runbooks.example.com/fugatto/Q\n",
                        "expr: 'fugatto_queue_depth > 200'\n        summary: Raw alert under test\n"
                        "        description: \"value {{ $value }}\"\n        runbook_url: https://runbooks.example.com/fugatto/Q\n")
    assert found(lint_text, near, "rule-duplicate") == []


def test_for_shorter_than_the_evaluation_interval(lint_text):
    text = with_raw_alert("fugatto_queue_depth > 100").replace(
        "        expr: 'fugatto_queue_depth > 100'\n", "        expr: 'fugatto_queue_depth > 100'\n        for: 5s\n")
    assert found(lint_text, text, "alert-for-below-eval-interval") == [
        (f"stack.yaml:{line_of(text, 'for: 5s')}:9: services[0].alerts[8].for", "warning",
         "alert BrokenRawAlert waits for: 5s, shorter than the evaluation interval (15s): it fires on the second "
         "evaluation, 15s later, anyway")]
    near = text.replace("for: 5s", "for: 15s")
    assert found(lint_text, near, "alert-for-below-eval-interval") == []


GROUP_INTERVAL = "    group_interval: 10s\n    repeat_interval: 1h\n"


def test_ignore_comment_silences_one_finding_and_unknown_ids_are_findings(lint_text):
    text = replace_once(SPEC_TEXT, GROUP_INTERVAL, "    group_interval: 5m\n    repeat_interval: 1h\n")
    assert found(lint_text, text, "route-repeat-below-group-interval")
    above = replace_once(text, "        repeat_interval: 1m\n",
                         "        # stackgen: ignore[route-repeat-below-group-interval] heartbeat\n"
                         "        repeat_interval: 1m\n")
    assert found(lint_text, above, "route-repeat-below-group-interval") == []
    same = replace_once(text, "        repeat_interval: 1m\n",
                        "        repeat_interval: 1m  # stackgen: ignore[route-repeat-below-group-interval]\n")
    assert found(lint_text, same, "route-repeat-below-group-interval") == []
    other = replace_once(text, "        repeat_interval: 1m\n",
                         "        repeat_interval: 1m  # stackgen: ignore[route-overlap, no-such-rule]\n")
    assert len(found(lint_text, other, "route-repeat-below-group-interval")) == 1
    assert found(lint_text, other, "ignore-unknown-rule") == [
        (f"stack.yaml:{line_of(other, 'no-such-rule')}:30", "error",
         "ignore comment names 'no-such-rule', which is no lint rule")]

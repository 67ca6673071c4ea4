"""The generated alert scenarios of a rendered test file, one per alert, even where several share a promtool
test group (stackgen/targets/prometheus/test_groups.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackgen.targets.prometheus.test_groups import Reads, rule_reads, series_metric


def apart(case: dict[str, Any], reads: Reads) -> list[dict[str, Any]]:
    """A shared group taken back apart: one case per alert it checks, in order, with that alert's checks and
    the input series it reads (the inverse of side_by_side for generated scenarios; an unshared case,
    or one whose reads cannot be told, comes back whole)."""
    alerts = list(dict.fromkeys(check["alertname"] for check in case["alert_rule_test"]))
    if len(alerts) <= 1 or any(reads(a) is None for a in alerts):
        return [case]
    return [{"interval": case["interval"],
             "input_series": [s for s in case["input_series"] if series_metric(s) in reads(alert)],
             "alert_rule_test": [c for c in case["alert_rule_test"] if c["alertname"] == alert]}
            for alert in alerts]


def scenarios(rendered: Path, tests_file: str, rules_file: str) -> list[dict[str, Any]]:
    reads = rule_reads(yaml.safe_load((rendered / rules_file).read_text(encoding="utf-8"))["groups"])
    return [one for case in yaml.safe_load((rendered / tests_file).read_text(encoding="utf-8"))["tests"]
            for one in apart(case, reads)]


def only_checking(tests_path: Path, alert: str) -> Path:
    """A copy of a promtool test file, beside it, holding only the test groups that check `alert`: what a
    test that breaks that alert's rule needs to run (the other groups cannot notice, and cost seconds)."""
    document = yaml.safe_load(tests_path.read_text(encoding="utf-8"))
    document["tests"] = [group for group in document["tests"]
                         if any(check.get("alertname") == alert for check in group.get("alert_rule_test", []))]
    assert document["tests"], f"no test group checks {alert}"
    copy = tests_path.with_name(f"only-{alert}.{tests_path.name}")
    copy.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return copy
